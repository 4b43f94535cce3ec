//! The reference emulator: behaviour through the handler without a socket, over loopback with
//! reqwest, under concurrency, and every fault proven to change behaviour.

use iam_contract::client::{
    Client, Credentials, EXAMPLE_ACCESS_KEY_ID, RawRequest, Scope, Signing, sign_headers,
};
use iam_contract::emulator::{
    self, Config, Emulator, Fault, HttpRequest, HttpResponse, ManualClock,
};
use iam_contract::model::Model;
use iam_contract::wire::{WireProblem, decode_response, encode_form, percent_encode};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

const HOST: &str = "127.0.0.1:1";
const V: (&str, &str) = ("Version", "2010-05-08");

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn config(faults: &[Fault]) -> Config {
    let mut c = Config::default().with_seed(7);
    for f in faults {
        c = c.with_fault(*f);
    }
    c
}

fn emu(faults: &[Fault]) -> Emulator {
    Emulator::new(config(faults)).unwrap()
}

fn admin() -> Credentials {
    Credentials::example()
}

fn post(params: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![
            ("host".into(), HOST.into()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            ),
        ],
        body: encode_form(params).into_bytes(),
    }
}

fn get(params: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        path_and_query: format!("/?{}", encode_form(params)),
        headers: vec![("host".into(), HOST.into())],
        body: vec![],
    }
}

fn sign_at(
    mut req: HttpRequest,
    creds: &Credentials,
    scope: &Scope,
    at: SystemTime,
) -> HttpRequest {
    let url = format!("http://{HOST}{}", req.path_and_query);
    let added = sign_headers(&req.method, &url, &req.headers, &req.body, creds, scope, at).unwrap();
    req.headers.extend(added);
    req
}

fn sign(req: HttpRequest, creds: &Credentials) -> HttpRequest {
    sign_at(req, creds, &Scope::default(), SystemTime::now())
}

/// A signed POST as `creds`.
fn call_as(e: &Emulator, creds: &Credentials, params: &[(&str, &str)]) -> HttpResponse {
    let mut p = params.to_vec();
    if !p.iter().any(|(k, _)| *k == "Version") {
        p.push(V);
    }
    e.handle(&sign(post(&p), creds))
}

fn call(e: &Emulator, params: &[(&str, &str)]) -> HttpResponse {
    call_as(e, &admin(), params)
}

fn between(r: &HttpResponse, tag: &str) -> Option<String> {
    let t = r.text();
    let open = format!("<{tag}>");
    let start = t.find(&open)? + open.len();
    let end = t[start..].find(&format!("</{tag}>"))? + start;
    Some(t[start..end].to_owned())
}

fn all_between(r: &HttpResponse, tag: &str) -> Vec<String> {
    let t = r.text();
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    t.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next().map(str::to_owned))
        .collect()
}

fn code(r: &HttpResponse) -> String {
    between(r, "Code").unwrap_or_default()
}

/// The error message, XML entities resolved.
fn message(r: &HttpResponse) -> String {
    decode_response(Model::embedded(), "CreateAccessKey", &r.body)
        .error()
        .and_then(|e| e.message.clone())
        .unwrap_or_default()
}

#[track_caller]
fn expect_error(r: &HttpResponse, status: u16, c: &str) {
    assert_eq!((r.status, code(r).as_str()), (status, c), "{}", r.text());
    assert_eq!(
        between(r, "Type").as_deref(),
        Some("Sender"),
        "{}",
        r.text()
    );
    assert_well_formed(r);
}

#[track_caller]
fn assert_well_formed(r: &HttpResponse) {
    let d = decode_response(Model::embedded(), "CreateAccessKey", &r.body);
    assert!(
        !d.problems.iter().any(|p| matches!(
            p,
            WireProblem::IllFormed { .. } | WireProblem::NotUtf8 | WireProblem::EmptyBody
        )),
        "ill-formed: {:?} in {}",
        d.problems,
        r.text()
    );
}

fn create_user(e: &Emulator, name: &str) {
    let r = call(e, &[("Action", "CreateUser"), ("UserName", name)]);
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Creates a key for `user` and returns its credentials.
fn create_key(e: &Emulator, user: &str) -> Credentials {
    let r = call(e, &[("Action", "CreateAccessKey"), ("UserName", user)]);
    assert_eq!(r.status, 200, "{}", r.text());
    Credentials::new(
        between(&r, "AccessKeyId").unwrap(),
        between(&r, "SecretAccessKey").unwrap(),
    )
}

/// AWS's documented self-manage policy (its own keys, and GetUser of itself).
const SELF_MANAGE: &str = iam_contract::contract::rules::authz::SELF_MANAGE_POLICY;

/// Puts `doc` on `user` as the inline policy `name`, with the bootstrap user's key.
fn put_policy(e: &Emulator, user: &str, name: &str, doc: &str) -> HttpResponse {
    call(
        e,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", user),
            ("PolicyName", name),
            ("PolicyDocument", doc),
        ],
    )
}

/// Gives `user` the self-manage policy.
fn self_manage(e: &Emulator, user: &str) {
    let r = put_policy(e, user, "self", SELF_MANAGE);
    assert_eq!(r.status, 200, "{}", r.text());
}

fn key_ids(e: &Emulator, user: &str) -> Vec<String> {
    let r = call(e, &[("Action", "ListAccessKeys"), ("UserName", user)]);
    assert_eq!(r.status, 200, "{}", r.text());
    all_between(&r, "AccessKeyId")
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

fn is_iso(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
}

// ---------------------------------------------------------------- behaviour, no socket

#[test]
fn list_access_keys_pages_with_max_items_and_marker() {
    let e = emu(&[]);
    let r = call(&e, &[("Action", "CreateUser"), ("UserName", "Pager")]);
    assert_eq!(r.status, 200, "{}", r.text());
    let first = create_key(&e, "Pager").access_key_id;
    let second = create_key(&e, "Pager").access_key_id;
    let page = |marker: Option<&str>| {
        let mut p = vec![
            ("Action", "ListAccessKeys"),
            ("UserName", "Pager"),
            ("MaxItems", "1"),
        ];
        if let Some(m) = marker {
            p.push(("Marker", m));
        }
        let r = call(&e, &p);
        assert_eq!(r.status, 200, "{}", r.text());
        let d = decode_response(Model::embedded(), "ListAccessKeys", &r.body);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        r
    };
    let p1 = page(None);
    assert_eq!(all_between(&p1, "AccessKeyId"), vec![first.clone()]);
    assert_eq!(between(&p1, "IsTruncated").as_deref(), Some("true"));
    let marker = between(&p1, "Marker").expect("a truncated page carries a Marker");
    let p2 = page(Some(&marker));
    assert_eq!(all_between(&p2, "AccessKeyId"), vec![second.clone()]);
    assert_eq!(between(&p2, "IsTruncated").as_deref(), Some("false"));
    assert_eq!(between(&p2, "Marker"), None);
    // Unpaged, both keys and no Marker; an unknown marker gives an empty page.
    assert_eq!(key_ids(&e, "Pager"), vec![first, second]);
    assert!(all_between(&page(Some("AKIANOTAKEYOFTHISUSR")), "AccessKeyId").is_empty());
}

#[test]
fn access_key_lifecycle() {
    let e = emu(&[]);
    let r = call(&e, &[("Action", "CreateUser"), ("UserName", "Alice")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        between(&r, "Arn").as_deref(),
        Some("arn:aws:iam::123456789012:user/Alice")
    );
    let uid = between(&r, "UserId").unwrap();
    assert!(uid.starts_with("AIDA") && uid.len() == 20, "{uid}");
    assert_eq!(between(&r, "Path").as_deref(), Some("/"));
    assert!(is_iso(&between(&r, "CreateDate").unwrap()));

    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", "Alice")]);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().contains("xml"));
    let rid = between(&r, "RequestId").unwrap();
    assert!(is_uuid(&rid));
    assert_eq!(r.header("x-amzn-RequestId"), Some(rid.as_str()));
    let id = between(&r, "AccessKeyId").unwrap();
    assert_eq!(id.len(), 20);
    assert!(id.starts_with("AKIA"));
    assert!(
        id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    let secret = between(&r, "SecretAccessKey").unwrap();
    assert_eq!(secret.len(), 40);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    assert_eq!(between(&r, "Status").as_deref(), Some("Active"));
    assert_eq!(between(&r, "UserName").as_deref(), Some("Alice"));
    assert!(is_iso(&between(&r, "CreateDate").unwrap()));
    let d = decode_response(Model::embedded(), "CreateAccessKey", &r.body);
    assert!(d.problems.is_empty(), "{:?}", d.problems);

    // The secret is never returned again.
    let list = call(&e, &[("Action", "ListAccessKeys"), ("UserName", "Alice")]);
    assert_eq!(all_between(&list, "AccessKeyId"), vec![id.clone()]);
    assert!(!list.text().contains(&secret));
    assert!(!list.text().contains("SecretAccessKey"));
    let d = decode_response(Model::embedded(), "ListAccessKeys", &list.body);
    assert!(d.problems.is_empty(), "{:?}", d.problems);

    // Inactive keys count toward the quota of 2.
    let r = call(
        &e,
        &[
            ("Action", "UpdateAccessKey"),
            ("UserName", "Alice"),
            ("AccessKeyId", &id),
            ("Status", "Inactive"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let second = create_key(&e, "Alice");
    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", "Alice")]);
    expect_error(&r, 409, "LimitExceeded");
    assert_eq!(message(&r), "Cannot exceed quota for AccessKeysPerUser: 2");

    let r = call(&e, &[("Action", "DeleteUser"), ("UserName", "Alice")]);
    expect_error(&r, 409, "DeleteConflict");
    assert_eq!(
        message(&r),
        "Cannot delete entity, must delete access keys first."
    );
    for k in [id.as_str(), second.access_key_id.as_str()] {
        let r = call(
            &e,
            &[
                ("Action", "DeleteAccessKey"),
                ("UserName", "Alice"),
                ("AccessKeyId", k),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = call(
        &e,
        &[
            ("Action", "DeleteAccessKey"),
            ("UserName", "Alice"),
            ("AccessKeyId", &id),
        ],
    );
    expect_error(&r, 404, "NoSuchEntity");
    assert_eq!(
        message(&r),
        format!("The Access Key with id {id} cannot be found.")
    );
    assert_eq!(
        call(&e, &[("Action", "DeleteUser"), ("UserName", "Alice")]).status,
        200
    );
    let r = call(&e, &[("Action", "GetUser"), ("UserName", "Alice")]);
    expect_error(&r, 404, "NoSuchEntity");
    assert_eq!(message(&r), "The user with name Alice cannot be found.");
    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", "nobody")]);
    assert_eq!(message(&r), "The user with name nobody cannot be found.");
}

#[test]
fn user_names_are_unique_case_insensitively_and_keep_their_case() {
    let e = emu(&[]);
    create_user(&e, "U1");
    let r = call(&e, &[("Action", "CreateUser"), ("UserName", "u1")]);
    expect_error(&r, 409, "EntityAlreadyExists");
    assert_eq!(message(&r), "User with name u1 already exists.");
    let r = call(&e, &[("Action", "GetUser"), ("UserName", "u1")]);
    assert_eq!(between(&r, "UserName").as_deref(), Some("U1"));
    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", "u1")]);
    assert_eq!(between(&r, "UserName").as_deref(), Some("U1"));
    let r = call(&e, &[("Action", "ListUsers")]);
    assert_eq!(all_between(&r, "UserName"), vec!["admin", "U1"]);
}

#[test]
fn validation_follows_the_model_in_aws_wording() {
    let e = emu(&[]);
    let long = "a".repeat(129);
    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", &long)]);
    expect_error(&r, 400, "ValidationError");
    assert_eq!(
        message(&r),
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128"
    );
    let r = call(
        &e,
        &[("Action", "CreateAccessKey"), ("UserName", "bad name")],
    );
    assert_eq!(
        message(&r),
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    );
    let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", "")]);
    expect_error(&r, 400, "ValidationError");
    assert!(
        message(&r).starts_with("2 validation errors detected: "),
        "{}",
        message(&r)
    );
    // Over 64 but within 128: valid for CreateAccessKey, can only name nobody.
    let r = call(
        &e,
        &[
            ("Action", "CreateAccessKey"),
            ("UserName", &"b".repeat(100)),
        ],
    );
    expect_error(&r, 404, "NoSuchEntity");
    // ... but not a valid user name.
    let r = call(
        &e,
        &[("Action", "CreateUser"), ("UserName", &"b".repeat(65))],
    );
    expect_error(&r, 400, "ValidationError");
    let r = call(
        &e,
        &[
            ("Action", "UpdateAccessKey"),
            ("AccessKeyId", "AKIAAAAAAAAAAAAAAAAA"),
            ("Status", "Sleeping"),
        ],
    );
    expect_error(&r, 400, "ValidationError");
    assert!(
        message(&r).contains("Member must satisfy enum value set"),
        "{}",
        message(&r)
    );
    let r = call(&e, &[("Action", "DeleteAccessKey")]);
    expect_error(&r, 400, "ValidationError");
    // Hostile names never reach a body, and every body stays well-formed XML.
    for name in [
        "é",
        "ユーザー",
        "\u{0}",
        "a\u{1}b",
        "<x>&amp;",
        "\u{212A}elvin",
        "a\"'",
        "\u{FFFF}",
    ] {
        let r = call(&e, &[("Action", "CreateAccessKey"), ("UserName", name)]);
        expect_error(&r, 400, "ValidationError");
        assert!(!r.text().contains(name), "{}", r.text());
    }
    // Validation comes before lookup.
    let r = call(
        &e,
        &[("Action", "DeleteUser"), ("UserName", "no such user!")],
    );
    expect_error(&r, 400, "ValidationError");
}

#[test]
fn no_user_name_means_the_signing_user() {
    let e = emu(&[]);
    create_user(&e, "bob");
    let bob = create_key(&e, "bob");
    // Without a policy bob may do nothing; IAM names the resource `user null` then.
    let r = call_as(&e, &bob, &[("Action", "CreateAccessKey")]);
    expect_error(&r, 403, "AccessDenied");
    assert_eq!(
        message(&r),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:CreateAccessKey on resource: user null because no identity-based policy allows the iam:CreateAccessKey action"
    );
    self_manage(&e, "bob");
    let r = call_as(&e, &bob, &[("Action", "CreateAccessKey")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(between(&r, "UserName").as_deref(), Some("bob"));
    assert_eq!(key_ids(&e, "bob").len(), 2);
    let r = call_as(&e, &bob, &[("Action", "GetUser")]);
    assert_eq!(between(&r, "UserName").as_deref(), Some("bob"));
    let r = call(&e, &[("Action", "GetUser")]);
    assert_eq!(between(&r, "UserName").as_deref(), Some("admin"));
    // A new key works at once.
    let r = call_as(&e, &bob, &[("Action", "ListAccessKeys")]);
    assert_eq!(r.status, 200);
}

/// [`self_manage`] for an emulator on a manual clock.
fn self_manage_at(e: &Emulator, clock: &ManualClock, user: &str) {
    let r = call_at(
        e,
        clock,
        &admin(),
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", user),
            ("PolicyName", "self"),
            ("PolicyDocument", SELF_MANAGE),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

fn clocked(faults: &[Fault]) -> (Emulator, ManualClock) {
    let clock = ManualClock::new(t0());
    let mut c = config(faults).with_clock(clock.clone());
    c.seed = Some(1);
    (Emulator::new(c).unwrap(), clock)
}

fn call_at(
    e: &Emulator,
    clock: &ManualClock,
    creds: &Credentials,
    params: &[(&str, &str)],
) -> HttpResponse {
    let mut p = params.to_vec();
    p.push(V);
    let now = iam_contract::emulator::Clock::now(clock);
    e.handle(&sign_at(post(&p), creds, &Scope::default(), now))
}

#[test]
fn update_keeps_create_date_and_last_used_starts_as_na() {
    let (e, clock) = clocked(&[]);
    let admin = admin();
    call_at(
        &e,
        &clock,
        &admin,
        &[("Action", "CreateUser"), ("UserName", "bob")],
    );
    self_manage_at(&e, &clock, "bob");
    let r = call_at(
        &e,
        &clock,
        &admin,
        &[("Action", "CreateAccessKey"), ("UserName", "bob")],
    );
    let created = between(&r, "CreateDate").unwrap();
    assert_eq!(created, "2027-01-15T08:00:00Z");
    let bob = Credentials::new(
        between(&r, "AccessKeyId").unwrap(),
        between(&r, "SecretAccessKey").unwrap(),
    );
    clock.advance(Duration::from_secs(3600));
    for status in ["Inactive", "Active"] {
        let r = call_at(
            &e,
            &clock,
            &admin,
            &[
                ("Action", "UpdateAccessKey"),
                ("UserName", "bob"),
                ("AccessKeyId", &bob.access_key_id),
                ("Status", status),
            ],
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = call_at(
        &e,
        &clock,
        &admin,
        &[("Action", "ListAccessKeys"), ("UserName", "bob")],
    );
    assert_eq!(between(&r, "CreateDate"), Some(created));

    let last = |e: &Emulator| {
        call_at(
            e,
            &clock,
            &admin,
            &[
                ("Action", "GetAccessKeyLastUsed"),
                ("AccessKeyId", &bob.access_key_id),
            ],
        )
    };
    let r = last(&e);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(between(&r, "UserName").as_deref(), Some("bob"));
    assert_eq!(between(&r, "ServiceName").as_deref(), Some("N/A"));
    assert_eq!(between(&r, "Region").as_deref(), Some("N/A"));
    assert_eq!(between(&r, "LastUsedDate"), None);
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        call_at(&e, &clock, &bob, &[("Action", "GetUser")]).status,
        200
    );
    let r = last(&e);
    assert_eq!(
        between(&r, "LastUsedDate").as_deref(),
        Some("2027-01-15T09:01:00Z")
    );
    assert_eq!(between(&r, "ServiceName").as_deref(), Some("iam"));
    assert_eq!(between(&r, "Region").as_deref(), Some("us-east-1"));
}

#[test]
fn authentication_errors() {
    let (e, clock) = clocked(&[]);
    let now = t0();
    let ok = |r: HttpRequest| e.handle(&sign_at(r, &admin(), &Scope::default(), now));
    let list = [("Action", "ListUsers"), V];
    assert_eq!(ok(post(&list)).status, 200);

    expect_error(&e.handle(&post(&list)), 403, "MissingAuthenticationToken");
    let mut bad = post(&list);
    bad.headers.push((
        "authorization".into(),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20270115/us-east-1/iam/aws4_request"
            .into(),
    ));
    bad.headers
        .push(("x-amz-date".into(), "20270115T080000Z".into()));
    expect_error(&e.handle(&bad), 400, "IncompleteSignature");

    let unknown = Credentials::new("AKIAUNKNOWNUNKNOWN00", "x".repeat(40));
    expect_error(
        &e.handle(&sign_at(post(&list), &unknown, &Scope::default(), now)),
        403,
        "InvalidClientTokenId",
    );
    let wrong = Credentials::new(EXAMPLE_ACCESS_KEY_ID, "y".repeat(40));
    let r = e.handle(&sign_at(post(&list), &wrong, &Scope::default(), now));
    expect_error(&r, 403, "SignatureDoesNotMatch");
    for scope in [
        Scope {
            service: "ec2".into(),
            region: "us-east-1".into(),
        },
        Scope {
            service: "iam".into(),
            region: "eu-west-1".into(),
        },
    ] {
        expect_error(
            &e.handle(&sign_at(post(&list), &admin(), &scope, now)),
            403,
            "SignatureDoesNotMatch",
        );
    }
    // Tampering with the body after signing.
    let mut tampered = sign_at(post(&list), &admin(), &Scope::default(), now);
    tampered.body = encode_form(&[("Action", "ListUsers"), V, ("MaxItems", "1")]).into_bytes();
    expect_error(&e.handle(&tampered), 403, "SignatureDoesNotMatch");
    // Clock skew: 14 minutes pass, 16 minutes do not.
    let skew = |secs: i64| {
        let at = if secs >= 0 {
            now + Duration::from_secs(secs as u64)
        } else {
            now - Duration::from_secs(secs.unsigned_abs())
        };
        e.handle(&sign_at(post(&list), &admin(), &Scope::default(), at))
    };
    assert_eq!(skew(14 * 60).status, 200);
    assert_eq!(skew(-14 * 60).status, 200);
    // As AWS's query front end answers it: 403 SignatureDoesNotMatch, naming the request's date,
    // the bound it crossed and the emulator's own time (the manual clock's, not the system's).
    let r = skew(-16 * 60);
    expect_error(&r, 403, "SignatureDoesNotMatch");
    assert_eq!(
        between(&r, "Message").as_deref(),
        Some(
            "Signature expired: 20270115T074400Z is now earlier than 20270115T074500Z \
             (20270115T080000Z - 15 min.)"
        )
    );
    let r = skew(16 * 60);
    expect_error(&r, 403, "SignatureDoesNotMatch");
    assert_eq!(
        between(&r, "Message").as_deref(),
        Some(
            "Signature not yet current: 20270115T081600Z is still later than 20270115T081500Z \
             (20270115T080000Z + 15 min.)"
        )
    );

    // Inactive and deleted keys.
    call_at(
        &e,
        &clock,
        &admin(),
        &[("Action", "CreateUser"), ("UserName", "bob")],
    );
    self_manage_at(&e, &clock, "bob");
    let r = call_at(
        &e,
        &clock,
        &admin(),
        &[("Action", "CreateAccessKey"), ("UserName", "bob")],
    );
    let bob = Credentials::new(
        between(&r, "AccessKeyId").unwrap(),
        between(&r, "SecretAccessKey").unwrap(),
    );
    assert_eq!(
        call_at(&e, &clock, &bob, &[("Action", "GetUser")]).status,
        200
    );
    call_at(
        &e,
        &clock,
        &admin(),
        &[
            ("Action", "UpdateAccessKey"),
            ("UserName", "bob"),
            ("AccessKeyId", &bob.access_key_id),
            ("Status", "Inactive"),
        ],
    );
    expect_error(
        &call_at(&e, &clock, &bob, &[("Action", "GetUser")]),
        403,
        "InvalidClientTokenId",
    );
    call_at(
        &e,
        &clock,
        &admin(),
        &[
            ("Action", "DeleteAccessKey"),
            ("UserName", "bob"),
            ("AccessKeyId", &bob.access_key_id),
        ],
    );
    expect_error(
        &call_at(&e, &clock, &bob, &[("Action", "GetUser")]),
        403,
        "InvalidClientTokenId",
    );
}

#[test]
fn presigned_query_form_is_verified() {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign as sigv4_sign,
    };
    use aws_smithy_runtime_api::client::identity::Identity;
    let e = emu(&[]);
    let presign_at = |creds: &Credentials, at: SystemTime, expires: u64| {
        let query = encode_form(&[("Action", "ListUsers"), V]);
        let url = format!("http://{HOST}/?{query}");
        let identity: Identity = aws_credential_types::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose().to_owned(),
            None,
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("iam")
            .time(at)
            .settings(settings)
            .build()
            .unwrap();
        let signable = SignableRequest::new(
            "GET",
            &url,
            [("host", HOST)].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (instructions, _) = sigv4_sign(signable, &params.into()).unwrap().into_parts();
        let mut pq = format!("/?{query}");
        for (k, v) in instructions.params() {
            pq.push_str(&format!("&{}={}", percent_encode(k), percent_encode(v)));
        }
        HttpRequest {
            method: "GET".into(),
            path_and_query: pq,
            headers: vec![("host".into(), HOST.into())],
            body: vec![],
        }
    };
    let presign = |creds: &Credentials| presign_at(creds, SystemTime::now(), 300);
    let r = e.handle(&presign(&admin()));
    assert_eq!(r.status, 200, "{}", r.text());
    let wrong = Credentials::new(EXAMPLE_ACCESS_KEY_ID, "z".repeat(40));
    expect_error(&e.handle(&presign(&wrong)), 403, "SignatureDoesNotMatch");
    // IAM's query front end gives presigned requests the same 15 minutes either way, whatever
    // X-Amz-Expires says (recorded for STS, which shares it; see spec/facts.json).
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let r = e.handle(&presign_at(&admin(), SystemTime::now() - minutes(10), 60));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = e.handle(&presign_at(&admin(), SystemTime::now() - minutes(20), 3600));
    expect_error(&r, 403, "SignatureDoesNotMatch");
    assert!(r.text().contains("Signature expired: "), "{}", r.text());
    let r = e.handle(&presign_at(&admin(), SystemTime::now() + minutes(20), 3600));
    expect_error(&r, 403, "SignatureDoesNotMatch");
    assert!(
        r.text().contains("Signature not yet current: "),
        "{}",
        r.text()
    );
}

#[test]
fn authorization_limits_users_to_their_own_keys() {
    let e = emu(&[]);
    create_user(&e, "bob");
    create_user(&e, "carol");
    let bob = create_key(&e, "bob");
    create_key(&e, "carol");
    self_manage(&e, "bob");
    let r = call_as(&e, &bob, &[("Action", "ListUsers")]);
    expect_error(&r, 403, "AccessDenied");
    assert_eq!(
        message(&r),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action"
    );
    let r = call_as(
        &e,
        &bob,
        &[("Action", "CreateAccessKey"), ("UserName", "carol")],
    );
    expect_error(&r, 403, "AccessDenied");
    assert_eq!(
        message(&r),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:CreateAccessKey on resource: user carol because no identity-based policy allows the iam:CreateAccessKey action"
    );
    // Nor may he change his own policies: the self-manage policy does not allow it.
    let r = call_as(
        &e,
        &bob,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "more"),
            ("PolicyDocument", SELF_MANAGE),
        ],
    );
    expect_error(&r, 403, "AccessDenied");
    for p in [
        vec![("Action", "CreateUser"), ("UserName", "dave")],
        vec![("Action", "DeleteUser"), ("UserName", "carol")],
        vec![("Action", "GetUser"), ("UserName", "carol")],
        vec![("Action", "ListAccessKeys"), ("UserName", "carol")],
    ] {
        expect_error(&call_as(&e, &bob, &p), 403, "AccessDenied");
    }
    assert_eq!(key_ids(&e, "carol").len(), 1);
    let carol_key = key_ids(&e, "carol").remove(0);
    let r = call_as(
        &e,
        &bob,
        &[
            ("Action", "GetAccessKeyLastUsed"),
            ("AccessKeyId", &carol_key),
        ],
    );
    expect_error(&r, 403, "AccessDenied");
    // Bob manages his own keys, explicitly named in any case.
    let r = call_as(
        &e,
        &bob,
        &[("Action", "ListAccessKeys"), ("UserName", "BOB")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // A key ID of someone else's is "not found" for the key's user.
    let r = call_as(
        &e,
        &bob,
        &[("Action", "DeleteAccessKey"), ("AccessKeyId", &carol_key)],
    );
    expect_error(&r, 404, "NoSuchEntity");
}

#[test]
fn inline_user_policies_are_stored_listed_read_and_block_delete_user() {
    let e = emu(&[]);
    create_user(&e, "bob");
    for name in ["b", "a", "c"] {
        let r = put_policy(&e, "bob", name, SELF_MANAGE);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_well_formed(&r);
    }
    // Names in order, paged with MaxItems and Marker.
    let r = call(
        &e,
        &[
            ("Action", "ListUserPolicies"),
            ("UserName", "BOB"),
            ("MaxItems", "2"),
        ],
    );
    assert_eq!(all_between(&r, "member"), ["a", "b"]);
    assert_eq!(between(&r, "IsTruncated").as_deref(), Some("true"));
    let marker = between(&r, "Marker").unwrap();
    let r = call(
        &e,
        &[
            ("Action", "ListUserPolicies"),
            ("UserName", "bob"),
            ("Marker", &marker),
        ],
    );
    assert_eq!(all_between(&r, "member"), ["c"]);
    // The document comes back URL-encoded (RFC 3986), and decodes to what was put.
    let r = call(
        &e,
        &[
            ("Action", "GetUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "a"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = between(&r, "PolicyDocument").unwrap();
    assert!(doc.starts_with("%7B%22Version%22"), "{doc}");
    let decoded = percent_encoding::percent_decode_str(&doc)
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, SELF_MANAGE);
    let r = call(
        &e,
        &[
            ("Action", "GetUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "zz"),
        ],
    );
    expect_error(&r, 404, "NoSuchEntity");
    assert_eq!(message(&r), "The user policy with name zz cannot be found.");
    // DeleteUser waits for the policies.
    let r = call(&e, &[("Action", "DeleteUser"), ("UserName", "bob")]);
    expect_error(&r, 409, "DeleteConflict");
    assert_eq!(
        message(&r),
        "Cannot delete entity, must delete policies first."
    );
    for name in ["a", "b", "c"] {
        let del = [
            ("Action", "DeleteUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", name),
        ];
        assert_eq!(call(&e, &del).status, 200);
        expect_error(&call(&e, &del), 404, "NoSuchEntity");
    }
    let r = call(&e, &[("Action", "ListUserPolicies"), ("UserName", "bob")]);
    assert!(all_between(&r, "member").is_empty(), "{}", r.text());
    assert_eq!(
        call(&e, &[("Action", "DeleteUser"), ("UserName", "bob")]).status,
        200
    );
    expect_error(
        &put_policy(&e, "bob", "a", SELF_MANAGE),
        404,
        "NoSuchEntity",
    );
}

#[test]
fn policy_documents_and_names_are_validated() {
    let e = emu(&[]);
    create_user(&e, "bob");
    for (doc, words) in [
        ("{not json", "Syntax errors in policy."),
        (
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"iam:*","Resource":"*"}}"#,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*","Condition":{}}}"#,
            "Condition is not evaluated",
        ),
    ] {
        let r = put_policy(&e, "bob", "p", doc);
        expect_error(&r, 400, "MalformedPolicyDocument");
        assert!(message(&r).contains(words), "{}", message(&r));
    }
    // The model's constraints: a name of [\w+=,.@-] (ASCII), a document of tab, LF, CR and
    // U+0020..U+00FF, lengths 1..128 and 1..131072.
    for (name, doc) in [
        ("a b", SELF_MANAGE),
        ("é", SELF_MANAGE),
        ("", SELF_MANAGE),
        ("p", "{\"Statement\":\u{1}}"),
        ("p", "{\"Sid\":\"\u{100}\"}"),
    ] {
        let r = put_policy(&e, "bob", name, doc);
        expect_error(&r, 400, "ValidationError");
    }
    let long = "a".repeat(129);
    expect_error(
        &put_policy(&e, "bob", &long, SELF_MANAGE),
        400,
        "ValidationError",
    );
    // Latin-1 letters, tabs and newlines are allowed characters.
    let latin = "{\"Version\":\"2012-10-17\",\n\t\"Statement\":{\"Sid\":\"Jos\u{e9}\",\"Effect\":\"Allow\",\"Action\":\"iam:*\",\"Resource\":\"*\"}}";
    let r = put_policy(&e, "bob", "p", latin);
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A user's inline policies hold at most 2,048 characters together (spec/facts.json), white
/// space not counted.
#[test]
fn inline_policies_share_a_size_quota() {
    let e = emu(&[]);
    create_user(&e, "bob");
    let doc = |sid_len: usize, spaces: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Sid":"{}","Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}{}}}"#,
            "a".repeat(sid_len),
            " ".repeat(spaces)
        )
    };
    let base = doc(0, 0).len();
    // Exactly the quota, padded with white space that does not count.
    let r = put_policy(&e, "bob", "big", &doc(2048 - base, 3000));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = put_policy(&e, "bob", "more", &doc(0, 0));
    expect_error(&r, 409, "LimitExceeded");
    assert_eq!(
        message(&r),
        "Maximum policy size of 2048 bytes exceeded for user bob"
    );
    // Replacing a policy counts it once.
    let r = put_policy(&e, "bob", "big", &doc(2048 - base - 1, 0));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn an_explicit_deny_is_worded_apart_from_an_implicit_one() {
    let e = emu(&[]);
    create_user(&e, "bob");
    create_user(&e, "carol");
    let bob = create_key(&e, "bob");
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::*:user/carol"},{"Effect":"Deny","Action":"iam:DeleteAccessKey","Resource":"*"}]}"#;
    assert_eq!(put_policy(&e, "bob", "p", doc).status, 200);
    let r = call_as(
        &e,
        &bob,
        &[("Action", "ListAccessKeys"), ("UserName", "carol")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let carol_key = create_key(&e, "carol").access_key_id;
    let r = call_as(
        &e,
        &bob,
        &[
            ("Action", "DeleteAccessKey"),
            ("UserName", "carol"),
            ("AccessKeyId", &carol_key),
        ],
    );
    expect_error(&r, 403, "AccessDenied");
    assert_eq!(
        message(&r),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:DeleteAccessKey on resource: user carol with an explicit deny in an identity-based policy"
    );
    assert_eq!(key_ids(&e, "carol"), [carol_key]);
    // Scoped to carol: bob's own keys are not his to list.
    let r = call_as(&e, &bob, &[("Action", "ListAccessKeys")]);
    expect_error(&r, 403, "AccessDenied");
    assert!(message(&r).ends_with("on resource: user null because no identity-based policy allows the iam:ListAccessKeys action"), "{}", message(&r));
}

#[test]
fn protocol_errors_and_methods() {
    let e = emu(&[]);
    let r = call(&e, &[("Action", "DescribeEverything")]);
    expect_error(&r, 400, "InvalidAction");
    assert_eq!(
        message(&r),
        "Could not find operation DescribeEverything for version 2010-05-08"
    );
    expect_error(&call(&e, &[V]), 400, "MissingAction");
    let r = call(&e, &[("Action", "ListUsers"), ("Version", "2010-05-09")]);
    expect_error(&r, 400, "InvalidAction");
    let r = e.handle(&sign(post(&[("Action", "ListUsers")]), &admin()));
    expect_error(&r, 400, "InvalidAction");
    assert!(message(&r).contains("NO_VERSION_SPECIFIED"));
    // Special characters in an echoed Action are escaped.
    let r = call(&e, &[("Action", "<x>&\"")]);
    expect_error(&r, 400, "InvalidAction");

    // GET with a query string works like POST.
    let r = e.handle(&sign(
        get(&[("Action", "CreateUser"), V, ("UserName", "viaget")]),
        &admin(),
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    // Other methods never change state.
    for m in ["PUT", "DELETE", "PATCH"] {
        let mut req = post(&[("Action", "CreateUser"), V, ("UserName", "viaput")]);
        req.method = m.into();
        let r = e.handle(&sign(req, &admin()));
        assert_eq!(r.status, 405, "{}", r.text());
        assert_well_formed(&r);
    }
    expect_error(
        &call(&e, &[("Action", "GetUser"), ("UserName", "viaput")]),
        404,
        "NoSuchEntity",
    );

    // Duplicate parameters: the first wins; for POST the body wins over the query string.
    let r = call(
        &e,
        &[
            ("Action", "CreateUser"),
            ("UserName", "first"),
            ("UserName", "second"),
        ],
    );
    assert_eq!(between(&r, "UserName").as_deref(), Some("first"));
    let mut req = post(&[("Action", "CreateUser"), V, ("UserName", "inbody")]);
    req.path_and_query = "/?UserName=inquery".into();
    let r = e.handle(&sign(req, &admin()));
    assert_eq!(between(&r, "UserName").as_deref(), Some("inbody"));

    // Bodies over the limit are refused before anything else.
    let mut big = post(&[("Action", "ListUsers"), V]);
    big.body.extend(std::iter::repeat_n(b'a', 70 * 1024));
    let r = e.handle(&big);
    assert_eq!(r.status, 413);
    assert_well_formed(&r);
    // Non-UTF-8 form bodies are an XML error too.
    let mut raw = sign(post(&[V]), &admin());
    raw.body = b"Action=\xff\xfe".to_vec();
    let r = e.handle(&raw);
    assert!(r.status >= 400);
    assert_well_formed(&r);
}

#[test]
fn sts_get_caller_identity() {
    let e = emu(&[]);
    let sts = Scope {
        service: "sts".into(),
        region: "us-east-1".into(),
    };
    let req = sign_at(
        post(&[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]),
        &admin(),
        &sts,
        SystemTime::now(),
    );
    let r = e.handle(&req);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .contains("xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"")
    );
    assert_eq!(
        between(&r, "Arn").as_deref(),
        Some("arn:aws:iam::123456789012:user/admin")
    );
    assert_eq!(between(&r, "Account").as_deref(), Some("123456789012"));
    assert!(between(&r, "UserId").unwrap().starts_with("AIDA"));
    let req = sign_at(
        post(&[("Action", "CreateUser"), ("Version", "2011-06-15")]),
        &admin(),
        &sts,
        SystemTime::now(),
    );
    expect_error(&e.handle(&req), 400, "InvalidAction");
}

#[test]
fn seeded_emulators_are_deterministic() {
    let run = || {
        let (e, clock) = clocked(&[]);
        call_at(
            &e,
            &clock,
            &admin(),
            &[("Action", "CreateUser"), ("UserName", "bob")],
        );
        call_at(
            &e,
            &clock,
            &admin(),
            &[("Action", "CreateAccessKey"), ("UserName", "bob")],
        )
        .body
    };
    assert_eq!(run(), run());
}

// ---------------------------------------------------------------- concurrency

fn parallel_creates(e: Arc<Emulator>, n: usize) -> Vec<HttpResponse> {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let e = e.clone();
            let b = barrier.clone();
            let req = sign(
                post(&[("Action", "CreateAccessKey"), V, ("UserName", "bob")]),
                &admin(),
            );
            std::thread::spawn(move || {
                b.wait();
                e.handle(&req)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn hundred_parallel_creates_respect_the_quota() {
    let e = Arc::new(emu(&[]));
    create_user(&e, "bob");
    let results = parallel_creates(e.clone(), 100);
    let ok: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 || code(r) == "LimitExceeded")
    );
    let ids: std::collections::HashSet<_> = ok
        .iter()
        .map(|r| between(r, "AccessKeyId").unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    // Many users at once: IDs never repeat.
    let e = Arc::new(emu(&[Fault::NoKeyQuota]));
    create_user(&e, "bob");
    let ids: std::collections::HashSet<_> = parallel_creates(e, 100)
        .iter()
        .map(|r| between(r, "AccessKeyId").unwrap())
        .collect();
    assert_eq!(ids.len(), 100);
}

// ---------------------------------------------------------------- faults

/// Runs the same scenario with and without `f` and checks that `f` changes what it should.
fn check_fault(f: Fault) {
    let good = emu(&[]);
    let bad = emu(&[f]);
    for e in [&good, &bad] {
        if !matches!(f, Fault::SkipAuth | Fault::Random500) {
            create_user(e, "bob");
        }
    }
    let both = |p: &[(&str, &str)]| (call(&good, p), call(&bad, p));
    match f {
        Fault::RootGetUserNamed
        | Fault::RootKeysRefused
        | Fault::RootKeysUnusable
        | Fault::RootListEmpty
        | Fault::RootUpdateIgnored
        | Fault::RootDeleteIgnored
        | Fault::RootNoKeyQuota => check_root_fault(f),
        Fault::AcceptNonAsciiNames => {
            let (g, b) = both(&[("Action", "CreateUser"), ("UserName", "José")]);
            assert_eq!((g.status, b.status), (400, 200));
        }
        Fault::SkipLengthChecks => {
            let n = "a".repeat(65);
            let (g, b) = both(&[("Action", "CreateUser"), ("UserName", &n)]);
            assert_eq!((g.status, b.status), (400, 200));
        }
        Fault::SkipPatternCheck => {
            let (g, b) = both(&[("Action", "CreateUser"), ("UserName", "a b")]);
            assert_eq!((g.status, b.status), (400, 200));
        }
        Fault::ValidationAfterLookup => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "no such!")]);
            assert_eq!(
                (code(&g).as_str(), code(&b).as_str()),
                ("ValidationError", "NoSuchEntity")
            );
        }
        Fault::NoKeyQuota => {
            for _ in 0..2 {
                both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            }
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            assert_eq!((g.status, b.status), (409, 200));
        }
        Fault::LowercaseStatus => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            assert_eq!(between(&g, "Status").as_deref(), Some("Active"));
            assert_eq!(between(&b, "Status").as_deref(), Some("active"));
            let (_, b) = both(&[("Action", "ListAccessKeys"), ("UserName", "bob")]);
            assert_eq!(between(&b, "Status").as_deref(), Some("active"));
        }
        Fault::ShortKeyId | Fault::NonAkiaKeyId => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            let (g, b) = (
                between(&g, "AccessKeyId").unwrap(),
                between(&b, "AccessKeyId").unwrap(),
            );
            assert!(g.len() == 20 && g.starts_with("AKIA"));
            if f == Fault::ShortKeyId {
                assert_eq!(b.len(), 12);
            } else {
                assert!(b.starts_with("AKIB") && b.len() == 20);
            }
        }
        Fault::ShortSecret => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            assert_eq!(between(&g, "SecretAccessKey").unwrap().len(), 40);
            assert_eq!(between(&b, "SecretAccessKey").unwrap().len(), 20);
        }
        Fault::DropRequestId => {
            for p in [
                vec![("Action", "GetUser")],
                vec![("Action", "GetUser"), ("UserName", "nobody")],
            ] {
                let (g, b) = both(&p);
                assert!(
                    between(&g, "RequestId").is_some() && g.header("x-amzn-RequestId").is_some()
                );
                assert!(
                    between(&b, "RequestId").is_none() && b.header("x-amzn-RequestId").is_none()
                );
                assert_well_formed(&b);
            }
        }
        Fault::WrongNamespace => {
            let (g, b) = both(&[("Action", "GetUser")]);
            let ns = "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"";
            assert!(g.text().contains(ns) && !b.text().contains(ns));
            let d = decode_response(Model::embedded(), "GetUser", &b.body);
            assert!(
                d.problems
                    .iter()
                    .any(|p| matches!(p, WireProblem::WrongNamespace { .. }))
            );
        }
        Fault::WrongErrorStatus => {
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "nobody")]);
            assert_eq!((g.status, b.status), (404, 400));
            assert_eq!(code(&b), "NoSuchEntity");
        }
        Fault::ErrorTypeReceiver => {
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "nobody")]);
            assert_eq!(between(&g, "Type").as_deref(), Some("Sender"));
            assert_eq!(between(&b, "Type").as_deref(), Some("Receiver"));
        }
        Fault::SecretInList => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            let (gs, bs) = (
                between(&g, "SecretAccessKey").unwrap(),
                between(&b, "SecretAccessKey").unwrap(),
            );
            let (g, b) = both(&[("Action", "ListAccessKeys"), ("UserName", "bob")]);
            assert!(!g.text().contains(&gs));
            assert_eq!(between(&b, "SecretAccessKey"), Some(bs));
        }
        Fault::SkipAuth => {
            let req = post(&[("Action", "CreateUser"), V, ("UserName", "anon")]);
            let (g, b) = (good.handle(&req), bad.handle(&req));
            assert_eq!((g.status, b.status), (403, 200));
        }
        Fault::AcceptWrongSignature => {
            let wrong = Credentials::new(EXAMPLE_ACCESS_KEY_ID, "w".repeat(40));
            let p = [("Action", "ListUsers")];
            assert_eq!(
                (
                    call_as(&good, &wrong, &p).status,
                    call_as(&bad, &wrong, &p).status
                ),
                (403, 200)
            );
            let unknown = Credentials::new("AKIAUNKNOWNUNKNOWN00", "w".repeat(40));
            assert_eq!(code(&call_as(&bad, &unknown, &p)), "InvalidClientTokenId");
        }
        Fault::InactiveKeysAuthenticate => {
            let statuses: Vec<u16> = [&good, &bad]
                .iter()
                .map(|e| {
                    self_manage(e, "bob");
                    let k = create_key(e, "bob");
                    call(
                        e,
                        &[
                            ("Action", "UpdateAccessKey"),
                            ("UserName", "bob"),
                            ("AccessKeyId", &k.access_key_id),
                            ("Status", "Inactive"),
                        ],
                    );
                    call_as(e, &k, &[("Action", "GetUser")]).status
                })
                .collect();
            assert_eq!(statuses, vec![403, 200]);
        }
        Fault::ReuseKeyIds => {
            let reused: Vec<bool> = [&good, &bad]
                .iter()
                .map(|e| {
                    let a = create_key(e, "bob").access_key_id;
                    call(
                        e,
                        &[
                            ("Action", "DeleteAccessKey"),
                            ("UserName", "bob"),
                            ("AccessKeyId", &a),
                        ],
                    );
                    create_key(e, "bob").access_key_id == a
                })
                .collect();
            assert_eq!(reused, vec![false, true]);
        }
        Fault::RawXml => {
            let (g, b) = both(&[("Action", "Create<&User")]);
            assert_well_formed(&g);
            let d = decode_response(Model::embedded(), "CreateUser", &b.body);
            assert!(
                d.problems
                    .iter()
                    .any(|p| matches!(p, WireProblem::IllFormed { .. })),
                "{}",
                b.text()
            );
        }
        Fault::EchoWrongUsername => {
            for e in [&good, &bad] {
                create_user(e, "Eve");
            }
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "Eve")]);
            assert_eq!(between(&g, "UserName").as_deref(), Some("Eve"));
            assert_eq!(between(&b, "UserName").as_deref(), Some("eve"));
        }
        Fault::Random500 => {
            let count = |e: &Emulator| {
                (0..60)
                    .filter(|_| call(e, &[("Action", "GetUser")]).status == 500)
                    .count()
            };
            assert_eq!(count(&good), 0);
            let n = count(&bad);
            assert!((8..=35).contains(&n), "{n} of 60");
            // Deterministic from the seed.
            assert_eq!(count(&emu(&[f])), n);
        }
        Fault::Slow => {
            let (g, b) = both(&[("Action", "GetUser")]);
            assert_eq!(
                (g.delay, b.delay),
                (Duration::ZERO, Duration::from_millis(50))
            );
        }
        Fault::CaseSensitiveNames => {
            let (g, b) = both(&[("Action", "CreateUser"), ("UserName", "BOB")]);
            assert_eq!((g.status, b.status), (409, 200));
        }
        Fault::DeleteUserWithKeys => {
            for e in [&good, &bad] {
                create_key(e, "bob");
            }
            let (g, b) = both(&[("Action", "DeleteUser"), ("UserName", "bob")]);
            assert_eq!((g.status, b.status), (409, 200));
        }
        Fault::ImplicitUserBootstrap => {
            let users: Vec<Option<String>> = [&good, &bad]
                .iter()
                .map(|e| {
                    self_manage(e, "bob");
                    let k = create_key(e, "bob");
                    between(&call_as(e, &k, &[("Action", "ListAccessKeys")]), "UserName")
                })
                .collect();
            assert_eq!(users[0].as_deref(), Some("bob"));
            assert_ne!(users[1].as_deref(), Some("bob"));
        }
        Fault::CreateDateChangesOnUpdate => {
            let (g, gc) = clocked(&[]);
            let (b, bc) = clocked(&[f]);
            let dates: Vec<(String, String)> = [(&g, &gc), (&b, &bc)]
                .iter()
                .map(|(e, c)| {
                    call_at(
                        e,
                        c,
                        &admin(),
                        &[("Action", "CreateUser"), ("UserName", "bob")],
                    );
                    let r = call_at(
                        e,
                        c,
                        &admin(),
                        &[("Action", "CreateAccessKey"), ("UserName", "bob")],
                    );
                    let id = between(&r, "AccessKeyId").unwrap();
                    c.advance(Duration::from_secs(100));
                    call_at(
                        e,
                        c,
                        &admin(),
                        &[
                            ("Action", "UpdateAccessKey"),
                            ("UserName", "bob"),
                            ("AccessKeyId", &id),
                            ("Status", "Inactive"),
                        ],
                    );
                    let l = call_at(
                        e,
                        c,
                        &admin(),
                        &[("Action", "ListAccessKeys"), ("UserName", "bob")],
                    );
                    (
                        between(&r, "CreateDate").unwrap(),
                        between(&l, "CreateDate").unwrap(),
                    )
                })
                .collect();
            assert_eq!(dates[0].0, dates[0].1);
            assert_ne!(dates[1].0, dates[1].1);
        }
        Fault::BadCreateDate => {
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", "bob")]);
            assert!(is_iso(&between(&g, "CreateDate").unwrap()));
            assert!(
                between(&b, "CreateDate")
                    .unwrap()
                    .bytes()
                    .all(|c| c.is_ascii_digit())
            );
        }
        Fault::RaceQuota => {
            let ok = |e: Emulator| {
                parallel_creates(Arc::new(e), 40)
                    .iter()
                    .filter(|r| r.status == 200)
                    .count()
            };
            assert_eq!(ok(good), 2);
            let n = ok(bad);
            assert!(n > 2, "race-quota let only {n} creates through");
            return;
        }
        Fault::UnknownAction500 => {
            let (g, b) = both(&[("Action", "Nope")]);
            assert_eq!((g.status, b.status), (400, 500));
        }
        Fault::AnyMethodMutates => {
            let mut req = post(&[("Action", "CreateUser"), V, ("UserName", "put")]);
            req.method = "PUT".into();
            let req = sign(req, &admin());
            let (g, b) = (good.handle(&req), bad.handle(&req));
            assert_eq!((g.status, b.status), (405, 200));
        }
        Fault::SkewAccepted => {
            let req = sign_at(
                post(&[("Action", "ListUsers"), V]),
                &admin(),
                &Scope::default(),
                SystemTime::now() - Duration::from_secs(3600),
            );
            assert_eq!(
                (good.handle(&req).status, bad.handle(&req).status),
                (403, 200)
            );
        }
        Fault::WrongSuccessRoot => {
            let (g, b) = both(&[("Action", "CreateUser"), ("UserName", "eve")]);
            assert_eq!((g.status, b.status), (200, 200));
            assert!(g.text().starts_with("<CreateUserResponse "), "{}", g.text());
            assert!(b.text().starts_with("<CreateUserResult "), "{}", b.text());
            assert!(b.text().ends_with("</CreateUserResult>"), "{}", b.text());
            assert_well_formed(&b);
            // Only CreateUser: the rest of the API answers as before.
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "eve")]);
            assert_eq!(g.text().split('>').next(), b.text().split('>').next());
        }
        Fault::ThrottleDeletes => {
            let k = create_key(&bad, "bob").access_key_id;
            let del = [
                ("Action", "DeleteAccessKey"),
                ("UserName", "bob"),
                ("AccessKeyId", k.as_str()),
            ];
            // Throttled once, and the throttled request deleted nothing; then it goes through.
            expect_error(&call(&bad, &del), 400, "Throttling");
            assert_eq!(key_ids(&bad, "bob"), vec![k.clone()]);
            assert_eq!(call(&bad, &del).status, 200);
            let del_user = [("Action", "DeleteUser"), ("UserName", "bob")];
            expect_error(&call(&bad, &del_user), 400, "Throttling");
            assert_eq!(call(&bad, &del_user).status, 200);
            assert_eq!(call(&good, &del_user).status, 200);
        }
        Fault::SkewRequestExpired => {
            for secs in [3600i64, -3600] {
                let at = if secs > 0 {
                    SystemTime::now() + Duration::from_secs(secs as u64)
                } else {
                    SystemTime::now() - Duration::from_secs(secs.unsigned_abs())
                };
                let req = sign_at(
                    post(&[("Action", "ListUsers"), V]),
                    &admin(),
                    &Scope::default(),
                    at,
                );
                expect_error(&good.handle(&req), 403, "SignatureDoesNotMatch");
                expect_error(&bad.handle(&req), 400, "RequestExpired");
            }
        }
        Fault::WrongScopeAccepted => {
            let scope = Scope {
                service: "ec2".into(),
                region: "eu-west-1".into(),
            };
            let req = sign_at(
                post(&[("Action", "ListUsers"), V]),
                &admin(),
                &scope,
                SystemTime::now(),
            );
            assert_eq!(
                (good.handle(&req).status, bad.handle(&req).status),
                (403, 200)
            );
        }
        Fault::CrossUserAccess => {
            let statuses: Vec<u16> = [&good, &bad]
                .iter()
                .map(|e| {
                    create_user(e, "carol");
                    let k = create_key(e, "bob");
                    call_as(
                        e,
                        &k,
                        &[("Action", "CreateAccessKey"), ("UserName", "carol")],
                    )
                    .status
                })
                .collect();
            assert_eq!(statuses, vec![403, 200]);
        }
        Fault::VersionIgnored => {
            let (g, b) = both(&[("Action", "GetUser"), ("Version", "1999-01-01")]);
            assert_eq!((g.status, b.status), (400, 200));
        }
        Fault::RewordedErrors => {
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "nobody")]);
            assert_eq!(message(&g), "The user with name nobody cannot be found.");
            assert_eq!(message(&b), "User nobody not found");
        }
        Fault::NoErrorEnvelope => {
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "nobody")]);
            assert_eq!((g.status, b.status), (404, 404));
            assert_eq!(b.body, b"error");
        }
        Fault::StaleLastUsed => {
            let used: Vec<bool> = [&good, &bad]
                .iter()
                .map(|e| {
                    let k = create_key(e, "bob");
                    let r = call(
                        e,
                        &[
                            ("Action", "GetAccessKeyLastUsed"),
                            ("AccessKeyId", &k.access_key_id),
                        ],
                    );
                    between(&r, "LastUsedDate").is_some()
                })
                .collect();
            assert_eq!(used, vec![false, true]);
        }
        Fault::SecretReuse => {
            let same: Vec<bool> = [&good, &bad]
                .iter()
                .map(|e| {
                    create_key(e, "bob").secret_access_key == create_key(e, "bob").secret_access_key
                })
                .collect();
            assert_eq!(same, vec![false, true]);
        }
        Fault::UserNameMax64 => {
            let n = "a".repeat(65);
            let (g, b) = both(&[("Action", "CreateAccessKey"), ("UserName", &n)]);
            assert_eq!(
                (code(&g).as_str(), code(&b).as_str()),
                ("NoSuchEntity", "ValidationError")
            );
        }
        Fault::MissingActionAccepted => {
            let (g, b) = both(&[]);
            assert_eq!((g.status, b.status), (400, 200));
        }
        Fault::GetUnsupported => {
            let q = [("Action", "GetUser"), V];
            let (g, b) = (
                good.handle(&sign(get(&q), &admin())),
                bad.handle(&sign(get(&q), &admin())),
            );
            assert_eq!((g.status, b.status), (200, 405));
        }
        Fault::DuplicateParamsAlternate => {
            let q = [
                ("Action", "CreateAccessKey"),
                ("UserName", "nobody"),
                ("UserName", "a b"),
            ];
            let g: Vec<String> = (0..2).map(|_| code(&call(&good, &q))).collect();
            let b: Vec<String> = (0..2).map(|_| code(&call(&bad, &q))).collect();
            assert_eq!(g[0], g[1]);
            assert_ne!(b[0], b[1]);
        }
        Fault::InvalidUtf8500 => {
            let raw = |e: &Emulator| {
                let mut req = post(&[]);
                req.body = b"Action=CreateAccessKey&Version=2010-05-08&UserName=%FF".to_vec();
                e.handle(&sign(req, &admin())).status
            };
            assert_eq!((raw(&good), raw(&bad)), (400, 500));
        }
        Fault::PlusLiteral => {
            for e in [&good, &bad] {
                create_user(e, "a+b");
            }
            let raw = |e: &Emulator| {
                let mut req = post(&[]);
                req.body = b"Action=CreateAccessKey&Version=2010-05-08&UserName=a+b".to_vec();
                e.handle(&sign(req, &admin())).status
            };
            assert_eq!((raw(&good), raw(&bad)), (400, 200));
        }
        Fault::ListKeepsDeletedKeys => {
            let listed: Vec<Option<String>> = [&good, &bad]
                .iter()
                .map(|e| {
                    let k = create_key(e, "bob").access_key_id;
                    let del = [
                        ("Action", "DeleteAccessKey"),
                        ("UserName", "bob"),
                        ("AccessKeyId", k.as_str()),
                    ];
                    assert_eq!(call(e, &del).status, 200);
                    // Deleted is deleted, fault or not: a second delete is 404.
                    assert_eq!(call(e, &del).status, 404);
                    between(
                        &call(e, &[("Action", "ListAccessKeys"), ("UserName", "bob")]),
                        "AccessKeyId",
                    )
                })
                .collect();
            assert_eq!(listed[0], None);
            assert!(listed[1].is_some());
        }
        Fault::AccessDeniedException => {
            // A user's key asking for another user's key: refused either way, only the code's
            // spelling differs; other codes keep IAM's spelling.
            let denied: Vec<(u16, String)> = [&good, &bad]
                .iter()
                .map(|e| {
                    create_user(e, "carol");
                    let k = create_key(e, "bob");
                    let r = call_as(
                        e,
                        &k,
                        &[("Action", "CreateAccessKey"), ("UserName", "carol")],
                    );
                    (r.status, code(&r))
                })
                .collect();
            assert_eq!(
                denied,
                vec![
                    (403, "AccessDenied".to_owned()),
                    (403, "AccessDeniedException".to_owned())
                ]
            );
            let (g, b) = both(&[("Action", "GetUser"), ("UserName", "nobody")]);
            assert_eq!(
                (code(&g), code(&b)),
                ("NoSuchEntity".into(), "NoSuchEntity".into())
            );
        }
        Fault::DenyNotWinning
        | Fault::IgnoreNotAction
        | Fault::NoUsernameVariable
        | Fault::ImplicitAllow
        | Fault::CaseSensitiveActions => {
            // The policy each evaluator fault stands for, and bob's CreateAccessKey for himself:
            // denied by the correct evaluator, allowed by the faulty one (or the other way).
            let doc = match f {
                Fault::DenyNotWinning | Fault::CaseSensitiveActions => {
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},{"Effect":"Deny","Action":"iam:createaccesskey","Resource":"*"}]}"#
                }
                Fault::IgnoreNotAction => {
                    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:CreateAccessKey","Resource":"*"}}"#
                }
                Fault::NoUsernameVariable => SELF_MANAGE,
                _ => {
                    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}"#
                }
            };
            let statuses: Vec<u16> = [&good, &bad]
                .iter()
                .map(|e| {
                    assert_eq!(put_policy(e, "bob", "p", doc).status, 200);
                    let k = create_key(e, "bob");
                    call_as(e, &k, &[("Action", "CreateAccessKey"), ("UserName", "bob")]).status
                })
                .collect();
            let want = if f == Fault::NoUsernameVariable {
                vec![200, 403]
            } else {
                vec![403, 200]
            };
            assert_eq!(statuses, want);
        }
        Fault::DeniedCallStillActs => {
            // bob, with no policy, deletes his own second key: refused either way, but done
            // with the fault.
            let left: Vec<(u16, usize)> = [&good, &bad]
                .iter()
                .map(|e| {
                    let k = create_key(e, "bob");
                    let victim = create_key(e, "bob").access_key_id;
                    let r = call_as(
                        e,
                        &k,
                        &[
                            ("Action", "DeleteAccessKey"),
                            ("UserName", "bob"),
                            ("AccessKeyId", &victim),
                        ],
                    );
                    (r.status, key_ids(e, "bob").len())
                })
                .collect();
            assert_eq!(left, vec![(403, 2), (403, 1)]);
        }
        Fault::AccessDeniedArnResource => {
            let messages: Vec<String> = [&good, &bad]
                .iter()
                .map(|e| {
                    let k = create_key(e, "bob");
                    message(&call_as(
                        e,
                        &k,
                        &[("Action", "ListAccessKeys"), ("UserName", "bob")],
                    ))
                })
                .collect();
            assert!(messages[0].ends_with("on resource: user bob because no identity-based policy allows the iam:ListAccessKeys action"), "{}", messages[0]);
            assert!(
                messages[1].ends_with("on resource: arn:aws:iam::123456789012:user/bob"),
                "{}",
                messages[1]
            );
        }
        Fault::DeleteUserWithPolicies => {
            for e in [&good, &bad] {
                assert_eq!(put_policy(e, "bob", "p", SELF_MANAGE).status, 200);
            }
            let (g, b) = both(&[("Action", "DeleteUser"), ("UserName", "bob")]);
            assert_eq!((g.status, b.status), (409, 200));
            assert_eq!(
                message(&g),
                "Cannot delete entity, must delete policies first."
            );
        }
        Fault::NoUserPolicies => {
            let (g, b) = both(&[("Action", "ListUserPolicies"), ("UserName", "bob")]);
            assert_eq!((g.status, code(&b).as_str()), (200, "InvalidAction"));
            let (g, b) = both(&[
                ("Action", "PutUserPolicy"),
                ("UserName", "bob"),
                ("PolicyName", "p"),
                ("PolicyDocument", SELF_MANAGE),
            ]);
            assert_eq!((g.status, code(&b).as_str()), (200, "InvalidAction"));
        }
        Fault::AcceptMalformedPolicy => {
            let statuses: Vec<(u16, u16)> = [&good, &bad]
                .iter()
                .map(|e| {
                    let put = put_policy(e, "bob", "p", "{not json");
                    let get = call(
                        e,
                        &[
                            ("Action", "GetUserPolicy"),
                            ("UserName", "bob"),
                            ("PolicyName", "p"),
                        ],
                    );
                    (put.status, get.status)
                })
                .collect();
            assert_eq!(statuses, vec![(400, 404), (200, 200)]);
        }
    }
    // Whatever the fault, the baseline stays conforming on a plain call.
    assert_eq!(call(&good, &[("Action", "ListUsers")]).status, 200);
}

/// A root-only emulator (the example key is the account root's) with `faults`.
fn root_emu(faults: &[Fault]) -> Emulator {
    Emulator::new(config(faults).as_root()).unwrap()
}

/// The root's calls without UserName, signed with the root's key over the handler (SigV4 and
/// all), with and without a `root-*` fault.
fn check_root_fault(f: Fault) {
    let (good, bad) = (root_emu(&[]), root_emu(&[f]));
    let both = |p: &[(&str, &str)]| (call(&good, p), call(&bad, p));
    let new_key = |e: &Emulator| {
        let r = call(e, &[("Action", "CreateAccessKey")]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(between(&r, "UserName").is_none(), "{}", r.text());
        Credentials::new(
            between(&r, "AccessKeyId").unwrap(),
            between(&r, "SecretAccessKey").unwrap(),
        )
    };
    match f {
        Fault::RootGetUserNamed => {
            let (g, b) = both(&[("Action", "GetUser")]);
            assert_eq!(between(&g, "UserName"), None);
            assert_eq!(between(&b, "UserName").as_deref(), Some("root"));
            assert_eq!(
                between(&b, "Arn").as_deref(),
                Some("arn:aws:iam::123456789012:root")
            );
        }
        Fault::RootKeysRefused => {
            let (g, b) = both(&[("Action", "CreateAccessKey")]);
            assert_eq!((g.status, b.status), (200, 400));
            assert_eq!(code(&b), "ValidationError");
        }
        Fault::RootKeysUnusable => {
            let (g, b) = (new_key(&good), new_key(&bad));
            let p = [("Action", "GetUser")];
            let (g, b) = (call_as(&good, &g, &p), call_as(&bad, &b, &p));
            assert_eq!((g.status, b.status), (200, 403));
            assert_eq!(
                between(&g, "Arn").as_deref(),
                Some("arn:aws:iam::123456789012:root")
            );
            assert_eq!(call(&bad, &p).status, 200, "the starting key still signs");
        }
        Fault::RootListEmpty => {
            let (g, b) = both(&[("Action", "ListAccessKeys")]);
            assert_eq!(
                between(&g, "AccessKeyId").as_deref(),
                Some(EXAMPLE_ACCESS_KEY_ID)
            );
            assert_eq!(between(&b, "AccessKeyId"), None);
        }
        Fault::RootUpdateIgnored | Fault::RootDeleteIgnored => {
            for e in [&good, &bad] {
                let k = new_key(e);
                let id = k.access_key_id.as_str();
                let (action, extra) = if f == Fault::RootUpdateIgnored {
                    ("UpdateAccessKey", Some(("Status", "Inactive")))
                } else {
                    ("DeleteAccessKey", None)
                };
                let mut p = vec![("Action", action), ("AccessKeyId", id)];
                p.extend(extra);
                assert_eq!(call(e, &p).status, 200);
                let listed = call(e, &[("Action", "ListAccessKeys")]).text();
                let unchanged = listed.contains(&format!(
                    "<AccessKeyId>{id}</AccessKeyId><Status>Active</Status>"
                ));
                assert_eq!(unchanged, std::ptr::eq(e, &bad), "{listed}");
            }
        }
        Fault::RootNoKeyQuota => {
            // The starting key and one more fill the quota of two.
            both(&[("Action", "CreateAccessKey")]);
            let (g, b) = both(&[("Action", "CreateAccessKey")]);
            assert_eq!((g.status, b.status), (409, 200));
            assert_eq!(code(&g), "LimitExceeded");
        }
        _ => unreachable!("{f} is not a root fault"),
    }
}

#[test]
fn every_fault_changes_behaviour() {
    for f in Fault::all() {
        let result = std::panic::catch_unwind(|| check_fault(*f));
        assert!(
            result.is_ok(),
            "fault {} did not behave as described",
            f.name()
        );
    }
}

// ---------------------------------------------------------------- over loopback

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_lifecycle_get_form_and_shutdown() {
    let running = emulator::start(Config::default()).await.unwrap();
    assert!(running.url().starts_with("http://127.0.0.1:"));
    let client = Client::new(running.url(), Some(running.credentials().clone())).unwrap();
    let p = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut out = vec![("Version".to_owned(), "2010-05-08".to_owned())];
        out.extend(v.iter().map(|(a, b)| (a.to_string(), b.to_string())));
        out
    };
    let r = client
        .call(&p(&[("Action", "CreateUser"), ("UserName", "net")]))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let r = client
        .call(&p(&[("Action", "CreateAccessKey"), ("UserName", "net")]))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let d = decode_response(Model::embedded(), "CreateAccessKey", &r.body);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert!(r.header("x-amzn-RequestId").is_some());
    let r = client
        .send(
            &RawRequest::query(&p(&[("Action", "ListAccessKeys"), ("UserName", "net")])),
            &Signing::Normal,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = client
        .send(
            &RawRequest::form(&p(&[("Action", "ListUsers")])),
            &Signing::Unsigned,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = client
        .send(
            &RawRequest::form(&p(&[("Action", "ListUsers")])),
            &Signing::Corrupted,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = client
        .send(
            &RawRequest::form(&p(&[("Action", "ListUsers")])),
            &Signing::Skewed(3600),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert!(
        String::from_utf8_lossy(&r.body).contains("Signature not yet current: "),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let mut big = RawRequest::form(&p(&[("Action", "ListUsers")]));
    big.body.extend(std::iter::repeat_n(b'x', 200 * 1024));
    let r = client.send(&big, &Signing::Unsigned).await.unwrap();
    assert_eq!(r.status, 413);
    let url = running.url().to_owned();
    running.shutdown().await;
    let again = Client::new(&url, Some(admin())).unwrap();
    assert!(again.call(&p(&[("Action", "ListUsers")])).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_parallel_creates_and_faults() {
    async fn creates(faults: &[Fault]) -> (usize, usize) {
        let running = emulator::start(config(faults)).await.unwrap();
        let client = Client::new(running.url(), Some(admin())).unwrap();
        let p = |a: &str| {
            vec![
                ("Action".to_owned(), a.to_owned()),
                ("Version".to_owned(), "2010-05-08".to_owned()),
                ("UserName".to_owned(), "bob".to_owned()),
            ]
        };
        assert_eq!(client.call(&p("CreateUser")).await.unwrap().status, 200);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let c = client.clone();
                let params = p("CreateAccessKey");
                tokio::spawn(async move { c.call(&params).await.unwrap() })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        let mut ok = 0;
        for t in tasks {
            let r = t.await.unwrap();
            if r.status == 200 {
                ok += 1;
                let d = decode_response(Model::embedded(), "CreateAccessKey", &r.body);
                let v = d.revealed_value().unwrap();
                ids.insert(v["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned());
            }
        }
        running.shutdown().await;
        (ok, ids.len())
    }
    assert_eq!(creates(&[]).await, (2, 2));
    let (ok, unique) = creates(&[Fault::RaceQuota]).await;
    assert!(ok > 2, "race-quota let only {ok} through");
    assert_eq!(ok, unique);

    let running = emulator::start(config(&[Fault::Slow])).await.unwrap();
    let client = Client::new(running.url(), Some(admin())).unwrap();
    let t = std::time::Instant::now();
    let r = client
        .call(&[
            ("Action".into(), "ListUsers".into()),
            ("Version".into(), "2010-05-08".into()),
        ])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn only_loopback_addresses_are_allowed() {
    let c = Config {
        listen: Some("0.0.0.0:0".parse().unwrap()),
        ..Config::default()
    };
    assert!(matches!(
        emulator::start(c).await,
        Err(emulator::EmulatorError::NotLoopback { .. })
    ));
    let c = Config {
        bootstrap_user: "bad name".into(),
        ..Config::default()
    };
    assert!(emulator::start(c).await.is_err());
}

/// boto3 against the emulator, when IAM_CONTRACT_PYTHON_TESTS=1 (needs python3 with boto3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_works_unchanged() {
    if std::env::var("IAM_CONTRACT_PYTHON_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set IAM_CONTRACT_PYTHON_TESTS=1 to run boto3 against the emulator");
        return;
    }
    let running = emulator::start(Config::default()).await.unwrap();
    let script = r#"
import boto3, sys
url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="py")
k = iam.create_access_key(UserName="py")["AccessKey"]
assert k["Status"] == "Active" and len(k["AccessKeyId"]) == 20
assert [m["AccessKeyId"] for m in iam.list_access_keys(UserName="py")["AccessKeyMetadata"]] == [k["AccessKeyId"]]
mine = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=k["AccessKeyId"],
                    aws_secret_access_key=k["SecretAccessKey"])
assert mine.get_user()["User"]["UserName"] == "py"
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id=k["AccessKeyId"],
                   aws_secret_access_key=k["SecretAccessKey"])
assert sts.get_caller_identity()["Arn"].endswith(":user/py")
try:
    iam.get_user(UserName="nobody")
    raise SystemExit("no error")
except iam.exceptions.NoSuchEntityException:
    pass
print("ok")
"#;
    let url = running.url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", script, &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

//! Unit tests of the observer: canned exchanges in, verdicts and reports out, no socket.

use super::*;
use crate::contract::Status;

const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const SECRET: &str = "0123456789+/abcdefghABCDEFGHIJ0123456789";
const SIGNER: &str = "AKIAIOSFODNN7EXAMPLE";

fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-30 08:00:00 UTC)
}

fn observer() -> Observer {
    Observer::new(
        Model::embedded(),
        ObserverConfig {
            endpoint: "http://127.0.0.1:4566/".into(),
            target_name: "proxy".into(),
            profile: Profile::Model,
        },
    )
}

/// A signed awsQuery POST of `action` with `members`, answered `status` with `body`.
fn raw_as(
    signer: &str,
    action: &str,
    members: &[(&str, &str)],
    status: u16,
    body: &str,
) -> RawExchange {
    let mut params = vec![("Action", action), ("Version", "2010-05-08")];
    params.extend_from_slice(members);
    RawExchange {
        method: "POST".into(),
        path_and_query: "/".into(),
        request_headers: vec![
            ("host".into(), "127.0.0.1:9".into()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            ),
            (
                "authorization".into(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={signer}/20261130/us-east-1/iam/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date, Signature={}",
                    "ab".repeat(32)
                ),
            ),
        ],
        request_body: crate::wire::encode_form(&params).into_bytes(),
        response: Ok((status, vec![], body.as_bytes().to_vec())),
        started: now(),
        elapsed_ms: 1,
    }
}

fn raw(action: &str, members: &[(&str, &str)], status: u16, body: &str) -> RawExchange {
    raw_as(SIGNER, action, members, status, body)
}

fn ok(action: &str, result: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn ok_empty(action: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn err(status_code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{status_code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

fn user_created(name: &str) -> String {
    ok(
        "CreateUser",
        &format!(
            "<User><Path>/</Path><UserName>{name}</UserName><UserId>AIDA{name}</UserId><Arn>arn:aws:iam::123456789012:user/{name}</Arn><CreateDate>2026-11-30T08:00:00Z</CreateDate></User>"
        ),
    )
}

/// The secret the canned answers give key `id`: one per key, as a conforming service does.
fn secret_of(id: &str) -> String {
    format!("{}{id}", &SECRET[..40 - id.len().min(40)])
}

fn key_created(user: &str, id: &str) -> String {
    key_created_with(user, id, &secret_of(id))
}

fn key_created_with(user: &str, id: &str, secret: &str) -> String {
    ok(
        "CreateAccessKey",
        &format!(
            "<AccessKey><UserName>{user}</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey><CreateDate>2026-11-30T08:00:00Z</CreateDate></AccessKey>"
        ),
    )
}

fn listed(user: &str, keys: &[(&str, &str)]) -> String {
    let members: String = keys
        .iter()
        .map(|(id, st)| {
            format!(
                "<member><UserName>{user}</UserName><AccessKeyId>{id}</AccessKeyId><Status>{st}</Status><CreateDate>2026-11-30T08:00:00Z</CreateDate></member>"
            )
        })
        .collect();
    ok(
        "ListAccessKeys",
        &format!(
            "<UserName>{user}</UserName><AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
        ),
    )
}

/// Feeds the exchanges and returns the report.
fn judge(exchanges: &[RawExchange]) -> Report {
    let mut o = observer();
    for r in exchanges {
        if o.observe(r, now()).is_none() {
            o.skip();
        }
    }
    o.report()
}

fn status(report: &Report, rule: RuleId) -> (Status, Option<String>) {
    let r = report
        .rules
        .iter()
        .find(|r| r.id == rule.as_str())
        .unwrap_or_else(|| panic!("{rule} in the report"));
    (r.status, r.skip_reason.clone())
}

fn failing(report: &Report) -> Vec<String> {
    report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn a_conforming_session_passes_what_it_touched_and_skips_the_rest_with_reasons() {
    let report = judge(&[
        raw(
            "CreateUser",
            &[("UserName", "alice")],
            200,
            &user_created("alice"),
        ),
        raw(
            "CreateAccessKey",
            &[("UserName", "alice")],
            200,
            &key_created("alice", "AKIAAAAAAAAAAAAAAAA1"),
        ),
        raw(
            "ListAccessKeys",
            &[("UserName", "alice")],
            200,
            &listed("alice", &[("AKIAAAAAAAAAAAAAAAA1", "Active")]),
        ),
        raw(
            "DeleteAccessKey",
            &[
                ("UserName", "alice"),
                ("AccessKeyId", "AKIAAAAAAAAAAAAAAAA1"),
            ],
            200,
            &ok_empty("DeleteAccessKey"),
        ),
        raw(
            "DeleteUser",
            &[("UserName", "alice")],
            200,
            &ok_empty("DeleteUser"),
        ),
    ]);
    assert!(report.conforms(), "{}", format!("{:?}", failing(&report)));
    for rule in [
        RuleId::LifeQuota,
        RuleId::LifeList,
        RuleId::LifeSecretOnce,
        RuleId::OutputSchema,
    ] {
        assert_eq!(status(&report, rule).0, Status::Pass, "{rule}");
    }
    let (st, why) = status(&report, RuleId::AuthBadSignature);
    assert_eq!(st, Status::Skip);
    assert!(why.unwrap().contains("signed wrongly on purpose"));
    assert_eq!(report.summary.cases_sent, 5);
}

#[test]
fn delete_user_with_keys_is_judged_only_when_the_history_shows_the_keys() {
    let create = raw(
        "CreateAccessKey",
        &[("UserName", "bob")],
        200,
        &key_created("bob", "AKIAAAAAAAAAAAAAAAA2"),
    );
    let delete = raw(
        "DeleteUser",
        &[("UserName", "bob")],
        200,
        &ok_empty("DeleteUser"),
    );
    // Seen created: the user holds a key, so DeleteUser must conflict.
    let report = judge(&[
        raw(
            "CreateUser",
            &[("UserName", "bob")],
            200,
            &user_created("bob"),
        ),
        create.clone(),
        delete.clone(),
    ]);
    assert_eq!(failing(&report), vec![RuleId::LifeDeleteConflict.as_str()]);
    let f = &report
        .rules
        .iter()
        .find(|r| r.id == RuleId::LifeDeleteConflict.as_str())
        .unwrap()
        .findings[0];
    assert_eq!(
        f.case.steps.len(),
        2,
        "the user's history before: {:?}",
        f.case.steps
    );
    assert!(
        f.replay.contains("--wire 'Action=DeleteUser"),
        "{}",
        f.replay
    );
    // The same conflict answered 409 passes.
    let report = judge(&[
        raw(
            "CreateUser",
            &[("UserName", "bob")],
            200,
            &user_created("bob"),
        ),
        create.clone(),
        raw(
            "DeleteUser",
            &[("UserName", "bob")],
            409,
            &err(
                "DeleteConflict",
                "Cannot delete entity, must delete access keys first.",
            ),
        ),
    ]);
    assert_eq!(status(&report, RuleId::LifeDeleteConflict).0, Status::Pass);
    // Never seen created: whether it held other keys is unknown, so not judged, with the reason.
    let report = judge(&[create, delete]);
    let (st, why) = status(&report, RuleId::LifeDeleteConflict);
    assert_eq!(st, Status::Skip);
    assert!(why.unwrap().contains("not observed"));
}

#[test]
fn the_quota_counts_the_keys_seen_and_a_third_key_must_be_refused() {
    let mut seq = vec![raw(
        "CreateUser",
        &[("UserName", "carol")],
        200,
        &user_created("carol"),
    )];
    for i in 1..=2 {
        let id = format!("AKIAAAAAAAAAAAAAAAB{i}");
        seq.push(raw(
            "CreateAccessKey",
            &[("UserName", "carol")],
            200,
            &key_created("carol", &id),
        ));
    }
    let mut broken = seq.clone();
    broken.push(raw(
        "CreateAccessKey",
        &[("UserName", "carol")],
        200,
        &key_created("carol", "AKIAAAAAAAAAAAAAAAB3"),
    ));
    assert_eq!(failing(&judge(&broken)), vec![RuleId::LifeQuota.as_str()]);
    seq.push(raw(
        "CreateAccessKey",
        &[("UserName", "carol")],
        409,
        &err(
            "LimitExceeded",
            "Cannot exceed quota for AccessKeysPerUser: 2",
        ),
    ));
    let report = judge(&seq);
    assert!(report.conforms(), "{}", format!("{:?}", failing(&report)));
    assert_eq!(status(&report, RuleId::LifeQuota).0, Status::Pass);
}

#[test]
fn an_invalid_name_must_be_refused_as_invalid_and_a_valid_long_one_as_missing() {
    let long = "a".repeat(129);
    let nse = err(
        "NoSuchEntity",
        &format!("The user with name {long} cannot be found."),
    );
    let report = judge(&[raw("CreateAccessKey", &[("UserName", &long)], 404, &nse)]);
    assert_eq!(failing(&report), vec!["input.user-name.length-max"]);
    let valid = err("ValidationError", "1 validation error detected");
    let report = judge(&[raw("CreateAccessKey", &[("UserName", &long)], 400, &valid)]);
    assert!(report.conforms());
    let name = "b".repeat(100);
    let report = judge(&[raw("CreateAccessKey", &[("UserName", &name)], 400, &valid)]);
    assert_eq!(
        failing(&report),
        vec![RuleId::AcceptLongExistingName.as_str()]
    );
}

#[test]
fn listings_deleted_keys_case_folding_and_secrets_after_creation() {
    let id = "AKIAAAAAAAAAAAAAAAC1";
    let base = vec![
        raw(
            "CreateUser",
            &[("UserName", "dave")],
            200,
            &user_created("dave"),
        ),
        raw(
            "CreateAccessKey",
            &[("UserName", "dave")],
            200,
            &key_created("dave", id),
        ),
    ];
    // A listing that misses a key.
    let mut s = base.clone();
    s.push(raw(
        "ListAccessKeys",
        &[("UserName", "dave")],
        200,
        &listed("dave", &[]),
    ));
    assert_eq!(failing(&judge(&s)), vec![RuleId::LifeList.as_str()]);
    // A deleted key listed again, and deleted again with 200.
    let mut s = base.clone();
    s.push(raw(
        "DeleteAccessKey",
        &[("UserName", "dave"), ("AccessKeyId", id)],
        200,
        &ok_empty("DeleteAccessKey"),
    ));
    s.push(raw(
        "DeleteAccessKey",
        &[("UserName", "dave"), ("AccessKeyId", id)],
        200,
        &ok_empty("DeleteAccessKey"),
    ));
    s.push(raw(
        "ListAccessKeys",
        &[("UserName", "dave")],
        200,
        &listed("dave", &[(id, "Active")]),
    ));
    assert_eq!(failing(&judge(&s)), vec![RuleId::LifeUniqueIds.as_str()]);
    // A user whose name differs only in case.
    let mut s = base.clone();
    s.push(raw(
        "CreateUser",
        &[("UserName", "DAVE")],
        200,
        &user_created("DAVE"),
    ));
    assert_eq!(failing(&judge(&s)), vec![RuleId::LifeFoldCase.as_str()]);
    // A secret in a listing.
    let mut s = base.clone();
    let leaky = listed("dave", &[(id, "Active")]).replace(
        "</Status>",
        &format!(
            "</Status><SecretAccessKey>{}</SecretAccessKey>",
            secret_of(id)
        ),
    );
    s.push(raw("ListAccessKeys", &[("UserName", "dave")], 200, &leaky));
    assert!(failing(&judge(&s)).contains(&RuleId::LifeSecretOnce.as_str().to_owned()));
}

#[test]
fn a_secret_handed_out_twice_fails_secret_uniqueness() {
    let create = |id: &str| {
        raw(
            "CreateAccessKey",
            &[("UserName", "erin")],
            200,
            &key_created_with("erin", id, SECRET),
        )
    };
    let user = raw(
        "CreateUser",
        &[("UserName", "erin")],
        200,
        &user_created("erin"),
    );
    let once = judge(&[user.clone(), create("AKIAAAAAAAAAAAAAAAE1")]);
    assert_eq!(status(&once, RuleId::OutputSecretUnique).0, Status::Pass);
    // The second key carries the first key's secret.
    let twice = judge(&[
        user,
        create("AKIAAAAAAAAAAAAAAAE1"),
        create("AKIAAAAAAAAAAAAAAAE2"),
    ]);
    assert!(
        failing(&twice).contains(&RuleId::OutputSecretUnique.as_str().to_owned()),
        "{:?}",
        failing(&twice)
    );
}

#[test]
fn keys_seen_created_decide_the_implicit_user_and_authentication() {
    let id = "AKIAAAAAAAAAAAAAAAD1";
    let base = vec![
        raw(
            "CreateUser",
            &[("UserName", "erin")],
            200,
            &user_created("erin"),
        ),
        raw(
            "CreateAccessKey",
            &[("UserName", "erin")],
            200,
            &key_created("erin", id),
        ),
    ];
    // A create without UserName signed with erin's key must make erin's key.
    let mut s = base.clone();
    s.push(raw_as(
        id,
        "CreateAccessKey",
        &[],
        200,
        &key_created("admin", "AKIAAAAAAAAAAAAAAAD2"),
    ));
    assert!(failing(&judge(&s)).contains(&RuleId::LifeImplicitUser.as_str().to_owned()));
    // With a key the traffic never showed, it cannot be judged.
    let report = judge(&[raw(
        "CreateAccessKey",
        &[],
        200,
        &key_created("admin", "AKIAAAAAAAAAAAAAAAD3"),
    )]);
    assert_eq!(status(&report, RuleId::LifeImplicitUser).0, Status::Skip);
    // An Inactive key must not authenticate.
    let mut s = base.clone();
    s.push(raw(
        "UpdateAccessKey",
        &[
            ("UserName", "erin"),
            ("AccessKeyId", id),
            ("Status", "Inactive"),
        ],
        200,
        &ok_empty("UpdateAccessKey"),
    ));
    s.push(raw_as(
        id,
        "GetUser",
        &[("UserName", "erin")],
        200,
        &ok("GetUser", "<User><UserName>erin</UserName></User>"),
    ));
    assert_eq!(failing(&judge(&s)), vec![RuleId::LifeKeyAuth.as_str()]);
}

#[test]
fn other_services_and_protocols_are_skipped_and_counted() {
    let mut sts = raw("GetCallerIdentity", &[], 200, "<x/>");
    sts.request_headers[2].1 = sts.request_headers[2].1.replace("/iam/", "/sts/");
    let mut json = raw("CreateAccessKey", &[], 200, "{}");
    json.request_body = b"{\"UserName\":\"x\"}".to_vec();
    json.request_headers[1].1 = "application/x-amz-json-1.1".into();
    let mut o = observer();
    for r in [&sts, &json] {
        assert!(o.observe(r, now()).is_none());
        o.skip();
    }
    assert_eq!((o.judged(), o.skipped()), (0, 2));
}

#[test]
fn a_secret_never_reaches_a_finding_a_record_or_a_har_entry() {
    let mut o = observer();
    let create = raw(
        "CreateAccessKey",
        &[("UserName", "x")],
        200,
        &key_created("x", "short"),
    );
    let j = o.observe(&create, now()).unwrap();
    assert_eq!(o.secrets().len(), 1);
    let entry = har::entry("http://127.0.0.1:4566/", &create, &j.exchange);
    let mut file = har::Har::new();
    file.log.entries.push(entry);
    let text = file.to_json();
    // Every leak form (raw, percent-encoded, base64), as the tripwire reads them; the HAR file
    // itself goes through `report::Tripwire` in tests/it/proxy.rs.
    let leaks = |text: &str| o.secrets().iter().any(|s| s.appears_in(text));
    assert!(!leaks(&text), "no secret in the HAR");
    assert!(
        !text.contains(&"ab".repeat(32)),
        "the signature is redacted"
    );
    assert!(text.contains("Signature=redacted"));
    let report = o.report();
    assert!(!leaks(&serde_json::to_string(&report).unwrap()));
    // And read back, the entry is the same exchange (its secret redacted).
    let back = har::Har::parse(&text).unwrap();
    let raw_back = har::to_raw(&back.log.entries[0]).unwrap();
    assert_eq!(raw_back.request_body, create.request_body);
    assert_eq!(raw_back.response.as_ref().unwrap().0, 200);
}

#[test]
fn credentials_in_headers_and_query_strings_are_redacted() {
    let h = har::redact_headers(&[
        ("X-Amz-Security-Token".into(), "FwoGZXIvYXdzEXAMPLETOKEN".into()),
        ("Authorization".into(), "AWS4-HMAC-SHA256 Credential=AK/x/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=deadbeef".into()),
        ("Authorization".into(), "Basic dXNlcjpwYXNz".into()),
    ]);
    assert_eq!(h[0].value, har::REDACTED);
    assert_eq!(
        h[1].value,
        "AWS4-HMAC-SHA256 Credential=AK/x/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=redacted"
    );
    assert_eq!(h[2].value, har::REDACTED);
    assert_eq!(
        har::redact_query("Action=ListUsers&X-Amz-Signature=abc&X-Amz-Security-Token=tok&A=1"),
        "Action=ListUsers&X-Amz-Signature=redacted&X-Amz-Security-Token=redacted&A=1"
    );
}

#[test]
fn a_file_that_is_not_har_is_an_error_naming_the_problem() {
    let e = har::Har::parse("not json").unwrap_err().to_string();
    assert!(e.starts_with("not JSON"), "{e}");
    let e = har::Har::parse(r#"{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[{"request":{}}]}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("log.entries[0]") && e.contains("missing field"),
        "{e}"
    );
    let e = har::Har::parse(
        r#"{"log":{"version":"2.0","creator":{"name":"x","version":"1"},"entries":[]}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("version"), "{e}");
}

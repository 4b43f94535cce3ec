//! `profile` against the embedded emulator: it measures every limit exactly as the model states
//! it, and with each fault that loosens (or tightens) a limit it reports exactly that value and
//! nothing else; it stays within its request budget and leaves nothing behind.

use iam_contract::client::Client;
use iam_contract::emulator::{self, Fault};
use iam_contract::model::Model;
use iam_contract::profile::{self, ProfileConfig, ProfileOutcome, ProfileReport, Verdict, render};
use iam_contract::report::Tripwire;
use std::collections::BTreeMap;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Profiles an in-process emulator and checks that the run left nothing behind: the bootstrap
/// user and its key are all the emulator holds afterwards.
fn profile_emulator(config: emulator::Config, budget: usize, tag: &str) -> ProfileOutcome {
    rt().block_on(async {
        let emu = emulator::start(config).await.expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let config = ProfileConfig {
            target_name: "emulator".into(),
            budget,
            ledger: std::env::temp_dir().join(format!(
                "iam-contract-profile-test-{tag}-{}.jsonl",
                std::process::id()
            )),
            ..ProfileConfig::default()
        };
        let outcome = profile::run_profile(&client, Model::embedded(), &config)
            .await
            .expect("the profile runs");
        assert!(
            outcome.cleanup_left.is_empty(),
            "cleanup left {:?}",
            outcome.cleanup_left
        );
        assert!(
            !config.ledger.exists(),
            "the ledger is removed when all is gone"
        );
        let inv = emu.emulator().inventory();
        assert_eq!(inv.users.len(), 1, "users left: {:?}", inv.users);
        assert_eq!(inv.keys.len(), 1, "keys left: {:?}", inv.keys);
        outcome
    })
}

/// Every limit whose verdict is not `same`: id → (verdict, measured).
fn differences(report: &ProfileReport) -> BTreeMap<String, (Verdict, String)> {
    report
        .limits
        .iter()
        .filter(|l| l.verdict != Verdict::Same)
        .map(|l| {
            (
                l.id.clone(),
                (l.verdict, l.measured.clone().unwrap_or_default()),
            )
        })
        .collect()
}

#[test]
fn the_emulator_enforces_exactly_the_model_within_1000_requests() {
    let out = profile_emulator(emulator::Config::default(), 1000, "conform");
    let r = &out.report;
    assert!(
        differences(r).is_empty(),
        "limits that differ from the model: {:#?}",
        differences(r)
    );
    // Every constrained member of every operation, and the behavioural limits.
    assert_eq!(r.limits.len(), 58);
    assert!(
        r.summary.requests <= 1000,
        "{} requests",
        r.summary.requests
    );
    assert!(r.summary.requests > 500, "{} requests", r.summary.requests);
    assert_eq!(r.summary.same, r.limits.len());
    let l = r
        .limit("input.CreateAccessKey.UserName.length-max")
        .unwrap();
    assert_eq!(
        (l.model.as_str(), l.measured.as_deref()),
        ("128", Some("128"))
    );
    assert_eq!(
        l.note.as_deref(),
        Some("refused at 129: HTTP 400 ValidationError")
    );
    let l = r.limit("behaviour.clock-skew-past").unwrap();
    assert_eq!(l.measured.as_deref(), Some("15"));
    let l = r.limit("input.UpdateAccessKey.Status.enum").unwrap();
    assert_eq!(l.measured.as_deref(), Some("3 of 9: as the model"));
}

/// Nothing the profile prints or writes holds a secret the run saw, and the tripwire that
/// guards the command's output does catch one.
#[test]
fn profile_outputs_hold_no_secret_and_the_tripwire_would_catch_one() {
    let out = profile_emulator(emulator::Config::default(), 1000, "secrets");
    // The signer's secret and every key the run created (two for the quota, one each for
    // POST and GET).
    assert!(out.secrets.len() >= 5, "{} secrets", out.secrets.len());
    let tripwire = Tripwire::new(out.secrets.clone());
    let json = out.report.to_json();
    for (name, text) in [
        ("json", json.clone()),
        ("markdown", render::to_markdown(&out.report)),
        ("console", render::console(&out.report)),
    ] {
        tripwire.check(name, &text).unwrap();
    }
    // A profile that carried a secret (a hostile endpoint echoing one in an error code, say)
    // is caught in every form the tripwire knows.
    let mut leaky = out.report.clone();
    let secret = out.secrets.last().unwrap().expose().to_owned();
    leaky.limits[0].note = Some(format!("HTTP 400 {secret}"));
    assert!(tripwire.check("json", &leaky.to_json()).is_err());
    assert!(
        tripwire
            .check("markdown", &render::to_markdown(&leaky))
            .is_err()
    );
}

#[test]
fn a_budget_too_small_for_anything_sends_nothing() {
    let out = profile_emulator(emulator::Config::default(), 5, "tiny");
    assert_eq!(out.report.summary.requests, 0);
    assert_eq!(out.report.limits.len(), 58);
    assert_eq!(out.report.summary.not_measured, 58);
}

#[test]
fn a_small_budget_is_kept_and_what_does_not_fit_says_why() {
    let out = profile_emulator(emulator::Config::default(), 300, "budget");
    let r = &out.report;
    assert!(r.summary.requests <= 300, "{} requests", r.summary.requests);
    // CreateAccessKey comes first and fits.
    assert_eq!(
        r.limit("input.CreateAccessKey.UserName.characters")
            .unwrap()
            .verdict,
        Verdict::Same
    );
    let later = r
        .limit("input.UpdateAccessKey.AccessKeyId.characters")
        .unwrap();
    assert_eq!(later.verdict, Verdict::NotMeasured);
    assert!(
        later
            .note
            .as_deref()
            .unwrap()
            .contains("request budget of 300"),
        "{later:?}"
    );
    // Nothing that was measured differs from the model.
    assert!(
        r.limits
            .iter()
            .all(|l| matches!(l.verdict, Verdict::Same | Verdict::NotMeasured))
    );
}

/// Profiles the emulator with `fault` (with room for every limit: some faults make probes
/// cost more) and asserts that exactly `expected` differ from the model, with these verdicts
/// and measured values (a value ending in `…` is a prefix).
fn assert_fault_shows(fault: Fault, expected: &[(&str, Verdict, &str)]) {
    let out = profile_emulator(
        emulator::Config::default().with_fault(fault),
        3000,
        fault.name(),
    );
    let got = differences(&out.report);
    let want: BTreeMap<String, (Verdict, String)> = expected
        .iter()
        .map(|(id, v, m)| ((*id).to_owned(), (*v, (*m).to_owned())))
        .collect();
    let same_ids = got.keys().eq(want.keys());
    assert!(
        same_ids,
        "{fault}: differing limits\n got: {:#?}\nwant: {:#?}",
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (id, (verdict, measured)) in &want {
        let (gv, gm) = &got[id];
        assert_eq!(gv, verdict, "{fault}: {id}: {gm}");
        match measured.strip_suffix('…') {
            Some(prefix) => assert!(gm.starts_with(prefix), "{fault}: {id}: {gm}"),
            None => assert_eq!(gm, measured, "{fault}: {id}"),
        }
    }
}

const CAP: &str = "4096 or more (the search's cap)";
const ALL_CHARS: &str = "134 of 134: also U+0000\u{2013}U+001F …";
const NON_ASCII_WORD: &str = "74 of 134: also \u{e9} (U+00E9) \u{25cc}\u{301} (U+0301) \u{212a} (U+212A) \u{4e2d} (U+4E2D) \u{ff10} (U+FF10)";
const USER_NAME_MEMBERS: [&str; 7] = [
    "CreateAccessKey.UserName",
    "CreateUser.UserName",
    "DeleteAccessKey.UserName",
    "DeleteUser.UserName",
    "GetUser.UserName",
    "ListAccessKeys.UserName",
    "UpdateAccessKey.UserName",
];
const KEY_ID_MEMBERS: [&str; 3] = [
    "DeleteAccessKey.AccessKeyId",
    "GetAccessKeyLastUsed.AccessKeyId",
    "UpdateAccessKey.AccessKeyId",
];
const OTHER_STRING_MEMBERS: [&str; 4] = [
    "CreateUser.Path",
    "ListAccessKeys.Marker",
    "ListUsers.PathPrefix",
    "ListUsers.Marker",
];

fn rows(members: &[&str], constraint: &str, v: Verdict, m: &str) -> Vec<(String, Verdict, String)> {
    members
        .iter()
        .map(|x| (format!("input.{x}.{constraint}"), v, m.to_owned()))
        .collect()
}

fn as_refs(v: &[(String, Verdict, String)]) -> Vec<(&str, Verdict, &str)> {
    v.iter()
        .map(|(a, b, c)| (a.as_str(), *b, c.as_str()))
        .collect()
}

#[test]
fn fault_skip_length_checks() {
    let all: Vec<&str> = USER_NAME_MEMBERS
        .iter()
        .chain(&KEY_ID_MEMBERS)
        .chain(&OTHER_STRING_MEMBERS)
        .copied()
        .collect();
    let mut want = rows(&all, "length-max", Verdict::Looser, CAP);
    // A pattern of `+` still refuses the empty value, so only minima above 1 move.
    want.extend(rows(&KEY_ID_MEMBERS, "length-min", Verdict::Looser, "1"));
    assert_fault_shows(Fault::SkipLengthChecks, &as_refs(&want));
}

#[test]
fn fault_skip_pattern_check() {
    let all: Vec<&str> = USER_NAME_MEMBERS
        .iter()
        .chain(&KEY_ID_MEMBERS)
        .chain(&OTHER_STRING_MEMBERS)
        .copied()
        .collect();
    let want = rows(&all, "characters", Verdict::Looser, ALL_CHARS);
    assert_fault_shows(Fault::SkipPatternCheck, &as_refs(&want));
}

#[test]
fn fault_accept_non_ascii_names() {
    let want = rows(
        &USER_NAME_MEMBERS,
        "characters",
        Verdict::Looser,
        NON_ASCII_WORD,
    );
    assert_fault_shows(Fault::AcceptNonAsciiNames, &as_refs(&want));
}

#[test]
fn fault_user_name_max_64() {
    assert_fault_shows(
        Fault::UserNameMax64,
        &[(
            "input.CreateAccessKey.UserName.length-max",
            Verdict::Stricter,
            "64",
        )],
    );
}

#[test]
fn fault_no_key_quota() {
    assert_fault_shows(
        Fault::NoKeyQuota,
        &[
            (
                "behaviour.keys-per-user",
                Verdict::Looser,
                "10 or more (the search's cap)",
            ),
            // With no quota there is nothing for an Inactive key to count against.
            ("behaviour.inactive-keys-count", Verdict::NotMeasured, ""),
        ],
    );
}

#[test]
fn fault_case_sensitive_names() {
    assert_fault_shows(
        Fault::CaseSensitiveNames,
        &[("behaviour.user-names-fold-case", Verdict::Looser, "no")],
    );
}

const SKEW_CAP: &str = "1440 or more (the search's cap)";

#[test]
fn fault_skew_accepted() {
    assert_fault_shows(
        Fault::SkewAccepted,
        &[
            ("behaviour.clock-skew-past", Verdict::Looser, SKEW_CAP),
            ("behaviour.clock-skew-future", Verdict::Looser, SKEW_CAP),
        ],
    );
}

#[test]
fn fault_any_method_mutates() {
    assert_fault_shows(
        Fault::AnyMethodMutates,
        &[(
            "behaviour.methods-that-act",
            Verdict::Looser,
            "5 of 5: also PUT DELETE PATCH",
        )],
    );
}

#[test]
fn fault_get_unsupported() {
    assert_fault_shows(
        Fault::GetUnsupported,
        &[(
            "behaviour.methods-that-act",
            Verdict::Stricter,
            "1 of 5: not GET",
        )],
    );
}

#[test]
fn fault_skip_auth() {
    // Without authentication every wrongly signed request acts, and so does a skewed one.
    assert_fault_shows(
        Fault::SkipAuth,
        &[
            ("behaviour.auth-unsigned", Verdict::Looser, "accepted"),
            ("behaviour.auth-bad-signature", Verdict::Looser, "accepted"),
            ("behaviour.auth-unknown-key", Verdict::Looser, "accepted"),
            ("behaviour.auth-wrong-service", Verdict::Looser, "accepted"),
            ("behaviour.auth-wrong-region", Verdict::Looser, "accepted"),
            ("behaviour.clock-skew-past", Verdict::Looser, SKEW_CAP),
            ("behaviour.clock-skew-future", Verdict::Looser, SKEW_CAP),
        ],
    );
}

#[test]
fn fault_accept_wrong_signature() {
    assert_fault_shows(
        Fault::AcceptWrongSignature,
        &[("behaviour.auth-bad-signature", Verdict::Looser, "accepted")],
    );
}

#[test]
fn fault_wrong_scope_accepted() {
    assert_fault_shows(
        Fault::WrongScopeAccepted,
        &[
            ("behaviour.auth-wrong-service", Verdict::Looser, "accepted"),
            ("behaviour.auth-wrong-region", Verdict::Looser, "accepted"),
        ],
    );
}

/// A service that looks a user up before it validates answers NoSuchEntity for any value of a
/// member probed against a user that does not exist, which is the valid value's answer: those
/// members read as accepting everything (the check's `input.validation-before-existence` rule
/// is what names the ordering). CreateUser's members, probed without a lookup, stay exact.
#[test]
fn fault_validation_after_lookup_shows_on_lookup_members_only() {
    let out = profile_emulator(
        emulator::Config::default().with_fault(Fault::ValidationAfterLookup),
        3000,
        "after-lookup",
    );
    let diff = differences(&out.report);
    assert!(diff.contains_key("input.CreateAccessKey.UserName.length-max"));
    assert!(diff.keys().all(|id| !id.starts_with("input.CreateUser.")
        && !id.starts_with("input.ListUsers.")
        && !id.starts_with("behaviour.")));
}

// ---- the command ---------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bin(args: &[&str], env: &[(&str, &str)]) -> Run {
    let home =
        std::env::temp_dir().join(format!("iam-contract-profile-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .env_clear()
        .env("HOME", &home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const CREDS: &[(&str, &str)] = &[
    (
        "AWS_ACCESS_KEY_ID",
        iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
    ),
    (
        "AWS_SECRET_ACCESS_KEY",
        iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
    ),
];

#[test]
fn the_command_refuses_endpoints_off_loopback() {
    let r = bin(&["profile", "--endpoint", "http://192.0.2.7:4566/"], CREDS);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a loopback address"), "{}", r.stderr);
    let r = bin(
        &["profile", "--endpoint", "https://iam.amazonaws.com/"],
        CREDS,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--allow-live-aws"), "{}", r.stderr);
    let r = bin(&["profile", "--budget", "0"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn an_endpoint_that_does_not_answer_is_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = bin(
        &[
            "profile",
            "--endpoint",
            &format!("http://127.0.0.1:{port}/"),
        ],
        CREDS,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("endpoint unreachable"), "{}", r.stderr);
}

/// `profile --out --json` against the embedded emulator, then `compat --profile`: the files
/// are written, the JSON reads back, and the compatibility matrix gains the "Enforced limits"
/// section without changing what comes before it.
#[test]
fn the_command_writes_markdown_and_json_that_compat_reads() {
    let dir = std::env::temp_dir().join(format!("iam-contract-profile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let md = dir.join("emulator.md");
    let json = dir.join("emulator.json");
    let r = bin(
        &[
            "profile",
            "--fault",
            "no-key-quota",
            "--out",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("looser       keys a user may hold"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("requests (budget 1000)"), "{}", r.stdout);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# Enforced limits: emulator"), "{text}");
    assert!(
        text.contains(
            "| keys a user may hold | recorded | 2 | 10 or more (the search's cap) | **looser** |"
        ),
        "{text}"
    );
    let profile = ProfileReport::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(profile.target.name, "emulator");

    // A check report for the matrix itself.
    let report = dir.join("check.json");
    let r = bin(
        &[
            "check",
            "--quiet",
            "--only",
            "output.",
            "--report",
            &format!("json={}", report.display()),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plain = bin(&["compat", report.to_str().unwrap()], &[]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    let with = bin(
        &[
            "compat",
            report.to_str().unwrap(),
            "--profile",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(with.code, 0, "{}", with.stderr);
    let section = with
        .stdout
        .strip_prefix(plain.stdout.as_str())
        .expect("the matrix is unchanged and the section follows it");
    assert!(section.starts_with("\n## Enforced limits"), "{section}");
    assert!(
        section.contains("| keys a user may hold | 2 | 10 or more (the search's cap) (looser) |"),
        "{section}"
    );
    // A check report is not a profile.
    let wrong = bin(
        &[
            "compat",
            report.to_str().unwrap(),
            "--profile",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("not a profile"), "{}", wrong.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C in the middle of `profile --endpoint` deletes what the run created and exits 130.
#[test]
fn an_interrupted_profile_cleans_up() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = env!("CARGO_BIN_EXE_iam-contract");
    // `slow` (50 ms a response) makes the run last long enough to interrupt it midway.
    let mut serve = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--fault", "slow"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut url = String::new();
    BufReader::new(serve.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("serve prints its URL");
    let url = url.trim().to_owned();
    let ledger = std::env::temp_dir().join(format!(
        "iam-contract-profile-int-{}.jsonl",
        std::process::id()
    ));
    let run = Command::new(exe)
        .args(["profile", "--endpoint", &url, "--quiet", "--ledger"])
        .arg(&ledger)
        .envs(CREDS.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("profile starts");
    // Interrupt once the run's own user is on record (it exists from then until the end).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&ledger).is_ok_and(|t| t.contains("\"op\":\"user\""))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .expect("kill");
    let out = run.wait_with_output().expect("profile ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cleaned up"), "{stderr}");
    assert!(
        !ledger.exists(),
        "the ledger is removed once everything is deleted"
    );
    let users = rt().block_on(async {
        let client =
            Client::new(&url, Some(iam_contract::client::Credentials::example())).expect("client");
        let r = client
            .call(&[
                ("Action".into(), "ListUsers".into()),
                ("Version".into(), "2010-05-08".into()),
            ])
            .await
            .expect("ListUsers");
        String::from_utf8_lossy(&r.body)
            .matches("<UserName>")
            .count()
    });
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(users, 1, "only the bootstrap user is left");
}

// ---- limits no emulator fault loosens --------------------------------------------------------

/// Starts, on a free loopback port, the emulator behind a proxy that rewrites each form body
/// with `rewrite` and, when that changed it, signs the request again with the bootstrap key:
/// a service whose validation differs in a way no emulator fault stands for.
async fn rewriting_emulator(
    rewrite: fn(&mut [(String, String)]) -> bool,
) -> (
    String,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<emulator::Emulator>,
) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use iam_contract::loopback::RequestBody;
    use std::sync::Arc;
    type Shared = (
        Arc<emulator::Emulator>,
        String,
        fn(&mut [(String, String)]) -> bool,
    );
    async fn one(s: Arc<Shared>, req: http::Request<RequestBody>) -> http::Response<Full<Bytes>> {
        let (emu, url, rewrite) = (&s.0, &s.1, s.2);
        let (parts, body) = req.into_parts();
        let mut body = body
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let signed = headers.iter().any(|(k, _)| k == "authorization");
        if let Ok(mut params) = iam_contract::wire::decode_form(&body)
            && parts.method == "POST"
            && signed
            && rewrite(&mut params)
        {
            body = iam_contract::wire::encode_form(&params).into_bytes();
            headers.retain(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "authorization" | "x-amz-date" | "content-length"
                )
            });
            let added = iam_contract::client::sign_headers(
                "POST",
                url,
                &headers,
                &body,
                emu.credentials(),
                &iam_contract::client::Scope::default(),
                std::time::SystemTime::now(),
            )
            .expect("the proxy signs");
            headers.extend(added);
        }
        let resp = emu.handle(&emulator::HttpRequest {
            method: parts.method.as_str().to_owned(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into()),
            headers,
            body,
        });
        let mut b = http::Response::builder().status(resp.status);
        for (k, v) in &resp.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(Bytes::from(resp.body)))
            .expect("a response")
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let emu = Arc::new(emulator::Emulator::new(emulator::Config::default()).unwrap());
    let shared: Arc<Shared> = Arc::new((emu.clone(), url.clone(), rewrite));
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(one(shared, req).await) }
    });
    let task = tokio::spawn(iam_contract::loopback::serve(
        listener,
        service,
        std::time::Duration::from_secs(30),
        std::future::pending(),
    ));
    (url, task, emu)
}

/// Takes `Status` in any letter case and clamps `MaxItems` into the model's range, the way a
/// lenient service would.
fn lenient_status_and_page_size(params: &mut [(String, String)]) -> bool {
    let mut changed = false;
    for (k, v) in params.iter_mut() {
        let new = match k.as_str() {
            "Status" => {
                let lower = v.to_lowercase();
                let mut c = lower.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
            "MaxItems" => v
                .parse::<i64>()
                .map_or(v.clone(), |n| n.clamp(1, 1000).to_string()),
            _ => continue,
        };
        if new != *v {
            *v = new;
            changed = true;
        }
    }
    changed
}

#[test]
fn a_service_lenient_about_status_case_and_page_sizes_shows_exactly_that() {
    let out = rt().block_on(async {
        let (url, task, emu) = rewriting_emulator(lenient_status_and_page_size).await;
        let client = Client::new(&url, Some(emu.credentials().clone())).expect("client");
        let config = ProfileConfig {
            target_name: "lenient".into(),
            budget: 3000,
            ledger: std::env::temp_dir().join(format!(
                "iam-contract-profile-test-lenient-{}.jsonl",
                std::process::id()
            )),
            ..ProfileConfig::default()
        };
        let out = profile::run_profile(&client, Model::embedded(), &config)
            .await
            .expect("the profile runs");
        task.abort();
        assert_eq!(
            emu.inventory().users.len(),
            1,
            "only the bootstrap user is left"
        );
        out
    });
    let floor = "-2147483648 or less (the search's floor)";
    let cap = "2147483647 or more (the search's cap)";
    let want: BTreeMap<String, (Verdict, String)> = [
        (
            "input.UpdateAccessKey.Status.enum",
            "9 of 9: also active ACTIVE inactive INACTIVE expired EXPIRED",
        ),
        ("input.ListAccessKeys.MaxItems.range-min", floor),
        ("input.ListAccessKeys.MaxItems.range-max", cap),
        ("input.ListUsers.MaxItems.range-min", floor),
        ("input.ListUsers.MaxItems.range-max", cap),
    ]
    .into_iter()
    .map(|(id, m)| (id.to_owned(), (Verdict::Looser, m.to_owned())))
    .collect();
    assert_eq!(differences(&out.report), want);
}

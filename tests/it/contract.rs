//! The contract suite against the embedded emulator: it conforms, and every rule fails when the
//! emulator is started with a fault that breaks it.

use iam_contract::client::Client;
use iam_contract::contract::{Caller, CheckConfig, Profile, Report, Status, catalogue, run_check};
use iam_contract::emulator::{self, Fault};
use iam_contract::model::Model;
use std::collections::BTreeMap;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn quick_config(tag: &str) -> CheckConfig {
    CheckConfig {
        target_name: "emulator".into(),
        profile: Profile::Aws,
        cases: 24,
        sequences: 16,
        parallel_creates: 100,
        ledger: std::env::temp_dir().join(format!(
            "iam-contract-test-{tag}-{}.jsonl",
            std::process::id()
        )),
        ..CheckConfig::default()
    }
}

async fn check_emulator(config: emulator::Config, check: &CheckConfig) -> Report {
    // An emulator that issues key IDs shorter than the model allows cannot accept them back
    // in DeleteAccessKey, so cleanup cannot finish there; everywhere else it must.
    let cleanup_possible = !config.faults.contains(Fault::ShortKeyId);
    let emu = emulator::start(config).await.expect("emulator starts");
    let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
    let outcome = run_check(&client, Model::embedded(), check)
        .await
        .expect("check runs");
    if cleanup_possible {
        assert!(
            outcome.cleanup_left.is_empty(),
            "cleanup left {:?}",
            outcome.cleanup_left
        );
    }
    outcome.report
}

fn describe_failures(report: &Report) -> String {
    report
        .rules
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| {
            let f = r.findings.first();
            format!(
                "{} {}: {}{}",
                r.status.as_str(),
                r.id,
                r.skip_reason.clone().unwrap_or_default(),
                f.map(|f| format!(
                    " expected {} / got HTTP {} {:?} / {} {}",
                    f.expected, f.observed.status, f.observed.code, f.case.method, f.case.wire
                ))
                .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a rule is one of the root class, which is judged only when the run signs as the
/// account root.
fn is_root_rule(id: &str) -> bool {
    id.starts_with("root.")
}

#[test]
fn the_emulator_passes_every_rule_of_the_aws_profile() {
    let report = rt().block_on(check_emulator(
        emulator::Config::default(),
        &quick_config("conform"),
    ));
    // Signed by the bootstrap IAM user, the root rules are not judged, and say why.
    assert_eq!(
        report.target.caller,
        Some(Caller::User {
            name: "admin".into()
        })
    );
    for r in report.rules.iter().filter(|r| is_root_rule(&r.id)) {
        assert_eq!(r.status, Status::Skip, "{}", r.id);
        let why = r.skip_reason.as_deref().unwrap_or_default();
        assert!(
            why.contains("IAM user admin") && why.contains("account root"),
            "{why}"
        );
    }
    let mut report = report;
    report.rules.retain(|r| !is_root_rule(&r.id));
    let not_passing = describe_failures(&report);
    assert!(
        not_passing.is_empty(),
        "rules that did not pass:\n{not_passing}"
    );
    assert_eq!(
        report.rules.len(),
        catalogue(Model::embedded())
            .iter()
            .filter(|r| !is_root_rule(&r.id))
            .count()
    );
    assert!(
        report.summary.cases_sent > 200,
        "sent only {}",
        report.summary.cases_sent
    );
}

/// A fresh emulator with only the account root's key, and no IAM user: every rule passes, the
/// root rules included, and cleanup leaves nothing (`check_emulator` asserts that), while the
/// root's own starting key is still there and still signs.
#[test]
fn a_root_only_emulator_passes_every_rule_root_rules_included() {
    let rt = rt();
    let report = rt.block_on(async {
        let emu = emulator::start(emulator::Config::default().as_root())
            .await
            .expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let outcome = run_check(&client, Model::embedded(), &quick_config("root"))
            .await
            .expect("check runs");
        assert!(
            outcome.cleanup_left.is_empty(),
            "cleanup left {:?}",
            outcome.cleanup_left
        );
        let inventory = emu.emulator().inventory();
        assert!(inventory.users.is_empty(), "{:?}", inventory.users);
        let keys: Vec<&str> = inventory.keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(keys, [emu.credentials().access_key_id.as_str()]);
        outcome.report
    });
    assert!(
        matches!(&report.target.caller, Some(Caller::Root { arn: Some(a) }) if a.ends_with(":root")),
        "{:?}",
        report.target.caller
    );
    let not_passing = describe_failures(&report);
    assert!(
        not_passing.is_empty(),
        "rules that did not pass:\n{not_passing}"
    );
    assert_eq!(report.rules.len(), catalogue(Model::embedded()).len());
    for r in report.rules.iter().filter(|r| is_root_rule(&r.id)) {
        assert!(r.cases > 0, "{} judged nothing", r.id);
    }
}

/// Every rule names a fault that breaks it (the faults are typed, so the compiler already
/// checks that each one exists).
#[test]
fn every_rule_names_a_fault() {
    let unbreakable: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .filter(|r| r.breaking_faults.is_empty())
        .map(|r| r.id)
        .collect();
    assert!(
        unbreakable.is_empty(),
        "rules no fault can break: {unbreakable:?}"
    );
}

/// One run per fault; every rule that names the fault must fail in that run.
#[test]
fn every_rule_fails_against_a_fault_that_breaks_it() {
    let mut by_fault: BTreeMap<Fault, Vec<String>> = BTreeMap::new();
    for rule in catalogue(Model::embedded()) {
        for f in &rule.breaking_faults {
            by_fault.entry(*f).or_default().push(rule.id.clone());
        }
    }
    let rt = rt();
    let mut missed = Vec::new();
    for (fault, rules) in &by_fault {
        let fault = fault.name();
        let config = emulator::Config::default()
            .with_fault(fault.parse::<Fault>().expect("a fault"))
            .with_seed(7);
        // The root rules are judged only when the run signs as the root.
        let config = if rules.iter().any(|r| is_root_rule(r)) {
            config.as_root()
        } else {
            config
        };
        let mut check = quick_config(fault);
        check.only = rules.clone();
        let report = rt.block_on(check_emulator(config, &check));
        for id in rules {
            let r = report
                .rules
                .iter()
                .find(|r| &r.id == id)
                .expect("rule in report");
            if r.status != Status::Fail {
                missed.push(format!(
                    "{fault} did not break {id} ({})",
                    r.status.as_str()
                ));
            } else {
                let f = &r.findings[0];
                assert!(
                    f.replay.starts_with("iam-contract replay"),
                    "{id}: replay {:?}",
                    f.replay
                );
                assert!(!f.expected.is_empty());
            }
        }
    }
    assert!(
        missed.is_empty(),
        "faults that did not break their rules:\n{}",
        missed.join("\n")
    );
}

/// A deviation never turns into a skip: against faults that once made the capability probe
/// (or a driver) give up on rules, a whole run fails the rules the fault breaks, skips none,
/// and fails no rule that does not list the fault unless the fault really breaks it too.
#[test]
fn a_deviation_fails_its_rule_and_skips_none() {
    // (fault, rules that must fail, other rules allowed to fail because the fault breaks them too)
    let cases: &[(Fault, &[&str], &[&str])] = &[
        // A CreateUser success in the wrong envelope used to read as "cannot create users" and
        // skipped 30 rules.
        (Fault::WrongSuccessRoot, &["output.envelope"], &[]),
        // Auth refusals answered with 400 used to read as "does not check signatures" and
        // skipped the key-status and implicit-user rules.
        (
            Fault::WrongErrorStatus,
            &["error.envelope", "lifecycle.key-status-governs-auth"],
            &[
                "accept.existing-user-name-range",
                "error.no-such-entity",
                "error.limit-exceeded",
                "lifecycle.quota-counts-inactive",
                "lifecycle.ids-unique-and-never-reused",
                "lifecycle.user-names-fold-case",
                "lifecycle.delete-user-with-keys-conflicts",
                "auth.unsigned-refused",
                "auth.bad-signature-refused",
                "auth.unknown-key-refused",
                "auth.clock-skew-wording",
                "auth.wrong-scope-refused",
                "auth.cross-user-denied",
                "authz.no-policy-denied",
                "authz.self-manage-own-keys",
                "authz.explicit-deny-wins",
                "authz.resource-scoped",
                "authz.not-action",
                "authz.user-policies-lifecycle",
            ],
        ),
        (
            Fault::ListKeepsDeletedKeys,
            &[
                "lifecycle.list-matches-model",
                "lifecycle.ids-unique-and-never-reused",
            ],
            &[],
        ),
        (Fault::SkewRequestExpired, &["auth.clock-skew-wording"], &[]),
        // Throttled deletes break no rule: the run retries them, and cleanup leaves nothing
        // (`check_emulator` asserts that).
        (Fault::ThrottleDeletes, &[], &[]),
    ];
    let rt = rt();
    let mut problems = Vec::new();
    for (fault, must_fail, may_fail) in cases {
        let config = emulator::Config::default().with_fault(*fault).with_seed(7);
        let report = rt.block_on(check_emulator(config, &quick_config(fault.name())));
        for r in &report.rules {
            let want_fail = must_fail.contains(&r.id.as_str());
            if is_root_rule(&r.id) {
                // Not judged: the run signs as an IAM user (tested above).
                continue;
            }
            match r.status {
                Status::Skip => problems.push(format!(
                    "{fault}: {} skipped ({})",
                    r.id,
                    r.skip_reason.clone().unwrap_or_default()
                )),
                Status::Fail if !want_fail && !may_fail.contains(&r.id.as_str()) => {
                    problems.push(format!("{fault}: {} failed too", r.id))
                }
                Status::Pass if want_fail => problems.push(format!("{fault}: {} passed", r.id)),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Reports never hold a secret, even when the endpoint leaks secrets into every listing
/// (`secret-in-list`) and the findings quote those responses.
/// A refusal spelled `AccessDeniedException` (fakecloud's `--iam strict`) is one deviation, so
/// it is one finding, on the error envelope, saying which spelling IAM uses; the authorization
/// rule still sees the refusal it expects.
#[test]
fn a_json_spelled_access_denied_is_judged_on_the_error_envelope_only() {
    let config = emulator::Config::default()
        .with_fault(Fault::AccessDeniedException)
        .with_seed(7);
    let report = rt().block_on(check_emulator(config, &quick_config("ade")));
    let failed: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(failed, ["error.envelope"]);
    let envelope = report
        .rules
        .iter()
        .find(|r| r.id == "error.envelope")
        .unwrap();
    let f = &envelope.findings[0];
    assert_eq!(f.observed.code.as_deref(), Some("AccessDeniedException"));
    assert!(
        f.expected.contains(
            "Code AccessDeniedException is the JSON protocols' spelling; IAM (awsQuery) answers AccessDenied"
        ),
        "{}",
        f.expected
    );
    let cross = report
        .rules
        .iter()
        .find(|r| r.id == "auth.cross-user-denied")
        .unwrap();
    assert_eq!(cross.status, Status::Pass);
}

/// Reports never hold a secret, even when the endpoint leaks secrets into every listing
/// (`secret-in-list`) and the findings quote those responses.
#[test]
fn no_report_format_holds_a_secret_the_run_saw() {
    let rt = rt();
    let outcome = rt.block_on(async {
        let emu = emulator::start(emulator::Config::default().with_fault(Fault::SecretInList))
            .await
            .expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        run_check(&client, Model::embedded(), &quick_config("secrets"))
            .await
            .expect("check runs")
    });
    let leaky = outcome
        .report
        .rules
        .iter()
        .find(|r| r.id == "lifecycle.secret-only-at-creation")
        .expect("rule");
    assert_eq!(leaky.status, Status::Fail, "the fault must be caught");
    // The run saw its own bootstrap secret and every secret it created.
    assert!(
        outcome.secrets.len() > 10,
        "{} secrets",
        outcome.secrets.len()
    );
    let outputs = [
        (
            "console",
            iam_contract::report::console(&outcome.report, false),
        ),
        ("json", iam_contract::report::to_json(&outcome.report)),
        ("junit", iam_contract::report::to_junit(&outcome.report)),
        (
            "markdown",
            iam_contract::report::to_markdown(&outcome.report),
        ),
        ("debug", format!("{:?}", outcome.report)),
    ];
    let tripwire = iam_contract::report::Tripwire::new(outcome.secrets.clone());
    for (name, text) in &outputs {
        assert!(tripwire.check(name, text).is_ok(), "{name} holds a secret");
        for s in &outcome.secrets {
            assert!(!s.appears_in(text), "{name} holds a secret");
        }
    }
    // The evidence is still there, redacted.
    assert!(outputs[0].1.contains("<redacted>"));
}

/// Signed by the root, the same holds for root keys: a create beyond the quota (the
/// `root-no-key-quota` fault) is a finding that quotes a body holding a new root secret, and no
/// format holds that secret or any other the run saw.
#[test]
fn no_report_format_holds_a_root_secret() {
    let rt = rt();
    let outcome = rt.block_on(async {
        let config = emulator::Config::default()
            .as_root()
            .with_fault(Fault::RootNoKeyQuota);
        let emu = emulator::start(config).await.expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let mut check = quick_config("root-secrets");
        check.only = vec!["root.".into()];
        run_check(&client, Model::embedded(), &check)
            .await
            .expect("check runs")
    });
    let quota = outcome
        .report
        .rules
        .iter()
        .find(|r| r.id == "root.key-quota")
        .expect("rule");
    assert_eq!(quota.status, Status::Fail, "the fault must be caught");
    assert!(
        quota.findings[0]
            .observed
            .excerpt
            .contains("SecretAccessKey")
    );
    // The root's own secret, the root key under the quota and the one beyond it.
    assert!(outcome.secrets.len() >= 3, "{}", outcome.secrets.len());
    let tripwire = iam_contract::report::Tripwire::new(outcome.secrets.clone());
    for (name, text) in [
        (
            "console",
            iam_contract::report::console(&outcome.report, false),
        ),
        ("json", iam_contract::report::to_json(&outcome.report)),
        ("junit", iam_contract::report::to_junit(&outcome.report)),
        (
            "markdown",
            iam_contract::report::to_markdown(&outcome.report),
        ),
        ("sarif", iam_contract::report::to_sarif(&outcome.report)),
        ("debug", format!("{:?}", outcome.report)),
    ] {
        assert!(tripwire.check(name, &text).is_ok(), "{name} holds a secret");
        for s in &outcome.secrets {
            assert!(!s.appears_in(&text), "{name} holds a secret");
        }
    }
}

/// After a run, the target holds nothing the run created.
#[test]
fn a_run_leaves_no_litter() {
    let rt = rt();
    rt.block_on(async {
        let emu = emulator::start(emulator::Config::default())
            .await
            .expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        run_check(&client, Model::embedded(), &quick_config("litter"))
            .await
            .expect("check runs");
        let inv = emu.emulator().inventory();
        assert_eq!(inv.users.len(), 1, "users left: {:?}", inv.users);
    });
}

/// Ctrl-C in the middle of `check --endpoint` deletes what the run created and exits 130.
#[test]
fn an_interrupted_check_cleans_up() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_iam-contract");
    // `slow` makes the run long enough to interrupt it midway.
    let mut serve = Command::new(bin)
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
    let ledger =
        std::env::temp_dir().join(format!("iam-contract-int-{}.jsonl", std::process::id()));
    let check = Command::new(bin)
        // Many cases and sequences at 50 ms a response: the run lasts far longer than the
        // 3 s after which it is interrupted.
        .args([
            "check",
            "--endpoint",
            &url,
            "--quiet",
            "--cases",
            "4000",
            "--sequences",
            "400",
            "--ledger",
        ])
        .arg(&ledger)
        .env(
            "AWS_ACCESS_KEY_ID",
            iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("check starts");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = check.id().to_string();
    Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    let out = check.wait_with_output().expect("check ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cleaned up"), "{stderr}");
    assert!(
        !ledger.exists(),
        "the ledger is removed once everything is deleted"
    );
    // Ask the server who is left.
    let rt = rt();
    let users = rt.block_on(async {
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

/// moto (pinned in targets/moto/) shows exactly the deviations its baseline records. Installs
/// moto into its own virtualenv when pip can; otherwise says so and skips.
#[test]
fn moto_deviates_exactly_as_its_baseline_says() {
    use iam_contract::contract::{Baseline, apply_baseline};
    use iam_contract::targets::{self, TargetProfile};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (profile, dir) = TargetProfile::load(root, "moto").expect("moto profile");
    if let Err(e) = targets::install(&profile, root) {
        eprintln!("SKIPPED moto_deviates_exactly_as_its_baseline_says: cannot install moto ({e})");
        return;
    }
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let baseline = Baseline::load(&dir.join("baseline.toml"), &known).expect("baseline");
    let rt = rt();
    let mut report = rt.block_on(async {
        let scratch =
            std::env::temp_dir().join(format!("iam-contract-moto-{}", std::process::id()));
        let service = targets::start(&profile, root, &scratch)
            .await
            .expect("moto starts");
        let client =
            Client::new(&service.url, Some(service.credentials(&profile))).expect("client");
        let mut config = quick_config("moto");
        config.profile = Profile::Model;
        config.cases = CheckConfig::default().cases;
        config.sequences = CheckConfig::default().sequences;
        config.parallel_creates = CheckConfig::default().parallel_creates;
        let outcome = run_check(&client, Model::embedded(), &config)
            .await
            .expect("check runs");
        assert!(
            outcome.cleanup_left.is_empty(),
            "{:?}",
            outcome.cleanup_left
        );
        outcome.report
    });
    apply_baseline(&mut report, &baseline);
    assert!(
        report.conforms(),
        "{}",
        iam_contract::report::console(&report, false)
    );
    assert!(report.summary.expected_failures >= 10);
}

/// `cleanup --ledger` deletes what a crashed run left: the users it names with their inline
/// policies (first: a user with one cannot be deleted) and keys, and keys it recorded for users
/// it did not create (leaving those users alone).
#[test]
fn cleanup_finishes_what_a_crashed_run_left() {
    let rt = rt();
    rt.block_on(async {
        let emu = emulator::start(emulator::Config::default()).await.expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let call = |action: &str, extra: &[(&str, &str)]| {
            let mut p = vec![
                ("Action".to_owned(), action.to_owned()),
                ("Version".to_owned(), "2010-05-08".to_owned()),
            ];
            p.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            let client = client.clone();
            async move { client.call(&p).await.expect("call") }
        };
        call("CreateUser", &[("UserName", "icx00000001-left")]).await;
        call("CreateAccessKey", &[("UserName", "icx00000001-left")]).await;
        let put = call(
            "PutUserPolicy",
            &[
                ("UserName", "icx00000001-left"),
                ("PolicyName", "iam-contract"),
                ("PolicyDocument", iam_contract::contract::rules::authz::SELF_MANAGE_POLICY),
            ],
        )
        .await;
        assert_eq!(put.status, 200);
        call("CreateUser", &[("UserName", "someone-else")]).await;
        let r = call("CreateAccessKey", &[("UserName", "someone-else")]).await;
        let body = String::from_utf8_lossy(&r.body).into_owned();
        let id = body
            .split("<AccessKeyId>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("a key id")
            .to_owned();
        let ledger = std::env::temp_dir().join(format!("iam-contract-crash-{}.jsonl", std::process::id()));
        std::fs::write(
            &ledger,
            format!(
                "{{\"op\":\"run\",\"endpoint\":\"{}\",\"prefix\":\"icx00000001\"}}\n{{\"op\":\"user\",\"name\":\"icx00000001-left\"}}\n{{\"op\":\"policy\",\"user\":\"icx00000001-left\",\"name\":\"iam-contract\"}}\n{{\"op\":\"key\",\"user\":\"someone-else\",\"id\":\"{id}\"}}\n",
                emu.url()
            ),
        )
        .expect("ledger");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
            .args(["cleanup", "--ledger"])
            .arg(&ledger)
            .env("AWS_ACCESS_KEY_ID", iam_contract::client::EXAMPLE_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY)
            .output()
            .await
            .expect("cleanup runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("deleted 1 user(s) and 2 key(s)"), "{stdout}");
        assert!(!ledger.exists());
        let inv = emu.emulator().inventory();
        let names: Vec<&str> = inv.users.iter().map(|u| u.name.as_str()).collect();
        assert!(!names.contains(&"icx00000001-left"), "{names:?}");
        let other = inv.users.iter().find(|u| u.name == "someone-else").expect("left alone");
        assert!(other.key_ids.is_empty(), "its recorded key is deleted");
    });
}

/// The implicit-user rule means the same under a root caller: it signs with a user's own key,
/// and an emulator that gives such a key's implicit create to the root (the
/// `implicit-user-bootstrap` fault in a root-only emulator) fails it, while no root rule fails;
/// cleanup deletes the root keys that went astray.
#[test]
fn under_a_root_caller_the_implicit_user_is_still_the_signing_user() {
    let config = emulator::Config::default()
        .as_root()
        .with_fault(Fault::ImplicitUserBootstrap)
        .with_seed(7);
    let mut check = quick_config("root-implicit");
    check.only = vec!["lifecycle.implicit-user-is-signer".into(), "root.".into()];
    let report = rt().block_on(check_emulator(config, &check));
    let status = |id: &str| {
        report
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.status)
            .expect("rule in report")
    };
    assert_eq!(status("lifecycle.implicit-user-is-signer"), Status::Fail);
    // The root's keys are the root class's business: no root rule fails for the stray key (it
    // runs after the lifecycle, and may find the root at its quota: then it says so).
    for r in report.rules.iter().filter(|r| is_root_rule(&r.id)) {
        assert_ne!(r.status, Status::Fail, "{}", describe_failures(&report));
        if r.status == Status::Skip {
            assert!(r.skip_reason.is_some(), "{}", r.id);
        }
    }
}

/// Root keys a crashed run left are deleted without UserName, signed by the root; the key the
/// cleanup signs with is never deleted, even when a ledger names it.
#[test]
fn cleanup_deletes_the_root_keys_a_run_left_but_never_its_own_key() {
    let rt = rt();
    rt.block_on(async {
        let emu = emulator::start(emulator::Config::default().as_root())
            .await
            .expect("emulator");
        let own = emu.credentials().access_key_id.clone();
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let p = vec![
            ("Action".to_owned(), "CreateAccessKey".to_owned()),
            ("Version".to_owned(), "2010-05-08".to_owned()),
        ];
        let r = client.call(&p).await.expect("call");
        let body = String::from_utf8_lossy(&r.body).into_owned();
        let id = body
            .split("<AccessKeyId>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("a key id")
            .to_owned();
        let ids = |emu: &emulator::RunningEmulator| {
            let mut v: Vec<String> = emu
                .emulator()
                .inventory()
                .keys
                .into_iter()
                .map(|k| k.id)
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&emu).len(), 2);
        let ledger = std::env::temp_dir().join(format!(
            "iam-contract-root-crash-{}.jsonl",
            std::process::id()
        ));
        std::fs::write(
            &ledger,
            format!(
                "{{\"op\":\"run\",\"endpoint\":\"{}\",\"prefix\":\"icx00000002\"}}\n{{\"op\":\"root-key\",\"id\":\"{id}\"}}\n{{\"op\":\"root-key\",\"id\":\"{own}\"}}\n",
                emu.url()
            ),
        )
        .expect("ledger");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
            .args(["cleanup", "--ledger"])
            .arg(&ledger)
            .env("AWS_ACCESS_KEY_ID", iam_contract::client::EXAMPLE_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
            )
            .output()
            .await
            .expect("cleanup runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("1 key(s)"), "{stdout}");
        assert_eq!(ids(&emu), [own], "the run's key stays, the left one goes");
    });
}

/// A finding's replay command reproduces it: the same verdict, and nothing left behind.
#[test]
fn replay_reproduces_a_finding() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args([
            "replay",
            "--fault",
            "echo-wrong-username",
            "--method",
            "POST",
            "--signing",
            "sigv4",
            "--wire",
            "Action=CreateAccessKey&Version=2010-05-08&UserName=icx00000002-Mixed%2BCase",
            "--with-user",
            "icx00000002-Mixed+Case",
        ])
        .output()
        .expect("replay runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The deviation holds on every attempt: `fails`, exit 1.
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("fails: held 0 of 3 time(s)"), "{stdout}");
    assert!(stdout.contains("< HTTP 200"), "{stdout}");
    assert!(
        stdout.contains(
            "! output.user-name-echo: expected AccessKey.UserName \"icx00000002-Mixed+Case\", got \"icx00000002-mixed+case\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("<SecretAccessKey><redacted></SecretAccessKey>"),
        "{stdout}"
    );
    assert!(stderr.contains("cleanup: DeleteAccessKey"), "{stderr}");
    assert!(
        stderr.contains("cleanup: DeleteUser icx00000002-Mixed+Case → HTTP 200"),
        "{stderr}"
    );
}

/// A target profile in a scratch directory whose service is Python's http.server on loopback.
fn scratch_target(tag: &str, setup: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("iam-contract-setup-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = format!(
        "name = \"{tag}\"\ndescription = \"http.server\"\n\
         start = \"exec python3 -m http.server {{port}} --bind 127.0.0.1\"\n\
         setup = {setup:?}\nstartup_timeout_secs = 20\n\
         access_key_id = \"test\"\nsecret_access_key = \"test\"\nauth = \"none\"\n"
    );
    std::fs::write(dir.join("target.toml"), toml).unwrap();
    dir
}

#[test]
fn a_setup_command_issues_the_credentials_the_run_signs_with() {
    use iam_contract::targets::{self, TargetProfile};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch_target(
        "issue",
        "case {url} in http://127.0.0.1:*/) ;; *) exit 9;; esac; \
         echo access_key_id=AKIAIOSFODNN7EXAMPLE; \
         echo secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    );
    let (profile, _) = TargetProfile::load(root, dir.to_str().unwrap()).expect("loads");
    let service = rt()
        .block_on(targets::start(&profile, root, &dir.join("run")))
        .expect("starts, and setup succeeds");
    let creds = service.credentials(&profile);
    assert_eq!(creds.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        creds.secret_access_key.expose(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    );
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_setup_stops_the_service_and_says_why_without_its_stdout() {
    use iam_contract::targets::{self, TargetProfile};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let note = std::env::temp_dir().join(format!("iam-contract-setup-url-{}", std::process::id()));
    let dir = scratch_target(
        "fail",
        &format!(
            "echo secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY; \
             echo {{url}} > {}; echo cannot reach the admin API >&2; exit 3",
            note.display()
        ),
    );
    let (profile, _) = TargetProfile::load(root, dir.to_str().unwrap()).expect("loads");
    let err = rt()
        .block_on(targets::start(&profile, root, &dir.join("run")))
        .expect_err("setup fails");
    let msg = err.to_string();
    assert!(msg.contains("cannot reach the admin API"), "{msg}");
    assert!(!msg.contains("wJalrXUtnFEMI"), "stdout leaked: {msg}");
    // The service it had started no longer answers.
    let url = std::fs::read_to_string(&note).expect("setup ran");
    let _ = std::fs::remove_file(&note);
    let addr = url
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the service on {addr} still answers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a replay command a finding printed, with this build's binary for `iam-contract`.
fn run_replay_command(cmd: &str) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_iam-contract");
    let cmd = cmd.replacen("iam-contract", bin, 1);
    std::process::Command::new("bash")
        .args(["-c", &cmd])
        .output()
        .expect("bash runs")
}

#[test]
fn a_lifecycle_finding_replays_as_its_whole_sequence() {
    let dir = std::env::temp_dir().join(format!("iam-contract-seq-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args([
            "check",
            "--fault",
            "inactive-keys-authenticate",
            "--only",
            "lifecycle.key-status-governs-auth",
            "--quiet",
            "--report",
        ])
        .arg(format!("json={}", json.display()))
        .output()
        .expect("check runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let finding = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "lifecycle.key-status-governs-auth")
        .and_then(|r| r["findings"].get(0))
        .expect("a finding")
        .clone();
    let replay = finding["replay"].as_str().unwrap().to_owned();
    let sequence = finding["case"]["sequence"].as_str().expect("a sequence");
    // Shrunk to what the fault needs (a user, a key, Inactive, a request signed with it), and
    // ending at the step that broke the rule.
    assert_eq!(sequence.split_whitespace().count(), 4, "{sequence}");
    assert!(
        sequence
            .split_whitespace()
            .last()
            .is_some_and(|s| s.starts_with("AuthWith(")),
        "{sequence}"
    );
    assert!(
        replay.contains("--fault inactive-keys-authenticate")
            && replay.contains("--rule lifecycle.key-status-governs-auth")
            && replay.contains(&format!("--sequence '{sequence}'")),
        "{replay}"
    );
    // Against the same fault the sequence breaks the rule again: exit 1, every step printed.
    let again = run_replay_command(&replay);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        stdout.contains("FAIL lifecycle.key-status-governs-auth"),
        "{stdout}"
    );
    assert!(stdout.contains("UpdateAccessKey"), "{stdout}");
    // Without it the same sequence holds: exit 0.
    let fixed = run_replay_command(&replay.replace(" --fault inactive-keys-authenticate", ""));
    let stdout = String::from_utf8_lossy(&fixed.stdout);
    assert_eq!(fixed.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("PASS lifecycle.key-status-governs-auth"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_sequence_or_rule_is_a_usage_error() {
    for args in [
        vec![
            "--rule",
            "lifecycle.quota-counts-inactive",
            "--sequence",
            "CreateUser(0) Nope(1)",
        ],
        vec![
            "--rule",
            "input.user-name.pattern",
            "--sequence",
            "CreateUser(0)",
        ],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
            .arg("replay")
            .args(&args)
            .output()
            .expect("replay runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("unknown step") || stderr.contains("not a lifecycle rule"),
            "{stderr}"
        );
    }
}

/// Cleanup's own deletes, throttled (the `throttle-deletes` fault answers the first delete of
/// every user and key with 400 Throttling and deletes nothing), are retried with back-off: the
/// ledger's users and keys are all deleted and nothing is reported as left.
#[test]
fn throttled_cleanup_finishes_and_warns_about_nothing() {
    use iam_contract::contract::{LedgerEntry, cleanup_ledger};
    rt().block_on(async {
        let emu = emulator::start(emulator::Config::default().with_fault(Fault::ThrottleDeletes))
            .await
            .expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let call = |action: &str, extra: &[(&str, &str)]| {
            let mut p = vec![
                ("Action".to_owned(), action.to_owned()),
                ("Version".to_owned(), "2010-05-08".to_owned()),
            ];
            p.extend(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            let client = client.clone();
            async move { client.call(&p).await.expect("call") }
        };
        let mut entries = Vec::new();
        for u in 0..4 {
            let name = format!("icx0000000a-thr{u}");
            entries.push(LedgerEntry::User { name: name.clone() });
            assert_eq!(call("CreateUser", &[("UserName", &name)]).await.status, 200);
            for _ in 0..2 {
                assert_eq!(
                    call("CreateAccessKey", &[("UserName", &name)]).await.status,
                    200
                );
            }
        }
        let out = cleanup_ledger(&client, Model::embedded(), &entries).await;
        assert!(out.left.is_empty(), "left: {:?}", out.left);
        assert_eq!((out.users_deleted, out.keys_deleted), (4, 8));
        let inv = emu.emulator().inventory();
        assert_eq!(
            inv.users.len(),
            1,
            "only the bootstrap user is left: {:?}",
            inv.users
        );
    });
}

/// A canned IAM endpoint for cleanup: `answer(action, params, nth)` gives the status and body
/// of the `nth` request (from 0) with that action and those parameters. Serves keep-alive
/// connections until the test process ends.
fn fake_endpoint(
    answer: impl Fn(&str, &[(String, String)], usize) -> (u16, String) + Send + Sync + 'static,
) -> String {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let answer = Arc::new(answer);
    let seen: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let (answer, seen) = (answer.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut sock = sock;
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let params = iam_contract::wire::decode_form(&buf[head_end..head_end + len])
                        .unwrap_or_default();
                    buf.drain(..head_end + len);
                    let action = params
                        .iter()
                        .find(|(k, _)| k == "Action")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    let nth = {
                        let mut seen = seen.lock().unwrap();
                        let n = seen.entry(format!("{params:?}")).or_default();
                        *n += 1;
                        *n - 1
                    };
                    let (status, body) = answer(&action, &params, nth);
                    let response = format!(
                        "HTTP/1.1 {status} Canned\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Before cleanup warns that it left something, it looks: a key whose delete failed but that
/// went with its user is not reported; a key and a user that are still there are. Every
/// request is first answered with one of the ways services say "slow down" (400 Throttling,
/// ThrottlingException, RequestLimitExceeded, TooManyRequestsException, SlowDown, 429, 503),
/// and cleanup retries each.
#[test]
fn cleanup_warns_only_about_what_is_still_there() {
    use iam_contract::contract::{LedgerEntry, cleanup_ledger};
    const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
    let error = |status: u16, code: &str| {
        (
            status,
            format!(
                "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>m</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            ),
        )
    };
    let ok = |action: &str, result: &str| {
        (
            200,
            format!(
                "<{action}Response xmlns=\"{NS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
            ),
        )
    };
    let listing = |ids: &[&str]| {
        let members: String = ids
            .iter()
            .map(|id| format!("<member><UserName>u</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status></member>"))
            .collect();
        format!("<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
    };
    let gone_user = std::sync::atomic::AtomicBool::new(false);
    let url = fake_endpoint(move |action, params, nth| {
        let slow_down = [
            error(400, "Throttling"),
            error(400, "ThrottlingException"),
            error(400, "RequestLimitExceeded"),
            error(400, "TooManyRequestsException"),
            (
                503,
                "<Error><Code>SlowDown</Code><Message>m</Message></Error>".to_owned(),
            ),
            (429, String::new()),
            (503, String::new()),
        ];
        let user = params
            .iter()
            .find(|(k, _)| k == "UserName")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if nth == 0 {
            let i = action.len() + user.len();
            return slow_down[i % slow_down.len()].clone();
        }
        use std::sync::atomic::Ordering::SeqCst;
        match (action, user) {
            // gone-with-user: its key cannot be deleted on its own, but DeleteUser takes it along.
            ("ListAccessKeys", "gone-with-user") if gone_user.load(SeqCst) => {
                error(404, "NoSuchEntity")
            }
            ("ListAccessKeys", "gone-with-user") => {
                ok("ListAccessKeys", &listing(&["AKIAGONE000000000001"]))
            }
            ("DeleteAccessKey", _) => error(403, "AccessDenied"),
            ("DeleteUser", "gone-with-user") => {
                gone_user.store(true, SeqCst);
                ok("DeleteUser", "")
            }
            // stuck: nothing of it can be deleted, and it stays.
            ("ListAccessKeys", "stuck") => {
                ok("ListAccessKeys", &listing(&["AKIASTUCK00000000001"]))
            }
            ("DeleteUser", "stuck") => error(409, "DeleteConflict"),
            ("GetUser", "stuck") => ok(
                "GetUser",
                "<User><Path>/</Path><UserName>stuck</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::1:user/stuck</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></User>",
            ),
            _ => error(400, "InvalidAction"),
        }
    });
    let client = Client::new(
        &url,
        Some(iam_contract::client::Credentials::new(
            iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
            iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
        )),
    )
    .expect("client");
    let entries = vec![
        LedgerEntry::User {
            name: "gone-with-user".into(),
        },
        LedgerEntry::User {
            name: "stuck".into(),
        },
    ];
    let out = rt().block_on(cleanup_ledger(&client, Model::embedded(), &entries));
    assert_eq!(out.users_deleted, 1, "{out:?}");
    assert_eq!(
        out.left,
        [
            "key AKIASTUCK00000000001 of stuck: HTTP 403, and it is still there",
            "user stuck: HTTP 409, and it is still there",
        ],
        "{out:?}"
    );
}

/// Each fault that breaks an `authz.` rule breaks exactly the `authz.` rules that list it, and
/// no other rule of the class: the matrix's cells, the unchanged listings and the wording are
/// judged apart, so one evaluator bug is one finding's worth of rules.
#[test]
fn each_authz_fault_breaks_exactly_the_authz_rules_that_list_it() {
    let rules: Vec<_> = catalogue(Model::embedded())
        .into_iter()
        .filter(|r| r.id.starts_with("authz."))
        .collect();
    assert_eq!(rules.len(), 10);
    let mut faults: Vec<Fault> = rules
        .iter()
        .flat_map(|r| r.breaking_faults.iter().copied())
        .collect();
    faults.sort();
    faults.dedup();
    let rt = rt();
    let mut wrong = Vec::new();
    for fault in faults {
        let config = emulator::Config::default().with_fault(fault).with_seed(7);
        let mut check = quick_config(&format!("authz-{}", fault.name()));
        check.only = vec!["authz.".into()];
        let report = rt.block_on(check_emulator(config, &check));
        let failed: Vec<&str> = report
            .rules
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| r.id.as_str())
            .collect();
        let listed: Vec<&str> = rules
            .iter()
            .filter(|r| r.breaking_faults.contains(&fault))
            .map(|r| r.id.as_str())
            .collect();
        if failed != listed {
            wrong.push(format!(
                "{}: failed {failed:?}, listed {listed:?}\n{}",
                fault.name(),
                describe_failures(&report)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Without PutUserPolicy (the `no-user-policies` fault answers it 400 InvalidAction, as a
/// target that does not know it does) the rules that need policies are reported not judged,
/// with the probe's reason, and never passed; the no-policy principal is still judged.
#[test]
fn a_target_without_put_user_policy_skips_the_policy_rules_with_the_reason() {
    let mut check = quick_config("authz-no-policies");
    check.only = vec!["authz.".into()];
    let report = rt().block_on(check_emulator(
        emulator::Config::default().with_fault(Fault::NoUserPolicies),
        &check,
    ));
    for r in &report.rules {
        match r.id.as_str() {
            "authz.no-policy-denied"
            | "authz.denied-changes-nothing"
            | "authz.access-denied-wording" => {
                assert_eq!(r.status, Status::Pass, "{}: {:?}", r.id, r.skip_reason)
            }
            _ => {
                assert_eq!(r.status, Status::Skip, "{}", r.id);
                let why = r.skip_reason.as_deref().unwrap_or_default();
                assert!(
                    why.contains("does not support PutUserPolicy") && why.contains("InvalidAction"),
                    "{}: {why}",
                    r.id
                );
            }
        }
    }
}

//! Snapshot checks of the contract surface (insta, stored in the top-level `snapshots/`): model
//! skeletons and schemas, the rule catalogue, `--help` of every command, the emulator's
//! normalised response to every case of the snapshot case set, and the Markdown conformance
//! report; plus the secret scan over `snapshots/` and `snapshot --compare` against the shipped
//! reference set.
//!
//! Accept changes with `INSTA_UPDATE=always cargo test --test it snapshots` (or
//! `cargo insta review`). With `CI=true` and `INSTA_UPDATE` unset, insta fails on a mismatch
//! and writes nothing.

use iam_contract::client::Client;
use iam_contract::contract::{
    Baseline, CheckConfig, Profile, apply_baseline, catalogue, run_check,
};
use iam_contract::emulator::{self, Config, Fault};
use iam_contract::model::{Model, input_skeleton, json_schema, sample_output};
use iam_contract::snapshot::{self, CASES, RecordConfig, Recording};
use iam_contract::targets::{self, TargetProfile};
use regex::Regex;
use serde_json::json;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `f` with insta pointed at the top-level `snapshots/` directory, names unprefixed.
fn in_snapshots(f: impl FnOnce()) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(f);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn skeletons_and_schemas() {
    let model = Model::embedded();
    in_snapshots(|| {
        for op in model.operations() {
            let name = &op.name;
            insta::assert_snapshot!(
                format!("skeleton-input-{name}"),
                input_skeleton(model, name)
            );
            insta::assert_json_snapshot!(
                format!("sample-output-{name}"),
                sample_output(model, name, &json!({}))
            );
            for shape in op.input.iter().chain(op.output.iter()) {
                insta::assert_json_snapshot!(format!("schema-{shape}"), json_schema(model, shape));
            }
        }
    });
}

#[test]
fn rule_catalogue_listing() {
    in_snapshots(|| {
        insta::assert_snapshot!("rules-text", iam_contract::cli::rules::render(false));
        insta::assert_snapshot!("rules-json", iam_contract::cli::rules::render(true));
    });
}

fn run_bin(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

#[test]
fn help_of_every_command() {
    let top = run_bin(&["--help"]);
    // The subcommands are read from the top-level help, so a new one is covered without
    // editing this test.
    let commands: Vec<String> = top
        .split("Commands:\n")
        .nth(1)
        .expect("the help lists commands")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    in_snapshots(|| {
        insta::assert_snapshot!("help", top);
        for c in &commands {
            insta::assert_snapshot!(format!("help-{c}"), run_bin(&[c, "--help"]));
        }
    });
}

/// Records the case set against an in-process emulator server.
fn record_emulator(config: Config) -> Recording {
    rt().block_on(async {
        let emu = emulator::start(config).await.expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let rec = snapshot::record(
            &client,
            &RecordConfig {
                run_id: Some("0badcafe".into()),
                ..RecordConfig::default()
            },
        )
        .await
        .expect("the case set runs");
        emu.shutdown().await;
        rec
    })
}

#[test]
fn emulator_responses_to_every_case() {
    let rec = record_emulator(Config::default().with_seed(11));
    assert!(rec.cleanup_left.is_empty(), "{:?}", rec.cleanup_left);
    let names: Vec<&str> = rec.cases.iter().map(|c| c.name.as_str()).collect();
    let expected: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    assert_eq!(
        names, expected,
        "every documented case is recorded, in order"
    );
    // Each case is also an exchange record the judges can read, with its status and request.
    assert_eq!(rec.exchanges.len(), rec.cases.len());
    for (ex, c) in rec.exchanges.iter().zip(&rec.cases) {
        let status = ex.response.as_ref().map(|r| r.status).unwrap_or(0);
        assert!(
            c.normalized
                .text
                .starts_with(&format!("status: {status}\n")),
            "{}: {status}",
            c.name
        );
        assert!(
            !ex.case.wire.is_empty() || ex.case.method != "POST",
            "{}",
            c.name
        );
    }
    in_snapshots(|| {
        for c in &rec.cases {
            // The shape-checking redaction: a dynamic value of the wrong shape fails here
            // instead of hiding behind its placeholder.
            assert!(
                c.normalized.violations.is_empty(),
                "{}: {}",
                c.name,
                c.normalized
                    .violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            insta::assert_snapshot!(format!("emulator-{}", c.name), c.file_text("emulator"));
        }
    });
}

#[test]
fn decoded_create_access_key_with_checking_redactions() {
    // The same idea through insta's own redactions: each one asserts the value's shape.
    let rec_text = rt().block_on(async {
        let emu = emulator::start(Config::default().with_seed(5))
            .await
            .expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let resp = client
            .call(&[
                ("Action".into(), "CreateAccessKey".into()),
                ("Version".into(), "2010-05-08".into()),
            ])
            .await
            .expect("answer");
        emu.shutdown().await;
        resp.body
    });
    let d = iam_contract::wire::decode_response(Model::embedded(), "CreateAccessKey", &rec_text);
    let value = d.revealed_value().expect("a success");
    let key_id = Regex::new(r"^AKIA[A-Z2-7]{16}$").unwrap();
    let secret = Regex::new(r"^[A-Za-z0-9+/]{40}$").unwrap();
    let date =
        Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$").unwrap();
    let check = |re: Regex, name: &'static str| {
        move |v: insta::internals::Content, _: insta::internals::ContentPath<'_>| {
            let s = v.as_str().unwrap_or_default().to_owned();
            assert!(
                re.is_match(&s),
                "{name} has the wrong shape ({} characters)",
                s.len()
            );
            format!("[{name}]")
        }
    };
    in_snapshots(|| {
        insta::assert_json_snapshot!("decoded-create-access-key", value, {
            ".AccessKey.AccessKeyId" => insta::dynamic_redaction(check(key_id, "AccessKeyId")),
            ".AccessKey.SecretAccessKey" => insta::dynamic_redaction(check(secret, "secret")),
            ".AccessKey.CreateDate" => insta::dynamic_redaction(check(date, "date")),
        });
    });
}

fn small_check(tag: &str, name: &str) -> CheckConfig {
    CheckConfig {
        target_name: name.into(),
        profile: Profile::Aws,
        cases: 4,
        sequences: 2,
        parallel_creates: 8,
        seed: 7,
        // A fixed prefix: boundary values are built from it, so a random one would make the
        // report differ from run to run.
        run_prefix: Some("icx5a9b0000".into()),
        ledger: std::env::temp_dir().join(format!(
            "iam-contract-snap-{tag}-{}.jsonl",
            std::process::id()
        )),
        ..CheckConfig::default()
    }
}

/// Run-dependent text in a report: the run's name prefix, request IDs, key IDs, dates.
fn stable_report(md: &str) -> String {
    let subs = [
        (r"icx[0-9a-f]{8}", "icx[run]"),
        (r"snap[0-9a-f]{8}", "snap[run]"),
        (
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[uuid]",
        ),
        (r"[A-Z]KIA[A-Z0-9]{16}", "[AccessKeyId]"),
        (r"AIDA[A-Z0-9]{16,17}", "[UserId]"),
        // Other services' identifiers have other shapes; what matters is where they stand.
        (
            r"<RequestId>[^<]*</RequestId>",
            "<RequestId>[request-id]</RequestId>",
        ),
        (r"<UserId>[^<]*</UserId>", "<UserId>[UserId]</UserId>"),
        (
            r"<AccessKeyId>[^<]*</AccessKeyId>",
            "<AccessKeyId>[AccessKeyId]</AccessKeyId>",
        ),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
            "[date]",
        ),
        (r"\b\d{8}T\d{6}Z\b", "[amz-date]"),
    ];
    let mut s = md.to_owned();
    for (re, to) in subs {
        s = Regex::new(re).unwrap().replace_all(&s, to).into_owned();
    }
    s
}

#[test]
fn markdown_report_of_the_emulator() {
    let md = rt().block_on(async {
        let emu = emulator::start(Config::default().with_seed(3))
            .await
            .expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let out = run_check(&client, Model::embedded(), &small_check("md", "emulator"))
            .await
            .expect("check runs");
        emu.shutdown().await;
        iam_contract::report::to_markdown_stable(&out.report)
    });
    in_snapshots(|| insta::assert_snapshot!("report-emulator", stable_report(&md)));
}

#[test]
fn markdown_reports_of_third_party_targets() {
    // `1` snapshots every target with a baseline; a comma-separated list only those (fakecloud's,
    // say, once its binary is built, without starting every other service again).
    let wanted = std::env::var("IAM_CONTRACT_TARGET_SNAPSHOTS").unwrap_or_default();
    if wanted.is_empty() || wanted == "0" {
        eprintln!(
            "skipped: set IAM_CONTRACT_TARGET_SNAPSHOTS=1 (or =NAME,NAME) to snapshot the check reports of third-party targets (starts each service)"
        );
        return;
    }
    let only: Option<Vec<&str>> =
        (wanted != "1").then(|| wanted.split(',').map(str::trim).collect());
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("targets"))
        .expect("targets/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("baseline.toml").is_file() && p.join("target.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| !o.contains(&name.as_str())) {
            continue;
        }
        let (profile, _) = TargetProfile::load(&root(), &name).expect("profile loads");
        let baseline = Baseline::load(&dir.join("baseline.toml"), &known).expect("baseline loads");
        let md = rt().block_on(async {
            targets::install(&profile, &root()).expect("target installs");
            let scratch = std::env::temp_dir().join(format!(
                "iam-contract-snaptest-{name}-{}",
                std::process::id()
            ));
            let service = targets::start(&profile, &root(), &scratch)
                .await
                .expect("target starts");
            let client =
                Client::new(&service.url, Some(service.credentials(&profile))).expect("client");
            let mut check = small_check(&name, &name);
            check.request_budget = profile.case_budget;
            let mut out = run_check(&client, Model::embedded(), &check)
                .await
                .expect("check runs");
            drop(service);
            apply_baseline(&mut out.report, &baseline);
            iam_contract::report::to_markdown_stable(&out.report)
        });
        in_snapshots(|| insta::assert_snapshot!(format!("report-{name}"), stable_report(&md)));
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What looks like a live secret: a 40-character secret next to SecretAccessKey (other than
/// AWS's documented example) or a SigV4 Authorization header with a real signature.
fn live_secrets(text: &str) -> Vec<String> {
    let secret =
        Regex::new(r"SecretAccessKey[^A-Za-z0-9+/\n]{0,16}([A-Za-z0-9+/]{40})(?:[^A-Za-z0-9+/]|$)")
            .unwrap();
    let auth = Regex::new(r"AWS4-HMAC-SHA256[^\n]*Signature=[0-9a-f]{64}").unwrap();
    let mut found = Vec::new();
    for c in secret.captures_iter(text) {
        if &c[1] != iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY {
            found.push("a 40-character secret next to SecretAccessKey".to_owned());
        }
    }
    if auth.is_match(text) {
        found.push("an Authorization header with a signature".to_owned());
    }
    found
}

#[test]
fn secret_scanner_catches_what_it_should() {
    assert!(
        live_secrets(&format!(
            "<SecretAccessKey>{}</SecretAccessKey>",
            iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY
        ))
        .is_empty()
    );
    assert!(live_secrets("<SecretAccessKey>[secret]</SecretAccessKey>").is_empty());
    assert_eq!(
        live_secrets(&format!(
            "\"SecretAccessKey\": \"{}\"",
            "Zm9vYmFyYmF6cXV4".repeat(3).get(..40).unwrap_or_default()
        ))
        .len(),
        1
    );
    let sig = "0123456789abcdef".repeat(4);
    assert_eq!(
        live_secrets(&format!(
            "Authorization: AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature={sig}"
        ))
        .len(),
        1
    );
}

#[test]
fn no_snapshot_holds_a_live_secret() {
    let mut files = Vec::new();
    files_under(&root().join("snapshots"), &mut files);
    assert!(!files.is_empty(), "snapshots/ is empty");
    let mut bad = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
        for what in live_secrets(&text) {
            bad.push(format!("{}: {what}", f.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "snapshots hold live secrets:\n{}",
        bad.join("\n")
    );
}

/// Cases where the emulator is known to deviate from AWS's published facts (none today; the
/// ARN of a user with a path used to leave the path out).
const KNOWN_EMULATOR_DEVIATIONS: &[&str] = &[];

#[test]
fn emulator_matches_the_shipped_reference() {
    let reference = snapshot::load_dir(&root().join("snapshots/reference")).expect("reference");
    for name in reference.keys() {
        assert!(
            CASES.iter().any(|c| c.name == name),
            "reference file {name}.txt names no case"
        );
        assert!(
            reference[name].contains("\n# source: reference from AWS's published facts: "),
            "{name}.txt does not say where it comes from"
        );
    }
    let rec = record_emulator(Config::default());
    let c = snapshot::compare(&reference, &rec.files("emulator"));
    let differing: Vec<&str> = c.different.iter().map(|(n, _)| n.as_str()).collect();
    assert!(c.missing.is_empty(), "{}", c.render());
    assert_eq!(differing, KNOWN_EMULATOR_DEVIATIONS, "{}", c.render());
}

#[test]
fn faulted_emulator_differs_from_the_reference() {
    let reference = snapshot::load_dir(&root().join("snapshots/reference")).expect("reference");
    let rec = record_emulator(Config::default().with_fault(Fault::WrongNamespace));
    let c = snapshot::compare(&reference, &rec.files("emulator"));
    assert!(!c.is_equal());
    let (_, d) = c
        .different
        .iter()
        .find(|(n, _)| n == "create-access-key.ok")
        .expect("the wrong namespace shows in create-access-key.ok");
    assert!(
        d.contains(
            "-<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        ) && d.contains(
            "+<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-09/\">"
        ),
        "{d}"
    );
    assert!(c.render().contains("different: "));
}

#[test]
fn snapshot_command_compares_and_exits() {
    let bin = env!("CARGO_BIN_EXE_iam-contract");
    let out_dir = std::env::temp_dir().join(format!("iam-contract-snapcli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .current_dir(root())
            .output()
            .expect("runs")
    };
    // Record the emulator, then compare the emulator with that recording: equal, exit 0.
    let o = run(&["snapshot", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = run(&["snapshot", "--compare", out_dir.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // A fault changes the answers: exit 1 with a diff.
    let o = run(&[
        "snapshot",
        "--fault",
        "lowercase-status",
        "--compare",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("-      <Status>Active</Status>\n+      <Status>active</Status>"),
        "{stdout}"
    );
    // Usage errors exit 2; an endpoint nobody listens on exits 3.
    assert_eq!(run(&["snapshot"]).status.code(), Some(2));
    assert_eq!(
        run(&["snapshot", "--compare", "/nonexistent-dir"])
            .status
            .code(),
        Some(2)
    );
    let port = iam_contract::targets::free_port().unwrap();
    let o = std::process::Command::new(bin)
        .args([
            "snapshot",
            "--endpoint",
            &format!("http://127.0.0.1:{port}/"),
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .env(
            "AWS_ACCESS_KEY_ID",
            iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn a_wrong_shape_is_reported_not_hidden() {
    let rec = record_emulator(Config::default().with_fault(Fault::ShortSecret));
    let c = rec.get("create-access-key.ok").expect("recorded");
    assert_eq!(
        c.normalized.violations.len(),
        1,
        "{:?}",
        c.normalized.violations
    );
    assert_eq!(c.normalized.violations[0].element, "SecretAccessKey");
    assert!(
        c.normalized
            .text
            .contains("<SecretAccessKey>[secret: wrong shape, 20 characters of "),
        "{}",
        c.normalized.text
    );
}

/// An `iam-contract serve` process on a free loopback port, killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(faults: &[&str]) -> Served {
    use std::io::{BufRead, BufReader};
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    for f in faults {
        args.extend(["--fault", f]);
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args(&args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("serve prints its URL");
    Served {
        child,
        url: url.trim().to_owned(),
    }
}

/// `iam-contract` with the example credentials (the bootstrap user of `serve`).
fn bin_as_admin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_iam-contract"));
    c.env(
        "AWS_ACCESS_KEY_ID",
        iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
    )
    .env(
        "AWS_SECRET_ACCESS_KEY",
        iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
    );
    c
}

/// Sends one IAM call to `url` as the bootstrap user; returns the status and body.
fn iam_call(url: &str, action: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let mut params = vec![
        ("Action".to_owned(), action.to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
    ];
    params.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    rt().block_on(async {
        let client =
            Client::new(url, Some(iam_contract::client::Credentials::example())).expect("client");
        let r = client.call(&params).await.expect("the emulator answers");
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    })
}

/// The values of every `<NAME>` element of a body.
fn elements(body: &str, name: &str) -> Vec<String> {
    Regex::new(&format!("<{name}>([^<]*)</{name}>"))
        .unwrap()
        .captures_iter(body)
        .map(|c| c[1].to_owned())
        .collect()
}

/// The users whose names a snapshot run makes (`snap` + 8 hex digits + a suffix).
fn snapshot_users(url: &str) -> Vec<String> {
    let (status, body) = iam_call(url, "ListUsers", &[]);
    assert_eq!(status, 200, "{body}");
    let run = Regex::new(r"^snap[0-9a-f]{8}").unwrap();
    elements(&body, "UserName")
        .into_iter()
        .filter(|u| run.is_match(u))
        .collect()
}

fn read_ledger(path: &Path) -> Vec<iam_contract::contract::LedgerEntry> {
    iam_contract::contract::Ledger::read(path).expect("the ledger parses")
}

/// A complete `snapshot --endpoint` run deletes everything it created, and its ledger with it.
#[test]
fn a_snapshot_run_leaves_nothing_behind() {
    let served = serve(&[]);
    let scratch =
        std::env::temp_dir().join(format!("iam-contract-snapclean-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let ledger = scratch.join("ledger.jsonl");
    let out = bin_as_admin()
        .args(["snapshot", "--endpoint", &served.url, "--out"])
        .arg(scratch.join("out"))
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .expect("snapshot runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        !ledger.exists(),
        "the ledger is removed once everything is deleted"
    );
    assert!(!stderr.contains("ledger"), "{stderr}");
    assert_eq!(snapshot_users(&served.url), Vec::<String>::new());
    let (_, body) = iam_call(&served.url, "ListUsers", &[]);
    assert_eq!(
        elements(&body, "UserName").len(),
        1,
        "only the bootstrap user is left: {body}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A snapshot process killed with SIGKILL midway cannot clean up; its ledger names what it
/// created, and `cleanup --ledger` deletes all of it.
#[test]
fn cleanup_finishes_what_a_killed_snapshot_left() {
    use iam_contract::contract::LedgerEntry;
    // `slow` (50 ms a response) stretches the ~45 requests of a run to over 2 s, so that it
    // is still running when the ledger first names a key.
    let served = serve(&["slow"]);
    let scratch =
        std::env::temp_dir().join(format!("iam-contract-snapkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let ledger = scratch.join("ledger.jsonl");
    let mut child = bin_as_admin()
        .args(["snapshot", "--endpoint", &served.url, "--out"])
        .arg(scratch.join("out"))
        .arg("--ledger")
        .arg(&ledger)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("snapshot starts");
    // Wait (bounded) until a key is on record: a user and its key then exist on the target.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut has_key = false;
    while !has_key && std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("snapshot ended ({status}) before the test could kill it");
        }
        has_key = iam_contract::contract::Ledger::read(&ledger)
            .unwrap_or_default()
            .iter()
            .any(|e| matches!(e, LedgerEntry::Key { .. }));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("killed");
    assert!(has_key, "the ledger never named a key within 30 s");
    assert_eq!(
        status.code(),
        None,
        "killed by a signal, not exited: {status}"
    );

    let entries = read_ledger(&ledger);
    assert!(
        matches!(entries.first(), Some(LedgerEntry::Run { endpoint, .. }) if *endpoint == served.url),
        "{entries:?}"
    );
    let recorded: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::User { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert!(!recorded.is_empty(), "the ledger names a user: {entries:?}");
    let left = snapshot_users(&served.url);
    assert!(!left.is_empty(), "the killed run left users behind");
    for u in &left {
        assert!(recorded.contains(u), "{u} is not in the ledger {entries:?}");
    }
    let (_, keys) = iam_call(&served.url, "ListAccessKeys", &[("UserName", &left[0])]);
    assert!(
        !elements(&keys, "AccessKeyId").is_empty(),
        "the killed run left a key: {keys}"
    );

    // `cleanup` finds the endpoint in the ledger.
    let out = bin_as_admin()
        .args(["cleanup", "--ledger"])
        .arg(&ledger)
        .output()
        .expect("cleanup runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ledger.exists(), "cleanup removes the ledger it finished");
    assert_eq!(snapshot_users(&served.url), Vec::<String>::new());
    for u in &recorded {
        let (status, body) = iam_call(&served.url, "ListAccessKeys", &[("UserName", u)]);
        assert!(
            status == 404 && elements(&body, "AccessKeyId").is_empty(),
            "{u}: {status} {body}"
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// When cleanup cannot delete everything (keys whose IDs DeleteAccessKey refuses), the ledger
/// is kept and names the run's users.
#[test]
fn the_ledger_is_kept_when_cleanup_is_incomplete() {
    let ledger = std::env::temp_dir().join(format!(
        "iam-contract-snapkept-{}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&ledger);
    let rec = rt().block_on(async {
        let emu = emulator::start(Config::default().with_fault(Fault::ShortKeyId))
            .await
            .expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let rec = snapshot::record(
            &client,
            &RecordConfig {
                run_id: Some("0badf00d".into()),
                ledger: Some(ledger.clone()),
            },
        )
        .await
        .expect("the case set runs");
        emu.shutdown().await;
        rec
    });
    assert!(
        !rec.cleanup_left.is_empty(),
        "short key IDs cannot be deleted"
    );
    let entries = read_ledger(&ledger);
    assert!(
        entries.contains(&iam_contract::contract::LedgerEntry::User {
            name: "snap0badf00da".into()
        }),
        "{entries:?}"
    );
    let _ = std::fs::remove_file(&ledger);
}

/// Ctrl-C in the middle of `snapshot --endpoint` deletes, from the ledger, what the run created
/// (its own end-of-run deletions never ran), removes the ledger and exits 130.
#[test]
fn an_interrupted_snapshot_cleans_up_from_its_ledger() {
    use iam_contract::contract::LedgerEntry;
    let served = serve(&["slow"]);
    let scratch = std::env::temp_dir().join(format!("iam-contract-snapint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let ledger = scratch.join("ledger.jsonl");
    let child = bin_as_admin()
        .args(["snapshot", "--endpoint", &served.url, "--out"])
        .arg(scratch.join("out"))
        .arg("--ledger")
        .arg(&ledger)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("snapshot starts");
    // Interrupt once the second user is on record: both users and keys of the first exist.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut users = 0;
    while users < 2 && std::time::Instant::now() < deadline {
        users = iam_contract::contract::Ledger::read(&ledger)
            .unwrap_or_default()
            .iter()
            .filter(|e| matches!(e, LedgerEntry::User { .. }))
            .count();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(users >= 2, "the ledger never named two users within 30 s");
    // Let the CreateUser on record reach the endpoint (a response takes 50 ms).
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert!(
        !snapshot_users(&served.url).is_empty(),
        "the run has users to delete"
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    let out = child.wait_with_output().expect("snapshot ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(!ledger.exists(), "{stderr}");
    assert_eq!(snapshot_users(&served.url), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&scratch);
}

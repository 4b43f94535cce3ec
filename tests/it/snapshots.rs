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
    if std::env::var("IAM_CONTRACT_TARGET_SNAPSHOTS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set IAM_CONTRACT_TARGET_SNAPSHOTS=1 to snapshot the check reports of third-party targets (starts each service)"
        );
        return;
    }
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
            let client = Client::new(&service.url, Some(profile.credentials())).expect("client");
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

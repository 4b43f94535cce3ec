//! `proxy` and `verify`: real clients (the AWS CLI, boto3) driven through the proxy to the
//! emulator and to moto, the HAR they leave, and what the proxy survives. Tests that need the
//! clients' virtualenv (`targets/clients/install.sh`) or moto install them when pip can, and
//! otherwise say SKIPPED and return.

use iam_contract::contract::{Profile, Report, Status};
use iam_contract::emulator::{self, Fault};
use iam_contract::model::Model;
use iam_contract::observe::har::{self, Har};
use iam_contract::observe::proxy::{self, ProxyConfig};
use iam_contract::observe::{Observer, ObserverConfig};
use iam_contract::report::Tripwire;
use iam_contract::secret::Secret;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("iam-contract-proxy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The clients' virtualenv (AWS CLI and boto3), installed when pip can.
fn clients() -> Option<PathBuf> {
    let out = Command::new("bash")
        .arg(root().join("targets/clients/install.sh"))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "cannot install the clients: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let dir = iam_contract::targets::venv_dir().join("clients/bin");
    dir.join("python").exists().then_some(dir)
}

fn failing(report: &Report) -> Vec<String> {
    report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.clone())
        .collect()
}

/// Runs `script` against an in-process emulator (with `faults`) through an in-process proxy;
/// returns the report, the HAR text and every secret the proxy saw.
fn through_proxy_to_emulator(
    faults: &[Fault],
    script: impl FnOnce(&str) + Send + 'static,
) -> (Report, String, Vec<Secret>) {
    rt().block_on(async move {
        let mut config = emulator::Config::default();
        for f in faults {
            config.faults.insert(*f);
        }
        let emu = emulator::start(config).await.expect("emulator starts");
        let upstream = emu.url().to_owned();
        let observer = Observer::new(
            Model::embedded(),
            ObserverConfig {
                endpoint: upstream.clone(),
                target_name: "proxy".into(),
                profile: Profile::Model,
            },
        );
        let har = Arc::new(Mutex::new(Har::new()));
        let h = har.clone();
        let up = upstream.clone();
        let running = proxy::start(
            ProxyConfig::new(upstream.clone()),
            observer,
            Box::new(move |raw, j, _| {
                h.lock()
                    .unwrap()
                    .log
                    .entries
                    .push(har::entry(&up, raw, &j.exchange))
            }),
        )
        .await
        .expect("proxy starts");
        let url = running.url().to_owned();
        tokio::task::spawn_blocking(move || script(&url))
            .await
            .unwrap();
        let observer = running.shutdown().await;
        emu.shutdown().await;
        let o = observer.lock().unwrap();
        let text = har.lock().unwrap().to_json();
        (o.report(), text, o.secrets().to_vec())
    })
}

fn client_env(cmd: &mut Command, url: &str) {
    cmd.env("AWS_ENDPOINT_URL_IAM", url)
        .env("AWS_ENDPOINT_URL", url)
        .env(
            "AWS_ACCESS_KEY_ID",
            iam_contract::client::EXAMPLE_ACCESS_KEY_ID,
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("the client runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

/// The AWS CLI and boto3, through the proxy to the emulator: zero findings, the stateful rules
/// judged, and no secret or signature in the recording (the tripwire over the HAR).
#[test]
fn the_aws_cli_and_boto3_through_the_proxy_to_the_emulator_give_no_findings() {
    let Some(bin) = clients() else {
        eprintln!(
            "SKIPPED the_aws_cli_and_boto3_through_the_proxy_to_the_emulator_give_no_findings: no clients virtualenv"
        );
        return;
    };
    let b = bin.clone();
    let (report, har_text, secrets) = through_proxy_to_emulator(&[], move |url| {
        let mut cli = Command::new("bash");
        cli.arg(root().join("tests/data/proxy_awscli.sh"))
            .env("AWS_CLI", b.join("aws"));
        client_env(&mut cli, url);
        run_ok(cli);
        let mut py = Command::new(b.join("python"));
        py.arg(root().join("tests/data/proxy_session.py"))
            .arg("conforming");
        client_env(&mut py, url);
        let out = run_ok(py);
        assert!(out.contains("create_access_key: LimitExceeded"), "{out}");
    });
    assert!(
        failing(&report).is_empty(),
        "{}",
        iam_contract::report::console(&report, false)
    );
    let status = |id: &str| report.rules.iter().find(|r| r.id == id).unwrap().status;
    for rule in [
        "lifecycle.quota-counts-inactive",
        "lifecycle.list-matches-model",
        "lifecycle.delete-user-with-keys-conflicts",
        "error.no-such-entity",
        "output.schema",
    ] {
        assert_eq!(status(rule), Status::Pass, "{rule} judged");
    }
    assert!(secrets.len() >= 3, "the proxy learnt every secret issued");
    let har = Har::parse(&har_text).unwrap();
    assert_eq!(har.log.entries.len(), report.summary.cases_sent);
    let mut tw_secrets = secrets.clone();
    tw_secrets.push(Secret::new(iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY));
    Tripwire::new(tw_secrets)
        .check("har", &har_text)
        .expect("no secret in the recording");
    let sig = regex::Regex::new("Signature=[0-9a-f]{64}").unwrap();
    assert!(!sig.is_match(&har_text), "a signature reached the HAR");
}

/// The emulator broken on purpose (`delete-user-with-keys`), seen through the proxy: the
/// live path reports the rule the fault breaks.
#[test]
fn a_broken_emulator_seen_through_the_proxy_gives_the_finding() {
    let (report, _, _) = through_proxy_to_emulator(&[Fault::DeleteUserWithKeys], |url| {
        let c = iam_contract::client::Client::new(
            url,
            Some(iam_contract::client::Credentials::example()),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let p = |a: &str, u: &str| {
                vec![
                    ("Action".to_owned(), a.to_owned()),
                    ("Version".to_owned(), "2010-05-08".to_owned()),
                    ("UserName".to_owned(), u.to_owned()),
                ]
            };
            for a in ["CreateUser", "CreateAccessKey", "DeleteUser"] {
                c.call(&p(a, "victim")).await.unwrap();
            }
        });
    });
    assert_eq!(
        failing(&report),
        vec!["lifecycle.delete-user-with-keys-conflicts"]
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iam-contract"))
}

#[test]
fn the_proxy_listens_and_forwards_on_loopback_only() {
    // Each is a usage error (exit 2) naming the problem, before anything listens or runs.
    let refused = |args: &[&str], says: &str| {
        let out = bin().arg("proxy").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    };
    refused(
        &["--upstream", "http://127.0.0.1:9/", "--listen", "0.0.0.0:0"],
        "0.0.0.0:0 is not a loopback address",
    );
    refused(
        &["--upstream", "http://192.0.2.1:4566/", "--", "true"],
        "not a loopback host",
    );
    // Plain HTTP only: the forwarding client speaks no TLS, so an https upstream is refused
    // up front rather than failing on every request.
    refused(
        &["--upstream", "https://127.0.0.1:4566/", "--", "true"],
        "expected an http:// URL",
    );
}

#[test]
fn verify_refuses_a_file_that_is_not_har_and_names_the_problem() {
    let dir = scratch("nothar");
    let f = dir.join("x.har");
    std::fs::write(&f, r#"{"log": {"version": "1.2", "entries": []}}"#).unwrap();
    let out = bin().arg("verify").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a HAR") && err.contains("creator"),
        "{err}"
    );
}

/// Resets, garbage, oversized and trickling answers: the client gets a 502 or 504 in bounded
/// time, and the proxy goes on serving.
#[test]
fn the_proxy_survives_whatever_the_upstream_sends() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    rt().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                n += 1;
                let kind = n % 4;
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    match kind {
                        1 => drop(s), // reset before any answer
                        2 => {
                            let _ = s.write_all(b"garbage\r\n\r\n").await;
                        }
                        3 => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n")
                                .await;
                        }
                        _ => {
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n<")
                                .await;
                            for _ in 0..100 {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                if s.write_all(b"x").await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        let observer = Observer::new(
            Model::embedded(),
            ObserverConfig {
                endpoint: upstream.clone(),
                target_name: "proxy".into(),
                profile: Profile::Model,
            },
        );
        let running = proxy::start(
            ProxyConfig {
                timeout: Duration::from_secs(2),
                ..ProxyConfig::new(upstream)
            },
            observer,
            Box::new(|_, _, _| {}),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let started = std::time::Instant::now();
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = client
                .post(running.url())
                .header("content-type", "application/x-www-form-urlencoded")
                .body("Action=ListUsers&Version=2010-05-08")
                .send()
                .await
                .expect("the proxy answers");
            statuses.push(r.status().as_u16());
        }
        statuses.sort();
        assert_eq!(statuses, vec![502, 502, 502, 504]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        let observer = running.shutdown().await;
        assert_eq!(observer.lock().unwrap().judged(), 4);
    });
}

/// Through the proxy to moto: a 129-character name and a DeleteUser with keys give findings on
/// the rules `check` reports for moto (its baseline lists them), `verify` on the recording gives
/// the same findings, and the recording holds no secret.
#[test]
fn moto_through_the_proxy_and_verify_of_its_recording_agree() {
    use iam_contract::contract::{Baseline, catalogue};
    use iam_contract::targets::{self, TargetProfile};
    let Some(clients) = clients() else {
        eprintln!(
            "SKIPPED moto_through_the_proxy_and_verify_of_its_recording_agree: no clients virtualenv"
        );
        return;
    };
    let (profile, dir) = TargetProfile::load(root(), "moto").expect("moto profile");
    if let Err(e) = targets::install(&profile, root()) {
        eprintln!(
            "SKIPPED moto_through_the_proxy_and_verify_of_its_recording_agree: cannot install moto ({e})"
        );
        return;
    }
    let known: Vec<String> = catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let check_baseline = Baseline::load(&dir.join("baseline.toml"), &known).unwrap();
    let work = scratch("moto");
    let (har_path, live_json, verify_json, secrets_out) = (
        work.join("session.har"),
        work.join("live.json"),
        work.join("verify.json"),
        work.join("secrets"),
    );
    let service = rt().block_on(targets::start(&profile, root(), &work.join("moto")));
    let mut service = service.expect("moto starts");
    let mut cmd = bin();
    cmd.args(["proxy", "--quiet", "--upstream", &service.url])
        .arg("--record")
        .arg(&har_path)
        .arg("--report")
        .arg(format!("json={}", live_json.display()))
        .arg("--")
        .arg(clients.join("python"))
        .arg(root().join("tests/data/proxy_session.py"))
        .arg("deviations")
        .env("IAM_CONTRACT_SECRETS_OUT", &secrets_out);
    client_env(&mut cmd, "unused");
    cmd.env_remove("AWS_ENDPOINT_URL_IAM")
        .env_remove("AWS_ENDPOINT_URL");
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    let out = cmd.output().unwrap();
    service.stop();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    let read =
        |p: &Path| iam_contract::report::from_json(&std::fs::read_to_string(p).unwrap()).unwrap();
    let live = read(&live_json);
    let live_failing = failing(&live);
    for rule in [
        "input.user-name.length-max",
        "lifecycle.delete-user-with-keys-conflicts",
    ] {
        assert!(
            live_failing.contains(&rule.to_owned()),
            "{rule}: {live_failing:?}"
        );
    }
    for rule in &live_failing {
        assert!(
            check_baseline.expected.iter().any(|e| &e.rule == rule),
            "{rule} fails through the proxy but check's baseline for moto does not list it"
        );
    }
    let out = bin()
        .args(["verify", "--quiet"])
        .arg(&har_path)
        .arg("--report")
        .arg(format!("json={}", verify_json.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let offline = read(&verify_json);
    let findings = |r: &Report| {
        r.rules
            .iter()
            .flat_map(|x| {
                x.findings.iter().map(move |f| {
                    (
                        x.id.clone(),
                        f.case.wire.clone(),
                        f.observed.clone(),
                        f.expected.clone(),
                    )
                })
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(findings(&live), findings(&offline));
    let secrets: Vec<Secret> = std::fs::read_to_string(&secrets_out)
        .unwrap_or_default()
        .lines()
        .map(Secret::new)
        .collect();
    assert!(!secrets.is_empty(), "the session created keys");
    Tripwire::new(secrets)
        .check_file(&har_path)
        .expect("no secret in the HAR");
    let _ = std::fs::remove_dir_all(&work);
}

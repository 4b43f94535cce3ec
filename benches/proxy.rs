//! What the proxy costs: requests per second of signed CreateAccessKey/DeleteAccessKey pairs
//! sent directly to the in-process emulator, and the same driver through an in-process
//! `iam-contract proxy` (forwarding and judging every exchange) in front of the same emulator,
//! in alternating rounds of the same run. Prints both rates and their ratio.
//!
//! The proxy runs as `iam-contract proxy` does, on its own thread and runtime
//! ([`proxy::runtime`]), as it would in a process of its own: sharing the emulator's runtime
//! would let a proxied request skip a thread wake-up that a real deployment pays.
//! `--multi-thread` runs it on a two-worker runtime instead, for comparison.
//!
//! Two drivers:
//! - `rust` (the default): the harness's own client, C tasks in this process. It is as cheap a
//!   client as there is, so on a 2-core machine the driver, the proxy and the emulator share the
//!   CPU and the ratio shows what the proxy's forwarding and judging cost in CPU: the worst case.
//! - `boto3`: C Python processes running `benches/data/boto3_driver.py`, the client a user's own
//!   test suite has (needs `targets/clients/install.sh`). The ratio shows what putting the proxy
//!   in front of such a suite costs.
//!
//! Not a timed test: run it by hand. Loopback only.
//!
//! ```text
//! cargo bench --bench proxy -- [--driver rust|boto3] [--seconds N] [--concurrency C] [--rounds R]
//!     [--multi-thread]
//! ```

use iam_contract::client::{Client, Credentials};
use iam_contract::contract::Profile;
use iam_contract::emulator::{self, Config};
use iam_contract::model::Model;
use iam_contract::observe::proxy::{self, ProxyConfig};
use iam_contract::observe::{Observer, ObserverConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The allocator the `iam-contract` binary runs with, so the proxy here costs what it costs there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, PartialEq)]
enum Driver {
    Rust,
    Boto3,
}

struct Opts {
    driver: Driver,
    seconds: u64,
    concurrency: usize,
    rounds: usize,
    multi: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        driver: Driver::Rust,
        seconds: 5,
        concurrency: 8,
        rounds: 3,
        multi: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--bench" => {}
            "--multi-thread" => o.multi = true,
            "--seconds" => o.seconds = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--concurrency" => o.concurrency = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--rounds" => o.rounds = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--driver" => {
                o.driver = match val(&a)?.as_str() {
                    "rust" => Driver::Rust,
                    "boto3" => Driver::Boto3,
                    other => return Err(format!("--driver {other:?}: expected rust or boto3")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.seconds = o.seconds.clamp(1, 600);
    o.concurrency = o.concurrency.clamp(1, 256);
    o.rounds = o.rounds.clamp(1, 20);
    Ok(o)
}

fn params(action: &str, members: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p = vec![
        ("Action".to_owned(), action.to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
    ];
    p.extend(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    p
}

/// Drives `url` for `seconds` with `concurrency` users, each creating and deleting a key in a
/// loop; returns requests per second.
async fn drive(url: &str, tag: &str, seconds: u64, concurrency: usize) -> f64 {
    let client = Client::new(url, Some(Credentials::example())).expect("client");
    let sent = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let client = client.clone();
        let sent = sent.clone();
        let user = format!("bench-{tag}-{i}");
        tasks.push(tokio::spawn(async move {
            let _ = client
                .call(&params("CreateUser", &[("UserName", &user)]))
                .await;
            while Instant::now() < deadline {
                let r = client
                    .call(&params("CreateAccessKey", &[("UserName", &user)]))
                    .await
                    .expect("create");
                let body = String::from_utf8_lossy(&r.body);
                let id = body
                    .split("<AccessKeyId>")
                    .nth(1)
                    .and_then(|s| s.split('<').next())
                    .unwrap_or_default()
                    .to_owned();
                assert_eq!(r.status, 200, "{body}");
                client
                    .call(&params(
                        "DeleteAccessKey",
                        &[("UserName", &user), ("AccessKeyId", &id)],
                    ))
                    .await
                    .expect("delete");
                sent.fetch_add(2, Ordering::Relaxed);
            }
            let _ = client
                .call(&params("DeleteUser", &[("UserName", &user)]))
                .await;
        }));
    }
    for t in tasks {
        t.await.expect("driver task");
    }
    sent.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The clients virtualenv's Python (`targets/clients/install.sh` makes it).
fn boto3_python() -> Result<std::path::PathBuf, String> {
    let python = iam_contract::targets::venv_dir().join("clients/bin/python");
    if python.exists() {
        Ok(python)
    } else {
        Err(format!(
            "{} is missing: run `bash targets/clients/install.sh` first",
            python.display()
        ))
    }
}

/// Drives `url` with `concurrency` boto3 processes for `seconds` each; returns requests per
/// second over the looping time (Python's start-up and the user's creation excluded).
async fn drive_boto3(
    python: &std::path::Path,
    url: &str,
    tag: &str,
    seconds: u64,
    concurrency: usize,
) -> f64 {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/boto3_driver.py");
    let mut children = Vec::new();
    for i in 0..concurrency {
        let child = tokio::process::Command::new(python)
            .arg(script)
            .arg(url)
            .arg(seconds.to_string())
            .arg(format!("{tag}-{i}"))
            .env("AWS_ACCESS_KEY_ID", &Credentials::example().access_key_id)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                Credentials::example().secret_access_key.expose(),
            )
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the boto3 driver");
        children.push(child);
    }
    let mut sent = 0u64;
    for c in children {
        let out = c.wait_with_output().await.expect("boto3 driver");
        assert!(out.status.success(), "the boto3 driver failed");
        sent += String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .expect("the boto3 driver prints its count");
    }
    sent as f64 / seconds as f64
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let emu = emulator::start(Config::default()).await.expect("emulator");
        let observer = Observer::new(
            Model::embedded(),
            ObserverConfig {
                endpoint: emu.url().to_owned(),
                target_name: "proxy".into(),
                profile: Profile::Model,
            },
        );
        // The proxy runs on a runtime and OS thread of its own, as it does in its own
        // `iam-contract proxy` process.
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let upstream = emu.url().to_owned();
        let multi = opts.multi;
        let proxy_thread = std::thread::Builder::new().name("proxy".into()).spawn(move || {
            let rt = if !multi {
                proxy::runtime()
            } else {
                tokio::runtime::Builder::new_multi_thread().thread_name("proxy-worker").enable_all().build()
            }
            .expect("proxy runtime");
            rt.block_on(async move {
                let running = proxy::start(
                    ProxyConfig::new(upstream),
                    observer,
                    Box::new(|_, _, _| {}),
                )
                .await
                .expect("proxy");
                url_tx.send(running.url().to_owned()).unwrap();
                let _ = stop_rx.await;
                let observer = running.shutdown().await;
                let o = observer.lock().unwrap();
                (o.judged(), o.report())
            })
        }).expect("proxy thread");
        let proxy_url = url_rx.recv().expect("proxy started");
        let (mut direct, mut proxied) = (Vec::new(), Vec::new());
        let python = match opts.driver {
            Driver::Boto3 => match boto3_python() {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            },
            Driver::Rust => None,
        };
        for round in 0..opts.rounds {
            let (dt, pt) = (format!("d{round}"), format!("p{round}"));
            let (d, p) = match &python {
                None => (
                    drive(emu.url(), &dt, opts.seconds, opts.concurrency).await,
                    drive(&proxy_url, &pt, opts.seconds, opts.concurrency).await,
                ),
                Some(py) => (
                    drive_boto3(py, emu.url(), &dt, opts.seconds, opts.concurrency).await,
                    drive_boto3(py, &proxy_url, &pt, opts.seconds, opts.concurrency).await,
                ),
            };
            println!("round {round}: direct {d:.0} req/s, through the proxy {p:.0} req/s");
            direct.push(d);
            proxied.push(p);
        }
        let _ = stop_tx.send(());
        let (judged, report) = proxy_thread.join().expect("proxy thread");
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let (d, p) = (median(&mut direct), median(&mut proxied));
        println!(
            "{} driver, median of {} rounds, {} s each, concurrency {}: direct {d:.0} req/s, proxy {p:.0} req/s, \
             ratio {:.3} (the proxy costs {:.1}%); {} exchanges judged, {} rules failing",
            if opts.driver == Driver::Rust { "rust" } else { "boto3" },
            opts.rounds,
            opts.seconds,
            opts.concurrency,
            p / d,
            (1.0 - p / d) * 100.0,
            judged,
            report.rules.iter().filter(|r| r.status.is_failure()).count()
        );
        emu.shutdown().await;
    });
}

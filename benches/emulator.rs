//! Load benchmarks of the emulator over loopback keep-alive. Not timed tests: run them by hand.
//! Loopback only, bounded by time (and the default mode by request count).
//!
//! The default mode drives signed CreateAccessKey/DeleteAccessKey pairs (each signed afresh)
//! with a reqwest driver and prints throughput and latency percentiles. By default it starts
//! the embedded emulator in-process; with `--endpoint URL` it drives another server (for
//! example moto) with the same driver, so the two figures are comparable.
//!
//! ```text
//! cargo bench --bench emulator -- [--seconds N] [--concurrency C] [--max-requests N]
//!     [--endpoint http://127.0.0.1:PORT/ --access-key-id ID --secret-access-key SECRET]
//! ```
//! Credentials for `--endpoint` default to `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else
//! AWS's documented example pair.
//!
//! `--floor` measures the emulator against the loopback floor (see `emulator/floor.rs`): one
//! pre-signed GetUser replayed by wrk against a bare server on the same server loop, the
//! emulator and moto, in `--rounds` alternating rounds of `--seconds` each, with the ratios.
//! `--emulator-bin PATH` runs another build's `iam-contract serve` as the emulator instead of
//! the in-process one; `--against-bin PATH` adds another build's `serve` as `before` to the
//! same rounds (before/after ratios from one run); `--no-moto` leaves moto out;
//! `--serve-floor` only serves the floor.
//!
//! ```text
//! cargo bench --bench emulator -- --floor [--seconds 10] [--rounds 3] [--emulator-bin PATH]
//!     [--against-bin OLD] [--no-moto]
//! cargo bench --bench emulator -- --serve-floor
//! ```
//!
//! `--handle N` calls [`Emulator::handle`] N times with one pre-signed GetUser, without a
//! socket, and prints the time per call: the handler's own share of a request, for profiling.

#[path = "emulator/floor.rs"]
mod floor;

use iam_contract::client::{Credentials, Scope, sign_headers};
use iam_contract::emulator::{self, Config};
use iam_contract::wire::encode_form;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The allocator the `iam-contract` binary runs with, so the in-process emulator and the floor
/// here run as the binary would.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Opts {
    seconds: u64,
    concurrency: usize,
    max_requests: u64,
    endpoint: Option<String>,
    key_id: Option<String>,
    secret: Option<String>,
    floor: bool,
    serve_floor: bool,
    handle: Option<u64>,
    rounds: usize,
    emulator_bin: Option<std::path::PathBuf>,
    against_bin: Option<std::path::PathBuf>,
    moto: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        seconds: 10,
        concurrency: 16,
        max_requests: 5_000_000,
        endpoint: None,
        key_id: std::env::var("AWS_ACCESS_KEY_ID").ok(),
        secret: std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
        floor: false,
        serve_floor: false,
        handle: None,
        rounds: 3,
        emulator_bin: None,
        against_bin: None,
        moto: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--seconds" => o.seconds = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--concurrency" => o.concurrency = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--max-requests" => o.max_requests = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--endpoint" => o.endpoint = Some(val(&a)?),
            "--access-key-id" => o.key_id = Some(val(&a)?),
            "--secret-access-key" => o.secret = Some(val(&a)?),
            "--floor" => o.floor = true,
            "--handle" => o.handle = Some(val(&a)?.parse().map_err(|e| format!("{e}"))?),
            "--serve-floor" => o.serve_floor = true,
            "--rounds" => o.rounds = val(&a)?.parse().map_err(|e| format!("{e}"))?,
            "--emulator-bin" => o.emulator_bin = Some(val(&a)?.into()),
            "--against-bin" => o.against_bin = Some(val(&a)?.into()),
            "--no-moto" => o.moto = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.seconds = o.seconds.clamp(1, 600);
    o.concurrency = o.concurrency.clamp(1, 512);
    o.rounds = o.rounds.clamp(1, 20);
    Ok(o)
}

struct Driver {
    http: reqwest::Client,
    url: String,
    host: String,
    creds: Credentials,
}

impl Driver {
    /// One signed awsQuery POST; returns the status and body.
    async fn call(&self, params: &[(&str, &str)]) -> Result<(u16, String), String> {
        let body = encode_form(params).into_bytes();
        let mut headers = vec![
            ("host".to_owned(), self.host.clone()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let signed = sign_headers(
            "POST",
            &self.url,
            &headers,
            &body,
            &self.creds,
            &Scope::default(),
            SystemTime::now(),
        )
        .map_err(|e| e.to_string())?;
        headers.extend(signed);
        let mut req = self.http.post(&self.url);
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k, v);
            }
        }
        let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    }
}

/// `--handle N`: the handler alone, on one pre-signed GetUser.
fn handle_only(n: u64) {
    let emu = emulator::Emulator::new(Config::default()).expect("an emulator");
    let url = "http://127.0.0.1:8080/";
    let body = b"Action=GetUser&Version=2010-05-08".to_vec();
    let mut headers = vec![
        ("host".to_owned(), "127.0.0.1:8080".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
    ];
    let signed = sign_headers(
        "POST",
        url,
        &headers,
        &body,
        emu.credentials(),
        &Scope::default(),
        SystemTime::now(),
    )
    .expect("signs");
    headers.extend(signed);
    let req = emulator::HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers,
        body,
    };
    let first = emu.handle(&req);
    assert_eq!(first.status, 200, "{}", first.text());
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes += emu.handle(&req).body.len();
    }
    let per = started.elapsed().as_secs_f64() / n.max(1) as f64;
    println!(
        "Emulator::handle, pre-signed GetUser: {:.2} us per call ({n} calls, {bytes} bytes answered)",
        per * 1e6
    );
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Some(n) = opts.handle {
        handle_only(n);
        return;
    }
    if opts.floor || opts.serve_floor {
        floor::run(floor::FloorOpts {
            seconds: opts.seconds,
            rounds: opts.rounds,
            emulator_bin: opts.emulator_bin,
            against_bin: opts.against_bin,
            moto: opts.moto,
            serve_only: opts.serve_floor,
        })
        .await;
        return;
    }
    let (running, url, creds, target) = match &opts.endpoint {
        None => {
            let r = emulator::start(Config::default())
                .await
                .expect("the emulator starts");
            let url = r.url().to_owned();
            let creds = r.credentials().clone();
            (Some(r), url, creds, "embedded emulator".to_owned())
        }
        Some(u) => {
            let parsed = url::Url::parse(u).expect("--endpoint is a URL");
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                Some(url::Host::Domain(d)) => d == "localhost",
                None => false,
            };
            if !loopback {
                eprintln!("error: --endpoint must be a loopback address");
                std::process::exit(2);
            }
            let creds = Credentials::new(
                opts.key_id
                    .clone()
                    .unwrap_or_else(|| iam_contract::client::EXAMPLE_ACCESS_KEY_ID.into()),
                opts.secret
                    .clone()
                    .unwrap_or_else(|| iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY.into()),
            );
            (None, u.clone(), creds, u.clone())
        }
    };
    let parsed = url::Url::parse(&url).expect("a URL");
    let host = match parsed.port() {
        Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
        None => parsed.host_str().unwrap_or_default().to_owned(),
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(opts.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client");
    let driver = Arc::new(Driver {
        http,
        url,
        host,
        creds,
    });
    // One user per task, so that the 2-key quota never interferes with the measurement.
    let run_id = std::process::id();
    for i in 0..opts.concurrency {
        let name = format!("bench-{run_id}-{i}");
        match driver
            .call(&[
                ("Action", "CreateUser"),
                ("Version", "2010-05-08"),
                ("UserName", &name),
            ])
            .await
        {
            Ok((200, _)) => {}
            Ok((s, body)) => {
                eprintln!("error: CreateUser answered {s}: {body}");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(opts.max_requests / 2));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..opts.concurrency {
        let d = driver.clone();
        let budget = budget.clone();
        let name = format!("bench-{run_id}-{i}");
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            while Instant::now() < deadline
                && budget
                    .fetch_update(
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                        |b| b.checked_sub(1),
                    )
                    .is_ok()
            {
                let t = Instant::now();
                let created = d
                    .call(&[
                        ("Action", "CreateAccessKey"),
                        ("Version", "2010-05-08"),
                        ("UserName", &name),
                    ])
                    .await;
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                let id = match created {
                    Ok((200, body)) => {
                        between(&body, "<AccessKeyId>", "</AccessKeyId>").map(str::to_owned)
                    }
                    _ => None,
                };
                let Some(id) = id else {
                    errors += 1;
                    if errors > 100 {
                        break;
                    }
                    continue;
                };
                let t = Instant::now();
                let deleted = d
                    .call(&[
                        ("Action", "DeleteAccessKey"),
                        ("Version", "2010-05-08"),
                        ("UserName", &name),
                        ("AccessKeyId", &id),
                    ])
                    .await;
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !matches!(deleted, Ok((200, _))) {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("a bench task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!("target:       {target}");
    println!("concurrency:  {}", opts.concurrency);
    println!(
        "requests:     {} in {elapsed:.2} s ({errors} errors)",
        all.len()
    );
    println!("throughput:   {:.0} requests/s", all.len() as f64 / elapsed);
    println!(
        "latency:      p50 {:.3} ms, p99 {:.3} ms",
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0
    );
    for i in 0..opts.concurrency {
        let name = format!("bench-{run_id}-{i}");
        let _ = driver
            .call(&[
                ("Action", "DeleteUser"),
                ("Version", "2010-05-08"),
                ("UserName", &name),
            ])
            .await;
    }
    if let Some(r) = running {
        r.shutdown().await;
    }
}

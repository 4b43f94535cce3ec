//! What the proxy costs: requests per second of signed CreateAccessKey/DeleteAccessKey pairs
//! sent directly to the in-process emulator, and the same driver through an in-process
//! `iam-contract proxy` (forwarding and judging every exchange) in front of the same emulator.
//! Prints both rates and their ratio, per round and pooled over the rounds.
//!
//! Both are measured in the same moments: each client has one connection to each endpoint and
//! takes them in turn, `--block` create-and-delete pairs on each, timing every block; a rate is
//! the requests answered over the time spent waiting for them. Measured one after the other,
//! one boto3 client's own rate swung by a quarter between rounds, more than the proxy costs.
//! `--relay` adds a third endpoint: a bare byte relay on a thread of its own, what any proxy's
//! two extra loopback hops cost.
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
//!     [--block PAIRS] [--relay] [--multi-thread]
//! ```

use iam_contract::client::{Client, Credentials};
use iam_contract::contract::Profile;
use iam_contract::emulator::{self, Config};
use iam_contract::model::Model;
use iam_contract::observe::proxy::{self, ProxyConfig};
use iam_contract::observe::{Observer, ObserverConfig};
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
    block: usize,
    multi: bool,
    relay: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        driver: Driver::Rust,
        seconds: 5,
        concurrency: 8,
        rounds: 3,
        block: 10,
        multi: false,
        relay: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--bench" => {}
            "--multi-thread" => o.multi = true,
            "--relay" => o.relay = true,
            "--block" => o.block = val(&a)?.parse().map_err(|e| format!("{e}"))?,
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
    o.block = o.block.clamp(1, 10_000);
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

/// Requests answered by one endpoint and the time the drivers spent waiting on them.
#[derive(Clone, Copy, Default)]
struct Tally {
    requests: u64,
    nanos: u128,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.requests += other.requests;
        self.nanos += other.nanos;
    }

    /// Requests per second of one driver, times the drivers: the rate `concurrency` clients
    /// get from this endpoint.
    fn rate(&self, concurrency: usize) -> f64 {
        if self.nanos == 0 {
            return 0.0;
        }
        self.requests as f64 / (self.nanos as f64 / 1e9) * concurrency as f64
    }
}

/// Adds `more` to `totals`, endpoint by endpoint.
fn add_each(totals: &mut [Tally], more: impl IntoIterator<Item = Tally>) {
    for (sum, one) in totals.iter_mut().zip(more) {
        sum.add(one);
    }
}

/// Drives every one of `urls` for `seconds` with `concurrency` users per URL, each creating and
/// deleting a key in a loop, in blocks of `block` pairs taken from the URLs in turn; returns
/// each URL's tally.
async fn drive(
    urls: &[String],
    tag: &str,
    seconds: u64,
    concurrency: usize,
    block: usize,
) -> Vec<Tally> {
    let clients: Vec<Client> = urls
        .iter()
        .map(|u| Client::new(u, Some(Credentials::example())).expect("client"))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let clients = clients.clone();
        let user = format!("bench-{tag}-{i}");
        tasks.push(tokio::spawn(async move {
            for c in &clients {
                let _ = c.call(&params("CreateUser", &[("UserName", &user)])).await;
            }
            let mut tallies = vec![Tally::default(); clients.len()];
            while Instant::now() < deadline {
                for (c, t) in clients.iter().zip(&mut tallies) {
                    let started = Instant::now();
                    for _ in 0..block {
                        create_and_delete(c, &user).await;
                    }
                    t.add(Tally {
                        requests: 2 * block as u64,
                        nanos: started.elapsed().as_nanos(),
                    });
                }
            }
            for c in &clients {
                let _ = c.call(&params("DeleteUser", &[("UserName", &user)])).await;
            }
            tallies
        }));
    }
    let mut total = vec![Tally::default(); urls.len()];
    for t in tasks {
        add_each(&mut total, t.await.expect("driver task"));
    }
    total
}

async fn create_and_delete(client: &Client, user: &str) {
    let r = client
        .call(&params("CreateAccessKey", &[("UserName", user)]))
        .await
        .expect("create");
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 200, "{body}");
    let id = body
        .split("<AccessKeyId>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default()
        .to_owned();
    let r = client
        .call(&params(
            "DeleteAccessKey",
            &[("UserName", user), ("AccessKeyId", &id)],
        ))
        .await
        .expect("delete");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
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

/// Drives `urls` with `concurrency` boto3 processes for `seconds`, in blocks as [`drive`] does;
/// returns each URL's tally (Python's start-up and the users' creation excluded).
async fn drive_boto3(
    python: &std::path::Path,
    urls: &[String],
    tag: &str,
    seconds: u64,
    concurrency: usize,
    block: usize,
) -> Vec<Tally> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/boto3_driver.py");
    let mut children = Vec::new();
    for i in 0..concurrency {
        let child = tokio::process::Command::new(python)
            .arg(script)
            .arg(seconds.to_string())
            .arg(format!("{tag}-{i}"))
            .arg(block.to_string())
            .args(urls)
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
    let mut total = vec![Tally::default(); urls.len()];
    for c in children {
        let out = c.wait_with_output().await.expect("boto3 driver");
        assert!(out.status.success(), "the boto3 driver failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            urls.len(),
            "the boto3 driver prints one line per URL: {text}"
        );
        add_each(
            &mut total,
            lines.into_iter().map(|line| {
                let mut f = line
                    .split_whitespace()
                    .map(|v| v.parse::<u128>().expect("a count"));
                Tally {
                    requests: f.next().expect("requests") as u64,
                    nanos: f.next().expect("nanoseconds"),
                }
            }),
        );
    }
    total
}

/// A bare byte relay in front of `upstream` on a thread and single-threaded runtime of its own,
/// as the proxy runs: what any proxy's two extra loopback hops cost, without parsing, forwarding
/// logic or judging. Returns its URL.
fn start_relay(upstream: std::net::SocketAddr) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("relay".into())
        .spawn(move || {
            let rt = proxy::runtime().expect("relay runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr")).unwrap();
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(async move {
                        let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                }
            })
        })
        .expect("relay thread");
    format!("http://{}/", rx.recv().expect("relay started"))
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
        let proxy_thread = std::thread::Builder::new()
            .name("proxy".into())
            .spawn(move || {
                let rt = if !multi {
                    proxy::runtime()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .thread_name("proxy-worker")
                        .enable_all()
                        .build()
                }
                .expect("proxy runtime");
                rt.block_on(async move {
                    let running =
                        proxy::start(ProxyConfig::new(upstream), observer, Box::new(|_, _, _| {}))
                            .await
                            .expect("proxy");
                    url_tx.send(running.url().to_owned()).unwrap();
                    let _ = stop_rx.await;
                    let observer = running.shutdown().await;
                    let o = observer.lock().unwrap();
                    (o.judged(), o.report())
                })
            })
            .expect("proxy thread");
        let proxy_url = url_rx.recv().expect("proxy started");
        let mut names = vec!["direct", "proxy"];
        let mut urls = vec![emu.url().to_owned(), proxy_url];
        if opts.relay {
            let addr = emu
                .url()
                .trim_start_matches("http://")
                .trim_end_matches('/');
            urls.push(start_relay(addr.parse().expect("the emulator's address")));
            names.push("relay");
        }
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
        // rates[r][u]: round r's rate from URL u.
        let mut rates: Vec<Vec<f64>> = Vec::new();
        let mut pooled = vec![Tally::default(); urls.len()];
        for round in 0..opts.rounds {
            let tag = format!("r{round}");
            let tallies = match &python {
                None => drive(&urls, &tag, opts.seconds, opts.concurrency, opts.block).await,
                Some(py) => {
                    drive_boto3(py, &urls, &tag, opts.seconds, opts.concurrency, opts.block).await
                }
            };
            let r: Vec<f64> = tallies.iter().map(|t| t.rate(opts.concurrency)).collect();
            let line: Vec<String> = names
                .iter()
                .zip(&r)
                .map(|(n, v)| format!("{n} {v:.0} req/s"))
                .collect();
            println!(
                "round {round}: {} (proxy/direct {:.3})",
                line.join(", "),
                r[1] / r[0]
            );
            add_each(&mut pooled, tallies.iter().copied());
            rates.push(r);
        }
        let _ = stop_tx.send(());
        let (judged, report) = proxy_thread.join().expect("proxy thread");
        let median = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        let ratio_median = |u: usize| median(rates.iter().map(|r| r[u] / r[0]).collect());
        let pooled_ratio = |u: usize| pooled[u].rate(1) / pooled[0].rate(1);
        println!(
            "{} driver, {} rounds of {} s, concurrency {}, blocks of {} pairs: direct {:.0} req/s, \
             proxy {:.0} req/s (pooled); proxy/direct: median of rounds {:.3}, pooled {:.3} \
             (the proxy costs {:.1}%); {} exchanges judged, {} rules failing",
            if opts.driver == Driver::Rust {
                "rust"
            } else {
                "boto3"
            },
            opts.rounds,
            opts.seconds,
            opts.concurrency,
            opts.block,
            pooled[0].rate(opts.concurrency),
            pooled[1].rate(opts.concurrency),
            ratio_median(1),
            pooled_ratio(1),
            (1.0 - pooled_ratio(1)) * 100.0,
            judged,
            report
                .rules
                .iter()
                .filter(|r| r.status.is_failure())
                .count()
        );
        if opts.relay {
            println!(
                "a bare byte relay in the proxy's place: relay/direct median of rounds {:.3}, \
                 pooled {:.3} (costs {:.1}%)",
                ratio_median(2),
                pooled_ratio(2),
                (1.0 - pooled_ratio(2)) * 100.0
            );
        }
        emu.shutdown().await;
    });
}

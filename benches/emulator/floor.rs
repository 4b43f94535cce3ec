//! `--floor` mode of the emulator bench: requests/s of one pre-signed GetUser replayed by wrk
//! (`-t2 -c16`, keep-alive) against the loopback floor (a bare hyper server on the emulator's own
//! server loop, [`iam_contract::loopback::serve`], answering a fixed body after reading the
//! request), the emulator and, when its virtualenv is installed, moto, in alternating rounds of
//! one run, so the ratios compare like with like on a shared, noisy machine.
//!
//! wrk (Debian's package; `tools/wrk.sh` installs it) is the driver because it is what the
//! issue's figures were measured with and it costs the server under test as little CPU as a
//! driver can. The request is signed just before each measurement (SigV4 allows 15 minutes of
//! skew) and handed to `benches/wrk/replay.lua` in the environment, so no signature is written
//! to a file or shown on a command line.

use iam_contract::client::{Credentials, Scope, sign_headers};
use iam_contract::emulator::{self, Config};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the floor answers: the size and type of the emulator's GetUser answer.
const FLOOR_BODY: &str = r#"<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Path>/</Path><UserName>admin</UserName><UserId>AIDAFLOORFLOORFLOOR00</UserId><Arn>arn:aws:iam::123456789012:user/admin</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></GetUserResponse>"#;

const GET_USER: &str = "Action=GetUser&Version=2010-05-08";

pub struct FloorOpts {
    pub seconds: u64,
    pub rounds: usize,
    /// Run the emulator as `BIN serve` (another build, to compare) instead of in-process.
    pub emulator_bin: Option<PathBuf>,
    /// Also run this build's `serve` (an older one, say) as `before`, in the same rounds.
    pub against_bin: Option<PathBuf>,
    pub moto: bool,
    /// Only serve the floor and print its URL, until Ctrl-C.
    pub serve_only: bool,
}

/// A server under test: its URL and the credentials to sign with.
struct Endpoint {
    name: &'static str,
    url: String,
    creds: Credentials,
}

/// One wrk run's figures.
struct Measured {
    rps: f64,
    non_2xx: u64,
    socket_errors: String,
}

async fn start_floor() -> (String, tokio::sync::oneshot::Sender<()>) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use iam_contract::loopback::RequestBody;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a loopback port");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    let service = hyper::service::service_fn(|req: http::Request<RequestBody>| async move {
        // Read the request as the emulator does, so the floor keeps its connections alive.
        let _ = req.into_body().collect().await;
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .header("content-type", "text/xml")
                .body(Full::new(Bytes::from_static(FLOOR_BODY.as_bytes())))
                .expect("a fixed response"),
        )
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(iam_contract::loopback::serve(
        listener,
        service,
        iam_contract::loopback::DEFAULT_HEADER_READ_TIMEOUT,
        async {
            let _ = stopped.await;
        },
    ));
    (url, stop)
}

/// Starts `BIN serve` on a free loopback port and reads its URL from its first output line.
async fn start_emulator_bin(bin: &Path) -> (String, tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("the emulator prints its URL");
    (line.trim().to_owned(), child)
}

/// The signed GetUser for `ep`, as (headers without Host, body).
fn presign(ep: &Endpoint) -> Vec<(String, String)> {
    let parsed = url::Url::parse(&ep.url).expect("a URL");
    let host = format!(
        "{}:{}",
        parsed.host_str().unwrap_or_default(),
        parsed.port().unwrap_or(80)
    );
    let mut headers = vec![
        ("host".to_owned(), host),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
    ];
    let signed = sign_headers(
        "POST",
        &ep.url,
        &headers,
        GET_USER.as_bytes(),
        &ep.creds,
        &Scope::default(),
        SystemTime::now(),
    )
    .expect("the request signs");
    headers.extend(signed);
    headers.retain(|(k, _)| k != "host");
    headers
}

/// Sends the signed request once, to show what the server answers it with.
async fn answer_of(ep: &Endpoint, headers: &[(String, String)]) -> String {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    let mut req = http.post(&ep.url).body(GET_USER);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            let code = body
                .split_once("<Code>")
                .and_then(|(_, rest)| rest.split_once("</Code>"))
                .map(|(c, _)| format!(" {c}"))
                .unwrap_or_default();
            format!("{status}{code}")
        }
        Err(e) => format!("no answer ({e})"),
    }
}

async fn run_wrk(wrk: &str, ep: &Endpoint, seconds: u64) -> Result<Measured, String> {
    let headers = presign(ep);
    let lua = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/wrk/replay.lua");
    let out = tokio::process::Command::new(wrk)
        .args([
            "-t2",
            "-c16",
            "-d",
            &format!("{seconds}s"),
            "-s",
            lua,
            &ep.url,
        ])
        .env("IAM_BENCH_METHOD", "POST")
        .env("IAM_BENCH_BODY", GET_USER)
        .env(
            "IAM_BENCH_HEADERS",
            headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("wrk did not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output: {text}"))?;
    Ok(Measured {
        rps,
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        socket_errors: field("Socket errors:").unwrap_or_default(),
    })
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub async fn run(opts: FloorOpts) {
    let (floor_url, floor_stop) = start_floor().await;
    if opts.serve_only {
        println!("{floor_url}");
        eprintln!("loopback floor listening on {floor_url} (Ctrl-C to stop)");
        let _ = tokio::signal::ctrl_c().await;
        let _ = floor_stop.send(());
        return;
    }
    let wrk = match std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/wrk.sh"))
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => {
            eprintln!("error: wrk is needed for --floor: bash tools/wrk.sh installs it");
            std::process::exit(2);
        }
    };
    let mut endpoints = vec![Endpoint {
        name: "floor",
        url: floor_url,
        creds: Credentials::example(),
    }];
    let mut _in_process = None;
    let mut _child = None;
    match &opts.emulator_bin {
        None => {
            let r = emulator::start(Config::default())
                .await
                .expect("the emulator starts");
            endpoints.push(Endpoint {
                name: "emulator",
                url: r.url().to_owned(),
                creds: r.credentials().clone(),
            });
            _in_process = Some(r);
        }
        Some(bin) => {
            let (url, child) = start_emulator_bin(bin).await;
            endpoints.push(Endpoint {
                name: "emulator",
                url,
                creds: Credentials::example(),
            });
            _child = Some(child);
        }
    }
    let mut _before = None;
    if let Some(bin) = &opts.against_bin {
        let (url, child) = start_emulator_bin(bin).await;
        endpoints.push(Endpoint {
            name: "before",
            url,
            creds: Credentials::example(),
        });
        _before = Some(child);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(format!("iam-contract-floor-{}", std::process::id()));
    let mut _moto = None;
    if opts.moto {
        match iam_contract::targets::TargetProfile::load(root, "moto") {
            Ok((profile, _)) => {
                match iam_contract::targets::start(&profile, root, &scratch).await {
                    Ok(running) => {
                        endpoints.push(Endpoint {
                            name: "moto",
                            url: running.url.clone(),
                            creds: running.credentials(&profile),
                        });
                        _moto = Some(running);
                    }
                    Err(e) => {
                        eprintln!("moto left out: {e} (bash targets/moto/install.sh installs it)")
                    }
                }
            }
            Err(e) => eprintln!("moto left out: {e}"),
        }
    }
    println!(
        "driver: wrk -t2 -c16 -d{}s, one pre-signed GetUser replayed on keep-alive connections",
        opts.seconds
    );
    for ep in &endpoints {
        let answer = answer_of(ep, &presign(ep)).await;
        println!("{:9} {}  answers {answer}", ep.name, ep.url);
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); endpoints.len()];
    for round in 1..=opts.rounds {
        let mut line = format!("round {round}:");
        for (i, ep) in endpoints.iter().enumerate() {
            match run_wrk(&wrk, ep, opts.seconds).await {
                Ok(m) => {
                    rates[i].push(m.rps);
                    line.push_str(&format!("  {} {:.0}/s", ep.name, m.rps));
                    if m.non_2xx > 0 || !m.socket_errors.is_empty() {
                        line.push_str(&format!(
                            " ({} non-2xx{}{})",
                            m.non_2xx,
                            if m.socket_errors.is_empty() {
                                ""
                            } else {
                                ", socket errors "
                            },
                            m.socket_errors
                        ));
                    }
                }
                Err(e) => {
                    eprintln!("{}: {e}", ep.name);
                    line.push_str(&format!("  {} failed", ep.name));
                }
            }
        }
        println!("{line}");
    }
    let med: Vec<f64> = rates.iter().map(|r| median(r)).collect();
    let mut summary = String::from("median:");
    for (ep, m) in endpoints.iter().zip(&med) {
        summary.push_str(&format!("  {} {m:.0}/s", ep.name));
    }
    println!("{summary}");
    // Ratios per round (both figures from the same round), then their median.
    let ratio = |a: usize, b: usize| -> Option<f64> {
        let per_round: Vec<f64> = rates[a]
            .iter()
            .zip(&rates[b])
            .filter(|(_, d)| **d > 0.0)
            .map(|(n, d)| n / d)
            .collect();
        (!per_round.is_empty()).then(|| median(&per_round))
    };
    if let Some(r) = ratio(1, 0) {
        println!(
            "emulator / floor: {:.0}% (median of the rounds' ratios)",
            r * 100.0
        );
    }
    for (i, ep) in endpoints.iter().enumerate().skip(2) {
        if let Some(r) = ratio(1, i) {
            println!(
                "emulator / {}: {r:.2}x (median of the rounds' ratios)",
                ep.name
            );
        }
        if let Some(r) = ratio(i, 0) {
            println!("{} / floor: {:.0}%", ep.name, r * 100.0);
        }
    }
    let _ = floor_stop.send(());
    drop(_moto);
    let _ = std::fs::remove_dir_all(&scratch);
}

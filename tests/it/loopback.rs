//! The server loop's read timeouts (`src/loopback.rs`), on raw TCP: a half-sent request head, a
//! connection that sends nothing and an idle keep-alive connection are closed after the
//! configured timeout, while a complete request on another connection is answered meanwhile; a
//! request whose body trickles in (or stops half-way) after a complete head is answered `408`
//! and closed after the same timeout; for the emulator and for the proxy, which share the loop.

use iam_contract::emulator::{self, Config};
use iam_contract::model::Model;
use iam_contract::observe::proxy::{self, ProxyConfig};
use iam_contract::observe::{Observer, ObserverConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short, so the test is quick; the default is seconds.
const TIMEOUT: Duration = Duration::from_millis(400);
/// Far beyond the timeout: a connection still open by then was not closed by it.
const GIVE_UP: Duration = Duration::from_secs(10);

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a socket address")
}

/// Reads until the server closes the connection (EOF or a reset) and returns when that
/// happened and what came; fails if it stays open for `GIVE_UP`.
async fn until_closed(conn: &mut TcpStream) -> (Instant, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(GIVE_UP, conn.read(&mut buf)).await {
            Err(_) => panic!(
                "the connection was still open after {GIVE_UP:?} (timeout {TIMEOUT:?}); it sent {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return (Instant::now(), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response with a `Content-Length` body and returns its head and body.
async fn read_response(conn: &mut TcpStream) -> (String, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a Content-Length");
            while got.len() < end + 4 + len {
                let n = tokio::time::timeout(GIVE_UP, conn.read(&mut buf))
                    .await
                    .expect("the body in time")
                    .expect("a readable connection");
                assert!(n > 0, "closed in the middle of a body");
                got.extend_from_slice(&buf[..n]);
            }
            return (head, got[end + 4..end + 4 + len].to_vec());
        }
        let n = tokio::time::timeout(GIVE_UP, conn.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("a readable connection");
        assert!(n > 0, "closed before an answer");
        got.extend_from_slice(&buf[..n]);
    }
}

/// An unsigned CreateUser: any server answers it (the emulator with 403), which is all this
/// needs: the request was served.
fn complete_request(addr: SocketAddr) -> String {
    let body = "Action=CreateUser&Version=2010-05-08&UserName=loopback";
    format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The behaviour both servers must show, against the server at `addr`.
async fn slow_clients_are_cut_off(addr: SocketAddr) {
    // A client that stops in the middle of its request head.
    let mut half = TcpStream::connect(addr).await.expect("connects");
    half.write_all(format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Ty").as_bytes())
        .await
        .expect("writes");
    let half_since = Instant::now();
    // A client that connects and never sends a byte.
    let mut silent = TcpStream::connect(addr).await.expect("connects");
    let silent_since = Instant::now();
    // A client that sent one request and then sits idle on its keep-alive connection.
    let mut idle = TcpStream::connect(addr).await.expect("connects");
    idle.write_all(complete_request(addr).as_bytes())
        .await
        .expect("writes");
    let (head, _) = read_response(&mut idle).await;
    let idle_since = Instant::now();
    assert!(head.starts_with("HTTP/1.1 "), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("connection: close"),
        "the first answer keeps the connection alive: {head}"
    );

    // Meanwhile other clients are served, on a new connection, before the timeout runs out.
    let mut other = TcpStream::connect(addr).await.expect("connects");
    other
        .write_all(complete_request(addr).as_bytes())
        .await
        .expect("writes");
    let (head, body) = read_response(&mut other).await;
    assert!(head.starts_with("HTTP/1.1 "), "{head}");
    assert!(!body.is_empty(), "an answer with a body");

    let ((half_closed, half_sent), (idle_closed, idle_sent), (silent_closed, silent_sent)) = tokio::join!(
        until_closed(&mut half),
        until_closed(&mut idle),
        until_closed(&mut silent)
    );
    let half_after = half_closed - half_since;
    let idle_after = idle_closed - idle_since;
    assert!(
        silent_closed - silent_since + Duration::from_millis(100) >= TIMEOUT,
        "closed after {:?}",
        silent_closed - silent_since
    );
    // Closed by the timeout, not at once (a server that refuses half heads outright, or a
    // keep-alive that does not hold, is a different bug).
    assert!(
        half_after + Duration::from_millis(100) >= TIMEOUT,
        "closed after {half_after:?}"
    );
    assert!(
        idle_after + Duration::from_millis(100) >= TIMEOUT,
        "closed after {idle_after:?}"
    );
    // hyper closes without an answer; a `408` would be as good, anything else is not.
    for sent in [half_sent, idle_sent, silent_sent] {
        let text = String::from_utf8_lossy(&sent);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
}

/// A complete head announcing a 1000-byte body, then `first` body bytes.
fn head_then_body_start(addr: SocketAddr, first: usize) -> Vec<u8> {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    .into_bytes();
    req.extend(std::iter::repeat_n(b'A', first));
    req
}

/// Asserts that a connection whose body is late was answered `408` and closed, neither before
/// the timeout nor long after it.
fn assert_cut_off_with_408(what: &str, since: Instant, closed: Instant, sent: &[u8]) {
    let after = closed - since;
    let text = String::from_utf8_lossy(sent);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "{what}: answered {text:?} after {after:?}"
    );
    assert!(
        after + Duration::from_millis(100) >= TIMEOUT,
        "{what}: closed after only {after:?}"
    );
    // The trickle below would take 100 s to finish the body; closing within a few seconds is
    // the timeout's doing.
    assert!(after < TIMEOUT * 8, "{what}: closed only after {after:?}");
}

/// The body-read timeout, against the server at `addr`: a body that trickles in one byte every
/// 100 ms (it would take 100 s) and one that stops after ten bytes both end in `408` and a
/// closed connection after the timeout, counted from the end of the head.
async fn late_bodies_are_cut_off(addr: SocketAddr) {
    let mut stopped = TcpStream::connect(addr).await.expect("connects");
    stopped
        .write_all(&head_then_body_start(addr, 10))
        .await
        .expect("writes");
    let stopped_since = Instant::now();

    let trickle = TcpStream::connect(addr).await.expect("connects");
    let (mut read, mut write) = trickle.into_split();
    write
        .write_all(&head_then_body_start(addr, 1))
        .await
        .expect("writes");
    let trickle_since = Instant::now();
    let writer = tokio::spawn(async move {
        for _ in 0..999 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            // The server closing its end shows up here as a failed write: the trickle is over.
            if write.write_all(b"A").await.is_err() {
                break;
            }
        }
    });
    let reader = async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(GIVE_UP, read.read(&mut buf)).await {
                Err(_) => panic!(
                    "the trickling connection was still open after {GIVE_UP:?} (timeout {TIMEOUT:?}); it sent {:?}",
                    String::from_utf8_lossy(&got)
                ),
                Ok(Ok(0)) | Ok(Err(_)) => return (Instant::now(), got),
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let ((trickle_closed, trickle_sent), (stopped_closed, stopped_sent)) =
        tokio::join!(reader, until_closed(&mut stopped));
    writer.abort();
    assert_cut_off_with_408(
        "trickling body",
        trickle_since,
        trickle_closed,
        &trickle_sent,
    );
    assert_cut_off_with_408(
        "unfinished body",
        stopped_since,
        stopped_closed,
        &stopped_sent,
    );
    for sent in [&trickle_sent, &stopped_sent] {
        let text = String::from_utf8_lossy(sent).to_ascii_lowercase();
        assert!(text.contains("connection: close"), "{text}");
    }

    // A body that arrives in pieces but within the timeout is answered as usual.
    let mut slow_ok = TcpStream::connect(addr).await.expect("connects");
    let full = complete_request(addr);
    let (head, body) = full.split_at(full.find("\r\n\r\n").unwrap() + 4);
    slow_ok.write_all(head.as_bytes()).await.expect("writes");
    tokio::time::sleep(TIMEOUT / 4).await;
    slow_ok.write_all(body.as_bytes()).await.expect("writes");
    let (head, _) = read_response(&mut slow_ok).await;
    assert!(
        head.starts_with("HTTP/1.1 ") && !head.starts_with("HTTP/1.1 408"),
        "{head}"
    );
}

/// An emulator with the short read timeout.
async fn emulator_with_timeout() -> emulator::RunningEmulator {
    let config = Config {
        header_read_timeout: TIMEOUT,
        ..Config::default()
    };
    emulator::start(config).await.expect("emulator starts")
}

/// A proxy started with `config`, judging nothing in particular.
async fn proxy_with(config: ProxyConfig) -> proxy::RunningProxy {
    let observer = Observer::new(
        Model::embedded(),
        ObserverConfig {
            endpoint: config.upstream.clone(),
            target_name: "proxy".into(),
            profile: iam_contract::contract::Profile::Model,
        },
    );
    proxy::start(config, observer, Box::new(|_, _, _| {}))
        .await
        .expect("proxy starts")
}

/// A proxy with the short read timeout, in front of an emulator with the default one.
async fn proxy_with_timeout() -> (emulator::RunningEmulator, proxy::RunningProxy) {
    let emu = emulator::start(Config::default())
        .await
        .expect("emulator starts");
    let running = proxy_with(ProxyConfig {
        header_read_timeout: TIMEOUT,
        ..ProxyConfig::new(emu.url())
    })
    .await;
    (emu, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_answers_408_to_a_late_body() {
    let emu = emulator_with_timeout().await;
    late_bodies_are_cut_off(addr_of(emu.url())).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_answers_408_to_a_late_body() {
    let (emu, running) = proxy_with_timeout().await;
    late_bodies_are_cut_off(addr_of(running.url())).await;
    running.shutdown().await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_closes_half_sent_heads_and_idle_connections() {
    let emu = emulator_with_timeout().await;
    slow_clients_are_cut_off(addr_of(emu.url())).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_closes_half_sent_heads_and_idle_connections() {
    let (emu, running) = proxy_with_timeout().await;
    slow_clients_are_cut_off(addr_of(running.url())).await;
    running.shutdown().await;
    emu.shutdown().await;
}

#[test]
fn serve_takes_the_timeout_in_seconds_and_refuses_nonsense() {
    let bin = env!("CARGO_BIN_EXE_iam-contract");
    for bad in ["0", "abc", "-2"] {
        let out = std::process::Command::new(bin)
            .args(["serve", &format!("--header-read-timeout={bad}")])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--header-read-timeout"), "{err}");
    }
}

/// The proxy keeps its upstream connections open between requests; an upstream that closes an
/// idle one (here the emulator's own keep-alive timeout) must cost the next request nothing: it
/// goes on a new connection instead of failing with 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_replaces_an_upstream_connection_the_upstream_closed() {
    let emu = emulator_with_timeout().await;
    let running = proxy_with(ProxyConfig::new(emu.url())).await;
    let client = iam_contract::client::Client::new(
        running.url(),
        Some(iam_contract::client::Credentials::example()),
    )
    .expect("client");
    let get_user = [
        ("Action".to_owned(), "GetUser".to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
    ];
    for round in 0..3 {
        let r = client.call(&get_user).await.expect("an answer");
        assert_eq!(
            r.status,
            200,
            "request {round}: {}",
            String::from_utf8_lossy(&r.body)
        );
        // Long enough for the emulator to close the proxy's idle connection to it.
        tokio::time::sleep(TIMEOUT * 2).await;
    }
    let observer = running.shutdown().await;
    assert_eq!(observer.lock().unwrap().judged(), 3);
    emu.shutdown().await;
}

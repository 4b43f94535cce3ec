//! The `endpoint` target's live mode: the same sessions as the embedded mode, sent to a real
//! endpoint on a loopback address ([`ENDPOINT_VAR`]) and judged by the same black-box rules.
//! What makes it safe to point at a real endpoint: only requests that touch what this input
//! created may delete or update anything (`safe_for_live`), whatever the input created is
//! deleted afterwards, and the URL is refused unless it is plain HTTP to a loopback address.
//!
//! The transport is `ureq` (blocking, no TLS, no proxy), configured to behave like the
//! project's reqwest client: never follow a redirect (a 3xx is an answer to judge, and
//! following it could carry signed traffic elsewhere), read at most
//! [`MAX_RESPONSE_BYTES`] of a body, time out. Each request goes out on a fresh connection
//! (`Connection: close`), so one input's bytes can never confuse the framing of the next.
//! Must not: print, log, or put a secret or a signature in a panic message.

use super::grammar::{Session, State, build, session};
use super::oracle::{Reply, describe, judge_reply};
use crate::client::{Credentials, MAX_RESPONSE_BYTES, Scope, sign_headers};
use crate::emulator::HttpRequest;
use crate::model::Model;
use crate::secret::scrub;
use crate::wire::{decode_form, encode_form};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Environment variable naming a live endpoint (`http://127.0.0.1:PORT`) for `endpoint`.
pub const ENDPOINT_VAR: &str = "IAM_CONTRACT_FUZZ_ENDPOINT";
/// Its credentials; the AWS example pair (the emulator's default) when unset.
pub const ACCESS_KEY_VAR: &str = "IAM_CONTRACT_FUZZ_ACCESS_KEY_ID";
pub const SECRET_KEY_VAR: &str = "IAM_CONTRACT_FUZZ_SECRET_ACCESS_KEY";

/// How long one request may take in all, and its connection attempt.
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Actions that change or remove existing state: on a live endpoint they may only touch what
/// this input created, so that fuzzing never deletes or disables the credentials it signs with
/// or anything that was there before.
const GUARDED_ACTIONS: [&str; 3] = ["DeleteUser", "DeleteAccessKey", "UpdateAccessKey"];

/// The same structured requests as `emulator_request`, judged only by the contract's response
/// rules, the UserName echo and the secret rule, as a black-box client sees them. Sent to the
/// live endpoint named by [`ENDPOINT_VAR`] (loopback only), signed with
/// [`ACCESS_KEY_VAR`]/[`SECRET_KEY_VAR`]; with the variable unset, to a fresh embedded emulator
/// ([`endpoint_embedded`](super::endpoint_embedded)).
pub fn endpoint(data: &[u8]) {
    match live_endpoint() {
        None => super::endpoint_embedded(data),
        Some(Err(e)) => panic!("endpoint: {ENDPOINT_VAR} is unusable: {e}"),
        Some(Ok(live)) => endpoint_live(live, data),
    }
}

/// A live endpoint on a loopback address.
struct Live {
    /// The checked loopback address every request goes to.
    addr: SocketAddr,
    /// `host[:port]` as the Host header and the signature name it.
    authority: String,
    credentials: Credentials,
    agent: ureq::Agent,
}

impl Live {
    /// Checks the URL (see [`parse_live`]) and sets up the transport.
    fn new(url: &str, credentials: Credentials, timeout: Duration) -> Result<Live, String> {
        let (addr, authority) = parse_live(url)?;
        let agent = ureq::Agent::config_builder()
            // Every status is an answer to judge, a redirect included.
            .http_status_as_error(false)
            .max_redirects(0)
            // ureq reads HTTP_PROXY and friends by default; loopback traffic stays direct.
            .proxy(None)
            // Send exactly the headers built, plus the framing ureq owns.
            .user_agent(ureq::config::AutoHeaderValue::None)
            .accept(ureq::config::AutoHeaderValue::None)
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            // Fuzzed methods (any token) are the point, not a mistake.
            .allow_non_standard_methods(true)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(timeout))
            .max_idle_connections(0)
            .build()
            .new_agent();
        Ok(Live {
            addr,
            authority,
            credentials,
            agent,
        })
    }

    /// The request as the transport sends it, to the checked address. `None` for a request
    /// HTTP cannot express: [`build`] keeps wire-safe requests expressible, so this is only a
    /// request target beyond the 64 KiB an HTTP URI may hold.
    fn wire_request<'a>(&self, req: &'a HttpRequest) -> Option<http::Request<&'a [u8]>> {
        let mut b = http::Request::builder()
            .method(req.method.as_str())
            .uri(format!("http://{}{}", self.addr, req.path_and_query));
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_bytes());
        }
        b.header("connection", "close")
            .body(req.body.as_slice())
            .ok()
    }

    /// Sends one request and reads the status and at most [`MAX_RESPONSE_BYTES`] + 1 bytes of
    /// the body: one byte more than allowed is enough for the judge to call the body too
    /// large. Blocking, bounded in time.
    fn send(&self, req: http::Request<&[u8]>) -> Result<Reply, String> {
        let mut resp = self.agent.run(req).map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_RESPONSE_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("read: {e}"))?;
        Ok(Reply { status, body })
    }
}

fn live_endpoint() -> Option<&'static Result<Live, String>> {
    static LIVE: OnceLock<Option<Result<Live, String>>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let url = std::env::var(ENDPOINT_VAR).ok().filter(|v| !v.is_empty())?;
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credentials = match (get(ACCESS_KEY_VAR), get(SECRET_KEY_VAR)) {
            (Some(id), Some(secret)) => Credentials::new(id, secret),
            _ => Credentials::example(),
        };
        Some(Live::new(&url, credentials, TIMEOUT))
    })
    .as_ref()
}

/// Parses an endpoint URL and refuses everything but plain HTTP to a loopback address.
/// Returns the address to connect to and the authority (`host[:port]`) as the URL names it.
fn parse_live(url: &str) -> Result<(SocketAddr, String), String> {
    let u = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!(
            "scheme {:?}: only http:// to a loopback address is supported",
            u.scheme()
        ));
    }
    let port = u.port_or_known_default().unwrap_or(80);
    let ip = match u.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        _ => return Err("the host must be 127.0.0.1, [::1] or localhost".into()),
    };
    if !ip.is_loopback() {
        return Err(format!(
            "refusing {ip}: only loopback addresses are allowed"
        ));
    }
    let authority = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("127.0.0.1")),
        None => u.host_str().unwrap_or("127.0.0.1").to_owned(),
    };
    Ok((SocketAddr::new(ip, port), authority))
}

/// Whether a request is safe to send to a live endpoint. Deliberately more suspicious than
/// the emulator: parameters count wherever some endpoint might read them (the query string,
/// and the body whatever its method and content type), and names compare case-insensitively.
fn safe_for_live(req: &HttpRequest, st: &State) -> bool {
    let mut params = decode_form(req.target().1.as_bytes()).unwrap_or_default();
    match decode_form(&req.body) {
        Ok(b) => params.extend(b),
        // Undecodable bodies hide their parameters; some endpoint may still read them.
        Err(_) => return false,
    }
    let guarded = params.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("Action")
            && GUARDED_ACTIONS
                .iter()
                .any(|a| a.eq_ignore_ascii_case(v.trim()))
    });
    if !guarded {
        return true;
    }
    let own_key = |v: &str| st.keys.iter().any(|(id, _, _)| id == v);
    let own_user = |v: &str| st.users.iter().any(|u| u.eq_ignore_ascii_case(v));
    let mut named_user = false;
    for (k, v) in &params {
        if k.eq_ignore_ascii_case("AccessKeyId") && !own_key(v) {
            return false;
        }
        if k.eq_ignore_ascii_case("UserName") {
            named_user = true;
            if !own_user(v) && !st.keys.iter().any(|(_, u, _)| u.eq_ignore_ascii_case(v)) {
                return false;
            }
        }
    }
    // Without a UserName the target is the signer, possibly the bootstrap user.
    named_user
}

fn endpoint_live(live: &Live, data: &[u8]) {
    if let Some(s) = session(data) {
        run_live(live, &s);
    }
}

/// Sends a session's requests that are safe and expressible, judges every reply, and cleans
/// up what the session created.
fn run_live(live: &Live, s: &Session) {
    let mut st = State::new(live.credentials.clone());
    for r in &s.requests {
        let built = build(r, &st, &live.authority, SystemTime::now(), true);
        if !safe_for_live(&built.http, &st) {
            continue;
        }
        let Some(request) = live.wire_request(&built.http) else {
            continue;
        };
        let reply = match live.send(request) {
            Ok(r) => r,
            Err(e) => {
                let e = scrub(&e, &st.secrets);
                panic!(
                    "endpoint: transport failure ({e})\n  request: {}",
                    scrub(&describe(&built.http), &st.secrets)
                )
            }
        };
        judge_reply(&mut st, &built, reply);
    }
    cleanup_live(live, &st);
}

/// Deletes what the input created (keys, then users), signed as the bootstrap user. Best
/// effort: failures are ignored, the next input starts regardless.
fn cleanup_live(live: &Live, st: &State) {
    let send = |params: &[(&str, &str)]| {
        let mut p = vec![
            ("Action", params[0].1),
            ("Version", Model::embedded().metadata().api_version.as_str()),
        ];
        p.extend_from_slice(&params[1..]);
        let body = encode_form(&p).into_bytes();
        let mut headers = vec![
            ("host".to_owned(), live.authority.clone()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let url = format!("http://{}/", live.authority);
        if let Ok(added) = sign_headers(
            "POST",
            &url,
            &headers,
            &body,
            &live.credentials,
            &Scope::default(),
            SystemTime::now(),
        ) {
            headers.extend(added);
        }
        let req = HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers,
            body,
        };
        if let Some(request) = live.wire_request(&req) {
            let _ = live.send(request);
        }
    };
    for (id, user, _) in &st.keys {
        if id != &live.credentials.access_key_id {
            send(&[
                ("Action", "DeleteAccessKey"),
                ("UserName", user),
                ("AccessKeyId", id),
            ]);
        }
    }
    for u in &st.users {
        send(&[("Action", "DeleteUser"), ("UserName", u)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::grammar::valid_create;
    use rand::{Rng, SeedableRng};
    use std::io::Write;
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        assert!(parse_live("http://127.0.0.1:5000").is_ok());
        assert!(parse_live("http://localhost:5000/").is_ok());
        assert!(parse_live("http://[::1]:8333").is_ok());
        for bad in [
            "http://10.0.0.1:5000",
            "http://example.com",
            "https://127.0.0.1:5000",
            "http://0.0.0.0:5000",
            "not a url",
        ] {
            assert!(parse_live(bad).is_err(), "{bad}");
        }
    }

    /// A one-connection HTTP server on loopback: reads one request (head and a
    /// `Content-Length` body), answers with `response` after `delay`, and returns what it read.
    fn serve_once(response: Vec<u8>, delay: Duration) -> (String, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = |seen: &[u8]| {
                let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                    return false;
                };
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                seen.len() >= end + 4 + length
            };
            while !complete(&seen) {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed before sending a whole request");
                seen.extend_from_slice(&buf[..n]);
            }
            std::thread::sleep(delay);
            // The client may stop reading (the body cap) or give up (the timeout) first.
            let _ = conn.write_all(&response);
            seen
        });
        (url, handle)
    }

    fn live_at(url: &str, timeout: Duration) -> Live {
        Live::new(url, Credentials::example(), timeout).unwrap()
    }

    fn post(body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: "/?a=b".into(),
            headers: vec![
                ("host".into(), "iam.fuzz.local".into()),
                ("x-fuzz".into(), "1".into()),
            ],
            body: body.to_vec(),
        }
    }

    fn send(live: &Live, req: &HttpRequest) -> Result<Reply, String> {
        live.send(live.wire_request(req).expect("expressible"))
    }

    #[test]
    fn sends_the_request_as_built_on_its_own_connection() {
        let (url, server) = serve_once(
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
                .to_vec(),
            Duration::ZERO,
        );
        let reply = send(&live_at(&url, TIMEOUT), &post(b"Action=X")).unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (400, &b"abcde"[..]));
        let seen = String::from_utf8(server.join().unwrap()).unwrap();
        let (head, body) = seen.split_once("\r\n\r\n").unwrap();
        let mut lines: Vec<&str> = head.lines().collect();
        assert_eq!(lines.remove(0), "POST /?a=b HTTP/1.1");
        lines.sort();
        assert_eq!(
            lines,
            [
                "connection: close",
                "content-length: 8",
                "host: iam.fuzz.local",
                "x-fuzz: 1"
            ],
            "{seen}"
        );
        assert_eq!(body, "Action=X");
    }

    #[test]
    fn redirects_are_answers_not_instructions() {
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let location = format!("http://{}/", elsewhere.local_addr().unwrap());
        let (url, server) = serve_once(
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 2\r\n\r\nno").into_bytes(),
            Duration::ZERO,
        );
        let reply = send(&live_at(&url, TIMEOUT), &post(b"")).unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (307, &b"no"[..]));
        server.join().unwrap();
        assert!(
            elsewhere.accept().is_err(),
            "the client followed the redirect"
        );
    }

    #[test]
    fn bodies_are_read_up_to_one_byte_past_the_cap() {
        let size = MAX_RESPONSE_BYTES + 4096;
        let mut response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").into_bytes();
        response.resize(response.len() + size, b'x');
        let (url, server) = serve_once(response, Duration::ZERO);
        let reply = send(&live_at(&url, TIMEOUT), &post(b"")).unwrap();
        assert_eq!(reply.body.len(), MAX_RESPONSE_BYTES + 1);
        server.join().unwrap();
    }

    #[test]
    fn a_silent_endpoint_times_out() {
        let (url, server) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            Duration::from_secs(2),
        );
        let err = send(&live_at(&url, Duration::from_millis(300)), &post(b""))
            .err()
            .expect("an answer after 2 s within a 300 ms timeout");
        assert!(err.contains("timeout"), "{err}");
        server.join().unwrap();
    }

    /// Whatever the grammar draws, a wire-safe request reaches the transport intact: the http
    /// crate accepts it and keeps its method, target and headers as built (and signed).
    #[test]
    fn wire_safe_requests_are_expressible_as_built() {
        let live = live_at("http://127.0.0.1:9/", TIMEOUT);
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let (mut sessions, mut requests) = (0, 0);
        for _ in 0..6000 {
            let len = rng.random_range(0..2000);
            let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let Some(s) = session(&data) else { continue };
            sessions += 1;
            let st = State::new(Credentials::example());
            for r in &s.requests {
                requests += 1;
                let built = build(r, &st, &live.authority, SystemTime::now(), true);
                let Some(wire) = live.wire_request(&built.http) else {
                    panic!("not expressible: {}", describe(&built.http));
                };
                assert_eq!(wire.method().as_str(), built.http.method);
                let target = wire.uri().path_and_query().map(|p| p.as_str());
                assert_eq!(target, Some(built.http.path_and_query.as_str()));
                assert_eq!(wire.headers().len(), built.http.headers.len() + 1);
                // ureq reads these two as text, and refuses to send what is not.
                for name in ["host", "authorization"] {
                    for v in wire.headers().get_all(name) {
                        assert!(v.to_str().is_ok(), "{name}: {v:?}");
                    }
                }
            }
        }
        assert!(
            sessions > 5000 && requests > 5000,
            "{sessions} sessions, {requests} requests"
        );
    }

    /// A violation found live is reported without the secret the endpoint handed out: the
    /// endpoint here answers a valid create with a key ID too short (the emulator's
    /// `short-key-id` fault, recorded in-process) and the panic message goes through the
    /// project's secret tripwire.
    #[test]
    fn a_live_violation_never_quotes_a_secret() {
        use crate::emulator::{Config, Emulator, Fault};
        use crate::report::Tripwire;
        use crate::wire::decode_response;
        let emu = Emulator::new(Config::default().with_fault(Fault::ShortKeyId)).unwrap();
        let st = State::new(emu.credentials().clone());
        let built = build(&valid_create(), &st, "h", SystemTime::now(), true);
        let recorded = emu.handle(&built.http);
        let decoded = decode_response(Model::embedded(), "CreateAccessKey", &recorded.body);
        let mut secrets: Vec<_> = decoded.secrets.iter().map(|(_, s)| s.clone()).collect();
        assert_eq!(secrets.len(), 1, "{}", recorded.text());
        secrets.extend(emu.credentials().secrets());
        let mut response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
            recorded.body.len()
        )
        .into_bytes();
        response.extend_from_slice(&recorded.body);
        let (url, server) = serve_once(response, Duration::ZERO);
        let live = Live::new(&url, emu.credentials().clone(), TIMEOUT).unwrap();
        let create = Session {
            faults: vec![],
            requests: vec![valid_create()],
        };
        let run = std::panic::AssertUnwindSafe(|| run_live(&live, &create));
        let err = std::panic::catch_unwind(run).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("contract violation [output."), "{msg}");
        Tripwire::new(secrets)
            .check("the panic message", msg)
            .unwrap();
        server.join().unwrap();
    }

    /// The live mode against the emulator served on loopback: every committed `endpoint` seed
    /// runs clean and leaves nothing behind, and a fault that breaks an output rule is caught.
    #[cfg(feature = "net")]
    #[test]
    fn live_mode_judges_a_served_emulator() {
        use crate::emulator::{Config, Fault, start};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(start(Config::default())).unwrap();
        let live = Live::new(server.url(), server.credentials().clone(), TIMEOUT).unwrap();
        let before = server.emulator().inventory();
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/endpoint");
        let mut n = 0;
        for f in std::fs::read_dir(&seeds).unwrap() {
            endpoint_live(&live, &std::fs::read(f.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n >= 5, "only {n} seeds");
        let create = Session {
            faults: vec![],
            requests: vec![valid_create(), valid_create()],
        };
        run_live(&live, &create);
        assert_eq!(
            server.emulator().inventory(),
            before,
            "the session left litter"
        );

        let faulty = rt
            .block_on(start(Config::default().with_fault(Fault::ShortKeyId)))
            .unwrap();
        let live = Live::new(faulty.url(), faulty.credentials().clone(), TIMEOUT).unwrap();
        let run = std::panic::AssertUnwindSafe(|| run_live(&live, &create));
        let err = std::panic::catch_unwind(run).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("contract violation [output."), "{msg}");
        assert!(!live.credentials.secret_access_key.appears_in(msg), "{msg}");
    }
}

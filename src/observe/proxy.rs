//! The forwarding proxy behind `iam-contract proxy`: a loopback endpoint that passes each
//! request to the upstream unchanged (method, path, query, every header including `Host` as the
//! client sent it, the body bytes), so SigV4 signatures stay valid, returns the upstream's answer
//! unchanged, and hands each exchange to a judge task that feeds the [`Observer`].
//!
//! Judging happens off the response path, in arrival order of the answers, so a client waits
//! only for the forwarding. Whatever the upstream sends is survived: a reset or a refused
//! connection becomes `502`, an answer that takes longer than the timeout (a trickling body
//! included) `504`, and a body over [`MAX_RESPONSE_BYTES`] `502`, each with a one-line text
//! body naming the problem, and is recorded as a transport failure.
//!
//! Forwarding is hyper's own HTTP/1 connection (plain HTTP: loopback services serve it) from a
//! small pool of idle ones, with the request's parts passed on as hyper parsed them; turning
//! them into the judge's [`RawExchange`] strings happens on the judge task, after the client has
//! its answer. hyper-util's pooled client did the same with a task spawned per request and a
//! pool built for many hosts: the bare connection made the proxy two points of the direct rate
//! cheaper in three pairs of bench runs (README, "Judge your own traffic").
//!
//! Must not: listen on or forward to anything but loopback, or follow a redirect (a redirect is
//! an answer, returned to the client as it is).

use super::{Judged, Observer, RawExchange};
use crate::client::MAX_RESPONSE_BYTES;
use crate::loopback::RequestBody;
use crate::secret::Secret;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Headers that belong to one connection, never forwarded (RFC 9110 7.6.1); `content-length`
/// is recomputed from the same bytes.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Idle upstream connections kept for reuse; one per client connection in flight is what a
/// client's own pool needs.
const MAX_IDLE_UPSTREAM: usize = 64;

/// The longest the proxy waits for a new upstream connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest request body the proxy accepts (IAM requests are a few kilobytes).
pub const MAX_REQUEST_BYTES: usize = 8 << 20;

/// Why the proxy cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("--listen {0} is not a loopback address: the proxy listens on 127.0.0.1 (or ::1) only")]
    ListenNotLoopback(SocketAddr),
    #[error("--upstream {0}: {1}")]
    BadUpstream(String, String),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

/// Checks that `upstream` is an http URL on a loopback host.
pub fn check_upstream(upstream: &str) -> Result<url::Url, ProxyError> {
    let bad = |why: &str| ProxyError::BadUpstream(upstream.to_owned(), why.to_owned());
    let url = url::Url::parse(upstream).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad(
            "expected an http:// URL (the proxy forwards plain HTTP, which loopback services serve)",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        return Err(bad(
            "not a loopback host: the proxy forwards to 127.0.0.1, ::1 or localhost only",
        ));
    }
    Ok(url)
}

/// Checks that `addr` is a loopback address.
pub fn check_listen(addr: SocketAddr) -> Result<(), ProxyError> {
    match addr.ip() {
        IpAddr::V4(a) if a.is_loopback() => Ok(()),
        IpAddr::V6(a) if a.is_loopback() => Ok(()),
        _ => Err(ProxyError::ListenNotLoopback(addr)),
    }
}

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub upstream: String,
    pub listen: SocketAddr,
    /// The longest the proxy waits for an upstream's whole answer.
    pub timeout: Duration,
    /// How long a client connection may take to send a complete request head (also the
    /// longest it may sit idle between requests) before the proxy closes it
    /// ([`crate::loopback`]).
    pub header_read_timeout: Duration,
}

impl ProxyConfig {
    /// A proxy in front of `upstream` on a free loopback port, with the command's defaults: a
    /// 30 s upstream timeout and the loop's default header-read timeout.
    pub fn new(upstream: impl Into<String>) -> ProxyConfig {
        ProxyConfig {
            upstream: upstream.into(),
            listen: SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            timeout: Duration::from_secs(30),
            header_read_timeout: crate::loopback::DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}

/// The runtime the proxy runs on: one thread. A client waits for the proxy's two extra socket
/// hops, and on a multi-threaded runtime each hop could wake another worker: in a pair of
/// proxy bench runs one boto3 client lost 19.9% of its direct rate through a proxy on two
/// workers and 8.8% through one on a single thread (README, "Judge your own traffic"). One
/// thread forwards and judges twelve thousand exchanges a second in the Rust-driver bench, more
/// than real clients send.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Called with each judged exchange and its raw form, on the judge task (prints findings,
/// records HAR entries).
pub type OnJudged = Box<dyn FnMut(&RawExchange, &Judged, &[Secret]) + Send>;

/// A running proxy.
pub struct RunningProxy {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    judge: Option<tokio::task::JoinHandle<()>>,
    observer: Arc<Mutex<Observer>>,
}

impl RunningProxy {
    /// The URL clients point their endpoint at.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn observer(&self) -> &Arc<Mutex<Observer>> {
        &self.observer
    }

    /// Stops accepting connections, finishes in-flight exchanges and judges every one of them.
    pub async fn shutdown(mut self) -> Arc<Mutex<Observer>> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.server.take() {
            let _ = t.await;
        }
        if let Some(t) = self.judge.take() {
            let _ = t.await;
        }
        self.observer.clone()
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

struct Shared {
    /// Idle upstream connections, most recently used last.
    idle: Mutex<Vec<Sender>>,
    /// The upstream's loopback addresses.
    addr: Vec<SocketAddr>,
    /// The upstream's host and port, as `Host` for a request that came without one.
    authority: http::HeaderValue,
    /// The upstream URL's path without its final `/` (usually empty), put before each
    /// request's own path.
    prefix: String,
    timeout: Duration,
    to_judge: mpsc::UnboundedSender<Seen>,
}

/// One exchange as the forwarding saw it, turned into a [`RawExchange`] on the judge task.
struct Seen {
    request: http::request::Parts,
    body: Bytes,
    answer: Answer,
    started: time::OffsetDateTime,
    elapsed_ms: u64,
}

impl Seen {
    fn into_raw(self) -> RawExchange {
        let strings = |h: &HeaderMap| -> Vec<(String, String)> {
            h.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect()
        };
        RawExchange {
            method: self.request.method.as_str().to_owned(),
            path_and_query: path_and_query(&self.request.uri).to_owned(),
            request_headers: strings(&self.request.headers),
            request_body: self.body.to_vec(),
            response: match self.answer {
                Ok((status, h, b)) => Ok((status.as_u16(), strings(&h), b.to_vec())),
                Err((_, why)) => Err(why),
            },
            started: self.started,
            elapsed_ms: self.elapsed_ms,
        }
    }
}

fn path_and_query(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

/// Starts the proxy on `config.listen`, judging with `observer` and calling `on_judged` for
/// each exchange.
pub async fn start(
    config: ProxyConfig,
    observer: Observer,
    mut on_judged: OnJudged,
) -> Result<RunningProxy, ProxyError> {
    check_listen(config.listen)?;
    let upstream = check_upstream(&config.upstream)?;
    let bad = |why: String| ProxyError::BadUpstream(config.upstream.clone(), why);
    let authority = &upstream[url::Position::BeforeHost..url::Position::AfterPort];
    let authority = http::HeaderValue::from_str(authority).map_err(|e| bad(e.to_string()))?;
    // `localhost` resolves here, once; only its loopback addresses are used.
    let addr: Vec<SocketAddr> = upstream
        .socket_addrs(|| Some(80))
        .map_err(|e| bad(format!("cannot resolve the host: {e}")))?
        .into_iter()
        .filter(|a| a.ip().is_loopback())
        .collect();
    if addr.is_empty() {
        return Err(bad("the host resolves to no loopback address".into()));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ProxyError::Bind {
            addr: config.listen,
            reason: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| ProxyError::Bind {
        addr: config.listen,
        reason: e.to_string(),
    })?;
    let observer = Arc::new(Mutex::new(observer));
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    let judge = {
        let observer = observer.clone();
        tokio::spawn(async move {
            while let Some(seen) = rx.recv().await {
                let raw = seen.into_raw();
                let mut obs = observer.lock().unwrap_or_else(|p| p.into_inner());
                match obs.observe(&raw, time::OffsetDateTime::now_utc()) {
                    Some(j) => on_judged(&raw, &j, obs.secrets()),
                    None => obs.skip(),
                }
            }
        })
    };
    let shared = Arc::new(Shared {
        idle: Mutex::new(Vec::new()),
        addr,
        authority,
        prefix: upstream.path().trim_end_matches('/').to_owned(),
        timeout: config.timeout,
        to_judge: tx,
    });
    let service = hyper::service::service_fn(move |req: http::Request<RequestBody>| {
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(forward(&shared, req).await) }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        crate::loopback::serve(listener, service, config.header_read_timeout, async {
            let _ = stopped.await;
        })
        .await;
        // The service (and with it the last sender) is dropped here, which ends the judge task.
    });
    Ok(RunningProxy {
        url: format!("http://{local}/"),
        stop: Some(stop),
        server: Some(server),
        judge: Some(judge),
        observer,
    })
}

type Response = http::Response<Full<Bytes>>;

async fn forward(s: &Shared, req: http::Request<RequestBody>) -> Response {
    let started = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let (request, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        // A trickling body is cut off by the server loop's deadline: 408, connection closed.
        Err(e) if crate::loopback::is_body_read_timeout(&*e) => {
            return crate::loopback::body_timeout_response(&*e);
        }
        Err(e) => return text(413, &format!("iam-contract proxy: request body: {e}")),
    };
    let answer = send(s, &request, body.clone()).await;
    let response = match &answer {
        Ok((status, h, b)) => {
            let mut r = http::Response::new(Full::new(b.clone()));
            *r.status_mut() = *status;
            let headers = r.headers_mut();
            for (k, v) in h {
                if !HOP_BY_HOP.contains(&k.as_str()) {
                    headers.append(k, v.clone());
                }
            }
            r
        }
        Err((status, why)) => text(*status, &format!("iam-contract proxy: {why}")),
    };
    let _ = s.to_judge.send(Seen {
        request,
        body,
        answer,
        started,
        elapsed_ms: clock.elapsed().as_millis() as u64,
    });
    response
}

type Answer = Result<(StatusCode, HeaderMap, Bytes), (u16, String)>;

/// Sends the request on unchanged and reads the answer, capped in size and time.
async fn send(s: &Shared, request: &http::request::Parts, body: Bytes) -> Answer {
    let pq = path_and_query(&request.uri);
    let pq: http::uri::PathAndQuery = if s.prefix.is_empty() {
        pq.parse()
    } else {
        format!("{}{pq}", s.prefix).parse()
    }
    .map_err(|e| (502, format!("cannot forward to the upstream: {e}")))?;
    let mut out = http::Request::new(Full::new(body));
    *out.method_mut() = request.method.clone();
    *out.uri_mut() = http::Uri::from(pq);
    let headers = out.headers_mut();
    for (k, v) in &request.headers {
        // Host goes on as the client sent it: SigV4 signed it.
        if !HOP_BY_HOP.contains(&k.as_str()) {
            headers.append(k, v.clone());
        }
    }
    if !headers.contains_key(http::header::HOST) {
        headers.insert(http::header::HOST, s.authority.clone());
    }
    let too_large = || {
        (
            502,
            format!("upstream answer larger than {MAX_RESPONSE_BYTES} bytes, cut off"),
        )
    };
    let exchange = async {
        let (sender, resp) = send_on_a_connection(s, out).await?;
        let (parts, body) = resp.into_parts();
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(too_large());
        }
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    too_large()
                } else {
                    (502, format!("upstream failed: {}", chain(e.as_ref())))
                }
            })?
            .to_bytes();
        let mut idle = s.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_UPSTREAM {
            idle.push(sender);
        }
        Ok((parts.status, parts.headers, body))
    };
    tokio::time::timeout(s.timeout, exchange)
        .await
        .unwrap_or_else(|_| Err((504, "upstream timed out".into())))
}

/// Sends `out` on an idle upstream connection, or on a new one when none is idle. A request
/// that an idle connection gives back unsent (the upstream closed it between requests, as a
/// keep-alive timeout does) goes once more, on a new connection.
async fn send_on_a_connection(
    s: &Shared,
    mut out: http::Request<Full<Bytes>>,
) -> Result<(Sender, http::Response<hyper::body::Incoming>), (u16, String)> {
    let failed = |e: &hyper::Error| (502, format!("upstream failed: {}", chain(e)));
    loop {
        let idle = s.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let Some(mut sender) = idle else { break };
        if sender.ready().await.is_err() {
            continue;
        }
        match sender.try_send_request(out).await {
            Ok(resp) => return Ok((sender, resp)),
            Err(mut e) => match e.take_message() {
                Some(unsent) => out = unsent,
                None => return Err(failed(e.error())),
            },
        }
    }
    let mut sender = connect(s).await?;
    let resp = sender.send_request(out).await.map_err(|e| failed(&e))?;
    Ok((sender, resp))
}

/// A new HTTP/1 connection to the upstream, its I/O driven by a task of its own.
async fn connect(s: &Shared) -> Result<Sender, (u16, String)> {
    let tcp = async {
        let tcp = tokio::net::TcpStream::connect(&s.addr[..]).await?;
        // Without it Nagle's algorithm holds small requests back for tens of milliseconds.
        tcp.set_nodelay(true)?;
        Ok::<_, std::io::Error>(tcp)
    };
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tcp).await {
        Ok(Ok(tcp)) => tcp,
        _ => return Err((502, "cannot connect to the upstream".to_owned())),
    };
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .map_err(|e| (502, format!("upstream failed: {}", chain(&e))))?;
    tokio::spawn(async move {
        // The connection ends when the upstream closes it or the last sender is dropped; an
        // error here has already reached the request it belonged to.
        let _ = conn.await;
    });
    Ok(sender)
}

/// An error and its sources on one line (hyper's own message names only the stage that failed;
/// none of them holds a header).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn text(status: u16, body: &str) -> Response {
    let mut r = http::Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

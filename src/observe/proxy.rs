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
//! Must not: listen on or forward to anything but loopback, or follow a redirect (a redirect is
//! an answer, returned to the client as it is).

use super::{Judged, Observer, RawExchange};
use crate::client::MAX_RESPONSE_BYTES;
use crate::loopback::RequestBody;
use crate::secret::Secret;
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

/// Checks that `upstream` is an http(s) URL on a loopback host.
pub fn check_upstream(upstream: &str) -> Result<url::Url, ProxyError> {
    let bad = |why: &str| ProxyError::BadUpstream(upstream.to_owned(), why.to_owned());
    let url = url::Url::parse(upstream).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("expected an http:// or https:// URL"));
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

struct Shared {
    http: reqwest::Client,
    upstream: String,
    to_judge: mpsc::UnboundedSender<RawExchange>,
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
    let http = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ProxyError::BadUpstream(config.upstream.clone(), e.to_string()))?;
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
    let (tx, mut rx) = mpsc::unbounded_channel::<RawExchange>();
    let judge = {
        let observer = observer.clone();
        tokio::spawn(async move {
            while let Some(raw) = rx.recv().await {
                let mut obs = observer.lock().unwrap_or_else(|p| p.into_inner());
                match obs.observe(&raw, time::OffsetDateTime::now_utc()) {
                    Some(j) => on_judged(&raw, &j, obs.secrets()),
                    None => obs.skip(),
                }
            }
        })
    };
    let shared = Arc::new(Shared {
        http,
        upstream: upstream.as_str().trim_end_matches('/').to_owned(),
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
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        // A trickling body is cut off by the server loop's deadline: 408, connection closed.
        Err(e) if crate::loopback::is_body_read_timeout(&*e) => {
            return crate::loopback::body_timeout_response(&*e);
        }
        Err(e) => return text(413, &format!("iam-contract proxy: request body: {e}")),
    };
    let answer = send(s, &parts, &path_and_query, body.clone()).await;
    let elapsed_ms = clock.elapsed().as_millis() as u64;
    let response = match &answer {
        Ok((status, h, b)) => Ok((*status, h.clone(), b.to_vec())),
        Err((_, why)) => Err(why.clone()),
    };
    let _ = s.to_judge.send(RawExchange {
        method: parts.method.as_str().to_owned(),
        path_and_query,
        request_headers: headers,
        request_body: body.to_vec(),
        response,
        started,
        elapsed_ms,
    });
    match answer {
        Ok((status, h, b)) => {
            let mut builder = http::Response::builder().status(status);
            for (k, v) in &h {
                if !HOP_BY_HOP.contains(&k.as_str()) {
                    builder = builder.header(k.as_str(), v.as_str());
                }
            }
            builder
                .body(Full::new(b))
                .unwrap_or_else(|_| text(502, "iam-contract proxy: unusable upstream headers"))
        }
        Err((status, why)) => text(status, &format!("iam-contract proxy: {why}")),
    }
}

type Answer = Result<(u16, Vec<(String, String)>, Bytes), (u16, String)>;

/// Sends the request on unchanged and reads the answer, capped in size and time.
async fn send(
    s: &Shared,
    parts: &http::request::Parts,
    path_and_query: &str,
    body: Bytes,
) -> Answer {
    let url = format!("{}{path_and_query}", s.upstream);
    let mut builder = s.http.request(parts.method.clone(), &url);
    for (k, v) in &parts.headers {
        // Host goes on as the client sent it: SigV4 signed it.
        if !HOP_BY_HOP.contains(&k.as_str()) {
            builder = builder.header(k, v);
        }
    }
    let resp = builder.body(body).send().await.map_err(classify)?;
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let too_large = || {
        (
            502,
            format!("upstream answer larger than {MAX_RESPONSE_BYTES} bytes, cut off"),
        )
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body.into()))
}

fn classify(e: reqwest::Error) -> (u16, String) {
    if e.is_timeout() {
        (504, "upstream timed out".into())
    } else if e.is_connect() {
        (502, "cannot connect to the upstream".into())
    } else {
        // reqwest's messages name the URL at most, never a header.
        (502, format!("upstream failed: {e}"))
    }
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

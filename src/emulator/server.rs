//! The emulator's socket server: a thin hyper adapter around [`Emulator::handle`], bound to a
//! loopback address only and served by [`crate::loopback::serve`] (keep-alive, header-read
//! timeout, graceful stop), plus the in-process API ([`start`], [`RunningEmulator`]).
//!
//! It converts requests and responses and honours the handler's `delay`; it makes no protocol
//! decisions of its own. It refuses to bind anything but a loopback address.

use super::{Config, Emulator, EmulatorError, HttpRequest, HttpResponse};
use crate::credentials::Credentials;
use crate::loopback::RequestBody;
use http::Response;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running emulator. Dropping it stops the server (without waiting); call
/// [`RunningEmulator::shutdown`] to wait for it to stop.
#[derive(Debug)]
pub struct RunningEmulator {
    url: String,
    addr: SocketAddr,
    emulator: Arc<Emulator>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The endpoint URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap user's credentials.
    pub fn credentials(&self) -> &Credentials {
        self.emulator.credentials()
    }

    /// The handler behind the socket (to inspect configuration or call it directly).
    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    /// Stops accepting connections, finishes in-flight requests and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts an emulator on `config.listen` (default `127.0.0.1:0`, a free port) in the current
/// tokio runtime.
pub async fn start(config: Config) -> Result<RunningEmulator, EmulatorError> {
    let addr = config
        .listen
        .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    if !addr.ip().is_loopback() {
        return Err(EmulatorError::NotLoopback { addr });
    }
    let header_read_timeout = config.header_read_timeout;
    let emulator = Arc::new(Emulator::new(config)?);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| EmulatorError::Bind {
            addr,
            reason: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| EmulatorError::Bind {
        addr,
        reason: e.to_string(),
    })?;
    let service = {
        let emulator = emulator.clone();
        hyper::service::service_fn(move |req| {
            let emulator = emulator.clone();
            async move { Ok::<_, std::convert::Infallible>(serve_one(emulator, req).await) }
        })
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(crate::loopback::serve(
        listener,
        service,
        header_read_timeout,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(RunningEmulator {
        url: format!("http://{local}/"),
        addr: local,
        emulator,
        stop: Some(stop),
        task: Some(task),
    })
}

async fn serve_one(emu: Arc<Emulator>, req: http::Request<RequestBody>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // One byte over the limit is still read, so the handler itself answers that size (as it
    // answers a body over the limit that arrives whole); anything longer stops here.
    let limited = Limited::new(body, emu.max_body_bytes().saturating_add(1));
    let resp = match limited.collect().await {
        // A body that did not arrive in time gets the server loop's 408 and a closed
        // connection; it never reached IAM's semantics.
        Err(e) if crate::loopback::is_body_read_timeout(&*e) => {
            return crate::loopback::body_timeout_response(&*e);
        }
        // Over the limit, or a body the client broke off: the handler never sees it.
        Err(_) => emu.payload_too_large(),
        Ok(collected) => {
            let request = HttpRequest {
                method: parts.method.as_str().to_owned(),
                path_and_query: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/".to_owned()),
                headers: parts
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
                body: collected.to_bytes().into(),
            };
            if emu.may_block() {
                let e = emu.clone();
                match tokio::task::spawn_blocking(move || e.handle(&request)).await {
                    Ok(r) => r,
                    Err(_) => emu.service_failure(),
                }
            } else {
                emu.handle(&request)
            }
        }
    };
    if !resp.delay.is_zero() {
        tokio::time::sleep(resp.delay).await;
    }
    to_http(resp)
}

fn to_http(r: HttpResponse) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(r.status);
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(Bytes::from(r.body))).unwrap_or_else(|_| {
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

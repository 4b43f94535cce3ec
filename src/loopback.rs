//! The HTTP/1 server loop that the emulator and the proxy share: it accepts connections on a
//! listener the caller bound (and checked to be loopback), serves each with hyper's HTTP/1
//! connection (keep-alive, Nagle off), closes a connection whose request head has not fully
//! arrived within the header-read timeout, and stops gracefully when told to.
//!
//! The header-read timeout is hyper's: its clock starts whenever the connection waits for a
//! request head, so it closes both a half-sent head and an idle keep-alive connection that
//! sends nothing more, and a slow or stuck client cannot hold the server's connections open.
//!
//! The same timeout bounds the request body: a body that has not arrived in full that long
//! after its head (one byte a second on a `Content-Length: 1000` request) ends in an error from
//! [`RequestBody`], which the service answers with [`body_timeout_response`] (`408`, and the
//! connection closed), so a trickling body cannot hold a connection or a task either.
//! It makes no protocol decisions: the service it is given answers every request.

use std::time::Duration;

/// How long a connection may take to send a complete request head, counted from when the
/// server starts waiting for it (after the connection opens, and after each answer on a
/// keep-alive connection). AWS SDKs reuse an idle connection within a few seconds or open a
/// new one, so closing after five costs a client nothing.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest header-read timeout accepted, so that a typo cannot switch the protection off.
pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3600);

/// A request body as the services behind [`serve`] read it: hyper's body, which ends in a
/// [`BodyReadTimeout`] error when it has not arrived in full within the read timeout, counted
/// from when the service is handed the request (its head complete).
///
/// The timeout is the header-read timeout's, not a second option: both bound how long a client
/// may take to send one request, and the one reason to raise either (a request typed by hand
/// into `nc`, a client paused in a debugger) applies to the body as much as to the head. IAM
/// bodies are a few kilobytes, on loopback they arrive in microseconds, so a legitimate client
/// never comes near five seconds. The whole body is bounded, not the gap between its bytes:
/// an idle gap bound would let a byte every second through forever.
#[cfg(feature = "net")]
pub struct RequestBody {
    inner: hyper::body::Incoming,
    deadline: tokio::time::Instant,
    timeout: Duration,
    // Made only when the body is not there at once: a request whose body came with its head
    // (nearly every one) costs no timer and no allocation.
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

#[cfg(feature = "net")]
impl RequestBody {
    fn new(inner: hyper::body::Incoming, timeout: Duration) -> RequestBody {
        RequestBody {
            inner,
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
            sleep: None,
        }
    }
}

#[cfg(feature = "net")]
impl hyper::body::Body for RequestBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future;
        use std::task::Poll;
        let this = self.get_mut();
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimeout(this.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The error a [`RequestBody`] ends in when it did not arrive in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout(pub Duration);

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s of its head",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for BodyReadTimeout {}

/// Whether `e`, an error from reading a [`RequestBody`] (also through `http_body_util::Limited`,
/// which passes it on boxed), is the body-read timeout rather than a broken or oversized body.
pub fn is_body_read_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<BodyReadTimeout>().is_some()
}

/// The answer to a request whose body timed out: `408 Request Timeout` with a one-line text
/// body, and `Connection: close`, since the rest of the body may still be on its way and the
/// connection cannot carry another request after it.
#[cfg(feature = "net")]
pub fn body_timeout_response(
    e: &(dyn std::error::Error + 'static),
) -> http::Response<http_body_util::Full<hyper::body::Bytes>> {
    let mut r = http::Response::new(http_body_util::Full::new(hyper::body::Bytes::from(
        format!("{e}\n"),
    )));
    *r.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    r
}

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting, lets every
/// open connection finish the request it is on, and returns when all have closed.
/// `read_timeout` bounds a request's head (and an idle keep-alive connection) and, separately,
/// its body (see [`RequestBody`]).
#[cfg(feature = "net")]
pub async fn serve<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) where
    S: hyper::service::Service<http::Request<RequestBody>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    use std::pin::pin;
    use tokio::sync::watch;

    // `finish` tells open connections to finish; every connection task holds a clone of
    // `open`, so `open_tx.closed()` completes when the last one has ended.
    let (finish_tx, finish_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning; a
                    // connection reset before it was accepted is simply skipped.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Small request/response pairs on keep-alive connections: Nagle would add 40 ms stalls.
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let mut finish = finish_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout)
                .keep_alive(true);
            // hyper has no body-read timeout: every request's body gets its deadline here.
            let service = hyper::service::service_fn(move |req: http::Request<_>| {
                service.call(req.map(|body| RequestBody::new(body, read_timeout)))
            });
            let mut conn = pin!(builder.serve_connection(TokioIo::new(tcp), service));
            tokio::select! {
                // An error here is the client's doing (a reset, a malformed or late head):
                // the connection is closed and there is no one to tell.
                _ = conn.as_mut() => {}
                _ = finish.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = finish_tx.send(());
    drop(open_rx);
    open_tx.closed().await;
}

/// Parses a header-read timeout given in seconds (`5`, `0.5`): more than zero and at most
/// [`MAX_HEADER_READ_TIMEOUT`].
pub fn parse_timeout_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_HEADER_READ_TIMEOUT.as_secs_f64()) {
        return Err(format!(
            "must be more than 0 and at most {} seconds",
            MAX_HEADER_READ_TIMEOUT.as_secs()
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_in_seconds_within_bounds() {
        assert_eq!(parse_timeout_secs("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_timeout_secs(" 0.25 "), Ok(Duration::from_millis(250)));
        assert_eq!(parse_timeout_secs("3600"), Ok(MAX_HEADER_READ_TIMEOUT));
        for bad in ["0", "-1", "3601", "NaN", "inf", "", "5s"] {
            assert!(parse_timeout_secs(bad).is_err(), "{bad:?}");
        }
    }
}

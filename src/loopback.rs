//! The HTTP/1 server loop that the emulator and the proxy share: it accepts connections on a
//! listener the caller bound (and checked to be loopback), serves each with hyper's HTTP/1
//! connection (keep-alive, Nagle off), closes a connection whose request head has not fully
//! arrived within the header-read timeout, and stops gracefully when told to.
//!
//! The header-read timeout is hyper's: its clock starts whenever the connection waits for a
//! request head, so it closes both a half-sent head and an idle keep-alive connection that
//! sends nothing more, and a slow or stuck client cannot hold the server's connections open.
//! It makes no protocol decisions: the service it is given answers every request.

use std::time::Duration;

/// How long a connection may take to send a complete request head, counted from when the
/// server starts waiting for it (after the connection opens, and after each answer on a
/// keep-alive connection). AWS SDKs reuse an idle connection within a few seconds or open a
/// new one, so closing after five costs a client nothing.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest header-read timeout accepted, so that a typo cannot switch the protection off.
pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3600);

/// Serves `service` on `listener` until `shutdown` completes, then stops accepting, lets every
/// open connection finish the request it is on, and returns when all have closed.
#[cfg(feature = "net")]
pub async fn serve<S, B>(
    listener: tokio::net::TcpListener,
    service: S,
    header_read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
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
                .header_read_timeout(header_read_timeout)
                .keep_alive(true);
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

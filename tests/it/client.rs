//! The transport against hostile endpoints: a raw TCP server on loopback answers with a redirect
//! elsewhere or with a body without end, and the client must neither follow nor drown.

use iam_contract::client::{Client, Credentials, MAX_RESPONSE_BYTES, TransportError};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn creds() -> Credentials {
    Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    )
}

/// Serves one connection: reads the request head, then writes `head` and `body_len` bytes of
/// body in 64 KiB pieces (stopping quietly when the client hangs up).
fn serve_once(head: String, body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 8192];
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read(&mut buf);
        if s.write_all(head.as_bytes()).is_err() {
            return;
        }
        let piece = vec![b'a'; 64 << 10];
        let mut sent = 0;
        while sent < body_len {
            let n = piece.len().min(body_len - sent);
            if s.write_all(&piece[..n]).is_err() {
                return;
            }
            sent += n;
        }
    });
    url
}

#[test]
fn a_redirect_is_returned_not_followed() {
    // Where the redirect points: a listener that records whether anyone came.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!("http://{}/", elsewhere.local_addr().unwrap());
    let url = serve_once(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        0,
    );
    let client = Client::new(&url, Some(creds())).unwrap();
    let params = vec![("Action".to_owned(), "GetUser".to_owned())];
    let resp = rt().block_on(client.call(&params)).expect("an answer");
    assert_eq!(resp.status, 307);
    assert_eq!(resp.header("location"), Some(target.as_str()));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        elsewhere.accept().is_err(),
        "the client followed the redirect to {target}"
    );
}

#[test]
fn an_endless_body_is_cut_off_with_a_clear_error() {
    let url = serve_once(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n".into(),
        MAX_RESPONSE_BYTES + (1 << 20),
    );
    let client = Client::new(&url, Some(creds())).unwrap();
    let params = vec![("Action".to_owned(), "GetUser".to_owned())];
    let err = rt().block_on(client.call(&params)).expect_err("too large");
    assert!(
        matches!(err, TransportError::TooLarge { limit, .. } if limit == MAX_RESPONSE_BYTES),
        "{err}"
    );
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[test]
fn a_declared_huge_body_is_refused_before_reading_it() {
    let url = serve_once(
        "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\nConnection: close\r\n\r\n".into(),
        64 << 10,
    );
    let client = Client::new(&url, Some(creds())).unwrap();
    let params = vec![("Action".to_owned(), "GetUser".to_owned())];
    let err = rt().block_on(client.call(&params)).expect_err("too large");
    assert!(matches!(err, TransportError::TooLarge { .. }), "{err}");
}

#[test]
fn a_body_just_under_the_limit_is_read_whole() {
    let len = MAX_RESPONSE_BYTES - 10;
    let url = serve_once(
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"),
        len,
    );
    let client = Client::new(&url, Some(creds())).unwrap();
    let params = vec![("Action".to_owned(), "GetUser".to_owned())];
    let resp = rt().block_on(client.call(&params)).expect("read whole");
    assert_eq!(resp.body.len(), len);
}

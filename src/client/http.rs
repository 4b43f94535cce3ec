//! The HTTP transport: builds, signs and sends awsQuery requests with reqwest.
//!
//! A [`RawRequest`] is whatever the caller wants on the wire, malformed on purpose if need be;
//! [`Signing`] says how (or whether) to sign it. Responses come back as bytes: judging them is
//! the contract's job, not the transport's.

use super::{Credentials, MAX_RESPONSE_BYTES, Scope, Signing, sign_headers};
use std::time::{Duration, SystemTime};

/// A request as it will be sent. `path_and_query` starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The ordinary awsQuery request: `POST /` with a form body.
    pub fn form(params: &[(String, String)]) -> RawRequest {
        RawRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: crate::wire::encode_form(params).into_bytes(),
        }
    }

    /// The same parameters as a `GET` query string.
    pub fn query(params: &[(String, String)]) -> RawRequest {
        RawRequest {
            method: "GET".into(),
            path_and_query: format!("/?{}", crate::wire::encode_form(params)),
            headers: vec![],
            body: vec![],
        }
    }
}

/// The endpoint answered; status, headers and body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The request could not be made or no answer came back.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid endpoint URL {url:?}: {reason}")]
    BadEndpoint { url: String, reason: String },
    #[error("could not connect to the endpoint URL: \"{url}\"")]
    Connect { url: String },
    #[error("request to {url} timed out")]
    Timeout { url: String },
    #[error("request to {url} failed: {reason}")]
    Other { url: String, reason: String },
    #[error(transparent)]
    Sign(#[from] super::SignError),
    #[error("no credentials to sign with")]
    NoCredentials,
    #[error("the response from {url} is larger than {limit} bytes; the rest was not read")]
    TooLarge { url: String, limit: usize },
}

/// A client for one endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    credentials: Option<Credentials>,
    scope: Scope,
    /// Incremented once per request put on the wire (retries included), when set.
    counter: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl Client {
    /// A client for `endpoint` (for example `http://127.0.0.1:4566/`).
    pub fn new(endpoint: &str, credentials: Option<Credentials>) -> Result<Client, TransportError> {
        let url = reqwest::Url::parse(endpoint).map_err(|e| TransportError::BadEndpoint {
            url: endpoint.into(),
            reason: e.to_string(),
        })?;
        if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
            return Err(TransportError::BadEndpoint {
                url: endpoint.into(),
                reason: "expected an http:// or https:// URL with a host".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(64)
            .no_proxy()
            // A redirect is an answer to judge, never an instruction: following one could send
            // signed traffic to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Other {
                url: endpoint.into(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            http,
            endpoint: url,
            credentials,
            scope: Scope::default(),
            counter: None,
        })
    }

    /// The same client, counting every request it sends in `counter` (clones share it), so a
    /// caller can hold a run, cleanup included, to a request budget.
    pub fn with_request_counter(
        mut self,
        counter: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> Client {
        self.counter = Some(counter);
        self
    }

    pub fn with_scope(mut self, scope: Scope) -> Client {
        self.scope = scope;
        self
    }

    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Whether the endpoint's host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        match self.endpoint.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    }

    /// Sends a signed awsQuery `POST` with these parameters.
    pub async fn call(&self, params: &[(String, String)]) -> Result<RawResponse, TransportError> {
        self.send(&RawRequest::form(params), &Signing::Normal).await
    }

    /// Sends a raw request, signed as asked.
    pub async fn send(
        &self,
        req: &RawRequest,
        signing: &Signing,
    ) -> Result<RawResponse, TransportError> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let url = format!("{base}{}", req.path_and_query);
        let host = match self.endpoint.port() {
            Some(p) => format!("{}:{p}", self.endpoint.host_str().unwrap_or_default()),
            None => self.endpoint.host_str().unwrap_or_default().to_owned(),
        };
        let mut headers = req.headers.clone();
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            headers.push(("host".into(), host));
        }
        let (creds, scope, time) = match signing {
            Signing::Unsigned => (None, self.scope.clone(), SystemTime::now()),
            Signing::Normal | Signing::Corrupted => (
                self.credentials.clone(),
                self.scope.clone(),
                SystemTime::now(),
            ),
            Signing::As(c) => (Some(c.clone()), self.scope.clone(), SystemTime::now()),
            Signing::Scope(s) => (self.credentials.clone(), s.clone(), SystemTime::now()),
            Signing::Skewed(secs) => {
                let now = SystemTime::now();
                let t = if *secs >= 0 {
                    now + Duration::from_secs(secs.unsigned_abs())
                } else {
                    now - Duration::from_secs(secs.unsigned_abs())
                };
                (self.credentials.clone(), self.scope.clone(), t)
            }
        };
        if !matches!(signing, Signing::Unsigned) {
            let creds = creds.ok_or(TransportError::NoCredentials)?;
            let mut added =
                sign_headers(&req.method, &url, &headers, &req.body, &creds, &scope, time)?;
            if matches!(signing, Signing::Corrupted) {
                for (k, v) in &mut added {
                    if k.eq_ignore_ascii_case("authorization")
                        && let Some(i) = v.find("Signature=")
                    {
                        let sig_len = v.len() - (i + 10);
                        v.replace_range(i + 10.., &"0".repeat(sig_len));
                    }
                }
            }
            headers.extend(added);
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| {
            TransportError::Other {
                url: url.clone(),
                reason: e.to_string(),
            }
        })?;
        let mut builder = self.http.request(method, &url);
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case("host") {
                builder = builder.header(k, v);
            }
        }
        if let Some(c) = &self.counter {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let resp = builder
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| classify(&url, e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let too_large = || TransportError::TooLarge {
            url: url.clone(),
            limit: MAX_RESPONSE_BYTES,
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&url, e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

fn classify(url: &str, e: reqwest::Error) -> TransportError {
    if e.is_connect() {
        TransportError::Connect { url: url.into() }
    } else if e.is_timeout() {
        TransportError::Timeout { url: url.into() }
    } else {
        // reqwest's messages can include the URL but never headers, so no credential leaks.
        TransportError::Other {
            url: url.into(),
            reason: e.to_string(),
        }
    }
}

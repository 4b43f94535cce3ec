//! HAR 1.2 (the HTTP Archive format browsers and API tools read and write): the exchanges a
//! proxy session saw, recorded with their timings, and read back by `verify`.
//!
//! Writing redacts before anything leaves memory: the `Authorization` header's `Signature=`, the
//! `X-Amz-Signature` and `X-Amz-Security-Token` query and form parameters and header, and (the
//! response bodies being the redacted bodies of [`Exchange`]) every `SecretAccessKey` element
//! and every secret seen. Reading accepts any HAR 1.2 file, another tool's too; a file that is
//! not HAR is an error naming the JSON path and the problem.
//!
//! Must not: do IO (the caller reads and writes the file, and runs the secret tripwire over it),
//! or keep a signature, a session token or a secret in an entry.

use super::RawExchange;
use crate::contract::Exchange;
use serde::{Deserialize, Serialize};

/// What redacted values read in a recording.
pub const REDACTED: &str = "redacted";

/// Query and form parameters whose values are credentials.
pub const SECRET_PARAMS: &[&str] = &["X-Amz-Signature", "X-Amz-Security-Token"];

/// Headers whose whole value is a credential.
const SECRET_HEADERS: &[&str] = &[
    "x-amz-security-token",
    "x-amz-signature",
    "cookie",
    "set-cookie",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    pub version: String,
    pub creator: Creator,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Creator {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    /// Total time of the exchange, in milliseconds.
    pub time: f64,
    pub request: HarRequest,
    pub response: HarResponse,
    #[serde(default)]
    pub cache: serde_json::Value,
    pub timings: Timings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarRequest {
    pub method: String,
    pub url: String,
    pub http_version: String,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    pub headers: Vec<NameValue>,
    #[serde(default)]
    pub query_string: Vec<NameValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    #[serde(default = "minus_one")]
    pub headers_size: i64,
    #[serde(default = "minus_one")]
    pub body_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarResponse {
    pub status: u16,
    #[serde(default)]
    pub status_text: String,
    #[serde(default)]
    pub http_version: String,
    #[serde(default)]
    pub cookies: Vec<serde_json::Value>,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    pub content: Content,
    #[serde(default, rename = "redirectURL")]
    pub redirect_url: String,
    #[serde(default = "minus_one")]
    pub headers_size: i64,
    #[serde(default = "minus_one")]
    pub body_size: i64,
    /// Why no answer came (HAR's custom fields start with `_`).
    #[serde(default, rename = "_error", skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    pub send: f64,
    pub wait: f64,
    pub receive: f64,
}

fn minus_one() -> i64 {
    -1
}

/// A file that is not HAR.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a HAR 1.x file: at {path}: {problem}")]
    NotHar { path: String, problem: String },
}

impl Har {
    /// An empty recording by this tool.
    pub fn new() -> Har {
        Har {
            log: Log {
                version: "1.2".into(),
                creator: Creator {
                    name: "iam-contract".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                entries: Vec::new(),
            },
        }
    }

    /// Reads a HAR file's text; the error names where and what is wrong.
    pub fn parse(text: &str) -> Result<Har, HarError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| HarError::NotJson(e.to_string()))?;
        let har: Har = serde_path_to_error::deserialize(value).map_err(|e| HarError::NotHar {
            path: e.path().to_string(),
            problem: e.inner().to_string(),
        })?;
        if !har.log.version.starts_with("1.") {
            return Err(HarError::NotHar {
                path: "log.version".into(),
                problem: format!("version {:?}, expected 1.x", har.log.version),
            });
        }
        Ok(har)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a HAR serialises")
    }
}

impl Default for Har {
    fn default() -> Self {
        Har::new()
    }
}

/// The entry for one exchange the proxy saw, with every credential redacted. `upstream` is the
/// base URL the request went to; the response body is the exchange's redacted body.
pub fn entry(upstream: &str, raw: &RawExchange, ex: &Exchange) -> Entry {
    let base = upstream.trim_end_matches('/');
    let path = redact_path(&raw.path_and_query);
    let url = format!("{base}{path}");
    let query_string = crate::wire::decode_form(raw.query().as_bytes())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| NameValue { name, value })
        .collect();
    let content_type = raw.header("content-type").unwrap_or_default().to_owned();
    let post_data = (!raw.request_body.is_empty()).then(|| PostData {
        mime_type: content_type,
        text: redact_query(&String::from_utf8_lossy(&raw.request_body)),
    });
    let (status, headers, text, error) = match (&ex.response, &raw.response) {
        (Some(r), _) => (r.status, r.headers.clone(), Some(r.body.clone()), None),
        (None, Err(e)) => (0, Vec::new(), None, Some(e.clone())),
        (None, Ok(_)) => (0, Vec::new(), None, ex.transport_error.clone()),
    };
    let mime = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let size = text.as_ref().map(|t| t.len() as i64).unwrap_or(0);
    Entry {
        started_date_time: raw
            .started
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        time: raw.elapsed_ms as f64,
        request: HarRequest {
            method: raw.method.clone(),
            url,
            http_version: "HTTP/1.1".into(),
            cookies: Vec::new(),
            headers: redact_headers(&raw.request_headers),
            query_string,
            post_data,
            headers_size: -1,
            body_size: raw.request_body.len() as i64,
        },
        response: HarResponse {
            status,
            status_text: http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or_default()
                .into(),
            http_version: "HTTP/1.1".into(),
            cookies: Vec::new(),
            headers: redact_headers(&headers),
            content: Content {
                size,
                mime_type: mime,
                text,
                encoding: None,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: size,
            error,
        },
        cache: serde_json::json!({}),
        timings: Timings {
            send: 0.0,
            wait: raw.elapsed_ms as f64,
            receive: 0.0,
        },
    }
}

/// An entry as the exchange it records; `Err` says why it cannot be one.
pub fn to_raw(e: &Entry) -> Result<RawExchange, String> {
    let path_and_query = match url::Url::parse(&e.request.url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(err) => return Err(format!("request.url {:?}: {err}", e.request.url)),
    };
    let started = time::OffsetDateTime::parse(
        &e.started_date_time,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|err| format!("startedDateTime {:?}: {err}", e.started_date_time))?;
    let mut request_headers: Vec<(String, String)> = e
        .request
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let request_body = e
        .request
        .post_data
        .as_ref()
        .map(|p| p.text.clone().into_bytes())
        .unwrap_or_default();
    if let Some(p) = &e.request.post_data
        && !request_headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        && !p.mime_type.is_empty()
    {
        request_headers.push(("content-type".into(), p.mime_type.clone()));
    }
    let response = if let Some(err) = &e.response.error {
        Err(err.clone())
    } else if e.response.status == 0 {
        Err("no response recorded".into())
    } else {
        let body = match (
            &e.response.content.text,
            e.response.content.encoding.as_deref(),
        ) {
            (Some(t), Some("base64")) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(t.trim())
                    .map_err(|err| format!("response.content.text is not base64: {err}"))?
            }
            (Some(t), _) => t.clone().into_bytes(),
            (None, _) => Vec::new(),
        };
        Ok((
            e.response.status,
            e.response
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
                .collect(),
            body,
        ))
    };
    Ok(RawExchange {
        method: e.request.method.clone(),
        path_and_query,
        request_headers,
        request_body,
        response,
        started,
        elapsed_ms: e.time.max(0.0) as u64,
    })
}

/// Headers with every credential redacted: the `Authorization` header keeps its scheme, key id,
/// scope and signed headers (they say how the request was signed) but not its signature.
pub fn redact_headers(headers: &[(String, String)]) -> Vec<NameValue> {
    headers
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let value = if lower == "authorization" {
                redact_authorization(v)
            } else if SECRET_HEADERS.contains(&lower.as_str()) {
                REDACTED.to_owned()
            } else {
                v.clone()
            };
            NameValue {
                name: k.clone(),
                value,
            }
        })
        .collect()
}

/// `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<hex>` with the signature
/// redacted; a scheme this does not know is redacted whole.
pub fn redact_authorization(v: &str) -> String {
    match v.find("Signature=") {
        Some(i) => {
            let start = i + "Signature=".len();
            let end = v[start..]
                .find([',', ' '])
                .map(|j| start + j)
                .unwrap_or(v.len());
            format!("{}{REDACTED}{}", &v[..start], &v[end..])
        }
        None => REDACTED.to_owned(),
    }
}

/// A query string or form body with the values of [`SECRET_PARAMS`] redacted.
pub fn redact_query(text: &str) -> String {
    text.split('&')
        .map(|piece| {
            let key = piece.split('=').next().unwrap_or_default();
            let decoded = crate::wire::decode_form(key.as_bytes())
                .ok()
                .and_then(|p| p.into_iter().next())
                .map(|(k, _)| k)
                .unwrap_or_default();
            if SECRET_PARAMS
                .iter()
                .any(|s| decoded.eq_ignore_ascii_case(s))
            {
                format!("{key}={REDACTED}")
            } else {
                piece.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn redact_path(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((p, q)) => format!("{p}?{}", redact_query(q)),
        None => path_and_query.to_owned(),
    }
}

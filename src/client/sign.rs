//! SigV4 signing of awsQuery requests with the `aws-sigv4` crate.
//!
//! Pure: the signing time is passed in. Signing is deliberately separate from sending so that
//! the contract suite can sign with a wrong secret, a skewed clock or a wrong scope, and so that
//! the emulator's tests can sign without a socket.

use super::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sigv4_sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

/// How to sign a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// With the client's credentials, scope and the current time.
    Normal,
    /// Not at all.
    Unsigned,
    /// With other credentials (a wrong secret, an unknown key, a freshly created key).
    As(Credentials),
    /// With the client's credentials but another scope (service or region).
    Scope(Scope),
    /// With the client's credentials at a time this many seconds from now.
    Skewed(i64),
    /// Sign normally, then replace the signature with this many zeros-and-ones garbage.
    Corrupted,
}

/// Where and when a request is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The signing name, `iam` (or `sts` for GetCallerIdentity).
    pub service: String,
    pub region: String,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            service: "iam".into(),
            region: "us-east-1".into(),
        }
    }
}

/// A signing failure: the request itself cannot be signed (for example a URL that does not
/// parse). Not an endpoint problem.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SignError(String);

/// Signs a request and returns the headers to add (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` with a session token). `headers` are the headers that will be sent
/// and signed (at least `host` and `content-type`).
pub fn sign_headers(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    credentials: &Credentials,
    scope: &Scope,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SignError> {
    let creds = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().to_owned(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        None,
        "iam-contract",
    );
    let identity: Identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?;
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sigv4_sign(signable, &params.into())
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

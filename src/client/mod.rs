//! Talking to an endpoint: credentials, endpoint resolution, SigV4 signing and (with the `net`
//! feature) the HTTP transport.

#[cfg(feature = "net")]
mod http;
mod sign;

pub use crate::credentials::{
    CredentialError, Credentials, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY,
};
#[cfg(feature = "net")]
pub use http::{Client, RawRequest, RawResponse, TransportError};
pub use sign::{Scope, SignError, Signing, sign_headers};

/// The most of a response body the clients read (reqwest's here, and the `endpoint` fuzz
/// target's). IAM answers are kilobytes (a full ListUsers page a few hundred); a hostile or
/// broken endpoint streaming without end must not exhaust the harness's memory.
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

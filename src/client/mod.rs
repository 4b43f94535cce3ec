//! Talking to an endpoint: credentials, endpoint resolution, SigV4 signing and (with the `net`
//! feature) the HTTP transport.

#[cfg(feature = "net")]
mod http;
mod sign;

pub use crate::credentials::{
    CredentialError, Credentials, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY,
};
#[cfg(feature = "net")]
pub use http::{Client, MAX_RESPONSE_BYTES, RawRequest, RawResponse, TransportError};
pub use sign::{Scope, SignError, Signing, sign_headers};

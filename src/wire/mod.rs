//! The awsQuery wire format: form encoding of requests, XML decoding and encoding of responses.
//!
//! Pure: no IO, no clock, no randomness, and no panic on any input. Decoders report what a
//! contract needs to know (wrong root, missing wrapper, unknown members, ill-formed XML, bytes
//! that are not UTF-8) as data instead of hiding it.

mod query;
mod xml;

pub use query::{FormError, decode_form, encode_form, params_from_input, percent_encode};
pub use xml::{
    Decoded, ErrorEnvelope, Outcome, WireProblem, XmlElement, decode_response, encode_error,
    encode_success, escape_text, parse_xml,
};

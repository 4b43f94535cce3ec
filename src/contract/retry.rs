//! When an answer means "slow down": the one test the runner and cleanup share for retrying
//! with back-off. Pure.
//!
//! IAM answers `400 Throttling`; the services that claim to speak it, and the gateways in front
//! of them, also say `ThrottlingException`, `RequestLimitExceeded`, `TooManyRequestsException`
//! or `SlowDown`, or just send HTTP 429 or 503. Any of them under any status is throttling.

use crate::model::Model;
use crate::wire::decode_response;

/// Error codes that ask the caller to slow down and try again.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
];

/// Whether an answer asks to be retried later: HTTP 429 or 503, or a throttling error code.
pub fn throttled(model: &Model, status: u16, body: &[u8]) -> bool {
    if status == 429 || status == 503 {
        return true;
    }
    if status < 400 {
        return false;
    }
    // Most 4xx of a run are validation errors: a substring test spares decoding them again.
    let text = String::from_utf8_lossy(body);
    if !THROTTLING_CODES.iter().any(|c| text.contains(c)) {
        return false;
    }
    // Decoded as any operation: the error envelope is the same for all of them.
    decode_response(model, "DeleteUser", body)
        .error()
        .and_then(|e| e.code.as_deref())
        .is_some_and(|c| THROTTLING_CODES.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> Vec<u8> {
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        )
        .into_bytes()
    }

    #[test]
    fn every_way_of_saying_slow_down_is_throttling() {
        let m = Model::embedded();
        for code in THROTTLING_CODES {
            assert!(throttled(m, 400, &error(code)), "{code}");
        }
        // An S3-style <Error> envelope, as gateways that also speak S3 send it.
        assert!(throttled(m, 503, b"<Error><Code>SlowDown</Code></Error>"));
        assert!(throttled(m, 400, b"<Error><Code>SlowDown</Code></Error>"));
        assert!(throttled(m, 429, b""));
        assert!(throttled(m, 503, b"<html>busy</html>"));
        for (status, body) in [
            (400, error("ValidationError")),
            (404, error("NoSuchEntity")),
            (500, error("ServiceFailure")),
            (200, error("Throttling")),
            (400, b"Throttling".to_vec()),
        ] {
            assert!(!throttled(m, status, &body), "{status}");
        }
    }
}

//! The JSON report: the serde form of [`Report`], pretty-printed, and its reader.
//!
//! Shape (stable; other tools read it):
//!
//! ```text
//! { "tool": "iam-contract 0.1.0",
//!   "target":  { "endpoint": "http://127.0.0.1:4566", "name": "moto", "profile": "model" },
//!   "summary": { "passed", "failed", "skipped", "expected_failures", "unexpected_passes",
//!                "cases_sent", "retries", "elapsed_ms" },
//!   "rules": [ { "id", "title", "class", "source", "profile",
//!                "status": "pass" | "fail" | "skip" | "expected-fail" | "unexpected-pass",
//!                "cases", "skip_reason"?, "baseline_reason"?,
//!                "findings": [ { "case": { "action", "params": [["Action", "CreateAccessKey"],
//!                                 ["UserName", "..."]], "method", "signing", "wire", "steps"? },
//!                                "observed": { "status", "code": "..." | null, "message",
//!                                              "excerpt", "transport_error" },
//!                                "expected", "replay", "fingerprint" } ] } ] }
//! ```
//!
//! `case.params` is a list of `[name, value]` pairs in the order sent, not an object, because
//! protocol cases send the same name twice. `observed.status` is 0 when no response came back.
//! The summary counts are as the runner recorded them (`Report::recount`). Writing and reading
//! never panic; this module does no IO.

use crate::contract::Report;

/// A report file could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not a report: {0}")]
    Parse(String),
}

/// The report as pretty-printed JSON.
pub fn to_json(report: &Report) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(s) => s,
        // The report is plain data with string keys, so this is unreachable in practice; an
        // error object is still valid JSON and says what went wrong.
        Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
    }
}

/// Reads a report written by [`to_json`] (for example to build the compatibility matrix from
/// saved runs).
pub fn from_json(text: &str) -> Result<Report, ReportError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| ReportError::Parse(e.to_string()))
}

//! The library entry points for another project's `cargo test`: run the suite against your own
//! service and fail with a readable table.
//!
//! ```no_run
//! use iam_contract::client::Credentials;
//! use iam_contract::api::{assert_conforms, check_endpoint_blocking};
//! use iam_contract::contract::CheckConfig;
//!
//! let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
//! let report = check_endpoint_blocking("http://127.0.0.1:4566/", creds, &CheckConfig::default())
//!     .expect("the endpoint answers");
//! assert_conforms(&report);
//! ```

use crate::client::{Client, Credentials};
use crate::contract::{CheckConfig, CheckError, Report, assign_fingerprints, run_check};
use crate::model::Model;

/// Runs the whole catalogue (as configured) against `endpoint`, deleting everything it creates.
/// Every finding carries its stable fingerprint.
pub async fn check_endpoint(
    endpoint: &str,
    credentials: Credentials,
    config: &CheckConfig,
) -> Result<Report, CheckError> {
    let client = Client::new(endpoint, Some(credentials))
        .map_err(|e| CheckError::Unreachable(e.to_string()))?;
    let mut report = run_check(&client, Model::embedded(), config).await?.report;
    assign_fingerprints(&mut report);
    Ok(report)
}

/// [`check_endpoint`] on a runtime of its own, for synchronous tests. Must not be called from
/// inside an async runtime.
pub fn check_endpoint_blocking(
    endpoint: &str,
    credentials: Credentials,
    config: &CheckConfig,
) -> Result<Report, CheckError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CheckError::Unreachable(format!("cannot start a runtime: {e}")))?;
    rt.block_on(check_endpoint(endpoint, credentials, config))
}

/// Panics with the console report (every finding, with its replay command) unless the report
/// conforms. Reports hold no secrets, so the panic message holds none either.
pub fn assert_conforms(report: &Report) {
    if !report.conforms() {
        panic!(
            "the endpoint does not conform to the IAM CreateAccessKey contract:\n{}",
            crate::report::console(report, false)
        );
    }
}

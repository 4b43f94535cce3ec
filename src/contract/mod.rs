//! The contract: a catalogue of rules with stable ids, the evidence a rule's failure carries, and
//! (with the `net` feature) the runner that judges one endpoint against all of them.
//!
//! A non-conforming endpoint is data, never an `Err`: it becomes a [`Finding`] on a rule. `Err`
//! is kept for "the harness cannot proceed" (bad configuration, unreachable endpoint). Findings
//! carry the request as sent (credentials and signatures removed), the response (status, code,
//! an excerpt with every known secret scrubbed), what was expected, and a replay command.

mod baseline;
pub mod codes;
pub(crate) mod collect;
mod config;
pub mod exchange;
mod fingerprint;
pub mod judge;
pub mod lifecycle;
pub mod probe;
pub mod retry;
pub mod rules;

mod findings;
#[cfg(feature = "net")]
mod ledger;
#[cfg(feature = "net")]
mod runner;

pub use baseline::{
    Baseline, BaselineEntry, BaselineError, BaselineOutcome, apply_baseline, apply_baseline_on,
};
pub use config::{Capabilities, CheckConfig, CheckError, CheckOutcome, SequenceReplay};
pub use exchange::{Exchange, ResponseRecord};
pub use fingerprint::{assign_fingerprints, fingerprint, fingerprint_input, normalise};
#[cfg(feature = "net")]
pub use ledger::{Ledger, LedgerEntry, cleanup_ledger};
pub use probe::Caller;
pub use rules::{RuleId, catalogue};
#[cfg(feature = "net")]
pub use runner::run_check;

use serde::{Deserialize, Serialize};

/// Runs `futures` at most `n` at a time and returns their outputs in input order. Unlike
/// `StreamExt::buffered`, a slow early future does not hold back the start of later ones: the
/// concurrency stays at `n` until the work runs out.
#[cfg(feature = "net")]
pub(crate) async fn all_in_order<T, F>(futures: impl IntoIterator<Item = F>, n: usize) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    use futures::StreamExt;
    let mut out: Vec<(usize, T)> = futures::stream::iter(
        futures
            .into_iter()
            .enumerate()
            .map(|(i, f)| async move { (i, f.await) }),
    )
    .buffer_unordered(n.max(1))
    .collect()
    .await;
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The AWS service model.
    Model,
    /// AWS documentation and the AWS CLI.
    Docs,
    /// Behaviour recorded from real AWS.
    Recorded,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Docs => "docs",
            Source::Recorded => "recorded",
        }
    }

    /// Parses the spelling used in `spec/facts.json`.
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "model" => Some(Source::Model),
            "docs" => Some(Source::Docs),
            "recorded" => Some(Source::Recorded),
            _ => None,
        }
    }
}

/// Which conformance profile a rule belongs to. `model` rules are what any IAM-compatible
/// endpoint must do; `aws` adds what real AWS does beyond the model (key formats, exact wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Model,
    Aws,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Model => "model",
            Profile::Aws => "aws",
        }
    }
}

/// The class of a rule, in the order reports list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleClass {
    InputValidation,
    PositiveAcceptance,
    OutputShape,
    ErrorContract,
    Lifecycle,
    Auth,
    Protocol,
    Concurrency,
    /// The account root as a caller (judged only when the run signs as the root).
    Root,
    Authz,
}

impl RuleClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleClass::InputValidation => "input-validation",
            RuleClass::PositiveAcceptance => "positive-acceptance",
            RuleClass::OutputShape => "output-shape",
            RuleClass::ErrorContract => "error-contract",
            RuleClass::Lifecycle => "lifecycle",
            RuleClass::Auth => "auth",
            RuleClass::Protocol => "protocol",
            RuleClass::Concurrency => "concurrency",
            RuleClass::Root => "root",
            RuleClass::Authz => "authz",
        }
    }

    pub fn all() -> [RuleClass; 10] {
        [
            RuleClass::InputValidation,
            RuleClass::PositiveAcceptance,
            RuleClass::OutputShape,
            RuleClass::ErrorContract,
            RuleClass::Lifecycle,
            RuleClass::Auth,
            RuleClass::Protocol,
            RuleClass::Concurrency,
            RuleClass::Root,
            RuleClass::Authz,
        ]
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id (`input.user-name.length-max`); baselines and reports refer to it.
    pub id: String,
    pub title: String,
    pub class: RuleClass,
    pub source: Source,
    pub profile: Profile,
    /// What is checked, in a sentence.
    pub checks: String,
    /// Emulator faults that break this rule (the matrix test proves each one does).
    #[serde(skip)]
    pub breaking_faults: Vec<crate::emulator::Fault>,
}

/// A rule's verdict for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Skip,
    /// Failed, and the baseline says it is expected to.
    ExpectedFail,
    /// Passed, but the baseline says it should fail: a stale baseline entry, which fails the run.
    UnexpectedPass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::ExpectedFail => "expected-fail",
            Status::UnexpectedPass => "unexpected-pass",
        }
    }

    /// Whether this status makes the run fail.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::UnexpectedPass)
    }
}

/// A request as sent, without credentials or signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The awsQuery action (`CreateAccessKey`), or the raw `Action` value for protocol cases.
    pub action: String,
    /// The request parameters as sent, in order, `Action` and `Version` included. Values that
    /// are not valid UTF-8 on the wire are shown percent-encoded.
    pub params: Vec<(String, String)>,
    pub method: String,
    /// How the request was signed: `sigv4`, `unsigned`, `wrong-secret`, `unknown-key`,
    /// `skewed:+1200s`, `scope:sts/us-east-1`, `as:<user>`, `corrupted`.
    pub signing: String,
    /// The exact form body or query string sent (percent-encoded, so exact and printable).
    pub wire: String,
    /// Earlier steps this case depends on (for stateful findings), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// For a lifecycle finding: the abstract sequence that broke the rule, as `replay
    /// --sequence` takes it (`CreateUser(0) CreateKey(0) ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
}

impl CaseRecord {
    /// The record of a request given by its exact wire text (a form body, or the query string
    /// of a GET): its parameters decoded in order, its `Action`, how it was signed.
    pub fn from_wire(method: &str, wire: &str, signing: impl Into<String>) -> CaseRecord {
        let params = crate::wire::decode_form(wire.as_bytes()).unwrap_or_default();
        CaseRecord {
            action: params
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            params,
            method: method.to_owned(),
            signing: signing.into(),
            wire: wire.to_owned(),
            steps: Vec::new(),
            sequence: None,
        }
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Observed {
    /// HTTP status, or 0 when no response came back.
    pub status: u16,
    /// The error code, when the body is an error envelope.
    pub code: Option<String>,
    pub message: Option<String>,
    /// The first bytes of the body, secrets scrubbed.
    pub excerpt: String,
    /// Transport failure, when there was no response.
    pub transport_error: Option<String>,
}

/// One piece of evidence that a rule does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub case: CaseRecord,
    pub observed: Observed,
    /// What the rule expected, in a sentence.
    pub expected: String,
    /// A command that sends the same request again (re-signed at replay time).
    pub replay: String,
    /// The finding's stable fingerprint (`assign_fingerprints`): the same across runs with the
    /// same seed and across targets. Empty until assigned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
}

/// A rule's outcome in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    pub class: RuleClass,
    pub source: Source,
    pub profile: Profile,
    pub status: Status,
    /// How many cases this rule judged.
    pub cases: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The baseline's reason, for expected failures and stale entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_reason: Option<String>,
    pub findings: Vec<Finding>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub expected_failures: usize,
    pub unexpected_passes: usize,
    /// Requests sent, retries included.
    pub cases_sent: usize,
    pub retries: usize,
    pub elapsed_ms: u64,
}

/// The target of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub endpoint: String,
    /// `emulator`, a `targets/` profile name, or `endpoint`.
    pub name: String,
    pub profile: Profile,
    /// Whom the run signed as, as the capability probe found (absent in reports that no run
    /// produced, such as observed traffic, and in reports older than the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
}

/// Everything a run found: the input to every report format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub tool: String,
    pub target: TargetInfo,
    pub summary: Summary,
    pub rules: Vec<RuleResult>,
}

impl Report {
    /// Whether the run conforms (only passes, skips and baselined failures).
    pub fn conforms(&self) -> bool {
        !self.rules.iter().any(|r| r.status.is_failure())
    }

    /// Recomputes the summary counts from the rules (elapsed time and sent counts are kept).
    pub fn recount(&mut self) {
        let s = &mut self.summary;
        s.passed = 0;
        s.failed = 0;
        s.skipped = 0;
        s.expected_failures = 0;
        s.unexpected_passes = 0;
        for r in &self.rules {
            match r.status {
                Status::Pass => s.passed += 1,
                Status::Fail => s.failed += 1,
                Status::Skip => s.skipped += 1,
                Status::ExpectedFail => s.expected_failures += 1,
                Status::UnexpectedPass => s.unexpected_passes += 1,
            }
        }
    }
}

//! How a run is configured, what can stop it, what it learns about the target, and what it
//! returns: plain data, shared by the runner, the library API and the command line.

use super::rules::RuleId;
use super::{Profile, Report};
use crate::secret::Secret;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;

/// How to run a check.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// `emulator`, a target profile name, or `endpoint`.
    pub target_name: String,
    pub profile: Profile,
    /// Property-generated cases per generated rule.
    pub cases: usize,
    /// Random lifecycle sequences.
    pub sequences: usize,
    /// Parallel CreateAccessKey calls in the concurrency rules.
    pub parallel_creates: usize,
    /// Requests in flight at once for independent cases.
    pub in_flight: usize,
    pub seed: u64,
    pub ledger: PathBuf,
    /// Only rules whose id starts with one of these (all when empty).
    pub only: Vec<String>,
    /// Stop sending after this many requests (cleanup excluded); `None` for no limit.
    pub request_budget: Option<usize>,
    /// How findings' replay commands start, naming the endpoint the way the run did
    /// (`iam-contract replay --target moto`); `None` for `--endpoint <the client's URL>`.
    pub replay_base: Option<String>,
    /// Incremented once per request sent, for a progress display.
    pub progress: Option<std::sync::Arc<AtomicUsize>>,
    /// The prefix of every name the run creates. `None` (the default) draws a fresh
    /// `icx` + 8 hex digits, so that runs never collide; tests that snapshot a report fix it.
    pub run_prefix: Option<String>,
    /// Replay one lifecycle sequence instead of running the catalogue: after the capability
    /// probe only this sequence runs, judged by this rule alone.
    pub replay_sequence: Option<SequenceReplay>,
}

/// A lifecycle sequence to replay, and the rule that judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceReplay {
    pub rule: RuleId,
    pub steps: Vec<super::lifecycle::Step>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            target_name: "endpoint".into(),
            profile: Profile::Model,
            cases: 64,
            sequences: 24,
            parallel_creates: 100,
            in_flight: 16,
            seed: 0x1a3c_0de5,
            ledger: std::env::temp_dir().join("iam-contract-ledger.jsonl"),
            only: Vec::new(),
            request_budget: None,
            replay_base: None,
            progress: None,
            run_prefix: None,
            replay_sequence: None,
        }
    }
}

/// The harness cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("endpoint unreachable: {0}")]
    Unreachable(String),
    #[error("cannot write the ledger {path}: {reason}")]
    Ledger { path: String, reason: String },
}

/// What the target can do, as probed at the start of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capabilities {
    /// CreateUser works (or the probe's answer did not decide it, and the rules that need users
    /// of their own run and judge).
    pub can_create_users: bool,
    /// Why not, when the target cannot create users: the refusal that showed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_no_users: Option<String>,
    /// An unsigned request or one with a corrupted signature is refused (401, 403 or an
    /// authentication error code), or the answers did not decide it; false only when a
    /// corrupted signature was accepted.
    pub verifies_signatures: bool,
    /// The signing identity is an IAM user (GetUser without UserName answers).
    pub signer_user: Option<String>,
    /// Whom the run signs as: the account root, an IAM user, or unknown.
    pub caller: super::probe::Caller,
    /// Whether PutUserPolicy works, once a class that needs it asked (`None`: not probed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_policies: Option<bool>,
    /// Why not, when the target refused or does not support PutUserPolicy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_no_user_policies: Option<String>,
}

/// The result of a run: the report, and what the caller needs to finish the job safely.
#[derive(Debug)]
pub struct CheckOutcome {
    pub report: Report,
    /// Every secret the run saw (its own credentials and every key it created), for the
    /// secret tripwire over all output.
    pub secrets: Vec<Secret>,
    pub capabilities: Capabilities,
    /// What cleanup could not delete (the ledger was kept when this is not empty).
    pub cleanup_left: Vec<String>,
}

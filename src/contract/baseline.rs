//! Baselines: the rules a target is expected to fail, each with a reason.
//!
//! A run fails on a new failure and also on a baselined rule that now passes, so a baseline can
//! never go stale silently. Format (`targets/<name>/baseline.toml`):
//!
//! ```toml
//! [[expected]]
//! rule = "auth.unsigned"
//! reason = "moto checks no signatures unless auth is switched on"
//! ```

use super::{Report, Status};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    pub expected: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{path}: rule {rule:?} is not in the catalogue")]
    UnknownRule { path: String, rule: String },
    #[error(
        "{path}: rule {rule:?} has an empty reason; say in a sentence why it is expected to fail"
    )]
    NoReason { path: String, rule: String },
}

impl Baseline {
    /// Reads and checks a baseline file against the known rule ids.
    pub fn load(path: &Path, known_rules: &[String]) -> Result<Baseline, BaselineError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Read {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        Baseline::parse(&p, &text, known_rules)
    }

    pub fn parse(
        path: &str,
        text: &str,
        known_rules: &[String],
    ) -> Result<Baseline, BaselineError> {
        let b: Baseline = toml::from_str(text).map_err(|e| BaselineError::Parse {
            path: path.into(),
            reason: e.to_string(),
        })?;
        for e in &b.expected {
            if !known_rules.contains(&e.rule) {
                return Err(BaselineError::UnknownRule {
                    path: path.into(),
                    rule: e.rule.clone(),
                });
            }
            if e.reason.trim().is_empty() {
                return Err(BaselineError::NoReason {
                    path: path.into(),
                    rule: e.rule.clone(),
                });
            }
        }
        Ok(b)
    }

    pub fn reason(&self, rule: &str) -> Option<&str> {
        self.expected
            .iter()
            .find(|e| e.rule == rule)
            .map(|e| e.reason.as_str())
    }
}

/// Applies a baseline to a report: expected failures become `expected-fail`, baselined rules
/// that passed become `unexpected-pass`. Skipped rules stay skipped (a rule that could not run
/// says nothing about the baseline).
pub fn apply_baseline(report: &mut Report, baseline: &Baseline) {
    for r in &mut report.rules {
        if let Some(reason) = baseline.reason(&r.id) {
            r.baseline_reason = Some(reason.to_owned());
            r.status = match r.status {
                Status::Fail => Status::ExpectedFail,
                Status::Pass => Status::UnexpectedPass,
                other => other,
            };
        }
    }
    report.recount();
}

//! `profile`: what a target actually enforces, limit by limit, next to what the model says.
//!
//! Where `contract` judges an endpoint rule by rule (pass or fail), a profile *measures*: the
//! accepted length range of every constrained input member (by bisection up to a cap), which
//! characters of a fixed probe set each pattern lets through, which enum values are taken, and
//! the behavioural limits the facts describe (keys per user, whether Inactive keys count,
//! case folding, the clock-skew window, which authentication failures are refused, which HTTP
//! methods change state). Every measured value is set beside the model's value with a
//! [`Verdict`].
//!
//! Layers, as elsewhere in the crate: [`plan`] derives the probes from the model and decides
//! the searches (bisection, character groups) as pure functions of the answers so far;
//! [`render`] turns a [`ProfileReport`] into Markdown, console text and the cross-target
//! "Enforced limits" section; the driver (`run`, feature `net`) is the only part that sends,
//! through [`crate::client::Client`], with the ledger and cleanup of `contract`. Nothing here
//! holds a limit or a pattern as a literal: they come from `spec/`. A report never holds a
//! response body, a secret or a signature: only statuses, error codes and what was measured.

pub mod plan;
pub mod render;
#[cfg(feature = "net")]
mod run;

#[cfg(feature = "net")]
pub use run::{ProfileConfig, ProfileError, ProfileOutcome, run_profile};

use serde::{Deserialize, Serialize};

/// How a measured value compares with the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// The target enforces exactly what the model says.
    #[serde(rename = "same")]
    Same,
    /// The target accepts more than the model allows.
    #[serde(rename = "looser")]
    Looser,
    /// The target refuses something the model allows.
    #[serde(rename = "stricter")]
    Stricter,
    /// Looser for some values and stricter for others (a character set, a method set).
    #[serde(rename = "mixed")]
    Mixed,
    /// The value could not be measured; the limit's `note` says why.
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::Looser => "looser",
            Verdict::Stricter => "stricter",
            Verdict::Mixed => "mixed",
            Verdict::NotMeasured => "not measured",
        }
    }

    /// Combines "accepts more" and "refuses some of what the model allows".
    pub fn of(looser: bool, stricter: bool) -> Verdict {
        match (looser, stricter) {
            (false, false) => Verdict::Same,
            (true, false) => Verdict::Looser,
            (false, true) => Verdict::Stricter,
            (true, true) => Verdict::Mixed,
        }
    }
}

/// One measured limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// Stable id: `input.OPERATION.MEMBER.CONSTRAINT` or `behaviour.NAME`.
    pub id: String,
    /// What is measured, in words.
    pub title: String,
    /// Where the model's value comes from: `model`, `docs` or `recorded`.
    pub source: String,
    /// The model's value, as text.
    pub model: String,
    /// The measured value, as text; `None` when not measured.
    pub measured: Option<String>,
    pub verdict: Verdict,
    /// Why it was not measured, or what the measurement rests on (the answers that decided it,
    /// the characters beyond the model's set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which endpoint was profiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileTarget {
    /// `emulator`, a target profile's name, or `endpoint`.
    pub name: String,
    pub endpoint: String,
}

/// What the run cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSummary {
    /// Every request sent, cleanup and retries included.
    pub requests: usize,
    /// The request budget the run planned within.
    pub budget: usize,
    pub retries: usize,
    pub elapsed_ms: u64,
    pub same: usize,
    pub looser: usize,
    pub stricter: usize,
    pub mixed: usize,
    pub not_measured: usize,
}

/// A whole profile: the JSON written by `profile --json` and read by `compat --profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReport {
    /// Always `iam-contract profile`, so `compat` can tell a profile from a check report.
    pub kind: String,
    pub tool: String,
    pub target: ProfileTarget,
    pub summary: ProfileSummary,
    pub limits: Vec<Limit>,
}

/// The `kind` of every profile JSON.
pub const KIND: &str = "iam-contract profile";

impl ProfileReport {
    /// Recounts the verdict totals of the summary from the limits.
    pub fn recount(&mut self) {
        let s = &mut self.summary;
        (s.same, s.looser, s.stricter, s.mixed, s.not_measured) = (0, 0, 0, 0, 0);
        for l in &self.limits {
            match l.verdict {
                Verdict::Same => s.same += 1,
                Verdict::Looser => s.looser += 1,
                Verdict::Stricter => s.stricter += 1,
                Verdict::Mixed => s.mixed += 1,
                Verdict::NotMeasured => s.not_measured += 1,
            }
        }
    }

    /// The limit with this id.
    pub fn limit(&self, id: &str) -> Option<&Limit> {
        self.limits.iter().find(|l| l.id == id)
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a profile serialises");
        s.push('\n');
        s
    }

    /// Reads a profile JSON; anything else (a `check` report, say) is an error that says so.
    pub fn from_json(text: &str) -> Result<ProfileReport, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if v.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return Err(format!(
                "not a profile (no \"kind\": \"{KIND}\"; write one with `iam-contract profile --json PATH`)"
            ));
        }
        serde_json::from_value(v).map_err(|e| format!("not a valid profile: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_combines_both_directions() {
        assert_eq!(Verdict::of(false, false), Verdict::Same);
        assert_eq!(Verdict::of(true, false), Verdict::Looser);
        assert_eq!(Verdict::of(false, true), Verdict::Stricter);
        assert_eq!(Verdict::of(true, true), Verdict::Mixed);
        assert_eq!(
            serde_json::to_string(&Verdict::NotMeasured).unwrap(),
            "\"not measured\""
        );
    }

    #[test]
    fn json_round_trips_and_refuses_other_documents() {
        let mut p = ProfileReport {
            kind: KIND.into(),
            tool: "iam-contract test".into(),
            target: ProfileTarget {
                name: "emulator".into(),
                endpoint: "http://127.0.0.1:1/".into(),
            },
            summary: ProfileSummary::default(),
            limits: vec![Limit {
                id: "behaviour.keys-per-user".into(),
                title: "keys per user".into(),
                source: "recorded".into(),
                model: "2".into(),
                measured: Some("5".into()),
                verdict: Verdict::Looser,
                note: None,
            }],
        };
        p.recount();
        assert_eq!(p.summary.looser, 1);
        assert_eq!(ProfileReport::from_json(&p.to_json()), Ok(p));
        let err = ProfileReport::from_json(r#"{"tool":"x","rules":[]}"#).unwrap_err();
        assert!(err.contains("not a profile"), "{err}");
        assert!(ProfileReport::from_json("nope").is_err());
    }
}

//! Baselines: the rules a target is expected to fail, each with a reason.
//!
//! A run fails on a new failure and also on a baselined rule that now passes, so a baseline can
//! never go stale silently. Format (`targets/<name>/baseline.toml`):
//!
//! ```toml
//! [[expected]]
//! rule = "auth.unsigned"
//! reason = "moto checks no signatures unless auth is switched on"
//!
//! [[expected]]
//! rule = "input.user-name.pattern"
//! fingerprint = "0123456789abcdef"   # only this finding of the rule is expected
//! expires = "2027-01-31"             # after this date the entry fails the run
//! reason = "..."
//! ```
//!
//! An entry with a `fingerprint` accepts only the finding with that fingerprint
//! (`contract::fingerprint`): the rule is an expected failure when every finding it has is named
//! by such an entry (or the rule has an entry without a fingerprint), and a failure otherwise.
//! An entry with `expires` stops applying the day after that date, and applying the baseline
//! names it, so an accepted deviation cannot be forgotten. "Today" is a parameter
//! ([`apply_baseline_on`]), so the date check is testable; nothing here reads the clock except
//! [`apply_baseline`], the convenience form.

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
    /// Only the finding with this fingerprint is expected (16 hex digits).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The last day the entry applies, `YYYY-MM-DD` (checked when the baseline is loaded).
    #[serde(default)]
    pub expires: Option<String>,
}

impl BaselineEntry {
    /// The expiry date, when the entry has one (validated by [`Baseline::parse`]).
    pub fn expires_on(&self) -> Option<time::Date> {
        self.expires.as_deref().and_then(parse_date)
    }

    /// Whether the entry no longer applies on `today`.
    pub fn expired(&self, today: time::Date) -> bool {
        self.expires_on().is_some_and(|d| today > d)
    }

    /// How messages name the entry: `rule X`, with its fingerprint when it has one.
    pub fn label(&self) -> String {
        match &self.fingerprint {
            Some(fp) => format!("rule {} (fingerprint {fp})", self.rule),
            None => format!("rule {}", self.rule),
        }
    }
}

fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// What applying a baseline found wrong with the baseline itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineOutcome {
    /// Entries past their `expires` date, as messages naming them. Each one fails the run.
    pub expired: Vec<String>,
    /// Fingerprint entries whose rule failed, but not with that finding, as messages.
    pub unmatched: Vec<String>,
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
    #[error("{path}: rule {rule:?}: expires = {value:?} is not a date of the form YYYY-MM-DD")]
    BadDate {
        path: String,
        rule: String,
        value: String,
    },
    #[error("{path}: rule {rule:?}: fingerprint = {value:?} is not 16 hex digits")]
    BadFingerprint {
        path: String,
        rule: String,
        value: String,
    },
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
            if let Some(v) = &e.expires
                && parse_date(v).is_none()
            {
                return Err(BaselineError::BadDate {
                    path: path.into(),
                    rule: e.rule.clone(),
                    value: v.clone(),
                });
            }
            if let Some(v) = &e.fingerprint
                && (v.len() != super::fingerprint::FINGERPRINT_HEX
                    || !v.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(BaselineError::BadFingerprint {
                    path: path.into(),
                    rule: e.rule.clone(),
                    value: v.clone(),
                });
            }
        }
        Ok(b)
    }

    /// The reason of the first entry for `rule` (with or without a fingerprint).
    pub fn reason(&self, rule: &str) -> Option<&str> {
        self.expected
            .iter()
            .find(|e| e.rule == rule)
            .map(|e| e.reason.as_str())
    }

    /// The entries past their date on `today`.
    pub fn expired(&self, today: time::Date) -> Vec<&BaselineEntry> {
        self.expected.iter().filter(|e| e.expired(today)).collect()
    }
}

/// [`apply_baseline_on`] with today's date (UTC). Expired entries are not applied, so the
/// failures they covered count again; the CLI also fails the run on them by name.
pub fn apply_baseline(report: &mut Report, baseline: &Baseline) -> BaselineOutcome {
    apply_baseline_on(report, baseline, time::OffsetDateTime::now_utc().date())
}

/// Applies a baseline to a report as of `today`: expected failures become `expected-fail`,
/// baselined rules that passed become `unexpected-pass`. Skipped rules stay skipped (a rule that
/// could not run says nothing about the baseline). Entries with a fingerprint cover only their
/// finding; a failing rule with a finding no entry covers stays `fail`. Entries past their
/// `expires` date are not applied and come back in [`BaselineOutcome::expired`]. Fingerprints
/// must have been assigned (`assign_fingerprints`) before.
pub fn apply_baseline_on(
    report: &mut Report,
    baseline: &Baseline,
    today: time::Date,
) -> BaselineOutcome {
    let mut outcome = BaselineOutcome::default();
    for e in baseline.expired(today) {
        outcome.expired.push(format!(
            "baseline entry for {} expired on {}: {}",
            e.label(),
            e.expires.as_deref().unwrap_or_default(),
            e.reason
        ));
    }
    for r in &mut report.rules {
        let entries: Vec<&BaselineEntry> = baseline
            .expected
            .iter()
            .filter(|e| e.rule == r.id && !e.expired(today))
            .collect();
        let Some(first) = entries.first() else {
            continue;
        };
        let whole_rule = entries.iter().find(|e| e.fingerprint.is_none());
        let named: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.fingerprint.as_deref())
            .collect();
        r.baseline_reason = Some(whole_rule.unwrap_or(first).reason.clone());
        r.status = match r.status {
            Status::Fail if whole_rule.is_some() => Status::ExpectedFail,
            Status::Fail => {
                for fp in &named {
                    if !r.findings.iter().any(|f| f.fingerprint == *fp) {
                        outcome.unmatched.push(format!(
                            "baseline entry for rule {} (fingerprint {fp}) matches no finding: \
                             the rule fails with other findings",
                            r.id
                        ));
                    }
                }
                let all_named = !r.findings.is_empty()
                    && r.findings
                        .iter()
                        .all(|f| named.contains(&f.fingerprint.as_str()));
                if all_named {
                    Status::ExpectedFail
                } else {
                    Status::Fail
                }
            }
            Status::Pass => Status::UnexpectedPass,
            other => other,
        };
    }
    report.recount();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Profile, RuleClass, RuleResult, Source, Summary, TargetInfo};
    use time::macros::date;

    fn report(status: Status) -> Report {
        Report {
            tool: "t".into(),
            target: TargetInfo {
                endpoint: "http://127.0.0.1:1/".into(),
                name: "t".into(),
                profile: Profile::Model,
                caller: None,
            },
            summary: Summary::default(),
            rules: vec![RuleResult {
                id: "r".into(),
                title: "r".into(),
                class: RuleClass::Protocol,
                source: Source::Model,
                profile: Profile::Model,
                status,
                cases: 1,
                skip_reason: None,
                baseline_reason: None,
                findings: vec![],
            }],
        }
    }

    fn baseline(expires: &str) -> Baseline {
        Baseline::parse(
            "b.toml",
            &format!("[[expected]]\nrule = \"r\"\nexpires = \"{expires}\"\nreason = \"why\"\n"),
            &["r".to_owned()],
        )
        .expect("parses")
    }

    #[test]
    fn an_entry_applies_through_its_expiry_date_and_not_a_day_longer() {
        let b = baseline("2027-03-31");
        let mut on_the_day = report(Status::Fail);
        let outcome = apply_baseline_on(&mut on_the_day, &b, date!(2027 - 03 - 31));
        assert!(outcome.expired.is_empty());
        assert_eq!(on_the_day.rules[0].status, Status::ExpectedFail);
        let mut after = report(Status::Fail);
        let outcome = apply_baseline_on(&mut after, &b, date!(2027 - 04 - 01));
        assert_eq!(after.rules[0].status, Status::Fail);
        assert_eq!(
            outcome.expired,
            vec!["baseline entry for rule r expired on 2027-03-31: why".to_owned()]
        );
        // An expired entry fails the run even when its rule now passes.
        let mut passing = report(Status::Pass);
        let outcome = apply_baseline_on(&mut passing, &b, date!(2028 - 01 - 01));
        assert_eq!(outcome.expired.len(), 1);
    }

    #[test]
    fn bad_dates_and_fingerprints_are_refused() {
        for (field, value, want) in [
            ("expires", "31.03.2027", "YYYY-MM-DD"),
            ("expires", "2027-02-30", "YYYY-MM-DD"),
            ("fingerprint", "xyz", "16 hex digits"),
        ] {
            let text =
                format!("[[expected]]\nrule = \"r\"\n{field} = \"{value}\"\nreason = \"why\"\n");
            let err = Baseline::parse("b.toml", &text, &["r".to_owned()]).expect_err(value);
            assert!(err.to_string().contains(want), "{err}");
        }
    }
}

//! Collecting verdicts into a report: what the run gathered per rule, the rule results in
//! catalogue order with a fixed choice of findings, and the replay command each finding
//! carries. Pure.

use super::rules::OPERATION;
use super::{CaseRecord, Finding, Rule, RuleResult, Status};
use std::collections::BTreeMap;

/// Findings kept per rule; the rest are counted in `cases` only.
pub(crate) const MAX_FINDINGS_PER_RULE: usize = 5;

/// What the run gathered for one rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    pub(crate) cases: usize,
    pub(crate) findings: Vec<Finding>,
    pub(crate) skip: Option<String>,
}

/// Turns the verdicts gathered per rule into the report's rule results, in catalogue order
/// (grouped by class), each with its first few findings in a fixed order.
pub(crate) fn rule_results(rules: &[Rule], mut acc: BTreeMap<String, Acc>) -> Vec<RuleResult> {
    let mut results: Vec<RuleResult> = rules
        .iter()
        .map(|rule| {
            let mut a = acc.remove(&rule.id).unwrap_or_default();
            a.findings.sort_by(|x, y| {
                let key = |f: &Finding| {
                    (
                        f.case.action.clone(),
                        f.case.wire.clone(),
                        f.case.method.clone(),
                        f.case.signing.clone(),
                        f.case.steps.clone(),
                    )
                };
                key(x).cmp(&key(y))
            });
            super::findings::keep_varied(&mut a.findings, MAX_FINDINGS_PER_RULE);
            let status = if !a.findings.is_empty() {
                Status::Fail
            } else if a.cases == 0 {
                Status::Skip
            } else {
                Status::Pass
            };
            RuleResult {
                id: rule.id.clone(),
                title: rule.title.clone(),
                class: rule.class,
                source: rule.source,
                profile: rule.profile,
                status,
                cases: a.cases,
                skip_reason: (status == Status::Skip).then(|| {
                    a.skip
                        .unwrap_or_else(|| "no case of this rule could be run".into())
                }),
                baseline_reason: None,
                findings: a.findings,
            }
        })
        .collect();
    results.sort_by_key(|r| r.class);
    results
}

/// The command that replays a finding: a lifecycle finding's whole sequence, or the request
/// itself (re-signed at replay time), recreating a user the run had created.
pub(crate) fn replay_command(
    base: Option<&str>,
    endpoint: &str,
    prefix: &str,
    rule: &str,
    case: &CaseRecord,
) -> String {
    let base = base
        .map(str::to_owned)
        .unwrap_or_else(|| format!("iam-contract replay --endpoint {endpoint}"));
    if let Some(seq) = &case.sequence {
        // Users and keys of a sequence exist only within it: replay the whole sequence.
        return format!("{base} --rule {rule} --sequence '{seq}'");
    }
    let mut cmd = format!(
        "{base} --method {} --signing {} --wire '{}'",
        case.method,
        case.signing.split(':').next().unwrap_or("sigv4"),
        case.wire.replace('\'', "'\\''")
    );
    if case.signing.starts_with("skewed") || case.signing.starts_with("scope") {
        cmd.push_str(&format!(" --signing-detail '{}'", case.signing));
    }
    // Users the run created are gone by the time anyone replays: recreate them for the replay.
    if let Some((_, user)) = case.params.iter().find(|(k, _)| k == "UserName")
        && user.starts_with(prefix)
        && !["-missing", "-dup"].iter().any(|t| user.contains(t))
        && case.action == OPERATION
        && case.steps.is_empty()
    {
        cmd.push_str(&format!(" --with-user '{}'", user.replace('\'', "'\\''")));
    }
    cmd
}

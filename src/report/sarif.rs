//! The SARIF 2.1.0 report, the format CI code-scanning dashboards read: one run, the rule
//! catalogue as the tool's rules, and one result per finding.
//!
//! Each result names its rule (`ruleId`, `ruleIndex`), a level (`error` for a new deviation,
//! `warning` for one the target's baseline accepts, which also carries an external suppression
//! with the baseline's reason, so dashboards show it as accepted), a message (what was expected
//! and what came back), the finding's stable fingerprint as `partialFingerprints`, and the
//! evidence (request, response, replay command) as properties. A stale baseline entry (a rule
//! that passes although the baseline expects it to fail) is a result of its own with level
//! `error`. Rules carry their title, what they check as help text, and their source (`model`,
//! `docs`, `recorded`) as a property and in the help text; a result's location is the spec file
//! the rule derives from, because a deviation lives in the endpoint, not in a file of ours.
//!
//! Pure and deterministic like every report here: equal reports give equal text. Text that came
//! from the endpoint is escaped (`escape_text`), as in the other formats.

use super::escape_text;
use crate::contract::{Finding, Report, Rule, RuleResult, Source, Status, catalogue};
use crate::model::Model;
use serde_json::{Value, json};

/// The `$schema` SARIF files name: OASIS's published schema of SARIF 2.1.0 (errata 01).
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key under which results carry their fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "iamContract/v1";

/// The report as SARIF 2.1.0 JSON, pretty-printed.
pub fn to_sarif(report: &Report) -> String {
    let known = catalogue(Model::embedded());
    let rules: Vec<&RuleResult> = report.rules.iter().collect();
    let driver_rules: Vec<Value> = rules.iter().map(|r| rule_descriptor(r, &known)).collect();
    let mut results = Vec::new();
    for (index, r) in rules.iter().enumerate() {
        match r.status {
            Status::Fail | Status::ExpectedFail => {
                for f in &r.findings {
                    results.push(finding_result(report, r, index, f));
                }
            }
            Status::UnexpectedPass => results.push(stale_result(r, index)),
            Status::Pass | Status::Skip => {}
        }
    }
    let sarif = json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "iam-contract",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html",
                "rules": driver_rules,
            }},
            "automationDetails": { "id": format!("iam-contract/{}/", escape_text(&report.target.name)) },
            "properties": {
                "target": target_properties(report),
                "summary": {
                    "passed": report.summary.passed,
                    "failed": report.summary.failed,
                    "skipped": report.summary.skipped,
                    "expectedFailures": report.summary.expected_failures,
                    "unexpectedPasses": report.summary.unexpected_passes,
                    "casesSent": report.summary.cases_sent,
                },
            },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&sarif)
        .unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string())
}

/// The file a rule's source lives in, as the location of its results.
fn source_file(source: Source) -> &'static str {
    match source {
        Source::Model => "spec/iam-2010-05-08.json",
        Source::Docs | Source::Recorded => "spec/facts.json",
    }
}

fn source_words(source: Source) -> &'static str {
    match source {
        Source::Model => "the AWS service model for IAM (API version 2010-05-08)",
        Source::Docs => "AWS's documentation and the AWS CLI",
        Source::Recorded => "behaviour recorded from real AWS responses",
    }
}

fn rule_descriptor(r: &RuleResult, known: &[Rule]) -> Value {
    let checks = known
        .iter()
        .find(|k| k.id == r.id)
        .map(|k| k.checks.clone())
        .unwrap_or_else(|| r.title.clone());
    let help = format!(
        "{checks} Source: {} ({}). Replay a finding with the command in its properties; \
         `iam-contract check --repro-dir DIR` writes a standalone reproduction of each.",
        r.source.as_str(),
        source_words(r.source)
    );
    json!({
        "id": r.id,
        "name": r.id,
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": checks },
        "help": { "text": help },
        "defaultConfiguration": { "level": "error" },
        "properties": {
            "source": r.source.as_str(),
            "profile": r.profile.as_str(),
            "class": r.class.as_str(),
            "tags": ["iam", "contract", r.class.as_str(), r.source.as_str()],
        },
    })
}

/// The run's target, and whom the run signed as when a run probed it.
fn target_properties(report: &Report) -> Value {
    let mut t = json!({
        "name": escape_text(&report.target.name),
        "endpoint": escape_text(&report.target.endpoint),
        "profile": report.target.profile.as_str(),
    });
    if let Some(caller) = super::caller_text(report) {
        t["caller"] = Value::String(caller);
    }
    t
}

fn location(r: &RuleResult, report: &Report) -> Value {
    json!({
        "physicalLocation": { "artifactLocation": { "uri": source_file(r.source) } },
        "logicalLocations": [{
            "name": escape_text(&report.target.name),
            "fullyQualifiedName": escape_text(&report.target.endpoint),
            "kind": "resource",
        }],
    })
}

fn observed_words(f: &Finding) -> String {
    let o = &f.observed;
    if o.status == 0 {
        return format!(
            "no response ({})",
            escape_text(
                o.transport_error
                    .as_deref()
                    .unwrap_or("unknown transport error")
            )
        );
    }
    match &o.code {
        Some(c) => format!("HTTP {} {}", o.status, escape_text(c)),
        None => format!("HTTP {}", o.status),
    }
}

fn finding_result(report: &Report, r: &RuleResult, index: usize, f: &Finding) -> Value {
    let c = &f.case;
    let message = format!(
        "{}: expected {}; observed {} for {} {} (signing: {}).",
        escape_text(&r.title),
        escape_text(&f.expected),
        observed_words(f),
        escape_text(&c.method),
        escape_text(&c.action),
        escape_text(&c.signing)
    );
    let mut result = json!({
        "ruleId": r.id,
        "ruleIndex": index,
        "kind": "fail",
        "level": if r.status == Status::Fail { "error" } else { "warning" },
        "message": { "text": message },
        "locations": [location(r, report)],
        "properties": {
            "status": r.status.as_str(),
            "expected": escape_text(&f.expected),
            "request": {
                "action": escape_text(&c.action),
                "method": escape_text(&c.method),
                "signing": escape_text(&c.signing),
                "wire": escape_text(&c.wire),
                "sequence": c.sequence.as_deref().map(escape_text),
                "steps": c.steps.iter().map(|s| escape_text(s)).collect::<Vec<_>>(),
            },
            "observed": {
                "status": f.observed.status,
                "code": f.observed.code.as_deref().map(escape_text),
                "message": f.observed.message.as_deref().map(escape_text),
                "excerpt": escape_text(&f.observed.excerpt),
            },
            "replay": escape_text(&f.replay),
        },
    });
    if !f.fingerprint.is_empty() {
        result["partialFingerprints"] = json!({ FINGERPRINT_KEY: f.fingerprint });
    }
    if r.status == Status::ExpectedFail {
        result["baselineState"] = json!("unchanged");
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": escape_text(r.baseline_reason.as_deref().unwrap_or("in the target's baseline")),
        }]);
    } else {
        result["baselineState"] = json!("new");
    }
    result
}

fn stale_result(r: &RuleResult, index: usize) -> Value {
    json!({
        "ruleId": r.id,
        "ruleIndex": index,
        "kind": "fail",
        "level": "error",
        "message": { "text": format!(
            "Stale baseline entry: {} passes, but the target's baseline expects it to fail ({}). Remove the entry.",
            r.id,
            escape_text(r.baseline_reason.as_deref().unwrap_or("no reason given"))
        )},
        "locations": [{ "physicalLocation": { "artifactLocation": { "uri": source_file(r.source) } } }],
        "partialFingerprints": { FINGERPRINT_KEY: format!("stale-baseline:{}", r.id) },
        "properties": { "status": r.status.as_str() },
    })
}

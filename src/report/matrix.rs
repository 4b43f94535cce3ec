//! The compatibility matrix: many reports (one per target) side by side as Markdown, one row per
//! rule and one column per target, then every deviation with a command that replays it.
//!
//! Rows are the union of the reports' rules, ordered by rule class (catalogue order) and then by
//! id, so the row order does not depend on the order of the reports. Columns follow the order of
//! the reports. Locally started services listen on a fresh port every run, so the matrix shows
//! endpoints without their port and writes replay commands with `$ENDPOINT` in place of the
//! endpoint: the file changes only when a verdict does, and a deviation is replayed by starting
//! the target and setting `ENDPOINT`. Pure and deterministic; it judges nothing.

use super::markdown::{code_span, md_text};
use super::{Tally, escape_text, without_port};
use crate::contract::{Report, RuleClass, Status};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The cell text for a status.
fn cell(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "FAIL",
        Some(Status::Skip) => "skip",
        Some(Status::ExpectedFail) => "xfail",
        Some(Status::UnexpectedPass) => "XPASS",
        None => "—",
    }
}

/// The matrix as Markdown.
pub fn compatibility_matrix(reports: &[Report]) -> String {
    let mut rows: BTreeMap<(RuleClass, &str), &str> = BTreeMap::new();
    for report in reports {
        for r in &report.rules {
            rows.entry((r.class, r.id.as_str()))
                .or_insert(r.title.as_str());
        }
    }
    let names: Vec<String> = reports
        .iter()
        .map(|r| md_text(&escape_text(&r.target.name)))
        .collect();

    let mut out = String::new();
    out.push_str("# Compatibility matrix\n\n");
    out.push_str(
        "How each target answers the `iam-contract` rule catalogue for `CreateAccessKey`. One row \
         per rule, one column per target.\n\n",
    );

    out.push_str("## Targets\n\n");
    out.push_str(
        "| Target | Endpoint | Signed as | Profile | pass | FAIL | skip | xfail | XPASS | Cases |\n",
    );
    out.push_str("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (report, name) in reports.iter().zip(&names) {
        let t = Tally::of(report);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            code_span(&escape_text(&without_port(&report.target.endpoint))),
            super::caller_text(report).map_or_else(|| "not probed".to_owned(), |c| md_text(&c)),
            report.target.profile.as_str(),
            t.passed,
            t.failed,
            t.skipped,
            t.expected_failures,
            t.unexpected_passes,
            report.summary.cases_sent
        );
    }

    out.push_str("\n## Rules\n\n");
    out.push_str("| Rule |");
    for name in &names {
        let _ = write!(out, " {name} |");
    }
    out.push_str("\n|---|");
    for _ in &names {
        out.push_str("---|");
    }
    out.push('\n');
    for (class, id) in rows.keys() {
        let _ = write!(out, "| {} |", code_span(&escape_text(id)));
        for report in reports {
            let status = report
                .rules
                .iter()
                .find(|r| r.class == *class && r.id == *id)
                .map(|r| r.status);
            let _ = write!(out, " {} |", cell(status));
        }
        out.push('\n');
    }

    out.push_str(
        "\nLegend: `pass` conforms; `FAIL` deviates and is not in the target's baseline; `skip` \
         could not run on this target (the reason is in its report); `xfail` deviates as the \
         target's baseline expects; `XPASS` passes although the baseline expects a failure \
         (stale baseline entry); `—` the rule was not part of that run.\n",
    );

    out.push_str("\n## Deviations\n\n");
    out.push_str(
        "Each command replays the first recorded case of the rule, with credentials taken as \
         for `iam-contract check`. Where a run's endpoint (a fresh local port every run) would \
         appear, the command says `$ENDPOINT`: start the target and set it to the target's URL.\n",
    );
    for (report, name) in reports.iter().zip(&names) {
        let _ = writeln!(out, "\n### {name}\n");
        let deviations: Vec<_> = report
            .rules
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    Status::Fail | Status::ExpectedFail | Status::UnexpectedPass
                )
            })
            .collect();
        if deviations.is_empty() {
            out.push_str("No deviations.\n");
            continue;
        }
        for r in deviations {
            let mut line = format!(
                "- {} {}",
                cell(Some(r.status)),
                code_span(&escape_text(&r.id))
            );
            if let Some(reason) = &r.baseline_reason {
                let _ = write!(line, ": {}", md_text(&escape_text(reason)));
            }
            match r.findings.first() {
                Some(f) => {
                    let _ = write!(
                        line,
                        "\n  - expected {}; observed {}\n  - replay: {}",
                        md_text(&escape_text(&f.expected)),
                        observed(f),
                        code_span(&escape_text(&replay_portable(
                            &f.replay,
                            &report.target.endpoint
                        )))
                    );
                }
                None if r.status == Status::UnexpectedPass => {
                    line.push_str("\n  - passes now: remove the entry from the baseline");
                }
                None => line.push_str("\n  - no finding recorded"),
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn observed(f: &crate::contract::Finding) -> String {
    let o = &f.observed;
    let text = match (o.status, &o.code) {
        (0, _) => format!(
            "no response ({})",
            o.transport_error.as_deref().unwrap_or("transport error")
        ),
        (s, Some(c)) => format!("HTTP {s} {c}"),
        (s, None) => format!("HTTP {s}"),
    };
    md_text(&escape_text(&text))
}

/// The replay command with the run's endpoint replaced by `"$ENDPOINT"`.
fn replay_portable(replay: &str, endpoint: &str) -> String {
    if endpoint.is_empty() {
        replay.to_owned()
    } else {
        replay.replace(endpoint, "\"$ENDPOINT\"")
    }
}

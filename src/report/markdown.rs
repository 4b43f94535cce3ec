//! The Markdown conformance report: title, target, summary, a table per rule class, then every
//! finding in detail with the request, the response and the replay command in fenced blocks.
//!
//! Deterministic for equal input (no clock), so it can be committed or snapshotted;
//! [`to_markdown_stable`] also leaves out what changes between otherwise equal runs (elapsed
//! time, retries, the endpoint's port). Table cells escape `|`; fences grow longer than any run
//! of backticks inside them, so hostile response text cannot close a block early.

use super::console::finding_lines;
use super::{Tally, by_class, escape_label, escape_text, status_label, without_port};
use crate::contract::{Finding, Report, Status};
use std::fmt::Write;

/// The report as Markdown.
pub fn to_markdown(report: &Report) -> String {
    render(report, false)
}

/// [`to_markdown`] without elapsed time, retries and the endpoint's port (everywhere it appears,
/// replay commands included), for snapshots and committed files.
pub fn to_markdown_stable(report: &Report) -> String {
    let text = render(report, true);
    let endpoint = &report.target.endpoint;
    if endpoint.is_empty() {
        text
    } else {
        text.replace(endpoint.as_str(), &without_port(endpoint))
    }
}

fn render(report: &Report, stable: bool) -> String {
    let mut out = String::new();
    let t = &report.target;
    let tally = Tally::of(report);
    let _ = writeln!(
        out,
        "# Conformance report: {}\n",
        md_text(&escape_text(&t.name))
    );
    let _ = writeln!(out, "- Tool: {}", md_text(&escape_text(&report.tool)));
    let _ = writeln!(out, "- Endpoint: {}", code_span(&escape_text(&t.endpoint)));
    let _ = writeln!(out, "- Profile: `{}`", t.profile.as_str());
    if let Some(caller) = super::caller_text(report) {
        let _ = writeln!(out, "- Signed as: {}", md_text(&caller));
    }
    let _ = writeln!(
        out,
        "- Result: **{}**",
        if tally.failing() == 0 {
            "conforms"
        } else {
            "deviates"
        }
    );
    let _ = writeln!(
        out,
        "- Rules: {} passed, {} failed, {} skipped, {} expected failures, {} stale baseline \
         entries",
        tally.passed, tally.failed, tally.skipped, tally.expected_failures, tally.unexpected_passes
    );
    if stable {
        let _ = writeln!(out, "- Cases sent: {}", report.summary.cases_sent);
    } else {
        let _ = writeln!(
            out,
            "- Cases sent: {} ({} retries) in {:.1} s",
            report.summary.cases_sent,
            report.summary.retries,
            report.summary.elapsed_ms as f64 / 1000.0
        );
    }
    out.push('\n');
    out.push_str(
        "Status: PASS conforms; FAIL deviates; SKIP could not run (reason given); XFAIL fails \
         as the target's baseline expects; XPASS passes although the baseline expects a \
         failure (stale baseline entry, fails the run).\n",
    );

    for (class, rules) in by_class(report) {
        let _ = writeln!(out, "\n## {}\n", class.as_str());
        out.push_str("| Rule | Title | Status | Cases | Source | Note |\n");
        out.push_str("|---|---|---|---:|---|---|\n");
        for r in rules {
            let note = match r.status {
                Status::Skip => r.skip_reason.as_deref().unwrap_or(""),
                Status::ExpectedFail | Status::UnexpectedPass => {
                    r.baseline_reason.as_deref().unwrap_or("")
                }
                _ => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                code_span(&escape_text(&r.id)),
                md_text(&escape_label(&r.title)),
                status_label(r.status).to_uppercase(),
                r.cases,
                r.source.as_str(),
                md_text(&escape_text(note))
            );
        }
    }

    let with_findings: Vec<_> = report
        .rules
        .iter()
        .filter(|r| {
            matches!(r.status, Status::Fail | Status::ExpectedFail) && !r.findings.is_empty()
        })
        .collect();
    if !with_findings.is_empty() {
        out.push_str("\n## Findings\n");
        for r in with_findings {
            let _ = writeln!(
                out,
                "\n### {} {}: {}\n",
                status_label(r.status).to_uppercase(),
                code_span(&escape_text(&r.id)),
                md_text(&escape_label(&r.title))
            );
            let _ = writeln!(out, "Source: {}.", r.source.as_str());
            out.push('\n');
            if let Some(reason) = &r.baseline_reason {
                let _ = writeln!(
                    out,
                    "Expected to fail on this target: {}\n",
                    md_text(&escape_text(reason))
                );
            }
            let n = r.findings.len();
            for (i, f) in r.findings.iter().enumerate() {
                if n > 1 {
                    let _ = writeln!(out, "\n#### Finding {} of {n}\n", i + 1);
                }
                finding(&mut out, f);
            }
        }
    }
    out
}

fn finding(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "Expected: {}\n", md_text(&escape_text(&f.expected)));
    // The console's evidence lines, split into request and response blocks.
    let lines = finding_lines(f);
    let request: Vec<&String> = lines
        .iter()
        .skip_while(|l| !l.starts_with("request:"))
        .take_while(|l| !l.starts_with("observed:"))
        .collect();
    let response: Vec<&String> = lines
        .iter()
        .skip_while(|l| !l.starts_with("observed:"))
        .take_while(|l| !l.starts_with("replay:"))
        .collect();
    out.push_str("Request as sent:\n\n");
    fenced(out, "text", &join(&request));
    out.push_str("\nResponse:\n\n");
    fenced(out, "text", &join(&response));
    out.push_str("\nReplay:\n\n");
    fenced(out, "sh", &escape_text(&f.replay));
    if !f.fingerprint.is_empty() {
        let _ = writeln!(
            out,
            "\nFingerprint: {}",
            code_span(&escape_text(&f.fingerprint))
        );
    }
}

fn join(lines: &[&String]) -> String {
    lines
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fenced block whose fence is longer than any run of backticks in `body`.
fn fenced(out: &mut String, lang: &str, body: &str) {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}\n{body}\n{fence}");
}

/// An inline code span that survives backticks inside it.
pub(super) fn code_span(s: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    // A `|` would end a table cell even inside a code span (GFM), so it is escaped there too.
    format!("{ticks}{pad}{}{pad}{ticks}", s.replace('|', "\\|"))
}

/// Text for a table cell or a line: pipes escaped, no line breaks.
pub(super) fn md_text(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn longest_backtick_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

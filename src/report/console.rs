//! The console report: a table per rule class, then the evidence for every failure, then the
//! closing counts line that CI reads.
//!
//! The last line is always exactly `N passed, N failed, N skipped`, where "failed" counts the
//! rules that make the run fail (new failures and stale baseline entries), so it is `0 failed`
//! exactly when the run conforms. Colour is plain ANSI escapes, only when asked for; the text
//! is otherwise identical. Everything that came from the endpoint or a generated case is
//! escaped, so the terminal shows control characters instead of obeying them.

use super::{Tally, by_class, escape_label, escape_lines, escape_text, quoted, status_label};
use crate::contract::{Finding, Report, RuleResult, Status};
use std::fmt::Write;

/// Characters of a response body shown per finding.
const EXCERPT_CHARS: usize = 1200;

const GREEN: &str = "32";
const YELLOW: &str = "33";
const CYAN: &str = "36";
const BOLD: &str = "1";
const BOLD_RED: &str = "1;31";
const BOLD_MAGENTA: &str = "1;35";

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn status_color(status: Status) -> &'static str {
    match status {
        Status::Pass => GREEN,
        Status::Fail => BOLD_RED,
        Status::Skip => YELLOW,
        Status::ExpectedFail => CYAN,
        Status::UnexpectedPass => BOLD_MAGENTA,
    }
}

/// Renders the whole report for a terminal (or a CI log when `color` is false): the header, a
/// table per rule class, the failures with their findings, stale baseline entries, expected
/// failures, skips, and the summary lines.
pub fn console(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for section in [
        header,
        class_tables,
        failures,
        stale_entries,
        expected_failures,
        skips,
        summary,
    ] {
        section(&mut out, report, color);
    }
    out
}

/// The tool, the target and the profile.
fn header(out: &mut String, report: &Report, color: bool) {
    let t = &report.target;
    let _ = writeln!(
        out,
        "{}",
        paint(
            &format!(
                "{}: target {} at {}, profile {}{}",
                escape_text(&report.tool),
                escape_text(&t.name),
                escape_text(&t.endpoint),
                t.profile.as_str(),
                super::caller_text(report)
                    .map(|c| format!(", signed as {c}"))
                    .unwrap_or_default()
            ),
            BOLD,
            color
        )
    );
}

/// A table per rule class: id, status, cases, source.
fn class_tables(out: &mut String, report: &Report, color: bool) {
    for (class, rules) in by_class(report) {
        out.push('\n');
        let _ = writeln!(out, "{}", paint(class.as_str(), BOLD, color));
        let ids: Vec<String> = rules.iter().map(|r| escape_text(&r.id)).collect();
        let id_w = ids.iter().map(|s| s.len()).max().unwrap_or(0).max(4);
        let status_w = 6;
        let cases_w = rules
            .iter()
            .map(|r| r.cases.to_string().len())
            .max()
            .unwrap_or(0)
            .max(5);
        let _ = writeln!(
            out,
            "  {:<id_w$}  {:<status_w$}  {:>cases_w$}  SOURCE",
            "RULE", "STATUS", "CASES"
        );
        for (r, id) in rules.iter().zip(&ids) {
            // Pad before painting: escape codes have no width on screen but count in `{:<}`.
            let status = format!("{:<status_w$}", status_label(r.status));
            let _ = writeln!(
                out,
                "  {id:<id_w$}  {}  {:>cases_w$}  {}",
                paint(&status, status_color(r.status), color),
                r.cases,
                r.source.as_str()
            );
        }
    }
}

/// Every failed rule with its findings.
fn failures(out: &mut String, report: &Report, color: bool) {
    let failed: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Fail)
        .collect();
    if !failed.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", paint("Failures", BOLD_RED, color));
        for r in failed {
            out.push('\n');
            let _ = writeln!(
                out,
                "{} {}: {} (source: {})",
                paint("FAIL", BOLD_RED, color),
                paint(&escape_text(&r.id), BOLD, color),
                escape_label(&r.title),
                r.source.as_str()
            );
            if r.findings.is_empty() {
                let _ = writeln!(out, "  (no finding was recorded for this rule)");
            }
            let n = r.findings.len();
            for (i, f) in r.findings.iter().enumerate() {
                if n > 1 {
                    let _ = writeln!(out, "  finding {} of {n}:", i + 1);
                }
                for line in finding_lines(f) {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
}

/// Baseline entries whose rule now passes (they fail the run).
fn stale_entries(out: &mut String, report: &Report, color: bool) {
    let stale: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::UnexpectedPass)
        .collect();
    if !stale.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            paint(
                "STALE BASELINE: these rules now pass but the baseline expects them to fail; \
                 remove them from the target's baseline",
                BOLD_MAGENTA,
                color
            )
        );
        for r in stale {
            let _ = writeln!(
                out,
                "  {} {}: {} (baseline reason: {})",
                paint("XPASS", BOLD_MAGENTA, color),
                escape_text(&r.id),
                escape_label(&r.title),
                escape_text(r.baseline_reason.as_deref().unwrap_or("none given"))
            );
        }
    }
}

/// Failures the baseline expects, each with its first finding.
fn expected_failures(out: &mut String, report: &Report, color: bool) {
    let xfail: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::ExpectedFail)
        .collect();
    if !xfail.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            paint("Expected failures (baseline)", CYAN, color)
        );
        for r in xfail {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint("xfail", CYAN, color),
                escape_text(&r.id),
                escape_text(r.baseline_reason.as_deref().unwrap_or("no reason given"))
            );
            if let Some(f) = r.findings.first() {
                let _ = writeln!(
                    out,
                    "    expected {}; observed {}",
                    escape_text(&f.expected),
                    observed_summary(f)
                );
                let _ = writeln!(out, "    replay: {}", escape_text(&f.replay));
                if !f.fingerprint.is_empty() {
                    let _ = writeln!(out, "    fingerprint: {}", escape_text(&f.fingerprint));
                }
            }
        }
    }
}

/// Skipped rules and why.
fn skips(out: &mut String, report: &Report, color: bool) {
    let skipped: Vec<&RuleResult> = report
        .rules
        .iter()
        .filter(|r| r.status == Status::Skip)
        .collect();
    if !skipped.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", paint("Skipped", YELLOW, color));
        for r in skipped {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint("skip", YELLOW, color),
                escape_text(&r.id),
                escape_text(r.skip_reason.as_deref().unwrap_or("no reason given"))
            );
        }
    }
}

/// The verdict line and the `N passed, N failed, N skipped` line CI reads.
fn summary(out: &mut String, report: &Report, color: bool) {
    let tally = Tally::of(report);
    let s = &report.summary;
    out.push('\n');
    let verdict = if tally.failing() == 0 {
        paint("conforms", GREEN, color)
    } else {
        paint("DEVIATES", BOLD_RED, color)
    };
    let _ = writeln!(
        out,
        "{verdict}: {} rules, {} cases sent, {} retries, {:.1} s; {} expected failure(s), \
         {} stale baseline entr{}",
        report.rules.len(),
        s.cases_sent,
        s.retries,
        s.elapsed_ms as f64 / 1000.0,
        tally.expected_failures,
        tally.unexpected_passes,
        if tally.unexpected_passes == 1 {
            "y"
        } else {
            "ies"
        }
    );
    // CI reads this line; keep its form exactly.
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        tally.passed,
        tally.failing(),
        tally.skipped
    );
}

/// `HTTP 400 ValidationError` or `no response (connection refused)`, escaped, on one line.
fn observed_summary(f: &Finding) -> String {
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
        Some(code) => format!("HTTP {} {}", o.status, escape_text(code)),
        None => format!("HTTP {}", o.status),
    }
}

/// The evidence of one finding as plain lines (no colour, no leading indent): expected, the
/// request as sent, what came back, the steps before it and the replay command. JUnit and the
/// console share it so a CI log and a terminal say the same thing.
pub fn finding_lines(f: &Finding) -> Vec<String> {
    let c = &f.case;
    let o = &f.observed;
    let mut lines = vec![
        format!("expected: {}", escape_text(&f.expected)),
        format!(
            "request:  {} {} (signing: {})",
            escape_text(&c.method),
            escape_text(&c.action),
            escape_text(&c.signing)
        ),
    ];
    for (k, v) in &c.params {
        lines.push(format!("    {} = {}", escape_text(k), quoted(v)));
    }
    lines.push(format!("    wire: {}", escape_text(&c.wire)));
    lines.push(format!("observed: {}", observed_summary(f)));
    if let Some(m) = &o.message {
        lines.push(format!("    message: {}", quoted(m)));
    }
    if o.status != 0 && !o.excerpt.is_empty() {
        lines.push("    body:".to_owned());
        for l in escape_lines(&o.excerpt, EXCERPT_CHARS) {
            lines.push(format!("      | {l}"));
        }
    }
    if !c.steps.is_empty() {
        lines.push("steps:".to_owned());
        for (i, s) in c.steps.iter().enumerate() {
            lines.push(format!("    {}. {}", i + 1, escape_text(s)));
        }
    }
    lines.push(format!("replay:   {}", escape_text(&f.replay)));
    if !f.fingerprint.is_empty() {
        lines.push(format!("fingerprint: {}", escape_text(&f.fingerprint)));
    }
    lines
}

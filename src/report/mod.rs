//! Reports: turns a [`Report`] into the console table, JSON, JUnit XML, Markdown, SARIF, the
//! cross-target compatibility matrix and standalone reproductions (`repro`), and guards every output with the secret tripwire.
//!
//! Everything here is a pure function of the report (no clock, no randomness, no IO), so equal
//! reports give byte-equal output and can be snapshotted. Nothing here judges an endpoint or
//! changes a verdict: a report is rendered as it is. Text that came from an endpoint or from a
//! generated case is escaped before it is shown ([`escape_text`]), so a hostile response cannot
//! move the terminal cursor or hide a control character in a parameter. The progress bar is the
//! one piece that draws on a terminal, and it lives behind the `cli` feature with JUnit.

mod console;
mod json;
#[cfg(feature = "cli")]
mod junit;
mod markdown;
mod matrix;
#[cfg(feature = "cli")]
mod progress;
pub mod repro;
mod sarif;
mod tripwire;

pub use console::console;
/// One finding as plain lines, the way `check` prints it (the live proxy prints each as it happens).
pub use console::finding_lines;
pub use json::{ReportError, from_json, to_json};
#[cfg(feature = "cli")]
pub use junit::to_junit;
pub use markdown::{to_markdown, to_markdown_stable};
pub use matrix::compatibility_matrix;
#[cfg(feature = "cli")]
pub use progress::Progress;
pub use sarif::{FINGERPRINT_KEY, SARIF_SCHEMA_URI, to_sarif};
pub use tripwire::{LeakForm, Tripwire, TripwireError, scrub_all};

use crate::contract::{Report, RuleClass, RuleResult, Status};

/// Rule counts by verdict, computed from the rules themselves (not from `report.summary`, which a
/// caller may have built by hand or not recounted after applying a baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub expected_failures: usize,
    pub unexpected_passes: usize,
}

impl Tally {
    pub fn of(report: &Report) -> Tally {
        let mut t = Tally::default();
        for r in &report.rules {
            match r.status {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
                Status::Skip => t.skipped += 1,
                Status::ExpectedFail => t.expected_failures += 1,
                Status::UnexpectedPass => t.unexpected_passes += 1,
            }
        }
        t
    }

    /// Rules that make the run fail: new failures and stale baseline entries. This is the
    /// "failed" number of the closing `N passed, N failed` line, so it is zero exactly when the
    /// report conforms.
    pub fn failing(&self) -> usize {
        self.failed + self.unexpected_passes
    }
}

/// The short label of a status as the tables show it: `pass`, `FAIL`, `skip`, `xfail`, `XPASS`.
/// Failures are upper case so they stand out in a column of passes.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skip => "skip",
        Status::ExpectedFail => "xfail",
        Status::UnexpectedPass => "XPASS",
    }
}

/// Whom the run signed as (`account root (arn:aws:iam::…:root)`, `IAM user admin`), escaped,
/// when a run probed it: every report format says it.
pub fn caller_text(report: &Report) -> Option<String> {
    report
        .target
        .caller
        .as_ref()
        .map(|c| escape_text(&c.describe()))
}

/// Escapes text so that it shows unambiguously on one line: backslash, control characters and
/// everything outside printable ASCII become Rust-style escapes (`\\`, `\n`, `\0`, `\u{e9}`).
/// Non-ASCII is escaped too, because a Unicode letter that looks like an ASCII one is exactly
/// the kind of input the validation rules probe.
pub fn escape_text(s: &str) -> String {
    escape_inner(s, false)
}

/// Escapes the harness's own text (rule titles, which quote model patterns such as
/// `[\w+=,.@-]+`): only control characters, which could break a line or drive a terminal, are
/// escaped. A backslash stays one backslash, so a pattern reads as the model has it; what an
/// endpoint sent goes through [`escape_text`] instead, where `\\` keeps escapes unambiguous.
pub fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// [`escape_text`] in double quotes, with `"` escaped, so leading and trailing spaces show.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", escape_inner(s, true))
}

fn escape_inner(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quote => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c == ' ' || c.is_ascii_graphic() => out.push(c),
            c => out.extend(c.escape_unicode()),
        }
    }
    out
}

/// Escapes multi-line text line by line: newlines stay line breaks, everything else is escaped
/// as in [`escape_text`]. At most `max_chars` characters are kept; the rest is counted.
fn escape_lines(s: &str, max_chars: usize) -> Vec<String> {
    let total = s.chars().count();
    let kept: String = s.chars().take(max_chars).collect();
    let mut lines: Vec<String> = kept.split('\n').map(escape_text).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if total > max_chars {
        lines.push(format!("... ({} more characters)", total - max_chars));
    }
    lines
}

/// The rules of a report grouped by class, classes in report order, rules in report order.
fn by_class(report: &Report) -> Vec<(RuleClass, Vec<&RuleResult>)> {
    let mut groups: Vec<(RuleClass, Vec<&RuleResult>)> = Vec::new();
    for class in RuleClass::all() {
        let rules: Vec<&RuleResult> = report.rules.iter().filter(|r| r.class == class).collect();
        if !rules.is_empty() {
            groups.push((class, rules));
        }
    }
    groups
}

/// `http://127.0.0.1:43121` → `http://127.0.0.1:PORT`: the port of a locally started service
/// changes on every run, so outputs meant to be committed or snapshotted leave it out.
fn without_port(endpoint: &str) -> String {
    let Some(scheme_end) = endpoint.find("://") else {
        return endpoint.to_owned();
    };
    let host_start = scheme_end + 3;
    let rest = &endpoint[host_start..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..host_end];
    // The port follows the last colon, unless that colon is inside an IPv6 literal.
    match authority.rfind(':') {
        Some(i)
            if !authority[i..].contains(']')
                && authority[i + 1..].chars().all(|c| c.is_ascii_digit())
                && i + 1 < authority.len() =>
        {
            format!(
                "{}{}:PORT{}",
                &endpoint[..host_start],
                &authority[..i],
                &rest[host_end..]
            )
        }
        _ => endpoint.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_non_ascii_and_backslash() {
        assert_eq!(
            escape_text("a\0b\x1b[31m\u{e9}\\"),
            "a\\0b\\u{1b}[31m\\u{e9}\\\\"
        );
        assert_eq!(quoted(" x\"y "), "\" x\\\"y \"");
        assert_eq!(escape_text("\u{7f}\t"), "\\u{7f}\\t");
    }

    #[test]
    fn strips_ports() {
        assert_eq!(
            without_port("http://127.0.0.1:43121"),
            "http://127.0.0.1:PORT"
        );
        assert_eq!(
            without_port("http://127.0.0.1:43121/iam"),
            "http://127.0.0.1:PORT/iam"
        );
        assert_eq!(
            without_port("https://iam.amazonaws.com"),
            "https://iam.amazonaws.com"
        );
        assert_eq!(without_port("http://[::1]:80"), "http://[::1]:PORT");
        assert_eq!(without_port("http://[::1]"), "http://[::1]");
        assert_eq!(without_port("not a url"), "not a url");
    }

    #[test]
    fn labels_keep_backslashes_and_escape_only_controls() {
        assert_eq!(
            escape_label("UserName: \\w in [\\w+=,.@-]+ is ASCII"),
            "UserName: \\w in [\\w+=,.@-]+ is ASCII"
        );
        assert_eq!(escape_label("a\nb\u{1b}[2J\u{e9}"), "a\\nb\\u{1b}[2J\u{e9}");
    }

    #[test]
    fn escape_lines_caps_length() {
        assert_eq!(escape_lines("ab\ncd\n", 100), vec!["ab", "cd"]);
        assert_eq!(
            escape_lines("abcdef", 3),
            vec!["abc".to_owned(), "... (3 more characters)".to_owned()]
        );
    }
}

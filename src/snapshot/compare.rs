//! Comparing a recorded snapshot set with a fresh one: line-wise, with `[...]` wildcards in the
//! recorded text, and a readable unified diff per differing case. Pure: no IO.
//!
//! Lines starting with `#` are comments (case name, request, source) and never compared. In a
//! recorded line, `[...]` matches any text within that line, so a reference built from
//! documentation can say "status 400, code RequestExpired, some message" without inventing the
//! message. Nothing here decides what a difference means; it only finds and shows them.

use regex::Regex;
use similar::algorithms::{Capture, Replace, myers};
use similar::{DiffOp, group_diff_ops};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The wildcard token of recorded snapshots.
pub const WILDCARD: &str = "[...]";

/// One line for the diff: equal when the texts are equal or a wildcard pattern matches.
struct Line<'a> {
    text: &'a str,
    pattern: Option<Regex>,
}

impl<'a> Line<'a> {
    fn new(text: &'a str) -> Line<'a> {
        let pattern = text.contains(WILDCARD).then(|| {
            let parts: Vec<String> = text.split(WILDCARD).map(regex::escape).collect();
            Regex::new(&format!("^{}$", parts.join(".*"))).expect("escaped text is a valid regex")
        });
        Line { text, pattern }
    }
}

impl PartialEq for Line<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
            || self
                .pattern
                .as_ref()
                .is_some_and(|p| p.is_match(other.text))
            || other
                .pattern
                .as_ref()
                .is_some_and(|p| p.is_match(self.text))
    }
}

/// The compared lines of a snapshot: without `#` comments and trailing blank lines.
pub fn content_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::trim_end)
        .collect();
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// A unified diff of `recorded` (`-`) against `actual` (`+`) with three lines of context, or
/// `None` when they match.
pub fn diff(name: &str, recorded: &str, actual: &str) -> Option<String> {
    let old: Vec<Line<'_>> = content_lines(recorded).into_iter().map(Line::new).collect();
    let new: Vec<Line<'_>> = content_lines(actual).into_iter().map(Line::new).collect();
    let mut capture = Replace::new(Capture::new());
    // Myers only compares lines for equality, which is what a wildcard match needs.
    let _ = myers::diff(&mut capture, &old, 0..old.len(), &new, 0..new.len());
    let ops = capture.into_inner().into_ops();
    if ops.iter().all(|op| matches!(op, DiffOp::Equal { .. })) {
        return None;
    }
    let mut out = format!("--- recorded/{name}\n+++ actual/{name}\n");
    for group in group_diff_ops(ops, 3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o0, n0) = (first.old_range().start, first.new_range().start);
        let (o1, n1) = (last.old_range().end, last.new_range().end);
        let _ = writeln!(out, "@@ -{},{} +{},{} @@", o0 + 1, o1 - o0, n0 + 1, n1 - n0);
        for op in &group {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for l in &old[old_index..old_index + len] {
                        let _ = writeln!(out, " {}", l.text);
                    }
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    for l in &old[old_index..old_index + old_len] {
                        let _ = writeln!(out, "-{}", l.text);
                    }
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for l in &new[new_index..new_index + new_len] {
                        let _ = writeln!(out, "+{}", l.text);
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    for l in &old[old_index..old_index + old_len] {
                        let _ = writeln!(out, "-{}", l.text);
                    }
                    for l in &new[new_index..new_index + new_len] {
                        let _ = writeln!(out, "+{}", l.text);
                    }
                }
            }
        }
    }
    Some(out)
}

/// The result of comparing a recorded set with a fresh one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Cases that match.
    pub equal: Vec<String>,
    /// Cases that differ, with their diffs.
    pub different: Vec<(String, String)>,
    /// Cases sent now that the recorded set has no file for (not a difference).
    pub unrecorded: Vec<String>,
    /// Recorded cases that were not sent now (a difference: the case set changed).
    pub missing: Vec<String>,
}

impl Comparison {
    /// Whether the endpoint matches the recording.
    pub fn is_equal(&self) -> bool {
        self.different.is_empty() && self.missing.is_empty()
    }

    /// The per-case diffs followed by a summary, as `snapshot --compare` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (_, d) in &self.different {
            out.push_str(d);
            out.push('\n');
        }
        for m in &self.missing {
            let _ = writeln!(out, "missing: {m} is recorded but was not sent");
        }
        if !self.unrecorded.is_empty() {
            let _ = writeln!(
                out,
                "not recorded (not compared): {}",
                self.unrecorded.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "{} equal, {} different, {} missing, {} not recorded",
            self.equal.len(),
            self.different.len(),
            self.missing.len(),
            self.unrecorded.len()
        );
        if !self.different.is_empty() {
            let names: Vec<&str> = self.different.iter().map(|(n, _)| n.as_str()).collect();
            let _ = writeln!(out, "different: {}", names.join(", "));
        }
        out
    }
}

/// Compares recorded snapshots (case name → file text) with fresh ones (in case order).
pub fn compare(recorded: &BTreeMap<String, String>, actual: &[(String, String)]) -> Comparison {
    let mut c = Comparison::default();
    for (name, text) in actual {
        match recorded.get(name) {
            None => c.unrecorded.push(name.clone()),
            Some(rec) => match diff(name, rec, text) {
                None => c.equal.push(name.clone()),
                Some(d) => c.different.push((name.clone(), d)),
            },
        }
    }
    for name in recorded.keys() {
        if !actual.iter().any(|(n, _)| n == name) {
            c.missing.push(name.clone());
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_comments() {
        let rec = "# source: docs\nstatus: 400\n<Message>[...]</Message>\n";
        let act = "# source: emulator\nstatus: 400\n<Message>Request has expired.</Message>\n\n";
        assert_eq!(diff("x", rec, act), None);
        let d = diff("x", rec, "status: 403\n<Message>m</Message>\n").unwrap();
        assert!(d.contains("-status: 400\n+status: 403\n"), "{d}");
        assert!(d.starts_with("--- recorded/x\n+++ actual/x\n@@ -1,2 +1,2 @@\n"));
    }

    #[test]
    fn missing_and_unrecorded() {
        let rec: BTreeMap<String, String> = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]
        .into();
        let c = compare(&rec, &[("a".into(), "1".into()), ("c".into(), "3".into())]);
        assert_eq!(c.equal, vec!["a"]);
        assert_eq!(c.missing, vec!["b"]);
        assert_eq!(c.unrecorded, vec!["c"]);
        assert!(!c.is_equal());
        assert!(
            c.render()
                .contains("1 equal, 0 different, 1 missing, 1 not recorded")
        );
    }
}

//! Which of a rule's findings its report shows.
//!
//! A rule keeps a handful of findings, and the runner sorts them by request so that reports are
//! deterministic. Cut at the first few in that order, one kind of deviation repeated (five names
//! with a NUL, say) can hide another kind entirely (roto's JSON answer to an unsigned request, on
//! the same `output.well-formed` rule). So the first finding of each kind of answer is kept
//! before any repeat, and the kept ones stay in sorted order: the first finding, the one the
//! compatibility matrix quotes, never changes. Pure: no IO.

use super::Finding;

/// What makes two findings the same kind: the answer (status and code) to the same kind of
/// request (action, method, and how it was signed, without the details after `:`).
fn kind(f: &Finding) -> (u16, Option<&str>, &str, &str, &str) {
    let signing = f.case.signing.split(':').next().unwrap_or_default();
    (
        f.observed.status,
        f.observed.code.as_deref(),
        f.case.action.as_str(),
        f.case.method.as_str(),
        signing,
    )
}

/// Keeps at most `max` of `findings` (already in report order): the first of each kind first,
/// then repeats, all in their original order.
pub fn keep_varied(findings: &mut Vec<Finding>, max: usize) {
    if findings.len() <= max {
        return;
    }
    let mut keep = vec![false; findings.len()];
    let mut seen = Vec::new();
    let mut kept = 0;
    for (i, f) in findings.iter().enumerate() {
        if kept < max && !seen.contains(&kind(f)) {
            seen.push(kind(f));
            keep[i] = true;
            kept += 1;
        }
    }
    for k in keep.iter_mut() {
        if kept < max && !*k {
            *k = true;
            kept += 1;
        }
    }
    let mut i = 0;
    findings.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{CaseRecord, Observed};

    fn finding(wire: &str, status: u16, signing: &str) -> Finding {
        Finding {
            case: CaseRecord {
                action: "CreateAccessKey".into(),
                params: Vec::new(),
                method: "POST".into(),
                signing: signing.into(),
                wire: wire.into(),
                steps: Vec::new(),
                sequence: None,
            },
            observed: Observed {
                status,
                code: None,
                message: None,
                excerpt: String::new(),
                transport_error: None,
            },
            expected: String::new(),
            fingerprint: String::new(),
            replay: String::new(),
        }
    }

    fn wires(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.case.wire.as_str()).collect()
    }

    #[test]
    fn a_rarer_kind_is_not_hidden_behind_repeats() {
        // (findings in report order, max, the wires kept)
        let check = |input: Vec<Finding>, max: usize, expected: &[&str]| {
            let mut f = input;
            keep_varied(&mut f, max);
            assert_eq!(wires(&f), expected);
        };
        // roto's output.well-formed: five NUL names (404, signed) sort before the unsigned
        // request that got a JSON body (400).
        let roto = || {
            let mut v: Vec<Finding> = (1..=6)
                .map(|i| finding(&format!("n{i}"), 404, "sigv4"))
                .collect();
            v.push(finding("unsigned", 400, "unsigned"));
            v
        };
        check(roto(), 5, &["n1", "n2", "n3", "n4", "unsigned"]);
        check(roto(), 2, &["n1", "unsigned"]);
        check(roto(), 1, &["n1"]);
        // Signing details do not make a kind; few findings are left alone.
        check(
            vec![
                finding("a", 200, "skewed:+1200s"),
                finding("b", 200, "skewed:-1200s"),
                finding("c", 200, "sigv4"),
            ],
            2,
            &["a", "c"],
        );
        check(vec![finding("a", 404, "sigv4")], 5, &["a"]);
    }
}

//! Rendering profiles: one target's table as Markdown or console text, and the cross-target
//! "Enforced limits" section `compat` appends to the compatibility matrix.
//!
//! Pure functions of [`ProfileReport`]s: equal profiles give byte-equal text, and nothing here
//! changes a verdict. Endpoint-derived text in a profile (error codes) was escaped when the
//! profile was taken; here pipes and line breaks are kept out of table cells.

use super::{Limit, ProfileReport, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Text for a Markdown table cell or list item: pipes escaped, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The endpoint without its port: local services get a fresh port every run, and a committed
/// document should change only when a measurement does.
fn without_port(endpoint: &str) -> String {
    let Ok(mut url) = url::Url::parse(endpoint) else {
        return endpoint.to_owned();
    };
    let _ = url.set_port(None);
    url.to_string()
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn measured_text(l: &Limit) -> String {
    l.measured.clone().unwrap_or_else(|| "—".into())
}

/// One target's profile as a Markdown document: a summary line, the table (limit, source,
/// model, measured, verdict) and the notes (what decided each value, why one was not measured).
pub fn to_markdown(p: &ProfileReport) -> String {
    let mut out = String::new();
    let s = &p.summary;
    let _ = writeln!(out, "# Enforced limits: {}\n", cell(&p.target.name));
    let _ = writeln!(
        out,
        "`iam-contract profile` of `{}`: {} requests (budget {}, {} retries) in {}. {} same, {} looser, {} stricter, {} mixed, {} not measured.\n",
        cell(&without_port(&p.target.endpoint)).replace('`', ""),
        s.requests,
        s.budget,
        s.retries,
        seconds(s.elapsed_ms),
        s.same,
        s.looser,
        s.stricter,
        s.mixed,
        s.not_measured
    );
    out.push_str("| Limit | Source | Model | Measured | Verdict |\n|---|---|---|---|---|\n");
    for l in &p.limits {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&l.title),
            cell(&l.source),
            cell(&l.model),
            cell(&measured_text(l)),
            verdict_cell(l.verdict)
        );
    }
    let notes: Vec<&Limit> = p.limits.iter().filter(|l| l.note.is_some()).collect();
    if !notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for l in notes {
            let _ = writeln!(
                out,
                "- {} (`{}`): {}",
                cell(&l.title),
                l.id,
                cell(l.note.as_deref().unwrap_or_default())
            );
        }
    }
    out
}

fn verdict_cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Same => "same",
        Verdict::Looser => "**looser**",
        Verdict::Stricter => "**stricter**",
        Verdict::Mixed => "**mixed**",
        Verdict::NotMeasured => "not measured",
    }
}

/// One target's profile for a terminal: one line per limit, differences first marked, and the
/// request count and time.
pub fn console(p: &ProfileReport) -> String {
    let mut out = String::new();
    let width = p
        .limits
        .iter()
        .map(|l| l.title.chars().count())
        .max()
        .unwrap_or(0);
    for l in &p.limits {
        let _ = writeln!(
            out,
            "{:<12} {:<width$}  model {} | measured {}",
            l.verdict.as_str(),
            l.title,
            l.model,
            measured_text(l),
        );
    }
    let s = &p.summary;
    let _ = writeln!(
        out,
        "{} requests (budget {}) to {} in {}: {} same, {} looser, {} stricter, {} mixed, {} not measured",
        s.requests,
        s.budget,
        p.target.endpoint,
        seconds(s.elapsed_ms),
        s.same,
        s.looser,
        s.stricter,
        s.mixed,
        s.not_measured
    );
    out
}

/// At most this many characters of a measured value in a cell of the cross-target section; the
/// whole value is in the target's own profile.
const CELL_CHARS: usize = 72;

/// `text`, cut at a word boundary before [`CELL_CHARS`] characters and marked `…` if longer.
fn shortened(text: &str) -> String {
    if text.chars().count() <= CELL_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(CELL_CHARS).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{} …", &cut[..at])
}

/// The "Enforced limits" section across targets: one column per profile (in the order
/// given), one row per limit (in the order the limits were first seen), the model's value, and
/// in each cell `same`, the measured value with its verdict, or `not measured`.
pub fn limits_section(profiles: &[ProfileReport]) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut first: BTreeMap<&str, &Limit> = BTreeMap::new();
    for p in profiles {
        for l in &p.limits {
            first.entry(l.id.as_str()).or_insert_with(|| {
                order.push(l.id.as_str());
                l
            });
        }
    }
    let mut out = String::new();
    out.push_str("\n## Enforced limits\n\n");
    out.push_str(
        "What each target actually enforces, measured by `iam-contract profile` (lengths by \
         bisection up to 4,096 characters, a fixed set of 134 probe characters, enum values and \
         their case variants, and the behavioural limits of the facts), next to the model's \
         value. A cell says `same` when the target enforces the model's value, the measured value \
         (long ones cut, marked `…`) and whether it is looser or stricter otherwise, and `not \
         measured` when the profile could not tell; each target's own profile \
         (`iam-contract profile --out`) has the whole values, the reasons and how long it took \
         (left out here so that this file changes only when a measurement does).\n\n",
    );
    out.push_str(
        "| Target | Endpoint | Requests | same | looser | stricter | mixed | not measured |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for p in profiles {
        let s = &p.summary;
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} |",
            cell(&p.target.name),
            cell(&without_port(&p.target.endpoint)).replace('`', ""),
            s.requests,
            s.same,
            s.looser,
            s.stricter,
            s.mixed,
            s.not_measured
        );
    }
    out.push_str("\n| Limit | Model |");
    for p in profiles {
        let _ = write!(out, " {} |", cell(&p.target.name));
    }
    out.push_str("\n|---|---|");
    for _ in profiles {
        out.push_str("---|");
    }
    out.push('\n');
    for id in order {
        let l = first[id];
        let _ = write!(out, "| {} | {} |", cell(&l.title), cell(&l.model));
        for p in profiles {
            let text = match p.limit(id) {
                None => "—".to_owned(),
                Some(m) => match m.verdict {
                    Verdict::Same => "same".into(),
                    Verdict::NotMeasured => "not measured".into(),
                    v => format!("{} ({})", shortened(&measured_text(m)), v.as_str()),
                },
            };
            let _ = write!(out, " {} |", cell(&text));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{KIND, ProfileSummary, ProfileTarget};

    fn profile(name: &str, limits: Vec<Limit>) -> ProfileReport {
        let mut p = ProfileReport {
            kind: KIND.into(),
            tool: "t".into(),
            target: ProfileTarget {
                name: name.into(),
                endpoint: "http://127.0.0.1:4321/".into(),
            },
            summary: ProfileSummary {
                requests: 12,
                budget: 1000,
                elapsed_ms: 1500,
                ..ProfileSummary::default()
            },
            limits,
        };
        p.recount();
        p
    }

    fn limit(id: &str, measured: Option<&str>, verdict: Verdict, note: Option<&str>) -> Limit {
        Limit {
            id: id.into(),
            title: format!("title of {id}"),
            source: "model".into(),
            model: "128".into(),
            measured: measured.map(str::to_owned),
            verdict,
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn markdown_has_a_row_per_limit_and_the_notes() {
        let p = profile(
            "moto",
            vec![
                limit("a", Some("128"), Verdict::Same, None),
                limit(
                    "b",
                    Some("4096 | more"),
                    Verdict::Looser,
                    Some("accepted at 4096"),
                ),
                limit("c", None, Verdict::NotMeasured, Some("budget")),
            ],
        );
        let md = to_markdown(&p);
        assert!(md.contains("`http://127.0.0.1/`: 12 requests (budget 1000, 0 retries) in 1.5 s"));
        assert!(
            md.contains("| title of b | model | 128 | 4096 \\| more | **looser** |"),
            "{md}"
        );
        assert!(md.contains("| title of c | model | 128 | — | not measured |"));
        assert!(md.contains("- title of c (`c`): budget"));
        assert!(!md.contains("(`a`)"));
        let text = console(&p);
        assert!(text.contains("looser"));
        assert!(text.contains("12 requests (budget 1000)"));
    }

    #[test]
    fn the_section_lines_targets_up_by_limit() {
        let a = profile(
            "emulator",
            vec![limit("x", Some("128"), Verdict::Same, None)],
        );
        let b = profile(
            "moto",
            vec![
                limit("x", Some("4096 or more"), Verdict::Looser, None),
                limit("y", None, Verdict::NotMeasured, Some("r")),
            ],
        );
        let mut b = b;
        b.limits[0].model = "not the first profile's".into();
        b.limits[0].measured = Some(format!("{} end", "long ".repeat(30)));
        let s = limits_section(&[a, b]);
        // The model's value comes from the first profile; a long value is cut at a word.
        let cut = format!("{} \u{2026}", "long ".repeat(14).trim_end());
        assert!(
            s.contains(&format!("| title of x | 128 | same | {cut} (looser) |")),
            "{s}"
        );
        assert!(s.contains("| title of y | 128 | — | not measured |"), "{s}");
        assert!(s.contains("| moto | `http://127.0.0.1/` | 12 | 0 | 1 | 0 | 0 | 1 |"));
    }
}

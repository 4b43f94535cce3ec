//! The JUnit XML report, written with `quick-junit`: one testsuite per rule class, one testcase
//! per rule.
//!
//! Failures and stale baseline entries are `<failure>`s carrying the same evidence the console
//! prints; skips are `<skipped>` with the reason; expected failures count as passed (the
//! baseline accepts them) with a system-out note naming the baseline's reason. No timestamps,
//! so equal reports give equal XML.

use super::console::finding_lines;
use super::{Tally, by_class, escape_text};
use crate::contract::{Report, RuleResult, Status};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The report as JUnit XML.
pub fn to_junit(report: &Report) -> String {
    let mut junit =
        quick_junit::Report::new(format!("iam-contract {}", escape_text(&report.target.name)));
    junit.set_time(Duration::from_millis(report.summary.elapsed_ms));
    for (class, rules) in by_class(report) {
        let mut suite = TestSuite::new(class.as_str());
        suite.add_property(Property::new("endpoint", &report.target.endpoint));
        suite.add_property(Property::new("profile", report.target.profile.as_str()));
        if let Some(caller) = super::caller_text(report) {
            suite.add_property(Property::new("caller", caller));
        }
        for r in rules {
            suite.add_test_case(test_case(class.as_str(), r));
        }
        junit.add_test_suite(suite);
    }
    let tally = Tally::of(report);
    match junit.to_string() {
        Ok(xml) => xml,
        // Serialising into memory cannot fail on IO, and XmlString strips what XML cannot hold;
        // should quick-junit still refuse, a one-case report says so instead of panicking.
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"1\" failures=\"0\" \
             errors=\"1\"><testsuite name=\"iam-contract\" tests=\"1\" failures=\"0\" \
             errors=\"1\"><testcase name=\"junit-report\"><error message=\"{}\"/></testcase>\
             </testsuite></testsuites>\n",
            xml_attr(&format!(
                "cannot write the JUnit report ({} failing rules): {e}",
                tally.failing()
            ))
        ),
    }
}

fn test_case(class: &str, r: &RuleResult) -> TestCase {
    let evidence = || {
        let mut text = String::new();
        for (i, f) in r.findings.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            for line in finding_lines(f) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    };
    let status = match r.status {
        Status::Pass | Status::ExpectedFail => TestCaseStatus::success(),
        Status::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(escape_text(
                r.skip_reason.as_deref().unwrap_or("no reason given"),
            ));
            s
        }
        Status::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = match r.findings.first() {
                Some(f) => format!("expected {}", escape_text(&f.expected)),
                None => "the rule failed".to_owned(),
            };
            s.set_message(message);
            s.set_type("deviation");
            s.set_description(evidence());
            s
        }
        Status::UnexpectedPass => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "stale baseline: the rule passes but the baseline expects it to fail ({})",
                escape_text(r.baseline_reason.as_deref().unwrap_or("no reason given"))
            ));
            s.set_type("stale-baseline");
            s
        }
    };
    let mut case = TestCase::new(&r.id, status);
    case.set_classname(class);
    case.set_assertions(r.cases);
    if r.status == Status::ExpectedFail {
        case.set_system_out(format!(
            "expected failure (baseline): {}\n\n{}",
            escape_text(r.baseline_reason.as_deref().unwrap_or("no reason given")),
            evidence()
        ));
    }
    case
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

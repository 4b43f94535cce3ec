//! The contract suite against the embedded emulator: it conforms, and every rule fails when the
//! emulator is started with a fault that breaks it.

use iam_contract::client::Client;
use iam_contract::contract::{CheckConfig, Profile, Report, Status, catalogue, run_check};
use iam_contract::emulator::{self, Fault};
use iam_contract::model::Model;
use std::collections::BTreeMap;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn quick_config(tag: &str) -> CheckConfig {
    CheckConfig {
        target_name: "emulator".into(),
        profile: Profile::Aws,
        cases: 24,
        sequences: 16,
        parallel_creates: 100,
        ledger: std::env::temp_dir().join(format!(
            "iam-contract-test-{tag}-{}.jsonl",
            std::process::id()
        )),
        ..CheckConfig::default()
    }
}

async fn check_emulator(config: emulator::Config, check: &CheckConfig) -> Report {
    // An emulator that issues key IDs shorter than the model allows cannot accept them back
    // in DeleteAccessKey, so cleanup cannot finish there; everywhere else it must.
    let cleanup_possible = !config.faults.contains(Fault::ShortKeyId);
    let emu = emulator::start(config).await.expect("emulator starts");
    let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
    let outcome = run_check(&client, Model::embedded(), check)
        .await
        .expect("check runs");
    if cleanup_possible {
        assert!(
            outcome.cleanup_left.is_empty(),
            "cleanup left {:?}",
            outcome.cleanup_left
        );
    }
    outcome.report
}

fn describe_failures(report: &Report) -> String {
    report
        .rules
        .iter()
        .filter(|r| r.status != Status::Pass)
        .map(|r| {
            let f = r.findings.first();
            format!(
                "{} {}: {}{}",
                r.status.as_str(),
                r.id,
                r.skip_reason.clone().unwrap_or_default(),
                f.map(|f| format!(
                    " expected {} / got HTTP {} {:?} / {} {}",
                    f.expected, f.observed.status, f.observed.code, f.case.method, f.case.wire
                ))
                .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_emulator_passes_every_rule_of_the_aws_profile() {
    let report = rt().block_on(check_emulator(
        emulator::Config::default(),
        &quick_config("conform"),
    ));
    let not_passing = describe_failures(&report);
    assert!(
        not_passing.is_empty(),
        "rules that did not pass:\n{not_passing}"
    );
    assert_eq!(report.rules.len(), catalogue(Model::embedded()).len());
    assert!(
        report.summary.cases_sent > 200,
        "sent only {}",
        report.summary.cases_sent
    );
}

#[test]
fn every_rule_names_a_fault_that_exists() {
    let names: Vec<&str> = Fault::all().iter().map(|f| f.name()).collect();
    let mut unbreakable = Vec::new();
    let mut unknown = Vec::new();
    for rule in catalogue(Model::embedded()) {
        if rule.breaking_faults.is_empty() {
            unbreakable.push(rule.id.clone());
        }
        for f in &rule.breaking_faults {
            if !names.contains(f) {
                unknown.push(format!("{} -> {f}", rule.id));
            }
        }
    }
    assert!(
        unbreakable.is_empty(),
        "rules no fault can break: {unbreakable:?}"
    );
    assert!(
        unknown.is_empty(),
        "rules name faults the emulator lacks: {unknown:?}"
    );
}

/// One run per fault; every rule that names the fault must fail in that run.
#[test]
fn every_rule_fails_against_a_fault_that_breaks_it() {
    let mut by_fault: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for rule in catalogue(Model::embedded()) {
        for f in &rule.breaking_faults {
            by_fault.entry(f).or_default().push(rule.id.clone());
        }
    }
    let rt = rt();
    let mut missed = Vec::new();
    for (fault, rules) in &by_fault {
        let Ok(parsed) = fault.parse::<Fault>() else {
            missed.push(format!("{fault}: no such fault"));
            continue;
        };
        let config = emulator::Config::default().with_fault(parsed).with_seed(7);
        let mut check = quick_config(fault);
        check.only = rules.clone();
        let report = rt.block_on(check_emulator(config, &check));
        for id in rules {
            let r = report
                .rules
                .iter()
                .find(|r| &r.id == id)
                .expect("rule in report");
            if r.status != Status::Fail {
                missed.push(format!(
                    "{fault} did not break {id} ({})",
                    r.status.as_str()
                ));
            } else {
                let f = &r.findings[0];
                assert!(
                    f.replay.starts_with("iam-contract replay"),
                    "{id}: replay {:?}",
                    f.replay
                );
                assert!(!f.expected.is_empty());
            }
        }
    }
    assert!(
        missed.is_empty(),
        "faults that did not break their rules:\n{}",
        missed.join("\n")
    );
}

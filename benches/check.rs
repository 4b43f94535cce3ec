//! Benchmark: contract cases per second against the embedded emulator over loopback.
//!
//! `cargo bench --bench check -- [--cases N] [--sequences N] [--runs N]` starts the emulator
//! in-process, runs the whole catalogue (aws profile) `runs` times and prints requests sent,
//! wall time and cases per second for each run and the median. Not a test: nothing asserts a
//! speed.

use iam_contract::client::Client;
use iam_contract::contract::{CheckConfig, Profile, run_check};
use iam_contract::emulator;
use iam_contract::model::Model;
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let cases = arg("--cases", 512);
    let sequences = arg("--sequences", 64);
    let runs = arg("--runs", 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rates = Vec::new();
    rt.block_on(async {
        let emu = emulator::start(emulator::Config::default())
            .await
            .expect("emulator");
        let client = Client::new(emu.url(), Some(emu.credentials().clone())).expect("client");
        for run in 1..=runs {
            let config = CheckConfig {
                target_name: "emulator".into(),
                profile: Profile::Aws,
                cases,
                sequences,
                ledger: std::env::temp_dir().join("iam-contract-bench-ledger.jsonl"),
                ..CheckConfig::default()
            };
            let t = Instant::now();
            let outcome = run_check(&client, Model::embedded(), &config)
                .await
                .expect("check runs");
            let secs = t.elapsed().as_secs_f64();
            let sent = outcome.report.summary.cases_sent;
            let rate = sent as f64 / secs;
            rates.push(rate);
            println!(
                "run {run}: {sent} requests in {secs:.2} s = {rate:.0} cases/s ({} rules passed, {} failed)",
                outcome.report.summary.passed, outcome.report.summary.failed
            );
        }
    });
    rates.sort_by(f64::total_cmp);
    println!(
        "median: {:.0} cases/s (cases={cases}, sequences={sequences})",
        rates[rates.len() / 2]
    );
}

//! Benchmark: contract cases per second of a whole `iam-contract check` process against the
//! embedded emulator, start-up included (spec loading, schema and pattern compiling, the
//! emulator's start, the run, the reports, the exit), as a user feels it.
//!
//! ```text
//! cargo bench --bench check -- [--cases 256] [--sequences 96] [--runs 5] [--bin PATH] [--against OLD]
//! ```
//! runs `iam-contract check --cases N --sequences N --report json=TMP` `--runs` times (by
//! default this build's binary; `--bin` times another build) and prints, per run and as the
//! median, the requests the report counts (`summary.cases_sent`) over the process's wall time.
//! `--against OLD` also times another build, alternating the two run by run, so that both
//! medians come from the same stretch of a shared, noisy machine. Not a test: nothing asserts
//! a speed.

use std::path::PathBuf;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let cases = num("--cases", 256);
    let sequences = num("--sequences", 96);
    let runs = num("--runs", 5).clamp(1, 50);
    let bin = arg("--bin")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_iam-contract")));
    let dir = std::env::temp_dir().join(format!("iam-contract-bench-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let report = dir.join("report.json");
    println!(
        "{} check --cases {cases} --sequences {sequences} (embedded emulator), {runs} runs",
        bin.display()
    );
    let against = arg("--against").map(PathBuf::from);
    let mut builds = vec![("this", bin)];
    if let Some(old) = against {
        builds.insert(0, ("against", old));
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
    for run in 1..=runs {
        for (i, (label, bin)) in builds.iter().enumerate() {
            let rate = run_once(
                bin,
                cases,
                sequences,
                &dir,
                &report,
                &format!("run {run} ({label})"),
            );
            rates[i].push(rate);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    for ((label, bin), mut r) in builds.into_iter().zip(rates) {
        r.sort_by(f64::total_cmp);
        println!(
            "median ({label}, {}): {:.0} cases/s (cases={cases}, sequences={sequences}, {runs} runs)",
            bin.display(),
            r[r.len() / 2]
        );
    }
}

/// One whole `check` process; prints its figures and returns its cases per second.
fn run_once(
    bin: &std::path::Path,
    cases: usize,
    sequences: usize,
    dir: &std::path::Path,
    report: &std::path::Path,
    label: &str,
) -> f64 {
    let _ = std::fs::remove_file(report);
    let started = Instant::now();
    let status = std::process::Command::new(bin)
        .args(["check", "--cases", &cases.to_string()])
        .args(["--sequences", &sequences.to_string()])
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .current_dir(dir)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let secs = started.elapsed().as_secs_f64();
    let summary: serde_json::Value = std::fs::read(report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let sent = summary["summary"]["cases_sent"].as_u64().unwrap_or(0);
    let rate = sent as f64 / secs;
    println!(
        "{label}: {sent} requests in {secs:.3} s = {rate:.0} cases/s (exit {}, {} rules passed, {} failed)",
        status.code().unwrap_or(-1),
        summary["summary"]["passed"],
        summary["summary"]["failed"]
    );
    rate
}

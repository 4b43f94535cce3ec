//! `iam-contract check`: judge one endpoint against the rule catalogue.
//!
//! With no `--endpoint` and no `--target`, starts the embedded emulator (optionally with
//! faults) and checks it. Exit codes: 0 conforms (or only baselined failures), 1 deviations
//! (or an expired baseline entry), 2 usage or configuration error, 3 endpoint unreachable or
//! the run could not proceed.
//!
//! After the run, every finding gets its stable fingerprint, the baseline is applied as of
//! today (UTC), and the reports and `--repro-dir` reproductions are written, every one through
//! the secret tripwire.

use super::common::{exit, out, run_interruptible, usage, write_checked};
use super::endpoint::{self, EndpointArgs};
use crate::client::Client;
use crate::contract::{
    Baseline, CheckConfig, CheckOutcome, Profile, Report, apply_baseline_on, assign_fingerprints,
    catalogue,
};
use crate::model::Model;
use crate::report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 conforms (or only baselined failures), 1 deviations or an \
expired baseline entry, 2 usage or configuration error, 3 endpoint unreachable or the run could not proceed, \
130 interrupted (everything created was deleted)."
)]
pub struct Args {
    #[command(flatten)]
    pub on: EndpointArgs,
    /// Which rules apply: `model` (what any IAM-compatible endpoint must do) or `aws` (also
    /// AWS's key formats and exact message wording).
    #[arg(long, value_name = "PROFILE", default_value = "model", value_parser = ["model", "aws"])]
    pub rules: String,
    /// Only rules whose id starts with this (repeatable), e.g. `--only input. --only auth.`.
    #[arg(long, value_name = "PREFIX")]
    pub only: Vec<String>,
    /// Property-generated cases per generated rule.
    #[arg(long, default_value_t = 64)]
    pub cases: usize,
    /// Random lifecycle sequences.
    #[arg(long, default_value_t = 24)]
    pub sequences: usize,
    /// Seed for generated cases (the same seed sends the same cases).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop sending new cases after this many requests (cleanup excluded). The rule classes run
    /// concurrently, so which cases a budget cuts off can differ between runs.
    #[arg(long, value_name = "N")]
    pub budget: Option<usize>,
    /// A baseline of expected failures (default for --target: targets/NAME/baseline.toml, if
    /// there is one).
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Write a report: json=PATH, junit=PATH, markdown=PATH or sarif=PATH (SARIF 2.1.0)
    /// (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// Write a standalone reproduction of every finding into DIR: one folder per finding with
    /// repro.sh (curl --aws-sigv4), repro.py (botocore) and README.md. Each script exits 1 while
    /// the deviation holds and 0 once it is fixed.
    #[arg(long, value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
    /// Print only the summary, not every finding.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> ExitCode {
    super::common::block_on(run_async(args))
}

async fn run_async(args: Args) -> u8 {
    let model = Model::embedded();
    let root = std::env::current_dir().unwrap_or_default();
    let known: Vec<String> = catalogue(model).into_iter().map(|r| r.id).collect();

    // Where to send, with what, and what to expect.
    let selection = args.on.selection(true, "check");
    let opened = match endpoint::open(&selection, &root).await {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut budget = args.budget;
    let mut baseline_path = args.baseline.clone();
    if let Some((profile, dir)) = &opened.profile {
        baseline_path =
            baseline_path.or_else(|| Some(dir.join("baseline.toml")).filter(|p| p.exists()));
        budget = budget.or(profile.case_budget);
    }
    let (endpoint, credentials, target_name) = (
        opened.url.clone(),
        opened.credentials.clone(),
        opened.name.clone(),
    );

    let client = match Client::new(&endpoint, Some(credentials)) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    if let Err(code) = args.on.refuse_live_aws(
        &endpoint,
        "the suite creates and deletes users and keys there",
    ) {
        return code;
    }
    let baseline = match &baseline_path {
        Some(p) => match Baseline::load(p, &known) {
            Ok(b) => Some(b),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let outputs = match parse_outputs(&args.report) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let ledger = args.on.ledger_path();
    let replay_base = selection.replay_base(&endpoint);
    let config = CheckConfig {
        replay_base: Some(replay_base),
        target_name,
        profile: if args.rules == "aws" {
            Profile::Aws
        } else {
            Profile::Model
        },
        cases: args.cases,
        sequences: args.sequences,
        seed: args.seed.unwrap_or(CheckConfig::default().seed),
        ledger: ledger.clone(),
        only: args.only.clone(),
        request_budget: budget,
        // Fixing the prefix makes the names a seeded run generates the same from run to run,
        // which `scripts/compare-reports.sh` needs to compare the reports of two builds.
        run_prefix: std::env::var("IAM_CONTRACT_RUN_PREFIX").ok().filter(|p| {
            !p.is_empty() && p.len() <= 16 && p.bytes().all(|b| b.is_ascii_alphanumeric())
        }),
        ..CheckConfig::default()
    };

    // A progress display on a terminal, fed by the runner's request counter.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let config = CheckConfig {
        progress: Some(sent.clone()),
        ..config
    };
    let progress = report::Progress::new(budget.unwrap_or(0) as u64);
    progress.set_message(format!("checking {endpoint}"));
    let ticker = {
        let progress = progress.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            loop {
                let now = sent.load(std::sync::atomic::Ordering::Relaxed) as u64;
                progress.inc(now.saturating_sub(progress.position()));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
    };
    let outcome = match run_interruptible(&client, model, &config).await {
        Ok(o) => o,
        Err(code) => return code,
    };
    ticker.abort();
    progress.finish_and_clear();
    let CheckOutcome {
        mut report,
        secrets,
        cleanup_left,
        ..
    } = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
    };
    assign_fingerprints(&mut report);
    let expired = baseline
        .as_ref()
        .map(|b| judge_baseline(&mut report, b))
        .unwrap_or_default();
    let tripwire = report::Tripwire::new(secrets);
    let color = !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let text = if args.quiet {
        summary_only(&report)
    } else {
        report::console(&report, color)
    };
    if let Err(e) = tripwire.check("console output", &text) {
        eprintln!("error: secret tripwire: {e}; the output was not printed");
        return exit::UNREACHABLE;
    }
    out(&text);
    if let Err(code) = write_reports(&report, &outputs, &tripwire) {
        return code;
    }
    if let Some(dir) = &args.repro_dir {
        let ctx = report::repro::ReproContext::new(&selection.replay_base(&endpoint));
        match report::repro::write_repro_dir(&report, dir, &ctx, &tripwire) {
            Ok(n) => eprintln!("wrote {n} reproduction(s) to {}", dir.display()),
            Err(e) => {
                eprintln!("error: --repro-dir {}: {e}", dir.display());
                return exit::UNREACHABLE;
            }
        }
    }
    for e in &expired {
        eprintln!("error: {e}; renew or remove the entry");
    }
    if !cleanup_left.is_empty() {
        eprintln!(
            "warning: cleanup left {} item(s); finish with `iam-contract cleanup --ledger {} --endpoint {endpoint}`: {}",
            cleanup_left.len(),
            ledger.display(),
            cleanup_left.join("; ")
        );
    }
    if report.conforms() && expired.is_empty() {
        exit::CONFORMS
    } else {
        exit::DEVIATIONS
    }
}

/// The `--report FORMAT=PATH` options, or the usage error's exit code.
fn parse_outputs(specs: &[String]) -> Result<Vec<(String, PathBuf)>, u8> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((fmt @ ("json" | "junit" | "markdown" | "sarif"), path)) if !path.is_empty() => {
                Ok((fmt.to_owned(), PathBuf::from(path)))
            }
            _ => Err(usage(format!(
                "--report takes json=PATH, junit=PATH, markdown=PATH or sarif=PATH, not {spec:?}"
            ))),
        })
        .collect()
}

/// Applies the baseline as of today, warns about entries that matched nothing, and returns the
/// expired entries (each fails the run).
fn judge_baseline(report: &mut Report, baseline: &Baseline) -> Vec<String> {
    let today = time::OffsetDateTime::now_utc().date();
    let outcome = apply_baseline_on(report, baseline, today);
    for w in &outcome.unmatched {
        eprintln!("warning: {w}");
    }
    outcome.expired
}

/// Writes each `--report FORMAT=PATH` behind the tripwire ([`write_checked`]); `Err` is the
/// exit code when one cannot be written or would leak a secret.
fn write_reports(
    report: &Report,
    outputs: &[(String, PathBuf)],
    tripwire: &report::Tripwire,
) -> Result<(), u8> {
    for (fmt, path) in outputs {
        let body = match fmt.as_str() {
            "json" => report::to_json(report),
            "junit" => report::to_junit(report),
            "sarif" => report::to_sarif(report),
            _ => report::to_markdown(report),
        };
        write_checked(tripwire, path, &body)?;
    }
    Ok(())
}

fn summary_only(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    for r in report.rules.iter().filter(|r| r.status.is_failure()) {
        out.push_str(&format!(
            "{:<16} {}  {}\n",
            r.status.as_str(),
            r.id,
            r.title
        ));
    }
    out.push_str(&format!(
        "{} cases sent to {} in {} ms\n{} passed, {} failed, {} skipped\n",
        s.cases_sent,
        report.target.endpoint,
        s.elapsed_ms,
        s.passed + s.expected_failures,
        s.failed + s.unexpected_passes,
        s.skipped
    ));
    out
}

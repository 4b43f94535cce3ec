//! `iam-contract verify FILE.har`: judges recorded traffic offline, the way `proxy` judges it
//! live: the same oracle, the same reports, the same exit codes.
//!
//! A HAR written by another tool (a browser, mitmproxy, an API client) is accepted: its awsQuery
//! IAM entries are judged and every other entry is skipped and counted. A file that is not HAR is
//! a usage error naming the JSON path and the problem.

use super::common::{exit, finding_text, finish_report, report_outputs, usage};
use crate::contract::Profile;
use crate::model::Model;
use crate::observe::har::{self, Har};
use crate::observe::{Observer, ObserverConfig};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 conforms, 1 deviations, 2 usage error (unreadable file, not HAR)."
)]
pub struct Args {
    /// The HAR 1.2 file to judge (as `proxy --record` writes it, or from another tool).
    #[arg(value_name = "FILE.har")]
    pub file: PathBuf,
    /// Which rules apply: `model` or `aws` (also AWS's key formats and exact message wording).
    #[arg(long, value_name = "PROFILE", default_value = "model", value_parser = ["model", "aws"])]
    pub rules: String,
    /// A baseline of expected failures (as `check --baseline` takes it): a listed rule that fails
    /// is `expected-fail`, a listed rule that passes is a stale entry and fails the run.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Write a report: json=PATH, junit=PATH or markdown=PATH (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// Print only the failing rules, not every finding and rule.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> ExitCode {
    ExitCode::from(run_inner(args))
}

fn run_inner(args: Args) -> u8 {
    let outputs = match report_outputs(&args.report) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let known: Vec<String> = crate::contract::catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let baseline = match &args.baseline {
        Some(p) => match crate::contract::Baseline::load(p, &known) {
            Ok(b) => Some(b),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return usage(format!("cannot read {}: {e}", args.file.display())),
    };
    let har = match Har::parse(&text) {
        Ok(h) => h,
        Err(e) => return usage(format!("{}: {e}", args.file.display())),
    };
    // Replay commands go to the endpoint the recording was made against.
    let endpoint = har
        .log
        .entries
        .first()
        .and_then(|e| url::Url::parse(&e.request.url).ok())
        .map(|mut u| {
            u.set_path("/");
            u.set_query(None);
            u.to_string()
        })
        .unwrap_or_else(|| "http://127.0.0.1/".into());
    let mut observer = Observer::new(
        Model::embedded(),
        ObserverConfig {
            endpoint,
            target_name: "verify".into(),
            profile: if args.rules == "aws" {
                Profile::Aws
            } else {
                Profile::Model
            },
        },
    );
    let mut unusable = 0usize;
    let tripwire_now = |o: &Observer| crate::report::Tripwire::new(o.secrets().to_vec());
    let mut tw = crate::report::Tripwire::default();
    for (i, entry) in har.log.entries.iter().enumerate() {
        let raw = match har::to_raw(entry) {
            Ok(r) => r,
            Err(why) => {
                if !args.quiet {
                    eprintln!("note: entry {i} skipped: {why}");
                }
                unusable += 1;
                continue;
            }
        };
        let now = raw.started;
        match observer.observe(&raw, now) {
            Some(j) => {
                if !args.quiet {
                    // Grown as the observer learns secrets, not rebuilt per exchange.
                    for s in &observer.secrets()[tw.len()..] {
                        tw.add(s.clone());
                    }
                    for (rule, f) in &j.findings {
                        eprint!("{}", finding_text(&tw, rule, f));
                    }
                }
            }
            None => observer.skip(),
        }
    }
    let mut report = observer.report();
    if let Some(b) = &baseline {
        crate::contract::apply_baseline(&mut report, b);
    }
    let tripwire = tripwire_now(&observer);
    let code = finish_report(&report, &tripwire, &outputs, args.quiet);
    eprintln!(
        "{} exchange(s) judged; {} entr{} skipped (not awsQuery IAM exchanges), {} unusable",
        observer.judged(),
        observer.skipped(),
        if observer.skipped() == 1 { "y" } else { "ies" },
        unusable
    );
    if code == exit::CONFORMS && observer.judged() == 0 {
        eprintln!("note: the file holds no awsQuery IAM exchange, so nothing was judged");
    }
    code
}

//! `iam-contract profile`: measure what one endpoint actually enforces, limit by limit, and
//! print it beside the model's values (Markdown with `--out`, JSON with `--json`).
//!
//! The endpoint is chosen as for `check` (`--target`, `--endpoint`, or the embedded emulator
//! with any `--fault`s); everything the run creates is in its ledger and deleted afterwards,
//! also on Ctrl-C. Every text it prints or writes passes the secret tripwire first.

use super::common::{exit, out, usage, write_checked};
use super::endpoint::{self, EndpointArgs};
use crate::client::Client;
use crate::contract::{Ledger, cleanup_ledger};
use crate::model::Model;
use crate::profile::{self, ProfileConfig, ProfileError, ProfileOutcome};
use crate::report::Tripwire;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Measures, for every constrained input member of the model's operations \
(CreateAccessKey and CreateUser first), the accepted length range (bisection up to 4096 \
characters), which of 134 probe characters are accepted and which enum values (and their case \
variants) are taken; then keys per user, whether Inactive keys count, case folding of user \
names, the clock-skew window both ways, which authentication failures are refused and which \
HTTP methods act. Each limit gets a verdict: same, looser, stricter, mixed or not measured \
(with the reason).\n\nExit codes: 0 measured (whatever the verdicts), 2 usage or configuration \
error, 3 endpoint unreachable or the run could not proceed, 130 interrupted (everything created \
was deleted)."
)]
pub struct Args {
    #[command(flatten)]
    pub on: EndpointArgs,
    /// Write the profile as Markdown here.
    #[arg(long, value_name = "FILE.md")]
    pub out: Option<PathBuf>,
    /// Write the profile as JSON here (what `compat --profile` reads).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The most requests the profile sends, cleanup included. Limits that do not fit are
    /// `not measured`, with that reason.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub budget: usize,
    /// Print only the summary line, not the table.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> ExitCode {
    super::common::block_on(run_async(args))
}

async fn run_async(args: Args) -> u8 {
    let model = Model::embedded();
    let root = std::env::current_dir().unwrap_or_default();
    if args.budget == 0 {
        return usage("--budget must be at least 1");
    }
    let selection = args.on.selection(true, "profile");
    let opened = match endpoint::open(&selection, &root).await {
        Ok(o) => o,
        Err(code) => return code,
    };
    let client = match Client::new(&opened.url, Some(opened.credentials.clone())) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let live_aws = super::common::is_live_aws(&opened.url);
    let allowed = client.is_loopback() || (live_aws && args.on.allow_live_aws);
    if !allowed {
        return usage(if live_aws {
            format!(
                "{} is AWS itself; a profile creates and deletes users and keys there. Pass --allow-live-aws to do that on purpose",
                opened.url
            )
        } else {
            format!(
                "{} is not a loopback address; profile talks to 127.0.0.1, [::1] or localhost only",
                opened.url
            )
        });
    }
    let ledger = args.on.ledger.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "iam-contract-profile-ledger-{}.jsonl",
            std::process::id()
        ))
    });
    let config = ProfileConfig {
        target_name: opened.name.clone(),
        budget: args.budget,
        ledger: ledger.clone(),
        ..ProfileConfig::default()
    };
    eprintln!("profiling {} ...", opened.url);
    let outcome = tokio::select! {
        r = profile::run_profile(&client, model, &config) => r,
        _ = tokio::signal::ctrl_c() => {
            return interrupted(&client, model, &ledger).await;
        }
    };
    let ProfileOutcome {
        report,
        secrets,
        cleanup_left,
    } = match outcome {
        Ok(o) => o,
        Err(e @ ProfileError::Ledger { .. }) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
    };
    let tripwire = Tripwire::new(secrets);
    let text = if args.quiet {
        profile::render::console(&report)
            .lines()
            .last()
            .map(|l| format!("{l}\n"))
            .unwrap_or_default()
    } else {
        profile::render::console(&report)
    };
    if let Err(e) = tripwire.check("console output", &text) {
        eprintln!("error: {e}; the output was not printed");
        return exit::UNREACHABLE;
    }
    out(&text);
    let mut outputs = Vec::new();
    if let Some(p) = &args.out {
        outputs.push((p.clone(), profile::render::to_markdown(&report)));
    }
    if let Some(p) = &args.json {
        outputs.push((p.clone(), report.to_json()));
    }
    for (path, body) in outputs {
        if let Err(code) = write_checked(&tripwire, &path, &body) {
            return code;
        }
    }
    if !cleanup_left.is_empty() {
        eprintln!(
            "warning: cleanup left {} item(s); finish with `iam-contract cleanup --ledger {} --endpoint {}`: {}",
            cleanup_left.len(),
            ledger.display(),
            opened.url,
            cleanup_left.join("; ")
        );
    }
    exit::CONFORMS
}

/// Ctrl-C: deletes what the ledger names and returns 130.
async fn interrupted(client: &Client, model: &Model, ledger: &Path) -> u8 {
    eprintln!("interrupted: deleting what the profile created ...");
    let entries = Ledger::read(ledger).unwrap_or_default();
    let done = cleanup_ledger(client, model, &entries).await;
    if done.left.is_empty() {
        let _ = std::fs::remove_file(ledger);
        eprintln!(
            "cleaned up {} user(s) and {} key(s)",
            done.users_deleted, done.keys_deleted
        );
    } else {
        eprintln!(
            "could not delete everything; finish with `iam-contract cleanup --ledger {} --endpoint {}`",
            ledger.display(),
            client.endpoint()
        );
    }
    exit::INTERRUPTED
}

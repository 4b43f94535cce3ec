//! `iam-contract compat`: the compatibility matrix (one row per rule, one column per target)
//! from JSON reports of `check --report json=PATH`, followed, with `--profile`, by the
//! "Enforced limits" section built from `profile --json` files.

use super::common::{exit, out};
use crate::report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// JSON reports, one per target, in column order.
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Write the matrix here instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// A profile from `profile --json` (repeatable, in column order): adds the "Enforced
    /// limits" section after the matrix.
    #[arg(long = "profile", value_name = "PROFILE.json")]
    pub profiles: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(exit::USAGE);
            }
        };
        match report::from_json(&text) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(exit::USAGE);
            }
        }
    }
    let mut profiles = Vec::new();
    for path in &args.profiles {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::profile::ProfileReport::from_json(&t));
        match parsed {
            Ok(p) => profiles.push(p),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(exit::USAGE);
            }
        }
    }
    let mut text = report::compatibility_matrix(&reports);
    if !profiles.is_empty() {
        text.push_str(&crate::profile::render::limits_section(&profiles));
    }
    // Run prefixes are random per run; fix them so that the matrix changes only when a verdict
    // does. `icx00000000-...` names are still valid, so replay commands keep working.
    let matrix = run_prefix_pattern()
        .replace_all(&text, "icx00000000")
        .into_owned();
    match &args.out {
        Some(p) => {
            if let Err(e) = std::fs::write(p, matrix) {
                eprintln!("error: cannot write {}: {e}", p.display());
                return ExitCode::from(exit::USAGE);
            }
        }
        None => out(&matrix),
    }
    ExitCode::SUCCESS
}

/// The shape of a run's user-name prefix (`icx` + 8 hex digits).
fn run_prefix_pattern() -> regex::Regex {
    regex::Regex::new(r"icx[0-9a-f]{8}").expect("a valid pattern")
}

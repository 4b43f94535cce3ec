//! `iam-contract snapshot`: send the fixed case set to an endpoint, write one normalised
//! snapshot per case (`--out DIR`) and/or compare with a recorded set (`--compare DIR`).
//!
//! With no `--endpoint` and no `--target`, the embedded emulator is used (optionally with
//! faults), as in `check`. Exit codes: 0 recorded (and equal to the recording when comparing),
//! 1 differences, 2 usage error, 3 endpoint unreachable or cleanup impossible. Prints diffs and
//! a summary; never a secret (every snapshot passes the secret tripwire before it is written).
//!
//! Like `check`, a run writes a ledger of the users and keys it creates (`--ledger PATH`,
//! default a per-process file in the temporary directory); it is removed when cleanup deleted
//! everything and kept, with its path printed, when not, for `iam-contract cleanup --ledger`.

use super::common::exit;
use super::common::usage;
use super::endpoint::{self, EndpointArgs};
use crate::client::Client;
use crate::snapshot::{self, RecordConfig};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    group = clap::ArgGroup::new("action").required(true).multiple(true).args(["out", "compare"]),
    after_help = "The cases, the normalisation and the file format are documented in the README \
(\"Snapshots\"). Exit codes: 0 recorded / equal, 1 differences, 2 usage error, 3 endpoint \
unreachable."
)]
pub struct Args {
    #[command(flatten)]
    pub on: EndpointArgs,
    /// Write one snapshot per case into DIR (DIR/CASE.txt).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compare with the recorded set in DIR (for example snapshots/reference) and print a diff
    /// per differing case.
    #[arg(long, value_name = "DIR")]
    pub compare: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    super::common::block_on(run_async(args))
}

async fn run_async(args: Args) -> u8 {
    let root = std::env::current_dir().unwrap_or_default();
    // Read the recording first: a typo in --compare should not cost a run.
    let recorded = match &args.compare {
        Some(dir) => match snapshot::load_dir(dir) {
            Ok(r) => Some(r),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let selection = args.on.selection(true, "snapshot");
    let opened = match endpoint::open(&selection, &root).await {
        Ok(o) => o,
        Err(code) => return code,
    };
    let source = match opened.name.as_str() {
        "endpoint" => "recorded from an endpoint".to_owned(),
        "emulator" if args.on.fault.is_empty() => "recorded from the embedded emulator".to_owned(),
        "emulator" => format!(
            "recorded from the embedded emulator with faults {}",
            args.on.fault.join(",")
        ),
        name => format!("recorded from target {name}"),
    };
    let (endpoint, credentials) = (opened.url.clone(), opened.credentials.clone());
    if let Err(code) = args.on.refuse_live_aws(
        &endpoint,
        "the cases create and delete users and keys there",
    ) {
        return code;
    }
    let client = match Client::new(&endpoint, Some(credentials)) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    let source = format!("{source} by iam-contract {}", env!("CARGO_PKG_VERSION"));

    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: never stop early.
            std::future::pending::<()>().await;
        }
        eprintln!("interrupted: deleting what the run created ...");
    };
    let ledger = args.on.ledger_path();
    let config = RecordConfig {
        ledger: Some(ledger.clone()),
        ..RecordConfig::default()
    };
    let result = snapshot::record_until(&client, &config, stop).await;
    // The ledger outlives the run only when cleanup could not delete everything it names.
    if ledger.exists() {
        eprintln!(
            "the ledger {} names what is left; finish with `iam-contract cleanup --ledger {} --endpoint {endpoint}`",
            ledger.display(),
            ledger.display()
        );
    }
    let recording = match result {
        Ok(r) => r,
        Err(e @ snapshot::SnapshotError::Interrupted) => {
            eprintln!("{e}");
            return exit::INTERRUPTED;
        }
        Err(e @ snapshot::SnapshotError::Ledger { .. }) => return usage(e),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
    };
    if !recording.cleanup_left.is_empty() {
        eprintln!(
            "warning: cleanup could not delete: {}",
            recording.cleanup_left.join("; ")
        );
    }
    let violations: usize = recording
        .cases
        .iter()
        .map(|c| c.normalized.violations.len())
        .sum();
    if violations > 0 {
        eprintln!(
            "note: {violations} value(s) of the wrong shape (shown as [NAME: wrong shape, ...])"
        );
    }
    let files = recording.files(&source);
    if let Some(dir) = &args.out {
        if let Err(e) = snapshot::write_dir(dir, &files) {
            return usage(e);
        }
        eprintln!("wrote {} snapshots to {}", files.len(), dir.display());
    }
    match &recorded {
        Some(rec) => {
            let c = snapshot::compare(rec, &files);
            super::common::out(&c.render());
            if c.is_equal() {
                exit::CONFORMS
            } else {
                exit::DEVIATIONS
            }
        }
        None => exit::CONFORMS,
    }
}

//! `iam-contract cleanup`: delete what an interrupted or crashed run left on a target, from its
//! ledger.

use super::common::exit;
use crate::client::{Client, Credentials};
use crate::contract::{Ledger, LedgerEntry, cleanup_ledger};
use crate::model::Model;
use crate::targets::TargetProfile;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The ledger the run wrote (`check` or `snapshot --ledger PATH`, or the path its warning
    /// printed).
    #[arg(long, value_name = "PATH")]
    pub ledger: PathBuf,
    /// The endpoint (default: the one the ledger names).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Use a target profile's credentials.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// The AWS credentials profile to sign with.
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    let entries = match Ledger::read(&args.ledger) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let endpoint = args.endpoint.clone().or_else(|| {
        entries.iter().find_map(|e| match e {
            LedgerEntry::Run { endpoint, .. } => Some(endpoint.clone()),
            _ => None,
        })
    });
    let Some(endpoint) = endpoint else {
        eprintln!("error: the ledger names no endpoint; pass --endpoint");
        return ExitCode::from(exit::USAGE);
    };
    let creds = match &args.target {
        Some(t) => match TargetProfile::load(&std::env::current_dir().unwrap_or_default(), t) {
            Ok((p, _)) => p.credentials(),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(exit::USAGE);
            }
        },
        None => match Credentials::resolve(args.aws_profile.as_deref(), &|k| std::env::var(k).ok())
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(exit::USAGE);
            }
        },
    };
    let client = match Client::new(&endpoint, Some(creds)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::UNREACHABLE);
        }
    };
    let done = rt.block_on(cleanup_ledger(&client, Model::embedded(), &entries));
    super::common::outln!(
        "deleted {} user(s) and {} key(s) named in {}",
        done.users_deleted,
        done.keys_deleted,
        args.ledger.display()
    );
    if done.left.is_empty() {
        let _ = std::fs::remove_file(&args.ledger);
        ExitCode::SUCCESS
    } else {
        for l in &done.left {
            eprintln!("left: {l}");
        }
        ExitCode::from(exit::UNREACHABLE)
    }
}

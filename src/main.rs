//! The `iam-contract` command: clap definitions and dispatch only. Each subcommand lives in
//! `iam_contract::cli::<name>` with its own `Args` and `run`.

use clap::{Parser, Subcommand};
use iam_contract::cli;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: the emulator, the proxy and `check` allocate per request
/// on several runtime workers, and glibc's allocator, its arena locks contended, was a fifth of
/// the proxy bench's CPU (driver, proxy and emulator in one process; README, "Judge your own
/// traffic").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Contract testing and fuzzing for AWS IAM CreateAccessKey and compatible endpoints.
#[derive(Parser)]
#[command(name = "iam-contract", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an access key, like `aws iam create-access-key`.
    #[command(long_about = cli::create_access_key::LONG_ABOUT)]
    CreateAccessKey(cli::create_access_key::Args),
    /// Run the embedded reference emulator as a standalone IAM endpoint.
    Serve(cli::serve::Args),
    /// Judge an endpoint (default: the embedded emulator) against the contract.
    Check(cli::check::Args),
    /// List the rule catalogue.
    Rules(cli::rules::Args),
    /// Send one recorded request again and show the response.
    Replay(cli::replay::Args),
    /// Delete what an interrupted run left on a target, from its ledger.
    Cleanup(cli::cleanup::Args),
    /// Record normalised response snapshots of an endpoint, or compare it with a recorded set.
    Snapshot(cli::snapshot::Args),
    /// Build the compatibility matrix from JSON reports.
    Compat(cli::compat::Args),
    /// Judge the traffic real clients send, through a loopback proxy in front of an endpoint.
    Proxy(cli::proxy::Args),
    /// Judge traffic recorded as HAR (by `proxy --record` or another tool), offline.
    Verify(cli::verify::Args),
    /// Measure what an endpoint actually enforces, limit by limit, beside the model.
    Profile(cli::profile::Args),
}

fn main() -> ExitCode {
    // Usage errors of `create-access-key` exit 252, as in AWS CLI v2; the harness's own
    // commands exit 2 (clap's default). Help and version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let aws_cli = std::env::args().nth(1).as_deref() == Some("create-access-key");
            return if !e.use_stderr() {
                ExitCode::SUCCESS
            } else if aws_cli {
                ExitCode::from(cli::create_access_key::exit::USAGE)
            } else {
                ExitCode::from(cli::common::exit::USAGE)
            };
        }
    };
    match cli.command {
        Command::CreateAccessKey(args) => cli::create_access_key::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Rules(args) => cli::rules::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Cleanup(args) => cli::cleanup::run(args),
        Command::Snapshot(args) => cli::snapshot::run(args),
        Command::Compat(args) => cli::compat::run(args),
        Command::Proxy(args) => cli::proxy::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Profile(args) => cli::profile::run(args),
    }
}

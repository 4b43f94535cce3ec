//! The `iam-contract` command: clap definitions and dispatch only. Each subcommand lives in
//! `iam_contract::cli::<name>` with its own `Args` and `run`.

use clap::{Parser, Subcommand};
use iam_contract::cli;
use std::process::ExitCode;

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
    CreateAccessKey(cli::create_access_key::Args),
    /// Run the embedded reference emulator as a standalone IAM endpoint.
    Serve(cli::serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CreateAccessKey(args) => cli::create_access_key::run(args),
        Command::Serve(args) => cli::serve::run(args),
    }
}

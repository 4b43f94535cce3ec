//! The command-line front end: one module per subcommand, each with a clap `Args` struct and a
//! `run` function that returns the process exit code. Only compiled with the `cli` feature.

pub mod check;
pub mod cleanup;
pub mod compat;
pub mod create_access_key;
pub mod endpoint;
pub mod profile;
pub mod replay;
pub mod rules;
pub mod serve;
pub mod snapshot;

use std::process::ExitCode;

/// Runs a command's async body on a runtime of its own and turns its code into the exit code.
pub(crate) fn block_on(body: impl std::future::Future<Output = u8>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => ExitCode::from(rt.block_on(body)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(check::exit::UNREACHABLE)
        }
    }
}

/// Prints a usage or configuration error and returns its exit code (2).
pub(crate) fn usage(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    check::exit::USAGE
}

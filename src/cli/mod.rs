//! The command-line front end: one module per subcommand, each with a clap `Args` struct and a
//! `run` function that returns the process exit code; `common` holds what they share (exit
//! codes, the runtime, the Ctrl-C-safe run) and `endpoint` the options and logic that choose
//! what a command talks to. Only compiled with the `cli` feature.

pub mod check;
pub mod cleanup;
pub mod common;
pub mod compat;
pub mod create_access_key;
pub mod endpoint;
pub mod profile;
pub mod proxy;
pub mod replay;
pub mod rules;
pub mod serve;
pub mod snapshot;
pub mod verify;

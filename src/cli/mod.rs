//! The command-line front end: one module per subcommand, each with a clap `Args` struct and a
//! `run` function that returns the process exit code. Only compiled with the `cli` feature.

pub mod create_access_key;
pub mod serve;

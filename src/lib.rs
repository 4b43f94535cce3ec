//! iam-contract: a contract-testing and fuzzing harness for AWS IAM `CreateAccessKey` and any
//! endpoint that claims to speak it.
//!
//! One machine-readable model ([`model`], loaded from `spec/`) drives everything: the wire
//! format ([`wire`]), generated inputs ([`generate`]), the rule catalogue ([`contract`]), the
//! reference emulator ([`emulator`]) and the AWS-CLI-compatible client ([`client`]). Only
//! `client` and `emulator` touch the network, and only behind the `net` feature.

#[cfg(feature = "net")]
pub mod api;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cli_input;
pub mod client;
pub mod contract;
pub mod credentials;
pub mod emulator;
pub mod fuzzing;
pub mod generate;
pub mod loopback;
pub mod model;
pub mod observe;
pub mod profile;
pub mod report;
pub mod secret;
pub mod snapshot;
#[cfg(feature = "net")]
pub mod targets;
pub mod wire;

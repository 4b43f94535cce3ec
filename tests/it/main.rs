//! The one integration-test binary (one link instead of many on a two-core machine). Each area
//! is a module here.

mod cli;
mod client;
mod contract;
mod emulator;
mod findings;
mod fuzz_replay;
mod loopback;
mod model;
mod pipe;
mod profile;
mod proxy;
mod report;
mod snapshots;
mod targets;
mod tidy;
mod wire;

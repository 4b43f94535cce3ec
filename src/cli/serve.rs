//! `iam-contract serve`: runs the reference emulator as a standalone IAM endpoint on a loopback
//! address until Ctrl-C.
//!
//! It prints the URL, the bootstrap user (or, with `--root-key`, the account root) and its
//! access key ID; it prints the secret only when
//! it is AWS's documented example secret (a secret taken from the environment is the caller's
//! own and is never echoed).

use crate::client::EXAMPLE_SECRET_ACCESS_KEY;
use crate::emulator::{self, Config, Fault};
use std::net::SocketAddr;
use std::process::ExitCode;

/// Run the embedded reference emulator as a standalone IAM endpoint.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Run the embedded reference emulator as a standalone IAM endpoint.

Speaks awsQuery on GET / and POST / (CreateUser, GetUser, DeleteUser, ListUsers, \
CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey, GetAccessKeyLastUsed, \
PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy, and STS GetCallerIdentity when \
the signing scope's service is sts) and verifies SigV4 (service iam, region us-east-1). The \
bootstrap user may do everything; every other user may do what its inline policies allow \
(Effect, Action/NotAction, Resource/NotResource, wildcards, ${aws:username}; an explicit Deny \
wins; no conditions, groups, boundaries or managed policies). The bootstrap key is AWS_ACCESS_KEY_ID / \
AWS_SECRET_ACCESS_KEY when both are set, else AWS's documented example pair \
AKIAIOSFODNN7EXAMPLE. With --root-key that key is the account root's instead \
(arn:aws:iam::123456789012:root) and there is no IAM user: calls without UserName then act on \
the root's own keys (at most 2), and GetUser answers without a UserName. Listens on loopback \
only and runs until Ctrl-C."
)]
pub struct Args {
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Break on purpose (repeatable); see --list-faults.
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<Fault>,
    /// Print every fault with a one-line description and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Name of the bootstrap user.
    #[arg(long, default_value = emulator::DEFAULT_BOOTSTRAP_USER, value_name = "NAME", conflicts_with = "root_key")]
    pub bootstrap_user: String,
    /// The key (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else the example pair) is the account
    /// root's, and no IAM user exists at start: calls without UserName act on the root's keys.
    #[arg(long)]
    pub root_key: bool,
    /// Close a connection that has not sent a complete request head within this many seconds
    /// (also an idle keep-alive connection), and answer 408 and close when a request's body has
    /// not arrived in full this long after its head, so a slow or stuck client cannot hold it open.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = crate::loopback::parse_timeout_secs)]
    pub header_read_timeout: std::time::Duration,
}

pub fn run(args: Args) -> ExitCode {
    if args.list_faults {
        let width = Fault::all()
            .iter()
            .map(|f| f.name().len())
            .max()
            .unwrap_or(0);
        for f in Fault::all() {
            super::common::outln!("{:width$}  {}", f.name(), f.description());
        }
        return ExitCode::SUCCESS;
    }
    let mut config = Config::from_env();
    config.listen = Some(args.listen);
    config.bootstrap_user = args.bootstrap_user;
    if args.root_key {
        config = config.as_root();
    }
    config.header_read_timeout = args.header_read_timeout;
    for f in args.faults {
        config.faults.insert(f);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        let running = match emulator::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let creds = running.credentials();
        super::common::outln!("{}", running.url());
        eprintln!(
            "iam-contract emulator listening on {} (Ctrl-C to stop)",
            running.url()
        );
        if running.emulator().signs_as_root() {
            eprintln!(
                "caller: the account root (arn:aws:iam::{}:root), no IAM user",
                emulator::ACCOUNT_ID
            );
        } else {
            eprintln!("bootstrap user: {}", running.emulator().bootstrap_user());
        }
        eprintln!("AWS_ACCESS_KEY_ID={}", creds.access_key_id);
        if creds.secret_access_key.expose() == EXAMPLE_SECRET_ACCESS_KEY {
            eprintln!("AWS_SECRET_ACCESS_KEY={EXAMPLE_SECRET_ACCESS_KEY}");
        } else {
            eprintln!("AWS_SECRET_ACCESS_KEY=(from the environment, not shown)");
        }
        let faults: Vec<&str> = running
            .emulator()
            .faults()
            .iter()
            .map(|f| f.name())
            .collect();
        if !faults.is_empty() {
            eprintln!("faults: {}", faults.join(", "));
        }
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        ExitCode::SUCCESS
    })
}

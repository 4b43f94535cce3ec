//! `iam-contract proxy`: a loopback endpoint in front of an IAM-compatible service that forwards
//! real clients' traffic unchanged, judges every exchange by every rule it can decide, prints
//! each finding as it happens, optionally records the session as HAR, and on Ctrl-C (or when the
//! command after `--` ends) writes the reports.
//!
//! Exit codes: those of `check` (0 conforms, 1 deviations, 2 usage, 3 a report could not be
//! written safely); with a command, the command's own failure wins over the judgement's, and
//! Ctrl-C while the command runs exits 130 after writing the reports.

use super::common::outln;
use super::common::{exit, finding_text, finish_report, report_outputs, usage, write_checked};
use crate::contract::Profile;
use crate::model::Model;
use crate::observe::har::{self, Har};
use crate::observe::proxy::{self, ProxyConfig};
use crate::observe::{Observer, ObserverConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(
    long_about = "Judge the traffic real clients send: a loopback endpoint that forwards every \
request to --upstream unchanged (Host, headers and body as the client sent them, so SigV4 \
signatures stay valid), returns the upstream's answer unchanged, and judges each exchange by \
every rule it can decide from what it saw: the request itself, the model, and a shadow of the \
users and keys fed by the observed answers. A rule the observed history cannot decide is \
reported as skipped with the reason, never passed.

Point a client at the printed URL (AWS_ENDPOINT_URL_IAM, --endpoint-url, endpoint_url=), or \
give a command after `--`: it runs with AWS_ENDPOINT_URL_IAM and AWS_ENDPOINT_URL set to the \
proxy, and the reports are written when it ends. Without a command the proxy runs until \
Ctrl-C.",
    after_help = "Exit codes: 0 conforms, 1 deviations, 2 usage error (a --listen or --upstream \
that is not loopback included), 3 a report would have held a secret; with a command, its \
non-zero exit code first; 130 Ctrl-C while the command runs."
)]
pub struct Args {
    /// The service to forward to: a plain-HTTP loopback URL, e.g. http://127.0.0.1:4566/.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Record every exchange, with its timings, as HAR 1.2 (signatures, session tokens and
    /// secrets redacted).
    #[arg(long, value_name = "FILE.har")]
    pub record: Option<PathBuf>,
    /// A baseline of expected failures (as `check --baseline` takes it): a listed rule that fails
    /// is `expected-fail`, a listed rule that passes is a stale entry and fails the run.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Write a report: json=PATH, junit=PATH or markdown=PATH (repeatable).
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<String>,
    /// Which rules apply: `model` or `aws` (also AWS's key formats and exact message wording).
    #[arg(long, value_name = "PROFILE", default_value = "model", value_parser = ["model", "aws"])]
    pub rules: String,
    /// The longest to wait for the upstream's whole answer, in seconds (then 504).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Close a client connection that has not sent a complete request head within this many
    /// seconds (also an idle keep-alive connection); answer 408 and close when a request's body
    /// has not arrived in full this long after its head.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = crate::loopback::parse_timeout_secs)]
    pub header_read_timeout: Duration,
    /// Print only the failing rules at the end, and no finding as it happens.
    #[arg(long)]
    pub quiet: bool,
    /// A command to run against the proxy (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: Args) -> ExitCode {
    super::common::block_on_in(proxy::runtime(), run_async(args))
}

async fn run_async(args: Args) -> u8 {
    if let Err(e) = proxy::check_listen(args.listen) {
        return usage(e);
    }
    if let Err(e) = proxy::check_upstream(&args.upstream) {
        return usage(e);
    }
    let outputs = match report_outputs(&args.report) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let known: Vec<String> = crate::contract::catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect();
    let baseline = match &args.baseline {
        Some(p) => match crate::contract::Baseline::load(p, &known) {
            Ok(b) => Some(b),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let mut observer = Observer::new(
        Model::embedded(),
        ObserverConfig {
            endpoint: args.upstream.clone(),
            target_name: "proxy".into(),
            profile: if args.rules == "aws" {
                Profile::Aws
            } else {
                Profile::Model
            },
        },
    );
    // The client's own secret, when the environment holds it, is scrubbed and tripped on too.
    if let Ok(s) = std::env::var("AWS_SECRET_ACCESS_KEY") {
        observer.learn_secret(s);
    }
    let har = Arc::new(Mutex::new(Har::new()));
    let on_judged: proxy::OnJudged = {
        let har = har.clone();
        let upstream = args.upstream.clone();
        let quiet = args.quiet;
        // Grown as the observer learns secrets (its list only ever grows), not rebuilt per
        // finding.
        let mut tw = crate::report::Tripwire::default();
        Box::new(move |raw, judged, secrets| {
            for s in &secrets[tw.len().min(secrets.len())..] {
                tw.add(s.clone());
            }
            har.lock()
                .unwrap_or_else(|p| p.into_inner())
                .log
                .entries
                .push(har::entry(&upstream, raw, &judged.exchange));
            if !quiet && !judged.findings.is_empty() {
                for (rule, f) in &judged.findings {
                    eprint!("{}", finding_text(&tw, rule, f));
                }
            }
        })
    };
    let config = ProxyConfig {
        upstream: args.upstream.clone(),
        listen: args.listen,
        timeout: Duration::from_secs(args.timeout.max(1)),
        header_read_timeout: args.header_read_timeout,
    };
    let running = match proxy::start(config, observer, on_judged).await {
        Ok(r) => r,
        Err(e @ proxy::ProxyError::Bind { .. }) => {
            eprintln!("error: {e}");
            return exit::UNREACHABLE;
        }
        Err(e) => return usage(e),
    };
    let url = running.url().to_owned();
    eprintln!(
        "iam-contract proxy listening on {url}, forwarding to {} (Ctrl-C to stop)",
        args.upstream
    );

    let mut command_code = None;
    let mut interrupted = false;
    if args.command.is_empty() {
        outln!("{url}");
        let _ = tokio::signal::ctrl_c().await;
    } else {
        let mut cmd = tokio::process::Command::new(&args.command[0]);
        cmd.args(&args.command[1..])
            .env("AWS_ENDPOINT_URL_IAM", &url)
            .env("AWS_ENDPOINT_URL", &url)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                running.shutdown().await;
                return usage(format!("cannot run {:?}: {e}", args.command[0]));
            }
        };
        tokio::select! {
            status = child.wait() => {
                command_code = Some(match status {
                    Ok(s) => exit_code_of(s),
                    Err(_) => exit::UNREACHABLE,
                });
            }
            _ = tokio::signal::ctrl_c() => {
                let _ = child.kill().await;
                interrupted = true;
            }
        }
    }

    let observer = running.shutdown().await;
    let observer = observer.lock().unwrap_or_else(|p| p.into_inner());
    let tripwire = crate::report::Tripwire::new(observer.secrets().to_vec());
    if let Some(path) = &args.record {
        let text = har.lock().unwrap_or_else(|p| p.into_inner()).to_json();
        if let Err(code) = write_checked(&tripwire, path, &text) {
            return code;
        }
    }
    let mut report = observer.report();
    if let Some(b) = &baseline {
        crate::contract::apply_baseline(&mut report, b);
    }
    let judged = finish_report(&report, &tripwire, &outputs, args.quiet);
    eprintln!(
        "{} exchange(s) judged, {} skipped (not awsQuery IAM exchanges)",
        observer.judged(),
        observer.skipped()
    );
    if interrupted {
        return exit::INTERRUPTED;
    }
    match command_code {
        Some(c) if c != 0 => {
            eprintln!("the command exited with {c}");
            c
        }
        _ => judged,
    }
}

/// A child's exit status as an exit code: its own code, or 128 + the signal that ended it.
fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    if let Some(c) = status.code() {
        return u8::try_from(c).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128u8.saturating_add(sig as u8);
        }
    }
    1
}

//! What the subcommands share: the exit codes (one table for every command), standard output
//! (every command prints through [`out`]), the async runtime, usage errors, the Ctrl-C-safe run
//! of the catalogue, the default ledger and the live-AWS test. Subcommand modules depend on this
//! one, never on each other.

use crate::client::Client;
use crate::contract::{CheckConfig, CheckError, CheckOutcome, cleanup_ledger};
use crate::model::Model;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit codes of every command (`check`, `replay`, `snapshot`, `cleanup`, `compat`, ...).
pub mod exit {
    /// `check`: conforms; `replay`: the rule held every time (`fixed`).
    pub const CONFORMS: u8 = 0;
    /// `check`: deviations (or an expired baseline entry); `replay`: failed every time (`fails`).
    pub const DEVIATIONS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    /// `replay`: the rule held on some attempts and failed on others (`flaky`).
    pub const FLAKY: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// Set once standard output cannot be written any more; nothing is written to it after that.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output: the one way every command prints there.
///
/// A reader that goes away early (`iam-contract rules | head -3`) is a normal end, as in
/// ripgrep, not a crash: `print!` would panic with "failed printing to stdout: Broken pipe"
/// (and a backtrace under `RUST_BACKTRACE`). Here the rest of the output is dropped quietly and
/// the command finishes with its own exit code, so a `check` still cleans up and writes its
/// reports. Any other write error is said once on standard error.
pub(crate) fn out(text: &str) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            // `eprintln!` would panic in turn if standard error is gone as well.
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write to standard output: {e}"
            );
        }
    }
}

/// `println!` through [`out`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::common::out(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Runs a command's async body on a runtime of its own and turns its code into the exit code.
pub(crate) fn block_on(body: impl std::future::Future<Output = u8>) -> ExitCode {
    block_on_in(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        body,
    )
}

/// [`block_on`] on the runtime given (or the error of making it).
pub(crate) fn block_on_in(
    runtime: std::io::Result<tokio::runtime::Runtime>,
    body: impl std::future::Future<Output = u8>,
) -> ExitCode {
    match runtime {
        Ok(rt) => ExitCode::from(rt.block_on(body)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(exit::UNREACHABLE)
        }
    }
}

/// Prints a usage or configuration error and returns its exit code (2).
pub(crate) fn usage(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    exit::USAGE
}

/// Runs `run_check`; on Ctrl-C deletes what the run created (from its ledger) and returns
/// `Err(exit::INTERRUPTED)`.
pub(crate) async fn run_interruptible(
    client: &Client,
    model: &Model,
    config: &CheckConfig,
) -> Result<Result<CheckOutcome, CheckError>, u8> {
    tokio::select! {
        r = crate::contract::run_check(client, model, config) => Ok(r),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: deleting what the run created ...");
            let ledger = &config.ledger;
            let entries = crate::contract::Ledger::read(ledger).unwrap_or_default();
            let done = cleanup_ledger(client, model, &entries).await;
            if done.left.is_empty() {
                let _ = std::fs::remove_file(ledger);
                eprintln!("cleaned up {} user(s) and {} key(s)", done.users_deleted, done.keys_deleted);
            } else {
                eprintln!(
                    "could not delete everything; finish with `iam-contract cleanup --ledger {} --endpoint {}`",
                    ledger.display(),
                    client.endpoint()
                );
            }
            Err(exit::INTERRUPTED)
        }
    }
}

/// Where a run writes its ledger when `--ledger` is not given: one file per process in the
/// temporary directory, so that concurrent runs never share one.
pub(crate) fn default_ledger() -> PathBuf {
    std::env::temp_dir().join(format!("iam-contract-ledger-{}.jsonl", std::process::id()))
}

/// Whether an endpoint is AWS itself.
pub fn is_live_aws(endpoint: &str) -> bool {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| {
            h == "amazonaws.com"
                || h.ends_with(".amazonaws.com")
                || h.ends_with(".amazonaws.com.cn")
        })
}

/// Parses `--report FORMAT=PATH` options (json, junit, markdown).
pub(crate) fn report_outputs(specs: &[String]) -> Result<Vec<(String, PathBuf)>, u8> {
    let mut outputs = Vec::new();
    for spec in specs {
        match spec.split_once('=') {
            Some((fmt @ ("json" | "junit" | "markdown"), path)) if !path.is_empty() => {
                outputs.push((fmt.to_owned(), PathBuf::from(path)))
            }
            _ => {
                return Err(usage(format!(
                    "--report takes json=PATH, junit=PATH or markdown=PATH, not {spec:?}"
                )));
            }
        }
    }
    Ok(outputs)
}

/// Writes a text file behind the secret tripwire: checked before writing and read back after
/// (the tripwire covers files, not just strings); a text holding a secret is not kept.
pub(crate) fn write_checked(
    tripwire: &crate::report::Tripwire,
    path: &std::path::Path,
    body: &str,
) -> Result<(), u8> {
    let name = path.display().to_string();
    if let Err(e) = tripwire.check(&name, body) {
        eprintln!("error: {e}; {name} was not written");
        return Err(exit::UNREACHABLE);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(path, body) {
        return Err(usage(format!("cannot write {name}: {e}")));
    }
    if let Err(e) = tripwire.check_file(path) {
        let _ = std::fs::remove_file(path);
        eprintln!("error: {e}; {name} was removed");
        return Err(exit::UNREACHABLE);
    }
    Ok(())
}

/// Renders `report` in each requested format and writes it behind the tripwire.
pub(crate) fn write_reports(
    report: &crate::contract::Report,
    outputs: &[(String, PathBuf)],
    tripwire: &crate::report::Tripwire,
) -> Result<(), u8> {
    for (fmt, path) in outputs {
        let body = match fmt.as_str() {
            "json" => crate::report::to_json(report),
            "junit" => crate::report::to_junit(report),
            _ => crate::report::to_markdown(report),
        };
        write_checked(tripwire, path, &body)?;
    }
    Ok(())
}

/// A finding of judged traffic as `check` prints it, headed by its rule, behind the tripwire
/// (a text that holds a secret is replaced by a note).
pub(crate) fn finding_text(
    tripwire: &crate::report::Tripwire,
    rule: &str,
    f: &crate::contract::Finding,
) -> String {
    let mut text = format!("! {rule}\n");
    for line in crate::report::finding_lines(f) {
        text.push_str(&format!("    {line}\n"));
    }
    match tripwire.check("finding", &text) {
        Ok(()) => text,
        Err(e) => format!("! {rule}: finding not shown (secret tripwire: {e})\n"),
    }
}

/// Prints the report of judged traffic (the console table, or with `quiet` the failing rules
/// only) and writes the requested reports; returns check's exit code for it.
pub(crate) fn finish_report(
    report: &crate::contract::Report,
    tripwire: &crate::report::Tripwire,
    outputs: &[(String, PathBuf)],
    quiet: bool,
) -> u8 {
    let text = if quiet {
        report
            .rules
            .iter()
            .filter(|r| r.status.is_failure())
            .map(|r| format!("{:<16} {}  {}\n", r.status.as_str(), r.id, r.title))
            .collect()
    } else {
        let color = std::io::IsTerminal::is_terminal(&std::io::stdout());
        crate::report::console(report, color)
    };
    if let Err(e) = tripwire.check("console output", &text) {
        eprintln!("error: secret tripwire: {e}; the output was not printed");
        return exit::UNREACHABLE;
    }
    out(&text);
    if let Err(code) = write_reports(report, outputs, tripwire) {
        return code;
    }
    if report.conforms() {
        exit::CONFORMS
    } else {
        exit::DEVIATIONS
    }
}

//! A closed standard output is a normal end, not a crash: every command that prints, run with a
//! stdout whose reader is already gone (`iam-contract rules | head -0`), ends quietly with its
//! own exit code, no panic and no backtrace.
//!
//! The reader is closed before the child starts (the far end of a socket pair), so every write
//! the child makes meets a broken pipe: the test does not depend on how fast `head` exits.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

/// Runs `iam-contract ARGS` with its stdout closed at the far end; returns the exit code and
/// what it wrote to stderr.
fn run_with_closed_stdout(args: &[&str]) -> (i32, String) {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    drop(ours);
    let out = Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(OwnedFd::from(theirs)))
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    (
        out.status.code().expect("exited, not killed by a signal"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_printing_command_ends_quietly_when_its_reader_is_gone() {
    let report = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/targets/localstack/report.json"
    );
    let cases: &[(&[&str], i32)] = &[
        (&["serve", "--list-faults"], 0),
        (&["rules"], 0),
        (&["rules", "--json"], 0),
        (&["create-access-key", "--generate-cli-skeleton"], 0),
        (
            &[
                "create-access-key",
                "--generate-cli-skeleton",
                "output",
                "--user-name",
                "alice",
            ],
            0,
        ),
        (&["compat", report], 0),
        (
            &[
                "check",
                "--only",
                "auth.",
                "--cases",
                "4",
                "--sequences",
                "1",
            ],
            0,
        ),
        (
            &[
                "check",
                "--fault",
                "skip-auth",
                "--only",
                "auth.unsigned",
                "--cases",
                "4",
                "--sequences",
                "1",
            ],
            1,
        ),
        (
            &[
                "replay",
                "--method",
                "POST",
                "--signing",
                "sigv4",
                "--wire",
                "Action=ListUsers&Version=2010-05-08",
            ],
            0,
        ),
        (
            &[
                "replay",
                "--rule",
                "lifecycle.quota-counts-inactive",
                "--sequence",
                "CreateUser(0) CreateKey(0) CreateKey(0) CreateKey(0)",
                "--fault",
                "no-key-quota",
            ],
            1,
        ),
    ];
    for (args, want) in cases {
        let (code, stderr) = run_with_closed_stdout(args);
        for sign in [
            "panicked",
            "Broken pipe",
            "stack backtrace",
            "failed printing",
        ] {
            assert!(
                !stderr.contains(sign),
                "iam-contract {}: stderr has {sign:?}:\n{stderr}",
                args.join(" ")
            );
        }
        assert_eq!(
            code,
            *want,
            "iam-contract {}: exit code; stderr:\n{stderr}",
            args.join(" ")
        );
    }
}

//! Replays every committed fuzz seed (`fuzz/seeds/<target>/`) and every minimised crash
//! (`fuzz/regressions/<target>/`) through the same library functions the cargo-fuzz targets
//! call, so that `cargo test` catches a regression without cargo-fuzz or a nightly toolchain.

use iam_contract::fuzzing::{TARGETS, replay_target};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every `(target, file)` under `fuzz/<kind>/`. A directory that names no target is an error:
/// its inputs would silently never run.
fn inputs(kind: &str) -> Vec<(String, PathBuf)> {
    let root = fuzz_dir().join(kind);
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return out;
    };
    for dir in dirs.flatten() {
        let path = dir.path();
        if !path.is_dir() {
            continue;
        }
        let target = dir.file_name().to_string_lossy().into_owned();
        assert!(
            replay_target(&target).is_some(),
            "{} names no fuzz target (known: {:?})",
            path.display(),
            TARGETS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (target.clone(), f)));
    }
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let all = inputs(kind);
    for (target, file) in &all {
        let data = std::fs::read(file).unwrap();
        let run = replay_target(target).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "fuzz input {} fails again; reproduce with: cd fuzz && cargo fuzz run -s none {target} {}",
            file.display(),
            file.strip_prefix(fuzz_dir()).unwrap_or(file).display()
        );
    }
    all.len()
}

#[test]
fn every_seed_replays_cleanly() {
    let n = replay("seeds");
    // Every target has seeds; an empty seed set would make this test vacuous.
    for (target, _) in TARGETS {
        assert!(
            fuzz_dir().join("seeds").join(target).is_dir(),
            "fuzz/seeds/{target}/ is missing"
        );
    }
    assert!(n >= TARGETS.len(), "only {n} seeds found");
}

#[test]
fn every_minimised_crash_stays_fixed() {
    let n = replay("regressions");
    println!("replayed {n} minimised crashes");
}

#[test]
fn every_target_has_a_one_line_cargo_fuzz_wrapper() {
    for (target, _) in TARGETS {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.contains(&format!("iam_contract::fuzzing::{target}(data)")),
            "{} does not call iam_contract::fuzzing::{target}",
            path.display()
        );
    }
    assert!(replay_target("no_such_target").is_none());
}

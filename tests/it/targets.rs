//! The `targets/` folders as data: every profile and baseline loads, every committed report is a
//! report of its own target whose failures its baseline expects, and the fakecloud scripts bind
//! loopback only and never build the hour-long binary unasked. Starting the services themselves
//! is left to CI's `check --target` runs (and moto's test in `contract`).

use iam_contract::contract::{Baseline, Status, catalogue};
use iam_contract::model::Model;
use iam_contract::targets::TargetProfile;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn known_rules() -> Vec<String> {
    catalogue(Model::embedded())
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn target_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("targets"))
        .expect("targets/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("target.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_target_profile_baseline_and_committed_report_loads() {
    let known = known_rules();
    let dirs = target_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for new in ["roto", "fakecloud", "fakecloud-auth"] {
        assert!(names.iter().any(|n| n == new), "targets/{new} is missing");
    }
    for (dir, name) in dirs.iter().zip(&names) {
        let (profile, _) = TargetProfile::load(root(), name).expect("profile loads");
        assert_eq!(&profile.name, name, "{name}: name in target.toml");
        assert!(dir.join("README.md").is_file(), "{name}: README.md");
        if let Some(start) = &profile.start {
            assert!(start.contains("{port}"), "{name}: start takes the port");
        }
        let baseline = dir.join("baseline.toml");
        let baseline = baseline
            .is_file()
            .then(|| Baseline::load(&baseline, &known).expect("baseline loads"));
        let report = dir.join("report.json");
        if !report.is_file() {
            continue;
        }
        // A committed report stands in for a run CI cannot make (LocalStack without Python
        // 3.12, fakecloud without its binary): it must be this target's, and every failure in
        // it must be one the baseline expects, as `check --target` would have required.
        let text = std::fs::read_to_string(&report).expect("report.json");
        let report = iam_contract::report::from_json(&text).expect("report.json parses");
        assert_eq!(report.target.name, *name, "{name}: report.json's target");
        let baseline = baseline.expect("a committed report comes with a baseline");
        for rule in &report.rules {
            let baselined = baseline.expected.iter().any(|e| e.rule == rule.id);
            match rule.status {
                Status::Fail | Status::UnexpectedPass => {
                    panic!("{name}: report.json has {} as {:?}", rule.id, rule.status)
                }
                Status::ExpectedFail => assert!(baselined, "{name}: {}", rule.id),
                Status::Pass | Status::Skip => {
                    assert!(
                        !baselined,
                        "{name}: {} baselined but {:?}",
                        rule.id, rule.status
                    )
                }
            }
        }
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "iam-contract-targets-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stand-in `fakecloud` binary in a fresh cache directory: it answers `--version` as 0.51.0
/// does and otherwise writes its arguments and the FAKECLOUD_* variables it saw to `args`.
fn fake_fakecloud(version: &str) -> TempDir {
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    let bin = dir.path().join("bin/fakecloud");
    std::fs::write(
        &bin,
        format!(
            "#!/usr/bin/env bash\n\
             if [ \"$1\" = --version ]; then echo 'fakecloud {version}'; exit 0; fi\n\
             {{ echo \"$*\"; env | grep '^FAKECLOUD_' || true; }} > \"$(dirname \"$0\")/../args\"\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn script(path: &str, cache: &Path, args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(root().join(path))
        .args(args)
        .env("IAM_CONTRACT_FAKECLOUD_DIR", cache)
        .env("FAKECLOUD_ADDR", "0.0.0.0:4566")
        .env("FAKECLOUD_SES_SMTP_PORT", "2525")
        .env_remove("IAM_CONTRACT_BUILD_FAKECLOUD")
        .output()
        .expect("bash runs")
}

#[test]
fn fakecloud_starts_on_loopback_only_with_no_fakecloud_variables() {
    let cache = fake_fakecloud("0.51.0");
    let scratch = TempDir::new();
    let scratch = scratch.path().join("data").display().to_string();
    let out = script(
        "targets/fakecloud/start.sh",
        cache.path(),
        &["4599", &scratch, "--verify-sigv4", "--iam", "strict"],
    );
    assert!(out.status.success(), "{out:?}");
    let seen = std::fs::read_to_string(cache.path().join("args")).expect("the binary ran");
    assert_eq!(
        seen,
        "--addr 127.0.0.1:4599 --storage-mode memory --log-level warn --verify-sigv4 --iam strict\n",
        "arguments, then any FAKECLOUD_* variable that reached the binary"
    );
}

#[test]
fn fakecloud_is_never_built_unasked() {
    // No binary, or one of another version: install.sh says how to build it and fails at once
    // (the build takes an hour), and start.sh refuses.
    for cache in [TempDir::new(), fake_fakecloud("0.50.9")] {
        let out = script("targets/fakecloud/install.sh", cache.path(), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("bash targets/fakecloud/install.sh --build"),
            "{stderr}"
        );
        assert!(!cache.path().join("build.log").exists(), "no build started");
        let out = script("targets/fakecloud/start.sh", cache.path(), &["4599", ""]);
        assert!(!out.status.success());
        assert!(
            !cache.path().join("args").exists(),
            "the wrong binary never ran"
        );
    }
    let cache = fake_fakecloud("0.51.0");
    let out = script("targets/fakecloud/install.sh", cache.path(), &[]);
    assert!(out.status.success(), "{out:?}");
}

//! Third-party target profiles (`targets/<name>/target.toml`) and the lifetime of a service the
//! harness starts itself: install, start on a free loopback port, wait until it answers, stop.
//!
//! Starting is loopback-only: the start command gets a port the harness picked on 127.0.0.1, and
//! the endpoint the suite talks to is `http://127.0.0.1:PORT/`. A service that does not answer
//! within its `startup_timeout_secs` is an error, not a hang.

use crate::client::Credentials;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A target profile as written in `targets/<name>/target.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TargetProfile {
    pub name: String,
    pub description: String,
    /// A shell command that installs the service (pinned versions); idempotent.
    pub install: Option<String>,
    /// A shell command that runs the service in the foreground; `{port}` and `{dir}` are filled in.
    pub start: Option<String>,
    #[serde(default = "default_ready_path")]
    pub ready_path: String,
    #[serde(default = "default_timeout")]
    pub startup_timeout_secs: u64,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// `none`, `sigv4` or `optional`.
    pub auth: String,
    #[serde(default)]
    pub auth_notes: String,
    pub reset: Option<String>,
    /// Requests the suite may send to this target in one run.
    pub case_budget: Option<usize>,
    /// An endpoint to use instead of starting the service.
    pub endpoint: Option<String>,
    /// A shell command run once a started service answers, before anything else talks to it;
    /// `{url}` is filled in. Lines `access_key_id=...` and `secret_access_key=...` on its
    /// standard output replace the profile's credentials for this service (moto, say, verifies
    /// signatures only for keys of IAM users it issued, so the setup makes one and switches
    /// verification on). Its output is never printed: on failure only its standard error is.
    pub setup: Option<String>,
}

fn default_ready_path() -> String {
    "/".into()
}
fn default_timeout() -> u64 {
    60
}
fn default_region() -> String {
    "us-east-1".into()
}

/// A target that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{path}: cannot read the target profile: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("target {name} has neither a start command nor an endpoint")]
    NotStartable { name: String },
    #[error("installing target {name} failed ({status}); ran: {command}")]
    Install {
        name: String,
        status: String,
        command: String,
    },
    #[error("target {name} did not start: {reason}")]
    Start { name: String, reason: String },
    #[error("target {name} did not answer on {url} within {secs} s (its output is in {log})")]
    NotReady {
        name: String,
        url: String,
        secs: u64,
        log: String,
    },
}

impl TargetProfile {
    /// Loads `DIR/target.toml`, where DIR is `targets/NAME` under `root` (or NAME itself when
    /// it is a path to a directory).
    pub fn load(root: &Path, name: &str) -> Result<(TargetProfile, PathBuf), TargetError> {
        let dir = if Path::new(name).is_dir() {
            PathBuf::from(name)
        } else {
            root.join("targets").join(name)
        };
        let path = dir.join("target.toml");
        let p = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let mut reason = e.to_string();
            if e.kind() == std::io::ErrorKind::NotFound {
                let known = available(root);
                if !known.is_empty() {
                    reason.push_str(&format!("; known targets: {}", known.join(", ")));
                }
            }
            TargetError::Read {
                path: p.clone(),
                reason,
            }
        })?;
        let profile: TargetProfile = toml::from_str(&text).map_err(|e| TargetError::Parse {
            path: p,
            reason: e.to_string(),
        })?;
        Ok((profile, dir))
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key_id.clone(), self.secret_access_key.clone())
    }

    /// Whether the service checks signatures by default.
    pub fn verifies_signatures(&self) -> bool {
        self.auth == "sigv4"
    }
}

/// Where the targets' and clients' virtualenvs live: `IAM_CONTRACT_VENV_DIR`, else
/// `~/.cache/iam-contract/venvs` (as `targets/common.sh` decides).
pub fn venv_dir() -> PathBuf {
    std::env::var_os("IAM_CONTRACT_VENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/iam-contract/venvs")
        })
}

/// The names of the target profiles under `root/targets/`, sorted.
pub fn available(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("targets"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("target.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A service the harness started. Stopped (its whole process group) on `stop` or drop.
#[derive(Debug)]
pub struct RunningTarget {
    pub url: String,
    pub log: PathBuf,
    /// Credentials the profile's `setup` command issued, if it printed any.
    pub issued: Option<Credentials>,
    child: Option<std::process::Child>,
}

impl RunningTarget {
    /// The credentials to sign with: those `setup` issued, else the profile's.
    pub fn credentials(&self, profile: &TargetProfile) -> Credentials {
        self.issued.clone().unwrap_or_else(|| profile.credentials())
    }

    /// Stops the service: SIGTERM to its process group, then SIGKILL after a grace period.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id() as i32;
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                signal_group(pgid, "KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(pgid, "KILL");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for RunningTarget {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pgid: i32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{pgid}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Runs the profile's install command from `root`.
pub fn install(profile: &TargetProfile, root: &Path) -> Result<(), TargetError> {
    let Some(cmd) = &profile.install else {
        return Ok(());
    };
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| TargetError::Install {
            name: profile.name.clone(),
            status: e.to_string(),
            command: cmd.clone(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(TargetError::Install {
            name: profile.name.clone(),
            status: status.to_string(),
            command: cmd.clone(),
        })
    }
}

/// Runs a profile's `setup` command against `url` and reads the credentials it printed.
async fn run_setup(cmd: &str, url: &str, root: &Path) -> Result<Option<Credentials>, String> {
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(cmd.replace("{url}", url))
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("its setup command could not run: {e}"))?;
    if !out.status.success() {
        // Standard error only: standard output may carry the credentials it issued.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "its setup command failed ({}): {}",
            out.status,
            tail.join(" | ")
        ));
    }
    Ok(parse_issued(&String::from_utf8_lossy(&out.stdout)))
}

/// The credentials in a setup command's output: `access_key_id=` and `secret_access_key=` lines
/// (both, or none is taken).
fn parse_issued(stdout: &str) -> Option<Credentials> {
    let field = |name: &str| {
        stdout.lines().find_map(|l| {
            l.trim()
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_owned)
                .filter(|v| !v.is_empty())
        })
    };
    Some(Credentials::new(
        field("access_key_id")?,
        field("secret_access_key")?,
    ))
}

/// A free TCP port on 127.0.0.1 (bound and released; a small race is accepted).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// Starts the service on a free loopback port and waits until it answers HTTP.
pub async fn start(
    profile: &TargetProfile,
    root: &Path,
    scratch: &Path,
) -> Result<RunningTarget, TargetError> {
    let err = |reason: String| TargetError::Start {
        name: profile.name.clone(),
        reason,
    };
    let Some(cmd) = &profile.start else {
        return Err(TargetError::NotStartable {
            name: profile.name.clone(),
        });
    };
    let port = free_port().map_err(|e| err(e.to_string()))?;
    std::fs::create_dir_all(scratch).map_err(|e| err(e.to_string()))?;
    let dir = scratch.join("data");
    let log = scratch.join("service.log");
    let log_file = std::fs::File::create(&log).map_err(|e| err(e.to_string()))?;
    let cmd = cmd
        .replace("{port}", &port.to_string())
        .replace("{dir}", &dir.display().to_string());
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new("bash")
        .arg("-c")
        .arg(&cmd)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| err(e.to_string()))?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .map_err(|e| err(e.to_string()))?;
    let mut running = RunningTarget {
        url: format!("http://127.0.0.1:{port}/"),
        log: log.clone(),
        issued: None,
        child: Some(child),
    };
    let probe_url = format!("http://127.0.0.1:{port}{}", profile.ready_path);
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(profile.startup_timeout_secs);
    loop {
        if http.get(&probe_url).send().await.is_ok() {
            if let Some(setup) = &profile.setup {
                match run_setup(setup, &running.url, root).await {
                    Ok(issued) => running.issued = issued,
                    Err(reason) => {
                        running.stop();
                        return Err(err(reason));
                    }
                }
            }
            return Ok(running);
        }
        if let Some(child) = running.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            running.child = None;
            return Err(err(format!(
                "the start command exited ({status}) before answering; its output is in {}",
                log.display()
            )));
        }
        if Instant::now() >= deadline {
            running.stop();
            return Err(TargetError::NotReady {
                name: profile.name.clone(),
                url: probe_url,
                secs: profile.startup_timeout_secs,
                log: log.display().to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_output_issues_credentials_only_when_complete() {
        let c =
            parse_issued("noise\naccess_key_id=AKIAIOSFODNN7EXAMPLE\nsecret_access_key=abc=def\n")
                .expect("both lines");
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.secret_access_key.expose(), "abc=def");
        assert!(parse_issued("access_key_id=AKIAIOSFODNN7EXAMPLE\n").is_none());
        assert!(parse_issued("access_key_id=\nsecret_access_key=x\n").is_none());
        assert!(parse_issued("").is_none());
    }
}

//! Choosing what a command talks to, the same way for `check`, `replay` and `snapshot`:
//! `--target NAME` (a profile from `targets/`, installed, started and stopped by us),
//! `--endpoint URL` (credentials from the usual AWS sources), or, with neither, the embedded
//! emulator with any `--fault`s. What we start lives as long as the returned [`Opened`].

use super::check::exit;
use crate::client::Credentials;
use crate::emulator::{self, RunningEmulator};
use crate::targets::{self, RunningTarget, TargetProfile};
use std::path::{Path, PathBuf};

/// What the user asked to talk to.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub endpoint: Option<String>,
    pub target: Option<String>,
    pub aws_profile: Option<String>,
    pub faults: Vec<String>,
    /// Install the target's service before starting it (`check` and `snapshot` do; `replay`
    /// expects an installed one).
    pub install: bool,
    /// A word for scratch-directory names (`check`, `replay`, `snapshot`).
    pub purpose: &'static str,
}

/// An endpoint ready to use, and whatever keeps it running.
#[derive(Debug)]
pub struct Opened {
    pub url: String,
    pub credentials: Credentials,
    /// `emulator`, the target's name, or `endpoint`.
    pub name: String,
    /// The target profile, when one was named.
    pub profile: Option<(TargetProfile, PathBuf)>,
    _emulator: Option<RunningEmulator>,
    _service: Option<RunningTarget>,
}

/// Opens the selected endpoint. On failure prints the error and returns the exit code: 2 for
/// usage or configuration, 3 when a service cannot be started.
pub async fn open(sel: &Selection, root: &Path) -> Result<Opened, u8> {
    let fail = |code: u8, msg: String| {
        eprintln!("error: {msg}");
        code
    };
    if let Some(name) = &sel.target {
        let (profile, dir) =
            TargetProfile::load(root, name).map_err(|e| fail(exit::USAGE, e.to_string()))?;
        let (url, service) = match &profile.endpoint {
            Some(url) => (url.clone(), None),
            None => {
                if sel.install {
                    targets::install(&profile, root)
                        .map_err(|e| fail(exit::UNREACHABLE, e.to_string()))?;
                }
                let scratch = std::env::temp_dir().join(format!(
                    "iam-contract-{}-{}-{}",
                    sel.purpose,
                    profile.name,
                    std::process::id()
                ));
                eprintln!("starting {} ...", profile.name);
                let t = targets::start(&profile, root, &scratch)
                    .await
                    .map_err(|e| fail(exit::UNREACHABLE, e.to_string()))?;
                (t.url.clone(), Some(t))
            }
        };
        let credentials = match &service {
            Some(t) => t.credentials(&profile),
            None => profile.credentials(),
        };
        return Ok(Opened {
            url,
            credentials,
            name: profile.name.clone(),
            profile: Some((profile, dir)),
            _emulator: None,
            _service: service,
        });
    }
    if let Some(url) = &sel.endpoint {
        let credentials =
            Credentials::resolve(sel.aws_profile.as_deref(), &|k| std::env::var(k).ok())
                .map_err(|e| fail(exit::USAGE, e.to_string()))?;
        return Ok(Opened {
            url: url.clone(),
            credentials,
            name: "endpoint".into(),
            profile: None,
            _emulator: None,
            _service: None,
        });
    }
    let mut config = emulator::Config::default();
    for f in &sel.faults {
        let fault = f
            .parse::<emulator::Fault>()
            .map_err(|e| fail(exit::USAGE, e.to_string()))?;
        config = config.with_fault(fault);
    }
    let running = emulator::start(config).await.map_err(|e| {
        fail(
            exit::UNREACHABLE,
            format!("cannot start the embedded emulator: {e}"),
        )
    })?;
    Ok(Opened {
        url: running.url().to_owned(),
        credentials: running.credentials().clone(),
        name: "emulator".into(),
        profile: None,
        _emulator: Some(running),
        _service: None,
    })
}

impl Selection {
    /// How a replay command selects the same endpoint (`iam-contract replay --target moto`).
    pub fn replay_base(&self, url: &str) -> String {
        if let Some(t) = &self.target {
            format!("iam-contract replay --target {t}")
        } else if self.endpoint.is_some() {
            format!("iam-contract replay --endpoint {url}")
        } else {
            let mut b = "iam-contract replay".to_owned();
            for f in &self.faults {
                b.push_str(&format!(" --fault {f}"));
            }
            b
        }
    }
}

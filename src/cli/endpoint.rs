//! Choosing what a command talks to, the same way for `check`, `replay` and `snapshot`:
//! `--target NAME` (a profile from `targets/`, installed, started and stopped by us),
//! `--endpoint URL` (credentials from the usual AWS sources), or, with neither, the embedded
//! emulator with any `--fault`s. What we start lives as long as the returned [`Opened`].

use super::common::exit;
use crate::client::Credentials;
use crate::emulator::{self, RunningEmulator};
use crate::targets::{self, RunningTarget, TargetProfile};
use std::path::{Path, PathBuf};

/// The options that choose the endpoint, shared by `check`, `replay` and `snapshot`
/// (`#[command(flatten)]`): where to send, with which credentials, which emulator faults, where
/// the ledger goes, and whether AWS itself may be a target.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EndpointArgs {
    /// The endpoint to talk to (for example http://127.0.0.1:5000/). Without --endpoint and
    /// --target, the embedded emulator is started (with any --fault). Credentials come from the
    /// usual AWS sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, --aws-profile, ~/.aws).
    #[arg(long, value_name = "URL", conflicts_with = "target")]
    pub endpoint: Option<String>,
    /// A target profile from targets/NAME/ (or a directory holding target.toml): starts the
    /// service if the profile says how (and stops it after), and uses its credentials.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// The AWS credentials profile to sign with (for --endpoint).
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// Inject a fault into the embedded emulator (repeatable; see `serve --list-faults`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["endpoint", "target"])]
    pub fault: Vec<String>,
    /// Whom the run signs as on the embedded emulator: its bootstrap IAM user `admin` (user),
    /// or the account root, with no IAM user at all (root: the root rules are judged).
    #[arg(
        long,
        value_name = "user|root",
        value_enum,
        default_value_t = EmulatorCaller::User,
        conflicts_with_all = ["endpoint", "target"]
    )]
    pub emulator_caller: EmulatorCaller,
    /// Where to record what the run creates, so that `cleanup` can finish after a crash.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Allow sending to *.amazonaws.com, where the command creates and deletes users and keys.
    #[arg(long)]
    pub allow_live_aws: bool,
}

impl EndpointArgs {
    /// The selection these options make, for a command (`purpose`) that does or does not
    /// install a target's service first.
    pub fn selection(&self, install: bool, purpose: &'static str) -> Selection {
        Selection {
            endpoint: self.endpoint.clone(),
            target: self.target.clone(),
            aws_profile: self.aws_profile.clone(),
            faults: self.fault.clone(),
            emulator_caller: self.emulator_caller,
            install,
            purpose,
        }
    }

    /// `--ledger`, or a fresh per-process file in the temporary directory.
    pub fn ledger_path(&self) -> PathBuf {
        self.ledger
            .clone()
            .unwrap_or_else(super::common::default_ledger)
    }

    /// Refuses AWS itself unless `--allow-live-aws` was given (a usage error).
    pub fn refuse_live_aws(&self, endpoint: &str, what: &str) -> Result<(), u8> {
        if super::common::is_live_aws(endpoint) && !self.allow_live_aws {
            return Err(super::common::usage(format!(
                "{endpoint} is AWS itself; {what}. Pass --allow-live-aws to do that on purpose"
            )));
        }
        Ok(())
    }
}

/// Whom the embedded emulator's starting key belongs to.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmulatorCaller {
    // Plain comments, not doc comments: clap would turn those into a long list of values in
    // every `--help` that flattens these options.
    // The bootstrap IAM user (`admin`).
    #[default]
    User,
    // The account root, and no IAM user.
    Root,
}

/// What the user asked to talk to.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub endpoint: Option<String>,
    pub target: Option<String>,
    pub aws_profile: Option<String>,
    pub faults: Vec<String>,
    /// Whom the embedded emulator's key belongs to.
    pub emulator_caller: EmulatorCaller,
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
    if sel.emulator_caller == EmulatorCaller::Root {
        config = config.as_root();
    }
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
        // A root-only emulator is a target of its own in reports and the matrix.
        name: if sel.emulator_caller == EmulatorCaller::Root {
            "emulator-root".into()
        } else {
            "emulator".into()
        },
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
            if self.emulator_caller == EmulatorCaller::Root {
                b.push_str(" --emulator-caller root");
            }
            for f in &self.faults {
                b.push_str(&format!(" --fault {f}"));
            }
            b
        }
    }
}

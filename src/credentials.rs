//! Credentials: from the environment, or from the shared `~/.aws/credentials` and
//! `~/.aws/config` files with a profile.

use crate::secret::Secret;
use std::path::{Path, PathBuf};

/// The access key ID AWS documents as its example (safe to print anywhere).
pub const EXAMPLE_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret AWS documents as its example (safe to print anywhere).
pub const EXAMPLE_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

/// A signing identity. The secret parts never print themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// No usable credentials.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile in {0}"
    )]
    NotFound(String),
    #[error("profile {profile:?} not found in {files}")]
    NoProfile { profile: String, files: String },
    #[error("profile {profile:?} in {file} has no {key}")]
    Incomplete {
        profile: String,
        file: String,
        key: &'static str,
    },
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret),
            session_token: None,
        }
    }

    /// AWS's documented example pair, which the emulator accepts by default.
    pub fn example() -> Self {
        Credentials::new(EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY)
    }

    /// Every secret part, for the secret tripwire.
    pub fn secrets(&self) -> Vec<Secret> {
        let mut v = vec![self.secret_access_key.clone()];
        v.extend(self.session_token.clone());
        v
    }

    /// Resolves credentials the way the AWS CLI does, for the common sources: an explicit
    /// profile (`--profile`) wins, then `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    /// (+`AWS_SESSION_TOKEN`), then `AWS_PROFILE`, then the `default` profile of the shared files
    /// (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else `~/.aws/credentials` and
    /// `~/.aws/config`). `env` is the environment lookup, passed in so tests can fake it.
    pub fn resolve(
        profile: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialError> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        if profile.is_none()
            && let (Some(id), Some(secret)) =
                (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
        {
            return Ok(Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
            });
        }
        let home = get("HOME").map(PathBuf::from).unwrap_or_default();
        let cred_file = get("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws/credentials"));
        let config_file = get("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws/config"));
        let explicit = profile.map(str::to_owned).or_else(|| get("AWS_PROFILE"));
        let name = explicit.clone().unwrap_or_else(|| "default".into());
        let files = format!("{} and {}", cred_file.display(), config_file.display());
        let from_creds = read_section(&cred_file, &name);
        let from_config = read_section(
            &config_file,
            &if name == "default" {
                name.clone()
            } else {
                format!("profile {name}")
            },
        );
        let (section, file) = match (from_creds, from_config) {
            (Some(s), _) if s.iter().any(|(k, _)| k == "aws_access_key_id") => (s, cred_file),
            (_, Some(s)) => (s, config_file),
            (Some(s), None) => (s, cred_file),
            (None, None) if explicit.is_some() => {
                return Err(CredentialError::NoProfile {
                    profile: name,
                    files,
                });
            }
            (None, None) => return Err(CredentialError::NotFound(files)),
        };
        let find = |key: &'static str| {
            section
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| CredentialError::Incomplete {
                    profile: name.clone(),
                    file: file.display().to_string(),
                    key,
                })
        };
        Ok(Credentials {
            access_key_id: find("aws_access_key_id")?,
            secret_access_key: Secret::new(find("aws_secret_access_key")?),
            session_token: find("aws_session_token").ok().map(Secret::new),
        })
    }
}

/// The `key = value` pairs of `[section]` in an INI-style AWS file, or `None` when the file or
/// the section does not exist.
fn read_section(path: &Path, section: &str) -> Option<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut found = None;
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_owned());
            if current.as_deref() == Some(section) {
                found.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if current.as_deref() == Some(section)
            && let Some((k, v)) = line.split_once('=')
        {
            found
                .get_or_insert_with(Vec::new)
                .push((k.trim().to_lowercase(), v.trim().to_owned()));
        }
    }
    found
}

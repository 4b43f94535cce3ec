//! The secret tripwire: after a run has written its outputs, every secret the run received is
//! searched for in each of them, raw, percent-encoded or base64, and any hit fails the run.
//!
//! The error names the output, which secret (by its position in the list) and the form found,
//! never the secret or any part of it, so the error itself can be printed. Forms searched:
//! the ones [`Secret::leak_forms`] gives (raw, AWS percent-encoding, standard base64), plus
//! lower-case percent-encoding, and the base64 of the secret at each of the three byte
//! alignments in both the standard and the URL-safe alphabet, so a secret inside a larger
//! base64 blob (an `Authorization: Basic` header, a JSON blob) is still caught. Secrets shorter
//! than 8 characters are not searched for, as in [`Secret::appears_in`]: they match by chance.

use crate::secret::{REDACTED, Secret};
use base64::Engine;
use std::fmt;
use std::path::Path;

/// The encoding in which a secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeakForm {
    Raw,
    PercentEncoded,
    Base64,
}

impl fmt::Display for LeakForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeakForm::Raw => "raw",
            LeakForm::PercentEncoded => "percent-encoded",
            LeakForm::Base64 => "base64",
        })
    }
}

/// A secret was found in an output, or an output could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TripwireError {
    /// `secret` is the index of the secret in the tripwire's list (the secret itself is never
    /// part of the error).
    #[error("secret tripwire: {output} contains secret #{secret} in {form} form")]
    Leak {
        output: String,
        secret: usize,
        form: LeakForm,
    },
    #[error("secret tripwire: cannot read {output} to scan it: {reason}")]
    Unreadable { output: String, reason: String },
}

/// The secrets of a run and the forms to look for.
#[derive(Debug, Clone, Default)]
pub struct Tripwire {
    secrets: Vec<Secret>,
}

impl Tripwire {
    pub fn new(secrets: Vec<Secret>) -> Tripwire {
        Tripwire { secrets }
    }

    /// Adds a secret received during the run (a newly created key, say).
    pub fn add(&mut self, secret: Secret) {
        self.secrets.push(secret);
    }

    /// How many secrets are guarded (short ones included, though they are not searched for).
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Fails if `text` (the output called `name`: `stdout`, `report.json`, ...) contains any
    /// secret in any form. The first hit is reported, the most literal form first.
    pub fn check(&self, name: &str, text: &str) -> Result<(), TripwireError> {
        for (i, s) in self.secrets.iter().enumerate() {
            for (form, needle) in forms(s) {
                if text.contains(needle.as_str()) {
                    return Err(TripwireError::Leak {
                        output: name.to_owned(),
                        secret: i,
                        form,
                    });
                }
            }
        }
        Ok(())
    }

    /// [`Tripwire::check`] on bytes (captured stdout, say), decoded lossily: every form searched
    /// for is ASCII, so lossy decoding cannot hide one.
    pub fn check_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), TripwireError> {
        self.check(name, &String::from_utf8_lossy(bytes))
    }

    /// Reads a written report file and checks it; the output is named by its path.
    pub fn check_file(&self, path: &Path) -> Result<(), TripwireError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| TripwireError::Unreadable {
            output: name.clone(),
            reason: e.to_string(),
        })?;
        self.check_bytes(&name, &bytes)
    }

    /// Replaces every form of every secret in `text` with the redaction marker.
    pub fn scrub(&self, text: &str) -> String {
        scrub_all(text, &self.secrets)
    }
}

/// Replaces every form of any of `secrets` in `text` (the forms the tripwire looks for, a
/// superset of [`crate::secret::scrub`]'s) with the redaction marker.
pub fn scrub_all(text: &str, secrets: &[Secret]) -> String {
    let mut needles: Vec<String> = secrets
        .iter()
        .flat_map(|s| forms(s).into_iter().map(|(_, n)| n))
        .collect();
    // Longest first: a base64 core is a substring of the full base64 form.
    needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    needles.dedup();
    let mut out = text.to_owned();
    for n in needles {
        out = out.replace(n.as_str(), REDACTED);
    }
    out
}

/// Every form of `secret` worth searching for, labelled, most literal first; empty for secrets
/// too short to search for.
fn forms(secret: &Secret) -> Vec<(LeakForm, String)> {
    let raw = secret.expose();
    if raw.len() < 8 {
        return Vec::new();
    }
    let mut out: Vec<(LeakForm, String)> = Vec::new();
    for f in secret.leak_forms() {
        let form = if f == raw {
            LeakForm::Raw
        } else if f.contains('%') {
            LeakForm::PercentEncoded
        } else {
            LeakForm::Base64
        };
        out.push((form, f));
    }
    let lower_pct = lowercase_percent_hex(&crate::wire::percent_encode(raw));
    out.push((LeakForm::PercentEncoded, lower_pct));
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(raw.as_bytes());
            let enc = engine.encode(&bytes);
            // Keep only the characters made of the secret's bits alone: those after the
            // prefix bytes and before the last, partially filled, character.
            let start = (8 * offset).div_ceil(6);
            let end = (8 * bytes.len()) / 6;
            if let Some(core) = enc.get(start..end) {
                out.push((LeakForm::Base64, core.to_owned()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    out.dedup();
    out
}

/// `%2F` → `%2f`: some encoders write lower-case hex.
fn lowercase_percent_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_pct = 0;
    for c in s.chars() {
        if c == '%' {
            after_pct = 2;
            out.push(c);
        } else if after_pct > 0 {
            after_pct -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake() -> Secret {
        Secret::new(format!(
            "{}{}",
            "wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYzUNITONLY12"
        ))
    }

    #[test]
    fn finds_base64_at_every_alignment() {
        let t = Tripwire::new(vec![fake()]);
        for prefix in ["", "u", "us", "user:"] {
            let blob = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}{}!", fake().expose()));
            let err = t.check("blob", &format!("Basic {blob}")).unwrap_err();
            assert!(matches!(
                err,
                TripwireError::Leak {
                    form: LeakForm::Base64,
                    ..
                }
            ));
            assert!(!t.scrub(&blob).contains(&blob[8..blob.len() - 8]));
        }
    }

    #[test]
    fn short_secrets_are_not_searched() {
        let t = Tripwire::new(vec![Secret::new("abc")]);
        assert!(t.check("x", "abc abc").is_ok());
    }

    #[test]
    fn lowercase_percent() {
        assert_eq!(lowercase_percent_hex("a%2Fb%3D"), "a%2fb%3d");
    }
}

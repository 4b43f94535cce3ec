//! Secrets: a newtype that never prints itself, and helpers to find secrets in text.
//!
//! Every credential the harness holds lives in a [`Secret`]: its `Debug` and `Display` print a
//! redaction marker, and serde serialises it redacted too, so a secret cannot reach a log, a
//! report, a snapshot or a panic message by accident. The one deliberate exit is
//! [`Secret::expose`], used to sign requests and to print the result of `create-access-key`.

use std::fmt;

/// What every redacted secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A credential. Compared in constant time.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only to sign, verify or deliberately hand the secret to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The forms in which this secret could leak into text: raw, percent-encoded, base64.
    pub fn leak_forms(&self) -> Vec<String> {
        use base64::Engine;
        let raw = self.0.clone();
        let pct = crate::wire::percent_encode(&raw);
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
        let mut forms = vec![raw, pct, b64];
        forms.sort();
        forms.dedup();
        forms
    }

    /// Whether `text` contains this secret in any of its leak forms. Secrets shorter than 8
    /// characters are not searched for: they would match by chance.
    pub fn appears_in(&self, text: &str) -> bool {
        self.0.len() >= 8 && self.leak_forms().iter().any(|f| text.contains(f.as_str()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// Replaces every occurrence of any of `secrets` (in any leak form) in `text` with [`REDACTED`].
pub fn scrub(text: &str, secrets: &[Secret]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 8) {
        for form in s.leak_forms() {
            out = out.replace(&form, REDACTED);
        }
    }
    out
}

/// Finds and redacts many secrets (in every leak form) in one pass over a text. Built once per
/// set of secrets; a run rebuilds it only when it learns a new secret.
#[derive(Debug, Clone, Default)]
pub struct SecretScanner {
    matcher: Option<aho_corasick::AhoCorasick>,
    count: usize,
}

impl SecretScanner {
    pub fn new(secrets: &[Secret]) -> SecretScanner {
        let forms: Vec<String> = secrets
            .iter()
            .filter(|s| s.len() >= 8)
            .flat_map(Secret::leak_forms)
            .collect();
        let matcher = if forms.is_empty() {
            None
        } else {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&forms)
                .ok()
        };
        SecretScanner {
            matcher,
            count: secrets.len(),
        }
    }

    /// How many secrets it was built from.
    pub fn secret_count(&self) -> usize {
        self.count
    }

    /// Whether `text` holds any of the secrets.
    pub fn found_in(&self, text: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(text))
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) => m.replace_all(text, &vec![REDACTED; m.patterns_len()]),
            None => text.to_owned(),
        }
    }
}

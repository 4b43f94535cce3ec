//! Secrets: a newtype that never prints itself, and helpers to find secrets in text.
//!
//! Every credential the harness holds lives in a [`Secret`]: its `Debug` and `Display` print a
//! redaction marker, and serde serialises it redacted too, so a secret cannot reach a log, a
//! report, a snapshot or a panic message by accident. The one deliberate exit is
//! [`Secret::expose`], used to sign requests and to print the result of `create-access-key`.

/// AWS's percent-encoding (everything but `A-Za-z0-9-_.~`), the form in which a secret would
/// appear on the wire. The same set as `wire::percent_encode`'s (a test there checks), kept here
/// so that `secret` stays a leaf module that `wire` may use.
const AWS_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

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
        let pct = percent_encoding::utf8_percent_encode(&raw, AWS_ENCODE).to_string();
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

/// Hashes the content, consistent with `Eq`, so a run can index the secrets it has seen (a set
/// lookup instead of comparing each new secret with every earlier one). A hash value stays in
/// memory and is never printed.
impl std::hash::Hash for Secret {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// Characters a credential is made of (base64, and the `-_.` some services add).
fn credential_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'.')
}

/// The maximal runs of 8 or more credential characters in `text`, as byte ranges.
fn credential_runs(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            while i < b.len() && !credential_char(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && credential_char(b[i]) {
                i += 1;
            }
            if i - start >= 8 {
                return Some(start..i);
            }
        }
        None
    })
}

/// What sits where a `SecretAccessKey` element's content would be in a body that may be
/// mangled: the runs of 8 or more credential characters after each `<SecretAccessKey>`, up to
/// the next `</SecretAccessKey` (or 256 bytes). A body whose secret element cannot be read
/// yields no secret to scrub, yet a parser may still quote that text (as the end tag it
/// expected, say); [`redact_runs`] removes it from whatever quotes it.
pub fn secret_like_runs(body: &str) -> Vec<String> {
    const OPEN: &str = "<SecretAccessKey>";
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        let mut end = rest
            .find("</SecretAccessKey")
            .unwrap_or(rest.len())
            .min(256);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let region = &rest[..end];
        out.extend(credential_runs(region).map(|r| region[r].to_owned()));
    }
    out
}

/// `text` with every run of credential characters that overlaps one of `runs` (either holds
/// the other) replaced by [`REDACTED`], so a quoted piece of a secret goes too.
pub fn redact_runs(text: &str, runs: &[String]) -> String {
    if runs.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for r in credential_runs(text) {
        let piece = &text[r.clone()];
        if runs
            .iter()
            .any(|s| s.contains(piece) || piece.contains(s.as_str()))
        {
            out.push_str(&text[done..r.start]);
            out.push_str(REDACTED);
            done = r.end;
        }
    }
    out.push_str(&text[done..]);
    out
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

/// Finds and redacts many secrets (in every leak form) in one pass over a text.
///
/// Every leak form is at least 8 bytes long (secrets shorter than 8 characters are not searched
/// for), so the scanner indexes forms by their first 8 bytes: a scan reads the 8 bytes at each
/// position of the text and looks them up, and only a hit compares whole forms. Adding a secret
/// is a hash-map insert, so a run that learns secrets as it goes never rebuilds anything (an
/// automaton rebuilt per new secret made the scan quadratic in the number of keys a run
/// creates). Matching is leftmost-longest, as a multi-pattern replace needs.
#[derive(Debug, Clone, Default)]
pub struct SecretScanner {
    /// First 8 bytes of a form, read as a little-endian word, to the forms that start so.
    by_prefix: rustc_hash::FxHashMap<u64, Vec<Box<str>>>,
}

const PREFIX: usize = 8;

#[inline(always)]
fn prefix_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; PREFIX];
    w.copy_from_slice(&bytes[..PREFIX]);
    u64::from_le_bytes(w)
}

impl SecretScanner {
    pub fn new(secrets: &[Secret]) -> SecretScanner {
        let mut scanner = SecretScanner::default();
        for s in secrets {
            scanner.add(s);
        }
        scanner
    }

    /// Learns one more secret (all its leak forms).
    pub fn add(&mut self, secret: &Secret) {
        if secret.len() < PREFIX {
            return;
        }
        for form in secret.leak_forms() {
            let forms = self
                .by_prefix
                .entry(prefix_word(form.as_bytes()))
                .or_default();
            if !forms.iter().any(|f| **f == *form) {
                forms.push(form.into_boxed_str());
            }
        }
    }

    /// The leftmost-longest match at or after `from`: (start, length).
    fn next_match(&self, text: &[u8], from: usize) -> Option<(usize, usize)> {
        if self.by_prefix.is_empty() || text.len() < PREFIX {
            return None;
        }
        // A plain loop over the positions: it runs once per byte of every text scrubbed, and
        // as a `find_map` closure it stayed an out-of-line call per byte in a build without
        // link-time optimisation.
        for i in from..=text.len() - PREFIX {
            let Some(forms) = self.by_prefix.get(&prefix_word(&text[i..])) else {
                continue;
            };
            let longest = forms
                .iter()
                .filter(|f| text[i..].starts_with(f.as_bytes()))
                .map(|f| f.len())
                .max();
            if let Some(len) = longest {
                return Some((i, len));
            }
        }
        None
    }

    /// Whether `text` holds any of the secrets.
    pub fn found_in(&self, text: &str) -> bool {
        self.next_match(text.as_bytes(), 0).is_some()
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        // A form is valid UTF-8, so a match starts and ends on character boundaries.
        while let Some((start, len)) = self.next_match(bytes, done) {
            out.push_str(&text[done..start]);
            out.push_str(REDACTED);
            done = start + len;
        }
        out.push_str(&text[done..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_finds_and_scrubs_every_leak_form() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYzz");
        let mut sc = SecretScanner::new(&[]);
        assert!(!sc.found_in("nothing here"));
        sc.add(&s);
        for form in s.leak_forms() {
            let text = format!("before {form} after");
            assert!(sc.found_in(&text), "{form}");
            assert_eq!(sc.scrub(&text), format!("before {REDACTED} after"));
        }
        assert_eq!(sc.scrub("short"), "short");
    }

    #[test]
    fn scanner_prefers_the_longest_form_and_keeps_unicode() {
        let a = Secret::new("abcdefgh");
        let b = Secret::new("abcdefghijkl");
        let sc = SecretScanner::new(&[a, b]);
        assert_eq!(
            sc.scrub("é abcdefghijkl é abcdefgh"),
            "é <redacted> é <redacted>"
        );
        assert_eq!(sc.scrub("abcdefgabcdefgh"), "abcdefg<redacted>");
        // Adjacent secrets are each redacted.
        assert_eq!(sc.scrub("abcdefghabcdefgh"), "<redacted><redacted>");
    }

    #[test]
    fn secret_like_text_in_a_mangled_element_is_redacted_wherever_quoted() {
        // AWS's documented example secret, kept apart from its element name in the source.
        const EXAMPLE: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let body = format!(
            "<Status>Active</Status><SecretAccessKey><{EXAMPLE}</SecretAccessKey><CreateDate>"
        );
        let runs = secret_like_runs(&body);
        assert_eq!(runs, [EXAMPLE]);
        let reason =
            "expected `</wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY`, but `</AccessKey>` was found";
        assert_eq!(
            redact_runs(reason, &runs),
            "expected `<<redacted>`, but `</AccessKey>` was found"
        );
        // A quoted piece of it goes too; unrelated words stay.
        assert_eq!(
            redact_runs("name `wJalrXUtnFEMI` and `CreateAccessKeyResponse`", &runs),
            "name `<redacted>` and `CreateAccessKeyResponse`"
        );
        // An element cut off before its end tag: the region stops after 256 bytes.
        let cut = format!("<SecretAccessKey>abcdefgh12345678{}", "x".repeat(400));
        assert_eq!(secret_like_runs(&cut)[0].len(), 256);
        assert!(secret_like_runs("<Status>Active</Status>").is_empty());
    }

    #[test]
    fn scanner_ignores_short_secrets() {
        let sc = SecretScanner::new(&[Secret::new("abc")]);
        assert!(!sc.found_in("abc abc"));
        assert_eq!(sc.scrub("abc abc"), "abc abc");
    }
}

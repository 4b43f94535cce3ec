//! Response snapshots: a fixed, documented case set sent to any endpoint, each response
//! normalised into stable text, written one file per case, and compared with a recorded set.
//!
//! This module only records, normalises and compares; it judges nothing (that is the
//! contract's job) and never prints. Recording ([`record`]) needs the `net` feature; the
//! normaliser ([`normalize`]), the comparison ([`compare`]) and the file IO here do not.
//!
//! # Normalisation
//! Two endpoints differ in a snapshot only where they differ in contract:
//! - kept: the HTTP status; the media type of `content-type` (parameters dropped); whether an
//!   `x-amzn-RequestId` header is present; the body's elements in document order, their
//!   attributes (namespace declarations included, sorted by name) and text, the error `Code`,
//!   `Type` and `Message` included;
//! - dropped: the XML declaration, comments, processing instructions, whitespace between
//!   elements and around text, every other header;
//! - canonical form: one element per line, two-space indentation, an element with only text on
//!   one line, an empty element as `<A/>`, text re-escaped;
//! - run-unique values (user names, the path, created key IDs) become placeholders: `[user]`,
//!   `[user-b]`, `[user-64]`, `[user-punct]`, `[user-missing]`, `[user-65]`, `[name-128]`,
//!   `[name-129]`, `[name-129-bad]`, `[run]`, `[AccessKeyId]`;
//! - dynamic values are replaced only after a shape check: `AccessKeyId` `^AKIA[A-Z2-7]{16}$`
//!   → `[AccessKeyId]`, `SecretAccessKey` `^[A-Za-z0-9+/]{40}$` → `[secret]`, `CreateDate` and
//!   `LastUsedDate` ISO 8601 → `[date]`, `RequestId` (body or header) a UUID → `[request-id]`,
//!   `UserId` `^AIDA[A-Z2-7]{16,17}$` → `[UserId]`, `Account` twelve digits → `[account]`, the
//!   account of an `arn:aws:iam::`/`arn:aws:sts::` ARN → `[account]`. A wrong shape is not
//!   hidden: it becomes `[AccessKeyId: wrong shape, 12 characters of A-Z 0-9]` (the value
//!   itself never appears) and is listed as a [`ShapeViolation`];
//! - a body that is not XML is kept as text (4096 characters at most) after the same
//!   replacements; any other run of 40 secret-like characters becomes `[secret?]`.
//!
//! # Files
//! `DIR/CASE.txt`, one per case of [`CASES`]: `#` comment lines (case, request, source), then
//! the normalised text. In a recorded file, `[...]` matches any text within its line (the
//! shipped reference uses it where AWS documents no wording).

pub mod compare;
#[cfg(feature = "net")]
mod live;
pub mod normalize;

pub use compare::{Comparison, WILDCARD, content_lines, diff};
#[cfg(feature = "net")]
pub use live::{
    LARGE_BODY_BYTES, RecordConfig, Recorded, Recording, UNKNOWN_KEY_ID, record, record_until,
};
pub use normalize::{Normalized, Normalizer, ShapeViolation};

use std::collections::BTreeMap;
use std::path::Path;

/// One case of the fixed set: its stable name (the file name without `.txt`) and what it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseInfo {
    pub name: &'static str,
    pub sends: &'static str,
}

macro_rules! cases {
    ($($name:literal : $sends:literal),* $(,)?) => {
        /// The case set, in the order it is sent. Names are stable: files and the README refer
        /// to them. `[user]` is a run-unique user created for the run, `[user-b]` a second one.
        pub const CASES: &[CaseInfo] = &[$(CaseInfo { name: $name, sends: $sends }),*];
    };
}

cases! {
    "create-user.ok": "CreateUser [user] with Path /[run]/",
    "create-user.entity-already-exists": "CreateUser [user] again",
    "get-user.ok": "GetUser [user]",
    "list-users.ok": "ListUsers PathPrefix /[run]/ (only [user])",
    "create-access-key.ok": "CreateAccessKey [user] (its first key)",
    "list-access-keys.ok": "ListAccessKeys [user] (one key)",
    "update-access-key.ok": "UpdateAccessKey [user]'s first key to Inactive",
    "get-access-key-last-used.ok": "GetAccessKeyLastUsed of the first key (never used)",
    "create-access-key.limit-exceeded": "CreateAccessKey [user] when it has 2 keys",
    "get-caller-identity.ok": "STS GetCallerIdentity signed with [user]'s second key",
    "list-access-keys.access-denied": "ListAccessKeys [user] signed with [user-b]'s key",
    "auth.missing-authentication-token": "ListAccessKeys [user], unsigned",
    "auth.invalid-client-token-id": "ListAccessKeys [user] signed with an unknown key",
    "auth.signature-does-not-match": "ListAccessKeys [user] with a zeroed signature",
    "auth.incomplete-signature": "ListAccessKeys [user] with an Authorization header lacking SignedHeaders and Signature",
    "auth.signature-expired": "ListAccessKeys [user] signed an hour ago",
    "auth.signature-not-yet-current": "ListAccessKeys [user] signed an hour ahead",
    "protocol.invalid-action": "Action DescribeNothing",
    "protocol.missing-action": "no Action",
    "protocol.bad-version": "ListAccessKeys with Version 2099-01-01",
    "protocol.body-too-large": "ListAccessKeys with a 70 KiB body",
    "create-user.name-64.ok": "CreateUser with a 64-character name (then deleted)",
    "create-user.name-punctuation.ok": "CreateUser with a name using every allowed punctuation character +=,.@_- (then deleted)",
    "create-user.name-65.validation-error": "CreateUser with a 65-character name",
    "create-access-key.name-128.no-such-entity": "CreateAccessKey for a 128-character name (valid, cannot exist)",
    "create-access-key.name-129.validation-error": "CreateAccessKey for a 129-character name",
    "create-access-key.name-pattern.validation-error": "CreateAccessKey for \"bad name\" (a space)",
    "create-access-key.name-non-ascii.validation-error": "CreateAccessKey for \"snap\\u{e9}\" (non-ASCII letter)",
    "create-access-key.name-multiple.validation-error": "CreateAccessKey for a 129-character name ending in !",
    "create-access-key.no-such-entity": "CreateAccessKey for a user that does not exist",
    "delete-user.delete-conflict": "DeleteUser [user] while it has keys",
    "delete-access-key.no-such-entity": "DeleteAccessKey of an unknown key ID of [user]",
    "delete-access-key.ok": "DeleteAccessKey [user]'s first key",
    "delete-user.ok": "DeleteUser [user] after its keys are gone",
}

/// A snapshot run cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("endpoint unreachable: {0}")]
    Unreachable(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{path} holds no snapshot files (*.txt)")]
    Empty { path: String },
    /// A snapshot would have held a secret; the message names the case, never the secret.
    #[error("{0}")]
    Leak(String),
    #[error("interrupted (everything created was deleted)")]
    Interrupted,
    #[error("interrupted, and cleanup could not delete: {0}")]
    CleanupIncomplete(String),
    /// The ledger could not be written; the run stops before it creates anything unrecorded.
    #[error("cannot write the ledger {path}: {reason}")]
    Ledger { path: String, reason: String },
}

/// Reads a recorded set: every `*.txt` file of `dir`, by case name. Other files (a README)
/// are ignored.
pub fn load_dir(dir: &Path) -> Result<BTreeMap<String, String>, SnapshotError> {
    let read_err = |e: std::io::Error| SnapshotError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".txt"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|e| SnapshotError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        out.insert(name.to_owned(), text);
    }
    if out.is_empty() {
        return Err(SnapshotError::Empty {
            path: dir.display().to_string(),
        });
    }
    Ok(out)
}

/// Writes `(case name, file text)` pairs as `dir/NAME.txt`, creating `dir`.
pub fn write_dir(dir: &Path, files: &[(String, String)]) -> Result<(), SnapshotError> {
    let write_err = |p: &Path, e: std::io::Error| SnapshotError::Write {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    for (name, text) in files {
        let path = dir.join(format!("{name}.txt"));
        std::fs::write(&path, text).map_err(|e| write_err(&path, e))?;
    }
    Ok(())
}

/// Compares a recorded set with fresh files.
pub fn compare(recorded: &BTreeMap<String, String>, actual: &[(String, String)]) -> Comparison {
    compare::compare(recorded, actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_unique_and_file_safe() {
        let mut seen = std::collections::HashSet::new();
        for c in CASES {
            assert!(seen.insert(c.name), "duplicate case {}", c.name);
            assert!(
                c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{}",
                c.name
            );
        }
    }
}

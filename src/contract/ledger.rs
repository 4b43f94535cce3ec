//! The ledger: everything a run creates on a target is written down before it is created, so
//! that it can be deleted afterwards, also after a failure, a Ctrl-C or a crash
//! (`iam-contract cleanup --ledger PATH`).
//!
//! The ledger is a JSON-lines file. It holds user names and key IDs, never a secret.

use crate::client::{Client, RawRequest, Signing};
use crate::model::Model;
use crate::wire::{Outcome, decode_response};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum LedgerEntry {
    /// A run started against this endpoint with this prefix.
    Run { endpoint: String, prefix: String },
    /// About to create this user (written before the request is sent).
    User { name: String },
    /// A key was created for this user.
    Key { user: String, id: String },
}

/// An append-only ledger file.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Ledger {
    /// Creates (or appends to) the ledger at `path`, creating parent directories.
    pub fn create(path: &Path) -> std::io::Result<Ledger> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Ledger {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry and flushes it to the OS before returning, so that it survives a crash
    /// of the harness right after.
    pub fn record(&self, entry: &LedgerEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes())?;
        f.flush()
    }

    /// Reads a ledger file. Lines that do not parse are reported, not skipped silently.
    pub fn read(path: &Path) -> Result<Vec<LedgerEntry>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
            })
            .collect()
    }
}

/// What cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupOutcome {
    pub users_deleted: usize,
    pub keys_deleted: usize,
    /// Things that could not be deleted, with the reason.
    pub left: Vec<String>,
}

/// Deletes everything the ledger entries name: each user's keys (as listed now, plus the ones
/// recorded), then the user. Missing things are fine (they were never created, or are gone).
pub async fn cleanup_ledger(
    client: &Client,
    model: &Model,
    entries: &[LedgerEntry],
) -> CleanupOutcome {
    let mut out = CleanupOutcome::default();
    // Users are deleted only when the run created them (a `User` entry); keys the run created
    // for any other user (an endpoint that answers an empty UserName with a key for some
    // default user, say) are deleted one by one, and their user is left alone.
    let mut users: Vec<String> = Vec::new();
    let mut foreign_keys: Vec<(String, String)> = Vec::new();
    for e in entries {
        if let LedgerEntry::User { name } = e
            && !users.contains(name)
        {
            users.push(name.clone());
        }
    }
    for e in entries {
        if let LedgerEntry::Key { user, id } = e
            && !users.contains(user)
            && !foreign_keys.iter().any(|(_, i)| i == id)
        {
            foreign_keys.push((user.clone(), id.clone()));
        }
    }
    let call = |params: Vec<(&str, String)>| {
        let owned: Vec<(String, String)> =
            params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        // Server errors and throttling are retried: cleanup must not give up on a transient
        // failure (ServiceFailure is transient by definition).
        async move {
            let mut attempt = 0u32;
            loop {
                let r = client
                    .send(&RawRequest::form(&owned), &Signing::Normal)
                    .await;
                let transient = match &r {
                    Ok(resp) => resp.status >= 500 || resp.status == 429,
                    Err(_) => true,
                };
                if !transient || attempt >= 6 {
                    break r;
                }
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
        }
    };
    let version = model.metadata().api_version.clone();
    for (user, id) in foreign_keys {
        let mut params = vec![
            ("Action", "DeleteAccessKey".to_owned()),
            ("Version", version.clone()),
            ("AccessKeyId", id.clone()),
        ];
        if !user.is_empty() {
            params.push(("UserName", user.clone()));
        }
        match call(params).await {
            Ok(r) if r.status < 300 => out.keys_deleted += 1,
            Ok(r) if is_gone(model, &r) => {}
            Ok(r) => out
                .left
                .push(format!("key {id} of {user}: HTTP {}", r.status)),
            Err(e) => out.left.push(format!("key {id} of {user}: {e}")),
        }
    }
    for user in users {
        let mut ids: Vec<String> = entries
            .iter()
            .filter_map(|e| match e {
                LedgerEntry::Key { user: u, id } if *u == user => Some(id.clone()),
                _ => None,
            })
            .collect();
        if let Ok(resp) = call(vec![
            ("Action", "ListAccessKeys".into()),
            ("Version", version.clone()),
            ("UserName", user.clone()),
        ])
        .await
        {
            let d = decode_response(model, "ListAccessKeys", &resp.body);
            if let Outcome::Success { value, .. } = &d.outcome
                && let Some(list) = value.get("AccessKeyMetadata").and_then(|v| v.as_array())
            {
                for k in list {
                    if let Some(id) = k.get("AccessKeyId").and_then(|v| v.as_str())
                        && !ids.iter().any(|i| i == id)
                    {
                        ids.push(id.to_owned());
                    }
                }
            }
        }
        for id in ids {
            match call(vec![
                ("Action", "DeleteAccessKey".into()),
                ("Version", version.clone()),
                ("UserName", user.clone()),
                ("AccessKeyId", id.clone()),
            ])
            .await
            {
                Ok(r) if r.status < 300 => out.keys_deleted += 1,
                Ok(r) if is_gone(model, &r) => {}
                Ok(r) => out
                    .left
                    .push(format!("key {id} of {user}: HTTP {}", r.status)),
                Err(e) => out.left.push(format!("key {id} of {user}: {e}")),
            }
        }
        match call(vec![
            ("Action", "DeleteUser".into()),
            ("Version", version.clone()),
            ("UserName", user.clone()),
        ])
        .await
        {
            Ok(r) if r.status < 300 => out.users_deleted += 1,
            Ok(r) if is_gone(model, &r) => {}
            Ok(r) => out.left.push(format!("user {user}: HTTP {}", r.status)),
            Err(e) => out.left.push(format!("user {user}: {e}")),
        }
    }
    out
}

/// Whether a failed delete says the thing is already gone (404, or NoSuchEntity under any
/// status: an endpoint that gets error statuses wrong must still be cleanable).
fn is_gone(model: &Model, r: &crate::client::RawResponse) -> bool {
    r.status == 404
        || decode_response(model, "DeleteUser", &r.body)
            .error()
            .and_then(|e| e.code.as_deref())
            == Some("NoSuchEntity")
}

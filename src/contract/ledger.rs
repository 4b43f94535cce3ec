//! The ledger: everything a run creates on a target is written down before it is created, so
//! that it can be deleted afterwards, also after a failure, a Ctrl-C or a crash
//! (`iam-contract cleanup --ledger PATH`).
//!
//! The ledger is a JSON-lines file. It holds user names, inline policy names and key IDs, never
//! a secret. Cleanup deletes a user's recorded policies first, then its keys, then the user.

use crate::client::{Client, RawRequest, Signing};
use crate::model::Model;
use crate::wire::{Outcome, decode_response};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
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
    /// A key was created for the account root (a CreateAccessKey without UserName signed by
    /// the root): deleted without UserName, signed by the root again.
    RootKey { id: String },
    /// About to put this inline policy on this user (written before the request is sent).
    Policy { user: String, name: String },
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

    /// Opens the ledger at `path` for a run against `endpoint` and records the run's name
    /// prefix first (`prefix`, or a fresh random one), so cleanup can tell this run's things
    /// apart; returns the ledger and the prefix. `check` and `profile` start their runs so.
    pub fn start_run(
        path: &Path,
        endpoint: &str,
        prefix: Option<String>,
    ) -> std::io::Result<(Ledger, String)> {
        let ledger = Ledger::create(path)?;
        let prefix = prefix.unwrap_or_else(|| format!("icx{:08x}", rand::random::<u32>()));
        let _ = ledger.record(&LedgerEntry::Run {
            endpoint: endpoint.to_owned(),
            prefix: prefix.clone(),
        });
        Ok((ledger, prefix))
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

/// How many users (or foreign keys) cleanup works on at once. Each user's own deletions stay in
/// order (keys first, then the user).
const CLEANUP_IN_FLIGHT: usize = 8;

/// Deletes everything the ledger entries name: each user's keys (as listed now, plus the ones
/// recorded), then the user. Missing things are fine (they were never created, or are gone).
/// Throttled requests are retried with back-off; what a delete did not remove is looked up
/// again before it is reported as left.
pub async fn cleanup_ledger(
    client: &Client,
    model: &Model,
    entries: &[LedgerEntry],
) -> CleanupOutcome {
    // Users are deleted only when the run created them (a `User` entry); keys the run created
    // for any other user (an endpoint that answers an empty UserName with a key for some
    // default user, say) are deleted one by one, and their user is left alone.
    let mut users: Vec<&str> = Vec::new();
    let mut seen_users: HashSet<&str> = HashSet::new();
    let mut keys_of: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut policies_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in entries {
        match e {
            LedgerEntry::User { name } if seen_users.insert(name) => users.push(name),
            LedgerEntry::Key { user, id } => keys_of.entry(user).or_default().push(id),
            LedgerEntry::Policy { user, name } => {
                let names = policies_of.entry(user).or_default();
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    // The key the run signs with is never deleted, whatever the ledger says: without it
    // nothing else could be cleaned up, and it is not the run's to delete.
    let own_key = client.credentials().map(|c| c.access_key_id.as_str());
    let mut foreign_keys: Vec<(&str, &str)> = Vec::new();
    let mut seen_foreign: HashSet<&str> = HashSet::new();
    for e in entries {
        let (user, id) = match e {
            LedgerEntry::Key { user, id } if !seen_users.contains(user.as_str()) => {
                (user.as_str(), id.as_str())
            }
            // A root key is deleted without UserName, which names the signer's own keys.
            LedgerEntry::RootKey { id } => ("", id.as_str()),
            _ => continue,
        };
        if Some(id) != own_key && seen_foreign.insert(id) {
            foreign_keys.push((user, id));
        }
    }
    let version = model.metadata().api_version.as_str();
    let call = |params: Vec<(&str, &str)>| call(client, model, params);
    let delete_key = |user: &str, id: &str| {
        let mut params = vec![
            ("Action", "DeleteAccessKey"),
            ("Version", version),
            ("AccessKeyId", id),
        ];
        if !user.is_empty() {
            params.push(("UserName", user));
        }
        let (user, id) = (user.to_owned(), id.to_owned());
        let sent = call(params);
        async move {
            let mut out = Swept::default();
            match sent.await {
                Ok(r) if r.status < 300 => out.keys_deleted += 1,
                Ok(r) if is_gone(model, &r) => {}
                Ok(r) => out.left.push(Leftover::Key {
                    user,
                    id,
                    why: format!("HTTP {}", r.status),
                }),
                Err(e) => out.left.push(Leftover::Key {
                    user,
                    id,
                    why: e.to_string(),
                }),
            }
            out
        }
    };
    let delete_user = |user: String| {
        let recorded: Vec<&str> = keys_of.get(user.as_str()).cloned().unwrap_or_default();
        let policies: Vec<&str> = policies_of.get(user.as_str()).cloned().unwrap_or_default();
        async move {
            let user = user.as_str();
            let mut out = Swept::default();
            // Inline policies first: a user with one cannot be deleted (409 DeleteConflict).
            // Only the policies the run put are deleted, and a policy already gone is fine.
            for name in policies {
                match call(vec![
                    ("Action", "DeleteUserPolicy"),
                    ("Version", version),
                    ("UserName", user),
                    ("PolicyName", name),
                ])
                .await
                {
                    // A target that does not know the action holds no policy to delete.
                    Ok(r) if r.status < 300 || is_gone(model, &r) || unsupported(model, &r) => {}
                    Ok(r) => out.left.push(Leftover::Policy {
                        user: user.to_owned(),
                        name: name.to_owned(),
                        why: format!("HTTP {}", r.status),
                    }),
                    Err(e) => out.left.push(Leftover::Policy {
                        user: user.to_owned(),
                        name: name.to_owned(),
                        why: e.to_string(),
                    }),
                }
            }
            let mut ids: Vec<String> = recorded.iter().map(|s| (*s).to_owned()).collect();
            if let Ok(resp) = call(vec![
                ("Action", "ListAccessKeys"),
                ("Version", version),
                ("UserName", user),
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
            let mut seen = HashSet::new();
            for id in ids.iter().filter(|i| seen.insert(i.as_str())) {
                out.merge(delete_key(user, id).await);
            }
            match call(vec![
                ("Action", "DeleteUser"),
                ("Version", version),
                ("UserName", user),
            ])
            .await
            {
                Ok(r) if r.status < 300 => out.users_deleted += 1,
                Ok(r) if is_gone(model, &r) => {}
                Ok(r) => out.left.push(Leftover::User {
                    name: user.to_owned(),
                    why: format!("HTTP {}", r.status),
                }),
                Err(e) => out.left.push(Leftover::User {
                    name: user.to_owned(),
                    why: e.to_string(),
                }),
            }
            out
        }
    };
    let mut out = Swept::default();
    // Results are merged in ledger order, so what is left is listed deterministically.
    let foreign = super::all_in_order(
        foreign_keys
            .into_iter()
            .map(|(user, id)| delete_key(user, id)),
        CLEANUP_IN_FLIGHT,
    )
    .await;
    let owned = super::all_in_order(
        users.into_iter().map(|u| delete_user(u.to_owned())),
        CLEANUP_IN_FLIGHT,
    )
    .await;
    for o in foreign.into_iter().chain(owned) {
        out.merge(o);
    }
    // A delete that failed may still have taken effect (a key goes with its user where
    // DeleteUser removes keys; a throttled or timed-out request may have been applied): look
    // before warning, and name only what is still there.
    let checked = super::all_in_order(
        out.left
            .into_iter()
            .map(|item| async move { still_there(client, model, item).await }),
        CLEANUP_IN_FLIGHT,
    )
    .await;
    CleanupOutcome {
        users_deleted: out.users_deleted,
        keys_deleted: out.keys_deleted,
        left: checked.into_iter().flatten().collect(),
    }
}

/// What one part of cleanup did, before the leftovers are checked.
#[derive(Debug, Default)]
struct Swept {
    users_deleted: usize,
    keys_deleted: usize,
    left: Vec<Leftover>,
}

impl Swept {
    fn merge(&mut self, other: Swept) {
        self.users_deleted += other.users_deleted;
        self.keys_deleted += other.keys_deleted;
        self.left.extend(other.left);
    }
}

/// Something a delete did not remove, as far as its answer said.
#[derive(Debug)]
enum Leftover {
    Key {
        user: String,
        id: String,
        why: String,
    },
    User {
        name: String,
        why: String,
    },
    Policy {
        user: String,
        name: String,
        why: String,
    },
}

/// Sends one cleanup request. Server errors, throttling (every code services use for it, 429
/// and 503: [`super::retry::throttled`]) and transport failures are retried with back-off:
/// cleanup must not give up on a transient failure (ServiceFailure is transient by definition).
fn call<'a>(
    client: &'a Client,
    model: &'a Model,
    params: Vec<(&str, &str)>,
) -> impl std::future::Future<Output = Result<crate::client::RawResponse, crate::client::TransportError>>
+ use<'a> {
    // Owned before the future starts, so that it borrows only the client and the model.
    let owned: Vec<(String, String)> = params
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    async move {
        let mut attempt = 0u32;
        loop {
            let r = client
                .send(&RawRequest::form(&owned), &Signing::Normal)
                .await;
            let transient = match &r {
                Ok(resp) => {
                    resp.status >= 500 || super::retry::throttled(model, resp.status, &resp.body)
                }
                Err(_) => true,
            };
            if !transient || attempt >= 6 {
                break r;
            }
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
        }
    }
}

/// The warning for a leftover that is still on the target (ListAccessKeys still lists the key,
/// GetUser still finds the user), or that cannot be shown gone; `None` when it is gone.
async fn still_there(client: &Client, model: &Model, item: Leftover) -> Option<String> {
    let version = model.metadata().api_version.as_str();
    let (looked, label) = match &item {
        Leftover::Key { user, id, why } => {
            let mut params = vec![("Action", "ListAccessKeys"), ("Version", version)];
            if !user.is_empty() {
                params.push(("UserName", user.as_str()));
            }
            let r = call(client, model, params).await;
            let seen = match &r {
                Ok(resp) if is_gone(model, resp) => Ok(false),
                Ok(resp) => match decode_response(model, "ListAccessKeys", &resp.body).outcome {
                    Outcome::Success { value, .. } => Ok(value
                        .get("AccessKeyMetadata")
                        .and_then(|v| v.as_array())
                        .is_some_and(|keys| {
                            keys.iter().any(|k| {
                                k.get("AccessKeyId").and_then(|v| v.as_str()) == Some(id.as_str())
                            })
                        })),
                    _ => Err(format!("ListAccessKeys answered HTTP {}", resp.status)),
                },
                Err(e) => Err(format!("ListAccessKeys failed: {e}")),
            };
            let owner = if user.is_empty() {
                // Deleted without UserName: a root key, or a key of the signer's own.
                "the signer".to_owned()
            } else {
                user.clone()
            };
            (seen, format!("key {id} of {owner}: {why}"))
        }
        Leftover::Policy { user, name, why } => {
            let r = call(
                client,
                model,
                vec![
                    ("Action", "GetUserPolicy"),
                    ("Version", version),
                    ("UserName", user),
                    ("PolicyName", name),
                ],
            )
            .await;
            let seen = match &r {
                Ok(resp) if is_gone(model, resp) => Ok(false),
                Ok(resp) => match decode_response(model, "GetUserPolicy", &resp.body).outcome {
                    Outcome::Success { .. } => Ok(true),
                    _ => Err(format!("GetUserPolicy answered HTTP {}", resp.status)),
                },
                Err(e) => Err(format!("GetUserPolicy failed: {e}")),
            };
            (seen, format!("policy {name} of {user}: {why}"))
        }
        Leftover::User { name, why } => {
            let r = call(
                client,
                model,
                vec![
                    ("Action", "GetUser"),
                    ("Version", version),
                    ("UserName", name),
                ],
            )
            .await;
            let seen = match &r {
                Ok(resp) if is_gone(model, resp) => Ok(false),
                Ok(resp) => match decode_response(model, "GetUser", &resp.body).outcome {
                    Outcome::Success { .. } => Ok(true),
                    _ => Err(format!("GetUser answered HTTP {}", resp.status)),
                },
                Err(e) => Err(format!("GetUser failed: {e}")),
            };
            (seen, format!("user {name}: {why}"))
        }
    };
    match looked {
        Ok(false) => None,
        Ok(true) => Some(format!("{label}, and it is still there")),
        Err(e) => Some(format!(
            "{label}; whether it is gone could not be checked ({e})"
        )),
    }
}

/// Whether an answer says the target does not support the action at all (the codes the
/// capability probe reads so), so there is nothing of that kind on it to delete.
fn unsupported(model: &Model, r: &crate::client::RawResponse) -> bool {
    let code = decode_response(model, "DeleteUserPolicy", &r.body)
        .error()
        .and_then(|e| e.code.clone());
    super::probe::not_supported(code.as_deref()) || r.status == 501
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

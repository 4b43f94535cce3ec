//! Recording the fixed case set against a live endpoint (feature `net`): sends each case,
//! normalises each response, and deletes everything it created, also when a case fails.
//!
//! Like `check`, a run writes a ledger ([`crate::contract::Ledger`]): each user is written down
//! before its CreateUser is sent and each key as soon as a response carries one (also where the
//! case expected a refusal), so that `iam-contract cleanup --ledger PATH` can finish the job
//! after a crash. Cleanup at the end of a run is [`cleanup_ledger`] over the same entries; the
//! ledger file is removed when it deleted everything and kept otherwise.
//!
//! Names are run-unique (`snap` + 8 hex digits + a suffix) so that runs never collide, and
//! are replaced by placeholders in every snapshot. The secrets of keys created here are held
//! as [`Secret`]s, used only to sign as their owners, and checked by the secret tripwire against
//! every snapshot before it is returned. Never prints anything itself.

use super::normalize::{Normalized, Normalizer};
use super::{CASES, SnapshotError};
use crate::client::{Client, Credentials, RawRequest, RawResponse, Scope, Signing, TransportError};
use crate::contract::{Ledger, LedgerEntry, cleanup_ledger};
use crate::model::Model;
use crate::report::Tripwire;
use crate::secret::Secret;
use crate::wire::{Outcome, decode_response};
use std::path::PathBuf;

/// A key ID of AWS's shape that no endpoint issues (the digit 2 sixteen times).
pub const UNKNOWN_KEY_ID: &str = "AKIA2222222222222222";
/// Bodies of the `protocol.body-too-large` case are this long (over the emulator's 64 KiB).
pub const LARGE_BODY_BYTES: usize = 70 * 1024;
const IAM_VERSION: &str = "2010-05-08";
const STS_VERSION: &str = "2011-06-15";

/// One recorded case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The stable case name (the file is `NAME.txt`).
    pub name: String,
    /// The request, with placeholders for run-unique values.
    pub request: String,
    pub normalized: Normalized,
}

impl Recorded {
    /// The snapshot file: `#` header lines (case, request, source), then the normalised text.
    pub fn file_text(&self, source: &str) -> String {
        format!(
            "# case: {}\n# request: {}\n# source: {source}\n{}",
            self.name, self.request, self.normalized.text
        )
    }
}

/// The result of a recording run.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// The cases in [`CASES`] order.
    pub cases: Vec<Recorded>,
    /// What cleanup could not delete (`user NAME: reason` or `key ID of NAME: reason`), empty
    /// when all is gone. When not empty, the ledger (if one was written) is kept.
    pub cleanup_left: Vec<String>,
}

impl Recording {
    pub fn get(&self, name: &str) -> Option<&Recorded> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// (name, file text) pairs, for [`super::compare`].
    pub fn files(&self, source: &str) -> Vec<(String, String)> {
        self.cases
            .iter()
            .map(|c| (c.name.clone(), c.file_text(source)))
            .collect()
    }
}

/// Options of a recording run.
#[derive(Debug, Clone, Default)]
pub struct RecordConfig {
    /// The run-unique token in names (8 lowercase hex digits); random when `None`.
    pub run_id: Option<String>,
    /// Where to write the ledger (created, or appended to). `None` keeps it in memory only:
    /// cleanup at the end still works, but nothing survives a crash. The file is removed when
    /// cleanup deleted everything, unless it held another run's entries before this one.
    pub ledger: Option<PathBuf>,
}

struct Key {
    user: String,
    id: String,
    secret: Secret,
}

struct Session<'a> {
    client: &'a Client,
    model: &'static Model,
    norm: Normalizer,
    out: Vec<Recorded>,
    keys: Vec<Key>,
    secrets: Vec<Secret>,
    /// The ledger file, when the run writes one.
    ledger: Option<Ledger>,
    /// Everything the ledger names (the file's lines, less users whose CreateUser provably
    /// never reached the endpoint); cleanup works from this.
    entries: Vec<LedgerEntry>,
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Session<'_> {
    async fn raw(
        &mut self,
        req: &RawRequest,
        signing: &Signing,
        client: Option<&Client>,
    ) -> Result<RawResponse, SnapshotError> {
        let client = client.unwrap_or(self.client);
        let params = crate::wire::decode_form(&req.body).unwrap_or_default();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let action = get("Action").unwrap_or_default();
        let user = get("UserName").unwrap_or_default();
        // Written down before the request leaves: a crash right after must not hide the user.
        let creates_user = action == "CreateUser" && !user.is_empty();
        if creates_user {
            self.note(LedgerEntry::User { name: user.into() })?;
        }
        let resp = match client.send(req, signing).await {
            Ok(r) => r,
            Err(e) => {
                // A connection that never opened carried no request, so nothing was created:
                // cleanup need not try (and wait out its retries on a dead endpoint).
                if creates_user && matches!(e, TransportError::Connect { .. }) {
                    self.entries.pop();
                }
                return Err(SnapshotError::Unreachable(e.to_string()));
            }
        };
        // Whatever the case expected, a key that came back is a key on the target.
        if action == "CreateAccessKey" {
            let d = decode_response(self.model, "CreateAccessKey", &resp.body);
            if let Outcome::Success { value, .. } = &d.outcome
                && let Some(id) = value
                    .pointer("/AccessKey/AccessKeyId")
                    .and_then(|v| v.as_str())
                && !id.is_empty()
            {
                let owner = value
                    .pointer("/AccessKey/UserName")
                    .and_then(|v| v.as_str())
                    .filter(|u| !u.is_empty())
                    .unwrap_or(user);
                self.note(LedgerEntry::Key {
                    user: owner.to_owned(),
                    id: id.to_owned(),
                })?;
            }
        }
        Ok(resp)
    }

    /// Adds an entry to the ledger, in memory and (flushed) in the file.
    fn note(&mut self, entry: LedgerEntry) -> Result<(), SnapshotError> {
        if let Some(l) = &self.ledger {
            l.record(&entry).map_err(|e| SnapshotError::Ledger {
                path: l.path().display().to_string(),
                reason: e.to_string(),
            })?;
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Sends a request and records its normalised response as case `name`.
    async fn case(
        &mut self,
        name: &str,
        req: RawRequest,
        signing: Signing,
        client: Option<&Client>,
    ) -> Result<RawResponse, SnapshotError> {
        let resp = self.raw(&req, &signing, client).await?;
        self.track(&req, &resp);
        let request = describe_request(&self.norm, &req, &signing);
        let normalized = self.norm.normalize(resp.status, &resp.headers, &resp.body);
        self.out.push(Recorded {
            name: name.to_owned(),
            request,
            normalized,
        });
        Ok(resp)
    }

    /// A signed awsQuery call as the client's identity, not recorded.
    async fn call(&mut self, params: &[(&str, &str)]) -> Result<RawResponse, SnapshotError> {
        let req = RawRequest::form(&p(params));
        let resp = self.raw(&req, &Signing::Normal, None).await?;
        self.track(&req, &resp);
        Ok(resp)
    }

    /// Remembers the keys a successful request created or deleted (the cases sign with them)
    /// and their IDs for the normaliser, whichever case (recorded or not) made the change.
    /// Cleanup does not use this: it works from the ledger, which [`Self::raw`] keeps.
    fn track(&mut self, req: &RawRequest, resp: &RawResponse) {
        if !(200..300).contains(&resp.status) {
            return;
        }
        let params = crate::wire::decode_form(&req.body).unwrap_or_default();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let user = get("UserName").unwrap_or_default();
        match get("Action").as_deref() {
            Some("CreateAccessKey") => {
                let d = decode_response(self.model, "CreateAccessKey", &resp.body);
                let id = match &d.outcome {
                    Outcome::Success { value, .. } => value
                        .pointer("/AccessKey/AccessKeyId")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    _ => None,
                };
                let secret = d
                    .secrets
                    .iter()
                    .find(|(ptr, _)| ptr.ends_with("SecretAccessKey"))
                    .map(|(_, s)| s.clone());
                if let Some(id) = id {
                    self.norm.replace(id.clone(), "[AccessKeyId]");
                    let secret = secret.unwrap_or_else(|| Secret::new(""));
                    self.secrets.push(secret.clone());
                    self.keys.push(Key { user, id, secret });
                }
            }
            Some("DeleteAccessKey") => {
                let id = get("AccessKeyId").unwrap_or_default();
                self.keys.retain(|k| k.id != id);
            }
            _ => {}
        }
    }

    fn key_of(&self, user: &str, nth: usize) -> Option<(String, Credentials)> {
        self.keys
            .iter()
            .filter(|k| k.user == user)
            .nth(nth)
            .map(|k| {
                (
                    k.id.clone(),
                    Credentials::new(k.id.clone(), k.secret.expose()),
                )
            })
    }
}

/// The request line of a snapshot: method, action and parameters (long values shortened),
/// run-unique values replaced, and how it was signed.
fn describe_request(norm: &Normalizer, req: &RawRequest, signing: &Signing) -> String {
    let params = crate::wire::decode_form(&req.body).unwrap_or_default();
    let shown: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            // Long values are our own padding; run-unique ones have placeholders.
            let v = norm.replace_names(v);
            if v.chars().count() > 40 {
                format!("{k}=({} characters)", v.chars().count())
            } else {
                format!("{k}={}", norm.scrub(&v))
            }
        })
        .collect();
    let how = match signing {
        Signing::Normal => "signed".to_owned(),
        Signing::Unsigned => "unsigned".to_owned(),
        Signing::As(c) if c.access_key_id == UNKNOWN_KEY_ID => {
            format!("signed with unknown key {UNKNOWN_KEY_ID}")
        }
        Signing::As(c) => format!("signed as the owner of {}", norm.scrub(&c.access_key_id)),
        Signing::Scope(s) => format!("signed for {}/{}", s.service, s.region),
        Signing::Skewed(s) => format!("signed with the clock {s} s off"),
        Signing::Corrupted => "signed, signature replaced by zeros".to_owned(),
    };
    let extra: Vec<&str> = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|_| "with a hand-written Authorization header")
        .collect();
    let mut s = format!(
        "{} {} {} ({how}",
        req.method,
        req.path_and_query,
        shown.join(" ")
    );
    for e in extra {
        s.push_str(", ");
        s.push_str(e);
    }
    s.push(')');
    s
}

/// Sends the case set to the client's endpoint and records the normalised responses. The
/// client's credentials act as the administrator. Everything created is deleted before this
/// returns, on success and on failure (an unreachable endpoint included), from the ledger; the
/// ledger file (`config.ledger`) is removed when that deleted everything and kept otherwise. The
/// run fails with [`SnapshotError::Unreachable`] when a request gets no answer, and with
/// [`SnapshotError::Ledger`] when the ledger cannot be written (before anything is created).
pub async fn record(client: &Client, config: &RecordConfig) -> Result<Recording, SnapshotError> {
    record_until(client, config, std::future::pending()).await
}

/// [`record`], stopped early when `stop` completes (Ctrl-C): the cases stop between two
/// requests, cleanup still runs, and the result is [`SnapshotError::Interrupted`].
pub async fn record_until(
    client: &Client,
    config: &RecordConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Recording, SnapshotError> {
    let run = config
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{:08x}", rand::random::<u32>()));
    let token = format!("snap{run}");
    // A ledger that already names another run's things is appended to and never removed here:
    // this run's cleanup does not cover them.
    let fresh = config
        .ledger
        .as_ref()
        .is_none_or(|p| std::fs::metadata(p).map_or(true, |m| m.len() == 0));
    let ledger = match &config.ledger {
        Some(path) => Some(Ledger::create(path).map_err(|e| SnapshotError::Ledger {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    let mut s = Session {
        client,
        model: Model::embedded(),
        norm: Normalizer::new(),
        out: Vec::new(),
        keys: Vec::new(),
        secrets: client
            .credentials()
            .map(|c| c.secrets())
            .unwrap_or_default(),
        ledger,
        entries: Vec::new(),
    };
    let result = match s.note(LedgerEntry::Run {
        endpoint: client.endpoint().to_owned(),
        prefix: token,
    }) {
        Err(e) => Err(e),
        Ok(()) => {
            let cases = run_cases(&mut s, &run);
            tokio::pin!(cases);
            tokio::pin!(stop);
            tokio::select! {
                r = &mut cases => r,
                _ = &mut stop => Err(SnapshotError::Interrupted),
            }
        }
    };
    let cleanup_left = cleanup_ledger(client, s.model, &s.entries).await.left;
    if cleanup_left.is_empty()
        && fresh
        && let Some(l) = &s.ledger
    {
        let _ = std::fs::remove_file(l.path());
    }
    if !cleanup_left.is_empty() && matches!(result, Err(SnapshotError::Interrupted)) {
        return Err(SnapshotError::CleanupIncomplete(cleanup_left.join("; ")));
    }
    result?;
    let tripwire = Tripwire::new(s.secrets.clone());
    for c in &s.out {
        tripwire
            .check(&c.name, &c.file_text(""))
            .map_err(|e| SnapshotError::Leak(e.to_string()))?;
    }
    Ok(Recording {
        cases: s.out,
        cleanup_left,
    })
}

async fn run_cases(s: &mut Session<'_>, run: &str) -> Result<(), SnapshotError> {
    let token = format!("snap{run}");
    let a = format!("{token}a");
    let b = format!("{token}b");
    let missing = format!("{token}z");
    let pad = |n: usize| format!("{token}{}", "x".repeat(n.saturating_sub(token.len())));
    let n64 = pad(64);
    let n65 = pad(65);
    let n128 = pad(128);
    let n129 = pad(129);
    let n129_bad = format!("{}!", pad(128));
    let punct = format!("{token}+=,.@_-");
    let path = format!("/{token}/");
    for (actual, placeholder) in [
        (&token, "[run]"),
        (&a, "[user]"),
        (&b, "[user-b]"),
        (&missing, "[user-missing]"),
        (&n64, "[user-64]"),
        (&n65, "[user-65]"),
        (&n128, "[name-128]"),
        (&n129, "[name-129]"),
        (&n129_bad, "[name-129-bad]"),
        (&punct, "[user-punct]"),
    ] {
        s.norm.replace(actual.clone(), placeholder);
    }
    // Action first, then Version, then the rest, as the AWS CLI orders them.
    let iam = |pairs: &[(&str, &str)]| {
        let mut out = vec![
            ("Action".to_owned(), pairs[0].1.to_owned()),
            ("Version".to_owned(), IAM_VERSION.to_owned()),
        ];
        out.extend(
            pairs[1..]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        RawRequest::form(&out)
    };
    let n = Signing::Normal;

    // The lifecycle, part one.
    s.case(
        "create-user.ok",
        iam(&[("Action", "CreateUser"), ("UserName", &a), ("Path", &path)]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "create-user.entity-already-exists",
        iam(&[("Action", "CreateUser"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "get-user.ok",
        iam(&[("Action", "GetUser"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "list-users.ok",
        iam(&[("Action", "ListUsers"), ("PathPrefix", &path)]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "create-access-key.ok",
        iam(&[("Action", "CreateAccessKey"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    let key1 = s.key_of(&a, 0).map(|k| k.0).unwrap_or_default();
    s.case(
        "list-access-keys.ok",
        iam(&[("Action", "ListAccessKeys"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "update-access-key.ok",
        iam(&[
            ("Action", "UpdateAccessKey"),
            ("UserName", &a),
            ("AccessKeyId", &key1),
            ("Status", "Inactive"),
        ]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "get-access-key-last-used.ok",
        iam(&[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &key1)]),
        n.clone(),
        None,
    )
    .await?;
    s.call(&[
        ("Action", "CreateAccessKey"),
        ("Version", IAM_VERSION),
        ("UserName", &a),
    ])
    .await?;
    s.case(
        "create-access-key.limit-exceeded",
        iam(&[("Action", "CreateAccessKey"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    if let Some((_, creds)) = s.key_of(&a, 1) {
        let sts = s.client.clone().with_scope(Scope {
            service: "sts".into(),
            region: "us-east-1".into(),
        });
        s.case(
            "get-caller-identity.ok",
            RawRequest::form(&p(&[
                ("Action", "GetCallerIdentity"),
                ("Version", STS_VERSION),
            ])),
            Signing::As(creds),
            Some(&sts),
        )
        .await?;
    }

    // Another user's key may not manage this user's keys.
    s.call(&[
        ("Action", "CreateUser"),
        ("Version", IAM_VERSION),
        ("UserName", &b),
    ])
    .await?;
    s.call(&[
        ("Action", "CreateAccessKey"),
        ("Version", IAM_VERSION),
        ("UserName", &b),
    ])
    .await?;
    if let Some((_, creds)) = s.key_of(&b, 0) {
        s.case(
            "list-access-keys.access-denied",
            iam(&[("Action", "ListAccessKeys"), ("UserName", &a)]),
            Signing::As(creds),
            None,
        )
        .await?;
    }

    // Authentication errors, all on a read-only call so that an endpoint that checks nothing
    // changes nothing.
    let list_a = || iam(&[("Action", "ListAccessKeys"), ("UserName", &a)]);
    s.case(
        "auth.missing-authentication-token",
        list_a(),
        Signing::Unsigned,
        None,
    )
    .await?;
    s.case(
        "auth.invalid-client-token-id",
        list_a(),
        Signing::As(Credentials::new(
            UNKNOWN_KEY_ID,
            crate::client::EXAMPLE_SECRET_ACCESS_KEY,
        )),
        None,
    )
    .await?;
    s.case(
        "auth.signature-does-not-match",
        list_a(),
        Signing::Corrupted,
        None,
    )
    .await?;
    let mut incomplete = list_a();
    incomplete.headers.push((
        "authorization".into(),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20250101/us-east-1/iam/aws4_request"
            .into(),
    ));
    s.case(
        "auth.incomplete-signature",
        incomplete,
        Signing::Unsigned,
        None,
    )
    .await?;
    s.case(
        "auth.signature-expired",
        list_a(),
        Signing::Skewed(-3600),
        None,
    )
    .await?;
    s.case(
        "auth.signature-not-yet-current",
        list_a(),
        Signing::Skewed(3600),
        None,
    )
    .await?;

    // Protocol errors.
    s.case(
        "protocol.invalid-action",
        iam(&[("Action", "DescribeNothing")]),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "protocol.missing-action",
        RawRequest::form(&p(&[("Version", IAM_VERSION), ("UserName", &a)])),
        n.clone(),
        None,
    )
    .await?;
    s.case(
        "protocol.bad-version",
        RawRequest::form(&p(&[
            ("Action", "ListAccessKeys"),
            ("Version", "2099-01-01"),
            ("UserName", &a),
        ])),
        n.clone(),
        None,
    )
    .await?;
    let padding = "x".repeat(LARGE_BODY_BYTES);
    s.case(
        "protocol.body-too-large",
        iam(&[
            ("Action", "ListAccessKeys"),
            ("UserName", &a),
            ("Padding", &padding),
        ]),
        n.clone(),
        None,
    )
    .await?;

    // Boundary names and validation.
    for (case, name) in [
        ("create-user.name-64.ok", &n64),
        ("create-user.name-punctuation.ok", &punct),
    ] {
        s.case(
            case,
            iam(&[("Action", "CreateUser"), ("UserName", name)]),
            n.clone(),
            None,
        )
        .await?;
        s.call(&[
            ("Action", "DeleteUser"),
            ("Version", IAM_VERSION),
            ("UserName", name),
        ])
        .await?;
    }
    s.case(
        "create-user.name-65.validation-error",
        iam(&[("Action", "CreateUser"), ("UserName", &n65)]),
        n.clone(),
        None,
    )
    .await?;
    for (case, name) in [
        ("create-access-key.name-128.no-such-entity", n128.as_str()),
        ("create-access-key.name-129.validation-error", n129.as_str()),
        (
            "create-access-key.name-pattern.validation-error",
            "bad name",
        ),
        (
            "create-access-key.name-non-ascii.validation-error",
            "snap\u{e9}",
        ),
        (
            "create-access-key.name-multiple.validation-error",
            n129_bad.as_str(),
        ),
        ("create-access-key.no-such-entity", missing.as_str()),
    ] {
        s.case(
            case,
            iam(&[("Action", "CreateAccessKey"), ("UserName", name)]),
            n.clone(),
            None,
        )
        .await?;
    }
    // Late in the run: an endpoint that deletes a user with keys would otherwise turn every
    // later case into NoSuchEntity. If it does, the user is created again for the cases left.
    let r = s
        .case(
            "delete-user.delete-conflict",
            iam(&[("Action", "DeleteUser"), ("UserName", &a)]),
            n.clone(),
            None,
        )
        .await?;
    if r.status < 300 {
        s.keys.retain(|k| k.user != a);
        s.call(&[
            ("Action", "CreateUser"),
            ("Version", IAM_VERSION),
            ("UserName", &a),
            ("Path", &path),
        ])
        .await?;
    }
    s.case(
        "delete-access-key.no-such-entity",
        iam(&[
            ("Action", "DeleteAccessKey"),
            ("UserName", &a),
            ("AccessKeyId", UNKNOWN_KEY_ID),
        ]),
        n.clone(),
        None,
    )
    .await?;

    // The lifecycle, part two.
    s.case(
        "delete-access-key.ok",
        iam(&[
            ("Action", "DeleteAccessKey"),
            ("UserName", &a),
            ("AccessKeyId", &key1),
        ]),
        n.clone(),
        None,
    )
    .await?;
    let rest: Vec<(String, String)> = s
        .keys
        .iter()
        .map(|k| (k.user.clone(), k.id.clone()))
        .collect();
    for (user, id) in rest {
        s.call(&[
            ("Action", "DeleteAccessKey"),
            ("Version", IAM_VERSION),
            ("UserName", &user),
            ("AccessKeyId", &id),
        ])
        .await?;
    }
    s.call(&[
        ("Action", "DeleteUser"),
        ("Version", IAM_VERSION),
        ("UserName", &b),
    ])
    .await?;
    s.case(
        "delete-user.ok",
        iam(&[("Action", "DeleteUser"), ("UserName", &a)]),
        n.clone(),
        None,
    )
    .await?;
    debug_assert!(s.out.iter().all(|r| CASES.iter().any(|c| c.name == r.name)));
    Ok(())
}

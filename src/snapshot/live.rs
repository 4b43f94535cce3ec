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
use crate::contract::exchange::decode_as;
use crate::contract::rules::signing_label;
use crate::contract::{CaseRecord, Exchange, Ledger, LedgerEntry, cleanup_ledger};
use crate::model::Model;
use crate::report::Tripwire;
use crate::secret::{Secret, SecretScanner};
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
    /// Every recorded case as an [`Exchange`] (request as sent, response with secrets redacted),
    /// in case order, for the judges.
    pub exchanges: Vec<Exchange>,
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
    exchanges: Vec<Exchange>,
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
        let started = std::time::Instant::now();
        let resp = self.raw(&req, &signing, client).await?;
        let elapsed = started.elapsed().as_millis() as u64;
        self.track(&req, &resp);
        self.exchanges
            .push(self.exchange(&req, &signing, &resp, elapsed));
        let request = describe_request(&self.norm, &req, &signing);
        let normalized = self.norm.normalize(resp.status, &resp.headers, &resp.body);
        self.out.push(Recorded {
            name: name.to_owned(),
            request,
            normalized,
        });
        Ok(resp)
    }

    /// The exchange record of a case: the request as sent (its form body or query string),
    /// how it was signed, and the response with every secret the run knows redacted.
    fn exchange(
        &self,
        req: &RawRequest,
        signing: &Signing,
        resp: &RawResponse,
        elapsed: u64,
    ) -> Exchange {
        let wire = if req.body.is_empty() {
            req.path_and_query
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default()
        } else {
            String::from_utf8_lossy(&req.body).into_owned()
        };
        let case = CaseRecord::from_wire(&req.method, &wire, signing_label(signing));
        let action = case.action.clone();
        let headers = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .cloned()
            .collect();
        Exchange::record(
            self.model,
            decode_as(self.model, &action),
            case,
            headers,
            Ok((resp.status, resp.headers.clone(), resp.body.clone())),
            elapsed,
            &SecretScanner::new(&self.secrets),
        )
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
        exchanges: Vec::new(),
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
    for ex in &s.exchanges {
        let json = serde_json::to_string(ex).unwrap_or_default();
        tripwire
            .check("exchange record", &json)
            .map_err(|e| SnapshotError::Leak(e.to_string()))?;
    }
    Ok(Recording {
        cases: s.out,
        cleanup_left,
        exchanges: s.exchanges,
    })
}

/// The run-unique names the cases use, each replaced by a placeholder in every snapshot.
struct Names {
    /// `snap` + the run id: the prefix of every name, and the ledger's run prefix.
    token: String,
    /// The user of the lifecycle and of most error cases.
    a: String,
    /// A second user, whose key must not manage `a`'s keys.
    b: String,
    /// A user that is never created.
    missing: String,
    n64: String,
    n65: String,
    n128: String,
    n129: String,
    /// 129 characters with one outside the pattern: too long and a bad character at once.
    n129_bad: String,
    /// Every punctuation character the user name pattern allows.
    punct: String,
    /// The path of `a`, so that ListUsers sees only this run's user.
    path: String,
}

impl Names {
    /// Derives every name from the run id, padded to the lengths the boundary cases need.
    fn new(run: &str) -> Names {
        let token = format!("snap{run}");
        let pad = |n: usize| format!("{token}{}", "x".repeat(n.saturating_sub(token.len())));
        Names {
            a: format!("{token}a"),
            b: format!("{token}b"),
            missing: format!("{token}z"),
            n64: pad(64),
            n65: pad(65),
            n128: pad(128),
            n129: pad(129),
            n129_bad: format!("{}!", pad(128)),
            punct: format!("{token}+=,.@_-"),
            path: format!("/{token}/"),
            token,
        }
    }

    /// Each name with its placeholder, for the normaliser (the path holds the token, so it
    /// needs none of its own).
    fn placeholders(&self) -> [(&String, &'static str); 10] {
        [
            (&self.token, "[run]"),
            (&self.a, "[user]"),
            (&self.b, "[user-b]"),
            (&self.missing, "[user-missing]"),
            (&self.n64, "[user-64]"),
            (&self.n65, "[user-65]"),
            (&self.n128, "[name-128]"),
            (&self.n129, "[name-129]"),
            (&self.n129_bad, "[name-129-bad]"),
            (&self.punct, "[user-punct]"),
        ]
    }
}

/// An IAM awsQuery request from `(name, value)` pairs whose first is the action: Action first,
/// then Version, then the rest, as the AWS CLI orders them.
fn iam(pairs: &[(&str, &str)]) -> RawRequest {
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
}

/// Sends the case set in [`CASES`] order, one group after another; each group leaves the
/// target as the next one expects it.
async fn run_cases(s: &mut Session<'_>, run: &str) -> Result<(), SnapshotError> {
    let names = Names::new(run);
    for (actual, placeholder) in names.placeholders() {
        s.norm.replace(actual.clone(), placeholder);
    }
    let key1 = s.lifecycle_start(&names).await?;
    s.other_users_key(&names).await?;
    s.auth_errors(&names).await?;
    s.protocol_errors(&names).await?;
    s.boundary_names(&names).await?;
    s.late_errors(&names).await?;
    s.lifecycle_end(&names, &key1).await?;
    debug_assert!(s.out.iter().all(|r| CASES.iter().any(|c| c.name == r.name)));
    Ok(())
}

/// The case groups, in the order [`run_cases`] sends them.
impl Session<'_> {
    /// Sends a request signed as the client's identity and records it as case `name`.
    async fn signed(&mut self, name: &str, req: RawRequest) -> Result<RawResponse, SnapshotError> {
        self.case(name, req, Signing::Normal, None).await
    }

    /// The lifecycle, part one: user `a` is created and read, gets a key (listed, made
    /// Inactive, its last use read) and a second one, is refused a third (the quota), and signs
    /// with the second; returns the ID of the first key.
    async fn lifecycle_start(&mut self, names: &Names) -> Result<String, SnapshotError> {
        let (a, path) = (&names.a, &names.path);
        self.signed(
            "create-user.ok",
            iam(&[("Action", "CreateUser"), ("UserName", a), ("Path", path)]),
        )
        .await?;
        self.signed(
            "create-user.entity-already-exists",
            iam(&[("Action", "CreateUser"), ("UserName", a)]),
        )
        .await?;
        self.signed(
            "get-user.ok",
            iam(&[("Action", "GetUser"), ("UserName", a)]),
        )
        .await?;
        self.signed(
            "list-users.ok",
            iam(&[("Action", "ListUsers"), ("PathPrefix", path)]),
        )
        .await?;
        self.signed(
            "create-access-key.ok",
            iam(&[("Action", "CreateAccessKey"), ("UserName", a)]),
        )
        .await?;
        let key1 = self.key_of(a, 0).map(|k| k.0).unwrap_or_default();
        self.signed(
            "list-access-keys.ok",
            iam(&[("Action", "ListAccessKeys"), ("UserName", a)]),
        )
        .await?;
        self.signed(
            "update-access-key.ok",
            iam(&[
                ("Action", "UpdateAccessKey"),
                ("UserName", a),
                ("AccessKeyId", &key1),
                ("Status", "Inactive"),
            ]),
        )
        .await?;
        self.signed(
            "get-access-key-last-used.ok",
            iam(&[("Action", "GetAccessKeyLastUsed"), ("AccessKeyId", &key1)]),
        )
        .await?;
        self.call(&[
            ("Action", "CreateAccessKey"),
            ("Version", IAM_VERSION),
            ("UserName", a),
        ])
        .await?;
        self.signed(
            "create-access-key.limit-exceeded",
            iam(&[("Action", "CreateAccessKey"), ("UserName", a)]),
        )
        .await?;
        if let Some((_, creds)) = self.key_of(a, 1) {
            let sts = self.client.clone().with_scope(Scope {
                service: "sts".into(),
                region: "us-east-1".into(),
            });
            self.case(
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
        Ok(key1)
    }

    /// Another user's key may not manage this user's keys: user `b` and its key are created
    /// (not recorded) and list `a`'s keys.
    async fn other_users_key(&mut self, names: &Names) -> Result<(), SnapshotError> {
        let (a, b) = (&names.a, &names.b);
        self.call(&[
            ("Action", "CreateUser"),
            ("Version", IAM_VERSION),
            ("UserName", b),
        ])
        .await?;
        self.call(&[
            ("Action", "CreateAccessKey"),
            ("Version", IAM_VERSION),
            ("UserName", b),
        ])
        .await?;
        if let Some((_, creds)) = self.key_of(b, 0) {
            self.case(
                "list-access-keys.access-denied",
                iam(&[("Action", "ListAccessKeys"), ("UserName", a)]),
                Signing::As(creds),
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// Authentication errors, all on a read-only call so that an endpoint that checks nothing
    /// changes nothing.
    async fn auth_errors(&mut self, names: &Names) -> Result<(), SnapshotError> {
        let list_a = || iam(&[("Action", "ListAccessKeys"), ("UserName", &names.a)]);
        self.case(
            "auth.missing-authentication-token",
            list_a(),
            Signing::Unsigned,
            None,
        )
        .await?;
        self.case(
            "auth.invalid-client-token-id",
            list_a(),
            Signing::As(Credentials::new(
                UNKNOWN_KEY_ID,
                crate::client::EXAMPLE_SECRET_ACCESS_KEY,
            )),
            None,
        )
        .await?;
        self.case(
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
        self.case(
            "auth.incomplete-signature",
            incomplete,
            Signing::Unsigned,
            None,
        )
        .await?;
        self.case(
            "auth.signature-expired",
            list_a(),
            Signing::Skewed(-3600),
            None,
        )
        .await?;
        self.case(
            "auth.signature-not-yet-current",
            list_a(),
            Signing::Skewed(3600),
            None,
        )
        .await?;
        Ok(())
    }

    /// Protocol errors: an unknown action, none, an unknown API version, an oversized body.
    async fn protocol_errors(&mut self, names: &Names) -> Result<(), SnapshotError> {
        let a = &names.a;
        self.signed(
            "protocol.invalid-action",
            iam(&[("Action", "DescribeNothing")]),
        )
        .await?;
        self.signed(
            "protocol.missing-action",
            RawRequest::form(&p(&[("Version", IAM_VERSION), ("UserName", a)])),
        )
        .await?;
        self.signed(
            "protocol.bad-version",
            RawRequest::form(&p(&[
                ("Action", "ListAccessKeys"),
                ("Version", "2099-01-01"),
                ("UserName", a),
            ])),
        )
        .await?;
        let padding = "x".repeat(LARGE_BODY_BYTES);
        self.signed(
            "protocol.body-too-large",
            iam(&[
                ("Action", "ListAccessKeys"),
                ("UserName", a),
                ("Padding", &padding),
            ]),
        )
        .await?;
        Ok(())
    }

    /// Boundary names and validation: user names at and over the length limits, with every
    /// allowed punctuation character and with characters outside the pattern (users created
    /// here are deleted at once).
    async fn boundary_names(&mut self, names: &Names) -> Result<(), SnapshotError> {
        for (case, name) in [
            ("create-user.name-64.ok", &names.n64),
            ("create-user.name-punctuation.ok", &names.punct),
        ] {
            self.signed(case, iam(&[("Action", "CreateUser"), ("UserName", name)]))
                .await?;
            self.call(&[
                ("Action", "DeleteUser"),
                ("Version", IAM_VERSION),
                ("UserName", name),
            ])
            .await?;
        }
        self.signed(
            "create-user.name-65.validation-error",
            iam(&[("Action", "CreateUser"), ("UserName", &names.n65)]),
        )
        .await?;
        for (case, name) in [
            (
                "create-access-key.name-128.no-such-entity",
                names.n128.as_str(),
            ),
            (
                "create-access-key.name-129.validation-error",
                names.n129.as_str(),
            ),
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
                names.n129_bad.as_str(),
            ),
            ("create-access-key.no-such-entity", names.missing.as_str()),
        ] {
            self.signed(
                case,
                iam(&[("Action", "CreateAccessKey"), ("UserName", name)]),
            )
            .await?;
        }
        Ok(())
    }

    /// Deleting a user that has keys, and a key that does not exist. Late in the run: an
    /// endpoint that deletes a user with keys would otherwise turn every later case into
    /// NoSuchEntity. If it does, the user is created again for the cases left.
    async fn late_errors(&mut self, names: &Names) -> Result<(), SnapshotError> {
        let a = &names.a;
        let r = self
            .signed(
                "delete-user.delete-conflict",
                iam(&[("Action", "DeleteUser"), ("UserName", a)]),
            )
            .await?;
        if r.status < 300 {
            self.keys.retain(|k| &k.user != a);
            self.call(&[
                ("Action", "CreateUser"),
                ("Version", IAM_VERSION),
                ("UserName", a),
                ("Path", &names.path),
            ])
            .await?;
        }
        self.signed(
            "delete-access-key.no-such-entity",
            iam(&[
                ("Action", "DeleteAccessKey"),
                ("UserName", a),
                ("AccessKeyId", UNKNOWN_KEY_ID),
            ]),
        )
        .await?;
        Ok(())
    }

    /// The lifecycle, part two: `a`'s first key is deleted (recorded), every other key and
    /// user `b` quietly, and then user `a` (recorded).
    async fn lifecycle_end(&mut self, names: &Names, key1: &str) -> Result<(), SnapshotError> {
        let a = &names.a;
        self.signed(
            "delete-access-key.ok",
            iam(&[
                ("Action", "DeleteAccessKey"),
                ("UserName", a),
                ("AccessKeyId", key1),
            ]),
        )
        .await?;
        let rest: Vec<(String, String)> = self
            .keys
            .iter()
            .map(|k| (k.user.clone(), k.id.clone()))
            .collect();
        for (user, id) in rest {
            self.call(&[
                ("Action", "DeleteAccessKey"),
                ("Version", IAM_VERSION),
                ("UserName", &user),
                ("AccessKeyId", &id),
            ])
            .await?;
        }
        self.call(&[
            ("Action", "DeleteUser"),
            ("Version", IAM_VERSION),
            ("UserName", &names.b),
        ])
        .await?;
        self.signed(
            "delete-user.ok",
            iam(&[("Action", "DeleteUser"), ("UserName", a)]),
        )
        .await?;
        Ok(())
    }
}

//! The runner: judges one endpoint against the whole catalogue.
//!
//! Order of a run: probe capabilities (can it create users? does it check signatures?), then the
//! rule classes, each sending its cases (concurrently where they are independent), then cleanup
//! of everything the ledger names. Failures are data: each becomes a [`Finding`] with the request
//! as sent, the response, what was expected and a replay command. Generated cases that fail are
//! shrunk with proptest's value trees before they are reported.

use super::catalogue::{OPERATION, PATTERN_ASCII_WORD, RuleId, catalogue, constraint_rule_id};
use super::judge::{Judged, judge_scanned, output_failures};
use super::ledger::{Ledger, LedgerEntry, cleanup_ledger};
use super::lifecycle;
use super::{
    CaseRecord, Finding, Observed, Profile, Report, Rule, RuleResult, Status, Summary, TargetInfo,
};
use crate::client::{Client, Credentials, RawRequest, Scope, Signing, TransportError};
use crate::generate;
use crate::model::{Model, StringShape, aws_validation_message, validate_input};
use crate::secret::Secret;
use crate::wire::{Outcome, encode_form};
use futures::StreamExt;
use proptest::strategy::{Strategy, ValueTree};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Findings kept per rule; the rest are counted in `cases` only.
const MAX_FINDINGS_PER_RULE: usize = 5;
/// Findings collected per rule before the report keeps the first few in a fixed order (cases
/// finish concurrently, so arrival order is not stable from run to run).
const FINDINGS_COLLECTED_PER_RULE: usize = 64;
/// Retries of a throttled or transiently failed request.
const MAX_RETRIES: u32 = 4;

/// How to run a check.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// `emulator`, a target profile name, or `endpoint`.
    pub target_name: String,
    pub profile: Profile,
    /// Property-generated cases per generated rule.
    pub cases: usize,
    /// Random lifecycle sequences.
    pub sequences: usize,
    /// Parallel CreateAccessKey calls in the concurrency rules.
    pub parallel_creates: usize,
    /// Requests in flight at once for independent cases.
    pub in_flight: usize,
    pub seed: u64,
    pub ledger: PathBuf,
    /// Only rules whose id starts with one of these (all when empty).
    pub only: Vec<String>,
    /// Stop sending after this many requests (cleanup excluded); `None` for no limit.
    pub request_budget: Option<usize>,
    /// How findings' replay commands start, naming the endpoint the way the run did
    /// (`iam-contract replay --target moto`); `None` for `--endpoint <the client's URL>`.
    pub replay_base: Option<String>,
    /// Incremented once per request sent, for a progress display.
    pub progress: Option<std::sync::Arc<AtomicUsize>>,
    /// The prefix of every name the run creates. `None` (the default) draws a fresh
    /// `icx` + 8 hex digits, so that runs never collide; tests that snapshot a report fix it.
    pub run_prefix: Option<String>,
    /// Replay one lifecycle sequence instead of running the catalogue: after the capability
    /// probe only this sequence runs, judged by this rule alone.
    pub replay_sequence: Option<SequenceReplay>,
}

/// A lifecycle sequence to replay, and the rule that judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceReplay {
    pub rule: String,
    pub steps: Vec<lifecycle::Step>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            target_name: "endpoint".into(),
            profile: Profile::Model,
            cases: 64,
            sequences: 24,
            parallel_creates: 100,
            in_flight: 16,
            seed: 0x1a3c_0de5,
            ledger: std::env::temp_dir().join("iam-contract-ledger.jsonl"),
            only: Vec::new(),
            request_budget: None,
            replay_base: None,
            progress: None,
            run_prefix: None,
            replay_sequence: None,
        }
    }
}

/// The harness cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("endpoint unreachable: {0}")]
    Unreachable(String),
    #[error("cannot write the ledger {path}: {reason}")]
    Ledger { path: String, reason: String },
}

/// What the target can do, as probed at the start of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capabilities {
    /// CreateUser works, so rules that need users of their own can run.
    pub can_create_users: bool,
    /// An unsigned request or one with a corrupted signature is refused with 401 or 403.
    pub verifies_signatures: bool,
    /// The signing identity is an IAM user (GetUser without UserName answers).
    pub signer_user: Option<String>,
}

/// Runs the catalogue against the client's endpoint. The caller owns the client (and, for the
/// embedded emulator, the server). Everything created is deleted before this returns, on
/// success and on failure; if the future is dropped midway, the ledger names what is left.
pub async fn run_check(
    client: &Client,
    model: &Model,
    config: &CheckConfig,
) -> Result<CheckOutcome, CheckError> {
    let started = Instant::now();
    let ledger = Ledger::create(&config.ledger).map_err(|e| CheckError::Ledger {
        path: config.ledger.display().to_string(),
        reason: e.to_string(),
    })?;
    let prefix = config
        .run_prefix
        .clone()
        .unwrap_or_else(|| format!("icx{:08x}", rand::random::<u32>()));
    let _ = ledger.record(&LedgerEntry::Run {
        endpoint: client.endpoint().to_owned(),
        prefix: prefix.clone(),
    });
    let rules: Vec<Rule> = catalogue(model)
        .into_iter()
        .filter(|r| r.profile <= config.profile)
        .filter(|r| {
            config.only.is_empty() || config.only.iter().any(|p| r.id.starts_with(p.as_str()))
        })
        .collect();
    let mut secrets = Vec::new();
    if let Some(c) = client.credentials() {
        secrets.extend(c.secrets());
    }
    let ctx = Ctx {
        client,
        model,
        config,
        prefix,
        ledger,
        rules: rules.iter().map(|r| r.id.clone()).collect(),
        acc: Mutex::new(BTreeMap::new()),
        scanner: std::sync::RwLock::new(crate::secret::SecretScanner::new(&secrets)),
        secrets: Mutex::new(secrets),
        key_ids: Mutex::new(HashSet::new()),
        sent: AtomicUsize::new(0),
        retries: AtomicUsize::new(0),
        counter: AtomicUsize::new(0),
        caps: Mutex::new(Capabilities::default()),
    };

    let outcome = ctx.run_all().await;
    let entries = Ledger::read(ctx.ledger.path()).unwrap_or_default();
    let cleanup = cleanup_ledger(client, model, &entries).await;
    if cleanup.left.is_empty() {
        let _ = std::fs::remove_file(ctx.ledger.path());
    }
    outcome?;

    let acc = ctx.acc.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut results = Vec::new();
    for rule in &rules {
        let mut a = acc.get(&rule.id).cloned().unwrap_or_default();
        a.findings.sort_by(|x, y| {
            (
                &x.case.action,
                &x.case.wire,
                &x.case.method,
                &x.case.signing,
                &x.case.steps,
            )
                .cmp(&(
                    &y.case.action,
                    &y.case.wire,
                    &y.case.method,
                    &y.case.signing,
                    &y.case.steps,
                ))
        });
        super::findings::keep_varied(&mut a.findings, MAX_FINDINGS_PER_RULE);
        let status = if !a.findings.is_empty() {
            Status::Fail
        } else if a.cases == 0 {
            Status::Skip
        } else {
            Status::Pass
        };
        results.push(RuleResult {
            id: rule.id.clone(),
            title: rule.title.clone(),
            class: rule.class,
            source: rule.source,
            profile: rule.profile,
            status,
            cases: a.cases,
            skip_reason: if status == Status::Skip {
                Some(
                    a.skip
                        .unwrap_or_else(|| "no case of this rule could be run".into()),
                )
            } else {
                None
            },
            baseline_reason: None,
            findings: a.findings,
        });
    }
    results.sort_by_key(|r| r.class);
    let mut report = Report {
        tool: format!("iam-contract {}", env!("CARGO_PKG_VERSION")),
        target: TargetInfo {
            endpoint: client.endpoint().to_owned(),
            name: config.target_name.clone(),
            profile: config.profile,
        },
        summary: Summary {
            cases_sent: ctx.sent.load(Ordering::Relaxed),
            retries: ctx.retries.load(Ordering::Relaxed),
            elapsed_ms: started.elapsed().as_millis() as u64,
            ..Summary::default()
        },
        rules: results,
    };
    report.recount();
    let capabilities = ctx.caps.into_inner().unwrap_or_else(|p| p.into_inner());
    let secrets = ctx.secrets.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(CheckOutcome {
        report,
        secrets,
        capabilities,
        cleanup_left: cleanup.left,
    })
}

/// The result of a run: the report, and what the caller needs to finish the job safely.
#[derive(Debug)]
pub struct CheckOutcome {
    pub report: Report,
    /// Every secret the run saw (its own credentials and every key it created), for the
    /// secret tripwire over all output.
    pub secrets: Vec<Secret>,
    pub capabilities: Capabilities,
    /// What cleanup could not delete (the ledger was kept when this is not empty).
    pub cleanup_left: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    cases: usize,
    findings: Vec<Finding>,
    skip: Option<String>,
}

/// One request/response pair.
#[derive(Clone)]
struct Exchange {
    case: CaseRecord,
    result: Result<Judged, String>,
    /// The raw body carried a secret issued in this run or a SecretAccessKey element.
    leaks_secret: bool,
}

impl Exchange {
    fn judged(&self) -> Option<&Judged> {
        self.result.as_ref().ok()
    }
    fn status(&self) -> u16 {
        self.judged().map(|j| j.status).unwrap_or(0)
    }
    fn code(&self) -> Option<&str> {
        self.judged().and_then(|j| j.code())
    }
    fn observed(&self) -> Observed {
        match &self.result {
            Ok(j) => j.observed.clone(),
            Err(e) => Observed {
                transport_error: Some(e.clone()),
                ..Observed::default()
            },
        }
    }
}

struct Ctx<'a> {
    client: &'a Client,
    model: &'a Model,
    config: &'a CheckConfig,
    prefix: String,
    ledger: Ledger,
    rules: HashSet<String>,
    acc: Mutex<BTreeMap<String, Acc>>,
    secrets: Mutex<Vec<Secret>>,
    /// A scanner over `secrets`, learning each one as it is added.
    scanner: std::sync::RwLock<crate::secret::SecretScanner>,
    key_ids: Mutex<HashSet<String>>,
    sent: AtomicUsize,
    retries: AtomicUsize,
    counter: AtomicUsize,
    caps: Mutex<Capabilities>,
}

/// A request to make: parameters (already in wire order), method, signing.
#[derive(Clone)]
struct Req {
    params: Vec<(String, String)>,
    /// Raw wire text instead of encoding `params` (for invalid UTF-8, raw `+`, ...).
    raw_wire: Option<String>,
    method: &'static str,
    signing: Signing,
}

impl Req {
    fn new(model: &Model, action: &str, members: &[(&str, &str)]) -> Req {
        let mut params = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), model.metadata().api_version.clone()),
        ];
        params.extend(
            members
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Req {
            params,
            raw_wire: None,
            method: "POST",
            signing: Signing::Normal,
        }
    }
    fn signed(mut self, s: Signing) -> Req {
        self.signing = s;
        self
    }
    fn method(mut self, m: &'static str) -> Req {
        self.method = m;
        self
    }
    fn action(&self) -> String {
        self.params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn wire(&self) -> String {
        self.raw_wire
            .clone()
            .unwrap_or_else(|| encode_form(&self.params))
    }
}

fn signing_label(s: &Signing) -> String {
    match s {
        Signing::Normal => "sigv4".into(),
        Signing::Unsigned => "unsigned".into(),
        Signing::As(c) => format!("as:{}", c.access_key_id),
        Signing::Scope(sc) => format!("scope:{}/{}", sc.service, sc.region),
        Signing::Skewed(secs) => format!("skewed:{secs:+}s"),
        Signing::Corrupted => "corrupted".into(),
    }
}

impl<'a> Ctx<'a> {
    fn enabled(&self, rule: &str) -> bool {
        self.rules.contains(rule)
    }

    fn name(&self, tag: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{tag}{n}", self.prefix)
    }

    fn budget_left(&self) -> bool {
        self.config
            .request_budget
            .is_none_or(|b| self.sent.load(Ordering::Relaxed) < b)
    }

    fn pass(&self, rule: &str) {
        if !self.enabled(rule) {
            return;
        }
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        acc.entry(rule.to_owned()).or_default().cases += 1;
    }

    fn skip(&self, rule: &str, reason: &str) {
        if !self.enabled(rule) {
            return;
        }
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        let a = acc.entry(rule.to_owned()).or_default();
        a.skip.get_or_insert_with(|| reason.to_owned());
    }

    fn fail(&self, rule: &str, ex: &Exchange, expected: impl Into<String>) {
        if !self.enabled(rule) {
            return;
        }
        let finding = Finding {
            case: ex.case.clone(),
            observed: ex.observed(),
            expected: expected.into(),
            replay: self.replay_command(rule, &ex.case),
        };
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        let a = acc.entry(rule.to_owned()).or_default();
        a.cases += 1;
        if a.findings.len() < FINDINGS_COLLECTED_PER_RULE
            && !a.findings.iter().any(|f| {
                f.case.wire == finding.case.wire
                    && f.case.signing == finding.case.signing
                    && f.case.steps == finding.case.steps
            })
        {
            a.findings.push(finding);
        }
    }

    /// Records a pass or a failure for `rule` depending on `ok`.
    fn judge(&self, rule: &str, ex: &Exchange, ok: bool, expected: impl Into<String>) {
        if ok {
            self.pass(rule)
        } else {
            self.fail(rule, ex, expected)
        }
    }

    fn replay_command(&self, rule: &str, case: &CaseRecord) -> String {
        let base = self.config.replay_base.clone().unwrap_or_else(|| {
            format!("iam-contract replay --endpoint {}", self.client.endpoint())
        });
        if let Some(seq) = &case.sequence {
            // Users and keys of a sequence exist only within it: replay the whole sequence.
            return format!("{base} --rule {rule} --sequence '{seq}'");
        }
        let mut cmd = format!(
            "{base} --method {} --signing {} --wire '{}'",
            case.method,
            case.signing.split(':').next().unwrap_or("sigv4"),
            case.wire.replace('\'', "'\\''")
        );
        if case.signing.starts_with("skewed") || case.signing.starts_with("scope") {
            cmd.push_str(&format!(" --signing-detail '{}'", case.signing));
        }
        // Users the run created are gone by the time anyone replays: recreate them for the replay.
        if let Some((_, user)) = case.params.iter().find(|(k, _)| k == "UserName")
            && user.starts_with(&self.prefix)
            && !["-missing", "-dup"].iter().any(|t| user.contains(t))
            && case.action == OPERATION
            && case.steps.is_empty()
        {
            cmd.push_str(&format!(" --with-user '{}'", user.replace('\'', "'\\''")));
        }
        cmd
    }

    /// The scanner over every secret seen so far.
    fn scanner(&self) -> std::sync::RwLockReadGuard<'_, crate::secret::SecretScanner> {
        self.scanner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn remember_secret(&self, s: &Secret) {
        let mut v = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        v.push(s.clone());
        // Under the secrets lock, so the scanner learns secrets in the same order.
        self.scanner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(s);
    }

    /// Sends one request, retrying throttling and transport hiccups, and applies the checks
    /// that hold for every response of the run.
    async fn send(&self, req: &Req) -> Exchange {
        let wire = req.wire();
        let raw = match req.method {
            "GET" | "HEAD" => RawRequest {
                method: req.method.into(),
                path_and_query: format!("/?{wire}"),
                headers: vec![],
                body: vec![],
            },
            m => RawRequest {
                method: m.into(),
                path_and_query: "/".into(),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
                body: wire.clone().into_bytes(),
            },
        };
        let action = req.action();
        let case = CaseRecord {
            action: action.clone(),
            params: req.params.clone(),
            method: req.method.into(),
            signing: signing_label(&req.signing),
            wire,
            steps: Vec::new(),
            sequence: None,
        };
        let mut attempt = 0;
        let result = loop {
            self.sent.fetch_add(1, Ordering::Relaxed);
            if let Some(p) = &self.config.progress {
                p.fetch_add(1, Ordering::Relaxed);
            }
            let r = self.client.send(&raw, &req.signing).await;
            let retry = match &r {
                Ok(resp) => {
                    resp.status == 429
                        || resp.status == 503
                        || (resp.status == 400
                            && String::from_utf8_lossy(&resp.body).contains("<Code>Throttling"))
                }
                // The endpoint answered the capability probe, so a failed connection now is a
                // hiccup (a dev server dropping a keep-alive connection, say), not an outage.
                Err(TransportError::Timeout { .. })
                | Err(TransportError::Other { .. })
                | Err(TransportError::Connect { .. }) => true,
                Err(_) => false,
            };
            if retry && attempt < MAX_RETRIES {
                attempt += 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                continue;
            }
            break r;
        };
        let decode_as = if self.model.operation(&action).is_some() {
            action.as_str()
        } else {
            OPERATION
        };
        let mut leaks_secret = false;
        let result = {
            // Held only for the scan: the checks below may learn a secret (a write).
            let scanner = self.scanner();
            result
                .map(|resp| {
                    let text = String::from_utf8_lossy(&resp.body);
                    leaks_secret = text.contains("<SecretAccessKey>") || scanner.found_in(&text);
                    judge_scanned(self.model, decode_as, resp.status, &resp.body, &scanner)
                })
                .map_err(|e| e.to_string())
        };
        let ex = Exchange {
            case,
            result,
            leaks_secret,
        };
        // Whatever the probe meant, a key that came back is a key on the target: note it, so
        // cleanup deletes it even when the case expected a refusal.
        if action == OPERATION
            && let Some(j) = ex.judged().filter(|j| j.is_success())
            && let Some(id) = j.str_at("/AccessKey/AccessKeyId")
        {
            let _ = self.ledger.record(&LedgerEntry::Key {
                user: j
                    .str_at("/AccessKey/UserName")
                    .unwrap_or_default()
                    .to_owned(),
                id: id.to_owned(),
            });
        }
        self.global_checks(&ex);
        ex
    }

    /// Sends many independent requests, `in_flight` at a time, in order of the input.
    async fn send_all(&self, reqs: Vec<Req>) -> Vec<Exchange> {
        let n = self.config.in_flight;
        super::all_in_order(reqs.iter().map(|r| self.send(r)), n).await
    }

    /// Checks that every response of the run must pass.
    fn global_checks(&self, ex: &Exchange) {
        let Some(j) = ex.judged() else { return };
        self.judge(
            RuleId::PROTO_NO_SERVER_ERRORS,
            ex,
            j.status < 500,
            "a status below 500",
        );
        if let Some(p) = j.ill_formed() {
            // A HEAD response has no body by definition.
            if ex.case.method != "HEAD" {
                self.fail(
                    RuleId::OUTPUT_WELL_FORMED,
                    ex,
                    format!("a well-formed XML body ({p})"),
                );
            }
            if j.status >= 400 {
                self.check_error_envelope(ex, j);
            }
            return;
        }
        self.pass(RuleId::OUTPUT_WELL_FORMED);
        let has_rid = j.decoded.request_id().is_some_and(|r| !r.is_empty());
        self.judge(
            RuleId::OUTPUT_REQUEST_ID,
            ex,
            has_rid,
            "a RequestId in the response body",
        );
        if j.status >= 400 {
            self.check_error_envelope(ex, j);
        }
    }

    fn check_error_envelope(&self, ex: &Exchange, j: &Judged) {
        let Some(err) = j.decoded.error() else {
            self.fail(
                RuleId::ERROR_ENVELOPE,
                ex,
                "an ErrorResponse/Error{Type,Code,Message} body for an HTTP error",
            );
            self.fail(RuleId::ERROR_MESSAGE_LOOSE, ex, "an error message");
            return;
        };
        let mut problems = Vec::new();
        for p in &j.decoded.problems {
            if let crate::wire::WireProblem::WrongRoot { .. } = p {
                problems.push(p.to_string());
            }
        }
        problems.extend(super::judge::error_envelope_problems(
            self.model, j.status, err,
        ));
        self.judge(
            RuleId::ERROR_ENVELOPE,
            ex,
            problems.is_empty(),
            format!(
                "the documented error envelope and status ({})",
                problems.join("; ")
            ),
        );
        self.judge(
            RuleId::ERROR_MESSAGE_LOOSE,
            ex,
            err.message.as_deref().is_some_and(|m| !m.trim().is_empty()),
            "a non-empty error Message",
        );
    }

    /// Checks a CreateAccessKey response that should have created a key for `user` (`None`:
    /// the implicit user, which is then returned). Records the key and its secret.
    fn check_created(&self, ex: &Exchange, user: Option<&str>) -> Option<(String, String, Secret)> {
        let j = ex.judged()?;
        if !j.is_success() {
            return None;
        }
        let failures = output_failures(self.model, j);
        for (rule, reason) in &failures {
            self.fail(
                rule,
                ex,
                format!("a conforming CreateAccessKey response ({reason})"),
            );
        }
        for rule in [
            RuleId::OUTPUT_ENVELOPE,
            RuleId::OUTPUT_SCHEMA,
            RuleId::OUTPUT_STATUS_ACTIVE,
        ] {
            if !failures.iter().any(|(r, _)| *r == rule) {
                self.pass(rule);
            }
        }
        let id = j
            .str_at("/AccessKey/AccessKeyId")
            .unwrap_or_default()
            .to_owned();
        let got_user = j
            .str_at("/AccessKey/UserName")
            .unwrap_or_default()
            .to_owned();
        let secret = j
            .decoded
            .secrets
            .iter()
            .find(|(p, _)| p == "/AccessKey/SecretAccessKey")
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        if !secret.is_empty() {
            self.remember_secret(&secret);
        }
        if let Some(u) = user {
            self.judge(
                RuleId::OUTPUT_USER_NAME_ECHO,
                ex,
                got_user == u,
                format!("AccessKey.UserName {u:?}, got {got_user:?}"),
            );
        }
        if !id.is_empty() {
            let _ = self.ledger.record(&LedgerEntry::Key {
                user: if got_user.is_empty() {
                    user.unwrap_or_default().to_owned()
                } else {
                    got_user.clone()
                },
                id: id.clone(),
            });
        }
        // CreateDate within the allowed clock skew of now.
        let skew = self.model.facts().limits.clock_skew_seconds.value as i64;
        match j.str_at("/AccessKey/CreateDate") {
            Some(d) => {
                let parsed =
                    time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339);
                let ok = parsed.is_ok_and(|t| {
                    (t - time::OffsetDateTime::now_utc()).whole_seconds().abs() <= skew
                });
                self.judge(
                    RuleId::OUTPUT_CREATE_DATE,
                    ex,
                    ok,
                    format!("CreateDate an ISO 8601 date-time within {skew}s of now, got {d:?}"),
                );
            }
            None => self.fail(
                RuleId::OUTPUT_CREATE_DATE,
                ex,
                "a CreateDate in the AccessKey (optional in the model, but AWS always sends one)",
            ),
        }
        // The strict AWS formats.
        let aws = &self.model.facts().aws_profile;
        self.judge(
            RuleId::OUTPUT_AWS_KEY_ID,
            ex,
            id.len() == aws.access_key_id.length && id.starts_with(&aws.access_key_id.prefix),
            format!(
                "an AccessKeyId of {} characters starting {} (got {} characters: {id})",
                aws.access_key_id.length,
                aws.access_key_id.prefix,
                id.len()
            ),
        );
        let secret_ok = secret.len() == aws.secret_access_key.length
            && secret
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        self.judge(
            RuleId::OUTPUT_AWS_SECRET,
            ex,
            secret_ok,
            format!(
                "a SecretAccessKey of {} characters of [A-Za-z0-9+/] (got {} characters)",
                aws.secret_access_key.length,
                secret.len()
            ),
        );
        // Unique secrets: compare with every secret seen (constant-time equality, never printed).
        {
            let seen = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
            let dupes = seen.iter().filter(|s| **s == secret).count();
            drop(seen);
            self.judge(
                RuleId::OUTPUT_SECRET_UNIQUE,
                ex,
                secret.is_empty() || dupes <= 1,
                "a SecretAccessKey no other key of the run has",
            );
        }
        // Unique IDs across the run.
        let fresh = self
            .key_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
        self.judge(
            RuleId::LIFE_UNIQUE_IDS,
            ex,
            fresh,
            format!("an AccessKeyId never issued before in this run (got {id} again)"),
        );
        Some((id, got_user, secret))
    }

    fn string_shape(&self, operation: &str, member: &str) -> Option<&'a StringShape> {
        self.model.input_string(operation, member)
    }

    async fn create_user(&self, name: &str) -> Exchange {
        let _ = self.ledger.record(&LedgerEntry::User { name: name.into() });
        self.send(&Req::new(self.model, "CreateUser", &[("UserName", name)]))
            .await
    }

    async fn create_key(&self, user: &str) -> Exchange {
        self.send(&Req::new(
            self.model,
            "CreateAccessKey",
            &[("UserName", user)],
        ))
        .await
    }

    async fn list_key_ids(&self, user: &str) -> Option<Vec<(String, String)>> {
        let ex = self
            .send(&Req::new(
                self.model,
                "ListAccessKeys",
                &[("UserName", user)],
            ))
            .await;
        let j = ex.judged()?;
        let Outcome::Success { value, .. } = &j.decoded.outcome else {
            return None;
        };
        Some(
            value
                .get("AccessKeyMetadata")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .map(|k| {
                            (
                                k.get("AccessKeyId")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or_default()
                                    .to_owned(),
                                k.get("Status")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or_default()
                                    .to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    async fn delete_key(&self, user: &str, id: &str) {
        self.send(&Req::new(
            self.model,
            "DeleteAccessKey",
            &[("UserName", user), ("AccessKeyId", id)],
        ))
        .await;
    }

    async fn delete_user_fully(&self, user: &str) {
        if let Some(keys) = self.list_key_ids(user).await {
            for (id, _) in keys {
                self.delete_key(user, &id).await;
            }
        }
        self.send(&Req::new(self.model, "DeleteUser", &[("UserName", user)]))
            .await;
    }

    async fn run_all(&self) -> Result<(), CheckError> {
        self.probe().await?;
        if self.config.replay_sequence.is_some() {
            self.lifecycle().await;
            return Ok(());
        }
        // The classes are independent (each works on users of its own), so they run at once.
        futures::join!(
            self.input_validation(),
            self.error_contract(),
            self.positive_acceptance(),
            self.protocol(),
            self.auth(),
            self.concurrency(),
            self.lifecycle(),
        );
        Ok(())
    }

    async fn probe(&self) -> Result<(), CheckError> {
        let who = self.send(&Req::new(self.model, "GetUser", &[])).await;
        if let Err(e) = &who.result {
            return Err(CheckError::Unreachable(e.clone()));
        }
        let signer_user = who
            .judged()
            .filter(|j| j.is_success())
            .and_then(|j| j.str_at("/User/UserName").map(str::to_owned));
        let unsigned = self
            .send(&Req::new(self.model, "GetUser", &[]).signed(Signing::Unsigned))
            .await;
        let refused = |ex: &Exchange| ex.status() == 403 || ex.status() == 401;
        // An unsigned request may be refused, or (moto, SeaweedFS) answered with a 500 or routed
        // to another service; a corrupted signature tells such a service apart from one that
        // checks nothing.
        let verifies_signatures = refused(&unsigned)
            || refused(
                &self
                    .send(&Req::new(self.model, "GetUser", &[]).signed(Signing::Corrupted))
                    .await,
            );
        let fixture = self.fixture_name();
        // A transient server error must not decide what the target can do: retry it.
        let mut created = self.create_user(&fixture).await;
        for _ in 0..4 {
            if created.status() < 500 {
                break;
            }
            created = self.create_user(&fixture).await;
        }
        let can_create_users = created.judged().is_some_and(Judged::is_success);
        *self.caps.lock().unwrap_or_else(|p| p.into_inner()) = Capabilities {
            can_create_users,
            verifies_signatures,
            signer_user,
        };
        Ok(())
    }

    fn fixture_name(&self) -> String {
        format!("{}-fixture", self.prefix)
    }

    fn caps(&self) -> Capabilities {
        self.caps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Skips every rule in `rules` with `reason` when `cond` is false; returns `cond`.
    fn need(&self, cond: bool, rules: &[&str], reason: &str) -> bool {
        if !cond {
            for r in rules {
                self.skip(r, reason);
            }
        }
        cond
    }

    // ---- 1. Input validation -------------------------------------------------------------

    async fn input_validation(&self) {
        let input = self
            .model
            .operation(OPERATION)
            .and_then(|o| o.input.clone())
            .unwrap_or_default();
        for (member, shape, _) in self.model.members(&input) {
            let crate::model::ShapeKind::String(c) = &shape.kind else {
                continue;
            };
            let m = member.name.clone();
            // Deterministic boundaries.
            let mut reqs = Vec::new();
            let mut meta = Vec::new();
            for b in generate::string_boundaries(c, &self.prefix) {
                let violations = generate::string_violations(c, &b.value);
                if violations.is_empty() {
                    continue;
                }
                reqs.push(Req::new(self.model, OPERATION, &[(&m, &b.value)]));
                meta.push((b.value, violations));
            }
            let exchanges = self.send_all(reqs).await;
            for (ex, (value, violations)) in exchanges.iter().zip(meta) {
                self.judge_validation(&m, ex, &value, &violations);
            }
            // Valid names longer than users can be: NoSuchEntity, not ValidationError.
            if let Some(max) = c.max
                && let Some(user_max) = self
                    .string_shape("CreateUser", "UserName")
                    .and_then(|u| u.max)
                && max > user_max
            {
                let reqs: Vec<Req> = [user_max + 1, (user_max + max) / 2, max]
                    .iter()
                    .map(|len| {
                        let v = generate::valid_of_length(c, &self.prefix, *len as usize);
                        Req::new(self.model, OPERATION, &[(&m, &v)])
                    })
                    .collect();
                for ex in self.send_all(reqs).await {
                    self.judge(
                        RuleId::ACCEPT_LONG_EXISTING_NAME,
                        &ex,
                        ex.status() == 404 && ex.code() == Some("NoSuchEntity"),
                        "404 NoSuchEntity: the name is valid for CreateAccessKey but no user can have it",
                    );
                }
            }
            // Generated invalid values, shrunk on failure.
            if self.enabled(RuleId::INPUT_GENERATED_INVALID) {
                self.generated_invalid(&m, c).await;
            }
        }
    }

    fn judge_validation(
        &self,
        member: &str,
        ex: &Exchange,
        value: &str,
        violations: &[crate::model::Constraint],
    ) {
        let ok = ex.status() == 400 && ex.code() == Some("ValidationError");
        let expected = format!(
            "400 ValidationError ({})",
            violations
                .iter()
                .map(|v| v.kind())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let unicode_word = value
            .chars()
            .any(|ch| generate::UNICODE_WORD_CHARS.iter().any(|(u, _)| *u == ch));
        for v in violations {
            let rule = match v {
                crate::model::Constraint::Pattern { .. } if unicode_word => {
                    constraint_rule_id(member, PATTERN_ASCII_WORD)
                }
                other => constraint_rule_id(member, other.kind()),
            };
            self.judge(&rule, ex, ok, expected.clone());
        }
        if ok && self.enabled(RuleId::INPUT_VALIDATION_MESSAGE) {
            let vs: Vec<_> = validate_input(self.model, OPERATION, &json!({ member: value }))
                .into_iter()
                .filter(|v| v.constraint.service_side())
                .collect();
            let want = aws_validation_message(self.model, &vs);
            let got = ex
                .judged()
                .and_then(|j| j.observed.message.clone())
                .unwrap_or_default();
            self.judge(
                RuleId::INPUT_VALIDATION_MESSAGE,
                ex,
                got == want,
                format!("message {want:?}"),
            );
        }
    }

    async fn generated_invalid(&self, member: &str, shape: &StringShape) {
        let strategy = generate::invalid_string(shape);
        let mut runner = test_runner(self.config.seed);
        let mut trees = Vec::new();
        for _ in 0..self.config.cases {
            if let Ok(t) = strategy.new_tree(&mut runner) {
                trees.push(t);
            }
        }
        let reqs: Vec<Req> = trees
            .iter()
            .map(|t| Req::new(self.model, OPERATION, &[(member, &t.current())]))
            .collect();
        let exchanges = self.send_all(reqs).await;
        let holds = |ex: &Exchange| ex.status() == 400 && ex.code() == Some("ValidationError");
        let mut failing = None;
        for (i, ex) in exchanges.iter().enumerate() {
            if holds(ex) {
                self.pass(RuleId::INPUT_GENERATED_INVALID);
            } else if failing.is_none() {
                failing = Some(i);
            }
        }
        let Some(i) = failing else { return };
        // Shrink: proptest's value tree, driven by live requests.
        let mut tree = trees.swap_remove(i);
        let mut last_fail = exchanges.into_iter().nth(i).expect("index in range");
        let mut steps = 0;
        if tree.simplify() {
            loop {
                steps += 1;
                if steps > 200 || !self.budget_left() {
                    break;
                }
                let v = tree.current();
                let ex = self
                    .send(&Req::new(self.model, OPERATION, &[(member, &v)]))
                    .await;
                if !holds(&ex) && !generate::string_violations(shape, &v).is_empty() {
                    last_fail = ex;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        self.fail(
            RuleId::INPUT_GENERATED_INVALID,
            &last_fail,
            format!("400 ValidationError (minimal failing value after {steps} shrink steps)"),
        );
    }

    // ---- 4. Error contract ---------------------------------------------------------------

    async fn error_contract(&self) {
        let missing = self.name("missing");
        let ex = self.create_key(&missing).await;
        let fault = ex
            .judged()
            .and_then(|j| j.decoded.error())
            .and_then(|e| e.fault.clone());
        self.judge(
            RuleId::ERROR_NO_SUCH_ENTITY,
            &ex,
            ex.status() == 404
                && ex.code() == Some("NoSuchEntity")
                && fault.as_deref() == Some("Sender"),
            "HTTP 404, Code NoSuchEntity, Type Sender",
        );
        let msg = ex
            .judged()
            .and_then(|j| j.observed.message.clone())
            .unwrap_or_default();
        if ex.code() == Some("NoSuchEntity") {
            self.judge(
                RuleId::ERROR_MESSAGE_LOOSE,
                &ex,
                msg.contains(&missing),
                format!("a NoSuchEntity message naming {missing:?}"),
            );
            let want = self
                .model
                .facts()
                .error("no-such-user")
                .render(&[("name", &missing)]);
            self.judge(
                RuleId::ERROR_MESSAGE_EXACT,
                &ex,
                msg == want,
                format!("message {want:?}"),
            );
        }

        let quota_rules = [RuleId::ERROR_LIMIT_EXCEEDED];
        if !self.need(
            self.caps().can_create_users,
            &quota_rules,
            "the target cannot create users",
        ) {
            return;
        }
        let user = self.name("quota");
        self.create_user(&user).await;
        let quota = self.model.facts().key_quota();
        let mut first_id = None;
        for _ in 0..quota {
            let ex = self.create_key(&user).await;
            if let Some((id, _, _)) = self.check_created(&ex, Some(&user)) {
                first_id.get_or_insert(id);
            }
        }
        if let Some(id) = &first_id {
            self.send(&Req::new(
                self.model,
                "UpdateAccessKey",
                &[
                    ("UserName", &user),
                    ("AccessKeyId", id),
                    ("Status", "Inactive"),
                ],
            ))
            .await;
        }
        let ex = self.create_key(&user).await;
        self.check_created(&ex, Some(&user));
        let fault = ex
            .judged()
            .and_then(|j| j.decoded.error())
            .and_then(|e| e.fault.clone());
        self.judge(
            RuleId::ERROR_LIMIT_EXCEEDED,
            &ex,
            ex.status() == 409
                && ex.code() == Some("LimitExceeded")
                && fault.as_deref() == Some("Sender"),
            format!(
                "HTTP 409, Code LimitExceeded, Type Sender for key {} (one of them Inactive)",
                quota + 1
            ),
        );
        if ex.code() == Some("LimitExceeded") {
            let msg = ex
                .judged()
                .and_then(|j| j.observed.message.clone())
                .unwrap_or_default();
            let want = self
                .model
                .facts()
                .error("key-quota")
                .render(&[("quota", &quota.to_string())]);
            self.judge(
                RuleId::ERROR_MESSAGE_EXACT,
                &ex,
                msg == want,
                format!("message {want:?}"),
            );
        }
        self.delete_user_fully(&user).await;
    }

    // ---- 2. Positive acceptance ----------------------------------------------------------

    async fn positive_acceptance(&self) {
        let rules = [RuleId::ACCEPT_GENERATED_NAMES, RuleId::ACCEPT_PUNCTUATION];
        if !self.need(
            self.caps().can_create_users,
            &rules,
            "the target cannot create users",
        ) {
            return;
        }
        let Some(user_shape) = self.string_shape("CreateUser", "UserName") else {
            return;
        };
        let max = user_shape.max.unwrap_or(64) as usize;
        let room = max.saturating_sub(self.prefix.len() + 1).max(1);
        let mut names: Vec<(String, &'static str)> = Vec::new();
        // The longest name a user can have, and generated suffixes.
        names.push((
            format!(
                "{}-{}",
                self.prefix,
                generate::valid_of_length(user_shape, "Max", room)
            ),
            RuleId::ACCEPT_GENERATED_NAMES,
        ));
        let n = (self.config.cases / 4).clamp(4, 64);
        for suffix in generate::sample(
            &generate::valid_string(user_shape, 1..=room),
            n,
            self.config.seed ^ 7,
        ) {
            names.push((
                format!("{}-{suffix}", self.prefix),
                RuleId::ACCEPT_GENERATED_NAMES,
            ));
        }
        for c in "_+=,.@-".chars() {
            names.push((format!("{}-P{c}q", self.prefix), RuleId::ACCEPT_PUNCTUATION));
        }
        names.sort();
        names.dedup_by(|a, b| a.0.to_lowercase() == b.0.to_lowercase());
        let work = names.into_iter().map(|(name, rule)| async move {
            let created = self.create_user(&name).await;
            if !created.judged().is_some_and(Judged::is_success) {
                self.fail(
                    rule,
                    &created,
                    format!("CreateUser to accept the valid name {name:?}"),
                );
                return;
            }
            let ex = self.create_key(&name).await;
            match self.check_created(&ex, Some(&name)) {
                Some((id, got, _)) => {
                    self.judge(rule, &ex, got == name, format!("a key for {name:?}"));
                    self.delete_key(&name, &id).await;
                }
                None => self.fail(
                    rule,
                    &ex,
                    format!("200 and a key for the valid name {name:?}"),
                ),
            }
            self.send(&Req::new(self.model, "DeleteUser", &[("UserName", &name)]))
                .await;
        });
        futures::stream::iter(work)
            .buffer_unordered(self.config.in_flight.max(1))
            .collect::<Vec<()>>()
            .await;
    }

    // ---- 7. Protocol ---------------------------------------------------------------------

    async fn protocol(&self) {
        let m = self.model;
        // An unknown action, plainly and with markup in it (services echo the action in the
        // InvalidAction message, which must then still be well-formed XML).
        for action in ["FrobnicateAccessKey", "Frob<&>nicate\"Key'"] {
            let ex = self.send(&Req::new(m, action, &[])).await;
            self.judge(
                RuleId::PROTO_UNKNOWN_ACTION,
                &ex,
                (400..500).contains(&ex.status()),
                "a 4xx (400 InvalidAction)",
            );
        }
        let mut no_action = Req::new(m, "", &[]);
        no_action.params.retain(|(k, _)| k != "Action");
        let ex = self.send(&no_action).await;
        self.judge(
            RuleId::PROTO_MISSING_ACTION,
            &ex,
            (400..500).contains(&ex.status()),
            "a 4xx (400 MissingAction)",
        );
        for bad in ["%FF%FE", "abc%C3%28", "%ED%A0%80"] {
            let mut r = Req::new(m, OPERATION, &[]);
            r.raw_wire = Some(format!("{}&UserName={bad}", encode_form(&r.params)));
            r.params.push(("UserName".into(), bad.into()));
            let ex = self.send(&r).await;
            self.judge(
                RuleId::PROTO_INVALID_UTF8,
                &ex,
                (400..500).contains(&ex.status())
                    && ex.judged().is_some_and(|j| j.ill_formed().is_none()),
                "a 4xx with a well-formed body",
            );
        }
        // Duplicate parameters: the same request twice gets the same status.
        let missing = self.name("dup");
        let mut dup = Req::new(
            m,
            OPERATION,
            &[("UserName", &missing), ("UserName", "bad name")],
        );
        dup.raw_wire = Some(encode_form(&dup.params));
        let a = self.send(&dup).await;
        let b = self.send(&dup).await;
        self.judge(
            RuleId::PROTO_DUPLICATE_PARAMS,
            &b,
            a.status() == b.status()
                && a.code() == b.code()
                && b.status() < 500
                && b.status() >= 400,
            format!(
                "the same 4xx answer both times (first time HTTP {} {:?})",
                a.status(),
                a.code()
            ),
        );

        let state_rules = [
            RuleId::PROTO_BAD_VERSION,
            RuleId::PROTO_OTHER_METHODS,
            RuleId::PROTO_GET_QUERY,
            RuleId::PROTO_PLUS_ENCODING,
        ];
        if !self.need(
            self.caps().can_create_users,
            &state_rules,
            "the target cannot create users",
        ) {
            return;
        }
        let fixture = self.fixture_name();
        let before = self.list_key_ids(&fixture).await.map(|k| k.len());
        let mut bad_version = Req::new(m, OPERATION, &[("UserName", &fixture)]);
        bad_version.params[1].1 = "2099-01-01".into();
        let ex = self.send(&bad_version).await;
        if let Some(created) = self.check_created(&ex, Some(&fixture)) {
            self.delete_key(&fixture, &created.0).await;
        }
        self.judge(
            RuleId::PROTO_BAD_VERSION,
            &ex,
            (400..500).contains(&ex.status()),
            "a 4xx for Version 2099-01-01, and no key",
        );
        for method in ["PUT", "DELETE", "PATCH"] {
            let ex = self
                .send(&Req::new(m, OPERATION, &[("UserName", &fixture)]).method(method))
                .await;
            let after = self.list_key_ids(&fixture).await;
            let changed = after.as_ref().map(|k| k.len()) != before;
            if let Some(keys) = after.filter(|_| changed) {
                for (id, _) in keys {
                    self.delete_key(&fixture, &id).await;
                }
            }
            self.judge(
                RuleId::PROTO_OTHER_METHODS,
                &ex,
                !changed,
                format!("no key created by {method}"),
            );
        }
        let ex = self
            .send(&Req::new(m, OPERATION, &[("UserName", &fixture)]).method("GET"))
            .await;
        match self.check_created(&ex, Some(&fixture)) {
            Some((id, _, _)) => {
                self.pass(RuleId::PROTO_GET_QUERY);
                self.delete_key(&fixture, &id).await;
            }
            None => self.fail(RuleId::PROTO_GET_QUERY, &ex, "200 and a key, as for POST"),
        }
        // `+` encoding.
        let plus_user = format!("{}-a+b", self.prefix);
        let created = self.create_user(&plus_user).await;
        if created.judged().is_some_and(Judged::is_success) {
            let ex = self.create_key(&plus_user).await;
            match self.check_created(&ex, Some(&plus_user)) {
                Some((id, got, _)) => {
                    self.judge(
                        RuleId::PROTO_PLUS_ENCODING,
                        &ex,
                        got == plus_user,
                        format!("a key for {plus_user:?}"),
                    );
                    self.delete_key(&plus_user, &id).await;
                }
                None => self.fail(
                    RuleId::PROTO_PLUS_ENCODING,
                    &ex,
                    format!("200 and a key for {plus_user:?} sent as %2B"),
                ),
            }
            let mut raw = Req::new(m, OPERATION, &[]);
            raw.raw_wire = Some(format!(
                "{}&UserName={}-a+b",
                encode_form(&raw.params),
                self.prefix
            ));
            raw.params
                .push(("UserName".into(), format!("{}-a b", self.prefix)));
            let ex = self.send(&raw).await;
            if let Some((id, _, _)) = self.check_created(&ex, None) {
                self.delete_key(&plus_user, &id).await;
            }
            self.judge(
                RuleId::PROTO_PLUS_ENCODING,
                &ex,
                ex.status() == 400,
                "400: a raw + is a space, and a space is not allowed",
            );
            self.delete_user_fully(&plus_user).await;
        } else {
            self.fail(
                RuleId::PROTO_PLUS_ENCODING,
                &created,
                format!("CreateUser to accept {plus_user:?}"),
            );
        }
    }

    // ---- 6. Auth -------------------------------------------------------------------------

    async fn auth(&self) {
        let rules = [
            RuleId::AUTH_UNSIGNED,
            RuleId::AUTH_BAD_SIGNATURE,
            RuleId::AUTH_UNKNOWN_KEY,
            RuleId::AUTH_CLOCK_SKEW,
            RuleId::AUTH_WRONG_SCOPE,
            RuleId::AUTH_CROSS_USER,
        ];
        if !self.need(
            self.caps().can_create_users,
            &rules,
            "the target cannot create users",
        ) {
            return;
        }
        let Some(creds) = self.client.credentials().cloned() else {
            for r in rules {
                self.skip(r, "no credentials to sign with");
            }
            return;
        };
        let m = self.model;
        // A user of its own: the protocol probes count the fixture's keys concurrently.
        let fixture = self.name("authfix");
        if !self
            .create_user(&fixture)
            .await
            .judged()
            .is_some_and(Judged::is_success)
        {
            for r in rules {
                self.skip(r, "could not create the user the auth probes need");
            }
            return;
        }
        let mut wrong = creds.clone();
        wrong.secret_access_key = Secret::new(format!("{}x", creds.secret_access_key.expose()));
        let unknown = Credentials::new(
            format!(
                "AKIA{}",
                self.prefix
                    .to_uppercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "")
            ),
            "unknown-key-secret-0000000000000000000000",
        );
        let cases: Vec<(&str, Signing, &str, Option<&str>)> = vec![
            (
                RuleId::AUTH_UNSIGNED,
                Signing::Unsigned,
                "403 MissingAuthenticationToken",
                Some("MissingAuthenticationToken"),
            ),
            (
                RuleId::AUTH_BAD_SIGNATURE,
                Signing::As(wrong),
                "403 SignatureDoesNotMatch",
                Some("SignatureDoesNotMatch"),
            ),
            (
                RuleId::AUTH_BAD_SIGNATURE,
                Signing::Corrupted,
                "403 SignatureDoesNotMatch",
                Some("SignatureDoesNotMatch"),
            ),
            (
                RuleId::AUTH_UNKNOWN_KEY,
                Signing::As(unknown),
                "403 InvalidClientTokenId",
                Some("InvalidClientTokenId"),
            ),
            (
                RuleId::AUTH_CLOCK_SKEW,
                Signing::Skewed(1200),
                "a 4xx",
                None,
            ),
            (
                RuleId::AUTH_CLOCK_SKEW,
                Signing::Skewed(-1200),
                "a 4xx",
                None,
            ),
            (
                RuleId::AUTH_WRONG_SCOPE,
                Signing::Scope(Scope {
                    service: "s3".into(),
                    region: "us-east-1".into(),
                }),
                "403 SignatureDoesNotMatch",
                Some("SignatureDoesNotMatch"),
            ),
            (
                RuleId::AUTH_WRONG_SCOPE,
                Signing::Scope(Scope {
                    service: "iam".into(),
                    region: "eu-west-1".into(),
                }),
                "403 SignatureDoesNotMatch",
                Some("SignatureDoesNotMatch"),
            ),
        ];
        for (rule, signing, expected, code) in cases {
            let ex = self
                .send(&Req::new(m, OPERATION, &[("UserName", &fixture)]).signed(signing))
                .await;
            let created = self.check_created(&ex, Some(&fixture));
            if let Some((id, _, _)) = &created {
                self.delete_key(&fixture, id).await;
            }
            let status_ok = match code {
                Some(c) => {
                    ex.code() == Some(c) && (ex.status() == 403 || c == "IncompleteSignature")
                }
                None => (400..500).contains(&ex.status()),
            };
            self.judge(
                rule,
                &ex,
                status_ok && created.is_none(),
                format!("{expected}, and no key created"),
            );
        }
        // Cross-user: a user with only its own key asks for a key for another user.
        let a = self.name("alice");
        let b = self.name("bob");
        self.create_user(&a).await;
        self.create_user(&b).await;
        let ex = self.create_key(&a).await;
        if let Some((id, _, secret)) = self.check_created(&ex, Some(&a)) {
            // A brand-new key may take a moment to work on eventually consistent services.
            let as_a = Signing::As(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: None,
            });
            let ex = self
                .send(&Req::new(m, OPERATION, &[("UserName", &b)]).signed(as_a))
                .await;
            let created = self.check_created(&ex, Some(&b));
            self.judge(
                RuleId::AUTH_CROSS_USER,
                &ex,
                ex.status() == 403
                    && super::codes::means_access_denied(ex.code())
                    && created.is_none(),
                format!("403 AccessDenied: {a} may not create keys for {b}"),
            );
        } else {
            self.skip(
                RuleId::AUTH_CROSS_USER,
                "could not create a key for the test user",
            );
        }
        self.delete_user_fully(&a).await;
        self.delete_user_fully(&b).await;
        self.delete_user_fully(&fixture).await;
    }

    // ---- 8. Concurrency ------------------------------------------------------------------

    async fn concurrency(&self) {
        let rules = [RuleId::CONC_QUOTA, RuleId::CONC_UNIQUE_IDS];
        if !self.need(
            self.caps().can_create_users,
            &rules,
            "the target cannot create users",
        ) {
            return;
        }
        let user = self.name("race");
        self.create_user(&user).await;
        let n = self.config.parallel_creates.max(3);
        let reqs = (0..n).map(|_| Req::new(self.model, OPERATION, &[("UserName", &user)]));
        let exchanges: Vec<Exchange> =
            futures::stream::iter(reqs.map(|r| async move { self.send(&r).await }))
                .buffer_unordered(n)
                .collect()
                .await;
        let mut ok = 0;
        let mut last_ok = None;
        for ex in &exchanges {
            if self.check_created(ex, Some(&user)).is_some() {
                ok += 1;
                last_ok = Some(ex);
            }
        }
        let quota = self.model.facts().key_quota();
        let listed = self.list_key_ids(&user).await.map(|k| k.len()).unwrap_or(0);
        let witness = last_ok.unwrap_or(&exchanges[0]);
        self.judge(
            RuleId::CONC_QUOTA,
            witness,
            ok <= quota && listed <= quota,
            format!(
                "at most {quota} of {n} parallel creates to succeed ({ok} did, {listed} listed)"
            ),
        );
        self.delete_user_fully(&user).await;

        let users: Vec<String> = (0..4).map(|_| self.name("para")).collect();
        for u in &users {
            self.create_user(u).await;
        }
        let reqs: Vec<Req> = users
            .iter()
            .flat_map(|u| (0..quota).map(move |_| u.clone()))
            .map(|u| Req::new(self.model, OPERATION, &[("UserName", &u)]))
            .collect();
        let exchanges: Vec<Exchange> =
            futures::stream::iter(reqs.into_iter().map(|r| async move { self.send(&r).await }))
                .buffer_unordered(16)
                .collect()
                .await;
        // Every ID issued before this batch (and since deleted, perhaps) counts too.
        let mut ids = self
            .key_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for ex in &exchanges {
            let id = ex
                .judged()
                .and_then(|j| j.str_at("/AccessKey/AccessKeyId"))
                .map(str::to_owned);
            if let Some(id) = id {
                let user = ex
                    .case
                    .params
                    .iter()
                    .find(|(k, _)| k == "UserName")
                    .map(|(_, v)| v.clone());
                self.check_created(ex, user.as_deref());
                self.judge(
                    RuleId::CONC_UNIQUE_IDS,
                    ex,
                    ids.insert(id.clone()),
                    format!("distinct AccessKeyIds across parallel creates ({id} repeated)"),
                );
            }
        }
        for u in &users {
            self.delete_user_fully(u).await;
        }
    }

    // ---- 5. Lifecycle --------------------------------------------------------------------

    async fn lifecycle(&self) {
        let rules = lifecycle::RULES;
        if !self.need(
            self.caps().can_create_users,
            rules,
            "the target cannot create users",
        ) {
            return;
        }
        let auth = self.caps().verifies_signatures;
        if !auth {
            self.skip(
                RuleId::LIFE_KEY_AUTH,
                "the target does not verify signatures, so key status cannot govern authentication",
            );
            self.skip(
                RuleId::LIFE_IMPLICIT_USER,
                "the target does not verify signatures, so the signing user is not known to it",
            );
        }
        if let Some(replay) = &self.config.replay_sequence {
            let ignore: HashSet<&'static str> = rules
                .iter()
                .copied()
                .filter(|r| *r != replay.rule)
                .collect();
            if let Some(f) = self.run_sequence(&replay.steps, &ignore).await {
                self.fail_sequence(f);
            }
            return;
        }
        let strategy = lifecycle::sequences(auth);
        let mut runner = test_runner(self.config.seed ^ 0x5eed);
        let mut failed: HashSet<&'static str> = HashSet::new();
        // A sequence stops at its first broken invariant, so the scripted one is run again
        // with each broken rule set aside until it runs through: every invariant it touches is
        // judged, whatever breaks first, instead of being left to chance.
        let scripted = lifecycle::scripted(auth);
        for _ in 0..rules.len() {
            let Some(f) = self.run_sequence(&scripted, &failed).await else {
                break;
            };
            let f = self.drop_steps(f, &failed).await;
            failed.insert(f.rule);
            self.fail_sequence(f);
        }
        // Independent sequences run concurrently; the first failing sequence of each rule is
        // then shrunk on its own, re-run against the endpoint at every step.
        let mut trees = Vec::new();
        for _ in 0..self.config.sequences {
            match strategy.new_tree(&mut runner) {
                Ok(t) => trees.push(t),
                Err(_) => break,
            }
        }
        let first_pass = failed.clone();
        let results: Vec<Option<SeqFailure>> = super::all_in_order(
            trees.iter().map(|t| {
                let steps = t.current();
                let ignore = &first_pass;
                async move {
                    if !self.budget_left() {
                        return None;
                    }
                    self.run_sequence(&steps, ignore).await
                }
            }),
            (self.config.in_flight / 2).max(1),
        )
        .await;
        for (mut tree, result) in trees.into_iter().zip(results) {
            let Some(mut failure) = result else { continue };
            let rule = failure.rule;
            if failed.contains(rule) {
                continue;
            }
            let mut budget = 64;
            if tree.simplify() {
                while budget > 0 && self.budget_left() {
                    budget -= 1;
                    match self.run_sequence(&tree.current(), &failed).await {
                        Some(f) if f.rule == rule => {
                            failure = f;
                            if !tree.simplify() {
                                break;
                            }
                        }
                        _ => {
                            if !tree.complicate() {
                                break;
                            }
                        }
                    }
                }
            }
            // proptest's shrinking stops at its budget; dropping single steps finishes the job.
            let failure = self.drop_steps(failure, &failed).await;
            self.fail_sequence(failure);
            failed.insert(rule);
        }
    }

    /// Shrinks a sequence's failure by dropping one step at a time, latest first, keeping each
    /// drop after which the same rule still breaks: the scripted sequence has no proptest value
    /// tree, and a random one's tree stops at its budget. At most one rerun per step, each
    /// against the live endpoint.
    async fn drop_steps(&self, mut f: SeqFailure, ignore: &HashSet<&'static str>) -> SeqFailure {
        // The last step is the one that broke the rule: it stays.
        let mut i = f.sequence.len().saturating_sub(1);
        while i > 0 && self.budget_left() {
            i -= 1;
            let mut candidate = f.sequence.clone();
            candidate.remove(i);
            if let Some(g) = self.run_sequence(&candidate, ignore).await
                && g.rule == f.rule
            {
                f = g;
                i = i.min(f.sequence.len().saturating_sub(1));
            }
        }
        f
    }

    /// Records a sequence's failure, with its steps and the sequence a replay needs.
    fn fail_sequence(&self, f: SeqFailure) {
        let mut ex = f.exchange;
        ex.case.steps = f.steps;
        ex.case.sequence = Some(lifecycle::format_sequence(&f.sequence));
        self.fail(f.rule, &ex, f.expected);
    }

    /// Runs one sequence on fresh users; returns the first invariant it breaks (rules in
    /// `ignore` have failed already and are not judged again). Cleans up after itself.
    async fn run_sequence(
        &self,
        steps: &[lifecycle::Step],
        ignore: &HashSet<&'static str>,
    ) -> Option<SeqFailure> {
        let tag = self.name("seq");
        let mut exec = lifecycle::Executor::new(&tag, self.model.facts().key_quota());
        let mut failure = None;
        for (at, step) in steps.iter().enumerate() {
            let Some(planned) = exec.plan(step) else {
                continue;
            };
            let members: Vec<(&str, &str)> = planned
                .members
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            let mut req = Req::new(self.model, planned.action, &members);
            if let Some(c) = &planned.sign_as {
                req = req.signed(Signing::As(c.clone()));
            }
            if planned.action == "CreateUser" {
                let _ = self.ledger.record(&LedgerEntry::User {
                    name: planned.members[0].1.clone(),
                });
            }
            let ex = self.send(&req).await;
            let expected_user = planned
                .members
                .first()
                .map(|(_, v)| v.clone())
                .or(planned.implicit_user.clone());
            let key = if planned.action == OPERATION {
                self.check_created(&ex, expected_user.as_deref())
            } else {
                None
            };
            let create_date = ex
                .judged()
                .and_then(|j| j.str_at("/AccessKey/CreateDate"))
                .map(str::to_owned);
            let response = ex.judged().map(|j| lifecycle::Response {
                status: j.status,
                code: j.code().map(str::to_owned),
                message: j.observed.message.clone(),
                value: j.decoded.revealed_value(),
                leaks_secret: ex.leaks_secret,
            });
            for (rule, result) in exec.observe(&planned, response.as_ref(), key, create_date) {
                if ignore.contains(rule) {
                    continue;
                }
                match result {
                    Ok(()) => self.pass(rule),
                    Err(expected) if failure.is_none() => {
                        failure = Some(SeqFailure {
                            rule,
                            expected,
                            steps: exec.history(),
                            // The steps after the failing one never run: a replay needs
                            // only those up to it.
                            sequence: steps[..=at].to_vec(),
                            exchange: ex.clone(),
                        });
                    }
                    Err(_) => {}
                }
            }
            for (rule, why) in exec.take_unjudged() {
                if !ignore.contains(rule) {
                    self.skip(rule, &why);
                }
            }
            if failure.is_some() {
                break;
            }
        }
        for user in exec.users_to_clean() {
            self.delete_user_fully(&user).await;
        }
        failure
    }
}

/// The first broken invariant of a lifecycle sequence.
struct SeqFailure {
    rule: &'static str,
    expected: String,
    steps: Vec<String>,
    /// The abstract sequence that was run, up to the failing step.
    sequence: Vec<lifecycle::Step>,
    exchange: Exchange,
}

fn test_runner(seed: u64) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

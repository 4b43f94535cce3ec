//! The profile driver: sends the probes [`super::plan`] asks for, reads each answer against
//! the answer a valid value gets, and builds the limits.
//!
//! It owns no judgement of its own beyond that reading: an answer that is neither the valid
//! value's answer nor a 4xx (a 5xx, no answer, a redirect) is `unclear` and never counted as
//! accepted or refused. Everything it creates is written to the ledger before it is created
//! and deleted as soon as the probe is answered; whatever is still pending at the end goes
//! through [`crate::contract::cleanup_ledger`]. Every request, cleanup included, is counted on
//! the client, and a probe is only sent when the budget still covers it and the cleanup of
//! what is pending.

use super::plan::{
    self, Answer, Bounds, Context, End, Fillers, MemberKind, MemberPlan, Step, Template,
};
use super::{KIND, Limit, ProfileReport, ProfileSummary, ProfileTarget, Verdict};
use crate::client::{Client, Credentials, RawRequest, Scope, Signing, TransportError};
use crate::contract::{Ledger, LedgerEntry, cleanup_ledger};
use crate::generate::valid_of_length;
use crate::model::{Model, string_violations};
use crate::report::escape_text;
use crate::secret::{Secret, SecretScanner};
use crate::wire::{Outcome, decode_response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Requests kept back from probing for the cleanup at the end, on top of what the pending
/// users and keys would cost.
const RESERVE: usize = 10;
/// Retries of a throttled or transiently failed request.
const MAX_RETRIES: u32 = 4;

/// How to run a profile.
#[derive(Debug, Clone)]
pub struct ProfileConfig {
    /// `emulator`, a target profile's name, or `endpoint`.
    pub target_name: String,
    /// The most requests the run sends, cleanup included (the default is 1,000).
    pub budget: usize,
    pub ledger: PathBuf,
    /// Independent probes in flight at once.
    pub in_flight: usize,
    /// The prefix of every name the run creates; `None` draws `icx` + 8 hex digits.
    pub run_prefix: Option<String>,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            target_name: "endpoint".into(),
            budget: 1000,
            ledger: std::env::temp_dir().join(format!(
                "iam-contract-profile-ledger-{}.jsonl",
                std::process::id()
            )),
            in_flight: 8,
            run_prefix: None,
        }
    }
}

/// The profile cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("endpoint unreachable: {0}")]
    Unreachable(String),
    #[error("cannot write the ledger {path}: {reason}")]
    Ledger { path: String, reason: String },
}

/// A finished profile and what the caller needs to emit it safely.
#[derive(Debug)]
pub struct ProfileOutcome {
    pub report: ProfileReport,
    /// Every secret the run saw (its credentials and every key it was given), for the secret
    /// tripwire over everything the caller prints or writes.
    pub secrets: Vec<Secret>,
    /// What cleanup could not delete (the ledger is kept then).
    pub cleanup_left: Vec<String>,
}

/// Measures every limit of the plan against the client's endpoint. Everything created is
/// deleted before this returns; if the future is dropped midway, the ledger names what is left.
pub async fn run_profile(
    client: &Client,
    model: &Model,
    config: &ProfileConfig,
) -> Result<ProfileOutcome, ProfileError> {
    let started = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let client = client.clone().with_request_counter(sent.clone());
    let (ledger, prefix) =
        Ledger::start_run(&config.ledger, client.endpoint(), config.run_prefix.clone()).map_err(
            |e| ProfileError::Ledger {
                path: config.ledger.display().to_string(),
                reason: e.to_string(),
            },
        )?;
    let secrets: Vec<Secret> = client
        .credentials()
        .map(|c| c.secrets())
        .unwrap_or_default();
    let d = Driver {
        client: &client,
        model,
        config,
        scanner: RwLock::new(SecretScanner::new(&secrets)),
        secrets: Mutex::new(secrets),
        prefix,
        ledger,
        sent,
        retries: AtomicUsize::new(0),
        uniq: AtomicUsize::new(0),
        pending: Mutex::new(Vec::new()),
    };
    let limits = d.run_all().await;
    let pending = d.pending_entries();
    let cleanup = cleanup_ledger(&client, model, &pending).await;
    if cleanup.left.is_empty() {
        let _ = std::fs::remove_file(d.ledger.path());
    }
    let limits = limits?;
    let mut report = ProfileReport {
        kind: KIND.into(),
        tool: format!("iam-contract {}", env!("CARGO_PKG_VERSION")),
        target: ProfileTarget {
            name: config.target_name.clone(),
            endpoint: client.endpoint().to_owned(),
        },
        summary: ProfileSummary {
            requests: d.sent.load(Ordering::Relaxed),
            budget: config.budget,
            retries: d.retries.load(Ordering::Relaxed),
            elapsed_ms: started.elapsed().as_millis() as u64,
            ..ProfileSummary::default()
        },
        limits,
    };
    report.recount();
    let secrets = d.secrets.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(ProfileOutcome {
        report,
        secrets,
        cleanup_left: cleanup.left,
    })
}

/// What came back for one request. Codes are scrubbed of every secret the run has seen and
/// escaped: they come from the endpoint and end up in reports.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    code: Option<String>,
    transport: Option<String>,
    /// A key the request created: (user, id).
    key: Option<(String, String)>,
    /// The decoded success value (secrets redacted), for the few probes that read a listing.
    value: Option<serde_json::Value>,
    /// The request never reached the service (no connection, or it could not be built).
    unsent: bool,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `HTTP 404 NoSuchEntity`, or `no response (...)`.
    fn describe(&self) -> String {
        match (&self.transport, &self.code) {
            (Some(t), _) => format!("no response ({t})"),
            (None, Some(c)) => format!("HTTP {} {c}", self.status),
            (None, None) => format!("HTTP {}", self.status),
        }
    }

    /// How a probe's answer reads against `base`, the answer a valid value got.
    fn read_against(&self, base: &Reply) -> Answer {
        if self.transport.is_some() || self.status >= 500 || (300..400).contains(&self.status) {
            Answer::Unclear(self.describe())
        } else if self.ok() || (self.status == base.status && self.code == base.code) {
            Answer::Accepted
        } else {
            Answer::Refused
        }
    }
}

/// A probe answer and how it was answered, for notes.
type Known<K> = HashMap<K, (Answer, String)>;

struct Driver<'a> {
    client: &'a Client,
    model: &'a Model,
    config: &'a ProfileConfig,
    prefix: String,
    ledger: Ledger,
    sent: Arc<AtomicUsize>,
    retries: AtomicUsize,
    uniq: AtomicUsize,
    /// What may exist on the target because of this run: recorded before creation, dropped
    /// once deleted or refused.
    pending: Mutex<Vec<LedgerEntry>>,
    secrets: Mutex<Vec<Secret>>,
    scanner: RwLock<SecretScanner>,
}

/// The behavioural probes' estimated cost, checked against the budget before they start.
const BEHAVIOUR_COST: usize = 90;

impl Driver<'_> {
    fn pending_entries(&self) -> Vec<LedgerEntry> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What cleaning up everything pending would cost at most.
    fn reserve(&self) -> usize {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let cost: usize = pending
            .iter()
            .map(|e| match e {
                LedgerEntry::User { .. } => 3,
                LedgerEntry::Key { .. }
                | LedgerEntry::RootKey { .. }
                | LedgerEntry::Policy { .. } => 1,
                LedgerEntry::Run { .. } => 0,
            })
            .sum();
        RESERVE + cost
    }

    /// Whether `n` more requests fit in the budget, keeping the cleanup reserve.
    fn affordable(&self, n: usize) -> bool {
        self.sent.load(Ordering::Relaxed) + n + self.reserve() <= self.config.budget
    }

    fn budget_reason(&self) -> String {
        format!(
            "not measured within the request budget of {} (the run probes CreateAccessKey and CreateUser first, then the behavioural limits, then the other operations; `--budget` raises it)",
            self.config.budget
        )
    }

    fn remember(&self, entry: LedgerEntry) {
        let _ = self.ledger.record(&entry);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry);
    }

    fn forget(&self, entry: &LedgerEntry) {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = p.iter().position(|e| e == entry) {
            p.remove(i);
        }
    }

    fn learn_secret(&self, s: &Secret) {
        if s.is_empty() {
            return;
        }
        let mut v = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        v.push(s.clone());
        self.scanner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(s);
    }

    /// Sends one request, retrying throttling and transport hiccups.
    async fn send(
        &self,
        action: &str,
        members: &[(String, String)],
        method: &str,
        signing: &Signing,
    ) -> Reply {
        let mut params = vec![
            ("Action".to_owned(), action.to_owned()),
            (
                "Version".to_owned(),
                self.model.metadata().api_version.clone(),
            ),
        ];
        params.extend(members.iter().cloned());
        let mut raw = if method == "GET" {
            RawRequest::query(&params)
        } else {
            RawRequest::form(&params)
        };
        raw.method = method.to_owned();
        let mut attempt = 0;
        let result = loop {
            let r = self.client.send(&raw, signing).await;
            let retry = match &r {
                Ok(resp) => {
                    resp.status == 429
                        || resp.status == 503
                        || (resp.status == 400
                            && String::from_utf8_lossy(&resp.body).contains("<Code>Throttling"))
                }
                Err(
                    TransportError::Timeout { .. }
                    | TransportError::Other { .. }
                    | TransportError::Connect { .. },
                ) => true,
                Err(_) => false,
            };
            if retry && attempt < MAX_RETRIES && self.affordable(1) {
                attempt += 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                continue;
            }
            break r;
        };
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                return Reply {
                    status: 0,
                    code: None,
                    transport: Some(escape_text(&e.to_string())),
                    key: None,
                    value: None,
                    unsent: !matches!(
                        e,
                        TransportError::Timeout { .. }
                            | TransportError::Other { .. }
                            | TransportError::TooLarge { .. }
                    ),
                };
            }
        };
        let decode_as = if self.model.operation(action).is_some() {
            action
        } else {
            "GetUser"
        };
        let decoded = decode_response(self.model, decode_as, &resp.body);
        for (_, s) in &decoded.secrets {
            self.learn_secret(s);
        }
        let code = decoded.error().and_then(|e| e.code.clone()).map(|c| {
            let scrubbed = self
                .scanner
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .scrub(&c);
            escape_text(&scrubbed.chars().take(64).collect::<String>())
        });
        let mut key = None;
        if (200..300).contains(&resp.status)
            && let Outcome::Success { value, .. } = &decoded.outcome
            && let Some(id) = value
                .pointer("/AccessKey/AccessKeyId")
                .and_then(|v| v.as_str())
        {
            let asked = members
                .iter()
                .find(|(k, _)| k == "UserName")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let user = value
                .pointer("/AccessKey/UserName")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .unwrap_or(asked);
            self.remember(LedgerEntry::Key {
                user: user.clone(),
                id: id.to_owned(),
            });
            key = Some((user, id.to_owned()));
        }
        let value = match decoded.outcome {
            Outcome::Success { value, .. } if (200..300).contains(&resp.status) => Some(value),
            _ => None,
        };
        Reply {
            status: resp.status,
            code,
            transport: None,
            key,
            value,
            unsent: false,
        }
    }

    async fn call(&self, action: &str, members: &[(&str, &str)]) -> Reply {
        let owned: Vec<(String, String)> = members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.send(action, &owned, "POST", &Signing::Normal).await
    }

    async fn create_user(&self, name: &str) -> Reply {
        let entry = LedgerEntry::User { name: name.into() };
        self.remember(entry.clone());
        let r = self.call(plan::CREATE_USER, &[("UserName", name)]).await;
        // A clean refusal created nothing; anything else stays pending for cleanup.
        if (400..500).contains(&r.status) {
            self.forget(&entry);
        }
        r
    }

    async fn delete_user(&self, name: &str) {
        let r = self.call("DeleteUser", &[("UserName", name)]).await;
        if r.ok() || r.status == 404 {
            self.forget(&LedgerEntry::User { name: name.into() });
        }
    }

    async fn delete_key(&self, user: &str, id: &str) {
        let mut members = vec![("AccessKeyId", id)];
        if !user.is_empty() {
            members.insert(0, ("UserName", user));
        }
        let r = self.call("DeleteAccessKey", &members).await;
        if r.ok() || r.status == 404 {
            self.forget(&LedgerEntry::Key {
                user: user.into(),
                id: id.into(),
            });
        }
    }

    /// Deletes a key a probe created, if it did.
    async fn drop_key(&self, r: &Reply) {
        if let Some((user, id)) = &r.key {
            self.delete_key(user, id).await;
        }
    }

    fn next_uniq(&self) -> String {
        self.uniq.fetch_add(1, Ordering::Relaxed).to_string()
    }

    async fn run_all(&self) -> Result<Vec<Limit>, ProfileError> {
        // The run's own user: the request CreateUser.Path is probed with, and the user the
        // authentication, method and skew probes work on.
        let main = format!("{}-main", self.prefix);
        if !self.affordable(2) {
            // Not even the run's own user (and its deletion) fits: nothing is measured.
            let reason = self.budget_reason();
            let mut out = Vec::new();
            for p in plan::member_plans(self.model)
                .iter()
                .filter(|p| p.tier == 0)
            {
                out.extend(self.not_measured_rows(p, &reason));
            }
            out.extend(
                behaviour_rows(self.model)
                    .into_iter()
                    .map(|(id, title, source, model)| {
                        plan::not_measured(id.into(), title, &source, model, &reason)
                    }),
            );
            for p in plan::member_plans(self.model).iter().filter(|p| p.tier > 0) {
                out.extend(self.not_measured_rows(p, &reason));
            }
            return Ok(out);
        }
        let created = self.create_user(&main).await;
        if let Some(t) = &created.transport {
            // Nothing reached the service, so nothing was created and there is nothing to
            // clean up (cleanup would only retry against the same closed port); after a
            // timeout the user may exist, and cleanup tries.
            if created.unsent {
                self.forget(&LedgerEntry::User { name: main });
            }
            return Err(ProfileError::Unreachable(t.clone()));
        }
        let existing_user = created.ok().then(|| main.clone());
        let no_user_reason = format!(
            "the run could not create its own user ({})",
            created.describe()
        );
        let fillers = self.fillers(existing_user.clone());
        let plans = plan::member_plans(self.model);
        let mut limits = Vec::new();
        for p in plans.iter().filter(|p| p.tier == 0) {
            limits.extend(self.measure_member(p, &fillers).await);
        }
        limits.extend(
            self.behaviour(existing_user.as_deref(), &no_user_reason)
                .await,
        );
        for p in plans.iter().filter(|p| p.tier > 0) {
            limits.extend(self.measure_member(p, &fillers).await);
        }
        if existing_user.is_some() {
            self.delete_user(&main).await;
        }
        Ok(limits)
    }

    fn fillers(&self, existing_user: Option<String>) -> Fillers {
        let user_shape = self.model.input_string("CreateAccessKey", "UserName");
        let mut missing_user = format!("{}-nx", self.prefix);
        if let Some(s) = user_shape
            && !string_violations(s, &missing_user).is_empty()
        {
            missing_user = valid_of_length(s, &format!("{}nx", self.prefix), 16);
        }
        let key_shape = self
            .model
            .operations()
            .find_map(|op| self.model.input_string(&op.name, "AccessKeyId").cloned());
        let fake_key_id = match key_shape {
            Some(s) => {
                let len = 20u64.max(s.min.unwrap_or(0)).min(s.max.unwrap_or(u64::MAX)) as usize;
                valid_of_length(&s, &format!("{}k", self.prefix).to_uppercase(), len)
            }
            None => "0".repeat(20),
        };
        Fillers {
            missing_user,
            existing_user,
            fake_key_id,
        }
    }

    // ---- input members ---------------------------------------------------------------------

    /// What one probe of `plan` costs in requests, as planned: what a Create operation makes
    /// (a user, or a key when a probed name happens to exist) is deleted right after.
    fn probe_cost(plan: &MemberPlan) -> usize {
        if plan.operation.starts_with("Create") {
            2
        } else {
            1
        }
    }

    /// [`Self::probe_cost`] for one value: a name without the run's prefix is looked up first.
    fn value_cost(&self, plan: &MemberPlan, value: &str) -> usize {
        Self::probe_cost(plan) + usize::from(self.needs_lookup(plan, value))
    }

    /// Whether a probe value must be looked up before it is sent: a name without the run's
    /// prefix that the probe would create or delete. (No user can be called "": the empty name
    /// is never looked up, and some services answer GetUser of it with the signer.)
    fn needs_lookup(&self, plan: &MemberPlan, value: &str) -> bool {
        plan.touches_named_user() && !value.is_empty() && !value.starts_with(&self.prefix)
    }

    fn not_measured_rows(&self, plan: &MemberPlan, reason: &str) -> Vec<Limit> {
        plan.constraints()
            .into_iter()
            .map(|(c, title)| {
                plan::not_measured(
                    plan.id(c),
                    title,
                    "model",
                    plan::model_text(plan, c),
                    reason,
                )
            })
            .collect()
    }

    /// Sends one probe of `plan` with `value` and reads it against `base` (`None` for the base
    /// probe itself, whose reply is returned as it is).
    async fn probe(&self, plan: &MemberPlan, fillers: &Fillers, value: &str) -> Reply {
        if self.needs_lookup(plan, value) {
            // A name without the run's prefix may belong to someone: never create or delete
            // an existing user of that name.
            let who = self.call("GetUser", &[("UserName", value)]).await;
            if who.ok() || who.transport.is_some() || who.status >= 500 {
                return Reply {
                    status: 0,
                    code: None,
                    transport: Some(format!(
                        "not sent: GetUser of that name answered {}, so the name may belong to someone",
                        who.describe()
                    )),
                    key: None,
                    value: None,
                    unsent: true,
                };
            }
        }
        let Some(members) = plan::request_members(self.model, plan, fillers, value) else {
            return Reply {
                status: 0,
                code: None,
                transport: Some("not sent: the run has no user of its own".into()),
                key: None,
                value: None,
                unsent: true,
            };
        };
        let entry = LedgerEntry::User {
            name: value.to_owned(),
        };
        if plan.context == Context::Creates {
            self.remember(entry.clone());
        }
        let r = self
            .send(&plan.operation, &members, "POST", &Signing::Normal)
            .await;
        self.drop_key(&r).await;
        if plan.context == Context::Creates {
            if r.ok() {
                self.delete_user(value).await;
            } else if (400..500).contains(&r.status) {
                self.forget(&entry);
            }
        }
        r
    }

    async fn measure_member(&self, plan: &MemberPlan, fillers: &Fillers) -> Vec<Limit> {
        let cost = Self::probe_cost(plan);
        let (template, base_value) = match &plan.kind {
            MemberKind::Str(s) if !s.enum_values.is_empty() => (None, s.enum_values[0].clone()),
            MemberKind::Str(s) => {
                let seed = match plan.context {
                    Context::Creates => format!("{}v", self.prefix),
                    _ => format!("{}n", self.prefix),
                };
                match plan::template(s, &seed) {
                    Some(t) => {
                        let b = t.base();
                        (Some(t), b)
                    }
                    None => {
                        return self.not_measured_rows(
                            plan,
                            "no valid value could be built for the model's constraints",
                        );
                    }
                }
            }
            MemberKind::Int { min, max } => (None, min.or(*max).unwrap_or(1).to_string()),
        };
        // The cheapest a member can be: its base, its range's four bounds or its enum values,
        // and one probe per refused character; more is checked as the searches go.
        let estimate = match &plan.kind {
            MemberKind::Str(s) if !s.enum_values.is_empty() => {
                1 + plan::enum_candidates(&s.enum_values).len()
            }
            MemberKind::Str(s) => {
                let chars = match (&template, &s.pattern) {
                    (Some(t), Some(_)) => plan::char_plan(s, t).groups.len(),
                    _ => 0,
                };
                1 + 4 + chars
            }
            MemberKind::Int { .. } => 1 + 4,
        } * cost;
        if !self.affordable(estimate) {
            return self.not_measured_rows(plan, &self.budget_reason());
        }
        if plan.context == Context::Conflict && fillers.existing_user.is_none() {
            return self.not_measured_rows(plan, "the run has no user of its own to collide with");
        }
        let base = self.probe(plan, fillers, &base_value).await;
        let usable =
            base.transport.is_none() && (base.ok() || base.status == 404 || base.status == 409);
        if !usable {
            return self.not_measured_rows(
                plan,
                &format!(
                    "a value the model allows ({}) was answered {}, so acceptance cannot be told from refusal",
                    crate::report::quoted(&base_value),
                    base.describe()
                ),
            );
        }
        match (&plan.kind, template) {
            (MemberKind::Str(s), None) => vec![self.measure_enum(plan, fillers, s, &base).await],
            (MemberKind::Str(s), Some(t)) => {
                let mut out = Vec::new();
                if s.min.is_some() || s.max.is_some() {
                    let bounds = Bounds {
                        model_min: s.min.map(|v| v as i64),
                        model_max: s.max.map(|v| v as i64),
                        floor: 0,
                        cap: plan::LENGTH_CAP,
                        inside: Some(t.base_len() as i64),
                    };
                    out.extend(
                        self.measure_range(plan, fillers, &base, bounds, "characters", &|n| {
                            t.of_len(n.max(0) as usize)
                        })
                        .await,
                    );
                }
                if s.pattern.is_some() {
                    out.push(self.measure_chars(plan, fillers, s, &t, &base).await);
                }
                out
            }
            (MemberKind::Int { min, max }, _) => {
                let bounds = Bounds {
                    model_min: *min,
                    model_max: *max,
                    floor: plan::INTEGER_FLOOR,
                    cap: plan::INTEGER_CAP,
                    inside: base_value.parse().ok(),
                };
                self.measure_range(plan, fillers, &base, bounds, "", &|n| n.to_string())
                    .await
            }
        }
    }

    async fn measure_range(
        &self,
        plan: &MemberPlan,
        fillers: &Fillers,
        base: &Reply,
        bounds: Bounds,
        unit: &str,
        value_of: &dyn Fn(i64) -> String,
    ) -> Vec<Limit> {
        let mut known: Known<i64> = HashMap::new();
        if let Some(i) = bounds.inside {
            known.insert(i, (Answer::Accepted, base.describe()));
        }
        let found = loop {
            match plan::range_step(&bounds, &|n| known.get(&n).map(|(a, _)| a.clone())) {
                Step::Done(r) => break r,
                Step::Need(ns) => {
                    for n in ns {
                        let value = value_of(n);
                        if !self.affordable(self.value_cost(plan, &value)) {
                            known.insert(
                                n,
                                (
                                    Answer::Unclear("the request budget was spent".into()),
                                    String::new(),
                                ),
                            );
                            continue;
                        }
                        let r = self.probe(plan, fillers, &value).await;
                        known.insert(n, (r.read_against(base), r.describe()));
                    }
                }
            }
        };
        let ids = match plan.kind {
            MemberKind::Str(_) => ("length-min", "length-max"),
            MemberKind::Int { .. } => ("range-min", "range-max"),
        };
        plan::range_limits(
            plan,
            ids,
            &bounds,
            &found,
            &|n| known.get(&n).map(|(_, d)| d.clone()),
            unit,
        )
    }

    async fn measure_chars(
        &self,
        plan: &MemberPlan,
        fillers: &Fillers,
        shape: &crate::model::StringShape,
        t: &Template,
        base: &Reply,
    ) -> Limit {
        let cost = Self::probe_cost(plan);
        let plan::CharPlan { expected, groups } = plan::char_plan(shape, t);
        let chars: Vec<char> = expected.iter().map(|(c, _)| *c).collect();
        let model_ok = |c: &char| expected.iter().any(|(e, ok)| e == c && *ok);
        let head = (
            plan.id("characters"),
            plan.constraints()
                .into_iter()
                .find(|(c, _)| *c == "characters")
                .map(|(_, t)| t)
                .unwrap_or_default(),
            "model".to_owned(),
        );
        let mut known: Known<Vec<char>> = HashMap::new();
        let answers = loop {
            match plan::char_step(&groups, &|g| known.get(g).map(|(a, _)| a.clone())) {
                Step::Done(out) => break Ok(out),
                Step::Need(gs) => {
                    if !self.affordable(gs.len() * cost) {
                        if known.is_empty() {
                            break Err(self.budget_reason());
                        }
                        for g in gs {
                            known.insert(
                                g,
                                (
                                    Answer::Unclear("the request budget was spent".into()),
                                    String::new(),
                                ),
                            );
                        }
                        continue;
                    }
                    let probes = gs.iter().map(|g| {
                        let value = t.with_chars(g, &self.next_uniq());
                        async move { self.probe(plan, fillers, &value).await }
                    });
                    let replies =
                        crate::contract::all_in_order(probes, self.config.in_flight).await;
                    for (g, r) in gs.into_iter().zip(replies) {
                        known.insert(g, (r.read_against(base), r.describe()));
                    }
                }
            }
        };
        plan::set_limit(
            head,
            &chars,
            &model_ok,
            &answers,
            &|c| plan::char_label(*c),
            &|set| plan::describe_chars(set),
        )
    }

    async fn measure_enum(
        &self,
        plan: &MemberPlan,
        fillers: &Fillers,
        shape: &crate::model::StringShape,
        base: &Reply,
    ) -> Limit {
        let candidates = plan::enum_candidates(&shape.enum_values);
        let probes = candidates.iter().skip(1).map(|v| async move {
            let r = self.probe(plan, fillers, v).await;
            (v.clone(), r.read_against(base))
        });
        let mut answers = vec![(candidates[0].clone(), Answer::Accepted)];
        answers.extend(crate::contract::all_in_order(probes, self.config.in_flight).await);
        let values = shape.enum_values.clone();
        plan::set_limit(
            (
                plan.id("enum"),
                plan.constraints()
                    .into_iter()
                    .find(|(c, _)| *c == "enum")
                    .map(|(_, t)| t)
                    .unwrap_or_default(),
                "model".into(),
            ),
            &candidates,
            &|v| values.contains(v),
            &Ok(answers),
            &|v| v.clone(),
            &|set| set.join(" "),
        )
    }

    // ---- behavioural limits ----------------------------------------------------------------

    async fn behaviour(&self, user: Option<&str>, no_user: &str) -> Vec<Limit> {
        let facts = self.model.facts();
        let mut out = Vec::new();
        let rows = behaviour_rows(self.model);
        if !self.affordable(BEHAVIOUR_COST) {
            let reason = self.budget_reason();
            return rows
                .into_iter()
                .map(|(id, title, source, model)| {
                    plan::not_measured(id.into(), title, &source, model, &reason)
                })
                .collect();
        }
        let row = |id: &str| {
            rows.iter()
                .find(|r| r.0 == id)
                .cloned()
                .expect("a behaviour row of the plan")
        };
        let limit = |id: &str, measured: Result<(String, Verdict, Option<String>), String>| {
            let (id, title, source, model) = row(id);
            match measured {
                Ok((m, verdict, note)) => Limit {
                    id: id.into(),
                    title,
                    source,
                    model,
                    measured: Some(m),
                    verdict,
                    note,
                },
                Err(reason) => plan::not_measured(id.into(), title, &source, model, &reason),
            }
        };

        // Keys per user, and whether Inactive keys count.
        let (quota, inactive) = self.quota().await;
        let model_quota = facts.limits.access_keys_per_user.value as i64;
        out.push(limit(
            "behaviour.keys-per-user",
            quota.map(|(end, note)| match end {
                End::Exact(n) => (
                    n.to_string(),
                    plan::compare(n, model_quota, true),
                    Some(note),
                ),
                End::Capped(n) => (
                    format!("{n} or more (the search's cap)"),
                    plan::compare(n, model_quota, true),
                    Some(note),
                ),
            }),
        ));
        let model_counts = facts.behaviour("inactive-keys-count").is_some();
        out.push(limit(
            "behaviour.inactive-keys-count",
            inactive.map(|(counts, note)| {
                (
                    yes_no(counts).into(),
                    // Not counting Inactive keys lets a user hold more keys: looser.
                    Verdict::of(model_counts && !counts, !model_counts && counts),
                    Some(note),
                )
            }),
        ));

        // Case folding of user names.
        let model_folds = facts.behaviour("user-names-fold-case").is_some();
        out.push(limit(
            "behaviour.user-names-fold-case",
            self.fold_case().await.map(|(folds, note)| {
                (
                    yes_no(folds).into(),
                    Verdict::of(model_folds && !folds, !model_folds && folds),
                    Some(note),
                )
            }),
        ));

        // The clock-skew window, both ways.
        let window = (facts.limits.clock_skew_seconds.value / 60) as i64;
        for (id, sign) in [
            ("behaviour.clock-skew-past", -1i64),
            ("behaviour.clock-skew-future", 1),
        ] {
            out.push(limit(
                id,
                self.skew(user, sign, window)
                    .await
                    .map(|(end, note)| match end {
                        End::Exact(n) => {
                            (n.to_string(), plan::compare(n, window, true), Some(note))
                        }
                        End::Capped(n) => (
                            format!("{n} or more (the search's cap)"),
                            plan::compare(n, window, true),
                            Some(note),
                        ),
                    }),
            ));
        }

        // Which methods act, then which authentication failures are refused.
        let (methods, post_works) = match user {
            Some(u) => self.methods(u).await,
            None => (Err(no_user.to_owned()), Err(no_user.to_owned())),
        };
        let acting = facts.protocol.acting_methods.clone();
        let (id, title, source, _) = row("behaviour.methods-that-act");
        let methods_limit = plan::set_limit(
            (id.into(), title, source),
            &METHODS.map(str::to_owned),
            &|m| acting.iter().any(|a| a.eq_ignore_ascii_case(m)),
            &methods
                .as_ref()
                .map(|(a, _)| a.clone())
                .map_err(Clone::clone),
            &|m| m.clone(),
            &|set| set.join(" "),
        );
        out.push(Limit {
            note: match (&methods, methods_limit.note.clone()) {
                (Ok((_, how)), None) => Some(how.clone()),
                (Ok((_, how)), Some(n)) => Some(format!("{how}. {n}")),
                (Err(_), n) => n,
            },
            ..methods_limit
        });
        for probe in &AUTH_PROBES {
            let measured = match (user, &post_works) {
                (Some(u), Ok(())) => self.auth(u, probe).await,
                (_, Err(reason)) => Err(reason.clone()),
                (None, _) => Err(no_user.to_owned()),
            };
            out.push(limit(
                probe.id,
                measured.map(|(refused, how)| {
                    (
                        if refused { "refused" } else { "accepted" }.to_owned(),
                        Verdict::of(!refused, false),
                        Some(how),
                    )
                }),
            ));
        }
        out
    }

    /// Creates keys for a user of its own until one is refused (at most [`plan::QUOTA_CAP`]),
    /// then, with the quota full, sets one key Inactive and tries once more.
    #[allow(clippy::type_complexity)]
    async fn quota(
        &self,
    ) -> (
        Result<(End, String), String>,
        Result<(bool, String), String>,
    ) {
        let user = format!("{}-quota", self.prefix);
        let created = self.create_user(&user).await;
        if !created.ok() {
            let why = format!(
                "could not create a user for the probe ({})",
                created.describe()
            );
            return (Err(why.clone()), Err(why));
        }
        let mut keys: Vec<String> = Vec::new();
        let mut refusal = None;
        let mut unclear = None;
        for _ in 0..plan::QUOTA_CAP {
            let r = self.call("CreateAccessKey", &[("UserName", &user)]).await;
            match &r.key {
                Some((_, id)) => keys.push(id.clone()),
                None if (400..500).contains(&r.status) => {
                    refusal = Some(r);
                    break;
                }
                None => {
                    unclear = Some(r);
                    break;
                }
            }
        }
        let quota = match (&refusal, &unclear) {
            (_, Some(r)) => Err(format!(
                "CreateAccessKey number {} was answered {}",
                keys.len() + 1,
                r.describe()
            )),
            (Some(r), None) => Ok((
                End::Exact(keys.len() as i64),
                format!("key {} refused: {}", keys.len() + 1, r.describe()),
            )),
            (None, None) => Ok((
                End::Capped(plan::QUOTA_CAP),
                format!("all {} keys created", plan::QUOTA_CAP),
            )),
        };
        let inactive = match (&refusal, keys.first()) {
            (Some(_), Some(first)) => {
                let upd = self
                    .call(
                        "UpdateAccessKey",
                        &[
                            ("UserName", &user),
                            ("AccessKeyId", first),
                            ("Status", "Inactive"),
                        ],
                    )
                    .await;
                if !upd.ok() {
                    Err(format!(
                        "UpdateAccessKey to Inactive was answered {}",
                        upd.describe()
                    ))
                } else {
                    let r = self.call("CreateAccessKey", &[("UserName", &user)]).await;
                    match &r.key {
                        Some((_, id)) => {
                            keys.push(id.clone());
                            Ok((
                                false,
                                "with one of the keys Inactive, another key was created".into(),
                            ))
                        }
                        None if (400..500).contains(&r.status) => Ok((
                            true,
                            format!(
                                "with one of the keys Inactive, another key was refused: {}",
                                r.describe()
                            ),
                        )),
                        None => Err(format!(
                            "CreateAccessKey with a key Inactive was answered {}",
                            r.describe()
                        )),
                    }
                }
            }
            (Some(r), None) => Err(format!(
                "no key could be created at all (the first CreateAccessKey was answered {})",
                r.describe()
            )),
            (None, _) => Err(match unclear {
                Some(_) => "the quota could not be measured".into(),
                None => format!(
                    "no quota up to the search's cap of {} keys, so there is nothing for an Inactive key to count against",
                    plan::QUOTA_CAP
                ),
            }),
        };
        for id in &keys {
            self.delete_key(&user, id).await;
        }
        self.delete_user(&user).await;
        (quota, inactive)
    }

    /// Creates a user, then the same name in other letter cases.
    async fn fold_case(&self) -> Result<(bool, String), String> {
        let first = format!("{}-Fold", self.prefix);
        let second = format!("{}-fOLD", self.prefix);
        let a = self.create_user(&first).await;
        if !a.ok() {
            return Err(format!(
                "could not create a user for the probe ({})",
                a.describe()
            ));
        }
        let b = self.create_user(&second).await;
        let out = if b.ok() {
            self.delete_user(&second).await;
            Ok((false, format!("{second} was created beside {first}")))
        } else if (400..500).contains(&b.status) {
            Ok((true, format!("{second} after {first}: {}", b.describe())))
        } else {
            Err(format!(
                "{second} after {first} was answered {}",
                b.describe()
            ))
        };
        self.delete_user(&first).await;
        out
    }

    /// The clock-skew window one way (`sign` -1: requests dated in the past, 1: in the future),
    /// in whole minutes, by bisection from the model's window.
    async fn skew(
        &self,
        user: Option<&str>,
        sign: i64,
        window: i64,
    ) -> Result<(End, String), String> {
        let members: Vec<(String, String)> = user
            .map(|u| vec![("UserName".to_owned(), u.to_owned())])
            .unwrap_or_default();
        let base = self
            .send("GetUser", &members, "POST", &Signing::Normal)
            .await;
        if base.transport.is_some()
            || base.status >= 500
            || base.status == 401
            || base.status == 403
        {
            return Err(format!(
                "a correctly signed GetUser was answered {}",
                base.describe()
            ));
        }
        let bounds = Bounds {
            model_min: None,
            model_max: Some(window),
            floor: 0,
            cap: plan::SKEW_CAP_MINUTES,
            inside: Some(0),
        };
        let mut known: Known<i64> = HashMap::new();
        known.insert(0, (Answer::Accepted, base.describe()));
        let found = loop {
            match plan::range_step(&bounds, &|n| known.get(&n).map(|(a, _)| a.clone())) {
                Step::Done(r) => break r,
                Step::Need(ns) => {
                    for m in ns {
                        if !self.affordable(1) {
                            known.insert(
                                m,
                                (
                                    Answer::Unclear("the request budget was spent".into()),
                                    String::new(),
                                ),
                            );
                            continue;
                        }
                        let secs = sign * (m * 60 - plan::SKEW_MARGIN_SECONDS).max(0);
                        let r = self
                            .send("GetUser", &members, "POST", &Signing::Skewed(secs))
                            .await;
                        known.insert(m, (r.read_against(&base), r.describe()));
                    }
                }
            }
        };
        let max = found.max?;
        let describe = |m: i64| {
            known
                .get(&m)
                .map(|(_, d)| format!("{m} min: {d}"))
                .unwrap_or_default()
        };
        let note = match max {
            End::Exact(m) => format!(
                "accepted at {}; refused at {}",
                describe(m),
                describe(m + 1)
            ),
            End::Capped(m) => format!("accepted at {}", describe(m)),
        };
        Ok((max, note))
    }

    /// For each probe method, whether a CreateAccessKey sent with it created a key (asked of
    /// the answer, and when that is not a success, of ListAccessKeys). Also says whether a
    /// plain signed POST works, which the authentication probes need.
    #[allow(clippy::type_complexity)]
    async fn methods(
        &self,
        user: &str,
    ) -> (
        Result<(Vec<(String, Answer)>, String), String>,
        Result<(), String>,
    ) {
        let members = vec![("UserName".to_owned(), user.to_owned())];
        let mut answers = Vec::new();
        let mut how = Vec::new();
        let mut post = Err("POST was not probed".to_owned());
        for m in METHODS {
            let r = self
                .send("CreateAccessKey", &members, m, &Signing::Normal)
                .await;
            let acted = if r.key.is_some() {
                self.drop_key(&r).await;
                Some(true)
            } else {
                // A service may act and still answer oddly: ask what the user holds now.
                match self.list_keys(user).await {
                    Some(ids) => {
                        for id in &ids {
                            self.remember(LedgerEntry::Key {
                                user: user.into(),
                                id: id.clone(),
                            });
                            self.delete_key(user, id).await;
                        }
                        Some(!ids.is_empty())
                    }
                    None => None,
                }
            };
            how.push(format!("{m}: {}", r.describe()));
            if m == "POST" {
                post = if acted == Some(true) {
                    Ok(())
                } else {
                    Err(format!(
                        "a correctly signed CreateAccessKey created no key ({})",
                        r.describe()
                    ))
                };
            }
            answers.push((
                m.to_owned(),
                match acted {
                    Some(true) => Answer::Accepted,
                    Some(false) => Answer::Refused,
                    None => Answer::Unclear(format!("{}; ListAccessKeys failed", r.describe())),
                },
            ));
        }
        (Ok((answers, how.join("; "))), post)
    }

    async fn list_keys(&self, user: &str) -> Option<Vec<String>> {
        let members = vec![("UserName".to_owned(), user.to_owned())];
        let r = self
            .send("ListAccessKeys", &members, "POST", &Signing::Normal)
            .await;
        let list = r.value?.get("AccessKeyMetadata")?.as_array()?.clone();
        Some(
            list.iter()
                .filter_map(|k| k.get("AccessKeyId").and_then(|v| v.as_str()))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Sends a CreateAccessKey for `user` signed the wrong way; refused unless a key came of
    /// it (asked of the answer and, when the answer is not a clean 4xx, of ListAccessKeys).
    async fn auth(&self, user: &str, probe: &AuthProbe) -> Result<(bool, String), String> {
        let Some(creds) = self.client.credentials() else {
            return Err("no credentials to sign with".into());
        };
        let signing = match probe.how {
            AuthHow::Unsigned => Signing::Unsigned,
            AuthHow::WrongSecret => {
                let mut wrong = creds.clone();
                wrong.secret_access_key =
                    Secret::new(format!("{}x", creds.secret_access_key.expose()));
                Signing::As(wrong)
            }
            AuthHow::UnknownKey => Signing::As(Credentials::new(
                format!("AKIA{:0<16}", self.prefix.to_uppercase())
                    .chars()
                    .take(20)
                    .collect::<String>(),
                "unknown-key-secret-0000000000000000000000",
            )),
            AuthHow::WrongService => Signing::Scope(Scope {
                service: "s3".into(),
                ..Scope::default()
            }),
            AuthHow::WrongRegion => Signing::Scope(Scope {
                region: "eu-west-1".into(),
                ..Scope::default()
            }),
        };
        let members = vec![("UserName".to_owned(), user.to_owned())];
        let r = self
            .send("CreateAccessKey", &members, "POST", &signing)
            .await;
        if r.key.is_some() {
            self.drop_key(&r).await;
            return Ok((false, format!("created a key: {}", r.describe())));
        }
        if !(400..500).contains(&r.status) {
            match self.list_keys(user).await {
                Some(ids) if !ids.is_empty() => {
                    for id in &ids {
                        self.remember(LedgerEntry::Key {
                            user: user.into(),
                            id: id.clone(),
                        });
                        self.delete_key(user, id).await;
                    }
                    return Ok((
                        false,
                        format!("answered {} and a key was created", r.describe()),
                    ));
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "answered {} and ListAccessKeys failed",
                        r.describe()
                    ));
                }
            }
        }
        Ok((true, format!("no key created: {}", r.describe())))
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The methods whose effect is probed, in report order.
const METHODS: [&str; 5] = ["POST", "GET", "PUT", "DELETE", "PATCH"];

#[derive(Debug, Clone, Copy)]
enum AuthHow {
    Unsigned,
    WrongSecret,
    UnknownKey,
    WrongService,
    WrongRegion,
}

struct AuthProbe {
    id: &'static str,
    how: AuthHow,
}

const AUTH_PROBES: [AuthProbe; 5] = [
    AuthProbe {
        id: "behaviour.auth-unsigned",
        how: AuthHow::Unsigned,
    },
    AuthProbe {
        id: "behaviour.auth-bad-signature",
        how: AuthHow::WrongSecret,
    },
    AuthProbe {
        id: "behaviour.auth-unknown-key",
        how: AuthHow::UnknownKey,
    },
    AuthProbe {
        id: "behaviour.auth-wrong-service",
        how: AuthHow::WrongService,
    },
    AuthProbe {
        id: "behaviour.auth-wrong-region",
        how: AuthHow::WrongRegion,
    },
];

/// The behavioural rows: id, title, source, the model's value, from the facts.
fn behaviour_rows(model: &Model) -> Vec<(&'static str, String, String, String)> {
    let f = model.facts();
    let fact_source = |id: &str| {
        f.behaviour(id)
            .map(|b| b.source.clone())
            .unwrap_or_else(|| "docs".into())
    };
    let quota = &f.limits.access_keys_per_user;
    let skew = &f.limits.clock_skew_seconds;
    let refused_as = |id: &str| {
        let e = f.error(id);
        (
            format!("refused ({} {})", e.status, e.code),
            e.source.clone(),
        )
    };
    let mut rows = vec![
        (
            "behaviour.keys-per-user",
            "keys a user may hold".to_owned(),
            quota.source.clone(),
            quota.value.to_string(),
        ),
        (
            "behaviour.inactive-keys-count",
            "Inactive keys count toward the quota".to_owned(),
            fact_source("inactive-keys-count"),
            yes_no(f.behaviour("inactive-keys-count").is_some()).to_owned(),
        ),
        (
            "behaviour.user-names-fold-case",
            "user names are unique regardless of case".to_owned(),
            fact_source("user-names-fold-case"),
            yes_no(f.behaviour("user-names-fold-case").is_some()).to_owned(),
        ),
        (
            "behaviour.clock-skew-past",
            "minutes a request may be dated in the past".to_owned(),
            skew.source.clone(),
            (skew.value / 60).to_string(),
        ),
        (
            "behaviour.clock-skew-future",
            "minutes a request may be dated in the future".to_owned(),
            skew.source.clone(),
            (skew.value / 60).to_string(),
        ),
        (
            "behaviour.methods-that-act",
            "HTTP methods with which CreateAccessKey creates a key".to_owned(),
            f.protocol.source.clone(),
            {
                let acting: Vec<&str> = METHODS
                    .into_iter()
                    .filter(|m| {
                        f.protocol
                            .acting_methods
                            .iter()
                            .any(|a| a.eq_ignore_ascii_case(m))
                    })
                    .collect();
                plan::set_model_text(acting.len(), METHODS.len(), &acting.join(" "))
            },
        ),
    ];
    for (id, title, fact) in [
        (
            "behaviour.auth-unsigned",
            "an unsigned request",
            "missing-authentication-token",
        ),
        (
            "behaviour.auth-bad-signature",
            "a request signed with a wrong secret",
            "signature-does-not-match",
        ),
        (
            "behaviour.auth-unknown-key",
            "a request signed with an unknown key",
            "invalid-client-token-id",
        ),
        (
            "behaviour.auth-wrong-service",
            "a request signed for another service",
            "signature-does-not-match",
        ),
        (
            "behaviour.auth-wrong-region",
            "a request signed for another region",
            "signature-does-not-match",
        ),
    ] {
        let (model_value, source) = refused_as(fact);
        rows.push((
            id,
            format!("{title} (CreateAccessKey)"),
            source,
            model_value,
        ));
    }
    rows
}

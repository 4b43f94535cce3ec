//! The runner: sends, and only sends.
//!
//! It owns what a run shares: scheduling and concurrency, retries of throttled or dropped
//! requests, the request budget, the secrets the run has seen (every response is scrubbed of all
//! of them), the ledger of what the run created, and the verdicts the judges hand back, which it
//! turns into the report. What to send and what an answer means belong to the rule classes in
//! [`rules`](super::rules): each class's driver asks the runner to send its planned requests and
//! passes the recorded [`Exchange`]s to its pure judges.
//!
//! Order of a run: the capability probe (who signs, are signatures checked, can users be
//! created), then the selected rule classes at once (the root class after the others, as the
//! root's keys are shared by the account), then cleanup of everything the ledger names.
//! `--only` runs only the classes whose rules are selected (all of them when a rule judged on
//! every response is selected).

use super::collect::{Acc, replay_command, rule_results};
use super::config::{Capabilities, CheckConfig, CheckError, CheckOutcome};
use super::exchange::{Exchange, decode_as};
use super::ledger::{Ledger, LedgerEntry, cleanup_ledger};
use super::probe;
use super::rules::{self, Judgement, OPERATION, Request, RuleId, RuleKey, Verdict};
use super::{Finding, Report, Rule, RuleClass, Summary, TargetInfo};
use crate::client::{Client, RawRequest, Signing, TransportError};
use crate::model::Model;
use crate::secret::{Secret, SecretScanner};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Retries of a throttled or transiently failed request.
const MAX_RETRIES: u32 = 4;

/// Runs the catalogue against the client's endpoint. The caller owns the client (and, for the
/// embedded emulator, the server). Everything created is deleted before this returns, on
/// success and on failure; if the future is dropped midway, the ledger names what is left.
pub async fn run_check(
    client: &Client,
    model: &Model,
    config: &CheckConfig,
) -> Result<CheckOutcome, CheckError> {
    let started = Instant::now();
    let (ledger, prefix) =
        Ledger::start_run(&config.ledger, client.endpoint(), config.run_prefix.clone()).map_err(
            |e| CheckError::Ledger {
                path: config.ledger.display().to_string(),
                reason: e.to_string(),
            },
        )?;
    let rules: Vec<Rule> = rules::catalogue(model)
        .into_iter()
        .filter(|r| r.profile <= config.profile)
        .filter(|r| {
            config.only.is_empty() || config.only.iter().any(|p| r.id.starts_with(p.as_str()))
        })
        .collect();
    let runner = Runner::new(client, model, config, prefix, ledger, &rules);
    let outcome = runner.run_all().await;
    let entries = Ledger::read(runner.ledger.path()).unwrap_or_default();
    let cleanup = cleanup_ledger(client, model, &entries).await;
    if cleanup.left.is_empty() {
        let _ = std::fs::remove_file(runner.ledger.path());
    }
    outcome?;

    let summary = Summary {
        cases_sent: runner.sent.load(Ordering::Relaxed),
        retries: runner.retries.load(Ordering::Relaxed),
        elapsed_ms: started.elapsed().as_millis() as u64,
        ..Summary::default()
    };
    let capabilities = runner.caps();
    let (acc, secrets) = runner.into_parts();
    let mut report = Report {
        tool: format!("iam-contract {}", env!("CARGO_PKG_VERSION")),
        target: TargetInfo {
            endpoint: client.endpoint().to_owned(),
            name: config.target_name.clone(),
            profile: config.profile,
            caller: Some(capabilities.caller.clone()),
        },
        summary,
        rules: rule_results(&rules, acc),
    };
    report.recount();
    Ok(CheckOutcome {
        report,
        secrets,
        capabilities,
        cleanup_left: cleanup.left,
    })
}

pub(crate) use super::rules::output::CreatedKey;

/// The shared state of one run, handed to every class driver.
pub(crate) struct Runner<'a> {
    client: &'a Client,
    model: &'a Model,
    config: &'a CheckConfig,
    prefix: String,
    ledger: Ledger,
    enabled: HashSet<String>,
    classes: HashSet<RuleClass>,
    acc: Mutex<BTreeMap<String, Acc>>,
    secrets: Mutex<Vec<Secret>>,
    /// A scanner over `secrets`, learning each one as it is added.
    scanner: RwLock<SecretScanner>,
    key_ids: Mutex<HashSet<String>>,
    sent: AtomicUsize,
    retries: AtomicUsize,
    /// Per-tag counters for generated names (`seq0`, `seq1`, ...): per tag rather than one
    /// shared counter, so that a name does not depend on how the concurrent classes interleave.
    counters: Mutex<BTreeMap<String, usize>>,
    caps: Mutex<Capabilities>,
    /// Whether PutUserPolicy works, probed once by the first class that needs it.
    policy_probe: tokio::sync::OnceCell<probe::Decision>,
    /// The inline policies the run put and has not deleted, by user: deleted before the user.
    policies: Mutex<BTreeMap<String, Vec<String>>>,
}

impl<'a> Runner<'a> {
    fn new(
        client: &'a Client,
        model: &'a Model,
        config: &'a CheckConfig,
        prefix: String,
        ledger: Ledger,
        rules: &[Rule],
    ) -> Runner<'a> {
        let secrets: Vec<Secret> = client
            .credentials()
            .map(|c| c.secrets())
            .unwrap_or_default();
        // A class runs when one of its rules is selected; every class runs when a rule that is
        // judged on every response (well-formed XML, no 5xx, ...) is selected.
        let cross_cutting = rules.iter().any(|r| rules::judged_on_every_class(&r.id));
        let classes = if cross_cutting {
            RuleClass::all().into_iter().collect()
        } else {
            rules.iter().map(|r| r.class).collect()
        };
        Runner {
            client,
            model,
            config,
            prefix,
            ledger,
            enabled: rules.iter().map(|r| r.id.clone()).collect(),
            classes,
            acc: Mutex::new(BTreeMap::new()),
            scanner: RwLock::new(SecretScanner::new(&secrets)),
            secrets: Mutex::new(secrets),
            key_ids: Mutex::new(HashSet::new()),
            sent: AtomicUsize::new(0),
            retries: AtomicUsize::new(0),
            counters: Mutex::new(BTreeMap::new()),
            caps: Mutex::new(Capabilities::default()),
            policy_probe: tokio::sync::OnceCell::new(),
            policies: Mutex::new(BTreeMap::new()),
        }
    }

    fn into_parts(self) -> (BTreeMap<String, Acc>, Vec<Secret>) {
        (
            self.acc.into_inner().unwrap_or_else(|p| p.into_inner()),
            self.secrets.into_inner().unwrap_or_else(|p| p.into_inner()),
        )
    }

    pub(crate) fn model(&self) -> &'a Model {
        self.model
    }

    pub(crate) fn config(&self) -> &'a CheckConfig {
        self.config
    }

    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn caps(&self) -> Capabilities {
        self.caps.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether `rule` is selected for this run.
    pub(crate) fn enabled(&self, rule: impl Into<RuleKey>) -> bool {
        self.enabled.contains(rule.into().as_str())
    }

    /// A fresh name under the run prefix: `<prefix>-<tag><n>`.
    pub(crate) fn name(&self, tag: &str) -> String {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let c = counters.entry(tag.to_owned()).or_default();
        let n = *c;
        *c += 1;
        format!("{}-{tag}{n}", self.prefix)
    }

    /// The user the capability probe created, shared by the protocol cases.
    pub(crate) fn fixture_name(&self) -> String {
        format!("{}-fixture", self.prefix)
    }

    pub(crate) fn budget_left(&self) -> bool {
        self.config
            .request_budget
            .is_none_or(|b| self.sent.load(Ordering::Relaxed) < b)
    }

    /// Records the judges' verdicts on one exchange.
    pub(crate) fn record(&self, ex: &Exchange, verdicts: impl IntoIterator<Item = Verdict>) {
        for v in verdicts {
            if !self.enabled.contains(v.rule.as_str()) {
                continue;
            }
            match v.judgement {
                Judgement::Pass => self.count(&v.rule),
                Judgement::Fail(expected) => self.fail(&v.rule, ex, expected),
                Judgement::Unjudged(reason) => self.skip(v.rule, &reason),
            }
        }
    }

    /// Notes that `rule` could not be judged, and why (kept when no case of it ran).
    pub(crate) fn skip(&self, rule: impl Into<RuleKey>, reason: &str) {
        let rule = rule.into();
        if !self.enabled.contains(rule.as_str()) {
            return;
        }
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        let a = acc.entry(rule.as_str().to_owned()).or_default();
        a.skip.get_or_insert_with(|| reason.to_owned());
    }

    /// Skips every rule in `rules`, with the probe's reason, when the target cannot create
    /// users; returns whether it can.
    pub(crate) fn need_users(&self, rules: &[RuleId]) -> bool {
        let caps = self.caps();
        let why = caps
            .why_no_users
            .unwrap_or_else(|| "the target cannot create users".into());
        self.need(caps.can_create_users, rules, &why)
    }

    /// Skips every rule in `rules` with `reason` when `cond` is false; returns `cond`.
    pub(crate) fn need(&self, cond: bool, rules: &[RuleId], reason: &str) -> bool {
        if !cond {
            for r in rules {
                self.skip(*r, reason);
            }
        }
        cond
    }

    fn count(&self, rule: &RuleKey) {
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        acc.entry(rule.as_str().to_owned()).or_default().cases += 1;
    }

    fn fail(&self, rule: &RuleKey, ex: &Exchange, expected: String) {
        let finding = Finding {
            case: ex.case.clone(),
            observed: ex.observed(),
            expected,
            // Assigned once the report is whole (`assign_fingerprints`).
            fingerprint: String::new(),
            replay: replay_command(
                self.config.replay_base.as_deref(),
                self.client.endpoint(),
                &self.prefix,
                rule.as_str(),
                &ex.case,
            ),
        };
        let mut acc = self.acc.lock().unwrap_or_else(|p| p.into_inner());
        let a = acc.entry(rule.as_str().to_owned()).or_default();
        a.cases += 1;
        // Every distinct finding is kept until the end of the run, which then keeps the first few
        // in a fixed order: cases finish concurrently, so arrival order is not stable from run to
        // run, and keeping only the first arrivals would make the report depend on it.
        if !a.findings.iter().any(|f| {
            f.case.wire == finding.case.wire
                && f.case.signing == finding.case.signing
                && f.case.steps == finding.case.steps
        }) {
            a.findings.push(finding);
        }
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

    /// Sends one request, retrying throttling and transport hiccups, records the exchange and
    /// applies the judges that hold for every response of the run.
    pub(crate) async fn send(&self, req: &Request) -> Exchange {
        let (raw, headers) = to_raw(req);
        let case = req.case();
        let mut attempt = 0;
        let (result, elapsed) = loop {
            self.sent.fetch_add(1, Ordering::Relaxed);
            if let Some(p) = &self.config.progress {
                p.fetch_add(1, Ordering::Relaxed);
            }
            let t0 = Instant::now();
            let r = self.transport(&raw, &req.signing).await;
            let elapsed = t0.elapsed().as_millis() as u64;
            if should_retry(self.model, &r) && attempt < MAX_RETRIES {
                attempt += 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                continue;
            }
            break (r, elapsed);
        };
        let decode = decode_as(self.model, &case.action).to_owned();
        let ex = {
            // Held only for the scan: the judges below may learn a secret (a write).
            let scanner = self.scanner.read().unwrap_or_else(|p| p.into_inner());
            Exchange::record(
                self.model,
                &decode,
                case,
                headers,
                result
                    .map(|r| (r.status, r.headers, r.body))
                    .map_err(|e| e.to_string()),
                elapsed,
                &scanner,
            )
        };
        // Whatever the probe meant, a key that came back is a key on the target: note it, so
        // cleanup deletes it even when the case expected a refusal.
        if ex.case.action == OPERATION
            && ex.is_success()
            && let Some(id) = ex.str_at("/AccessKey/AccessKeyId")
        {
            let entry = if self.makes_root_key(req) {
                LedgerEntry::RootKey { id: id.to_owned() }
            } else {
                LedgerEntry::Key {
                    user: ex
                        .str_at("/AccessKey/UserName")
                        .unwrap_or_default()
                        .to_owned(),
                    id: id.to_owned(),
                }
            };
            let _ = self.ledger.record(&entry);
        }
        self.record(&ex, rules::every_response(self.model, &ex));
        ex
    }

    /// Whether a CreateAccessKey makes a key for the account root: it names no user and is
    /// signed with the run's own key, which the probe found to be the root's. Such a key is
    /// deleted without UserName at cleanup (whatever `AccessKey.UserName` said, which is
    /// undocumented for a root key).
    fn makes_root_key(&self, req: &Request) -> bool {
        !req.params.iter().any(|(k, _)| k == "UserName")
            && !matches!(req.signing, Signing::As(_))
            && self.caps().caller.is_root()
    }

    /// Judges a CreateAccessKey without UserName, signed by the root, that should have
    /// created a root key (the output rules, with the key's undocumented `UserName` left
    /// unjudged), and, when it did, remembers the key like [`Runner::created`] does.
    pub(crate) fn created_root(&self, ex: &Exchange) -> Option<CreatedKey> {
        let now = time::OffsetDateTime::now_utc();
        let (verdicts, key) = rules::root::judge_root_created(self.model, ex, now)?;
        self.record(ex, verdicts);
        if !key.id.is_empty() {
            let _ = self
                .ledger
                .record(&LedgerEntry::RootKey { id: key.id.clone() });
        }
        self.learn_key(ex, &key);
        Some(key)
    }

    /// Signs and sends one request and reads its answer on a task of its own. The classes and
    /// their requests are futures of one task (the run's), so without this the whole client
    /// side (signing, the HTTP exchange, reading the body) would share one thread; this way
    /// the runtime's workers take it, and the run's own thread keeps only the judging.
    async fn transport(
        &self,
        raw: &RawRequest,
        signing: &Signing,
    ) -> Result<crate::client::RawResponse, TransportError> {
        /// Aborts the task when the run drops the request (Ctrl-C, a budget cut), as dropping
        /// the request itself would.
        struct AbortOnDrop(tokio::task::AbortHandle);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let (client, raw, signing) = (self.client.clone(), raw.clone(), signing.clone());
        let url = client.endpoint().to_string();
        let task = tokio::spawn(async move { client.send(&raw, &signing).await });
        let _abort = AbortOnDrop(task.abort_handle());
        task.await.unwrap_or_else(|e| {
            Err(TransportError::Other {
                url,
                reason: format!("the request task ended early: {e}"),
            })
        })
    }

    /// Sends many independent requests, `in_flight` at a time, in order of the input.
    pub(crate) async fn send_all(&self, reqs: Vec<Request>) -> Vec<Exchange> {
        super::all_in_order(reqs.iter().map(|r| self.send(r)), self.config.in_flight).await
    }

    /// Judges a CreateAccessKey response that should have created a key for `user` (`None`:
    /// the implicit user) by the output rules, and, when it did, remembers the key and its
    /// secret (for cleanup and the secret scan) and judges that both are new in the run.
    pub(crate) fn created(&self, ex: &Exchange, user: Option<&str>) -> Option<CreatedKey> {
        let now = time::OffsetDateTime::now_utc();
        let (verdicts, key) = rules::output::judge_created(self.model, ex, user, now)?;
        self.record(ex, verdicts);
        if !key.id.is_empty() {
            let owner = if key.user.is_empty() {
                user.unwrap_or_default().to_owned()
            } else {
                key.user.clone()
            };
            let _ = self.ledger.record(&LedgerEntry::Key {
                user: owner,
                id: key.id.clone(),
            });
        }
        self.learn_key(ex, &key);
        Some(key)
    }

    /// Remembers a created key's secret (for the secret scan) and judges that its secret and
    /// its ID are new in the run.
    fn learn_key(&self, ex: &Exchange, key: &CreatedKey) {
        if !key.secret.is_empty() {
            self.remember_secret(&key.secret);
        }
        // Compared with every secret seen (constant-time equality, never printed).
        let dupes = {
            let seen = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
            seen.iter().filter(|s| **s == key.secret).count()
        };
        let fresh = self
            .key_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.id.clone());
        self.record(
            ex,
            [
                rules::output::judge_secret_unique(&key.secret, dupes),
                rules::lifecycle::judge_id_fresh(&key.id, fresh),
            ],
        );
    }

    /// Every key ID the run has seen created so far.
    pub(crate) fn key_ids(&self) -> HashSet<String> {
        self.key_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records the user in the ledger, then creates it.
    pub(crate) async fn create_user(&self, name: &str) -> Exchange {
        let _ = self.ledger.record(&LedgerEntry::User { name: name.into() });
        self.send(&Request::new(
            self.model,
            "CreateUser",
            &[("UserName", name)],
        ))
        .await
    }

    /// Records a user that a planned request is about to create.
    pub(crate) fn ledger_user(&self, name: &str) {
        let _ = self.ledger.record(&LedgerEntry::User { name: name.into() });
    }

    pub(crate) async fn create_key(&self, user: &str) -> Exchange {
        self.send(&Request::new(self.model, OPERATION, &[("UserName", user)]))
            .await
    }

    /// The user's keys as (id, status), or `None` when the listing did not succeed.
    pub(crate) async fn list_key_ids(&self, user: &str) -> Option<Vec<(String, String)>> {
        let ex = self
            .send(&Request::new(
                self.model,
                "ListAccessKeys",
                &[("UserName", user)],
            ))
            .await;
        rules::listed_keys(&ex)
    }

    pub(crate) async fn delete_key(&self, user: &str, id: &str) {
        self.send(&Request::new(
            self.model,
            "DeleteAccessKey",
            &[("UserName", user), ("AccessKeyId", id)],
        ))
        .await;
    }

    /// Whether the target takes inline user policies: probed once, by putting the self-manage
    /// policy on the fixture user and deleting it again (decided in
    /// [`probe::can_put_user_policy`]). The decision is noted in the run's capabilities.
    pub(crate) async fn policy_support(&self) -> probe::Decision {
        self.policy_probe
            .get_or_init(|| async {
                let fixture = self.fixture_name();
                let ex = self
                    .put_user_policy(
                        &fixture,
                        rules::authz::PROBE_POLICY_NAME,
                        rules::authz::SELF_MANAGE_POLICY,
                    )
                    .await;
                let d = probe::can_put_user_policy(&ex);
                if ex.accepted() {
                    self.delete_user_policies(&fixture).await;
                }
                let mut caps = self.caps.lock().unwrap_or_else(|p| p.into_inner());
                caps.user_policies = Some(d.assumed());
                caps.why_no_user_policies = d.reason().map(str::to_owned);
                d
            })
            .await
            .clone()
    }

    /// Records the policy in the ledger, then puts it on `user`.
    pub(crate) async fn put_user_policy(&self, user: &str, name: &str, document: &str) -> Exchange {
        let _ = self.ledger.record(&LedgerEntry::Policy {
            user: user.into(),
            name: name.into(),
        });
        self.policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(user.to_owned())
            .or_default()
            .push(name.to_owned());
        self.send(&Request::new(
            self.model,
            "PutUserPolicy",
            &[
                ("UserName", user),
                ("PolicyName", name),
                ("PolicyDocument", document),
            ],
        ))
        .await
    }

    /// Forgets the policies the run put on `user`, which a request of the driver's deleted.
    pub(crate) fn forget_policies(&self, user: &str) {
        self.policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
    }

    /// Deletes every inline policy the run put on `user` (a user with one cannot be deleted).
    pub(crate) async fn delete_user_policies(&self, user: &str) {
        let names = self
            .policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user)
            .unwrap_or_default();
        let mut seen = HashSet::new();
        for name in names.iter().filter(|n| seen.insert(n.as_str())) {
            self.send(&Request::new(
                self.model,
                "DeleteUserPolicy",
                &[("UserName", user), ("PolicyName", name)],
            ))
            .await;
        }
    }

    /// Deletes the user's inline policies (those the run put), its keys, then the user.
    pub(crate) async fn delete_user_fully(&self, user: &str) {
        self.delete_user_policies(user).await;
        if let Some(keys) = self.list_key_ids(user).await {
            for (id, _) in keys {
                self.delete_key(user, &id).await;
            }
        }
        self.send(&Request::new(
            self.model,
            "DeleteUser",
            &[("UserName", user)],
        ))
        .await;
    }

    async fn run_all(&self) -> Result<(), CheckError> {
        self.probe().await?;
        if self.config.replay_sequence.is_some() {
            rules::lifecycle::drive(self).await;
            return Ok(());
        }
        let on = |c: RuleClass| self.classes.contains(&c);
        // The classes are independent (each works on users of its own), so they run at once;
        // the root class follows them.
        futures::join!(
            async {
                if on(RuleClass::InputValidation) || on(RuleClass::PositiveAcceptance) {
                    rules::input::drive(self).await
                }
            },
            async {
                if on(RuleClass::ErrorContract) {
                    rules::error::drive(self).await
                }
            },
            async {
                if on(RuleClass::PositiveAcceptance) {
                    rules::accept::drive(self).await
                }
            },
            async {
                if on(RuleClass::Protocol) {
                    rules::protocol::drive(self).await
                }
            },
            async {
                if on(RuleClass::Auth) {
                    rules::auth::drive(self).await
                }
            },
            async {
                if on(RuleClass::Concurrency) {
                    rules::concurrency::drive(self).await
                }
            },
            async {
                if on(RuleClass::Lifecycle) {
                    rules::lifecycle::drive(self).await
                }
            },
            async {
                if on(RuleClass::Authz) {
                    rules::authz::drive(self).await
                }
            },
        );
        // The root's keys are one small set the whole account shares: the root class runs
        // after the others, so that keys they make without UserName on a target that files
        // them under the root (MiniStack) cannot change the set between its listings.
        if on(RuleClass::Root) {
            rules::root::drive(self).await
        }
        Ok(())
    }

    /// Asks who signs, whether signatures are checked and whether users can be created. The
    /// answers are judged like every other (`send` records them), and what they mean is decided
    /// in [`probe`](super::probe): only a decoded success or a refusal that means "not
    /// supported" or "not allowed" can make the run skip rules.
    async fn probe(&self) -> Result<(), CheckError> {
        let m = self.model;
        let who = self.send(&Request::new(m, "GetUser", &[])).await;
        if let Some(e) = &who.transport_error {
            return Err(CheckError::Unreachable(e.clone()));
        }
        let unsigned = self
            .send(&Request::new(m, "GetUser", &[]).signed(Signing::Unsigned))
            .await;
        // An unsigned request may be refused, or (moto, SeaweedFS) answered with a 500 or routed
        // to another service; a corrupted signature tells such a service apart from one that
        // checks nothing.
        let corrupted = match probe::verifies_signatures(&unsigned, None) {
            probe::Decision::Yes => None,
            _ => Some(
                self.send(&Request::new(m, "GetUser", &[]).signed(Signing::Corrupted))
                    .await,
            ),
        };
        let verifies = probe::verifies_signatures(&unsigned, corrupted.as_ref());
        let fixture = self.fixture_name();
        // A transient server error must not decide what the target can do: retry it.
        let mut created = self.create_user(&fixture).await;
        for _ in 0..4 {
            if created.status() < 500 {
                break;
            }
            created = self.create_user(&fixture).await;
        }
        let users = probe::can_create_users(&created);
        *self.caps.lock().unwrap_or_else(|p| p.into_inner()) = Capabilities {
            can_create_users: users.assumed(),
            why_no_users: users.reason().map(str::to_owned),
            verifies_signatures: verifies.assumed(),
            signer_user: probe::signer_user(&who),
            caller: probe::caller(&who),
            ..Capabilities::default()
        };
        Ok(())
    }
}

/// Whether a response or a transport failure is worth another attempt.
fn should_retry(model: &Model, r: &Result<crate::client::RawResponse, TransportError>) -> bool {
    match r {
        Ok(resp) => super::retry::throttled(model, resp.status, &resp.body),
        // The endpoint answered the capability probe, so a failed connection now is a hiccup
        // (a dev server dropping a keep-alive connection, say), not an outage.
        Err(TransportError::Timeout { .. })
        | Err(TransportError::Other { .. })
        | Err(TransportError::Connect { .. }) => true,
        Err(_) => false,
    }
}

/// The HTTP request for a planned request: a form body for POST and the other body methods,
/// the query string for GET and HEAD; and the headers worth recording.
fn to_raw(req: &Request) -> (RawRequest, Vec<(String, String)>) {
    let wire = req.wire();
    match req.method {
        "GET" | "HEAD" => (
            RawRequest {
                method: req.method.into(),
                path_and_query: format!("/?{wire}"),
                headers: vec![],
                body: vec![],
            },
            vec![],
        ),
        m => {
            let headers = vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            )];
            (
                RawRequest {
                    method: m.into(),
                    path_and_query: "/".into(),
                    headers: headers.clone(),
                    body: wire.into_bytes(),
                },
                headers,
            )
        }
    }
}

/// A deterministic proptest runner for a seed.
pub(crate) fn test_runner(seed: u64) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

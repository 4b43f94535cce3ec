//! Judging traffic the harness did not send: the exchanges a real client (the AWS CLI, boto3, a
//! service's own tests) had with an endpoint, seen live by `iam-contract proxy` or read back from
//! a HAR file by `iam-contract verify`.
//!
//! Such traffic has no case telling what to expect, so the expectation comes from the request
//! itself (an invalid `UserName` must be refused, a created key must have the documented shape)
//! and, for the stateful rules, from a shadow of IAM's state ([`shadow`]) fed by the observed
//! exchanges and kept in step with what the target actually answered. A rule is judged only where
//! the observed history decides the answer; otherwise it is reported as not judged, with the
//! reason. The judges are the catalogue's own pure judges (`contract::rules`), so a proxied
//! exchange is judged exactly as `check` would judge the same answer.
//!
//! Must not: do IO (the proxy in [`proxy`] and the HAR file in [`har`] do that at the edges),
//! pass a rule it could not judge, or keep a secret where a report or a recording reaches.

pub mod har;
#[cfg(feature = "net")]
pub mod proxy;
mod shadow;

use crate::contract::collect::{Acc, replay_command, rule_results};
use crate::contract::rules::{
    self, Judgement, OPERATION, RuleId, RuleKey, Verdict, error, input, output, protocol,
};
use crate::contract::{CaseRecord, Exchange, Finding, Profile, Report, Rule, Summary, TargetInfo};
use crate::model::Model;
use crate::secret::{Secret, SecretScanner};
use crate::wire::decode_form;
use std::collections::{BTreeMap, HashSet};

pub use shadow::signer_key_id;

/// One request as a client sent it and what came back, before any judging: what the proxy saw
/// on the wire, or what a HAR entry holds.
#[derive(Debug, Clone)]
pub struct RawExchange {
    pub method: String,
    /// Path and query string as sent (`/`, `/?Action=ListUsers&Version=...`).
    pub path_and_query: String,
    /// Request headers in order, as sent (the proxy forwards them unchanged).
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    /// Status, headers and body, or why no answer came.
    pub response: Received,
    /// When the request arrived.
    pub started: time::OffsetDateTime,
    /// From the request's arrival to the whole answer, in milliseconds.
    pub elapsed_ms: u64,
}

impl RawExchange {
    /// The value of a request header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query string, without the `?`.
    pub fn query(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
    }
}

/// What came back for a request: status, headers and body, or why nothing did.
pub type Received = Result<(u16, Vec<(String, String)>, Vec<u8>), String>;

/// The operation an answer to `action` is decoded as (the operation under contract for an
/// action the model does not describe), as `Exchange` decodes it.
fn decode_as<'a>(model: &Model, action: &'a str) -> &'a str {
    if model.operation(action).is_some() {
        action
    } else {
        OPERATION
    }
}

/// One judged exchange: the record (secrets redacted) and the findings it produced.
#[derive(Debug, Clone)]
pub struct Judged {
    pub exchange: Exchange,
    /// Findings this exchange produced, in check's form, to print as they happen.
    pub findings: Vec<(String, Finding)>,
}

/// How an observer names the endpoint in reports and replay commands.
#[derive(Debug, Clone)]
pub struct ObserverConfig {
    /// The upstream the traffic went to (`http://127.0.0.1:4566/`).
    pub endpoint: String,
    /// `proxy` or `verify`, the report's target name.
    pub target_name: String,
    pub profile: Profile,
}

/// Judges a stream of observed exchanges and gathers the verdicts into a [`Report`].
pub struct Observer {
    model: &'static Model,
    config: ObserverConfig,
    rules: Vec<Rule>,
    enabled: HashSet<String>,
    acc: BTreeMap<String, Acc>,
    shadow: shadow::Shadow,
    /// Every secret seen in an answer, for scrubbing and the tripwire, in the order learnt.
    secrets: Vec<Secret>,
    /// How many CreateAccessKey answers carried each secret (0 for a secret learnt elsewhere):
    /// a set lookup per answer, so judging stays linear in the length of the session.
    created: rustc_hash::FxHashMap<Secret, usize>,
    scanner: SecretScanner,
    judged: usize,
    skipped: usize,
    elapsed_ms: u64,
}

impl Observer {
    pub fn new(model: &'static Model, config: ObserverConfig) -> Observer {
        let rules: Vec<Rule> = rules::catalogue(model)
            .into_iter()
            .filter(|r| r.profile <= config.profile)
            .collect();
        Observer {
            model,
            enabled: rules.iter().map(|r| r.id.clone()).collect(),
            rules,
            config,
            acc: BTreeMap::new(),
            shadow: shadow::Shadow::new(model.facts().key_quota()),
            secrets: Vec::new(),
            created: Default::default(),
            scanner: SecretScanner::new(&[]),
            judged: 0,
            skipped: 0,
            elapsed_ms: 0,
        }
    }

    /// Exchanges judged so far.
    pub fn judged(&self) -> usize {
        self.judged
    }

    /// Exchanges skipped because they were not awsQuery IAM exchanges.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Every secret an answer carried, for the tripwire over all output.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    /// Learns a secret from elsewhere (the client's own credentials), so that it is scrubbed too.
    pub fn learn_secret(&mut self, s: impl Into<String>) {
        let s = Secret::new(s.into());
        if !s.is_empty() && !self.created.contains_key(&s) {
            self.scanner.add(&s);
            self.created.insert(s.clone(), 0);
            self.secrets.push(s);
        }
    }

    /// Judges one exchange at `now` (when it happened); `None` when it is not an awsQuery IAM
    /// exchange (counted as skipped).
    pub fn observe(&mut self, raw: &RawExchange, now: time::OffsetDateTime) -> Option<Judged> {
        let request = parse_request(self.model, raw)?;
        let decode_as = decode_as(self.model, &request.case.action);
        let mut headers = Vec::new();
        if let Some(ct) = raw.header("content-type") {
            headers.push(("content-type".to_owned(), ct.to_owned()));
        }
        // The record scrubs the secrets this answer carries itself; they are learnt afterwards,
        // from the same decoding, to be scrubbed from every later record and report.
        let ex = Exchange::record(
            self.model,
            decode_as,
            request.case.clone(),
            headers,
            raw.response.clone(),
            raw.elapsed_ms,
            &self.scanner,
        );
        if let Some(j) = ex.judged() {
            for (_, s) in &j.decoded.secrets {
                if s.expose() != crate::secret::REDACTED {
                    self.learn_secret(s.expose());
                }
            }
        }
        self.judged += 1;
        self.elapsed_ms += raw.elapsed_ms;
        let mut verdicts = self.stateless(&request, &ex, now);
        let (stateful, steps) = self.shadow.observe(&request, &ex);
        verdicts.extend(stateful);
        let findings = self.record(&ex, &steps, verdicts);
        Some(Judged {
            exchange: ex,
            findings,
        })
    }

    /// Counts an exchange that was not an awsQuery IAM exchange.
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    /// The rules every exchange can be judged by without the shadow's history (secret
    /// uniqueness needs only the secrets seen so far).
    fn stateless(
        &mut self,
        request: &Request,
        ex: &Exchange,
        now: time::OffsetDateTime,
    ) -> Vec<Verdict> {
        let model = self.model;
        let mut v = Vec::new();
        if ex.judged().is_none() {
            return v;
        }
        if request.not_utf8 {
            v.push(protocol::judge_invalid_utf8(ex));
            v.push(rules::Verdict::check(
                RuleId::ProtoNoServerErrors,
                ex.status() < 500,
                "a status below 500",
            ));
            return v;
        }
        let action = request.case.action.as_str();
        if action.is_empty() {
            v.push(protocol::judge_missing_action(ex));
        }
        if model.operation(action).is_some() {
            v.extend(rules::every_response(model, ex));
        } else {
            // An IAM action the model does not describe may still be a real IAM action, so
            // only what holds for every answer is judged.
            v.push(Verdict::check(
                RuleId::ProtoNoServerErrors,
                ex.status() < 500,
                "a status below 500",
            ));
            if ex.status() >= 400 {
                v.extend(error::judge_envelope(model, ex));
            }
            if !action.is_empty() {
                v.push(Verdict::unjudged(
                    RuleId::ProtoUnknownAction,
                    "the model describes only some IAM actions, so an action outside it may be a real one",
                ));
            }
        }
        if request.signing == "unsigned" {
            v.push(Verdict::check(
                RuleId::AuthUnsigned,
                (400..500).contains(&ex.status()) && !ex.is_success(),
                "an unsigned request refused with a 4xx (403 MissingAuthenticationToken)",
            ));
        }
        if action == OPERATION {
            v.extend(self.judge_create_access_key(ex, now));
        }
        v
    }

    /// CreateAccessKey: validation of every input member, the answer to a valid name no user
    /// can have, and the shape of a created key.
    fn judge_create_access_key(
        &mut self,
        ex: &Exchange,
        now: time::OffsetDateTime,
    ) -> Vec<Verdict> {
        let model = self.model;
        let mut v = Vec::new();
        let mut any_invalid = false;
        for (member, c) in input::string_members(model) {
            let Some(value) = ex.param(&member) else {
                continue;
            };
            let violations = crate::generate::string_violations(c, value);
            if !violations.is_empty() {
                any_invalid = true;
                v.extend(input::judge_validation(
                    model,
                    &member,
                    ex,
                    value,
                    &violations,
                    self.config.profile == Profile::Aws,
                ));
            } else if member == "UserName"
                && let Some(user_max) = model
                    .input_string("CreateUser", "UserName")
                    .and_then(|u| u.max)
                && value.chars().count() as u64 > user_max
            {
                v.push(input::judge_long_name(ex));
            }
        }
        if any_invalid {
            return v;
        }
        let user = ex.param("UserName");
        if let Some((verdicts, key)) = output::judge_created(model, ex, user, now) {
            v.extend(verdicts);
            if key.secret.expose() == crate::secret::REDACTED {
                v.push(Verdict::unjudged(
                    RuleId::OutputSecretUnique,
                    "the recording redacts every secret, so their uniqueness cannot be seen",
                ));
            } else {
                let seen = self.created.entry(key.secret.clone()).or_insert(0);
                *seen += 1;
                v.push(output::judge_secret_unique(&key.secret, *seen));
            }
        }
        if ex.code() == Some("NoSuchEntity")
            && let Some(user) = user
        {
            v.extend(error::judge_no_such_entity(model, ex, user));
        }
        v
    }

    /// Records verdicts as the runner does; returns the findings this exchange produced.
    fn record(
        &mut self,
        ex: &Exchange,
        steps: &[String],
        verdicts: Vec<Verdict>,
    ) -> Vec<(String, Finding)> {
        let mut out = Vec::new();
        for v in verdicts {
            if !self.enabled.contains(v.rule.as_str()) {
                continue;
            }
            let a = self.acc.entry(v.rule.as_str().to_owned()).or_default();
            match v.judgement {
                Judgement::Pass => a.cases += 1,
                Judgement::Unjudged(reason) => {
                    a.skip.get_or_insert(reason);
                }
                Judgement::Fail(expected) => {
                    a.cases += 1;
                    let mut case = ex.case.clone();
                    if is_stateful(&v.rule) {
                        case.steps = steps.to_vec();
                    }
                    let finding = Finding {
                        replay: replay_command(
                            None,
                            &self.config.endpoint,
                            // Users of observed traffic are the client's own, not the run's:
                            // a prefix no name has keeps `--with-user` out of the command.
                            "\u{0}",
                            v.rule.as_str(),
                            &case,
                        ),
                        fingerprint: crate::contract::fingerprint(v.rule.as_str(), &case),
                        case,
                        observed: ex.observed(),
                        expected,
                    };
                    if !a.findings.contains(&finding) {
                        a.findings.push(finding.clone());
                    }
                    out.push((v.rule.as_str().to_owned(), finding));
                }
            }
        }
        out
    }

    /// The report of everything observed so far. A rule no exchange could judge is `skip`, with
    /// the reason an exchange gave or, when none touched it, that none did.
    pub fn report(&self) -> Report {
        let mut acc = self.acc.clone();
        for r in &self.rules {
            let a = acc.entry(r.id.clone()).or_default();
            if a.cases == 0 && a.skip.is_none() {
                a.skip = Some(never_judged_reason(&r.id).into());
            }
        }
        let mut report = Report {
            tool: format!("iam-contract {}", env!("CARGO_PKG_VERSION")),
            target: TargetInfo {
                endpoint: self.config.endpoint.clone(),
                name: self.config.target_name.clone(),
                profile: self.config.profile,
                caller: None,
            },
            summary: Summary {
                cases_sent: self.judged,
                elapsed_ms: self.elapsed_ms,
                ..Summary::default()
            },
            rules: rule_results(&self.rules, acc),
        };
        report.recount();
        report
    }
}

/// Why a rule that no exchange touched is not judged.
fn never_judged_reason(id: &str) -> &'static str {
    if id.starts_with("auth.") && id != RuleId::AuthUnsigned.as_str() {
        "judging it takes requests signed wrongly on purpose, which observed traffic does not contain"
    } else if id.starts_with("concurrency.") {
        "judging it takes a burst of parallel creates the harness sends itself"
    } else if id.starts_with("root.") {
        "judging it takes a sequence of root-key calls the harness sends itself, signed by the account root"
    } else if id.starts_with("authz.") {
        "judging it takes users holding policies the harness puts on them itself, and their \
         requests compared with what those policies allow"
    } else {
        "no observed exchange could judge this rule"
    }
}

/// Whether a rule is judged from the history (its findings show the steps before).
fn is_stateful(rule: &RuleKey) -> bool {
    rule.as_str().starts_with("lifecycle.")
}

/// An observed request, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub case: CaseRecord,
    /// The body was not UTF-8 once decoded.
    pub not_utf8: bool,
    /// The access key the request was signed with, when it was signed.
    pub signer: Option<String>,
    pub signing: String,
}

/// Decodes an observed request as awsQuery IAM; `None` when it is not one (another service, a
/// JSON protocol, a browser's request).
fn parse_request(model: &Model, raw: &RawExchange) -> Option<Request> {
    let signer = signer_key_id(raw);
    let scope_service = shadow::scope_service(raw);
    let form = raw
        .header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("x-www-form-urlencoded"));
    let query = raw.query();
    let (wire, decoded) = if !raw.request_body.is_empty() && (form || raw.method == "POST") {
        (
            String::from_utf8_lossy(&raw.request_body).into_owned(),
            decode_form(&raw.request_body),
        )
    } else {
        (query.to_owned(), decode_form(query.as_bytes()))
    };
    let (mut params, not_utf8) = match decoded {
        Ok(p) => (p, false),
        Err(_) => (Vec::new(), true),
    };
    for (k, v) in &mut params {
        if har::SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
            *v = har::REDACTED.to_owned();
        }
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let version_is_iam = get("Version") == Some(model.metadata().api_version.as_str());
    let iam = match scope_service.as_deref() {
        Some(s) => s == "iam",
        None => version_is_iam && get("Action").is_some(),
    };
    if !iam {
        return None;
    }
    // Another protocol aimed at iam (a JSON body) is not awsQuery.
    if !not_utf8 && get("Action").is_none() && !raw.request_body.is_empty() && !form {
        return None;
    }
    let signing = if signer.is_some() {
        "sigv4"
    } else {
        "unsigned"
    };
    Some(Request {
        case: CaseRecord {
            action: get("Action").unwrap_or_default().to_owned(),
            params: params.clone(),
            method: raw.method.clone(),
            signing: signing.to_owned(),
            wire: redact_wire(&wire),
            steps: Vec::new(),
            sequence: None,
        },
        not_utf8,
        signer,
        signing: signing.to_owned(),
    })
}

/// A presigned query string carries its signature and session token: they never reach a case.
fn redact_wire(wire: &str) -> String {
    har::redact_query(wire)
}

#[cfg(test)]
mod tests;

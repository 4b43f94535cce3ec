//! Standalone reproductions of findings (`check --repro-dir DIR`): one folder per finding with
//! `repro.sh` (curl `--aws-sigv4`), `repro.py` (botocore's `SigV4Auth` over the exact wire text)
//! and a `README.md`, so a service's maintainer can reproduce a deviation without this harness.
//!
//! The scripts are two fixed templates (`repro/repro.sh`, `repro/repro.py`, the same logic in
//! each language) with the finding's case written into their head as data: rule, method, wire
//! text, signing, the users it needs, and which check judges the answer. What a script checks is
//! derived here from the rule (a table in [`plan`]), kept simple: the status and code the rule
//! demands for one response (and, for the auth and method rules, that no key was created), the
//! output members an output rule is about, or the whole lifecycle sequence judged by that one
//! rule. A rule whose verdict needs more than a script can see (a run-wide history, 100 parallel
//! requests) gets a folder whose scripts say so and exit 2, never a pass.
//!
//! Names: the run prefix (`icx` + 8 hex digits) in the wire text is swapped at run time for a
//! fresh one of the same length (`rpx` + 8 hex digits), so a name keeps its length (boundary
//! cases stay boundary cases) and every run of a script works on users of its own, which it
//! deletes again, with their keys. Nothing here writes a credential: the scripts read them from
//! the environment; every file goes through the secret tripwire before and after it is written.
//! The generation is pure ([`render`]); [`write_repro_dir`] does the file IO.

use super::{Tripwire, escape_text};
use crate::contract::{Finding, Report, RuleResult, Status};
use crate::model::{Model, validate_input};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

const SH_TEMPLATE: &str = include_str!("repro/repro.sh");
const PY_TEMPLATE: &str = include_str!("repro/repro.py");

static RUN_PREFIX: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"icx[0-9a-f]{8}").expect("a valid regular expression"));

/// How the commands in a README name the endpoint (`iam-contract replay --target moto`).
#[derive(Debug, Clone)]
pub struct ReproContext {
    pub replay_base: String,
}

impl ReproContext {
    pub fn new(replay_base: &str) -> ReproContext {
        ReproContext {
            replay_base: replay_base.to_owned(),
        }
    }
}

/// The three files of one reproduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repro {
    /// The folder name: `RULE-FINGERPRINT`.
    pub name: String,
    pub sh: String,
    pub py: String,
    pub readme: String,
    /// `None` when the scripts judge the rule; else why they cannot (they exit 2).
    pub not_standalone: Option<String>,
}

/// What the scripts do for one finding: the variables at their head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub method: String,
    pub wire: String,
    pub old_prefix: String,
    pub signing: String,
    pub setup_user: String,
    pub setup_keys: u8,
    pub inactivate_first: bool,
    pub signer_user: String,
    pub cleanup_user: String,
    pub check: String,
    pub want_status: String,
    pub want_code: String,
    pub want_type: String,
    pub want_text: String,
    pub want_user: String,
    pub want_well_formed: bool,
    pub output: String,
    pub sequence: String,
    /// What the README says the script checks.
    pub checks: String,
}

/// A failure to write the folder.
#[derive(Debug, thiserror::Error)]
pub enum ReproError {
    #[error("cannot write {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{0}")]
    Tripwire(#[from] super::TripwireError),
}

fn decoded_param<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.case
        .params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether `name` is a user name CreateUser accepts (the model's userNameType).
fn valid_user_name(model: &Model, name: &str) -> bool {
    validate_input(
        model,
        "CreateUser",
        &serde_json::json!({ "UserName": name }),
    )
    .is_empty()
}

/// The user a case needs to exist: the run created it before sending the case.
fn needed_user(model: &Model, rule: &str, f: &Finding, prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return None;
    }
    if rule == "protocol.plus-encoding" {
        return Some(format!("{prefix}-a+b"));
    }
    let name = decoded_param(f, "UserName")?;
    (f.case.action != "CreateUser"
        && name.starts_with(prefix)
        && !name.contains("-missing")
        && !name.contains("-dup")
        && valid_user_name(model, name))
    .then(|| name.to_owned())
}

/// The text of a Rust-quoted string at the end of `expected` (`message "..."`).
fn quoted_tail(expected: &str) -> Option<String> {
    let start = expected.find('"')?;
    serde_json::from_str::<String>(&expected[start..]).ok()
}

/// Derives what the scripts send and check for `f`, a finding of `rule`. `Err` says why no
/// script can judge it on its own.
pub fn plan(model: &Model, rule: &RuleResult, f: &Finding) -> Result<Plan, String> {
    let id = rule.id.as_str();
    let c = &f.case;
    let prefix = RUN_PREFIX
        .find(&c.wire)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let mut p = Plan {
        method: c.method.clone(),
        wire: c.wire.clone(),
        old_prefix: prefix.clone(),
        signing: c.signing.clone(),
        ..Plan::default()
    };
    if id.starts_with("lifecycle.") {
        let Some(seq) = &c.sequence else {
            return Err(
                "this lifecycle verdict compares the key ID with every ID the run was \
                        issued, which a single request cannot show"
                    .into(),
            );
        };
        p.sequence = seq.clone();
        p.checks = format!(
            "runs the sequence `{seq}` on three fresh users and judges every step by {id} alone, \
             against the same reference model as the harness (quota of 2, listings, secrets only \
             at creation, IDs never reused, case-insensitive names, DeleteConflict, key status, \
             CreateDate); the first step that breaks {id} is the deviation"
        );
        return Ok(p);
    }
    if c.signing.starts_with("as:") {
        p.signing = match id {
            "auth.bad-signature-refused" => "wrong-secret".into(),
            "auth.unknown-key-refused" => "unknown-key".into(),
            "auth.cross-user-denied" => {
                let alice = f
                    .expected
                    .split_whitespace()
                    .nth(2)
                    .filter(|n| n.starts_with(&prefix) && !prefix.is_empty())
                    .ok_or("the finding does not name the user whose key signed it")?;
                p.signer_user = alice.to_owned();
                "sigv4".into()
            }
            _ => {
                return Err(
                    "the request was signed with a key the run created and deleted, \
                            and the rule does not say which user's key that was"
                        .into(),
                );
            }
        };
    }
    if let Some(user) = needed_user(model, id, f, &prefix) {
        if user.contains("-quota") {
            p.setup_keys = model.facts().key_quota() as u8;
            p.inactivate_first = true;
        }
        p.setup_user = user;
    }
    let user = decoded_param(f, "UserName").unwrap_or_default().to_owned();
    let class = id.split('.').next().unwrap_or_default();
    match class {
        "input" | "accept" => plan_input(&mut p, id, f, &user, &prefix)?,
        "output" => plan_output(&mut p, id, f, &user, &prefix)?,
        "error" => plan_error(&mut p, id, f, &user, &prefix)?,
        "auth" => plan_auth(&mut p, id, f, &user, &prefix)?,
        "protocol" => plan_protocol(&mut p, id, f, &user, &prefix)?,
        "concurrency" => {
            return Err(
                "the rule is judged over many parallel requests, which a one-request \
                        reproduction cannot send; replay the run with iam-contract"
                    .into(),
            );
        }
        "root" => {
            return Err(
                "the rule is judged over a sequence of root-key calls signed by the account \
                        root (what the root held before, the keys the run created); replay it \
                        with iam-contract check --only root."
                    .into(),
            );
        }
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(p)
}

/// What the scripts check for the input-validation and positive-acceptance rules.
fn plan_input(
    p: &mut Plan,
    id: &str,
    f: &Finding,
    user: &str,
    _prefix: &str,
) -> Result<(), String> {
    let c = &f.case;
    match id {
        "input.validation-message" => {
            p.check = "message-equals".into();
            p.want_status = "400".into();
            p.want_code = "ValidationError".into();
            p.want_text = quoted_tail(&f.expected).ok_or("the expected message is not quoted")?;
            p.checks = "HTTP 400, Code ValidationError and exactly the expected Message".into();
        }
        _ if id.starts_with("input.") => p.status(
            "400",
            "ValidationError",
            "HTTP 400 with Code ValidationError",
        ),
        "accept.generated-names" | "accept.allowed-punctuation" => {
            if c.action == "CreateUser" {
                p.cleanup_user = user.to_owned();
                p.status("200", "", "HTTP 200 for CreateUser of the valid name");
            } else {
                p.check = "created-key".into();
                p.want_user = user.to_owned();
                p.checks = "HTTP 200 and a key whose AccessKey.UserName is the name sent".into();
            }
        }
        "accept.existing-user-name-range" => {
            p.status("404", "NoSuchEntity", "HTTP 404 with Code NoSuchEntity")
        }
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(())
}

/// What the scripts check for the output rules.
fn plan_output(
    p: &mut Plan,
    id: &str,
    _f: &Finding,
    user: &str,
    _prefix: &str,
) -> Result<(), String> {
    match id {
        "output.well-formed" => {
            p.check = "well-formed".into();
            p.checks = "the body parses as XML (repro.py: Python's XML parser; repro.sh: \
                        xmllint, else python3's)"
                .into();
        }
        "output.request-id" => {
            p.check = "request-id".into();
            p.checks = "a non-empty RequestId element in the body".into();
        }
        "output.secret-unique" => {
            return Err(
                "the rule compares the new secret with every secret the run was \
                        issued, which a single request cannot show"
                    .into(),
            );
        }
        _ if id.starts_with("output.") => {
            p.check = "output".into();
            p.want_user = user.to_owned();
            p.output = match id {
                "output.envelope" => "envelope",
                "output.schema" => "schema",
                "output.status-active" => "status-active",
                "output.user-name-echo" => "user-name-echo",
                "output.create-date-recent" => "create-date",
                "output.aws-key-id-format" => "key-id",
                "output.aws-secret-format" => "secret",
                _ => return Err(format!("no standalone check is defined for {id}")),
            }
            .into();
            p.checks = match p.output.as_str() {
                "envelope" => "root CreateAccessKeyResponse in IAM's namespace with a CreateAccessKeyResult",
                "schema" => "the required AccessKey members: AccessKeyId 16..128 of [\\w], Status one of Active/Inactive/Expired, a SecretAccessKey, UserName 1..64 of [\\w+=,.@-] (a subset of the derived JSON Schema)",
                "status-active" => "Status Active",
                "user-name-echo" => "AccessKey.UserName is the name sent",
                "create-date" => "CreateDate is ISO 8601 and within 900 s of now",
                "key-id" => "AccessKeyId is AKIA + 16 of [A-Z0-9]",
                _ => "the secret is 40 of [A-Za-z0-9+/] (checked, never printed)",
            }
            .to_owned()
                + "; a request that does not succeed cannot be judged (exit 2)";
        }
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(())
}

/// What the scripts check for the error-contract rules.
fn plan_error(
    p: &mut Plan,
    id: &str,
    f: &Finding,
    user: &str,
    _prefix: &str,
) -> Result<(), String> {
    match id {
        "error.no-such-entity" => {
            p.status(
                "404",
                "NoSuchEntity",
                "HTTP 404, Code NoSuchEntity, Type Sender",
            );
            p.want_type = "Sender".into();
        }
        "error.limit-exceeded" => {
            p.status(
                "409",
                "LimitExceeded",
                "after two keys (the first made Inactive), HTTP 409, Code LimitExceeded, Type Sender",
            );
            p.want_type = "Sender".into();
        }
        "error.envelope" => {
            p.check = "error-envelope".into();
            p.checks = "for an HTTP error: a well-formed ErrorResponse with Error/Type and \
                        Error/Code, and the status and Type the model or the facts give for that \
                        code"
                .into();
        }
        "error.message-names-subject" => {
            if f.expected.starts_with("a NoSuchEntity message naming") {
                p.check = "message-contains".into();
                p.want_text = user.to_owned();
                p.checks = "the NoSuchEntity Message names the missing user".into();
            } else {
                p.check = "message-nonempty".into();
                p.checks = "an error body that is well-formed XML with a non-empty Message".into();
            }
        }
        "error.message-exact" => {
            p.check = "message-equals".into();
            p.want_status = f.observed.status.to_string();
            p.want_code = f.observed.code.clone().unwrap_or_default();
            p.want_text = quoted_tail(&f.expected).ok_or("the expected message is not quoted")?;
            p.checks = "the same status and Code, and exactly AWS's Message wording".into();
        }
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(())
}

/// What the scripts check for the authentication rules.
fn plan_auth(
    p: &mut Plan,
    id: &str,
    f: &Finding,
    _user: &str,
    _prefix: &str,
) -> Result<(), String> {
    match id {
        "auth.unsigned-refused"
        | "auth.bad-signature-refused"
        | "auth.unknown-key-refused"
        | "auth.wrong-scope-refused"
        | "auth.cross-user-denied"
        | "auth.clock-skew-refused" => {
            p.check = "no-key".into();
            let mut words = f.expected.split([' ', ',', ':']);
            let first = words.next().unwrap_or_default();
            if first == "403" {
                p.want_status = "403".into();
                p.want_code = words.next().unwrap_or_default().to_owned();
            } else {
                p.want_status = "4xx".into();
            }
            if p.setup_user.is_empty() {
                return Err("the case names no user the run had created".into());
            }
            p.checks = format!(
                "{}{}, and afterwards ListAccessKeys shows no key for the user",
                if p.want_status == "4xx" {
                    "any HTTP 4xx".to_owned()
                } else {
                    format!("HTTP {}", p.want_status)
                },
                if p.want_code.is_empty() {
                    String::new()
                } else {
                    format!(" with Code {}", p.want_code)
                }
            );
        }
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(())
}

/// What the scripts check for the protocol rules.
fn plan_protocol(
    p: &mut Plan,
    id: &str,
    f: &Finding,
    user: &str,
    prefix: &str,
) -> Result<(), String> {
    let c = &f.case;
    match id {
        "protocol.unknown-action" | "protocol.missing-action" => p.status("4xx", "", "an HTTP 4xx"),
        "protocol.invalid-utf8-refused" => {
            p.status("4xx", "", "an HTTP 4xx with a well-formed body");
            p.want_well_formed = true;
        }
        "protocol.bad-version" | "protocol.other-methods-change-nothing" => {
            p.check = "no-key".into();
            p.want_status = if id == "protocol.bad-version" {
                "4xx".into()
            } else {
                String::new()
            };
            if p.setup_user.is_empty() {
                return Err("the case names no user the run had created".into());
            }
            p.checks = format!(
                "{}ListAccessKeys shows no key for the user afterwards",
                if p.want_status.is_empty() {
                    ""
                } else {
                    "an HTTP 4xx, and "
                }
            );
        }
        "protocol.get-query-string" => {
            p.check = "created-key".into();
            p.want_user = user.to_owned();
            p.checks = "HTTP 200 and a key for the user named in the query string".into();
        }
        "protocol.plus-encoding" => {
            if c.wire.contains("%2B") {
                p.check = "created-key".into();
                p.want_user = format!("{prefix}-a+b");
                p.checks = "HTTP 200 and a key for the user whose name has the plus".into();
            } else {
                p.status(
                    "400",
                    "",
                    "HTTP 400: a raw + decodes to a space, which no name may hold",
                );
            }
        }
        "protocol.duplicate-params-deterministic" => {
            p.check = "same-twice".into();
            p.checks = "the same request twice gets the same 4xx status and Code".into();
        }
        "protocol.no-server-errors" => p.status("<500", "", "a status below 500"),
        _ => return Err(format!("no standalone check is defined for {id}")),
    }
    Ok(())
}

impl Plan {
    /// The script checks the status (and, when not empty, the Code).
    fn status(&mut self, status: &str, code: &str, what: &str) {
        self.check = "status".into();
        self.want_status = status.into();
        self.want_code = code.into();
        self.checks = what.into();
    }
}

/// A bash word: `$'...'` with everything but plain printable ASCII escaped.
fn sh_quote(s: &str) -> String {
    let mut out = String::from("$'");
    for b in s.bytes() {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// A Python string literal (JSON's escapes are Python's).
fn py_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The error codes the envelope check knows: the model's error shapes, then the facts.
fn error_table(model: &Model) -> Vec<(String, u16, String)> {
    let mut rows: Vec<(String, u16, String)> = model
        .shapes()
        .filter_map(|s| s.error.as_ref())
        .map(|e| {
            (
                e.code.clone(),
                e.http_status,
                if e.sender_fault { "Sender" } else { "Receiver" }.to_owned(),
            )
        })
        .collect();
    for f in &model.facts().errors {
        if !rows.iter().any(|(c, _, _)| *c == f.code) {
            rows.push((f.code.clone(), f.status, f.fault.clone()));
        }
    }
    rows.sort();
    rows.dedup();
    rows
}

fn case_block(
    model: &Model,
    rule: &RuleResult,
    f: &Finding,
    p: &Plan,
    not_standalone: Option<&str>,
    sh: bool,
) -> String {
    let q = |s: &str| if sh { sh_quote(s) } else { py_quote(s) };
    let vars: Vec<(&str, String)> = vec![
        ("RULE", q(&rule.id)),
        ("TITLE", q(&rule.title)),
        ("EXPECTED", q(&f.expected)),
        ("FINGERPRINT", q(&f.fingerprint)),
        ("NOT_STANDALONE", q(not_standalone.unwrap_or(""))),
        ("METHOD", q(&p.method)),
        ("WIRE", q(&p.wire)),
        ("OLD_PREFIX", q(&p.old_prefix)),
        ("SIGNING", q(&p.signing)),
        ("SETUP_USER", q(&p.setup_user)),
        ("SETUP_KEYS", p.setup_keys.to_string()),
        (
            "INACTIVATE_FIRST",
            if sh {
                (p.inactivate_first as u8).to_string()
            } else {
                if p.inactivate_first { "True" } else { "False" }.into()
            },
        ),
        ("SIGNER_USER", q(&p.signer_user)),
        ("CLEANUP_USER", q(&p.cleanup_user)),
        ("CHECK", q(&p.check)),
        ("WANT_STATUS", q(&p.want_status)),
        ("WANT_CODE", q(&p.want_code)),
        ("WANT_TYPE", q(&p.want_type)),
        ("WANT_TEXT", q(&p.want_text)),
        ("WANT_USER", q(&p.want_user)),
        (
            "WANT_WELL_FORMED",
            if sh {
                (p.want_well_formed as u8).to_string()
            } else {
                if p.want_well_formed { "True" } else { "False" }.into()
            },
        ),
        ("OUTPUT", q(&p.output)),
        ("SEQUENCE", q(&p.sequence)),
    ];
    let mut out =
        String::from("# ---- the finding (generated by iam-contract check --repro-dir) ----\n");
    for (k, v) in vars {
        let _ = writeln!(out, "{k}={v}");
    }
    let table = error_table(model);
    if sh {
        out.push_str(
            "# Error codes: HTTP status and Type, from the model and the facts.\nERRORS=(",
        );
        for (code, status, fault) in &table {
            let _ = write!(out, " '{code} {status} {fault}'");
        }
        out.push_str(" )\n");
    } else {
        out.push_str(
            "# Error codes: HTTP status and Type, from the model and the facts.\nERRORS = {\n",
        );
        for (code, status, fault) in &table {
            let _ = writeln!(
                out,
                "    {}: ({status}, {}),",
                py_quote(code),
                py_quote(fault)
            );
        }
        out.push_str("}\n");
    }
    out.push_str("# ---- end of the finding ----");
    out
}

/// The reproduction of finding `f` of `rule`. Pure.
pub fn render(model: &Model, rule: &RuleResult, f: &Finding, ctx: &ReproContext) -> Repro {
    let (p, not_standalone) = match plan(model, rule, f) {
        Ok(p) => (p, None),
        Err(why) => (
            Plan {
                method: f.case.method.clone(),
                wire: f.case.wire.clone(),
                signing: f.case.signing.clone(),
                ..Plan::default()
            },
            Some(why),
        ),
    };
    let sh = SH_TEMPLATE.replacen(
        "# @@CASE@@",
        &case_block(model, rule, f, &p, not_standalone.as_deref(), true),
        1,
    );
    let py = PY_TEMPLATE.replacen(
        "# @@CASE@@",
        &case_block(model, rule, f, &p, not_standalone.as_deref(), false),
        1,
    );
    let name = if f.fingerprint.is_empty() {
        rule.id.clone()
    } else {
        format!("{}-{}", rule.id, f.fingerprint)
    };
    let readme = readme(rule, f, &p, not_standalone.as_deref(), ctx);
    Repro {
        name,
        sh,
        py,
        readme,
        not_standalone,
    }
}

fn readme(
    rule: &RuleResult,
    f: &Finding,
    p: &Plan,
    not_standalone: Option<&str>,
    ctx: &ReproContext,
) -> String {
    let o = &f.observed;
    let mut out = String::new();
    let _ = writeln!(out, "# `{}`: {}\n", rule.id, escape_text(&rule.title));
    let _ = writeln!(
        out,
        "- Source: {} (`model`: the AWS service model; `docs`: AWS's documentation; \
         `recorded`: behaviour recorded from real AWS)",
        rule.source.as_str()
    );
    let _ = writeln!(out, "- Fingerprint: `{}`", escape_text(&f.fingerprint));
    if rule.status == Status::ExpectedFail
        && let Some(r) = &rule.baseline_reason
    {
        let _ = writeln!(
            out,
            "- Accepted by the target's baseline: {}",
            escape_text(r)
        );
    }
    let _ = writeln!(out, "- Expected: {}", escape_text(&f.expected));
    let observed = if o.status == 0 {
        format!(
            "no response ({})",
            escape_text(o.transport_error.as_deref().unwrap_or("transport error"))
        )
    } else {
        format!(
            "HTTP {}{}{}",
            o.status,
            o.code
                .as_deref()
                .map(|c| format!(" {}", escape_text(c)))
                .unwrap_or_default(),
            o.message
                .as_deref()
                .map(|m| format!(": {}", escape_text(m)))
                .unwrap_or_default()
        )
    };
    let _ = writeln!(out, "- Observed: {observed}\n");
    let _ = writeln!(
        out,
        "## The request\n\n```text\n{} {} (signing: {})\n{}\n```\n",
        escape_text(&f.case.method),
        escape_text(&f.case.action),
        escape_text(&f.case.signing),
        escape_text(&f.case.wire)
    );
    if let Some(seq) = &f.case.sequence {
        let _ = writeln!(out, "Lifecycle sequence: `{}`\n", escape_text(seq));
        if !f.case.steps.is_empty() {
            out.push_str("Steps as the run saw them:\n\n```text\n");
            for s in &f.case.steps {
                let _ = writeln!(out, "{}", escape_text(s));
            }
            out.push_str("```\n\n");
        }
    }
    if !o.excerpt.is_empty() {
        let _ = writeln!(
            out,
            "Response body (secrets redacted):\n\n```text\n{}\n```\n",
            escape_text(&o.excerpt)
        );
    }
    out.push_str("## Reproduce\n\n```sh\nexport AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...\n");
    out.push_str("bash repro.sh http://127.0.0.1:PORT/      # curl 7.75+\n");
    out.push_str("python3 repro.py http://127.0.0.1:PORT/   # botocore\n```\n\n");
    match not_standalone {
        Some(why) => {
            let _ = writeln!(
                out,
                "**These scripts cannot judge this rule on their own** ({why}); they say so and \
                 exit 2. Replay it with the harness:\n\n```sh\n{}\n```",
                escape_text(&f.replay)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Each script prints every response (with `SecretAccessKey` redacted) and exits \
                 **1 while the deviation holds**, **0 once it is fixed**, 2 when the rule could \
                 not be judged (no response, a set-up step failed).\n\nWhat the scripts check: \
                 {}.",
                p.checks
            );
            let mut setup = Vec::new();
            if !p.setup_user.is_empty() {
                setup.push(format!(
                    "create the user the run had created ({} with a fresh prefix){}",
                    escape_text(&p.setup_user),
                    if p.setup_keys > 0 {
                        format!(
                            " and give it {} keys, the first made Inactive",
                            p.setup_keys
                        )
                    } else {
                        String::new()
                    }
                ));
            }
            if !p.signer_user.is_empty() {
                setup.push(
                    "create a second user with a key of its own, which signs the request".into(),
                );
            }
            if !setup.is_empty() {
                let _ = writeln!(
                    out,
                    "\nBefore the request the scripts {}; they delete every user they created, \
                     with its keys, at the end.",
                    setup.join(", and ")
                );
            }
            if !p.old_prefix.is_empty() {
                let _ = writeln!(
                    out,
                    "\nThe run's name prefix `{}` is replaced by a fresh one of the same length \
                     on every run, so names keep their length and runs never collide.",
                    p.old_prefix
                );
            }
            let _ = writeln!(
                out,
                "\nWith the harness instead: `{}`",
                escape_text(&f.replay)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n(Generated by `iam-contract check --repro-dir` from a run against the endpoint that \
         `{}` names.)",
        escape_text(&ctx.replay_base)
    );
    out
}

/// Writes one folder per finding into `dir` (created if needed), plus an index `README.md`.
/// Every file is checked by the tripwire before it is written and read back after; a hit
/// removes the file and fails. Returns the number of reproductions written.
pub fn write_repro_dir(
    report: &Report,
    dir: &Path,
    ctx: &ReproContext,
    tripwire: &Tripwire,
) -> Result<usize, ReproError> {
    let model = Model::embedded();
    let io = |path: &Path, e: std::io::Error| ReproError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut index = String::from(
        "# Reproductions\n\nOne folder per finding: `repro.sh` (curl), `repro.py` (botocore), \
         `README.md`. Each script exits 1 while the deviation holds, 0 once it is fixed, 2 when \
         it cannot judge the rule.\n\n| folder | rule | status | standalone |\n|---|---|---|---|\n",
    );
    let mut written = 0;
    let mut seen = std::collections::HashSet::new();
    for rule in &report.rules {
        if !matches!(rule.status, Status::Fail | Status::ExpectedFail) {
            continue;
        }
        for f in &rule.findings {
            let repro = render(model, rule, f, ctx);
            if !seen.insert(repro.name.clone()) {
                continue;
            }
            let folder = dir.join(&repro.name);
            std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
            for (file, text, exec) in [
                ("repro.sh", &repro.sh, true),
                ("repro.py", &repro.py, true),
                ("README.md", &repro.readme, false),
            ] {
                write_checked(&folder.join(file), text, exec, tripwire)?;
            }
            let _ = writeln!(
                index,
                "| [`{0}`]({0}/) | `{1}` | {2} | {3} |",
                repro.name,
                rule.id,
                rule.status.as_str(),
                if repro.not_standalone.is_some() {
                    "no (exits 2)"
                } else {
                    "yes"
                }
            );
            written += 1;
        }
    }
    write_checked(&dir.join("README.md"), &index, false, tripwire)?;
    Ok(written)
}

fn write_checked(
    path: &Path,
    text: &str,
    exec: bool,
    tripwire: &Tripwire,
) -> Result<(), ReproError> {
    let name = path.display().to_string();
    tripwire.check(&name, text)?;
    std::fs::write(path, text).map_err(|e| ReproError::Io {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    #[cfg(unix)]
    if exec {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
    }
    #[cfg(not(unix))]
    let _ = exec;
    // Read back what reached the disk. The text was checked already; only a file that differs
    // from it (something else wrote there) needs scanning again, which halves the tripwire's
    // work on a folder of hundreds of files.
    let same = std::fs::read(path).is_ok_and(|b| b == text.as_bytes());
    if !same && let Err(e) = tripwire.check_file(path) {
        let _ = std::fs::remove_file(path);
        return Err(e.into());
    }
    Ok(())
}

//! The rule catalogue, one module per rule class.
//!
//! Each class module holds its catalogue rows as data (`ROWS`: id, title, source, profile, class
//! and the emulator faults that break the rule), its case plans (pure: model, capabilities and
//! names in, requests out), its judges (pure: a case and the [`Exchange`]s it produced in,
//! [`Verdict`]s out) and a small driver that hands the plans to the runner and the exchanges to
//! the judges. The judges do no IO, so the proxy, `verify` and the reproductions can use them on
//! traffic the harness did not send; the drivers are the only part that needs the runner.
//!
//! Input-validation rules are also derived from the model: one per constraint of each string
//! member of the operation's input, so a constraint added to `spec/` gets a rule without code.
//!
//! [`Exchange`]: crate::contract::Exchange

pub mod accept;
pub mod auth;
pub mod authz;
pub mod concurrency;
pub mod error;
pub mod input;
pub mod lifecycle;
pub mod output;
pub mod protocol;
pub mod root;

use super::{CaseRecord, Profile, Rule, RuleClass, Source};
use crate::client::Signing;
use crate::emulator::Fault;
use crate::model::Model;
use crate::wire::{Outcome, WireProblem, encode_form};
use std::borrow::Cow;

pub use super::exchange::Exchange;

/// The operation under contract.
pub const OPERATION: &str = "CreateAccessKey";

macro_rules! rule_ids {
    ($( $variant:ident = $id:literal ),* $(,)?) => {
        /// The stable id of a fixed rule. Derived input-validation rules (one per model constraint)
        /// have ids computed from the model instead: see [`constraint_rule_id`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId { $($variant),* }

        impl RuleId {
            const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// Every fixed rule id, in declaration order.
            pub fn all() -> &'static [RuleId] {
                Self::ALL
            }

            /// The stable text id (`auth.unsigned-refused`) reports and baselines use.
            pub const fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id),* }
            }

            /// The fixed rule with this text id.
            pub fn parse(id: &str) -> Option<RuleId> {
                Self::ALL.iter().copied().find(|r| r.as_str() == id)
            }
        }
    };
}

rule_ids! {
    InputGeneratedInvalid = "input.generated-invalid",
    InputValidationMessage = "input.validation-message",
    AcceptGeneratedNames = "accept.generated-names",
    AcceptPunctuation = "accept.allowed-punctuation",
    AcceptLongExistingName = "accept.existing-user-name-range",
    OutputWellFormed = "output.well-formed",
    OutputEnvelope = "output.envelope",
    OutputRequestId = "output.request-id",
    OutputSchema = "output.schema",
    OutputStatusActive = "output.status-active",
    OutputUserNameEcho = "output.user-name-echo",
    OutputCreateDate = "output.create-date-recent",
    OutputSecretUnique = "output.secret-unique",
    OutputAwsKeyId = "output.aws-key-id-format",
    OutputAwsSecret = "output.aws-secret-format",
    ErrorNoSuchEntity = "error.no-such-entity",
    ErrorLimitExceeded = "error.limit-exceeded",
    ErrorEnvelope = "error.envelope",
    ErrorMessageLoose = "error.message-names-subject",
    ErrorMessageExact = "error.message-exact",
    LifeQuota = "lifecycle.quota-counts-inactive",
    LifeList = "lifecycle.list-matches-model",
    LifeSecretOnce = "lifecycle.secret-only-at-creation",
    LifeUniqueIds = "lifecycle.ids-unique-and-never-reused",
    LifeImplicitUser = "lifecycle.implicit-user-is-signer",
    LifeFoldCase = "lifecycle.user-names-fold-case",
    LifeDeleteConflict = "lifecycle.delete-user-with-keys-conflicts",
    LifeKeyAuth = "lifecycle.key-status-governs-auth",
    LifeCreateDateStable = "lifecycle.create-date-stable",
    AuthUnsigned = "auth.unsigned-refused",
    AuthBadSignature = "auth.bad-signature-refused",
    AuthUnknownKey = "auth.unknown-key-refused",
    AuthClockSkew = "auth.clock-skew-refused",
    AuthClockSkewWording = "auth.clock-skew-wording",
    AuthWrongScope = "auth.wrong-scope-refused",
    AuthCrossUser = "auth.cross-user-denied",
    ProtoUnknownAction = "protocol.unknown-action",
    ProtoMissingAction = "protocol.missing-action",
    ProtoBadVersion = "protocol.bad-version",
    ProtoOtherMethods = "protocol.other-methods-change-nothing",
    ProtoGetQuery = "protocol.get-query-string",
    ProtoDuplicateParams = "protocol.duplicate-params-deterministic",
    ProtoPlusEncoding = "protocol.plus-encoding",
    ProtoInvalidUtf8 = "protocol.invalid-utf8-refused",
    ProtoNoServerErrors = "protocol.no-server-errors",
    ConcQuota = "concurrency.quota-holds",
    ConcUniqueIds = "concurrency.ids-unique",
    RootGetUser = "root.get-user-without-user-name",
    RootCreateKey = "root.create-key-without-user-name",
    RootKeyAuth = "root.new-key-signs-as-root",
    RootList = "root.list-keys-without-user-name",
    RootDeactivate = "root.deactivate-key",
    RootDelete = "root.delete-key",
    RootQuota = "root.key-quota",
    AuthzNoPolicy = "authz.no-policy-denied",
    AuthzSelfManage = "authz.self-manage-own-keys",
    AuthzIamStar = "authz.iam-star-allows",
    AuthzExplicitDeny = "authz.explicit-deny-wins",
    AuthzResourceScoped = "authz.resource-scoped",
    AuthzNotAction = "authz.not-action",
    AuthzDeniedUnchanged = "authz.denied-changes-nothing",
    AuthzWording = "authz.access-denied-wording",
    AuthzMalformed = "authz.malformed-policy-refused",
    AuthzPolicyLifecycle = "authz.user-policies-lifecycle",
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule a verdict is about: a fixed [`RuleId`] or a derived id computed from the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleKey(Cow<'static, str>);

impl RuleKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<RuleId> for RuleKey {
    fn from(id: RuleId) -> RuleKey {
        RuleKey(Cow::Borrowed(id.as_str()))
    }
}

impl From<String> for RuleKey {
    fn from(id: String) -> RuleKey {
        RuleKey(Cow::Owned(id))
    }
}

impl PartialEq<RuleId> for RuleKey {
    fn eq(&self, other: &RuleId) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Display for RuleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a judge decided about one rule for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The rule holds for this case.
    Pass,
    /// The rule is broken; the text says what was expected.
    Fail(String),
    /// The case cannot decide the rule; the text says why (never a silent pass).
    Unjudged(String),
}

/// A judge's decision about one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub rule: RuleKey,
    pub judgement: Judgement,
}

impl Verdict {
    pub fn pass(rule: impl Into<RuleKey>) -> Verdict {
        Verdict {
            rule: rule.into(),
            judgement: Judgement::Pass,
        }
    }

    pub fn fail(rule: impl Into<RuleKey>, expected: impl Into<String>) -> Verdict {
        Verdict {
            rule: rule.into(),
            judgement: Judgement::Fail(expected.into()),
        }
    }

    pub fn unjudged(rule: impl Into<RuleKey>, reason: impl Into<String>) -> Verdict {
        Verdict {
            rule: rule.into(),
            judgement: Judgement::Unjudged(reason.into()),
        }
    }

    /// A pass when `ok`, otherwise a failure expecting `expected`.
    pub fn check(rule: impl Into<RuleKey>, ok: bool, expected: impl Into<String>) -> Verdict {
        if ok {
            Verdict::pass(rule)
        } else {
            Verdict::fail(rule, expected)
        }
    }

    /// Whether this verdict is a failure.
    pub fn failed(&self) -> bool {
        matches!(self.judgement, Judgement::Fail(_))
    }
}

/// One row of the catalogue, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRow {
    pub id: RuleId,
    pub class: RuleClass,
    pub source: Source,
    pub profile: Profile,
    pub title: &'static str,
    /// What is checked, in a sentence.
    pub checks: &'static str,
    /// The emulator faults that break this rule (the fault matrix test proves each one does).
    pub faults: &'static [Fault],
}

impl RuleRow {
    /// The rule as reports and the command line see it.
    pub fn to_rule(&self) -> Rule {
        Rule {
            id: self.id.as_str().to_owned(),
            title: self.title.to_owned(),
            class: self.class,
            source: self.source,
            profile: self.profile,
            checks: self.checks.to_owned(),
            breaking_faults: self.faults.to_vec(),
        }
    }
}

/// Every class's rows, in report order.
pub fn rows() -> impl Iterator<Item = &'static RuleRow> {
    [
        input::ROWS,
        accept::ROWS,
        output::ROWS,
        error::ROWS,
        lifecycle::ROWS,
        auth::ROWS,
        protocol::ROWS,
        concurrency::ROWS,
        root::ROWS,
        authz::ROWS,
    ]
    .into_iter()
    .flatten()
}

/// The row of a fixed rule.
pub fn row(id: RuleId) -> &'static RuleRow {
    rows()
        .find(|r| r.id == id)
        .expect("every RuleId has a row (tested)")
}

/// The whole catalogue, in report order: the rules derived from the model, then the fixed rows.
pub fn catalogue(model: &Model) -> Vec<Rule> {
    let mut rules = input::derived_rules(model);
    rules.extend(rows().map(RuleRow::to_rule));
    rules
}

/// The id of the derived rule for one constraint kind of one input member
/// (`input.user-name.length-max`).
pub fn constraint_rule_id(member: &str, kind: &str) -> String {
    format!("input.{}.{kind}", kebab(member))
}

/// `UserName` → `user-name`.
pub fn kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A request to make: parameters (already in wire order), method, signing. Plans produce these;
/// the runner sends them and records an [`Exchange`].
#[derive(Debug, Clone)]
pub struct Request {
    pub params: Vec<(String, String)>,
    /// Raw wire text instead of encoding `params` (for invalid UTF-8, raw `+`, ...).
    pub raw_wire: Option<String>,
    pub method: &'static str,
    pub signing: Signing,
}

impl Request {
    /// A POST of `action` with the model's Version and `members`, signed normally.
    pub fn new(model: &Model, action: &str, members: &[(&str, &str)]) -> Request {
        let mut params = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), model.metadata().api_version.clone()),
        ];
        params.extend(
            members
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Request {
            params,
            raw_wire: None,
            method: "POST",
            signing: Signing::Normal,
        }
    }

    pub fn signed(mut self, s: Signing) -> Request {
        self.signing = s;
        self
    }

    pub fn method(mut self, m: &'static str) -> Request {
        self.method = m;
        self
    }

    /// The `Action` parameter (empty when there is none).
    pub fn action(&self) -> String {
        self.params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The exact wire text: the raw text when there is one, otherwise the encoded parameters.
    pub fn wire(&self) -> String {
        self.raw_wire
            .clone()
            .unwrap_or_else(|| encode_form(&self.params))
    }

    /// The request as a finding records it (no credentials, no signature).
    pub fn case(&self) -> CaseRecord {
        CaseRecord {
            action: self.action(),
            params: self.params.clone(),
            method: self.method.into(),
            signing: signing_label(&self.signing),
            wire: self.wire(),
            steps: Vec::new(),
            sequence: None,
        }
    }
}

/// How a request was signed, as findings name it (`sigv4`, `unsigned`, `skewed:+1200s`, ...).
pub fn signing_label(s: &Signing) -> String {
    match s {
        Signing::Normal => "sigv4".into(),
        Signing::Unsigned => "unsigned".into(),
        Signing::As(c) => format!("as:{}", c.access_key_id),
        Signing::Scope(sc) => format!("scope:{}/{}", sc.service, sc.region),
        Signing::Skewed(secs) => format!("skewed:{secs:+}s"),
        Signing::Corrupted => "corrupted".into(),
    }
}

/// The rules judged on the responses of every class, not on cases of their own: selecting one
/// of them with `--only` runs every class.
pub fn judged_on_every_class(id: &str) -> bool {
    id.starts_with("output.")
        || [
            RuleId::ErrorEnvelope,
            RuleId::ErrorMessageLoose,
            RuleId::ProtoNoServerErrors,
            RuleId::LifeUniqueIds,
        ]
        .iter()
        .any(|r| r.as_str() == id)
}

/// The judges that hold for every response of a run: no 5xx, well-formed XML, a RequestId, and
/// for errors the documented envelope with a message.
pub fn every_response(model: &Model, ex: &Exchange) -> Vec<Verdict> {
    let Some(j) = ex.judged() else {
        return Vec::new();
    };
    let mut v = vec![Verdict::check(
        RuleId::ProtoNoServerErrors,
        j.status < 500,
        "a status below 500",
    )];
    if let Some(p) = j.ill_formed() {
        // A HEAD response has no body by definition.
        if ex.case.method != "HEAD" {
            v.push(Verdict::fail(
                RuleId::OutputWellFormed,
                format!("a well-formed XML body ({p})"),
            ));
        }
    } else {
        v.push(Verdict::pass(RuleId::OutputWellFormed));
        let envelope = success_envelope(model, ex);
        // In an envelope the harness cannot read, where a RequestId should stand is unknown:
        // `output.envelope` reports that answer, and the RequestId is judged where it can be.
        let unreadable = envelope.as_ref().is_some_and(Verdict::failed)
            && matches!(j.decoded.outcome, Outcome::Unreadable);
        v.extend(envelope);
        if !unreadable {
            let has_rid = j.decoded.request_id().is_some_and(|r| !r.is_empty());
            v.push(Verdict::check(
                RuleId::OutputRequestId,
                has_rid,
                "a RequestId in the response body",
            ));
        }
    }
    if j.status >= 400 {
        v.extend(error::judge_envelope(model, ex));
    }
    v
}

/// The rules a single response decides, with no history: what `replay --wire` and the fuzz
/// targets judge.
pub const RESPONSE_RULES: &[&str] = &[
    "output.well-formed",
    "output.request-id",
    "output.envelope",
    "output.schema",
    "output.status-active",
    "output.user-name-echo",
    "error.envelope",
    "protocol.no-server-errors",
];

/// Judges one exchange by the [`RESPONSE_RULES`]: every response's rules, and for a
/// CreateAccessKey success the output rules that need no clock and no other key (the key is for
/// the `UserName` sent, when one was).
pub fn judge_response_alone(model: &Model, ex: &Exchange) -> Vec<Verdict> {
    let mut v = every_response(model, ex);
    if ex.case.action == OPERATION
        && let Some((created, _)) = output::judge_created(
            model,
            ex,
            ex.param("UserName"),
            time::OffsetDateTime::now_utc(),
        )
    {
        v.extend(created);
    }
    v.retain(|v| RESPONSE_RULES.contains(&v.rule.as_str()));
    v
}

/// A success answer (a 2xx that is not an error envelope) to a call the model knows must come
/// in the awsQuery envelope: root `<Action>Response` in the IAM namespace, with `<Action>Result`
/// inside where the model has a result wrapper. Every such answer of the run is judged, the
/// capability probe's included, so that a success the harness cannot decode is this rule's
/// finding and not a reason to skip others. `None` for any other answer.
pub fn success_envelope(model: &Model, ex: &Exchange) -> Option<Verdict> {
    let j = ex.judged()?;
    let action = ex.case.action.as_str();
    if !(200..300).contains(&j.status)
        || ex.case.method == "HEAD"
        || model.operation(action).is_none()
        || j.decoded.error().is_some()
    {
        return None;
    }
    let problems: Vec<String> = j
        .decoded
        .problems
        .iter()
        .filter(|p| {
            matches!(
                p,
                WireProblem::WrongRoot { .. }
                    | WireProblem::WrongNamespace { .. }
                    | WireProblem::MissingWrapper { .. }
            )
        })
        .map(ToString::to_string)
        .collect();
    Some(Verdict::check(
        RuleId::OutputEnvelope,
        problems.is_empty(),
        format!(
            "a {action}Response envelope in the IAM namespace ({})",
            problems.join("; ")
        ),
    ))
}

/// The keys a ListAccessKeys answer lists, as (id, status); `None` when it did not succeed.
pub fn listed_keys(ex: &Exchange) -> Option<Vec<(String, String)>> {
    let j = ex.judged()?;
    let Outcome::Success { value, .. } = &j.decoded.outcome else {
        return None;
    };
    Some(
        super::lifecycle::listed_keys(Some(value))
            .into_iter()
            .map(|(id, status, _)| (id, status))
            .collect(),
    )
}

/// Test helpers: exchanges built from a request and a canned response, with no socket.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn model() -> &'static Model {
        Model::embedded()
    }

    /// The exchange of `req` answered with `status` and `body`.
    pub fn answer(req: &Request, status: u16, body: &str) -> Exchange {
        Exchange::from_response(model(), req.case(), status, body.as_bytes())
    }

    /// An IAM error body.
    pub fn error_body(code: &str, kind: &str, message: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        )
    }

    /// A CreateAccessKey success body.
    pub fn created_body(user: &str, id: &str, secret: &str, date: &str) -> String {
        format!(
            "<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateAccessKeyResult><AccessKey><UserName>{user}</UserName><AccessKeyId>{id}</AccessKeyId><Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey><CreateDate>{date}</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></CreateAccessKeyResponse>"
        )
    }

    /// The judgement `verdicts` give `rule`, if any.
    pub fn judgement(verdicts: &[Verdict], rule: RuleId) -> Option<&Judgement> {
        verdicts
            .iter()
            .find(|v| v.rule == rule)
            .map(|v| &v.judgement)
    }

    /// Whether `verdicts` pass `rule` (`Some(true)`), fail it (`Some(false)`) or say nothing.
    pub fn passes(verdicts: &[Verdict], rule: RuleId) -> Option<bool> {
        match judgement(verdicts, rule)? {
            Judgement::Pass => Some(true),
            Judgement::Fail(_) => Some(false),
            Judgement::Unjudged(_) => None,
        }
    }
}

/// The kind suffix of the derived rule that `\w` in a pattern is ASCII.
pub const PATTERN_ASCII_WORD: &str = "pattern-ascii-word";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_has_exactly_one_row() {
        for id in RuleId::all() {
            assert_eq!(rows().filter(|r| r.id == *id).count(), 1, "{id}");
        }
        assert_eq!(rows().count(), RuleId::all().len());
    }

    #[test]
    fn rows_sit_in_the_module_of_their_class() {
        let classes = [
            (input::ROWS, RuleClass::InputValidation),
            (accept::ROWS, RuleClass::PositiveAcceptance),
            (output::ROWS, RuleClass::OutputShape),
            (error::ROWS, RuleClass::ErrorContract),
            (lifecycle::ROWS, RuleClass::Lifecycle),
            (auth::ROWS, RuleClass::Auth),
            (protocol::ROWS, RuleClass::Protocol),
            (concurrency::ROWS, RuleClass::Concurrency),
            (root::ROWS, RuleClass::Root),
            (authz::ROWS, RuleClass::Authz),
        ];
        for (rows, class) in classes {
            for r in rows {
                assert_eq!(r.class, class, "{}", r.id);
            }
        }
    }

    #[test]
    fn one_response_is_judged_by_the_response_rules_alone() {
        use testing::*;
        let req = Request::new(model(), OPERATION, &[("UserName", "alice")]);
        let ok = answer(
            &req,
            200,
            &created_body("alice", "AKIAIOSFODNN7EXAMPLE", "s", "1796026256"),
        );
        let v = judge_response_alone(model(), &ok);
        // The date is not judged (it needs a clock), the echo is.
        assert_eq!(passes(&v, RuleId::OutputCreateDate), None);
        assert_eq!(passes(&v, RuleId::OutputUserNameEcho), Some(true));
        let wrong = answer(
            &req,
            200,
            &created_body("bob", "AKIAIOSFODNN7EXAMPLE", "s", "1796026256"),
        );
        assert_eq!(
            passes(
                &judge_response_alone(model(), &wrong),
                RuleId::OutputUserNameEcho
            ),
            Some(false)
        );
        let five = answer(
            &req,
            503,
            &testing::error_body("ServiceFailure", "Receiver", "x"),
        );
        assert_eq!(
            passes(
                &judge_response_alone(model(), &five),
                RuleId::ProtoNoServerErrors
            ),
            Some(false)
        );
        for v in judge_response_alone(model(), &five) {
            assert!(RESPONSE_RULES.contains(&v.rule.as_str()), "{}", v.rule);
        }
    }

    #[test]
    fn text_ids_parse_back() {
        for id in RuleId::all() {
            assert_eq!(RuleId::parse(id.as_str()), Some(*id));
        }
        assert_eq!(RuleId::parse("auth.nope"), None);
    }
}

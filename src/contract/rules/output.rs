//! Output shape: a CreateAccessKey success is well-formed, in IAM's envelope and namespace,
//! carries a RequestId, validates against the JSON Schema derived from the model, is `Active`,
//! echoes the `UserName`, has a recent ISO 8601 `CreateDate` and a secret no other key of the run
//! has; the `aws` profile adds AWS's key formats.
//!
//! These rules have no cases of their own: they judge every CreateAccessKey success of every
//! class (see [`judge_created`]) and, for well-formedness and RequestId, every response of the
//! run ([`super::every_response`]).

use super::{RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::judge::output_failures;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;
use crate::secret::Secret;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::OutputWellFormed,
        class: RuleClass::OutputShape,
        source: Source::Model,
        profile: Profile::Model,
        title: "Every response is well-formed XML",
        checks: "Every response body, success or error, to valid or hostile input, is UTF-8 and well-formed XML.",
        faults: &[Fault::RawXml, Fault::NoErrorEnvelope],
    },
    RuleRow {
        id: RuleId::OutputEnvelope,
        class: RuleClass::OutputShape,
        source: Source::Model,
        profile: Profile::Model,
        title: "Success responses use the awsQuery envelope",
        checks: "Every success answer (2xx) to a call the model knows, the capability probe's included, has the root <Action>Response in the IAM namespace with <Action>Result inside (CreateAccessKeyResponse and CreateAccessKeyResult for the operation under contract).",
        faults: &[Fault::WrongNamespace, Fault::WrongSuccessRoot],
    },
    RuleRow {
        id: RuleId::OutputRequestId,
        class: RuleClass::OutputShape,
        source: Source::Model,
        profile: Profile::Model,
        title: "Every response carries a RequestId",
        checks: "ResponseMetadata/RequestId in success bodies, RequestId in error bodies.",
        faults: &[Fault::DropRequestId],
    },
    RuleRow {
        id: RuleId::OutputSchema,
        class: RuleClass::OutputShape,
        source: Source::Model,
        profile: Profile::Model,
        title: "Success bodies validate against the output schema",
        checks: "The decoded AccessKey validates against the JSON Schema derived from the model (required members, lengths, patterns, Status enum, CreateDate a date-time).",
        faults: &[
            Fault::LowercaseStatus,
            Fault::ShortKeyId,
            Fault::BadCreateDate,
        ],
    },
    RuleRow {
        id: RuleId::OutputStatusActive,
        class: RuleClass::OutputShape,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A new key is Active",
        checks: "Status of a newly created key is exactly `Active`.",
        faults: &[Fault::LowercaseStatus],
    },
    RuleRow {
        id: RuleId::OutputUserNameEcho,
        class: RuleClass::OutputShape,
        source: Source::Model,
        profile: Profile::Model,
        title: "The key belongs to the user named in the request",
        checks: "AccessKey.UserName equals the request's UserName, case included.",
        faults: &[Fault::EchoWrongUsername],
    },
    RuleRow {
        id: RuleId::OutputCreateDate,
        class: RuleClass::OutputShape,
        source: Source::Docs,
        profile: Profile::Model,
        title: "CreateDate is ISO 8601 and close to now",
        checks: "CreateDate parses as an ISO 8601 date-time within the clock-skew allowance of the harness's clock.",
        faults: &[Fault::BadCreateDate],
    },
    RuleRow {
        id: RuleId::OutputSecretUnique,
        class: RuleClass::OutputShape,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Every key gets a fresh secret",
        checks: "No two keys created in the run share a SecretAccessKey (compared without printing them).",
        faults: &[Fault::SecretReuse],
    },
    RuleRow {
        id: RuleId::OutputAwsKeyId,
        class: RuleClass::OutputShape,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "Access key IDs look like AWS's (AKIA + 16)",
        checks: "AccessKeyId is 20 characters starting AKIA, as real AWS issues them.",
        faults: &[Fault::NonAkiaKeyId, Fault::ShortKeyId],
    },
    RuleRow {
        id: RuleId::OutputAwsSecret,
        class: RuleClass::OutputShape,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "Secrets look like AWS's (40 of [A-Za-z0-9+/])",
        checks: "SecretAccessKey is 40 characters of [A-Za-z0-9+/], as real AWS issues them.",
        faults: &[Fault::ShortSecret],
    },
];
/// A key a CreateAccessKey created.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub id: String,
    /// The `UserName` the answer carried (empty when it carried none).
    pub user: String,
    pub secret: Secret,
}

/// Judges a CreateAccessKey answer that should have created a key for `user` (`None`: the
/// implicit user) at about `now`. `None` when it is not a success (other rules judge that).
pub fn judge_created(
    model: &Model,
    ex: &Exchange,
    user: Option<&str>,
    now: time::OffsetDateTime,
) -> Option<(Vec<Verdict>, CreatedKey)> {
    let j = ex.judged().filter(|j| j.is_success())?;
    // The envelope is judged on every success of the run (`super::success_envelope`), this
    // one included.
    let failures: Vec<_> = output_failures(model, j)
        .into_iter()
        .filter(|(rule, _)| *rule != RuleId::OutputEnvelope)
        .collect();
    let mut v: Vec<Verdict> = failures
        .iter()
        .map(|(rule, reason)| {
            Verdict::fail(
                *rule,
                format!("a conforming CreateAccessKey response ({reason})"),
            )
        })
        .collect();
    for rule in [RuleId::OutputSchema, RuleId::OutputStatusActive] {
        if !failures.iter().any(|(r, _)| *r == rule) {
            v.push(Verdict::pass(rule));
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
    if let Some(u) = user {
        v.push(Verdict::check(
            RuleId::OutputUserNameEcho,
            got_user == u,
            format!("AccessKey.UserName {u:?}, got {got_user:?}"),
        ));
    }
    v.push(judge_create_date(
        model,
        j.str_at("/AccessKey/CreateDate"),
        now,
    ));
    v.extend(judge_aws_formats(model, &id, &secret));
    Some((
        v,
        CreatedKey {
            id,
            user: got_user,
            secret,
        },
    ))
}

/// `CreateDate` is an ISO 8601 date-time within the allowed clock skew of `now`.
fn judge_create_date(model: &Model, date: Option<&str>, now: time::OffsetDateTime) -> Verdict {
    let skew = model.facts().limits.clock_skew_seconds.value as i64;
    match date {
        Some(d) => {
            let parsed =
                time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339);
            let ok = parsed.is_ok_and(|t| (t - now).whole_seconds().abs() <= skew);
            Verdict::check(
                RuleId::OutputCreateDate,
                ok,
                format!("CreateDate an ISO 8601 date-time within {skew}s of now, got {d:?}"),
            )
        }
        None => Verdict::fail(
            RuleId::OutputCreateDate,
            "a CreateDate in the AccessKey (optional in the model, but AWS always sends one)",
        ),
    }
}

/// The strict AWS formats (the `aws` profile): key ID prefix and length, secret length and
/// alphabet.
fn judge_aws_formats(model: &Model, id: &str, secret: &Secret) -> [Verdict; 2] {
    let aws = &model.facts().aws_profile;
    let secret_ok = secret.len() == aws.secret_access_key.length
        && secret
            .expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    [
        Verdict::check(
            RuleId::OutputAwsKeyId,
            id.len() == aws.access_key_id.length && id.starts_with(&aws.access_key_id.prefix),
            format!(
                "an AccessKeyId of {} characters starting {} (got {} characters: {id})",
                aws.access_key_id.length,
                aws.access_key_id.prefix,
                id.len()
            ),
        ),
        Verdict::check(
            RuleId::OutputAwsSecret,
            secret_ok,
            format!(
                "a SecretAccessKey of {} characters of [A-Za-z0-9+/] (got {} characters)",
                aws.secret_access_key.length,
                secret.len()
            ),
        ),
    ]
}

/// A new secret is one no other key of the run has: `seen` counts the keys of the run with this
/// secret, this one included.
pub fn judge_secret_unique(secret: &Secret, seen: usize) -> Verdict {
    Verdict::check(
        RuleId::OutputSecretUnique,
        secret.is_empty() || seen <= 1,
        "a SecretAccessKey no other key of the run has",
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{OPERATION, Request};
    use super::*;

    /// A made-up secret of AWS's length and alphabet.
    const SECRET: &str = "0123456789+/abcdefghABCDEFGHIJ0123456789";
    const NOW: &str = "2026-11-30T08:00:00Z";

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::parse(NOW, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn judge(user: &str, body: &str) -> Vec<Verdict> {
        let req = Request::new(model(), OPERATION, &[("UserName", "alice")]);
        judge_created(model(), &answer(&req, 200, body), Some(user), now())
            .expect("a success")
            .0
    }

    #[test]
    fn a_conforming_answer_passes_every_output_rule() {
        let v = judge(
            "alice",
            &created_body("alice", "AKIAIOSFODNN7EXAMPLE", SECRET, NOW),
        );
        assert!(v.iter().all(|v| !v.failed()), "{v:?}");
        for rule in [
            RuleId::OutputSchema,
            RuleId::OutputStatusActive,
            RuleId::OutputUserNameEcho,
            RuleId::OutputCreateDate,
            RuleId::OutputAwsKeyId,
            RuleId::OutputAwsSecret,
        ] {
            assert_eq!(passes(&v, rule), Some(true), "{rule}");
        }
    }

    #[test]
    fn each_deviation_fails_its_rule() {
        let v = judge(
            "alice",
            &created_body("ALICE", "AKIAIOSFODNN7EXAMPLE", SECRET, NOW),
        );
        assert_eq!(passes(&v, RuleId::OutputUserNameEcho), Some(false));
        let v = judge(
            "alice",
            &created_body("alice", "AKIAIOSFODNN7EXAMPLE", SECRET, "1796026256"),
        );
        assert_eq!(passes(&v, RuleId::OutputCreateDate), Some(false));
        let v = judge(
            "alice",
            &created_body(
                "alice",
                "AKIAIOSFODNN7EXAMPLE",
                SECRET,
                "2026-11-29T08:00:00Z",
            ),
        );
        assert_eq!(passes(&v, RuleId::OutputCreateDate), Some(false));
        let v = judge(
            "alice",
            &created_body("alice", "AKIBIOSFODNN7EXAMPLE", SECRET, NOW),
        );
        assert_eq!(passes(&v, RuleId::OutputAwsKeyId), Some(false));
        let v = judge(
            "alice",
            &created_body("alice", "AKIAIOSFODNN7EXAMPLE", "short", NOW),
        );
        assert_eq!(passes(&v, RuleId::OutputAwsSecret), Some(false));
        let body = created_body("alice", "AKIAIOSFODNN7EXAMPLE", SECRET, NOW)
            .replace(">Active<", ">active<");
        assert_eq!(
            passes(&judge("alice", &body), RuleId::OutputStatusActive),
            Some(false)
        );
    }

    /// The envelope is judged on every success of the run, CreateUser's as much as
    /// CreateAccessKey's: a wrong namespace or a wrong root fails it, and an unreadable
    /// envelope leaves the RequestId unjudged rather than failed.
    #[test]
    fn every_success_is_judged_for_its_envelope() {
        use super::super::every_response;
        let req = Request::new(model(), OPERATION, &[("UserName", "alice")]);
        let good = created_body("alice", "AKIAIOSFODNN7EXAMPLE", SECRET, NOW);
        let v = every_response(model(), &answer(&req, 200, &good));
        assert_eq!(passes(&v, RuleId::OutputEnvelope), Some(true));
        let v = every_response(
            model(),
            &answer(&req, 200, &good.replace("2010-05-08", "2010-05-09")),
        );
        assert_eq!(passes(&v, RuleId::OutputEnvelope), Some(false));
        assert_eq!(passes(&v, RuleId::OutputRequestId), Some(true));
        let user = Request::new(model(), "CreateUser", &[("UserName", "alice")]);
        let body = "<CreateUserResult xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User><UserName>alice</UserName></User></CreateUserResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateUserResult>";
        let ex = answer(&user, 200, body);
        assert!(ex.accepted() && !ex.is_success());
        let v = every_response(model(), &ex);
        assert_eq!(passes(&v, RuleId::OutputEnvelope), Some(false), "{v:?}");
        assert_eq!(passes(&v, RuleId::OutputRequestId), None, "{v:?}");
        // Errors are the error rules' business, and a call the model does not know is not judged.
        let v = every_response(
            model(),
            &answer(
                &user,
                409,
                &error_body("EntityAlreadyExists", "Sender", "x"),
            ),
        );
        assert_eq!(passes(&v, RuleId::OutputEnvelope), None);
        let mut unknown = Request::new(model(), "Frobnicate", &[]);
        unknown.params[0].1 = "Frobnicate".into();
        let v = every_response(model(), &answer(&unknown, 200, body));
        assert_eq!(passes(&v, RuleId::OutputEnvelope), None);
    }

    #[test]
    fn an_error_is_not_judged_here_and_a_reused_secret_is() {
        let req = Request::new(model(), OPERATION, &[("UserName", "alice")]);
        let ex = answer(&req, 404, &error_body("NoSuchEntity", "Sender", "x"));
        assert!(judge_created(model(), &ex, Some("alice"), now()).is_none());
        let s = Secret::new(SECRET.to_owned());
        assert!(!judge_secret_unique(&s, 1).failed());
        assert!(judge_secret_unique(&s, 2).failed());
    }
}

//! The error contract: status, `Type` and envelope per error code (from the model and the
//! facts), `NoSuchEntity` for a missing user, `LimitExceeded` for a key past the quota with an
//! Inactive key counted, a message that names its subject, and, in the `aws` profile, IAM's exact
//! wording.

use super::{RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;
use crate::wire::WireProblem;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::ErrorNoSuchEntity,
        class: RuleClass::ErrorContract,
        source: Source::Model,
        profile: Profile::Model,
        title: "A missing user is 404 NoSuchEntity (Sender)",
        checks: "CreateAccessKey for a valid name that no user has gets HTTP 404, Code NoSuchEntity, Type Sender.",
        faults: &[Fault::WrongErrorStatus, Fault::ErrorTypeReceiver],
    },
    RuleRow {
        id: RuleId::ErrorLimitExceeded,
        class: RuleClass::ErrorContract,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "The third key is 409 LimitExceeded (Sender)",
        checks: "With 2 keys (one Inactive), a third CreateAccessKey gets HTTP 409, Code LimitExceeded, Type Sender, and creates nothing.",
        faults: &[Fault::NoKeyQuota, Fault::WrongErrorStatus],
    },
    RuleRow {
        id: RuleId::ErrorEnvelope,
        class: RuleClass::ErrorContract,
        source: Source::Model,
        profile: Profile::Model,
        title: "Errors use the documented envelope and status",
        checks: "Every error is ErrorResponse/Error{Type,Code,Message} + RequestId, with the HTTP status and Type the model or docs give for its code.",
        faults: &[
            Fault::NoErrorEnvelope,
            Fault::WrongErrorStatus,
            Fault::ErrorTypeReceiver,
            Fault::AccessDeniedException,
        ],
    },
    RuleRow {
        id: RuleId::ErrorMessageLoose,
        class: RuleClass::ErrorContract,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "Error messages name their subject",
        checks: "The NoSuchEntity message names the missing user; every error has a non-empty message.",
        faults: &[Fault::NoErrorEnvelope],
    },
    RuleRow {
        id: RuleId::ErrorMessageExact,
        class: RuleClass::ErrorContract,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "Error messages are worded exactly as AWS words them",
        checks: "NoSuchEntity and LimitExceeded messages equal AWS's recorded wording.",
        faults: &[Fault::RewordedErrors],
    },
];
/// The envelope of an error answer: `ErrorResponse/Error{Type,Code,Message}`, the root IAM uses,
/// the documented status and `Type` for the code, and a non-empty message.
pub fn judge_envelope(model: &Model, ex: &Exchange) -> Vec<Verdict> {
    let Some(j) = ex.judged() else {
        return Vec::new();
    };
    let Some(err) = j.decoded.error() else {
        return vec![
            Verdict::fail(
                RuleId::ErrorEnvelope,
                "an ErrorResponse/Error{Type,Code,Message} body for an HTTP error",
            ),
            Verdict::fail(RuleId::ErrorMessageLoose, "an error message"),
        ];
    };
    let mut problems: Vec<String> = j
        .decoded
        .problems
        .iter()
        .filter(|p| matches!(p, WireProblem::WrongRoot { .. }))
        .map(ToString::to_string)
        .collect();
    problems.extend(crate::contract::judge::error_envelope_problems(
        model, j.status, err,
    ));
    vec![
        Verdict::check(
            RuleId::ErrorEnvelope,
            problems.is_empty(),
            format!(
                "the documented error envelope and status ({})",
                problems.join("; ")
            ),
        ),
        Verdict::check(
            RuleId::ErrorMessageLoose,
            err.message.as_deref().is_some_and(|m| !m.trim().is_empty()),
            "a non-empty error Message",
        ),
    ]
}

/// The `Type` of an error answer (`Sender`, `Receiver`).
fn fault_type(ex: &Exchange) -> Option<String> {
    ex.judged()
        .and_then(|j| j.decoded.error())
        .and_then(|e| e.fault.clone())
}

/// A key for a user that does not exist: `404 NoSuchEntity`, `Type Sender`, a message naming the
/// user (and, in the `aws` profile, worded as IAM words it).
pub fn judge_no_such_entity(model: &Model, ex: &Exchange, missing: &str) -> Vec<Verdict> {
    let mut v = vec![Verdict::check(
        RuleId::ErrorNoSuchEntity,
        ex.status() == 404
            && ex.code() == Some("NoSuchEntity")
            && fault_type(ex).as_deref() == Some("Sender"),
        "HTTP 404, Code NoSuchEntity, Type Sender",
    )];
    if ex.code() == Some("NoSuchEntity") {
        let msg = ex.message().unwrap_or_default();
        v.push(Verdict::check(
            RuleId::ErrorMessageLoose,
            msg.contains(missing),
            format!("a NoSuchEntity message naming {missing:?}"),
        ));
        let want = model
            .facts()
            .error("no-such-user")
            .render(&[("name", missing)]);
        v.push(Verdict::check(
            RuleId::ErrorMessageExact,
            msg == want,
            format!("message {want:?}"),
        ));
    }
    v
}

/// The key past the quota (one of the earlier keys Inactive): `409 LimitExceeded`, `Type
/// Sender` (and, in the `aws` profile, IAM's wording).
pub fn judge_limit_exceeded(model: &Model, ex: &Exchange, quota: usize) -> Vec<Verdict> {
    let mut v = vec![Verdict::check(
        RuleId::ErrorLimitExceeded,
        ex.status() == 409
            && ex.code() == Some("LimitExceeded")
            && fault_type(ex).as_deref() == Some("Sender"),
        format!(
            "HTTP 409, Code LimitExceeded, Type Sender for key {} (one of them Inactive)",
            quota + 1
        ),
    )];
    if ex.code() == Some("LimitExceeded") {
        let want = model
            .facts()
            .error("key-quota")
            .render(&[("quota", &quota.to_string())]);
        v.push(Verdict::check(
            RuleId::ErrorMessageExact,
            ex.message().unwrap_or_default() == want,
            format!("message {want:?}"),
        ));
    }
    v
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::rules::Request;
    use crate::contract::runner::Runner;

    /// A missing user, then a user filled to the quota with one key made Inactive.
    pub(crate) async fn drive(r: &Runner<'_>) {
        let model = r.model();
        let missing = r.name("missing");
        let ex = r.create_key(&missing).await;
        r.record(&ex, judge_no_such_entity(model, &ex, &missing));

        if !r.need_users(&[RuleId::ErrorLimitExceeded]) {
            return;
        }
        let user = r.name("quota");
        r.create_user(&user).await;
        let quota = model.facts().key_quota();
        let mut first_id = None;
        for _ in 0..quota {
            let ex = r.create_key(&user).await;
            if let Some(k) = r.created(&ex, Some(&user)) {
                first_id.get_or_insert(k.id);
            }
        }
        if let Some(id) = &first_id {
            r.send(&Request::new(
                model,
                "UpdateAccessKey",
                &[
                    ("UserName", &user),
                    ("AccessKeyId", id),
                    ("Status", "Inactive"),
                ],
            ))
            .await;
        }
        let ex = r.create_key(&user).await;
        r.created(&ex, Some(&user));
        r.record(&ex, judge_limit_exceeded(model, &ex, quota));
        r.delete_user_fully(&user).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{OPERATION, Request};
    use super::*;

    fn req() -> Request {
        Request::new(model(), OPERATION, &[("UserName", "nobody")])
    }

    #[test]
    fn no_such_entity_wants_status_type_and_a_message_naming_the_user() {
        let ok = answer(
            &req(),
            404,
            &error_body(
                "NoSuchEntity",
                "Sender",
                "The user with name nobody cannot be found.",
            ),
        );
        let v = judge_no_such_entity(model(), &ok, "nobody");
        assert!(v.iter().all(|v| !v.failed()), "{v:?}");
        let receiver = answer(
            &req(),
            404,
            &error_body(
                "NoSuchEntity",
                "Receiver",
                "The user with name nobody cannot be found.",
            ),
        );
        assert_eq!(
            passes(
                &judge_no_such_entity(model(), &receiver, "nobody"),
                RuleId::ErrorNoSuchEntity
            ),
            Some(false)
        );
        let reworded = answer(
            &req(),
            404,
            &error_body("NoSuchEntity", "Sender", "User nobody not found"),
        );
        let v = judge_no_such_entity(model(), &reworded, "nobody");
        assert_eq!(passes(&v, RuleId::ErrorMessageExact), Some(false));
        assert_eq!(passes(&v, RuleId::ErrorMessageLoose), Some(true));
        let silent = answer(
            &req(),
            404,
            &error_body("NoSuchEntity", "Sender", "not found"),
        );
        assert_eq!(
            passes(
                &judge_no_such_entity(model(), &silent, "nobody"),
                RuleId::ErrorMessageLoose
            ),
            Some(false)
        );
    }

    #[test]
    fn the_key_past_the_quota_wants_limit_exceeded() {
        let ok = answer(
            &req(),
            409,
            &error_body(
                "LimitExceeded",
                "Sender",
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ),
        );
        assert!(
            judge_limit_exceeded(model(), &ok, 2)
                .iter()
                .all(|v| !v.failed())
        );
        let created = answer(
            &req(),
            200,
            &created_body(
                "nobody",
                "AKIAIOSFODNN7EXAMPLE",
                "s",
                "2026-11-30T08:00:00Z",
            ),
        );
        assert_eq!(
            passes(
                &judge_limit_exceeded(model(), &created, 2),
                RuleId::ErrorLimitExceeded
            ),
            Some(false)
        );
        let as400 = answer(
            &req(),
            400,
            &error_body(
                "LimitExceeded",
                "Sender",
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ),
        );
        assert_eq!(
            passes(
                &judge_limit_exceeded(model(), &as400, 2),
                RuleId::ErrorLimitExceeded
            ),
            Some(false)
        );
    }

    #[test]
    fn the_envelope_wants_the_documented_status_and_a_body() {
        let ok = answer(&req(), 404, &error_body("NoSuchEntity", "Sender", "x"));
        assert!(judge_envelope(model(), &ok).iter().all(|v| !v.failed()));
        let wrong_status = answer(&req(), 400, &error_body("NoSuchEntity", "Sender", "x"));
        assert_eq!(
            passes(
                &judge_envelope(model(), &wrong_status),
                RuleId::ErrorEnvelope
            ),
            Some(false)
        );
        let plain = answer(&req(), 404, "error");
        let v = judge_envelope(model(), &plain);
        assert_eq!(passes(&v, RuleId::ErrorEnvelope), Some(false));
        assert_eq!(passes(&v, RuleId::ErrorMessageLoose), Some(false));
    }
}

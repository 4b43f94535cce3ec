//! Authentication: unsigned, wrongly signed, corrupted, skewed, wrong-scope and unknown-key
//! requests are refused with the documented codes and create nothing; a user cannot create keys
//! for another user.

use super::{OPERATION, Request, RuleId, RuleRow, Verdict};
use crate::client::{Credentials, Scope, Signing};
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;
use crate::secret::Secret;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::AuthUnsigned,
        class: RuleClass::Auth,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Unsigned requests are refused and change nothing",
        checks: "An unsigned CreateAccessKey gets 403 MissingAuthenticationToken and creates no key.",
        faults: &[Fault::SkipAuth],
    },
    RuleRow {
        id: RuleId::AuthBadSignature,
        class: RuleClass::Auth,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Wrong signatures are refused and change nothing",
        checks: "A CreateAccessKey signed with the wrong secret, or with a corrupted signature, gets 403 SignatureDoesNotMatch and creates no key.",
        faults: &[Fault::AcceptWrongSignature, Fault::SkipAuth],
    },
    RuleRow {
        id: RuleId::AuthUnknownKey,
        class: RuleClass::Auth,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Unknown access keys are refused",
        checks: "A request signed with an access key ID the service never issued gets 403 InvalidClientTokenId and creates no key.",
        faults: &[Fault::SkipAuth],
    },
    RuleRow {
        id: RuleId::AuthClockSkew,
        class: RuleClass::Auth,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Requests signed 20 minutes off are refused",
        checks: "A request whose signing time is 20 minutes from now (either way) is refused with a 4xx and creates no key.",
        faults: &[Fault::SkewAccepted],
    },
    RuleRow {
        id: RuleId::AuthWrongScope,
        class: RuleClass::Auth,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Signatures scoped to another service or region are refused",
        checks: "A request signed for service s3, or for a region other than us-east-1, gets 403 SignatureDoesNotMatch and creates no key.",
        faults: &[Fault::WrongScopeAccepted],
    },
    RuleRow {
        id: RuleId::AuthCrossUser,
        class: RuleClass::Auth,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "A user cannot create keys for another user",
        checks: "A user without IAM permissions who asks for a key for another user gets 403 AccessDenied and creates nothing.",
        faults: &[Fault::CrossUserAccess],
    },
];
/// One deliberately mis-signed request and what must come back.
#[derive(Debug, Clone)]
pub struct AuthCase {
    pub rule: RuleId,
    pub request: Request,
    /// What is expected, in words.
    pub expected: &'static str,
    /// The error code a refusal must carry (`None`: any 4xx will do).
    pub code: Option<&'static str>,
}

/// The mis-signed CreateAccessKey requests for `user`: unsigned, a wrong secret, a corrupted
/// signature, an unknown key, a clock 20 minutes off either way, and a wrong service or region.
pub fn plan(model: &Model, user: &str, creds: &Credentials, prefix: &str) -> Vec<AuthCase> {
    let mut wrong = creds.clone();
    wrong.secret_access_key = Secret::new(format!("{}x", creds.secret_access_key.expose()));
    let unknown = Credentials::new(
        format!(
            "AKIA{}",
            prefix
                .to_uppercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "")
        ),
        "unknown-key-secret-0000000000000000000000",
    );
    let scope = |service: &str, region: &str| {
        Signing::Scope(Scope {
            service: service.into(),
            region: region.into(),
        })
    };
    let cases: Vec<(RuleId, Signing, &'static str, Option<&'static str>)> = vec![
        (
            RuleId::AuthUnsigned,
            Signing::Unsigned,
            "403 MissingAuthenticationToken",
            Some("MissingAuthenticationToken"),
        ),
        (
            RuleId::AuthBadSignature,
            Signing::As(wrong),
            "403 SignatureDoesNotMatch",
            Some("SignatureDoesNotMatch"),
        ),
        (
            RuleId::AuthBadSignature,
            Signing::Corrupted,
            "403 SignatureDoesNotMatch",
            Some("SignatureDoesNotMatch"),
        ),
        (
            RuleId::AuthUnknownKey,
            Signing::As(unknown),
            "403 InvalidClientTokenId",
            Some("InvalidClientTokenId"),
        ),
        (RuleId::AuthClockSkew, Signing::Skewed(1200), "a 4xx", None),
        (RuleId::AuthClockSkew, Signing::Skewed(-1200), "a 4xx", None),
        (
            RuleId::AuthWrongScope,
            scope("s3", "us-east-1"),
            "403 SignatureDoesNotMatch",
            Some("SignatureDoesNotMatch"),
        ),
        (
            RuleId::AuthWrongScope,
            scope("iam", "eu-west-1"),
            "403 SignatureDoesNotMatch",
            Some("SignatureDoesNotMatch"),
        ),
    ];
    cases
        .into_iter()
        .map(|(rule, signing, expected, code)| AuthCase {
            rule,
            request: Request::new(model, OPERATION, &[("UserName", user)]).signed(signing),
            expected,
            code,
        })
        .collect()
}

/// A mis-signed request is refused (403 with the case's code, or any 4xx) and created no key.
pub fn judge_refused(case: &AuthCase, ex: &Exchange) -> Verdict {
    let status_ok = match case.code {
        Some(c) => ex.code() == Some(c) && (ex.status() == 403 || c == "IncompleteSignature"),
        None => (400..500).contains(&ex.status()),
    };
    Verdict::check(
        case.rule,
        status_ok && !ex.is_success(),
        format!("{}, and no key created", case.expected),
    )
}

/// A user signing with its own key asks for a key for another user: 403 AccessDenied, no key.
pub fn judge_cross_user(ex: &Exchange, signer: &str, other: &str) -> Verdict {
    Verdict::check(
        RuleId::AuthCrossUser,
        ex.status() == 403 && ex.code() == Some("AccessDenied") && !ex.is_success(),
        format!("403 AccessDenied: {signer} may not create keys for {other}"),
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::runner::Runner;

    const RULES: [RuleId; 6] = [
        RuleId::AuthUnsigned,
        RuleId::AuthBadSignature,
        RuleId::AuthUnknownKey,
        RuleId::AuthClockSkew,
        RuleId::AuthWrongScope,
        RuleId::AuthCrossUser,
    ];

    /// The mis-signed requests on a user of the class's own, then the cross-user case.
    pub(crate) async fn drive(r: &Runner<'_>) {
        if !r.need(
            r.caps().can_create_users,
            &RULES,
            "the target cannot create users",
        ) {
            return;
        }
        let Some(creds) = r.client().credentials().cloned() else {
            r.need(false, &RULES, "no credentials to sign with");
            return;
        };
        // A user of its own: the protocol probes count the fixture's keys concurrently.
        let fixture = r.name("authfix");
        if !r.create_user(&fixture).await.is_success() {
            r.need(
                false,
                &RULES,
                "could not create the user the auth probes need",
            );
            return;
        }
        for case in plan(r.model(), &fixture, &creds, r.prefix()) {
            let ex = r.send(&case.request).await;
            if let Some(k) = r.created(&ex, Some(&fixture)) {
                r.delete_key(&fixture, &k.id).await;
            }
            r.record(&ex, [judge_refused(&case, &ex)]);
        }
        cross_user(r).await;
        r.delete_user_fully(&fixture).await;
    }

    /// A user with only its own key asks for a key for another user.
    async fn cross_user(r: &Runner<'_>) {
        let a = r.name("alice");
        let b = r.name("bob");
        r.create_user(&a).await;
        r.create_user(&b).await;
        let ex = r.create_key(&a).await;
        if let Some(k) = r.created(&ex, Some(&a)) {
            let as_a = Signing::As(Credentials {
                access_key_id: k.id,
                secret_access_key: k.secret,
                session_token: None,
            });
            let ex = r
                .send(&Request::new(r.model(), OPERATION, &[("UserName", &b)]).signed(as_a))
                .await;
            r.created(&ex, Some(&b));
            r.record(&ex, [judge_cross_user(&ex, &a, &b)]);
        } else {
            r.skip(
                RuleId::AuthCrossUser,
                "could not create a key for the test user",
            );
        }
        r.delete_user_fully(&a).await;
        r.delete_user_fully(&b).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn cases() -> Vec<AuthCase> {
        plan(
            model(),
            "u",
            &Credentials::new("AKIAEXAMPLE", "secret"),
            "icx0",
        )
    }

    #[test]
    fn the_plan_covers_every_rule_but_cross_user_and_holds_no_secret_in_its_labels() {
        let cases = cases();
        for rule in [
            RuleId::AuthUnsigned,
            RuleId::AuthBadSignature,
            RuleId::AuthUnknownKey,
            RuleId::AuthClockSkew,
            RuleId::AuthWrongScope,
        ] {
            assert!(cases.iter().any(|c| c.rule == rule), "{rule}");
        }
        for c in &cases {
            assert!(
                !c.request.case().signing.contains("secret"),
                "{}",
                c.request.case().signing
            );
        }
    }

    #[test]
    fn a_refusal_with_the_documented_code_passes_and_anything_else_fails() {
        let cases = cases();
        let unsigned = &cases[0];
        let ok = answer(
            &unsigned.request,
            403,
            &error_body("MissingAuthenticationToken", "Sender", "x"),
        );
        assert!(!judge_refused(unsigned, &ok).failed());
        let wrong_code = answer(
            &unsigned.request,
            403,
            &error_body("AccessDenied", "Sender", "x"),
        );
        assert!(judge_refused(unsigned, &wrong_code).failed());
        let created = answer(
            &unsigned.request,
            200,
            &created_body("u", "AKIAIOSFODNN7EXAMPLE", "s", "2026-11-30T08:00:00Z"),
        );
        assert!(judge_refused(unsigned, &created).failed());
        let skew = cases
            .iter()
            .find(|c| c.rule == RuleId::AuthClockSkew)
            .unwrap();
        assert_eq!(skew.request.case().signing, "skewed:+1200s");
        let refused = answer(
            &skew.request,
            400,
            &error_body("RequestExpired", "Sender", "x"),
        );
        assert!(!judge_refused(skew, &refused).failed());
    }

    #[test]
    fn cross_user_wants_access_denied() {
        let req = Request::new(model(), OPERATION, &[("UserName", "bob")]);
        let denied = answer(&req, 403, &error_body("AccessDenied", "Sender", "x"));
        assert!(!judge_cross_user(&denied, "alice", "bob").failed());
        let created = answer(
            &req,
            200,
            &created_body("bob", "AKIAIOSFODNN7EXAMPLE", "s", "2026-11-30T08:00:00Z"),
        );
        assert!(judge_cross_user(&created, "alice", "bob").failed());
    }
}

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
        checks: "A request whose signing time is 20 minutes from now (either way) is refused with a 4xx and creates no key (any refusal will do; the aws profile wants AWS's answer).",
        faults: &[Fault::SkewAccepted],
    },
    RuleRow {
        id: RuleId::AuthClockSkewWording,
        class: RuleClass::Auth,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "Clock skew is refused as AWS refuses it",
        checks: "A request signed 20 minutes in the past gets 403 SignatureDoesNotMatch \"Signature expired: DATE is now earlier than DATE (DATE - 15 min.)\", 20 minutes ahead \"Signature not yet current: DATE is still later than DATE (DATE + 15 min.)\" (spec/facts.json), the bound 15 minutes from the server's time and the request's date beyond it.",
        faults: &[Fault::SkewRequestExpired, Fault::SkewAccepted],
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

/// The verdicts on one mis-signed request: refused (and created nothing), and for a skewed
/// signing time also AWS's code, status and wording.
pub fn judge_case(model: &Model, case: &AuthCase, ex: &Exchange) -> Vec<Verdict> {
    let mut v = vec![judge_refused(case, ex)];
    if let Signing::Skewed(secs) = case.request.signing {
        v.push(judge_skew_wording(model, secs, ex));
    }
    v
}

/// A request signed `skew` seconds off (beyond the allowed skew) gets AWS's answer: 403
/// SignatureDoesNotMatch with the facts' wording for its direction, where the bound is the
/// allowed skew away from the server's time and the request's date lies beyond it.
pub fn judge_skew_wording(model: &Model, skew: i64, ex: &Exchange) -> Verdict {
    let facts = model.facts();
    let allowed = facts.limits.clock_skew_seconds.value;
    let (id, bound, sign) = if skew < 0 {
        ("signature-expired", "earliest", -1)
    } else {
        ("signature-not-yet-current", "latest", 1)
    };
    let fact = facts.error(id);
    let template = fact.render(&[("minutes", &(allowed / 60).to_string())]);
    let expected = format!(
        "{} {} {:?} (dates in ISO 8601 basic format, the bound {allowed} s from the server's time)",
        fact.status, fact.code, fact.message
    );
    let Some(message) = ex
        .message()
        .filter(|_| ex.status() == fact.status && ex.code() == Some(fact.code.as_str()))
    else {
        return Verdict::fail(RuleId::AuthClockSkewWording, expected);
    };
    let dates = match_dates(&template, message);
    let ok = dates.as_ref().is_some_and(|d| {
        let (Some(request), Some(bound), Some(server)) =
            (d.get("request_date"), d.get(bound), d.get("server_time"))
        else {
            return false;
        };
        let beyond = (*request - *bound).whole_seconds().signum() == sign;
        *bound - *server == time::Duration::seconds(sign * allowed as i64) && beyond
    });
    Verdict::check(RuleId::AuthClockSkewWording, ok, expected)
}

/// Matches `message` against a wording `template` whose remaining `{holes}` stand for dates in
/// ISO 8601 basic format (`20220127T001427Z`); returns the dates by hole name.
fn match_dates(
    template: &str,
    message: &str,
) -> Option<std::collections::BTreeMap<String, time::OffsetDateTime>> {
    let mut pattern = String::from("^");
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        pattern.push_str(&regex::escape(&rest[..open]));
        pattern.push_str(r"(\d{8}T\d{6}Z)");
        names.push(rest[open + 1..close].to_owned());
        rest = &rest[close + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    let re = compiled(&pattern)?;
    let caps = re.captures(message)?;
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let date = time::PrimitiveDateTime::parse(caps.get(i + 1)?.as_str(), &fmt).ok()?;
            Some((name, date.assume_utc()))
        })
        .collect()
}

/// `pattern` compiled once per process: the wording templates are a handful of facts, and
/// compiling a pattern costs far more than matching one message.
fn compiled(pattern: &str) -> Option<regex::Regex> {
    static CACHE: std::sync::Mutex<Vec<(String, regex::Regex)>> = std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, re)) = cache.iter().find(|(p, _)| p == pattern) {
        return Some(re.clone());
    }
    let re = regex::Regex::new(pattern).ok()?;
    // Bounded: the templates come from the facts file, but a cache must never grow unchecked.
    if cache.len() >= 16 {
        cache.clear();
    }
    cache.push((pattern.to_owned(), re.clone()));
    Some(re)
}

/// A user signing with its own key asks for a key for another user: 403 AccessDenied, no key.
pub fn judge_cross_user(ex: &Exchange, signer: &str, other: &str) -> Verdict {
    Verdict::check(
        RuleId::AuthCrossUser,
        ex.status() == 403
            && crate::contract::codes::means_access_denied(ex.code())
            && !ex.is_success(),
        format!("403 AccessDenied: {signer} may not create keys for {other}"),
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::runner::Runner;

    const RULES: [RuleId; 7] = [
        RuleId::AuthUnsigned,
        RuleId::AuthBadSignature,
        RuleId::AuthUnknownKey,
        RuleId::AuthClockSkew,
        RuleId::AuthClockSkewWording,
        RuleId::AuthWrongScope,
        RuleId::AuthCrossUser,
    ];

    /// The mis-signed requests on a user of the class's own, then the cross-user case.
    pub(crate) async fn drive(r: &Runner<'_>) {
        if !r.need_users(&RULES) {
            return;
        }
        let Some(creds) = r.client().credentials().cloned() else {
            r.need(false, &RULES, "no credentials to sign with");
            return;
        };
        // A user of its own: the protocol probes count the fixture's keys concurrently.
        let fixture = r.name("authfix");
        if !r.create_user(&fixture).await.accepted() {
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
            r.record(&ex, judge_case(r.model(), &case, &ex));
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
        // The model profile takes any refusal; EC2's answer is one.
        let refused = answer(
            &skew.request,
            400,
            &error_body("RequestExpired", "Sender", "Request has expired."),
        );
        assert!(!judge_refused(skew, &refused).failed());
    }

    /// AWS's own answers, as AWS CLI users have reported them, pass; EC2's answer, the wrong
    /// direction, a bound that is not 15 minutes from the server's time, or a date on the wrong
    /// side of it fail.
    #[test]
    fn clock_skew_wants_aws_code_status_and_wording() {
        let req =
            Request::new(model(), OPERATION, &[("UserName", "u")]).signed(Signing::Skewed(-1200));
        let judge = |skew: i64, status: u16, code: &str, message: &str| {
            let ex = answer(&req, status, &error_body(code, "Sender", message));
            !judge_skew_wording(model(), skew, &ex).failed()
        };
        let past = "Signature expired: 20220127T001427Z is now earlier than 20220127T014428Z (20220127T015928Z - 15 min.)";
        let future = "Signature not yet current: 20220127T021928Z is still later than 20220127T021428Z (20220127T015928Z + 15 min.)";
        assert!(judge(-1200, 403, "SignatureDoesNotMatch", past));
        assert!(judge(1200, 403, "SignatureDoesNotMatch", future));
        assert!(!judge(-1200, 400, "RequestExpired", "Request has expired."));
        assert!(!judge(-1200, 400, "SignatureDoesNotMatch", past));
        assert!(!judge(1200, 403, "SignatureDoesNotMatch", past));
        assert!(!judge(-1200, 403, "SignatureDoesNotMatch", future));
        assert!(!judge(
            -1200,
            403,
            "SignatureDoesNotMatch",
            &past.replace("014428Z", "014429Z")
        ));
        assert!(!judge(
            -1200,
            403,
            "SignatureDoesNotMatch",
            &past.replace("20220127T001427Z", "20220127T020000Z")
        ));
        assert!(!judge(
            -1200,
            403,
            "SignatureDoesNotMatch",
            "Signature expired"
        ));
        // The rule comes with every skewed case, and only with those.
        let cases = cases();
        let skewed = cases
            .iter()
            .find(|c| c.rule == RuleId::AuthClockSkew)
            .unwrap();
        let ex = answer(
            &skewed.request,
            403,
            &error_body("SignatureDoesNotMatch", "Sender", future),
        );
        let rules: Vec<_> = judge_case(model(), skewed, &ex)
            .into_iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(rules, [RuleId::AuthClockSkew, RuleId::AuthClockSkewWording]);
        let unsigned = &cases[0];
        assert_eq!(judge_case(model(), unsigned, &ex).len(), 1);
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

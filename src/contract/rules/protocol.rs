//! Protocol: unknown or missing `Action`, a wrong `Version`, other HTTP methods, the GET query
//! string, duplicate parameters, `%2B` against a raw `+`, invalid UTF-8, and no 5xx anywhere in
//! the run (judged on every response by [`super::every_response`]).

use super::{OPERATION, Request, RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;
use crate::wire::encode_form;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::ProtoUnknownAction,
        class: RuleClass::Protocol,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Unknown actions are 400 InvalidAction",
        checks: "An Action the service does not have gets 400 InvalidAction (a 4xx at the least, never 5xx).",
        faults: &[Fault::UnknownAction500],
    },
    RuleRow {
        id: RuleId::ProtoMissingAction,
        class: RuleClass::Protocol,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A request without Action is refused with 4xx",
        checks: "A signed POST with no Action parameter gets a 4xx (MissingAction), never 2xx or 5xx.",
        faults: &[Fault::MissingActionAccepted],
    },
    RuleRow {
        id: RuleId::ProtoBadVersion,
        class: RuleClass::Protocol,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A wrong Version is refused with 4xx",
        checks: "CreateAccessKey with Version other than 2010-05-08 gets a 4xx and creates no key.",
        faults: &[Fault::VersionIgnored],
    },
    RuleRow {
        id: RuleId::ProtoOtherMethods,
        class: RuleClass::Protocol,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Methods other than GET and POST change nothing",
        checks: "CreateAccessKey sent as PUT, DELETE or PATCH creates no key (checked by listing afterwards).",
        faults: &[Fault::AnyMethodMutates],
    },
    RuleRow {
        id: RuleId::ProtoGetQuery,
        class: RuleClass::Protocol,
        source: Source::Model,
        profile: Profile::Model,
        title: "GET with a query string works like POST",
        checks: "CreateAccessKey as a signed GET with the parameters in the query string creates a key.",
        faults: &[Fault::GetUnsupported],
    },
    RuleRow {
        id: RuleId::ProtoDuplicateParams,
        class: RuleClass::Protocol,
        source: Source::Model,
        profile: Profile::Model,
        title: "Duplicate parameters are handled deterministically",
        checks: "A request naming UserName twice (an invalid value and a missing user) gets the same answer every time, and never a 5xx.",
        faults: &[Fault::DuplicateParamsAlternate],
    },
    RuleRow {
        id: RuleId::ProtoPlusEncoding,
        class: RuleClass::Protocol,
        source: Source::Docs,
        profile: Profile::Model,
        title: "%2B is a plus, a raw + is a space",
        checks: "UserName=a%2Bb names user a+b (key created, echoed with +); UserName=a+b names 'a b', which is invalid (400).",
        faults: &[Fault::PlusLiteral],
    },
    RuleRow {
        id: RuleId::ProtoInvalidUtf8,
        class: RuleClass::Protocol,
        source: Source::Model,
        profile: Profile::Model,
        title: "Invalid UTF-8 in a parameter is refused with 4xx",
        checks: "UserName percent-encoding bytes that are not UTF-8 gets a 4xx with a well-formed body, never 2xx or 5xx.",
        faults: &[Fault::InvalidUtf8500],
    },
    RuleRow {
        id: RuleId::ProtoNoServerErrors,
        class: RuleClass::Protocol,
        source: Source::Model,
        profile: Profile::Model,
        title: "No request of the run gets a 5xx",
        checks: "Every response of the run, to valid or hostile input, has a status below 500.",
        faults: &[Fault::Random500, Fault::UnknownAction500],
    },
];
fn client_error(ex: &Exchange) -> bool {
    (400..500).contains(&ex.status())
}

/// Unknown actions, plainly and with markup in them (services echo the action in the
/// InvalidAction message, which must then still be well-formed XML).
pub fn plan_unknown_actions(model: &Model) -> Vec<Request> {
    ["FrobnicateAccessKey", "Frob<&>nicate\"Key'"]
        .iter()
        .map(|a| Request::new(model, a, &[]))
        .collect()
}

pub fn judge_unknown_action(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoUnknownAction,
        client_error(ex),
        "a 4xx (400 InvalidAction)",
    )
}

/// A request with a Version but no Action.
pub fn plan_missing_action(model: &Model) -> Request {
    let mut r = Request::new(model, "", &[]);
    r.params.retain(|(k, _)| k != "Action");
    r
}

pub fn judge_missing_action(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoMissingAction,
        client_error(ex),
        "a 4xx (400 MissingAction)",
    )
}

/// UserName values that are not UTF-8 once percent-decoded (sent as raw wire text).
pub fn plan_invalid_utf8(model: &Model) -> Vec<Request> {
    ["%FF%FE", "abc%C3%28", "%ED%A0%80"]
        .iter()
        .map(|bad| {
            let mut r = Request::new(model, OPERATION, &[]);
            r.raw_wire = Some(format!("{}&UserName={bad}", encode_form(&r.params)));
            r.params.push(("UserName".into(), (*bad).into()));
            r
        })
        .collect()
}

pub fn judge_invalid_utf8(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoInvalidUtf8,
        client_error(ex) && ex.judged().is_some_and(|j| j.ill_formed().is_none()),
        "a 4xx with a well-formed body",
    )
}

/// The same request with UserName twice (a missing user, then an invalid name).
pub fn plan_duplicate(model: &Model, missing: &str) -> Request {
    let mut dup = Request::new(
        model,
        OPERATION,
        &[("UserName", missing), ("UserName", "bad name")],
    );
    dup.raw_wire = Some(encode_form(&dup.params));
    dup
}

/// The duplicate-parameter request sent twice gets the same 4xx both times.
pub fn judge_duplicate(first: &Exchange, second: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoDuplicateParams,
        first.status() == second.status()
            && first.code() == second.code()
            && (400..500).contains(&second.status()),
        format!(
            "the same 4xx answer both times (first time HTTP {} {:?})",
            first.status(),
            first.code()
        ),
    )
}

/// A CreateAccessKey with a Version that does not exist.
pub fn plan_bad_version(model: &Model, user: &str) -> Request {
    let mut r = Request::new(model, OPERATION, &[("UserName", user)]);
    r.params[1].1 = "2099-01-01".into();
    r
}

pub fn judge_bad_version(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoBadVersion,
        client_error(ex),
        "a 4xx for Version 2099-01-01, and no key",
    )
}

/// A method other than GET and POST must not create a key (`changed`: the listing changed).
pub fn judge_other_method(method: &str, changed: bool) -> Verdict {
    Verdict::check(
        RuleId::ProtoOtherMethods,
        !changed,
        format!("no key created by {method}"),
    )
}

/// A GET with the parameters in the query string creates a key, as the POST does.
pub fn judge_get_query(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoGetQuery,
        ex.is_success(),
        "200 and a key, as for POST",
    )
}

/// The name with a `+` in it that the plus-encoding cases use.
pub fn plus_user(prefix: &str) -> String {
    format!("{prefix}-a+b")
}

/// `+` sent as `%2B` is a plus: the key is for exactly the name with the plus.
pub fn judge_plus_encoded(ex: &Exchange, user: &str) -> Verdict {
    if !ex.is_success() {
        return Verdict::fail(
            RuleId::ProtoPlusEncoding,
            format!("200 and a key for {user:?} sent as %2B"),
        );
    }
    Verdict::check(
        RuleId::ProtoPlusEncoding,
        ex.str_at("/AccessKey/UserName") == Some(user),
        format!("a key for {user:?}"),
    )
}

/// The same name with a raw `+` on the wire, which decodes to a space.
pub fn plan_plus_raw(model: &Model, prefix: &str) -> Request {
    let mut raw = Request::new(model, OPERATION, &[]);
    raw.raw_wire = Some(format!(
        "{}&UserName={prefix}-a+b",
        encode_form(&raw.params)
    ));
    raw.params
        .push(("UserName".into(), format!("{prefix}-a b")));
    raw
}

pub fn judge_plus_raw(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::ProtoPlusEncoding,
        ex.status() == 400,
        "400: a raw + is a space, and a space is not allowed",
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::runner::Runner;

    /// The stateless cases, then (when users can be created) the ones that need the fixture.
    pub(crate) async fn drive(r: &Runner<'_>) {
        let m = r.model();
        for req in plan_unknown_actions(m) {
            let ex = r.send(&req).await;
            r.record(&ex, [judge_unknown_action(&ex)]);
        }
        let ex = r.send(&plan_missing_action(m)).await;
        r.record(&ex, [judge_missing_action(&ex)]);
        for req in plan_invalid_utf8(m) {
            let ex = r.send(&req).await;
            r.record(&ex, [judge_invalid_utf8(&ex)]);
        }
        let dup = plan_duplicate(m, &r.name("dup"));
        let a = r.send(&dup).await;
        let b = r.send(&dup).await;
        r.record(&b, [judge_duplicate(&a, &b)]);

        let state_rules = [
            RuleId::ProtoBadVersion,
            RuleId::ProtoOtherMethods,
            RuleId::ProtoGetQuery,
            RuleId::ProtoPlusEncoding,
        ];
        if !r.need_users(&state_rules) {
            return;
        }
        stateful(r).await;
        plus_encoding(r).await;
    }

    /// Bad Version, other methods and GET, on the probe's fixture user.
    async fn stateful(r: &Runner<'_>) {
        let m = r.model();
        let fixture = r.fixture_name();
        let before = r.list_key_ids(&fixture).await.map(|k| k.len());
        let ex = r.send(&plan_bad_version(m, &fixture)).await;
        if let Some(k) = r.created(&ex, Some(&fixture)) {
            r.delete_key(&fixture, &k.id).await;
        }
        r.record(&ex, [judge_bad_version(&ex)]);
        for method in ["PUT", "DELETE", "PATCH"] {
            let ex = r
                .send(&Request::new(m, OPERATION, &[("UserName", &fixture)]).method(method))
                .await;
            let after = r.list_key_ids(&fixture).await;
            let changed = after.as_ref().map(|k| k.len()) != before;
            if let Some(keys) = after.filter(|_| changed) {
                for (id, _) in keys {
                    r.delete_key(&fixture, &id).await;
                }
            }
            r.record(&ex, [judge_other_method(method, changed)]);
        }
        let ex = r
            .send(&Request::new(m, OPERATION, &[("UserName", &fixture)]).method("GET"))
            .await;
        let key = r.created(&ex, Some(&fixture));
        r.record(&ex, [judge_get_query(&ex)]);
        if let Some(k) = key {
            r.delete_key(&fixture, &k.id).await;
        }
    }

    /// `%2B` is a plus, a raw `+` a space.
    async fn plus_encoding(r: &Runner<'_>) {
        let m = r.model();
        let user = plus_user(r.prefix());
        let created = r.create_user(&user).await;
        if !created.accepted() {
            r.record(
                &created,
                [Verdict::fail(
                    RuleId::ProtoPlusEncoding,
                    format!("CreateUser to accept {user:?}"),
                )],
            );
            return;
        }
        let ex = r.create_key(&user).await;
        let key = r.created(&ex, Some(&user));
        r.record(&ex, [judge_plus_encoded(&ex, &user)]);
        if let Some(k) = key {
            r.delete_key(&user, &k.id).await;
        }
        let ex = r.send(&plan_plus_raw(m, r.prefix())).await;
        if let Some(k) = r.created(&ex, None) {
            r.delete_key(&user, &k.id).await;
        }
        r.record(&ex, [judge_plus_raw(&ex)]);
        r.delete_user_fully(&user).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn refusals_of_bad_requests_must_be_client_errors() {
        let req = &plan_unknown_actions(model())[1];
        assert!(req.wire().contains("Frob%3C%26%3Enicate"));
        let ok = answer(req, 400, &error_body("InvalidAction", "Sender", "x"));
        assert!(!judge_unknown_action(&ok).failed());
        let five = answer(req, 500, &error_body("InternalFailure", "Receiver", "x"));
        assert!(judge_unknown_action(&five).failed());
        let m = plan_missing_action(model());
        assert!(!m.wire().contains("Action="));
        assert!(judge_missing_action(&answer(&m, 200, "")).failed());
        let bad = &plan_invalid_utf8(model())[0];
        assert_eq!(
            bad.wire(),
            "Action=CreateAccessKey&Version=2010-05-08&UserName=%FF%FE"
        );
        assert!(
            !judge_invalid_utf8(&answer(
                bad,
                400,
                &error_body("ValidationError", "Sender", "x")
            ))
            .failed()
        );
        assert!(judge_invalid_utf8(&answer(bad, 400, "<oops")).failed());
    }

    #[test]
    fn duplicates_must_be_answered_the_same_way_twice() {
        let req = plan_duplicate(model(), "missing");
        assert!(req.wire().ends_with("UserName=missing&UserName=bad%20name"));
        let a = answer(&req, 404, &error_body("NoSuchEntity", "Sender", "x"));
        let b = answer(&req, 400, &error_body("ValidationError", "Sender", "x"));
        assert!(!judge_duplicate(&a, &a.clone()).failed());
        assert!(judge_duplicate(&a, &b).failed());
    }

    #[test]
    fn plus_signs_are_judged_by_what_they_decode_to() {
        let raw = plan_plus_raw(model(), "icx0");
        assert!(raw.wire().ends_with("UserName=icx0-a+b"));
        assert!(
            !judge_plus_raw(&answer(
                &raw,
                400,
                &error_body("ValidationError", "Sender", "x")
            ))
            .failed()
        );
        let created = answer(
            &raw,
            200,
            &created_body(
                "icx0-a+b",
                "AKIAIOSFODNN7EXAMPLE",
                "s",
                "2026-11-30T08:00:00Z",
            ),
        );
        assert!(judge_plus_raw(&created).failed());
        assert!(!judge_plus_encoded(&created, "icx0-a+b").failed());
        let spaced = answer(
            &raw,
            200,
            &created_body(
                "icx0-a b",
                "AKIAIOSFODNN7EXAMPLE",
                "s",
                "2026-11-30T08:00:00Z",
            ),
        );
        assert!(judge_plus_encoded(&spaced, "icx0-a+b").failed());
    }

    #[test]
    fn state_changing_cases() {
        let v = plan_bad_version(model(), "u");
        assert!(v.wire().contains("Version=2099-01-01"));
        assert!(judge_bad_version(&answer(&v, 200, "")).failed());
        assert!(judge_other_method("PUT", true).failed());
        assert!(!judge_other_method("PUT", false).failed());
        assert!(judge_get_query(&answer(&v, 405, "")).failed());
    }
}

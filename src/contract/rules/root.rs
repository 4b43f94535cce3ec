//! The account root as a caller: when the capability probe finds that the run signs as the
//! root (GetUser without `UserName` answers with no `UserName`, or with an ARN ending `:root`),
//! GetUser's answer for the root and a lifecycle of root keys (create without `UserName`, the
//! new key signs as the root, list, deactivate, delete, the quota of 2) are judged; otherwise
//! these rules are not judged, with the reason (`spec/facts.json`, the `root-*` facts).
//!
//! What `AccessKey.UserName` holds for a root key is undocumented (fact `root-key-user-name`):
//! no judge here reads it, and `output.schema` leaves it unjudged on a root key's answer
//! ([`judge_root_created`]). The run never deletes a root key it did not create, and never the
//! key it signs with.

use super::{OPERATION, Request, RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::judge::schema_failure;
use crate::contract::probe;
use crate::contract::rules::output::{CreatedKey, judge_created};
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;
use crate::wire::{Outcome, WireProblem};

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::RootGetUser,
        class: RuleClass::Root,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "GetUser for the root has no UserName and the root's ARN",
        checks: "GetUser without UserName, signed by the account root, answers a User with no UserName, a UserId and the Arn arn:aws:iam::ACCOUNT:root.",
        faults: &[Fault::RootGetUserNamed],
    },
    RuleRow {
        id: RuleId::RootCreateKey,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "The root creates its own keys without UserName",
        checks: "CreateAccessKey without UserName, signed by the account root, creates an Active root key with a secret (what AccessKey.UserName holds is undocumented and not judged).",
        faults: &[Fault::RootKeysRefused],
    },
    RuleRow {
        id: RuleId::RootKeyAuth,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A new root key signs as the root",
        checks: "GetUser without UserName, signed with a root key the run just created, answers as the account root (judged where the target checks signatures).",
        faults: &[Fault::RootKeysUnusable],
    },
    RuleRow {
        id: RuleId::RootList,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "ListAccessKeys without UserName lists the root's keys",
        checks: "ListAccessKeys without UserName, signed by the account root, lists exactly the root keys held before the run plus the ones it created, with their status.",
        faults: &[Fault::RootListEmpty],
    },
    RuleRow {
        id: RuleId::RootDeactivate,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "UpdateAccessKey without UserName deactivates a root key",
        checks: "UpdateAccessKey without UserName, signed by the account root, sets a root key Inactive, as ListAccessKeys then shows.",
        faults: &[Fault::RootUpdateIgnored],
    },
    RuleRow {
        id: RuleId::RootDelete,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "DeleteAccessKey without UserName deletes a root key",
        checks: "DeleteAccessKey without UserName, signed by the account root, deletes a root key: ListAccessKeys no longer lists it.",
        faults: &[Fault::RootDeleteIgnored],
    },
    RuleRow {
        id: RuleId::RootQuota,
        class: RuleClass::Root,
        source: Source::Docs,
        profile: Profile::Model,
        title: "The root holds at most 2 keys",
        checks: "With 2 root keys, a CreateAccessKey without UserName signed by the account root gets 409 LimitExceeded and creates nothing.",
        faults: &[Fault::RootNoKeyQuota],
    },
];

/// Every rule of the class.
pub const RULES: [RuleId; 7] = [
    RuleId::RootGetUser,
    RuleId::RootCreateKey,
    RuleId::RootKeyAuth,
    RuleId::RootList,
    RuleId::RootDeactivate,
    RuleId::RootDelete,
    RuleId::RootQuota,
];

/// Why the root rules are not judged when the run does not sign as the root.
pub fn not_root_reason(caller: &probe::Caller) -> String {
    format!(
        "the run signs as {}, not as the account root (GetUser without UserName must answer \
         with no UserName or an arn:...:root ARN); the root rules need the root's key",
        caller.describe()
    )
}

/// The requests of the root lifecycle: every one names no user, so IAM takes the signer's
/// (the root's) identity and keys.
pub mod plan {
    use super::*;

    pub fn get_user(model: &Model) -> Request {
        Request::new(model, "GetUser", &[])
    }

    pub fn create(model: &Model) -> Request {
        Request::new(model, OPERATION, &[])
    }

    pub fn list(model: &Model) -> Request {
        Request::new(model, "ListAccessKeys", &[])
    }

    pub fn deactivate(model: &Model, id: &str) -> Request {
        Request::new(
            model,
            "UpdateAccessKey",
            &[("AccessKeyId", id), ("Status", "Inactive")],
        )
    }

    pub fn delete(model: &Model, id: &str) -> Request {
        Request::new(model, "DeleteAccessKey", &[("AccessKeyId", id)])
    }
}

/// How an answer reads in a failure: `HTTP 404 NoSuchEntity`.
fn described(ex: &Exchange) -> String {
    match ex.code() {
        Some(c) => format!("HTTP {} {c}", ex.status()),
        None => format!("HTTP {}", ex.status()),
    }
}

/// GetUser signed by the root: a User with no UserName, a UserId, and the root's ARN.
pub fn judge_get_user(ex: &Exchange) -> Verdict {
    let arn = ex.str_at("/User/Arn").unwrap_or_default();
    let ok = ex.is_success()
        && ex.str_at("/User/UserName").is_none()
        && ex.str_at("/User/UserId").is_some_and(|u| !u.is_empty())
        && arn.starts_with("arn:aws:iam::")
        && arn.ends_with(":root");
    Verdict::check(
        RuleId::RootGetUser,
        ok,
        format!(
            "200 with a User without UserName, with a UserId and the Arn arn:aws:iam::ACCOUNT:root \
             (got {}{}{})",
            described(ex),
            ex.str_at("/User/UserName")
                .map(|n| format!(", UserName {n:?}"))
                .unwrap_or_default(),
            if arn.is_empty() {
                String::new()
            } else {
                format!(", Arn {arn:?}")
            }
        ),
    )
}

/// A CreateAccessKey of a root key created one: a success with an ID and a secret, Active.
/// `AccessKey.UserName` is not read (undocumented for a root key).
pub fn judge_create(ex: &Exchange, key: Option<&CreatedKey>) -> Verdict {
    let ok = ex.is_success()
        && key.is_some_and(|k| !k.id.is_empty() && !k.secret.is_empty())
        && ex.str_at("/AccessKey/Status") == Some("Active");
    Verdict::check(
        RuleId::RootCreateKey,
        ok,
        format!(
            "200 with a new Active root key (AccessKeyId and SecretAccessKey), got {}",
            described(ex)
        ),
    )
}

/// GetUser signed with the new root key answers as the root.
pub fn judge_signs_as_root(ex: &Exchange) -> Verdict {
    let who = probe::caller(ex);
    Verdict::check(
        RuleId::RootKeyAuth,
        who.is_root(),
        format!(
            "GetUser signed with the new root key to answer as the account root, got {}",
            who.describe()
        ),
    )
}

/// ListAccessKeys of the root lists exactly `expected` (id, status), in any order.
pub fn judge_listed(ex: &Exchange, expected: &[(String, String)]) -> Verdict {
    let listed = super::listed_keys(ex);
    let ok = listed.as_ref().is_some_and(|l| {
        let mut l = l.clone();
        let mut e = expected.to_vec();
        l.sort();
        e.sort();
        l == e
    });
    Verdict::check(
        RuleId::RootList,
        ok,
        format!(
            "the root's keys {expected:?}, got {}",
            match &listed {
                Some(l) => format!("{l:?}"),
                None => described(ex),
            }
        ),
    )
}

/// UpdateAccessKey to Inactive succeeded, and the listing after it shows the key Inactive.
pub fn judge_deactivated(update: &Exchange, list: &Exchange, id: &str) -> Verdict {
    let status =
        super::listed_keys(list).and_then(|l| l.into_iter().find(|(k, _)| k == id).map(|(_, s)| s));
    Verdict::check(
        RuleId::RootDeactivate,
        update.is_success() && status.as_deref() == Some("Inactive"),
        format!(
            "UpdateAccessKey to succeed and {id} to be listed Inactive (update {}, listed {status:?})",
            described(update)
        ),
    )
}

/// DeleteAccessKey succeeded, and the listing after it no longer has the key.
pub fn judge_deleted(delete: &Exchange, list: &Exchange, id: &str) -> Verdict {
    let listed = super::listed_keys(list);
    let gone = listed
        .as_ref()
        .is_some_and(|l| !l.iter().any(|(k, _)| k == id));
    Verdict::check(
        RuleId::RootDelete,
        delete.is_success() && gone,
        format!(
            "DeleteAccessKey to succeed and {id} to be listed no more (delete {}, {})",
            described(delete),
            if listed.is_none() {
                format!("listing {}", described(list))
            } else if gone {
                "not listed".into()
            } else {
                "still listed".into()
            }
        ),
    )
}

/// A create beyond the quota (the root holds `held` keys) gets 409 LimitExceeded.
pub fn judge_quota(ex: &Exchange, held: usize) -> Verdict {
    Verdict::check(
        RuleId::RootQuota,
        ex.status() == 409 && ex.code() == Some("LimitExceeded") && !ex.is_success(),
        format!(
            "409 LimitExceeded for a root key beyond the {held} the root holds, got {}",
            described(ex)
        ),
    )
}

/// The output rules on a root key's CreateAccessKey answer ([`judge_created`] for no named
/// user), except that `AccessKey.UserName` is undocumented for a root key: when it is the only
/// thing `output.schema` finds wrong (absent, or not a user name), that rule is not judged on
/// this answer, with the reason.
pub fn judge_root_created(
    model: &Model,
    ex: &Exchange,
    now: time::OffsetDateTime,
) -> Option<(Vec<Verdict>, CreatedKey)> {
    let (mut verdicts, key) = judge_created(model, ex, None, now)?;
    let schema_failed = verdicts
        .iter()
        .any(|v| v.rule == RuleId::OutputSchema && v.failed());
    if schema_failed && !fails_beyond_user_name(model, ex) {
        verdicts.retain(|v| v.rule != RuleId::OutputSchema);
        verdicts.push(Verdict::unjudged(
            RuleId::OutputSchema,
            "a root key's AccessKey.UserName is undocumented (spec/facts.json root-key-user-name): \
             not judged on a root key's answer",
        ));
    }
    Some((verdicts, key))
}

/// Whether the answer breaks the output schema in anything but `AccessKey.UserName`.
fn fails_beyond_user_name(model: &Model, ex: &Exchange) -> bool {
    let Some(j) = ex.judged() else {
        return true;
    };
    if !matches!(j.decoded.outcome, Outcome::Success { .. }) {
        return true;
    }
    let about_user_name = |path: &str| path.ends_with("UserName");
    let other_problem = j.decoded.problems.iter().any(|p| match p {
        WireProblem::MissingMember { path } | WireProblem::BadValue { path, .. } => {
            !about_user_name(path)
        }
        _ => false,
    });
    let mut value = j.decoded.revealed_value().unwrap_or_default();
    if let Some(k) = value.get_mut("AccessKey").and_then(|k| k.as_object_mut()) {
        // Any valid user name stands in for the undocumented one.
        k.insert("UserName".into(), "root".into());
    }
    other_problem || schema_failure(model, "CreateAccessKeyResponse", &value).is_some()
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::client::{Credentials, Signing};
    use crate::contract::rules::Judgement;
    use crate::contract::runner::Runner;

    /// Whether a verdict passed (the first delete decides whether the others are judged).
    fn passed(v: &Verdict) -> bool {
        v.judgement == Judgement::Pass
    }

    /// The root lifecycle, when the run signs as the root; otherwise every rule is not judged,
    /// with the reason.
    pub(crate) async fn drive(r: &Runner<'_>) {
        let caps = r.caps();
        if !caps.caller.is_root() {
            r.need(false, &RULES, &not_root_reason(&caps.caller));
            return;
        }
        let m = r.model();
        let who = r.send(&plan::get_user(m)).await;
        r.record(&who, [judge_get_user(&who)]);

        let own = r
            .client()
            .credentials()
            .map(|c| c.access_key_id.clone())
            .unwrap_or_default();
        let before_ex = r.send(&plan::list(m)).await;
        let before = super::super::listed_keys(&before_ex);
        if before.is_none() {
            r.record(&before_ex, [judge_listed(&before_ex, &[])]);
        }
        let quota = m.facts().key_quota();
        // Keys the run created, in order; only these are ever deleted.
        let mut created: Vec<String> = Vec::new();
        let mut expected = before.clone().unwrap_or_default();
        let mut first: Option<CreatedKey> = None;
        // Without a listing the run does not know how many keys the root holds: one create,
        // which the quota keeps harmless, and the key is deleted again.
        let room = match &before {
            Some(b) => quota.saturating_sub(b.len()),
            None => 1,
        };
        for _ in 0..room {
            if !r.budget_left() {
                break;
            }
            let ex = r.send(&plan::create(m)).await;
            let key = r.created_root(&ex);
            r.record(&ex, [judge_create(&ex, key.as_ref())]);
            let Some(key) = key.filter(|k| !k.id.is_empty() && k.id != own) else {
                break;
            };
            created.push(key.id.clone());
            expected.push((key.id.clone(), "Active".into()));
            first.get_or_insert(key);
        }
        if room == 0 {
            r.skip(
                RuleId::RootCreateKey,
                &format!(
                    "the root already holds {} keys (the quota) and the run deletes no key it \
                     did not create",
                    expected.len()
                ),
            );
        }
        // The new key signs as the root.
        match &first {
            Some(k) if caps.verifies_signatures => {
                let as_new = Signing::As(Credentials {
                    access_key_id: k.id.clone(),
                    secret_access_key: k.secret.clone(),
                    session_token: None,
                });
                let ex = r.send(&plan::get_user(m).signed(as_new)).await;
                r.record(&ex, [judge_signs_as_root(&ex)]);
            }
            Some(_) => r.skip(
                RuleId::RootKeyAuth,
                "the target does not verify signatures, so whom a key signs as is not known to it",
            ),
            None => r.skip(
                RuleId::RootKeyAuth,
                "no root key was created to sign with (see root.create-key-without-user-name)",
            ),
        }
        let listing_failed = "ListAccessKeys without UserName failed (see \
             root.list-keys-without-user-name), so how many keys the root holds, and what an \
             update or a delete did, cannot be seen";
        if before.is_none() {
            r.need(
                false,
                &[
                    RuleId::RootQuota,
                    RuleId::RootDeactivate,
                    RuleId::RootDelete,
                ],
                listing_failed,
            );
        } else {
            let list = r.send(&plan::list(m)).await;
            r.record(&list, [judge_listed(&list, &expected)]);
            if expected.len() >= quota {
                // At the quota: one more is refused.
                let ex = r.send(&plan::create(m)).await;
                if let Some(k) = r.created_root(&ex)
                    && !k.id.is_empty()
                    && k.id != own
                {
                    created.push(k.id);
                }
                r.record(&ex, [judge_quota(&ex, expected.len())]);
            } else {
                r.skip(
                    RuleId::RootQuota,
                    "the root's keys did not reach the quota (see root.create-key-without-user-name)",
                );
            }
            match created.first() {
                Some(id) => {
                    let update = r.send(&plan::deactivate(m, id)).await;
                    let list = r.send(&plan::list(m)).await;
                    r.record(&update, [judge_deactivated(&update, &list, id)]);
                }
                None => r.skip(
                    RuleId::RootDeactivate,
                    "no root key of the run's own to deactivate (the run changes no key it did \
                     not create)",
                ),
            }
        }
        // Every key the run created is deleted (never the signing key, never one it found).
        let mut deletes = Vec::new();
        for id in &created {
            deletes.push((id.clone(), r.send(&plan::delete(m, id)).await));
        }
        match (&before, deletes.first()) {
            // Not judged (above): nothing to list the deletes against.
            (None, _) => {}
            (Some(_), Some((id, del))) => {
                let list = r.send(&plan::list(m)).await;
                let v = judge_deleted(del, &list, id);
                let ok = passed(&v);
                r.record(del, [v]);
                if ok {
                    for (id, del) in &deletes[1..] {
                        r.record(del, [judge_deleted(del, &list, id)]);
                    }
                }
            }
            (Some(_), None) => r.skip(
                RuleId::RootDelete,
                "no root key of the run's own to delete (the run deletes no key it did not create)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Judgement;
    use super::super::testing::*;
    use super::*;

    const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

    fn get_user(user: &str) -> Exchange {
        answer(
            &plan::get_user(model()),
            200,
            &format!(
                "<GetUserResponse xmlns=\"{NS}\"><GetUserResult><User>{user}</User></GetUserResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetUserResponse>"
            ),
        )
    }

    const ROOT: &str = "<UserId>123456789012</UserId><Arn>arn:aws:iam::123456789012:root</Arn><CreateDate>2026-11-30T08:00:00Z</CreateDate>";

    fn list(keys: &[(&str, &str)]) -> Exchange {
        let members: String = keys
            .iter()
            .map(|(id, st)| format!("<member><AccessKeyId>{id}</AccessKeyId><Status>{st}</Status><CreateDate>2026-11-30T08:00:00Z</CreateDate></member>"))
            .collect();
        answer(
            &plan::list(model()),
            200,
            &format!(
                "<ListAccessKeysResponse xmlns=\"{NS}\"><ListAccessKeysResult><AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>"
            ),
        )
    }

    fn ok(action: &str) -> Exchange {
        answer(
            &Request::new(model(), action, &[]),
            200,
            &format!(
                "<{action}Response xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
            ),
        )
    }

    fn created(user: Option<&str>) -> Exchange {
        let body = created_body(
            user.unwrap_or("DROP"),
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "2026-11-30T08:00:00Z",
        );
        let body = if user.is_none() {
            body.replace("<UserName>DROP</UserName>", "")
        } else {
            body
        };
        answer(&plan::create(model()), 200, &body)
    }

    #[test]
    fn the_plans_name_no_user() {
        for req in [
            plan::get_user(model()),
            plan::create(model()),
            plan::list(model()),
            plan::deactivate(model(), "AKIA1"),
            plan::delete(model(), "AKIA1"),
        ] {
            assert!(req.params.iter().all(|(k, _)| k != "UserName"), "{req:?}");
        }
    }

    #[test]
    fn get_user_for_the_root_wants_no_user_name_and_the_root_arn() {
        assert!(!judge_get_user(&get_user(ROOT)).failed());
        // MiniStack's answer: the root's ARN, but a UserName too.
        let named = format!("<UserName>root</UserName>{ROOT}");
        assert!(judge_get_user(&get_user(&named)).failed());
        let user_arn = ROOT.replace(":root", ":user/admin");
        assert!(judge_get_user(&get_user(&user_arn)).failed());
        let denied = answer(
            &plan::get_user(model()),
            403,
            &error_body("AccessDenied", "Sender", "x"),
        );
        assert!(judge_get_user(&denied).failed());
    }

    #[test]
    fn a_root_create_is_judged_without_reading_its_user_name() {
        let now = time::macros::datetime!(2026-11-30 08:00:00 UTC);
        // Whatever AccessKey.UserName holds (absent, the account, MiniStack's "default"),
        // the root rules and output.schema give the same answer: it is undocumented.
        let mut seen = Vec::new();
        for user in [None, Some("123456789012"), Some("default"), Some("root")] {
            let ex = created(user);
            let (v, k) = judge_root_created(model(), &ex, now).expect("a success");
            assert!(!judge_create(&ex, Some(&k)).failed(), "{user:?}");
            assert_ne!(
                passes(&v, RuleId::OutputSchema),
                Some(false),
                "{user:?}: {v:?}"
            );
            assert_eq!(passes(&v, RuleId::OutputUserNameEcho), None);
            seen.push(passes(&v, RuleId::OutputSchema).is_some());
        }
        // Absent: left unjudged with the reason; present and valid: judged and passed.
        assert_eq!(seen, [false, true, true, true]);
        let (v, _) = judge_root_created(model(), &created(None), now).unwrap();
        assert!(matches!(
            judgement(&v, RuleId::OutputSchema),
            Some(Judgement::Unjudged(why)) if why.contains("root-key-user-name")
        ));
        // Anything else wrong with the answer still fails output.schema.
        let bad = answer(
            &plan::create(model()),
            200,
            &created_body("x", "AKIAIOSFODNN7EXAMPLE", "s", "2026-11-30T08:00:00Z")
                .replace("<UserName>x</UserName>", "")
                .replace("<Status>Active</Status>", "<Status>Bogus</Status>"),
        );
        let (v, _) = judge_root_created(model(), &bad, now).unwrap();
        assert_eq!(passes(&v, RuleId::OutputSchema), Some(false), "{v:?}");
        let refused = answer(
            &plan::create(model()),
            400,
            &error_body("ValidationError", "Sender", "Must specify userName"),
        );
        assert!(judge_create(&refused, None).failed());
    }

    #[test]
    fn the_new_key_must_sign_as_the_root() {
        assert!(!judge_signs_as_root(&get_user(ROOT)).failed());
        let user =
            "<UserName>admin</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::1:user/admin</Arn>";
        assert!(judge_signs_as_root(&get_user(user)).failed());
        let refused = answer(
            &plan::get_user(model()),
            403,
            &error_body("InvalidClientTokenId", "Sender", "x"),
        );
        assert!(judge_signs_as_root(&refused).failed());
    }

    #[test]
    fn the_listing_must_match_status_and_membership() {
        let expected = vec![
            ("AKIA1".to_owned(), "Active".to_owned()),
            ("AKIA2".to_owned(), "Active".to_owned()),
        ];
        assert!(
            !judge_listed(
                &list(&[("AKIA2", "Active"), ("AKIA1", "Active")]),
                &expected
            )
            .failed()
        );
        assert!(judge_listed(&list(&[("AKIA1", "Active")]), &expected).failed());
        assert!(judge_listed(&list(&[]), &expected).failed());
        assert!(
            judge_listed(
                &list(&[("AKIA1", "Active"), ("AKIA2", "Inactive")]),
                &expected
            )
            .failed()
        );
        // Deactivation shows in the listing, deletion removes the key from it.
        let update = ok("UpdateAccessKey");
        assert!(!judge_deactivated(&update, &list(&[("AKIA1", "Inactive")]), "AKIA1").failed());
        assert!(judge_deactivated(&update, &list(&[("AKIA1", "Active")]), "AKIA1").failed());
        let delete = ok("DeleteAccessKey");
        assert!(!judge_deleted(&delete, &list(&[("AKIA2", "Active")]), "AKIA1").failed());
        assert!(judge_deleted(&delete, &list(&[("AKIA1", "Active")]), "AKIA1").failed());
        let gone = answer(
            &plan::delete(model(), "AKIA1"),
            404,
            &error_body("NoSuchEntity", "Sender", "x"),
        );
        assert!(judge_deleted(&gone, &list(&[]), "AKIA1").failed());
    }

    #[test]
    fn the_quota_wants_limit_exceeded() {
        let refused = answer(
            &plan::create(model()),
            409,
            &error_body(
                "LimitExceeded",
                "Sender",
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ),
        );
        assert!(!judge_quota(&refused, 2).failed());
        assert!(judge_quota(&created(None), 2).failed());
    }

    #[test]
    fn not_being_the_root_is_a_reason_that_names_the_caller() {
        let why = not_root_reason(&probe::Caller::User {
            name: "admin".into(),
        });
        assert!(why.contains("IAM user admin"), "{why}");
    }
}

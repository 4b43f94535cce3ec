//! Positive acceptance: names generated from the ASCII pattern (up to the user-name limit) and
//! each allowed punctuation character can be created and get keys for exactly that name. (The
//! third rule, valid names longer than users can be, is sent with the input-validation cases:
//! see [`super::input::plan_long_names`].)

use super::{RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::generate;
use crate::model::Model;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::AcceptGeneratedNames,
        class: RuleClass::PositiveAcceptance,
        source: Source::Model,
        profile: Profile::Model,
        title: "Names generated from the ASCII pattern (1..64) get keys",
        checks: "Users named by property-generated values of the pattern (lengths up to 64, the userNameType limit) can be created and get a key for exactly that name.",
        faults: &[Fault::EchoWrongUsername],
    },
    RuleRow {
        id: RuleId::AcceptPunctuation,
        class: RuleClass::PositiveAcceptance,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Each of _+=,.@- is accepted in a user name",
        checks: "A user whose name contains each allowed punctuation character gets a key whose UserName is that name.",
        faults: &[Fault::EchoWrongUsername],
    },
    RuleRow {
        id: RuleId::AcceptLongExistingName,
        class: RuleClass::PositiveAcceptance,
        source: Source::Model,
        profile: Profile::Model,
        title: "Names of 65..128 characters pass validation and give NoSuchEntity",
        checks: "CreateAccessKey takes existingUserNameType (max 128) but users are at most 64, so a valid 65..128 character name gets 404 NoSuchEntity, not 400.",
        faults: &[Fault::UserNameMax64],
    },
];
/// The names to create, each with the rule it serves: the longest name a user can have,
/// generated suffixes (`cases / 4`, 4 to 64 of them), and each allowed punctuation character.
/// Names that fold to the same lower case are sent once.
pub fn plan_names(model: &Model, prefix: &str, cases: usize, seed: u64) -> Vec<(String, RuleId)> {
    let Some(user_shape) = model.input_string("CreateUser", "UserName") else {
        return Vec::new();
    };
    let max = user_shape.max.unwrap_or(64) as usize;
    let room = max.saturating_sub(prefix.len() + 1).max(1);
    let mut names = vec![(
        format!(
            "{prefix}-{}",
            generate::valid_of_length(user_shape, "Max", room)
        ),
        RuleId::AcceptGeneratedNames,
    )];
    let n = (cases / 4).clamp(4, 64);
    for suffix in generate::sample(&generate::valid_string(user_shape, 1..=room), n, seed ^ 7) {
        names.push((format!("{prefix}-{suffix}"), RuleId::AcceptGeneratedNames));
    }
    for c in "_+=,.@-".chars() {
        names.push((format!("{prefix}-P{c}q"), RuleId::AcceptPunctuation));
    }
    names.sort();
    names.dedup_by(|a, b| a.0.to_lowercase() == b.0.to_lowercase());
    names
}

/// CreateUser must accept a valid name (a 2xx; the answer's envelope is `output.envelope`'s).
pub fn judge_user_created(ex: &Exchange, rule: RuleId, name: &str) -> Verdict {
    Verdict::check(
        rule,
        ex.accepted(),
        format!("CreateUser to accept the valid name {name:?}"),
    )
}

/// The key created for `name` must be for exactly that name.
pub fn judge_key_for(ex: &Exchange, rule: RuleId, name: &str) -> Verdict {
    if !ex.is_success() {
        return Verdict::fail(rule, format!("200 and a key for the valid name {name:?}"));
    }
    Verdict::check(
        rule,
        ex.str_at("/AccessKey/UserName") == Some(name),
        format!("a key for {name:?}"),
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::rules::Request;
    use crate::contract::runner::Runner;
    use futures::StreamExt;

    /// Creates each planned user and a key for it, then deletes both.
    pub(crate) async fn drive(r: &Runner<'_>) {
        let rules = [RuleId::AcceptGeneratedNames, RuleId::AcceptPunctuation];
        if !r.need_users(&rules) {
            return;
        }
        let config = r.config();
        let names = plan_names(r.model(), r.prefix(), config.cases, config.seed);
        let work = names.into_iter().map(|(name, rule)| async move {
            let created = r.create_user(&name).await;
            let verdict = judge_user_created(&created, rule, &name);
            if verdict.failed() {
                r.record(&created, [verdict]);
                return;
            }
            let ex = r.create_key(&name).await;
            let key = r.created(&ex, Some(&name));
            r.record(&ex, [judge_key_for(&ex, rule, &name)]);
            if let Some(k) = key {
                r.delete_key(&name, &k.id).await;
            }
            r.send(&Request::new(
                r.model(),
                "DeleteUser",
                &[("UserName", &name)],
            ))
            .await;
        });
        futures::stream::iter(work)
            .buffer_unordered(config.in_flight.max(1))
            .collect::<Vec<()>>()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{OPERATION, Request};
    use super::*;

    #[test]
    fn the_plan_covers_the_longest_name_and_every_punctuation_character() {
        let names = plan_names(model(), "icx0", 64, 1);
        assert!(names.iter().any(|(n, _)| n.len() == 64));
        for c in "_+=,.@-".chars() {
            assert!(
                names
                    .iter()
                    .any(|(n, r)| *r == RuleId::AcceptPunctuation && n.contains(c)),
                "{c}"
            );
        }
        assert_eq!(
            names,
            plan_names(model(), "icx0", 64, 1),
            "deterministic for a seed"
        );
    }

    #[test]
    fn a_key_for_another_name_or_a_refusal_fails() {
        let req = Request::new(model(), OPERATION, &[("UserName", "a+b")]);
        let ok = answer(
            &req,
            200,
            &created_body("a+b", "AKIAIOSFODNN7EXAMPLE", "s", "2026-11-30T08:00:00Z"),
        );
        assert!(!judge_key_for(&ok, RuleId::AcceptPunctuation, "a+b").failed());
        let other = answer(
            &req,
            200,
            &created_body("a b", "AKIAIOSFODNN7EXAMPLE", "s", "2026-11-30T08:00:00Z"),
        );
        assert!(judge_key_for(&other, RuleId::AcceptPunctuation, "a+b").failed());
        let refused = answer(&req, 400, &error_body("ValidationError", "Sender", "x"));
        assert!(judge_key_for(&refused, RuleId::AcceptPunctuation, "a+b").failed());
        assert!(judge_user_created(&refused, RuleId::AcceptPunctuation, "a+b").failed());
    }
}

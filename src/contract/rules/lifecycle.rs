//! Lifecycle: random sequences of user and key operations judged against a reference model of
//! IAM (quota, listings, secrets only at creation, unique IDs, deleted keys stay deleted, the
//! implicit user, case folding, DeleteConflict, key status governs authentication, stable
//! CreateDate).
//!
//! The reference model itself is [`crate::contract::lifecycle`]: it plans each step's request and
//! judges the response (pure). [`judge_step`] turns its observations into verdicts; the driver
//! runs the fixed script, then random sequences, and shrinks the first failure of each rule
//! against the live endpoint.

use super::{RuleId, RuleRow, Verdict};
use crate::contract::exchange::Exchange;
use crate::contract::lifecycle::{Executor, Planned, Response};
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::secret::Secret;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::LifeQuota,
        class: RuleClass::Lifecycle,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "At most 2 keys per user, Inactive keys counted",
        checks: "In random sequences of user and key operations, CreateAccessKey succeeds exactly when the user holds fewer than 2 keys of any status.",
        faults: &[Fault::NoKeyQuota],
    },
    RuleRow {
        id: RuleId::LifeList,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "ListAccessKeys agrees with the reference model",
        checks: "Listed keys are exactly the keys created and not deleted, with the status last set: a key the model does not hold (one deleted earlier included), a missing key or another status breaks it.",
        faults: &[Fault::LowercaseStatus, Fault::ListKeepsDeletedKeys],
    },
    RuleRow {
        id: RuleId::LifeSecretOnce,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "The secret is returned at creation only",
        checks: "No ListAccessKeys or GetAccessKeyLastUsed response contains a SecretAccessKey member or any secret issued in the run.",
        faults: &[Fault::SecretInList],
    },
    RuleRow {
        id: RuleId::LifeUniqueIds,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Key IDs are unique and deleted keys never come back",
        checks: "No key ID is issued twice, and a deleted key is never listed again.",
        faults: &[Fault::ReuseKeyIds, Fault::ListKeepsDeletedKeys],
    },
    RuleRow {
        id: RuleId::LifeImplicitUser,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Without UserName, the key goes to the signing user",
        checks: "CreateAccessKey without UserName, signed with a user's own key, creates a key for that user.",
        faults: &[Fault::ImplicitUserBootstrap],
    },
    RuleRow {
        id: RuleId::LifeFoldCase,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "User names are unique case-insensitively",
        checks: "Creating a user whose name differs from an existing one only in case gets 409 EntityAlreadyExists.",
        faults: &[Fault::CaseSensitiveNames],
    },
    RuleRow {
        id: RuleId::LifeDeleteConflict,
        class: RuleClass::Lifecycle,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "A user with keys cannot be deleted",
        checks: "DeleteUser while the user holds keys gets 409 DeleteConflict and deletes nothing.",
        faults: &[Fault::DeleteUserWithKeys],
    },
    RuleRow {
        id: RuleId::LifeKeyAuth,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A new key authenticates at once; Inactive and deleted keys do not",
        checks: "Requests signed with an Active key succeed; with an Inactive or deleted key they get 403 InvalidClientTokenId.",
        faults: &[Fault::InactiveKeysAuthenticate],
    },
    RuleRow {
        id: RuleId::LifeCreateDateStable,
        class: RuleClass::Lifecycle,
        source: Source::Docs,
        profile: Profile::Model,
        title: "UpdateAccessKey leaves CreateDate alone",
        checks: "A key's CreateDate in ListAccessKeys is the one CreateAccessKey returned, whatever its status changes.",
        faults: &[Fault::CreateDateChangesOnUpdate],
    },
];
/// A key ID is new when no key of the run had it before (deleted keys included).
pub fn judge_id_fresh(id: &str, fresh: bool) -> Verdict {
    Verdict::check(
        RuleId::LifeUniqueIds,
        fresh,
        format!("an AccessKeyId never issued before in this run (got {id} again)"),
    )
}

/// What the reference model needs of an exchange.
pub fn response_of(ex: &Exchange) -> Option<Response> {
    ex.judged().map(|j| Response {
        status: j.status,
        code: j.code().map(str::to_owned),
        message: j.observed.message.clone(),
        value: j.decoded.revealed_value(),
        leaks_secret: ex.leaks_secret,
    })
}

/// Feeds one step's exchange to the reference model and returns its verdicts: the invariants the
/// step touched (pass or fail), then those it could not judge, with the reason. `key` is the key
/// the step created, when it was a CreateAccessKey that succeeded.
pub fn judge_step(
    exec: &mut Executor,
    planned: &Planned,
    ex: &Exchange,
    key: Option<(String, String, Secret)>,
) -> Vec<Verdict> {
    let create_date = ex.str_at("/AccessKey/CreateDate").map(str::to_owned);
    let mut v: Vec<Verdict> = exec
        .observe(planned, response_of(ex).as_ref(), key, create_date)
        .into_iter()
        .map(|(rule, result)| match result {
            Ok(()) => Verdict::pass(rule),
            Err(expected) => Verdict::fail(rule, expected),
        })
        .collect();
    v.extend(
        exec.take_unjudged()
            .into_iter()
            .map(|(rule, why)| Verdict::unjudged(rule, why)),
    );
    v
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::client::Signing;
    use crate::contract::lifecycle::{self, Step};
    use crate::contract::rules::{Judgement, OPERATION, Request};
    use crate::contract::runner::{Runner, test_runner};
    use proptest::strategy::{Strategy, ValueTree};
    use std::collections::HashSet;

    /// The first broken invariant of a sequence.
    struct SeqFailure {
        rule: RuleId,
        expected: String,
        steps: Vec<String>,
        /// The abstract sequence that was run, up to the failing step.
        sequence: Vec<Step>,
        exchange: Exchange,
    }

    pub(crate) async fn drive(r: &Runner<'_>) {
        let rules = lifecycle::RULES;
        if !r.need_users(rules) {
            return;
        }
        let auth = r.caps().verifies_signatures;
        if !auth {
            r.skip(
                RuleId::LifeKeyAuth,
                "the target does not verify signatures, so key status cannot govern authentication",
            );
            r.skip(
                RuleId::LifeImplicitUser,
                "the target does not verify signatures, so the signing user is not known to it",
            );
        }
        if let Some(replay) = &r.config().replay_sequence {
            let ignore: HashSet<RuleId> = rules
                .iter()
                .copied()
                .filter(|x| *x != replay.rule)
                .collect();
            if let Some(f) = run_sequence(r, &replay.steps, &ignore).await {
                fail_sequence(r, f);
            }
            return;
        }
        let mut failed: HashSet<RuleId> = HashSet::new();
        // A sequence stops at its first broken invariant, so the scripted one is run again
        // with each broken rule set aside until it runs through: every invariant it touches is
        // judged, whatever breaks first, instead of being left to chance.
        let scripted = lifecycle::scripted(auth);
        for _ in 0..rules.len() {
            let Some(f) = run_sequence(r, &scripted, &failed).await else {
                break;
            };
            let f = drop_steps(r, f, &failed).await;
            failed.insert(f.rule);
            fail_sequence(r, f);
        }
        random_sequences(r, auth, failed).await;
    }

    /// Independent sequences run concurrently; the first failing sequence of each rule is then
    /// shrunk on its own, re-run against the endpoint at every step.
    async fn random_sequences(r: &Runner<'_>, auth: bool, mut failed: HashSet<RuleId>) {
        let strategy = lifecycle::sequences(auth);
        let mut runner = test_runner(r.config().seed ^ 0x5eed);
        let mut trees = Vec::new();
        for _ in 0..r.config().sequences {
            match strategy.new_tree(&mut runner) {
                Ok(t) => trees.push(t),
                Err(_) => break,
            }
        }
        let first_pass = failed.clone();
        let results: Vec<Option<SeqFailure>> = crate::contract::all_in_order(
            trees.iter().map(|t| {
                let steps = t.current();
                let ignore = &first_pass;
                async move {
                    if !r.budget_left() {
                        return None;
                    }
                    run_sequence(r, &steps, ignore).await
                }
            }),
            (r.config().in_flight / 2).max(1),
        )
        .await;
        for (mut tree, result) in trees.into_iter().zip(results) {
            let Some(mut failure) = result else { continue };
            let rule = failure.rule;
            if failed.contains(&rule) {
                continue;
            }
            let mut budget = 64;
            if tree.simplify() {
                while budget > 0 && r.budget_left() {
                    budget -= 1;
                    match run_sequence(r, &tree.current(), &failed).await {
                        Some(f) if f.rule == rule => {
                            failure = f;
                            if !tree.simplify() {
                                break;
                            }
                        }
                        _ => {
                            if !tree.complicate() {
                                break;
                            }
                        }
                    }
                }
            }
            // proptest's shrinking stops at its budget; dropping single steps finishes the job.
            let failure = drop_steps(r, failure, &failed).await;
            fail_sequence(r, failure);
            failed.insert(rule);
        }
    }

    /// Shrinks a sequence's failure by dropping one step at a time, latest first, keeping each
    /// drop after which the same rule still breaks: the scripted sequence has no proptest value
    /// tree, and a random one's tree stops at its budget. At most one rerun per step, each
    /// against the live endpoint.
    async fn drop_steps(r: &Runner<'_>, mut f: SeqFailure, ignore: &HashSet<RuleId>) -> SeqFailure {
        // The last step is the one that broke the rule: it stays.
        let mut i = f.sequence.len().saturating_sub(1);
        while i > 0 && r.budget_left() {
            i -= 1;
            let mut candidate = f.sequence.clone();
            candidate.remove(i);
            if let Some(g) = run_sequence(r, &candidate, ignore).await
                && g.rule == f.rule
            {
                f = g;
                i = i.min(f.sequence.len().saturating_sub(1));
            }
        }
        f
    }

    /// Records a sequence's failure, with its steps and the sequence a replay needs.
    fn fail_sequence(r: &Runner<'_>, f: SeqFailure) {
        let mut ex = f.exchange;
        ex.case.steps = f.steps;
        ex.case.sequence = Some(lifecycle::format_sequence(&f.sequence));
        r.record(&ex, [Verdict::fail(f.rule, f.expected)]);
    }

    /// Sends one planned step. With `self_manage`, a user the step creates gets AWS's documented
    /// self-manage policy (so that its own keys may create, list and use keys where a target
    /// evaluates policies, and implicit creates and key status can be judged there), and a
    /// DeleteUser first deletes the policies the run put (put back if the user stays).
    async fn send_step(r: &Runner<'_>, planned: &Planned, self_manage: bool) -> Exchange {
        let members: Vec<(&str, &str)> = planned
            .members
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let mut req = Request::new(r.model(), planned.action, &members);
        if let Some(c) = &planned.sign_as {
            req = req.signed(Signing::As(c.clone()));
        }
        if planned.action == "CreateUser" {
            r.ledger_user(&planned.members[0].1);
        }
        // DeleteUser is judged on the user's keys alone: the policy goes first, and comes back
        // when the user stays (a user with a policy is a DeleteConflict of its own).
        let deleting = self_manage && planned.action == "DeleteUser";
        if deleting {
            r.delete_user_policies(&planned.members[0].1).await;
        }
        let ex = r.send(&req).await;
        if self_manage
            && (planned.action == "CreateUser" && ex.accepted() || deleting && !ex.accepted())
        {
            r.put_user_policy(
                &planned.members[0].1,
                crate::contract::rules::authz::POLICY_NAME,
                crate::contract::rules::authz::SELF_MANAGE_POLICY,
            )
            .await;
        }
        ex
    }

    /// Runs one sequence on fresh users; returns the first invariant it breaks (rules in
    /// `ignore` have failed already and are not judged again). Cleans up after itself.
    async fn run_sequence(
        r: &Runner<'_>,
        steps: &[Step],
        ignore: &HashSet<RuleId>,
    ) -> Option<SeqFailure> {
        let tag = r.name("seq");
        let mut exec = Executor::new(&tag, r.model().facts().key_quota());
        // Only where keys sign (the target checks signatures) and policies can be put.
        let self_manage = r.caps().verifies_signatures
            && r.policy_support().await == crate::contract::probe::Decision::Yes;
        let mut failure = None;
        for (at, step) in steps.iter().enumerate() {
            let Some(planned) = exec.plan(step) else {
                continue;
            };
            let ex = send_step(r, &planned, self_manage).await;
            let expected_user = planned
                .members
                .first()
                .map(|(_, v)| v.clone())
                .or(planned.implicit_user.clone());
            let key = if planned.action == OPERATION {
                r.created(&ex, expected_user.as_deref())
                    .map(|k| (k.id, k.user, k.secret))
            } else {
                None
            };
            for v in judge_step(&mut exec, &planned, &ex, key) {
                let Some(rule) = RuleId::parse(v.rule.as_str()).filter(|x| !ignore.contains(x))
                else {
                    continue;
                };
                match v.judgement {
                    Judgement::Fail(expected) if failure.is_none() => {
                        failure = Some(SeqFailure {
                            rule,
                            expected,
                            steps: exec.history(),
                            // The steps after the failing one never run: a replay needs
                            // only those up to it.
                            sequence: steps[..=at].to_vec(),
                            exchange: ex.clone(),
                        });
                    }
                    Judgement::Fail(_) => {}
                    _ => r.record(&ex, [v]),
                }
            }
            if failure.is_some() {
                break;
            }
        }
        for user in exec.users_to_clean() {
            r.delete_user_fully(&user).await;
        }
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{OPERATION, Request};
    use super::*;
    use crate::contract::lifecycle::Step;

    #[test]
    fn a_step_the_model_cannot_decide_is_unjudged_and_a_broken_quota_fails() {
        let mut exec = Executor::new("icx0-seq0", 2);
        let mut verdicts = Vec::new();
        for (i, step) in [
            Step::CreateUser(0),
            Step::CreateKey(0),
            Step::CreateKey(0),
            Step::CreateKey(0),
        ]
        .iter()
        .enumerate()
        {
            let planned = exec.plan(step).expect("a request");
            let user = "icx0-seq0-User0";
            let body = if planned.action == OPERATION {
                created_body(
                    user,
                    &format!("AKIAIOSFODNN7EXAMPL{i}"),
                    &format!("secret-{i:036}"),
                    "2026-11-30T08:00:00Z",
                )
            } else {
                format!(
                    "<{0}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><{0}Result><User><Path>/</Path><UserName>{user}</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::1:user/{user}</Arn><CreateDate>2026-11-30T08:00:00Z</CreateDate></User></{0}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{0}Response>",
                    planned.action
                )
            };
            let req = Request::new(model(), planned.action, &[]);
            let ex = answer(&req, 200, &body);
            let key = (planned.action == OPERATION).then(|| {
                (
                    format!("AKIAIOSFODNN7EXAMPL{i}"),
                    user.to_owned(),
                    Secret::new(format!("secret-{i:036}")),
                )
            });
            verdicts = judge_step(&mut exec, &planned, &ex, key);
        }
        // The third key was created: the quota is broken.
        assert_eq!(
            passes(&verdicts, RuleId::LifeQuota),
            Some(false),
            "{verdicts:?}"
        );
    }

    #[test]
    fn repeated_ids_fail() {
        assert!(judge_id_fresh("AKIA1", false).failed());
        assert!(!judge_id_fresh("AKIA1", true).failed());
    }
}

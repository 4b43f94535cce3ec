//! Concurrency: many parallel creates for one user never exceed the quota; parallel creates
//! across users never repeat an ID (nor one issued earlier in the run).

use super::{RuleId, RuleRow, Verdict};
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::ConcQuota,
        class: RuleClass::Concurrency,
        source: Source::Recorded,
        profile: Profile::Model,
        title: "Parallel creates never exceed the quota",
        checks: "Of many parallel CreateAccessKey calls for one fresh user, at most 2 succeed, and the rest get LimitExceeded.",
        faults: &[Fault::RaceQuota, Fault::NoKeyQuota],
    },
    RuleRow {
        id: RuleId::ConcUniqueIds,
        class: RuleClass::Concurrency,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Parallel creates across users never repeat an ID",
        checks: "Keys created in parallel for several users all have distinct AccessKeyIds, none of them issued earlier in the run.",
        faults: &[Fault::ReuseKeyIds],
    },
];
/// Of `sent` parallel creates, `succeeded` got a key and `listed` keys are listed afterwards:
/// neither may exceed the quota.
pub fn judge_quota(quota: usize, sent: usize, succeeded: usize, listed: usize) -> Verdict {
    Verdict::check(
        RuleId::ConcQuota,
        succeeded <= quota && listed <= quota,
        format!(
            "at most {quota} of {sent} parallel creates to succeed ({succeeded} did, {listed} listed)"
        ),
    )
}

/// A key ID from a parallel batch is new when no key of the run had it before.
pub fn judge_unique(id: &str, fresh: bool) -> Verdict {
    Verdict::check(
        RuleId::ConcUniqueIds,
        fresh,
        format!("distinct AccessKeyIds across parallel creates ({id} repeated)"),
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::exchange::Exchange;
    use crate::contract::rules::{OPERATION, Request};
    use crate::contract::runner::Runner;
    use futures::StreamExt;

    pub(crate) async fn drive(r: &Runner<'_>) {
        if !r.need_users(&[RuleId::ConcQuota, RuleId::ConcUniqueIds]) {
            return;
        }
        one_user(r).await;
        across_users(r).await;
    }

    /// Sends all requests at once (up to `n` in flight), in completion order.
    async fn race(r: &Runner<'_>, reqs: Vec<Request>, n: usize) -> Vec<Exchange> {
        futures::stream::iter(reqs.into_iter().map(|q| async move { r.send(&q).await }))
            .buffer_unordered(n)
            .collect()
            .await
    }

    async fn one_user(r: &Runner<'_>) {
        let user = r.name("race");
        r.create_user(&user).await;
        let n = r.config().parallel_creates.max(3);
        let reqs = (0..n)
            .map(|_| Request::new(r.model(), OPERATION, &[("UserName", &user)]))
            .collect();
        let exchanges = race(r, reqs, n).await;
        let mut ok = 0;
        let mut last_ok = None;
        for ex in &exchanges {
            if r.created(ex, Some(&user)).is_some() {
                ok += 1;
                last_ok = Some(ex);
            }
        }
        let quota = r.model().facts().key_quota();
        let listed = r.list_key_ids(&user).await.map(|k| k.len()).unwrap_or(0);
        let witness = last_ok.unwrap_or(&exchanges[0]);
        r.record(witness, [judge_quota(quota, n, ok, listed)]);
        r.delete_user_fully(&user).await;
    }

    async fn across_users(r: &Runner<'_>) {
        let quota = r.model().facts().key_quota();
        let users: Vec<String> = (0..4).map(|_| r.name("para")).collect();
        for u in &users {
            r.create_user(u).await;
        }
        let reqs = users
            .iter()
            .flat_map(|u| (0..quota).map(move |_| u.clone()))
            .map(|u| Request::new(r.model(), OPERATION, &[("UserName", &u)]))
            .collect();
        let exchanges = race(r, reqs, 16).await;
        // Every ID issued before this batch (and since deleted, perhaps) counts too.
        let mut ids = r.key_ids();
        for ex in &exchanges {
            if let Some(id) = ex.str_at("/AccessKey/AccessKeyId").map(str::to_owned) {
                r.created(ex, ex.param("UserName"));
                let fresh = ids.insert(id.clone());
                r.record(ex, [judge_unique(&id, fresh)]);
            }
        }
        for u in &users {
            r.delete_user_fully(u).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_holds_for_successes_and_for_the_listing() {
        assert!(!judge_quota(2, 100, 2, 2).failed());
        assert!(judge_quota(2, 100, 3, 2).failed());
        assert!(judge_quota(2, 100, 2, 3).failed());
        assert!(judge_unique("AKIA1", false).failed());
        assert!(!judge_unique("AKIA1", true).failed());
    }
}

//! The shadow oracle: IAM's users and keys as the observed exchanges reveal them, kept in step
//! with what the target actually answered, judging the stateful rules (quota, listings, secret
//! only at creation, deleted keys stay deleted, unique ids, case folding, DeleteConflict, the
//! implicit user, key status and authentication) only where that history decides the answer.
//!
//! The shadow knows a user's keys exactly from the moment it sees the user created, or sees a
//! listing of its keys; before that, a rule that needs the count or the set is unjudged with the
//! reason. It follows the target after a deviation (a DeleteUser that succeeded despite keys
//! deletes them in the shadow too), so one deviation does not cascade into many findings.
//! It assumes the observed traffic is the only traffic that changes those users, as a proxy in
//! front of a test suite's own endpoint sees it.
//!
//! Must not: do IO, or keep a secret (it holds ids, statuses and dates only).

use super::{RawExchange, Request};
use crate::contract::Exchange;
use crate::contract::lifecycle::{listed_keys, same_instant};
use crate::contract::rules::{RuleId, Verdict, lifecycle::judge_id_fresh};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The access key a request was signed with: from the `Authorization` header's `Credential=` or
/// a presigned query's `X-Amz-Credential`.
pub fn signer_key_id(raw: &RawExchange) -> Option<String> {
    credential(raw)
        .and_then(|c| c.split('/').next().map(str::to_owned))
        .filter(|k| !k.is_empty())
}

/// The service the request's signature is scoped to (`iam`, `sts`, `s3`).
pub(super) fn scope_service(raw: &RawExchange) -> Option<String> {
    credential(raw).and_then(|c| c.split('/').nth(3).map(str::to_owned))
}

fn credential(raw: &RawExchange) -> Option<String> {
    if let Some(auth) = raw.header("authorization") {
        let i = auth.find("Credential=")?;
        let rest = &auth[i + "Credential=".len()..];
        return Some(rest.split([',', ' ']).next().unwrap_or_default().to_owned());
    }
    crate::wire::decode_form(raw.query().as_bytes())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v)
}

#[derive(Debug, Clone)]
struct User {
    exists: bool,
    /// Every key of the user is in `Shadow::keys` (seen created, or listed).
    keys_known: bool,
    history: Vec<String>,
}

#[derive(Debug, Clone)]
struct Key {
    user: String,
    active: bool,
    create_date: Option<String>,
}

/// The most history lines a finding shows for one user.
const HISTORY: usize = 12;

/// Users and keys as observed.
#[derive(Debug, Default)]
pub(super) struct Shadow {
    quota: usize,
    users: HashMap<String, User>,
    /// Every key seen, deleted ones included (a deleted key must stay deleted).
    keys: HashMap<String, Key>,
    /// Each user's live key ids; a key of `keys` missing here is deleted. Kept per user so
    /// that counting and listing a user's keys does not scan every key the session ever saw
    /// (that made judging a long session quadratic). Changed only through `add_key`,
    /// `bury_key` and `bury_keys_of`.
    live: HashMap<String, BTreeSet<String>>,
    ids_seen: HashSet<String>,
}

impl Shadow {
    pub(super) fn new(quota: usize) -> Shadow {
        Shadow {
            quota,
            ..Shadow::default()
        }
    }

    fn live_keys(&self, user: &str) -> usize {
        self.live.get(user).map_or(0, BTreeSet::len)
    }

    /// Whether key `id`, seen before, has been deleted since.
    fn is_deleted(&self, id: &str, key: &Key) -> bool {
        !self.live.get(&key.user).is_some_and(|ids| ids.contains(id))
    }

    /// Records key `id` as live for `key.user` (moving it from another user, if it was listed
    /// there before).
    fn add_key(&mut self, id: String, key: Key) {
        if let Some(old) = self.keys.get(&id)
            && old.user != key.user
            && let Some(ids) = self.live.get_mut(&old.user)
        {
            ids.remove(&id);
        }
        self.live
            .entry(key.user.clone())
            .or_default()
            .insert(id.clone());
        self.keys.insert(id, key);
    }

    /// Marks key `id` deleted.
    fn bury_key(&mut self, id: &str) {
        if let Some(k) = self.keys.get(id)
            && let Some(ids) = self.live.get_mut(&k.user)
        {
            ids.remove(id);
        }
    }

    /// Marks every live key of `user` deleted.
    fn bury_keys_of(&mut self, user: &str) {
        self.live.remove(user);
    }

    /// The user whose keys are exactly known, existing: `Some(live key count)`.
    fn known_count(&self, user: &str) -> Option<usize> {
        self.users
            .get(user)
            .filter(|u| u.exists && u.keys_known)
            .map(|_| self.live_keys(user))
    }

    /// Judges one exchange by the stateful rules and advances the shadow; returns the verdicts
    /// and the subject user's history before this exchange (for findings).
    pub(super) fn observe(&mut self, req: &Request, ex: &Exchange) -> (Vec<Verdict>, Vec<String>) {
        let Some(j) = ex.judged() else {
            // No answer: whatever the request did is unknown, so the subject's keys are too.
            if let Some(u) = self.subject(req).and_then(|u| self.users.get_mut(&u)) {
                u.keys_known = false;
            }
            return (Vec::new(), Vec::new());
        };
        let status = j.status;
        let ok = ex.is_success();
        let code = ex.code().map(str::to_owned);
        let is = |s: u16, c: &str| status == s && code.as_deref() == Some(c);
        let mut v = Vec::new();
        let action = req.case.action.as_str();
        let subject = self.subject(req);
        let steps = subject
            .as_ref()
            .and_then(|u| self.users.get(u))
            .map(|u| u.history.clone())
            .unwrap_or_default();

        v.extend(self.judge_key_auth(req, status, code.as_deref()));
        if ex.leaks_secret && action != "CreateAccessKey" && !action.is_empty() {
            v.push(Verdict::fail(
                RuleId::LifeSecretOnce,
                format!("no secret in a {action} response"),
            ));
        } else if action == "ListAccessKeys" && ok {
            v.push(Verdict::pass(RuleId::LifeSecretOnce));
        }

        match action {
            "CreateUser" => {
                if let Some(name) = ex.param("UserName") {
                    let twin = self
                        .users
                        .iter()
                        .find(|(n, u)| u.exists && *n != name && n.eq_ignore_ascii_case(name))
                        .map(|(n, _)| n.clone());
                    if let Some(twin) = twin {
                        v.push(Verdict::check(
                            RuleId::LifeFoldCase,
                            is(409, "EntityAlreadyExists"),
                            format!(
                                "409 EntityAlreadyExists: {twin:?} exists and IAM user names \
                                 are unique regardless of case"
                            ),
                        ));
                    }
                    if ok {
                        self.users.insert(
                            name.to_owned(),
                            User {
                                exists: true,
                                keys_known: true,
                                history: Vec::new(),
                            },
                        );
                        self.bury_keys_of(name);
                    } else if is(409, "EntityAlreadyExists") {
                        self.user_mut(name).exists = true;
                    }
                }
            }
            "CreateAccessKey" => v.extend(self.observe_create(req, ex, subject.as_deref())),
            "ListAccessKeys" => {
                if let Some(user) = &subject {
                    v.extend(self.observe_list(user, ex));
                } else if ok {
                    v.push(Verdict::unjudged(
                        RuleId::LifeList,
                        "a listing without UserName signed with a key the observed traffic did \
                         not create: whose keys it lists is unknown",
                    ));
                }
            }
            "UpdateAccessKey" => {
                if ok
                    && let (Some(id), Some(st)) = (ex.param("AccessKeyId"), ex.param("Status"))
                    && let Some(k) = self.keys.get_mut(id)
                {
                    k.active = st == "Active";
                }
            }
            "DeleteAccessKey" => {
                if let Some(id) = ex.param("AccessKeyId")
                    && let Some(k) = self.keys.get(id)
                {
                    if self.is_deleted(id, k) {
                        v.push(Verdict::check(
                            RuleId::LifeUniqueIds,
                            status == 404,
                            format!("404 NoSuchEntity for {id}, a key deleted before"),
                        ));
                    } else if ok {
                        self.bury_key(id);
                    }
                }
            }
            "DeleteUser" => {
                if let Some(name) = ex.param("UserName") {
                    match self.known_count(name) {
                        Some(n) if n > 0 => v.push(Verdict::check(
                            RuleId::LifeDeleteConflict,
                            is(409, "DeleteConflict"),
                            format!("409 DeleteConflict: the user still holds {n} key(s)"),
                        )),
                        Some(_) => {}
                        None if ok || is(409, "DeleteConflict") => v.push(Verdict::unjudged(
                            RuleId::LifeDeleteConflict,
                            format!(
                                "the keys {name:?} held were not observed (no CreateUser or \
                                 ListAccessKeys answer for it in this traffic)"
                            ),
                        )),
                        None => {}
                    }
                    if ok {
                        // Follow the target: the user is gone, and so are its keys.
                        let u = self.user_mut(name);
                        u.exists = false;
                        u.keys_known = true;
                        self.bury_keys_of(name);
                    }
                }
            }
            _ => {}
        }
        if let Some(user) = &subject {
            let line = history_line(req, status, code.as_deref());
            let u = self.user_mut(user);
            u.history.push(line);
            if u.history.len() > HISTORY {
                u.history.remove(0);
            }
        }
        (v, steps)
    }

    fn user_mut(&mut self, name: &str) -> &mut User {
        self.users.entry(name.to_owned()).or_insert(User {
            exists: false,
            keys_known: false,
            history: Vec::new(),
        })
    }

    /// The user a request acts on: its `UserName`, or for a request without one the owner of the
    /// signing key, when the shadow saw that key created.
    fn subject(&self, req: &Request) -> Option<String> {
        let named = req
            .case
            .params
            .iter()
            .find(|(k, _)| k == "UserName")
            .map(|(_, v)| v.clone());
        named.or_else(|| {
            req.signer
                .as_ref()
                .and_then(|id| self.keys.get(id))
                .map(|k| k.user.clone())
        })
    }

    /// A request signed with a key the shadow saw created: an Active key authenticates, an
    /// Inactive or deleted one does not.
    fn judge_key_auth(&self, req: &Request, status: u16, code: Option<&str>) -> Vec<Verdict> {
        let Some((id, key)) = req
            .signer
            .as_ref()
            .and_then(|id| self.keys.get(id).map(|k| (id, k)))
        else {
            return Vec::new();
        };
        let deleted = self.is_deleted(id, key);
        let refused = (status == 403 && code != Some("AccessDenied")) || status == 401;
        if key.active && !deleted {
            vec![Verdict::check(
                RuleId::LifeKeyAuth,
                !refused,
                "the request authenticated: it was signed with an Active key",
            )]
        } else {
            vec![Verdict::check(
                RuleId::LifeKeyAuth,
                refused,
                format!(
                    "403 InvalidClientTokenId for a request signed with {} key",
                    if deleted { "a deleted" } else { "an Inactive" }
                ),
            )]
        }
    }

    fn observe_create(
        &mut self,
        req: &Request,
        ex: &Exchange,
        subject: Option<&str>,
    ) -> Vec<Verdict> {
        let mut v = Vec::new();
        let ok = ex.is_success();
        let limit = ex.status() == 409 && ex.code() == Some("LimitExceeded");
        let implicit = ex.param("UserName").is_none();
        let created_user = ex.str_at("/AccessKey/UserName").map(str::to_owned);
        if implicit {
            match (subject, &created_user) {
                (Some(owner), Some(got)) if ok => v.push(Verdict::check(
                    RuleId::LifeImplicitUser,
                    got == owner,
                    format!("the key to go to the signing user {owner:?}, not {got:?}"),
                )),
                (None, _) if ok => v.push(Verdict::unjudged(
                    RuleId::LifeImplicitUser,
                    "signed with a key the observed traffic did not create, so whose key an \
                     implicit create should make is unknown",
                )),
                _ => {}
            }
        }
        if ok || limit {
            let user = subject.map(str::to_owned).or(created_user.clone());
            match user.as_deref().and_then(|u| self.known_count(u)) {
                Some(n) if n >= self.quota => v.push(Verdict::check(
                    RuleId::LifeQuota,
                    limit,
                    format!("409 LimitExceeded: the user already holds {n} keys"),
                )),
                Some(n) => v.push(Verdict::check(
                    RuleId::LifeQuota,
                    ok,
                    format!("200: the user holds {n} of {} keys", self.quota),
                )),
                None => v.push(Verdict::unjudged(
                    RuleId::LifeQuota,
                    "the keys the user held before were not observed (no CreateUser or \
                     ListAccessKeys answer for it in this traffic)",
                )),
            }
        }
        if ok
            && let Some(id) = ex
                .str_at("/AccessKey/AccessKeyId")
                .filter(|i| !i.is_empty())
        {
            let id = id.to_owned();
            v.push(judge_id_fresh(&id, !self.ids_seen.contains(&id)));
            self.ids_seen.insert(id.clone());
            if let Some(user) = subject.map(str::to_owned).or(created_user) {
                self.user_mut(&user).exists = true;
                self.add_key(
                    id,
                    Key {
                        user,
                        active: true,
                        create_date: ex.str_at("/AccessKey/CreateDate").map(str::to_owned),
                    },
                );
            }
        }
        let _ = req;
        v
    }

    /// A ListAccessKeys answer for `user`: exactly the live keys when they are known, never a
    /// deleted key, each CreateDate as it was at creation. Then the shadow learns the listing.
    fn observe_list(&mut self, user: &str, ex: &Exchange) -> Vec<Verdict> {
        let mut v = Vec::new();
        if !ex.is_success() {
            if ex.status() == 404 && ex.code() == Some("NoSuchEntity") {
                let u = self.user_mut(user);
                u.exists = false;
                u.keys_known = true;
            }
            return v;
        }
        let listed = listed_keys(ex.judged().and_then(|j| j.value()));
        let resurrected: Vec<&str> = listed
            .iter()
            .filter(|(id, _, _)| self.keys.get(id).is_some_and(|k| self.is_deleted(id, k)))
            .map(|(id, _, _)| id.as_str())
            .collect();
        if !resurrected.is_empty() {
            v.push(Verdict::fail(
                RuleId::LifeUniqueIds,
                format!(
                    "a deleted key never to be listed again ({})",
                    resurrected.join(", ")
                ),
            ));
        } else if self.known_count(user).is_some() {
            let mut want: Vec<(String, String)> = self
                .live
                .get(user)
                .into_iter()
                .flatten()
                .filter_map(|id| self.keys.get(id).map(|k| (id, k)))
                .map(|(id, k)| {
                    let st = if k.active { "Active" } else { "Inactive" };
                    (id.clone(), st.to_owned())
                })
                .collect();
            let mut got: Vec<(String, String)> = listed
                .iter()
                .map(|(i, s, _)| (i.clone(), s.clone()))
                .collect();
            want.sort();
            got.sort();
            v.push(Verdict::check(
                RuleId::LifeList,
                want == got,
                format!("ListAccessKeys to list exactly {want:?}"),
            ));
        } else {
            v.push(Verdict::unjudged(
                RuleId::LifeList,
                "the user's keys before this listing were not observed",
            ));
        }
        for (id, _, date) in &listed {
            if let Some(k) = self.keys.get(id)
                && let (Some(a), Some(b)) = (&k.create_date, date)
            {
                v.push(Verdict::check(
                    RuleId::LifeCreateDateStable,
                    same_instant(a, b),
                    format!("CreateDate of {id} to stay {a:?}, listed as {b:?}"),
                ));
            }
        }
        // Learn the listing: it is now the user's key set.
        self.bury_keys_of(user);
        for (id, status, date) in listed {
            let known_date = self.keys.get(&id).and_then(|k| k.create_date.clone());
            self.ids_seen.insert(id.clone());
            self.add_key(
                id,
                Key {
                    user: user.to_owned(),
                    active: status != "Inactive",
                    create_date: known_date.or(date),
                },
            );
        }
        let u = self.user_mut(user);
        u.exists = true;
        u.keys_known = true;
        v
    }
}

/// One line of a user's history, as a finding's steps show it.
fn history_line(req: &Request, status: u16, code: Option<&str>) -> String {
    let shown: Vec<String> = req
        .case
        .params
        .iter()
        .filter(|(k, _)| k != "Action" && k != "Version")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let signer = req
        .signer
        .as_ref()
        .map(|s| format!(" (signed with {s})"))
        .unwrap_or_default();
    format!(
        "{} {}{signer} → HTTP {status}{}",
        req.case.action,
        shown.join(" "),
        code.map(|c| format!(" {c}")).unwrap_or_default()
    )
}

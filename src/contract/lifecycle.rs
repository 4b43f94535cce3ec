//! The stateful lifecycle: random sequences of user and key operations, generated with
//! `proptest-state-machine` and judged against a reference model of IAM.
//!
//! Generation ([`sequences`]) works on an abstract state (how many user slots, how many keys
//! were created), so that proptest can shrink a failing sequence while keeping it meaningful.
//! Execution is split so that this module stays pure: the [`Executor`] plans each step's request
//! from the reference model and judges the response the runner got for it, naming the rule each
//! verdict belongs to.

use super::rules::RuleId;
use crate::client::Credentials;
use crate::secret::Secret;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;
use serde_json::Value;

/// The rules this module judges.
pub const RULES: &[RuleId] = &[
    RuleId::LifeQuota,
    RuleId::LifeList,
    RuleId::LifeSecretOnce,
    RuleId::LifeUniqueIds,
    RuleId::LifeImplicitUser,
    RuleId::LifeFoldCase,
    RuleId::LifeDeleteConflict,
    RuleId::LifeKeyAuth,
    RuleId::LifeCreateDateStable,
];

/// User slots per sequence.
const USERS: u8 = 3;
/// The longest sequence generated.
const MAX_STEPS: usize = 24;

/// One abstract step. Key indices refer to the keys created so far in the sequence, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateUser(u8),
    /// Create the slot's user again with the case of its name swapped.
    CreateUserOtherCase(u8),
    CreateKey(u8),
    /// CreateAccessKey without UserName, signed with key N.
    CreateKeyImplicit(usize),
    ListKeys(u8),
    UpdateKey(usize, bool),
    DeleteKey(usize),
    DeleteUser(u8),
    /// GetUser signed with key N.
    AuthWith(usize),
}

/// The text form a replay command carries: `CreateUser(0)`, `UpdateKey(1,Inactive)`, ...
impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::CreateUser(u) => write!(f, "CreateUser({u})"),
            Step::CreateUserOtherCase(u) => write!(f, "CreateUserOtherCase({u})"),
            Step::CreateKey(u) => write!(f, "CreateKey({u})"),
            Step::CreateKeyImplicit(k) => write!(f, "CreateKeyImplicit({k})"),
            Step::ListKeys(u) => write!(f, "ListKeys({u})"),
            Step::UpdateKey(k, active) => write!(
                f,
                "UpdateKey({k},{})",
                if *active { "Active" } else { "Inactive" }
            ),
            Step::DeleteKey(k) => write!(f, "DeleteKey({k})"),
            Step::DeleteUser(u) => write!(f, "DeleteUser({u})"),
            Step::AuthWith(k) => write!(f, "AuthWith({k})"),
        }
    }
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Step, String> {
        const FORMS: &str = "CreateUser(U), CreateUserOtherCase(U), CreateKey(U), \
                             CreateKeyImplicit(K), ListKeys(U), UpdateKey(K,Active|Inactive), \
                             DeleteKey(K), DeleteUser(U), AuthWith(K)";
        let bad = |why: &str| format!("{text:?}: {why} (steps are {FORMS})");
        let (name, rest) = text.split_once('(').ok_or_else(|| bad("no '('"))?;
        let args: Vec<&str> = rest
            .strip_suffix(')')
            .ok_or_else(|| bad("no closing ')'"))?
            .split(',')
            .map(str::trim)
            .collect();
        let slot = |i: usize| -> Result<u8, String> {
            args.get(i)
                .and_then(|a| a.parse::<u8>().ok())
                .ok_or_else(|| bad("expected a user slot number"))
        };
        let key = |i: usize| -> Result<usize, String> {
            args.get(i)
                .and_then(|a| a.parse::<usize>().ok())
                .ok_or_else(|| bad("expected a key number"))
        };
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(bad(&format!("expected {n} argument(s)")))
            }
        };
        let step = match name {
            "CreateUser" => Step::CreateUser(slot(0)?),
            "CreateUserOtherCase" => Step::CreateUserOtherCase(slot(0)?),
            "CreateKey" => Step::CreateKey(slot(0)?),
            "CreateKeyImplicit" => Step::CreateKeyImplicit(key(0)?),
            "ListKeys" => Step::ListKeys(slot(0)?),
            "UpdateKey" => {
                arity(2)?;
                let active = match args[1] {
                    "Active" => true,
                    "Inactive" => false,
                    _ => return Err(bad("expected Active or Inactive")),
                };
                return Ok(Step::UpdateKey(key(0)?, active));
            }
            "DeleteKey" => Step::DeleteKey(key(0)?),
            "DeleteUser" => Step::DeleteUser(slot(0)?),
            "AuthWith" => Step::AuthWith(key(0)?),
            _ => return Err(bad("unknown step")),
        };
        arity(1)?;
        Ok(step)
    }
}

/// A sequence as one line of text: its steps, space-separated.
pub fn format_sequence(steps: &[Step]) -> String {
    steps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inverse of [`format_sequence`].
pub fn parse_sequence(text: &str) -> Result<Vec<Step>, String> {
    let steps: Vec<Step> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if steps.is_empty() {
        return Err("the sequence has no steps".into());
    }
    Ok(steps)
}

/// The abstract state generation works on.
#[derive(Debug, Clone, Default)]
pub struct GenState {
    keys_created: usize,
}

/// The reference state machine; `AUTH` says whether steps that need signature checking
/// (implicit user, authenticating with a key) are generated.
pub struct Machine<const AUTH: bool>;

impl<const AUTH: bool> ReferenceStateMachine for Machine<AUTH> {
    type State = GenState;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<GenState> {
        Just(GenState::default()).boxed()
    }

    fn transitions(state: &GenState) -> BoxedStrategy<Step> {
        let user = 0..USERS;
        let base = prop_oneof![
            4 => user.clone().prop_map(Step::CreateUser),
            1 => user.clone().prop_map(Step::CreateUserOtherCase),
            6 => user.clone().prop_map(Step::CreateKey),
            3 => user.clone().prop_map(Step::ListKeys),
            2 => user.clone().prop_map(Step::DeleteUser),
        ];
        if state.keys_created == 0 {
            return base.boxed();
        }
        let key = 0..state.keys_created;
        if AUTH {
            prop_oneof![
                10 => base,
                3 => (key.clone(), any::<bool>()).prop_map(|(k, a)| Step::UpdateKey(k, a)),
                2 => key.clone().prop_map(Step::DeleteKey),
                2 => key.clone().prop_map(Step::CreateKeyImplicit),
                2 => key.prop_map(Step::AuthWith),
            ]
            .boxed()
        } else {
            prop_oneof![
                10 => base,
                3 => (key.clone(), any::<bool>()).prop_map(|(k, a)| Step::UpdateKey(k, a)),
                2 => key.prop_map(Step::DeleteKey),
            ]
            .boxed()
        }
    }

    fn apply(mut state: GenState, step: &Step) -> GenState {
        if matches!(step, Step::CreateKey(_) | Step::CreateKeyImplicit(_)) {
            state.keys_created += 1;
        }
        state
    }

    fn preconditions(state: &GenState, step: &Step) -> bool {
        match step {
            Step::CreateKeyImplicit(k)
            | Step::UpdateKey(k, _)
            | Step::DeleteKey(k)
            | Step::AuthWith(k) => *k < state.keys_created,
            _ => true,
        }
    }
}

/// Random step sequences, with or without the steps that need signature checking.
pub fn sequences(auth: bool) -> BoxedStrategy<Vec<Step>> {
    if auth {
        Machine::<true>::sequential_strategy(1..MAX_STEPS)
            .prop_map(|(_, steps, _)| steps)
            .boxed()
    } else {
        Machine::<false>::sequential_strategy(1..MAX_STEPS)
            .prop_map(|(_, steps, _)| steps)
            .boxed()
    }
}

/// A fixed sequence that touches every invariant once: case folding, the quota with an
/// Inactive key, listing, authentication with Active, Inactive and deleted keys, the implicit
/// user, DeleteConflict and deleted keys staying deleted. Runs before the random ones, so a rule
/// never passes just because chance did not reach it.
pub fn scripted(auth: bool) -> Vec<Step> {
    use Step::*;
    let all = vec![
        CreateUser(0),
        CreateUserOtherCase(0),
        CreateKey(0),
        CreateKey(0),
        ListKeys(0),
        UpdateKey(0, false),
        CreateKey(0),
        ListKeys(0),
        AuthWith(1),
        AuthWith(0),
        DeleteKey(0),
        // At once again: a deleted key must stay deleted (404), before anything can remove
        // its user.
        DeleteKey(0),
        CreateKeyImplicit(1),
        ListKeys(0),
        DeleteUser(0),
        DeleteKey(0),
        AuthWith(0),
        DeleteKey(1),
        DeleteKey(2),
        DeleteUser(0),
    ];
    all.into_iter()
        .filter(|s| auth || !matches!(s, CreateKeyImplicit(_) | AuthWith(_)))
        .collect()
}

/// The request a step turns into.
#[derive(Debug, Clone)]
pub struct Planned {
    pub step: Step,
    pub action: &'static str,
    pub members: Vec<(&'static str, String)>,
    /// Sign with these credentials instead of the run's.
    pub sign_as: Option<Credentials>,
    /// For CreateAccessKey without UserName: the user the key should go to.
    pub implicit_user: Option<String>,
    /// What the reference model expects, for the history line.
    pub expect: String,
}

/// What the runner observed for a planned request.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub code: Option<String>,
    /// The error message, when the body is an error envelope.
    pub message: Option<String>,
    /// The decoded success value (secrets revealed; never printed).
    pub value: Option<Value>,
    /// The body carried a SecretAccessKey member or a secret of the run.
    pub leaks_secret: bool,
}

#[derive(Debug, Clone)]
struct Key {
    id: String,
    user: usize,
    active: bool,
    deleted: bool,
    secret: Secret,
    create_date: Option<String>,
}

#[derive(Debug, Clone)]
struct User {
    name: String,
    exists: bool,
}

/// Plans and judges one sequence against the reference model.
#[derive(Debug)]
pub struct Executor {
    users: Vec<User>,
    keys: Vec<Key>,
    /// Planned keys that the service did not create (index mapping stays stable).
    quota: usize,
    history: Vec<String>,
    extra_users: Vec<String>,
    /// Rules a step could not judge, with why (a user's key was refused with AccessDenied).
    unjudged: Vec<(RuleId, String)>,
}

impl Executor {
    /// A fresh reference model whose user names start with `tag`.
    pub fn new(tag: &str, quota: usize) -> Executor {
        Executor {
            users: (0..USERS)
                .map(|i| User {
                    name: format!("{tag}-User{i}"),
                    exists: false,
                })
                .collect(),
            keys: Vec::new(),
            quota,
            history: Vec::new(),
            extra_users: Vec::new(),
            unjudged: Vec::new(),
        }
    }

    /// The steps run so far, one line each.
    pub fn history(&self) -> Vec<String> {
        self.history.clone()
    }

    /// Every user name the sequence may have created.
    /// The rules steps so far could not judge, with the reason, emptied by the call.
    pub fn take_unjudged(&mut self) -> Vec<(RuleId, String)> {
        std::mem::take(&mut self.unjudged)
    }

    pub fn users_to_clean(&self) -> Vec<String> {
        let mut v: Vec<String> = self.users.iter().map(|u| u.name.clone()).collect();
        v.extend(self.extra_users.iter().cloned());
        v
    }

    fn live_keys(&self, user: usize) -> usize {
        self.keys
            .iter()
            .filter(|k| k.user == user && !k.deleted)
            .count()
    }

    /// The request for a step, or `None` when the step does not apply to the current state
    /// (for example a key step whose key was never created).
    pub fn plan(&mut self, step: &Step) -> Option<Planned> {
        let slot = |u: u8| (u % USERS) as usize;
        let p = |action, members: Vec<(&'static str, String)>, expect: String| Planned {
            step: step.clone(),
            action,
            members,
            sign_as: None,
            implicit_user: None,
            expect,
        };
        Some(match step {
            Step::CreateUser(u) => {
                let user = &self.users[slot(*u)];
                let expect = if user.exists {
                    "409 EntityAlreadyExists"
                } else {
                    "200"
                };
                p(
                    "CreateUser",
                    vec![("UserName", user.name.clone())],
                    expect.into(),
                )
            }
            Step::CreateUserOtherCase(u) => {
                let user = &self.users[slot(*u)];
                if !user.exists {
                    return None;
                }
                let swapped = swap_case(&user.name);
                self.extra_users.push(swapped.clone());
                p(
                    "CreateUser",
                    vec![("UserName", swapped)],
                    "409 EntityAlreadyExists".into(),
                )
            }
            Step::CreateKey(u) => {
                let s = slot(*u);
                let user = &self.users[s];
                let expect = if !user.exists {
                    "404 NoSuchEntity"
                } else if self.live_keys(s) >= self.quota {
                    "409 LimitExceeded"
                } else {
                    "200"
                };
                p(
                    "CreateAccessKey",
                    vec![("UserName", user.name.clone())],
                    expect.into(),
                )
            }
            Step::CreateKeyImplicit(k) => {
                let key = self.keys.get(*k)?;
                if key.deleted || !key.active {
                    return None;
                }
                let expect = if self.live_keys(key.user) >= self.quota {
                    "409 LimitExceeded"
                } else {
                    "200"
                };
                let mut planned = p("CreateAccessKey", vec![], expect.into());
                planned.sign_as = Some(key.credentials());
                planned.implicit_user = Some(self.users[key.user].name.clone());
                planned
            }
            Step::ListKeys(u) => {
                let user = &self.users[slot(*u)];
                if !user.exists {
                    return None;
                }
                p(
                    "ListAccessKeys",
                    vec![("UserName", user.name.clone())],
                    "200".into(),
                )
            }
            Step::UpdateKey(k, active) => {
                let key = self.keys.get(*k)?;
                if key.deleted {
                    return None;
                }
                p(
                    "UpdateAccessKey",
                    vec![
                        ("UserName", self.users[key.user].name.clone()),
                        ("AccessKeyId", key.id.clone()),
                        ("Status", if *active { "Active" } else { "Inactive" }.into()),
                    ],
                    "200".into(),
                )
            }
            Step::DeleteKey(k) => {
                let key = self.keys.get(*k)?;
                if !self.users[key.user].exists {
                    return None;
                }
                let expect = if key.deleted {
                    "404 NoSuchEntity"
                } else {
                    "200"
                };
                p(
                    "DeleteAccessKey",
                    vec![
                        ("UserName", self.users[key.user].name.clone()),
                        ("AccessKeyId", key.id.clone()),
                    ],
                    expect.into(),
                )
            }
            Step::DeleteUser(u) => {
                let s = slot(*u);
                let user = &self.users[s];
                if !user.exists {
                    return None;
                }
                let expect = if self.live_keys(s) > 0 {
                    "409 DeleteConflict"
                } else {
                    "200"
                };
                p(
                    "DeleteUser",
                    vec![("UserName", user.name.clone())],
                    expect.into(),
                )
            }
            Step::AuthWith(k) => {
                let key = self.keys.get(*k)?;
                let expect = if key.active && !key.deleted {
                    "200"
                } else {
                    "403 InvalidClientTokenId"
                };
                // GetUser of the key's own user: the emulator allows it for any user, so the
                // answer depends on authentication alone; a target that wants a policy for it
                // answers 403 AccessDenied, which still says the key authenticated.
                let owner = self.users[key.user].name.clone();
                let mut planned = p("GetUser", vec![("UserName", owner)], expect.into());
                planned.sign_as = Some(key.credentials());
                planned
            }
        })
    }

    /// Judges what came back for a planned step and advances the reference model. `created` is
    /// the key a successful CreateAccessKey returned (id, user name, secret). Returns the
    /// verdicts: `(rule, Ok)` for an invariant that held, `(rule, Err(expected))` for one that
    /// did not.
    pub fn observe(
        &mut self,
        planned: &Planned,
        response: Option<&Response>,
        created: Option<(String, String, Secret)>,
        create_date: Option<String>,
    ) -> Vec<(RuleId, Result<(), String>)> {
        let (status, code) = response
            .map(|r| (r.status, r.code.clone()))
            .unwrap_or((0, None));
        let seen = Seen {
            status,
            ok: (200..300).contains(&status),
            // AccessDenied comes only after authentication succeeded: the key is good, its
            // user just holds no policy that allows the action (real IAM users start with none).
            denied: planned.sign_as.is_some()
                && status == 403
                && super::codes::means_access_denied(code.as_deref()),
            code,
        };
        self.record_history(planned, &seen);
        let mut v: Vec<(RuleId, Result<(), String>)> = Vec::new();
        if response.is_some_and(|r| r.leaks_secret) && planned.action != "CreateAccessKey" {
            v.push((
                RuleId::LifeSecretOnce,
                Err(format!("no secret in a {} response", planned.action)),
            ));
        } else if planned.action == "ListAccessKeys" {
            v.push((RuleId::LifeSecretOnce, Ok(())));
        }
        match &planned.step {
            Step::CreateUser(u) => {
                let s = (*u % USERS) as usize;
                if !self.users[s].exists {
                    self.users[s].exists = seen.ok;
                }
            }
            Step::CreateUserOtherCase(_) => v.push(holds(
                RuleId::LifeFoldCase,
                seen.is(409, "EntityAlreadyExists"),
                "409 EntityAlreadyExists for a name that differs from an existing user's only in case",
            )),
            Step::CreateKeyImplicit(k) if seen.denied => {
                let message = response.and_then(|r| r.message.as_deref());
                v.extend(self.observe_denied_implicit(*k, message));
            }
            Step::CreateKey(_) | Step::CreateKeyImplicit(_)
                if planned.expect != "404 NoSuchEntity" =>
            {
                v.extend(self.observe_create(planned, &seen, created, create_date));
            }
            Step::CreateKey(_) | Step::CreateKeyImplicit(_) => {
                if let Some((id, _, secret)) = created {
                    // The service created a key for a user the model says does not exist; keep
                    // it so it gets cleaned up and listed consistently.
                    let s = match &planned.step {
                        Step::CreateKey(u) => (*u % USERS) as usize,
                        _ => 0,
                    };
                    self.keys.push(Key {
                        id,
                        user: s,
                        active: true,
                        deleted: false,
                        secret,
                        create_date,
                    });
                }
            }
            Step::ListKeys(u) => {
                let value = response.and_then(|r| r.value.as_ref());
                v.extend(self.observe_list((*u % USERS) as usize, &seen, value));
            }
            Step::UpdateKey(k, active) => {
                if seen.ok
                    && let Some(key) = self.keys.get_mut(*k)
                {
                    key.active = *active;
                } else {
                    v.push((
                        RuleId::LifeList,
                        Err("200 for UpdateAccessKey on a live key".into()),
                    ));
                }
            }
            Step::DeleteKey(k) => v.extend(self.observe_delete_key(*k, &seen)),
            Step::DeleteUser(u) => v.extend(self.observe_delete_user((*u % USERS) as usize, &seen)),
            Step::AuthWith(k) => v.extend(self.observe_auth(*k, &seen)),
        }
        v
    }

    /// Adds the step's line to the history a finding shows.
    fn record_history(&mut self, planned: &Planned, seen: &Seen) {
        let shown = planned
            .members
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let signer = planned
            .sign_as
            .as_ref()
            .map(|c| format!(" (signed with {})", c.access_key_id))
            .unwrap_or_default();
        self.history.push(format!(
            "{} {shown}{signer} → HTTP {}{} (model expects {})",
            planned.action,
            seen.status,
            seen.code
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default(),
            planned.expect
        ));
    }

    /// A CreateAccessKey without UserName, signed with key `k`, refused with AccessDenied:
    /// nothing was created. The message may name the resource the service resolved the missing
    /// UserName to: the signer is right, anyone else is wrong; without one, whose key it would
    /// have been cannot be seen.
    fn observe_denied_implicit(
        &mut self,
        k: usize,
        message: Option<&str>,
    ) -> Vec<(RuleId, Result<(), String>)> {
        let signer = &self.users[self.keys[k].user].name;
        match message.and_then(denied_resource_user) {
            Some(user) if user.eq_ignore_ascii_case(signer) => {
                vec![(RuleId::LifeImplicitUser, Ok(()))]
            }
            Some(user) => vec![(
                RuleId::LifeImplicitUser,
                Err(format!(
                    "a CreateAccessKey without UserName to act on the signing user \
                     {signer:?}; the AccessDenied names user {user:?} as its resource"
                )),
            )],
            None => {
                self.unjudged.push((
                    RuleId::LifeImplicitUser,
                    "the target refused the signing user's own CreateAccessKey with 403 \
                     AccessDenied (no policy it holds allows it: it holds none, or the target \
                     did not apply the self-manage policy the run put on it) without naming \
                     the resource, so whose key an implicit create makes could not be seen"
                        .into(),
                ));
                Vec::new()
            }
        }
    }

    /// A CreateAccessKey for a user that exists: the quota, and for an implicit create that the
    /// key went to the signer. Remembers the key it created.
    fn observe_create(
        &mut self,
        planned: &Planned,
        seen: &Seen,
        created: Option<(String, String, Secret)>,
        create_date: Option<String>,
    ) -> Vec<(RuleId, Result<(), String>)> {
        let mut v = Vec::new();
        let s = match &planned.step {
            Step::CreateKey(u) => (*u % USERS) as usize,
            Step::CreateKeyImplicit(k) => self.keys[*k].user,
            _ => unreachable!("only create steps come here"),
        };
        if self.live_keys(s) >= self.quota {
            v.push(holds(
                RuleId::LifeQuota,
                seen.is(409, "LimitExceeded"),
                &format!(
                    "409 LimitExceeded: the user already holds {} keys",
                    self.quota
                ),
            ));
        } else if planned.implicit_user.is_some() && !seen.ok {
            // Under the quota, an implicit create that fails did not go to the signer.
            v.push((
                RuleId::LifeImplicitUser,
                Err(format!(
                    "200 and a key for the signing user (who holds {} of {} keys)",
                    self.live_keys(s),
                    self.quota
                )),
            ));
        } else {
            v.push(holds(
                RuleId::LifeQuota,
                seen.ok,
                &format!(
                    "200: the user holds {} of {} keys",
                    self.live_keys(s),
                    self.quota
                ),
            ));
        }
        if let Some(implicit) = &planned.implicit_user {
            match &created {
                Some((_, user, _)) => v.push(holds(
                    RuleId::LifeImplicitUser,
                    user == implicit,
                    &format!("the key to go to the signing user {implicit:?}, not {user:?}"),
                )),
                // A 2xx that shows no key cannot show whose it is: that is a deviation of this
                // rule (and the output rules report the answer), never a reason to leave the
                // rule unjudged.
                None if seen.ok => v.push((
                    RuleId::LifeImplicitUser,
                    Err(format!(
                        "a CreateAccessKey answer naming the key it made for the signing user \
                         {implicit:?} (got HTTP {} that does not decode as one)",
                        seen.status
                    )),
                )),
                None => {}
            }
        }
        if let Some((id, _, secret)) = created {
            self.keys.push(Key {
                id,
                user: s,
                active: true,
                deleted: false,
                secret,
                create_date,
            });
        }
        v
    }

    /// A listing of user slot `s`: exactly the model's live keys with their status, no deleted
    /// key ever again, and each key's CreateDate as it was at creation.
    fn observe_list(
        &mut self,
        s: usize,
        seen: &Seen,
        value: Option<&Value>,
    ) -> Vec<(RuleId, Result<(), String>)> {
        let mut v = Vec::new();
        let listed = listed_keys(value);
        let mut want: Vec<(String, String)> = self
            .keys
            .iter()
            .filter(|k| k.user == s && !k.deleted)
            .map(|k| {
                (
                    k.id.clone(),
                    if k.active { "Active" } else { "Inactive" }.to_owned(),
                )
            })
            .collect();
        let mut got: Vec<(String, String)> = listed
            .iter()
            .map(|(i, st, _)| (i.clone(), st.clone()))
            .collect();
        want.sort();
        got.sort();
        let deleted: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| k.deleted && got.iter().any(|(i, _)| *i == k.id))
            .map(|k| k.id.as_str())
            .collect();
        if !deleted.is_empty() {
            v.push((
                RuleId::LifeUniqueIds,
                Err(format!(
                    "a deleted key never to be listed again (listed: {})",
                    deleted.join(", ")
                )),
            ));
        }
        // The listing must match exactly, a key deleted earlier included: that one breaks both
        // rules, so that setting the first broken rule aside still leaves the listing judged.
        v.push(holds(
            RuleId::LifeList,
            seen.ok && want == got,
            &format!(
                "ListAccessKeys to list exactly {want:?}{}",
                listing_difference(&want, &got, &deleted)
            ),
        ));
        for (id, _, date) in &listed {
            let Some(k) = self.keys.iter().find(|k| &k.id == id) else {
                continue;
            };
            match (&k.create_date, date) {
                (Some(a), Some(b)) => v.push(holds(
                    RuleId::LifeCreateDateStable,
                    same_instant(a, b),
                    &format!("CreateDate of {id} to stay {a:?}, listed as {b:?}"),
                )),
                (Some(a), None) => v.push((
                    RuleId::LifeCreateDateStable,
                    Err(format!(
                        "CreateDate of {id} to stay {a:?}, listed without one"
                    )),
                )),
                // Nothing to compare with; `output.create-date-recent` reports the missing date.
                (None, _) => self.unjudged.push((
                    RuleId::LifeCreateDateStable,
                    "CreateAccessKey answered without a CreateDate (output.create-date-recent \
                     reports that), so there is no date to keep stable"
                        .into(),
                )),
            }
        }
        v
    }

    /// DeleteAccessKey of key `k`: a key deleted before stays deleted (404).
    fn observe_delete_key(&mut self, k: usize, seen: &Seen) -> Vec<(RuleId, Result<(), String>)> {
        let was_deleted = self.keys.get(k).is_some_and(|key| key.deleted);
        if was_deleted {
            return vec![holds(
                RuleId::LifeUniqueIds,
                seen.status == 404,
                "404 NoSuchEntity for a key deleted before",
            )];
        }
        if seen.ok {
            if let Some(key) = self.keys.get_mut(k) {
                key.deleted = true;
            }
            return Vec::new();
        }
        vec![(
            RuleId::LifeList,
            Err("200 for DeleteAccessKey on a live key".into()),
        )]
    }

    /// DeleteUser of slot `s`: refused with DeleteConflict while the user holds keys.
    fn observe_delete_user(&mut self, s: usize, seen: &Seen) -> Vec<(RuleId, Result<(), String>)> {
        let mut v = Vec::new();
        if self.live_keys(s) > 0 {
            v.push(holds(
                RuleId::LifeDeleteConflict,
                seen.is(409, "DeleteConflict"),
                "409 DeleteConflict: the user still holds keys",
            ));
            if seen.ok {
                // The service deleted the user and its keys anyway; follow it.
                self.users[s].exists = false;
                for key in self.keys.iter_mut().filter(|k| k.user == s) {
                    key.deleted = true;
                }
            }
        } else if seen.ok {
            self.users[s].exists = false;
        }
        v
    }

    /// A request signed with key `k`: an Active key authenticates, an Inactive or deleted one
    /// does not.
    fn observe_auth(&self, k: usize, seen: &Seen) -> Vec<(RuleId, Result<(), String>)> {
        let Some(key) = self.keys.get(k) else {
            return Vec::new();
        };
        if key.active && !key.deleted {
            return vec![holds(
                RuleId::LifeKeyAuth,
                seen.ok || seen.denied,
                "200 (or 403 AccessDenied, which also means the key authenticated) \
                 for a request signed with an Active key",
            )];
        }
        vec![holds(
            RuleId::LifeKeyAuth,
            seen.status == 403 && !seen.denied,
            &format!(
                "403 InvalidClientTokenId for a request signed with {} key \
                 (AccessDenied would mean the key still authenticates)",
                if key.deleted {
                    "a deleted"
                } else {
                    "an Inactive"
                }
            ),
        )]
    }
}

/// Every ASCII letter in the other case (`Icx-seq0` → `iCX-SEQ0`).
fn swap_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

impl Key {
    /// Credentials that sign with this key.
    fn credentials(&self) -> Credentials {
        Credentials {
            access_key_id: self.id.clone(),
            secret_access_key: self.secret.clone(),
            session_token: None,
        }
    }
}

/// What came back for a step, as the judgements need it.
struct Seen {
    status: u16,
    code: Option<String>,
    /// A 2xx.
    ok: bool,
    /// 403 AccessDenied for a request signed with a key of the run: the key authenticated.
    denied: bool,
}

impl Seen {
    fn is(&self, status: u16, code: &str) -> bool {
        self.status == status && self.code.as_deref() == Some(code)
    }
}

/// A verdict: `Ok` when the invariant holds, otherwise what was expected.
fn holds(rule: RuleId, holds: bool, what: &str) -> (RuleId, Result<(), String>) {
    (rule, if holds { Ok(()) } else { Err(what.to_owned()) })
}

/// How a listing differs from the model's, for the finding: keys it lists that the model does
/// not hold (`deleted` names those deleted earlier), keys it misses, statuses it gets wrong.
fn listing_difference(
    want: &[(String, String)],
    got: &[(String, String)],
    deleted: &[&str],
) -> String {
    let mut parts = Vec::new();
    for (id, status) in got {
        match want.iter().find(|(w, _)| w == id) {
            None if deleted.contains(&id.as_str()) => {
                parts.push(format!("it lists {id}, deleted earlier"))
            }
            None => parts.push(format!("it lists {id}, which the model does not hold")),
            Some((_, w)) if w != status => {
                parts.push(format!("it lists {id} as {status:?}, not {w:?}"))
            }
            Some(_) => {}
        }
    }
    for (id, _) in want {
        if !got.iter().any(|(g, _)| g == id) {
            parts.push(format!("it misses {id}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

/// The keys a ListAccessKeys value lists: (id, status, CreateDate).
pub fn listed_keys(value: Option<&Value>) -> Vec<(String, String, Option<String>)> {
    value
        .and_then(|v| v.get("AccessKeyMetadata"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|k| {
                    let f = |n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
                    (
                        f("AccessKeyId").unwrap_or_default(),
                        f("Status").unwrap_or_default(),
                        f("CreateDate"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The user an AccessDenied message names as its resource: AWS words it `... on resource: user
/// NAME because ...`, others put an ARN `arn:aws:iam::ACCOUNT:user/PATH/NAME`. `None` when the
/// message names no user resource (moto names none at all), or names `user null`, which is
/// what IAM says when the request had no UserName (so it does not tell whose key it was).
pub fn denied_resource_user(message: &str) -> Option<String> {
    let rest = message.split_once("on resource:")?.1.trim_start();
    let name = if let Some(r) = rest.strip_prefix("user ") {
        r.split_whitespace().next()?
    } else {
        let arn = rest.split_whitespace().next()?;
        let path = arn.strip_prefix("arn:")?.split_once(":user/")?.1;
        path.rsplit('/').next()?
    };
    Some(name.to_owned()).filter(|n| !n.is_empty() && n != "*" && n != "null")
}

/// Whether two ISO 8601 timestamps name the same instant (to the second; services differ in
/// fractional digits and zone spelling).
pub fn same_instant(a: &str, b: &str) -> bool {
    use time::format_description::well_known::Rfc3339;
    match (
        time::OffsetDateTime::parse(a, &Rfc3339),
        time::OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(x), Ok(y)) => x.unix_timestamp() == y.unix_timestamp(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, code: Option<&str>) -> Response {
        Response {
            status,
            code: code.map(str::to_owned),
            message: None,
            value: None,
            leaks_secret: false,
        }
    }

    /// Runs `step`, answering it with `status`/`code` (and a key for a successful create), and
    /// returns the verdicts.
    fn run(
        exec: &mut Executor,
        step: Step,
        status: u16,
        code: Option<&str>,
    ) -> Vec<(RuleId, Result<(), String>)> {
        let planned = exec.plan(&step).expect("step applies");
        let created = (status == 200 && planned.action == "CreateAccessKey").then(|| {
            let n = exec.keys.len();
            (
                format!("AKIAEXAMPLE{n:09}"),
                planned
                    .members
                    .first()
                    .map(|(_, u)| u.clone())
                    .unwrap_or_default(),
                Secret::new(format!("example-secret-{n:025}")),
            )
        });
        exec.observe(&planned, Some(&resp(status, code)), created, None)
    }

    fn verdict(v: &[(RuleId, Result<(), String>)], rule: RuleId) -> Option<bool> {
        v.iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, res)| res.is_ok())
    }

    proptest! {
        #[test]
        fn sequences_round_trip_through_their_text(steps in sequences(true)) {
            let text = format_sequence(&steps);
            prop_assert_eq!(parse_sequence(&text).expect("parses"), steps);
        }
    }

    #[test]
    fn bad_sequences_say_what_is_wrong() {
        for (text, needle) in [
            ("", "no steps"),
            ("CreateUser(0) Frob(1)", "unknown step"),
            ("UpdateKey(0,Maybe)", "Active or Inactive"),
            ("CreateUser(300)", "user slot"),
            ("CreateUser(1,2)", "1 argument"),
            ("CreateUser 0", "no '('"),
            ("DeleteKey(0", "closing"),
        ] {
            let err = parse_sequence(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    /// A ListAccessKeys answer of (id, status) pairs.
    fn listing(keys: &[(&str, &str)]) -> Response {
        let meta: Vec<Value> = keys
            .iter()
            .map(|(id, st)| serde_json::json!({ "AccessKeyId": id, "Status": st }))
            .collect();
        Response {
            value: Some(serde_json::json!({ "AccessKeyMetadata": meta })),
            ..resp(200, None)
        }
    }

    fn list_verdicts(
        exec: &mut Executor,
        keys: &[(&str, &str)],
    ) -> Vec<(RuleId, Result<(), String>)> {
        let planned = exec.plan(&Step::ListKeys(0)).expect("the user exists");
        exec.observe(&planned, Some(&listing(keys)), None, None)
    }

    #[test]
    fn a_listing_must_match_the_model_exactly() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        let (a, b) = (exec.keys[0].id.clone(), exec.keys[1].id.clone());
        let v = list_verdicts(&mut exec, &[(&a, "Active"), (&b, "Active")]);
        assert_eq!(verdict(&v, RuleId::LifeList), Some(true), "{v:?}");
        // A missing key, a wrong status, a key the model never saw: each breaks the listing.
        for keys in [
            vec![(a.as_str(), "Active")],
            vec![(a.as_str(), "Active"), (b.as_str(), "Inactive")],
            vec![
                (a.as_str(), "Active"),
                (b.as_str(), "Active"),
                ("AKIAUNKNOWN0000000000", "Active"),
            ],
        ] {
            let v = list_verdicts(&mut exec, &keys);
            assert_eq!(
                verdict(&v, RuleId::LifeList),
                Some(false),
                "{keys:?}: {v:?}"
            );
        }
        // A key deleted earlier and listed again breaks the listing and the ids rule, and the
        // finding says which key it is.
        run(&mut exec, Step::DeleteKey(0), 200, None);
        let v = list_verdicts(&mut exec, &[(&a, "Active"), (&b, "Active")]);
        assert_eq!(verdict(&v, RuleId::LifeUniqueIds), Some(false), "{v:?}");
        assert_eq!(verdict(&v, RuleId::LifeList), Some(false), "{v:?}");
        let why = v
            .iter()
            .find(|(r, _)| *r == RuleId::LifeList)
            .and_then(|(_, r)| r.clone().err())
            .unwrap();
        assert!(
            why.contains(&format!("it lists {a}, deleted earlier")),
            "{why}"
        );
        let v = list_verdicts(&mut exec, &[(&b, "Active")]);
        assert_eq!(verdict(&v, RuleId::LifeList), Some(true), "{v:?}");
        assert_eq!(verdict(&v, RuleId::LifeUniqueIds), None, "{v:?}");
    }

    #[test]
    fn a_create_date_is_judged_only_when_there_is_one_to_keep() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        // The first key came without a CreateDate: nothing to keep stable, said so.
        run(&mut exec, Step::CreateKey(0), 200, None);
        let a = exec.keys[0].id.clone();
        let v = list_verdicts(&mut exec, &[(&a, "Active")]);
        assert_eq!(verdict(&v, RuleId::LifeCreateDateStable), None, "{v:?}");
        let unjudged = exec.take_unjudged();
        assert_eq!(unjudged[0].0, RuleId::LifeCreateDateStable, "{unjudged:?}");
        // The second came with one, and the listing drops it: broken.
        let planned = exec.plan(&Step::CreateKey(0)).expect("applies");
        let key = (
            "AKIAEXAMPLE000000002".to_owned(),
            "t-User0".to_owned(),
            Secret::new("s".repeat(40)),
        );
        exec.observe(
            &planned,
            Some(&resp(200, None)),
            Some(key),
            Some("2026-11-30T08:00:00Z".into()),
        );
        let v = list_verdicts(
            &mut exec,
            &[(&a, "Active"), ("AKIAEXAMPLE000000002", "Active")],
        );
        assert_eq!(
            verdict(&v, RuleId::LifeCreateDateStable),
            Some(false),
            "{v:?}"
        );
    }

    #[test]
    fn access_denied_means_a_key_authenticated() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        // Active key, AccessDenied: authenticated, so the rule holds.
        let v = run(&mut exec, Step::AuthWith(0), 403, Some("AccessDenied"));
        assert_eq!(verdict(&v, RuleId::LifeKeyAuth), Some(true));
        // Active key, InvalidClientTokenId: broken.
        let v = run(
            &mut exec,
            Step::AuthWith(0),
            403,
            Some("InvalidClientTokenId"),
        );
        assert_eq!(verdict(&v, RuleId::LifeKeyAuth), Some(false));
        run(&mut exec, Step::UpdateKey(0, false), 200, None);
        // Inactive key, AccessDenied: it still authenticates, so the rule is broken.
        let v = run(&mut exec, Step::AuthWith(0), 403, Some("AccessDenied"));
        assert_eq!(verdict(&v, RuleId::LifeKeyAuth), Some(false));
        let v = run(
            &mut exec,
            Step::AuthWith(0),
            403,
            Some("InvalidClientTokenId"),
        );
        assert_eq!(verdict(&v, RuleId::LifeKeyAuth), Some(true));
    }

    #[test]
    fn denied_resource_names_the_user_in_every_wording() {
        let aws = "User: arn:aws:iam::123456789012:user/Bob is not authorized to perform: \
                   iam:CreateAccessKey on resource: user Bob because no identity-based policy \
                   allows the iam:CreateAccessKey action";
        assert_eq!(denied_resource_user(aws).as_deref(), Some("Bob"));
        let arn = "User: arn:aws:iam::000000000000:user/a is not authorized to perform: \
                   iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/p/q/Admin";
        assert_eq!(denied_resource_user(arn).as_deref(), Some("Admin"));
        let moto = "User: arn:aws:iam::123456789012:user/a is not authorized to perform: \
                    iam:CreateAccessKey";
        assert_eq!(denied_resource_user(moto), None);
        assert_eq!(denied_resource_user("on resource: *"), None);
        assert_eq!(denied_resource_user(""), None);
    }

    #[test]
    fn a_denied_implicit_create_naming_another_user_fails() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        let planned = exec.plan(&Step::CreateKeyImplicit(0)).expect("applies");
        let signer = planned.implicit_user.clone().expect("implicit");
        let mut r = resp(403, Some("AccessDenied"));
        r.message = Some(format!(
            "User: arn:aws:iam::1:user/{signer} is not authorized to perform: \
             iam:CreateAccessKey on resource: arn:aws:iam::1:user/bootstrap"
        ));
        let v = exec.observe(&planned, Some(&r), None, None);
        assert_eq!(verdict(&v, RuleId::LifeImplicitUser), Some(false));
        let planned = exec.plan(&Step::CreateKeyImplicit(0)).expect("applies");
        r.message = Some(format!(
            "... on resource: user {signer} because no policy allows it"
        ));
        let v = exec.observe(&planned, Some(&r), None, None);
        assert_eq!(verdict(&v, RuleId::LifeImplicitUser), Some(true));
        assert!(exec.take_unjudged().is_empty());
    }

    #[test]
    fn an_implicit_create_whose_success_does_not_decode_fails_its_rule() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        let planned = exec.plan(&Step::CreateKeyImplicit(0)).expect("applies");
        // A 2xx, but no key the harness could read (a wrong root element, say).
        let v = exec.observe(&planned, Some(&resp(200, None)), None, None);
        assert_eq!(verdict(&v, RuleId::LifeImplicitUser), Some(false), "{v:?}");
        assert!(exec.take_unjudged().is_empty());
    }

    #[test]
    fn a_denied_implicit_create_is_unjudged_not_failed() {
        let mut exec = Executor::new("t", 2);
        run(&mut exec, Step::CreateUser(0), 200, None);
        run(&mut exec, Step::CreateKey(0), 200, None);
        let v = run(
            &mut exec,
            Step::CreateKeyImplicit(0),
            403,
            Some("AccessDenied"),
        );
        assert!(v.iter().all(|(_, r)| r.is_ok()), "{v:?}");
        let unjudged = exec.take_unjudged();
        assert_eq!(unjudged.len(), 1);
        assert_eq!(unjudged[0].0, RuleId::LifeImplicitUser);
        assert!(exec.take_unjudged().is_empty());
        // Any other refusal of the implicit create under the quota is a failure.
        let v = run(
            &mut exec,
            Step::CreateKeyImplicit(0),
            403,
            Some("InvalidClientTokenId"),
        );
        assert_eq!(verdict(&v, RuleId::LifeImplicitUser), Some(false));
        // No key was created by either: the user still holds one of two, so a create succeeds
        // and the one after it is over the quota.
        let v = run(&mut exec, Step::CreateKey(0), 200, None);
        assert_eq!(verdict(&v, RuleId::LifeQuota), Some(true));
        let v = run(&mut exec, Step::CreateKey(0), 200, None);
        assert_eq!(verdict(&v, RuleId::LifeQuota), Some(false));
    }
}

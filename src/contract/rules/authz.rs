//! Authorization: what an IAM user's inline policies let it do with access keys.
//!
//! A matrix of principals (a user with no policy, AWS's documented self-manage policy, an
//! `iam:*` allow, that allow plus an explicit Deny of CreateAccessKey, a policy scoped to
//! another user's ARN, and a NotAction allow) against CreateAccessKey, ListAccessKeys,
//! UpdateAccessKey and DeleteAccessKey on the principal's own user (named, and without
//! UserName) and on another user. Each
//! cell has its expected outcome; a refused call must change nothing (checked by a listing with
//! the run's own credentials before and after), and in the `aws` profile a refusal is worded as
//! IAM words implicit and explicit denies. Beside the matrix: a malformed policy document is
//! refused, and inline policies list, read back and block DeleteUser until deleted.
//!
//! Policies go only on users the run created, through the runner, which records them in the
//! ledger first, so cleanup (also after Ctrl-C) deletes them before the keys and the user.
//!
//! Must not: send anything outside the driver, or judge a cell it could not set up (a user, a
//! key or a policy the target refused is an unjudged rule with the reason, never a pass).

use super::{Request, RuleId, RuleRow, Verdict};
use crate::contract::codes::means_access_denied;
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, RuleClass, Source};
use crate::emulator::Fault;
use crate::model::Model;

/// The policy AWS documents for "manage your own access keys" (IAM User Guide, "Permissions
/// required to manage access keys", statement ManageOwnAccessKeys), verbatim.
pub const SELF_MANAGE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ManageOwnAccessKeys","Effect":"Allow","Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed","iam:GetUser","iam:ListAccessKeys","iam:UpdateAccessKey","iam:TagUser"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;

/// The name under which the capability probe puts (and at once deletes) the self-manage policy.
pub const PROBE_POLICY_NAME: &str = "iam-contract-probe";
/// The name of the matrix's and the lifecycle's policies.
pub const POLICY_NAME: &str = "iam-contract";

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::AuthzNoPolicy,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A user with no policy may not manage keys",
        checks: "A user holding no policy gets 403 AccessDenied for CreateAccessKey, ListAccessKeys, UpdateAccessKey and DeleteAccessKey, on its own user (named, and without UserName) and on another (IAM users start with no permissions).",
        faults: &[Fault::ImplicitAllow],
    },
    RuleRow {
        id: RuleId::AuthzSelfManage,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "The documented self-manage policy allows exactly the user's own keys",
        checks: "With AWS's ManageOwnAccessKeys policy (Resource arn:aws:iam::*:user/${aws:username}), the four key actions succeed on the user's own user (named, and without UserName, which IAM resolves to the caller) and get 403 AccessDenied on another user.",
        faults: &[
            Fault::NoUsernameVariable,
            Fault::ImplicitAllow,
            Fault::ImplicitUserBootstrap,
        ],
    },
    RuleRow {
        id: RuleId::AuthzIamStar,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "An iam:* allow allows every key action on every user",
        checks: "With an Allow of IAM:* on Resource * (written in capitals: action names match case-insensitively), the four key actions succeed on the user's own user (named, and without UserName) and on another.",
        faults: &[Fault::CaseSensitiveActions, Fault::ImplicitUserBootstrap],
    },
    RuleRow {
        id: RuleId::AuthzExplicitDeny,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "An explicit Deny wins over an Allow",
        checks: "With an Allow of iam:* plus a Deny of iam:createaccesskey (lower case) on Resource *, CreateAccessKey gets 403 AccessDenied on both users while the other three key actions succeed.",
        faults: &[
            Fault::DenyNotWinning,
            Fault::CaseSensitiveActions,
            Fault::ImplicitUserBootstrap,
        ],
    },
    RuleRow {
        id: RuleId::AuthzResourceScoped,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A policy scoped to another user's ARN allows only that user",
        checks: "With an Allow of iam:*AccessKey* on arn:aws:iam::*:user/OTHER, the four key actions succeed on OTHER and get 403 AccessDenied on the user's own user (named, and without UserName).",
        faults: &[Fault::ImplicitAllow],
    },
    RuleRow {
        id: RuleId::AuthzNotAction,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "NotAction allows everything but what it lists",
        checks: "With an Allow of NotAction iam:CreateAccessKey on Resource *, CreateAccessKey gets 403 AccessDenied on both users and the other three key actions succeed.",
        faults: &[
            Fault::IgnoreNotAction,
            Fault::ImplicitAllow,
            Fault::ImplicitUserBootstrap,
        ],
    },
    RuleRow {
        id: RuleId::AuthzDeniedUnchanged,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "A refused key call changes nothing",
        checks: "After every CreateAccessKey, UpdateAccessKey or DeleteAccessKey of the matrix that was refused with 403 AccessDenied, the target user's keys and their statuses, as the run's own credentials list them, are what they were before.",
        faults: &[Fault::DeniedCallStillActs],
    },
    RuleRow {
        id: RuleId::AuthzWording,
        class: RuleClass::Authz,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "AccessDenied is worded as IAM words it",
        checks: "Every refusal of the matrix reads \"User: ARN is not authorized to perform: iam:ACTION on resource: user NAME because no identity-based policy allows the iam:ACTION action\" (implicit deny; `user null` when the request had no UserName) or \"... with an explicit deny in an identity-based policy\" (explicit deny), ARN the signer's; the older form that ends after the resource is accepted (spec/facts.json).",
        faults: &[
            Fault::AccessDeniedArnResource,
            Fault::RewordedErrors,
            Fault::ImplicitUserBootstrap,
        ],
    },
    RuleRow {
        id: RuleId::AuthzMalformed,
        class: RuleClass::Authz,
        source: Source::Model,
        profile: Profile::Model,
        title: "A malformed policy document is refused",
        checks: "PutUserPolicy of a document that is not JSON, or whose statement names a Principal, gets 400 MalformedPolicyDocument and stores nothing (GetUserPolicy of its name gets 404 NoSuchEntity).",
        faults: &[Fault::AcceptMalformedPolicy],
    },
    RuleRow {
        id: RuleId::AuthzPolicyLifecycle,
        class: RuleClass::Authz,
        source: Source::Docs,
        profile: Profile::Model,
        title: "Inline policies list, read back and block DeleteUser",
        checks: "After PutUserPolicy, ListUserPolicies names the policy, GetUserPolicy returns its document (URL-encoded, RFC 3986; decoded, the same JSON), DeleteUser gets 409 DeleteConflict, and after DeleteUserPolicy the listing is empty and DeleteUser succeeds.",
        faults: &[Fault::DeleteUserWithPolicies],
    },
];

/// A principal of the matrix: what policy its user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    NoPolicy,
    SelfManage,
    IamStar,
    AllowWithDeny,
    ScopedToOther,
    NotAction,
}

impl Principal {
    pub const ALL: [Principal; 6] = [
        Principal::NoPolicy,
        Principal::SelfManage,
        Principal::IamStar,
        Principal::AllowWithDeny,
        Principal::ScopedToOther,
        Principal::NotAction,
    ];

    /// The rule this principal's cells are judged by.
    pub fn rule(self) -> RuleId {
        match self {
            Principal::NoPolicy => RuleId::AuthzNoPolicy,
            Principal::SelfManage => RuleId::AuthzSelfManage,
            Principal::IamStar => RuleId::AuthzIamStar,
            Principal::AllowWithDeny => RuleId::AuthzExplicitDeny,
            Principal::ScopedToOther => RuleId::AuthzResourceScoped,
            Principal::NotAction => RuleId::AuthzNotAction,
        }
    }

    /// How findings name it.
    pub fn label(self) -> &'static str {
        match self {
            Principal::NoPolicy => "a user with no policy",
            Principal::SelfManage => "a user with the self-manage policy",
            Principal::IamStar => "a user with an IAM:* allow",
            Principal::AllowWithDeny => {
                "a user with an iam:* allow and a Deny of iam:createaccesskey"
            }
            Principal::ScopedToOther => {
                "a user with iam:*AccessKey* allowed on the other user only"
            }
            Principal::NotAction => "a user with a NotAction iam:CreateAccessKey allow",
        }
    }

    /// The tag of its users' names (`<prefix>-azself0`).
    pub fn tag(self) -> &'static str {
        match self {
            Principal::NoPolicy => "aznone",
            Principal::SelfManage => "azself",
            Principal::IamStar => "azstar",
            Principal::AllowWithDeny => "azdeny",
            Principal::ScopedToOther => "azscope",
            Principal::NotAction => "aznot",
        }
    }

    /// The policy document its user holds (`other` is the other user of its cells).
    pub fn policy(self, other: &str) -> Option<String> {
        let allow = |action: &str, resource: &str| {
            format!(r#"{{"Effect":"Allow",{action},"Resource":"{resource}"}}"#)
        };
        let statements = match self {
            Principal::NoPolicy => return None,
            Principal::SelfManage => return Some(SELF_MANAGE_POLICY.to_owned()),
            Principal::IamStar => allow(r#""Action":"IAM:*""#, "*"),
            Principal::AllowWithDeny => format!(
                r#"{},{{"Effect":"Deny","Action":"iam:createaccesskey","Resource":"*"}}"#,
                allow(r#""Action":"iam:*""#, "*")
            ),
            Principal::ScopedToOther => allow(
                r#""Action":"iam:*AccessKey*""#,
                &format!("arn:aws:iam::*:user/{other}"),
            ),
            Principal::NotAction => allow(r#""NotAction":["iam:CreateAccessKey"]"#, "*"),
        };
        Some(format!(
            r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#
        ))
    }

    /// What the cell `action` on `whose` user must give. Leaving UserName out means the caller's
    /// own user, so such a cell expects what the named own user does.
    pub fn expect(self, action: KeyAction, whose: Whose) -> Expect {
        use Expect::*;
        let whose = match whose {
            Whose::Implicit => Whose::Own,
            w => w,
        };
        match (self, whose) {
            (Principal::NoPolicy, _) => Deny { explicit: false },
            (Principal::SelfManage, Whose::Own) | (Principal::ScopedToOther, Whose::Other) => Allow,
            (Principal::SelfManage, Whose::Other) | (Principal::ScopedToOther, Whose::Own) => {
                Deny { explicit: false }
            }
            (Principal::IamStar, _) => Allow,
            (Principal::AllowWithDeny, _) if action == KeyAction::Create => Deny { explicit: true },
            (Principal::NotAction, _) if action == KeyAction::Create => Deny { explicit: false },
            (Principal::AllowWithDeny | Principal::NotAction, _) => Allow,
            (_, Whose::Implicit) => unreachable!("mapped to Own above"),
        }
    }
}

/// The key actions of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Create,
    List,
    Update,
    Delete,
}

impl KeyAction {
    pub const ALL: [KeyAction; 4] = [
        KeyAction::Create,
        KeyAction::List,
        KeyAction::Update,
        KeyAction::Delete,
    ];

    pub fn operation(self) -> &'static str {
        match self {
            KeyAction::Create => "CreateAccessKey",
            KeyAction::List => "ListAccessKeys",
            KeyAction::Update => "UpdateAccessKey",
            KeyAction::Delete => "DeleteAccessKey",
        }
    }

    /// Whether the action would change the target's keys (so a refusal must be shown to have
    /// changed nothing).
    pub fn mutates(self) -> bool {
        self != KeyAction::List
    }
}

/// Whose keys a cell acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The principal's own user, named in UserName.
    Own,
    /// The principal's own user, by leaving UserName out (IAM resolves it to the caller, for
    /// authorization as for the action).
    Implicit,
    Other,
}

/// What a cell must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Allow,
    Deny { explicit: bool },
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub principal: Principal,
    pub action: KeyAction,
    pub whose: Whose,
}

impl Cell {
    pub fn expect(&self) -> Expect {
        self.principal.expect(self.action, self.whose)
    }

    fn describe(&self, target: &str) -> String {
        let whose = match self.whose {
            Whose::Own => "its own user",
            Whose::Implicit => "its own user, without UserName",
            Whose::Other => "another user",
        };
        format!(
            "{}: iam:{} on {whose} ({target})",
            self.principal.label(),
            self.action.operation()
        )
    }
}

/// Every cell of the matrix, principal by principal.
pub fn matrix() -> Vec<Cell> {
    Principal::ALL
        .into_iter()
        .flat_map(|principal| {
            [Whose::Own, Whose::Implicit, Whose::Other]
                .into_iter()
                .flat_map(move |whose| {
                    KeyAction::ALL.into_iter().map(move |action| Cell {
                        principal,
                        action,
                        whose,
                    })
                })
        })
        .collect()
}

/// The request of a cell, on `target`'s key `key_id` where the action takes one (signed by the
/// driver with the principal's key).
pub fn plan_cell(model: &Model, cell: &Cell, target: &str, key_id: &str) -> Request {
    let mut members = vec![];
    if cell.whose != Whose::Implicit {
        members.push(("UserName", target));
    }
    match cell.action {
        KeyAction::Create | KeyAction::List => {}
        KeyAction::Update => members.extend([("AccessKeyId", key_id), ("Status", "Inactive")]),
        KeyAction::Delete => members.push(("AccessKeyId", key_id)),
    }
    Request::new(model, cell.action.operation(), &members)
}

/// Whether an answer is a refusal for lack of permission as IAM gives it: 403 AccessDenied, in
/// either spelling (`error.envelope` reports the spelling).
pub fn denied(ex: &Exchange) -> bool {
    ex.status() == 403 && refused(ex)
}

/// Whether an answer refuses for lack of permission, whatever its status: what a refusal
/// changed and how it is worded are judged on it, while a wrong status is the cell's finding
/// (and `error.envelope`'s), not theirs.
pub fn refused(ex: &Exchange) -> bool {
    !ex.is_success() && means_access_denied(ex.code())
}

/// A cell's answer against its expected outcome, by the principal's rule.
pub fn judge_cell(cell: &Cell, target: &str, ex: &Exchange) -> Verdict {
    let rule = cell.principal.rule();
    let what = cell.describe(target);
    match cell.expect() {
        Expect::Allow => Verdict::check(rule, ex.is_success(), format!("{what} to succeed")),
        Expect::Deny { explicit } => Verdict::check(
            rule,
            denied(ex),
            format!(
                "{what} to be refused with 403 AccessDenied ({} deny)",
                if explicit { "explicit" } else { "implicit" }
            ),
        ),
    }
}

/// A refused mutating call left the target's keys as they were: `before` and `after` are the
/// listings (id, status) with the run's own credentials. Unjudged when the call was not refused
/// (the cell's own rule says what is wrong) or a listing failed.
pub fn judge_unchanged(
    cell: &Cell,
    target: &str,
    ex: &Exchange,
    before: Option<&[(String, String)]>,
    after: Option<&[(String, String)]>,
) -> Option<Verdict> {
    if !cell.action.mutates() || !refused(ex) {
        return None;
    }
    let rule = RuleId::AuthzDeniedUnchanged;
    let (Some(before), Some(after)) = (before, after) else {
        return Some(Verdict::unjudged(
            rule,
            "ListAccessKeys with the run's own credentials did not succeed around a refused call",
        ));
    };
    let sorted = |l: &[(String, String)]| {
        let mut v = l.to_vec();
        v.sort();
        v
    };
    Some(Verdict::check(
        rule,
        sorted(before) == sorted(after),
        format!(
            "{}, refused, to leave {target}'s keys as they were ({} before, {} after)",
            cell.describe(target),
            show_keys(before),
            show_keys(after)
        ),
    ))
}

fn show_keys(keys: &[(String, String)]) -> String {
    if keys.is_empty() {
        return "none".into();
    }
    keys.iter()
        .map(|(id, status)| format!("{id} {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A refusal's message is IAM's: the implicit or explicit deny wording (spec/facts.json) for
/// `signer` doing the cell's action on user `target`, or the older form that ends after the
/// resource. `None` when the answer is not a refusal (nothing to word).
pub fn judge_wording(
    model: &Model,
    cell: &Cell,
    signer: &str,
    target: &str,
    ex: &Exchange,
) -> Option<Verdict> {
    let Expect::Deny { explicit } = cell.expect() else {
        return None;
    };
    if !refused(ex) {
        return None;
    }
    let facts = model.facts();
    let wanted = facts.error(if explicit {
        "access-denied-explicit"
    } else {
        "access-denied"
    });
    let older = facts.error("access-denied-older");
    let action = cell.action.operation();
    // The ARN's account and path are the target's own: any account, any path, the signer's name.
    const ARN: &str = "\u{1}";
    let arn_re = format!(
        r"arn:aws[a-z-]*:iam::[0-9]{{12}}:user/(?:[!-~]*/)?{}",
        regex::escape(signer)
    );
    // IAM names the resource `user null` when the request had no UserName (spec/facts.json).
    let resource = if cell.whose == Whose::Implicit {
        "user null".to_owned()
    } else {
        format!("user {target}")
    };
    let args = [("arn", ARN), ("action", action), ("resource", &resource)];
    let ok = ex.message().is_some_and(|m| {
        [wanted, older].iter().any(|f| {
            let pattern = format!(
                "^{}$",
                regex::escape(&f.render(&args)).replace(ARN, &arn_re)
            );
            regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(m))
        })
    });
    Some(Verdict::check(
        RuleId::AuthzWording,
        ok,
        format!(
            "{:?} (or the older form that ends after the resource)",
            wanted.render(&[
                ("arn", &format!("arn:aws:iam::ACCOUNT:user/{signer}")),
                ("action", action),
                ("resource", &resource),
            ])
        ),
    ))
}

/// The malformed documents PutUserPolicy must refuse, with what is wrong with each.
pub fn malformed_documents() -> [(&'static str, &'static str); 2] {
    [
        ("not JSON", r#"{"Version":"2012-10-17","Statement":["#),
        (
            "a Principal in an identity policy",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:ListAccessKeys","Resource":"*"}]}"#,
        ),
    ]
}

/// A malformed document's PutUserPolicy gets 400 MalformedPolicyDocument, and a GetUserPolicy of
/// its name afterwards finds nothing (`get`: `None` when it was not asked).
pub fn judge_malformed(what: &str, put: &Exchange, get: Option<&Exchange>) -> Verdict {
    let refused = put.status() == 400 && put.code() == Some("MalformedPolicyDocument");
    let stored = get.is_some_and(Exchange::is_success);
    Verdict::check(
        RuleId::AuthzMalformed,
        refused && !stored,
        format!(
            "400 MalformedPolicyDocument for a policy document with {what}, and nothing stored"
        ),
    )
}

/// The decoded document GetUserPolicy returned: percent-decoded when it is URL-encoded (as IAM
/// documents), as it is otherwise; `None` when it is not JSON either way.
pub fn returned_document(ex: &Exchange) -> Option<serde_json::Value> {
    let raw = ex.str_at("/PolicyDocument")?;
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    serde_json::from_str(&decoded)
        .or_else(|_| serde_json::from_str(raw))
        .ok()
}

/// The policy names a ListUserPolicies answer lists; `None` when it did not succeed.
pub fn listed_policies(ex: &Exchange) -> Option<Vec<String>> {
    if !ex.is_success() {
        return None;
    }
    let j = ex.judged()?;
    let crate::wire::Outcome::Success { value, .. } = &j.decoded.outcome else {
        return None;
    };
    Some(
        value
            .get("PolicyNames")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// One step of the inline-policy lifecycle and what it must give.
pub fn judge_policy_step(step: PolicyStep, name: &str, document: &str, ex: &Exchange) -> Verdict {
    let rule = RuleId::AuthzPolicyLifecycle;
    match step {
        PolicyStep::ListNamesIt => Verdict::check(
            rule,
            listed_policies(ex).is_some_and(|l| l.iter().any(|n| n == name)),
            format!("ListUserPolicies to name {name} after PutUserPolicy"),
        ),
        PolicyStep::GetReturnsIt => {
            let want: Option<serde_json::Value> = serde_json::from_str(document).ok();
            Verdict::check(
                rule,
                ex.is_success() && returned_document(ex).is_some() && returned_document(ex) == want,
                format!(
                    "GetUserPolicy of {name} to return the document that was put (URL-encoded, RFC 3986)"
                ),
            )
        }
        PolicyStep::DeleteUserConflicts => Verdict::check(
            rule,
            ex.status() == 409 && ex.code() == Some("DeleteConflict"),
            "409 DeleteConflict for DeleteUser of a user with an inline policy",
        ),
        PolicyStep::DeletePolicy => Verdict::check(
            rule,
            ex.is_success(),
            format!("DeleteUserPolicy of {name} to succeed"),
        ),
        PolicyStep::ListEmpty => Verdict::check(
            rule,
            listed_policies(ex).is_some_and(|l| l.is_empty()),
            "ListUserPolicies to list nothing after DeleteUserPolicy",
        ),
        PolicyStep::DeleteUser => Verdict::check(
            rule,
            ex.is_success(),
            "DeleteUser to succeed once the inline policy is deleted",
        ),
    }
}

/// The steps of the inline-policy lifecycle after PutUserPolicy, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyStep {
    ListNamesIt,
    GetReturnsIt,
    DeleteUserConflicts,
    DeletePolicy,
    ListEmpty,
    DeleteUser,
}

/// Every rule of the class.
pub const RULES: [RuleId; 10] = [
    RuleId::AuthzNoPolicy,
    RuleId::AuthzSelfManage,
    RuleId::AuthzIamStar,
    RuleId::AuthzExplicitDeny,
    RuleId::AuthzResourceScoped,
    RuleId::AuthzNotAction,
    RuleId::AuthzDeniedUnchanged,
    RuleId::AuthzWording,
    RuleId::AuthzMalformed,
    RuleId::AuthzPolicyLifecycle,
];

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::client::{Credentials, Signing};
    use crate::contract::probe::Decision;
    use crate::contract::runner::Runner;

    /// The rules the matrix judges (they need requests signed by the principals).
    const MATRIX: [RuleId; 8] = [
        RuleId::AuthzNoPolicy,
        RuleId::AuthzSelfManage,
        RuleId::AuthzIamStar,
        RuleId::AuthzExplicitDeny,
        RuleId::AuthzResourceScoped,
        RuleId::AuthzNotAction,
        RuleId::AuthzDeniedUnchanged,
        RuleId::AuthzWording,
    ];
    /// The rules that need PutUserPolicy.
    const NEED_POLICIES: [RuleId; 7] = [
        RuleId::AuthzSelfManage,
        RuleId::AuthzIamStar,
        RuleId::AuthzExplicitDeny,
        RuleId::AuthzResourceScoped,
        RuleId::AuthzNotAction,
        RuleId::AuthzMalformed,
        RuleId::AuthzPolicyLifecycle,
    ];

    pub(crate) async fn drive(r: &Runner<'_>) {
        if !r.need_users(&RULES) {
            return;
        }
        let signs = r.need(
            r.caps().verifies_signatures,
            &MATRIX,
            "the target does not verify signatures, so who signs a request cannot decide what \
             it may do",
        );
        let policies = if NEED_POLICIES.iter().any(|x| r.enabled(*x))
            || r.enabled(RuleId::AuthzDeniedUnchanged)
            || r.enabled(RuleId::AuthzWording)
        {
            r.policy_support().await
        } else {
            Decision::Undecided("not probed".into())
        };
        let with_policies = r.need(
            policies.assumed(),
            &NEED_POLICIES,
            policies.reason().unwrap_or_default(),
        );
        // Every principal's refusals feed the unchanged-listing and wording rules.
        let shared = r.enabled(RuleId::AuthzDeniedUnchanged) || r.enabled(RuleId::AuthzWording);
        let principals = Principal::ALL.into_iter().filter(|p| {
            signs && (r.enabled(p.rule()) || shared) && (*p == Principal::NoPolicy || with_policies)
        });
        let refusals = std::sync::atomic::AtomicUsize::new(0);
        let ran: Vec<()> = crate::contract::all_in_order(
            principals.map(|p| principal(r, p, &refusals)),
            (r.config().in_flight / 4).max(1),
        )
        .await;
        if !ran.is_empty() && refusals.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            // Only refusals are judged by these two: say so rather than pass or say nothing.
            let why = "no call of the matrix was refused (the target allowed every one), so no \
                       refusal could be checked";
            r.skip(RuleId::AuthzDeniedUnchanged, why);
            r.skip(RuleId::AuthzWording, why);
        }
        if with_policies {
            futures::join!(policy_lifecycle(r), malformed(r));
        }
    }

    /// The principal's eight cells, on a user of its own holding its policy and another user.
    async fn principal(r: &Runner<'_>, p: Principal, refusals: &std::sync::atomic::AtomicUsize) {
        let me = r.name(p.tag());
        let other = r.name(&format!("{}o", p.tag()));
        let rule = p.rule();
        let ready = async {
            if !r.create_user(&me).await.accepted() || !r.create_user(&other).await.accepted() {
                return Err("could not create the principal's users".to_owned());
            }
            let ex = r.create_key(&me).await;
            let key = r
                .created(&ex, Some(&me))
                .filter(|k| !k.id.is_empty())
                .ok_or("could not create the principal's signing key")?;
            if let Some(doc) = p.policy(&other) {
                let put = r.put_user_policy(&me, POLICY_NAME, &doc).await;
                if !put.accepted() {
                    return Err(format!(
                        "PutUserPolicy of the principal's policy answered HTTP {}{}",
                        put.status(),
                        put.code().map(|c| format!(" {c}")).unwrap_or_default()
                    ));
                }
            }
            Ok(Credentials {
                access_key_id: key.id,
                secret_access_key: key.secret,
                session_token: None,
            })
        }
        .await;
        match ready {
            Ok(creds) => {
                for whose in [Whose::Own, Whose::Implicit, Whose::Other] {
                    let target = match whose {
                        Whose::Own | Whose::Implicit => &me,
                        Whose::Other => &other,
                    };
                    for action in KeyAction::ALL {
                        let cell = Cell {
                            principal: p,
                            action,
                            whose,
                        };
                        if run_cell(r, &cell, &me, target, &creds).await {
                            refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            }
            Err(why) => {
                r.skip(rule, &why);
            }
        }
        r.delete_user_fully(&me).await;
        r.delete_user_fully(&other).await;
    }

    /// One cell: set up the key it acts on (with the run's own credentials), send it signed by
    /// the principal, list before and after, judge, and put things back. Returns whether the
    /// call was refused for lack of permission.
    async fn run_cell(
        r: &Runner<'_>,
        cell: &Cell,
        signer: &str,
        target: &str,
        creds: &Credentials,
    ) -> bool {
        // Update and Delete act on a key of the target's made for the cell, never on the
        // principal's signing key.
        let victim = if matches!(cell.action, KeyAction::Update | KeyAction::Delete) {
            let ex = r.create_key(target).await;
            match r.created(&ex, Some(target)).filter(|k| !k.id.is_empty()) {
                Some(k) => Some(k.id),
                None => {
                    r.skip(
                        cell.principal.rule(),
                        "could not create the key a cell acts on",
                    );
                    return false;
                }
            }
        } else {
            None
        };
        let before = if cell.action.mutates() {
            r.list_key_ids(target).await
        } else {
            None
        };
        let req = plan_cell(
            r.model(),
            cell,
            target,
            victim.as_deref().unwrap_or_default(),
        )
        .signed(Signing::As(creds.clone()));
        let ex = r.send(&req).await;
        let made = if cell.action == KeyAction::Create {
            r.created(&ex, Some(target)).map(|k| k.id)
        } else {
            None
        };
        let after = if cell.action.mutates() {
            r.list_key_ids(target).await
        } else {
            None
        };
        let mut verdicts = vec![judge_cell(cell, target, &ex)];
        verdicts.extend(judge_unchanged(
            cell,
            target,
            &ex,
            before.as_deref(),
            after.as_deref(),
        ));
        verdicts.extend(judge_wording(r.model(), cell, signer, target, &ex));
        r.record(&ex, verdicts);
        // Put back what the cell made or left (its key, a key a refused call made anyway, the
        // victim): the quota of 2 must hold room for the next cell.
        let had: Vec<String> = before
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| Some(id) != victim.as_ref())
            .collect();
        let leftover: Vec<String> = after
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .chain(made)
            .filter(|id| !had.contains(id))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for id in leftover {
            r.delete_key(target, &id).await;
        }
        refused(&ex)
    }

    /// PutUserPolicy, then the listing, the document, DeleteUser's conflict, DeleteUserPolicy,
    /// the empty listing and DeleteUser, on a user of its own.
    async fn policy_lifecycle(r: &Runner<'_>) {
        if !r.enabled(RuleId::AuthzPolicyLifecycle) {
            return;
        }
        let user = r.name("azpol");
        if !r.create_user(&user).await.accepted() {
            r.skip(
                RuleId::AuthzPolicyLifecycle,
                "could not create the user the policy lifecycle needs",
            );
            return;
        }
        let put = r
            .put_user_policy(&user, POLICY_NAME, SELF_MANAGE_POLICY)
            .await;
        if !put.accepted() {
            r.record(
                &put,
                [Verdict::fail(
                    RuleId::AuthzPolicyLifecycle,
                    "PutUserPolicy of the self-manage policy to succeed",
                )],
            );
            r.delete_user_fully(&user).await;
            return;
        }
        let m = r.model();
        let send = |action: &'static str, members: Vec<(&'static str, String)>| async move {
            let members: Vec<(&str, &str)> =
                members.iter().map(|(k, v)| (*k, v.as_str())).collect();
            r.send(&Request::new(m, action, &members)).await
        };
        let u = || ("UserName", user.clone());
        let n = || ("PolicyName", POLICY_NAME.to_owned());
        let judge = |step, ex: &Exchange| {
            r.record(
                ex,
                [judge_policy_step(step, POLICY_NAME, SELF_MANAGE_POLICY, ex)],
            );
        };
        judge(
            PolicyStep::ListNamesIt,
            &send("ListUserPolicies", vec![u()]).await,
        );
        judge(
            PolicyStep::GetReturnsIt,
            &send("GetUserPolicy", vec![u(), n()]).await,
        );
        let conflict = send("DeleteUser", vec![u()]).await;
        judge(PolicyStep::DeleteUserConflicts, &conflict);
        if conflict.accepted() {
            // The user went with its policy: nothing left to delete.
            return;
        }
        let deleted = send("DeleteUserPolicy", vec![u(), n()]).await;
        judge(PolicyStep::DeletePolicy, &deleted);
        if deleted.accepted() {
            r.forget_policies(&user);
        }
        judge(
            PolicyStep::ListEmpty,
            &send("ListUserPolicies", vec![u()]).await,
        );
        let gone = send("DeleteUser", vec![u()]).await;
        judge(PolicyStep::DeleteUser, &gone);
        if !gone.accepted() {
            r.delete_user_fully(&user).await;
        }
    }

    /// Each malformed document on a user of its own: refused, and nothing stored.
    async fn malformed(r: &Runner<'_>) {
        if !r.enabled(RuleId::AuthzMalformed) {
            return;
        }
        let user = r.name("azbad");
        if !r.create_user(&user).await.accepted() {
            r.skip(
                RuleId::AuthzMalformed,
                "could not create the user the malformed policies are put on",
            );
            return;
        }
        for (i, (what, doc)) in malformed_documents().into_iter().enumerate() {
            let name = format!("{POLICY_NAME}-bad{i}");
            let put = r.put_user_policy(&user, &name, doc).await;
            let get = if put.accepted() {
                Some(
                    r.send(&Request::new(
                        r.model(),
                        "GetUserPolicy",
                        &[("UserName", &user), ("PolicyName", &name)],
                    ))
                    .await,
                )
            } else {
                None
            };
            r.record(&put, [judge_malformed(what, &put, get.as_ref())]);
        }
        r.delete_user_fully(&user).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn cell(principal: Principal, action: KeyAction, whose: Whose) -> Cell {
        Cell {
            principal,
            action,
            whose,
        }
    }

    #[test]
    fn the_matrix_has_every_principal_action_and_user_with_an_expectation() {
        let m = matrix();
        assert_eq!(m.len(), 6 * 4 * 3);
        // Without UserName the own user's expectation holds, and the request names no user.
        for c in &m {
            if c.whose == Whose::Implicit {
                let own = Cell {
                    whose: Whose::Own,
                    ..*c
                };
                assert_eq!(c.expect(), own.expect());
                let req = plan_cell(model(), c, "alice", "AKIAVICTIM");
                assert!(req.params.iter().all(|(k, _)| k != "UserName"), "{c:?}");
            }
        }
        use Expect::*;
        let expect = |p, a, w| cell(p, a, w).expect();
        // A few cells as the issue states them.
        assert_eq!(
            expect(Principal::NoPolicy, KeyAction::List, Whose::Own),
            Deny { explicit: false }
        );
        assert_eq!(
            expect(Principal::SelfManage, KeyAction::Delete, Whose::Own),
            Allow
        );
        assert_eq!(
            expect(Principal::SelfManage, KeyAction::Create, Whose::Other),
            Deny { explicit: false }
        );
        assert_eq!(
            expect(Principal::AllowWithDeny, KeyAction::Create, Whose::Other),
            Deny { explicit: true }
        );
        assert_eq!(
            expect(Principal::AllowWithDeny, KeyAction::Update, Whose::Other),
            Allow
        );
        assert_eq!(
            expect(Principal::ScopedToOther, KeyAction::List, Whose::Own),
            Deny { explicit: false }
        );
        assert_eq!(
            expect(Principal::ScopedToOther, KeyAction::List, Whose::Other),
            Allow
        );
        assert_eq!(
            expect(Principal::NotAction, KeyAction::Create, Whose::Own),
            Deny { explicit: false }
        );
        // Every rule but the three beside the matrix has a principal.
        for p in Principal::ALL {
            assert!(RULES.contains(&p.rule()));
        }
    }

    /// The expectations agree with the emulator's own evaluator on every cell: the matrix and
    /// the evaluator were written from the same documentation, and must not drift apart.
    #[test]
    fn the_expectations_agree_with_the_emulator_evaluator() {
        use crate::emulator::policy::{self, Context, Decision, PolicyDocument, Quirks};
        for c in matrix() {
            let docs: Vec<PolicyDocument> = c
                .principal
                .policy("bob")
                .map(|d| PolicyDocument::parse(&d).unwrap())
                .into_iter()
                .collect();
            let target = match c.whose {
                Whose::Own | Whose::Implicit => "alice",
                Whose::Other => "bob",
            };
            let resource = format!("arn:aws:iam::123456789012:user/{target}");
            let action = format!("iam:{}", c.action.operation());
            let d = policy::evaluate(
                &docs,
                &Context {
                    action: &action,
                    resource: &resource,
                    username: "alice",
                },
                Quirks::default(),
            );
            let want = match c.expect() {
                Expect::Allow => Decision::Allow,
                Expect::Deny { explicit: true } => Decision::ExplicitDeny,
                Expect::Deny { explicit: false } => Decision::ImplicitDeny,
            };
            assert_eq!(d, want, "{c:?}");
        }
    }

    const IMPLICIT: &str = "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:ListAccessKeys on resource: user bob because no identity-based policy allows the iam:ListAccessKeys action";

    #[test]
    fn a_cell_is_judged_by_its_expectation() {
        let c = cell(Principal::SelfManage, KeyAction::List, Whose::Other);
        let req = plan_cell(model(), &c, "bob", "");
        let refused = answer(&req, 403, &error_body("AccessDenied", "Sender", IMPLICIT));
        assert!(!judge_cell(&c, "bob", &refused).failed());
        let json_spelling = answer(
            &req,
            403,
            &error_body("AccessDeniedException", "Sender", "x"),
        );
        assert!(!judge_cell(&c, "bob", &json_spelling).failed());
        let ok = answer(
            &req,
            200,
            "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult><AccessKeyMetadata/><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>",
        );
        assert!(judge_cell(&c, "bob", &ok).failed());
        let own = cell(Principal::SelfManage, KeyAction::List, Whose::Own);
        assert!(!judge_cell(&own, "alice", &ok).failed());
        assert!(judge_cell(&own, "alice", &refused).failed());
        let wrong_status = answer(&req, 400, &error_body("AccessDenied", "Sender", "x"));
        assert!(judge_cell(&c, "bob", &wrong_status).failed());
    }

    #[test]
    fn a_refused_call_must_leave_the_listing_as_it_was() {
        let c = cell(Principal::NoPolicy, KeyAction::Delete, Whose::Own);
        let req = plan_cell(model(), &c, "alice", "AKIAVICTIM");
        let refused = answer(&req, 403, &error_body("AccessDenied", "Sender", "x"));
        let keys = |l: &[(&str, &str)]| -> Vec<(String, String)> {
            l.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let before = keys(&[("AKIASIGNER", "Active"), ("AKIAVICTIM", "Active")]);
        let same_other_order = keys(&[("AKIAVICTIM", "Active"), ("AKIASIGNER", "Active")]);
        let gone = keys(&[("AKIASIGNER", "Active")]);
        let inactive = keys(&[("AKIASIGNER", "Active"), ("AKIAVICTIM", "Inactive")]);
        let v = |after: &[(String, String)]| {
            judge_unchanged(&c, "alice", &refused, Some(&before), Some(after)).unwrap()
        };
        assert!(!v(&same_other_order).failed());
        assert!(v(&gone).failed());
        assert!(v(&inactive).failed());
        // No listing: unjudged, not passed.
        let u = judge_unchanged(&c, "alice", &refused, Some(&before), None).unwrap();
        assert!(matches!(u.judgement, super::super::Judgement::Unjudged(_)));
        // An allowed call, or a listing, is not this rule's business.
        let ok = answer(&req, 200, "<x/>");
        assert!(judge_unchanged(&c, "alice", &ok, Some(&before), Some(&gone)).is_none());
        let list = cell(Principal::NoPolicy, KeyAction::List, Whose::Own);
        assert!(judge_unchanged(&list, "alice", &refused, Some(&before), Some(&gone)).is_none());
    }

    #[test]
    fn refusals_are_worded_as_iam_words_them() {
        let implicit = cell(Principal::SelfManage, KeyAction::List, Whose::Other);
        let explicit = cell(Principal::AllowWithDeny, KeyAction::Create, Whose::Other);
        let req = plan_cell(model(), &implicit, "bob", "");
        let judge = |c: &Cell, message: &str| {
            let ex = answer(&req, 403, &error_body("AccessDenied", "Sender", message));
            !judge_wording(model(), c, "alice", "bob", &ex)
                .unwrap()
                .failed()
        };
        assert!(judge(&implicit, IMPLICIT));
        // A path in the signer's ARN, another partition's ARN.
        assert!(judge(
            &implicit,
            &IMPLICIT.replace("user/alice", "user/team/alice")
        ));
        // The older form ends after the resource.
        let older = IMPLICIT.split(" because").next().unwrap();
        assert!(judge(&implicit, older));
        let explicit_text = "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:CreateAccessKey on resource: user bob with an explicit deny in an identity-based policy";
        assert!(judge(&explicit, explicit_text));
        // The wrong kind of deny, an ARN as the resource, another signer, a rewording.
        assert!(!judge(&implicit, explicit_text));
        assert!(!judge(
            &explicit,
            &IMPLICIT.replace("ListAccessKeys", "CreateAccessKey")
        ));
        assert!(!judge(
            &implicit,
            &older.replace("user bob", "arn:aws:iam::123456789012:user/bob")
        ));
        assert!(!judge(
            &implicit,
            &IMPLICIT.replace("user/alice", "user/mallory")
        ));
        assert!(!judge(&implicit, "Access denied"));
        // Nothing to word when the call was not refused, or should not have been.
        let ok = answer(&req, 200, "<x/>");
        assert!(judge_wording(model(), &implicit, "alice", "bob", &ok).is_none());
        let allowed = cell(Principal::IamStar, KeyAction::List, Whose::Other);
        let refused = answer(&req, 403, &error_body("AccessDenied", "Sender", IMPLICIT));
        assert!(judge_wording(model(), &allowed, "alice", "bob", &refused).is_none());
    }

    #[test]
    fn malformed_documents_must_be_refused_and_not_stored() {
        let req = Request::new(model(), "PutUserPolicy", &[("UserName", "u")]);
        let refused = answer(
            &req,
            400,
            &error_body(
                "MalformedPolicyDocument",
                "Sender",
                "Syntax errors in policy.",
            ),
        );
        assert!(!judge_malformed("x", &refused, None).failed());
        let validation = answer(&req, 400, &error_body("ValidationError", "Sender", "x"));
        assert!(judge_malformed("x", &validation, None).failed());
        let ok = answer(
            &req,
            200,
            "<PutUserPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PutUserPolicyResponse>",
        );
        assert!(judge_malformed("x", &ok, None).failed());
        for (_, doc) in malformed_documents() {
            assert!(crate::emulator::policy::PolicyDocument::parse(doc).is_err());
        }
    }

    #[test]
    fn the_policy_lifecycle_reads_names_and_url_encoded_documents() {
        let get_req = Request::new(
            model(),
            "GetUserPolicy",
            &[("UserName", "u"), ("PolicyName", POLICY_NAME)],
        );
        let body = |doc: &str| {
            format!(
                "<GetUserPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserPolicyResult><UserName>u</UserName><PolicyName>{POLICY_NAME}</PolicyName><PolicyDocument>{doc}</PolicyDocument></GetUserPolicyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetUserPolicyResponse>"
            )
        };
        let encoded = percent_encoding::utf8_percent_encode(
            SELF_MANAGE_POLICY,
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let step = |doc: &str| {
            judge_policy_step(
                PolicyStep::GetReturnsIt,
                POLICY_NAME,
                SELF_MANAGE_POLICY,
                &answer(&get_req, 200, &body(doc)),
            )
        };
        assert!(!step(&encoded).failed());
        // Plain JSON (escaped for XML) is read too; another document is not the one put.
        assert!(!step(&SELF_MANAGE_POLICY.replace('"', "&quot;")).failed());
        assert!(step(&encoded.replace("ListAccessKeys", "ListUsers")).failed());
        let list_req = Request::new(model(), "ListUserPolicies", &[("UserName", "u")]);
        let list = |names: &str| {
            answer(
                &list_req,
                200,
                &format!(
                    "<ListUserPoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUserPoliciesResult><PolicyNames>{names}</PolicyNames><IsTruncated>false</IsTruncated></ListUserPoliciesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListUserPoliciesResponse>"
                ),
            )
        };
        let named = list(&format!("<member>{POLICY_NAME}</member>"));
        assert_eq!(listed_policies(&named), Some(vec![POLICY_NAME.to_owned()]));
        let judge = |s, ex: &Exchange| !judge_policy_step(s, POLICY_NAME, "", ex).failed();
        assert!(judge(PolicyStep::ListNamesIt, &named));
        assert!(!judge(PolicyStep::ListEmpty, &named));
        assert!(judge(PolicyStep::ListEmpty, &list("")));
        let del = Request::new(model(), "DeleteUser", &[("UserName", "u")]);
        let conflict = answer(
            &del,
            409,
            &error_body(
                "DeleteConflict",
                "Sender",
                "Cannot delete entity, must delete policies first.",
            ),
        );
        assert!(judge(PolicyStep::DeleteUserConflicts, &conflict));
        assert!(!judge(
            PolicyStep::DeleteUserConflicts,
            &answer(&del, 200, "<x/>")
        ));
    }
}

//! The capability probe's decisions: pure functions from the probe's exchanges to what the
//! target can do. The runner sends the probe's requests; this module decides.
//!
//! A capability is decided only from an answer that means something: a success that decodes,
//! or an error code that says "not supported" or "not allowed". Anything else (a success in the
//! wrong envelope, a 5xx, a refusal with the wrong status) is a deviation for the rules to
//! report (every probe exchange is judged like any other response), never a reason to skip
//! them: the probe then assumes the capability and lets the rules find out.
//!
//! Must not: send anything, or turn an answer it cannot read into a missing capability.

use super::exchange::Exchange;

/// What the probe concluded about one capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The target has it (a decoded success, or a refusal that shows it).
    Yes,
    /// The target does not have it; the text says which answer showed that.
    No(String),
    /// The answers do not decide it; the text says why. The run goes on as if the target had
    /// it, so the rules judge what it does.
    Undecided(String),
}

impl Decision {
    /// Whether the run may rely on the capability (`Undecided` counts: the rules judge).
    pub fn assumed(&self) -> bool {
        !matches!(self, Decision::No(_))
    }

    /// Why the target lacks the capability, when it does.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::No(why) => Some(why),
            _ => None,
        }
    }
}

/// Error codes that mean "this service does not do that": the query protocol's unknown action,
/// and what S3-style gateways, EC2 and JSON-protocol services say for the same.
const NOT_SUPPORTED: &[&str] = &[
    "InvalidAction",
    "NotImplemented",
    "UnsupportedOperation",
    "UnknownOperationException",
];

/// Whether an error code means "this service does not do that".
pub fn not_supported(code: Option<&str>) -> bool {
    code.is_some_and(|c| NOT_SUPPORTED.contains(&c))
}

/// Error codes that mean "you may not": a missing permission, or credentials the target does
/// not accept (the harness cannot tell a wrong key from a target that signs differently, so the
/// reason names both).
const NOT_ALLOWED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "NotAuthorized",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "UnrecognizedClientException",
    "InvalidSignatureException",
];

/// Error codes with which a service refuses a request for its authentication, whatever HTTP
/// status it gives them (a service that answers them with 400 still checks signatures).
const AUTH_REFUSALS: &[&str] = &[
    "MissingAuthenticationToken",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "AccessDenied",
    "AuthFailure",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationTokenException",
];

/// How an answer reads in a reason: `HTTP 403 AccessDenied`, `no response (...)`.
fn described(ex: &Exchange) -> String {
    match (ex.status(), ex.code(), &ex.transport_error) {
        (0, _, Some(e)) => format!("no response ({e})"),
        (s, Some(c), _) => format!("HTTP {s} {c}"),
        (s, None, _) => format!("HTTP {s}"),
    }
}

/// Whether the run can create users, from the probe's CreateUser of its fixture user.
pub fn can_create_users(created: &Exchange) -> Decision {
    if created.is_success() {
        return Decision::Yes;
    }
    let code = created.code().unwrap_or_default();
    if NOT_SUPPORTED.contains(&code) || created.status() == 501 && created.code().is_some() {
        return Decision::No(format!(
            "the target does not support CreateUser ({})",
            described(created)
        ));
    }
    if NOT_ALLOWED.contains(&code) {
        return Decision::No(format!(
            "the run's credentials may not create users there ({}: a permission or a key the \
             target does not accept)",
            described(created)
        ));
    }
    Decision::Undecided(format!(
        "CreateUser answered {} (neither a success that decodes nor a refusal meaning \"not \
         supported\" or \"not allowed\"); the rules that need users run and judge",
        described(created)
    ))
}

/// Whether the run can put inline user policies, from the probe's PutUserPolicy of the
/// self-manage policy on its fixture user. Decided like [`can_create_users`]: a success, or a
/// refusal meaning "not supported" or "not allowed"; anything else leaves the `authz.` rules to
/// run and judge.
pub fn can_put_user_policy(put: &Exchange) -> Decision {
    if put.is_success() {
        return Decision::Yes;
    }
    let code = put.code().unwrap_or_default();
    if NOT_SUPPORTED.contains(&code) || put.status() == 501 && put.code().is_some() {
        return Decision::No(format!(
            "the target does not support PutUserPolicy ({})",
            described(put)
        ));
    }
    if NOT_ALLOWED.contains(&code) {
        return Decision::No(format!(
            "the run's credentials may not put user policies there ({})",
            described(put)
        ));
    }
    Decision::Undecided(format!(
        "PutUserPolicy answered {} (neither a success nor a refusal meaning \"not supported\" \
         or \"not allowed\"); the rules that need policies run and judge",
        described(put)
    ))
}

/// Whether an answer refuses a request for its authentication: 401 or 403, or an
/// authentication error code under any status.
fn refused_auth(ex: &Exchange) -> bool {
    ex.status() == 401
        || ex.status() == 403
        || ex.code().is_some_and(|c| AUTH_REFUSALS.contains(&c))
}

/// Whether the target checks signatures, from an unsigned GetUser and (when that one did not
/// decide it) a GetUser with a corrupted signature. Only a decoded success to the corrupted
/// request shows that it does not: a wrong signature was accepted.
pub fn verifies_signatures(unsigned: &Exchange, corrupted: Option<&Exchange>) -> Decision {
    if refused_auth(unsigned) || corrupted.is_some_and(refused_auth) {
        return Decision::Yes;
    }
    match corrupted {
        Some(c) if c.is_success() => Decision::No(format!(
            "a GetUser with a corrupted signature succeeded ({})",
            described(c)
        )),
        Some(c) => Decision::Undecided(format!(
            "neither an unsigned GetUser ({}) nor one with a corrupted signature ({}) was \
             refused or accepted in a way that decides it",
            described(unsigned),
            described(c)
        )),
        None => Decision::Undecided(format!(
            "an unsigned GetUser answered {}",
            described(unsigned)
        )),
    }
}

/// Whom a run signs as, from a GetUser without `UserName` signed with the run's key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Caller {
    /// The account root: GetUser answered with no `UserName`, or with an ARN ending `:root`.
    Root {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arn: Option<String>,
    },
    /// An IAM user: GetUser answered with this `UserName` and a user's ARN.
    User { name: String },
    /// GetUser did not say (an error, or a success without a User); the text says what came.
    Unknown { reason: String },
}

impl Default for Caller {
    fn default() -> Caller {
        Caller::Unknown {
            reason: "not probed".into(),
        }
    }
}

impl Caller {
    /// Whether the run signs as the account root.
    pub fn is_root(&self) -> bool {
        matches!(self, Caller::Root { .. })
    }

    /// The caller in a few words, as every report prints it.
    pub fn describe(&self) -> String {
        match self {
            Caller::Root { arn: Some(arn) } => format!("account root ({arn})"),
            Caller::Root { arn: None } => "account root".into(),
            Caller::User { name } => format!("IAM user {name}"),
            Caller::Unknown { reason } => format!("an unknown caller ({reason})"),
        }
    }
}

/// Whom the run signs as, from its GetUser without `UserName`: the root when the answer's
/// User has no `UserName` or an ARN ending `:root` (an emulator may add a user name to the
/// root's ARN), an IAM user when it has a name and another ARN, unknown otherwise.
pub fn caller(who: &Exchange) -> Caller {
    let arn = who.str_at("/User/Arn").map(str::to_owned);
    let name = who.str_at("/User/UserName").map(str::to_owned);
    let id = who.str_at("/User/UserId");
    if !who.is_success() || (arn.is_none() && name.is_none() && id.is_none()) {
        return Caller::Unknown {
            reason: format!(
                "GetUser without UserName answered {}{}",
                described(who),
                if who.is_success() {
                    " without a User"
                } else {
                    ""
                }
            ),
        };
    }
    match (arn, name) {
        (Some(arn), _) if arn.ends_with(":root") => Caller::Root { arn: Some(arn) },
        (arn, None) => Caller::Root { arn },
        (_, Some(name)) => Caller::User { name },
    }
}

/// The IAM user the run signs as: the `UserName` of a GetUser without one, when that decodes.
pub fn signer_user(who: &Exchange) -> Option<String> {
    who.is_success()
        .then(|| who.str_at("/User/UserName").map(str::to_owned))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::rules::Request;
    use crate::contract::rules::testing::{answer, error_body, model};

    const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

    fn user_body(root: &str) -> String {
        format!(
            "<{root} xmlns=\"{NS}\"><CreateUserResult><User><Path>/</Path><UserName>f</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::1:user/f</Arn><CreateDate>2026-11-30T08:00:00Z</CreateDate></User></CreateUserResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{root}>"
        )
    }

    fn create_user(status: u16, body: &str) -> Exchange {
        answer(
            &Request::new(model(), "CreateUser", &[("UserName", "f")]),
            status,
            body,
        )
    }

    fn get_user(status: u16, body: &str) -> Exchange {
        answer(&Request::new(model(), "GetUser", &[]), status, body)
    }

    #[test]
    fn user_creation_is_decided_only_by_a_decoded_success_or_a_meaningful_refusal() {
        assert_eq!(
            can_create_users(&create_user(200, &user_body("CreateUserResponse"))),
            Decision::Yes
        );
        // A success in the wrong envelope is the output rules' finding, not a missing
        // capability: the rules that need users still run.
        let wrong_root = can_create_users(&create_user(200, &user_body("CreateUserResult")));
        assert!(
            matches!(wrong_root, Decision::Undecided(_)),
            "{wrong_root:?}"
        );
        assert!(wrong_root.assumed());
        for (status, code) in [
            (500, "ServiceFailure"),
            (400, "ValidationError"),
            (409, "EntityAlreadyExists"),
        ] {
            let d = can_create_users(&create_user(status, &error_body(code, "Sender", "x")));
            assert!(matches!(d, Decision::Undecided(_)), "{code}: {d:?}");
        }
        assert!(matches!(
            can_create_users(&create_user(502, "<html>bad gateway</html>")),
            Decision::Undecided(_)
        ));
        for (status, code) in [
            (400, "InvalidAction"),
            (501, "NotImplemented"),
            (501, "InternalFailure"),
            (403, "AccessDenied"),
            (403, "InvalidClientTokenId"),
        ] {
            let d = can_create_users(&create_user(status, &error_body(code, "Sender", "x")));
            assert!(!d.assumed(), "{code}: {d:?}");
            assert!(d.reason().unwrap().contains(code), "{d:?}");
        }
    }

    #[test]
    fn signature_checking_is_decided_by_codes_as_well_as_statuses() {
        let refused = |status, code| get_user(status, &error_body(code, "Sender", "x"));
        let ok = get_user(
            200,
            &user_body("GetUserResponse").replace("CreateUserResult", "GetUserResult"),
        );
        assert!(ok.is_success());
        assert_eq!(
            verifies_signatures(&refused(403, "MissingAuthenticationToken"), None),
            Decision::Yes
        );
        // Refused with the wrong status: it still checks signatures (the error rules report the
        // status), so the rules that need signature checking run.
        assert_eq!(
            verifies_signatures(&refused(400, "MissingAuthenticationToken"), None),
            Decision::Yes
        );
        assert_eq!(
            verifies_signatures(&ok, Some(&refused(400, "SignatureDoesNotMatch"))),
            Decision::Yes
        );
        // moto and SeaweedFS route an unsigned request elsewhere, and refuse a corrupted one.
        let s3 = get_user(
            200,
            "<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>",
        );
        assert_eq!(
            verifies_signatures(&s3, Some(&refused(403, "SignatureDoesNotMatch"))),
            Decision::Yes
        );
        // Only an accepted wrong signature says it does not.
        let d = verifies_signatures(&s3, Some(&ok));
        assert!(
            !d.assumed() && d.reason().unwrap().contains("corrupted"),
            "{d:?}"
        );
        // An answer that decides nothing: assumed, so the rules judge.
        for corrupted in [
            get_user(500, &error_body("ServiceFailure", "Receiver", "x")),
            s3.clone(),
        ] {
            let d = verifies_signatures(&s3, Some(&corrupted));
            assert!(matches!(d, Decision::Undecided(_)) && d.assumed(), "{d:?}");
        }
    }

    #[test]
    fn the_caller_is_the_root_without_a_user_name_or_with_a_root_arn() {
        let user = user_body("GetUserResponse").replace("CreateUserResult", "GetUserResult");
        assert_eq!(
            caller(&get_user(200, &user)),
            Caller::User { name: "f".into() }
        );
        let root_arn = user.replace("arn:aws:iam::1:user/f", "arn:aws:iam::1:root");
        assert_eq!(
            caller(&get_user(200, &root_arn)),
            Caller::Root {
                arn: Some("arn:aws:iam::1:root".into())
            }
        );
        // AWS's answer for the root: no UserName at all.
        let nameless = root_arn.replace("<UserName>f</UserName>", "");
        assert!(caller(&get_user(200, &nameless)).is_root());
        let no_arn = user
            .replace("<UserName>f</UserName>", "")
            .replace("<Arn>arn:aws:iam::1:user/f</Arn>", "");
        assert_eq!(caller(&get_user(200, &no_arn)), Caller::Root { arn: None });
        // An error, or a success that says nothing of a User, decides nothing.
        let denied = caller(&get_user(403, &error_body("AccessDenied", "Sender", "x")));
        assert!(
            matches!(&denied, Caller::Unknown { reason } if reason.contains("AccessDenied")),
            "{denied:?}"
        );
        let empty = "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetUserResponse>";
        assert!(matches!(
            caller(&get_user(200, empty)),
            Caller::Unknown { .. }
        ));
        assert_eq!(Caller::User { name: "a".into() }.describe(), "IAM user a");
    }

    #[test]
    fn user_policies_are_decided_only_by_a_success_or_a_meaningful_refusal() {
        let put = |status, body: &str| {
            answer(
                &Request::new(
                    model(),
                    "PutUserPolicy",
                    &[
                        ("UserName", "f"),
                        ("PolicyName", "p"),
                        ("PolicyDocument", "{}"),
                    ],
                ),
                status,
                body,
            )
        };
        let ok = format!(
            "<PutUserPolicyResponse xmlns=\"{NS}\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PutUserPolicyResponse>"
        );
        assert_eq!(can_put_user_policy(&put(200, &ok)), Decision::Yes);
        for (status, code) in [
            (400, "InvalidAction"),
            (501, "NotImplemented"),
            (403, "AccessDenied"),
        ] {
            let d = can_put_user_policy(&put(status, &error_body(code, "Sender", "x")));
            assert!(!d.assumed(), "{code}: {d:?}");
            assert!(d.reason().unwrap().contains(code), "{d:?}");
        }
        for (status, code) in [(500, "ServiceFailure"), (400, "MalformedPolicyDocument")] {
            let d = can_put_user_policy(&put(status, &error_body(code, "Sender", "x")));
            assert!(matches!(d, Decision::Undecided(_)), "{code}: {d:?}");
        }
    }

    #[test]
    fn the_signer_is_read_from_a_decoded_get_user_only() {
        let body = user_body("GetUserResponse").replace("CreateUserResult", "GetUserResult");
        assert_eq!(signer_user(&get_user(200, &body)).as_deref(), Some("f"));
        let wrong = body.replace("GetUserResponse", "GetUserResult");
        assert_eq!(signer_user(&get_user(200, &wrong)), None);
        assert_eq!(
            signer_user(&get_user(403, &error_body("AccessDenied", "Sender", "x"))),
            None
        );
    }
}

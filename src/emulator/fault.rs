//! Fault injection: the named ways the emulator can be told to break on purpose.
//!
//! Each fault breaks exactly one contract rule (or a small family of them) so that the contract
//! suite can prove every rule fails when it should. Names are stable: the suite, `serve --fault`
//! and the README refer to them. This module only names and parses faults; the handler and the
//! store apply them.

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident = $name:literal : $desc:literal ),* $(,)?) => {
        /// One deliberate deviation from the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault { $($variant),* }

        impl Fault {
            const ALL: &'static [Fault] = &[$(Fault::$variant),*];

            /// Every fault, in declaration order.
            pub fn all() -> &'static [Fault] {
                Self::ALL
            }

            /// The stable kebab-case name (`serve --fault NAME`).
            pub fn name(self) -> &'static str {
                match self { $(Fault::$variant => $name),* }
            }

            /// A one-line description of what the fault breaks.
            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $desc),* }
            }
        }
    };
}

faults! {
    AcceptNonAsciiNames = "accept-non-ascii-names": "UserName pattern check uses Unicode \\w, so non-ASCII letters pass",
    SkipLengthChecks = "skip-length-checks": "no minimum or maximum length validation",
    SkipPatternCheck = "skip-pattern-check": "no regular-expression pattern validation",
    ValidationAfterLookup = "validation-after-lookup": "existence is checked before validation: an invalid name that does not exist gives 404 NoSuchEntity",
    NoKeyQuota = "no-key-quota": "no limit on access keys per user",
    LowercaseStatus = "lowercase-status": "Status is \"active\" in CreateAccessKey and ListAccessKeys output",
    ShortKeyId = "short-key-id": "access key IDs are 12 characters long",
    NonAkiaKeyId = "non-akia-key-id": "access key IDs start with AKIB",
    ShortSecret = "short-secret": "secret access keys are 20 characters long",
    DropRequestId = "drop-request-id": "no RequestId in bodies and no x-amzn-RequestId header",
    WrongNamespace = "wrong-namespace": "responses use a wrong XML namespace",
    WrongErrorStatus = "wrong-error-status": "every error is returned with HTTP 400",
    ErrorTypeReceiver = "error-type-receiver": "sender errors carry Type Receiver",
    SecretInList = "secret-in-list": "ListAccessKeys includes each key's SecretAccessKey",
    SkipAuth = "skip-auth": "no authentication: unsigned requests act as the bootstrap user",
    AcceptWrongSignature = "accept-wrong-signature": "signatures are not checked (the key must still exist)",
    InactiveKeysAuthenticate = "inactive-keys-authenticate": "Inactive keys can still sign requests",
    ReuseKeyIds = "reuse-key-ids": "key IDs repeat: a deleted key's ID is handed out again",
    RawXml = "raw-xml": "values are written into XML without escaping (e.g. the InvalidAction message), so & and < make ill-formed XML",
    EchoWrongUsername = "echo-wrong-username": "the CreateAccessKey response's UserName is lowercased",
    Random500 = "random-500": "about 1 request in 3 answers 500 ServiceFailure (deterministic from the RNG)",
    Slow = "slow": "every response is delayed by 50 ms",
    CaseSensitiveNames = "case-sensitive-names": "user names are unique case-sensitively",
    DeleteUserWithKeys = "delete-user-with-keys": "DeleteUser succeeds while keys exist and removes them",
    ImplicitUserBootstrap = "implicit-user-bootstrap": "no UserName always means the bootstrap user, whoever signs",
    CreateDateChangesOnUpdate = "create-date-changes-on-update": "UpdateAccessKey moves the key's CreateDate a day forward",
    BadCreateDate = "bad-create-date": "CreateDate is written as epoch seconds, not ISO 8601",
    RaceQuota = "race-quota": "the key quota check and the insert are not atomic, so concurrent creates can exceed the quota",
    UnknownAction500 = "unknown-action-500": "an unknown Action answers 500 instead of 400 InvalidAction",
    AnyMethodMutates = "any-method-mutates": "methods other than GET and POST (PUT, DELETE, PATCH) are handled like POST",
    SkewAccepted = "skew-accepted": "no clock-skew check on signed requests",
    WrongScopeAccepted = "wrong-scope-accepted": "the service and region of the credential scope are not checked",
    CrossUserAccess = "cross-user-access": "any authenticated user may manage any user's access keys",
    VersionIgnored = "version-ignored": "the Version parameter is not checked",
    RewordedErrors = "reworded-errors": "error messages are reworded (e.g. \"User nobody not found\")",
    NoErrorEnvelope = "no-error-envelope": "errors keep their status but the body is the plain text \"error\"",
    StaleLastUsed = "stale-last-used": "GetAccessKeyLastUsed reports a LastUsedDate for a key that was never used",
    SecretReuse = "secret-reuse": "every new key gets the same secret as the previous key",
    UserNameMax64 = "user-name-max-64": "CreateAccessKey validates UserName against the user-name limit (64) instead of existingUserNameType (128)",
    MissingActionAccepted = "missing-action-accepted": "a request without Action answers HTTP 200",
    GetUnsupported = "get-unsupported": "GET requests are refused with 405, so the query-string form does not work",
    DuplicateParamsAlternate = "duplicate-params-alternate": "for a repeated parameter, the first and the last occurrence win on alternate requests",
    InvalidUtf8500 = "invalid-utf8-500": "a parameter that is not UTF-8 after percent-decoding answers 500 instead of 400",
    PlusLiteral = "plus-literal": "a raw + in a form body or query string stays a plus instead of decoding to a space",
    WrongSuccessRoot = "wrong-success-root": "a successful CreateUser answer's root element is <CreateUserResult> instead of <CreateUserResponse>",
    SkewRequestExpired = "skew-request-expired": "a request dated more than 15 minutes off gets 400 RequestExpired \"Request has expired.\" (EC2's answer) instead of IAM's 403 SignatureDoesNotMatch",
    ThrottleDeletes = "throttle-deletes": "the first DeleteUser or DeleteAccessKey of each user or key is answered 400 Throttling and does nothing; asking again goes through (breaks no rule: proves the harness retries, cleanup included)",
    ListKeepsDeletedKeys = "list-keeps-deleted-keys": "ListAccessKeys still lists a user's deleted keys, with the status they had",
    AccessDeniedException = "access-denied-exception": "AccessDenied is spelled AccessDeniedException, as the JSON protocols spell it (fakecloud's --iam strict does)",
    RootGetUserNamed = "root-get-user-named": "GetUser signed by the account root answers with UserName root (beside the root's ARN)",
    RootKeysRefused = "root-keys-refused": "CreateAccessKey without UserName signed by the account root gets 400 ValidationError, as for credentials that belong to no user",
    RootKeysUnusable = "root-keys-unusable": "access keys the account root creates do not authenticate (403 InvalidClientTokenId); the root's first key still does",
    RootListEmpty = "root-list-empty": "ListAccessKeys without UserName signed by the account root lists no keys",
    RootUpdateIgnored = "root-update-ignored": "UpdateAccessKey without UserName signed by the account root answers 200 and changes nothing",
    RootDeleteIgnored = "root-delete-ignored": "DeleteAccessKey without UserName signed by the account root answers 200 and deletes nothing",
    RootNoKeyQuota = "root-no-key-quota": "no limit on the account root's access keys",
    DenyNotWinning = "deny-not-winning": "an Allow in a user policy wins over an explicit Deny",
    IgnoreNotAction = "ignore-not-action": "NotAction in a user policy is read as Action",
    NoUsernameVariable = "no-username-variable": "${aws:username} in a policy's Resource stays literal text instead of the caller's name",
    ImplicitAllow = "implicit-allow": "a request that no policy statement matches is allowed instead of implicitly denied",
    CaseSensitiveActions = "case-sensitive-actions": "policy actions match case-sensitively (iam:createaccesskey does not match iam:CreateAccessKey)",
    DeniedCallStillActs = "denied-call-still-acts": "a call refused with AccessDenied still does what it asked (creates, updates or deletes the key)",
    AccessDeniedArnResource = "access-denied-arn-resource": "AccessDenied names its resource as an ARN and says nothing of implicit or explicit deny (the emulator's wording before IAM's own)",
    DeleteUserWithPolicies = "delete-user-with-policies": "DeleteUser succeeds while inline policies exist and removes them",
    NoUserPolicies = "no-user-policies": "PutUserPolicy, GetUserPolicy, ListUserPolicies and DeleteUserPolicy are unknown actions (400 InvalidAction), as on a target without inline policies (breaks no rule: proves the authz. rules that need policies are skipped with the reason)",
    AcceptMalformedPolicy = "accept-malformed-policy": "PutUserPolicy stores a malformed policy document (as one that allows nothing) instead of 400 MalformedPolicyDocument",
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`Fault::all`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {name:?} (--list-faults lists them)")]
pub struct UnknownFault {
    pub name: String,
}

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::all()
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault { name: s.to_owned() })
    }
}

/// A set of faults as a bit set, so that the hot path tests membership without hashing (128
/// bits: room for every fault, with space to grow).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSet(u128);

impl FaultSet {
    pub fn contains(&self, f: Fault) -> bool {
        self.0 & (1u128 << f as u32) != 0
    }

    pub fn insert(&mut self, f: Fault) {
        self.0 |= 1u128 << f as u32;
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The faults in the set, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        Fault::all().iter().copied().filter(|f| self.contains(*f))
    }
}

impl FromIterator<Fault> for FaultSet {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        let mut s = FaultSet::default();
        for f in iter {
            s.insert(f);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_fit_the_bit_set() {
        assert!(Fault::all().len() <= 128);
        for f in Fault::all() {
            assert_eq!(f.name().parse::<Fault>(), Ok(*f));
            assert!(!f.description().is_empty());
            let s: FaultSet = [*f].into_iter().collect();
            assert_eq!(s.iter().collect::<Vec<_>>(), vec![*f]);
        }
        assert!("no-such-fault".parse::<Fault>().is_err());
    }
}

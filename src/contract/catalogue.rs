//! The rule catalogue: stable ids, titles, sources, profiles, and the emulator faults that break
//! each rule.
//!
//! Input-validation rules are derived from the model: one per constraint of each string member
//! of the operation's input, so a constraint added to `spec/` gets a rule without code. The rest
//! are the behaviours that the model and the facts file describe.

use super::{Profile, Rule, RuleClass, Source};
use crate::model::{Model, ShapeKind};

/// The operation under contract.
pub const OPERATION: &str = "CreateAccessKey";

/// Stable ids of the fixed rules, as constants so that a typo is a compile error.
#[allow(missing_docs)]
pub struct RuleId;

#[allow(missing_docs)]
impl RuleId {
    pub const INPUT_GENERATED_INVALID: &'static str = "input.generated-invalid";
    pub const INPUT_VALIDATION_MESSAGE: &'static str = "input.validation-message";
    pub const ACCEPT_GENERATED_NAMES: &'static str = "accept.generated-names";
    pub const ACCEPT_PUNCTUATION: &'static str = "accept.allowed-punctuation";
    pub const ACCEPT_LONG_EXISTING_NAME: &'static str = "accept.existing-user-name-range";
    pub const OUTPUT_WELL_FORMED: &'static str = "output.well-formed";
    pub const OUTPUT_ENVELOPE: &'static str = "output.envelope";
    pub const OUTPUT_REQUEST_ID: &'static str = "output.request-id";
    pub const OUTPUT_SCHEMA: &'static str = "output.schema";
    pub const OUTPUT_STATUS_ACTIVE: &'static str = "output.status-active";
    pub const OUTPUT_USER_NAME_ECHO: &'static str = "output.user-name-echo";
    pub const OUTPUT_CREATE_DATE: &'static str = "output.create-date-recent";
    pub const OUTPUT_SECRET_UNIQUE: &'static str = "output.secret-unique";
    pub const OUTPUT_AWS_KEY_ID: &'static str = "output.aws-key-id-format";
    pub const OUTPUT_AWS_SECRET: &'static str = "output.aws-secret-format";
    pub const ERROR_NO_SUCH_ENTITY: &'static str = "error.no-such-entity";
    pub const ERROR_LIMIT_EXCEEDED: &'static str = "error.limit-exceeded";
    pub const ERROR_ENVELOPE: &'static str = "error.envelope";
    pub const ERROR_MESSAGE_LOOSE: &'static str = "error.message-names-subject";
    pub const ERROR_MESSAGE_EXACT: &'static str = "error.message-exact";
    pub const LIFE_QUOTA: &'static str = "lifecycle.quota-counts-inactive";
    pub const LIFE_LIST: &'static str = "lifecycle.list-matches-model";
    pub const LIFE_SECRET_ONCE: &'static str = "lifecycle.secret-only-at-creation";
    pub const LIFE_UNIQUE_IDS: &'static str = "lifecycle.ids-unique-and-never-reused";
    pub const LIFE_IMPLICIT_USER: &'static str = "lifecycle.implicit-user-is-signer";
    pub const LIFE_FOLD_CASE: &'static str = "lifecycle.user-names-fold-case";
    pub const LIFE_DELETE_CONFLICT: &'static str = "lifecycle.delete-user-with-keys-conflicts";
    pub const LIFE_KEY_AUTH: &'static str = "lifecycle.key-status-governs-auth";
    pub const LIFE_CREATE_DATE_STABLE: &'static str = "lifecycle.create-date-stable";
    pub const AUTH_UNSIGNED: &'static str = "auth.unsigned-refused";
    pub const AUTH_BAD_SIGNATURE: &'static str = "auth.bad-signature-refused";
    pub const AUTH_UNKNOWN_KEY: &'static str = "auth.unknown-key-refused";
    pub const AUTH_CLOCK_SKEW: &'static str = "auth.clock-skew-refused";
    pub const AUTH_WRONG_SCOPE: &'static str = "auth.wrong-scope-refused";
    pub const AUTH_CROSS_USER: &'static str = "auth.cross-user-denied";
    pub const PROTO_UNKNOWN_ACTION: &'static str = "protocol.unknown-action";
    pub const PROTO_MISSING_ACTION: &'static str = "protocol.missing-action";
    pub const PROTO_BAD_VERSION: &'static str = "protocol.bad-version";
    pub const PROTO_OTHER_METHODS: &'static str = "protocol.other-methods-change-nothing";
    pub const PROTO_GET_QUERY: &'static str = "protocol.get-query-string";
    pub const PROTO_DUPLICATE_PARAMS: &'static str = "protocol.duplicate-params-deterministic";
    pub const PROTO_PLUS_ENCODING: &'static str = "protocol.plus-encoding";
    pub const PROTO_INVALID_UTF8: &'static str = "protocol.invalid-utf8-refused";
    pub const PROTO_NO_SERVER_ERRORS: &'static str = "protocol.no-server-errors";
    pub const CONC_QUOTA: &'static str = "concurrency.quota-holds";
    pub const CONC_UNIQUE_IDS: &'static str = "concurrency.ids-unique";
}

/// The id of the derived rule for one constraint kind of one input member
/// (`input.user-name.length-max`).
pub fn constraint_rule_id(member: &str, kind: &str) -> String {
    format!("input.{}.{kind}", kebab(member))
}

/// `UserName` → `user-name`.
pub fn kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Kinds of derived constraint rules, and the suffix used in their ids.
pub const PATTERN_ASCII_WORD: &str = "pattern-ascii-word";

/// The whole catalogue, in report order.
pub fn catalogue(model: &Model) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut add = |id: &str,
                   class: RuleClass,
                   source: Source,
                   profile: Profile,
                   title: &str,
                   checks: &str,
                   faults: &[&'static str]| {
        rules.push(Rule {
            id: id.to_owned(),
            title: title.to_owned(),
            class,
            source,
            profile,
            checks: checks.to_owned(),
            breaking_faults: faults.to_vec(),
        });
    };
    use RuleClass::*;

    // Input validation, derived from the model.
    let input = model
        .operation(OPERATION)
        .and_then(|o| o.input.clone())
        .unwrap_or_default();
    for (member, shape, _) in model.members(&input) {
        let ShapeKind::String(c) = &shape.kind else {
            continue;
        };
        let m = &member.name;
        if let Some(min) = c.min {
            add(
                &constraint_rule_id(m, "length-min"),
                InputValidation,
                Source::Model,
                Profile::Model,
                &format!("{m} shorter than {min} is refused with 400 ValidationError"),
                &format!(
                    "{m} values below the model's minimum length ({min}) get 400 ValidationError, before any existence check."
                ),
                &["validation-after-lookup"],
            );
        }
        if let Some(max) = c.max {
            add(
                &constraint_rule_id(m, "length-max"),
                InputValidation,
                Source::Model,
                Profile::Model,
                &format!("{m} longer than {max} is refused with 400 ValidationError"),
                &format!(
                    "{m} values of {} characters and more (up to 8x the limit) get 400 ValidationError, not 404, 200 or 5xx.",
                    max + 1
                ),
                &["skip-length-checks", "validation-after-lookup"],
            );
        }
        if let Some(p) = &c.pattern {
            add(
                &constraint_rule_id(m, "pattern"),
                InputValidation,
                Source::Model,
                Profile::Model,
                &format!(
                    "{m} outside {} is refused with 400 ValidationError",
                    p.source()
                ),
                &format!(
                    "{m} values containing separators, markup, percent signs or control characters (NUL included) get 400 ValidationError."
                ),
                &["skip-pattern-check", "validation-after-lookup"],
            );
            add(
                &constraint_rule_id(m, PATTERN_ASCII_WORD),
                InputValidation,
                Source::Model,
                Profile::Model,
                &format!("{m}: \\w in {} is ASCII", p.source()),
                &format!(
                    "{m} values with letters or digits outside ASCII that a Unicode \\w accepts (é, ユ, fullwidth 0, Kelvin sign) get 400 ValidationError."
                ),
                &["accept-non-ascii-names", "skip-pattern-check"],
            );
        }
        if !c.enum_values.is_empty() {
            add(
                &constraint_rule_id(m, "enum"),
                InputValidation,
                Source::Model,
                Profile::Model,
                &format!("{m} outside its enum is refused"),
                &format!(
                    "{m} values outside {:?} get 400 ValidationError.",
                    c.enum_values
                ),
                &[],
            );
        }
    }
    add(
        RuleId::INPUT_GENERATED_INVALID,
        InputValidation,
        Source::Model,
        Profile::Model,
        "Generated invalid names are refused with 400 ValidationError",
        "Property-generated values that break the model's constraints (spliced-in bad characters, excess length) get 400 ValidationError; the first failure is shrunk to a minimal case.",
        &["skip-pattern-check", "accept-non-ascii-names"],
    );
    add(
        RuleId::INPUT_VALIDATION_MESSAGE,
        InputValidation,
        Source::Recorded,
        Profile::Aws,
        "ValidationError messages are worded as IAM words them",
        "The message is exactly `N validation error(s) detected: Value at 'userName' failed to satisfy constraint: ...`, violations joined with '; '.",
        &["reworded-errors"],
    );

    add(
        RuleId::ACCEPT_GENERATED_NAMES,
        PositiveAcceptance,
        Source::Model,
        Profile::Model,
        "Names generated from the ASCII pattern (1..64) get keys",
        "Users named by property-generated values of the pattern (lengths up to 64, the userNameType limit) can be created and get a key for exactly that name.",
        &["echo-wrong-username"],
    );
    add(
        RuleId::ACCEPT_PUNCTUATION,
        PositiveAcceptance,
        Source::Docs,
        Profile::Model,
        "Each of _+=,.@- is accepted in a user name",
        "A user whose name contains each allowed punctuation character gets a key whose UserName is that name.",
        &["echo-wrong-username"],
    );
    add(
        RuleId::ACCEPT_LONG_EXISTING_NAME,
        PositiveAcceptance,
        Source::Model,
        Profile::Model,
        "Names of 65..128 characters pass validation and give NoSuchEntity",
        "CreateAccessKey takes existingUserNameType (max 128) but users are at most 64, so a valid 65..128 character name gets 404 NoSuchEntity, not 400.",
        &["user-name-max-64"],
    );

    add(
        RuleId::OUTPUT_WELL_FORMED,
        OutputShape,
        Source::Model,
        Profile::Model,
        "Every response is well-formed XML",
        "Every response body, success or error, to valid or hostile input, is UTF-8 and well-formed XML.",
        &["raw-xml", "no-error-envelope"],
    );
    add(
        RuleId::OUTPUT_ENVELOPE,
        OutputShape,
        Source::Model,
        Profile::Model,
        "Success responses use the awsQuery envelope",
        "Root CreateAccessKeyResponse in the IAM namespace, with CreateAccessKeyResult inside.",
        &["wrong-namespace"],
    );
    add(
        RuleId::OUTPUT_REQUEST_ID,
        OutputShape,
        Source::Model,
        Profile::Model,
        "Every response carries a RequestId",
        "ResponseMetadata/RequestId in success bodies, RequestId in error bodies.",
        &["drop-request-id"],
    );
    add(
        RuleId::OUTPUT_SCHEMA,
        OutputShape,
        Source::Model,
        Profile::Model,
        "Success bodies validate against the output schema",
        "The decoded AccessKey validates against the JSON Schema derived from the model (required members, lengths, patterns, Status enum, CreateDate a date-time).",
        &["lowercase-status", "short-key-id", "bad-create-date"],
    );
    add(
        RuleId::OUTPUT_STATUS_ACTIVE,
        OutputShape,
        Source::Docs,
        Profile::Model,
        "A new key is Active",
        "Status of a newly created key is exactly `Active`.",
        &["lowercase-status"],
    );
    add(
        RuleId::OUTPUT_USER_NAME_ECHO,
        OutputShape,
        Source::Model,
        Profile::Model,
        "The key belongs to the user named in the request",
        "AccessKey.UserName equals the request's UserName, case included.",
        &["echo-wrong-username"],
    );
    add(
        RuleId::OUTPUT_CREATE_DATE,
        OutputShape,
        Source::Docs,
        Profile::Model,
        "CreateDate is ISO 8601 and close to now",
        "CreateDate parses as an ISO 8601 date-time within the clock-skew allowance of the harness's clock.",
        &["bad-create-date"],
    );
    add(
        RuleId::OUTPUT_SECRET_UNIQUE,
        OutputShape,
        Source::Docs,
        Profile::Model,
        "Every key gets a fresh secret",
        "No two keys created in the run share a SecretAccessKey (compared without printing them).",
        &["secret-reuse"],
    );
    add(
        RuleId::OUTPUT_AWS_KEY_ID,
        OutputShape,
        Source::Recorded,
        Profile::Aws,
        "Access key IDs look like AWS's (AKIA + 16)",
        "AccessKeyId is 20 characters starting AKIA, as real AWS issues them.",
        &["non-akia-key-id", "short-key-id"],
    );
    add(
        RuleId::OUTPUT_AWS_SECRET,
        OutputShape,
        Source::Recorded,
        Profile::Aws,
        "Secrets look like AWS's (40 of [A-Za-z0-9+/])",
        "SecretAccessKey is 40 characters of [A-Za-z0-9+/], as real AWS issues them.",
        &["short-secret"],
    );

    add(
        RuleId::ERROR_NO_SUCH_ENTITY,
        ErrorContract,
        Source::Model,
        Profile::Model,
        "A missing user is 404 NoSuchEntity (Sender)",
        "CreateAccessKey for a valid name that no user has gets HTTP 404, Code NoSuchEntity, Type Sender.",
        &["wrong-error-status", "error-type-receiver"],
    );
    add(
        RuleId::ERROR_LIMIT_EXCEEDED,
        ErrorContract,
        Source::Recorded,
        Profile::Model,
        "The third key is 409 LimitExceeded (Sender)",
        "With 2 keys (one Inactive), a third CreateAccessKey gets HTTP 409, Code LimitExceeded, Type Sender, and creates nothing.",
        &["no-key-quota", "wrong-error-status"],
    );
    add(
        RuleId::ERROR_ENVELOPE,
        ErrorContract,
        Source::Model,
        Profile::Model,
        "Errors use the documented envelope and status",
        "Every error is ErrorResponse/Error{Type,Code,Message} + RequestId, with the HTTP status and Type the model or docs give for its code.",
        &[
            "no-error-envelope",
            "wrong-error-status",
            "error-type-receiver",
            "access-denied-exception",
        ],
    );
    add(
        RuleId::ERROR_MESSAGE_LOOSE,
        ErrorContract,
        Source::Recorded,
        Profile::Model,
        "Error messages name their subject",
        "The NoSuchEntity message names the missing user; every error has a non-empty message.",
        &["no-error-envelope"],
    );
    add(
        RuleId::ERROR_MESSAGE_EXACT,
        ErrorContract,
        Source::Recorded,
        Profile::Aws,
        "Error messages are worded exactly as AWS words them",
        "NoSuchEntity and LimitExceeded messages equal AWS's recorded wording.",
        &["reworded-errors"],
    );

    add(
        RuleId::LIFE_QUOTA,
        Lifecycle,
        Source::Recorded,
        Profile::Model,
        "At most 2 keys per user, Inactive keys counted",
        "In random sequences of user and key operations, CreateAccessKey succeeds exactly when the user holds fewer than 2 keys of any status.",
        &["no-key-quota"],
    );
    add(
        RuleId::LIFE_LIST,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "ListAccessKeys agrees with the reference model",
        "Listed keys are exactly the keys created and not deleted, with the status last set.",
        &["lowercase-status"],
    );
    add(
        RuleId::LIFE_SECRET_ONCE,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "The secret is returned at creation only",
        "No ListAccessKeys or GetAccessKeyLastUsed response contains a SecretAccessKey member or any secret issued in the run.",
        &["secret-in-list"],
    );
    add(
        RuleId::LIFE_UNIQUE_IDS,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "Key IDs are unique and deleted keys never come back",
        "No key ID is issued twice, and a deleted key is never listed again.",
        &["reuse-key-ids"],
    );
    add(
        RuleId::LIFE_IMPLICIT_USER,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "Without UserName, the key goes to the signing user",
        "CreateAccessKey without UserName, signed with a user's own key, creates a key for that user.",
        &["implicit-user-bootstrap"],
    );
    add(
        RuleId::LIFE_FOLD_CASE,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "User names are unique case-insensitively",
        "Creating a user whose name differs from an existing one only in case gets 409 EntityAlreadyExists.",
        &["case-sensitive-names"],
    );
    add(
        RuleId::LIFE_DELETE_CONFLICT,
        Lifecycle,
        Source::Recorded,
        Profile::Model,
        "A user with keys cannot be deleted",
        "DeleteUser while the user holds keys gets 409 DeleteConflict and deletes nothing.",
        &["delete-user-with-keys"],
    );
    add(
        RuleId::LIFE_KEY_AUTH,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "A new key authenticates at once; Inactive and deleted keys do not",
        "Requests signed with an Active key succeed; with an Inactive or deleted key they get 403 InvalidClientTokenId.",
        &["inactive-keys-authenticate"],
    );
    add(
        RuleId::LIFE_CREATE_DATE_STABLE,
        Lifecycle,
        Source::Docs,
        Profile::Model,
        "UpdateAccessKey leaves CreateDate alone",
        "A key's CreateDate in ListAccessKeys is the one CreateAccessKey returned, whatever its status changes.",
        &["create-date-changes-on-update"],
    );

    add(
        RuleId::AUTH_UNSIGNED,
        Auth,
        Source::Docs,
        Profile::Model,
        "Unsigned requests are refused and change nothing",
        "An unsigned CreateAccessKey gets 403 MissingAuthenticationToken and creates no key.",
        &["skip-auth"],
    );
    add(
        RuleId::AUTH_BAD_SIGNATURE,
        Auth,
        Source::Docs,
        Profile::Model,
        "Wrong signatures are refused and change nothing",
        "A CreateAccessKey signed with the wrong secret, or with a corrupted signature, gets 403 SignatureDoesNotMatch and creates no key.",
        &["accept-wrong-signature", "skip-auth"],
    );
    add(
        RuleId::AUTH_UNKNOWN_KEY,
        Auth,
        Source::Docs,
        Profile::Model,
        "Unknown access keys are refused",
        "A request signed with an access key ID the service never issued gets 403 InvalidClientTokenId and creates no key.",
        &["skip-auth"],
    );
    add(
        RuleId::AUTH_CLOCK_SKEW,
        Auth,
        Source::Docs,
        Profile::Model,
        "Requests signed 20 minutes off are refused",
        "A request whose signing time is 20 minutes from now (either way) is refused with a 4xx and creates no key.",
        &["skew-accepted"],
    );
    add(
        RuleId::AUTH_WRONG_SCOPE,
        Auth,
        Source::Docs,
        Profile::Model,
        "Signatures scoped to another service or region are refused",
        "A request signed for service s3, or for a region other than us-east-1, gets 403 SignatureDoesNotMatch and creates no key.",
        &["wrong-scope-accepted"],
    );
    add(
        RuleId::AUTH_CROSS_USER,
        Auth,
        Source::Recorded,
        Profile::Model,
        "A user cannot create keys for another user",
        "A user without IAM permissions who asks for a key for another user gets 403 AccessDenied and creates nothing.",
        &["cross-user-access"],
    );

    add(
        RuleId::PROTO_UNKNOWN_ACTION,
        Protocol,
        Source::Docs,
        Profile::Model,
        "Unknown actions are 400 InvalidAction",
        "An Action the service does not have gets 400 InvalidAction (a 4xx at the least, never 5xx).",
        &["unknown-action-500"],
    );
    add(
        RuleId::PROTO_MISSING_ACTION,
        Protocol,
        Source::Docs,
        Profile::Model,
        "A request without Action is refused with 4xx",
        "A signed POST with no Action parameter gets a 4xx (MissingAction), never 2xx or 5xx.",
        &["missing-action-accepted"],
    );
    add(
        RuleId::PROTO_BAD_VERSION,
        Protocol,
        Source::Docs,
        Profile::Model,
        "A wrong Version is refused with 4xx",
        "CreateAccessKey with Version other than 2010-05-08 gets a 4xx and creates no key.",
        &["version-ignored"],
    );
    add(
        RuleId::PROTO_OTHER_METHODS,
        Protocol,
        Source::Docs,
        Profile::Model,
        "Methods other than GET and POST change nothing",
        "CreateAccessKey sent as PUT, DELETE or PATCH creates no key (checked by listing afterwards).",
        &["any-method-mutates"],
    );
    add(
        RuleId::PROTO_GET_QUERY,
        Protocol,
        Source::Model,
        Profile::Model,
        "GET with a query string works like POST",
        "CreateAccessKey as a signed GET with the parameters in the query string creates a key.",
        &["get-unsupported"],
    );
    add(
        RuleId::PROTO_DUPLICATE_PARAMS,
        Protocol,
        Source::Model,
        Profile::Model,
        "Duplicate parameters are handled deterministically",
        "A request naming UserName twice (an invalid value and a missing user) gets the same answer every time, and never a 5xx.",
        &["duplicate-params-alternate"],
    );
    add(
        RuleId::PROTO_PLUS_ENCODING,
        Protocol,
        Source::Docs,
        Profile::Model,
        "%2B is a plus, a raw + is a space",
        "UserName=a%2Bb names user a+b (key created, echoed with +); UserName=a+b names 'a b', which is invalid (400).",
        &["plus-literal"],
    );
    add(
        RuleId::PROTO_INVALID_UTF8,
        Protocol,
        Source::Model,
        Profile::Model,
        "Invalid UTF-8 in a parameter is refused with 4xx",
        "UserName percent-encoding bytes that are not UTF-8 gets a 4xx with a well-formed body, never 2xx or 5xx.",
        &["invalid-utf8-500"],
    );
    add(
        RuleId::PROTO_NO_SERVER_ERRORS,
        Protocol,
        Source::Model,
        Profile::Model,
        "No request of the run gets a 5xx",
        "Every response of the run, to valid or hostile input, has a status below 500.",
        &["random-500", "unknown-action-500"],
    );

    add(
        RuleId::CONC_QUOTA,
        Concurrency,
        Source::Recorded,
        Profile::Model,
        "Parallel creates never exceed the quota",
        "Of many parallel CreateAccessKey calls for one fresh user, at most 2 succeed, and the rest get LimitExceeded.",
        &["race-quota", "no-key-quota"],
    );
    add(
        RuleId::CONC_UNIQUE_IDS,
        Concurrency,
        Source::Docs,
        Profile::Model,
        "Parallel creates across users never repeat an ID",
        "Keys created in parallel for several users all have distinct AccessKeyIds, none of them issued earlier in the run.",
        &["reuse-key-ids"],
    );
    rules
}

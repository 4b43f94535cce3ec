//! The model: loader errors (file, JSON path, problem), compatibility with a real botocore
//! `service-2.json`, AWS pattern semantics, JSON Schema derivation and CLI skeletons.

use iam_contract::model::{
    Constraint, EMBEDDED_FACTS_JSON, EMBEDDED_SERVICE_JSON, Model, ShapeKind, input_skeleton,
    json_schema, sample_output, validate_input,
};
use serde_json::{Value, json};

const SERVICE_FILE: &str = "spec/iam-2010-05-08.json";
const FACTS_FILE: &str = "spec/facts.json";

/// Loads the embedded service model after `edit` changed it, and returns the loader's error
/// message (the test fails if the edited model loads).
fn service_error(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(EMBEDDED_SERVICE_JSON).unwrap();
    edit(&mut v);
    let text = serde_json::to_string_pretty(&v).unwrap();
    match Model::from_json(SERVICE_FILE, &text, FACTS_FILE, EMBEDDED_FACTS_JSON) {
        Ok(_) => panic!("the edited model loaded"),
        Err(e) => e.to_string(),
    }
}

fn facts_error(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(EMBEDDED_FACTS_JSON).unwrap();
    edit(&mut v);
    let text = serde_json::to_string_pretty(&v).unwrap();
    match Model::from_json(SERVICE_FILE, EMBEDDED_SERVICE_JSON, FACTS_FILE, &text) {
        Ok(_) => panic!("the edited facts loaded"),
        Err(e) => e.to_string(),
    }
}

/// Asserts that `message` names the file, the JSON path and the problem.
fn check(message: &str, file: &str, path: &str, problem: &str) {
    assert!(message.starts_with(file), "no file in {message:?}");
    assert!(message.contains(path), "no path {path:?} in {message:?}");
    assert!(
        message.contains(problem),
        "no problem {problem:?} in {message:?}"
    );
}

#[test]
fn the_embedded_model_loads() {
    let m = Model::embedded();
    assert_eq!(m.metadata().protocol, "query");
    assert!(m.operation("CreateAccessKey").is_some());
}

#[test]
fn loader_names_a_missing_shape_reference() {
    let msg = service_error(|v| {
        v["shapes"]["CreateAccessKeyRequest"]["members"]["UserName"]["shape"] = json!("noSuchType")
    });
    check(
        &msg,
        SERVICE_FILE,
        "$.shapes.CreateAccessKeyRequest.members.UserName.shape",
        "unknown shape \"noSuchType\"",
    );
    let msg =
        service_error(|v| v["operations"]["CreateAccessKey"]["output"]["shape"] = json!("Nothing"));
    check(
        &msg,
        SERVICE_FILE,
        "$.operations.CreateAccessKey.output.shape",
        "unknown shape",
    );
}

#[test]
fn loader_names_a_bad_regex() {
    let msg =
        service_error(|v| v["shapes"]["existingUserNameType"]["pattern"] = json!("[\\w+=,.@-+"));
    check(
        &msg,
        SERVICE_FILE,
        "$.shapes.existingUserNameType.pattern",
        "does not compile",
    );
}

#[test]
fn loader_names_min_greater_than_max() {
    let msg = service_error(|v| v["shapes"]["existingUserNameType"]["min"] = json!(200));
    check(
        &msg,
        SERVICE_FILE,
        "$.shapes.existingUserNameType.min",
        "min (200) is greater than max (128)",
    );
}

#[test]
fn loader_names_an_unknown_type() {
    let msg = service_error(|v| v["shapes"]["existingUserNameType"]["type"] = json!("strin"));
    check(
        &msg,
        SERVICE_FILE,
        "$.shapes.existingUserNameType.type",
        "unknown shape type \"strin\"",
    );
}

#[test]
fn loader_names_bad_json_with_line_and_column() {
    let err = Model::from_json(SERVICE_FILE, "{\n  \"metadata\": ,\n}", FACTS_FILE, "{}")
        .unwrap_err()
        .to_string();
    check(&err, SERVICE_FILE, "line 2", "not valid JSON");
    let err = Model::from_json(SERVICE_FILE, EMBEDDED_SERVICE_JSON, FACTS_FILE, "[")
        .unwrap_err()
        .to_string();
    check(&err, FACTS_FILE, "line 1", "not valid JSON");
}

#[test]
fn loader_names_a_fact_with_a_bad_source() {
    let msg = facts_error(|v| v["behaviour"][0]["source"] = json!("rumour"));
    check(
        &msg,
        FACTS_FILE,
        "$.behaviour[0].source",
        "\"rumour\" is not one of model, docs, recorded",
    );
    let msg = facts_error(|v| v["errors"][0]["source"] = json!("blog"));
    check(&msg, FACTS_FILE, "$.errors[0].source", "\"blog\"");
}

#[test]
fn loader_names_a_fact_of_the_wrong_type() {
    let msg = facts_error(|v| v["limits"]["access_keys_per_user"]["value"] = json!("two"));
    check(
        &msg,
        FACTS_FILE,
        "$.limits.access_keys_per_user.value",
        "invalid type",
    );
}

/// Every problem the service loader detects, each with the exact message: the file, the JSON
/// path of the first problem in document order (metadata, shapes, references, operations) and
/// what is wrong there.
#[test]
fn loader_names_each_problem_exactly() {
    type Edit = fn(&mut Value);
    let cases: &[(Edit, &str)] = &[
        (|v| *v = json!([]), "$: the document must be a JSON object"),
        (
            |v| v["metadata"] = json!(1),
            "$.metadata: missing or not an object",
        ),
        (
            |v| v["metadata"]["protocol"] = json!(1),
            "$.metadata.protocol: missing or not a string",
        ),
        (
            |v| {
                v["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("endpointPrefix");
            },
            "$.metadata.endpointPrefix: missing or not a string",
        ),
        (
            // Both broken: the metadata comes first.
            |v| {
                v["metadata"]["apiVersion"] = json!(null);
                v["shapes"] = json!(null);
            },
            "$.metadata.apiVersion: missing or not a string",
        ),
        (
            |v| v["shapes"] = json!([]),
            "$.shapes: missing or not an object",
        ),
        (
            |v| v["shapes"]["stringType"] = json!(1),
            "$.shapes.stringType: a shape must be a JSON object",
        ),
        (
            |v| v["shapes"]["stringType"] = json!({}),
            "$.shapes.stringType.type: missing or not a string",
        ),
        (
            |v| v["shapes"]["User"]["members"] = json!([]),
            "$.shapes.User.members: not an object",
        ),
        (
            |v| v["shapes"]["User"]["members"]["Path"] = json!({}),
            "$.shapes.User.members.Path.shape: missing or not a string",
        ),
        (
            |v| v["shapes"]["CreateUserRequest"]["required"] = json!("UserName"),
            "$.shapes.CreateUserRequest.required: not an array",
        ),
        (
            |v| v["shapes"]["CreateUserRequest"]["required"] = json!([1]),
            "$.shapes.CreateUserRequest.required: must list strings",
        ),
        (
            |v| v["shapes"]["CreateUserRequest"]["required"] = json!(["Nobody"]),
            "$.shapes.CreateUserRequest.required: required member \"Nobody\" is not a member",
        ),
        (
            |v| v["shapes"]["userNameType"]["min"] = json!(-1),
            "$.shapes.userNameType.min: must be a non-negative integer",
        ),
        (
            |v| v["shapes"]["userNameType"]["pattern"] = json!(1),
            "$.shapes.userNameType.pattern: not a string",
        ),
        (
            |v| v["shapes"]["statusType"]["enum"] = json!("Active"),
            "$.shapes.statusType.enum: not an array",
        ),
        (
            |v| v["shapes"]["statusType"]["enum"] = json!(["Active", 1]),
            "$.shapes.statusType.enum: must list strings",
        ),
        (
            |v| v["shapes"]["maxItemsType"]["max"] = json!("many"),
            "$.shapes.maxItemsType.max: must be an integer",
        ),
        (
            |v| v["shapes"]["maxItemsType"]["min"] = json!(5000),
            "$.shapes.maxItemsType.min: min (5000) is greater than max (1000)",
        ),
        (
            |v| v["shapes"]["blobType"] = json!({"type": "blob", "min": 3, "max": 2}),
            "$.shapes.blobType.min: min (3) is greater than max (2)",
        ),
        (
            |v| v["shapes"]["userListType"]["max"] = json!(1.5),
            "$.shapes.userListType.max: must be a non-negative integer",
        ),
        (
            |v| v["shapes"]["userListType"]["member"] = json!({}),
            "$.shapes.userListType.member.shape: missing or not a string",
        ),
        (
            |v| v["shapes"]["userListType"]["member"]["shape"] = json!("Nobody"),
            "$.shapes.userListType.member.shape: refers to unknown shape \"Nobody\"",
        ),
        (
            |v| v["shapes"]["mapType"] = json!({"type": "map", "key": {"shape": "stringType"}}),
            "$.shapes.mapType.value.shape: missing or not a string",
        ),
        (
            |v| {
                v["shapes"]["mapType"] = json!({"type": "map", "key": {"shape": "stringType"},
                    "value": {"shape": "Nobody"}})
            },
            "$.shapes.mapType.value.shape: refers to unknown shape \"Nobody\"",
        ),
        (
            |v| v["shapes"]["NoSuchEntityException"]["error"]["httpStatusCode"] = json!(700),
            "$.shapes.NoSuchEntityException.error.httpStatusCode: missing or not an HTTP status",
        ),
        (
            |v| v["operations"] = json!(null),
            "$.operations: missing or not an object",
        ),
        (
            |v| v["operations"]["CreateUser"]["input"] = json!({}),
            "$.operations.CreateUser.input.shape: missing or not a string",
        ),
        (
            |v| v["operations"]["CreateUser"]["errors"] = json!({}),
            "$.operations.CreateUser.errors: not an array",
        ),
        (
            |v| v["operations"]["CreateUser"]["errors"][0] = json!({}),
            "$.operations.CreateUser.errors[0].shape: missing or not a string",
        ),
        (
            |v| v["operations"]["CreateUser"]["errors"][0]["shape"] = json!("Nobody"),
            "$.operations.CreateUser.errors[0].shape: refers to unknown shape \"Nobody\"",
        ),
        (
            |v| v["operations"]["CreateUser"]["errors"][0]["shape"] = json!("stringType"),
            "$.operations.CreateUser.errors[0].shape: shape \"stringType\" is not an error shape",
        ),
    ];
    for (edit, expected) in cases {
        assert_eq!(
            service_error(edit),
            format!("{SERVICE_FILE}: at {expected}")
        );
    }
}

/// What the loader fills in when the model leaves it out: the signing name (the endpoint
/// prefix), an error code (the shape name less `Exception`), an operation's name (its key),
/// and an error shape known only by botocore's `exception` flag.
#[test]
fn loader_fills_in_what_the_model_leaves_out() {
    let mut v: Value = serde_json::from_str(EMBEDDED_SERVICE_JSON).unwrap();
    v["metadata"].as_object_mut().unwrap().remove("signingName");
    v["metadata"]["endpointPrefix"] = json!("iam-prefix");
    v["shapes"]["NoSuchEntityException"]["error"]
        .as_object_mut()
        .unwrap()
        .remove("code");
    v["operations"]["CreateUser"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    v["shapes"]["FlaggedException"] = json!({"type": "structure", "exception": true});
    v["operations"]["CreateUser"]["errors"] = json!([{"shape": "FlaggedException"}]);
    let m =
        Model::from_service_json(SERVICE_FILE, &v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.metadata().signing_name, "iam-prefix");
    let (shape, info) = m
        .error_by_code("NoSuchEntity")
        .expect("the code is derived");
    assert_eq!(shape.name, "NoSuchEntityException");
    assert_eq!((info.http_status, info.sender_fault), (404, true));
    let op = m.operation("CreateUser").unwrap();
    assert_eq!(op.name, "CreateUser");
    assert_eq!(op.errors, ["FlaggedException"]);
    assert!(m.shape("FlaggedException").unwrap().error.is_none());
}

fn real_botocore_json() -> String {
    use std::io::Read;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/botocore-iam-service-2.json.gz"
    );
    let gz = std::fs::read(path).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn a_real_botocore_iam_model_loads() {
    let real = Model::from_service_json("botocore-iam-service-2.json", &real_botocore_json())
        .unwrap_or_else(|e| panic!("{e}"));
    // Every operation and shape of the real model, not just the subset the crate ships.
    assert!(
        real.operations().count() > 150,
        "{}",
        real.operations().count()
    );
    let embedded = Model::embedded();
    // The shipped subset agrees with botocore on everything CreateAccessKey touches.
    for name in [
        "CreateAccessKeyRequest",
        "CreateAccessKeyResponse",
        "AccessKey",
        "existingUserNameType",
        "userNameType",
        "accessKeyIdType",
        "accessKeySecretType",
        "statusType",
        "dateType",
    ] {
        assert_eq!(
            real.shape(name).map(|s| &s.kind),
            embedded.shape(name).map(|s| &s.kind),
            "shape {name} differs from botocore"
        );
        assert_eq!(
            real.shape(name).map(|s| s.sensitive),
            embedded.shape(name).map(|s| s.sensitive),
            "shape {name}'s sensitivity differs from botocore"
        );
    }
    let op = |m: &Model| m.operation("CreateAccessKey").cloned().unwrap();
    assert_eq!(op(&real), op(embedded));
    // The inline-policy operations and their shapes are botocore's, constraints included.
    for name in [
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "DeleteUserPolicy",
    ] {
        assert_eq!(real.operation(name), embedded.operation(name), "{name}");
    }
    for name in [
        "PutUserPolicyRequest",
        "GetUserPolicyRequest",
        "GetUserPolicyResponse",
        "ListUserPoliciesRequest",
        "ListUserPoliciesResponse",
        "DeleteUserPolicyRequest",
        "policyNameType",
        "policyDocumentType",
        "policyNameListType",
        "MalformedPolicyDocumentException",
    ] {
        assert!(embedded.shape(name).is_some(), "{name} missing");
        assert_eq!(
            real.shape(name).map(|s| &s.kind),
            embedded.shape(name).map(|s| &s.kind),
            "shape {name} differs from botocore"
        );
    }
    assert_eq!(
        real.metadata().xml_namespace,
        embedded.metadata().xml_namespace
    );
}

#[test]
fn every_real_pattern_compiles_and_schemas_derive() {
    let real = Model::from_service_json("botocore-iam-service-2.json", &real_botocore_json())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut patterns = 0;
    for shape in real.shapes() {
        if let ShapeKind::String(s) = &shape.kind
            && s.pattern.is_some()
        {
            patterns += 1;
        }
        // Every derived schema is itself a valid draft 2020-12 schema.
        let schema = json_schema(&real, &shape.name);
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema of {}: {e}", shape.name));
    }
    assert!(patterns > 50, "{patterns}");
}

fn user_name_matches(value: &str) -> bool {
    let m = Model::embedded();
    let s = m
        .input_string("CreateAccessKey", "UserName")
        .expect("UserName is a string member");
    s.pattern
        .as_ref()
        .expect("UserName has a pattern")
        .is_match(value)
}

/// botocore's policy document pattern `[\u0009\u000A\u000D\u0020-\u00FF]+` is a Java class
/// of UTF-16 code units: tab, LF, CR and U+0020..U+00FF (Latin-1), nothing else; the policy
/// name's `[\w+=,.@-]+` is ASCII like the user name's.
#[test]
fn policy_patterns_follow_aws_semantics() {
    let m = Model::embedded();
    let doc = m
        .input_string("PutUserPolicy", "PolicyDocument")
        .and_then(|s| s.pattern.clone())
        .expect("PolicyDocument has a pattern");
    assert_eq!(doc.source(), "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    for ok in [
        "{}",
        "\t\n\r",
        " ~",
        "\u{7f}",
        "\u{a0}é\u{ff}",
        "{\"Version\":\"2012-10-17\"}",
    ] {
        assert!(doc.is_match(ok), "{ok:?} should match");
    }
    for bad in [
        "",
        "\u{0}",
        "\u{8}",
        "\u{b}",
        "\u{1f}",
        "\u{100}",
        "ā",
        "ユ",
        "😀",
        "{}\u{2028}",
    ] {
        assert!(!doc.is_match(bad), "{bad:?} should not match");
    }
    let name = m
        .input_string("PutUserPolicy", "PolicyName")
        .and_then(|s| s.pattern.clone())
        .expect("PolicyName has a pattern");
    assert!(name.is_match("Self_Manage+=,.@-1"));
    for bad in ["é", "a b", "\u{212a}", "０", "a/b"] {
        assert!(!name.is_match(bad), "{bad:?}");
    }
    let len = m.input_string("PutUserPolicy", "PolicyDocument").unwrap();
    assert_eq!((len.min, len.max), (Some(1), Some(131_072)));
}

#[test]
fn patterns_use_ascii_word_characters() {
    // Characters Rust's Unicode `\w` would accept and AWS (Java, ASCII `\w`) rejects.
    for bad in [
        "é", "ユ", "０", "\u{212A}", "userä", "a b", "a/b", "", "a\nb",
    ] {
        assert!(!user_name_matches(bad), "{bad:?} must be rejected");
    }
    for good in [
        "_",
        "+",
        "=",
        ",",
        ".",
        "@",
        "-",
        "Alice_+=,.@-9",
        "a",
        "Z0",
    ] {
        assert!(user_name_matches(good), "{good:?} must be accepted");
    }
}

#[test]
fn user_name_lengths_at_the_boundaries() {
    let m = Model::embedded();
    let kinds = |n: usize| -> Vec<&'static str> {
        validate_input(m, "CreateAccessKey", &json!({ "UserName": "a".repeat(n) }))
            .iter()
            .map(|v| v.constraint.kind())
            .collect()
    };
    // The empty name also misses the `+` of the pattern; IAM reports both.
    assert_eq!(kinds(0), ["length-min", "pattern"]);
    assert!(kinds(1).is_empty());
    assert!(kinds(64).is_empty());
    assert!(kinds(128).is_empty());
    assert_eq!(kinds(129), ["length-max"]);
    // Characters, not bytes: 128 two-byte characters would still be too many for the pattern,
    // but not for the length.
    let v = validate_input(
        m,
        "CreateAccessKey",
        &json!({ "UserName": "é".repeat(128) }),
    );
    assert!(
        v.iter()
            .all(|v| !matches!(v.constraint, Constraint::LengthMax { .. }))
    );
    // userNameType (users themselves) stops at 64.
    let s = m.string_member("AccessKey", "UserName").unwrap();
    assert_eq!((s.min, s.max), (Some(1), Some(64)));
}

fn validator(shape: &str) -> jsonschema::Validator {
    let schema = json_schema(Model::embedded(), shape);
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn valid_response() -> Value {
    json!({
        "AccessKey": {
            "UserName": "alice",
            "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "Status": "Active",
            "SecretAccessKey": iam_contract::client::EXAMPLE_SECRET_ACCESS_KEY,
            "CreateDate": "2015-03-09T18:39:23.411Z"
        }
    })
}

#[test]
fn output_schema_accepts_a_valid_response() {
    let v = validator("CreateAccessKeyResponse");
    let errors: Vec<String> = v
        .iter_errors(&valid_response())
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn output_schema_asserts_date_time_format() {
    let v = validator("CreateAccessKeyResponse");
    for bad in ["yesterday", "2015-03-09", "2015-13-09T18:39:23Z", ""] {
        let mut r = valid_response();
        r["AccessKey"]["CreateDate"] = json!(bad);
        assert!(!v.is_valid(&r), "CreateDate {bad:?} must fail");
    }
}

#[test]
fn output_schema_rejects_missing_required_and_broken_constraints() {
    let v = validator("CreateAccessKeyResponse");
    for member in ["UserName", "AccessKeyId", "Status", "SecretAccessKey"] {
        let mut r = valid_response();
        r["AccessKey"].as_object_mut().unwrap().remove(member);
        assert!(!v.is_valid(&r), "missing {member} must fail");
    }
    // CreateDate is optional.
    let mut r = valid_response();
    r["AccessKey"].as_object_mut().unwrap().remove("CreateDate");
    assert!(v.is_valid(&r));
    for (member, bad) in [
        ("Status", json!("Enabled")),
        ("AccessKeyId", json!("AKIA")),
        ("UserName", json!("é")),
        ("UserName", json!("a".repeat(65))),
        ("UserName", json!(5)),
    ] {
        let mut r = valid_response();
        r["AccessKey"][member] = bad.clone();
        assert!(!v.is_valid(&r), "{member} = {bad} must fail");
    }
    let mut r = valid_response();
    r["AccessKey"]["Extra"] = json!("x");
    assert!(!v.is_valid(&r), "unknown members must fail");
    assert!(!v.is_valid(&json!({})));
}

#[test]
fn input_schema_follows_aws_patterns() {
    let v = validator("CreateAccessKeyRequest");
    assert!(v.is_valid(&json!({})));
    assert!(v.is_valid(&json!({"UserName": "a+b=c,d.e@f-g_h"})));
    for bad in ["é", "ユ", "０", "\u{212A}", "", "a b"] {
        assert!(!v.is_valid(&json!({ "UserName": bad })), "{bad:?}");
    }
    assert!(!v.is_valid(&json!({"UserName": "a".repeat(129)})));
}

#[test]
fn the_sensitive_member_is_marked_in_the_schema() {
    let schema = json_schema(Model::embedded(), "CreateAccessKeyResponse");
    assert_eq!(
        schema["properties"]["AccessKey"]["properties"]["SecretAccessKey"]["x-aws-sensitive"],
        json!(true)
    );
}

#[test]
fn input_skeleton_is_the_aws_cli_s() {
    assert_eq!(
        input_skeleton(Model::embedded(), "CreateAccessKey"),
        "{\n    \"UserName\": \"\"\n}\n"
    );
}

#[test]
fn sample_output_validates_and_echoes_the_user() {
    let m = Model::embedded();
    let v = validator("CreateAccessKeyResponse");
    for input in [
        json!({}),
        json!({"UserName": "alice"}),
        json!({"UserName": "a".repeat(100)}),
    ] {
        let sample = sample_output(m, "CreateAccessKey", &input);
        let errors: Vec<String> = v.iter_errors(&sample).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{input}: {errors:?}");
    }
    let sample = sample_output(m, "CreateAccessKey", &json!({"UserName": "alice"}));
    assert_eq!(sample["AccessKey"]["UserName"], json!("alice"));
    // Member order is the model's, which is the order the AWS CLI prints.
    let keys: Vec<&String> = sample["AccessKey"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "UserName",
            "AccessKeyId",
            "Status",
            "SecretAccessKey",
            "CreateDate"
        ]
    );
}

/// The account root's facts: each names its source and where it was seen; what AWS leaves open
/// (a root key's AccessKey.UserName) is marked undocumented, and only that one.
#[test]
fn the_root_caller_facts_name_their_sources_and_the_unknown() {
    let facts = Model::embedded().facts();
    for id in [
        "root-arn",
        "root-get-user",
        "root-access-keys",
        "root-key-quota",
        "root-key-user-name",
    ] {
        let f = facts
            .behaviour(id)
            .unwrap_or_else(|| panic!("no fact {id}"));
        assert!(["docs", "recorded"].contains(&f.source.as_str()), "{id}");
        assert_eq!(f.undocumented, id == "root-key-user-name", "{id}");
        assert!(
            f.reference.is_some() || f.undocumented,
            "{id}: no reference"
        );
    }
    let unknown = facts.behaviour("root-key-user-name").unwrap();
    assert!(unknown.statement.contains("not documented"));
    let msg = facts_error(|v| v["behaviour"][0]["undocumented"] = json!("yes"));
    check(
        &msg,
        FACTS_FILE,
        "$.behaviour[0].undocumented",
        "invalid type",
    );
}

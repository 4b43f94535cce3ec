//! Fuzz targets as plain library functions: `fuzz/fuzz_targets/NAME.rs` is a one-line wrapper
//! around `NAME(data)`, and `tests/it/fuzz_replay.rs` feeds every committed seed and minimised
//! crash through the same functions ([`TARGETS`]), so `cargo test` catches regressions without
//! cargo-fuzz.
//!
//! Each function takes arbitrary bytes, must never panic on its own account, and panics on
//! purpose when a property fails, so that libFuzzer keeps and minimises the input. Panic
//! messages name the rule, the request and a response excerpt, and are scrubbed of every secret
//! the target knows (the bootstrap secret, every secret an endpoint handed out).
//!
//! The folder: this file holds the table of targets and the three byte-level targets
//! (`form_decode`, `xml_response`, `cli_input`); `grammar` turns bytes into structured
//! requests ([`Session`], via [`arbitrary`]: valid values mixed with near misses) and builds
//! them; `oracle` holds the response rules both request targets judge by; `embedded` runs
//! `emulator_request` and `endpoint` against an in-process emulator; `live` sends `endpoint`'s
//! requests to a real endpoint on a loopback address.
//!
//! Must not: depend on the `net` feature (the fuzz package builds the library without it),
//! read files, print, or open a connection to anything but a loopback address. The live mode
//! sends with `ureq`, a small blocking client, rather than the `net` feature's reqwest: reqwest,
//! tokio and rustls would triple the fuzz build and put an async runtime under every execution.

mod embedded;
mod grammar;
mod live;
mod oracle;

pub use embedded::{emulator_request, endpoint_embedded};
pub use grammar::{
    ActionChoice, ContentType, Encoding, FuzzRequest, HeaderChoice, HeaderName, KeyChoice,
    MaxItems, Method, NameChoice, ParamChoice, PathChoice, Placed, Session, SigningChoice,
    StatusChoice, VersionChoice,
};
pub use live::{ACCESS_KEY_VAR, ENDPOINT_VAR, SECRET_KEY_VAR, endpoint};

use crate::cli_input::{InputError, prepare_input};
use crate::contract::judge::{judge, output_failures, schema_failure};
use crate::model::{Model, ShapeKind};
use crate::secret::REDACTED;
use crate::wire::{decode_form, encode_form, encode_success, params_from_input};
use serde_json::{Map, Value};

/// The operation under test.
const OPERATION: &str = "CreateAccessKey";

/// Every target by name, as `tests/it/fuzz_replay.rs` replays them. `endpoint` maps to
/// [`endpoint_embedded`] so that replay never depends on an environment variable.
pub const TARGETS: &[(&str, Target)] = &[
    ("form_decode", form_decode),
    ("xml_response", xml_response),
    ("cli_input", cli_input),
    ("emulator_request", emulator_request),
    ("endpoint", endpoint_embedded),
    ("policy_document", policy_document),
];

/// A fuzz target: arbitrary bytes in, a panic on a violated property.
pub type Target = fn(&[u8]);

/// The replay function of a target directory name under `fuzz/seeds/` or `fuzz/regressions/`.
pub fn replay_target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

// ---------------------------------------------------------------------------------------------
// policy_document

/// Arbitrary bytes as an identity-based policy document through the emulator's parser and
/// evaluator. Properties: no panic; a document either parses or is refused with a message; a
/// parsed one gives the same decision alone and split from nothing (evaluation is pure), and
/// next to a policy that denies everything it is an explicit deny for every request, whatever
/// it allows (an explicit Deny wins).
pub fn policy_document(data: &[u8]) {
    use crate::emulator::policy::{Context, Decision, PolicyDocument, Quirks, evaluate};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = match PolicyDocument::parse(text) {
        Ok(d) => d,
        Err(e) => {
            assert!(
                !e.0.is_empty(),
                "policy_document: a refusal without a message"
            );
            return;
        }
    };
    let deny_all = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#,
    )
    .expect("a valid document");
    for (action, resource) in [
        (
            "iam:CreateAccessKey",
            "arn:aws:iam::123456789012:user/alice",
        ),
        ("iam:ListAccessKeys", "arn:aws:iam::123456789012:user/bob"),
        ("s3:GetObject", "arn:aws:s3:::bucket/key"),
    ] {
        let cx = Context {
            action,
            resource,
            username: "alice",
        };
        let once = evaluate([&doc], &cx, Quirks::default());
        assert_eq!(
            once,
            evaluate([&doc], &cx, Quirks::default()),
            "policy_document: evaluation is not deterministic"
        );
        assert_eq!(
            evaluate([&doc, &deny_all], &cx, Quirks::default()),
            Decision::ExplicitDeny,
            "policy_document: a Deny of everything did not win over {once:?} for {action}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// form_decode

/// Arbitrary bytes through the awsQuery form decoder. Properties: no panic; whatever decodes
/// agrees with the `url` crate's `application/x-www-form-urlencoded` parser (an independent
/// implementation of the same rules), re-encodes with [`encode_form`] to a body that decodes to
/// the same parameters, and that encoding is canonical (encoding again gives the same bytes).
pub fn form_decode(data: &[u8]) {
    let Ok(params) = decode_form(data) else {
        return;
    };
    let reference: Vec<(String, String)> = url::form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        params == reference,
        "form_decode: decode_form disagrees with the url crate's form parser ({} vs {} pairs)",
        params.len(),
        reference.len()
    );
    let encoded = encode_form(&params);
    let again = decode_form(encoded.as_bytes())
        .unwrap_or_else(|e| panic!("form_decode: the re-encoded form does not decode: {e}"));
    assert!(
        again == params,
        "form_decode: the re-encoded form decodes to different parameters"
    );
    assert!(
        encode_form(&again) == encoded,
        "form_decode: encode_form is not canonical"
    );
}

// ---------------------------------------------------------------------------------------------
// xml_response

/// Arbitrary bytes as a CreateAccessKey response body through the decoder and the output
/// judge. Properties: no panic; the excerpt a finding would quote never contains a secret the
/// body carried; a body the judge accepts (2xx success, no output failure) validates against
/// the output schema, and survives the emulator's encoder: encoding the accepted value again
/// gives a body that is accepted too and decodes to the same value.
pub fn xml_response(data: &[u8]) {
    let model = Model::embedded();
    let j = judge(model, OPERATION, 200, data, &[]);
    let failures = output_failures(model, &j);
    let quoted = j.observed.excerpt.replace(REDACTED, "\u{0}");
    for (_, s) in &j.decoded.secrets {
        assert!(
            !s.appears_in(&quoted),
            "xml_response: the judged excerpt quotes a secret the body carried"
        );
    }
    if !(j.is_success() && failures.is_empty()) {
        return;
    }
    let Some(value) = j.decoded.revealed_value() else {
        panic!("xml_response: an accepted success has no value");
    };
    if let Some(reason) = schema_failure(model, "CreateAccessKeyResponse", &value) {
        panic!("xml_response: an accepted body violates the output schema: {reason}");
    }
    let body = encode_success(
        model,
        OPERATION,
        &value,
        j.decoded.request_id().unwrap_or("r"),
    );
    let again = judge(model, OPERATION, 200, body.as_bytes(), &[]);
    let again_failures = output_failures(model, &again);
    assert!(
        again_failures.is_empty(),
        "xml_response: the re-encoded accepted value is not accepted: {:?}",
        again_failures
    );
    assert!(
        again.decoded.revealed_value().as_ref() == Some(&value),
        "xml_response: the re-encoded accepted value decodes differently"
    );
}

// ---------------------------------------------------------------------------------------------
// cli_input

/// Arbitrary JSON through `--cli-input-json` parsing, option merging and client-side
/// validation. The first byte holds flags: bit 0 passes the JSON as `file://fuzz.json` (read
/// through the reader the CLI would pass), bit 1 takes a `--user-name` option from the text
/// after the last NUL. Properties: no panic (messages included); an `InvalidJson` error means
/// serde_json rejects the text too; anything accepted is a JSON object whose members the input
/// shape knows, whose string members are strings of at least their minimum length, whose
/// option wins over the JSON, and whose awsQuery form round-trips through the form codec.
pub fn cli_input(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let model = Model::embedded();
    let text = String::from_utf8_lossy(rest);
    let (json_text, option) = match (flags & 2 != 0, text.rsplit_once('\u{0}')) {
        (true, Some((j, o))) => (j, Some(o)),
        _ => (&*text, None),
    };
    let from_file = flags & 1 != 0;
    let arg = if from_file {
        "file://fuzz.json"
    } else {
        json_text
    };
    let read = |p: &str| {
        if from_file && p == "fuzz.json" {
            Ok(json_text.to_owned())
        } else {
            Err(format!("no such file: {p}"))
        }
    };
    let mut options = Map::new();
    if let Some(o) = option {
        options.insert("UserName".into(), Value::String(o.to_owned()));
    }
    let input = match prepare_input(model, OPERATION, Some(arg), options, &read) {
        Ok(input) => input,
        Err(e) => {
            let _ = (e.to_string(), e.aws_message());
            match &e {
                InputError::InvalidJson { .. } => assert!(
                    serde_json::from_str::<Value>(json_text).is_err(),
                    "cli_input: InvalidJson for text serde_json accepts"
                ),
                InputError::ReadFile { .. } => assert!(
                    !from_file,
                    "cli_input: the file reader was not used for file://fuzz.json"
                ),
                InputError::Validation { violations } => assert!(
                    !violations.is_empty(),
                    "cli_input: a validation error without violations"
                ),
            }
            return;
        }
    };
    let Value::Object(obj) = &input else {
        panic!("cli_input: accepted input is not a JSON object");
    };
    let shape = model
        .operation(OPERATION)
        .and_then(|o| o.input.clone())
        .unwrap_or_default();
    let members = model.members(&shape);
    for (k, v) in obj {
        let Some((_, s, _)) = members.iter().find(|(m, _, _)| &m.name == k) else {
            panic!("cli_input: accepted input has an unknown member {k:?}");
        };
        if let ShapeKind::String(c) = &s.kind {
            let Some(text) = v.as_str() else {
                panic!("cli_input: accepted member {k} is not a string");
            };
            let min = c.min.unwrap_or(0) as usize;
            assert!(
                text.chars().count() >= min,
                "cli_input: accepted member {k} is shorter than its minimum {min}"
            );
        }
    }
    for (m, _, required) in &members {
        assert!(
            !required || obj.contains_key(&m.name),
            "cli_input: accepted input lacks required member {}",
            m.name
        );
    }
    if let Some(o) = option {
        assert!(
            obj.get("UserName").and_then(Value::as_str) == Some(o),
            "cli_input: the --user-name option did not win over the JSON"
        );
    }
    let params = params_from_input(model, OPERATION, &input);
    let decoded = decode_form(encode_form(&params).as_bytes())
        .unwrap_or_else(|e| panic!("cli_input: the request form does not decode: {e}"));
    assert!(
        decoded == params,
        "cli_input: the request form does not round-trip"
    );
}

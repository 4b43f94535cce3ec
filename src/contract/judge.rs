//! Pure judges: what a response says, and whether it is what a rule expects.
//!
//! Every function here takes bytes and returns data; none panics on any input, so the fuzz
//! target `xml_response` can drive [`judge_create_access_key`] directly.

use super::Observed;
use crate::model::Model;
use crate::secret::{Secret, SecretScanner};
use crate::wire::{Decoded, Outcome, WireProblem, decode_response};
use serde_json::Value;

/// How many bytes of a body a finding quotes.
pub const EXCERPT_BYTES: usize = 600;

/// A response, decoded and summarised.
#[derive(Debug, Clone)]
pub struct Judged {
    pub status: u16,
    pub decoded: Decoded,
    pub observed: Observed,
}

impl Judged {
    pub fn code(&self) -> Option<&str> {
        self.observed.code.as_deref()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) && matches!(self.decoded.outcome, Outcome::Success { .. })
    }

    /// The decoded success value, secrets redacted.
    pub fn value(&self) -> Option<&Value> {
        match &self.decoded.outcome {
            Outcome::Success { value, .. } => Some(value),
            _ => None,
        }
    }

    /// A string at a JSON pointer of the success value.
    pub fn str_at(&self, ptr: &str) -> Option<&str> {
        self.value()?.pointer(ptr)?.as_str()
    }

    /// Whether the body was not well-formed XML (or not text at all).
    pub fn ill_formed(&self) -> Option<&WireProblem> {
        self.decoded.problems.iter().find(|p| {
            matches!(
                p,
                WireProblem::IllFormed { .. }
                    | WireProblem::NotUtf8
                    | WireProblem::EmptyBody
                    | WireProblem::TooLarge { .. }
            )
        })
    }
}

/// Decodes a response of `operation` and summarises it for findings. `secrets` are scrubbed
/// from the excerpt, as is every secret the body itself carries in a sensitive member.
pub fn judge(
    model: &Model,
    operation: &str,
    status: u16,
    body: &[u8],
    secrets: &[Secret],
) -> Judged {
    judge_scanned(model, operation, status, body, &SecretScanner::new(secrets))
}

/// [`judge`] with a prebuilt scanner of known secrets (the runner keeps one for the whole run).
pub fn judge_scanned(
    model: &Model,
    operation: &str,
    status: u16,
    body: &[u8],
    known: &SecretScanner,
) -> Judged {
    let decoded = decode_response(model, operation, body);
    let own: Vec<Secret> = decoded.secrets.iter().map(|(_, s)| s.clone()).collect();
    let own = SecretScanner::new(&own);
    let excerpt_bytes = &body[..body.len().min(EXCERPT_BYTES)];
    // A secret cut in half by the excerpt boundary would escape the scrub, so every
    // SecretAccessKey element's content is redacted wholesale first; then known secrets
    // anywhere else (a service that echoes one in a message, say).
    // And text a mangled secret element leaves behind (a '<' inside it, say), wherever it
    // stands in the excerpt.
    let runs = crate::secret::secret_like_runs(&String::from_utf8_lossy(body));
    let mut excerpt = crate::secret::redact_runs(
        &own.scrub(
            &known.scrub(&redact_secret_elements(&String::from_utf8_lossy(
                excerpt_bytes,
            ))),
        ),
        &runs,
    );
    if body.len() > EXCERPT_BYTES {
        excerpt.push('…');
    }
    let (code, message) = match &decoded.outcome {
        Outcome::Error(e) => (
            e.code.clone(),
            e.message
                .clone()
                .map(|m| crate::secret::redact_runs(&own.scrub(&known.scrub(&m)), &runs)),
        ),
        _ => (None, None),
    };
    Judged {
        status,
        observed: Observed {
            status,
            code,
            message,
            excerpt,
            transport_error: None,
        },
        decoded,
    }
}

/// Replaces the content of every `<SecretAccessKey>` element (complete or cut off) with
/// `<redacted>`.
pub fn redact_secret_elements(text: &str) -> String {
    const OPEN: &str = "<SecretAccessKey>";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i + OPEN.len()]);
        rest = &rest[i + OPEN.len()..];
        out.push_str(crate::secret::REDACTED);
        match rest.find('<') {
            Some(j) => rest = &rest[j..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// The judgement of one CreateAccessKey response against the output rules that need only the
/// response: well-formed, envelope, RequestId, schema, Active status. Returns the failures as
/// `(rule id, reason)`. Used by the runner on every success and by the `xml_response` fuzz
/// target, which asserts that what this accepts validates against the schema.
pub fn output_failures(model: &Model, j: &Judged) -> Vec<(super::rules::RuleId, String)> {
    use super::rules::RuleId;
    let mut out = Vec::new();
    if let Some(p) = j.ill_formed() {
        out.push((RuleId::OutputWellFormed, p.to_string()));
        return out;
    }
    for p in &j.decoded.problems {
        match p {
            WireProblem::WrongRoot { .. }
            | WireProblem::WrongNamespace { .. }
            | WireProblem::MissingWrapper { .. } => {
                out.push((RuleId::OutputEnvelope, p.to_string()))
            }
            WireProblem::MissingRequestId => out.push((RuleId::OutputRequestId, p.to_string())),
            _ => {}
        }
    }
    if let Outcome::Success { .. } = &j.decoded.outcome {
        let value = j.decoded.revealed_value().unwrap_or(Value::Null);
        if let Some(reason) = schema_failure(model, "CreateAccessKeyResponse", &value) {
            out.push((RuleId::OutputSchema, reason));
        }
        for p in &j.decoded.problems {
            if let WireProblem::MissingMember { .. } | WireProblem::BadValue { .. } = p {
                out.push((RuleId::OutputSchema, p.to_string()));
            }
        }
        match j.str_at("/AccessKey/Status") {
            Some("Active") => {}
            Some(other) => out.push((
                RuleId::OutputStatusActive,
                format!("Status is {other:?}, expected \"Active\""),
            )),
            None => out.push((RuleId::OutputStatusActive, "no Status".into())),
        }
    }
    out
}

/// Validates a value against the JSON Schema of a shape (formats asserted). Returns the first
/// few errors, secret-free (instance values are not quoted, only their paths).
pub fn schema_failure(model: &Model, shape: &str, value: &Value) -> Option<String> {
    let validator = schema_validator(model, shape)?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(3)
        .map(|e| {
            let path = e.instance_path().to_string();
            let kind = format!("{:?}", e.kind());
            let kind: String = kind
                .split(['{', '('])
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            format!(
                "{} violates {}",
                if path.is_empty() { "/" } else { &path },
                kind
            )
        })
        .collect();
    if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    }
}

/// A compiled validator for a shape's schema. Validators for the embedded model are compiled
/// once per shape and cached; any other model's are compiled on each call.
fn schema_validator(model: &Model, shape: &str) -> Option<std::sync::Arc<jsonschema::Validator>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    model.shape(shape)?;
    let compile = || {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&crate::model::json_schema(model, shape))
            .ok()
            .map(Arc::new)
    };
    if !std::ptr::eq(model, Model::embedded()) {
        return compile();
    }
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().ok()?.get(shape) {
        return Some(v.clone());
    }
    let v = compile()?;
    cache.lock().ok()?.insert(shape.to_owned(), v.clone());
    Some(v)
}

/// The HTTP status and `Type` the model's error shapes, or else the facts file, give for an
/// error code; `None` for a code neither knows.
pub fn expected_error<'m>(model: &'m Model, code: &str) -> Option<(u16, &'m str)> {
    model
        .error_by_code(code)
        .map(|(_, e)| {
            (
                e.http_status,
                if e.sender_fault { "Sender" } else { "Receiver" },
            )
        })
        .or_else(|| {
            model
                .facts()
                .errors
                .iter()
                .find(|f| f.code == code)
                .map(|f| (f.status, f.fault.as_str()))
        })
}

/// What is wrong with an error envelope answered with `status`: no Code, no Type, or a status
/// or Type other than the model's or the facts' for its code. Empty when it is right.
pub fn error_envelope_problems(
    model: &Model,
    status: u16,
    err: &crate::wire::ErrorEnvelope,
) -> Vec<String> {
    let mut problems = Vec::new();
    if err.code.as_deref().is_none_or(str::is_empty) {
        problems.push("no Code".to_owned());
    }
    if err.fault.is_none() {
        problems.push("no Type".to_owned());
    }
    if let Some(code) = &err.code
        && let Some((want_status, want_fault)) = expected_error(model, code)
    {
        if status != want_status {
            problems.push(format!("HTTP {status} for {code}, expected {want_status}"));
        }
        if err.fault.as_deref() != Some(want_fault) {
            problems.push(format!(
                "Type {:?} for {code}, expected {want_fault}",
                err.fault
            ));
        }
    }
    problems.extend(super::codes::spelling_problem(model, err.code.as_deref()));
    problems
}

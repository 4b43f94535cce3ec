//! awsQuery XML responses: decoding guided by the output shape, and encoding for the emulator.

use crate::model::{Model, ShapeKind};
use crate::secret::{REDACTED, Secret};
use quick_xml::events::Event;
use serde_json::{Map, Value};

/// Bodies larger than this are not parsed; a decoder that must never fall over bounds its work.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Elements nested deeper than this make the body unreadable rather than the stack overflow.
const MAX_DEPTH: usize = 64;

/// Something about a response that a contract may care about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum WireProblem {
    EmptyBody,
    TooLarge {
        bytes: usize,
    },
    NotUtf8,
    IllFormed {
        reason: String,
    },
    WrongRoot {
        expected: String,
        found: String,
    },
    WrongNamespace {
        expected: String,
        found: Option<String>,
    },
    MissingWrapper {
        expected: String,
    },
    MissingRequestId,
    UnknownMember {
        path: String,
    },
    MissingMember {
        path: String,
    },
    DuplicateMember {
        path: String,
    },
    BadValue {
        path: String,
        reason: String,
    },
}

impl std::fmt::Display for WireProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireProblem::EmptyBody => write!(f, "empty body"),
            WireProblem::TooLarge { bytes } => write!(f, "body of {bytes} bytes is too large"),
            WireProblem::NotUtf8 => write!(f, "body is not UTF-8"),
            WireProblem::IllFormed { reason } => write!(f, "ill-formed XML: {reason}"),
            WireProblem::WrongRoot { expected, found } => {
                write!(f, "root element is <{found}>, expected <{expected}>")
            }
            WireProblem::WrongNamespace { expected, found } => match found {
                Some(n) => write!(f, "namespace is {n:?}, expected {expected:?}"),
                None => write!(f, "no namespace, expected {expected:?}"),
            },
            WireProblem::MissingWrapper { expected } => write!(f, "missing <{expected}>"),
            WireProblem::MissingRequestId => write!(f, "missing RequestId"),
            WireProblem::UnknownMember { path } => write!(f, "unknown member {path}"),
            WireProblem::MissingMember { path } => write!(f, "missing required member {path}"),
            WireProblem::DuplicateMember { path } => write!(f, "member {path} appears twice"),
            WireProblem::BadValue { path, reason } => write!(f, "bad value at {path}: {reason}"),
        }
    }
}

/// The error envelope `ErrorResponse/Error{Type,Code,Message}` + `RequestId`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct ErrorEnvelope {
    #[serde(rename = "type")]
    pub fault: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

/// What a response body says.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A success envelope. `value` holds the decoded output with every sensitive member replaced
    /// by [`REDACTED`]; the real values are in [`Decoded::secrets`].
    Success {
        value: Value,
        request_id: Option<String>,
    },
    Error(ErrorEnvelope),
    /// Neither: not XML, or XML of no known envelope.
    Unreadable,
}

/// A decoded response body and everything noticed while decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub outcome: Outcome,
    pub problems: Vec<WireProblem>,
    /// Sensitive values found, by JSON pointer into the success value.
    pub secrets: Vec<(String, Secret)>,
    pub has_xml_declaration: bool,
}

impl Decoded {
    /// The success value with secrets put back. For printing to the key's owner
    /// (`create-access-key`) and for schema validation, never for reports.
    pub fn revealed_value(&self) -> Option<Value> {
        let Outcome::Success { value, .. } = &self.outcome else {
            return None;
        };
        let mut v = value.clone();
        for (ptr, s) in &self.secrets {
            if let Some(slot) = v.pointer_mut(ptr) {
                *slot = Value::String(s.expose().to_owned());
            }
        }
        Some(v)
    }

    pub fn error(&self) -> Option<&ErrorEnvelope> {
        match &self.outcome {
            Outcome::Error(e) => Some(e),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Success { request_id, .. } => request_id.as_deref(),
            Outcome::Error(e) => e.request_id.as_deref(),
            Outcome::Unreadable => None,
        }
    }
}

/// A parsed XML element: local name, namespace declaration, text and children.
#[derive(Debug, Default)]
pub struct XmlElement {
    /// The local name (prefix removed).
    pub name: String,
    /// The qualified name as written (prefix kept).
    pub qname: String,
    /// Attributes in document order, namespace declarations included, values unescaped.
    pub attributes: Vec<(String, String)>,
    /// The element's own text, entities resolved (text of children excluded).
    pub text: String,
    pub children: Vec<XmlElement>,
    /// The default namespace this element declares (`xmlns="..."`).
    pub xmlns: Option<String>,
}

type Element = XmlElement;

impl XmlElement {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole XML document into a tree; `true` when it had an XML declaration. The one XML
/// reader of the crate (responses, snapshots): bounded depth, XML 1.0 characters only, and an
/// error string (never a panic) for anything ill-formed.
pub fn parse_xml(text: &str) -> Result<(XmlElement, bool), String> {
    parse(text)
}

fn parse(text: &str) -> Result<(Element, bool), String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut decl = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("{e} at byte {}", reader.error_position()))?;
        let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Element, String> {
            let mut el = Element {
                name: e.local_name().into_inner().to_owned(),
                qname: e.name().into_inner().to_owned(),
                ..Element::default()
            };
            for a in e.attributes() {
                let a = a.map_err(|e| e.to_string())?;
                let value = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|e| e.to_string())?
                    .into_owned();
                let key = a.key.into_inner().to_owned();
                if key == "xmlns" {
                    el.xmlns = Some(value.clone());
                }
                el.attributes.push((key, value));
            }
            Ok(el)
        };
        match event {
            Event::Decl(_) => decl = true,
            Event::Start(e) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                let el = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unmatched end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(el) => el.text.push_str(&c.into_inner()),
                None => return Err("CDATA outside the root element".into()),
            },
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) if !is_xml_char(c) => {
                        return Err(format!(
                            "character reference to U+{:04X}, which XML 1.0 does not allow",
                            c as u32
                        ));
                    }
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_owned()
                    }
                    Err(e) => return Err(e.to_string()),
                };
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&resolved),
                    None => return Err("entity outside the root element".into()),
                }
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "unclosed element <{}>",
            stack[stack.len() - 1].name
        ));
    }
    root.map(|r| (r, decl))
        .ok_or_else(|| "no root element".into())
}

/// The longest error type a reason quotes from a JSON body; a real one is a short identifier.
const MAX_JSON_TYPE_CHARS: usize = 100;

/// When `text` is a JSON document, why it is not awsQuery XML: "the body is JSON, not XML", with
/// the error type it names (`__type`, as awsJson and restJson send it, with any
/// `namespace#` prefix dropped; or `code`/`Code`, also under `Error`). `None` for anything else.
/// Only the type is quoted, never the rest of the body, which may hold anything (the finding's
/// excerpt shows the body, scrubbed).
fn json_body_reason(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text.trim()).ok()?;
    if !(value.is_object() || value.is_array()) {
        return None;
    }
    let field = |v: &Value| -> Option<String> {
        ["__type", "code", "Code"]
            .iter()
            .find_map(|k| v.get(k)?.as_str().map(str::to_owned))
    };
    let ty = field(&value).or_else(|| value.get("Error").and_then(field));
    Some(match ty {
        Some(t) => {
            let t = t.rsplit('#').next().unwrap_or_default();
            let t: String = t.chars().take(MAX_JSON_TYPE_CHARS).collect();
            format!("the body is JSON, not XML (error type {t:?})")
        }
        None => "the body is JSON, not XML".to_owned(),
    })
}

/// XML 1.0's `Char` production: what a well-formed document may contain, literally or by
/// character reference.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl WireProblem {
    /// Applies `f` to every piece of text the problem quotes from the body.
    fn map_quoted(&mut self, f: impl Fn(&str) -> String) {
        match self {
            WireProblem::IllFormed { reason } => *reason = f(reason),
            WireProblem::WrongRoot { found, .. } => *found = f(found),
            WireProblem::WrongNamespace { found, .. } => {
                if let Some(found) = found {
                    *found = f(found);
                }
            }
            WireProblem::UnknownMember { path }
            | WireProblem::MissingMember { path }
            | WireProblem::DuplicateMember { path } => *path = f(path),
            WireProblem::BadValue { path, reason } => {
                *path = f(path);
                *reason = f(reason);
            }
            WireProblem::EmptyBody
            | WireProblem::TooLarge { .. }
            | WireProblem::NotUtf8
            | WireProblem::MissingWrapper { .. }
            | WireProblem::MissingRequestId => {}
        }
    }
}

/// Decodes a response body of `operation`. Never panics; everything odd is a [`WireProblem`].
/// No problem quotes what stands in a `SecretAccessKey` element, even one too mangled to read
/// (a parser's "expected end tag" can be the secret; found by the property tests).
pub fn decode_response(model: &Model, operation: &str, body: &[u8]) -> Decoded {
    let mut d = decode_unscrubbed(model, operation, body);
    if !d.problems.is_empty()
        && let Ok(text) = std::str::from_utf8(body)
    {
        let runs = crate::secret::secret_like_runs(text);
        if !runs.is_empty() {
            for p in &mut d.problems {
                p.map_quoted(|t| crate::secret::redact_runs(t, &runs));
            }
        }
    }
    d
}

fn decode_unscrubbed(model: &Model, operation: &str, body: &[u8]) -> Decoded {
    let mut d = Decoded {
        outcome: Outcome::Unreadable,
        problems: Vec::new(),
        secrets: Vec::new(),
        has_xml_declaration: false,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        d.problems.push(WireProblem::EmptyBody);
        return d;
    }
    if body.len() > MAX_BODY {
        d.problems.push(WireProblem::TooLarge { bytes: body.len() });
        return d;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        d.problems.push(WireProblem::NotUtf8);
        return d;
    };
    // quick-xml passes characters XML 1.0 forbids (NUL, most C0 controls) through as text;
    // a body carrying one is not well-formed, whatever else it says (found by fuzzing).
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        d.problems.push(WireProblem::IllFormed {
            reason: format!(
                "character U+{:04X} is not allowed in XML 1.0 at byte {at}",
                c as u32
            ),
        });
        return d;
    }
    let (root, decl) = match parse(text) {
        Ok(r) => r,
        Err(reason) => {
            // Services that speak awsJson for other APIs answer some IAM requests in JSON
            // (roto's unsigned requests, for one). "Text outside the root element" would hide
            // that, so the reason says what the body is and which error it names.
            let reason = json_body_reason(text).unwrap_or(reason);
            d.problems.push(WireProblem::IllFormed { reason });
            return d;
        }
    };
    d.has_xml_declaration = decl;
    let ns = model.metadata().xml_namespace.clone();
    let check_ns = |el: &Element, problems: &mut Vec<WireProblem>| {
        if let Some(expected) = &ns
            && el.xmlns.as_ref() != Some(expected)
        {
            problems.push(WireProblem::WrongNamespace {
                expected: expected.clone(),
                found: el.xmlns.clone(),
            });
        }
    };
    let expected_root = format!("{operation}Response");
    // The S3-style error (`<Error><Code/><Message/><RequestId/></Error>`) that gateways which
    // also speak S3 send: read it, and say that the envelope is not IAM's.
    if root.name == "Error" {
        d.problems.push(WireProblem::WrongRoot {
            expected: "ErrorResponse".into(),
            found: root.name.clone(),
        });
        let text_of = |name: &str| root.child(name).map(|c| c.text.trim().to_owned());
        let request_id = text_of("RequestId");
        if request_id.is_none() {
            d.problems.push(WireProblem::MissingRequestId);
        }
        d.outcome = Outcome::Error(ErrorEnvelope {
            fault: text_of("Type"),
            code: text_of("Code"),
            message: text_of("Message"),
            request_id,
        });
        return d;
    }
    if root.name == "ErrorResponse" || root.name == "Response" && root.child("Errors").is_some() {
        check_ns(&root, &mut d.problems);
        // `ErrorResponse/Error` (IAM) or `Response/Errors/Error` (EC2 style, seen in emulators).
        let err = root
            .child("Error")
            .or_else(|| root.child("Errors").and_then(|e| e.child("Error")));
        let text_of = |el: Option<&Element>, name: &str| {
            el.and_then(|e| e.child(name))
                .map(|c| c.text.trim().to_owned())
        };
        let request_id = root
            .child("RequestId")
            .or_else(|| root.child("RequestID"))
            .map(|c| c.text.trim().to_owned())
            .or_else(|| text_of(err, "RequestId"));
        if request_id.is_none() {
            d.problems.push(WireProblem::MissingRequestId);
        }
        if err.is_none() {
            d.problems.push(WireProblem::MissingWrapper {
                expected: "Error".into(),
            });
        }
        d.outcome = Outcome::Error(ErrorEnvelope {
            fault: text_of(err, "Type"),
            code: text_of(err, "Code"),
            message: text_of(err, "Message"),
            request_id,
        });
        return d;
    }
    if root.name != expected_root {
        d.problems.push(WireProblem::WrongRoot {
            expected: expected_root,
            found: root.name.clone(),
        });
        return d;
    }
    check_ns(&root, &mut d.problems);
    let request_id = root
        .child("ResponseMetadata")
        .and_then(|m| m.child("RequestId"))
        .map(|r| r.text.trim().to_owned())
        .filter(|r| !r.is_empty());
    if request_id.is_none() {
        d.problems.push(WireProblem::MissingRequestId);
    }
    let op = model.operation(operation);
    let value = match (
        op.and_then(|o| o.output.as_deref()),
        op.and_then(|o| o.result_wrapper.as_deref()),
    ) {
        (Some(shape), Some(wrapper)) => match root.child(wrapper) {
            Some(w) => decode_shape(model, shape, w, "", &mut d),
            None => {
                d.problems.push(WireProblem::MissingWrapper {
                    expected: wrapper.into(),
                });
                Value::Object(Map::new())
            }
        },
        (Some(shape), None) => decode_shape(model, shape, &root, "", &mut d),
        (None, _) => Value::Object(Map::new()),
    };
    d.outcome = Outcome::Success { value, request_id };
    d
}

fn decode_shape(model: &Model, shape: &str, el: &Element, path: &str, d: &mut Decoded) -> Value {
    let Some(s) = model.shape(shape) else {
        return Value::Null;
    };
    let text = el.text.trim();
    let bad = |d: &mut Decoded, reason: &str| {
        d.problems.push(WireProblem::BadValue {
            path: display_path(path),
            reason: reason.into(),
        })
    };
    match &s.kind {
        ShapeKind::Structure { members, required } => {
            let mut out = Map::new();
            for m in members {
                let matches: Vec<&Element> =
                    el.children.iter().filter(|c| c.name == m.name).collect();
                let child_path = format!("{path}/{}", m.name);
                match matches.as_slice() {
                    [] => {
                        if required.contains(&m.name) {
                            d.problems.push(WireProblem::MissingMember {
                                path: display_path(&child_path),
                            });
                        }
                    }
                    [first, rest @ ..] => {
                        if !rest.is_empty() {
                            d.problems.push(WireProblem::DuplicateMember {
                                path: display_path(&child_path),
                            });
                        }
                        let v = decode_shape(model, &m.shape, first, &child_path, d);
                        out.insert(m.name.clone(), v);
                    }
                }
            }
            for c in &el.children {
                if c.name != "ResponseMetadata" && !members.iter().any(|m| m.name == c.name) {
                    d.problems.push(WireProblem::UnknownMember {
                        path: display_path(&format!("{path}/{}", c.name)),
                    });
                }
            }
            Value::Object(out)
        }
        ShapeKind::List { member, .. } => {
            let items = el
                .children
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if c.name != "member" {
                        d.problems.push(WireProblem::UnknownMember {
                            path: display_path(&format!("{path}/{}", c.name)),
                        });
                    }
                    decode_shape(model, member, c, &format!("{path}/{i}"), d)
                })
                .collect();
            Value::Array(items)
        }
        ShapeKind::String(_) | ShapeKind::Timestamp | ShapeKind::Blob { .. } => {
            if !el.children.is_empty() {
                bad(d, "expected text, found elements");
            }
            if s.sensitive {
                d.secrets.push((path.to_owned(), Secret::new(text)));
                Value::String(REDACTED.into())
            } else {
                Value::String(text.to_owned())
            }
        }
        ShapeKind::Integer { .. } | ShapeKind::Long { .. } => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => {
                bad(d, "not an integer");
                Value::String(text.to_owned())
            }
        },
        ShapeKind::Double => match text.parse::<f64>() {
            Ok(n) => serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Err(_) => {
                bad(d, "not a number");
                Value::String(text.to_owned())
            }
        },
        ShapeKind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                bad(d, "not a boolean");
                Value::String(text.to_owned())
            }
        },
        ShapeKind::Map { .. } => Value::Object(Map::new()),
    }
}

/// Turns a JSON pointer into the dotted form reports use (`AccessKey.Status`).
fn display_path(ptr: &str) -> String {
    ptr.trim_start_matches('/').replace('/', ".")
}

/// Escapes text for an XML element body. Characters XML 1.0 cannot carry at all (NUL and most
/// C0 controls) are replaced by U+FFFD so that the document stays well-formed whatever the input.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, &mut out);
    out
}

/// [`escape_text`], appended to `out`. Text with nothing to escape (almost all of it: names,
/// IDs, dates) is copied in one piece.
fn escape_into(s: &str, out: &mut String) {
    // 0xEF starts U+FFFE and U+FFFF in UTF-8 (and other characters, which the slow path keeps).
    let plain = s.bytes().all(|b| {
        (b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'))
            && !matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'' | 0xEF)
    });
    if plain {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Encodes a success response of `operation`: `{Op}Response/{Op}Result/...` in model member
/// order, then `ResponseMetadata/RequestId`. `value` is the output structure as JSON; members
/// it lacks are left out.
pub fn encode_success(model: &Model, operation: &str, value: &Value, request_id: &str) -> String {
    let ns = model
        .metadata()
        .xml_namespace
        .as_deref()
        .unwrap_or_default();
    let mut out = String::with_capacity(512);
    for part in ["<", operation, "Response xmlns=\""] {
        out.push_str(part);
    }
    escape_into(ns, &mut out);
    out.push_str("\">");
    let op = model.operation(operation);
    if let (Some(shape), Some(wrapper)) = (
        op.and_then(|o| o.output.as_deref()),
        op.and_then(|o| o.result_wrapper.as_deref()),
    ) {
        for part in ["<", wrapper, ">"] {
            out.push_str(part);
        }
        encode_members(model, shape, value, &mut out);
        for part in ["</", wrapper, ">"] {
            out.push_str(part);
        }
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(request_id, &mut out);
    for part in ["</RequestId></ResponseMetadata></", operation, "Response>"] {
        out.push_str(part);
    }
    out
}

fn encode_members(model: &Model, shape: &str, value: &Value, out: &mut String) {
    let Some(ShapeKind::Structure { members, .. }) = model.shape(shape).map(|s| &s.kind) else {
        return;
    };
    for m in members {
        // A member whose shape the model lacks is left out (as `Model::members` leaves it out).
        if let (Some(v), Some(_)) = (value.get(&m.name), model.shape(&m.shape)) {
            for part in ["<", &m.name, ">"] {
                out.push_str(part);
            }
            encode_value(model, &m.shape, v, out);
            for part in ["</", &m.name, ">"] {
                out.push_str(part);
            }
        }
    }
}

fn encode_value(model: &Model, shape: &str, v: &Value, out: &mut String) {
    match (model.shape(shape).map(|s| &s.kind), v) {
        (Some(ShapeKind::Structure { .. }), _) => encode_members(model, shape, v, out),
        (Some(ShapeKind::List { member, .. }), Value::Array(items)) => {
            for item in items {
                out.push_str("<member>");
                encode_value(model, member, item, out);
                out.push_str("</member>");
            }
        }
        (_, Value::String(s)) => escape_into(s, out),
        (_, Value::Null) => {}
        (_, other) => escape_into(&other.to_string(), out),
    }
}

/// Encodes the IAM error envelope.
pub fn encode_error(
    model: &Model,
    fault: &str,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    let ns = model.metadata().xml_namespace.clone().unwrap_or_default();
    format!(
        "<ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape_text(&ns),
        escape_text(fault),
        escape_text(code),
        escape_text(message),
        escape_text(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The character-by-character escaping that `escape_into`'s fast path must agree with.
    fn reference(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '&' => "&amp;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&apos;".to_owned(),
                '\t' | '\n' | '\r' => c.to_string(),
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => "\u{FFFD}".into(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn escaping_replaces_what_xml_cannot_carry() {
        for s in [
            "plain",
            "a<b>&\"'",
            "tab\tnew\nline\r",
            "nul\0bell\u{7}",
            "\u{FFFE}\u{FFFF}\u{FFFD}",
            "ï»¿ \u{FEFF} é ユ",
            "",
        ] {
            assert_eq!(escape_text(s), reference(s), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn escaping_agrees_with_the_reference(s in any::<String>()) {
            prop_assert_eq!(escape_text(&s), reference(&s));
        }
    }
}

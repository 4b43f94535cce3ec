//! Validation of input values against the model's constraints.
//!
//! One function finds every violation of an input structure; callers pick the ones their side
//! enforces. The client mirrors botocore (required members, unknown members, types, minimum
//! lengths); the service (AWS, the emulator) enforces lengths, patterns and enums and words them
//! as IAM's `ValidationError`. Both wordings live here so that they cannot drift apart.

use super::{Model, ShapeKind, StringShape, facts::fill};
use serde_json::Value;

/// Which constraint a value breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// A required member is absent.
    Required,
    /// A member the shape does not have.
    Unknown {
        allowed: Vec<String>,
    },
    /// The JSON type does not fit the shape.
    Type {
        expected: &'static str,
    },
    LengthMin {
        min: u64,
    },
    LengthMax {
        max: u64,
    },
    Pattern {
        pattern: String,
    },
    Enum {
        values: Vec<String>,
    },
    RangeMin {
        min: i64,
    },
    RangeMax {
        max: i64,
    },
}

impl Constraint {
    /// A short stable name, used in rule ids, reports and test names.
    pub fn kind(&self) -> &'static str {
        match self {
            Constraint::Required => "required",
            Constraint::Unknown { .. } => "unknown-member",
            Constraint::Type { .. } => "type",
            Constraint::LengthMin { .. } => "length-min",
            Constraint::LengthMax { .. } => "length-max",
            Constraint::Pattern { .. } => "pattern",
            Constraint::Enum { .. } => "enum",
            Constraint::RangeMin { .. } => "range-min",
            Constraint::RangeMax { .. } => "range-max",
        }
    }

    /// Whether botocore checks this before sending (it leaves maxima, patterns and enums to
    /// the service).
    pub fn client_side(&self) -> bool {
        matches!(
            self,
            Constraint::Required
                | Constraint::Unknown { .. }
                | Constraint::Type { .. }
                | Constraint::LengthMin { .. }
                | Constraint::RangeMin { .. }
        )
    }

    /// Whether the service answers this with `ValidationError`.
    pub fn service_side(&self) -> bool {
        matches!(
            self,
            Constraint::LengthMin { .. }
                | Constraint::LengthMax { .. }
                | Constraint::Pattern { .. }
                | Constraint::Enum { .. }
                | Constraint::RangeMin { .. }
                | Constraint::RangeMax { .. }
                | Constraint::Required
        )
    }
}

/// One broken constraint on one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The member as named in the model (`UserName`).
    pub member: String,
    pub constraint: Constraint,
    /// A description of the offending value that never includes a secret: its length for
    /// strings, its JSON type otherwise.
    pub value_desc: String,
}

impl Violation {
    /// botocore's wording, one line of `Parameter validation failed:`.
    pub fn botocore_message(&self) -> String {
        let m = &self.member;
        match &self.constraint {
            Constraint::Required => format!("Missing required parameter in input: \"{m}\""),
            Constraint::Unknown { allowed } => format!(
                "Unknown parameter in input: \"{m}\", must be one of: {}",
                allowed.join(", ")
            ),
            Constraint::Type { expected } => format!(
                "Invalid type for parameter {m}, value: {}, type: {}, valid types: {expected}",
                self.value_desc,
                python_type_of(&self.value_desc)
            ),
            Constraint::LengthMin { min } => format!(
                "Invalid length for parameter {m}, value: {}, valid min length: {min}",
                self.value_desc
            ),
            Constraint::LengthMax { max } => format!(
                "Invalid length for parameter {m}, value: {}, valid max length: {max}",
                self.value_desc
            ),
            Constraint::Pattern { pattern } => {
                format!("Invalid value for parameter {m}: must match pattern {pattern}")
            }
            Constraint::Enum { values } => format!(
                "Invalid value for parameter {m}: must be one of: {}",
                values.join(", ")
            ),
            Constraint::RangeMin { min } => format!(
                "Invalid value for parameter {m}, value: {}, valid min value: {min}",
                self.value_desc
            ),
            Constraint::RangeMax { max } => format!(
                "Invalid value for parameter {m}, value: {}, valid max value: {max}",
                self.value_desc
            ),
        }
    }

    /// IAM's wording of one constraint (`Value at 'userName' failed to satisfy constraint: ...`).
    pub fn aws_detail(&self, model: &Model) -> String {
        let v = &model.facts().validation_messages;
        let constraint = match &self.constraint {
            Constraint::LengthMin { min } => fill(&v.length_min, &[("min", &min.to_string())]),
            Constraint::LengthMax { max } => fill(&v.length_max, &[("max", &max.to_string())]),
            Constraint::Pattern { pattern } => fill(&v.pattern, &[("pattern", pattern)]),
            Constraint::Enum { values } => fill(&v.enum_, &[("values", &values.join(", "))]),
            Constraint::RangeMin { min } => {
                format!("Member must have value greater than or equal to {min}")
            }
            Constraint::RangeMax { max } => {
                format!("Member must have value less than or equal to {max}")
            }
            Constraint::Required => "Member must not be null".to_owned(),
            Constraint::Unknown { .. } | Constraint::Type { .. } => {
                "Member must be of the modelled type".to_owned()
            }
        };
        fill(
            &v.detail,
            &[
                ("member", &lower_camel(&self.member)),
                ("constraint", &constraint),
            ],
        )
    }
}

/// IAM's whole `ValidationError` message for a set of violations
/// (`1 validation error detected: ...`, several joined with `; `).
pub fn aws_validation_message(model: &Model, violations: &[Violation]) -> String {
    let details: Vec<String> = violations.iter().map(|v| v.aws_detail(model)).collect();
    let n = details.len();
    let template = &model.facts().error("validation").message;
    fill(
        template,
        &[
            ("count", &n.to_string()),
            ("errors", if n == 1 { "error" } else { "errors" }),
            ("details", &details.join("; ")),
        ],
    )
}

fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn python_type_of(desc: &str) -> &'static str {
    if desc.starts_with('"') {
        "<class 'str'>"
    } else if desc == "true" || desc == "false" {
        "<class 'bool'>"
    } else if desc == "null" {
        "<class 'NoneType'>"
    } else if desc.starts_with('[') {
        "<class 'list'>"
    } else if desc.starts_with('{') {
        "<class 'dict'>"
    } else if desc.contains('.') {
        "<class 'float'>"
    } else {
        "<class 'int'>"
    }
}

/// Every violation of `value` against the input shape of `operation`, in member order.
/// `value` must be a JSON object; anything else is one `Type` violation on the root.
/// An unknown operation has no input to violate and gives no violations.
pub fn validate_input(model: &Model, operation: &str, value: &Value) -> Vec<Violation> {
    let Some(input) = model.operation(operation).and_then(|o| o.input.clone()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    validate_structure(model, &input, "", value, &mut out);
    out
}

fn validate_structure(
    model: &Model,
    shape: &str,
    prefix: &str,
    value: &Value,
    out: &mut Vec<Violation>,
) {
    let Some(obj) = value.as_object() else {
        out.push(Violation {
            member: if prefix.is_empty() {
                "input".into()
            } else {
                prefix.into()
            },
            constraint: Constraint::Type {
                expected: "<class 'dict'>",
            },
            value_desc: describe(value),
        });
        return;
    };
    let members = model.members(shape);
    let allowed: Vec<String> = members.iter().map(|(m, _, _)| m.name.clone()).collect();
    let path = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (m, _, required) in &members {
        if *required && obj.get(&m.name).is_none() {
            out.push(Violation {
                member: path(&m.name),
                constraint: Constraint::Required,
                value_desc: "null".into(),
            });
        }
    }
    for key in obj.keys() {
        if !allowed.contains(key) {
            out.push(Violation {
                member: path(key),
                constraint: Constraint::Unknown {
                    allowed: allowed.clone(),
                },
                value_desc: String::new(),
            });
        }
    }
    for (m, s, _) in &members {
        // A present `null` (Python's `None`) is checked like any other value, so it is a type
        // error as in botocore, not an absent member: accepting it would send the request
        // without the member (for CreateAccessKey, a key for the caller instead of the named
        // user). Found by the `cli_input` fuzz target.
        let Some(v) = obj.get(&m.name) else { continue };
        let p = path(&m.name);
        match &s.kind {
            ShapeKind::String(c) => validate_string(c, &p, v, out),
            ShapeKind::Integer { min, max } | ShapeKind::Long { min, max } => match v.as_i64() {
                None => out.push(type_violation(&p, v, "<class 'int'>")),
                Some(n) => {
                    if let Some(min) = *min
                        && n < min
                    {
                        out.push(Violation {
                            member: p.clone(),
                            constraint: Constraint::RangeMin { min },
                            value_desc: n.to_string(),
                        });
                    }
                    if let Some(max) = *max
                        && n > max
                    {
                        out.push(Violation {
                            member: p.clone(),
                            constraint: Constraint::RangeMax { max },
                            value_desc: n.to_string(),
                        });
                    }
                }
            },
            ShapeKind::Boolean if !v.is_boolean() => {
                out.push(type_violation(&p, v, "<class 'bool'>"))
            }
            ShapeKind::Structure { .. } => validate_structure(model, &s.name, &p, v, out),
            ShapeKind::List { .. } if !v.is_array() => {
                out.push(type_violation(&p, v, "<class 'list'>, <class 'tuple'>"))
            }
            _ => {}
        }
    }
}

fn validate_string(c: &StringShape, member: &str, v: &Value, out: &mut Vec<Violation>) {
    let Some(s) = v.as_str() else {
        out.push(type_violation(member, v, "<class 'str'>"));
        return;
    };
    // The value itself is never copied into a violation, so a secret passed in the wrong place
    // cannot leak through an error message.
    let desc = s.chars().count().to_string();
    for constraint in string_violations(c, s) {
        out.push(Violation {
            member: member.into(),
            constraint,
            value_desc: desc.clone(),
        });
    }
}

/// The constraints of a string shape that `value` breaks, in AWS's order (length, pattern,
/// enum). AWS counts characters, not bytes.
pub fn string_violations(c: &StringShape, value: &str) -> Vec<Constraint> {
    let len = value.chars().count() as u64;
    let mut out = Vec::new();
    if let Some(min) = c.min
        && len < min
    {
        out.push(Constraint::LengthMin { min });
    }
    if let Some(max) = c.max
        && len > max
    {
        out.push(Constraint::LengthMax { max });
    }
    if let Some(p) = &c.pattern
        && !p.is_match(value)
    {
        out.push(Constraint::Pattern {
            pattern: p.source().to_owned(),
        });
    }
    if !c.enum_values.is_empty() && !c.enum_values.iter().any(|e| e == value) {
        out.push(Constraint::Enum {
            values: c.enum_values.clone(),
        });
    }
    out
}

fn type_violation(member: &str, v: &Value, expected: &'static str) -> Violation {
    Violation {
        member: member.into(),
        constraint: Constraint::Type { expected },
        value_desc: describe(v),
    }
}

/// A secret-free description of a JSON value: numbers and booleans as they are, strings by
/// length only, containers by their kind.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("\"<{} characters>\"", s.chars().count()),
        Value::Array(_) => "[...]".into(),
        Value::Object(_) => "{...}".into(),
    }
}

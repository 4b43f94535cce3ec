//! AWS CLI skeletons: the `--generate-cli-skeleton input` template and a sample output that
//! satisfies the model's own constraints (the AWS CLI's sample does not; see IAM-FACTS.md).

use super::{Model, ShapeKind};
use serde_json::{Map, Value, json};

/// The timestamp used in sample outputs: fixed, so that samples are deterministic.
pub const SAMPLE_TIMESTAMP: &str = "2010-05-08T00:00:00+00:00";

/// The input skeleton of an operation, exactly as the AWS CLI prints it: JSON with 4-space
/// indentation and a trailing newline; strings `""`, numbers `0`, booleans `true`, lists with one
/// element, maps with one key. An operation without input gives `{}`.
pub fn input_skeleton(model: &Model, operation: &str) -> String {
    let value = model
        .operation(operation)
        .and_then(|o| o.input.as_deref())
        .map(|input| skeleton_value(model, input, 0))
        .unwrap_or_else(|| json!({}));
    let mut s = pretty(&value);
    s.push('\n');
    s
}

/// Serialises JSON as the AWS CLI does: 4-space indentation, members in insertion order.
pub fn pretty(value: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(value, &mut ser).expect("serialising a Value cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

fn skeleton_value(model: &Model, shape: &str, depth: usize) -> Value {
    let Some(s) = model.shape(shape) else {
        return Value::Null;
    };
    if depth > 8 {
        return json!({});
    }
    match &s.kind {
        ShapeKind::Structure { members, .. } => {
            let mut o = Map::new();
            for m in members {
                o.insert(m.name.clone(), skeleton_value(model, &m.shape, depth + 1));
            }
            Value::Object(o)
        }
        ShapeKind::String(_) | ShapeKind::Blob { .. } => json!(""),
        ShapeKind::Integer { .. } | ShapeKind::Long { .. } => json!(0),
        ShapeKind::Double => json!(0.0),
        ShapeKind::Boolean => json!(true),
        ShapeKind::Timestamp => json!("1970-01-01T00:00:00"),
        ShapeKind::List { member, .. } => json!([skeleton_value(model, member, depth + 1)]),
        ShapeKind::Map { value, .. } => {
            json!({ "KeyName": skeleton_value(model, value, depth + 1) })
        }
    }
}

/// A sample output of an operation that validates against the derived output schema. Values of
/// input members with the same name are echoed (a sample for `--user-name alice` names alice);
/// other strings are the member's name, adjusted to the shape's pattern and length, or the first
/// enum value. Returns `{}` for an operation without output.
pub fn sample_output(model: &Model, operation: &str, input: &Value) -> Value {
    model
        .operation(operation)
        .and_then(|o| o.output.as_deref())
        .map(|out| sample_value(model, out, "", input, 0))
        .unwrap_or_else(|| json!({}))
}

fn sample_value(model: &Model, shape: &str, member: &str, input: &Value, depth: usize) -> Value {
    let Some(s) = model.shape(shape) else {
        return Value::Null;
    };
    if depth > 8 {
        return json!({});
    }
    match &s.kind {
        ShapeKind::Structure { members, .. } => {
            let mut o = Map::new();
            for m in members {
                o.insert(
                    m.name.clone(),
                    sample_value(model, &m.shape, &m.name, input, depth + 1),
                );
            }
            Value::Object(o)
        }
        ShapeKind::String(c) => {
            if let Some(first) = c.enum_values.first() {
                return json!(first);
            }
            let fits = |v: &str| {
                let n = v.chars().count() as u64;
                c.min.is_none_or(|m| n >= m)
                    && c.max.is_none_or(|m| n <= m)
                    && c.pattern.as_ref().is_none_or(|p| p.is_match(v))
            };
            if let Some(given) = input.get(member).and_then(Value::as_str)
                && fits(given)
            {
                return json!(given);
            }
            json!(
                synthesize(c, member)
                    .filter(|v| fits(v))
                    .unwrap_or_default()
            )
        }
        ShapeKind::Integer { min, .. } | ShapeKind::Long { min, .. } => json!(min.unwrap_or(0)),
        ShapeKind::Double => json!(0.0),
        ShapeKind::Boolean => json!(false),
        ShapeKind::Timestamp => json!(SAMPLE_TIMESTAMP),
        ShapeKind::Blob { .. } => json!(""),
        ShapeKind::List { member: m, min, .. } => {
            let n = min.unwrap_or(1).max(1) as usize;
            Value::Array(
                (0..n)
                    .map(|_| sample_value(model, m, member, input, depth + 1))
                    .collect(),
            )
        }
        ShapeKind::Map { .. } => json!({}),
    }
}

/// A string built from `seed` that respects the shape's class and length, where the pattern is a
/// single repeated class; otherwise the seed itself.
fn synthesize(c: &super::StringShape, seed: &str) -> Option<String> {
    let min = c.min.unwrap_or(1).max(1) as usize;
    let max = c.max.map(|m| m as usize).unwrap_or(usize::MAX);
    let Some(p) = &c.pattern else {
        let mut s: String = seed.chars().take(max).collect();
        while s.chars().count() < min {
            s.push('x');
        }
        return Some(s);
    };
    let ranges = p.repeated_class()?;
    let allowed = |ch: char| ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&ch));
    let filler = ['0', 'a', 'A', '_']
        .into_iter()
        .find(|c| allowed(*c))
        .unwrap_or(ranges.first()?.0);
    let mut s: String = seed.chars().filter(|c| allowed(*c)).take(max).collect();
    while s.chars().count() < min {
        s.push(filler);
    }
    Some(s)
}

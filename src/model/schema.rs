//! JSON Schema (draft 2020-12) derived from model shapes.
//!
//! Responses are decoded into `serde_json::Value` and validated against these schemas with the
//! `jsonschema` crate, formats asserted, so a `CreateDate` that is not a date-time fails. Shapes
//! are inlined (the IAM shapes are not recursive); a recursive model is cut off at a fixed depth
//! with an open schema rather than looping.

use super::{Model, ShapeKind};
use serde_json::{Map, Value, json};

const MAX_DEPTH: usize = 16;

/// The JSON Schema of a named shape, with `$schema` and `title` set. Panics on an unknown shape
/// name: callers take names from the model itself.
pub fn json_schema(model: &Model, shape: &str) -> Value {
    let mut schema = shape_schema(model, shape, 0);
    if let Value::Object(o) = &mut schema {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        head.insert("title".into(), json!(shape));
        head.extend(std::mem::take(o));
        *o = head;
    }
    schema
}

fn shape_schema(model: &Model, name: &str, depth: usize) -> Value {
    let shape = model
        .shape(name)
        .unwrap_or_else(|| panic!("json_schema: unknown shape {name:?}"));
    if depth > MAX_DEPTH {
        return json!({});
    }
    let mut s = match &shape.kind {
        ShapeKind::Structure { members, required } => {
            let mut props = Map::new();
            for m in members {
                props.insert(m.name.clone(), shape_schema(model, &m.shape, depth + 1));
            }
            let mut o =
                json!({ "type": "object", "properties": props, "additionalProperties": false });
            if !required.is_empty() {
                o["required"] = json!(required);
            }
            o
        }
        ShapeKind::String(c) => {
            let mut o = json!({ "type": "string" });
            if let Some(min) = c.min {
                o["minLength"] = json!(min);
            }
            if let Some(max) = c.max {
                o["maxLength"] = json!(max);
            }
            if let Some(p) = &c.pattern {
                o["pattern"] = json!(format!("^(?:{})$", p.ascii_source()));
            }
            if !c.enum_values.is_empty() {
                o["enum"] = json!(c.enum_values);
            }
            o
        }
        ShapeKind::Integer { min, max } | ShapeKind::Long { min, max } => {
            let mut o = json!({ "type": "integer" });
            if let Some(min) = min {
                o["minimum"] = json!(min);
            }
            if let Some(max) = max {
                o["maximum"] = json!(max);
            }
            o
        }
        ShapeKind::Double => json!({ "type": "number" }),
        ShapeKind::Boolean => json!({ "type": "boolean" }),
        ShapeKind::Timestamp => json!({ "type": "string", "format": "date-time" }),
        ShapeKind::Blob { .. } => json!({ "type": "string", "contentEncoding": "base64" }),
        ShapeKind::List { member, min, max } => {
            let mut o = json!({ "type": "array", "items": shape_schema(model, member, depth + 1) });
            if let Some(min) = min {
                o["minItems"] = json!(min);
            }
            if let Some(max) = max {
                o["maxItems"] = json!(max);
            }
            o
        }
        ShapeKind::Map { value, .. } => json!({
            "type": "object",
            "additionalProperties": shape_schema(model, value, depth + 1)
        }),
    };
    if shape.sensitive {
        s["x-aws-sensitive"] = json!(true);
    }
    s
}

//! awsQuery form encoding (`Action=...&Version=...&UserName=...`) and decoding.

use crate::model::{Model, ShapeKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode};
use serde_json::Value;

/// AWS's encoding: everything but `A-Za-z0-9-_.~` is percent-encoded, so `+` is `%2B` and a
/// space `%20`.
const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a string by AWS's rules.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, AWS_ENCODE).to_string()
}

/// Encodes parameters, in the order given, as an `application/x-www-form-urlencoded` body.
pub fn encode_form<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k.as_ref()));
        out.push('=');
        out.push_str(&percent_encode(v.as_ref()));
    }
    out
}

/// A form body that cannot be decoded into text parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("parameter {index} is not valid UTF-8 after percent-decoding")]
    NotUtf8 { index: usize },
}

/// Decodes a form body (or a query string) into parameters, in order. Duplicates are kept (the
/// caller decides which wins), a parameter without `=` has an empty value, empty pieces between
/// `&`s are skipped, `+` is a space, and malformed `%` escapes are kept literally as browsers and
/// AWS front ends do.
pub fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for (index, piece) in body.split(|b| *b == b'&').enumerate() {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        let dec = |raw: &[u8]| -> Result<String, FormError> {
            let plus: Vec<u8> = raw
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            let bytes: Vec<u8> = percent_decode(&plus).collect();
            String::from_utf8(bytes).map_err(|_| FormError::NotUtf8 { index })
        };
        out.push((dec(k)?, dec(v)?));
    }
    Ok(out)
}

/// The awsQuery parameters for an input value: `Action`, `Version`, then the members in model
/// order, nested structures as `A.B`, lists as `A.member.N`, maps as `A.entry.N.key/value`.
/// Members that the shape does not know are sent as they are (so that a contract can send them
/// on purpose), after the known ones.
pub fn params_from_input(model: &Model, operation: &str, input: &Value) -> Vec<(String, String)> {
    let mut out = vec![
        ("Action".to_owned(), operation.to_owned()),
        ("Version".to_owned(), model.metadata().api_version.clone()),
    ];
    let shape = model.operation(operation).and_then(|o| o.input.clone());
    flatten(model, shape.as_deref(), "", input, &mut out);
    out
}

fn flatten(
    model: &Model,
    shape: Option<&str>,
    prefix: &str,
    v: &Value,
    out: &mut Vec<(String, String)>,
) {
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    match v {
        Value::Null => {}
        Value::Object(o) => {
            let members = shape.map(|s| model.members(s)).unwrap_or_default();
            for (m, s, _) in &members {
                if let Some(val) = o.get(&m.name) {
                    flatten(model, Some(&s.name), &join(&m.name), val, out);
                }
            }
            for (k, val) in o {
                if !members.iter().any(|(m, _, _)| &m.name == k) {
                    flatten(model, None, &join(k), val, out);
                }
            }
        }
        Value::Array(items) => {
            let member_shape = shape.and_then(|s| match model.shape(s).map(|s| &s.kind) {
                Some(ShapeKind::List { member, .. }) => Some(member.clone()),
                _ => None,
            });
            for (i, item) in items.iter().enumerate() {
                flatten(
                    model,
                    member_shape.as_deref(),
                    &format!("{prefix}.member.{}", i + 1),
                    item,
                    out,
                );
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
    }
}

#[cfg(test)]
mod secret_forms {
    #[test]
    fn secrets_leak_forms_use_this_encoding() {
        let s = crate::secret::Secret::new("a+b/c d~é".to_owned());
        assert!(s.leak_forms().contains(&super::percent_encode("a+b/c d~é")));
    }
}

//! Command input the way the AWS CLI builds it: `--cli-input-json` (a JSON string or
//! `file://PATH`), merged with command-line options (options win), then checked client-side
//! the way botocore checks parameters before it sends anything.
//!
//! Pure and synchronous: it reads no file itself (the caller passes a reader for `file://`),
//! touches no network and never panics on any input, so a fuzz target can drive it directly. It
//! must not print: the caller decides how to show an [`InputError`] ([`InputError::aws_message`]
//! gives the AWS CLI's exact wording).

use crate::model::{Model, Violation, validate_input};
use serde_json::{Map, Value};

/// The prefix that makes `--cli-input-json` name a file, as in the AWS CLI.
pub const FILE_PREFIX: &str = "file://";

/// Input that the AWS CLI would refuse before sending (exit code 252 in AWS CLI v2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// `--cli-input-json` is not JSON. `received` is the text as given (or the file's content).
    #[error("--cli-input-json is not valid JSON: {reason}")]
    InvalidJson { reason: String, received: String },
    /// `file://PATH` could not be read.
    #[error("cannot read --cli-input-json file {path}: {reason}")]
    ReadFile { path: String, reason: String },
    /// botocore's client-side validation failed; violations in the order botocore reports them.
    #[error("parameter validation failed ({} problems)", violations.len())]
    Validation { violations: Vec<Violation> },
}

impl InputError {
    /// The message the AWS CLI prints for this error (without the blank line it prints before
    /// it). Kept separate from `Display` so that the wording can match botocore byte for byte
    /// while `Display` stays a lowercase fragment like every other error in the crate.
    pub fn aws_message(&self) -> String {
        match self {
            InputError::InvalidJson { reason, received } => format!(
                "Error parsing parameter 'cli-input-json': Invalid JSON: {reason}\nJSON received: {received}"
            ),
            InputError::ReadFile { path, reason } => format!(
                "Error parsing parameter '--cli-input-json': Unable to load paramfile {FILE_PREFIX}{path}: {reason}"
            ),
            InputError::Validation { violations } => {
                let mut s = String::from("Parameter validation failed:");
                for v in violations {
                    s.push('\n');
                    s.push_str(&v.botocore_message());
                }
                s
            }
        }
    }
}

/// Parses a `--cli-input-json` argument: inline JSON, or `file://PATH` read through `read_file`
/// (which returns the file's text or a reason it could not). The JSON may be any value; whether
/// it is an object with the right members is [`validate_client_side`]'s business.
pub fn parse_cli_input_json(
    arg: &str,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Value, InputError> {
    let text = match arg.strip_prefix(FILE_PREFIX) {
        Some(path) => read_file(path).map_err(|reason| InputError::ReadFile {
            path: path.to_owned(),
            reason,
        })?,
        None => arg.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| InputError::InvalidJson {
        reason: e.to_string(),
        received: text,
    })
}

/// Merges command-line options over the JSON input: a member given as an option replaces the
/// JSON's. Options keep the JSON's member order where they replace a member and are appended
/// otherwise. A JSON input that is not an object is returned unchanged so that validation can
/// report it (the option values cannot fix a document of the wrong type).
pub fn merge_options(json: Option<Value>, options: Map<String, Value>) -> Value {
    match json {
        None => Value::Object(options),
        Some(Value::Object(mut base)) => {
            for (k, v) in options {
                base.insert(k, v);
            }
            Value::Object(base)
        }
        Some(other) => other,
    }
}

/// botocore's client-side checks for `operation`'s input: required and unknown members, types
/// and minimum lengths. Maxima, patterns and enums are the service's to enforce, as in botocore.
pub fn validate_client_side(
    model: &Model,
    operation: &str,
    input: &Value,
) -> Result<(), InputError> {
    let violations: Vec<Violation> = validate_input(model, operation, input)
        .into_iter()
        .filter(|v| v.constraint.client_side())
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(InputError::Validation { violations })
    }
}

/// The whole pipeline: parse `--cli-input-json` if given, merge `options` over it and validate
/// the result client-side. Returns the input to send.
pub fn prepare_input(
    model: &Model,
    operation: &str,
    cli_input_json: Option<&str>,
    options: Map<String, Value>,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Value, InputError> {
    let json = cli_input_json
        .map(|arg| parse_cli_input_json(arg, read_file))
        .transpose()?;
    let input = merge_options(json, options);
    validate_client_side(model, operation, &input)?;
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_files(_: &str) -> Result<String, String> {
        Err("no files in this test".into())
    }

    fn opts(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    #[test]
    fn options_win_and_keep_member_order() {
        let merged = merge_options(
            Some(json!({"UserName": "from-json", "Other": 1})),
            opts(&[("UserName", "from-option")]),
        );
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"UserName":"from-option","Other":1}"#
        );
    }

    #[test]
    fn non_object_json_is_kept_for_validation() {
        let model = Model::embedded();
        let err = prepare_input(
            model,
            "CreateAccessKey",
            Some("[1]"),
            opts(&[("UserName", "a")]),
            &no_files,
        )
        .unwrap_err();
        assert!(
            err.aws_message()
                .contains("Invalid type for parameter input, value: [...], type: <class 'list'>"),
            "{}",
            err.aws_message()
        );
    }

    #[test]
    fn file_reader_is_used_and_errors_name_the_path() {
        let read = |p: &str| {
            if p == "in.json" {
                Ok(r#"{"UserName": "alice"}"#.to_owned())
            } else {
                Err(format!("no such file: {p}"))
            }
        };
        assert_eq!(
            parse_cli_input_json("file://in.json", &read).unwrap(),
            json!({"UserName": "alice"})
        );
        let err = parse_cli_input_json("file://missing.json", &read).unwrap_err();
        assert_eq!(
            err.aws_message(),
            "Error parsing parameter '--cli-input-json': Unable to load paramfile file://missing.json: no such file: missing.json"
        );
    }

    #[test]
    fn only_client_side_violations_are_reported() {
        let model = Model::embedded();
        // 129 characters and a space: too long and off-pattern, both left to the service.
        let long = format!("{} x", "a".repeat(127));
        assert!(validate_client_side(model, "CreateAccessKey", &json!({"UserName": long})).is_ok());
        let err =
            validate_client_side(model, "CreateAccessKey", &json!({"UserName": ""})).unwrap_err();
        assert_eq!(
            err.aws_message(),
            "Parameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1"
        );
    }

    #[test]
    fn invalid_json_quotes_the_input() {
        let err = parse_cli_input_json("{bad", &no_files).unwrap_err();
        let msg = err.aws_message();
        assert!(msg.starts_with("Error parsing parameter 'cli-input-json': Invalid JSON: "));
        assert!(msg.ends_with("\nJSON received: {bad"), "{msg}");
        assert!(
            err.to_string()
                .starts_with("--cli-input-json is not valid JSON")
        );
    }
}

//! The facts beside the model (`spec/facts.json`): quota, implicit user, case folding, error
//! wording, the strict `aws` profile. Each fact names its source (`model`, `docs`, `recorded`).

use super::SpecError;
use serde::Deserialize;

/// Where a fact or a rule comes from.
pub const SOURCES: [&str; 3] = ["model", "docs", "recorded"];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    #[serde(default)]
    pub about: String,
    pub limits: Limits,
    pub behaviour: Vec<Fact>,
    pub protocol: ProtocolFacts,
    pub aws_profile: AwsProfileFacts,
    pub errors: Vec<ErrorFact>,
    pub validation_messages: ValidationMessages,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub access_keys_per_user: LimitFact,
    /// The characters (white space not counted) all inline policies of one user may hold.
    pub inline_policy_chars_per_user: LimitFact,
    pub clock_skew_seconds: LimitFact,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitFact {
    pub value: u64,
    pub source: String,
    pub statement: String,
    /// Where the fact was seen (public reports of real answers, a documentation page).
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub id: String,
    pub source: String,
    pub statement: String,
    /// Where the fact was seen (a documentation page, public reports of real answers).
    #[serde(default)]
    pub reference: Option<String>,
    /// The statement says what AWS leaves undocumented: no rule may judge it (tested).
    #[serde(default)]
    pub undocumented: bool,
}

/// How requests reach the service.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProtocolFacts {
    /// The HTTP methods a request acts with (upper case).
    pub acting_methods: Vec<String>,
    pub source: String,
    pub statement: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsProfileFacts {
    pub access_key_id: KeyIdFact,
    pub secret_access_key: SecretFact,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyIdFact {
    pub prefix: String,
    pub length: usize,
    pub charset: String,
    pub source: String,
    pub statement: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretFact {
    pub length: usize,
    pub pattern: String,
    pub source: String,
    pub statement: String,
}

/// One error as AWS words it. `message` is a template with `{name}`-style holes.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorFact {
    pub id: String,
    pub code: String,
    pub status: u16,
    #[serde(rename = "type")]
    pub fault: String,
    pub source: String,
    pub message: String,
    /// Where the wording was seen (public reports of real answers, a documentation page).
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValidationMessages {
    pub source: String,
    pub length_max: String,
    pub length_min: String,
    pub pattern: String,
    #[serde(rename = "enum")]
    pub enum_: String,
    pub detail: String,
}

impl Facts {
    pub(super) fn parse(file: &str, json: &str) -> Result<Facts, SpecError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let facts: Facts = serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                SpecError::Json {
                    file: file.to_owned(),
                    line: inner.line(),
                    column: inner.column(),
                    reason: inner.to_string(),
                }
            } else {
                SpecError::Invalid {
                    file: file.to_owned(),
                    path: format!("$.{}", e.path()),
                    reason: inner.to_string(),
                }
            }
        })?;
        let bad = |path: String, reason: String| SpecError::Invalid {
            file: file.to_owned(),
            path,
            reason,
        };
        let check_source = |path: String, s: &str| {
            if SOURCES.contains(&s) {
                Ok(())
            } else {
                Err(bad(
                    path,
                    format!("source {s:?} is not one of model, docs, recorded"),
                ))
            }
        };
        check_source(
            "$.limits.access_keys_per_user.source".into(),
            &facts.limits.access_keys_per_user.source,
        )?;
        check_source(
            "$.limits.inline_policy_chars_per_user.source".into(),
            &facts.limits.inline_policy_chars_per_user.source,
        )?;
        check_source(
            "$.limits.clock_skew_seconds.source".into(),
            &facts.limits.clock_skew_seconds.source,
        )?;
        check_source("$.protocol.source".into(), &facts.protocol.source)?;
        for (i, f) in facts.behaviour.iter().enumerate() {
            check_source(format!("$.behaviour[{i}].source"), &f.source)?;
        }
        for (i, e) in facts.errors.iter().enumerate() {
            check_source(format!("$.errors[{i}].source"), &e.source)?;
            if !(400..600).contains(&e.status) {
                return Err(bad(
                    format!("$.errors[{i}].status"),
                    format!("{} is not an HTTP error status", e.status),
                ));
            }
            if e.fault != "Sender" && e.fault != "Receiver" {
                return Err(bad(
                    format!("$.errors[{i}].type"),
                    format!("{:?} is neither Sender nor Receiver", e.fault),
                ));
            }
        }
        check_source(
            "$.aws_profile.access_key_id.source".into(),
            &facts.aws_profile.access_key_id.source,
        )?;
        check_source(
            "$.aws_profile.secret_access_key.source".into(),
            &facts.aws_profile.secret_access_key.source,
        )?;
        Ok(facts)
    }

    /// The error fact with the given id. Panics on an unknown id: ids are fixed by the crate
    /// and the shipped facts, and a missing one is a bug.
    pub fn error(&self, id: &str) -> &ErrorFact {
        self.errors
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("facts.json has no error {id:?}"))
    }

    /// The behaviour fact with the given id, if any.
    pub fn behaviour(&self, id: &str) -> Option<&Fact> {
        self.behaviour.iter().find(|f| f.id == id)
    }

    /// The key quota per user.
    pub fn key_quota(&self) -> usize {
        self.limits.access_keys_per_user.value as usize
    }
}

impl ErrorFact {
    /// The message with `{hole}`s filled from `args`.
    pub fn render(&self, args: &[(&str, &str)]) -> String {
        fill(&self.message, args)
    }
}

/// Fills `{hole}`s in a template.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

//! The machine-readable model of the service: loading, validating and querying spec files.
//!
//! The model is kept in `spec/` in the botocore service-model JSON format (a subset: metadata,
//! operations, shapes, error shapes), plus `spec/facts.json` for what that format cannot express.
//! Everything else in the crate derives from what this module loads: constraints, patterns,
//! schemas, skeletons, generators and contract rules. It is pure: no IO beyond reading the spec
//! files a caller names, and no network.

mod facts;
mod pattern;
mod schema;
mod skeleton;
mod validate;

pub use facts::{
    AwsProfileFacts, ErrorFact, Fact, Facts, LimitFact, ProtocolFacts, ValidationMessages,
};
pub use pattern::{Pattern, PatternError};
pub use schema::json_schema;
pub use skeleton::{input_skeleton, pretty, sample_output};
pub use validate::{
    Constraint, Violation, aws_validation_message, string_violations, validate_input,
};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The IAM model shipped with the crate (a subset of botocore's `iam/2010-05-08/service-2.json`).
pub const EMBEDDED_SERVICE_JSON: &str = include_str!("../../spec/iam-2010-05-08.json");
/// The facts shipped with the crate.
pub const EMBEDDED_FACTS_JSON: &str = include_str!("../../spec/facts.json");

/// A loaded, validated service model plus its facts.
#[derive(Debug, Clone)]
pub struct Model {
    metadata: Metadata,
    operations: BTreeMap<String, Operation>,
    shapes: BTreeMap<String, Shape>,
    facts: Facts,
}

/// Service-level metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub api_version: String,
    pub protocol: String,
    pub xml_namespace: Option<String>,
    pub signing_name: String,
    pub endpoint_prefix: String,
    pub global_endpoint: Option<String>,
}

/// One operation of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub result_wrapper: Option<String>,
    pub errors: Vec<String>,
}

/// A named shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub sensitive: bool,
    /// Present on error shapes.
    pub error: Option<ErrorInfo>,
}

/// What a shape is.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeKind {
    Structure {
        /// Members in model order (the order the AWS CLI prints them in).
        members: Vec<Member>,
        required: Vec<String>,
    },
    String(StringShape),
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Long {
        min: Option<i64>,
        max: Option<i64>,
    },
    Double,
    Boolean,
    Timestamp,
    Blob {
        min: Option<u64>,
        max: Option<u64>,
    },
    List {
        member: String,
        min: Option<u64>,
        max: Option<u64>,
    },
    Map {
        key: String,
        value: String,
    },
}

/// A structure member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub shape: String,
}

/// Constraints of a string shape.
#[derive(Debug, Clone, PartialEq)]
pub struct StringShape {
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub pattern: Option<Pattern>,
    pub enum_values: Vec<String>,
}

/// The error trait of an error shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorInfo {
    pub code: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

/// A spec file that cannot be used. Names the file, the JSON path and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: not valid JSON at line {line}, column {column}: {reason}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{file}: at {path}: {reason}")]
    Invalid {
        file: String,
        path: String,
        reason: String,
    },
}

impl Model {
    /// The model shipped with the crate. Panics only if the shipped spec is broken, which the
    /// test suite rules out.
    pub fn embedded() -> &'static Model {
        static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| {
            Model::from_json(
                "spec/iam-2010-05-08.json",
                EMBEDDED_SERVICE_JSON,
                "spec/facts.json",
                EMBEDDED_FACTS_JSON,
            )
            .expect("the embedded spec is valid")
        })
    }

    /// Loads `iam-2010-05-08.json` and `facts.json` from a spec directory.
    pub fn load_dir(dir: &Path) -> Result<Model, SpecError> {
        let service = dir.join("iam-2010-05-08.json");
        let facts = dir.join("facts.json");
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| SpecError::Read {
                file: p.display().to_string(),
                reason: e.to_string(),
            })
        };
        Model::from_json(
            &service.display().to_string(),
            &read(&service)?,
            &facts.display().to_string(),
            &read(&facts)?,
        )
    }

    /// Parses and validates a service model and a facts file given as text.
    pub fn from_json(
        service_file: &str,
        service_json: &str,
        facts_file: &str,
        facts_json: &str,
    ) -> Result<Model, SpecError> {
        let (metadata, operations, shapes) = parse_service(service_file, service_json)?;
        let facts = Facts::parse(facts_file, facts_json)?;
        Ok(Model {
            metadata,
            operations,
            shapes,
            facts,
        })
    }

    /// Parses only a service model (for example a real botocore `service-2.json`), with the
    /// embedded facts.
    pub fn from_service_json(file: &str, json: &str) -> Result<Model, SpecError> {
        let (metadata, operations, shapes) = parse_service(file, json)?;
        Ok(Model {
            metadata,
            operations,
            shapes,
            facts: Model::embedded().facts.clone(),
        })
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values()
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    pub fn shapes(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.values()
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The error shape with the given wire code (for example `NoSuchEntity`).
    pub fn error_by_code(&self, code: &str) -> Option<(&Shape, &ErrorInfo)> {
        self.shapes
            .values()
            .find_map(|s| s.error.as_ref().filter(|e| e.code == code).map(|e| (s, e)))
    }

    /// The members of a structure shape, in model order, with their shapes. Empty for a
    /// non-structure or an unknown name.
    pub fn members<'a>(&'a self, shape: &str) -> Vec<(&'a Member, &'a Shape, bool)> {
        match self.shapes.get(shape).map(|s| &s.kind) {
            Some(ShapeKind::Structure { members, required }) => members
                .iter()
                .filter_map(|m| {
                    let s = self.shapes.get(&m.shape)?;
                    Some((m, s, required.contains(&m.name)))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The string constraints of `structure.member`, if that member is a string.
    pub fn string_member(&self, structure: &str, member: &str) -> Option<&StringShape> {
        let (_, shape, _) = self
            .members(structure)
            .into_iter()
            .find(|(m, _, _)| m.name == member)?;
        match &shape.kind {
            ShapeKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// The input shape's string constraints for `operation.member`.
    pub fn input_string(&self, operation: &str, member: &str) -> Option<&StringShape> {
        let input = self.operation(operation)?.input.as_deref()?;
        self.string_member(input, member)
    }
}

type Parsed = (
    Metadata,
    BTreeMap<String, Operation>,
    BTreeMap<String, Shape>,
);

/// A JSON object of a spec file.
type JsonObject = serde_json::Map<String, Value>;

/// A JSON path and what is wrong there; [`parse_service`] adds the file name.
type ShapeError = (String, String);

/// Parses and validates a service model: metadata, then shapes (with their references), then
/// operations, so that each error names the first problem in document order.
fn parse_service(file: &str, json: &str) -> Result<Parsed, SpecError> {
    let root: Value = serde_json::from_str(json).map_err(|e| SpecError::Json {
        file: file.to_owned(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    let bad = |path: &str, reason: String| SpecError::Invalid {
        file: file.to_owned(),
        path: path.to_owned(),
        reason,
    };
    let obj = root
        .as_object()
        .ok_or_else(|| bad("$", "the document must be a JSON object".into()))?;
    let metadata = parse_metadata(obj, &bad)?;
    let shapes_obj = obj
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("$.shapes", "missing or not an object".into()))?;
    let mut shapes = BTreeMap::new();
    for (name, def) in shapes_obj {
        let path = format!("$.shapes.{name}");
        shapes.insert(
            name.clone(),
            parse_shape(name, def, &path).map_err(|(p, r)| bad(&p, r))?,
        );
    }
    check_shape_references(&shapes, &bad)?;
    let ops_obj = obj
        .get("operations")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("$.operations", "missing or not an object".into()))?;
    let mut operations = BTreeMap::new();
    for (name, def) in ops_obj {
        operations.insert(
            name.clone(),
            parse_operation(name, def, &shapes, shapes_obj, &bad)?,
        );
    }
    Ok((metadata, operations, shapes))
}

/// Reads `$.metadata`: the fields that say how to sign and address requests to the service.
fn parse_metadata(
    obj: &JsonObject,
    bad: &impl Fn(&str, String) -> SpecError,
) -> Result<Metadata, SpecError> {
    let meta = obj
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("$.metadata", "missing or not an object".into()))?;
    let meta_str = |key: &str| -> Result<String, SpecError> {
        meta.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                bad(
                    &format!("$.metadata.{key}"),
                    "missing or not a string".into(),
                )
            })
    };
    Ok(Metadata {
        api_version: meta_str("apiVersion")?,
        protocol: meta_str("protocol")?,
        xml_namespace: meta
            .get("xmlNamespace")
            .and_then(Value::as_str)
            .map(str::to_owned),
        signing_name: meta
            .get("signingName")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(meta_str("endpointPrefix")?),
        endpoint_prefix: meta_str("endpointPrefix")?,
        global_endpoint: meta
            .get("globalEndpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Checks that every shape a structure, list or map names exists, and that a structure's
/// required members are members, so that later code can look shapes up without failing.
fn check_shape_references(
    shapes: &BTreeMap<String, Shape>,
    bad: &impl Fn(&str, String) -> SpecError,
) -> Result<(), SpecError> {
    for shape in shapes.values() {
        let path = format!("$.shapes.{}", shape.name);
        let refs: Vec<(String, &str)> = match &shape.kind {
            ShapeKind::Structure { members, required } => {
                for r in required {
                    if !members.iter().any(|m| &m.name == r) {
                        return Err(bad(
                            &format!("{path}.required"),
                            format!("required member {r:?} is not a member"),
                        ));
                    }
                }
                members
                    .iter()
                    .map(|m| (format!("{path}.members.{}.shape", m.name), m.shape.as_str()))
                    .collect()
            }
            ShapeKind::List { member, .. } => vec![(format!("{path}.member.shape"), member)],
            ShapeKind::Map { key, value } => vec![
                (format!("{path}.key.shape"), key),
                (format!("{path}.value.shape"), value),
            ],
            _ => vec![],
        };
        for (p, target) in refs {
            if !shapes.contains_key(target) {
                return Err(bad(&p, format!("refers to unknown shape {target:?}")));
            }
        }
    }
    Ok(())
}

/// Reads `$.operations.NAME`, checking that its input, output and errors name known shapes
/// (errors: error shapes), so that an operation never points at nothing.
fn parse_operation(
    name: &str,
    def: &Value,
    shapes: &BTreeMap<String, Shape>,
    shapes_obj: &JsonObject,
    bad: &impl Fn(&str, String) -> SpecError,
) -> Result<Operation, SpecError> {
    let path = format!("$.operations.{name}");
    let shape_ref = |key: &str| -> Result<Option<String>, SpecError> {
        match def.get(key) {
            None => Ok(None),
            Some(v) => {
                let s = v.get("shape").and_then(Value::as_str).ok_or_else(|| {
                    bad(
                        &format!("{path}.{key}.shape"),
                        "missing or not a string".into(),
                    )
                })?;
                if !shapes.contains_key(s) {
                    return Err(bad(
                        &format!("{path}.{key}.shape"),
                        format!("refers to unknown shape {s:?}"),
                    ));
                }
                Ok(Some(s.to_owned()))
            }
        }
    };
    let input = shape_ref("input")?;
    let output = shape_ref("output")?;
    let result_wrapper = def
        .get("output")
        .and_then(|o| o.get("resultWrapper"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut errors = Vec::new();
    if let Some(list) = def.get("errors") {
        let list = list
            .as_array()
            .ok_or_else(|| bad(&format!("{path}.errors"), "not an array".into()))?;
        for (i, e) in list.iter().enumerate() {
            let p = format!("{path}.errors[{i}].shape");
            let s = e
                .get("shape")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&p, "missing or not a string".into()))?;
            match shapes.get(s) {
                None => return Err(bad(&p, format!("refers to unknown shape {s:?}"))),
                Some(sh) if sh.error.is_none() && !is_exception(shapes_obj, s) => {
                    return Err(bad(&p, format!("shape {s:?} is not an error shape")));
                }
                Some(_) => errors.push(s.to_owned()),
            }
        }
    }
    Ok(Operation {
        name: def
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned(),
        input,
        output,
        result_wrapper,
        errors,
    })
}

/// Whether the raw shape `name` carries botocore's `exception` flag (an error shape without an
/// `error` trait).
fn is_exception(shapes: &JsonObject, name: &str) -> bool {
    shapes
        .get(name)
        .and_then(|s| s.get("exception"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Parses one named shape: its kind with constraints, its error trait and its sensitivity.
fn parse_shape(name: &str, def: &Value, path: &str) -> Result<Shape, ShapeError> {
    let obj = def
        .as_object()
        .ok_or_else(|| (path.to_owned(), "a shape must be a JSON object".to_owned()))?;
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| (format!("{path}.type"), "missing or not a string".to_owned()))?;
    let kind = parse_shape_kind(ty, obj, path)?;
    let error = match obj.get("error") {
        None => None,
        Some(e) => Some(parse_error_info(name, e, path)?),
    };
    Ok(Shape {
        name: name.to_owned(),
        kind,
        sensitive: obj
            .get("sensitive")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        error,
    })
}

/// Reads what a shape of type `ty` is, with its constraints (bounds checked, patterns compiled),
/// so that nothing downstream meets a constraint it cannot use.
fn parse_shape_kind(ty: &str, obj: &JsonObject, path: &str) -> Result<ShapeKind, ShapeError> {
    Ok(match ty {
        "structure" => parse_structure(obj, path)?,
        "string" => parse_string(obj, path)?,
        "integer" | "long" => {
            let (min, max) = (int(obj, path, "min")?, int(obj, path, "max")?);
            check_bounds(path, min.map(i128::from), max.map(i128::from))?;
            if ty == "integer" {
                ShapeKind::Integer { min, max }
            } else {
                ShapeKind::Long { min, max }
            }
        }
        "double" | "float" => ShapeKind::Double,
        "boolean" => ShapeKind::Boolean,
        "timestamp" => ShapeKind::Timestamp,
        "blob" => {
            let (min, max) = (uint(obj, path, "min")?, uint(obj, path, "max")?);
            check_bounds(path, min.map(i128::from), max.map(i128::from))?;
            ShapeKind::Blob { min, max }
        }
        "list" => {
            let (min, max) = (uint(obj, path, "min")?, uint(obj, path, "max")?);
            check_bounds(path, min.map(i128::from), max.map(i128::from))?;
            ShapeKind::List {
                member: shape_ref(obj, path, "member")?,
                min,
                max,
            }
        }
        "map" => ShapeKind::Map {
            key: shape_ref(obj, path, "key")?,
            value: shape_ref(obj, path, "value")?,
        },
        other => {
            return Err((
                format!("{path}.type"),
                format!("unknown shape type {other:?}"),
            ));
        }
    })
}

/// Reads a structure's members (in model order, which the AWS CLI prints in) and its required
/// list; whether they resolve is checked once all shapes are read.
fn parse_structure(obj: &JsonObject, path: &str) -> Result<ShapeKind, ShapeError> {
    let members_obj = match obj.get("members") {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err((format!("{path}.members"), "not an object".into())),
    };
    let mut members = Vec::new();
    for (m, mdef) in &members_obj {
        let shape = mdef
            .get("shape")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                (
                    format!("{path}.members.{m}.shape"),
                    "missing or not a string".to_owned(),
                )
            })?
            .to_owned();
        members.push(Member {
            name: m.clone(),
            shape,
        });
    }
    let required = match obj.get("required") {
        None => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| (format!("{path}.required"), "must list strings".to_owned()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err((format!("{path}.required"), "not an array".into())),
    };
    Ok(ShapeKind::Structure { members, required })
}

/// Reads a string shape's length bounds, pattern (compiled here, so a bad one fails at load
/// time with its path) and enum values.
fn parse_string(obj: &JsonObject, path: &str) -> Result<ShapeKind, ShapeError> {
    let (min, max) = (uint(obj, path, "min")?, uint(obj, path, "max")?);
    check_bounds(path, min.map(i128::from), max.map(i128::from))?;
    let pattern = match obj.get("pattern") {
        None => None,
        Some(Value::String(p)) => {
            Some(Pattern::new(p).map_err(|e| (format!("{path}.pattern"), e.to_string()))?)
        }
        Some(_) => return Err((format!("{path}.pattern"), "not a string".into())),
    };
    let enum_values = match obj.get("enum") {
        None => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| (format!("{path}.enum"), "must list strings".to_owned()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err((format!("{path}.enum"), "not an array".into())),
    };
    Ok(ShapeKind::String(StringShape {
        min,
        max,
        pattern,
        enum_values,
    }))
}

/// Reads an error shape's trait: its wire code (the shape name less `Exception` unless given),
/// HTTP status (required, 100-599) and whether the sender is at fault.
fn parse_error_info(name: &str, e: &Value, path: &str) -> Result<ErrorInfo, ShapeError> {
    let code = e
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or(name.strip_suffix("Exception").unwrap_or(name))
        .to_owned();
    let http_status = e
        .get("httpStatusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| {
            (
                format!("{path}.error.httpStatusCode"),
                "missing or not an HTTP status".to_owned(),
            )
        })?;
    Ok(ErrorInfo {
        code,
        http_status,
        sender_fault: e
            .get("senderFault")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The optional non-negative integer `key` of a shape (a length or count bound).
fn uint(obj: &JsonObject, path: &str, key: &str) -> Result<Option<u64>, ShapeError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            (
                format!("{path}.{key}"),
                "must be a non-negative integer".to_owned(),
            )
        }),
    }
}

/// The optional integer `key` of a shape (a value bound of a number shape).
fn int(obj: &JsonObject, path: &str, key: &str) -> Result<Option<i64>, ShapeError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| (format!("{path}.{key}"), "must be an integer".to_owned())),
    }
}

/// Refuses `min > max`, which no value could satisfy (reported at `PATH.min`).
fn check_bounds(path: &str, min: Option<i128>, max: Option<i128>) -> Result<(), ShapeError> {
    if let (Some(a), Some(b)) = (min, max)
        && a > b
    {
        return Err((
            format!("{path}.min"),
            format!("min ({a}) is greater than max ({b})"),
        ));
    }
    Ok(())
}

/// The shape named by `KEY.shape` (a list's member, a map's key or value).
fn shape_ref(obj: &JsonObject, path: &str, key: &str) -> Result<String, ShapeError> {
    obj.get(key)
        .and_then(|v| v.get("shape"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            (
                format!("{path}.{key}.shape"),
                "missing or not a string".to_owned(),
            )
        })
}

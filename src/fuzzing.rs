//! Fuzz targets as plain library functions: `fuzz/fuzz_targets/NAME.rs` is a one-line wrapper
//! around `NAME(data)`, and `tests/it/fuzz_replay.rs` feeds every committed seed and minimised
//! crash through the same functions ([`TARGETS`]), so `cargo test` catches regressions without
//! cargo-fuzz.
//!
//! Each function takes arbitrary bytes, must never panic on its own account, and panics on
//! purpose when a property fails, so that libFuzzer keeps and minimises the input. Panic
//! messages name the rule, the request and a response excerpt, and are scrubbed of every secret
//! the target knows (the bootstrap secret, every secret an endpoint handed out). Structured
//! inputs come from [`arbitrary`]: requests drawn from a grammar that mixes valid values with
//! near misses (see [`Session`]).
//!
//! Must not: depend on the `net` feature (the fuzz package builds the library without it),
//! read files, print, or open a connection to anything but a loopback address. The `endpoint`
//! target's live mode carries its own small blocking HTTP/1.1 client over
//! [`std::net::TcpStream`] rather than enabling `net`: reqwest, tokio and rustls would triple
//! the fuzz build and put an async runtime under every execution, and the client needs only
//! one request per connection to 127.0.0.1.

use crate::cli_input::{InputError, prepare_input};
use crate::client::{Credentials, Scope, sign_headers};
use crate::contract::RuleId;
use crate::contract::judge::{judge, output_failures, schema_failure};
use crate::emulator::{Clock, Config, Emulator, Fault, FaultSet, HttpRequest, ManualClock};
use crate::generate::{HOSTILE_CHARS, UNICODE_WORD_CHARS, string_boundaries, valid_of_length};
use crate::model::{Model, ShapeKind};
use crate::secret::{REDACTED, Secret, scrub};
use crate::wire::{
    Outcome, WireProblem, decode_form, decode_response, encode_form, encode_success,
    params_from_input,
};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The operation under test.
const OPERATION: &str = "CreateAccessKey";
/// The host every in-process request is addressed to (and signed for).
const EMBEDDED_HOST: &str = "iam.fuzz.local";
/// The emulator's fixed clock: 2026-01-01T00:00:00Z. Requests are signed at this time too,
/// so signatures are deterministic and valid, and an input replays identically.
const EMBEDDED_EPOCH_SECS: u64 = 1_767_225_600;
/// Bounds that keep one input cheap: libFuzzer's speed comes from many small executions.
const MAX_REQUESTS: usize = 10;
const MAX_PARAMS: usize = 8;
const MAX_HEADERS: usize = 4;
const MAX_RAW_BODY: usize = 256;
/// The secret used for "wrong secret" signing: not anyone's key.
const WRONG_SECRET: &str = "fuzz-wrong-secret-0000000000000000000000";
const UNKNOWN_KEY_ID: &str = "AKIAFUZZUNKNOWNKEY00";
/// How much of a request body a violation message quotes.
const QUOTE_BYTES: usize = 600;

/// Every target by name, as `tests/it/fuzz_replay.rs` replays them. `endpoint` maps to
/// [`endpoint_embedded`] so that replay never depends on an environment variable.
pub const TARGETS: &[(&str, Target)] = &[
    ("form_decode", form_decode),
    ("xml_response", xml_response),
    ("cli_input", cli_input),
    ("emulator_request", emulator_request),
    ("endpoint", endpoint_embedded),
];

/// A fuzz target: arbitrary bytes in, a panic on a violated property.
pub type Target = fn(&[u8]);

/// The replay function of a target directory name under `fuzz/seeds/` or `fuzz/regressions/`.
pub fn replay_target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
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

// ---------------------------------------------------------------------------------------------
// Structured requests

/// One fuzz input for `emulator_request` and `endpoint`: faults to switch on (emulator only)
/// and a short sequence of requests against one fresh endpoint state.
#[derive(Debug, Arbitrary)]
pub struct Session {
    /// Indexes into [`Fault::all`]; most inputs leave this empty, since fault-free runs check
    /// the most rules.
    pub faults: Vec<u8>,
    pub requests: Vec<FuzzRequest>,
}

/// One request, described by grammar choices rather than bytes.
#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub method: Method,
    pub path: PathChoice,
    pub action: Option<Placed<ActionChoice>>,
    pub version: Option<Placed<VersionChoice>>,
    pub params: Vec<Placed<ParamChoice>>,
    pub encoding: Encoding,
    pub content_type: ContentType,
    pub headers: Vec<HeaderChoice>,
    /// Raw bytes appended to the body after an `&`.
    pub raw_body: Option<Vec<u8>>,
    pub signing: SigningChoice,
}

/// A parameter and whether it goes in the query string instead of the body.
#[derive(Debug, Arbitrary)]
pub struct Placed<T> {
    pub value: T,
    pub in_query: bool,
}

#[derive(Debug, Arbitrary)]
pub enum Method {
    Post,
    Get,
    Put,
    Delete,
    Patch,
    Head,
    Other(String),
}

#[derive(Debug, Arbitrary)]
pub enum PathChoice {
    Root,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub enum ActionChoice {
    /// An operation of the model, by index.
    Op(u8),
    GetCallerIdentity,
    /// A model operation in lower case.
    Lowercase(u8),
    Unknown(String),
}

#[derive(Debug, Arbitrary)]
pub enum VersionChoice {
    Iam,
    Sts,
    Other(String),
}

#[derive(Debug, Arbitrary)]
pub enum ParamChoice {
    UserName(NameChoice),
    AccessKeyId(KeyChoice),
    Status(StatusChoice),
    Path(String),
    PathPrefix(String),
    MaxItems(MaxItems),
    Marker(String),
    /// A second `Action`.
    Action(ActionChoice),
    Unknown(String, String),
}

#[derive(Debug, Arbitrary)]
pub enum MaxItems {
    Number(i64),
    Raw(String),
}

/// User names: valid ones, the ones this input created, boundary lengths, and near misses.
#[derive(Debug, Arbitrary)]
pub enum NameChoice {
    /// A fixed pool of valid names (plus the bootstrap user).
    Pool(u8),
    /// A name created earlier in this input (falls back to the pool).
    Seen(u8),
    /// A deterministic boundary case of the UserName shape (lengths, hostile characters).
    Boundary(u8),
    /// A valid name of a chosen length (possibly beyond the maximum).
    Valid {
        len: u8,
        seed: u8,
    },
    /// A pool name with one hostile or non-ASCII word character spliced in.
    NearMiss {
        base: u8,
        ch: u8,
        at: u8,
    },
    /// A pool or seen name with its case flipped (IAM names are unique case-insensitively).
    CaseFlip(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub enum KeyChoice {
    /// A key created earlier in this input (falls back to the bootstrap key).
    Seen(u8),
    Bootstrap,
    Lowercased(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub enum StatusChoice {
    Active,
    Inactive,
    Expired,
    Lowercase,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub enum Encoding {
    /// AWS percent-encoding.
    Aws,
    /// No encoding at all: `+`, `%`, `&` and `=` reach the decoder as they are.
    Raw,
}

#[derive(Debug, Arbitrary)]
pub enum ContentType {
    FormUtf8,
    Form,
    Missing,
    Json,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
pub struct HeaderChoice {
    pub name: HeaderName,
    pub value: String,
    /// Added after signing, so that it is not covered by the signature.
    pub after_signing: bool,
}

#[derive(Debug, Arbitrary)]
pub enum HeaderName {
    Authorization,
    AmzDate,
    ContentType,
    SecurityToken,
    ContentSha256,
    Host,
    Other(String),
}

/// How the request is signed.
#[derive(Debug, Arbitrary)]
pub enum SigningChoice {
    Valid,
    Unsigned,
    WrongSecret,
    /// Signed this many seconds away from the endpoint's clock (clamped to three days).
    Skewed(i32),
    /// Signed with a key created earlier in this input.
    AsSeenKey(u8),
    UnknownKey,
    WrongRegion,
    StsScope,
    WrongService,
}

/// Valid user names every input can draw from.
const NAME_POOL: &[&str] = &["alice", "Bob", "carol+x=y,z.w@v-u_", "a", "fuzz-user-1"];

/// A request as built, with what the judges need to know about it.
struct Built {
    http: HttpRequest,
    /// The UserName the endpoint must have used, when the request names one unambiguously.
    user_name: Option<String>,
    /// Everything the request carried, for telling an echo from a leak.
    text: String,
}

/// What one input has learnt about the endpoint.
struct State {
    bootstrap: Credentials,
    /// Names of users this input created.
    users: Vec<String>,
    /// Keys this input created: ID, owner, secret.
    keys: Vec<(String, String, Secret)>,
    /// Every key ID ever handed out in this input (and the bootstrap key's).
    ids_seen: HashSet<String>,
    /// Every secret known: the bootstrap secret and each new key's.
    secrets: Vec<Secret>,
}

impl State {
    fn new(bootstrap: Credentials) -> State {
        let mut ids_seen = HashSet::new();
        ids_seen.insert(bootstrap.access_key_id.clone());
        State {
            secrets: bootstrap.secrets(),
            bootstrap,
            users: Vec::new(),
            keys: Vec::new(),
            ids_seen,
        }
    }

    fn pool_name(&self, i: u8) -> String {
        NAME_POOL
            .get(i as usize % (NAME_POOL.len() + 1))
            .map(|s| (*s).to_owned())
            .unwrap_or_else(|| crate::emulator::DEFAULT_BOOTSTRAP_USER.to_owned())
    }

    fn seen_name(&self, i: u8) -> String {
        if self.users.is_empty() {
            self.pool_name(i)
        } else {
            self.users[i as usize % self.users.len()].clone()
        }
    }

    fn name(&self, c: &NameChoice) -> String {
        match c {
            NameChoice::Pool(i) => self.pool_name(*i),
            NameChoice::Seen(i) => self.seen_name(*i),
            NameChoice::Boundary(i) => {
                let b = boundaries();
                b[*i as usize % b.len()].clone()
            }
            NameChoice::Valid { len, seed } => match user_name_shape() {
                Some(s) => valid_of_length(s, &self.pool_name(*seed), *len as usize % 160),
                None => self.pool_name(*seed),
            },
            NameChoice::NearMiss { base, ch, at } => {
                let chars: Vec<char> = HOSTILE_CHARS
                    .iter()
                    .chain(UNICODE_WORD_CHARS)
                    .map(|(c, _)| *c)
                    .collect();
                let mut name: Vec<char> = self.pool_name(*base).chars().collect();
                let at = *at as usize % (name.len() + 1);
                name.insert(at, chars[*ch as usize % chars.len()]);
                name.into_iter().collect()
            }
            NameChoice::CaseFlip(i) => self
                .seen_name(*i)
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            NameChoice::Raw(s) => s.clone(),
        }
    }

    fn key_id(&self, c: &KeyChoice) -> String {
        let seen = |i: u8| {
            if self.keys.is_empty() {
                self.bootstrap.access_key_id.clone()
            } else {
                self.keys[i as usize % self.keys.len()].0.clone()
            }
        };
        match c {
            KeyChoice::Seen(i) => seen(*i),
            KeyChoice::Bootstrap => self.bootstrap.access_key_id.clone(),
            KeyChoice::Lowercased(i) => seen(*i).to_lowercase(),
            KeyChoice::Raw(s) => s.clone(),
        }
    }
}

fn user_name_shape() -> Option<&'static crate::model::StringShape> {
    Model::embedded().input_string(OPERATION, "UserName")
}

/// Boundary user names from the model: CreateAccessKey's (1..128) and CreateUser's (1..64).
fn boundaries() -> &'static [String] {
    static B: OnceLock<Vec<String>> = OnceLock::new();
    B.get_or_init(|| {
        let model = Model::embedded();
        let mut out: Vec<String> = Vec::new();
        for op in [OPERATION, "CreateUser"] {
            if let Some(s) = model.input_string(op, "UserName") {
                for b in string_boundaries(s, "fuzz") {
                    if !out.contains(&b.value) {
                        out.push(b.value);
                    }
                }
            }
        }
        if out.is_empty() {
            out.push("fuzz".into());
        }
        out
    })
}

fn operation_names() -> &'static [String] {
    static OPS: OnceLock<Vec<String>> = OnceLock::new();
    OPS.get_or_init(|| {
        Model::embedded()
            .operations()
            .map(|o| o.name.clone())
            .collect()
    })
}

fn action_text(c: &ActionChoice) -> String {
    let ops = operation_names();
    match c {
        ActionChoice::Op(i) => ops[*i as usize % ops.len()].clone(),
        ActionChoice::GetCallerIdentity => "GetCallerIdentity".into(),
        ActionChoice::Lowercase(i) => ops[*i as usize % ops.len()].to_lowercase(),
        ActionChoice::Unknown(s) => s.clone(),
    }
}

/// Whether a token is safe on an HTTP/1.1 request line or as a header name.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Builds the request. `wire_safe` keeps it valid HTTP/1.1 (for a real socket): a method that
/// is not a token becomes POST, the path is percent-encoded to visible ASCII, and headers that
/// would break framing are dropped. In-process, the emulator gets the raw strings.
fn build(r: &FuzzRequest, st: &State, host: &str, now: SystemTime, wire_safe: bool) -> Built {
    let mut method = match &r.method {
        Method::Post => "POST".to_owned(),
        Method::Get => "GET".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Head => "HEAD".into(),
        Method::Other(s) => s.clone(),
    };
    if wire_safe && !is_token(&method) {
        method = "POST".into();
    }
    let mut pairs: Vec<(String, String, bool)> = Vec::new();
    if let Some(a) = &r.action {
        pairs.push(("Action".into(), action_text(&a.value), a.in_query));
    }
    if let Some(v) = &r.version {
        let text = match &v.value {
            VersionChoice::Iam => Model::embedded().metadata().api_version.clone(),
            VersionChoice::Sts => "2011-06-15".into(),
            VersionChoice::Other(s) => s.clone(),
        };
        pairs.push(("Version".into(), text, v.in_query));
    }
    for p in r.params.iter().take(MAX_PARAMS) {
        let (k, v) = match &p.value {
            ParamChoice::UserName(n) => ("UserName".to_owned(), st.name(n)),
            ParamChoice::AccessKeyId(k) => ("AccessKeyId".into(), st.key_id(k)),
            ParamChoice::Status(s) => (
                "Status".into(),
                match s {
                    StatusChoice::Active => "Active".into(),
                    StatusChoice::Inactive => "Inactive".into(),
                    StatusChoice::Expired => "Expired".into(),
                    StatusChoice::Lowercase => "inactive".into(),
                    StatusChoice::Raw(s) => s.clone(),
                },
            ),
            ParamChoice::Path(s) => ("Path".into(), s.clone()),
            ParamChoice::PathPrefix(s) => ("PathPrefix".into(), s.clone()),
            ParamChoice::MaxItems(MaxItems::Number(n)) => ("MaxItems".into(), n.to_string()),
            ParamChoice::MaxItems(MaxItems::Raw(s)) => ("MaxItems".into(), s.clone()),
            ParamChoice::Marker(s) => ("Marker".into(), s.clone()),
            ParamChoice::Action(a) => ("Action".into(), action_text(a)),
            ParamChoice::Unknown(k, v) => (k.clone(), v.clone()),
        };
        pairs.push((k, v, p.in_query));
    }
    let encode = |ps: &[&(String, String, bool)]| -> String {
        match r.encoding {
            Encoding::Aws => encode_form(
                &ps.iter()
                    .map(|(k, v, _)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            ),
            Encoding::Raw => ps
                .iter()
                .map(|(k, v, _)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        }
    };
    let query_pairs: Vec<&(String, String, bool)> = pairs.iter().filter(|p| p.2).collect();
    let body_pairs: Vec<&(String, String, bool)> = pairs.iter().filter(|p| !p.2).collect();
    let mut body = encode(&body_pairs).into_bytes();
    if let Some(raw) = &r.raw_body {
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend(raw.iter().take(MAX_RAW_BODY));
    }
    let mut path = match &r.path {
        PathChoice::Root => "/".to_owned(),
        PathChoice::Raw(s) => format!("/{}", s.trim_start_matches('/')),
    };
    let query = encode(&query_pairs);
    if !query.is_empty() {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(&query);
    }
    if wire_safe {
        path = path
            .bytes()
            .map(|b| {
                if (0x21..0x7f).contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    }
    let content_type = match &r.content_type {
        ContentType::FormUtf8 => {
            Some("application/x-www-form-urlencoded; charset=utf-8".to_owned())
        }
        ContentType::Form => Some("application/x-www-form-urlencoded".into()),
        ContentType::Missing => None,
        ContentType::Json => Some("application/json".into()),
        ContentType::Raw(s) => Some(s.clone()),
    };
    let header_ok = |k: &str, v: &str| {
        !wire_safe
            || (is_token(k)
                && !v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
                && ![
                    "host",
                    "content-length",
                    "connection",
                    "transfer-encoding",
                    "expect",
                    "upgrade",
                ]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h)))
    };
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    if let Some(ct) = content_type
        && header_ok("content-type", &ct)
    {
        headers.push(("content-type".into(), ct));
    }
    let extra = |after: bool| -> Vec<(String, String)> {
        r.headers
            .iter()
            .take(MAX_HEADERS)
            .filter(|h| h.after_signing == after)
            .map(|h| {
                let name = match &h.name {
                    HeaderName::Authorization => "authorization".to_owned(),
                    HeaderName::AmzDate => "x-amz-date".into(),
                    HeaderName::ContentType => "content-type".into(),
                    HeaderName::SecurityToken => "x-amz-security-token".into(),
                    HeaderName::ContentSha256 => "x-amz-content-sha256".into(),
                    HeaderName::Host => "host".into(),
                    HeaderName::Other(s) => s.clone(),
                };
                (name, h.value.clone())
            })
            .filter(|(k, v)| header_ok(k, v))
            .collect()
    };
    headers.extend(extra(false));
    let scope = |service: &str, region: &str| Scope {
        service: service.into(),
        region: region.into(),
    };
    let iam = Scope::default();
    let signer: Option<(Credentials, Scope, SystemTime)> = match &r.signing {
        SigningChoice::Valid => Some((st.bootstrap.clone(), iam, now)),
        SigningChoice::Unsigned => None,
        SigningChoice::WrongSecret => Some((
            Credentials::new(st.bootstrap.access_key_id.clone(), WRONG_SECRET),
            iam,
            now,
        )),
        SigningChoice::Skewed(secs) => {
            let secs = (*secs).clamp(-259_200, 259_200);
            let at = if secs >= 0 {
                now + Duration::from_secs(secs as u64)
            } else {
                now - Duration::from_secs(secs.unsigned_abs() as u64)
            };
            Some((st.bootstrap.clone(), iam, at))
        }
        SigningChoice::AsSeenKey(i) => {
            let creds = if st.keys.is_empty() {
                st.bootstrap.clone()
            } else {
                let (id, _, secret) = &st.keys[*i as usize % st.keys.len()];
                Credentials::new(id.clone(), secret.expose())
            };
            Some((creds, iam, now))
        }
        SigningChoice::UnknownKey => {
            Some((Credentials::new(UNKNOWN_KEY_ID, WRONG_SECRET), iam, now))
        }
        SigningChoice::WrongRegion => Some((st.bootstrap.clone(), scope("iam", "us-west-2"), now)),
        SigningChoice::StsScope => Some((st.bootstrap.clone(), scope("sts", "us-east-1"), now)),
        SigningChoice::WrongService => Some((st.bootstrap.clone(), scope("s3", "us-east-1"), now)),
    };
    if let Some((creds, scope, at)) = signer {
        let url = format!("http://{host}{path}");
        // A request the signer cannot express (an unparsable URL, a header value that is not
        // a valid HTTP value) goes out unsigned: the endpoint must still answer it properly.
        if let Ok(added) = sign_headers(&method, &url, &headers, &body, &creds, &scope, at) {
            headers.extend(added);
        }
    }
    headers.extend(extra(true));

    // The UserName the endpoint must have used: exactly one occurrence, in a place every
    // endpoint reads (the query string, or a POST form body).
    let form_body = method == "POST"
        && headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .is_none_or(|(_, v)| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
    let raw_query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let q = decode_form(raw_query.as_bytes()).unwrap_or_default();
    let b = decode_form(&body).unwrap_or_default();
    let names: Vec<&String> = q
        .iter()
        .chain(b.iter())
        .filter(|(k, _)| k == "UserName")
        .map(|(_, v)| v)
        .collect();
    let in_query = q.iter().any(|(k, _)| k == "UserName");
    let user_name = match names.as_slice() {
        [one] if in_query || form_body => Some((*one).clone()),
        _ => None,
    };
    let mut text = format!("{method} {path}\n");
    for (k, v) in &headers {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str(&String::from_utf8_lossy(&body));
    // Decoded parameters too: an endpoint may echo a percent-encoded value decoded.
    for (k, v) in q.iter().chain(b.iter()) {
        text.push_str(&format!("\n{k}={v}"));
    }
    Built {
        http: HttpRequest {
            method,
            path_and_query: path,
            headers,
            body,
        },
        user_name,
        text,
    }
}

/// The request as a violation message quotes it: credentials' signatures left out.
fn describe(req: &HttpRequest) -> String {
    let mut s = format!("{} {}", req.method, req.path_and_query);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("x-amz-security-token")
        {
            s.push_str(&format!(" | {k}: {REDACTED}"));
        } else {
            s.push_str(&format!(" | {k}: {v:?}"));
        }
    }
    let body = &req.body[..req.body.len().min(QUOTE_BYTES)];
    s.push_str(&format!(" | body: {:?}", String::from_utf8_lossy(body)));
    s
}

/// Panics with a secret-free description of a violated rule.
fn violation(
    rule: &str,
    reason: &str,
    req: &HttpRequest,
    status: u16,
    body: &[u8],
    secrets: &[Secret],
) -> ! {
    let excerpt = judge(Model::embedded(), OPERATION, status, body, secrets)
        .observed
        .excerpt;
    let msg = format!(
        "contract violation [{rule}]: {reason}\n  request: {}\n  response: HTTP {status}: {excerpt}",
        describe(req)
    );
    panic!("{}", scrub(&msg, secrets));
}

/// The contract's response rules that need only the request and the response: well-formed
/// XML, no 5xx, the error envelope and its status for known codes, the success envelope, and
/// for CreateAccessKey successes every output rule ([`output_failures`]) plus the UserName
/// echo. Returns `(rule id, reason)` pairs.
fn response_failures(built: &Built, status: u16, body: &[u8]) -> Vec<(&'static str, String)> {
    let model = Model::embedded();
    let mut out = Vec::new();
    if status >= 500 {
        out.push((
            RuleId::ProtoNoServerErrors.as_str(),
            format!("HTTP {status}, expected a status below 500"),
        ));
    }
    // A HEAD response has no body by definition.
    if built.http.method == "HEAD" {
        return out;
    }
    let probe = decode_response(model, OPERATION, body);
    if let Some(p) = probe.problems.iter().find(|p| {
        matches!(
            p,
            WireProblem::IllFormed { .. }
                | WireProblem::NotUtf8
                | WireProblem::EmptyBody
                | WireProblem::TooLarge { .. }
        )
    }) {
        out.push((RuleId::OutputWellFormed.as_str(), p.to_string()));
        return out;
    }
    if let Outcome::Error(e) = &probe.outcome {
        if status < 400 {
            out.push((
                RuleId::ErrorEnvelope.as_str(),
                format!("an error body with HTTP {status}"),
            ));
            return out;
        }
        for problem in crate::contract::judge::error_envelope_problems(model, status, e) {
            out.push((RuleId::ErrorEnvelope.as_str(), problem));
        }
        return out;
    }
    if status >= 400 {
        out.push((
            RuleId::ErrorEnvelope.as_str(),
            "an ErrorResponse/Error{Type,Code,Message} body for an HTTP error".into(),
        ));
        return out;
    }
    if !(200..300).contains(&status) {
        return out;
    }
    let root_op = match probe.problems.iter().find_map(|p| match p {
        WireProblem::WrongRoot { found, .. } => Some(found.clone()),
        _ => None,
    }) {
        None => OPERATION.to_owned(),
        Some(found) => match found.strip_suffix("Response") {
            Some("GetCallerIdentity") => return out,
            Some(op) if model.operation(op).is_some() => op.to_owned(),
            _ => {
                out.push((
                    RuleId::OutputEnvelope.as_str(),
                    format!("root element <{found}> is no operation's response"),
                ));
                return out;
            }
        },
    };
    if root_op != OPERATION {
        let d = decode_response(model, &root_op, body);
        for p in &d.problems {
            if let WireProblem::WrongNamespace { .. } | WireProblem::MissingWrapper { .. } = p {
                out.push((RuleId::OutputEnvelope.as_str(), p.to_string()));
            }
        }
        return out;
    }
    let j = judge(model, OPERATION, status, body, &[]);
    out.extend(
        output_failures(model, &j)
            .into_iter()
            .map(|(r, why)| (r.as_str(), why)),
    );
    if let Some(want) = &built.user_name {
        let got = j.str_at("/AccessKey/UserName").unwrap_or_default();
        // IAM user names are unique case-insensitively, so a name given in another case names
        // the same user, and the echo may be the user's own spelling.
        if got.to_lowercase() != want.to_lowercase() {
            out.push((
                RuleId::OutputUserNameEcho.as_str(),
                format!("AccessKey.UserName {got:?}, expected {want:?}"),
            ));
        }
    }
    out
}

/// A response as the session sees it.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// Learns from a response: new users, new keys and their secrets. Returns the new key's
/// secret when the response created one, and checks that its ID was never handed out before
/// (unless the endpoint is allowed to reuse IDs).
fn learn(st: &mut State, built: &Built, reply: &Reply, allow_id_reuse: bool) -> Option<Secret> {
    if !(200..300).contains(&reply.status) {
        return None;
    }
    let model = Model::embedded();
    let text = std::str::from_utf8(&reply.body).ok()?;
    if text.contains("<CreateUserResponse") {
        let d = decode_response(model, "CreateUser", &reply.body);
        if let Outcome::Success { value, .. } = &d.outcome
            && let Some(name) = value.pointer("/User/UserName").and_then(Value::as_str)
            && !st.users.iter().any(|u| u == name)
        {
            st.users.push(name.to_owned());
        }
        return None;
    }
    if !text.contains("<CreateAccessKeyResponse") {
        return None;
    }
    let d = decode_response(model, OPERATION, &reply.body);
    let Outcome::Success { value, .. } = &d.outcome else {
        return None;
    };
    let id = value
        .pointer("/AccessKey/AccessKeyId")?
        .as_str()?
        .to_owned();
    let user = value
        .pointer("/AccessKey/UserName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let secret = d
        .secrets
        .iter()
        .find(|(p, _)| p == "/AccessKey/SecretAccessKey")
        .map(|(_, s)| s.clone())?;
    if !allow_id_reuse && !st.ids_seen.insert(id.clone()) {
        violation(
            RuleId::LifeUniqueIds.as_str(),
            &format!("access key ID {id} was handed out before"),
            &built.http,
            reply.status,
            &reply.body,
            &st.secrets,
        );
    }
    st.ids_seen.insert(id.clone());
    if !st.secrets.contains(&secret) {
        st.secrets.push(secret.clone());
    }
    st.keys.push((id, user, secret.clone()));
    Some(secret)
}

/// Secrets appear only where they are handed out: in the CreateAccessKey response that created
/// the key. A secret the request itself carried may come back as an echo.
fn check_secrets(st: &State, built: &Built, reply: &Reply, new_secret: Option<&Secret>) {
    let body = String::from_utf8_lossy(&reply.body);
    for s in &st.secrets {
        if Some(s) == new_secret || !s.appears_in(&body) || s.appears_in(&built.text) {
            continue;
        }
        violation(
            "secret-only-at-creation",
            "a response other than the key's own CreateAccessKey carries a known secret",
            &built.http,
            reply.status,
            &reply.body,
            &st.secrets,
        );
    }
}

fn session(data: &[u8]) -> Option<Session> {
    let mut s = Session::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    s.requests.truncate(MAX_REQUESTS);
    s.faults.truncate(3);
    Some(s)
}

fn embedded_clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(EMBEDDED_EPOCH_SECS))
}

// ---------------------------------------------------------------------------------------------
// emulator_request

/// Structured requests through the emulator's handler in-process, with up to three faults
/// switched on (never `race-quota`, whose deliberate sleep would stall the fuzzer). After every
/// request: no panic; without faults, no 5xx and every response rule of [`response_failures`];
/// with faults, well-formed XML unless `raw-xml` or `no-error-envelope` is on (several faults
/// answer 5xx on purpose, so status is not judged then); the store's invariants hold (at most
/// the quota of keys per user unless `no-key-quota`, every key listed by exactly its owner, no
/// duplicate IDs, no ID handed out twice unless `reuse-key-ids`); no known secret in any
/// response but its own CreateAccessKey (unless `secret-in-list`).
pub fn emulator_request(data: &[u8]) {
    let Some(s) = session(data) else { return };
    let faults: FaultSet = s
        .faults
        .iter()
        .map(|i| Fault::all()[*i as usize % Fault::all().len()])
        .filter(|f| *f != Fault::RaceQuota)
        .collect();
    let has = |f: Fault| faults.contains(f);
    let clock = embedded_clock();
    let mut config = Config::default().with_seed(0).with_clock(clock.clone());
    config.faults = faults;
    let Ok(emu) = Emulator::new(config) else {
        panic!("emulator_request: the default emulator does not start");
    };
    let quota = Model::embedded().facts().key_quota();
    let mut st = State::new(emu.credentials().clone());
    for r in &s.requests {
        let built = build(r, &st, EMBEDDED_HOST, clock.now(), false);
        let resp = emu.handle(&built.http);
        let reply = Reply {
            status: resp.status,
            body: resp.body,
        };
        let fail = |rule: &str, reason: &str, st: &State| -> ! {
            violation(
                rule,
                reason,
                &built.http,
                reply.status,
                &reply.body,
                &st.secrets,
            )
        };
        if faults.is_empty() {
            if let Some((rule, reason)) = response_failures(&built, reply.status, &reply.body)
                .into_iter()
                .next()
            {
                fail(rule, &reason, &st);
            }
        } else if !has(Fault::RawXml) && !has(Fault::NoErrorEnvelope) {
            let d = decode_response(Model::embedded(), OPERATION, &reply.body);
            if let Some(p) = d.problems.iter().find(|p| {
                matches!(
                    p,
                    WireProblem::IllFormed { .. } | WireProblem::NotUtf8 | WireProblem::EmptyBody
                )
            }) {
                fail(RuleId::OutputWellFormed.as_str(), &p.to_string(), &st);
            }
        }
        let new_secret = learn(&mut st, &built, &reply, has(Fault::ReuseKeyIds));
        if !has(Fault::SecretInList) {
            check_secrets(&st, &built, &reply, new_secret.as_ref());
        }
        let inv = emu.inventory();
        let mut listed = HashSet::new();
        for u in &inv.users {
            if u.key_ids.len() > quota && !has(Fault::NoKeyQuota) {
                fail(
                    "store.quota",
                    &format!("user {:?} holds {} keys", u.name, u.key_ids.len()),
                    &st,
                );
            }
            for id in &u.key_ids {
                if !listed.insert(id.clone()) {
                    fail("store.unique-ids", &format!("key {id} listed twice"), &st);
                }
                if !inv.keys.iter().any(|k| &k.id == id && k.owner == u.folded) {
                    fail(
                        "store.consistent",
                        &format!("key {id} listed by {:?} but not owned by it", u.name),
                        &st,
                    );
                }
            }
        }
        if listed.len() != inv.keys.len() {
            fail(
                "store.consistent",
                &format!(
                    "{} keys stored but {} listed by users",
                    inv.keys.len(),
                    listed.len()
                ),
                &st,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// endpoint

/// Environment variable naming a live endpoint (`http://127.0.0.1:PORT`) for `endpoint`.
pub const ENDPOINT_VAR: &str = "IAM_CONTRACT_FUZZ_ENDPOINT";
/// Its credentials; the AWS example pair (the emulator's default) when unset.
pub const ACCESS_KEY_VAR: &str = "IAM_CONTRACT_FUZZ_ACCESS_KEY_ID";
pub const SECRET_KEY_VAR: &str = "IAM_CONTRACT_FUZZ_SECRET_ACCESS_KEY";

/// The same structured requests as `emulator_request`, judged only by the contract's response
/// rules ([`response_failures`]), the UserName echo and the secret rule, as a black-box client
/// sees them. Sent to the live endpoint named by [`ENDPOINT_VAR`] (loopback only), signed with
/// [`ACCESS_KEY_VAR`]/[`SECRET_KEY_VAR`]; with the variable unset, to a fresh embedded emulator
/// ([`endpoint_embedded`]).
pub fn endpoint(data: &[u8]) {
    match live_endpoint() {
        None => endpoint_embedded(data),
        Some(Err(e)) => panic!("endpoint: {ENDPOINT_VAR} is unusable: {e}"),
        Some(Ok(live)) => endpoint_live(live, data),
    }
}

/// [`endpoint`] against a fresh embedded emulator, whatever the environment says.
pub fn endpoint_embedded(data: &[u8]) {
    let Some(s) = session(data) else { return };
    let clock = embedded_clock();
    let Ok(emu) = Emulator::new(Config::default().with_seed(0).with_clock(clock.clone())) else {
        panic!("endpoint: the default emulator does not start");
    };
    let mut st = State::new(emu.credentials().clone());
    for r in &s.requests {
        let built = build(r, &st, EMBEDDED_HOST, clock.now(), false);
        let resp = emu.handle(&built.http);
        judge_reply(
            &mut st,
            &built,
            Reply {
                status: resp.status,
                body: resp.body,
            },
        );
    }
}

fn judge_reply(st: &mut State, built: &Built, reply: Reply) {
    if let Some((rule, reason)) = response_failures(built, reply.status, &reply.body)
        .into_iter()
        .next()
    {
        violation(
            rule,
            &reason,
            &built.http,
            reply.status,
            &reply.body,
            &st.secrets,
        );
    }
    let new_secret = learn(st, built, &reply, false);
    check_secrets(st, built, &reply, new_secret.as_ref());
}

/// A live endpoint on a loopback address.
#[derive(Debug)]
struct Live {
    addr: std::net::SocketAddr,
    /// `host[:port]` as the Host header and the signature name it.
    authority: String,
    credentials: Credentials,
}

fn live_endpoint() -> Option<&'static Result<Live, String>> {
    static LIVE: OnceLock<Option<Result<Live, String>>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let url = std::env::var(ENDPOINT_VAR).ok().filter(|v| !v.is_empty())?;
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credentials = match (get(ACCESS_KEY_VAR), get(SECRET_KEY_VAR)) {
            (Some(id), Some(secret)) => Credentials::new(id, secret),
            _ => Credentials::example(),
        };
        Some(parse_live(&url).map(|(addr, authority)| Live {
            addr,
            authority,
            credentials,
        }))
    })
    .as_ref()
}

/// Parses an endpoint URL and refuses everything but plain HTTP to a loopback address.
fn parse_live(url: &str) -> Result<(std::net::SocketAddr, String), String> {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let u = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!(
            "scheme {:?}: only http:// to a loopback address is supported",
            u.scheme()
        ));
    }
    let port = u.port_or_known_default().unwrap_or(80);
    let ip = match u.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        _ => return Err("the host must be 127.0.0.1, [::1] or localhost".into()),
    };
    if !ip.is_loopback() {
        return Err(format!(
            "refusing {ip}: only loopback addresses are allowed"
        ));
    }
    let authority = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("127.0.0.1")),
        None => u.host_str().unwrap_or("127.0.0.1").to_owned(),
    };
    Ok((SocketAddr::new(ip, port), authority))
}

/// Actions that change or remove existing state: on a live endpoint they may only touch what
/// this input created, so that fuzzing never deletes or disables the credentials it signs with
/// or anything that was there before.
const GUARDED_ACTIONS: [&str; 3] = ["DeleteUser", "DeleteAccessKey", "UpdateAccessKey"];

/// Whether a request is safe to send to a live endpoint.
fn safe_for_live(built: &Built, st: &State) -> bool {
    let raw_query = built
        .http
        .path_and_query
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("");
    let mut params = decode_form(raw_query.as_bytes()).unwrap_or_default();
    match decode_form(&built.http.body) {
        Ok(b) => params.extend(b),
        // Undecodable bodies hide their parameters; some endpoint may still read them.
        Err(_) => return false,
    }
    let guarded = params.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("Action")
            && GUARDED_ACTIONS
                .iter()
                .any(|a| a.eq_ignore_ascii_case(v.trim()))
    });
    if !guarded {
        return true;
    }
    let own_key = |v: &str| st.keys.iter().any(|(id, _, _)| id == v);
    let own_user = |v: &str| st.users.iter().any(|u| u.eq_ignore_ascii_case(v));
    let mut named_user = false;
    for (k, v) in &params {
        if k.eq_ignore_ascii_case("AccessKeyId") && !own_key(v) {
            return false;
        }
        if k.eq_ignore_ascii_case("UserName") {
            named_user = true;
            if !own_user(v) && !st.keys.iter().any(|(_, u, _)| u.eq_ignore_ascii_case(v)) {
                return false;
            }
        }
    }
    // Without a UserName the target is the signer, possibly the bootstrap user.
    named_user
}

fn endpoint_live(live: &Live, data: &[u8]) {
    let Some(s) = session(data) else { return };
    let mut st = State::new(live.credentials.clone());
    for r in &s.requests {
        let built = build(r, &st, &live.authority, SystemTime::now(), true);
        if !safe_for_live(&built, &st) {
            continue;
        }
        let reply = match http_send(live, &built.http) {
            Ok(r) => r,
            Err(e) => {
                let e = scrub(&e, &st.secrets);
                panic!(
                    "endpoint: transport failure ({e})\n  request: {}",
                    scrub(&describe(&built.http), &st.secrets)
                )
            }
        };
        judge_reply(&mut st, &built, reply);
    }
    cleanup_live(live, &st);
}

/// Deletes what the input created (keys, then users), signed as the bootstrap user. Best
/// effort: failures are ignored, the next input starts regardless.
fn cleanup_live(live: &Live, st: &State) {
    let send = |params: &[(&str, &str)]| {
        let mut p = vec![
            ("Action", params[0].1),
            ("Version", Model::embedded().metadata().api_version.as_str()),
        ];
        p.extend_from_slice(&params[1..]);
        let body = encode_form(&p).into_bytes();
        let mut headers = vec![
            ("host".to_owned(), live.authority.clone()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let url = format!("http://{}/", live.authority);
        if let Ok(added) = sign_headers(
            "POST",
            &url,
            &headers,
            &body,
            &live.credentials,
            &Scope::default(),
            SystemTime::now(),
        ) {
            headers.extend(added);
        }
        let _ = http_send(
            live,
            &HttpRequest {
                method: "POST".into(),
                path_and_query: "/".into(),
                headers,
                body,
            },
        );
    };
    for (id, user, _) in &st.keys {
        if id != &live.credentials.access_key_id {
            send(&[
                ("Action", "DeleteAccessKey"),
                ("UserName", user),
                ("AccessKeyId", id),
            ]);
        }
    }
    for u in &st.users {
        send(&[("Action", "DeleteUser"), ("UserName", u)]);
    }
}

/// Largest response the live client reads.
const MAX_RESPONSE: usize = 8 * 1024 * 1024;

/// Sends one request over a fresh connection (`Connection: close`) and reads the response.
/// Blocking, bounded in time and size; loopback only (the address was checked by
/// [`parse_live`]).
fn http_send(live: &Live, req: &HttpRequest) -> Result<Reply, String> {
    use std::io::{Read, Write};
    let timeout = Duration::from_secs(30);
    let mut stream = std::net::TcpStream::connect_timeout(&live.addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {}: {e}", live.addr))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path_and_query);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    ));
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(&req.body))
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    parse_http_response(&raw, req.method == "HEAD")
}

/// Parses an HTTP/1.x response read to the end of the connection: status line, headers, and
/// a body framed by `Transfer-Encoding: chunked`, `Content-Length` or the end of the stream.
fn parse_http_response(raw: &[u8], head_request: bool) -> Result<Reply, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        } else if k.eq_ignore_ascii_case("content-length") {
            length = Some(v.parse().map_err(|_| format!("bad content-length {v:?}"))?);
        }
    }
    let rest = &raw[end + 4..];
    if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Reply {
            status,
            body: Vec::new(),
        });
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or("body shorter than its content-length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unterminated chunk size")?;
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        assert!(parse_live("http://127.0.0.1:5000").is_ok());
        assert!(parse_live("http://localhost:5000/").is_ok());
        assert!(parse_live("http://[::1]:8333").is_ok());
        for bad in [
            "http://10.0.0.1:5000",
            "http://example.com",
            "https://127.0.0.1:5000",
            "http://0.0.0.0:5000",
            "not a url",
        ] {
            assert!(parse_live(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_responses_are_framed() {
        let r = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", false)
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abc"[..]));
        let r = parse_http_response(
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (400, &b"abcde"[..]));
        assert!(parse_http_response(b"garbage", false).is_err());
        assert!(
            parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", false).is_err()
        );
    }

    #[test]
    fn a_valid_create_passes_every_rule() {
        // A session that is just "create a key for the bootstrap user, validly signed".
        let st = State::new(Credentials::example());
        let req = FuzzRequest {
            method: Method::Post,
            path: PathChoice::Root,
            action: Some(Placed {
                value: ActionChoice::Op(
                    operation_names()
                        .iter()
                        .position(|o| o == OPERATION)
                        .unwrap() as u8,
                ),
                in_query: false,
            }),
            version: Some(Placed {
                value: VersionChoice::Iam,
                in_query: false,
            }),
            params: vec![Placed {
                value: ParamChoice::UserName(NameChoice::Pool(NAME_POOL.len() as u8)),
                in_query: false,
            }],
            encoding: Encoding::Aws,
            content_type: ContentType::FormUtf8,
            headers: vec![],
            raw_body: None,
            signing: SigningChoice::Valid,
        };
        let clock = embedded_clock();
        let emu = Emulator::new(Config::default().with_seed(0).with_clock(clock.clone())).unwrap();
        let built = build(&req, &st, EMBEDDED_HOST, clock.now(), false);
        assert_eq!(built.user_name.as_deref(), Some("admin"));
        let resp = emu.handle(&built.http);
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert!(response_failures(&built, resp.status, &resp.body).is_empty());
    }

    #[test]
    fn violations_never_quote_a_secret() {
        let secret = Secret::new(crate::client::EXAMPLE_SECRET_ACCESS_KEY);
        let req = HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![],
            body: format!("x={}", secret.expose()).into_bytes(),
        };
        let body = format!("<Oops>{}</Oops>", secret.expose());
        let err = std::panic::catch_unwind(|| {
            violation(
                "r",
                "why",
                &req,
                500,
                body.as_bytes(),
                std::slice::from_ref(&secret),
            )
        })
        .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("contract violation [r]"));
        assert!(!secret.appears_in(msg), "{msg}");
    }
}

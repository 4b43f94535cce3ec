//! The request grammar of the `emulator_request` and `endpoint` targets: [`Session`] and
//! [`FuzzRequest`] are drawn from fuzz bytes with [`arbitrary`], as grammar choices (an
//! operation by index, a user name from a pool, a boundary or a near miss, a signing mistake)
//! rather than bytes, so that most inputs reach the handler's deeper paths. [`build`] turns
//! one choice into an [`HttpRequest`] against what the input has learnt so far ([`State`]),
//! signs it as chosen, and notes what the judges need to know about it ([`Built`]).
//!
//! Pure: no IO, no clock (the time to sign at is passed in), no randomness but the input's.
//! Must not judge a response; that is `oracle`'s job.

use super::OPERATION;
use crate::client::{Credentials, Scope, sign_headers};
use crate::emulator::HttpRequest;
use crate::generate::{HOSTILE_CHARS, UNICODE_WORD_CHARS, string_boundaries, valid_of_length};
use crate::model::Model;
use crate::secret::Secret;
use crate::wire::{decode_form, encode_form};
use arbitrary::{Arbitrary, Unstructured};
use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Bounds that keep one input cheap: libFuzzer's speed comes from many small executions.
const MAX_REQUESTS: usize = 10;
const MAX_PARAMS: usize = 8;
const MAX_HEADERS: usize = 4;
const MAX_RAW_BODY: usize = 256;
/// The secret used for "wrong secret" signing: not anyone's key.
const WRONG_SECRET: &str = "fuzz-wrong-secret-0000000000000000000000";
const UNKNOWN_KEY_ID: &str = "AKIAFUZZUNKNOWNKEY00";
/// Headers a real socket's framing owns: a fuzzed value for one of them would change how the
/// request or the connection is read, not what the endpoint is asked.
const FRAMING_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "expect",
    "upgrade",
];
/// Visible ASCII that an HTTP/1.1 request target may not carry raw (RFC 3986: `#` starts a
/// fragment, the others are not URI characters at all), percent-encoded in wire-safe paths.
const NOT_IN_TARGET: &[u8] = b"\"#<>`";

/// One fuzz input for `emulator_request` and `endpoint`: faults to switch on (emulator only)
/// and a short sequence of requests against one fresh endpoint state.
#[derive(Debug, Arbitrary)]
pub struct Session {
    /// Indexes into [`crate::emulator::Fault::all`]; most inputs leave this empty, since fault-free runs check
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
pub(super) const NAME_POOL: &[&str] = &["alice", "Bob", "carol+x=y,z.w@v-u_", "a", "fuzz-user-1"];

/// A request as built, with what the judges need to know about it.
pub(super) struct Built {
    pub(super) http: HttpRequest,
    /// The UserName the endpoint must have used, when the request names one unambiguously.
    pub(super) user_name: Option<String>,
    /// Everything the request carried, for telling an echo from a leak.
    pub(super) text: String,
}

/// What one input has learnt about the endpoint.
pub(super) struct State {
    pub(super) bootstrap: Credentials,
    /// Names of users this input created.
    pub(super) users: Vec<String>,
    /// Keys this input created: ID, owner, secret.
    pub(super) keys: Vec<(String, String, Secret)>,
    /// Every key ID ever handed out in this input (and the bootstrap key's).
    pub(super) ids_seen: HashSet<String>,
    /// Every secret known: the bootstrap secret and each new key's.
    pub(super) secrets: Vec<Secret>,
}

impl State {
    pub(super) fn new(bootstrap: Credentials) -> State {
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

pub(super) fn operation_names() -> &'static [String] {
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

/// Parses the bytes of one input. `None` when they do not describe a session.
pub(super) fn session(data: &[u8]) -> Option<Session> {
    let mut s = Session::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    s.requests.truncate(MAX_REQUESTS);
    s.faults.truncate(3);
    Some(s)
}

/// Builds the request. `wire_safe` keeps it valid HTTP/1.1 that the live transport can send: a
/// method that is not a token (or is `CONNECT`, which opens a tunnel) becomes POST, the path is
/// percent-encoded to what a request target may hold, headers that would break framing are
/// dropped, and characters a header value cannot carry are replaced. In-process, the emulator
/// gets the raw strings.
pub(super) fn build(
    r: &FuzzRequest,
    st: &State,
    host: &str,
    now: SystemTime,
    wire_safe: bool,
) -> Built {
    let method = method_text(&r.method, wire_safe);
    let pairs = param_pairs(r, st);
    let body = body_bytes(r, &pairs);
    let path = path_text(r, &pairs, wire_safe);
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    if let Some(ct) = content_type_text(&r.content_type)
        && header_ok("content-type", &ct, wire_safe)
    {
        headers.push(wire_header("content-type".into(), ct, wire_safe));
    }
    headers.extend(extra_headers(r, false, wire_safe));
    if let Some((creds, scope, at)) = signer(&r.signing, st, now) {
        let url = format!("http://{host}{path}");
        // A request the signer cannot express (an unparsable URL, a header value that is not
        // a valid HTTP value) goes out unsigned: the endpoint must still answer it properly.
        if let Ok(added) = sign_headers(&method, &url, &headers, &body, &creds, &scope, at) {
            headers.extend(added);
        }
    }
    headers.extend(extra_headers(r, true, wire_safe));
    let http = HttpRequest {
        method,
        path_and_query: path,
        headers,
        body,
    };
    let (user_name, text) = what_it_says(&http);
    Built {
        http,
        user_name,
        text,
    }
}

fn method_text(m: &Method, wire_safe: bool) -> String {
    let method = match m {
        Method::Post => "POST".to_owned(),
        Method::Get => "GET".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Head => "HEAD".into(),
        Method::Other(s) => s.clone(),
    };
    if wire_safe && (!is_token(&method) || method == "CONNECT") {
        return "POST".into();
    }
    method
}

/// The request's parameters in order: name, value, and whether it goes in the query string.
fn param_pairs(r: &FuzzRequest, st: &State) -> Vec<(String, String, bool)> {
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
            ParamChoice::Status(s) => ("Status".into(), status_text(s)),
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
    pairs
}

fn status_text(s: &StatusChoice) -> String {
    match s {
        StatusChoice::Active => "Active".into(),
        StatusChoice::Inactive => "Inactive".into(),
        StatusChoice::Expired => "Expired".into(),
        StatusChoice::Lowercase => "inactive".into(),
        StatusChoice::Raw(s) => s.clone(),
    }
}

/// The pairs that go in the query string (`in_query`) or the body, encoded as chosen.
fn encode_pairs(r: &FuzzRequest, pairs: &[(String, String, bool)], in_query: bool) -> String {
    let chosen = pairs.iter().filter(|p| p.2 == in_query);
    match r.encoding {
        Encoding::Aws => encode_form(
            &chosen
                .map(|(k, v, _)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ),
        Encoding::Raw => chosen
            .map(|(k, v, _)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
    }
}

/// The body: the body pairs, then the raw bytes after an `&`.
fn body_bytes(r: &FuzzRequest, pairs: &[(String, String, bool)]) -> Vec<u8> {
    let mut body = encode_pairs(r, pairs, false).into_bytes();
    if let Some(raw) = &r.raw_body {
        if !body.is_empty() {
            body.push(b'&');
        }
        body.extend(raw.iter().take(MAX_RAW_BODY));
    }
    body
}

/// The path and query string; wire-safe, every byte a request target may not hold raw is
/// percent-encoded.
fn path_text(r: &FuzzRequest, pairs: &[(String, String, bool)], wire_safe: bool) -> String {
    let mut path = match &r.path {
        PathChoice::Root => "/".to_owned(),
        PathChoice::Raw(s) => format!("/{}", s.trim_start_matches('/')),
    };
    let query = encode_pairs(r, pairs, true);
    if !query.is_empty() {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(&query);
    }
    if !wire_safe {
        return path;
    }
    path.bytes()
        .map(|b| {
            if (0x21..0x7f).contains(&b) && !NOT_IN_TARGET.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn content_type_text(c: &ContentType) -> Option<String> {
    match c {
        ContentType::FormUtf8 => Some("application/x-www-form-urlencoded; charset=utf-8".into()),
        ContentType::Form => Some("application/x-www-form-urlencoded".into()),
        ContentType::Missing => None,
        ContentType::Json => Some("application/json".into()),
        ContentType::Raw(s) => Some(s.clone()),
    }
}

/// Whether a header may be sent. In-process, anything goes. Wire-safe: a token name that is
/// not one of the [`FRAMING_HEADERS`], and a value without CR, LF or NUL, which would end the
/// header or the request early.
fn header_ok(k: &str, v: &str, wire_safe: bool) -> bool {
    !wire_safe
        || (is_token(k)
            && !v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
            && !FRAMING_HEADERS.iter().any(|h| k.eq_ignore_ascii_case(h)))
}

/// A header as sent. In-process, unchanged. Wire-safe, every character HTTP does not allow
/// in a field value (a control character other than tab, DEL; in `Authorization`, which the
/// transport insists on reading as text, anything outside visible ASCII) becomes `?`, so the
/// header still goes out with a value as bogus as the one drawn.
fn wire_header(k: String, v: String, wire_safe: bool) -> (String, String) {
    if !wire_safe {
        return (k, v);
    }
    let text_only = k.eq_ignore_ascii_case("authorization");
    let bad = |c: char| (c.is_ascii_control() && c != '\t') || (text_only && !c.is_ascii());
    let v = if v.chars().any(bad) {
        v.chars().map(|c| if bad(c) { '?' } else { c }).collect()
    } else {
        v
    };
    (k, v)
}

/// The chosen extra headers that go before (`after_signing == false`) or after signing.
fn extra_headers(r: &FuzzRequest, after_signing: bool, wire_safe: bool) -> Vec<(String, String)> {
    r.headers
        .iter()
        .take(MAX_HEADERS)
        .filter(|h| h.after_signing == after_signing)
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
        .filter(|(k, v)| header_ok(k, v, wire_safe))
        .map(|(k, v)| wire_header(k, v, wire_safe))
        .collect()
}

/// Who signs, for which scope, at what time; `None` for an unsigned request.
fn signer(
    choice: &SigningChoice,
    st: &State,
    now: SystemTime,
) -> Option<(Credentials, Scope, SystemTime)> {
    let scope = |service: &str, region: &str| Scope {
        service: service.into(),
        region: region.into(),
    };
    let iam = Scope::default();
    let bootstrap = || st.bootstrap.clone();
    match choice {
        SigningChoice::Valid => Some((bootstrap(), iam, now)),
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
            Some((bootstrap(), iam, at))
        }
        SigningChoice::AsSeenKey(i) => {
            let creds = if st.keys.is_empty() {
                bootstrap()
            } else {
                let (id, _, secret) = &st.keys[*i as usize % st.keys.len()];
                Credentials::new(id.clone(), secret.expose())
            };
            Some((creds, iam, now))
        }
        SigningChoice::UnknownKey => {
            Some((Credentials::new(UNKNOWN_KEY_ID, WRONG_SECRET), iam, now))
        }
        SigningChoice::WrongRegion => Some((bootstrap(), scope("iam", "us-west-2"), now)),
        SigningChoice::StsScope => Some((bootstrap(), scope("sts", "us-east-1"), now)),
        SigningChoice::WrongService => Some((bootstrap(), scope("s3", "us-east-1"), now)),
    }
}

/// What a built request says, for the judges: the UserName the endpoint must have used, and
/// everything the request carried (to tell an echo from a leak).
fn what_it_says(http: &HttpRequest) -> (Option<String>, String) {
    // The UserName the endpoint must have used: exactly one occurrence, in a place every
    // endpoint reads (the query string, or a POST form body as the emulator reads it).
    let form_body = http.method == "POST" && http.declares_form();
    let q = decode_form(http.target().1.as_bytes()).unwrap_or_default();
    let b = decode_form(&http.body).unwrap_or_default();
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
    let mut text = format!("{} {}\n", http.method, http.path_and_query);
    for (k, v) in &http.headers {
        text.push_str(&format!("{k}: {v}\n"));
    }
    text.push_str(&String::from_utf8_lossy(&http.body));
    // Decoded parameters too: an endpoint may echo a percent-encoded value decoded.
    for (k, v) in q.iter().chain(b.iter()) {
        text.push_str(&format!("\n{k}={v}"));
    }
    (user_name, text)
}

/// One request: "create a key for the bootstrap user, validly signed".
#[cfg(test)]
pub(super) fn valid_create() -> FuzzRequest {
    let op = operation_names().iter().position(|o| o == OPERATION);
    FuzzRequest {
        method: Method::Post,
        path: PathChoice::Root,
        action: Some(Placed {
            value: ActionChoice::Op(op.expect("the model has CreateAccessKey") as u8),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_safe_methods_are_tokens_the_transport_sends_as_requests() {
        let wire = |m: &str| method_text(&Method::Other(m.into()), true);
        assert_eq!(wire("PROPFIND"), "PROPFIND");
        assert_eq!(wire("get"), "get");
        // Not a token: it would break the request line.
        assert_eq!(wire("GET /x"), "POST");
        assert_eq!(wire(""), "POST");
        // A token, but the transport would open a tunnel instead of sending a request.
        assert_eq!(wire("CONNECT"), "POST");
        // In-process, the emulator gets the raw method.
        assert_eq!(
            method_text(&Method::Other("GET /x".into()), false),
            "GET /x"
        );
    }
}

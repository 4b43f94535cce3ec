//! The emulator's request handler: plain HTTP request in, plain HTTP response out.
//!
//! [`Emulator::handle`] parses the awsQuery protocol (form body for `POST`, query string for
//! `GET`), verifies SigV4, authorizes, validates input against the model (AWS wording from
//! [`crate::model::aws_validation_message`]), dispatches to the [`Store`] and encodes XML with
//! [`crate::wire`]. It does no IO: time and randomness come from the [`Config`], and the only
//! waiting it ever does is the `race-quota` fault's deliberate 2 ms sleep. The store lock is
//! never held during signature crypto or XML encoding.
//!
//! Calls signed by the account root that name no user go to the [`root`] submodule (the root's
//! own identity and keys).
//!
//! Documented choices: a duplicate parameter's first occurrence wins; for `POST`, a parameter
//! in the body wins over the same parameter in the query string; more than the allowed clock
//! skew is `403 SignatureDoesNotMatch` with AWS's wording (presigned requests included,
//! whatever their `X-Amz-Expires`); methods other than `GET` and `POST` are `405` and never
//! change state; bodies over the limit are `413 RequestEntityTooLarge`.

use super::fault::{Fault, FaultSet};
use super::policy::{self, Decision, PolicyDocument, Quirks};
use super::sigv4::{self, Parsed, Signable};
use super::store::{InlinePolicy, Key, Policy, ROOT_OWNER, Store, StoreError, User};
use super::{ACCOUNT_ID, BootstrapCaller, Clock, Config, EmulatorError, REGION};
use crate::credentials::Credentials;
use crate::model::{Constraint, Model, ShapeKind, aws_validation_message, validate_input};
use crate::secret::Secret;
use crate::wire::{decode_form, encode_error, encode_success, escape_text};
use rand::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod root;

const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const STS_VERSION: &str = "2011-06-15";
/// The namespace the `wrong-namespace` fault writes instead of the right one.
const WRONG_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-09/";
const SLOW_DELAY: Duration = Duration::from_millis(50);
/// Long enough that parallel creates overlap even on a loaded two-core machine (2 ms did not
/// always; with 25 ms the fault test failed once in four runs, most likely here, once the test
/// build's dependencies were left unoptimised and signing spread parallel requests further).
const RACE_WINDOW: Duration = Duration::from_millis(200);
const KEY_ACTIONS: [&str; 5] = [
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "GetAccessKeyLastUsed",
];
/// The document the `accept-malformed-policy` fault stores in place of one that does not parse.
const ALLOWS_NOTHING: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"*","Resource":"*"}}"#;
/// What `GetUserPolicy` leaves unescaped in the document (RFC 3986's unreserved characters).
const URI_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An HTTP request as the handler sees it. `path_and_query` starts with `/`; header names
/// may be in any case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The path and the raw (still percent-encoded) query string: what comes before and after
    /// the first `?` of `path_and_query`.
    pub fn target(&self) -> (&str, &str) {
        self.path_and_query
            .split_once('?')
            .unwrap_or((self.path_and_query.as_str(), ""))
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the headers let the body be an awsQuery form: no `Content-Type` at all, or one
    /// that starts with `application/x-www-form-urlencoded` (any parameters, any case). The
    /// handler decodes the body of a `POST` only then; other bodies are ignored.
    pub fn declares_form(&self) -> bool {
        self.header("content-type").is_none_or(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    }
}

/// An HTTP response. `delay` is how long the adapter should wait before sending it (the
/// `slow` fault); the handler itself never sleeps for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A secret-free snapshot of the emulator's store ([`Emulator::inventory`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    /// Users in lookup-key order.
    pub users: Vec<InventoryUser>,
    /// Every key the store holds, in no particular order.
    pub keys: Vec<InventoryKey>,
}

/// One user in an [`Inventory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryUser {
    /// The lookup key (the name folded to lower case unless `case-sensitive-names`).
    pub folded: String,
    pub name: String,
    /// The user's key IDs in creation order.
    pub key_ids: Vec<String>,
}

/// One key in an [`Inventory`]; never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryKey {
    pub id: String,
    /// The owner's lookup key (`:root` for the account root's keys).
    pub owner: String,
    pub status: String,
}

/// Authorizes an action of the caller on a user (`None`: no user, as for ListUsers), `bool`
/// saying whether the request named it; see [`Emulator::authorize`].
type Gate<'a> = dyn Fn(&Store, &str, Option<&str>, bool) -> Result<(), ApiError> + 'a;

/// An error answer before encoding.
#[derive(Debug)]
struct ApiError {
    status: u16,
    sender: bool,
    code: String,
    message: String,
}

/// Who signed the request.
struct Caller {
    /// The user's lookup key in the store.
    owner: String,
    key_id: Option<String>,
    service: &'static str,
}

/// What a successful call returns, encoded after the lock is released.
enum Output {
    Iam {
        op: &'static str,
        value: Value,
        /// Secrets to inject into ListAccessKeys (the `secret-in-list` fault).
        leaked: Vec<(String, Secret)>,
    },
    CallerIdentity {
        arn: String,
        user_id: String,
    },
}

/// Decoded parameters: body pairs first (they win for `POST`), then query pairs; the first
/// occurrence of a name wins.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The emulator: state plus configuration. Share it behind an `Arc`; [`Emulator::handle`]
/// takes `&self` and is safe to call from many threads.
pub struct Emulator {
    model: &'static Model,
    faults: FaultSet,
    clock: Arc<dyn Clock>,
    /// Present when seeded: every draw then comes from this one generator. Otherwise each
    /// thread uses rand's OS-seeded CSPRNG and no lock is taken for randomness.
    seeded: Option<Mutex<rand::rngs::StdRng>>,
    /// Flips on each request with repeated parameters (fault `duplicate-params-alternate`).
    dup_toggle: std::sync::atomic::AtomicBool,
    /// The deletes already answered with Throttling once (fault `throttle-deletes`).
    throttled: Mutex<std::collections::HashSet<String>>,
    state: Mutex<Store>,
    /// Derived SigV4 signing keys, so a verification costs two HMACs instead of six.
    signing_keys: Mutex<sigv4::SigningKeys>,
    bootstrap: Credentials,
    bootstrap_name: String,
    bootstrap_folded: String,
    max_body: usize,
    skew: Duration,
    iam_namespace: String,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("faults", &self.faults.iter().collect::<Vec<_>>())
            .field("bootstrap_user", &self.bootstrap_name)
            .finish_non_exhaustive()
    }
}

fn iso8601(t: SystemTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from(t)
        .format(&fmt)
        .unwrap_or_default()
}

/// ISO 8601 basic format, as SigV4's `X-Amz-Date` and AWS's clock-skew messages write a time.
fn amz_date(t: SystemTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from(t)
        .format(&fmt)
        .unwrap_or_default()
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A user's ARN: `arn:aws:iam::ACCOUNT:user` + path (which starts and ends with `/`) + name.
fn user_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:user{path}{name}")
}

/// Runs `f` with the seeded generator if there is one, else with rand's thread-local
/// OS-seeded CSPRNG.
fn draw<R>(seeded: &Option<Mutex<rand::rngs::StdRng>>, f: impl FnOnce(&mut dyn RngCore) -> R) -> R {
    match seeded {
        Some(m) => f(&mut *m.lock().unwrap_or_else(|e| e.into_inner())),
        None => f(&mut rand::rng()),
    }
}

/// Undoes what the XML encoder escaped, for the `raw-xml` fault.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl Emulator {
    /// Sets up an emulator with the bootstrap user and its key, or (with
    /// [`BootstrapCaller::Root`]) with the account root, its key, and no user.
    pub fn new(config: Config) -> Result<Emulator, EmulatorError> {
        let model = Model::embedded();
        let as_root = config.bootstrap_caller == BootstrapCaller::Root;
        // A root-only emulator has no IAM user, so no name to check or create.
        let name = if as_root {
            String::new()
        } else {
            config.bootstrap_user.clone()
        };
        let violations: Vec<_> = validate_input(model, "CreateUser", &json!({ "UserName": name }))
            .into_iter()
            .filter(|v| v.constraint.service_side() && !as_root)
            .collect();
        if !violations.is_empty() {
            return Err(EmulatorError::BadBootstrapUser {
                reason: aws_validation_message(model, &violations),
                name,
            });
        }
        let id = &config.bootstrap_credentials.access_key_id;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(EmulatorError::BadBootstrapKey { id: id.clone() });
        }
        let f = config.faults;
        let policy = Policy {
            key_prefix: if f.contains(Fault::NonAkiaKeyId) {
                "AKIB"
            } else {
                "AKIA"
            },
            key_body_len: if f.contains(Fault::ShortKeyId) { 8 } else { 16 },
            secret_len: if f.contains(Fault::ShortSecret) {
                20
            } else {
                model.facts().aws_profile.secret_access_key.length
            },
            reuse_key_ids: f.contains(Fault::ReuseKeyIds),
            secret_reuse: f.contains(Fault::SecretReuse),
            keep_deleted_keys: f.contains(Fault::ListKeepsDeletedKeys),
            fold_case: !f.contains(Fault::CaseSensitiveNames),
            quota: model.facts().key_quota(),
            enforce_quota: !f.contains(Fault::NoKeyQuota),
            max_users: config.max_users.max(1),
            max_keys: config.max_keys.max(1),
            max_policy_chars: model.facts().limits.inline_policy_chars_per_user.value as usize,
        };
        let seeded = config
            .seed
            .map(|s| Mutex::new(rand::rngs::StdRng::seed_from_u64(s)));
        let now = config.clock.now();
        let bootstrap = config.bootstrap_credentials.clone();
        let mut store = draw(&seeded, |r| Store::new(policy, r));
        let bootstrap_folded = if as_root {
            store.enable_root(ACCOUNT_ID, now);
            ROOT_OWNER.to_owned()
        } else {
            store.fold(&name)
        };
        draw(&seeded, |r| {
            if as_root {
                Ok(())
            } else {
                store.create_user(&name, "/", now, r).map(|_| ())
            }
        })
        .and_then(|_| {
            store.insert_key_with(
                &bootstrap_folded,
                bootstrap.access_key_id.clone(),
                bootstrap.secret_access_key.clone(),
                now,
            )
        })
        .expect("a fresh store accepts the bootstrap user and key");
        Ok(Emulator {
            model,
            faults: f,
            clock: config.clock.clone(),
            seeded,
            dup_toggle: std::sync::atomic::AtomicBool::new(false),
            throttled: Mutex::new(std::collections::HashSet::new()),
            state: Mutex::new(store),
            signing_keys: Mutex::new(sigv4::SigningKeys::default()),
            bootstrap,
            bootstrap_name: name,
            bootstrap_folded,
            max_body: config.max_body_bytes,
            skew: Duration::from_secs(model.facts().limits.clock_skew_seconds.value),
            iam_namespace: model.metadata().xml_namespace.clone().unwrap_or_default(),
        })
    }

    /// The key the emulator starts with: the bootstrap user's, or the account root's.
    pub fn credentials(&self) -> &Credentials {
        &self.bootstrap
    }

    /// The bootstrap user's name (empty when the bootstrap key is the account root's).
    pub fn bootstrap_user(&self) -> &str {
        &self.bootstrap_name
    }

    /// Whether the bootstrap key belongs to the account root.
    pub fn signs_as_root(&self) -> bool {
        self.bootstrap_folded == ROOT_OWNER
    }

    pub fn faults(&self) -> FaultSet {
        self.faults
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body
    }

    /// A secret-free, read-only view of the store, for invariant checks (the `emulator_request`
    /// fuzz target asserts quota, unique IDs and owner consistency after every request).
    pub fn inventory(&self) -> Inventory {
        let st = self.lock();
        Inventory {
            users: st
                .users()
                .map(|(folded, u)| InventoryUser {
                    folded: folded.clone(),
                    name: u.name.clone(),
                    key_ids: u.keys.clone(),
                })
                .collect(),
            keys: st
                .keys()
                .map(|k| InventoryKey {
                    id: k.id.clone(),
                    owner: k.owner.clone(),
                    status: k.status.clone(),
                })
                .collect(),
        }
    }

    /// Whether [`Emulator::handle`] may block the calling thread (the `race-quota` fault
    /// sleeps inside it), so an async adapter should call it on a blocking thread.
    pub fn may_block(&self) -> bool {
        self.faults.contains(Fault::RaceQuota)
    }

    /// The answer to a request whose body is over the limit, for adapters that stop reading
    /// such a body before it is complete.
    pub fn payload_too_large(&self) -> HttpResponse {
        let rid = self.request_id();
        let mut r = self.error_response(false, &rid, self.too_large());
        if self.faults.contains(Fault::Slow) {
            r.delay = SLOW_DELAY;
        }
        r
    }

    /// A `500 ServiceFailure` answer, for adapters whose call into the handler failed.
    pub fn service_failure(&self) -> HttpResponse {
        let rid = self.request_id();
        self.error_response(false, &rid, self.fact("service-failure", &[]))
    }

    fn too_large(&self) -> ApiError {
        ApiError {
            status: 413,
            sender: true,
            code: "RequestEntityTooLarge".into(),
            message: format!("Request body must be at most {} bytes.", self.max_body),
        }
    }

    fn has(&self, f: Fault) -> bool {
        self.faults.contains(f)
    }

    /// The `throttle-deletes` fault: the first time a user or key is to be deleted the answer
    /// is `400 Throttling` and nothing happens; the same delete asked again goes through.
    fn throttle_once(&self, op: &str, user: &str, id: &str) -> Result<(), ApiError> {
        if !self.has(Fault::ThrottleDeletes) {
            return Ok(());
        }
        let first = self
            .throttled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{op} {user} {id}"));
        if first {
            Err(self.fact("throttling", &[]))
        } else {
            Ok(())
        }
    }

    fn with_rng<R>(&self, f: impl FnOnce(&mut dyn RngCore) -> R) -> R {
        draw(&self.seeded, f)
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request_id(&self) -> String {
        let mut b = [0u8; 16];
        self.with_rng(|r| r.fill_bytes(&mut b));
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// Handles one request. Never panics on any input; every answer except the
    /// `no-error-envelope` fault's is well-formed XML.
    pub fn handle(&self, req: &HttpRequest) -> HttpResponse {
        let rid = self.request_id();
        let mut sts = false;
        let mut resp = match self.process(req, &mut sts) {
            Ok(out) => self.success_response(&rid, out),
            Err(e) => self.error_response(sts, &rid, e),
        };
        if req.method != "GET" && req.method != "POST" && !self.has(Fault::AnyMethodMutates) {
            resp.headers.push(("allow".into(), "GET, POST".into()));
        }
        if self.has(Fault::Slow) {
            resp.delay = SLOW_DELAY;
        }
        resp
    }

    fn fact(&self, id: &str, args: &[(&str, &str)]) -> ApiError {
        let f = self.model.facts().error(id);
        let message = if self.has(Fault::RewordedErrors) {
            reword(id, args, &f.code)
        } else {
            f.render(args)
        };
        ApiError {
            status: f.status,
            sender: f.fault == "Sender",
            code: f.code.clone(),
            message,
        }
    }

    fn store_error(&self, e: StoreError) -> ApiError {
        match e {
            StoreError::NoSuchUser(n) => self.fact("no-such-user", &[("name", &n)]),
            StoreError::NoSuchKey(id) => self.fact("no-such-key", &[("id", &id)]),
            StoreError::UserExists(n) => self.fact("user-exists", &[("name", &n)]),
            StoreError::KeyQuota(q) => self.fact("key-quota", &[("quota", &q.to_string())]),
            StoreError::DeleteConflict => self.fact("delete-conflict", &[]),
            StoreError::DeleteConflictPolicies => self.fact("delete-conflict-policies", &[]),
            StoreError::NoSuchPolicy(n) => self.fact("no-such-user-policy", &[("name", &n)]),
            StoreError::PolicySize { max, user } => self.fact(
                "user-policy-size",
                &[("max", &max.to_string()), ("name", &user)],
            ),
            StoreError::TooManyUsers(n) => ApiError {
                status: 409,
                sender: true,
                code: "LimitExceeded".into(),
                message: format!("Cannot exceed quota for UsersPerAccount: {n}"),
            },
            StoreError::TooManyKeys(n) => ApiError {
                status: 409,
                sender: true,
                code: "LimitExceeded".into(),
                message: format!("Cannot exceed quota for AccessKeysPerAccount: {n}"),
            },
        }
    }

    fn process(&self, req: &HttpRequest, sts: &mut bool) -> Result<Output, ApiError> {
        if req.body.len() > self.max_body {
            return Err(self.too_large());
        }
        if self.has(Fault::Random500) && self.with_rng(|r| r.next_u32() % 3 == 0) {
            return Err(self.fact("service-failure", &[]));
        }
        let mutating_method = match req.method.as_str() {
            "POST" => true,
            "GET" if self.has(Fault::GetUnsupported) => {
                return Err(ApiError {
                    status: 405,
                    sender: true,
                    code: "MethodNotAllowed".into(),
                    message: "The method GET is not allowed; use POST.".into(),
                });
            }
            "GET" => false,
            _ if self.has(Fault::AnyMethodMutates) => true,
            other => {
                return Err(ApiError {
                    status: 405,
                    sender: true,
                    code: "MethodNotAllowed".into(),
                    message: format!(
                        "The method {} is not allowed; use GET or POST.",
                        other.chars().take(32).collect::<String>()
                    ),
                });
            }
        };
        let (path, raw_query) = req.target();
        let malformed = |what: &str| ApiError {
            status: if self.has(Fault::InvalidUtf8500) {
                500
            } else {
                400
            },
            sender: true,
            code: "MalformedQueryString".into(),
            message: format!("The {what} is not valid UTF-8 after percent-decoding."),
        };
        // The fault keeps a raw `+` literal by escaping it before the (correct) decoder sees it.
        let plus_literal = |b: &[u8]| -> Vec<u8> {
            if self.has(Fault::PlusLiteral) {
                String::from_utf8_lossy(b).replace('+', "%2B").into_bytes()
            } else {
                b.to_vec()
            }
        };
        let query = decode_form(&plus_literal(raw_query.as_bytes()))
            .map_err(|_| malformed("query string"))?;
        let mut pairs = if mutating_method && req.declares_form() {
            decode_form(&plus_literal(&req.body)).map_err(|_| malformed("request body"))?
        } else {
            Vec::new()
        };
        let signable = Signable {
            method: &req.method,
            path,
            raw_query,
            headers: &req.headers,
            body: &req.body,
        };
        let caller = self.authenticate(&signable, &query, sts)?;
        pairs.extend(query);
        if self.has(Fault::DuplicateParamsAlternate) {
            let repeated = pairs
                .iter()
                .enumerate()
                .any(|(i, (k, _))| pairs[..i].iter().any(|(k2, _)| k2 == k));
            if repeated
                && self
                    .dup_toggle
                    .fetch_xor(true, std::sync::atomic::Ordering::Relaxed)
            {
                pairs.reverse();
            }
        }
        let params = Params(pairs);
        if let Some(k) = &caller.key_id {
            let now = self.clock.now();
            self.lock().record_use(k, now, caller.service, REGION);
        }

        let version = params.get("Version");
        if caller.service == "sts" {
            let Some(action) = params.get("Action") else {
                return Err(self.fact("missing-action", &[]));
            };
            let version_ok = self.has(Fault::VersionIgnored) || version == Some(STS_VERSION);
            if action != "GetCallerIdentity" || !version_ok {
                return Err(self.invalid_action(action, version));
            }
            let st = self.lock();
            let user = st
                .user_by_key(&caller.owner)
                .ok_or_else(|| self.fact("invalid-client-token-id", &[]))?;
            return Ok(Output::CallerIdentity {
                arn: if caller.owner == ROOT_OWNER {
                    root::root_arn()
                } else {
                    user_arn(&user.path, &user.name)
                },
                user_id: user.id.clone(),
            });
        }
        let Some(action) = params.get("Action") else {
            let mut e = self.fact("missing-action", &[]);
            if self.has(Fault::MissingActionAccepted) {
                e.status = 200;
            }
            return Err(e);
        };
        let unknown = self.has(Fault::NoUserPolicies) && action.ends_with("UserPolicy")
            || self.has(Fault::NoUserPolicies) && action == "ListUserPolicies";
        let Some(op) = self.model.operation(action).filter(|_| !unknown) else {
            if self.has(Fault::UnknownAction500) {
                return Err(self.fact("service-failure", &[]));
            }
            return Err(self.invalid_action(action, version));
        };
        if !self.has(Fault::VersionIgnored)
            && version != Some(self.model.metadata().api_version.as_str())
        {
            return Err(self.invalid_action(action, version));
        }
        self.dispatch(op_name(&op.name), &params, &caller)
    }

    fn invalid_action(&self, action: &str, version: Option<&str>) -> ApiError {
        self.fact(
            "invalid-action",
            &[
                ("action", action),
                ("version", version.unwrap_or("NO_VERSION_SPECIFIED")),
            ],
        )
    }

    fn authenticate(
        &self,
        req: &Signable<'_>,
        query: &[(String, String)],
        sts: &mut bool,
    ) -> Result<Caller, ApiError> {
        let parsed = sigv4::parse(req.headers, query);
        if let Parsed::Signed(c) = &parsed {
            *sts = c.service == "sts";
        }
        let service = if *sts { "sts" } else { "iam" };
        if self.has(Fault::SkipAuth) {
            // A known signer is still honoured; anything else is the bootstrap user.
            let owner = match &parsed {
                Parsed::Signed(c) => self.lock().key(&c.key_id).map(|k| k.owner.clone()),
                _ => None,
            };
            return Ok(Caller {
                owner: owner.unwrap_or_else(|| self.bootstrap_folded.clone()),
                key_id: None,
                service,
            });
        }
        let claims = match parsed {
            Parsed::Missing => return Err(self.fact("missing-authentication-token", &[])),
            Parsed::Malformed(detail) => {
                return Err(self.fact("incomplete-signature", &[("detail", &detail)]));
            }
            Parsed::Signed(c) => c,
        };
        let mismatch = |detail: Option<String>| {
            let mut e = self.fact("signature-does-not-match", &[]);
            if let Some(d) = detail {
                e.message = d;
            }
            e
        };
        if !self.has(Fault::WrongScopeAccepted) {
            if claims.service != "iam" && claims.service != "sts" {
                return Err(mismatch(Some(format!(
                    "Credential should be scoped to correct service: '{}'. ",
                    self.model.metadata().signing_name
                ))));
            }
            if claims.region != REGION {
                return Err(mismatch(Some(format!(
                    "Credential should be scoped to a valid region, not '{}'. ",
                    claims.region.chars().take(64).collect::<String>()
                ))));
            }
        }
        if claims.terminator != "aws4_request" {
            return Err(mismatch(Some(
                "Credential should be scoped with a valid terminator: 'aws4_request'".into(),
            )));
        }
        if claims.has_session_token {
            return Err(self.fact("invalid-client-token-id", &[]));
        }
        let Some(signed_at) = sigv4::parse_amz_date(&claims.amz_date) else {
            return Err(self.fact(
                "incomplete-signature",
                &[(
                    "detail",
                    "Date must be in ISO-8601 'basic format'. Got an invalid X-Amz-Date.",
                )],
            ));
        };
        if !claims.amz_date.starts_with(&claims.scope_date) {
            return Err(mismatch(Some(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.".into(),
            )));
        }
        let (owner, secret, status) = {
            let st = self.lock();
            match st.key(&claims.key_id) {
                Some(k) => (k.owner.clone(), k.secret.clone(), k.status.clone()),
                None => return Err(self.fact("invalid-client-token-id", &[])),
            }
        };
        if status != "Active" && !self.has(Fault::InactiveKeysAuthenticate) {
            return Err(self.fact("invalid-client-token-id", &[]));
        }
        if self.root_key_refused(&owner, &claims.key_id) {
            return Err(self.fact("invalid-client-token-id", &[]));
        }
        if !self.has(Fault::SkewAccepted)
            && let Some(e) = self.skew_refusal(&claims.amz_date, signed_at, self.clock.now())
        {
            return Err(e);
        }
        if !self.has(Fault::AcceptWrongSignature) {
            let key = self
                .signing_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&claims, &secret);
            if !sigv4::verify_with_key(&claims, &key, req) {
                return Err(mismatch(None));
            }
        }
        Ok(Caller {
            owner,
            key_id: Some(claims.key_id),
            service,
        })
    }

    /// The refusal of a request dated more than the allowed skew from the emulator's clock,
    /// either way, as AWS's query front end words it (`spec/facts.json`): 403
    /// SignatureDoesNotMatch naming the request's date, the bound it crossed and the server's
    /// time. Presigned requests get the same 15 minutes, whatever their `X-Amz-Expires` says,
    /// as that front end does. The `skew-request-expired` fault answers EC2's `400
    /// RequestExpired` instead.
    fn skew_refusal(
        &self,
        request_date: &str,
        signed_at: SystemTime,
        now: SystemTime,
    ) -> Option<ApiError> {
        let behind = now.duration_since(signed_at).is_ok_and(|d| d > self.skew);
        let ahead = signed_at.duration_since(now).is_ok_and(|d| d > self.skew);
        if !behind && !ahead {
            return None;
        }
        if self.has(Fault::SkewRequestExpired) {
            return Some(ApiError {
                status: 400,
                sender: true,
                code: "RequestExpired".into(),
                message: "Request has expired.".into(),
            });
        }
        let minutes = (self.skew.as_secs() / 60).to_string();
        let server_time = amz_date(now);
        Some(if behind {
            let earliest = now.checked_sub(self.skew).unwrap_or(UNIX_EPOCH);
            self.fact(
                "signature-expired",
                &[
                    ("request_date", request_date),
                    ("earliest", &amz_date(earliest)),
                    ("server_time", &server_time),
                    ("minutes", &minutes),
                ],
            )
        } else {
            self.fact(
                "signature-not-yet-current",
                &[
                    ("request_date", request_date),
                    ("latest", &amz_date(now + self.skew)),
                    ("server_time", &server_time),
                    ("minutes", &minutes),
                ],
            )
        })
    }

    /// The input as a JSON object of the members the operation's input shape knows, after
    /// validation. Violations the service enforces (and type errors) are `ValidationError`.
    fn validate(&self, op: &str, params: &Params) -> Result<Map<String, Value>, ApiError> {
        let mut obj = Map::new();
        if let Some(shape) = self.model.operation(op).and_then(|o| o.input.as_deref()) {
            for (m, s, _) in self.model.members(shape) {
                let Some(v) = params.get(&m.name) else {
                    continue;
                };
                let val = match s.kind {
                    ShapeKind::Integer { .. } | ShapeKind::Long { .. } => v
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::String(v.to_owned())),
                    ShapeKind::Boolean => match v {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::String(v.to_owned()),
                    },
                    _ => Value::String(v.to_owned()),
                };
                obj.insert(m.name.clone(), val);
            }
        }
        let value = Value::Object(obj);
        let mut violations: Vec<_> = validate_input(self.model, op, &value)
            .into_iter()
            .filter(|v| {
                v.constraint.service_side() || matches!(v.constraint, Constraint::Type { .. })
            })
            .collect();
        if self.has(Fault::SkipLengthChecks) {
            violations.retain(|v| {
                !matches!(
                    v.constraint,
                    Constraint::LengthMin { .. } | Constraint::LengthMax { .. }
                )
            });
        }
        if self.has(Fault::SkipPatternCheck) {
            violations.retain(|v| !matches!(v.constraint, Constraint::Pattern { .. }));
        }
        if self.has(Fault::AcceptNonAsciiNames) {
            violations.retain(|v| match &v.constraint {
                Constraint::Pattern { pattern } if v.member == "UserName" => {
                    // The same model pattern with Rust's default Unicode classes: the bug
                    // the fault stands for.
                    let unicode = regex::Regex::new(&format!("^(?:{pattern})$"));
                    let s = value.get("UserName").and_then(Value::as_str).unwrap_or("");
                    !unicode.map(|r| r.is_match(s)).unwrap_or(false)
                }
                _ => true,
            });
        }
        if self.has(Fault::UserNameMax64) && op == "CreateAccessKey" && violations.is_empty() {
            let user_max = self
                .model
                .input_string("CreateUser", "UserName")
                .and_then(|c| c.max);
            let len = value
                .get("UserName")
                .and_then(Value::as_str)
                .map(|s| s.chars().count() as u64);
            if let (Some(max), Some(len)) = (user_max, len)
                && len > max
            {
                violations.push(crate::model::Violation {
                    member: "UserName".into(),
                    constraint: Constraint::LengthMax { max },
                    value_desc: len.to_string(),
                });
            }
        }
        if !violations.is_empty() {
            let mut e = self.fact("validation", &[]);
            if !self.has(Fault::RewordedErrors) {
                e.message = aws_validation_message(self.model, &violations);
            }
            return Err(e);
        }
        match value {
            Value::Object(o) => Ok(o),
            _ => Ok(Map::new()),
        }
    }

    fn date(&self, t: SystemTime) -> String {
        if self.has(Fault::BadCreateDate) {
            epoch_secs(t).to_string()
        } else {
            iso8601(t)
        }
    }

    fn user_value(&self, u: &User) -> Value {
        json!({
            "Path": u.path,
            "UserName": u.name,
            "UserId": u.id,
            "Arn": user_arn(&u.path, &u.name),
            "CreateDate": self.date(u.created),
        })
    }

    fn status_out(&self, s: &str) -> String {
        if self.has(Fault::LowercaseStatus) {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    }

    fn key_metadata(&self, k: &Key, user: &str) -> Value {
        json!({
            "UserName": user,
            "AccessKeyId": k.id,
            "Status": self.status_out(&k.status),
            "CreateDate": self.date(k.created),
        })
    }

    /// The evaluator's deliberate bugs, from the faults.
    fn quirks(&self) -> Quirks {
        Quirks {
            allow_beats_deny: self.has(Fault::DenyNotWinning),
            not_action_as_action: self.has(Fault::IgnoreNotAction),
            no_username_variable: self.has(Fault::NoUsernameVariable),
            implicit_allow: self.has(Fault::ImplicitAllow),
            case_sensitive_actions: self.has(Fault::CaseSensitiveActions),
        }
    }

    /// May `caller` perform `action` on the user named `target` (`named`: the request gave the
    /// UserName; otherwise `target` is the caller itself)? The bootstrap user may do
    /// everything; every other IAM user is judged by its inline policies
    /// ([`policy::evaluate`]): an explicit Deny wins, no Allow is an implicit deny, each worded
    /// as IAM words it.
    fn authorize(
        &self,
        st: &Store,
        caller: &User,
        caller_folded: &str,
        action: &str,
        target: Option<&str>,
        named: bool,
    ) -> Result<(), ApiError> {
        // The bootstrap user and the account root may do everything; every other caller is
        // judged below.
        if caller_folded == self.bootstrap_folded || caller_folded == ROOT_OWNER {
            return Ok(());
        }
        if self.has(Fault::CrossUserAccess) && KEY_ACTIONS.contains(&action) {
            return Ok(());
        }
        // The resource is the user as stored (names are unique case-insensitively, so `BOB`
        // is user/bob); ListUsers has no user of its own: it acts on the account's user path.
        let resource = match (target, target.and_then(|t| st.user(t))) {
            (_, Some(u)) => user_arn(&u.path, &u.name),
            (Some(t), None) => user_arn("/", t),
            (None, None) => format!("arn:aws:iam::{ACCOUNT_ID}:user/"),
        };
        let decision = policy::evaluate(
            caller.policies.values().map(|p| &p.parsed),
            &policy::Context {
                action: &format!("iam:{action}"),
                resource: &resource,
                username: &caller.name,
            },
            self.quirks(),
        );
        let fact = match decision {
            Decision::Allow => return Ok(()),
            Decision::ImplicitDeny => "access-denied",
            Decision::ExplicitDeny => "access-denied-explicit",
        };
        if self.has(Fault::AccessDeniedArnResource) {
            return Err(self.fact(
                "access-denied-older",
                &[
                    ("arn", &user_arn(&caller.path, &caller.name)),
                    ("action", action),
                    ("resource", &resource),
                ],
            ));
        }
        // IAM names its own resources `user NAME`, and `user null` when the request had no
        // UserName (spec/facts.json).
        let named_resource = match target {
            Some(t) if named => format!("user {t}"),
            Some(_) => "user null".to_owned(),
            None => resource.clone(),
        };
        Err(self.fact(
            fact,
            &[
                ("arn", &user_arn(&caller.path, &caller.name)),
                ("action", action),
                ("resource", &named_resource),
            ],
        ))
    }

    /// A page of ListUsers: users under `PathPrefix` from `Marker` on, at most `MaxItems`.
    fn list_users_page(&self, st: &Store, input: &Map<String, Value>) -> Value {
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        let prefix = s("PathPrefix").unwrap_or("/");
        let max = input.get("MaxItems").and_then(Value::as_i64).unwrap_or(100) as usize;
        let marker = s("Marker");
        let mut users = Vec::new();
        let mut next = None;
        for (folded, u) in st.users() {
            if marker.is_some_and(|m| folded.as_str() < m) || !u.path.starts_with(prefix) {
                continue;
            }
            if users.len() == max {
                next = Some(folded.clone());
                break;
            }
            users.push(self.user_value(u));
        }
        let mut v = json!({ "Users": users, "IsTruncated": next.is_some() });
        if let Some(m) = next {
            v["Marker"] = Value::String(m);
        }
        v
    }

    /// A page of ListAccessKeys for `user`, and the secrets the `secret-in-list` fault leaks.
    fn list_keys_page(
        &self,
        st: &Store,
        user: &User,
        input: &Map<String, Value>,
    ) -> (Value, Vec<(String, Secret)>) {
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        // Pages in creation order; the marker is the id of the first key of the next
        // page (an id the user does not hold gives an empty page).
        let max = input.get("MaxItems").and_then(Value::as_i64).unwrap_or(100) as usize;
        let start = match s("Marker") {
            Some(m) => user
                .keys
                .iter()
                .position(|id| id == m)
                .unwrap_or(user.keys.len()),
            None => 0,
        };
        let mut list = Vec::new();
        let mut leaked = Vec::new();
        let mut next = None;
        for id in &user.keys[start..] {
            if list.len() == max {
                next = Some(id.clone());
                break;
            }
            if let Some(k) = st.key(id) {
                list.push(self.key_metadata(k, &user.name));
                if self.has(Fault::SecretInList) {
                    leaked.push((k.id.clone(), k.secret.clone()));
                }
            }
        }
        if next.is_none() && self.has(Fault::ListKeepsDeletedKeys) {
            // The bug: deleted keys stay in the listing, with the status they had.
            list.extend(
                user.deleted
                    .iter()
                    .map(|k| self.key_metadata(k, &user.name)),
            );
        }
        let mut value = json!({ "AccessKeyMetadata": list, "IsTruncated": next.is_some() });
        if let Some(m) = next {
            value["Marker"] = Value::String(m);
        }
        (value, leaked)
    }

    /// A page of ListUserPolicies: the user's policy names in order, from `Marker` (the first
    /// name of the page) on, at most `MaxItems`.
    fn list_policies_page(&self, user: &User, input: &Map<String, Value>) -> Value {
        let max = input.get("MaxItems").and_then(Value::as_i64).unwrap_or(100) as usize;
        let marker = input.get("Marker").and_then(Value::as_str);
        let mut names: Vec<&String> = user
            .policies
            .keys()
            .filter(|n| marker.is_none_or(|m| n.as_str() >= m))
            .collect();
        let next = (names.len() > max).then(|| names[max].clone());
        names.truncate(max);
        let mut v = json!({ "PolicyNames": names, "IsTruncated": next.is_some() });
        if let Some(m) = next {
            v["Marker"] = Value::String(m);
        }
        v
    }

    /// What GetAccessKeyLastUsed says of a key: its last use, or `N/A` (or, with the
    /// `stale-last-used` fault, a use that never happened).
    fn last_used_value(&self, key: &Key) -> Value {
        match (&key.last_used, self.has(Fault::StaleLastUsed)) {
            (Some(l), _) => json!({
                "LastUsedDate": iso8601(l.at),
                "ServiceName": l.service,
                "Region": l.region,
            }),
            (None, true) => json!({
                "LastUsedDate": iso8601(key.created),
                "ServiceName": "iam",
                "Region": REGION,
            }),
            (None, false) => json!({ "ServiceName": "N/A", "Region": "N/A" }),
        }
    }

    fn dispatch(
        &self,
        op: &'static str,
        params: &Params,
        caller: &Caller,
    ) -> Result<Output, ApiError> {
        if self.has(Fault::ValidationAfterLookup)
            && op != "CreateUser"
            && let Some(name) = params.get("UserName")
            && self.lock().user(name).is_none()
        {
            return Err(self.fact("no-such-user", &[("name", name)]));
        }
        let input = self.validate(op, params)?;
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        let now = self.clock.now();
        let mut st = self.lock();
        let Some(me) = st.user_by_key(&caller.owner).cloned() else {
            return Err(self.fact("invalid-client-token-id", &[]));
        };
        if let Some(out) = self.dispatch_root(&mut st, op, &input, &caller.owner, now) {
            return out;
        }
        // No UserName means the signing user (or, with the fault, always the bootstrap user).
        let implicit = if self.has(Fault::ImplicitUserBootstrap) {
            self.bootstrap_name.clone()
        } else {
            me.name.clone()
        };
        // The `implicit-user-bootstrap` bug resolves a missing UserName to a user, so its
        // refusals name that user rather than IAM's `user null`.
        let named = s("UserName").is_some() || self.has(Fault::ImplicitUserBootstrap);
        let target = s("UserName").map(str::to_owned).unwrap_or(implicit);
        // With the `denied-call-still-acts` fault a refusal is held back until the call has
        // acted, and then answered instead of its result.
        let withheld: RefCell<Option<ApiError>> = RefCell::new(None);
        let gate = |st: &Store, action: &str, who: Option<&str>, named: bool| match self.authorize(
            st,
            &me,
            &caller.owner,
            action,
            who,
            named,
        ) {
            Err(e) if self.has(Fault::DeniedCallStillActs) => {
                withheld.borrow_mut().get_or_insert(e);
                Ok(())
            }
            r => r,
        };
        let out = self.dispatch_op(op, &input, st, &target, named, now, &gate);
        match withheld.into_inner() {
            Some(e) => Err(e),
            None => out,
        }
    }

    /// The operation itself, once validated and with the signer known; `gate` authorizes.
    #[allow(clippy::too_many_arguments)]
    fn dispatch_op(
        &self,
        op: &'static str,
        input: &Map<String, Value>,
        mut st: MutexGuard<'_, Store>,
        target: &str,
        named: bool,
        now: SystemTime,
        gate: &Gate<'_>,
    ) -> Result<Output, ApiError> {
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        let target = target.to_owned();
        let ok = |value: Value| {
            Ok(Output::Iam {
                op,
                value,
                leaked: Vec::new(),
            })
        };
        let se = |e| self.store_error(e);
        match op {
            "CreateUser" => {
                gate(&st, op, Some(&target), named)?;
                let path = s("Path").unwrap_or("/").to_owned();
                let user = self
                    .with_rng(|r| st.create_user(&target, &path, now, r).cloned())
                    .map_err(se)?;
                ok(json!({ "User": self.user_value(&user) }))
            }
            "GetUser" => {
                gate(&st, op, Some(&target), named)?;
                let user = st
                    .user(&target)
                    .ok_or(StoreError::NoSuchUser(target.clone()));
                ok(json!({ "User": self.user_value(user.map_err(se)?) }))
            }
            "DeleteUser" => {
                gate(&st, op, Some(&target), named)?;
                self.throttle_once(op, &st.fold(&target), "")?;
                st.delete_user(
                    &target,
                    self.has(Fault::DeleteUserWithKeys),
                    self.has(Fault::DeleteUserWithPolicies),
                )
                .map_err(se)?;
                ok(json!({}))
            }
            "ListUsers" => {
                gate(&st, op, None, false)?;
                ok(self.list_users_page(&st, input))
            }
            "CreateAccessKey" => {
                gate(&st, op, Some(&target), named)?;
                let user = st
                    .user(&target)
                    .ok_or(StoreError::NoSuchUser(target.clone()))
                    .map_err(se)?;
                let (folded, name) = (st.fold(&user.name), user.name.clone());
                let key = if self.has(Fault::RaceQuota) {
                    // The bug: check, let go of the lock, then insert unconditionally.
                    st.check_quota(&folded).map_err(se)?;
                    drop(st);
                    std::thread::sleep(RACE_WINDOW);
                    let mut st = self.lock();
                    self.with_rng(|r| st.insert_key(&folded, now, r))
                } else {
                    self.with_rng(|r| st.create_key(&folded, now, r))
                }
                .map_err(se)?;
                let shown = if self.has(Fault::EchoWrongUsername) {
                    name.to_lowercase()
                } else {
                    name
                };
                ok(json!({ "AccessKey": {
                    "UserName": shown,
                    "AccessKeyId": key.id,
                    "Status": self.status_out(&key.status),
                    "SecretAccessKey": key.secret.expose(),
                    "CreateDate": self.date(key.created),
                }}))
            }
            "ListAccessKeys" => {
                gate(&st, op, Some(&target), named)?;
                let user = st
                    .user(&target)
                    .ok_or(StoreError::NoSuchUser(target.clone()))
                    .map_err(se)?;
                let (value, leaked) = self.list_keys_page(&st, user, input);
                Ok(Output::Iam { op, value, leaked })
            }
            "UpdateAccessKey" | "DeleteAccessKey" => {
                gate(&st, op, Some(&target), named)?;
                let id = s("AccessKeyId").unwrap_or_default();
                let folded = st.fold(&target);
                if op == "DeleteAccessKey" {
                    self.throttle_once(op, &folded, id)?;
                }
                if st.user_by_key(&folded).is_none() {
                    return Err(se(StoreError::NoSuchUser(target)));
                }
                if op == "UpdateAccessKey" {
                    let status = s("Status").unwrap_or("Active");
                    // A day forward, so the change shows even within the second of creation.
                    let reset = self
                        .has(Fault::CreateDateChangesOnUpdate)
                        .then(|| now + Duration::from_secs(86_400));
                    st.update_key(&folded, id, status, reset).map_err(se)?;
                } else {
                    st.delete_key(&folded, id).map_err(se)?;
                }
                ok(json!({}))
            }
            "GetAccessKeyLastUsed" => {
                let id = s("AccessKeyId").unwrap_or_default();
                let key = st
                    .key(id)
                    .ok_or(StoreError::NoSuchKey(id.to_owned()))
                    .map_err(se)?;
                let owner = st
                    .user_by_key(&key.owner)
                    .map(|u| u.name.clone())
                    .unwrap_or_default();
                gate(&st, op, Some(&owner), true)?;
                ok(json!({ "UserName": owner, "AccessKeyLastUsed": self.last_used_value(key) }))
            }
            "PutUserPolicy" => {
                gate(&st, op, Some(&target), named)?;
                let name = s("PolicyName").unwrap_or_default();
                let text = s("PolicyDocument").unwrap_or_default();
                let parsed = match PolicyDocument::parse(text) {
                    Ok(p) => p,
                    // The bug: a document that does not parse is kept, and allows nothing.
                    Err(_) if self.has(Fault::AcceptMalformedPolicy) => {
                        PolicyDocument::parse(ALLOWS_NOTHING).expect("a valid document")
                    }
                    Err(e) => return Err(self.fact("malformed-policy", &[("detail", &e.0)])),
                };
                let folded = st.fold(&target);
                let policy = InlinePolicy {
                    text: text.to_owned(),
                    parsed,
                };
                st.put_user_policy(&folded, name, policy).map_err(se)?;
                ok(json!({}))
            }
            "GetUserPolicy" => {
                gate(&st, op, Some(&target), named)?;
                let name = s("PolicyName").unwrap_or_default();
                let user = st
                    .user(&target)
                    .ok_or(StoreError::NoSuchUser(target.clone()))
                    .map_err(se)?;
                let policy = st.user_policy(&st.fold(&target), name).map_err(se)?;
                // Returned URL-encoded, as IAM documents it (RFC 3986).
                let document =
                    percent_encoding::utf8_percent_encode(&policy.text, URI_UNRESERVED).to_string();
                ok(json!({
                    "UserName": user.name,
                    "PolicyName": name,
                    "PolicyDocument": document,
                }))
            }
            "ListUserPolicies" => {
                gate(&st, op, Some(&target), named)?;
                let user = st
                    .user(&target)
                    .ok_or(StoreError::NoSuchUser(target.clone()))
                    .map_err(se)?;
                ok(self.list_policies_page(user, input))
            }
            "DeleteUserPolicy" => {
                gate(&st, op, Some(&target), named)?;
                let name = s("PolicyName").unwrap_or_default();
                let folded = st.fold(&target);
                if st.user_by_key(&folded).is_none() {
                    return Err(se(StoreError::NoSuchUser(target)));
                }
                st.delete_user_policy(&folded, name).map_err(se)?;
                ok(json!({}))
            }
            _ => Err(self.invalid_action(op, Some(&self.model.metadata().api_version))),
        }
    }

    fn finish(&self, status: u16, rid: &str, mut body: String, content_type: &str) -> HttpResponse {
        if self.has(Fault::RawXml) {
            body = unescape(&body);
        }
        if self.has(Fault::WrongNamespace) {
            body = body
                .replace(&self.iam_namespace, WRONG_NAMESPACE)
                .replace(STS_NAMESPACE, WRONG_NAMESPACE);
        }
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        if self.has(Fault::DropRequestId) {
            body = body
                .replace(
                    &format!("<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"),
                    "",
                )
                .replace(&format!("<RequestId>{rid}</RequestId>"), "");
        } else {
            headers.push(("x-amzn-RequestId".to_owned(), rid.to_owned()));
        }
        HttpResponse {
            status,
            headers,
            body: body.into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn success_response(&self, rid: &str, out: Output) -> HttpResponse {
        let body = match out {
            Output::Iam { op, value, leaked } => {
                let mut body = encode_success(self.model, op, &value, rid);
                if op == "CreateUser" && self.has(Fault::WrongSuccessRoot) {
                    // The bug: the result wrapper's name written as the root element too.
                    body = body
                        .replacen("<CreateUserResponse", "<CreateUserResult", 1)
                        .replace("</CreateUserResponse>", "</CreateUserResult>");
                }
                for (id, secret) in leaked {
                    let tag = format!("<AccessKeyId>{id}</AccessKeyId>");
                    body = body.replace(
                        &tag,
                        &format!(
                            "{tag}<SecretAccessKey>{}</SecretAccessKey>",
                            escape_text(secret.expose())
                        ),
                    );
                }
                body
            }
            Output::CallerIdentity { arn, user_id } => format!(
                "<GetCallerIdentityResponse xmlns=\"{STS_NAMESPACE}\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>{}</UserId><Account>{ACCOUNT_ID}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                escape_text(&arn),
                escape_text(&user_id)
            ),
        };
        self.finish(200, rid, body, "text/xml")
    }

    fn error_response(&self, sts: bool, rid: &str, e: ApiError) -> HttpResponse {
        let status = if self.has(Fault::WrongErrorStatus) {
            400
        } else {
            e.status
        };
        if self.has(Fault::NoErrorEnvelope) {
            let mut r = self.finish(status, rid, String::new(), "text/plain");
            r.body = b"error".to_vec();
            return r;
        }
        let fault = if e.sender && !self.has(Fault::ErrorTypeReceiver) {
            "Sender"
        } else {
            "Receiver"
        };
        let code = if self.has(Fault::AccessDeniedException) && e.code == "AccessDenied" {
            "AccessDeniedException"
        } else {
            &e.code
        };
        let mut body = encode_error(self.model, fault, code, &e.message, rid);
        if sts {
            body = body.replacen(&self.iam_namespace, STS_NAMESPACE, 1);
        }
        self.finish(status, rid, body, "text/xml")
    }
}

/// The operation names the dispatcher knows, as static strings.
fn op_name(name: &str) -> &'static str {
    const OPS: [&str; 13] = [
        "CreateUser",
        "GetUser",
        "DeleteUser",
        "ListUsers",
        "CreateAccessKey",
        "ListAccessKeys",
        "UpdateAccessKey",
        "DeleteAccessKey",
        "GetAccessKeyLastUsed",
        "PutUserPolicy",
        "GetUserPolicy",
        "ListUserPolicies",
        "DeleteUserPolicy",
    ];
    OPS.iter().copied().find(|o| *o == name).unwrap_or("")
}

/// The `reworded-errors` fault's messages: the same meaning in other words.
fn reword(id: &str, args: &[(&str, &str)], code: &str) -> String {
    let arg = |k: &str| {
        args.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| *v)
            .unwrap_or("")
    };
    match id {
        "no-such-user" => format!("User {} not found", arg("name")),
        "no-such-key" => format!("Access key {} not found", arg("id")),
        "key-quota" => "Too many access keys for this user".into(),
        "user-exists" => format!("User {} exists already", arg("name")),
        "delete-conflict" => "The user still has access keys".into(),
        "access-denied" | "access-denied-explicit" | "access-denied-older" => {
            "Access denied".into()
        }
        "delete-conflict-policies" => "The user still has policies".into(),
        "no-such-user-policy" => format!("Policy {} not found", arg("name")),
        "validation" => "Invalid input".into(),
        _ => format!("Request failed ({code})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path_and_query: &str, content_type: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: path_and_query.into(),
            headers: content_type
                .map(|v| vec![("Content-Type".to_owned(), v.to_owned())])
                .unwrap_or_default(),
            body: Vec::new(),
        }
    }

    #[test]
    fn the_target_splits_at_the_first_question_mark() {
        assert_eq!(req("/", None).target(), ("/", ""));
        assert_eq!(req("/p?a=b?c", None).target(), ("/p", "a=b?c"));
        assert_eq!(req("/?", None).target(), ("/", ""));
    }

    #[test]
    fn a_body_is_a_form_without_content_type_or_with_the_form_type() {
        for (content_type, form) in [
            (None, true),
            (Some("application/x-www-form-urlencoded"), true),
            (
                Some("  Application/X-WWW-Form-Urlencoded; charset=utf-8"),
                true,
            ),
            (Some("application/json"), false),
            (Some(""), false),
        ] {
            assert_eq!(
                req("/", content_type).declares_form(),
                form,
                "{content_type:?}"
            );
        }
        let mut two = req("/", Some("text/plain"));
        two.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        assert!(!two.declares_form(), "the first Content-Type counts");
        assert_eq!(two.header("CONTENT-TYPE"), Some("text/plain"));
    }
}

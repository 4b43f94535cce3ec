//! The reference emulator: an in-memory IAM endpoint for the access-key lifecycle that conforms
//! to the model, and that can be told to break on purpose ([`Fault`]).
//!
//! Layers: [`store`] is a pure state machine (users, keys, inline policies, quota,
//! identifiers); [`policy`] parses and evaluates identity-based policy documents, purely;
//! [`Emulator::handle`] is a pure request handler over plain [`HttpRequest`]/[`HttpResponse`]
//! structs (protocol parsing, SigV4 verification, authorization, validation derived from the
//! model, dispatch, XML encoding); the `server` module (feature `net`) is a thin hyper adapter
//! that binds loopback only. Time and randomness are injected ([`Config::clock`],
//! [`Config::seed`]) so a fuzz target or a test can run the handler deterministically. Nothing
//! here prints or logs a secret.

mod fault;
mod handler;
pub mod policy;
#[cfg(feature = "net")]
mod server;
mod sigv4;
mod store;

pub use fault::{Fault, FaultSet, UnknownFault};
pub use handler::{Emulator, HttpRequest, HttpResponse, Inventory, InventoryKey, InventoryUser};
#[cfg(feature = "net")]
pub use server::{RunningEmulator, start};

use crate::credentials::Credentials;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The AWS account every emulated user belongs to.
pub const ACCOUNT_ID: &str = "123456789012";
/// The only region the emulator signs for.
pub const REGION: &str = "us-east-1";
/// The bootstrap user's default name.
pub const DEFAULT_BOOTSTRAP_USER: &str = "admin";
/// Request bodies larger than this are refused with `413`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    pub fn new(at: SystemTime) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: SystemTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Who owns the key an emulator starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootstrapCaller {
    /// An IAM user ([`Config::bootstrap_user`]) who may do everything.
    #[default]
    User,
    /// The account root (`arn:aws:iam::ACCOUNT_ID:root`), and no IAM user at all: the root may
    /// do everything, and calls without `UserName` act on its own keys.
    Root,
}

/// How to run an emulator.
#[derive(Clone)]
pub struct Config {
    /// The bootstrap user, who may do everything (unused when the key is the root's).
    pub bootstrap_user: String,
    /// Whether the bootstrap key belongs to that user or to the account root.
    pub bootstrap_caller: BootstrapCaller,
    /// The bootstrap user's key. [`Config::default`] uses AWS's documented example pair;
    /// [`Config::from_env`] takes `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when both are set.
    pub bootstrap_credentials: Credentials,
    pub faults: FaultSet,
    /// Where the server listens; must be a loopback address. `None` means `127.0.0.1:0`.
    pub listen: Option<SocketAddr>,
    pub max_users: usize,
    pub max_keys: usize,
    pub max_body_bytes: usize,
    /// How long a connection may take to send a complete request head (also the longest a
    /// keep-alive connection may sit idle) before the server closes it.
    pub header_read_timeout: Duration,
    /// `Some(seed)` makes every identifier, secret, request ID and `random-500` draw
    /// reproducible (not secure: for tests and fuzzing). `None` uses the OS-seeded CSPRNG.
    pub seed: Option<u64>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bootstrap_user", &self.bootstrap_user)
            .field("bootstrap_caller", &self.bootstrap_caller)
            .field("bootstrap_credentials", &self.bootstrap_credentials)
            .field("faults", &self.faults.iter().collect::<Vec<_>>())
            .field("listen", &self.listen)
            .field("max_users", &self.max_users)
            .field("max_keys", &self.max_keys)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bootstrap_user: DEFAULT_BOOTSTRAP_USER.to_owned(),
            bootstrap_caller: BootstrapCaller::User,
            bootstrap_credentials: Credentials::example(),
            faults: FaultSet::default(),
            listen: None,
            max_users: 10_000,
            max_keys: 20_000,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: crate::loopback::DEFAULT_HEADER_READ_TIMEOUT,
            seed: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Config {
    /// The default configuration with the bootstrap key taken from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` when both are set and non-empty.
    pub fn from_env() -> Config {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut c = Config::default();
        if let (Some(id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            c.bootstrap_credentials = Credentials::new(id, secret);
        }
        c
    }

    /// Adds a fault.
    pub fn with_fault(mut self, f: Fault) -> Config {
        self.faults.insert(f);
        self
    }

    /// The bootstrap key belongs to the account root, and the emulator starts with no IAM user.
    pub fn as_root(mut self) -> Config {
        self.bootstrap_caller = BootstrapCaller::Root;
        self
    }

    /// Makes randomness reproducible.
    pub fn with_seed(mut self, seed: u64) -> Config {
        self.seed = Some(seed);
        self
    }

    pub fn with_clock(mut self, clock: impl Clock) -> Config {
        self.clock = Arc::new(clock);
        self
    }
}

/// The emulator cannot be set up or started.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("invalid bootstrap user name {name:?}: {reason}")]
    BadBootstrapUser { name: String, reason: String },
    #[error("invalid bootstrap access key id {id:?}")]
    BadBootstrapKey { id: String },
    #[error("refusing to listen on {addr}: only loopback addresses are allowed")]
    NotLoopback { addr: SocketAddr },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

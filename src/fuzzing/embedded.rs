//! The request targets in-process: `emulator_request` runs a session through the emulator's
//! handler with faults switched on and checks the store's invariants after every request;
//! `endpoint_embedded` runs the `endpoint` target's black-box judging against a fresh
//! fault-free emulator (the same judging the live mode applies to a real endpoint).
//!
//! Deterministic: the emulator is seeded and its clock fixed, and requests are signed at that
//! time, so an input replays identically. Must not sleep (hence never the `race-quota` fault)
//! or touch the network.

use super::OPERATION;
use super::grammar::{Built, State, build, session};
use super::oracle::{Reply, check_secrets, judge_reply, learn, response_failures, violation};
use crate::contract::RuleId;
use crate::emulator::{Clock, Config, Emulator, Fault, FaultSet, ManualClock};
use crate::model::Model;
use crate::wire::{WireProblem, decode_response};
use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

/// The host every in-process request is addressed to (and signed for).
pub(super) const EMBEDDED_HOST: &str = "iam.fuzz.local";
/// The emulator's fixed clock: 2026-01-01T00:00:00Z. Requests are signed at this time too,
/// so signatures are deterministic and valid, and an input replays identically.
const EMBEDDED_EPOCH_SECS: u64 = 1_767_225_600;

pub(super) fn embedded_clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(EMBEDDED_EPOCH_SECS))
}

/// Structured requests through the emulator's handler in-process, with up to three faults
/// switched on (never `race-quota`, whose deliberate sleep would stall the fuzzer). After every
/// request: no panic; without faults, no 5xx and every response rule of `response_failures`;
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
            if let Some(reason) = ill_formed(&reply) {
                fail(RuleId::OutputWellFormed.as_str(), &reason, &st);
            }
        }
        let new_secret = learn(&mut st, &built, &reply, has(Fault::ReuseKeyIds));
        if !has(Fault::SecretInList) {
            check_secrets(&st, &built, &reply, new_secret.as_ref());
        }
        if let Some((rule, reason)) = store_failure(&emu, has(Fault::NoKeyQuota)) {
            fail(rule, &reason, &st);
        }
    }
}

/// With faults on, status is not judged (several faults answer 5xx on purpose), but a body
/// must still be XML: why it is not, if it is not.
fn ill_formed(reply: &Reply) -> Option<String> {
    let d = decode_response(Model::embedded(), OPERATION, &reply.body);
    d.problems
        .iter()
        .find(|p| {
            matches!(
                p,
                WireProblem::IllFormed { .. } | WireProblem::NotUtf8 | WireProblem::EmptyBody
            )
        })
        .map(|p| p.to_string())
}

/// The store's invariants, read from its secret-free inventory: at most the quota of keys per
/// user (unless the quota is off), every key listed by exactly its owner, no key listed twice.
/// The first one broken, as `(rule, reason)`.
fn store_failure(emu: &Emulator, no_quota: bool) -> Option<(&'static str, String)> {
    let quota = Model::embedded().facts().key_quota();
    let inv = emu.inventory();
    let mut listed = HashSet::new();
    for u in &inv.users {
        if u.key_ids.len() > quota && !no_quota {
            let reason = format!("user {:?} holds {} keys", u.name, u.key_ids.len());
            return Some(("store.quota", reason));
        }
        for id in &u.key_ids {
            if !listed.insert(id.clone()) {
                return Some(("store.unique-ids", format!("key {id} listed twice")));
            }
            if !inv.keys.iter().any(|k| &k.id == id && k.owner == u.folded) {
                let reason = format!("key {id} listed by {:?} but not owned by it", u.name);
                return Some(("store.consistent", reason));
            }
        }
    }
    if listed.len() != inv.keys.len() {
        let reason = format!(
            "{} keys stored but {} listed by users",
            inv.keys.len(),
            listed.len()
        );
        return Some(("store.consistent", reason));
    }
    None
}

/// [`endpoint`](super::endpoint) against a fresh embedded emulator, whatever the environment
/// says.
pub fn endpoint_embedded(data: &[u8]) {
    let Some(s) = session(data) else { return };
    let clock = embedded_clock();
    let Ok(emu) = Emulator::new(Config::default().with_seed(0).with_clock(clock.clone())) else {
        panic!("endpoint: the default emulator does not start");
    };
    let mut st = State::new(emu.credentials().clone());
    for r in &s.requests {
        let built: Built = build(r, &st, EMBEDDED_HOST, clock.now(), false);
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

//! The emulator's state: users, their access keys, quotas and identifier generation.
//!
//! A pure state machine: no IO, no clock, no global randomness. Time and the random source are
//! passed into every call that needs them, so the same sequence of calls with the same seed
//! gives the same state. It knows nothing about HTTP, XML, authentication or authorization;
//! the handler decides who may call what and turns errors into responses.

use super::policy::PolicyDocument;
use crate::secret::Secret;
use base64::Engine;
use rand::RngCore;
use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The owner of the account root's keys. `:` is outside the user-name pattern, so no IAM user
/// can be looked up under it and the root's keys never mix with a user's.
pub(crate) const ROOT_OWNER: &str = ":root";

/// How identifiers and secrets are made, and which faults bend the store's rules.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub key_prefix: &'static str,
    /// Characters after the prefix.
    pub key_body_len: usize,
    pub secret_len: usize,
    pub reuse_key_ids: bool,
    pub secret_reuse: bool,
    /// Keep each user's deleted keys (the `list-keeps-deleted-keys` fault lists them).
    pub keep_deleted_keys: bool,
    pub fold_case: bool,
    pub quota: usize,
    pub enforce_quota: bool,
    pub max_users: usize,
    pub max_keys: usize,
    /// Characters (white space not counted) all inline policies of one user may hold.
    pub max_policy_chars: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub name: String,
    pub id: String,
    pub path: String,
    pub created: SystemTime,
    /// Key IDs in creation order.
    pub keys: Vec<String>,
    /// Keys deleted from this user, in deletion order; kept only with
    /// [`Policy::keep_deleted_keys`].
    pub deleted: Vec<Key>,
    /// Inline policies by name (ordered, so ListUserPolicies pages are stable).
    pub policies: BTreeMap<String, InlinePolicy>,
}

/// An inline user policy: the document as it was put, and as parsed once then.
#[derive(Debug, Clone)]
pub(crate) struct InlinePolicy {
    pub text: String,
    pub parsed: PolicyDocument,
}

#[derive(Debug, Clone)]
pub(crate) struct LastUsed {
    pub at: SystemTime,
    pub service: &'static str,
    pub region: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub id: String,
    /// The owner's lookup key (its folded name).
    pub owner: String,
    pub secret: Secret,
    pub status: String,
    pub created: SystemTime,
    pub last_used: Option<LastUsed>,
}

/// Why a store operation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    NoSuchUser(String),
    NoSuchKey(String),
    UserExists(String),
    KeyQuota(usize),
    TooManyUsers(usize),
    TooManyKeys(usize),
    DeleteConflict,
    /// DeleteUser of a user that still has inline policies.
    DeleteConflictPolicies,
    NoSuchPolicy(String),
    /// The user's inline policies would exceed the size quota.
    PolicySize {
        max: usize,
        user: String,
    },
}

#[derive(Debug)]
pub(crate) struct Store {
    policy: Policy,
    /// Users by folded name; a BTreeMap so that ListUsers is ordered and pages are stable.
    users: BTreeMap<String, User>,
    keys: HashMap<String, Key>,
    /// Counts every generated key ID; fed through a permutation so IDs look random but never
    /// repeat for the life of the process without remembering every ID ever issued.
    key_counter: u64,
    round_keys: [u32; 4],
    last_secret: Option<Secret>,
    /// The account root, when the emulator has one: a principal with keys but no name, kept
    /// apart from `users` so that ListUsers and GetUser never see it.
    root: Option<User>,
}

impl Store {
    pub fn new(policy: Policy, rng: &mut dyn RngCore) -> Store {
        let round_keys = [
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
        ];
        Store {
            policy,
            users: BTreeMap::new(),
            keys: HashMap::new(),
            key_counter: 0,
            round_keys,
            last_secret: None,
            root: None,
        }
    }

    /// Gives the account an account root (user ID `id`), whose keys are owned by
    /// [`ROOT_OWNER`].
    pub fn enable_root(&mut self, id: &str, now: SystemTime) {
        self.root = Some(User {
            name: String::new(),
            id: id.to_owned(),
            path: "/".to_owned(),
            created: now,
            keys: Vec::new(),
            deleted: Vec::new(),
            policies: BTreeMap::new(),
        });
    }

    /// The principal that owns keys under `folded`: a user, or the root for [`ROOT_OWNER`].
    fn principal(&self, folded: &str) -> Option<&User> {
        if folded == ROOT_OWNER {
            self.root.as_ref()
        } else {
            self.users.get(folded)
        }
    }

    fn principal_mut(&mut self, folded: &str) -> Option<&mut User> {
        if folded == ROOT_OWNER {
            self.root.as_mut()
        } else {
            self.users.get_mut(folded)
        }
    }

    /// The lookup key for a user name: names are unique case-insensitively unless the
    /// `case-sensitive-names` fault is on.
    pub fn fold(&self, name: &str) -> String {
        if self.policy.fold_case {
            name.to_lowercase()
        } else {
            name.to_owned()
        }
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(&self.fold(name))
    }

    /// The principal with lookup key `folded`: a user, or the root for [`ROOT_OWNER`].
    pub fn user_by_key(&self, folded: &str) -> Option<&User> {
        self.principal(folded)
    }

    pub fn users(&self) -> impl Iterator<Item = (&String, &User)> {
        self.users.iter()
    }

    pub fn key(&self, id: &str) -> Option<&Key> {
        self.keys.get(id)
    }

    /// Every key, in no particular order (for the read-only inventory).
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.values()
    }

    #[cfg(test)]
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn create_user(
        &mut self,
        name: &str,
        path: &str,
        now: SystemTime,
        rng: &mut dyn RngCore,
    ) -> Result<&User, StoreError> {
        let folded = self.fold(name);
        if self.users.contains_key(&folded) {
            return Err(StoreError::UserExists(name.to_owned()));
        }
        if self.users.len() >= self.policy.max_users {
            return Err(StoreError::TooManyUsers(self.policy.max_users));
        }
        let mut random = [0u8; 10];
        rng.fill_bytes(&mut random);
        let id = format!("AIDA{}", base32(&random, 16));
        let user = User {
            name: name.to_owned(),
            id,
            path: path.to_owned(),
            created: now,
            keys: Vec::new(),
            deleted: Vec::new(),
            policies: BTreeMap::new(),
        };
        Ok(self.users.entry(folded).or_insert(user))
    }

    /// Deletes a user. With `force` (the `delete-user-with-keys` fault) its keys go too;
    /// otherwise a user with keys is a conflict. Likewise for its inline policies with
    /// `force_policies` (the `delete-user-with-policies` fault).
    pub fn delete_user(
        &mut self,
        name: &str,
        force: bool,
        force_policies: bool,
    ) -> Result<(), StoreError> {
        let folded = self.fold(name);
        let user = self
            .users
            .get(&folded)
            .ok_or_else(|| StoreError::NoSuchUser(name.to_owned()))?;
        if !user.keys.is_empty() && !force {
            return Err(StoreError::DeleteConflict);
        }
        if !user.policies.is_empty() && !force_policies {
            return Err(StoreError::DeleteConflictPolicies);
        }
        let user = self.users.remove(&folded).expect("checked above");
        for k in &user.keys {
            self.keys.remove(k);
        }
        Ok(())
    }

    /// Whether `user` may get another key. Separate from [`Store::insert_key`] so that the
    /// `race-quota` fault can release the lock between the two.
    pub fn check_quota(&self, folded: &str) -> Result<(), StoreError> {
        let user = self
            .principal(folded)
            .ok_or_else(|| StoreError::NoSuchUser(folded.to_owned()))?;
        if self.policy.enforce_quota && user.keys.len() >= self.policy.quota {
            return Err(StoreError::KeyQuota(self.policy.quota));
        }
        Ok(())
    }

    /// Checks the quota and creates a key atomically.
    pub fn create_key(
        &mut self,
        folded: &str,
        now: SystemTime,
        rng: &mut dyn RngCore,
    ) -> Result<Key, StoreError> {
        self.check_quota(folded)?;
        self.insert_key(folded, now, rng)
    }

    /// Creates a key without the quota check (the account-wide bound still holds).
    pub fn insert_key(
        &mut self,
        folded: &str,
        now: SystemTime,
        rng: &mut dyn RngCore,
    ) -> Result<Key, StoreError> {
        if self.principal(folded).is_none() {
            return Err(StoreError::NoSuchUser(folded.to_owned()));
        }
        if self.keys.len() >= self.policy.max_keys {
            return Err(StoreError::TooManyKeys(self.policy.max_keys));
        }
        let id = self.next_key_id(rng);
        let secret = match (&self.last_secret, self.policy.secret_reuse) {
            (Some(s), true) => s.clone(),
            _ => {
                // 3 random bytes make 4 base64 characters of [A-Za-z0-9+/] with no padding.
                let mut bytes = vec![0u8; self.policy.secret_len.div_ceil(4) * 3];
                rng.fill_bytes(&mut bytes);
                let mut s = base64::engine::general_purpose::STANDARD.encode(&bytes);
                s.truncate(self.policy.secret_len);
                Secret::new(s)
            }
        };
        self.last_secret = Some(secret.clone());
        self.insert_key_with(folded, id, secret, now)
    }

    /// Inserts a key with a given ID and secret (the bootstrap key).
    pub fn insert_key_with(
        &mut self,
        folded: &str,
        id: String,
        secret: Secret,
        now: SystemTime,
    ) -> Result<Key, StoreError> {
        let user = self
            .principal_mut(folded)
            .ok_or_else(|| StoreError::NoSuchUser(folded.to_owned()))?;
        user.keys.push(id.clone());
        let key = Key {
            id: id.clone(),
            owner: folded.to_owned(),
            secret,
            status: "Active".to_owned(),
            created: now,
            last_used: None,
        };
        self.keys.insert(id, key.clone());
        Ok(key)
    }

    /// The key `id` if it belongs to the user with lookup key `folded`.
    pub fn owned_key(&self, folded: &str, id: &str) -> Result<&Key, StoreError> {
        if self.principal(folded).is_none() {
            return Err(StoreError::NoSuchUser(folded.to_owned()));
        }
        match self.keys.get(id) {
            Some(k) if k.owner == folded => Ok(k),
            _ => Err(StoreError::NoSuchKey(id.to_owned())),
        }
    }

    pub fn update_key(
        &mut self,
        folded: &str,
        id: &str,
        status: &str,
        reset_create_date: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        self.owned_key(folded, id)?;
        let key = self.keys.get_mut(id).expect("checked above");
        key.status = status.to_owned();
        if let Some(now) = reset_create_date {
            key.created = now;
        }
        Ok(())
    }

    pub fn delete_key(&mut self, folded: &str, id: &str) -> Result<(), StoreError> {
        self.owned_key(folded, id)?;
        let key = self.keys.remove(id);
        let keep_deleted = self.policy.keep_deleted_keys;
        if let Some(u) = self.principal_mut(folded) {
            u.keys.retain(|k| k != id);
            if keep_deleted {
                u.deleted.extend(key);
            }
        }
        Ok(())
    }

    /// Adds or replaces an inline policy of the user with lookup key `folded`.
    pub fn put_user_policy(
        &mut self,
        folded: &str,
        name: &str,
        policy: InlinePolicy,
    ) -> Result<(), StoreError> {
        let max = self.policy.max_policy_chars;
        let user = self
            .users
            .get_mut(folded)
            .ok_or_else(|| StoreError::NoSuchUser(folded.to_owned()))?;
        // The quota is on all of the user's inline policies together, the one replaced aside,
        // white space not counted; it also bounds what a user can make the emulator hold.
        let size = |t: &str| t.chars().filter(|c| !c.is_whitespace()).count();
        let others: usize = user
            .policies
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .map(|(_, p)| size(&p.text))
            .sum();
        if others + size(&policy.text) > max {
            return Err(StoreError::PolicySize {
                max,
                user: user.name.clone(),
            });
        }
        user.policies.insert(name.to_owned(), policy);
        Ok(())
    }

    /// An inline policy of the user with lookup key `folded`.
    pub fn user_policy(&self, folded: &str, name: &str) -> Result<&InlinePolicy, StoreError> {
        let user = self
            .users
            .get(folded)
            .ok_or_else(|| StoreError::NoSuchUser(folded.to_owned()))?;
        user.policies
            .get(name)
            .ok_or_else(|| StoreError::NoSuchPolicy(name.to_owned()))
    }

    /// Removes an inline policy of the user with lookup key `folded`.
    pub fn delete_user_policy(&mut self, folded: &str, name: &str) -> Result<(), StoreError> {
        let user = self
            .users
            .get_mut(folded)
            .ok_or_else(|| StoreError::NoSuchUser(folded.to_owned()))?;
        user.policies
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| StoreError::NoSuchPolicy(name.to_owned()))
    }

    pub fn record_use(&mut self, id: &str, at: SystemTime, service: &'static str, region: &str) {
        if let Some(k) = self.keys.get_mut(id) {
            k.last_used = Some(LastUsed {
                at,
                service,
                region: region.to_owned(),
            });
        }
    }

    fn next_key_id(&mut self, rng: &mut dyn RngCore) -> String {
        let body_len = self.policy.key_body_len;
        if self.policy.reuse_key_ids {
            // The lowest counter value whose ID is not live: a deleted key's ID comes back.
            let mut n = 0u64;
            loop {
                let id = self.format_key_id(self.permute(n), 0, body_len);
                if !self.keys.contains_key(&id) {
                    return id;
                }
                n += 1;
            }
        }
        loop {
            let n = self.key_counter;
            self.key_counter += 1;
            let id = self.format_key_id(self.permute(n), rng.next_u32() as u16, body_len);
            // Full-length IDs are unique by construction; shortened ones (a fault) may collide
            // by chance, and a live duplicate would corrupt the store.
            if !self.keys.contains_key(&id) {
                return id;
            }
        }
    }

    fn format_key_id(&self, high: u64, low: u16, body_len: usize) -> String {
        // 64 permuted counter bits then 16 random bits: 80 bits, 16 base32 characters.
        let v = ((high as u128) << 16) | low as u128;
        let bytes = v.to_be_bytes();
        let mut id = String::with_capacity(self.policy.key_prefix.len() + body_len);
        id.push_str(self.policy.key_prefix);
        id.push_str(&base32(&bytes[6..], body_len));
        id
    }

    /// A keyed 4-round Feistel permutation of 64 bits: a bijection, so distinct counters give
    /// distinct outputs whatever the round function.
    fn permute(&self, x: u64) -> u64 {
        let (mut l, mut r) = ((x >> 32) as u32, x as u32);
        for k in self.round_keys {
            let f = mix(r ^ k);
            (l, r) = (r, l ^ f);
        }
        ((l as u64) << 32) | r as u64
    }
}

fn mix(x: u32) -> u32 {
    let mut x = x.wrapping_mul(0x9E37_79B1);
    x ^= x >> 15;
    x = x.wrapping_mul(0x85EB_CA77);
    x ^= x >> 13;
    x
}

/// The first `len` base32 (`A-Z2-7`) characters of `bytes`, most significant bits first.
fn base32(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut it = bytes.iter();
    while out.len() < len {
        if bits < 5 {
            acc = (acc << 8) | *it.next().unwrap_or(&0) as u32;
            bits += 8;
        }
        bits -= 5;
        out.push(BASE32[((acc >> bits) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn policy() -> Policy {
        Policy {
            key_prefix: "AKIA",
            key_body_len: 16,
            secret_len: 40,
            reuse_key_ids: false,
            secret_reuse: false,
            keep_deleted_keys: false,
            fold_case: true,
            quota: 2,
            enforce_quota: true,
            max_users: 10,
            max_keys: 100,
            max_policy_chars: 2048,
        }
    }

    #[test]
    fn ids_are_well_formed_and_unique() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut s = Store::new(policy(), &mut rng);
        let now = SystemTime::UNIX_EPOCH;
        s.create_user("u", "/", now, &mut rng).unwrap();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let k = s.create_key("u", now, &mut rng).unwrap();
            assert_eq!(k.id.len(), 20);
            assert!(k.id.starts_with("AKIA"));
            assert!(k.id[4..].bytes().all(|b| BASE32.contains(&b)));
            assert_eq!(k.secret.len(), 40);
            assert!(seen.insert(k.id.clone()));
            s.delete_key("u", &k.id).unwrap();
        }
    }

    #[test]
    fn quota_names_and_conflicts() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut s = Store::new(policy(), &mut rng);
        let now = SystemTime::UNIX_EPOCH;
        s.create_user("Alice", "/", now, &mut rng).unwrap();
        assert_eq!(
            s.create_user("alice", "/", now, &mut rng).unwrap_err(),
            StoreError::UserExists("alice".into())
        );
        assert_eq!(s.user("ALICE").unwrap().name, "Alice");
        s.create_key("alice", now, &mut rng).unwrap();
        s.create_key("alice", now, &mut rng).unwrap();
        assert_eq!(
            s.create_key("alice", now, &mut rng).unwrap_err(),
            StoreError::KeyQuota(2)
        );
        assert_eq!(
            s.delete_user("Alice", false, false).unwrap_err(),
            StoreError::DeleteConflict
        );
        s.delete_user("Alice", true, false).unwrap();
        assert_eq!(s.key_count(), 0);
    }

    #[test]
    fn inline_policies_block_delete_user_until_deleted() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let mut s = Store::new(policy(), &mut rng);
        let now = SystemTime::UNIX_EPOCH;
        s.create_user("u", "/", now, &mut rng).unwrap();
        let text = r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#;
        let p = InlinePolicy {
            text: text.into(),
            parsed: PolicyDocument::parse(text).unwrap(),
        };
        s.put_user_policy("u", "p", p.clone()).unwrap();
        assert_eq!(s.user_policy("u", "p").unwrap().text, text);
        assert_eq!(
            s.user_policy("u", "q").unwrap_err(),
            StoreError::NoSuchPolicy("q".into())
        );
        assert_eq!(
            s.delete_user("u", false, false).unwrap_err(),
            StoreError::DeleteConflictPolicies
        );
        s.delete_user_policy("u", "p").unwrap();
        assert_eq!(
            s.delete_user_policy("u", "p").unwrap_err(),
            StoreError::NoSuchPolicy("p".into())
        );
        s.put_user_policy("u", "p", p.clone()).unwrap();
        // The size quota counts every policy of the user but the one replaced, without white
        // space.
        let sized = |n: usize, pad: &str| {
            let text = format!(r#"{{"Statement":{{"Sid":"{}"{pad}}}}}"#, "a".repeat(n));
            InlinePolicy {
                parsed: p.parsed.clone(),
                text,
            }
        };
        let used = text.len();
        let room = 2048 - used - r#"{"Statement":{"Sid":""}}"#.len();
        s.put_user_policy("u", "q", sized(room, &" \n".repeat(500)))
            .unwrap();
        assert_eq!(
            s.put_user_policy("u", "r", sized(0, "")).unwrap_err(),
            StoreError::PolicySize {
                max: 2048,
                user: "u".into()
            }
        );
        s.put_user_policy("u", "q", sized(room - 10, "")).unwrap();
        s.delete_user("u", false, true).unwrap();
        assert!(s.user("u").is_none());
    }

    #[test]
    fn reuse_gives_back_a_deleted_id() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut s = Store::new(
            Policy {
                reuse_key_ids: true,
                ..policy()
            },
            &mut rng,
        );
        let now = SystemTime::UNIX_EPOCH;
        s.create_user("u", "/", now, &mut rng).unwrap();
        let a = s.create_key("u", now, &mut rng).unwrap();
        s.delete_key("u", &a.id).unwrap();
        let b = s.create_key("u", now, &mut rng).unwrap();
        assert_eq!(a.id, b.id);
    }
}

//! The account root as a caller: calls signed with a root key that name no user act on the
//! root itself (GetUser) and on the root's own access keys (CreateAccessKey, ListAccessKeys,
//! UpdateAccessKey, DeleteAccessKey), as the AWS CLI reference describes ("you can use this
//! action to manage root credentials even if the AWS account has no associated users").
//!
//! The root is not an IAM user: GetUser answers with its `UserId` (the account ID), its ARN
//! `arn:aws:iam::ACCOUNT:root` and its `CreateDate`, and no `UserName` (recorded). What
//! `AccessKey.UserName` holds for a root key is not documented; this emulator's choice is to
//! leave the member out (as the Ruby SDK documents for a root key's user), in CreateAccessKey,
//! ListAccessKeys and GetAccessKeyLastUsed alike. The root's keys count against the same quota
//! of 2. Authorization is not decided here: the root is allowed every action (see
//! `Emulator::authorize`). Must not: touch a user's keys, or answer for a caller that is not
//! the root.

use super::*;

/// The account root's ARN.
pub(super) fn root_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:root")
}

impl Emulator {
    /// Whether a call without `UserName` from the principal `owner` acts on the root: the root
    /// signed it, or (fault `implicit-user-bootstrap`, in a root-only emulator) anyone did.
    fn acts_on_root(&self, owner: &str) -> bool {
        owner == ROOT_OWNER || (self.has(Fault::ImplicitUserBootstrap) && self.signs_as_root())
    }

    /// The `root-keys-unusable` fault: a root key other than the one the emulator started with
    /// does not authenticate.
    pub(super) fn root_key_refused(&self, owner: &str, key_id: &str) -> bool {
        owner == ROOT_OWNER
            && self.has(Fault::RootKeysUnusable)
            && key_id != self.bootstrap.access_key_id
    }

    /// A root key's metadata: no `UserName` (the emulator's choice for what AWS leaves
    /// undocumented).
    fn root_key_metadata(&self, k: &Key) -> Value {
        json!({
            "AccessKeyId": k.id,
            "Status": self.status_out(&k.status),
            "CreateDate": self.date(k.created),
        })
    }

    /// Answers a call that acts on the root, or `None` when the call is not one (it names a
    /// user, or the caller is not the root): the ordinary dispatch then handles it.
    pub(super) fn dispatch_root(
        &self,
        st: &mut Store,
        op: &'static str,
        input: &Map<String, Value>,
        owner: &str,
        now: SystemTime,
    ) -> Option<Result<Output, ApiError>> {
        if input.contains_key("UserName") || !self.acts_on_root(owner) {
            return None;
        }
        let s = |k: &str| input.get(k).and_then(Value::as_str);
        let ok = |value: Value| {
            Some(Ok(Output::Iam {
                op,
                value,
                leaked: Vec::new(),
            }))
        };
        let se = |e| Some(Err(self.store_error(e)));
        let root = st.user_by_key(ROOT_OWNER)?.clone();
        match op {
            "GetUser" => {
                let mut user = json!({
                    "UserId": root.id,
                    "Arn": root_arn(),
                    "CreateDate": self.date(root.created),
                });
                if self.has(Fault::RootGetUserNamed) {
                    user["UserName"] = json!("root");
                }
                ok(json!({ "User": user }))
            }
            "CreateAccessKey" => {
                if self.has(Fault::RootKeysRefused) {
                    return Some(Err(self.fact("implicit-user-non-user", &[])));
                }
                let created = if self.has(Fault::RootNoKeyQuota) {
                    self.with_rng(|r| st.insert_key(ROOT_OWNER, now, r))
                } else {
                    self.with_rng(|r| st.create_key(ROOT_OWNER, now, r))
                };
                let key = match created {
                    Ok(k) => k,
                    Err(e) => return se(e),
                };
                ok(json!({ "AccessKey": {
                    "AccessKeyId": key.id,
                    "Status": self.status_out(&key.status),
                    "SecretAccessKey": key.secret.expose(),
                    "CreateDate": self.date(key.created),
                }}))
            }
            "ListAccessKeys" => {
                let list: Vec<Value> = if self.has(Fault::RootListEmpty) {
                    Vec::new()
                } else {
                    root.keys
                        .iter()
                        .filter_map(|id| st.key(id))
                        .map(|k| self.root_key_metadata(k))
                        .collect()
                };
                ok(json!({ "AccessKeyMetadata": list, "IsTruncated": false }))
            }
            "UpdateAccessKey" => {
                let id = s("AccessKeyId").unwrap_or_default();
                if let Err(e) = st.owned_key(ROOT_OWNER, id) {
                    return se(e);
                }
                if !self.has(Fault::RootUpdateIgnored) {
                    let reset = self
                        .has(Fault::CreateDateChangesOnUpdate)
                        .then(|| now + Duration::from_secs(86_400));
                    let status = s("Status").unwrap_or("Active");
                    if let Err(e) = st.update_key(ROOT_OWNER, id, status, reset) {
                        return se(e);
                    }
                }
                ok(json!({}))
            }
            "DeleteAccessKey" => {
                let id = s("AccessKeyId").unwrap_or_default();
                if let Err(e) = self.throttle_once(op, ROOT_OWNER, id) {
                    return Some(Err(e));
                }
                if let Err(e) = st.owned_key(ROOT_OWNER, id) {
                    return se(e);
                }
                if !self.has(Fault::RootDeleteIgnored)
                    && let Err(e) = st.delete_key(ROOT_OWNER, id)
                {
                    return se(e);
                }
                ok(json!({}))
            }
            "GetAccessKeyLastUsed" => {
                // Only a root key is answered here; a user's key goes the ordinary way.
                let key = st
                    .key(s("AccessKeyId").unwrap_or_default())
                    .filter(|k| k.owner == ROOT_OWNER)?;
                ok(json!({ "AccessKeyLastUsed": self.last_used_value(key) }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;
    use crate::wire::{Outcome, decode_response};

    const ROOT_ID: &str = "AKIAROOTEXAMPLE00001";

    fn root_emulator(faults: &[Fault]) -> Emulator {
        let clock =
            super::super::super::ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let mut config = Config::default().as_root().with_seed(1).with_clock(clock);
        config.bootstrap_credentials = Credentials::new(ROOT_ID, "root-secret");
        for f in faults {
            config.faults.insert(*f);
        }
        Emulator::new(config).expect("a root-only emulator starts")
    }

    /// Calls the handler as the principal that owns `owner`'s keys, past authentication (which
    /// the server tests cover): dispatch alone.
    fn call(
        emu: &Emulator,
        owner: &str,
        action: &'static str,
        params: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut pairs = vec![
            ("Action".to_owned(), action.to_owned()),
            ("Version".to_owned(), "2010-05-08".to_owned()),
        ];
        pairs.extend(
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let caller = Caller {
            owner: owner.to_owned(),
            key_id: None,
            service: "iam",
        };
        let rid = "r";
        let resp = match emu.dispatch(action, &Params(pairs), &caller) {
            Ok(out) => emu.success_response(rid, out),
            Err(e) => emu.error_response(false, rid, e),
        };
        let d = decode_response(emu.model, action, &resp.body);
        let value = match d.outcome {
            Outcome::Success { .. } => d.revealed_value().unwrap_or(Value::Null),
            Outcome::Error(e) => json!({ "Code": e.code }),
            Outcome::Unreadable => Value::Null,
        };
        (resp.status, value)
    }

    fn listed(emu: &Emulator) -> Vec<(String, String)> {
        let (_, v) = call(emu, ROOT_OWNER, "ListAccessKeys", &[]);
        v["AccessKeyMetadata"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                assert!(k.get("UserName").is_none(), "{k}");
                (
                    k["AccessKeyId"].as_str().unwrap_or_default().to_owned(),
                    k["Status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_root_manages_its_own_keys_without_user_name() {
        let emu = root_emulator(&[]);
        assert!(emu.signs_as_root());
        assert!(emu.inventory().users.is_empty(), "no IAM user at start");
        let (status, who) = call(&emu, ROOT_OWNER, "GetUser", &[]);
        assert_eq!(status, 200);
        assert_eq!(who["User"]["Arn"], "arn:aws:iam::123456789012:root");
        assert_eq!(who["User"]["UserId"], ACCOUNT_ID);
        assert!(who["User"].get("UserName").is_none(), "{who}");
        assert_eq!(listed(&emu), [(ROOT_ID.to_owned(), "Active".to_owned())]);
        let (status, created) = call(&emu, ROOT_OWNER, "CreateAccessKey", &[]);
        assert_eq!(status, 200, "{created}");
        assert!(created["AccessKey"].get("UserName").is_none());
        let id = created["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        // The quota of 2 holds for the root: the starting key and this one.
        let (status, third) = call(&emu, ROOT_OWNER, "CreateAccessKey", &[]);
        assert_eq!(
            (status, third["Code"].as_str()),
            (409, Some("LimitExceeded"))
        );
        let (status, _) = call(
            &emu,
            ROOT_OWNER,
            "UpdateAccessKey",
            &[("AccessKeyId", &id), ("Status", "Inactive")],
        );
        assert_eq!(status, 200);
        assert!(listed(&emu).contains(&(id.clone(), "Inactive".to_owned())));
        let (status, _) = call(&emu, ROOT_OWNER, "DeleteAccessKey", &[("AccessKeyId", &id)]);
        assert_eq!(status, 200);
        assert_eq!(listed(&emu).len(), 1);
        // A root key is not a user's: naming a user is the ordinary path.
        let (status, _) = call(&emu, ROOT_OWNER, "CreateUser", &[("UserName", "alice")]);
        assert_eq!(status, 200);
        let (status, k) = call(
            &emu,
            ROOT_OWNER,
            "CreateAccessKey",
            &[("UserName", "alice")],
        );
        assert_eq!(
            (status, k["AccessKey"]["UserName"].as_str()),
            (200, Some("alice"))
        );
        let (_, alice) = call(&emu, ROOT_OWNER, "ListAccessKeys", &[("UserName", "alice")]);
        assert_eq!(alice["AccessKeyMetadata"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed(&emu).len(), 1, "a user's key is not the root's");
        // The root's own key cannot be reached through a user's name.
        let (status, _) = call(
            &emu,
            ROOT_OWNER,
            "DeleteAccessKey",
            &[("UserName", "alice"), ("AccessKeyId", ROOT_ID)],
        );
        assert_eq!(status, 404);
    }

    #[test]
    fn each_root_fault_breaks_its_part() {
        let emu = root_emulator(&[Fault::RootGetUserNamed]);
        let (_, who) = call(&emu, ROOT_OWNER, "GetUser", &[]);
        assert_eq!(who["User"]["UserName"], "root");
        let emu = root_emulator(&[Fault::RootKeysRefused]);
        let (status, e) = call(&emu, ROOT_OWNER, "CreateAccessKey", &[]);
        assert_eq!((status, e["Code"].as_str()), (400, Some("ValidationError")));
        let emu = root_emulator(&[Fault::RootListEmpty]);
        assert!(listed(&emu).is_empty());
        let emu = root_emulator(&[Fault::RootNoKeyQuota]);
        for _ in 0..3 {
            assert_eq!(call(&emu, ROOT_OWNER, "CreateAccessKey", &[]).0, 200);
        }
        let emu = root_emulator(&[Fault::RootUpdateIgnored, Fault::RootDeleteIgnored]);
        let (_, created) = call(&emu, ROOT_OWNER, "CreateAccessKey", &[]);
        let id = created["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        call(
            &emu,
            ROOT_OWNER,
            "UpdateAccessKey",
            &[("AccessKeyId", &id), ("Status", "Inactive")],
        );
        call(&emu, ROOT_OWNER, "DeleteAccessKey", &[("AccessKeyId", &id)]);
        assert!(listed(&emu).contains(&(id, "Active".to_owned())));
        let emu = root_emulator(&[Fault::RootKeysUnusable]);
        assert!(emu.root_key_refused(ROOT_OWNER, "AKIAOTHER"));
        assert!(!emu.root_key_refused(ROOT_OWNER, ROOT_ID));
        assert!(!root_emulator(&[]).root_key_refused(ROOT_OWNER, "AKIAOTHER"));
    }
}

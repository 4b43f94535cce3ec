//! SigV4 verification for the emulator: parsing the `Authorization` header or the presigned
//! query parameters, rebuilding the canonical request and comparing signatures in constant time.
//!
//! Pure: no IO, no clock (the caller checks the date). Its one piece of state is
//! [`SigningKeys`], a cache of derived signing keys that the handler owns. It never logs or
//! returns a secret or a computed signature; a mismatch is just `false`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::SystemTime;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The signing claims of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub key_id: String,
    /// `YYYYMMDD` from the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// Presigned: the `X-Amz-Expires` seconds, if any; `None` for header signing.
    pub presigned: Option<Option<u64>>,
    pub has_session_token: bool,
}

/// What the request says about its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Missing,
    /// Malformed; the text is AWS-style detail for `IncompleteSignature`.
    Malformed(String),
    Signed(Claims),
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads the signature claims from the `Authorization` header, else from the presigned query
/// parameters (already decoded, first occurrence of each).
pub(crate) fn parse(headers: &[(String, String)], query: &[(String, String)]) -> Parsed {
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(auth) = header(headers, "authorization") {
        return parse_header(auth, headers);
    }
    let Some(alg) = q("X-Amz-Algorithm") else {
        return Parsed::Missing;
    };
    if alg != ALGORITHM {
        return Parsed::Malformed(format!("Unsupported AWS 'algorithm': '{alg}'"));
    }
    let (Some(cred), Some(date), Some(signed), Some(sig)) = (
        q("X-Amz-Credential"),
        q("X-Amz-Date"),
        q("X-Amz-SignedHeaders"),
        q("X-Amz-Signature"),
    ) else {
        return Parsed::Malformed(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.".into(),
        );
    };
    let expires = match q("X-Amz-Expires") {
        None => None,
        Some(e) => match e.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Parsed::Malformed("X-Amz-Expires must be a number of seconds".into());
            }
        },
    };
    claims(
        cred,
        signed,
        sig,
        date,
        Some(expires),
        q("X-Amz-Security-Token").is_some(),
    )
}

fn parse_header(auth: &str, headers: &[(String, String)]) -> Parsed {
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        let alg = auth.split_whitespace().next().unwrap_or("");
        return Parsed::Malformed(format!("Unsupported AWS 'algorithm': '{alg}'"));
    };
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let missing: Vec<&str> = [
        ("Credential", cred.is_none()),
        ("Signature", sig.is_none()),
        ("SignedHeaders", signed.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Parsed::Malformed(format!(
            "Authorization header requires {} parameter(s). Authorization={ALGORITHM}",
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let Some(date) = header(headers, "x-amz-date") else {
        return Parsed::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        );
    };
    claims(
        cred.unwrap_or_default(),
        signed.unwrap_or_default(),
        sig.unwrap_or_default(),
        date,
        None,
        header(headers, "x-amz-security-token").is_some(),
    )
}

fn claims(
    cred: &str,
    signed: &str,
    sig: &str,
    date: &str,
    presigned: Option<Option<u64>>,
    has_session_token: bool,
) -> Parsed {
    let parts: Vec<&str> = cred.split('/').collect();
    if parts.len() != 5 || parts.iter().any(|p| p.is_empty()) {
        return Parsed::Malformed(format!(
            "Credential should be scoped to a valid region, service and terminator: {}",
            parts.get(1..).map(|p| p.join("/")).unwrap_or_default()
        ));
    }
    if signed.is_empty() {
        return Parsed::Malformed("SignedHeaders must not be empty".into());
    }
    Parsed::Signed(Claims {
        key_id: parts[0].to_owned(),
        scope_date: parts[1].to_owned(),
        region: parts[2].to_owned(),
        service: parts[3].to_owned(),
        terminator: parts[4].to_owned(),
        signed_headers: signed.split(';').map(|h| h.to_ascii_lowercase()).collect(),
        signature: sig.to_owned(),
        amz_date: date.to_owned(),
        presigned,
        has_session_token,
    })
}

/// Parses an `X-Amz-Date` (`20260101T000000Z`).
pub(crate) fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let month = time::Month::try_from(num(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8).ok()?;
    let t = time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc().into())
}

/// Everything about the request that goes into the canonical request.
pub(crate) struct Signable<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Whether `claims.signature` is the signature of `req` under `secret`. Compared in constant
/// time. For presigned requests without a body, `UNSIGNED-PAYLOAD` is accepted too.
#[cfg(test)]
pub(crate) fn verify(claims: &Claims, secret: &str, req: &Signable<'_>) -> bool {
    let key = signing_key(secret, &claims.scope_date, &claims.region, &claims.service);
    verify_with_key(claims, &key, req)
}

/// [`verify`] with the signing key already derived (see [`SigningKeys`]).
pub(crate) fn verify_with_key(claims: &Claims, key: &[u8; 32], req: &Signable<'_>) -> bool {
    let mut body_hash = [0u8; 64];
    let body_hash = if req.body.is_empty() {
        EMPTY_SHA256
    } else {
        hex_into(&Sha256::digest(req.body).into(), &mut body_hash)
    };
    if check(claims, key, req, body_hash) {
        return true;
    }
    claims.presigned.is_some() && req.body.is_empty() && check(claims, key, req, "UNSIGNED-PAYLOAD")
}

/// Lower-case hex of a 32-byte digest, written into `out`.
fn hex_into<'a>(bytes: &[u8; 32], out: &'a mut [u8; 64]) -> &'a str {
    hex::encode_to_slice(bytes, out).expect("64 hex digits for 32 bytes");
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

fn check(claims: &Claims, key: &[u8; 32], req: &Signable<'_>, payload_hash: &str) -> bool {
    let canonical = canonical_request(claims, req, payload_hash);
    let mut digest = [0u8; 64];
    let mut string_to_sign = String::with_capacity(160);
    for part in [
        ALGORITHM,
        "\n",
        &claims.amz_date,
        "\n",
        &claims.scope_date,
        "/",
        &claims.region,
        "/",
        &claims.service,
        "/",
        &claims.terminator,
        "\n",
        hex_into(&Sha256::digest(canonical.as_bytes()).into(), &mut digest),
    ] {
        string_to_sign.push_str(part);
    }
    let mut expected = [0u8; 64];
    let expected = hex_into(&hmac(key, string_to_sign.as_bytes()), &mut expected);
    let given = claims.signature.as_bytes();
    given.len() == expected.len() && bool::from(given.ct_eq(expected.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// SigV4's derived signing key: four HMACs over the secret and the credential scope.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k = Vec::with_capacity(secret.len() + 4);
    k.extend_from_slice(b"AWS4");
    k.extend_from_slice(secret.as_bytes());
    let k = hmac(&k, date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// Derived signing keys by access key ID and scope (date, region, service), as AWS's own
/// front ends keep them: a client signs every request of a day with the same key, and
/// deriving it is four of the six HMACs a verification costs. An entry remembers the secret
/// it was derived from and is used only while the key still has that secret (compared in
/// constant time), so a reused key ID (the `reuse-key-ids` fault) never verifies with a stale
/// key. Bounded: the whole cache is dropped when it reaches [`SigningKeys::CAPACITY`] entries.
#[derive(Default)]
pub(crate) struct SigningKeys {
    entries: rustc_hash::FxHashMap<String, CachedKey>,
}

struct CachedKey {
    secret: crate::secret::Secret,
    scope: (String, String, String),
    key: [u8; 32],
}

impl SigningKeys {
    pub const CAPACITY: usize = 4096;

    /// The signing key of `claims`' scope under `secret`, derived once per key ID and scope.
    pub fn get(&mut self, claims: &Claims, secret: &crate::secret::Secret) -> [u8; 32] {
        if let Some(c) = self.entries.get(&claims.key_id)
            && c.scope.0 == claims.scope_date
            && c.scope.1 == claims.region
            && c.scope.2 == claims.service
            && c.secret == *secret
        {
            return c.key;
        }
        let key = signing_key(
            secret.expose(),
            &claims.scope_date,
            &claims.region,
            &claims.service,
        );
        if self.entries.len() >= Self::CAPACITY {
            self.entries.clear();
        }
        self.entries.insert(
            claims.key_id.clone(),
            CachedKey {
                secret: secret.clone(),
                scope: (
                    claims.scope_date.clone(),
                    claims.region.clone(),
                    claims.service.clone(),
                ),
                key,
            },
        );
        key
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

fn canonical_request(claims: &Claims, req: &Signable<'_>, payload_hash: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    canonical_uri(req.path, &mut out);
    out.push('\n');
    canonical_query(req.raw_query, claims.presigned.is_some(), &mut out);
    out.push('\n');
    for name in &claims.signed_headers {
        out.push_str(name);
        out.push(':');
        let mut first = true;
        for (k, v) in req.headers {
            if k.eq_ignore_ascii_case(name) {
                if !first {
                    out.push(',');
                }
                first = false;
                // Trim and collapse runs of spaces, as SigV4 requires.
                let mut prev_space = false;
                for c in v.trim().chars() {
                    if c == ' ' {
                        if !prev_space {
                            out.push(' ');
                        }
                        prev_space = true;
                    } else {
                        out.push(c);
                        prev_space = false;
                    }
                }
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&claims.signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// The path with each character outside the unreserved set and `/` percent-encoded once more
/// (SigV4 for services other than S3 encodes the already-encoded path again).
fn canonical_uri(path: &str, out: &mut String) {
    if path.is_empty() {
        out.push('/');
        return;
    }
    for seg in path.split_inclusive('/') {
        let (s, slash) = match seg.strip_suffix('/') {
            Some(s) => (s, true),
            None => (seg, false),
        };
        out.push_str(&crate::wire::percent_encode(s));
        if slash {
            out.push('/');
        }
    }
}

fn canonical_query(raw: &str, presigned: bool, out: &mut String) {
    if raw.is_empty() {
        return;
    }
    // Decode the way the aws-sigv4 crate does (form decoding, `+` is a space) and re-encode by
    // AWS's rules, so that however a client escaped the query the canonical form agrees.
    let mut pairs: Vec<(String, String)> = raw
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                crate::wire::percent_encode(&k),
                crate::wire::percent_encode(&v),
            )
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

fn form_decode(s: &str) -> String {
    let plus: Vec<u8> = s
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Credentials, Scope, sign_headers};

    fn signed(body: &[u8], time: SystemTime) -> Vec<(String, String)> {
        let mut headers = vec![
            ("host".to_owned(), "127.0.0.1:1234".to_owned()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let added = sign_headers(
            "POST",
            "http://127.0.0.1:1234/",
            &headers,
            body,
            &Credentials::example(),
            &Scope::default(),
            time,
        )
        .unwrap();
        headers.extend(added);
        headers
    }

    #[test]
    fn verifies_what_aws_sigv4_signs_and_nothing_else() {
        let body = b"Action=ListUsers&Version=2010-05-08";
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let headers = signed(body, t);
        let Parsed::Signed(c) = parse(&headers, &[]) else {
            panic!("not parsed")
        };
        assert_eq!(c.key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(parse_amz_date(&c.amz_date), Some(t));
        let req = Signable {
            method: "POST",
            path: "/",
            raw_query: "",
            headers: &headers,
            body,
        };
        assert!(verify(&c, crate::client::EXAMPLE_SECRET_ACCESS_KEY, &req));
        assert!(!verify(&c, "wrong", &req));
        let tampered = Signable {
            body: b"Action=ListUsers&Version=2010-05-09",
            ..req
        };
        assert!(!verify(
            &c,
            crate::client::EXAMPLE_SECRET_ACCESS_KEY,
            &tampered
        ));
    }

    #[test]
    fn cached_signing_keys_follow_the_secret_and_the_scope() {
        let body = b"Action=GetUser&Version=2010-05-08";
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let headers = signed(body, t);
        let Parsed::Signed(c) = parse(&headers, &[]) else {
            panic!("not parsed")
        };
        let req = Signable {
            method: "POST",
            path: "/",
            raw_query: "",
            headers: &headers,
            body,
        };
        let right = crate::secret::Secret::new(crate::client::EXAMPLE_SECRET_ACCESS_KEY);
        let wrong = crate::secret::Secret::new("another secret of the same key id");
        let mut cache = SigningKeys::default();
        for _ in 0..3 {
            assert!(verify_with_key(&c, &cache.get(&c, &right), &req));
        }
        assert_eq!(cache.len(), 1);
        // The same key ID with another secret (a reused ID) must not verify with the cached key.
        assert!(!verify_with_key(&c, &cache.get(&c, &wrong), &req));
        assert!(verify_with_key(&c, &cache.get(&c, &right), &req));
        // Another day's scope gets its own key.
        let next_day = Claims {
            scope_date: "20270116".into(),
            ..c.clone()
        };
        assert_ne!(cache.get(&next_day, &right), cache.get(&c, &right));
        assert_eq!(
            cache.get(&next_day, &right),
            signing_key(
                crate::client::EXAMPLE_SECRET_ACCESS_KEY,
                "20270116",
                &c.region,
                &c.service
            )
        );
    }

    #[test]
    fn malformed_and_missing() {
        assert_eq!(parse(&[], &[]), Parsed::Missing);
        let h = vec![(
            "Authorization".to_owned(),
            "AWS4-HMAC-SHA256 Credential=x".to_owned(),
        )];
        assert!(matches!(parse(&h, &[]), Parsed::Malformed(_)));
        let h = vec![("Authorization".to_owned(), "Basic abc".to_owned())];
        assert!(matches!(parse(&h, &[]), Parsed::Malformed(_)));
        assert_eq!(parse_amz_date("20261301T000000Z"), None);
        assert_eq!(parse_amz_date("2026"), None);
    }
}

//! The response rules the `emulator_request` and `endpoint` targets judge every answer by, as
//! a black-box client sees it: well-formed XML, no 5xx, the error and success envelopes, every
//! output rule of a CreateAccessKey success ([`output_failures`]) plus the UserName echo, IDs
//! never handed out twice, and secrets only where they are handed out. Also what a session
//! learns from an answer (users, keys, secrets) and the panic that reports a violation.
//!
//! Pure: no IO. A violation panics on purpose (that is how libFuzzer learns of it), with a
//! message that names the rule, the request and a response excerpt, scrubbed of every secret
//! the session knows and with signatures left out.

use super::OPERATION;
use super::grammar::{Built, State};
use crate::contract::exchange::decode_as;
use crate::contract::judge::{error_envelope_problems, judge, output_failures};
use crate::contract::{CaseRecord, Exchange, RuleId};
use crate::emulator::HttpRequest;
use crate::model::Model;
use crate::secret::{REDACTED, Secret, SecretScanner, scrub};
use crate::wire::{Outcome, WireProblem, decode_response};
use serde_json::Value;

/// How much of a request body a violation message quotes.
const QUOTE_BYTES: usize = 600;

/// The request as a violation message quotes it: credentials' signatures left out.
pub(super) fn describe(req: &HttpRequest) -> String {
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
pub(super) fn violation(
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
pub(super) fn response_failures(
    built: &Built,
    status: u16,
    body: &[u8],
) -> Vec<(&'static str, String)> {
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
        for problem in error_envelope_problems(model, status, e) {
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
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

/// Learns from a response: new users, new keys and their secrets. Returns the new key's
/// secret when the response created one, and checks that its ID was never handed out before
/// (unless the endpoint is allowed to reuse IDs).
pub(super) fn learn(
    st: &mut State,
    built: &Built,
    reply: &Reply,
    allow_id_reuse: bool,
) -> Option<Secret> {
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
pub(super) fn check_secrets(st: &State, built: &Built, reply: &Reply, new_secret: Option<&Secret>) {
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

/// The exchange record of a request and its reply, as `check` records every exchange: the
/// request as sent (its form body, or the query string when there is none; how it was signed,
/// never the signature) and the reply with every secret the session knows redacted.
pub(super) fn exchange_of(st: &State, built: &Built, reply: &Reply) -> Exchange {
    let model = Model::embedded();
    let req = &built.http;
    let wire = if req.body.is_empty() {
        req.target().1.to_owned()
    } else {
        String::from_utf8_lossy(&req.body).into_owned()
    };
    let signed =
        req.header("authorization").is_some() || req.target().1.contains("X-Amz-Signature");
    let case = CaseRecord::from_wire(
        &req.method,
        &wire,
        if signed { "sigv4" } else { "unsigned" },
    );
    let action = case.action.clone();
    let headers = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    Exchange::record(
        model,
        decode_as(model, &action),
        case,
        headers,
        Ok((reply.status, Vec::new(), reply.body.clone())),
        0,
        &SecretScanner::new(&st.secrets),
    )
}

/// The exchange record of a reply never holds a secret the session knows, however mangled the
/// reply (it is what `check`, `proxy` and the HAR recording serialise).
pub(super) fn check_exchange_record(st: &State, built: &Built, reply: &Reply) {
    let ex = exchange_of(st, built, reply);
    let json = serde_json::to_string(&ex).unwrap_or_default();
    if st
        .secrets
        .iter()
        .any(|s| s.appears_in(&json) && !s.appears_in(&built.text))
    {
        violation(
            "exchange-record-redacts-secrets",
            "the serialised exchange record of this reply holds a secret the session knows",
            &built.http,
            reply.status,
            &reply.body,
            &st.secrets,
        );
    }
}

/// Judges one reply by every response rule, then learns from it and checks its secrets: what
/// `endpoint` does after each request, in-process or live.
pub(super) fn judge_reply(st: &mut State, built: &Built, reply: Reply) {
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
    check_exchange_record(st, built, &reply);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Credentials;
    use crate::emulator::{Clock, Config, Emulator};
    use crate::fuzzing::embedded::{EMBEDDED_HOST, embedded_clock};
    use crate::fuzzing::grammar::{build, valid_create};

    #[test]
    fn a_valid_create_passes_every_rule() {
        let st = State::new(Credentials::example());
        let req = valid_create();
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

    #[test]
    fn the_exchange_record_of_a_reply_holds_no_known_secret() {
        let mut st = State::new(Credentials::example());
        let req = valid_create();
        let clock = embedded_clock();
        let emu = Emulator::new(Config::default().with_seed(0).with_clock(clock.clone())).unwrap();
        let built = build(&req, &st, EMBEDDED_HOST, clock.now(), false);
        let resp = emu.handle(&built.http);
        let reply = Reply {
            status: resp.status,
            body: resp.body.clone(),
        };
        let secret = learn(&mut st, &built, &reply, false).expect("a key was created");
        // The secret also echoed in text outside its element, as a careless service might.
        let mut body = resp.body.clone();
        body.extend(format!("<!-- {} -->", secret.expose()).into_bytes());
        let reply = Reply { status: 200, body };
        assert!(secret.appears_in(&String::from_utf8_lossy(&reply.body)));
        let ex = exchange_of(&st, &built, &reply);
        assert_eq!(ex.case.action, "CreateAccessKey");
        assert_eq!(ex.case.signing, "sigv4");
        let json = serde_json::to_string(&ex).unwrap();
        assert!(!secret.appears_in(&json), "{json}");
        check_exchange_record(&st, &built, &reply);
    }
}

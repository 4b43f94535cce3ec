//! [`Exchange`]: one request as sent and the response as received, the record every judge reads.
//!
//! `check`, `replay`, `snapshot` and the `endpoint` fuzz target produce exchanges; the judges in
//! [`rules`](super::rules) take them and return verdicts without doing IO, so the same judges can
//! read traffic the harness did not send. An exchange never holds a signature or a credential:
//! the request side records how it was signed (`sigv4`, `unsigned`, `skewed:+1200s`, ...), and the
//! response body is kept with every `SecretAccessKey` element and every known secret redacted.
//! Secrets the response carried stay out of band, in the decoded judgement, which is not
//! serialised; [`Exchange::rejudge`] decodes a deserialised exchange again (its secrets then read
//! `<redacted>`).
//!
//! Must not: do IO, or keep a secret anywhere that serialisation reaches.

use super::judge::{Judged, judge_scanned, redact_secret_elements};
use super::{CaseRecord, Observed};
use crate::model::Model;
use crate::secret::SecretScanner;
use serde::{Deserialize, Serialize};

/// A response as received, secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    /// Response headers, in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy where it was not UTF-8: see `body_lossy`), every secret redacted.
    pub body: String,
    /// The body was not valid UTF-8, so `body` replaced what was not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_lossy: bool,
}

/// A response as the transport hands it over (status, headers, body), or why none came.
pub type RawOutcome = Result<(u16, Vec<(String, String)>, Vec<u8>), String>;

/// One request/response pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// The request as sent: method, action, parameters in order, the exact wire text and how it
    /// was signed (never the signature).
    pub case: CaseRecord,
    /// The request headers that matter for judging (content type); never `Authorization`.
    pub headers: Vec<(String, String)>,
    /// The response, or `None` when none came back (see `transport_error`).
    pub response: Option<ResponseRecord>,
    /// Why no response came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
    /// Time from sending to the whole body, in milliseconds (the last attempt's, when retried).
    pub elapsed_ms: u64,
    /// The raw body carried a secret issued in this run, or a `SecretAccessKey` element.
    #[serde(default)]
    pub leaks_secret: bool,
    /// The decoded response (the secrets it carried out of band); not serialised.
    #[serde(skip)]
    judged: Option<Judged>,
}

impl Exchange {
    /// Records a response: decodes it as `decode_as` (an operation of the model) with every
    /// secret `known` scrubbed from what a finding may quote, and keeps a redacted body.
    pub fn record(
        model: &Model,
        decode_as: &str,
        case: CaseRecord,
        headers: Vec<(String, String)>,
        response: RawOutcome,
        elapsed_ms: u64,
        known: &SecretScanner,
    ) -> Exchange {
        match response {
            Ok((status, resp_headers, body)) => {
                let text = String::from_utf8_lossy(&body);
                let leaks_secret = text.contains("<SecretAccessKey>") || known.found_in(&text);
                let judged = judge_scanned(model, decode_as, status, &body, known);
                let body_lossy = std::str::from_utf8(&body).is_err();
                let redacted = redact_body(&text, known, &judged);
                Exchange {
                    case,
                    headers,
                    response: Some(ResponseRecord {
                        status,
                        headers: resp_headers,
                        body: redacted,
                        body_lossy,
                    }),
                    transport_error: None,
                    elapsed_ms,
                    leaks_secret,
                    judged: Some(judged),
                }
            }
            Err(e) => Exchange {
                case,
                headers,
                response: None,
                transport_error: Some(e),
                elapsed_ms,
                leaks_secret: false,
                judged: None,
            },
        }
    }

    /// An exchange built from a status and a body, as the judges' unit tests and `verify` use.
    pub fn from_response(model: &Model, case: CaseRecord, status: u16, body: &[u8]) -> Exchange {
        let decode_as = decode_as(model, &case.action).to_owned();
        Exchange::record(
            model,
            &decode_as,
            case,
            Vec::new(),
            Ok((status, Vec::new(), body.to_vec())),
            0,
            &SecretScanner::new(&[]),
        )
    }

    /// Decodes the recorded (redacted) body again, after deserialisation.
    pub fn rejudge(&mut self, model: &Model) {
        if let Some(r) = &self.response {
            let op = decode_as(model, &self.case.action).to_owned();
            self.judged = Some(judge_scanned(
                model,
                &op,
                r.status,
                r.body.as_bytes(),
                &SecretScanner::new(&[]),
            ));
        }
    }

    /// The decoded response; `None` when no response came back.
    pub fn judged(&self) -> Option<&Judged> {
        self.judged.as_ref()
    }

    /// The HTTP status, 0 when no response came back.
    pub fn status(&self) -> u16 {
        self.judged().map(|j| j.status).unwrap_or(0)
    }

    /// The error code, when the body is an error envelope.
    pub fn code(&self) -> Option<&str> {
        self.judged().and_then(|j| j.code())
    }

    /// Whether the response is a decoded success.
    pub fn is_success(&self) -> bool {
        self.judged().is_some_and(Judged::is_success)
    }

    /// Whether the endpoint said yes: a 2xx that is not an error envelope, however well the
    /// rest of it decodes. A driver that only needs the user it asked for goes on after this;
    /// the shape of the answer is the output rules' business (`output.envelope`), so that one
    /// deviation does not make other rules fail or skip.
    pub fn accepted(&self) -> bool {
        self.judged()
            .is_some_and(|j| (200..300).contains(&j.status) && j.decoded.error().is_none())
    }

    /// A string at a JSON pointer of the success value.
    pub fn str_at(&self, ptr: &str) -> Option<&str> {
        self.judged().and_then(|j| j.str_at(ptr))
    }

    /// The error message, secrets scrubbed.
    pub fn message(&self) -> Option<&str> {
        self.judged().and_then(|j| j.observed.message.as_deref())
    }

    /// The value of a request parameter (the first, when it was sent twice).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.case
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// What a finding quotes of the response.
    pub fn observed(&self) -> Observed {
        match (&self.judged, &self.transport_error) {
            (Some(j), _) => j.observed.clone(),
            (None, e) => Observed {
                transport_error: Some(e.clone().unwrap_or_else(|| "no response".into())),
                ..Observed::default()
            },
        }
    }
}

/// The operation a response to `action` is decoded as: the action itself when the model has
/// it, otherwise the operation under contract (protocol cases send unknown actions).
pub fn decode_as<'a>(model: &Model, action: &'a str) -> &'a str {
    if model.operation(action).is_some() {
        action
    } else {
        super::rules::OPERATION
    }
}

/// The body with every `SecretAccessKey` element, every known secret, every secret the body
/// itself carried and every credential-like run a mangled secret element left behind redacted.
fn redact_body(text: &str, known: &SecretScanner, judged: &Judged) -> String {
    let own: Vec<crate::secret::Secret> = judged
        .decoded
        .secrets
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    let own = SecretScanner::new(&own);
    let runs = crate::secret::secret_like_runs(text);
    let redacted = crate::secret::redact_runs(
        &own.scrub(&known.scrub(&redact_secret_elements(text))),
        &runs,
    );
    // The marker is written as escaped text, so that the redacted body is still the XML it was
    // (and decodes to a secret that reads `<redacted>`).
    redacted.replace(crate::secret::REDACTED, "&lt;redacted&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> CaseRecord {
        CaseRecord {
            action: "CreateAccessKey".into(),
            params: vec![
                ("Action".into(), "CreateAccessKey".into()),
                ("Version".into(), "2010-05-08".into()),
                ("UserName".into(), "alice".into()),
            ],
            method: "POST".into(),
            signing: "sigv4".into(),
            wire: "Action=CreateAccessKey&Version=2010-05-08&UserName=alice".into(),
            steps: vec![],
            sequence: None,
        }
    }

    fn secret() -> String {
        "0123456789".repeat(4)
    }

    fn success() -> String {
        let secret = secret();
        format!(
            "<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateAccessKeyResult><AccessKey><UserName>alice</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><SecretAccessKey>{secret}</SecretAccessKey><CreateDate>2026-11-30T08:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></CreateAccessKeyResponse>"
        )
    }

    #[test]
    fn the_secret_stays_out_of_the_record_and_its_serialisation() {
        let model = Model::embedded();
        let ex = Exchange::from_response(model, case(), 200, success().as_bytes());
        assert!(ex.leaks_secret);
        let json = serde_json::to_string(&ex).unwrap();
        assert!(!json.contains(&secret()), "{json}");
        assert!(!format!("{ex:?}").contains(&secret()));
        // The secret is still there for the judges, out of band.
        let j = ex.judged().unwrap();
        assert_eq!(j.decoded.secrets[0].1.expose(), secret());
    }

    #[test]
    fn serde_round_trips_the_record_and_rejudging_gives_the_same_verdict_data() {
        let model = Model::embedded();
        let ex = Exchange::from_response(model, case(), 200, success().as_bytes());
        let json = serde_json::to_string(&ex).unwrap();
        let mut back: Exchange = serde_json::from_str(&json).unwrap();
        assert_eq!(back.case, ex.case);
        assert_eq!(back.response, ex.response);
        assert!(back.judged().is_none());
        back.rejudge(model);
        assert_eq!(back.status(), 200);
        assert_eq!(back.str_at("/AccessKey/UserName"), Some("alice"));
        assert_eq!(
            back.judged().unwrap().decoded.secrets[0].1.expose(),
            crate::secret::REDACTED
        );
    }

    #[test]
    fn a_transport_failure_is_recorded_as_such() {
        let model = Model::embedded();
        let ex = Exchange::record(
            model,
            "CreateAccessKey",
            case(),
            vec![],
            Err("connection refused".into()),
            3,
            &SecretScanner::new(&[]),
        );
        assert_eq!(ex.status(), 0);
        assert_eq!(
            ex.observed().transport_error.as_deref(),
            Some("connection refused")
        );
        let back: Exchange = serde_json::from_str(&serde_json::to_string(&ex).unwrap()).unwrap();
        assert_eq!(back.transport_error.as_deref(), Some("connection refused"));
    }
}

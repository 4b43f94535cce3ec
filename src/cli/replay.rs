//! `iam-contract replay`: send one recorded request again, re-signed now, and print what comes
//! back; or run a recorded lifecycle sequence again. Every finding of `check` prints the replay
//! command for its request (or, for a lifecycle finding, its sequence).
//!
//! The request is given as its exact wire text (`--wire`, percent-encoded as it was sent), so
//! that bytes which are not valid UTF-8 replay exactly. `--with-user NAME` creates that user
//! first (findings on users the run created need it, since the run deleted them) and deletes it,
//! with any key the replay created, afterwards. Secrets in the response are redacted.
//!
//! A lifecycle finding's users and keys exist only within its sequence, so `--sequence STEPS
//! --rule ID` runs the whole sequence again on fresh users (the runner's own sequence executor,
//! judged by that rule alone), prints every step, and cleans up from a ledger as `check` does.
//!
//! Either way the case runs `--times N` times (default 3) and the verdict says whether the rule
//! held every time (`fixed`, exit 0), failed every time (`fails`, exit 1) or both (`flaky`,
//! exit 4), so a fix is not mistaken for luck and a flaky deviation is named as one.

use super::common::exit;
use super::common::usage;
use super::common::{out, outln};
use super::endpoint::{self, EndpointArgs};
use crate::client::{Client, RawRequest, Scope, Signing};
use crate::contract::exchange::decode_as;
use crate::contract::rules::{self, Judgement};
use crate::contract::{CaseRecord, Exchange};
use crate::model::Model;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 fixed (the rule held every time), 1 fails (it failed every time), \
2 usage or configuration error, 3 endpoint unreachable, 4 flaky (it held on some attempts \
and failed on others), 130 interrupted."
)]
pub struct Args {
    #[command(flatten)]
    pub on: EndpointArgs,
    /// HTTP method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// How to sign: sigv4, unsigned, corrupted, skewed, scope, as (keys of a finished run no
    /// longer exist, so `as` signs normally and says so).
    #[arg(long, default_value = "sigv4")]
    pub signing: String,
    /// For skewed and scope signing: the detail a finding recorded (`skewed:+1200s`,
    /// `scope:s3/us-east-1`).
    #[arg(long, value_name = "DETAIL")]
    pub signing_detail: Option<String>,
    /// The form body (or, for GET, the query string) exactly as sent, percent-encoded.
    #[arg(long, value_name = "FORM", required_unless_present = "sequence")]
    pub wire: Option<String>,
    /// Create this user before sending, and delete it (and its keys) after.
    #[arg(long, value_name = "NAME")]
    pub with_user: Option<String>,
    /// Run a lifecycle sequence again instead of one request (`CreateUser(0) CreateKey(0)
    /// UpdateKey(0,Inactive) AuthWith(0)`, as a lifecycle finding prints it), judged by --rule.
    #[arg(long, value_name = "STEPS", requires = "rule", conflicts_with_all = ["wire", "with_user"])]
    pub sequence: Option<String>,
    /// The rule that judges the replay: the lifecycle rule of --sequence, or, with --wire, one
    /// of the rules a single response shows (without it, --wire is judged by all of those).
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// How many times to run the case. The verdict: `fixed` (the rule held every time, exit 0),
    /// `fails` (it failed every time, exit 1) or `flaky` (both, exit 4).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub times: u32,
}

/// The rules `replay --wire` judges from a single response.
pub const RESPONSE_RULES: &[&str] = rules::RESPONSE_RULES;

/// Prints the verdict over the attempts (`true`: the rule held) and returns its exit code.
fn print_verdict(held: &[bool], judged_by: &str) -> u8 {
    let n = held.len();
    let k = held.iter().filter(|h| **h).count();
    let (word, code) = if k == n {
        ("fixed", exit::CONFORMS)
    } else if k == 0 {
        ("fails", exit::DEVIATIONS)
    } else {
        ("flaky", exit::FLAKY)
    };
    outln!("{word}: held {k} of {n} time(s), judged by {judged_by}");
    code
}

pub fn run(args: Args) -> ExitCode {
    super::common::block_on(run_async(args))
}

async fn run_async(args: Args) -> u8 {
    let model = Model::embedded();
    let root = std::env::current_dir().unwrap_or_default();
    let selection = args.on.selection(false, "replay");
    let opened = match endpoint::open(&selection, &root).await {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (endpoint, creds) = (opened.url.clone(), opened.credentials.clone());
    if let Err(code) = args.on.refuse_live_aws(
        &endpoint,
        "a replay may create and delete users and keys there",
    ) {
        return code;
    }
    let client = match Client::new(&endpoint, Some(creds.clone())) {
        Ok(c) => c,
        Err(e) => return usage(e),
    };
    if let (Some(seq), Some(rule)) = (&args.sequence, &args.rule) {
        let base = selection.replay_base(&endpoint);
        let ledger = args.on.ledger_path();
        return replay_sequence(&client, &opened.name, &base, seq, rule, ledger, args.times).await;
    }
    if let Some(rule) = &args.rule
        && !RESPONSE_RULES.contains(&rule.as_str())
    {
        return usage(format!(
            "--rule {rule:?} cannot be judged from one response; with --wire, --rule is one of {}",
            RESPONSE_RULES.join(", ")
        ));
    }
    let signing = match signing_of(&args.signing, args.signing_detail.as_deref().unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let calls = Calls {
        client: &client,
        version: model.metadata().api_version.clone(),
    };
    if let Some(user) = &args.with_user {
        match calls
            .send(&[("Action", "CreateUser"), ("UserName", user)])
            .await
        {
            Ok(r) => eprintln!("setup: CreateUser {user} → HTTP {}", r.status),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::UNREACHABLE;
            }
        }
    }
    let code = replay_request(&args, &calls, &endpoint, &signing, &creds).await;
    if let Some(user) = &args.with_user {
        calls.delete_user(user).await;
    }
    code
}

/// How `--signing` (and its detail) says to sign.
fn signing_of(signing: &str, detail: &str) -> Result<Signing, String> {
    Ok(match signing {
        "sigv4" => Signing::Normal,
        "unsigned" => Signing::Unsigned,
        "corrupted" => Signing::Corrupted,
        "as" => {
            eprintln!(
                "note: the finding was signed with a key its run created and deleted; signing with the configured credentials instead"
            );
            Signing::Normal
        }
        "skewed" => {
            let secs = detail
                .trim_start_matches("skewed:")
                .trim_end_matches('s')
                .parse::<i64>()
                .unwrap_or(1200);
            Signing::Skewed(secs)
        }
        "scope" => {
            let (service, region) = detail
                .trim_start_matches("scope:")
                .split_once('/')
                .unwrap_or(("s3", "us-east-1"));
            Signing::Scope(Scope {
                service: service.into(),
                region: region.into(),
            })
        }
        other => return Err(format!("unknown --signing {other:?}")),
    })
}

/// Plain requests the replay makes around the case (set-up and cleanup), signed normally.
struct Calls<'a> {
    client: &'a Client,
    version: String,
}

impl Calls<'_> {
    async fn send(
        &self,
        params: &[(&str, &str)],
    ) -> Result<crate::client::RawResponse, crate::client::TransportError> {
        // `Action` (the first of `params`), then `Version`, then the members, as every request
        // of the harness is ordered.
        let mut p: Vec<(String, String)> = Vec::new();
        for (i, (k, v)) in params.iter().enumerate() {
            p.push(((*k).to_owned(), (*v).to_owned()));
            if i == 0 {
                p.push(("Version".to_owned(), self.version.clone()));
            }
        }
        self.client
            .send(&RawRequest::form(&p), &Signing::Normal)
            .await
    }

    /// Deletes the user's keys, then the user, and says how that went.
    async fn delete_user(&self, user: &str) {
        if let Ok(resp) = self
            .send(&[("Action", "ListAccessKeys"), ("UserName", user)])
            .await
        {
            let d = crate::wire::decode_response(Model::embedded(), "ListAccessKeys", &resp.body);
            if let crate::wire::Outcome::Success { value, .. } = d.outcome {
                for k in value
                    .get("AccessKeyMetadata")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = k.get("AccessKeyId").and_then(|v| v.as_str()) {
                        let _ = self
                            .send(&[
                                ("Action", "DeleteAccessKey"),
                                ("UserName", user),
                                ("AccessKeyId", id),
                            ])
                            .await;
                    }
                }
            }
        }
        let r = self
            .send(&[("Action", "DeleteUser"), ("UserName", user)])
            .await;
        eprintln!(
            "cleanup: DeleteUser {user} → {}",
            r.map(|r| format!("HTTP {}", r.status))
                .unwrap_or_else(|e| e.to_string())
        );
    }
}

/// Sends the case `--times` times, each answer recorded as an [`Exchange`] and judged by the
/// rules one response decides (or by `--rule` alone); prints each answer and the verdict.
async fn replay_request(
    args: &Args,
    calls: &Calls<'_>,
    endpoint: &str,
    signing: &Signing,
    creds: &crate::client::Credentials,
) -> u8 {
    let model = Model::embedded();
    let wire = args.wire.clone().unwrap_or_default();
    let raw = match args.method.as_str() {
        "GET" | "HEAD" => RawRequest {
            method: args.method.clone(),
            path_and_query: format!("/?{wire}"),
            headers: vec![],
            body: vec![],
        },
        m => RawRequest {
            method: m.to_owned(),
            path_and_query: "/".into(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: wire.clone().into_bytes(),
        },
    };
    let case = CaseRecord::from_wire(&raw.method, &wire, args.signing.clone());
    let scanner = crate::secret::SecretScanner::new(&creds.secrets());
    let mut held = Vec::new();
    for attempt in 1..=args.times {
        outln!(
            "> [{attempt}/{}] {} {} ({} signing) {}",
            args.times,
            raw.method,
            endpoint,
            args.signing,
            raw.path_and_query
        );
        if !raw.body.is_empty() {
            outln!("> {wire}");
        }
        let started = std::time::Instant::now();
        let resp = match calls.client.send(&raw, signing).await {
            Ok(resp) => resp,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::UNREACHABLE;
            }
        };
        let rid = resp.header("x-amzn-requestid").map(str::to_owned);
        let ex = Exchange::record(
            model,
            decode_as(model, &case.action),
            case.clone(),
            raw.headers.clone(),
            Ok((resp.status, resp.headers, resp.body)),
            started.elapsed().as_millis() as u64,
            &scanner,
        );
        held.push(print_judged(&ex, rid.as_deref(), args.rule.as_deref()));
        // A replayed CreateAccessKey may have created a key: delete it again.
        if let (Some(id), Some(user)) = (
            ex.str_at("/AccessKey/AccessKeyId"),
            ex.str_at("/AccessKey/UserName"),
        ) {
            let r = calls
                .send(&[
                    ("Action", "DeleteAccessKey"),
                    ("UserName", user),
                    ("AccessKeyId", id),
                ])
                .await;
            eprintln!(
                "cleanup: DeleteAccessKey {id} of {user} → {}",
                r.map(|r| format!("HTTP {}", r.status))
                    .unwrap_or_else(|e| e.to_string())
            );
        }
    }
    let judged_by = args
        .rule
        .clone()
        .unwrap_or_else(|| "the rules that need only the response".into());
    print_verdict(&held, &judged_by)
}

/// Prints an answer and the failures of the rules one response decides; returns whether the
/// rule (`--rule`, or every such rule) held.
fn print_judged(ex: &Exchange, request_id: Option<&str>, rule: Option<&str>) -> bool {
    let model = Model::embedded();
    outln!("< HTTP {}", ex.status());
    if let Some(rid) = request_id {
        outln!("< x-amzn-RequestId: {rid}");
    }
    let Some(j) = ex.judged() else {
        return false;
    };
    outln!("< {}", j.observed.excerpt);
    for p in &j.decoded.problems {
        outln!("! {p}");
    }
    let failures: Vec<(String, String)> = rules::judge_response_alone(model, ex)
        .into_iter()
        .filter_map(|v| match v.judgement {
            Judgement::Fail(expected) => Some((v.rule.as_str().to_owned(), expected)),
            _ => None,
        })
        .collect();
    for (rule, expected) in &failures {
        outln!("! {rule}: expected {expected}");
    }
    !failures
        .iter()
        .any(|(r, _)| rule.is_none_or(|want| want == r))
}

/// Runs a lifecycle sequence again `times` times, judged by `rule` alone; prints its steps and
/// the verdict of each run, then the overall verdict (fixed, fails, flaky).
async fn replay_sequence(
    client: &Client,
    name: &str,
    base: &str,
    seq: &str,
    rule: &str,
    ledger: std::path::PathBuf,
    times: u32,
) -> u8 {
    let mut held = Vec::new();
    for attempt in 1..=times {
        outln!("attempt {attempt} of {times}:");
        match replay_sequence_once(client, name, base, seq, rule, ledger.clone()).await {
            Ok(Some(h)) => held.push(h),
            Ok(None) => {}
            Err(code) => return code,
        }
    }
    if held.is_empty() {
        outln!("not judged: no attempt could judge {rule} (see the reasons above)");
        return exit::CONFORMS;
    }
    print_verdict(&held, rule)
}

/// One run of a sequence: `Some(true)` the rule held, `Some(false)` it failed, `None` it could
/// not be judged; `Err` an exit code when the replay could not proceed.
async fn replay_sequence_once(
    client: &Client,
    name: &str,
    base: &str,
    seq: &str,
    rule: &str,
    ledger: std::path::PathBuf,
) -> Result<Option<bool>, u8> {
    use crate::contract::{CheckConfig, CheckError, SequenceReplay, Status, lifecycle};
    let steps = match lifecycle::parse_sequence(seq) {
        Ok(s) => s,
        Err(e) => return Err(usage(format!("--sequence {e}"))),
    };
    let Some(rule) = lifecycle::RULES
        .iter()
        .copied()
        .find(|r| r.as_str() == rule)
    else {
        let known: Vec<&str> = lifecycle::RULES.iter().map(|r| r.as_str()).collect();
        return Err(usage(format!(
            "--rule {rule:?} is not a lifecycle rule (one of {})",
            known.join(", ")
        )));
    };
    let config = CheckConfig {
        target_name: name.to_owned(),
        only: vec![rule.as_str().to_owned()],
        ledger,
        replay_base: Some(base.to_owned()),
        replay_sequence: Some(SequenceReplay {
            rule,
            steps: steps.clone(),
        }),
        ..CheckConfig::default()
    };
    outln!(
        "> {} step(s) against {}, judged by {rule}",
        steps.len(),
        client.endpoint()
    );
    let outcome = match super::common::run_interruptible(client, Model::embedded(), &config).await {
        Ok(Ok(o)) => o,
        Ok(Err(CheckError::Unreachable(e))) => {
            eprintln!("error: {e}");
            return Err(exit::UNREACHABLE);
        }
        Ok(Err(e)) => return Err(usage(e)),
        Err(code) => return Err(code),
    };
    if !outcome.cleanup_left.is_empty() {
        eprintln!(
            "warning: cleanup left {} thing(s); finish with 'iam-contract cleanup --ledger {}'",
            outcome.cleanup_left.len(),
            config.ledger.display()
        );
    }
    let Some(result) = outcome.report.rules.iter().find(|r| r.id == rule.as_str()) else {
        return Err(usage(format!("{rule} was not run")));
    };
    use std::fmt::Write as _;
    let mut text = String::new();
    let code = match result.status {
        Status::Fail => {
            let f = &result.findings[0];
            for step in &f.case.steps {
                let _ = writeln!(text, "  {step}");
            }
            let _ = writeln!(text, "FAIL {rule}: expected {}", f.expected);
            let _ = writeln!(
                text,
                "  observed: HTTP {}{}",
                f.observed.status,
                f.observed
                    .code
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(text, "  body: {}", f.observed.excerpt);
            Some(false)
        }
        Status::Skip => {
            let _ = writeln!(
                text,
                "SKIP {rule}: {}",
                result.skip_reason.as_deref().unwrap_or("not judged")
            );
            None
        }
        _ => {
            let _ = writeln!(text, "PASS {rule}: the sequence no longer breaks it");
            Some(true)
        }
    };
    // Every secret the sequence received is known to the tripwire, as in `check`.
    if let Err(e) = crate::report::Tripwire::new(outcome.secrets).check("replay output", &text) {
        eprintln!("error: secret tripwire: {e}; the output was not printed");
        return Err(exit::UNREACHABLE);
    }
    out(&text);
    Ok(code)
}

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

use super::common::exit;
use super::common::usage;
use super::common::{out, outln};
use super::endpoint::{self, EndpointArgs};
use crate::client::{Client, RawRequest, Scope, Signing};
use crate::contract::judge::judge;
use crate::model::Model;
use crate::wire::decode_form;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
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
    /// UpdateKey(0,Inactive) AuthWith(0)`, as a lifecycle finding prints it). Exits 1 when the
    /// rule still fails, 0 when it holds.
    #[arg(long, value_name = "STEPS", requires = "rule", conflicts_with_all = ["wire", "with_user"])]
    pub sequence: Option<String>,
    /// The lifecycle rule that judges --sequence (the others are not judged).
    #[arg(long, value_name = "ID", requires = "sequence")]
    pub rule: Option<String>,
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
        return replay_sequence(&client, &opened.name, &base, seq, rule, ledger).await;
    }
    let wire = args.wire.clone().unwrap_or_default();
    let detail = args.signing_detail.as_deref().unwrap_or("");
    let signing = match args.signing.as_str() {
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
        other => return usage(format!("unknown --signing {other:?}")),
    };
    let version = model.metadata().api_version.clone();
    let call = |params: Vec<(&str, String)>| {
        let p: Vec<(String, String)> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let client = &client;
        async move { client.send(&RawRequest::form(&p), &Signing::Normal).await }
    };
    if let Some(user) = &args.with_user {
        match call(vec![
            ("Action", "CreateUser".into()),
            ("Version", version.clone()),
            ("UserName", user.clone()),
        ])
        .await
        {
            Ok(r) => eprintln!("setup: CreateUser {user} → HTTP {}", r.status),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::UNREACHABLE;
            }
        }
    }
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
    let action = decode_form(wire.as_bytes())
        .ok()
        .and_then(|p| p.into_iter().find(|(k, _)| k == "Action").map(|(_, v)| v))
        .unwrap_or_default();
    outln!(
        "> {} {} ({} signing) {}",
        raw.method,
        endpoint,
        args.signing,
        raw.path_and_query
    );
    if !raw.body.is_empty() {
        outln!("> {wire}");
    }
    let result = client.send(&raw, &signing).await;
    let code = match &result {
        Ok(resp) => {
            let op = if model.operation(&action).is_some() {
                action.as_str()
            } else {
                "CreateAccessKey"
            };
            let j = judge(model, op, resp.status, &resp.body, &creds.secrets());
            outln!("< HTTP {}", resp.status);
            if let Some(rid) = resp.header("x-amzn-requestid") {
                outln!("< x-amzn-RequestId: {rid}");
            }
            outln!("< {}", j.observed.excerpt);
            for p in &j.decoded.problems {
                outln!("! {p}");
            }
            // Judge the response by the rules that need only the response itself.
            if let Some(err) = j.decoded.error() {
                for p in crate::contract::judge::error_envelope_problems(model, resp.status, err) {
                    outln!("! error.envelope: {p}");
                }
            }
            if resp.status >= 500 {
                outln!("! protocol.no-server-errors: HTTP {}", resp.status);
            }
            if op == "CreateAccessKey" && j.is_success() {
                for (rule, reason) in crate::contract::judge::output_failures(model, &j) {
                    outln!("! {rule}: {reason}");
                }
                let sent = decode_form(wire.as_bytes())
                    .ok()
                    .and_then(|p| p.into_iter().find(|(k, _)| k == "UserName").map(|(_, v)| v));
                let got = j.str_at("/AccessKey/UserName").unwrap_or_default();
                if let Some(sent) = sent.filter(|s| s != got) {
                    outln!("! output.user-name-echo: AccessKey.UserName {got:?}, sent {sent:?}");
                }
            }
            // A replayed CreateAccessKey may have created a key: delete it again.
            if let (Some(id), Some(user)) = (
                j.str_at("/AccessKey/AccessKeyId").map(str::to_owned),
                j.str_at("/AccessKey/UserName").map(str::to_owned),
            ) {
                let r = call(vec![
                    ("Action", "DeleteAccessKey".into()),
                    ("Version", version.clone()),
                    ("UserName", user.clone()),
                    ("AccessKeyId", id.clone()),
                ])
                .await;
                eprintln!(
                    "cleanup: DeleteAccessKey {id} of {user} → {}",
                    r.map(|r| format!("HTTP {}", r.status))
                        .unwrap_or_else(|e| e.to_string())
                );
            }
            exit::CONFORMS
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::UNREACHABLE
        }
    };
    if let Some(user) = &args.with_user {
        let list = call(vec![
            ("Action", "ListAccessKeys".into()),
            ("Version", version.clone()),
            ("UserName", user.clone()),
        ])
        .await;
        if let Ok(resp) = list {
            let d = crate::wire::decode_response(model, "ListAccessKeys", &resp.body);
            if let crate::wire::Outcome::Success { value, .. } = d.outcome {
                for k in value
                    .get("AccessKeyMetadata")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = k.get("AccessKeyId").and_then(|v| v.as_str()) {
                        let _ = call(vec![
                            ("Action", "DeleteAccessKey".into()),
                            ("Version", version.clone()),
                            ("UserName", user.clone()),
                            ("AccessKeyId", id.to_owned()),
                        ])
                        .await;
                    }
                }
            }
        }
        let r = call(vec![
            ("Action", "DeleteUser".into()),
            ("Version", version.clone()),
            ("UserName", user.clone()),
        ])
        .await;
        eprintln!(
            "cleanup: DeleteUser {user} → {}",
            r.map(|r| format!("HTTP {}", r.status))
                .unwrap_or_else(|e| e.to_string())
        );
    }
    code
}

/// Runs a lifecycle sequence again, judged by `rule` alone; prints its steps and the verdict.
async fn replay_sequence(
    client: &Client,
    name: &str,
    base: &str,
    seq: &str,
    rule: &str,
    ledger: std::path::PathBuf,
) -> u8 {
    use crate::contract::{CheckConfig, CheckError, SequenceReplay, Status, lifecycle};
    let steps = match lifecycle::parse_sequence(seq) {
        Ok(s) => s,
        Err(e) => return usage(format!("--sequence {e}")),
    };
    let Some(rule) = lifecycle::RULES
        .iter()
        .copied()
        .find(|r| r.as_str() == rule)
    else {
        let known: Vec<&str> = lifecycle::RULES.iter().map(|r| r.as_str()).collect();
        return usage(format!(
            "--rule {rule:?} is not a lifecycle rule (one of {})",
            known.join(", ")
        ));
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
            return exit::UNREACHABLE;
        }
        Ok(Err(e)) => return usage(e),
        Err(code) => return code,
    };
    if !outcome.cleanup_left.is_empty() {
        eprintln!(
            "warning: cleanup left {} thing(s); finish with 'iam-contract cleanup --ledger {}'",
            outcome.cleanup_left.len(),
            config.ledger.display()
        );
    }
    let Some(result) = outcome.report.rules.iter().find(|r| r.id == rule.as_str()) else {
        return usage(format!("{rule} was not run"));
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
            exit::DEVIATIONS
        }
        Status::Skip => {
            let _ = writeln!(
                text,
                "SKIP {rule}: {}",
                result.skip_reason.as_deref().unwrap_or("not judged")
            );
            exit::CONFORMS
        }
        _ => {
            let _ = writeln!(text, "PASS {rule}: the sequence no longer breaks it");
            exit::CONFORMS
        }
    };
    // Every secret the sequence received is known to the tripwire, as in `check`.
    if let Err(e) = crate::report::Tripwire::new(outcome.secrets).check("replay output", &text) {
        eprintln!("error: secret tripwire: {e}; the output was not printed");
        return exit::UNREACHABLE;
    }
    out(&text);
    code
}

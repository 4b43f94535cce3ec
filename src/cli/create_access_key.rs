//! `iam-contract create-access-key`: the AWS CLI's `aws iam create-access-key`, built from the
//! model. It parses and checks input like the CLI (`crate::cli_input`), signs and sends one
//! awsQuery request, and prints the new key as the CLI does, with AWS CLI v2's exit codes.
//!
//! This is the one place in the crate that prints a secret: the user asked for a new key and the
//! response is theirs. It must never print the secret anywhere else (errors, `--debug`), and it
//! never retries: a second `CreateAccessKey` would create a second key.

use crate::cli_input::{InputError, prepare_input};
use crate::client::{Client, CredentialError, Credentials, Scope, TransportError};
use crate::model::{Model, input_skeleton, pretty, sample_output};
use crate::wire::{Decoded, Outcome, WireProblem, decode_response, params_from_input};
use serde_json::{Map, Value, json};
use std::process::ExitCode;

/// The operation this command calls.
pub const OPERATION: &str = "CreateAccessKey";
/// Where requests go when neither `--endpoint-url` nor the environment names an endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://iam.amazonaws.com/";

/// Exit codes, as AWS CLI version 2 documents them.
pub mod exit {
    /// Invalid syntax, unknown parameters, invalid parameter values.
    pub const USAGE: u8 = 252;
    /// Configuration problems, for example no credentials.
    pub const CONFIG: u8 = 253;
    /// The service answered with an error.
    pub const SERVICE: u8 = 254;
    /// Anything else: no connection, a response that cannot be read.
    pub const OTHER: u8 = 255;
}

/// What `--generate-cli-skeleton` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skeleton {
    /// The input template, exactly as the AWS CLI prints it.
    Input,
    /// A sample output for the given input, valid against the model's output schema.
    Output,
}

/// The long `--help` text. main.rs sets it on the subcommand, because clap lets the
/// subcommand's doc comment there override an `Args` struct's own `long_about`.
pub const LONG_ABOUT: &str =
    "Create an access key for an IAM user, like `aws iam create-access-key`.

Sends one signed CreateAccessKey request (awsQuery, SigV4, service iam) and prints the new key \
as JSON with 4-space indentation, members in model order and CreateDate exactly as the endpoint \
sent it (as AWS CLI v1 prints it). The output contains the new secret access key: it is shown \
only this once. The request is never retried, because a retry could create a second key.

Input: --user-name, or --cli-input-json with a JSON object or file://PATH; options given on the \
command line win over the JSON. Input is checked as botocore checks it before sending (unknown \
members, types, minimum lengths); maxima and patterns are left to the service.

Endpoint: --endpoint-url, else AWS_ENDPOINT_URL_IAM, else AWS_ENDPOINT_URL, else \
https://iam.amazonaws.com/. Credentials: --profile, else AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else AWS_PROFILE, else the default profile of \
~/.aws/credentials and ~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE).

Exit codes (AWS CLI v2): 0 success; 252 invalid parameters or usage; 253 configuration, such \
as no credentials; 254 the service answered with an error (printed as `An error occurred \
(CODE) when calling the CreateAccessKey operation: MESSAGE`); 255 anything else, such as no \
connection to the endpoint or a response that cannot be decoded.";

/// Create an access key for an IAM user, like `aws iam create-access-key`.
#[derive(clap::Args, Debug)]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// The IAM user to create the key for. Without it, IAM uses the user who owns the signing
    /// key.
    #[arg(long, value_name = "NAME")]
    pub user_name: Option<String>,
    /// The input as a JSON object (for example '{"UserName": "alice"}') or file://PATH.
    /// Options given on the command line win over its members.
    #[arg(long, value_name = "JSON|file://PATH")]
    pub cli_input_json: Option<String>,
    /// Print an input template (no value, or `input`) or a sample output (`output`, after
    /// checking the input) instead of sending anything.
    #[arg(
        long,
        value_name = "input|output",
        num_args = 0..=1,
        default_missing_value = "input",
        value_enum
    )]
    pub generate_cli_skeleton: Option<Skeleton>,
    /// The endpoint to send to, for example http://127.0.0.1:4566/.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The profile of the shared AWS config and credentials files to take credentials from.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The region to sign for when --endpoint-url (or AWS_ENDPOINT_URL*) names the endpoint;
    /// else AWS_REGION, AWS_DEFAULT_REGION, us-east-1. The global IAM endpoint is always
    /// signed for us-east-1.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Print the endpoint, the request parameters, the HTTP status and anything odd about the
    /// response to stderr (never a secret).
    #[arg(long)]
    pub debug: bool,
}

/// The endpoint to call: the flag, else `AWS_ENDPOINT_URL_IAM`, else `AWS_ENDPOINT_URL`, else
/// the global IAM endpoint. Returns the URL and whether it was chosen by the user.
pub fn resolve_endpoint(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (String, bool) {
    flag.map(str::to_owned)
        .or_else(|| env("AWS_ENDPOINT_URL_IAM").filter(|v| !v.is_empty()))
        .or_else(|| env("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()))
        .map(|u| (u, true))
        .unwrap_or_else(|| (DEFAULT_ENDPOINT.to_owned(), false))
}

/// Prints an error as the AWS CLI does (a blank line, then the message) and returns `code`.
fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("\n{message}");
    ExitCode::from(code)
}

pub fn run(args: Args) -> ExitCode {
    let model = Model::embedded();
    let env = |k: &str| std::env::var(k).ok();

    if args.generate_cli_skeleton == Some(Skeleton::Input) {
        super::common::out(&input_skeleton(model, OPERATION));
        return ExitCode::SUCCESS;
    }

    let mut options = Map::new();
    if let Some(name) = &args.user_name {
        options.insert("UserName".into(), json!(name));
    }
    let read_file = |path: &str| std::fs::read_to_string(path).map_err(|e| e.to_string());
    let input = match prepare_input(
        model,
        OPERATION,
        args.cli_input_json.as_deref(),
        options,
        &read_file,
    ) {
        Ok(input) => input,
        Err(e) => return input_error(&e),
    };

    if args.generate_cli_skeleton == Some(Skeleton::Output) {
        super::common::outln!("{}", pretty(&sample_output(model, OPERATION, &input)));
        return ExitCode::SUCCESS;
    }

    let (endpoint, custom) = resolve_endpoint(args.endpoint_url.as_deref(), &env);
    let credentials = match Credentials::resolve(args.profile.as_deref(), &env) {
        Ok(c) => c,
        Err(CredentialError::NoProfile { profile, .. }) => {
            return fail(
                exit::CONFIG,
                &format!("The config profile ({profile}) could not be found"),
            );
        }
        Err(e) => return fail(exit::CONFIG, &format!("Unable to locate credentials: {e}")),
    };
    let client = match Client::new(&endpoint, Some(credentials)) {
        Ok(c) => c,
        Err(e) => return fail(exit::USAGE, &format!("Bad value for --endpoint-url: {e}")),
    };
    let client = if custom {
        let region = args
            .region
            .clone()
            .or_else(|| env("AWS_REGION").filter(|v| !v.is_empty()))
            .or_else(|| env("AWS_DEFAULT_REGION").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| Scope::default().region);
        client.with_scope(Scope {
            region,
            ..Scope::default()
        })
    } else {
        client
    };

    let params = params_from_input(model, OPERATION, &input);
    if args.debug {
        // Parameters hold only what the user typed (a user name); the response's secret is
        // never part of debug output.
        eprintln!("debug: POST {} params {params:?}", client.endpoint());
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(exit::OTHER, &format!("cannot start the async runtime: {e}")),
    };
    let response = match runtime.block_on(client.call(&params)) {
        Ok(r) => r,
        Err(TransportError::Connect { url }) => {
            return fail(
                exit::OTHER,
                &format!("Could not connect to the endpoint URL: \"{url}\""),
            );
        }
        Err(e) => return fail(exit::OTHER, &e.to_string()),
    };
    let decoded = decode_response(model, OPERATION, &response.body);
    if args.debug {
        eprintln!(
            "debug: HTTP {} request id {:?} problems {:?}",
            response.status,
            decoded.request_id(),
            decoded.problems
        );
    }
    report(&decoded, response.status, client.endpoint())
}

fn input_error(e: &InputError) -> ExitCode {
    fail(exit::USAGE, &e.aws_message())
}

/// What to print and which code to exit with for a decoded response.
fn report(decoded: &Decoded, status: u16, endpoint: &str) -> ExitCode {
    let service_error = |code: &str, message: &str| {
        fail(
            exit::SERVICE,
            &format!(
                "An error occurred ({code}) when calling the {OPERATION} operation: {message}"
            ),
        )
    };
    // botocore's stand-in for an error body it cannot read: the status and its reason phrase.
    let status_error = || {
        let reason = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        service_error(&status.to_string(), reason)
    };
    match &decoded.outcome {
        Outcome::Error(e) => service_error(
            e.code.as_deref().unwrap_or("Unknown"),
            e.message.as_deref().unwrap_or("Unknown"),
        ),
        _ if !(200..300).contains(&status) => status_error(),
        Outcome::Unreadable => fail(
            exit::OTHER,
            &format!(
                "Could not decode the response from the endpoint URL: \"{endpoint}\": {}",
                describe(&decoded.problems)
            ),
        ),
        Outcome::Success { .. } => {
            if let Some(p @ WireProblem::MissingWrapper { .. }) = decoded
                .problems
                .iter()
                .find(|p| matches!(p, WireProblem::MissingWrapper { .. }))
            {
                return fail(
                    exit::OTHER,
                    &format!(
                        "Could not decode the response from the endpoint URL: \"{endpoint}\": {p}"
                    ),
                );
            }
            let value = decoded.revealed_value().unwrap_or(Value::Null);
            super::common::outln!("{}", pretty(&value));
            ExitCode::SUCCESS
        }
    }
}

fn describe(problems: &[WireProblem]) -> String {
    if problems.is_empty() {
        return "no recognisable response envelope".into();
    }
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_precedence() {
        let env = |k: &str| match k {
            "AWS_ENDPOINT_URL_IAM" => Some("http://iam-env/".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://generic-env/".to_owned()),
            _ => None,
        };
        assert_eq!(
            resolve_endpoint(Some("http://flag/"), &env),
            ("http://flag/".to_owned(), true)
        );
        assert_eq!(
            resolve_endpoint(None, &env),
            ("http://iam-env/".to_owned(), true)
        );
        let generic = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://generic-env/".to_owned());
        assert_eq!(
            resolve_endpoint(None, &generic),
            ("http://generic-env/".to_owned(), true)
        );
        assert_eq!(
            resolve_endpoint(None, &|_| None),
            (DEFAULT_ENDPOINT.to_owned(), false)
        );
    }
}

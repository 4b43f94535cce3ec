//! `iam-contract create-access-key` as a user runs it: the built binary with a clean
//! environment, against a tiny canned HTTP server on 127.0.0.1 or a closed port; plus the pure
//! input pipeline (`iam_contract::cli_input`).

use iam_contract::cli_input::{InputError, merge_options, parse_cli_input_json, prepare_input};
use iam_contract::model::{Model, json_schema};
use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
const SKELETON: &str = "{\n    \"UserName\": \"\"\n}\n";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A directory of this test process's own, used as HOME so that no real `~/.aws` is read.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iam-contract-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `iam-contract create-access-key ARGS` with only HOME and `env` set.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .env_clear()
        .env("HOME", scratch())
        .envs(env.iter().copied())
        .arg("create-access-key")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const CREDS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", KEY_ID),
    ("AWS_SECRET_ACCESS_KEY", SECRET),
];

/// An endpoint on 127.0.0.1 where nothing listens.
fn closed_endpoint() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/")
}

/// Serves one canned response on 127.0.0.1 and hands back the request it received.
fn serve_once(status: u16, body: &str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let body = body.to_owned();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut sock, _)) = listener.accept() else {
            return;
        };
        sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the head, then as many body bytes as Content-Length says.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let response = format!(
            "HTTP/1.1 {status} Canned\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(response.as_bytes()).ok();
        tx.send(String::from_utf8_lossy(&buf).into_owned()).ok();
    });
    (url, rx)
}

fn received(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the server received a request")
}

/// A CreateAccessKey response as IAM sends it, with AWS's documented example key.
fn canned_success(user: &str) -> String {
    format!(
        "<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  \
         <CreateAccessKeyResult>\n    <AccessKey>\n      <UserName>{user}</UserName>\n      \
         <AccessKeyId>{KEY_ID}</AccessKeyId>\n      <Status>Active</Status>\n      \
         <SecretAccessKey>{SECRET}</SecretAccessKey>\n      \
         <CreateDate>2015-03-09T18:39:23.411Z</CreateDate>\n    </AccessKey>\n  \
         </CreateAccessKeyResult>\n  <ResponseMetadata>\n    \
         <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>\n  </ResponseMetadata>\n\
         </CreateAccessKeyResponse>\n"
    )
}

/// What the AWS CLI prints for that response (checked byte for byte against awscli 1.46.3 and
/// moto: 4-space indent, model order, CreateDate as sent).
fn printed_success(user: &str) -> String {
    format!(
        "{{\n    \"AccessKey\": {{\n        \"UserName\": \"{user}\",\n        \
         \"AccessKeyId\": \"{KEY_ID}\",\n        \"Status\": \"Active\",\n        \
         \"SecretAccessKey\": \"{SECRET}\",\n        \
         \"CreateDate\": \"2015-03-09T18:39:23.411Z\"\n    }}\n}}\n"
    )
}

fn output_validator() -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&json_schema(Model::embedded(), "CreateAccessKeyResponse"))
        .unwrap()
}

#[test]
fn input_skeleton_is_byte_identical_in_both_spellings() {
    for args in [
        &["--generate-cli-skeleton"][..],
        &["--generate-cli-skeleton", "input"],
        &["--user-name", "alice", "--generate-cli-skeleton"],
    ] {
        // No credentials and a closed endpoint: a skeleton sends nothing.
        let endpoint = closed_endpoint();
        let mut args = args.to_vec();
        args.extend(["--endpoint-url", &endpoint]);
        let r = run(&args, &[]);
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (0, SKELETON, ""),
            "{args:?}"
        );
    }
}

#[test]
fn output_skeleton_validates_against_the_output_schema_and_echoes_the_user() {
    let endpoint = closed_endpoint();
    let r = run(
        &[
            "--generate-cli-skeleton",
            "output",
            "--user-name",
            "alice",
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors: Vec<String> = output_validator()
        .iter_errors(&v)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(v["AccessKey"]["UserName"], "alice");
    // Printed as the AWS CLI prints: 4-space indentation and a final newline.
    assert_eq!(r.stdout, format!("{}\n", iam_contract::model::pretty(&v)));
    assert!(
        r.stdout
            .starts_with("{\n    \"AccessKey\": {\n        \"UserName\"")
    );

    // Without a user name the sample is still valid.
    let r = run(&["--generate-cli-skeleton", "output"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(output_validator().is_valid(&serde_json::from_str(&r.stdout).unwrap()));
}

#[test]
fn output_skeleton_checks_the_input_first() {
    let r = run(&["--generate-cli-skeleton", "output", "--user-name="], &[]);
    assert_eq!(r.code, 252);
    assert_eq!(
        r.stderr,
        "\nParameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1\n"
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn command_line_options_win_over_the_json() {
    let r = run(
        &[
            "--generate-cli-skeleton",
            "output",
            "--cli-input-json",
            r#"{"UserName": "from-json"}"#,
            "--user-name",
            "from-option",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["AccessKey"]["UserName"], "from-option");

    // And on the wire.
    let (url, rx) = serve_once(200, &canned_success("from-option"));
    let r = run(
        &[
            "--endpoint-url",
            &url,
            "--cli-input-json",
            r#"{"UserName": "from-json"}"#,
            "--user-name",
            "from-option",
        ],
        CREDS,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let req = received(&rx);
    assert!(req.ends_with("UserName=from-option"), "{req}");
    assert!(!req.contains("from-json"));
}

#[test]
fn file_input_is_read() {
    let path = scratch().join("input.json");
    std::fs::write(&path, r#"{"UserName": "from-file"}"#).unwrap();
    let arg = format!("file://{}", path.display());
    let r = run(
        &[
            "--generate-cli-skeleton",
            "output",
            "--cli-input-json",
            &arg,
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["AccessKey"]["UserName"], "from-file");

    let missing = format!("file://{}", scratch().join("missing.json").display());
    let r = run(&["--cli-input-json", &missing], CREDS);
    assert_eq!(r.code, 252);
    assert!(
        r.stderr.starts_with(&format!(
            "\nError parsing parameter '--cli-input-json': Unable to load paramfile {missing}: "
        )),
        "{}",
        r.stderr
    );

    // Invalid JSON in a file quotes the file's content.
    let bad = scratch().join("bad.json");
    std::fs::write(&bad, "{\"UserName\": }").unwrap();
    let r = run(
        &["--cli-input-json", &format!("file://{}", bad.display())],
        CREDS,
    );
    assert_eq!(r.code, 252);
    assert!(
        r.stderr.ends_with("\nJSON received: {\"UserName\": }\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn parameter_errors_exit_252_with_botocore_wording() {
    // A closed endpoint and credentials: if validation let anything through, the exit code would
    // be 255, not 252.
    let endpoint = closed_endpoint();
    for (args, stderr) in [
        (
            vec!["--cli-input-json", r#"{"Foo": 1}"#],
            "\nParameter validation failed:\nUnknown parameter in input: \"Foo\", must be one of: UserName\n",
        ),
        (
            vec!["--cli-input-json", r#"{"UserName": 5}"#],
            "\nParameter validation failed:\nInvalid type for parameter UserName, value: 5, type: <class 'int'>, valid types: <class 'str'>\n",
        ),
        (
            vec!["--cli-input-json", r#"{"UserName": ""}"#],
            "\nParameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1\n",
        ),
        (
            vec!["--user-name="],
            "\nParameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1\n",
        ),
        (
            vec!["--user-name", ""],
            "\nParameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1\n",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--endpoint-url", &endpoint]);
        let r = run(&args, CREDS);
        assert_eq!((r.code, r.stderr.as_str()), (252, stderr), "{args:?}");
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn invalid_json_exits_252_and_quotes_the_input() {
    let r = run(&["--cli-input-json", "{bad"], CREDS);
    assert_eq!(r.code, 252);
    assert!(
        r.stderr
            .starts_with("\nError parsing parameter 'cli-input-json': Invalid JSON: "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with("\nJSON received: {bad\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_exit_252() {
    let r = run(&["--no-such-flag"], CREDS);
    assert_eq!(r.code, 252);
    let r = run(&["--generate-cli-skeleton", "sideways"], CREDS);
    assert_eq!(r.code, 252);
}

#[test]
fn no_credentials_exits_253() {
    let r = run(
        &["--user-name", "alice", "--endpoint-url", &closed_endpoint()],
        &[],
    );
    assert_eq!(r.code, 253, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("\nUnable to locate credentials"),
        "{}",
        r.stderr
    );
    let r = run(
        &["--profile", "nobody", "--endpoint-url", &closed_endpoint()],
        &[],
    );
    assert_eq!(r.code, 253, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "\nThe config profile (nobody) could not be found\n"
    );
}

#[test]
fn credentials_come_from_a_profile() {
    let dir = scratch().join("profile");
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("credentials");
    std::fs::write(
        &creds,
        format!("[dev]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let (url, rx) = serve_once(200, &canned_success("alice"));
    let creds = creds.display().to_string();
    let r = run(
        &[
            "--profile",
            "dev",
            "--user-name",
            "alice",
            "--endpoint-url",
            &url,
        ],
        &[("AWS_SHARED_CREDENTIALS_FILE", creds.as_str())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(received(&rx).contains(&format!("Credential={KEY_ID}/")));
}

#[test]
fn unreachable_endpoint_exits_255_and_names_it() {
    let endpoint = closed_endpoint();
    let r = run(
        &["--user-name", "alice", "--endpoint-url", &endpoint],
        CREDS,
    );
    assert_eq!(r.code, 255);
    assert_eq!(
        r.stderr,
        format!("\nCould not connect to the endpoint URL: \"{endpoint}\"\n")
    );
    // The endpoint may come from the environment too.
    let r = run(
        &["--user-name", "alice"],
        &[
            CREDS[0],
            CREDS[1],
            ("AWS_ENDPOINT_URL_IAM", endpoint.as_str()),
        ],
    );
    assert_eq!(r.code, 255);
    assert!(r.stderr.contains(&endpoint));
}

#[test]
fn a_bad_endpoint_url_is_a_parameter_error() {
    let r = run(&["--endpoint-url", "not a url"], CREDS);
    assert_eq!(r.code, 252, "{}", r.stderr);
    assert!(r.stderr.contains("--endpoint-url"), "{}", r.stderr);
}

#[test]
fn service_errors_exit_254_with_the_aws_cli_wording() {
    let body = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message></Error><RequestId>4c1a5c1d-EXAMPLE</RequestId></ErrorResponse>";
    let (url, _rx) = serve_once(404, body);
    let r = run(&["--user-name", "nobody", "--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 254);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "\nAn error occurred (NoSuchEntity) when calling the CreateAccessKey operation: The user with name nobody cannot be found.\n"
    );
}

#[test]
fn an_unreadable_error_body_reports_the_status_like_botocore() {
    let (url, _rx) = serve_once(500, "<html>oops");
    let r = run(&["--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 254);
    assert_eq!(
        r.stderr,
        "\nAn error occurred (500) when calling the CreateAccessKey operation: Internal Server Error\n"
    );
}

#[test]
fn an_undecodable_success_exits_255_without_panicking() {
    for body in [
        "not xml",
        "<CreateUserResponse/>",
        "<CreateAccessKeyResponse><ResponseMetadata/></CreateAccessKeyResponse>",
        "",
    ] {
        let (url, _rx) = serve_once(200, body);
        let r = run(&["--endpoint-url", &url], CREDS);
        assert_eq!(r.code, 255, "{body:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!(
                "\nCould not decode the response from the endpoint URL: \"{url}\": "
            )),
            "{body:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"));
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn success_prints_the_key_as_the_aws_cli_does() {
    let (url, rx) = serve_once(200, &canned_success("alice"));
    let r = run(&["--user-name", "alice", "--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, printed_success("alice"));
    assert_eq!(r.stderr, "");
    assert!(output_validator().is_valid(&serde_json::from_str(&r.stdout).unwrap()));

    let req = received(&rx);
    assert!(req.starts_with("POST / HTTP/1.1\r\n"), "{req}");
    let lower = req.to_lowercase();
    assert!(lower.contains("content-type: application/x-www-form-urlencoded; charset=utf-8"));
    assert!(
        req.contains(&format!("Credential={KEY_ID}/"))
            && req.contains("/us-east-1/iam/aws4_request"),
        "{req}"
    );
    assert!(req.ends_with("\r\n\r\nAction=CreateAccessKey&Version=2010-05-08&UserName=alice"));
    assert!(
        !req.contains(SECRET),
        "the secret must not travel with the request"
    );
}

#[test]
fn user_names_are_percent_encoded_as_aws_expects() {
    let (url, rx) = serve_once(200, &canned_success("a+b"));
    let r = run(&["--user-name", "a+b c", "--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(received(&rx).ends_with("&UserName=a%2Bb%20c"));
}

#[test]
fn without_a_user_name_none_is_sent() {
    let (url, rx) = serve_once(200, &canned_success("caller"));
    let r = run(&["--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(received(&rx).ends_with("\r\n\r\nAction=CreateAccessKey&Version=2010-05-08"));
}

#[test]
fn region_sets_the_signing_scope_for_a_custom_endpoint() {
    let (url, rx) = serve_once(200, &canned_success("alice"));
    let r = run(&["--endpoint-url", &url, "--region", "eu-west-1"], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(received(&rx).contains("/eu-west-1/iam/aws4_request"));
}

#[test]
fn debug_output_never_holds_the_secret() {
    let (url, _rx) = serve_once(200, &canned_success("alice"));
    let r = run(
        &["--user-name", "alice", "--endpoint-url", &url, "--debug"],
        CREDS,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("debug: HTTP 200"), "{}", r.stderr);
    assert!(!r.stderr.contains(SECRET), "{}", r.stderr);
    assert_eq!(r.stdout, printed_success("alice"));
}

#[test]
fn help_describes_the_behaviour() {
    let r = run(&["--help"], &[]);
    assert_eq!(r.code, 0);
    for needle in [
        "--user-name",
        "--cli-input-json",
        "--generate-cli-skeleton",
        "--endpoint-url",
        "--profile",
        "--region",
        "AWS_ENDPOINT_URL_IAM",
        "252",
        "253",
        "254",
        "255",
        "never retried",
    ] {
        assert!(
            r.stdout.contains(needle),
            "help lacks {needle:?}:\n{}",
            r.stdout
        );
    }
}

// The pure input pipeline, as the fuzz target drives it.

fn no_files(_: &str) -> Result<String, String> {
    Err("no files here".into())
}

#[test]
fn pipeline_merges_options_over_json() {
    let mut opts = Map::new();
    opts.insert("UserName".into(), json!("opt"));
    let v = prepare_input(
        Model::embedded(),
        "CreateAccessKey",
        Some(r#"{"UserName": "json"}"#),
        opts,
        &no_files,
    )
    .unwrap();
    assert_eq!(v, json!({"UserName": "opt"}));
    assert_eq!(merge_options(None, Map::new()), json!({}));
}

#[test]
fn pipeline_errors_are_typed() {
    let m = Model::embedded();
    let err = prepare_input(m, "CreateAccessKey", Some("{"), Map::new(), &no_files).unwrap_err();
    assert!(matches!(err, InputError::InvalidJson { .. }));
    let err = prepare_input(
        m,
        "CreateAccessKey",
        Some("file://x.json"),
        Map::new(),
        &no_files,
    )
    .unwrap_err();
    assert_eq!(
        err,
        InputError::ReadFile {
            path: "x.json".into(),
            reason: "no files here".into()
        }
    );
    let err = prepare_input(
        m,
        "CreateAccessKey",
        Some(r#"{"UserName": "", "Foo": null}"#),
        Map::new(),
        &no_files,
    )
    .unwrap_err();
    assert_eq!(
        err.aws_message(),
        "Parameter validation failed:\nUnknown parameter in input: \"Foo\", must be one of: UserName\nInvalid length for parameter UserName, value: 0, valid min length: 1"
    );
    // Display is a lowercase fragment; the AWS wording is separate.
    assert!(err.to_string().starts_with("parameter validation failed"));
}

#[test]
fn pipeline_never_panics_on_arbitrary_text() {
    use proptest::prelude::*;
    let m = Model::embedded();
    proptest!(|(text in ".{0,64}", json_ish in r#"[{}\[\]":,0-9a-zA-Z ]{0,32}"#)| {
        let _ = parse_cli_input_json(&text, &no_files);
        let _ = prepare_input(m, "CreateAccessKey", Some(&json_ish), Map::new(), &no_files);
    });
}

// End to end against the embedded emulator: the AWS CLI's view of a conforming endpoint.

#[test]
fn end_to_end_against_the_emulator() {
    use iam_contract::emulator::{self, Config};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt.block_on(emulator::start(Config::default())).unwrap();
    let url = running.url().to_owned();
    let user = running.emulator().bootstrap_user().to_owned();

    // Without --user-name the key is for the signing key's owner. The output holds a real
    // (emulated) secret, so it is never put into an assertion message.
    let r = run(&["--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    assert!(
        output_validator().is_valid(&v),
        "output breaks the output schema"
    );
    assert_eq!(v["AccessKey"]["UserName"], json!(user));
    assert_eq!(v["AccessKey"]["Status"], "Active");
    assert_eq!(r.stdout, format!("{}\n", iam_contract::model::pretty(&v)));

    // The bootstrap key plus the new one fill the quota of two.
    let r = run(&["--endpoint-url", &url, "--user-name", &user], CREDS);
    assert_eq!(r.code, 254, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "\nAn error occurred (LimitExceeded) when calling the CreateAccessKey operation: Cannot exceed quota for AccessKeysPerUser: 2\n"
    );

    let r = run(&["--endpoint-url", &url, "--user-name", "nobody"], CREDS);
    assert_eq!(r.code, 254);
    assert_eq!(
        r.stderr,
        "\nAn error occurred (NoSuchEntity) when calling the CreateAccessKey operation: The user with name nobody cannot be found.\n"
    );

    // A wrong secret is the service's business too.
    let r = run(
        &["--endpoint-url", &url],
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ],
    );
    assert_eq!(r.code, 254, "{}", r.stderr);
    assert!(r.stderr.contains("(SignatureDoesNotMatch)"), "{}", r.stderr);
    rt.block_on(running.shutdown());
}

/// Signed by the account root, a create without --user-name makes a root key, and the output is
/// what the AWS CLI prints for it: the members the answer holds, in model order (the emulator
/// leaves out the undocumented AccessKey.UserName of a root key), then the root's quota of 2.
#[test]
fn without_a_user_name_the_root_gets_a_root_key() {
    use iam_contract::emulator::{self, Config};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(emulator::start(Config::default().as_root()))
        .unwrap();
    assert!(running.emulator().signs_as_root());
    let url = running.url().to_owned();
    let r = run(&["--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("stdout is JSON");
    let members: Vec<&str> = v["AccessKey"]
        .as_object()
        .expect("an AccessKey")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        members,
        ["AccessKeyId", "Status", "SecretAccessKey", "CreateDate"]
    );
    assert_eq!(v["AccessKey"]["Status"], "Active");
    assert_ne!(v["AccessKey"]["AccessKeyId"], json!(KEY_ID));
    assert_eq!(r.stdout, format!("{}\n", iam_contract::model::pretty(&v)));
    // The root's starting key and the new one fill the root's quota of two.
    let r = run(&["--endpoint-url", &url], CREDS);
    assert_eq!(r.code, 254, "{}", r.stderr);
    assert!(r.stderr.contains("(LimitExceeded)"), "{}", r.stderr);
    // Naming a user is still about that user: there is none in a root-only emulator.
    let r = run(&["--endpoint-url", &url, "--user-name", "admin"], CREDS);
    assert_eq!(r.code, 254);
    assert!(r.stderr.contains("(NoSuchEntity)"), "{}", r.stderr);
    rt.block_on(running.shutdown());
}

/// `serve --root-key`: the key from the environment is the account root's, the server says so,
/// and a secret that came from the environment is never printed.
#[test]
fn serve_with_a_root_key_says_so_and_never_prints_the_secret() {
    use std::io::BufRead;
    let secret = format!("{}{}", "envSecretNotPrinted/", "0123456789abcdefghij");
    let mut child = Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .args(["serve", "--listen", "127.0.0.1:0", "--root-key"])
        .env("AWS_ACCESS_KEY_ID", "AKIAROOTFROMENV00001")
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The key lines come after the URL: read up to the secret's line, then stop the server.
    let mut stderr = String::new();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    while !stderr.contains("AWS_SECRET_ACCESS_KEY=") {
        if err.read_line(&mut stderr).unwrap() == 0 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        stderr.contains("caller: the account root (arn:aws:iam::123456789012:root), no IAM user"),
        "{stderr}"
    );
    assert!(stderr.contains("AWS_ACCESS_KEY_ID=AKIAROOTFROMENV00001"));
    assert!(stderr.contains("(from the environment, not shown)"));
    assert!(!stderr.contains(&secret) && !url.contains(&secret));
    assert!(!stderr.contains("bootstrap user"), "{stderr}");
}

#[test]
fn an_unknown_target_is_a_usage_error_that_lists_the_known_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_iam-contract"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "--target", "no-such-service"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-service"), "{stderr}");
    assert!(
        stderr.contains("known targets: ") && stderr.contains("moto, moto-auth"),
        "{stderr}"
    );
}

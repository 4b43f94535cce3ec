//! Report formats built from hand-made reports: the console's closing line and escaping, the
//! JSON paths other tools read, JUnit counts, Markdown determinism, the secret tripwire and the
//! compatibility matrix.

use iam_contract::contract::{
    Caller, CaseRecord, Finding, Observed, Profile, Report, RuleClass, RuleResult, Source, Status,
    Summary, TargetInfo,
};
use iam_contract::report::{
    LeakForm, Tripwire, TripwireError, compatibility_matrix, console, from_json, scrub_all,
    to_json, to_markdown, to_markdown_stable,
};
use iam_contract::secret::Secret;
use serde_json::Value;

const ENDPOINT: &str = "http://127.0.0.1:41234";
const REPLAY: &str = "iam-contract replay --endpoint http://127.0.0.1:41234 --method POST \
                      --signing sigv4 --wire 'Action=CreateAccessKey&Version=2010-05-08&UserName=a%00b'";

/// A secret built at run time, so no 40-character secret literal sits in the repository.
fn fake_secret() -> Secret {
    Secret::new(format!(
        "{}{}",
        "wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYzTESTONLY12"
    ))
}

fn rule(id: &str, class: RuleClass, status: Status) -> RuleResult {
    RuleResult {
        id: id.into(),
        title: format!("title of {id}"),
        class,
        source: Source::Model,
        profile: Profile::Model,
        status,
        cases: 3,
        skip_reason: None,
        baseline_reason: None,
        findings: Vec::new(),
    }
}

fn finding(user: &str, status: u16, code: Option<&str>) -> Finding {
    Finding {
        case: CaseRecord {
            action: "CreateAccessKey".into(),
            params: vec![
                ("Action".into(), "CreateAccessKey".into()),
                ("Version".into(), "2010-05-08".into()),
                ("UserName".into(), user.into()),
            ],
            method: "POST".into(),
            signing: "sigv4".into(),
            wire: "Action=CreateAccessKey&Version=2010-05-08&UserName=a%00b".into(),
            steps: Vec::new(),
            sequence: None,
        },
        observed: Observed {
            status,
            code: code.map(str::to_owned),
            message: Some("user a\u{1b}[2Jb not found".into()),
            excerpt:
                "<ErrorResponse>\n  <Error><Code>NoSuchEntity</Code></Error>\n</ErrorResponse>"
                    .into(),
            transport_error: None,
        },
        expected: "400 ValidationError".into(),
        replay: REPLAY.into(),
        fingerprint: String::new(),
    }
}

/// One rule of each verdict: pass, fail (with a finding carrying control characters), skip,
/// expected-fail and unexpected-pass.
fn sample(name: &str) -> Report {
    let mut fail = rule(
        "input.user-name.pattern",
        RuleClass::InputValidation,
        Status::Fail,
    );
    fail.findings
        .push(finding("a\0b\u{e9}", 404, Some("NoSuchEntity")));
    let mut lifecycle_fail = rule(
        "lifecycle.quota-counts-inactive",
        RuleClass::Lifecycle,
        Status::Fail,
    );
    let mut lf = finding("icx-seq1", 200, None);
    lf.case.steps = vec![
        "CreateUser icx-seq1".into(),
        "CreateAccessKey icx-seq1".into(),
    ];
    lf.observed.message = None;
    lifecycle_fail.findings.push(lf);
    let mut skip = rule("auth.cross-user-denied", RuleClass::Auth, Status::Skip);
    skip.skip_reason = Some("the target cannot create users".into());
    skip.cases = 0;
    let mut xfail = rule(
        "auth.unsigned-refused",
        RuleClass::Auth,
        Status::ExpectedFail,
    );
    xfail.baseline_reason = Some("this target checks no signatures".into());
    xfail.findings.push(finding("bob", 200, None));
    let mut xpass = rule(
        "protocol.bad-version",
        RuleClass::Protocol,
        Status::UnexpectedPass,
    );
    xpass.baseline_reason = Some("used to ignore Version".into());
    let mut report = Report {
        tool: "iam-contract 0.1.0".into(),
        target: TargetInfo {
            endpoint: ENDPOINT.into(),
            name: name.into(),
            profile: Profile::Model,
            caller: None,
        },
        summary: Summary {
            cases_sent: 1234,
            retries: 2,
            elapsed_ms: 1500,
            ..Summary::default()
        },
        rules: vec![
            rule(
                "input.user-name.length-max",
                RuleClass::InputValidation,
                Status::Pass,
            ),
            fail,
            lifecycle_fail,
            skip,
            xfail,
            xpass,
        ],
    };
    report.recount();
    report
}

#[test]
fn console_closes_with_counts_and_shows_evidence() {
    let out = console(&sample("moto"), false);
    let last = out.lines().last().unwrap();
    // 1 pass; 2 failures + 1 stale baseline entry fail the run; 1 skip.
    assert_eq!(last, "1 passed, 3 failed, 1 skipped");
    assert!(!out.contains('\x1b'), "no colour when not asked");
    assert!(!out.contains('\0'));
    assert!(out.contains(REPLAY), "{out}");
    assert!(out.contains(r#"UserName = "a\0b\u{e9}""#), "{out}");
    assert!(out.contains(r"user a\u{1b}[2Jb not found"), "{out}");
    assert!(out.contains("<Code>NoSuchEntity</Code>"));
    assert!(
        out.contains("1. CreateUser icx-seq1"),
        "steps listed: {out}"
    );
    assert!(
        out.contains("this target checks no signatures"),
        "baseline reason"
    );
    assert!(
        out.contains("the target cannot create users"),
        "skip reason"
    );
    assert!(out.contains("STALE BASELINE"));
    assert!(out.contains("http://127.0.0.1:41234") && out.contains("moto"));
    // The tables: one header per class present, and aligned columns.
    for class in ["input-validation", "lifecycle", "auth", "protocol"] {
        assert!(out.lines().any(|l| l == class), "{class} table");
    }
    assert!(!out.lines().any(|l| l == "output-shape"));
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "input-validation")
        .skip(1)
        .take(3)
        .collect();
    let status_col = rows[0].find("STATUS").unwrap();
    assert_eq!(&rows[1][status_col..status_col + 4], "pass");
    assert_eq!(&rows[2][status_col..status_col + 4], "FAIL");

    let coloured = console(&sample("moto"), true);
    assert!(coloured.contains("\x1b[1;31mFAIL"));
    assert_eq!(coloured.lines().last().unwrap(), last);

    let mut ok = sample("emulator");
    ok.rules.retain(|r| r.status == Status::Pass);
    assert_eq!(
        console(&ok, false).lines().last().unwrap(),
        "1 passed, 0 failed, 0 skipped"
    );
}

/// Whom the run signed as is in every format: the console header, Markdown, a JUnit property,
/// SARIF's target properties and the JSON; a report without it (observed traffic, an old
/// report.json) reads back as before.
#[test]
fn every_format_says_whom_the_run_signed_as() {
    let mut report = sample("emulator");
    report.target.caller = Some(Caller::Root {
        arn: Some("arn:aws:iam::123456789012:root".into()),
    });
    let said = "account root (arn:aws:iam::123456789012:root)";
    let first = console(&report, false)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(first.ends_with(&format!("signed as {said}")), "{first}");
    assert!(
        to_markdown(&report).contains(&format!("- Signed as: {said}")),
        "markdown"
    );
    let junit = iam_contract::report::to_junit(&report);
    assert!(
        junit.contains(&format!("<property name=\"caller\" value=\"{said}\"/>")),
        "{junit}"
    );
    let sarif: Value =
        serde_json::from_str(&iam_contract::report::to_sarif(&report)).expect("SARIF is JSON");
    assert_eq!(sarif["runs"][0]["properties"]["target"]["caller"], said);
    let json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(json["target"]["caller"]["kind"], "root");
    assert_eq!(from_json(&to_json(&report)).unwrap(), report);
    // No caller: nothing is said, and the JSON has no such member.
    report.target.caller = None;
    assert!(!console(&report, false).contains("signed as"));
    assert!(!to_markdown(&report).contains("Signed as"));
    let json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert!(json["target"].get("caller").is_none());
    report.target.caller = Some(Caller::User {
        name: "admin".into(),
    });
    assert!(console(&report, false).contains("signed as IAM user admin"));
}

#[test]
fn json_has_the_documented_paths() {
    let report = sample("moto");
    let text = to_json(&report);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["target"]["endpoint"], ENDPOINT);
    assert_eq!(v["summary"]["passed"], 1);
    assert_eq!(v["summary"]["failed"], 2);
    assert_eq!(v["summary"]["skipped"], 1);
    assert_eq!(v["summary"]["expected_failures"], 1);
    assert_eq!(v["summary"]["unexpected_passes"], 1);
    assert_eq!(v["summary"]["cases_sent"], 1234);
    let rules = v["rules"].as_array().unwrap();
    let statuses: Vec<&str> = rules
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "pass",
            "fail",
            "fail",
            "skip",
            "expected-fail",
            "unexpected-pass"
        ]
    );
    let fail = &rules[1];
    assert_eq!(fail["id"], "input.user-name.pattern");
    assert_eq!(fail["title"], "title of input.user-name.pattern");
    assert_eq!(fail["source"], "model");
    let f = &fail["findings"][0];
    assert_eq!(f["case"]["action"], "CreateAccessKey");
    assert_eq!(f["case"]["params"][2][0], "UserName");
    assert_eq!(f["case"]["params"][2][1], "a\0b\u{e9}");
    assert_eq!(f["observed"]["status"], 404);
    assert_eq!(f["observed"]["code"], "NoSuchEntity");
    assert_eq!(f["expected"], "400 ValidationError");
    assert_eq!(f["replay"], REPLAY);
    // A finding without an error code has an explicit null.
    let lf = &rules[2]["findings"][0];
    assert!(lf["observed"]["code"].is_null());
    assert_eq!(lf["case"]["steps"][1], "CreateAccessKey icx-seq1");
    assert_eq!(rules[3]["skip_reason"], "the target cannot create users");
    // It reads back to the same report.
    assert_eq!(from_json(&text).unwrap(), report);
    assert!(from_json("{\"tool\": 1}").is_err());
}

#[cfg(feature = "cli")]
#[test]
fn junit_is_xml_with_the_right_counts() {
    use quick_xml::events::Event;
    let xml = iam_contract::report::to_junit(&sample("moto"));
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures, mut skipped, mut outs) = (0, 0, 0, 0, 0);
    let mut root_failures = None;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.name().as_ref() {
                "testsuites" => {
                    root_failures = e
                        .try_get_attribute("failures")
                        .unwrap()
                        .map(|a| a.value.to_string());
                }
                "testsuite" => suites += 1,
                "testcase" => cases += 1,
                "failure" => failures += 1,
                "skipped" => skipped += 1,
                "system-out" => outs += 1,
                _ => {}
            },
            Ok(_) => {}
            Err(e) => panic!("not XML: {e}\n{xml}"),
        }
    }
    assert_eq!(suites, 4, "one suite per class present");
    assert_eq!(cases, 6);
    assert_eq!(failures, 3, "two failures and one stale baseline entry");
    assert_eq!(skipped, 1);
    assert_eq!(outs, 1, "the expected failure carries a note");
    assert_eq!(root_failures.as_deref(), Some("3"));
    assert!(xml.contains("this target checks no signatures"));
    assert!(xml.contains("--wire"), "failures carry the replay command");
    assert!(!xml.contains('\0'));
}

#[test]
fn markdown_is_deterministic_and_lists_every_rule() {
    let report = sample("moto");
    let a = to_markdown(&report);
    assert_eq!(a, to_markdown(&report.clone()));
    for r in &report.rules {
        assert!(a.contains(&format!("`{}`", r.id)), "{} missing", r.id);
    }
    for label in ["| PASS |", "| FAIL |", "| SKIP |", "| XFAIL |", "| XPASS |"] {
        assert!(a.contains(label), "{label} missing");
    }
    assert!(a.contains("```sh\n"));
    assert!(a.contains(REPLAY));
    assert!(a.contains("1.5 s"));

    // The stable form drops the elapsed time and the port, and so does not change with them.
    let stable = to_markdown_stable(&report);
    let mut other = report.clone();
    other.summary.elapsed_ms = 99_999;
    other.summary.retries = 7;
    other.target.endpoint = "http://127.0.0.1:50000".into();
    for f in &mut other.rules.iter_mut().flat_map(|r| r.findings.iter_mut()) {
        f.replay = f.replay.replace(ENDPOINT, "http://127.0.0.1:50000");
    }
    assert_eq!(stable, to_markdown_stable(&other));
    assert!(!stable.contains("41234") && stable.contains("http://127.0.0.1:PORT"));
    assert!(!stable.contains("1.5 s"));

    // Backticks in a response cannot close the fence early.
    let mut hostile = report.clone();
    hostile.rules[1].findings[0].observed.excerpt = "```\n# injected heading".into();
    let md = to_markdown(&hostile);
    assert!(md.contains("````text\n"), "{md}");
}

#[test]
fn tripwire_catches_every_form_without_repeating_the_secret() {
    use base64::Engine;
    let secret = fake_secret();
    let raw = secret.expose().to_owned();
    let tripwire = Tripwire::new(vec![Secret::new("short"), secret.clone()]);
    let pct = iam_contract::wire::percent_encode(&raw);
    assert_ne!(pct, raw, "the fake secret has a `/` to encode");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let cases = [
        (format!("key: {raw}\n"), LeakForm::Raw),
        (
            format!("SecretAccessKey={pct}&x=1"),
            LeakForm::PercentEncoded,
        ),
        (
            format!("SecretAccessKey={}", pct.replace("%2F", "%2f")),
            LeakForm::PercentEncoded,
        ),
        (format!("blob {b64} end"), LeakForm::Base64),
    ];
    for (text, form) in &cases {
        let err = tripwire.check("report.json", text).unwrap_err();
        assert_eq!(
            err,
            TripwireError::Leak {
                output: "report.json".into(),
                secret: 1,
                form: *form
            }
        );
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("report.json") && shown.contains(&form.to_string()));
        for leak in [&raw, &pct, &b64] {
            assert!(
                !shown.contains(leak.as_str()),
                "the error repeats the secret"
            );
        }
        assert!(!shown.contains(&raw[..12]));
        let scrubbed = scrub_all(text, std::slice::from_ref(&secret));
        assert!(tripwire.check("scrubbed", &scrubbed).is_ok(), "{form}");
        assert!(scrubbed.contains("<redacted>"));
    }
    assert!(tripwire.check("stdout", "nothing to see").is_ok());
    assert!(
        tripwire.check("stdout", &raw[..20]).is_ok(),
        "half a secret is not a leak"
    );
    // Every rendered report of a report that carries a scrubbed excerpt passes the tripwire.
    let mut report = sample("moto");
    report.rules[1].findings[0].observed.excerpt = scrub_all(
        &format!("<SecretAccessKey>{raw}</SecretAccessKey>"),
        &[secret],
    );
    for (name, text) in [
        ("console", console(&report, true)),
        ("json", to_json(&report)),
        ("markdown", to_markdown(&report)),
        ("matrix", compatibility_matrix(&[report.clone()])),
    ] {
        assert!(tripwire.check(name, &text).is_ok(), "{name}");
    }
    // And one that does not scrub is caught in every format.
    report.rules[1].findings[0].observed.excerpt =
        format!("<SecretAccessKey>{raw}</SecretAccessKey>");
    for (name, text) in [
        ("console", console(&report, false)),
        ("json", to_json(&report)),
        ("markdown", to_markdown(&report)),
    ] {
        assert!(tripwire.check(name, &text).is_err(), "{name}");
    }
}

#[test]
fn matrix_has_a_column_per_target_and_the_right_cells() {
    let moto = sample("moto");
    let mut emulator = sample("emulator");
    emulator.target.endpoint = "http://127.0.0.1:39999".into();
    for r in &mut emulator.rules {
        r.status = Status::Pass;
        r.findings.clear();
        r.baseline_reason = None;
    }
    // A rule only one target ran.
    emulator
        .rules
        .push(rule("output.schema", RuleClass::OutputShape, Status::Pass));
    emulator.recount();
    emulator.target.caller = Some(Caller::Root {
        arn: Some("arn:aws:iam::123456789012:root".into()),
    });
    let m = compatibility_matrix(&[emulator.clone(), moto.clone()]);
    assert_eq!(m, compatibility_matrix(&[emulator.clone(), moto.clone()]));
    // Whom each run signed as: the probe's caller, or "not probed" for a report without one.
    let target_row = |name: &str| {
        m.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no target row for {name}"))
            .to_owned()
    };
    assert!(
        target_row("emulator").contains("| account root (arn:aws:iam::123456789012:root) |"),
        "{}",
        target_row("emulator")
    );
    assert!(
        target_row("moto").contains("| not probed |"),
        "{}",
        target_row("moto")
    );

    let header = m.lines().find(|l| l.starts_with("| Rule |")).unwrap();
    assert_eq!(header, "| Rule | emulator | moto |");
    let row = |id: &str| {
        m.lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("no row for {id}"))
            .to_owned()
    };
    assert_eq!(
        row("input.user-name.length-max"),
        "| `input.user-name.length-max` | pass | pass |"
    );
    assert_eq!(
        row("input.user-name.pattern"),
        "| `input.user-name.pattern` | pass | FAIL |"
    );
    assert_eq!(
        row("auth.cross-user-denied"),
        "| `auth.cross-user-denied` | pass | skip |"
    );
    assert_eq!(
        row("auth.unsigned-refused"),
        "| `auth.unsigned-refused` | pass | xfail |"
    );
    assert_eq!(
        row("protocol.bad-version"),
        "| `protocol.bad-version` | pass | XPASS |"
    );
    assert_eq!(row("output.schema"), "| `output.schema` | pass | — |");

    // Rows by class, then id: input, output, lifecycle, auth (cross-user before unsigned), protocol.
    let order: Vec<&str> = m
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .filter(|id| id.contains('.'))
        .collect();
    assert_eq!(
        order,
        [
            "input.user-name.length-max",
            "input.user-name.pattern",
            "output.schema",
            "lifecycle.quota-counts-inactive",
            "auth.cross-user-denied",
            "auth.unsigned-refused",
            "protocol.bad-version",
        ]
    );
    // Every deviation of moto comes with its replay command, endpoint made portable.
    let moto_section = m.split("### moto").nth(1).unwrap();
    assert!(moto_section.contains("FAIL `input.user-name.pattern`"));
    assert!(
        moto_section.contains("xfail `auth.unsigned-refused`: this target checks no signatures")
    );
    assert!(moto_section.contains("--endpoint \"$ENDPOINT\" --method POST"));
    assert!(!m.contains("41234"));
    assert!(
        m.split("### emulator")
            .nth(1)
            .unwrap()
            .contains("No deviations.")
    );
    assert!(m.contains("Legend"));
}

/// A rule title quotes the model's pattern; the console and Markdown print it as the model has
/// it (`\w`), not with the doubled backslash of an escaped endpoint value (`\\w`).
#[test]
fn titles_print_model_patterns_as_the_model_has_them() {
    use iam_contract::contract::catalogue;
    use iam_contract::model::Model;
    let title = catalogue(Model::embedded())
        .into_iter()
        .find(|r| r.id == "input.user-name.pattern-ascii-word")
        .expect("the derived rule")
        .title;
    assert_eq!(title, r"UserName: \w in [\w+=,.@-]+ is ASCII");
    let mut report = sample("emulator");
    report.rules[1].title = title.clone();
    for text in [console(&report, false), to_markdown(&report)] {
        assert!(text.contains(&title), "{text}");
        assert!(!text.contains(r"\\w"), "{text}");
    }
}

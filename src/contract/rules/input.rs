//! Input validation: every constraint of every input member must be refused with
//! `400 ValidationError`, before any existence check.
//!
//! The rules are derived from the model (one per constraint kind of each string member of the
//! operation's input) plus two fixed rows: proptest-generated invalid values (the first failure
//! shrunk against the live endpoint) and, in the `aws` profile, IAM's exact message wording.
//! The deterministic boundary cases come from [`generate::string_boundaries`].

use super::{OPERATION, PATTERN_ASCII_WORD, Request, RuleId, RuleRow, Verdict, constraint_rule_id};
use crate::contract::exchange::Exchange;
use crate::contract::{Profile, Rule, RuleClass, Source};
use crate::emulator::Fault;
use crate::generate;
use crate::model::{
    Constraint, Model, ShapeKind, StringShape, aws_validation_message, validate_input,
};
use serde_json::json;

/// This class's rules, in report order.
pub const ROWS: &[RuleRow] = &[
    RuleRow {
        id: RuleId::InputGeneratedInvalid,
        class: RuleClass::InputValidation,
        source: Source::Model,
        profile: Profile::Model,
        title: "Generated invalid names are refused with 400 ValidationError",
        checks: "Property-generated values that break the model's constraints (spliced-in bad characters, excess length) get 400 ValidationError; the first failure is shrunk to a minimal case.",
        faults: &[Fault::SkipPatternCheck, Fault::AcceptNonAsciiNames],
    },
    RuleRow {
        id: RuleId::InputValidationMessage,
        class: RuleClass::InputValidation,
        source: Source::Recorded,
        profile: Profile::Aws,
        title: "ValidationError messages are worded as IAM words them",
        checks: "The message is exactly `N validation error(s) detected: Value at 'userName' failed to satisfy constraint: ...`, violations joined with '; '.",
        faults: &[Fault::RewordedErrors],
    },
];
/// The rules derived from the model: per string member of the operation's input, one per
/// constraint kind (length-min, length-max, pattern, ASCII `\w`, enum).
pub fn derived_rules(model: &Model) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut add = |id: String, title: String, checks: String, faults: &[Fault]| {
        rules.push(Rule {
            id,
            title,
            class: RuleClass::InputValidation,
            source: Source::Model,
            profile: Profile::Model,
            checks,
            breaking_faults: faults.to_vec(),
        });
    };
    for (member, c) in string_members(model) {
        let m = &member;
        if let Some(min) = c.min {
            add(
                constraint_rule_id(m, "length-min"),
                format!("{m} shorter than {min} is refused with 400 ValidationError"),
                format!(
                    "{m} values below the model's minimum length ({min}) get 400 ValidationError, before any existence check."
                ),
                &[Fault::ValidationAfterLookup],
            );
        }
        if let Some(max) = c.max {
            add(
                constraint_rule_id(m, "length-max"),
                format!("{m} longer than {max} is refused with 400 ValidationError"),
                format!(
                    "{m} values of {} characters and more (up to 8x the limit) get 400 ValidationError, not 404, 200 or 5xx.",
                    max + 1
                ),
                &[Fault::SkipLengthChecks, Fault::ValidationAfterLookup],
            );
        }
        if let Some(p) = &c.pattern {
            add(
                constraint_rule_id(m, "pattern"),
                format!(
                    "{m} outside {} is refused with 400 ValidationError",
                    p.source()
                ),
                format!(
                    "{m} values containing separators, markup, percent signs or control characters (NUL included) get 400 ValidationError."
                ),
                &[Fault::SkipPatternCheck, Fault::ValidationAfterLookup],
            );
            add(
                constraint_rule_id(m, PATTERN_ASCII_WORD),
                format!("{m}: \\w in {} is ASCII", p.source()),
                format!(
                    "{m} values with letters or digits outside ASCII that a Unicode \\w accepts (é, ユ, fullwidth 0, Kelvin sign) get 400 ValidationError."
                ),
                &[Fault::AcceptNonAsciiNames, Fault::SkipPatternCheck],
            );
        }
        if !c.enum_values.is_empty() {
            add(
                constraint_rule_id(m, "enum"),
                format!("{m} outside its enum is refused"),
                format!(
                    "{m} values outside {:?} get 400 ValidationError.",
                    c.enum_values
                ),
                &[],
            );
        }
    }
    rules
}

/// The string members of the operation's input, with their constraints.
pub fn string_members(model: &Model) -> Vec<(String, &StringShape)> {
    let input = model
        .operation(OPERATION)
        .and_then(|o| o.input.clone())
        .unwrap_or_default();
    model
        .members(&input)
        .into_iter()
        .filter_map(|(member, shape, _)| match &shape.kind {
            ShapeKind::String(c) => Some((member.name.clone(), c)),
            _ => None,
        })
        .collect()
}

/// A boundary case: the value and the constraints it breaks.
#[derive(Debug, Clone)]
pub struct BoundaryCase {
    pub request: Request,
    pub value: String,
    pub violations: Vec<Constraint>,
}

/// The deterministic boundary values of a member that break at least one constraint.
pub fn plan_boundaries(
    model: &Model,
    member: &str,
    c: &StringShape,
    prefix: &str,
) -> Vec<BoundaryCase> {
    generate::string_boundaries(c, prefix)
        .into_iter()
        .filter_map(|b| {
            let violations = generate::string_violations(c, &b.value);
            (!violations.is_empty()).then(|| BoundaryCase {
                request: Request::new(model, OPERATION, &[(member, &b.value)]),
                value: b.value,
                violations,
            })
        })
        .collect()
}

/// Whether a response is the `400 ValidationError` every invalid value must get.
pub fn refused_as_invalid(ex: &Exchange) -> bool {
    ex.status() == 400 && ex.code() == Some("ValidationError")
}

/// Judges the answer to an invalid `value` of `member`: each constraint it breaks is a rule; a
/// value with a letter a Unicode `\w` accepts breaks the ASCII-word rule rather than the plain
/// pattern rule. With `wording`, a refusal's message is also compared with IAM's.
pub fn judge_validation(
    model: &Model,
    member: &str,
    ex: &Exchange,
    value: &str,
    violations: &[Constraint],
    wording: bool,
) -> Vec<Verdict> {
    let ok = refused_as_invalid(ex);
    let expected = format!(
        "400 ValidationError ({})",
        violations
            .iter()
            .map(|v| v.kind())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let unicode_word = value
        .chars()
        .any(|ch| generate::UNICODE_WORD_CHARS.iter().any(|(u, _)| *u == ch));
    let mut verdicts: Vec<Verdict> = violations
        .iter()
        .map(|v| {
            let rule = match v {
                Constraint::Pattern { .. } if unicode_word => {
                    constraint_rule_id(member, PATTERN_ASCII_WORD)
                }
                other => constraint_rule_id(member, other.kind()),
            };
            Verdict::check(rule, ok, expected.clone())
        })
        .collect();
    if ok && wording {
        let vs: Vec<_> = validate_input(model, OPERATION, &json!({ member: value }))
            .into_iter()
            .filter(|v| v.constraint.service_side())
            .collect();
        let want = aws_validation_message(model, &vs);
        let got = ex.message().unwrap_or_default();
        verdicts.push(Verdict::check(
            RuleId::InputValidationMessage,
            got == want,
            format!("message {want:?}"),
        ));
    } else if wording {
        verdicts.push(Verdict::unjudged(
            RuleId::InputValidationMessage,
            "no invalid value got 400 ValidationError (the input rules report that), so there \
             was no message to compare with IAM's wording",
        ));
    }
    verdicts
}

/// Valid names longer than any user can have (`userNameType` is shorter than
/// `existingUserNameType`): one past the user limit, the middle, and the input limit.
pub fn plan_long_names(model: &Model, member: &str, c: &StringShape, prefix: &str) -> Vec<Request> {
    let (Some(max), Some(user_max)) = (
        c.max,
        model
            .input_string("CreateUser", "UserName")
            .and_then(|u| u.max),
    ) else {
        return Vec::new();
    };
    if max <= user_max {
        return Vec::new();
    }
    [user_max + 1, (user_max + max) / 2, max]
        .iter()
        .map(|len| {
            let v = generate::valid_of_length(c, prefix, *len as usize);
            Request::new(model, OPERATION, &[(member, &v)])
        })
        .collect()
}

/// A valid name no user can have gets `404 NoSuchEntity`, not a validation error.
pub fn judge_long_name(ex: &Exchange) -> Verdict {
    Verdict::check(
        RuleId::AcceptLongExistingName,
        ex.status() == 404 && ex.code() == Some("NoSuchEntity"),
        "404 NoSuchEntity: the name is valid for CreateAccessKey but no user can have it",
    )
}

#[cfg(feature = "net")]
pub(crate) use drive::drive;

#[cfg(feature = "net")]
mod drive {
    use super::*;
    use crate::contract::runner::{Runner, test_runner};
    use proptest::strategy::{Strategy, ValueTree};

    /// Sends the boundary cases, the long valid names and the generated invalid values.
    pub(crate) async fn drive(r: &Runner<'_>) {
        let model = r.model();
        let wording = r.enabled(RuleId::InputValidationMessage);
        for (member, c) in string_members(model) {
            let cases = plan_boundaries(model, &member, c, r.prefix());
            let reqs = cases.iter().map(|b| b.request.clone()).collect();
            let exchanges = r.send_all(reqs).await;
            for (ex, b) in exchanges.iter().zip(&cases) {
                r.record(
                    ex,
                    judge_validation(model, &member, ex, &b.value, &b.violations, wording),
                );
            }
            if r.enabled(RuleId::AcceptLongExistingName) {
                let reqs = plan_long_names(model, &member, c, r.prefix());
                for ex in r.send_all(reqs).await {
                    r.record(&ex, [judge_long_name(&ex)]);
                }
            }
            if r.enabled(RuleId::InputGeneratedInvalid) {
                generated_invalid(r, &member, c).await;
            }
        }
    }

    /// Property-generated invalid values, sent concurrently; the first failure is shrunk with
    /// proptest's value tree, re-sent to the endpoint at every step.
    async fn generated_invalid(r: &Runner<'_>, member: &str, shape: &StringShape) {
        let model = r.model();
        let strategy = generate::invalid_string(shape);
        let mut runner = test_runner(r.config().seed);
        let mut trees = Vec::new();
        for _ in 0..r.config().cases {
            if let Ok(t) = strategy.new_tree(&mut runner) {
                trees.push(t);
            }
        }
        let reqs = trees
            .iter()
            .map(|t| Request::new(model, OPERATION, &[(member, &t.current())]))
            .collect();
        let exchanges = r.send_all(reqs).await;
        let mut failing = None;
        for (i, ex) in exchanges.iter().enumerate() {
            if refused_as_invalid(ex) {
                r.record(ex, [Verdict::pass(RuleId::InputGeneratedInvalid)]);
            } else if failing.is_none() {
                failing = Some(i);
            }
        }
        let Some(i) = failing else { return };
        let mut tree = trees.swap_remove(i);
        let mut last_fail = exchanges.into_iter().nth(i).expect("index in range");
        let mut steps = 0;
        if tree.simplify() {
            loop {
                steps += 1;
                if steps > 200 || !r.budget_left() {
                    break;
                }
                let v = tree.current();
                let ex = r
                    .send(&Request::new(model, OPERATION, &[(member, &v)]))
                    .await;
                if !refused_as_invalid(&ex) && !generate::string_violations(shape, &v).is_empty() {
                    last_fail = ex;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        r.record(
            &last_fail,
            [Verdict::fail(
                RuleId::InputGeneratedInvalid,
                format!("400 ValidationError (minimal failing value after {steps} shrink steps)"),
            )],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn boundary(value_len: usize) -> BoundaryCase {
        let (member, c) = string_members(model()).remove(0);
        plan_boundaries(model(), &member, c, "icx0")
            .into_iter()
            .find(|b| b.value.chars().count() == value_len)
            .expect("a boundary of that length")
    }

    #[test]
    fn a_validation_error_passes_every_broken_constraint_and_anything_else_fails_them() {
        let b = boundary(129);
        let refused = answer(
            &b.request,
            400,
            &error_body("ValidationError", "Sender", "1 validation error detected"),
        );
        let v = judge_validation(
            model(),
            "UserName",
            &refused,
            &b.value,
            &b.violations,
            false,
        );
        assert!(!v.is_empty());
        assert!(v.iter().all(|v| !v.failed()), "{v:?}");
        let lookup = answer(
            &b.request,
            404,
            &error_body(
                "NoSuchEntity",
                "Sender",
                "The user with name x cannot be found.",
            ),
        );
        let v = judge_validation(model(), "UserName", &lookup, &b.value, &b.violations, false);
        assert!(v.iter().all(Verdict::failed), "{v:?}");
        assert!(
            v.iter()
                .any(|v| v.rule.as_str() == "input.user-name.length-max")
        );
    }

    #[test]
    fn unicode_letters_are_judged_by_the_ascii_word_rule() {
        let req = Request::new(model(), OPERATION, &[("UserName", "café")]);
        let c = string_members(model()).remove(0).1;
        let violations = generate::string_violations(c, "café");
        let ex = answer(&req, 200, "");
        let v = judge_validation(model(), "UserName", &ex, "café", &violations, false);
        assert!(
            v.iter()
                .any(|v| v.rule.as_str() == "input.user-name.pattern-ascii-word" && v.failed())
        );
        assert!(
            !v.iter()
                .any(|v| v.rule.as_str() == "input.user-name.pattern")
        );
    }

    #[test]
    fn the_wording_is_judged_only_for_refusals_and_only_when_asked() {
        let b = boundary(129);
        let ex = answer(
            &b.request,
            400,
            &error_body("ValidationError", "Sender", "bad"),
        );
        let v = judge_validation(model(), "UserName", &ex, &b.value, &b.violations, true);
        assert_eq!(passes(&v, RuleId::InputValidationMessage), Some(false));
        let v = judge_validation(model(), "UserName", &ex, &b.value, &b.violations, false);
        assert_eq!(passes(&v, RuleId::InputValidationMessage), None);
        let want = "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128";
        let ex = answer(
            &b.request,
            400,
            &error_body("ValidationError", "Sender", want),
        );
        let v = judge_validation(model(), "UserName", &ex, &b.value, &b.violations, true);
        assert_eq!(passes(&v, RuleId::InputValidationMessage), Some(true));
        // No refusal, no message: unjudged, and the reason says so.
        let ex = answer(&b.request, 404, &error_body("NoSuchEntity", "Sender", "x"));
        let v = judge_validation(model(), "UserName", &ex, &b.value, &b.violations, true);
        assert!(
            matches!(judgement(&v, RuleId::InputValidationMessage), Some(super::super::Judgement::Unjudged(why)) if why.contains("no message")),
            "{v:?}"
        );
    }

    #[test]
    fn long_valid_names_want_no_such_entity() {
        let (member, c) = string_members(model()).remove(0);
        let reqs = plan_long_names(model(), &member, c, "icx0");
        assert_eq!(reqs.len(), 3);
        let ok = answer(&reqs[0], 404, &error_body("NoSuchEntity", "Sender", "x"));
        assert!(!judge_long_name(&ok).failed());
        let bad = answer(&reqs[0], 400, &error_body("ValidationError", "Sender", "x"));
        assert!(judge_long_name(&bad).failed());
    }
}

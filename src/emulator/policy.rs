//! Identity-based policy documents: parsed once (at PutUserPolicy) and evaluated, purely, for the
//! `iam:` action a user asks for on a user resource.
//!
//! What it evaluates: `Version` (`2012-10-17`, or `2008-10-17`, the default, in which policy
//! variables are plain text), `Statement` (one object or a list), `Effect` Allow/Deny, `Action`
//! and `NotAction`, `Resource` and `NotResource` (a string or a list of them), the wildcards `*`
//! and `?`, action names matched case-insensitively and resources case-sensitively, and the
//! `${aws:username}` variable (plus the `${*}`, `${?}` and `${$}` escapes) in resources. An
//! explicit Deny wins over any Allow; without an Allow the answer is an implicit deny. What it
//! does not evaluate: `Condition` (a document with one is refused with a message that says so,
//! rather than evaluated wrongly), permissions boundaries, groups, managed policies, service
//! control policies and resource policies. `Principal` is refused as AWS refuses it in an
//! identity policy.
//!
//! Must not: do IO, know about HTTP, the store or who the bootstrap user is.

use serde_json::Value;

/// The policy language version in which variables are substituted.
pub const VERSION_2012: &str = "2012-10-17";
/// The older version (and the default without a `Version`): `${...}` is plain text.
pub const VERSION_2008: &str = "2008-10-17";

/// A parsed policy document: its statements, ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    action: Target,
    resource: Target,
}

/// A statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` (or `Resource`/`NotResource`): the patterns and whether they are the
/// negated element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    not: bool,
    patterns: Vec<Vec<Token>>,
}

/// One piece of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Lit(char),
    /// `*`: any run of characters, the empty one included.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${aws:username}`: the caller's user name.
    UserName,
    /// A variable the evaluator cannot resolve: the pattern matches nothing (as AWS treats a
    /// variable without a value).
    Unresolvable,
}

/// What the policies say about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A statement denies it.
    ExplicitDeny,
}

/// The request being authorized: `action` with its service prefix (`iam:CreateAccessKey`), the
/// resource's ARN, and the caller's user name (the value of `${aws:username}`).
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub username: &'a str,
}

/// Deliberate evaluation bugs, one per emulator fault, so the `authz.` rules can be shown to
/// fail. All off is the correct evaluator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// An Allow wins over an explicit Deny (`deny-not-winning`).
    pub allow_beats_deny: bool,
    /// `NotAction` is read as `Action` (`ignore-not-action`).
    pub not_action_as_action: bool,
    /// `${aws:username}` stays literal text (`no-username-variable`).
    pub no_username_variable: bool,
    /// No matching statement means allow (`implicit-allow`).
    pub implicit_allow: bool,
    /// Action names match case-sensitively (`case-sensitive-actions`).
    pub case_sensitive_actions: bool,
}

/// Why a document was refused: the `MalformedPolicyDocument` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn malformed(msg: impl Into<String>) -> Malformed {
    Malformed(msg.into())
}

impl PolicyDocument {
    /// Parses a policy document. Every refusal names what is wrong; the wording of the first
    /// three follows AWS's answers ("Syntax errors in policy.", "Policy document should not
    /// specify a principal.", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb,
    /// ec2, etc.").
    pub fn parse(text: &str) -> Result<PolicyDocument, Malformed> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| malformed("Syntax errors in policy."))?;
        let Value::Object(top) = value else {
            return Err(malformed("Syntax errors in policy."));
        };
        for k in top.keys() {
            if !["Version", "Id", "Statement"].contains(&k.as_str()) {
                return Err(malformed(format!(
                    "Syntax errors in policy: unknown element {k:?} (a policy has Version, Id and Statement)."
                )));
            }
        }
        let version = match top.get("Version") {
            None => VERSION_2008,
            Some(Value::String(v)) if v == VERSION_2012 => VERSION_2012,
            Some(Value::String(v)) if v == VERSION_2008 => VERSION_2008,
            Some(_) => {
                return Err(malformed(format!(
                    "The policy failed legacy parsing: Version must be {VERSION_2012} or {VERSION_2008}."
                )));
            }
        };
        let statements = match top.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(_) => {
                return Err(malformed(
                    "Syntax errors in policy: Statement must be an object or a non-empty list of objects.",
                ));
            }
            None => return Err(malformed("Syntax errors in policy: no Statement.")),
        };
        let statements = statements
            .into_iter()
            .map(|s| Statement::parse(s, version == VERSION_2012))
            .collect::<Result<_, _>>()?;
        Ok(PolicyDocument { statements })
    }

    /// How many statements the document has.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the document has no statement (never true of a parsed one).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

impl Statement {
    fn parse(v: &Value, variables: bool) -> Result<Statement, Malformed> {
        let Value::Object(st) = v else {
            return Err(malformed(
                "Syntax errors in policy: a statement must be an object.",
            ));
        };
        if st.contains_key("Principal") || st.contains_key("NotPrincipal") {
            return Err(malformed("Policy document should not specify a principal."));
        }
        if st.contains_key("Condition") {
            return Err(malformed(
                "Condition is not evaluated by this emulator (it evaluates Effect, Action, \
                 NotAction, Resource and NotResource only), so a policy with one is refused \
                 rather than evaluated wrongly.",
            ));
        }
        for k in st.keys() {
            if ![
                "Sid",
                "Effect",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
            ]
            .contains(&k.as_str())
            {
                return Err(malformed(format!(
                    "Syntax errors in policy: unknown statement element {k:?}."
                )));
            }
        }
        let effect = match st.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Effect::Allow,
            Some(Value::String(e)) if e == "Deny" => Effect::Deny,
            Some(_) => {
                return Err(malformed(
                    "Invalid effect: Effect must be \"Allow\" or \"Deny\".",
                ));
            }
            None => return Err(malformed("Missing required field Effect.")),
        };
        let action = Target::parse(st, "Action", "NotAction", "actions", |p| {
            if p != "*" && !p.contains(':') {
                return Err(malformed(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                ));
            }
            Ok(tokens(p, false))
        })?;
        let resource = Target::parse(st, "Resource", "NotResource", "resources", |p| {
            if p != "*" && !p.starts_with("arn:") {
                return Err(malformed(format!(
                    "Resource {p} must be in ARN format or \"*\"."
                )));
            }
            Ok(tokens(p, variables))
        })?;
        Ok(Statement {
            effect,
            action,
            resource,
        })
    }

    fn applies(&self, cx: &Context<'_>, q: Quirks) -> bool {
        let action_hit = self.action.patterns.iter().any(|p| {
            if q.case_sensitive_actions {
                glob(
                    &resolve(p, cx.username, q),
                    &cx.action.chars().collect::<Vec<_>>(),
                )
            } else {
                let p: Vec<Token> = p
                    .iter()
                    .map(|t| match t {
                        Token::Lit(c) => Token::Lit(c.to_ascii_lowercase()),
                        t => *t,
                    })
                    .collect();
                let action: Vec<char> = cx.action.chars().map(|c| c.to_ascii_lowercase()).collect();
                glob(&resolve(&p, cx.username, q), &action)
            }
        });
        let negate_action = self.action.not && !q.not_action_as_action;
        let resource: Vec<char> = cx.resource.chars().collect();
        let resource_hit = self
            .resource
            .patterns
            .iter()
            .any(|p| glob(&resolve(p, cx.username, q), &resource));
        (action_hit != negate_action) && (resource_hit != self.resource.not)
    }
}

impl Target {
    fn parse(
        st: &serde_json::Map<String, Value>,
        plain: &str,
        not: &str,
        what: &str,
        pattern: impl Fn(&str) -> Result<Vec<Token>, Malformed>,
    ) -> Result<Target, Malformed> {
        let (negated, v) = match (st.get(plain), st.get(not)) {
            (Some(_), Some(_)) => {
                return Err(malformed(format!(
                    "Syntax errors in policy: a statement has either {plain} or {not}, not both."
                )));
            }
            (Some(v), None) => (false, v),
            (None, Some(v)) => (true, v),
            (None, None) => {
                return Err(malformed(format!("Policy statement must contain {what}.")));
            }
        };
        let texts: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) if !list.is_empty() => list
                .iter()
                .map(|x| {
                    x.as_str().ok_or_else(|| {
                        malformed(format!(
                            "Syntax errors in policy: {plain} entries must be strings."
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(malformed(format!(
                    "Syntax errors in policy: {plain} must be a string or a non-empty list of strings."
                )));
            }
        };
        Ok(Target {
            not: negated,
            patterns: texts.into_iter().map(pattern).collect::<Result<_, _>>()?,
        })
    }
}

/// Splits a pattern into tokens; with `variables`, `${...}` is a policy variable (version
/// 2012-10-17), otherwise plain text.
fn tokens(p: &str, variables: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = p;
    while let Some(c) = rest.chars().next() {
        if variables
            && rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            let name = &rest[2..end];
            out.push(match name {
                "*" => Token::Lit('*'),
                "?" => Token::Lit('?'),
                "$" => Token::Lit('$'),
                // Condition keys, and so variable names, are case-insensitive.
                n if n.eq_ignore_ascii_case("aws:username") => Token::UserName,
                _ => Token::Unresolvable,
            });
            rest = &rest[end + 1..];
            continue;
        }
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            c => Token::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The pattern with `${aws:username}` replaced by the caller's name (kept as literal text
/// under the `no-username-variable` quirk), or `None` when it holds an unresolvable variable.
fn resolve(p: &[Token], username: &str, q: Quirks) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(p.len() + username.len());
    for t in p {
        match t {
            Token::UserName if q.no_username_variable => {
                out.extend("${aws:username}".chars().map(Token::Lit));
            }
            Token::UserName => out.extend(username.chars().map(Token::Lit)),
            Token::Unresolvable => return None,
            t => out.push(*t),
        }
    }
    Some(out)
}

/// Whether `p` (with `*` and `?`) matches the whole of `s`. Hand-written rather than a glob
/// crate's: AWS's `${*}` and `${?}` make literal stars and question marks, which the glob crates
/// on crates.io (wildmatch, glob) cannot express without their own escape syntax.
fn glob(p: &Option<Vec<Token>>, s: &[char]) -> bool {
    let Some(p) = p else { return false };
    let (mut pi, mut si) = (0, 0);
    // The last star seen and the input position it was tried at: on a mismatch, that star
    // takes one more character. Linear in |p|·|s| at worst, no recursion.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(Token::Star) => {
                star = Some((pi, si));
                pi += 1;
                continue;
            }
            Some(Token::One) => {
                pi += 1;
                si += 1;
                continue;
            }
            Some(Token::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|t| *t == Token::Star)
}

/// Evaluates `policies` (every inline policy of the caller) for one request: an explicit Deny
/// wins, then any Allow, and otherwise the request is implicitly denied.
pub fn evaluate<'p>(
    policies: impl IntoIterator<Item = &'p PolicyDocument>,
    cx: &Context<'_>,
    q: Quirks,
) -> Decision {
    let mut allowed = false;
    let mut denied = false;
    for st in policies.into_iter().flat_map(|d| &d.statements) {
        if !st.applies(cx, q) {
            continue;
        }
        match st.effect {
            Effect::Deny if !q.allow_beats_deny => return Decision::ExplicitDeny,
            Effect::Deny => denied = true,
            Effect::Allow => allowed = true,
        }
    }
    if allowed || (!denied && q.implicit_allow) {
        Decision::Allow
    } else if denied {
        Decision::ExplicitDeny
    } else {
        Decision::ImplicitDeny
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ME: &str = "arn:aws:iam::123456789012:user/alice";
    const OTHER: &str = "arn:aws:iam::123456789012:user/bob";

    /// The self-manage policy from AWS's "Permissions required to manage access keys" page.
    const SELF_MANAGE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ManageOwnAccessKeys","Effect":"Allow","Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed","iam:GetUser","iam:ListAccessKeys","iam:UpdateAccessKey","iam:TagUser"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;

    fn decide(docs: &[&str], action: &str, resource: &str, q: Quirks) -> Decision {
        let parsed: Vec<PolicyDocument> = docs
            .iter()
            .map(|d| PolicyDocument::parse(d).unwrap_or_else(|e| panic!("{d}: {e}")))
            .collect();
        evaluate(
            &parsed,
            &Context {
                action,
                resource,
                username: "alice",
            },
            q,
        )
    }

    fn stmt(effect: &str, action: &str, resource: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"{effect}",{action},{resource}}}}}"#
        )
    }

    /// Cases as data: policies, action, resource, expected decision.
    #[test]
    fn evaluation_cases() {
        use Decision::*;
        let star = stmt("Allow", r#""Action":"iam:*""#, r#""Resource":"*""#);
        let deny_create = stmt(
            "Deny",
            r#""Action":"iam:createaccesskey""#,
            r#""Resource":"*""#,
        );
        let wild = stmt(
            "Allow",
            r#""Action":"iam:*AccessKey*""#,
            r#""Resource":"arn:aws:iam::*:user/b?b""#,
        );
        let not_action = stmt(
            "Allow",
            r#""NotAction":["iam:CreateAccessKey"]"#,
            r#""Resource":"*""#,
        );
        let not_resource = stmt(
            "Allow",
            r#""Action":"iam:*""#,
            r#""NotResource":"arn:aws:iam::*:user/${aws:username}""#,
        );
        let old_version = r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}}"#;
        let other_var = stmt(
            "Allow",
            r#""Action":"iam:*""#,
            r#""Resource":"arn:aws:iam::*:user/${aws:userid}""#,
        );
        let literal_star = stmt(
            "Allow",
            r#""Action":"iam:*""#,
            r#""Resource":"arn:aws:iam::*:user/${*}""#,
        );
        let cases: Vec<(Vec<&str>, &str, &str, Decision)> = vec![
            (vec![], "iam:CreateAccessKey", ME, ImplicitDeny),
            (vec![SELF_MANAGE], "iam:CreateAccessKey", ME, Allow),
            (vec![SELF_MANAGE], "iam:UpdateAccessKey", ME, Allow),
            (
                vec![SELF_MANAGE],
                "iam:CreateAccessKey",
                OTHER,
                ImplicitDeny,
            ),
            (vec![SELF_MANAGE], "iam:CreateUser", ME, ImplicitDeny),
            (vec![SELF_MANAGE], "IAM:createAccessKey", ME, Allow),
            (vec![&star], "iam:DeleteAccessKey", OTHER, Allow),
            (vec![&star], "s3:GetObject", OTHER, ImplicitDeny),
            (
                vec![&star, &deny_create],
                "iam:CreateAccessKey",
                ME,
                ExplicitDeny,
            ),
            (
                vec![&deny_create, &star],
                "iam:CreateAccessKey",
                OTHER,
                ExplicitDeny,
            ),
            (vec![&star, &deny_create], "iam:ListAccessKeys", ME, Allow),
            (vec![&wild], "iam:ListAccessKeys", OTHER, Allow),
            (vec![&wild], "iam:CreateAccessKey", ME, ImplicitDeny),
            (vec![&wild], "iam:GetUser", OTHER, ImplicitDeny),
            (vec![&wild], "iam:AccessKey", OTHER, Allow),
            (vec![&not_action], "iam:CreateAccessKey", ME, ImplicitDeny),
            (vec![&not_action], "iam:ListAccessKeys", OTHER, Allow),
            (vec![&not_resource], "iam:ListAccessKeys", ME, ImplicitDeny),
            (vec![&not_resource], "iam:ListAccessKeys", OTHER, Allow),
            // In 2008-10-17 a variable is plain text.
            (vec![old_version], "iam:ListAccessKeys", ME, ImplicitDeny),
            (vec![&other_var], "iam:ListAccessKeys", ME, ImplicitDeny),
            (
                vec![&literal_star],
                "iam:ListAccessKeys",
                "arn:aws:iam::1:user/*",
                Allow,
            ),
            (vec![&literal_star], "iam:ListAccessKeys", ME, ImplicitDeny),
        ];
        for (docs, action, resource, want) in cases {
            assert_eq!(
                decide(&docs, action, resource, Quirks::default()),
                want,
                "{docs:?} {action} {resource}"
            );
        }
    }

    /// Each quirk changes the decision of the case it stands for, and only the quirk does.
    #[test]
    fn quirks_break_what_they_name() {
        use Decision::*;
        let star = stmt("Allow", r#""Action":"iam:*""#, r#""Resource":"*""#);
        let deny_create = stmt(
            "Deny",
            r#""Action":"iam:createaccesskey""#,
            r#""Resource":"*""#,
        );
        let not_action = stmt(
            "Allow",
            r#""NotAction":"iam:CreateAccessKey""#,
            r#""Resource":"*""#,
        );
        let q = |f: fn(&mut Quirks)| {
            let mut q = Quirks::default();
            f(&mut q);
            q
        };
        let cases: Vec<(Vec<&str>, &str, Quirks, Decision)> = vec![
            (
                vec![&star, &deny_create],
                "iam:CreateAccessKey",
                q(|q| q.allow_beats_deny = true),
                Allow,
            ),
            (
                vec![&star, &deny_create],
                "iam:CreateAccessKey",
                q(|q| q.case_sensitive_actions = true),
                Allow,
            ),
            (
                vec![&not_action],
                "iam:CreateAccessKey",
                q(|q| q.not_action_as_action = true),
                Allow,
            ),
            (
                vec![SELF_MANAGE],
                "iam:CreateAccessKey",
                q(|q| q.no_username_variable = true),
                ImplicitDeny,
            ),
            (
                vec![],
                "iam:CreateAccessKey",
                q(|q| q.implicit_allow = true),
                Allow,
            ),
        ];
        for (docs, action, quirks, want) in cases {
            assert_ne!(decide(&docs, action, ME, Quirks::default()), want);
            assert_eq!(decide(&docs, action, ME, quirks), want, "{quirks:?}");
        }
    }

    #[test]
    fn malformed_documents_are_refused_with_a_clear_message() {
        let cases = [
            ("not json", "Syntax errors in policy."),
            ("[]", "Syntax errors in policy."),
            (r#"{"Version":"2012-10-17"}"#, "no Statement"),
            (
                r#"{"Version":"2012-10-18","Statement":[]}"#,
                "failed legacy parsing",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*","Principal":"*"}}"#,
                "should not specify a principal",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*","Condition":{}}}"#,
                "Condition is not evaluated",
            ),
            (
                r#"{"Statement":{"Action":"iam:*","Resource":"*"}}"#,
                "Missing required field Effect",
            ),
            (
                r#"{"Statement":{"Effect":"allow","Action":"iam:*","Resource":"*"}}"#,
                "Invalid effect",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                "must contain actions",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*"}}"#,
                "must contain resources",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"CreateAccessKey","Resource":"*"}}"#,
                "prefaced by a vendor",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"user/alice"}}"#,
                "must be in ARN format",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","NotAction":"iam:x","Resource":"*"}}"#,
                "not both",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}"#,
                "must be strings",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"},"Extra":1}"#,
                "unknown element",
            ),
        ];
        for (doc, want) in cases {
            let err = PolicyDocument::parse(doc).expect_err(doc);
            assert!(err.0.contains(want), "{doc}: {err}");
        }
        assert_eq!(PolicyDocument::parse(SELF_MANAGE).unwrap().len(), 1);
    }

    fn arb_statement() -> impl Strategy<Value = String> {
        let action = prop::sample::select(vec![
            "iam:*",
            "iam:CreateAccessKey",
            "iam:*AccessKey*",
            "iam:List*",
            "iam:?etUser",
            "*",
        ]);
        let resource = prop::sample::select(vec![
            "*",
            "arn:aws:iam::*:user/${aws:username}",
            "arn:aws:iam::*:user/bob",
            "arn:aws:iam::123456789012:user/*",
        ]);
        (
            prop::bool::ANY,
            prop::bool::ANY,
            prop::bool::ANY,
            action,
            resource,
        )
            .prop_map(|(allow, not_a, not_r, a, r)| {
                format!(
                    r#"{{"Effect":"{}","{}":"{a}","{}":"{r}"}}"#,
                    if allow { "Allow" } else { "Deny" },
                    if not_a { "NotAction" } else { "Action" },
                    if not_r { "NotResource" } else { "Resource" },
                )
            })
    }

    fn doc(statements: &[String]) -> PolicyDocument {
        PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        ))
        .unwrap()
    }

    fn arb_request() -> impl Strategy<Value = (&'static str, &'static str)> {
        (
            prop::sample::select(vec![
                "iam:CreateAccessKey",
                "iam:ListAccessKeys",
                "iam:GetUser",
                "iam:UpdateAccessKey",
            ]),
            prop::sample::select(vec![ME, OTHER]),
        )
    }

    proptest! {
        /// Adding a Deny statement never turns a deny into an allow; adding an Allow never
        /// turns an allow into a deny; and the order of statements does not matter.
        #[test]
        fn denies_are_monotonic_and_order_does_not_matter(
            base in prop::collection::vec(arb_statement(), 0..5),
            extra in arb_statement(),
            (action, resource) in arb_request(),
        ) {
            let cx = Context { action, resource, username: "alice" };
            let q = Quirks::default();
            let eval = |sts: &[String]| {
                if sts.is_empty() {
                    evaluate(std::iter::empty(), &cx, q)
                } else {
                    evaluate([&doc(sts)], &cx, q)
                }
            };
            let before = eval(&base);
            let mut with = base.clone();
            with.push(extra.clone());
            let after = eval(&with);
            if extra.contains("\"Deny\"") && before != Decision::Allow {
                prop_assert_ne!(after, Decision::Allow);
            }
            if extra.contains("\"Allow\"") && before == Decision::Allow {
                prop_assert_eq!(after, Decision::Allow);
            }
            if before == Decision::ExplicitDeny {
                prop_assert_eq!(after, Decision::ExplicitDeny);
            }
            let mut reversed = with.clone();
            reversed.reverse();
            prop_assert_eq!(eval(&reversed), after);
            // Split over two documents, the statements decide the same.
            if with.len() >= 2 {
                let (a, b) = with.split_at(1);
                prop_assert_eq!(evaluate([&doc(a), &doc(b)], &cx, q), after);
            }
        }

        /// Any text either parses or is refused with a message; never a panic.
        #[test]
        fn any_text_parses_or_is_refused(text in ".{0,200}") {
            if let Err(e) = PolicyDocument::parse(&text) {
                prop_assert!(!e.0.is_empty());
            }
        }

        /// The glob agrees with a regex built from the same pattern.
        #[test]
        fn glob_agrees_with_regex(p in "[ab*?]{0,8}", s in "[ab]{0,10}") {
            let re = format!(
                "^{}$",
                p.chars()
                    .map(|c| match c { '*' => ".*".to_owned(), '?' => ".".to_owned(), c => c.to_string() })
                    .collect::<String>()
            );
            let want = regex::Regex::new(&re).unwrap().is_match(&s);
            let chars: Vec<char> = s.chars().collect();
            prop_assert_eq!(glob(&Some(tokens(&p, false)), &chars), want);
        }
    }
}

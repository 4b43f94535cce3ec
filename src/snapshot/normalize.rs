//! Normalisation of one HTTP response into snapshot text: pure, no IO, never panics.
//!
//! The rules (also in the [`crate::snapshot`] module doc and the README):
//! - The status line is kept (`status: 404`). Of the headers only two are kept: the media type
//!   of `content-type` (lower case, parameters such as `charset` dropped) and whether an
//!   `x-amzn-RequestId` header is present (its value shape-checked like a body RequestId).
//! - An XML body is parsed and printed again canonically: the XML declaration, comments and
//!   processing instructions are dropped, whitespace-only text between elements is dropped,
//!   text is trimmed, one element per line indented by two spaces, an element holding only text
//!   on one line, `<A></A>` and `<A/>` both printed as `<A/>`. Element order is kept exactly as
//!   received (order is part of what a client sees); attributes, namespace declarations
//!   included, are kept and sorted by name. Text is re-escaped (`&amp;`, `&lt;`, `&gt;`).
//! - A body that is not well-formed XML is kept as text (at most 4096 characters), with the
//!   parse error named, so a non-XML answer still shows up in a diff.
//! - Run-unique strings the caller registers (user names, paths, created key IDs) are replaced
//!   by their placeholders everywhere, longest first.
//! - Dynamic values are replaced by placeholders only after their shape is checked:
//!   `AccessKeyId` must match `^AKIA[A-Z2-7]{16}$`, `SecretAccessKey` `^[A-Za-z0-9+/]{40}$`,
//!   `CreateDate`/`LastUsedDate` ISO 8601 date-time, `RequestId` (and the header) a UUID,
//!   `UserId` `^AIDA[A-Z2-7]{16,17}$`, `Account` twelve digits; the account in any
//!   `arn:aws:iam::` or `arn:aws:sts::` ARN becomes `[account]`; a date in ISO 8601 basic format
//!   in text (`20220127T001427Z`, as AWS's clock-skew messages quote the request's and the
//!   server's time) becomes `[amz-date]`. A value of the wrong shape
//!   becomes a placeholder that says so (`[AccessKeyId: wrong shape, 12 characters]`) and is
//!   listed in [`Normalized::violations`]; the value itself never appears, so a malformed secret
//!   cannot leak through its error message either.
//! - As a last guard, any remaining run of 40 characters of `[A-Za-z0-9+/]` that is not AWS's
//!   documented example secret is replaced by `[secret?]`.

use regex::Regex;
use std::fmt::Write;
use std::sync::LazyLock;

/// Bodies are cut to this many characters when they are not XML.
const MAX_RAW_CHARS: usize = 4096;
/// The one secret that may appear in text.
const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

fn re(s: &str) -> Regex {
    Regex::new(s).expect("the normaliser's patterns are valid")
}

static ACCESS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^AKIA[A-Z2-7]{16}$"));
static SECRET: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9+/]{40}$"));
static DATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$"));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
});
static USER_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^AIDA[A-Z2-7]{16,17}$"));
static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{12}$"));
static ARN_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| re(r"arn:aws:(iam|sts)::\d{12}:"));
static SECRET_RUN: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z0-9+/]{40,}"));
static AMZ_DATE: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{8}T\d{6}Z\b"));

/// A dynamic value whose shape was wrong. Says what was expected and what was found, in words
/// that never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeViolation {
    /// The element (or header) that held the value.
    pub element: String,
    /// The shape it should have had.
    pub expected: &'static str,
    /// A description of what it had instead (length and character classes).
    pub found: String,
}

impl std::fmt::Display for ShapeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} should match {} but has {}",
            self.element, self.expected, self.found
        )
    }
}

/// A normalised response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The snapshot text (without the `#` header lines a snapshot file adds).
    pub text: String,
    /// Dynamic values of the wrong shape, in document order.
    pub violations: Vec<ShapeViolation>,
}

/// What a shape-checked element becomes.
struct Rule {
    element: &'static str,
    pattern: &'static LazyLock<Regex>,
    expected: &'static str,
    placeholder: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        element: "AccessKeyId",
        pattern: &ACCESS_KEY_ID,
        expected: "^AKIA[A-Z2-7]{16}$",
        placeholder: "AccessKeyId",
    },
    Rule {
        element: "SecretAccessKey",
        pattern: &SECRET,
        expected: "^[A-Za-z0-9+/]{40}$",
        placeholder: "secret",
    },
    Rule {
        element: "CreateDate",
        pattern: &DATE,
        expected: "an ISO 8601 date-time",
        placeholder: "date",
    },
    Rule {
        element: "LastUsedDate",
        pattern: &DATE,
        expected: "an ISO 8601 date-time",
        placeholder: "date",
    },
    Rule {
        element: "RequestId",
        pattern: &UUID,
        expected: "a UUID",
        placeholder: "request-id",
    },
    Rule {
        element: "UserId",
        pattern: &USER_ID,
        expected: "^AIDA[A-Z2-7]{16,17}$",
        placeholder: "UserId",
    },
    Rule {
        element: "Account",
        pattern: &ACCOUNT,
        expected: "twelve digits",
        placeholder: "account",
    },
];

/// Describes a value without repeating it: its length and which character classes it uses.
fn describe(value: &str) -> String {
    let n = value.chars().count();
    let mut classes = Vec::new();
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        classes.push("A-Z");
    }
    if value.chars().any(|c| c.is_ascii_lowercase()) {
        classes.push("a-z");
    }
    if value.chars().any(|c| c.is_ascii_digit()) {
        classes.push("0-9");
    }
    if value
        .chars()
        .any(|c| !c.is_ascii_alphanumeric() && c.is_ascii_graphic())
    {
        classes.push("punctuation");
    }
    if value.chars().any(|c| c.is_whitespace()) {
        classes.push("space");
    }
    if !value.is_ascii() {
        classes.push("non-ASCII");
    }
    if n == 0 {
        "0 characters".into()
    } else {
        format!("{n} characters of {}", classes.join(" "))
    }
}

/// Normalises responses; holds the run-unique replacements of one run.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    /// (actual, placeholder), kept sorted longest actual first so that a name that contains
    /// another is replaced whole.
    replacements: Vec<(String, String)>,
}

impl Normalizer {
    pub fn new() -> Normalizer {
        Normalizer::default()
    }

    /// Replaces every occurrence of `actual` by `placeholder` (written as given; by convention
    /// `[user]`). Empty strings are ignored.
    pub fn replace(&mut self, actual: impl Into<String>, placeholder: impl Into<String>) {
        let actual = actual.into();
        if actual.is_empty() {
            return;
        }
        let placeholder = placeholder.into();
        self.replacements.retain(|(a, _)| *a != actual);
        self.replacements.push((actual, placeholder));
        self.replacements
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }

    /// Applies only the run-unique replacements.
    pub fn replace_names(&self, text: &str) -> String {
        let mut s = text.to_owned();
        for (actual, placeholder) in &self.replacements {
            if s.contains(actual.as_str()) {
                s = s.replace(actual.as_str(), placeholder);
            }
        }
        s
    }

    /// Applies the run-unique replacements, the ARN account rule and the secret guard to free
    /// text.
    pub fn scrub(&self, text: &str) -> String {
        let s = self.replace_names(text);
        let s = ARN_ACCOUNT.replace_all(&s, "arn:aws:$1::[account]:");
        let s = AMZ_DATE.replace_all(&s, "[amz-date]");
        SECRET_RUN
            .replace_all(&s, |c: &regex::Captures<'_>| {
                if &c[0] == EXAMPLE_SECRET {
                    c[0].to_owned()
                } else {
                    "[secret?]".to_owned()
                }
            })
            .into_owned()
    }

    /// Normalises one response.
    pub fn normalize(&self, status: u16, headers: &[(String, String)], body: &[u8]) -> Normalized {
        let mut violations = Vec::new();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let mut text = format!("status: {status}\n");
        let media = header("content-type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_else(|| "(none)".into());
        let _ = writeln!(text, "content-type: {}", self.scrub(&media));
        let rid = match header("x-amzn-requestid") {
            Some(v) => self.check("x-amzn-RequestId", v, &RULES[4], &mut violations),
            None => "(none)".into(),
        };
        let _ = writeln!(text, "x-amzn-requestid: {rid}");
        text.push('\n');
        if body.is_empty() {
            text.push_str("(empty body)\n");
            return Normalized { text, violations };
        }
        match std::str::from_utf8(body)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(parse)
        {
            Ok(root) => self.print(&root, 0, &mut text, &mut violations),
            Err(reason) => {
                let raw = String::from_utf8_lossy(body);
                let total = raw.chars().count();
                let kept: String = raw.chars().take(MAX_RAW_CHARS).collect();
                let _ = writeln!(text, "(body is not XML: {})", self.scrub(&reason));
                for line in self.scrub(&kept).lines() {
                    let _ = writeln!(text, "{}", line.trim_end());
                }
                if total > MAX_RAW_CHARS {
                    let _ = writeln!(text, "(... {} more characters)", total - MAX_RAW_CHARS);
                }
            }
        }
        Normalized { text, violations }
    }

    fn check(
        &self,
        element: &str,
        value: &str,
        rule: &Rule,
        violations: &mut Vec<ShapeViolation>,
    ) -> String {
        if rule.pattern.is_match(value) {
            format!("[{}]", rule.placeholder)
        } else {
            let found = describe(value);
            let placeholder = format!("[{}: wrong shape, {found}]", rule.placeholder);
            violations.push(ShapeViolation {
                element: element.to_owned(),
                expected: rule.expected,
                found,
            });
            placeholder
        }
    }

    fn print(&self, el: &Element, depth: usize, out: &mut String, v: &mut Vec<ShapeViolation>) {
        let indent = "  ".repeat(depth);
        let mut attrs = el.attributes.clone();
        attrs.sort();
        let mut open = format!("<{}", el.qname);
        for (k, val) in &attrs {
            let _ = write!(open, " {k}=\"{}\"", escape(&self.scrub(val), true));
        }
        let text = el.text.trim();
        let local = el.qname.rsplit(':').next().unwrap_or(&el.qname);
        if el.children.is_empty() {
            if text.is_empty() {
                let _ = writeln!(out, "{indent}{open}/>");
                return;
            }
            let shown = match RULES.iter().find(|r| r.element == local) {
                Some(rule) => self.check(local, text, rule, v),
                None => escape(&self.scrub(text), false),
            };
            let _ = writeln!(out, "{indent}{open}>{shown}</{}>", el.qname);
            return;
        }
        let _ = writeln!(out, "{indent}{open}>");
        if !text.is_empty() {
            let _ = writeln!(out, "{indent}  {}", escape(&self.scrub(text), false));
        }
        for c in &el.children {
            self.print(c, depth + 1, out, v);
        }
        let _ = writeln!(out, "{indent}</{}>", el.qname);
    }
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// The crate's one XML reader; snapshots print the qualified names it keeps.
fn parse(text: &str) -> Result<Element, String> {
    crate::wire::parse_xml(text).map(|(root, _)| root)
}

type Element = crate::wire::XmlElement;

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ct: &str) -> Vec<(String, String)> {
        vec![("Content-Type".into(), ct.into())]
    }

    #[test]
    fn canonical_xml_with_checked_placeholders() {
        let mut n = Normalizer::new();
        n.replace("snapabc123a", "[user]");
        // The fake secret is built at run time so that no secret-shaped literal sits in the
        // source next to the word SecretAccessKey.
        let body = format!(
            "<?xml version=\"1.0\"?>\n<R xmlns=\"ns\" b=\"2\">\n  <A><UserName>snapabc123a</UserName><AccessKeyId>AKIAAAAAAAAAAAAAAAAA</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><CreateDate>2024-01-02T03:04:05Z</CreateDate><E></E><M>a &amp; b</M></A><RequestId>0f8fad5b-d9cb-469f-a165-70867728950e</RequestId></R>",
            "abcdefghij".repeat(4)
        );
        let out = n.normalize(200, &h("text/xml; charset=utf-8"), body.as_bytes());
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        assert_eq!(
            out.text,
            "status: 200\ncontent-type: text/xml\nx-amzn-requestid: (none)\n\n<R b=\"2\" xmlns=\"ns\">\n  <A>\n    <UserName>[user]</UserName>\n    <AccessKeyId>[AccessKeyId]</AccessKeyId>\n    <SecretAccessKey>[secret]</SecretAccessKey>\n    <CreateDate>[date]</CreateDate>\n    <E/>\n    <M>a &amp; b</M>\n  </A>\n  <RequestId>[request-id]</RequestId>\n</R>\n"
        );
    }

    #[test]
    fn wrong_shapes_are_reported_without_the_value() {
        let n = Normalizer::new();
        let body = "<R><SecretAccessKey>short-secret-value</SecretAccessKey><AccessKeyId>AKIB1234</AccessKeyId><CreateDate>1700000000</CreateDate></R>";
        let out = n.normalize(200, &[], body.as_bytes());
        assert_eq!(out.violations.len(), 3);
        assert!(!out.text.contains("short-secret-value"));
        assert!(!out.text.contains("AKIB1234"));
        assert!(
            out.text
                .contains("[secret: wrong shape, 18 characters of a-z punctuation]"),
            "{}",
            out.text
        );
        assert!(out.violations[0].to_string().contains("SecretAccessKey"));
    }

    #[test]
    fn non_xml_bodies_are_kept_as_scrubbed_text() {
        let n = Normalizer::new();
        let secret = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy";
        let body = format!("<html>oops {secret} arn:aws:iam::000000000000:user/x");
        let out = n.normalize(500, &h("text/html"), body.as_bytes());
        assert!(out.text.contains("(body is not XML:"), "{}", out.text);
        assert!(!out.text.contains(secret));
        assert!(out.text.contains("arn:aws:iam::[account]:user/x"));
        assert_eq!(
            n.scrub("Signature expired: 20220127T001427Z is now earlier than 20220127T014428Z (20220127T015928Z - 15 min.)"),
            "Signature expired: [amz-date] is now earlier than [amz-date] ([amz-date] - 15 min.)"
        );
        assert!(n.normalize(204, &[], b"").text.ends_with("(empty body)\n"));
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let n = Normalizer::new();
        for body in [
            &b"\xff\xfe<"[..],
            b"<a>",
            b"</a>",
            b"<a></b>",
            b"<a>&bogus;</a>",
            b"<a/><b/>",
        ] {
            let _ = n.normalize(200, &[], body);
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(
            n.normalize(200, &[], deep.as_bytes())
                .text
                .contains("not XML")
        );
    }

    #[test]
    fn longest_replacement_wins() {
        let mut n = Normalizer::new();
        n.replace("snapx", "[user]");
        n.replace("snapxx", "[user-b]");
        assert_eq!(n.scrub("snapxx snapx"), "[user-b] [user]");
    }
}

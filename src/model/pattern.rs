//! AWS pattern semantics.
//!
//! Patterns in AWS service models are Java regular expressions in which `\w`, `\d` and `\s` are
//! ASCII classes. Rust's regex engines treat those classes as Unicode by default (`é`, `ユ`,
//! fullwidth digits and the Kelvin sign all match `\w`), so every model pattern is rewritten into
//! an explicit ASCII form before it is compiled. One [`Pattern`] serves both validation (anchored,
//! the whole value must match) and generation (the unanchored ASCII source is handed to
//! proptest). This module does no IO.

use std::fmt;

/// A compiled model pattern with AWS (Java, ASCII) semantics.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    ascii: String,
    matcher: fancy_regex::Regex,
}

/// Why a model pattern could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("pattern {pattern:?} does not compile: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl Pattern {
    /// Compiles an AWS model pattern. The whole value must match (AWS validates full matches).
    pub fn new(source: &str) -> Result<Self, PatternError> {
        let ascii = to_ascii_classes(source);
        // Strip one level of explicit anchors so that the anchored form is not doubled.
        let body = ascii.strip_prefix('^').unwrap_or(&ascii);
        let body = if body.ends_with('$') && !body.ends_with("\\$") {
            &body[..body.len() - 1]
        } else {
            body
        };
        let anchored = format!("^(?:{body})$");
        let matcher = fancy_regex::Regex::new(&anchored).map_err(|e| PatternError {
            pattern: source.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            source: source.to_owned(),
            ascii: body.to_owned(),
            matcher,
        })
    }

    /// The pattern exactly as the model writes it (and as AWS quotes it in error messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The pattern with `\w`, `\d` and `\s` spelled out as ASCII classes, without anchors.
    /// Suitable for `proptest::string::string_regex`.
    pub fn ascii_source(&self) -> &str {
        &self.ascii
    }

    /// Whether the whole of `value` matches. A pattern whose backtracking budget runs out
    /// counts as not matching: a value that pathological is not one AWS would accept.
    pub fn is_match(&self, value: &str) -> bool {
        self.matcher.is_match(value).unwrap_or(false)
    }

    /// When the pattern is a single character class repeated (`[...]+` or `[...]*`), the
    /// characters it allows, as inclusive ranges. Generation uses this to produce values of an
    /// exact length; other patterns fall back to regex-driven generation.
    pub fn repeated_class(&self) -> Option<Vec<(char, char)>> {
        let body = self.ascii.as_str();
        let inner = body
            .strip_prefix('[')?
            .strip_suffix("]+")
            .or_else(|| body.strip_prefix('[')?.strip_suffix("]*"))?;
        if inner.starts_with('^') {
            return None;
        }
        let mut ranges = Vec::new();
        let chars: Vec<char> = unescape_class(inner)?;
        let mut i = 0;
        while i < chars.len() {
            // Ranges are encoded by unescape_class as (lo, '\u{0}', hi) triples.
            if i + 2 < chars.len() && chars[i + 1] == '\u{0}' {
                ranges.push((chars[i], chars[i + 2]));
                i += 3;
            } else {
                ranges.push((chars[i], chars[i]));
                i += 1;
            }
        }
        Some(ranges)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Rewrites `\w`, `\d` and `\s` (and their negations outside classes) into ASCII classes.
fn to_ascii_classes(src: &str) -> String {
    const W: &str = "A-Za-z0-9_";
    const D: &str = "0-9";
    const S: &str = "\\t\\n\\x0B\\x0C\\r ";
    let mut out = String::with_capacity(src.len() + 16);
    let mut in_class = false;
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match n {
                    'w' => Some((W, false)),
                    'd' => Some((D, false)),
                    's' => Some((S, false)),
                    'W' => Some((W, true)),
                    'D' => Some((D, true)),
                    'S' => Some((S, true)),
                    _ => None,
                };
                match class {
                    Some((set, false)) if in_class => out.push_str(set),
                    Some((set, neg)) if !in_class => {
                        out.push('[');
                        if neg {
                            out.push('^');
                        }
                        out.push_str(set);
                        out.push(']');
                    }
                    // A negated class inside a class has no simple ASCII spelling; keep it and
                    // let the engine's ASCII-only flag handle it.
                    Some((_, _)) => {
                        out.push_str("(?-u:\\");
                        out.push(n);
                        out.push(')');
                    }
                    None => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `]` or `^]` is literal in Java; keep the structure as is.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Decodes the inside of a simple character class into characters, with ranges encoded as
/// `(lo, NUL, hi)`. Returns `None` for anything it does not understand (nested classes, Unicode
/// properties), so that the caller falls back to regex-driven generation.
fn unescape_class(inner: &str) -> Option<Vec<char>> {
    let mut out: Vec<char> = Vec::new();
    let mut chars = inner.chars().peekable();
    let mut pending_range = false;
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.next()? {
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                'x' => {
                    let hex: String = (0..2).filter_map(|_| chars.next()).collect();
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                'p' | 'P' | '(' | '[' => return None,
                other => other,
            },
            '[' | '(' => return None,
            '-' if !out.is_empty() && chars.peek().is_some() && !pending_range => {
                pending_range = true;
                continue;
            }
            other => other,
        };
        if pending_range {
            out.push('\u{0}');
            out.push(lit);
            pending_range = false;
        } else {
            out.push(lit);
        }
    }
    if pending_range {
        out.push('-');
    }
    Some(out)
}

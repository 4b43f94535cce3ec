//! Inputs derived from model constraints: proptest strategies for valid and invalid values, and
//! deterministic boundary cases.
//!
//! Nothing here knows a literal limit or pattern: lengths come from the shape's `min`/`max`,
//! characters from its pattern (with ASCII `\w`), and the constraint a negative case violates is
//! computed by the model's own validator, so a case can never claim a violation it lacks. Pure:
//! no IO, randomness only through proptest's runner.

use crate::model::StringShape;
pub use crate::model::string_violations;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Strategy};

/// Characters a careless implementation might let through: separators, markup, percent signs,
/// control characters, and non-ASCII letters and digits that a Unicode `\w` accepts.
pub const HOSTILE_CHARS: &[(char, &str)] = &[
    (' ', "space"),
    ('/', "slash"),
    ('%', "percent"),
    ('<', "less-than"),
    ('>', "greater-than"),
    ('&', "ampersand"),
    ('"', "double-quote"),
    ('\'', "apostrophe"),
    ('\\', "backslash"),
    (':', "colon"),
    ('#', "hash"),
    ('?', "question-mark"),
    ('*', "asterisk"),
    ('\0', "nul"),
    ('\u{1}', "control-01"),
    ('\t', "tab"),
    ('\n', "newline"),
    ('\r', "carriage-return"),
    ('\u{1b}', "escape"),
    ('\u{7f}', "delete"),
];

/// Letters and digits outside ASCII that Unicode `\w` (Rust's and proptest's default) accepts
/// and AWS's ASCII `\w` rejects.
pub const UNICODE_WORD_CHARS: &[(char, &str)] = &[
    ('é', "e-acute"),
    ('ユ', "katakana-yu"),
    ('\u{FF10}', "fullwidth-digit-zero"),
    ('\u{212A}', "kelvin-sign"),
    ('ß', "sharp-s"),
    ('Ω', "omega"),
    ('\u{0663}', "arabic-indic-digit-three"),
    ('\u{00A0}', "no-break-space"),
];

/// A deterministic boundary value for one string member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// Stable, human-readable label (`length-129`, `char-space`).
    pub label: String,
    pub value: String,
}

/// The characters a shape's pattern allows, when the pattern is a repeated class; `None`
/// otherwise.
fn allowed_chars(shape: &StringShape) -> Option<Vec<char>> {
    let ranges = shape.pattern.as_ref()?.repeated_class()?;
    let mut chars: Vec<char> = ranges
        .iter()
        .flat_map(|(lo, hi)| (*lo..=*hi).take(256))
        .collect();
    chars.sort_unstable();
    chars.dedup();
    Some(chars)
}

/// Values of exactly `len` characters that satisfy the shape's pattern, built from `seed`
/// (cycled through the allowed characters) so that they are readable in reports.
pub fn valid_of_length(shape: &StringShape, seed: &str, len: usize) -> String {
    let allowed = allowed_chars(shape);
    let ok = |c: char| allowed.as_ref().is_none_or(|a| a.contains(&c));
    let base: Vec<char> = seed.chars().filter(|c| ok(*c)).collect();
    let filler = allowed
        .as_ref()
        .and_then(|a| a.iter().copied().find(char::is_ascii_alphanumeric))
        .unwrap_or('a');
    let src = if base.is_empty() { vec![filler] } else { base };
    src.iter().copied().cycle().take(len).collect()
}

/// Deterministic boundary values for a string shape: lengths around `min` and `max` and far
/// beyond, every hostile and Unicode-word character embedded in an otherwise valid value, and
/// the allowed punctuation alone. Their validity is decided by the model, not here.
pub fn string_boundaries(shape: &StringShape, seed: &str) -> Vec<Boundary> {
    let mut out = Vec::new();
    let mut push = |label: String, value: String| {
        if !out.iter().any(|b: &Boundary| b.value == value) {
            out.push(Boundary { label, value });
        }
    };
    let min = shape.min.unwrap_or(0) as usize;
    let max = shape.max.map(|m| m as usize);
    let mut lengths = vec![0, 1, min.saturating_sub(1), min, min + 1];
    if let Some(max) = max {
        lengths.extend([max.saturating_sub(1), max, max + 1, max * 2, max * 8]);
    }
    lengths.sort_unstable();
    lengths.dedup();
    for len in lengths {
        push(format!("length-{len}"), valid_of_length(shape, seed, len));
    }
    let base = valid_of_length(shape, seed, min.max(4).min(max.unwrap_or(usize::MAX)));
    for (c, name) in HOSTILE_CHARS.iter().chain(UNICODE_WORD_CHARS) {
        let mut v = base.clone();
        v.insert(v.len() / 2, *c);
        push(format!("char-{name}"), v);
    }
    if let Some(chars) = allowed_chars(shape) {
        for c in chars.iter().filter(|c| !c.is_ascii_alphanumeric()) {
            push(format!("allowed-{}", c.escape_unicode()), c.to_string());
        }
    }
    out
}

/// Strings that satisfy the shape, with lengths in `len` (clipped to the shape's bounds).
pub fn valid_string(
    shape: &StringShape,
    len: std::ops::RangeInclusive<usize>,
) -> BoxedStrategy<String> {
    let lo = (*len.start()).max(shape.min.unwrap_or(0) as usize);
    let hi = (*len.end())
        .min(shape.max.map(|m| m as usize).unwrap_or(usize::MAX))
        .max(lo);
    match allowed_chars(shape) {
        Some(chars) => proptest::collection::vec(proptest::sample::select(chars), lo..=hi)
            .prop_map(|v| v.into_iter().collect())
            .boxed(),
        None => match &shape.pattern {
            Some(p) => match proptest::string::string_regex(p.ascii_source()) {
                Ok(s) => s
                    .prop_filter("length within bounds", move |v| {
                        (lo..=hi).contains(&v.chars().count())
                    })
                    .boxed(),
                Err(_) => Just(String::new()).boxed(),
            },
            None => proptest::collection::vec(proptest::char::range('!', '~'), lo..=hi)
                .prop_map(|v| v.into_iter().collect())
                .boxed(),
        },
    }
}

/// Strings that break the shape: a valid value with one or more disallowed characters spliced
/// in, or one that is too long. Callers compute the exact violations with the model.
pub fn invalid_string(shape: &StringShape) -> BoxedStrategy<String> {
    let max = shape.max.map(|m| m as usize).unwrap_or(64);
    let bad_chars: Vec<char> = HOSTILE_CHARS
        .iter()
        .chain(UNICODE_WORD_CHARS)
        .map(|(c, _)| *c)
        .chain(['\u{2028}', '\u{FEFF}', '😀', 'ǅ', '\u{0301}'])
        .filter(|c| {
            shape
                .pattern
                .as_ref()
                .is_some_and(|p| !p.is_match(&c.to_string()))
        })
        .collect();
    let spliced = (
        valid_string(shape, 1..=max.min(64)),
        proptest::collection::vec(
            (
                proptest::sample::select(bad_chars),
                any::<prop::sample::Index>(),
            ),
            1..4,
        ),
    )
        .prop_map(|(mut s, inserts)| {
            for (c, idx) in inserts {
                let chars: Vec<char> = s.chars().collect();
                let at = idx.index(chars.len() + 1);
                let mut v: String = chars[..at].iter().collect();
                v.push(c);
                v.extend(&chars[at..]);
                s = v;
            }
            s
        });
    let too_long = valid_string(shape, max + 1..=max * 4);
    prop_oneof![3 => spliced, 1 => too_long].boxed()
}

/// Draws `n` values from a strategy deterministically from `seed`.
pub fn sample<T: std::fmt::Debug>(strategy: &BoxedStrategy<T>, n: usize, seed: u64) -> Vec<T> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

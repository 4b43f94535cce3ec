//! The pure half of a profile: which probes to send for which member, how to search, and how a
//! measured value compares with the model's.
//!
//! Searches are written as functions of the answers known so far: given a lookup of what has
//! been answered, [`range_step`] and [`char_step`] either ask for more probes ([`Step::Need`])
//! or return the result ([`Step::Done`]). The driver sends what is needed and calls again, so
//! the searches are tested here without a socket, and a search never depends on timing.
//! Everything a probe plan needs (lengths, patterns, enums, ranges) is read from the model; the
//! only numbers of its own are the probe plan's caps and the fixed character probe set. No IO.

use super::{Limit, Verdict};
use crate::generate::valid_of_length;
use crate::model::{Model, ShapeKind, StringShape, string_violations};

/// The longest length searched for (characters).
pub const LENGTH_CAP: i64 = 4096;
/// The integer range searched: a 32-bit integer's.
pub const INTEGER_FLOOR: i64 = i32::MIN as i64;
pub const INTEGER_CAP: i64 = i32::MAX as i64;
/// Keys per user: creates stop here.
pub const QUOTA_CAP: i64 = 10;
/// The clock-skew window is searched up to this many minutes each way (24 hours).
pub const SKEW_CAP_MINUTES: i64 = 24 * 60;
/// A skew probe of `m` minutes is signed this many seconds closer to now, so that the time a
/// request spends in transit cannot tip a probe at exactly the boundary.
pub const SKEW_MARGIN_SECONDS: i64 = 5;
/// The operation that creates users; its `UserName` names the new user.
pub const CREATE_USER: &str = "CreateUser";
/// The operations probed first, in this order.
pub const FIRST_OPERATIONS: [&str; 2] = ["CreateAccessKey", CREATE_USER];

/// Operations the profile leaves out: the inline-policy operations exist for the `authz.`
/// rules, not for the access-key lifecycle a profile measures, and their document's limits (up
/// to 131,072 characters of Latin-1) would not fit a 1,000-request profile beside the others.
pub const NOT_PROFILED: [&str; 4] = [
    "PutUserPolicy",
    "GetUserPolicy",
    "ListUserPolicies",
    "DeleteUserPolicy",
];

/// Non-ASCII representatives of classes a Unicode-aware pattern lets through and AWS's ASCII
/// classes do not.
pub const NON_ASCII: [(char, &str); 6] = [
    ('\u{e9}', "Latin-1 letter"),
    ('\u{4e2d}', "CJK ideograph"),
    ('\u{ff10}', "fullwidth digit"),
    ('\u{212a}', "Kelvin sign"),
    ('\u{1f600}', "emoji"),
    ('\u{301}', "combining mark"),
];

/// The fixed character probe set: every printable ASCII character, every C0 control character
/// and DEL, and the [`NON_ASCII`] representatives (134 in all), in code-point order.
pub fn probe_chars() -> Vec<char> {
    let mut v: Vec<char> = (0u8..=0x7f).map(char::from).collect();
    v.extend(NON_ASCII.iter().map(|(c, _)| *c));
    v.sort_unstable();
    v
}

/// How a character is named in a report: itself when printable ASCII and unambiguous, a name
/// for the few that are not, `U+XXXX` for controls, itself and its code point otherwise.
pub fn char_label(c: char) -> String {
    match c {
        ' ' => "space".into(),
        '|' => "pipe".into(),
        '`' => "backtick".into(),
        '\\' => "backslash".into(),
        c if c.is_ascii_graphic() => c.to_string(),
        c if c.is_ascii() => format!("U+{:04X}", c as u32),
        // A combining mark alone would combine with whatever precedes it; show it on a
        // dotted circle.
        '\u{301}' => "\u{25cc}\u{301} (U+0301)".into(),
        c => format!("{c} (U+{:04X})", c as u32),
    }
}

/// Describes a set of probe characters compactly: runs of three or more consecutive digits,
/// upper-case letters, lower-case letters or control characters as `A–Z`, every other
/// character by its label (punctuation stays readable one by one).
pub fn describe_chars(chars: &[char]) -> String {
    fn class(c: char) -> u8 {
        match c {
            '0'..='9' => 1,
            'A'..='Z' => 2,
            'a'..='z' => 3,
            c if c.is_ascii_control() => 4,
            _ => 0,
        }
    }
    let mut sorted = chars.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while class(sorted[i]) != 0
            && j + 1 < sorted.len()
            && sorted[j + 1] as u32 == sorted[j] as u32 + 1
            && class(sorted[j + 1]) == class(sorted[i])
        {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!(
                "{}\u{2013}{}",
                char_label(sorted[i]),
                char_label(sorted[j])
            ));
        } else {
            parts.extend(sorted[i..=j].iter().map(|c| char_label(*c)));
        }
        i = j + 1;
    }
    parts.join(" ")
}

/// What a probe showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The value got past validation (the answer a valid value gets, or a success).
    Accepted,
    /// The value was refused (a 4xx other than the valid value's answer).
    Refused,
    /// Neither: a 5xx, no answer, or a probe that was not sent; says what happened.
    Unclear(String),
}

/// The next thing a search needs, or its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<P, T> {
    /// Send these probes (independent of each other) and call again.
    Need(Vec<P>),
    Done(T),
}

/// One end of a measured range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The last accepted value before a refused one.
    Exact(i64),
    /// Accepted at the search's floor or cap; not searched beyond.
    Capped(i64),
}

/// The accepted range found by [`range_step`]: each end, or why it could not be found (an
/// unclear answer on the way to one end leaves the other end measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub min: Result<End, String>,
    pub max: Result<End, String>,
}

/// What a range search knows before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub model_min: Option<i64>,
    pub model_max: Option<i64>,
    /// The smallest value searched.
    pub floor: i64,
    /// The largest value searched.
    pub cap: i64,
    /// A value already known to be accepted (the member's base value, or an unskewed request).
    pub inside: Option<i64>,
}

enum Stop {
    Need(i64),
    Unclear(String),
}

/// One step of the search for the accepted range of a monotone question ("is a value of this
/// length accepted?"): the model's bounds are probed first, then one past each; only if the
/// target is looser or stricter does it bisect, towards the floor or the cap. A conforming
/// target costs four probes. Acceptance is assumed to be one interval.
pub fn range_step(b: &Bounds, known: &dyn Fn(i64) -> Option<Answer>) -> Step<i64, Range> {
    let ask = |n: i64| -> Result<bool, Stop> {
        match known(n) {
            None => Err(Stop::Need(n)),
            Some(Answer::Accepted) => Ok(true),
            Some(Answer::Refused) => Ok(false),
            Some(Answer::Unclear(r)) => Err(Stop::Unclear(format!("at {n}: {r}"))),
        }
    };
    let min = match min_end(b, &ask) {
        Err(Stop::Need(n)) => return Step::Need(vec![n]),
        Err(Stop::Unclear(r)) => Err(r),
        Ok(e) => Ok(e),
    };
    let max = match max_end(b, &ask) {
        Err(Stop::Need(n)) => return Step::Need(vec![n]),
        Err(Stop::Unclear(r)) => Err(r),
        Ok(e) => Ok(e),
    };
    Step::Done(Range { min, max })
}

/// The model's bounds clamped to the search, and the known-accepted value between them.
fn anchors(b: &Bounds) -> (i64, i64, Option<i64>) {
    let lo = b.model_min.unwrap_or(b.floor).clamp(b.floor, b.cap);
    let hi = b.model_max.unwrap_or(b.cap).clamp(lo, b.cap);
    (lo, hi, b.inside.filter(|i| (lo..=hi).contains(i)))
}

fn nothing_accepted(lo: i64, hi: i64) -> Stop {
    Stop::Unclear(format!(
        "neither {lo} nor {hi} (the model's bounds) was accepted, and no value in between is known to be"
    ))
}

fn min_end(b: &Bounds, ask: &dyn Fn(i64) -> Result<bool, Stop>) -> Result<End, Stop> {
    let (lo, hi, inside) = anchors(b);
    if ask(lo)? {
        Ok(if lo == b.floor {
            End::Capped(lo)
        } else if !ask(lo - 1)? {
            End::Exact(lo)
        } else if lo - 1 == b.floor || ask(b.floor)? {
            End::Capped(b.floor)
        } else {
            End::Exact(smallest(b.floor, lo - 1, ask)?)
        })
    } else if ask(hi)? {
        Ok(End::Exact(smallest(lo, hi, ask)?))
    } else if let Some(i) = inside {
        Ok(End::Exact(smallest(lo, i, ask)?))
    } else {
        Err(nothing_accepted(lo, hi))
    }
}

fn max_end(b: &Bounds, ask: &dyn Fn(i64) -> Result<bool, Stop>) -> Result<End, Stop> {
    let (lo, hi, inside) = anchors(b);
    if ask(hi)? {
        Ok(if hi == b.cap {
            End::Capped(hi)
        } else if !ask(hi + 1)? {
            End::Exact(hi)
        } else if hi + 1 == b.cap || ask(b.cap)? {
            End::Capped(b.cap)
        } else {
            End::Exact(largest(hi + 1, b.cap, ask)?)
        })
    } else if ask(lo)? {
        Ok(End::Exact(largest(lo, hi, ask)?))
    } else if let Some(i) = inside {
        Ok(End::Exact(largest(i, hi, ask)?))
    } else {
        Err(nothing_accepted(lo, hi))
    }
}

/// The smallest accepted value in `(refused, accepted]`.
fn smallest(
    mut refused: i64,
    mut accepted: i64,
    ask: &dyn Fn(i64) -> Result<bool, Stop>,
) -> Result<i64, Stop> {
    while accepted - refused > 1 {
        let m = refused + (accepted - refused) / 2;
        if ask(m)? {
            accepted = m;
        } else {
            refused = m;
        }
    }
    Ok(accepted)
}

/// The largest accepted value in `[accepted, refused)`.
fn largest(
    mut accepted: i64,
    mut refused: i64,
    ask: &dyn Fn(i64) -> Result<bool, Stop>,
) -> Result<i64, Stop> {
    while refused - accepted > 1 {
        let m = accepted + (refused - accepted) / 2;
        if ask(m)? {
            accepted = m;
        } else {
            refused = m;
        }
    }
    Ok(accepted)
}

/// The first probes of a character search: the characters the model allows, in groups that
/// fit in a value (`max_group` characters, and each group a valid value by `valid`: a group the
/// model would refuse as a whole is split), then each character the model refuses on its own.
/// A refused group is split until the refused characters are found, so a conforming target
/// costs one probe per refused character and one per group.
pub fn char_groups(
    expected: &[(char, bool)],
    max_group: usize,
    valid: &dyn Fn(&[char]) -> bool,
) -> Vec<Vec<char>> {
    fn push_valid(g: &[char], valid: &dyn Fn(&[char]) -> bool, out: &mut Vec<Vec<char>>) {
        if g.len() <= 1 || valid(g) {
            out.push(g.to_vec());
        } else {
            let (l, r) = g.split_at(g.len() / 2);
            push_valid(l, valid, out);
            push_valid(r, valid, out);
        }
    }
    let allowed: Vec<char> = expected
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(c, _)| *c)
        .collect();
    let mut out = Vec::new();
    for chunk in allowed.chunks(max_group.max(1)) {
        push_valid(chunk, valid, &mut out);
    }
    out.extend(
        expected
            .iter()
            .filter(|(_, ok)| !*ok)
            .map(|(c, _)| vec![*c]),
    );
    out
}

/// The character probes of one string member: each probe character with whether the model
/// accepts it between the template's head and tail, and the first groups to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharPlan {
    pub expected: Vec<(char, bool)>,
    pub groups: Vec<Vec<char>>,
}

/// The [`CharPlan`] of a member whose values are built from `t`: groups leave room beside the
/// base for a counter of up to four digits ([`Template::with_chars`]).
pub fn char_plan(shape: &StringShape, t: &Template) -> CharPlan {
    let valid = |g: &[char]| string_violations(shape, &t.with_chars(g, "0")).is_empty();
    let expected: Vec<(char, bool)> = probe_chars()
        .into_iter()
        .map(|c| (c, valid(&[c])))
        .collect();
    let room = shape
        .max
        .map(|m| (m as usize).saturating_sub(t.base_len() + 4))
        .unwrap_or(64)
        .clamp(1, 64);
    let groups = char_groups(&expected, room, &valid);
    CharPlan { expected, groups }
}

/// One step of a character search over `groups` (from [`char_groups`]): an accepted group
/// accepts each of its characters; a refused or unclear group of several is split in halves.
/// Needs come in batches of independent probes.
pub fn char_step(
    groups: &[Vec<char>],
    known: &dyn Fn(&[char]) -> Option<Answer>,
) -> Step<Vec<char>, Vec<(char, Answer)>> {
    fn resolve(
        g: &[char],
        known: &dyn Fn(&[char]) -> Option<Answer>,
        needs: &mut Vec<Vec<char>>,
        out: &mut Vec<(char, Answer)>,
    ) {
        match known(g) {
            None => needs.push(g.to_vec()),
            Some(Answer::Accepted) => out.extend(g.iter().map(|c| (*c, Answer::Accepted))),
            Some(a) if g.len() == 1 => out.push((g[0], a)),
            Some(_) => {
                let (l, r) = g.split_at(g.len() / 2);
                resolve(l, known, needs, out);
                resolve(r, known, needs, out);
            }
        }
    }
    let mut needs = Vec::new();
    let mut out = Vec::new();
    for g in groups {
        resolve(g, known, &mut needs, &mut out);
    }
    if needs.is_empty() {
        out.sort_by_key(|(c, _)| *c);
        Step::Done(out)
    } else {
        Step::Need(needs)
    }
}

/// How a probe request is answered when the probed value is valid, which decides how a probe's
/// answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The request names things that do not exist (a user and a key of the run's prefix that
    /// were never created): a valid value gets whatever the base value gets (404 NoSuchEntity
    /// on AWS), an invalid one a 400.
    Lookup,
    /// The value names a new user: a valid value creates it (the driver deletes it at once).
    Creates,
    /// The request would create the run's own user again: a valid value gets 409
    /// EntityAlreadyExists, an invalid one a 400.
    Conflict,
    /// A listing with nothing else in it: a valid value gets 200.
    Read,
}

/// What kind of constraint a member has.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberKind {
    Str(StringShape),
    Int { min: Option<i64>, max: Option<i64> },
}

/// The probes of one input member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberPlan {
    pub operation: String,
    pub member: String,
    pub kind: MemberKind,
    pub context: Context,
    /// Whether the model requires the member.
    pub required: bool,
    /// Probing order: 0 for the first operations, 2 for the cheap enum and integer members of
    /// the others, 3 for the rest (the behavioural limits are 1).
    pub tier: u8,
}

impl MemberPlan {
    /// `input.OPERATION.MEMBER.CONSTRAINT`.
    pub fn id(&self, constraint: &str) -> String {
        format!("input.{}.{}.{constraint}", self.operation, self.member)
    }

    /// The limits this member has, as (constraint id, title) pairs, in report order.
    pub fn constraints(&self) -> Vec<(&'static str, String)> {
        let who = format!("{} {}", self.operation, self.member);
        let mut out = Vec::new();
        match &self.kind {
            MemberKind::Str(s) => {
                if s.min.is_some() {
                    out.push(("length-min", format!("{who}: shortest accepted length")));
                }
                if s.max.is_some() {
                    out.push(("length-max", format!("{who}: longest accepted length")));
                }
                if s.pattern.is_some() {
                    out.push(("characters", format!("{who}: accepted probe characters")));
                }
                if !s.enum_values.is_empty() {
                    out.push(("enum", format!("{who}: accepted values")));
                }
            }
            MemberKind::Int { min, max } => {
                if min.is_some() {
                    out.push(("range-min", format!("{who}: smallest accepted value")));
                }
                if max.is_some() {
                    out.push(("range-max", format!("{who}: largest accepted value")));
                }
            }
        }
        out
    }

    /// Whether a probe value that does not carry the run's prefix could touch something the
    /// run does not own (create the user it names, or delete it: a Delete operation whose
    /// required member is the name), so the driver must look first.
    pub fn touches_named_user(&self) -> bool {
        self.member == "UserName"
            && (self.context == Context::Creates
                || (self.operation.starts_with("Delete") && self.required))
    }
}

/// Every constrained input member of every operation, in probing order: the
/// [`FIRST_OPERATIONS`] first, then the enum and integer members of the others, then their
/// string members; within a tier, the model's operation and member order.
pub fn member_plans(model: &Model) -> Vec<MemberPlan> {
    let mut plans = Vec::new();
    for op in model
        .operations()
        .filter(|o| !NOT_PROFILED.contains(&o.name.as_str()))
    {
        let Some(input) = op.input.as_deref() else {
            continue;
        };
        let members = model.members(input);
        let has_lookup_member = members
            .iter()
            .any(|(m, _, _)| m.name == "UserName" || m.name == "AccessKeyId");
        for (m, shape, required) in &members {
            let kind = match &shape.kind {
                ShapeKind::String(s)
                    if s.min.is_some()
                        || s.max.is_some()
                        || s.pattern.is_some()
                        || !s.enum_values.is_empty() =>
                {
                    MemberKind::Str(s.clone())
                }
                ShapeKind::Integer { min, max } | ShapeKind::Long { min, max }
                    if min.is_some() || max.is_some() =>
                {
                    MemberKind::Int {
                        min: *min,
                        max: *max,
                    }
                }
                _ => continue,
            };
            let context = if op.name == CREATE_USER {
                if m.name == "UserName" {
                    Context::Creates
                } else {
                    Context::Conflict
                }
            } else if has_lookup_member {
                Context::Lookup
            } else {
                Context::Read
            };
            let cheap = matches!(&kind, MemberKind::Int { .. })
                || matches!(&kind, MemberKind::Str(s) if !s.enum_values.is_empty());
            let tier = match FIRST_OPERATIONS.iter().position(|o| *o == op.name) {
                Some(_) => 0,
                None if cheap => 2,
                None => 3,
            };
            plans.push(MemberPlan {
                operation: op.name.clone(),
                member: m.name.clone(),
                kind,
                context,
                required: *required,
                tier,
            });
        }
    }
    let first = |p: &MemberPlan| {
        FIRST_OPERATIONS
            .iter()
            .position(|o| *o == p.operation)
            .unwrap_or(FIRST_OPERATIONS.len())
    };
    // A stable sort keeps the model's order within a tier.
    plans.sort_by_key(|p| (p.tier, first(p)));
    plans
}

/// Values for the request's other members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fillers {
    /// A valid user name that was never created.
    pub missing_user: String,
    /// The run's own user, when it could be created.
    pub existing_user: Option<String>,
    /// A valid access key ID that was never issued.
    pub fake_key_id: String,
}

/// The members of a probe request: the probed member with `value`, the others filled so that
/// a valid value gets the answer its [`Context`] describes. `None` when the context needs the
/// run's own user and there is none.
pub fn request_members(
    model: &Model,
    plan: &MemberPlan,
    fillers: &Fillers,
    value: &str,
) -> Option<Vec<(String, String)>> {
    let input = model.operation(&plan.operation)?.input.clone()?;
    let mut out = Vec::new();
    for (m, shape, required) in model.members(&input) {
        if m.name == plan.member {
            out.push((m.name.clone(), value.to_owned()));
            continue;
        }
        let v = match (m.name.as_str(), &shape.kind) {
            ("UserName", _) if plan.context == Context::Conflict => {
                Some(fillers.existing_user.clone()?)
            }
            ("UserName", _) => Some(fillers.missing_user.clone()),
            ("AccessKeyId", _) => Some(fillers.fake_key_id.clone()),
            (_, ShapeKind::String(s)) if !s.enum_values.is_empty() => {
                s.enum_values.first().cloned()
            }
            // The smallest page keeps a listing short.
            (_, ShapeKind::Integer { min: Some(min), .. }) if plan.context == Context::Read => {
                Some(min.to_string())
            }
            (_, ShapeKind::String(s)) if required => {
                template(s, &fillers.missing_user).map(|t| t.base())
            }
            _ => None,
        };
        if let Some(v) = v {
            out.push((m.name.clone(), v));
        }
    }
    Some(out)
}

/// How probe values of one string member are built: `head + tail` is a valid value, and
/// probed characters go between the two (in the middle, where a lenient parser's trimming
/// cannot hide them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub head: String,
    pub tail: String,
    /// A character the model allows between head and tail, to pad a value to a length.
    pub pad: char,
}

/// The template of a string shape: the seed (the run's prefix and a letter) cycled to one
/// character longer than itself, alone or between slashes (path patterns), whichever the
/// model's pattern accepts. `None` when no candidate is valid.
pub fn template(shape: &StringShape, seed: &str) -> Option<Template> {
    let valid = |v: &str| string_violations(shape, v).is_empty();
    let max = shape.max.map(|m| m as usize).unwrap_or(usize::MAX);
    let min = shape.min.unwrap_or(0) as usize;
    let seed_len = seed.chars().count();
    for (before, after) in [("", ""), ("/", "/"), ("/", "")] {
        let extra = before.len() + after.len();
        let want = (seed_len + 1).max(min.saturating_sub(extra)).max(2);
        let want = want.min(max.saturating_sub(extra));
        if want < 2 {
            continue;
        }
        let core: Vec<char> = valid_of_length(shape, seed, want).chars().collect();
        let split = seed_len.min(core.len() - 1).max(1);
        let head = format!("{before}{}", core[..split].iter().collect::<String>());
        let tail = format!("{}{after}", core[split..].iter().collect::<String>());
        if !valid(&format!("{head}{tail}")) {
            continue;
        }
        let pads = [head.chars().last(), Some('a'), Some('x'), Some('0')];
        if let Some(pad) = pads
            .into_iter()
            .flatten()
            .find(|p| valid(&format!("{head}{p}{p}{tail}")))
        {
            return Some(Template { head, tail, pad });
        }
    }
    None
}

impl Template {
    /// The valid value the template is built on.
    pub fn base(&self) -> String {
        format!("{}{}", self.head, self.tail)
    }

    pub fn base_len(&self) -> usize {
        self.head.chars().count() + self.tail.chars().count()
    }

    /// A value of exactly `n` characters: padded in the middle, or cut from the middle (what is
    /// kept of the head first) when shorter than the base.
    pub fn of_len(&self, n: usize) -> String {
        let head: Vec<char> = self.head.chars().collect();
        let tail: Vec<char> = self.tail.chars().collect();
        let base = head.len() + tail.len();
        if n >= base {
            let pad: String = std::iter::repeat_n(self.pad, n - base).collect();
            format!("{}{pad}{}", self.head, self.tail)
        } else {
            let a = head.len().min(n);
            let b = n - a;
            let mut v: String = head[..a].iter().collect();
            v.extend(&tail[tail.len() - b..]);
            v
        }
    }

    /// A value with `chars` and then `uniq` (a counter that keeps values of one run distinct,
    /// case folding included) between head and tail.
    pub fn with_chars(&self, chars: &[char], uniq: &str) -> String {
        let mid: String = chars.iter().collect();
        format!("{}{mid}{uniq}{}", self.head, self.tail)
    }
}

/// The limit rows of a range search (lengths or integers): a `-min` row when the model has a
/// minimum, a `-max` row when it has a maximum. `describe(n)` says how the probe at `n` was
/// answered, for the notes.
#[allow(clippy::too_many_arguments)]
pub fn range_limits(
    plan: &MemberPlan,
    ids: (&str, &str),
    bounds: &Bounds,
    found: &Range,
    describe: &dyn Fn(i64) -> Option<String>,
    unit: &str,
) -> Vec<Limit> {
    let titles = plan.constraints();
    let title = |id: &str| {
        titles
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let at = |n: i64| describe(n).map(|d| format!("{n}: {d}")).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(model) = bounds.model_min {
        let (measured, verdict, note) = match &found.min {
            Err(reason) => (None, Verdict::NotMeasured, Some(reason.clone())),
            Ok(end) => match *end {
                End::Exact(v) => (
                    Some(v.to_string()),
                    compare(v, model, false),
                    Some(format!("refused at {}", at(v - 1))),
                ),
                End::Capped(v) if v == 0 && unit == "characters" => (
                    Some("0".into()),
                    compare(0, model, false),
                    Some(format!("accepted at {}", at(0))),
                ),
                End::Capped(v) => (
                    Some(format!("{v} or less (the search's floor)")),
                    compare(v, model, false),
                    Some(format!("accepted at {}", at(v))),
                ),
            },
        };
        out.push(Limit {
            id: plan.id(ids.0),
            title: title(ids.0),
            source: "model".into(),
            model: model.to_string(),
            measured,
            verdict,
            note,
        });
    }
    if let Some(model) = bounds.model_max {
        let (measured, verdict, note) = match &found.max {
            Err(reason) => (None, Verdict::NotMeasured, Some(reason.clone())),
            Ok(end) => match *end {
                End::Exact(v) => (
                    Some(v.to_string()),
                    compare(v, model, true),
                    Some(format!("refused at {}", at(v + 1))),
                ),
                End::Capped(v) => (
                    Some(format!("{v} or more (the search's cap)")),
                    compare(v, model, true),
                    Some(format!("accepted at {}", at(v))),
                ),
            },
        };
        out.push(Limit {
            id: plan.id(ids.1),
            title: title(ids.1),
            source: "model".into(),
            model: model.to_string(),
            measured,
            verdict,
            note,
        });
    }
    out
}

/// Compares a measured bound with the model's: for an upper bound a larger value is looser,
/// for a lower bound a smaller one.
pub fn compare(measured: i64, model: i64, upper: bool) -> Verdict {
    let looser = if upper {
        measured > model
    } else {
        measured < model
    };
    let stricter = if upper {
        measured < model
    } else {
        measured > model
    };
    Verdict::of(looser, stricter)
}

/// The model's value of a set limit: how many candidates it allows, and which.
pub fn set_model_text(allowed: usize, candidates: usize, described: &str) -> String {
    format!("{allowed} of {candidates}: {described}")
}

/// The limit row of a set measurement (characters, enum values, methods): the model's set,
/// what was answered for each candidate, and the verdict (accepting more is looser, refusing a
/// member of the model's set stricter). Unclear answers count as neither and are named in the
/// note; if nothing was answered clearly the row is not measured.
pub fn set_limit<T: Clone + PartialEq>(
    head: (String, String, String),
    candidates: &[T],
    model_accepts: &dyn Fn(&T) -> bool,
    answers: &Result<Vec<(T, Answer)>, String>,
    label: &dyn Fn(&T) -> String,
    describe_set: &dyn Fn(&[T]) -> String,
) -> Limit {
    let (id, title, source) = head;
    let model_set: Vec<T> = candidates
        .iter()
        .filter(|c| model_accepts(c))
        .cloned()
        .collect();
    let model = set_model_text(model_set.len(), candidates.len(), &describe_set(&model_set));
    let answers = match answers {
        Err(reason) => {
            return Limit {
                id,
                title,
                source,
                model,
                measured: None,
                verdict: Verdict::NotMeasured,
                note: Some(reason.clone()),
            };
        }
        Ok(a) => a,
    };
    let unclear: Vec<String> = answers
        .iter()
        .filter_map(|(c, a)| match a {
            Answer::Unclear(r) => Some(format!("{} ({r})", label(c))),
            _ => None,
        })
        .collect();
    if unclear.len() == answers.len() {
        return Limit {
            id,
            title,
            source,
            model,
            measured: None,
            verdict: Verdict::NotMeasured,
            note: Some(format!("no clear answer: {}", unclear.join("; "))),
        };
    }
    let accepted: Vec<T> = answers
        .iter()
        .filter(|(_, a)| *a == Answer::Accepted)
        .map(|(c, _)| c.clone())
        .collect();
    let extra: Vec<T> = accepted
        .iter()
        .filter(|c| !model_accepts(c))
        .cloned()
        .collect();
    let missing: Vec<T> = answers
        .iter()
        .filter(|(c, a)| *a == Answer::Refused && model_accepts(c))
        .map(|(c, _)| c.clone())
        .collect();
    let verdict = Verdict::of(!extra.is_empty(), !missing.is_empty());
    let mut measured = format!("{} of {}", accepted.len(), candidates.len());
    if verdict == Verdict::Same {
        measured.push_str(": as the model");
    } else {
        if !extra.is_empty() {
            measured.push_str(&format!(": also {}", describe_set(&extra)));
        }
        if !missing.is_empty() {
            measured.push_str(&format!(
                "{} not {}",
                if extra.is_empty() { ":" } else { ";" },
                describe_set(&missing)
            ));
        }
    }
    Limit {
        id,
        title,
        source,
        model,
        measured: Some(measured),
        verdict,
        note: if unclear.is_empty() {
            None
        } else {
            Some(format!("no clear answer: {}", unclear.join("; ")))
        },
    }
}

/// A limit that could not be measured at all.
pub fn not_measured(id: String, title: String, source: &str, model: String, reason: &str) -> Limit {
    Limit {
        id,
        title,
        source: source.to_owned(),
        model,
        measured: None,
        verdict: Verdict::NotMeasured,
        note: Some(reason.to_owned()),
    }
}

/// The seed of the templates [`model_text`] builds: which characters the model allows between
/// a template's head and tail does not depend on the run's prefix.
const MODEL_TEXT_SEED: &str = "icx00000000n";

/// The model's text for a member's constraint, for rows that are not measured (the same text a
/// measured row carries).
pub fn model_text(plan: &MemberPlan, constraint: &str) -> String {
    match (&plan.kind, constraint) {
        (MemberKind::Str(s), "length-min") => s.min.map(|v| v.to_string()).unwrap_or_default(),
        (MemberKind::Str(s), "length-max") => s.max.map(|v| v.to_string()).unwrap_or_default(),
        (MemberKind::Str(s), "characters") => match template(s, MODEL_TEXT_SEED) {
            Some(t) => {
                let plan = char_plan(s, &t);
                let allowed: Vec<char> = plan
                    .expected
                    .iter()
                    .filter(|(_, ok)| *ok)
                    .map(|(c, _)| *c)
                    .collect();
                set_model_text(
                    allowed.len(),
                    plan.expected.len(),
                    &describe_chars(&allowed),
                )
            }
            None => s
                .pattern
                .as_ref()
                .map(|p| format!("pattern {}", p.source()))
                .unwrap_or_default(),
        },
        (MemberKind::Str(s), "enum") => set_model_text(
            s.enum_values.len(),
            enum_candidates(&s.enum_values).len(),
            &s.enum_values.join(" "),
        ),
        (MemberKind::Int { min, .. }, "range-min") => {
            min.map(|v| v.to_string()).unwrap_or_default()
        }
        (MemberKind::Int { max, .. }, "range-max") => {
            max.map(|v| v.to_string()).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// The enum probes of a member: each model value, then its lower- and upper-case variants.
pub fn enum_candidates(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = values.to_vec();
    for v in values {
        for variant in [v.to_lowercase(), v.to_uppercase()] {
            if !out.contains(&variant) {
                out.push(variant);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Runs a range search against a target that accepts exactly `accepts`, counting probes.
    fn search(b: Bounds, accepts: impl Fn(i64) -> bool) -> (Range, usize) {
        let mut known: HashMap<i64, Answer> = HashMap::new();
        if let Some(i) = b.inside {
            known.insert(i, Answer::Accepted);
        }
        let mut probes = 0;
        loop {
            match range_step(&b, &|n| known.get(&n).cloned()) {
                Step::Need(ns) => {
                    for n in ns {
                        probes += 1;
                        assert!(probes < 100, "the search does not end");
                        let a = if accepts(n) {
                            Answer::Accepted
                        } else {
                            Answer::Refused
                        };
                        assert!(known.insert(n, a).is_none(), "{n} asked twice");
                    }
                }
                Step::Done(r) => return (r, probes),
            }
        }
    }

    fn lengths(min: i64, max: i64) -> Bounds {
        Bounds {
            model_min: Some(min),
            model_max: Some(max),
            floor: 0,
            cap: LENGTH_CAP,
            inside: Some(13),
        }
    }

    fn exact(min: End, max: End) -> Range {
        Range {
            min: Ok(min),
            max: Ok(max),
        }
    }

    #[test]
    fn a_conforming_range_costs_four_probes() {
        let (r, n) = search(lengths(1, 128), |n| (1..=128).contains(&n));
        assert_eq!(r, exact(End::Exact(1), End::Exact(128)));
        assert_eq!(n, 4);
    }

    #[test]
    fn looser_and_stricter_ranges_are_bisected() {
        for (lo, hi, want_min, want_max) in [
            (1, 4096, End::Exact(1), End::Capped(4096)),
            (1, 300, End::Exact(1), End::Exact(300)),
            (1, 64, End::Exact(1), End::Exact(64)),
            (0, 128, End::Capped(0), End::Exact(128)),
            (5, 128, End::Exact(5), End::Exact(128)),
            (3, 20, End::Exact(3), End::Exact(20)),
        ] {
            let (r, n) = search(lengths(1, 128), |n| (lo..=hi).contains(&n));
            assert_eq!(r, exact(want_min, want_max), "accepting {lo}..={hi}");
            assert!(n <= 2 + 2 * 13, "{n} probes for {lo}..={hi}");
        }
        // A minimum of 16 searched towards the floor.
        let b = Bounds {
            inside: Some(16),
            ..lengths(16, 128)
        };
        let (r, _) = search(b, |n| (2..=128).contains(&n));
        assert_eq!(r.min, Ok(End::Exact(2)));
    }

    #[test]
    fn an_unclear_answer_leaves_the_other_end_measured() {
        let b = lengths(1, 128);
        let known = |n: i64| match n {
            1 | 13 => Some(Answer::Accepted),
            0 => Some(Answer::Refused),
            128 => Some(Answer::Unclear("HTTP 500".into())),
            _ => None,
        };
        assert_eq!(
            range_step(&b, &known),
            Step::Done(Range {
                min: Ok(End::Exact(1)),
                max: Err("at 128: HTTP 500".into())
            })
        );
    }

    #[test]
    fn nothing_accepted_is_not_a_measurement() {
        let b = Bounds {
            inside: None,
            ..lengths(1, 128)
        };
        let (r, _) = search(b, |_| false);
        assert!(r.min.unwrap_err().contains("neither 1 nor 128"));
        assert!(r.max.is_err());
    }

    #[test]
    fn skew_search_from_an_unskewed_request() {
        let b = Bounds {
            model_min: None,
            model_max: Some(15),
            floor: 0,
            cap: SKEW_CAP_MINUTES,
            inside: Some(0),
        };
        let (r, n) = search(b, |m| m <= 15);
        assert_eq!(r.max, Ok(End::Exact(15)));
        assert_eq!(n, 2);
        let (r, n) = search(b, |_| true);
        assert_eq!(r.max, Ok(End::Capped(SKEW_CAP_MINUTES)));
        assert_eq!(n, 3);
        let (r, _) = search(b, |m| m <= 300);
        assert_eq!(r.max, Ok(End::Exact(300)));
        let (r, _) = search(b, |m| m <= 5);
        assert_eq!(r.max, Ok(End::Exact(5)));
    }

    fn run_chars(groups: &[Vec<char>], accepts: impl Fn(char) -> bool) -> (Vec<char>, usize) {
        let mut known: HashMap<Vec<char>, Answer> = HashMap::new();
        let mut probes = 0;
        loop {
            match char_step(groups, &|g| known.get(g).cloned()) {
                Step::Need(gs) => {
                    for g in gs {
                        probes += 1;
                        let a = if g.iter().all(|c| accepts(*c)) {
                            Answer::Accepted
                        } else {
                            Answer::Refused
                        };
                        known.insert(g, a);
                    }
                }
                Step::Done(out) => {
                    assert_eq!(out.len(), groups.iter().map(Vec::len).sum::<usize>());
                    return (
                        out.into_iter()
                            .filter(|(_, a)| *a == Answer::Accepted)
                            .map(|(c, _)| c)
                            .collect(),
                        probes,
                    );
                }
            }
        }
    }

    #[test]
    fn character_groups_find_exactly_what_is_accepted() {
        let all = probe_chars();
        assert_eq!(all.len(), 134);
        let model = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
        let expected: Vec<(char, bool)> = all.iter().map(|c| (*c, model(*c))).collect();
        let groups = char_groups(&expected, 48, &|_| true);
        // Conforming: one probe per group and per refused character.
        let (acc, n) = run_chars(&groups, model);
        assert_eq!(acc.len(), 69);
        assert_eq!(n, 2 + 65);
        // Looser: the extra characters are found without extra probes.
        let (acc, n) = run_chars(&groups, |c| model(c) || c == '\u{e9}');
        assert!(acc.contains(&'\u{e9}'));
        assert_eq!(n, 67);
        // Stricter: a refused group is split down to the refused character.
        let (acc, n) = run_chars(&groups, |c| model(c) && c != '@');
        assert!(!acc.contains(&'@') && acc.len() == 68);
        assert!(n > 67 && n < 67 + 16, "{n}");
        // A group the model would refuse as a whole is split up front.
        let groups = char_groups(&expected, 48, &|g| !g.contains(&'='));
        assert!(groups.iter().all(|g| g.len() == 1 || !g.contains(&'=')));
    }

    #[test]
    fn labels_and_descriptions() {
        assert_eq!(char_label(' '), "space");
        assert_eq!(char_label('\0'), "U+0000");
        assert_eq!(char_label('\u{212a}'), "\u{212a} (U+212A)");
        let model = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
        let set: Vec<char> = probe_chars().into_iter().filter(|c| model(*c)).collect();
        assert_eq!(
            describe_chars(&set),
            "+ , - . 0\u{2013}9 = @ A\u{2013}Z _ a\u{2013}z"
        );
    }

    #[test]
    fn set_verdicts() {
        let cands = vec!['a', 'b', 'c', 'd'];
        let model = |c: &char| *c == 'a' || *c == 'b';
        let head = || ("id".to_owned(), "t".to_owned(), "model".to_owned());
        let label = |c: &char| c.to_string();
        let desc = |s: &[char]| s.iter().collect::<String>();
        let run = |acc: &[char]| {
            let answers: Vec<(char, Answer)> = cands
                .iter()
                .map(|c| {
                    (
                        *c,
                        if acc.contains(c) {
                            Answer::Accepted
                        } else {
                            Answer::Refused
                        },
                    )
                })
                .collect();
            set_limit(head(), &cands, &model, &Ok(answers), &label, &desc)
        };
        assert_eq!(run(&['a', 'b']).verdict, Verdict::Same);
        let l = run(&['a', 'b', 'c']);
        assert_eq!(l.verdict, Verdict::Looser);
        assert_eq!(l.measured.as_deref(), Some("3 of 4: also c"));
        assert_eq!(run(&['a']).verdict, Verdict::Stricter);
        let l = run(&['a', 'd']);
        assert_eq!(l.verdict, Verdict::Mixed);
        assert_eq!(l.measured.as_deref(), Some("2 of 4: also d; not b"));
        let l = set_limit(head(), &cands, &model, &Err("budget".into()), &label, &desc);
        assert_eq!(l.verdict, Verdict::NotMeasured);
    }

    #[test]
    fn plans_cover_every_constrained_member_first_operations_first() {
        let model = Model::embedded();
        let plans = member_plans(model);
        assert_eq!(plans[0].operation, "CreateAccessKey");
        assert!(plans.iter().take(3).all(|p| p.tier == 0));
        let create_user: Vec<_> = plans
            .iter()
            .filter(|p| p.operation == CREATE_USER)
            .collect();
        assert_eq!(create_user.len(), 2);
        assert!(create_user.iter().any(|p| p.context == Context::Creates));
        assert!(create_user.iter().any(|p| p.context == Context::Conflict));
        let status = plans
            .iter()
            .find(|p| p.member == "Status")
            .expect("UpdateAccessKey.Status");
        assert_eq!(status.tier, 2);
        // Every constrained input member of every profiled operation has a plan, and the
        // others have none.
        for op in model.operations() {
            if NOT_PROFILED.contains(&op.name.as_str()) {
                assert!(plans.iter().all(|p| p.operation != op.name), "{}", op.name);
                continue;
            }
            let Some(input) = op.input.as_deref() else {
                continue;
            };
            for (m, s, _) in model.members(input) {
                let constrained = match &s.kind {
                    ShapeKind::String(s) => {
                        s.min.is_some()
                            || s.max.is_some()
                            || s.pattern.is_some()
                            || !s.enum_values.is_empty()
                    }
                    ShapeKind::Integer { min, max } => min.is_some() || max.is_some(),
                    _ => false,
                };
                assert_eq!(
                    constrained,
                    plans
                        .iter()
                        .any(|p| p.operation == op.name && p.member == m.name),
                    "{}.{}",
                    op.name,
                    m.name
                );
            }
        }
    }

    #[test]
    fn only_probes_that_create_or_delete_the_named_user_look_it_up_first() {
        let touching: Vec<String> = member_plans(Model::embedded())
            .iter()
            .filter(|p| p.touches_named_user())
            .map(|p| format!("{}.{}", p.operation, p.member))
            .collect();
        assert_eq!(touching, ["CreateUser.UserName", "DeleteUser.UserName"]);
    }

    #[test]
    fn templates_are_valid_and_build_exact_lengths() {
        let model = Model::embedded();
        for plan in member_plans(model) {
            let MemberKind::Str(s) = &plan.kind else {
                continue;
            };
            if !s.enum_values.is_empty() {
                continue;
            }
            let t = template(s, "icx0123abcdv").unwrap_or_else(|| panic!("{}", plan.id("")));
            assert!(string_violations(s, &t.base()).is_empty(), "{}", t.base());
            for n in [0usize, 1, 2, 15, 16, 64, 65, 128, 129, 4096] {
                assert_eq!(t.of_len(n).chars().count(), n);
            }
            if let Some(min) = s.min {
                let v = t.of_len(min as usize);
                assert!(
                    string_violations(s, &v).is_empty(),
                    "{}: {v:?}",
                    plan.id("")
                );
            }
            if let Some(max) = s.max {
                let v = t.of_len(max as usize);
                assert!(string_violations(s, &v).is_empty(), "{}", plan.id(""));
                assert!(!string_violations(s, &t.of_len(max as usize + 1)).is_empty());
            }
        }
    }

    #[test]
    fn request_members_fill_the_context() {
        let model = Model::embedded();
        let fillers = Fillers {
            missing_user: "icx-nx".into(),
            existing_user: Some("icx-main".into()),
            fake_key_id: "ICXFAKEKEY0000000000".into(),
        };
        let plans = member_plans(model);
        let find = |op: &str, m: &str| {
            plans
                .iter()
                .find(|p| p.operation == op && p.member == m)
                .unwrap()
                .clone()
        };
        let params = request_members(model, &find("UpdateAccessKey", "Status"), &fillers, "x");
        assert_eq!(
            params.unwrap(),
            vec![
                ("UserName".to_owned(), "icx-nx".to_owned()),
                ("AccessKeyId".into(), "ICXFAKEKEY0000000000".into()),
                ("Status".into(), "x".into())
            ]
        );
        let params = request_members(model, &find(CREATE_USER, "Path"), &fillers, "/p/");
        assert_eq!(
            params.unwrap(),
            vec![
                ("Path".to_owned(), "/p/".to_owned()),
                ("UserName".into(), "icx-main".into())
            ]
        );
        let no_user = Fillers {
            existing_user: None,
            ..fillers.clone()
        };
        assert!(request_members(model, &find(CREATE_USER, "Path"), &no_user, "/p/").is_none());
        let params = request_members(model, &find("ListUsers", "Marker"), &fillers, "m").unwrap();
        assert!(params.contains(&("MaxItems".to_owned(), "1".to_owned())));
    }

    #[test]
    fn enum_variants() {
        let v = enum_candidates(&["Active".into(), "Inactive".into()]);
        assert_eq!(
            v,
            vec![
                "Active", "Inactive", "active", "ACTIVE", "inactive", "INACTIVE"
            ]
        );
    }
}

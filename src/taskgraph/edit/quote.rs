//! How a new scalar is written: the quoting style the file already uses, when a plain scalar
//! is safe, and single- or double-quoted rendering.

use super::{Scalar, TaskFile};
use saphyr_parser::ScalarStyle;
use serde_yaml::Value;

use crate::taskgraph::spans::{Kind, Node};

/// Quoting to use for a new string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Quote {
    Plain,
    Single,
    Double,
}

pub(super) fn plain_key(key: &str) -> String {
    if is_safe_plain(key, true) {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

/// The quoting style the file mostly uses for `status:` values.
pub(super) fn file_quote_style(file: &TaskFile) -> Quote {
    let (mut plain, mut single, mut double) = (0, 0, 0);
    for t in file.index.tasks() {
        match t.get("status").and_then(Node::scalar).map(|(_, s)| s) {
            Some(ScalarStyle::Plain) => plain += 1,
            Some(ScalarStyle::SingleQuoted) => single += 1,
            Some(ScalarStyle::DoubleQuoted) => double += 1,
            _ => {}
        }
    }
    if double > plain && double >= single {
        Quote::Double
    } else if single > plain && single > double {
        Quote::Single
    } else {
        Quote::Plain
    }
}

/// The quoting for strings that cannot be plain: what the file mostly uses for quoted
/// scalars (PyYAML writes `'...'` unless escapes are needed), double when in doubt.
pub(super) fn fallback_quote(root: &Node) -> Quote {
    let (mut single, mut double) = (0usize, 0usize);
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        match &n.kind {
            Kind::Scalar {
                style: ScalarStyle::SingleQuoted,
                ..
            } => single += 1,
            Kind::Scalar {
                style: ScalarStyle::DoubleQuoted,
                ..
            } => double += 1,
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
    }
    if single > double {
        Quote::Single
    } else {
        Quote::Double
    }
}

pub(super) fn render(v: &Scalar, quote: Quote, fallback: Quote, flow: bool) -> String {
    let single_ok = |s: &str| s.chars().all(|c| !c.is_control());
    match v {
        Scalar::Int(n) => n.to_string(),
        Scalar::Number(n) => n.clone(),
        Scalar::Null => "null".to_string(),
        Scalar::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", plain_key(k), render(v, quote, fallback, true)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Scalar::List(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|v| render(v, quote, fallback, true))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Scalar::Str(s) => match quote {
            Quote::Plain if is_safe_plain(s, flow) => s.clone(),
            Quote::Plain if fallback == Quote::Single && single_ok(s) => single_quoted(s),
            Quote::Single if single_ok(s) => single_quoted(s),
            _ => double_quoted(s),
        },
    }
}

pub(super) fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Conservative: text that reads back as exactly this string when written unquoted, under
/// YAML 1.2 and YAML 1.1 readers alike (so no leading digit or sign: `2026-01-01`, `1:30`
/// and `1_000` are not strings to YAML 1.1; no yes/no/on/off).
pub(super) fn is_safe_plain(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !first.is_ascii_alphabetic() && first != '_' && first != '/' {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    ) {
        return false;
    }
    let ok_char =
        |c: char| c.is_ascii_alphanumeric() || "-_./:@+ ".contains(c) || (!flow && c == ',');
    s.chars().all(ok_char)
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([':', ' '])
        && crate::taskgraph::value::resolve_plain(s) == Value::String(s.to_string())
}

pub(super) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

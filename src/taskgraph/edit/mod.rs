//! Format-preserving scalar edits: splice new values into the source text (keeping comments,
//! key order, quoting and indentation), insert missing keys after a mapping's last entry, and
//! verify by re-parsing that exactly the intended values changed. This file holds the edit
//! types and the splicing; quoting is in `quote`, whole-line key removal in `remove`.

mod quote;
mod remove;
#[cfg(test)]
mod tests;

use std::fmt;

use miette::{miette, Report};
use saphyr_parser::ScalarStyle;
use serde_yaml::Value;

use super::{Status, TaskFile};
use crate::taskgraph::spans::Node;
use quote::{fallback_quote, file_quote_style, plain_key, render, Quote};

/// Which mapping an edit changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EditTarget {
    /// The top-level `metadata` mapping.
    Metadata,
    /// The task with this id.
    Task(String),
}

/// A new scalar value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scalar {
    Str(String),
    Int(i64),
    /// A number written as it is (`0.25`): made from a float by [`Scalar::number`].
    Number(String),
    /// Written as `null` (clears a value).
    Null,
    /// A flow mapping on one line (`{status: failure, message: …}`), keys in this order.
    Map(Vec<(String, Scalar)>),
    /// A flow sequence on one line (`[a, b]`).
    List(Vec<Scalar>),
}

impl Scalar {
    /// A finite float as a YAML number (`null` when it is not finite).
    pub fn number(f: f64) -> Scalar {
        if f.is_finite() {
            Scalar::Number(format!("{f:?}"))
        } else {
            Scalar::Null
        }
    }
}

/// Set `key` of `target` to `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub target: EditTarget,
    pub key: String,
    pub value: Scalar,
}

impl Edit {
    /// An edit of a task's key.
    pub fn task(id: impl Into<String>, key: impl Into<String>, value: impl Into<Scalar>) -> Edit {
        Edit {
            target: EditTarget::Task(id.into()),
            key: key.into(),
            value: value.into(),
        }
    }

    /// Sets a task's `status`, spelled as in task files (`Status::as_str`).
    pub fn status(id: impl Into<String>, status: Status) -> Edit {
        Edit::task(id, "status", status.as_str())
    }

    /// An edit of a metadata key.
    pub fn metadata(key: impl Into<String>, value: impl Into<Scalar>) -> Edit {
        Edit {
            target: EditTarget::Metadata,
            key: key.into(),
            value: value.into(),
        }
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Scalar {
        Scalar::Str(s.to_string())
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Scalar {
        Scalar::Str(s)
    }
}

impl From<i64> for Scalar {
    fn from(n: i64) -> Scalar {
        Scalar::Int(n)
    }
}

impl From<u32> for Scalar {
    fn from(n: u32) -> Scalar {
        Scalar::Int(i64::from(n))
    }
}

impl Scalar {
    fn to_value(&self) -> Value {
        match self {
            Scalar::Str(s) => Value::String(s.clone()),
            Scalar::Int(n) => Value::Number((*n).into()),
            Scalar::Number(n) => serde_yaml::from_str(n).unwrap_or(Value::Null),
            Scalar::Null => Value::Null,
            Scalar::Map(entries) => Value::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.to_value()))
                    .collect(),
            ),
            Scalar::List(items) => Value::Sequence(items.iter().map(Scalar::to_value).collect()),
        }
    }
}

impl fmt::Display for EditTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditTarget::Metadata => f.write_str("metadata"),
            EditTarget::Task(id) => write!(f, "task {id}"),
        }
    }
}

/// One replacement of `start..end` by `text`; `seq` orders insertions at the same point.
struct Splice {
    start: usize,
    end: usize,
    text: String,
    seq: usize,
}

pub(crate) fn apply(file: &TaskFile, edits: &[Edit]) -> Result<String, Report> {
    // Later edits of the same key win; keep first-occurrence order.
    let mut list: Vec<&Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match list
            .iter_mut()
            .find(|x| x.target == e.target && x.key == e.key)
        {
            Some(slot) => *slot = e,
            None => list.push(e),
        }
    }
    let src = file.source.as_str();
    let file_quote = file_quote_style(file);
    let fallback = fallback_quote(&file.index.root);
    let mut splices = Vec::with_capacity(list.len());
    let no_metadata = file.index.value.get("metadata").is_none();
    let mut new_metadata = String::new();
    for (seq, e) in list.iter().enumerate() {
        if no_metadata && e.target == EditTarget::Metadata {
            let v = render(&e.value, file_quote, fallback, false);
            new_metadata.push_str(&format!("  {}: {v}{}", plain_key(&e.key), newline(src)));
            continue;
        }
        let map = target_node(file, &e.target)?;
        splices.push(splice_for(file, map, e, (file_quote, fallback), seq)?);
    }
    if !new_metadata.is_empty() {
        // No `metadata:` yet: add one on the line before `tasks:`.
        let at = file
            .index
            .root
            .entry("tasks")
            .filter(|(k, _)| k.start.col == 1 && !file.index.root.flow)
            .map(|(k, _)| k.start.byte)
            .ok_or_else(|| miette!("{}: cannot add a `metadata:` section", file.path))?;
        splices.push(Splice {
            start: at,
            end: at,
            text: format!("metadata:{}{new_metadata}", newline(src)),
            seq: 0,
        });
    }
    splices.sort_by_key(|s| (s.start, s.seq));
    let mut out = String::with_capacity(src.len() + 64 * splices.len());
    let mut at = 0;
    for s in &splices {
        if s.start < at {
            return Err(miette!(
                "{}: overlapping edits; refusing to edit",
                file.path
            ));
        }
        out.push_str(src.get(at..s.start).ok_or_else(|| bad_offset(file))?);
        out.push_str(&s.text);
        at = s.end;
    }
    out.push_str(src.get(at..).ok_or_else(|| bad_offset(file))?);
    verify(file, &list, &out)?;
    Ok(out)
}

/// The file's line break, from its first one: `\r\n`, a lone `\r` (old Mac style) or `\n`.
fn newline(src: &str) -> &'static str {
    match src.find(['\n', '\r']) {
        Some(i) if src.as_bytes()[i] == b'\n' => "\n",
        Some(i) if src.as_bytes().get(i + 1) == Some(&b'\n') => "\r\n",
        Some(_) => "\r",
        None => "\n",
    }
}

fn bad_offset(file: &TaskFile) -> Report {
    miette!(
        "{}: internal error: edit position is not on a character boundary",
        file.path
    )
}

fn target_node<'a>(file: &'a TaskFile, target: &EditTarget) -> Result<&'a Node, Report> {
    let node = match target {
        EditTarget::Metadata => file.index.root.get("metadata").ok_or_else(|| {
            miette!(
                "{}: there is no top-level `metadata` mapping to edit",
                file.path
            )
        })?,
        EditTarget::Task(id) => {
            let i = file
                .index_of(id)
                .ok_or_else(|| miette!("{}: no task with id `{id}`", file.path))?;
            file.index
                .tasks()
                .get(i)
                .ok_or_else(|| miette!("{}: task `{id}` not found in the source", file.path))?
        }
    };
    if node.as_map().is_none() || node.decorated() {
        return Err(miette!(
            "{}: {target} is not a plain mapping; refusing to edit it",
            file.path
        ));
    }
    Ok(node)
}

fn splice_for(
    file: &TaskFile,
    map: &Node,
    e: &Edit,
    quotes: (Quote, Quote),
    seq: usize,
) -> Result<Splice, Report> {
    if let Some((k, v)) = map.entry(&e.key) {
        return replace_value(file, map, (k, v), e, quotes, seq);
    }
    if map.flow {
        return Err(miette!(
            "{}: cannot add a key to a flow mapping `{{...}}`; write the task as a block mapping",
            location(file, e)
        ));
    }
    insert_key(file, map, e, quotes, seq)
}

/// Where an edit applies, for error messages: `<file> (task `id`, key `k`)`.
fn location(file: &TaskFile, e: &Edit) -> String {
    format!("{} ({}, key `{}`)", file.path, e.target, e.key)
}

/// The splice replacing the value of an existing `key: value` entry (or filling `key:`).
fn replace_value(
    file: &TaskFile,
    map: &Node,
    (k, v): (&Node, &Node),
    e: &Edit,
    (file_quote, fallback): (Quote, Quote),
    seq: usize,
) -> Result<Splice, Report> {
    let src = file.source.as_str();
    if !v.decorated() && (v.as_map().is_some() || v.as_seq().is_some()) {
        // A mapping or list (a `result` written before): replaced whole, on the key's line
        // when it was a block (the result is checked by parsing it again).
        let start = if src
            .as_bytes()
            .get(v.start.byte)
            .is_some_and(|b| matches!(b, b'{' | b'['))
        {
            v.start.byte
        } else {
            src.get(k.end..)
                .and_then(|rest| rest.find(':'))
                .map(|i| k.end + i + 1)
                .ok_or_else(|| {
                    miette!("{}: cannot find the `:` after the key", location(file, e))
                })?
        };
        let end = crate::taskgraph::spans::trim_end(src, start, v.content_end());
        let lead = if start == v.start.byte { "" } else { " " };
        let text = format!("{lead}{}", render(&e.value, file_quote, fallback, map.flow));
        return Ok(Splice {
            start,
            end,
            text,
            seq,
        });
    }
    let Some((_, style)) = v.scalar().filter(|_| !v.decorated()) else {
        return Err(miette!(
            "{}: the current value is not a plain scalar; refusing to replace it",
            location(file, e)
        ));
    };
    if v.is_empty_plain() {
        // `key:` with nothing written: put the value right after the colon.
        let colon = src
            .get(k.end..)
            .and_then(|rest| rest.find(':'))
            .map(|i| k.end + i + 1)
            .ok_or_else(|| miette!("{}: cannot find the `:` after the key", location(file, e)))?;
        let text = format!(" {}", render(&e.value, file_quote, fallback, map.flow));
        return Ok(Splice {
            start: colon,
            end: colon,
            text,
            seq,
        });
    }
    let quote = match style {
        ScalarStyle::Plain => Quote::Plain,
        ScalarStyle::SingleQuoted => Quote::Single,
        ScalarStyle::DoubleQuoted => Quote::Double,
        ScalarStyle::Literal | ScalarStyle::Folded => {
            return block_replacement(src, v, e, fallback, seq);
        }
    };
    let text = render(&e.value, quote, fallback, map.flow || in_flow(file, v));
    Ok(Splice {
        start: v.start.byte,
        end: v.end,
        text,
        seq,
    })
}

/// The splice adding a `key: value` line after the last entry of a block mapping, indented
/// like its first key.
fn insert_key(
    file: &TaskFile,
    map: &Node,
    e: &Edit,
    (file_quote, fallback): (Quote, Quote),
    seq: usize,
) -> Result<Splice, Report> {
    let src = file.source.as_str();
    let first_key = map
        .as_map()
        .and_then(|m| m.first())
        .map(|(k, _)| k)
        .ok_or_else(|| {
            miette!(
                "{}: cannot add a key to an empty mapping",
                location(file, e)
            )
        })?;
    let indent = " ".repeat(first_key.start.col.saturating_sub(1));
    let line = format!(
        "{indent}{}: {}",
        plain_key(&e.key),
        render(&e.value, file_quote, fallback, false)
    );
    let end = content_line_end(src, map.content_end());
    let nl_len = newline(src).len();
    Ok(
        match src.get(end..).and_then(|rest| rest.find(newline(src))) {
            Some(nl) => Splice {
                start: end + nl + nl_len,
                end: end + nl + nl_len,
                text: format!("{line}{}", newline(src)),
                seq,
            },
            None => Splice {
                start: src.len(),
                end: src.len(),
                text: format!("{}{line}", newline(src)),
                seq,
            },
        },
    )
}

/// Replace a `|`/`>` block scalar by a double-quoted one on the key's line, keeping the line
/// break that ended the block.
fn block_replacement(
    src: &str,
    v: &Node,
    e: &Edit,
    fallback: Quote,
    seq: usize,
) -> Result<Splice, Report> {
    if !matches!(src.as_bytes().get(v.start.byte), Some(b'|' | b'>')) {
        return Err(miette!(
            "cannot locate the block scalar of `{}`; refusing to replace it",
            e.key
        ));
    }
    let text = render(&e.value, Quote::Plain, fallback, false);
    Ok(Splice {
        start: v.start.byte,
        end: v.end,
        text,
        seq,
    })
}

/// The offset just after the last non-whitespace byte before `end`.
fn content_line_end(src: &str, end: usize) -> usize {
    crate::taskgraph::spans::trim_end(src, 0, end)
}

/// Whether a value node sits inside some flow collection (then plain text may not contain
/// flow indicators).
fn in_flow(file: &TaskFile, v: &Node) -> bool {
    let before = file.source.get(..v.start.byte).unwrap_or("");
    let line = before.rsplit(['\n', '\r']).next().unwrap_or("");
    line.contains('{') || line.contains('[')
}

/// Re-parse `new` and check it equals the original document with exactly these edits.
fn verify(file: &TaskFile, edits: &[&Edit], new: &str) -> Result<(), Report> {
    // Both sides through serde_yaml: an independent reading of the text.
    // serde_yaml reads a leading BOM as a second document; the BOM is no content.
    let unbom = |t: &str| t.strip_prefix('\u{feff}').unwrap_or(t).to_string();
    let mut expected: Value = serde_yaml::from_str(&unbom(&file.source)).map_err(|err| {
        miette!(
            "{}: cannot verify edits: serde_yaml cannot read the file ({err})",
            file.path
        )
    })?;
    for e in edits {
        if e.target == EditTarget::Metadata && expected.get("metadata").is_none() {
            if let Some(top) = expected.as_mapping_mut() {
                top.insert("metadata".into(), Value::Mapping(Default::default()));
            }
        }
        let map = match &e.target {
            EditTarget::Metadata => expected.get_mut("metadata"),
            EditTarget::Task(id) => match file.index_of(id) {
                Some(i) => expected.get_mut("tasks").and_then(|t| t.get_mut(i)),
                None => None,
            },
        }
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| miette!("{}: internal error: edit target vanished", file.path))?;
        map.insert(Value::String(e.key.clone()), e.value.to_value());
    }
    let got: Value = serde_yaml::from_str(&unbom(new)).map_err(|err| {
        miette!(
            "{}: internal error: the edited file would not parse ({err}); nothing written",
            file.path
        )
    })?;
    if got != expected {
        return Err(miette!(
            "{}: internal error: the edit would change more than the intended values; nothing written",
            file.path
        ));
    }
    Ok(())
}

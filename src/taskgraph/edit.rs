//! Format-preserving scalar edits: splice new values into the source text (keeping comments,
//! key order, quoting and indentation), insert missing keys after a mapping's last entry, and
//! verify by re-parsing that exactly the intended values changed.

use std::fmt;

use miette::{miette, Report};
use saphyr_parser::ScalarStyle;
use serde_yaml::Value;

use super::spans::{Kind, Node};
use super::TaskFile;

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
    /// Written as `null` (clears a value).
    Null,
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
            Scalar::Null => Value::Null,
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

/// Quoting to use for a new string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Quote {
    Plain,
    Single,
    Double,
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
    (file_quote, fallback): (Quote, Quote),
    seq: usize,
) -> Result<Splice, Report> {
    let src = file.source.as_str();
    let where_ = || format!("{} ({}, key `{}`)", file.path, e.target, e.key);
    if let Some((k, v)) = map.entry(&e.key) {
        let Some((_, style)) = v.scalar().filter(|_| !v.decorated()) else {
            return Err(miette!(
                "{}: the current value is not a plain scalar; refusing to replace it",
                where_()
            ));
        };
        if v.is_empty_plain() {
            // `key:` with nothing written: put the value right after the colon.
            let colon = src
                .get(k.end..)
                .and_then(|rest| rest.find(':'))
                .map(|i| k.end + i + 1)
                .ok_or_else(|| miette!("{}: cannot find the `:` after the key", where_()))?;
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
        return Ok(Splice {
            start: v.start.byte,
            end: v.end,
            text,
            seq,
        });
    }
    if map.flow {
        return Err(miette!(
            "{}: cannot add a key to a flow mapping `{{...}}`; write the task as a block mapping",
            where_()
        ));
    }
    let first_key = map
        .as_map()
        .and_then(|m| m.first())
        .map(|(k, _)| k)
        .ok_or_else(|| miette!("{}: cannot add a key to an empty mapping", where_()))?;
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
    super::spans::trim_end(src, 0, end)
}

/// Whether a value node sits inside some flow collection (then plain text may not contain
/// flow indicators).
fn in_flow(file: &TaskFile, v: &Node) -> bool {
    let before = file.source.get(..v.start.byte).unwrap_or("");
    let line = before.rsplit(['\n', '\r']).next().unwrap_or("");
    line.contains('{') || line.contains('[')
}

fn plain_key(key: &str) -> String {
    if is_safe_plain(key, true) {
        key.to_string()
    } else {
        double_quoted(key)
    }
}

/// The quoting style the file mostly uses for `status:` values.
fn file_quote_style(file: &TaskFile) -> Quote {
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
fn fallback_quote(root: &Node) -> Quote {
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

fn render(v: &Scalar, quote: Quote, fallback: Quote, flow: bool) -> String {
    let single_ok = |s: &str| s.chars().all(|c| !c.is_control());
    match v {
        Scalar::Int(n) => n.to_string(),
        Scalar::Null => "null".to_string(),
        Scalar::Str(s) => match quote {
            Quote::Plain if is_safe_plain(s, flow) => s.clone(),
            Quote::Plain if fallback == Quote::Single && single_ok(s) => single_quoted(s),
            Quote::Single if single_ok(s) => single_quoted(s),
            _ => double_quoted(s),
        },
    }
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Conservative: text that reads back as exactly this string when written unquoted, under
/// YAML 1.2 and YAML 1.1 readers alike (so no leading digit or sign: `2026-01-01`, `1:30`
/// and `1_000` are not strings to YAML 1.1; no yes/no/on/off).
fn is_safe_plain(s: &str, flow: bool) -> bool {
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
        && super::value::resolve_plain(s) == Value::String(s.to_string())
}

fn double_quoted(s: &str) -> String {
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

impl TaskFile {
    /// The source with the given `(task id, key)` entries removed, each as its whole line
    /// (`key: value` on one line of a block mapping, a trailing comment with it); entries the
    /// task does not have are skipped. Verified by re-reading like [`TaskFile::apply_edits`].
    pub fn remove_task_keys(&self, entries: &[(&str, &str)]) -> Result<String, Report> {
        let src = self.source.as_str();
        let mut expected: Value = serde_yaml::from_str(src.strip_prefix('\u{feff}').unwrap_or(src))
            .map_err(|err| miette!("{}: cannot verify edits: {err}", self.path))?;
        let mut cuts = Vec::new();
        for &(id, key) in entries {
            let map = target_node(self, &EditTarget::Task(id.to_string()))?;
            let Some((k, v)) = map.entry(key) else {
                continue;
            };
            let refuse = || {
                miette!(
                    "{}: task {id}: cannot remove the line of `{key}`",
                    self.path
                )
            };
            let one_line = v.scalar().is_some_and(|(_, style)| {
                !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            });
            if map.flow || v.decorated() || !one_line {
                return Err(refuse());
            }
            let before = src.get(..k.start.byte).ok_or_else(|| bad_offset(self))?;
            let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
            let from = k.end.max(v.end);
            let rest = src.get(from..).ok_or_else(|| bad_offset(self))?;
            let line_end = rest.find(['\n', '\r']).map_or(src.len(), |i| from + i);
            let tail = src.get(from..line_end).unwrap_or("").trim_start();
            if !before[line_start..].chars().all(|c| c == ' ' || c == '\t')
                || src
                    .get(k.start.byte..line_end)
                    .is_none_or(|l| l.contains(['\n', '\r']))
                || !(tail.is_empty() || tail.starts_with('#'))
            {
                return Err(refuse());
            }
            let nl = if src[line_end..].starts_with("\r\n") {
                2
            } else {
                usize::from(line_end < src.len())
            };
            cuts.push((line_start, line_end + nl));
            if let Some(m) = self
                .index_of(id)
                .and_then(|i| expected.get_mut("tasks").and_then(|t| t.get_mut(i)))
                .and_then(Value::as_mapping_mut)
            {
                m.remove(key);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = String::with_capacity(src.len());
        let mut at = 0;
        for (start, end) in cuts {
            out.push_str(src.get(at..start).ok_or_else(|| bad_offset(self))?);
            at = end;
        }
        out.push_str(src.get(at..).ok_or_else(|| bad_offset(self))?);
        let got: Value = serde_yaml::from_str(out.strip_prefix('\u{feff}').unwrap_or(&out))
            .map_err(|err| {
                miette!(
                    "{}: internal error: the edited file would not parse ({err})",
                    self.path
                )
            })?;
        if got != expected {
            return Err(miette!(
                "{}: internal error: removing keys would change more than them; nothing written",
                self.path
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use camino::Utf8Path;

    fn file(src: &str) -> TaskFile {
        TaskFile::parse(Utf8Path::new("t.yml"), src.to_string()).unwrap()
    }

    fn changed_lines(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
        // Lines of `b` not in `a`, lines of `a` not in `b`, by multiset difference.
        let mut removed: Vec<String> = a.lines().map(str::to_string).collect();
        let mut added = Vec::new();
        for l in b.lines() {
            if let Some(i) = removed.iter().position(|x| x == l) {
                removed.remove(i);
            } else {
                added.push(l.to_string());
            }
        }
        (added, removed)
    }

    #[test]
    fn keeps_quote_styles() {
        let src = "metadata:\n  updated_at: '2026'\ntasks:\n- id: a\n  status: \"pending\" # c\n  name: plain\n";
        let f = file(src);
        let out = f
            .apply_edits(&[
                Edit::task("a", "status", "in_progress"),
                Edit::task("a", "name", "it's: odd"),
                Edit::metadata("updated_at", "x'y"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "metadata:\n  updated_at: 'x''y'\ntasks:\n- id: a\n  status: \"in_progress\" # c\n  name: \"it's: odd\"\n"
        );
    }

    #[test]
    fn inserts_after_block_scalar_before_comments() {
        let src = "tasks:\n  - id: \"a\"\n    status: \"pending\"\n    description: |\n      one\n      two\n\n  # next\n  - id: b\n";
        let f = file(src);
        let out = f
            .apply_edits(&[
                Edit::task("a", "started_at", "2026-01-01T00:00:00Z"),
                Edit::task("a", "retry_count", 2i64),
                Edit::task("b", "assigned_to", "me"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "tasks:\n  - id: \"a\"\n    status: \"pending\"\n    description: |\n      one\n      two\n    started_at: \"2026-01-01T00:00:00Z\"\n    retry_count: 2\n\n  # next\n  - id: b\n    assigned_to: \"me\"\n"
        );
    }

    #[test]
    fn fills_empty_value_and_null() {
        let src = "tasks:\n- id: a\n  started_at:\n  result: done\n";
        let f = file(src);
        let out = f
            .apply_edits(&[
                Edit::task("a", "started_at", "now"),
                Edit::task("a", "result", Scalar::Null),
            ])
            .unwrap();
        assert_eq!(out, "tasks:\n- id: a\n  started_at: now\n  result: null\n");
    }

    #[test]
    fn plain_unsafe_values_get_quoted() {
        let src = "tasks:\n- id: a\n  result: x\n";
        let f = file(src);
        for (v, want) in [
            ("true", "\"true\""),
            ("12", "\"12\""),
            ("", "\"\""),
            ("a\nb", "\"a\\nb\""),
            ("#x", "\"#x\""),
        ] {
            let out = f.apply_edits(&[Edit::task("a", "result", v)]).unwrap();
            assert_eq!(out, format!("tasks:\n- id: a\n  result: {want}\n"));
        }
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let f = file("tasks:\r\n- id: a\r\n  status: pending\r\n");
        let out = f
            .apply_edits(&[
                Edit::task("a", "status", "ready"),
                Edit::task("a", "started_at", "now"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "tasks:\r\n- id: a\r\n  status: ready\r\n  started_at: now\r\n"
        );
    }

    #[test]
    fn cr_only_files_keep_cr() {
        let src = "metadata:\r  product: demo\rtasks:\r  - id: A\r    agent: x\r    status: pending\r  - id: B\r    status: pending\r";
        let f = file(src);
        let out = f
            .apply_edits(&[
                Edit::task("A", "status", "in_progress"),
                Edit::task("A", "started_at", "now"),
                Edit::metadata("updated_at", "t"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "metadata:\r  product: demo\r  updated_at: t\rtasks:\r  - id: A\r    agent: x\r    status: in_progress\r    started_at: now\r  - id: B\r    status: pending\r"
        );
        assert!(!out.contains('\n'));
    }

    #[test]
    fn bom_is_kept_and_positions_are_right() {
        let src = "\u{feff}metadata:\n  product: demo\ntasks:\n  - id: A\n    status: pending\n";
        let f = file(src);
        assert_eq!(f.location_of_task("A"), "t.yml:4:9");
        let out = f
            .apply_edits(&[Edit::task("A", "status", "in_progress")])
            .unwrap();
        assert_eq!(out, src.replace("pending", "in_progress"));
        assert!(out.starts_with('\u{feff}'));
    }

    #[test]
    fn flow_mapping_task() {
        let src = "tasks:\n- {id: a, status: pending}\n";
        let f = file(src);
        let out = f
            .apply_edits(&[Edit::task("a", "status", "in_progress")])
            .unwrap();
        assert_eq!(out, "tasks:\n- {id: a, status: in_progress}\n");
        let e = f
            .apply_edits(&[Edit::task("a", "started_at", "x")])
            .unwrap_err();
        assert!(e.to_string().contains("flow mapping"), "{e}");
    }

    #[test]
    fn replaces_block_scalar() {
        let src = "tasks:\n- id: a\n  result: |\n    long\n    text\n  status: done\n";
        let f = file(src);
        let out = f
            .apply_edits(&[Edit::task("a", "result", "short")])
            .unwrap();
        assert_eq!(out, "tasks:\n- id: a\n  result: short\n  status: done\n");
    }

    #[test]
    fn no_trailing_newline_and_unknown_targets() {
        let f = file("tasks:\n- id: a\n  name: n");
        let out = f
            .apply_edits(&[Edit::task("a", "status", "ready")])
            .unwrap();
        assert_eq!(out, "tasks:\n- id: a\n  name: n\n  status: ready");
        assert!(f
            .apply_edits(&[Edit::task("zz", "status", "ready")])
            .is_err());
        // No metadata yet: a `metadata:` section is added before `tasks:`.
        let out = f
            .apply_edits(&[
                Edit::metadata("updated_at", "2026-01-01"),
                Edit::metadata("version", "1"),
                Edit::task("a", "status", "done"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "metadata:\n  updated_at: \"2026-01-01\"\n  version: \"1\"\ntasks:\n- id: a\n  name: n\n  status: done"
        );
    }

    #[test]
    fn refuses_collections_and_aliases() {
        let f = file("tasks:\n- id: a\n  result: [1, 2]\n  name: &n x\n");
        assert!(f.apply_edits(&[Edit::task("a", "result", "x")]).is_err());
        assert!(f.apply_edits(&[Edit::task("a", "name", "y")]).is_err());
    }

    #[test]
    fn fixtures_edit_only_intended_lines() {
        for (p, s) in fixtures::graphs() {
            let f = TaskFile::parse(&p, s.clone()).unwrap();
            let n = f.graph.tasks.len();
            let (first, mid, last) = (
                f.graph.tasks[0].id.clone(),
                f.graph.tasks[n / 2].id.clone(),
                f.graph.tasks[n - 1].id.clone(),
            );
            let edits = vec![
                Edit::task(&mid, "status", "in_progress"),
                Edit::task(&mid, "started_at", "2026-03-01T10:00:00Z"),
                Edit::task(&mid, "assigned_to", "worker 1"),
                Edit::task(&first, "approved_at", "2026-03-01T09:00:00Z"),
                Edit::task(&last, "retry_count", 3i64),
                Edit::task(&last, "status", "failed"),
                Edit::metadata("updated_at", "2026-03-01T10:00:00Z"),
            ];
            let out = f
                .apply_edits(&edits)
                .unwrap_or_else(|e| panic!("{p}: {e:?}"));
            let (added, removed) = changed_lines(&s, &out);
            // Replaced lines: status x2, updated_at; inserted: started_at, assigned_to,
            // approved_at (unless present), retry_count.
            assert_eq!(removed.len(), 3, "{p}: removed {removed:#?}");
            assert_eq!(added.len(), 7, "{p}: added {added:#?}");
            assert!(
                added.iter().all(|l| [
                    "status:",
                    "started_at:",
                    "assigned_to:",
                    "approved_at:",
                    "retry_count:",
                    "updated_at:"
                ]
                .iter()
                .any(|k| l.trim_start().starts_with(k))),
                "{p}: {added:#?}"
            );
            // Line-by-line: the non-edited lines are byte-identical and in the same order.
            let keep = |t: &str| -> Vec<String> {
                t.lines()
                    .filter(|l| {
                        ![
                            "status:",
                            "started_at:",
                            "assigned_to:",
                            "approved_at:",
                            "retry_count:",
                            "updated_at:",
                        ]
                        .iter()
                        .any(|k| l.trim_start().starts_with(k))
                    })
                    .map(str::to_string)
                    .collect()
            };
            assert_eq!(keep(&s), keep(&out), "{p}");
            let g = TaskFile::parse(&p, out).unwrap();
            let t = g.task(&mid).unwrap();
            assert_eq!(t.status, super::super::Status::InProgress);
            assert_eq!(t.started_at.as_deref(), Some("2026-03-01T10:00:00Z"));
            assert_eq!(t.assigned_to.as_deref(), Some("worker 1"));
            assert_eq!(
                g.task(&first).unwrap().approved_at.as_deref(),
                Some("2026-03-01T09:00:00Z")
            );
            assert_eq!(g.task(&last).unwrap().retry_count, 3);
            assert_eq!(g.task(&last).unwrap().status, super::super::Status::Failed);
            assert_eq!(
                g.graph.metadata.get("updated_at").and_then(Value::as_str),
                Some("2026-03-01T10:00:00Z")
            );
            // Inserted keys are indented like their siblings.
            let ind = |text: &str, key: &str| {
                text.lines()
                    .find(|l| l.trim_start().starts_with(key))
                    .map(|l| l.len() - l.trim_start().len())
            };
            let out2 = &g.source;
            assert_eq!(ind(out2, "started_at:"), ind(out2, "assigned_to:"));
        }
    }

    #[test]
    fn removes_whole_key_lines_and_keeps_the_rest() {
        let src = "tasks:\n  - id: a\n    status: in_progress\n    started_at: \"t\" # when\n    assigned_to: x\n  - id: b\n    started_at: null\n";
        let f = file(src);
        let out = f
            .remove_task_keys(&[("a", "started_at"), ("a", "assigned_to"), ("a", "nope")])
            .unwrap();
        assert_eq!(
            out,
            "tasks:\n  - id: a\n    status: in_progress\n  - id: b\n    started_at: null\n"
        );
        // CRLF, last line without a line break.
        let f = file("tasks:\r\n- id: a\r\n  started_at: t\r\n  assigned_to: x");
        let out = f
            .remove_task_keys(&[("a", "assigned_to"), ("a", "started_at")])
            .unwrap();
        assert_eq!(out, "tasks:\r\n- id: a\r\n");
    }

    #[test]
    fn refuses_keys_it_cannot_remove_as_a_line() {
        // First key of a sequence item, a block scalar, a flow mapping, an unknown task.
        let f = file(
            "tasks:\n- started_at: t\n  id: a\n  assigned_to: |\n    x\n- {id: b, started_at: t}\n",
        );
        assert!(f.remove_task_keys(&[("a", "started_at")]).is_err());
        assert!(f.remove_task_keys(&[("a", "assigned_to")]).is_err());
        assert!(f.remove_task_keys(&[("b", "started_at")]).is_err());
        assert!(f.remove_task_keys(&[("zz", "started_at")]).is_err());
    }
}

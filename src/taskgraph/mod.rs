//! Task graph files: loading (`TaskFile::parse`), validation with source spans, scheduling
//! decisions (`schedule`), and format-preserving scalar edits (`TaskFile::apply_edits`).
//! All YAML access of the crate lives in this module.
//!
//! Layer: a leaf. Imports nothing else of the crate.

mod diagnostics;
pub mod display;
mod edit;
mod load;
mod model;
pub mod names;
#[cfg(test)]
mod robustness;
pub mod schedule;
mod source;
mod spans;
mod starts;
mod validate;
mod value;

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use miette::{LabeledSpan, MietteDiagnostic, Report};

#[allow(unused_imports)] // part of the API; not every item is used yet
pub use edit::{Edit, EditTarget, Scalar};
#[allow(unused_imports)] // part of the API; not every item is used yet
pub use model::{Artifact, Consume, Graph, Priority, Status, Task};
pub use validate::{Finding, Severity};

/// A loaded task file: its text, the parsed graph, and where each node sits in the source.
#[derive(Debug)]
pub struct TaskFile {
    /// For display in diagnostics.
    pub path: Utf8PathBuf,
    pub source: String,
    pub graph: Graph,
    index: load::Index,
}

impl TaskFile {
    /// Parse. `Err` for YAML syntax errors and for documents that are not a task graph at all
    /// (not a mapping, no `tasks` sequence, a task that is not a mapping, the schema file). The
    /// error renders with the file name, line:column and a snippet. Never panics.
    pub fn parse(path: &Utf8Path, source: String) -> Result<TaskFile, Report> {
        load::parse(path, source)
    }

    /// The text of a task file read as bytes: `Err` naming the line and column of the first
    /// byte that is not UTF-8 (a task file must be UTF-8 text).
    pub fn decode(path: &Utf8Path, bytes: Vec<u8>) -> Result<String, Report> {
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let bad = bytes[at];
            // Show the file with the bad bytes replaced (U+FFFD) and the first one marked.
            let lossy = String::from_utf8_lossy(bytes);
            let shown: Arc<str> = Arc::from(display::mask_source(&lossy).as_ref());
            let src = source::Source::new(path.as_str(), shown);
            diagnostics::located(
                diagnostics::NotUtf8 {
                    message: format!(
                        "{path}: the task file is not UTF-8 text (byte {at} is 0x{bad:02x})"
                    ),
                    src: src.clone(),
                    at: diagnostics::span((at, at + 1)),
                },
                &src,
            )
        })
    }

    /// Semantic validation; every finding points into the source.
    pub fn validate(&self) -> Vec<Finding> {
        validate::validate(self)
    }

    /// The first task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.index_of(id).map(|i| &self.graph.tasks[i])
    }

    /// File-order index of the first task with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.by_id.get(id).copied()
    }

    /// The new file text with these scalar edits applied in place, verified by re-parsing.
    pub fn apply_edits(&self, edits: &[Edit]) -> Result<String, Report> {
        edit::apply(self, edits)
    }

    /// `file:line:col` of a task's `id` value (of the task itself when it has no id): how the
    /// tests check the positions the index records (BOM, one-based lines and columns).
    #[cfg(test)]
    pub fn location_of_task(&self, id: &str) -> String {
        let pos = self.index_of(id).and_then(|i| {
            let task = self.index.tasks().get(i)?;
            Some(task.get("id").unwrap_or(task).start)
        });
        match pos {
            Some(p) => format!("{}:{}:{}", self.path, p.line, p.col),
            None => self.path.to_string(),
        }
    }

    /// Source shared by diagnostics.
    fn named_source(&self) -> source::Source {
        self.index.shared.clone()
    }
}

/// Source lines longer than this are not shown as snippets (a 10,000-character value would be
/// printed twice, plus its underline); the message then starts with `file:line:col`.
const SNIPPET_LINE_MAX: usize = 400;

/// Length in bytes of the line holding byte `offset` (cost: that line only).
fn line_len(text: &str, offset: usize) -> usize {
    let b = text.as_bytes();
    let at = offset.min(b.len());
    let start = b[..at]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1);
    let end = b[at..]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map_or(b.len(), |i| at + i);
    end - start
}

/// 1-based line and column (in characters) of byte `offset` of `text`; CR, LF and CRLF all end
/// a line.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    source::Source::new("", Arc::from(text)).line_col(offset)
}

/// Build a report with the file as source code, labelled spans and an optional help line.
pub(crate) fn report(
    src: source::Source,
    code: &str,
    severity: miette::Severity,
    message: impl Into<String>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
) -> Report {
    let mut message: String = message.into();
    let mut labels = labels;
    let text: &str = src.text();
    let too_long = labels
        .iter()
        .any(|l| line_len(text, l.offset()) > SNIPPET_LINE_MAX);
    if let (true, Some(first)) = (too_long, labels.first()) {
        let (line, col) = src.line_col(first.offset());
        let name = src.name();
        let rest = message
            .strip_prefix(name)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(&message);
        message = format!("{name}:{line}:{col}: {rest}");
        labels = Vec::new();
    }
    let mut d = MietteDiagnostic::new(message)
        .with_code(code)
        .with_severity(severity)
        .with_labels(labels);
    if let Some(h) = help {
        d = d.with_help(h);
    }
    Report::new(d).with_source_code(src)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! The sample task files shipped in `tests/fixtures`.
    use camino::Utf8PathBuf;

    pub fn dir() -> Utf8PathBuf {
        Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// `(path, text)` of every task graph fixture (not the schema).
    pub fn graphs() -> Vec<(Utf8PathBuf, String)> {
        let mut out: Vec<_> = std::fs::read_dir(dir())
            .unwrap()
            .map(|e| Utf8PathBuf::try_from(e.unwrap().path()).unwrap())
            .filter(|p| p.as_str().ends_with(".task-graph.yml"))
            .map(|p| {
                let s = std::fs::read_to_string(&p).unwrap();
                (p, s)
            })
            .collect();
        out.sort();
        assert!(out.len() >= 5, "fixtures missing");
        out
    }
}

//! Semantic validation of a parsed task file: every finding carries a code, a message, a help
//! line and a labelled span into the source. This file holds the finding types, the collector
//! and the order of the checks; the checks live in the submodules.

mod deps;
mod ids;
mod paths;
#[cfg(test)]
mod tests;
mod types;

use std::collections::HashMap;

use miette::{LabeledSpan, Report};
use serde_yaml::Value;

use super::names::NameKind;
use super::spans::Node;
use super::{report, TaskFile};
use deps::{check_consumes, check_cycles, check_dependencies};
use ids::{check_case_collisions, check_id, check_merge_keys, check_name};
use paths::check_paths;
use types::{check_types, type_name};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    /// A liberal reading of an unambiguous form (`depends_on: A` for `[A]`); shown by
    /// `validate` only.
    Note,
}

/// One validation finding.
#[derive(Debug)]
pub struct Finding {
    pub severity: Severity,
    /// Stable code, e.g. `taskgraph::duplicate-id`.
    pub code: &'static str,
    pub message: String,
    /// Renders with the source snippet, label and help.
    pub report: Report,
    /// 1-based line of the offending node.
    pub line: usize,
    /// 1-based column (in characters) of the offending node.
    pub col: usize,
}

/// Collects findings for one file.
struct Ctx<'a> {
    file: &'a TaskFile,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    /// Report `node` (primary label) plus optional secondary labelled nodes.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        severity: Severity,
        code: &'static str,
        message: String,
        node: &Node,
        label: &str,
        others: &[(&Node, &str)],
        help: String,
    ) {
        let src = self.file.source.as_str();
        let (s, e) = node.label_range(src);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(label.to_string()),
            s..e,
        )];
        for (n, l) in others {
            let (s, e) = n.label_range(src);
            labels.push(LabeledSpan::new_with_span(Some(l.to_string()), s..e));
        }
        let sev = match severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        };
        let report = report(
            self.file.named_source(),
            code,
            sev,
            message.clone(),
            labels,
            Some(help),
        );
        self.out.push(Finding {
            severity,
            code,
            message,
            report,
            line: node.start.line,
            col: node.start.col,
        });
    }

    fn error(
        &mut self,
        code: &'static str,
        message: String,
        node: &Node,
        label: &str,
        help: String,
    ) {
        self.emit(Severity::Error, code, message, node, label, &[], help);
    }

    fn note(&mut self, code: &'static str, message: String, node: &Node, label: &str) {
        let help = "nothing to do; write the usual form to silence this note".to_string();
        self.emit(Severity::Note, code, message, node, label, &[], help);
    }
}

impl TaskFile {
    /// An error finding pointing at task `index`'s `id` (for checks made outside this module, such
    /// as the branch and worktree names `start` would use).
    pub fn task_error(
        &self,
        index: usize,
        code: &'static str,
        message: String,
        label: &str,
        help: String,
    ) -> Option<Finding> {
        let node = self.index.tasks().get(index)?;
        let at = node.get("id").unwrap_or(node);
        let mut cx = Ctx {
            file: self,
            out: Vec::new(),
        };
        cx.error(code, message, at, label, help);
        cx.out.pop()
    }
}

pub(crate) fn validate(file: &TaskFile) -> Vec<Finding> {
    let mut cx = Ctx {
        file,
        out: Vec::new(),
    };
    let nodes = file.index.tasks();
    let values: &[Value] = file
        .index
        .value
        .get("tasks")
        .and_then(Value::as_sequence)
        .map_or(&[], |s| s.as_slice());

    if let (Some(meta), Some(n)) = (
        file.index.value.get("metadata"),
        file.index.root.get("metadata"),
    ) {
        if !meta.is_mapping() && !meta.is_null() {
            cx.error(
                "taskgraph::wrong-type",
                format!("`metadata` must be a mapping, found {}", type_name(meta)),
                n,
                "not a mapping",
                "write `metadata:` followed by indented `key: value` lines".into(),
            );
        }
    }

    if let Some(meta) = file.index.root.get("metadata") {
        check_name(&mut cx, meta, "product", NameKind::Product);
    }
    check_merge_keys(&mut cx);

    // First node of each id, for duplicates and dependency checks.
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, (node, value)) in nodes.iter().zip(values).enumerate() {
        let Some(map) = value.as_mapping() else {
            continue;
        };
        check_id(&mut cx, node, map.get("id"), i, &mut first);
        check_name(&mut cx, node, "agent", NameKind::Agent);
        check_types(&mut cx, node, map);
        check_paths(&mut cx, node, map);
    }
    check_case_collisions(&mut cx, nodes, values);
    check_dependencies(&mut cx, nodes, values);
    check_cycles(&mut cx, nodes);
    check_consumes(&mut cx, nodes);
    cx.out
}

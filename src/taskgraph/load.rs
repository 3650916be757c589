//! `TaskFile::parse`: YAML text → `Graph` plus the span index, with located errors for syntax
//! errors and for documents that are not a task graph at all.

use std::collections::HashMap;
use std::sync::Arc;

use camino::Utf8Path;
use miette::Report;
use serde_yaml::Value;

use super::diagnostics as diag;
use super::model::Graph;
use super::spans::{self, CharIndex, Node};
use super::value;
use super::TaskFile;

/// The private span index of a `TaskFile`.
#[derive(Debug)]
pub(crate) struct Index {
    /// The source again (terminal controls masked), shared by every diagnostic.
    pub shared: super::source::Source,
    /// The document as a YAML value (resolved like serde_yaml does).
    pub value: Value,
    /// The node tree of the document (a mapping).
    pub root: Node,
    /// First index of each task id.
    pub by_id: HashMap<String, usize>,
}

impl Index {
    /// The task mapping nodes, in file order (same length as `graph.tasks`).
    pub(crate) fn tasks(&self) -> &[Node] {
        self.root.get("tasks").and_then(Node::as_seq).unwrap_or(&[])
    }
}

/// Larger task files are refused before parsing (the largest real ones are ~100 KB; 100,000
/// tasks take ~7 MB).
pub(crate) const MAX_FILE_BYTES: usize = 32 << 20;

pub(crate) fn parse(path: &Utf8Path, source: String) -> Result<TaskFile, Report> {
    check_size(path, &source)?;
    // Diagnostics print snippets of the source: mask terminal controls in that copy.
    let shared: Arc<str> = Arc::from(super::display::mask_source(&source).as_ref());
    let shared = super::source::Source::new(path.as_str(), shared);
    let ci = CharIndex::new(&source);
    let (root, value) = read_yaml(path, &source, &ci, &shared)?;
    let task_values = task_values(path, &source, &root, &value, &shared)?;
    let graph = Graph::from_parts(value.get("metadata"), task_values);
    let mut by_id = HashMap::with_capacity(graph.tasks.len());
    for (i, t) in graph.tasks.iter().enumerate() {
        if !t.id.is_empty() {
            by_id.entry(t.id.clone()).or_insert(i);
        }
    }
    let index = Index {
        shared,
        value,
        root,
        by_id,
    };
    Ok(TaskFile {
        path: path.to_owned(),
        source,
        graph,
        index,
    })
}

/// Refuse files over `MAX_FILE_BYTES` before parsing them.
fn check_size(path: &Utf8Path, source: &str) -> Result<(), Report> {
    if source.len() > MAX_FILE_BYTES {
        return Err(Report::new(diag::TooLarge {
            message: format!(
                "{path}: the task file is {} MB; at most {} MB is accepted",
                source.len() >> 20,
                MAX_FILE_BYTES >> 20
            ),
        }));
    }
    Ok(())
}

/// The node tree and the YAML value of the document; errors for syntax and an empty file.
fn read_yaml(
    path: &Utf8Path,
    source: &str,
    ci: &CharIndex,
    src: &super::source::Source,
) -> Result<(Node, Value), Report> {
    let empty = || {
        diag::located(
            diag::Empty {
                message: format!("{path}: the file is empty, not a task graph"),
                src: src.clone(),
                at: diag::span((0, 0)),
            },
            src,
        )
    };
    let root = match spans::parse_tree(source, ci) {
        Ok(Some(root)) => root,
        Ok(None) => return Err(empty()),
        Err(e) => {
            return Err(diag::located(
                diag::Syntax {
                    message: format!("{path}: invalid YAML: {}", e.message),
                    src: src.clone(),
                    at: diag::span((e.pos.byte, e.pos.byte)),
                },
                src,
            ))
        }
    };
    let value = match value::to_value(&root) {
        Ok(Value::Null) if root.is_empty_plain() => return Err(empty()),
        Ok(v) => v,
        Err(e) => {
            return Err(diag::located(
                diag::BadValue {
                    message: format!("{path}: invalid YAML: {}", e.message),
                    src: src.clone(),
                    at: diag::span((e.pos.byte, e.pos.byte)),
                    first: e.other.map(|o| diag::span((o.byte, o.byte))),
                },
                src,
            ));
        }
    };
    Ok((root, value))
}

/// The `tasks` list of a document that is a task graph: a mapping with a `tasks` list of
/// mappings, each located in the source.
fn task_values<'v>(
    path: &Utf8Path,
    source: &str,
    root: &Node,
    value: &'v Value,
    src: &super::source::Source,
) -> Result<&'v [Value], Report> {
    let whole = root.label_range(source);
    let Some(top) = value.as_mapping() else {
        return Err(diag::located(
            diag::NotAMapping {
                message: format!("{path}: not a task graph: the document is not a mapping"),
                src: src.clone(),
                at: diag::span(whole),
            },
            src,
        ));
    };
    let Some(tasks) = top.get("tasks") else {
        return Err(missing_tasks(path, source, root, top, src));
    };
    let Some(task_values) = tasks.as_sequence() else {
        let at = root.get("tasks").map_or(whole, |n| n.label_range(source));
        return Err(diag::located(
            diag::TasksNotAList {
                message: format!("{path}: `tasks` must be a list of tasks"),
                src: src.clone(),
                at: diag::span(at),
            },
            src,
        ));
    };
    let task_nodes = root.get("tasks").and_then(Node::as_seq).unwrap_or(&[]);
    if task_nodes.len() != task_values.len() {
        return Err(diag::located(
            diag::Unsupported {
                message: format!(
                "{path}: cannot locate the tasks in the source (anchors or aliases in `tasks`?)"
            ),
                src: src.clone(),
                at: diag::span(root.get("tasks").map_or(whole, |n| n.label_range(source))),
            },
            src,
        ));
    }
    for (v, n) in task_values.iter().zip(task_nodes) {
        if !v.is_mapping() || n.as_map().is_none() {
            return Err(diag::located(
                diag::TaskNotAMapping {
                    message: format!(
                        "{path}: every task must be a mapping of keys (`id:`, `name:`, ...)"
                    ),
                    src: src.clone(),
                    at: diag::span(n.label_range(source)),
                },
                src,
            ));
        }
    }
    Ok(task_values)
}

/// The error for a mapping without `tasks`: the schema file, or a document missing the key.
fn missing_tasks(
    path: &Utf8Path,
    source: &str,
    root: &Node,
    top: &serde_yaml::Mapping,
    src: &super::source::Source,
) -> Report {
    let whole = root.label_range(source);
    if top.contains_key("TaskGraph") {
        let at = root
            .entry("TaskGraph")
            .map_or(whole, |(k, _)| k.label_range(source));
        return diag::located(
            diag::SchemaFile {
                message: format!("{path}: this is the task-graph schema, not a task graph"),
                src: src.clone(),
                at: diag::span(at),
            },
            src,
        );
    }
    let at = root
        .as_map()
        .and_then(|m| m.first())
        .map_or(whole, |(k, _)| k.label_range(source));
    diag::located(
        diag::MissingTasks {
            message: format!("{path}: not a task graph: missing top-level `tasks`"),
            src: src.clone(),
            at: diag::span(at),
        },
        src,
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn err(src: &str) -> String {
        let e = TaskFile::parse(Utf8Path::new("t.yml"), src.to_string()).unwrap_err();
        format!("{e:?}")
    }

    #[test]
    fn fixtures_parse() {
        for (p, s) in fixtures::graphs() {
            let f = TaskFile::parse(&p, s).unwrap_or_else(|e| panic!("{p}: {e:?}"));
            assert!(!f.graph.tasks.is_empty());
            assert!(f.graph.product.is_some());
            for (i, t) in f.graph.tasks.iter().enumerate() {
                assert_eq!(f.index_of(&t.id), Some(i));
                assert!(f.task(&t.id).is_some());
            }
        }
    }

    #[test]
    fn schema_is_refused() {
        let p = fixtures::dir().join("task-graph.schema.yml");
        let s = std::fs::read_to_string(&p).unwrap();
        let e = TaskFile::parse(&p, s).unwrap_err();
        assert!(
            e.to_string()
                .contains("this is the task-graph schema, not a task graph"),
            "{e}"
        );
        let rendered = format!("{e:?}");
        assert!(rendered.contains("task-graph.schema.yml:5:1"), "{rendered}");
    }

    #[test]
    fn structural_errors() {
        assert!(err("metadata: {}\n").contains("missing top-level `tasks`"));
        assert!(err("metadata: {}\ntasks: 3\n").contains("`tasks` must be a list"));
        assert!(err("tasks:\n- id: a\n- just-a-string\n").contains("t.yml:3:3"));
        assert!(err("- a\n- b\n").contains("not a mapping"));
        assert!(err("").contains("empty"));
        let e = err("tasks:\n- id: a\n  name: [unclosed\n");
        assert!(e.contains("invalid YAML"), "{e}");
        assert!(e.contains("t.yml:4:1") || e.contains("t.yml:3:"), "{e}");
    }

    #[test]
    fn location_of_task_is_one_based() {
        let f = TaskFile::parse(
            Utf8Path::new("t.yml"),
            "tasks:\n- id: a\n  name: x\n- name: y\n  id: \"b\"\n".into(),
        )
        .unwrap();
        assert_eq!(f.location_of_task("a"), "t.yml:2:7");
        assert_eq!(f.location_of_task("b"), "t.yml:5:7");
        assert_eq!(f.location_of_task("zzz"), "t.yml");
    }
}

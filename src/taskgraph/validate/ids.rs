//! Checks of task ids and of the names that become parts of branch names and paths (agent,
//! product): missing, non-string, invalid, duplicate and case-colliding ids, and YAML merge keys.

use std::collections::HashMap;

use serde_yaml::Value;

use super::{type_name, Ctx, Severity};
use crate::taskgraph::display;
use crate::taskgraph::names::{self, NameKind};
use crate::taskgraph::spans::Node;

pub(super) fn check_id<'a>(
    cx: &mut Ctx<'_>,
    node: &Node,
    id: Option<&'a Value>,
    i: usize,
    first: &mut HashMap<&'a str, usize>,
) {
    let Some(id) = id else {
        cx.error(
            "taskgraph::missing-id",
            format!("task #{} has no `id`", i + 1),
            node,
            "this task",
            "add `id: SOME-ID` (letters, digits, `-`, `_`)".into(),
        );
        return;
    };
    let id_node = node.get("id").unwrap_or(node);
    let Some(s) = id.as_str() else {
        cx.error(
            "taskgraph::id-not-string",
            format!("task id must be a string, found {}", type_name(id)),
            id_node,
            "not a string",
            "write the id as text, e.g. `id: \"TASK-01\"`".into(),
        );
        return;
    };
    if let Some(why) = names::problem(NameKind::Id, s) {
        cx.error(
            "taskgraph::invalid-id",
            format!(
                "task id `{}` cannot be used as a git branch name or directory: {why}",
                display::short(s)
            ),
            id_node,
            "invalid id",
            format!(
                "use letters, digits, `-`, `_` and `.`, at most {} characters (e.g. `API-01`)",
                names::ID_MAX
            ),
        );
    }
    match first.get(s) {
        Some(&j) => {
            let nodes = cx.file.index.tasks();
            let prev = nodes.get(j).and_then(|n| n.get("id")).unwrap_or(id_node);
            cx.emit(
                Severity::Error,
                "taskgraph::duplicate-id",
                format!("duplicate task id `{}`", display::short(s)),
                id_node,
                "used again here",
                &[(prev, "first defined here")],
                "give each task a unique id".into(),
            );
        }
        None => {
            first.insert(s, i);
        }
    }
}

/// Ids that differ only in case name branches and worktree directories that collide on a
/// case-insensitive filesystem (macOS, Windows).
pub(super) fn check_case_collisions(cx: &mut Ctx<'_>, nodes: &[Node], values: &[Value]) {
    let mut seen: HashMap<String, (&str, usize)> = HashMap::new();
    for (i, value) in values.iter().enumerate() {
        let Some(id) = value.get("id").and_then(Value::as_str) else {
            continue;
        };
        match seen.get(&id.to_lowercase()) {
            Some(&(prev, j)) if prev != id => {
                let (Some(node), Some(prev_node)) = (
                    nodes.get(i).and_then(|n| n.get("id")),
                    nodes.get(j).and_then(|n| n.get("id")),
                ) else {
                    continue;
                };
                cx.emit(
                    Severity::Error,
                    "taskgraph::id-case-collision",
                    format!("task ids `{id}` and `{prev}` differ only in case"),
                    node,
                    "differs only in case",
                    &[(prev_node, "from this one")],
                    "their branches and worktree directories would collide on a case-insensitive filesystem (macOS, Windows); rename one".into(),
                );
            }
            Some(_) => {}
            None => {
                seen.insert(id.to_lowercase(), (id, i));
            }
        }
    }
}

/// YAML merge keys (`<<: *base`) are a YAML 1.1 feature that serde_yaml and many other
/// readers ignore: the merged keys (an agent, a status) would be silently lost. Refused with
/// the key's position rather than half supported.
pub(super) fn check_merge_keys(cx: &mut Ctx<'_>) {
    let root = &cx.file.index.root;
    let mut stack = vec![root];
    let mut found: Vec<&Node> = Vec::new();
    while let Some(n) = stack.pop() {
        match &n.kind {
            crate::taskgraph::spans::Kind::Map(entries) => {
                for (k, v) in entries {
                    if k.tag.is_none()
                        && k.scalar().is_some_and(|(t, st)| {
                            t == "<<" && st == saphyr_parser::ScalarStyle::Plain
                        })
                    {
                        found.push(k);
                    }
                    stack.push(v);
                }
            }
            crate::taskgraph::spans::Kind::Seq(items) => stack.extend(items),
            _ => {}
        }
    }
    found.sort_by_key(|k| k.start.byte);
    for k in found {
        cx.error(
            "taskgraph::merge-key",
            "YAML merge keys (`<<`) are not supported".into(),
            k,
            "merge key",
            "write the keys out in each task (e.g. `agent: backend-engineer`) instead of `<<: *anchor`".into(),
        );
    }
}

/// `key` of mapping `node` (an agent or the product), when it is a non-empty scalar: it becomes
/// part of branch names and paths, so the same safe character set as ids applies.
pub(super) fn check_name(cx: &mut Ctx<'_>, node: &Node, key: &str, kind: NameKind) {
    let Some(vnode) = node.get(key) else { return };
    let Some((text, _)) = vnode.scalar() else {
        return; // a wrong type is reported by check_types
    };
    if text.is_empty() {
        return;
    }
    if let Some(why) = names::problem(kind, text) {
        cx.error(
            "taskgraph::invalid-name",
            format!(
                "{key} `{}` cannot be used in a git branch name or directory: {why}",
                display::short(text)
            ),
            vnode,
            &format!("invalid {key}"),
            format!(
                "use letters, digits, `-`, `_` and `.`, at most {} characters (e.g. `backend-engineer`)",
                kind.max()
            ),
        );
    }
}

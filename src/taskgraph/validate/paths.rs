//! Checks that the paths written in `produces` and `shared_files` stay inside the repository.

use serde_yaml::Value;

use super::Ctx;
use crate::taskgraph::display;
use crate::taskgraph::spans::Node;

/// Longest path accepted in `produces` and `shared_files` (bytes).
pub(super) const PATH_MAX: usize = 1024;

/// Why a path written in a task is unsafe: absolute or leaving the repository.
pub(crate) fn path_problem(p: &str) -> Option<&'static str> {
    // (Also: control/invisible characters and over-long paths, which would reach terminals.)
    if p.trim().is_empty() {
        return Some("it is empty");
    }
    let b = p.as_bytes();
    if p.starts_with('/')
        || p.starts_with('\\')
        || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
    {
        return Some("it is absolute");
    }
    if p.split(['/', '\\']).any(|c| c == "..") {
        return Some("it leaves the repository (`..`)");
    }
    if p.chars().any(crate::taskgraph::display::is_unsafe_char) {
        return Some("it contains a control or invisible character");
    }
    if p.len() > PATH_MAX {
        return Some("it is longer than 1024 bytes");
    }
    None
}

pub(super) fn check_paths(cx: &mut Ctx<'_>, node: &Node, map: &serde_yaml::Mapping) {
    let mut bad: Vec<(&Node, String)> = Vec::new();
    // Entries with their nodes; a single scalar stands for a one-entry list.
    let entries = |key: &str| -> Vec<(&Value, &Node)> {
        match (map.get(key), node.get(key)) {
            (Some(Value::Sequence(items)), Some(n)) => {
                items.iter().zip(n.as_seq().unwrap_or(&[])).collect()
            }
            (Some(v @ Value::String(_)), Some(n)) => vec![(v, n)],
            _ => Vec::new(),
        }
    };
    for (item, n) in entries("produces") {
        match item {
            Value::String(p) => bad.push((n, p.clone())),
            _ => {
                if let (Some(p), Some(pn)) =
                    (item.get("path").and_then(Value::as_str), n.get("path"))
                {
                    bad.push((pn, p.to_string()));
                }
            }
        }
    }
    for (item, n) in entries("shared_files") {
        if let Some(p) = item.as_str() {
            bad.push((n, p.to_string()));
        }
    }
    for (n, p) in bad {
        if let Some(why) = path_problem(&p) {
            cx.error(
                "taskgraph::unsafe-path",
                format!(
                    "path `{}` is not inside the repository: {why}",
                    display::short(&p)
                ),
                n,
                "unsafe path",
                "write paths relative to the repository root, without `..`".into(),
            );
        }
    }
}

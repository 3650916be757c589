//! Checks that each known task key holds the kind of value it must (text, boolean, count, list),
//! notes liberal readings (a single value for a list), and checks `status` and `priority` values.

use serde_yaml::Value;

use super::{Ctx, Severity};
use crate::taskgraph::display;
use crate::taskgraph::model::{status_list, Priority, Status};
use crate::taskgraph::spans::Node;

/// What a key's value must look like.
#[derive(Clone, Copy)]
pub(super) enum Expect {
    /// Any scalar (text, number, bool) or null.
    Text,
    Bool,
    /// A non-negative integer (or null).
    Count,
    StringList,
    MapList,
}

/// What `key`'s value must be. `result` is not checked: a line of text (older files) or the
/// schema's mapping (status, artifacts_created, message, metrics).
pub(super) fn expected(key: &str) -> Option<Expect> {
    Some(match key {
        "name" | "description" | "agent" | "started_at" | "completed_at" | "approved_at"
        | "assigned_to" | "priority" | "status" => Expect::Text,
        "parallel_ok" | "checkpoint" => Expect::Bool,
        "estimated_time_minutes" | "retry_count" => Expect::Count,
        "depends_on" | "shared_files" => Expect::StringList,
        "produces" | "consumes" => Expect::MapList,
        _ => return None,
    })
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A list-valued key: `true` when it is a list (or empty); the first entry that is not `kind`
/// is reported here.
pub(super) fn check_entries(
    cx: &mut Ctx<'_>,
    key: &str,
    v: &Value,
    vnode: &Node,
    kind: (fn(&Value) -> bool, &str),
    help: &str,
) -> bool {
    let (is_kind, what) = kind;
    let items = match v {
        Value::Null => return true,
        Value::Sequence(items) => items,
        _ => return false,
    };
    if let Some((item, n)) = items
        .iter()
        .zip(vnode.as_seq().unwrap_or(&[]))
        .find(|(item, _)| !is_kind(item))
    {
        cx.error(
            "taskgraph::wrong-type",
            format!(
                "every entry of `{key}` must be {what}, found {}",
                type_name(item)
            ),
            n,
            &format!("not {what}"),
            help.into(),
        );
    }
    true
}

pub(super) fn check_types(cx: &mut Ctx<'_>, node: &Node, map: &serde_yaml::Mapping) {
    for (k, v) in map {
        let Some(key) = k.as_str() else { continue };
        let Some(want) = expected(key) else { continue };
        let Some((key_node, vnode)) = node.entry(key) else {
            continue;
        };
        let at = if vnode.is_empty_plain() {
            key_node
        } else {
            vnode
        };
        let single = matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
        if single && (matches!(want, Expect::StringList) || key == "produces") {
            cx.note(
                "taskgraph::single-value-list",
                format!(
                    "`{key}` is a single value; read as a list of one{}",
                    if key == "produces" { " path" } else { "" }
                ),
                at,
                "read as a one-entry list",
            );
            continue;
        }
        if key == "produces" {
            note_path_artifacts(cx, v, at);
        }
        let bad = match want {
            Expect::Text => v.is_sequence() || v.is_mapping(),
            Expect::Bool => !v.is_bool(),
            Expect::Count => !(v.is_u64() || v.is_null()),
            Expect::StringList => !check_entries(
                cx,
                key,
                v,
                vnode,
                (Value::is_string, "a string"),
                "quote the entry, e.g. `- \"TASK-01\"`",
            ),
            Expect::MapList if key == "produces" => !check_entries(
                cx,
                key,
                v,
                vnode,
                (|i| i.is_mapping() || i.is_string(), "a mapping or a path"),
                "write entries as `- name: ...` with their keys, or as a path",
            ),
            Expect::MapList => !check_entries(
                cx,
                key,
                v,
                vnode,
                (Value::is_mapping, "a mapping"),
                "write entries as `- name: ...` with their keys",
            ),
        };
        if bad {
            let what = match want {
                Expect::Text => "a single value",
                Expect::Bool => "`true` or `false`",
                Expect::Count => "a whole number of 0 or more",
                Expect::StringList | Expect::MapList => "a list",
            };
            cx.error(
                "taskgraph::wrong-type",
                format!("`{key}` must be {what}, found {}", type_name(v)),
                at,
                "wrong type",
                format!("change `{key}` to {what}"),
            );
            continue;
        }
        check_value(cx, key, v, vnode, at);
    }
}

/// A note for `produces` entries written as plain strings (read as paths).
fn note_path_artifacts(cx: &mut Ctx<'_>, v: &Value, at: &Node) {
    let strings = v
        .as_sequence()
        .map_or(0, |items| items.iter().filter(|i| i.is_string()).count());
    if strings > 0 {
        cx.note(
            "taskgraph::path-artifact",
            format!(
                "{strings} entr{} of `produces` {} plain string{}; read as paths (named by the path)",
                if strings == 1 { "y" } else { "ies" },
                if strings == 1 { "is a" } else { "are" },
                if strings == 1 { "" } else { "s" },
            ),
            at,
            "paths",
        );
    }
}

/// `status` must be a known status; an unknown `priority` is a warning.
fn check_value(cx: &mut Ctx<'_>, key: &str, v: &Value, vnode: &Node, at: &Node) {
    match key {
        "status" if !v.is_null() || !vnode.is_empty_plain() => {
            let ok = v.as_str().is_some_and(|s| s.parse::<Status>().is_ok());
            if !ok {
                let shown =
                    crate::taskgraph::model::scalar_string(v).unwrap_or_else(|| "null".into());
                cx.error(
                    "taskgraph::unknown-status",
                    format!("unknown status `{}`", display::short(&shown)),
                    at,
                    "unknown status",
                    format!("use one of: {}", status_list()),
                );
            }
        }
        "priority" if v.as_str().and_then(Priority::parse).is_none() => {
            let shown = crate::taskgraph::model::scalar_string(v).unwrap_or_else(|| "null".into());
            cx.emit(
                Severity::Warning,
                "taskgraph::unknown-priority",
                format!(
                    "unknown priority `{}`; treated as normal",
                    display::short(&shown)
                ),
                at,
                "unknown priority",
                &[],
                "use one of: critical, high, normal, low".into(),
            );
        }
        _ => {}
    }
}

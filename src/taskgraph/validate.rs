//! Semantic validation of a parsed task file: every finding carries a code, a message, a help
//! line and a labelled span into the source.

use std::collections::HashMap;

use miette::{LabeledSpan, Report};
use serde_yaml::Value;

use super::display;
use super::model::{status_list, Priority, Status};
use super::names::{self, NameKind};
use super::spans::Node;
use super::{report, TaskFile};

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

    fn warn(
        &mut self,
        code: &'static str,
        message: String,
        node: &Node,
        label: &str,
        help: String,
    ) {
        self.emit(Severity::Warning, code, message, node, label, &[], help);
    }
}

/// What a key's value must look like.
#[derive(Clone, Copy)]
enum Expect {
    /// Any scalar (text, number, bool) or null.
    Text,
    Bool,
    /// A non-negative integer (or null).
    Count,
    StringList,
    MapList,
}

fn expected(key: &str) -> Option<Expect> {
    Some(match key {
        "name" | "description" | "agent" | "started_at" | "completed_at" | "approved_at"
        | "assigned_to" | "result" | "priority" | "status" => Expect::Text,
        "parallel_ok" | "checkpoint" => Expect::Bool,
        "estimated_time_minutes" | "retry_count" => Expect::Count,
        "depends_on" | "shared_files" => Expect::StringList,
        "produces" | "consumes" => Expect::MapList,
        _ => return None,
    })
}

fn type_name(v: &Value) -> &'static str {
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

/// An error finding pointing at task `index`'s `id` (for checks made outside this module, such
/// as the branch and worktree names `start` would use).
pub(crate) fn task_error(
    file: &TaskFile,
    index: usize,
    code: &'static str,
    message: String,
    label: &str,
    help: String,
) -> Option<Finding> {
    let node = file.index.tasks().get(index)?;
    let at = node.get("id").unwrap_or(node);
    let mut cx = Ctx {
        file,
        out: Vec::new(),
    };
    cx.error(code, message, at, label, help);
    cx.out.pop()
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

fn check_id<'a>(
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
fn check_case_collisions(cx: &mut Ctx<'_>, nodes: &[Node], values: &[Value]) {
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
fn check_merge_keys(cx: &mut Ctx<'_>) {
    let root = &cx.file.index.root;
    let mut stack = vec![root];
    let mut found: Vec<&Node> = Vec::new();
    while let Some(n) = stack.pop() {
        match &n.kind {
            super::spans::Kind::Map(entries) => {
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
            super::spans::Kind::Seq(items) => stack.extend(items),
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
fn check_name(cx: &mut Ctx<'_>, node: &Node, key: &str, kind: NameKind) {
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

/// A list-valued key: `true` when it is a list (or empty); the first entry that is not `kind`
/// is reported here.
fn check_entries(
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

fn check_types(cx: &mut Ctx<'_>, node: &Node, map: &serde_yaml::Mapping) {
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
        match key {
            "status" if !v.is_null() || !vnode.is_empty_plain() => {
                let ok = v.as_str().is_some_and(|s| s.parse::<Status>().is_ok());
                if !ok {
                    let shown = super::model::scalar_string(v).unwrap_or_else(|| "null".into());
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
                let shown = super::model::scalar_string(v).unwrap_or_else(|| "null".into());
                cx.warn(
                    "taskgraph::unknown-priority",
                    format!(
                        "unknown priority `{}`; treated as normal",
                        display::short(&shown)
                    ),
                    at,
                    "unknown priority",
                    "use one of: critical, high, normal, low".into(),
                );
            }
            _ => {}
        }
    }
}

/// Longest path accepted in `produces` and `shared_files` (bytes).
const PATH_MAX: usize = 1024;

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
    if p.chars().any(super::display::is_unsafe_char) {
        return Some("it contains a control or invisible character");
    }
    if p.len() > PATH_MAX {
        return Some("it is longer than 1024 bytes");
    }
    None
}

fn check_paths(cx: &mut Ctx<'_>, node: &Node, map: &serde_yaml::Mapping) {
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

/// The `depends_on` item nodes of a task paired with their string values.
fn deps_of(node: &Node) -> Vec<(&str, &Node)> {
    let Some(d) = node.get("depends_on") else {
        return Vec::new();
    };
    if let Some((s, _)) = d.scalar() {
        // `depends_on: A` reads as `[A]`; an empty value as no dependencies.
        return if d.is_empty_plain() || s.is_empty() || s == "~" || s == "null" {
            Vec::new()
        } else {
            vec![(s, d)]
        };
    }
    d.as_seq()
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| n.scalar().map(|(s, _)| (s, n)))
        .collect()
}

fn closest<'a>(ids: impl Iterator<Item = &'a str>, want: &str) -> Option<&'a str> {
    ids.map(|id| (edit_distance(id, want), id))
        .filter(|(d, _)| *d <= 2.max(want.len() / 4))
        .min()
        .map(|(_, id)| id)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn check_dependencies(cx: &mut Ctx<'_>, nodes: &[Node], values: &[Value]) {
    let _ = values;
    let graph = &cx.file.graph;
    let ids: Vec<&str> = graph.tasks.iter().map(|t| t.id.as_str()).collect();
    // Suggestions cost a comparison with every id: only for the first few unknown names.
    let mut suggest_budget = 20usize;
    for node in nodes {
        for (dep, n) in deps_of(node) {
            if cx.file.index_of(dep).is_none() {
                let suggestion = if suggest_budget > 0 && dep.len() <= names::ID_MAX {
                    suggest_budget -= 1;
                    closest(
                        ids.iter().copied().filter(|i| i.len() <= names::ID_MAX),
                        dep,
                    )
                } else {
                    None
                };
                let help = match suggestion {
                    Some(s) => format!(
                        "did you mean `{}`? Otherwise remove it or add a task with that id",
                        display::short(s)
                    ),
                    None => "remove it or add a task with that id".into(),
                };
                cx.error(
                    "taskgraph::unknown-dependency",
                    format!("`depends_on` names unknown task `{}`", display::short(dep)),
                    n,
                    "no task has this id",
                    help,
                );
            }
        }
    }
}

/// Tarjan's strongly connected components over resolved dependencies; one finding per cycle.
fn check_cycles(cx: &mut Ctx<'_>, nodes: &[Node]) {
    let file = cx.file;
    let n = nodes.len();
    let adj: Vec<Vec<(usize, &Node)>> = nodes
        .iter()
        .map(|node| {
            deps_of(node)
                .into_iter()
                .filter_map(|(d, dn)| file.index_of(d).map(|j| (j, dn)))
                .collect()
        })
        .collect();
    let sccs = tarjan(&adj);
    let mut comp = vec![usize::MAX; n];
    for (c, members) in sccs.iter().enumerate() {
        for &m in members {
            comp[m] = c;
        }
    }
    for members in &sccs {
        let Some(&start) = members.iter().min() else {
            continue;
        };
        let self_loop = adj[start].iter().any(|(j, _)| *j == start);
        if members.len() < 2 && !self_loop {
            continue;
        }
        // Walk from `start` inside the component back to `start` (BFS for a short cycle).
        let c = comp[start];
        // Sized by the component, not the graph: many small cycles stay linear.
        let mut prev: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut end_edge: Option<(usize, usize)> = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for (k, (v, _)) in adj[u].iter().enumerate() {
                if *v == start {
                    end_edge = Some((u, k));
                    break 'bfs;
                }
                if comp[*v] == c && !prev.contains_key(v) && *v != start {
                    prev.insert(*v, (u, k));
                    queue.push_back(*v);
                }
            }
        }
        let Some((last, last_k)) = end_edge else {
            continue;
        };
        // Edges of the cycle in order, as (task, edge index).
        let mut edges = vec![(last, last_k)];
        let mut cur = last;
        while cur != start {
            let Some(&(p, k)) = prev.get(&cur) else {
                break;
            };
            edges.push((p, k));
            cur = p;
        }
        edges.reverse();
        let name = |i: usize| {
            file.graph
                .tasks
                .get(i)
                .map_or(std::borrow::Cow::Borrowed("?"), |t| display::short(&t.id))
        };
        let mut path: Vec<_> = edges.iter().map(|(u, _)| name(*u)).collect();
        path.push(name(start));
        let (u0, k0) = edges[0];
        let primary = adj[u0][k0].1;
        let label =
            |u: usize, k: usize| format!("`{}` depends on `{}`", name(u), name(adj[u][k].0));
        let texts: Vec<String> = edges[1..].iter().map(|&(u, k)| label(u, k)).collect();
        let others: Vec<(&Node, &str)> = edges[1..]
            .iter()
            .zip(&texts)
            .map(|(&(u, k), t)| (adj[u][k].1, t.as_str()))
            .collect();
        cx.emit(
            Severity::Error,
            "taskgraph::cycle",
            format!("dependency cycle: {}", path.join(" → ")),
            primary,
            &label(u0, k0),
            &others,
            "remove one of these `depends_on` entries to break the cycle".into(),
        );
    }
}

/// Iterative Tarjan SCC.
fn tarjan(adj: &[Vec<(usize, &Node)>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut ei)) = call.last_mut() {
            if let Some(&(w, _)) = adj[v].get(*ei) {
                *ei += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p] = low[p].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}

/// Whether `t` depends on task `from`, directly or through other tasks.
fn depends_transitively(file: &TaskFile, t: &super::Task, from: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<&str> = t.depends_on.iter().map(String::as_str).collect();
    while let Some(d) = stack.pop() {
        if d == from {
            return true;
        }
        if let Some(i) = file.index_of(d) {
            if seen.insert(i) {
                stack.extend(file.graph.tasks[i].depends_on.iter().map(String::as_str));
            }
        }
    }
    false
}

fn check_consumes(cx: &mut Ctx<'_>, nodes: &[Node]) {
    let file = cx.file;
    for (t, node) in file.graph.tasks.iter().zip(nodes) {
        let Some(items) = node.get("consumes").and_then(Node::as_seq) else {
            continue;
        };
        for (c, n) in t.consumes.iter().zip(items) {
            let Some(from) = c.required_from_task.as_deref() else {
                continue;
            };
            let at = n.get("required_from_task").unwrap_or(n);
            let from_s = display::short(from);
            let Some(src) = file.task(from) else {
                cx.warn(
                    "taskgraph::consume-unknown-task",
                    format!("`consumes` names unknown task `{from_s}`"),
                    at,
                    "no task has this id",
                    "fix `required_from_task` or add that task".into(),
                );
                continue;
            };
            if let Some(name) = c.name.as_deref() {
                if !src.produces.iter().any(|a| a.name.as_deref() == Some(name)) {
                    let names: Vec<_> = src
                        .produces
                        .iter()
                        .filter_map(|a| a.name.as_deref())
                        .map(display::short)
                        .collect();
                    let at = n.get("name").unwrap_or(n);
                    let name_s = display::short(name);
                    cx.warn(
                        "taskgraph::consume-not-produced",
                        format!("task `{from_s}` does not produce an artifact named `{name_s}`"),
                        at,
                        "not produced",
                        if names.is_empty() {
                            format!("`{from_s}` produces nothing; fix the name or add it to its `produces`")
                        } else {
                            format!("`{from_s}` produces: {}", names.join(", "))
                        },
                    );
                }
            }
            if from != t.id && !depends_transitively(file, t, from) {
                cx.warn(
                    "taskgraph::consume-without-dependency",
                    format!(
                        "`{}` consumes from `{from_s}` but does not depend on it",
                        display::short(&t.id)
                    ),
                    at,
                    "not in depends_on",
                    format!("add `{from_s}` to `depends_on` so it finishes first"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use camino::Utf8Path;

    fn findings(src: &str) -> Vec<Finding> {
        TaskFile::parse(Utf8Path::new("t.yml"), src.to_string())
            .unwrap()
            .validate()
    }

    /// The single finding with `code`: (message, line, col).
    fn one(src: &str, code: &str) -> (String, usize, usize) {
        let f = findings(src);
        let hits: Vec<_> = f.iter().filter(|f| f.code == code).collect();
        assert_eq!(
            hits.len(),
            1,
            "{code}: {:#?}",
            f.iter().map(|f| (&f.code, &f.message)).collect::<Vec<_>>()
        );
        (hits[0].message.clone(), hits[0].line, hits[0].col)
    }

    #[test]
    fn fixtures_have_no_errors() {
        for (p, s) in fixtures::graphs() {
            let f = TaskFile::parse(&p, s).unwrap();
            let errs: Vec<_> = f
                .validate()
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| format!("{:?}", f.report))
                .collect();
            assert!(errs.is_empty(), "{p}:\n{}", errs.join("\n"));
        }
    }

    #[test]
    fn duplicate_id() {
        let src = "tasks:\n- id: A\n- id: B\n- id: \"A\"\n";
        assert_eq!(
            one(src, "taskgraph::duplicate-id"),
            ("duplicate task id `A`".into(), 4, 7)
        );
        let f = findings(src);
        let r = format!("{:?}", f[0].report);
        assert!(
            r.contains("first defined here") && r.contains("used again here"),
            "{r}"
        );
        assert!(r.contains("give each task a unique id"), "{r}");
    }

    #[test]
    fn unknown_dependency() {
        let src = "tasks:\n- id: API-01\n- id: B\n  depends_on: [API-1]\n";
        let (m, l, c) = one(src, "taskgraph::unknown-dependency");
        assert_eq!(
            (m.as_str(), l, c),
            ("`depends_on` names unknown task `API-1`", 4, 16)
        );
        let r = format!("{:?}", findings(src)[0].report);
        assert!(r.contains("did you mean `API-01`?"), "{r}");
        assert!(r.contains("t.yml:4:16"), "{r}");
    }

    #[test]
    fn cycle() {
        let src = "tasks:\n- id: A\n  depends_on: [C]\n- id: B\n  depends_on:\n    - A\n- id: C\n  depends_on: [B]\n- id: D\n  depends_on: [D]\n";
        let f = findings(src);
        let cycles: Vec<_> = f.iter().filter(|f| f.code == "taskgraph::cycle").collect();
        assert_eq!(cycles.len(), 2);
        let mut got: Vec<_> = cycles
            .iter()
            .map(|f| (f.message.as_str(), f.line, f.col))
            .collect();
        got.sort_by_key(|g| g.1);
        assert_eq!(
            got,
            [
                ("dependency cycle: A → C → B → A", 3, 16),
                ("dependency cycle: D → D", 10, 16)
            ]
        );
    }

    #[test]
    fn unknown_status() {
        let src = "tasks:\n- id: A\n  status: done\n";
        let (m, l, c) = one(src, "taskgraph::unknown-status");
        assert_eq!((m.as_str(), l, c), ("unknown status `done`", 3, 11));
        let help = findings(src)[0].report.help().map(|h| h.to_string());
        assert_eq!(
            help.as_deref(),
            Some("use one of: pending, ready, in_progress, completed, failed, blocked, skipped")
        );
    }

    #[test]
    fn merge_keys_are_refused() {
        let src = "metadata:\n  product: demo\nbase: &b\n  agent: backend-engineer\ntasks:\n  - <<: *b\n    id: A\n    status: pending\n";
        let (m, l, c) = one(src, "taskgraph::merge-key");
        assert_eq!(
            (m.as_str(), l, c),
            ("YAML merge keys (`<<`) are not supported", 6, 5)
        );
        // A quoted "<<" is an ordinary key.
        assert!(findings("tasks:\n  - id: A\n    \"<<\": x\n").is_empty());
    }

    #[test]
    fn invalid_ids() {
        for bad in [
            "a b", "a..b", "-a", ".a", "a.", "a.lock", "a/b", "a~", "a^", "a:b", "a?", "a*", "a[",
            "a\\\\b", "a@{b", "\"\"",
        ] {
            let src = format!(
                "tasks:\n- name: x\n  id: {}\n",
                if bad.starts_with('"') {
                    bad.to_string()
                } else {
                    format!("\"{bad}\"")
                }
            );
            let (m, l, c) = one(&src, "taskgraph::invalid-id");
            assert!(m.contains("cannot be used as a git branch name"), "{m}");
            assert_eq!((l, c), (3, 7), "{bad}");
        }
        assert!(names::problem(NameKind::Id, "API-01_x").is_none());
        assert!(names::problem(NameKind::Id, "a\u{7f}").is_some());
    }

    #[test]
    fn unsafe_agent_product_and_escapes_in_messages() {
        let src = "metadata:\n  product: \"demo\\e[2J\"\ntasks:\n  - id: \"T\\u202e1gpj.exe\"\n    agent: \"dev\\e]0;owned\\a\"\n  - id: ok\n    agent: \"-rf\"\n  - id: \"a|b>c$(x)`y`\"\n    agent: dev\n";
        let f = findings(src);
        let got: Vec<_> = f.iter().map(|f| (f.code, f.line, f.col)).collect();
        assert_eq!(
            got,
            [
                ("taskgraph::invalid-name", 2, 12),
                ("taskgraph::invalid-id", 4, 9),
                ("taskgraph::invalid-name", 5, 12),
                ("taskgraph::invalid-name", 7, 12),
                ("taskgraph::invalid-id", 8, 9),
            ]
        );
        for x in &f {
            let rendered = format!("{:?}", x.report);
            assert!(
                !rendered.contains(['\x1b', '\x07', '\u{202e}']),
                "raw control in {rendered:?}"
            );
        }
        assert!(f[1].message.contains("\\u{202e}"), "{}", f[1].message);
        let long = format!("tasks:\n- id: T1\n  agent: {}\n", "a".repeat(10_000));
        let (m, l, c) = one(&long, "taskgraph::invalid-name");
        assert!(m.len() < 300, "{m}");
        assert!(m.contains("10000 characters long (at most 64"), "{m}");
        assert_eq!((l, c), (3, 10));
        let long_id = format!("tasks:\n- id: {}\n", "i".repeat(101));
        let (m, _, _) = one(&long_id, "taskgraph::invalid-id");
        assert!(m.contains("101 characters long (at most 100"), "{m}");
    }

    #[test]
    fn non_string_id_and_missing_id() {
        let (m, l, c) = one("tasks:\n- id: 12\n", "taskgraph::id-not-string");
        assert_eq!(
            (m.as_str(), l, c),
            ("task id must be a string, found a number", 2, 7)
        );
        let (m, l, c) = one("tasks:\n- id: a\n-   name: x\n", "taskgraph::missing-id");
        assert_eq!((m.as_str(), l, c), ("task #2 has no `id`", 3, 5));
    }

    #[test]
    fn unsafe_paths() {
        let src = "tasks:\n- id: A\n  produces:\n  - name: x\n    path: /etc/passwd\n  shared_files: [ok/file, \"a/../../b\", '#{PR}']\n";
        let long = format!(
            "tasks:\n- id: A\n  shared_files: [\"{}\", \"a\\e[2J\"]\n",
            "d/".repeat(600)
        );
        let got: Vec<_> = findings(&long)
            .iter()
            .map(|f| (f.code, f.message.len() < 300, f.col))
            .collect();
        assert_eq!(
            got,
            [
                ("taskgraph::unsafe-path", true, 18),
                ("taskgraph::unsafe-path", true, 1222)
            ]
        );
        let f = findings(src);
        let got: Vec<_> = f
            .iter()
            .filter(|f| f.code == "taskgraph::unsafe-path")
            .map(|f| (f.message.as_str(), f.line, f.col))
            .collect();
        assert_eq!(got, [
            ("path `/etc/passwd` is not inside the repository: it is absolute", 5, 11),
            ("path `a/../../b` is not inside the repository: it leaves the repository (`..`)", 6, 27),
        ]);
    }

    #[test]
    fn wrong_types() {
        let src = "tasks:\n- id: A\n  parallel_ok: \"yes\"\n  depends_on: B\n  estimated_time_minutes: -3\n  name: [x]\n  shared_files: [1]\n  produces: [x]\n";
        let f = findings(src);
        let got: Vec<_> = f
            .iter()
            .filter(|f| f.code == "taskgraph::wrong-type")
            .map(|f| (f.message.as_str(), f.line, f.col))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "`parallel_ok` must be `true` or `false`, found a string",
                    3,
                    16
                ),
                (
                    "`estimated_time_minutes` must be a whole number of 0 or more, found a number",
                    5,
                    27
                ),
                ("`name` must be a single value, found a list", 6, 9),
                (
                    "every entry of `shared_files` must be a string, found a number",
                    7,
                    18
                ),
            ]
        );
        // Unambiguous liberal forms are notes, not errors.
        let notes: Vec<_> = f
            .iter()
            .filter(|f| f.severity == Severity::Note)
            .map(|f| (f.code, f.line, f.col))
            .collect();
        assert_eq!(
            notes,
            [
                ("taskgraph::single-value-list", 4, 15),
                ("taskgraph::path-artifact", 8, 13)
            ]
        );
        let (m, _, _) = one(
            "tasks:\n- id: A\n  produces: [1]\n",
            "taskgraph::wrong-type",
        );
        assert_eq!(
            m,
            "every entry of `produces` must be a mapping or a path, found a number"
        );
        let (m, l, c) = one("metadata: [1]\ntasks: []\n", "taskgraph::wrong-type");
        assert_eq!(
            (m.as_str(), l, c),
            ("`metadata` must be a mapping, found a list", 1, 11)
        );
    }

    #[test]
    fn consumes_warnings() {
        let src = "tasks:\n- id: A\n  produces:\n  - name: PRD\n    path: a.md\n- id: B\n  depends_on: [A]\n  consumes:\n  - name: Spec\n    required_from_task: A\n";
        let f = findings(src);
        assert!(f.iter().all(|f| f.severity == Severity::Warning));
        let (m, l, c) = one(src, "taskgraph::consume-not-produced");
        assert_eq!(
            (m.as_str(), l, c),
            ("task `A` does not produce an artifact named `Spec`", 9, 11)
        );
        let src2 = "tasks:\n- id: A\n  produces: [{name: P}]\n- id: B\n  depends_on: [A]\n- id: C\n  depends_on: [B]\n  consumes:\n  - {name: P, required_from_task: A}\n- id: D\n  consumes:\n  - {name: P, required_from_task: A}\n  - {name: Q, required_from_task: NOPE}\n";
        let f2 = findings(src2);
        let got: Vec<_> = f2.iter().map(|f| (f.code, f.line, f.col)).collect();
        assert_eq!(
            got,
            [
                ("taskgraph::consume-without-dependency", 12, 35),
                ("taskgraph::consume-unknown-task", 13, 35),
            ]
        );
        let r = format!("{:?}", f[0].report);
        assert!(r.contains("`A` produces: PRD"), "{r}");
    }

    #[test]
    fn non_ascii_columns() {
        let src = "tasks:\n- id: A\n  name: \"✅ é\"\n  depends_on: [\"✅\", Z]\n";
        let f = findings(src);
        let pos: Vec<_> = f.iter().map(|f| (f.line, f.col)).collect();
        assert_eq!(pos, [(4, 16), (4, 21)]);
    }
}

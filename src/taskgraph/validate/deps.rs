//! Checks of the dependency graph: unknown dependencies (with a did-you-mean), cycles (Tarjan's
//! strongly connected components, one finding per cycle) and `consumes` entries that name an
//! unknown task, an artifact not produced, or a task not depended on.

use std::collections::HashMap;

use serde_yaml::Value;

use super::{Ctx, Severity};
use crate::taskgraph::display;
use crate::taskgraph::names;
use crate::taskgraph::spans::Node;
use crate::taskgraph::TaskFile;

/// The `depends_on` item nodes of a task paired with their string values.
pub(super) fn deps_of(node: &Node) -> Vec<(&str, &Node)> {
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

pub(super) fn closest<'a>(ids: impl Iterator<Item = &'a str>, want: &str) -> Option<&'a str> {
    ids.map(|id| (strsim::levenshtein(id, want), id))
        .filter(|(d, _)| *d <= 2.max(want.len() / 4))
        .min()
        .map(|(_, id)| id)
}

pub(super) fn check_dependencies(cx: &mut Ctx<'_>, nodes: &[Node], values: &[Value]) {
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
pub(super) fn check_cycles(cx: &mut Ctx<'_>, nodes: &[Node]) {
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
        let Some(edges) = shortest_cycle(&adj, &comp, start) else {
            continue;
        };
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

/// The edges `(task, edge index)` of a short cycle from `start` back to `start` inside its
/// strongly connected component (breadth-first; sized by the component, not the graph, so many
/// small cycles stay linear).
fn shortest_cycle(
    adj: &[Vec<(usize, &Node)>],
    comp: &[usize],
    start: usize,
) -> Option<Vec<(usize, usize)>> {
    let c = comp[start];
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
    let (last, last_k) = end_edge?;
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
    Some(edges)
}

/// Iterative Tarjan SCC.
pub(super) fn tarjan(adj: &[Vec<(usize, &Node)>]) -> Vec<Vec<usize>> {
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
pub(super) fn depends_transitively(
    file: &TaskFile,
    t: &crate::taskgraph::Task,
    from: &str,
) -> bool {
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

pub(super) fn check_consumes(cx: &mut Ctx<'_>, nodes: &[Node]) {
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
                cx.emit(
                    Severity::Warning,
                    "taskgraph::consume-unknown-task",
                    format!("`consumes` names unknown task `{from_s}`"),
                    at,
                    "no task has this id",
                    &[],
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
                    cx.emit(
                        Severity::Warning,
                        "taskgraph::consume-not-produced",
                        format!("task `{from_s}` does not produce an artifact named `{name_s}`"),
                        at,
                        "not produced",
                        &[],
                        if names.is_empty() {
                            format!("`{from_s}` produces nothing; fix the name or add it to its `produces`")
                        } else {
                            format!("`{from_s}` produces: {}", names.join(", "))
                        },
                    );
                }
            }
            if from != t.id && !depends_transitively(file, t, from) {
                cx.emit(
                    Severity::Warning,
                    "taskgraph::consume-without-dependency",
                    format!(
                        "`{}` consumes from `{from_s}` but does not depend on it",
                        display::short(&t.id)
                    ),
                    at,
                    "not in depends_on",
                    &[],
                    format!("add `{from_s}` to `depends_on` so it finishes first"),
                );
            }
        }
    }
}

//! Which ready task run starts first: the one with the longest remaining path — its own
//! estimate plus the longest chain of unfinished tasks that depend on it, directly or not —
//! then by priority, then file order (the order `select` gives, kept for ties). Starting the
//! head of the longest chain first is what keeps the makespan near the critical path.

use std::collections::HashMap;

use crate::taskgraph::Graph;

/// For each task, the minutes of the longest chain of unfinished tasks starting at it (its own
/// estimate included; a missing estimate counts as 0). Tasks on a dependency cycle count their
/// own estimate only.
pub fn remaining_path(graph: &Graph) -> Vec<u64> {
    let tasks = &graph.tasks;
    let by_id: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        for d in &t.depends_on {
            if let Some(&j) = by_id.get(d.as_str()) {
                dependents[j].push(i);
            }
        }
    }
    let own = |i: usize| {
        if tasks[i].status.is_done() {
            0
        } else {
            tasks[i].estimated_time_minutes.unwrap_or(0)
        }
    };
    // Iterative DFS with memo; 1 = on the stack (a cycle), 2 = done.
    let mut memo = vec![0u64; tasks.len()];
    let mut state = vec![0u8; tasks.len()];
    for root in 0..tasks.len() {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            if let Some(&k) = dependents[i].get(*next) {
                *next += 1;
                if state[k] == 0 {
                    state[k] = 1;
                    stack.push((k, 0));
                }
                continue;
            }
            let longest = dependents[i]
                .iter()
                .filter(|&&k| state[k] == 2)
                .map(|&k| memo[k])
                .max()
                .unwrap_or(0);
            memo[i] = own(i) + longest;
            state[i] = 2;
            stack.pop();
        }
    }
    memo
}

/// `ready` (task indexes in select's order) sorted by remaining path, longest first; ties keep
/// select's order (priority, then file order).
pub fn by_remaining_path(graph: &Graph, ready: &[usize]) -> Vec<usize> {
    let path = remaining_path(graph);
    let mut v = ready.to_vec();
    v.sort_by_key(|&i| std::cmp::Reverse(path[i]));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskgraph::{Status, Task};

    fn task(id: &str, deps: &[&str], minutes: u64) -> Task {
        Task {
            id: id.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            estimated_time_minutes: Some(minutes),
            status: Status::Pending,
            ..Default::default()
        }
    }

    #[test]
    fn the_head_of_the_longest_chain_comes_first() {
        let g = Graph {
            tasks: vec![
                task("SHORT", &[], 30),
                task("HEAD", &[], 10),
                task("TAIL", &["HEAD"], 60),
                task("ALONE", &[], 30),
            ],
            ..Default::default()
        };
        assert_eq!(remaining_path(&g), vec![30, 70, 60, 30]);
        assert_eq!(by_remaining_path(&g, &[0, 1, 3]), vec![1, 0, 3]);
    }

    #[test]
    fn a_cycle_does_not_loop() {
        let g = Graph {
            tasks: vec![task("A", &["B"], 1), task("B", &["A"], 2)],
            ..Default::default()
        };
        assert_eq!(remaining_path(&g).len(), 2);
    }
}

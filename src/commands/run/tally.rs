//! The live display's summary line: how many tasks of the selection are done, running, waiting
//! and failed, the elapsed time, and the time left by the estimates (when the graph has any),
//! kept up to date from run's own events.

use std::collections::BTreeSet;
use std::time::Instant;

use super::events::Event;
use crate::taskgraph::schedule::{critical_path, sequential_minutes};
use crate::taskgraph::{Graph, Status};

/// What run has seen so far.
pub struct Tally {
    /// The graph when run began, statuses updated as tasks land or are given up.
    graph: Graph,
    scope: Option<BTreeSet<String>>,
    jobs: usize,
    began: Instant,
    running: BTreeSet<String>,
    failed_attempts: u32,
    estimated: bool,
}

impl Tally {
    pub fn new(graph: Graph, scope: Option<BTreeSet<String>>, jobs: usize) -> Tally {
        let estimated = graph
            .tasks
            .iter()
            .any(|t| t.estimated_time_minutes.is_some());
        Tally {
            graph,
            scope,
            jobs: jobs.max(1),
            began: Instant::now(),
            running: BTreeSet::new(),
            failed_attempts: 0,
            estimated,
        }
    }

    /// Takes `e` into account.
    pub fn on(&mut self, e: &Event) {
        let set = |g: &mut Graph, id: &str, s: Status| {
            if let Some(t) = g.tasks.iter_mut().find(|t| t.id == id) {
                t.status = s;
            }
        };
        match e {
            Event::Started { id, .. } => {
                self.running.insert(id.clone());
                set(&mut self.graph, id, Status::InProgress);
            }
            Event::Finished { id, .. } => {
                self.running.remove(id);
            }
            Event::AttemptFailed { id, .. } => {
                self.running.remove(id);
                self.failed_attempts += 1;
            }
            Event::Merged { id, .. } => set(&mut self.graph, id, Status::Completed),
            Event::Failed { id, .. } => set(&mut self.graph, id, Status::Failed),
            _ => {}
        }
    }

    /// `3/16 done · 4 running · 8 waiting · 1 given up · 2 failed attempts · 2:13 · ~40 min
    /// left by the estimates`.
    pub fn line(&self) -> String {
        let in_scope = |id: &str| self.scope.as_ref().is_none_or(|s| s.contains(id));
        let tasks: Vec<_> = self
            .graph
            .tasks
            .iter()
            .filter(|t| in_scope(&t.id))
            .collect();
        let done = tasks.iter().filter(|t| t.status.is_done()).count();
        let given_up = tasks
            .iter()
            .filter(|t| matches!(t.status, Status::Blocked | Status::Failed))
            .count();
        let running = self.running.len();
        let waiting = tasks.len().saturating_sub(done + given_up + running);
        let secs = self.began.elapsed().as_secs();
        let mut parts = vec![
            format!("{done}/{} done", tasks.len()),
            format!("{running} running"),
            format!("{waiting} waiting"),
        ];
        if given_up > 0 {
            parts.push(format!("{given_up} given up"));
        }
        if self.failed_attempts > 0 {
            parts.push(format!(
                "{} failed attempt{}",
                self.failed_attempts,
                if self.failed_attempts == 1 { "" } else { "s" }
            ));
        }
        parts.push(format!("{}:{:02} elapsed", secs / 60, secs % 60));
        if self.estimated {
            let left = critical_path(&self.graph)
                .minutes
                .max(sequential_minutes(&self.graph).div_ceil(self.jobs as u64));
            parts.push(format!("~{left} min left by the estimates"));
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(estimates: bool) -> Graph {
        let mut g = Graph::default();
        for id in ["A", "B", "C"] {
            g.tasks.push(crate::taskgraph::Task {
                id: id.into(),
                status: Status::Pending,
                estimated_time_minutes: estimates.then_some(10),
                ..Default::default()
            });
        }
        g
    }

    #[test]
    fn the_line_counts_and_says_the_time_left_only_with_estimates() {
        let mut t = Tally::new(graph(true), None, 2);
        t.on(&Event::Started {
            id: "A".into(),
            attempt: 1,
            branch: String::new(),
            worktree: String::new(),
            log: String::new(),
        });
        t.on(&Event::Merged {
            id: "B".into(),
            merge_commit: None,
            target_tip: String::new(),
        });
        let l = t.line();
        assert!(
            l.starts_with("1/3 done · 1 running · 1 waiting · 0:00 elapsed"),
            "{l}"
        );
        assert!(l.ends_with("~10 min left by the estimates"), "{l}");
        let t = Tally::new(graph(false), None, 2);
        assert!(!t.line().contains("left"), "{}", t.line());
    }
}

//! Why a task of `plan` sits in the wave it does rather than the one before: a dependency in
//! that wave, a path it shares with a task of that wave (the file and the task holding it), a
//! task that runs alone (`parallel_ok: false`), or the `--max` cap. Computed after the waves,
//! by the rules `waves_capped` fills a wave with.

use serde::Serialize;

use crate::taskgraph::schedule::conflict;
use crate::taskgraph::{Graph, Status};

/// What keeps a task out of the wave before its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    /// It depends on `task`, which runs in the wave before.
    Dependency {
        /// The dependency in the wave before.
        task: String,
    },
    /// It shares `file` (a path of its `produces`/`shared_files`) with `task`, which runs in
    /// the wave before (taken first: higher priority, or earlier in the file).
    SharedFile {
        /// Its path that overlaps one of `task`'s.
        file: String,
        /// The task of the wave before holding it.
        task: String,
    },
    /// `task` has `parallel_ok: false` and runs alone in a wave (`task` is the task itself when
    /// it is the one that must run alone).
    Alone {
        /// The task that runs alone.
        task: String,
    },
    /// The wave before already starts `max` tasks (`--max`, `parallel.maxTasks`).
    Max {
        /// The cap.
        max: usize,
    },
}

impl Why {
    /// In words, for the text output.
    pub fn text(&self) -> String {
        match self {
            Why::Dependency { task } => format!("after its dependency {task}"),
            Why::SharedFile { file, task } => format!("shares {file} with {task}"),
            Why::Alone { task } => format!("{task} runs alone (parallel_ok: false)"),
            Why::Max { max } => format!("the wave before already starts {max} tasks (--max)"),
        }
    }
}

/// For every task, why it is not in the wave before its own (`None`: in the first wave, or in
/// no wave).
pub fn reasons(
    graph: &Graph,
    waves: &[Vec<usize>],
    wave_of: &[Option<usize>],
    max: Option<usize>,
) -> Vec<Option<Why>> {
    let tasks = &graph.tasks;
    let index = |id: &str| tasks.iter().position(|t| t.id == id);
    (0..tasks.len())
        .map(|i| {
            let w = wave_of[i].filter(|&w| w > 0)?;
            let before = &waves[w - 1];
            let t = &tasks[i];
            if let Some(dep) = t
                .depends_on
                .iter()
                .find(|d| index(d).is_some_and(|j| wave_of[j] == Some(w - 1)))
            {
                return Some(Why::Dependency { task: dep.clone() });
            }
            if let Some(&solo) = before.iter().find(|&&k| !tasks[k].parallel_ok) {
                return Some(Why::Alone {
                    task: tasks[solo].id.clone(),
                });
            }
            if !t.parallel_ok {
                return Some(Why::Alone { task: t.id.clone() });
            }
            let started = before
                .iter()
                .filter(|&&k| tasks[k].status != Status::InProgress)
                .count();
            if let Some(m) = max.filter(|&m| started >= m) {
                return Some(Why::Max { max: m });
            }
            before.iter().find_map(|&k| {
                conflict(&tasks[k], t).map(|file| Why::SharedFile {
                    file,
                    task: tasks[k].id.clone(),
                })
            })
        })
        .collect()
}

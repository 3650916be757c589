//! Scheduling decisions over a `Graph` (pure functions; task indices into `graph.tasks`):
//! readiness, resource conflicts, what to start now, waves, critical path and time estimates.

use super::model::{Graph, Status, Task};

/// Why a task is not ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// Its own status is not pending/ready.
    Status(Status),
    /// A dependency is not completed or skipped.
    Dependency { dep: String, status: Status },
    /// A completed checkpoint dependency is not yet approved.
    Checkpoint { dep: String },
    /// `depends_on` names no task.
    UnknownDependency(String),
}

/// Why a task does not start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wait {
    Blocked(Vec<Blocker>),
    /// Its paths collide with a selected or running task.
    Conflict { with: String, path: String },
    /// `parallel_ok: false` and other work is selected or running.
    RunsAlone,
    /// Others are running and this one cannot join them.
    Busy,
}

/// What to start now, and why the rest waits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub run: Vec<usize>,
    pub waiting: Vec<(usize, Wait)>,
}

/// The longest dependency chain by estimated minutes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CriticalPath {
    pub tasks: Vec<usize>,
    pub minutes: u64,
}

pub fn blockers(_graph: &Graph, _idx: usize) -> Vec<Blocker> {
    Vec::new()
}

pub fn is_ready(graph: &Graph, idx: usize) -> bool {
    blockers(graph, idx).is_empty()
}

pub fn select(_graph: &Graph) -> Selection {
    Selection::default()
}

pub fn check_explicit(_graph: &Graph, _ids: &[usize]) -> Vec<(usize, Wait)> {
    Vec::new()
}

pub fn waves(_graph: &Graph) -> Vec<Vec<usize>> {
    Vec::new()
}

pub fn critical_path(_graph: &Graph) -> CriticalPath {
    CriticalPath::default()
}

pub fn sequential_minutes(graph: &Graph) -> u64 {
    graph.tasks.iter().filter_map(|t| t.estimated_time_minutes).sum()
}

pub fn parallel_minutes(_graph: &Graph) -> u64 {
    0
}

pub fn paths_overlap(_a: &str, _b: &str) -> bool {
    false
}

pub fn conflict(_a: &Task, _b: &Task) -> Option<String> {
    None
}

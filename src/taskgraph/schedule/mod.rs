//! Scheduling decisions over a `Graph` (pure functions; task indices into `graph.tasks`):
//! readiness, resource conflicts, what to start now, waves, critical path and time estimates.
//!
//! Rules: a task is ready when its status is pending or ready, every dependency is completed or
//! skipped, and no completed `checkpoint` dependency awaits approval (approved = has
//! `approved_at`, or some task depending on it has already started). Ready tasks are taken by
//! priority, then file order; `parallel_ok` tasks run together unless their paths overlap with
//! a running or already selected task; a `parallel_ok: false` task runs only alone.

use std::collections::HashMap;

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
    /// Its paths collide with a selected or running task (`path` as written in this task).
    Conflict {
        with: String,
        path: String,
    },
    /// `parallel_ok: false` and other work is selected or running.
    RunsAlone,
    /// Others are running (or selected) and one of them must run alone.
    Busy,
    /// The cap on tasks started at once (`start --max`, `parallel.maxTasks`) is reached.
    Capped,
}

/// What to start now, and why the rest waits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Tasks to start, in start order (priority, then file order).
    pub run: Vec<usize>,
    /// Every other task that is not running, done or skipped, with the reason; same order.
    pub waiting: Vec<(usize, Wait)>,
}

/// The longest dependency chain of remaining work by estimated minutes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CriticalPath {
    /// From the first task to the last.
    pub tasks: Vec<usize>,
    pub minutes: u64,
}

/// The graph plus a status per task (real or simulated) and an id index.
struct View<'a> {
    graph: &'a Graph,
    status: Vec<Status>,
    by_id: HashMap<&'a str, usize>,
    /// Simulation: completed checkpoints count as approved.
    all_approved: bool,
    /// Some task depending on this one has started (computed from the real statuses).
    dependent_started: Vec<bool>,
}

impl<'a> View<'a> {
    fn new(graph: &'a Graph) -> View<'a> {
        let mut by_id = HashMap::with_capacity(graph.tasks.len());
        for (i, t) in graph.tasks.iter().enumerate() {
            by_id.entry(t.id.as_str()).or_insert(i);
        }
        let mut v = View {
            graph,
            status: graph.tasks.iter().map(|t| t.status).collect(),
            by_id,
            all_approved: false,
            dependent_started: vec![false; graph.tasks.len()],
        };
        for k in 0..graph.tasks.len() {
            if v.started(k) {
                for d in &graph.tasks[k].depends_on {
                    if let Some(&j) = v.by_id.get(d.as_str()) {
                        v.dependent_started[j] = true;
                    }
                }
            }
        }
        v
    }

    fn task(&self, i: usize) -> &'a Task {
        &self.graph.tasks[i]
    }

    fn started(&self, i: usize) -> bool {
        matches!(
            self.status[i],
            Status::InProgress | Status::Completed | Status::Failed
        ) || self.task(i).started_at.is_some()
    }

    /// A completed checkpoint is approved by `approved_at` or by a dependent having started.
    fn approved(&self, j: usize) -> bool {
        self.all_approved || self.task(j).approved_at.is_some() || self.dependent_started[j]
    }

    fn blockers(&self, idx: usize) -> Vec<Blocker> {
        let Some(t) = self.graph.tasks.get(idx) else {
            return Vec::new();
        };
        let st = self.status[idx];
        if !matches!(st, Status::Pending | Status::Ready) {
            return vec![Blocker::Status(st)];
        }
        let mut out = Vec::new();
        for dep in &t.depends_on {
            match self.by_id.get(dep.as_str()) {
                None => out.push(Blocker::UnknownDependency(dep.clone())),
                Some(&j) => {
                    let ds = self.status[j];
                    if !ds.is_done() {
                        out.push(Blocker::Dependency {
                            dep: dep.clone(),
                            status: ds,
                        });
                    } else if ds == Status::Completed
                        && self.task(j).checkpoint
                        && !self.approved(j)
                    {
                        out.push(Blocker::Checkpoint { dep: dep.clone() });
                    }
                }
            }
        }
        out
    }

    /// Why `c` cannot join `occupied` (running tasks first, then selected ones), if it can't.
    /// `paths` indexes the paths of `occupied`: the pairwise search for the conflicting task
    /// only runs when the index says there is one.
    fn why_not(&self, c: usize, occupied: &[usize], paths: &PathIndex<'a>) -> Option<Wait> {
        if paths.solo {
            return Some(Wait::Busy);
        }
        if !self.task(c).parallel_ok && paths.tasks > 0 {
            return Some(Wait::RunsAlone);
        }
        if !paths.conflicts(self.task(c)) {
            return None;
        }
        occupied.iter().find_map(|&o| {
            conflict(self.task(o), self.task(c)).map(|path| Wait::Conflict {
                with: self.task(o).id.clone(),
                path,
            })
        })
    }

    fn select(&self, max: Option<usize>) -> Selection {
        let n = self.graph.tasks.len();
        let mut order: Vec<usize> = (0..n)
            .filter(|&i| !matches!(self.status[i], Status::InProgress) && !self.status[i].is_done())
            .collect();
        order.sort_by_key(|&i| (self.task(i).priority, i));
        let mut occupied: Vec<usize> = (0..n)
            .filter(|&i| self.status[i] == Status::InProgress)
            .collect();
        let mut paths = PathIndex::default();
        for &o in &occupied {
            paths.add(self.task(o));
        }
        let mut sel = Selection::default();
        for c in order {
            let b = self.blockers(c);
            if !b.is_empty() {
                sel.waiting.push((c, Wait::Blocked(b)));
                continue;
            }
            if max.is_some_and(|m| sel.run.len() >= m) {
                sel.waiting.push((c, Wait::Capped));
                continue;
            }
            match self.why_not(c, &occupied, &paths) {
                Some(w) => sel.waiting.push((c, w)),
                None => {
                    occupied.push(c);
                    paths.add(self.task(c));
                    sel.run.push(c);
                }
            }
        }
        sel
    }
}

/// The running and selected tasks, for O(path depth) checks: every path's components and every
/// prefix of them, how many tasks, and whether one of them must run alone.
#[derive(Default)]
struct PathIndex<'a> {
    full: std::collections::HashSet<Vec<&'a str>>,
    prefixes: std::collections::HashSet<Vec<&'a str>>,
    tasks: usize,
    /// Some task added is `parallel_ok: false`.
    solo: bool,
}

impl<'a> PathIndex<'a> {
    fn add(&mut self, t: &'a Task) {
        self.tasks += 1;
        self.solo |= !t.parallel_ok;
        for p in t.paths() {
            let c = components(p);
            for k in 0..=c.len() {
                self.prefixes.insert(c[..k].to_vec());
            }
            self.full.insert(c);
        }
    }

    /// Some path of `t` overlaps an indexed path (one is a component prefix of the other).
    fn conflicts(&self, t: &Task) -> bool {
        t.paths().any(|p| {
            let c = components(p);
            self.prefixes.contains(&c) || (0..=c.len()).any(|k| self.full.contains(&c[..k]))
        })
    }
}

/// Why task `idx` is not ready; empty = ready.
pub fn blockers(graph: &Graph, idx: usize) -> Vec<Blocker> {
    View::new(graph).blockers(idx)
}

/// Ready to start: pending/ready, dependencies done, checkpoints approved.
pub fn is_ready(graph: &Graph, idx: usize) -> bool {
    idx < graph.tasks.len() && blockers(graph, idx).is_empty()
}

/// What `start` with no ids would start now (running = tasks `in_progress`).
pub fn select(graph: &Graph) -> Selection {
    View::new(graph).select(None)
}

/// `select` starting at most `max` tasks (highest priority first, then file order); the rest
/// of the ready tasks wait with [`Wait::Capped`].
pub fn select_capped(graph: &Graph, max: Option<usize>) -> Selection {
    View::new(graph).select(max)
}

/// `blockers` of many tasks, sharing one view of the graph.
pub fn blockers_of(graph: &Graph, idx: &[usize]) -> Vec<Vec<Blocker>> {
    let v = View::new(graph);
    idx.iter().map(|&i| v.blockers(i)).collect()
}

/// For explicit task indices (in the given order): which may not start, and why. Checks
/// readiness, then conflicts with running tasks and with the earlier accepted ones.
pub fn check_explicit(graph: &Graph, ids: &[usize]) -> Vec<(usize, Wait)> {
    let v = View::new(graph);
    let mut occupied: Vec<usize> = (0..graph.tasks.len())
        .filter(|&i| v.status[i] == Status::InProgress)
        .collect();
    let mut paths = PathIndex::default();
    for &o in &occupied {
        paths.add(v.task(o));
    }
    let mut refused = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &c in ids {
        if c >= graph.tasks.len() || !seen.insert(c) {
            continue;
        }
        let b = v.blockers(c);
        if !b.is_empty() {
            refused.push((c, Wait::Blocked(b)));
            continue;
        }
        match v.why_not(c, &occupied, &paths) {
            Some(w) => refused.push((c, w)),
            None => {
                occupied.push(c);
                paths.add(v.task(c));
            }
        }
    }
    refused
}

/// The waves a full run would take: each wave = tasks started together, assuming every task
/// of a wave completes (and completed checkpoints are approved) before the next. Completed and
/// skipped tasks are in no wave; `in_progress` tasks are in the first. Tasks that can never
/// start (failed or unknown dependencies, cycles) are in none. At most `max` newly started
/// tasks per wave when given (the `start --max` / `parallel.maxTasks` cap; running tasks are
/// not counted).
///
/// Incremental (Kahn's algorithm): a task becomes a candidate when its last unfinished
/// dependency completes; each wave scans the candidates by priority and file order with the
/// same rules as `select`. Linear in tasks + dependencies for chains and wide graphs.
pub fn waves_capped(graph: &Graph, max: Option<usize>) -> Vec<Vec<usize>> {
    let v = View::new(graph);
    let n = graph.tasks.len();
    let tasks = &graph.tasks;
    // Unfinished dependencies per task, and dependents per task. A task with an unknown
    // dependency or a status other than pending/ready never becomes a candidate.
    let mut waiting_on = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut eligible = vec![false; n];
    for (i, t) in tasks.iter().enumerate() {
        eligible[i] = matches!(v.status[i], Status::Pending | Status::Ready);
        for d in &t.depends_on {
            match v.by_id.get(d.as_str()) {
                None => eligible[i] = false,
                Some(&j) if !v.status[j].is_done() => {
                    waiting_on[i] += 1;
                    dependents[j].push(i);
                }
                Some(_) => {}
            }
        }
    }
    let mut candidates: std::collections::BTreeSet<(super::model::Priority, usize)> = (0..n)
        .filter(|&i| eligible[i] && waiting_on[i] == 0)
        .map(|i| (tasks[i].priority, i))
        .collect();
    let mut running: Vec<usize> = (0..n)
        .filter(|&i| v.status[i] == Status::InProgress)
        .collect();
    let mut out = Vec::new();
    loop {
        let mut wave = std::mem::take(&mut running);
        let mut paths = PathIndex::default();
        for &o in &wave {
            paths.add(&tasks[o]);
        }
        let mut started = 0;
        if !paths.solo {
            for &(_, c) in &candidates {
                if max.is_some_and(|m| started >= m) {
                    break;
                }
                let t = &tasks[c];
                if !t.parallel_ok {
                    if wave.is_empty() {
                        wave.push(c);
                        break; // runs alone
                    }
                    continue;
                }
                if paths.conflicts(t) {
                    continue;
                }
                paths.add(t);
                wave.push(c);
                started += 1;
            }
        }
        if wave.is_empty() {
            return out;
        }
        for &i in &wave {
            candidates.remove(&(tasks[i].priority, i));
            for &k in &dependents[i] {
                waiting_on[k] -= 1;
                if waiting_on[k] == 0 && eligible[k] {
                    candidates.insert((tasks[k].priority, k));
                }
            }
        }
        out.push(wave);
    }
}

fn minutes(t: &Task) -> u64 {
    t.estimated_time_minutes.unwrap_or(0)
}

/// Longest chain of remaining (not completed/skipped) tasks by estimated minutes (missing = 0).
/// Tasks on a dependency cycle are ignored.
pub fn critical_path(graph: &Graph) -> CriticalPath {
    let v = View::new(graph);
    let n = graph.tasks.len();
    let live = |i: usize| !graph.tasks[i].status.is_done();
    // Resolved dependency edges between remaining tasks.
    let deps: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let mut d: Vec<usize> = graph.tasks[i]
                .depends_on
                .iter()
                .filter_map(|d| v.by_id.get(d.as_str()).copied())
                .filter(|&j| j != i && live(j))
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    // Kahn's algorithm over dependents.
    let mut indeg: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    let mut queue: Vec<usize> = (0..n).filter(|&i| live(i) && indeg[i] == 0).collect();
    let mut best: Vec<u64> = vec![0; n];
    let mut prev: Vec<Option<usize>> = vec![None; n];
    let mut done = vec![false; n];
    let mut head = 0;
    while head < queue.len() {
        let i = queue[head];
        head += 1;
        done[i] = true;
        let base = deps[i]
            .iter()
            .filter(|&&j| done[j])
            .max_by_key(|&&j| (best[j], std::cmp::Reverse(j)))
            .copied();
        prev[i] = base;
        best[i] = base.map_or(0, |j| best[j]) + minutes(&graph.tasks[i]);
        for &k in &dependents[i] {
            indeg[k] -= 1;
            if indeg[k] == 0 && live(k) {
                queue.push(k);
            }
        }
    }
    let Some(end) = (0..n)
        .filter(|&i| done[i])
        .max_by_key(|&i| (best[i], std::cmp::Reverse(i)))
    else {
        return CriticalPath::default();
    };
    let mut tasks = vec![end];
    let mut cur = end;
    while let Some(p) = prev[cur] {
        tasks.push(p);
        cur = p;
    }
    tasks.reverse();
    CriticalPath {
        tasks,
        minutes: best[end],
    }
}

/// Sum of the estimated minutes of the remaining (not completed/skipped) tasks.
pub fn sequential_minutes(graph: &Graph) -> u64 {
    graph
        .tasks
        .iter()
        .filter(|t| !t.status.is_done())
        .map(minutes)
        .sum()
}

/// Sum over `waves` of the estimate of the longest task of each wave (missing = 0).
pub fn parallel_minutes(graph: &Graph, waves: &[Vec<usize>]) -> u64 {
    waves
        .iter()
        .map(|w| {
            w.iter()
                .map(|&i| minutes(&graph.tasks[i]))
                .max()
                .unwrap_or(0)
        })
        .sum()
}

/// A path as comparable components: `./` and empty components dropped; a glob pattern is cut
/// at its first component with a wildcard (it stands for that directory).
fn components(p: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for c in p.split(['/', '\\']) {
        if c.is_empty() || c == "." {
            continue;
        }
        if c.contains(['*', '?', '[']) {
            break;
        }
        out.push(c);
    }
    out
}

/// Resource conflict: the same path, or one is inside the other (a directory prefix at a
/// component boundary). `src/a` and `src/ab` do not overlap; `src/` and `src/a.rs` do.
pub fn paths_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (components(a), components(b));
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Whether `file` lies within the declared path: the same file, inside the declared directory,
/// or under the fixed directory part of a glob (`e2e/tests/*.spec.ts` covers `e2e/tests/…`).
pub fn path_contains(declared: &str, file: &str) -> bool {
    let (d, f) = (components(declared), components(file));
    d.len() <= f.len() && f[..d.len()] == d[..]
}

/// The first path of `b` (as written in `b`) that overlaps a path of `a`.
pub fn conflict(a: &Task, b: &Task) -> Option<String> {
    let pa: Vec<&str> = a.paths().collect();
    b.paths()
        .find(|pb| pa.iter().any(|x| paths_overlap(x, pb)))
        .map(str::to_string)
}

#[cfg(test)]
mod tests;

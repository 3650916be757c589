//! What `run` reports: one [`Event`] per thing that happened (a JSON line each with `--json`,
//! a line on stderr or the live display otherwise) and the final [`Summary`].

use serde::Serialize;

/// One event of `run` (`--json`: one object per line, `"event"` naming the kind).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An agent attempt began in the task's worktree.
    Started {
        /// The task id.
        id: String,
        /// The attempt, from 1.
        attempt: u32,
        /// The task's branch.
        branch: String,
        /// The task's worktree (absolute); with `--executor ssh`, `<host>:<clone dir>` of the
        /// host the attempt was dispatched to; with `--executor command`, `command`.
        worktree: String,
        /// The log the agent's output is appended to (with a remote executor: the dispatch's
        /// output; the agent's own log is on the worker's machine).
        log: String,
    },
    /// An attempt failed: the agent exited non-zero, made no commits, timed out, or finish
    /// refused its work (conflict, files outside its paths, the test gate).
    AttemptFailed {
        /// The task id.
        id: String,
        /// The attempt that failed.
        attempt: u32,
        /// What failed: `exit`, `timeout`, `no-commits`, `conflict`, `outside-paths`,
        /// `test-gate` or `refused`.
        kind: crate::workflow::failure::Kind,
        /// Why, in one line (the details are in the log and in
        /// `.git/parallel/run/failures/<ID>.txt`).
        reason: String,
        /// The files concerned (conflicting, outside the task's paths), else `[]`.
        files: Vec<String>,
        /// The last line the agent printed in that attempt, `null` when none.
        last_output: Option<String>,
        /// The task's log.
        log: String,
    },
    /// The agent is run again in the same worktree (its partial work kept).
    Retried {
        /// The task id.
        id: String,
        /// The new attempt.
        attempt: u32,
    },
    /// The agent exited 0 with commits of its own on the task's branch.
    Finished {
        /// The task id.
        id: String,
        /// The attempt that succeeded.
        attempt: u32,
        /// Commits on the branch not on the target.
        commits: usize,
    },
    /// The test gate began on the merge of these tasks (their landing), in the background:
    /// agents go on starting meanwhile.
    Testing {
        /// The tasks whose landing is tested.
        ids: Vec<String>,
        /// The merged result tested (the merges without the task file's status change).
        commit: String,
        /// The test command.
        test: String,
    },
    /// The background test gate of these tasks' landing ended. Passed: they land next (tested
    /// again first if the target changed meanwhile in files other than the task file); failed:
    /// the way a failing gate goes (the batch bisected, failed attempts with the test output).
    Tested {
        /// The tasks whose landing was tested.
        ids: Vec<String>,
        /// The commit tested.
        commit: String,
        /// Whether the test passed.
        passed: bool,
    },
    /// `run --dry-run`: what run would do now; nothing was changed.
    Plan {
        /// The ready tasks it would start first, in the order it takes them (longest
        /// remaining path first), at most `-j`.
        start: Vec<String>,
        /// Tasks in progress: their agent would run (again), or their work would land.
        resume: Vec<String>,
        /// The other unfinished tasks of the selection, started as what they wait for lands
        /// (or, for a checkpoint's dependents, is approved).
        later: Vec<String>,
        /// How many agents at once (`-j`, `parallel.maxTasks`).
        jobs: usize,
        /// Where attempts run: `local`, `ssh` or `command`.
        executor: String,
    },
    /// The task's branch was merged into the target and the task marked completed.
    Merged {
        /// The task id.
        id: String,
        /// Its merge commit (`null` when the branch had nothing to merge).
        merge_commit: Option<String>,
        /// The target's tip after the finish that merged it.
        target_tip: String,
    },
    /// The task used up its retries and was marked failed; its branch and worktree are kept
    /// (`git parallel retry ID` gives it another round, `git parallel skip ID` drops it).
    Failed {
        /// The task id.
        id: String,
        /// Its failed attempts.
        failures: u32,
        /// Why the last attempt failed.
        reason: String,
        /// The kept branch.
        branch: String,
        /// The kept worktree.
        worktree: String,
    },
    /// Nothing else can run and this task waits (for a checkpoint's approval, or on a task that
    /// did not complete).
    Waiting {
        /// The task id.
        id: String,
        /// The completed checkpoints that must be approved first (`git parallel approve ID`).
        approve: Vec<String>,
        /// Why it waits, in words.
        reason: String,
    },
}

impl Event {
    /// The event as one line of text, git-like.
    pub fn line(&self) -> String {
        match self {
            Event::Started { id, attempt, .. } => format!("{id}: started (attempt {attempt})"),
            Event::AttemptFailed {
                id,
                attempt,
                reason,
                log,
                last_output,
                ..
            } => {
                let said = last_output.as_deref().map_or(String::new(), |l| {
                    let l = crate::taskgraph::display::safe(l);
                    format!("; its last output: \"{}\"", crate::taskgraph::display::truncate(l, 80))
                });
                format!(
                    "{id}: attempt {attempt} failed: {reason}{said} (log: {})",
                    relative_to_cwd(log)
                )
            }
            Event::Retried { id, attempt } => format!("{id}: retrying (attempt {attempt})"),
            Event::Finished {
                id,
                attempt,
                commits,
            } => format!("{id}: agent done after attempt {attempt}, {commits} commit(s)"),
            Event::Testing { ids, test, .. } => format!(
                "{}: testing their merge with `{test}` (agents go on meanwhile)",
                ids.join(", ")
            ),
            Event::Tested { ids, passed, .. } => format!(
                "{}: the test {} on their merge",
                ids.join(", "),
                if *passed { "passed" } else { "failed" }
            ),
            Event::Plan {
                start,
                resume,
                later,
                jobs,
                executor,
            } => {
                let list = |v: &[String]| match v.is_empty() {
                    true => "none".to_string(),
                    false => v.join(", "),
                };
                format!(
                    "would start now ({executor}, -j {jobs}, longest remaining path first): {}\nin progress, run again or landed: {}\nlater, as what they wait for lands: {}\nnothing was changed (--dry-run)",
                    list(start),
                    list(resume),
                    list(later)
                )
            }
            Event::Merged { id, .. } => format!("{id}: merged and completed"),
            Event::Failed {
                id,
                failures,
                worktree,
                ..
            } => format!(
                "{id}: failed after {failures} failed attempts (branch and worktree kept: {worktree})"
            ),
            Event::Waiting { id, reason, .. } => format!("{id}: waits: {reason}"),
        }
    }
}

/// The end of a `run` (`--json`: the last line, `"event": "summary"`).
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Tasks completed by this run, in the order they were merged.
    pub completed: Vec<String>,
    /// Tasks marked failed by this run after using up their retries (the exit code is then 1).
    pub failed: Vec<String>,
    /// Tasks that wait for a completed checkpoint's approval, each with the checkpoints.
    pub waiting_for_approval: Vec<Waiting>,
    /// Tasks of the selection that did not run, with why (a dependency failed…).
    pub not_run: Vec<NotRun>,
    /// Agent attempts made by this run.
    pub attempts: u32,
    /// Whether run was interrupted (SIGINT, SIGTERM, SIGHUP) and stopped early.
    pub interrupted: bool,
    /// Seconds from start to end of this run.
    pub wall_seconds: u64,
    /// The plan's estimate when run began: the sum of the remaining tasks' minutes.
    pub sequential_minutes: u64,
    /// The plan's estimate when run began: the minutes of the critical path.
    pub critical_path_minutes: u64,
    /// The cost the agents reported in this run, in US dollars (`null`: none reported one).
    pub cost_usd: Option<f64>,
    /// The tokens the agents reported in this run (`null`: none reported any).
    pub tokens: Option<u64>,
    /// The budget that stopped run launching attempts (`--max-cost`, `--deadline`), if one did.
    pub budget_reached: Option<String>,
    /// Per task that had attempts in this run: what they used.
    pub results: std::collections::BTreeMap<String, TaskResult>,
    /// The ignored files finish kept of removed worktrees (`.git/parallel/ignored/`) when the
    /// run ended (`null`: none).
    pub kept_ignored: Option<crate::workflow::kept_space::KeptSpace>,
    /// The test gate's kept worktree and its size (`null`: none).
    pub gate_worktree: Option<crate::workflow::kept_space::GateSpace>,
}

/// One task's part of a run.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct TaskResult {
    /// What its attempts used.
    pub metrics: Metrics,
}

/// What a task's attempts used in one run.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Metrics {
    /// Agent attempts.
    pub attempts: u32,
    /// Seconds its agents ran, added up.
    pub seconds: f64,
    /// Tokens its agents reported (`null`: none reported any).
    pub tokens: Option<u64>,
    /// Cost its agents reported, in US dollars (`null`: none reported one).
    pub cost_usd: Option<f64>,
}

impl Metrics {
    /// Adds one attempt that ran `seconds` and used `usage`.
    pub fn add(&mut self, seconds: f64, usage: &crate::workflow::presets::Usage) {
        self.attempts += 1;
        self.seconds += seconds;
        self.tokens = add_opt(self.tokens, usage.tokens);
        self.cost_usd = match (self.cost_usd, usage.cost_usd) {
            (a, None) => a,
            (a, Some(c)) => Some(a.unwrap_or(0.0) + c),
        };
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// A task waiting for approvals.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Waiting {
    /// The task id.
    pub id: String,
    /// The completed checkpoints to approve (`git parallel approve ID`).
    pub approve: Vec<String>,
}

/// A task of the selection that did not run.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct NotRun {
    /// The task id.
    pub id: String,
    /// Why, in words.
    pub reason: String,
}

/// `path` relative to the current directory (where run was started) when it lies below it.
fn relative_to_cwd(path: &str) -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_string();
    };
    std::path::Path::new(path)
        .strip_prefix(&cwd)
        .ok()
        .and_then(|p| p.to_str())
        .map_or_else(|| path.to_string(), str::to_string)
}

//! What an agent sees of its task, the same under `run` and `exec`: the `GIT_PARALLEL_*`
//! variables and the task brief (description, the task's other fields, what it produces, the
//! paths it may change, its dependencies, and why the last attempt failed), written under
//! `<state dir>/run/briefs/`.

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};

use super::failure::Failure;
use crate::error::Result;
use crate::taskgraph::Task;

/// `<state dir>/run`: run's logs, briefs, failures and attempt records.
pub fn run_dir(repo: &crate::git::Repo) -> Utf8PathBuf {
    crate::txn::state_dir(repo).join("run")
}

/// The brief of `id`.
pub fn brief_path(run_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    run_dir.join("briefs").join(format!("{id}.md"))
}

/// The log of `id`'s agent.
pub fn log_path(run_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    run_dir.join("logs").join(format!("{id}.log"))
}

/// One task's environment for its agent (or an `exec` command).
pub struct AgentEnv {
    pub id: String,
    pub name: String,
    pub product: String,
    /// The task's `agent` field.
    pub agent: String,
    /// The branch, short (`feature/…`).
    pub branch: String,
    pub worktree: Utf8PathBuf,
    /// The task file, absolute.
    pub task_file: Utf8PathBuf,
    pub brief: Utf8PathBuf,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The last failure's text file, when an attempt failed before.
    pub last_failure: Option<Utf8PathBuf>,
}

impl AgentEnv {
    /// The variables, names and values.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            ("TASK_ID", self.id.as_str()),
            ("TASK_NAME", self.name.as_str()),
            ("TASK_FILE", self.task_file.as_str()),
            ("TASK_BRIEF", self.brief.as_str()),
            ("PRODUCT", self.product.as_str()),
            ("AGENT", self.agent.as_str()),
            ("BRANCH", self.branch.as_str()),
            ("WORKTREE", self.worktree.as_str()),
        ]
        .iter()
        .map(|(k, v)| (format!("GIT_PARALLEL_{k}"), v.to_string()))
        .collect();
        v.push(("GIT_PARALLEL_ATTEMPT".into(), self.attempt.to_string()));
        if let Some(f) = &self.last_failure {
            v.push(("GIT_PARALLEL_LAST_FAILURE".into(), f.to_string()));
        }
        v
    }

    /// Sets the variables on `cmd` (and removes a LAST_FAILURE inherited from outside).
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env_remove("GIT_PARALLEL_LAST_FAILURE");
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
    }
}

/// Writes the task's brief (description, acceptance criteria, what it produces, its paths,
/// and the last failure when there is one) to `path`, for GIT_PARALLEL_TASK_BRIEF.
pub fn write_brief(path: &Utf8Path, task: &Task, last: Option<&Failure>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| crate::fatal!("cannot create {dir}: {e}"))?;
    }
    let mut s = format!("# {}: {}\n\n", task.id, task.name);
    if let Some(f) = last {
        s.push_str(&last_failure_section(f));
    }
    if let Some(d) = &task.description {
        s.push_str(&format!("## Description\n\n{}\n\n", d.trim_end()));
    }
    for (key, value) in &task.extra {
        let (Some(k), Ok(v)) = (key.as_str(), serde_yaml::to_string(value)) else {
            continue;
        };
        s.push_str(&format!("## {k}\n\n{}\n", v.trim_end()));
        s.push('\n');
    }
    if !task.produces.is_empty() {
        s.push_str("## Produces\n\n");
        for a in &task.produces {
            let name = a.name.as_deref().unwrap_or("-");
            let path = a.path.as_deref().unwrap_or("-");
            s.push_str(&format!("- {name}: {path}\n"));
        }
        s.push('\n');
    }
    s.push_str("## Paths it may change\n\n");
    for p in task.paths() {
        s.push_str(&format!("- {p}\n"));
    }
    if !task.depends_on.is_empty() {
        s.push_str(&format!(
            "\n## Depends on\n\n{}\n",
            task.depends_on.join(", ")
        ));
    }
    std::fs::write(path, s).map_err(|e| crate::fatal!("cannot write the task brief {path}: {e}"))
}

/// The brief's section on the last failed attempt: what failed and what to do about it.
fn last_failure_section(f: &Failure) -> String {
    use super::failure::Kind;
    let todo = match f.kind {
        Kind::Conflict => "The target was merged into this worktree for you and the merge is in progress: the files below hold conflict markers. Resolve them, `git add` them and `git commit` to conclude the merge (or `git merge --abort` to start over). When the merge could not be made here, merge the target yourself.",
        Kind::TestGate => "The test gate failed with this task merged onto the target; its output is below. Fix the work and commit.",
        Kind::OutsidePaths => "Commits of this task change files outside the paths it may change (below). Move or revert those changes, then commit.",
        Kind::NoCommits => "The agent exited 0 without committing anything. Commit the work.",
        Kind::Timeout => "The agent ran past the time limit and was stopped. The worktree keeps what it did.",
        Kind::Exit | Kind::Refused => "The worktree keeps what the last attempt did.",
        Kind::LeaseExpired => "The worker running the last attempt stopped renewing its lease (it died or lost the remote); what it pushed, if anything, is on the task branch.",
    };
    format!(
        "## The last attempt failed\n\n{todo}\n\n```\n{}```\n\n",
        f.text()
    )
}

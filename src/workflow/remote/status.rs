//! `git parallel status --remote NAME`: the tasks as the shared remote has them — per started
//! task, its branch tip on the remote, how many commits it is ahead of the remote's target, and
//! whether this clone has it (other clones are not known: git keeps no record of who fetched).

use serde::Serialize;
use std::fmt;

use crate::error::{Error, Result};
use crate::git::remote::{fetch, fetched_ref};
use crate::git::short_branch;
use crate::taskgraph::{Status, TaskFile};
use crate::txn::steps::shared::short;
use crate::workflow::context::Context;
use crate::workflow::report::{self, Report};
use crate::workflow::session::Session;

/// The started tasks as the remote has them (`--json`: `remote`, `target`, `target_tip`,
/// `tasks`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct RemoteStatus {
    /// The remote fetched from.
    remote: String,
    /// The target branch.
    target: String,
    /// The target's tip on the remote.
    target_tip: String,
    /// Each task the remote's task file has in progress or failed, in file order.
    tasks: Vec<RemoteTask>,
}

/// One started task on the remote.
#[derive(Serialize, schemars::JsonSchema)]
struct RemoteTask {
    /// The task id.
    id: String,
    /// Its status in the remote's task file.
    status: String,
    /// Its branch.
    branch: String,
    /// The branch's tip on the remote; `null` when the remote has no such branch.
    remote_tip: Option<String>,
    /// Commits on the remote branch that the remote's target does not have.
    ahead: Option<usize>,
    /// The branch's tip in this clone; `null` when this clone does not have it.
    here: Option<String>,
    /// The worktree of the branch in this clone, if any.
    worktree_here: Option<String>,
    /// Which other clones have the branch checked out: always "unknown" (a git remote keeps
    /// no record of its clones).
    elsewhere: String,
    /// The task's lease on the remote (`refs/parallel/lease/<ID>`: where a worker of `run
    /// --executor` or `git parallel work` runs it); `null` when it has none.
    lease: Option<super::attempts::LeaseState>,
}

/// Fetches `remote` and reports its started tasks.
pub(crate) fn show(ctx: &Context, remote: &str) -> Result<()> {
    fetch(&ctx.repo.loc, remote).map_err(|e| {
        crate::fatal!(
            help = "check that the remote is reachable (git fetch {remote})",
            "cannot fetch from {remote}: {e}"
        )
    })?;
    let env = Session::load_readonly(ctx)?;
    let repo = &ctx.repo;
    let t = short_branch(&env.target);
    let Some(tip) = repo.ref_id(&fetched_ref(remote, &env.target))? else {
        return Err(crate::refused!(
            help = "publish it first: git push {remote} {t}",
            "the remote {remote} has no branch {t} (the target)"
        ));
    };
    let text = match &env.task_rel {
        Some(rel) => repo.file_at(tip, rel)?,
        None => None,
    };
    let tf = match text {
        Some(bytes) => {
            let text = TaskFile::decode(&env.tf.path, bytes).map_err(Error::Refused)?;
            TaskFile::parse(&env.tf.path, text).map_err(Error::Refused)?
        }
        None => {
            return Err(crate::refused!(
                help = "commit the task file on {t} and publish it: git push {remote} {t}",
                "the task file is not on {remote}'s {t}"
            ))
        }
    };
    let worktrees = repo.worktrees()?;
    let board = super::attempts::read_all(&repo.loc, remote).map_err(|e| {
        crate::fatal!(
            help = "check that the remote is reachable (git ls-remote {remote})",
            "cannot read the leases on {remote}: {e}"
        )
    })?;
    let timeout = super::attempts::lease_timeout(&repo.settings)?;
    let now = crate::time::now_secs();
    let mut tasks = Vec::new();
    for task in tf
        .graph
        .tasks
        .iter()
        .filter(|t| matches!(t.status, Status::InProgress | Status::Failed))
    {
        let branch = env.branch_of(task);
        let remote_tip = repo.ref_id(&fetched_ref(remote, &branch))?;
        let ahead = match remote_tip {
            Some(b) => {
                let base = repo.merge_base(tip, b)?.unwrap_or(tip);
                Some(repo.count_between(base, b)?)
            }
            None => None,
        };
        tasks.push(RemoteTask {
            id: task.id.clone(),
            status: task.status.to_string(),
            branch: short_branch(&branch).to_string(),
            remote_tip: remote_tip.map(|o| o.to_string()),
            ahead,
            here: repo.ref_id(&branch)?.map(|o| o.to_string()),
            worktree_here: worktrees
                .iter()
                .find(|w| w.branch.as_deref() == Some(branch.as_str()))
                .map(|w| env.show(&w.path)),
            elsewhere: "unknown".into(),
            lease: board.state(&task.id, now, timeout),
        });
    }
    let status = RemoteStatus {
        remote: remote.to_string(),
        target: t.to_string(),
        target_tip: tip.to_string(),
        tasks,
    };
    report::emit(&ctx.out, "status", &status);
    Ok(())
}

impl fmt::Display for RemoteStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} on {} is at {}.",
            self.target,
            self.remote,
            short(&self.target_tip)
        )?;
        if self.tasks.is_empty() {
            return writeln!(f, "No task is in progress there.");
        }
        for t in &self.tasks {
            let tip = match (&t.remote_tip, t.ahead) {
                (Some(tip), Some(n)) => format!("at {}, {n} ahead", short(tip)),
                (Some(tip), None) => format!("at {}", short(tip)),
                _ => format!("not on {}", self.remote),
            };
            let here = match (&t.here, &t.worktree_here) {
                (_, Some(w)) => format!("here in {w}"),
                (Some(h), None) if Some(h) == t.remote_tip.as_ref() => "here (branch only)".into(),
                (Some(h), None) => format!("here at {} (branch only)", short(h)),
                (None, None) => "not here".into(),
            };
            let elsewhere = match &t.lease {
                Some(l) => format!("worker: {}", l.describe()),
                None => format!("other clones: {}", t.elsewhere),
            };
            writeln!(
                f,
                "  {}  {}  {}  {tip}  {here}; {elsewhere}",
                t.id, t.status, t.branch
            )?;
        }
        Ok(())
    }
}

impl Report for RemoteStatus {}

//! Joining a task started on another clone, as `join` and `work` do it: its worktree made here
//! on its branch (brought from the remote, which also becomes the branch's upstream so a plain
//! `git push` in the worktree publishes the work), set up like `start` does (include files,
//! postStart), as one transaction.

use crate::txn::steps::AddWorktree;
use crate::txn::Meta;
use camino::Utf8PathBuf;
use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::git::short_branch;
use crate::taskgraph::Status;
use crate::txn::{Plan, Step};
use crate::workflow::context::Context;
use crate::workflow::driver::Prepared;
use crate::workflow::report::Report;
use crate::workflow::session::Session;
use crate::workflow::suggest::unknown_id_hint;
use crate::workflow::worktrees::{include_files, launch_line};

/// The worktree made for a task started elsewhere (`--json`: `id`, `branch`, `worktree`,
/// `upstream`, `next`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Joined {
    /// The task id.
    pub id: String,
    /// Its branch.
    pub branch: String,
    /// The new worktree.
    #[schemars(with = "String")]
    pub worktree: Utf8PathBuf,
    /// The remote set as the branch's upstream (`git push` there publishes); `null` without
    /// `--remote`.
    pub upstream: Option<String>,
    /// The command that takes you there (`parallel.launch`, default `cd {worktree}`).
    pub next: String,
}

/// The plan that joins task `id` here (its worktree on its branch) and its report; `upstream`:
/// the remote the branch is taken from, set as its upstream after the plan ran.
pub fn prepare(ctx: &Context, id: &str, upstream: Option<String>) -> Result<Prepared<Joined>> {
    let env = Session::load(ctx)?;
    let Some(i) = env.tf.index_of(id) else {
        return Err(crate::refused!(
            help = "see 'git parallel status'",
            "{id}: no such task in {}; {}",
            env.tf.path,
            unknown_id_hint(&env.tf, id)
        ));
    };
    let task = &env.tf.graph.tasks[i];
    if task.status != Status::InProgress {
        return Err(crate::refused!(
            help = "start it first (git parallel start {id}, with --remote to publish it)",
            "{id}: status is {}, not in_progress",
            task.status
        ));
    }
    let branch = env.branch_of(task);
    let b = short_branch(&branch);
    if ctx.repo.ref_id(&branch)?.is_none() {
        return Err(crate::refused!(
            help = "join with --remote NAME (or git config parallel.remote NAME) to take it from the shared remote",
            "{id}: its branch {b} is not in this clone{}",
            upstream
                .as_deref()
                .map(|r| format!(" nor on {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(w) = env.worktree_of(task)? {
        let shown = env.show(&w.path);
        return Err(crate::refused!(
            help = "work there: cd {shown}",
            "{id} already has a worktree here: {shown}"
        ));
    }
    let path = env.worktree_path(task);
    if std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some()) || path.is_file() {
        return Err(crate::refused!(
            help = "move it away, or set parallel.worktreeTemplate",
            "{id}: {} already exists and is not an empty directory",
            env.show(&path)
        ));
    }
    let plan = Plan {
        command: "join".into(),
        summary: format!("join {id}"),
        steps: vec![Step::AddWorktree(AddWorktree {
            path: path.clone(),
            branch: branch.clone(),
            copy: include_files(&env)?,
            post_start: ctx.repo.settings.post_start(),
            env: Default::default(),
        })],
        commit_point: None,
        meta: Meta::tasks([id]),
    };
    let report = Joined {
        id: id.to_string(),
        branch: b.to_string(),
        next: launch_line(&env, id, &branch, &path),
        worktree: path,
        upstream,
    };
    Ok(Prepared::new(plan, report))
}

impl fmt::Display for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Joined {} on {} in {}.",
            self.id, self.branch, self.worktree
        )?;
        if let Some(r) = &self.upstream {
            writeln!(
                f,
                "Its upstream is {r}: commit there and 'git push' publishes the work."
            )?;
        }
        writeln!(f, "Next:\n  {}", self.next)
    }
}

impl Report for Joined {}

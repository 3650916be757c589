//! `git parallel path ID`: the absolute worktree path of a started task, for
//! `cd "$(git parallel path ID)"`.

use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::git::short_branch;
use crate::taskgraph::Status;
use crate::workflow::context::Context;
use crate::workflow::report::{self, Report};
use crate::workflow::session::Session;

/// The worktree of a started task (`--json`: `id`, `status`, `path`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct TaskPath {
    /// The task.
    id: String,
    /// Its status.
    #[schemars(with = "String")]
    status: Status,
    /// Absolute path of the worktree that has the task's branch checked out.
    #[schemars(with = "String")]
    path: camino::Utf8PathBuf,
}

impl fmt::Display for TaskPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path)
    }
}

/// The path is the answer: printed even with `-q`.
impl Report for TaskPath {
    fn essential(&self) -> bool {
        true
    }
}

pub fn run(ctx: &Context) -> Result<()> {
    let env = Session::load_readonly(ctx)?;
    let id = ctx
        .args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let Some(task) = env.tf.task(id) else {
        return Err(crate::refused!(
            help = crate::workflow::suggest::unknown_id_hint(&env.tf, id),
            "no task '{id}' in {}",
            env.show(&env.task_path)
        ));
    };
    let Some(wt) = env.worktree_of(task)? else {
        if crate::workflow::worktrees::in_progress_elsewhere(&env, task)? {
            return Err(crate::refused!(
                help = format!("to start it here, reset it first: git parallel abort {id} && git parallel start {id}"),
                "{}; it has no worktree here",
                crate::workflow::worktrees::elsewhere_note(&env, task)
            ));
        }
        let branch = env.branch_of(task);
        let branch = short_branch(&branch);
        return Err(match task.status {
            Status::Pending | Status::Ready => crate::refused!(
                help = format!("start it first: git parallel start {id}"),
                "task {id} has no worktree: it is {} (not started)",
                task.status
            ),
            Status::InProgress | Status::Failed => crate::refused!(
                help = format!(
                    "recreate it with: git worktree add <path> {branch}; or abort the task: git parallel abort {id}"
                ),
                "task {id} is {} but no worktree has its branch {branch} checked out",
                task.status
            ),
            _ => crate::refused!(
                help = format!("only started tasks have a worktree (git parallel start {id} for pending ones)"),
                "task {id} has no worktree: it is {}",
                task.status
            ),
        });
    };
    let answer = TaskPath {
        id: task.id.clone(),
        status: task.status,
        path: wt.path,
    };
    report::emit(&ctx.out, "path", &answer);
    Ok(())
}

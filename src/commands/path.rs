//! `git parallel path ID`: the absolute worktree path of a started task, for
//! `cd "$(git parallel path ID)"`.

use serde_json::json;

use super::common::{self, short_branch, Env};
use super::render::{json_text, write_stdout};
use crate::context::Context;
use crate::error::Result;
use crate::taskgraph::Status;

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load_readonly(ctx)?;
    let id = ctx
        .args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let Some(task) = env.tf.task(id) else {
        return Err(crate::refused!(
            help = super::common::unknown_id_hint(&env.tf, id),
            "no task '{id}' in {}",
            env.show(&env.task_path)
        ));
    };
    let Some(wt) = env.worktree_of(task)? else {
        if super::worktrees::in_progress_elsewhere(&env, task)? {
            return Err(crate::refused!(
                help = format!("to start it here, reset it first: git parallel abort {id} && git parallel start {id}"),
                "{}; it has no worktree here",
                super::worktrees::elsewhere_note(&env, task)
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
    if ctx.out.json {
        write_stdout(&json_text(&common::json_envelope(
            "path",
            json!({ "id": task.id, "status": task.status, "path": wt.path }),
        )));
    } else {
        write_stdout(&format!("{}\n", wt.path));
    }
    Ok(())
}

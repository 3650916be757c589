//! The plan that marks a task `blocked` (committed on the target), its branch and worktree
//! kept: `retry` uses it for a task out of retries, `run` for a task whose agent used up its
//! attempts.

use super::session::Session;
use crate::error::Result;
use crate::taskgraph::{Edit, Status, Task};
use crate::txn::Meta;
use crate::txn::Plan;

/// The plan of `command` that records `status: blocked` for `task` after `failures`
/// failures, with `extra` edits of the task (e.g. its `retry_count` and `result`).
pub fn plan(
    env: &Session,
    task: &Task,
    command: &str,
    failures: u32,
    extra: Vec<Edit>,
) -> Result<Plan> {
    let id = task.id.as_str();
    let now = crate::time::now_iso();
    let mut edits = vec![Edit::status(id, Status::Blocked)];
    edits.extend(extra);
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let message = format!(
        "chore({}): block {id} after {failures} failures",
        env.product
    );
    let (steps, _) = env.task_file_steps(&edits, &message, false)?;
    Ok(Plan {
        command: command.into(),
        summary: format!("block {id}"),
        steps,
        commit_point: None,
        meta: Meta {
            blocked: Some(true),
            ..Meta::tasks([id])
        },
    })
}

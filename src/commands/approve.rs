//! `git parallel approve ID`: record `approved_at` on a completed checkpoint task, committed on
//! the target, so the tasks depending on it become ready.
//!
//! Refused (exit 1) when the task is not a checkpoint or not completed. A checkpoint that already
//! has `approved_at` is left alone: a note, exit 0 (approving twice is not an error).

use crate::txn::Meta;
use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::taskgraph::{schedule, Edit, Status};
use crate::txn::Plan;
use crate::workflow::context::Context;
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::report::Report;
use crate::workflow::select::named_task;
use crate::workflow::session::Session;

/// What `approve` did (`--json`: `approved`, `already_approved`, `ready`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Approved {
    /// The checkpoint task and when it was approved.
    approved: Approval,
    /// True when it had been approved before (nothing changed).
    already_approved: bool,
    /// Dependents the approval makes ready.
    ready: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct Approval {
    /// The task id.
    id: String,
    /// `approved_at` as recorded in the task file (RFC 3339, UTC).
    approved_at: String,
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

fn prepare(ctx: &Context) -> Result<Prepared<Approved>> {
    let env = Session::load(ctx)?;
    let task = named_task(&env, "approve")?;
    let id = task.id.as_str();
    if !task.checkpoint {
        return Err(crate::refused!(
            help = crate::workflow::suggest::status_advice(task),
            "cannot approve {id}: it is not a checkpoint (its status is {}); only checkpoints wait for approval",
            task.status
        ));
    }
    if task.status != Status::Completed {
        return Err(crate::refused!(
            help = crate::workflow::suggest::status_advice(task),
            "cannot approve {id}: its status is {}, not completed (a checkpoint is approved once its work is merged)",
            task.status
        ));
    }
    if let Some(at) = &task.approved_at {
        return Ok(Prepared::nothing(Approved {
            approved: Approval {
                id: id.to_string(),
                approved_at: at.clone(),
            },
            already_approved: true,
            ready: Vec::new(),
        }));
    }

    let now = crate::time::now_iso();
    let edits = vec![
        Edit::task(id, "approved_at", now.as_str()),
        Edit::metadata("updated_at", now.as_str()),
    ];
    let message = format!("chore({}): approve {id}", env.product);
    let (steps, _) = env.task_file_steps(&edits, &message, false)?;
    let plan = Plan {
        command: "approve".into(),
        summary: format!("approve {id}"),
        steps,
        commit_point: None,
        meta: Meta::tasks([id]),
    };
    let ready = newly_ready(&env, id, &now);
    Ok(Prepared::new(
        plan,
        Approved {
            approved: Approval {
                id: id.to_string(),
                approved_at: now,
            },
            already_approved: false,
            ready,
        },
    ))
}

/// Dependents of `id` that its approval at `now` makes ready (on the graph as it will be).
fn newly_ready(env: &Session, id: &str, now: &str) -> Vec<String> {
    let mut graph = env.tf.graph.clone();
    let before: Vec<bool> = (0..graph.tasks.len())
        .map(|k| schedule::is_ready(&graph, k))
        .collect();
    if let Some(i) = env.tf.index_of(id) {
        graph.tasks[i].approved_at = Some(now.to_string());
    }
    (0..graph.tasks.len())
        .filter(|&k| !before[k] && graph.tasks[k].depends_on.iter().any(|d| d == id))
        .filter(|&k| schedule::is_ready(&graph, k))
        .map(|k| graph.tasks[k].id.clone())
        .collect()
}

impl fmt::Display for Approved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Approval { id, approved_at } = &self.approved;
        if self.already_approved {
            return writeln!(
                f,
                "{id} was already approved at {approved_at}; nothing to do."
            );
        }
        writeln!(f, "Approved {id}.")?;
        if self.ready.is_empty() {
            writeln!(f, "No task became ready by it (see 'git parallel status').")
        } else {
            writeln!(f, "Now ready: {}", self.ready.join(", "))?;
            writeln!(f, "Next: git parallel start")
        }
    }
}

impl Report for Approved {}

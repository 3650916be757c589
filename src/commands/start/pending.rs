//! The records `run` left uncommitted in the main worktree's task file (starts, and the
//! completion of tasks that produce nothing; see src/commands/run/mod.rs, "History"),
//! committed on the target in one commit when run ends.

use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::txn::{Meta, Plan};
use crate::workflow::context::Context;
use crate::workflow::driver::{drive_report, Prepared};
use crate::workflow::report::Report;
use crate::workflow::session::Session;

/// The records `run` left uncommitted in the main worktree's task file (see
/// [`Session::pending_records`]) committed on the target, as the `chore(…): start …` commit a
/// start by hand makes (`chore(…): start A; complete B` when there are completions): what
/// `run` does at its end for the records no landing or failure has committed since. Nothing
/// to do when none are pending.
pub fn commit_pending(ctx: &Context) -> Result<PendingCommitted> {
    let env = Session::load(ctx)?;
    let Some(pending) = env.pending_records()? else {
        return drive_report(ctx, Prepared::nothing(PendingCommitted::default()));
    };
    let records = pending.records;
    let mut what = Vec::new();
    if !records.started.is_empty() {
        what.push(format!("start {}", records.started.join(", ")));
    }
    if !records.completed.is_empty() {
        what.push(format!("complete {}", records.completed.join(", ")));
    }
    let message = format!("chore({}): {}", env.product, what.join("; "));
    let (steps, _) = env.task_file_text_steps(env.tf.source.clone(), &message, false)?;
    let mut ids: Vec<&str> = records.started.iter().map(String::as_str).collect();
    ids.extend(records.completed.iter().map(String::as_str));
    let plan = Plan {
        command: "start".into(),
        summary: format!("commit the records of {}", ids.join(", ")),
        steps,
        commit_point: None,
        meta: Meta::tasks(ids.iter().copied()),
    };
    drive_report(
        ctx,
        Prepared::new(
            plan,
            PendingCommitted {
                committed: records.started,
                completed: records.completed,
            },
        ),
    )
}

/// The tasks whose pending records were committed ([`commit_pending`]).
#[derive(Serialize, schemars::JsonSchema, Default)]
pub struct PendingCommitted {
    /// The tasks whose start is now committed on the target (empty: none was pending).
    pub committed: Vec<String>,
    /// The tasks that produce nothing whose completion (without a merge) is now committed.
    pub completed: Vec<String>,
}

impl fmt::Display for PendingCommitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.committed.is_empty() {
            writeln!(f, "Committed the start of {}.", self.committed.join(", "))?;
        }
        if !self.completed.is_empty() {
            writeln!(
                f,
                "Committed the completion of {}.",
                self.completed.join(", ")
            )?;
        }
        Ok(())
    }
}

impl Report for PendingCommitted {}

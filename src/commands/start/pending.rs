//! `start`'s records that `run` left uncommitted in the main worktree's task file (see
//! src/commands/run/mod.rs, "History"), committed on the target in one commit when run ends.

use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::txn::{Meta, Plan};
use crate::workflow::context::Context;
use crate::workflow::driver::{drive_report, Prepared};
use crate::workflow::report::Report;
use crate::workflow::session::Session;

/// The start records `run` left uncommitted in the main worktree's task file (see
/// [`Session::pending_starts`]) committed on the target, as the `chore(…): start …` commit a
/// start by hand makes: what `run` does at its end for the tasks it started that no landing
/// or failure has committed since. Nothing to do when none are pending.
pub fn commit_pending(ctx: &Context) -> Result<PendingCommitted> {
    let env = Session::load(ctx)?;
    let Some(pending) = env.pending_starts()? else {
        return drive_report(
            ctx,
            Prepared::nothing(PendingCommitted {
                committed: Vec::new(),
            }),
        );
    };
    let message = format!("chore({}): start {}", env.product, pending.ids.join(", "));
    let (steps, _) = env.task_file_text_steps(env.tf.source.clone(), &message, false)?;
    let plan = Plan {
        command: "start".into(),
        summary: format!("commit the start of {}", pending.ids.join(", ")),
        steps,
        commit_point: None,
        meta: Meta::tasks(pending.ids.iter().map(String::as_str)),
    };
    drive_report(
        ctx,
        Prepared::new(
            plan,
            PendingCommitted {
                committed: pending.ids,
            },
        ),
    )
}

/// The tasks whose pending start records were committed ([`commit_pending`]).
#[derive(Serialize, schemars::JsonSchema)]
pub struct PendingCommitted {
    /// The tasks whose start is now committed on the target (empty: none was pending).
    pub committed: Vec<String>,
}

impl fmt::Display for PendingCommitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.committed.is_empty() {
            return Ok(());
        }
        writeln!(f, "Committed the start of {}.", self.committed.join(", "))
    }
}

impl Report for PendingCommitted {}

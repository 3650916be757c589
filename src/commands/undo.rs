//! `git parallel undo`: reverse the last completed operation by applying the inverse of each
//! of its steps, newest first, through the transaction engine (refs move back only from the
//! values the operation left, so anything changed since makes it refuse).
//!
//! Undo deletes a backup (`refs/parallel/backup/*`) only when the same undo puts a branch back
//! at exactly that commit (so nothing is held by the backup alone); any other backup — e.g. the
//! `-wip` commit of `abort --force`'s uncommitted changes — is left for `git parallel gc`.
//! Undoing `abort --force` puts the saved uncommitted changes back into the re-made worktree,
//! and a worktree the undo removes (undo of `start`) has its ignored files kept first
//! (src/txn/steps/keep/).

use crate::txn::steps::Refs;
use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::txn::{self, keep, Plan, Step};
use crate::workflow::backup::BACKUP_PREFIX;
use crate::workflow::context::Context;
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::report::Report;

/// What `undo` reversed (`--json`: `undone`, `ignored_files`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Undone {
    /// The summary of the operation reversed (as its plan's `summary`). Running undo again
    /// reverses the operation before it.
    undone: String,
    /// As in abort: the ignored files of worktrees the undo removed (undo of start), kept or
    /// deleted.
    ignored_files: Vec<keep::Kept>,
    #[serde(skip)]
    kept_lines: Vec<String>,
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

fn prepare(ctx: &Context) -> Result<Prepared<Undone>> {
    txn::ensure_no_pending(&ctx.repo)?;
    let (mut plan, undone) = txn::undo_plan(&ctx.repo)?;
    keep_backups(&mut plan);
    let kept = keep::keep_ignored(&ctx.repo, &mut plan.steps, &[], keep::BuildOutput::Keep)?;
    let kept_lines = keep::kept_lines(&kept, |p| ctx.display_path(p));
    let report = Undone {
        undone,
        ignored_files: kept,
        kept_lines,
    };
    Ok(Prepared::new(plan, report))
}

impl fmt::Display for Undone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Undid '{}'.", self.undone)?;
        for line in &self.kept_lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl Report for Undone {}

/// Drops from an undo plan the deletions of backup refs whose commit no restored branch holds:
/// such a backup outlives the undo (gc trims it after parallel.keepBackups days).
fn keep_backups(plan: &mut Plan) {
    let restored: Vec<gix::ObjectId> = plan
        .steps
        .iter()
        .flat_map(|s| match s {
            Step::Refs(Refs { updates, .. }) => updates.as_slice(),
            _ => &[],
        })
        .filter(|u| u.name.starts_with("refs/heads/"))
        .filter_map(|u| u.new)
        .collect();
    for s in plan.steps.iter_mut() {
        if let Step::Refs(Refs { updates, .. }) = s {
            updates.retain(|u| {
                let deletes_backup = u.name.starts_with(BACKUP_PREFIX) && u.new.is_none();
                !deletes_backup || u.old.as_ref().is_some_and(|o| restored.contains(o))
            });
        }
    }
    plan.steps
        .retain(|s| !matches!(s, Step::Refs(Refs { updates, .. }) if updates.is_empty()));
}

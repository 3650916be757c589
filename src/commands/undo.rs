//! `git parallel undo`: reverse the last completed operation by applying the inverse of each
//! of its steps, newest first, through the transaction engine (refs move back only from the
//! values the operation left, so anything changed since makes it refuse).
//!
//! Undo deletes a backup (`refs/parallel/backup/*`) only when the same undo puts a branch back
//! at exactly that commit (so nothing is held by the backup alone); any other backup — e.g. the
//! `-wip` commit of `abort --force`'s uncommitted changes — is left for `git parallel gc`.
//! Undoing `abort --force` puts the saved uncommitted changes back into the re-made worktree,
//! and a worktree the undo removes (undo of `start`) has its ignored files kept first
//! (src/txn/keep.rs).

use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::txn::{self, keep, Plan, Step};

use super::backup::BACKUP_PREFIX;

pub fn run(ctx: &Context) -> Result<()> {
    txn::ensure_no_pending(&ctx.repo)?;
    let mut plan = txn::undo_plan(&ctx.repo)?;
    keep_backups(&mut plan);
    let kept = keep::keep_ignored(&ctx.repo, &mut plan.steps, &[])?;
    if ctx.args.on(&defs::DRY_RUN) {
        if ctx.out.json {
            super::common::print_json(&super::common::json_envelope(
                "undo",
                serde_json::json!({ "dry_run": true, "plan": plan }),
            ));
        } else {
            crate::output::print_str(&plan.to_string());
        }
        return Ok(());
    }
    let summary = plan.summary.clone();
    txn::execute(&ctx.repo, plan)?;
    if ctx.out.json {
        super::common::print_json(&super::common::json_envelope(
            "undo",
            serde_json::json!({
                "undone": summary.trim_start_matches("undo "),
                "ignored_files": kept,
            }),
        ));
    } else if !ctx.out.quiet {
        println!("Undid '{}'.", summary.trim_start_matches("undo "));
        keep::print_kept(&kept, &ctx.out, |p| ctx.display_path(p));
    }
    Ok(())
}

/// Drops from an undo plan the deletions of backup refs whose commit no restored branch holds:
/// such a backup outlives the undo (gc trims it after parallel.keepBackups days).
fn keep_backups(plan: &mut Plan) {
    let restored: Vec<String> = plan
        .steps
        .iter()
        .flat_map(|s| match s {
            Step::Refs { updates, .. } => updates.as_slice(),
            _ => &[],
        })
        .filter(|u| u.name.starts_with("refs/heads/"))
        .filter_map(|u| u.new.clone())
        .collect();
    for s in plan.steps.iter_mut() {
        if let Step::Refs { updates, .. } = s {
            updates.retain(|u| {
                let deletes_backup = u.name.starts_with(BACKUP_PREFIX) && u.new.is_none();
                !deletes_backup || u.old.as_ref().is_some_and(|o| restored.contains(o))
            });
        }
    }
    plan.steps
        .retain(|s| !matches!(s, Step::Refs { updates, .. } if updates.is_empty()));
}

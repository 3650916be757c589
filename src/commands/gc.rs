//! `git parallel gc`: delete backup refs (`refs/parallel/backup/*`) and kept ignored files
//! (`<git dir>/parallel/ignored/*`, see src/txn/keep.rs) older than `parallel.keepBackups` days
//! (default 30), as one transaction (compare-and-swap for the refs).
//!
//! A backup's age counts from when the backup was made: the time of the newest operation in
//! the log (`.git/parallel/log`) that set the ref to its value, else the newest entry of its
//! reflog. Never the dates of the commits it holds (old work backed up today is a new backup);
//! a backup of unknown age is kept.

use super::backup::BACKUP_PREFIX;
use super::common;
use super::render::{plural, print_dry_run};
use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::git::RefUpdate;
use crate::txn::{self, keep, Plan, Step};

const DAY: u64 = 86_400;

struct Backup {
    name: String,
    id: gix::ObjectId,
    /// Seconds since the epoch.
    time: Option<u64>,
    age_days: u64,
}

pub fn run(ctx: &Context) -> Result<()> {
    txn::ensure_no_pending(&ctx.repo)?;
    let keep = ctx.repo.config_int("parallel.keepBackups")?.unwrap_or(30);
    let keep = u64::try_from(keep).map_err(|_| {
        crate::fatal!(
            help = "set it to a number of days: git config parallel.keepBackups 30",
            "parallel.keepBackups must not be negative (it is {keep})"
        )
    })?;
    let now = crate::time::parse_iso(&crate::time::now_iso()).unwrap_or(0);
    let mut old = Vec::new();
    let mut kept = Vec::new();
    let log = txn::oplog::read(&txn::state_dir(&ctx.repo))?;
    for (name, id) in ctx.repo.refs_under(BACKUP_PREFIX)? {
        let time = backup_time(ctx, &log, &name, id);
        let age = time.map(|t| now.saturating_sub(t)).unwrap_or(0);
        let b = Backup {
            name,
            id,
            time,
            age_days: age / DAY,
        };
        // Without a time (made by hand or before the log, no reflog) a backup is never deleted.
        if time.is_some() && age >= keep.saturating_mul(DAY) {
            old.push(b);
        } else {
            kept.push(b);
        }
    }
    let old_dirs: Vec<keep::KeptDir> = keep::kept_dirs(&ctx.repo)?
        .into_iter()
        .filter(|d| {
            d.time
                .is_some_and(|t| now.saturating_sub(t) >= keep.saturating_mul(DAY))
        })
        .collect();
    if old.is_empty() && old_dirs.is_empty() {
        return report(ctx, keep, &old, &kept, &old_dirs, false);
    }
    let mut steps = Vec::new();
    if !old.is_empty() {
        steps.push(Step::Refs {
            updates: old
                .iter()
                .map(|b| RefUpdate {
                    name: b.name.clone(),
                    old: Some(b.id.to_string()),
                    new: None,
                })
                .collect(),
            message: format!("git-parallel: gc backups older than {keep} days"),
        });
    }
    for d in &old_dirs {
        steps.push(Step::Keep(keep::Keep::IgnoredTrim { dir: d.dir.clone() }));
    }
    let mut summary = format!("gc {} backup ref{}", old.len(), plural(old.len()));
    if !old_dirs.is_empty() {
        summary.push_str(&format!(
            ", {} dir{} of kept ignored files",
            old_dirs.len(),
            plural(old_dirs.len())
        ));
    }
    let plan = Plan {
        command: "gc".into(),
        summary,
        steps,
        commit_point: None,
        meta: serde_json::json!({ "deleted": old.iter().map(|b| &b.name).collect::<Vec<_>>() }),
    };
    if ctx.args.on(&defs::DRY_RUN) {
        print_dry_run(ctx, "gc", &plan);
        return Ok(());
    }
    txn::execute(&ctx.repo, plan)?;
    report(ctx, keep, &old, &kept, &old_dirs, true)
}

/// When the backup was made: the newest logged operation that set `name` to `id`, else the
/// newest entry of its reflog; None when neither says.
fn backup_time(
    ctx: &Context,
    log: &[txn::oplog::Entry],
    name: &str,
    id: gix::ObjectId,
) -> Option<u64> {
    let id = id.to_string();
    let from_oplog = log
        .iter()
        .rev()
        .find(|e| {
            e.steps.iter().any(|s| match s {
                Step::Refs { updates, .. } => updates
                    .iter()
                    .any(|u| u.name == name && u.new.as_deref() == Some(id.as_str())),
                _ => false,
            })
        })
        .and_then(|e| crate::time::parse_iso(&e.time));
    from_oplog.or_else(|| {
        let r = ctx.repo.gix.find_reference(name).ok()?;
        let mut platform = r.log_iter();
        let mut rev = platform.rev().ok()??;
        let line = rev.next()?.ok()?;
        u64::try_from(line.signature.time.seconds).ok()
    })
}

fn report(
    ctx: &Context,
    keep: u64,
    old: &[Backup],
    kept: &[Backup],
    old_dirs: &[keep::KeptDir],
    deleted: bool,
) -> Result<()> {
    let entry = |b: &Backup| {
        serde_json::json!({
            "ref": b.name,
            "commit": b.id.to_string(),
            "time": b.time.map(crate::time::iso),
            "age_days": b.age_days,
        })
    };
    if ctx.out.json {
        common::print_json(&common::json_envelope(
            "gc",
            serde_json::json!({
                "keep_days": keep,
                "deleted": old.iter().map(entry).collect::<Vec<_>>(),
                "kept": kept.iter().map(entry).collect::<Vec<_>>(),
                "deleted_ignored_dirs": old_dirs.iter().map(|d| d.dir.as_str()).collect::<Vec<_>>(),
            }),
        ));
        return Ok(());
    }
    if ctx.out.quiet {
        return Ok(());
    }
    if !deleted {
        if kept.is_empty() {
            println!("Nothing to delete: there are no backup refs.");
        } else {
            println!(
                "Nothing to delete: {} backup ref{}, none older than {keep} day{} (parallel.keepBackups).",
                kept.len(),
                plural(kept.len()),
                plural(keep as usize)
            );
        }
        return Ok(());
    }
    for d in old_dirs {
        println!(
            "Deleted kept ignored files older than {keep} day{}: {}",
            plural(keep as usize),
            ctx.display_path(&d.dir)
        );
    }
    if old.is_empty() {
        return Ok(());
    }
    println!(
        "Deleted {} backup ref{} older than {keep} day{}:",
        old.len(),
        plural(old.len()),
        plural(keep as usize)
    );
    for b in old {
        println!(
            "  {}  {}  ({} day{} old)",
            b.name,
            crate::txn::step::short(&b.id.to_string()),
            b.age_days,
            plural(b.age_days as usize)
        );
    }
    if !kept.is_empty() {
        println!(
            "Kept {} newer backup ref{}.",
            kept.len(),
            plural(kept.len())
        );
    }
    Ok(())
}

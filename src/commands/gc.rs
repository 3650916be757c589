//! `git parallel gc`: delete backup refs (`refs/parallel/backup/*`) and kept ignored files
//! (`<git dir>/parallel/ignored/*`, see src/txn/steps/keep/) older than `parallel.keepBackups` days
//! (default 30), trim the pool of parked worktrees to `parallel.poolSize` (src/workflow/pool.rs),
//! and delete regenerable build output in the kept ignored files beyond
//! `parallel.keepIgnoredMax` (src/txn/steps/keep/cap.rs), as one transaction (compare-and-swap
//! for the refs). Also removes the kept test gate worktree (src/txn/gate_worktree.rs) when no
//! gate used it for `parallel.keepBackups` days or `parallel.gateWorktree` is `temp`: it holds
//! only regenerable build output.
//!
//! A backup's age counts from when the backup was made: the time of the newest operation in
//! the log (`.git/parallel/log`) that set the ref to its value, else the newest entry of its
//! reflog. Never the dates of the commits it holds (old work backed up today is a new backup);
//! a backup of unknown age is kept.

use crate::txn::steps::Refs;
use crate::txn::Meta;
use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::git::RefUpdate;
use crate::txn::{self, keep, Plan, Step};
use crate::workflow::backup::BACKUP_PREFIX;
use crate::workflow::context::Context;
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::render::plural;
use crate::workflow::report::Report;

const DAY: u64 = 86_400;

/// What `gc` deleted and kept (`--json`: `keep_days`, `deleted`, `kept`, `deleted_ignored_dirs`,
/// `trimmed_pool`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Collected {
    /// `parallel.keepBackups` (default 30).
    keep_days: u64,
    /// The backup refs (`refs/parallel/backup/*`) deleted: at least `keep_days` days old; `[]`
    /// when none.
    deleted: Vec<Backup>,
    /// The others.
    kept: Vec<Backup>,
    /// Directories of kept ignored files (`$GIT_COMMON_DIR/parallel/ignored/<seconds>-<worktree>`)
    /// deleted: at least `keep_days` days old by the time in their name.
    deleted_ignored_dirs: Vec<String>,
    /// Parked worktrees removed from the pool to keep it within `parallel.poolSize` (all of
    /// them with `parallel.reuseWorktrees` off), oldest first; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trimmed_pool: Vec<String>,
    /// The kept test gate worktree (`$GIT_COMMON_DIR/parallel/gate`) removed, its build output
    /// with it: unused for `keep_days` days, or `parallel.gateWorktree` is `temp`; absent when
    /// it was not removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_gate_worktree: Option<String>,
    /// Regenerable build output deleted from the kept ignored files to bring them within
    /// `parallel.keepIgnoredMax`, oldest first (nothing that could be someone's work); absent when
    /// they were within it.
    #[serde(skip_serializing_if = "Option::is_none")]
    capped: Option<keep::cap::Capped>,
    #[serde(skip)]
    dirs_shown: Vec<String>,
    #[serde(skip)]
    pool_lines: Vec<String>,
    #[serde(skip)]
    cap_lines: Vec<String>,
}

/// One backup ref.
#[derive(Serialize, schemars::JsonSchema)]
struct Backup {
    /// Its full name.
    #[serde(rename = "ref")]
    name: String,
    /// The id it pointed at.
    #[serde(with = "crate::git::hex")]
    #[schemars(with = "String")]
    commit: gix::ObjectId,
    /// When the backup was made: the newest operation in the log that set the ref to that
    /// commit, else its newest reflog entry; never the commit's own dates; `null` when neither
    /// is known, and such a backup is never deleted.
    time: Option<String>,
    /// Whole days since `time`; 0 without one.
    age_days: u64,
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

fn prepare(ctx: &Context) -> Result<Prepared<Collected>> {
    txn::ensure_no_pending(&ctx.repo)?;
    let keep = ctx.repo.settings.keep_backups()?;
    let keep = u64::try_from(keep).map_err(|_| {
        crate::fatal!(
            help = "set it to a number of days: git config parallel.keepBackups 30",
            "parallel.keepBackups must not be negative (it is {keep})"
        )
    })?;
    let now = crate::time::now_secs();
    let (old, kept) = backups(ctx, now, keep)?;
    let old_dirs: Vec<keep::KeptDir> = keep::kept_dirs(&ctx.repo)?
        .into_iter()
        .filter(|d| {
            d.time
                .is_some_and(|t| now.saturating_sub(t) >= keep.saturating_mul(DAY))
        })
        .collect();
    let (trims, trimmed) = match ctx.repo.main_worktree.as_deref() {
        Some(main) => {
            let cap = if ctx.repo.settings.reuse_worktrees() {
                ctx.repo.settings.pool_size()?
            } else {
                0
            };
            crate::workflow::pool::trim_steps(ctx, main, cap)?
        }
        None => Default::default(),
    };
    let mut pool_lines = crate::workflow::pool::lines(&trims, |p| ctx.display_path(p));
    let n_trims = trims.len();
    let mut trim_steps = trims;
    let trimmed_kept =
        keep::keep_ignored(&ctx.repo, &mut trim_steps, &[], keep::BuildOutput::Drop)?;
    pool_lines.extend(keep::kept_lines(&trimmed_kept, |p| ctx.display_path(p)));
    let adding = trimmed_kept
        .iter()
        .filter(|k| k.dir.is_some())
        .map(|k| k.bytes)
        .sum();
    let going: Vec<camino::Utf8PathBuf> = old_dirs.iter().map(|d| d.dir.clone()).collect();
    let capped = keep::cap::plan(&ctx.repo, adding, &going)?;
    let drops = capped.as_ref().map(|c| c.steps()).unwrap_or_default();
    let mut plan = (!old.is_empty() || !old_dirs.is_empty() || n_trims > 0 || !drops.is_empty())
        .then(|| build_plan(keep, &old, &old_dirs));
    if let Some(plan) = plan.as_mut() {
        if n_trims > 0 {
            plan.summary
                .push_str(&format!(", trim {n_trims} parked worktree(s)"));
            plan.steps.extend(trim_steps);
        }
        if !drops.is_empty() {
            plan.summary
                .push_str(", regenerable kept ignored files beyond parallel.keepIgnoredMax");
            plan.steps.extend(drops);
        }
    }
    let removed_gate_worktree = gate_worktree(ctx, now, keep)?;
    let report = Collected {
        keep_days: keep,
        deleted: old,
        kept,
        deleted_ignored_dirs: old_dirs.iter().map(|d| d.dir.to_string()).collect(),
        dirs_shown: old_dirs.iter().map(|d| ctx.display_path(&d.dir)).collect(),
        trimmed_pool: trimmed.iter().map(|p| p.path.to_string()).collect(),
        cap_lines: capped
            .as_ref()
            .map(|c| c.lines(|p| ctx.display_path(p)))
            .unwrap_or_default(),
        capped,
        pool_lines,
        removed_gate_worktree,
    };
    Ok(match plan {
        Some(plan) => Prepared::new(plan, report),
        None => Prepared::nothing(report),
    })
}

/// Removes the kept test gate worktree when no gate used it for `keep` days (or gates use
/// temporary worktrees) and none uses it now; its path when removed. Not with `--dry-run`.
/// Outside the transaction: its removal is crash-safe by itself (src/txn/worktree.rs) and
/// nothing in it needs undoing (build output).
fn gate_worktree(ctx: &Context, now: u64, keep: u64) -> Result<Option<String>> {
    let repo = &ctx.repo;
    let old = txn::gate_worktree::last_used(repo)
        .is_none_or(|t| now.saturating_sub(t) >= keep.saturating_mul(DAY));
    if repo.plan_only || (!old && repo.settings.gate_worktree_kept()) {
        return Ok(None);
    }
    let removed = txn::gate_worktree::remove(repo)?;
    Ok(removed.then(|| txn::gate_worktree::path(repo).to_string()))
}

/// The backup refs, split into those older than `keep` days (to delete) and the others.
fn backups(ctx: &Context, now: u64, keep: u64) -> Result<(Vec<Backup>, Vec<Backup>)> {
    let mut old = Vec::new();
    let mut kept = Vec::new();
    let log = txn::oplog::read(&txn::state_dir(&ctx.repo))?;
    for (name, id) in ctx.repo.refs_under(BACKUP_PREFIX)? {
        let time = backup_time(ctx, &log, &name, id);
        let age = time.map(|t| now.saturating_sub(t)).unwrap_or(0);
        let b = Backup {
            name,
            commit: id,
            time: time.map(crate::time::iso),
            age_days: age / DAY,
        };
        // Without a time (made by hand or before the log, no reflog) a backup is never deleted.
        if time.is_some() && age >= keep.saturating_mul(DAY) {
            old.push(b);
        } else {
            kept.push(b);
        }
    }
    Ok((old, kept))
}

/// Deletes the `old` backup refs (compare-and-swap) and the `old_dirs` of kept ignored files.
fn build_plan(keep: u64, old: &[Backup], old_dirs: &[keep::KeptDir]) -> Plan {
    let mut steps = Vec::new();
    if !old.is_empty() {
        steps.push(Step::Refs(Refs {
            updates: old
                .iter()
                .map(|b| RefUpdate {
                    name: b.name.clone(),
                    old: Some(b.commit),
                    new: None,
                })
                .collect(),
            message: format!("git-parallel: gc backups older than {keep} days"),
        }));
    }
    for d in old_dirs {
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
    Plan {
        command: "gc".into(),
        summary,
        steps,
        commit_point: None,
        meta: Meta {
            deleted: Some(old.iter().map(|b| b.name.clone()).collect()),
            ..Meta::default()
        },
    }
}

/// When the backup was made: the newest logged operation that set `name` to `id`, else the
/// newest entry of its reflog; None when neither says.
fn backup_time(
    ctx: &Context,
    log: &[txn::oplog::Entry],
    name: &str,
    id: gix::ObjectId,
) -> Option<u64> {
    let from_oplog = log
        .iter()
        .rev()
        .find(|e| {
            e.steps.iter().any(|s| match s {
                Step::Refs(Refs { updates, .. }) => {
                    updates.iter().any(|u| u.name == name && u.new == Some(id))
                }
                _ => false,
            })
        })
        .filter(|e| e.time != jiff::Timestamp::UNIX_EPOCH)
        .and_then(|e| u64::try_from(e.time.as_second()).ok());
    from_oplog.or_else(|| {
        let r = ctx.repo.gix.find_reference(name).ok()?;
        let mut platform = r.log_iter();
        let mut rev = platform.rev().ok()??;
        let line = rev.next()?.ok()?;
        u64::try_from(line.signature.time.seconds).ok()
    })
}

impl fmt::Display for Collected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keep = self.keep_days;
        let (old, kept) = (&self.deleted, &self.kept);
        for l in self.pool_lines.iter().chain(&self.cap_lines) {
            writeln!(f, "{l}")?;
        }
        if let Some(dir) = &self.removed_gate_worktree {
            writeln!(
                f,
                "Removed the kept test gate worktree {dir} (the next test gate builds from nothing)."
            )?;
        }
        let more = !self.pool_lines.is_empty() || !self.cap_lines.is_empty();
        if old.is_empty() && self.dirs_shown.is_empty() && more {
            return Ok(());
        }
        if old.is_empty() && self.dirs_shown.is_empty() {
            if kept.is_empty() {
                return writeln!(f, "Nothing to delete: there are no backup refs.");
            }
            return writeln!(
                f,
                "Nothing to delete: {} backup ref{}, none older than {keep} day{} (parallel.keepBackups).",
                kept.len(),
                plural(kept.len()),
                plural(keep as usize)
            );
        }
        for d in &self.dirs_shown {
            writeln!(
                f,
                "Deleted kept ignored files older than {keep} day{}: {d}",
                plural(keep as usize),
            )?;
        }
        if old.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "Deleted {} backup ref{} older than {keep} day{}:",
            old.len(),
            plural(old.len()),
            plural(keep as usize)
        )?;
        for b in old {
            writeln!(
                f,
                "  {}  {}  ({} day{} old)",
                b.name,
                crate::txn::steps::shared::short(b.commit),
                b.age_days,
                plural(b.age_days as usize)
            )?;
        }
        if !kept.is_empty() {
            writeln!(
                f,
                "Kept {} newer backup ref{}.",
                kept.len(),
                plural(kept.len())
            )?;
        }
        Ok(())
    }
}

impl Report for Collected {}

#[cfg(test)]
mod tests {
    use super::{Backup, Collected};

    fn backup(name: &str, age_days: u64) -> Backup {
        Backup {
            name: format!("refs/parallel/backup/{name}"),
            commit: gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567")
                .expect("hex"),
            time: Some("2026-01-01T00:00:00Z".into()),
            age_days,
        }
    }

    fn collected(deleted: Vec<Backup>, kept: Vec<Backup>, dirs: &[&str]) -> Collected {
        Collected {
            keep_days: 30,
            deleted,
            kept,
            deleted_ignored_dirs: dirs.iter().map(|d| format!("/repo/.git/{d}")).collect(),
            dirs_shown: dirs.iter().map(|d| d.to_string()).collect(),
            trimmed_pool: Vec::new(),
            capped: None,
            pool_lines: Vec::new(),
            removed_gate_worktree: None,
            cap_lines: Vec::new(),
        }
    }

    #[test]
    fn nothing_to_delete_says_why() {
        let none = collected(Vec::new(), Vec::new(), &[]);
        assert_eq!(
            none.to_string(),
            "Nothing to delete: there are no backup refs.\n"
        );
        let young = collected(Vec::new(), vec![backup("A-01", 2)], &[]);
        assert_eq!(
            young.to_string(),
            "Nothing to delete: 1 backup ref, none older than 30 days (parallel.keepBackups).\n"
        );
    }

    #[test]
    fn deleted_refs_and_dirs_are_listed_and_json_keeps_its_fields() {
        let r = collected(
            vec![backup("A-01", 31)],
            vec![backup("B-01", 1)],
            &["ign/1"],
        );
        assert_eq!(
            r.to_string(),
            "Deleted kept ignored files older than 30 days: ign/1\n\
             Deleted 1 backup ref older than 30 days:\n  \
             refs/parallel/backup/A-01  0123456789  (31 days old)\n\
             Kept 1 newer backup ref.\n"
        );
        let v = crate::workflow::report::envelope("gc", &r);
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "version",
                "command",
                "keep_days",
                "deleted",
                "kept",
                "deleted_ignored_dirs"
            ]
        );
        assert_eq!(v["deleted"][0]["ref"], "refs/parallel/backup/A-01");
        assert_eq!(v["deleted_ignored_dirs"][0], "/repo/.git/ign/1");
    }
}

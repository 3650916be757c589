//! The cap on kept ignored files (`parallel.keepIgnoredMax`, default 1 GiB): when what is kept
//! under `<git dir>/parallel/ignored/` (plus what an operation is about to keep) is over it, the
//! regenerable paths in it ([`super::regenerable`]) are deleted, oldest directory first (the
//! largest first within one), until it
//! is within the cap — by `Keep::IgnoredDrop` steps at the end of finish's or gc's plan, named in
//! its output. Nothing that could be someone's work is deleted: when the cap cannot be met that
//! way, a note says so and names the largest paths left (not with a cap of 0, which only means
//! that no regenerable output is kept).

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use super::regenerable::Rules;
use super::size::{human, size_of};
use super::{kept_dirs, Keep};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::Step;

/// One regenerable path deleted from a directory of kept files.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Dropped {
    /// The directory of kept files (`<git dir>/parallel/ignored/<seconds>-<worktree>`).
    #[schemars(with = "String")]
    pub dir: Utf8PathBuf,
    /// The path in it.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What bringing the kept ignored files within the cap deletes.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Capped {
    /// `parallel.keepIgnoredMax` in bytes.
    pub max: u64,
    /// The size kept before (including what the operation keeps now).
    pub before: u64,
    /// The size kept after.
    pub after: u64,
    /// The regenerable paths deleted, oldest directory first.
    pub dropped: Vec<Dropped>,
    /// The largest paths left when `after` is still over `max` (could be someone's work, so not
    /// deleted); empty otherwise.
    pub left_over: Vec<Dropped>,
}

/// What to delete so that the kept ignored files, with `adding` bytes about to be kept and
/// without the directories in `going` (deleted anyway), fit in `parallel.keepIgnoredMax`;
/// `None` when there is no cap or they fit already.
pub fn plan(repo: &Repo, adding: u64, going: &[Utf8PathBuf]) -> Result<Option<Capped>> {
    let Some(max) = repo.settings.keep_ignored_max()? else {
        return Ok(None);
    };
    let dirs: Vec<Utf8PathBuf> = kept_dirs(repo)?
        .into_iter()
        .map(|d| d.dir)
        .filter(|d| !going.contains(d))
        .collect();
    let sizes: Vec<u64> = dirs.iter().map(|d| size_of(d.as_std_path())).collect();
    let before = adding + sizes.iter().sum::<u64>();
    if before <= max {
        return Ok(None);
    }
    let rules = Rules::of(repo);
    let mut after = before;
    let mut dropped = Vec::new();
    'dirs: for d in &dirs {
        // In one directory, the largest first: as few deletions as the cap needs.
        let mut found: Vec<(String, u64)> = rules
            .find(d.as_std_path(), "")
            .into_iter()
            .map(|p| {
                let n = size_of(d.join(&p).as_std_path());
                (p, n)
            })
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.1));
        for (path, bytes) in found {
            if after <= max {
                break 'dirs;
            }
            after = after.saturating_sub(bytes);
            dropped.push(Dropped {
                dir: d.clone(),
                path,
                bytes,
            });
        }
    }
    let mut left_over = Vec::new();
    if after > max {
        for d in &dirs {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let Ok(name) = e.file_name().into_string() else {
                    continue;
                };
                if dropped.iter().any(|x| &x.dir == d && x.path == name) {
                    continue;
                }
                left_over.push(Dropped {
                    dir: d.clone(),
                    bytes: size_of(&e.path()),
                    path: name,
                });
            }
        }
        left_over.sort_by_key(|d| std::cmp::Reverse(d.bytes));
        left_over.truncate(3);
    }
    Ok(Some(Capped {
        max,
        before,
        after,
        dropped,
        left_over,
    }))
}

impl Capped {
    /// The steps that delete [`Capped::dropped`]: one per directory.
    pub fn steps(&self) -> Vec<Step> {
        let mut out: Vec<(Utf8PathBuf, Vec<String>)> = Vec::new();
        for d in &self.dropped {
            match out.iter_mut().find(|(dir, _)| *dir == d.dir) {
                Some((_, paths)) => paths.push(d.path.clone()),
                None => out.push((d.dir.clone(), vec![d.path.clone()])),
            }
        }
        out.into_iter()
            .map(|(dir, paths)| Step::Keep(Keep::IgnoredDrop { dir, paths }))
            .collect()
    }

    /// What the output says: what was deleted and how big, and a note when the cap is still
    /// not met.
    pub fn lines(&self, show: impl Fn(&Utf8Path) -> String) -> Vec<String> {
        let mut out = Vec::new();
        if !self.dropped.is_empty() {
            let freed: u64 = self.dropped.iter().map(|d| d.bytes).sum();
            let names: Vec<String> = self
                .dropped
                .iter()
                .map(|d| format!("{} ({})", show(&d.dir.join(&d.path)), human(d.bytes)))
                .collect();
            out.push(format!(
                "Deleted {} of regenerable kept ignored files to stay within parallel.keepIgnoredMax ({}): {}",
                human(freed),
                human(self.max),
                names.join(", ")
            ));
        }
        // With a cap of 0 (no regenerable output kept) what is left is never news.
        if self.after > self.max && self.max > 0 {
            let names: Vec<String> = self
                .left_over
                .iter()
                .map(|d| format!("{} ({})", show(&d.dir.join(&d.path)), human(d.bytes)))
                .collect();
            out.push(format!(
                "note: kept ignored files take {}, more than parallel.keepIgnoredMax ({}); what is left is not regenerable build output (it could be someone's work), so it is not deleted. Largest: {}. Delete what you do not need, add build output to parallel.regenerable, or raise the cap",
                human(self.after),
                human(self.max),
                names.join(", ")
            ));
        }
        out
    }
}

/// Deletes `paths` in the kept directory `dir` (the step `Keep::IgnoredDrop`), then the
/// directories they leave empty, `dir` included. Idempotent.
pub(super) fn drop_paths(dir: &Utf8Path, paths: &[String]) -> Result<()> {
    for p in paths {
        let abs = dir.join(p);
        super::remove_any(abs.as_std_path())?;
        let mut parent = abs.parent();
        while let Some(d) = parent.filter(|d| d.starts_with(dir)) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            parent = d.parent();
        }
    }
    Ok(())
}

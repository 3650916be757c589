//! What is kept of a task worktree before it is removed, as journaled steps with inverses
//! (the [`Keep`] operations of `Step::Keep`):
//!
//! - its ignored files (`.env`, notes, build output) are moved into
//!   `<git dir>/parallel/ignored/<seconds>-<worktree name>/` (a rename; copy and delete across
//!   filesystems), and moved back when the removal is undone or rolled back;
//!   `git config parallel.keepIgnored false` deletes them instead (they are still named);
//!   when a task lands, its regenerable build output ([`regenerable`]: `target/` with a
//!   `CACHEDIR.TAG`, `node_modules/`, …) is not kept but deleted with the worktree, named;
//! - the kept files are held within `parallel.keepIgnoredMax` ([`cap`]) by deleting regenerable
//!   paths in them, oldest first, never anything else;
//! - uncommitted changes saved by `abort --force` as a wip commit are put back into the
//!   worktree, as uncommitted changes, when that abort is undone;
//!
//! `git parallel gc` trims the kept ignored files after `parallel.keepBackups` days, and to the cap.

pub mod cap;
pub mod regenerable;
pub mod size;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::taskgraph::display::safe;
use std::borrow::Cow;
use std::path::Path;

use super::shared::{short, CopyFile};
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::{cli, Location, Repo};

/// Where kept ignored files go, under the state dir.
pub const IGNORED_DIR: &str = "ignored";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Keep {
    /// The worktree's uncommitted changes are saved as `commit` (under a backup ref). Nothing to
    /// do going forward; undone by putting them back ([`Keep::WipRestore`]).
    WipSaved {
        worktree: Utf8PathBuf,
        #[serde(with = "crate::git::hex")]
        commit: gix::ObjectId,
    },
    /// Put the changes of a wip commit (on top of the worktree's HEAD) back into the worktree as
    /// uncommitted changes.
    WipRestore {
        worktree: Utf8PathBuf,
        #[serde(with = "crate::git::hex")]
        commit: gix::ObjectId,
    },
    /// Move the worktree's ignored files into `dir`, but for `skip` (unchanged copies of the
    /// main worktree's include files, which start copied in and undo copies in again).
    IgnoredMove {
        worktree: Utf8PathBuf,
        dir: Utf8PathBuf,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skip: Vec<String>,
        /// Regenerable build output (paths relative to the worktree, no trailing `/`, possibly
        /// inside an ignored directory that is moved): left in the worktree, which its removal
        /// deletes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        regenerable: Vec<String>,
    },
    /// Move the files kept in `dir` back into the worktree.
    IgnoredRestore {
        worktree: Utf8PathBuf,
        dir: Utf8PathBuf,
    },
    /// Delete a directory of kept ignored files (`git parallel gc`); cannot be undone.
    IgnoredTrim { dir: Utf8PathBuf },
    /// Delete regenerable `paths` in a directory of kept ignored files (the cap,
    /// `parallel.keepIgnoredMax`), and the directories that leaves empty; cannot be undone.
    IgnoredDrop {
        dir: Utf8PathBuf,
        paths: Vec<String>,
    },
}

impl StepKind for Keep {
    fn describe(&self) -> String {
        match self {
            Keep::WipSaved { worktree, commit } => format!(
                "note the uncommitted changes of {worktree} saved as {}",
                short(commit)
            ),
            Keep::WipRestore { worktree, commit } => format!(
                "put the uncommitted changes {} back into {worktree}",
                short(commit)
            ),
            Keep::IgnoredMove { worktree, dir, .. } => {
                format!("keep the ignored files of {worktree} in {dir}")
            }
            Keep::IgnoredRestore { worktree, dir } => {
                format!("move the ignored files kept in {dir} back into {worktree}")
            }
            Keep::IgnoredTrim { dir } => format!("delete the kept ignored files in {dir}"),
            Keep::IgnoredDrop { dir, paths } => format!(
                "delete regenerable kept ignored files in {dir}: {}",
                paths.join(", ")
            ),
        }
    }

    /// The operation that reverses this one (None: nothing to reverse; backups are kept).
    fn inverse(&self) -> Option<Step> {
        Some(Step::Keep(match self {
            Keep::WipSaved { worktree, commit } => Keep::WipRestore {
                worktree: worktree.clone(),
                commit: *commit,
            },
            Keep::WipRestore { worktree, commit } => Keep::WipSaved {
                worktree: worktree.clone(),
                commit: *commit,
            },
            Keep::IgnoredMove { worktree, dir, .. } => Keep::IgnoredRestore {
                worktree: worktree.clone(),
                dir: dir.clone(),
            },
            Keep::IgnoredRestore { worktree, dir } => Keep::IgnoredMove {
                worktree: worktree.clone(),
                dir: dir.clone(),
                skip: Vec::new(),
                regenerable: Vec::new(),
            },
            Keep::IgnoredTrim { .. } | Keep::IgnoredDrop { .. } => return None,
        }))
    }

    /// Applies the operation; idempotent (a re-run after a crash finishes what is left).
    fn apply(&self, repo: &Repo, _proven: bool) -> Result<()> {
        let loc = &repo.loc;
        match self {
            Keep::WipSaved { .. } => Ok(()),
            Keep::WipRestore { worktree, commit } => wip_restore(loc, worktree, commit),
            Keep::IgnoredMove {
                worktree,
                dir,
                skip,
                regenerable,
            } => ignored_move(loc, worktree, dir, skip, regenerable),
            Keep::IgnoredRestore { worktree, dir } => ignored_restore(worktree, dir),
            Keep::IgnoredTrim { dir } => remove_any(dir.as_std_path()),
            Keep::IgnoredDrop { dir, paths } => cap::drop_paths(dir, paths),
        }
    }
}

// ---- uncommitted changes ----------------------------------------------------------------------

/// The tree of everything in a worktree (tracked and untracked, not ignored), through a
/// temporary index.
fn worktree_tree(loc: &Location, wt: &Utf8Path) -> Result<String> {
    let dir = loc.common_dir.join("parallel");
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("keep-index-{}", std::process::id()));
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["rev-parse", "--path-format=absolute", "--git-path", "index"]);
    if let Ok(p) = cli::stdout(cmd) {
        let _ = std::fs::copy(p.trim(), &tmp);
    }
    let result = (|| -> Result<String> {
        let mut add = loc.git.in_dir(wt);
        add.env("GIT_INDEX_FILE", tmp.as_std_path())
            .args(["add", "-A", "--", "."]);
        cli::run(add)?;
        let mut write = loc.git.in_dir(wt);
        write
            .env("GIT_INDEX_FILE", tmp.as_std_path())
            .arg("write-tree");
        Ok(cli::stdout(write)?.trim().to_string())
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

fn wip_restore(loc: &Location, wt: &Utf8Path, commit: &gix::ObjectId) -> Result<()> {
    let commit = &commit.to_string();
    if !wt.is_dir() {
        return Err(crate::fatal!(
            help = "the changes are kept in the wip backup ref; check the branch out in a worktree and run: git checkout {commit} -- .",
            "cannot put the uncommitted changes {} back: the worktree {wt} does not exist",
            short(commit)
        ));
    }
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["rev-parse", "--verify", "-q"])
        .arg(format!("{commit}^{{tree}}"));
    let want = cli::stdout(cmd)?.trim().to_string();
    if worktree_tree(loc, wt)? != want {
        // The worktree was just made again from the branch: what is there is ours to replace.
        let mut cmd = loc.git.in_dir(wt);
        cmd.args(["read-tree", "--reset", "-u", commit]);
        cli::run(cmd)?;
    }
    // Index back to HEAD, files as they are: the changes are uncommitted again.
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["reset", "-q"]);
    cli::run(cmd)?;
    Ok(())
}

// ---- ignored files ----------------------------------------------------------------------------

/// Whether ignored files are kept (`parallel.keepIgnored`, default true).
pub fn keep_ignored_enabled(repo: &Repo) -> bool {
    repo.settings.keep_ignored()
}

/// The ignored files and directories of a worktree (a wholly ignored directory is one entry,
/// ending in `/`), relative to it, as raw names (any bytes but NUL). A worktree without its
/// `.git` file (half removed) has none that can be told apart.
fn ignored_raw(loc: &Location, wt: &Utf8Path) -> Result<Vec<Vec<u8>>> {
    if !wt.is_dir() || std::fs::symlink_metadata(wt.join(".git")).is_err() {
        return Ok(Vec::new());
    }
    let mut cmd = loc.git.in_dir(wt);
    cmd.args([
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
    ]);
    let out = cli::run(cmd)?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// [`ignored_raw`] as text, for messages and plans.
pub fn ignored_entries(loc: &Location, wt: &Utf8Path) -> Result<Vec<String>> {
    Ok(ignored_raw(loc, wt)?
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

fn ignored_move(
    loc: &Location,
    wt: &Utf8Path,
    dir: &Utf8Path,
    skip: &[String],
    regenerable: &[String],
) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let mut entries = ignored_raw(loc, wt)?;
    entries.retain(|e| !skip.iter().any(|s| s.as_bytes() == e.as_slice()));
    entries.retain(|e| {
        let e = e.strip_suffix(b"/").unwrap_or(e);
        !regenerable.iter().any(|s| s.as_bytes() == e)
    });
    if entries.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::fatal!("cannot create {dir} to keep ignored files: {e}"))?;
    for rel in entries {
        let rel = rel.strip_suffix(b"/").unwrap_or(&rel);
        let inside = std::str::from_utf8(rel)
            .ok()
            .filter(|r| regenerable.iter().any(|g| is_under(g, r)));
        match inside {
            Some(r) => move_except(wt, dir, r, regenerable)?,
            None => {
                let rel = std::ffi::OsStr::from_bytes(rel);
                move_path(&wt.as_std_path().join(rel), &dir.as_std_path().join(rel))?;
            }
        }
    }
    Ok(())
}

/// Whether `path` is strictly inside the directory `dir` (both relative, no trailing `/`).
fn is_under(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Moves the directory `rel` of `wt` into `dir` entry by entry, leaving the `regenerable`
/// paths (some of them inside it) where they are.
fn move_except(wt: &Utf8Path, dir: &Utf8Path, rel: &str, regenerable: &[String]) -> Result<()> {
    if regenerable.iter().any(|g| g == rel) {
        return Ok(());
    }
    if !regenerable.iter().any(|g| is_under(g, rel)) {
        return move_path(wt.join(rel).as_std_path(), dir.join(rel).as_std_path());
    }
    let src = wt.join(rel);
    let entries = std::fs::read_dir(&src).map_err(|e| crate::fatal!("cannot read {src}: {e}"))?;
    std::fs::create_dir_all(dir.join(rel))
        .map_err(|e| crate::fatal!("cannot create {} to keep ignored files: {e}", dir.join(rel)))?;
    for e in entries.flatten() {
        match e.file_name().into_string() {
            Ok(name) => move_except(wt, dir, &format!("{rel}/{name}"), regenerable)?,
            Err(name) => move_path(&e.path(), &dir.as_std_path().join(rel).join(name))?,
        }
    }
    Ok(())
}

fn ignored_restore(wt: &Utf8Path, dir: &Utf8Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    if !wt.is_dir() {
        return Err(crate::fatal!(
            help = "the files are still in {dir}; copy them where you want them",
            "cannot move the kept ignored files back: the worktree {wt} does not exist"
        ));
    }
    restore_into(dir.as_std_path(), wt.as_std_path())?;
    remove_empty_dirs(dir.as_std_path());
    Ok(())
}

/// Moves everything under `from` into `to`, merging into directories that exist there; a kept
/// file replaces what is at its path (the worktree was just made again).
fn restore_into(from: &Path, to: &Path) -> Result<()> {
    let entries = std::fs::read_dir(from)
        .map_err(|e| crate::fatal!("cannot read {}: {e}", from.display()))?;
    for e in entries.flatten() {
        let src = e.path();
        let dst = to.join(e.file_name());
        let src_is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        match std::fs::symlink_metadata(&dst) {
            Ok(m) if m.is_dir() && src_is_dir => restore_into(&src, &dst)?,
            Ok(_) => {
                remove_any(&dst)?;
                move_path(&src, &dst)?;
            }
            Err(_) => move_path(&src, &dst)?,
        }
    }
    Ok(())
}

/// Removes `dir` and its empty subdirectories (whatever is not empty stays).
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_empty_dirs(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Moves a file or directory: a rename, else (another filesystem) a copy to a temporary name
/// renamed into place, then the source deleted. Idempotent: a finished copy is not redone.
pub fn move_path(src: &Path, dst: &Path) -> Result<()> {
    let src_there = std::fs::symlink_metadata(src).is_ok();
    let dst_there = std::fs::symlink_metadata(dst).is_ok();
    if !src_there {
        return Ok(());
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {}: {e}", parent.display()))?;
    }
    if !dst_there {
        match std::fs::rename(src, dst) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => copy_into_place(src, dst)?,
            Err(e) => {
                return Err(crate::fatal!(
                    "cannot move {} to {}: {e}",
                    src.display(),
                    dst.display()
                ))
            }
        }
    }
    // The copy is complete (it was renamed into place): the source can go.
    remove_any(src)
}

/// The cross-filesystem half of [`move_path`]: a copy under a temporary name, renamed into
/// place once complete (the source is deleted by the caller afterwards).
fn copy_into_place(src: &Path, dst: &Path) -> Result<()> {
    crate::atomic::replace(dst, |tmp| {
        copy_tree(src, tmp).map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| crate::fatal!("cannot move {} to {}: {e}", src.display(), dst.display()))
}

fn remove_any(p: &Path) -> Result<()> {
    let r = match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(_) => Ok(()),
    };
    r.map_err(|e| crate::fatal!("cannot remove {}: {e}", p.display()))
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        crate::fatal!("cannot copy {} to {}: {e}", src.display(), dst.display())
    };
    let m = std::fs::symlink_metadata(src).map_err(fail)?;
    if m.file_type().is_symlink() {
        let target = std::fs::read_link(src).map_err(fail)?;
        std::os::unix::fs::symlink(target, dst).map_err(fail)?;
    } else if m.is_dir() {
        std::fs::create_dir_all(dst).map_err(fail)?;
        for e in std::fs::read_dir(src).map_err(fail)?.flatten() {
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
    } else {
        std::fs::copy(src, dst).map_err(fail)?;
    }
    Ok(())
}

/// A directory of kept ignored files, with when it was made (None: unknown, from its name).
pub struct KeptDir {
    pub dir: Utf8PathBuf,
    pub time: Option<u64>,
}

/// The directories of kept ignored files, oldest first.
pub fn kept_dirs(repo: &Repo) -> Result<Vec<KeptDir>> {
    let base = crate::txn::state_dir(repo).join(IGNORED_DIR);
    let entries = match std::fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::fatal!("cannot list {base}: {e}")),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let time = name.split('-').next().and_then(|s| s.parse::<u64>().ok());
        out.push(KeptDir {
            dir: base.join(&name),
            time,
        });
    }
    out.sort_by(|a, b| (a.time, &a.dir).cmp(&(b.time, &b.dir)));
    Ok(out)
}

/// What happens to the ignored files of one worktree that is removed.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Kept {
    /// The removed worktree.
    #[schemars(with = "String")]
    pub worktree: Utf8PathBuf,
    /// Where they are kept (None: deleted, parallel.keepIgnored is false).
    #[schemars(with = "Option<String>")]
    pub dir: Option<Utf8PathBuf>,
    /// Paths relative to the worktree; a wholly ignored directory is one entry ending in `/`.
    pub files: Vec<String>,
    /// Their size in bytes (less the regenerable paths inside them).
    pub bytes: u64,
    /// Regenerable build output not kept (a landed task's; absent otherwise), deleted with the
    /// worktree: paths relative to it, no trailing `/`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regenerable: Vec<String>,
    /// Their size in bytes (absent with `regenerable`).
    #[serde(skip_serializing_if = "is_zero")]
    pub regenerable_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What happens to the regenerable build output of the worktrees removed (see [`regenerable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildOutput {
    /// Kept like any ignored file: the work did not land (abort, retry, undo).
    Keep,
    /// Deleted with the worktree: the task landed (finish), or a parked worktree is trimmed.
    Drop,
}

/// Adds, before the worktree removals among `steps`, the steps that keep their ignored files
/// (nothing with parallel.keepIgnored=false); returns what each removal does with them.
/// Unchanged copies of the include files (a removal's `restore`, and `include`) are not kept.
pub fn keep_ignored(
    repo: &Repo,
    steps: &mut Vec<Step>,
    include: &[CopyFile],
    output: BuildOutput,
) -> Result<Vec<Kept>> {
    let keep = keep_ignored_enabled(repo);
    let rules = regenerable::Rules::of(repo);
    let base = crate::txn::state_dir(repo).join(IGNORED_DIR);
    let secs = crate::time::now_secs();
    let mut kept = Vec::new();
    let mut added = Vec::new();
    let mut taken: Vec<Utf8PathBuf> = Vec::new();
    for s in steps.iter() {
        let Some((path, restore)) = removal(s) else {
            continue;
        };
        let include: Vec<CopyFile> = restore.iter().chain(include).cloned().collect();
        // A worktree git cannot read is left to the removal step to report.
        let mut files = ignored_entries(&repo.loc, path).unwrap_or_default();
        let skip: Vec<String> = files
            .iter()
            .filter(|rel| unchanged_copy(&include, path, rel))
            .cloned()
            .collect();
        files.retain(|f| !skip.contains(f));
        // With keepIgnored false everything goes anyway: nothing to tell apart.
        let regen: Vec<String> = if keep && output == BuildOutput::Drop {
            files
                .iter()
                .flat_map(|f| rules.find(path.as_std_path(), f))
                .collect()
        } else {
            Vec::new()
        };
        files.retain(|f| !regen.iter().any(|g| g == f.trim_end_matches('/')));
        let regen_bytes: u64 = regen
            .iter()
            .map(|g| size::size_of(path.join(g).as_std_path()))
            .sum();
        let bytes = files
            .iter()
            .map(|f| size::size_of(path.join(f.trim_end_matches('/')).as_std_path()))
            .sum::<u64>()
            .saturating_sub(
                regen
                    .iter()
                    .filter(|g| files.iter().any(|f| is_under(g, f.trim_end_matches('/'))))
                    .map(|g| size::size_of(path.join(g).as_std_path()))
                    .sum(),
            );
        if files.is_empty() {
            if !regen.is_empty() {
                kept.push(Kept {
                    worktree: path.clone(),
                    dir: None,
                    files,
                    bytes: 0,
                    regenerable: regen,
                    regenerable_bytes: regen_bytes,
                });
            }
            continue;
        }
        let name = path.file_name().unwrap_or("worktree");
        let dir = keep.then(|| {
            let mut n = 1;
            loop {
                let d = if n == 1 {
                    base.join(format!("{secs}-{name}"))
                } else {
                    base.join(format!("{secs}-{name}-{n}"))
                };
                if !d.exists() && !taken.contains(&d) {
                    taken.push(d.clone());
                    break d;
                }
                n += 1;
            }
        });
        if let Some(d) = &dir {
            added.push(Step::Keep(Keep::IgnoredMove {
                worktree: path.clone(),
                dir: d.clone(),
                skip: skip.clone(),
                regenerable: regen.clone(),
            }));
        }
        kept.push(Kept {
            worktree: path.clone(),
            dir,
            files,
            bytes,
            regenerable: regen,
            regenerable_bytes: regen_bytes,
        });
    }
    if let Some(at) = steps.iter().position(|s| removal(s).is_some()) {
        steps.splice(at..at, added);
    }
    Ok(kept)
}

/// The worktree a step removes (a task's, or a parked one trimmed), with its include files.
fn removal(s: &Step) -> Option<(&Utf8PathBuf, &[CopyFile])> {
    match s {
        Step::RemoveWorktree(super::RemoveWorktree { path, restore, .. }) => Some((path, restore)),
        Step::Pool(p) => p.trimmed().map(|path| (path, &[][..])),
        _ => None,
    }
}

/// Whether `rel` in worktree `wt` is an unchanged copy of one of the include files.
fn unchanged_copy(include: &[CopyFile], wt: &Utf8Path, rel: &str) -> bool {
    include.iter().any(|c| {
        c.rel == rel
            && matches!(
                (std::fs::read(&c.from), std::fs::read(wt.join(rel))),
                (Ok(a), Ok(b)) if a == b
            )
    })
}

/// One line per worktree saying what became of its ignored files (and one more for its
/// regenerable build output, when it was not kept).
pub fn kept_lines(kept: &[Kept], show: impl Fn(&Utf8Path) -> String) -> Vec<String> {
    const SHOWN: usize = 5;
    let names = |files: &[String]| {
        let mut names: Vec<Cow<'_, str>> = files.iter().take(SHOWN).map(|f| safe(f)).collect();
        if files.len() > SHOWN {
            names.push("…".into());
        }
        names.join(", ")
    };
    let mut out = Vec::new();
    for k in kept {
        if !k.files.is_empty() {
            out.push(kept_line(k, &names(&k.files), &show));
        }
        if !k.regenerable.is_empty() {
            let n = k.regenerable.len();
            out.push(format!(
                "Did not keep {n} regenerable path{} of {} ({}; {}): build output, deleted with the worktree (parallel.regenerable)",
                if n == 1 { "" } else { "s" },
                show(&k.worktree),
                names(&k.regenerable),
                size::human(k.regenerable_bytes)
            ));
        }
    }
    out
}

fn kept_line(k: &Kept, names: &str, show: impl Fn(&Utf8Path) -> String) -> String {
    let n = k.files.len();
    let s = if n == 1 { "" } else { "s" };
    match &k.dir {
        Some(d) => format!(
            "Kept {n} ignored path{s} of {} ({names}) in {} ('git parallel undo' puts them back)",
            show(&k.worktree),
            show(d)
        ),
        None => format!(
            "Deleted {n} ignored path{s} of {} ({names}) (parallel.keepIgnored is false)",
            show(&k.worktree),
        ),
    }
}

// ---- the main worktree ------------------------------------------------------------------------

/// Refuses, before anything changes, when moving the main worktree from `from` to `to` would
/// write a file over an untracked or ignored one there (`git read-tree -u` overwrites ignored
/// files): a task that force-added `.env` must not replace the user's `.env`.
pub fn check_main_overwrites(repo: &Repo, from: &str, to: &str) -> Result<()> {
    let Some(main) = repo.main_worktree.as_deref() else {
        return Ok(());
    };
    let mut cmd = repo.git_main();
    cmd.args([
        "diff",
        "--no-renames",
        "--name-only",
        "--diff-filter=A",
        "-z",
        from,
        to,
        "--",
    ]);
    let out = cli::run(cmd)?;
    let mut in_the_way = Vec::new();
    for rel in out.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rel = String::from_utf8_lossy(rel).into_owned();
        if std::fs::symlink_metadata(main.join(&rel)).is_ok() {
            in_the_way.push(rel);
        }
    }
    if in_the_way.is_empty() {
        return Ok(());
    }
    Err(crate::refused!(
        help = "move them aside (they are yours, not in any commit), then run the command again",
        "cannot update the main worktree {main}; nothing was changed:\n  \
         these files would be overwritten by files the merge adds, and they are untracked or ignored there:\n    {}",
        in_the_way.iter().map(|f| safe(f)).collect::<Vec<_>>().join("\n    ")
    ))
}

#[cfg(test)]
mod tests;

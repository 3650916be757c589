//! The check that a worktree holds no work before anything deletes or parks it: what
//! `git status` lists (uncommitted and untracked changes) and submodules whose commits exist
//! nowhere else. Each worktree is listed once and the listing shared by every check that asks
//! (the command's own preconditions, the plan's precheck before the transaction, the recheck at
//! the commit point, a park) until a step lets time pass (a test gate, a push, a postStart
//! hook: `Step::lets_time_pass`) or the transaction ends; then every check is taken afresh, so
//! work written meanwhile (e.g. while a test gate runs) still stops it. A removal, which
//! deletes files, always checks afresh just before it deletes anything; a park deletes nothing
//! (the worktree's files move into the pool as they are), so the shared listing serves it.

use camino::Utf8Path;

use crate::error::Result;
use crate::git::{cli, Location};

/// The status lines and submodule problems of the worktree at `path`: from the shared listing
/// when `shared` (filled on first use), else taken now.
pub(super) fn findings(
    loc: &Location,
    path: &Utf8Path,
    shared: bool,
) -> Result<(Vec<String>, Vec<String>)> {
    if shared {
        Ok((changes(loc, path)?, memo::submodules(loc, path)?))
    } else {
        Ok((status_now(loc, path)?, submodules_now(loc, path)?))
    }
}

/// Everything uncommitted or untracked in the worktree at `path`, as `git status --porcelain`
/// lines (staged and unstaged changes, untracked files one by one, submodules with new commits
/// or changed content; ignored files are not listed: see `txn::keep`). One `git status` is
/// the cheapest exact check measured (bench/README.md): it stats every index entry once and
/// reads every directory once, in one process. The listing is shared (see the module doc).
pub fn changes(loc: &Location, path: &Utf8Path) -> Result<Vec<String>> {
    if let Some(lines) = memo::get(loc, path) {
        return Ok(lines);
    }
    let lines = status_now(loc, path)?;
    memo::put(loc, path, &lines);
    Ok(lines)
}

/// [`changes`] of several worktrees in one pass; results in order. Up to four `git status`
/// per CPU run at once: each spends most of its time in `lstat` of every index entry, with
/// preload threads of its own, and overlapping their start-up and index reads measured faster
/// (N=16, F=20,000, 2 CPUs) than one per CPU.
pub fn changes_many(loc: &Location, paths: &[&Utf8Path]) -> Vec<Result<Vec<String>>> {
    crate::parallel_map::map_bounded(paths, 4 * crate::parallel_map::cpus_or(2), |p| {
        changes(loc, p)
    })
}

/// Called after a step that lets time pass and when a transaction ends: a worktree may have
/// changed under the listings taken so far (a test gate runs for minutes while agents write),
/// so every later check is taken afresh (and shared again).
pub fn checks_expire(loc: &Location) {
    memo::clear(loc);
}

fn status_now(loc: &Location, path: &Utf8Path) -> Result<Vec<String>> {
    // A registered worktree whose directory is gone (deleted by hand, or by its agent) holds
    // nothing uncommitted: its committed work lands and its registration is pruned by the
    // removal (repro round2 04), instead of `git status` failing there forever.
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Ok(Vec::new());
    }
    // Emptied by hand but the directory left (an agent's `rm -rf` in a sandbox that may not
    // delete the directory itself): git cannot look there any more; what is left is listed as
    // untracked, so that nothing in it is deleted unseen.
    if path.is_dir() && std::fs::symlink_metadata(path.join(".git")).is_err() {
        let mut left: Vec<String> = std::fs::read_dir(path)
            .map_err(|e| crate::fatal!("cannot read {path}: {e}"))?
            .flatten()
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let dir = if e.file_type().is_ok_and(|t| t.is_dir()) {
                    "/"
                } else {
                    ""
                };
                format!("?? {name}{dir}")
            })
            .collect();
        left.sort();
        return Ok(left);
    }
    let mut cmd = loc.git.in_dir(path);
    cmd.args([
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--ignore-submodules=none",
    ]);
    Ok(cli::stdout(cmd)?.lines().map(str::to_string).collect())
}

fn submodules_now(loc: &Location, path: &Utf8Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    submodule_problems(loc, path, path, 0, &mut problems)?;
    Ok(problems)
}

/// The shared listings (`Location::listings`): worktree path → (status lines, submodule
/// problems once asked for).
mod memo {
    use super::{submodules_now, Location, Result, Utf8Path};

    pub(super) fn clear(loc: &Location) {
        loc.listings.with(|m| m.clear());
    }
    pub(super) fn get(loc: &Location, path: &Utf8Path) -> Option<Vec<String>> {
        loc.listings.with(|m| m.get(path).map(|e| e.0.clone()))
    }
    pub(super) fn put(loc: &Location, path: &Utf8Path, lines: &[String]) {
        loc.listings.with(|m| {
            m.entry(path.to_path_buf())
                .or_insert_with(|| (lines.to_vec(), None));
        });
    }
    /// The submodule problems of `path`, found once while sharing lasts.
    pub(super) fn submodules(loc: &Location, path: &Utf8Path) -> Result<Vec<String>> {
        if let Some(found) = loc.listings.with(|m| m.get(path)?.1.clone()) {
            return Ok(found);
        }
        let found = submodules_now(loc, path)?;
        loc.listings.with(|m| {
            if let Some(e) = m.get_mut(path) {
                e.1 = Some(found.clone());
            }
        });
        Ok(found)
    }
}

/// Initialised submodules under `dir` whose commits (HEAD, local branches, stash) are not all
/// on one of the submodule's remotes: removing the worktree would delete the only copy.
fn submodule_problems(
    loc: &Location,
    top: &Utf8Path,
    dir: &Utf8Path,
    depth: usize,
    problems: &mut Vec<String>,
) -> Result<()> {
    if depth > 8 {
        return Ok(());
    }
    for rel in gitlinks(loc, dir)? {
        let sub = dir.join(&rel);
        if !sub.join(".git").exists() {
            continue;
        }
        let mut cmd = loc.git.in_dir(&sub);
        cmd.args([
            "rev-list",
            "-n",
            "1",
            "HEAD",
            "--branches",
            "--not",
            "--remotes",
        ]);
        let unpushed = cli::stdout(cmd)
            .map(|s| !s.trim().is_empty())
            .unwrap_or(true);
        let mut cmd = loc.git.in_dir(&sub);
        cmd.args(["rev-parse", "--verify", "-q", "refs/stash"]);
        let stashed = cli::run(cmd).is_ok();
        if unpushed || stashed {
            let shown = sub.strip_prefix(top).unwrap_or(&sub);
            problems.push(format!(
                "{top}: its submodule {shown} has {} that exist only in that worktree \
                 (push them: git -C {sub} push, or remove the submodule's checkout: \
                 git -C {top} submodule deinit -f {shown})",
                if stashed && !unpushed {
                    "stashed changes"
                } else {
                    "commits"
                }
            ));
        }
        submodule_problems(loc, top, &sub, depth + 1, problems)?;
    }
    Ok(())
}

/// The paths of the submodule entries (gitlinks) in the index of the worktree at `dir`. The
/// index is read in-process (no `git ls-files` of every entry); when gix cannot read it (an
/// index format it does not know), `git ls-files -s` answers.
fn gitlinks(loc: &Location, dir: &Utf8Path) -> Result<Vec<String>> {
    if let Some(found) = gitlinks_in_process(dir) {
        return Ok(found);
    }
    let mut cmd = loc.git.in_dir(dir);
    cmd.args(["ls-files", "-s", "-z"]);
    let out = cli::stdout(cmd)?;
    Ok(out
        .split('\0')
        .filter_map(|entry| entry.split_once('\t'))
        .filter(|(meta, _)| meta.starts_with("160000 "))
        .map(|(_, rel)| rel.to_string())
        .collect())
}

fn gitlinks_in_process(dir: &Utf8Path) -> Option<Vec<String>> {
    let repo = gix::open(dir.as_std_path()).ok()?;
    let index = repo.index_or_empty().ok()?;
    let mut out = Vec::new();
    for e in index.entries() {
        if e.mode == gix::index::entry::Mode::COMMIT {
            out.push(std::str::from_utf8(e.path(&index)).ok()?.to_string());
        }
    }
    Some(out)
}

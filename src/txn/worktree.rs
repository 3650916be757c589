//! Linked worktrees added and removed so that a run killed at any moment (ours, or a git child
//! of ours mid-write) leaves a state the next run recognises and can finish in either direction.
//!
//! A worktree is two directories: its files (`<path>`, with a `.git` file pointing at the
//! admin dir) and its admin dir (`<common dir>/worktrees/<name>`, whose `gitdir` file points
//! back). Removal here never uses `git worktree remove` (which deletes in directory order, so
//! a kill leaves a worktree without its `.git` file): it first marks the admin dir
//! ([`REMOVING`]), then deletes the files with `.git` last, then the admin dir with `gitdir`
//! last. So at every moment either the admin dir still names the path, or the files are gone.
//!
//! `proven`: the journal proves a half-done state at this path is ours (the step touching it
//! was started by a process that is now dead, or is being rolled back in the same run), so
//! leftovers there may be deleted and stale locks cleared.

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Result;
use crate::git::{cli, Location};

/// Written into the admin dir before a removal deletes anything: from then on what is left at
/// the path is the remains of the removal, not work.
const REMOVING: &str = "git-parallel-removing";

/// What is at a worktree path, as git's admin files and the files at the path say.
#[derive(Debug, Default)]
pub struct Found {
    /// The admin dir linked to the path (by its `gitdir`, or by the path's `.git` file).
    pub admin: Option<Utf8PathBuf>,
    /// Admin dirs a `git worktree add` killed early left for this path, without `gitdir`.
    pub junk: Vec<Utf8PathBuf>,
    /// `<path>/.git` names an admin dir of this repository that does not exist any more.
    pub dangling: bool,
}

fn admin_root(loc: &Location) -> Utf8PathBuf {
    loc.common_dir.join("worktrees")
}

/// A path made absolute and canonical where it exists (its parent, else), for comparisons.
fn canon(p: &Utf8Path) -> Utf8PathBuf {
    if let Ok(c) = p.canonicalize_utf8() {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) if !parent.as_str().is_empty() => canon(parent).join(name),
        _ => p.to_path_buf(),
    }
}

/// The admin dir a worktree's `.git` file names, if it is a file of the form `gitdir: X`.
pub(crate) fn dotgit_target(path: &Utf8Path) -> Option<Utf8PathBuf> {
    let text = std::fs::read_to_string(path.join(".git")).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let t = Utf8PathBuf::from(target);
    Some(if t.is_absolute() { t } else { path.join(t) })
}

/// The worktree path an admin dir's `gitdir` file names.
fn admin_target(admin: &Utf8Path) -> Option<Utf8PathBuf> {
    let text = std::fs::read_to_string(admin.join("gitdir")).ok()?;
    let t = Utf8PathBuf::from(text.trim());
    let t = if t.is_absolute() { t } else { admin.join(t) };
    t.parent().map(Utf8Path::to_path_buf)
}

/// Whether an admin dir's `gitdir` names the worktree at `path`.
pub(super) fn admin_names(admin: &Utf8Path, path: &Utf8Path) -> bool {
    admin_target(admin).is_some_and(|t| canon(&t) == canon(path))
}

/// Whether `name` is the admin dir name git gives a worktree named `base` (`base`, `base1`, …).
fn admin_name_for(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Finds what belongs to `path` among the admin dirs.
pub fn find(loc: &Location, path: &Utf8Path) -> Result<Found> {
    let want = canon(path);
    let mut found = Found::default();
    let root = admin_root(loc);
    let by_link = dotgit_target(path).map(|t| canon(&t));
    if let Some(t) = &by_link {
        if t.parent() == Some(canon(&root).as_path()) && !t.is_dir() {
            found.dangling = true;
        }
    }
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(crate::fatal!("cannot list worktrees in {root}: {e}")),
    };
    let base = path.file_name().unwrap_or("");
    for e in entries.flatten() {
        let Ok(admin) = Utf8PathBuf::from_path_buf(e.path()) else {
            continue;
        };
        if !admin.is_dir() {
            continue;
        }
        let linked = match admin_target(&admin) {
            Some(t) => canon(&t) == want,
            None => false,
        };
        if linked || by_link.as_ref() == Some(&canon(&admin)) {
            if found.admin.is_none() {
                found.admin = Some(admin);
            }
        } else if !admin.join("gitdir").exists()
            && admin
                .file_name()
                .is_some_and(|n| admin_name_for(n, base) && !base.is_empty())
        {
            found.junk.push(admin);
        }
    }
    Ok(found)
}

/// Whether `git worktree add` finished writing the admin dir (it removes `locked` last).
fn admin_complete(admin: &Utf8Path) -> bool {
    ["gitdir", "HEAD", "commondir"]
        .iter()
        .all(|f| admin.join(f).is_file())
}

/// Whether the worktree's checkout finished (git writes the index last).
fn checked_out(admin: &Utf8Path) -> bool {
    admin.join("index").is_file()
}

pub(super) fn dotgit_ok(path: &Utf8Path, admin: &Utf8Path) -> bool {
    dotgit_target(path).is_some_and(|t| canon(&t) == canon(admin))
}

/// Clears lock files a killed git child left in a worktree's admin dir (`index.lock`,
/// `HEAD.lock`, `AUTO_MERGE.lock` of a checkout, …) and the `packed-refs.lock` a checkout takes
/// to delete such a ref (`proven` callers only; a lock a live process holds is left).
pub fn clear_stale_locks(loc: &Location, admin: &Utf8Path) {
    clear_admin_locks(admin);
    super::stale::clear(loc.common_dir.join("packed-refs.lock").as_std_path());
}

/// Clears the lock files a killed git child left in a worktree's admin dir only (not the
/// repository-wide `packed-refs.lock`, which another thread of ours may hold): for a caller
/// that knows no git process of its own works in that worktree.
pub fn clear_admin_locks(admin: &Utf8Path) {
    if let Ok(entries) = std::fs::read_dir(admin) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".lock") {
                super::stale::clear(&e.path());
            }
        }
    }
}

/// Deletes a directory's entries, `.git` last, then the directory itself. A read-only
/// directory inside (files copied from a read-only store, a module cache) stops the deletion
/// with EACCES even for its owner: then every directory of the worktree is made writable by its
/// owner and the deletion tried once more (repro round2 14: the cleanup after finish's commit
/// point must not stop there). A directory of someone else's stays an error naming it.
fn delete_files(path: &Utf8Path) -> Result<()> {
    delete_files_once(path).or_else(|e| {
        if make_dirs_writable(path.as_std_path()) {
            delete_files_once(path)
        } else {
            Err(e)
        }
    })
}

/// Adds owner write (and search) permission to `dir` and every directory below it that lacks
/// it, symlinks not followed. Whether anything was changed.
fn make_dirs_writable(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    let mut changed = false;
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        changed |=
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700)).is_ok();
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                changed |= make_dirs_writable(&e.path());
            }
        }
    }
    changed
}

fn delete_files_once(path: &Utf8Path) -> Result<()> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::fatal!("cannot read {path}: {e}")),
    };
    for e in entries.flatten() {
        if e.file_name() == ".git" {
            continue;
        }
        remove_any(&e.path())?;
    }
    remove_any(&path.join(".git").into_std_path_buf())?;
    match std::fs::remove_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::fatal!("cannot remove {path}: {e}")),
    }
}

fn remove_any(p: &std::path::Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::fatal!("cannot read {}: {e}", p.display())),
    };
    let r = if meta.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::fatal!("cannot remove {}: {e}", p.display())),
    }
}

/// Deletes an admin dir, `gitdir` last (so it keeps naming its worktree until the end), and
/// `<common dir>/worktrees` when that is left empty.
fn delete_admin(loc: &Location, admin: &Utf8Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(admin) {
        for e in entries.flatten() {
            if e.file_name() == "gitdir" {
                continue;
            }
            remove_any(&e.path())?;
        }
    }
    remove_any(admin.join("gitdir").as_std_path())?;
    let _ = std::fs::remove_dir(admin);
    let _ = std::fs::remove_dir(admin_root(loc));
    Ok(())
}

/// Removes the worktree at `path` and its admin dir, whatever their state: files first (`.git`
/// last), then the admin dir. Callers have checked that nothing there is anyone's work.
fn purge(loc: &Location, path: &Utf8Path, found: &Found) -> Result<()> {
    if let Some(admin) = &found.admin {
        if admin.is_dir() {
            std::fs::write(admin.join(REMOVING), "")
                .map_err(|e| crate::fatal!("cannot write {admin}/{REMOVING}: {e}"))?;
        }
    }
    delete_files(path)?;
    if let Some(admin) = &found.admin {
        delete_admin(loc, admin)?;
    }
    for j in &found.junk {
        delete_admin(loc, j)?;
    }
    // Directories the add created that are now empty (e.g. ../worktrees/<product>); never the
    // temp dir a test gate's worktree was made in, nor anything above it.
    let temp = std::env::temp_dir().canonicalize().ok();
    let mut dir = path.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let above_temp = match (&temp, d.canonicalize()) {
            (Some(t), Ok(here)) => t.starts_with(here),
            _ => false,
        };
        if above_temp {
            break;
        }
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

fn is_empty_dir(path: &Utf8Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

/// Whether the worktree at `path` is fully set up: admin dir complete and linked both ways,
/// checked out, not being removed.
pub fn is_complete(loc: &Location, path: &Utf8Path) -> Result<bool> {
    let found = find(loc, path)?;
    Ok(match &found.admin {
        Some(a) => {
            admin_complete(a)
                && checked_out(a)
                && dotgit_ok(path, a)
                && !a.join(REMOVING).exists()
                && !a.join("index.lock").exists()
        }
        None => false,
    })
}

/// Whether nothing of a worktree of this repository is left at `path`: no admin dir names it,
/// no junk of a half-made one, no files linked to a vanished one. (A directory there that was
/// never ours, e.g. one that made an add fail, is not this operation's to remove.)
pub fn is_absent(loc: &Location, path: &Utf8Path) -> Result<bool> {
    let found = find(loc, path)?;
    Ok(found.admin.is_none() && found.junk.is_empty() && !found.dangling)
}

/// Why removing the complete worktree at `path` (without force) would delete work:
/// uncommitted or untracked changes (except the files in `ours`), a lock, or a submodule
/// whose commits exist nowhere else. Empty when it may go. The listing is shared with every
/// other check of the same worktree until a step lets time pass (`txn::clean`).
pub fn removal_problems(loc: &Location, path: &Utf8Path, ours: &[&str]) -> Result<Vec<String>> {
    problems_of(loc, path, ours, true)
}

/// [`removal_problems`], from the shared listing when `shared`, else taken now (what a
/// removal checks just before it deletes anything).
fn problems_of(
    loc: &Location,
    path: &Utf8Path,
    ours: &[&str],
    shared: bool,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let found = find(loc, path)?;
    let Some(admin) = &found.admin else {
        return Ok(problems);
    };
    if !path.is_dir() || !dotgit_ok(path, admin) || !checked_out(admin) {
        return Ok(problems);
    }
    if let Ok(reason) = std::fs::read_to_string(admin.join("locked")) {
        let reason = reason.trim();
        problems.push(if reason.is_empty() {
            format!("{path} is locked (git worktree unlock {path})")
        } else {
            format!("{path} is locked: {reason} (git worktree unlock {path})")
        });
    }
    let (lines, submodules) = super::clean::findings(loc, path, shared)?;
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.strip_prefix("?? ").is_some_and(|f| ours.contains(&f)))
        .collect();
    if !lines.is_empty() {
        problems.push(format!(
            "{path} has uncommitted or untracked changes:\n      {}",
            lines
                .iter()
                .map(|l| crate::taskgraph::display::safe(l))
                .collect::<Vec<_>>()
                .join("\n      ")
        ));
    }
    problems.extend(submodules);
    Ok(problems)
}

/// Removes the worktree at `path`. Without `force` a complete worktree holding work (see
/// [`removal_problems`]) is refused. A half-removed one (marked, or its `.git` file gone) is
/// finished; a half-added one is removed when `proven`, else refused.
pub fn remove(
    loc: &Location,
    path: &Utf8Path,
    force: bool,
    ours: &[&str],
    proven: bool,
) -> Result<()> {
    let found = find(loc, path)?;
    if proven {
        if let Some(admin) = &found.admin {
            clear_stale_locks(loc, admin);
        }
    }
    let Some(admin) = &found.admin else {
        // Not registered. Files of ours are only an empty directory, a directory whose `.git`
        // names a vanished admin dir of this repository (when the journal proves it ours), and
        // admin dirs of an add killed before it linked them.
        if path.is_dir() && (is_empty_dir(path) || (found.dangling && proven)) {
            purge(loc, path, &found)?;
        } else if proven && !found.junk.is_empty() {
            for j in &found.junk {
                delete_admin(loc, j)?;
            }
        }
        return Ok(());
    };
    let half = admin.join(REMOVING).exists()
        || !path.exists()
        || !dotgit_ok(path, admin)
        || !admin_complete(admin)
        || !checked_out(admin);
    if half {
        let removal_under_way =
            admin.join(REMOVING).exists() || !path.exists() || !path.join(".git").exists();
        if proven || force || removal_under_way {
            return purge(loc, path, &found);
        }
        return Err(crate::refused!(
            help = "look at it; if nothing there is needed: git worktree remove --force {path}",
            "cannot remove worktree {path}: it is only half set up (not made by this operation)"
        ));
    }
    if !force {
        let problems = problems_of(loc, path, ours, false)?;
        if !problems.is_empty() {
            return Err(crate::refused!(
                help =
                    "commit, stash or remove the changes in {path} (or unlock it), then run again",
                "cannot remove worktree {}",
                problems.join("; ")
            ));
        }
    }
    purge(loc, path, &found)
}

/// Serializes `git worktree add` between the threads of a concurrent group of steps.
static WORKTREE_ADD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Makes `path` a complete, checked-out worktree on `branch` (or detached at a commit when
/// `detach`): registers it if needed, repairs a missing `.git` file, finishes a half checkout
/// or restores the files of a half-removed worktree (`git checkout --force`).
/// Returns whether it registered the worktree now.
pub fn ensure(
    loc: &Location,
    path: &Utf8Path,
    branch: &str,
    detach: bool,
    proven: bool,
) -> Result<()> {
    let mut found = find(loc, path)?;
    if proven {
        if let Some(admin) = &found.admin {
            clear_stale_locks(loc, admin);
        }
        for j in std::mem::take(&mut found.junk) {
            delete_admin(loc, &j)?;
        }
    }
    if let Some(admin) = found.admin.clone() {
        if !admin_complete(&admin) {
            if !proven {
                return Err(crate::refused!(
                    help = "look at it; if nothing there is needed: git worktree remove --force {path}",
                    "cannot set up worktree {path}: a half-made worktree is registered there"
                ));
            }
            // An add killed before it wrote HEAD: nothing checked out yet; start afresh.
            purge(loc, path, &found)?;
            found = Found::default();
        }
    } else if path.exists() && !is_empty_dir(path) {
        if found.dangling && proven {
            purge(loc, path, &found)?;
        } else {
            return Err(crate::refused!(
                help = "move it away (or remove it) and run again",
                "cannot create worktree {path}: it exists and is not a worktree of this repository"
            ));
        }
    }
    let admin = match found.admin {
        Some(a) => a,
        None => add(loc, path, branch, detach)?,
    };
    let mut needs_checkout = !checked_out(&admin) || admin.join(REMOVING).exists();
    if !path.is_dir() {
        std::fs::create_dir_all(path).map_err(|e| crate::fatal!("cannot create {path}: {e}"))?;
        needs_checkout = true;
    }
    if !dotgit_ok(path, &admin) {
        std::fs::write(path.join(".git"), format!("gitdir: {admin}\n"))
            .map_err(|e| crate::fatal!("cannot write {path}/.git: {e}"))?;
        needs_checkout = true;
    }
    if needs_checkout {
        // An add killed between its HEAD and its end leaves git's "initializing" lock.
        if proven && !checked_out(&admin) {
            let _ = std::fs::remove_file(admin.join("locked"));
        }
        let mut cmd = loc.git.in_dir(path);
        cmd.args(["checkout", "--force", "--quiet"]);
        if let Err(e) = cli::run(cmd) {
            let _ = remove(loc, path, true, &[], true);
            return Err(e.into());
        }
        let _ = std::fs::remove_file(admin.join(REMOVING));
    }
    Ok(())
}

/// `git worktree add --no-checkout` of `branch` (or detached at it) at `path`: its admin dir.
fn add(loc: &Location, path: &Utf8Path, branch: &str, detach: bool) -> Result<Utf8PathBuf> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {parent}: {e}"))?;
    }
    let mut cmd = loc.git_main();
    cmd.args(["worktree", "add", "--quiet", "--no-checkout"]);
    if detach {
        cmd.arg("--detach");
    }
    cmd.arg("--")
        .arg(path.as_str())
        .arg(crate::git::short_branch(branch));
    // One `git worktree add` at a time: while one creates its admin dir (written file
    // by file), another one listing the worktrees can read a still empty `commondir`
    // and die. Registering is quick; the checkouts run concurrently.
    {
        let _serial = WORKTREE_ADD.lock().unwrap_or_else(|e| e.into_inner());
        cli::run(cmd)?;
    }
    find(loc, path)?.admin.ok_or_else(|| {
        crate::fatal!(
            "git worktree add {path} left no admin dir in {}",
            admin_root(loc)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    // repro round2 14: the directories of a worktree being deleted are made writable.
    #[test]
    fn read_only_directories_are_made_writable_symlinks_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let wt = tmp.path().join("wt");
        std::fs::create_dir_all(wt.join("a/b")).unwrap();
        std::os::unix::fs::symlink(&outside, wt.join("link")).unwrap();
        for d in [&outside, &wt.join("a/b"), &wt.join("a")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        assert!(super::make_dirs_writable(&wt));
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&wt.join("a")), 0o755);
        assert_eq!(mode(&wt.join("a/b")), 0o755);
        assert_eq!(mode(&outside), 0o555, "a symlink's target is left alone");
        assert!(!super::make_dirs_writable(&wt), "nothing left to change");
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

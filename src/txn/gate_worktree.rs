//! The kept test gate worktree (`parallel.gateWorktree keep`, the default): one detached
//! worktree of the repository at `<state dir>/gate`, where every test gate checks out the
//! commit it tests (forced, detached) and cleans tracked and untracked changes but never
//! ignored files (`git clean -fd`, never `-x`), so that build output survives from one gate to
//! the next and a gate costs an incremental build instead of a cold one.
//!
//! It is ours only when it is registered at that path and our marker says we made it
//! ([`MARKER`] in its admin dir, or `<state dir>/gate.owned`, written before it is created, for
//! a creation killed half-way). On any doubt — something else at the path, or another gate
//! using it (`<state dir>/gate.inuse`, held with `flock` for the whole test) — the gate uses a
//! temporary worktree as before ([`take`] returns `None`). A gate killed mid-way leaves the
//! worktree registered, perhaps half checked out with a stale `index.lock`: the next gate,
//! holding the gate lock, clears the locks and repairs it, or removes and re-creates it. What
//! is in it is never anyone's work: commits checked out and what the tests wrote.

use std::io::Write;
use std::os::fd::AsRawFd;

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Result;
use crate::git::{cli, Repo};
use crate::txn::worktree;

/// In the kept worktree's admin dir: git-parallel made this worktree for its test gate.
const MARKER: &str = "git-parallel-gate";

/// The kept gate worktree's path: `<state dir>/gate`.
pub fn path(repo: &Repo) -> Utf8PathBuf {
    super::state_dir(repo).join("gate")
}

fn owned_path(repo: &Repo) -> Utf8PathBuf {
    super::state_dir(repo).join("gate.owned")
}

fn lock_path(repo: &Repo) -> Utf8PathBuf {
    super::state_dir(repo).join("gate.inuse")
}

/// The kept gate worktree, ours for as long as this value lives (its `flock` held).
pub struct Held {
    pub dir: Utf8PathBuf,
    _lock: std::fs::File,
}

/// Takes the gate lock: `None` when another process (or thread) holds it.
fn lock(repo: &Repo) -> Result<Option<std::fs::File>> {
    let path = lock_path(repo);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {parent}: {e}"))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .append(true)
        .open(&path)
        .map_err(|e| crate::fatal!("cannot open the gate lock {path}: {e}"))?;
    // SAFETY: flock on a file descriptor we own; released when the file is closed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    Ok((r == 0).then_some(file))
}

/// When a gate last used the kept worktree (seconds since the epoch; the gate lock's time).
pub fn last_used(repo: &Repo) -> Option<u64> {
    let modified = std::fs::metadata(lock_path(repo)).ok()?.modified().ok()?;
    Some(
        modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs(),
    )
}

/// Whether what is registered at the gate path is ours (see the module doc).
fn ours(repo: &Repo, found: &worktree::Found) -> bool {
    found
        .admin
        .as_ref()
        .is_some_and(|a| a.join(MARKER).is_file())
        || owned_path(repo).is_file()
}

/// The kept gate worktree checked out at `commit`, clean but for its ignored files, and held;
/// `None` (with a note) when it cannot be used safely and a temporary worktree must do.
pub fn take(repo: &Repo, commit: &gix::ObjectId) -> Result<Option<Held>> {
    let Some(lock) = lock(repo)? else {
        crate::output::note(format_args!(
            "the kept gate worktree is in use by another test gate; testing in a temporary worktree"
        ));
        return Ok(None);
    };
    let dir = path(repo);
    let loc = &repo.loc;
    let found = worktree::find(loc, &dir)?;
    let something_there =
        found.admin.is_some() || found.dangling || !found.junk.is_empty() || dir.exists();
    if something_there && !ours(repo, &found) {
        crate::output::note(format_args!(
            "{dir} is not a gate worktree git-parallel made; left alone, testing in a temporary worktree (remove it to let the gate keep its build state there)"
        ));
        return Ok(None);
    }
    if !something_there {
        // Written before anything is created: a creation killed half-way is still ours.
        std::fs::write(owned_path(repo), "the kept test gate worktree is ours\n")
            .map_err(|e| crate::fatal!("cannot write {}: {e}", owned_path(repo)))?;
    }
    if let Some(admin) = &found.admin {
        // No other gate runs there (we hold the gate lock): its locks are a killed gate's.
        // (Only the admin dir's: run tests on a thread of its own while its other thread
        // may hold the repository's ref locks.)
        worktree::clear_admin_locks(admin);
    }
    // The lock's time says when the kept worktree was last used (gc removes it when old).
    let _ = (&lock).write_all(format!("{}\n", crate::time::now_secs()).as_bytes());
    let held = Held { dir, _lock: lock };
    if prepare(repo, &held.dir, commit).is_err() {
        // Half made, half removed, or its checkout broken: made again from nothing.
        let again = worktree::remove(loc, &held.dir, true, &[], false)
            .and_then(|()| prepare(repo, &held.dir, commit));
        if let Err(e) = again {
            crate::output::note(format_args!(
                "cannot set up the kept gate worktree {}: {}; testing in a temporary worktree",
                held.dir,
                crate::error::render_error("error", &e, false).trim_end()
            ));
            return Ok(None);
        }
    }
    Ok(Some(held))
}

/// Makes `dir` the gate worktree (registered, marked) checked out at `commit`, clean but
/// for ignored files.
fn prepare(repo: &Repo, dir: &Utf8Path, commit: &gix::ObjectId) -> Result<()> {
    let loc = &repo.loc;
    let hex = commit.to_string();
    worktree::ensure(loc, dir, &hex, true, false)?;
    let admin = worktree::find(loc, dir)?.admin.ok_or_else(|| {
        crate::fatal!("the gate worktree {dir} is not registered after its set-up")
    })?;
    std::fs::write(
        admin.join(MARKER),
        "made by git-parallel for its test gate\n",
    )
    .map_err(|e| crate::fatal!("cannot mark the gate worktree in {admin}: {e}"))?;
    let mut checkout = loc.git.in_dir(dir);
    checkout.args(["checkout", "--force", "--detach", "--quiet", &hex, "--"]);
    cli::run(checkout)?;
    // Untracked files and directories go; ignored ones (build output) stay: never -x.
    let mut clean = loc.git.in_dir(dir);
    clean.args(["clean", "-f", "-d", "--quiet"]);
    cli::run(clean)?;
    Ok(())
}

/// Removes the kept gate worktree (`gc`) when it is ours and no gate uses it: whether it was
/// there to remove. Its ignored files are build output and go with it.
pub fn remove(repo: &Repo) -> Result<bool> {
    let Some(_lock) = lock(repo)? else {
        return Ok(false);
    };
    let dir = path(repo);
    let found = worktree::find(&repo.loc, &dir)?;
    let there = found.admin.is_some() || found.dangling || !found.junk.is_empty();
    if !ours(repo, &found) || !(there || dir.exists()) {
        return Ok(false);
    }
    worktree::remove(&repo.loc, &dir, true, &[], false)?;
    let _ = std::fs::remove_file(owned_path(repo));
    Ok(there)
}

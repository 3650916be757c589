//! The steps a plan is made of. Each step knows how to apply itself, undo itself and describe
//! itself; apply and undo are idempotent (a step found already in the wanted state is skipped),
//! which is what lets `recover` re-run a step a killed process may or may not have finished.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::git::{cli, Location, RefUpdate, Repo};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// Atomic compare-and-swap update of several refs.
    Refs {
        updates: Vec<RefUpdate>,
        message: String,
    },
    /// Bring the main worktree's index and files from one commit to another (only the files
    /// that differ; local changes to them make it fail instead of being overwritten).
    SyncMain { from: String, to: String },
    /// Create a worktree for an existing branch, copy the include files, run the postStart hook.
    AddWorktree {
        path: Utf8PathBuf,
        branch: String,
        #[serde(default)]
        copy: Vec<CopyFile>,
        #[serde(default)]
        post_start: Option<String>,
    },
    /// Remove a worktree. Without `force` git refuses when it has changes. `restore` and
    /// `post_start` say how to make it ready again when the removal is undone.
    RemoveWorktree {
        path: Utf8PathBuf,
        branch: String,
        #[serde(default)]
        force: bool,
        #[serde(default)]
        restore: Vec<CopyFile>,
        #[serde(default)]
        post_start: Option<String>,
    },
    /// Replace a file's bytes in the main worktree (the task file with --no-commit).
    WriteFile {
        path: Utf8PathBuf,
        old: String,
        new: String,
    },
    /// Run the test gate on a commit in a temporary worktree; changes nothing durable.
    TestGate {
        commit: String,
        command: String,
        dir: Utf8PathBuf,
    },
    /// Keep what a worktree removal would lose (ignored files, saved changes); see
    /// src/txn/keep.rs.
    Keep(super::keep::Keep),
}

/// A file copied from the main worktree into a new one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CopyFile {
    pub from: Utf8PathBuf,
    pub rel: String,
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::Refs { updates, .. } => {
                let parts: Vec<String> = updates
                    .iter()
                    .map(|u| match (&u.old, &u.new) {
                        (None, Some(n)) => format!("create {} at {}", u.name, short(n)),
                        (Some(o), None) => format!("delete {} (at {})", u.name, short(o)),
                        (Some(o), Some(n)) if o == n => {
                            format!("check {} is at {}", u.name, short(o))
                        }
                        (Some(o), Some(n)) => format!("move {} {}..{}", u.name, short(o), short(n)),
                        (None, None) => format!("check {} is absent", u.name),
                    })
                    .collect();
                parts.join("; ")
            }
            Step::SyncMain { from, to } => {
                format!(
                    "update the main worktree from {} to {}",
                    short(from),
                    short(to)
                )
            }
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
            } => {
                let mut s = format!("add worktree {path} on {}", branch_short(branch));
                if !copy.is_empty() {
                    s.push_str(&format!(", copy {} file(s)", copy.len()));
                }
                if let Some(cmd) = post_start {
                    s.push_str(&format!(", run `{cmd}`"));
                }
                s
            }
            Step::RemoveWorktree { path, force, .. } => {
                format!(
                    "remove worktree {path}{}",
                    if *force { " (forced)" } else { "" }
                )
            }
            Step::WriteFile { path, .. } => format!("write {path}"),
            Step::TestGate {
                commit, command, ..
            } => {
                format!("test {} with `{command}`", short(commit))
            }
            Step::Keep(k) => k.describe(),
        }
    }

    /// The step that reverses this one, for `undo` of a completed operation.
    pub fn inverse(&self) -> Option<Step> {
        Some(match self {
            Step::Refs { updates, message } => Step::Refs {
                updates: updates
                    .iter()
                    .map(|u| RefUpdate {
                        name: u.name.clone(),
                        old: u.new.clone(),
                        new: u.old.clone(),
                    })
                    .collect(),
                message: format!("undo: {message}"),
            },
            Step::SyncMain { from, to } => Step::SyncMain {
                from: to.clone(),
                to: from.clone(),
            },
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
            } => Step::RemoveWorktree {
                path: path.clone(),
                branch: branch.clone(),
                force: false,
                restore: copy.clone(),
                post_start: post_start.clone(),
            },
            Step::RemoveWorktree {
                path,
                branch,
                restore,
                post_start,
                ..
            } => Step::AddWorktree {
                path: path.clone(),
                branch: branch.clone(),
                copy: restore.clone(),
                post_start: post_start.clone(),
            },
            Step::WriteFile { path, old, new } => Step::WriteFile {
                path: path.clone(),
                old: new.clone(),
                new: old.clone(),
            },
            Step::TestGate { .. } => return None,
            Step::Keep(k) => Step::Keep(k.inverse()?),
        })
    }

    pub fn apply(&self, repo: &Repo) -> Result<()> {
        match self {
            Step::Refs { updates, message } => apply_refs(repo, updates, message),
            Step::SyncMain { from, to } => sync_main(repo, from, to),
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
            } => add_worktree(&repo.loc, path, branch, copy, post_start.as_deref()),
            Step::RemoveWorktree {
                path,
                force,
                restore,
                ..
            } => remove_worktree(&repo.loc, path, *force, &rels(restore)),
            Step::WriteFile { path, old, new } => write_file(path, old, new),
            Step::TestGate {
                commit,
                command,
                dir,
            } => test_gate(repo, commit, command, dir),
            Step::Keep(k) => k.apply(&repo.loc),
        }
    }

    /// Worktree steps touch only their own worktree, so a run of them may go concurrently.
    pub fn concurrent(&self) -> bool {
        matches!(self, Step::AddWorktree { .. } | Step::RemoveWorktree { .. })
    }

    /// Applies a worktree step without gix (callable from any thread).
    pub fn apply_concurrent(&self, loc: &Location) -> Result<()> {
        match self {
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
            } => add_worktree(loc, path, branch, copy, post_start.as_deref()),
            Step::RemoveWorktree {
                path,
                force,
                restore,
                ..
            } => remove_worktree(loc, path, *force, &rels(restore)),
            other => Err(crate::fatal!(
                "step cannot run concurrently: {}",
                other.describe()
            )),
        }
    }

    /// Undoes the step. `fresh`: rolling back in the same run that applied it, so a worktree it
    /// added was never handed to anyone and may be removed with whatever its postStart hook
    /// left there; later (`recover --abort`) such a worktree is removed only when clean.
    pub fn undo(&self, repo: &Repo, fresh: bool) -> Result<()> {
        match self {
            Step::AddWorktree { path, copy, .. } => {
                let ours: Vec<&str> = copy.iter().map(|c| c.rel.as_str()).collect();
                remove_worktree(&repo.loc, path, fresh, &ours)
            }
            Step::TestGate { dir, .. } => remove_temp_worktree(repo, dir),
            Step::Refs { updates, message } => undo_refs(repo, updates, message),
            other => match other.inverse() {
                Some(inv) => inv.apply(repo),
                None => Ok(()),
            },
        }
    }
}

fn rels(copy: &[CopyFile]) -> Vec<&str> {
    copy.iter().map(|c| c.rel.as_str()).collect()
}

pub fn short(oid: &str) -> &str {
    oid.get(..10).unwrap_or(oid)
}

fn branch_short(b: &str) -> &str {
    b.strip_prefix("refs/heads/").unwrap_or(b)
}

fn apply_refs(repo: &Repo, updates: &[RefUpdate], message: &str) -> Result<()> {
    // Already applied (a re-run after a crash)?
    let mut all_new = true;
    for u in updates {
        let cur = repo.ref_id(&u.name)?.map(|i| i.to_string());
        if cur != u.new {
            all_new = false;
            break;
        }
    }
    if all_new {
        return Ok(());
    }
    repo.update_refs(updates, message)
}

/// Reverses the updates that took effect (a ref transaction is atomic, so normally all or
/// none did); refs not at their new value are left alone.
fn undo_refs(repo: &Repo, updates: &[RefUpdate], message: &str) -> Result<()> {
    let mut back = Vec::new();
    for u in updates {
        let cur = repo.ref_id(&u.name)?.map(|i| i.to_string());
        if cur == u.new && u.new != u.old {
            back.push(RefUpdate {
                name: u.name.clone(),
                old: u.new.clone(),
                new: u.old.clone(),
            });
        }
    }
    if back.is_empty() {
        return Ok(());
    }
    repo.update_refs(&back, &format!("undo: {message}"))
}

fn index_matches(repo: &Repo, commit: &str) -> Result<bool> {
    let mut cmd = repo.git_main();
    cmd.args(["diff-index", "--cached", "--quiet", commit, "--"]);
    let status = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    Ok(status.success())
}

fn sync_main(repo: &Repo, from: &str, to: &str) -> Result<()> {
    if repo.main_worktree.is_none() {
        return Ok(());
    }
    if from == to || index_matches(repo, to)? {
        return Ok(());
    }
    let mut cmd = repo.git_main();
    cmd.args(["read-tree", "-m", "-u", from, to]);
    cli::run(cmd).map_err(|e| {
        crate::refused!(
            help = "commit or stash your changes in the main worktree, then run the command again",
            "cannot update the main worktree: {}",
            crate::txn::message_of(&e)
        )
    })?;
    Ok(())
}

fn worktree_registered(repo: &Location, path: &Utf8Path) -> Result<bool> {
    let canon = path
        .canonicalize_utf8()
        .unwrap_or_else(|_| path.to_path_buf());
    Ok(repo
        .worktrees()?
        .iter()
        .any(|w| w.path == canon || w.path == path))
}

/// Serializes `git worktree add` between the threads of a concurrent group of steps.
static WORKTREE_ADD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn add_worktree(
    repo: &Location,
    path: &Utf8Path,
    branch: &str,
    copy: &[CopyFile],
    post_start: Option<&str>,
) -> Result<()> {
    if !worktree_registered(repo, path)? {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut cmd = repo.git_main();
        cmd.args(["worktree", "add", "--quiet", "--no-checkout", "--"])
            .arg(path.as_str())
            .arg(branch_short(branch));
        // One `git worktree add` at a time: while one creates its admin dir (.git/worktrees/X,
        // written file by file), another one listing the worktrees can read a still empty
        // `commondir` and die ("failed to read …/commondir: Success"). Registering is quick;
        // the checkout, copies and postStart hook below run concurrently.
        let _serial = WORKTREE_ADD.lock().unwrap_or_else(|e| e.into_inner());
        cli::run(cmd)?;
    }
    if !checked_out(path) {
        let mut cmd = repo.git.in_dir(path);
        cmd.args(["checkout", "--force", "--quiet"]);
        if let Err(e) = cli::run(cmd) {
            let _ = remove_worktree(repo, path, true, &[]);
            return Err(e);
        }
    }
    let result = (|| -> Result<()> {
        for f in copy {
            let dest = path.join(&f.rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            copy_file(&f.from, &dest)?;
        }
        if let Some(cmd) = post_start {
            run_shell(cmd, path, "parallel.postStart")?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let ours: Vec<&str> = copy.iter().map(|c| c.rel.as_str()).collect();
        let _ = remove_worktree(repo, path, true, &ours);
        return Err(e);
    }
    Ok(())
}

/// Whether a worktree has been checked out (its index exists): a worktree registered with
/// `--no-checkout` by a run that was killed before its checkout has none.
fn checked_out(path: &Utf8Path) -> bool {
    let Ok(dotgit) = std::fs::read_to_string(path.join(".git")) else {
        return false;
    };
    match dotgit.trim().strip_prefix("gitdir:") {
        Some(admin) => std::path::Path::new(admin.trim()).join("index").exists(),
        None => false,
    }
}

/// Copies a file, as a copy-on-write clone where the filesystem supports it (`cp --reflink=auto`
/// semantics are what `std::fs::copy` gives on Linux through copy_file_range).
fn copy_file(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| crate::fatal!("cannot copy {from} to {to}: {e}"))?;
    Ok(())
}

/// Runs a shell command from git config in `dir`, its output shown on failure.
pub fn run_shell(command: &str, dir: &Utf8Path, what: &str) -> Result<()> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| crate::fatal!("cannot run {what} `{command}`: {e}"))?;
    if !out.status.success() {
        return Err(crate::refused!(
            help = "fix the command (git config {what}) or the worktree setup, then run again",
            "{what} `{command}` failed in {dir} ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Removes a worktree. `ours`: untracked files this tool put there, which do not block removal.
fn remove_worktree(repo: &Location, path: &Utf8Path, force: bool, ours: &[&str]) -> Result<()> {
    if !worktree_registered(repo, path)? {
        // Not registered: a directory left behind by a half-done add is ours only if empty.
        if path.is_dir()
            && std::fs::read_dir(path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
        {
            let _ = std::fs::remove_dir(path);
        }
        return Ok(());
    }
    let mut force = force;
    if !force && !ours.is_empty() {
        let lines = repo.status_lines(path)?;
        force = lines
            .iter()
            .all(|l| l.strip_prefix("?? ").is_some_and(|f| ours.contains(&f)));
    }
    let mut cmd = repo.git_main();
    cmd.args(["worktree", "remove"]);
    if force {
        cmd.args(["--force", "--force"]);
    }
    cmd.arg("--").arg(path.as_str());
    cli::run(cmd).map_err(|e| {
        crate::refused!(
            help = "commit, stash or remove the changes in {path} (or unlock it), then run again",
            "cannot remove worktree {path}: {}",
            crate::txn::message_of(&e)
        )
    })?;
    // Remove directories the add created that are now empty (e.g. ../worktrees/<product>).
    let mut dir = path.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

fn write_file(path: &Utf8Path, old: &str, new: &str) -> Result<()> {
    let cur = std::fs::read_to_string(path).unwrap_or_default();
    if cur == new {
        return Ok(());
    }
    if cur != old {
        return Err(crate::refused!(
            help = "look at the file; run the command again once it is as you want it",
            "{path} was changed by someone else meanwhile; not overwriting it"
        ));
    }
    let tmp = Utf8PathBuf::from(format!("{path}.git-parallel.tmp"));
    std::fs::write(&tmp, new)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn test_gate(repo: &Repo, commit: &str, command: &str, dir: &Utf8Path) -> Result<()> {
    remove_temp_worktree(repo, dir)?;
    let mut cmd = repo.git_main();
    cmd.args(["worktree", "add", "--quiet", "--detach", "--"])
        .arg(dir.as_str())
        .arg(commit);
    cli::run(cmd)?;
    crate::output::testing(short(commit), command, dir.as_str());
    let mut test = std::process::Command::new("sh");
    test.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null());
    let status = if crate::output::quiet() {
        // -q: the test's output is kept back and shown only if it fails.
        test.output().map(|o| {
            if !o.status.success() {
                crate::output::failed_test_output(&o.stdout, &o.stderr);
            }
            o.status
        })
    } else {
        // The test's output is the user's to read: stream it, on stderr so stdout stays parseable.
        test.stdout(std::process::Stdio::from(std::io::stderr().as_fd_owned()?))
            .status()
    };
    let removed = remove_temp_worktree(repo, dir);
    let status = status.map_err(|e| crate::fatal!("cannot run the test `{command}`: {e}"))?;
    removed?;
    if !status.success() {
        return Err(crate::refused!(
            help = "fix the failing tasks (git parallel exec -- {command}) and run finish again",
            "the test `{command}` failed on the merged result ({status}); the target was not moved"
        ));
    }
    Ok(())
}

trait AsFdOwned {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl AsFdOwned for std::io::Stderr {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

fn remove_temp_worktree(repo: &Repo, dir: &Utf8Path) -> Result<()> {
    if worktree_registered(repo, dir)? || dir.exists() {
        let mut cmd = repo.git_main();
        cmd.args(["worktree", "remove", "--force", "--force", "--"])
            .arg(dir.as_str());
        let _ = cli::run(cmd);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut cmd = repo.git_main();
        cmd.args(["worktree", "prune"]);
        let _ = cli::run(cmd);
    }
    Ok(())
}

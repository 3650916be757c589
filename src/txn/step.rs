//! The steps a plan is made of. Each step knows how to apply itself, undo itself and describe
//! itself; apply and undo are idempotent (a step found already in the wanted state is skipped),
//! which is what lets `recover` re-run a step a killed process may or may not have finished.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::taskenv::TaskEnv;
use crate::error::Result;
use crate::git::{Location, RefUpdate, Repo};

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
    /// `branch`: the branch the main worktree must still have checked out for its files to be
    /// touched (otherwise only the ref moves; None in journals written before it was recorded).
    SyncMain {
        from: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
    },
    /// Create a worktree for an existing branch, copy the include files, run the postStart hook.
    AddWorktree {
        path: Utf8PathBuf,
        branch: String,
        #[serde(default)]
        copy: Vec<CopyFile>,
        #[serde(default)]
        post_start: Option<String>,
        /// The task's port block, env file and setup key (src/txn/taskenv.rs).
        #[serde(default, skip_serializing_if = "TaskEnv::is_empty")]
        env: TaskEnv,
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
    /// Publish ref changes on a remote: one atomic push leased on every `old` (src/txn/push.rs).
    Push {
        remote: String,
        updates: Vec<RefUpdate>,
    },
    /// Park, take or trim a reused worktree; see src/txn/pool.rs.
    Pool(super::pool::Pool),
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
            Step::SyncMain { from, to, .. } => {
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
                ..
            } => {
                format!(
                    "add worktree {path} on {}{}",
                    crate::git::short_branch(branch),
                    super::ready::describe(copy, post_start.as_deref())
                )
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
            Step::Push { remote, updates } => super::push::describe(remote, updates),
            Step::Pool(p) => p.describe(),
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
            Step::SyncMain { from, to, branch } => Step::SyncMain {
                from: to.clone(),
                to: from.clone(),
                branch: branch.clone(),
            },
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
                ..
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
                env: TaskEnv::default(),
            },
            Step::WriteFile { path, old, new } => Step::WriteFile {
                path: path.clone(),
                old: new.clone(),
                new: old.clone(),
            },
            Step::TestGate { .. } => return None,
            Step::Keep(k) => Step::Keep(k.inverse()?),
            Step::Push { remote, updates } => super::push::inverse(remote, updates),
            Step::Pool(p) => Step::Pool(p.inverse()),
        })
    }

    /// Applies the step. `proven`: the journal shows this step was started by a process that
    /// is dead (a re-run by `recover`), so a half-done effect of it may be finished: stale lock
    /// files cleared, leftovers of a half-made or half-removed worktree completed or deleted.
    pub fn apply(&self, repo: &Repo, proven: bool) -> Result<()> {
        match self {
            Step::Refs { updates, message } => apply_refs(repo, updates, message, proven),
            Step::SyncMain { from, to, branch } => {
                super::syncmain::sync(repo, from, to, branch.as_deref(), proven)
            }
            Step::TestGate {
                commit,
                command,
                dir,
            } => super::testgate::test_gate(repo, commit, command, dir),
            Step::Keep(k) => k.apply(&repo.loc),
            Step::Push { remote, updates } => super::push::apply(&repo.loc, remote, updates),
            other => other.apply_concurrent(&repo.loc, proven),
        }
    }

    /// Whether the step gives others time to write in the task worktrees (a test gate runs for
    /// minutes, a push waits on the network, a postStart hook runs the user's commands): the
    /// worktree listings taken before it are stale after it (see src/txn/clean.rs).
    pub fn lets_time_pass(&self) -> bool {
        match self {
            Step::TestGate { .. } | Step::Push { .. } => true,
            Step::AddWorktree { post_start, .. } => post_start.is_some(),
            Step::Pool(p) => p.lets_time_pass(),
            _ => false,
        }
    }

    /// Worktree steps touch only their own worktree, so a run of them may go concurrently.
    pub fn concurrent(&self) -> bool {
        match self {
            Step::AddWorktree { .. } | Step::RemoveWorktree { .. } => true,
            Step::Pool(p) => p.concurrent(),
            _ => false,
        }
    }

    /// Applies a step that needs no gix (callable from any thread): the worktree steps and
    /// file writes.
    pub fn apply_concurrent(&self, loc: &Location, proven: bool) -> Result<()> {
        match self {
            Step::AddWorktree {
                path,
                branch,
                copy,
                post_start,
                env,
            } => add_worktree(loc, path, branch, copy, post_start.as_deref(), env, proven),
            Step::RemoveWorktree {
                path,
                force,
                restore,
                ..
            } => super::worktree::remove(loc, path, *force, &rels(restore), proven),
            Step::WriteFile { path, old, new } => write_file(path, old, new),
            Step::Pool(p) => p.apply(loc, proven),
            other => Err(crate::fatal!(
                "step cannot run concurrently: {}",
                other.describe()
            )),
        }
    }

    /// Checks, before anything changes, that a step after the commit point will not be
    /// refused: a worktree it removes holds no work (changes, lock, submodule commits found
    /// nowhere else). Such a step failing would leave the operation half-done.
    pub fn precheck(&self, repo: &Repo) -> Result<Vec<String>> {
        match self {
            Step::RemoveWorktree {
                path,
                force: false,
                restore,
                ..
            } => super::worktree::removal_problems(&repo.loc, path, &rels(restore)),
            Step::Pool(p) => p.precheck(&repo.loc),
            _ => Ok(Vec::new()),
        }
    }

    /// Undoes the step. `fresh`: rolling back in the same run that applied it, so a worktree it
    /// added was never handed to anyone and may be removed with whatever its postStart hook
    /// left there; later (`recover --abort`) such a worktree is removed only when clean, unless
    /// the step never completed (`proven`: it was started by a process now dead, or its undo
    /// was under way), in which case whatever is there is the remains of this step.
    pub fn undo(&self, repo: &Repo, fresh: bool, proven: bool) -> Result<()> {
        match self {
            Step::AddWorktree { path, copy, .. } => {
                let ours: Vec<&str> = copy.iter().map(|c| c.rel.as_str()).collect();
                super::worktree::remove(&repo.loc, path, fresh, &ours, fresh || proven)
            }
            Step::TestGate { dir, .. } => super::testgate::remove_temp_worktree(repo, dir),
            Step::Refs { updates, message } => undo_refs(repo, updates, message, proven),
            Step::Push { remote, updates } => super::push::undo(&repo.loc, remote, updates, fresh),
            Step::Pool(p) => p.undo(&repo.loc, fresh, proven),
            other => match other.inverse() {
                Some(inv) => inv.apply(repo, fresh || proven),
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

/// Lock files a ref transaction on these refs takes (loose ref locks, packed-refs, HEAD).
fn clear_ref_locks(repo: &Repo, updates: &[RefUpdate]) {
    for u in updates {
        let lock = repo.common_dir.join(format!("{}.lock", u.name));
        super::stale::clear(lock.as_std_path());
    }
    for p in [
        repo.common_dir.join("packed-refs.lock"),
        repo.git_dir.join("HEAD.lock"),
    ] {
        super::stale::clear(p.as_std_path());
    }
}

/// Moves the refs not yet at their new value (a transaction cut short by a kill may have
/// renamed some of its lock files into place and not others); each from its expected old value.
fn apply_refs(repo: &Repo, updates: &[RefUpdate], message: &str, proven: bool) -> Result<()> {
    if proven {
        clear_ref_locks(repo, updates);
    }
    let mut todo = Vec::new();
    for u in updates {
        let cur = repo.ref_id(&u.name)?.map(|i| i.to_string());
        if cur != u.new || (u.old == u.new && cur != u.old) {
            todo.push(u.clone());
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    // After a cut-short transaction only part of it may be in place; the rest must still
    // find their old values.
    let updates = if proven { todo.as_slice() } else { updates };
    repo.update_refs(updates, message).map_err(|e| {
        // Name what moved (another process committing, a branch moved meanwhile).
        let moved: Vec<String> = updates
            .iter()
            .filter_map(|u| {
                let cur = repo.ref_id(&u.name).ok()?.map(|i| i.to_string());
                (cur != u.old).then(|| {
                    format!(
                        "{} is {} now, expected {}",
                        crate::git::short_branch(&u.name),
                        cur.as_deref()
                            .map_or("absent".into(), |c| format!("at {}", short(c))),
                        u.old
                            .as_deref()
                            .map_or("absent".into(), |c| format!("at {}", short(c)))
                    )
                })
            })
            .collect();
        if moved.is_empty() {
            e.into()
        } else {
            crate::refused!(
                "another process changed {} meanwhile: {}",
                if moved.len() == 1 { "a ref" } else { "refs" },
                moved.join("; ")
            )
        }
    })
}

/// Reverses the updates that took effect (a ref transaction is atomic, so normally all or
/// none did); refs not at their new value are left alone.
fn undo_refs(repo: &Repo, updates: &[RefUpdate], message: &str, proven: bool) -> Result<()> {
    if proven {
        clear_ref_locks(repo, updates);
    }
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
    Ok(repo.update_refs(&back, &format!("undo: {message}"))?)
}

fn add_worktree(
    loc: &Location,
    path: &Utf8Path,
    branch: &str,
    copy: &[CopyFile],
    post_start: Option<&str>,
    env: &TaskEnv,
    proven: bool,
) -> Result<()> {
    super::worktree::ensure(loc, path, branch, false, proven)?;
    if let Err(e) = super::ready::make_ready(path, copy, post_start, env) {
        let ours: Vec<&str> = copy
            .iter()
            .map(|c| c.rel.as_str())
            .chain(env.env_file.as_ref().map(|f| f.rel.as_str()))
            .collect();
        let _ = super::worktree::remove(loc, path, true, &ours, true);
        return Err(e);
    }
    Ok(())
}

/// Runs a shell command from git config in `dir` with the variables `vars` set, its output
/// shown on failure.
pub fn run_shell(
    command: &str,
    dir: &Utf8Path,
    what: &str,
    vars: &[(String, String)],
) -> Result<()> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(vars.iter().map(|(k, v)| (k, v)))
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

fn write_file(path: &Utf8Path, old: &str, new: &str) -> Result<()> {
    let tmp = Utf8PathBuf::from(format!("{path}.git-parallel.tmp"));
    // A temp file of an earlier, killed run of this step.
    let _ = std::fs::remove_file(&tmp);
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
    std::fs::write(&tmp, new)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

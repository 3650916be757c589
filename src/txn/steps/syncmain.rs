//! Moving the main worktree's index and files between two commits (`git read-tree -m -u`), in
//! a way that a kill in the middle can be finished or reverted.
//!
//! `read-tree` writes the changed files one by one and the index last. A kill leaves the index
//! at one side and some files (one maybe half-written) at the other. Before moving, the files
//! of the changed paths are put back to the side the index holds — but only those that hold
//! exactly the other side's content (or a prefix of it: a half-written file) or are missing;
//! anything else is someone's work and stops the step with the list of paths.

use std::collections::{BTreeSet, HashMap};

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use super::shared::short;
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::index::Staged;
use crate::git::{cli, Repo};
use gix::ObjectId;

/// The `SyncMain` step: the main worktree's index and files brought from one commit to another
/// (only the files that differ; local changes to them make it fail instead of being
/// overwritten). `branch`: the branch the main worktree must still have checked out for its
/// files to be touched (otherwise only the ref moves; None in journals written before it was
/// recorded).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncMain {
    #[serde(with = "crate::git::hex")]
    pub from: ObjectId,
    #[serde(with = "crate::git::hex")]
    pub to: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

impl StepKind for SyncMain {
    fn describe(&self) -> String {
        format!(
            "update the main worktree from {} to {}",
            short(self.from),
            short(self.to)
        )
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::SyncMain(SyncMain {
            from: self.to,
            to: self.from,
            branch: self.branch.clone(),
        }))
    }

    fn apply(&self, repo: &Repo, proven: bool) -> Result<()> {
        sync(repo, &self.from, &self.to, self.branch.as_deref(), proven)
    }
}

/// One path that differs between the two commits: its blob on each side (None: absent).
struct Change {
    path: String,
    from: Option<Entry>,
    to: Option<Entry>,
}

#[derive(Clone)]
struct Entry {
    mode: String,
    oid: String,
}

fn tree_diff(repo: &Repo, from: &str, to: &str) -> Result<Vec<Change>> {
    let mut cmd = repo.git_main();
    cmd.args(["diff-tree", "-r", "-z", "--no-renames", "--raw", from, to]);
    let out = cli::stdout(cmd)?;
    let mut parts = out.split('\0');
    let mut changes = Vec::new();
    while let Some(meta) = parts.next() {
        let Some(meta) = meta.strip_prefix(':') else {
            continue;
        };
        let Some(path) = parts.next() else { break };
        let f: Vec<&str> = meta.split(' ').collect();
        if f.len() < 5 {
            continue;
        }
        let side = |mode: &str, oid: &str| {
            (mode != "000000").then(|| Entry {
                mode: mode.to_string(),
                oid: oid.to_string(),
            })
        };
        let (a, b) = (side(f[0], f[2]), side(f[1], f[3]));
        // Submodules (gitlinks) have no files of their own to move.
        if a.as_ref().is_some_and(|e| e.mode == "160000")
            || b.as_ref().is_some_and(|e| e.mode == "160000")
        {
            continue;
        }
        changes.push(Change {
            path: path.to_string(),
            from: a,
            to: b,
        });
    }
    Ok(changes)
}

/// Paths where the index differs from `commit`.
fn index_differs(repo: &Repo, commit: &str) -> Result<BTreeSet<String>> {
    let mut cmd = repo.git_main();
    cmd.args([
        "diff-index",
        "--cached",
        "--no-renames",
        "--name-only",
        "-z",
        commit,
        "--",
    ]);
    Ok(cli::stdout_z(cmd)?.into_iter().collect())
}

/// Whether the main worktree's index holds `commit`'s side of every change (`side`: that
/// side's entry of a change). Read in-process where gix reads the index as git does, else
/// asked of `git diff-index`.
fn index_holds(
    repo: &Repo,
    changes: &[Change],
    commit: &str,
    side: impl Fn(&Change) -> Option<&Entry>,
) -> Result<bool> {
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    if let Some(staged) = repo.staged(&paths) {
        return Ok(changes.iter().zip(staged).all(|(c, s)| match (side(c), s) {
            (None, Staged::Absent) => true,
            (Some(e), Staged::Entry(mode, id)) => {
                format!("{mode:06o}") == e.mode && crate::git::oid(&e.oid).is_ok_and(|o| o == id)
            }
            _ => false,
        }));
    }
    let off = index_differs(repo, commit)?;
    Ok(changes.iter().all(|c| !off.contains(&c.path)))
}

/// Which of the tracked `paths` have a file that differs from the index (content compared,
/// missing included). Only those paths are looked at (a few lstat, not one per index entry),
/// unless there are so many that naming them costs more than the whole pass.
fn worktree_differs(repo: &Repo, paths: &[&str]) -> Result<BTreeSet<String>> {
    let mut cmd = repo.git_main();
    cmd.args([
        "--literal-pathspecs",
        "diff",
        "--no-ext-diff",
        "--no-renames",
        "--name-only",
        "-z",
        "--",
    ]);
    if paths.len() <= MAX_PATHSPECS {
        cmd.args(paths);
    }
    Ok(cli::stdout_z(cmd)?.into_iter().collect())
}

/// Above this many changed paths the main worktree is compared whole.
const MAX_PATHSPECS: usize = 2000;

/// The file's bytes (a symlink's target), None when absent, Err for what is neither.
fn file_bytes(p: &Utf8Path) -> std::result::Result<Option<Vec<u8>>, ()> {
    match std::fs::symlink_metadata(p) {
        Err(_) => Ok(None),
        Ok(m) if m.file_type().is_symlink() => std::fs::read_link(p)
            .map(|t| Some(t.into_os_string().into_encoded_bytes()))
            .map_err(|_| ()),
        Ok(m) if m.is_file() => std::fs::read(p).map(Some).map_err(|_| ()),
        Ok(_) => Err(()),
    }
}

fn blob(repo: &Repo, oid: &str) -> Option<Vec<u8>> {
    let id = crate::git::oid(oid).ok()?;
    repo.gix.find_object(id).ok().map(|o| o.data.clone())
}

/// Moves the main worktree from `from` to `to`. With `branch`, only while HEAD is still that
/// branch: otherwise the user switched away and the files belong to another branch.
pub fn sync(
    repo: &Repo,
    from: &ObjectId,
    to: &ObjectId,
    branch: Option<&str>,
    proven: bool,
) -> Result<()> {
    let (from, to) = (&from.to_string(), &to.to_string());
    let Some(wt) = repo.main_worktree.clone() else {
        return Ok(());
    };
    if let Some(b) = branch {
        let head = repo.head_branch()?;
        if head.as_deref() != Some(b) {
            eprintln!(
                "note: the main worktree has {} checked out, not {}: only the branch was moved, its files were left alone",
                head.as_deref()
                    .map(|h| crate::git::short_branch(h).to_string())
                    .unwrap_or_else(|| "a detached HEAD".into()),
                crate::git::short_branch(b)
            );
            return Ok(());
        }
    }
    if from == to {
        return Ok(());
    }
    if proven {
        crate::txn::stale::clear(repo.git_dir.join("index.lock").as_std_path());
    }
    let changes = tree_diff(repo, from, to)?;
    if changes.is_empty() {
        return Ok(());
    }
    let at_to = index_holds(repo, &changes, to, |c| c.to.as_ref())?;
    let at_from = at_to || index_holds(repo, &changes, from, |c| c.from.as_ref())?;
    if !at_to && !at_from {
        return Err(crate::refused!(
            help = "commit, stash or reset the staged changes in the main worktree, then run again",
            "cannot update the main worktree from {} to {}: its index has staged changes of its own in the files that change",
            short(from),
            short(to)
        ));
    }
    // The side the index holds; the files may be part-way to the other side.
    let at_to_side = at_to;
    put_back(repo, &wt, &changes, at_to_side)?;
    if at_to_side {
        return Ok(());
    }
    // read-tree stats only the entries that change, and trusts the index's stat data for
    // them: when it refuses, the index is refreshed (a whole pass, for files rewritten with
    // the same content meanwhile) and it is asked again.
    let read_tree = || {
        let mut cmd = repo.git_main();
        cmd.args(["read-tree", "-m", "-u", from, to]);
        cli::run(cmd)
    };
    if read_tree().is_ok() {
        return Ok(());
    }
    let mut cmd = repo.git_main();
    cmd.args(["update-index", "-q", "--refresh"]);
    let _ = cli::run(cmd);
    read_tree().map_err(|e| {
        crate::refused!(
            help = "commit or stash your changes in the main worktree, then run the command again",
            "cannot update the main worktree: {}",
            e
        )
    })?;
    Ok(())
}

/// Whether the main worktree's index holds `want` (one of `from`, `to`) on the paths that
/// differ between them; None when the check does not apply (no main worktree, or it has
/// another branch than `branch` checked out).
pub fn index_at(
    repo: &Repo,
    from: &ObjectId,
    to: &ObjectId,
    want: &ObjectId,
    branch: Option<&str>,
) -> Result<Option<bool>> {
    let (from, to, want) = (&from.to_string(), &to.to_string(), &want.to_string());
    if repo.main_worktree.is_none() || from == to {
        return Ok(None);
    }
    if let Some(b) = branch {
        if repo.head_branch()?.as_deref() != Some(b) {
            return Ok(None);
        }
    }
    let changes = tree_diff(repo, from, to)?;
    let off = index_differs(repo, want)?;
    Ok(Some(changes.iter().all(|c| !off.contains(&c.path))))
}

/// Puts the files of the changed paths back to the index's side (`to` when `at_to`), where
/// they hold the other side's content, part of it, or nothing.
fn put_back(repo: &Repo, wt: &Utf8Path, changes: &[Change], at_to: bool) -> Result<()> {
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let modified = worktree_differs(repo, &paths)?;
    let mut restore = Vec::new();
    let mut delete = Vec::new();
    let mut foreign = Vec::new();
    let mut blobs: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    for c in changes {
        let (want, other) = if at_to {
            (&c.to, &c.from)
        } else {
            (&c.from, &c.to)
        };
        let file = wt.join(&c.path);
        let in_index = want.is_some();
        if in_index && !modified.contains(&c.path) {
            continue;
        }
        let Ok(bytes) = file_bytes(&file) else {
            foreign.push(c.path.clone());
            continue;
        };
        let Some(bytes) = bytes else {
            if in_index {
                restore.push(c.path.clone());
            }
            continue;
        };
        let ours = match other {
            Some(e) => {
                let b = blobs
                    .entry(e.oid.clone())
                    .or_insert_with(|| blob(repo, &e.oid));
                b.as_ref().is_some_and(|b| b.starts_with(&bytes))
            }
            None => false,
        };
        if !ours {
            foreign.push(c.path.clone());
        } else if in_index {
            restore.push(c.path.clone());
        } else {
            delete.push(c.path.clone());
        }
    }
    if !foreign.is_empty() {
        foreign.truncate(20);
        return Err(crate::refused!(
            help = "commit, stash or move these changes away, then run the command again",
            "cannot update the main worktree: these files have changes not made by git-parallel:\n  {}",
            foreign
                .iter()
                .map(|f| crate::taskgraph::display::safe(f))
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    for rel in &delete {
        let p = wt.join(rel);
        std::fs::remove_file(&p).map_err(|e| crate::fatal!("cannot remove {p}: {e}"))?;
        let mut dir = p.parent();
        while let Some(d) = dir {
            if d == wt || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    if !restore.is_empty() {
        let mut cmd = repo.git_main();
        cmd.args([
            "checkout-index",
            "--force",
            "--quiet",
            "-u",
            "-z",
            "--stdin",
        ]);
        let input = restore.join("\0") + "\0";
        cli::run_with_input(cmd, input.as_bytes())?;
    }
    Ok(())
}

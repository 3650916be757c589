//! Submodule work that removing a task worktree would lose. An initialised submodule of a
//! linked worktree keeps its repository inside the worktree's admin directory
//! (`.git/worktrees/<wt>/modules/<name>`), which goes with the worktree: its local commits and
//! uncommitted files are lost, and a wip commit of the superproject records only the gitlink.
//!
//! [`find`] lists such submodules (for abort to refuse without --force); [`save`] copies their
//! commits that are found nowhere else — HEAD, local branches, and a snapshot of uncommitted
//! and untracked files — into the superproject's object store (objects only, like the wip
//! snapshot), for abort to point backup refs at them in its backup step.

use camino::{Utf8Path, Utf8PathBuf};
use std::io::Write;
use std::process::Stdio;

use crate::error::Result;
use crate::git::{cli, Repo};

/// An initialised submodule whose repository goes with the worktree.
pub struct Submodule {
    /// Path inside the worktree.
    pub path: String,
    pub dir: Utf8PathBuf,
}

/// A submodule commit to back up.
pub struct Saved {
    pub path: String,
    pub commit: String,
    /// "HEAD", a branch name, or "uncommitted changes".
    pub what: String,
}

/// The initialised submodules of worktree `wt` whose repositories live inside it or inside its
/// admin directory (and so are removed with it).
pub fn find(repo: &Repo, wt: &Utf8Path) -> Result<Vec<Submodule>> {
    if !wt.join(".gitmodules").exists() {
        return Ok(Vec::new());
    }
    let admin = git_dir_of(repo, wt)?;
    let mut cmd = repo.git.in_dir(wt);
    cmd.args(["submodule", "status", "--recursive"]);
    let Ok(out) = cli::stdout(cmd) else {
        return Ok(Vec::new());
    };
    let mut subs = Vec::new();
    for line in out.lines() {
        // "<state><sha> <path>[ (<describe>)]"; state '-' = not initialised.
        if line.starts_with('-') || line.len() < 42 {
            continue;
        }
        let rest = line.get(42..).unwrap_or_default();
        let path = match rest.rfind(" (") {
            Some(at) if rest.ends_with(')') => &rest[..at],
            _ => rest,
        };
        let dir = wt.join(path);
        let Ok(sub_git) = git_dir_of(repo, &dir) else {
            continue;
        };
        if sub_git.starts_with(&admin) || sub_git.starts_with(wt) {
            subs.push(Submodule {
                path: path.to_string(),
                dir,
            });
        }
    }
    Ok(subs)
}

fn git_dir_of(repo: &Repo, dir: &Utf8Path) -> Result<Utf8PathBuf> {
    let mut cmd = repo.git.in_dir(dir);
    cmd.args(["rev-parse", "--absolute-git-dir"]);
    Ok(Utf8PathBuf::from(cli::stdout(cmd)?.trim()))
}

/// The commits of `sub` held only by its repository (not by a remote-tracking ref), with its
/// uncommitted and untracked files as one more commit on HEAD, copied into the superproject's
/// object store.
pub fn save(repo: &Repo, sub: &Submodule) -> Result<Vec<Saved>> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut cmd = repo.git.in_dir(&sub.dir);
    cmd.args(["rev-parse", "--verify", "-q", "HEAD"]);
    let head = cli::stdout(cmd)?.trim().to_string();
    wanted.push((head.clone(), "HEAD".to_string()));
    let mut cmd = repo.git.in_dir(&sub.dir);
    cmd.args([
        "for-each-ref",
        "--format=%(objectname) %(refname:short)",
        "refs/heads",
    ]);
    for line in cli::stdout(cmd)?.lines() {
        if let Some((id, name)) = line.split_once(' ') {
            if !wanted.iter().any(|(w, _)| w == id) {
                wanted.push((id.to_string(), format!("branch {name}")));
            }
        }
    }
    if let Some(wip) = snapshot(repo, sub, &head)? {
        wanted.push((wip, "uncommitted changes".to_string()));
    }
    let mut saved = Vec::new();
    for (commit, what) in wanted {
        if pushed(repo, sub, &commit)? {
            continue;
        }
        copy_objects(repo, sub, &commit)?;
        saved.push(Saved {
            path: sub.path.clone(),
            commit,
            what,
        });
    }
    Ok(saved)
}

/// Whether a remote-tracking ref of the submodule holds the commit (it is on its remote).
fn pushed(repo: &Repo, sub: &Submodule, commit: &str) -> Result<bool> {
    let mut cmd = repo.git.in_dir(&sub.dir);
    cmd.args(["for-each-ref", "--contains", commit, "refs/remotes"]);
    Ok(!cli::stdout(cmd)?.trim().is_empty())
}

/// The submodule's uncommitted and untracked files as a commit on `head` (its own objects
/// only; no ref or file changes), None when it is clean.
fn snapshot(repo: &Repo, sub: &Submodule, head: &str) -> Result<Option<String>> {
    let mut cmd = repo.git.in_dir(&sub.dir);
    cmd.args(["status", "--porcelain", "--untracked-files=all"]);
    if cli::stdout(cmd)?.trim().is_empty() {
        return Ok(None);
    }
    let tmp = crate::txn::state_dir(repo).join(format!("sub-index-{}", std::process::id()));
    std::fs::create_dir_all(crate::txn::state_dir(repo))?;
    let mut cmd = repo.git.in_dir(&sub.dir);
    cmd.args(["rev-parse", "--path-format=absolute", "--git-path", "index"]);
    if let Ok(p) = cli::stdout(cmd) {
        let _ = std::fs::copy(p.trim(), &tmp);
    }
    let result = (|| -> Result<String> {
        let mut add = repo.git.in_dir(&sub.dir);
        add.env("GIT_INDEX_FILE", tmp.as_std_path())
            .args(["add", "-A", "--", "."]);
        cli::run(add)?;
        let mut write = repo.git.in_dir(&sub.dir);
        write
            .env("GIT_INDEX_FILE", tmp.as_std_path())
            .arg("write-tree");
        let tree = cli::stdout(write)?.trim().to_string();
        let mut commit = repo.git.in_dir(&sub.dir);
        commit.args([
            "commit-tree",
            &tree,
            "-p",
            head,
            "-m",
            "git-parallel: uncommitted changes of a submodule",
        ]);
        Ok(cli::stdout(commit)?.trim().to_string())
    })();
    let _ = std::fs::remove_file(&tmp);
    result.map(Some)
}

/// Copies everything `commit` reaches from the submodule's repository into the superproject's
/// object store (a pack piped into index-pack): objects only, no ref changes.
fn copy_objects(repo: &Repo, sub: &Submodule, commit: &str) -> Result<()> {
    if repo.gix.find_object(gix_oid(commit)?).is_ok() {
        return Ok(());
    }
    let mut pack = repo.git.in_dir(&sub.dir);
    pack.args(["pack-objects", "--revs", "--stdout", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = pack
        .spawn()
        .map_err(|e| crate::fatal!("cannot run git pack-objects in {}: {e}", sub.dir))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{commit}")?;
    }
    let packed = child.wait_with_output()?;
    if !packed.status.success() {
        return Err(crate::fatal!(
            "cannot pack submodule commit {commit} in {}: {}",
            sub.dir,
            String::from_utf8_lossy(&packed.stderr).trim()
        ));
    }
    let mut index = repo.git_main();
    index
        .args(["index-pack", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = index
        .spawn()
        .map_err(|e| crate::fatal!("cannot run git index-pack: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&packed.stdout)?;
    }
    let indexed = child.wait_with_output()?;
    if !indexed.status.success() {
        return Err(crate::fatal!(
            "cannot store submodule commit {commit} of {}: {}",
            sub.path,
            String::from_utf8_lossy(&indexed.stderr).trim()
        ));
    }
    Ok(())
}

fn gix_oid(s: &str) -> Result<gix::ObjectId> {
    Ok(crate::git::oid(s)?)
}

//! Backups of task work under `refs/parallel/backup/`: free names for them, and a commit of a
//! worktree's uncommitted changes to back up.

use camino::Utf8Path;
use gix::ObjectId;

use super::session::Session;
use crate::error::Result;
use crate::git::{self, cli};
use crate::txn;

/// Where backups of task branches live.
pub(crate) const BACKUP_PREFIX: &str = "refs/parallel/backup/";
/// The first of `refs/parallel/backup/<base>`, `<base>-2`, `<base>-3`, … that neither exists
/// nor is in `taken` (which it is added to).
pub(crate) fn free_backup_name(
    env: &Session,
    base: &str,
    taken: &mut Vec<String>,
) -> Result<String> {
    for n in 1.. {
        let name = if n == 1 {
            format!("{BACKUP_PREFIX}{base}")
        } else {
            format!("{BACKUP_PREFIX}{base}-{n}")
        };
        if !taken.contains(&name) && env.ctx.repo.ref_id(&name)?.is_none() {
            taken.push(name.clone());
            return Ok(name);
        }
    }
    unreachable!("an unbounded range always yields a free name")
}
/// Writes the worktree's uncommitted and untracked (not ignored) changes as a commit on top of
/// `tip`, through a temporary index: objects only, no ref or file of the repository changes.
/// None when there is nothing to save. `exclude`: untracked files left out (copied include files).
pub(crate) fn snapshot_changes(
    env: &Session,
    wt: &Utf8Path,
    tip: ObjectId,
    exclude: &[String],
    id: &str,
) -> Result<Option<ObjectId>> {
    let repo = &env.ctx.repo;
    let dir = txn::state_dir(repo);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("wip-index-{}-{id}", std::process::id()));
    // Start from the worktree's index so unchanged files need not be hashed again.
    let mut cmd = repo.git.in_dir(wt);
    cmd.args(["rev-parse", "--path-format=absolute", "--git-path", "index"]);
    if let Ok(p) = cli::stdout(cmd) {
        let _ = std::fs::copy(p.trim(), &tmp);
    }
    let result = (|| -> Result<Option<ObjectId>> {
        let mut add = repo.git.in_dir(wt);
        add.env("GIT_INDEX_FILE", tmp.as_std_path())
            .args(["add", "-A", "--", "."]);
        for e in exclude {
            add.arg(format!(":(exclude,literal){e}"));
        }
        cli::run(add)?;
        let mut write = repo.git.in_dir(wt);
        write
            .env("GIT_INDEX_FILE", tmp.as_std_path())
            .arg("write-tree");
        let tree = git::oid(cli::stdout(write)?.trim())?;
        if tree == repo.tree_of(tip)? {
            return Ok(None);
        }
        repo.commit_tree(
            tree,
            &[tip],
            &format!("git-parallel: uncommitted changes of {id}"),
        )
        .map(Some)
        .map_err(Into::into)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

//! Reused worktrees (`parallel.reuseWorktrees`): the journaled operations of `Step::Pool` that
//! park a finished task's worktree in the pool, take a parked one for a new task, and trim the
//! pool — each idempotent, with an inverse, safe against a kill at any moment.
//!
//! A parked worktree is a registered linked worktree, detached at a commit, under the pool
//! directory (`<worktree root>/.parallel-pool/<seconds>-<n>`, chosen by the commands); its
//! ignored files (build caches) stay in it. Moving a worktree is done here, not with
//! `git worktree move`: first the admin dir's `gitdir` is pointed at the new place, then the
//! directory is renamed, then its `.git` file is checked. At every moment the admin dir is
//! found from the destination (by its `gitdir`) or from the source (by the `.git` file), so a
//! re-run tells how far the move got and finishes it, in either direction.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::shared::{short, CopyFile};
use super::{ready, Step, StepKind};
use crate::error::Result;
use crate::git::{cli, Location, Repo};
use crate::txn::taskenv::TaskEnv;
use crate::txn::{failpoint, worktree};
use gix::ObjectId;

pub use super::shared::POOL_DIR;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Pool {
    /// Park the task worktree at `path` (on `branch`): detached at `commit`, moved to
    /// `pool_path`, its ignored files kept. Refused when it holds work (uncommitted or untracked
    /// changes but the files in `ours`, a lock, unpushed submodule commits).
    Park {
        path: Utf8PathBuf,
        pool_path: Utf8PathBuf,
        branch: String,
        #[serde(with = "crate::git::hex")]
        commit: ObjectId,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ours: Vec<String>,
    },
    /// Take the worktree parked at `pool_path` (detached at `commit`): moved to `path`,
    /// switched to `branch` (git writes only the files that differ), then the include files
    /// copied and the postStart hook run, as for a new worktree.
    Take {
        pool_path: Utf8PathBuf,
        path: Utf8PathBuf,
        branch: String,
        #[serde(with = "crate::git::hex")]
        commit: ObjectId,
        #[serde(default)]
        copy: Vec<CopyFile>,
        #[serde(default)]
        post_start: Option<String>,
        /// The task's port block, env file and setup key (src/txn/taskenv.rs).
        #[serde(default, skip_serializing_if = "TaskEnv::is_empty")]
        env: TaskEnv,
    },
    /// Remove the worktree parked at `pool_path` (its ignored files are kept by a `Keep` step
    /// before, as for any removal). Undone by making it again, detached at `commit`.
    Trim {
        pool_path: Utf8PathBuf,
        #[serde(with = "crate::git::hex")]
        commit: ObjectId,
    },
    /// Make a parked worktree at `pool_path`, detached at `commit` (the inverse of `Trim`).
    Remake {
        pool_path: Utf8PathBuf,
        #[serde(with = "crate::git::hex")]
        commit: ObjectId,
    },
}

impl StepKind for Pool {
    fn describe(&self) -> String {
        match self {
            Pool::Park {
                path,
                pool_path,
                commit,
                ..
            } => format!(
                "park worktree {path} in the pool as {pool_path} (detached at {})",
                short(commit)
            ),
            Pool::Take {
                pool_path,
                path,
                branch,
                copy,
                post_start,
                ..
            } => format!(
                "take the parked worktree {pool_path} as {path} on {}{}",
                crate::git::short_branch(branch),
                ready::describe(copy, post_start.as_deref())
            ),
            Pool::Trim { pool_path, .. } => format!("remove the parked worktree {pool_path}"),
            Pool::Remake { pool_path, commit } => format!(
                "make the parked worktree {pool_path} again at {}",
                short(commit)
            ),
        }
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::Pool(self.reversed()))
    }

    /// Whether it runs the user's postStart hook.
    fn lets_time_pass(&self) -> bool {
        matches!(
            self,
            Pool::Take {
                post_start: Some(_),
                ..
            }
        )
    }

    /// Park and take touch only their own worktree (and the pool directory): they may run
    /// concurrently with other worktree steps.
    fn concurrent(&self) -> bool {
        matches!(self, Pool::Park { .. } | Pool::Take { .. })
    }

    /// Applies the operation; idempotent. `proven`: see src/txn/worktree.rs (leftovers of a
    /// killed run of this step may be finished).
    fn apply_concurrent(&self, loc: &Location, proven: bool) -> Result<()> {
        match self {
            Pool::Park {
                path,
                pool_path,
                commit,
                branch,
                ours,
            } => {
                let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
                park(
                    loc,
                    path,
                    pool_path,
                    (&commit.to_string(), branch),
                    &ours,
                    proven,
                )
            }
            Pool::Take { .. } => self.take(loc, proven),
            Pool::Trim { pool_path, .. } => worktree::remove(loc, pool_path, false, &[], proven),
            Pool::Remake { pool_path, commit } => {
                worktree::ensure(loc, pool_path, &commit.to_string(), true, proven)
            }
        }
    }

    /// Undoes the operation. A take rolled back in the run that applied it (`fresh`), or never
    /// completed (`proven`), is parked back whatever its postStart hook left there; else only a
    /// worktree holding no work is.
    fn undo(&self, repo: &Repo, fresh: bool, proven: bool) -> Result<()> {
        let loc = &repo.loc;
        if let (
            true,
            Pool::Take {
                pool_path,
                path,
                commit,
                branch,
                ..
            },
        ) = (fresh || proven, self)
        {
            return park_any(loc, path, pool_path, &commit.to_string(), branch, true);
        }
        self.reversed().apply_concurrent(loc, fresh || proven)
    }

    /// Why the operation would be refused, checked before anything changes (the park of a
    /// worktree holding work, the trim of a parked one holding work).
    fn precheck(&self, repo: &Repo) -> Result<Vec<String>> {
        let loc = &repo.loc;
        match self {
            Pool::Park {
                path,
                pool_path,
                ours,
                ..
            } if !files_at(pool_path) => {
                let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
                worktree::removal_problems(loc, path, &ours)
            }
            Pool::Trim { pool_path, .. } if files_at(pool_path) => {
                worktree::removal_problems(loc, pool_path, &[])
            }
            _ => Ok(Vec::new()),
        }
    }
}

impl Pool {
    /// The operation that reverses this one.
    pub fn reversed(&self) -> Pool {
        match self.clone() {
            Pool::Park {
                path,
                pool_path,
                branch,
                commit,
                ..
            } => Pool::Take {
                pool_path,
                path,
                branch,
                commit,
                copy: Vec::new(),
                post_start: None,
                env: TaskEnv::default(),
            },
            Pool::Take {
                pool_path,
                path,
                branch,
                commit,
                copy,
                ..
            } => Pool::Park {
                path,
                pool_path,
                branch,
                commit,
                ours: copy.into_iter().map(|c| c.rel).collect(),
            },
            Pool::Trim { pool_path, commit } => Pool::Remake { pool_path, commit },
            Pool::Remake { pool_path, commit } => Pool::Trim { pool_path, commit },
        }
    }

    /// The worktree paths this operation leaves present (true) or absent (false), once applied
    /// (`applied`) or rolled back.
    pub fn presence(&self, applied: bool) -> Vec<(&Utf8Path, bool)> {
        match self {
            Pool::Park {
                path, pool_path, ..
            } => vec![(path, !applied), (pool_path, applied)],
            Pool::Take {
                pool_path, path, ..
            } => vec![(pool_path, !applied), (path, applied)],
            Pool::Trim { pool_path, .. } => vec![(pool_path, !applied)],
            Pool::Remake { pool_path, .. } => vec![(pool_path, applied)],
        }
    }

    /// Takes the parked worktree (a `Take`): moved, switched to the branch, made ready.
    fn take(&self, loc: &Location, proven: bool) -> Result<()> {
        let Pool::Take {
            pool_path,
            path,
            branch,
            commit,
            copy,
            post_start,
            env,
        } = self
        else {
            return Ok(());
        };
        relocate(loc, pool_path, path)?;
        failpoint::at("pool-take-moved");
        let commit = commit.to_string();
        let (want, other) = (Head::Branch(branch), Head::Detached(&commit));
        switch(loc, path, &want, &other, proven)?;
        ready::make_ready(path, copy, post_start.as_deref(), env)
    }

    /// The parked worktree this operation removes, if it is a trim.
    pub fn trimmed(&self) -> Option<&Utf8PathBuf> {
        match self {
            Pool::Trim { pool_path, .. } => Some(pool_path),
            _ => None,
        }
    }
}

/// Whether a worktree's files are at `path` (a move renames the directory, `.git` and all).
fn files_at(path: &Utf8Path) -> bool {
    path.join(".git").exists()
}

/// Whether the worktree at `path` may be parked by moving it: it has no initialised submodules
/// (their `.git` files may name the admin dir by a relative path that a move to another depth
/// breaks; `git worktree move` refuses them for the same reason).
pub fn movable(loc: &Location, path: &Utf8Path) -> Result<bool> {
    Ok(worktree::find(loc, path)?
        .admin
        .is_some_and(|a| !a.join("modules").exists()))
}

/// The commit a parked worktree is detached at (None: not detached, or not a worktree).
pub fn parked_at(loc: &Location, path: &Utf8Path) -> Result<Option<ObjectId>> {
    let Some(admin) = worktree::find(loc, path)?.admin else {
        return Ok(None);
    };
    Ok(head(&admin).and_then(|h| ObjectId::from_hex(h.as_bytes()).ok()))
}

fn head(admin: &Utf8Path) -> Option<String> {
    std::fs::read_to_string(admin.join("HEAD"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn park(
    loc: &Location,
    path: &Utf8Path,
    pool_path: &Utf8Path,
    (commit, branch): (&str, &str),
    ours: &[&str],
    proven: bool,
) -> Result<()> {
    // A re-run (`proven`) checks too unless this step's own checkout is under way there.
    if !files_at(pool_path) && (!proven || untouched(loc, path)?) {
        let problems = worktree::removal_problems(loc, path, ours)?;
        if !problems.is_empty() {
            return Err(crate::refused!(
                help =
                    "commit, stash or remove the changes in {path} (or unlock it), then run again",
                "cannot park worktree {}",
                problems.join("; ")
            ));
        }
    }
    park_any(loc, path, pool_path, commit, branch, proven)
}

/// Whether no checkout of ours has begun in the worktree at `path`: still on its branch, no
/// lock files, index at HEAD (so whatever differs there is someone's work).
fn untouched(loc: &Location, path: &Utf8Path) -> Result<bool> {
    let Some(admin) = worktree::find(loc, path)?.admin else {
        return Ok(false);
    };
    let on_branch = head(&admin).is_some_and(|h| h.starts_with("ref:"));
    let locks = ["index.lock", "HEAD.lock"]
        .iter()
        .any(|l| admin.join(l).exists());
    Ok(on_branch && !locks && index_is_head(loc, path))
}

/// Parks the worktree at `path` (or finishes parking it): detached at `commit`, then moved.
/// Its files are detached before they leave `path` and switched to a branch only once they
/// reached a task path, so files found in the pool are always at the parked commit.
fn park_any(
    loc: &Location,
    path: &Utf8Path,
    pool_path: &Utf8Path,
    commit: &str,
    branch: &str,
    proven: bool,
) -> Result<()> {
    if !files_at(pool_path) {
        let (want, other) = (Head::Detached(commit), Head::Branch(branch));
        switch(loc, path, &want, &other, proven)?;
        failpoint::at("pool-park-detached");
    }
    relocate(loc, path, pool_path)
}

/// What a worktree's HEAD is to be.
enum Head<'a> {
    Detached(&'a str),
    Branch(&'a str),
}

/// Checks out `want` in the worktree at `path` (git writes only the files that differ), unless
/// its HEAD is there already. `other` is the other end of the switch (the one an undo goes
/// back to). A re-run after a kill (`proven`) that finds a checkout cut short (its lock files
/// left, or an index that is not HEAD's) settles it: the stale locks cleared, `other` checked
/// out by force (so that every file either side wrote is tracked), then `want` by force.
fn switch(loc: &Location, path: &Utf8Path, want: &Head, other: &Head, proven: bool) -> Result<()> {
    let Some(admin) = worktree::find(loc, path)?.admin else {
        return Err(crate::fatal!(
            help =
                "see 'git worktree list'; 'git parallel recover --abort' puts back what is known",
            "cannot switch worktree {path}: it is not a worktree of this repository"
        ));
    };
    let cut_short = ["index.lock", "HEAD.lock"]
        .iter()
        .any(|l| admin.join(l).exists());
    if proven {
        worktree::clear_stale_locks(loc, &admin);
    }
    let cur = head(&admin).unwrap_or_default();
    let reached = match want {
        Head::Detached(c) => cur == *c,
        Head::Branch(b) => cur.strip_prefix("ref:").map(str::trim) == Some(*b),
    };
    let checkout = |to: &Head, force: bool| {
        let mut cmd = loc.git.in_dir(path);
        cmd.args(["checkout", "--quiet", "--no-guess"]);
        if force {
            cmd.arg("--force");
        }
        match to {
            Head::Detached(c) => cmd.args(["--detach", c]),
            Head::Branch(b) => cmd.arg(crate::git::short_branch(b)),
        };
        cmd.arg("--");
        cli::run(cmd).map(|_| ())
    };
    let settle = || -> Result<()> {
        let _ = checkout(other, true);
        Ok(checkout(want, true)?)
    };
    if proven && (cut_short || (reached && !index_is_head(loc, path))) {
        return settle();
    }
    if reached && !admin.join("index.lock").exists() {
        return Ok(());
    }
    if two_tree_switch(loc, path, want) {
        return Ok(());
    }
    match checkout(want, false) {
        Ok(()) => Ok(()),
        Err(_) if proven => settle(),
        Err(e) => Err(e.into()),
    }
}

/// Switches the worktree at `path` to `want` as `git checkout` does, by a two-tree
/// `git read-tree -m -u HEAD <want>`: git stats and writes only the entries that differ
/// between the two commits, where `git checkout` first stats every index entry (20,000 `lstat`
/// in a 20,000-file worktree, for a switch that changes ten files). Like checkout it refuses to
/// overwrite local changes or untracked files; it also refuses to overwrite ignored ones, so
/// false (nothing done, or only the index and files moved, which a checkout finishes) sends the
/// caller to `git checkout`, which decides and explains. The post-checkout hook runs as after
/// a checkout.
fn two_tree_switch(loc: &Location, path: &Utf8Path, want: &Head) -> bool {
    let target = match want {
        Head::Detached(c) => format!("{c}^{{commit}}"),
        Head::Branch(b) => format!("{b}^{{commit}}"),
    };
    let mut cmd = loc.git.in_dir(path);
    cmd.args(["rev-parse", "HEAD^{commit}", &target]);
    let Ok(out) = cli::stdout(cmd) else {
        return false;
    };
    let Some((from, to)) = out.trim().split_once('\n') else {
        return false;
    };
    let (from, to) = (from.trim(), to.trim());
    // A park at the branch's own tip moves only HEAD.
    if from != to {
        let mut cmd = loc.git.in_dir(path);
        cmd.args(["read-tree", "-m", "-u", from, to]);
        if cli::run(cmd).is_err() {
            return false;
        }
    }
    failpoint::at("pool-switch-index");
    let mut cmd = loc.git.in_dir(path);
    match want {
        Head::Detached(_) => cmd.args([
            "update-ref",
            "--no-deref",
            "-m",
            "git-parallel: park",
            "HEAD",
            to,
        ]),
        Head::Branch(b) => cmd.args(["symbolic-ref", "-m", "git-parallel: take", "HEAD", b]),
    };
    if cli::run(cmd).is_err() {
        return false;
    }
    let mut cmd = loc.git.in_dir(path);
    cmd.args(["hook", "run", "--ignore-missing", "post-checkout", "--"]);
    cmd.args([from, to, "1"]);
    let _ = cli::run(cmd);
    true
}

/// Whether the worktree's index holds HEAD's tree (a checkout killed between writing the index
/// and moving HEAD leaves them apart).
fn index_is_head(loc: &Location, path: &Utf8Path) -> bool {
    let mut cmd = loc.git.in_dir(path);
    cmd.args(["diff-index", "--cached", "--quiet", "HEAD", "--"]);
    cli::run(cmd).is_ok()
}

/// Moves the worktree at `from` to `to` (or finishes moving it): `gitdir` first, then the
/// directory, then the `.git` file checked. Nothing to do when it is at `to` already.
fn relocate(loc: &Location, from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    let admin = match worktree::find(loc, to)?.admin {
        Some(a) => a,
        None => worktree::find(loc, from)?.admin.ok_or_else(|| {
            crate::fatal!(
                help = "see 'git worktree list'; 'git parallel recover --abort' puts back what is known",
                "cannot move worktree {from} to {to}: there is no worktree at either place"
            )
        })?,
    };
    if files_at(from) && !files_at(to) {
        if std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
            return Err(crate::refused!(
                help = "move it away and run again",
                "cannot move worktree {from} to {to}: {to} exists and is not empty"
            ));
        }
        write_gitdir(&admin, to)?;
        failpoint::at("pool-move-gitdir");
        rename(from, to)?;
        failpoint::at("pool-move-renamed");
        // The task's directories left empty (e.g. ../worktrees/<product>, the pool).
        if let Some(parent) = from.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    if !files_at(to) {
        return Err(crate::fatal!(
            help =
                "see 'git worktree list'; 'git parallel recover --abort' puts back what is known",
            "cannot move worktree {from} to {to}: its files are at neither place"
        ));
    }
    if !worktree::admin_names(&admin, to) {
        write_gitdir(&admin, to)?;
    }
    if !worktree::dotgit_ok(to, &admin) {
        std::fs::write(to.join(".git"), format!("gitdir: {admin}\n"))
            .map_err(|e| crate::fatal!("cannot write {to}/.git: {e}"))?;
    }
    Ok(())
}

/// Points an admin dir's `gitdir` at `<to>/.git` (written aside, then renamed into place).
fn write_gitdir(admin: &Utf8Path, to: &Utf8Path) -> Result<()> {
    let abs = if to.is_absolute() {
        to.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| crate::fatal!("no current dir: {e}"))?;
        Utf8PathBuf::from_path_buf(cwd)
            .map_err(|p| crate::fatal!("the current dir is not UTF-8: {}", p.display()))?
            .join(to)
    };
    crate::atomic::write(
        admin.join("gitdir").as_std_path(),
        format!("{abs}/.git\n").as_bytes(),
    )
    .map_err(|e| crate::fatal!("cannot write {admin}/gitdir: {e}"))
}

/// Renames a directory, making the destination's parent first (again if another step removed
/// it meanwhile).
fn rename(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    let fail = |e: std::io::Error| crate::fatal!("cannot move {from} to {to}: {e}");
    for _ in 0..3 {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        match std::fs::rename(from, to) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && from.exists() => continue,
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                return Err(crate::refused!(
                    help = "keep the worktree root on one filesystem, or turn reuse off: git config parallel.reuseWorktrees false",
                    "cannot move worktree {from} to {to}: they are on different filesystems"
                ))
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Err(crate::fatal!(
        "cannot move {from} to {to}: its parent directory keeps disappearing"
    ))
}

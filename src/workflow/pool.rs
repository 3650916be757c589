//! The worktree pool as the commands see it (`parallel.reuseWorktrees`, `parallel.poolSize`):
//! where it is (`<worktree root>/.parallel-pool/<seconds>-<n>`), what is parked there, and the
//! steps that park (finish), take (start) and trim (finish, gc) — their logic is
//! src/txn/steps/pool.rs. The pool is the registered worktrees under that directory, detached, so a
//! crash leaves no other record to repair.

use crate::txn::steps::{AddWorktree, RemoveWorktree};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::error::Result;
use crate::txn::pool::{Pool, POOL_DIR};
use crate::txn::steps::CopyFile;
use crate::txn::taskenv::TaskEnv;
use crate::txn::Step;
use crate::workflow::context::Context;

/// One parked worktree.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Parked {
    /// Its path under the pool directory.
    #[schemars(with = "String")]
    pub path: Utf8PathBuf,
    /// The commit it is detached at.
    #[serde(with = "crate::git::hex")]
    #[schemars(with = "String")]
    pub commit: gix::ObjectId,
    /// When it was parked (seconds since the epoch, from its name).
    #[serde(skip)]
    pub time: u64,
}

/// The pool directory: under the worktree root, next to the task worktrees.
pub fn pool_dir(ctx: &Context, main: &Utf8Path) -> Utf8PathBuf {
    let dir = super::naming::worktree_root(ctx, main).join(POOL_DIR);
    dir.canonicalize_utf8().unwrap_or(dir)
}

/// The parked worktrees, oldest first: complete, detached, unlocked worktrees of this
/// repository under the pool directory.
pub fn parked(ctx: &Context, main: &Utf8Path) -> Result<Vec<Parked>> {
    let dir = pool_dir(ctx, main);
    let loc = &ctx.repo.loc;
    let mut out = Vec::new();
    for w in ctx.repo.worktrees()? {
        if !w.path.starts_with(&dir) || w.branch.is_some() || w.locked {
            continue;
        }
        if !crate::txn::worktree::is_complete(loc, &w.path)? {
            continue;
        }
        let Some(commit) = crate::txn::pool::parked_at(loc, &w.path)? else {
            continue;
        };
        let time = w
            .path
            .file_name()
            .and_then(|n| n.split('-').next())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        out.push(Parked {
            path: w.path,
            commit,
            time,
        });
    }
    out.sort_by(|a, b| (a.time, &a.path).cmp(&(b.time, &b.path)));
    Ok(out)
}

/// A free place in the pool, not among `taken`.
fn new_slot(dir: &Utf8Path, taken: &mut Vec<Utf8PathBuf>) -> Utf8PathBuf {
    let secs = crate::time::now_secs();
    let mut n = 1;
    loop {
        let p = dir.join(format!("{secs}-{n}"));
        if !p.exists() && !taken.contains(&p) {
            taken.push(p.clone());
            return p;
        }
        n += 1;
    }
}

/// The steps that make the new task worktrees `(path, branch)` of start: with reuse on, a
/// parked worktree taken for each (newest first, the nearest to the target), else added.
pub fn worktree_steps(
    ctx: &Context,
    main: &Utf8Path,
    new: &[(Utf8PathBuf, String, TaskEnv)],
    copy: &[CopyFile],
    post_start: Option<String>,
) -> Result<Vec<Step>> {
    let mut pool = if ctx.repo.settings.reuse_worktrees() {
        parked(ctx, main)?
    } else {
        Vec::new()
    };
    // A parked worktree is taken only exactly as it was parked (clean at its commit): one
    // changed since (a leftover process of the previous task, anyone with access to the pool)
    // would hand those changes to the new task (repro round2 09). It is left where it is, named.
    let loc = &ctx.repo.loc;
    let paths: Vec<&Utf8Path> = pool.iter().map(|p| p.path.as_path()).collect();
    let listings = crate::txn::clean::changes_many(loc, &paths);
    let mut clean = Vec::new();
    for (p, lines) in pool.drain(..).zip(listings) {
        let lines = lines?;
        if lines.is_empty() {
            clean.push(p);
            continue;
        }
        crate::output::note(format_args!(
            "the parked worktree {} changed after it was parked; not reusing it:\n      {}\n  look at it, then remove it: git worktree remove --force {}",
            p.path,
            lines.join("\n      "),
            p.path
        ));
    }
    let mut pool = clean;
    Ok(new
        .iter()
        .map(|(path, branch, env)| match pool.pop() {
            Some(p) => Step::Pool(Pool::Take {
                pool_path: p.path,
                path: path.clone(),
                branch: branch.clone(),
                commit: p.commit,
                copy: copy.to_vec(),
                post_start: post_start.clone(),
                env: env.clone(),
            }),
            None => Step::AddWorktree(AddWorktree {
                path: path.clone(),
                branch: branch.clone(),
                copy: copy.to_vec(),
                post_start: post_start.clone(),
                env: env.clone(),
            }),
        })
        .collect())
}

/// With reuse on, finish's worktree removals among `steps` become parks as far as
/// `parallel.poolSize` allows, each detached at its branch's tip (which the target now holds:
/// parking writes no file, and the take moves the worktree to the new task's start in one
/// switch; `commit`, the target's new tip, when the branch is gone), the oldest parked
/// worktrees trimmed to make room; the trims first, then the parks, then what is left. A
/// worktree with initialised submodules is removed as without reuse (see `pool::movable`).
pub fn park_instead(
    ctx: &Context,
    main: &Utf8Path,
    steps: &mut Vec<Step>,
    commit: gix::ObjectId,
) -> Result<()> {
    if !ctx.repo.settings.reuse_worktrees() {
        return Ok(());
    }
    let cap = ctx.repo.settings.pool_size()?;
    let parked = parked(ctx, main)?;
    let loc = &ctx.repo.loc;
    let mut movable = Vec::new();
    for s in steps.iter() {
        if let Step::RemoveWorktree(RemoveWorktree { path, .. }) = s {
            if !crate::txn::pool::movable(loc, path)? {
                continue;
            }
            // A process still working in it (an agent's leftover server or watcher) would
            // follow it into the pool and write into the next task's worktree (repro round2
            // 19): such a worktree is removed, as without reuse, and the process named.
            let users = processes_in(path);
            if !users.is_empty() {
                crate::output::note(format_args!(
                    "worktree {path} is in use by {}: removed instead of parked for reuse (what is left running there would write into the next task's worktree)",
                    users.join(", ")
                ));
                continue;
            }
            movable.push(path.clone());
        }
    }
    let removals = movable.len();
    let n_park = removals.min(cap);
    let n_trim = (parked.len() + n_park)
        .saturating_sub(cap)
        .min(parked.len());
    let dir = pool_dir(ctx, main);
    let mut taken = Vec::new();
    let mut out: Vec<Step> = parked[..n_trim].iter().map(trim).collect();
    let mut rest = Vec::new();
    let mut parks = 0;
    for s in steps.drain(..) {
        match s {
            Step::RemoveWorktree(RemoveWorktree {
                path,
                branch,
                restore,
                ..
            }) if parks < n_park && movable.contains(&path) => {
                parks += 1;
                let tip = ctx.repo.ref_id(&branch)?;
                out.push(Step::Pool(Pool::Park {
                    path,
                    pool_path: new_slot(&dir, &mut taken),
                    branch,
                    commit: tip.unwrap_or(commit),
                    ours: restore.into_iter().map(|c| c.rel).collect(),
                }));
            }
            other => rest.push(other),
        }
    }
    out.extend(rest);
    *steps = out;
    Ok(())
}

/// The processes (`pid (name)`) whose current directory or an open file is inside `dir`, as
/// /proc shows them (none where there is no /proc; processes of other users are not readable
/// and not counted). This process is left out.
fn processes_in(dir: &Utf8Path) -> Vec<String> {
    let Ok(dir) = dir.canonicalize_utf8() else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let inside = |link: std::path::PathBuf| {
        std::fs::read_link(link).is_ok_and(|t| t.starts_with(dir.as_std_path()))
    };
    let mut out = Vec::new();
    for p in procs.flatten() {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let base = p.path();
        let uses = inside(base.join("cwd"))
            || std::fs::read_dir(base.join("fd"))
                .is_ok_and(|fds| fds.flatten().any(|fd| inside(fd.path())));
        if uses {
            let comm = std::fs::read_to_string(base.join("comm")).unwrap_or_default();
            out.push(format!("process {name} ({})", comm.trim()));
        }
    }
    out
}

fn trim(p: &Parked) -> Step {
    Step::Pool(Pool::Trim {
        pool_path: p.path.clone(),
        commit: p.commit,
    })
}

/// The steps that trim the pool to `cap` worktrees, the oldest first (gc: `parallel.poolSize`,
/// 0 with reuse off), and the worktrees trimmed.
pub fn trim_steps(ctx: &Context, main: &Utf8Path, cap: usize) -> Result<(Vec<Step>, Vec<Parked>)> {
    let parked = parked(ctx, main)?;
    let n = parked.len().saturating_sub(cap);
    let gone: Vec<Parked> = parked.into_iter().take(n).collect();
    Ok((gone.iter().map(trim).collect(), gone))
}

/// The lines finish adds about the worktrees it parks and trims.
pub fn lines(steps: &[Step], show: impl Fn(&Utf8Path) -> String) -> Vec<String> {
    let mut parked = Vec::new();
    let mut trimmed = Vec::new();
    for s in steps {
        match s {
            Step::Pool(Pool::Park { path, .. }) => parked.push(show(path)),
            Step::Pool(Pool::Trim { pool_path, .. }) => trimmed.push(show(pool_path)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if !parked.is_empty() {
        out.push(format!(
            "Parked {} for reuse (parallel.reuseWorktrees): {}",
            if parked.len() == 1 {
                "1 worktree".to_string()
            } else {
                format!("{} worktrees", parked.len())
            },
            parked.join(", ")
        ));
    }
    if !trimmed.is_empty() {
        out.push(format!(
            "Trimmed the pool to parallel.poolSize: removed {}",
            trimmed.join(", ")
        ));
    }
    out
}

/// The pool as `status` shows it (`--json`: `pool`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct PoolSummary {
    /// `parallel.reuseWorktrees`.
    pub reuse: bool,
    /// `parallel.poolSize`.
    pub size: usize,
    /// The pool directory.
    #[schemars(with = "String")]
    pub dir: Utf8PathBuf,
    /// The parked worktrees, oldest first.
    pub parked: Vec<Parked>,
}

/// The pool summary for `status`: None when reuse is off and nothing is parked. Only files
/// are read (no git process); what cannot be read counts as not parked.
pub fn summary(ctx: &Context, main: &Utf8Path) -> Option<PoolSummary> {
    let reuse = ctx.repo.settings.reuse_worktrees();
    let dir = pool_dir(ctx, main);
    if !reuse && !dir.is_dir() {
        return None;
    }
    let parked = parked(ctx, main).unwrap_or_default();
    if !reuse && parked.is_empty() {
        return None;
    }
    Some(PoolSummary {
        reuse,
        size: ctx
            .repo
            .settings
            .pool_size()
            .unwrap_or(crate::default_pool_size!()),
        dir,
        parked,
    })
}

impl PoolSummary {
    /// One line: `pool: 3 parked worktrees (of at most 8) in <dir>`.
    pub fn line(&self, show: impl Fn(&Utf8Path) -> String) -> String {
        let n = self.parked.len();
        format!(
            "pool: {n} parked worktree{} (at most {}{}) in {}",
            if n == 1 { "" } else { "s" },
            self.size,
            if self.reuse {
                ""
            } else {
                "; reuse is off, gc removes them"
            },
            show(&self.dir)
        )
    }
}

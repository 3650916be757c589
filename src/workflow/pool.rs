//! The worktree pool as the commands see it (`parallel.reuseWorktrees`, `parallel.poolSize`):
//! where it is (`<worktree root>/.parallel-pool/<seconds>-<n>`), what is parked there, and the
//! steps that park (finish), take (start) and trim (finish, gc) — their logic is
//! src/txn/pool.rs. The pool is the registered worktrees under that directory, detached, so a
//! crash leaves no other record to repair.

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::error::Result;
use crate::txn::pool::{Pool, POOL_DIR};
use crate::txn::step::CopyFile;
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
    pub commit: String,
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
            None => Step::AddWorktree {
                path: path.clone(),
                branch: branch.clone(),
                copy: copy.to_vec(),
                post_start: post_start.clone(),
                env: env.clone(),
            },
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
    commit: &str,
) -> Result<()> {
    if !ctx.repo.settings.reuse_worktrees() {
        return Ok(());
    }
    let cap = ctx.repo.settings.pool_size()?;
    let parked = parked(ctx, main)?;
    let loc = &ctx.repo.loc;
    let mut movable = Vec::new();
    for s in steps.iter() {
        if let Step::RemoveWorktree { path, .. } = s {
            if crate::txn::pool::movable(loc, path)? {
                movable.push(path.clone());
            }
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
            Step::RemoveWorktree {
                path,
                branch,
                restore,
                ..
            } if parks < n_park && movable.contains(&path) => {
                parks += 1;
                let tip = ctx.repo.ref_id(&branch)?.map(|id| id.to_string());
                out.push(Step::Pool(Pool::Park {
                    path,
                    pool_path: new_slot(&dir, &mut taken),
                    branch,
                    commit: tip.unwrap_or_else(|| commit.to_string()),
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

fn trim(p: &Parked) -> Step {
    Step::Pool(Pool::Trim {
        pool_path: p.path.clone(),
        commit: p.commit.clone(),
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

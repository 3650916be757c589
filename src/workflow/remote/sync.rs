//! Bringing this clone up to the shared remote before a command plans: fetch its branches into
//! `refs/parallel/remote/<name>/`, then one local transaction that moves the target (and the
//! main worktree when it has the target checked out) and the branches of the tasks the remote's
//! task file has started to the fetched tips — fast-forwards only. A branch with local commits
//! the remote lacks is kept (the command publishes them); anything diverged is refused.

use crate::txn::steps::{Refs, SyncMain};
use crate::txn::Meta;
use gix::ObjectId;

use crate::error::{Error, Result};
use crate::git::remote::{fetch, fetched_ref};
use crate::git::{short_branch, RefUpdate, Repo};
use crate::taskgraph::{Status, TaskFile};
use crate::txn::{self, Plan, Step};
use crate::workflow::context::Context;
use crate::workflow::session::Session;

/// Fetches `remote`, then (unless `dry_run`) brings the local branches up to it.
///
/// A refusal (this clone ahead of or diverged from what was fetched) is planned once more after
/// a second fetch: two commands of one clone fetching at once (two workers of a host sharing
/// its clone) can leave the older of their two reads in `refs/parallel/remote/`, behind a target
/// the other already brought up, and the second read is the remote as it is.
pub(super) fn sync(ctx: &Context, remote: &str, dry_run: bool) -> Result<()> {
    let fetched = || {
        fetch(&ctx.repo.loc, remote).map_err(|e| {
            crate::fatal!(
                help =
                    "check that the remote is reachable (git fetch {remote}); nothing was changed",
                "cannot fetch from {remote}: {e}"
            )
        })
    };
    fetched()?;
    if dry_run {
        return Ok(());
    }
    let planned = match plan(&Session::load(ctx)?, remote) {
        Err(Error::Refused(_)) => {
            fetched()?;
            plan(&Session::load(ctx)?, remote)?
        }
        other => other?,
    };
    if let Some(plan) = planned {
        txn::execute(&ctx.repo, &ctx.lock, plan)?;
    }
    Ok(())
}

/// Whether `a` is an ancestor of (or equal to) `b`.
fn contains(repo: &Repo, a: ObjectId, b: ObjectId) -> Result<bool> {
    Ok(a == b || repo.merge_base(a, b)? == Some(a))
}

/// The local transaction that brings this clone up to the fetched remote; None when it is.
fn plan(env: &Session, remote: &str) -> Result<Option<Plan>> {
    let repo = &env.ctx.repo;
    let t = short_branch(&env.target);
    let Some(tip) = repo.ref_id(&fetched_ref(remote, &env.target))? else {
        return Err(crate::refused!(
            help = "publish it first: git push {remote} {t}",
            "the remote {remote} has no branch {t} (the target)"
        ));
    };
    let mut updates = Vec::new();
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    let here = env.target_tip;
    if here != tip {
        if contains(repo, here, tip)? {
            updates.push(RefUpdate {
                name: env.target.clone(),
                old: Some(here),
                new: Some(tip),
            });
        } else if contains(repo, tip, here)? {
            problems.push(format!(
                "{t} has commits here that {remote} does not have; publish them first (git push {remote} {t})"
            ));
        } else {
            problems.push(format!(
                "{t} here and on {remote} have diverged; merge {remote}'s {t} into it and publish it first (git pull {remote} {t} && git push {remote} {t})"
            ));
        }
    }
    task_branches(env, remote, tip, &mut updates, &mut problems)?;
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "fix these, then run the command again",
            "cannot bring this clone up to {remote}; nothing was changed:\n  {}",
            problems.join("\n  ")
        ));
    }
    if updates.is_empty() {
        return Ok(None);
    }
    let moved_target = updates.iter().any(|u| u.name == env.target);
    steps.push(Step::Refs(Refs {
        updates,
        message: format!("git-parallel: sync from {remote}"),
    }));
    if moved_target && env.target_checked_out {
        steps.push(Step::SyncMain(SyncMain {
            from: here,
            to: tip,
            branch: Some(env.target.clone()),
        }));
    }
    Ok(Some(Plan {
        command: "sync".into(),
        summary: format!("sync from {remote}"),
        steps,
        commit_point: None,
        meta: Meta {
            remote: Some(remote.to_string()),
            ..Meta::default()
        },
    }))
}

/// The branches of the tasks started according to the remote's task file (at `tip`), brought
/// to their fetched tips: created when missing here, fast-forwarded when not checked out.
fn task_branches(
    env: &Session,
    remote: &str,
    tip: ObjectId,
    updates: &mut Vec<RefUpdate>,
    problems: &mut Vec<String>,
) -> Result<()> {
    let repo = &env.ctx.repo;
    let Some(rel) = &env.task_rel else {
        return Ok(());
    };
    let Some(bytes) = repo.file_at(tip, rel)? else {
        return Ok(());
    };
    let text = TaskFile::decode(&env.tf.path, bytes).map_err(Error::Refused)?;
    let tf = TaskFile::parse(&env.tf.path, text).map_err(Error::Refused)?;
    let worktrees = repo.worktrees()?;
    for task in tf
        .graph
        .tasks
        .iter()
        .filter(|t| t.status != Status::Pending)
    {
        let branch = env.branch_of(task);
        if branch == env.target {
            continue;
        }
        let b = short_branch(&branch);
        let Some(there) = repo.ref_id(&fetched_ref(remote, &branch))? else {
            continue;
        };
        let here = repo.ref_id(&branch)?;
        let new = Some(there);
        match here {
            None => updates.push(RefUpdate {
                name: branch.clone(),
                old: None,
                new,
            }),
            Some(h) if h == there || contains(repo, there, h)? => {}
            Some(h) if contains(repo, h, there)? => {
                match worktrees
                    .iter()
                    .find(|w| w.branch.as_deref() == Some(branch.as_str()))
                {
                    Some(w) => problems.push(format!(
                        "{}: its branch {b} is checked out in {} and behind {remote}; bring it up to date there: git -C {} merge --ff-only {}",
                        task.id,
                        env.show(&w.path),
                        w.path,
                        fetched_ref(remote, &branch)
                    )),
                    None => updates.push(RefUpdate {
                        name: branch.clone(),
                        old: Some(h),
                        new,
                    }),
                }
            }
            Some(_) => problems.push(format!(
                "{}: its branch {b} here and on {remote} have diverged; merge one into the other and publish it (git push {remote} {b})",
                task.id
            )),
        }
    }
    Ok(())
}

//! Which in-progress task branches `finish` can merge: the candidates (each with its tip, its
//! commits and files of its own, its worktree) and, when no ids are named, the in-progress
//! tasks left alone with why.

use camino::{Utf8Path, Utf8PathBuf};
use gix::ObjectId;
use serde::Serialize;

use super::session::Session;
use super::suggest::unknown_id_hint;
use super::worktrees::elsewhere_note;
use crate::error::{Code, Result};
use crate::git::short_branch;
use crate::taskgraph::{Status, Task};

/// A task whose branch is to be merged.
#[derive(Clone)]
pub(crate) struct Candidate {
    pub idx: usize,
    pub id: String,
    pub branch: String,
    pub tip: ObjectId,
    /// Commits since the merge base with the target (0: a task that produces no files,
    /// finished by naming it).
    pub commits: usize,
    pub worktree: Option<Utf8PathBuf>,
    /// Files changed since the merge base with the target.
    pub files: Vec<String>,
}

/// An in-progress task that `finish` with no ids leaves alone, and why.
#[derive(Serialize, schemars::JsonSchema, Clone)]
pub(crate) struct Skipped {
    /// The task id.
    pub id: String,
    /// Why it was not finished: no commits of its own yet (with or without uncommitted work),
    /// or in progress with no branch here.
    pub reason: String,
}

/// The tasks to merge (file order); with no ids also the in-progress tasks left alone. Refused,
/// naming every problem, when a named task cannot be finished.
pub(crate) fn candidates(env: &Session) -> Result<(Vec<Candidate>, Vec<Skipped>)> {
    let named = !env.ctx.args.positionals.is_empty();
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let chosen = chosen(env, &mut problems);
    // The first problem's kind: a task named that is not in progress, else work of a task
    // that its worktree does not hold as finish needs it (no commits, off its branch).
    let mut code = (!problems.is_empty()).then_some(Code::WrongStatus);
    for i in chosen {
        match candidate(env, i, named)? {
            Ok(c) => out.push(c),
            Err(why) if named => {
                code.get_or_insert(Code::TaskDirty);
                problems.push(why)
            }
            Err(reason) => skipped.push(Skipped {
                id: env.tf.graph.tasks[i].id.clone(),
                reason,
            }),
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "see 'git parallel status'",
            "cannot finish; nothing was changed:\n  {}",
            problems.join("\n  ")
        )
        .with_code(code.unwrap_or(Code::Refused)));
    }
    Ok((out, skipped))
}

/// The in-progress tasks named on the command line (else all of them), in file order; a named
/// task that does not exist or is not in progress goes to `problems`.
fn chosen(env: &Session, problems: &mut Vec<String>) -> Vec<usize> {
    let graph = &env.tf.graph;
    let ids = &env.ctx.args.positionals;
    let mut idx = Vec::new();
    if ids.is_empty() {
        idx.extend((0..graph.tasks.len()).filter(|&i| graph.tasks[i].status == Status::InProgress));
    }
    for id in ids {
        match env.tf.index_of(id) {
            Some(i) if graph.tasks[i].status == Status::InProgress => {
                if !idx.contains(&i) {
                    idx.push(i)
                }
            }
            Some(i) => problems.push(format!(
                "{id}: status is {}, not in_progress",
                graph.tasks[i].status
            )),
            None => problems.push(format!(
                "{id}: no such task in {}; {}",
                env.tf.path,
                unknown_id_hint(&env.tf, id)
            )),
        }
    }
    idx.sort();
    idx
}

/// Task `i` as a candidate, or why it cannot be finished (worded for a `named` task, which
/// refuses, or as the reason it is skipped).
fn candidate(
    env: &Session,
    i: usize,
    named: bool,
) -> Result<std::result::Result<Candidate, String>> {
    let task = &env.tf.graph.tasks[i];
    let branch = env.branch_of(task);
    let Some(tip) = env.ctx.repo.ref_id(&branch)? else {
        let why = elsewhere_note(env, task);
        return Ok(Err(if named {
            format!(
                "{why}; finish it where its branch is, or reset it here: git parallel abort {}",
                task.id
            )
        } else {
            format!(
                "{why}; skipped (to reset it: git parallel abort {})",
                task.id
            )
        }));
    };
    let repo = &env.ctx.repo;
    let base = repo
        .merge_base(env.target_tip, tip)?
        .unwrap_or(env.target_tip);
    let commits = repo.count_between(base, tip)?;
    let worktree = env.worktree_of(task)?.map(|w| w.path);
    // A task's work is what its worktree holds: a worktree at the task's path that is on
    // another branch or a detached HEAD (an agent's `git checkout -b`) would be left out
    // silently, its newer commits with it (repro round2 06).
    if worktree.is_none() {
        if let Some(why) = off_branch(env, task, &branch, tip)? {
            return Ok(Err(if named {
                why
            } else {
                format!("{why}; skipped")
            }));
        }
    }
    // A task that produces no files (a checkpoint, a review) is finished by naming it:
    // completed without a merge, its clean worktree and branch removed.
    let nothing_to_produce = task.checkpoint || task.produces_nothing();
    let by_name =
        commits == 0 && named && nothing_to_produce && worktree_clean(env, worktree.as_deref())?;
    if commits == 0 && !by_name {
        let mut why = no_commits_reason(env, task, &branch, worktree.as_deref())?;
        if named {
            return Ok(Err(why));
        }
        if nothing_to_produce {
            why.push_str(&format!(
                "; it produces no files: 'git parallel finish {}' completes it without a merge",
                task.id
            ));
        }
        return Ok(Err(format!("{why}; skipped")));
    }
    let files = if commits == 0 {
        Vec::new()
    } else {
        repo.changed_paths(base, tip)?
    };
    Ok(Ok(Candidate {
        idx: i,
        id: task.id.clone(),
        branch,
        tip,
        commits,
        worktree,
        files,
    }))
}

/// Why a task cannot be finished when the worktree at its path is not on its branch: names
/// what it has checked out, the commits there that the branch lacks, and the way on. None when
/// no worktree is there (a task without one, or one removed) or it is on the branch.
fn off_branch(env: &Session, task: &Task, branch: &str, tip: ObjectId) -> Result<Option<String>> {
    let Some(wt) = super::worktrees::task_worktree(env, task)? else {
        return Ok(None);
    };
    if wt.branch.as_deref() == Some(branch) || !wt.path.is_dir() {
        return Ok(None);
    }
    let mut cmd = env.ctx.repo.loc.git.in_dir(&wt.path);
    cmd.args(["rev-parse", "--verify", "-q", "HEAD"]);
    let head = crate::git::cli::stdout(cmd)?.trim().to_string();
    let on = match &wt.branch {
        Some(b) => format!("branch {}", short_branch(b)),
        None => format!(
            "a detached HEAD at {}",
            crate::txn::steps::shared::short(&head)
        ),
    };
    let extra = match crate::git::oid(&head) {
        Ok(h) => {
            let base = env.ctx.repo.merge_base(tip, h)?.unwrap_or(tip);
            env.ctx.repo.count_between(base, h)?
        }
        Err(_) => 0,
    };
    let shown = env.show(&wt.path);
    let task_branch = short_branch(branch);
    let mut why = format!(
        "{}: its worktree {shown} is on {on}, not on its branch {task_branch}",
        task.id
    );
    if extra > 0 {
        why.push_str(&format!(
            ", with {extra} commit{} the branch does not have (git -C {shown} log {task_branch}..HEAD)",
            if extra == 1 { "" } else { "s" }
        ));
    }
    why.push_str(&format!(
        "; put the work on the task branch (git -C {shown} checkout {task_branch} && git -C {shown} merge {}), then finish again",
        wt.branch.as_deref().map_or(head.clone(), |b| short_branch(b).to_string())
    ));
    Ok(Some(why))
}

/// Whether a task's worktree (if any) has nothing uncommitted or untracked.
fn worktree_clean(env: &Session, worktree: Option<&Utf8Path>) -> Result<bool> {
    Ok(match worktree {
        Some(wt) if wt.is_dir() => env.ctx.repo.status_lines(wt)?.is_empty(),
        _ => true,
    })
}

/// Why a task whose branch has no commits of its own cannot be finished: nothing done yet, or
/// work in its worktree that is not committed.
fn no_commits_reason(
    env: &Session,
    task: &Task,
    branch: &str,
    worktree: Option<&Utf8Path>,
) -> Result<String> {
    let dirty = match worktree {
        Some(wt) if wt.is_dir() => env.ctx.repo.status_lines(wt)?.len(),
        _ => 0,
    };
    Ok(match worktree {
        Some(wt) if dirty > 0 => format!(
            "{}: branch {} has no commits of its own yet, but {} has {dirty} uncommitted change{} (commit in that worktree, then finish again)",
            task.id,
            short_branch(branch),
            env.show(wt),
            if dirty == 1 { "" } else { "s" },
        ),
        _ => format!(
            "{}: branch {} has no commits of its own yet",
            task.id,
            short_branch(branch)
        ),
    })
}

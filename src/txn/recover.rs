//! `recover` (finish or roll back the journal of an interrupted operation) and the plan of
//! `undo` (the inverse of the last logged operation).

use super::{check, lock, oplog, run, state_dir, Error, Journal, Plan, Result};
use crate::git::Repo;
use crate::txn::steps::RemoveWorktree;
use crate::txn::Step;

/// What `recover` did.
pub enum Recovered {
    RolledBack(String),
    Completed(String),
}

/// `recover --abort` (roll back) or `recover --continue` (complete) an interrupted operation.
pub fn recover(repo: &Repo, complete: bool) -> Result<Recovered> {
    let dir = state_dir(repo);
    let Some(mut journal) = Journal::load(&dir)? else {
        return Err(Error::NothingToRecover);
    };
    if journal.pid != std::process::id()
        && lock::live_owner(&dir.join("lock")).is_some_and(|(pid, _)| pid == journal.pid)
    {
        return Err(Error::StillRunning {
            summary: journal.summary,
            pid: journal.pid,
        });
    }
    let lock = lock::Lock::acquire(&dir, &format!("recover {}", journal.summary), true)?;
    if complete && !journal.rolling_back {
        if let Err((i, e)) = run::forward(repo, &dir, &mut journal, true) {
            lock.release();
            return Err(Error::ContinueFailed {
                index: i,
                step: journal.steps[i].step.describe(),
                source: e,
            });
        }
        check::check_result(repo, &dir, &mut journal, true)?;
        super::finish_log(&dir, &journal)?;
        Journal::remove(&dir)?;
        lock.release();
        return Ok(Recovered::Completed(journal.summary));
    }
    if complete && journal.rolling_back {
        crate::output::note(format_args!(
            "'{}' was being rolled back when it stopped; finishing the rollback",
            journal.summary
        ));
    }
    if let Err((i, e)) = run::rollback(repo, &dir, &mut journal, false) {
        lock.release();
        return Err(Error::AbortFailed {
            index: i,
            step: journal.steps[i].step.describe(),
            source: e,
        });
    }
    check::check_result(repo, &dir, &mut journal, false)?;
    Journal::remove(&dir)?;
    lock.release();
    Ok(Recovered::RolledBack(journal.summary))
}

/// The plan that reverses the last completed operation, and that operation's summary.
pub fn undo_plan(repo: &Repo) -> Result<(Plan, String)> {
    let entries = oplog::read(&state_dir(repo))?;
    let Some(last) = oplog::last_undoable(&entries) else {
        return Err(Error::NothingToUndo);
    };
    let steps: Vec<Step> = last.steps.iter().rev().filter_map(Step::inverse).collect();
    // Worktrees the undo would remove must hold no work made since.
    let mut problems = Vec::new();
    for s in &steps {
        let leaving = match s {
            Step::RemoveWorktree(RemoveWorktree { path, .. }) => Some(path),
            Step::Pool(super::pool::Pool::Park { path, .. }) => Some(path),
            _ => None,
        };
        if let Some(path) = leaving {
            if path.exists() {
                let lines = repo.status_lines(path)?;
                if !lines.is_empty() {
                    problems.push(format!(
                        "{path} has uncommitted or untracked changes:\n      {}",
                        lines
                            .iter()
                            .map(|l| crate::taskgraph::display::safe(l))
                            .collect::<Vec<_>>()
                            .join("\n      ")
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::UndoBlocked {
            summary: last.summary.clone(),
            problems,
        });
    }
    let plan = Plan {
        command: "undo".into(),
        summary: format!("undo {}", last.summary),
        steps,
        commit_point: None,
        meta: super::Meta {
            undoes: Some(last.id.clone()),
            undone_command: Some(last.command.clone()),
            ..super::Meta::default()
        },
    };
    Ok((plan, last.summary.clone()))
}

//! Applying and undoing a journal's steps: forward one by one (a run of worktree steps on
//! several threads), backward newest first, saving the journal after every change of state.

use super::{failpoint, interrupt, Journal, StepState};
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::txn::steps::TestGate;
use crate::txn::Step;

/// Applies the steps not done yet, journaling each; returns the failing step's index on error.
/// A run of consecutive worktree steps is applied concurrently (bounded by the CPUs).
/// `resumed`: by `recover`, on the journal of a dead process (a started step may be half-done).
pub(super) fn forward(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    resumed: bool,
) -> std::result::Result<(), (usize, Error)> {
    let todo = journal
        .steps
        .iter()
        .filter(|s| s.state != StepState::Done)
        .count();
    let progress = crate::progress::Progress::new(todo, &journal.command);
    let mut i = 0;
    while i < journal.steps.len() {
        if journal.steps[i].state == StepState::Done {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        if journal.steps[i].step.concurrent() {
            while end < journal.steps.len()
                && journal.steps[end].step.concurrent()
                && journal.steps[end].state != StepState::Done
            {
                end += 1;
            }
        }
        if !resumed && journal.commit_point.is_none_or(|cp| i <= cp) {
            if let Some(sig) = interrupt::received() {
                return Err((
                    i,
                    crate::refused!("interrupted by {}", interrupt::name(sig)),
                ));
            }
        }
        if journal.commit_point == Some(i) {
            recheck_at_commit_point(repo, journal, i)?;
        }
        let waits = journal.steps[i..end]
            .iter()
            .any(|s| s.step.lets_time_pass());
        if end - i > 1 {
            group(repo, dir, journal, i, end, &progress, resumed)?;
            if waits {
                super::clean::checks_expire(&repo.loc);
            }
            i = end;
            continue;
        }
        progress.show(&journal.steps[i].step.describe());
        if matches!(journal.steps[i].step, Step::TestGate(TestGate { .. })) {
            progress.clear();
        }
        let proven = resumed && journal.steps[i].state == StepState::Started;
        journal.steps[i].state = StepState::Started;
        journal.save(dir).map_err(|e| (i, e))?;
        failpoint::hit("before", i).map_err(|e| (i, e))?;
        let past_commit = journal.commit_point.is_some_and(|cp| i > cp);
        let kept;
        let step = if past_commit {
            kept = keep_moved_branches(repo, &journal.steps[i].step).map_err(|e| (i, e))?;
            kept.as_ref().unwrap_or(&journal.steps[i].step)
        } else {
            &journal.steps[i].step
        };
        if let Err(e) = step.apply(repo, proven) {
            // It stays Started: a step may fail part-way (a git child interrupted mid-write),
            // and undoing a step that did nothing is a no-op.
            return Err((i, e));
        }
        failpoint::hit("after", i).map_err(|e| (i, e))?;
        if waits {
            super::clean::checks_expire(&repo.loc);
        }
        journal.steps[i].state = StepState::Done;
        journal.save(dir).map_err(|e| (i, e))?;
        progress.tick();
        i += 1;
    }
    Ok(())
}

/// Past the commit point, a branch deletion whose branch someone moved meanwhile (a late commit
/// of an agent's leftover process, the user) must not fail the operation that already took
/// effect: the branch is kept with its new commits, and a note says so (repro round2 01).
/// Returns the step without those deletions (None: nothing to drop). The journal keeps the
/// step as planned; the check after a recovery sees the moved branch as someone else's change.
fn keep_moved_branches(repo: &Repo, step: &Step) -> Result<Option<Step>> {
    let Step::Refs(super::steps::Refs { updates, message }) = step else {
        return Ok(None);
    };
    let mut kept = Vec::new();
    for u in updates {
        if u.new.is_some() || u.old.is_none() {
            continue;
        }
        let cur = repo.ref_id(&u.name)?;
        if let Some(cur) = cur.filter(|c| Some(c) != u.old.as_ref()) {
            crate::output::note(format_args!(
                "{} moved to {} meanwhile (commits that did not land): kept it; look at them \
                 with 'git log {}' and land or delete the branch yourself",
                crate::git::short_branch(&u.name),
                super::steps::shared::short(cur),
                crate::git::short_branch(&u.name),
            ));
            kept.push(u.name.clone());
        }
    }
    if kept.is_empty() {
        return Ok(None);
    }
    Ok(Some(Step::Refs(super::steps::Refs {
        updates: updates
            .iter()
            .filter(|u| !kept.contains(&u.name))
            .cloned()
            .collect(),
        message: message.clone(),
    })))
}

/// Refuses the commit point `i` when a step after it would fail (see
/// `check::post_commit_problems`): nothing has taken effect yet.
fn recheck_at_commit_point(
    repo: &Repo,
    journal: &Journal,
    i: usize,
) -> std::result::Result<(), (usize, Error)> {
    let problems = super::check::post_commit_problems(repo, Some(i), &super::steps_of(journal))
        .map_err(|e| (i, e))?;
    if problems.is_empty() {
        return Ok(());
    }
    Err((
        i,
        crate::refused!(
            "the cleanup after it would fail:\n  {}",
            problems.join("\n  ")
        ),
    ))
}

/// Applies steps `start..end` (all worktree steps) on up to as many threads as CPUs.
fn group(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    start: usize,
    end: usize,
    progress: &crate::progress::Progress,
    resumed: bool,
) -> std::result::Result<(), (usize, Error)> {
    let proven: Vec<bool> = (start..end)
        .map(|k| resumed && journal.steps[k].state == StepState::Started)
        .collect();
    for k in start..end {
        journal.steps[k].state = StepState::Started;
    }
    journal.save(dir).map_err(|e| (start, e))?;
    for k in start..end {
        failpoint::hit("before", k).map_err(|e| (k, e))?;
    }
    let loc = &repo.loc;
    let steps: Vec<(&Step, bool)> = journal.steps[start..end]
        .iter()
        .zip(proven.iter().copied())
        .map(|(s, p)| (&s.step, p))
        .collect();
    let results: Vec<(usize, Result<()>)> = crate::parallel_map::map_bounded(
        &steps,
        crate::parallel_map::cpus_or(2),
        |&(step, proven)| {
            progress.show(&step.describe());
            let r = step.apply_concurrent(loc, proven);
            progress.tick();
            r
        },
    )
    .into_iter()
    .enumerate()
    .map(|(i, r)| (start + i, r))
    .collect();
    if results.iter().all(|(_, r)| r.is_ok()) {
        for k in start..end {
            failpoint::hit("after", k).map_err(|e| (k, e))?;
        }
    }
    let mut first_err = None;
    for (k, r) in results {
        match r {
            Ok(()) => journal.steps[k].state = StepState::Done,
            // Stays Started (see run_forward).
            Err(e) => {
                first_err.get_or_insert((k, e));
            }
        }
    }
    journal.save(dir).map_err(|e| (start, e))?;
    match first_err {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Undoes every started or done step, newest first. A step is undone as "proven" (its
/// half-done leftovers may be cleared) when it never completed, or when a rollback was already
/// under way when the journal's process died (its undo may be half-done).
pub(super) fn rollback(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    fresh: bool,
) -> std::result::Result<(), (usize, Error)> {
    let was_rolling_back = journal.rolling_back && !fresh;
    journal.rolling_back = true;
    journal.save(dir).map_err(|e| (0, e))?;
    for i in (0..journal.steps.len()).rev() {
        if matches!(journal.steps[i].state, StepState::Started | StepState::Done) {
            let proven = journal.steps[i].state == StepState::Started || was_rolling_back;
            journal.steps[i]
                .step
                .undo(repo, fresh, proven)
                .map_err(|e| (i, e))?;
            journal.steps[i].state = StepState::Undone;
            journal.save(dir).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

//! The one transaction engine. A command builds a [`Plan`] (pure: ordered steps) and hands it
//! to [`execute`], which takes the repository lock, journals every step, rolls back on failure
//! (or rolls forward past the commit point), and appends the completed operation to the log.
//! `recover` and `undo` are built on the same journal and log.

mod failpoint;
pub mod journal;
pub mod keep;
pub mod lock;
pub mod oplog;
pub mod step;

use camino::Utf8PathBuf;

use crate::error::{Error, Result};
use crate::git::Repo;
pub use journal::{Journal, JournalStep, StepState};
pub use step::Step;

/// What a command intends to do, before anything is done.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Plan {
    pub command: String,
    /// One line for the log and messages, e.g. "start DEVOPS-01, BACKEND-01".
    pub summary: String,
    pub steps: Vec<Step>,
    /// Index of the step that makes the operation take effect: a failure up to it rolls
    /// everything back; a failure after it leaves the journal for `recover --continue`.
    pub commit_point: Option<usize>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub meta: serde_json::Value,
}

impl Plan {
    pub fn print(&self) {
        println!("plan: {}", self.summary);
        for (i, s) in self.steps.iter().enumerate() {
            let mark = if Some(i) == self.commit_point {
                "  <- commit point"
            } else {
                ""
            };
            println!("  {:>2}. {}{}", i + 1, s.describe(), mark);
        }
    }
}

/// The directory of git-parallel's state in the common git dir.
pub fn state_dir(repo: &Repo) -> Utf8PathBuf {
    repo.common_dir.join("parallel")
}

/// The text of an error, for embedding in another message.
pub fn message_of(e: &Error) -> String {
    match e {
        Error::Refused(r) | Error::Fatal(r) => r.to_string(),
        Error::Usage { message, .. } => message.clone(),
        Error::Exit(c) => format!("exit {c}"),
    }
}

/// Refuses to act while an interrupted operation's journal exists.
pub fn ensure_no_pending(repo: &Repo) -> Result<()> {
    let dir = state_dir(repo);
    if let Some(j) = Journal::load(&dir)? {
        let done = j
            .steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .count();
        let alive = lock::owner(&dir.join("lock"))
            .is_some_and(|(pid, _)| lock::pid_alive(pid) && pid == j.pid);
        if alive {
            return Err(crate::refused!(
                help = "wait for it to finish",
                "another git-parallel is running here (pid {}: {})",
                j.pid,
                j.summary
            ));
        }
        return Err(crate::refused!(
            help = "run 'git parallel recover --abort' to roll it back, or 'git parallel recover --continue' to complete it",
            "an interrupted operation is pending: '{}' stopped after {done} of {} steps{}",
            j.summary,
            j.steps.len(),
            if j.committed() { " (it had already taken effect)" } else { "" }
        ));
    }
    Ok(())
}

/// Checks, before anything changes, that every ref update will find the value it expects
/// (following the plan's own earlier updates), so a plan that would fail half-way is refused up
/// front. (Commands check the worktrees they remove themselves, listing every problem.)
fn preflight(repo: &Repo, plan: &Plan) -> Result<()> {
    let mut refs: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut problems = Vec::new();
    let updates = plan.steps.iter().flat_map(|s| match s {
        Step::Refs { updates, .. } => updates.as_slice(),
        _ => &[],
    });
    for u in updates {
        let cur = match refs.get(&u.name) {
            Some(v) => v.clone(),
            None => repo.ref_id(&u.name)?.map(|i| i.to_string()),
        };
        if cur != u.old {
            problems.push(match (&cur, &u.old) {
                (Some(c), None) => format!("{} exists (at {})", u.name, step::short(c)),
                (None, Some(_)) => format!("{} does not exist any more", u.name),
                (Some(c), Some(o)) => format!(
                    "{} is at {}, expected {}",
                    u.name,
                    step::short(c),
                    step::short(o)
                ),
                (None, None) => continue,
            });
        }
        refs.insert(u.name.clone(), u.new.clone());
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "nothing was changed; something changed since (a new commit, a moved branch, work in a worktree): look at it and decide",
            "cannot {}:\n  {}",
            plan.summary,
            problems.join("\n  ")
        ));
    }
    Ok(())
}

fn now_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", t.as_nanos(), std::process::id())
}

/// Applies a plan as one transaction.
pub fn execute(repo: &Repo, plan: Plan) -> Result<()> {
    let dir = state_dir(repo);
    let lock = lock::Lock::acquire(&dir, &plan.summary, false)?;
    ensure_no_pending(repo)?;
    preflight(repo, &plan)?;
    let mut journal = Journal {
        version: 1,
        id: now_id(),
        command: plan.command.clone(),
        summary: plan.summary.clone(),
        started_at: crate::time::now_iso(),
        pid: std::process::id(),
        commit_point: plan.commit_point,
        rolling_back: false,
        steps: plan
            .steps
            .into_iter()
            .map(|step| JournalStep {
                step,
                state: StepState::Pending,
            })
            .collect(),
        meta: plan.meta,
    };
    journal.save(&dir)?;
    let result = run_forward(repo, &dir, &mut journal, 0);
    match result {
        Ok(()) => {
            finish_log(&dir, &journal)?;
            Journal::remove(&dir)?;
            lock.release();
            crate::output::took_effect(&journal.summary);
            Ok(())
        }
        Err((i, e)) => {
            let after_commit = journal.commit_point.is_some_and(|cp| i > cp);
            if after_commit {
                lock.release();
                return Err(crate::refused!(
                    help = "fix the cause, then run 'git parallel recover --continue' to finish the cleanup \
                            (or 'git parallel recover --abort' to put everything back)",
                    "'{}' took effect, but step {} ({}) failed: {}",
                    journal.summary,
                    i + 1,
                    journal.steps[i].step.describe(),
                    message_of(&e)
                ));
            }
            match rollback(repo, &dir, &mut journal, true) {
                Ok(()) => {
                    Journal::remove(&dir)?;
                    lock.release();
                    Err(Error::Refused(miette::miette!(
                        help = "nothing was changed; fix the cause and run the command again",
                        "{} failed at step {} ({}): {}",
                        journal.command,
                        i + 1,
                        journal.steps[i].step.describe(),
                        message_of(&e)
                    )))
                }
                Err((j, re)) => {
                    lock.release();
                    Err(crate::fatal!(
                        help = "fix the cause of the rollback failure, then run 'git parallel recover --abort'",
                        "{} failed at step {} ({}): {}\nand rolling back failed at step {} ({}): {}",
                        journal.command,
                        i + 1,
                        journal.steps[i].step.describe(),
                        message_of(&e),
                        j + 1,
                        journal.steps[j].step.describe(),
                        message_of(&re)
                    ))
                }
            }
        }
    }
}

fn finish_log(dir: &camino::Utf8Path, journal: &Journal) -> Result<()> {
    let undoes = journal
        .meta
        .get("undoes")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    oplog::append(
        dir,
        &oplog::Entry {
            id: journal.id.clone(),
            command: journal.command.clone(),
            summary: journal.summary.clone(),
            time: crate::time::now_iso(),
            steps: journal.steps.iter().map(|s| s.step.clone()).collect(),
            undoes,
            meta: journal.meta.clone(),
        },
    )
}

/// Applies steps from `from` on, journaling each; returns the failing step's index on error.
/// A run of consecutive worktree steps is applied concurrently (bounded by the CPUs).
fn run_forward(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    from: usize,
) -> std::result::Result<(), (usize, Error)> {
    let progress = crate::progress::Progress::new(journal.steps.len() - from, &journal.command);
    let mut i = from;
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
        if end - i > 1 {
            run_group(repo, dir, journal, i, end, &progress)?;
            i = end;
            continue;
        }
        progress.show(&journal.steps[i].step.describe());
        if matches!(journal.steps[i].step, Step::TestGate { .. }) {
            progress.clear();
        }
        journal.steps[i].state = StepState::Started;
        journal.save(dir).map_err(|e| (i, e))?;
        failpoint::hit("before", i).map_err(|e| (i, e))?;
        if let Err(e) = journal.steps[i].step.apply(repo) {
            // A step that reports failure has cleaned up after itself: nothing to undo.
            journal.steps[i].state = StepState::Pending;
            let _ = journal.save(dir);
            return Err((i, e));
        }
        failpoint::hit("after", i).map_err(|e| (i, e))?;
        journal.steps[i].state = StepState::Done;
        journal.save(dir).map_err(|e| (i, e))?;
        progress.tick();
        i += 1;
    }
    Ok(())
}

/// Applies steps `start..end` (all worktree steps) on up to as many threads as CPUs.
fn run_group(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    start: usize,
    end: usize,
    progress: &crate::progress::Progress,
) -> std::result::Result<(), (usize, Error)> {
    for k in start..end {
        journal.steps[k].state = StepState::Started;
    }
    journal.save(dir).map_err(|e| (start, e))?;
    for k in start..end {
        failpoint::hit("before", k).map_err(|e| (k, e))?;
    }
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(end - start);
    let next = std::sync::atomic::AtomicUsize::new(start);
    let loc = &repo.loc;
    let steps: Vec<Step> = journal.steps[start..end]
        .iter()
        .map(|s| s.step.clone())
        .collect();
    let results: std::sync::Mutex<Vec<(usize, Result<()>)>> = Default::default();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if k >= end {
                    break;
                }
                progress.show(&steps[k - start].describe());
                let r = steps[k - start].apply_concurrent(loc);
                progress.tick();
                if let Ok(mut v) = results.lock() {
                    v.push((k, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(k, _)| *k);
    if results.iter().all(|(_, r)| r.is_ok()) {
        for k in start..end {
            failpoint::hit("after", k).map_err(|e| (k, e))?;
        }
    }
    let mut first_err = None;
    for (k, r) in results {
        match r {
            Ok(()) => journal.steps[k].state = StepState::Done,
            Err(e) => {
                journal.steps[k].state = StepState::Pending;
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

/// Undoes every started or done step, newest first.
fn rollback(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    fresh: bool,
) -> std::result::Result<(), (usize, Error)> {
    journal.rolling_back = true;
    journal.save(dir).map_err(|e| (0, e))?;
    for i in (0..journal.steps.len()).rev() {
        if matches!(journal.steps[i].state, StepState::Started | StepState::Done) {
            journal.steps[i]
                .step
                .undo(repo, fresh)
                .map_err(|e| (i, e))?;
            journal.steps[i].state = StepState::Undone;
            journal.save(dir).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

/// What `recover` did.
pub enum Recovered {
    RolledBack(String),
    Completed(String),
}

/// `recover --abort` (roll back) or `recover --continue` (complete) an interrupted operation.
pub fn recover(repo: &Repo, complete: bool) -> Result<Recovered> {
    let dir = state_dir(repo);
    let Some(mut journal) = Journal::load(&dir)? else {
        return Err(crate::refused!(
            "there is no interrupted operation to recover"
        ));
    };
    if lock::pid_alive(journal.pid)
        && journal.pid != std::process::id()
        && lock::owner(&dir.join("lock")).is_some_and(|(pid, _)| pid == journal.pid)
    {
        return Err(crate::refused!(
            help = "wait for it to finish",
            "the operation '{}' is still running (pid {})",
            journal.summary,
            journal.pid
        ));
    }
    let lock = lock::Lock::acquire(&dir, &format!("recover {}", journal.summary), true)?;
    if complete && !journal.rolling_back {
        if let Err((i, e)) = run_forward(repo, &dir, &mut journal, 0) {
            lock.release();
            return Err(crate::refused!(
                help = "fix the cause and run 'git parallel recover --continue' again, or roll back with 'git parallel recover --abort'",
                "step {} ({}) failed again: {}",
                i + 1,
                journal.steps[i].step.describe(),
                message_of(&e)
            ));
        }
        finish_log(&dir, &journal)?;
        Journal::remove(&dir)?;
        lock.release();
        crate::output::took_effect(&format!("recover --continue of {}", journal.summary));
        return Ok(Recovered::Completed(journal.summary));
    }
    if complete && journal.rolling_back {
        eprintln!(
            "note: '{}' was being rolled back when it stopped; finishing the rollback",
            journal.summary
        );
    }
    if let Err((i, e)) = rollback(repo, &dir, &mut journal, false) {
        lock.release();
        return Err(crate::refused!(
            help = "fix the cause and run 'git parallel recover --abort' again",
            "undoing step {} ({}) failed: {}",
            i + 1,
            journal.steps[i].step.describe(),
            message_of(&e)
        ));
    }
    Journal::remove(&dir)?;
    lock.release();
    crate::output::took_effect(&format!("recover --abort of {}", journal.summary));
    Ok(Recovered::RolledBack(journal.summary))
}

/// The plan that reverses the last completed operation.
pub fn undo_plan(repo: &Repo) -> Result<Plan> {
    let entries = oplog::read(&state_dir(repo))?;
    let Some(last) = oplog::last_undoable(&entries) else {
        return Err(crate::refused!("there is no operation to undo"));
    };
    let steps: Vec<Step> = last.steps.iter().rev().filter_map(Step::inverse).collect();
    // Worktrees the undo would remove must hold no work made since.
    let mut problems = Vec::new();
    for s in &steps {
        if let Step::RemoveWorktree { path, .. } = s {
            if path.exists() {
                let lines = repo.status_lines(path)?;
                if !lines.is_empty() {
                    problems.push(format!(
                        "{path} has uncommitted or untracked changes:\n      {}",
                        lines.join("\n      ")
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "nothing was changed; commit or remove that work first if it should go",
            "cannot undo {}:\n  {}",
            last.summary,
            problems.join("\n  ")
        ));
    }
    Ok(Plan {
        command: "undo".into(),
        summary: format!("undo {}", last.summary),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "undoes": last.id, "undone_command": last.command }),
    })
}

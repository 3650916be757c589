//! The one transaction engine. A command builds a [`Plan`] (pure: ordered steps) and hands it
//! to [`execute`], which takes the repository lock, journals every step, rolls back on failure
//! (or rolls forward past the commit point), and appends the completed operation to the log.
//! `recover` and `undo` are built on the same journal and log.

mod failpoint;
mod interrupt;
pub mod journal;
pub mod keep;
pub mod lock;
pub mod oplog;
mod stale;
pub mod step;
mod syncmain;
pub mod worktree;

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

impl std::fmt::Display for Plan {
    /// The `--dry-run` text: the summary, then the numbered steps with the commit point marked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "plan: {}", self.summary)?;
        for (i, s) in self.steps.iter().enumerate() {
            let mark = if Some(i) == self.commit_point {
                "  <- commit point"
            } else {
                ""
            };
            writeln!(f, "  {:>2}. {}{}", i + 1, s.describe(), mark)?;
        }
        Ok(())
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

/// For a command that changes the repository, before it plans: refuses while an interrupted
/// operation is pending, and takes the repository lock until the process ends (or its
/// transaction releases it), so two commands never plan and apply over each other.
pub fn begin(repo: &Repo, what: &str) -> Result<()> {
    ensure_no_pending(repo)?;
    lock::hold(&state_dir(repo), what)?;
    ensure_no_pending(repo)
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
    problems.extend(post_commit_problems(repo, plan.commit_point, &plan.steps)?);
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

/// What would make a step after the commit point fail (see [`Step::precheck`]): checked up
/// front and again just before the commit point, so that an operation is refused while
/// nothing has taken effect rather than left half-done after it.
fn post_commit_problems(
    repo: &Repo,
    commit_point: Option<usize>,
    steps: &[Step],
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if let Some(cp) = commit_point {
        for s in steps.iter().skip(cp + 1) {
            problems.extend(s.precheck(repo)?);
        }
    }
    Ok(problems)
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
    interrupt::install();
    let lock = match lock::take_held() {
        Some(l) => l,
        None => lock::Lock::acquire(&dir, &plan.summary, false)?,
    };
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
    let result = run_forward(repo, &dir, &mut journal, false);
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
            match rollback(repo, &dir, &mut journal, true)
                .and_then(|()| check_result(repo, &dir, &mut journal, false).map_err(|e| (i, e)))
            {
                Ok(()) => {
                    Journal::remove(&dir)?;
                    lock.release();
                    if let Some(sig) = interrupt::received() {
                        eprintln!(
                            "error: interrupted by {}: '{}' was rolled back; nothing was changed",
                            interrupt::name(sig),
                            journal.summary
                        );
                        return Err(Error::Exit(128 + sig));
                    }
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

/// Applies the steps not done yet, journaling each; returns the failing step's index on error.
/// A run of consecutive worktree steps is applied concurrently (bounded by the CPUs).
/// `resumed`: by `recover`, on the journal of a dead process (a started step may be half-done).
fn run_forward(
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
            let problems =
                post_commit_problems(repo, Some(i), &steps_of(journal)).map_err(|e| (i, e))?;
            if !problems.is_empty() {
                return Err((
                    i,
                    crate::refused!(
                        "the cleanup after it would fail:\n  {}",
                        problems.join("\n  ")
                    ),
                ));
            }
        }
        if end - i > 1 {
            run_group(repo, dir, journal, i, end, &progress, resumed)?;
            i = end;
            continue;
        }
        progress.show(&journal.steps[i].step.describe());
        if matches!(journal.steps[i].step, Step::TestGate { .. }) {
            progress.clear();
        }
        let proven = resumed && journal.steps[i].state == StepState::Started;
        journal.steps[i].state = StepState::Started;
        journal.save(dir).map_err(|e| (i, e))?;
        failpoint::hit("before", i).map_err(|e| (i, e))?;
        if let Err(e) = journal.steps[i].step.apply(repo, proven) {
            // It stays Started: a step may fail part-way (a git child interrupted mid-write),
            // and undoing a step that did nothing is a no-op.
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
                let r = steps[k - start].apply_concurrent(loc, proven[k - start]);
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
fn rollback(
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

/// What differs from the state the journal's steps leave when all are applied (`applied`) or
/// all rolled back: `.0` what this operation should have changed and did not (a reason not to
/// claim success), `.1` what someone else changed meanwhile (to mention; nothing to undo).
fn verify(repo: &Repo, journal: &Journal, applied: bool) -> Result<(Vec<String>, Vec<String>)> {
    use std::collections::BTreeMap;
    let mut refs: BTreeMap<&str, (Option<&String>, Vec<&Option<String>>)> = BTreeMap::new();
    let mut worktrees: BTreeMap<&camino::Utf8Path, bool> = BTreeMap::new();
    let mut files: BTreeMap<&camino::Utf8Path, (&str, &str)> = BTreeMap::new();
    let mut syncs = Vec::new();
    let order: Vec<&JournalStep> = if applied {
        journal.steps.iter().collect()
    } else {
        journal.steps.iter().rev().collect()
    };
    for s in order {
        match &s.step {
            Step::Refs { updates, .. } => {
                for u in updates {
                    let e = refs.entry(u.name.as_str()).or_default();
                    e.0 = if applied {
                        u.new.as_ref()
                    } else {
                        u.old.as_ref()
                    };
                    e.1.push(&u.old);
                    e.1.push(&u.new);
                }
            }
            Step::AddWorktree { path, .. } => {
                worktrees.insert(path, applied);
            }
            Step::RemoveWorktree { path, .. } => {
                worktrees.insert(path, !applied);
            }
            Step::TestGate { dir, .. } => {
                worktrees.insert(dir, false);
            }
            Step::WriteFile { path, old, new } => {
                let want = if applied { new } else { old };
                let other = if applied { old } else { new };
                files.insert(path, (want, other));
            }
            Step::SyncMain { from, to, branch } => syncs.push((from, to, branch)),
            Step::Keep(_) => {}
        }
    }
    let (mut ours, mut foreign) = (Vec::new(), Vec::new());
    for (name, (want, seen)) in refs {
        let cur = repo.ref_id(name)?.map(|i| i.to_string());
        if cur.as_ref() == want {
            continue;
        }
        let shown = |v: Option<&String>| v.map(|v| step::short(v).to_string());
        let text = format!(
            "{name} is {}, expected {}",
            shown(cur.as_ref()).map_or("absent".into(), |v| format!("at {v}")),
            shown(want).map_or("absent".into(), |v| format!("at {v}"))
        );
        if seen.contains(&&cur) {
            ours.push(text);
        } else {
            foreign.push(text);
        }
    }
    for (path, present) in worktrees {
        if present && !worktree::is_complete(repo, path)? {
            ours.push(format!("worktree {path} is not (fully) there"));
        } else if !present && !worktree::is_absent(repo, path)? {
            ours.push(format!("worktree {path} is still there"));
        }
    }
    for (path, (want, other)) in files {
        let cur = std::fs::read_to_string(path).unwrap_or_default();
        if cur == other && want != other {
            ours.push(format!("{path} was not restored"));
        } else if cur != want {
            foreign.push(format!("{path} was changed meanwhile"));
        }
    }
    // The one that decides the final state: the last walked (last applied, first undone).
    if let Some((from, to, branch)) = syncs.last() {
        let want = if applied { *to } else { *from };
        if let Some(false) = syncmain::index_at(repo, from, to, want, branch.as_deref())? {
            ours.push(format!(
                "the main worktree's index is not at {}",
                step::short(want)
            ));
        }
    }
    Ok((ours, foreign))
}

/// Checks the result of a rollback (`applied` false) or completion: on a difference this
/// operation should not have left, the journal is kept with every step marked for another
/// try (apply and undo are idempotent) and an error says what differs; changes others made
/// meanwhile are only mentioned.
fn check_result(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    applied: bool,
) -> Result<()> {
    let (ours, foreign) = verify(repo, journal, applied)?;
    for f in &foreign {
        eprintln!("note: {f} (changed by someone else meanwhile; left as it is)");
    }
    if ours.is_empty() {
        return Ok(());
    }
    for s in &mut journal.steps {
        s.state = if applied {
            StepState::Started
        } else {
            StepState::Done
        };
    }
    journal.rolling_back = !applied;
    journal.save(dir)?;
    let again = if applied { "--continue" } else { "--abort" };
    Err(crate::fatal!(
        help = format!(
            "the journal is kept: fix the cause and run 'git parallel recover {again}' again"
        ),
        "{} '{}' did not reach the expected state:\n  {}",
        if applied {
            "completing"
        } else {
            "rolling back"
        },
        journal.summary,
        ours.join("\n  ")
    ))
}

fn steps_of(journal: &Journal) -> Vec<Step> {
    journal.steps.iter().map(|s| s.step.clone()).collect()
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
        if let Err((i, e)) = run_forward(repo, &dir, &mut journal, true) {
            lock.release();
            return Err(crate::refused!(
                help = "fix the cause and run 'git parallel recover --continue' again, or roll back with 'git parallel recover --abort'",
                "step {} ({}) failed again: {}",
                i + 1,
                journal.steps[i].step.describe(),
                message_of(&e)
            ));
        }
        check_result(repo, &dir, &mut journal, true)?;
        finish_log(&dir, &journal)?;
        Journal::remove(&dir)?;
        lock.release();
        crate::output::took_effect(&format!("recover --continue of {}", journal.summary));
        return Ok(Recovered::Completed(journal.summary));
    }
    if complete && journal.rolling_back {
        crate::output::note(format_args!(
            "'{}' was being rolled back when it stopped; finishing the rollback",
            journal.summary
        ));
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
    check_result(repo, &dir, &mut journal, false)?;
    Journal::remove(&dir)?;
    lock.release();
    crate::output::took_effect(&format!("recover --abort of {}", journal.summary));
    Ok(Recovered::RolledBack(journal.summary))
}

/// The plan that reverses the last completed operation, and that operation's summary.
pub fn undo_plan(repo: &Repo) -> Result<(Plan, String)> {
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
    let plan = Plan {
        command: "undo".into(),
        summary: format!("undo {}", last.summary),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "undoes": last.id, "undone_command": last.command }),
    };
    Ok((plan, last.summary.clone()))
}

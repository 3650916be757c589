//! The one transaction engine. A command builds a [`Plan`] (pure: ordered steps) and hands it
//! to [`execute`], which takes the repository lock, journals every step, rolls back on failure
//! (or rolls forward past the commit point), and appends the completed operation to the log.
//! `recover` and `undo` are built on the same journal and log.
//!
//! Layer: the engine. May import the leaves (src/git/, output, time, parallel_map, error) and
//! nothing above it: never the workflow layer (src/workflow/) or a command.

mod check;
pub mod clean;
mod error;
mod failpoint;
pub mod gate_worktree;
pub mod interrupt;
pub mod journal;
pub mod lock;
pub mod meta;
pub mod oplog;
mod probe;
mod recover;
mod run;
mod stale;
pub mod steps;
pub mod taskenv;
pub mod worktree;

use camino::Utf8PathBuf;

use crate::git::Repo;
pub use error::{Error, Result};
pub use journal::{Journal, JournalStep, StepState};
pub use meta::{Meta, OpId};
pub use probe::{gate_failed, probe};
pub use recover::{recover, undo_plan, Recovered};
pub use steps::{keep, pool, syncmain, testgate, Step};

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
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
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

/// Refuses to act while an interrupted operation's journal exists.
pub fn ensure_no_pending(repo: &Repo) -> Result<()> {
    let dir = state_dir(repo);
    if let Some(j) = Journal::load(&dir)? {
        let done = j
            .steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .count();
        let alive = lock::live_owner(&dir.join("lock")).is_some_and(|(pid, _)| pid == j.pid);
        if alive {
            return Err(Error::Running {
                pid: j.pid,
                summary: j.summary,
            });
        }
        return Err(Error::Pending {
            committed: j.committed(),
            total: j.steps.len(),
            done,
            summary: j.summary,
        });
    }
    Ok(())
}

/// For a command that changes the repository, before it plans: refuses while an interrupted
/// operation is pending, and takes the repository lock into `slot` until the command ends (or
/// its transaction releases it), so two commands never plan and apply over each other.
pub fn begin(repo: &Repo, slot: &lock::Slot, what: &str) -> Result<()> {
    ensure_no_pending(repo)?;
    slot.hold(&state_dir(repo), what)?;
    ensure_no_pending(repo)
}

/// What a transaction that took effect did: its one-line summary (for a message that must say
/// the repository changed even when the report cannot be written).
#[derive(Debug, Clone)]
pub struct Applied {
    pub summary: String,
}

/// Applies a plan as one transaction, with the lock `slot` holds (else one taken now; released
/// either way).
pub fn execute(repo: &Repo, slot: &lock::Slot, plan: Plan) -> Result<Applied> {
    let dir = state_dir(repo);
    interrupt::install();
    let lock = match slot.take() {
        Some(l) => l,
        None => lock::Lock::acquire(&dir, &plan.summary, false)?,
    };
    ensure_no_pending(repo)?;
    check::preflight(repo, &plan)?;
    let mut journal = Journal::begin(plan);
    journal.save(&dir)?;
    let result = run::forward(repo, &dir, &mut journal, false);
    let outcome = match result {
        Ok(()) => finish_log(&dir, &journal)
            .and_then(|()| Journal::remove(&dir))
            .map_err(Error::from),
        Err((i, e)) => Err(failed(repo, &dir, &mut journal, i, e)),
    };
    clean::checks_expire(&repo.loc);
    lock.release();
    outcome.map(|()| Applied {
        summary: journal.summary,
    })
}

/// The error of a transaction whose step `i` failed with `e`: past the commit point it is left
/// for `recover --continue`; before it, everything is rolled back (and that checked).
fn failed(
    repo: &Repo,
    dir: &camino::Utf8Path,
    journal: &mut Journal,
    i: usize,
    e: crate::error::Error,
) -> Error {
    let step = journal.steps[i].step.describe();
    if journal.commit_point.is_some_and(|cp| i > cp) {
        return Error::AfterCommit {
            summary: journal.summary.clone(),
            index: i,
            step,
            source: e,
        };
    }
    let rolled_back = run::rollback(repo, dir, journal, true)
        .and_then(|()| check::check_result(repo, dir, journal, false).map_err(|e| (i, e.into())));
    match rolled_back {
        Ok(()) => {
            if let Err(e) = Journal::remove(dir) {
                return e.into();
            }
            match interrupt::received() {
                Some(signal) => Error::Interrupted {
                    signal,
                    signal_name: interrupt::name(signal),
                    summary: journal.summary.clone(),
                },
                None => Error::RolledBack {
                    command: journal.command.clone(),
                    index: i,
                    step,
                    source: e,
                },
            }
        }
        Err((j, re)) => Error::RollbackFailed {
            command: journal.command.clone(),
            index: i,
            step,
            source: Box::new(e),
            undo_index: j,
            undo_step: journal.steps[j].step.describe(),
            undo_error: Box::new(re),
        },
    }
}

/// Appends the completed operation to the operation log.
fn finish_log(dir: &camino::Utf8Path, journal: &Journal) -> crate::error::Result<()> {
    oplog::append(
        dir,
        &oplog::Entry {
            id: journal.id.clone(),
            command: journal.command.clone(),
            summary: journal.summary.clone(),
            time: crate::time::now(),
            steps: steps_of(journal),
            undoes: journal.meta.undoes.clone(),
            meta: journal.meta.clone(),
        },
    )
}

/// The steps of a journal, without their states.
fn steps_of(journal: &Journal) -> Vec<Step> {
    journal.steps.iter().map(|s| s.step.clone()).collect()
}

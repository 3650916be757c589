//! A test run outside any operation: one probe of the bisection that finds which tasks break
//! `finish`'s test gate (src/commands/bisect.rs). It runs the gate's own code (a temporary
//! worktree of the commit, the test in it, the worktree removed) under a journal of its one
//! step, so that a process killed meanwhile leaves a journal that `recover` settles like any
//! other. A probe changes nothing durable, so there is nothing to complete: its journal is
//! marked as rolling back from the start, and `recover` in either direction removes the
//! worktree. It is never written to the operation log (there is nothing to undo).

use super::{ensure_no_pending, interrupt, lock, state_dir, Journal, Plan, StepState};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::Step;

/// Runs the test `command` on `commit` as the test gate does; whether it passed, and its last
/// output lines. `summary`
/// names the probe in the journal (and so in `status` and `recover` after a kill). Errors: the
/// test could not be run, another operation is pending, or a signal came (then
/// `Error::Interrupted`, the probe's worktree removed).
pub fn probe(
    repo: &Repo,
    slot: &lock::Slot,
    summary: &str,
    commit: &str,
    command: &str,
) -> Result<super::testgate::TestRun> {
    let dir = state_dir(repo);
    interrupt::install();
    slot.hold(&dir, summary)?;
    ensure_no_pending(repo)?;
    interrupted(summary)?;
    let test_dir = super::testgate::test_dir()?;
    let step = Step::TestGate {
        commit: commit.to_string(),
        command: command.to_string(),
        dir: test_dir.clone(),
    };
    let plan = Plan {
        command: "finish".into(),
        summary: summary.to_string(),
        steps: vec![step.clone()],
        commit_point: None,
        meta: serde_json::Value::Null,
    };
    let mut journal = Journal::begin(plan, super::now_id(), crate::time::now_iso());
    journal.rolling_back = true;
    journal.steps[0].state = StepState::Started;
    journal.save(&dir)?;
    let run = super::testgate::run_test(repo, commit, command, &test_dir);
    // run_test removes its worktree; this also covers an error part-way through it.
    let removed = step.undo(repo, true, true);
    if removed.is_ok() {
        Journal::remove(&dir)?;
    }
    let run = run?;
    removed?;
    interrupted(summary)?;
    Ok(run)
}

/// `Error::Interrupted` when a signal came (the probe, if any, is over and cleaned up).
fn interrupted(summary: &str) -> Result<()> {
    match interrupt::received() {
        Some(signal) => Err(super::Error::Interrupted {
            signal,
            signal_name: interrupt::name(signal),
            summary: summary.to_string(),
        }
        .into()),
        None => Ok(()),
    }
}

/// Whether `e` is a transaction rolled back because its test gate's command failed (and for
/// no other reason): what makes `finish` bisect its batch.
pub fn gate_failed(e: &crate::error::Error) -> bool {
    let crate::error::Error::Refused(report) = e else {
        return false;
    };
    match report.downcast_ref::<super::Error>() {
        Some(super::Error::RolledBack {
            source: crate::error::Error::Refused(source),
            ..
        }) => source.downcast_ref::<TestFailed>().is_some(),
        _ => false,
    }
}

/// The last output lines of the test whose failure rolled `e` back (see [`gate_failed`]).
pub fn gate_output(e: &crate::error::Error) -> Option<String> {
    let crate::error::Error::Refused(report) = e else {
        return None;
    };
    match report.downcast_ref::<super::Error>() {
        Some(super::Error::RolledBack {
            source: crate::error::Error::Refused(source),
            ..
        }) => source
            .downcast_ref::<TestFailed>()
            .map(|t| t.output.clone()),
        _ => None,
    }
}

/// The test gate's command failed: a refusal of its own type, so that `finish` can tell it
/// from any other failure of its transaction (and bisect the batch; see [`gate_failed`]).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the test `{command}` failed on the merged result ({status}); the target was not moved")]
#[diagnostic(help(
    "fix the failing tasks (git parallel exec -- {}) and run finish again",
    command
))]
pub struct TestFailed {
    pub command: String,
    pub status: std::process::ExitStatus,
    /// Its last output lines.
    pub output: String,
}

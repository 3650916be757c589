//! A test run outside any operation: one probe of the bisection that finds which tasks break
//! `finish`'s test gate (src/commands/bisect.rs). It runs the gate's own code (the commit
//! checked out in the kept gate worktree, or in a temporary one removed after; the test there) under a journal of its one
//! step, so that a process killed meanwhile leaves a journal that `recover` settles like any
//! other. A probe changes nothing durable, so there is nothing to complete: its journal is
//! marked as rolling back from the start, and `recover` in either direction removes the
//! worktree. It is never written to the operation log (there is nothing to undo).

use super::steps::testgate::{self, TestGate};
use super::{ensure_no_pending, interrupt, lock, state_dir, Journal, Plan, StepState};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::Step;

/// Runs the test `command` on `commit` as the test gate does; whether it passed. `summary`
/// names the probe in the journal (and so in `status` and `recover` after a kill). Errors: the
/// test could not be run, another operation is pending, or a signal came (then
/// `Error::Interrupted`, the probe's worktree removed).
pub fn probe(
    repo: &Repo,
    slot: &lock::Slot,
    summary: &str,
    commit: gix::ObjectId,
    command: &str,
) -> Result<bool> {
    let dir = state_dir(repo);
    interrupt::install();
    slot.hold(&dir, summary)?;
    ensure_no_pending(repo)?;
    interrupted(summary)?;
    let gate = TestGate::new(repo, commit, command.to_string())?;
    let step = Step::TestGate(gate.clone());
    let plan = Plan {
        command: "finish".into(),
        summary: summary.to_string(),
        steps: vec![step.clone()],
        commit_point: None,
        meta: super::Meta::default(),
    };
    let mut journal = Journal::begin(plan);
    journal.rolling_back = true;
    journal.steps[0].state = StepState::Started;
    journal.save(&dir)?;
    let status = testgate::run_test(repo, &gate);
    // run_test removes its worktree; this also covers an error part-way through it.
    let removed = step.undo(repo, true, true);
    if removed.is_ok() {
        Journal::remove(&dir)?;
    }
    let status = status?;
    removed?;
    interrupted(summary)?;
    Ok(status.success())
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
    e.code() == crate::error::Code::TestGate
}

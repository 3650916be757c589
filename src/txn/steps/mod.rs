//! The steps a plan is made of: [`Step`], the list of step kinds as journals and the operation
//! log record them (a tagged JSON object per step), each kind a type of its own in this folder
//! implementing [`StepKind`] (how it applies, undoes, inverts, describes and prechecks itself).
//! Apply and undo are idempotent (a step found already in the wanted state is skipped), which
//! is what lets `recover` re-run a step a killed process may or may not have finished.
//!
//! `Step` only delegates. What the kinds share lives in [`shared`] and [`ready`], which know no
//! step kind.

pub mod keep;
pub mod pool;
pub mod push;
mod ready;
pub mod refs;
pub mod shared;
pub mod syncmain;
pub mod testgate;
pub mod worktree_steps;
pub mod write_file;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::git::{Location, Repo};

pub use keep::Keep;
pub use pool::Pool;
pub use push::Push;
pub use refs::Refs;
pub use shared::CopyFile;
pub use syncmain::SyncMain;
pub use testgate::TestGate;
pub use worktree_steps::{AddWorktree, RemoveWorktree};
pub use write_file::WriteFile;

/// One step of a plan. The serde tags and field names are the journal's and the log's format:
/// files written by earlier releases must still read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// Atomic compare-and-swap update of several refs.
    Refs(Refs),
    /// Bring the main worktree's index and files from one commit to another.
    SyncMain(SyncMain),
    /// Create a worktree for an existing branch, copy the include files, run the postStart hook.
    AddWorktree(AddWorktree),
    /// Remove a worktree.
    RemoveWorktree(RemoveWorktree),
    /// Replace a file's bytes in the main worktree (the task file with --no-commit).
    WriteFile(WriteFile),
    /// Run the test gate on a commit in a temporary worktree; changes nothing durable.
    TestGate(TestGate),
    /// Keep what a worktree removal would lose (ignored files, saved changes).
    Keep(Keep),
    /// Publish ref changes on a remote: one atomic push leased on every `old`.
    Push(Push),
    /// Park, take or trim a reused worktree.
    Pool(Pool),
}

/// What every step kind knows about itself.
pub trait StepKind {
    /// One line for plans, messages and `status`.
    fn describe(&self) -> String;

    /// The step that reverses this one, for `undo` of a completed operation (None: nothing to
    /// reverse).
    fn inverse(&self) -> Option<Step>;

    /// Applies the step. `proven`: the journal shows this step was started by a process that
    /// is dead (a re-run by `recover`), so a half-done effect of it may be finished: stale lock
    /// files cleared, leftovers of a half-made or half-removed worktree completed or deleted.
    fn apply(&self, repo: &Repo, proven: bool) -> Result<()> {
        self.apply_concurrent(&repo.loc, proven)
    }

    /// Applies a step that needs no gix (callable from any thread): see [`StepKind::concurrent`].
    fn apply_concurrent(&self, _loc: &Location, _proven: bool) -> Result<()> {
        Err(crate::fatal!(
            "step cannot run concurrently: {}",
            self.describe()
        ))
    }

    /// Whether the step gives others time to write in the task worktrees (a test gate runs for
    /// minutes, a push waits on the network, a postStart hook runs the user's commands): the
    /// worktree listings taken before it are stale after it (see src/txn/clean.rs).
    fn lets_time_pass(&self) -> bool {
        false
    }

    /// Whether it touches only its own worktree, so a run of such steps may go concurrently
    /// (through [`StepKind::apply_concurrent`]).
    fn concurrent(&self) -> bool {
        false
    }

    /// Checks, before anything changes, that a step after the commit point will not be
    /// refused: a worktree it removes holds no work. Such a step failing would leave the
    /// operation half-done. The problems found, one line each.
    fn precheck(&self, _repo: &Repo) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Undoes the step. `fresh`: rolling back in the same run that applied it. `proven`: it
    /// never completed (started by a process now dead, or its undo was under way). By default
    /// its inverse applied.
    fn undo(&self, repo: &Repo, fresh: bool, proven: bool) -> Result<()> {
        match self.inverse() {
            Some(inv) => inv.apply(repo, fresh || proven),
            None => Ok(()),
        }
    }
}

impl Step {
    /// The step's kind, which does the work.
    fn kind(&self) -> &dyn StepKind {
        match self {
            Step::Refs(s) => s,
            Step::SyncMain(s) => s,
            Step::AddWorktree(s) => s,
            Step::RemoveWorktree(s) => s,
            Step::WriteFile(s) => s,
            Step::TestGate(s) => s,
            Step::Keep(s) => s,
            Step::Push(s) => s,
            Step::Pool(s) => s,
        }
    }

    /// See [`StepKind::describe`].
    pub fn describe(&self) -> String {
        self.kind().describe()
    }

    /// See [`StepKind::inverse`].
    pub fn inverse(&self) -> Option<Step> {
        self.kind().inverse()
    }

    /// See [`StepKind::apply`].
    pub fn apply(&self, repo: &Repo, proven: bool) -> Result<()> {
        self.kind().apply(repo, proven)
    }

    /// See [`StepKind::lets_time_pass`].
    pub fn lets_time_pass(&self) -> bool {
        self.kind().lets_time_pass()
    }

    /// See [`StepKind::concurrent`].
    pub fn concurrent(&self) -> bool {
        self.kind().concurrent()
    }

    /// See [`StepKind::apply_concurrent`].
    pub fn apply_concurrent(&self, loc: &Location, proven: bool) -> Result<()> {
        self.kind().apply_concurrent(loc, proven)
    }

    /// See [`StepKind::precheck`].
    pub fn precheck(&self, repo: &Repo) -> Result<Vec<String>> {
        self.kind().precheck(repo)
    }

    /// See [`StepKind::undo`].
    pub fn undo(&self, repo: &Repo, fresh: bool, proven: bool) -> Result<()> {
        self.kind().undo(repo, fresh, proven)
    }
}

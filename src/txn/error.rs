//! What the transaction engine reports: one variant per way an operation can end badly, each
//! keeping the step error that caused it (`source`). Refused (exit 1) or fatal (128) is
//! decided in the conversion to the command-level error; `main` maps that to the exit code.

/// A failure of the transaction engine (execute, recover, undo).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Another git-parallel holds the journal and is alive.
    #[error("another git-parallel is running here (pid {pid}: {summary})")]
    #[diagnostic(help("wait for it to finish"))]
    Running { pid: u32, summary: String },

    /// A journal of a dead process waits for `recover`.
    #[error(
        "an interrupted operation is pending: '{summary}' stopped after {done} of {total} steps{}",
        if *committed { " (it had already taken effect)" } else { "" }
    )]
    #[diagnostic(help(
        "run 'git parallel recover --abort' to roll it back, or 'git parallel recover --continue' to complete it"
    ))]
    Pending {
        summary: String,
        done: usize,
        total: usize,
        committed: bool,
    },

    /// Up-front checks found refs or worktrees not as the plan expects; nothing changed.
    #[error("cannot {summary}:\n  {}", problems.join("\n  "))]
    #[diagnostic(help(
        "nothing was changed; something changed since (a new commit, a moved branch, work in a worktree): look at it and decide"
    ))]
    Stale {
        summary: String,
        problems: Vec<String>,
    },

    /// A step failed before the commit point; everything was rolled back.
    #[error("{command} failed at step {} ({step}): {source}", index + 1)]
    #[diagnostic(help("nothing was changed; fix the cause and run the command again"))]
    RolledBack {
        command: String,
        index: usize,
        step: String,
        source: crate::error::Error,
    },

    /// A signal stopped the operation before its commit point; it was rolled back.
    #[error("interrupted by {signal_name}: '{summary}' was rolled back; nothing was changed")]
    Interrupted {
        signal: i32,
        signal_name: &'static str,
        summary: String,
    },

    /// A step after the commit point failed: the operation took effect, its cleanup did not.
    #[error("'{summary}' took effect, but step {} ({step}) failed: {source}", index + 1)]
    #[diagnostic(help(
        "fix the cause, then run 'git parallel recover --continue' to finish the cleanup (or 'git parallel recover --abort' to put everything back)"
    ))]
    AfterCommit {
        summary: String,
        index: usize,
        step: String,
        source: crate::error::Error,
    },

    /// A step failed and so did the rollback: the journal is kept for `recover --abort`.
    #[error(
        "{command} failed at step {} ({step}): {source}\nand rolling back failed at step {} ({undo_step}): {undo_error}",
        index + 1,
        undo_index + 1
    )]
    #[diagnostic(help(
        "fix the cause of the rollback failure, then run 'git parallel recover --abort'"
    ))]
    RollbackFailed {
        command: String,
        index: usize,
        step: String,
        source: Box<crate::error::Error>,
        undo_index: usize,
        undo_step: String,
        undo_error: Box<crate::error::Error>,
    },

    /// After a rollback or completion, the repository is not as the journal says it should be.
    #[error(
        "{} '{summary}' did not reach the expected state:\n  {}",
        if *applied { "completing" } else { "rolling back" },
        problems.join("\n  ")
    )]
    #[diagnostic(help(
        "the journal is kept: fix the cause and run 'git parallel recover {}' again",
        if *applied { "--continue" } else { "--abort" }
    ))]
    NotReached {
        summary: String,
        applied: bool,
        problems: Vec<String>,
    },

    #[error("there is no interrupted operation to recover")]
    NothingToRecover,

    /// `recover` while the journal's process is still alive.
    #[error("the operation '{summary}' is still running (pid {pid})")]
    #[diagnostic(help("wait for it to finish"))]
    StillRunning { summary: String, pid: u32 },

    /// `recover --continue`: a step failed again.
    #[error("step {} ({step}) failed again: {source}", index + 1)]
    #[diagnostic(help(
        "fix the cause and run 'git parallel recover --continue' again, or roll back with 'git parallel recover --abort'"
    ))]
    ContinueFailed {
        index: usize,
        step: String,
        source: crate::error::Error,
    },

    /// `recover --abort`: undoing a step failed.
    #[error("undoing step {} ({step}) failed: {source}", index + 1)]
    #[diagnostic(help("fix the cause and run 'git parallel recover --abort' again"))]
    AbortFailed {
        index: usize,
        step: String,
        source: crate::error::Error,
    },

    #[error("there is no operation to undo")]
    NothingToUndo,

    /// The undo would remove worktrees holding work made since.
    #[error("cannot undo {summary}:\n  {}", problems.join("\n  "))]
    #[diagnostic(help("nothing was changed; commit or remove that work first if it should go"))]
    UndoBlocked {
        summary: String,
        problems: Vec<String>,
    },

    #[error(transparent)]
    Git(#[from] crate::git::Error),

    /// An error of a step, the lock, the journal or the log, as they report it.
    #[error(transparent)]
    Step(#[from] crate::error::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

use crate::error::Code;

impl Error {
    /// Whether the repository is left broken (exit 128) rather than the operation refused (1).
    fn fatal(&self) -> bool {
        matches!(
            self,
            // AfterCommit: the operation took effect, so it is never "refused, nothing
            // changed" (repro round2 01).
            Error::RollbackFailed { .. } | Error::NotReached { .. } | Error::AfterCommit { .. }
        )
    }
}

impl Error {
    /// What kind of failure this is, for a program (a rolled-back step keeps its cause's).
    fn code(&self) -> Code {
        match self {
            Error::Running { .. } | Error::StillRunning { .. } => Code::Busy,
            Error::Pending { .. } => Code::Pending,
            Error::AfterCommit { .. } => Code::Cleanup,
            Error::Stale { .. } => Code::Stale,
            Error::RolledBack { source, .. } => match source.code() {
                Code::Refused | Code::Fatal => Code::Refused,
                c => c,
            },
            e if e.fatal() => Code::Fatal,
            _ => Code::Refused,
        }
    }
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Git(e) => e.into(),
            Error::Step(e) => e,
            Error::Interrupted { signal, .. } => crate::error::Error::Interrupted {
                signal,
                report: miette::Report::new(e),
            },
            e => {
                let code = e.code();
                let fatal = e.fatal();
                let report = miette::Report::new(e);
                let e = if fatal {
                    crate::error::Error::Fatal(report)
                } else {
                    crate::error::Error::Refused(report)
                };
                match code {
                    Code::Refused | Code::Fatal => e,
                    c => e.with_code(c),
                }
            }
        }
    }
}

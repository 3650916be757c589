//! What can go wrong in the repository layer: one variant per kind of failure, each keeping the
//! error it came from (`source`). The text says it the way git does, cause inline
//! ("cannot read HEAD: …"); whether a failure is refused (exit 1) or fatal (128) is decided by
//! [`Error::refused`], and `main` alone turns that into an exit code.

use std::path::PathBuf;

/// Any error from gix or the standard library, kept as the source of a [`Error`].
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the repository layer (gix reads and ref edits, the git CLI).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("not a git repository (or any of the parent directories): .git")]
    NotARepository(#[source] Source),

    /// The bare repository has no main worktree to work in.
    #[error("this operation must be run in a work tree (the repository {common_dir} is bare)")]
    #[diagnostic(help(
        "git parallel needs the repository's main worktree; clone it and run there: git clone {common_dir} <dir>"
    ))]
    Bare { common_dir: String },

    #[error("cannot find the git executable: {0}")]
    #[diagnostic(help("install git and put it on PATH"))]
    NoGit(#[source] which::Error),

    #[error("git executable path is not UTF-8: {}", .0.display())]
    GitPathNotUtf8(PathBuf),

    #[error("path is not valid UTF-8: {}", .0.display())]
    PathNotUtf8(PathBuf),

    #[error("bad object id {text:?}: {source}")]
    BadObjectId { text: String, source: Source },

    #[error("bad numeric config value '{value}' for '{key}'")]
    #[diagnostic(help("fix it with: git config {key} <number>"))]
    BadNumber { key: String, value: String },

    /// A gix operation failed; `what` says which ("cannot read HEAD").
    #[error("{what}: {source}")]
    Gix { what: String, source: Source },

    /// File-system access outside gix; `what` says which.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    /// A ref transaction found a ref not at the value it expected (or could not lock it).
    #[error("cannot update {names}: {chain}")]
    #[diagnostic(help(
        "another process changed these refs meanwhile; look at them and run the command again"
    ))]
    RefsChanged {
        names: String,
        /// The source's message with each of its causes (`a: b: c`).
        chain: String,
        source: Source,
    },

    /// The repository's `reference-transaction` hook refused a ref transaction.
    #[error("the repository's reference-transaction hook refused to update {names}")]
    #[diagnostic(help(
        "nothing was changed by it; see the hook's message above (or core.hooksPath's reference-transaction)"
    ))]
    HookRefused { names: String },

    #[error("invalid ref name {name}: {source}")]
    BadRefName { name: String, source: Source },

    /// git has no user.name / user.email to commit with.
    #[error("git needs your name and email to commit the task file change; nothing was changed")]
    #[diagnostic(help(
        "tell git who you are, then run the command again:\n  git config --global user.name \"Your Name\"\n  git config --global user.email you@example.com"
    ))]
    NoIdentity,

    /// A git child could not be started or talked to; `what` says which.
    #[error("{what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },

    /// A git child exited non-zero.
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },

    #[error("git commit-tree failed: {0}")]
    CommitTree(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a gix error with what was being done.
    pub fn gix(what: impl Into<String>, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Gix {
            what: what.into(),
            source: Box::new(e),
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>, e: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source: e,
        }
    }

    /// The operation was refused (exit 1: someone else moved a ref, no identity), not broken.
    pub fn refused(&self) -> bool {
        matches!(
            self,
            Error::RefsChanged { .. } | Error::NoIdentity | Error::HookRefused { .. }
        )
    }
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        let refused = e.refused();
        let stale = matches!(e, Error::RefsChanged { .. });
        let report = miette::Report::new(e);
        let e = if refused {
            crate::error::Error::Refused(report)
        } else {
            crate::error::Error::Fatal(report)
        };
        if stale {
            e.with_code(crate::error::Code::Stale)
        } else {
            e
        }
    }
}

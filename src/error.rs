//! The command-level error type: what went wrong and how to report it (`error:` / `fatal:` /
//! `hint:` lines). Which exit code each variant means (git's conventions: 1 refused or
//! conflicts, 128 fatal, 129 usage) is decided in `main` alone. A leaf module: it names no
//! other module of the crate.

use std::fmt;

/// A failure of a command, classified by how git would exit on it. The layers below return
/// their own error types (`git::Error`, `txn::Error`) that keep their source and convert into
/// this one; commands add hints; `main` alone maps a variant to an exit code.
pub enum Error {
    /// Bad command line: exit 129, short usage of the named command on stderr.
    Usage {
        message: String,
        /// The command whose usage to show (None: the general usage).
        command: Option<&'static str>,
    },
    /// The operation was refused or hit conflicts: exit 1.
    Refused(miette::Report),
    /// Cannot go on at all (not a repository, I/O failure, corrupt state): exit 128.
    Fatal(miette::Report),
    /// A signal stopped the command and what it had done was rolled back: exit 128 + signal.
    Interrupted { signal: i32, report: miette::Report },
    /// The command's report, already printed, says that it failed (a command `exec` ran exited
    /// non-zero, `validate --json` found errors): exit 1, nothing more to print.
    Failed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, for a program: `run` decides with it what to do next,
/// and `--json` writes it (as the stable kebab-case string) in the error document on stderr.
/// Never decided by matching the message's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// Bad command line (exit 129).
    Usage,
    /// Refused for a reason without a code of its own (exit 1).
    Refused,
    /// Cannot go on, for a reason without a code of its own (exit 128).
    Fatal,
    /// Stopped by a signal; rolled back.
    Interrupted,
    /// The report already printed says the command failed.
    Failed,
    /// Another git-parallel holds the repository lock: try again when it is done.
    Busy,
    /// An interrupted operation waits for `git parallel recover`.
    Pending,
    /// Refs or worktrees moved since the plan was made; nothing changed.
    Stale,
    /// The main worktree has changes in the way.
    MainDirty,
    /// The target branch is not checked out in the main worktree.
    TargetNotCheckedOut,
    /// A task's worktree has uncommitted or untracked changes, or is locked.
    TaskDirty,
    /// A task changed files outside its produces/shared_files paths.
    OutsidePaths,
    /// A task's merge conflicts.
    Conflicts,
    /// The test gate fails with the tasks merged.
    TestGate,
    /// The test gate fails on the target itself.
    TargetFailsTest,
    /// A push to the remote lost a race with another clone.
    RemoteRace,
    /// The operation took effect, but its cleanup did not finish (`recover --continue`).
    Cleanup,
    /// The task is not in the status the command needs (e.g. completed already).
    WrongStatus,
    /// `work --attempt N`: the task's lease on the remote names another attempt (or none, or
    /// N is done already); nothing was run or published.
    StaleAttempt,
    /// `work`: a newer attempt took the task's lease over while the agent ran; the agent was
    /// stopped and nothing was published.
    LeaseLost,
    /// `finish` from `run --executor ssh|command`: a task branch on the remote is not at the
    /// tip its attempt's outcome published (something pushed to it since); nothing changed.
    TipMoved,
}

impl Code {
    /// The stable name (as in the `--json` error document).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Usage => "usage",
            Code::Refused => "refused",
            Code::Fatal => "fatal",
            Code::Interrupted => "interrupted",
            Code::Failed => "failed",
            Code::Busy => "busy",
            Code::Pending => "pending",
            Code::Stale => "stale",
            Code::MainDirty => "main-dirty",
            Code::TargetNotCheckedOut => "target-not-checked-out",
            Code::TaskDirty => "task-dirty",
            Code::OutsidePaths => "outside-paths",
            Code::Conflicts => "conflicts",
            Code::TestGate => "test-gate",
            Code::TargetFailsTest => "target-fails-test",
            Code::RemoteRace => "remote-race",
            Code::Cleanup => "cleanup",
            Code::WrongStatus => "wrong-status",
            Code::StaleAttempt => "stale-attempt",
            Code::LeaseLost => "lease-lost",
            Code::TipMoved => "tip-moved",
        }
    }
}

/// A report with a [`Code`]: renders exactly as the report it wraps.
#[derive(Debug)]
pub struct Coded {
    pub code: Code,
    pub report: miette::Report,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.report, f)
    }
}

impl std::error::Error for Coded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.report.source()
    }
}

impl miette::Diagnostic for Coded {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.report.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.report.labels()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.report.source_code()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.report.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn miette::Diagnostic> {
        self.report.diagnostic_source()
    }
}

impl Error {
    /// What kind of failure this is (see [`Code`]).
    pub fn code(&self) -> Code {
        match self {
            Error::Usage { .. } => Code::Usage,
            Error::Failed => Code::Failed,
            Error::Interrupted { .. } => Code::Interrupted,
            Error::Refused(r) => r.downcast_ref::<Coded>().map_or(Code::Refused, |c| c.code),
            Error::Fatal(r) => r.downcast_ref::<Coded>().map_or(Code::Fatal, |c| c.code),
        }
    }

    /// The same error with `code` (a usage error, a report already printed or an interruption
    /// keep theirs).
    pub fn with_code(self, code: Code) -> Error {
        let wrap = |report: miette::Report| match report.downcast::<Coded>() {
            Ok(c) => miette::Report::new(Coded {
                code,
                report: c.report,
            }),
            Err(report) => miette::Report::new(Coded { code, report }),
        };
        match self {
            Error::Refused(r) => Error::Refused(wrap(r)),
            Error::Fatal(r) => Error::Fatal(wrap(r)),
            other => other,
        }
    }

    pub fn usage(message: impl Into<String>, command: Option<&'static str>) -> Error {
        Error::Usage {
            message: message.into(),
            command,
        }
    }

    /// The report behind a refusal, a fatal error or an interruption (None for usage errors).
    pub fn report(&self) -> Option<&miette::Report> {
        match self {
            Error::Refused(r) | Error::Fatal(r) | Error::Interrupted { report: r, .. } => Some(r),
            Error::Usage { .. } | Error::Failed => None,
        }
    }
}

/// The message alone (no `error:` prefix, no hints): for embedding in another message.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message, .. } => f.write_str(message),
            Error::Failed => f.write_str("the report says the command failed"),
            Error::Refused(r) | Error::Fatal(r) | Error::Interrupted { report: r, .. } => {
                write!(f, "{r}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.report().and_then(|r| r.source())
    }
}

/// `refused!("...")` / `refused!(help = "...", "...")`: an exit-1 error. A literal help is a
/// format string like the message (`help = "commit {rel} first"` names the variable's value;
/// miette alone would print `{rel}` as is). `refused!(code = Code::X, …)` gives it a
/// [`Code`].
#[macro_export]
macro_rules! refused {
    (code = $code:expr, $($rest:tt)*) => { $crate::refused!($($rest)*).with_code($code) };
    (help = $help:literal, $($arg:tt)*) => {
        $crate::error::Error::Refused(miette::miette!(help = format!($help), $($arg)*))
    };
    ($($arg:tt)*) => { $crate::error::Error::Refused(miette::miette!($($arg)*)) };
}

/// `fatal!("...")`: an exit-128 error (help as in `refused!`).
#[macro_export]
macro_rules! fatal {
    (code = $code:expr, $($rest:tt)*) => { $crate::fatal!($($rest)*).with_code($code) };
    (help = $help:literal, $($arg:tt)*) => {
        $crate::error::Error::Fatal(miette::miette!(help = format!($help), $($arg)*))
    };
    ($($arg:tt)*) => { $crate::error::Error::Fatal(miette::miette!($($arg)*)) };
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message, .. } => write!(f, "usage error: {message}"),
            Error::Failed => write!(f, "failed (reported)"),
            Error::Refused(r) => write!(f, "refused: {r:?}"),
            Error::Fatal(r) => write!(f, "fatal: {r:?}"),
            Error::Interrupted { signal, report } => write!(f, "signal {signal}: {report:?}"),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Fatal(miette::miette!("{e}"))
    }
}

/// Writes a report the way git does (`error: …` / `fatal: …`, then `hint: …` lines), or with
/// miette's graphical renderer when the report points into source text (YAML diagnostics).
pub fn render(prefix: &str, report: &miette::Report, color: bool) -> String {
    let has_snippet = report.labels().is_some_and(|mut l| l.next().is_some());
    if has_snippet {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
        let mut out = String::new();
        if handler.render_report(&mut out, report.as_ref()).is_ok() {
            return format!("{prefix}: {report}\n{out}");
        }
    }
    // Like git, the cause is part of the message ("cannot read HEAD: …"): the layers below
    // write their source into their text, so the source chain is not repeated here.
    let mut out = format!("{prefix}: {report}\n");
    if let Some(help) = report.help() {
        for line in help.to_string().lines() {
            out.push_str(&format!("hint: {line}\n"));
        }
    }
    out
}

/// Renders any error as `render` does, for warnings about errors that do not stop the command.
pub fn render_error(prefix: &str, e: &Error, color: bool) -> String {
    match e.report() {
        Some(r) => render(prefix, r, color),
        None => format!("{prefix}: {e}\n"),
    }
}

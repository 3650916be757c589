//! The one error type: what went wrong, how to report it, and which exit code it maps to
//! (git's conventions: 1 refused or conflicts, 128 fatal, 129 usage).

use std::fmt;

/// A failure of a command, classified by how git would exit on it.
pub enum Error {
    /// Bad command line: exit 129, short usage of `command` on stderr.
    Usage {
        message: String,
        command: Option<&'static crate::cli::Command>,
    },
    /// The operation was refused or hit conflicts: exit 1.
    Refused(miette::Report),
    /// Cannot go on at all (not a repository, I/O failure, corrupt state): exit 128.
    Fatal(miette::Report),
    /// Everything worth saying was already printed; exit with this code.
    Exit(i32),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage { .. } => 129,
            Error::Refused(_) => 1,
            Error::Fatal(_) => 128,
            Error::Exit(code) => *code,
        }
    }

    pub fn usage(
        message: impl Into<String>,
        command: Option<&'static crate::cli::Command>,
    ) -> Error {
        Error::Usage {
            message: message.into(),
            command,
        }
    }
}

/// `refused!("...")` / `refused!(help = "...", "...")`: an exit-1 error. A literal help is a
/// format string like the message (`help = "commit {rel} first"` names the variable's value;
/// miette alone would print `{rel}` as is).
#[macro_export]
macro_rules! refused {
    (help = $help:literal, $($arg:tt)*) => {
        $crate::error::Error::Refused(miette::miette!(help = format!($help), $($arg)*))
    };
    ($($arg:tt)*) => { $crate::error::Error::Refused(miette::miette!($($arg)*)) };
}

/// `fatal!("...")`: an exit-128 error (help as in `refused!`).
#[macro_export]
macro_rules! fatal {
    (help = $help:literal, $($arg:tt)*) => {
        $crate::error::Error::Fatal(miette::miette!(help = format!($help), $($arg)*))
    };
    ($($arg:tt)*) => { $crate::error::Error::Fatal(miette::miette!($($arg)*)) };
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message, .. } => write!(f, "usage error: {message}"),
            Error::Refused(r) => write!(f, "refused: {r:?}"),
            Error::Fatal(r) => write!(f, "fatal: {r:?}"),
            Error::Exit(c) => write!(f, "exit {c}"),
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
    let mut out = format!("{prefix}: {report}\n");
    let mut source = std::error::Error::source(report.as_ref() as &dyn std::error::Error);
    while let Some(cause) = source {
        out.push_str(&format!("  caused by: {cause}\n"));
        source = cause.source();
    }
    if let Some(help) = report.help() {
        for line in help.to_string().lines() {
            out.push_str(&format!("hint: {line}\n"));
        }
    }
    out
}

/// Renders any error as `render` does, for warnings about errors that do not stop the command.
pub fn render_error(prefix: &str, e: &Error, color: bool) -> String {
    match e {
        Error::Refused(r) | Error::Fatal(r) => render(prefix, r, color),
        Error::Usage { message, .. } => format!("{prefix}: {message}\n"),
        Error::Exit(_) => String::new(),
    }
}

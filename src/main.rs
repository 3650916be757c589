//! git-parallel: run a task graph's parallel work in git worktrees.
//!
//! parse → dispatch → report; the exit code follows git (0 ok, 1 refused or conflicts,
//! 128 fatal, 129 usage).
//!
//! The layers, each importing only the ones below it:
//! - `commands/`: one module per command (its arguments, `prepare`, the call to the driver);
//! - `workflow/`: what several commands share — the context and session a command runs in, the
//!   driver, merging, bisection, the worktree pool, backups, remote publish/sync, the radar;
//! - `txn/`: the transaction engine (journal, lock, roll back / forward, recover, op log);
//! - leaves: `taskgraph/` (the task file), `git/` (the repository facade), `cli/` (the table of
//!   commands and flags), and `error`, `output`, `progress`, `time`, `parallel_map`.

// Every print goes through `output`, which never panics on a write error (see src/output.rs);
// these shadow the std macros in every module below.
macro_rules! println { ($($t:tt)*) => { $crate::out_println!($($t)*) }; }
macro_rules! print { ($($t:tt)*) => { $crate::out_print!($($t)*) }; }
macro_rules! eprintln { ($($t:tt)*) => { $crate::out_eprintln!($($t)*) }; }
macro_rules! eprint { ($($t:tt)*) => { $crate::out_eprint!($($t)*) }; }

#[macro_use]
mod output;
mod atomic;
mod cli;
mod commands;
mod error;
mod git;
mod parallel_map;
mod progress;
mod sandbox;
mod taskgraph;
mod time;
mod txn;
mod workflow;

use std::io::Write;

use cli::Parsed;
use error::Error;

fn main() {
    // Like git: a closed pipe (`git parallel status | head`) ends the process quietly instead
    // of making every print fail.
    #[cfg(unix)]
    // SAFETY: setting a signal disposition to its default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The watchdog `run` starts (src/commands/run/watchdog.rs) is this binary too.
    if let Some(grace) = std::env::var_os(workflow::attempt::watchdog::ENV) {
        std::process::exit(workflow::attempt::watchdog::serve(&grace));
    }
    let mut json_command = None;
    let code = match real_main(&mut json_command) {
        Ok(()) => 0,
        Err(e) => report(e, json_command),
    };
    // A report that could not be written: fatal (128) like git. (A transaction that took
    // effect has already said so: see report::emit_applied.)
    let code = match output::finish() {
        Ok(()) => code,
        Err(e) => report(fatal!("cannot write to standard output: {e}"), None),
    };
    std::process::exit(code);
}

/// Parses and runs the command; `json_command` is set to the command's name when `--json` was
/// given (its error then also gets a document).
fn real_main(json_command: &mut Option<&'static str>) -> error::Result<()> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = cli::parse(argv)?;
    let args = match parsed {
        Parsed::Version => {
            println!("git-parallel version {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Parsed::ShortHelp(cmd) => {
            print!("{}", cli::doc::short_usage(cmd));
            return Ok(());
        }
        Parsed::LongHelp(cmd) => return commands::help::open_manual(cmd),
        Parsed::Run(args) => args,
    };
    if args.on(&cli::defs::JSON) {
        *json_command = Some(args.command.name);
    }
    let when = args.color();
    // Flag and NO_COLOR for now; Context::open adds the repository's color.* config.
    output::set_color(when, &[]);
    if let Some(dir) = args.value(&cli::defs::CHDIR) {
        std::env::set_current_dir(dir).map_err(|e| fatal!("cannot change to '{dir}': {e}"))?;
    }
    commands::run(args)
}

/// The exit code of an error, the way git exits: the one place that decides it.
fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Usage { .. } => 129,
        Error::Refused(_) | Error::Failed => 1,
        Error::Fatal(_) => 128,
        Error::Interrupted { signal, .. } => 128 + signal,
    }
}

/// Writes `e` to stderr the way git does and returns its exit code. With `--json` (the
/// command named), the error document follows as the last line: docs/json.md, "Errors".
fn report(e: Error, json_command: Option<&str>) -> i32 {
    let code = exit_code(&e);
    // A report already printed (exec, validate) is the document of the failure.
    let doc = json_command
        .filter(|_| !matches!(e, Error::Failed))
        .map(|command| error_document(&e, command, code));
    let (_, color) = output::color();
    let mut err = std::io::stderr().lock();
    match e {
        Error::Usage { message, command } => {
            let _ = writeln!(err, "error: {message}");
            let command = command.and_then(cli::defs::find);
            let _ = write!(err, "{}", cli::doc::short_usage(command));
        }
        Error::Refused(r) | Error::Interrupted { report: r, .. } => {
            let _ = write!(err, "{}", error::render("error", &r, color));
        }
        Error::Fatal(r) => {
            let _ = write!(err, "{}", error::render("fatal", &r, color));
        }
        // The report already printed says what failed.
        Error::Failed => {}
    }
    if let Some(doc) = doc {
        let _ = writeln!(err, "{doc}");
    }
    code
}

/// `{"version":1,"command":…,"error":{"code":…,"exit":…,"message":…,"hint":…}}` on one line.
fn error_document(e: &Error, command: &str, exit: i32) -> String {
    let hint = e.report().and_then(|r| r.help()).map(|h| h.to_string());
    let message = e.to_string();
    serde_json::json!({
        "version": 1,
        "command": command,
        "error": {
            "code": e.code().as_str(),
            "exit": exit,
            "message": message,
            "hint": hint,
        }
    })
    .to_string()
}

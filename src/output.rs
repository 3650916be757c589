//! Standard output that never panics. Every print of the commands goes through [`write`]
//! (`println!`/`print!` are shadowed crate-wide in main.rs to call [`print`], which keeps the
//! first write error instead of panicking, as git keeps `ferror(stdout)`). At the end [`finish`]
//! flushes and returns that error, so `main` can exit 128 — saying the operation DID take effect
//! when a transaction had applied (see [`took_effect`]) — instead of exiting 0 or 101.
//!
//! A closed pipe still ends the process quietly through SIGPIPE (`git parallel status | head`).
//! A stdout closed before the start (`>&-`) is /dev/null by then (Rust's runtime, like git's
//! sanitize_stdfds, puts /dev/null on closed descriptors 0-2), so such output is discarded.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

/// The first error writing to stdout.
static FAILED: Mutex<Option<io::Error>> = Mutex::new(None);
/// The summary of the transaction that took effect in this run, if one did.
static APPLIED: Mutex<Option<String>> = Mutex::new(None);

/// Writes to stdout, returning any error.
pub fn write(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
}

/// Writes to stdout; a failure is kept for [`finish`] (the first one wins).
pub fn print(args: fmt::Arguments<'_>) {
    if let Err(e) = write(args) {
        record(e);
    }
}

/// Writes a string to stdout and flushes it; a failure is kept for [`finish`].
pub fn print_str(s: &str) {
    if let Err(e) = write(format_args!("{s}")).and_then(|()| io::stdout().lock().flush()) {
        record(e);
    }
}

/// Keeps a write error on stdout for [`finish`].
pub fn record(e: io::Error) {
    if let Ok(mut f) = FAILED.lock() {
        f.get_or_insert(e);
    }
}

/// Writes to stderr; errors there have nowhere to be reported and are ignored.
pub fn eprint(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Records that the transaction `summary` took effect (its journal is settled).
pub fn took_effect(summary: &str) {
    if let Ok(mut a) = APPLIED.lock() {
        *a = Some(summary.to_string());
    }
}

/// The transaction that took effect in this run, if any.
pub fn applied() -> Option<String> {
    APPLIED.lock().ok().and_then(|a| a.clone())
}

/// Flushes stdout; the first error of the run, if any.
pub fn finish() -> io::Result<()> {
    let flushed = io::stdout().lock().flush();
    let kept = FAILED.lock().ok().and_then(|mut f| f.take());
    match kept {
        Some(e) => Err(e),
        None => flushed,
    }
}

/// `println!` that never panics: see the module doc.
#[macro_export]
macro_rules! out_println {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics.
#[macro_export]
macro_rules! out_print {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics (stderr errors are ignored).
#[macro_export]
macro_rules! out_eprintln {
    () => { $crate::output::eprint(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::eprint(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics.
#[macro_export]
macro_rules! out_eprint {
    ($($arg:tt)*) => { $crate::output::eprint(format_args!($($arg)*)) };
}

//! Standard output that never panics. Every print of the commands goes through [`write`]
//! (`println!`/`print!` are shadowed crate-wide in main.rs to call [`print`], which keeps the
//! first write error instead of panicking, as git keeps `ferror(stdout)`). [`finish`] flushes
//! and returns that error, so the driver can exit 128 saying the operation DID take effect when
//! a transaction had applied (and `main` exits 128 otherwise) instead of exiting 0 or 101.
//!
//! A closed pipe still ends the process quietly through SIGPIPE (`git parallel status | head`).
//! A stdout closed before the start (`>&-`) is /dev/null by then (Rust's runtime, like git's
//! sanitize_stdfds, puts /dev/null on closed descriptors 0-2), so such output is discarded.
//!
//! It also owns the one colour decision ([`decide_color`], kept by [`set_color`]), made like
//! git's: `--color=WHEN`, else NO_COLOR, else `color.parallel`, else `color.ui`, else auto
//! (colour only on a terminal, never with TERM=dumb).

use std::fmt;
use std::io::IsTerminal;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

/// The first error writing to stdout.
static FAILED: Mutex<Option<io::Error>> = Mutex::new(None);

/// When to colour, as git spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorWhen {
    Always,
    Never,
    Auto,
}

/// Reads a `--color` value: `always`, `never` or `auto` (git also accepts these spellings).
pub fn parse_color_flag(v: &str) -> Option<ColorWhen> {
    match v.to_ascii_lowercase().as_str() {
        "always" | "true" | "yes" | "on" => Some(ColorWhen::Always),
        "never" | "false" | "no" | "off" | "none" => Some(ColorWhen::Never),
        "auto" | "tty" | "if-tty" => Some(ColorWhen::Auto),
        _ => None,
    }
}

/// Reads a `color.ui` / `color.parallel` value like git's `git_config_colorbool`: `always`,
/// `never`, `auto`, or a boolean where true means auto. An unreadable value counts as unset.
pub fn parse_color_config(v: &str) -> Option<ColorWhen> {
    match v.trim().to_ascii_lowercase().as_str() {
        "always" => Some(ColorWhen::Always),
        "never" | "false" | "no" | "off" | "0" => Some(ColorWhen::Never),
        // `[color] ui` with no value is true.
        "auto" | "true" | "yes" | "on" | "1" | "" => Some(ColorWhen::Auto),
        _ => None,
    }
}

/// The colour decision: the flag (already read), else NO_COLOR (set and not empty: never),
/// else the first readable of the config values (`color.parallel`, then `color.ui`), else auto.
pub fn decide_color(
    flag: Option<ColorWhen>,
    no_color: bool,
    config: &[Option<String>],
) -> ColorWhen {
    if let Some(w) = flag {
        return w;
    }
    if no_color {
        return ColorWhen::Never;
    }
    config
        .iter()
        .flatten()
        .find_map(|v| parse_color_config(v))
        .unwrap_or(ColorWhen::Auto)
}

/// Whether a stream gets colour under `when` (auto: a terminal, and TERM is not `dumb`).
pub fn color_on(when: ColorWhen, is_terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => is_terminal && std::env::var("TERM").map_or(true, |t| t != "dumb"),
    }
}

/// Whether NO_COLOR is set and not empty.
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Colour on stdout (bit 0) and stderr (bit 1); bit 2: decided.
static COLOR: AtomicU8 = AtomicU8::new(0);

/// Decides colour for this run from the `--color` value, NO_COLOR and the given config values
/// (`color.parallel`, `color.ui`; none without a repository) and keeps it for [`color`].
pub fn set_color(flag: Option<ColorWhen>, config: &[Option<String>]) {
    let when = decide_color(flag, no_color_env(), config);
    let out = color_on(when, io::stdout().is_terminal());
    let err = color_on(when, io::stderr().is_terminal());
    COLOR.store(4 | u8::from(out) | (u8::from(err) << 1), Ordering::Relaxed);
}

/// Whether to colour stdout and stderr: the last [`set_color`], else flag-less defaults.
pub fn color() -> (bool, bool) {
    let mut c = COLOR.load(Ordering::Relaxed);
    if c & 4 == 0 {
        set_color(None, &[]);
        c = COLOR.load(Ordering::Relaxed);
    }
    (c & 1 != 0, c & 2 != 0)
}

/// Whether `-q` was given: nothing on success but warnings the user must act on.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Keeps `-q` for code that has no [`crate::workflow::context::Output`] at hand (the transaction steps).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Writes `note: …` on stderr: information the user need not act on, so nothing with `-q`.
pub fn note(args: fmt::Arguments<'_>) {
    if !quiet() {
        eprint(format_args!("note: {args}\n"));
    }
}

/// Writes `warning: …` on stderr: a problem let through (nothing with `-q`).
pub fn warning(args: fmt::Arguments<'_>) {
    if !quiet() {
        eprint(format_args!("warning: {args}\n"));
    }
}

/// Announces a test gate's run on stderr (nothing with `-q`).
pub fn testing(commit: &str, command: &str, dir: &str) {
    if !quiet() {
        eprint(format_args!("testing {commit} with `{command}` in {dir}\n"));
    }
}

/// Shows the output a quiet test gate kept back, once the test has failed.
pub fn failed_test_output(stdout: &[u8], stderr: &[u8]) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(stdout);
    let _ = err.write_all(stderr);
}

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

/// Held while one whole streamed line is written, to stdout or stderr, so lines never mix.
static LINE: Mutex<()> = Mutex::new(());

/// Writes one whole line of streamed output (`git parallel exec`) on stdout and flushes it; a
/// failure is kept for [`finish`] and returned, but must not stop the caller draining its source.
pub fn stream_out(line: &[u8]) -> io::Result<()> {
    let _guard = LINE.lock();
    let mut o = io::stdout().lock();
    let r = o.write_all(line).and_then(|()| o.flush());
    if let Err(e) = &r {
        record(io::Error::new(e.kind(), e.to_string()));
    }
    r
}

/// Writes one whole line of streamed output on stderr and flushes it (errors are ignored).
pub fn stream_err(line: &[u8]) {
    let _guard = LINE.lock();
    let mut e = io::stderr().lock();
    let _ = e.write_all(line).and_then(|()| e.flush());
}

/// Writes `warning: …` on stderr also with `-q`: something the user must look at.
pub fn warning_always(args: fmt::Arguments<'_>) {
    eprint(format_args!("warning: {args}\n"));
}

/// Writes one line of text on stdout and flushes it, so it comes before the output of a
/// program run next with the same stdout (`git parallel demo`'s narration); a failure is kept
/// for [`finish`].
pub fn print_line(args: fmt::Arguments<'_>) {
    print_str(&format!("{args}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|o| o.map(str::to_string)).collect()
    }

    #[test]
    fn flag_beats_no_color_and_config() {
        let c = cfg(&[Some("never"), None]);
        assert_eq!(
            decide_color(Some(ColorWhen::Always), true, &c),
            ColorWhen::Always
        );
        let c = cfg(&[None, Some("always")]);
        assert_eq!(
            decide_color(Some(ColorWhen::Never), false, &c),
            ColorWhen::Never
        );
    }

    #[test]
    fn no_color_beats_config() {
        let c = cfg(&[Some("always"), None]);
        assert_eq!(decide_color(None, true, &c), ColorWhen::Never);
    }

    #[test]
    fn color_parallel_before_color_ui() {
        let c = cfg(&[Some("false"), Some("always")]);
        assert_eq!(decide_color(None, false, &c), ColorWhen::Never);
        let c = cfg(&[None, Some("always")]);
        assert_eq!(decide_color(None, false, &c), ColorWhen::Always);
        // An unreadable value is skipped, like an unset one.
        let c = cfg(&[Some("purple"), Some("never")]);
        assert_eq!(decide_color(None, false, &c), ColorWhen::Never);
        assert_eq!(decide_color(None, false, &[]), ColorWhen::Auto);
    }

    #[test]
    fn config_true_means_auto_like_git() {
        assert_eq!(parse_color_config("true"), Some(ColorWhen::Auto));
        assert_eq!(parse_color_config("Always"), Some(ColorWhen::Always));
        assert_eq!(parse_color_config("never"), Some(ColorWhen::Never));
        assert_eq!(parse_color_flag("bogus"), None);
        assert!(!color_on(ColorWhen::Auto, false));
        assert!(color_on(ColorWhen::Always, false));
    }
}

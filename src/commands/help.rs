//! `--help`: open the git-parallel(1) manual page like git does, or print the long help when
//! there is no man program or no page.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::cli::{doc, Command};
use crate::error::Result;

/// Opens the manual (the one page, also for a subcommand) with `man`, or prints the long help.
///
/// Unlike git, which always runs man, the long help is printed directly when stdout is not a
/// terminal (a pipe, a file, a test): the output is then deterministic and the same on machines
/// with and without man pages, and `git parallel start --help | grep` works.
pub fn open_manual(cmd: Option<&'static Command>) -> Result<()> {
    if std::io::stdout().is_terminal() && run_man() {
        return Ok(());
    }
    crate::workflow::render::print_document("help", doc::long_help(cmd));
    Ok(())
}

/// Runs man on the page; false when man or the page is missing, or man fails.
fn run_man() -> bool {
    let Ok(man) = which::which("man") else {
        return false;
    };
    let source_page = Path::new(env!("CARGO_MANIFEST_DIR")).join("man/git-parallel.1");
    let page_exists = source_page.is_file();
    let mut command = std::process::Command::new(&man);
    if page_exists && built_by_cargo() {
        command.arg("-l").arg(&source_page);
    } else if installed(&man) {
        command.arg("git-parallel");
    } else if page_exists {
        command.arg("-l").arg(&source_page);
    } else {
        return false;
    }
    command.status().is_ok_and(|s| s.success())
}

/// Whether `man -w git-parallel` finds an installed page (MANPATH is honoured).
fn installed(man: &PathBuf) -> bool {
    std::process::Command::new(man)
        .args(["-w", "git-parallel"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether this binary lives in the source tree it was built from (`cargo build`/`cargo run`),
/// where the source tree's man page is the current one.
fn built_by_cargo() -> bool {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .is_some_and(|exe| manifest.canonicalize().is_ok_and(|m| exe.starts_with(m)))
}

//! Shell completion scripts (bash, zsh, fish), rendered from the command table in `defs`.
//!
//! Each script is a hand-written template with `@PLACEHOLDER@`s filled from the table, the
//! way ripgrep does it. Task ids come from the hidden `git parallel __complete [STATUS...]`,
//! given the options of the command line that choose the task file (`-C`, `--tasks`,
//! `--product`).

mod bash;
mod fish;
#[cfg(test)]
mod tests;
mod zsh;

use super::defs::{self, Arity, Command, Flag};

pub use bash::bash;
pub use fish::fish;
pub use zsh::zsh;

/// Global flags whose value chooses the task file; passed on to `__complete`.
const FILE_FLAGS: &[&str] = &["directory", "tasks", "product"];

// ---- the table, as the scripts need it ---------------------------------------------------------

fn visible_commands() -> impl Iterator<Item = &'static Command> {
    defs::COMMANDS.iter().copied().filter(|c| !c.hidden)
}

/// The flags accepted at a point: the global ones and the command's (or `--version` before any
/// command).
fn flags_of(cmd: Option<&Command>) -> Vec<&'static Flag> {
    let mut v: Vec<&'static Flag> = match cmd {
        Some(c) => c.flags.to_vec(),
        None => vec![&defs::VERSION],
    };
    v.extend(defs::GLOBAL_FLAGS.iter().copied());
    v
}

/// Every flag that takes a value, in any command, without duplicates.
fn value_flags() -> Vec<&'static Flag> {
    let mut v: Vec<&'static Flag> = Vec::new();
    let all = defs::GLOBAL_FLAGS
        .iter()
        .chain(defs::COMMANDS.iter().flat_map(|c| c.flags.iter()));
    for f in all.copied() {
        if matches!(f.arity, Arity::Value(_)) && !v.iter().any(|g| g.long == f.long) {
            v.push(f);
        }
    }
    v
}

/// `-C` and `--directory` (the spellings of one flag that are whole words).
fn word_names(f: &Flag) -> Vec<String> {
    let mut v: Vec<String> = f.short.map(|c| format!("-{c}")).into_iter().collect();
    v.push(format!("--{}", f.long));
    v
}

fn file_flags() -> Vec<&'static Flag> {
    defs::GLOBAL_FLAGS
        .iter()
        .copied()
        .filter(|f| FILE_FLAGS.contains(&f.long))
        .collect()
}

/// Patterns (shell glob) of a file-choosing flag given with its value in the same word.
fn joined_patterns() -> Vec<String> {
    let mut v = Vec::new();
    for f in file_flags() {
        v.push(format!("--{}=*", f.long));
        if let Some(c) = f.short {
            v.push(format!("-{c}?*"));
        }
    }
    v
}

fn statuses(s: &[&str]) -> String {
    s.join(" ")
}

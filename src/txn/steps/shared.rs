//! What the step kinds share, and nothing of any step kind: the short form of an object id, a
//! file copied into a new worktree, a shell command from git config run in a directory. A leaf
//! module, so that no step kind needs another (or the `Step` list) for these.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The pool directory's name under the worktree root (src/txn/steps/pool.rs).
pub const POOL_DIR: &str = ".parallel-pool";

/// A file copied from the main worktree into a new one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CopyFile {
    pub from: Utf8PathBuf,
    pub rel: String,
}

/// The worktree-relative paths of copied files (what a removal may take as its own).
pub fn rels(copy: &[CopyFile]) -> Vec<&str> {
    copy.iter().map(|c| c.rel.as_str()).collect()
}

/// An object id's first 10 hex digits, as messages show it.
pub fn short(oid: impl std::fmt::Display) -> String {
    let s = oid.to_string();
    s.get(..10).unwrap_or(&s).to_string()
}

/// Runs a shell command from git config in `dir` with the variables `vars` set, its output
/// shown on failure.
pub fn run_shell(
    command: &str,
    dir: &Utf8Path,
    what: &str,
    vars: &[(String, String)],
) -> Result<()> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| crate::fatal!("cannot run {what} `{command}`: {e}"))?;
    if !out.status.success() {
        return Err(crate::refused!(
            help = "fix the command (git config {what}) or the worktree setup, then run again",
            "{what} `{command}` failed in {dir} ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

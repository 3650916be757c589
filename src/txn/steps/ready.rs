//! Making a worktree ready for its task, as `AddWorktree` and a pool `Take` both do: the
//! include files (`.worktreeinclude`, `parallel.copy`) copied in from the main worktree, then
//! the task's port record and env file written, and the `parallel.postStart` hook run in it
//! (not in a reused worktree whose setup key did not change; see src/txn/taskenv.rs).

use camino::Utf8Path;

use super::shared::{run_shell, CopyFile};
use crate::error::Result;
use crate::txn::taskenv::{self, TaskEnv};

/// How a step makes a worktree ready, for its description: `, copy N file(s), run `CMD``.
pub(super) fn describe(copy: &[CopyFile], post_start: Option<&str>) -> String {
    let mut s = String::new();
    if !copy.is_empty() {
        s.push_str(&format!(", copy {} file(s)", copy.len()));
    }
    if let Some(cmd) = post_start {
        s.push_str(&format!(", run `{cmd}`"));
    }
    s
}

/// Makes a worktree ready for its task: the include files copied in, the postStart hook run.
pub(super) fn make_ready(
    path: &Utf8Path,
    copy: &[CopyFile],
    post_start: Option<&str>,
    env: &TaskEnv,
) -> Result<()> {
    for f in copy {
        let dest = path.join(&f.rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copy_file(&f.from, &dest)?;
    }
    let (vars, run) = taskenv::prepare(path, env)?;
    if let Some(cmd) = post_start.filter(|_| run) {
        run_shell(cmd, path, "parallel.postStart", &vars)?;
        taskenv::set_up(path, env);
    }
    Ok(())
}

/// Copies a file, as a copy-on-write clone where the filesystem supports it (`cp --reflink=auto`
/// semantics are what `std::fs::copy` gives on Linux through copy_file_range).
fn copy_file(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| crate::fatal!("cannot copy {from} to {to}: {e}"))?;
    Ok(())
}

//! The repository's `reference-transaction` hook, run around the ref transactions gix makes the
//! way git runs it around its own: `prepared` while the refs are locked (a non-zero exit refuses
//! the transaction, which is then rolled back), then `committed` or `aborted`. Each run gets one
//! `<old> <new> <ref>` line per ref on stdin (the null id for "none").

use camino::Utf8PathBuf;
use std::io::{Seek, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{Error, RefUpdate, Repo, Result};

/// The hook to run for one transaction, with its input.
pub(super) struct RefHook {
    exe: PathBuf,
    /// Where git runs hooks: the main worktree, or the git dir of a bare repository.
    dir: Utf8PathBuf,
    git_dir: Utf8PathBuf,
    input: String,
}

impl RefHook {
    /// The repository's executable `reference-transaction` hook (in `core.hooksPath`, else
    /// `<common dir>/hooks`), None when there is none: git skips a missing or non-executable hook.
    pub(super) fn find(repo: &Repo, updates: &[RefUpdate]) -> Result<Option<RefHook>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = repo
            .main_worktree
            .clone()
            .unwrap_or_else(|| repo.common_dir.clone());
        let hooks = match repo.gix.config_snapshot().trusted_path("core.hooksPath") {
            Ok(Some(p)) if p.is_absolute() => p,
            // Relative to where hooks run, as git takes it.
            Ok(Some(p)) => dir.as_std_path().join(p),
            Ok(None) => repo.common_dir.join("hooks").into_std_path_buf(),
            Err(e) => return Err(Error::gix("cannot read core.hooksPath", e)),
        };
        let exe = hooks.join("reference-transaction");
        let executable = std::fs::metadata(&exe)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if !executable {
            return Ok(None);
        }
        let null = gix::ObjectId::null(repo.gix.object_hash());
        let input = updates
            .iter()
            .map(|u| {
                format!(
                    "{} {} {}\n",
                    u.old.unwrap_or(null),
                    u.new.unwrap_or(null),
                    u.name
                )
            })
            .collect();
        Ok(Some(RefHook {
            exe,
            dir,
            git_dir: repo.git_dir.clone(),
            input,
        }))
    }

    /// Runs the hook for `state` (`prepared`, `committed`, `aborted`); whether it exited 0. Its
    /// output goes to stderr, as git sends it.
    pub(super) fn run(&self, state: &str) -> Result<bool> {
        let shown = format!("{} {state}", self.exe.display());
        let spawn = |source| Error::Spawn {
            what: format!("cannot run the reference-transaction hook {shown}"),
            source,
        };
        // The input from a file, not a pipe: a hook that does not read it cannot make the write
        // fail (or raise SIGPIPE, whose default action this process keeps).
        let mut input = tempfile_in(&self.git_dir).map_err(spawn)?;
        input
            .write_all(self.input.as_bytes())
            .and_then(|()| input.rewind())
            .map_err(spawn)?;
        let mut cmd = Command::new(&self.exe);
        for var in [
            "GIT_INDEX_FILE",
            "GIT_COMMON_DIR",
            "GIT_PREFIX",
            "GIT_WORK_TREE",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg(state)
            .env("GIT_DIR", self.git_dir.as_std_path())
            .current_dir(self.dir.as_std_path())
            .stdin(Stdio::from(input))
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit());
        super::cli::die_with_parent(&mut cmd);
        let status = cmd.status().map_err(spawn)?;
        Ok(status.success())
    }
}

/// An unnamed file in `dir` (created, then unlinked), open for reading and writing.
fn tempfile_in(dir: &camino::Utf8Path) -> std::io::Result<std::fs::File> {
    let path = dir.join(format!("parallel-ref-hook.{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

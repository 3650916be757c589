//! The test gate: a commit checked out in a temporary worktree of its own, a command run there
//! in its own process group (so an interrupt reaches it and the rollback runs after it ended),
//! and the worktree removed again whatever happened. Changes nothing durable.

use std::os::unix::process::CommandExt;

use camino::{Utf8Path, Utf8PathBuf};

use serde::{Deserialize, Serialize};

use super::shared::short;
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::{interrupt, worktree};
use gix::ObjectId;

/// The `TestGate` step: the test `command` run on `commit` in the temporary worktree `dir`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestGate {
    #[serde(with = "crate::git::hex")]
    pub commit: ObjectId,
    pub command: String,
    pub dir: Utf8PathBuf,
}

impl StepKind for TestGate {
    fn describe(&self) -> String {
        format!("test {} with `{}`", short(self.commit), self.command)
    }

    /// A test changes nothing durable: there is nothing to reverse.
    fn inverse(&self) -> Option<Step> {
        None
    }

    fn apply(&self, repo: &Repo, _proven: bool) -> Result<()> {
        test_gate(repo, &self.commit, &self.command, &self.dir)
    }

    /// The test runs for minutes.
    fn lets_time_pass(&self) -> bool {
        true
    }

    fn undo(&self, repo: &Repo, _fresh: bool, _proven: bool) -> Result<()> {
        remove_temp_worktree(repo, &self.dir)
    }
}

/// A new directory name for a test gate's worktree: in the temp dir, with a random part, so
/// that it names nothing that exists (the step creates it exclusively and refuses otherwise).
pub fn test_dir() -> Result<Utf8PathBuf> {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    let dir = std::env::temp_dir().join(format!("git-parallel-test-{:016x}", h.finish()));
    Utf8PathBuf::from_path_buf(dir)
        .map_err(|p| crate::fatal!("the temp dir is not UTF-8: {}", p.display()))
}

pub(super) fn test_gate(
    repo: &Repo,
    commit: &ObjectId,
    command: &str,
    dir: &Utf8Path,
) -> Result<()> {
    let status = run_test(repo, commit, command, dir)?;
    if !status.success() {
        return Err(
            crate::error::Error::Refused(miette::Report::new(TestFailed {
                command: command.to_string(),
                status,
            }))
            .with_code(crate::error::Code::TestGate),
        );
    }
    Ok(())
}

/// Runs the test `command` on `commit` in a new temporary worktree `dir` (announced on
/// stderr, its output streamed there, or with -q shown only on failure), then removes the
/// worktree. The test's exit status; Err when it could not be run at all.
pub fn run_test(
    repo: &Repo,
    commit: &ObjectId,
    command: &str,
    dir: &Utf8Path,
) -> Result<std::process::ExitStatus> {
    // Leftovers of an earlier, killed run of this step (only what is provably ours).
    remove_temp_worktree(repo, dir)?;
    if let Err(e) = std::fs::create_dir(dir) {
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            crate::refused!(
                help =
                    "it was not made by git-parallel and is left alone; move it away and run again",
                "cannot create the test worktree {dir}: it exists"
            )
        } else {
            crate::fatal!("cannot create the test worktree {dir}: {e}")
        });
    }
    worktree::ensure(&repo.loc, dir, &commit.to_string(), true, true)?;
    crate::output::testing(&short(commit), command, dir.as_str());
    // In a process group of its own, so that an interrupt reaches it through our handler
    // (which passes it on) and the rollback runs after it ended.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    if let Some(p) = crate::txn::taskenv::gate_ports(repo) {
        cmd.envs(p.env());
    }
    let quiet = crate::output::quiet();
    if quiet {
        // -q: the test's output is kept back and shown only if it fails.
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    } else {
        // The test's output is the user's to read: stream it, on stderr so stdout stays parseable.
        cmd.stdout(std::process::Stdio::from(std::io::stderr().as_fd_owned()?));
    }
    crate::git::cli::die_with_parent(&mut cmd);
    // The test is confined like an agent when parallel.sandbox says so (run passes its own
    // choice on; a finish typed by the user leaves the user's own test unconfined unless it is
    // set): its private TMPDIR beside its worktree, removed with it.
    let tmp = Utf8PathBuf::from(format!("{dir}.tmp"));
    let confined = crate::sandbox::Policy::load(repo, None, crate::sandbox::Mode::Off)
        .and_then(|policy| policy.confine(&mut cmd, dir, &tmp, &[]));
    if let Err(e) = confined {
        crate::sandbox::remove_tmp(&tmp);
        remove_temp_worktree(repo, dir)?;
        return Err(e);
    }
    let status = cmd.spawn().and_then(|child| {
        interrupt::set_test_group(child.id() as i32);
        let out = child.wait_with_output();
        interrupt::set_test_group(0);
        out.map(|o| {
            if quiet && !o.status.success() {
                crate::output::failed_test_output(&o.stdout, &o.stderr);
            }
            o.status
        })
    });
    crate::sandbox::remove_tmp(&tmp);
    let removed = remove_temp_worktree(repo, dir);
    let status = status.map_err(|e| crate::fatal!("cannot run the test `{command}`: {e}"))?;
    removed?;
    Ok(status)
}

trait AsFdOwned {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl AsFdOwned for std::io::Stderr {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

/// Removes the test gate's worktree: only a worktree of this repository registered at `dir`
/// (or whose `.git` names one), or an empty directory. Anything else there is not ours.
pub(super) fn remove_temp_worktree(repo: &Repo, dir: &Utf8Path) -> Result<()> {
    let found = worktree::find(&repo.loc, dir)?;
    if found.admin.is_some() || found.dangling || !found.junk.is_empty() || dir.is_dir() {
        worktree::remove(&repo.loc, dir, true, &[], true)?;
    }
    Ok(())
}

/// The test gate's command failed: a refusal of its own type, so that `finish` can tell it
/// from any other failure of its transaction (and bisect the batch; see [`gate_failed`]).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the test `{command}` failed on the merged result ({status}); the target was not moved")]
#[diagnostic(help(
    "fix the failing tasks (git parallel exec -- {}) and run finish again",
    command
))]
pub struct TestFailed {
    pub command: String,
    pub status: std::process::ExitStatus,
}

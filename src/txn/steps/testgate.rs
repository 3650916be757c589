//! The test gate: a commit checked out in the kept gate worktree (src/txn/gate_worktree.rs:
//! its build output survives from one gate to the next; `parallel.gateWorktree keep`, the
//! default) or, with `temp` or when that one cannot be used, in a temporary worktree of its own
//! removed again whatever happened; a command run there in its own process group (so an
//! interrupt reaches it and the rollback runs after it ended). Changes nothing durable.

use std::os::unix::process::CommandExt;

use camino::{Utf8Path, Utf8PathBuf};

use serde::{Deserialize, Serialize};

use super::shared::short;
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::{interrupt, worktree};
use gix::ObjectId;

/// The `TestGate` step: the test `command` run on `commit` in the kept gate worktree (when
/// `kept` and it can be used), else in the temporary worktree `dir`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TestGate {
    #[serde(with = "crate::git::hex")]
    pub commit: ObjectId,
    pub command: String,
    pub dir: Utf8PathBuf,
    /// Whether the kept gate worktree is used (journals of earlier releases: false).
    #[serde(default)]
    pub kept: bool,
}

impl TestGate {
    /// The gate testing `commit` with `command`, where `parallel.gateWorktree` says.
    pub fn new(repo: &Repo, commit: ObjectId, command: String) -> Result<TestGate> {
        Ok(TestGate {
            commit,
            command,
            dir: test_dir()?,
            kept: repo.settings.gate_worktree_kept(),
        })
    }
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
        test_gate(repo, self)
    }

    /// The test runs for minutes. (Undone, the kept gate worktree stays: only a temporary one
    /// goes.)
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

fn test_gate(repo: &Repo, gate: &TestGate) -> Result<()> {
    let status = run_test(repo, gate)?;
    if !status.success() {
        return Err(failed(&gate.command, status));
    }
    Ok(())
}

/// The refusal of a test gate whose `command` ended with `status`.
pub fn failed(command: &str, status: std::process::ExitStatus) -> crate::error::Error {
    crate::error::Error::Refused(miette::Report::new(TestFailed {
        command: command.to_string(),
        status,
    }))
    .with_code(crate::error::Code::TestGate)
}

/// Runs the gate's test command on its commit (announced on stderr, its output streamed
/// there, or with -q shown only on failure): in the kept gate worktree when the gate says so
/// and it can be used, else in a new temporary worktree, removed after. The test's exit
/// status; Err when it could not be run at all.
pub fn run_test(repo: &Repo, gate: &TestGate) -> Result<std::process::ExitStatus> {
    let (commit, command) = (&gate.commit, gate.command.as_str());
    if gate.kept {
        if let Some(status) = run_kept(repo, commit, command, true)? {
            return Ok(status);
        }
    }
    let dir = gate.dir.as_path();
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
    let run = spawn_test(repo, command, dir, false);
    let removed = remove_temp_worktree(repo, dir);
    let run = run?;
    removed?;
    // The last test's output, for what run tells the agent whose merge it failed.
    let _ = std::fs::write(last_output_path(repo), &run.output);
    Ok(run.status)
}

/// Runs the test `command` on `commit` in the kept gate worktree: its exit status, `None` when
/// that worktree cannot be used now (see [`crate::txn::gate_worktree::take`]). `stream`: the
/// output goes to stderr as it comes (else it is kept back, as with -q; `run`'s background gate
/// keeps it back so as not to garble its display). Outside any transaction this changes nothing
/// of the user's: only the kept worktree, which the next gate repairs whatever state a kill
/// left it in.
pub fn run_kept(
    repo: &Repo,
    commit: &ObjectId,
    command: &str,
    stream: bool,
) -> Result<Option<std::process::ExitStatus>> {
    let Some(held) = crate::txn::gate_worktree::take(repo, commit)? else {
        return Ok(None);
    };
    if stream {
        crate::output::testing(&short(commit), command, held.dir.as_str());
    }
    let run = spawn_test(repo, command, &held.dir, !stream)?;
    let _ = std::fs::write(last_output_path(repo), &run.output);
    Ok(Some(run.status))
}

/// Where the last lines of the last test gate's output are kept (`<state dir>/test-output.txt`,
/// overwritten by every test run).
pub fn last_output_path(repo: &Repo) -> Utf8PathBuf {
    crate::txn::state_dir(repo).join("test-output.txt")
}

/// How many of the test's last output lines are kept.
pub const OUTPUT_LINES: usize = 200;

/// A test that ran: its exit status and the last [`OUTPUT_LINES`] lines of its output.
struct TestRun {
    status: std::process::ExitStatus,
    output: String,
}

/// Runs `command` in `dir`, in a process group of its own (so that an interrupt reaches it
/// through our handler, which passes it on, and the rollback runs after it ended), its output
/// (stdout and stderr through one pipe) streamed to our stderr — stdout stays parseable — or
/// with -q kept back and shown only if it fails (`silent`: never shown); the last lines are kept
/// either way.
fn spawn_test(repo: &Repo, command: &str, dir: &Utf8Path, silent: bool) -> Result<TestRun> {
    let pipe_err =
        |e: std::io::Error| crate::fatal!("cannot make a pipe for the test `{command}`: {e}");
    let (reader, writer) = std::io::pipe().map_err(pipe_err)?;
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone().map_err(pipe_err)?)
        .stderr(writer)
        .process_group(0);
    if let Some(p) = crate::txn::taskenv::gate_ports(repo) {
        cmd.envs(p.env());
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
        return Err(e);
    }
    let spawned = cmd.spawn();
    // Our copies of the pipe's write end go with the command, so the reader sees the end.
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            crate::sandbox::remove_tmp(&tmp);
            return Err(crate::fatal!("cannot run the test `{command}`: {e}"));
        }
    };
    let quiet = silent || crate::output::quiet();
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Kept::default()));
    let pump = {
        let kept = kept.clone();
        std::thread::spawn(move || pump(reader, quiet, &kept))
    };
    interrupt::set_test_group(child.id() as i32);
    let status = child.wait();
    interrupt::set_test_group(0);
    crate::sandbox::remove_tmp(&tmp);
    let status = status.map_err(|e| crate::fatal!("cannot run the test `{command}`: {e}"))?;
    // A process the test left behind may hold the pipe open: its output is not waited for.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !pump.is_finished() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kept = kept.lock().map(|k| k.clone()).unwrap_or_default();
    if quiet && !silent && !status.success() {
        crate::output::failed_test_output(&kept.all, &[]);
    }
    Ok(TestRun {
        status,
        output: kept.tail(),
    })
}

/// What the test printed: everything with -q (shown if it fails), else the last lines.
#[derive(Default, Clone)]
struct Kept {
    all: Vec<u8>,
    lines: std::collections::VecDeque<String>,
    partial: Vec<u8>,
}

impl Kept {
    fn add(&mut self, bytes: &[u8], keep_all: bool) {
        if keep_all {
            self.all.extend_from_slice(bytes);
        }
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                if self.lines.len() == OUTPUT_LINES {
                    self.lines.pop_front();
                }
                self.lines.push_back(line);
            } else if self.partial.len() < 4096 {
                self.partial.push(b);
            }
        }
    }

    fn tail(&self) -> String {
        let mut t = String::new();
        let skip = usize::from(!self.partial.is_empty() && self.lines.len() == OUTPUT_LINES);
        for l in self.lines.iter().skip(skip) {
            t.push_str(l);
            t.push('\n');
        }
        if !self.partial.is_empty() {
            t.push_str(&String::from_utf8_lossy(&self.partial));
            t.push('\n');
        }
        t
    }
}

/// Copies the test's output to our stderr (unless `quiet`) and into `kept`, to its end.
fn pump(mut from: std::io::PipeReader, quiet: bool, kept: &std::sync::Mutex<Kept>) {
    use std::io::{Read, Write};
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !quiet {
            let _ = std::io::stderr().lock().write_all(&buf[..n]);
        }
        if let Ok(mut k) = kept.lock() {
            k.add(&buf[..n], quiet);
        }
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

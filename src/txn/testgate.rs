//! The test gate: a commit checked out in a temporary worktree of its own, a command run there
//! in its own process group (so an interrupt reaches it and the rollback runs after it ended),
//! and the worktree removed again whatever happened. Changes nothing durable.

use std::os::unix::process::CommandExt;

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::Result;
use crate::git::Repo;

use super::step::short;

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

pub(super) fn test_gate(repo: &Repo, commit: &str, command: &str, dir: &Utf8Path) -> Result<()> {
    let run = run_test(repo, commit, command, dir)?;
    if !run.status.success() {
        return Err(crate::error::Error::Refused(miette::Report::new(
            super::probe::TestFailed {
                command: command.to_string(),
                status: run.status,
                output: run.output,
            },
        )));
    }
    Ok(())
}

/// How many of the test's last output lines are kept (for a failed attempt's evidence).
pub const OUTPUT_LINES: usize = 200;

/// A test that ran: its exit status and the last [`OUTPUT_LINES`] lines of its output (stdout
/// and stderr together, as they came).
pub struct TestRun {
    pub status: std::process::ExitStatus,
    pub output: String,
}

/// Runs the test `command` on `commit` in a new temporary worktree `dir` (announced on
/// stderr, its output streamed there, or with -q shown only on failure), then removes the
/// worktree. The test's exit status and last output lines; Err when it could not be run.
pub fn run_test(repo: &Repo, commit: &str, command: &str, dir: &Utf8Path) -> Result<TestRun> {
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
    super::worktree::ensure(&repo.loc, dir, commit, true, true)?;
    crate::output::testing(short(commit), command, dir.as_str());
    let run = spawn_test(repo, command, dir);
    let removed = remove_temp_worktree(repo, dir);
    let run = run?;
    removed?;
    Ok(run)
}

/// Runs `command` in `dir`, in a process group of its own (so that an interrupt reaches it
/// through our handler, which passes it on, and the rollback runs after it ended), its output
/// (stdout and stderr through one pipe) streamed to our stderr — stdout stays parseable — or
/// with -q kept back and shown only if it fails; the last lines are kept either way.
fn spawn_test(repo: &Repo, command: &str, dir: &Utf8Path) -> Result<TestRun> {
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
    if let Some(p) = super::taskenv::gate_ports(repo) {
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
    let quiet = crate::output::quiet();
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Kept::default()));
    let pump = {
        let kept = kept.clone();
        std::thread::spawn(move || pump(reader, quiet, &kept))
    };
    super::interrupt::set_test_group(child.id() as i32);
    let status = child.wait();
    super::interrupt::set_test_group(0);
    crate::sandbox::remove_tmp(&tmp);
    let status = status.map_err(|e| crate::fatal!("cannot run the test `{command}`: {e}"))?;
    // A process the test left behind may hold the pipe open: its output is not waited for.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !pump.is_finished() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kept = kept.lock().map(|k| k.clone()).unwrap_or_default();
    if quiet && !status.success() {
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
    let found = super::worktree::find(&repo.loc, dir)?;
    if found.admin.is_some() || found.dangling || !found.junk.is_empty() || dir.is_dir() {
        super::worktree::remove(&repo.loc, dir, true, &[], true)?;
    }
    Ok(())
}

//! One agent attempt: the task brief written under the state directory, the agent command run
//! through `sh -c` in the task's worktree in its own process group (stdin null, stdout and
//! stderr appended to the task's log after a header line), the GIT_PARALLEL_* variables set,
//! and the attempt stopped (SIGTERM to the group, SIGKILL after a grace period) on a timeout or
//! when run is interrupted. Each attempt waits in its own thread and reports on a channel.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

use crate::workflow::agent_env::AgentEnv;
use crate::workflow::presets::{Output, Usage};

/// Everything an attempt needs.
pub struct Spec {
    /// The task, its worktree and the variables its agent gets.
    pub task: AgentEnv,
    pub log: Utf8PathBuf,
    pub command: String,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    /// Whether and how the agent is confined.
    pub sandbox: crate::sandbox::Policy,
    /// The agent's private TMPDIR when sandboxed.
    pub tmp: Utf8PathBuf,
    /// More paths it may write when sandboxed, where they exist (a preset's state).
    pub writable: Vec<Utf8PathBuf>,
    /// A preset's program run directly (`None`: `command` through `sh -c`).
    pub invocation: Option<Invocation>,
    /// More variables for the agent (its port block).
    pub env: Vec<(String, String)>,
    /// Ends the agent's process group if run dies.
    pub watchdog: Option<Arc<super::watchdog::Watchdog>>,
}

/// A preset agent's command line, run without a shell; its standard output is kept in
/// `out_file` and read for the attempt's [`Usage`].
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub output: Output,
    pub out_file: Utf8PathBuf,
}

/// How an attempt's agent ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Ran longer than --timeout and was stopped.
    TimedOut,
    /// Stopped because run was interrupted.
    Stopped,
    /// Could not be started.
    CannotRun(String),
}

impl Exit {
    /// How it ended, for the log: `exit 0`, `killed by signal 9`, `timed out`…
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(c) => format!("exit {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::TimedOut => "timed out".into(),
            Exit::Stopped => "stopped (run interrupted)".into(),
            Exit::CannotRun(e) => format!("could not start: {e}"),
        }
    }

    /// Why the attempt failed, in words (`None`: exit 0).
    pub fn failure(&self) -> Option<String> {
        match self {
            Exit::Code(0) => None,
            Exit::Code(c) => Some(format!("the agent exited with {c}")),
            Exit::Signal(s) => Some(format!("the agent was killed by signal {s}")),
            Exit::TimedOut => Some("the agent ran past --timeout and was stopped".into()),
            Exit::Stopped => Some("run was interrupted".into()),
            Exit::CannotRun(e) => Some(format!("the agent could not be started: {e}")),
        }
    }
}

/// An attempt that ended.
pub struct Done {
    pub id: String,
    pub attempt: u32,
    pub exit: Exit,
    /// Sandboxed and failed: the first write the sandbox denied, as its log names it.
    pub denied: Option<String>,
    /// What the agent's output says the attempt used (empty for a shell command).
    pub usage: Usage,
    /// How long it ran.
    pub seconds: f64,
}

/// Appends `text` to the log at `path` (best effort: a log that cannot be written is no reason
/// to stop the run).
pub fn append_log(path: &Utf8Path, text: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

/// Starts the attempt in a thread; it sends its [`Done`] on `tx`. `stop` asks it to stop.
pub fn spawn(spec: Spec, stop: Arc<AtomicBool>, tx: Sender<Done>) {
    std::thread::spawn(move || {
        let from = std::fs::metadata(&spec.log).map_or(0, |m| m.len());
        let began = Instant::now();
        let exit = match launch(&spec) {
            Ok(child) => wait(child, &spec, &stop),
            Err(e) => Exit::CannotRun(e),
        };
        let denied = if spec.sandbox.active() && exit != Exit::Code(0) {
            denied_write(&spec.log, from)
        } else {
            None
        };
        let usage = usage_of(&spec);
        append_log(
            &spec.log,
            &format!(
                "==== attempt {} ended: {}\n",
                spec.task.attempt,
                exit.describe()
            ),
        );
        let _ = tx.send(Done {
            id: spec.task.id,
            attempt: spec.task.attempt,
            exit,
            denied,
            usage,
            seconds: began.elapsed().as_secs_f64(),
        });
    });
}

/// The first write the sandbox denied, as the log written since byte `from` names it.
pub fn denied_write(log: &Utf8Path, from: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log).ok()?;
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut text = Vec::new();
    f.read_to_end(&mut text).ok()?;
    crate::sandbox::denied_path(&String::from_utf8_lossy(&text))
}

fn launch(spec: &Spec) -> std::result::Result<Child, String> {
    append_log(
        &spec.log,
        &format!(
            "==== attempt {} of {} at {}: {}\n",
            spec.task.attempt,
            spec.task.id,
            crate::time::now_iso(),
            spec.command
        ),
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|e| format!("cannot open {}: {e}", spec.log))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let (mut cmd, out) = match &spec.invocation {
        Some(inv) => preset_command(inv)?,
        None => {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(&spec.command);
            (cmd, log)
        }
    };
    cmd.current_dir(&spec.task.worktree)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    // A run killed outright (SIGKILL) takes its agents' shells with it instead of leaving
    // them to race the agents of the next run in the same worktrees (Linux).
    crate::git::cli::die_with_parent(&mut cmd);
    spec.task.apply(&mut cmd);
    let writable = spec
        .sandbox
        .confine(&mut cmd, &spec.task.worktree, &spec.tmp, &spec.writable)
        .map_err(|e| format!("{e:?}"))?;
    if !writable.is_empty() {
        let list: Vec<&str> = writable.iter().map(|p| p.as_str()).collect();
        append_log(
            &spec.log,
            &format!(
                "==== sandboxed; it may write only:\n  {}\n",
                list.join("\n  ")
            ),
        );
    }
    cmd.spawn().map_err(|e| e.to_string())
}

/// A preset's program with its arguments and variables, and the file its output goes to.
fn preset_command(inv: &Invocation) -> std::result::Result<(Command, std::fs::File), String> {
    let out = std::fs::File::create(&inv.out_file)
        .map_err(|e| format!("cannot create {}: {e}", inv.out_file))?;
    let mut cmd = Command::new(&inv.program);
    cmd.args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k, v)));
    Ok((cmd, out))
}

/// What a preset agent's output says the attempt used; the output is appended to the log.
fn usage_of(spec: &Spec) -> Usage {
    let Some(inv) = &spec.invocation else {
        return Usage::default();
    };
    let text = std::fs::read_to_string(&inv.out_file).unwrap_or_default();
    append_log(&spec.log, &text);
    if !text.is_empty() && !text.ends_with('\n') {
        append_log(&spec.log, "\n");
    }
    inv.output.parse(&text)
}

/// Waits for the agent, stopping it on timeout or when `stop` is set. Whatever the agent
/// left running in its process group is ended with the attempt, before run lands, parks or
/// reuses the worktree.
fn wait(mut child: Child, spec: &Spec, stop: &AtomicBool) -> Exit {
    let began = Instant::now();
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    if let Some(w) = &spec.watchdog {
        w.watch(pgid);
    }
    let watch = super::group::ExitWatch::new(pgid);
    let exit = loop {
        match super::group::exited(pgid) {
            Some(true) => break None,
            Some(false) => {}
            // Cannot wait without reaping: reap, then end the group all the same.
            None => match child.try_wait() {
                Ok(Some(_)) => break None,
                Ok(None) => {}
                Err(e) => break Some(Exit::CannotRun(e.to_string())),
            },
        }
        let timed_out = spec.timeout.is_some_and(|t| began.elapsed() >= t);
        if timed_out || stop.load(Ordering::SeqCst) {
            terminate(pgid, &mut child, spec.grace);
            break Some(if timed_out {
                Exit::TimedOut
            } else {
                Exit::Stopped
            });
        }
        // Back at once when the agent exits; the timeout and a stop are looked at meanwhile.
        watch.pause(Duration::from_millis(50));
    };
    super::group::end(pgid, spec.grace);
    if let Some(w) = &spec.watchdog {
        w.unwatch(pgid);
    }
    let status = child.wait();
    if let Some(exit) = exit {
        return exit;
    }
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            (None, None) => Exit::Code(1),
        },
        Err(e) => Exit::CannotRun(e.to_string()),
    }
}

/// SIGTERM to the agent's process group; waits up to `grace` for its leader to exit (the
/// caller then ends what is left of the group and reaps it).
fn terminate(pgid: i32, child: &mut Child, grace: Duration) {
    if pgid <= 1 {
        let _ = child.kill();
        return;
    }
    // SAFETY: kill(2) on the agent's own process group (made with process_group(0)).
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if super::group::exited(pgid) != Some(false) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: as above; whatever is left of the group is killed (the leader is not reaped
    // yet, so the group id is still this group's).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

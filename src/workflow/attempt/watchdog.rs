//! The watchdog: a small process of our own binary, in a process group of its own, started by
//! `run` with a pipe on its standard input. `run` writes `+PGID` when an agent's process group
//! begins and `-PGID` once it has ended it. When the pipe closes — `run` exited, or was killed,
//! even by SIGKILL of its whole process group — the watchdog ends every group still listed
//! (SIGTERM, SIGKILL after the grace period) and exits. So no agent outlives its run, and the
//! next run never finds a previous run's agent at work in a worktree.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The variable that makes this binary a watchdog; its value is the grace in milliseconds.
pub const ENV: &str = "GIT_PARALLEL_WATCHDOG";

/// `run`'s end of the watchdog.
pub struct Watchdog {
    stdin: Mutex<ChildStdin>,
    _child: Child,
}

impl Watchdog {
    /// Starts the watchdog (`None`, with a warning, when it cannot be started: run goes on,
    /// its agents then end with it only when it exits normally).
    pub fn start(grace: Duration) -> Option<Watchdog> {
        let started = std::env::current_exe().and_then(|exe| {
            let mut cmd = Command::new(exe);
            cmd.env(ENV, grace.as_millis().to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0);
            cmd.spawn()
        });
        match started {
            Ok(mut child) => {
                let stdin = child.stdin.take()?;
                Some(Watchdog {
                    stdin: Mutex::new(stdin),
                    _child: child,
                })
            }
            Err(e) => {
                crate::output::warning(format_args!(
                    "cannot start the watchdog that stops the agents if run is killed: {e}"
                ));
                None
            }
        }
    }

    /// The group `pgid` is an agent's: ended if run dies.
    pub fn watch(&self, pgid: i32) {
        self.send(&format!("+{pgid}\n"));
    }

    /// The group `pgid` has been ended.
    pub fn unwatch(&self, pgid: i32) {
        self.send(&format!("-{pgid}\n"));
    }

    fn send(&self, line: &str) {
        if let Ok(mut s) = self.stdin.lock() {
            let _ = s.write_all(line.as_bytes());
            let _ = s.flush();
        }
    }
}

/// The watchdog process: reads the groups until its input closes, then ends those left. Its
/// exit code.
pub fn serve(grace_ms: &std::ffi::OsStr) -> i32 {
    // SAFETY: signal dispositions set before any thread starts. A hangup of the terminal is
    // not the end of run.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let grace = grace_ms
        .to_str()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis);
    let mut groups = BTreeSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (op, n) = line.split_at(line.len().min(1));
        let Ok(pgid) = n.trim().parse::<i32>() else {
            continue;
        };
        match op {
            "+" => {
                groups.insert(pgid);
            }
            "-" => {
                groups.remove(&pgid);
            }
            _ => {}
        }
    }
    if groups.is_empty() {
        return 0;
    }
    for &g in groups.iter().filter(|&&g| g > 1) {
        // SAFETY: kill(2) on process groups run registered as its agents'.
        unsafe {
            libc::kill(-g, libc::SIGTERM);
        }
    }
    let until = std::time::Instant::now() + grace;
    // SAFETY: kill(2) with signal 0 only asks whether the group has a process left.
    let left = |g: i32| unsafe { libc::kill(-g, 0) } == 0;
    while std::time::Instant::now() < until && groups.iter().any(|&g| g > 1 && left(g)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &g in groups.iter().filter(|&&g| g > 1) {
        // SAFETY: as above.
        unsafe {
            libc::kill(-g, libc::SIGKILL);
        }
    }
    0
}

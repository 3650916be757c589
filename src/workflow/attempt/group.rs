//! An agent's process group: whether its leader has exited (without reaping it, so that its
//! pid — the group's id — cannot be reused meanwhile), waiting for that (woken the moment it
//! exits, through a pidfd on Linux), and ending the group: SIGTERM to every process left in
//! it, SIGKILL to what is still there after the grace period.

use std::time::{Duration, Instant};

/// Whether the process `pid` (our child) has exited; it stays unreaped (a zombie) so that its
/// process group id stays reserved. `None`: cannot tell (the caller reaps with try_wait).
pub fn exited(pid: i32) -> Option<bool> {
    // SAFETY: a zeroed siginfo_t is valid; waitid(2) with WNOWAIT does not reap the child.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if r != 0 {
            return None;
        }
        Some(info.si_pid() != 0)
    }
}

/// Waits for our child `pid` to exit without reaping it: on Linux through a pidfd, which wakes
/// the waiter the moment it exits; elsewhere (or on a kernel without pidfds) by sleeping a
/// little between two looks.
pub struct ExitWatch {
    #[cfg(target_os = "linux")]
    fd: Option<std::os::fd::OwnedFd>,
}

/// The sleep between two looks without a pidfd.
const LOOK_AGAIN: Duration = Duration::from_millis(10);

impl ExitWatch {
    pub fn new(pid: i32) -> ExitWatch {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::FromRawFd;
            // SAFETY: pidfd_open(2) on our own unreaped child (its pid cannot be reused); the
            // descriptor it returns is owned here and closed on drop.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            let fd = i32::try_from(fd)
                .ok()
                .filter(|&fd| fd >= 0)
                // SAFETY: a descriptor just opened and owned by nothing else.
                .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
            ExitWatch { fd }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = pid;
            ExitWatch {}
        }
    }

    /// Returns when the process has exited, or after at most `max`.
    pub fn pause(&self, max: Duration) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.fd {
            use std::os::fd::AsRawFd;
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = libc::c_int::try_from(max.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: one valid pollfd; poll(2) only writes its revents.
            if unsafe { libc::poll(&mut p, 1, ms) } >= 0 {
                return;
            }
        }
        std::thread::sleep(max.min(LOOK_AGAIN));
    }
}

/// Ends every process of the group `pgid` (its leader may be a zombie): SIGTERM, then SIGKILL
/// after `grace` when some are still alive.
pub fn end(pgid: i32, grace: Duration) {
    if pgid <= 1 {
        return;
    }
    if alive_in(pgid) == Some(0) {
        return;
    }
    // SAFETY: kill(2) on the agent's own process group (made with process_group(0)).
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
    }
    let until = Instant::now() + grace;
    loop {
        match alive_in(pgid) {
            Some(0) => return,
            Some(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
            // Without /proc: a short wait, then whatever is left is killed.
            None if Instant::now() < until => {
                std::thread::sleep(grace.min(Duration::from_millis(200)));
                break;
            }
            _ => break,
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// How many live (not zombie) processes are in the group `pgid`, from /proc (`None`: no /proc).
fn alive_in(pgid: i32) -> Option<usize> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(name) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().unwrap_or("");
        let pgrp = f.nth(1).and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            n += 1;
        }
    }
    Some(n)
}

//! The repository-wide lock (`<common git dir>/parallel/lock`), created exclusively like git's
//! `index.lock` and holding the pid and command of its owner, and whether that owner is alive:
//! the owner holds an OS file lock (`flock`) on it, which the kernel drops when the owner dies
//! (killed, zombie or not). Lock files of earlier releases (no `flock` line) fall back to
//! checking the recorded pid.

use camino::{Utf8Path, Utf8PathBuf};
use std::io::Write;

use crate::error::Result;

/// The lock a mutating command holds from its planning to its transaction: a value the
/// command's context carries and hands to the engine (no process-wide state). Empty until
/// [`Slot::hold`]; the lock is released when it is taken by a transaction, or dropped with it.
#[derive(Default)]
pub struct Slot(std::sync::Mutex<Option<Lock>>);

impl Slot {
    /// Takes the lock for as long as this slot holds it (a mutating command, from its planning
    /// on), so that no other command changes the repository between the plan and its
    /// transaction. A lock whose owner is dead is taken over: callers refuse first when that
    /// owner left a journal.
    pub fn hold(&self, dir: &Utf8Path, what: &str) -> Result<()> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(Lock::acquire(dir, what, true)?);
        }
        Ok(())
    }

    /// The lock [`Slot::hold`] took, handed to the transaction that releases it.
    pub fn take(&self) -> Option<Lock> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Held while a mutating command runs; removed on drop. The open file carries the `flock`
/// that tells other processes its owner is alive.
pub struct Lock {
    path: Utf8PathBuf,
    released: bool,
    _file: std::fs::File,
}

/// The third line of a lock file whose owner holds a `flock` on it.
const FLOCK_MARK: &str = "flock";

/// Whether a process with this pid is running: a zombie (killed, not yet reaped) is not.
/// Linux: /proc/<pid>/stat; elsewhere `kill(pid, 0)`.
fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if std::path::Path::new("/proc/self/stat").exists() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        return !matches!(state, Some('Z' | 'X' | 'x') | None);
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether some process holds an exclusive `flock` on the file (a shared probe fails).
fn flock_held(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; the probe lock is dropped right away.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if r == 0 {
        // SAFETY: as above.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        return false;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// The owner recorded in a lock file: (pid, command).
pub fn owner(path: &Utf8Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    Some((pid, lines.next().unwrap_or("").to_string()))
}

/// The owner of the lock file if it is still running: its `flock` decides (a killed owner has
/// lost it, reaped or not); lock files of earlier releases, without one, by their pid.
pub fn live_owner(path: &Utf8Path) -> Option<(u32, String)> {
    let file = std::fs::File::open(path).ok()?;
    let text = std::io::read_to_string(&file).ok()?;
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    let command = lines.next().unwrap_or("").to_string();
    let alive = if lines.next() == Some(FLOCK_MARK) {
        flock_held(&file)
    } else {
        pid_alive(pid)
    };
    alive.then_some((pid, command))
}

/// Creates the lock file with its owner already written and its `flock` already held: the
/// content goes to a private file first, which is then hard-linked to `path` (fails if `path`
/// exists, atomically, like `O_EXCL`). Another process never sees an empty lock file, nor one
/// whose owner does not hold its `flock` yet, and mistakes it for a stale one.
fn create_with_owner(
    dir: &Utf8Path,
    path: &Utf8Path,
    command: &str,
) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let tmp = dir.join(format!("lock.{}.tmp", std::process::id()));
    let result = (|| {
        // Opened close-on-exec (Rust's default): the programs this process runs never hold it.
        let mut f = std::fs::File::create(&tmp)?;
        // SAFETY: flock on the file descriptor we just opened.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // One line per field: the command never holds a newline (callers' summaries).
        let command = command.replace('\n', " ");
        writeln!(f, "{}\n{}\n{FLOCK_MARK}", std::process::id(), command)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)?;
        Ok(f)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Removes a lock file whose owner is dead, holding its `flock` meanwhile and only while `path`
/// still names that file: of two processes taking over the same stale lock, the second never
/// removes the lock the first has just created (it then finds that one held, and refuses).
fn remove_stale(path: &Utf8Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    // SAFETY: flock on the file descriptor we just opened; released when it is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        // Someone holds it now: the next attempt to create the lock says who.
        return Ok(());
    }
    let (ours, now) = (file.metadata()?, std::fs::metadata(path));
    match now {
        Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether the file was last modified more than `secs` seconds ago.
fn older_than(path: &Utf8Path, secs: u64) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > secs)
}

impl Lock {
    /// Takes the lock or explains who holds it. `reclaim_stale`: take over a lock whose owner
    /// is dead (used by `recover`, which exists to clean up after dead processes).
    pub fn acquire(dir: &Utf8Path, command: &str, reclaim_stale: bool) -> Result<Lock> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("lock");
        for _ in 0..2 {
            match create_with_owner(dir, &path, command) {
                Ok(file) => {
                    return Ok(Lock {
                        path,
                        released: false,
                        _file: file,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match (live_owner(&path), owner(&path)) {
                        (Some((pid, cmd)), _) => {
                            return Err(crate::refused!(
                                code = crate::error::Code::Busy,
                                help = "wait for it to finish; if no git-parallel is running, remove {path}",
                                "another git-parallel is running here (pid {pid}: {cmd}); the repository is locked by {path}"
                            ))
                        }
                        (None, Some((pid, cmd))) if reclaim_stale => {
                            crate::output::note(format_args!("taking over the lock of git-parallel pid {pid} ({cmd}), which is no longer running"));
                            remove_stale(&path)?;
                        }
                        (None, Some((pid, cmd))) => {
                            return Err(crate::refused!(
                                help = "if no git-parallel is running, remove it: rm {path}\nthen run git parallel recover if an operation was interrupted",
                                "stale lock {path}: its owner (pid {pid}: {cmd}) is no longer running"
                            ))
                        }
                        // Never empty while its owner lives (written before it is linked in),
                        // so an unreadable one is a damaged leftover; still, only an old one
                        // is taken over.
                        (None, None) if reclaim_stale && older_than(&path, 60) => {
                            std::fs::remove_file(&path)?;
                        }
                        (None, None) => {
                            return Err(crate::refused!(
                                help = "if no git-parallel is running, remove it: rm {path}",
                                "the repository is locked by {path} (unreadable lock file)"
                            ))
                        }
                    }
                }
                Err(e) => return Err(crate::fatal!("cannot create {path}: {e}")),
            }
        }
        Err(crate::fatal!("cannot take the lock {path}"))
    }

    pub fn release(mut self) {
        let _ = std::fs::remove_file(&self.path);
        self.released = true;
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.released {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

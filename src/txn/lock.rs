//! The repository-wide lock (`<common git dir>/parallel/lock`), created exclusively like git's
//! `index.lock` and holding the pid and command of its owner.

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

/// Held while a mutating command runs; removed on drop.
pub struct Lock {
    path: Utf8PathBuf,
    released: bool,
}

/// Whether a process with this pid is alive (Linux: /proc; elsewhere assume it is).
pub fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = std::path::Path::new("/proc");
    if proc.is_dir() {
        return proc.join(pid.to_string()).exists();
    }
    true
}

/// The owner recorded in a lock file: (pid, command).
pub fn owner(path: &Utf8Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    Some((pid, lines.next().unwrap_or("").to_string()))
}

/// Creates the lock file with its owner already written: the content goes to a private file
/// first, which is then hard-linked to `path` (fails if `path` exists, atomically, like
/// `O_EXCL`). Another process never sees an empty lock file and mistakes it for a stale one.
fn create_with_owner(dir: &Utf8Path, path: &Utf8Path, command: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("lock.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{}\n{}", std::process::id(), command)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
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
                Ok(()) => {
                    return Ok(Lock {
                        path,
                        released: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let who = owner(&path);
                    match who {
                        Some((pid, cmd)) if pid_alive(pid) => {
                            return Err(crate::refused!(
                                code = crate::error::Code::Busy,
                                help = "wait for it to finish; if no git-parallel is running, remove {path}",
                                "another git-parallel is running here (pid {pid}: {cmd}); the repository is locked by {path}"
                            ))
                        }
                        Some((pid, cmd)) if reclaim_stale => {
                            crate::output::note(format_args!("taking over the lock of git-parallel pid {pid} ({cmd}), which is no longer running"));
                            std::fs::remove_file(&path)?;
                        }
                        Some((pid, cmd)) => {
                            return Err(crate::refused!(
                                help = "if no git-parallel is running, remove it: rm {path}\nthen run git parallel recover if an operation was interrupted",
                                "stale lock {path}: its owner (pid {pid}: {cmd}) is no longer running"
                            ))
                        }
                        // Never empty while its owner lives (written before it is linked in),
                        // so an unreadable one is a damaged leftover; still, only an old one
                        // is taken over.
                        None if reclaim_stale && older_than(&path, 60) => {
                            std::fs::remove_file(&path)?;
                        }
                        None => {
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

//! One `run` per repository at a time: an OS file lock (`flock`) on
//! `<state dir>/run/run.lock`, held for the run's whole life and released by the kernel when the
//! run ends, however it ends (a SIGKILL included: no stale lock, no pid check). The file names
//! the holder (pid, start time, directory) so that a second run can say who holds it.

use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;

use camino::Utf8Path;

use crate::error::Result;

/// The lock, held while this value lives (its file stays open; the descriptor is close-on-exec,
/// so no agent inherits it).
pub struct RunLock {
    _file: std::fs::File,
}

/// Takes the run lock of the repository whose run directory is `dir`, or refuses naming the
/// run that holds it.
pub fn acquire(dir: &Utf8Path) -> Result<RunLock> {
    std::fs::create_dir_all(dir).map_err(|e| crate::fatal!("cannot create {dir}: {e}"))?;
    let path = dir.join("run.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| crate::fatal!("cannot open the run lock {path}: {e}"))?;
    // SAFETY: flock(2) on a descriptor this function owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(crate::fatal!("cannot lock {path}: {err}"));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let field = |k: &str| {
            holder
                .lines()
                .find_map(|l| l.strip_prefix(k).map(str::trim))
                .unwrap_or("?")
                .to_string()
        };
        let pid = field("pid ");
        return Err(crate::refused!(
            help = format!(
                "one run per repository at a time: wait for it to end (it continues every task), or stop it (kill {pid}) and run again"
            ),
            "another 'git parallel run' is running in this repository: pid {pid}, started {}, in {}",
            field("started "),
            crate::taskgraph::display::safe(&field("cwd "))
        ));
    }
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let text = format!(
        "pid {}\nstarted {}\ncwd {cwd}\n",
        std::process::id(),
        crate::time::now_iso()
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()));
    if let Err(e) = written {
        return Err(crate::fatal!("cannot write the run lock {path}: {e}"));
    }
    Ok(RunLock { _file: file })
}

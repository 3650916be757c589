//! Lock files left by a killed run: git's `index.lock` and ref `*.lock` files that a git child
//! (or gix in our own process) held when the process group was killed. Recovery removes one
//! only when the journal proves it is ours (the caller's business: a step touching it was
//! started by a process that is dead) and no live process has it open.

use std::path::Path;

/// Whether a live process has `path` open (Linux: /proc/*/fd). Where /proc is missing, false:
/// the journal's proof is all there is.
fn in_use(path: &Path) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    let target = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    for p in procs.flatten() {
        let name = p.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l == target) {
                return true;
            }
        }
    }
    false
}

/// Removes a lock file left by a dead process of ours. A lock that some live process holds
/// open (a dying git child closing its files, or someone else's git) is waited for briefly,
/// then left alone: the git command that needs it will then name it.
pub fn clear(path: &Path) -> bool {
    for _ in 0..40 {
        if !path.exists() {
            return false;
        }
        if !in_use(path) {
            if std::fs::remove_file(path).is_ok() {
                crate::output::note(format_args!(
                    "removed {}, left by the interrupted git-parallel",
                    path.display()
                ));
                return true;
            }
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

//! The sandbox of the commands git-parallel starts in a worktree (`run`'s agents, `exec`'s
//! commands, the test gate's command): on Linux with Landlock, the command and every process it
//! starts may write only its own worktree, what git needs to commit there (the object store,
//! the directory of its branch's ref and reflog, the worktree's admin dir), a private TMPDIR,
//! a few devices (/dev/null…) and the paths of `parallel.sandboxWritable`. Reading is not
//! restricted, nor is the network.
//!
//! The ruleset is built in the parent (opening paths and allocating are not allowed between
//! fork and exec); the child only calls `prctl(PR_SET_NO_NEW_PRIVS)` and
//! `landlock_restrict_self` on the ruleset's descriptor before exec, both async-signal-safe.

use std::process::Command;

use camino::{Utf8Path, Utf8PathBuf};

use crate::error::{Error, Result};
use crate::git::Repo;

/// `--sandbox` / `parallel.sandbox`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Sandboxed where the kernel supports it, else unconfined with a warning (the default).
    Auto,
    /// Sandboxed, or refuse to run.
    On,
    /// Unconfined (the commands have all of the user's rights).
    Off,
}

impl Mode {
    /// As `parallel.sandbox` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::On => "on",
            Mode::Off => "off",
        }
    }
}

/// The devices a sandboxed command may open for writing.
const DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];

/// How commands started by this invocation run: decided once.
#[derive(Clone, Debug)]
pub struct Policy {
    pub mode: Mode,
    /// The kernel's Landlock ABI version (`None`: no Landlock here).
    pub abi: Option<i32>,
    /// `parallel.sandboxWritable`, absolute.
    pub writable: Vec<Utf8PathBuf>,
}

impl Policy {
    /// The mode from `flag` (`--sandbox`), else `parallel.sandbox`, else `default`; refuses
    /// `on` where Landlock is missing.
    pub fn load(repo: &Repo, flag: Option<&str>, default: Mode) -> Result<Policy> {
        let (value, origin) = match flag {
            Some(v) => (Some(v.to_string()), "--sandbox"),
            None => (
                repo.settings.get("parallel.sandbox").map(str::to_string),
                "parallel.sandbox",
            ),
        };
        let mode = match value.as_deref().map(str::trim) {
            None => default,
            Some("auto") => Mode::Auto,
            Some("on" | "true" | "yes") => Mode::On,
            Some("off" | "false" | "no") => Mode::Off,
            Some(v) => {
                return Err(crate::refused!(
                    help = "use auto, on or off",
                    "{origin} must be auto, on or off, not '{v}'"
                ))
            }
        };
        let abi = if mode == Mode::Off { None } else { abi() };
        if mode == Mode::On && abi.is_none() {
            return Err(crate::refused!(
                help = "run on Linux 5.13 or later with Landlock enabled, or pass --sandbox auto (unconfined with a warning) or off",
                "{origin} is on, but this system has no Landlock: nothing was run"
            ));
        }
        let home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
        let base = repo
            .main_worktree
            .clone()
            .unwrap_or_else(|| repo.common_dir.clone());
        let writable = repo
            .settings
            .sandbox_writable
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| match (p.strip_prefix("~/"), &home) {
                (Some(rest), Some(h)) => Utf8PathBuf::from(h).join(rest),
                _ => base.join(p),
            })
            .collect();
        Ok(Policy {
            mode,
            abi,
            writable,
        })
    }

    /// Whether commands run confined.
    pub fn active(&self) -> bool {
        self.mode != Mode::Off && self.abi.is_some()
    }

    /// How commands run, in two words: `sandboxed (Landlock ABI 7)` or `unconfined`.
    pub fn short(&self) -> String {
        match self.abi.filter(|_| self.active()) {
            Some(abi) => format!("sandboxed (Landlock ABI {abi})"),
            None => "unconfined".into(),
        }
    }

    /// One line saying how `what` (e.g. "agents") run: sandboxed, or unconfined and why.
    pub fn describe(&self, what: &str) -> String {
        match (self.mode, self.abi) {
            (Mode::Off, _) => format!("{what} run unconfined (sandbox off)"),
            (_, Some(abi)) => format!(
                "{what} run sandboxed (Landlock ABI {abi}): they may write only their worktree, \
                 the refs beside their branch, the object store and a private TMPDIR{}",
                if self.writable.is_empty() {
                    String::new()
                } else {
                    format!(" (and parallel.sandboxWritable: {})", join(&self.writable))
                }
            ),
            (_, None) => format!(
                "{what} run unconfined: this system has no Landlock (Linux 5.13 or later); \
                 set parallel.sandbox off to silence this"
            ),
        }
    }

    /// Confines `cmd`, to be run in `worktree`, when the sandbox is active: `tmp` is made anew
    /// (empty) and set as TMPDIR; `extra` (those that exist) are writable too. The paths it may
    /// write (empty when unconfined).
    pub fn confine(
        &self,
        cmd: &mut Command,
        worktree: &Utf8Path,
        tmp: &Utf8Path,
        extra: &[Utf8PathBuf],
    ) -> Result<Vec<Utf8PathBuf>> {
        if !self.active() {
            return Ok(Vec::new());
        }
        fresh_dir(tmp)?;
        cmd.env("TMPDIR", tmp.as_std_path());
        let mut paths = git_paths(worktree)?;
        paths.push(tmp.to_path_buf());
        paths.extend(self.writable.iter().cloned());
        paths.extend(extra.iter().filter(|p| p.exists()).cloned());
        restrict(cmd, &paths)?;
        paths.extend(DEVICES.iter().map(Utf8PathBuf::from));
        Ok(paths)
    }
}

fn join(paths: &[Utf8PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes `dir` if it exists and makes it again, empty.
fn fresh_dir(dir: &Utf8Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| crate::fatal!("cannot empty the sandbox's TMPDIR {dir}: {e}"))?;
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::fatal!("cannot create the sandbox's TMPDIR {dir}: {e}"))
}

/// Removes a TMPDIR made by [`Policy::confine`] (best effort: it is a leftover otherwise).
pub fn remove_tmp(dir: &Utf8Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// What git needs to write to commit in the linked worktree `worktree`: the worktree itself,
/// its admin dir (`<common>/worktrees/<name>`: HEAD, index, logs/HEAD), the object store, and
/// the directories of its branch's ref and reflog (created when missing, as git would).
fn git_paths(worktree: &Utf8Path) -> Result<Vec<Utf8PathBuf>> {
    let mut paths = vec![worktree.to_path_buf()];
    let dot_git = worktree.join(".git");
    let admin = if dot_git.is_dir() {
        dot_git
    } else {
        crate::txn::worktree::dotgit_target(worktree).ok_or_else(|| {
            crate::fatal!("cannot sandbox the command: {dot_git} does not name a git dir")
        })?
    };
    let common = match std::fs::read_to_string(admin.join("commondir")) {
        Ok(c) => admin.join(c.trim()),
        Err(_) => admin.clone(),
    };
    paths.push(admin.clone());
    paths.push(common.join("objects"));
    let head = std::fs::read_to_string(admin.join("HEAD")).unwrap_or_default();
    if let Some(branch) = head.trim().strip_prefix("ref:").map(str::trim) {
        if let Some((dir, _)) = branch.rsplit_once('/') {
            for d in [common.join(dir), common.join("logs").join(dir)] {
                std::fs::create_dir_all(&d)
                    .map_err(|e| crate::fatal!("cannot create {d} for the sandbox: {e}"))?;
                paths.push(d);
            }
        }
    }
    Ok(paths)
}

/// The kernel's Landlock ABI version, `None` without Landlock (or, in test builds, with
/// GIT_PARALLEL_NO_LANDLOCK set: a kernel without it is simulated).
#[cfg(target_os = "linux")]
pub fn abi() -> Option<i32> {
    #[cfg(feature = "failpoints")]
    if std::env::var_os("GIT_PARALLEL_NO_LANDLOCK").is_some() {
        return None;
    }
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns
    // the version (or -1 with ENOSYS/EOPNOTSUPP).
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    i32::try_from(v).ok().filter(|&v| v > 0)
}

#[cfg(not(target_os = "linux"))]
pub fn abi() -> Option<i32> {
    None
}

/// Builds the ruleset (writes handled everywhere, allowed beneath `paths` and on the devices)
/// and makes `cmd` restrict itself to it between fork and exec.
#[cfg(target_os = "linux")]
fn restrict(cmd: &mut Command, paths: &[Utf8PathBuf]) -> Result<()> {
    use landlock::{path_beneath_rules, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    // Every write right up to ABI 3 (Truncate); ioctl on devices (ABI 5) and the resolution of
    // Unix sockets (ABI 9) are left alone: they are not writes to files.
    let write = AccessFs::from_write(ABI::V3);
    let failed = |e: landlock::RulesetError| crate::fatal!("cannot build the sandbox: {e}");
    for p in paths {
        if !p.exists() {
            crate::output::warning(format_args!(
                "the sandbox's writable path {p} does not exist; skipped"
            ));
        }
    }
    let created = Ruleset::default()
        .handle_access(write)
        .map_err(failed)?
        .create()
        .map_err(failed)?
        .add_rules(path_beneath_rules(paths, write))
        .map_err(failed)?
        .add_rules(path_beneath_rules(DEVICES, write))
        .map_err(failed)?;
    let fd: Option<OwnedFd> = created.into();
    let Some(fd) = fd else {
        return Err(Error::Fatal(miette::miette!(
            "cannot build the sandbox: the kernel refused to create a Landlock ruleset"
        )));
    };
    // SAFETY: only prctl and the landlock_restrict_self syscall run in the child, both
    // async-signal-safe; the descriptor was made in the parent and lives in the closure.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, fd.as_raw_fd(), 0u32) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn restrict(_cmd: &mut Command, _paths: &[Utf8PathBuf]) -> Result<()> {
    Ok(())
}

/// The path of the first write the sandbox denied, as the command's output reports it: the
/// first path on the first line that says `Permission denied` (EACCES); the line itself when
/// it names none.
pub fn denied_path(output: &str) -> Option<String> {
    let line = output.lines().find(|l| l.contains("Permission denied"))?;
    let before = &line[..line.find("Permission denied").unwrap_or(line.len())];
    // The path is the last one named before the error (`sh: 3: cannot create /x: …`, where
    // the script's own path comes first).
    let path = before.split_whitespace().rev().find_map(|w| {
        let w = w
            .trim_matches(|c| matches!(c, '\'' | '"' | '‘' | '’' | '`' | '(' | ')'))
            .trim_end_matches([':', ',', ';'])
            .trim_matches(|c| matches!(c, '\'' | '"' | '‘' | '’' | '`'));
        w.contains('/').then(|| w.to_string())
    });
    Some(path.unwrap_or_else(|| line.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::denied_path;

    #[test]
    fn denied_path_finds_the_path_of_the_shells_and_gits_messages() {
        for (line, want) in [
            (
                "sh: 1: cannot create /work/main/x: Permission denied",
                "/work/main/x",
            ),
            (
                "touch: cannot touch '/home/u/f': Permission denied",
                "/home/u/f",
            ),
            (
                "fatal: Unable to create '/r/.git/refs/heads/main.lock': Permission denied",
                "/r/.git/refs/heads/main.lock",
            ),
            ("bash: line 1: ../other/f: Permission denied", "../other/f"),
            (
                "/tmp/t/agent.sh: 3: cannot create /work/main/d.txt: Permission denied",
                "/work/main/d.txt",
            ),
        ] {
            assert_eq!(
                denied_path(&format!("ok\n{line}\n")).as_deref(),
                Some(want),
                "{line}"
            );
        }
        assert_eq!(denied_path("all fine\n"), None);
        assert_eq!(
            denied_path("x: Permission denied").as_deref(),
            Some("x: Permission denied")
        );
    }
}

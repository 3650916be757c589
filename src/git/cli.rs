//! The `git` executable (found with `which`), run with one controlled environment.

use camino::{Utf8Path, Utf8PathBuf};
use std::process::{Command, Output, Stdio};

use super::{Error, Result};

/// Environment variables that point git at a repository other than the one found from its
/// working directory; removed for every git run inside a particular worktree.
pub const REPO_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
];

/// Runs the git CLI for what gix does not do (worktrees, checkout of the main worktree).
#[derive(Clone, Debug)]
pub struct GitCli {
    exe: Utf8PathBuf,
}

impl GitCli {
    pub fn find() -> Result<GitCli> {
        let exe = which::which("git").map_err(Error::NoGit)?;
        let exe = Utf8PathBuf::from_path_buf(exe).map_err(Error::GitPathNotUtf8)?;
        Ok(GitCli { exe })
    }

    /// A git command run in `dir` with the repository taken from `dir` alone: the caller's
    /// GIT_DIR/GIT_WORK_TREE/GIT_INDEX_FILE are removed so they cannot point it elsewhere.
    pub fn in_dir(&self, dir: &Utf8Path) -> Command {
        let mut c = Command::new(self.exe.as_std_path());
        for var in REPO_ENV {
            c.env_remove(var);
        }
        c.arg("-C").arg(dir.as_std_path());
        c.stdin(Stdio::null());
        // Reads (`git status`) take no optional index lock: killed, they leave none behind.
        c.env("GIT_OPTIONAL_LOCKS", "0");
        die_with_parent(&mut c);
        c
    }

    /// A git command for the main worktree given its git dir and work tree explicitly, so that it
    /// works with any layout (separate git dir, GIT_DIR set by the user).
    pub fn for_repo(&self, git_dir: &Utf8Path, work_tree: Option<&Utf8Path>) -> Command {
        let mut c = Command::new(self.exe.as_std_path());
        for var in ["GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX"] {
            c.env_remove(var);
        }
        c.env("GIT_DIR", git_dir.as_std_path());
        match work_tree {
            Some(wt) => {
                c.env("GIT_WORK_TREE", wt.as_std_path());
                c.current_dir(wt.as_std_path());
            }
            None => {
                c.env_remove("GIT_WORK_TREE");
            }
        }
        c.stdin(Stdio::null());
        // Reads (`git status`) take no optional index lock: killed, they leave none behind.
        c.env("GIT_OPTIONAL_LOCKS", "0");
        die_with_parent(&mut c);
        c
    }
}

/// Makes the child die (SIGKILL) when the thread that started it dies: a git-parallel killed
/// mid-step leaves no git of its own running on, racing the `recover` that follows (Linux;
/// elsewhere a no-op). Every thread that starts a child waits for it before it ends.
pub fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Runs a command, capturing output; a non-zero exit becomes an error quoting stderr.
pub fn run(mut cmd: Command) -> Result<Output> {
    let shown = describe(&cmd);
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| spawn_failed(format!("cannot run {shown}"), e))?;
    checked(&shown, out)
}

/// The output of a finished command, or an error quoting its stderr when it failed.
fn checked(shown: &str, out: Output) -> Result<Output> {
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Failed {
            command: shown.to_string(),
            status: out.status,
            stderr: stderr.trim().to_string(),
        });
    }
    Ok(out)
}

fn spawn_failed(what: String, source: std::io::Error) -> Error {
    Error::Spawn { what, source }
}

/// Runs a command and returns its stdout as text.
pub fn stdout(cmd: Command) -> Result<String> {
    let out = run(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command that prints a NUL-separated list (`-z`) and returns its entries.
pub fn stdout_z(cmd: Command) -> Result<Vec<String>> {
    Ok(stdout(cmd)?
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// `git worktree add …` style description for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = String::from("git");
    let mut args = cmd.get_args().peekable();
    // Skip "-C dir" noise.
    while let Some(a) = args.next() {
        if a == "-C" {
            args.next();
            continue;
        }
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command with `input` on its stdin; a non-zero exit becomes an error quoting stderr.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> Result<Output> {
    use std::io::Write;
    let shown = describe(&cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_failed(format!("cannot run {shown}"), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| spawn_failed(format!("cannot write to {shown}"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| spawn_failed(format!("cannot run {shown}"), e))?;
    checked(&shown, out)
}

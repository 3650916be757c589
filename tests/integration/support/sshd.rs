//! A real OpenSSH server for the tests: `sshd -D -e` on a free port of 127.0.0.1 with its own host
//! key and a key pair made for the test, one per test (tests run in parallel), killed with every
//! process it started when dropped. The test's HOME gets `.ssh/config` with the host aliases
//! [`HOSTS`] (`build1`, `build2`: both this server), and a directory with an `ssh` wrapper that
//! reads that config goes first on PATH ([`Sshd::apply`]): OpenSSH takes `~` from the password
//! database, not from $HOME, so a plain `ssh` would never see the test's HOME.
//!
//! Commands run over ssh get, through sshd's `SetEnv`, the test's HOME, no global or system git
//! config, the identity of `isolate` (GIT_AUTHOR_*/GIT_COMMITTER_*, fixed dates), no prompts, and
//! a PATH with the wrapper and the directory of the test's git-parallel binary (so `git parallel`
//! works there), then the caller's PATH. Not GIT_PARALLEL_NOW: leases need a running clock (pass
//! it with [`Sshd::start_with`] when a test wants it).
//!
//! Where sshd cannot be found or started (no openssh-server; not root and no privilege separation
//! directory...), `start` prints why and returns None: the test returns early.
//!
//! ```ignore
//! let r = TestRepo::new();
//! let Some(sshd) = Sshd::start(&r.home()) else { return };
//! let mut c = r.cmd();            // or r.git_cmd(dir), Command::new("ssh")...
//! sshd.apply(&mut c);             // PATH: the ssh wrapper, the binary's directory, the rest
//! c.args(["run", "--executor", "ssh", "--hosts", "build1:2,build2:2"]);
//! ```

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{isolate, BIN};

/// The ssh destinations the test HOME's config defines, both this server.
pub const HOSTS: [&str; 2] = ["build1", "build2"];

/// A running sshd serving the current user on 127.0.0.1; killed (with its sessions) when dropped.
pub struct Sshd {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Host key, config, log and the `ssh` wrapper's directory.
    dir: tempfile::TempDir,
    home: PathBuf,
}

impl Sshd {
    /// A server for the test whose HOME is `home` (TestRepo::home()); None, with the reason
    /// printed, where sshd cannot be found or started.
    pub fn start(home: &Path) -> Option<Sshd> {
        Sshd::start_with(home, &[])
    }

    /// As `start`, with `env` added to (or replacing) the variables ssh sessions get.
    pub fn start_with(home: &Path, env: &[(&str, &str)]) -> Option<Sshd> {
        let Some(sshd) = find_sshd() else {
            eprintln!("skipped: sshd not found (install openssh-server)");
            return None;
        };
        let Some(real_ssh) = which::which("ssh").ok() else {
            eprintln!("skipped: ssh not found (install openssh-client)");
            return None;
        };
        if !privsep_dir_ready() {
            eprintln!("skipped: sshd needs /run/sshd, which is missing and cannot be made");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_path_buf();
        let host_key = d.join("host_key");
        let ssh_dir = home.join(".ssh");
        std::fs::create_dir_all(&ssh_dir).expect("mkdir .ssh");
        let user_key = ssh_dir.join("id_ed25519");
        let _ = std::fs::remove_file(&user_key);
        let _ = std::fs::remove_file(ssh_dir.join("id_ed25519.pub"));
        for key in [&host_key, &user_key] {
            let out = Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "git-parallel-test",
                    "-f",
                ])
                .arg(key)
                .stdin(Stdio::null())
                .output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    eprintln!(
                        "skipped: ssh-keygen failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                    return None;
                }
                Err(e) => {
                    eprintln!("skipped: ssh-keygen not runnable: {e}");
                    return None;
                }
            }
        }
        let authorized = d.join("authorized_keys");
        std::fs::copy(ssh_dir.join("id_ed25519.pub"), &authorized).expect("authorized_keys");

        // `ssh` from PATH, reading the test HOME's config only.
        let wrapper_dir = d.join("bin");
        std::fs::create_dir_all(&wrapper_dir).expect("mkdir bin");
        let wrapper = wrapper_dir.join("ssh");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\n# ssh with $HOME/.ssh/config (OpenSSH itself reads ~ from the password \
                 database)\nexec '{}' -F \"$HOME/.ssh/config\" \"$@\"\n",
                real_ssh.display()
            ),
        )
        .expect("write ssh wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("chmod ssh wrapper");

        let path = search_path(&wrapper_dir);
        let mut vars: Vec<(String, String)> = vec![
            ("HOME".into(), home.display().to_string()),
            ("PATH".into(), path),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
            ("GIT_AUTHOR_NAME".into(), "Agent Smith".into()),
            ("GIT_AUTHOR_EMAIL".into(), "agent@example.com".into()),
            ("GIT_AUTHOR_DATE".into(), "2026-03-01T12:00:00Z".into()),
            ("GIT_COMMITTER_NAME".into(), "Agent Smith".into()),
            ("GIT_COMMITTER_EMAIL".into(), "agent@example.com".into()),
            ("GIT_COMMITTER_DATE".into(), "2026-03-01T12:00:00Z".into()),
            ("GIT_TERMINAL_PROMPT".into(), "false".into()),
            ("LC_ALL".into(), "C".into()),
        ];
        for (k, v) in env {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        let set_env: Vec<String> = vars.iter().map(|(k, v)| format!("\"{k}={v}\"")).collect();

        let log = d.join("sshd.log");
        let cfg = d.join("sshd_config");
        // A port taken between choosing it and sshd's bind: try another (bounded).
        for _ in 0..5 {
            let port = free_port()?;
            let text = format!(
                "ListenAddress 127.0.0.1\n\
                 Port {port}\n\
                 HostKey {host_key}\n\
                 AuthorizedKeysFile {authorized}\n\
                 PidFile none\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PermitUserRC no\n\
                 PrintMotd no\n\
                 PrintLastLog no\n\
                 X11Forwarding no\n\
                 MaxStartups 100\n\
                 MaxSessions 100\n\
                 SetEnv {set_env}\n",
                host_key = host_key.display(),
                authorized = authorized.display(),
                set_env = set_env.join(" "),
            );
            std::fs::write(&cfg, text).expect("write sshd_config");
            let log_file = std::fs::File::create(&log).expect("sshd log");
            let child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("skipped: {} could not be started: {e}", sshd.display());
                    return None;
                }
            };
            match wait_listening(&mut child, &log) {
                Listening::Yes => {
                    let s = Sshd {
                        child,
                        port,
                        dir,
                        home: home.to_path_buf(),
                    };
                    s.write_client_config(&user_key);
                    return Some(s);
                }
                Listening::PortTaken => continue,
                Listening::No(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    eprintln!("skipped: sshd did not start: {why}");
                    return None;
                }
            }
        }
        eprintln!("skipped: sshd found no free port in 5 tries");
        None
    }

    /// `<home>/.ssh/config`: the aliases of HOSTS on this server, key auth only, no host key
    /// checks, no prompts.
    fn write_client_config(&self, key: &Path) {
        let mut text = String::new();
        for host in HOSTS {
            text.push_str(&format!(
                "Host {host}\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {key}\n  \
                 IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  \
                 LogLevel ERROR\n  BatchMode yes\n  ConnectTimeout 10\n",
                port = self.port,
                key = key.display()
            ));
        }
        let path = self.home.join(".ssh/config");
        let mut f = std::fs::File::create(&path).expect("write .ssh/config");
        f.write_all(text.as_bytes()).expect("write .ssh/config");
    }

    /// The PATH that finds the `ssh` wrapper first, then the test's git-parallel, then the rest.
    pub fn path(&self) -> String {
        search_path(&self.dir.path().join("bin"))
    }

    /// Makes `cmd` use this server as a test user would: PATH from `path()`, no GIT_SSH* override.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("PATH", self.path())
            .env_remove("GIT_SSH")
            .env_remove("GIT_SSH_COMMAND")
            .env_remove("GIT_SSH_VARIANT")
            .env_remove("SSH_AUTH_SOCK");
    }

    /// `ssh <host> <line>` from PATH, with the test's isolated environment; its output.
    pub fn ssh(&self, host: &str, line: &str) -> Output {
        let mut c = Command::new("ssh");
        isolate(&mut c, &self.home);
        self.apply(&mut c);
        c.arg(host).arg(line).stdin(Stdio::null());
        c.output().expect("run ssh")
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What sshd logged so far (connections, refusals): for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Every session runs under a per-connection sshd that starts a session of its own, so
        // the daemon's process group is not enough: its descendants, collected before any dies.
        let pids = descendants(self.child.id());
        let _ = self.child.kill();
        for pid in pids {
            // SAFETY: kill(2) with a pid read from /proc a moment ago; no memory is involved.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

enum Listening {
    Yes,
    PortTaken,
    No(String),
}

/// Waits (at most 20 s) for sshd's "Server listening" line, or its exit.
fn wait_listening(child: &mut Child, log: &Path) -> Listening {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("Server listening on") {
            return Listening::Yes;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains("Address already in use") {
                return Listening::PortTaken;
            }
            return Listening::No(format!("{status}: {}", text.trim()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Listening::No("no \"Server listening\" within 20 s".into())
}

fn find_sshd() -> Option<PathBuf> {
    let p = Path::new("/usr/sbin/sshd");
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    which::which("sshd").ok()
}

/// sshd started as root needs its privilege separation directory (made by the service's start
/// script on Debian, so missing where the service never ran): made here when we can.
fn privsep_dir_ready() -> bool {
    let dir = Path::new("/run/sshd");
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    if dir.is_dir() || unsafe { libc::geteuid() } != 0 {
        return true;
    }
    std::fs::create_dir_all(dir).is_ok()
        && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).is_ok()
}

fn free_port() -> Option<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    Some(l.local_addr().ok()?.port())
}

/// `first`, the directory of the test's binary, then the caller's PATH.
fn search_path(first: &Path) -> String {
    let bin_dir = Path::new(BIN).parent().unwrap_or(Path::new("/"));
    let rest = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    format!("{}:{}:{rest}", first.display(), bin_dir.display())
}

/// Every living process below `root` (children first found, by parent pid from /proc).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = after
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok())
            {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        for (pid, ppid) in &parent_of {
            if *ppid == p && !found.contains(pid) {
                found.push(*pid);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

//! Where `run`'s agent attempts run (`--executor`, `parallel.executor`): `local` (a process in
//! the task's worktree, src/commands/run/agent.rs), or on another machine coordinated through
//! the git remote (issue 22's protocol, src/workflow/remote/attempts.rs): `ssh` runs `git
//! parallel work` on one of `--hosts` (each with its slots), `command` runs the `--dispatch`
//! template. This file reads and checks the settings once, as a value; dispatch.rs starts a
//! remote attempt, watch.rs waits for its outcome on the remote.

use std::time::Duration;

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::workflow::context::Context;

/// The lease age past which an attempt counts as lost (`parallel.leaseTimeout`).
const LEASE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the remote is read (`parallel.pollInterval`).
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Where the attempts run.
pub enum Executor {
    /// A process on this machine, in the task's worktree.
    Local,
    /// `git parallel work` elsewhere, watched through the remote.
    Remote(Remote),
}

/// A remote executor's settings.
pub struct Remote {
    pub how: How,
    /// The remote's name (`--remote`, `parallel.remote`).
    pub remote: String,
    /// Its URL, as the workers reach it.
    pub url: String,
    /// `parallel.leaseTimeout`.
    pub lease_timeout: Duration,
    /// `parallel.pollInterval`.
    pub poll: Duration,
}

/// How an attempt is dispatched.
pub enum How {
    /// `ssh <host> 'cd <dir> && git parallel work …'`.
    Ssh {
        hosts: Vec<Host>,
        /// `parallel.remoteDir` (`{host}` not yet replaced).
        dir: String,
    },
    /// `sh -c <template>` with `{id}`, `{attempt}`, `{remote}`, `{branch}` replaced.
    Command { template: String },
}

/// The ssh hosts whose clone directory is known to exist (made by this run or found there).
pub type Cloned = std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>;

/// An ssh destination and how many agents it runs at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub dest: String,
    pub slots: usize,
}

impl Executor {
    /// The executor `run` was told to use, checked.
    pub fn from_ctx(ctx: &Context) -> Result<Executor> {
        let kind = ctx
            .flag_or_config(&defs::EXECUTOR)
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "local".into());
        let how = match kind.as_str() {
            "local" => return Ok(Executor::Local),
            "ssh" => How::Ssh {
                hosts: parse_hosts(&ctx.flag_or_config(&defs::HOSTS).unwrap_or_default())?,
                dir: ctx
                    .repo
                    .settings
                    .get("parallel.remoteDir")
                    .filter(|d| !d.trim().is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| default_dir(ctx)),
            },
            "command" => match ctx
                .flag_or_config(&defs::DISPATCH)
                .filter(|t| !t.trim().is_empty())
            {
                Some(template) => How::Command { template },
                None => {
                    return Err(usage(
                        "--executor command needs the command that starts a worker: pass --dispatch CMD or set parallel.dispatch (e.g. 'gh workflow run git-parallel.yml -f task={id} -f attempt={attempt}')",
                    ))
                }
            },
            other => {
                return Err(usage(&format!(
                    "--executor / parallel.executor is local, ssh or command, not '{other}'"
                )))
            }
        };
        let Some(remote) = ctx
            .flag_or_config(&defs::REMOTE)
            .filter(|r| !r.trim().is_empty())
        else {
            return Err(crate::refused!(
                help = "pass --remote NAME (or git config parallel.remote NAME) naming the shared remote the workers clone and push to; add one with git remote add origin <url>",
                "--executor {kind} needs a remote: the workers on other machines publish their work and outcome there, and run lands it from there"
            ));
        };
        let url = crate::git::remote::url(&ctx.repo.loc, &remote).map_err(|_| {
            crate::refused!(
                help = "name a configured remote (git remote -v), or add one: git remote add {remote} <url>",
                "{remote:?} is not a configured git remote (--remote / parallel.remote)"
            )
        })?;
        Ok(Executor::Remote(Remote {
            how,
            remote,
            url,
            lease_timeout: duration(ctx, "parallel.leaseTimeout", LEASE_TIMEOUT)?,
            poll: duration(ctx, "parallel.pollInterval", POLL_INTERVAL)?,
        }))
    }

    /// The remote executor, if this is one.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Executor::Local => None,
            Executor::Remote(r) => Some(r),
        }
    }
}

impl Remote {
    /// The executor's name as a lease records it for a host (`ssh:<host>`, `command`).
    pub fn name_on(&self, host: Option<&str>) -> String {
        match (&self.how, host) {
            (How::Ssh { .. }, Some(h)) => format!("ssh:{h}"),
            (How::Ssh { .. }, None) => "ssh".into(),
            (How::Command { .. }, _) => "command".into(),
        }
    }

    /// Free slots over all hosts, given the host of each running attempt (`usize::MAX` for
    /// `command`: only -j caps it).
    pub fn free_slots<'a>(&self, running: impl Iterator<Item = Option<&'a str>> + Clone) -> usize {
        if self.hosts().is_empty() {
            return usize::MAX;
        }
        self.hosts()
            .iter()
            .map(|h| {
                let used = running
                    .clone()
                    .filter(|r| *r == Some(h.dest.as_str()))
                    .count();
                h.slots.saturating_sub(used)
            })
            .sum()
    }

    /// The hosts with their slots (empty for `command`).
    pub fn hosts(&self) -> &[Host] {
        match &self.how {
            How::Ssh { hosts, .. } => hosts,
            How::Command { .. } => &[],
        }
    }
}

fn usage(msg: &str) -> Error {
    Error::usage(msg.to_string(), Some(defs::RUN.name))
}

/// `~/.cache/git-parallel/<the repository's directory name>`.
fn default_dir(ctx: &Context) -> String {
    let name = ctx
        .repo
        .workdir()
        .ok()
        .and_then(|w| w.file_name().map(str::to_string))
        .unwrap_or_else(|| "repo".into());
    format!("~/.cache/git-parallel/{name}")
}

/// A duration setting, or `default` when unset.
fn duration(ctx: &Context, key: &str, default: Duration) -> Result<Duration> {
    match ctx.repo.settings.get(key) {
        None => Ok(default),
        Some(v) => crate::time::parse_duration(v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                usage(&format!(
                    "{key} takes a duration such as 2s, 500ms or 1m, not '{v}'"
                ))
            }),
    }
}

/// `build1:4,build2:2`: ssh destinations with their slots (1 when `:N` is left out).
pub fn parse_hosts(list: &str) -> Result<Vec<Host>> {
    let mut hosts: Vec<Host> = Vec::new();
    for entry in list.split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let (dest, slots) = match entry.rsplit_once(':') {
            None => (entry, 1),
            Some((dest, n)) => match n.trim().parse::<usize>() {
                Ok(n) if n > 0 && !dest.trim().is_empty() => (dest.trim(), n),
                _ => {
                    return Err(usage(&format!(
                        "--hosts / parallel.hosts: '{entry}' is not HOST or HOST:N with N a whole number of 1 or more (e.g. build1:4,build2:2)"
                    )))
                }
            },
        };
        if dest.starts_with('-') || dest.chars().any(char::is_whitespace) {
            return Err(usage(&format!(
                "--hosts / parallel.hosts: '{entry}' is not an ssh destination (e.g. build1:4,build2:2)"
            )));
        }
        if hosts.iter().any(|h| h.dest == dest) {
            return Err(usage(&format!(
                "--hosts / parallel.hosts names {dest} twice; give it once with all its slots (e.g. {dest}:4)"
            )));
        }
        hosts.push(Host {
            dest: dest.to_string(),
            slots,
        });
    }
    if hosts.is_empty() {
        return Err(usage(
            "--executor ssh needs hosts: pass --hosts build1:4,build2:2 or set parallel.hosts",
        ));
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_and_without_slots() {
        let h = parse_hosts("build1:4, build2 ,me@build3:2").unwrap();
        let got: Vec<(&str, usize)> = h.iter().map(|h| (h.dest.as_str(), h.slots)).collect();
        assert_eq!(got, [("build1", 4), ("build2", 1), ("me@build3", 2)]);
    }

    #[test]
    fn free_slots_count_each_hosts_running_attempts() {
        let r = Remote {
            how: How::Ssh {
                hosts: parse_hosts("build1:2,build2:1").unwrap(),
                dir: "~/x".into(),
            },
            remote: "origin".into(),
            url: "/srv/x.git".into(),
            lease_timeout: LEASE_TIMEOUT,
            poll: POLL_INTERVAL,
        };
        let running = [Some("build1"), Some("build2"), Some("elsewhere")];
        assert_eq!(r.free_slots(running.iter().copied()), 1);
        assert_eq!(r.free_slots([None; 0].iter().copied()), 3);
        let c = Remote {
            how: How::Command {
                template: "x".into(),
            },
            ..r
        };
        assert_eq!(c.free_slots([None; 0].iter().copied()), usize::MAX);
    }

    #[test]
    fn bad_host_entries_are_named() {
        for (list, named) in [
            ("build1:0", "'build1:0'"),
            ("build1:x,b2", "'build1:x'"),
            (":3", "':3'"),
            ("a,a:2", "names a twice"),
            ("-oProxyCommand=x", "'-oProxyCommand=x'"),
            ("", "needs hosts"),
        ] {
            let e = parse_hosts(list).unwrap_err().to_string();
            assert!(e.contains(named), "{list}: {e}");
        }
    }
}

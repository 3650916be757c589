//! Dispatching one attempt to another machine (`run --executor ssh|command`): the attempt's
//! lease written on the remote first (attempt N, holder `dispatched`, the last failure for the
//! worker to hand its agent, leased on the lease it replaces, so an older worker's renewals and
//! final push fail; a remote out of reach fails the attempt), then the worker started: `ssh
//! <host> 'cd <dir> && git parallel work ID --attempt N --agent … --remote <URL>'` (the host's
//! clone made first when missing, once per host), or the `--dispatch` template through `sh -c`.
//! The process's output goes to the task's log; when it ends, the watcher (watch.rs) is told,
//! and decides from the remote.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use camino::Utf8PathBuf;

use super::events::Event;
use super::executor::{Cloned, How, Remote};
use super::schedule::{Running, Sched};
use super::state::Last;
use super::watch::{Verdict, Watch};
use crate::error::Result;
use crate::taskgraph::display::{fill_template, shell_quote};
use crate::workflow::attempt::agent::append_log;
use crate::workflow::attempt::feedback::wants_merge;
use crate::workflow::failure::{Failure, Kind};
use crate::workflow::remote::attempts::{self, Lease, Written};

/// One dispatch process.
struct Job {
    id: String,
    attempt: u32,
    log: Utf8PathBuf,
    /// `(host, clone script)`: run first, once per host, for ssh.
    clone: Option<(String, String)>,
    /// What runs the worker (or asks an engine to).
    command: Command,
    /// A dispatch that returns at once (command): only a failure is news.
    detached: bool,
    grace: Duration,
}

impl Sched<'_> {
    /// Attempt N+1 of `id`: its lease written on the remote, then the worker dispatched.
    pub(super) fn dispatch(
        &mut self,
        id: &str,
        branch: String,
        worktree: Utf8PathBuf,
    ) -> Result<()> {
        let Some(remote) = self.cfg.executor.remote() else {
            return Ok(());
        };
        let host = pick_host(remote, &self.running);
        let executor = remote.name_on(host.as_deref());
        let loc = self.ctx.repo.loc.clone();
        let name = remote.remote.clone();
        let Some(watch) = self.watch.clone() else {
            return Ok(());
        };
        // What the remote knows of the task: attempt numbers only grow.
        // The remote out of reach (here, or at the lease's write): this attempt fails with
        // why, and is retried like any other; the run goes on.
        let mut unreachable = None;
        let mut seen = match watch.recent() {
            Some(s) => s,
            None => match attempts::read_all(&loc, &name) {
                Ok(s) => {
                    watch.seen(&s);
                    s
                }
                Err(e) => {
                    unreachable = Some(format!("cannot read it: {}", one_line(&e)));
                    attempts::Board::default()
                }
            },
        };
        // A task this run has not dispatched yet whose lease is alive on the remote was
        // dispatched by another run on the same remote (two orchestrators can both start it
        // when their start commits are identical): theirs.
        let fresh = self.records.get(id).is_none_or(|r| r.attempts == 0);
        if fresh {
            if let Some(who) = live_lease(&seen, id, remote.lease_timeout) {
                return self.yield_task(id, &who);
            }
        }
        let floor = last_attempt(&seen, id);
        self.records.at_least(id, floor);
        let attempt = self.records.begin(id, executor.clone());
        self.records.save()?;
        self.summary.attempts += 1;
        let log = self.log_of(id);
        // What attempt N-1 failed with (a landing's conflict, test gate or refusal included)
        // goes to the worker in the lease, with whether to merge the target first.
        let last = (attempt > 1)
            .then(|| crate::workflow::failure::last(&self.cfg.dir, id))
            .flatten();
        let merge = last
            .as_ref()
            .is_some_and(|f| wants_merge(f, self.cfg.on_conflict));
        let lease =
            Lease::dispatched(id, attempt, &executor, crate::time::now_secs()).after(last, merge);
        let mut refused = unreachable;
        let rounds = if refused.is_some() { 0 } else { 2 };
        for round in 0..rounds {
            let expected = seen.lease(id).map(|l| l.blob);
            match attempts::write_lease(&loc, &name, expected, &lease) {
                Ok(Written::Done(_)) => {
                    refused = None;
                    break;
                }
                Ok(Written::Lost(why) | Written::Failed(why)) => refused = Some(one_line(&why)),
                Err(e) => refused = Some(one_line(&e)),
            }
            if round == 1 {
                break;
            }
            // Changed meanwhile (a stale read), or unreachable: read again, once.
            match attempts::read_all(&loc, &name) {
                Ok(s) => seen = s,
                Err(e) => {
                    refused = Some(format!("cannot read it: {}", one_line(&e)));
                    break;
                }
            }
            watch.seen(&seen);
            if fresh {
                if let Some(who) = live_lease(&seen, id, remote.lease_timeout) {
                    self.records.forget(id);
                    self.records.save()?;
                    self.summary.attempts -= 1;
                    return self.yield_task(id, &who);
                }
            }
        }
        if attempt > 1 {
            self.sink.event(&Event::Retried {
                id: id.into(),
                attempt,
            });
        }
        self.sink.event(&Event::Started {
            id: id.into(),
            attempt,
            branch: crate::git::short_branch(&branch).into(),
            worktree: match &host {
                Some(h) => format!("{h}:{}", remote_dir(remote, h)),
                None => executor.clone(),
            },
            log: log.to_string(),
        });
        watch.add(id, attempt, &branch);
        self.running.insert(
            id.into(),
            Running {
                branch: branch.clone(),
                worktree,
                host: host.clone(),
            },
        );
        if let Some(why) = refused {
            let f = Failure::new(
                Kind::Refused,
                format!("the lease of {id} on {name} could not be written ({why}): attempt {attempt} was not dispatched"),
                attempt,
            );
            watch.fail_now(id, attempt, f);
            return Ok(());
        }
        append_log(
            &log,
            &format!(
                "==== attempt {attempt} of {id} at {}: dispatched ({executor})\n",
                crate::time::now_iso()
            ),
        );
        match self.job(remote, id, attempt, &branch, host.as_deref(), log) {
            Some(job) => spawn(job, watch, self.cloned.clone(), self.stop.clone()),
            None => watch.fail_now(
                id,
                attempt,
                Failure::new(Kind::Refused, "no ssh host has a free slot", attempt),
            ),
        }
        Ok(())
    }

    fn job(
        &self,
        remote: &Remote,
        id: &str,
        attempt: u32,
        branch: &str,
        host: Option<&str>,
        log: Utf8PathBuf,
    ) -> Option<Job> {
        let short = crate::git::short_branch(branch).to_string();
        let (command, clone, detached) = match (&remote.how, host) {
            (How::Ssh { .. }, Some(h)) => {
                let dir = sh_path(&remote_dir(remote, h));
                let work = format!(
                    "cd {dir} && git parallel work {} --attempt {attempt} --agent {} --remote {}",
                    shell_quote(id),
                    shell_quote(&self.cfg.agent),
                    shell_quote(&remote.url)
                );
                let clone = format!(
                    "test -d {dir}/.git || {{ mkdir -p {dir} && git clone -q {} {dir}; }}",
                    shell_quote(&remote.url)
                );
                (ssh(h, &work), Some((h.to_string(), clone)), false)
            }
            (How::Ssh { .. }, None) => return None,
            (How::Command { template }, _) => {
                let line = fill_template(
                    template,
                    &[
                        ("id", id),
                        ("attempt", &attempt.to_string()),
                        ("remote", &remote.url),
                        ("branch", &short),
                    ],
                );
                let mut c = Command::new("sh");
                c.arg("-c").arg(line);
                if let Ok(dir) = self.ctx.repo.workdir() {
                    c.current_dir(dir);
                }
                (c, None, true)
            }
        };
        Some(Job {
            id: id.to_string(),
            attempt,
            log,
            clone,
            command,
            detached,
            grace: self.cfg.grace,
        })
    }

    /// `id` landed or was marked failed: its lease and outcomes are deleted from the remote,
    /// leased on their values as last read (best effort: a leftover is harmless, attempt
    /// numbers only grow).
    pub(super) fn clear_attempt_refs(&self, id: &str) {
        let (Some(watch), Some(r)) = (&self.watch, self.cfg.executor.remote()) else {
            return;
        };
        let Some(board) = watch.last() else { return };
        if !board.refs_of(id).is_empty() {
            let _ = attempts::clear(&self.ctx.repo.loc, &r.remote, &board, &[id]);
        }
    }

    /// Tasks in progress when run begins with a remote executor (id, branch, worktree path):
    /// those another clone started are left to it; of this clone's, one whose last attempt
    /// was landable is finished, one whose attempt still holds a live lease (or has an outcome
    /// not yet read) is watched again, the others are dispatched again.
    pub(super) fn resume_remote(
        &mut self,
        tasks: Vec<(String, String, Utf8PathBuf)>,
    ) -> Result<()> {
        let (Some(remote), Some(watch)) = (self.cfg.executor.remote(), self.watch.clone()) else {
            return Ok(());
        };
        let ours: Vec<_> = tasks
            .into_iter()
            .filter(|(id, _, _)| match self.records.get(id) {
                Some(_) => true,
                None => {
                    self.unstartable.insert(
                        id.clone(),
                        "in progress, started by another clone (its run dispatches it)".into(),
                    );
                    false
                }
            })
            .collect();
        if ours.is_empty() {
            return Ok(());
        }
        let board = attempts::read_all(&self.ctx.repo.loc, &remote.remote)?;
        watch.seen(&board);
        for (id, branch, wt) in ours {
            if let Some(r) = self.records.get(&id).filter(|r| r.last == Last::Succeeded) {
                // Landed from the tip its outcome published, as when it was first read.
                let tip = board
                    .outcome(&id, r.attempts)
                    .and_then(|o| o.value.tip.as_deref()?.parse().ok());
                if let Some(t) = tip {
                    self.tips.insert(id.clone(), t);
                }
                self.to_finish.push(id);
                continue;
            }
            let lease = board.lease(&id).map(|l| &l.value);
            let alive = lease.filter(|l| {
                board.outcome(&id, l.attempt).is_some()
                    || (l.holder != attempts::DONE
                        && !l.expired(crate::time::now_secs(), remote.lease_timeout))
            });
            match alive {
                Some(l) => {
                    // Its worker is still at it (run was stopped, not the worker): watched again.
                    self.records.running_as(&id, l.attempt, l.executor.clone());
                    self.records.save()?;
                    let host = l.executor.strip_prefix("ssh:").map(str::to_string);
                    append_log(
                        &self.log_of(&id),
                        &format!(
                            "==== attempt {} of {id} still out ({}): watched again\n",
                            l.attempt, l.executor
                        ),
                    );
                    watch.add(&id, l.attempt, &branch);
                    self.running.insert(
                        id,
                        Running {
                            branch,
                            worktree: wt,
                            host,
                        },
                    );
                }
                None => {
                    if self
                        .records
                        .get(&id)
                        .is_some_and(|r| r.last == Last::Running)
                    {
                        self.records.interrupted(&id);
                    }
                    self.again.push_back((id, branch, wt));
                }
            }
        }
        Ok(())
    }

    /// `id` is dispatched by another run on the remote (`who`): left to it.
    fn yield_task(&mut self, id: &str, who: &str) -> Result<()> {
        let why = format!("dispatched by another run on this remote ({who}): it lands it");
        append_log(&self.log_of(id), &format!("==== {id}: {why}\n"));
        crate::output::note(format_args!("{id}: {why}"));
        self.unstartable.insert(id.to_string(), why);
        Ok(())
    }

    /// A remote attempt ended with `verdict`: landed, or failed and retried like a local one.
    pub(super) fn remote_done(
        &mut self,
        id: &str,
        attempt: u32,
        r: Running,
        v: Verdict,
    ) -> Result<()> {
        match v {
            Verdict::Failed(f) => self.attempt_failed(id, f, r.branch, r.worktree),
            Verdict::TakenOver(who) => {
                self.records.forget(id);
                self.records.save()?;
                self.yield_task(id, &who)
            }
            Verdict::Landable { commits, tip } => {
                match tip {
                    Some(t) => self.tips.insert(id.to_string(), t),
                    None => self.tips.remove(id),
                };
                append_log(
                    &self.log_of(id),
                    &format!("==== attempt {attempt} ended: ok, {commits} commit(s) published\n"),
                );
                self.records.succeeded(id);
                self.records.save()?;
                self.sink.event(&Event::Finished {
                    id: id.into(),
                    attempt,
                    commits,
                });
                self.to_finish.push(id.into());
                Ok(())
            }
        }
    }
}

/// `e` on one line (a failure's message is one line): its lines joined.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Who holds `id`'s lease, when it is alive (not done, not expired).
fn live_lease(board: &attempts::Board, id: &str, timeout: Duration) -> Option<String> {
    let l = &board.lease(id)?.value;
    let now = crate::time::now_secs();
    (l.holder != attempts::DONE && !l.expired(now, timeout)).then(|| {
        format!(
            "attempt {} by {}, held by {}",
            l.attempt, l.executor, l.holder
        )
    })
}

/// The highest attempt of `id` the remote knows (0: none): attempt numbers only grow.
fn last_attempt(board: &attempts::Board, id: &str) -> u32 {
    let lease = board.lease(id).map_or(0, |l| l.value.attempt);
    let outcome = board
        .outcomes
        .get(id)
        .and_then(|o| o.keys().next_back().copied())
        .unwrap_or(0);
    lease.max(outcome)
}

/// The host with the most free slots (the first of those), for ssh; None for command.
fn pick_host(
    remote: &Remote,
    running: &std::collections::BTreeMap<String, Running>,
) -> Option<String> {
    remote
        .hosts()
        .iter()
        .map(|h| {
            let used = running
                .values()
                .filter(|r| r.host.as_deref() == Some(h.dest.as_str()))
                .count();
            (h, h.slots.saturating_sub(used))
        })
        .filter(|(_, free)| *free > 0)
        .max_by_key(|(h, free)| {
            (
                *free,
                std::cmp::Reverse(remote.hosts().iter().position(|x| x == *h)),
            )
        })
        .map(|(h, _)| h.dest.clone())
}

/// `parallel.remoteDir` for `host`.
fn remote_dir(remote: &Remote, host: &str) -> String {
    match &remote.how {
        How::Ssh { dir, .. } => crate::taskgraph::display::substitute(dir, &[("host", host)]),
        How::Command { .. } => String::new(),
    }
}

/// A path for the remote shell: `~/x` as `"$HOME"/'x'`, anything else quoted.
fn sh_path(p: &str) -> String {
    match p.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", shell_quote(rest)),
        None if p == "~" => "\"$HOME\"".into(),
        None => shell_quote(p).into_owned(),
    }
}

/// `ssh <host> <script>`, never prompting.
fn ssh(host: &str, script: &str) -> Command {
    let mut c = Command::new("ssh");
    c.args(["-o", "BatchMode=yes", "--", host, script]);
    c
}

/// Runs the job in a thread: the host's clone first when needed, then the dispatch; tells
/// `watch` how it ended.
fn spawn(job: Job, watch: Arc<Watch>, cloned: Cloned, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Job {
            id,
            attempt,
            log,
            clone,
            command,
            detached,
            grace,
        } = job;
        if let Some((host, script)) = clone {
            // One clone per host at a time; the others wait and find it made.
            let mut made = cloned.lock().unwrap_or_else(|p| p.into_inner());
            if !made.contains(&host) {
                append_log(
                    &log,
                    &format!("==== making the clone on {host} when missing\n"),
                );
                match run_logged(ssh(&host, &script), &log, &stop, grace) {
                    Ok(0) => {
                        made.insert(host.clone());
                    }
                    Ok(code) => {
                        drop(made);
                        return watch.ended(
                            &id,
                            attempt,
                            format!("the clone on {host} could not be made (ssh exited {code}; see the log)"),
                        );
                    }
                    Err(e) => {
                        drop(made);
                        return watch.ended(&id, attempt, format!("cannot run ssh: {e}"));
                    }
                }
            }
        }
        match run_logged(command, &log, &stop, grace) {
            Ok(0) if detached => {}
            Ok(code) if detached => watch.fail_now(
                &id,
                attempt,
                Failure::new(
                    Kind::Exit,
                    format!("the dispatch command exited with {code} (see the log)"),
                    attempt,
                ),
            ),
            Ok(code) => watch.ended(&id, attempt, format!("the ssh session ended (exit {code})")),
            Err(e) => watch.fail_now(
                &id,
                attempt,
                Failure::new(
                    Kind::Exit,
                    format!("the dispatch could not be started: {e}"),
                    attempt,
                ),
            ),
        }
    });
}

/// Runs `cmd` (stdin null, output appended to `log`, its own process group, ended with run)
/// to its end or until `stop`; its exit code (-1: killed).
fn run_logged(
    mut cmd: Command,
    log: &Utf8PathBuf,
    stop: &AtomicBool,
    grace: Duration,
) -> std::result::Result<i32, String> {
    append_log(log, &format!("==== {}\n", crate::git::cli::describe(&cmd)));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {log}: {e}"))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    crate::git::cli::die_with_parent(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status.code().unwrap_or(-1)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        if stop.load(Ordering::SeqCst) {
            let pgid = i32::try_from(child.id()).unwrap_or(0);
            crate::workflow::attempt::group::end(pgid, grace);
            let _ = child.kill();
            let _ = child.wait();
            return Ok(-1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

//! `git parallel work ID [--attempt N] [--agent CMD] [--remote NAME|URL]`: one attempt of a
//! task's agent on this machine, coordinated through the shared remote alone (the protocol is
//! src/workflow/remote/attempts.rs). In order: find (or clone) the clone and its remote; read
//! the task's lease and take it with a leased push (or stop, publishing nothing, when it names
//! another attempt); join the task as `join --remote` does (or keep the worktree it has here);
//! run the agent there as `run` does (src/workflow/attempt/), renewing the lease every
//! `parallel.leaseInterval`; then publish the task branch, the outcome and the lease marked
//! done in one atomic leased push. A renewal that finds the lease taken over stops the agent
//! and publishes nothing.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::cli::{defs, Args};
use crate::error::{Code, Error, Result};
use crate::git::remote::{fetched_ref, named};
use crate::git::RefUpdate;
use crate::taskgraph::Status;
use crate::workflow::agent_env::{self, AgentEnv};
use crate::workflow::attempt::agent::{self, Done, Exit, Spec};
use crate::workflow::attempt::{feedback, watchdog::Watchdog};
use crate::workflow::context::Context;
use crate::workflow::failure::{self, Failure, Kind};
use crate::workflow::remote::attempts::{
    self, outcome_ref, Lease, Outcome, OutcomeFailure, Stored, Written, DONE,
};
use crate::workflow::report::{self, Report};
use crate::workflow::session::Session;

/// The grace between SIGTERM and SIGKILL for the agent, in seconds (as run's;
/// `GIT_PARALLEL_KILL_GRACE` overrides it).
const GRACE_SECONDS: u64 = 5;

/// How long a worker waits for another git-parallel holding this clone's lock (another worker
/// joining its own task here) before it gives up.
const BUSY_WAIT: Duration = Duration::from_secs(120);

/// How many more times a worker tries to join after git failed (a fetch racing another one).
const FATAL_TRIES: u32 = 2;

/// What a worker published (`--json`: the outcome's fields, plus `remote`, `worktree`, `log`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Worked {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The remote it was published to.
    pub remote: String,
    /// The task's worktree here.
    #[schemars(with = "String")]
    pub worktree: Utf8PathBuf,
    /// The agent's log here.
    #[schemars(with = "String")]
    pub log: Utf8PathBuf,
}

impl fmt::Display for Worked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.outcome;
        let tip = o.tip.as_deref().map_or("none", |t| &t[..t.len().min(12)]);
        if o.ok {
            writeln!(
                f,
                "Attempt {} of {} succeeded on {} in {:.0}s: {} commit{}, tip {tip}.",
                o.attempt,
                o.task,
                o.host,
                o.seconds,
                o.commits,
                if o.commits == 1 { "" } else { "s" }
            )?;
        } else {
            let why = o.failure.as_ref().map_or("failed".to_string(), |x| {
                format!("{}: {}", x.kind.name(), x.message)
            });
            writeln!(
                f,
                "Attempt {} of {} failed on {} in {:.0}s ({why}); tip {tip}.",
                o.attempt, o.task, o.host, o.seconds
            )?;
        }
        writeln!(
            f,
            "Published to {}: the branch, {} and the lease.",
            self.remote,
            outcome_ref(&o.task, o.attempt)
        )?;
        writeln!(f, "Log: {}", self.log)
    }
}

impl Report for Worked {
    fn essential(&self) -> bool {
        true
    }
}

pub fn run(args: Args) -> Result<()> {
    crate::txn::interrupt::install();
    enter_clone(&args)?;
    let ctx = Context::open(args)?;
    let id = ctx.args.positionals.first().cloned().unwrap_or_default();
    let remote = remote_name(&ctx)?;
    let attempt = attempt_arg(&ctx)?;
    let agent = ctx
        .flag_or_config(&defs::AGENT)
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| {
            Error::usage(
                "no agent command: pass --agent CMD or set it with git config parallel.agent CMD",
                Some(defs::WORK.name),
            )
        })?;
    let interval = attempts::lease_interval(&ctx.repo.settings)?;
    let loc = &ctx.repo.loc;
    let board = attempts::read_all(loc, &remote).map_err(|e| unreachable(&remote, &e))?;
    let held = take_lease(&ctx, &remote, &id, attempt, board.lease(&id))?;
    let n = held.value.attempt;
    let started_at = crate::time::now_secs();
    let began = Instant::now();
    let mut w = Worker {
        ctx: &ctx,
        remote: remote.clone(),
        id: id.clone(),
        lease: held,
        holder: attempts::holder(),
        interval,
        started_at,
        began,
    };
    let joined = match join(&ctx, &remote, &id) {
        Ok(j) => j,
        Err(e) => {
            let why = first_line(&e.to_string());
            let f = OutcomeFailure {
                kind: Kind::Refused,
                message: format!("cannot join the task here: {why}"),
            };
            let main = ctx.repo.loc.main_worktree.clone().unwrap_or_default();
            let _ = w.publish(None, fail_outcome(&w, f), &main);
            return Err(e);
        }
    };
    let last = last_failure(&board, &id, n, &joined);
    let done = w.run_agent(&agent, &joined, last)?;
    let outcome = w.outcome(&joined, &done)?;
    let branch = w.branch_update(&joined)?;
    w.publish(branch, outcome, &joined.worktree)
}

/// Why attempt `n - 1` failed, for attempt `n`'s agent: what the orchestrator's lease for
/// attempt `n` says (a landing's conflict, test gate or refusal included), else what the
/// worker of `n - 1` published. After a conflict, when the lease says so, the target is merged
/// into the worktree first (conflict markers in place), as run does for a local agent.
fn last_failure(board: &attempts::Board, id: &str, n: u32, j: &Joined) -> Option<Failure> {
    let told = board.lease(id).map(|l| &l.value).filter(|l| l.attempt == n);
    let mut last = told.and_then(|l| l.last_failure.clone()).or_else(|| {
        let o = board.outcome(id, n.checked_sub(1)?)?;
        let f = o.value.failure.as_ref()?;
        Some(Failure::new(f.kind, f.message.clone(), n - 1))
    })?;
    if told.is_some_and(|l| l.merge_target) && last.kind == Kind::Conflict {
        feedback::merge_after_conflict(&j.worktree, &j.target, "work", &mut last);
    }
    Some(last)
}

/// Outside a repository with `--remote URL`: clone it into `./<name>` (or use the clone there)
/// and work in it.
fn enter_clone(args: &Args) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let Ok(cwd) = Utf8PathBuf::from_path_buf(cwd) else {
        return Ok(());
    };
    if crate::git::Repo::discover(&cwd).is_ok() {
        return Ok(());
    }
    let Some(url) = args
        .value(&defs::WORK_REMOTE)
        .filter(|u| !u.trim().is_empty())
    else {
        return Ok(());
    };
    let name = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("")
        .trim_end_matches(".git")
        .to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(crate::refused!(
            help = "clone it yourself (git clone {url} DIR), then run git parallel work there",
            "cannot tell a directory name from the URL {url}"
        ));
    }
    let dir = cwd.join(&name);
    if crate::git::Repo::discover(&dir).is_err() {
        crate::output::note(format_args!("cloning {url} into {dir}"));
        crate::git::remote::clone(url, &dir).map_err(|e| {
            crate::fatal!(
                help = "check the URL and that this machine can reach it (git ls-remote {url})",
                "cannot clone {url} into {dir}: {e}"
            )
        })?;
    }
    std::env::set_current_dir(&dir).map_err(|e| crate::fatal!("cannot enter {dir}: {e}"))?;
    Ok(())
}

/// The remote to coordinate through: `--remote` (a configured remote, or the one with that
/// URL), else `parallel.remote`, else the clone's only remote.
fn remote_name(ctx: &Context) -> Result<String> {
    let loc = &ctx.repo.loc;
    let given = ctx
        .flag_or_config(&defs::WORK_REMOTE)
        .filter(|r| !r.trim().is_empty());
    let Some(given) = given else {
        let mut names = crate::git::remote::names(loc).into_iter();
        return match (names.next(), names.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(Error::usage(
                "which remote? pass --remote NAME|URL or set git config parallel.remote NAME (this clone has no single remote)",
                Some(defs::WORK.name),
            )),
        };
    };
    if !given.starts_with('-') && crate::git::remote::configured(loc, &given) {
        return Ok(given);
    }
    named(loc, &given).ok_or_else(|| {
        crate::refused!(
            help = "add it (git remote add origin {given}) or name a configured remote (git remote -v)",
            "{given} is neither a remote of this clone nor the URL of one"
        )
    })
}

/// `--attempt N`, checked.
fn attempt_arg(ctx: &Context) -> Result<Option<u32>> {
    let Some(v) = ctx.args.value(&defs::WORK_ATTEMPT) else {
        return Ok(None);
    };
    match v.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(Error::usage(
            format!("--attempt takes a whole number of 1 or more, not '{v}'"),
            Some(defs::WORK.name),
        )),
    }
}

fn unreachable(remote: &str, e: &Error) -> Error {
    crate::fatal!(
        help = "check that the remote is reachable (git ls-remote {remote}); nothing was run",
        "cannot read the leases on {remote}: {}",
        first_line(&e.to_string())
    )
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Takes the lease of `id` for this worker: attempt `attempt` when given (the lease must name
/// it), else the next one. A lease of another attempt: nothing is taken.
fn take_lease(
    ctx: &Context,
    remote: &str,
    id: &str,
    attempt: Option<u32>,
    current: Option<&Stored<Lease>>,
) -> Result<Stored<Lease>> {
    let now = crate::time::now_secs();
    let me = attempts::holder();
    let new = match (attempt, current) {
        (Some(n), None) => {
            return Err(crate::refused!(
                code = Code::StaleAttempt,
                help = "run it without --attempt to take the next attempt by hand, or let run --executor dispatch it",
                "{id}: no lease on {remote} names attempt {n}; nothing was run or published"
            ))
        }
        (Some(n), Some(l)) if l.value.attempt != n || l.value.holder == DONE => {
            let what = if l.value.attempt == n {
                format!("attempt {n} was published already")
            } else {
                format!(
                    "the lease names attempt {} ({}), not {n}",
                    l.value.attempt, l.value.holder
                )
            };
            return Err(crate::refused!(
                code = Code::StaleAttempt,
                help = "this attempt is over: nothing to do (the orchestrator dispatched another one)",
                "{id}: {what} on {remote}; nothing was run or published"
            ));
        }
        (Some(_), Some(l)) => l.value.held_by(&me, now),
        (None, l) => Lease {
            task: id.to_string(),
            attempt: l.map_or(1, |l| l.value.attempt + 1),
            holder: me,
            executor: "local".to_string(),
            dispatched_at: now,
            renewed_at: now,
            last_failure: None,
            merge_target: false,
        },
    };
    match attempts::write_lease(&ctx.repo.loc, remote, current.map(|l| l.blob), &new)? {
        Written::Done(blob) => Ok(Stored { blob, value: new }),
        Written::Lost(why) => Err(crate::refused!(
            code = Code::StaleAttempt,
            help = "see who holds it: git parallel status",
            "{id}: someone else wrote its lease on {remote} first ({why}); nothing was run or published"
        )),
        Written::Failed(why) => Err(crate::fatal!(
            help = "check that the remote is reachable (git ls-remote {remote}); nothing was run",
            "cannot write the lease of {id} on {remote}: {why}"
        )),
    }
}

/// The task as joined here.
struct Joined {
    branch: String,
    worktree: Utf8PathBuf,
    /// The task as the task file has it.
    task: crate::taskgraph::Task,
    product: String,
    task_file: Utf8PathBuf,
    target: String,
}

/// Brings this clone up to `remote` and joins `id` as `join --remote` does (or keeps the
/// worktree it has here), waiting for another git-parallel of this clone when it holds the lock
/// (two workers of one host share its clone), and trying again a few times when git could not
/// fetch (another worker's fetch of the same refs at the same moment).
fn join(ctx: &Context, remote: &str, id: &str) -> Result<Joined> {
    let until = Instant::now() + BUSY_WAIT;
    let mut fatal = 0;
    loop {
        let args = ctx.args.for_command(
            &defs::JOIN,
            vec![(&defs::REMOTE, Some(remote.to_string()))],
            vec![id.to_string()],
        );
        let child = ctx.for_command(args)?;
        match crate::workflow::remote::session(&child, |c| join_once(c, remote, id)) {
            Err(e) if e.code() == Code::Busy && Instant::now() < until => {
                if crate::txn::interrupt::received().is_some() {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) if e.code() == Code::Fatal && fatal < FATAL_TRIES => {
                fatal += 1;
                if crate::txn::interrupt::received().is_some() {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

fn join_once(ctx: &Context, remote: &str, id: &str) -> Result<Joined> {
    let env = Session::load(ctx)?;
    let Some(task) = env.tf.task(id).cloned() else {
        let hint = crate::workflow::suggest::unknown_id_hint(&env.tf, id);
        return Err(crate::refused!(
            help = "{hint}",
            "{id}: no such task in {}",
            env.tf.path
        ));
    };
    if task.status != Status::InProgress {
        return Err(crate::refused!(
            code = Code::WrongStatus,
            help = "start it first: git parallel start {id} --remote {remote}",
            "{id}: status is {} on {remote}, not in_progress",
            task.status
        ));
    }
    let branch = env.branch_of(&task);
    let worktree = match env.worktree_of(&task)? {
        Some(w) => w.path,
        None => {
            let prepared = crate::workflow::join::prepare(ctx, id, Some(remote.to_string()))?;
            let path = prepared.report.worktree.clone();
            crate::workflow::driver::drive_report(ctx, prepared)?;
            crate::workflow::remote::set_upstream(ctx, remote, &branch)?;
            path
        }
    };
    Ok(Joined {
        branch,
        worktree,
        task,
        product: env.product.clone(),
        task_file: env.task_path.clone(),
        target: env.target.clone(),
    })
}

/// One worker: the lease it holds and how it renews it.
struct Worker<'a> {
    ctx: &'a Context,
    remote: String,
    id: String,
    /// The lease as last written by this worker.
    lease: Stored<Lease>,
    holder: String,
    interval: Duration,
    started_at: u64,
    began: Instant,
}

impl Worker<'_> {
    fn attempt(&self) -> u32 {
        self.lease.value.attempt
    }

    /// Runs the agent in the joined worktree, renewing the lease; stops it when the lease was
    /// taken over (then: an error, nothing published) or on an interrupt.
    fn run_agent(&mut self, command: &str, j: &Joined, last: Option<Failure>) -> Result<Done> {
        let repo = &self.ctx.repo;
        let dir = agent_env::run_dir(repo);
        let id = self.id.clone();
        let n = self.attempt();
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| crate::fatal!("cannot create {logs}: {e}"))?;
        let last_failure = match &last {
            Some(f) => Some(failure::record(&dir, &id, f)?),
            None => {
                failure::clear(&dir, &id);
                None
            }
        };
        let brief = agent_env::brief_path(&dir, &id);
        agent_env::write_brief(&brief, &j.task, last.as_ref())?;
        let sandbox = crate::sandbox::Policy::load(repo, None, crate::sandbox::Mode::Auto)?;
        let grace = std::env::var("GIT_PARALLEL_KILL_GRACE")
            .ok()
            .and_then(|v| crate::time::parse_duration(&v))
            .unwrap_or(Duration::from_secs(GRACE_SECONDS));
        let failure_text = last.as_ref().map(|f| f.message.clone());
        let mut spec = Spec {
            task: AgentEnv {
                id: id.clone(),
                name: j.task.name.clone(),
                product: j.product.clone(),
                agent: j.task.agent.clone(),
                branch: crate::git::short_branch(&j.branch).into(),
                worktree: j.worktree.clone(),
                task_file: j.task_file.clone(),
                brief,
                attempt: n,
                last_failure,
            },
            log: agent_env::log_path(&dir, &id),
            command: command.to_string(),
            timeout: None,
            grace,
            sandbox: sandbox.clone(),
            tmp: dir.join("tmp").join(&id),
            writable: Vec::new(),
            invocation: None,
            env: crate::txn::taskenv::ports_of(&j.worktree)
                .map(|p| p.env())
                .unwrap_or_default(),
            watchdog: Watchdog::start(grace).map(Arc::new),
        };
        // A preset (claude, codex, …) as run makes it; no session to resume on another machine.
        if let Some(preset) = crate::workflow::presets::find(command) {
            let prompt = repo
                .settings
                .get("parallel.prompt")
                .filter(|p| !p.trim().is_empty());
            crate::workflow::attempt::preset::apply(
                preset,
                &mut spec,
                prompt,
                &repo.common_dir,
                None,
                failure_text,
            )?;
        }
        report::text_note(
            &self.ctx.out,
            format_args!(
                "attempt {n} of {id} running in {} (log: {})",
                j.worktree, spec.log
            ),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        agent::spawn(spec, stop.clone(), tx);
        let mut next = Instant::now() + self.interval;
        let mut lost: Option<String> = None;
        let done = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(done) => break done,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(crate::fatal!(
                        "the agent's thread of {id} ended without a word"
                    ))
                }
            }
            if crate::txn::interrupt::received().is_some() {
                stop.store(true, Ordering::SeqCst);
            }
            if lost.is_none() && Instant::now() >= next {
                next = Instant::now() + self.interval;
                if let Some(by) = self.renew()? {
                    lost = Some(by);
                    stop.store(true, Ordering::SeqCst);
                }
            }
        };
        if let Some(by) = lost {
            return Err(crate::refused!(
                code = Code::LeaseLost,
                help = "nothing to do here: the newer attempt carries on (git parallel status shows where)",
                "{id}: attempt {n} was taken over by {by}; its agent was stopped and nothing was published"
            ));
        }
        if let Some(signal) = crate::txn::interrupt::received() {
            return Err(Error::Interrupted {
                signal,
                report: miette::miette!(
                    help = "the lease expires after parallel.leaseTimeout and the orchestrator dispatches the task again; or run git parallel work {id} again",
                    "work was interrupted by {}; the agent was stopped and nothing was published",
                    crate::txn::interrupt::name(signal)
                ),
            });
        }
        Ok(done)
    }

    /// Renews the lease. `Some(who)`: it was taken over (by whom), stop.
    fn renew(&mut self) -> Result<Option<String>> {
        let new = self
            .lease
            .value
            .held_by(&self.holder, crate::time::now_secs());
        match attempts::write_lease(
            &self.ctx.repo.loc,
            &self.remote,
            Some(self.lease.blob),
            &new,
        )? {
            Written::Done(blob) => {
                self.lease = Stored { blob, value: new };
                Ok(None)
            }
            Written::Lost(_) => Ok(Some(self.taken_by())),
            Written::Failed(why) => {
                crate::output::warning(format_args!(
                    "cannot renew the lease of {} on {} (will try again): {}",
                    self.id,
                    self.remote,
                    first_line(&why)
                ));
                Ok(None)
            }
        }
    }

    /// Who holds the lease now, in words (`attempt 3 (host:123)`).
    fn taken_by(&self) -> String {
        match attempts::read_lease(&self.ctx.repo.loc, &self.remote, &self.id) {
            Ok(Some(l)) => format!("attempt {} ({})", l.value.attempt, l.value.holder),
            Ok(None) => "nobody (the lease was deleted: the task landed or was dropped)".into(),
            Err(_) => "another attempt".into(),
        }
    }

    /// The outcome of the ended attempt, by run's rules.
    fn outcome(&self, j: &Joined, done: &Done) -> Result<Outcome> {
        let repo = &self.ctx.repo;
        let n = self.attempt();
        let log = agent_env::log_path(&agent_env::run_dir(repo), &self.id);
        let tip = repo.ref_id(&j.branch)?;
        let base = repo.ref_id(&j.target)?;
        let commits = match (tip, base) {
            (Some(t), Some(b)) => repo.count_between(b, t)?,
            _ => 0,
        };
        let failure = match feedback::of_exit(&done.exit, n, &log) {
            Some(f) => Some(f),
            None if tip.is_none() => Some(Failure::new(
                Kind::Refused,
                format!("its branch {} is gone", crate::git::short_branch(&j.branch)),
                n,
            )),
            None if commits == 0 && j.task.produces_nothing() => None,
            None if commits == 0 => Some(feedback::no_commits(n, &log)),
            None if !feedback::unmerged(&j.worktree).is_empty() => {
                Some(feedback::merge_unfinished(&j.worktree, n))
            }
            None => None,
        };
        let failure = failure.map(|mut f| {
            if let Some(path) = &done.denied {
                f.message = format!("{}; the sandbox denied a write to {path}", f.message);
            }
            OutcomeFailure {
                kind: f.kind,
                message: f.message,
            }
        });
        let (exit, signal) = match done.exit {
            Exit::Code(c) => (Some(c), None),
            Exit::Signal(s) => (None, Some(s)),
            _ => (None, None),
        };
        Ok(Outcome {
            task: self.id.clone(),
            attempt: n,
            ok: failure.is_none(),
            exit,
            signal,
            failure,
            tip: tip.map(|t| t.to_string()),
            commits: u32::try_from(commits).unwrap_or(u32::MAX),
            host: attempts::hostname(),
            started_at: self.started_at,
            ended_at: crate::time::now_secs(),
            seconds: self.began.elapsed().as_secs_f64(),
        })
    }

    /// The push of the task branch: from its tip on the remote as fetched to its tip here
    /// (`None`: the same).
    fn branch_update(&self, j: &Joined) -> Result<Option<RefUpdate>> {
        let repo = &self.ctx.repo;
        let here = repo.ref_id(&j.branch)?;
        let there = repo.ref_id(&fetched_ref(&self.remote, &j.branch))?;
        Ok((here.is_some() && here != there).then(|| RefUpdate {
            name: j.branch.clone(),
            old: there,
            new: here,
        }))
    }

    /// Publishes `outcome` (with the branch push, when there is one) and the lease marked
    /// done, atomically; prints the report. Exit 1 when the outcome says failed.
    fn publish(
        &self,
        branch: Option<RefUpdate>,
        outcome: Outcome,
        worktree: &Utf8Path,
    ) -> Result<()> {
        let loc = &self.ctx.repo.loc;
        let done = Lease {
            holder: DONE.to_string(),
            renewed_at: crate::time::now_secs(),
            ..self.lease.value.clone()
        };
        let id = &self.id;
        let n = self.attempt();
        let remote = &self.remote;
        let pushed_branch = branch.is_some();
        match attempts::publish(loc, remote, branch, &outcome, self.lease.blob, &done)? {
            Written::Done(_) => {}
            Written::Lost(why) => {
                let held = attempts::read_lease(loc, remote, id).ok().flatten();
                if pushed_branch && held.as_ref().is_some_and(|l| l.blob == self.lease.blob) {
                    // The lease held: the task branch moved on the remote meanwhile (the agent
                    // pushed it itself?). Publish the attempt as failed, without the branch.
                    let mut failed = outcome;
                    failed.ok = false;
                    failed.tip = None;
                    failed.failure = Some(OutcomeFailure {
                        kind: Kind::Refused,
                        message: format!(
                            "its branch moved on {remote} while the agent ran; this attempt's commits were not pushed"
                        ),
                    });
                    return self.publish(None, failed, worktree);
                }
                let by = held.map_or_else(
                    || "nobody (the lease was deleted: the task landed or was dropped)".into(),
                    |l| format!("attempt {} ({})", l.value.attempt, l.value.holder),
                );
                return Err(crate::refused!(
                    code = Code::LeaseLost,
                    help = "nothing to do here: the newer attempt carries on (git parallel status shows where)",
                    "{id}: attempt {n} published nothing: its lease is held by {by} ({why})"
                ));
            }
            Written::Failed(why) => {
                return Err(crate::fatal!(
                    help = "check the remote (git ls-remote {remote} 'refs/parallel/*'); if the outcome is not there, the lease expires and the task is dispatched again",
                    "cannot publish attempt {n} of {id} to {remote}: {}",
                    first_line(&why)
                ))
            }
        }
        let log = agent_env::log_path(&agent_env::run_dir(&self.ctx.repo), id);
        let ok = outcome.ok;
        let worked = Worked {
            outcome,
            remote: remote.clone(),
            worktree: worktree.to_path_buf(),
            log,
        };
        report::emit(&self.ctx.out, defs::WORK.name, &worked);
        if ok {
            Ok(())
        } else {
            Err(Error::Failed)
        }
    }
}

/// A failed outcome with no agent run (the task could not be joined).
fn fail_outcome(w: &Worker<'_>, f: OutcomeFailure) -> Outcome {
    Outcome {
        task: w.id.clone(),
        attempt: w.attempt(),
        ok: false,
        exit: None,
        signal: None,
        failure: Some(f),
        tip: None,
        commits: 0,
        host: attempts::hostname(),
        started_at: w.started_at,
        ended_at: crate::time::now_secs(),
        seconds: w.began.elapsed().as_secs_f64(),
    }
}

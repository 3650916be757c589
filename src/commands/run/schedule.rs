//! The event loop of `run`: agents run concurrently (at most `jobs`), and so does a landing's
//! test gate (src/commands/run/gate.rs); everything else — start, finish, fail — happens here,
//! one transaction at a time, as soon as the event that calls for it arrives: an agent that succeeded is finished at once, a failed attempt is run again
//! (or the task marked failed), and every task that became ready starts at once. No waves.
//! Before a task's attempt is counted as failed, its status is read again: a task completed
//! meanwhile (landed by hand, or by its own agent) is left completed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use camino::Utf8PathBuf;

use super::display::Sink;
use super::events::{Event, Summary};
use super::ops::Ops;
use super::state::{Last, Records};
use crate::error::{Code, Result};
use crate::taskgraph::{schedule, Status, TaskFile};
use crate::workflow::agent_env::{self, AgentEnv};
use crate::workflow::attempt::agent::{self, Done, Exit, Spec};
use crate::workflow::attempt::feedback;
use crate::workflow::context::Context;
use crate::workflow::failure::{self, Failure, Kind};
use crate::workflow::presets::Preset;

/// What `run` was told.
pub struct Config {
    pub agent: String,
    pub jobs: usize,
    /// `--test` as given (finish reads `parallel.test` itself).
    pub test: Option<String>,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub max_retries: i64,
    /// The tasks run may touch (`None`: all).
    pub scope: Option<BTreeSet<String>>,
    /// `<state dir>/run`.
    pub dir: Utf8PathBuf,
    /// The product, for GIT_PARALLEL_PRODUCT.
    pub product: String,
    /// The task file's absolute path, for GIT_PARALLEL_TASK_FILE.
    pub task_file: Utf8PathBuf,
    /// What the attempt after a conflict starts from (`parallel.onConflict`).
    pub on_conflict: crate::workflow::attempt::feedback::OnConflict,
    /// Whether and how agents are confined.
    pub sandbox: crate::sandbox::Policy,
    /// The agent preset `agent` names, if it names one.
    pub preset: Option<&'static Preset>,
    /// `parallel.prompt`: the preset's prompt replaced.
    pub prompt: Option<String>,
    /// The repository's common git directory (`{gitdir}` of a preset).
    pub git_dir: Utf8PathBuf,
    /// The budgets.
    pub budget: Budget,
    /// Where the attempts run.
    pub executor: super::executor::Executor,
}

/// When run stops launching attempts.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    /// `--max-cost`: the whole run's reported cost, in US dollars.
    pub max_cost: Option<f64>,
    /// `parallel.taskMaxCost`: one task's reported cost, every attempt's and run's added up.
    pub task_max_cost: Option<f64>,
    /// `--deadline`: when run stops launching and stops its running agents.
    pub deadline: Option<Instant>,
}

/// A task whose agent runs.
pub(super) struct Running {
    pub(super) branch: String,
    pub(super) worktree: Utf8PathBuf,
    /// The ssh host it runs on (`--executor ssh`).
    pub(super) host: Option<String>,
}

/// A landing's test gate running in the background (src/commands/run/gate.rs).
pub(super) struct Pending {
    /// The tasks whose landing it tests.
    pub(super) ids: Vec<String>,
    /// Their merged result, as finish would merge them (without the status commit).
    pub(super) commit: gix::ObjectId,
    /// The test's exit status when it ends (`None`: the kept worktree could not be used).
    pub(super) rx: Receiver<Result<Option<std::process::ExitStatus>>>,
}

/// The scheduler's state.
pub struct Sched<'a> {
    pub(super) ctx: &'a Context,
    pub(super) cfg: Config,
    pub(super) ops: Ops,
    pub records: Records,
    pub(super) running: BTreeMap<String, Running>,
    /// Agents that succeeded, to be finished together (one batch).
    pub(super) to_finish: Vec<String>,
    /// Tasks whose agent runs again (branch, worktree), in order.
    pub(super) again: VecDeque<(String, String, Utf8PathBuf)>,
    /// Tasks finished again because their branch moved while they landed, and how often.
    pub(super) refinished: BTreeMap<String, u32>,
    /// Tasks start refused: not tried again by this run.
    pub(super) unstartable: BTreeMap<String, String>,
    /// Where each attempt of this run started: landing checks that the branch moved only from
    /// its own worktree since (a sandboxed agent may still write the refs beside its own).
    pub(super) starts: BTreeMap<String, super::moved::Start>,
    pub(super) target: String,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) tx: Sender<Done>,
    pub(super) rx: Receiver<Done>,
    pub sink: Sink,
    pub summary: Summary,
    /// The budget that stopped launching, in words (`None`: none did).
    pub stopped_by: Option<String>,
    /// Ends the agents' process groups if run dies (started with the first agent).
    pub(super) watchdog: Option<Arc<crate::workflow::attempt::watchdog::Watchdog>>,
    /// The test gate running in the background, if any (src/commands/run/gate.rs).
    pub(super) gate: Option<Pending>,
    /// Watches the remote attempts (`--executor ssh|command`).
    pub(super) watch: Option<Arc<super::watch::Watch>>,
    /// The ssh hosts whose clone is known to exist.
    pub(super) cloned: super::executor::Cloned,
    /// Remote attempts to land: the tip each outcome published, which the landing checks its
    /// fetched branch against.
    pub(super) tips: super::ops::Tips,
}

impl<'a> Sched<'a> {
    pub fn new(ctx: &'a Context, cfg: Config, ops: Ops, target: String) -> Sched<'a> {
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let watch = cfg.executor.remote().map(|r| {
            Arc::new(super::watch::Watch::start(super::watch::Setup {
                loc: ctx.repo.loc.clone(),
                remote: r.remote.clone(),
                poll: r.poll,
                lease_timeout: r.lease_timeout,
                tx: tx.clone(),
                stop: stop.clone(),
            }))
        });
        Sched {
            ctx,
            records: Records::load(&cfg.dir),
            cfg,
            ops,
            running: BTreeMap::new(),
            to_finish: Vec::new(),
            again: VecDeque::new(),
            unstartable: BTreeMap::new(),
            refinished: BTreeMap::new(),
            starts: BTreeMap::new(),
            target,
            stop,
            watch,
            cloned: Default::default(),
            tips: Default::default(),
            tx,
            rx,
            sink: Sink::new(&ctx.out),
            summary: Summary::default(),
            watchdog: None,
            stopped_by: None,
            gate: None,
        }
    }

    fn in_scope(&self, id: &str) -> bool {
        self.cfg.scope.as_ref().is_none_or(|s| s.contains(id))
    }

    /// Runs until nothing more can run, or until interrupted (then the agents are stopped).
    pub fn drive(&mut self) -> Result<()> {
        let result = self.resume().and_then(|()| self.event_loop());
        if result.is_err() || self.summary.interrupted {
            self.stop_all();
        }
        // A background gate's test got the interrupt with run (or ends by itself).
        self.wait_gate(self.cfg.grace + Duration::from_secs(5));
        result
    }

    fn event_loop(&mut self) -> Result<()> {
        loop {
            if crate::txn::interrupt::received().is_some() {
                self.summary.interrupted = true;
                return Ok(());
            }
            while let Ok(done) = self.rx.try_recv() {
                self.on_done(done)?;
            }
            self.poll_gate()?;
            if !self.to_finish.is_empty() && !self.gate_running() {
                let batch = std::mem::take(&mut self.to_finish);
                self.finish(batch)?;
                continue;
            }
            let started = if self.over_budget() {
                self.again.clear();
                false
            } else {
                self.relaunch()?;
                self.start_ready()?
            };
            if self.running.is_empty()
                && !started
                && self.again.is_empty()
                && !self.gate_running()
                && self.to_finish.is_empty()
            {
                return Ok(());
            }
            self.sink.tick();
            if let Ok(done) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.on_done(done)?;
            }
        }
    }

    /// Tasks already in progress when run begins: finished when their last attempt
    /// succeeded and left commits, else their agent runs (again).
    fn resume(&mut self) -> Result<()> {
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        let mut remote = Vec::new();
        for task in &env.tf.graph.tasks {
            if task.status != Status::InProgress || !self.in_scope(&task.id) {
                continue;
            }
            let branch = env.branch_of(task);
            if self.cfg.executor.remote().is_some() {
                remote.push((task.id.clone(), branch, env.worktree_path(task)));
                continue;
            }
            let Some(wt) = env.worktree_of(task)? else {
                self.unstartable.insert(
                    task.id.clone(),
                    "in progress, but its worktree is not here".into(),
                );
                continue;
            };
            let last = self.records.get(&task.id).map(|r| r.last);
            if last == Some(Last::Succeeded) && self.commits(&branch)?.is_some_and(|n| n > 0) {
                self.to_finish.push(task.id.clone());
                continue;
            }
            if last == Some(Last::Running) {
                self.records.interrupted(&task.id);
            }
            self.again.push_back((task.id.clone(), branch, wt.path));
        }
        self.resume_remote(remote)
    }

    /// Commits on `branch` that the target does not have (`None`: the branch is gone).
    pub(super) fn commits(&self, branch: &str) -> Result<Option<usize>> {
        let repo = &self.ctx.repo;
        let Some(tip) = repo.ref_id(branch)? else {
            return Ok(None);
        };
        let target = repo.ref_id(&self.target)?.ok_or_else(|| {
            crate::fatal!(
                "cannot count the commits of {branch}: {} does not exist",
                self.target
            )
        })?;
        Ok(Some(repo.count_between(target, tip)?))
    }

    /// The commit `branch` points at, read in-process.
    pub(super) fn tip(&self, branch: &str) -> Result<String> {
        match self.ctx.repo.ref_id(branch)? {
            Some(id) => Ok(id.to_string()),
            None => Err(crate::fatal!(
                "cannot read the tip of {}: the branch does not exist",
                crate::git::short_branch(branch)
            )),
        }
    }

    fn free_slots(&self) -> usize {
        let free = self.cfg.jobs.saturating_sub(self.running.len());
        match self.cfg.executor.remote() {
            Some(r) => free.min(r.free_slots(self.running.values().map(|r| r.host.as_deref()))),
            None => free,
        }
    }

    /// Agents to run again, as slots free up.
    fn relaunch(&mut self) -> Result<()> {
        while self.free_slots() > 0 {
            let Some((id, branch, wt)) = self.again.pop_front() else {
                break;
            };
            if let Some(why) = self.task_over_budget(&id) {
                let failures = self.records.get(&id).map_or(1, |r| r.failures);
                self.give_up(&id, failures, &why, &branch, &wt)?;
                continue;
            }
            self.launch(&id, branch, wt)?;
        }
        Ok(())
    }

    /// Starts the ready tasks of the selection that fit (one `start` transaction) and their
    /// agents. Whether any started.
    fn start_ready(&mut self) -> Result<bool> {
        let free = self.free_slots();
        if free == 0 || crate::txn::interrupt::received().is_some() {
            return Ok(false);
        }
        let tf = self.ctx.load_tasks()?;
        let ready = super::order::by_remaining_path(&tf.graph, &schedule::select(&tf.graph).run);
        let ids: Vec<String> = ready
            .iter()
            .map(|&i| tf.graph.tasks[i].id.clone())
            .filter(|id| self.in_scope(id) && !self.unstartable.contains_key(id))
            .take(free)
            .collect();
        if ids.is_empty() {
            return Ok(false);
        }
        let started = match self.ops.start(self.ctx, &ids) {
            Ok(s) => s,
            // The start was interrupted with us and rolled back; the loop stops next.
            Err(_) if crate::txn::interrupt::received().is_some() => return Ok(false),
            // Another clone published first (a second orchestrator on the same remote): said,
            // with who won, and tried again on the remote's new state at the next turn.
            Err(e) if e.code() == Code::RemoteRace => {
                crate::output::eprint(format_args!(
                    "{}",
                    crate::error::render_error("note", &e, self.ctx.out.color_err)
                ));
                return Ok(true);
            }
            Err(e) if matches!(e, crate::error::Error::Refused(_)) => {
                // One at a time shows which; the first one alone refused is refused for good.
                let first = ids[0].clone();
                let alone = if ids.len() == 1 {
                    Err(e)
                } else {
                    self.ops.start(self.ctx, std::slice::from_ref(&first))
                };
                match alone {
                    Ok(s) => s,
                    Err(e) => {
                        let why = e.to_string();
                        // "cannot start:" names the why on its next line.
                        let mut lines = why.lines().map(str::trim);
                        let head = lines.next().unwrap_or_default();
                        let why = match lines.next().filter(|_| head.ends_with(':')) {
                            Some(next) => format!("{head} {next}"),
                            None => head.to_string(),
                        };
                        self.unstartable.insert(first, why);
                        return Ok(true);
                    }
                }
            }
            Err(e) => return Err(e),
        };
        for t in started {
            // A fresh start: what an earlier, abandoned start of the task failed with is not
            // this attempt's business.
            failure::clear(&self.cfg.dir, &t.id);
            self.launch(&t.id, t.branch, t.worktree)?;
        }
        Ok(true)
    }

    /// Runs the next attempt of `id`'s agent in `worktree`.
    fn launch(&mut self, id: &str, branch: String, worktree: Utf8PathBuf) -> Result<()> {
        if self.cfg.executor.remote().is_some() {
            return self.dispatch(id, branch, worktree);
        }
        let tf: TaskFile = self.ctx.load_tasks()?;
        let Some(task) = tf.graph.tasks.iter().find(|t| t.id == id) else {
            return Ok(());
        };
        let logs = self.cfg.dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|e| crate::fatal!("cannot create {logs}: {e}"))?;
        let brief = agent_env::brief_path(&self.cfg.dir, id);
        self.prepare_attempt(id, &worktree);
        let last = failure::last(&self.cfg.dir, id);
        agent_env::write_brief(&brief, task, last.as_ref())?;
        let attempt = self.records.begin(id, self.cfg.sandbox.short());
        self.records.save()?;
        self.summary.attempts += 1;
        let log = agent_env::log_path(&self.cfg.dir, id);
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
            worktree: worktree.to_string(),
            log: log.to_string(),
        });
        let mut spec = Spec {
            task: AgentEnv {
                id: id.into(),
                name: task.name.clone(),
                product: self.cfg.product.clone(),
                agent: task.agent.clone(),
                branch: crate::git::short_branch(&branch).into(),
                worktree: worktree.clone(),
                task_file: self.cfg.task_file.clone(),
                brief,
                attempt,
                last_failure: last.map(|_| failure::text_path(&self.cfg.dir, id)),
            },
            log,
            command: self.cfg.agent.clone(),
            timeout: self.cfg.timeout,
            grace: self.cfg.grace,
            sandbox: self.cfg.sandbox.clone(),
            tmp: self.cfg.dir.join("tmp").join(id),
            writable: Vec::new(),
            invocation: None,
            env: crate::txn::taskenv::ports_of(&worktree)
                .map(|p| p.env())
                .unwrap_or_default(),
            watchdog: self.watchdog_handle(),
        };
        if let Some(preset) = self.cfg.preset {
            self.invocation(preset, &mut spec)?;
        }
        // Without reflogs (core.logAllRefUpdates false) nothing can be checked.
        let logged = self
            .ctx
            .repo
            .config_bool("core.logAllRefUpdates")
            .unwrap_or(true);
        let start = match logged {
            true => super::moved::Start::of(&worktree, &branch, &self.tip(&branch)?),
            false => None,
        };
        match start {
            Some(start) => self.starts.insert(id.into(), start),
            None => self.starts.remove(id),
        };
        agent::spawn(spec, self.stop.clone(), self.tx.clone());
        self.running.insert(
            id.into(),
            Running {
                branch,
                worktree,
                host: None,
            },
        );
        Ok(())
    }

    /// The watchdog, started with the first agent.
    fn watchdog_handle(&mut self) -> Option<Arc<crate::workflow::attempt::watchdog::Watchdog>> {
        if self.watchdog.is_none() {
            self.watchdog =
                crate::workflow::attempt::watchdog::Watchdog::start(self.cfg.grace).map(Arc::new);
        }
        self.watchdog.clone()
    }

    /// An agent ended.
    fn on_done(&mut self, done: Done) -> Result<()> {
        let Some(r) = self.running.remove(&done.id) else {
            return Ok(());
        };
        self.account(&done);
        if done.exit == Exit::Stopped {
            self.records.interrupted(&done.id);
            return self.records.save();
        }
        if let Some(v) = self
            .watch
            .as_ref()
            .and_then(|w| w.verdict(&done.id, done.attempt))
        {
            return self.remote_done(&done.id, done.attempt, r, v);
        }
        let produces_nothing = self
            .ctx
            .load_tasks()?
            .task(&done.id)
            .is_some_and(|t| t.produces_nothing());
        let log = agent_env::log_path(&self.cfg.dir, &done.id);
        let failure = match feedback::of_exit(&done.exit, done.attempt, &log) {
            Some(f) => Some(f),
            None => match self.commits(&r.branch)? {
                None => Some(Failure::new(
                    Kind::Refused,
                    format!("its branch {} is gone", crate::git::short_branch(&r.branch)),
                    done.attempt,
                )),
                // Nothing to produce, nothing committed: finished without a merge.
                Some(0) if produces_nothing => {
                    self.records.succeeded(&done.id);
                    self.records.save()?;
                    self.sink.event(&Event::Finished {
                        id: done.id.clone(),
                        attempt: done.attempt,
                        commits: 0,
                    });
                    self.to_finish.push(done.id.clone());
                    None
                }
                Some(0) => Some(feedback::no_commits(done.attempt, &log)),
                Some(_) if !feedback::unmerged(&r.worktree).is_empty() => {
                    Some(feedback::merge_unfinished(&r.worktree, done.attempt))
                }
                Some(n) => {
                    self.records.succeeded(&done.id);
                    self.records.save()?;
                    self.sink.event(&Event::Finished {
                        id: done.id.clone(),
                        attempt: done.attempt,
                        commits: n,
                    });
                    self.to_finish.push(done.id.clone());
                    None
                }
            },
        };
        let failure = match (failure, &done.denied) {
            (Some(mut f), Some(path)) => {
                f.message = format!("{}; the sandbox denied a write to {path}", f.message);
                Some(f)
            }
            (failure, _) => failure,
        };
        match failure {
            Some(f) => self.attempt_failed(&done.id, f, r.branch, r.worktree),
            None => Ok(()),
        }
    }

    /// An attempt failed: run the agent again, or mark the task failed once out of retries.
    /// A task no longer in progress (completed meanwhile, by hand or by its own agent) is left
    /// as it is.
    pub(super) fn attempt_failed(
        &mut self,
        id: &str,
        f: Failure,
        branch: String,
        worktree: Utf8PathBuf,
    ) -> Result<()> {
        match self.ctx.load_tasks()?.task(id).map(|t| t.status) {
            Some(Status::InProgress) => {}
            Some(Status::Completed) => return self.completed(id, None, None),
            _ => {
                self.records.forget(id);
                return self.records.save();
            }
        }
        self.tips.remove(id);
        let why = f.message.clone();
        let failures = self.records.failed(id, &why);
        self.records.save()?;
        let log = agent_env::log_path(&self.cfg.dir, id);
        self.record_failure(id, &f);
        self.sink.event(&Event::AttemptFailed {
            id: id.into(),
            attempt: f.attempt,
            kind: f.kind,
            reason: why.clone(),
            files: f.files.clone(),
            last_output: feedback::last_output_line(&log),
            log: log.to_string(),
        });
        if i64::from(failures) > self.cfg.max_retries {
            return self.give_up(id, failures, &why, &branch, &worktree);
        }
        self.again.push_back((id.into(), branch, worktree));
        Ok(())
    }

    /// Marks `id` failed (`fail`, one transaction through the driver, published with a
    /// remote), its branch and worktree kept; `git parallel retry ID` gives it another round.
    pub(super) fn give_up(
        &mut self,
        id: &str,
        failures: u32,
        why: &str,
        branch: &str,
        worktree: &Utf8PathBuf,
    ) -> Result<()> {
        let reason = format!("run: {failures} failed attempts; the last: {why}");
        let metrics = self.metrics_of(&[id.to_string()]);
        match self.ops.fail(self.ctx, id, &reason, &metrics) {
            Ok(_) => {}
            // Completed or given back meanwhile: left as it is.
            Err(e) if e.code() == Code::WrongStatus => {
                return match self.ctx.load_tasks()?.task(id).map(|t| t.status) {
                    Some(Status::Completed) => self.completed(id, None, None),
                    _ => {
                        self.records.forget(id);
                        self.records.save()
                    }
                };
            }
            Err(e) => return Err(e),
        }
        self.records.forget(id);
        self.records.save()?;
        self.clear_attempt_refs(id);
        self.summary.failed.push(id.into());
        self.sink.event(&Event::Failed {
            id: id.into(),
            failures,
            reason: why.into(),
            branch: crate::git::short_branch(branch).into(),
            worktree: worktree.to_string(),
        });
        Ok(())
    }

    /// What this run measured of `ids`' attempts, for their `result`.
    pub(super) fn metrics_of(&self, ids: &[String]) -> crate::workflow::outcome::MetricsByTask {
        ids.iter()
            .filter_map(|id| {
                let m = &self.summary.results.get(id)?.metrics;
                Some((
                    id.clone(),
                    crate::workflow::outcome::Metrics {
                        attempts: m.attempts,
                        seconds: m.seconds.round() as u64,
                        cost_usd: m.cost_usd,
                    },
                ))
            })
            .collect()
    }

    /// Asks every agent to stop and waits for them (SIGTERM, then SIGKILL after the grace).
    fn stop_all(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let until = Instant::now() + self.cfg.grace + Duration::from_secs(5);
        while !self.running.is_empty() && Instant::now() < until {
            if let Ok(done) = self.rx.recv_timeout(Duration::from_millis(100)) {
                let Some(r) = self.running.remove(&done.id) else {
                    continue;
                };
                self.account(&done);
                let ok = done.exit == Exit::Code(0)
                    && self
                        .commits(&r.branch)
                        .is_ok_and(|n| n.is_some_and(|n| n > 0));
                if ok {
                    self.records.succeeded(&done.id);
                } else {
                    self.records.interrupted(&done.id);
                }
            }
        }
        let _ = self.records.save();
    }
}

//! The operations `run` makes — start, finish, fail and recover — each the command itself
//! called in-process: its arguments built as a value ([`crate::cli::Args::for_command`]), its
//! own context with no output ([`Context::for_command`]), run through the remote session and
//! the one driver like the command (so `--remote` publishes every change, a failure included),
//! its typed report handed back and its errors told apart by their [`Code`], never by text.
//! Each is its own journaled transaction under the repository lock, so a `run` killed at any
//! moment leaves at most one interrupted operation, which the next `run` (or `recover`)
//! settles. A lock held by another git-parallel is waited for, never charged to a task; an
//! operation another command left half-done is settled, then the call made again.

use std::time::Duration;

use crate::cli::defs::{self, Command, Flag};
use crate::commands::{fail, finish, recover, start};
use crate::error::{Code, Error, Result};
use crate::workflow::context::Context;
use crate::workflow::outcome::MetricsByTask;
use crate::workflow::remote;
use crate::workflow::tested::Tested;

/// The tip each task branch must be at for `finish` to land it.
pub type Tips = std::collections::BTreeMap<String, gix::ObjectId>;

/// How long to wait between two tries of a busy repository lock.
const BUSY_PAUSE: Duration = Duration::from_millis(200);

/// What every operation is given besides its own arguments.
pub struct Ops {
    /// `run --remote NAME` (else the commands read `parallel.remote` themselves).
    remote: Option<String>,
    /// `run --test CMD` (else finish reads `parallel.test` itself).
    test: Option<String>,
    /// Tasks start without a worktree here (`--executor ssh|command`: the workers have them).
    no_worktree: bool,
    /// run's sandbox mode, for the test gate of the finishes it makes (as
    /// `git -c parallel.sandbox=…` would).
    sandbox: crate::sandbox::Mode,
}

impl Ops {
    pub fn new(ctx: &Context, sandbox: crate::sandbox::Mode, no_worktree: bool) -> Ops {
        Ops {
            sandbox,
            no_worktree,
            remote: ctx.args.value(&defs::REMOTE).map(str::to_string),
            test: ctx.args.value(&defs::RUN_TEST).map(str::to_string),
        }
    }

    /// Runs `command` with `flags` and `ids` through the remote session, waiting while another
    /// git-parallel holds the lock (and while run is not interrupted); `metrics` go into the
    /// tasks' `result`, `tips` are what a finish checks its branches against.
    fn call<T>(
        &self,
        ctx: &Context,
        command: &'static Command,
        mut flags: Vec<(&'static Flag, Option<String>)>,
        (ids, metrics, tested, tips): (&[String], &MetricsByTask, Option<Tested>, &Tips),
        op: fn(&Context) -> Result<T>,
    ) -> Result<T> {
        if let Some(r) = self.remote.as_ref().filter(|_| {
            command
                .flags
                .iter()
                .any(|f| std::ptr::eq(*f, &defs::REMOTE))
        }) {
            flags.push((&defs::REMOTE, Some(r.clone())));
        }
        let mut settled = false;
        loop {
            let args = ctx.args.for_command(command, flags.clone(), ids.to_vec());
            let mut child = ctx.for_command(args)?;
            child.metrics.clone_from(metrics);
            child.tested = tested;
            child.expected_tips.clone_from(tips);
            child
                .repo
                .settings
                .set("parallel.sandbox", self.sandbox.name());
            // Without a remote, a landing records its completion in its last merge commit
            // (parallel.foldStatus), unless the repository says otherwise.
            if std::ptr::eq(command, &defs::FINISH)
                && child.repo.settings.get("parallel.foldStatus").is_none()
                && remote::publisher(&child)?.is_none()
            {
                child.repo.settings.set("parallel.foldStatus", "true");
            }
            // Without a remote, a start's records stay in the main worktree's task file, for
            // the next landing's merge commit to carry (no commit of their own on the target).
            child.fold_start =
                std::ptr::eq(command, &defs::START) && remote::publisher(&child)?.is_none();
            match remote::session(&child, op) {
                Err(e) if e.code() == Code::Busy && crate::txn::interrupt::received().is_none() => {
                    std::thread::sleep(BUSY_PAUSE);
                }
                // Another command was killed half-way meanwhile: settled, then this one again.
                Err(e) if e.code() == Code::Pending && !settled => {
                    settled = true;
                    if self.settle(ctx).is_err() {
                        return Err(e);
                    }
                }
                other => return other,
            }
        }
    }

    /// run's sandbox mode, which its test gates run in.
    pub fn sandbox(&self) -> crate::sandbox::Mode {
        self.sandbox
    }

    /// `start IDS`: the tasks started.
    pub fn start(&self, ctx: &Context, ids: &[String]) -> Result<Vec<start::StartedOne>> {
        let none = MetricsByTask::new();
        let flags = match self.no_worktree {
            true => vec![(&defs::NO_WORKTREE, None)],
            false => Vec::new(),
        };
        self.call(
            ctx,
            &defs::START,
            flags,
            (ids, &none, None, &Tips::new()),
            start::apply,
        )
        .map(|r| r.started())
    }

    /// The start records this run (or a killed one) left uncommitted in the main worktree's
    /// task file, committed on the target in one commit: the tasks committed.
    pub fn commit_starts(&self, ctx: &Context) -> Result<Vec<String>> {
        let none = MetricsByTask::new();
        self.call(
            ctx,
            &defs::START,
            Vec::new(),
            (&[], &none, None, &Tips::new()),
            start::commit_pending,
        )
        .map(|r| r.committed)
    }

    /// `finish --partial [--test CMD] IDS`: what landed and what did not; `tested`: the
    /// verdict of run's background gate on this landing, reused when it covers it; `tips`:
    /// the tip each task branch must be at on the remote (`run --executor ssh|command`: the one
    /// its attempt's outcome published), else the landing refuses with code `tip-moved`.
    pub fn finish(
        &self,
        ctx: &Context,
        ids: &[String],
        metrics: &MetricsByTask,
        tested: Option<Tested>,
        tips: &Tips,
    ) -> Result<finish::Landing> {
        let flags = self.finish_flags();
        let tips: Tips = tips
            .iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(id, t)| (id.clone(), *t))
            .collect();
        self.call(
            ctx,
            &defs::FINISH,
            flags,
            (ids, metrics, tested, &tips),
            finish::land,
        )
    }

    /// What `finish IDS` would merge and test, made in memory (see [`finish::preview`]).
    pub fn preview(&self, ctx: &Context, ids: &[String]) -> Result<Option<gix::ObjectId>> {
        let none = MetricsByTask::new();
        let flags = self.finish_flags();
        self.call(
            ctx,
            &defs::FINISH,
            flags,
            (ids, &none, None, &Tips::new()),
            finish::preview,
        )
    }

    fn finish_flags(&self) -> Vec<(&'static Flag, Option<String>)> {
        let mut flags = vec![(&defs::PARTIAL, None)];
        if let Some(t) = &self.test {
            flags.push((&defs::TEST, Some(t.clone())));
        }
        flags
    }

    /// `fail ID --reason WHY`: the task marked failed, its branch and worktree kept.
    pub fn fail(
        &self,
        ctx: &Context,
        id: &str,
        why: &str,
        metrics: &MetricsByTask,
    ) -> Result<fail::Failed> {
        let flags = vec![(&defs::REASON, Some(why.to_string()))];
        let ids = [id.to_string()];
        self.call(
            ctx,
            &defs::FAIL,
            flags,
            (&ids, metrics, None, &Tips::new()),
            fail::apply,
        )
    }

    /// Settles an operation a killed `run` (or any command) left behind: rolled back, else
    /// completed (past its commit point). `Ok(None)`: there was none.
    pub fn settle(&self, ctx: &Context) -> Result<Option<String>> {
        let Err(pending) = crate::txn::ensure_no_pending(&ctx.repo) else {
            return Ok(None);
        };
        // Past its commit point it took effect: only completed (rolling it back would undo a
        // landing); before it, rolled back, else completed.
        let ways: &[&'static Flag] = match &pending {
            crate::txn::Error::Pending {
                committed: true, ..
            } => &[&defs::CONTINUE_OP],
            _ => &[&defs::ABORT_OP, &defs::CONTINUE_OP],
        };
        let pending: Error = pending.into();
        if pending.code() == Code::Busy {
            return Err(pending);
        }
        for &way in ways {
            let args = ctx
                .args
                .for_command(&defs::RECOVER, vec![(way, None)], Vec::new());
            if let Ok(r) = recover::apply(&ctx.for_command(args)?) {
                return Ok(Some(r.operation().to_string()));
            }
        }
        Err(pending)
    }
}

//! The test gate of run's landings, in the background (issue 20 item 7): when agents
//! succeeded, run makes the landing's merged result in memory (`finish`'s own merge, nothing
//! changed) and tests it on a worker thread in the kept gate worktree, while the loop goes on
//! starting tasks and launching agents. When the test ends, `finish` lands the batch with that
//! verdict handed in: reused when it covers the landing (its tree equals the tested one apart
//! from the task file: src/workflow/tested.rs), so a pass needs no second test and a failure
//! goes the way a failing gate goes (a batch bisected, failure feedback with the test's
//! output). A landing the verdict does not cover (the target moved by another change
//! meanwhile) is tested again in the background. One gate at a time: what succeeds meanwhile
//! waits for the next landing. With `parallel.gateWorktree temp`, or when the kept worktree
//! cannot be used, the gate runs inside finish's transaction as before.
//!
//! The worker runs no transaction and holds no repository lock: it touches only the kept
//! gate worktree (under the gate's own lock), so a run killed meanwhile leaves nothing to
//! recover; the tasks' agents are recorded as succeeded and the next run lands them.

use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant};

use gix::ObjectId;

use super::events::Event;
use super::schedule::{Pending, Sched};
use crate::error::Result;
use crate::workflow::tested::Tested;

impl Sched<'_> {
    /// The test command when landings are tested in the background: a test is set and the
    /// gate keeps its worktree.
    fn background_test(&self) -> Option<String> {
        if !self.ctx.repo.settings.gate_worktree_kept() {
            return None;
        }
        self.cfg
            .test
            .clone()
            .or_else(|| {
                self.ctx
                    .repo
                    .settings
                    .get("parallel.test")
                    .map(str::to_string)
            })
            .filter(|t| !t.trim().is_empty())
    }

    /// Starts the background test of the landing of `batch`: whether it started (else finish
    /// tests it in its transaction, as by hand).
    pub(super) fn gate_in_background(&mut self, batch: &[String]) -> Result<bool> {
        let Some(command) = self.background_test() else {
            return Ok(false);
        };
        let commit = match self.ops.preview(self.ctx, batch) {
            Ok(Some(c)) => c,
            // Nothing to test, or finish refuses before testing: it says why itself.
            Ok(None) | Err(_) => return Ok(false),
        };
        self.spawn_gate(batch.to_vec(), commit, command);
        Ok(true)
    }

    fn spawn_gate(&mut self, ids: Vec<String>, commit: ObjectId, command: String) {
        let (tx, rx) = std::sync::mpsc::channel();
        let cwd = self.ctx.cwd.clone();
        let sandbox = self.ops.sandbox().name();
        self.sink.event(&Event::Testing {
            ids: ids.clone(),
            commit: commit.to_string(),
            test: command.clone(),
        });
        std::thread::spawn(move || {
            let status = (|| {
                let mut repo = crate::git::Repo::discover(&cwd)?;
                repo.settings.set("parallel.sandbox", sandbox);
                crate::txn::testgate::run_kept(&repo, &commit, &command, false)
            })();
            let _ = tx.send(status);
        });
        self.gate = Some(Pending { ids, commit, rx });
    }

    /// Whether a background gate runs.
    pub(super) fn gate_running(&self) -> bool {
        self.gate.is_some()
    }

    /// Lands the batch whose background test ended, if one did.
    pub(super) fn poll_gate(&mut self) -> Result<()> {
        let Some(pending) = &self.gate else {
            return Ok(());
        };
        let status = match pending.rx.try_recv() {
            Ok(s) => s,
            Err(TryRecvError::Empty) => return Ok(()),
            Err(TryRecvError::Disconnected) => Ok(None),
        };
        let Some(Pending { ids, commit, .. }) = self.gate.take() else {
            return Ok(());
        };
        if crate::txn::interrupt::received().is_some() {
            // Interrupted with it: their agents succeeded (recorded); the next run lands them.
            return Ok(());
        }
        let tested = match status {
            Ok(Some(status)) => Some(Tested { commit, status }),
            // The kept worktree could not be used, or the test not run: finish's own gate.
            Ok(None) | Err(_) => None,
        };
        if let Some(t) = &tested {
            self.sink.event(&Event::Tested {
                ids: ids.clone(),
                commit: commit.to_string(),
                passed: t.status.success(),
            });
            if t.status.success() && !self.still_covered(&ids, t)? {
                // The target moved with other files meanwhile: tested again, in the background.
                if let Some(command) = self.background_test() {
                    if let Ok(Some(now)) = self.ops.preview(self.ctx, &ids) {
                        self.spawn_gate(ids, now, command);
                        return Ok(());
                    }
                }
            }
        }
        self.land_tested(ids, tested)
    }

    /// Whether the verdict `t` still covers what finish would land of `ids` now.
    fn still_covered(&self, ids: &[String], t: &Tested) -> Result<bool> {
        let Ok(Some(now)) = self.ops.preview(self.ctx, ids) else {
            // finish decides (and refuses, or tests itself).
            return Ok(true);
        };
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        t.covers(&self.ctx.repo, env.task_rel.as_deref(), now)
    }

    /// Waits for a background gate to end when run was interrupted (its test got the signal),
    /// at most `grace`. Otherwise run is ending on an error: the test dies with it.
    pub(super) fn wait_gate(&mut self, grace: Duration) {
        let Some(pending) = self.gate.take() else {
            return;
        };
        if crate::txn::interrupt::received().is_none() {
            return;
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if pending.rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                return;
            }
        }
    }
}

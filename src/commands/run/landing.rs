//! Landing the agents' work: every agent that succeeded since the last finish is finished in
//! one `finish --partial` (called in-process, src/commands/run/ops.rs), after its test gate ran
//! in the background when there is one (src/commands/run/gate.rs). The tasks it merged are
//! completed; a task whose merge conflicts (the files written to its log), that the test gate
//! names (finish bisects a batch whose test fails and lands the others), or that finish left
//! out, fails its attempt. A refused batch of several tasks (files outside a task's paths) is
//! finished again one task at a time, so that only the culprits fail. Refusals no agent can fix
//! (the main worktree in the way, a target that fails the test by itself) stop the run. Which
//! is which is the error's [`Code`], never its text.

use super::events::Event;
use super::schedule::Sched;
use crate::commands::finish::Landing;
use crate::error::{Code, Error, Result};
use crate::taskgraph::Status;
use crate::workflow::attempt::agent::append_log;
use crate::workflow::failure::{Failure, Kind};
use crate::workflow::tested::Tested;

/// How often a task whose branch moved while it landed is finished again.
const REFINISH: u32 = 2;

impl Sched<'_> {
    /// Finishes `batch` (ids of tasks whose agent succeeded), but for those whose branch
    /// moved after their agent ended: marked failed at once, their branch left for a human to
    /// look at (a retry would build on what moved it).
    pub(super) fn finish(&mut self, batch: Vec<String>) -> Result<()> {
        let mut unmoved = Vec::with_capacity(batch.len());
        for id in batch {
            match self.moved_under_its_agent(&id)? {
                Some(why) => self.fail_moved(&id, &why)?,
                None => unmoved.push(id),
            }
        }
        if unmoved.is_empty() {
            return Ok(());
        }
        self.finish_unmoved(unmoved)
    }

    /// Why `id`'s branch moved by something else than its own worktree since its agent
    /// started (`None`: it did not, or this run did not start it).
    fn moved_under_its_agent(&mut self, id: &str) -> Result<Option<String>> {
        let Some(start) = self.starts.remove(id) else {
            return Ok(None);
        };
        let now = self.tip(&start.branch)?;
        let Some(how) = start.moved(&now) else {
            return Ok(None);
        };
        let why = format!(
            "its branch {} was moved by something other than its worktree ({how}): not landed; another agent may have written it",
            crate::git::short_branch(&start.branch)
        );
        append_log(&self.log_of(id), &format!("==== {why}\n"));
        Ok(Some(why))
    }

    /// `id`'s branch and its worktree (where it is checked out, else where the template puts
    /// it), as the task file says now; None when the task is gone from it.
    fn branch_and_worktree(&self, id: &str) -> Result<Option<(String, camino::Utf8PathBuf)>> {
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        let Some(task) = env.tf.graph.tasks.iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        let wt = env
            .worktree_of(task)?
            .map(|w| w.path)
            .unwrap_or_else(|| env.worktree_path(task));
        Ok(Some((env.branch_of(task), wt)))
    }

    /// `id`'s branch moved under it: marked failed without a retry.
    fn fail_moved(&mut self, id: &str, why: &str) -> Result<()> {
        let Some((branch, wt)) = self.branch_and_worktree(id)? else {
            return Ok(());
        };
        let attempt = self.records.get(id).map_or(1, |r| r.attempts);
        let failures = self.records.failed(id, why);
        self.records.save()?;
        let f = Failure::new(Kind::Refused, why, attempt);
        self.record_failure(id, &f);
        self.sink.event(&Event::AttemptFailed {
            id: id.into(),
            attempt,
            kind: f.kind,
            reason: f.message.clone(),
            files: Vec::new(),
            last_output: None,
            log: self.log_of(id).to_string(),
        });
        self.give_up(id, failures, why, &branch, &wt)
    }

    /// Finishes `batch`, whose branches did not move under their agents: its test gate
    /// started in the background when it can be (src/commands/run/gate.rs), else finished now;
    /// while a background gate runs, the batch waits for the next landing.
    fn finish_unmoved(&mut self, batch: Vec<String>) -> Result<()> {
        if self.gate_running() {
            self.to_finish.extend(batch);
            return Ok(());
        }
        if self.gate_in_background(&batch)? {
            return Ok(());
        }
        self.land_tested(batch, None)
    }

    /// Finishes `batch` with the verdict of its background test gate (`None`: finish tests).
    pub(super) fn land_tested(&mut self, batch: Vec<String>, tested: Option<Tested>) -> Result<()> {
        let metrics = self.metrics_of(&batch);
        match self
            .ops
            .finish(self.ctx, &batch, &metrics, tested, &self.tips)
        {
            Ok(landing) => self.landed(&batch, landing),
            Err(e) => self.finish_failed(batch, e),
        }
    }

    /// A finish of `batch` that returned an error.
    fn finish_failed(&mut self, batch: Vec<String>, e: Error) -> Result<()> {
        if crate::txn::interrupt::received().is_some() {
            // Their agents succeeded (recorded): the next run finishes them.
            return Ok(());
        }
        let code = e.code();
        // It took effect; its cleanup did not: complete it.
        let unsettled = if code == Code::Cleanup {
            self.ops.settle(self.ctx).err()
        } else {
            None
        };
        // Whatever took effect (here, or by another command meanwhile) counts as landed.
        let batch = self.completed_meanwhile(batch)?;
        if let Some(again) = unsettled {
            return Err(crate::fatal!(
                code = Code::Cleanup,
                help = "look at the branch (a process the agent left behind may have committed to it), then 'git parallel recover --continue' and 'git parallel run' again",
                "the landing took effect, but its cleanup could not be completed:\n{}\n{}",
                crate::error::render_error("error", &e, false).trim_end(),
                crate::error::render_error("error", &again, false).trim_end()
            ));
        }
        if batch.is_empty() || code == Code::Cleanup {
            return Ok(());
        }
        if code == Code::Stale {
            // A branch moved while it landed (a process the agent left behind committed):
            // finished again, on the branches as they are now, a few times.
            let (again, give_up): (Vec<String>, Vec<String>) = batch.into_iter().partition(|id| {
                let n = self.refinished.entry(id.clone()).or_insert(0);
                *n += 1;
                *n <= REFINISH
            });
            self.to_finish.extend(again);
            return self.refused_attempts(give_up, &e);
        }
        let fixable_by_agent = matches!(
            code,
            Code::Conflicts
                | Code::TestGate
                | Code::OutsidePaths
                | Code::TaskDirty
                | Code::Stale
                | Code::TipMoved
        );
        if !fixable_by_agent {
            return Err(stop(&batch, e));
        }
        if batch.len() > 1 {
            for id in batch {
                self.finish_unmoved(vec![id])?;
            }
            return Ok(());
        }
        self.refused_attempts(batch, &e)
    }

    /// finish refused the work of `ids` for `e`: their attempts failed.
    fn refused_attempts(&mut self, ids: Vec<String>, e: &Error) -> Result<()> {
        for id in ids {
            let f = self.of_error(&id, e);
            self.fail_unmerged(&id, f)?;
        }
        Ok(())
    }

    /// The tasks of `batch` still in progress; those found completed are recorded as landed.
    fn completed_meanwhile(&mut self, batch: Vec<String>) -> Result<Vec<String>> {
        let tf = self.ctx.load_tasks()?;
        let mut left = Vec::new();
        for id in batch {
            match tf.task(&id).map(|t| t.status) {
                Some(Status::InProgress) => left.push(id),
                Some(Status::Completed) => self.completed(&id, None, None)?,
                _ => self.forget(&id)?,
            }
        }
        Ok(left)
    }

    /// `id` is merged and completed.
    pub(super) fn completed(
        &mut self,
        id: &str,
        merge_commit: Option<String>,
        tip: Option<String>,
    ) -> Result<()> {
        self.forget(id)?;
        crate::workflow::failure::clear(&self.cfg.dir, id);
        self.clear_attempt_refs(id);
        self.summary.completed.push(id.into());
        let target_tip = match tip {
            Some(t) => t,
            None => self
                .ctx
                .repo
                .ref_id(&self.target)?
                .map(|o| o.to_string())
                .unwrap_or_default(),
        };
        self.sink.event(&Event::Merged {
            id: id.into(),
            merge_commit,
            target_tip,
        });
        Ok(())
    }

    fn forget(&mut self, id: &str) -> Result<()> {
        self.tips.remove(id);
        self.records.forget(id);
        self.records.save()
    }

    /// What a finish that went through says about `batch`.
    fn landed(&mut self, batch: &[String], l: Landing) -> Result<()> {
        if l.target_fails {
            let test = self.cfg.test.as_deref().unwrap_or("the test gate");
            let target = crate::git::short_branch(&self.target);
            return Err(crate::fatal!(
                code = Code::TargetFailsTest,
                help = "make the test pass on {target} first; run 'git parallel run' again to continue",
                "`{test}` fails on the target {target} itself, with no task merged"
            ));
        }
        let mut seen = Vec::new();
        for (id, merge_commit) in &l.merged {
            seen.push(id.clone());
            self.completed(id, merge_commit.clone(), l.new_tip.clone())?;
        }
        let target = crate::git::short_branch(&self.target).to_string();
        // Only a conflict names the target's tip (a git process: not on every landing).
        let tip = match l.conflicts.is_empty() {
            true => String::new(),
            false => self.short_tip(),
        };
        for (id, files) in &l.conflicts {
            seen.push(id.clone());
            let f = crate::workflow::attempt::feedback::of_conflict(
                files,
                &target,
                &tip,
                self.attempt_of(id),
            );
            self.fail_unmerged(id, f)?;
        }
        for t in &l.test_failures {
            seen.push(t.id.clone());
            let f = crate::workflow::attempt::feedback::of_test(t, self.attempt_of(&t.id));
            self.fail_unmerged(&t.id, f)?;
        }
        for id in batch.iter().filter(|id| !seen.contains(id)) {
            let why = l
                .skipped
                .iter()
                .find(|s| &s.id == id)
                .map(|s| s.reason.clone())
                .unwrap_or_else(|| "finish did not merge it".into());
            let f = Failure::new(
                Kind::Refused,
                format!("finish did not merge it: {why}"),
                self.attempt_of(id),
            );
            self.fail_unmerged(id, f)?;
        }
        Ok(())
    }

    /// `id`'s work could not land: its attempt failed.
    fn fail_unmerged(&mut self, id: &str, f: Failure) -> Result<()> {
        let Some((branch, wt)) = self.branch_and_worktree(id)? else {
            return Ok(());
        };
        self.attempt_failed(id, f, branch, wt)
    }
}

/// The error that stops the run: a finish refused for a reason no agent can fix.
fn stop(batch: &[String], e: Error) -> Error {
    let code = e.code();
    let text = crate::error::render_error("error", &e, false);
    crate::fatal!(
        help = "see 'git parallel status'; run 'git parallel run' again to continue",
        "finish {} failed:\n{}",
        batch.join(" "),
        text.trim_end()
    )
    .with_code(code)
}

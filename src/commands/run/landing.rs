//! Landing the agents' work: every agent that succeeded since the last finish is finished in
//! one `finish --partial --json` transaction. The tasks it merged are completed; a task whose
//! merge conflicts (the files written to its log), that the test gate names (`test_failures`:
//! finish bisects a batch whose test fails and lands the others), or that finish left out,
//! fails its attempt. A refused batch of several tasks (files outside a task's paths) is
//! finished again one task at a time, so that only the culprits fail. Refusals no agent can
//! fix (a dirty main worktree, a target that fails the test by itself) stop the run.

use super::agent::append_log;
use serde_json::Value;

use super::events::Event;
use super::schedule::Sched;
use crate::error::Result;
use crate::workflow::failure::{Failure, Kind};

impl Sched<'_> {
    /// Finishes `batch` (ids of tasks whose agent succeeded), but for those whose branch
    /// moved after their agent ended: blocked at once, their branch left for a human to look
    /// at (a retry would build on what moved it).
    pub(super) fn finish(&mut self, batch: Vec<String>) -> Result<()> {
        let mut unmoved = Vec::with_capacity(batch.len());
        for id in batch {
            match self.moved_under_its_agent(&id)? {
                Some(why) => self.block_moved(&id, &why)?,
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

    fn finish_unmoved(&mut self, batch: Vec<String>) -> Result<()> {
        let mut args = vec!["finish".to_string(), "--partial".into(), "--json".into()];
        if let Some(t) = &self.cfg.test {
            args.push("--test".into());
            args.push(t.clone());
        }
        args.extend(batch.iter().cloned());
        let out = self.sub.call(&args)?;
        let listed = |key: &str| {
            out.json
                .as_ref()
                .and_then(|j| j[key].as_array())
                .is_some_and(|c| !c.is_empty())
        };
        // A refusal because tasks of the batch conflict, or break the test gate (found by
        // bisection, the others landed and finish exits 1 all the same), carries them in its
        // document.
        let named = listed("conflicts") || listed("test_failures") || listed("merged");
        let target_fails = out
            .json
            .as_ref()
            .is_some_and(|j| j["target_fails"] == Value::Bool(true));
        if out.ok() || (out.refused() && named && !target_fails) {
            let doc = out.json.unwrap_or(Value::Null);
            return self.landed(&batch, &doc);
        }
        if crate::txn::interrupt::received().is_some() {
            // Their agents succeeded (recorded): the next run finishes them.
            return Ok(());
        }
        // Refusals no agent can fix: stop instead of failing every attempt.
        let main_problem = target_fails
            || [
                "the main worktree has uncommitted changes",
                "is not checked out in the main worktree",
            ]
            .iter()
            .any(|p| out.stderr.contains(p));
        if !out.refused() || main_problem {
            return Err(crate::fatal!(
                help = "see 'git parallel status'; run 'git parallel run' again to continue",
                "finish {} failed:\n{}",
                batch.join(" "),
                out.stderr.trim_end()
            ));
        }
        if batch.len() > 1 {
            for id in batch {
                self.finish_unmoved(vec![id])?;
            }
            return Ok(());
        }
        for id in batch {
            let why = format!("finish refused it: {}", out.error_line());
            let f = self.of_refusal(&id, &why, &out.stderr);
            self.fail_unmerged(&id, f)?;
        }
        Ok(())
    }

    /// What a `finish` report says about `batch`.
    fn landed(&mut self, batch: &[String], doc: &Value) -> Result<()> {
        let list = |key: &str| doc[key].as_array().cloned().unwrap_or_default();
        let tip = doc["new_tip"].as_str().unwrap_or_default().to_string();
        let mut seen = Vec::new();
        for m in list("merged") {
            let Some(id) = m["id"].as_str() else { continue };
            seen.push(id.to_string());
            self.records.forget(id);
            crate::workflow::failure::clear(&self.cfg.dir, id);
            self.summary.completed.push(id.into());
            self.sink.event(&Event::Merged {
                id: id.into(),
                merge_commit: m["merge_commit"].as_str().map(str::to_string),
                target_tip: tip.clone(),
            });
        }
        self.records.save()?;
        for c in list("conflicts") {
            let Some(id) = c["id"].as_str() else { continue };
            seen.push(id.to_string());
            let target = crate::git::short_branch(&self.target).to_string();
            let tip = self.short_tip();
            let f = super::feedback::of_conflict(&c, &target, &tip, self.attempt_of(id));
            self.fail_unmerged(id, f)?;
        }
        for t in list("test_failures") {
            let Some(id) = t["id"].as_str() else { continue };
            seen.push(id.to_string());
            let f = super::feedback::of_test(&t, self.attempt_of(id));
            self.fail_unmerged(id, f)?;
        }
        for id in batch.iter().filter(|id| !seen.contains(id)) {
            let why = list("skipped")
                .iter()
                .find(|s| s["id"].as_str() == Some(id))
                .and_then(|s| s["reason"].as_str().map(str::to_string))
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

    /// `id`'s branch moved under it: blocked without a retry.
    fn block_moved(&mut self, id: &str, why: &str) -> Result<()> {
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        let Some(task) = env.tf.graph.tasks.iter().find(|t| t.id == id) else {
            return Ok(());
        };
        let branch = env.branch_of(task);
        let wt = env
            .worktree_of(task)?
            .map(|w| w.path)
            .unwrap_or_else(|| env.worktree_path(task));
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
        self.block(id, failures, why, &branch, &wt)
    }

    /// `id`'s work could not land: its attempt failed.
    fn fail_unmerged(&mut self, id: &str, f: Failure) -> Result<()> {
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        let Some(task) = env.tf.graph.tasks.iter().find(|t| t.id == id) else {
            return Ok(());
        };
        let branch = env.branch_of(task);
        let wt = env
            .worktree_of(task)?
            .map(|w| w.path)
            .unwrap_or_else(|| env.worktree_path(task));
        self.attempt_failed(id, f, branch, wt)
    }
}

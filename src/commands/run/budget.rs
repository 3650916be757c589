//! What run's agents used and when it stops because of it: each ended attempt's reported
//! session, tokens, cost and time recorded (per task, and for the run); `--max-cost` and
//! `--deadline` stop launching attempts (a reached cost budget lets running agents finish, a
//! reached deadline stops them: SIGTERM, SIGKILL after the grace); `parallel.taskMaxCost` marks
//! a task failed instead of retrying it once its agents spent that much. A preset agent's command
//! line is src/workflow/attempt/preset.rs, given the session and failure run recorded.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::schedule::Sched;
use crate::error::Result;
use crate::workflow::attempt::agent::{Done, Spec};
use crate::workflow::presets::Preset;

impl Sched<'_> {
    /// Records what the ended attempt `done` used.
    pub(super) fn account(&mut self, done: &Done) {
        self.records.used(&done.id, &done.usage);
        self.summary
            .results
            .entry(done.id.clone())
            .or_default()
            .metrics
            .add(done.seconds, &done.usage);
        if let Some(c) = done.usage.cost_usd {
            self.summary.cost_usd = Some(self.summary.cost_usd.unwrap_or(0.0) + c);
        }
        if let Some(t) = done.usage.tokens {
            self.summary.tokens = Some(self.summary.tokens.unwrap_or(0) + t);
        }
    }

    /// Whether a budget of the whole run is reached (then nothing more is launched; at the
    /// deadline the running agents are stopped too).
    pub(super) fn over_budget(&mut self) -> bool {
        if self.stopped_by.is_some() {
            return true;
        }
        let b = &self.cfg.budget;
        if b.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped_by = Some("the --deadline was reached".into());
            self.stop.store(true, Ordering::SeqCst);
        } else if let (Some(max), Some(spent)) = (b.max_cost, self.summary.cost_usd) {
            if spent >= max {
                self.stopped_by = Some(format!(
                    "the --max-cost budget of ${max:.2} was reached (${spent:.2} spent)"
                ));
            }
        }
        self.summary.budget_reached.clone_from(&self.stopped_by);
        self.stopped_by.is_some()
    }

    /// Why `id` gets no more attempts: its agents spent `parallel.taskMaxCost`.
    pub(super) fn task_over_budget(&self, id: &str) -> Option<String> {
        let max = self.cfg.budget.task_max_cost?;
        let spent = self.records.get(id)?.cost_usd?;
        (spent >= max).then(|| {
            format!("its agents spent ${spent:.2}, reaching parallel.taskMaxCost (${max:.2})")
        })
    }

    /// Makes `spec` run `preset`: a new session with the prompt, or on a retry the last
    /// attempt's session resumed with its failure as the message
    /// (src/workflow/attempt/preset.rs).
    pub(super) fn invocation(&self, preset: &Preset, spec: &mut Spec) -> Result<()> {
        let record = self.records.get(&spec.task.id);
        crate::workflow::attempt::preset::apply(
            preset,
            spec,
            self.cfg.prompt.as_deref(),
            &self.cfg.git_dir,
            record.and_then(|r| r.session.clone()),
            record.and_then(|r| r.reason.clone()),
        )
    }
}

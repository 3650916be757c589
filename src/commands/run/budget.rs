//! What run's agents used and when it stops because of it: each ended attempt's reported
//! session, tokens, cost and time recorded (per task, and for the run); `--max-cost` and
//! `--deadline` stop launching attempts (a reached cost budget lets running agents finish, a
//! reached deadline stops them: SIGTERM, SIGKILL after the grace); `parallel.taskMaxCost` marks
//! a task failed instead of retrying it once its agents spent that much. Also the command line
//! of a preset agent's attempt: a new session with the prompt, or on a retry the same session
//! resumed with the last failure as the message.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::schedule::Sched;
use crate::error::Result;
use crate::taskgraph::display::shell_quote;
use crate::workflow::attempt::agent::{Done, Invocation, Spec};
use crate::workflow::presets::{fill, Preset};

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
    /// attempt's session resumed with its failure as the message.
    pub(super) fn invocation(&self, preset: &Preset, spec: &mut Spec) -> Result<()> {
        let record = self.records.get(&spec.task.id);
        let brief = std::fs::read_to_string(&spec.task.brief)
            .map_err(|e| crate::fatal!("cannot read the task brief {}: {e}", spec.task.brief))?;
        let template = self.cfg.prompt.as_deref().unwrap_or(preset.prompt);
        let prompt = fill(
            template,
            &[
                ("id", &spec.task.id),
                ("name", &spec.task.name),
                ("brief", &brief),
                ("brief_file", spec.task.brief.as_str()),
                ("branch", &spec.task.branch),
                ("worktree", spec.task.worktree.as_str()),
                ("product", &spec.task.product),
            ],
        );
        let retry = spec.task.attempt > 1;
        let failure = record
            .filter(|_| retry)
            .and_then(|r| r.reason.clone())
            .unwrap_or_else(|| "it was stopped before it ended".into());
        let session = record.and_then(|r| r.session.clone());
        // A retry resumes when the CLI can: with the session it reported, or (aider) without
        // one.
        let needs_id = preset.resume.iter().any(|a| a.contains("{session}"));
        let resume = retry && !preset.resume.is_empty() && (session.is_some() || !needs_id);
        let (args, message) = match resume {
            true => (
                preset.resume,
                format!(
                    "The last attempt at task {} failed: {failure}. Continue in this worktree: \
                     fix that, and commit your work on the current branch.",
                    spec.task.id
                ),
            ),
            false if retry => (
                preset.args,
                format!("{prompt}\n\nA previous attempt at this task failed: {failure}."),
            ),
            false => (preset.args, prompt),
        };
        let history = spec
            .log
            .with_file_name(format!("{}.{}-history", spec.task.id, preset.name));
        let values = [
            ("history", history.as_str()),
            ("prompt", message.as_str()),
            ("session", session.as_deref().unwrap_or_default()),
            ("gitdir", self.cfg.git_dir.as_str()),
        ];
        let args: Vec<String> = args.iter().map(|a| fill(a, &values)).collect();
        spec.command = std::iter::once(preset.program)
            .chain(args.iter().map(String::as_str))
            .map(|a| shell_quote(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
            + &format!(
                "  (preset {}, checked against {})",
                preset.name, preset.checked
            );
        // Sandboxed, the CLI may write its own state, and its history files (made here, so
        // that only they, not the directory of the logs, need be writable).
        if let Ok(home) = std::env::var("HOME") {
            let home = camino::Utf8PathBuf::from(home);
            spec.writable
                .extend(preset.state.iter().map(|p| home.join(p)));
        }
        let history_arg =
            (preset.args.iter().chain(preset.resume)).any(|a| a.contains("{history}"));
        if spec.sandbox.active() && history_arg {
            for h in [history.clone(), format!("{history}.input").into()] {
                if !h.exists() {
                    std::fs::write(&h, "")
                        .map_err(|e| crate::fatal!("cannot create the history file {h}: {e}"))?;
                }
                spec.writable.push(h);
            }
        }
        let out_file = spec.log.with_file_name(format!(
            "{}.attempt-{}.out",
            spec.task.id, spec.task.attempt
        ));
        spec.invocation = Some(Invocation {
            program: preset.program.into(),
            args,
            env: preset
                .env
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            output: preset.output,
            out_file,
        });
        Ok(())
    }
}

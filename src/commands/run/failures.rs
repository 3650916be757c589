//! The scheduler's side of failure feedback (see run/feedback.rs for the failures themselves):
//! building a failed attempt's [`Failure`] from what the attempt and its landing reported,
//! recording it for the next attempt, and merging the target into a worktree after a conflict.

use camino::Utf8PathBuf;

use super::schedule::Sched;
use crate::error::{Code, Error, Result};
use crate::workflow::attempt::agent::append_log;
use crate::workflow::attempt::feedback::{merge_after_conflict, shown, wants_merge};
use crate::workflow::failure::{self, Failure, Kind};

impl Sched<'_> {
    /// The attempt `id` is at (the one that just ended).
    pub(super) fn attempt_of(&self, id: &str) -> u32 {
        self.records.get(id).map_or(1, |r| r.attempts.max(1))
    }

    /// The log of `id`'s agent.
    pub(super) fn log_of(&self, id: &str) -> Utf8PathBuf {
        crate::workflow::agent_env::log_path(&self.cfg.dir, id)
    }

    /// The target's tip now, abbreviated (empty when it cannot be read).
    pub(super) fn short_tip(&self) -> String {
        let mut cmd = self.ctx.repo.git_main();
        cmd.args(["rev-parse", "--short", &self.target]);
        crate::git::cli::stdout(cmd)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// A finish that refused `id` (its error's code says why).
    pub(super) fn of_error(&self, id: &str, e: &Error) -> Failure {
        let code = e.code();
        let text = crate::error::render_error("error", e, false);
        let first = e.to_string();
        let first = first.lines().next().unwrap_or_default().to_string();
        let attempt = self.attempt_of(id);
        let mut f = match code {
            Code::OutsidePaths => return self.of_refusal(id, &first, &text),
            Code::Conflicts => Failure::new(Kind::Conflict, first, attempt),
            Code::TestGate => Failure::new(Kind::TestGate, first, attempt),
            _ => Failure::new(
                Kind::Refused,
                format!("finish refused it ({}): {first}", code.as_str()),
                attempt,
            ),
        };
        let mut evidence = failure::tail(&text, failure::EVIDENCE_LINES);
        if code == Code::TestGate {
            // The test just ran on this task's merge: its last output lines.
            let path = crate::txn::steps::testgate::last_output_path(&self.ctx.repo);
            if let Ok(out) = std::fs::read_to_string(&path) {
                evidence.push_str("the test's output (last lines):\n");
                evidence.push_str(&out);
            }
        }
        f.evidence = Some(evidence);
        f
    }

    /// A finish that refused `id` alone: files outside its paths when its branch has any,
    /// else the refusal as it came (`message`, `stderr` the evidence).
    pub(super) fn of_refusal(&self, id: &str, message: &str, stderr: &str) -> Failure {
        let attempt = self.attempt_of(id);
        let outside = self.outside_files(id).unwrap_or_default();
        if !outside.is_empty() {
            let mut f = Failure::new(
                Kind::OutsidePaths,
                format!(
                    "its commits change files outside its paths: {}",
                    shown(&outside)
                ),
                attempt,
            );
            f.files = outside;
            f.evidence = Some(failure::tail(stderr, failure::EVIDENCE_LINES));
            return f;
        }
        let mut f = Failure::new(Kind::Refused, message, attempt);
        f.evidence = Some(failure::tail(stderr, failure::EVIDENCE_LINES));
        f
    }

    /// Files `id`'s branch changes (since its merge base with the target) outside its paths.
    fn outside_files(&self, id: &str) -> Result<Vec<String>> {
        let env = crate::workflow::session::Session::load_readonly(self.ctx)?;
        let Some(task) = env.tf.task(id) else {
            return Ok(Vec::new());
        };
        let branch = env.branch_of(task);
        let mut cmd = self.ctx.repo.git_main();
        cmd.args(["diff", "--name-only", "-z", "--no-renames"])
            .arg(format!("{}...{branch}", self.target));
        let out = crate::git::cli::stdout(cmd)?;
        let allowed: Vec<&str> = task.paths().collect();
        Ok(out
            .split('\0')
            .filter(|f| !f.is_empty())
            .filter(|f| {
                !allowed
                    .iter()
                    .any(|p| crate::taskgraph::schedule::path_contains(p, f))
                    && env.task_rel.as_deref() != Some(*f)
            })
            .map(str::to_string)
            .collect())
    }

    /// Keeps `f` as `id`'s last failure: its log and the failure files.
    pub(super) fn record_failure(&self, id: &str, f: &Failure) {
        let log = crate::workflow::agent_env::log_path(&self.cfg.dir, id);
        let text = f.text();
        append_log(&log, &format!("==== attempt {} failed: {text}", f.attempt));
        if let Err(e) = failure::record(&self.cfg.dir, id, f) {
            append_log(&log, &format!("==== {e}\n"));
        }
    }

    /// Before the next attempt of `id` in `worktree`: after a conflict, the target merged into
    /// the worktree (`OnConflict::Merge`), what happened added to the failure the agent reads.
    pub(super) fn prepare_attempt(&self, id: &str, worktree: &Utf8PathBuf) {
        let Some(mut f) = failure::last(&self.cfg.dir, id) else {
            return;
        };
        if !wants_merge(&f, self.cfg.on_conflict) {
            return;
        }
        merge_after_conflict(worktree, &self.target, "run", &mut f);
        self.record_failure_quietly(id, &f);
    }

    /// Rewrites the failure files of `id` (no log line).
    fn record_failure_quietly(&self, id: &str, f: &Failure) {
        let log = crate::workflow::agent_env::log_path(&self.cfg.dir, id);
        match failure::record(&self.cfg.dir, id, f) {
            Ok(_) => append_log(
                &log,
                &format!("==== {}", f.evidence.as_deref().unwrap_or_default()),
            ),
            Err(e) => append_log(&log, &format!("==== {e}\n")),
        }
    }
}

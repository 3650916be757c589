//! Failure feedback: every failed attempt becomes a [`Failure`] (kind, message, files, the
//! conflicting commit, evidence), written to the task's log and to the failure files the next
//! attempt's agent reads (`GIT_PARALLEL_LAST_FAILURE`, and the brief's first section). After a
//! conflict with the target, the next attempt starts with the target merged into the task's
//! worktree, conflict markers in place (`parallel.onConflict = merge`, the default; `retry`
//! runs the agent again on the same base).
//!
//! The merge is what a person would do in the worktree, `git merge TARGET`: it never moves the
//! branch while conflicts remain (the agent's commits stay as they are; `git merge --abort`
//! undoes it), and a merge without conflicts adds a merge commit on top of them.

use crate::workflow::bisect::TestFailure;
use camino::{Utf8Path, Utf8PathBuf};

use super::agent::{append_log, Exit};
use super::schedule::Sched;
use crate::error::{Code, Error, Result};
use crate::workflow::failure::{self, Failure, Kind};

/// What to do with a task whose merge conflicts with the target (`parallel.onConflict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    /// Merge the target into the task's worktree before the next attempt (the default).
    Merge,
    /// Run the agent again on the same base.
    Retry,
}

impl OnConflict {
    /// `parallel.onConflict`, checked.
    pub fn from_config(repo: &crate::git::Repo) -> Result<OnConflict> {
        match repo.settings.get("parallel.onConflict").map(str::trim) {
            None | Some("merge") => Ok(OnConflict::Merge),
            Some("retry") => Ok(OnConflict::Retry),
            Some(other) => Err(Error::usage(
                format!("parallel.onConflict must be 'merge' or 'retry', not '{other}'"),
                Some(crate::cli::defs::RUN.name),
            )),
        }
    }
}

/// How many of the agent's last log lines are the evidence of a failed exit.
const LOG_LINES: usize = 20;

/// The failure of an agent that ended with `exit` (`None`: it succeeded).
pub(super) fn of_exit(exit: &Exit, attempt: u32, log: &Utf8Path) -> Option<Failure> {
    let why = exit.failure()?;
    let kind = match exit {
        Exit::TimedOut => Kind::Timeout,
        _ => Kind::Exit,
    };
    let mut f = Failure::new(kind, why, attempt);
    f.evidence = Some(log_tail(log));
    Some(f)
}

/// An agent that exited 0 without a commit.
pub(super) fn no_commits(attempt: u32, log: &Utf8Path) -> Failure {
    let mut f = Failure::new(
        Kind::NoCommits,
        "the agent exited 0 without committing anything",
        attempt,
    );
    f.evidence = Some(log_tail(log));
    f
}

/// The last lines of the agent's output in `log` (its last attempt).
fn log_tail(log: &Utf8Path) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let last = text.rfind("==== attempt ").map_or(0, |i| {
        // The header of the attempt that ended, before its "ended" line.
        text[..i].rfind("==== attempt ").unwrap_or(i)
    });
    failure::tail(&text[last..], LOG_LINES)
}

/// The last non-empty line the agent printed in its last attempt (for a display line).
pub fn last_output_line(log: &Utf8Path) -> Option<String> {
    log_tail(log)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("==== "))
        .map(str::to_string)
}

/// A task whose merge conflicts, with the conflicting paths.
pub(super) fn of_conflict(files: &[String], target: &str, tip: &str, attempt: u32) -> Failure {
    let mut f = Failure::new(
        Kind::Conflict,
        format!("its merge conflicts with {target} in {}", shown(files)),
        attempt,
    );
    f.files = files.to_vec();
    f.with = Some(if tip.is_empty() {
        target.to_string()
    } else {
        format!("{target} at {tip}")
    });
    f
}

/// A task the test gate fails with.
pub(super) fn of_test(t: &TestFailure, attempt: u32) -> Failure {
    let message = if t.merged_after.is_empty() {
        "the test gate fails with its merge".to_string()
    } else {
        format!(
            "the test gate fails with its merge after {}",
            t.merged_after.join(", ")
        )
    };
    let mut f = Failure::new(Kind::TestGate, message, attempt);
    if !t.merged_after.is_empty() {
        f.with = Some(t.merged_after.join(", "));
    }
    f.evidence = Some(format!("to reproduce: {}\n", t.reproduce));
    f
}

/// File names for a message: escaped (no control character reaches a terminal), joined.
fn shown(files: &[String]) -> String {
    let v: Vec<String> = files
        .iter()
        .map(|f| crate::taskgraph::display::safe(f).into_owned())
        .collect();
    v.join(", ")
}

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
        if self.cfg.on_conflict != OnConflict::Merge {
            return;
        }
        let Some(mut f) = failure::last(&self.cfg.dir, id) else {
            return;
        };
        if f.kind != Kind::Conflict || f.evidence.is_some() {
            return;
        }
        let note = merge_target(worktree, &self.target);
        let (files, note) = match note {
            Ok(files) if files.is_empty() => (
                Vec::new(),
                format!(
                    "run merged {} into this worktree without conflicts (a merge commit on top of your work)",
                    crate::git::short_branch(&self.target)
                ),
            ),
            Ok(files) => {
                let n = format!(
                    "run merged {} into this worktree; the merge is in progress with conflict markers in:\n  {}\nresolve them, git add them, and git commit to conclude the merge",
                    crate::git::short_branch(&self.target),
                    files
                        .iter()
                        .map(|f| crate::taskgraph::display::safe(f).into_owned())
                        .collect::<Vec<_>>()
                        .join("\n  ")
                );
                (files, n)
            }
            Err(e) => (
                Vec::new(),
                format!(
                    "run could not merge {} into this worktree (merge it yourself): {e}",
                    crate::git::short_branch(&self.target)
                ),
            ),
        };
        if !files.is_empty() {
            f.files = files;
        }
        f.evidence = Some(format!("{note}\n"));
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

/// `git merge TARGET` in the worktree (unless a merge is in progress there already): the
/// conflicting paths (empty: it merged cleanly and committed). Err: git refused to start
/// (local changes in the way…), the worktree left as it was.
fn merge_target(worktree: &Utf8Path, target: &str) -> std::result::Result<Vec<String>, String> {
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        c.arg("-C").arg(worktree.as_str()).args(args);
        for var in crate::git::cli::REPO_ENV {
            c.env_remove(var);
        }
        c.env("GIT_MERGE_AUTOEDIT", "no");
        c.stdin(std::process::Stdio::null());
        c.output()
    };
    let in_progress =
        git(&["rev-parse", "-q", "--verify", "MERGE_HEAD"]).is_ok_and(|o| o.status.success());
    if in_progress {
        return Ok(unmerged(worktree));
    }
    let short = crate::git::short_branch(target);
    let message = format!("Merge {short} into this task (git parallel run, after a conflict)");
    let out = git(&["merge", "--no-ff", "--no-edit", "-m", &message, target])
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        return Ok(Vec::new());
    }
    let conflicts = unmerged(worktree);
    if conflicts.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("git merge failed")
            .trim()
            .to_string());
    }
    Ok(conflicts)
}

/// The conflicted paths of a merge in progress in `worktree` (empty: none).
pub(super) fn unmerged(worktree: &Utf8Path) -> Vec<String> {
    let mut c = std::process::Command::new("git");
    c.arg("-C")
        .arg(worktree.as_str())
        .args(["diff", "--name-only", "-z", "--diff-filter=U"]);
    for var in crate::git::cli::REPO_ENV {
        c.env_remove(var);
    }
    c.stdin(std::process::Stdio::null());
    c.output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split('\0')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// An agent that exited 0 leaving the merge of the target unresolved in its worktree.
pub(super) fn merge_unfinished(worktree: &Utf8Path, attempt: u32) -> Failure {
    let files = unmerged(worktree);
    let mut f = Failure::new(
        Kind::Conflict,
        format!(
            "the agent left the merge of the target unfinished (conflicts in {})",
            shown(&files)
        ),
        attempt,
    );
    f.files = files;
    f
}

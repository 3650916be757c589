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
use camino::Utf8Path;

use super::agent::Exit;
use crate::error::{Error, Result};
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
pub fn of_exit(exit: &Exit, attempt: u32, log: &Utf8Path) -> Option<Failure> {
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
pub fn no_commits(attempt: u32, log: &Utf8Path) -> Failure {
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
pub fn of_conflict(files: &[String], target: &str, tip: &str, attempt: u32) -> Failure {
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
pub fn of_test(t: &TestFailure, attempt: u32) -> Failure {
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
pub fn shown(files: &[String]) -> String {
    let v: Vec<String> = files
        .iter()
        .map(|f| crate::taskgraph::display::safe(f).into_owned())
        .collect();
    v.join(", ")
}

/// `git merge TARGET` in the worktree (unless a merge is in progress there already): the
/// conflicting paths (empty: it merged cleanly and committed). Err: git refused to start
/// (local changes in the way…), the worktree left as it was.
pub fn merge_target(worktree: &Utf8Path, target: &str) -> std::result::Result<Vec<String>, String> {
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

/// Whether the failure `f` asks for the target merged into the next attempt's worktree
/// (a conflict, with `parallel.onConflict = merge`, not merged yet: a merge done adds its note
/// to the evidence).
pub fn wants_merge(f: &Failure, on_conflict: OnConflict) -> bool {
    on_conflict == OnConflict::Merge && f.kind == Kind::Conflict && f.evidence.is_none()
}

/// After a conflict, before the next attempt: `target` merged into `worktree` by `who` (`run`,
/// `work`), what happened written into `f` for the agent (the conflicting files, a note as
/// evidence).
pub fn merge_after_conflict(worktree: &Utf8Path, target: &str, who: &str, f: &mut Failure) {
    let short = crate::git::short_branch(target);
    let note = match merge_target(worktree, target) {
        Ok(files) if files.is_empty() => format!(
            "{who} merged {short} into this worktree without conflicts (a merge commit on top of your work)"
        ),
        Ok(files) => {
            let n = format!(
                "{who} merged {short} into this worktree; the merge is in progress with conflict markers in:\n  {}\nresolve them, git add them, and git commit to conclude the merge",
                files
                    .iter()
                    .map(|f| crate::taskgraph::display::safe(f).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            );
            f.files = files;
            n
        }
        Err(e) => format!("{who} could not merge {short} into this worktree (merge it yourself): {e}"),
    };
    f.evidence = Some(format!("{note}\n"));
}

/// The conflicted paths of a merge in progress in `worktree` (empty: none): its index read
/// in-process, else asked of git.
pub fn unmerged(worktree: &Utf8Path) -> Vec<String> {
    if let Some(paths) = crate::git::index::unmerged_in(worktree) {
        return paths;
    }
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
pub fn merge_unfinished(worktree: &Utf8Path, attempt: u32) -> Failure {
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

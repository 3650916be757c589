//! `git parallel retry ID`: restart a failed task from a fresh branch and worktree. The old
//! branch is kept under `refs/parallel/backup/<id>-retry<N>`, the old worktree removed (refused
//! while it has changes), the task file marked in_progress again and committed on the target,
//! and the new branch made from that commit — one transaction, like `start`.
//!
//! The failed attempt's `result` is cleared (the reason stays in the `fail` commit's task file).
//! `retry_count` (incremented by `fail`) counts failures. Once a task has failed more than
//! `parallel.maxRetries` (default 3) times, retry refuses, records `status: blocked` (committed)
//! and exits 1.

use crate::taskgraph::display::safe;
use crate::txn::steps::{AddWorktree, Refs, RemoveWorktree};
use crate::txn::Meta;
use camino::Utf8PathBuf;
use gix::ObjectId;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::git::short_branch;
use crate::git::{RefUpdate, WorktreeInfo};
use crate::taskgraph::{Edit, Scalar, Status, Task};
use crate::txn::steps::CopyFile;
use crate::txn::{self, Plan, Step};
use crate::workflow::backup::free_backup_name;
use crate::workflow::context::{Context, Output};
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::render::plural;
use crate::workflow::report::Report;
use crate::workflow::select::named_task;
use crate::workflow::session::Session;
use crate::workflow::worktrees::{launch_line, task_worktree, worktree_changes};

/// Runs retry through the driver. A task out of retries is retry's one refusal that changes
/// something: its plan marks the task blocked, the driver executes it and emits the report
/// (`--json`: `retried: null` and `blocked`; text: nothing), and then `run` returns the refusal
/// the report carries, so the command exits 1 after the change took effect. Under `--dry-run`
/// the plan is shown (after a note, in text) and the exit is 0.
pub fn run(ctx: &Context) -> Result<()> {
    let prepared = prepare(ctx)?;
    let refusal = prepared.report.refusal();
    let dry_run = ctx.args.on(&defs::DRY_RUN);
    if let (RetryReport::Blocked(b), true, false) = (&prepared.report, dry_run, ctx.out.json) {
        crate::output::eprint(format_args!("note: {}\n", b.dry_run_note()));
    }
    drive(ctx, prepared)?;
    match refusal {
        Some(e) if !dry_run => Err(e),
        _ => Ok(()),
    }
}

fn prepare(ctx: &Context) -> Result<Prepared<RetryReport>> {
    let env = Session::load(ctx)?;
    let task = named_task(&env, "retry")?;
    let id = task.id.as_str();
    if task.status != Status::Failed {
        return Err(crate::refused!(
            help = crate::workflow::suggest::status_advice(task),
            "cannot retry {id}: its status is {}, not failed",
            task.status
        ));
    }
    let max = ctx.repo.settings.max_retries()?;
    if i64::from(task.retry_count) > max {
        return block(&env, task, max);
    }
    let mut attempt = Attempt::find(&env, task)?;
    attempt.check(&env, task)?;
    attempt.prepare(&env, task)
}

/// The failed attempt of a task and where the new one goes.
struct Attempt {
    old_branch: String,
    old_tip: Option<ObjectId>,
    old_wt: Option<WorktreeInfo>,
    new_branch: String,
    /// The new worktree: the old one's path, else the template's.
    path: Utf8PathBuf,
    /// The include files copied into the new worktree.
    copy: Vec<CopyFile>,
    /// Unchanged copies of them in the old worktree (found by [`Attempt::check`]).
    ours: Vec<String>,
}

impl Attempt {
    fn find(env: &Session, task: &Task) -> Result<Attempt> {
        let old_branch = env.branch_of(task);
        let old_wt = task_worktree(env, task)?;
        Ok(Attempt {
            old_tip: env.ctx.repo.ref_id(&old_branch)?,
            new_branch: env.new_branch_name(task),
            path: old_wt
                .as_ref()
                .map(|w| w.path.clone())
                .unwrap_or_else(|| env.worktree_path(task)),
            old_branch,
            old_wt,
            copy: crate::workflow::worktrees::include_files(env)?,
            ours: Vec::new(),
        })
    }

    /// Everything that stands in the way, at once.
    fn check(&mut self, env: &Session, task: &Task) -> Result<()> {
        let mut problems = match &self.old_wt {
            Some(w) => {
                let (problems, ours) = self.worktree_problems(env, w)?;
                self.ours = ours;
                problems
            }
            None if self.path.exists() => vec![format!("{} already exists", env.show(&self.path))],
            None => Vec::new(),
        };
        let new_short = short_branch(&self.new_branch);
        if !crate::workflow::naming::valid_branch(new_short) {
            problems.push(format!(
                "'{new_short}' is not a valid branch name (check parallel.branchTemplate)"
            ));
        } else if self.new_branch != self.old_branch
            && env.ctx.repo.ref_id(&self.new_branch)?.is_some()
        {
            problems.push(format!("branch {new_short} already exists"));
        }
        if self.path.starts_with(&env.main) {
            problems.push(format!(
                "worktree {} would be inside the main worktree",
                env.show(&self.path)
            ));
        }
        if let Some(w) = self.old_wt.as_ref().filter(|w| w.path.is_dir()) {
            problems.extend(submodule_problem(env, w)?);
        }
        if problems.is_empty() {
            return Ok(());
        }
        let id = task.id.as_str();
        Err(crate::refused!(
            help = "nothing was changed; fix these and run 'git parallel retry {id}' again",
            "cannot retry {id}:\n  {}",
            problems.join("\n  ")
        ))
    }

    /// What stands in the way of removing the old worktree `w`; the unchanged include files
    /// copied into it.
    fn worktree_problems(
        &self,
        env: &Session,
        w: &WorktreeInfo,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let mut problems = Vec::new();
        let shown = env.show(&w.path);
        if w.branch.as_deref() != Some(self.old_branch.as_str()) {
            problems.push(format!(
                "its worktree {shown} has {} checked out instead of {}",
                w.branch
                    .as_deref()
                    .map(short_branch)
                    .unwrap_or("a detached HEAD"),
                short_branch(&self.old_branch)
            ));
        }
        if w.locked {
            problems.push(format!(
                "its worktree {shown} is locked (git worktree unlock)"
            ));
        }
        if env.ctx.repo.current_worktree.as_deref() == Some(w.path.as_path()) {
            problems.push(format!(
                "you are inside its worktree {shown}; run the command from the main worktree"
            ));
        }
        let mut ours = Vec::new();
        if w.path.is_dir() {
            let changes;
            (changes, ours) = worktree_changes(env, &w.path, &self.copy)?;
            if !changes.is_empty() {
                problems.push(format!(
                    "its worktree {shown} has uncommitted or untracked changes ({}); commit them (they are kept \
                     with the old branch) or stash them",
                    changes.iter().map(|c| safe(c)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok((problems, ours))
    }
}

/// Submodule repositories live inside the worktree's admin dir and go with it.
fn submodule_problem(env: &Session, w: &WorktreeInfo) -> Result<Option<String>> {
    let subs = crate::workflow::submodules::find(&env.ctx.repo, &w.path)?;
    if subs.is_empty() {
        return Ok(None);
    }
    let paths: Vec<Cow<'_, str>> = subs.iter().map(|s| safe(&s.path)).collect();
    let shown = env.show(&w.path);
    Ok(Some(format!(
        "worktree {shown} has initialised submodules ({}) whose repositories would be removed with it; \
         push their work (git -C <submodule> push), then: git -C {shown} submodule deinit --all --force",
        paths.join(", "),
    )))
}

impl Attempt {
    /// The plan: back up, remove the old attempt, record the new one, create it.
    fn prepare(self, env: &Session, task: &Task) -> Result<Prepared<RetryReport>> {
        let id = task.id.as_str();
        let message = format!("chore({}): retry {id}", env.product);
        let mut steps = Vec::new();
        let backup = match self.old_tip {
            Some(tip) => {
                let base = format!("{id}-retry{}", task.retry_count.max(1));
                let name = free_backup_name(env, &base, &mut Vec::new())?;
                let update = RefUpdate {
                    name: name.clone(),
                    old: None,
                    new: Some(tip),
                };
                steps.push(refs_step(update, format!("backup before {message}")));
                Some(name)
            }
            None => None,
        };
        self.remove_old(&mut steps, &message);
        let now = crate::time::now_iso();
        let mut edits = vec![
            Edit::status(id, Status::InProgress),
            Edit::task(id, "started_at", now.as_str()),
            Edit::task(id, "assigned_to", short_branch(&self.new_branch)),
        ];
        if task.result.is_some() {
            // The result was the failed attempt's; the new attempt has none yet.
            edits.push(Edit::task(id, "result", Scalar::Null));
        }
        edits.push(Edit::metadata("updated_at", now.as_str()));
        let (file_steps, base) = env.task_file_steps(&edits, &message, false)?;
        steps.extend(file_steps);
        let update = RefUpdate {
            name: self.new_branch.clone(),
            old: None,
            new: Some(base),
        };
        steps.push(refs_step(update, message));
        steps.push(Step::AddWorktree(AddWorktree {
            path: self.path.clone(),
            branch: self.new_branch.clone(),
            copy: self.copy,
            post_start: env.ctx.repo.settings.post_start(),
            env: Default::default(),
        }));
        let mut plan = Plan {
            command: "retry".into(),
            summary: format!("retry {id}"),
            steps,
            commit_point: None,
            meta: Meta {
                backup: backup.clone(),
                ..Meta::tasks([id])
            },
        };
        let kept = txn::keep::keep_ignored(
            &env.ctx.repo,
            &mut plan.steps,
            &[],
            txn::keep::BuildOutput::Keep,
        )?;
        let report = Retried {
            target: short_branch(&env.target).to_string(),
            base: base.to_string(),
            retried: RetriedTask {
                id: id.to_string(),
                branch: short_branch(&self.new_branch).to_string(),
                next: launch_line(env, id, &self.new_branch, &self.path),
                worktree_shown: env.show(&self.path),
                worktree: self.path,
                retry_count: task.retry_count,
                backup,
            },
            kept_lines: txn::keep::kept_lines(&kept, |p| env.show(p)),
            out: env.ctx.out,
        };
        Ok(Prepared::new(plan, RetryReport::Retried(report)))
    }

    /// The steps that remove the old worktree and delete the old branch.
    fn remove_old(&self, steps: &mut Vec<Step>, message: &str) {
        if let Some(w) = &self.old_wt {
            steps.push(Step::RemoveWorktree(RemoveWorktree {
                path: w.path.clone(),
                branch: self.old_branch.clone(),
                // Unchanged copies of the include files alone do not block removal.
                force: !self.ours.is_empty(),
                restore: Vec::new(),
                post_start: None,
            }));
        }
        if let Some(tip) = self.old_tip {
            let update = RefUpdate {
                name: self.old_branch.clone(),
                old: Some(tip),
                new: None,
            };
            steps.push(refs_step(update, format!("{message} (old attempt)")));
        }
    }
}

/// One ref update, its reflog message `git-parallel: <message>`.
fn refs_step(update: RefUpdate, message: String) -> Step {
    Step::Refs(Refs {
        updates: vec![update],
        message: format!("git-parallel: {message}"),
    })
}

/// Too many failures: the plan that records `status: blocked`, and the refusal (exit 1).
fn block(env: &Session, task: &Task, max: i64) -> Result<Prepared<RetryReport>> {
    let id = task.id.as_str();
    let plan = crate::workflow::block::plan(env, task, "retry", task.retry_count, Vec::new())?;
    let report = RetryReport::Blocked(Blocked {
        retried: (),
        blocked: BlockedTask {
            id: id.to_string(),
            retry_count: task.retry_count,
            max_retries: max,
        },
    });
    Ok(Prepared::new(plan, report))
}

/// What `retry` did: the task started again, or marked blocked (and the command exits 1).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RetryReport {
    /// The task started again on a fresh branch and worktree.
    Retried(Retried),
    /// The task has failed more than `parallel.maxRetries` times: marked `blocked`
    /// (committed); the document is printed and the exit code is 1.
    Blocked(Blocked),
}

/// A failed task started again (`--json`: `target`, `base`, `retried`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Retried {
    /// The target branch.
    target: String,
    /// The commit the new branch starts at (the target's new tip, which marks the task
    /// `in_progress`).
    base: String,
    /// The task started again.
    retried: RetriedTask,
    /// The lines saying what happened to the old worktree's ignored files.
    #[serde(skip)]
    kept_lines: Vec<String>,
    #[serde(skip)]
    out: Output,
}

/// The task `retry` started again.
#[derive(Serialize, schemars::JsonSchema)]
struct RetriedTask {
    /// The task id.
    id: String,
    /// The new branch.
    branch: String,
    /// The new worktree's absolute path (the old worktree's path when there was one).
    #[schemars(with = "String")]
    worktree: Utf8PathBuf,
    /// The failures so far (unchanged by retry).
    retry_count: u32,
    /// The ref the previous attempt's branch tip is saved as, or `null` when that branch no
    /// longer existed.
    backup: Option<String>,
    /// The command to go to work in the new worktree, as for start.
    next: String,
    /// The worktree as shown in the text.
    #[serde(skip)]
    worktree_shown: String,
}

/// A task out of retries, marked blocked (`--json`: `retried`, `blocked`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Blocked {
    /// Always `null`: nothing was started.
    retried: (),
    /// The task marked blocked.
    blocked: BlockedTask,
}

/// The task `retry` marked blocked.
#[derive(Serialize, schemars::JsonSchema)]
struct BlockedTask {
    /// The task id.
    id: String,
    /// Its failures so far.
    retry_count: u32,
    /// `parallel.maxRetries` (default 3).
    max_retries: i64,
}

impl RetryReport {
    /// The refusal `run` returns once a blocked task's plan took effect.
    fn refusal(&self) -> Option<Error> {
        let RetryReport::Blocked(b) = self else {
            return None;
        };
        let BlockedTask {
            id,
            retry_count,
            max_retries: max,
        } = &b.blocked;
        Some(crate::refused!(
            help = "its branch and worktree are kept; to try again anyway, raise parallel.maxRetries \
                    and set its status back to failed in the task file",
            "{id} has used up its retries (failed {retry_count} times; parallel.maxRetries = {max}); marked it blocked"
        ))
    }
}

impl Blocked {
    /// The note before the plan of a `--dry-run`.
    fn dry_run_note(&self) -> String {
        let BlockedTask {
            id,
            retry_count,
            max_retries: max,
        } = &self.blocked;
        format!(
            "{id} has used up its retries (failed {retry_count} times; parallel.maxRetries = {max}); retry would mark it blocked"
        )
    }
}

impl fmt::Display for RetryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A blocked task has no text: the refusal says it all.
        let RetryReport::Retried(r) = self else {
            return Ok(());
        };
        for line in &r.kept_lines {
            writeln!(f, "{line}")?;
        }
        let t = &r.retried;
        writeln!(
            f,
            "Retrying {} (after {} failure{}) from {} at {}:",
            t.id,
            t.retry_count,
            plural(t.retry_count as usize),
            r.target,
            crate::txn::steps::shared::short(&r.base)
        )?;
        let id = r.out.paint("1", &t.id);
        writeln!(f, "  {id}  {}  {}", t.branch, t.worktree_shown)?;
        if let Some(b) = &t.backup {
            writeln!(
                f,
                "The previous attempt is saved as {b}; look at it with: git log {b}"
            )?;
        }
        writeln!(f, "Next:\n  {}", t.next)
    }
}

impl Report for RetryReport {
    fn json_notes(&self) -> Vec<String> {
        match self {
            RetryReport::Retried(r) => r.kept_lines.clone(),
            RetryReport::Blocked(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked() -> RetryReport {
        RetryReport::Blocked(Blocked {
            retried: (),
            blocked: BlockedTask {
                id: "T1".into(),
                retry_count: 4,
                max_retries: 3,
            },
        })
    }

    #[test]
    fn a_blocked_task_has_a_document_no_text_and_a_refusal() {
        let doc = crate::workflow::report::envelope("retry", blocked());
        assert_eq!(
            serde_json::to_string(&doc).unwrap_or_default(),
            r#"{"version":1,"command":"retry","retried":null,"blocked":{"id":"T1","retry_count":4,"max_retries":3}}"#
        );
        assert_eq!(blocked().to_string(), "");
        assert!(blocked().json_notes().is_empty());
        assert!(matches!(blocked().refusal(), Some(Error::Refused(_))));
    }
}

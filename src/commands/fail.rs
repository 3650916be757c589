//! `git parallel fail ID [--reason TEXT]`: record that an in-progress task failed — status
//! failed, retry_count incremented, the reason as its result — committed on the target. The
//! branch and worktree are kept for debugging; `git parallel retry ID` starts it afresh.

use crate::txn::Meta;
use serde::Serialize;
use std::fmt;

use crate::cli::defs;
use crate::error::Result;
use crate::git::short_branch;
use crate::taskgraph::{Edit, Scalar, Status};
use crate::txn::Plan;
use crate::workflow::context::Context;
use crate::workflow::driver::{drive, drive_report, Prepared};
use crate::workflow::render::plural;
use crate::workflow::report::Report;
use crate::workflow::select::named_task;
use crate::workflow::session::Session;
use crate::workflow::worktrees::task_worktree;

/// What `fail` did (`--json`: `failed`, `max_retries`, `can_retry`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Failed {
    /// The task marked failed.
    failed: FailedTask,
    /// `parallel.maxRetries` (default 3).
    max_retries: i64,
    /// Whether `git parallel retry ID` will start it again (false: retry marks it blocked).
    can_retry: bool,
    #[serde(skip)]
    target: String,
    #[serde(skip)]
    worktree_shown: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct FailedTask {
    /// The task id.
    id: String,
    /// Failures so far, this one included.
    retry_count: i64,
    /// The reason given with `--reason`, or `null`.
    result: Option<String>,
    /// Its branch, kept for debugging.
    branch: String,
    /// Its worktree, kept for debugging, or `null` when it has none.
    #[schemars(with = "Option<String>")]
    worktree: Option<camino::Utf8PathBuf>,
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

/// `fail`, its report handed back (printed through the context's output as well).
pub fn apply(ctx: &Context) -> Result<Failed> {
    drive_report(ctx, prepare(ctx)?)
}

fn prepare(ctx: &Context) -> Result<Prepared<Failed>> {
    let env = Session::load(ctx)?;
    let task = named_task(&env, "fail")?;
    let id = task.id.as_str();
    if task.status != Status::InProgress {
        return Err(crate::refused!(
            code = crate::error::Code::WrongStatus,
            help = crate::workflow::suggest::status_advice(task),
            "cannot fail {id}: its status is {}, not in_progress",
            task.status
        ));
    }
    let reason = ctx
        .args
        .value(&defs::REASON)
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let count = i64::from(task.retry_count) + 1;
    let now = crate::time::now_iso();
    let mut edits = vec![
        Edit::status(id, Status::Failed),
        Edit::task(id, "retry_count", Scalar::Int(count)),
    ];
    edits.push(crate::workflow::outcome::result_edit(
        id,
        false,
        reason.unwrap_or("marked failed"),
        &crate::workflow::outcome::branch_files(&env, task)?,
        ctx.metrics.get(id),
    ));
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let message = format!("chore({}): fail {id}", env.product);
    let no_commit = ctx.args.on(&defs::NO_COMMIT);
    let (steps, _) = env.task_file_steps(&edits, &message, no_commit)?;
    let plan = Plan {
        command: "fail".into(),
        summary: format!("fail {id}"),
        steps,
        commit_point: None,
        meta: Meta::tasks([id]),
    };
    let worktree = task_worktree(&env, task)?.map(|w| w.path);
    let worktree_shown = worktree.as_deref().map(|w| env.show(w));
    let max = ctx.repo.settings.max_retries()?;
    let report = Failed {
        failed: FailedTask {
            id: id.to_string(),
            retry_count: count,
            result: reason.map(str::to_string),
            branch: short_branch(&env.branch_of(task)).to_string(),
            worktree,
        },
        max_retries: max,
        can_retry: count <= max,
        target: short_branch(&env.target).to_string(),
        worktree_shown,
    };
    Ok(Prepared::new(plan, report))
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FailedTask {
            id,
            retry_count: count,
            result,
            branch,
            ..
        } = &self.failed;
        let reason = result
            .as_deref()
            .map(|r| format!("; reason: {r}"))
            .unwrap_or_default();
        writeln!(
            f,
            "Marked {id} failed ({count} failure{}{reason}).",
            plural(*count as usize)
        )?;
        match &self.worktree_shown {
            Some(w) => writeln!(
                f,
                "Kept its branch {branch} and worktree {w} for debugging."
            )?,
            None => writeln!(f, "Kept its branch {branch} for debugging.")?,
        }
        if self.can_retry {
            writeln!(
                f,
                "Next: git parallel retry {id}   (a fresh branch and worktree from {})",
                self.target
            )
        } else {
            writeln!(
                f,
                "It has used up its retries (parallel.maxRetries = {}); 'git parallel retry {id}' will mark it blocked.",
                self.max_retries
            )
        }
    }
}

impl Report for Failed {}

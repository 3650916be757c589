//! `git parallel fail ID [--reason TEXT]`: record that an in-progress task failed — status
//! failed, retry_count incremented, the reason as its result — committed on the target. The
//! branch and worktree are kept for debugging; `git parallel retry ID` starts it afresh.

use super::common::{self, short_branch, Env};
use super::render::print_dry_run;
use super::select::named_task;
use super::worktrees::task_worktree;
use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::taskgraph::{Edit, Scalar, Status};
use crate::txn::{self, Plan};

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load(ctx)?;
    let task = named_task(&env, "fail")?;
    let id = task.id.as_str();
    if task.status != Status::InProgress {
        return Err(crate::refused!(
            help = common::status_advice(task),
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
        Edit::task(id, "status", "failed"),
        Edit::task(id, "retry_count", Scalar::Int(count)),
    ];
    if let Some(r) = reason {
        edits.push(Edit::task(id, "result", r));
    }
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let message = format!("chore({}): fail {id}", env.product);
    let no_commit = ctx.args.on(&defs::NO_COMMIT);
    let (steps, _) = env.task_file_steps(&edits, &message, no_commit)?;
    let plan = Plan {
        command: "fail".into(),
        summary: format!("fail {id}"),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "tasks": [id] }),
    };
    if ctx.args.on(&defs::DRY_RUN) {
        print_dry_run(ctx, "fail", &plan);
        return Ok(());
    }
    let branch = env.branch_of(task);
    let worktree = task_worktree(&env, task)?.map(|w| w.path);
    txn::execute(&ctx.repo, plan)?;
    let max = ctx.repo.config_int("parallel.maxRetries")?.unwrap_or(3);
    if ctx.out.json {
        common::print_json(&common::json_envelope(
            "fail",
            serde_json::json!({
                "failed": {
                    "id": id,
                    "retry_count": count,
                    "result": reason,
                    "branch": short_branch(&branch),
                    "worktree": worktree,
                },
                "max_retries": max,
                "can_retry": count <= max,
            }),
        ));
        return Ok(());
    }
    if ctx.out.quiet {
        return Ok(());
    }
    println!(
        "Marked {id} failed ({count} failure{}{}).",
        super::render::plural(count as usize),
        reason.map(|r| format!("; reason: {r}")).unwrap_or_default()
    );
    match &worktree {
        Some(w) => println!(
            "Kept its branch {} and worktree {} for debugging.",
            short_branch(&branch),
            env.show(w)
        ),
        None => println!("Kept its branch {} for debugging.", short_branch(&branch)),
    }
    if count <= max {
        println!(
            "Next: git parallel retry {id}   (a fresh branch and worktree from {})",
            short_branch(&env.target)
        );
    } else {
        println!(
            "It has used up its retries (parallel.maxRetries = {max}); 'git parallel retry {id}' will mark it blocked."
        );
    }
    Ok(())
}

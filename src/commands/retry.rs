//! `git parallel retry ID`: restart a failed task from a fresh branch and worktree. The old
//! branch is kept under `refs/parallel/backup/<id>-retry<N>`, the old worktree removed (refused
//! while it has changes), the task file marked in_progress again and committed on the target,
//! and the new branch made from that commit — one transaction, like `start`.
//!
//! The failed attempt's `result` is cleared (the reason stays in the `fail` commit's task file).
//! `retry_count` (incremented by `fail`) counts failures. Once a task has failed more than
//! `parallel.maxRetries` (default 3) times, retry refuses, records `status: blocked` (committed)
//! and exits 1.

use camino::Utf8PathBuf;

use super::backup::free_backup_name;
use super::common::{self, short_branch, Env};
use super::render::print_dry_run;
use super::select::named_task;
use super::worktrees::{launch_line, task_worktree, worktree_changes};
use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::git::RefUpdate;
use crate::taskgraph::{Edit, Scalar, Status, Task};
use crate::txn::{self, Plan, Step};

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load(ctx)?;
    let task = named_task(&env, "retry")?;
    let id = task.id.as_str();
    if task.status != Status::Failed {
        return Err(crate::refused!(
            help = common::status_advice(task),
            "cannot retry {id}: its status is {}, not failed",
            task.status
        ));
    }
    let max = ctx
        .repo
        .config_int("parallel.maxRetries")?
        .unwrap_or(3)
        .max(0);
    if i64::from(task.retry_count) > max {
        return block(&env, task, max);
    }

    let old_branch = env.branch_of(task);
    let old_tip = ctx.repo.ref_id(&old_branch)?;
    let old_wt = task_worktree(&env, task)?;
    let copy = super::worktrees::include_files(&env)?;
    let new_branch = env.new_branch_name(task);
    let path: Utf8PathBuf = old_wt
        .as_ref()
        .map(|w| w.path.clone())
        .unwrap_or_else(|| env.worktree_path(task));

    // Everything that stands in the way, at once.
    let mut problems = Vec::new();
    let mut ours = Vec::new();
    if let Some(w) = &old_wt {
        if w.branch.as_deref() != Some(old_branch.as_str()) {
            problems.push(format!(
                "its worktree {} has {} checked out instead of {}",
                env.show(&w.path),
                w.branch
                    .as_deref()
                    .map(short_branch)
                    .unwrap_or("a detached HEAD"),
                short_branch(&old_branch)
            ));
        }
        if w.locked {
            problems.push(format!(
                "its worktree {} is locked (git worktree unlock)",
                env.show(&w.path)
            ));
        }
        if ctx.repo.current_worktree.as_deref() == Some(w.path.as_path()) {
            problems.push(format!(
                "you are inside its worktree {}; run the command from the main worktree",
                env.show(&w.path)
            ));
        }
        if w.path.is_dir() {
            let (changes, o) = worktree_changes(&env, &w.path, &copy)?;
            if !changes.is_empty() {
                problems.push(format!(
                    "its worktree {} has uncommitted or untracked changes ({}); commit them (they are kept \
                     with the old branch) or stash them",
                    env.show(&w.path),
                    changes.join(", ")
                ));
            }
            ours = o;
        }
    } else if path.exists() {
        problems.push(format!("{} already exists", env.show(&path)));
    }
    if !common::valid_branch(short_branch(&new_branch)) {
        problems.push(format!(
            "'{}' is not a valid branch name (check parallel.branchTemplate)",
            short_branch(&new_branch)
        ));
    } else if new_branch != old_branch && ctx.repo.ref_id(&new_branch)?.is_some() {
        problems.push(format!(
            "branch {} already exists",
            short_branch(&new_branch)
        ));
    }
    if path.starts_with(&env.main) {
        problems.push(format!(
            "worktree {} would be inside the main worktree",
            env.show(&path)
        ));
    }
    // Submodule repositories live inside the worktree's admin dir and go with it.
    if let Some(w) = old_wt.as_ref().filter(|w| w.path.is_dir()) {
        let subs = super::submodules::find(&ctx.repo, &w.path)?;
        if !subs.is_empty() {
            let paths: Vec<&str> = subs.iter().map(|s| s.path.as_str()).collect();
            problems.push(format!(
                "worktree {} has initialised submodules ({}) whose repositories would be removed with it; \
                 push their work (git -C <submodule> push), then: git -C {} submodule deinit --all --force",
                env.show(&w.path),
                paths.join(", "),
                env.show(&w.path)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "nothing was changed; fix these and run 'git parallel retry {id}' again",
            "cannot retry {id}:\n  {}",
            problems.join("\n  ")
        ));
    }

    // The plan: back up, remove the old attempt, record the new one, create it.
    let mut steps = Vec::new();
    let message = format!("chore({}): retry {id}", env.product);
    let mut backup = None;
    if let Some(tip) = old_tip {
        let mut taken = Vec::new();
        let name = free_backup_name(
            &env,
            &format!("{id}-retry{}", task.retry_count.max(1)),
            &mut taken,
        )?;
        steps.push(Step::Refs {
            updates: vec![RefUpdate {
                name: name.clone(),
                old: None,
                new: Some(tip.to_string()),
            }],
            message: format!("git-parallel: backup before {message}"),
        });
        backup = Some(name);
    }
    if let Some(w) = &old_wt {
        steps.push(Step::RemoveWorktree {
            path: w.path.clone(),
            branch: old_branch.clone(),
            // Unchanged copies of the include files alone do not block removal.
            force: !ours.is_empty(),
            restore: Vec::new(),
            post_start: None,
        });
    }
    if let Some(tip) = old_tip {
        steps.push(Step::Refs {
            updates: vec![RefUpdate {
                name: old_branch.clone(),
                old: Some(tip.to_string()),
                new: None,
            }],
            message: format!("git-parallel: {message} (old attempt)"),
        });
    }
    let now = crate::time::now_iso();
    let mut edits = vec![
        Edit::task(id, "status", "in_progress"),
        Edit::task(id, "started_at", now.as_str()),
        Edit::task(id, "assigned_to", short_branch(&new_branch)),
    ];
    if task.result.is_some() {
        // The result was the failed attempt's; the new attempt has none yet.
        edits.push(Edit::task(id, "result", Scalar::Null));
    }
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let (file_steps, base) = env.task_file_steps(&edits, &message, false)?;
    steps.extend(file_steps);
    steps.push(Step::Refs {
        updates: vec![RefUpdate {
            name: new_branch.clone(),
            old: None,
            new: Some(base.to_string()),
        }],
        message: format!("git-parallel: {message}"),
    });
    steps.push(Step::AddWorktree {
        path: path.clone(),
        branch: new_branch.clone(),
        copy,
        post_start: ctx.repo.config("parallel.postStart"),
    });
    let mut plan = Plan {
        command: "retry".into(),
        summary: format!("retry {id}"),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "tasks": [id], "backup": backup }),
    };
    let kept = txn::keep::keep_ignored(&ctx.repo, &mut plan.steps, &[])?;
    if ctx.args.on(&defs::DRY_RUN) {
        print_dry_run(ctx, "retry", &plan);
        return Ok(());
    }
    txn::execute(&ctx.repo, plan)?;
    txn::keep::print_kept(&kept, &ctx.out, |p| env.show(p));

    let next = launch_line(&env, id, &new_branch, &path);
    if ctx.out.json {
        common::print_json(&common::json_envelope(
            "retry",
            serde_json::json!({
                "target": short_branch(&env.target),
                "base": base.to_string(),
                "retried": {
                    "id": id,
                    "branch": short_branch(&new_branch),
                    "worktree": path,
                    "retry_count": task.retry_count,
                    "backup": backup,
                    "next": next,
                },
            }),
        ));
        return Ok(());
    }
    if ctx.out.quiet {
        return Ok(());
    }
    println!(
        "Retrying {id} (after {} failure{}) from {} at {}:",
        task.retry_count,
        super::render::plural(task.retry_count as usize),
        short_branch(&env.target),
        crate::txn::step::short(&base.to_string())
    );
    println!(
        "  {}  {}  {}",
        ctx.out.paint("1", id),
        short_branch(&new_branch),
        env.show(&path)
    );
    if let Some(b) = &backup {
        println!("The previous attempt is saved as {b}; look at it with: git log {b}");
    }
    println!("Next:\n  {next}");
    Ok(())
}

/// Too many failures: record `status: blocked` and refuse (exit 1).
fn block(env: &Env, task: &Task, max: i64) -> Result<()> {
    let ctx = env.ctx;
    let id = task.id.as_str();
    let now = crate::time::now_iso();
    let edits = vec![
        Edit::task(id, "status", "blocked"),
        Edit::metadata("updated_at", now.as_str()),
    ];
    let message = format!(
        "chore({}): block {id} after {} failures",
        env.product, task.retry_count
    );
    let (steps, _) = env.task_file_steps(&edits, &message, false)?;
    let plan = Plan {
        command: "retry".into(),
        summary: format!("block {id}"),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "tasks": [id], "blocked": true }),
    };
    if ctx.args.on(&defs::DRY_RUN) {
        if !ctx.out.json {
            eprintln!(
                "note: {id} has used up its retries (failed {} times; parallel.maxRetries = {max}); retry would mark it blocked",
                task.retry_count
            );
        }
        print_dry_run(ctx, "retry", &plan);
        return Ok(());
    }
    txn::execute(&ctx.repo, plan)?;
    if ctx.out.json {
        common::print_json(&common::json_envelope(
            "retry",
            serde_json::json!({
                "retried": null,
                "blocked": { "id": id, "retry_count": task.retry_count, "max_retries": max },
            }),
        ));
    }
    Err(crate::refused!(
        help = "its branch and worktree are kept; to try again anyway, raise parallel.maxRetries \
                and set its status back to failed in the task file",
        "{id} has used up its retries (failed {} times; parallel.maxRetries = {max}); marked it blocked",
        task.retry_count
    ))
}

//! `git parallel approve ID`: record `approved_at` on a completed checkpoint task, committed on
//! the target, so the tasks depending on it become ready.
//!
//! Refused (exit 1) when the task is not a checkpoint or not completed. A checkpoint that already
//! has `approved_at` is left alone: a note, exit 0 (approving twice is not an error).

use super::common::{self, Env};
use super::render::print_dry_run;
use super::select::named_task;
use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::taskgraph::{schedule, Edit, Status};
use crate::txn::{self, Plan};

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load(ctx)?;
    let task = named_task(&env, "approve")?;
    let id = task.id.as_str();
    if !task.checkpoint {
        return Err(crate::refused!(
            help = common::status_advice(task),
            "cannot approve {id}: it is not a checkpoint (its status is {}); only checkpoints wait for approval",
            task.status
        ));
    }
    if task.status != Status::Completed {
        return Err(crate::refused!(
            help = common::status_advice(task),
            "cannot approve {id}: its status is {}, not completed (a checkpoint is approved once its work is merged)",
            task.status
        ));
    }
    if let Some(at) = &task.approved_at {
        if ctx.out.json {
            common::print_json(&common::json_envelope(
                "approve",
                serde_json::json!({
                    "approved": { "id": id, "approved_at": at },
                    "already_approved": true,
                    "ready": [],
                }),
            ));
        } else if !ctx.out.quiet {
            println!("{id} was already approved at {at}; nothing to do.");
        }
        return Ok(());
    }

    let now = crate::time::now_iso();
    let edits = vec![
        Edit::task(id, "approved_at", now.as_str()),
        Edit::metadata("updated_at", now.as_str()),
    ];
    let message = format!("chore({}): approve {id}", env.product);
    let (steps, _) = env.task_file_steps(&edits, &message, false)?;
    let plan = Plan {
        command: "approve".into(),
        summary: format!("approve {id}"),
        steps,
        commit_point: None,
        meta: serde_json::json!({ "tasks": [id] }),
    };
    if ctx.args.on(&defs::DRY_RUN) {
        print_dry_run(ctx, "approve", &plan);
        return Ok(());
    }

    // Dependents that the approval makes ready (computed on the graph as it will be).
    let mut graph = env.tf.graph.clone();
    let i = env.tf.index_of(id).expect("the named task exists");
    let before: Vec<bool> = (0..graph.tasks.len())
        .map(|k| schedule::is_ready(&graph, k))
        .collect();
    graph.tasks[i].approved_at = Some(now.clone());
    let ready: Vec<&str> = (0..graph.tasks.len())
        .filter(|&k| !before[k] && graph.tasks[k].depends_on.iter().any(|d| d == id))
        .filter(|&k| schedule::is_ready(&graph, k))
        .map(|k| graph.tasks[k].id.as_str())
        .collect();

    txn::execute(&ctx.repo, plan)?;
    if ctx.out.json {
        common::print_json(&common::json_envelope(
            "approve",
            serde_json::json!({
                "approved": { "id": id, "approved_at": now },
                "already_approved": false,
                "ready": ready,
            }),
        ));
        return Ok(());
    }
    if ctx.out.quiet {
        return Ok(());
    }
    println!("Approved {id}.");
    if ready.is_empty() {
        println!("No task became ready by it (see 'git parallel status').");
    } else {
        println!("Now ready: {}", ready.join(", "));
        println!("Next: git parallel start");
    }
    Ok(())
}

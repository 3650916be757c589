//! `git parallel __complete [STATUS...]` (hidden): the ids of the tasks whose status is one of
//! STATUS (all tasks when none), one per line, for the shell completion scripts. Besides the
//! task statuses, `@ready` means ready to start now (what `start` takes) and `@approval` a
//! completed checkpoint awaiting `approve`. It is quick and silent: on any problem it prints
//! nothing and exits 0.

use crate::error::Result;
use crate::taskgraph::{schedule, TaskFile};
use crate::workflow::context::Context;

pub fn run(ctx: &Context) -> Result<()> {
    let ids = task_ids(ctx, &ctx.args.positionals).unwrap_or_default();
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    crate::workflow::render::print_document("__complete", text);
    Ok(())
}

/// Ids in file order, without duplicates or empty ids; `None` when the task file cannot be
/// found, read or parsed. No validation: completion should work on a file being edited.
fn task_ids(ctx: &Context, statuses: &[String]) -> Option<Vec<String>> {
    let path = ctx.locate_task_file().ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let tf = TaskFile::parse(&path, text).ok()?;
    // Checkpoints whose approval some task waits for (as `approve` and `status` see it).
    let awaiting: Vec<String> = if statuses.iter().any(|s| s == "@approval") {
        (0..tf.graph.tasks.len())
            .flat_map(|i| schedule::blockers(&tf.graph, i))
            .filter_map(|b| match b {
                schedule::Blocker::Checkpoint { dep } => Some(dep),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut ids: Vec<String> = Vec::new();
    for (i, t) in tf.graph.tasks.iter().enumerate() {
        let wanted = statuses.is_empty()
            || statuses.iter().any(|s| match s.as_str() {
                "@ready" => schedule::is_ready(&tf.graph, i),
                "@approval" => awaiting.contains(&t.id),
                s => s == t.status.as_str(),
            });
        if wanted && !t.id.is_empty() && !ids.contains(&t.id) {
            ids.push(t.id.clone());
        }
    }
    Some(ids)
}

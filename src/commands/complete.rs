//! `git parallel __complete [STATUS...]` (hidden): the ids of the tasks whose status is one of
//! STATUS (all tasks when none), one per line, for the shell completion scripts. It is quick
//! and silent: on any problem it prints nothing and exits 0.

use std::io::Write;

use crate::context::Context;
use crate::error::Result;
use crate::taskgraph::TaskFile;

pub fn run(ctx: &Context) -> Result<()> {
    let ids = task_ids(ctx, &ctx.args.positionals).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    for id in ids {
        if writeln!(out, "{id}").is_err() {
            break;
        }
    }
    Ok(())
}

/// Ids in file order, without duplicates or empty ids; `None` when the task file cannot be
/// found, read or parsed. No validation: completion should work on a file being edited.
fn task_ids(ctx: &Context, statuses: &[String]) -> Option<Vec<String>> {
    let path = ctx.locate_task_file().ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let tf = TaskFile::parse(&path, text).ok()?;
    let mut ids: Vec<String> = Vec::new();
    for t in &tf.graph.tasks {
        let wanted = statuses.is_empty() || statuses.iter().any(|s| s == t.status.as_str());
        if wanted && !t.id.is_empty() && !ids.contains(&t.id) {
            ids.push(t.id.clone());
        }
    }
    Some(ids)
}

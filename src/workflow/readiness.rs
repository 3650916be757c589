//! Why a task is not ready, in words, and the cap on tasks started at once.

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::taskgraph::schedule::{Blocker, Wait};
use crate::taskgraph::Status;
use crate::workflow::context::Context;

/// Why a task waits, in words.
pub(crate) fn explain(wait: &Wait) -> String {
    match wait {
        Wait::Blocked(bs) => bs
            .iter()
            .map(explain_blocker)
            .collect::<Vec<_>>()
            .join("; "),
        Wait::Conflict { with, path } => format!("shares {path} with {with}"),
        Wait::RunsAlone => {
            "runs alone (parallel_ok: false) and other tasks are selected or running".into()
        }
        Wait::Busy => "waits for the running tasks (parallel_ok: false)".into(),
        Wait::Capped => {
            "waits: the cap on tasks started at once is reached (--max, parallel.maxTasks)".into()
        }
    }
}
pub(crate) fn explain_blocker(b: &Blocker) -> String {
    match b {
        Blocker::Status(Status::InProgress) => "already started (in_progress)".into(),
        Blocker::Status(s) => format!("status is {s}"),
        Blocker::Dependency { dep, status } => format!("depends on {dep} ({status})"),
        Blocker::Checkpoint { dep } => {
            format!("checkpoint {dep} awaits approval (git parallel approve {dep})")
        }
        Blocker::UnknownDependency(d) => format!("depends on unknown task {d}"),
    }
}
/// Why a task waits, in words: `explain`, with unmet dependencies listed in one clause.
pub(crate) fn reason(wait: &Wait) -> String {
    let Wait::Blocked(blockers) = wait else {
        return explain(wait);
    };
    let deps: Vec<String> = blockers
        .iter()
        .filter_map(|b| match b {
            Blocker::Dependency { dep, status } => Some(format!("{dep} ({status})")),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    if !deps.is_empty() {
        parts.push(format!("depends on {}", deps.join(", ")));
    }
    parts.extend(
        blockers
            .iter()
            .filter(|b| !matches!(b, Blocker::Dependency { .. }))
            .map(explain_blocker),
    );
    parts.join("; ")
}
/// The cap on tasks started at once: `--max N`, else `git config parallel.maxTasks`; `None`
/// for no cap. A value that is not a whole number of 1 or more is a usage error.
pub(crate) fn max_tasks(ctx: &Context) -> Result<Option<usize>> {
    let Some(v) = ctx.flag_or_config(&defs::MAX) else {
        return Ok(None);
    };
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(Error::usage(
            format!(
                "--max / parallel.maxTasks must be a whole number of 1 or more, not '{}'",
                crate::taskgraph::display::short(&v)
            ),
            Some(ctx.args.command.name),
        )),
    }
}

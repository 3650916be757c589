//! Which tasks a command acts on, as named on its command line: the one task named
//! ([`named_task`]), or "these ids, or every task in progress" ([`ids_or_in_progress`]).

use super::session::Session;
use crate::error::Result;
use crate::taskgraph::{Status, Task};

/// The one task named on the command line, checked to exist.
pub(crate) fn named_task<'e>(env: &'e Session, command: &str) -> Result<&'e Task> {
    let id = env
        .ctx
        .args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    env.tf.task(id).ok_or_else(|| {
        crate::refused!(
            help = crate::workflow::suggest::unknown_id_hint(&env.tf, id),
            "cannot {command} {id}: no such task in {}",
            env.tf.path
        )
    })
}

/// The tasks a command line selects (indices into the graph's tasks).
pub(crate) struct Selection {
    /// The selected tasks: the named ones in the order given (each once), or every task in
    /// progress in the order of the task file.
    pub idx: Vec<usize>,
    /// Why named tasks cannot be selected, one line each (`ID: …`); the command refuses with
    /// them all at once.
    pub problems: Vec<String>,
}

/// The tasks named on the command line, or every task in progress when none is named.
///
/// A named id that is no task is a problem (`ID: no such task in FILE; hint`, FILE as shown by
/// `file`); `judge` says of every other named task what stands in its way (None: selected).
pub(crate) fn ids_or_in_progress(
    env: &Session,
    file: &str,
    mut judge: impl FnMut(usize) -> Result<Option<String>>,
) -> Result<Selection> {
    let ids = &env.ctx.args.positionals;
    let tasks = &env.tf.graph.tasks;
    if ids.is_empty() {
        return Ok(Selection {
            idx: (0..tasks.len())
                .filter(|&i| tasks[i].status == Status::InProgress)
                .collect(),
            problems: Vec::new(),
        });
    }
    let mut idx = Vec::new();
    let mut problems = Vec::new();
    for id in ids {
        match env.tf.index_of(id) {
            Some(i) if idx.contains(&i) => {}
            Some(i) => match judge(i)? {
                None => idx.push(i),
                Some(problem) => problems.push(problem),
            },
            None => problems.push(format!(
                "{id}: no such task in {file}; {}",
                crate::workflow::suggest::unknown_id_hint(&env.tf, id)
            )),
        }
    }
    Ok(Selection { idx, problems })
}

//! Setting started tasks back as they were before `start`: status pending, and the keys start
//! (and retry) wrote — `started_at`, `assigned_to` — restored from the task file as that start
//! found it (the operation log says which commit or text that was), or removed when start added
//! them.

use crate::txn::steps::{Refs, WriteFile};

use super::session::Session;
use crate::error::{Error, Result};
use crate::taskgraph::{Edit, Scalar, Status, Task, TaskFile};
use crate::txn::{self, Step};

/// The keys `start` (and `retry`) write into a task; abort puts them back as they were.
const START_KEYS: [&str; 2] = ["started_at", "assigned_to"];

/// The task file text with the tasks `ids` pending again, their start keys as before their
/// start, and `metadata.updated_at` set to `now`.
pub(crate) fn reset_text(env: &Session, ids: &[&str], now: &str) -> Result<String> {
    let mut edits = Vec::new();
    let mut removals: Vec<(&str, &str)> = Vec::new();
    for &id in ids {
        edits.push(Edit::status(id, Status::Pending));
        let before = before_start(env, id);
        for key in START_KEYS {
            match before.as_ref().and_then(|m| m.get(key)) {
                // The key was there before start: its old value comes back.
                Some(old) => {
                    if let Some(v) = scalar_of(old) {
                        edits.push(Edit::task(id, key, v));
                    }
                }
                // Start added it: it goes.
                None => removals.push((id, key)),
            }
        }
    }
    edits.push(Edit::metadata("updated_at", now));
    let text = env.tf.apply_edits(&edits).map_err(Error::Refused)?;
    let removed = TaskFile::parse(&env.tf.path, text).and_then(|tf| tf.remove_task_keys(&removals));
    match removed {
        Ok(text) => Ok(text),
        // A line that cannot be cut out cleanly (a flow mapping, …) is cleared instead.
        Err(_) => {
            for (id, key) in &removals {
                if env.tf.task(id).is_some_and(|t| has_key(t, key)) {
                    edits.push(Edit::task(*id, *key, Scalar::Null));
                }
            }
            env.tf.apply_edits(&edits).map_err(Error::Refused)
        }
    }
}

/// Whether the task has a value for one of [`START_KEYS`].
fn has_key(task: &Task, key: &str) -> bool {
    match key {
        "started_at" => task.started_at.is_some(),
        _ => task.assigned_to.is_some(),
    }
}

/// The task's entry as it was before the `start` that started it (the newest one not undone
/// in the operation log), None when the log no longer has that start.
fn before_start(env: &Session, id: &str) -> Option<serde_yaml::Mapping> {
    let entries = txn::oplog::read(&txn::state_dir(&env.ctx.repo)).ok()?;
    let undone: Vec<&txn::OpId> = entries.iter().filter_map(|e| e.undoes.as_ref()).collect();
    let entry = entries.iter().rev().find(|e| {
        e.command == "start"
            && e.undoes.is_none()
            && !undone.contains(&&e.id)
            && e.meta.has_task(id)
    })?;
    // The task file as start found it: the old text it wrote over (--no-commit), else the
    // file in the target's commit before start's commit.
    let text = entry.steps.iter().find_map(|s| match s {
        Step::WriteFile(WriteFile { path, old, .. }) if *path == env.task_path => Some(old.clone()),
        Step::Refs(Refs { updates, .. }) => {
            let old = updates.iter().find(|u| u.name == env.target)?.old?;
            let bytes = env.ctx.repo.file_at(old, env.task_rel.as_deref()?).ok()??;
            String::from_utf8(bytes).ok()
        }
        _ => None,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let doc: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    doc.get("tasks")?
        .as_sequence()?
        .iter()
        .find(|t| t.get("id").and_then(serde_yaml::Value::as_str) == Some(id))?
        .as_mapping()
        .cloned()
}

/// A task file value as an edit's scalar (None for what an edit cannot write back).
fn scalar_of(v: &serde_yaml::Value) -> Option<Scalar> {
    match v {
        serde_yaml::Value::Null => Some(Scalar::Null),
        serde_yaml::Value::String(s) => Some(Scalar::Str(s.clone())),
        serde_yaml::Value::Number(n) => n.as_i64().map(Scalar::Int),
        _ => None,
    }
}

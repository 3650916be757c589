//! Whether a task file differs from another only by the records `start` writes: tasks moved
//! to `in_progress` with their `started_at` and `assigned_to`, and `metadata.updated_at`. Such
//! a difference is what `run` (without a remote) leaves uncommitted in the main worktree
//! until the next commit of the task file carries it (src/workflow/session.rs).

use serde_yaml::Value;

use super::{Edit, Status, TaskFile};

impl TaskFile {
    /// The ids of the tasks this file (the main worktree's copy) started on top of
    /// `committed`, when that is its only difference: replaying exactly those records on
    /// `committed` gives this file byte for byte. `Some(empty)` when both are the same text;
    /// `None` for any other difference (a hand edit, another command's record).
    pub fn started_over(&self, committed: &TaskFile) -> Option<Vec<String>> {
        if self.source == committed.source {
            return Some(Vec::new());
        }
        let mut ids = Vec::new();
        let mut edits = Vec::new();
        for t in &self.graph.tasks {
            let before = committed.task(&t.id)?;
            if t.status != Status::InProgress || before.status == Status::InProgress {
                continue;
            }
            edits.push(Edit::status(t.id.as_str(), Status::InProgress));
            edits.push(Edit::task(
                t.id.as_str(),
                "started_at",
                t.started_at.as_deref()?,
            ));
            edits.push(Edit::task(
                t.id.as_str(),
                "assigned_to",
                t.assigned_to.as_deref()?,
            ));
            ids.push(t.id.clone());
        }
        if ids.is_empty() {
            return None;
        }
        edits.push(Edit::metadata(
            "updated_at",
            updated_at(&self.source)?.as_str(),
        ));
        let replayed = committed.apply_edits(&edits).ok()?;
        (replayed == self.source).then_some(ids)
    }
}

/// `metadata.updated_at` of a task file's text.
fn updated_at(source: &str) -> Option<String> {
    let doc: Value = serde_yaml::from_str(source).ok()?;
    super::model::scalar_string(doc.get("metadata")?.get("updated_at")?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use camino::Utf8Path;

    const FILE: &str = "# kept\nmetadata:\n  product: p\ntasks:\n- id: A\n  status: pending # why\n- id: B\n  status: pending\n";

    fn parse(s: &str) -> TaskFile {
        TaskFile::parse(Utf8Path::new("t.yml"), s.to_string()).expect("parses")
    }

    fn start(tf: &TaskFile, id: &str, at: &str) -> TaskFile {
        let text = tf
            .apply_edits(&[
                Edit::status(id, Status::InProgress),
                Edit::task(id, "started_at", at),
                Edit::task(id, "assigned_to", format!("feature/p/{id}").as_str()),
                Edit::metadata("updated_at", at),
            ])
            .expect("edits");
        parse(&text)
    }

    #[test]
    fn starts_one_after_the_other_are_recognised() {
        let committed = parse(FILE);
        let one = start(&committed, "A", "2026-01-01T00:00:00Z");
        assert_eq!(one.started_over(&committed), Some(vec!["A".to_string()]));
        let two = start(&one, "B", "2026-01-01T00:01:00Z");
        assert_eq!(
            two.started_over(&committed),
            Some(vec!["A".to_string(), "B".to_string()])
        );
        assert_eq!(committed.started_over(&committed), Some(Vec::new()));
    }

    #[test]
    fn anything_else_is_not_a_start() {
        let committed = parse(FILE);
        let one = start(&committed, "A", "2026-01-01T00:00:00Z");
        let hand = parse(&one.source.replace("# kept", "# changed"));
        assert_eq!(hand.started_over(&committed), None);
        let done = parse(
            &one.source
                .replace("status: in_progress", "status: completed"),
        );
        assert_eq!(done.started_over(&committed), None);
        assert_eq!(committed.started_over(&one), None);
    }
}

//! Whether a task file differs from another only by the records `run` writes without
//! committing them: a start (the task `in_progress`, its `started_at` and `assigned_to`) and
//! the completion of a task that produces nothing, completed without a merge (`completed`,
//! its `completed_at` and `result`), with `metadata.updated_at`. Such a difference is what
//! `run` (without a remote) leaves uncommitted in the main worktree until the next commit of
//! the task file carries it (src/workflow/session.rs).

use serde_yaml::Value;

use super::{Edit, Scalar, Status, TaskFile};

/// The records a task file holds on top of the committed one ([`TaskFile::run_records_over`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunRecords {
    /// The tasks started (now `in_progress`), in file order.
    pub started: Vec<String>,
    /// The tasks that produce nothing completed without a merge, in file order (also
    /// started there when they were not `in_progress` in the committed file).
    pub completed: Vec<String>,
}

impl RunRecords {
    /// No record at all.
    pub fn is_empty(&self) -> bool {
        self.started.is_empty() && self.completed.is_empty()
    }
}

impl TaskFile {
    /// The records this file (the main worktree's copy) holds on top of `committed`, when
    /// they are its only difference: replaying exactly those records on `committed` gives
    /// this file byte for byte. Empty when both are the same text; `None` for any other
    /// difference (a hand edit, another command's record, a task that produces files marked
    /// completed without its merge).
    pub fn run_records_over(&self, committed: &TaskFile) -> Option<RunRecords> {
        let mut records = RunRecords::default();
        if self.source == committed.source {
            return Some(records);
        }
        let mut edits = Vec::new();
        for t in &self.graph.tasks {
            let before = committed.task(&t.id)?;
            if t.status == before.status {
                continue;
            }
            let start = |edits: &mut Vec<Edit>| -> Option<()> {
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
                Some(())
            };
            match t.status {
                Status::InProgress => {
                    start(&mut edits)?;
                    records.started.push(t.id.clone());
                }
                Status::Completed
                    if before.produces_nothing()
                        && matches!(
                            before.status,
                            Status::Pending | Status::Ready | Status::InProgress
                        ) =>
                {
                    if before.status != Status::InProgress {
                        start(&mut edits)?;
                    }
                    edits.push(Edit::status(t.id.as_str(), Status::Completed));
                    edits.push(Edit::task(
                        t.id.as_str(),
                        "completed_at",
                        t.completed_at.as_deref()?,
                    ));
                    edits.push(Edit::task(t.id.as_str(), "result", self.result_of(&t.id)?));
                    records.completed.push(t.id.clone());
                }
                _ => return None,
            }
        }
        if records.is_empty() {
            return None;
        }
        edits.push(Edit::metadata(
            "updated_at",
            updated_at(&self.source)?.as_str(),
        ));
        let replayed = committed.apply_edits(&edits).ok()?;
        (replayed == self.source).then_some(records)
    }

    /// Task `id`'s `result` mapping as an edit's value, when it is one a completion without a
    /// merge writes: a success with no artifacts (`None` otherwise).
    fn result_of(&self, id: &str) -> Option<Scalar> {
        let task = self
            .index
            .value
            .get("tasks")?
            .as_sequence()?
            .iter()
            .find(|t| t.get("id").and_then(super::model::scalar_string).as_deref() == Some(id))?;
        let result = task.get("result")?;
        let success = result.get("status")?.as_str() == Some("success")
            && result.get("artifacts_created")?.as_sequence()?.is_empty();
        success.then(|| scalar(result)).flatten()
    }
}

/// A YAML value as the edit that writes it (strings, numbers, null, flow lists and maps).
fn scalar(v: &Value) -> Option<Scalar> {
    Some(match v {
        Value::String(s) => Scalar::Str(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Scalar::Int(i),
            None => Scalar::number(n.as_f64()?),
        },
        Value::Null => Scalar::Null,
        Value::Sequence(items) => Scalar::List(items.iter().map(scalar).collect::<Option<_>>()?),
        Value::Mapping(m) => Scalar::Map(
            m.iter()
                .map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
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

    const FILE: &str = "# kept\nmetadata:\n  product: p\ntasks:\n- id: A\n  produces: [{ path: a/ }]\n  status: pending # why\n- id: B\n  produces: [{ path: b/ }]\n  status: pending\n- id: R\n  produces: [{ name: verdict, type: decision }]\n  status: pending\n";

    fn parse(s: &str) -> TaskFile {
        TaskFile::parse(Utf8Path::new("t.yml"), s.to_string()).expect("parses")
    }

    fn edited(tf: &TaskFile, edits: &[Edit]) -> TaskFile {
        parse(&tf.apply_edits(edits).expect("edits"))
    }

    fn start(tf: &TaskFile, id: &str, at: &str) -> TaskFile {
        edited(
            tf,
            &[
                Edit::status(id, Status::InProgress),
                Edit::task(id, "started_at", at),
                Edit::task(id, "assigned_to", format!("feature/p/{id}").as_str()),
                Edit::metadata("updated_at", at),
            ],
        )
    }

    /// As finish completes a task without a merge (src/commands/finish.rs).
    fn complete(tf: &TaskFile, id: &str, at: &str) -> TaskFile {
        let result = Scalar::Map(vec![
            ("status".into(), Scalar::from("success")),
            ("artifacts_created".into(), Scalar::List(Vec::new())),
            ("message".into(), Scalar::from("completed without a merge")),
            (
                "metrics".into(),
                Scalar::Map(vec![
                    ("attempts".into(), Scalar::Int(1)),
                    ("seconds".into(), Scalar::Int(3)),
                    ("cost_usd".into(), Scalar::number(0.25)),
                ]),
            ),
        ]);
        edited(
            tf,
            &[
                Edit::status(id, Status::Completed),
                Edit::task(id, "completed_at", at),
                Edit::task(id, "result", result),
                Edit::metadata("updated_at", at),
            ],
        )
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn starts_one_after_the_other_are_recognised() {
        let committed = parse(FILE);
        let one = start(&committed, "A", "2026-01-01T00:00:00Z");
        assert_eq!(
            one.run_records_over(&committed).map(|r| r.started),
            Some(ids(&["A"]))
        );
        let two = start(&one, "B", "2026-01-01T00:01:00Z");
        assert_eq!(
            two.run_records_over(&committed).map(|r| r.started),
            Some(ids(&["A", "B"]))
        );
        assert_eq!(
            committed.run_records_over(&committed),
            Some(RunRecords::default())
        );
    }

    #[test]
    fn completions_of_tasks_that_produce_nothing_are_recognised() {
        let committed = parse(FILE);
        let started = start(&committed, "R", "2026-01-01T00:00:00Z");
        let both = start(&started, "A", "2026-01-01T00:00:30Z");
        let done = complete(&both, "R", "2026-01-01T00:01:00Z");
        // Started and completed since the commit, or started in the committed file.
        let want = RunRecords {
            started: ids(&["A"]),
            completed: ids(&["R"]),
        };
        assert_eq!(done.run_records_over(&committed), Some(want));
        let want = RunRecords {
            started: ids(&["A"]),
            completed: ids(&["R"]),
        };
        assert_eq!(done.run_records_over(&started), Some(want));
    }

    #[test]
    fn anything_else_is_not_a_run_record() {
        let committed = parse(FILE);
        let one = start(&committed, "A", "2026-01-01T00:00:00Z");
        let hand = parse(&one.source.replace("# kept", "# changed"));
        assert_eq!(hand.run_records_over(&committed), None);
        // A task that produces files completed without its merge.
        let done = complete(&one, "A", "2026-01-01T00:01:00Z");
        assert_eq!(done.run_records_over(&committed), None);
        let bare = parse(
            &one.source
                .replace("status: in_progress", "status: completed"),
        );
        assert_eq!(bare.run_records_over(&committed), None);
        assert_eq!(committed.run_records_over(&one), None);
        // A completion whose result is not a success without artifacts.
        let r = complete(&start(&committed, "R", "t0"), "R", "t1");
        let hand = parse(&r.source.replace("status: success", "status: failure"));
        assert!(r.run_records_over(&committed).is_some());
        assert_eq!(hand.run_records_over(&committed), None);
    }
}

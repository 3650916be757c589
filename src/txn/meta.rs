//! The typed facts an operation carries into its journal and the operation log: its id
//! ([`OpId`]), the tasks it acted on ([`TaskId`]) and what else later commands read back
//! ([`Meta`]). Every field is optional and defaulted, so journals and logs written by earlier
//! releases (`"meta": null`, or keys this release does not know) still read.

use serde::{Deserialize, Deserializer, Serialize};

/// An operation's id: `<nanoseconds since the epoch>-<pid>`, unique per run. Opaque once made.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpId(String);

impl OpId {
    /// A new id for an operation of this process.
    pub fn new() -> OpId {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        OpId(format!("{}-{}", t.as_nanos(), std::process::id()))
    }
}

impl std::fmt::Display for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A task's id in the task graph (`BACKEND-01`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(String);

impl TaskId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for TaskId {
    fn from(id: &str) -> TaskId {
        TaskId(id.to_string())
    }
}

impl From<String> for TaskId {
    fn from(id: String) -> TaskId {
        TaskId(id)
    }
}

/// What an operation records about itself beyond its steps. The field order is the order the
/// JSON shows them in (`--dry-run --json` prints it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The tasks it acted on (`before_start` finds a task's start by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskId>>,
    /// `block`: the task was blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    /// `finish`, `abort`: the backup refs made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<Vec<String>>,
    /// `retry`: the backup ref of the old branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// `remote sync`: the remote synced from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// `gc`: the backup refs deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<String>>,
    /// `undo`: the operation it reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<OpId>,
    /// `undo`: the command of the operation it reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_command: Option<String>,
}

impl Meta {
    /// The meta of an operation on `tasks`.
    pub fn tasks<T: Into<TaskId>>(tasks: impl IntoIterator<Item = T>) -> Meta {
        Meta {
            tasks: Some(tasks.into_iter().map(Into::into).collect()),
            ..Meta::default()
        }
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        *self == Meta::default()
    }

    /// Whether it names task `id`.
    pub fn has_task(&self, id: &str) -> bool {
        self.tasks
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t.as_str() == id))
    }

    /// Reads `"meta": null` (what earlier releases wrote for an operation without facts) as
    /// empty.
    pub fn or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Meta, D::Error> {
        Ok(Option::<Meta>::deserialize(d)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_meta_reads() {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default, deserialize_with = "Meta::or_null")]
            meta: Meta,
        }
        let h: Holder = serde_json::from_str(r#"{"meta": null}"#).expect("null");
        assert!(h.meta.is_empty());
        let h: Holder = serde_json::from_str(r#"{}"#).expect("absent");
        assert!(h.meta.is_empty());
        let h: Holder =
            serde_json::from_str(r#"{"meta": {"tasks": ["A-1"], "unknown": 3}}"#).expect("tasks");
        assert!(h.meta.has_task("A-1"));
        let h: Holder =
            serde_json::from_str(r#"{"meta": {"undoes": "1-2", "undone_command": "finish"}}"#)
                .expect("undo");
        assert_eq!(h.meta.undoes.map(|u| u.to_string()).as_deref(), Some("1-2"));
    }

    #[test]
    fn meta_writes_as_before() {
        let m = Meta {
            backups: Some(Vec::new()),
            ..Meta::tasks(["A-1", "B-2"])
        };
        assert_eq!(
            serde_json::to_string(&m).expect("json"),
            r#"{"tasks":["A-1","B-2"],"backups":[]}"#
        );
    }
}

//! The task graph as data: `Graph`, `Task` and their small value types, built leniently from a
//! parsed YAML value (wrong types fall back to defaults; `validate` reports them with spans).

use std::fmt;
use std::str::FromStr;

use serde_yaml::{Mapping, Value};

/// A whole task graph: metadata plus tasks in file order.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// `metadata.product`, when it is a string.
    pub product: Option<String>,
    /// Tasks in file order.
    pub tasks: Vec<Task>,
}

/// One task of the graph.
#[derive(Clone, Debug, Default)]
pub struct Task {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub agent: String,
    pub depends_on: Vec<String>,
    pub produces: Vec<Artifact>,
    pub consumes: Vec<Consume>,
    pub shared_files: Vec<String>,
    pub parallel_ok: bool,
    pub checkpoint: bool,
    pub priority: Priority,
    pub estimated_time_minutes: Option<u64>,
    pub status: Status,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub approved_at: Option<String>,
    pub assigned_to: Option<String>,
    pub retry_count: u32,
    pub result: Option<String>,
    /// Every key not listed above, in file order.
    pub extra: Mapping,
}

/// An entry of `produces`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifact {
    pub name: Option<String>,
    /// The YAML `type` key.
    pub kind: Option<String>,
    pub path: Option<String>,
}

/// An entry of `consumes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consume {
    pub name: Option<String>,
    pub required_from_task: Option<String>,
}

/// A task's lifecycle state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Pending,
    Ready,
    InProgress,
    Completed,
    Failed,
    Blocked,
    Skipped,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Ready,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Blocked,
        Status::Skipped,
    ];

    /// The spelling used in task files (`in_progress`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Ready => "ready",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Blocked => "blocked",
            Status::Skipped => "skipped",
        }
    }

    /// Completed or skipped: dependents may go ahead.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Completed | Status::Skipped)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of `Status::from_str`: the text was not one of the known statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown status `{}` (expected one of: {})",
            self.0,
            status_list()
        )
    }
}

impl std::error::Error for UnknownStatus {}

/// "pending, ready, ..." for messages.
pub(crate) fn status_list() -> String {
    Status::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// Scheduling priority; `Ord` puts `Critical` first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Critical,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// Parse a file's spelling; `medium` means normal. `None` for anything else.
    pub fn parse(s: &str) -> Option<Priority> {
        match s {
            "critical" => Some(Priority::Critical),
            "high" => Some(Priority::High),
            "normal" | "medium" => Some(Priority::Normal),
            "low" => Some(Priority::Low),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Task {
    /// The agent without a trailing `-engineer` (`backend-engineer` → `backend`).
    pub fn role(&self) -> String {
        self.agent
            .strip_suffix("-engineer")
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.agent)
            .to_string()
    }

    /// Every path this task writes: `produces[].path` then `shared_files`.
    /// Whether the task produces no files: no `produces` entry with a `path` (a review, a
    /// gate, a checkpoint, an entry of type decision/index/section only).
    pub fn produces_nothing(&self) -> bool {
        self.produces.iter().all(|a| a.path.is_none())
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.produces
            .iter()
            .filter_map(|a| a.path.as_deref())
            .chain(self.shared_files.iter().map(String::as_str))
    }

    /// Build a task from its YAML mapping. Never fails: a value of the wrong type is treated as
    /// absent (validation reports it), an unknown status as `blocked` so nothing runs it.
    pub(crate) fn from_mapping(map: &Mapping) -> Task {
        let mut t = Task::default();
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                t.extra.insert(k.clone(), v.clone());
                continue;
            };
            match key {
                "id" => t.id = scalar_string(v).unwrap_or_default(),
                "name" => t.name = scalar_string(v).unwrap_or_default(),
                "description" => t.description = scalar_string(v),
                "agent" => t.agent = scalar_string(v).unwrap_or_default(),
                "depends_on" => t.depends_on = string_list(v),
                "produces" => t.produces = artifacts(v),
                "consumes" => {
                    t.consumes = seq_of_maps(v)
                        .map(|m| Consume {
                            name: get_str(m, "name"),
                            required_from_task: get_str(m, "required_from_task"),
                        })
                        .collect()
                }
                "shared_files" => t.shared_files = string_list(v),
                "parallel_ok" => t.parallel_ok = v.as_bool().unwrap_or(false),
                "checkpoint" => t.checkpoint = v.as_bool().unwrap_or(false),
                "priority" => t.priority = v.as_str().and_then(Priority::parse).unwrap_or_default(),
                "estimated_time_minutes" => t.estimated_time_minutes = v.as_u64(),
                "status" => {
                    t.status = match v {
                        Value::Null => Status::Pending,
                        _ => v
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(Status::Blocked),
                    }
                }
                "started_at" => t.started_at = scalar_string(v),
                "completed_at" => t.completed_at = scalar_string(v),
                "approved_at" => t.approved_at = scalar_string(v),
                "assigned_to" => t.assigned_to = scalar_string(v),
                "retry_count" => {
                    t.retry_count = v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
                }
                // A `result` mapping (the schema's) reads as its message.
                "result" => {
                    t.result = match v {
                        Value::Mapping(m) => Some(get_str(m, "message").unwrap_or_default()),
                        v => scalar_string(v),
                    }
                }
                _ => {
                    t.extra.insert(k.clone(), v.clone());
                }
            }
        }
        t
    }
}

impl Graph {
    /// Build the graph from the document's top-level mapping (already checked to hold a
    /// `tasks` sequence of mappings).
    pub(crate) fn from_parts(metadata: Option<&Value>, tasks: &[Value]) -> Graph {
        let product = metadata
            .and_then(Value::as_mapping)
            .and_then(|m| m.get("product"))
            .and_then(scalar_string);
        let tasks = tasks
            .iter()
            .map(|t| t.as_mapping().map(Task::from_mapping).unwrap_or_default())
            .collect();
        Graph { product, tasks }
    }
}

/// A scalar as text: strings as they are, numbers and bools spelled out; `None` for null and
/// collections.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_string(&t.value),
        _ => None,
    }
}

fn get_str(m: &Mapping, key: &str) -> Option<String> {
    m.get(key).and_then(scalar_string)
}

/// A list of strings; a single non-empty scalar is read as a one-entry list
/// (`depends_on: ARCH-01`).
fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(s) => s.iter().filter_map(scalar_string).collect(),
        Value::Mapping(_) | Value::Null => Vec::new(),
        v => scalar_string(v)
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
    }
}

/// `produces` entries: mappings (`{name, type, path}`), or plain strings, which are paths (their
/// name is the path) as orchestrators often write them; a single string is one entry.
fn artifacts(v: &Value) -> Vec<Artifact> {
    let one = |item: &Value| match item {
        Value::Mapping(m) => Some(Artifact {
            name: get_str(m, "name"),
            kind: get_str(m, "type"),
            path: get_str(m, "path"),
        }),
        Value::Sequence(_) | Value::Null => None,
        other => scalar_string(other)
            .filter(|s| !s.is_empty())
            .map(|p| Artifact {
                name: Some(p.clone()),
                kind: None,
                path: Some(p),
            }),
    };
    match v {
        Value::Sequence(items) => items.iter().filter_map(one).collect(),
        v => one(v).filter(|_| !v.is_mapping()).into_iter().collect(),
    }
}

fn seq_of_maps(v: &Value) -> impl Iterator<Item = &Mapping> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn priority_order_and_medium() {
        assert!(Priority::Critical < Priority::High);
        assert!(Priority::Normal < Priority::Low);
        assert_eq!(Priority::parse("medium"), Some(Priority::Normal));
        assert_eq!(Priority::parse("urgent"), None);
    }

    #[test]
    fn role_strips_engineer() {
        let t = Task {
            agent: "backend-engineer".into(),
            ..Task::default()
        };
        assert_eq!(t.role(), "backend");
        let t = Task {
            agent: "architect".into(),
            ..Task::default()
        };
        assert_eq!(t.role(), "architect");
    }

    #[test]
    fn lenient_task_keeps_extra_keys() {
        let v: Value = serde_yaml::from_str(
            "id: A\nname: n\nagent: qa-engineer\nstatus: in_progress\nnotes: hi\nparallel_ok: yes\n\
             produces:\n- {name: x, type: file, path: a/b}\nshared_files: [c]\n",
        )
        .unwrap();
        let t = Task::from_mapping(v.as_mapping().unwrap());
        assert_eq!(t.status, Status::InProgress);
        assert_eq!(t.extra.get("notes").and_then(Value::as_str), Some("hi"));
        assert!(!t.parallel_ok, "`yes` is a string in YAML 1.2");
        assert_eq!(t.paths().collect::<Vec<_>>(), ["a/b", "c"]);
    }

    #[test]
    fn liberal_forms() {
        let v: Value = serde_yaml::from_str(
            "id: A\ndepends_on: ARCH-01\nproduces: [\"docs/plan.md\", \"apps/api/\", {name: x, path: y}]\nshared_files: package.json\n",
        )
        .unwrap();
        let t = Task::from_mapping(v.as_mapping().unwrap());
        assert_eq!(t.depends_on, ["ARCH-01"]);
        assert_eq!(
            t.paths().collect::<Vec<_>>(),
            ["docs/plan.md", "apps/api/", "y", "package.json"]
        );
        assert_eq!(t.produces[0].name.as_deref(), Some("docs/plan.md"));
        let v: Value = serde_yaml::from_str("produces: docs/x.md\ndepends_on: ''\n").unwrap();
        let t = Task::from_mapping(v.as_mapping().unwrap());
        assert_eq!(t.paths().collect::<Vec<_>>(), ["docs/x.md"]);
        assert!(t.depends_on.is_empty());
    }
}

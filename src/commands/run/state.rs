//! The per-task attempt records of `run`, kept in `<state dir>/run/state.json` so that a run
//! started again continues: how many attempts a task had, how many failed, and whether the
//! last one succeeded (its agent is then not run again; the task is finished). A record is
//! dropped when its task is merged or marked failed.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How a task's last attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Last {
    /// Still running (or run was killed while it ran).
    Running,
    /// Exit 0 with commits: to be finished.
    Succeeded,
    /// Failed; the agent runs again.
    Failed,
}

/// One task's attempts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub attempts: u32,
    pub failures: u32,
    pub last: Last,
    /// Why the last attempt failed.
    #[serde(default)]
    pub reason: Option<String>,
    /// The agent's session (a preset's), resumed by the next attempt.
    #[serde(default)]
    pub session: Option<String>,
    /// The cost its agents reported, every attempt's added up (`None`: none reported one).
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// How the last attempt's agent runs: `sandboxed (Landlock ABI 7)` or `unconfined`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

/// Every task's record, and where they are kept.
pub struct Records {
    path: Utf8PathBuf,
    pub tasks: BTreeMap<String, Record>,
}

impl Records {
    /// The records under `dir` (`<state dir>/run`), empty when there are none (or unreadable).
    pub fn load(dir: &Utf8Path) -> Records {
        let path = dir.join("state.json");
        let tasks = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Records { path, tasks }
    }

    /// Writes the records (atomically: a temporary file renamed over the old one).
    pub fn save(&self) -> Result<()> {
        let text = serde_json::to_vec_pretty(&self.tasks).unwrap_or_default();
        crate::atomic::write(self.path.as_std_path(), &text)
            .map_err(|e| crate::fatal!("cannot write {}: {e}", self.path))
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.tasks.get(id)
    }

    /// The record of `id`, made when there is none.
    fn entry(&mut self, id: &str) -> &mut Record {
        self.tasks.entry(id.to_string()).or_insert(Record {
            attempts: 0,
            failures: 0,
            last: Last::Running,
            reason: None,
            session: None,
            cost_usd: None,
            sandbox: None,
        })
    }

    /// A new attempt of `id` begins, its agent run as `sandbox` says; its number.
    pub fn begin(&mut self, id: &str, sandbox: String) -> u32 {
        let r = self.entry(id);
        r.attempts += 1;
        r.last = Last::Running;
        r.sandbox = Some(sandbox);
        r.attempts
    }

    /// `id` had at least `n` attempts (the remote knows of them): the next is `n + 1` or later.
    pub fn at_least(&mut self, id: &str, n: u32) {
        let r = self.entry(id);
        r.attempts = r.attempts.max(n);
    }

    /// Attempt `n` of `id` runs (found running elsewhere when run begins again).
    pub fn running_as(&mut self, id: &str, n: u32, how: String) {
        let r = self.entry(id);
        r.attempts = n;
        r.last = Last::Running;
        r.sandbox = Some(how);
    }

    /// The attempts running (or left running by a killed run): id, attempt, how sandboxed.
    pub fn running(&self) -> impl Iterator<Item = (&str, u32, &str)> {
        self.tasks
            .iter()
            .filter(|(_, r)| r.last == Last::Running)
            .map(|(id, r)| {
                let how = r.sandbox.as_deref().unwrap_or("unconfined");
                (id.as_str(), r.attempts, how)
            })
    }

    /// The last attempt of `id` succeeded.
    pub fn succeeded(&mut self, id: &str) {
        if let Some(r) = self.tasks.get_mut(id) {
            r.last = Last::Succeeded;
        }
    }

    /// The last attempt of `id` failed; the failures so far.
    pub fn failed(&mut self, id: &str, reason: &str) -> u32 {
        let r = self.entry(id);
        r.attempts = r.attempts.max(1);
        r.failures += 1;
        r.last = Last::Failed;
        r.reason = Some(reason.to_string());
        r.failures
    }

    /// The last attempt of `id` was stopped by an interruption: it does not count.
    pub fn interrupted(&mut self, id: &str) {
        if let Some(r) = self.tasks.get_mut(id) {
            r.attempts = r.attempts.saturating_sub(1);
            r.last = Last::Failed;
        }
    }

    /// An attempt of `id` ended having used `usage`: its session is kept, its cost added.
    pub fn used(&mut self, id: &str, usage: &crate::workflow::presets::Usage) {
        let r = self.entry(id);
        if usage.session.is_some() {
            r.session.clone_from(&usage.session);
        }
        if let Some(c) = usage.cost_usd {
            r.cost_usd = Some(r.cost_usd.unwrap_or(0.0) + c);
        }
    }

    /// `id` is merged or marked failed: its record goes.
    pub fn forget(&mut self, id: &str) {
        self.tasks.remove(id);
    }
}

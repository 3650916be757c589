//! The journal of the operation in flight (`<common git dir>/parallel/journal`): every step and
//! its state, rewritten atomically and fsynced after each step, so a killed run can be rolled
//! back or completed by `git parallel recover`.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::meta::{Meta, OpId};
use super::steps::Step;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    /// Being applied: it may or may not have taken effect.
    Started,
    Done,
    Undone,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JournalStep {
    pub step: Step,
    pub state: StepState,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub id: OpId,
    pub command: String,
    pub summary: String,
    #[serde(with = "crate::time::text")]
    pub started_at: jiff::Timestamp,
    pub pid: u32,
    /// Steps up to and including this index roll back on failure; later ones roll forward.
    pub commit_point: Option<usize>,
    pub rolling_back: bool,
    pub steps: Vec<JournalStep>,
    /// Facts about the operation kept in the operation log (task ids, …).
    #[serde(default, deserialize_with = "Meta::or_null")]
    pub meta: Meta,
}

pub fn path(dir: &Utf8Path) -> Utf8PathBuf {
    dir.join("journal")
}

impl Journal {
    /// The journal of `plan` before any step has run.
    pub fn begin(plan: super::Plan) -> Journal {
        Journal {
            version: 1,
            id: OpId::new(),
            command: plan.command,
            summary: plan.summary,
            started_at: crate::time::now(),
            pid: std::process::id(),
            commit_point: plan.commit_point,
            rolling_back: false,
            steps: plan
                .steps
                .into_iter()
                .map(|step| JournalStep {
                    step,
                    state: StepState::Pending,
                })
                .collect(),
            meta: plan.meta,
        }
    }

    pub fn load(dir: &Utf8Path) -> Result<Option<Journal>> {
        let p = path(dir);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::fatal!("cannot read {p}: {e}")),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            crate::fatal!(
                help = "inspect it; if the operation is known to be complete, remove it",
                "the journal {p} is corrupt: {e}"
            )
        })
    }

    /// Writes the journal atomically (temp file, fsync, rename, fsync of the directory).
    pub fn save(&self, dir: &Utf8Path) -> Result<()> {
        let p = path(dir);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| crate::fatal!("cannot encode the journal: {e}"))?;
        crate::atomic::write(p.as_std_path(), text.as_bytes())
            .map_err(|e| crate::fatal!("cannot write the journal {p}: {e}"))
    }

    pub fn remove(dir: &Utf8Path) -> Result<()> {
        // The push marker belongs to the operation that ends here (see steps::push).
        let _ = std::fs::remove_file(super::steps::push::sent_marker(dir));
        match std::fs::remove_file(path(dir)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the commit point was passed (the operation has taken effect).
    pub fn committed(&self) -> bool {
        match self.commit_point {
            Some(cp) => self
                .steps
                .get(cp)
                .is_some_and(|s| s.state == StepState::Done),
            None => false,
        }
    }
}

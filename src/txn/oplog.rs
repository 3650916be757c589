//! The operation log (`<common git dir>/parallel/log`): one JSON line per completed operation
//! with the steps it took, so `git parallel undo` can apply their inverses.

use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use std::io::Write;

use super::meta::{Meta, OpId};
use super::steps::Step;
use crate::error::Result;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub id: OpId,
    pub command: String,
    pub summary: String,
    #[serde(with = "crate::time::text")]
    pub time: jiff::Timestamp,
    pub steps: Vec<Step>,
    /// Set on an entry written by `undo`: the id of the operation it reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<OpId>,
    #[serde(default, deserialize_with = "Meta::or_null")]
    pub meta: Meta,
}

pub fn append(dir: &Utf8Path, entry: &Entry) -> Result<()> {
    // A run killed between this append and the journal's removal is completed again by
    // `recover --continue`: log it once.
    if read(dir).is_ok_and(|v| v.iter().any(|e| e.id == entry.id)) {
        return Ok(());
    }
    let line =
        serde_json::to_string(entry).map_err(|e| crate::fatal!("cannot encode the log: {e}"))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))?;
    writeln!(f, "{line}")?;
    f.sync_all()?;
    Ok(())
}

pub fn read(dir: &Utf8Path) -> Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(dir.join("log")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    // A torn last line (killed while appending) is skipped rather than failing every undo.
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The newest operation that has not been undone (undo entries themselves are skipped).
pub fn last_undoable(entries: &[Entry]) -> Option<&Entry> {
    let undone: Vec<&OpId> = entries.iter().filter_map(|e| e.undoes.as_ref()).collect();
    entries
        .iter()
        .rev()
        .find(|e| e.undoes.is_none() && !undone.contains(&&e.id))
}

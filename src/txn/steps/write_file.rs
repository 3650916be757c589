//! The `WriteFile` step: a file's bytes in the main worktree replaced (the task file with
//! --no-commit or under `run` without a remote; put back to its committed text before a commit
//! that carries start records left uncommitted), only from the bytes it was planned on.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::{Step, StepKind};
use crate::error::Result;
use crate::git::Location;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WriteFile {
    pub path: Utf8PathBuf,
    pub old: String,
    pub new: String,
}

impl StepKind for WriteFile {
    fn describe(&self) -> String {
        format!("write {}", self.path)
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::WriteFile(WriteFile {
            path: self.path.clone(),
            old: self.new.clone(),
            new: self.old.clone(),
        }))
    }

    fn concurrent(&self) -> bool {
        true
    }

    fn apply_concurrent(&self, _loc: &Location, _proven: bool) -> Result<()> {
        write_file(&self.path, &self.old, &self.new)
    }
}

fn write_file(path: &Utf8Path, old: &str, new: &str) -> Result<()> {
    let cur = std::fs::read_to_string(path).unwrap_or_default();
    if cur == new {
        return Ok(());
    }
    if cur != old {
        return Err(crate::refused!(
            help = "look at the file; run the command again once it is as you want it",
            "{path} was changed by someone else meanwhile; not overwriting it"
        ));
    }
    crate::atomic::write(path.as_std_path(), new.as_bytes())
        .map_err(|e| crate::fatal!("cannot write {path}: {e}"))
}

//! A test gate's verdict reached before the landing asks for one: `run` tests the landing's
//! merged result in the background (in the kept gate worktree) while its loop goes on, then
//! hands the verdict to `finish`, which reuses it instead of testing again — but only for what
//! was tested.
//!
//! The rule: the verdict holds for a landing whose tree equals the tested tree apart from the
//! task file (the tasks' states, their `result`, timestamps: written at landing time, so never
//! part of what was tested). So a test must not depend on the task file. A target that moved
//! meanwhile by a start or a fail (the task file only) keeps the verdict; one that moved by
//! another landing (other files) does not, and the landing is tested again.

use gix::ObjectId;

use crate::error::Result;
use crate::git::Repo;

/// The commit a test gate tested and how its test ended.
#[derive(Clone, Copy, Debug)]
pub struct Tested {
    pub commit: ObjectId,
    pub status: std::process::ExitStatus,
}

impl Tested {
    /// Whether this verdict holds for `landing` (see the module doc); `task_rel`: the task
    /// file's path in the repository, `None` when it is outside it.
    pub fn covers(&self, repo: &Repo, task_rel: Option<&str>, landing: ObjectId) -> Result<bool> {
        let want = repo.tree_of(landing)?;
        let tested = match task_rel.map(|rel| (rel, repo.file_at(landing, rel))) {
            Some((rel, bytes)) => match bytes? {
                Some(bytes) => repo.tree_with_file(self.commit, rel, &bytes)?,
                None => repo.tree_of(self.commit)?,
            },
            None => repo.tree_of(self.commit)?,
        };
        Ok(tested == want)
    }
}

//! The two worktree steps, each other's inverse (so in one file): `AddWorktree` creates a
//! worktree for an existing branch, copies the include files in and runs the postStart hook;
//! `RemoveWorktree` removes one (without `force` git refuses when it has changes), its
//! `restore` and `post_start` saying how to make it ready again when the removal is undone.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use super::shared::{rels, CopyFile};
use super::{ready, Step, StepKind};
use crate::error::Result;
use crate::git::{Location, Repo};
use crate::txn::taskenv::TaskEnv;
use crate::txn::worktree;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AddWorktree {
    pub path: Utf8PathBuf,
    pub branch: String,
    #[serde(default)]
    pub copy: Vec<CopyFile>,
    #[serde(default)]
    pub post_start: Option<String>,
    /// The task's port block, env file and setup key (src/txn/taskenv.rs).
    #[serde(default, skip_serializing_if = "TaskEnv::is_empty")]
    pub env: TaskEnv,
}

impl StepKind for AddWorktree {
    fn describe(&self) -> String {
        format!(
            "add worktree {} on {}{}",
            self.path,
            crate::git::short_branch(&self.branch),
            ready::describe(&self.copy, self.post_start.as_deref())
        )
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::RemoveWorktree(RemoveWorktree {
            path: self.path.clone(),
            branch: self.branch.clone(),
            force: false,
            restore: self.copy.clone(),
            post_start: self.post_start.clone(),
        }))
    }

    /// A postStart hook runs the user's commands.
    fn lets_time_pass(&self) -> bool {
        self.post_start.is_some()
    }

    fn concurrent(&self) -> bool {
        true
    }

    fn apply_concurrent(&self, loc: &Location, proven: bool) -> Result<()> {
        worktree::ensure(loc, &self.path, &self.branch, false, proven)?;
        if let Err(e) = ready::make_ready(
            &self.path,
            &self.copy,
            self.post_start.as_deref(),
            &self.env,
        ) {
            let ours: Vec<&str> = rels(&self.copy)
                .into_iter()
                .chain(self.env.env_file.as_ref().map(|f| f.rel.as_str()))
                .collect();
            let _ = worktree::remove(loc, &self.path, true, &ours, true);
            return Err(e);
        }
        Ok(())
    }

    /// Rolled back in the same run that applied it (`fresh`), the worktree was never handed
    /// to anyone and is removed with whatever its postStart hook left there; later (`recover
    /// --abort`) only when clean, unless the step never completed (`proven`), in which case
    /// whatever is there is the remains of this step.
    fn undo(&self, repo: &Repo, fresh: bool, proven: bool) -> Result<()> {
        worktree::remove(
            &repo.loc,
            &self.path,
            fresh,
            &rels(&self.copy),
            fresh || proven,
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoveWorktree {
    pub path: Utf8PathBuf,
    pub branch: String,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub restore: Vec<CopyFile>,
    #[serde(default)]
    pub post_start: Option<String>,
}

impl StepKind for RemoveWorktree {
    fn describe(&self) -> String {
        format!(
            "remove worktree {}{}",
            self.path,
            if self.force { " (forced)" } else { "" }
        )
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::AddWorktree(AddWorktree {
            path: self.path.clone(),
            branch: self.branch.clone(),
            copy: self.restore.clone(),
            post_start: self.post_start.clone(),
            env: TaskEnv::default(),
        }))
    }

    fn concurrent(&self) -> bool {
        true
    }

    fn apply_concurrent(&self, loc: &Location, proven: bool) -> Result<()> {
        worktree::remove(loc, &self.path, self.force, &rels(&self.restore), proven)
    }

    /// A worktree removed without force must hold no work (changes, lock, submodule commits
    /// found nowhere else).
    fn precheck(&self, repo: &Repo) -> Result<Vec<String>> {
        if self.force {
            return Ok(Vec::new());
        }
        worktree::removal_problems(&repo.loc, &self.path, &rels(&self.restore))
    }
}

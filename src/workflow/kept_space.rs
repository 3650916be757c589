//! How much disk the kept ignored files take (`<state dir>/parallel/ignored/`, what finish
//! keeps of a removed worktree's ignored files: build output, `.env`, notes): shown by `status`
//! and at the end of `run`, so that gigabytes of old `target/` directories do not pile up
//! unseen, with the cap that bounds them (`parallel.keepIgnoredMax`: regenerable content beyond
//! it is deleted by finish and gc, see src/txn/steps/keep/cap.rs). (`git parallel gc` also
//! deletes those older than `parallel.keepBackups` days.)

use serde::Serialize;

/// The kept ignored files: how many directories, how many bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KeptSpace {
    /// Directories under `.git/parallel/ignored/` (one per removed worktree).
    pub dirs: usize,
    /// Their total size in bytes (files and symbolic links, not followed).
    pub bytes: u64,
    /// `parallel.keepIgnoredMax` in bytes: beyond it finish and gc delete regenerable content
    /// (`null`: unlimited).
    pub max: Option<u64>,
}

impl KeptSpace {
    /// The space taken now (`None`: nothing is kept).
    pub fn measure(repo: &crate::git::Repo) -> Option<KeptSpace> {
        let dirs = crate::txn::keep::kept_dirs(repo).ok()?;
        if dirs.is_empty() {
            return None;
        }
        let bytes = dirs
            .iter()
            .map(|d| crate::txn::keep::size::size_of(d.dir.as_std_path()))
            .sum();
        Some(KeptSpace {
            dirs: dirs.len(),
            bytes,
            max: repo
                .settings
                .keep_ignored_max()
                .unwrap_or(Some(crate::git::KEEP_IGNORED_MAX)),
        })
    }

    /// `3 directories, 2.2 GB (parallel.keepIgnoredMax 1.1 GB)`.
    pub fn describe(&self) -> String {
        format!(
            "{} director{}, {} (parallel.keepIgnoredMax {})",
            self.dirs,
            if self.dirs == 1 { "y" } else { "ies" },
            human(self.bytes),
            self.max.map_or("unlimited".into(), human)
        )
    }
}

/// The kept gate worktree (`<state dir>/gate`, src/txn/gate_worktree.rs): where the test gate
/// keeps its build output warm from one gate to the next. `git parallel gc` removes it once no
/// gate used it for `parallel.keepBackups` days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GateSpace {
    /// Its path.
    pub path: String,
    /// Its size in bytes (files and symbolic links, not followed).
    pub bytes: u64,
}

impl GateSpace {
    /// The gate worktree's size now (`None`: there is none).
    pub fn measure(repo: &crate::git::Repo) -> Option<GateSpace> {
        let path = crate::txn::gate_worktree::path(repo);
        if !path.is_dir() {
            return None;
        }
        Some(GateSpace {
            bytes: crate::txn::keep::size::size_of(path.as_std_path()),
            path: path.into_string(),
        })
    }

    /// `Kept gate worktree: 1.2 GB in <where> (warm build output for the test gate; git
    /// parallel gc removes it once unused for parallel.keepBackups days)`.
    pub fn describe(&self, shown: &str) -> String {
        format!(
            "Kept gate worktree: {} in {shown} (the test gate's warm build; git parallel gc removes it once unused for parallel.keepBackups days)",
            human(self.bytes)
        )
    }
}

/// `3.4 KB`, `2.2 GB` (see src/txn/steps/keep/size.rs).
pub use crate::txn::keep::size::human;

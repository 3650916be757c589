//! How much disk the kept ignored files take (`<state dir>/parallel/ignored/`, what finish
//! keeps of a removed worktree's ignored files: build output, `.env`, notes): shown by `status`
//! and at the end of `run`, so that gigabytes of old `target/` directories do not pile up
//! unseen. (`git parallel gc` deletes those older than `parallel.keepBackups` days.)

use std::path::Path;

use serde::Serialize;

/// The kept ignored files: how many directories, how many bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KeptSpace {
    /// Directories under `.git/parallel/ignored/` (one per removed worktree).
    pub dirs: usize,
    /// Their total size in bytes (files and symbolic links, not followed).
    pub bytes: u64,
}

impl KeptSpace {
    /// The space taken now (`None`: nothing is kept).
    pub fn measure(repo: &crate::git::Repo) -> Option<KeptSpace> {
        let dirs = crate::txn::keep::kept_dirs(repo).ok()?;
        if dirs.is_empty() {
            return None;
        }
        let bytes = dirs.iter().map(|d| size_of(d.dir.as_std_path())).sum();
        Some(KeptSpace {
            dirs: dirs.len(),
            bytes,
        })
    }

    /// `3 directories, 2.2 GB`.
    pub fn describe(&self) -> String {
        format!(
            "{} director{}, {}",
            self.dirs,
            if self.dirs == 1 { "y" } else { "ies" },
            human(self.bytes)
        )
    }
}

/// The size of everything under `p` (not following links; unreadable parts count as 0).
fn size_of(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries.flatten().map(|e| size_of(&e.path())).sum()
}

/// `512 B`, `3.4 KB`, `2.2 GB` (powers of 1000, like `du --si`).
pub fn human(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_du_si() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(3_400), "3.4 KB");
        assert_eq!(super::human(2_200_000_000), "2.2 GB");
    }
}

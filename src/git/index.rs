//! Reading an index in-process, for the questions asked on every landing (no `git diff-index`
//! or `git diff --diff-filter=U` process each time): what the main worktree's index holds at
//! a few paths, and which paths of a worktree's index are unmerged. Each answer is `None` when
//! gix cannot read the index the way git would (GIT_INDEX_FILE set, a split index, a sparse
//! index, an intent-to-add entry at a path asked about, an unreadable file): the caller asks
//! git then. The file is read anew each time (never a cached copy).

use camino::Utf8Path;
use gix::index::entry::Stage;
use gix::ObjectId;

use super::Repo;

/// What an index holds at one path, as `git diff-index --cached` compares it with a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staged {
    /// A stage-0 entry: its mode (`0o100644`, `0o100755`, `0o120000`, `0o160000`) and object.
    Entry(u32, ObjectId),
    /// No entry.
    Absent,
    /// Unmerged (entries at stages 1–3 only): it differs from every commit.
    Conflicted,
}

/// The index file at `path`, read and checked whole; `None` when gix may not see it as git
/// does (a split index, a sparse one) or cannot read it.
fn read(path: &std::path::Path, hash: gix::hash::Kind) -> Option<gix::index::File> {
    let file = gix::index::File::at(path, hash, false, Default::default()).ok()?;
    (file.link().is_none() && !file.is_sparse()).then_some(file)
}

impl Repo {
    /// What the main worktree's index holds at each of `paths` (repository-relative, `/`),
    /// read in-process; `None`: ask git (see the module doc).
    pub fn staged(&self, paths: &[&str]) -> Option<Vec<Staged>> {
        if std::env::var_os("GIT_INDEX_FILE").is_some() {
            return None;
        }
        self.loc.main_worktree.as_ref()?;
        let file = read(
            self.loc.git_dir.join("index").as_std_path(),
            self.gix.object_hash(),
        )?;
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            let Some(range) = file.entry_range(p.as_bytes().into()) else {
                out.push(Staged::Absent);
                continue;
            };
            let entries = &file.entries()[range];
            if entries
                .iter()
                .any(|e| e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD))
            {
                return None;
            }
            out.push(
                match entries.iter().find(|e| e.stage() == Stage::Unconflicted) {
                    Some(e) => Staged::Entry(e.mode.bits(), e.id),
                    None => Staged::Conflicted,
                },
            );
        }
        Some(out)
    }
}

/// The unmerged paths (entries at stages 1–3) of the index of the worktree `dir`, read
/// in-process; `None`: ask git (see the module doc).
pub fn unmerged_in(dir: &Utf8Path) -> Option<Vec<String>> {
    if std::env::var_os("GIT_INDEX_FILE").is_some() {
        return None;
    }
    let repo = gix::open(dir.as_std_path()).ok()?;
    let file = read(&repo.index_path(), repo.object_hash())?;
    let mut out: Vec<String> = Vec::new();
    for e in file.entries() {
        if e.stage() != Stage::Unconflicted {
            let p = std::str::from_utf8(e.path(&file)).ok()?;
            if out.last().map(String::as_str) != Some(p) {
                out.push(p.to_string());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// `git ARGS` in `dir`, with an identity and no user or system configuration.
    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("HOME", dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_INDEX_FILE")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A merge that conflicts in `f`: what the index holds there, read in-process, is what
    /// `git ls-files --stage` says, before and after the conflict is resolved.
    #[test]
    fn the_index_read_in_process_says_what_git_says() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join("f"), "a\n").unwrap();
        git(dir, &["add", "f"]);
        git(dir, &["commit", "-q", "-m", "a"]);
        git(dir, &["checkout", "-q", "-b", "b"]);
        std::fs::write(dir.join("f"), "b\n").unwrap();
        git(dir, &["commit", "-q", "-am", "b"]);
        git(dir, &["checkout", "-q", "main"]);
        std::fs::write(dir.join("f"), "c\n").unwrap();
        git(dir, &["commit", "-q", "-am", "c"]);
        git(dir, &["merge", "-q", "b"]);
        let utf8 = camino::Utf8Path::from_path(dir).unwrap();
        let repo = Repo::discover(utf8).unwrap();
        assert_eq!(git(dir, &["diff", "--name-only", "--diff-filter=U"]), "f\n");
        assert_eq!(unmerged_in(utf8), Some(vec!["f".to_string()]));
        assert_eq!(
            repo.staged(&["f", "g"]),
            Some(vec![Staged::Conflicted, Staged::Absent])
        );
        std::fs::write(dir.join("f"), "resolved\n").unwrap();
        git(dir, &["add", "f"]);
        assert_eq!(unmerged_in(utf8), Some(Vec::new()));
        let stage = git(dir, &["ls-files", "--stage", "f"]);
        let id = stage.split_whitespace().nth(1).unwrap();
        assert!(stage.starts_with("100644 "), "{stage}");
        assert_eq!(
            repo.staged(&["f"]),
            Some(vec![Staged::Entry(0o100644, crate::git::oid(id).unwrap())])
        );
    }
}

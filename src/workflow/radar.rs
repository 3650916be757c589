//! The conflict radar: while agents still work, which running tasks will conflict with each
//! other or with the target, and which change files outside their declared paths.
//!
//! Only committed tips are compared. Each task's changed paths (a tree diff from where it forked
//! off the target) decide which pairs can conflict at all; only those pairs are merged, in memory
//! (gix, objects kept in an in-memory store), so the radar costs at most the merges themselves
//! and writes nothing to the repository.

use gix::ObjectId;
use serde::Serialize;

use crate::error::Result;
use crate::git::{Merge, Repo};
use crate::taskgraph::schedule;

/// A running task as the radar sees it.
pub struct Running<'a> {
    pub id: &'a str,
    pub tip: ObjectId,
    /// Its declared `produces`/`shared_files` paths.
    pub paths: Vec<&'a str>,
}

/// What the radar found (`status --json`: `radar`). All three are empty when nothing was found.
#[derive(Debug, Default, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Radar {
    /// Pairs of running tasks whose branches conflict with each other.
    pub pairs: Vec<PairConflict>,
    /// Tasks whose branch conflicts with the target's current tip.
    pub target: Vec<TaskFiles>,
    /// Tasks that changed files outside their `produces`/`shared_files` (the task file itself
    /// excepted).
    pub outside: Vec<TaskFiles>,
}

/// Two running tasks whose tips conflict when merged.
#[derive(Debug, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct PairConflict {
    /// The two task ids.
    pub tasks: [String; 2],
    /// The files they conflict in.
    pub files: Vec<String>,
}

/// A task and the files concerned.
#[derive(Debug, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct TaskFiles {
    /// The task id.
    pub task: String,
    /// The files concerned (paths in the repository).
    pub files: Vec<String>,
}

impl Radar {
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.target.is_empty() && self.outside.is_empty()
    }
}

/// One task's changes since it forked off the target.
struct Changes<'a> {
    task: &'a Running<'a>,
    base: ObjectId,
    files: Vec<String>,
}

/// Scans the running tasks against each other and against `target` (the target's tip).
/// `exempt` is a path every task may change (the task file).
pub fn scan(
    repo: &Repo,
    target: ObjectId,
    tasks: &[Running],
    exempt: Option<&str>,
) -> Result<Radar> {
    // Trial merges write conflict blobs and trees: keep them in memory, never in the repository.
    let mem = repo.gix.clone().with_object_memory();
    let mut changes = Vec::new();
    for t in tasks {
        let base = repo.merge_base(target, t.tip)?.unwrap_or(target);
        if base == t.tip {
            continue; // nothing committed yet
        }
        changes.push(Changes {
            task: t,
            base,
            files: repo.changed_paths(base, t.tip)?,
        });
    }
    let mut radar = Radar::default();
    for c in &changes {
        let outside: Vec<String> = c
            .files
            .iter()
            .filter(|f| {
                exempt != Some(f.as_str())
                    && !c.task.paths.iter().any(|p| schedule::path_contains(p, f))
            })
            .cloned()
            .collect();
        if !outside.is_empty() {
            radar.outside.push(TaskFiles {
                task: c.task.id.to_string(),
                files: outside,
            });
        }
        if c.base != target {
            let moved = repo.changed_paths(c.base, target)?;
            if overlap(&c.files, &moved) {
                if let Merge::Conflicts(files) = merge(&mem, target, c.task.tip)? {
                    radar.target.push(TaskFiles {
                        task: c.task.id.to_string(),
                        files,
                    });
                }
            }
        }
    }
    for (n, a) in changes.iter().enumerate() {
        for b in &changes[n + 1..] {
            if !overlap(&a.files, &b.files) {
                continue;
            }
            if let Merge::Conflicts(files) = merge(&mem, a.task.tip, b.task.tip)? {
                radar.pairs.push(PairConflict {
                    tasks: [a.task.id.to_string(), b.task.id.to_string()],
                    files,
                });
            }
        }
    }
    Ok(radar)
}

/// Whether two sets of changed paths touch a common path (the same file, or a file where the
/// other has a directory).
fn overlap(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| {
        b.iter()
            .any(|y| schedule::path_contains(x, y) || schedule::path_contains(y, x))
    })
}

/// An in-memory trial merge: the conflicting paths, or clean.
fn merge(repo: &gix::Repository, ours: ObjectId, theirs: ObjectId) -> Result<Merge> {
    let out = crate::git::merge_commits(repo, ours, theirs)?;
    Ok(match crate::git::conflict_paths(&out.tree_merge) {
        Some(files) => Merge::Conflicts(files),
        None => Merge::Clean(ours),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use camino::Utf8Path;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@e")
            .env("GIT_COMMITTER_NAME", "C")
            .env("GIT_COMMITTER_EMAIL", "c@e")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commits `files` on a new `branch` made from `from`, or on the current branch.
    fn commit(
        dir: &std::path::Path,
        branch: &str,
        from: Option<&str>,
        files: &[(&str, &str)],
    ) -> ObjectId {
        match from {
            Some(f) => git(dir, &["switch", "-q", "-c", branch, f]),
            None => String::new(), // commit on the current branch
        };
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", branch]);
        ObjectId::from_hex(git(dir, &["rev-parse", "HEAD"]).as_bytes()).unwrap()
    }

    #[test]
    fn names_conflicting_pairs_target_conflicts_and_strays_without_writing_objects() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        commit(
            dir,
            "main",
            None,
            &[("shared.txt", "a\nb\nc\n"), ("README", "x\n")],
        );
        let a = commit(
            dir,
            "t-a",
            Some("main"),
            &[("shared.txt", "A\nb\nc\n"), ("api/x", "1")],
        );
        let b = commit(
            dir,
            "t-b",
            Some("main"),
            &[("shared.txt", "B\nb\nc\n"), ("web/y", "1")],
        );
        let c = commit(
            dir,
            "t-c",
            Some("main"),
            &[("docs/z", "1"), ("stray.txt", "1")],
        );
        git(dir, &["switch", "-q", "main"]);
        let target = commit(dir, "main", None, &[("shared.txt", "a\nb\nC-main\n")]);
        let objects = git(dir, &["count-objects", "-v"]);
        let repo = Repo::discover(Utf8Path::from_path(dir).unwrap()).unwrap();
        let tasks = [
            Running {
                id: "A",
                tip: a,
                paths: vec!["api/", "shared.txt"],
            },
            Running {
                id: "B",
                tip: b,
                paths: vec!["web/", "shared.txt"],
            },
            Running {
                id: "C",
                tip: c,
                paths: vec!["docs/"],
            },
        ];
        let radar = scan(&repo, target, &tasks, None).unwrap();
        assert_eq!(
            radar.pairs,
            [PairConflict {
                tasks: ["A".into(), "B".into()],
                files: vec!["shared.txt".into()]
            }]
        );
        // Both change line 1 and main line 3: each merges cleanly with the target.
        assert!(radar.target.is_empty(), "{radar:?}");
        assert_eq!(
            radar.outside,
            [TaskFiles {
                task: "C".into(),
                files: vec!["stray.txt".into()]
            }]
        );
        let target2 = commit(dir, "main", None, &[("shared.txt", "M\nb\nC-main\n")]);
        let radar = scan(&repo, target2, &tasks, None).unwrap();
        let with_target: Vec<&str> = radar.target.iter().map(|t| t.task.as_str()).collect();
        assert_eq!(with_target, ["A", "B"]);
        let _ = objects;
        let after_main_commit = git(dir, &["count-objects", "-v"]);
        let radar_again = scan(&repo, target2, &tasks, None).unwrap();
        assert_eq!(radar, radar_again);
        assert_eq!(
            after_main_commit,
            git(dir, &["count-objects", "-v"]),
            "the radar wrote objects into the repository"
        );
    }
}

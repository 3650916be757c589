//! What is kept of a task worktree before it is removed, as journaled steps with inverses
//! (the [`Keep`] operations of `Step::Keep`):
//!
//! - its ignored files (`.env`, notes, build output) are moved into
//!   `<git dir>/parallel/ignored/<seconds>-<worktree name>/` (a rename; copy and delete across
//!   filesystems), and moved back when the removal is undone or rolled back;
//!   `git config parallel.keepIgnored false` deletes them instead (they are still named);
//! - uncommitted changes saved by `abort --force` as a wip commit are put back into the
//!   worktree, as uncommitted changes, when that abort is undone;
//! - commits of an initialised submodule (whose repository lives inside the worktree's admin
//!   directory and goes with it) are copied, with a backup ref, into the submodule's common
//!   repository (`<git dir>/modules/<name>`).
//!
//! `git parallel gc` trims the kept ignored files after `parallel.keepBackups` days.

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::step::Step;
use crate::error::Result;
use crate::git::{cli, Location, Repo};

/// Where kept ignored files go, under the state dir.
pub const IGNORED_DIR: &str = "ignored";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Keep {
    /// The worktree's uncommitted changes are saved as `commit` (under a backup ref). Nothing to
    /// do going forward; undone by putting them back ([`Keep::WipRestore`]).
    WipSaved {
        worktree: Utf8PathBuf,
        commit: String,
    },
    /// Put the changes of a wip commit (on top of the worktree's HEAD) back into the worktree as
    /// uncommitted changes.
    WipRestore {
        worktree: Utf8PathBuf,
        commit: String,
    },
    /// Move the worktree's ignored files into `dir`.
    IgnoredMove {
        worktree: Utf8PathBuf,
        dir: Utf8PathBuf,
    },
    /// Move the files kept in `dir` back into the worktree.
    IgnoredRestore {
        worktree: Utf8PathBuf,
        dir: Utf8PathBuf,
    },
    /// Copy a submodule commit from the worktree's submodule repository `from` into the
    /// submodule's common repository `to` and point `name` there at it.
    SubmoduleSave {
        from: Utf8PathBuf,
        to: Utf8PathBuf,
        commit: String,
        name: String,
    },
}

impl Keep {
    pub fn describe(&self) -> String {
        match self {
            Keep::WipSaved { worktree, commit } => format!(
                "note the uncommitted changes of {worktree} saved as {}",
                super::step::short(commit)
            ),
            Keep::WipRestore { worktree, commit } => format!(
                "put the uncommitted changes {} back into {worktree}",
                super::step::short(commit)
            ),
            Keep::IgnoredMove { worktree, dir } => {
                format!("keep the ignored files of {worktree} in {dir}")
            }
            Keep::IgnoredRestore { worktree, dir } => {
                format!("move the ignored files kept in {dir} back into {worktree}")
            }
            Keep::SubmoduleSave {
                to, commit, name, ..
            } => format!(
                "save submodule commit {} as {name} in {to}",
                super::step::short(commit)
            ),
        }
    }

    /// The operation that reverses this one (None: nothing to reverse; backups are kept).
    pub fn inverse(&self) -> Option<Keep> {
        Some(match self {
            Keep::WipSaved { worktree, commit } => Keep::WipRestore {
                worktree: worktree.clone(),
                commit: commit.clone(),
            },
            Keep::WipRestore { worktree, commit } => Keep::WipSaved {
                worktree: worktree.clone(),
                commit: commit.clone(),
            },
            Keep::IgnoredMove { worktree, dir } => Keep::IgnoredRestore {
                worktree: worktree.clone(),
                dir: dir.clone(),
            },
            Keep::IgnoredRestore { worktree, dir } => Keep::IgnoredMove {
                worktree: worktree.clone(),
                dir: dir.clone(),
            },
            Keep::SubmoduleSave { .. } => return None,
        })
    }

    /// Applies the operation; idempotent (a re-run after a crash finishes what is left).
    pub fn apply(&self, loc: &Location) -> Result<()> {
        match self {
            Keep::WipSaved { .. } => Ok(()),
            Keep::WipRestore { worktree, commit } => wip_restore(loc, worktree, commit),
            Keep::IgnoredMove { worktree, dir } => ignored_move(loc, worktree, dir),
            Keep::IgnoredRestore { worktree, dir } => ignored_restore(worktree, dir),
            Keep::SubmoduleSave {
                from,
                to,
                commit,
                name,
            } => submodule_save(loc, from, to, commit, name),
        }
    }
}

// ---- uncommitted changes ----------------------------------------------------------------------

/// The tree of everything in a worktree (tracked and untracked, not ignored), through a
/// temporary index.
fn worktree_tree(loc: &Location, wt: &Utf8Path) -> Result<String> {
    let dir = loc.common_dir.join("parallel");
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("keep-index-{}", std::process::id()));
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["rev-parse", "--path-format=absolute", "--git-path", "index"]);
    if let Ok(p) = cli::stdout(cmd) {
        let _ = std::fs::copy(p.trim(), &tmp);
    }
    let result = (|| -> Result<String> {
        let mut add = loc.git.in_dir(wt);
        add.env("GIT_INDEX_FILE", tmp.as_std_path())
            .args(["add", "-A", "--", "."]);
        cli::run(add)?;
        let mut write = loc.git.in_dir(wt);
        write
            .env("GIT_INDEX_FILE", tmp.as_std_path())
            .arg("write-tree");
        Ok(cli::stdout(write)?.trim().to_string())
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

fn wip_restore(loc: &Location, wt: &Utf8Path, commit: &str) -> Result<()> {
    if !wt.is_dir() {
        return Err(crate::fatal!(
            help = "the changes are kept in the wip backup ref; check the branch out in a worktree and run: git checkout {commit} -- .",
            "cannot put the uncommitted changes {} back: the worktree {wt} does not exist",
            super::step::short(commit)
        ));
    }
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["rev-parse", "--verify", "-q"])
        .arg(format!("{commit}^{{tree}}"));
    let want = cli::stdout(cmd)?.trim().to_string();
    if worktree_tree(loc, wt)? != want {
        // The worktree was just made again from the branch: what is there is ours to replace.
        let mut cmd = loc.git.in_dir(wt);
        cmd.args(["read-tree", "--reset", "-u", commit]);
        cli::run(cmd)?;
    }
    // Index back to HEAD, files as they are: the changes are uncommitted again.
    let mut cmd = loc.git.in_dir(wt);
    cmd.args(["reset", "-q"]);
    cli::run(cmd)?;
    Ok(())
}

// ---- ignored files ----------------------------------------------------------------------------

/// Whether ignored files are kept (`parallel.keepIgnored`, default true).
pub fn keep_ignored_enabled(repo: &Repo) -> bool {
    !matches!(
        repo.config("parallel.keepIgnored")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Some("false" | "no" | "off" | "0")
    )
}

/// The ignored files and directories of a worktree (a wholly ignored directory is one entry,
/// ending in `/`), relative to it.
pub fn ignored_entries(loc: &Location, wt: &Utf8Path) -> Result<Vec<String>> {
    if !wt.is_dir() {
        return Ok(Vec::new());
    }
    let mut cmd = loc.git.in_dir(wt);
    cmd.args([
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
    ]);
    let out = cli::run(cmd)?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

fn ignored_move(loc: &Location, wt: &Utf8Path, dir: &Utf8Path) -> Result<()> {
    let entries = ignored_entries(loc, wt)?;
    if entries.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::fatal!("cannot create {dir} to keep ignored files: {e}"))?;
    for rel in entries {
        let rel = rel.trim_end_matches('/');
        move_path(&wt.join(rel), &dir.join(rel))?;
    }
    Ok(())
}

fn ignored_restore(wt: &Utf8Path, dir: &Utf8Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    if !wt.is_dir() {
        return Err(crate::fatal!(
            help = "the files are still in {dir}; copy them where you want them",
            "cannot move the kept ignored files back: the worktree {wt} does not exist"
        ));
    }
    restore_into(dir, wt)?;
    remove_empty_dirs(dir);
    Ok(())
}

/// Moves everything under `from` into `to`, merging into directories that exist there; a kept
/// file replaces what is at its path (the worktree was just made again).
fn restore_into(from: &Utf8Path, to: &Utf8Path) -> Result<()> {
    let entries = std::fs::read_dir(from).map_err(|e| crate::fatal!("cannot read {from}: {e}"))?;
    for e in entries.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let src = from.join(&name);
        let dst = to.join(&name);
        let src_is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let dst_meta = std::fs::symlink_metadata(&dst);
        match dst_meta {
            Ok(m) if m.is_dir() && src_is_dir => restore_into(&src, &dst)?,
            Ok(m) => {
                if m.is_dir() {
                    std::fs::remove_dir_all(&dst)?;
                } else {
                    std::fs::remove_file(&dst)?;
                }
                move_path(&src, &dst)?;
            }
            Err(_) => move_path(&src, &dst)?,
        }
    }
    Ok(())
}

/// Removes `dir` and its empty subdirectories (whatever is not empty stays).
fn remove_empty_dirs(dir: &Utf8Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                if let Ok(p) = Utf8PathBuf::from_path_buf(e.path()) {
                    remove_empty_dirs(&p);
                }
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Moves a file or directory: a rename, else (another filesystem) a copy to a temporary name
/// renamed into place, then the source deleted. Idempotent: a finished copy is not redone.
pub fn move_path(src: &Utf8Path, dst: &Utf8Path) -> Result<()> {
    let src_there = std::fs::symlink_metadata(src).is_ok();
    let dst_there = std::fs::symlink_metadata(dst).is_ok();
    if !src_there {
        return Ok(());
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {parent}: {e}"))?;
    }
    if !dst_there {
        match std::fs::rename(src, dst) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
                let tmp = Utf8PathBuf::from(format!("{dst}.git-parallel-tmp"));
                remove_any(&tmp)?;
                copy_tree(src, &tmp)?;
                std::fs::rename(&tmp, dst)
                    .map_err(|e| crate::fatal!("cannot move {tmp} to {dst}: {e}"))?;
            }
            Err(e) => return Err(crate::fatal!("cannot move {src} to {dst}: {e}")),
        }
    }
    // The copy is complete (it was renamed into place): the source can go.
    remove_any(src)
}

fn remove_any(p: &Utf8Path) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p)?,
        Ok(_) => std::fs::remove_file(p)?,
        Err(_) => {}
    }
    Ok(())
}

fn copy_tree(src: &Utf8Path, dst: &Utf8Path) -> Result<()> {
    let m = std::fs::symlink_metadata(src)?;
    if m.file_type().is_symlink() {
        let target = std::fs::read_link(src)?;
        std::os::unix::fs::symlink(target, dst)?;
    } else if m.is_dir() {
        std::fs::create_dir_all(dst)?;
        for e in std::fs::read_dir(src)?.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                return Err(crate::fatal!(
                    "cannot copy {src}: a file name in it is not UTF-8"
                ));
            };
            copy_tree(&src.join(&name), &dst.join(&name))?;
        }
    } else {
        std::fs::copy(src, dst).map_err(|e| crate::fatal!("cannot copy {src} to {dst}: {e}"))?;
    }
    Ok(())
}

/// What happens to the ignored files of one worktree that is removed.
#[derive(Clone, Debug, Serialize)]
pub struct Kept {
    pub worktree: Utf8PathBuf,
    /// Where they are kept (None: deleted, parallel.keepIgnored is false).
    pub dir: Option<Utf8PathBuf>,
    pub files: Vec<String>,
}

/// Adds, before the worktree removals among `steps`, the steps that keep their ignored files
/// (nothing with parallel.keepIgnored=false); returns what each removal does with them.
pub fn keep_ignored(repo: &Repo, steps: &mut Vec<Step>) -> Result<Vec<Kept>> {
    let keep = keep_ignored_enabled(repo);
    let base = super::state_dir(repo).join(IGNORED_DIR);
    let secs = crate::time::parse_iso(&crate::time::now_iso()).unwrap_or(0);
    let mut kept = Vec::new();
    let mut added = Vec::new();
    let mut taken: Vec<Utf8PathBuf> = Vec::new();
    for s in steps.iter() {
        let Step::RemoveWorktree { path, .. } = s else {
            continue;
        };
        let files = ignored_entries(&repo.loc, path)?;
        if files.is_empty() {
            continue;
        }
        let name = path.file_name().unwrap_or("worktree");
        let dir = keep.then(|| {
            let mut n = 1;
            loop {
                let d = if n == 1 {
                    base.join(format!("{secs}-{name}"))
                } else {
                    base.join(format!("{secs}-{name}-{n}"))
                };
                if !d.exists() && !taken.contains(&d) {
                    taken.push(d.clone());
                    break d;
                }
                n += 1;
            }
        });
        if let Some(d) = &dir {
            added.push(Step::Keep(Keep::IgnoredMove {
                worktree: path.clone(),
                dir: d.clone(),
            }));
        }
        kept.push(Kept {
            worktree: path.clone(),
            dir,
            files,
        });
    }
    if let Some(at) = steps
        .iter()
        .position(|s| matches!(s, Step::RemoveWorktree { .. }))
    {
        steps.splice(at..at, added);
    }
    Ok(kept)
}

/// One line per worktree saying what became of its ignored files.
pub fn kept_lines(kept: &[Kept], show: impl Fn(&Utf8Path) -> String) -> Vec<String> {
    kept.iter()
        .map(|k| {
            const SHOWN: usize = 5;
            let mut names: Vec<&str> = k.files.iter().take(SHOWN).map(String::as_str).collect();
            if k.files.len() > SHOWN {
                names.push("…");
            }
            let n = k.files.len();
            let s = if n == 1 { "" } else { "s" };
            match &k.dir {
                Some(d) => format!(
                    "Kept {n} ignored file{s} of {} ({}) in {} ('git parallel undo' puts them back)",
                    show(&k.worktree),
                    names.join(", "),
                    show(d)
                ),
                None => format!(
                    "Deleted {n} ignored file{s} of {} ({}) (parallel.keepIgnored is false)",
                    show(&k.worktree),
                    names.join(", ")
                ),
            }
        })
        .collect()
}

/// Prints [`kept_lines`]: on stdout, or on stderr as notes when stdout is JSON.
pub fn print_kept(kept: &[Kept], out: &crate::context::Output, show: impl Fn(&Utf8Path) -> String) {
    if out.quiet {
        return;
    }
    for line in kept_lines(kept, show) {
        if out.json {
            eprintln!("note: {line}");
        } else {
            println!("{line}");
        }
    }
}

// ---- submodules -------------------------------------------------------------------------------

fn submodule_save(
    loc: &Location,
    from: &Utf8Path,
    to: &Utf8Path,
    commit: &str,
    name: &str,
) -> Result<()> {
    let git_in = |dir: &Utf8Path| {
        let mut c = loc.git.in_dir(&loc.common_dir);
        c.env("GIT_DIR", dir.as_std_path());
        c.env_remove("GIT_WORK_TREE");
        c
    };
    // Already there?
    let mut cmd = git_in(to);
    cmd.args(["rev-parse", "--verify", "-q", name]);
    if cli::stdout(cmd)
        .map(|s| s.trim() == commit)
        .unwrap_or(false)
    {
        return Ok(());
    }
    // Copy the objects: a pack of everything the commit reaches, indexed into `to`.
    let mut cmd = git_in(to);
    cmd.args(["cat-file", "-e", commit]);
    if cli::run(cmd).is_err() {
        let mut pack = git_in(from);
        pack.args(["pack-objects", "--revs", "--stdout", "-q"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = pack
            .spawn()
            .map_err(|e| crate::fatal!("cannot run git pack-objects in {from}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            writeln!(stdin, "{commit}")?;
        }
        let packed = child.wait_with_output()?;
        if !packed.status.success() {
            return Err(crate::fatal!(
                "cannot pack submodule commit {commit} in {from}: {}",
                String::from_utf8_lossy(&packed.stderr).trim()
            ));
        }
        let mut index = git_in(to);
        index
            .args(["index-pack", "--stdin", "--fix-thin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = index
            .spawn()
            .map_err(|e| crate::fatal!("cannot run git index-pack in {to}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin.write_all(&packed.stdout)?;
        }
        let indexed = child.wait_with_output()?;
        if !indexed.status.success() {
            return Err(crate::fatal!(
                "cannot store submodule commit {commit} in {to}: {}",
                String::from_utf8_lossy(&indexed.stderr).trim()
            ));
        }
    }
    // Create the backup ref only if absent (never overwrite another backup).
    let mut cmd = git_in(to);
    cmd.args([
        "update-ref",
        "-m",
        "git-parallel: backup of a task's submodule work",
        name,
        commit,
        "",
    ]);
    cli::run(cmd)?;
    Ok(())
}

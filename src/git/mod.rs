//! The repository facade: reads and ref transactions through gix (the repository's
//! `reference-transaction` hook run around each, `hooks`), the git CLI (`cli`) for worktrees and
//! checkouts of the main worktree. Nothing else in the crate touches git directly.
//!
//! Layer: a leaf. May import only `error` and `output`.

pub mod cli;
mod config;
pub use config::{Settings, KEEP_IGNORED_MAX};
mod error;
pub mod hex;
mod hooks;
pub mod index;
pub mod remote;

use camino::{Utf8Path, Utf8PathBuf};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::Target;
use gix::ObjectId;

pub use cli::GitCli;
pub use error::{Error, Result};

/// The repository as git-parallel sees it: gix for reads and ref edits, plus [`Location`].
pub struct Repo {
    /// Opened on the main worktree (or the bare repository).
    pub gix: gix::Repository,
    pub loc: Location,
    /// A `--dry-run`: plan-time commits may use a stand-in identity when git has none.
    pub plan_only: bool,
    /// The `parallel.*` settings, read once when the repository is opened.
    pub settings: Settings,
}

/// Where the repository is and how to run git on it. Plain data (`Send + Sync`), so worktree
/// steps can run on several threads.
#[derive(Clone, Debug)]
pub struct Location {
    pub common_dir: Utf8PathBuf,
    /// The main worktree's git dir (equals `common_dir` except in unusual layouts).
    pub git_dir: Utf8PathBuf,
    pub main_worktree: Option<Utf8PathBuf>,
    /// The worktree the command was started in (main or linked), if any.
    pub current_worktree: Option<Utf8PathBuf>,
    pub git: GitCli,
    /// The worktree listings the checks of this command run share (see txn::clean): a value
    /// carried with the repository handle (its clones share it), not process-wide state.
    pub listings: Listings,
}

/// Worktree path → (`git status --porcelain` lines, submodule problems once asked for), shared
/// by the checks of one command run until they expire.
#[derive(Clone, Debug, Default)]
pub struct Listings(
    std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<Utf8PathBuf, Listing>>>,
);

/// One worktree's shared listing: its status lines, and its submodule problems once asked for.
pub type Listing = (Vec<String>, Option<Vec<String>>);

impl Listings {
    /// Runs `f` on the map (a poisoned lock still holds a usable map: listings are plain data).
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeMap<Utf8PathBuf, Listing>) -> R,
    ) -> R {
        match self.0.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl std::ops::Deref for Repo {
    type Target = Location;
    fn deref(&self) -> &Location {
        &self.loc
    }
}

/// One ref change with the value it must have before (compare-and-swap).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefUpdate {
    pub name: String,
    /// None: the ref must not exist.
    #[serde(with = "hex::opt")]
    pub old: Option<ObjectId>,
    /// None: delete the ref.
    #[serde(with = "hex::opt")]
    pub new: Option<ObjectId>,
}

impl RefUpdate {
    /// The update the other way round (what takes it back).
    pub fn reversed(&self) -> RefUpdate {
        RefUpdate {
            name: self.name.clone(),
            old: self.new,
            new: self.old,
        }
    }
}

/// The result of an in-memory merge.
pub enum Merge {
    /// The merged tree.
    Clean(ObjectId),
    /// The paths that conflict.
    Conflicts(Vec<String>),
}

/// A linked worktree as git records it.
#[derive(Clone, Debug)]
pub struct WorktreeInfo {
    pub path: Utf8PathBuf,
    pub branch: Option<String>,
    pub locked: bool,
}

fn utf8(p: &std::path::Path) -> Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(p.to_path_buf()).map_err(Error::PathNotUtf8)
}

fn absolute(p: &std::path::Path) -> Result<Utf8PathBuf> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?
            .join(p)
    };
    // Canonical paths make worktree paths comparable with what git records.
    let p = p.canonicalize().unwrap_or(p);
    utf8(&p)
}

/// Merges `theirs` into `ours` with gix, the way `git merge` would resolve it, writing objects
/// only into `gix` (the repository, or an in-memory overlay of it for trial merges). The merged
/// tree is not written yet.
pub fn merge_commits(
    gix: &gix::Repository,
    ours: ObjectId,
    theirs: ObjectId,
) -> Result<gix::merge::commit::Outcome<'_>> {
    let options = gix
        .tree_merge_options()
        .map_err(|e| Error::gix("cannot read the merge configuration", e))?;
    let labels = gix::merge::blob::builtin_driver::text::Labels {
        ancestor: Some("base".into()),
        current: Some("ours".into()),
        other: Some("theirs".into()),
    };
    gix.merge_commits(ours, theirs, labels, options.into())
        .map_err(|e| Error::gix(format!("cannot merge {theirs} into {ours}"), e))
}

/// The paths a tree merge left unresolved the way `git merge` would count them, or `None` when
/// it is clean.
pub fn conflict_paths(merge: &gix::merge::tree::Outcome<'_>) -> Option<Vec<String>> {
    use gix::merge::tree::TreatAsUnresolved;
    let how = TreatAsUnresolved::git();
    if !merge.has_unresolved_conflicts(how) {
        return None;
    }
    let mut files: Vec<String> = merge
        .conflicts
        .iter()
        .filter(|c| c.is_unresolved(how))
        .flat_map(|c| {
            [
                c.ours.location().to_string(),
                c.theirs.location().to_string(),
            ]
        })
        .collect();
    files.sort();
    files.dedup();
    Some(files)
}

/// A branch's short name (`refs/heads/main` → `main`), as gix categorises it; any other ref
/// name is returned whole.
pub fn short_branch(name: &str) -> &str {
    let prefix = gix::refs::Category::LocalBranch.prefix();
    std::str::from_utf8(prefix)
        .ok()
        .and_then(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

pub fn oid(s: &str) -> Result<ObjectId> {
    ObjectId::from_hex(s.as_bytes()).map_err(|source| Error::BadObjectId {
        text: s.to_string(),
        source: Box::new(source),
    })
}

impl Repo {
    /// Finds the repository like git does from `cwd`, honouring GIT_DIR and GIT_WORK_TREE.
    pub fn discover(cwd: &Utf8Path) -> Result<Repo> {
        let found =
            config::discover(cwd.as_std_path()).map_err(|e| Error::NotARepository(Box::new(e)))?;
        let current_worktree = match found.workdir() {
            Some(w) => Some(absolute(w)?),
            None => None,
        };
        let linked = found.git_dir() != found.common_dir();
        let main = if linked {
            found
                .main_repo()
                .map_err(|e| Error::gix("cannot open the main worktree of this repository", e))?
        } else {
            found
        };
        let common_dir = absolute(main.common_dir())?;
        let git_dir = absolute(main.git_dir())?;
        let main_worktree = match main.workdir() {
            Some(w) => Some(absolute(w)?),
            None => None,
        };
        let settings = Settings::read(&main);
        let repo = Repo {
            gix: main,
            loc: Location {
                common_dir,
                git_dir,
                main_worktree,
                current_worktree,
                git: GitCli::find()?,
                listings: Listings::default(),
            },
            plan_only: false,
            settings,
        };
        repo.onto_target_worktree()
    }

    /// The worktree git-parallel commits in and keeps up to date ("the main worktree") is the
    /// one that has the target checked out: with `parallel.target` set to a branch that a linked
    /// worktree has checked out (and the primary worktree does not), that linked worktree
    /// (repro round2 13: start and finish update it instead of leaving it behind). Decided
    /// from the configuration alone, so every command — `recover` too — finds the same one
    /// wherever it runs. Not with GIT_DIR set (the user chose the repository then).
    fn onto_target_worktree(self) -> Result<Repo> {
        let Some(target) = self.settings.get("parallel.target") else {
            return Ok(self);
        };
        let target = if target.starts_with("refs/") {
            target.to_string()
        } else {
            format!("refs/heads/{target}")
        };
        if std::env::var_os("GIT_DIR").is_some()
            || self.head_branch()?.as_deref() == Some(target.as_str())
        {
            return Ok(self);
        }
        let Some(wt) = self
            .loc
            .worktrees()?
            .into_iter()
            .find(|w| w.branch.as_deref() == Some(target.as_str()) && w.path.is_dir())
        else {
            return Ok(self);
        };
        let linked = config::discover(wt.path.as_std_path()).map_err(|e| {
            Error::gix(
                format!(
                    "cannot open the worktree {} that has the target checked out",
                    wt.path
                ),
                e,
            )
        })?;
        Ok(Repo {
            loc: Location {
                git_dir: absolute(linked.git_dir())?,
                main_worktree: Some(wt.path),
                ..self.loc
            },
            gix: linked,
            ..self
        })
    }

    // ---- refs ---------------------------------------------------------------------------------

    /// The branch checked out in the main worktree (`refs/heads/…`), None when detached.
    pub fn head_branch(&self) -> Result<Option<String>> {
        let name = self
            .gix
            .head_name()
            .map_err(|e| Error::gix("cannot read HEAD", e))?;
        Ok(name.map(|n| n.as_bstr().to_string()))
    }

    /// The object a ref points at (peeled through symbolic refs), None if it does not exist.
    pub fn ref_id(&self, name: &str) -> Result<Option<ObjectId>> {
        let r = self
            .gix
            .try_find_reference(name)
            .map_err(|e| Error::gix(format!("cannot read {name}"), e))?;
        match r {
            None => Ok(None),
            Some(mut r) => {
                let id = r
                    .peel_to_id()
                    .map_err(|e| Error::gix(format!("cannot resolve {name}"), e))?;
                Ok(Some(id.detach()))
            }
        }
    }

    /// All refs under a prefix, with their targets.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let platform = self
            .gix
            .references()
            .map_err(|e| Error::gix("cannot list refs", e))?;
        let iter = platform
            .prefixed(prefix)
            .map_err(|e| Error::gix("cannot list refs", e))?;
        let mut out = Vec::new();
        for r in iter {
            let mut r = r.map_err(|e| Error::gix("cannot read a ref", e))?;
            let name = r.name().as_bstr().to_string();
            if let Ok(id) = r.peel_to_id() {
                out.push((name, id.detach()));
            }
        }
        Ok(out)
    }

    /// Applies ref changes atomically, each checked against its expected old value.
    pub fn update_refs(&self, updates: &[RefUpdate], message: &str) -> Result<()> {
        // The branch checked out in the main worktree is updated through HEAD (dereferenced),
        // so HEAD's reflog records the move as it does when git itself commits or merges.
        let head = self.head_branch().ok().flatten();
        let mut edits = Vec::new();
        for u in updates {
            let expected = match &u.old {
                None => PreviousValue::MustNotExist,
                Some(o) => PreviousValue::MustExistAndMatch(Target::Object(*o)),
            };
            let change = match &u.new {
                Some(n) => Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        // Backups get a reflog: it records when they were made (`gc` ages them by it).
                        force_create_reflog: u.name.starts_with("refs/parallel/"),
                        message: message.into(),
                    },
                    expected,
                    new: Target::Object(*n),
                },
                None => Change::Delete {
                    expected,
                    log: RefLog::AndReference,
                },
            };
            let via_head =
                u.new.is_some() && u.old.is_some() && head.as_deref() == Some(u.name.as_str());
            let shown = if via_head { "HEAD" } else { u.name.as_str() };
            let name = shown
                .try_into()
                .map_err(
                    |e: gix::validate::reference::name::Error| Error::BadRefName {
                        name: u.name.clone(),
                        source: Box::new(e),
                    },
                )?;
            edits.push(RefEdit {
                change,
                name,
                deref: via_head,
            });
        }
        let refs_changed = |e: gix::Error| {
            let mut chain = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                src = s.source();
            }
            let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
            Error::RefsChanged {
                names: names.join(", "),
                chain,
                source: Box::new(e),
            }
        };
        let Some(hook) = hooks::RefHook::find(self, updates)? else {
            self.gix.edit_references(edits).map_err(refs_changed)?;
            return Ok(());
        };
        // As git does: the hook sees the transaction prepared (the refs locked and checked)
        // and may refuse it; then committed, or aborted.
        let committer = self
            .gix
            .committer()
            .transpose()
            .map_err(|e| Error::gix("cannot read the committer identity for the reflog", e))?;
        let prepared = self
            .gix
            .refs
            .transaction()
            .prepare(
                edits,
                self.lock_wait("core.filesRefLockTimeout", 100),
                self.lock_wait("core.packedRefsTimeout", 1000),
            )
            .map_err(refs_changed)?;
        if !hook.run("prepared")? {
            drop(prepared);
            hook.run("aborted")?;
            let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
            return Err(Error::HookRefused {
                names: names.join(", "),
            });
        }
        if let Err(e) = prepared.commit(committer) {
            hook.run("aborted")?;
            return Err(refs_changed(e));
        }
        hook.run("committed")?;
        Ok(())
    }

    /// How long to wait for a ref lock (`core.filesRefLockTimeout`, `core.packedRefsTimeout`,
    /// in milliseconds, as git reads them: 0 fails at once, negative waits for ever).
    fn lock_wait(&self, key: &str, default_ms: i64) -> gix::lock::acquire::Fail {
        use gix::lock::acquire::Fail;
        let ms = self
            .gix
            .config_snapshot()
            .integer(key)
            .unwrap_or(default_ms);
        match u64::try_from(ms) {
            Ok(0) => Fail::Immediately,
            Ok(ms) => Fail::AfterDurationWithBackoff(std::time::Duration::from_millis(ms)),
            // About a year: for ever, in practice.
            Err(_) => Fail::AfterDurationWithBackoff(std::time::Duration::from_secs(1 << 25)),
        }
    }

    // ---- objects ------------------------------------------------------------------------------

    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        let c = self
            .gix
            .find_commit(commit)
            .map_err(|e| Error::gix(format!("cannot read commit {commit}"), e))?;
        c.tree_id()
            .map(|t| t.detach())
            .map_err(|e| Error::gix(format!("cannot read the tree of {commit}"), e))
    }

    /// The bytes of `path` in `commit`, None if absent.
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let c = self
            .gix
            .find_commit(commit)
            .map_err(|e| Error::gix(format!("cannot read commit {commit}"), e))?;
        let tree = c
            .tree()
            .map_err(|e| Error::gix(format!("cannot read the tree of {commit}"), e))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| Error::gix(format!("cannot look up {path} in {commit}"), e))?;
        match entry {
            None => Ok(None),
            Some(e) => {
                let obj = e
                    .object()
                    .map_err(|err| Error::gix(format!("cannot read {path} in {commit}"), err))?;
                Ok(Some(obj.data.clone()))
            }
        }
    }

    /// Writes a commit whose tree is `parent`'s with `path` replaced by `bytes`; moves no ref.
    pub fn commit_file_change(
        &self,
        parent: ObjectId,
        path: &str,
        bytes: &[u8],
        message: &str,
    ) -> Result<ObjectId> {
        let new_tree = self.tree_with_file(parent, path, bytes)?;
        self.commit_tree(new_tree, &[parent], message)
    }

    /// The tree of `commit` with the file at `path` set to `bytes` (objects written, nothing
    /// else changed).
    pub fn tree_with_file(&self, commit: ObjectId, path: &str, bytes: &[u8]) -> Result<ObjectId> {
        let blob = self
            .gix
            .write_blob(bytes)
            .map_err(|e| Error::gix("cannot write blob", e))?
            .detach();
        let tree = self.tree_of(commit)?;
        let mut editor = self
            .gix
            .edit_tree(tree)
            .map_err(|e| Error::gix("cannot edit tree", e))?;
        editor
            .upsert(path, gix::object::tree::EntryKind::Blob, blob)
            .map_err(|e| Error::gix(format!("cannot edit tree at {path}"), e))?;
        Ok(editor
            .write()
            .map_err(|e| Error::gix("cannot write tree", e))?
            .detach())
    }

    /// `git commit-tree`: the user's identity and config apply as for any git commit.
    pub fn commit_tree(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
    ) -> Result<ObjectId> {
        let mut cmd = self.git_main();
        cmd.arg("commit-tree").arg(tree.to_string());
        for p in parents {
            cmd.arg("-p").arg(p.to_string());
        }
        cmd.arg("-m").arg(message);
        let out = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|source| Error::Spawn {
                what: "cannot run git commit-tree".into(),
                source,
            })?;
        if out.status.success() {
            return oid(String::from_utf8_lossy(&out.stdout).trim());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        if !(err.contains("identity unknown") || err.contains("unable to auto-detect")) {
            return Err(Error::CommitTree(err.trim().to_string()));
        }
        if self.plan_only {
            // A dry run only shows the plan: a stand-in identity makes the commit it would make.
            eprintln!(
                "note: git has no identity to commit with here; the real run needs one \
                 (git config --global user.name / user.email)"
            );
            let mut cmd = self.git_main();
            for var in ["AUTHOR", "COMMITTER"] {
                cmd.env(format!("GIT_{var}_NAME"), "(your name)")
                    .env(format!("GIT_{var}_EMAIL"), "(your email)");
            }
            cmd.arg("commit-tree").arg(tree.to_string());
            for p in parents {
                cmd.arg("-p").arg(p.to_string());
            }
            cmd.arg("-m").arg(message);
            return oid(cli::stdout(cmd)?.trim());
        }
        Err(Error::NoIdentity)
    }

    /// Merges `theirs` into `ours` in memory (no working tree, no index) with gix, the way
    /// `git merge` would resolve it. Writes only objects: the merged tree, or nothing useful
    /// when it conflicts, in which case the conflicting paths are returned.
    pub fn merge_in_memory(&self, ours: ObjectId, theirs: ObjectId) -> Result<Merge> {
        let mut out = merge_commits(&self.gix, ours, theirs)?;
        if let Some(files) = conflict_paths(&out.tree_merge) {
            return Ok(Merge::Conflicts(files));
        }
        let tree = out
            .tree_merge
            .tree
            .write()
            .map_err(|e| Error::gix("cannot write the merged tree", e))?;
        Ok(Merge::Clean(tree.detach()))
    }

    /// Files (not trees) that differ between two commits, sorted: a tree diff in process, no
    /// renames (what `git diff --name-only --no-renames` lists).
    pub fn changed_paths(&self, from: ObjectId, to: ObjectId) -> Result<Vec<String>> {
        let tree = |c: ObjectId| {
            self.gix
                .find_commit(c)
                .and_then(|c| c.tree())
                .map_err(|e| Error::gix(format!("cannot read the tree of {c}"), e))
        };
        let (old, new) = (tree(from)?, tree(to)?);
        let changes = self
            .gix
            .diff_tree_to_tree(&old, &new, gix::diff::Options::default())
            .map_err(|e| Error::gix(format!("cannot compare {from} with {to}"), e))?;
        let mut files: Vec<String> = changes
            .iter()
            .filter(|c| !c.entry_mode().is_tree())
            .map(|c| c.location().to_string())
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Commits reachable from `tip` but not from `base`.
    pub fn count_between(&self, base: ObjectId, tip: ObjectId) -> Result<usize> {
        if base == tip {
            return Ok(0);
        }
        let walk = self
            .gix
            .rev_walk([tip])
            .with_hidden([base])
            .all()
            .map_err(|e| Error::gix("cannot walk history", e))?;
        let mut n = 0;
        for info in walk {
            info.map_err(|e| Error::gix("cannot walk history", e))?;
            n += 1;
        }
        Ok(n)
    }

    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>> {
        match self.gix.merge_base(a, b) {
            Ok(id) => Ok(id.map(|i| i.detach())),
            Err(_) => Ok(None),
        }
    }
}

impl Location {
    /// The main worktree, or a fatal error for bare repositories.
    pub fn workdir(&self) -> Result<&Utf8Path> {
        self.main_worktree.as_deref().ok_or_else(|| Error::Bare {
            common_dir: self.common_dir.to_string(),
        })
    }

    /// A git command for the main worktree.
    pub fn git_main(&self) -> std::process::Command {
        self.git
            .for_repo(&self.git_dir, self.main_worktree.as_deref())
    }

    /// `git status --porcelain` lines of a worktree (untracked included, ignored excluded).
    pub fn status_lines(&self, worktree: &Utf8Path) -> Result<Vec<String>> {
        self.status_with(worktree, "--untracked-files=all")
    }

    /// Changes to tracked files only (cheaper: no scan for untracked files): each as its
    /// `git status --porcelain` line (paths raw: escape them to print) and the
    /// repository-relative paths it concerns (both sides of a rename).
    pub fn tracked_changes(&self, worktree: &Utf8Path) -> Result<Vec<(String, Vec<String>)>> {
        let mut cmd = self.git.in_dir(worktree);
        cmd.args(["status", "--porcelain", "-z", "--untracked-files=no"]);
        let fields = cli::stdout_z(cmd)?;
        let mut out = Vec::new();
        let mut it = fields.into_iter();
        while let Some(entry) = it.next() {
            let (code, path) = (entry.get(..2).unwrap_or(""), entry.get(3..).unwrap_or(""));
            let mut paths = vec![path.to_string()];
            let mut line = format!("{code} {path}");
            // A rename or copy is followed by the path it came from.
            if code.contains('R') || code.contains('C') {
                if let Some(orig) = it.next() {
                    line = format!("{code} {orig} -> {path}");
                    paths.push(orig);
                }
            }
            out.push((line, paths));
        }
        Ok(out)
    }

    fn status_with(&self, worktree: &Utf8Path, untracked: &str) -> Result<Vec<String>> {
        let mut cmd = self.git.in_dir(worktree);
        cmd.args(["status", "--porcelain", untracked]);
        let out = cli::stdout(cmd)?;
        Ok(out.lines().map(|l| l.to_string()).collect())
    }

    /// Linked worktrees (not the main one), read from `<common dir>/worktrees/*`.
    pub fn worktrees(&self) -> Result<Vec<WorktreeInfo>> {
        let mut out = Vec::new();
        let admin = self.common_dir.join("worktrees");
        let entries = match std::fs::read_dir(&admin) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(format!("cannot list worktrees in {admin}"), e)),
        };
        for e in entries.flatten() {
            let dir = e.path();
            let Ok(gitdir) = std::fs::read_to_string(dir.join("gitdir")) else {
                continue;
            };
            let dotgit = std::path::PathBuf::from(gitdir.trim());
            let dotgit = if dotgit.is_absolute() {
                dotgit
            } else {
                dir.join(dotgit)
            };
            let Some(base) = dotgit.parent() else {
                continue;
            };
            let path = absolute(base)?;
            let head = std::fs::read_to_string(dir.join("HEAD")).unwrap_or_default();
            let branch = head.trim().strip_prefix("ref: ").map(|s| s.to_string());
            out.push(WorktreeInfo {
                path,
                branch,
                locked: dir.join("locked").exists(),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

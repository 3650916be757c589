//! A command's session: the task file it acts on, the product, the target branch and its tip, the
//! main worktree (opened once by [`Session::load`], which also takes the repository lock for a
//! mutating command), with the task branch and worktree of each task and the steps that put a
//! task-file edit on the target.
//!
//! Start records left uncommitted in the main worktree (by `run` without a remote, or `start
//! --no-commit`) are recognised here ([`Session::pending_starts`]) and carried by the next
//! commit of the task file: the file is put back to its committed text, then the main worktree
//! moved to the new commit, both journaled steps with exact inverses.

use crate::txn::steps::{Refs, SyncMain, WriteFile};
use camino::{Utf8Path, Utf8PathBuf};
use gix::ObjectId;

use crate::error::Result;
use crate::git::{short_branch, RefUpdate};
use crate::taskgraph::{Edit, Status, Task, TaskFile};
use crate::txn::Step;
use crate::workflow::context::Context;
use crate::workflow::naming::{new_branch_name, product_name, valid_branch, worktree_path};

/// The task file, the product and the target branch of one command run.
pub struct Session<'a> {
    pub ctx: &'a Context,
    pub tf: TaskFile,
    /// Absolute path of the task file.
    pub task_path: Utf8PathBuf,
    /// Its path inside the repository (None: outside the main worktree, never committed).
    pub task_rel: Option<String>,
    pub product: String,
    /// `refs/heads/…`
    pub target: String,
    pub target_tip: ObjectId,
    /// The target is the branch checked out in the main worktree.
    pub target_checked_out: bool,
    pub main: Utf8PathBuf,
}

/// Start records pending in the main worktree's task file ([`Session::pending_starts`]).
pub struct PendingStarts {
    /// The task file as committed on the target.
    pub committed: String,
    /// The tasks started there, in file order.
    pub ids: Vec<String>,
}

impl<'a> Session<'a> {
    /// For commands that change the repository: refuses while an interrupted operation is pending.
    pub fn load(ctx: &'a Context) -> Result<Session<'a>> {
        crate::txn::begin(
            &ctx.repo,
            &ctx.lock,
            &format!("git parallel {}", ctx.args.command.name),
        )?;
        Session::open(ctx, false)
    }

    /// For commands that only read: works while an interrupted operation is pending (and says
    /// so), and on a detached HEAD (compared with HEAD then).
    pub fn load_readonly(ctx: &'a Context) -> Result<Session<'a>> {
        if let Err(e) = crate::txn::ensure_no_pending(&ctx.repo) {
            if !ctx.out.quiet && !ctx.out.json {
                eprint!(
                    "{}",
                    crate::error::render_error("warning", &e.into(), ctx.out.color_err)
                );
            }
        }
        Session::open(ctx, true)
    }

    fn open(ctx: &'a Context, readonly: bool) -> Result<Session<'a>> {
        let main = ctx.repo.workdir()?.to_path_buf();
        let task_path = ctx.locate_task_file()?;
        let task_rel = ctx.repo_relative(&task_path);
        let tf = match ctx.load_tasks_at(&task_path) {
            Ok(tf) => tf,
            Err(e) if readonly => committed_while_pending(ctx, &task_path, task_rel.as_deref())
                .transpose()
                .unwrap_or(Err(e))?,
            Err(e) => return Err(e),
        };
        let product = product_name(ctx, &tf, &task_rel);
        let head = ctx.repo.head_branch()?;
        let target = match ctx.repo.settings.get("parallel.target").map(str::to_string) {
            Some(t) if t.starts_with("refs/") => t,
            Some(t) => format!("refs/heads/{t}"),
            None => match head.clone() {
                Some(h) => h,
                None if readonly => "HEAD".to_string(),
                None => {
                    return Err(crate::refused!(
                        help = "check out the branch tasks should merge into, or set it: git config parallel.target main",
                        "HEAD is detached in the main worktree, so there is no target branch"
                    ))
                }
            },
        };
        let target_tip = match ctx.repo.ref_id(&target)? {
            Some(tip) => tip,
            // No commits yet (unborn HEAD): read-only commands see an empty target (null id).
            None if head.as_deref() == Some(target.as_str()) => {
                if !readonly {
                    return Err(crate::refused!(
                        help = format!(
                            "commit the task file first: git add {} && git commit -m 'Add the task graph'",
                            task_rel.as_deref().unwrap_or(".")
                        ),
                        "the target branch {} has no commits yet",
                        short_branch(&target)
                    ));
                }
                ObjectId::null(gix::hash::Kind::Sha1)
            }
            None => {
                return Err(crate::refused!(
                    help = "create it or set parallel.target to an existing branch",
                    "the target branch {} does not exist",
                    short_branch(&target)
                ))
            }
        };
        if !readonly && ctx.repo.settings.get("parallel.target").is_none() {
            refuse_other_worktree(ctx, &tf, &product, &main, &target)?;
        }
        Ok(Session {
            target_checked_out: head.as_deref() == Some(target.as_str()),
            ctx,
            tf,
            task_path,
            task_rel,
            product,
            target,
            target_tip,
            main,
        })
    }

    /// `refs/heads/…` of a task's branch: the one recorded in `assigned_to` once started (when
    /// that is a valid branch name; a hand-edited `../../HEAD` is not one, and is ignored).
    pub fn branch_of(&self, task: &Task) -> String {
        if let Some(b) = task.assigned_to.as_deref().filter(|b| {
            !b.is_empty() && task.status != Status::Pending && valid_branch(short_branch(b))
        }) {
            return format!("refs/heads/{}", short_branch(b));
        }
        self.new_branch_name(task)
    }

    /// Whether `branch` is one git-parallel made for `task`: the name the branch template gives
    /// it, or a branch a logged operation created while naming it as the task's. Only such
    /// branches (and their worktrees) may be removed by abort; `assigned_to` is hand-editable.
    pub fn made_for(&self, task: &Task, branch: &str) -> Result<bool> {
        if branch == self.new_branch_name(task) {
            return Ok(true);
        }
        let log = crate::txn::oplog::read(&crate::txn::state_dir(&self.ctx.repo))?;
        Ok(log.iter().any(|e| {
            let names_task = e.summary.split([' ', ',']).any(|w| w == task.id);
            names_task
                && e.steps.iter().any(|s| match s {
                    Step::Refs(Refs { updates, .. }) => updates
                        .iter()
                        .any(|u| u.name == branch && u.old.is_none() && u.new.is_some()),
                    _ => false,
                })
        }))
    }

    pub fn new_branch_name(&self, task: &Task) -> String {
        new_branch_name(self.ctx, &self.product, task)
    }

    /// The absolute worktree path for a task by the template.
    pub fn worktree_path(&self, task: &Task) -> Utf8PathBuf {
        worktree_path(self.ctx, &self.main, &self.product, task)
    }

    /// The worktree a task's branch is checked out in, if any.
    pub fn worktree_of(&self, task: &Task) -> Result<Option<crate::git::WorktreeInfo>> {
        let branch = self.branch_of(task);
        Ok(self
            .ctx
            .repo
            .worktrees()?
            .into_iter()
            .find(|w| w.branch.as_deref() == Some(branch.as_str())))
    }

    /// Steps that record `edits` in the task file: a commit on the target (moving the main
    /// worktree along when the target is checked out there) or, with `no_commit` or a task file
    /// outside the repository, a plain write. Returns the steps and the target's new tip.
    pub fn task_file_steps(
        &self,
        edits: &[Edit],
        message: &str,
        no_commit: bool,
    ) -> Result<(Vec<Step>, ObjectId)> {
        let new_text = self
            .tf
            .apply_edits(edits)
            .map_err(crate::error::Error::Refused)?;
        self.task_file_text_steps(new_text, message, no_commit)
    }

    /// [`Session::task_file_steps`] for a new text of the task file already made.
    pub fn task_file_text_steps(
        &self,
        new_text: String,
        message: &str,
        no_commit: bool,
    ) -> Result<(Vec<Step>, ObjectId)> {
        let rel = match (&self.task_rel, no_commit) {
            (Some(rel), false) => rel.clone(),
            _ => {
                return Ok((
                    vec![Step::WriteFile(WriteFile {
                        path: self.task_path.clone(),
                        old: self.tf.source.clone(),
                        new: new_text,
                    })],
                    self.target_tip,
                ))
            }
        };
        // Start records run left uncommitted are carried by this commit (see
        // [`Session::pending_starts`]): the file is put back to the committed text first, so
        // that the main worktree moves to the new commit as a clean checkout would.
        let pending = self.pending_starts()?;
        if pending.is_none() {
            self.check_task_file_clean(&rel)?;
        }
        if let Some(w) = self
            .ctx
            .repo
            .worktrees()?
            .into_iter()
            .find(|w| w.branch.as_deref() == Some(self.target.as_str()) && w.path != self.main)
        {
            let or_no_commit = if self.takes_no_commit() {
                ", or pass --no-commit"
            } else {
                ""
            };
            return Err(crate::refused!(
                help = "switch that worktree to another branch{or_no_commit}",
                "the target branch {} is checked out in the worktree {}; committing on it would leave that worktree behind",
                short_branch(&self.target),
                w.path
            ));
        }
        let committed = self.ctx.repo.file_at(self.target_tip, &rel)?;
        if pending.is_none() && committed.as_deref() != Some(self.tf.source.as_bytes()) {
            return Err(crate::refused!(
                help = self.commit_first_hint(rel.as_str()),
                "the task file {rel} differs from the one committed on {}",
                short_branch(&self.target)
            ));
        }
        let commit = self.ctx.repo.commit_file_change(
            self.target_tip,
            &rel,
            new_text.as_bytes(),
            message,
        )?;
        let mut steps = Vec::new();
        if let Some(p) = pending {
            steps.push(self.write_task_file(p.committed));
        }
        steps.push(Step::Refs(Refs {
            updates: vec![RefUpdate {
                name: self.target.clone(),
                old: Some(self.target_tip),
                new: Some(commit),
            }],
            message: format!("git-parallel: {message}"),
        }));
        if self.target_checked_out {
            steps.push(Step::SyncMain(SyncMain {
                from: self.target_tip,
                to: commit,
                branch: Some(self.target.clone()),
            }));
        }
        Ok((steps, commit))
    }

    /// Whether this command's edit of the task file is left uncommitted in the main worktree
    /// for the next commit of the task file to carry: `start` called by `run` without a
    /// remote ([`Context::fold_start`]), on the target checked out with its task file inside
    /// the repository; otherwise it commits (steps of [`Session::task_file_text_steps`]).
    pub fn defers_commit(&self) -> bool {
        self.ctx.fold_start && self.target_checked_out && self.task_rel.is_some()
    }

    /// The step that writes `new_text` to the main worktree's task file without committing
    /// it, for [`Session::defers_commit`]: only on top of the committed file or of start
    /// records already pending; any other uncommitted change refuses as a commit would.
    pub fn deferred_task_file_step(&self, new_text: String) -> Result<Step> {
        if let Some(rel) = &self.task_rel {
            if self.pending_starts()?.is_none() {
                self.check_task_file_clean(rel)?;
            }
        }
        Ok(self.write_task_file(new_text))
    }

    /// The main worktree's task file rewritten from its current text to `new`.
    fn write_task_file(&self, new: String) -> Step {
        Step::WriteFile(WriteFile {
            path: self.task_path.clone(),
            old: self.tf.source.clone(),
            new,
        })
    }

    /// When the main worktree's task file differs from the one committed on the target only
    /// by start records (tasks set `in_progress` with `started_at` and `assigned_to`, and
    /// `metadata.updated_at`) that `run` left there uncommitted, and the index holds the
    /// committed one: that committed text. The next commit of the task file (a landing's
    /// merge commit, or any command's record) carries those records. `None` when the file is
    /// as committed, or differs in any other way (then the commands refuse as before).
    pub fn pending_starts(&self) -> Result<Option<PendingStarts>> {
        let Some(rel) = self.task_rel.as_deref().filter(|_| self.target_checked_out) else {
            return Ok(None);
        };
        let Some(bytes) = self.ctx.repo.file_at(self.target_tip, rel)? else {
            return Ok(None);
        };
        if bytes == self.tf.source.as_bytes() {
            return Ok(None);
        }
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(None);
        };
        let Ok(committed) = TaskFile::parse(&self.tf.path, text.clone()) else {
            return Ok(None);
        };
        let Some(ids) = self
            .tf
            .started_over(&committed)
            .filter(|ids| !ids.is_empty())
        else {
            return Ok(None);
        };
        // Staged (`git add`): not ours as left; the commands refuse as for any change.
        let mut cmd = self.ctx.repo.git_main();
        cmd.args(["diff", "--cached", "--name-only", "-z"])
            .arg(self.target_tip.to_string())
            .args(["--", rel]);
        if !crate::git::cli::stdout(cmd)?.is_empty() {
            return Ok(None);
        }
        Ok(Some(PendingStarts {
            committed: text,
            ids,
        }))
    }

    /// Refuses when the task file has uncommitted changes in the main worktree.
    pub fn check_task_file_clean(&self, rel: &str) -> Result<()> {
        if !self.target_checked_out {
            return Ok(());
        }
        let mut cmd = self.ctx.repo.git_main();
        cmd.args(["status", "--porcelain", "--", rel]);
        let out = crate::git::cli::stdout(cmd)?;
        if !out.trim().is_empty() {
            return Err(crate::refused!(
                help = self.commit_first_hint(rel),
                "the task file {rel} has uncommitted changes in the main worktree"
            ));
        }
        Ok(())
    }

    /// Whether the running command takes `--no-commit` (start, abort, fail).
    fn takes_no_commit(&self) -> bool {
        self.ctx
            .args
            .command
            .flags
            .iter()
            .any(|f| std::ptr::eq(*f, &crate::cli::defs::NO_COMMIT))
    }

    /// How to get past an uncommitted task file change: the exact command, and --no-commit
    /// where the command takes it.
    fn commit_first_hint(&self, rel: &str) -> String {
        let mut h = format!(
            "commit the task file first (from the main worktree), then run the command again:\n  git commit -m 'chore: update the task file' -- {}",
            crate::taskgraph::display::shell_quote(rel)
        );
        if self.takes_no_commit() {
            h.push_str("\nor pass --no-commit to leave this change uncommitted too");
        }
        h
    }

    /// The path relative to the current directory, for messages.
    pub fn show(&self, p: &Utf8Path) -> String {
        self.ctx.display_path(p)
    }
}

/// Refuses a command that changes the repository when it runs in a linked worktree that is not
/// a task's and has another branch than the target checked out (the target defaults to the
/// main worktree's branch): it would commit on a branch other than the one the user is on
/// (repro round2 13). `parallel.target` set to that branch makes that worktree the place
/// git-parallel works in (see `Repo::discover`).
fn refuse_other_worktree(
    ctx: &Context,
    tf: &TaskFile,
    product: &str,
    main: &Utf8Path,
    target: &str,
) -> Result<()> {
    let Some(here) = ctx.repo.current_worktree.as_deref().filter(|w| *w != main) else {
        return Ok(());
    };
    let Some(branch) = ctx
        .repo
        .worktrees()?
        .into_iter()
        .find(|w| w.path == here)
        .and_then(|w| w.branch)
    else {
        return Ok(());
    };
    if branch == target {
        return Ok(());
    }
    let task_branch = |t: &Task| {
        t.assigned_to
            .as_deref()
            .is_some_and(|a| short_branch(a) == short_branch(&branch))
            || new_branch_name(ctx, product, t) == branch
    };
    if tf.graph.tasks.iter().any(task_branch) {
        return Ok(());
    }
    let b = short_branch(&branch);
    Err(crate::refused!(
        help = format!(
            "run it from {main}, or make {b} the target (then this worktree is the one updated): git config parallel.target {b}"
        ),
        "this worktree {here} has {b} checked out, but the target is {} (the branch of the main worktree {main}); git-parallel would commit and merge there, not on {b}",
        short_branch(target)
    ))
}

/// For a command that only reads, while an interrupted operation is pending: the task file as
/// committed at HEAD, when the main worktree's copy cannot be read (a kill in the middle of
/// updating the main worktree can leave it half written until `recover` settles it). None when
/// nothing is pending or nothing is committed there.
fn committed_while_pending(
    ctx: &Context,
    path: &Utf8Path,
    rel: Option<&str>,
) -> Result<Option<TaskFile>> {
    let Some(rel) = rel else {
        return Ok(None);
    };
    if crate::txn::ensure_no_pending(&ctx.repo).is_ok() {
        return Ok(None);
    }
    let Ok(head) = ctx.repo.gix.head_id() else {
        return Ok(None);
    };
    let Some(bytes) = ctx.repo.file_at(head.detach(), rel)? else {
        return Ok(None);
    };
    let tf = ctx.load_tasks_from(path, bytes)?;
    crate::output::note(format_args!(
        "{} cannot be read while the interrupted operation is pending; showing the one committed at HEAD",
        ctx.display_path(path)
    ));
    Ok(Some(tf))
}

//! `git parallel abort [ID…]`: remove the worktrees and branches of started tasks and set them
//! back to pending, the task file change committed on the target — one transaction.
//!
//! `git parallel skip ID` is the same removal, always with the saving of `--force`, for a task
//! in any status but completed or skipped, which is then marked `skipped` instead of pending.
//!
//! Without `--force` only tasks with no work of their own are aborted (no commits beyond the
//! branch's start, no uncommitted or untracked changes, an unlocked worktree); every problem is
//! listed at once and nothing changes. With `--force` each such branch tip is first saved under
//! `refs/parallel/backup/<id>` and uncommitted changes as a commit under
//! `refs/parallel/backup/<id>-wip`.
//!

use crate::taskgraph::display::safe;
use crate::txn::steps::{Refs, RemoveWorktree};
use crate::txn::Meta;
use camino::{Utf8Path, Utf8PathBuf};
use gix::ObjectId;
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

use crate::cli::defs;
use crate::error::Result;
use crate::git::short_branch;
use crate::git::RefUpdate;
use crate::taskgraph::Status;
use crate::txn::keep::{self, Keep, Kept};
use crate::txn::{Plan, Step};
use crate::workflow::backup::{free_backup_name, snapshot_changes};
use crate::workflow::before_start;
use crate::workflow::context::{Context, Output};
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::render::plural;
use crate::workflow::report::Report;
use crate::workflow::select::ids_or_in_progress;
use crate::workflow::session::Session;
use crate::workflow::submodules;
use crate::workflow::worktrees::{task_worktree, worktree_changes};

/// One task about to be aborted, with what was found about it.
struct Target {
    id: String,
    branch: String,
    /// The branch tip (None: the branch is gone already).
    tip: Option<ObjectId>,
    worktree: Option<Utf8PathBuf>,
    commits: usize,
    /// Uncommitted or untracked changes (porcelain lines), not counting copied include files.
    changes: Vec<String>,
    /// Untracked files this tool copied in at start, unchanged.
    ours: Vec<String>,
    locked: bool,
    /// The worktree found at the task's path has something else checked out (this, shown).
    foreign: Option<String>,
    /// `assigned_to` names an existing branch git-parallel did not make for this task.
    not_ours: bool,
    /// Initialised submodules whose repositories go with the worktree.
    submodules: Vec<submodules::Submodule>,
    /// Their commits saved by --force: (backup ref, what was saved).
    sub_backups: Vec<(String, submodules::Saved)>,
    /// Set when --force saves the tip / the uncommitted changes (ref name, commit).
    backup: Option<String>,
    wip: Option<(String, ObjectId)>,
}

impl Target {
    /// A task whose branch `branch` is at `tip`, before its worktree is looked at.
    fn new(id: &str, branch: String, tip: Option<ObjectId>) -> Target {
        Target {
            id: id.to_string(),
            branch,
            tip,
            worktree: None,
            commits: 0,
            changes: Vec::new(),
            ours: Vec::new(),
            locked: false,
            foreign: None,
            not_ours: false,
            submodules: Vec::new(),
            sub_backups: Vec::new(),
            backup: None,
            wip: None,
        }
    }

    fn needs_force(&self) -> bool {
        self.commits > 0 || !self.changes.is_empty() || self.locked || !self.submodules.is_empty()
    }

    /// Its worktree as shown in messages (`?` when it has none).
    fn shown_worktree(&self, env: &Session) -> String {
        env.show(self.worktree.as_deref().unwrap_or(Utf8Path::new("?")))
    }
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

/// `git parallel skip ID`.
pub fn skip(ctx: &Context) -> Result<()> {
    drive(ctx, prepare_skip(ctx)?)
}

fn prepare(ctx: &Context) -> Result<Prepared<Aborted>> {
    let env = Session::load(ctx)?;
    let force = ctx.args.on(&defs::ABORT_FORCE);
    let idx = select(&env)?;
    if idx.is_empty() {
        return Ok(Prepared::nothing(Aborted::nothing(&env)));
    }
    let mut targets = inspect(&env, &idx)?;
    check(&env, &targets, force)?;
    let (plan, kept) = build_plan(&env, &mut targets, force, false)?;
    Ok(Prepared::new(plan, Aborted::new(&env, &targets, kept)))
}

fn prepare_skip(ctx: &Context) -> Result<Prepared<SkipReport>> {
    let env = Session::load(ctx)?;
    let task = crate::workflow::select::named_task(&env, "skip")?;
    if task.status.is_done() {
        return Err(crate::refused!(
            code = crate::error::Code::WrongStatus,
            help = "nothing was changed; 'git parallel undo' reverses the last operation",
            "cannot skip {}: its status is {} already",
            task.id,
            task.status
        ));
    }
    let Some(i) = env.tf.index_of(&task.id) else {
        return Err(crate::fatal!(
            "task {} vanished from the task file",
            task.id
        ));
    };
    let mut targets = inspect(&env, &[i])?;
    check(&env, &targets, true)?;
    let (plan, kept) = build_plan(&env, &mut targets, true, true)?;
    let mut aborted = Aborted::new(&env, &targets, kept);
    aborted.skip = true;
    let text = aborted.to_string();
    Ok(Prepared::new(
        plan,
        SkipReport {
            target: aborted.target,
            skipped: aborted.aborted,
            ignored_files: aborted.ignored_files,
            kept_lines: aborted.kept_lines,
            text,
        },
    ))
}

/// What `skip` did (`--json`: `target`, `skipped`, `ignored_files`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct SkipReport {
    /// The target branch the task file change is committed on.
    target: String,
    /// The task skipped (one), as `abort` reports a task: its branch, worktree, and the refs
    /// its work is saved as.
    skipped: Vec<AbortedTask>,
    /// The ignored files of its worktree, as in `abort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    ignored_files: Option<Vec<Kept>>,
    #[serde(skip)]
    kept_lines: Vec<String>,
    #[serde(skip)]
    text: String,
}

impl fmt::Display for SkipReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Report for SkipReport {
    fn json_notes(&self) -> Vec<String> {
        self.kept_lines.clone()
    }
}

/// The named tasks (each must be in progress), or every task in progress.
fn select(env: &Session) -> Result<Vec<usize>> {
    let tasks = &env.tf.graph.tasks;
    let selection = ids_or_in_progress(env, env.tf.path.as_str(), |i| {
        let task = &tasks[i];
        Ok((task.status != Status::InProgress).then(|| {
            format!(
                "{}: its status is {}, not in_progress; {}",
                task.id,
                task.status,
                crate::workflow::suggest::status_advice(task)
            )
        }))
    })?;
    if !selection.problems.is_empty() {
        return Err(crate::refused!(
            help = "see 'git parallel status' for the tasks in progress",
            "cannot abort; nothing was changed:\n  {}",
            selection.problems.join("\n  ")
        ));
    }
    Ok(selection.idx)
}

/// Looks at each task's branch and worktree.
fn inspect(env: &Session, idx: &[usize]) -> Result<Vec<Target>> {
    let copy = crate::workflow::worktrees::include_files(env)?;
    let mut out = Vec::new();
    for &i in idx {
        let t = &env.tf.graph.tasks[i];
        let branch = env.branch_of(t);
        let tip = env.ctx.repo.ref_id(&branch)?;
        let mut target = Target::new(&t.id, branch, tip);
        if tip.is_some() && !env.made_for(t, &target.branch)? {
            target.not_ours = true;
            out.push(target);
            continue;
        }
        if let Some(tip) = tip {
            target.commits = env.ctx.repo.count_between(env.target_tip, tip)?;
        }
        let wt = task_worktree(env, t)?;
        if let Some(w) = wt.as_ref().filter(|w| w.path.is_dir()) {
            (target.changes, target.ours) = worktree_changes(env, &w.path, &copy)?;
            target.submodules = submodules::find(&env.ctx.repo, &w.path)?;
        }
        target.foreign = wt.as_ref().and_then(|w| match &w.branch {
            Some(b) if *b == target.branch => None,
            Some(b) => Some(format!("branch {}", short_branch(b))),
            None => Some("a detached HEAD".to_string()),
        });
        target.locked = wt.as_ref().is_some_and(|w| w.locked);
        target.worktree = wt.map(|w| w.path);
        out.push(target);
    }
    Ok(out)
}

/// Every problem at once; with --force only those force cannot override remain.
fn check(env: &Session, targets: &[Target], force: bool) -> Result<()> {
    let mut problems = Vec::new();
    for t in targets {
        if t.not_ours {
            problems.push(not_ours_problem(env, t));
            continue;
        }
        problems.extend(place_problems(env, t));
        if !force {
            problems.extend(work_problems(env, t));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(crate::refused!(
        help = if force || !targets.iter().any(|t| !t.not_ours && t.needs_force()) {
            "nothing was changed".to_string()
        } else {
            "--force aborts them anyway: each branch tip is saved under refs/parallel/backup/<id>, \
             uncommitted changes under refs/parallel/backup/<id>-wip, and submodule commits found \
             nowhere else under refs/parallel/backup/<id>-sub-<path>"
                .to_string()
        },
        "cannot abort; nothing was changed:\n  {}",
        problems.join("\n  ")
    ))
}

/// A task whose `assigned_to` names a branch git-parallel did not make for it.
fn not_ours_problem(env: &Session, t: &Target) -> String {
    let expected = env
        .tf
        .task(&t.id)
        .map(|task| env.new_branch_name(task))
        .unwrap_or_default();
    format!(
        "{}: its assigned_to names the branch {}, which git-parallel did not create for it \
         (its branch would be {}); abort never deletes that branch or its worktree. \
         If {} should go back to pending, set assigned_to to {} or remove that line in {}, commit, and run abort again",
        t.id,
        short_branch(&t.branch),
        short_branch(&expected),
        t.id,
        short_branch(&expected),
        env.tf.path
    )
}

/// What even --force does not override: running inside the worktree, another checkout there.
fn place_problems(env: &Session, t: &Target) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(wt) = &t.worktree {
        if env.ctx.repo.current_worktree.as_deref() == Some(wt.as_path()) {
            problems.push(format!(
                "{}: you are inside its worktree {}; run the command from the main worktree",
                t.id,
                env.show(wt)
            ));
        }
    }
    if let (Some(wt), Some(what)) = (&t.worktree, &t.foreign) {
        problems.push(format!(
            "{}: its worktree {} has {what} checked out instead of {}; check the branch out there again, or remove the worktree yourself",
            t.id,
            env.show(wt),
            short_branch(&t.branch)
        ));
    }
    problems
}

/// The task's own work that only --force discards (after saving it).
fn work_problems(env: &Session, t: &Target) -> Vec<String> {
    let mut problems = Vec::new();
    if t.commits > 0 {
        problems.push(format!(
            "{}: branch {} has {} commit{} of its own",
            t.id,
            short_branch(&t.branch),
            t.commits,
            plural(t.commits)
        ));
    }
    if !t.changes.is_empty() {
        let shown: Vec<Cow<'_, str>> = t.changes.iter().take(5).map(|c| safe(c)).collect();
        let more = if t.changes.len() > shown.len() {
            ", …"
        } else {
            ""
        };
        problems.push(format!(
            "{}: worktree {} has uncommitted or untracked changes ({} file{}: {}{more})",
            t.id,
            t.shown_worktree(env),
            t.changes.len(),
            plural(t.changes.len()),
            shown.join(", "),
        ));
    }
    if !t.submodules.is_empty() {
        let paths: Vec<Cow<'_, str>> = t.submodules.iter().map(|s| safe(&s.path)).collect();
        problems.push(format!(
            "{}: worktree {} has initialised submodules ({}) whose repositories are inside it and would be removed with it",
            t.id,
            t.shown_worktree(env),
            paths.join(", ")
        ));
    }
    if t.locked {
        problems.push(format!(
            "{}: worktree {} is locked (git worktree unlock)",
            t.id,
            t.shown_worktree(env)
        ));
    }
    problems
}

/// The plan: backups (with --force), the worktrees (their ignored files kept), the branches,
/// the task file. Also what happens to the worktrees' ignored files.
fn build_plan(
    env: &Session,
    targets: &mut [Target],
    force: bool,
    skip: bool,
) -> Result<(Plan, Vec<Kept>)> {
    let mut steps = Vec::new();
    let backups = backups(env, targets, force)?;
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    let verb = if skip { "skip" } else { "abort" };
    let message = format!("chore({}): {verb} {}", env.product, ids.join(", "));
    if !backups.is_empty() {
        steps.push(Step::Refs(Refs {
            updates: backups,
            message: format!("git-parallel: backup before {message}"),
        }));
    }
    // Worktrees: saved changes noted (undoing the abort puts them back), ignored files kept.
    for t in targets.iter() {
        if let (Some(wt), Some((_, commit))) = (&t.worktree, &t.wip) {
            steps.push(Step::Keep(Keep::WipSaved {
                worktree: wt.clone(),
                commit: *commit,
            }));
        }
    }
    for t in targets.iter() {
        if let Some(wt) = &t.worktree {
            steps.push(Step::RemoveWorktree(RemoveWorktree {
                path: wt.clone(),
                branch: t.branch.clone(),
                // Copied include files alone do not count as changes.
                force: (force && t.needs_force()) || !t.ours.is_empty(),
                restore: Vec::new(),
                post_start: None,
            }));
        }
    }
    let include = crate::workflow::worktrees::include_files(env)?;
    let kept = keep::keep_ignored(&env.ctx.repo, &mut steps, &include, keep::BuildOutput::Keep)?;
    let deletes: Vec<RefUpdate> = targets
        .iter()
        .filter_map(|t| {
            t.tip.map(|tip| RefUpdate {
                name: t.branch.clone(),
                old: Some(tip),
                new: None,
            })
        })
        .collect();
    if !deletes.is_empty() {
        steps.push(Step::Refs(Refs {
            updates: deletes,
            message: format!("git-parallel: {message}"),
        }));
    }
    let no_commit = env.ctx.args.on(&defs::NO_COMMIT);
    let (file_steps, _) = if skip {
        let now = crate::time::now_iso();
        let mut edits = Vec::new();
        for id in &ids {
            edits.push(crate::taskgraph::Edit::status(*id, Status::Skipped));
            let files = match env.tf.task(id) {
                Some(task) => crate::workflow::outcome::branch_files(env, task)?,
                None => Vec::new(),
            };
            edits.push(crate::workflow::outcome::result_edit(
                id,
                false,
                "skipped (its work, if any, is kept under refs/parallel/backup/)",
                &files,
                env.ctx.metrics.get(*id),
            ));
        }
        edits.push(crate::taskgraph::Edit::metadata("updated_at", now.as_str()));
        env.task_file_steps(&edits, &message, no_commit)?
    } else {
        let text = before_start::reset_text(env, &ids, &crate::time::now_iso())?;
        env.task_file_text_steps(text, &message, no_commit)?
    };
    steps.extend(file_steps);
    let plan = Plan {
        command: verb.into(),
        summary: format!("{verb} {}", ids.join(", ")),
        steps,
        commit_point: None,
        meta: Meta {
            backups: Some(targets.iter().filter_map(|t| t.backup.clone()).collect()),
            ..Meta::tasks(ids.iter().copied())
        },
    };
    Ok((plan, kept))
}

/// With --force, for each task with work or a lock: the ref updates that save its submodule
/// commits, its branch tip and its uncommitted changes (recorded in the targets).
fn backups(env: &Session, targets: &mut [Target], force: bool) -> Result<Vec<RefUpdate>> {
    let mut backups = Vec::new();
    let mut taken = Vec::new();
    let mut save =
        |base: String, commit: gix::ObjectId, taken: &mut Vec<String>| -> Result<String> {
            let name = free_backup_name(env, &base, taken)?;
            backups.push(RefUpdate {
                name: name.clone(),
                old: None,
                new: Some(commit),
            });
            Ok(name)
        };
    for t in targets.iter_mut().filter(|t| force && t.needs_force()) {
        // Submodule commits that would go with the worktree: copied into this repository.
        for sub in &t.submodules {
            for saved in submodules::save(&env.ctx.repo, sub)? {
                let flat = saved.path.replace('/', "-");
                let base = format!("{}-sub-{flat}", t.id);
                let name = save(base, crate::git::oid(&saved.commit)?, &mut taken)?;
                t.sub_backups.push((name, saved));
            }
        }
        let Some(tip) = t.tip else { continue };
        t.backup = Some(save(t.id.clone(), tip, &mut taken)?);
        if let (Some(wt), false) = (&t.worktree, t.changes.is_empty()) {
            if let Some(commit) = snapshot_changes(env, wt, tip, &t.ours, &t.id)? {
                let name = save(format!("{}-wip", t.id), commit, &mut taken)?;
                t.wip = Some((name, commit));
            }
        }
    }
    Ok(backups)
}

/// What `abort` did (`--json`: `target`, `aborted`, `ignored_files`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Aborted {
    /// The target branch.
    target: String,
    /// The tasks aborted, in file order (the named tasks: in the order named); `[]` (exit 0)
    /// when no task is in progress.
    aborted: Vec<AbortedTask>,
    /// Per removed worktree that had ignored files: `worktree`, `dir` (where they were moved;
    /// `null` when `parallel.keepIgnored` is false and they were deleted), `files` (paths
    /// relative to the worktree; a wholly ignored directory is one entry ending in `/`). Absent
    /// when no task was in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    ignored_files: Option<Vec<Kept>>,
    /// The lines saying what happened to those ignored files.
    #[serde(skip)]
    kept_lines: Vec<String>,
    /// `git parallel abort`'s repository (its common directory), for the submodule hints.
    #[serde(skip)]
    common_dir: String,
    #[serde(skip)]
    out: Output,
    /// The text of `skip` (marked skipped, not back to pending).
    #[serde(skip)]
    skip: bool,
}

/// One aborted task.
#[derive(Serialize, schemars::JsonSchema)]
struct AbortedTask {
    /// The task id.
    id: String,
    /// The task's branch, deleted when `branch_deleted`.
    branch: String,
    /// `false` when the branch did not exist here (the task was only reset to `pending`).
    branch_deleted: bool,
    /// The worktree removed; `null` when it had none.
    #[schemars(with = "Option<String>")]
    worktree: Option<Utf8PathBuf>,
    /// Commits on the branch that are not on the target.
    commits: usize,
    /// With `--force`, when the task had commits, changes or a locked worktree: the ref its
    /// branch tip is saved as; else `null`.
    backup: Option<String>,
    /// With `--force`, when the worktree had uncommitted or untracked changes: the ref of a
    /// commit (on top of the branch tip) holding them; else `null`. `git parallel undo` puts
    /// them back into the worktree as uncommitted changes, and keeps this ref.
    wip: Option<String>,
    /// With `--force`, commits of initialised submodules whose repositories went with the
    /// worktree and that no remote-tracking ref holds, stored in this repository.
    submodule_backups: Vec<SubmoduleBackup>,
    /// The worktree as shown in the text.
    #[serde(skip)]
    worktree_shown: Option<String>,
}

/// A submodule commit saved by `abort --force`.
#[derive(Serialize, schemars::JsonSchema)]
struct SubmoduleBackup {
    /// The backup ref in this repository.
    #[serde(rename = "ref")]
    name: String,
    /// The submodule's path in the worktree.
    path: String,
    /// The commit saved.
    commit: String,
    /// What it was: `"HEAD"`, `"branch NAME"` or `"uncommitted changes"`.
    what: String,
}

impl Aborted {
    /// No task in progress: nothing to abort.
    fn nothing(env: &Session) -> Aborted {
        Aborted {
            target: short_branch(&env.target).to_string(),
            aborted: Vec::new(),
            ignored_files: None,
            kept_lines: Vec::new(),
            common_dir: String::new(),
            out: env.ctx.out,
            skip: false,
        }
    }

    fn new(env: &Session, targets: &[Target], kept: Vec<Kept>) -> Aborted {
        let aborted = targets
            .iter()
            .map(|t| AbortedTask {
                id: t.id.clone(),
                branch: short_branch(&t.branch).to_string(),
                branch_deleted: t.tip.is_some(),
                worktree: t.worktree.clone(),
                commits: t.commits,
                backup: t.backup.clone(),
                wip: t.wip.as_ref().map(|(name, _)| name.clone()),
                submodule_backups: t
                    .sub_backups
                    .iter()
                    .map(|(name, s)| SubmoduleBackup {
                        name: name.clone(),
                        path: s.path.clone(),
                        commit: s.commit.clone(),
                        what: s.what.clone(),
                    })
                    .collect(),
                worktree_shown: t.worktree.as_deref().map(|w| env.show(w)),
            })
            .collect();
        Aborted {
            target: short_branch(&env.target).to_string(),
            aborted,
            kept_lines: keep::kept_lines(&kept, |p| env.show(p)),
            ignored_files: Some(kept),
            common_dir: env.ctx.repo.common_dir.to_string(),
            out: env.ctx.out,
            skip: false,
        }
    }
}

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = &self.aborted;
        if tasks.is_empty() {
            return writeln!(f, "Nothing to abort: no task is in progress.");
        }
        let (verb, now) = if self.skip {
            ("Skipped", "marked skipped; its dependents may start")
        } else {
            ("Aborted", "back to pending")
        };
        writeln!(
            f,
            "{verb} {} task{} ({now}):",
            tasks.len(),
            plural(tasks.len())
        )?;
        let w_id = tasks.iter().map(|t| t.id.len()).max().unwrap_or(0);
        for t in tasks {
            let mut did = Vec::new();
            if t.branch_deleted {
                did.push(format!("deleted {}", t.branch));
            }
            if let Some(w) = &t.worktree_shown {
                did.push(format!("removed {w}"));
            }
            if did.is_empty() {
                did.push(format!(
                    "no branch here ({} does not exist); status reset",
                    t.branch
                ));
            }
            let id = self.out.paint("1", &format!("{:<w_id$}", t.id));
            writeln!(f, "  {id}  {}", did.join("  "))?;
        }
        for t in tasks {
            if let Some(b) = &t.backup {
                writeln!(
                    f,
                    "{}: its branch tip is saved as {b}; get it back with: git branch {} {b}",
                    t.id, t.branch
                )?;
            }
            if let Some(w) = &t.wip {
                writeln!(
                    f,
                    "{}: its uncommitted changes are saved as {w}; 'git parallel undo' puts them back, \
                     or restore them in a worktree of that branch with: git checkout {w} -- .",
                    t.id
                )?;
            }
        }
        for t in tasks {
            for s in &t.submodule_backups {
                writeln!(
                    f,
                    "{}: submodule {} ({}) commit {} is saved as {}; get it back in a checkout of that submodule with: git fetch {} {}",
                    t.id,
                    s.path,
                    s.what,
                    crate::txn::steps::shared::short(&s.commit),
                    s.name,
                    self.common_dir,
                    s.name
                )?;
            }
        }
        self.kept_lines.iter().try_for_each(|l| writeln!(f, "{l}"))
    }
}

impl Report for Aborted {
    fn json_notes(&self) -> Vec<String> {
        self.kept_lines.clone()
    }
}

//! `git parallel abort [ID…]`: remove the worktrees and branches of started tasks and set them
//! back to pending, the task file change committed on the target — one transaction.
//!
//! Without `--force` only tasks with no work of their own are aborted (no commits beyond the
//! branch's start, no uncommitted or untracked changes, an unlocked worktree); every problem is
//! listed at once and nothing changes. With `--force` each such branch tip is first saved under
//! `refs/parallel/backup/<id>` and uncommitted changes as a commit under
//! `refs/parallel/backup/<id>-wip`.
//!

use camino::{Utf8Path, Utf8PathBuf};
use gix::ObjectId;

use super::backup::{free_backup_name, snapshot_changes};
use super::common::{self, short_branch, Env};
use super::render::{plural, print_dry_run};
use super::submodules;
use super::worktrees::{task_worktree, worktree_changes};
use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::git::RefUpdate;
use crate::taskgraph::{Edit, Scalar, Status, Task};
use crate::txn::keep::{self, Keep, Kept};
use crate::txn::{self, Plan, Step};

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
    fn needs_force(&self) -> bool {
        self.commits > 0 || !self.changes.is_empty() || self.locked || !self.submodules.is_empty()
    }
}

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load(ctx)?;
    let force = ctx.args.on(&defs::ABORT_FORCE);
    let idx = select(&env)?;
    if idx.is_empty() {
        return nothing_to_abort(&env);
    }
    let mut targets = inspect(&env, &idx)?;
    check(&env, &targets, force)?;
    let (plan, kept) = build_plan(&env, &mut targets, force)?;
    if ctx.args.on(&defs::DRY_RUN) {
        print_dry_run(ctx, "abort", &plan);
        return Ok(());
    }
    txn::execute(&ctx.repo, plan)?;
    report(&env, &targets, &kept);
    Ok(())
}

/// The named tasks (each must be in progress), or every task in progress.
fn select(env: &Env) -> Result<Vec<usize>> {
    let ids = &env.ctx.args.positionals;
    let tasks = &env.tf.graph.tasks;
    if ids.is_empty() {
        return Ok((0..tasks.len())
            .filter(|&i| tasks[i].status == Status::InProgress)
            .collect());
    }
    let mut idx = Vec::new();
    let mut problems = Vec::new();
    for id in ids {
        match env.tf.index_of(id) {
            Some(i) if idx.contains(&i) => {}
            Some(i) if tasks[i].status == Status::InProgress => idx.push(i),
            Some(i) => problems.push(format!(
                "{id}: its status is {}, not in_progress; {}",
                tasks[i].status,
                common::status_advice(&tasks[i])
            )),
            None => problems.push(format!(
                "{id}: no such task in {}; {}",
                env.tf.path,
                common::unknown_id_hint(&env.tf, id)
            )),
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "see 'git parallel status' for the tasks in progress",
            "cannot abort; nothing was changed:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok(idx)
}

fn nothing_to_abort(env: &Env) -> Result<()> {
    if env.ctx.out.json {
        common::print_json(&common::json_envelope(
            "abort",
            serde_json::json!({ "target": short_branch(&env.target), "aborted": [] }),
        ));
    } else if !env.ctx.out.quiet {
        println!("Nothing to abort: no task is in progress.");
    }
    Ok(())
}

/// Looks at each task's branch and worktree.
fn inspect(env: &Env, idx: &[usize]) -> Result<Vec<Target>> {
    let copy = super::worktrees::include_files(env)?;
    let mut out = Vec::new();
    for &i in idx {
        let t = &env.tf.graph.tasks[i];
        let branch = env.branch_of(t);
        let tip = env.ctx.repo.ref_id(&branch)?;
        if tip.is_some() && !env.made_for(t, &branch)? {
            out.push(Target {
                id: t.id.clone(),
                foreign: None,
                not_ours: true,
                branch,
                tip,
                locked: false,
                worktree: None,
                commits: 0,
                changes: Vec::new(),
                ours: Vec::new(),
                submodules: Vec::new(),
                sub_backups: Vec::new(),
                backup: None,
                wip: None,
            });
            continue;
        }
        let commits = match tip {
            Some(tip) => env.ctx.repo.count_between(env.target_tip, tip)?,
            None => 0,
        };
        let wt = task_worktree(env, t)?;
        let (changes, ours) = match &wt {
            Some(w) if w.path.is_dir() => worktree_changes(env, &w.path, &copy)?,
            _ => (Vec::new(), Vec::new()),
        };
        let subs = match &wt {
            Some(w) if w.path.is_dir() => submodules::find(&env.ctx.repo, &w.path)?,
            _ => Vec::new(),
        };
        let foreign = wt.as_ref().and_then(|w| match &w.branch {
            Some(b) if *b == branch => None,
            Some(b) => Some(format!("branch {}", short_branch(b))),
            None => Some("a detached HEAD".to_string()),
        });
        out.push(Target {
            id: t.id.clone(),
            foreign,
            not_ours: false,
            branch,
            tip,
            locked: wt.as_ref().is_some_and(|w| w.locked),
            worktree: wt.map(|w| w.path),
            commits,
            changes,
            ours,
            submodules: subs,
            sub_backups: Vec::new(),
            backup: None,
            wip: None,
        });
    }
    Ok(out)
}

/// Every problem at once; with --force only those force cannot override remain.
fn check(env: &Env, targets: &[Target], force: bool) -> Result<()> {
    let mut problems = Vec::new();
    for t in targets {
        if t.not_ours {
            let task = env.tf.task(&t.id);
            let expected = task
                .map(|task| env.new_branch_name(task))
                .unwrap_or_default();
            problems.push(format!(
                "{}: its assigned_to names the branch {}, which git-parallel did not create for it \
                 (its branch would be {}); abort never deletes that branch or its worktree. \
                 If {} should go back to pending, set assigned_to to {} or remove that line in {}, commit, and run abort again",
                t.id,
                short_branch(&t.branch),
                short_branch(&expected),
                t.id,
                short_branch(&expected),
                env.tf.path
            ));
            continue;
        }
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
        if force {
            continue;
        }
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
            let shown: Vec<&str> = t.changes.iter().take(5).map(String::as_str).collect();
            problems.push(format!(
                "{}: worktree {} has uncommitted or untracked changes ({} file{}: {}{})",
                t.id,
                env.show(t.worktree.as_deref().unwrap_or(Utf8Path::new("?"))),
                t.changes.len(),
                plural(t.changes.len()),
                shown.join(", "),
                if t.changes.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        if !t.submodules.is_empty() {
            let paths: Vec<&str> = t.submodules.iter().map(|s| s.path.as_str()).collect();
            problems.push(format!(
                "{}: worktree {} has initialised submodules ({}) whose repositories are inside it and would be removed with it",
                t.id,
                env.show(t.worktree.as_deref().unwrap_or(Utf8Path::new("?"))),
                paths.join(", ")
            ));
        }
        if t.locked {
            problems.push(format!(
                "{}: worktree {} is locked (git worktree unlock)",
                t.id,
                env.show(t.worktree.as_deref().unwrap_or(Utf8Path::new("?")))
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
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
        ));
    }
    Ok(())
}

fn build_plan(env: &Env, targets: &mut [Target], force: bool) -> Result<(Plan, Vec<Kept>)> {
    let mut steps = Vec::new();
    // 1. Backups (forced tasks with work or a lock only).
    let mut backups = Vec::new();
    let mut taken = Vec::new();
    for t in targets.iter_mut() {
        if !(force && t.needs_force()) {
            continue;
        }
        // Submodule commits that would go with the worktree: copied into this repository.
        for sub in &t.submodules {
            for saved in submodules::save(&env.ctx.repo, sub)? {
                let flat = saved.path.replace('/', "-");
                let name = free_backup_name(env, &format!("{}-sub-{flat}", t.id), &mut taken)?;
                backups.push(RefUpdate {
                    name: name.clone(),
                    old: None,
                    new: Some(saved.commit.clone()),
                });
                t.sub_backups.push((name, saved));
            }
        }
        let Some(tip) = t.tip else { continue };
        let name = free_backup_name(env, &t.id, &mut taken)?;
        backups.push(RefUpdate {
            name: name.clone(),
            old: None,
            new: Some(tip.to_string()),
        });
        t.backup = Some(name);
        if let (Some(wt), false) = (&t.worktree, t.changes.is_empty()) {
            if let Some(commit) = snapshot_changes(env, wt, tip, &t.ours, &t.id)? {
                let name = free_backup_name(env, &format!("{}-wip", t.id), &mut taken)?;
                backups.push(RefUpdate {
                    name: name.clone(),
                    old: None,
                    new: Some(commit.to_string()),
                });
                t.wip = Some((name, commit));
            }
        }
    }
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    let message = format!("chore({}): abort {}", env.product, ids.join(", "));
    if !backups.is_empty() {
        steps.push(Step::Refs {
            updates: backups,
            message: format!("git-parallel: backup before {message}"),
        });
    }
    // 2. Worktrees: saved changes noted (undoing the abort puts them back), ignored files kept.
    for t in targets.iter() {
        if let (Some(wt), Some((_, commit))) = (&t.worktree, &t.wip) {
            steps.push(Step::Keep(Keep::WipSaved {
                worktree: wt.clone(),
                commit: commit.to_string(),
            }));
        }
    }
    for t in targets.iter() {
        if let Some(wt) = &t.worktree {
            steps.push(Step::RemoveWorktree {
                path: wt.clone(),
                branch: t.branch.clone(),
                // Copied include files alone do not count as changes.
                force: (force && t.needs_force()) || !t.ours.is_empty(),
                restore: Vec::new(),
                post_start: None,
            });
        }
    }
    let include = super::worktrees::include_files(env)?;
    let kept = keep::keep_ignored(&env.ctx.repo, &mut steps, &include)?;
    // 3. Branches.
    let deletes: Vec<RefUpdate> = targets
        .iter()
        .filter_map(|t| {
            t.tip.map(|tip| RefUpdate {
                name: t.branch.clone(),
                old: Some(tip.to_string()),
                new: None,
            })
        })
        .collect();
    if !deletes.is_empty() {
        steps.push(Step::Refs {
            updates: deletes,
            message: format!("git-parallel: {message}"),
        });
    }
    // 4. The task file.
    let now = crate::time::now_iso();
    let mut edits = Vec::new();
    let mut removals: Vec<(&str, &str)> = Vec::new();
    for t in targets.iter() {
        edits.push(Edit::task(&t.id, "status", "pending"));
        let before = before_start(env, &t.id);
        for key in START_KEYS {
            match before.as_ref().and_then(|m| m.get(key)) {
                // The key was there before start: its old value comes back.
                Some(old) => {
                    if let Some(v) = scalar_of(old) {
                        edits.push(Edit::task(&t.id, key, v));
                    }
                }
                // Start added it: it goes.
                None => removals.push((t.id.as_str(), key)),
            }
        }
    }
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let no_commit = env.ctx.args.on(&defs::NO_COMMIT);
    let text = env
        .tf
        .apply_edits(&edits)
        .map_err(crate::error::Error::Refused)?;
    let removed = crate::taskgraph::TaskFile::parse(&env.tf.path, text)
        .and_then(|tf| tf.remove_task_keys(&removals));
    let text = match removed {
        Ok(text) => text,
        // A line that cannot be cut out cleanly (a flow mapping, …) is cleared instead.
        Err(_) => {
            for (id, key) in &removals {
                if env.tf.task(id).is_some_and(|t| has_key(t, key)) {
                    edits.push(Edit::task(*id, *key, Scalar::Null));
                }
            }
            env.tf
                .apply_edits(&edits)
                .map_err(crate::error::Error::Refused)?
        }
    };
    let (file_steps, _) = env.task_file_text_steps(text, &message, no_commit)?;
    steps.extend(file_steps);
    let plan = Plan {
        command: "abort".into(),
        summary: format!("abort {}", ids.join(", ")),
        steps,
        commit_point: None,
        meta: serde_json::json!({
            "tasks": ids,
            "backups": targets.iter().filter_map(|t| t.backup.clone()).collect::<Vec<_>>(),
        }),
    };
    Ok((plan, kept))
}

/// The keys `start` (and `retry`) write into a task; abort puts them back as they were.
const START_KEYS: [&str; 2] = ["started_at", "assigned_to"];

/// Whether the task has a value for one of [`START_KEYS`].
fn has_key(task: &Task, key: &str) -> bool {
    match key {
        "started_at" => task.started_at.is_some(),
        _ => task.assigned_to.is_some(),
    }
}

/// The task's entry as it was before the `start` that started it (the newest one not undone
/// in the operation log), None when the log no longer has that start.
fn before_start(env: &Env, id: &str) -> Option<serde_yaml::Mapping> {
    let entries = txn::oplog::read(&txn::state_dir(&env.ctx.repo)).ok()?;
    let undone: Vec<&str> = entries.iter().filter_map(|e| e.undoes.as_deref()).collect();
    let entry = entries.iter().rev().find(|e| {
        e.command == "start"
            && e.undoes.is_none()
            && !undone.contains(&e.id.as_str())
            && e.meta["tasks"]
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(id)))
    })?;
    // The task file as start found it: the old text it wrote over (--no-commit), else the
    // file in the target's commit before start's commit.
    let text = entry.steps.iter().find_map(|s| match s {
        Step::WriteFile { path, old, .. } if *path == env.task_path => Some(old.clone()),
        Step::Refs { updates, .. } => {
            let old = updates
                .iter()
                .find(|u| u.name == env.target)?
                .old
                .as_deref()?;
            let old = ObjectId::from_hex(old.as_bytes()).ok()?;
            let bytes = env.ctx.repo.file_at(old, env.task_rel.as_deref()?).ok()??;
            String::from_utf8(bytes).ok()
        }
        _ => None,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let doc: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    doc.get("tasks")?
        .as_sequence()?
        .iter()
        .find(|t| t.get("id").and_then(serde_yaml::Value::as_str) == Some(id))?
        .as_mapping()
        .cloned()
}

/// A task file value as an edit's scalar (None for what an edit cannot write back).
fn scalar_of(v: &serde_yaml::Value) -> Option<Scalar> {
    match v {
        serde_yaml::Value::Null => Some(Scalar::Null),
        serde_yaml::Value::String(s) => Some(Scalar::Str(s.clone())),
        serde_yaml::Value::Number(n) => n.as_i64().map(Scalar::Int),
        _ => None,
    }
}

fn report(env: &Env, targets: &[Target], kept: &[Kept]) {
    let out = &env.ctx.out;
    if out.json {
        let tasks: Vec<serde_json::Value> = targets
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "branch": short_branch(&t.branch),
                    "branch_deleted": t.tip.is_some(),
                    "worktree": t.worktree,
                    "commits": t.commits,
                    "backup": t.backup,
                    "wip": t.wip.as_ref().map(|(name, _)| name),
                    "submodule_backups": t.sub_backups.iter().map(|(name, s)| serde_json::json!({
                        "ref": name, "path": s.path, "commit": s.commit, "what": s.what,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        common::print_json(&common::json_envelope(
            "abort",
            serde_json::json!({
                "target": short_branch(&env.target),
                "aborted": tasks,
                "ignored_files": kept,
            }),
        ));
        return;
    }
    if out.quiet {
        return;
    }
    println!(
        "Aborted {} task{} (back to pending):",
        targets.len(),
        plural(targets.len())
    );
    let w_id = targets.iter().map(|t| t.id.len()).max().unwrap_or(0);
    for t in targets {
        let mut did = Vec::new();
        if t.tip.is_some() {
            did.push(format!("deleted {}", short_branch(&t.branch)));
        }
        if let Some(w) = &t.worktree {
            did.push(format!("removed {}", env.show(w)));
        }
        if did.is_empty() {
            did.push(format!(
                "no branch here ({} does not exist); status reset",
                short_branch(&t.branch)
            ));
        }
        println!(
            "  {}  {}",
            out.paint("1", &format!("{:<w_id$}", t.id)),
            did.join("  ")
        );
    }
    for t in targets {
        if let Some(b) = &t.backup {
            println!(
                "{}: its branch tip is saved as {b}; get it back with: git branch {} {b}",
                t.id,
                short_branch(&t.branch)
            );
        }
        if let Some((w, _)) = &t.wip {
            println!(
                "{}: its uncommitted changes are saved as {w}; 'git parallel undo' puts them back, \
                 or restore them in a worktree of that branch with: git checkout {w} -- .",
                t.id
            );
        }
    }
    for t in targets {
        for (name, saved) in &t.sub_backups {
            println!(
                "{}: submodule {} ({}) commit {} is saved as {name}; get it back in a checkout of that submodule with: git fetch {} {name}",
                t.id,
                saved.path,
                saved.what,
                crate::txn::step::short(&saved.commit),
                env.ctx.repo.common_dir
            );
        }
    }
    keep::print_kept(kept, out, |p| env.show(p));
}

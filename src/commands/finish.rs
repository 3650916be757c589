//! `git parallel finish [ID…]`: merge every finished task branch into the target in memory,
//! test the result, advance the target in one compare-and-swap step, mark the tasks completed,
//! then remove their worktrees and branches — as one transaction.

use camino::Utf8PathBuf;
use gix::ObjectId;

use super::common::{self, short_branch, Env};
use crate::cli::defs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::git::{Merge, RefUpdate};
use crate::taskgraph::{schedule, Edit, Status, Task, TaskFile};
use crate::txn::{self, Plan, Step};

/// A task whose branch is to be merged.
struct Candidate {
    idx: usize,
    id: String,
    branch: String,
    tip: ObjectId,
    commits: usize,
    worktree: Option<Utf8PathBuf>,
    files: Vec<String>,
}

/// An in-progress task that `finish` with no ids leaves alone, and why.
struct Skipped {
    id: String,
    reason: String,
}

/// The in-memory result of merging the candidates.
struct Merged {
    tip: ObjectId,
    merged: Vec<(usize, ObjectId)>,
    conflicts: Vec<(usize, Vec<String>)>,
    /// The last clean merge's parents and message, to rewrite it with the status change folded
    /// in (`parallel.foldStatus`).
    last: Option<([ObjectId; 2], String)>,
}

/// Whether finish folds the task file's status change into its last merge commit instead of
/// a separate `chore(...)` commit (`parallel.foldStatus`, default false).
fn fold_status(env: &Env) -> bool {
    matches!(
        env.ctx
            .repo
            .config("parallel.foldStatus")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Some("true" | "yes" | "on" | "1")
    )
}

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load(ctx)?;
    let (candidates, skipped) = select(&env)?;
    if !ctx.out.quiet && !ctx.out.json {
        for s in &skipped {
            eprintln!("note: {}", s.reason);
        }
    }
    if candidates.is_empty() {
        if ctx.out.json {
            common::print_json(&common::json_envelope(
                "finish",
                serde_json::json!({ "merged": [], "skipped": skipped_json(&skipped) }),
            ));
        } else if !ctx.out.quiet {
            println!("Nothing to finish: no in-progress task has commits of its own.");
        }
        return Ok(());
    }
    check_preconditions(&env, &candidates)?;
    check_boundaries(&env, &candidates)?;
    let merged = merge_all(&env, &candidates)?;
    if !merged.conflicts.is_empty() && (!ctx.args.on(&defs::PARTIAL) || merged.merged.is_empty()) {
        return Err(report_conflicts(&env, &candidates, &merged));
    }
    let (mut plan, final_tip) = build_plan(&env, &candidates, &merged)?;
    if env.target_checked_out {
        txn::keep::check_main_overwrites(
            &ctx.repo,
            &env.target_tip.to_string(),
            &final_tip.to_string(),
        )?;
    }
    let kept = txn::keep::keep_ignored(&ctx.repo, &mut plan.steps, &[])?;
    if ctx.args.on(&defs::DRY_RUN) {
        if ctx.out.json {
            common::print_json(&common::json_envelope(
                "finish",
                serde_json::json!({ "dry_run": true, "plan": plan }),
            ));
        } else {
            crate::output::print_str(&plan.to_string());
        }
        return Ok(());
    }
    txn::execute(&ctx.repo, plan)?;
    report(&env, &candidates, &merged, final_tip, &skipped);
    txn::keep::print_kept(&kept, &ctx.out, |p| env.show(p));
    Ok(())
}

fn skipped_json(skipped: &[Skipped]) -> serde_json::Value {
    serde_json::Value::Array(
        skipped
            .iter()
            .map(|s| serde_json::json!({ "id": s.id, "reason": s.reason }))
            .collect(),
    )
}

/// The tasks to merge; with no ids also the in-progress tasks left alone, each with why.
fn select(env: &Env) -> Result<(Vec<Candidate>, Vec<Skipped>)> {
    let graph = &env.tf.graph;
    let ids = &env.ctx.args.positionals;
    let mut idx = Vec::new();
    let mut problems = Vec::new();
    if ids.is_empty() {
        idx.extend((0..graph.tasks.len()).filter(|&i| graph.tasks[i].status == Status::InProgress));
    } else {
        for id in ids {
            match env.tf.index_of(id) {
                Some(i) if graph.tasks[i].status == Status::InProgress => {
                    if !idx.contains(&i) {
                        idx.push(i)
                    }
                }
                Some(i) => problems.push(format!(
                    "{id}: status is {}, not in_progress",
                    graph.tasks[i].status
                )),
                None => problems.push(format!(
                    "{id}: no such task in {}; {}",
                    env.tf.path,
                    super::common::unknown_id_hint(&env.tf, id)
                )),
            }
        }
    }
    idx.sort();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for i in idx {
        let task = &graph.tasks[i];
        let branch = env.branch_of(task);
        let Some(tip) = env.ctx.repo.ref_id(&branch)? else {
            let why = super::worktrees::elsewhere_note(env, task);
            if ids.is_empty() {
                skipped.push(Skipped {
                    id: task.id.clone(),
                    reason: format!(
                        "{why}; skipped (to reset it: git parallel abort {})",
                        task.id
                    ),
                });
            } else {
                problems.push(format!(
                    "{why}; finish it where its branch is, or reset it here: git parallel abort {}",
                    task.id
                ));
            }
            continue;
        };
        let base = env
            .ctx
            .repo
            .merge_base(env.target_tip, tip)?
            .unwrap_or(env.target_tip);
        let commits = env.ctx.repo.count_between(base, tip)?;
        let worktree = env.worktree_of(task)?.map(|w| w.path);
        // A task that produces no files (a checkpoint, a review) is finished by naming it:
        // completed without a merge, its clean worktree and branch removed.
        let nothing_to_produce = task.checkpoint || task.produces.is_empty();
        let by_name = commits == 0
            && !ids.is_empty()
            && nothing_to_produce
            && worktree_clean(env, worktree.as_deref())?;
        if commits == 0 && !by_name {
            let mut why = no_commits_reason(env, task, &branch, worktree.as_deref())?;
            if nothing_to_produce && ids.is_empty() {
                why.push_str(&format!(
                    "; it produces no files: 'git parallel finish {}' completes it without a merge",
                    task.id
                ));
            }
            if ids.is_empty() {
                skipped.push(Skipped {
                    id: task.id.clone(),
                    reason: format!("{why}; skipped"),
                });
            } else {
                problems.push(why);
            }
            continue;
        }
        let files = if commits == 0 {
            Vec::new()
        } else {
            env.ctx.repo.changed_paths(base, tip)?
        };
        out.push(Candidate {
            idx: i,
            id: task.id.clone(),
            branch,
            tip,
            commits,
            worktree,
            files,
        });
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "see 'git parallel status'",
            "cannot finish; nothing was changed:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok((out, skipped))
}

/// Whether a task's worktree (if any) has nothing uncommitted or untracked.
fn worktree_clean(env: &Env, worktree: Option<&camino::Utf8Path>) -> Result<bool> {
    Ok(match worktree {
        Some(wt) if wt.is_dir() => env.ctx.repo.status_lines(wt)?.is_empty(),
        _ => true,
    })
}

/// Why a task whose branch has no commits of its own cannot be finished: nothing done yet, or
/// work in its worktree that is not committed.
fn no_commits_reason(
    env: &Env,
    task: &Task,
    branch: &str,
    worktree: Option<&camino::Utf8Path>,
) -> Result<String> {
    let dirty = match worktree {
        Some(wt) if wt.is_dir() => env.ctx.repo.status_lines(wt)?.len(),
        _ => 0,
    };
    Ok(match worktree {
        Some(wt) if dirty > 0 => format!(
            "{}: branch {} has no commits of its own yet, but {} has {dirty} uncommitted change{} (commit in that worktree, then finish again)",
            task.id,
            short_branch(branch),
            env.show(wt),
            if dirty == 1 { "" } else { "s" },
        ),
        _ => format!(
            "{}: branch {} has no commits of its own yet",
            task.id,
            short_branch(branch)
        ),
    })
}

/// Everything that must hold before anything changes, all failures listed at once.
fn check_preconditions(env: &Env, candidates: &[Candidate]) -> Result<()> {
    let mut problems = Vec::new();
    if !env.target_checked_out {
        problems.push(format!(
            "the target branch {} is not checked out in the main worktree {} (git switch {})",
            short_branch(&env.target),
            env.main,
            short_branch(&env.target)
        ));
    } else {
        let dirty: Vec<String> = env.ctx.repo.tracked_changes(&env.main)?;
        if !dirty.is_empty() {
            problems.push(format!(
                "the main worktree has uncommitted changes (commit or stash them):\n      {}",
                dirty.join("\n      ")
            ));
            // After `start --no-commit` (or `abort`/`fail --no-commit`): stashing would lose the
            // task states; committing is the way on.
            if let Some(rel) = env
                .task_rel
                .as_deref()
                .filter(|rel| dirty.iter().any(|l| l.get(3..) == Some(*rel)))
            {
                problems.push(format!(
                    "the task file is among them; commit it (do not stash it: it records the tasks' states):\n      git commit -m 'chore: update the task file' -- {}",
                    crate::taskgraph::display::shell_quote(rel)
                ));
            }
        }
    }
    let worktrees = env.ctx.repo.worktrees()?;
    let keep = env.ctx.args.on(&defs::KEEP);
    let with_worktree: Vec<(&Candidate, &Utf8PathBuf)> = candidates
        .iter()
        .filter_map(|c| c.worktree.as_ref().map(|w| (c, w)))
        .collect();
    let paths: Vec<&camino::Utf8Path> = with_worktree.iter().map(|(_, w)| w.as_path()).collect();
    let statuses = env.ctx.repo.status_many(&paths);
    for ((c, wt), lines) in with_worktree.into_iter().zip(statuses) {
        if !keep && env.ctx.repo.current_worktree.as_deref() == Some(wt.as_path()) {
            problems.push(format!(
                "{}: you are inside its worktree, which finish removes (cd {} first, or pass --keep)",
                c.id, env.main
            ));
        }
        let lines = lines?;
        if !lines.is_empty() {
            problems.push(format!(
                "{}: {} has uncommitted or untracked changes (commit or stash them):\n      {}",
                c.id,
                env.show(wt),
                lines.join("\n      ")
            ));
        }
        if worktrees.iter().any(|w| &w.path == wt && w.locked) {
            problems.push(format!(
                "{}: worktree {} is locked (git worktree unlock {})",
                c.id,
                env.show(wt),
                wt
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "fix these, then run 'git parallel finish' again",
            "cannot finish; nothing was changed:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok(())
}

/// Files each branch changed must lie inside its task's paths; overlaps are reported.
fn check_boundaries(env: &Env, candidates: &[Candidate]) -> Result<()> {
    let warn_only = env.ctx.args.on(&defs::ALLOW_OUTSIDE)
        || env
            .ctx
            .repo
            .config("parallel.boundaries")
            .is_some_and(|v| v.eq_ignore_ascii_case("warn"));
    let mut outside = Vec::new();
    for c in candidates {
        let task = &env.tf.graph.tasks[c.idx];
        let allowed: Vec<&str> = task.paths().collect();
        for f in &c.files {
            let inside = allowed.iter().any(|p| schedule::path_contains(p, f))
                || env.task_rel.as_deref() == Some(f.as_str());
            if !inside {
                outside.push(format!(
                    "{}: {f} is outside its produces/shared_files paths",
                    c.id
                ));
            }
        }
    }
    if !env.ctx.out.quiet && !env.ctx.out.json {
        for (n, a) in candidates.iter().enumerate() {
            for b in &candidates[n + 1..] {
                let shared: Vec<&String> = a.files.iter().filter(|f| b.files.contains(f)).collect();
                for f in shared {
                    eprintln!("note: {} and {} both changed {f}", a.id, b.id);
                }
            }
        }
    }
    if outside.is_empty() {
        return Ok(());
    }
    if warn_only {
        if !env.ctx.out.quiet {
            for o in &outside {
                eprintln!("warning: {o}");
            }
        }
        return Ok(());
    }
    Err(crate::refused!(
        help = "move the changes into the task's paths, add the paths to produces/shared_files, or pass --allow-outside (parallel.boundaries = warn)",
        "cannot finish; files changed outside the tasks' boundaries:\n  {}",
        outside.join("\n  ")
    ))
}

fn merge_type(task: &Task) -> &'static str {
    match task.role().as_str() {
        "devops" => "ci",
        "technical-writer" => "docs",
        "qa" => "test",
        _ => "feat",
    }
}

fn merge_message(env: &Env, task: &Task, branch: &str) -> String {
    let template = env
        .ctx
        .repo
        .config("parallel.mergeMessage")
        .unwrap_or_else(|| "{type}({product}): {name} ({id})".into());
    template
        .replace("{type}", merge_type(task))
        .replace("{product}", &env.product)
        .replace(
            "{name}",
            &crate::taskgraph::display::safe(&task.name).to_lowercase(),
        )
        .replace("{id}", &task.id)
        .replace("{branch}", short_branch(branch))
}

/// Merges the candidates one after the other onto the target, writing only objects.
fn merge_all(env: &Env, candidates: &[Candidate]) -> Result<Merged> {
    let mut acc = env.target_tip;
    let mut merged = Vec::new();
    let mut conflicts = Vec::new();
    let mut last = None;
    let progress = crate::progress::Progress::new(candidates.len(), "finish");
    for c in candidates {
        progress.show(&format!("merge {}", c.id));
        let task = &env.tf.graph.tasks[c.idx];
        if c.commits == 0 {
            // Nothing of its own to merge (a task that produces no files): only completed.
            merged.push((c.idx, acc));
            continue;
        }
        match env.ctx.repo.merge_in_memory(acc, c.tip)? {
            Merge::Clean(tree) => {
                let message = merge_message(env, task, &c.branch);
                let commit = env.ctx.repo.commit_tree(tree, &[acc, c.tip], &message)?;
                last = Some(([acc, c.tip], message));
                acc = commit;
                merged.push((c.idx, commit));
            }
            Merge::Conflicts(files) => conflicts.push((c.idx, files)),
        }
    }
    Ok(Merged {
        tip: acc,
        merged,
        conflicts,
        last,
    })
}

/// How to reproduce a candidate's conflict in its worktree. It conflicts with the target, with
/// one of the tasks merged before it, or only with several of them together: the command names
/// what it conflicts with so that running it there produces the same conflict.
fn reproduce_hint(
    env: &Env,
    candidates: &[Candidate],
    merged: &Merged,
    c: &Candidate,
    wt: &str,
) -> String {
    let target = short_branch(&env.target);
    let conflicts_with = |ours: ObjectId| {
        matches!(
            env.ctx.repo.merge_in_memory(ours, c.tip),
            Ok(Merge::Conflicts(_))
        )
    };
    if merged.merged.is_empty() || conflicts_with(env.target_tip) {
        return format!("  reproduce and resolve it there: git -C {wt} merge {target}");
    }
    let earlier: Vec<&Candidate> = merged
        .merged
        .iter()
        .filter_map(|(i, _)| candidates.iter().find(|e| e.idx == *i))
        .collect();
    if let Some(e) = earlier.iter().find(|e| conflicts_with(e.tip)) {
        return format!(
            "  it conflicts with {} (merged before it); reproduce and resolve it there: git -C {wt} merge {}",
            e.id,
            short_branch(&e.branch)
        );
    }
    let ids: Vec<&str> = earlier.iter().map(|e| e.id.as_str()).collect();
    let chain: Vec<String> = std::iter::once(target)
        .chain(earlier.iter().map(|e| short_branch(&e.branch)))
        .map(|b| format!("git -C {wt} merge {b}"))
        .collect();
    format!(
        "  it conflicts with {} together (merged before it); reproduce and resolve it there: {}",
        ids.join(", "),
        chain.join(" && ")
    )
}

fn report_conflicts(env: &Env, candidates: &[Candidate], merged: &Merged) -> Error {
    let mut lines = Vec::new();
    for (idx, files) in &merged.conflicts {
        let Some(c) = candidates.iter().find(|c| c.idx == *idx) else {
            continue;
        };
        lines.push(format!(
            "{} ({}) conflicts in:",
            c.id,
            short_branch(&c.branch)
        ));
        for f in files {
            lines.push(format!("    {f}"));
        }
        let wt = c
            .worktree
            .as_ref()
            .map(|w| w.to_string())
            .unwrap_or_else(|| "<worktree>".into());
        lines.push(reproduce_hint(env, candidates, merged, c, &wt));
    }
    let merged_before = merged.merged.len();
    if env.ctx.out.json {
        let conflicts: Vec<serde_json::Value> = merged
            .conflicts
            .iter()
            .map(|(idx, files)| {
                serde_json::json!({ "id": env.tf.graph.tasks[*idx].id, "files": files })
            })
            .collect();
        common::print_json(&common::json_envelope(
            "finish",
            serde_json::json!({ "merged": [], "conflicts": conflicts }),
        ));
    }
    let help = if merged_before > 0 {
        let ids = |v: Vec<usize>| -> String {
            v.into_iter()
                .map(|i| env.tf.graph.tasks[i].id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "nothing was changed; resolve the conflicts in the task worktrees (or pass --partial to merge the others: {} now, leaving {} running)",
            ids(merged.merged.iter().map(|(i, _)| *i).collect()),
            ids(merged.conflicts.iter().map(|(i, _)| *i).collect())
        )
    } else {
        "nothing was changed; resolve the conflicts in the task worktrees, commit, and finish again"
            .to_string()
    };
    Error::Refused(miette::miette!(
        help = help,
        "merge conflicts:\n  {}",
        lines.join("\n  ")
    ))
}

fn backup_name(env: &Env, id: &str, taken: &[String]) -> Result<String> {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("refs/parallel/backup/{id}")
        } else {
            format!("refs/parallel/backup/{id}-{n}")
        };
        if !taken.contains(&name) && env.ctx.repo.ref_id(&name)?.is_none() {
            return Ok(name);
        }
        n += 1;
    }
}

fn build_plan(env: &Env, candidates: &[Candidate], merged: &Merged) -> Result<(Plan, ObjectId)> {
    let now = crate::time::now_iso();
    let done: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| merged.merged.iter().any(|(i, _)| *i == c.idx))
        .collect();
    let ids: Vec<&str> = done.iter().map(|c| c.id.as_str()).collect();
    let message = format!("chore({}): complete {}", env.product, ids.join(", "));
    // The status commit is made on the merged result, whose task file may have changed.
    let mut final_tip = merged.tip;
    if let Some(rel) = &env.task_rel {
        let text = env
            .ctx
            .repo
            .file_at(merged.tip, rel)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| env.tf.source.clone());
        let tf = TaskFile::parse(&env.tf.path, text).map_err(Error::Refused)?;
        let mut edits = Vec::new();
        for id in &ids {
            edits.push(Edit::task(*id, "status", "completed"));
            edits.push(Edit::task(*id, "completed_at", now.as_str()));
        }
        edits.push(Edit::metadata("updated_at", now.as_str()));
        let new_text = tf.apply_edits(&edits).map_err(Error::Refused)?;
        final_tip = match &merged.last {
            // The last merge commit again, its tree with the status change: one commit per task.
            Some((parents, last_message)) if fold_status(env) => {
                let tree = env
                    .ctx
                    .repo
                    .tree_with_file(merged.tip, rel, new_text.as_bytes())?;
                env.ctx.repo.commit_tree(tree, parents, last_message)?
            }
            _ => env
                .ctx
                .repo
                .commit_file_change(merged.tip, rel, new_text.as_bytes(), &message)?,
        };
    }
    let mut steps = Vec::new();
    if let Some(cmd) = env.ctx.flag_or_config(&defs::TEST) {
        let dir = crate::txn::step::test_dir()?;
        steps.push(Step::TestGate {
            commit: final_tip.to_string(),
            command: cmd,
            dir,
        });
    }
    let keep = env.ctx.args.on(&defs::KEEP);
    let mut updates = vec![RefUpdate {
        name: env.target.clone(),
        old: Some(env.target_tip.to_string()),
        new: Some(final_tip.to_string()),
    }];
    // The task branches must still be where they were merged from when the target moves: a
    // commit added meanwhile (e.g. during the test run) would otherwise be left out of the
    // merge while its task is marked completed. Checked in the same atomic update.
    for c in &done {
        updates.push(RefUpdate {
            name: c.branch.clone(),
            old: Some(c.tip.to_string()),
            new: Some(c.tip.to_string()),
        });
    }
    let mut backups = Vec::new();
    if !keep {
        for c in &done {
            let name = backup_name(env, &c.id, &backups)?;
            backups.push(name.clone());
            updates.push(RefUpdate {
                name,
                old: None,
                new: Some(c.tip.to_string()),
            });
        }
    }
    steps.push(Step::Refs {
        updates,
        message: format!("git-parallel: finish {}", ids.join(", ")),
    });
    steps.push(Step::SyncMain {
        from: env.target_tip.to_string(),
        to: final_tip.to_string(),
        branch: Some(env.target.clone()),
    });
    let commit_point = Some(steps.len() - 1);
    if !keep {
        // What `undo` needs to make a removed worktree ready again, as start did.
        let restore = super::worktrees::include_files(env)?;
        let post_start = env.ctx.repo.config("parallel.postStart");
        for c in &done {
            if let Some(wt) = &c.worktree {
                steps.push(Step::RemoveWorktree {
                    path: wt.clone(),
                    branch: c.branch.clone(),
                    force: false,
                    restore: restore.clone(),
                    post_start: post_start.clone(),
                });
            }
        }
        steps.push(Step::Refs {
            updates: done
                .iter()
                .map(|c| RefUpdate {
                    name: c.branch.clone(),
                    old: Some(c.tip.to_string()),
                    new: None,
                })
                .collect(),
            message: format!("git-parallel: finish {}", ids.join(", ")),
        });
    }
    let plan = Plan {
        command: "finish".into(),
        summary: format!("finish {}", ids.join(", ")),
        steps,
        commit_point,
        meta: serde_json::json!({ "tasks": ids, "backups": backups }),
    };
    Ok((plan, final_tip))
}

fn report(
    env: &Env,
    candidates: &[Candidate],
    merged: &Merged,
    final_tip: ObjectId,
    skipped: &[Skipped],
) {
    let out = &env.ctx.out;
    let keep = env.ctx.args.on(&defs::KEEP);
    let done: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| merged.merged.iter().any(|(i, _)| *i == c.idx))
        .collect();
    let left: Vec<&str> = merged
        .conflicts
        .iter()
        .map(|(i, _)| env.tf.graph.tasks[*i].id.as_str())
        .collect();
    if out.json {
        let tasks: Vec<serde_json::Value> = done
            .iter()
            .map(|c| {
                let merge = merged
                    .merged
                    .iter()
                    .find(|(i, _)| *i == c.idx)
                    .map(|(_, m)| m.to_string());
                serde_json::json!({
                    "id": c.id,
                    "branch": short_branch(&c.branch),
                    "commits": c.commits,
                    "files_changed": c.files.len(),
                    "merge_commit": merge,
                    "worktree_removed": !keep && c.worktree.is_some(),
                    "branch_deleted": !keep,
                })
            })
            .collect();
        let conflicts: Vec<serde_json::Value> = merged
            .conflicts
            .iter()
            .map(
                |(i, files)| serde_json::json!({ "id": env.tf.graph.tasks[*i].id, "files": files }),
            )
            .collect();
        common::print_json(&common::json_envelope(
            "finish",
            serde_json::json!({
                "target": short_branch(&env.target),
                "old_tip": env.target_tip.to_string(),
                "new_tip": final_tip.to_string(),
                "tested": env.ctx.flag_or_config(&defs::TEST),
                "merged": tasks,
                "conflicts": conflicts,
                "skipped": skipped_json(skipped),
            }),
        ));
        return;
    }
    if out.quiet {
        return;
    }
    println!(
        "Merged {} task{} into {}:",
        done.len(),
        if done.len() == 1 { "" } else { "s" },
        short_branch(&env.target)
    );
    let w_id = done.iter().map(|c| c.id.chars().count()).max().unwrap_or(0);
    let w_br = done
        .iter()
        .map(|c| short_branch(&c.branch).chars().count())
        .max()
        .unwrap_or(0);
    for c in &done {
        if c.commits == 0 {
            println!(
                "  {}  {:<w_br$}  nothing to merge (produces no files): completed",
                out.paint("1", &format!("{:<w_id$}", c.id)),
                short_branch(&c.branch),
            );
            continue;
        }
        println!(
            "  {}  {:<w_br$}  {} commit{}, {} file{} changed",
            out.paint("1", &format!("{:<w_id$}", c.id)),
            short_branch(&c.branch),
            c.commits,
            if c.commits == 1 { "" } else { "s" },
            c.files.len(),
            if c.files.len() == 1 { "" } else { "s" },
        );
    }
    if let Some(t) = env.ctx.flag_or_config(&defs::TEST) {
        println!("Test `{t}` passed on the merged result.");
    }
    println!(
        "{} is now at {} (was {}).",
        short_branch(&env.target),
        crate::txn::step::short(&final_tip.to_string()),
        crate::txn::step::short(&env.target_tip.to_string())
    );
    if !keep {
        println!("Removed their worktrees and branches (tips kept under refs/parallel/backup/; 'git parallel undo' reverses this).");
    }
    if !left.is_empty() {
        println!("Left running (conflicts): {}", left.join(", "));
    }
}

//! `git parallel finish [ID…]`: merge every finished task branch into the target in memory,
//! test the result, advance the target in one compare-and-swap step, mark the tasks completed,
//! then remove their worktrees and branches — as one transaction.
//!
//! Which branches are merged is src/commands/mergeable.rs; merging them in memory, and the
//! refusal on conflicts, src/commands/merge.rs.

use crate::taskgraph::display::safe;
use camino::Utf8PathBuf;
use gix::ObjectId;
use serde::Serialize;
use std::fmt;

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::git::short_branch;
use crate::git::RefUpdate;
use crate::taskgraph::{schedule, Edit, Status, TaskFile};
use crate::txn::{self, Plan, Step};
use crate::workflow::backup::free_backup_name;
use crate::workflow::bisect::TestFailure;
use crate::workflow::context::{Context, Output};
use crate::workflow::driver::{drive, Prepared};
use crate::workflow::merge::{merge_all, refuse_conflicts, Conflict, Merged};
use crate::workflow::mergeable::{candidates, Candidate, Skipped};
use crate::workflow::render::plural;
use crate::workflow::report::{self, Report};
use crate::workflow::session::Session;

/// What `finish` did, or why it merged nothing.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FinishReport {
    /// Task branches were merged.
    Finished(Finished),
    /// No in-progress task has commits of its own.
    Nothing(NothingFinished),
}

/// The task branches merged into the target (`--json`: `target`, `old_tip`, `new_tip`,
/// `tested`, `merged`, `conflicts`, `skipped`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Finished {
    /// The target branch.
    target: String,
    /// The target's tip before.
    old_tip: String,
    /// Its tip now: the commit marking the tasks `completed` on top of the merges (the last
    /// merge commit when the task file is outside the repository).
    new_tip: String,
    /// The test command that passed on `new_tip` (`--test`, else `parallel.test`); `null` when
    /// none was run.
    tested: Option<String>,
    /// The tasks merged, in file order.
    merged: Vec<MergedTask>,
    /// With `--partial`: the tasks left running because their merge conflicts, with the
    /// conflicting paths; else always `[]`.
    conflicts: Vec<Conflict>,
    /// The tasks left running because the test fails once they are merged (found by bisecting
    /// the batch when the test failed on all of it; with `--partial` the others were merged,
    /// and the exit code is 1); else always `[]`.
    test_failures: Vec<TestFailure>,
    /// Without ids: the in-progress tasks not finished — no commits of their own yet (with or
    /// without uncommitted work), or in progress with no branch here; always `[]` when ids are
    /// named.
    skipped: Vec<Skipped>,
    #[serde(skip)]
    keep: bool,
    #[serde(skip)]
    kept_lines: Vec<String>,
    #[serde(skip)]
    out: Output,
}

/// One task merged.
#[derive(Serialize, schemars::JsonSchema)]
struct MergedTask {
    /// The task id.
    id: String,
    /// The task's branch.
    branch: String,
    /// Commits on the branch since its merge base with the target.
    commits: usize,
    /// Files the branch changed since that merge base.
    files_changed: usize,
    /// The merge commit of this branch (merges are made one after the other, each on the
    /// previous).
    merge_commit: Option<String>,
    /// Its worktree was removed, or parked for reuse (`parallel.reuseWorktrees`; `false`
    /// with `--keep`, or when it had none).
    worktree_removed: bool,
    /// Its branch was deleted, its tip kept as `refs/parallel/backup/<id>` (`false` with
    /// `--keep`).
    branch_deleted: bool,
}

/// Nothing to finish (`--json`: `merged` empty, `skipped`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct NothingFinished {
    /// Always empty: nothing was merged.
    merged: [String; 0],
    /// The in-progress tasks not finished, each with why.
    skipped: Vec<Skipped>,
}

/// Whether finish folds the task file's status change into its last merge commit instead of
/// a separate `chore(...)` commit (`parallel.foldStatus`, default false).
fn fold_status(env: &Session) -> bool {
    env.ctx.repo.settings.fold_status()
}

pub fn run(ctx: &Context) -> Result<()> {
    let env = Session::load(ctx)?;
    let mut batch = None;
    let prepared = prepare(&env, &mut batch)?;
    match (drive(ctx, prepared), batch) {
        // The test failed on the merge of several tasks: find which break it.
        (Err(e), Some(batch)) if txn::gate_failed(&e) && batch.len() > 1 => {
            let output = txn::gate_output(&e).unwrap_or_default();
            gate::bisect_batch(&env, batch, output)
        }
        (Err(e), Some(batch)) if txn::gate_failed(&e) => {
            gate::report_single(&env, &batch, txn::gate_output(&e).unwrap_or_default());
            Err(e)
        }
        (r, _) => r,
    }
}

/// The plan and report; `batch` is set when the test gate may have to be bisected.
fn prepare(env: &Session, batch: &mut Option<gate::Batch>) -> Result<Prepared<FinishReport>> {
    let ctx = env.ctx;
    let (candidates, skipped) = candidates(env)?;
    for s in &skipped {
        report::text_note(&ctx.out, format_args!("{}", s.reason));
    }
    if candidates.is_empty() {
        return Ok(Prepared::nothing(FinishReport::Nothing(NothingFinished {
            merged: [],
            skipped,
        })));
    }
    check_preconditions(env, &candidates)?;
    check_boundaries(env, &candidates)?;
    let merged = merge_all(env, &candidates)?;
    if !merged.conflicts.is_empty() && (!ctx.args.on(&defs::PARTIAL) || merged.merged.is_empty()) {
        return Err(refuse_conflicts(env, &candidates, &merged));
    }
    let ids: Vec<&str> = done(&candidates, &merged)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let final_tip = status_commit(env, &ids, &merged)?;
    let prepared = gate::planned(env, &candidates, &merged, final_tip, skipped.clone(), true)?;
    if !merged.merged.is_empty() && ctx.flag_or_config(&defs::TEST).is_some() {
        *batch = Some(gate::Batch::new(candidates, merged, final_tip, skipped));
    }
    Ok(prepared)
}

/// Everything that must hold before anything changes, all failures listed at once.
fn check_preconditions(env: &Session, candidates: &[Candidate]) -> Result<()> {
    let mut problems = Vec::new();
    let with_worktree: Vec<(&Candidate, &Utf8PathBuf)> = candidates
        .iter()
        .filter_map(|c| c.worktree.as_ref().map(|w| (c, w)))
        .collect();
    let paths: Vec<&camino::Utf8Path> = with_worktree.iter().map(|(_, w)| w.as_path()).collect();
    let (main_dirty, statuses) = listing::listings(env, &paths);
    if !env.target_checked_out {
        problems.push(format!(
            "the target branch {} is not checked out in the main worktree {} (git switch {})",
            short_branch(&env.target),
            env.main,
            short_branch(&env.target)
        ));
    } else {
        let dirty: Vec<String> = main_dirty.transpose()?.unwrap_or_default();
        if !dirty.is_empty() {
            problems.push(format!(
                "the main worktree has uncommitted changes (commit or stash them):\n      {}",
                dirty
                    .iter()
                    .map(|l| safe(l))
                    .collect::<Vec<_>>()
                    .join("\n      ")
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
                lines
                    .iter()
                    .map(|l| safe(l))
                    .collect::<Vec<_>>()
                    .join("\n      ")
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
fn check_boundaries(env: &Session, candidates: &[Candidate]) -> Result<()> {
    let warn_only =
        env.ctx.args.on(&defs::ALLOW_OUTSIDE) || env.ctx.repo.settings.boundaries_warn();
    let mut outside = Vec::new();
    for c in candidates {
        let task = &env.tf.graph.tasks[c.idx];
        let allowed: Vec<&str> = task.paths().collect();
        for f in &c.files {
            let inside = allowed.iter().any(|p| schedule::path_contains(p, f))
                || env.task_rel.as_deref() == Some(f.as_str());
            if !inside {
                outside.push(format!(
                    "{}: {} is outside its produces/shared_files paths",
                    c.id,
                    safe(f)
                ));
            }
        }
    }
    for (n, a) in candidates.iter().enumerate() {
        for b in &candidates[n + 1..] {
            for f in a.files.iter().filter(|f| b.files.contains(f)) {
                report::text_note(
                    &env.ctx.out,
                    format_args!("{} and {} both changed {}", a.id, b.id, safe(f)),
                );
            }
        }
    }
    if outside.is_empty() {
        return Ok(());
    }
    if warn_only {
        for o in &outside {
            crate::output::warning(format_args!("{o}"));
        }
        return Ok(());
    }
    Err(crate::refused!(
        help = "move the changes into the task's paths, add the paths to produces/shared_files, or pass --allow-outside (parallel.boundaries = warn)",
        "cannot finish; files changed outside the tasks' boundaries:\n  {}",
        outside.join("\n  ")
    ))
}

/// The candidates merged (those without a conflict), in file order.
fn done<'c>(candidates: &'c [Candidate], merged: &Merged) -> Vec<&'c Candidate> {
    candidates
        .iter()
        .filter(|c| merged.merged.iter().any(|(i, _)| *i == c.idx))
        .collect()
}

/// The plan: the test gate (when `gate`), the target moved to the merged result with the
/// status commit `final_tip` (the commit point, with the main worktree synced), then the
/// worktrees and branches removed.
fn build_plan(
    env: &Session,
    candidates: &[Candidate],
    merged: &Merged,
    final_tip: ObjectId,
    gate: bool,
) -> Result<Plan> {
    let done = done(candidates, merged);
    let ids: Vec<&str> = done.iter().map(|c| c.id.as_str()).collect();
    let mut steps = Vec::new();
    if let Some(cmd) = env.ctx.flag_or_config(&defs::TEST).filter(|_| gate) {
        let dir = crate::txn::testgate::test_dir()?;
        steps.push(Step::TestGate {
            commit: final_tip.to_string(),
            command: cmd,
            dir,
        });
    }
    let keep = env.ctx.args.on(&defs::KEEP);
    let message = format!("git-parallel: finish {}", ids.join(", "));
    let (updates, backups) = target_updates(env, &done, final_tip, keep)?;
    steps.push(Step::Refs {
        updates,
        message: message.clone(),
    });
    steps.push(Step::SyncMain {
        from: env.target_tip.to_string(),
        to: final_tip.to_string(),
        branch: Some(env.target.clone()),
    });
    let commit_point = Some(steps.len() - 1);
    if !keep {
        let mut cleanup = cleanup_steps(env, &done, message)?;
        let tip = final_tip.to_string();
        crate::workflow::pool::park_instead(env.ctx, &env.main, &mut cleanup, &tip)?;
        steps.extend(cleanup);
    }
    let plan = Plan {
        command: "finish".into(),
        summary: format!("finish {}", ids.join(", ")),
        steps,
        commit_point,
        meta: serde_json::json!({ "tasks": ids, "backups": backups }),
    };
    Ok(plan)
}

/// The commit marking the tasks `ids` completed, made on the merged result (whose task file
/// may have changed) — or folded into the last merge commit (`parallel.foldStatus`). The
/// merged result itself when the task file is outside the repository.
fn status_commit(env: &Session, ids: &[&str], merged: &Merged) -> Result<ObjectId> {
    let Some(rel) = &env.task_rel else {
        return Ok(merged.tip);
    };
    let repo = &env.ctx.repo;
    let now = crate::time::now_iso();
    let text = repo
        .file_at(merged.tip, rel)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| env.tf.source.clone());
    let tf = TaskFile::parse(&env.tf.path, text).map_err(Error::Refused)?;
    let mut edits = Vec::new();
    for id in ids {
        edits.push(Edit::status(*id, Status::Completed));
        edits.push(Edit::task(*id, "completed_at", now.as_str()));
    }
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let new_text = tf.apply_edits(&edits).map_err(Error::Refused)?;
    match &merged.last {
        // The last merge commit again, its tree with the status change: one commit per task.
        Some((parents, last_message)) if fold_status(env) => {
            let tree = repo.tree_with_file(merged.tip, rel, new_text.as_bytes())?;
            Ok(repo.commit_tree(tree, parents, last_message)?)
        }
        _ => {
            let message = format!("chore({}): complete {}", env.product, ids.join(", "));
            Ok(repo.commit_file_change(merged.tip, rel, new_text.as_bytes(), &message)?)
        }
    }
}

/// The one atomic ref update that takes effect: the target to `final_tip`, the merged
/// branches checked unmoved, and (without `--keep`) a backup of each merged tip. Also the
/// backup names.
fn target_updates(
    env: &Session,
    done: &[&Candidate],
    final_tip: ObjectId,
    keep: bool,
) -> Result<(Vec<RefUpdate>, Vec<String>)> {
    let mut updates = vec![RefUpdate {
        name: env.target.clone(),
        old: Some(env.target_tip.to_string()),
        new: Some(final_tip.to_string()),
    }];
    // The task branches must still be where they were merged from when the target moves: a
    // commit added meanwhile (e.g. during the test run) would otherwise be left out of the
    // merge while its task is marked completed. Checked in the same atomic update.
    for c in done {
        updates.push(RefUpdate {
            name: c.branch.clone(),
            old: Some(c.tip.to_string()),
            new: Some(c.tip.to_string()),
        });
    }
    let mut backups = Vec::new();
    if !keep {
        for c in done {
            let name = free_backup_name(env, &c.id, &mut backups)?;
            updates.push(RefUpdate {
                name,
                old: None,
                new: Some(c.tip.to_string()),
            });
        }
    }
    Ok((updates, backups))
}

/// After the commit point: the merged tasks' worktrees removed (with what `undo` needs to make
/// them ready again, as start did), then their branches deleted.
fn cleanup_steps(env: &Session, done: &[&Candidate], message: String) -> Result<Vec<Step>> {
    let restore = crate::workflow::worktrees::include_files(env)?;
    let post_start = env.ctx.repo.settings.post_start();
    let mut steps = Vec::new();
    for c in done {
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
        message,
    });
    Ok(steps)
}

/// The report of merging the `candidates` as `merged`, the target then at `final_tip`.
fn finished(
    env: &Session,
    candidates: &[Candidate],
    merged: &Merged,
    final_tip: ObjectId,
    skipped: Vec<Skipped>,
) -> Finished {
    let keep = env.ctx.args.on(&defs::KEEP);
    let tasks = done(candidates, merged)
        .into_iter()
        .map(|c| MergedTask {
            id: c.id.clone(),
            branch: short_branch(&c.branch).to_string(),
            commits: c.commits,
            files_changed: c.files.len(),
            merge_commit: merged
                .merged
                .iter()
                .find(|(i, _)| *i == c.idx)
                .map(|(_, m)| m.to_string()),
            worktree_removed: !keep && c.worktree.is_some(),
            branch_deleted: !keep,
        })
        .collect();
    Finished {
        target: short_branch(&env.target).to_string(),
        old_tip: env.target_tip.to_string(),
        new_tip: final_tip.to_string(),
        tested: env.ctx.flag_or_config(&defs::TEST),
        merged: tasks,
        conflicts: merged.conflict_list(env),
        test_failures: Vec::new(),
        skipped,
        keep,
        kept_lines: Vec::new(),
        out: env.ctx.out,
    }
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = &self.merged;
        writeln!(
            f,
            "Merged {} task{} into {}:",
            done.len(),
            plural(done.len()),
            self.target
        )?;
        let w_id = done.iter().map(|c| c.id.chars().count()).max();
        let w_br = done.iter().map(|c| c.branch.chars().count()).max();
        let (w_id, w_br) = (w_id.unwrap_or(0), w_br.unwrap_or(0));
        for c in done {
            let id = self.out.paint("1", &format!("{:<w_id$}", c.id));
            if c.commits == 0 {
                writeln!(
                    f,
                    "  {id}  {:<w_br$}  nothing to merge (produces no files): completed",
                    c.branch,
                )?;
                continue;
            }
            writeln!(
                f,
                "  {id}  {:<w_br$}  {} commit{}, {} file{} changed",
                c.branch,
                c.commits,
                plural(c.commits),
                c.files_changed,
                plural(c.files_changed),
            )?;
        }
        self.fmt_after(f)
    }
}

impl Finished {
    /// The text after the merged tasks: the test, the target's move, what was removed, what
    /// was left running, then the ignored files kept.
    fn fmt_after(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.tested {
            writeln!(f, "Test `{t}` passed on the merged result.")?;
        }
        writeln!(
            f,
            "{} is now at {} (was {}).",
            self.target,
            crate::txn::step::short(&self.new_tip),
            crate::txn::step::short(&self.old_tip)
        )?;
        if !self.keep {
            // Parked worktrees are named on their own line below.
            let parked = self.kept_lines.iter().any(|l| l.starts_with("Parked "));
            let what = if parked {
                "branches"
            } else {
                "worktrees and branches"
            };
            writeln!(f, "Removed their {what} (tips kept under refs/parallel/backup/; 'git parallel undo' reverses this).")?;
        }
        if !self.conflicts.is_empty() {
            let left: Vec<&str> = self.conflicts.iter().map(|c| c.id()).collect();
            writeln!(f, "Left running (conflicts): {}", left.join(", "))?;
        }
        crate::workflow::bisect::fmt_failures(f, &self.test_failures, self.tested.as_deref())?;
        for line in &self.kept_lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Display for NothingFinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Nothing to finish: no in-progress task has commits of its own."
        )
    }
}

impl fmt::Display for FinishReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinishReport::Finished(r) => r.fmt(f),
            FinishReport::Nothing(r) => r.fmt(f),
        }
    }
}

impl Report for FinishReport {
    fn json_notes(&self) -> Vec<String> {
        match self {
            FinishReport::Finished(r) => r.kept_lines.clone(),
            FinishReport::Nothing(_) => Vec::new(),
        }
    }
}

mod gate;
mod listing;
#[cfg(test)]
mod tests;

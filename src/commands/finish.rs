//! `git parallel finish [ID…]`: merge every finished task branch into the target in memory,
//! test the result, advance the target in one compare-and-swap step, mark the tasks completed,
//! then remove their worktrees and branches — as one transaction.
//!
//! Which branches are merged is src/commands/mergeable.rs; merging them in memory, and the
//! refusal on conflicts, src/commands/merge.rs.

use crate::taskgraph::display::safe;
use crate::txn::steps::{Refs, RemoveWorktree, SyncMain, TestGate, WriteFile};
use crate::txn::Meta;
use camino::Utf8PathBuf;
use gix::ObjectId;
use serde::Serialize;
use std::fmt;

use crate::cli::defs;
use crate::error::{Code, Error, Result};
use crate::git::short_branch;
use crate::git::RefUpdate;
use crate::taskgraph::{schedule, Edit, Status, TaskFile};
use crate::txn::{self, Plan, Step};
use crate::workflow::backup::free_backup_name;
use crate::workflow::bisect::TestFailure;
use crate::workflow::context::{Context, Output};
use crate::workflow::driver::{drive_report, Prepared};
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
    /// and the exit code is 0 with a note); else always `[]`.
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
    match land(ctx)?.refusal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What a finish came to, typed: what `run` goes on with (the command prints the same as its
/// report, through the context's output, as it goes).
pub struct Landing {
    /// The tasks merged and marked completed, each with its merge commit (`None`: nothing of
    /// its own to merge).
    pub merged: Vec<(String, Option<String>)>,
    /// The target's tip after it (`None`: it did not move).
    pub new_tip: Option<String>,
    /// The tasks left in progress because their merge conflicts, with the conflicting paths.
    pub conflicts: Vec<(String, Vec<String>)>,
    /// The tasks left in progress because the test gate fails with them merged.
    pub test_failures: Vec<TestFailure>,
    /// The test gate fails on the target itself: no task can land.
    pub target_fails: bool,
    /// The in-progress tasks not finished, with why.
    pub skipped: Vec<Skipped>,
    /// The refusal (exit 1) when nothing could land: conflicts or the test gate.
    pub refusal: Option<Error>,
}

impl Landing {
    fn refused(
        conflicts: Vec<(String, Vec<String>)>,
        test_failures: Vec<TestFailure>,
        target_fails: bool,
        refusal: Error,
    ) -> Landing {
        Landing {
            merged: Vec::new(),
            new_tip: None,
            conflicts,
            test_failures,
            target_fails,
            skipped: Vec::new(),
            refusal: Some(refusal),
        }
    }

    /// What a report of a finish that took effect says.
    fn of(report: FinishReport) -> Landing {
        match report {
            FinishReport::Nothing(n) => Landing {
                merged: Vec::new(),
                new_tip: None,
                conflicts: Vec::new(),
                test_failures: Vec::new(),
                target_fails: false,
                skipped: n.skipped,
                refusal: None,
            },
            FinishReport::Finished(f) => Landing {
                merged: f
                    .merged
                    .into_iter()
                    .map(|m| (m.id, m.merge_commit.filter(|_| m.commits > 0)))
                    .collect(),
                new_tip: Some(f.new_tip),
                conflicts: f
                    .conflicts
                    .iter()
                    .map(|c| (c.id().to_string(), c.files().to_vec()))
                    .collect(),
                test_failures: f.test_failures,
                target_fails: false,
                skipped: f.skipped,
                refusal: None,
            },
        }
    }
}

/// `finish` (the command's whole work, printed through the context's output), typed.
pub fn land(ctx: &Context) -> Result<Landing> {
    let env = Session::load(ctx)?;
    let mut batch = None;
    let mut known_failure = None;
    let prepared = match prepare(&env, &mut batch, &mut known_failure)? {
        Ok(p) => p,
        Err(refused) => return Ok(refused),
    };
    // A failure run's background gate found on this very landing: as if the gate had failed.
    let result = match known_failure {
        Some(e) => Err(e),
        None => drive_report(ctx, prepared),
    };
    match (result, batch) {
        // The test failed on the merge of several tasks: find which break it.
        (Err(e), Some(batch)) if txn::gate_failed(&e) => gate::bisect_batch(&env, batch),
        (r, _) => r.map(Landing::of),
    }
}

/// The merged result `finish` would land and test (the merges only, without the status
/// commit: see [`crate::workflow::tested`]), made in memory, nothing changed: what `run` tests
/// in the background before it lands. `None` when finish would merge nothing or refuse before
/// its test gate (it then says why itself).
pub fn preview(ctx: &Context) -> Result<Option<ObjectId>> {
    let env = Session::load(ctx)?;
    let (candidates, _) = candidates(&env)?;
    if candidates.is_empty()
        || check_preconditions(&env, &candidates).is_err()
        || check_boundaries(&env, &candidates).is_err()
    {
        return Ok(None);
    }
    let merged = merge_all(&env, &candidates)?;
    if merged.merged.is_empty() {
        return Ok(None);
    }
    Ok(Some(merged.tip))
}

/// The plan and report (`Err`: refused for conflicts); `batch` is set when the test gate may
/// have to be bisected; `known_failure` when the verdict `run` hands in (see
/// [`crate::workflow::tested`]) is a failure of this very landing.
fn prepare(
    env: &Session,
    batch: &mut Option<gate::Batch>,
    known_failure: &mut Option<Error>,
) -> Result<std::result::Result<Prepared<FinishReport>, Landing>> {
    let ctx = env.ctx;
    let (candidates, skipped) = candidates(env)?;
    check_expected_tips(env, &candidates)?;
    for s in &skipped {
        report::text_note(&ctx.out, format_args!("{}", s.reason));
    }
    if candidates.is_empty() {
        return Ok(Ok(Prepared::nothing(FinishReport::Nothing(
            NothingFinished {
                merged: [],
                skipped,
            },
        ))));
    }
    let main_changes = check_preconditions(env, &candidates)?;
    check_boundaries(env, &candidates)?;
    let merged = merge_all(env, &candidates)?;
    if !merged.conflicts.is_empty() && (!ctx.args.on(&defs::PARTIAL) || merged.merged.is_empty()) {
        let conflicts = merged
            .conflict_list(env)
            .iter()
            .map(|c| (c.id().to_string(), c.files().to_vec()))
            .collect();
        let refusal = refuse_conflicts(env, &candidates, &merged);
        return Ok(Err(Landing::refused(conflicts, Vec::new(), false, refusal)));
    }
    let ids: Vec<&str> = done(&candidates, &merged)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    let final_tip = status_commit(env, &ids, &merged, &candidates)?;
    // Start records run left in the main worktree's task file are carried by this landing.
    let main_changes = match (&env.task_rel, env.pending_starts()?) {
        (Some(rel), Some(_)) => main_changes
            .into_iter()
            .filter(|(_, paths)| paths.iter().all(|p| p != rel))
            .collect(),
        _ => main_changes,
    };
    check_main_changes(env, &main_changes, final_tip)?;
    let test = ctx.flag_or_config(&defs::TEST);
    let verdict = match (ctx.tested, &test) {
        (Some(t), Some(_)) if t.covers(&ctx.repo, env.task_rel.as_deref(), final_tip)? => Some(t),
        _ => None,
    };
    if let (Some(t), Some(test)) = (verdict, &test) {
        report::text_note(
            &ctx.out,
            format_args!(
                "the test gate already {} on this landing's files (tested as {}): not tested again",
                if t.status.success() {
                    "passed"
                } else {
                    "failed"
                },
                crate::txn::steps::shared::short(t.commit)
            ),
        );
        if !t.status.success() {
            *known_failure = Some(crate::txn::testgate::failed(test, t.status));
        }
    }
    let gate = verdict.is_none();
    let prepared = gate::planned(env, &candidates, &merged, final_tip, skipped.clone(), gate)?;
    if merged.merged.len() > 1 && ctx.flag_or_config(&defs::TEST).is_some() {
        *batch = Some(gate::Batch::new(candidates, merged, final_tip, skipped));
    }
    Ok(Ok(prepared))
}

/// For `run --executor ssh|command`: every candidate whose expected tip `run` passed (the tip
/// its attempt's outcome published) has its branch, as fetched from the remote, at that tip;
/// else nothing lands (code `tip-moved`): what moved it since was never the attempt's work.
fn check_expected_tips(env: &Session, candidates: &[Candidate]) -> Result<()> {
    let expected = &env.ctx.expected_tips;
    let moved: Vec<String> = candidates
        .iter()
        .filter_map(|c| {
            let want = expected.get(&c.id)?;
            (*want != c.tip).then(|| {
                format!(
                    "{}: its branch {} is at {}, not at {}, the tip its attempt published",
                    c.id,
                    short_branch(&c.branch),
                    c.tip,
                    want
                )
            })
        })
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    Err(crate::refused!(
        code = Code::TipMoved,
        help = "something pushed to the branch after its attempt ended: run dispatches the task again on the branch as it is",
        "cannot finish, nothing was changed: {}",
        moved.join("; ")
    ))
}

/// Local changes in the main worktree are left alone when the landing does not write their
/// files, as `git merge` does (issue 20 item 1: e.g. a post-commit hook appending to a tracked
/// log there); a change to a file the landing writes (a merged file, the task file) refuses,
/// naming it. `changes`: the main worktree's changes to tracked files (line, paths).
fn check_main_changes(
    env: &Session,
    changes: &[(String, Vec<String>)],
    final_tip: ObjectId,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut cmd = env.ctx.repo.git_main();
    cmd.args(["diff-tree", "-r", "-z", "--no-renames", "--name-only"]);
    cmd.arg(env.target_tip.to_string())
        .arg(final_tip.to_string());
    let written: std::collections::HashSet<String> =
        crate::git::cli::stdout_z(cmd)?.into_iter().collect();
    let (touched, untouched): (Vec<_>, Vec<_>) = changes
        .iter()
        .partition(|(_, paths)| paths.iter().any(|p| written.contains(p)));
    if touched.is_empty() {
        report::text_note(
            &env.ctx.out,
            format_args!(
                "the main worktree's local change{} to {} left alone (the landing does not touch {})",
                plural(untouched.len()),
                untouched
                    .iter()
                    .map(|(l, _)| safe(l.get(3..).unwrap_or(l)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if untouched.len() == 1 { "it" } else { "them" }
            ),
        );
        return Ok(());
    }
    let lines: Vec<_> = touched.iter().map(|(l, _)| safe(l)).collect();
    let mut problems = vec![format!(
        "the main worktree has uncommitted changes in files this landing writes (commit or stash them):\n      {}",
        lines.join("\n      ")
    )];
    // After `start --no-commit` (or `abort`/`fail --no-commit`): stashing would lose the
    // task states; committing is the way on.
    if let Some(rel) = env
        .task_rel
        .as_deref()
        .filter(|rel| touched.iter().any(|(_, p)| p.iter().any(|p| p == rel)))
    {
        problems.push(format!(
            "the task file is among them; commit it (do not stash it: it records the tasks' states):\n      git commit -m 'chore: update the task file' -- {}",
            crate::taskgraph::display::shell_quote(rel)
        ));
    }
    Err(crate::refused!(
        code = Code::MainDirty,
        help = "fix these, then run 'git parallel finish' again",
        "cannot finish; nothing was changed:\n  {}",
        problems.join("\n  ")
    ))
}

/// Everything that must hold before anything changes, all failures listed at once. Returns the
/// main worktree's changes to tracked files (see [`check_main_changes`]).
fn check_preconditions(
    env: &Session,
    candidates: &[Candidate],
) -> Result<Vec<(String, Vec<String>)>> {
    let mut problems = Vec::new();
    // The first problem's kind: one of the main worktree's comes first.
    let mut code = None;
    let with_worktree: Vec<(&Candidate, &Utf8PathBuf)> = candidates
        .iter()
        .filter_map(|c| c.worktree.as_ref().map(|w| (c, w)))
        .collect();
    let paths: Vec<&camino::Utf8Path> = with_worktree.iter().map(|(_, w)| w.as_path()).collect();
    let (main_dirty, statuses) = listing::listings(env, &paths);
    if !env.target_checked_out {
        code = Some(Code::TargetNotCheckedOut);
        problems.push(format!(
            "the target branch {} is not checked out in the main worktree {} (git switch {})",
            short_branch(&env.target),
            env.main,
            short_branch(&env.target)
        ));
    }
    let main_changes = main_dirty.transpose()?.unwrap_or_default();
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
            code.get_or_insert(Code::TaskDirty);
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
            code.get_or_insert(Code::TaskDirty);
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
        )
        .with_code(code.unwrap_or(Code::Refused)));
    }
    Ok(main_changes)
}

/// Files each branch changed must lie inside its task's paths; overlaps are reported.
fn check_boundaries(env: &Session, candidates: &[Candidate]) -> Result<()> {
    let warn_only =
        env.ctx.args.on(&defs::ALLOW_OUTSIDE) || env.ctx.repo.settings.boundaries_warn();
    let mut outside = Vec::new();
    let mut task_file = Vec::new();
    for c in candidates {
        let task = &env.tf.graph.tasks[c.idx];
        let allowed: Vec<&str> = task.paths().collect();
        for f in &c.files {
            // The task file is ours: a branch that edits it (an agent marking another task
            // completed, rewriting dependencies) is refused whatever the boundary policy, never
            // merged silently (repro round2 20).
            if env.task_rel.as_deref() == Some(f.as_str()) {
                let q = crate::taskgraph::display::shell_quote;
                let wt = c
                    .worktree
                    .as_ref()
                    .map_or(env.main.as_path(), |w| w.as_path());
                let (wt, file) = (q(wt.as_str()), q(f));
                task_file.push(format!(
                    "{}: its branch changes the task file {}, which only git-parallel writes (the tasks' states and the graph); undo that change on the branch:\n      git -C {wt} checkout \"$(git -C {wt} merge-base HEAD {})\" -- {file} && git -C {wt} commit -m 'leave the task file alone' -- {file}",
                    c.id,
                    safe(f),
                    q(short_branch(&env.target)),
                ));
                continue;
            }
            let inside = allowed.iter().any(|p| schedule::path_contains(p, f));
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
    if !task_file.is_empty() {
        return Err(crate::refused!(
            code = Code::OutsidePaths,
            help = "task states change through git-parallel's commands (finish, fail, abort, retry, approve); then run 'git parallel finish' again",
            "cannot finish; nothing was changed:\n  {}",
            task_file.join("\n  ")
        ));
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
        code = Code::OutsidePaths,
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
        steps.push(Step::TestGate(TestGate::new(
            &env.ctx.repo,
            final_tip,
            cmd,
        )?));
    }
    let keep = env.ctx.args.on(&defs::KEEP);
    let message = format!("git-parallel: finish {}", ids.join(", "));
    let (updates, backups) = target_updates(env, &done, final_tip, keep)?;
    if let Some(pending) = env.pending_starts()? {
        // The start records pending in the main worktree are in `final_tip`: the file is put
        // back to the committed text, then moved to the new tip like every merged file.
        steps.push(Step::WriteFile(WriteFile {
            path: env.task_path.clone(),
            old: env.tf.source.clone(),
            new: pending.committed,
        }));
    }
    steps.push(Step::Refs(Refs {
        updates,
        message: message.clone(),
    }));
    steps.push(Step::SyncMain(SyncMain {
        from: env.target_tip,
        to: final_tip,
        branch: Some(env.target.clone()),
    }));
    let commit_point = Some(steps.len() - 1);
    if !keep {
        let mut cleanup = cleanup_steps(env, &done, message)?;
        crate::workflow::pool::park_instead(env.ctx, &env.main, &mut cleanup, final_tip)?;
        steps.extend(cleanup);
    }
    let plan = Plan {
        command: "finish".into(),
        summary: format!("finish {}", ids.join(", ")),
        steps,
        commit_point,
        meta: Meta {
            backups: Some(backups),
            ..Meta::tasks(ids.iter().copied())
        },
    };
    Ok(plan)
}

/// The commit marking the tasks `ids` (of `candidates`) completed, each with its `result`,
/// made on the merged result (whose task file may have changed) — or folded into the last
/// merge commit (`parallel.foldStatus`). The merged result itself when the task file is
/// outside the repository.
fn status_commit(
    env: &Session,
    ids: &[&str],
    merged: &Merged,
    candidates: &[Candidate],
) -> Result<ObjectId> {
    let Some(rel) = &env.task_rel else {
        return Ok(merged.tip);
    };
    let repo = &env.ctx.repo;
    let now = crate::time::now_iso();
    // With start records pending in the main worktree (run without a remote), on top of them:
    // the merged branches leave the task file as committed (finish refuses a branch that
    // changes it), so the main worktree's copy is that file plus the records.
    let text = match env.pending_starts()? {
        Some(_) => env.tf.source.clone(),
        None => repo
            .file_at(merged.tip, rel)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|| env.tf.source.clone()),
    };
    let tf = TaskFile::parse(&env.tf.path, text).map_err(Error::Refused)?;
    let mut edits = Vec::new();
    let target = short_branch(&env.target);
    for id in ids {
        edits.push(Edit::status(*id, Status::Completed));
        edits.push(Edit::task(*id, "completed_at", now.as_str()));
        let files = candidates
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.files.clone())
            .unwrap_or_default();
        let message = if files.is_empty() {
            "completed without a merge (nothing of its own to merge)".to_string()
        } else {
            format!("merged into {target}")
        };
        edits.push(crate::workflow::outcome::result_edit(
            id,
            true,
            &message,
            &files,
            env.ctx.metrics.get(*id),
        ));
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
        old: Some(env.target_tip),
        new: Some(final_tip),
    }];
    // The task branches must still be where they were merged from when the target moves: a
    // commit added meanwhile (e.g. during the test run) would otherwise be left out of the
    // merge while its task is marked completed. Checked in the same atomic update.
    for c in done {
        updates.push(RefUpdate {
            name: c.branch.clone(),
            old: Some(c.tip),
            new: Some(c.tip),
        });
    }
    let mut backups = Vec::new();
    if !keep {
        for c in done {
            let name = free_backup_name(env, &c.id, &mut backups)?;
            updates.push(RefUpdate {
                name,
                old: None,
                new: Some(c.tip),
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
            steps.push(Step::RemoveWorktree(RemoveWorktree {
                path: wt.clone(),
                branch: c.branch.clone(),
                force: false,
                restore: restore.clone(),
                post_start: post_start.clone(),
            }));
        }
    }
    steps.push(Step::Refs(Refs {
        updates: done
            .iter()
            .map(|c| RefUpdate {
                name: c.branch.clone(),
                old: Some(c.tip),
                new: None,
            })
            .collect(),
        message,
    }));
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
            crate::txn::steps::shared::short(&self.new_tip),
            crate::txn::steps::shared::short(&self.old_tip)
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

//! The test gate's side of `finish`: the plan that lands a set of merges (tested by its own
//! gate step, or already by a bisection test), and what follows a gate that failed.
//!
//! `finish` after its test gate failed on the merge of several tasks: the batch is bisected
//! (the search: src/commands/bisect.rs) on in-memory merges of parts of it, each made as
//! `finish` makes its merges (with the status commit) and tested exactly like the gate, in a
//! temporary worktree (src/txn/probe.rs; nothing durable changes). Then, with `--partial`, the
//! tasks that pass together land, their final combination tested already: it is the very
//! commit (the same object, not a re-made one) the last passing probe tested, so the pass is
//! reused and the plan has no test gate of its own; the culprits stay in progress, untouched,
//! and the exit code is 0 (a note names them). Without `--partial` (or when no task passes) nothing lands and the
//! refusal names the culprits.

use std::collections::HashMap;

use gix::ObjectId;

use super::{done, status_commit, FinishReport, Landing};
use crate::cli::defs;
use crate::error::Result;
use crate::git::short_branch;
use crate::txn;
use crate::workflow::bisect::{self, Outcome, TestFailure};
use crate::workflow::driver::{drive_report, Prepared};
use crate::workflow::merge::{merge_all, Merged};
use crate::workflow::mergeable::{Candidate, Skipped};
use crate::workflow::report;
use crate::workflow::session::Session;

/// A batch whose test gate may fail: what bisecting and landing part of it needs.
pub(super) struct Batch {
    candidates: Vec<Candidate>,
    /// The candidates merged (not conflicting), in merge order: the tasks bisected.
    members: Vec<Candidate>,
    conflicts: Vec<(usize, Vec<String>)>,
    /// The commit the gate tested (and found failing): all members merged, with the status.
    full_tip: ObjectId,
    skipped: Vec<Skipped>,
}

impl Batch {
    pub(super) fn new(
        candidates: Vec<Candidate>,
        merged: Merged,
        full_tip: ObjectId,
        skipped: Vec<Skipped>,
    ) -> Batch {
        let members = done(&candidates, &merged).into_iter().cloned().collect();
        Batch {
            candidates,
            members,
            conflicts: merged.conflicts,
            full_tip,
            skipped,
        }
    }

    fn ids(&self, set: &[usize]) -> Vec<&str> {
        set.iter().map(|&p| self.members[p].id.as_str()).collect()
    }
}

/// Bisects the batch whose test gate failed, then lands the others (`--partial`) or refuses.
pub(super) fn bisect_batch(env: &Session, batch: Batch) -> Result<Landing> {
    let ctx = env.ctx;
    let test = ctx.flag_or_config(&defs::TEST).unwrap_or_default();
    txn::begin(&ctx.repo, &ctx.lock, "git parallel finish")?;
    report::text_note(
        &ctx.out,
        format_args!(
            "the test failed on the merge of {} tasks; bisecting to find which break it",
            batch.members.len()
        ),
    );
    let mut built: HashMap<Vec<usize>, (Merged, ObjectId)> = HashMap::new();
    let outcome = bisect::bisect(batch.members.len(), &mut |set: &[usize]| {
        probe(env, &batch, set, &test, &mut built)
    })?;
    report::text_note(
        &ctx.out,
        format_args!(
            "bisection: {} test run{} after the first",
            outcome.runs,
            super::plural(outcome.runs)
        ),
    );
    let partial = ctx.args.on(&defs::PARTIAL);
    let failures = failures(env, &batch, &outcome, partial, &test);
    if outcome.target_fails || !partial || outcome.accepted.is_empty() {
        let doc = bisect::TestRefused {
            merged: [],
            test_failures: failures.clone(),
            target_fails: outcome.target_fails,
        };
        report::emit(&ctx.out, "finish", &doc);
    }
    if outcome.target_fails {
        let target = short_branch(&env.target);
        let failed = failures.clone();
        return Ok(Landing::refused(Vec::new(), failed, true, crate::refused!(
            code = crate::error::Code::TargetFailsTest,
            help = "nothing was changed; make the test pass on {target} first",
            "the test `{test}` failed on the merged result, and fails on {target} itself ({tip}) with no task merged",
            tip = txn::steps::shared::short(env.target_tip)
        )));
    }
    if !partial || outcome.accepted.is_empty() {
        let refusal = refuse(&batch, &outcome, &failures, &test);
        return Ok(Landing::refused(Vec::new(), failures, false, refusal));
    }
    land(env, batch, &outcome, failures, &mut built)
}

/// Tests the merge of the members at positions `set` (the target alone when empty), as the
/// gate tests: whether the test passed. A merge that conflicts counts as failing.
fn probe(
    env: &Session,
    batch: &Batch,
    set: &[usize],
    test: &str,
    built: &mut HashMap<Vec<usize>, (Merged, ObjectId)>,
) -> Result<bool> {
    let ids = batch.ids(set);
    let target = short_branch(&env.target);
    let what = if ids.is_empty() {
        format!("{target} alone")
    } else {
        format!("{} merged onto {target}", ids.join(", "))
    };
    report::text_note(&env.ctx.out, format_args!("bisecting: testing {what}"));
    let commit = if set.is_empty() {
        env.target_tip
    } else if set.len() == batch.members.len() {
        batch.full_tip
    } else {
        let subset: Vec<Candidate> = set.iter().map(|&p| batch.members[p].clone()).collect();
        let merged = merge_all(env, &subset)?;
        if !merged.conflicts.is_empty() {
            report::text_note(
                &env.ctx.out,
                format_args!("bisecting: {what} conflicts; counted as failing"),
            );
            return Ok(false);
        }
        let tip = status_commit(env, &ids, &merged, &batch.members)?;
        built.insert(set.to_vec(), (merged, tip));
        tip
    };
    txn::probe(
        &env.ctx.repo,
        &env.ctx.lock,
        &format!("finish: bisection test of {what}"),
        commit,
        test,
    )
}

/// The culprits as reported: each with what it was merged after and how to reproduce it
/// (after a partial finish the tasks it was merged after are in the target already).
fn failures(
    env: &Session,
    batch: &Batch,
    outcome: &Outcome,
    landed: bool,
    test: &str,
) -> Vec<TestFailure> {
    let target = short_branch(&env.target);
    outcome
        .rejected
        .iter()
        .map(|r| {
            let c = &batch.members[r.task];
            let worktree = c.worktree.as_ref().map(|w| w.to_string());
            let mut merges = vec![target];
            if !landed {
                merges.extend(
                    r.after
                        .iter()
                        .map(|&p| short_branch(&batch.members[p].branch)),
                );
            }
            TestFailure {
                id: c.id.clone(),
                branch: short_branch(&c.branch).to_string(),
                reproduce: bisect::reproduce(worktree.as_deref(), &merges, &c.id, test),
                worktree,
                merged_after: batch.ids(&r.after).iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// The refusal naming the culprits (nothing changed), suggesting `--partial` when some tasks
/// pass together.
fn refuse(
    batch: &Batch,
    outcome: &Outcome,
    failures: &[TestFailure],
    test: &str,
) -> crate::error::Error {
    let mut lines = Vec::new();
    for t in failures {
        lines.push(bisect::failure_line(t));
        lines.push(format!("    reproduce: {}", t.reproduce));
    }
    let culprits: Vec<&str> = failures.iter().map(|t| t.id.as_str()).collect();
    let help = if outcome.accepted.is_empty() {
        "nothing was changed; every task breaks the test: fix them, then run finish again"
            .to_string()
    } else {
        format!(
            "nothing was changed; fix {}, or pass --partial to merge the others ({}) now, leaving {} running",
            culprits.join(", "),
            batch.ids(&outcome.accepted).join(", "),
            culprits.join(", ")
        )
    };
    crate::error::Error::Refused(miette::miette!(
        help = help,
        "the test `{test}` failed on the merged result; bisecting found the task{} that break{} it ({} test run{}):\n  {}",
        super::plural(failures.len()),
        if failures.len() == 1 { "s" } else { "" },
        outcome.runs + 1,
        super::plural(outcome.runs + 1),
        lines.join("\n  ")
    ))
    .with_code(crate::error::Code::TestGate)
}

/// `--partial`: lands the tasks that pass together (the set last tested passing, the same
/// commit) and leaves the culprits in progress, with a note (exit 0: everything that could
/// land did).
fn land(
    env: &Session,
    batch: Batch,
    outcome: &Outcome,
    failures: Vec<TestFailure>,
    built: &mut HashMap<Vec<usize>, (Merged, ObjectId)>,
) -> Result<Landing> {
    let (mut merged, tip, tested) = match built.remove(&outcome.accepted) {
        Some((m, tip)) => (m, tip, true),
        // Not tested as such (never the case with the search as it is): the gate tests it.
        None => {
            let subset: Vec<Candidate> = outcome
                .accepted
                .iter()
                .map(|&p| batch.members[p].clone())
                .collect();
            let m = merge_all(env, &subset)?;
            let tip = status_commit(env, &batch.ids(&outcome.accepted), &m, &batch.members)?;
            (m, tip, false)
        }
    };
    merged.conflicts = batch.conflicts;
    let mut prepared = planned(env, &batch.candidates, &merged, tip, batch.skipped, !tested)?;
    if let FinishReport::Finished(r) = &mut prepared.report {
        r.test_failures = failures.clone();
    }
    let landed = drive_report(env.ctx, prepared)?;
    let ids: Vec<&str> = failures.iter().map(|t| t.id.as_str()).collect();
    report::text_note(
        &env.ctx.out,
        format_args!(
            "the test fails with {} merged: left in progress (the other tasks were merged)",
            ids.join(", ")
        ),
    );
    Ok(Landing::of(landed))
}

/// The plan landing `merged` (the target then at `final_tip`, tested first when `gate`), with
/// its report.
pub(super) fn planned(
    env: &Session,
    candidates: &[Candidate],
    merged: &Merged,
    final_tip: ObjectId,
    skipped: Vec<Skipped>,
    gate: bool,
) -> Result<Prepared<FinishReport>> {
    let ctx = env.ctx;
    let mut plan = super::build_plan(env, candidates, merged, final_tip, gate)?;
    if env.target_checked_out {
        txn::keep::check_main_overwrites(
            &ctx.repo,
            &env.target_tip.to_string(),
            &final_tip.to_string(),
        )?;
    }
    let kept = txn::keep::keep_ignored(
        &ctx.repo,
        &mut plan.steps,
        &[],
        txn::keep::BuildOutput::Drop,
    )?;
    let mut report = super::finished(env, candidates, merged, final_tip, skipped);
    report.kept_lines = crate::workflow::pool::lines(&plan.steps, |p| env.show(p));
    report
        .kept_lines
        .extend(txn::keep::kept_lines(&kept, |p| env.show(p)));
    // What finish keeps is held within parallel.keepIgnoredMax (regenerable content only).
    if kept.iter().any(|k| k.dir.is_some()) {
        let adding = kept
            .iter()
            .filter(|k| k.dir.is_some())
            .map(|k| k.bytes)
            .sum();
        if let Some(capped) = txn::keep::cap::plan(&ctx.repo, adding, &[])? {
            plan.steps.extend(capped.steps());
            report.kept_lines.extend(capped.lines(|p| env.show(p)));
        }
    }
    Ok(Prepared::new(plan, FinishReport::Finished(report)))
}

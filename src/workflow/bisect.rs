//! Finding the tasks of a batch that break the test gate: when the test (`--test`,
//! `parallel.test`) fails on the merge of several task branches, which of them to leave out.
//! Used by `finish` (src/commands/finish/gate.rs), and through it by `run`.
//!
//! **The algorithm** (adaptive group testing over prefixes, in file order). The batch is the
//! tasks in the order `finish` merges them; `test(S)` merges the tasks of `S`, in that order,
//! onto the target and runs the test on the result. It starts from a failing `test(all)` (the
//! gate's run) and keeps `accepted` (tasks known to pass together, at first none: the target
//! itself) and `rest` (the tasks not decided yet), with `test(accepted + rest)` failing:
//!
//! 1. Binary search for the shortest prefix `rest[..k]` with `test(accepted + rest[..k])`
//!    failing (`k = len` is known to fail, `k = 0` to pass): about log2(len) runs. `rest[k-1]`
//!    is a culprit: the test passes with `accepted + rest[..k-1]` merged and fails once it is
//!    merged after them. `rest[..k-1]` joins `accepted`; the culprit is left out.
//! 2. Test `accepted + rest[k..]` (the tasks after it): a pass ends the search, and that very
//!    set (the same commit) is what lands; a failure means another culprit: back to 1.
//!
//! One culprit costs about log2 N runs (plus one when it is not the last task); d culprits
//! about d·(log2 N + 1). Tasks that only break the test in combination: the one merged later
//! (in file order) is left out, the earlier one lands, and the report names the tasks it was
//! merged after (as `finish --partial` does for a conflict). Two tasks in a row failing with
//! nothing accepted makes it test the target alone; when that fails too, nothing can land
//! (the test is broken on the target) and the search stops at once. A set whose merge
//! conflicts (the batch merged cleanly as a whole, so this is rare) counts as failing. The
//! search assumes that adding tasks to a failing set does not make it pass; a flaky test can
//! make it blame the wrong task, never land an untested result: what lands is always a set
//! the test passed on. Each set is tested at most once.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::error::Result;

/// What the search concluded, by position in the batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The tasks to land: the last set the test passed on (empty: none).
    pub accepted: Vec<usize>,
    /// The tasks that break the test, in batch order.
    pub rejected: Vec<Rejected>,
    /// The test fails on the target itself (every task is in `rejected`).
    pub target_fails: bool,
    /// How many times the test ran (the failing run on the whole batch not counted).
    pub runs: usize,
}

/// A culprit: the test passes with `after` merged and fails once `task` is merged after them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub task: usize,
    pub after: Vec<usize>,
}

/// The search over a batch of `n` tasks whose test on all of them failed; `test(set)` runs
/// the test on the merge of `set` (positions, ascending; empty: the target alone).
pub(crate) fn bisect(n: usize, test: &mut dyn FnMut(&[usize]) -> Result<bool>) -> Result<Outcome> {
    let mut s = Search {
        known: HashMap::from([((0..n).collect(), false)]),
        runs: 0,
        test,
    };
    let mut accepted: Vec<usize> = Vec::new();
    let mut rest: Vec<usize> = (0..n).collect();
    let mut rejected = Vec::new();
    let mut alone = 0;
    // Invariant: test(accepted + rest) fails; accepted passes (when empty: assumed).
    while !rest.is_empty() {
        let (mut lo, mut hi) = (0, rest.len());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if s.check(&joined(&accepted, &rest[..mid]))? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if accepted.is_empty() && hi == 1 {
            alone += 1;
            if alone == 2 && !s.check(&[])? {
                return Ok(Outcome {
                    accepted: Vec::new(),
                    rejected: (0..n)
                        .map(|task| Rejected {
                            task,
                            after: vec![],
                        })
                        .collect(),
                    target_fails: true,
                    runs: s.runs,
                });
            }
        }
        rejected.push(Rejected {
            task: rest[hi - 1],
            after: joined(&accepted, &rest[..hi - 1]),
        });
        accepted.extend_from_slice(&rest[..hi - 1]);
        rest.drain(..hi);
        if !rest.is_empty() && s.check(&joined(&accepted, &rest))? {
            accepted.append(&mut rest);
        }
    }
    Ok(Outcome {
        accepted,
        rejected,
        target_fails: false,
        runs: s.runs,
    })
}

/// The test results so far (each set tested at most once) and the runs made.
struct Search<'t> {
    known: HashMap<Vec<usize>, bool>,
    runs: usize,
    test: &'t mut dyn FnMut(&[usize]) -> Result<bool>,
}

impl Search<'_> {
    fn check(&mut self, set: &[usize]) -> Result<bool> {
        if let Some(&r) = self.known.get(set) {
            return Ok(r);
        }
        self.runs += 1;
        let r = (self.test)(set)?;
        self.known.insert(set.to_vec(), r);
        Ok(r)
    }
}

fn joined(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().chain(b).copied().collect()
}

/// A task left in progress because the test fails once its branch is merged.
#[derive(Serialize, schemars::JsonSchema, Clone)]
pub(crate) struct TestFailure {
    /// The task id.
    pub id: String,
    /// The task's branch.
    pub branch: String,
    /// Its worktree (absolute path); `null` when it has none.
    pub worktree: Option<String>,
    /// The tasks merged before it in the test run that failed: the test passed with exactly
    /// these merged onto the target and failed once this task was merged after them (`[]`:
    /// merged onto the target alone).
    pub merged_after: Vec<String>,
    /// A shell command that reproduces the failure in its worktree: merge the target (and,
    /// when they did not land, the branches of `merged_after`), then run the test there with
    /// `git parallel exec`.
    pub reproduce: String,
}

/// The `--json` document of a finish refused because the test fails (nothing changed:
/// without `--partial`, or when no task passes): printed, and the exit code is 1 all the
/// same. It has no text: the error says it all.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct TestRefused {
    /// Always empty: nothing was merged.
    pub merged: [String; 0],
    /// The tasks that break the test, found by bisecting the batch (every task when
    /// `target_fails`).
    pub test_failures: Vec<TestFailure>,
    /// The test fails on the target itself, with no task merged.
    pub target_fails: bool,
}

impl fmt::Display for TestRefused {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl crate::workflow::report::Report for TestRefused {}

/// The reproduction of a failure of `test` for task `id`: in `worktree`, merge each of
/// `merges` (the target first), then run the test through `git parallel exec`.
pub(crate) fn reproduce(worktree: Option<&str>, merges: &[&str], id: &str, test: &str) -> String {
    use crate::taskgraph::display::shell_quote;
    let wt = worktree.map_or(std::borrow::Cow::Borrowed("<worktree>"), shell_quote);
    let mut parts: Vec<String> = merges
        .iter()
        .map(|b| format!("git -C {wt} merge {}", shell_quote(b)))
        .collect();
    parts.push(format!(
        "git parallel exec {} -- sh -c {}",
        shell_quote(id),
        shell_quote(test)
    ));
    parts.join(" && ")
}

/// The text lines of the failures: each task, what it was merged after, how to reproduce.
pub(crate) fn fmt_failures(
    f: &mut fmt::Formatter<'_>,
    failures: &[TestFailure],
    test: Option<&str>,
) -> fmt::Result {
    if failures.is_empty() {
        return Ok(());
    }
    writeln!(
        f,
        "Left running (the test `{}` fails with them merged):",
        test.unwrap_or_default()
    )?;
    for t in failures {
        writeln!(f, "  {}", failure_line(t))?;
        writeln!(f, "      reproduce: {}", t.reproduce)?;
    }
    Ok(())
}

/// `ID (branch): fails merged onto the target alone` / `… once merged after A, B`.
pub(crate) fn failure_line(t: &TestFailure) -> String {
    if t.merged_after.is_empty() {
        format!(
            "{} ({}): fails merged onto the target alone",
            t.id, t.branch
        )
    } else {
        format!(
            "{} ({}): fails once merged after {}",
            t.id,
            t.branch,
            t.merged_after.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;

//! Fault injection (GIT_PARALLEL_FAILPOINT, cargo feature `failpoints`): start and finish made
//! to fail or be killed at every step. A failure before the commit point leaves the repository
//! exactly as it was; after a kill (or a failure past the commit point) every command refuses
//! and points at `recover`, whose `--abort` restores the state before the command and whose
//! `--continue` reaches the state of an uninterrupted run.

#![cfg(feature = "failpoints")]

use std::os::unix::process::ExitStatusExt;
use std::process::Output;

use crate::support::{all_output, assert_same, json, Snapshot, TestRepo};

const FAILPOINT: &str = "GIT_PARALLEL_FAILPOINT";

/// The number of steps of a command's plan and its commit point (0-based), from its dry run.
fn plan_of(r: &TestRepo, args: &[&str]) -> (usize, Option<usize>) {
    let mut a = args.to_vec();
    a.extend(["--dry-run", "--json"]);
    let v = json(&r.ok(&a));
    let steps = v["plan"]["steps"].as_array().expect("plan.steps").len();
    (
        steps,
        v["plan"]["commit_point"].as_u64().map(|c| c as usize),
    )
}

/// muaththir ready to start, with an include file (.env, ignored) and a postStart hook that
/// leaves an ignored file, so recovery covers copies and hooks too.
fn start_repo() -> TestRepo {
    let r = TestRepo::muaththir_approved();
    r.write(".gitignore", ".env\n.ready\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "ignore local files"]);
    r.write(".env", "SECRET=42\n");
    r.git(&["config", "parallel.postStart", "touch .ready"]);
    r
}

const START: &[&str] = &["start"];

/// muaththir with the tasks started and one commit in each worktree, ready to finish.
fn finish_repo() -> TestRepo {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start"]);
    crate::support::muaththir::work_in_each(&r);
    r
}

const FINISH: &[&str] = &["finish", "--test", "true"];

/// The normalized state after an uninterrupted run of `args` on a fresh `setup()` repository.
fn reference(setup: fn() -> TestRepo, args: &[&str]) -> Snapshot {
    let r = setup();
    r.ok(args);
    r.snapshot().normalized(&r)
}

/// Asserts no operation is pending (and the lock is free): recover has nothing to do.
fn assert_nothing_pending(r: &TestRepo, what: &str) {
    let out = r.run(&["recover", "--abort"]);
    assert_eq!(out.status.code(), Some(1), "{what}: {}", all_output(&out));
    assert!(
        all_output(&out).contains("no interrupted operation"),
        "{what}: {}",
        all_output(&out)
    );
}

/// Asserts the command was killed by a signal and that the next command refuses, naming recover.
fn assert_killed_and_pending(r: &TestRepo, out: &Output, args: &[&str], what: &str) {
    assert!(
        out.status.signal().is_some(),
        "{what}: expected death by signal, got {:?}\n{}",
        out.status,
        all_output(out)
    );
    let again = r.run(args);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{what}: {}",
        all_output(&again)
    );
    let text = all_output(&again);
    assert!(
        text.contains("interrupted operation is pending"),
        "{what}: {text}"
    );
    assert!(
        text.contains("git parallel recover --abort"),
        "{what}: {text}"
    );
    assert!(
        text.contains("git parallel recover --continue"),
        "{what}: {text}"
    );
}

fn recover(r: &TestRepo, how: &str, what: &str) {
    let out = r.run(&["recover", how]);
    assert!(
        out.status.success(),
        "{what}: recover {how} failed:\n{}",
        all_output(&out)
    );
}

/// `fail:N` for every step N: before (or at) the commit point the command exits 1 and the
/// repository is as before; after it, it exits 1 pointing at `recover --continue`, which then
/// completes the run, while `recover --abort` restores the state before.
///
/// A repository found exactly as before is used again for the next step (which also shows that
/// nothing is left in the way); a run that completes needs a fresh one.
fn fail_at_each_step(setup: fn() -> TestRepo, args: &[&str]) {
    let done = reference(setup, args);
    let (steps, commit_point) = plan_of(&setup(), args);
    assert!(steps >= 3, "{args:?}: only {steps} steps");
    let r = setup();
    let before = r.snapshot();
    std::thread::scope(|scope| {
        for n in 1..=steps {
            let what = format!("{args:?} fail:{n}");
            let spec = format!("fail:{n}");
            let out = r.run_env(args, &[(FAILPOINT, &spec)]);
            let text = all_output(&out);
            let took_effect = commit_point.is_some_and(|cp| n - 1 > cp);
            // Exit 1 only when nothing changed (repro round2 01).
            let code = if took_effect { 128 } else { 1 };
            assert_eq!(out.status.code(), Some(code), "{what}: {text}");
            assert!(
                text.contains(&format!("failpoint: step {n} failed")),
                "{what}: {text}"
            );
            if !took_effect {
                assert!(text.contains("nothing was changed"), "{what}: {text}");
                assert_same(&r.snapshot(), &before, &what);
                assert_nothing_pending(&r, &what);
                continue;
            }
            assert!(text.contains("took effect"), "{what}: {text}");
            assert!(
                text.contains("git parallel recover --continue"),
                "{what}: {text}"
            );
            let next = r.run(args);
            assert_eq!(next.status.code(), Some(1), "{what}: {}", all_output(&next));
            assert!(
                all_output(&next).contains("recover"),
                "{what}: {}",
                all_output(&next)
            );
            recover(&r, "--abort", &what);
            assert_same(&r.snapshot(), &before, &format!("{what}: recover --abort"));
            assert_nothing_pending(&r, &what);

            // On a fresh copy, alongside: recover --continue completes the run.
            let done = &done;
            scope.spawn(move || {
                let r = setup();
                let out = r.run_env(args, &[(FAILPOINT, &spec)]);
                assert_eq!(out.status.code(), Some(128), "{what}: {}", all_output(&out));
                recover(&r, "--continue", &what);
                assert_same(
                    &r.snapshot().normalized(&r),
                    done,
                    &format!("{what}: recover --continue"),
                );
                assert_nothing_pending(&r, &what);
            });
        }
    });
    // After all these failures, the command runs to the normal result.
    r.ok(args);
    assert_same(
        &r.snapshot().normalized(&r),
        &done,
        &format!("{args:?} after the failures"),
    );
}

/// `kill:N` / `killafter:N` for every step N: the process dies, every command refuses naming
/// recover; `recover --abort` restores the state before (and the repository is used again for
/// the next step), `recover --continue` (on a fresh copy) reaches the state of an
/// uninterrupted run.
fn kill_at_each_step(setup: fn() -> TestRepo, args: &[&str], kind: &str) {
    let done = reference(setup, args);
    let (steps, _) = plan_of(&setup(), args);
    std::thread::scope(|scope| {
        // The fresh copies (mostly waiting on git and fsync) run alongside.
        for n in 1..=steps {
            let done = &done;
            scope.spawn(move || {
                let what = format!("{args:?} {kind}:{n}");
                let r = setup();
                let out = r.run_env(args, &[(FAILPOINT, &format!("{kind}:{n}"))]);
                assert_killed_and_pending(&r, &out, args, &what);
                recover(&r, "--continue", &what);
                assert_same(
                    &r.snapshot().normalized(&r),
                    done,
                    &format!("{what}: recover --continue"),
                );
                assert_nothing_pending(&r, &what);
            });
        }
        let r = setup();
        let before = r.snapshot();
        for n in 1..=steps {
            let what = format!("{args:?} {kind}:{n}");
            let out = r.run_env(args, &[(FAILPOINT, &format!("{kind}:{n}"))]);
            assert_killed_and_pending(&r, &out, args, &what);
            recover(&r, "--abort", &what);
            assert_same(&r.snapshot(), &before, &format!("{what}: recover --abort"));
            assert_nothing_pending(&r, &what);
        }
    });
}

#[test]
fn start_plan_has_no_commit_point() {
    let (steps, cp) = plan_of(&start_repo(), START);
    assert_eq!(steps, 6);
    assert_eq!(cp, None);
}

#[test]
fn finish_plan_commits_when_the_target_moves() {
    let r = finish_repo();
    let (steps, cp) = plan_of(&r, FINISH);
    // test gate, refs (target + backups), main worktree <- commit point, 3 worktree removals,
    // branch deletions.
    assert_eq!(steps, 7);
    assert_eq!(cp, Some(2));
}

#[test]
fn start_fail_at_each_step() {
    fail_at_each_step(start_repo, START);
}

#[test]
fn start_kill_before_each_step() {
    kill_at_each_step(start_repo, START, "kill");
}

#[test]
fn start_kill_after_each_step() {
    kill_at_each_step(start_repo, START, "killafter");
}

#[test]
fn finish_fail_at_each_step() {
    fail_at_each_step(finish_repo, FINISH);
}

#[test]
fn finish_kill_before_each_step() {
    kill_at_each_step(finish_repo, FINISH, "kill");
}

#[test]
fn finish_kill_after_each_step() {
    kill_at_each_step(finish_repo, FINISH, "killafter");
}

#[test]
fn undo_fail_at_each_step_restores_the_finished_state() {
    // undo is a transaction too: a failure at any of its steps leaves the finished state.
    let r = finish_repo();
    r.ok(FINISH);
    let (steps, cp) = plan_of(&r, &["undo"]);
    assert_eq!(cp, None);
    for n in 1..=steps {
        let what = format!("undo fail:{n}");
        let before = r.snapshot();
        let out = r.run_env(&["undo"], &[(FAILPOINT, &format!("fail:{n}"))]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", all_output(&out));
        assert_same(&r.snapshot(), &before, &what);
        assert_nothing_pending(&r, &what);
    }
}

/// Another process moves the target after the plan was checked: the compare-and-swap of the
/// first step fails and everything is rolled back; the other process's commit stays.
#[test]
fn start_refuses_when_the_target_moves_under_it() {
    let r = start_repo();
    let out = r
        .cmd()
        .env(
            "GIT_PARALLEL_FAILPOINT",
            "run:1:git commit -q --allow-empty -m moved-meanwhile",
        )
        .arg("start")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("nothing was changed"),
        "{}",
        all_output(&out)
    );
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]).trim(),
        "moved-meanwhile"
    );
    assert_nothing_pending(&r, "after a refused start");
    assert_eq!(
        r.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    assert!(r.git(&["branch", "--list", "feature/*"]).trim().is_empty());
}

// repro round2 15
/// The user commits a change to the task file on the target while finish's test gate runs: the
/// compare-and-swap on the target fails and finish is a plain refusal (exit 1, no journal), the
/// user's commit and files untouched, every worktree and branch in place.
#[test]
fn finish_refuses_cleanly_when_the_task_file_is_committed_on_the_target_meanwhile() {
    let r = finish_repo();
    let edit = format!(
        "run:2:printf '# edited meanwhile\\n' >> {t} && git commit -q -am user-edit",
        t = r.tasks
    );
    let out = r.run_env(FINISH, &[(FAILPOINT, &edit)]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("nothing was changed"),
        "{}",
        all_output(&out)
    );
    assert_eq!(r.git(&["log", "-1", "--format=%s"]).trim(), "user-edit");
    assert!(r.task_file().ends_with("# edited meanwhile\n"));
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    assert_nothing_pending(&r, "after a refused finish");
    assert_eq!(r.worktree_list().matches("worktree ").count(), 4);
    // Nothing stands in the way of the next finish.
    r.ok(FINISH);
}

// repro round2 01
/// A task branch moves after finish's commit point (a late commit while its worktree is
/// removed): finish completes (exit 0), keeps the moved branch with its new commit and says
/// so; nothing is pending.
#[test]
fn finish_keeps_a_branch_moved_after_its_commit_point() {
    let r = finish_repo();
    let mut args = FINISH.to_vec();
    args.extend(["--dry-run", "--json"]);
    let plan = json(&r.ok(&args));
    let steps = plan["plan"]["steps"].as_array().expect("steps");
    let cp = plan["plan"]["commit_point"].as_u64().expect("commit point") as usize;
    // The step that deletes the task branches (after the commit point).
    let n = steps
        .iter()
        .rposition(|s| {
            s["type"] == "refs"
                && s["updates"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|u| u["new"].is_null()))
        })
        .expect("a branch deletion")
        + 1;
    assert!(n - 1 > cp, "the deletion is after the commit point");
    let b = "feature/muaththir/backend-BACKEND-01";
    let late = format!(
        "run:{n}:git update-ref refs/heads/{b} $(git commit-tree -p {b} -m late {b}^{{tree}})"
    );
    let out = r.run_env(FINISH, &[(FAILPOINT, &late)]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("moved to") && text.contains(b), "{text}");
    assert_nothing_pending(&r, "after finish");
    // The branch is kept with the late commit; the others are gone; all three landed.
    assert_eq!(r.git(&["log", "-1", "--format=%s", b]).trim(), "late");
    assert!(!r.ref_exists("refs/heads/feature/muaththir/devops-DEVOPS-01"));
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        assert_eq!(
            crate::support::field(&r.task_file(), id, "status").as_deref(),
            Some("completed")
        );
    }
}

/// A task branch created by someone else between the plan and its creation.
#[test]
fn start_refuses_when_a_branch_appears_under_it() {
    let r = start_repo();
    let before = r.snapshot();
    let out = r
        .cmd()
        .env(
            "GIT_PARALLEL_FAILPOINT",
            "run:3:git branch feature/muaththir/backend-BACKEND-01 HEAD~1",
        )
        .arg("start")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    r.git(&["branch", "-D", "feature/muaththir/backend-BACKEND-01"]);
    let after = r.snapshot();
    assert_eq!(after.refs, before.refs);
    assert_eq!(after.worktrees, before.worktrees);
    assert_eq!(after.files, before.files);
    assert_eq!(after.head, before.head);
}

/// A kill in the middle of updating the main worktree can leave the task file there half
/// written (seen in the random kill series: an empty file). Until `recover` settles it,
/// `status` still explains the state, from the task file committed at HEAD.
#[test]
fn status_reads_the_committed_task_file_while_the_main_worktree_copy_is_half_written() {
    let r = finish_repo();
    let out = r.run_env(FINISH, &[(FAILPOINT, "kill:3")]);
    assert!(out.status.signal().is_some(), "{}", all_output(&out));
    std::fs::write(r.root.join(&r.tasks), "").unwrap();
    let out = r.run(&["status"]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("interrupted operation is pending"), "{text}");
    assert!(text.contains("committed at HEAD"), "{text}");
    // recover settles it, the task file included.
    r.ok(&["recover", "--continue"]);
    assert!(!r.task_file().is_empty());
    r.ok(&["status"]);
}

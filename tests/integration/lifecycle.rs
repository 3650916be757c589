//! Tests of the task lifecycle commands: abort, fail, retry, approve and gc; approve without a
//! git identity; abort and undo giving back the task file as it was before start.

use std::path::PathBuf;

use crate::support::*;

/// A started task as `start --json` reports it.
struct Started {
    branch: String,
    worktree: PathBuf,
}

/// The started task `id`.
fn of<'a>(started: &'a [(String, Started)], id: &str) -> &'a Started {
    &started
        .iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("{id} was not started"))
        .1
}

/// muaththir with ARCH-01 approved: DEVOPS-01, BACKEND-01 and FRONTEND-01 are ready.
fn approved_repo() -> TestRepo {
    let r = TestRepo::muaththir();
    r.ok(&["approve", "ARCH-01"]);
    r
}

/// Starts tasks and returns id → branch and worktree.
fn start(r: &TestRepo, ids: &[&str]) -> Vec<(String, Started)> {
    let mut args = vec!["start", "--json"];
    args.extend_from_slice(ids);
    let v = json(&r.ok(&args));
    v["started"]
        .as_array()
        .expect("started")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                Started {
                    branch: t["branch"].as_str().unwrap().to_string(),
                    worktree: PathBuf::from(t["worktree"].as_str().unwrap()),
                },
            )
        })
        .collect()
}

fn start_one(r: &TestRepo, id: &str) -> Started {
    start(r, &[id]).pop().expect("one started").1
}

/// `git for-each-ref` lines, without the target branch (which task-file commits move).
fn refs_but_main(r: &TestRepo) -> Vec<String> {
    r.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter(|l| !l.starts_with("refs/heads/main "))
        .map(str::to_string)
        .collect()
}

fn commit_in(r: &TestRepo, wt: &std::path::Path, file: &str, content: &str, msg: &str) {
    std::fs::create_dir_all(wt.join(file).parent().unwrap()).unwrap();
    std::fs::write(wt.join(file), content).unwrap();
    r.git_in(wt, &["add", "-A"]);
    r.git_in(wt, &["commit", "-q", "-m", msg]);
}

fn last_subject(r: &TestRepo) -> String {
    r.git(&["log", "-1", "--format=%s", "main"])
        .trim()
        .to_string()
}

// ---- abort ---------------------------------------------------------------------------------

#[test]
fn abort_clean_tasks_sets_them_back_to_pending() {
    let r = approved_repo();
    let before_text = r.task_file();
    let before_refs = refs_but_main(&r);
    let started = start(&r, &[]);
    assert_eq!(started.len(), 3, "three tasks start");

    // Dry run: nothing changes.
    let snap = r.snapshot();
    let out = r.ok(&["abort", "--dry-run"]);
    assert!(out.contains("remove worktree"), "{out}");
    assert_eq!(r.snapshot(), snap);

    let out = r.ok(&["abort"]);
    assert!(out.contains("Aborted 3 tasks"), "{out}");
    for (id, s) in &started {
        assert!(!s.worktree.exists(), "{id}: worktree removed");
        assert!(
            !r.ref_exists(&format!("refs/heads/{}", s.branch)),
            "{id}: branch deleted"
        );
        assert_eq!(
            field(&r.task_file(), id, "status").as_deref(),
            Some("pending")
        );
        // The keys start added are gone again (the task-file tests at the end of this file).
        assert_eq!(field(&r.task_file(), id, "started_at").as_deref(), None);
        assert_eq!(field(&r.task_file(), id, "assigned_to").as_deref(), None);
    }
    assert_eq!(
        r.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    // Refs other than the target are exactly as before the start.
    assert_eq!(refs_but_main(&r), before_refs);
    // The task file is as before the start (the approval it started from included).
    let old: Vec<&str> = before_text.lines().collect();
    let after_text = r.task_file();
    let new: Vec<&str> = after_text.lines().collect();
    let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
    assert!(added.is_empty(), "added lines: {added:?}");
    assert!(
        old.iter().all(|l| new.contains(l)),
        "no line of the file was lost"
    );
    assert_eq!(
        last_subject(&r),
        "chore(muaththir): abort DEVOPS-01, BACKEND-01, FRONTEND-01"
    );
    // The main worktree follows the target and is clean.
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    // The tasks are ready again.
    assert_eq!(start(&r, &[]).len(), 3);
}

#[test]
fn abort_named_task_leaves_the_others_running() {
    let r = approved_repo();
    let started = start(&r, &[]);
    let out = r.ok(&["abort", "--json", "BACKEND-01"]);
    let v = json(&out);
    assert_eq!(v["command"], "abort");
    assert_eq!(v["aborted"][0]["id"], "BACKEND-01");
    assert!(v["aborted"][0]["backup"].is_null());
    for (id, s) in &started {
        let running = id != "BACKEND-01";
        assert_eq!(s.worktree.exists(), running, "{id}");
        assert_eq!(
            r.ref_exists(&format!("refs/heads/{}", s.branch)),
            running,
            "{id}"
        );
    }
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("in_progress")
    );
    assert_eq!(last_subject(&r), "chore(muaththir): abort BACKEND-01");
}

#[test]
fn abort_refuses_work_and_lists_every_problem() {
    let r = approved_repo();
    let started = start(&r, &[]);
    let wt = |id: &str| of(&started, id).worktree.clone();
    commit_in(&r, &wt("DEVOPS-01"), "ci.yml", "on: push\n", "add ci");
    std::fs::write(wt("BACKEND-01").join("notes.txt"), "draft\n").unwrap();
    r.git(&["worktree", "lock", wt("FRONTEND-01").to_str().unwrap()]);

    let snap = r.snapshot();
    let out = r.run(&["abort"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("DEVOPS-01") && err.contains("1 commit of its own"),
        "{err}"
    );
    assert!(
        err.contains("BACKEND-01") && err.contains("notes.txt"),
        "{err}"
    );
    assert!(
        err.contains("FRONTEND-01") && err.contains("locked"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(r.snapshot(), snap, "nothing changed");

    // Named one at a time, each is refused too.
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        let out = r.run(&["abort", id]);
        assert_eq!(out.status.code(), Some(1), "{id}");
        assert_eq!(r.snapshot(), snap, "{id}: nothing changed");
    }
    // Not in progress: refused.
    let out = r.run(&["abort", "QA-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not in_progress"), "{}", stderr(&out));
    assert_eq!(r.snapshot(), snap);
}

#[test]
fn abort_force_backs_up_commits_and_uncommitted_changes() {
    let r = approved_repo();
    let started = start(&r, &[]);
    let wt = |id: &str| of(&started, id).worktree.clone();
    let br = |id: &str| of(&started, id).branch.clone();
    let devops = wt("DEVOPS-01");
    commit_in(&r, &devops, "ci.yml", "on: push\n", "add ci");
    let tip = r.git_in(&devops, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(devops.join("ci.yml"), "on: [push, pull_request]\n").unwrap();
    std::fs::write(devops.join("untracked.txt"), "new\n").unwrap();
    r.git(&["worktree", "lock", wt("FRONTEND-01").to_str().unwrap()]);

    let out = r.ok(&["abort", "--force", "DEVOPS-01", "FRONTEND-01"]);
    assert!(out.contains("refs/parallel/backup/DEVOPS-01"), "{out}");
    assert!(
        out.contains(&format!(
            "git branch {} refs/parallel/backup/DEVOPS-01",
            br("DEVOPS-01")
        )),
        "{out}"
    );
    assert!(
        out.contains("git checkout refs/parallel/backup/DEVOPS-01-wip -- ."),
        "{out}"
    );
    assert!(!devops.exists());
    assert!(
        !wt("FRONTEND-01").exists(),
        "a locked worktree is removed with --force"
    );
    assert!(!r.ref_exists(&format!("refs/heads/{}", br("DEVOPS-01"))));
    assert!(wt("BACKEND-01").exists(), "not named, still running");

    // The committed work is in the backup ref.
    assert_eq!(r.rev("refs/parallel/backup/DEVOPS-01"), tip);
    // The uncommitted work is a commit on top of it.
    assert_eq!(r.rev("refs/parallel/backup/DEVOPS-01-wip^"), tip);
    assert_eq!(
        r.git(&["show", "refs/parallel/backup/DEVOPS-01-wip:ci.yml"]),
        "on: [push, pull_request]\n"
    );
    assert_eq!(
        r.git(&["show", "refs/parallel/backup/DEVOPS-01-wip:untracked.txt"]),
        "new\n"
    );
    // FRONTEND-01 had only a lock: its tip is saved, no wip.
    assert!(r.ref_exists("refs/parallel/backup/FRONTEND-01"));
    assert!(!r.ref_exists("refs/parallel/backup/FRONTEND-01-wip"));
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("pending")
    );

    // Aborting the same task again backs up under a new name.
    let s = start_one(&r, "DEVOPS-01");
    commit_in(&r, &s.worktree, "x.txt", "x\n", "x");
    let out = r.ok(&["abort", "--force", "--json", "DEVOPS-01"]);
    let v = json(&out);
    assert_eq!(
        v["aborted"][0]["backup"],
        "refs/parallel/backup/DEVOPS-01-2"
    );
    assert!(v["aborted"][0]["wip"].is_null());
    assert_eq!(
        r.rev("refs/parallel/backup/DEVOPS-01"),
        tip,
        "the first backup is kept"
    );
}

#[test]
fn abort_with_nothing_in_progress() {
    let r = approved_repo();
    let snap = r.snapshot();
    let out = r.ok(&["abort"]);
    assert!(out.contains("Nothing to abort"), "{out}");
    assert_eq!(r.snapshot(), snap);
}

// ---- fail and retry ----------------------------------------------------------------------

#[test]
fn fail_records_the_failure_and_keeps_the_work() {
    let r = approved_repo();
    let s = start_one(&r, "BACKEND-01");
    commit_in(&r, &s.worktree, "api.txt", "wip\n", "api wip");
    let tip = r.rev(&format!("refs/heads/{}", s.branch));

    let snap = r.snapshot();
    r.ok(&[
        "fail",
        "--dry-run",
        "BACKEND-01",
        "--reason",
        "tests time out",
    ]);
    assert_eq!(r.snapshot(), snap);

    let out = r.ok(&["fail", "BACKEND-01", "--reason", "tests time out"]);
    assert!(out.contains("Marked BACKEND-01 failed"), "{out}");
    let text = r.task_file();
    assert_eq!(
        field(&text, "BACKEND-01", "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        field(&text, "BACKEND-01", "retry_count").as_deref(),
        Some("1")
    );
    // The schema's result: failure, the files the branch changed, the reason.
    assert_eq!(
        field(&text, "BACKEND-01", "result").as_deref(),
        Some(r#"{status: "failure", artifacts_created: ["api.txt"], message: "tests time out"}"#)
    );
    assert_eq!(last_subject(&r), "chore(muaththir): fail BACKEND-01");
    assert!(s.worktree.join("api.txt").exists(), "worktree kept");
    assert_eq!(
        r.rev(&format!("refs/heads/{}", s.branch)),
        tip,
        "branch kept"
    );

    // Only in-progress tasks fail.
    let snap = r.snapshot();
    for id in ["BACKEND-01", "QA-01", "NOPE-99"] {
        let out = r.run(&["fail", id]);
        assert_eq!(out.status.code(), Some(1), "{id}: {}", stderr(&out));
    }
    assert_eq!(r.snapshot(), snap);
}

#[test]
fn retry_starts_afresh_and_keeps_the_old_attempt() {
    let r = approved_repo();
    let s = start_one(&r, "BACKEND-01");
    commit_in(&r, &s.worktree, "api.txt", "attempt 1\n", "attempt 1");
    let old_tip = r.rev(&format!("refs/heads/{}", s.branch));
    r.ok(&["fail", "BACKEND-01", "-m", "broken"]);

    // Refused while the old worktree has changes; nothing changes.
    std::fs::write(s.worktree.join("scratch.txt"), "x\n").unwrap();
    let snap = r.snapshot();
    let out = r.run(&["retry", "BACKEND-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("scratch.txt"), "{}", stderr(&out));
    assert_eq!(r.snapshot(), snap);
    std::fs::remove_file(s.worktree.join("scratch.txt")).unwrap();

    let snap = r.snapshot();
    r.ok(&["retry", "--dry-run", "BACKEND-01"]);
    assert_eq!(r.snapshot(), snap);

    let v = json(&r.ok(&["retry", "--json", "BACKEND-01"]));
    assert_eq!(
        v["retried"]["backup"],
        "refs/parallel/backup/BACKEND-01-retry1"
    );
    assert_eq!(v["retried"]["branch"], s.branch.as_str());
    assert_eq!(
        PathBuf::from(v["retried"]["worktree"].as_str().unwrap()),
        s.worktree
    );
    assert_eq!(r.rev("refs/parallel/backup/BACKEND-01-retry1"), old_tip);
    // A fresh branch from the target's new tip (the retry commit), a fresh worktree.
    assert_eq!(last_subject(&r), "chore(muaththir): retry BACKEND-01");
    assert_eq!(r.rev(&format!("refs/heads/{}", s.branch)), r.rev("main"));
    assert!(s.worktree.is_dir());
    assert!(
        !s.worktree.join("api.txt").exists(),
        "the old work is not in the new worktree"
    );
    assert_eq!(
        r.git_in(&s.worktree, &["symbolic-ref", "HEAD"]).trim(),
        format!("refs/heads/{}", s.branch)
    );
    let text = r.task_file();
    assert_eq!(
        field(&text, "BACKEND-01", "status").as_deref(),
        Some("in_progress")
    );
    assert_eq!(
        field(&text, "BACKEND-01", "retry_count").as_deref(),
        Some("1")
    );
    assert_eq!(
        field(&text, "BACKEND-01", "started_at").as_deref(),
        Some(NOW)
    );

    // A task that did not fail is not retried.
    let out = r.run(&["retry", "BACKEND-01"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn retry_refuses_after_max_retries_and_blocks_the_task() {
    let r = approved_repo();
    r.git(&["config", "parallel.maxRetries", "1"]);
    let s = start_one(&r, "DEVOPS-01");
    r.ok(&["fail", "DEVOPS-01"]);
    r.ok(&["retry", "DEVOPS-01"]);
    r.ok(&["fail", "DEVOPS-01"]);
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "retry_count").as_deref(),
        Some("2")
    );
    let head = r.rev("main");
    let out = r.run(&["retry", "DEVOPS-01"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("marked it blocked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("blocked")
    );
    assert_eq!(r.rev("main^"), head, "the blocking is committed");
    assert!(last_subject(&r).starts_with("chore(muaththir): block DEVOPS-01"));
    assert!(s.worktree.is_dir(), "the worktree is kept");
    // Blocked: no more retries.
    let snap = r.snapshot();
    assert_eq!(r.run(&["retry", "DEVOPS-01"]).status.code(), Some(1));
    assert_eq!(r.snapshot(), snap);
}

// ---- approve ------------------------------------------------------------------------------

#[test]
fn approve_makes_dependents_ready() {
    let r = TestRepo::muaththir();
    // ARCH-01 is a completed checkpoint awaiting approval: nothing starts.
    let out = r.ok(&["start"]);
    assert!(out.contains("Nothing to start"), "{out}");

    // Refusals: not a checkpoint, not completed.
    let snap = r.snapshot();
    for id in ["DEVOPS-01", "NOPE-99"] {
        let out = r.run(&["approve", id]);
        assert_eq!(out.status.code(), Some(1), "{id}");
    }
    assert_eq!(r.snapshot(), snap);

    let out = r.ok(&["approve", "ARCH-01"]);
    assert!(out.contains("Approved ARCH-01"), "{out}");
    assert!(
        out.contains("DEVOPS-01") && out.contains("BACKEND-01") && out.contains("FRONTEND-01"),
        "{out}"
    );
    assert_eq!(
        field(&r.task_file(), "ARCH-01", "approved_at").as_deref(),
        Some(NOW)
    );
    assert_eq!(last_subject(&r), "chore(muaththir): approve ARCH-01");
    assert_eq!(r.git(&["status", "--porcelain"]), "");

    // Approving again is a no-op with a note.
    let snap = r.snapshot();
    let out = r.ok(&["approve", "ARCH-01"]);
    assert!(out.contains("already approved"), "{out}");
    assert_eq!(r.snapshot(), snap);

    let mut ids: Vec<String> = start(&r, &[]).into_iter().map(|(id, _)| id).collect();
    ids.sort();
    assert_eq!(ids, ["BACKEND-01", "DEVOPS-01", "FRONTEND-01"]);
}

#[test]
fn approve_refuses_an_unfinished_checkpoint() {
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| t);
    let out = r.run(&["approve", "PRD-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not completed"), "{}", stderr(&out));
}

// ---- gc -----------------------------------------------------------------------------------

#[test]
fn gc_deletes_only_old_backups() {
    let r = approved_repo();
    let s = start_one(&r, "DEVOPS-01");
    // Work committed long ago: the backup's age counts from when it was made, not from this.
    std::fs::write(s.worktree.join("ci.yml"), "on: push\n").unwrap();
    r.git_in(&s.worktree, &["add", "-A"]);
    let out = r
        .git_cmd(&s.worktree)
        .args(["commit", "-q", "-m", "ci"])
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(s.worktree.join("wip.txt"), "wip\n").unwrap();
    r.ok(&["abort", "--force"]);
    assert!(r.ref_exists("refs/parallel/backup/DEVOPS-01"));
    assert!(r.ref_exists("refs/parallel/backup/DEVOPS-01-wip"));

    // Default: 30 days; the backups are new.
    let snap = r.snapshot();
    let out = r.ok(&["gc"]);
    assert!(out.contains("Nothing to delete"), "{out}");
    assert_eq!(r.snapshot(), snap);

    // A month later they are old.
    let later = r
        .cmd()
        .args(["gc", "--json"])
        .env("GIT_PARALLEL_NOW", "2026-04-15T12:00:00Z")
        .output()
        .unwrap();
    crate::support::assert_ok(&later, &["gc"]);
    let v = json(&stdout(&later));
    assert_eq!(v["deleted"].as_array().unwrap().len(), 2, "{v}");
    assert!(!r.ref_exists("refs/parallel/backup/DEVOPS-01"));
}

#[test]
fn gc_with_keep_backups_zero_deletes_every_backup() {
    let r = approved_repo();
    let s = start_one(&r, "DEVOPS-01");
    commit_in(&r, &s.worktree, "ci.yml", "on: push\n", "ci");
    r.ok(&["abort", "--force"]);
    assert!(r.ref_exists("refs/parallel/backup/DEVOPS-01"));
    r.git(&["config", "parallel.keepBackups", "0"]);

    let snap = r.snapshot();
    let out = r.ok(&["gc", "--dry-run"]);
    assert!(
        out.contains("delete refs/parallel/backup/DEVOPS-01"),
        "{out}"
    );
    assert_eq!(r.snapshot(), snap);

    let out = r.ok(&["gc"]);
    assert!(out.contains("Deleted 1 backup ref"), "{out}");
    assert!(!r.ref_exists("refs/parallel/backup/DEVOPS-01"));
    assert!(refs_but_main(&r)
        .iter()
        .all(|l| !l.starts_with("refs/parallel/")));
}

// ---- edge cases ---------------------------------------------------------------------------

#[test]
fn abort_ignores_unchanged_copies_of_include_files() {
    let r = approved_repo();
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "include .env"]);
    r.write(".env", "SECRET=1\n");
    let s = start_one(&r, "DEVOPS-01");
    assert_eq!(
        std::fs::read_to_string(s.worktree.join(".env")).unwrap(),
        "SECRET=1\n"
    );
    // A changed copy is the agent's work: refused.
    std::fs::write(s.worktree.join(".env"), "SECRET=2\n").unwrap();
    let out = r.run(&["abort", "DEVOPS-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(".env"), "{}", stderr(&out));
    // An unchanged copy is ours: aborted without --force.
    std::fs::write(s.worktree.join(".env"), "SECRET=1\n").unwrap();
    r.ok(&["abort", "DEVOPS-01"]);
    assert!(!s.worktree.exists());
    assert_eq!(
        r.read(".env"),
        "SECRET=1\n",
        "the main worktree's file is untouched"
    );
}

#[test]
fn abort_a_task_whose_worktree_is_gone() {
    let r = approved_repo();
    let s = start_one(&r, "DEVOPS-01");
    r.git(&["worktree", "remove", s.worktree.to_str().unwrap()]);
    r.ok(&["abort"]);
    assert!(!r.ref_exists(&format!("refs/heads/{}", s.branch)));
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("pending")
    );
}

#[test]
fn undo_of_a_forced_abort_brings_the_task_back() {
    let r = approved_repo();
    let s = start_one(&r, "DEVOPS-01");
    commit_in(&r, &s.worktree, "ci.yml", "on: push\n", "ci");
    let tip = r
        .git_in(&s.worktree, &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    let main_before = r.rev("main");
    r.ok(&["abort", "--force"]);
    r.ok(&["undo"]);
    assert_eq!(r.rev("main"), main_before);
    assert_eq!(r.rev(&format!("refs/heads/{}", s.branch)), tip);
    assert!(s.worktree.join("ci.yml").exists());
    assert!(!r.ref_exists("refs/parallel/backup/DEVOPS-01"));
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("in_progress")
    );
}

// ---- approve without a git identity ------------------------------------------------------------

/// Without a git identity, `approve --dry-run` still shows the plan, and `approve` refuses up
/// front with git's config commands, changing nothing.
#[test]
fn no_git_identity_dry_run_shows_the_plan_and_the_real_run_says_how_to_fix_it() {
    let r = TestRepo::muaththir();
    let before = r.snapshot();
    let no_identity = |args: &[&str]| {
        let mut c = r.cmd();
        for var in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
        ] {
            c.env_remove(var);
        }
        // No identity configured, and git told not to guess one from the host name.
        c.env_remove("EMAIL")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "user.useConfigOnly")
            .env("GIT_CONFIG_VALUE_0", "true")
            .args(args)
            .output()
            .expect("run")
    };
    let out = no_identity(&["approve", "--dry-run", "ARCH-01"]);
    assert_ok(&out, &["approve", "--dry-run"]);
    assert!(
        stdout(&out).contains("plan: approve ARCH-01"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("the real run needs one"),
        "{}",
        stderr(&out)
    );
    let out = no_identity(&["approve", "ARCH-01"]);
    let err = refused(&out);
    assert!(err.contains("git needs your name and email"), "{err}");
    assert!(err.contains("git config --global user.email"), "{err}");
    assert_same(&before, &r.snapshot(), "approve without an identity");
}

// ---- abort and undo give the task file back as it was before start -----------------------------

/// The text without the metadata's `updated_at` line (every operation stamps it).
fn without_updated_at(text: &str) -> String {
    let mut seen = false;
    text.split_inclusive('\n')
        .filter(|l| {
            let drop = !seen && l.trim_start().starts_with("updated_at:");
            seen |= drop;
            !drop
        })
        .collect()
}

/// Starts what `start` starts on its own and aborts exactly those; the task file must be
/// as before but for `updated_at`.
fn start_then_abort(r: &TestRepo, extra: &[&str]) {
    let before = r.task_file();
    let mut args = vec!["start", "--json"];
    args.extend_from_slice(extra);
    let v = json(&r.ok(&args));
    let ids: Vec<String> = v["started"]
        .as_array()
        .expect("started")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect();
    assert!(!ids.is_empty(), "{}: nothing started", r.tasks);
    let started = r.task_file();
    assert!(started.contains("started_at:") && started.contains("assigned_to:"));
    let mut args = vec!["abort"];
    args.extend_from_slice(extra);
    args.extend(ids.iter().map(String::as_str));
    r.ok(&args);
    assert_eq!(
        without_updated_at(&r.task_file()),
        without_updated_at(&before),
        "{}: abort of {ids:?} did not give the task file back",
        r.tasks
    );
    assert!(r.git(&["status", "--porcelain"]).trim().is_empty());
}

#[test]
fn abort_gives_back_the_task_file_of_every_corpus_graph() {
    for name in [
        "muaththir",
        "basic-calculator",
        "connectgrc",
        "stablecoin-gateway",
        "studyflow",
    ] {
        let r = TestRepo::with_graph(&format!("{name}.task-graph.yml"), name, |t| {
            if name == "connectgrc" {
                // Its FRONTEND-01 is in progress and nothing else is ready: finish it by hand.
                set_status(&t, "FRONTEND-01", "completed")
            } else {
                t
            }
        });
        if name == "studyflow" {
            // Nothing is ready until the architecture checkpoint is approved.
            r.ok(&["approve", "ARCH-01"]);
        }
        start_then_abort(&r, &[]);
        // Abort, then the same again: still the same file.
        start_then_abort(&r, &[]);
    }
}

#[test]
fn abort_restores_keys_that_were_there_before_start() {
    // BACKEND-01 had `started_at: null` and an assigned_to before it was started.
    let r = crate::support::muaththir::with_keys_before_start();
    assert_eq!(
        field(&r.task_file(), "BACKEND-01", "assigned_to").as_deref(),
        Some("team-b")
    );
    start_then_abort(&r, &["BACKEND-01"]);
    // With --no-commit the task file is written in place, and abort reads what it replaced.
    start_then_abort(&r, &["--no-commit", "BACKEND-01"]);
}

#[test]
fn undo_of_start_gives_back_the_task_file_byte_for_byte() {
    let r = TestRepo::muaththir();
    r.ok(&["approve", "ARCH-01"]);
    let before = r.task_file();
    let main = r.rev("main");
    r.ok(&["start", "BACKEND-01", "FRONTEND-01"]);
    r.ok(&["undo"]);
    assert_eq!(r.task_file(), before);
    assert_eq!(r.rev("main"), main);
}

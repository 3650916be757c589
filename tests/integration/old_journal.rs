//! Journals and operation logs written by the release before the engine's data was typed
//! (tests/fixtures/old-journal/, recorded with that binary) still recover and undo: each test
//! rebuilds the same repository (fixed identities and dates make the same object ids), brings it
//! to the state the recording was made in, puts the old file in place and runs recover or undo.
//!
//! The fixtures hold the old files as written, only the temp directory replaced by `@BASE@`.
//! GIT_PARALLEL_RECORD_OLD_JOURNAL=1 writes them again from the binary under test instead (only
//! meaningful on a binary of the old format; kept to show how they were made).
//!
//! A finish makes commits whose text later releases change (merge subjects keep the task name's
//! case, the status commit records a `result`), so its fixtures also hold a bundle of the old
//! release's objects: the repository is brought to the same state by this binary, then its
//! target moved to the old release's commit (ref and main worktree, as the old steps did)
//! before the old file is put in place.

#![cfg(feature = "failpoints")]

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use crate::support::{all_output, assert_same, json, TestRepo};

const FAILPOINT: &str = "GIT_PARALLEL_FAILPOINT";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/old-journal")
        .join(name)
}

fn recording() -> bool {
    std::env::var_os("GIT_PARALLEL_RECORD_OLD_JOURNAL").is_some()
}

fn state(r: &TestRepo, file: &str) -> PathBuf {
    r.root.join(".git/parallel").join(file)
}

/// Records `file` of the state dir as fixture `name`, or (normally) puts fixture `name` in its
/// place with this repository's temp directory.
fn record_or_install(r: &TestRepo, file: &str, name: &str) {
    let base = r.base().display().to_string();
    if recording() {
        let text = std::fs::read_to_string(state(r, file)).expect("state file");
        std::fs::create_dir_all(fixture_path("")).expect("fixture dir");
        std::fs::write(fixture_path(name), text.replace(&base, "@BASE@")).expect("write fixture");
    } else {
        let text = std::fs::read_to_string(fixture_path(name)).expect("fixture");
        std::fs::write(state(r, file), text.replace("@BASE@", &base)).expect("install fixture");
    }
}

/// Records every ref and object of the repository as bundle `name`, or (normally) fetches the
/// objects of bundle `name` into it and returns the old release's `main` tip in it.
fn record_or_install_objects(r: &TestRepo, name: &str) -> Option<String> {
    let bundle = fixture_path(name);
    if recording() {
        r.git(&[
            "bundle",
            "create",
            "-q",
            &bundle.display().to_string(),
            "--all",
        ]);
        return None;
    }
    let path = bundle.display().to_string();
    let heads = r.git(&["bundle", "list-heads", &path]);
    let main = heads
        .lines()
        .find(|l| l.ends_with(" refs/heads/main"))
        .and_then(|l| l.split(' ').next())
        .expect("the bundle has main")
        .to_string();
    r.git(&["fetch", "-q", &path, "+refs/heads/*:refs/old-release/*"]);
    for line in r
        .git(&["for-each-ref", "--format=%(refname)", "refs/old-release/"])
        .lines()
    {
        r.git(&["update-ref", "-d", line]);
    }
    Some(main)
}

/// Moves the target to the old release's commit `old` as the old steps did: the ref, then the
/// main worktree's index and files.
fn onto_old_tip(r: &TestRepo, old: &str) {
    let cur = r.git(&["rev-parse", "refs/heads/main"]).trim().to_string();
    r.git(&["update-ref", "refs/heads/main", old, &cur]);
    r.git(&["read-tree", "-m", "-u", &cur, old]);
}

/// The state a completed finish of the three tasks leaves, its target at `tip`: no journal,
/// the task branches and worktrees gone, the main worktree clean at `tip`.
fn assert_finished_at(r: &TestRepo, tip: &str) {
    assert!(!state(r, "journal").exists(), "a journal is left");
    assert_eq!(r.git(&["rev-parse", "refs/heads/main"]).trim(), tip);
    assert_eq!(r.git(&["rev-parse", "HEAD"]).trim(), tip);
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    let branches = r.git(&["for-each-ref", "--format=%(refname)", "refs/heads/feature/"]);
    assert_eq!(branches.trim(), "", "task branches left");
    for dir in [
        "devops-DEVOPS-01",
        "backend-BACKEND-01",
        "frontend-FRONTEND-01",
    ] {
        assert!(
            !r.base().join("worktrees/muaththir").join(dir).exists(),
            "worktree {dir} left"
        );
    }
    r.git(&["fsck", "--no-progress", "--no-dangling"]);
}

/// muaththir ready to start, with an include file and a postStart hook (so the worktree steps
/// carry copies and a hook).
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

/// start_repo with the tasks started and one commit in each worktree, ready to finish.
fn finish_repo() -> TestRepo {
    let r = start_repo();
    r.ok(&["start"]);
    crate::support::muaththir::work_in_each(&r);
    r
}

const FINISH: &[&str] = &["finish", "--test", "true"];

/// Runs `args` killed by `failpoint`; the journal is left pending.
fn killed(r: &TestRepo, args: &[&str], failpoint: &str) {
    let out = r.run_env(args, &[(FAILPOINT, failpoint)]);
    assert!(
        out.status.signal().is_some(),
        "{args:?} {failpoint}: expected death by signal\n{}",
        all_output(&out)
    );
}

fn recover(r: &TestRepo, how: &str, what: &str) {
    let out = r.run(&["recover", how]);
    assert!(
        out.status.success(),
        "{what}: recover {how} with the old journal failed:\n{}",
        all_output(&out)
    );
}

/// The old journal of a start killed before its 3rd step: `recover --abort` restores the state
/// before, `recover --continue` (on a second repository) the state of a whole start.
#[test]
fn old_start_journal_recovers() {
    let r = start_repo();
    let before = r.snapshot();
    killed(&r, &["start"], "kill:3");
    record_or_install(&r, "journal", "start-kill-3.journal.json");
    recover(&r, "--abort", "start kill:3");
    assert_same(&r.snapshot(), &before, "old start journal: recover --abort");

    let done = {
        let d = start_repo();
        d.ok(&["start"]);
        d.snapshot().normalized(&d)
    };
    let r = start_repo();
    killed(&r, &["start"], "kill:3");
    record_or_install(&r, "journal", "start-kill-3.journal.json");
    recover(&r, "--continue", "start kill:3");
    assert_same(
        &r.snapshot().normalized(&r),
        &done,
        "old start journal: recover --continue",
    );
}

/// The old journal of a finish killed past its commit point (before the first worktree
/// removal): `recover --continue` completes it, `recover --abort` takes it back.
#[test]
fn old_finish_journal_recovers() {
    let done = {
        let d = finish_repo();
        d.ok(FINISH);
        d.snapshot().normalized(&d)
    };
    let r = finish_repo();
    killed(&r, FINISH, "kill:4");
    let old = record_or_install_objects(&r, "finish-kill-4.bundle");
    if let Some(old) = &old {
        onto_old_tip(&r, old);
    }
    record_or_install(&r, "journal", "finish-kill-4.journal.json");
    recover(&r, "--continue", "finish kill:4");
    match &old {
        Some(old) => assert_finished_at(&r, old),
        None => assert_same(
            &r.snapshot().normalized(&r),
            &done,
            "old finish journal: recover --continue",
        ),
    }

    let r = finish_repo();
    let before = r.snapshot();
    killed(&r, FINISH, "kill:4");
    if let Some(old) = record_or_install_objects(&r, "finish-kill-4.bundle") {
        onto_old_tip(&r, &old);
    }
    record_or_install(&r, "journal", "finish-kill-4.journal.json");
    recover(&r, "--abort", "finish kill:4");
    assert_same(
        &r.snapshot(),
        &before,
        "old finish journal: recover --abort",
    );
}

/// The old operation log of a start and a finish: `undo` takes the finish back. With the old
/// log of an undo after them, the next undo is of the start (the undo entry's `undoes` read).
#[test]
fn old_operation_log_undoes() {
    let r = finish_repo();
    let before = r.snapshot();
    r.ok(FINISH);
    if let Some(old) = record_or_install_objects(&r, "start-finish.bundle") {
        onto_old_tip(&r, &old);
    }
    record_or_install(&r, "log", "start-finish.log.jsonl");
    let out = r.run(&["undo"]);
    assert!(
        out.status.success(),
        "undo with the old log failed:\n{}",
        all_output(&out)
    );
    assert_same(&r.snapshot(), &before, "old log: undo of the finish");

    record_or_install(&r, "log", "start-finish-undo.log.jsonl");
    let plan = json(&r.ok(&["undo", "--dry-run", "--json"]));
    let summary = plan["plan"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("start"),
        "after the old undo entry the next undo is of the start: {plan}"
    );
}

/// The task file without its `updated_at` line (every operation stamps it).
fn without_updated_at(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("updated_at:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `abort` gives back the task entry as the start in the old log found it: BACKEND-01 had
/// `started_at: null` and an `assigned_to` before it was started, which only the log's start
/// entry (found by its meta's task ids, the target's old commit read from its ref update)
/// remembers.
#[test]
fn old_operation_log_gives_abort_the_entry_before_start() {
    let r = crate::support::muaththir::with_keys_before_start();
    let before = r.task_file();
    r.ok(&["start", "BACKEND-01"]);
    record_or_install(&r, "log", "start-keys.log.jsonl");
    r.ok(&["abort", "BACKEND-01"]);
    assert_eq!(
        without_updated_at(&r.task_file()),
        without_updated_at(&before),
        "abort with the old log did not give the task entry back"
    );
}

//! The promise that the user's work is never lost: abort, undo, gc and fail keep or restore
//! every change, ignored files are kept, foreign branches are never touched, and output errors
//! never hide that an operation took effect. Each test is one of the reproductions in issue 10.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::support::{field, stderr, stdout, TestRepo};

/// A graph of `n` independent tasks T1..Tn (agent backend-engineer) for product `demo`.
fn simple_graph(n: usize) -> String {
    let mut s =
        String::from("metadata:\n  product: demo\n  updated_at: '2026-01-01T00:00:00Z'\ntasks:\n");
    for i in 1..=n {
        s.push_str(&format!(
            "  - id: T{i}\n    name: Task {i}\n    agent: backend-engineer\n    depends_on: []\n    produces:\n      - {{ name: out, type: directory, path: src/t{i}/ }}\n    parallel_ok: true\n    status: pending\n"
        ));
    }
    s
}

/// A repository whose task file is `text` at products/demo/.claude/task-graph.yml.
fn repo_with(text: &str) -> TestRepo {
    let mut r = TestRepo::new();
    let rel = "products/demo/.claude/task-graph.yml".to_string();
    r.write(&rel, text);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = rel;
    r
}

/// The worktree `start` makes for task `id` of the simple graph.
fn wt(r: &TestRepo, id: &str) -> PathBuf {
    r.base()
        .join("worktrees/demo")
        .join(format!("backend-{id}"))
}

fn branch(id: &str) -> String {
    format!("refs/heads/feature/demo/backend-{id}")
}

/// Commits `file` with `content` in a worktree.
fn commit_in(r: &TestRepo, dir: &Path, file: &str, content: &str) {
    let p = dir.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    r.git_in(dir, &["add", "-A"]);
    r.git_in(dir, &["commit", "-q", "-m", &format!("work on {file}")]);
}

/// Whether `commit` is reachable from some ref of the repository at `git_dir`.
fn reachable(r: &TestRepo, git_dir: &Path, commit: &str) -> bool {
    let out = r
        .git_cmd(&r.root)
        .arg(format!("--git-dir={}", git_dir.display()))
        .args(["for-each-ref", "--contains", commit, "--format=%(refname)"])
        .output()
        .unwrap();
    out.status.success() && !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

fn journal_exists(r: &TestRepo) -> bool {
    std::fs::read_dir(r.path(".git/parallel"))
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("journal"))
        })
        .unwrap_or(false)
}

/// Runs git-parallel with stdout going to `/dev/full`.
fn run_to_dev_full(r: &TestRepo, args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    r.cmd()
        .args(args)
        .stdout(Stdio::from(full))
        .output()
        .expect("run git-parallel")
}

// ---- repro 12: output errors ----------------------------------------------------------------

#[test]
fn a_full_stdout_is_a_fatal_error_that_says_the_operation_took_effect() {
    let r = repo_with(&simple_graph(2));
    // Nothing applied: a plain fatal error, nothing changed.
    let before = r.snapshot();
    let out = run_to_dev_full(&r, &["start", "--dry-run"]);
    assert_eq!(out.status.code(), Some(128), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write to standard output"));
    assert_eq!(r.snapshot(), before);

    // start applies, then cannot print: 128 naming that it DID take effect.
    let out = run_to_dev_full(&r, &["start"]);
    assert_eq!(out.status.code(), Some(128), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("took effect"), "{err}");
    assert!(r.ref_exists(&branch("T1")) && r.ref_exists(&branch("T2")));
    assert!(wt(&r, "T1").is_dir());
    assert!(!journal_exists(&r), "the transaction is settled");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("in_progress")
    );

    // Read-only commands: non-zero, never 0 or 101.
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["path", "T1"],
        &["plan"],
    ] {
        let out = run_to_dev_full(&r, args);
        assert_eq!(out.status.code(), Some(128), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let r = repo_with(&simple_graph(3));
    r.ok(&["start"]);
    let mut child = r
        .cmd()
        .args(["status"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

// ---- repro 19: gc dates a backup by when it was made ------------------------------------------

#[test]
fn gc_dates_a_backup_by_when_it_was_made_not_by_its_commits() {
    let r = repo_with(&simple_graph(1));
    r.git(&["config", "core.logAllRefUpdates", "false"]);
    r.ok(&["start"]);
    let w = wt(&r, "T1");
    std::fs::create_dir_all(w.join("src/t1")).unwrap();
    std::fs::write(w.join("src/t1/f"), "valuable\n").unwrap();
    r.git_in(&w, &["add", "-A"]);
    let out = r
        .git_cmd(&w)
        .args(["commit", "-q", "-m", "old unmerged work"])
        .env("GIT_COMMITTER_DATE", "2025-12-01T00:00:00Z")
        .env("GIT_AUTHOR_DATE", "2025-12-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success());
    let tip = r.rev(&branch("T1"));
    r.ok(&["abort", "--force", "T1"]);
    assert_eq!(r.rev("refs/parallel/backup/T1"), tip);
    // A backup made by hand, with no reflog and no log entry: its age is unknown, so it is kept.
    r.git(&["update-ref", "refs/parallel/backup/by-hand", &tip]);

    let out = r.ok(&["gc"]);
    assert!(out.contains("Nothing to delete"), "{out}");
    assert_eq!(
        r.rev("refs/parallel/backup/T1"),
        tip,
        "a backup made today is kept"
    );

    // 31 days after the abort it is old; the one of unknown age stays.
    let out = r.run_env(&["gc"], &[("GIT_PARALLEL_NOW", "2026-04-01T12:00:00Z")]);
    crate::support::assert_ok(&out, &["gc"]);
    assert!(!r.ref_exists("refs/parallel/backup/T1"), "{}", stdout(&out));
    assert!(r.ref_exists("refs/parallel/backup/by-hand"));
}

// ---- repro 01: undo of abort --force ----------------------------------------------------------

#[test]
fn undo_of_abort_force_puts_the_uncommitted_changes_back_and_keeps_the_backups() {
    let r = repo_with(&simple_graph(1));
    r.ok(&["start"]);
    let w = wt(&r, "T1");
    std::fs::create_dir_all(w.join("src/t1")).unwrap();
    std::fs::write(w.join("src/t1/new.txt"), "precious uncommitted work\n").unwrap();
    std::fs::write(w.join("README.md"), "# product\nedited\n").unwrap();
    let tip = r.rev(&branch("T1"));

    let out = r.ok(&["abort", "--force", "T1"]);
    assert!(out.contains("refs/parallel/backup/T1-wip"), "{out}");
    let wip = r.rev("refs/parallel/backup/T1-wip");
    assert!(!w.exists());

    let out = r.ok(&["undo"]);
    assert!(out.contains("Undid"), "{out}");
    // The worktree is back on the branch, WITH the changes, uncommitted.
    assert_eq!(r.rev(&branch("T1")), tip);
    assert_eq!(
        std::fs::read_to_string(w.join("src/t1/new.txt")).unwrap(),
        "precious uncommitted work\n"
    );
    assert_eq!(
        std::fs::read_to_string(w.join("README.md")).unwrap(),
        "# product\nedited\n"
    );
    assert_eq!(r.git_in(&w, &["rev-parse", "HEAD"]).trim(), tip);
    let status = r.git_in(&w, &["status", "--porcelain"]);
    assert!(status.contains(" M README.md"), "{status}");
    assert!(status.contains("?? src/"), "{status}");
    // The backups stay (gc trims them), so the saved work is reachable whatever happens next.
    assert_eq!(r.rev("refs/parallel/backup/T1-wip"), wip);
    assert_eq!(r.rev("refs/parallel/backup/T1"), tip);
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("in_progress")
    );

    // Aborting again (with --force) saves the changes again, under new names.
    r.ok(&["abort", "--force", "T1"]);
    assert!(r.ref_exists("refs/parallel/backup/T1-wip-2"));
    assert_eq!(r.rev("refs/parallel/backup/T1-wip"), wip);
}

// ---- repro 11: assigned_to naming a foreign branch --------------------------------------------

fn in_progress_graph(assigned_to: &str) -> String {
    format!(
        "metadata:\n  product: demo\ntasks:\n  - id: T1\n    name: n\n    agent: dev\n    status: in_progress\n    assigned_to: {assigned_to}\n"
    )
}

#[test]
fn abort_never_deletes_a_branch_it_did_not_create() {
    let r = repo_with(&in_progress_graph("release/2.0"));
    let rel_wt = r.base().join("release-wt");
    r.git(&[
        "worktree",
        "add",
        "-q",
        rel_wt.to_str().unwrap(),
        "-b",
        "release/2.0",
    ]);
    std::fs::write(r.path(".git/info/exclude"), ".env.local\n").unwrap();
    std::fs::write(rel_wt.join(".env.local"), "local build config\n").unwrap();
    let release = r.rev("refs/heads/release/2.0");
    let before = r.snapshot();

    for args in [
        &["abort"][..],
        &["abort", "T1"],
        &["abort", "--force", "T1"],
    ] {
        let out = r.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("release/2.0") && err.contains("did not create"),
            "{err}"
        );
        assert!(err.contains("feature/demo/dev-T1"), "{err}");
        assert_eq!(r.snapshot(), before, "{args:?} changed something");
    }
    assert_eq!(r.rev("refs/heads/release/2.0"), release);
    assert!(rel_wt.join(".env.local").exists());

    // The way out it names: point assigned_to at the task's own branch (which does not exist).
    let text = r.task_file().replace("release/2.0", "feature/demo/dev-T1");
    r.write(&r.tasks.clone(), &text);
    r.git(&["commit", "-qam", "fix assigned_to"]);
    let out = r.ok(&["abort"]);
    assert!(out.contains("no branch here"), "{out}");
    assert!(!out.contains("deleted"), "{out}");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("pending")
    );
    assert_eq!(r.rev("refs/heads/release/2.0"), release);
    assert!(rel_wt.join(".env.local").exists());
}

#[test]
fn a_path_like_assigned_to_does_not_break_status_or_abort() {
    let r = repo_with(&in_progress_graph("../../../../HEAD"));
    let out = r.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = r.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let main = r.rev("HEAD");
    let out = r.ok(&["abort"]);
    assert!(out.contains("no branch here"), "{out}");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("pending")
    );
    assert_ne!(r.rev("HEAD"), main, "only the task file commit moved main");
    assert_eq!(r.git(&["rev-parse", "HEAD~1"]).trim(), main);
}

#[test]
fn abort_of_a_task_whose_branch_never_existed_says_so() {
    let r = repo_with(&in_progress_graph("feature/demo/dev-T1"));
    let out = r.ok(&["abort", "--json"]);
    let v = crate::support::json(&out);
    assert_eq!(v["aborted"][0]["branch_deleted"], false, "{v}");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("pending")
    );
}

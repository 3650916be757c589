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
    // The wip backup stays (gc trims it), so the saved work is reachable whatever happens
    // next; the tip's backup went, as the branch holds that commit again.
    assert_eq!(r.rev("refs/parallel/backup/T1-wip"), wip);
    assert!(!r.ref_exists("refs/parallel/backup/T1"));
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

// ---- repro 02: ignored files of removed worktrees -------------------------------------------

/// A started repository with 3 tasks whose worktrees hold ignored files: `.env`,
/// `notes.local` and a build directory.
fn repo_with_ignored_files() -> TestRepo {
    let r = repo_with(&simple_graph(3));
    r.write(".gitignore", ".env\n*.local\nbuild/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore"]);
    r.ok(&["start"]);
    for i in 1..=3 {
        let w = wt(&r, &format!("T{i}"));
        std::fs::write(w.join(".env"), format!("SECRET_TOKEN=abc{i}\n")).unwrap();
        std::fs::write(w.join("notes.local"), format!("my notes {i}\n")).unwrap();
        std::fs::create_dir_all(w.join("build/deep")).unwrap();
        std::fs::write(w.join("build/deep/out.o"), "object\n").unwrap();
    }
    r
}

fn kept_dirs(r: &TestRepo) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(r.path(".git/parallel/ignored"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn assert_ignored_files(dir: &Path, i: usize) {
    assert_eq!(
        std::fs::read_to_string(dir.join(".env")).unwrap(),
        format!("SECRET_TOKEN=abc{i}\n")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.local")).unwrap(),
        format!("my notes {i}\n")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("build/deep/out.o")).unwrap(),
        "object\n"
    );
}

#[test]
fn finish_keeps_ignored_files_and_undo_puts_them_back() {
    let r = repo_with_ignored_files();
    let w = wt(&r, "T1");
    commit_in(&r, &w, "src/t1/f", "x\n");
    let out = r.ok(&["finish", "T1"]);
    assert!(!w.exists());
    assert!(out.contains("Kept 3 ignored paths"), "{out}");
    assert!(
        out.contains(".env") && out.contains(".git/parallel/ignored/"),
        "{out}"
    );
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_ignored_files(&dirs[0], 1);

    r.ok(&["undo"]);
    assert!(w.is_dir());
    assert_ignored_files(&w, 1);
    assert!(kept_dirs(&r).is_empty(), "moved back, not copied");
}

#[test]
fn abort_and_undo_of_start_keep_ignored_files() {
    let r = repo_with_ignored_files();
    let w2 = wt(&r, "T2");
    let out = r.ok(&["abort", "T2"]);
    assert!(!w2.exists());
    assert!(out.contains("Kept 3 ignored paths of"), "{out}");
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1);
    assert_ignored_files(&dirs[0], 2);
    // Undo of the abort: back in the worktree.
    r.ok(&["undo"]);
    assert_ignored_files(&w2, 2);
    assert!(kept_dirs(&r).is_empty());
    // Undo of start: all three worktrees go, their ignored files are kept.
    let out = r.ok(&["undo"]);
    assert!(out.contains("Undid 'start"), "{out}");
    for i in 1..=3 {
        assert!(!wt(&r, &format!("T{i}")).exists());
    }
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 3, "{out}");
    for (i, d) in dirs.iter().enumerate() {
        let n = d
            .to_string_lossy()
            .chars()
            .last()
            .unwrap()
            .to_digit(10)
            .unwrap() as usize;
        assert_eq!(n, i + 1);
        assert_ignored_files(d, n);
    }
    // gc trims them after parallel.keepBackups days, not before.
    r.ok(&["gc"]);
    assert_eq!(kept_dirs(&r).len(), 3);
    let out = r.run_env(&["gc"], &[("GIT_PARALLEL_NOW", "2026-04-01T12:00:00Z")]);
    crate::support::assert_ok(&out, &["gc"]);
    assert!(kept_dirs(&r).is_empty(), "{}", stdout(&out));
}

#[test]
fn keep_ignored_false_deletes_them_but_names_them() {
    let r = repo_with_ignored_files();
    r.git(&["config", "parallel.keepIgnored", "false"]);
    let out = r.ok(&["abort", "T3"]);
    assert!(!wt(&r, "T3").exists());
    assert!(out.contains("Deleted 3 ignored paths"), "{out}");
    assert!(
        out.contains(".env") && out.contains("notes.local") && out.contains("build/"),
        "{out}"
    );
    assert!(kept_dirs(&r).is_empty());
}

#[test]
fn finish_refuses_to_overwrite_an_ignored_file_in_the_main_worktree() {
    let r = repo_with_ignored_files();
    r.write(".env", "MY_MAIN_SECRET=1\n");
    let w = wt(&r, "T1");
    // The task force-adds a file at an ignored path.
    std::fs::write(w.join(".env"), "TASK=1\n").unwrap();
    r.git_in(&w, &["add", "-f", ".env"]);
    commit_in(&r, &w, "src/t1/f", "x\n");
    let before = r.snapshot();
    let out = r.run(&["finish", "T1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(".env"), "{}", stderr(&out));
    assert_eq!(r.snapshot(), before);
    assert_eq!(r.read(".env"), "MY_MAIN_SECRET=1\n");
}

// ---- repro 13: start --no-commit has a way on ------------------------------------------------

/// Runs the `git commit …` line a refusal's hint gives, as a user would paste it.
fn follow_commit_hint(r: &TestRepo, out: &Output) {
    let text = stderr(out);
    assert!(!text.contains("{rel}"), "unformatted hint: {text}");
    let line = text
        .lines()
        .find_map(|l| l.find("git commit ").map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("no git commit command in: {text}"));
    let ran = r.sh_in(&r.root, &line);
    assert!(ran.status.success(), "{line}: {}", stderr(&ran));
}

#[test]
fn after_start_no_commit_finish_carries_the_start_records_in_its_commit() {
    let r = repo_with(&simple_graph(1));
    let before = r.rev("main");
    r.ok(&["start", "--no-commit"]);
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    r.ok(&["finish"]);
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("completed")
    );
    // The committed file has the start's record too, and nothing is left uncommitted.
    let committed = r.git(&["show", &format!("main:{}", r.tasks)]);
    assert_eq!(committed, r.task_file());
    assert!(
        field(&committed, "T1", "started_at").is_some(),
        "{committed}"
    );
    assert!(r.git(&["status", "--porcelain"]).is_empty());
    assert!(r.path("src/t1/f").exists());
    let log = r.git(&["log", "--format=%s", &format!("{before}..main")]);
    assert!(!log.contains(": start "), "{log}");
}

#[test]
fn after_start_no_commit_abort_and_fail_have_a_way_on() {
    // abort commits, carrying the start records of the other task.
    let r = repo_with(&simple_graph(2));
    r.ok(&["start", "--no-commit"]);
    r.ok(&["abort", "--force", "T1"]);
    let committed = r.git(&["show", &format!("main:{}", r.tasks)]);
    assert_eq!(
        field(&committed, "T1", "status").as_deref(),
        Some("pending")
    );
    assert_eq!(
        field(&committed, "T2", "status").as_deref(),
        Some("in_progress")
    );
    assert!(r.git(&["status", "--porcelain"]).is_empty());

    // Or --no-commit, which abort and fail take too: the task file is written, not committed.
    let r = repo_with(&simple_graph(2));
    r.ok(&["start", "--no-commit"]);
    let main = r.rev("main");
    r.ok(&["fail", "T1", "--no-commit", "--reason", "gave up"]);
    r.ok(&["abort", "T2", "--no-commit"]);
    assert_eq!(r.rev("main"), main, "nothing committed");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("failed")
    );
    assert_eq!(
        field(&r.task_file(), "T2", "status").as_deref(),
        Some("pending")
    );
    assert!(!r.ref_exists(&branch("T2")));
    // A record other than a start's is not carried: the hint's commit is the way on.
    let out = r.run(&["retry", "T1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    follow_commit_hint(&r, &out);
    r.ok(&["retry", "T1"]);
}

// ---- repro 06: submodule work in an aborted worktree -------------------------------------------

/// A started task T1 whose worktree has the submodule libs/sub initialised, with a local
/// commit and an untracked file in it: (repo, worktree, submodule dir, submodule commit).
fn repo_with_submodule_work() -> (TestRepo, PathBuf, PathBuf, String, PathBuf) {
    let r = repo_with(&simple_graph(1));
    let src = r.base().join("sub-src");
    std::fs::create_dir_all(&src).unwrap();
    r.git_in(&src, &["init", "-q", "-b", "main"]);
    std::fs::write(src.join("lib.txt"), "lib\n").unwrap();
    r.git_in(&src, &["add", "-A"]);
    r.git_in(&src, &["commit", "-q", "-m", "lib"]);
    r.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        src.to_str().unwrap(),
        "libs/sub",
    ]);
    r.git(&["commit", "-q", "-m", "add submodule"]);
    r.ok(&["start"]);
    let w = wt(&r, "T1");
    r.git_in(
        &w,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "update",
            "-q",
            "--init",
        ],
    );
    let sub = w.join("libs/sub");
    commit_in(&r, &sub, "work.txt", "agent work inside the submodule\n");
    let sub_commit = r.git_in(&sub, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(sub.join("untracked.txt"), "not committed\n").unwrap();
    (r, w, sub, sub_commit, src)
}

#[test]
fn abort_force_saves_the_commits_and_files_of_an_initialised_submodule() {
    let (r, w, _sub, sub_commit, src) = repo_with_submodule_work();

    // Without --force: refused, naming the submodule; nothing changes.
    let before = r.snapshot();
    let out = r.run(&["abort", "T1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("libs/sub"), "{}", stderr(&out));
    assert_eq!(r.snapshot(), before);

    // With --force: the submodule commit and its untracked file are saved in this repository.
    let out = r.ok(&["abort", "--force", "T1"]);
    assert!(!w.exists());
    assert!(
        out.contains("refs/parallel/backup/T1-sub-libs-sub"),
        "{out}"
    );
    assert_eq!(r.rev("refs/parallel/backup/T1-sub-libs-sub"), sub_commit);
    assert!(reachable(&r, &r.path(".git"), &sub_commit));
    let wip = r.rev("refs/parallel/backup/T1-sub-libs-sub-2");
    assert_eq!(
        r.git(&["show", &format!("{wip}:untracked.txt")]),
        "not committed\n"
    );
    let fsck = r
        .git_cmd(&r.root)
        .args(["fsck", "--no-dangling"])
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", stderr(&fsck));

    // The way back it names: fetch into a checkout of the submodule.
    let back = r.base().join("sub-back");
    r.git_in(
        &r.base(),
        &["clone", "-q", src.to_str().unwrap(), back.to_str().unwrap()],
    );
    r.git_in(
        &back,
        &[
            "fetch",
            "-q",
            r.path(".git").to_str().unwrap(),
            "refs/parallel/backup/T1-sub-libs-sub",
        ],
    );
    assert_eq!(
        r.git_in(&back, &["show", "FETCH_HEAD:work.txt"]),
        "agent work inside the submodule\n"
    );
}

// ---- keeping ignored files is one more journaled step --------------------------------------

#[test]
fn an_interrupted_abort_puts_the_ignored_files_back_or_keeps_them() {
    const FAILPOINT: &str = "GIT_PARALLEL_FAILPOINT";
    for kind in ["fail", "kill", "killafter"] {
        for n in 1..=3 {
            let r = repo_with_ignored_files();
            let w = wt(&r, "T1");
            let before = r.snapshot();
            let out = r.run_env(&["abort", "T1"], &[(FAILPOINT, &format!("{kind}:{n}"))]);
            assert!(!out.status.success(), "{kind}:{n}");
            if kind != "fail" {
                r.ok(&["recover", "--abort"]);
            }
            assert_eq!(
                r.snapshot(),
                before,
                "{kind}:{n}: {}",
                before.diff(&r.snapshot())
            );
            assert_ignored_files(&w, 1);
            assert!(kept_dirs(&r).is_empty(), "{kind}:{n}");
            if kind != "fail" {
                // The same interruption, completed instead: the files are kept.
                let out = r.run_env(&["abort", "T1"], &[(FAILPOINT, &format!("{kind}:{n}"))]);
                assert!(!out.status.success());
                r.ok(&["recover", "--continue"]);
                assert!(!w.exists(), "{kind}:{n}");
                let dirs = kept_dirs(&r);
                assert_eq!(dirs.len(), 1, "{kind}:{n}");
                assert_ignored_files(&dirs[0], 1);
            }
        }
    }
}

#[test]
fn retry_refuses_to_remove_a_worktree_with_initialised_submodules() {
    let (r, w, sub, sub_commit, _src) = repo_with_submodule_work();
    r.ok(&["fail", "T1"]);
    let before = r.snapshot();
    let out = r.run(&["retry", "T1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("libs/sub"), "{}", stderr(&out));
    assert_eq!(r.snapshot(), before);
    assert_eq!(r.git_in(&sub, &["rev-parse", "HEAD"]).trim(), sub_commit);
    assert!(w.join("libs/sub/untracked.txt").exists());
}

#[test]
fn unchanged_copies_of_include_files_are_not_kept_changed_ones_are() {
    let r = repo_with(&simple_graph(2));
    r.write(".gitignore", ".env\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "include .env"]);
    r.write(".env", "MAIN=1\n");
    r.ok(&["start"]);
    assert_eq!(
        std::fs::read_to_string(wt(&r, "T1").join(".env")).unwrap(),
        "MAIN=1\n"
    );
    std::fs::write(wt(&r, "T2").join(".env"), "CHANGED=2\n").unwrap();
    let out = r.ok(&["abort"]);
    assert!(
        !out.contains("of ") || !out.contains("backend-T1 (.env)"),
        "{out}"
    );
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1, "{out}");
    assert!(dirs[0].to_string_lossy().ends_with("backend-T2"));
    assert_eq!(
        std::fs::read_to_string(dirs[0].join(".env")).unwrap(),
        "CHANGED=2\n"
    );
    assert_eq!(r.read(".env"), "MAIN=1\n");
}

#[test]
fn ignored_files_are_kept_across_filesystems() {
    // A worktree on tmpfs, the repository on disk: the move is a copy, then a delete.
    let Ok(shm) = tempfile::tempdir_in("/dev/shm") else {
        return; // no /dev/shm here: nothing to test
    };
    let r = repo_with(&simple_graph(1));
    r.write(".gitignore", ".env\nbuild/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore"]);
    let template = format!("{}/{{id}}", shm.path().display());
    r.git(&["config", "parallel.worktreeTemplate", &template]);
    r.ok(&["start"]);
    let w = shm.path().join("T1");
    std::fs::write(w.join(".env"), "S=1\n").unwrap();
    std::fs::create_dir_all(w.join("build/a")).unwrap();
    std::fs::write(w.join("build/a/o"), "obj\n").unwrap();
    std::os::unix::fs::symlink("a/o", w.join("build/l")).unwrap();
    r.ok(&["abort", "T1"]);
    assert!(!w.exists());
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1);
    assert_eq!(
        std::fs::read_to_string(dirs[0].join("build/l")).unwrap(),
        "obj\n"
    );
    r.ok(&["undo"]);
    assert_eq!(std::fs::read_to_string(w.join(".env")).unwrap(), "S=1\n");
    assert_eq!(
        std::fs::read_link(w.join("build/l")).unwrap(),
        Path::new("a/o")
    );
    assert!(kept_dirs(&r).is_empty());
    r.ok(&["abort", "T1"]);
}

#[test]
fn an_ignored_file_whose_name_is_not_utf8_is_kept_too() {
    use std::os::unix::ffi::OsStrExt;
    let r = repo_with(&simple_graph(1));
    r.write(".gitignore", "*.local\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore"]);
    r.ok(&["start"]);
    let w = wt(&r, "T1");
    let name = std::ffi::OsStr::from_bytes(b"notes-\xff.local");
    std::fs::write(w.join(name), "latin-1 notes\n").unwrap();
    r.ok(&["abort", "T1"]);
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1);
    assert_eq!(
        std::fs::read_to_string(dirs[0].join(name)).unwrap(),
        "latin-1 notes\n"
    );
    r.ok(&["undo"]);
    assert_eq!(
        std::fs::read_to_string(w.join(name)).unwrap(),
        "latin-1 notes\n"
    );
}

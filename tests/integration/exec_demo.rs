//! Tests of exec (a command in every task worktree) and demo (the whole lifecycle in a temp dir).

use std::path::PathBuf;
use std::process::Command;

use crate::support::{self, stderr, stdout, TestRepo, BIN};

/// The muaththir graph with DEVOPS-01, BACKEND-01 and FRONTEND-01 started.
fn started() -> TestRepo {
    let r = TestRepo::muaththir();
    r.ok(&["approve", "ARCH-01"]);
    r.ok(&["start"]);
    r
}

fn worktree(r: &TestRepo, id: &str) -> PathBuf {
    PathBuf::from(r.ok(&["path", id]).trim())
}

#[test]
fn exec_reports_each_task_and_fails_when_one_fails() {
    let r = started();
    std::fs::write(worktree(&r, "BACKEND-01").join("marker"), "x").unwrap();
    let out = r.run(&["exec", "--", "sh", "-c", "test -f marker"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Summary:")
        .skip(1)
        .collect();
    let line = |id: &str| {
        summary
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no summary line for {id}:\n{text}"))
            .to_string()
    };
    assert!(line("BACKEND-01").contains(" ok "), "{text}");
    assert!(line("DEVOPS-01").contains(" exit 1 "), "{text}");
    assert!(line("FRONTEND-01").contains(" exit 1 "), "{text}");
    assert!(text.contains("failed in 2 of 3 worktrees"), "{text}");
}

#[test]
fn exec_prefixes_every_line_and_exits_0() {
    let r = started();
    let out = r.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo one; echo two; pwd; printf tail; echo oops >&2",
    ]);
    support::assert_ok(&out, &["exec"]);
    let text = stdout(&out);
    let err = stderr(&out);
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        // Padded to the longest id, FRONTEND-01.
        let prefix = format!("{:<13} ", format!("[{id}]"));
        for line in ["one", "two", "tail"] {
            assert!(
                text.contains(&format!("{prefix}{line}\n")),
                "{id} {line}:\n{text}"
            );
        }
        let wt = worktree(&r, id);
        assert!(
            text.contains(&format!("{prefix}{}\n", wt.display())),
            "{id} pwd:\n{text}"
        );
        assert!(
            err.contains(&format!("{prefix}oops\n")),
            "{id} stderr:\n{err}"
        );
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(id) && l.contains(" ok ")),
            "{text}"
        );
    }
    // Before the summary, every line carries a prefix: none is cut in the middle.
    for l in text.lines().take_while(|l| !l.is_empty()) {
        assert!(l.starts_with('['), "unprefixed line {l:?} in:\n{text}");
    }
    assert!(text.contains("succeeded in 3 worktrees"), "{text}");
}

#[test]
fn exec_jobs_1_runs_one_at_a_time_in_file_order() {
    let r = started();
    let out = r.run(&[
        "exec",
        "-j",
        "1",
        "--",
        "sh",
        "-c",
        "echo a; sleep 0.1; echo b",
    ]);
    support::assert_ok(&out, &["exec"]);
    let lines: Vec<String> = stdout(&out)
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "[DEVOPS-01] a",
            "[DEVOPS-01] b",
            "[BACKEND-01] a",
            "[BACKEND-01] b",
            "[FRONTEND-01] a",
            "[FRONTEND-01] b"
        ]
    );
    let bad = r.run(&["exec", "-j", "0", "--", "true"]);
    assert_eq!(bad.status.code(), Some(129), "{}", stderr(&bad));
}

#[test]
fn exec_json_has_every_result() {
    let r = started();
    std::fs::write(worktree(&r, "FRONTEND-01").join("marker"), "x").unwrap();
    let out = r.run(&[
        "exec",
        "--json",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; test -f marker",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "exec");
    let results = v["results"].as_array().expect("results");
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"]);
    for res in results {
        let id = res["id"].as_str().unwrap();
        assert_eq!(
            res["worktree"].as_str().unwrap(),
            worktree(&r, id).to_str().unwrap()
        );
        assert_eq!(res["stdout"], "out\n");
        assert_eq!(res["stderr"], "err\n");
        let want = if id == "FRONTEND-01" { 0 } else { 1 };
        assert_eq!(res["exit_code"], want, "{id}");
    }
}

#[test]
fn exec_named_tasks_only_and_refuses_tasks_without_worktree() {
    let r = started();
    let out = r.run(&["exec", "BACKEND-01", "--", "sh", "-c", "echo here"]);
    support::assert_ok(&out, &["exec"]);
    let text = stdout(&out);
    assert!(text.contains("[BACKEND-01] here"), "{text}");
    assert!(!text.contains("DEVOPS-01"), "{text}");

    let out = r.run(&[
        "exec",
        "BACKEND-01",
        "QA-01",
        "NOPE-9",
        "--",
        "touch",
        "ran",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("QA-01") && err.contains("NOPE-9"), "{err}");
    assert!(
        !worktree(&r, "BACKEND-01").join("ran").exists(),
        "nothing may run when refused"
    );
}

#[test]
fn exec_runs_argv_without_a_shell() {
    let r = started();
    let out = r.run(&["exec", "BACKEND-01", "--", "echo $HOME"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("cannot run"), "{}", stdout(&out));
    assert!(stderr(&out).contains("sh -c"), "{}", stderr(&out));

    let out = r.run(&["exec", "BACKEND-01", "--", "echo", "$HOME", "a  b"]);
    support::assert_ok(&out, &["exec"]);
    assert!(
        stdout(&out).contains("[BACKEND-01] $HOME a  b\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exec_with_nothing_in_progress_says_so() {
    let r = TestRepo::muaththir();
    let out = r.run(&["exec", "--", "true"]);
    support::assert_ok(&out, &["exec"]);
    assert!(
        stdout(&out).contains("No task is in progress"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn demo_runs_the_whole_lifecycle() {
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(BIN);
    support::isolate(&mut cmd, home.path());
    // No identity at all: the demo must bring its own.
    for var in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ] {
        cmd.env_remove(var);
    }
    // Run from outside any repository, with a GIT_DIR that must not leak into the demo.
    cmd.env("TMPDIR", &tmp)
        .env("GIT_DIR", home.path().join("nowhere"))
        .current_dir(home.path());
    let out = cmd.arg("demo").output().unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "exit {:?}\n{text}\n{}",
        out.status.code(),
        stderr(&out)
    );
    for want in [
        "$ git parallel start",
        "$ git parallel finish --test",
        "feat(demo): Build the API (BACKEND-01)",
        "feat(demo): Build the web client (FRONTEND-01)",
        "docs(demo): Write the user guide (DOCS-01)",
        "Ready now: QA-01",
        "ready",
        "has been removed",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}

#[test]
fn demo_keep_leaves_the_repository() {
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(BIN);
    support::isolate(&mut cmd, home.path());
    cmd.env("TMPDIR", &tmp).current_dir(home.path());
    let out = cmd.args(["demo", "--keep"]).output().unwrap();
    support::assert_ok(&out, &["demo", "--keep"]);
    let line = stdout(&out)
        .lines()
        .find_map(|l| {
            l.strip_prefix("The demo repository is at ")
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no path in:\n{}", stdout(&out)));
    let repo = PathBuf::from(line.trim());
    assert!(repo.join("products/demo/api/server.js").is_file());
    assert!(repo.join("products/demo/.claude/task-graph.yml").is_file());
}

#[test]
fn exec_sets_the_variables_run_gives_an_agent_per_task() {
    let r = started();
    let out = r.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"$GIT_PARALLEL_TASK_ID $GIT_PARALLEL_ATTEMPT $GIT_PARALLEL_BRANCH\"; test \"$GIT_PARALLEL_WORKTREE\" = \"$(pwd -P)\" && test -f \"$GIT_PARALLEL_TASK_BRIEF\" && test -f \"$GIT_PARALLEL_TASK_FILE\" && echo env-ok",
    ]);
    support::assert_ok(&out, &["exec"]);
    let text = stdout(&out);
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("[{id}]")))
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!(" {id} 1 feature/"))),
            "{id}: {text}"
        );
        assert!(lines.iter().any(|l| l.ends_with("env-ok")), "{id}: {text}");
    }
    let brief = r.path(".git/parallel/run/briefs/BACKEND-01.md");
    assert!(std::fs::read_to_string(brief)
        .unwrap()
        .starts_with("# BACKEND-01: "));
}

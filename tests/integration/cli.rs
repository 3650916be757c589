//! Behaving like a native git command: run through git (`git parallel`, `git -C`, aliases),
//! from subdirectories and linked worktrees, with GIT_DIR/GIT_WORK_TREE, outside a repository;
//! git's exit codes and usage conventions; where the task file is found; short errors with a
//! suggestion for a wrong command, task id or status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::muaththir::{muaththir_ready, start};
use crate::support::*;

/// PATH with the directory of the built git-parallel first, so `git parallel` finds it.
fn path_with_bin() -> String {
    let dir = Path::new(BIN).parent().expect("bin dir");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `git ARGS` run in `dir` with the isolated environment and git-parallel on PATH.
fn git(r: &TestRepo, dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("git");
    isolate(&mut c, &r.home());
    c.current_dir(dir).env("PATH", path_with_bin()).args(args);
    c.output().expect("run git")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn assert_code(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(out),
        expected,
        "{what}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// A directory outside any repository (ceilinged, so no parent repository is found either).
fn outside(r: &TestRepo) -> PathBuf {
    let d = r.home().join("elsewhere");
    std::fs::create_dir_all(&d).unwrap();
    d
}

const READY: &str = "Ready now: DEVOPS-01, BACKEND-01, FRONTEND-01";

#[test]
fn runs_as_git_parallel() {
    let r = muaththir_ready();
    let out = git(&r, &r.root, &["parallel"]);
    assert_code(&out, 0, "git parallel");
    assert_eq!(stdout(&out), r.ok(&["status"]));
    let out = git(&r, &r.root, &["parallel", "plan", "--format", "json"]);
    assert_code(&out, 0, "git parallel plan");
    assert!(stdout(&out).contains("\"command\": \"plan\""));
}

#[test]
fn works_from_a_subdirectory() {
    let r = muaththir_ready();
    let sub = r.path("products/muaththir/.claude");
    let out = r.cmd_in(&sub).arg("status").output().unwrap();
    assert_code(&out, 0, "status in a subdirectory");
    let text = stdout(&out);
    // Paths are shown relative to the current directory.
    assert!(text.starts_with("task-graph.yml (muaththir):"), "{text}");
    assert!(text.contains(READY), "{text}");
    let out = git(&r, &r.path("products"), &["parallel", "validate"]);
    assert_code(&out, 0, "validate in a subdirectory");
    assert_eq!(
        stdout(&out),
        "muaththir/.claude/task-graph.yml: ok (9 tasks, 0 warnings)\n"
    );
}

#[test]
fn works_from_inside_a_linked_worktree() {
    let r = muaththir_ready();
    let wt = r.home().join("side");
    r.git(&["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()]);
    // The linked worktree's own copy of the task file is not the one used: edit it to tell.
    std::fs::write(wt.join(&r.tasks), fixture("muaththir.task-graph.yml")).unwrap();
    let out = r.cmd_in(&wt).arg("status").output().unwrap();
    assert_code(&out, 0, "status in a linked worktree");
    let text = stdout(&out);
    let main_file = r.path(&r.tasks);
    assert!(
        text.starts_with(&format!("{} (muaththir):", main_file.display())),
        "{text}"
    );
    assert!(text.contains(READY), "{text}");
    // From a task worktree created by start, in a subdirectory of it, through git.
    start(&r, &["DEVOPS-01"]);
    let task_wt = r.home().join("worktrees/muaththir/devops-DEVOPS-01");
    let out = git(&r, &task_wt.join("products"), &["parallel", "status"]);
    assert_code(&out, 0, "status in a task worktree");
    let text = stdout(&out);
    assert!(
        text.contains("Ready now: BACKEND-01, FRONTEND-01"),
        "{text}"
    );
    let out = git(&r, &task_wt, &["parallel", "path", "DEVOPS-01"]);
    assert_code(&out, 0, "path in a task worktree");
    assert_eq!(stdout(&out), format!("{}\n", task_wt.display()));
}

#[test]
fn git_dash_c_and_own_dash_c() {
    let r = muaththir_ready();
    let away = outside(&r);
    let expected = r.ok(&["status"]);
    let root = r.root.to_str().unwrap();
    let out = git(&r, &away, &["-C", root, "parallel", "status"]);
    assert_code(&out, 0, "git -C dir parallel status");
    assert_eq!(stdout(&out), expected);
    let out = r
        .cmd_in(&away)
        .args(["-C", root, "status"])
        .output()
        .unwrap();
    assert_code(&out, 0, "git-parallel -C dir status");
    assert_eq!(stdout(&out), expected);
    // After the command, and relative to the current directory, as with git.
    let out = r
        .cmd_in(&r.home())
        .args(["status", "-C", "repo"])
        .output()
        .unwrap();
    assert_code(&out, 0, "git-parallel status -C repo");
    assert_eq!(stdout(&out), expected);
    let out = r
        .cmd_in(&away)
        .args(["-C", "/nonexistent/dir", "status"])
        .output()
        .unwrap();
    assert_code(&out, 128, "-C into a missing directory");
    assert!(
        stderr(&out).starts_with("fatal: cannot change to '/nonexistent/dir'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn git_dir_and_git_work_tree_from_outside() {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01"]);
    let home = r.home();
    let out = r
        .cmd_in(&home)
        .env("GIT_DIR", r.path(".git"))
        .env("GIT_WORK_TREE", &r.root)
        .arg("status")
        .output()
        .unwrap();
    assert_code(&out, 0, "status with GIT_DIR and GIT_WORK_TREE");
    let text = stdout(&out);
    // Paths below the current directory are shown relative to it.
    assert!(
        text.starts_with("repo/products/muaththir/.claude/task-graph.yml (muaththir):"),
        "{text}"
    );
    let devops = text
        .lines()
        .find(|l| l.trim_start().starts_with("DEVOPS-01 "))
        .unwrap();
    assert!(
        devops.contains("  worktrees/muaththir/devops-DEVOPS-01  clean"),
        "{devops}"
    );
    assert!(
        text.contains("Ready now: BACKEND-01, FRONTEND-01"),
        "{text}"
    );
    // The same through git, which exports them to the subcommand.
    let out = git(
        &r,
        &home,
        &[
            "--git-dir",
            r.path(".git").to_str().unwrap(),
            "--work-tree",
            r.root.to_str().unwrap(),
            "parallel",
            "path",
            "DEVOPS-01",
        ],
    );
    assert_code(&out, 0, "git --git-dir --work-tree parallel path");
    assert_eq!(
        stdout(&out),
        format!(
            "{}\n",
            home.join("worktrees/muaththir/devops-DEVOPS-01").display()
        )
    );
}

#[test]
fn an_alias_runs_it() {
    let r = muaththir_ready();
    r.git(&["config", "alias.pst", "parallel status"]);
    let out = git(&r, &r.root, &["pst"]);
    assert_code(&out, 0, "git pst");
    assert_eq!(stdout(&out), r.ok(&["status"]));
    let out = git(&r, &r.root, &["pst", "--json"]);
    assert_code(&out, 0, "git pst --json");
    assert!(
        stdout(&out).contains("\"command\": \"status\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn outside_a_repository_is_fatal() {
    let r = TestRepo::new();
    let away = outside(&r);
    for args in [
        &[][..],
        &["status"],
        &["plan"],
        &["validate"],
        &["path", "X"],
    ] {
        let out = r
            .cmd_in(&away)
            .env("GIT_CEILING_DIRECTORIES", r.home())
            .args(args)
            .output()
            .unwrap();
        assert_code(&out, 128, &format!("{args:?} outside a repository"));
        assert!(stdout(&out).is_empty());
        assert!(
            stderr(&out).starts_with("fatal: not a git repository"),
            "{}",
            stderr(&out)
        );
    }
    let out = git(&r, &away, &["parallel", "status"]);
    assert_code(&out, 128, "git parallel status outside a repository");
    assert!(
        stderr(&out).contains("fatal: not a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dash_h_prints_usage_on_stdout() {
    let r = TestRepo::new();
    for args in [
        &["-h"][..],
        &["status", "-h"],
        &["plan", "-h"],
        &["path", "-h"],
        &["validate", "-h"],
    ] {
        let out = r.run(args);
        assert_code(&out, 0, &format!("{args:?}"));
        assert!(
            stdout(&out).contains("usage: git parallel"),
            "{args:?}: {}",
            stdout(&out)
        );
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    assert!(stdout(&r.run(&["plan", "-h"])).contains("--format"));
    // Works outside a repository too.
    let out = r.cmd_in(&outside(&r)).arg("-h").output().unwrap();
    assert_code(&out, 0, "-h outside a repository");
    let out = git(&r, &r.root, &["parallel", "status", "-h"]);
    assert_code(&out, 0, "git parallel status -h");
    assert!(
        stdout(&out).contains("usage: git parallel status"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_errors_exit_129_with_usage_on_stderr() {
    let r = muaththir_ready();
    for (args, message) in [
        (&["status", "--bogus"][..], "error: unknown option `bogus'"),
        (&["status", "-x"], "error: unknown switch `x'"),
        (&["status", "extra"], "error: unexpected argument 'extra'"),
        (&["plan", "--format"], "requires a value"),
        (&["path"], "error: missing ID"),
        (&["path", "A", "B"], "error: expected one ID, got 2"),
        (&["--json=yes"], "takes no value"),
    ] {
        let out = r.run(args);
        assert_code(&out, 129, &format!("{args:?}"));
        assert!(stdout(&out).is_empty(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.contains("usage: git parallel"), "{args:?}: {err}");
    }
    let out = git(&r, &r.root, &["parallel", "status", "--bogus"]);
    assert_code(&out, 129, "through git");
}

#[test]
fn unknown_command_is_short_with_a_suggestion_like_git() {
    let r = muaththir_ready();
    let out = r.run(&["stat"]);
    assert_code(&out, 1, "a typo of a command (git exits 1 for `git stat`)");
    let err = stderr(&out);
    assert!(
        err.contains("error: 'stat' is not a git-parallel command. See 'git parallel -h'."),
        "{err}"
    );
    assert!(err.contains("The most similar command is"), "{err}");
    assert!(err.contains("\tstatus"), "{err}");
    assert!(!err.contains("usage: git parallel"), "no usage dump: {err}");
    assert!(err.lines().count() <= 3, "{err}");
    let out = r.run(&["frobnicate"]);
    assert_code(&out, 1, "no similar command");
    assert!(!stderr(&out).contains("most similar"), "{}", stderr(&out));
    let out = r.run(&["help", "start"]);
    assert_code(&out, 0, "git parallel help start");
    assert!(
        stdout(&out).contains("git-parallel-start"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn version() {
    let r = TestRepo::new();
    let expected = format!("git-parallel version {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"]] {
        let out = r.cmd_in(&outside(&r)).args(args).output().unwrap();
        assert_code(&out, 0, "--version");
        assert_eq!(stdout(&out), expected);
    }
    let out = git(&r, &r.root, &["parallel", "--version"]);
    assert_code(&out, 0, "git parallel --version");
    assert_eq!(stdout(&out), expected);
}

/// A repository holding several task files that tell themselves apart by their task count:
/// products/alpha (9 tasks), products/beta (16), .claude/task-graph.yml (15, added on demand),
/// custom/graph.yml (36) and env.yml (9, basic-calculator).
fn many_graphs() -> TestRepo {
    let r = TestRepo::new();
    r.write(
        "products/alpha/.claude/task-graph.yml",
        &fixture("muaththir.task-graph.yml"),
    );
    r.write(
        "products/beta/.claude/task-graph.yml",
        &fixture("studyflow.task-graph.yml"),
    );
    r.write("custom/graph.yml", &fixture("connectgrc.task-graph.yml"));
    r.write("env.yml", &fixture("basic-calculator.task-graph.yml"));
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "graphs"]);
    r
}

/// The file `validate` reports on, as printed.
fn chosen(r: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = r.cmd();
    c.arg("validate").args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert_code(&out, 0, &format!("validate {args:?} {env:?}"));
    stdout(&out).split(": ok").next().unwrap().to_string()
}

#[test]
fn task_file_precedence() {
    let r = many_graphs();
    // Two products and nothing else: refused, naming both and how to choose.
    let out = r.run(&["status"]);
    assert_code(&out, 1, "two products");
    let err = stderr(&out);
    assert!(err.contains("several task graphs found"), "{err}");
    assert!(
        err.contains("products/alpha/.claude/task-graph.yml"),
        "{err}"
    );
    assert!(
        err.contains("products/beta/.claude/task-graph.yml"),
        "{err}"
    );
    assert!(
        err.contains("--product NAME (one of: alpha, beta)"),
        "{err}"
    );
    assert!(err.contains("git config parallel.product NAME"), "{err}");

    assert_eq!(
        chosen(&r, &["--product", "beta"], &[]),
        "products/beta/.claude/task-graph.yml"
    );
    r.git(&["config", "parallel.product", "alpha"]);
    assert_eq!(
        chosen(&r, &[], &[]),
        "products/alpha/.claude/task-graph.yml"
    );
    // --product beats parallel.product.
    assert_eq!(
        chosen(&r, &["--product", "beta"], &[]),
        "products/beta/.claude/task-graph.yml"
    );
    // A product named (flag or config) beats .claude/task-graph.yml ...
    r.write(
        ".claude/task-graph.yml",
        &fixture("stablecoin-gateway.task-graph.yml"),
    );
    assert_eq!(
        chosen(&r, &[], &[]),
        "products/alpha/.claude/task-graph.yml"
    );
    // ... which beats the products/ scan.
    r.git(&["config", "--unset", "parallel.product"]);
    assert_eq!(chosen(&r, &[], &[]), ".claude/task-graph.yml");
    // parallel.tasks (relative to the main worktree) beats --product.
    r.git(&["config", "parallel.tasks", "custom/graph.yml"]);
    let sub = r.path("products");
    let out = r
        .cmd_in(&sub)
        .args(["validate", "--product", "beta"])
        .output()
        .unwrap();
    assert_code(&out, 0, "parallel.tasks from a subdirectory");
    // Outside the current directory: shown absolute.
    assert_eq!(
        stdout(&out),
        format!(
            "{}: ok (36 tasks, 0 warnings)\n",
            r.path("custom/graph.yml").display()
        )
    );
    // GIT_PARALLEL_TASKS beats parallel.tasks; --tasks beats everything.
    assert_eq!(
        chosen(&r, &[], &[("GIT_PARALLEL_TASKS", "env.yml")]),
        "env.yml"
    );
    assert_eq!(
        chosen(
            &r,
            &["--tasks", "products/beta/.claude/task-graph.yml"],
            &[("GIT_PARALLEL_TASKS", "env.yml")]
        ),
        "products/beta/.claude/task-graph.yml"
    );
    // `git -c` counts as configuration too.
    let out = git(
        &r,
        &r.root,
        &["-c", "parallel.tasks=env.yml", "parallel", "validate"],
    );
    assert_code(&out, 0, "git -c parallel.tasks");
    assert_eq!(stdout(&out), "env.yml: ok (9 tasks, 0 warnings)\n");
}

#[test]
fn a_single_product_is_found_and_a_missing_one_is_refused() {
    let r = muaththir_ready();
    assert_eq!(
        chosen(&r, &[], &[]),
        "products/muaththir/.claude/task-graph.yml"
    );
    let out = r.run(&["status", "--product", "nope"]);
    assert_code(&out, 1, "unknown product");
    assert!(
        stderr(&out).contains("no task graph for product 'nope'"),
        "{}",
        stderr(&out)
    );
    let r = TestRepo::new();
    let out = r.run(&["status"]);
    assert_code(&out, 1, "no task graph");
    let err = stderr(&out);
    assert!(err.contains("no task graph found"), "{err}");
    assert!(err.contains("--tasks PATH"), "{err}");
}

// ---- wrong task ids and statuses: short errors with a suggestion -------------------------------

#[test]
fn unknown_id_in_start_finish_exec_path_suggests_the_id_ignoring_case() {
    let r = TestRepo::muaththir_approved();
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "backend-01"]));
    assert!(text.contains("did you mean BACKEND-01?"), "{text}");
    assert!(!text.contains("--force"), "{text}");
    assert!(
        text.lines().count() < 8,
        "short error, not the usage:\n{text}"
    );
    assert_same(&r.snapshot(), &before, "start backend-01");

    r.ok(&["start", "BACKEND-01"]);
    let before = r.snapshot();
    for args in [
        &["finish", "backend-01"][..],
        &["exec", "backend-01", "--", "true"][..],
        &["path", "backend-01"][..],
        &["path", "BACKEND-1"][..],
    ] {
        let text = refused(&r.run(args));
        assert!(
            text.contains("did you mean BACKEND-01?"),
            "{args:?}: {text}"
        );
        assert!(text.lines().count() < 8, "{args:?}: short error:\n{text}");
        assert_same(&r.snapshot(), &before, &format!("{args:?}"));
    }
    // An id like none: where to look them up, no guess.
    let text = refused(&r.run(&["path", "DEPLOY-07"]));
    assert!(text.contains("git parallel status"), "{text}");
    assert!(!text.contains("did you mean"), "{text}");
}

/// Runs, expects a refusal that changes nothing, and returns stderr.
fn refusal(r: &TestRepo, args: &[&str]) -> String {
    let before = r.snapshot();
    let out = r.run(args);
    let err = refused(&out);
    assert_same(&before, &r.snapshot(), &args.join(" "));
    err
}

#[test]
fn wrong_status_and_unknown_ids_get_short_errors_with_the_right_command() {
    let r = TestRepo::muaththir();
    // Not a checkpoint; a checkpoint not completed (after approval the next one is pending).
    let err = refusal(&r, &["approve", "BACKEND-01"]);
    assert!(
        err.contains("is not a checkpoint (its status is pending)"),
        "{err}"
    );
    assert!(err.contains("git parallel start BACKEND-01"), "{err}");
    let err = refusal(&r, &["approve", "CHECKPOINT-FOUNDATION"]);
    assert!(
        err.contains("its status is pending, not completed"),
        "{err}"
    );
    // retry of a task that did not fail; fail and abort of a task not in progress.
    let err = refusal(&r, &["retry", "ARCH-01"]);
    assert!(err.contains("its status is completed, not failed"), "{err}");
    assert!(err.contains("git parallel approve ARCH-01"), "{err}");
    r.ok(&["approve", "ARCH-01"]);
    r.ok(&["start", "BACKEND-01"]);
    let err = refusal(&r, &["retry", "BACKEND-01"]);
    assert!(
        err.contains("its status is in_progress, not failed"),
        "{err}"
    );
    assert!(err.contains("git parallel fail BACKEND-01"), "{err}");
    let err = refusal(&r, &["fail", "FRONTEND-01"]);
    assert!(
        err.contains("its status is pending, not in_progress"),
        "{err}"
    );
    let err = refusal(&r, &["abort", "FRONTEND-01"]);
    assert!(
        err.contains("its status is pending, not in_progress"),
        "{err}"
    );
    r.ok(&["fail", "BACKEND-01"]);
    let err = refusal(&r, &["abort", "BACKEND-01"]);
    assert!(err.contains("git parallel retry BACKEND-01"), "{err}");
    // Unknown ids: a case-insensitive match, then near ones; none: where to look.
    for cmd in ["fail", "retry", "approve", "abort"] {
        let err = refusal(&r, &[cmd, "backend-01"]);
        assert!(err.contains("did you mean BACKEND-01?"), "{cmd}: {err}");
    }
    let err = refusal(&r, &["abort", "FRONTEND-1"]);
    assert!(err.contains("did you mean FRONTEND-01?"), "{err}");
    let err = refusal(&r, &["fail", "DEPLOY-77"]);
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("git parallel status"), "{err}");
    // Short: one error line and one hint line.
    let err = refusal(&r, &["retry", "backend-01"]);
    assert_eq!(err.lines().count(), 2, "{err}");
}

//! First-hour output fixes (issue 14): colour decided like git (`--color`, `color.parallel`,
//! `color.ui`, NO_COLOR), `-q` that prints nothing on success, and `abort`/`undo` that give
//! the task file back as it was before `start`.

use crate::support::*;

const ESC: &str = "\x1b[";

/// `status` run with extra arguments and environment; its stdout.
fn status_out(r: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all = args.to_vec();
    all.push("status");
    let out = r.run_env(&all, env);
    assert_ok(&out, &all);
    stdout(&out)
}

#[test]
fn color_always_colours_through_a_pipe_and_auto_does_not() {
    let r = TestRepo::muaththir();
    assert!(status_out(&r, &["--color=always"], &[]).contains(ESC));
    assert!(status_out(&r, &["--color", "always"], &[]).contains(ESC));
    // Auto (the default) and never: a pipe gets no escape sequences.
    assert!(!status_out(&r, &[], &[]).contains(ESC));
    assert!(!status_out(&r, &["--color=auto"], &[]).contains(ESC));
    assert!(!status_out(&r, &["--color=never"], &[]).contains(ESC));
    // NO_COLOR does not beat an explicit --color=always, and disables colour otherwise.
    assert!(status_out(&r, &["--color=always"], &[("NO_COLOR", "1")]).contains(ESC));
    r.git(&["config", "color.ui", "always"]);
    assert!(!status_out(&r, &[], &[("NO_COLOR", "1")]).contains(ESC));
    // An empty NO_COLOR is unset.
    assert!(status_out(&r, &[], &[("NO_COLOR", "")]).contains(ESC));
}

#[test]
fn color_config_is_read_like_git() {
    let r = TestRepo::muaththir();
    r.git(&["config", "color.ui", "always"]);
    assert!(status_out(&r, &[], &[]).contains(ESC), "color.ui=always");
    // --color=never beats the config.
    assert!(!status_out(&r, &["--color=never"], &[]).contains(ESC));
    // color.parallel comes before color.ui.
    r.git(&["config", "color.parallel", "false"]);
    assert!(
        !status_out(&r, &[], &[]).contains(ESC),
        "color.parallel=false"
    );
    r.git(&["config", "color.parallel", "always"]);
    r.git(&["config", "color.ui", "never"]);
    assert!(
        status_out(&r, &[], &[]).contains(ESC),
        "color.parallel=always"
    );
    r.git(&["config", "--unset", "color.parallel"]);
    assert!(!status_out(&r, &[], &[]).contains(ESC), "color.ui=never");
    // true means auto, as in git: no colour through a pipe.
    r.git(&["config", "color.ui", "true"]);
    assert!(!status_out(&r, &[], &[]).contains(ESC), "color.ui=true");
    // `git -c color.ui=always parallel …` passes the config in the environment.
    let out = r.run_env(
        &["status"],
        &[("GIT_CONFIG_PARAMETERS", "'color.ui'='always'")],
    );
    assert_ok(&out, &["status"]);
    assert!(stdout(&out).contains(ESC), "git -c color.ui=always");
}

#[test]
fn color_reaches_error_reports_and_a_bad_value_is_a_usage_error() {
    // A task file error is rendered with a source snippet: coloured only when asked.
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        t.replace("depends_on: []", "depends_on: [\"NOPE-01\"]")
    });
    let out = r.run(&["--color=always", "validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(stderr(&out).contains(ESC), "{}", stderr(&out));
    let out = r.run(&["validate"]);
    assert!(!stderr(&out).contains(ESC), "{}", stderr(&out));
    r.git(&["config", "color.ui", "always"]);
    assert!(stderr(&r.run(&["validate"])).contains(ESC));
    assert!(!stderr(&r.run(&["--color=never", "validate"])).contains(ESC));
    // Outside a repository: the flag is still checked (no config to read there).
    let outside = r.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let run = |args: &[&str]| r.cmd_in(&outside).args(args).output().expect("run");
    let out = run(&["--color=never", "status"]);
    assert_eq!(out.status.code(), Some(128), "{}", all_output(&out));
    assert!(!stderr(&out).contains(ESC), "{}", stderr(&out));
    let out = run(&["--color=purple", "status"]);
    assert_eq!(out.status.code(), Some(129), "{}", all_output(&out));
    assert!(
        stderr(&out).contains("invalid --color value 'purple'"),
        "{}",
        stderr(&out)
    );
}

/// Runs a command with -q and asserts it succeeded and printed nothing at all.
fn quiet_ok(r: &TestRepo, args: &[&str]) {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    let out = r.run(&all);
    assert_ok(&out, &all);
    assert_eq!(
        all_output(&out),
        "",
        "git parallel {all:?} printed something"
    );
}

fn commit_file(r: &TestRepo, wt: &std::path::Path, file: &str) {
    let p = wt.join(file);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, "work\n").expect("write");
    r.git_in(wt, &["add", "-A"]);
    r.git_in(wt, &["commit", "-q", "-m", &format!("add {file}")]);
}

#[test]
fn quiet_lifecycle_prints_nothing() {
    let r = TestRepo::muaththir();
    quiet_ok(&r, &["approve", "ARCH-01"]);
    quiet_ok(&r, &["start", "BACKEND-01", "FRONTEND-01", "DEVOPS-01"]);
    let path = |id: &str| std::path::PathBuf::from(r.ok(&["path", id]).trim());
    commit_file(
        &r,
        &path("BACKEND-01"),
        "products/muaththir/apps/api/server.js",
    );
    // The test gate says nothing, and the test's own output is kept back when it passes.
    quiet_ok(
        &r,
        &[
            "finish",
            "--test",
            "echo TEST-OUT; echo TEST-ERR >&2",
            "BACKEND-01",
        ],
    );
    assert_eq!(
        field(&r.task_file(), "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
    quiet_ok(&r, &["abort", "FRONTEND-01"]);
    quiet_ok(&r, &["fail", "DEVOPS-01"]);
    quiet_ok(&r, &["retry", "DEVOPS-01"]);
    quiet_ok(&r, &["start", "FRONTEND-01"]);
    quiet_ok(&r, &["undo"]);
    assert_eq!(
        field(&r.task_file(), "FRONTEND-01", "status").as_deref(),
        Some("pending")
    );
    quiet_ok(&r, &["gc"]);
    quiet_ok(&r, &["status"]);
    quiet_ok(&r, &["validate"]);
    quiet_ok(&r, &["exec", "--", "true"]);
    // recover, both ways, after a start killed half-way (and its stale lock taken over).
    for how in ["--abort", "--continue"] {
        let out = r
            .cmd()
            .env("GIT_PARALLEL_FAILPOINT", "kill:2")
            .args(["start", "FRONTEND-01"])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{}", all_output(&out));
        quiet_ok(&r, &["recover", how]);
    }
    quiet_ok(&r, &["abort", "FRONTEND-01"]);
    // A failing test: its output is shown after all, with the error.
    commit_file(&r, &path("DEVOPS-01"), "products/muaththir/Dockerfile");
    let out = r.run(&[
        "-q",
        "finish",
        "--test",
        "echo TEST-OUT; echo TEST-ERR >&2; false",
        "DEVOPS-01",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TEST-OUT") && err.contains("TEST-ERR"),
        "{err}"
    );
    assert!(!err.contains("testing "), "{err}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn finish_without_quiet_still_announces_and_streams_the_test() {
    let r = TestRepo::muaththir();
    r.ok(&["approve", "ARCH-01"]);
    r.ok(&["start", "BACKEND-01"]);
    let wt = std::path::PathBuf::from(r.ok(&["path", "BACKEND-01"]).trim());
    commit_file(&r, &wt, "products/muaththir/apps/api/server.js");
    let out = r.run(&["finish", "--test", "echo TEST-OUT", "BACKEND-01"]);
    assert_ok(&out, &["finish"]);
    let err = stderr(&out);
    assert!(
        err.contains("testing ") && err.contains("TEST-OUT"),
        "{err}"
    );
}

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
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        let t = set_status(&t, "PRD-01", "completed");
        let t = set_status(&t, "ARCH-01", "completed");
        approve_in_text(&t, "ARCH-01").replace(
            "  - id: \"BACKEND-01\"\n",
            "  - id: \"BACKEND-01\"\n    started_at: null\n    assigned_to: \"team-b\"\n",
        )
    });
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

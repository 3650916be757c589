//! What the commands print, whatever the command: colour decided like git (`--color`,
//! `color.parallel`, `color.ui`, NO_COLOR) and `-q` that prints nothing on success.

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

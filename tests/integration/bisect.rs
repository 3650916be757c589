//! The test gate that finds the culprit: `finish --test` failing on a batch of four tasks
//! bisects it (the runs counted by a test script appending to a file outside the repository),
//! lands the others with `--partial` and leaves the culprits in progress with their branches
//! and worktrees; without `--partial` nothing lands and the refusal names them. Also several
//! culprits, a pair that only fails together, every task failing, the `--json` fields, and a
//! kill or SIGTERM during a bisection test (settled by `recover`, nothing left behind).

use std::path::{Path, PathBuf};

use crate::support::kill::{
    assert_settled, assert_status_explains, demo_repo, kill_group, spawn_env, state, wait_for,
    work, wt,
};
use crate::support::{all_output, assert_same, field, json, refused, stdout, TestRepo};

/// Four tasks T1..T4 started, each with one commit of `src/t<i>/f0`; the tasks in `bad` also
/// commit `src/t<i>/bad`, which the test script rejects.
fn four(bad: &[usize]) -> TestRepo {
    let r = demo_repo(4, 0);
    r.ok(&["start", "-q"]);
    for i in 1..=4 {
        work(&r, i, 1);
        if bad.contains(&i) {
            let w = wt(&r, i);
            std::fs::write(w.join(format!("src/t{i}/bad")), "bad\n").unwrap();
            r.git_in(&w, &["add", "src"]);
            r.git_in(&w, &["commit", "-q", "-m", &format!("break {i}")]);
        }
    }
    r
}

/// A test command (a script outside the repository) that appends a line to `runs` at each run
/// and then runs `check`; also the runs file and a private TMPDIR for the test worktrees.
fn test_script(r: &TestRepo, check: &str) -> (String, PathBuf, PathBuf) {
    let runs = r.base().join("runs");
    let script = r.base().join("test.sh");
    std::fs::write(
        &script,
        format!("echo run >> '{}'\n{check}\n", runs.display()),
    )
    .unwrap();
    // A private TMPDIR, kept from being empty (removing a test worktree removes empty parents).
    let tmp = r.base().join("tmpdir");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("keep"), "").unwrap();
    (format!("sh {}", script.display()), runs, tmp)
}

fn runs(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count())
}

/// Runs finish with TMPDIR set to `tmp`.
fn finish(r: &TestRepo, tmp: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["finish"];
    all.extend_from_slice(args);
    r.run_env(&all, &[("TMPDIR", tmp.to_str().unwrap())])
}

fn status(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

/// The worktrees registered, as paths.
fn worktrees(r: &TestRepo) -> Vec<String> {
    r.worktree_list()
        .lines()
        .filter_map(|l| l.strip_prefix("worktree ").map(str::to_string))
        .collect()
}

/// Whether the private TMPDIR holds nothing but its `keep` file.
fn empty_dir(p: &Path) -> bool {
    let names: Vec<_> = std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names == ["keep"]
}

/// Asserts task `i` is still in progress with its branch at `tip` and its worktree clean.
fn left_running(r: &TestRepo, i: usize, tip: &str) {
    let id = format!("T{i}");
    assert_eq!(status(r, &id), "in_progress", "{id}");
    assert_eq!(r.rev(&format!("feature/demo/backend-{id}")), tip, "{id}");
    assert!(wt(r, i).join(format!("src/t{i}/f0")).exists(), "{id}");
    assert_eq!(r.git_in(&wt(r, i), &["status", "--porcelain"]), "", "{id}");
}

#[test]
fn one_culprit_of_four_is_left_running_and_the_others_land() {
    let r = four(&[3]);
    let (cmd, count, tmp) = test_script(&r, "! test -e src/t3/bad");
    let tip3 = r.rev("feature/demo/backend-T3");
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd]);
    // Everything that could land did: exit 0, a note names the culprit.
    let text = landed(&out);
    // The gate's run on all four, then {T1,T2} passes, {T1,T2,T3} fails, {T1,T2,T4} passes
    // (and is what lands: its pass is reused, not run again).
    assert_eq!(runs(&count), 4, "{text}");
    for id in ["T1", "T2", "T4"] {
        assert_eq!(status(&r, id), "completed", "{id}: {text}");
    }
    left_running(&r, 3, &tip3);
    for f in ["src/t1/f0", "src/t2/f0", "src/t4/f0"] {
        assert!(r.path(f).exists(), "{f}");
    }
    assert!(!r.path("src/t3/f0").exists());
    assert_eq!(
        worktrees(&r),
        [
            r.root.display().to_string(),
            wt(&r, 3).display().to_string()
        ]
    );
    assert!(empty_dir(&tmp), "test worktrees left in TMPDIR");
    // The text names the culprit and how to reproduce it; each bisection run is announced.
    let out_text = stdout(&out);
    assert!(out_text.contains("Merged 3 tasks into main:"), "{out_text}");
    assert!(
        out_text.contains("T3 (feature/demo/backend-T3): fails once merged after T1, T2"),
        "{out_text}"
    );
    assert!(
        out_text.contains(&format!(
            "reproduce: git -C {} merge main && git parallel exec T3 -- sh -c '{cmd}'",
            wt(&r, 3).display()
        )),
        "{out_text}"
    );
    assert!(
        text.contains("bisecting: testing T1, T2 merged onto main"),
        "{text}"
    );
    assert!(
        text.contains("note: the test fails with T3 merged"),
        "{text}"
    );
    assert!(!text.contains("error:"), "{text}");
    assert_settled(&r, "partial finish");
    // The culprit fixed, it finishes on its own.
    let w = wt(&r, 3);
    r.git_in(&w, &["rm", "-q", "src/t3/bad"]);
    r.git_in(&w, &["commit", "-q", "-m", "fix"]);
    let out = finish(&r, &tmp, &["--test", &cmd]);
    assert!(out.status.success(), "{}", all_output(&out));
    assert_eq!(status(&r, "T3"), "completed");
}

#[test]
fn the_json_report_lists_the_test_failures() {
    let r = four(&[2]);
    let (cmd, count, tmp) = test_script(&r, "! test -e src/t2/bad");
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let v = json(&stdout(&out));
    let merged: Vec<&str> = v["merged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(merged, ["T1", "T3", "T4"]);
    assert_eq!(v["tested"], cmd.as_str());
    assert_eq!(v["conflicts"], serde_json::json!([]));
    let f = &v["test_failures"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(f[0]["id"], "T2");
    assert_eq!(f[0]["branch"], "feature/demo/backend-T2");
    assert_eq!(f[0]["worktree"], wt(&r, 2).display().to_string().as_str());
    assert_eq!(f[0]["merged_after"], serde_json::json!(["T1"]));
    assert_eq!(
        f[0]["reproduce"],
        format!(
            "git -C {} merge main && git parallel exec T2 -- sh -c '{cmd}'",
            wt(&r, 2).display()
        )
        .as_str()
    );
    assert_eq!(v["new_tip"], r.rev("main").as_str());
    // The gate, {T1,T2} fails, {T1} passes, {T1,T3,T4} passes and lands.
    assert_eq!(runs(&count), 4);
    // A finish whose test passes says so with an empty list.
    let r = four(&[]);
    let (cmd, count, tmp) = test_script(&r, "true");
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(json(&stdout(&out))["test_failures"], serde_json::json!([]));
    assert_eq!(runs(&count), 1);
}

#[test]
fn two_culprits_are_both_left_running() {
    let r = four(&[1, 3]);
    let (cmd, count, tmp) = test_script(&r, "! ls src/*/bad >/dev/null 2>&1");
    let (tip1, tip3) = (
        r.rev("feature/demo/backend-T1"),
        r.rev("feature/demo/backend-T3"),
    );
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let v = json(&stdout(&out));
    let failed: Vec<(&str, serde_json::Value)> = v["test_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["merged_after"].clone()))
        .collect();
    assert_eq!(
        failed,
        [
            ("T1", serde_json::json!([])),
            ("T3", serde_json::json!(["T2"]))
        ]
    );
    assert_eq!(status(&r, "T2"), "completed");
    assert_eq!(status(&r, "T4"), "completed");
    left_running(&r, 1, &tip1);
    left_running(&r, 3, &tip3);
    // The gate; {T1,T2} F, {T1} F; {T2,T3,T4} F, {T2} P, {T2,T3} F; {T2,T4} P (lands).
    assert_eq!(runs(&count), 7);
    assert!(empty_dir(&tmp));
}

#[test]
fn a_pair_that_only_fails_together_leaves_the_later_one_running() {
    let r = four(&[]);
    let (cmd, count, tmp) = test_script(&r, "! { test -e src/t2/f0 && test -e src/t4/f0; }");
    let tip4 = r.rev("feature/demo/backend-T4");
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd]);
    let text = landed(&out);
    assert!(
        text.contains("T4 (feature/demo/backend-T4): fails once merged after T1, T2, T3"),
        "{text}"
    );
    for id in ["T1", "T2", "T3"] {
        assert_eq!(status(&r, id), "completed", "{id}");
    }
    left_running(&r, 4, &tip4);
    // The gate; {T1,T2} P; {T1,T2,T3} P (lands).
    assert_eq!(runs(&count), 3);
}

#[test]
fn every_task_failing_refuses_and_changes_nothing() {
    let r = four(&[1, 2, 3, 4]);
    let (cmd, count, tmp) = test_script(&r, "! ls src/*/bad >/dev/null 2>&1");
    let before = r.snapshot();
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd]);
    let text = refused(&out);
    assert!(text.contains("every task breaks the test"), "{text}");
    for i in 1..=4 {
        assert!(
            text.contains(&format!("T{i} (feature/demo/backend-T{i})")),
            "{text}"
        );
    }
    assert_same(&r.snapshot(), &before, "every task failing");
    // Each culprit is found and the target itself was tested once: a bounded number of runs.
    let n = runs(&count);
    assert!((4..=10).contains(&n), "{n} runs");
    assert!(empty_dir(&tmp));
    assert_settled(&r, "refused");
}

#[test]
fn a_test_failing_on_the_target_itself_stops_early() {
    let r = four(&[]);
    let (cmd, count, tmp) = test_script(&r, "false");
    let before = r.snapshot();
    let out = finish(&r, &tmp, &["--partial", "--test", &cmd, "--json"]);
    let text = refused(&out);
    assert!(text.contains("fails on main itself"), "{text}");
    // The document of the refusal: every task, and that the target fails.
    let v = json(&stdout(&out));
    assert_eq!(v["target_fails"], true);
    assert_eq!(v["merged"], serde_json::json!([]));
    assert_eq!(v["test_failures"].as_array().map(Vec::len), Some(4));
    assert_same(&r.snapshot(), &before, "broken test");
    // The gate; {T1,T2} F, {T1} F; {T2,T3,T4} F, {T2} F; main alone F.
    assert_eq!(runs(&count), 6);
}

#[test]
fn without_partial_nothing_lands_and_the_refusal_names_the_culprit() {
    let r = four(&[2]);
    let (cmd, _, tmp) = test_script(&r, "! test -e src/t2/bad");
    let before = r.snapshot();
    let text = refused(&finish(&r, &tmp, &["--test", &cmd]));
    assert!(
        text.contains("bisecting found the task that breaks it"),
        "{text}"
    );
    assert!(
        text.contains("T2 (feature/demo/backend-T2): fails once merged after T1"),
        "{text}"
    );
    assert!(
        text.contains("or pass --partial to merge the others (T1, T3, T4) now, leaving T2 running"),
        "{text}"
    );
    // Nothing landed, so the reproduction merges what T2 was merged after, too.
    assert!(
        text.contains(&format!(
            "git -C {w} merge main && git -C {w} merge feature/demo/backend-T1 && git parallel exec T2",
            w = wt(&r, 2).display()
        )),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "refused");
    assert!(empty_dir(&tmp));
    // --json: a document all the same, naming the culprit.
    let out = finish(&r, &tmp, &["--test", &cmd, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&stdout(&out));
    assert_eq!(v["merged"], serde_json::json!([]));
    assert_eq!(v["target_fails"], false);
    assert_eq!(v["test_failures"][0]["id"], "T2");
    assert_eq!(
        v["test_failures"][0]["merged_after"],
        serde_json::json!(["T1"])
    );
    assert_same(&r.snapshot(), &before, "refused");
    // -q: no announcements, the refusal all the same.
    let out = finish(&r, &tmp, &["-q", "--test", &cmd]);
    let text = refused(&out);
    assert!(!text.contains("bisecting: testing"), "{text}");
    assert!(!text.contains("testing "), "{text}");
    assert!(text.contains("T2 (feature/demo/backend-T2)"), "{text}");
}

/// finish --partial on four tasks (T3 breaking the test) spawned in a process group of its
/// own, once it hangs in its first bisection test (the second test run): the child, the test
/// command, the runs file and the private TMPDIR.
fn hanging_in_a_bisection_test(r: &TestRepo) -> (std::process::Child, String, PathBuf, PathBuf) {
    let running = r.base().join("running");
    let (cmd, count, tmp) = test_script(
        r,
        &format!(
            "if [ \"$(wc -l < '{c}')\" -eq 2 ]; then touch '{run}'; sleep 30; fi; ! test -e src/t3/bad",
            c = r.base().join("runs").display(),
            run = running.display()
        ),
    );
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let mut child = spawn_env(r, &["finish", "--partial", "--test", &cmd], &env);
    assert!(wait_for(&mut child, || running.exists()));
    (child, cmd, count, tmp)
}

/// The process group killed (SIGKILL) during a bisection test: `status` explains, the next
/// finish is refused until `recover`, which in either direction puts everything back as
/// before and leaves no test worktree (registered or in TMPDIR).
#[test]
fn a_kill_during_a_bisection_test_is_settled_by_recover() {
    for how in ["--abort", "--continue"] {
        let what = format!("killed in a bisection test, then recover {how}");
        let r = four(&[3]);
        let before = state(&r);
        let (mut child, cmd, count, tmp) = hanging_in_a_bisection_test(&r);
        kill_group(&mut child, libc::SIGKILL);
        assert_status_explains(&r, &what);
        let again = finish(&r, &tmp, &["--test", &cmd]);
        assert!(
            all_output(&again).contains("interrupted operation is pending"),
            "{what}: {}",
            all_output(&again)
        );
        let out = r.run_env(&["recover", how], &[("TMPDIR", tmp.to_str().unwrap())]);
        assert!(out.status.success(), "{what}: {}", all_output(&out));
        assert_settled(&r, &what);
        assert_eq!(state(&r), before, "{what}");
        assert!(empty_dir(&tmp), "{what}: test worktree left in TMPDIR");
        assert_eq!(runs(&count), 2, "{what}");
    }
}

/// Ctrl-C (SIGINT to finish's process group) during a bisection test: passed on to the test,
/// finish stops by itself (128+2), nothing pending, nothing changed, no test worktree left.
#[test]
fn ctrl_c_during_a_bisection_test_stops_finish_by_itself() {
    let r = four(&[3]);
    let before = state(&r);
    let (mut child, _, count, tmp) = hanging_in_a_bisection_test(&r);
    // SAFETY: kill(2) on the process group we created.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGINT);
    }
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(128 + libc::SIGINT));
    assert_settled(&r, "finish after Ctrl-C");
    assert!(!r.path(".git/parallel/lock").exists());
    assert_eq!((state(&r), runs(&count)), (before, 2));
    assert!(empty_dir(&tmp));
}

/// Asserts `finish --partial` exited 0 (it landed what could land) and returns stdout + stderr.
fn landed(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected exit 0:\n{}",
        all_output(out)
    );
    all_output(out)
}

//! Tasks in progress elsewhere: the task file says `in_progress` but the task's branch is not in
//! this repository (it lives on another machine, or the status was set by hand). status says so,
//! finish with no ids skips them and finishes the rest, and start, finish ID and path name the
//! task and the way out. finish with no ids also says why it skips any other task.

use std::path::Path;

use crate::support::{
    assert_same, field, json, refused, set_status, stderr, stdout, TestRepo, NOW,
};

const FRONTEND_BRANCH: &str = "feature/muaththir/frontend-FRONTEND-01";

/// Inserts `assigned_to` and `started_at` after the `status:` line of task `id`, as start
/// records them.
fn assign_in_text(text: &str, id: &str, branch: &str) -> String {
    let mut out = Vec::new();
    let mut in_task = false;
    let mut done = false;
    for line in text.split_inclusive('\n') {
        out.push(line.to_string());
        let t = line.trim().trim_start_matches("- ");
        if t.starts_with("id:") {
            in_task = t == format!("id: \"{id}\"");
        } else if in_task && !done && line.trim_start().starts_with("status:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(format!("{indent}started_at: \"2026-02-01T00:00:00Z\"\n"));
            out.push(format!("{indent}assigned_to: \"{branch}\"\n"));
            done = true;
        }
    }
    assert!(done, "no status line for task {id}");
    out.concat()
}

/// muaththir with ARCH-01 approved and FRONTEND-01 committed as in_progress, assigned to a
/// branch this repository does not have (`assigned` false: the status alone, set by hand).
fn frontend_elsewhere(assigned: bool) -> TestRepo {
    TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        let t = set_status(&t, "PRD-01", "completed");
        let t = set_status(&t, "ARCH-01", "completed");
        let t = crate::support::approve_in_text(&t, "ARCH-01");
        let t = set_status(&t, "FRONTEND-01", "in_progress");
        if assigned {
            assign_in_text(&t, "FRONTEND-01", FRONTEND_BRANCH)
        } else {
            t
        }
    })
}

fn commit_in(r: &TestRepo, wt: &Path, file: &str) {
    let p = wt.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, "// work\n").unwrap();
    r.git_in(wt, &["add", "-A"]);
    r.git_in(wt, &["commit", "-q", "-m", &format!("work in {file}")]);
}

/// The elsewhere repository with DEVOPS-01 and BACKEND-01 started here, one commit each.
fn with_work_here(assigned: bool) -> TestRepo {
    let r = frontend_elsewhere(assigned);
    let out = r.ok(&["start"]);
    assert!(out.contains("Started 2 tasks"), "{out}");
    commit_in(
        &r,
        &r.task_worktree("devops", "DEVOPS-01"),
        ".github/workflows/muaththir-ci.yml",
    );
    commit_in(
        &r,
        &r.task_worktree("backend", "BACKEND-01"),
        "products/muaththir/apps/api/src/server.ts",
    );
    r
}

#[test]
fn status_shows_a_task_in_progress_with_no_branch_here() {
    for assigned in [true, false] {
        let r = with_work_here(assigned);
        let text = r.ok(&["status"]);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("FRONTEND-01 "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("in progress, no branch here"), "{line}");
        assert!(line.contains(FRONTEND_BRANCH), "{line}");
        assert!(!line.contains("(branch missing)"), "{line}");
        // The tasks started here are shown as before.
        let devops = text
            .lines()
            .find(|l| l.trim_start().starts_with("DEVOPS-01 "))
            .unwrap();
        assert!(devops.contains("clean  ahead 1, behind 0"), "{devops}");
        let v = json(&r.ok(&["status", "--json"]));
        let tasks = v["tasks"].as_array().unwrap();
        let fe = tasks.iter().find(|t| t["id"] == "FRONTEND-01").unwrap();
        assert_eq!(fe["status"], "in_progress");
        assert_eq!(fe["branch"], FRONTEND_BRANCH);
        assert_eq!(fe["branch_exists"], false);
        assert_eq!(fe["elsewhere"], true, "{fe}");
        assert!(fe.get("worktree").is_none(), "{fe}");
        let be = tasks.iter().find(|t| t["id"] == "BACKEND-01").unwrap();
        assert_eq!(be["elsewhere"], false, "{be}");
        // Tasks that are not active have no such field.
        let prd = tasks.iter().find(|t| t["id"] == "PRD-01").unwrap();
        assert!(prd.get("elsewhere").is_none(), "{prd}");
    }
}

#[test]
fn finish_without_ids_skips_it_and_finishes_the_rest() {
    let r = with_work_here(true);
    let old_main = r.rev("main");
    let out = r.run(&["finish"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    let notes: Vec<&str> = err.lines().filter(|l| l.contains("FRONTEND-01")).collect();
    assert_eq!(notes.len(), 1, "one line about FRONTEND-01:\n{err}");
    assert!(
        notes[0].starts_with("note: FRONTEND-01") && notes[0].contains("no branch here"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("Merged 2 tasks into main"),
        "{}",
        stdout(&out)
    );
    // The two done here are merged and cleaned up; FRONTEND-01 is untouched.
    let tf = r.task_file();
    for id in ["DEVOPS-01", "BACKEND-01"] {
        assert_eq!(
            field(&tf, id, "status").as_deref(),
            Some("completed"),
            "{id}"
        );
        assert_eq!(field(&tf, id, "completed_at").as_deref(), Some(NOW), "{id}");
    }
    assert_eq!(
        field(&tf, "FRONTEND-01", "status").as_deref(),
        Some("in_progress")
    );
    assert_eq!(
        field(&tf, "FRONTEND-01", "assigned_to").as_deref(),
        Some(FRONTEND_BRANCH)
    );
    assert!(r.path(".github/workflows/muaththir-ci.yml").is_file());
    assert!(r
        .path("products/muaththir/apps/api/src/server.ts")
        .is_file());
    assert!(!r.ref_exists("refs/heads/feature/muaththir/devops-DEVOPS-01"));
    assert!(!r.ref_exists("refs/heads/feature/muaththir/backend-BACKEND-01"));
    assert!(!r.ref_exists(&format!("refs/heads/{FRONTEND_BRANCH}")));
    assert!(!r.task_worktree("devops", "DEVOPS-01").exists());
    assert!(!r.task_worktree("backend", "BACKEND-01").exists());
    assert!(!r.task_worktree("frontend", "FRONTEND-01").exists());
    assert_eq!(r.rev("main~3"), old_main, "two merges and a status commit");
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    // JSON names it among the skipped tasks; a second finish has nothing left but the note.
    let v = json(&r.ok(&["finish", "--json"]));
    assert_eq!(v["merged"], serde_json::json!([]));
    assert_eq!(v["skipped"][0]["id"], "FRONTEND-01", "{v}");
    assert!(
        v["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no branch here"),
        "{v}"
    );
}

#[test]
fn finish_naming_it_is_refused_with_the_way_out() {
    let r = with_work_here(true);
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "FRONTEND-01", "BACKEND-01"]));
    assert!(text.contains("FRONTEND-01"), "{text}");
    assert!(text.contains("no branch here"), "{text}");
    assert!(text.contains(FRONTEND_BRANCH), "{text}");
    assert!(text.contains("git parallel abort FRONTEND-01"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_same(&r.snapshot(), &before, "finish FRONTEND-01");
}

#[test]
fn start_naming_it_is_refused_with_the_ways_out() {
    let r = frontend_elsewhere(true);
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "FRONTEND-01"]));
    assert!(text.contains("FRONTEND-01"), "{text}");
    assert!(text.contains("no branch here"), "{text}");
    assert!(text.contains("git parallel abort FRONTEND-01"), "{text}");
    assert!(!text.contains("--force"), "no --force for this: {text}");
    assert_same(&r.snapshot(), &before, "start FRONTEND-01");
}

#[test]
fn start_with_nothing_ready_names_it_and_the_way_out() {
    let r = with_work_here(false);
    let before = r.snapshot();
    let out = r.run(&["start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("Nothing to start"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("FRONTEND-01") && l.contains("no branch here"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("git parallel abort FRONTEND-01"), "{line}");
    assert_same(&r.snapshot(), &before, "start");
    let v = json(&r.ok(&["start", "--json"]));
    assert_eq!(v["elsewhere"], serde_json::json!(["FRONTEND-01"]), "{v}");
}

#[test]
fn path_of_it_says_it_has_no_branch_here() {
    let r = frontend_elsewhere(true);
    let text = refused(&r.run(&["path", "FRONTEND-01"]));
    assert!(text.contains("no branch here"), "{text}");
    assert!(text.contains("git parallel abort FRONTEND-01"), "{text}");
    assert!(!text.contains("git worktree add"), "{text}");
}

#[test]
fn abort_resets_it_and_start_then_starts_it_here() {
    let r = frontend_elsewhere(true);
    let refs_before = r.git(&["for-each-ref", "--format=%(refname)"]);
    let out = r.ok(&["abort", "FRONTEND-01"]);
    // It reports only what it did: no branch or worktree was removed.
    assert!(!out.contains("deleted"), "{out}");
    assert!(!out.contains("removed"), "{out}");
    let tf = r.task_file();
    assert_eq!(
        field(&tf, "FRONTEND-01", "status").as_deref(),
        Some("pending")
    );
    // Nothing was created or deleted but the target's new commit.
    assert_eq!(r.git(&["for-each-ref", "--format=%(refname)"]), refs_before);
    assert_eq!(
        r.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    let v = json(&r.ok(&["start", "--json", "FRONTEND-01"]));
    assert_eq!(v["started"][0]["id"], "FRONTEND-01");
    assert!(r.ref_exists(&format!("refs/heads/{FRONTEND_BRANCH}")));
    assert!(r
        .task_worktree("frontend", "FRONTEND-01")
        .join("README.md")
        .is_file());
    assert_eq!(
        field(&r.task_file(), "FRONTEND-01", "status").as_deref(),
        Some("in_progress")
    );
}

#[test]
fn exec_skips_it_with_a_note() {
    let r = with_work_here(true);
    let out = r.run(&["exec", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("FRONTEND-01"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("no branch here"), "{line}");
}

#[test]
fn finish_without_ids_says_why_it_skips_each_task() {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start"]);
    commit_in(
        &r,
        &r.task_worktree("devops", "DEVOPS-01"),
        ".github/workflows/muaththir-ci.yml",
    );
    // BACKEND-01: work staged but not committed; FRONTEND-01: nothing done yet.
    let be = r.task_worktree("backend", "BACKEND-01");
    let f = be.join("products/muaththir/apps/api/src/server.ts");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, "// staged\n").unwrap();
    r.git_in(&be, &["add", "-A"]);
    let out = r.run(&["finish"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let be_note: Vec<&str> = err.lines().filter(|l| l.contains("BACKEND-01")).collect();
    assert_eq!(be_note.len(), 1, "{err}");
    assert!(
        be_note[0].starts_with("note: BACKEND-01: ")
            && be_note[0].contains("1 uncommitted change")
            && be_note[0].ends_with("skipped"),
        "{err}"
    );
    let fe_note: Vec<&str> = err.lines().filter(|l| l.contains("FRONTEND-01")).collect();
    assert_eq!(fe_note.len(), 1, "{err}");
    assert!(
        fe_note[0].starts_with("note: FRONTEND-01: ")
            && fe_note[0].contains("no commits of its own yet"),
        "{err}"
    );
    let tf = r.task_file();
    assert_eq!(
        field(&tf, "DEVOPS-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        field(&tf, "BACKEND-01", "status").as_deref(),
        Some("in_progress")
    );
    assert_eq!(
        field(&tf, "FRONTEND-01", "status").as_deref(),
        Some("in_progress")
    );
    // The staged work is where it was.
    assert_eq!(
        r.git_in(&be, &["status", "--porcelain"]),
        "A  products/muaththir/apps/api/src/server.ts\n"
    );
    assert!(r.ref_exists("refs/heads/feature/muaththir/backend-BACKEND-01"));
    // Named, it is refused with the same reason; quiet, the notes are not printed.
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "BACKEND-01"]));
    assert!(text.contains("1 uncommitted change"), "{text}");
    assert_same(&r.snapshot(), &before, "finish BACKEND-01");
    let out = r.run(&["finish", "-q"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    let v = json(&r.ok(&["finish", "--json"]));
    let skipped: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["BACKEND-01", "FRONTEND-01"]);
}

//! What a new user trips on in the first hour (issue 14): each point with the behaviour a
//! demanding user expects, on real repositories.

use crate::support::*;

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

/// Commits `content` to `file` in a worktree.
fn commit_in(r: &TestRepo, dir: &std::path::Path, file: &str, content: &str) {
    std::fs::write(dir.join(file), content).expect("write");
    r.git_in(dir, &["add", "-A"]);
    r.git_in(dir, &["commit", "-q", "-m", &format!("change {file}")]);
}

/// The conflict radar in `status`: two running tasks that change the same lines, one that
/// conflicts with a commit made on the target since, one that strays outside its paths; text
/// and JSON name the pair and the files, and nothing is written to the object store.
#[test]
fn status_conflict_radar_names_pairs_target_conflicts_and_strays() {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start", "-q"]);
    let back = r.task_worktree("backend", "BACKEND-01");
    let front = r.task_worktree("frontend", "FRONTEND-01");
    let devops = r.task_worktree("devops", "DEVOPS-01");
    commit_in(&r, &back, "README.md", "# backend's product\n");
    commit_in(&r, &front, "README.md", "# frontend's product\n");
    std::fs::write(devops.join("NOTES.md"), "devops\n").unwrap();
    r.git_in(&devops, &["add", "-A"]);
    r.git_in(&devops, &["commit", "-q", "-m", "notes"]);
    let objects = r.git(&["count-objects", "-v"]);

    let out = r.ok(&["status"]);
    assert!(out.contains("Conflict radar"), "{out}");
    assert!(
        out.contains("BACKEND-01 and FRONTEND-01 will conflict in README.md"),
        "{out}"
    );
    assert!(
        out.contains("DEVOPS-01 changes files outside its produces/shared_files: NOTES.md"),
        "{out}"
    );
    let doc = json(&r.ok(&["status", "--json"]));
    let pairs = &doc["radar"]["pairs"];
    assert_eq!(
        pairs[0]["tasks"],
        serde_json::json!(["BACKEND-01", "FRONTEND-01"])
    );
    assert_eq!(pairs[0]["files"], serde_json::json!(["README.md"]));
    assert_eq!(
        r.git(&["count-objects", "-v"]),
        objects,
        "status wrote objects"
    );

    // The target moves and touches the same line: both now conflict with it too.
    r.write("README.md", "# main's product\n");
    r.git(&["commit", "-q", "-am", "readme on main"]);
    let doc = json(&r.ok(&["status", "--json"]));
    let with_target: Vec<&str> = doc["radar"]["target"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(with_target, ["BACKEND-01", "FRONTEND-01"], "{doc}");
    let out = r.ok(&["status"]);
    assert!(
        out.contains("BACKEND-01 conflicts with main in README.md"),
        "{out}"
    );
}

/// `plan` agrees with `status` about checkpoints: a wave whose tasks wait for an approval says
/// so (text and JSON), and a graph without estimates prints no "0 min" critical path.
#[test]
fn plan_names_the_approvals_a_wave_waits_for_and_skips_missing_estimates() {
    let r = TestRepo::muaththir();
    let out = r.ok(&["plan"]);
    assert!(
        out.contains("Wave 1 (150 min, after git parallel approve ARCH-01): DEVOPS-01"),
        "{out}"
    );
    let status = r.ok(&["status"]);
    assert!(status.contains("git parallel approve ARCH-01"), "{status}");
    let doc = json(&r.ok(&["plan", "--json"]));
    assert_eq!(doc["approvals"][0], serde_json::json!(["ARCH-01"]), "{doc}");
    assert_eq!(doc["approvals"][1], serde_json::json!([]), "{doc}");
    r.ok(&["approve", "-q", "ARCH-01"]);
    let out = r.ok(&["plan"]);
    assert!(out.contains("Wave 1 (150 min): DEVOPS-01"), "{out}");

    let r = TestRepo::new();
    r.write(
        "tasks.yml",
        "metadata:\n  product: demo\ntasks:\n  - id: A-01\n    agent: dev\n    status: pending\n  - id: B-01\n    agent: dev\n    depends_on: [A-01]\n    status: pending\n",
    );
    let out = r.ok(&["--tasks", "tasks.yml", "plan"]);
    assert!(out.contains("  Wave 1: A-01\n  Wave 2: B-01\n"), "{out}");
    assert!(!out.contains("0 min"), "{out}");
    assert!(out.contains("No task has estimated_time_minutes"), "{out}");
}

/// A task that produces no files (a checkpoint review) is finished by naming it: completed
/// without a merge commit (no `git commit --allow-empty` needed), worktree and branch removed.
/// `finish` with no ids skips it while it has nothing, and says how to finish it.
#[test]
fn a_task_that_produces_no_files_is_finished_by_name_without_a_merge() {
    let r = TestRepo::new();
    r.write(
        "tasks.yml",
        "metadata:\n  product: demo\ntasks:\n  - id: REVIEW-01\n    agent: reviewer\n    checkpoint: true\n    parallel_ok: true\n    status: pending\n  - id: API-01\n    agent: backend-engineer\n    produces: [\"api/\"]\n    parallel_ok: true\n    status: pending\n",
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "tasks"]);
    let t = ["--tasks", "tasks.yml"];
    r.ok(&[t[0], t[1], "start", "-q"]);
    let api = r.base().join("worktrees/demo/backend-engineer-API-01");
    let api = if api.is_dir() {
        api
    } else {
        r.base().join("worktrees/demo/backend-API-01")
    };
    std::fs::create_dir_all(api.join("api")).unwrap();
    std::fs::write(api.join("api/x"), "x\n").unwrap();
    r.git_in(&api, &["add", "-A"]);
    r.git_in(&api, &["commit", "-q", "-m", "api"]);
    let out = r.run(&[t[0], t[1], "finish"]);
    assert_ok(&out, &["finish"]);
    let text = all_output(&out);
    assert!(
        text.contains("'git parallel finish REVIEW-01' completes it without a merge"),
        "{text}"
    );
    let before = r.rev("main");
    let out = r.run(&[t[0], t[1], "finish", "REVIEW-01"]);
    assert_ok(&out, &["finish", "REVIEW-01"]);
    assert!(
        stdout(&out).contains("nothing to merge"),
        "{}",
        stdout(&out)
    );
    // One commit: the status change; no merge commit for the review.
    assert_eq!(
        r.git(&["rev-list", "--count", &format!("{before}..main")])
            .trim(),
        "1"
    );
    assert_eq!(
        r.git(&[
            "rev-list",
            "--count",
            "--merges",
            &format!("{before}..main")
        ])
        .trim(),
        "0"
    );
    assert_eq!(
        field(&r.read("tasks.yml"), "REVIEW-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(r.git(&["branch", "--list", "*REVIEW-01*"]).trim(), "");
    let worktrees = r.git(&["worktree", "list"]);
    assert!(!worktrees.contains("REVIEW-01"), "{worktrees}");
}

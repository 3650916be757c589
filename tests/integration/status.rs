//! `git parallel status`: it fits the terminal (worktree paths relative to the current
//! directory, columns dropped or cut to `COLUMNS`, completed tasks summarised in one line unless
//! `--all`; piped output without `COLUMNS` is never cut), and its conflict radar names the task
//! pairs that conflict, the tasks that conflict with the target and the files outside a task.

use std::path::Path;
use std::process::Output;

use crate::support::muaththir::{muaththir_ready, start};
use crate::support::*;

/// Runs status in `dir` with `COLUMNS` set (or unset) and a HOME the worktrees are not under,
/// so the relative path is the shortest.
fn status_in(r: &TestRepo, dir: &Path, columns: Option<&str>, args: &[&str]) -> Output {
    let mut c = r.cmd_in(dir);
    c.arg("status").args(args).env("HOME", "/nonexistent-home");
    match columns {
        Some(n) => c.env("COLUMNS", n),
        None => c.env_remove("COLUMNS"),
    };
    let out = c.output().expect("run git-parallel");
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn three_active() -> TestRepo {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01", "BACKEND-01", "FRONTEND-01"]);
    let wts = r.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(wts.matches("worktree ").count(), 4, "{wts}");
    r
}

/// The worktree path of the task whose branch ends in `tail`, relative to the temp dir.
fn worktree_dirs(r: &TestRepo) -> Vec<String> {
    r.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(Path::new)
        .filter(|p| *p != r.root)
        .map(|p| {
            p.strip_prefix(r.home())
                .expect("worktree under the temp dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn status_at_80_columns_fits_with_three_active_tasks() {
    let r = three_active();
    let text = stdout(&status_in(&r, &r.root, Some("80"), &[]));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "line of {} chars: {line:?}\n{text}",
            line.chars().count()
        );
    }
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"));
        assert!(line.contains("in_progress"), "{line}");
    }
    // The absolute temp dir is never printed.
    let abs = r.home().to_string_lossy().into_owned();
    assert!(!text.contains(&abs), "{text}");
    // Three active rows, one summary of the two completed tasks: nothing wraps.
    assert!(text.contains("2 completed: PRD-01, ARCH-01"), "{text}");
    // Tiny terminals do not panic and still fit.
    let narrow = stdout(&status_in(&r, &r.root, Some("20"), &[]));
    assert!(narrow.lines().all(|l| l.chars().count() <= 20), "{narrow}");
}

#[test]
fn status_paths_are_relative_from_root_and_subdirectory() {
    let r = three_active();
    let dirs = worktree_dirs(&r);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    let text = stdout(&status_in(&r, &r.root, None, &[]));
    for d in &dirs {
        assert!(
            text.contains(&format!("  ../{d}")),
            "../{d} missing:\n{text}"
        );
    }
    let sub = r.path("products/muaththir");
    let text = stdout(&status_in(&r, &sub, None, &[]));
    for d in &dirs {
        assert!(
            text.contains(&format!("  ../../../{d}")),
            "../../../{d} missing:\n{text}"
        );
    }
    // Where HOME is shorter, ~ is used.
    let mut c = r.cmd();
    c.arg("status").env("HOME", r.home()).env_remove("COLUMNS");
    let text = stdout(&c.output().expect("run"));
    for d in &dirs {
        assert!(text.contains(&format!("  ~/{d}")), "~/{d} missing:\n{text}");
    }
    // JSON keeps absolute paths and every task.
    let json = stdout(&status_in(&r, &r.root, Some("80"), &["--json"]));
    let abs = r.home().join(&dirs[0]).to_string_lossy().into_owned();
    assert!(json.contains(&abs), "{json}");
    assert!(json.contains("\"PRD-01\""), "{json}");
}

#[test]
fn status_summarises_completed_tasks_unless_all() {
    let r = muaththir_ready();
    let text = stdout(&status_in(&r, &r.root, None, &[]));
    let summary = "  2 completed: PRD-01, ARCH-01 (git parallel status --all to list them)";
    assert!(text.lines().any(|l| l == summary), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("PRD-01 ")),
        "{text}"
    );
    let all = stdout(&status_in(&r, &r.root, None, &["--all"]));
    assert!(!all.contains("--all to list them"), "{all}");
    for id in ["PRD-01", "ARCH-01"] {
        assert!(
            all.lines()
                .any(|l| l.trim_start().starts_with(id) && l.contains("completed")),
            "{id} not listed:\n{all}"
        );
    }
    // The rest of the report is the same.
    assert_eq!(
        text.lines().filter(|l| !l.contains("completed")).count(),
        all.lines().filter(|l| !l.contains("completed")).count()
    );
}

#[test]
fn status_piped_without_columns_is_not_cut() {
    let r = three_active();
    let wide = stdout(&status_in(&r, &r.root, None, &[]));
    assert!(!wide.contains('…'), "{wide}");
    assert!(
        wide.lines().any(|l| l.chars().count() > 80),
        "expected full rows:\n{wide}"
    );
    for d in worktree_dirs(&r) {
        assert!(wide.contains(&d), "{d} missing:\n{wide}");
    }
    assert!(wide.contains("ahead 0, behind 0"), "{wide}");
    // Stable: the same twice.
    assert_eq!(wide, stdout(&status_in(&r, &r.root, None, &[])));
}

// ---- the conflict radar ------------------------------------------------------------------------

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

//! The muaththir corpus graph in the states many tests begin from: its first three tasks ready,
//! or started with one commit of work each, and the branches and files those tasks use.

use std::path::Path;

use super::{set_status, TestRepo};

/// The three tasks muaththir starts: (id, role, a file inside its produces paths, merge message).
pub const TASKS: [(&str, &str, &str, &str); 3] = [
    (
        "DEVOPS-01",
        "devops",
        ".github/workflows/muaththir-ci.yml",
        "ci(muaththir): Setup CI/CD Pipeline (DEVOPS-01)",
    ),
    (
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/src/server.ts",
        "feat(muaththir): Implement Backend Foundation (BACKEND-01)",
    ),
    (
        "FRONTEND-01",
        "frontend",
        "products/muaththir/apps/web/src/app/page.tsx",
        "feat(muaththir): Implement Frontend Foundation (FRONTEND-01)",
    ),
];

/// The branch muaththir's task `id` of agent role `role` gets.
pub fn branch(role: &str, id: &str) -> String {
    format!("feature/muaththir/{role}-{id}")
}

/// Writes `file` in worktree `wt` and commits everything there; the new commit's id.
pub fn commit_in(r: &TestRepo, wt: &Path, file: &str, content: &str, msg: &str) -> String {
    let p = wt.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    r.git_in(wt, &["add", "-A"]);
    r.git_in(wt, &["commit", "-q", "-m", msg]);
    r.git_in(wt, &["rev-parse", "HEAD"]).trim().to_string()
}

/// Starts muaththir's three tasks in `r` and makes one commit in each, inside its paths.
pub fn start_with_work(r: &TestRepo) {
    r.ok(&["start"]);
    for (id, role, file, _) in TASKS {
        commit_in(
            r,
            &r.task_worktree(role, id),
            file,
            &format!("// {id}\n"),
            &format!("work on {id}"),
        );
    }
}

/// One commit in each of the three started tasks' worktrees, inside its paths: the file holds
/// `// <role>-<id>`, the message is `work in <role>-<id>` (old_journal's fixtures were recorded
/// on exactly these commits).
pub fn work_in_each(r: &TestRepo) {
    for (id, role, file, _) in TASKS {
        let dir = format!("{role}-{id}");
        let wt = r.base().join("worktrees/muaththir").join(&dir);
        commit_in(
            r,
            &wt,
            file,
            &format!("// {dir}\n"),
            &format!("work in {dir}"),
        );
    }
}

/// muaththir ready to start BACKEND-01, which has `started_at: null` and an `assigned_to`
/// before it is started (keys an abort must give back as they were).
pub fn with_keys_before_start() -> TestRepo {
    TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        let t = set_status(&t, "PRD-01", "completed");
        let t = set_status(&t, "ARCH-01", "completed");
        super::approve_in_text(&t, "ARCH-01").replace(
            "  - id: \"BACKEND-01\"\n",
            "  - id: \"BACKEND-01\"\n    started_at: null\n    assigned_to: \"team-b\"\n",
        )
    })
}

/// Adds `approved_at` after the `status:` line of task `id`.
pub fn approve(text: &str, id: &str) -> String {
    let start = text
        .find(&format!("id: \"{id}\""))
        .unwrap_or_else(|| panic!("no task {id}"));
    let rel = text[start..].find("\n    status:").expect("status line");
    let line_end = start + rel + 1 + text[start + rel + 1..].find('\n').expect("newline");
    format!(
        "{}\n    approved_at: \"2026-02-01T00:00:00Z\"{}",
        &text[..line_end],
        &text[line_end..]
    )
}

/// muaththir with PRD-01 and ARCH-01 completed and ARCH-01 approved: DEVOPS-01, BACKEND-01 and
/// FRONTEND-01 are ready.
pub fn muaththir_ready() -> TestRepo {
    TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        let t = set_status(&t, "PRD-01", "completed");
        let t = set_status(&t, "ARCH-01", "completed");
        approve(&t, "ARCH-01")
    })
}

/// Starts tasks with `git parallel start`, asserting success.
pub fn start(r: &TestRepo, ids: &[&str]) {
    let mut args = vec!["start"];
    args.extend_from_slice(ids);
    r.ok(&args);
}

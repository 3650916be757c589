//! The `--json` document of every command, checked against docs/json.md along one lifecycle:
//! each has `version: 1`, its `command`, and the fields the schema documents.

use crate::support::{assert_ok, stdout, TestRepo};

fn doc(r: &TestRepo, args: &[&str]) -> serde_json::Value {
    let out = r.run(args);
    assert_ok(&out, args);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", stdout(&out)));
    let command = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .copied()
        .unwrap_or("status");
    assert_eq!(v["version"], 1, "{args:?}: {v}");
    assert_eq!(v["command"], command, "{args:?}: {v}");
    v
}

fn has(v: &serde_json::Value, fields: &[&str]) {
    for f in fields {
        assert!(v.get(f).is_some(), "no field {f} in {v}");
    }
}

fn commit_in(r: &TestRepo, id: &str, role: &str, file: &str) {
    let wt = r.task_worktree(role, id);
    let p = wt.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, format!("// {id}\n")).unwrap();
    r.git_in(&wt, &["add", "-A"]);
    r.git_in(&wt, &["commit", "-q", "-m", &format!("work on {id}")]);
}

#[test]
fn every_command_prints_its_documented_document() {
    let r = TestRepo::muaththir();
    has(
        &doc(&r, &["approve", "ARCH-01", "--json"]),
        &["approved", "already_approved", "ready"],
    );
    let start = doc(&r, &["start", "--json"]);
    has(&start, &["target", "base", "started"]);
    assert_eq!(start["started"].as_array().map(Vec::len), Some(3));
    has(&start["started"][0], &["id", "branch", "worktree", "next"]);
    commit_in(
        &r,
        "DEVOPS-01",
        "devops",
        ".github/workflows/muaththir-ci.yml",
    );
    commit_in(
        &r,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/src/server.ts",
    );

    let status = doc(&r, &["status", "--json"]);
    has(
        &status,
        &[
            "task_file",
            "product",
            "target",
            "tasks",
            "ready",
            "waiting",
        ],
    );
    has(&doc(&r, &["--json"]), &["tasks"]);
    has(
        &doc(&r, &["plan", "--json"]),
        &[
            "waves",
            "critical_path",
            "sequential_minutes",
            "parallel_minutes",
            "tasks",
        ],
    );
    has(
        &doc(&r, &["path", "DEVOPS-01", "--json"]),
        &["id", "status", "path"],
    );
    has(
        &doc(&r, &["validate", "--json"]),
        &["file", "ok", "tasks", "errors", "warnings"],
    );
    let exec = doc(&r, &["exec", "--json", "--", "true"]);
    has(&exec, &["results"]);
    has(
        &exec["results"][0],
        &["id", "worktree", "exit_code", "stdout", "stderr"],
    );

    has(
        &doc(&r, &["fail", "FRONTEND-01", "--reason", "flaky", "--json"]),
        &["failed", "max_retries", "can_retry"],
    );
    has(
        &doc(&r, &["retry", "FRONTEND-01", "--json"]),
        &["target", "base", "retried"],
    );
    has(
        &doc(&r, &["abort", "FRONTEND-01", "--json"]),
        &["target", "aborted"],
    );

    let dry = doc(&r, &["finish", "--dry-run", "--json"]);
    assert_eq!(dry["dry_run"], true);
    has(
        &dry["plan"],
        &["command", "summary", "steps", "commit_point"],
    );
    let finish = doc(&r, &["finish", "--json"]);
    has(
        &finish,
        &["target", "old_tip", "new_tip", "merged", "conflicts"],
    );
    assert_eq!(finish["merged"].as_array().map(Vec::len), Some(2));
    has(
        &finish["merged"][0],
        &["id", "branch", "commits", "files_changed", "merge_commit"],
    );
    has(&doc(&r, &["undo", "--json"]), &["undone"]);
    has(
        &doc(&r, &["gc", "--json"]),
        &["keep_days", "deleted", "kept"],
    );
}

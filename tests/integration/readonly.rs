//! The read-only commands — status, plan, path, validate — on the corpus graphs: output, JSON
//! documents, exit codes, and that they never change the repository.

use std::path::Path;

use serde_json::Value;

use crate::support::muaththir::{approve, muaththir_ready, start};
use crate::support::*;

/// Every task graph of the corpus with its product name.
pub const CORPUS: &[(&str, &str)] = &[
    ("basic-calculator.task-graph.yml", "basic-calculator"),
    ("connectgrc.task-graph.yml", "connectgrc"),
    ("muaththir.task-graph.yml", "muaththir"),
    ("stablecoin-gateway.task-graph.yml", "stablecoin-gateway"),
    ("studyflow.task-graph.yml", "studyflow"),
];

/// studyflow with TASKS-01 done and FRONTEND-01 also declaring BACKEND-01's package.json as a
/// shared file: the two are ready but must not run together.
fn studyflow_shared() -> TestRepo {
    TestRepo::with_graph("studyflow.task-graph.yml", "studyflow", |t| {
        let t = set_status(&t, "TASKS-01", "completed");
        let old = "shared_files: [\"products/studyflow/apps/web/package.json\"]";
        assert!(t.contains(old));
        t.replace(
            old,
            "shared_files: [\"products/studyflow/apps/web/package.json\", \"products/studyflow/apps/api/package.json\"]",
        )
    })
}

pub fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\nstdout:\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

/// The line of `id` in the "Waiting:" section of `status`.
fn waiting_line(out: &str, id: &str) -> String {
    let (_, section) = out
        .split_once("\nWaiting:\n")
        .unwrap_or_else(|| panic!("no Waiting section:\n{out}"));
    section
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} is not waiting:\n{out}"))
        .to_string()
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exit code")
}

fn worktree(r: &TestRepo, dir: &str) -> std::path::PathBuf {
    r.home().join("worktrees/muaththir").join(dir)
}

// ---- status ------------------------------------------------------------------------------------

#[test]
fn status_is_the_default_command() {
    let r = muaththir_ready();
    let plain = r.ok(&[]);
    assert_eq!(plain, r.ok(&["status"]));
    assert!(plain.starts_with("products/muaththir/.claude/task-graph.yml (muaththir): 2 of 9 tasks done; target main\n"), "{plain}");
    assert!(
        !plain.contains('\x1b'),
        "colour when not a terminal:\n{plain}"
    );
    // Completed tasks are summarised in one line; --all lists them.
    assert!(
        plain.contains(
            "\n  2 completed: PRD-01, ARCH-01 (git parallel status --all to list them)\n"
        ),
        "{plain}"
    );
    let all = r.ok(&["status", "--all"]);
    for (id, agent, status) in [
        ("PRD-01", "product-manager", "completed"),
        ("ARCH-01", "architect", "completed"),
        ("DEVOPS-01", "devops-engineer", "pending"),
        ("CHECKPOINT-FOUNDATION", "orchestrator", "pending"),
    ] {
        let line = all
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no line for {id}:\n{all}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words, [id, agent, status], "{line}");
    }
    assert!(
        plain.contains("\nReady now: DEVOPS-01, BACKEND-01, FRONTEND-01"),
        "{plain}"
    );
    assert!(plain.contains("\nWaiting:\n"), "{plain}");
    let qa = waiting_line(&plain, "QA-01");
    assert!(qa.ends_with("depends on FRONTEND-01 (pending)"), "{qa}");
    let qa2 = waiting_line(&plain, "QA-02");
    assert!(
        qa2.ends_with(
            "depends on BACKEND-01 (pending), FRONTEND-01 (pending), DEVOPS-01 (pending), QA-01 (pending)"
        ),
        "{qa2}"
    );
}

#[test]
fn status_names_the_checkpoint_awaiting_approval() {
    let r = TestRepo::muaththir();
    let out = r.ok(&["status"]);
    assert!(out.contains("Ready now: nothing\n"), "{out}");
    let devops = waiting_line(&out, "DEVOPS-01");
    assert!(
        devops.ends_with("checkpoint ARCH-01 awaits approval (git parallel approve ARCH-01)"),
        "{devops}"
    );
}

#[test]
fn status_json_document() {
    let r = muaththir_ready();
    let out = r.run(&["status", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "status");
    assert_eq!(v["task_file"], "products/muaththir/.claude/task-graph.yml");
    assert_eq!(v["product"], "muaththir");
    assert_eq!(v["target"], "main");
    let tasks = v["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 9);
    assert_eq!(tasks[0]["id"], "PRD-01");
    assert_eq!(tasks[0]["name"], "Create Product Requirements Document");
    assert_eq!(tasks[0]["agent"], "product-manager");
    assert_eq!(tasks[0]["status"], "completed");
    assert!(tasks[0].get("branch").is_none());
    assert_eq!(ids(&v["ready"]), ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"]);
    let waiting = v["waiting"].as_array().unwrap();
    let waiting_ids: Vec<&str> = waiting.iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(
        waiting_ids,
        ["QA-01", "QA-02", "DOCS-01", "CHECKPOINT-FOUNDATION"]
    );
    assert_eq!(waiting[0]["reason"], "depends on FRONTEND-01 (pending)");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn status_of_active_tasks_shows_branch_worktree_dirty_and_ahead_behind() {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01", "BACKEND-01"]);
    let backend = worktree(&r, "backend-BACKEND-01");
    let devops = worktree(&r, "devops-DEVOPS-01");
    // BACKEND-01: one commit of its own and an untracked file; the target moves on by one.
    std::fs::write(backend.join("server.ts"), "export {};\n").unwrap();
    r.git_in(&backend, &["add", "server.ts"]);
    r.git_in(&backend, &["commit", "-q", "-m", "feat: server"]);
    std::fs::write(backend.join("notes.txt"), "wip\n").unwrap();
    r.write("CHANGELOG.md", "x\n");
    r.git(&["add", "CHANGELOG.md"]);
    r.git(&["commit", "-q", "-m", "docs: changelog"]);

    let before = r.snapshot();
    let out = r.ok(&["status"]);
    let line = |id: &str| -> String {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")) && l.contains("in_progress"))
            .unwrap_or_else(|| panic!("no active line for {id}:\n{out}"))
            .to_string()
    };
    let b = line("BACKEND-01");
    assert!(b.contains("feature/muaththir/backend-BACKEND-01"), "{b}");
    // Worktrees are outside the current directory, under HOME: the shortest path is ~-based.
    assert!(
        b.contains("  ~/worktrees/muaththir/backend-BACKEND-01  "),
        "{b}"
    );
    assert!(b.contains("dirty (1 change)"), "{b}");
    assert!(b.ends_with("ahead 1, behind 1"), "{b}");
    let d = line("DEVOPS-01");
    assert!(devops.is_dir(), "{}", devops.display());
    assert!(
        d.contains("  ~/worktrees/muaththir/devops-DEVOPS-01  "),
        "{d}"
    );
    assert!(d.contains("  clean  "), "{d}");
    assert!(d.ends_with("ahead 0, behind 1"), "{d}");
    assert!(out.contains("Ready now: FRONTEND-01"), "{out}");

    let v = json(&r.run(&["status", "--json"]));
    let task = |id: &str| -> Value {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()
            .clone()
    };
    let b = task("BACKEND-01");
    assert_eq!(b["status"], "in_progress");
    assert_eq!(b["branch"], "feature/muaththir/backend-BACKEND-01");
    assert_eq!(b["worktree"], backend.display().to_string());
    assert_eq!(b["dirty"], true);
    assert_eq!(b["ahead"], 1);
    assert_eq!(b["behind"], 1);
    let d = task("DEVOPS-01");
    assert_eq!(d["dirty"], false);
    assert_eq!(d["ahead"], 0);
    assert_eq!(ids(&v["ready"]), ["FRONTEND-01"]);
    assert!(task("FRONTEND-01").get("worktree").is_none());
    assert_eq!(before, r.snapshot(), "status changed the repository");
}

#[test]
fn status_of_a_started_task_whose_worktree_is_gone() {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01"]);
    let wt = worktree(&r, "devops-DEVOPS-01");
    r.git(&["worktree", "remove", "--force", wt.to_str().unwrap()]);
    let out = r.ok(&["status"]);
    let d = out
        .lines()
        .find(|l| l.trim_start().starts_with("DEVOPS-01 "))
        .unwrap();
    assert!(d.contains("(no worktree)"), "{d}");
    assert!(d.ends_with("ahead 0, behind 0"), "{d}");
}

#[test]
fn status_runs_no_git_process_without_active_tasks() {
    // A `git` first on PATH that records being run and fails.
    let r = muaththir_ready();
    let bin = r.home().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = r.home().join("git-was-run");
    let script = bin.join("git");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["plan"],
        &["validate"],
    ] {
        let out = r.cmd().args(args).env("PATH", &path).output().unwrap();
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    }
    assert!(
        !marker.exists(),
        "git was run: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn status_names_the_shared_file_that_keeps_a_ready_task_waiting() {
    let r = studyflow_shared();
    let out = r.ok(&["status"]);
    assert!(out.contains("Ready now: DEVOPS-01, BACKEND-01"), "{out}");
    let f = waiting_line(&out, "FRONTEND-01");
    assert!(
        f.ends_with("shares products/studyflow/apps/api/package.json with BACKEND-01"),
        "{f}"
    );
    let v = json(&r.run(&["status", "--json"]));
    let w = v["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "FRONTEND-01")
        .unwrap()
        .clone();
    assert_eq!(
        w["reason"],
        "shares products/studyflow/apps/api/package.json with BACKEND-01"
    );
}

#[test]
fn status_on_every_corpus_graph() {
    for (file, product) in CORPUS {
        let r = TestRepo::with_graph(file, product, |t| t);
        let before = r.snapshot();
        let text = r.ok(&["status", "--all"]);
        let n =
            fixture(file).matches("\n  - id:").count() + fixture(file).matches("\n- id:").count();
        let task_lines = text
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("Ready now:"))
            .count();
        assert_eq!(task_lines, n, "{file}:\n{text}");
        let v = json(&r.run(&["status", "--json"]));
        assert_eq!(v["tasks"].as_array().unwrap().len(), n, "{file}");
        assert_eq!(v["product"], *product);
        assert_eq!(before, r.snapshot(), "{file}");
    }
}

// ---- plan --------------------------------------------------------------------------------------

#[test]
fn plan_text_shows_waves_critical_path_and_minutes() {
    let r = muaththir_ready();
    let out = r.ok(&["plan"]);
    let expected = "\
products/muaththir/.claude/task-graph.yml: 7 tasks remaining in 5 waves
  Wave 1 (150 min): DEVOPS-01, BACKEND-01, FRONTEND-01
  Wave 2 (60 min): QA-01
  Wave 3 (45 min): QA-02
  Wave 4 (60 min): DOCS-01
    DOCS-01 waits: QA-02 runs alone (parallel_ok: false)
  Wave 5 (0 min): CHECKPOINT-FOUNDATION (checkpoint)
Critical path (225 min): FRONTEND-01 -> QA-01 -> QA-02
Time: 525 min sequential, 315 min in parallel (saves 210 min, 1.7x)
";
    assert_eq!(out, expected);
}

#[test]
fn plan_says_why_a_task_sits_in_a_later_wave() {
    let r = TestRepo::new();
    r.write(
        ".claude/task-graph.yml",
        "tasks:
- {id: A, name: A, produces: [{path: src/shared.rs}], parallel_ok: true, status: pending}
- {id: B, name: B, shared_files: [src/shared.rs], parallel_ok: true, status: pending}
- {id: C, name: C, produces: [{path: src/c/}], parallel_ok: true, status: pending}
- {id: D, name: D, depends_on: [A], produces: [{path: src/d/}], parallel_ok: true, status: pending}
",
    );
    let v = json(&r.run(&["plan", "--json"]));
    let why = |id: &str| -> Value {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["wave_reason"]
            .clone()
    };
    assert_eq!(why("A"), Value::Null);
    assert_eq!(why("C"), Value::Null);
    assert_eq!(
        why("B"),
        serde_json::json!({"kind": "shared_file", "file": "src/shared.rs", "task": "A"})
    );
    assert_eq!(
        why("D"),
        serde_json::json!({"kind": "dependency", "task": "A"})
    );
    let text = r.ok(&["plan"]);
    assert!(
        text.contains("    B waits: shares src/shared.rs with A\n"),
        "{text}"
    );
    let dot = r.ok(&["plan", "--format", "dot"]);
    assert!(
        dot.contains(
            "\"A\" -> \"B\" [style=dashed, color=\"#999999\", label=\"shares src/shared.rs\"];"
        ),
        "{dot}"
    );
    let mermaid = r.ok(&["plan", "--format", "mermaid"]);
    assert!(
        mermaid.contains("  t0 -. \"shares src/shared.rs\" .-> t1\n"),
        "{mermaid}"
    );
    // --max 1: C waits for the cap, not for a file.
    let v = json(&r.run(&["plan", "--json", "--max", "1"]));
    let c = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "C")
        .unwrap()
        .clone();
    assert_eq!(
        c["wave_reason"],
        serde_json::json!({"kind": "max", "max": 1})
    );
}

#[test]
fn plan_json_document() {
    let r = muaththir_ready();
    for args in [&["plan", "--format", "json"][..], &["plan", "--json"]] {
        let out = r.run(args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let v = json(&out);
        assert_eq!(v["version"], 1);
        assert_eq!(v["command"], "plan");
        let waves: Vec<Vec<String>> = v["waves"].as_array().unwrap().iter().map(ids).collect();
        assert_eq!(
            waves,
            [
                vec!["DEVOPS-01", "BACKEND-01", "FRONTEND-01"],
                vec!["QA-01"],
                vec!["QA-02"],
                vec!["DOCS-01"],
                vec!["CHECKPOINT-FOUNDATION"],
            ]
        );
        assert_eq!(
            ids(&v["critical_path"]["tasks"]),
            ["FRONTEND-01", "QA-01", "QA-02"]
        );
        assert_eq!(v["critical_path"]["minutes"], 225);
        assert_eq!(v["sequential_minutes"], 525);
        assert_eq!(v["parallel_minutes"], 315);
        let tasks = v["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 9);
        assert_eq!(tasks[1]["id"], "ARCH-01");
        assert_eq!(tasks[1]["status"], "completed");
        assert_eq!(ids(&tasks[1]["depends_on"]), ["PRD-01"]);
        assert_eq!(tasks[1]["wave"], Value::Null);
        assert_eq!(tasks[2]["wave"], 1);
    }
}

#[test]
fn plan_dot_colours_nodes_by_status() {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01"]);
    let out = r.ok(&["plan", "--format", "dot"]);
    assert!(out.starts_with("digraph \"muaththir\" {\n"), "{out}");
    assert!(out.trim_end().ends_with('}'), "{out}");
    let node = |id: &str| -> String {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{id}\" [")))
            .unwrap_or_else(|| panic!("no node {id}:\n{out}"))
            .to_string()
    };
    assert!(
        node("PRD-01").contains("fillcolor=\"#b7e1a1\""),
        "completed is green"
    );
    assert!(
        node("DEVOPS-01").contains("fillcolor=\"#ffe08a\""),
        "in_progress is yellow"
    );
    assert!(
        node("QA-01").contains("fillcolor=\"#ffffff\""),
        "pending is white"
    );
    assert!(out.contains("  \"PRD-01\" -> \"ARCH-01\";\n"), "{out}");
    assert!(out.contains("subgraph cluster_wave1 {"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(" -> ") && !l.contains("style=dashed"))
            .count(),
        14,
        "one edge per dependency:\n{out}"
    );
    assert!(
        out.contains(
            "  \"QA-02\" -> \"DOCS-01\" [style=dashed, color=\"#999999\", label=\"runs alone\"];\n"
        ),
        "{out}"
    );
    render_with("dot", &["-Tsvg"], &out);
}

#[test]
fn plan_dot_and_mermaid_for_failed_and_blocked_tasks() {
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        let t = set_status(&t, "PRD-01", "completed");
        let t = set_status(&t, "ARCH-01", "failed");
        set_status(&t, "QA-01", "blocked")
    });
    let dot = r.ok(&["plan", "--format", "dot"]);
    assert!(
        dot.contains(
            "\"ARCH-01\" [label=\"ARCH-01\\narchitect · 180 min\\nfailed\", fillcolor=\"#f4a3a3\""
        ),
        "{dot}"
    );
    assert!(
        dot.contains("fillcolor=\"#d0d0d0\""),
        "blocked is grey:\n{dot}"
    );
    let mermaid = r.ok(&["plan", "--format", "mermaid"]);
    assert!(
        mermaid.contains("  classDef failed fill:#f4a3a3"),
        "{mermaid}"
    );
    assert!(mermaid.contains("  class t1 failed\n"), "{mermaid}");
    assert!(mermaid.contains("  class t5 blocked\n"), "{mermaid}");
    // Nothing can run: every remaining task waits on the failed one.
    let text = r.ok(&["plan"]);
    assert!(
        text.contains("Cannot run DEVOPS-01: depends on ARCH-01 (failed)"),
        "{text}"
    );
    let v = json(&r.run(&["plan", "--json"]));
    assert_eq!(v["waves"].as_array().unwrap().len(), 0);
    assert!(ids(&v["unschedulable"]).contains(&"QA-02".to_string()));
}

#[test]
fn plan_mermaid_draws_the_graph() {
    let r = muaththir_ready();
    let out = r.ok(&["plan", "--format", "mermaid"]);
    assert!(out.starts_with("flowchart LR\n"), "{out}");
    assert!(out.contains("  subgraph wave1 [\"Wave 1\"]\n"), "{out}");
    assert!(
        out.contains("    t2[\"DEVOPS-01<br/>devops-engineer · 90 min\"]\n"),
        "{out}"
    );
    assert!(out.contains("  t0 --> t1\n"), "{out}");
    assert!(out.contains("  t4 ==> t5\n"), "critical path edge:\n{out}");
    assert!(out.contains("  classDef completed fill:#b7e1a1"), "{out}");
    assert!(out.contains("  class t0,t1 completed\n"), "{out}");
    assert!(out.contains("  classDef pending fill:#ffffff"), "{out}");
    assert_eq!(
        out.matches(" --> ").count() + out.matches(" ==> ").count(),
        14,
        "{out}"
    );
}

#[test]
fn plan_never_puts_tasks_sharing_a_file_in_one_wave() {
    let r = studyflow_shared();
    let v = json(&r.run(&["plan", "--json"]));
    let waves: Vec<Vec<String>> = v["waves"].as_array().unwrap().iter().map(ids).collect();
    let wave_of = |id: &str| {
        waves
            .iter()
            .position(|w| w.iter().any(|x| x == id))
            .unwrap()
    };
    assert_ne!(wave_of("BACKEND-01"), wave_of("FRONTEND-01"), "{waves:?}");
    assert_eq!(waves[0], ["DEVOPS-01", "BACKEND-01"], "{waves:?}");
    // Unchanged, the three run together.
    let r = TestRepo::with_graph("studyflow.task-graph.yml", "studyflow", |t| {
        set_status(&t, "TASKS-01", "completed")
    });
    let v = json(&r.run(&["plan", "--json"]));
    assert_eq!(
        ids(&v["waves"][0]),
        ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"]
    );
}

#[test]
fn plan_all_formats_on_every_corpus_graph() {
    for (file, product) in CORPUS {
        let r = TestRepo::with_graph(file, product, |t| t);
        let before = r.snapshot();
        let text = r.ok(&["plan"]);
        assert!(text.contains("Time: "), "{file}:\n{text}");
        let v = json(&r.run(&["plan", "--format", "json"]));
        // Every remaining task is in exactly one wave.
        let mut in_waves: Vec<String> = v["waves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(ids)
            .collect();
        let mut remaining: Vec<String> = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] != "completed" && t["status"] != "skipped")
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        in_waves.sort();
        remaining.sort();
        assert_eq!(in_waves, remaining, "{file}");
        let seq = v["sequential_minutes"].as_u64().unwrap();
        let par = v["parallel_minutes"].as_u64().unwrap();
        let cp = v["critical_path"]["minutes"].as_u64().unwrap();
        assert!(cp <= par && par <= seq, "{file}: {cp} {par} {seq}");
        let dot = r.ok(&["plan", "--format", "dot"]);
        render_with("dot", &["-Tsvg"], &dot);
        let mermaid = r.ok(&["plan", "--format", "mermaid"]);
        assert!(mermaid.starts_with("flowchart LR\n"), "{file}");
        assert_eq!(before, r.snapshot(), "{file}");
    }
}

#[test]
fn plan_rejects_an_unknown_format() {
    let r = muaththir_ready();
    let out = r.run(&["plan", "--format", "svg"]);
    assert_eq!(code(&out), 129);
    assert!(
        stderr(&out).contains("unknown format 'svg'"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("usage: git parallel plan"),
        "{}",
        stderr(&out)
    );
}

/// Feeds `input` to a renderer when it is installed (skipped otherwise).
fn render_with(program: &str, args: &[&str], input: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} rejected:\n{input}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- path --------------------------------------------------------------------------------------

#[test]
fn path_prints_the_worktree_of_a_started_task() {
    let r = muaththir_ready();
    start(&r, &["BACKEND-01"]);
    let before = r.snapshot();
    let out = r.ok(&["path", "BACKEND-01"]);
    let expected = worktree(&r, "backend-BACKEND-01");
    assert_eq!(out, format!("{}\n", expected.display()));
    assert!(Path::new(out.trim_end()).is_absolute());
    // From a subdirectory too, still absolute.
    let sub = r.path("products/muaththir");
    let out = r
        .cmd_in(&sub)
        .args(["path", "BACKEND-01"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), format!("{}\n", expected.display()));
    let v = json(&r.run(&["path", "BACKEND-01", "--json"]));
    assert_eq!(v["command"], "path");
    assert_eq!(v["path"], expected.display().to_string());
    assert_eq!(before, r.snapshot());
}

#[test]
fn path_refuses_tasks_without_a_worktree() {
    let r = muaththir_ready();
    let out = r.run(&["path", "FRONTEND-01"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("task FRONTEND-01 has no worktree: it is pending"),
        "{err}"
    );
    assert!(err.contains("git parallel start FRONTEND-01"), "{err}");
    let out = r.run(&["path", "PRD-01"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("it is completed"), "{}", stderr(&out));
}

#[test]
fn path_of_an_unknown_task_or_without_an_id() {
    let r = muaththir_ready();
    let out = r.run(&["path", "NOPE-99"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("no task 'NOPE-99' in products/muaththir/.claude/task-graph.yml"),
        "{}",
        stderr(&out)
    );
    let out = r.run(&["path"]);
    assert_eq!(code(&out), 129);
    assert!(stderr(&out).contains("missing ID"), "{}", stderr(&out));
}

// ---- validate ----------------------------------------------------------------------------------

/// `validate` (text, quiet and JSON) of one corpus graph at the orchestrator's path.
fn validate_corpus_graph(product: &str) {
    let file = format!("{product}.task-graph.yml");
    let r = TestRepo::with_graph(&file, product, |t| t);
    let n = fixture(&file).matches("\n  - id:").count() + fixture(&file).matches("\n- id:").count();
    let out = r.run(&["validate"]);
    assert_eq!(code(&out), 0, "{file}: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("products/{product}/.claude/task-graph.yml: ok ({n} tasks, 0 warnings)\n"),
        "{file}"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let quiet = r.run(&["validate", "-q"]);
    assert_eq!(code(&quiet), 0);
    assert!(quiet.stdout.is_empty());
    let v = json(&r.run(&["validate", "--json"]));
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "validate");
    assert_eq!(
        v["file"],
        format!("products/{product}/.claude/task-graph.yml")
    );
    assert_eq!(v["ok"], true);
    assert_eq!(v["tasks"], n);
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{file}: {v}");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0, "{file}: {v}");
}

#[test]
fn validate_basic_calculator() {
    validate_corpus_graph("basic-calculator");
}

#[test]
fn validate_connectgrc() {
    validate_corpus_graph("connectgrc");
}

#[test]
fn validate_muaththir() {
    validate_corpus_graph("muaththir");
}

#[test]
fn validate_stablecoin_gateway() {
    validate_corpus_graph("stablecoin-gateway");
}

#[test]
fn validate_studyflow() {
    validate_corpus_graph("studyflow");
}

#[test]
fn corpus_list_is_complete() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".task-graph.yml"))
            .collect();
    on_disk.sort();
    let listed: Vec<&str> = CORPUS.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        on_disk, listed,
        "add the new fixture to CORPUS and give it a validate test"
    );
}

#[test]
fn validate_refuses_the_schema_file() {
    let r = TestRepo::new();
    r.write("schema.yml", &fixture("task-graph.schema.yml"));
    let out = r.run(&["validate", "--tasks", "schema.yml"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("not a task graph"), "{err}");
    assert!(err.contains("schema.yml:5:1"), "{err}");
    let out = r.run(&["validate", "--tasks", "schema.yml", "--json"]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["code"], "taskgraph::schema-file");
    assert_eq!(v["errors"][0]["line"], 5);
    assert_eq!(v["errors"][0]["col"], 1);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not a task graph"));
}

#[test]
fn validate_reports_each_problem_at_file_line_col() {
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        // An unknown dependency in QA-01 and a typo in DOCS-01's status.
        let t = t.replacen(
            "depends_on: [\"FRONTEND-01\"]",
            "depends_on: [\"FRONTEND-99\"]",
            1,
        );
        let t = set_status(&t, "DOCS-01", "done");
        approve(&t, "ARCH-01")
    });
    let text = r.task_file();
    let pos = |needle: &str| -> (usize, usize) {
        let at = text.find(needle).unwrap();
        let line = text[..at].matches('\n').count() + 1;
        let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    };
    let (dl, dc) = pos("\"FRONTEND-99\"");
    let (sl, sc) = pos("\"done\"");
    let before = r.snapshot();
    let out = r.run(&["validate"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "products/muaththir/.claude/task-graph.yml:{dl}:{dc}"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "products/muaththir/.claude/task-graph.yml:{sl}:{sc}"
        )),
        "{err}"
    );
    assert!(err.contains("FRONTEND-99"), "{err}");
    assert!(err.contains("2 errors"), "{err}");
    let out = r.run(&["validate", "--json"]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v}");
    let at: Vec<(u64, u64)> = errors
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["col"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        at,
        [(dl as u64, dc as u64), (sl as u64, sc as u64)],
        "sorted by position"
    );
    assert_eq!(errors[0]["code"], "taskgraph::unknown-dependency");
    assert_eq!(errors[1]["code"], "taskgraph::unknown-status");
    // Every other command refuses the broken file the same way.
    let out = r.run(&["status"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(&format!(":{dl}:{dc}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(before, r.snapshot());
}

#[test]
fn validate_reports_a_yaml_syntax_error_with_its_position() {
    let r = TestRepo::new();
    r.write(
        "graph.yml",
        "metadata:\n  product: x\ntasks:\n  - id: A\n    depends_on: [B\n",
    );
    let out = r.run(&["validate", "--tasks", "graph.yml"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(err.contains("graph.yml:"), "{err}");
    let v = json(&r.run(&["validate", "--tasks", "graph.yml", "--json"]));
    assert_eq!(v["errors"][0]["code"], "taskgraph::syntax");
    assert!(v["errors"][0]["line"].as_u64().unwrap() >= 5, "{v}");
}

#[test]
fn validate_counts_warnings() {
    let r = TestRepo::new();
    r.write(
        ".claude/task-graph.yml",
        "metadata:\n  product: x\ntasks:\n  - id: A\n    agent: dev\n    consumes:\n      - name: API\n        required_from_task: B\n  - id: B\n    agent: dev\n",
    );
    let out = r.run(&["validate"]);
    let v = json(&r.run(&["validate", "--json"]));
    let warnings = v["warnings"].as_array().unwrap().len();
    assert!(warnings >= 1, "expected a warning: {v}");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            ".claude/task-graph.yml: ok (2 tasks, {warnings} warning{})\n",
            if warnings == 1 { "" } else { "s" }
        )
    );
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    let quiet = r.run(&["validate", "-q"]);
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{}",
        stderr(&quiet)
    );
}

#[test]
fn readonly_commands_leave_no_trace() {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01"]);
    let before = r.snapshot();
    let state = std::fs::read_dir(r.path(".git/parallel"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        .unwrap_or_default();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["plan"],
        &["plan", "--format", "dot"],
        &["plan", "--format", "mermaid"],
        &["plan", "--json"],
        &["path", "DEVOPS-01"],
        &["validate"],
        &["validate", "--json"],
    ] {
        r.ok(args);
    }
    assert_eq!(before, r.snapshot());
    let after = std::fs::read_dir(r.path(".git/parallel"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        .unwrap_or_default();
    assert_eq!(state, after, "state directory changed");
}

#[test]
fn status_works_on_a_detached_head_where_start_refuses() {
    let r = muaththir_ready();
    r.git(&["checkout", "-q", "--detach"]);
    let out = r.ok(&["status"]);
    assert!(out.contains("target HEAD"), "{out}");
    let out = r.run(&["start"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("HEAD is detached"),
        "{}",
        stderr(&out)
    );
}

// ---- plan: approvals and missing estimates -----------------------------------------------------

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
    let doc = crate::support::json(&r.ok(&["plan", "--json"]));
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

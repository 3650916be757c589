//! Tests of the task file as untrusted input (issue 10): unsafe ids, agents and products,
//! terminal escapes, long values, BOM / CR / CRLF files, merge keys, alias bombs, plan on long
//! chains, liberal forms, `start --max` / `parallel.maxTasks` and the template checks of
//! `validate`. Each asserts on the repository (refs, worktrees, the task file), not only output.

use std::process::Output;

use crate::support::{json, stderr, stdout, TestRepo};

const REL: &str = "products/demo/.claude/task-graph.yml";

/// A repository whose committed task file is `text`.
fn repo_with(text: &str) -> TestRepo {
    let mut r = TestRepo::new();
    r.write(REL, text);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = REL.to_string();
    r
}

/// Local branches other than main.
fn task_branches(r: &TestRepo) -> Vec<String> {
    r.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
        .lines()
        .filter(|l| *l != "main")
        .map(str::to_string)
        .collect()
}

/// Number of linked worktrees.
fn linked_worktrees(r: &TestRepo) -> usize {
    r.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
        - 1
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Nothing happened: no task branch, no worktree, the task file as committed, main unchanged.
fn assert_untouched(r: &TestRepo, text: &str, head: &str) {
    assert_eq!(task_branches(r), Vec::<String>::new());
    assert_eq!(linked_worktrees(r), 0);
    assert_eq!(r.task_file(), text);
    assert_eq!(r.rev("main"), head);
}

fn no_raw_controls(s: &str) -> bool {
    !s.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}', '\u{200b}'])
}

#[test]
fn unsafe_ids_are_refused_everywhere() {
    // Repro 09: an id carrying a shell command.
    let text = "metadata:\n  product: demo\ntasks:\n  - id: \"T1;touch${IFS}PWNED;#\"\n    name: n\n    agent: dev\n    parallel_ok: true\n    status: pending\n";
    let r = repo_with(text);
    let head = r.rev("main");
    r.git(&[
        "config",
        "parallel.launch",
        "cd {worktree} && claude --task {id}",
    ]);
    let v = r.run(&["validate"]);
    assert_eq!(code(&v), 1);
    let e = stderr(&v);
    assert!(e.contains("task-graph.yml:4:9"), "{e}");
    assert!(e.contains("only letters, digits, `-`, `_` and `.`"), "{e}");
    for args in [
        &["start"][..],
        &["start", "--json"],
        &["status"],
        &["plan"],
        &["start", "--dry-run"],
    ] {
        let out = r.run(args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
    }
    assert_untouched(&r, text, &head);
    assert!(!r.tmp.path().join("PWNED").exists());
    // JSON validate names the position.
    let out = r.run(&["validate", "--json"]);
    let j = json(&stdout(&out));
    assert_eq!(j["errors"][0]["code"], "taskgraph::invalid-id");
    assert_eq!(
        (
            j["errors"][0]["line"].clone(),
            j["errors"][0]["col"].clone()
        ),
        (4.into(), 9.into())
    );
}

#[test]
fn launch_template_values_are_shell_quoted() {
    let text =
        "metadata:\n  product: demo\ntasks:\n  - id: T1\n    agent: dev\n    status: pending\n";
    let r = repo_with(text);
    // A template whose fixed text is the user's; every substituted value is one shell word.
    r.git(&[
        "config",
        "parallel.launch",
        "cd {worktree} && run --task {id} --branch {branch} --product {product} {nope}",
    ]);
    let out = r.run(&["start", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let j = json(&stdout(&out));
    let next = j["started"][0]["next"].as_str().unwrap().to_string();
    let wt = j["started"][0]["worktree"].as_str().unwrap().to_string();
    assert_eq!(
        next,
        format!("cd {wt} && run --task T1 --branch feature/demo/dev-T1 --product demo {{nope}}")
    );
    assert_eq!(task_branches(&r), ["feature/demo/dev-T1"]);
}

#[test]
fn control_characters_are_refused_and_never_printed_raw() {
    // Repro 15.
    let text = "metadata:\n  product: \"demo\\e[2J\"\ntasks:\n  - id: \"T\\u202e1gpj.exe\"\n    agent: \"dev\\e]0;owned\\a\"\n    status: pending\n  - id: \"a|b>c$(x)`y`\"\n    agent: dev\n    status: pending\n  - id: \"zw\\u200bx\"\n    agent: dev\n    status: pending\n";
    let r = repo_with(text);
    let head = r.rev("main");
    let v = r.run(&["validate"]);
    assert_eq!(code(&v), 1);
    let e = stderr(&v);
    assert!(no_raw_controls(&e), "raw control characters in {e:?}");
    for want in [
        "task-graph.yml:2:12",
        "task-graph.yml:4:9",
        "task-graph.yml:5:12",
        "task-graph.yml:7:9",
        "task-graph.yml:10:9",
        "\\u{202e}",
        "\\u{1b}",
    ] {
        assert!(e.contains(want), "{want} missing in {e}");
    }
    for args in [&["status"][..], &["start"], &["plan"]] {
        let out = r.run(args);
        assert_eq!(code(&out), 1);
        assert!(no_raw_controls(&stderr(&out)) && no_raw_controls(&stdout(&out)));
    }
    assert_untouched(&r, text, &head);
}

#[test]
fn free_text_with_escapes_is_shown_escaped() {
    let text = "metadata:\n  product: demo\ntasks:\n  - id: A\n    name: \"evil\\e]0;owned\\a\\u202e name\"\n    agent: dev\n    status: pending\n";
    let r = repo_with(text);
    assert_eq!(code(&r.run(&["validate"])), 0);
    for args in [
        &["status"][..],
        &["plan"],
        &["plan", "--format", "dot"],
        &["plan", "--format", "mermaid"],
    ] {
        let out = r.run(args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(
            no_raw_controls(&stdout(&out)) && no_raw_controls(&stderr(&out)),
            "{args:?}: {:?}",
            stdout(&out)
        );
    }
    let dot = stdout(&r.run(&["plan", "--format", "dot"]));
    assert!(dot.contains("evil\\\\u{1b}]0;owned"), "{dot}");
}

#[test]
fn long_names_are_refused_with_a_short_message() {
    // Repro 17: a 10,000-character agent; a 250-character id.
    let agent = "a".repeat(10_000);
    let text = format!("metadata:\n  product: demo\ntasks:\n  - id: T1\n    agent: {agent}\n    status: pending\n  - id: {}\n    agent: dev\n    status: pending\n", "i".repeat(250));
    let r = repo_with(&text);
    let head = r.rev("main");
    for args in [&["validate"][..], &["start"]] {
        let out = r.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        let e = stderr(&out);
        assert!(e.len() < 3000, "{args:?}: {} bytes", e.len());
        assert!(e.contains("task-graph.yml:5:12"), "{e}");
        assert!(
            e.contains("10000 characters long (at most 64 allowed)"),
            "{e}"
        );
        assert!(
            e.contains("250 characters long (at most 100 allowed)"),
            "{e}"
        );
    }
    assert_untouched(&r, &text, &head);
}

/// Start task A of `text` and return the task file committed on main afterwards.
fn start_and_read(text: &str) -> (TestRepo, String) {
    let r = repo_with(text);
    let out = r.run(&["start"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let committed = r.git(&["show", &format!("main:{REL}")]);
    assert_eq!(r.task_file(), committed, "main worktree follows main");
    (r, committed)
}

#[test]
fn bom_cr_and_crlf_files_start_and_keep_their_form() {
    // Repro 18: BOM, CR-only and CRLF line ends.
    let lines = [
        "metadata:",
        "  product: demo",
        "tasks:",
        "  - id: A",
        "    agent: x",
        "    status: pending",
        "  - id: B",
        "    agent: x",
        "    depends_on: [A]",
        "    status: pending",
        "",
    ];
    for (what, bom, nl) in [
        ("bom", "\u{feff}", "\n"),
        ("cr", "", "\r"),
        ("crlf", "", "\r\n"),
        ("bom+crlf", "\u{feff}", "\r\n"),
    ] {
        let text = format!("{bom}{}", lines.join(nl));
        let (r, after) = start_and_read(&text);
        assert_eq!(task_branches(&r), ["feature/demo/x-A"], "{what}");
        assert_eq!(after.starts_with('\u{feff}'), !bom.is_empty(), "{what}");
        let body = after.trim_start_matches('\u{feff}');
        let breaks = body.matches(['\n', '\r']).count();
        let expected_breaks = body.matches(nl).count() * if nl == "\r\n" { 2 } else { 1 };
        assert_eq!(
            breaks, expected_breaks,
            "{what}: mixed line ends in {body:?}"
        );
        assert!(
            body.contains(&format!(
                "  - id: A{nl}    agent: x{nl}    status: in_progress{nl}"
            )),
            "{what}: {body:?}"
        );
        // Only A's status and the added keys changed: B's lines are byte-identical.
        assert!(
            body.contains(&format!(
                "  - id: B{nl}    agent: x{nl}    depends_on: [A]{nl}    status: pending{nl}"
            )),
            "{what}"
        );
        let out = r.run(&["validate"]);
        assert_eq!(code(&out), 0, "{what}: {}", stderr(&out));
    }
}

#[test]
fn merge_keys_are_refused_by_validate_and_start_alike() {
    let text = "metadata:\n  product: demo\nbase: &b\n  agent: backend-engineer\ntasks:\n  - <<: *b\n    id: A\n    status: pending\n";
    let r = repo_with(text);
    let head = r.rev("main");
    for args in [&["validate"][..], &["start"]] {
        let out = r.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        let e = stderr(&out);
        assert!(
            e.contains("YAML merge keys (`<<`) are not supported"),
            "{e}"
        );
        assert!(e.contains("task-graph.yml:6:5"), "{e}");
    }
    assert_untouched(&r, text, &head);
}

#[test]
fn alias_bomb_is_refused() {
    // Repro 14: a 1 MB anchored scalar referenced 2,000 times.
    let text = format!(
        "metadata:\n  product: demo\n  big: &b \"{}\"\ntasks:\n  - id: A\n    agent: x\n    status: pending\n    refs: [{}]\n",
        "x".repeat(1_000_000),
        vec!["*b"; 2000].join(",")
    );
    let r = repo_with(&text);
    let head = r.rev("main");
    for args in [&["validate"][..], &["start", "--dry-run"], &["start"]] {
        let out = r.run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        let e = stderr(&out);
        assert!(e.contains("aliases expand to too large a document"), "{e}");
        assert!(e.contains("task-graph.yml:8:"), "{e}");
        assert!(e.len() < 2000, "{} bytes", e.len());
    }
    assert_untouched(&r, &text, &head);
}

#[test]
fn hostile_yaml_gets_clear_errors() {
    for (what, text, want) in [
        (
            "deep",
            format!("tasks: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            "invalid YAML",
        ),
        (
            "tabs",
            "metadata:\n  product: demo\ntasks:\n\t- id: A\n".to_string(),
            "tabs",
        ),
        (
            "dup",
            "tasks:\n  - id: A\n    status: pending\n    status: done\n".to_string(),
            "duplicate key `status`",
        ),
    ] {
        let r = repo_with(&text);
        let out = r.run(&["validate"]);
        assert_eq!(code(&out), 1, "{what}");
        assert!(stderr(&out).contains(want), "{what}: {}", stderr(&out));
    }
}

#[test]
fn invalid_utf8_is_located() {
    let r = repo_with("metadata:\n  product: demo\ntasks:\n  - id: A\n    status: pending\n");
    std::fs::write(
        r.path(REL),
        b"metadata:\n  product: demo\ntasks:\n  - id: A\n    name: \xff\xfe\n",
    )
    .unwrap();
    let out = r.run(&["validate"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("not UTF-8 text (byte 53 is 0xff)") && e.contains("task-graph.yml:5:11"),
        "{e}"
    );
    let j = json(&stdout(&r.run(&["validate", "--json"])));
    assert_eq!(j["errors"][0]["code"], "taskgraph::not-utf8");
    assert_eq!(
        (
            j["errors"][0]["line"].clone(),
            j["errors"][0]["col"].clone()
        ),
        (5.into(), 11.into())
    );
    assert_eq!(code(&r.run(&["start"])), 1);
    assert_eq!(task_branches(&r), Vec::<String>::new());
}

#[test]
fn plan_on_a_long_chain_is_fast_enough_to_finish() {
    // Repro 16: 8,000 tasks in one depends_on chain (quadratic before: 4.7 s).
    let mut text = String::from("metadata:\n  product: demo\ntasks:\n");
    for i in 0..8000 {
        text.push_str(&format!("  - id: T{i}\n    agent: a\n"));
        if i > 0 {
            text.push_str(&format!("    depends_on: [T{}]\n", i - 1));
        }
        text.push_str("    estimated_time_minutes: 1\n    status: pending\n");
    }
    let r = repo_with(&text);
    let out = r.run(&["plan", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let j = json(&stdout(&out));
    assert_eq!(j["waves"].as_array().map(Vec::len), Some(8000));
    assert_eq!(j["waves"][7999][0], "T7999");
    assert_eq!(j["critical_path"]["minutes"], 8000);
}

#[test]
fn liberal_forms_are_notes_and_schedule_alike() {
    let text = "metadata:\n  product: demo\ntasks:\n  - id: ARCH-01\n    agent: architect\n    produces: [\"docs/plan.md\", \"apps/api/\"]\n    parallel_ok: true\n    status: completed\n  - id: API-01\n    agent: backend\n    depends_on: ARCH-01\n    produces: [\"apps/api/\"]\n    parallel_ok: true\n    status: pending\n  - id: API-02\n    agent: backend\n    depends_on: ARCH-01\n    produces: apps/api/x.ts\n    parallel_ok: true\n    status: pending\n  - id: WEB-01\n    agent: frontend\n    depends_on: [ARCH-01]\n    produces:\n      - { name: web, type: directory, path: apps/web/ }\n    parallel_ok: true\n    status: pending\n";
    let r = repo_with(text);
    let v = r.run(&["validate"]);
    assert_eq!(code(&v), 0, "{}", stderr(&v));
    let e = stderr(&v);
    assert!(
        e.contains("note:") && e.contains("read as a list of one"),
        "{e}"
    );
    assert!(e.contains("read as paths"), "{e}");
    let j = json(&stdout(&r.run(&["validate", "--json"])));
    assert_eq!(j["ok"], true);
    assert_eq!(j["notes"].as_array().map(Vec::len), Some(5));
    // API-01 and API-02 overlap on apps/api/ (list form vs single string): one waits.
    let plan = json(&stdout(&r.run(&["plan", "--json"])));
    assert_eq!(
        plan["waves"],
        serde_json::json!([["API-01", "WEB-01"], ["API-02"]])
    );
    let out = r.run(&["start"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut b = task_branches(&r);
    b.sort();
    assert_eq!(
        b,
        [
            "feature/demo/backend-API-01",
            "feature/demo/frontend-WEB-01"
        ]
    );
    let st = stdout(&r.run(&["status"]));
    assert!(st.contains("shares apps/api/x.ts with API-01"), "{st}");
}

fn four_ready() -> TestRepo {
    let mut text = String::from("metadata:\n  product: demo\ntasks:\n");
    for (id, prio) in [
        ("L", "low"),
        ("N", "normal"),
        ("C", "critical"),
        ("H", "high"),
        ("N2", "medium"),
    ] {
        text.push_str(&format!(
            "  - id: {id}\n    agent: dev\n    priority: {prio}\n    parallel_ok: true\n    produces: [\"src/{id}/\"]\n    status: pending\n"
        ));
    }
    repo_with(&text)
}

#[test]
fn start_max_takes_highest_priority_then_file_order() {
    let r = four_ready();
    let out = r.run(&["start", "--max", "3", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ids: Vec<String> = json(&stdout(&out))["started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["C", "H", "N"]);
    let mut b = task_branches(&r);
    b.sort();
    assert_eq!(
        b,
        [
            "feature/demo/dev-C",
            "feature/demo/dev-H",
            "feature/demo/dev-N"
        ]
    );
    let text = r.task_file();
    assert_eq!(text.matches("status: in_progress").count(), 3);
    // The config key caps the next start the same way.
    r.git(&["config", "parallel.maxTasks", "1"]);
    let out = r.run(&["start", "--json"]);
    let ids: Vec<String> = json(&stdout(&out))["started"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["N2"]);
    // Naming more tasks than the cap is refused.
    let out = r.run(&["start", "--max", "1", "L", "N2"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("at most 1 may start at once"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn plan_waves_follow_the_cap_and_bad_values_are_usage_errors() {
    let r = four_ready();
    let plan = json(&stdout(&r.run(&["plan", "--json", "--max", "2"])));
    assert_eq!(
        plan["waves"],
        serde_json::json!([["C", "H"], ["N", "N2"], ["L"]])
    );
    r.git(&["config", "parallel.maxTasks", "4"]);
    let plan = json(&stdout(&r.run(&["plan", "--json"])));
    assert_eq!(
        plan["waves"],
        serde_json::json!([["C", "H", "N", "N2"], ["L"]])
    );
    for bad in ["0", "-1", "many"] {
        let out = r.run(&["plan", "--max", bad]);
        assert_eq!(code(&out), 129, "{bad}");
        let out = r.run(&["start", "--max", bad]);
        assert_eq!(code(&out), 129, "{bad}");
    }
    assert_eq!(task_branches(&r), Vec::<String>::new());
}

#[test]
fn validate_checks_the_names_start_would_use() {
    let text = "metadata:\n  product: demo\ntasks:\n  - id: A\n    agent: dev\n    status: pending\n  - id: B\n    agent: dev\n    status: pending\n";
    let r = repo_with(text);
    assert_eq!(code(&r.run(&["validate"])), 0);
    r.git(&[
        "config",
        "parallel.branchTemplate",
        "feature/{product}..{id}",
    ]);
    let out = r.run(&["validate"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert!(
        e.contains("`feature/demo..A`, which is not a valid git branch name"),
        "{e}"
    );
    assert!(e.contains("task-graph.yml:4:9"), "{e}");
    // start refuses the same names.
    assert_eq!(code(&r.run(&["start"])), 1);
    r.git(&["config", "parallel.branchTemplate", "feature/{product}"]);
    let j = json(&stdout(&r.run(&["validate", "--json"])));
    assert_eq!(j["ok"], false);
    assert_eq!(j["errors"][0]["code"], "taskgraph::shared-branch");
    r.git(&["config", "--unset", "parallel.branchTemplate"]);
    r.git(&["config", "parallel.worktreeTemplate", "wt/{id}"]);
    let j = json(&stdout(&r.run(&["validate", "--json"])));
    assert_eq!(j["errors"][0]["code"], "taskgraph::worktree-in-main");
    assert_eq!(task_branches(&r), Vec::<String>::new());
}

#[test]
fn thousands_of_findings_are_all_reported() {
    // Each report used to rescan the file from its start (minutes for 20,000 findings).
    let mut text = String::from("metadata:\n  product: demo\ntasks:\n");
    for i in 0..5000 {
        text.push_str(&format!("  - id: T{i}\n    depends_on: [T{i}]\n"));
    }
    let r = repo_with(&text);
    let out = r.run(&["validate"]);
    assert_eq!(code(&out), 1);
    let e = stderr(&out);
    assert_eq!(e.matches("error: dependency cycle: T").count(), 5000);
    assert!(e.contains("task-graph.yml:10003:18"), "last one located");
    assert!(e.contains("5000 errors in the task graph"));
}

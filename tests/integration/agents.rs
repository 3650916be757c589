//! Tests of `run --agent <preset>`: stand-in CLIs named `claude`, `codex`, `gemini`, `opencode`
//! and `aider` on PATH (one sh
//! script) record their arguments, working directory and environment per attempt, commit in
//! the task's paths, and print output shaped like the real CLI's machine-readable output. They
//! check the preset's command line, the session resumed on a retry, the reported cost added up
//! in the summary and per task, and the budgets.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{field, TestRepo};

/// The stand-in of every CLI: what it prints depends on its name, whether it succeeds on the
/// task id (`FAIL*`: from attempt 2; `ALWAYS*`: never).
const STAND_IN: &str = r#"#!/bin/sh
me=$(basename "$0")
id=$GIT_PARALLEL_TASK_ID
n=$GIT_PARALLEL_ATTEMPT
rec="$REC/$id.$n"
: > "$rec.args"
for a in "$@"; do printf '%s\n----\n' "$a" >> "$rec.args"; done
pwd > "$rec.pwd"
env | grep -e '^GIT_PARALLEL_' -e '^OPENCODE_' | grep -v GIT_PARALLEL_NOW | sort > "$rec.env"
ok=1
case "$id" in
  FAIL*) [ "$n" -ge 2 ] || ok=0 ;;
  ALWAYS*) ok=0 ;;
esac
if [ $ok = 1 ]; then
  mkdir -p "out/$id"
  echo "$me" > "out/$id/done.txt"
  git add -A && git commit -q -m "work on $id"
fi
case "$me" in
  claude) printf '{"type":"result","subtype":"success","is_error":false,"duration_ms":10,"num_turns":3,"result":"done","session_id":"sess-%s-%s","total_cost_usd":%s,"usage":{"input_tokens":100,"output_tokens":20}}\n' "$id" "$n" "${COST:-0.25}" ;;
  codex) printf '{"type":"thread.started","thread_id":"thread-%s"}\n{"type":"turn.started"}\n{"type":"turn.completed","usage":{"input_tokens":50,"cached_input_tokens":0,"output_tokens":10}}\n' "$id" ;;
  gemini) printf '{\n  "session_id": "gem-%s",\n  "response": "done",\n  "stats": {"models": {"gemini-2.5-pro": {"tokens": {"prompt": 30, "candidates": 5, "total": 35}}}}\n}\n' "$id" ;;
  opencode) printf '{"type":"step_start","sessionID":"ses_%s","part":{"type":"step-start"}}\n{"type":"step_finish","sessionID":"ses_%s","part":{"type":"step-finish","cost":0.125,"tokens":{"input":40,"output":2}}}\n' "$id" "$id" ;;
  aider) printf 'Applied edit to out/%s/done.txt\nTokens: 1.5k sent, 250 received. Cost: $0.04 message, $0.04 session.\n' "$id" ;;
esac
[ $ok = 1 ] || exit 1
"#;

/// A repository whose task file holds independent tasks `ids` (each producing `out/<ID>/`),
/// and a bin directory with the stand-ins.
fn repo(ids: &[&str]) -> (TestRepo, PathBuf) {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for id in ids {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  description: Build {id}\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  estimated_time_minutes: 10\n  status: pending\n"
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    let bin = r.base().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(r.base().join("rec")).unwrap();
    for name in ["claude", "codex", "gemini", "opencode", "aider"] {
        let p = bin.join(name);
        std::fs::write(&p, STAND_IN).unwrap();
        let mut perm = std::fs::metadata(&p).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&p, perm).unwrap();
    }
    (r, bin)
}

/// `run --json --agent <agent> extra…` with the stand-ins first on PATH: exit code and events.
fn run(
    r: &TestRepo,
    bin: &Path,
    agent: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Vec<serde_json::Value>) {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c: Command = r.cmd();
    c.env("PATH", path)
        .env("REC", r.base().join("rec"))
        // The stand-ins record what they got outside the worktree: a path the sandbox lets
        // them write.
        .env(
            "GIT_CONFIG_PARAMETERS",
            format!(
                "'parallel.sandboxWritable'='{}'",
                r.base().join("rec").display()
            ),
        )
        .env("GIT_PARALLEL_KILL_GRACE", "1")
        .args(["run", "--json", "--agent", agent])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run git-parallel run");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), events)
}

/// The arguments the stand-in got in attempt `n` of `id`.
fn args(r: &TestRepo, id: &str, n: u32) -> Vec<String> {
    let text = std::fs::read_to_string(r.base().join(format!("rec/{id}.{n}.args")))
        .unwrap_or_else(|e| panic!("attempt {n} of {id} did not run: {e}"));
    let mut v: Vec<String> = text.split("\n----\n").map(str::to_string).collect();
    v.pop();
    v
}

fn recorded(r: &TestRepo, id: &str, n: u32, what: &str) -> String {
    std::fs::read_to_string(r.base().join(format!("rec/{id}.{n}.{what}"))).unwrap_or_default()
}

fn status(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

fn summary(events: &[serde_json::Value]) -> &serde_json::Value {
    let last = events.last().expect("run printed nothing");
    assert_eq!(last["event"], "summary", "{events:#?}");
    last
}

/// The value after `flag` in `args`.
fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    &args[i + 1]
}

fn close(a: &serde_json::Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn claude_preset_runs_the_protocol_prompt_resumes_the_session_and_adds_up_the_cost() {
    let (r, bin) = repo(&["FAIL1"]);
    let (code, events) = run(&r, &bin, "claude", &[], &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(status(&r, "FAIL1"), "completed");
    assert!(
        r.path("out/FAIL1/done.txt").exists(),
        "the agent's commit is merged"
    );

    // Attempt 1: a new session, headless, JSON output, edits and git commits allowed, the
    // protocol's words then the brief as the prompt, in the task's worktree.
    let a1 = args(&r, "FAIL1", 1);
    assert_eq!(after(&a1, "--output-format"), "json");
    assert_eq!(after(&a1, "--permission-mode"), "acceptEdits");
    assert!(after(&a1, "--allowedTools").contains("Bash(git commit:*)"));
    assert!(!a1.iter().any(|a| a.contains("dangerously")), "{a1:?}");
    assert!(!a1.contains(&"--resume".to_string()), "{a1:?}");
    let prompt = after(&a1, "-p");
    assert!(
        prompt.starts_with("/orchestrator Execute task FAIL1\n\n# FAIL1: Task FAIL1"),
        "{prompt}"
    );
    assert!(
        prompt.contains("out/FAIL1/"),
        "the brief names its paths: {prompt}"
    );
    let wt = recorded(&r, "FAIL1", 1, "pwd");
    assert!(
        wt.trim_end().ends_with("worktrees/demo/backend-FAIL1"),
        "{wt}"
    );
    assert!(recorded(&r, "FAIL1", 1, "env").contains("GIT_PARALLEL_TASK_ID=FAIL1"));

    // Attempt 2: the same session resumed, the failure as the message, same worktree.
    let a2 = args(&r, "FAIL1", 2);
    assert_eq!(after(&a2, "--resume"), "sess-FAIL1-1");
    assert_eq!(after(&a2, "--permission-mode"), "acceptEdits");
    let message = after(&a2, "-p");
    assert!(
        message.contains("failed: the agent exited with 1"),
        "{message}"
    );
    assert_eq!(recorded(&r, "FAIL1", 2, "pwd"), wt);

    // Each invocation's reported cost is its own; they add up.
    let s = summary(&events);
    assert!(close(&s["cost_usd"], 0.5), "{s:#}");
    assert_eq!(s["tokens"], 240);
    let m = &s["results"]["FAIL1"]["metrics"];
    assert_eq!(m["attempts"], 2, "{s:#}");
    assert!(close(&m["cost_usd"], 0.5), "{m:#}");
    assert_eq!(m["tokens"], 240);
    assert!(m["seconds"].as_f64().is_some_and(|x| x >= 0.0));
    assert!(s["budget_reached"].is_null());
    // The output is in the task's log.
    let log = std::fs::read_to_string(r.path(".git/parallel/run/logs/FAIL1.log")).unwrap();
    assert!(log.contains("\"session_id\":\"sess-FAIL1-1\""), "{log}");
}

#[test]
fn parallel_prompt_replaces_the_preset_prompt_as_plain_text() {
    let (r, bin) = repo(&["A"]);
    r.git(&[
        "config",
        "parallel.prompt",
        "Do {id} now; $(touch pwned) {unknown}",
    ]);
    let (code, events) = run(&r, &bin, "claude", &[], &[]);
    assert_eq!(code, 0, "{events:#?}");
    let a1 = args(&r, "A", 1);
    assert_eq!(after(&a1, "-p"), "Do A now; $(touch pwned) {unknown}");
    assert!(!r.base().join("worktrees/demo/backend-A/pwned").exists());
}

#[test]
fn codex_preset_writes_in_its_sandbox_and_resumes_its_thread() {
    let (r, bin) = repo(&["FAIL2"]);
    let (code, events) = run(&r, &bin, "codex", &[], &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(status(&r, "FAIL2"), "completed");
    let a1 = args(&r, "FAIL2", 1);
    assert_eq!(a1[0], "exec");
    assert!(a1.contains(&"--json".to_string()), "{a1:?}");
    assert_eq!(after(&a1, "--sandbox"), "workspace-write");
    let gitdir = after(&a1, "--add-dir");
    assert!(gitdir.ends_with(".git"), "{gitdir}");
    assert!(a1
        .last()
        .is_some_and(|p| p.starts_with("Execute task FAIL2")));
    let a2 = args(&r, "FAIL2", 2);
    assert_eq!(after(&a2, "resume"), "thread-FAIL2");
    assert!(a2.last().is_some_and(|p| p.contains("failed")), "{a2:?}");
    // codex reports tokens, no cost.
    let s = summary(&events);
    assert_eq!(s["tokens"], 120);
    assert!(s["cost_usd"].is_null(), "{s:#}");
    assert!(s["results"]["FAIL2"]["metrics"]["cost_usd"].is_null());
}

#[test]
fn max_cost_stops_launching_and_reports_what_was_left_undone() {
    let (r, bin) = repo(&["A", "B", "C"]);
    let (code, events) = run(
        &r,
        &bin,
        "claude",
        &["-j", "1", "--max-cost", "0.5"],
        &[("COST", "0.3")],
    );
    assert_eq!(code, 1, "{events:#?}");
    // 0.3 after A (under 0.5): B launches; 0.6 after B: C does not.
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(status(&r, "B"), "completed");
    assert_eq!(status(&r, "C"), "pending");
    assert!(
        !r.base().join("rec/C.1.args").exists(),
        "C's agent never ran"
    );
    let s = summary(&events);
    assert!(close(&s["cost_usd"], 0.6), "{s:#}");
    assert!(s["budget_reached"]
        .as_str()
        .is_some_and(|b| b.contains("--max-cost")));
    let not_run: Vec<&str> = s["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(not_run, ["C"], "{s:#}");
}

#[test]
fn task_max_cost_fails_a_task_instead_of_retrying_it() {
    let (r, bin) = repo(&["ALWAYS"]);
    r.git(&["config", "parallel.taskMaxCost", "0.5"]);
    let (code, events) = run(&r, &bin, "claude", &[], &[("COST", "0.3")]);
    assert_eq!(code, 1, "{events:#?}");
    assert_eq!(status(&r, "ALWAYS"), "failed");
    // Two attempts spent 0.6: no third (parallel.maxRetries would allow four).
    assert!(r.base().join("rec/ALWAYS.2.args").exists());
    assert!(!r.base().join("rec/ALWAYS.3.args").exists());
    let failed = events
        .iter()
        .find(|e| e["event"] == "failed")
        .expect("a failed event");
    assert!(failed["reason"]
        .as_str()
        .is_some_and(|w| w.contains("parallel.taskMaxCost")));
    assert!(close(
        &summary(&events)["results"]["ALWAYS"]["metrics"]["cost_usd"],
        0.6
    ));
}

#[test]
fn deadline_stops_the_running_agents_and_leaves_the_task_for_the_next_run() {
    let (r, bin) = repo(&["SLOW"]);
    // A stand-in that takes its time.
    let slow = bin.join("claude");
    let text = STAND_IN.replace("ok=1\n", "ok=1\nsleep 20\n");
    std::fs::write(&slow, text).unwrap();
    let began = std::time::Instant::now();
    let (code, events) = run(&r, &bin, "claude", &["--deadline", "1s"], &[]);
    assert!(began.elapsed().as_secs() < 15, "the agent was stopped");
    assert_eq!(code, 1, "{events:#?}");
    assert_eq!(status(&r, "SLOW"), "in_progress");
    let s = summary(&events);
    assert!(s["budget_reached"]
        .as_str()
        .is_some_and(|b| b.contains("--deadline")));
    assert_eq!(s["not_run"][0]["id"], "SLOW", "{s:#}");
}

#[test]
fn start_hands_off_with_the_presets_line_to_paste() {
    let (r, _bin) = repo(&["BACKEND-01"]);
    r.git(&["config", "parallel.agent", "claude"]);
    let out = r.ok(&["start", "--json", "BACKEND-01"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let wt = r.base().join("worktrees/demo/backend-BACKEND-01");
    assert_eq!(
        doc["started"][0]["next"],
        format!(
            "cd {} && claude '/orchestrator Execute task BACKEND-01'",
            wt.display()
        ),
        "{doc:#}"
    );
}

/// The value of `var` the stand-in saw in attempt `n` of `id`.
fn var(r: &TestRepo, id: &str, n: u32, var: &str) -> Option<String> {
    recorded(r, id, n, "env")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{var}=")).map(str::to_string))
}

#[test]
fn overlapping_tasks_get_distinct_port_blocks_kept_across_a_retry_and_released_at_finish() {
    let (r, bin) = repo(&["FAIL1", "B"]);
    r.git(&["config", "parallel.ports", "3"]);
    r.git(&["config", "parallel.portBase", "41000"]);
    let (code, events) = run(&r, &bin, "claude", &["-j", "2"], &[]);
    assert_eq!(code, 0, "{events:#?}");
    let a1 = var(&r, "FAIL1", 1, "GIT_PARALLEL_PORT").expect("FAIL1 has ports");
    let b1 = var(&r, "B", 1, "GIT_PARALLEL_PORT").expect("B has ports");
    assert_ne!(a1, b1, "two running tasks, two blocks");
    let (a, b): (u32, u32) = (a1.parse().unwrap(), b1.parse().unwrap());
    assert!(a.abs_diff(b) >= 3, "the blocks do not overlap: {a} {b}");
    assert!((41000..41010).contains(&a) && (41000..41010).contains(&b));
    assert_eq!(
        var(&r, "FAIL1", 1, "GIT_PARALLEL_PORTS"),
        Some(format!("{a} {} {}", a + 1, a + 2))
    );
    // The retry keeps its block.
    assert_eq!(var(&r, "FAIL1", 2, "GIT_PARALLEL_PORT"), Some(a1));
    // Finish released them: no worktree holds a block any more.
    let admin = r.path(".git/worktrees");
    let held = std::fs::read_dir(&admin)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().join("parallel-ports").exists())
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(held, 0);
}

#[test]
fn start_shows_the_block_in_status_and_exec_and_post_start_see_it() {
    let (r, _bin) = repo(&["A", "B"]);
    r.git(&["config", "parallel.ports", "2"]);
    r.git(&["config", "parallel.portBase", "42000"]);
    let rec = r.base().join("rec");
    r.git(&[
        "config",
        "parallel.postStart",
        &format!(
            "echo \"$GIT_PARALLEL_PORTS\" >> {}/post-start",
            rec.display()
        ),
    ]);
    r.ok(&["start", "A", "B"]);
    let doc: serde_json::Value = serde_json::from_str(&r.ok(&["status", "--json"])).unwrap();
    let ports = |id: &str| {
        doc["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["ports"].clone())
            .unwrap()
    };
    assert_eq!(ports("A"), serde_json::json!([42000, 42001]), "{doc:#}");
    assert_eq!(ports("B"), serde_json::json!([42002, 42003]));
    // The worktrees are made in parallel: their postStart lines may come in either order.
    let post = std::fs::read_to_string(rec.join("post-start")).unwrap();
    let mut lines: Vec<&str> = post.lines().collect();
    lines.sort();
    assert_eq!(lines, ["42000 42001", "42002 42003"]);
    let text = r.ok(&["status"]);
    assert!(text.contains("(ports 42000-42001)"), "{text}");
    let out = r.ok(&["exec", "--", "sh", "-c", "echo port=$GIT_PARALLEL_PORT"]);
    assert!(
        out.contains("port=42000") && out.contains("port=42002"),
        "{out}"
    );
    // Abort releases the blocks: the next start gets the first one again.
    r.ok(&["abort", "A", "B"]);
    r.ok(&["start", "B"]);
    let doc: serde_json::Value = serde_json::from_str(&r.ok(&["status", "--json"])).unwrap();
    let b = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "B")
        .map(|t| t["ports"].clone())
        .unwrap();
    assert_eq!(b, serde_json::json!([42000, 42001]));
}

#[test]
fn the_env_template_is_rendered_into_each_worktree_as_text() {
    let (r, _bin) = repo(&["A"]);
    r.write(
        ".env.parallel",
        "PORT={port}\nPORTS={ports}\nTASK={id}\nBRANCH={branch}\nDIR={worktree}\nPRODUCT={product}\nLEFT=$(touch pwned) {other}\n",
    );
    r.write(".gitignore", ".env\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "env template"]);
    r.git(&["config", "parallel.envTemplate", ".env.parallel"]);
    r.git(&["config", "parallel.ports", "2"]);
    r.git(&["config", "parallel.portBase", "43000"]);
    r.ok(&["start", "A"]);
    let wt = r.base().join("worktrees/demo/backend-A");
    let env = std::fs::read_to_string(wt.join(".env")).unwrap();
    assert_eq!(
        env,
        format!(
            "PORT=43000\nPORTS=43000 43001\nTASK=A\nBRANCH=feature/demo/backend-A\nDIR={}\nPRODUCT=demo\nLEFT=$(touch pwned) {{other}}\n",
            wt.display()
        )
    );
    assert!(!wt.join("pwned").exists());
}

#[test]
fn a_reused_worktree_skips_post_start_while_the_setup_key_files_are_unchanged() {
    let (r, bin) = repo(&["A", "B", "C"]);
    r.write("deps.lock", "v1\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "lockfile"]);
    let rec = r.base().join("rec");
    r.git(&["config", "parallel.reuseWorktrees", "true"]);
    r.git(&["config", "parallel.setupKey", "deps.lock"]);
    r.git(&[
        "config",
        "parallel.postStart",
        &format!("echo \"$(cat deps.lock)\" >> {}/installs", rec.display()),
    ]);
    let installs = || std::fs::read_to_string(rec.join("installs")).unwrap_or_default();
    // A runs in a new worktree (postStart runs), B takes it parked (the key did not change).
    let (code, events) = run(&r, &bin, "claude", &["-j", "1", "A", "B"], &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(status(&r, "B"), "completed");
    assert_eq!(installs(), "v1\n", "postStart ran once for A and B");
    // The lockfile changes: C takes the parked worktree and postStart runs again.
    r.write("deps.lock", "v2\n");
    r.git(&["commit", "-q", "-a", "-m", "new lockfile"]);
    let (code, events) = run(&r, &bin, "claude", &["C"], &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(installs(), "v1\nv2\n");
}

#[test]
fn the_test_gate_gets_a_free_block_of_its_own() {
    let (r, bin) = repo(&["A"]);
    r.git(&["config", "parallel.ports", "2"]);
    r.git(&["config", "parallel.portBase", "44000"]);
    let gate = r.base().join("rec/gate");
    let test = format!("echo \"$GIT_PARALLEL_PORTS\" > {}", gate.display());
    let (code, events) = run(&r, &bin, "claude", &["--test", &test], &[]);
    assert_eq!(code, 0, "{events:#?}");
    // A's worktree still holds 44000-44001 while its finish tests it.
    assert_eq!(
        var(&r, "A", 1, "GIT_PARALLEL_PORTS").as_deref(),
        Some("44000 44001")
    );
    assert_eq!(std::fs::read_to_string(gate).unwrap(), "44002 44003\n");
}

/// A preset, a flag it must get with its value, how a retry resumes (flag, session; no session:
/// aider), the tokens and the cost of two attempts.
type Case = (
    &'static str,
    (&'static str, &'static str),
    (&'static str, &'static str),
    u64,
    Option<f64>,
);

#[test]
fn gemini_opencode_and_aider_presets_run_their_cli_and_read_what_it_reports() {
    let cases: [Case; 3] = [
        (
            "gemini",
            ("--approval-mode", "auto_edit"),
            ("--resume", "gem-FAIL1"),
            35 * 2,
            None,
        ),
        (
            "opencode",
            ("--format", "json"),
            ("--session", "ses_FAIL1"),
            42 * 2,
            Some(0.25),
        ),
        (
            "aider",
            ("--no-stream", "--no-pretty"),
            ("--message", ""),
            1750 * 2,
            Some(0.08),
        ),
    ];
    for (name, (flag, value), (resume, session), tokens, cost) in cases {
        let (r, bin) = repo(&["FAIL1"]);
        let (code, events) = run(&r, &bin, name, &[], &[]);
        assert_eq!(code, 0, "{name}: {events:#?}");
        assert_eq!(status(&r, "FAIL1"), "completed", "{name}");
        let a1 = args(&r, "FAIL1", 1);
        assert_eq!(after(&a1, flag), value, "{name}: {a1:?}");
        assert!(
            !a1.iter().any(|a| a == "--yolo" || a.contains("danger")),
            "{a1:?}"
        );
        let a2 = args(&r, "FAIL1", 2);
        if session.is_empty() {
            // aider has no session id: it restores its chat history, kept out of the worktree.
            assert!(a2.contains(&"--restore-chat-history".to_string()), "{a2:?}");
            let history = after(&a2, "--chat-history-file");
            assert!(history.contains(".git/parallel/run/logs/"), "{history}");
            assert!(a1.contains(&"--no-gitignore".to_string()));
        } else {
            assert_eq!(after(&a2, resume), session, "{name}: {a2:?}");
        }
        if name == "opencode" {
            let env = recorded(&r, "FAIL1", 1, "env");
            assert!(env.contains("OPENCODE_CONFIG_CONTENT="), "{env}");
            assert!(env.contains(r#""*":"deny""#), "{env}");
        }
        let s = summary(&events);
        assert_eq!(s["tokens"], tokens, "{name}: {s:#}");
        match cost {
            Some(c) => assert!(close(&s["cost_usd"], c), "{name}: {s:#}"),
            None => assert!(s["cost_usd"].is_null(), "{name}: {s:#}"),
        }
    }
}

//! Tests of the sandbox (Landlock): `run`'s agents, `exec`'s commands and the test gate may
//! write only their own worktree, what git needs to commit there and a private TMPDIR. Each
//! test skips, saying so, on a kernel without Landlock.

use std::process::Output;

use crate::support::{field, stderr, TestRepo};

/// Whether this kernel has Landlock (else the tests skip with a message).
fn landlock() -> bool {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns the ABI version.
    #[cfg(target_os = "linux")]
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    #[cfg(not(target_os = "linux"))]
    let v = -1;
    if v <= 0 {
        eprintln!("skipped: this kernel has no Landlock, the sandbox cannot be tested here");
    }
    v > 0
}

/// A repository with independent tasks `ids` of product demo, each producing `out/<ID>/`.
fn repo(ids: &[&str]) -> TestRepo {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for id in ids {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  description: Build {id}\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  estimated_time_minutes: 10\n  acceptance_criteria:\n  - {id} works\n  status: pending\n"
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    r
}

fn worktree(r: &TestRepo, id: &str) -> std::path::PathBuf {
    r.base().join(format!("worktrees/demo/backend-{id}"))
}

/// `run --json -j 2` with the agent script `script`: the exit code, stderr and JSON events.
fn run(r: &TestRepo, script: &str, extra: &[&str]) -> (Output, Vec<serde_json::Value>) {
    std::fs::write(r.base().join("agent.sh"), script).unwrap();
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let out = r
        .cmd()
        .env("GIT_PARALLEL_KILL_GRACE", "1")
        .env("MAIN", &r.root)
        .env("OTHER", worktree(r, "B"))
        .env("A", worktree(r, "A"))
        .args(["run", "--json", "-j", "2", "--agent", &agent])
        .args(extra)
        .output()
        .expect("run git-parallel run");
    let events = crate::support::json_lines(&out);
    (out, events)
}

fn status(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

/// Every write the agent of A tries outside its own worktree, each recorded as `denied` or
/// `WROTE` in out/A/tries.txt; then it commits that file. B waits for A, so that A's attempt
/// on B's worktree comes while it exists.
const INTRUDER: &str = r#"
id=$GIT_PARALLEL_TASK_ID
mkdir -p "out/$id"
try() { if ( echo intruder > "$2" ) 2>/dev/null; then echo "$1 WROTE" >> "out/$id/tries.txt"; else echo "$1 denied" >> "out/$id/tries.txt"; fi; }
case "$id" in
  A)
    try main "$MAIN/intruder.txt"
    [ -d "$OTHER" ] || echo "other MISSING" >> "out/$id/tries.txt"
    try other "$OTHER/intruder.txt"
    try home "$HOME/intruder.txt"
    try taskfile "$GIT_PARALLEL_TASK_FILE"
    try dot-git-config "$MAIN/.git/config"
    try target-ref "$MAIN/.git/refs/heads/main"
    # A child the agent starts is confined too.
    sh -c 'echo child > "$MAIN/child.txt"' 2>/dev/null && echo "child WROTE" >> "out/$id/tries.txt" || echo "child denied" >> "out/$id/tries.txt"
    # What it may write: its TMPDIR, /dev/null.
    t=$(mktemp) && echo tmp > "$t" && echo "tmp ok $(dirname "$t")" >> "out/$id/tries.txt"
    echo quiet > /dev/null && echo "devnull ok" >> "out/$id/tries.txt"
    git add -A && git commit -q -m "A: tried" ;;
  B)
    i=0; while ! grep -q devnull "$A/out/A/tries.txt" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    echo ok > "out/$id/done.txt"; git add -A && git commit -q -m "B: done" ;;
  D)
    echo "about to write the main worktree"
    echo x > "$MAIN/d.txt" || exit 4
    git add -A && git commit -q -m "D: never" ;;
esac
"#;

#[test]
fn a_sandboxed_agent_writes_only_its_worktree_and_lands_its_commit() {
    if !landlock() {
        return;
    }
    let r = repo(&["A", "B"]);
    let task_file_before = r.read(".claude/task-graph.yml");
    // The test gate of the finishes run makes is confined too.
    let gate = "touch \"$HOME/gate.txt\" 2>/dev/null; true";
    let (out, events) = run(&r, INTRUDER, &["--sandbox", "on", "--test", gate]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for id in ["A", "B"] {
        assert_eq!(status(&r, id), "completed", "{}", stderr(&out));
    }
    let tries = r.read("out/A/tries.txt");
    for what in [
        "main denied",
        "other denied",
        "home denied",
        "taskfile denied",
        "dot-git-config denied",
        "target-ref denied",
        "child denied",
        "devnull ok",
    ] {
        assert!(tries.contains(what), "{what} in:\n{tries}");
    }
    assert!(
        !tries.contains("WROTE") && !tries.contains("MISSING"),
        "{tries}"
    );
    // Its TMPDIR is its own, under the state directory.
    assert!(
        tries.contains("tmp ok ") && tries.contains("parallel/run/tmp/A"),
        "{tries}"
    );
    for p in [
        r.path("intruder.txt"),
        r.path("child.txt"),
        r.home().join("intruder.txt"),
        r.home().join("gate.txt"),
    ] {
        assert!(!p.exists(), "{} was written", p.display());
    }
    assert!(!task_file_before.contains("intruder"));
    assert!(!r.read(".claude/task-graph.yml").contains("intruder"));
    assert!(!r.git(&["log", "--format=%s", "main"]).contains("intruder"));
    // The run says agents run sandboxed; the log lists what the agent may write.
    assert!(
        stderr(&out).contains("agents run sandboxed (Landlock ABI"),
        "{}",
        stderr(&out)
    );
    let log = std::fs::read_to_string(r.path(".git/parallel/run/logs/A.log")).unwrap();
    assert!(log.contains("==== sandboxed; it may write only:"), "{log}");
    assert!(events
        .iter()
        .any(|e| e["event"] == "merged" && e["id"] == "A"));
}

#[test]
fn a_denied_write_fails_the_attempt_and_names_the_path() {
    if !landlock() {
        return;
    }
    let r = repo(&["D"]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let (out, events) = run(&r, INTRUDER, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(status(&r, "D"), "failed");
    assert!(!r.path("d.txt").exists());
    let want = format!(
        "the sandbox denied a write to {}",
        r.path("d.txt").display()
    );
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "attempt_failed" && e["id"] == "D")
        .collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&want), "{reason}");
    let log = std::fs::read_to_string(r.path(".git/parallel/run/logs/D.log")).unwrap();
    assert!(log.contains("Permission denied"), "{log}");
}

#[test]
fn sandbox_off_restores_the_users_rights() {
    if !landlock() {
        return;
    }
    let r = repo(&["A"]);
    r.git(&["config", "parallel.sandbox", "on"]);
    let script = "echo home > \"$HOME/written.txt\" && mkdir -p out/A && echo ok > out/A/x && git add -A && git commit -q -m A\n";
    let gate = "touch \"$HOME/gate.txt\"";
    let (out, _) = run(&r, script, &["--sandbox", "off", "--test", gate]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&r, "A"), "completed");
    assert!(r.home().join("written.txt").exists());
    assert!(r.home().join("gate.txt").exists());
    assert!(!stderr(&out).contains("sandboxed"), "{}", stderr(&out));
}

#[test]
fn exec_and_the_test_gate_are_confined_too() {
    if !landlock() {
        return;
    }
    let r = repo(&["A"]);
    r.ok(&["start", "A"]);
    let wt = worktree(&r, "A");
    let home = r.home().join("exec.txt");
    let script = format!(
        "echo mine > mine.txt; echo home > {} || echo DENIED",
        home.display()
    );
    let out = r.run(&["exec", "--sandbox", "on", "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DENIED"));
    assert!(wt.join("mine.txt").exists());
    assert!(!home.exists());
    // Without the sandbox the same command writes $HOME.
    let out = r.run(&["exec", "--sandbox", "off", "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(home.exists());
    std::fs::remove_file(&home).unwrap();
    std::fs::remove_file(wt.join("mine.txt")).unwrap();
    // The test gate: a test that writes $HOME fails under parallel.sandbox on.
    std::fs::create_dir_all(wt.join("out/A")).unwrap();
    std::fs::write(wt.join("out/A/x"), "x\n").unwrap();
    r.git_in(&wt, &["add", "-A"]);
    r.git_in(&wt, &["commit", "-q", "-m", "A"]);
    let test = format!("echo gate > {}", home.display());
    let main_before = r.rev("main");
    r.git(&["config", "parallel.sandbox", "on"]);
    let out = r.run(&["finish", "--test", &test]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(r.rev("main"), main_before);
    assert_eq!(status(&r, "A"), "in_progress");
    assert!(!home.exists());
    // `git -c parallel.sandbox=off` (as run --sandbox off passes it on) lets it write.
    let out = r
        .cmd()
        .env("GIT_CONFIG_PARAMETERS", "'parallel.sandbox'='off'")
        .args(["finish", "--test", &test])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(home.exists());
    assert_eq!(status(&r, "A"), "completed");
}

#[test]
fn status_says_the_running_agents_are_sandboxed_and_sandbox_writable_is_writable() {
    if !landlock() {
        return;
    }
    let r = repo(&["W"]);
    let marks = r.base().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    r.git(&[
        "config",
        "parallel.sandboxWritable",
        marks.to_str().unwrap(),
    ]);
    let script = "touch \"$MARKS/started\"\ni=0; while [ ! -e \"$MARKS/go\" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\nmkdir -p out/W && echo ok > out/W/x && git add -A && git commit -q -m W\n";
    std::fs::write(r.base().join("agent.sh"), script).unwrap();
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let mut child = r
        .cmd()
        .env("MARKS", &marks)
        .args(["run", "-q", "--agent", &agent])
        .spawn()
        .unwrap();
    let started = marks.join("started");
    for _ in 0..300 {
        if started.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The agent wrote in parallel.sandboxWritable: it exists only if that was allowed.
    assert!(
        started.exists(),
        "the agent did not start or could not write {marks:?}"
    );
    let text = r.ok(&["status"]);
    std::fs::write(marks.join("go"), "").unwrap();
    let status = child.wait().unwrap();
    assert!(
        text.contains("Agents of run: W (attempt 1, sandboxed (Landlock ABI"),
        "{text}"
    );
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        field(&r.task_file(), "W", "status").as_deref(),
        Some("completed")
    );
    assert!(!r.ok(&["status"]).contains("Agents of run"));
}

#[test]
fn a_branch_moved_by_another_agent_is_blocked_not_landed() {
    if !landlock() {
        return;
    }
    let r = repo(&["A", "B"]);
    // A commits, then points B's branch (whose ref is beside its own: writable) at its commit;
    // B then commits on top of it, unaware. A commits its marker too: a worktree left dirty
    // would fail A's landing and run A again, moving B's branch while B commits (a race).
    let script = r#"
id=$GIT_PARALLEL_TASK_ID
mkdir -p "out/$id"
case "$id" in
  A) echo a > out/A/x; git add -A; git commit -q -m "A: work"
     git update-ref refs/heads/feature/demo/backend-B HEAD && echo moved > out/A/moved
     git add -A; git commit -q -m "A: moved B" ;;
  B) i=0; while [ ! -e "$A/out/A/moved" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
     echo b > out/B/x; git add -A; git commit -q -m "B: work" ;;
esac
"#;
    let (out, events) = run(&r, script, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(status(&r, "B"), "failed");
    let reason = events
        .iter()
        .find(|e| e["event"] == "failed" && e["id"] == "B")
        .and_then(|e| e["reason"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("was moved by something other than its worktree"),
        "{reason}\n{events:#?}"
    );
    // B's work never reached main; its branch is kept for a human to look at.
    assert!(!r.git(&["log", "--format=%s", "main"]).contains("B: work"));
    assert!(r.ref_exists("refs/heads/feature/demo/backend-B"));
}

/// Without Landlock (simulated in test builds): `auto` runs unconfined with a warning, `on`
/// refuses and runs nothing.
#[cfg(feature = "failpoints")]
#[test]
fn without_landlock_auto_warns_and_on_refuses() {
    let r = repo(&["A"]);
    let script = "echo home > \"$HOME/written.txt\"; mkdir -p out/A && echo ok > out/A/x && git add -A && git commit -q -m A\n";
    std::fs::write(r.base().join("agent.sh"), script).unwrap();
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let run = |mode: &str| {
        r.cmd()
            .env("GIT_PARALLEL_NO_LANDLOCK", "1")
            .args(["run", "--sandbox", mode, "--agent", &agent])
            .output()
            .unwrap()
    };
    let out = run("on");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--sandbox is on, but this system has no Landlock: nothing was run"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&r, "A"), "pending");
    let out = run("auto");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: agents run unconfined: this system has no Landlock"),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&r, "A"), "completed");
    assert!(r.home().join("written.txt").exists());
}

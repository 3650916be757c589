//! Tests of what a failed attempt of `run` tells the next one: the failure as data (the
//! `attempt_failed` event's kind, `.git/parallel/run/failures/<ID>.txt` named by
//! `GIT_PARALLEL_LAST_FAILURE`, the brief), and the target merged into the worktree after a
//! conflict, so that the agent of attempt 2 can fix its work and the task lands.

use std::process::Output;

use crate::support::{field, TestRepo};

/// A one-task repository (`T`, producing `out/T/`) and the agent script `body`.
fn repo(body: &str) -> TestRepo {
    let mut r = TestRepo::new();
    r.write(
        ".claude/task-graph.yml",
        "metadata:\n  product: demo\ntasks:\n- id: T\n  name: Task T\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: T\n    path: out/T/\n  status: pending\n",
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    std::fs::write(r.base().join("agent.sh"), body).unwrap();
    r
}

fn run_json(r: &TestRepo, extra: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let out = r
        .cmd()
        .env("GIT_PARALLEL_KILL_GRACE", "1")
        .env("MAIN", r.path(""))
        .args(["--json", "run", "--sandbox", "off", "--agent", &agent])
        .args(extra)
        .output()
        .expect("run git-parallel run");
    let events = crate::support::json_lines(&out);
    (out, events)
}

fn failed(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event"] == "attempt_failed")
        .collect()
}

/// Attempt 1 commits broken work; the gate fails printing what it wants; attempt 2 reads
/// `GIT_PARALLEL_LAST_FAILURE` (kind on the first line, the test's output after) and fixes it.
#[test]
fn an_agent_reads_the_test_gate_failure_and_fixes_its_work_on_attempt_2() {
    let r = repo(
        r#"mkdir -p out/T
if [ -n "$GIT_PARALLEL_LAST_FAILURE" ] && head -1 "$GIT_PARALLEL_LAST_FAILURE" | grep -q '^test-gate: '; then
  want=$(sed -n 's/^WANT: //p' "$GIT_PARALLEL_LAST_FAILURE")
  cp "$GIT_PARALLEL_LAST_FAILURE" out/T/last-failure.txt
  cp "$GIT_PARALLEL_TASK_BRIEF" out/T/brief.md
  echo "$want" > out/T/done.txt
else
  echo broken > out/T/done.txt
fi
git add -A && git commit -q -m "T attempt $GIT_PARALLEL_ATTEMPT"
"#,
    );
    let test = "if grep -q broken out/T/done.txt; then echo 'the test says:'; echo 'WANT: fixed-by-feedback'; exit 1; fi";
    let (out, events) = run_json(&r, &["--test", test]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{events:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = failed(&events);
    assert_eq!(f.len(), 1, "{events:#?}");
    assert_eq!(f[0]["kind"], "test-gate", "{events:#?}");
    assert_eq!(field(&r.task_file(), "T", "status").unwrap(), "completed");
    assert_eq!(r.read("out/T/done.txt"), "fixed-by-feedback\n");
    let last = r.read("out/T/last-failure.txt");
    assert!(last.starts_with("test-gate: "), "{last}");
    assert!(last.contains("\nWANT: fixed-by-feedback\n"), "{last}");
    let brief = r.read("out/T/brief.md");
    assert!(brief.contains("## The last attempt failed"), "{brief}");
    assert!(brief.contains("\nWANT: fixed-by-feedback\n"), "{brief}");
    let log = r.read(".git/parallel/run/logs/T.log");
    assert!(log.contains("attempt 1 failed: test-gate: "), "{log}");
    assert!(log.contains("\nWANT: fixed-by-feedback\n"), "{log}");
    // Landed: the failure is forgotten.
    assert!(!r.path(".git/parallel/run/failures/T.txt").exists());
}

/// Attempt 1 commits its file while the same file, with other content, lands on main: its
/// merge conflicts. Attempt 2 starts with main merged into its worktree, the conflict markers
/// in place; it resolves them and the task lands, attempt 1's commit included.
#[test]
fn after_a_conflict_the_next_attempt_resolves_the_merged_target_and_lands() {
    let r = repo(
        r#"mkdir -p out/T
if [ "$GIT_PARALLEL_ATTEMPT" = 1 ]; then
  echo mine > out/T/data.txt; git add -A; git commit -q -m "T: mine"
  mkdir -p "$MAIN/out/T"; echo theirs > "$MAIN/out/T/data.txt"
  git -C "$MAIN" add out/T/data.txt; git -C "$MAIN" commit -q -m "main: theirs"
  exit 0
fi
head -1 "$GIT_PARALLEL_LAST_FAILURE" | grep -q '^conflict: ' || exit 7
grep -q '^<<<<<<<' out/T/data.txt || exit 8
cp "$GIT_PARALLEL_LAST_FAILURE" out/T/last-failure.txt
echo resolved > out/T/data.txt
git add -A && git commit -q --no-edit
"#,
    );
    let (out, events) = run_json(&r, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{events:#?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = failed(&events);
    assert_eq!(f.len(), 1, "{events:#?}");
    assert_eq!(f[0]["kind"], "conflict");
    assert_eq!(f[0]["files"], serde_json::json!(["out/T/data.txt"]));
    assert_eq!(field(&r.task_file(), "T", "status").unwrap(), "completed");
    assert_eq!(r.read("out/T/data.txt"), "resolved\n");
    let last = r.read("out/T/last-failure.txt");
    assert!(
        last.starts_with("conflict: its merge conflicts with main in out/T/data.txt\n"),
        "{last}"
    );
    assert!(last.contains("with: main at "), "{last}");
    assert!(last.contains("the merge is in progress"), "{last}");
    // Nothing of the agent's was lost: attempt 1's commit is in main's history.
    let log = r.git(&["log", "--format=%s", "main"]);
    assert!(log.lines().any(|l| l == "T: mine"), "{log}");
    assert!(log.lines().any(|l| l == "main: theirs"), "{log}");
}

/// After a conflict, an agent that exits 0 leaving the merge unresolved (the conflicted paths
/// still unmerged in its worktree's index, read in-process) fails its attempt as a conflict
/// naming them, and the next attempt resolves it and lands.
#[test]
fn an_agent_that_leaves_the_merge_unresolved_fails_as_a_conflict_naming_its_files() {
    let r = repo(
        r#"mkdir -p out/T
case "$GIT_PARALLEL_ATTEMPT" in
1) echo mine > out/T/data.txt; git add -A; git commit -q -m "T: mine"
   mkdir -p "$MAIN/out/T"; echo theirs > "$MAIN/out/T/data.txt"
   git -C "$MAIN" add out/T/data.txt; git -C "$MAIN" commit -q -m "main: theirs"
   exit 0;;
2) exit 0;;
esac
echo resolved > out/T/data.txt
git add -A && git commit -q --no-edit
"#,
    );
    let (out, events) = run_json(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{events:#?}");
    let f = failed(&events);
    assert_eq!(f.len(), 2, "{events:#?}");
    assert_eq!(f[1]["attempt"], 2);
    assert_eq!(f[1]["kind"], "conflict");
    assert_eq!(f[1]["files"], serde_json::json!(["out/T/data.txt"]));
    assert_eq!(field(&r.task_file(), "T", "status").unwrap(), "completed");
    assert_eq!(r.read("out/T/data.txt"), "resolved\n");
}

/// `parallel.onConflict = retry`: the agent runs again on the same base (nothing merged).
#[test]
fn on_conflict_retry_runs_the_agent_again_without_merging() {
    let r = repo(
        r#"mkdir -p out/T
if [ "$GIT_PARALLEL_ATTEMPT" = 1 ]; then
  echo mine > out/T/data.txt; git add -A; git commit -q -m "T: mine"
  mkdir -p "$MAIN/out/T"; echo theirs > "$MAIN/out/T/data.txt"
  git -C "$MAIN" add out/T/data.txt; git -C "$MAIN" commit -q -m "main: theirs"
  exit 0
fi
git rev-parse -q --verify MERGE_HEAD >/dev/null && exit 9
git merge -q -X ours main -m "merge main"
"#,
    );
    r.git(&["config", "parallel.onConflict", "retry"]);
    let (out, events) = run_json(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{events:#?}");
    assert_eq!(failed(&events).len(), 1, "{events:#?}");
    assert_eq!(r.read("out/T/data.txt"), "mine\n");
}

/// A task out of retries: `status` and `status --json` show its branch, worktree, attempts and
/// the last failure (kind and message, structured).
#[test]
fn status_shows_the_attempts_and_last_failure_of_a_task_run_gave_up_on() {
    let r = repo("echo 'cannot find libfoo' >&2; exit 3\n");
    r.git(&["config", "parallel.maxRetries", "1"]);
    let (out, events) = run_json(&r, &[]);
    assert_eq!(out.status.code(), Some(1), "{events:#?}");
    let failed = failed(&events);
    assert_eq!(failed.len(), 2, "{events:#?}");
    assert_eq!(failed[1]["last_output"], "cannot find libfoo");
    let st = r.ok(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_str(&st).unwrap();
    let t = &v["tasks"][0];
    assert_eq!(t["id"], "T");
    assert_eq!(t["branch"], "feature/demo/backend-T", "{t:#}");
    assert!(
        t["worktree"]
            .as_str()
            .unwrap()
            .ends_with("worktrees/demo/backend-T"),
        "{t:#}"
    );
    assert_eq!(t["attempts"], 2, "{t:#}");
    assert_eq!(t["last_failure"]["kind"], "exit", "{t:#}");
    assert_eq!(
        t["last_failure"]["message"], "the agent exited with 3",
        "{t:#}"
    );
    assert_eq!(t["last_failure"]["attempt"], 2, "{t:#}");
    assert!(t["last_failure"]["evidence"]
        .as_str()
        .unwrap()
        .contains("cannot find libfoo"));
    let text = r.ok(&["status"]);
    assert!(
        text.contains("T  attempt 2 of 2: exit: the agent exited with 3"),
        "{text}"
    );
    assert!(text.contains("feature/demo/backend-T"), "{text}");
}

/// What finish kept of a landed task's ignored files is shown: run's summary and `status`.
#[test]
fn the_kept_ignored_files_are_shown_with_their_size() {
    let r = repo(
        r#"mkdir -p out/T build
head -c 5000 /dev/zero > build/blob.o
echo x > out/T/done.txt
git add -A && git commit -q -m "T"
"#,
    );
    r.write(".gitignore", "build/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore build/"]);
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let out = r
        .cmd()
        .args(["run", "--sandbox", "off", "--agent", &agent])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Kept ignored files of removed worktrees: 1 directory, 5.0 KB"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&r.ok(&["--json", "status"])).unwrap();
    assert_eq!(v["kept_ignored"]["dirs"], 1, "{v:#}");
    assert!(
        v["kept_ignored"]["bytes"].as_u64().unwrap() >= 5000,
        "{v:#}"
    );
    assert!(r
        .ok(&["status"])
        .contains("Kept ignored files of removed worktrees: 1 directory"));
}

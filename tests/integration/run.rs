//! Tests of `git parallel run`: real agent processes (sh scripts the tests write) on small
//! graphs of our own and on a corpus graph. They check the task file, the merges, the branches
//! and worktrees left, the logs and the JSON events.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{all_output, assert_ok, assert_same, field, stdout, TestRepo};

/// The agent every test uses: what it does depends on the task id (and attempt), see
/// [`AGENT`]. A task's files go under `out/<ID>/`.
const AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
n=$GIT_PARALLEL_ATTEMPT
echo "agent for $id, attempt $n"
commit() {
  mkdir -p "out/$id"
  printf '%s\n' "$1" > "out/$id/done.txt"
  git add -A && git commit -q -m "work on $id (attempt $n)"
}
case "$id" in
  FAIL2*) [ "$n" -ge 3 ] || { echo "not yet"; exit 3; }; commit ok ;;
  ALWAYS*) echo "this never works"; exit 1 ;;
  HANG*) sleep 30 ;;
  NOOP*) echo "did nothing" ;;
  OUT*) if [ "$n" -eq 1 ]; then mkdir -p elsewhere; echo x > elsewhere/x.txt; git add -A; git commit -q -m "outside"; else git rm -q -r elsewhere; commit inside; fi ;;
  BAD*) if [ "$n" -eq 1 ]; then commit broken; else commit fixed; fi ;;
  X*) echo "from X" > shared.txt; commit x ;;
  Y*) if [ "$n" -eq 1 ]; then sleep 1; echo "from Y" > shared.txt; commit y; elif git rev-parse -q --verify MERGE_HEAD >/dev/null; then git checkout -q --ours shared.txt && git add shared.txt && git commit -q --no-edit; else git merge -q -X ours main -m "merge main"; fi ;;
  HX*) printf 'from HX\n' > "$(printf 'sh\033]0;PWNED\007\nfake line.txt')"; commit x ;;
  HY*) if [ "$n" -eq 1 ]; then sleep 1; printf 'from HY\n' > "$(printf 'sh\033]0;PWNED\007\nfake line.txt')"; commit y; elif git rev-parse -q --verify MERGE_HEAD >/dev/null; then git checkout -q --ours -- . && git add -A && git commit -q --no-edit; else git merge -q -X ours main -m "merge main"; fi ;;
  SLOW*) i=0; while [ ! -e "$MARK/FAST2" ] && [ $i -lt 450 ]; do sleep 0.1; i=$((i+1)); done; commit slow ;;
  FAST2*) touch "$MARK/FAST2"; commit fast ;;
  ENV*) env | grep '^GIT_PARALLEL_' | grep -v GIT_PARALLEL_NOW | sort > env.txt; mkdir -p "out/$id"; mv env.txt "out/$id/"; cp "$GIT_PARALLEL_TASK_BRIEF" "out/$id/brief.md"; git add -A; git commit -q -m env ;;
  *) commit ok ;;
esac
"#;

/// One task of a test graph: id, dependencies, and whether it is a checkpoint.
struct T(&'static str, &'static [&'static str], bool);

/// A repository whose task file (`.claude/task-graph.yml`) holds `tasks`, each producing
/// `out/<ID>/`, with the agent script beside the repository.
fn repo(tasks: &[T]) -> TestRepo {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for T(id, deps, checkpoint) in tasks {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  description: Build {id}\n  agent: backend-engineer\n  depends_on: [{}]\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  checkpoint: {checkpoint}\n  estimated_time_minutes: 10\n  acceptance_criteria:\n  - {id} works\n  status: pending\n",
            deps.join(", ")
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    std::fs::write(r.base().join("agent.sh"), AGENT).unwrap();
    r
}

fn agent(r: &TestRepo) -> String {
    format!("sh {}", r.base().join("agent.sh").display())
}

fn run_cmd(r: &TestRepo, extra: &[&str]) -> Command {
    // The agents' marks (FAST2) go to a directory the sandbox lets them write.
    let mark = r.base().join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    let mut c = r.cmd();
    c.env("GIT_PARALLEL_KILL_GRACE", "1")
        .env("MARK", &mark)
        .env(
            "GIT_CONFIG_PARAMETERS",
            format!("'parallel.sandboxWritable'='{}'", mark.display()),
        )
        .args(["run", "--agent", &agent(r)])
        .args(extra);
    c
}

fn run(r: &TestRepo, extra: &[&str]) -> Output {
    run_cmd(r, extra).output().expect("run git-parallel run")
}

/// `run --json`: its exit code and the JSON objects it printed, one per line.
fn run_json(r: &TestRepo, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = run(r, &args);
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), events)
}

fn status(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

fn log(r: &TestRepo, id: &str) -> String {
    std::fs::read_to_string(r.path(&format!(".git/parallel/run/logs/{id}.log"))).unwrap_or_default()
}

fn worktree(r: &TestRepo, id: &str) -> PathBuf {
    r.base().join(format!("worktrees/demo/backend-{id}"))
}

fn branch_exists(r: &TestRepo, id: &str) -> bool {
    r.ref_exists(&format!("refs/heads/feature/demo/backend-{id}"))
}

/// The events of kind `kind` about `id`.
fn of<'a>(events: &'a [serde_json::Value], kind: &str, id: &str) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event"] == kind && e["id"] == id)
        .collect()
}

/// The index of the first event of `kind` about `id`.
fn at(events: &[serde_json::Value], kind: &str, id: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == kind && e["id"] == id)
        .unwrap_or_else(|| panic!("no {kind} event for {id} in {events:#?}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn agents_that_commit_are_finished_and_their_dependents_run() {
    let r = repo(&[
        T("A", &[], false),
        T("B", &[], false),
        T("C", &["A", "B"], false),
    ]);
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for id in ["A", "B", "C"] {
        assert_eq!(status(&r, id), "completed");
        assert!(!branch_exists(&r, id), "branch of {id} removed");
        assert!(!worktree(&r, id).exists(), "worktree of {id} removed");
        assert_eq!(r.read(&format!("out/{id}/done.txt")), "ok\n");
        let l = log(&r, id);
        assert!(l.contains(&format!("==== attempt 1 of {id}")), "{l}");
        assert!(l.contains(&format!("agent for {id}, attempt 1")), "{l}");
    }
    let merges = r.git(&["log", "--merges", "--format=%s", "main"]);
    assert_eq!(merges.lines().count(), 3, "{merges}");
    let text = String::from_utf8_lossy(&out.stdout);
    // A and B finish in either order; C after both.
    assert!(
        text.contains("Completed: A, B, C") || text.contains("Completed: B, A, C"),
        "{text}"
    );
    assert!(
        text.contains("30 min sequential, 20 min critical path"),
        "{text}"
    );
    assert!(stderr(&out).contains("C: merged and completed"));
}

#[test]
fn the_agent_gets_its_task_in_the_environment_and_a_brief() {
    let r = repo(&[T("ENV", &[], false)]);
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = r.read("out/ENV/env.txt");
    let wt = worktree(&r, "ENV");
    for line in [
        "GIT_PARALLEL_TASK_ID=ENV".to_string(),
        "GIT_PARALLEL_TASK_NAME=Task ENV".into(),
        "GIT_PARALLEL_PRODUCT=demo".into(),
        "GIT_PARALLEL_AGENT=backend-engineer".into(),
        "GIT_PARALLEL_BRANCH=feature/demo/backend-ENV".into(),
        format!("GIT_PARALLEL_WORKTREE={}", wt.display()),
        format!(
            "GIT_PARALLEL_TASK_FILE={}",
            r.path(".claude/task-graph.yml").display()
        ),
        "GIT_PARALLEL_ATTEMPT=1".into(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} not in\n{env}");
    }
    assert!(env.contains("GIT_PARALLEL_TASK_BRIEF="), "{env}");
    let brief = r.read("out/ENV/brief.md");
    for s in [
        "# ENV: Task ENV",
        "Build ENV",
        "acceptance_criteria",
        "ENV works",
        "- out/ENV/",
    ] {
        assert!(brief.contains(s), "{s} not in\n{brief}");
    }
}

#[test]
fn an_agent_that_fails_twice_is_run_again_in_its_worktree_and_json_events_tell_it() {
    let r = repo(&[T("FAIL2", &[], false)]);
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 0, "{events:#?}");
    for e in &events {
        assert_eq!(e["version"], 1);
        assert_eq!(e["command"], "run");
    }
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "started",
            "attempt_failed",
            "retried",
            "started",
            "attempt_failed",
            "retried",
            "started",
            "finished",
            "merged",
            "summary"
        ]
    );
    assert_eq!(
        of(&events, "attempt_failed", "FAIL2")[0]["reason"],
        "the agent exited with 3"
    );
    assert_eq!(of(&events, "finished", "FAIL2")[0]["attempt"], 3);
    let summary = events.last().unwrap();
    assert_eq!(summary["completed"], serde_json::json!(["FAIL2"]));
    assert_eq!(summary["attempts"], 3);
    assert_eq!(status(&r, "FAIL2"), "completed");
    let l = log(&r, "FAIL2");
    for n in 1..=3 {
        assert!(l.contains(&format!("==== attempt {n} of FAIL2")), "{l}");
    }
    assert!(
        l.contains("==== attempt 1 failed: exit: the agent exited with 3"),
        "{l}"
    );
}

#[test]
fn a_task_out_of_retries_is_failed_and_only_its_dependents_wait() {
    let r = repo(&[
        T("ALWAYS", &[], false),
        T("DEP", &["ALWAYS"], false),
        T("FREE", &[], false),
        T("AFTER", &["FREE"], false),
    ]);
    r.git(&["config", "parallel.maxRetries", "1"]);
    let out = run(&r, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ALWAYS"), "{}", stderr(&out));
    assert_eq!(status(&r, "ALWAYS"), "failed");
    // One round given up (as `fail` counts): `retry ALWAYS` may give it another.
    assert_eq!(
        field(&r.task_file(), "ALWAYS", "retry_count").as_deref(),
        Some("1")
    );
    assert!(branch_exists(&r, "ALWAYS"), "failed branch kept");
    assert!(worktree(&r, "ALWAYS").is_dir(), "failed worktree kept");
    assert_eq!(status(&r, "DEP"), "pending");
    assert!(!branch_exists(&r, "DEP"));
    assert_eq!(status(&r, "FREE"), "completed");
    assert_eq!(status(&r, "AFTER"), "completed");
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(summary["failed"], serde_json::json!(["ALWAYS"]));
    assert_eq!(summary["not_run"][0]["id"], "DEP");
    assert!(log(&r, "ALWAYS").contains("this never works"));
}

#[test]
fn an_agent_past_the_timeout_is_stopped_and_its_attempt_fails() {
    let r = repo(&[T("HANG", &[], false)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let began = std::time::Instant::now();
    let (code, events) = run_json(&r, &["--timeout", "1s"]);
    assert_eq!(code, 1);
    assert!(began.elapsed().as_secs() < 25, "the sleep 30 was stopped");
    let failed = of(&events, "attempt_failed", "HANG");
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("--timeout"),
        "{failed:?}"
    );
    assert_eq!(of(&events, "failed", "HANG").len(), 1);
    assert_eq!(status(&r, "HANG"), "failed");
    assert!(log(&r, "HANG").contains("timed out"));
}

#[test]
fn an_agent_that_exits_0_without_committing_fails_its_attempt() {
    let r = repo(&[T("NOOP", &[], false)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 1);
    let failed = of(&events, "attempt_failed", "NOOP");
    assert!(failed[0]["reason"]
        .as_str()
        .unwrap()
        .contains("without committing"));
    assert_eq!(status(&r, "NOOP"), "failed");
}

#[test]
fn work_outside_the_task_paths_fails_the_attempt_and_the_next_one_lands() {
    let r = repo(&[T("OUT", &[], false), T("GOOD", &[], false)]);
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 0, "{events:#?}");
    let failed = of(&events, "attempt_failed", "OUT");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("outside"),
        "{failed:?}"
    );
    assert!(
        log(&r, "OUT").contains("elsewhere/x.txt"),
        "{}",
        log(&r, "OUT")
    );
    assert_eq!(status(&r, "OUT"), "completed");
    assert_eq!(status(&r, "GOOD"), "completed");
    assert!(!r.path("elsewhere/x.txt").exists());
}

#[test]
fn agents_that_conflict_fail_the_later_attempt_with_the_files_in_its_log() {
    let r = repo(&[T("X", &[], false), T("Y", &[], false)]);
    r.git(&["config", "parallel.boundaries", "warn"]);
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 0, "{events:#?}");
    let failed = of(&events, "attempt_failed", "Y");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(failed[0]["reason"].as_str().unwrap().contains("shared.txt"));
    let l = log(&r, "Y");
    assert!(
        l.contains("failed: conflict: its merge conflicts with main in shared.txt\n"),
        "{l}"
    );
    assert!(l.contains("files:\n  shared.txt\n"), "{l}");
    assert_eq!(status(&r, "X"), "completed");
    assert_eq!(status(&r, "Y"), "completed");
    assert_eq!(r.read("shared.txt"), "from Y\n");
}

// repro round2 10
/// A conflict on a file whose name holds escape sequences and a newline (from an agent's
/// commit): run's event lines show the name escaped, never raw.
#[test]
fn conflicting_file_names_are_printed_escaped() {
    let r = repo(&[T("HX", &[], false), T("HY", &[], false)]);
    r.git(&["config", "parallel.boundaries", "warn"]);
    let out = run(&r, &[]);
    let text = crate::support::all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("sh\\u{1b}]0;PWNED\\u{7}\\nfake line.txt"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "raw ESC in {text:?}");
    assert!(!text.lines().any(|l| l.starts_with("fake line")), "{text}");
    assert_eq!(status(&r, "HX"), "completed");
    assert_eq!(status(&r, "HY"), "completed");
}

#[test]
fn a_test_gate_that_one_task_breaks_fails_only_that_attempt() {
    let r = repo(&[T("BAD", &[], false), T("FINE", &[], false)]);
    let (code, events) = run_json(&r, &["--test", "! grep -rq broken out"]);
    assert_eq!(code, 0, "{events:#?}");
    let failed = of(&events, "attempt_failed", "BAD");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert!(
        of(&events, "attempt_failed", "FINE").is_empty(),
        "{events:#?}"
    );
    assert_eq!(status(&r, "BAD"), "completed");
    assert_eq!(status(&r, "FINE"), "completed");
    assert_eq!(r.read("out/BAD/done.txt"), "fixed\n");
}

#[test]
fn a_checkpoint_holds_its_dependents_until_approved_then_run_continues() {
    let r = repo(&[
        T("CP", &[], true),
        T("NEXT", &["CP"], false),
        T("SIDE", &[], false),
    ]);
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Waiting for approval: NEXT (git parallel approve CP)"),
        "{text}"
    );
    assert_eq!(status(&r, "CP"), "completed");
    assert_eq!(status(&r, "SIDE"), "completed");
    assert_eq!(status(&r, "NEXT"), "pending");
    r.ok(&["approve", "CP"]);
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(
        events.last().unwrap()["completed"],
        serde_json::json!(["NEXT"])
    );
    assert_eq!(status(&r, "NEXT"), "completed");
}

#[test]
fn a_task_whose_dependency_finishes_early_starts_before_the_slow_task_of_its_wave_ends() {
    // Waves would be {FAST1, SLOW} then {FAST2}. SLOW's agent waits (at most 45 s, under load) for the
    // mark FAST2's agent leaves: with events, FAST2 starts while SLOW still runs.
    let r = repo(&[
        T("FAST1", &[], false),
        T("SLOW", &[], false),
        T("FAST2", &["FAST1"], false),
    ]);
    let (code, events) = run_json(&r, &["-j", "3"]);
    assert_eq!(code, 0, "{events:#?}");
    assert!(at(&events, "started", "FAST2") < at(&events, "finished", "SLOW"));
    assert!(r.base().join("marks/FAST2").exists());
    for id in ["FAST1", "SLOW", "FAST2"] {
        assert_eq!(status(&r, id), "completed");
    }
}

#[test]
fn at_most_j_agents_run_at_once() {
    let r = repo(&[T("A", &[], false), T("B", &[], false), T("C", &[], false)]);
    let (code, events) = run_json(&r, &["-j", "1"]);
    assert_eq!(code, 0);
    // One at a time: every start follows the previous task's merge.
    assert!(at(&events, "merged", "A") < at(&events, "started", "B"));
    assert!(at(&events, "merged", "B") < at(&events, "started", "C"));
}

#[test]
fn named_ids_run_those_tasks_and_what_they_depend_on() {
    let r = repo(&[
        T("A", &[], false),
        T("B", &["A"], false),
        T("OTHER", &[], false),
    ]);
    let out = run(&r, &["B"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(status(&r, "B"), "completed");
    assert_eq!(status(&r, "OTHER"), "pending");
}

#[test]
fn without_an_agent_command_run_is_a_usage_error() {
    let r = repo(&[T("A", &[], false)]);
    let out = r.run(&["run"]);
    assert_eq!(out.status.code(), Some(129));
    assert!(stderr(&out).contains("parallel.agent"));
    r.git(&["config", "parallel.agent", &agent(&r)]);
    let out = r.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&r, "A"), "completed");
}

#[test]
fn an_interrupted_run_stops_its_agents_and_the_next_run_continues() {
    let r = repo(&[T("HANG", &[], false)]);
    let mut child = run_cmd(&r, &["--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"started\""), "{first}");
    // SAFETY: a signal to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert_eq!(status_of(&r, "HANG"), "in_progress");
    assert!(worktree(&r, "HANG").is_dir());
    assert!(log(&r, "HANG").contains("stopped (run interrupted)"));
    // The next run gives the task to an agent that works (attempt 1 did not count).
    let fixed = r.base().join("agent.sh");
    std::fs::write(&fixed, AGENT.replace("HANG*) sleep 30 ;;", "")).unwrap();
    let (code, events) = run_json(&r, &[]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(of(&events, "started", "HANG")[0]["attempt"], 1);
    assert_eq!(status_of(&r, "HANG"), "completed");
}

fn status_of(r: &TestRepo, id: &str) -> String {
    status(r, id)
}

/// Starts `tasks`, commits each one's `out/<ID>/done.txt` in its worktree, and records in
/// run's state that their agent's attempt 1 succeeded (as a run interrupted just then leaves).
fn succeeded_by_hand(r: &TestRepo, tasks: &[(&str, &str)]) {
    let mut args = vec!["start"];
    args.extend(tasks.iter().map(|(id, _)| *id));
    r.ok(&args);
    let mut records = serde_json::Map::new();
    for (id, text) in tasks {
        let wt = worktree(r, id);
        std::fs::create_dir_all(wt.join(format!("out/{id}"))).unwrap();
        std::fs::write(wt.join(format!("out/{id}/done.txt")), text).unwrap();
        r.git_in(&wt, &["add", "-A"]);
        r.git_in(&wt, &["commit", "-q", "-m", "work"]);
        records.insert(
            id.to_string(),
            serde_json::json!({"attempts": 1, "failures": 0, "last": "succeeded"}),
        );
    }
    let state = r.path(".git/parallel/run");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("state.json"),
        serde_json::Value::Object(records).to_string(),
    )
    .unwrap();
}

#[test]
fn an_agent_that_succeeded_before_an_interruption_is_not_run_again() {
    // A record saying the last attempt succeeded, on a started task with a commit: run
    // finishes it without running the agent (which would fail).
    let r = repo(&[T("DONE", &[], false)]);
    succeeded_by_hand(&r, &[("DONE", "by hand\n")]);
    let out = run_cmd(&r, &["--json"])
        .args(["--agent", "exit 7"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(!text.contains("\"started\""), "{text}");
    assert_eq!(status(&r, "DONE"), "completed");
}

#[test]
fn a_corpus_graph_runs_to_the_end_with_approvals_between_runs() {
    let r = TestRepo::muaththir_approved();
    let script = r.base().join("corpus-agent.sh");
    std::fs::write(
        &script,
        r#"
p=$(sed -n '/^## Paths it may change/,$p' "$GIT_PARALLEL_TASK_BRIEF" | sed -n 's/^- //p' | grep -v '[*?]' | head -1)
case "$p" in
  "") git commit -q --allow-empty -m "nothing to write" ;;
  */) mkdir -p "$p" && echo "$GIT_PARALLEL_TASK_ID" > "$p/agent.txt" && git add -A && git commit -q -m "$GIT_PARALLEL_TASK_ID" ;;
  *) mkdir -p "$(dirname "$p")" && echo "$GIT_PARALLEL_TASK_ID" >> "$p" && git add -A && git commit -q -m "$GIT_PARALLEL_TASK_ID" ;;
esac
"#,
    )
    .unwrap();
    let agent = format!("sh {}", script.display());
    for _ in 0..6 {
        let out = r
            .cmd()
            .args(["run", "--json", "--agent", &agent])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
        let summary: serde_json::Value =
            serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let waiting = summary["waiting_for_approval"].as_array().unwrap().clone();
        if waiting.is_empty() {
            assert!(
                summary["not_run"].as_array().unwrap().is_empty(),
                "{summary}"
            );
            break;
        }
        let mut approve: Vec<String> = waiting
            .iter()
            .flat_map(|w| w["approve"].as_array().unwrap().clone())
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        approve.sort();
        approve.dedup();
        for cp in approve {
            r.ok(&["approve", &cp]);
        }
    }
    let text = r.task_file();
    assert!(!text.contains("status: pending"), "{text}");
    assert!(!text.contains("status: in_progress"), "{text}");
    let wts = r.git(&["worktree", "list"]);
    assert_eq!(wts.lines().count(), 1, "{wts}");
    assert!(Path::new(&r.root).join(".git/parallel/run/logs").is_dir());
}

#[test]
fn a_run_killed_inside_a_transaction_is_settled_by_the_next_run() {
    let r = repo(&[T("A", &[], false)]);
    // run is SIGKILLed inside the start it makes, before its second step: a journal is left.
    let out = run_cmd(&r, &[])
        .env("GIT_PARALLEL_FAILPOINT", "kill:2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "{}", stderr(&out));
    assert!(r.path(".git/parallel/journal").exists());
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("settled the interrupted operation"),
        "{}",
        stderr(&out)
    );
    assert!(!r.path(".git/parallel/journal").exists());
    assert_eq!(status(&r, "A"), "completed");
}

// issue 20 item 1
/// A post-commit hook (`core.hooksPath`) that appends to a tracked file of the main worktree
/// from every agent's commit does not stop run: the landing does not touch that file, so run
/// lands the task and the appended lines stay, uncommitted.
#[test]
fn a_hook_appending_to_a_tracked_file_of_the_main_worktree_does_not_stop_run() {
    use std::os::unix::fs::PermissionsExt;
    let r = repo(&[T("A", &[], false), T("B", &["A"], false)]);
    r.write("audit-trail.jsonl", "{}\n");
    r.write(
        ".githooks/post-commit",
        &format!(
            "#!/bin/sh\necho '{{\"commit\": 1}}' >> '{}'\n",
            r.path("audit-trail.jsonl").display()
        ),
    );
    std::fs::set_permissions(
        r.path(".githooks/post-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "audit trail and hooks"]);
    r.git(&["config", "core.hooksPath", ".githooks"]);
    // The agents' sandbox lets the hook write there, as such a project would configure it.
    r.git(&["config", "parallel.sandboxWritable", "audit-trail.jsonl"]);
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(status(&r, "B"), "completed");
    assert!(r.read("audit-trail.jsonl").lines().count() > 1);
    assert_eq!(r.git(&["status", "--porcelain"]), " M audit-trail.jsonl\n");
}

#[test]
fn a_dirty_main_worktree_stops_run_instead_of_failing_the_agents() {
    // A local change to a file the landing writes (A's agent writes out/A/done.txt); a change
    // elsewhere is left alone (issue 20 item 1, see finish's tests).
    let r = repo(&[T("A", &[], false)]);
    r.write("out/A/done.txt", "old\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "an older A"]);
    r.write("out/A/done.txt", "changed by hand\n");
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(128), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("uncommitted changes in files this landing writes")
            && stderr(&out).contains("out/A/done.txt"),
        "{}",
        stderr(&out)
    );
    assert_eq!(r.read("out/A/done.txt"), "changed by hand\n");
    assert_eq!(status(&r, "A"), "in_progress");
    assert!(!log(&r, "A").contains("failed"), "{}", log(&r, "A"));
}

#[test]
fn a_batch_that_breaks_the_test_gate_lands_the_others_and_fails_the_culprit() {
    // Two started tasks whose agents succeeded (records say so): the next run finishes them
    // in one batch; finish bisects it, lands FINE and names BAD (test_failures), whose agent
    // runs again (attempt 2 fixes it).
    let r = repo(&[T("BAD", &[], false), T("FINE", &[], false)]);
    succeeded_by_hand(&r, &[("BAD", "broken\n"), ("FINE", "fine\n")]);
    let (code, events) = run_json(&r, &["--test", "! grep -rq broken out"]);
    assert_eq!(code, 0, "{events:#?}");
    let failed = of(&events, "attempt_failed", "BAD");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert_eq!(failed[0]["reason"], "the test gate fails with its merge");
    assert!(at(&events, "merged", "FINE") < at(&events, "started", "BAD"));
    assert_eq!(of(&events, "started", "BAD")[0]["attempt"], 2);
    assert!(
        log(&r, "BAD").contains("attempt 1 failed: test-gate: the test gate fails with its merge"),
        "{}",
        log(&r, "BAD")
    );
    assert_eq!(status(&r, "BAD"), "completed");
    assert_eq!(r.read("out/BAD/done.txt"), "fixed\n");
}

/// The test gate of a landing runs in the background: with one agent slot, B (ready from the
/// start) is launched while A's slow gate runs, before A is merged; every event in order.
#[test]
fn an_agent_is_launched_while_a_slow_test_gate_of_another_task_runs() {
    let r = repo(&[T("A", &[], false), T("B", &[], false)]);
    let (code, events) = run_json(&r, &["-j", "1", "--test", "sleep 2"]);
    assert_eq!(code, 0, "{events:#?}");
    let testing_a = events
        .iter()
        .position(|e| e["event"] == "testing" && e["ids"] == serde_json::json!(["A"]))
        .unwrap_or_else(|| panic!("no testing event for A in {events:#?}"));
    let tested_a = events
        .iter()
        .position(|e| e["event"] == "tested" && e["ids"] == serde_json::json!(["A"]))
        .unwrap_or_else(|| panic!("no tested event for A in {events:#?}"));
    assert!(at(&events, "finished", "A") < testing_a, "{events:#?}");
    assert!(testing_a < at(&events, "started", "B"), "{events:#?}");
    assert!(at(&events, "started", "B") < tested_a, "{events:#?}");
    assert!(tested_a < at(&events, "merged", "A"), "{events:#?}");
    assert_eq!(events[tested_a]["passed"], true);
    assert_eq!(events[testing_a]["test"], "sleep 2");
    assert!(events.iter().all(|e| e["command"] == "run"), "{events:#?}");
    // B's start moved the target during A's gate, in the task file only: the pass is reused.
    let tests_of_a = events
        .iter()
        .filter(|e| e["event"] == "testing" && e["ids"] == serde_json::json!(["A"]))
        .count();
    assert_eq!(tests_of_a, 1, "{events:#?}");
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(status(&r, "B"), "completed");
}

/// The target moves in another file while a landing is tested in the background: the pass
/// does not cover what would land, so it is tested again before it lands.
#[test]
fn a_target_changed_in_other_files_during_the_background_gate_is_tested_again() {
    let r = repo(&[T("A", &[], false)]);
    let moved = r.base().join("moved");
    let test = format!(
        "test -e '{m}' || {{ touch '{m}' && echo other > '{root}/other.txt' && git -C '{root}' add other.txt && git -C '{root}' commit -q -m other; }}",
        m = moved.display(),
        root = r.root.display()
    );
    let (code, events) = run_json(&r, &["--sandbox", "off", "--test", &test]);
    assert_eq!(code, 0, "{events:#?}");
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|k| ["testing", "tested", "merged"].contains(k))
        .collect();
    assert_eq!(
        kinds,
        ["testing", "tested", "testing", "tested", "merged"],
        "{events:#?}"
    );
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(r.read("other.txt"), "other\n");
    assert_eq!(r.read("out/A/done.txt"), "ok\n");
}

/// run killed (the whole process group) while a landing's test runs in the background: no
/// operation is pending, nothing is lost, and the next run lands the task.
#[test]
fn a_run_killed_during_its_background_gate_loses_nothing_and_the_next_run_lands() {
    use std::os::unix::process::CommandExt;
    let r = repo(&[T("A", &[], false)]);
    let running = r.base().join("running");
    let test = format!("touch '{}'; sleep 30", running.display());
    let mut child = run_cmd(&r, &["--sandbox", "off", "--test", &test])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(crate::support::kill::wait_for(&mut child, || running.exists()));
    crate::support::kill::kill_group(&mut child, libc::SIGKILL);
    assert_eq!(status(&r, "A"), "in_progress");
    assert!(branch_exists(&r, "A"));
    assert!(!r.path(".git/parallel/journal").exists());
    let (code, events) = run_json(&r, &["--sandbox", "off", "--test", "true"]);
    assert_eq!(code, 0, "{events:#?}");
    assert_eq!(status(&r, "A"), "completed");
    assert_eq!(r.read("out/A/done.txt"), "ok\n");
    assert!(!r.path(".git/parallel/journal").exists());
    r.git(&["fsck", "--no-progress", "--no-dangling"]);
}

/// `parallel.gateWorktree temp`: the gate runs inside finish's transaction, as before: no
/// background gate events, and B starts only after A landed.
#[test]
fn with_a_temporary_gate_worktree_the_gate_runs_inside_the_landing() {
    let r = repo(&[T("A", &[], false), T("B", &[], false)]);
    r.git(&["config", "parallel.gateWorktree", "temp"]);
    let (code, events) = run_json(&r, &["-j", "1", "--test", "true"]);
    assert_eq!(code, 0, "{events:#?}");
    assert!(
        !events.iter().any(|e| e["event"] == "testing"),
        "{events:#?}"
    );
    assert!(
        at(&events, "merged", "A") < at(&events, "started", "B"),
        "{events:#?}"
    );
    assert_eq!(status(&r, "B"), "completed");
}

#[test]
fn dry_run_says_what_run_would_start_first_and_changes_nothing() {
    let r = repo(&[
        T("D1", &[], false),
        T("A1", &[], false),
        T("B1", &["A1"], false),
        T("C1", &["B1"], false),
        T("E1", &[], false),
    ]);
    let before = r.snapshot();
    let (code, events) = run_json(&r, &["--dry-run", "-j", "2"]);
    assert_eq!(code, 0, "{events:?}");
    assert_eq!(events.len(), 1, "{events:?}");
    let plan = &events[0];
    assert_eq!(plan["event"], "plan", "{plan}");
    // The chain's head first (longest remaining path), then file order, at most -j.
    assert_eq!(plan["start"], serde_json::json!(["A1", "D1"]), "{plan}");
    assert_eq!(plan["resume"], serde_json::json!([]), "{plan}");
    assert_eq!(
        plan["later"],
        serde_json::json!(["B1", "C1", "E1"]),
        "{plan}"
    );
    assert_eq!(plan["jobs"], 2);
    assert_eq!(plan["executor"], "local");
    let out = run(&r, &["--dry-run", "-j", "2"]);
    assert_ok(&out, &["run --dry-run"]);
    let text = stdout(&out);
    assert!(
        text.contains("would start now (local, -j 2, longest remaining path first): A1, D1"),
        "{text}"
    );
    assert!(text.contains("nothing was changed (--dry-run)"), "{text}");
    assert_same(&before, &r.snapshot(), "run --dry-run");
    // Settings are checked as run checks them.
    let bad = run(&r, &["--dry-run", "-j", "0"]);
    assert_eq!(bad.status.code(), Some(129), "{}", all_output(&bad));
}

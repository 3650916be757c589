//! The history a `run` leaves on the target (issue 20 item 6): without a remote, one merge
//! commit per task and no commit of its own besides, however the landings are spread in time
//! (the start records ride in the main worktree's task file until the next merge commit
//! carries them); an interrupted run (SIGINT, SIGKILL) leaves those records for the next run,
//! which finishes from them; a kill inside a landing that carries them is rolled back or
//! forward whole.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::kill::{kill_group, spawn_env, wait_for};
use crate::support::{field, TestRepo};

/// Agents of different durations (so the landings and the starts interleave): a task's id
/// says how long its agent takes, tenths of a second; `WAIT*` waits for `$MARK/go`.
const AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
case "$id" in
  WAIT*) i=0; while [ ! -e "$MARK/go" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done ;;
  *) sleep "0.$(printf %s "$id" | tr -dc 0-9 | cut -c1)" ;;
esac
mkdir -p "out/$id" && echo "$id" > "out/$id/f" && git add -A && git commit -q -m "work on $id"
"#;

/// A repository whose task file `.claude/task-graph.yml` has `tasks` (id, dependencies),
/// each producing `out/<ID>/`, a README, and the agent beside it.
fn repo(tasks: &[(&str, &[&str])]) -> TestRepo {
    let mut r = TestRepo::new();
    let mut y = String::from("# the graph\nmetadata:\n  product: demo # ours\ntasks:\n");
    for (id, deps) in tasks {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  agent: backend-engineer # any\n  depends_on: [{}]\n  produces: [{{ name: out, path: out/{id}/ }}]\n  parallel_ok: true\n  status: pending\n",
            deps.join(", ")
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.write("README.md", "readme\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    std::fs::write(r.base().join("agent.sh"), AGENT).unwrap();
    std::fs::create_dir_all(mark(&r)).unwrap();
    r
}

fn mark(r: &TestRepo) -> PathBuf {
    r.base().join("marks")
}

fn agent(r: &TestRepo) -> String {
    format!("sh {}", r.base().join("agent.sh").display())
}

/// The environment every run gets: the marks directory, writable in the sandbox.
fn env(r: &TestRepo) -> Vec<(String, String)> {
    let m = mark(r).display().to_string();
    vec![
        ("GIT_PARALLEL_KILL_GRACE".into(), "1".into()),
        ("MARK".into(), m.clone()),
        (
            "GIT_CONFIG_PARAMETERS".into(),
            format!("'parallel.sandboxWritable'='{m}'"),
        ),
    ]
}

fn run_cmd(r: &TestRepo, extra: &[&str]) -> Command {
    let mut c = r.cmd();
    c.envs(env(r))
        .args(["run", "-j", "3", "--agent", &agent(r)])
        .args(extra);
    c
}

fn run(r: &TestRepo) -> Output {
    run_cmd(r, &[]).output().expect("run git-parallel run")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (merge commits, other commits) on main's first-parent line since `since`.
fn commits_since(r: &TestRepo, since: &str) -> (usize, usize) {
    let range = format!("{since}..main");
    let count = |extra: &str| {
        r.git(&["rev-list", "--count", "--first-parent", extra, &range])
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    (count("--merges"), count("--no-merges"))
}

fn subjects(r: &TestRepo, since: &str) -> String {
    r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{since}..main"),
    ])
}

/// Nothing pending and `git fsck` clean (run's own lock file, `run.lock`, stays by design).
fn assert_settled(r: &TestRepo, what: &str) {
    assert!(
        !r.path(".git/parallel/journal").exists(),
        "{what}: journal left"
    );
    let fsck = r
        .git_cmd(&r.root)
        .args(["fsck", "--no-progress", "--no-dangling"])
        .output()
        .unwrap();
    assert!(
        fsck.status.success() && fsck.stdout.is_empty(),
        "{what}: fsck: {}",
        text(&fsck)
    );
}

fn committed_task_file(r: &TestRepo) -> String {
    r.git(&["show", &format!("main:{}", r.tasks)])
}

fn status(text: &str, id: &str) -> String {
    field(text, id, "status").unwrap_or_default()
}

/// Five tasks whose agents take different times, two of them started only after a landing.
const SPREAD: &[(&str, &[&str])] = &[
    ("A1", &[]),
    ("B9", &[]),
    ("C5", &[]),
    ("D2", &["A1"]),
    ("E1", &["D2", "C5"]),
];

/// Everything completed, the task file committed with every start and completion record and
/// the layout and comments kept, N merges and no other commit, `git fsck` clean.
fn assert_one_merge_per_task(r: &TestRepo, before: &str) {
    let committed = committed_task_file(r);
    for (id, _) in SPREAD {
        assert_eq!(status(&committed, id), "completed", "{id}: {committed}");
        assert!(field(&committed, id, "started_at").is_some(), "{committed}");
    }
    assert!(
        committed.starts_with("# the graph\n")
            && committed.contains("product: demo # ours")
            && committed.contains("agent: backend-engineer # any"),
        "{committed}"
    );
    assert_eq!(r.task_file(), committed);
    assert_eq!(
        commits_since(r, before),
        (SPREAD.len(), 0),
        "{}",
        subjects(r, before)
    );
    assert_settled(r, "after the run");
}

#[test]
fn a_run_of_n_tasks_adds_n_merge_commits_and_no_other_however_the_landings_are_spread() {
    let r = repo(SPREAD);
    let before = r.rev("main");
    let out = run(&r);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_merge_per_task(&r, &before);
    assert!(r.git(&["status", "--porcelain"]).is_empty());
    // Every task branch started at the target as it was (no start commit put it behind).
    for (id, _) in SPREAD {
        let tip = r.rev(&format!("refs/parallel/backup/{id}"));
        let base = r.git(&["merge-base", &tip, "main"]);
        let subject = r.git(&["log", "-1", "--format=%s", base.trim()]);
        assert!(!subject.contains(": start "), "{id}: {subject}");
    }
}

#[test]
fn a_dirty_unrelated_file_is_left_alone_and_the_history_is_the_same() {
    let r = repo(SPREAD);
    r.write("README.md", "readme, being edited\n");
    let before = r.rev("main");
    let out = run(&r);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_one_merge_per_task(&r, &before);
    assert_eq!(r.read("README.md"), "readme, being edited\n");
    assert_eq!(r.git(&["status", "--porcelain"]).trim(), "M README.md");
}

/// A run of FAST1 (lands at once), WAIT1 and, after FAST1 landed, WAIT2: interrupted by
/// `sig` once WAIT2 is started and FAST1 landed, the start record of WAIT2 uncommitted.
fn interrupted_with_a_start_pending(sig: i32) -> (TestRepo, String) {
    let r = repo(&[("FAST1", &[]), ("WAIT1", &[]), ("WAIT2", &["FAST1"])]);
    let before = r.rev("main");
    let env = env(&r);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let agent = agent(&r);
    let mut child = spawn_env(&r, &["run", "-j", "3", "--agent", &agent], &env);
    // (A landing rewrites the file: it may be missing for an instant.)
    let file = r.path(&r.tasks);
    let started = wait_for(&mut child, || {
        status(&std::fs::read_to_string(&file).unwrap_or_default(), "WAIT2") == "in_progress"
            && r.base().join("worktrees/demo/backend-WAIT2").is_dir()
    });
    assert!(started, "WAIT2 never started: {}", r.task_file());
    // Let run's start of WAIT2 settle (its worktree exists; the transaction is over).
    std::thread::sleep(std::time::Duration::from_millis(300));
    kill_group(&mut child, sig);
    (r, before)
}

/// What an interrupted run leaves: FAST1 landed; WAIT2's start record in the main worktree's
/// task file only, the rest of the file as committed; `status` reads it; then the next run
/// finishes everything, with one merge per task and no other commit.
fn the_next_run_finishes_from_the_pending_starts(r: &TestRepo, before: &str) {
    let committed = committed_task_file(r);
    let working = r.task_file();
    assert_eq!(status(&committed, "FAST1"), "completed", "{committed}");
    assert_eq!(status(&committed, "WAIT1"), "in_progress", "{committed}");
    assert_eq!(status(&committed, "WAIT2"), "pending", "{committed}");
    assert_eq!(status(&working, "WAIT2"), "in_progress", "{working}");
    assert_eq!(
        r.git(&["status", "--porcelain"]).trim(),
        "M .claude/task-graph.yml"
    );
    let st = r.run(&["status"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    assert!(text(&st).contains("WAIT2"), "{}", text(&st));
    std::fs::write(mark(r).join("go"), "").unwrap();
    let out = run(r);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let committed = committed_task_file(r);
    for id in ["FAST1", "WAIT1", "WAIT2"] {
        assert_eq!(status(&committed, id), "completed", "{id}: {committed}");
    }
    assert_eq!(r.task_file(), committed);
    assert!(r.git(&["status", "--porcelain"]).is_empty());
    assert_eq!(commits_since(r, before), (3, 0), "{}", subjects(r, before));
    assert_settled(r, "after the next run");
}

#[test]
fn a_run_interrupted_by_sigint_leaves_its_start_records_and_the_next_run_finishes_from_them() {
    let (r, before) = interrupted_with_a_start_pending(libc::SIGINT);
    the_next_run_finishes_from_the_pending_starts(&r, &before);
}

#[test]
fn a_run_killed_leaves_its_start_records_and_the_next_run_finishes_from_them() {
    let (r, before) = interrupted_with_a_start_pending(libc::SIGKILL);
    the_next_run_finishes_from_the_pending_starts(&r, &before);
}

/// Two tasks started the way run starts them (`start --no-commit` writes the same records),
/// T1's work committed: a finish of T1 killed before or after each of its steps is settled by
/// `recover` into the state before it (T2's record still pending, byte for byte) or after it
/// (both records committed, nothing left uncommitted), and finishing again lands T1 once.
#[test]
fn a_kill_inside_a_landing_that_carries_start_records_is_settled_whole() {
    for point in [
        "kill:1",
        "kill:2",
        "kill:3",
        "killafter:3",
        "kill:4",
        "kill:5",
    ] {
        let r = repo(&[("T1", &[]), ("T2", &[])]);
        let before = r.rev("main");
        r.ok(&["start", "--no-commit"]);
        let pending = r.task_file();
        let wt = r.base().join("worktrees/demo/backend-T1");
        std::fs::create_dir_all(wt.join("out/T1")).unwrap();
        std::fs::write(wt.join("out/T1/f"), "T1\n").unwrap();
        r.git_in(&wt, &["add", "-A"]);
        r.git_in(&wt, &["commit", "-q", "-m", "work on T1"]);
        let out = r.run_env(&["finish", "T1"], &[("GIT_PARALLEL_FAILPOINT", point)]);
        assert_eq!(out.status.code(), None, "{point}: {}", text(&out));
        let st = r.run(&["status"]);
        assert_eq!(st.status.code(), Some(0), "{point}: {}", text(&st));
        // Rolled back when it can be (before the commit point), else completed.
        if !r.run(&["recover", "--abort"]).status.success() {
            let rec = r.run(&["recover", "--continue"]);
            assert_eq!(rec.status.code(), Some(0), "{point}: {}", text(&rec));
        }
        if r.rev("main") == before {
            assert_eq!(r.task_file(), pending, "{point}: rolled back");
            r.ok(&["finish", "T1"]);
        }
        let committed = committed_task_file(&r);
        assert_eq!(status(&committed, "T1"), "completed", "{point}");
        assert_eq!(status(&committed, "T2"), "in_progress", "{point}");
        assert_eq!(r.task_file(), committed, "{point}");
        assert!(r.git(&["status", "--porcelain"]).is_empty(), "{point}");
        assert_eq!(
            r.git(&["log", "--merges", "--format=%s", "main"])
                .lines()
                .count(),
            1,
            "{point}"
        );
        assert_settled(&r, point);
    }
}

#[test]
fn a_run_that_stops_with_tasks_in_progress_commits_their_start_records_at_its_end() {
    // A local change to a file A1's landing writes stops the run (see run's tests).
    let r = repo(&[("A1", &[])]);
    r.write("out/A1/f", "old\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "an older A1"]);
    r.write("out/A1/f", "changed by hand\n");
    let before = r.rev("main");
    let out = run(&r);
    assert_eq!(out.status.code(), Some(128), "{}", text(&out));
    // One commit with the start record: the task file is committed as the task is.
    assert_eq!(
        commits_since(&r, &before),
        (0, 1),
        "{}",
        subjects(&r, &before)
    );
    assert_eq!(subjects(&r, &before).trim(), "chore(demo): start A1");
    let committed = committed_task_file(&r);
    assert_eq!(status(&committed, "A1"), "in_progress");
    assert_eq!(r.task_file(), committed);
    assert_eq!(r.git(&["status", "--porcelain"]).trim(), "M out/A1/f");
    assert_settled(&r, "after the stop");
}

#[test]
fn with_a_remote_every_start_is_committed_and_published_for_the_other_clones() {
    let r = repo(&[("A1", &[]), ("B2", &["A1"])]);
    let bare = r.home().join("bare.git");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    r.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let before = r.rev("main");
    let out = run_cmd(&r, &["--remote", "origin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let subjects = subjects(&r, &before);
    // One merge per task, and a start commit per start, each published before its agent
    // runs (with a remote, completions are commits of their own too: parallel.foldStatus).
    assert_eq!(commits_since(&r, &before).0, 2, "{subjects}");
    assert!(subjects.contains("chore(demo): start A1"), "{subjects}");
    assert!(subjects.contains("chore(demo): start B2"), "{subjects}");
    assert_eq!(
        r.git_in(&bare, &["rev-parse", "main"]).trim(),
        r.rev("main")
    );
    assert!(r.git(&["status", "--porcelain"]).is_empty());
}

//! Tests of the processes of `run`: an agent's whole process group ends with its attempt and
//! with its run (a SIGKILL of run's process group included, through the watchdog), and one run
//! per repository at a time (an OS file lock).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{field, TestRepo};

/// A repository with one task `T` producing `out/T/`, and the agent script `body`.
fn repo(ids: &[&str], body: &str) -> TestRepo {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for id in ids {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  status: pending\n"
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    std::fs::write(r.base().join("agent.sh"), body).unwrap();
    r
}

fn run_cmd(r: &TestRepo) -> std::process::Command {
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    let mut c = r.cmd();
    c.env("GIT_PARALLEL_KILL_GRACE", "1")
        .env("MARK", r.base())
        .args(["run", "-j", "2", "--sandbox", "off", "--agent", &agent])
        .stdin(Stdio::null());
    c
}

fn wait_for(path: &Path, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !path.exists() {
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the process `pid` is alive (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

fn pid_in(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

const WAITING_AGENT: &str = r#"
mkdir -p out/$GIT_PARALLEL_TASK_ID
echo $$ > "$MARK/$GIT_PARALLEL_TASK_ID.$GIT_PARALLEL_ATTEMPT.pid"
echo "$GIT_PARALLEL_TASK_ID $$" >> "$MARK/agents.log"
i=0
while [ ! -e "$MARK/go" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
echo done > out/$GIT_PARALLEL_TASK_ID/done.txt
git add -A && git commit -q -m "work on $GIT_PARALLEL_TASK_ID"
"#;

// repro round2 07
#[test]
fn a_run_killed_with_its_process_group_takes_its_agents_with_it() {
    let r = repo(&["T"], WAITING_AGENT);
    let mut child: Child = run_cmd(&r)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = r.base().join("T.1.pid");
    wait_for(&pid_file, 20);
    let agent = pid_in(&pid_file);
    assert!(alive(agent));
    let run = child.id() as i32;
    // SAFETY: SIGKILL to the process group of the run this test started.
    unsafe {
        libc::kill(-run, libc::SIGKILL);
    }
    let _ = child.wait();
    let until = Instant::now() + Duration::from_secs(5);
    while alive(agent) {
        assert!(
            Instant::now() < until,
            "the agent {agent} outlived its killed run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The next run continues with a single agent in the worktree.
    std::fs::write(r.base().join("go"), "").unwrap();
    let out = run_cmd(&r).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(field(&r.task_file(), "T", "status").unwrap(), "completed");
    let agents = std::fs::read_to_string(r.base().join("agents.log")).unwrap();
    assert_eq!(agents.lines().count(), 2, "{agents}");
}

// repro round2 17
#[test]
fn a_second_run_refuses_while_one_runs_and_names_it() {
    let r = repo(&["T1", "T2"], WAITING_AGENT);
    let mut first = run_cmd(&r)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&r.base().join("T1.1.pid"), 20);
    wait_for(&r.base().join("T2.1.pid"), 20);
    let before = r.snapshot();
    let second = run_cmd(&r).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!(
            "another 'git parallel run' is running in this repository: pid {}",
            first.id()
        )),
        "{err}"
    );
    assert_eq!(r.snapshot(), before, "the refused run changed something");
    std::fs::write(r.base().join("go"), "").unwrap();
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let agents = std::fs::read_to_string(r.base().join("agents.log")).unwrap();
    assert_eq!(agents.lines().count(), 2, "one agent per task:\n{agents}");
    for id in ["T1", "T2"] {
        assert_eq!(field(&r.task_file(), id, "status").unwrap(), "completed");
    }
}

#[test]
fn what_an_agent_leaves_running_ends_with_its_attempt() {
    let r = repo(
        &["T"],
        r#"
mkdir -p out/T
(sleep 1; echo late > "$MARK/late.txt") &
echo $! > "$MARK/left.pid"
echo done > out/T/done.txt
git add -A && git commit -q -m "work on T"
"#,
    );
    let out = run_cmd(&r).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = pid_in(&r.base().join("left.pid"));
    assert!(
        !alive(left),
        "the agent's background process outlived its attempt"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!r.base().join("late.txt").exists());
}

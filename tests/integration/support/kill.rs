//! Killing whole process groups and checking what they leave: many-file demo repositories,
//! commands spawned in their own process group, signals to the group, the repository state
//! compared before and after, and the checks that a repository is settled (no journal, no lock
//! file, `git fsck` clean). Shared by the kill, concurrency, pool and bisection tests.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use super::{all_output, TestRepo};

/// A directory on tmpfs when there is one (the kill tests write tens of thousands of files).
pub fn fast_tmp() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            drop(d);
            return shm.to_path_buf();
        }
    }
    std::env::temp_dir()
}

/// A task graph of `n` parallel tasks T1..Tn of product `demo`, each producing src/t<i>/.
pub fn graph(n: usize) -> String {
    let mut s =
        String::from("metadata:\n  product: demo\n  updated_at: '2026-01-01T00:00:00Z'\ntasks:\n");
    for i in 1..=n {
        s.push_str(&format!(
            "  - id: T{i}\n    name: Task {i}\n    agent: backend-engineer\n    depends_on: []\n    \
             produces:\n      - {{ name: out, type: directory, path: src/t{i}/ }}\n    \
             parallel_ok: true\n    status: pending\n"
        ));
    }
    s
}

/// A repository with the `graph(tasks)` task file and `files` data files, on tmpfs.
pub fn demo_repo(tasks: usize, files: usize) -> TestRepo {
    let mut r = TestRepo::new_in(&fast_tmp());
    r.tasks = "products/demo/.claude/task-graph.yml".into();
    r.write(&r.tasks, &graph(tasks));
    for k in 0..files {
        let p = r.path(&format!("data/d{}/f{}.txt", k / 100, k % 100));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{k}\n")).unwrap();
    }
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "data"]);
    r
}

pub fn wt(r: &TestRepo, i: usize) -> PathBuf {
    r.base().join(format!("worktrees/demo/backend-T{i}"))
}

/// Commits `files` new files under src/t<i>/ in task i's worktree.
pub fn work(r: &TestRepo, i: usize, files: usize) {
    let w = wt(r, i);
    let dir = w.join(format!("src/t{i}"));
    std::fs::create_dir_all(&dir).unwrap();
    for f in 0..files {
        std::fs::write(dir.join(format!("f{f}")), format!("{i} {f}\n")).unwrap();
    }
    r.git_in(&w, &["add", "src"]);
    r.git_in(&w, &["commit", "-q", "-m", &format!("work {i}")]);
}

/// Starts git-parallel in a process group of its own (as `setsid` does in the scripts).
pub fn spawn(r: &TestRepo, args: &[&str]) -> Child {
    spawn_env(r, args, &[])
}

pub fn spawn_env(r: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = r.cmd();
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn git-parallel")
}

/// Sends `sig` to the child's whole process group and reaps the child.
pub fn kill_group(child: &mut Child, sig: i32) {
    // SAFETY: kill(2) on a process group we created; no memory is involved.
    unsafe {
        libc::kill(-(child.id() as i32), sig);
    }
    let _ = child.wait();
    // The rest of the group (git children) dies with it; wait until none is left.
    for _ in 0..500 {
        // SAFETY: as above; signal 0 only checks that the group still exists.
        if unsafe { libc::kill(-(child.id() as i32), 0) } != 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Polls (every 2 ms, at most ~20 s) until `cond` holds or the child has exited; whether it held.
pub fn wait_for(child: &mut Child, cond: impl Fn() -> bool) -> bool {
    for _ in 0..10_000 {
        if cond() {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return cond();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    false
}

/// What must be equal between "before"/"after" states: refs, HEAD, the worktree list (paths
/// relative to the test dir), the task file, and the status of the main and every worktree.
/// Backup refs are left out: `undo` keeps them (and a later finish names its own `-2`, …);
/// callers check that the tips they hold stay reachable.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    pub refs: String,
    pub head: String,
    pub worktrees: String,
    pub task_file: String,
    pub statuses: Vec<(String, String)>,
}

pub fn state(r: &TestRepo) -> State {
    let base = r.base().display().to_string();
    let list = r.worktree_list();
    let mut statuses = vec![(
        "main".to_string(),
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
    )];
    for line in list.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            if Path::new(p) != r.root {
                let st = r
                    .git_cmd(Path::new(p))
                    .args(["status", "--porcelain", "--untracked-files=all"])
                    .output()
                    .unwrap();
                statuses.push((
                    p.replace(&base, "<tmp>"),
                    format!("{}{}", all_output(&st), st.status),
                ));
            }
        }
    }
    State {
        refs: r
            .git(&["for-each-ref", "--format=%(refname) %(objectname)"])
            .lines()
            .filter(|l| !l.starts_with("refs/parallel/backup/"))
            .map(|l| format!("{l}\n"))
            .collect(),
        head: r.git(&["symbolic-ref", "-q", "HEAD"]),
        worktrees: list.replace(&base, "<tmp>"),
        task_file: r.task_file(),
        statuses,
    }
}

/// Asserts nothing is pending, no lock file is left in the git dir, and `git fsck` is clean.
pub fn assert_settled(r: &TestRepo, what: &str) {
    assert!(
        !r.path(".git/parallel/journal").exists(),
        "{what}: journal left"
    );
    let mut locks = Vec::new();
    find_locks(&r.path(".git"), &mut locks);
    assert!(locks.is_empty(), "{what}: lock files left: {locks:?}");
    let fsck = r
        .git_cmd(&r.root)
        .args(["fsck", "--no-progress", "--no-dangling"])
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{what}: fsck: {}", all_output(&fsck));
}

fn find_locks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && e.file_name() != "objects" {
            find_locks(&p, out);
        } else if p.extension().is_some_and(|x| x == "lock") || e.file_name() == "locked" {
            out.push(p);
        }
    }
}

/// `status` exits 0 and, while a journal is pending, says so.
pub fn assert_status_explains(r: &TestRepo, what: &str) {
    let out = r.run(&["status"]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{what}: status: {text}");
    if r.path(".git/parallel/journal").exists() {
        assert!(
            text.contains("interrupted operation is pending"),
            "{what}: status does not explain: {text}"
        );
    }
}

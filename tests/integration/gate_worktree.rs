//! The kept test gate worktree (`parallel.gateWorktree`, src/txn/gate_worktree.rs): consecutive
//! gates test in the same worktree and see the ignored build output the earlier ones left;
//! a gate killed mid-way loses nothing and the next gate works; `temp` keeps a temporary
//! worktree per gate; a directory that is not ours is left alone; `gc` removes it.

use std::path::{Path, PathBuf};

use crate::support::kill::{assert_settled, demo_repo, kill_group, spawn, state, wait_for, work};
use crate::support::{all_output, json, TestRepo};

/// A repository of two started tasks with work, whose `build/` is ignored.
fn two_tasks_with_work() -> TestRepo {
    let r = demo_repo(2, 0);
    r.write(".gitignore", "build/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore build output"]);
    r.ok(&["start", "-q"]);
    work(&r, 1, 1);
    work(&r, 2, 1);
    r
}

/// A test command that counts its runs in the ignored `build/count`, leaves an untracked
/// `junk.txt` (which the next gate must not see) and appends where it ran and what it counted
/// to `<base>/seen`.
fn counting_test(r: &TestRepo) -> String {
    let seen = r.base().join("seen");
    format!(
        "test ! -e junk.txt && mkdir -p build && n=$(cat build/count 2>/dev/null || echo 0) && \
         echo $((n+1)) > build/count && echo junk > junk.txt && \
         echo \"$(pwd -P) $(cat build/count)\" >> '{}'",
        seen.display()
    )
}

fn seen(r: &TestRepo) -> Vec<(String, String)> {
    std::fs::read_to_string(r.base().join("seen"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (dir, n) = l.rsplit_once(' ').unwrap();
            (dir.to_string(), n.to_string())
        })
        .collect()
}

fn gate_dir(r: &TestRepo) -> PathBuf {
    r.path(".git/parallel/gate").canonicalize().unwrap()
}

/// Whether `git worktree list` has a detached worktree at `dir`.
fn registered_detached(r: &TestRepo, dir: &Path) -> bool {
    let list = r.git(&["worktree", "list", "--porcelain"]);
    list.split("\n\n").any(|b| {
        b.lines()
            .next()
            .and_then(|l| l.strip_prefix("worktree "))
            .is_some_and(|p| Path::new(p).canonicalize().ok().as_deref() == Some(dir))
            && b.lines().any(|l| l == "detached")
    })
}

#[test]
fn consecutive_gates_reuse_the_kept_worktree_and_its_ignored_build_output() {
    let r = two_tasks_with_work();
    let test = counting_test(&r);
    r.ok(&["finish", "-q", "T1", "--test", &test]);
    r.ok(&["finish", "-q", "T2", "--test", &test]);
    let gate = gate_dir(&r);
    let seen = seen(&r);
    assert_eq!(
        seen,
        [
            (gate.display().to_string(), "1".to_string()),
            (gate.display().to_string(), "2".to_string())
        ],
        "the second gate runs where the first ran and sees its ignored build/count"
    );
    assert!(registered_detached(&r, &gate));
    // It holds the last commit tested (the target now), its build output, and nothing else.
    assert_eq!(
        r.git_in(&gate, &["rev-parse", "HEAD^{tree}"]),
        r.git(&["rev-parse", "main^{tree}"])
    );
    assert_eq!(
        std::fs::read_to_string(gate.join("build/count")).unwrap(),
        "2\n"
    );
    assert!(r.path("src/t1/f0").exists() && r.path("src/t2/f0").exists());
    assert_settled(&r, "two finishes with a kept gate");
    // status says what the kept gate worktree takes and how it goes.
    let text = r.ok(&["status"]);
    assert!(
        text.contains("Kept gate worktree: ") && text.contains("git parallel gc removes it"),
        "{text}"
    );
    let doc = json(&r.ok(&["status", "--json"]));
    assert!(
        doc["gate_worktree"]["bytes"]
            .as_u64()
            .is_some_and(|b| b > 0),
        "{doc}"
    );
    assert_eq!(doc["gate_worktree"]["path"], gate.display().to_string());
}

#[test]
fn a_gate_killed_mid_way_loses_nothing_and_the_next_gate_works() {
    let r = two_tasks_with_work();
    let test = counting_test(&r);
    // A first gate makes the kept worktree and its build output.
    r.ok(&["finish", "-q", "T1", "--test", &test]);
    let gate = gate_dir(&r);
    let before = state(&r);
    let running = r.base().join("running");
    let slow = format!(
        "mkdir -p build && echo half > build/half && touch '{}' && sleep 30",
        running.display()
    );
    let mut child = spawn(&r, &["finish", "-q", "--test", &slow]);
    assert!(wait_for(&mut child, || running.exists()));
    kill_group(&mut child, libc::SIGKILL);
    // As if the kill had also caught a git child mid-checkout in the gate worktree.
    let admin = r.path(".git/worktrees").join(gate.file_name().unwrap());
    assert!(admin.is_dir(), "{admin:?}");
    std::fs::write(admin.join("index.lock"), "").unwrap();
    let out = r.run(&["recover", "--abort"]);
    assert!(out.status.success(), "{}", all_output(&out));
    // Nothing of the user's changed: T2 in progress with its work, the kept gate still there.
    assert_eq!(state(&r), before);
    assert!(registered_detached(&r, &gate));
    // The next gate reuses it: the stale lock cleared, the build output of both gates kept.
    r.ok(&["finish", "-q", "T2", "--test", &test]);
    let seen = seen(&r);
    assert_eq!(
        seen.last().unwrap(),
        &(gate.display().to_string(), "2".to_string())
    );
    assert_eq!(
        std::fs::read_to_string(gate.join("build/half")).unwrap(),
        "half\n"
    );
    assert!(r.path("src/t2/f0").exists());
    assert_settled(&r, "a gate after a killed one");
}

#[test]
fn gate_worktree_temp_tests_in_a_temporary_worktree_removed_after() {
    let r = two_tasks_with_work();
    r.git(&["config", "parallel.gateWorktree", "temp"]);
    let test = counting_test(&r);
    r.ok(&["finish", "-q", "T1", "--test", &test]);
    r.ok(&["finish", "-q", "T2", "--test", &test]);
    let seen = seen(&r);
    assert_eq!(seen.len(), 2);
    // Each gate in a fresh worktree (its count starts at 1), never the kept one.
    for (dir, n) in &seen {
        assert_eq!(n, "1", "{seen:?}");
        assert!(!dir.contains("/.git/parallel/gate"), "{seen:?}");
        assert!(!Path::new(dir).exists(), "{dir} left behind");
    }
    assert_ne!(seen[0].0, seen[1].0);
    assert!(!r.path(".git/parallel/gate").exists());
    assert_eq!(
        r.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
}

#[test]
fn a_directory_at_the_gate_path_that_is_not_ours_is_left_alone() {
    let r = two_tasks_with_work();
    let dir = r.path(".git/parallel/gate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "someone's\n").unwrap();
    let test = counting_test(&r);
    let out = r.run(&["finish", "T1", "--test", &test]);
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("not a gate worktree git-parallel made"),
        "{}",
        all_output(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.txt")).unwrap(),
        "someone's\n"
    );
    let seen = seen(&r);
    assert!(!seen[0].0.contains("/.git/parallel/gate"), "{seen:?}");
    assert!(r.path("src/t1/f0").exists());
}

#[test]
fn gc_removes_the_kept_gate_worktree_once_unused_for_keep_backups_days() {
    let r = two_tasks_with_work();
    r.ok(&["finish", "-q", "--test", "mkdir -p build && touch build/x"]);
    let gate = gate_dir(&r);
    // Used just now: kept.
    let out = r.ok(&["gc", "--json"]);
    assert!(!out.contains("removed_gate_worktree"), "{out}");
    assert!(gate.join("build/x").exists());
    r.git(&["config", "parallel.keepBackups", "0"]);
    let out = r.ok(&["gc", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["removed_gate_worktree"]
            .as_str()
            .is_some_and(|p| p.ends_with("/.git/parallel/gate")),
        "{out}"
    );
    assert!(!r.path(".git/parallel/gate").exists());
    assert!(!registered_detached(&r, &gate));
    assert_settled(&r, "gc of the gate worktree");
}

//! Tests of start: what it creates (branches, worktrees, the task-file commit), its dry run,
//! JSON and --no-commit modes, everything it refuses (leaving the repository as it was), the
//! postStart hook and include files, concurrent runs and undo.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::muaththir::branch;
use crate::support::{all_output, assert_same, json, line_diff, refused, stdout, TestRepo, NOW};

/// The three tasks muaththir starts: (id, role).
const TASKS: [(&str, &str); 3] = [
    ("DEVOPS-01", "devops"),
    ("BACKEND-01", "backend"),
    ("FRONTEND-01", "frontend"),
];

const START_MESSAGE: &str = "chore(muaththir): start DEVOPS-01, BACKEND-01, FRONTEND-01";

fn expected_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/expected/muaththir-started.task-graph.yml")
}

/// The linked worktrees (`git worktree list --porcelain`), as (path, branch).
fn linked_worktrees(r: &TestRepo) -> Vec<(PathBuf, String)> {
    let list = r.git(&["worktree", "list", "--porcelain"]);
    let mut out = Vec::new();
    for block in list.split("\n\n") {
        let mut path = None;
        let mut br = String::new();
        for line in block.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            }
            if let Some(b) = line.strip_prefix("branch ") {
                br = b.trim_start_matches("refs/heads/").to_string();
            }
        }
        if let Some(p) = path.filter(|p| *p != r.root) {
            out.push((p, br));
        }
    }
    out.sort();
    out
}

/// The local branches other than main.
fn task_branches(r: &TestRepo) -> Vec<String> {
    let mut v: Vec<String> = r
        .git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
        .lines()
        .filter(|l| *l != "main")
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn expected_branches() -> Vec<String> {
    let mut v: Vec<String> = TASKS.iter().map(|(id, role)| branch(role, id)).collect();
    v.sort();
    v
}

/// Asserts the state after a successful start of the three tasks.
fn assert_started(r: &TestRepo) {
    assert_eq!(task_branches(r), expected_branches());
    let mut want: Vec<(PathBuf, String)> = TASKS
        .iter()
        .map(|(id, role)| (r.task_worktree(role, id), branch(role, id)))
        .collect();
    want.sort();
    assert_eq!(linked_worktrees(r), want);
    for (id, role) in TASKS {
        assert!(
            r.task_worktree(role, id).join("README.md").is_file(),
            "{id}: worktree not checked out"
        );
    }
}

#[test]
fn start_creates_branches_worktrees_and_the_start_commit() {
    let r = TestRepo::muaththir_approved();
    let old_tip = r.rev("main");
    let before_text = r.task_file();
    let out = r.ok(&["start"]);
    for (id, role) in TASKS {
        assert!(out.contains(id), "{out}");
        assert!(out.contains(&branch(role, id)), "{out}");
    }
    assert_started(&r);

    // The task file, committed and checked out, equals the reviewed expected file.
    let text = r.task_file();
    if std::env::var_os("GIT_PARALLEL_BLESS").is_some() {
        std::fs::create_dir_all(expected_path().parent().unwrap()).unwrap();
        std::fs::write(expected_path(), &text).unwrap();
    }
    let expected = std::fs::read_to_string(expected_path()).expect("expected file");
    assert_eq!(
        text,
        expected,
        "task file differs from {}",
        expected_path().display()
    );
    assert_eq!(r.git(&["show", &format!("main:{}", r.tasks)]), expected);
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );

    // One commit on main, with the message, changing only the task file, only these lines.
    assert_eq!(r.rev("main~1"), old_tip);
    assert_eq!(
        r.git(&["log", "-1", "--format=%s", "main"]).trim(),
        START_MESSAGE
    );
    assert_eq!(
        r.git(&["diff", "--name-only", &old_tip, "main"]).trim(),
        r.tasks
    );
    let diff = r.git(&["diff", "-U0", &old_tip, "main", "--", &r.tasks]);
    let mut minus = Vec::new();
    let mut plus = Vec::new();
    for l in diff.lines() {
        if l.starts_with("---") || l.starts_with("+++") {
            continue;
        }
        if let Some(x) = l.strip_prefix('-') {
            minus.push(x.trim().to_string());
        } else if let Some(x) = l.strip_prefix('+') {
            plus.push(x.trim().to_string());
        }
    }
    let mut want_minus = vec![r#"updated_at: "2026-02-07T11:15:06Z""#.to_string()];
    let mut want_plus = vec![format!("updated_at: \"{NOW}\"")];
    for (id, role) in TASKS {
        want_minus.push(r#"status: "pending""#.into());
        want_plus.push(r#"status: "in_progress""#.into());
        want_plus.push(format!("started_at: \"{NOW}\""));
        want_plus.push(format!("assigned_to: \"{}\"", branch(role, id)));
    }
    minus.sort();
    plus.sort();
    want_minus.sort();
    want_plus.sort();
    assert_eq!(minus, want_minus, "{diff}");
    assert_eq!(plus, want_plus, "{diff}");
    // The same seen as a line diff of the whole files: nothing else moved.
    let (removed, added) = line_diff(&before_text, &text);
    assert_eq!(removed.len(), 4, "{removed:?}");
    assert_eq!(added.len(), 10, "{added:?}");

    // Every branch starts from the start commit; each worktree has it checked out.
    let tip = r.rev("main");
    for (id, role) in TASKS {
        assert_eq!(r.rev(&branch(role, id)), tip, "{id}");
        let wt = r.task_worktree(role, id);
        assert_eq!(r.git_in(&wt, &["rev-parse", "HEAD"]).trim(), tip);
        assert_eq!(
            r.git_in(&wt, &["status", "--porcelain"]),
            "",
            "{id}: worktree not clean"
        );
        assert_eq!(
            std::fs::read_to_string(wt.join(&r.tasks)).unwrap(),
            expected
        );
    }
}

#[test]
fn expected_started_file_differs_only_in_status_lines() {
    // Guards the reviewed expected file itself: against the input it differs only in the
    // status/started_at/assigned_to lines of the three tasks and metadata.updated_at.
    let r = TestRepo::muaththir_approved();
    let expected = std::fs::read_to_string(expected_path()).expect("expected file");
    let (removed, added) = line_diff(&r.task_file(), &expected);
    let mut removed: Vec<String> = removed.iter().map(|l| l.trim().to_string()).collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            r#"status: "pending""#,
            r#"status: "pending""#,
            r#"status: "pending""#,
            r#"updated_at: "2026-02-07T11:15:06Z""#
        ]
    );
    for a in &added {
        let t = a.trim();
        assert!(
            t == r#"status: "in_progress""#
                || t == format!("started_at: \"{NOW}\"")
                || t == format!("updated_at: \"{NOW}\"")
                || t.starts_with("assigned_to: \"feature/muaththir/"),
            "unexpected line {a:?}"
        );
    }
    assert_eq!(added.len(), 10);
}

#[test]
fn dry_run_changes_nothing() {
    let r = TestRepo::muaththir_approved();
    let before = r.snapshot();
    let out = r.ok(&["start", "--dry-run"]);
    assert!(
        out.contains("start DEVOPS-01, BACKEND-01, FRONTEND-01"),
        "{out}"
    );
    assert!(out.contains("add worktree"), "{out}");
    assert_same(&r.snapshot(), &before, "snapshot");
    let v = json(&r.ok(&["start", "--dry-run", "--json"]));
    assert_eq!(v["dry_run"], true);
    assert!(!v["plan"]["steps"].as_array().expect("steps").is_empty());
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn json_output_describes_each_started_task() {
    let r = TestRepo::muaththir_approved();
    let v = json(&r.ok(&["start", "--json"]));
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "start");
    let started = v["started"].as_array().expect("started[]");
    assert_eq!(started.len(), 3);
    for (t, (id, role)) in started.iter().zip(TASKS) {
        assert_eq!(t["id"], id);
        assert_eq!(t["branch"], branch(role, id));
        let wt = r.task_worktree(role, id);
        assert_eq!(t["worktree"].as_str(), Some(wt.to_str().unwrap()));
        let next = t["next"].as_str().expect("next");
        assert!(next.contains(wt.to_str().unwrap()), "{next}");
    }
    assert_started(&r);
}

#[test]
fn no_commit_leaves_the_edit_uncommitted() {
    let r = TestRepo::muaththir_approved();
    let old_tip = r.rev("main");
    let old_text = r.task_file();
    r.ok(&["start", "--no-commit"]);
    assert_started(&r);
    assert_eq!(r.rev("main"), old_tip, "main moved");
    for (id, role) in TASKS {
        assert_eq!(r.rev(&branch(role, id)), old_tip, "{id}");
    }
    // The edit is in the main worktree only, uncommitted, and the same as a committed start's.
    assert_eq!(
        r.git(&["status", "--porcelain"]).trim(),
        format!("M {}", r.tasks)
    );
    let expected = std::fs::read_to_string(expected_path()).expect("expected file");
    assert_eq!(r.task_file(), expected);
    assert_eq!(r.git(&["show", &format!("main:{}", r.tasks)]), old_text);
}

#[test]
fn second_start_has_nothing_to_start() {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start"]);
    let before = r.snapshot();
    let out = r.run(&["start"]);
    let text = all_output(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Nothing to start"), "{text}");
    assert!(text.contains("already in progress"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
    // Naming a running task explicitly is refused.
    let text = refused(&r.run(&["start", "BACKEND-01"]));
    assert!(
        text.contains("BACKEND-01") && text.contains("in_progress"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn unapproved_checkpoint_blocks_its_dependents() {
    let r = TestRepo::muaththir();
    let before = r.snapshot();
    let out = r.run(&["start"]);
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(
        stdout(&out).contains("Nothing to start"),
        "{}",
        all_output(&out)
    );
    assert!(
        stdout(&out).contains(
            "DEVOPS-01, BACKEND-01, FRONTEND-01 wait for checkpoint ARCH-01 to be approved: git parallel approve ARCH-01"
        ),
        "{}",
        all_output(&out)
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    // Approving it is what makes them start.
    r.ok(&["approve", "ARCH-01"]);
    r.ok(&["start"]);
    assert_eq!(task_branches(&r), expected_branches());
    let r = TestRepo::muaththir();
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "DEVOPS-01"]));
    assert!(
        text.contains("checkpoint ARCH-01 awaits approval"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn explicit_ids_are_checked() {
    let r = TestRepo::muaththir_approved();
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "QA-01"]));
    assert!(
        text.contains("QA-01: depends on FRONTEND-01 (pending)"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    let text = refused(&r.run(&["start", "DEVOPS-01", "NOPE-99"]));
    assert!(text.contains("NOPE-99: no such task"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");

    // A ready one by name starts alone.
    r.ok(&["start", "BACKEND-01"]);
    assert_eq!(task_branches(&r), [branch("backend", "BACKEND-01")]);
    assert_eq!(
        linked_worktrees(&r),
        [(
            r.task_worktree("backend", "BACKEND-01"),
            branch("backend", "BACKEND-01")
        )]
    );
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]).trim(),
        "chore(muaththir): start BACKEND-01"
    );
}

#[test]
fn existing_branch_is_refused() {
    let r = TestRepo::muaththir_approved();
    r.git(&["branch", "feature/muaththir/backend-BACKEND-01"]);
    let before = r.snapshot();
    let text = refused(&r.run(&["start"]));
    assert!(
        text.contains("BACKEND-01: branch feature/muaththir/backend-BACKEND-01 already exists"),
        "{text}"
    );
    assert!(text.contains("nothing was changed"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn existing_worktree_path_is_refused() {
    let r = TestRepo::muaththir_approved();
    let p = r.task_worktree("frontend", "FRONTEND-01");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("notes.txt"), "mine\n").unwrap();
    let before = r.snapshot();
    let text = refused(&r.run(&["start"]));
    assert!(
        text.contains("FRONTEND-01:") && text.contains("already exists"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    assert_eq!(
        std::fs::read_to_string(p.join("notes.txt")).unwrap(),
        "mine\n"
    );
}

/// A task id that cannot be a ref is refused by validation, with file:line:col.
fn assert_invalid_id_refused(bad: &str) {
    let r = TestRepo::muaththir_approved();
    let text = r
        .task_file()
        .replace("id: \"DEVOPS-01\"", &format!("id: \"{bad}\""));
    r.write(&r.tasks, &text);
    r.git(&["commit", "-q", "-am", "bad id"]);
    let line = text
        .lines()
        .position(|l| l.contains(&format!("id: \"{bad}\"")))
        .unwrap()
        + 1;
    let col = text.lines().nth(line - 1).unwrap().find('"').unwrap() + 1;
    let before = r.snapshot();
    let out = refused(&r.run(&["start"]));
    assert!(
        out.contains(&format!("{}:{line}:{col}", r.tasks)),
        "{bad}: no file:line:col in\n{out}"
    );
    assert!(out.contains(bad), "{out}");
    assert_same(&r.snapshot(), &before, "snapshot");
    assert!(task_branches(&r).is_empty());
}

#[test]
fn id_invalid_in_a_ref_is_refused() {
    assert_invalid_id_refused("BAD ID");
    assert_invalid_id_refused("a..b");
}

#[test]
fn modified_task_file_is_refused() {
    let r = TestRepo::muaththir_approved();
    let text = r
        .task_file()
        .replace("# New Product Workflow", "# Edited Product Workflow");
    r.write(&r.tasks, &text);
    let before = r.snapshot();
    let out = refused(&r.run(&["start"]));
    assert!(
        out.contains(&r.tasks) && out.contains("uncommitted changes"),
        "{out}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    assert_eq!(r.task_file(), text);
}

#[test]
fn failing_post_start_hook_rolls_everything_back() {
    let r = TestRepo::muaththir_approved();
    r.git(&["config", "parallel.postStart", "echo hook-said-no; exit 3"]);
    let before = r.snapshot();
    let out = r.run(&["start"]);
    let text = refused(&out);
    assert!(text.contains("hook-said-no"), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
    assert!(!r.base().join("worktrees").exists());
}

#[test]
fn post_start_hook_runs_in_each_worktree() {
    let r = TestRepo::muaththir_approved();
    r.git(&["config", "parallel.postStart", "touch .ready"]);
    r.ok(&["start"]);
    assert_started(&r);
    for (id, role) in TASKS {
        assert!(
            r.task_worktree(role, id).join(".ready").is_file(),
            "{id}: no .ready"
        );
    }
    assert!(!r.path(".ready").exists());
}

#[test]
fn worktreeinclude_files_are_copied() {
    let r = TestRepo::muaththir_approved();
    r.write(".gitignore", ".env\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "ignore .env"]);
    r.write(".env", "SECRET=42\n");
    r.ok(&["start"]);
    assert_started(&r);
    for (id, role) in TASKS {
        let wt = r.task_worktree(role, id);
        assert_eq!(
            std::fs::read_to_string(wt.join(".env")).unwrap(),
            "SECRET=42\n",
            "{id}"
        );
        assert_eq!(r.git_in(&wt, &["status", "--porcelain"]), "", "{id}");
    }
}

#[test]
fn concurrent_starts_leave_one_consistent_result() {
    let r = TestRepo::muaththir_approved();
    let spawn = || {
        r.cmd()
            .arg("start")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let started: Vec<&Output> = outs
        .iter()
        .filter(|o| stdout(o).contains("Started 3 tasks"))
        .collect();
    assert_eq!(
        started.len(),
        1,
        "exactly one start must succeed:\n{}\n---\n{}",
        all_output(&outs[0]),
        all_output(&outs[1])
    );
    assert!(started[0].status.success());
    let other = outs
        .iter()
        .find(|o| !stdout(o).contains("Started 3 tasks"))
        .unwrap();
    let text = all_output(other);
    if other.status.success() {
        assert!(text.contains("Nothing to start"), "{text}");
    } else {
        assert_eq!(other.status.code(), Some(1), "{text}");
        assert!(
            text.contains("another git-parallel is running")
                || text.contains("locked")
                || text.contains("already exists")
                || text.contains("expected"),
            "{text}"
        );
    }
    assert_started(&r);
    assert_eq!(r.git(&["log", "--format=%s", "-1"]).trim(), START_MESSAGE);
    assert_eq!(r.git(&["rev-list", "--count", "main"]).trim(), "3");
    let expected = std::fs::read_to_string(expected_path()).expect("expected file");
    assert_eq!(r.task_file(), expected);
    r.ok(&["validate"]);
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    // No leftover lock or journal: the next command runs.
    let out = r.run(&["start"]);
    assert!(out.status.success(), "{}", all_output(&out));
}

#[test]
fn undo_after_start_restores_the_repository() {
    let r = TestRepo::muaththir_approved();
    r.write(".gitignore", ".env\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "ignore .env"]);
    r.write(".env", "SECRET=42\n");
    let before = r.snapshot();
    r.ok(&["start"]);
    assert_started(&r);
    let out = r.ok(&["undo"]);
    assert!(
        out.contains("start DEVOPS-01, BACKEND-01, FRONTEND-01"),
        "{out}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    // And it can start again, to the same result.
    r.ok(&["start"]);
    assert_started(&r);
    let expected = std::fs::read_to_string(expected_path()).expect("expected file");
    assert_eq!(r.task_file(), expected);
}

#[test]
fn a_hook_failing_in_one_worktree_rolls_back_the_others_despite_their_hook_output() {
    let r = TestRepo::muaththir_approved();
    // Every worktree gets an untracked file from the hook; the last one also fails.
    r.git(&[
        "config",
        "parallel.postStart",
        "touch .ready; case $PWD in *FRONTEND*) exit 1;; esac",
    ]);
    let before = r.snapshot();
    let out = r.run(&["start"]);
    let text = refused(&out);
    assert!(text.contains("nothing was changed"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
    assert!(!r.base().join("worktrees").exists());
}

// repro round2 13
/// The target checked out in a linked worktree (`parallel.target`): start commits on it and
/// brings that worktree along (its task file shows the tasks started, nothing left dirty); the
/// primary worktree and its branch are left alone.
#[test]
fn target_checked_out_in_another_worktree_is_the_one_start_updates() {
    let r = TestRepo::muaththir_approved();
    r.git(&["switch", "-q", "-c", "side"]);
    let side = r.rev("side");
    let elsewhere = r.base().join("main-elsewhere");
    r.git(&["worktree", "add", "-q", elsewhere.to_str().unwrap(), "main"]);
    r.git(&["config", "parallel.target", "main"]);
    r.ok(&["start"]);
    assert_eq!(r.rev("side"), side);
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    assert_eq!(r.git_in(&elsewhere, &["status", "--porcelain"]), "");
    let text = std::fs::read_to_string(elsewhere.join(&r.tasks)).unwrap();
    assert_eq!(
        crate::support::field(&text, "BACKEND-01", "status").as_deref(),
        Some("in_progress")
    );
}

#[test]
fn head_reflog_records_the_start_commit() {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start"]);
    assert_eq!(r.git(&["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    let reflog = r.git(&["reflog", "-1", "--format=%gs", "HEAD"]);
    assert!(
        reflog.contains("git-parallel: chore(muaththir): start DEVOPS-01"),
        "{reflog}"
    );
}

/// A lock whose owner died before it wrote a journal protected nothing: it is taken over, with a
/// note. (With a journal, the command refuses and points at `recover`: see faults.rs.)
#[test]
fn a_stale_lock_without_a_journal_is_taken_over() {
    let r = TestRepo::muaththir_approved();
    let dir = r.root.join(".git/parallel");
    std::fs::create_dir_all(&dir).unwrap();
    // A pid that cannot be running (above the kernel's pid limit).
    std::fs::write(dir.join("lock"), "4194305\nstart\n").unwrap();
    let out = r.run(&["start"]);
    crate::support::assert_ok(&out, &["start"]);
    let text = all_output(&out);
    assert!(text.contains("taking over the lock"), "{text}");
    assert!(text.contains("no longer running"), "{text}");
    assert!(!dir.join("lock").exists());
}

#[test]
fn a_live_lock_is_reported_as_another_run() {
    let r = TestRepo::muaththir_approved();
    let dir = r.root.join(".git/parallel");
    std::fs::create_dir_all(&dir).unwrap();
    // This test process is alive for the whole call.
    std::fs::write(
        dir.join("lock"),
        format!("{}\nfinish\n", std::process::id()),
    )
    .unwrap();
    let text = refused(&r.run(&["start"]));
    assert!(text.contains("another git-parallel is running"), "{text}");
}

/// Progress shows on a terminal only: run under `script` (a pseudo-terminal) and through a pipe.
#[test]
fn progress_shows_on_a_terminal_only() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let r = TestRepo::muaththir_approved();
    // `script` runs the command on a pseudo-terminal, with the test's isolated git environment.
    let env = r.git_cmd(&r.root);
    let mut script = std::process::Command::new("script");
    for (k, v) in env.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let script = script
        .env("TERM", "xterm")
        .current_dir(&r.root)
        .args([
            "-qec",
            &format!("{} start", crate::support::BIN),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&script.stdout);
    assert!(script.status.success(), "{tty}");
    assert!(
        tty.contains("start [1/"),
        "no progress on a terminal:\n{tty}"
    );
    assert!(tty.contains("\x1b[K"), "{tty}");

    let r = TestRepo::muaththir_approved();
    let piped = r.run(&["start"]);
    assert!(!all_output(&piped).contains("start [1/"));
    assert!(!all_output(&piped).contains('\x1b'));
}

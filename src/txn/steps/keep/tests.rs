//! Unit tests of `keep`.

use super::*;

fn tmpdir(name: &str) -> Utf8PathBuf {
    let d = std::env::temp_dir().join(format!("git-parallel-keep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    Utf8PathBuf::from_path_buf(d).expect("utf-8 temp dir")
}

#[test]
fn the_copy_fallback_keeps_files_dirs_and_symlinks_and_is_idempotent() {
    let d = tmpdir("copy");
    let src = d.join("src");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    std::fs::write(src.join("a/b/f"), "data").unwrap();
    std::os::unix::fs::symlink("b/f", src.join("a/link")).unwrap();
    let dst = d.join("kept/src");
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    copy_into_place(src.as_std_path(), dst.as_std_path()).unwrap();
    remove_any(src.as_std_path()).unwrap();
    assert_eq!(std::fs::read_to_string(dst.join("a/b/f")).unwrap(), "data");
    assert_eq!(
        std::fs::read_link(dst.join("a/link")).unwrap().to_str(),
        Some("b/f")
    );
    // A re-run (the source gone, the copy there) does nothing.
    move_path(src.as_std_path(), dst.as_std_path()).unwrap();
    assert!(dst.join("a/b/f").exists());
    // Moving back merges into what exists.
    let wt = d.join("wt");
    std::fs::create_dir_all(wt.join("src/a")).unwrap();
    std::fs::write(wt.join("src/a/other"), "x").unwrap();
    ignored_restore(&wt, &d.join("kept")).unwrap();
    assert_eq!(
        std::fs::read_to_string(wt.join("src/a/b/f")).unwrap(),
        "data"
    );
    assert!(wt.join("src/a/other").exists());
    assert!(!d.join("kept").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_step_round_trips_through_the_journal_format() {
    let step = Step::Keep(Keep::IgnoredMove {
        worktree: "/w".into(),
        dir: "/d".into(),
        skip: vec![".env".into()],
        regenerable: vec!["target".into()],
    });
    let text = serde_json::to_string(&step).unwrap();
    assert!(text.contains("\"type\":\"keep\""), "{text}");
    let back: Step = serde_json::from_str(&text).unwrap();
    assert_eq!(back, step);
}

#[test]
fn a_journal_written_before_regenerable_reads_with_none() {
    let old = r#"{"type":"keep","op":"ignored_move","worktree":"/w","dir":"/d"}"#;
    let step: Step = serde_json::from_str(old).unwrap();
    assert_eq!(
        step,
        Step::Keep(Keep::IgnoredMove {
            worktree: "/w".into(),
            dir: "/d".into(),
            skip: Vec::new(),
            regenerable: Vec::new(),
        })
    );
}

#[test]
fn a_move_leaves_the_regenerable_paths_inside_a_kept_directory() {
    let d = tmpdir("except");
    let wt = d.join("wt");
    std::fs::create_dir_all(wt.join("cache/py/__pycache__")).unwrap();
    std::fs::write(wt.join("cache/py/__pycache__/m.pyc"), "b").unwrap();
    std::fs::write(wt.join("cache/py/notes"), "mine").unwrap();
    std::fs::write(wt.join("cache/todo"), "mine too").unwrap();
    let kept = d.join("kept");
    let regen = vec!["cache/py/__pycache__".to_string()];
    move_except(&wt, &kept, "cache", &regen).unwrap();
    assert_eq!(
        std::fs::read_to_string(kept.join("cache/py/notes")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(kept.join("cache/todo")).unwrap(),
        "mine too"
    );
    assert!(!kept.join("cache/py/__pycache__").exists());
    assert!(
        wt.join("cache/py/__pycache__/m.pyc").exists(),
        "left for the removal"
    );
    // Idempotent: a re-run after a kill moves what is left, nothing twice.
    move_except(&wt, &kept, "cache", &regen).unwrap();
    assert!(kept.join("cache/todo").exists());
    let _ = std::fs::remove_dir_all(&d);
}

//! Unit tests of finish's report: its text and its `--json` fields.

use super::*;

fn finished(keep: bool) -> Finished {
    Finished {
        target: "main".into(),
        old_tip: "1111111111aa".into(),
        new_tip: "2222222222bb".into(),
        tested: Some("make test".into()),
        merged: vec![
            MergedTask {
                id: "API-01".into(),
                branch: "feature/p/backend-API-01".into(),
                commits: 2,
                files_changed: 1,
                merge_commit: Some("3333333".into()),
                worktree_removed: !keep,
                branch_deleted: !keep,
            },
            MergedTask {
                id: "QA".into(),
                branch: "feature/p/qa-QA".into(),
                commits: 0,
                files_changed: 0,
                merge_commit: Some("2222222".into()),
                worktree_removed: !keep,
                branch_deleted: !keep,
            },
        ],
        conflicts: Vec::new(),
        test_failures: Vec::new(),
        skipped: Vec::new(),
        keep,
        kept_lines: vec!["Kept 1 ignored path of wt (.env) in d".into()],
        out: Output {
            json: false,
            quiet: false,
            color: false,
            color_err: false,
        },
    }
}

#[test]
fn text_lists_the_merges_then_the_target_and_the_kept_files() {
    let r = FinishReport::Finished(finished(true));
    assert_eq!(
        r.to_string(),
        "Merged 2 tasks into main:\n  \
         API-01  feature/p/backend-API-01  2 commits, 1 file changed\n  \
         QA      feature/p/qa-QA           nothing to merge (produces no files): completed\n\
         Test `make test` passed on the merged result.\n\
         main is now at 2222222222 (was 1111111111).\n\
         Kept 1 ignored path of wt (.env) in d\n"
    );
    assert_eq!(r.json_notes().len(), 1);
}

#[test]
fn json_keeps_field_names_and_order() {
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let v = report::envelope("finish", FinishReport::Finished(finished(false)));
    assert_eq!(
        keys(&v),
        [
            "version",
            "command",
            "target",
            "old_tip",
            "new_tip",
            "tested",
            "merged",
            "conflicts",
            "test_failures",
            "skipped"
        ]
    );
    assert_eq!(v["merged"][0]["branch_deleted"], true);
    let nothing = FinishReport::Nothing(NothingFinished {
        merged: [],
        skipped: vec![Skipped {
            id: "A".into(),
            reason: "why".into(),
        }],
    });
    let v = report::envelope("finish", nothing);
    assert_eq!(keys(&v), ["version", "command", "merged", "skipped"]);
    assert_eq!(v["merged"], serde_json::json!([]));
    assert_eq!(v["skipped"][0]["reason"], "why");
}

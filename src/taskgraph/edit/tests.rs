//! Unit tests of format-preserving edits.

use super::*;
use crate::taskgraph::fixtures;
use camino::Utf8Path;

fn file(src: &str) -> TaskFile {
    TaskFile::parse(Utf8Path::new("t.yml"), src.to_string()).unwrap()
}

fn changed_lines(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    // Lines of `b` not in `a`, lines of `a` not in `b`, by multiset difference.
    let mut removed: Vec<String> = a.lines().map(str::to_string).collect();
    let mut added = Vec::new();
    for l in b.lines() {
        if let Some(i) = removed.iter().position(|x| x == l) {
            removed.remove(i);
        } else {
            added.push(l.to_string());
        }
    }
    (added, removed)
}

#[test]
fn keeps_quote_styles() {
    let src = "metadata:\n  updated_at: '2026'\ntasks:\n- id: a\n  status: \"pending\" # c\n  name: plain\n";
    let f = file(src);
    let out = f
        .apply_edits(&[
            Edit::task("a", "status", "in_progress"),
            Edit::task("a", "name", "it's: odd"),
            Edit::metadata("updated_at", "x'y"),
        ])
        .unwrap();
    assert_eq!(
        out,
        "metadata:\n  updated_at: 'x''y'\ntasks:\n- id: a\n  status: \"in_progress\" # c\n  name: \"it's: odd\"\n"
    );
}

#[test]
fn inserts_after_block_scalar_before_comments() {
    let src = "tasks:\n  - id: \"a\"\n    status: \"pending\"\n    description: |\n      one\n      two\n\n  # next\n  - id: b\n";
    let f = file(src);
    let out = f
        .apply_edits(&[
            Edit::task("a", "started_at", "2026-01-01T00:00:00Z"),
            Edit::task("a", "retry_count", 2i64),
            Edit::task("b", "assigned_to", "me"),
        ])
        .unwrap();
    assert_eq!(
        out,
        "tasks:\n  - id: \"a\"\n    status: \"pending\"\n    description: |\n      one\n      two\n    started_at: \"2026-01-01T00:00:00Z\"\n    retry_count: 2\n\n  # next\n  - id: b\n    assigned_to: \"me\"\n"
    );
}

#[test]
fn fills_empty_value_and_null() {
    let src = "tasks:\n- id: a\n  started_at:\n  result: done\n";
    let f = file(src);
    let out = f
        .apply_edits(&[
            Edit::task("a", "started_at", "now"),
            Edit::task("a", "result", Scalar::Null),
        ])
        .unwrap();
    assert_eq!(out, "tasks:\n- id: a\n  started_at: now\n  result: null\n");
}

#[test]
fn plain_unsafe_values_get_quoted() {
    let src = "tasks:\n- id: a\n  result: x\n";
    let f = file(src);
    for (v, want) in [
        ("true", "\"true\""),
        ("12", "\"12\""),
        ("", "\"\""),
        ("a\nb", "\"a\\nb\""),
        ("#x", "\"#x\""),
    ] {
        let out = f.apply_edits(&[Edit::task("a", "result", v)]).unwrap();
        assert_eq!(out, format!("tasks:\n- id: a\n  result: {want}\n"));
    }
}

#[test]
fn crlf_files_keep_crlf() {
    let f = file("tasks:\r\n- id: a\r\n  status: pending\r\n");
    let out = f
        .apply_edits(&[
            Edit::task("a", "status", "ready"),
            Edit::task("a", "started_at", "now"),
        ])
        .unwrap();
    assert_eq!(
        out,
        "tasks:\r\n- id: a\r\n  status: ready\r\n  started_at: now\r\n"
    );
}

#[test]
fn cr_only_files_keep_cr() {
    let src = "metadata:\r  product: demo\rtasks:\r  - id: A\r    agent: x\r    status: pending\r  - id: B\r    status: pending\r";
    let f = file(src);
    let out = f
        .apply_edits(&[
            Edit::task("A", "status", "in_progress"),
            Edit::task("A", "started_at", "now"),
            Edit::metadata("updated_at", "t"),
        ])
        .unwrap();
    assert_eq!(
        out,
        "metadata:\r  product: demo\r  updated_at: t\rtasks:\r  - id: A\r    agent: x\r    status: in_progress\r    started_at: now\r  - id: B\r    status: pending\r"
    );
    assert!(!out.contains('\n'));
}

#[test]
fn bom_is_kept_and_positions_are_right() {
    let src = "\u{feff}metadata:\n  product: demo\ntasks:\n  - id: A\n    status: pending\n";
    let f = file(src);
    assert_eq!(f.location_of_task("A"), "t.yml:4:9");
    let out = f
        .apply_edits(&[Edit::task("A", "status", "in_progress")])
        .unwrap();
    assert_eq!(out, src.replace("pending", "in_progress"));
    assert!(out.starts_with('\u{feff}'));
}

#[test]
fn flow_mapping_task() {
    let src = "tasks:\n- {id: a, status: pending}\n";
    let f = file(src);
    let out = f
        .apply_edits(&[Edit::task("a", "status", "in_progress")])
        .unwrap();
    assert_eq!(out, "tasks:\n- {id: a, status: in_progress}\n");
    let e = f
        .apply_edits(&[Edit::task("a", "started_at", "x")])
        .unwrap_err();
    assert!(e.to_string().contains("flow mapping"), "{e}");
}

#[test]
fn replaces_block_scalar() {
    let src = "tasks:\n- id: a\n  result: |\n    long\n    text\n  status: done\n";
    let f = file(src);
    let out = f
        .apply_edits(&[Edit::task("a", "result", "short")])
        .unwrap();
    assert_eq!(out, "tasks:\n- id: a\n  result: short\n  status: done\n");
}

#[test]
fn no_trailing_newline_and_unknown_targets() {
    let f = file("tasks:\n- id: a\n  name: n");
    let out = f
        .apply_edits(&[Edit::task("a", "status", "ready")])
        .unwrap();
    assert_eq!(out, "tasks:\n- id: a\n  name: n\n  status: ready");
    assert!(f
        .apply_edits(&[Edit::task("zz", "status", "ready")])
        .is_err());
    // No metadata yet: a `metadata:` section is added before `tasks:`.
    let out = f
        .apply_edits(&[
            Edit::metadata("updated_at", "2026-01-01"),
            Edit::metadata("version", "1"),
            Edit::task("a", "status", "done"),
        ])
        .unwrap();
    assert_eq!(
        out,
        "metadata:\n  updated_at: \"2026-01-01\"\n  version: \"1\"\ntasks:\n- id: a\n  name: n\n  status: done"
    );
}

#[test]
fn replaces_collections_whole_and_refuses_aliases() {
    let f = file("tasks:\n- id: a\n  result: [1, 2]\n  name: &n x\n");
    let out = f.apply_edits(&[Edit::task("a", "result", "x")]).unwrap();
    assert_eq!(out, "tasks:\n- id: a\n  result: x\n  name: &n x\n");
    assert!(f.apply_edits(&[Edit::task("a", "name", "y")]).is_err());
    // A block mapping (a `result` written by hand) becomes the new value on the key's line.
    let f = file("tasks:\n- id: a\n  result:\n    status: failure\n    message: m\n  name: n\n");
    let map = Scalar::Map(vec![
        ("status".into(), Scalar::from("success")),
        (
            "artifacts_created".into(),
            Scalar::List(vec![Scalar::from("a/b.rs")]),
        ),
        ("cost".into(), Scalar::number(0.25)),
    ]);
    let out = f.apply_edits(&[Edit::task("a", "result", map)]).unwrap();
    assert_eq!(
        out,
        "tasks:\n- id: a\n  result: {status: success, artifacts_created: [a/b.rs], cost: 0.25}\n  name: n\n"
    );
    // And back to null (retry).
    let f = file(&out);
    let out = f
        .apply_edits(&[Edit::task("a", "result", Scalar::Null)])
        .unwrap();
    assert_eq!(out, "tasks:\n- id: a\n  result: null\n  name: n\n");
}

#[test]
fn fixtures_edit_only_intended_lines() {
    for (p, s) in fixtures::graphs() {
        let f = TaskFile::parse(&p, s.clone()).unwrap();
        let n = f.graph.tasks.len();
        let (first, mid, last) = (
            f.graph.tasks[0].id.clone(),
            f.graph.tasks[n / 2].id.clone(),
            f.graph.tasks[n - 1].id.clone(),
        );
        let edits = vec![
            Edit::task(&mid, "status", "in_progress"),
            Edit::task(&mid, "started_at", "2026-03-01T10:00:00Z"),
            Edit::task(&mid, "assigned_to", "worker 1"),
            Edit::task(&first, "approved_at", "2026-03-01T09:00:00Z"),
            Edit::task(&last, "retry_count", 3i64),
            Edit::task(&last, "status", "failed"),
            Edit::metadata("updated_at", "2026-03-01T10:00:00Z"),
        ];
        let out = f
            .apply_edits(&edits)
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        let (added, removed) = changed_lines(&s, &out);
        // Replaced lines: status x2, updated_at; inserted: started_at, assigned_to,
        // approved_at (unless present), retry_count.
        assert_eq!(removed.len(), 3, "{p}: removed {removed:#?}");
        assert_eq!(added.len(), 7, "{p}: added {added:#?}");
        assert!(
            added
                .iter()
                .all(|l| EDITED_KEYS.iter().any(|k| l.trim_start().starts_with(k))),
            "{p}: {added:#?}"
        );
        // Line-by-line: the non-edited lines are byte-identical and in the same order.
        let keep = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !EDITED_KEYS.iter().any(|k| l.trim_start().starts_with(k)))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(keep(&s), keep(&out), "{p}");
        assert_edits_read_back(&p, out, [&first, &mid, &last]);
    }
}

/// The keys `fixtures_edit_only_intended_lines` edits.
const EDITED_KEYS: [&str; 6] = [
    "status:",
    "started_at:",
    "assigned_to:",
    "approved_at:",
    "retry_count:",
    "updated_at:",
];

/// Re-reads the edited fixture and checks each edited value and the new keys' indentation.
fn assert_edits_read_back(p: &camino::Utf8Path, out: String, [first, mid, last]: [&str; 3]) {
    let g = TaskFile::parse(p, out).unwrap();
    let t = g.task(mid).unwrap();
    assert_eq!(t.status, super::super::Status::InProgress);
    assert_eq!(t.started_at.as_deref(), Some("2026-03-01T10:00:00Z"));
    assert_eq!(t.assigned_to.as_deref(), Some("worker 1"));
    assert_eq!(
        g.task(first).unwrap().approved_at.as_deref(),
        Some("2026-03-01T09:00:00Z")
    );
    assert_eq!(g.task(last).unwrap().retry_count, 3);
    assert_eq!(g.task(last).unwrap().status, super::super::Status::Failed);
    assert_eq!(
        g.index
            .value
            .get("metadata")
            .and_then(|m| m.get("updated_at"))
            .and_then(Value::as_str),
        Some("2026-03-01T10:00:00Z")
    );
    // Inserted keys are indented like their siblings.
    let ind = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .map(|l| l.len() - l.trim_start().len())
    };
    let out2 = &g.source;
    assert_eq!(ind(out2, "started_at:"), ind(out2, "assigned_to:"));
}

#[test]
fn removes_whole_key_lines_and_keeps_the_rest() {
    let src = "tasks:\n  - id: a\n    status: in_progress\n    started_at: \"t\" # when\n    assigned_to: x\n  - id: b\n    started_at: null\n";
    let f = file(src);
    let out = f
        .remove_task_keys(&[("a", "started_at"), ("a", "assigned_to"), ("a", "nope")])
        .unwrap();
    assert_eq!(
        out,
        "tasks:\n  - id: a\n    status: in_progress\n  - id: b\n    started_at: null\n"
    );
    // CRLF, last line without a line break.
    let f = file("tasks:\r\n- id: a\r\n  started_at: t\r\n  assigned_to: x");
    let out = f
        .remove_task_keys(&[("a", "assigned_to"), ("a", "started_at")])
        .unwrap();
    assert_eq!(out, "tasks:\r\n- id: a\r\n");
}

#[test]
fn refuses_keys_it_cannot_remove_as_a_line() {
    // First key of a sequence item, a block scalar, a flow mapping, an unknown task.
    let f = file(
        "tasks:\n- started_at: t\n  id: a\n  assigned_to: |\n    x\n- {id: b, started_at: t}\n",
    );
    assert!(f.remove_task_keys(&[("a", "started_at")]).is_err());
    assert!(f.remove_task_keys(&[("a", "assigned_to")]).is_err());
    assert!(f.remove_task_keys(&[("b", "started_at")]).is_err());
    assert!(f.remove_task_keys(&[("zz", "started_at")]).is_err());
}

#[test]
fn status_edit_spells_the_status_as_task_files_do() {
    for s in crate::taskgraph::Status::ALL {
        assert_eq!(Edit::status("a", s), Edit::task("a", "status", s.as_str()));
    }
    assert_eq!(
        Edit::status("a", crate::taskgraph::Status::InProgress).value,
        Scalar::Str("in_progress".into())
    );
}

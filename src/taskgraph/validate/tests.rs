//! Unit tests of the validation checks.

use super::*;
use crate::taskgraph::{fixtures, names};
use camino::Utf8Path;

fn findings(src: &str) -> Vec<Finding> {
    TaskFile::parse(Utf8Path::new("t.yml"), src.to_string())
        .unwrap()
        .validate()
}

/// The single finding with `code`: (message, line, col).
fn one(src: &str, code: &str) -> (String, usize, usize) {
    let f = findings(src);
    let hits: Vec<_> = f.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        hits.len(),
        1,
        "{code}: {:#?}",
        f.iter().map(|f| (&f.code, &f.message)).collect::<Vec<_>>()
    );
    (hits[0].message.clone(), hits[0].line, hits[0].col)
}

#[test]
fn fixtures_have_no_errors() {
    for (p, s) in fixtures::graphs() {
        let f = TaskFile::parse(&p, s).unwrap();
        let errs: Vec<_> = f
            .validate()
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{:?}", f.report))
            .collect();
        assert!(errs.is_empty(), "{p}:\n{}", errs.join("\n"));
    }
}

#[test]
fn duplicate_id() {
    let src = "tasks:\n- id: A\n- id: B\n- id: \"A\"\n";
    assert_eq!(
        one(src, "taskgraph::duplicate-id"),
        ("duplicate task id `A`".into(), 4, 7)
    );
    let f = findings(src);
    let r = format!("{:?}", f[0].report);
    assert!(
        r.contains("first defined here") && r.contains("used again here"),
        "{r}"
    );
    assert!(r.contains("give each task a unique id"), "{r}");
}

#[test]
fn unknown_dependency() {
    let src = "tasks:\n- id: API-01\n- id: B\n  depends_on: [API-1]\n";
    let (m, l, c) = one(src, "taskgraph::unknown-dependency");
    assert_eq!(
        (m.as_str(), l, c),
        ("`depends_on` names unknown task `API-1`", 4, 16)
    );
    let r = format!("{:?}", findings(src)[0].report);
    assert!(r.contains("did you mean `API-01`?"), "{r}");
    assert!(r.contains("t.yml:4:16"), "{r}");
}

#[test]
fn cycle() {
    let src = "tasks:\n- id: A\n  depends_on: [C]\n- id: B\n  depends_on:\n    - A\n- id: C\n  depends_on: [B]\n- id: D\n  depends_on: [D]\n";
    let f = findings(src);
    let cycles: Vec<_> = f.iter().filter(|f| f.code == "taskgraph::cycle").collect();
    assert_eq!(cycles.len(), 2);
    let mut got: Vec<_> = cycles
        .iter()
        .map(|f| (f.message.as_str(), f.line, f.col))
        .collect();
    got.sort_by_key(|g| g.1);
    assert_eq!(
        got,
        [
            ("dependency cycle: A → C → B → A", 3, 16),
            ("dependency cycle: D → D", 10, 16)
        ]
    );
}

#[test]
fn unknown_status() {
    let src = "tasks:\n- id: A\n  status: done\n";
    let (m, l, c) = one(src, "taskgraph::unknown-status");
    assert_eq!((m.as_str(), l, c), ("unknown status `done`", 3, 11));
    let help = findings(src)[0].report.help().map(|h| h.to_string());
    assert_eq!(
        help.as_deref(),
        Some("use one of: pending, ready, in_progress, completed, failed, blocked, skipped")
    );
}

#[test]
fn merge_keys_are_refused() {
    let src = "metadata:\n  product: demo\nbase: &b\n  agent: backend-engineer\ntasks:\n  - <<: *b\n    id: A\n    status: pending\n";
    let (m, l, c) = one(src, "taskgraph::merge-key");
    assert_eq!(
        (m.as_str(), l, c),
        ("YAML merge keys (`<<`) are not supported", 6, 5)
    );
    // A quoted "<<" is an ordinary key.
    assert!(findings("tasks:\n  - id: A\n    \"<<\": x\n").is_empty());
}

#[test]
fn invalid_ids() {
    for bad in [
        "a b", "a..b", "-a", ".a", "a.", "a.lock", "a/b", "a~", "a^", "a:b", "a?", "a*", "a[",
        "a\\\\b", "a@{b", "\"\"",
    ] {
        let src = format!(
            "tasks:\n- name: x\n  id: {}\n",
            if bad.starts_with('"') {
                bad.to_string()
            } else {
                format!("\"{bad}\"")
            }
        );
        let (m, l, c) = one(&src, "taskgraph::invalid-id");
        assert!(m.contains("cannot be used as a git branch name"), "{m}");
        assert_eq!((l, c), (3, 7), "{bad}");
    }
    assert!(names::problem(NameKind::Id, "API-01_x").is_none());
    assert!(names::problem(NameKind::Id, "a\u{7f}").is_some());
}

#[test]
fn unsafe_agent_product_and_escapes_in_messages() {
    let src = "metadata:\n  product: \"demo\\e[2J\"\ntasks:\n  - id: \"T\\u202e1gpj.exe\"\n    agent: \"dev\\e]0;owned\\a\"\n  - id: ok\n    agent: \"-rf\"\n  - id: \"a|b>c$(x)`y`\"\n    agent: dev\n";
    let f = findings(src);
    let got: Vec<_> = f.iter().map(|f| (f.code, f.line, f.col)).collect();
    assert_eq!(
        got,
        [
            ("taskgraph::invalid-name", 2, 12),
            ("taskgraph::invalid-id", 4, 9),
            ("taskgraph::invalid-name", 5, 12),
            ("taskgraph::invalid-name", 7, 12),
            ("taskgraph::invalid-id", 8, 9),
        ]
    );
    for x in &f {
        let rendered = format!("{:?}", x.report);
        assert!(
            !rendered.contains(['\x1b', '\x07', '\u{202e}']),
            "raw control in {rendered:?}"
        );
    }
    assert!(f[1].message.contains("\\u{202e}"), "{}", f[1].message);
    let long = format!("tasks:\n- id: T1\n  agent: {}\n", "a".repeat(10_000));
    let (m, l, c) = one(&long, "taskgraph::invalid-name");
    assert!(m.len() < 300, "{m}");
    assert!(m.contains("10000 characters long (at most 64"), "{m}");
    assert_eq!((l, c), (3, 10));
    let long_id = format!("tasks:\n- id: {}\n", "i".repeat(101));
    let (m, _, _) = one(&long_id, "taskgraph::invalid-id");
    assert!(m.contains("101 characters long (at most 100"), "{m}");
}

#[test]
fn non_string_id_and_missing_id() {
    let (m, l, c) = one("tasks:\n- id: 12\n", "taskgraph::id-not-string");
    assert_eq!(
        (m.as_str(), l, c),
        ("task id must be a string, found a number", 2, 7)
    );
    let (m, l, c) = one("tasks:\n- id: a\n-   name: x\n", "taskgraph::missing-id");
    assert_eq!((m.as_str(), l, c), ("task #2 has no `id`", 3, 5));
}

#[test]
fn unsafe_paths() {
    let src = "tasks:\n- id: A\n  produces:\n  - name: x\n    path: /etc/passwd\n  shared_files: [ok/file, \"a/../../b\", '#{PR}']\n";
    let long = format!(
        "tasks:\n- id: A\n  shared_files: [\"{}\", \"a\\e[2J\"]\n",
        "d/".repeat(600)
    );
    let got: Vec<_> = findings(&long)
        .iter()
        .map(|f| (f.code, f.message.len() < 300, f.col))
        .collect();
    assert_eq!(
        got,
        [
            ("taskgraph::unsafe-path", true, 18),
            ("taskgraph::unsafe-path", true, 1222)
        ]
    );
    let f = findings(src);
    let got: Vec<_> = f
        .iter()
        .filter(|f| f.code == "taskgraph::unsafe-path")
        .map(|f| (f.message.as_str(), f.line, f.col))
        .collect();
    assert_eq!(
        got,
        [
            (
                "path `/etc/passwd` is not inside the repository: it is absolute",
                5,
                11
            ),
            (
                "path `a/../../b` is not inside the repository: it leaves the repository (`..`)",
                6,
                27
            ),
        ]
    );
}

#[test]
fn wrong_types() {
    let src = "tasks:\n- id: A\n  parallel_ok: \"yes\"\n  depends_on: B\n  estimated_time_minutes: -3\n  name: [x]\n  shared_files: [1]\n  produces: [x]\n";
    let f = findings(src);
    let got: Vec<_> = f
        .iter()
        .filter(|f| f.code == "taskgraph::wrong-type")
        .map(|f| (f.message.as_str(), f.line, f.col))
        .collect();
    assert_eq!(
        got,
        [
            (
                "`parallel_ok` must be `true` or `false`, found a string",
                3,
                16
            ),
            (
                "`estimated_time_minutes` must be a whole number of 0 or more, found a number",
                5,
                27
            ),
            ("`name` must be a single value, found a list", 6, 9),
            (
                "every entry of `shared_files` must be a string, found a number",
                7,
                18
            ),
        ]
    );
    // Unambiguous liberal forms are notes, not errors.
    let notes: Vec<_> = f
        .iter()
        .filter(|f| f.severity == Severity::Note)
        .map(|f| (f.code, f.line, f.col))
        .collect();
    assert_eq!(
        notes,
        [
            ("taskgraph::single-value-list", 4, 15),
            ("taskgraph::path-artifact", 8, 13)
        ]
    );
    let (m, _, _) = one(
        "tasks:\n- id: A\n  produces: [1]\n",
        "taskgraph::wrong-type",
    );
    assert_eq!(
        m,
        "every entry of `produces` must be a mapping or a path, found a number"
    );
    let (m, l, c) = one("metadata: [1]\ntasks: []\n", "taskgraph::wrong-type");
    assert_eq!(
        (m.as_str(), l, c),
        ("`metadata` must be a mapping, found a list", 1, 11)
    );
}

#[test]
fn consumes_warnings() {
    let src = "tasks:\n- id: A\n  produces:\n  - name: PRD\n    path: a.md\n- id: B\n  depends_on: [A]\n  consumes:\n  - name: Spec\n    required_from_task: A\n";
    let f = findings(src);
    assert!(f.iter().all(|f| f.severity == Severity::Warning));
    let (m, l, c) = one(src, "taskgraph::consume-not-produced");
    assert_eq!(
        (m.as_str(), l, c),
        ("task `A` does not produce an artifact named `Spec`", 9, 11)
    );
    let src2 = "tasks:\n- id: A\n  produces: [{name: P}]\n- id: B\n  depends_on: [A]\n- id: C\n  depends_on: [B]\n  consumes:\n  - {name: P, required_from_task: A}\n- id: D\n  consumes:\n  - {name: P, required_from_task: A}\n  - {name: Q, required_from_task: NOPE}\n";
    let f2 = findings(src2);
    let got: Vec<_> = f2.iter().map(|f| (f.code, f.line, f.col)).collect();
    assert_eq!(
        got,
        [
            ("taskgraph::consume-without-dependency", 12, 35),
            ("taskgraph::consume-unknown-task", 13, 35),
        ]
    );
    let r = format!("{:?}", f[0].report);
    assert!(r.contains("`A` produces: PRD"), "{r}");
}

#[test]
fn non_ascii_columns() {
    let src = "tasks:\n- id: A\n  name: \"✅ é\"\n  depends_on: [\"✅\", Z]\n";
    let f = findings(src);
    let pos: Vec<_> = f.iter().map(|f| (f.line, f.col)).collect();
    assert_eq!(pos, [(4, 16), (4, 21)]);
}

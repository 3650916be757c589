//! Property tests with fixed seeds (a small xorshift generator, no extra crate): parse,
//! validate, schedule and edit mutated fixtures (truncations, byte flips, inserted YAML
//! punctuation, unsafe characters, BOM and line-end changes, liberal forms) and generated junk.
//! Every step must return, not panic; every successful status edit must change only the
//! status value (every other byte kept). The fixtures are the real corpus graphs.

use camino::Utf8Path;

use super::{fixtures, schedule, Edit, Scalar, Status, TaskFile};

/// Small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Everything a caller might do with a file; must not panic.
fn exercise(text: String) {
    exercise_with(text, true);
}

/// `exercise`; `check_edit`: also check that a status edit stays local (the costly part).
fn exercise_with(text: String, check_edit: bool) {
    let Ok(f) = TaskFile::parse(Utf8Path::new("fuzz.yml"), text) else {
        return;
    };
    for finding in f.validate() {
        let _ = format!("{:?}", finding.report);
    }
    let g = &f.graph;
    let _ = schedule::select(g);
    let _ = schedule::select_capped(g, Some(2));
    let waves = schedule::waves_capped(g, None);
    let _ = schedule::waves_capped(g, Some(1));
    let _ = schedule::critical_path(g);
    let _ = schedule::parallel_minutes(g, &waves);
    let _ = schedule::check_explicit(g, &[0, 1, 2, 99]);
    for i in 0..g.tasks.len().min(3) {
        let _ = schedule::blockers(g, i);
    }
    if check_edit {
        check_status_edit(&f, g.tasks.len() / 2);
    }
    if let Some(t) = g.tasks.first() {
        let id = t.id.clone();
        let _ = f.location_of_task(&id);
        let edits = [
            Edit::task(&id, "status", "in_progress"),
            Edit::task(&id, "started_at", "2026-01-01T00:00:00Z"),
            Edit::task(&id, "retry_count", 1i64),
            Edit::task(&id, "result", Scalar::Null),
            Edit::metadata("updated_at", "2026-01-01T00:00:00Z"),
        ];
        if let Ok(out) = f.apply_edits(&edits) {
            // A successful edit must re-load.
            assert!(
                TaskFile::parse(Utf8Path::new("fuzz.yml"), out.clone()).is_ok(),
                "edited text does not parse:\n{out}"
            );
        }
    }
}

/// Setting one task's status changes exactly that value: the text before and after the old
/// value is kept byte for byte (or, when the key was missing, one line is inserted and nothing
/// else changes), and the result re-parses with the new status.
fn check_status_edit(f: &TaskFile, i: usize) {
    let Some(task) = f.graph.tasks.get(i) else {
        return;
    };
    if f.index_of(&task.id) != Some(i) {
        return; // a duplicate id: edits address the first
    }
    let new = if task.status == Status::InProgress {
        "failed"
    } else {
        "in_progress"
    };
    let Ok(out) = f.apply_edits(&[Edit::task(&task.id, "status", new)]) else {
        return; // refusing is allowed (aliases, flow mappings, ...); changing more is not
    };
    let src = f.source.as_str();
    let again = TaskFile::parse(Utf8Path::new("fuzz.yml"), out.clone())
        .unwrap_or_else(|e| panic!("edited text does not parse: {e:?}\n{out}"));
    assert_eq!(
        again.graph.tasks.get(i).map(|t| t.status),
        Some(new.parse().unwrap()),
        "{out}"
    );
    let node = f.index.tasks().get(i).and_then(|n| n.get("status"));
    match node {
        Some(v) if !v.is_empty_plain() => {
            let (start, end) = (v.start.byte, v.end);
            assert!(
                out.starts_with(&src[..start]) && out.ends_with(&src[end..]),
                "bytes outside the status value changed:\n--- before\n{src}\n--- after\n{out}"
            );
        }
        _ => {
            let prefix = src
                .bytes()
                .zip(out.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let suffix = src
                .bytes()
                .rev()
                .zip(out.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count();
            assert!(
                prefix + suffix >= src.len(),
                "more than an insertion:\n--- before\n{src}\n--- after\n{out}"
            );
        }
    }
}

#[test]
fn corpus_status_edits_keep_every_other_byte() {
    for (p, src) in fixtures::graphs() {
        let f = TaskFile::parse(&p, src.clone()).unwrap();
        // Every task's status at once: the result is the source with exactly those values
        // replaced (in the same quoting).
        let mut edits = Vec::new();
        let mut expected = String::new();
        let mut at = 0;
        for (t, node) in f.graph.tasks.iter().zip(f.index.tasks()) {
            let Some(v) = node.get("status").filter(|v| !v.is_empty_plain()) else {
                continue;
            };
            let new = if t.status == Status::Completed {
                "failed"
            } else {
                "completed"
            };
            edits.push(Edit::task(&t.id, "status", new));
            let q = match src.as_bytes()[v.start.byte] {
                q @ (b'"' | b'\'') => (q as char).to_string(),
                _ => String::new(),
            };
            expected.push_str(&src[at..v.start.byte]);
            expected.push_str(&format!("{q}{new}{q}"));
            at = v.end;
        }
        expected.push_str(&src[at..]);
        assert!(edits.len() >= 5, "{p}");
        let out = f
            .apply_edits(&edits)
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        assert!(
            out == expected,
            "{p}: the edit changed more than the status values"
        );
        check_status_edit(&f, f.graph.tasks.len() - 1);
        // The same with other line ends and a BOM.
        for (bom, nl) in [
            ("\u{feff}", "\n"),
            ("", "\r\n"),
            ("", "\r"),
            ("\u{feff}", "\r\n"),
        ] {
            let text = format!("{bom}{}", src.replace('\n', nl));
            let f = TaskFile::parse(&p, text).unwrap_or_else(|e| panic!("{p} {nl:?}: {e:?}"));
            let n = f.graph.tasks.len();
            for i in [0, n / 2, n.saturating_sub(1)] {
                check_status_edit(&f, i);
            }
        }
    }
}

/// Mutations that keep the text plausible: unsafe characters in values, BOM and line ends,
/// liberal forms, long values.
const VALUE_MUTATIONS: &[(&str, &str)] = &[
    ("agent: ", "agent: \"\\e]0;x\\a\""),
    ("id: ", "id: \"\\u202e"),
    ("name: ", "name: \"\\u200b\\x9b\" #"),
    ("depends_on: [", "depends_on: "),
    ("- name: ", "- "),
    ("status: ", "status: \r"),
    ("\n", "\r\n"),
    ("\n", "\r"),
    ("product: ", "product: -"),
    ("agent: ", "agent: ../"),
    ("id: ", "id: &a "),
    ("agent: ", "<<: *a\n    agent: "),
];

#[test]
fn value_mutations_never_panic_and_edits_stay_local() {
    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    for (_, src) in fixtures::graphs() {
        for _ in 0..25 {
            let mut text = src.clone();
            for _ in 0..1 + rng.below(3) {
                let (from, to) = VALUE_MUTATIONS[rng.below(VALUE_MUTATIONS.len())];
                let hits: Vec<usize> = text.match_indices(from).map(|(i, _)| i).collect();
                if hits.is_empty() {
                    continue;
                }
                let at = hits[rng.below(hits.len())];
                text.replace_range(at..at + from.len(), to);
            }
            if rng.below(4) == 0 {
                text.insert(0, '\u{feff}');
            }
            if rng.below(6) == 0 {
                let at = text.find("name: ").unwrap_or(0);
                text.insert_str(at, &format!("name: {}\n    ", "x".repeat(5_000)));
            }
            exercise(text);
        }
    }
}

const PUNCT: &[&str] = &[
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "|",
    ">",
    "#",
    "&a ",
    "*a",
    "!x ",
    "\n",
    "  ",
    "\t",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\\",
    "é",
    "✅",
    "\r\n",
    ",",
    "@",
    "`",
    "<<: *a\n",
];

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (_, src) in fixtures::graphs() {
        // Truncations at many points (on char boundaries).
        let step = (src.len() / 30).max(1);
        for cut in (0..src.len()).step_by(step) {
            let cut = (0..=cut)
                .rev()
                .find(|&c| src.is_char_boundary(c))
                .unwrap_or(0);
            exercise_with(src[..cut].to_string(), false);
        }
        // Random byte flips and punctuation insertions.
        for _ in 0..40 {
            let mut bytes = src.clone().into_bytes();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.below(128) as u8,
                    1 => {
                        let p = PUNCT[rng.below(PUNCT.len())];
                        bytes.splice(at..at, p.bytes());
                    }
                    _ => {
                        let end = (at + rng.below(40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            exercise(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
}

#[test]
fn generated_junk_never_panics() {
    let mut rng = Rng(42);
    let atoms = [
        "tasks:",
        "metadata:",
        "- ",
        "id: ",
        "depends_on: ",
        "status: ",
        "x",
        "A",
        "[",
        "]",
        "{",
        "}",
        ", ",
        ": ",
        "\n",
        "  ",
        "\"",
        "'",
        "|",
        "&a ",
        "*a",
        "#c",
        "produces:",
        "path: ",
        "..",
        "/",
        "true",
        "1",
        "~",
        "parallel_ok: ",
        "checkpoint: ",
        "\n  - ",
        "\n    ",
    ];
    for _ in 0..800 {
        let mut s = String::from("tasks:\n");
        for _ in 0..rng.below(40) {
            s.push_str(atoms[rng.below(atoms.len())]);
        }
        exercise(s);
    }
    // Deep nesting is refused, not a stack overflow.
    exercise(format!(
        "tasks: {}{}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    exercise(format!("tasks:\n{}", "- ".repeat(10_000)));
}

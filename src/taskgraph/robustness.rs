//! No-panic tests: parse, validate, schedule and edit mutated fixtures (truncations, byte
//! flips, inserted YAML punctuation) and generated junk; every step must return, not panic.

use camino::Utf8Path;

use super::{fixtures, schedule, Edit, Scalar, TaskFile};

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
    let Ok(f) = TaskFile::parse(Utf8Path::new("fuzz.yml"), text) else {
        return;
    };
    for finding in f.validate() {
        let _ = format!("{:?}", finding.report);
    }
    let g = &f.graph;
    let _ = schedule::select(g);
    let _ = schedule::waves(g);
    let _ = schedule::critical_path(g);
    let _ = schedule::parallel_minutes(g);
    let _ = schedule::check_explicit(g, &[0, 1, 2, 99]);
    for i in 0..g.tasks.len().min(3) {
        let _ = schedule::blockers(g, i);
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
            exercise(src[..cut].to_string());
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

//! Why an attempt of `run` failed, as data: the kind (exit, timeout, no-commits, conflict,
//! outside-paths, test-gate, refused, lease-expired), a one-line message, the files, the conflicting task or
//! commit, and the evidence (the test's last output lines, the agent's last log lines). Each
//! task's last failure is kept under `<state dir>/run/failures/`: `ID.json` (what `status`
//! reads) and `ID.txt`, the plain text the next attempt's agent finds through
//! `GIT_PARALLEL_LAST_FAILURE` (first line: the kind and the message; then the evidence). The
//! files go when the task lands.

use std::fmt::Write;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The kind of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The agent exited non-zero, was killed by a signal, or could not be started.
    Exit,
    /// The agent ran past `--timeout` and was stopped.
    Timeout,
    /// The agent exited 0 without a commit of its own.
    NoCommits,
    /// The task's merge conflicts with the target (or with a task merged before it).
    Conflict,
    /// The task's branch changes files outside its `produces`/`shared_files` paths.
    OutsidePaths,
    /// The test gate fails with the task merged.
    TestGate,
    /// finish refused the task for another reason (the message says which).
    Refused,
    /// A worker on another machine stopped renewing its lease on the remote
    /// (`parallel.leaseTimeout`): it died, hung or lost the remote.
    LeaseExpired,
}

impl Kind {
    /// The kind as written in JSON and in the failure file: `test-gate`, `no-commits`…
    pub fn name(self) -> &'static str {
        match self {
            Kind::Exit => "exit",
            Kind::Timeout => "timeout",
            Kind::NoCommits => "no-commits",
            Kind::Conflict => "conflict",
            Kind::OutsidePaths => "outside-paths",
            Kind::TestGate => "test-gate",
            Kind::Refused => "refused",
            Kind::LeaseExpired => "lease-expired",
        }
    }
}

/// One failed attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Failure {
    /// What failed.
    pub kind: Kind,
    /// Why, in one line.
    pub message: String,
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// The files concerned: the conflicting paths, the paths outside the task's boundaries.
    #[serde(default)]
    pub files: Vec<String>,
    /// The conflicting task or commit, or the tasks merged before it when the test failed.
    #[serde(default)]
    pub with: Option<String>,
    /// The evidence: the test's last output lines, or the agent's last log lines.
    #[serde(default)]
    pub evidence: Option<String>,
    /// When (ISO 8601).
    #[serde(default)]
    pub at: String,
}

/// How many lines of evidence are kept.
pub const EVIDENCE_LINES: usize = 200;

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>, attempt: u32) -> Failure {
        Failure {
            kind,
            message: one_line(&message.into()),
            attempt,
            files: Vec::new(),
            with: None,
            evidence: None,
            at: crate::time::now_iso(),
        }
    }

    /// `kind: message`, the failure file's first line.
    pub fn headline(&self) -> String {
        format!("{}: {}", self.kind.name(), self.message)
    }

    /// The plain text of the failure file (and of the brief's section).
    pub fn text(&self) -> String {
        let mut t = format!("{}\n", self.headline());
        let _ = writeln!(t, "attempt: {}", self.attempt);
        if !self.files.is_empty() {
            let _ = writeln!(t, "files:");
            for f in &self.files {
                let _ = writeln!(t, "  {}", crate::taskgraph::display::safe(f));
            }
        }
        if let Some(w) = &self.with {
            let _ = writeln!(t, "with: {w}");
        }
        if let Some(e) = self.evidence.as_deref().filter(|e| !e.trim().is_empty()) {
            let _ = writeln!(t, "evidence:");
            t.push_str(e);
            if !e.ends_with('\n') {
                t.push('\n');
            }
        }
        t
    }
}

/// The first line of `s`, trimmed (a message is one line).
fn one_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let mut t = lines[lines.len().saturating_sub(n)..].join("\n");
    if !t.is_empty() {
        t.push('\n');
    }
    t
}

/// `<run dir>/failures`.
fn dir(run_dir: &Utf8Path) -> Utf8PathBuf {
    run_dir.join("failures")
}

/// The plain-text file of `id`'s last failure (what GIT_PARALLEL_LAST_FAILURE names).
pub fn text_path(run_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    dir(run_dir).join(format!("{id}.txt"))
}

fn json_path(run_dir: &Utf8Path, id: &str) -> Utf8PathBuf {
    dir(run_dir).join(format!("{id}.json"))
}

/// Keeps `f` as `id`'s last failure; the text file's path.
pub fn record(run_dir: &Utf8Path, id: &str, f: &Failure) -> Result<Utf8PathBuf> {
    let d = dir(run_dir);
    std::fs::create_dir_all(&d).map_err(|e| crate::fatal!("cannot create {d}: {e}"))?;
    let text = text_path(run_dir, id);
    let json = json_path(run_dir, id);
    let doc = serde_json::to_vec_pretty(f).unwrap_or_default();
    for (path, bytes) in [(&text, f.text().into_bytes()), (&json, doc)] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| crate::fatal!("cannot write {path}: {e}"))?;
    }
    Ok(text)
}

/// `id`'s last failure, when one is kept (and readable).
pub fn last(run_dir: &Utf8Path, id: &str) -> Option<Failure> {
    let bytes = std::fs::read(json_path(run_dir, id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Forgets `id`'s failures (it landed).
pub fn clear(run_dir: &Utf8Path, id: &str) {
    let _ = std::fs::remove_file(json_path(run_dir, id));
    let _ = std::fs::remove_file(text_path(run_dir, id));
}

/// What `run` knows of the unfinished tasks it tried: the attempts made (from its records,
/// `<run dir>/state.json`, kept by src/commands/run/state.rs) and each one's last failure. Empty
/// when run never failed an attempt here (nothing is read then but one directory).
pub fn known(run_dir: &Utf8Path) -> std::collections::BTreeMap<String, (u32, Option<Failure>)> {
    let mut out = std::collections::BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir(run_dir)) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some(f) = last(run_dir, id) {
                out.insert(id.to_string(), (f.attempt, Some(f)));
            }
        }
    }
    let records: std::collections::BTreeMap<String, serde_json::Value> =
        std::fs::read(run_dir.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    for (id, r) in records {
        let Some(n) = r["attempts"].as_u64().and_then(|n| u32::try_from(n).ok()) else {
            continue;
        };
        let e = out.entry(id).or_insert((0, None));
        e.0 = e.0.max(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_starts_with_kind_and_message_then_the_evidence() {
        let mut f = Failure::new(Kind::TestGate, "the test fails\nsecond line", 2);
        f.files = vec!["a.txt".into()];
        f.evidence = Some("FAIL: x\n".into());
        let t = f.text();
        assert!(
            t.starts_with("test-gate: the test fails\nattempt: 2\n"),
            "{t}"
        );
        assert!(t.contains("files:\n  a.txt\n"), "{t}");
        assert!(t.ends_with("evidence:\nFAIL: x\n"), "{t}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("", 2), "");
    }
}

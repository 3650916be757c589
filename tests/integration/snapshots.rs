//! Snapshots of what every command prints (text, `--json`, `--dry-run` plans, errors and their
//! exit codes) on the corpus graphs and along one whole lifecycle, compared with the files in
//! tests/snapshots/. They pin behaviour across refactors: a change of output shows as a diff.
//! `UPDATE_SNAPSHOTS=1 cargo test --all-features --test integration snapshots` rewrites them.

use crate::support::{TestRepo, BIN};
use std::fmt::Write as _;
use std::path::Path;

/// One transcript: each command line with its exit code, stdout and stderr.
struct Transcript<'a> {
    repo: &'a TestRepo,
    text: String,
}

impl<'a> Transcript<'a> {
    fn new(repo: &'a TestRepo) -> Self {
        Transcript {
            repo,
            text: String::new(),
        }
    }

    fn run(&mut self, args: &[&str]) {
        self.run_in(&self.repo.root.clone(), args);
    }

    fn run_in(&mut self, dir: &Path, args: &[&str]) {
        let out = self
            .repo
            .cmd_in(dir)
            .args(args)
            .output()
            .expect("run git-parallel");
        let _ = writeln!(
            self.text,
            "$ git parallel {}\n[exit {}]",
            args.join(" "),
            out.status.code().map_or("signal".into(), |c| c.to_string())
        );
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let s = String::from_utf8_lossy(bytes);
            if !s.is_empty() {
                let _ = writeln!(self.text, "--- {name}\n{}", s.trim_end_matches('\n'));
            }
        }
        self.text.push('\n');
    }

    fn commit_in(&mut self, role: &str, id: &str, file: &str) {
        let wt = self.repo.task_worktree(role, id);
        let p = wt.join(file);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, format!("// {id}\n")).expect("write");
        self.repo.git_in(&wt, &["add", "-A"]);
        self.repo
            .git_in(&wt, &["commit", "-q", "-m", &format!("work on {id}")]);
        let _ = writeln!(self.text, "# committed {file} in {id}\n");
    }

    /// Compares with (or, with UPDATE_SNAPSHOTS=1, writes) tests/snapshots/<name>.txt.
    fn check(self, name: &str) {
        let mut text = self.text;
        let mut bases = vec![
            self.repo.base().display().to_string(),
            self.repo.tmp.path().display().to_string(),
        ];
        bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
        for b in &bases {
            text = text.replace(b.as_str(), "<tmp>");
        }
        text = redact_op_ids(&redact_durations(&text.replace(BIN, "<bin>")));
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(format!("{name}.txt"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &text).expect("write snapshot");
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != text {
            let (removed, added) = crate::support::line_diff(&want, &text);
            panic!(
                "{} differs (UPDATE_SNAPSHOTS=1 rewrites it)\n- {}\n+ {}",
                path.display(),
                removed.join("\n- "),
                added.join("\n+ ")
            );
        }
    }
}

/// `(0.3s)` → `(<t>)`: how long a command took is not behaviour.
fn redact_durations(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let digits = tail.find(|c: char| !c.is_ascii_digit() && c != '.');
        match digits {
            Some(n) if n > 0 && tail[n..].starts_with("s)") && tail[..n].contains('.') => {
                out.push_str("(<t>)");
                rest = &tail[n + 2..];
            }
            _ => {
                out.push('(');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An operation id (`<nanoseconds>-<pid>`) → `<op>`.
fn redact_op_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if c == '-' && run.len() >= 15 && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push_str("<op>");
        } else {
            out.push_str(&run);
            out.push(c);
        }
        run.clear();
    }
    out.push_str(&run);
    out
}

const CORPUS: [(&str, &str); 5] = [
    ("basic-calculator.task-graph.yml", "basic-calculator"),
    ("connectgrc.task-graph.yml", "connectgrc"),
    ("muaththir.task-graph.yml", "muaththir"),
    ("stablecoin-gateway.task-graph.yml", "stablecoin-gateway"),
    ("studyflow.task-graph.yml", "studyflow"),
];

#[test]
fn read_only_commands_on_every_corpus_graph() {
    for (fixture, product) in CORPUS {
        let r = TestRepo::with_graph(fixture, product, |t| t);
        let mut t = Transcript::new(&r);
        for args in [
            &["validate"][..],
            &["validate", "--json"],
            &["plan"],
            &["plan", "--json"],
            &["plan", "--format", "mermaid"],
            &["status"],
            &["status", "--json"],
            &[],
            &["start", "--dry-run"],
            &["start", "--dry-run", "--json"],
        ] {
            t.run(args);
        }
        t.check(&format!("corpus-{product}"));
    }
}

/// The whole lifecycle on muaththir, once as text and once as `--json`.
fn lifecycle(json: bool) {
    let r = TestRepo::muaththir();
    let mut t = Transcript::new(&r);
    let j = |args: &[&'static str]| -> Vec<&'static str> {
        let mut v = args.to_vec();
        if json {
            v.insert(1, "--json");
        }
        v
    };
    t.run(&j(&["approve", "ARCH-01", "--dry-run"]));
    t.run(&j(&["approve", "ARCH-01"]));
    t.run(&j(&["start", "--dry-run"]));
    t.run(&j(&["start"]));
    t.run(&j(&["start"]));
    t.run(&j(&["status"]));
    t.run(&j(&["path", "BACKEND-01"]));
    t.commit_in("devops", "DEVOPS-01", ".github/workflows/muaththir-ci.yml");
    t.commit_in(
        "backend",
        "BACKEND-01",
        "products/muaththir/apps/api/src/server.ts",
    );
    t.run(&j(&[
        "exec",
        "-j",
        "1",
        "--",
        "git",
        "log",
        "-1",
        "--format=%s",
    ]));
    t.run(&j(&["finish", "--dry-run"]));
    t.run(&j(&["finish", "DEVOPS-01"]));
    t.run(&j(&["fail", "BACKEND-01", "-m", "tests fail", "--dry-run"]));
    t.run(&j(&["fail", "BACKEND-01", "-m", "tests fail"]));
    t.run(&j(&["retry", "BACKEND-01", "--dry-run"]));
    t.run(&j(&["retry", "BACKEND-01"]));
    t.run(&j(&["abort", "FRONTEND-01", "--dry-run"]));
    t.run(&j(&["abort", "FRONTEND-01"]));
    t.run(&j(&["undo", "--dry-run"]));
    t.run(&j(&["undo"]));
    t.run(&j(&["abort", "--force", "FRONTEND-01"]));
    t.run(&j(&["recover", "--continue"]));
    t.run(&j(&["recover", "--abort"]));
    t.run(&j(&["gc", "--dry-run"]));
    t.run(&j(&["gc"]));
    t.run(&j(&["status"]));
    t.run(&j(&["plan"]));
    t.check(if json {
        "lifecycle-json"
    } else {
        "lifecycle-text"
    });
}

#[test]
fn lifecycle_text() {
    lifecycle(false);
}

#[test]
fn lifecycle_json() {
    lifecycle(true);
}

#[test]
fn refusals_and_usage_errors() {
    let r = TestRepo::muaththir();
    let mut t = Transcript::new(&r);
    for args in [
        &["start", "NOPE-01"][..],
        &["start", "NOPE-01", "--json"],
        &["finish"],
        &["finish", "--json"],
        &["abort", "BACKEND-01"],
        &["retry", "BACKEND-01"],
        &["approve", "BACKEND-01"],
        &["path", "BACKEND-01"],
        &["undo"],
        &["frobnicate"],
        &["start", "--frobnicate"],
        &["plan", "--format", "bogus"],
        &["start", "-h"],
        &["-h"],
        &["exec"],
        &["--color", "always", "status"],
        &["--color", "always", "start", "NOPE-01"],
        &["-q", "start", "--dry-run"],
        &["-q", "start"],
        &["-q", "status"],
    ] {
        t.run(args);
    }
    t.check("refusals");
}

#[test]
fn validation_errors_are_located() {
    let r = TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
        t.replacen("depends_on: []", "depends_on: [\"NOPE-99\"]", 1)
            .replacen("status: \"pending\"", "status: \"sideways\"", 1)
    });
    let mut t = Transcript::new(&r);
    for args in [
        &["validate"][..],
        &["validate", "--json"],
        &["start"],
        &["status"],
    ] {
        t.run(args);
    }
    t.check("validation-errors");
}

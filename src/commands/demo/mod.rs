//! `git parallel demo [--keep]`: the whole lifecycle on a throwaway repository. A built-in task
//! graph is committed in a temporary directory; then this same binary is run, as a user would,
//! for status, start, the agents' commits in their worktrees, finish with a test gate, and the
//! final history. Needs no repository of its own.

use serde::Serialize;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::{defs, Args};
use crate::error::Result;
use crate::output;
use crate::workflow::context::Output;
use crate::workflow::report::{self, Report};

/// The example graph: a completed, approved architecture checkpoint, three tasks that can run in
/// parallel, and a QA task waiting for all three.
const GRAPH: &str = include_str!("graph.yml");

const TASKS_PATH: &str = "products/demo/.claude/task-graph.yml";

const README: &str = "# demo\n\nA throwaway repository made by `git parallel demo`.\n";

const ARCHITECTURE: &str = "# Architecture\n\n- API: GET /health, GET /items\n- Web: one page listing the items\n- Docs: a user guide\n";

/// Each agent's work: task, file, content, commit message.
const AGENT_WORK: &[(&str, &str, &str, &str)] = &[
    (
        "BACKEND-01",
        "products/demo/api/server.js",
        "// The demo API.\nexport function health() {\n  return { ok: true };\n}\n",
        "feat(api): add the API server",
    ),
    (
        "FRONTEND-01",
        "products/demo/web/index.html",
        "<!doctype html>\n<title>demo</title>\n<h1>Items</h1>\n",
        "feat(web): add the home page",
    ),
    (
        "DOCS-01",
        "products/demo/docs/guide.md",
        "# User guide\n\nStart the API, then open web/index.html.\n",
        "docs: add the user guide",
    ),
];

/// The test gate of the finish step: every agent's file is in the merged result.
const TEST_GATE: &str = "test -f products/demo/api/server.js && test -f products/demo/web/index.html && test -f products/demo/docs/guide.md";

const DEMO_NAME: &str = "git-parallel demo";
const DEMO_EMAIL: &str = "demo@git-parallel.invalid";

pub fn run(args: &Args) -> Result<()> {
    let keep = args.on(&defs::KEEP_DEMO);
    let out = Output::from_args(args);
    let exe = std::env::current_exe()
        .map_err(|e| crate::fatal!("cannot find this program's path: {e}"))?;
    let base = std::env::temp_dir().join(format!("git-parallel-demo-{}", std::process::id()));
    if base.exists() {
        std::fs::remove_dir_all(&base).map_err(|e| {
            crate::fatal!(
                "cannot remove the old demo directory {}: {e}",
                base.display()
            )
        })?;
    }
    let repo = base.join("repo");
    std::fs::create_dir_all(&repo)
        .map_err(|e| crate::fatal!("cannot create the demo directory {}: {e}", repo.display()))?;
    let repo = repo.canonicalize().unwrap_or(repo);
    let base = repo.parent().map(Path::to_path_buf).unwrap_or(base);
    let mut demo = Demo {
        exe,
        base: base.clone(),
        repo,
        out,
        identity: false,
    };
    let result = demo.steps();
    output::print_line(format_args!(""));
    match result {
        Ok(()) => {
            if !keep {
                let _ = std::fs::remove_dir_all(&base);
            }
            // The transcript is text whatever --json and -q say.
            let text_only = Output {
                json: false,
                quiet: false,
                ..out
            };
            let done = DemoDone {
                repo: demo.repo.display().to_string(),
                kept: keep,
            };
            report::emit(&text_only, "demo", &done);
            Ok(())
        }
        Err(step) => {
            let left = demo.repo.display();
            Err(crate::refused!(
                help = "the demo repository is left at {left} for inspection",
                "the demo failed at: {step}"
            ))
        }
    }
}

/// How a demo that ran to the end left its repository. Text only: `git parallel demo` has no
/// `--json` document.
#[derive(Serialize, schemars::JsonSchema)]
pub struct DemoDone {
    /// The demo repository.
    repo: String,
    /// Whether it was kept (`--keep`); else it has been removed.
    kept: bool,
}

impl fmt::Display for DemoDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repo = &self.repo;
        if self.kept {
            return writeln!(f, "The demo repository is at {repo}");
        }
        writeln!(f, "The demo repository was at {repo}; it has been removed.")?;
        writeln!(
            f,
            "Run 'git parallel demo --keep' to keep it and look around."
        )
    }
}

impl Report for DemoDone {}

struct Demo {
    exe: PathBuf,
    /// The temporary directory: the repository and, by default, the task worktrees.
    base: PathBuf,
    repo: PathBuf,
    out: Output,
    /// Commits need the demo identity (the user has no user.email).
    identity: bool,
}

/// A failed step, described.
type StepResult = std::result::Result<(), String>;

impl Demo {
    fn steps(&mut self) -> StepResult {
        self.heading("# a new repository with a task graph");
        let init = self.git(&self.repo, &["init", "-q"]);
        self.run_quiet(init, "git init")?;
        let head = self.git(&self.repo, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        self.run_quiet(head, "git symbolic-ref HEAD refs/heads/main")?;
        let mut email = self.git(&self.repo, &["config", "user.email"]);
        self.identity = !email.stderr(Stdio::null()).output().is_ok_and(|o| {
            o.status.success() && !String::from_utf8_lossy(&o.stdout).trim().is_empty()
        });
        self.write("README.md", README)?;
        self.write("products/demo/architecture.md", ARCHITECTURE)?;
        self.write(TASKS_PATH, GRAPH)?;
        let add = self.git(&self.repo, &["add", "-A"]);
        self.run_quiet(add, "git add -A")?;
        self.shown(
            self.git(
                &self.repo,
                &[
                    "commit",
                    "-m",
                    "Initial commit: the demo product and its task graph",
                ],
            ),
            "git commit -m 'Initial commit: the demo product and its task graph'",
        )?;
        output::print_line(format_args!(
            "Created {} with {TASKS_PATH}:\n  ARCH-01 (completed, approved) -> BACKEND-01, FRONTEND-01, DOCS-01 (in parallel) -> QA-01",
            self.repo.display()
        ));

        self.parallel(&["status"])?;
        self.parallel(&["start"])?;

        for (id, file, content, message) in AGENT_WORK {
            let wt = self.worktree(id)?;
            output::print_line(format_args!(""));
            self.heading(&format!("# {id}: the agent works in its own worktree"));
            let shown = match wt.strip_prefix(&self.base) {
                Ok(rel) => Path::new("..").join(rel),
                Err(_) => wt.clone(),
            };
            self.heading(&format!("$ cd {}", shown.display()));
            let path = wt.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{id}: mkdir {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, content)
                .map_err(|e| format!("{id}: write {}: {e}", path.display()))?;
            self.shown(self.git(&wt, &["add", file]), &format!("git add {file}"))?;
            self.shown(
                self.git(&wt, &["commit", "-m", message]),
                &format!("git commit -m '{message}'"),
            )?;
        }

        self.parallel(&["status"])?;
        self.parallel(&["finish", "--test", TEST_GATE])?;
        self.parallel(&["status"])?;
        output::print_line(format_args!(""));
        self.shown(
            self.git(&self.repo, &["log", "--graph", "--oneline", "--all"]),
            "git log --graph --oneline --all",
        )
    }

    fn heading(&self, text: &str) {
        output::print_line(format_args!("{}", self.out.paint("1", text)));
    }

    fn write(&self, rel: &str, content: &str) -> StepResult {
        let p = self.repo.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
        }
        std::fs::write(&p, content).map_err(|e| format!("write {}: {e}", p.display()))
    }

    /// The environment of every command the demo runs.
    fn prepare(&self, cmd: &mut Command, dir: &Path) {
        for var in crate::git::cli::REPO_ENV
            .iter()
            .chain([&"GIT_PARALLEL_TASKS"])
        {
            cmd.env_remove(var);
        }
        if self.identity {
            // For the commits git-parallel itself makes (git commit-tree).
            cmd.env("GIT_AUTHOR_NAME", DEMO_NAME)
                .env("GIT_AUTHOR_EMAIL", DEMO_EMAIL)
                .env("GIT_COMMITTER_NAME", DEMO_NAME)
                .env("GIT_COMMITTER_EMAIL", DEMO_EMAIL);
        }
        cmd.current_dir(dir).stdin(Stdio::null());
    }

    /// `git …` in `dir`, never paged, with the demo identity when the user has none.
    fn git(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        self.prepare(&mut cmd, dir);
        cmd.arg("--no-pager");
        if self.identity {
            cmd.arg("-c")
                .arg(format!("user.name={DEMO_NAME}"))
                .arg("-c")
                .arg(format!("user.email={DEMO_EMAIL}"));
        }
        cmd.args(args);
        cmd
    }

    /// Runs `git parallel ARGS` in the repository, showing the command and its output.
    fn parallel(&self, args: &[&str]) -> StepResult {
        let mut cmd = Command::new(&self.exe);
        self.prepare(&mut cmd, &self.repo);
        cmd.args(args);
        let shown: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
        output::print_line(format_args!(""));
        self.shown(cmd, &format!("git parallel {}", shown.join(" ")))
    }

    /// Prints `$ shown`, then runs the command with our stdout and stderr.
    fn shown(&self, mut cmd: Command, shown: &str) -> StepResult {
        // The heading is flushed before the command writes to the same stdout.
        self.heading(&format!("$ {shown}"));
        let status = cmd
            .status()
            .map_err(|e| format!("{shown}: cannot run: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{shown} ({status})"))
        }
    }

    /// Runs a setup command silently; its output is shown only when it fails.
    fn run_quiet(&self, mut cmd: Command, shown: &str) -> StepResult {
        let out = cmd
            .output()
            .map_err(|e| format!("{shown}: cannot run: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "{shown} ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }

    /// The worktree of a started task, from `git parallel path ID`.
    fn worktree(&self, id: &str) -> std::result::Result<PathBuf, String> {
        let mut cmd = Command::new(&self.exe);
        self.prepare(&mut cmd, &self.repo);
        cmd.args([OsStr::new("path"), OsStr::new(id)]);
        let out = cmd
            .output()
            .map_err(|e| format!("git parallel path {id}: cannot run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "git parallel path {id} ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }
}

/// Quotes a word for display like a shell would need it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

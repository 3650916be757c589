//! TestRepo: a real git repository in a temp dir, git run with an isolated environment (no user
//! or system config, fixed identities and dates), and the real git-parallel binary.

#![allow(dead_code)]

pub mod kill;
pub mod muaththir;
pub mod sshd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-parallel");
pub const NOW: &str = "2026-03-01T12:00:00Z";

pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Sets `status` of task `id` in a task file's text (keeping the line's quoting).
pub fn set_status(text: &str, id: &str, status: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t == format!("id: \"{id}\"") || t == format!("id: {id}") || t == format!("id: '{id}'")
        })
        .unwrap_or_else(|| panic!("no task {id}"));
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim_start().trim_start_matches("- ");
        if t.starts_with("id:") {
            panic!("task {id} has no status line");
        }
        if let Some(rest) = line.trim_start().strip_prefix("status:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            let quoted = rest.trim().starts_with('"');
            out[i] = if quoted {
                format!("{indent}status: \"{status}\"")
            } else {
                format!("{indent}status: {status}")
            };
            break;
        }
    }
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Applies the isolated git environment to a command (as gitoxide's test tools do): nothing of
/// the caller's repository, user or system config, credentials helpers or identity reaches git,
/// so the suite passes with an empty HOME and no global git config.
pub fn isolate(cmd: &mut Command, home: &Path) {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "XDG_CONFIG_HOME",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_PARALLEL_TASKS",
        "GIT_PARALLEL_FAILPOINT",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home)
        .env("GIT_AUTHOR_NAME", "Agent Smith")
        .env("GIT_AUTHOR_EMAIL", "agent@example.com")
        .env("GIT_AUTHOR_DATE", "2026-03-01T12:00:00Z")
        .env("GIT_COMMITTER_NAME", "Agent Smith")
        .env("GIT_COMMITTER_EMAIL", "agent@example.com")
        .env("GIT_COMMITTER_DATE", "2026-03-01T12:00:00Z")
        .env("GIT_TERMINAL_PROMPT", "false")
        .env("GIT_PARALLEL_NOW", NOW)
        .env("LC_ALL", "C");
}

pub struct TestRepo {
    pub tmp: tempfile::TempDir,
    /// The main worktree.
    pub root: PathBuf,
    /// Repository-relative path of the task file.
    pub tasks: String,
}

impl TestRepo {
    /// An empty repository with one commit on `main`.
    pub fn new() -> TestRepo {
        TestRepo::new_at(tempfile::tempdir().expect("tempdir"))
    }

    /// An empty repository with one commit on `main`, in a new temp dir under `parent`.
    pub fn new_in(parent: &Path) -> TestRepo {
        TestRepo::new_at(tempfile::tempdir_in(parent).expect("tempdir"))
    }

    fn new_at(tmp: tempfile::TempDir) -> TestRepo {
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(&root).expect("mkdir");
        let root = root.canonicalize().expect("canonicalize");
        let r = TestRepo {
            tmp,
            root,
            tasks: String::new(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.write("README.md", "# product\n");
        r.git(&["add", "-A"]);
        r.git(&["commit", "-q", "-m", "initial"]);
        r
    }

    /// A repository whose task file is `fixture` (after `edit`) at the orchestrator's path.
    pub fn with_graph(
        fixture_name: &str,
        product: &str,
        edit: impl FnOnce(String) -> String,
    ) -> TestRepo {
        let mut r = TestRepo::new();
        let rel = format!("products/{product}/.claude/task-graph.yml");
        r.write(&rel, &edit(fixture(fixture_name)));
        r.git(&["add", "-A"]);
        r.git(&["commit", "-q", "-m", "add task graph"]);
        r.tasks = rel;
        r
    }

    /// The muaththir graph with PRD-01 and ARCH-01 completed: DEVOPS-01, BACKEND-01 and
    /// FRONTEND-01 are ready.
    pub fn muaththir() -> TestRepo {
        TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
            let t = set_status(&t, "PRD-01", "completed");
            set_status(&t, "ARCH-01", "completed")
        })
    }

    pub fn home(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, content).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn task_file(&self) -> String {
        self.read(&self.tasks)
    }

    pub fn git_cmd(&self, dir: &Path) -> Command {
        let mut c = Command::new("git");
        isolate(&mut c, &self.home());
        c.current_dir(dir);
        c
    }

    /// A shell line (a hint's command, pasted as a user would) run by `sh -c` in `dir` with the
    /// isolated environment: every git it runs has the tests' identity and no user config.
    pub fn sh_in(&self, dir: &Path, line: &str) -> Output {
        let mut c = Command::new("sh");
        isolate(&mut c, &self.home());
        c.arg("-c").arg(line).current_dir(dir);
        c.output().expect("run sh")
    }

    /// Runs git in `dir`, panicking with its stderr when it fails; returns stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git_cmd(dir).args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev]).trim().to_string()
    }

    /// Whether commit `a` is an ancestor of (or is) `b`, in the repository at `dir`.
    pub fn is_ancestor_in(&self, dir: &Path, a: &str, b: &str) -> bool {
        self.git_cmd(dir)
            .args(["merge-base", "--is-ancestor", a, b])
            .status()
            .unwrap()
            .success()
    }

    /// The git-parallel binary, run in the main worktree.
    pub fn cmd(&self) -> Command {
        self.cmd_in(&self.root)
    }

    pub fn cmd_in(&self, dir: &Path) -> Command {
        let mut c = Command::new(BIN);
        isolate(&mut c, &self.home());
        c.current_dir(dir);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run git-parallel")
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_ok(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git worktree list --porcelain` without the kept test gate worktree
    /// (`.git/parallel/gate`): a build cache every test gate keeps on purpose, not part of the
    /// state an operation changes or restores.
    pub fn worktree_list(&self) -> String {
        self.git(&["worktree", "list", "--porcelain"])
            .split("\n\n")
            .filter(|b| !b.is_empty() && !b.contains("/.git/parallel/gate\n"))
            .map(|b| format!("{}\n\n", b.trim_end_matches('\n')))
            .collect()
    }

    /// Everything that makes up the repository's state, for before/after comparisons.
    pub fn snapshot(&self) -> Snapshot {
        let mut files = BTreeMap::new();
        collect_files(&self.root, &self.root, &mut files);
        let worktrees = self.worktree_list();
        let mut wt_files = BTreeMap::new();
        for line in worktrees.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                let p = PathBuf::from(p);
                if p != self.root {
                    let mut f = BTreeMap::new();
                    collect_files(&p, &p, &mut f);
                    wt_files.insert(p.display().to_string(), f);
                }
            }
        }
        Snapshot {
            refs: self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
            head: self.git(&["symbolic-ref", "-q", "HEAD"]),
            worktrees,
            index: self.git(&["ls-files", "-s"]),
            status: self.git(&["status", "--porcelain", "--untracked-files=all"]),
            files,
            worktree_files: wt_files,
            worktree_dirs: list_dir(&self.tmp.path().join("worktrees")),
        }
    }
}

fn list_dir(p: &Path) -> Vec<String> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            v.push(e.file_name().to_string_lossy().into_owned());
            v.extend(
                list_dir(&e.path())
                    .into_iter()
                    .map(|s| format!("{}/{s}", e.file_name().to_string_lossy())),
            );
        }
    }
    v.sort();
    v
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == ".git" {
            continue;
        }
        if p.is_dir() {
            collect_files(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            out.insert(
                rel,
                std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into()),
            );
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub refs: String,
    pub head: String,
    pub worktrees: String,
    pub index: String,
    pub status: String,
    pub files: BTreeMap<String, String>,
    pub worktree_files: BTreeMap<String, BTreeMap<String, String>>,
    pub worktree_dirs: Vec<String>,
}

pub fn assert_ok(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "git-parallel {what:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON documents of a command that prints one per line (`run --json`), in order; lines
/// that are not JSON are left out.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Inserts `approved_at` (a fixed time) after the `status:` line of task `id` in a task file's
/// text, as `git parallel approve` records it.
pub fn approve_in_text(text: &str, id: &str) -> String {
    let mut out = Vec::new();
    let mut in_task = false;
    let mut done = false;
    for line in text.split_inclusive('\n') {
        out.push(line.to_string());
        let t = line.trim().trim_start_matches("- ");
        if t.starts_with("id:") {
            in_task = t == format!("id: \"{id}\"")
                || t == format!("id: {id}")
                || t == format!("id: '{id}'");
        } else if in_task && !done && line.trim_start().starts_with("status:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(format!("{indent}approved_at: \"2026-01-01T00:00:00Z\"\n"));
            done = true;
        }
    }
    assert!(done, "no status line for task {id}");
    out.concat()
}

/// Lines removed from `a` and lines added in `b` (by a longest-common-subsequence line diff).
pub fn line_diff(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(b[j].to_string());
            j += 1;
        } else {
            removed.push(a[i].to_string());
            i += 1;
        }
    }
    (removed, added)
}

impl TestRepo {
    /// The muaththir graph with PRD-01 and ARCH-01 completed and the checkpoint ARCH-01
    /// approved: `git parallel start` starts DEVOPS-01, BACKEND-01 and FRONTEND-01.
    pub fn muaththir_approved() -> TestRepo {
        TestRepo::with_graph("muaththir.task-graph.yml", "muaththir", |t| {
            let t = set_status(&t, "PRD-01", "completed");
            approve_in_text(&set_status(&t, "ARCH-01", "completed"), "ARCH-01")
        })
    }

    /// The directory holding the repository (and `worktrees/`), canonical.
    pub fn base(&self) -> PathBuf {
        self.root.parent().expect("repo has a parent").to_path_buf()
    }

    /// The worktree `start` makes for a muaththir task, e.g. `("devops", "DEVOPS-01")`.
    pub fn task_worktree(&self, role: &str, id: &str) -> PathBuf {
        self.base()
            .join("worktrees/muaththir")
            .join(format!("{role}-{id}"))
    }

    /// Runs with extra environment variables; returns the output whatever the exit.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd();
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).output().expect("run git-parallel")
    }
}

impl Snapshot {
    /// The snapshot with the repository's temp directory replaced by `<tmp>`, to compare the
    /// states of two different repositories built the same way.
    pub fn normalized(&self, r: &TestRepo) -> Snapshot {
        let mut bases = vec![
            r.base().display().to_string(),
            r.tmp.path().display().to_string(),
        ];
        bases.dedup();
        let fix = |s: &str| {
            let mut s = s.to_string();
            for b in &bases {
                s = s.replace(b.as_str(), "<tmp>");
            }
            s
        };
        Snapshot {
            refs: fix(&self.refs),
            head: self.head.clone(),
            worktrees: fix(&self.worktrees),
            index: self.index.clone(),
            status: self.status.clone(),
            files: self
                .files
                .iter()
                .map(|(k, v)| (k.clone(), fix(v)))
                .collect(),
            worktree_files: self
                .worktree_files
                .iter()
                .map(|(k, f)| (fix(k), f.iter().map(|(k, v)| (k.clone(), fix(v))).collect()))
                .collect(),
            worktree_dirs: self.worktree_dirs.clone(),
        }
    }
}

impl Snapshot {
    /// What differs between two snapshots, field by field (empty when equal): a readable
    /// message instead of two whole snapshots.
    pub fn diff(&self, other: &Snapshot) -> String {
        fn text(out: &mut String, name: &str, a: &str, b: &str) {
            if a != b {
                let (removed, added) = line_diff(a, b);
                out.push_str(&format!("{name}:\n"));
                for l in removed {
                    out.push_str(&format!("  - {l}\n"));
                }
                for l in added {
                    out.push_str(&format!("  + {l}\n"));
                }
            }
        }
        fn files(
            out: &mut String,
            name: &str,
            a: &BTreeMap<String, String>,
            b: &BTreeMap<String, String>,
        ) {
            for (k, v) in a {
                match b.get(k) {
                    None => out.push_str(&format!("{name}: {k} only in the first\n")),
                    Some(w) => text(out, &format!("{name}: {k}"), v, w),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push_str(&format!("{name}: {k} only in the second\n"));
            }
        }
        let mut out = String::new();
        text(&mut out, "refs", &self.refs, &other.refs);
        text(&mut out, "HEAD", &self.head, &other.head);
        text(&mut out, "worktrees", &self.worktrees, &other.worktrees);
        text(&mut out, "index", &self.index, &other.index);
        text(&mut out, "status", &self.status, &other.status);
        files(&mut out, "file", &self.files, &other.files);
        let empty = BTreeMap::new();
        for k in self
            .worktree_files
            .keys()
            .chain(other.worktree_files.keys())
        {
            let a = self.worktree_files.get(k).unwrap_or(&empty);
            let b = other.worktree_files.get(k).unwrap_or(&empty);
            if a != b && !out.contains(&format!("worktree {k}:")) {
                files(&mut out, &format!("worktree {k}:"), a, b);
            }
        }
        text(
            &mut out,
            "worktrees dir",
            &self.worktree_dirs.join("\n"),
            &other.worktree_dirs.join("\n"),
        );
        out
    }
}

/// Asserts two snapshots are equal, showing only what differs.
#[track_caller]
pub fn assert_same(a: &Snapshot, b: &Snapshot, what: &str) {
    if a != b {
        panic!("{what}: the repository state differs:\n{}", a.diff(b));
    }
}

/// stdout followed by stderr.
pub fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// Asserts the command was refused (exit 1) and returns its stdout + stderr.
pub fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1:\n{}",
        all_output(out)
    );
    all_output(out)
}

/// Parses a JSON document, panicking with the text when it is not one.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
}

/// The value of `key` of task `id` in a task file's text (unquoted).
pub fn field(text: &str, id: &str, key: &str) -> Option<String> {
    let mut in_task = false;
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(v) = t.strip_prefix("id:") {
            in_task = v.trim().trim_matches('"') == id;
            continue;
        }
        if in_task {
            if let Some(v) = t.strip_prefix(&format!("{key}:")) {
                return Some(v.trim().trim_matches('"').trim_matches('\'').to_string());
            }
        }
    }
    None
}

impl TestRepo {
    /// Whether a ref (or any revision) resolves.
    pub fn ref_exists(&self, name: &str) -> bool {
        self.git_cmd(&self.root)
            .args(["rev-parse", "--verify", "-q", name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

/// A bare clone of `r` at `<home>/srv/bare.git`, added to `r` as its remote `origin`.
pub fn serve_bare(r: &TestRepo) -> PathBuf {
    let bare = r.home().join("srv/bare.git");
    std::fs::create_dir_all(bare.parent().expect("srv")).expect("mkdir srv");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().expect("utf-8 root"),
        bare.to_str().expect("utf-8 bare"),
    ]);
    r.git(&[
        "remote",
        "add",
        "origin",
        bare.to_str().expect("utf-8 bare"),
    ]);
    bare
}

/// Another clone of `url` in a temp dir of its own (its worktrees beside it), its task file at
/// `tasks`.
pub fn clone_of_url(url: &str, tasks: &str) -> TestRepo {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("repo");
    let mut c = Command::new("git");
    isolate(&mut c, tmp.path());
    let out = c
        .args(["clone", "-q", url, root.to_str().expect("utf-8 root")])
        .output()
        .expect("git clone");
    assert!(out.status.success(), "clone: {}", stderr(&out));
    TestRepo {
        root: root.canonicalize().expect("canonical root"),
        tmp,
        tasks: tasks.into(),
    }
}

/// A `git` of the test's, `script`, first on PATH: written executable as `<home>/wrap/git`.
/// Returns that directory and the real git the script must call (`$REAL_GIT`).
pub fn git_wrapper(home: &Path, script: &str) -> (PathBuf, String) {
    use std::os::unix::fs::PermissionsExt;
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("command -v git");
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    let wrap = home.join("wrap");
    std::fs::create_dir_all(&wrap).expect("mkdir wrap");
    let git = wrap.join("git");
    std::fs::write(&git, script).expect("write the git wrapper");
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (wrap, real)
}

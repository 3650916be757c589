//! The generated documentation and completions: the committed man page and completion scripts
//! are what `git parallel generate` prints, the man page renders without warnings, and the
//! scripts complete commands, flags and task ids in real shells (bash through git's own
//! completion; zsh and fish when installed, otherwise the test says it skipped).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_git-parallel");
const GIT_BASH_COMPLETION: &str = "/usr/share/bash-completion/completions/git";
const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

fn source_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed file of each generated kind.
const GENERATED: &[(&str, &str)] = &[
    ("man", "man/git-parallel.1"),
    ("bash", "completions/git-parallel.bash"),
    ("zsh", "completions/_git-parallel"),
    ("fish", "completions/git-parallel.fish"),
];

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether a program is on PATH.
fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

// ---- generated files ---------------------------------------------------------------------------

#[test]
fn committed_man_page_and_completions_are_up_to_date() {
    for (kind, path) in GENERATED {
        let out = run(Command::new(BIN).args(["generate", kind]));
        assert!(out.status.success(), "generate {kind}: {}", stderr(&out));
        let committed = std::fs::read_to_string(source_tree().join(path)).unwrap_or_default();
        assert!(
            stdout(&out) == committed,
            "{path} is not what `git parallel generate {kind}` prints (a flag or command changed?).\n\
             Regenerate it:\n    cargo run -- generate {kind} -o {path}"
        );
    }
}

#[test]
fn committed_json_doc_is_up_to_date() {
    let out = run(Command::new(BIN).args(["generate", "json-doc"]));
    assert!(out.status.success(), "generate json-doc: {}", stderr(&out));
    let committed = std::fs::read_to_string(source_tree().join("docs/json.md")).unwrap_or_default();
    assert!(
        stdout(&out) == committed,
        "docs/json.md is not what `git parallel generate json-doc` prints (a report type or its \
         doc comments changed?).\nRegenerate it:\n    cargo run -- generate json-doc -o docs/json.md"
    );
}

#[test]
fn generate_output_writes_the_same_text_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/git-parallel.1");
    let out = run(Command::new(BIN)
        .args(["generate", "man", "--output"])
        .arg(&path));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let printed = stdout(&run(Command::new(BIN).args(["generate", "man"])));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), printed);
}

#[test]
fn generate_refuses_an_unknown_kind_with_usage() {
    let out = run(Command::new(BIN).args(["generate", "pdf"]));
    assert_eq!(out.status.code(), Some(129));
    assert!(
        stderr(&out).contains("unknown kind 'pdf'"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("usage: git parallel generate"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn man_page_renders_without_warnings() {
    let page = source_tree().join("man/git-parallel.1");
    if !have("groff") {
        println!("skipped: groff not installed (apt-get install groff-base)");
        return;
    }
    let out = run(Command::new("groff").args(["-man", "-ww", "-z"]).arg(&page));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "groff: {}",
        stderr(&out)
    );
    if !have("man") {
        println!("skipped: man not installed (apt-get install man-db)");
        return;
    }
    let out = run(Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&page)
        .env("MANWIDTH", "80"));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "man: {}",
        stderr(&out)
    );
    let text = stdout(&out);
    for section in [
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "TASK FILE",
        "CONFIGURATION",
        "EXIT STATUS",
    ] {
        assert!(
            text.contains(section),
            "{section} missing from the rendered page"
        );
    }
}

#[test]
fn help_when_not_a_terminal_prints_the_long_help() {
    let out = run(Command::new(BIN).args(["start", "--help"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("NAME\n    git-parallel-start - "),
        "{text}"
    );
    assert!(text.contains("\nOPTIONS\n    -n, --dry-run\n"), "{text}");
    let out = run(Command::new(BIN).arg("--help"));
    assert!(stdout(&out).contains("\nCOMMANDS\n"), "{}", stdout(&out));
    let out = run(Command::new(BIN).args(["start", "-h"]));
    assert!(stdout(&out).starts_with("usage: git parallel start [<options>] [<ID>...]\n"));
}

// ---- a repository with a task file -------------------------------------------------------------

/// A temporary repository with the muaththir task graph committed, and an isolated git
/// environment (no system or global config, fixed identities and dates).
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let repo = Repo { dir };
        let tasks = repo.path().join("products/muaththir/.claude");
        std::fs::create_dir_all(&tasks).unwrap();
        std::fs::copy(
            source_tree().join("tests/fixtures/muaththir.task-graph.yml"),
            tasks.join("task-graph.yml"),
        )
        .unwrap();
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "."]);
        repo.git(&["commit", "-q", "-m", "task graph"]);
        repo
    }

    /// The work tree (the temp dir's `repo` would do, but the home must be outside it).
    fn path(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A command run in the work tree with the isolated environment, the built binary's
    /// directory first on PATH.
    fn command(&self, program: &str) -> Command {
        std::fs::create_dir_all(self.path()).unwrap();
        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin_dir.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = Command::new(program);
        cmd.current_dir(self.path())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_TERMINAL_PROMPT", "false")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_COMMON_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_PARALLEL_TASKS");
        cmd
    }

    fn git(&self, args: &[&str]) {
        let out = run(self.command("git").args(args));
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    }

    /// PRD-01 and ARCH-01 completed (committed): the rest waits for checkpoint ARCH-01.
    fn ready() -> Repo {
        let repo = Repo::new();
        let file = repo
            .path()
            .join("products/muaththir/.claude/task-graph.yml");
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.replacen("status: \"pending\"", "status: \"completed\"", 2);
        std::fs::write(&file, text).unwrap();
        repo.git(&["commit", "-q", "-am", "PRD-01 and ARCH-01 done"]);
        repo
    }

    /// Approves the completed checkpoint ARCH-01: DEVOPS-01, BACKEND-01, FRONTEND-01 are ready.
    fn approve_arch(&self) -> &Repo {
        self.git(&["parallel", "-q", "approve", "ARCH-01"]);
        self
    }
}

#[test]
fn complete_command_lists_task_ids_by_status() {
    let repo = Repo::new();
    let ids = |args: &[&str]| stdout(&run(repo.command(BIN).arg("__complete").args(args)));
    let all = ids(&[]);
    assert!(all.starts_with("PRD-01\nARCH-01\nDEVOPS-01\n"), "{all}");
    assert_eq!(all.lines().count(), 9, "{all}");
    assert_eq!(ids(&["pending", "ready"]), all);
    assert_eq!(ids(&["in_progress"]), "");
    assert_eq!(ids(&["@ready"]), "PRD-01\n");
    let repo = Repo::ready();
    let ids = |args: &[&str]| stdout(&run(repo.command(BIN).arg("__complete").args(args)));
    assert_eq!(ids(&["@ready"]), "", "all wait for checkpoint ARCH-01");
    assert_eq!(ids(&["@approval"]), "ARCH-01\n");
    repo.approve_arch();
    assert_eq!(ids(&["@ready"]), "DEVOPS-01\nBACKEND-01\nFRONTEND-01\n");
    assert_eq!(ids(&["@approval"]), "");
    let out = run(repo
        .command("git")
        .args(["parallel", "--product", "nope", "__complete"]));
    assert_eq!(stdout(&out), "");
    assert!(out.status.success(), "{}", stderr(&out));
}

// ---- bash --------------------------------------------------------------------------------------

/// Completes `line` (the cursor at its end) in bash with git's completion and ours loaded,
/// returning COMPREPLY sorted. `None` when git's bash completion is not installed.
fn bash_complete(repo: &Repo, line: &str) -> Option<Vec<String>> {
    if !Path::new(GIT_BASH_COMPLETION).is_file() {
        return None;
    }
    let script = format!(
        r#"
[ -f {BASH_COMPLETION} ] && . {BASH_COMPLETION}
. {GIT_BASH_COMPLETION}
. "$OURS"
COMP_LINE=$LINE
COMP_POINT=${{#LINE}}
read -ra COMP_WORDS <<< "$LINE"
[[ $LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMPREPLY=()
func=$(complete -p "${{COMP_WORDS[0]}}" | sed 's/.*-F \([^ ]*\) .*/\1/')
"$func" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#
    );
    let out = run(repo
        .command("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("OURS", source_tree().join("completions/git-parallel.bash"))
        .env("LINE", line));
    assert!(
        out.status.success(),
        "bash failed for {line:?}: {}",
        stderr(&out)
    );
    let mut words: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    words.sort();
    Some(words)
}

#[test]
fn bash_completion_through_git() {
    let repo = Repo::ready();
    let Some(commands) = bash_complete(&repo, "git parallel st") else {
        println!(
            "skipped: {GIT_BASH_COMPLETION} not installed (apt-get install git bash-completion)"
        );
        return;
    };
    assert_eq!(commands, ["start ", "status "]);
    let c = |line: &str| bash_complete(&repo, line).unwrap_or_default();
    assert_eq!(c("git parallel start --dr"), ["--dry-run "]);
    assert_eq!(
        c("git parallel start DEV"),
        Vec::<String>::new(),
        "not ready: ARCH-01 awaits approval"
    );
    assert_eq!(c("git parallel approve "), ["ARCH-01 "]);
    repo.approve_arch();
    assert_eq!(c("git parallel approve "), Vec::<String>::new());
    assert_eq!(c("git parallel start DEV"), ["DEVOPS-01 "]);
    assert_eq!(c("git parallel start -n FRONT"), ["FRONTEND-01 "]);
    assert_eq!(
        c("git parallel --product muaththir start BACK"),
        ["BACKEND-01 "]
    );
    assert_eq!(c("git parallel start QA"), Vec::<String>::new(), "QA waits");
    assert_eq!(
        c("git parallel finish "),
        Vec::<String>::new(),
        "nothing is in progress"
    );
    assert_eq!(
        c("git parallel start DEVOPS-01 "),
        ["BACKEND-01 ", "FRONTEND-01 "],
        "DEVOPS-01 is given already"
    );
    assert_eq!(c("git parallel plan --format=m"), ["mermaid "]);
    assert_eq!(c("git parallel plan --format d"), ["dot "]);
    assert_eq!(
        c("git parallel generate "),
        [
            "bash ",
            "fish ",
            "github-workflow ",
            "gitlab-ci ",
            "k8s-job ",
            "man ",
            "zsh "
        ]
    );
    assert_eq!(c("git parallel generate man "), Vec::<String>::new());
    assert_eq!(c("git parallel --ta"), ["--tasks="]);
    assert!(c("git parallel finish --").contains(&"--allow-outside ".to_string()));
    assert!(c("git parallel --").contains(&"--version ".to_string()));
}

#[test]
fn bash_completion_of_git_parallel_itself() {
    let repo = Repo::new();
    let Some(commands) = bash_complete(&repo, "git-parallel sta") else {
        println!(
            "skipped: {GIT_BASH_COMPLETION} not installed (apt-get install git bash-completion)"
        );
        return;
    };
    assert_eq!(commands, ["start ", "status "]);
    let c = |line: &str| bash_complete(&repo, line).unwrap_or_default();
    assert_eq!(
        c("git-parallel path AR"),
        Vec::<String>::new(),
        "path completes in_progress/failed ids"
    );
    assert_eq!(c("git-parallel abort --f"), ["--force "]);
    assert_eq!(c("git-parallel start ARCH-01 PR"), ["PRD-01 "]);
    assert_eq!(
        c("git-parallel start ARCH-01 AR"),
        Vec::<String>::new(),
        "ARCH-01 is given already"
    );
}

// ---- zsh and fish ------------------------------------------------------------------------------

#[test]
fn zsh_script_parses_and_completes() {
    if !have("zsh") {
        println!("skipped: zsh not installed (apt-get install zsh)");
        return;
    }
    let script = source_tree().join("completions/_git-parallel");
    let out = run(Command::new("zsh").arg("-n").arg(&script));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "zsh -n: {}",
        stderr(&out)
    );
    let repo = Repo::ready();
    let Some(words) = zsh_complete(&repo, "git parallel st") else {
        return;
    };
    assert_eq!(words, ["start", "status"]);
    let c = |line: &str| zsh_complete(&repo, line).unwrap_or_default();
    assert_eq!(c("git-parallel sta"), ["start", "status"]);
    assert_eq!(c("git-parallel approve "), ["ARCH-01"]);
    repo.approve_arch();
    assert_eq!(c("git-parallel start DEV"), ["DEVOPS-01"]);
    assert_eq!(
        c("git parallel --product muaththir start BACK"),
        ["BACKEND-01"]
    );
    assert_eq!(c("git parallel start --dr"), ["--dry-run"]);
    assert_eq!(
        c("git parallel plan --format="),
        ["dot", "json", "mermaid", "text"]
    );
    assert_eq!(
        c("git parallel generate "),
        [
            "bash",
            "fish",
            "github-workflow",
            "gitlab-ci",
            "k8s-job",
            "man",
            "zsh"
        ]
    );
    assert_eq!(
        c("git parallel finish "),
        Vec::<String>::new(),
        "nothing is in progress"
    );
    assert_eq!(
        c("git parallel start DEVOPS-01 "),
        ["BACKEND-01", "FRONTEND-01"],
        "DEVOPS-01 is given already"
    );
}

/// Drives an interactive zsh through zsh/zpty and prints the matches offered for $LINE, one
/// per line after `<c>` (after Valodim/zsh-capture-completion): compadd is wrapped to print its
/// matches, and the completion system exits after the first completion.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || { print -r -- SKIP; exit 0 }
zpty z zsh -f -i
local line init=$ZDOTDIR/init.zsh
cat > $init <<'INIT'
PROMPT=
fpath=("$ZFUNC" $fpath)
autoload -Uz compinit
compinit -u -d "$ZDOTDIR/.zcompdump"
bindkey '^M' undefined
bindkey '^J' undefined
bindkey '^I' complete-word
null-line () { echo -E - $'\0' }
compprefuncs=( null-line )
comppostfuncs=( null-line exit )
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return $?
  fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- "<c>"${^__hits}
}
echo ok
INIT
zpty -w z "source $init"
repeat 4; do
  zpty -r z line
  [[ $line == ok* ]] && break
done
zpty -w z "$LINE"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r line; do
  if [[ $line == *$'\0\r' ]]; then
    (( tog++ )) && exit 0 || continue
  fi
  (( tog )) && print -r -- $line
done
"#;

/// Completes `line` in zsh with compinit and our `_git-parallel` on fpath, returning the
/// matches sorted. `None` (and a message) when zsh's zpty module is missing.
fn zsh_complete(repo: &Repo, line: &str) -> Option<Vec<String>> {
    let zdotdir = repo.home().join("zsh");
    let fpath = zdotdir.join("functions");
    std::fs::create_dir_all(&fpath).unwrap();
    std::fs::copy(
        source_tree().join("completions/_git-parallel"),
        fpath.join("_git-parallel"),
    )
    .unwrap();
    let out = run(repo
        .command("timeout")
        .args(["60", "zsh", "-f", "-c", ZSH_DRIVER])
        .env("ZDOTDIR", &zdotdir)
        .env("ZFUNC", &fpath)
        .env("LINE", line));
    let text = stdout(&out);
    if text.contains("SKIP") {
        println!("skipped: zsh/zpty not available");
        return None;
    }
    let mut words: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("<c>"))
        .map(|w| w.trim_end_matches('\r').to_string())
        .collect();
    words.sort();
    words.dedup();
    Some(words)
}

#[test]
fn fish_completes_commands_flags_and_task_ids() {
    if !have("fish") {
        println!("skipped: fish not installed (apt-get install fish)");
        return;
    }
    let repo = Repo::ready();
    let complete = |line: &str| -> Vec<String> {
        let out = run(repo
            .command("fish")
            .args(["-c", "source $OURS; complete -C $LINE"])
            .env("OURS", source_tree().join("completions/git-parallel.fish"))
            .env("LINE", line));
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "fish {line:?}: {}",
            stderr(&out)
        );
        let mut v: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(complete("git-parallel st"), ["start", "status"]);
    assert_eq!(complete("git-parallel start --dr"), ["--dry-run"]);
    assert_eq!(complete("git-parallel start DEV"), Vec::<String>::new());
    assert_eq!(complete("git-parallel approve "), ["ARCH-01"]);
    repo.approve_arch();
    assert_eq!(complete("git-parallel start DEV"), ["DEVOPS-01"]);
    assert_eq!(
        complete("git-parallel plan --format "),
        ["dot", "json", "mermaid", "text"]
    );
    assert_eq!(complete("git-parallel path "), Vec::<String>::new());
    assert_eq!(complete("git parallel st"), ["start", "status"]);
    assert_eq!(complete("git parallel start DEV"), ["DEVOPS-01"]);
    assert_eq!(
        complete("git parallel start DEVOPS-01 "),
        ["BACKEND-01", "FRONTEND-01"]
    );
}

// ---- install-docs on a fresh HOME ------------------------------------------------------------

/// README's quick start installs the man page before anything else runs, so `git parallel
/// --help` (which git turns into `man git-parallel`) works right after it.
#[test]
fn the_quick_start_installs_the_manual() {
    let readme = std::fs::read_to_string(source_tree().join("README.md")).unwrap();
    let quick = readme
        .split("## Quick start")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.lines().next())
        .expect("README has a quick start command");
    let install = quick.find("cargo install").expect(quick);
    let docs = quick.find("git parallel install-docs").expect(quick);
    assert!(install < docs, "{quick}");
    if let Some(demo) = quick.find("git parallel demo") {
        assert!(docs < demo, "{quick}");
    }
}

/// `cargo install` into a fresh HOME (the binary copied to ~/.cargo/bin), then
/// `git parallel install-docs`: man, bash, fish and zsh find what it wrote with no other setup
/// (zsh: the one fpath line it asks for).
#[test]
fn install_docs_work_on_a_fresh_home() {
    let repo = Repo::new();
    let home = repo.home();
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(BIN, bin.join("git-parallel")).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let fresh = |program: &str| {
        let mut c = repo.command(program);
        c.env("PATH", &path);
        c
    };
    let out = run(fresh("git").args(["parallel", "install-docs"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for what in ["man", "bash", "zsh", "fish"] {
        assert!(text.contains(&format!("wrote {what:<5}")), "{text}");
    }
    assert!(
        stderr(&out).contains("fpath=(~/.zfunc $fpath)"),
        "{}",
        stderr(&out)
    );
    assert!(home.join(".cargo/share/man/man1/git-parallel.1").is_file());

    if have("man") {
        let out = run(fresh("man").args(["-w", "git-parallel"]));
        assert!(out.status.success(), "man -w: {}", stderr(&out));
        assert!(stdout(&out).contains(".cargo/share/man/man1/git-parallel.1"));
        let out = run(fresh("git")
            .args(["help", "parallel"])
            .env("MANPAGER", "cat")
            .env("PAGER", "cat"));
        assert!(
            stdout(&out).contains("GIT-PARALLEL(1)"),
            "git help parallel: {}{}",
            stdout(&out),
            stderr(&out)
        );
        // What a user types right after README's quick start: git turns it into `man
        // git-parallel`, which finds the page install-docs wrote.
        let out = run(fresh("git")
            .args(["parallel", "--help"])
            .env("MANPAGER", "cat")
            .env("PAGER", "cat"));
        assert!(
            out.status.success() && stdout(&out).contains("GIT-PARALLEL(1)"),
            "git parallel --help: {}{}",
            stdout(&out),
            stderr(&out)
        );
    } else {
        println!("skipped man: not installed");
    }

    if Path::new(BASH_COMPLETION).is_file() && Path::new(GIT_BASH_COMPLETION).is_file() {
        // Only bash-completion itself is sourced: git's completion and ours load lazily.
        let script = format!(
            r#"
. {BASH_COMPLETION}
_completion_loader git
LINE="git parallel st"
COMP_LINE=$LINE; COMP_POINT=${{#LINE}}
read -ra COMP_WORDS <<< "$LINE"
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMPREPLY=()
func=$(complete -p git | sed 's/.*-F \([^ ]*\) .*/\1/')
"$func" git "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#
        );
        let out = run(fresh("bash").args(["--norc", "--noprofile", "-c", &script]));
        let mut words: Vec<String> = stdout(&out).lines().map(String::from).collect();
        words.sort();
        assert_eq!(words, ["start ", "status "], "bash: {}", stderr(&out));
    } else {
        println!("skipped bash: bash-completion not installed");
    }

    if have("fish") {
        let out = run(fresh("fish").args(["-c", "complete -C 'git parallel st'"]));
        let mut words: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect();
        words.sort();
        assert_eq!(words, ["start", "status"], "fish: {}", stderr(&out));
    } else {
        println!("skipped fish: not installed");
    }

    if have("zsh") {
        let zfunc = home.join(".zfunc");
        assert!(zfunc.join("_git-parallel").is_file());
        std::fs::create_dir_all(home.join("zsh-driver")).unwrap();
        let out = run(fresh("timeout")
            .args(["60", "zsh", "-f", "-c", ZSH_DRIVER])
            .env("ZDOTDIR", home.join("zsh-driver"))
            .env("ZFUNC", &zfunc)
            .env("LINE", "git parallel st"));
        let text = stdout(&out);
        if text.contains("SKIP") {
            println!("skipped zsh: zpty not available");
        } else {
            let mut words: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("<c>"))
                .map(|w| w.trim_end_matches('\r'))
                .collect();
            words.sort();
            words.dedup();
            assert_eq!(words, ["start", "status"], "zsh: {text}");
        }
    } else {
        println!("skipped zsh: not installed");
    }
}

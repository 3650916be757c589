//! The one table of commands and flags. Parsing, `-h`, `--help`, the man page and the shell
//! completions are all rendered from these definitions; nothing else names a flag.

/// What a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// `--dry-run`
    Switch,
    /// `--tasks PATH` (the last one given wins)
    Value(&'static str),
}

/// How a shell completes a flag's value or a command's positional arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complete {
    Nothing,
    File,
    Dir,
    Choices(&'static [&'static str]),
    /// Task ids of the task file in one of these statuses (empty: any task); `@ready`: ready
    /// to start now, `@approval`: completed checkpoints awaiting approval.
    Tasks(&'static [&'static str]),
    Command,
}

/// One flag: its names, what it takes, its help and how its value completes.
#[derive(Debug)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub arity: Arity,
    /// One line for `-h` and completions.
    pub help: &'static str,
    /// The longer text for `--help` and the man page (may be empty: `help` is used).
    pub doc: &'static str,
    pub complete: Complete,
    /// The `git config` key that sets this flag's default, if any.
    pub config: Option<&'static str>,
}

/// The positional arguments of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positionals {
    None,
    /// Exactly one, named.
    One(&'static str),
    /// Zero or more, named.
    Many(&'static str),
    /// Zero or more ids, then `--` and a command.
    IdsThenCommand,
}

/// One subcommand.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub summary: &'static str,
    /// Long description for `--help` and the man page.
    pub doc: &'static str,
    pub positionals: Positionals,
    pub complete_positionals: Complete,
    pub flags: &'static [&'static Flag],
    pub examples: &'static [(&'static str, &'static str)],
    /// Not listed in help, man page or completions (`__complete`).
    pub hidden: bool,
}

macro_rules! flag {
    ($name:ident, $long:literal, $short:expr, $arity:expr, $complete:expr, $config:expr, $help:literal, $doc:literal) => {
        pub static $name: Flag = Flag {
            long: $long,
            short: $short,
            arity: $arity,
            help: $help,
            doc: $doc,
            complete: $complete,
            config: $config,
        };
    };
}

use Arity::{Switch, Value};

// ---- global flags (accepted before or after the command) -------------------------------------
flag!(
    CHDIR,
    "directory",
    Some('C'),
    Value("PATH"),
    Complete::Dir,
    None,
    "run as if started in PATH",
    "Run as if git-parallel was started in PATH instead of the current directory, like git -C."
);
flag!(TASKS, "tasks", None, Value("PATH"), Complete::File, Some("parallel.tasks"),
    "the task graph file to use",
    "Use this task graph file. Without it: $GIT_PARALLEL_TASKS, then parallel.tasks, then \
     products/<product>/.claude/task-graph.yml when a product is named, then .claude/task-graph.yml, \
     then the only products/*/.claude/task-graph.yml.");
flag!(
    PRODUCT,
    "product",
    None,
    Value("NAME"),
    Complete::Nothing,
    Some("parallel.product"),
    "use products/NAME/.claude/task-graph.yml",
    "Choose the product whose task graph (products/NAME/.claude/task-graph.yml) is used."
);
flag!(JSON, "json", None, Switch, Complete::Nothing, None,
    "print machine-readable JSON (see docs/json.md)",
    "Print one JSON document on stdout instead of text. The schema is versioned and documented in docs/json.md.");
flag!(
    QUIET,
    "quiet",
    Some('q'),
    Switch,
    Complete::Nothing,
    None,
    "print nothing but errors; no progress",
    "Print nothing on success and show no progress bars."
);
flag!(HELP, "help", Some('h'), Switch, Complete::Nothing, None,
    "-h: short usage; --help: the manual page",
    "-h prints a short usage; --help opens the git-parallel(1) manual page like git does, or prints \
     the long help when no manual page is installed.");

flag!(
    COLOR,
    "color",
    None,
    Value("WHEN"),
    Complete::Choices(&["always", "never", "auto"]),
    None,
    "colour output: always, never or auto",
    "Colour the output: always, never, or auto (only on a terminal; the default). Without it, \
     NO_COLOR (set and not empty) means never, then git config color.parallel, then color.ui \
     (always, never, auto, or true meaning auto) decide, like git."
);

pub static GLOBAL_FLAGS: &[&Flag] = &[&CHDIR, &TASKS, &PRODUCT, &JSON, &QUIET, &COLOR, &HELP];

flag!(
    VERSION,
    "version",
    Some('V'),
    Switch,
    Complete::Nothing,
    None,
    "print the version",
    "Print the program's version and exit."
);

// ---- command flags ---------------------------------------------------------------------------
flag!(
    DRY_RUN,
    "dry-run",
    Some('n'),
    Switch,
    Complete::Nothing,
    None,
    "print the plan and change nothing",
    "Compute and print the plan (every step the transaction would take) and change nothing."
);
flag!(FORMAT, "format", None, Value("FORMAT"), Complete::Choices(&["text", "json", "dot", "mermaid"]), None,
    "output format: text, json, dot or mermaid",
    "How to print the plan: text (default), json, dot (Graphviz) or mermaid. dot and mermaid draw the \
     dependency graph with each task coloured by status.");
flag!(MAX, "max", None, Value("N"), Complete::Nothing, Some("parallel.maxTasks"),
    "start at most N tasks (highest priority first)",
    "Start at most N of the ready tasks: highest priority first (critical, high, normal, low), then \
     file order. For plan: at most N new tasks per wave. Default: git config parallel.maxTasks, \
     else no limit.");
flag!(NO_COMMIT, "no-commit", None, Switch, Complete::Nothing, None,
    "leave the task file edit uncommitted in the main worktree",
    "Do not commit the task file change on the target branch; leave it as an uncommitted change in \
     the main worktree (start: task branches then start from the target tip as it is). finish needs \
     the task file committed: git commit -- <task file>.");
flag!(
    START_FORCE,
    "force",
    Some('f'),
    Switch,
    Complete::Nothing,
    None,
    "start named tasks despite resource conflicts",
    "Start the named tasks even when they share files with each other or with running tasks. \
     Dependencies and checkpoints are always checked."
);
flag!(ABORT_FORCE, "force", Some('f'), Switch, Complete::Nothing, None,
    "abort tasks with commits or changes (their tips are backed up)",
    "Also abort tasks whose branch has commits of its own, whose worktree has uncommitted or untracked \
     changes, or whose worktree is locked. Each branch tip is first saved under \
     refs/parallel/backup/<id>, and the message says how to get it back. Uncommitted and untracked \
     changes are saved as a commit under refs/parallel/backup/<id>-wip ('git parallel undo' puts \
     them back into the worktree). Ignored files are kept as without --force (parallel.keepIgnored).");
flag!(
    PARTIAL,
    "partial",
    None,
    Switch,
    Complete::Nothing,
    None,
    "merge the tasks that merge cleanly, leave the others running",
    "When some tasks conflict, merge the ones that merge cleanly and leave the conflicting ones \
     in progress, saying which."
);
flag!(TEST, "test", None, Value("CMD"), Complete::Command, Some("parallel.test"),
    "run CMD on the merged result before the target moves",
    "Check the merged result out in a temporary worktree and run CMD there with the shell. The target \
     branch only moves when CMD exits 0.");
flag!(
    KEEP,
    "keep",
    None,
    Switch,
    Complete::Nothing,
    None,
    "keep the task worktrees and branches after merging",
    "Keep each task's worktree and branch after its work is merged."
);
flag!(
    ALLOW_OUTSIDE,
    "allow-outside",
    None,
    Switch,
    Complete::Nothing,
    Some("parallel.boundaries"),
    "warn, instead of refusing, about files changed outside a task's paths",
    "A task branch that changed files outside its produces[].path and shared_files is refused by \
     default; with this flag (or parallel.boundaries=warn) it is only a warning."
);
flag!(
    REASON,
    "reason",
    Some('m'),
    Value("TEXT"),
    Complete::Nothing,
    None,
    "why the task failed (recorded as its result)",
    "A short reason, recorded in the task's result field."
);
flag!(ABORT_OP, "abort", None, Switch, Complete::Nothing, None,
    "roll the interrupted operation back",
    "Undo every step the interrupted operation had done, in reverse, restoring the repository as it was before it.");
flag!(
    CONTINUE_OP,
    "continue",
    None,
    Switch,
    Complete::Nothing,
    None,
    "complete the interrupted operation",
    "Run the remaining steps of the interrupted operation."
);
flag!(
    JOBS,
    "jobs",
    Some('j'),
    Value("N"),
    Complete::Nothing,
    None,
    "run at most N commands at once (default: number of CPUs)",
    "Run at most N commands at the same time. The default is the number of CPUs."
);
flag!(
    OUTPUT,
    "output",
    Some('o'),
    Value("PATH"),
    Complete::File,
    None,
    "write to PATH instead of stdout",
    "Write the generated file to PATH instead of standard output."
);
flag!(
    KEEP_DEMO,
    "keep",
    None,
    Switch,
    Complete::Nothing,
    None,
    "keep the demo repository",
    "Keep the demo repository and print where it is."
);

flag!(STATUS_ALL, "all", None, Switch, Complete::Nothing, None,
    "list every task, completed ones too",
    "List every completed and skipped task on its own line instead of summarising them in one line.");

// ---- commands ----------------------------------------------------------------------------------
pub static STATUS: Command = Command {
    name: "status",
    summary: "show every task, its worktree and what is ready to start",
    doc: "One line per task: id, agent and status, and for active tasks the branch, worktree, whether \
          it is dirty and how many commits it is ahead of and behind the target. Then what is ready \
          now and what blocks the rest. Then the conflict radar: in-progress tasks whose committed \
          work conflicts with another running task or with the target (in-memory merges of their \
          tips, nothing written), and files a task changed outside its produces/shared_files. \
          This is the default command.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&STATUS_ALL],
    examples: &[("git parallel", "show the state of the task graph"),
                ("git parallel status --all", "list completed tasks too"),
                ("git parallel status --json", "the same for a program")],
    hidden: false,
};

pub static PLAN: Command = Command {
    name: "plan",
    summary: "show the waves a full run would take and the critical path",
    doc: "Simulate a full run: the waves of tasks that would start together (respecting parallel_ok, \
          resource conflicts and checkpoints), the critical path by estimated_time_minutes, and the \
          sequential against parallel minutes.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&FORMAT, &MAX],
    examples: &[("git parallel plan --format mermaid", "draw the graph for a Markdown page"),
                ("git parallel plan --format dot | dot -Tsvg > graph.svg", "draw it with Graphviz")],
    hidden: false,
};

pub static PATH: Command = Command {
    name: "path",
    summary: "print the worktree path of a task",
    doc: "Print the absolute path of the task's worktree, for cd \"$(git parallel path ID)\".",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["in_progress", "failed"]),
    flags: &[],
    examples: &[(
        "cd \"$(git parallel path BACKEND-01)\"",
        "go to a task's worktree",
    )],
    hidden: false,
};

pub static VALIDATE: Command = Command {
    name: "validate",
    summary: "check the task graph and report every problem with its location",
    doc:
        "Check the task file: YAML syntax, duplicate ids, unknown dependencies, dependency cycles, \
          unknown status values, ids, agents and products outside the safe character set or too \
          long, merge keys, paths that escape the repository, the branch and worktree names start \
          would use under the configured templates, and consumed artifacts that are never \
          produced (a warning). Shorthand read liberally (a single value for a list, paths in \
          produces) is shown as a note. Exits 1 when there are errors.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[],
    examples: &[(
        "git parallel validate --tasks graph.yml",
        "check a file before committing it",
    )],
    hidden: false,
};

pub static START: Command = Command {
    name: "start",
    summary: "create a branch and a worktree for every ready task",
    doc: "Start tasks as one transaction: with no ids, every task that is ready and may run together; \
          with ids, those tasks. Each gets a branch (parallel.branchTemplate, default \
          feature/{product}/{role}-{id}) and a worktree (parallel.worktreeTemplate, default \
          ../worktrees/{product}/{role}-{id}) created from the target branch after the task file \
          has been marked in_progress and committed there. Either every task starts or nothing \
          changes.",
    positionals: Positionals::Many("ID"),
    complete_positionals: Complete::Tasks(&["@ready"]),
    flags: &[&DRY_RUN, &NO_COMMIT, &START_FORCE, &MAX],
    examples: &[("git parallel start", "start every ready task"),
                ("git parallel start BACKEND-01 FRONTEND-01", "start two tasks"),
                ("git parallel start --dry-run", "show what would be done")],
    hidden: false,
};

pub static FINISH: Command = Command {
    name: "finish",
    summary: "merge finished task branches into the target, then clean up",
    doc: "Merge every in-progress task branch that has commits (or the named ones) into the target \
          branch as --no-ff merge commits, computed in memory; optionally test the result; then \
          advance the target in one compare-and-swap step, mark the tasks completed, and remove their \
          worktrees and branches (kept under refs/parallel/backup/). If any merge conflicts, nothing \
          changes.",
    positionals: Positionals::Many("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&DRY_RUN, &PARTIAL, &TEST, &KEEP, &ALLOW_OUTSIDE],
    examples: &[("git parallel finish --test 'cargo test'", "merge everything, land only if tests pass"),
                ("git parallel finish --partial", "merge what merges cleanly")],
    hidden: false,
};

pub static ABORT: Command = Command {
    name: "abort",
    summary: "remove started tasks that have no work yet and set them back to pending",
    doc:
        "Remove the worktrees and branches of started tasks and set them back to pending. Refuses \
          tasks with commits, uncommitted or untracked changes, a locked worktree, or initialised \
          submodules unless --force. Only branches git-parallel made for the task are deleted: an \
          assigned_to naming another branch is refused. Ignored files of a removed worktree are \
          kept under $GIT_COMMON_DIR/parallel/ignored/ (parallel.keepIgnored).",
    positionals: Positionals::Many("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&DRY_RUN, &ABORT_FORCE, &NO_COMMIT],
    examples: &[("git parallel abort BACKEND-01", "give a task back")],
    hidden: false,
};

pub static FAIL: Command = Command {
    name: "fail",
    summary: "record that a task failed, keeping its branch and worktree",
    doc: "Set the task's status to failed, increment retry_count and record the reason. The branch and \
          worktree are kept for debugging.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&REASON, &DRY_RUN, &NO_COMMIT],
    examples: &[("git parallel fail API-01 --reason 'tests time out'", "mark a task failed")],
    hidden: false,
};

pub static RETRY: Command = Command {
    name: "retry",
    summary: "restart a failed task from a fresh worktree",
    doc: concat!("Restart a failed task: its old branch is kept under refs/parallel/backup/, and a fresh branch \
          and worktree are made from the target. Refuses after parallel.maxRetries (default ", crate::default_max_retries!(), ") \
          retries and marks the task blocked."),
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["failed"]),
    flags: &[&DRY_RUN],
    examples: &[("git parallel retry API-01", "try again")],
    hidden: false,
};

pub static APPROVE: Command = Command {
    name: "approve",
    summary: "approve a completed checkpoint task so its dependents may start",
    doc: "Record approved_at on a completed checkpoint task; tasks that depend on it become ready.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["@approval"]),
    flags: &[&DRY_RUN],
    examples: &[("git parallel approve ARCH-01", "approve the architecture")],
    hidden: false,
};

pub static RECOVER: Command = Command {
    name: "recover",
    summary: "roll back or complete an operation that was interrupted",
    doc: "When a git-parallel command was killed half-way, its journal remains and every command \
          refuses to act. --abort undoes what it did; --continue completes it.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&ABORT_OP, &CONTINUE_OP],
    examples: &[(
        "git parallel recover --abort",
        "put everything back as it was",
    )],
    hidden: false,
};

pub static UNDO: Command = Command {
    name: "undo",
    summary: "reverse the last completed operation",
    doc:
        "Reverse the last completed operation recorded in the operation log (start, finish, abort, \
          fail, retry, approve, undo): refs move back with expected values, deleted branches and \
          worktrees are recreated, the task file is restored; uncommitted changes saved by abort \
          --force are put back into the worktree. Backup refs stay unless a restored branch holds \
          their commit (gc trims them). Refuses when something changed since.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&DRY_RUN],
    examples: &[("git parallel undo", "take back the last finish")],
    hidden: false,
};

pub static GC: Command = Command {
    name: "gc",
    summary: "delete backups older than parallel.keepBackups days",
    doc: concat!("Delete refs/parallel/backup/* refs and kept ignored files ($GIT_COMMON_DIR/parallel/ignored/*) \
          older than parallel.keepBackups days (default ", crate::default_keep_backups!(), "). A backup's age counts from when it was \
          made (the operation log, else its reflog), never from its commits' dates; one of unknown \
          age is kept."),
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&DRY_RUN],
    examples: &[],
    hidden: false,
};

pub static EXEC: Command = Command {
    name: "exec",
    summary: "run a command in every active task worktree",
    doc:
        "Run CMD in the worktree of every in-progress task (or the named ones), concurrently, each \
          output line prefixed with the task id; a summary of exit statuses at the end. Exits 1 if \
          any command failed.",
    positionals: Positionals::IdsThenCommand,
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&JOBS],
    examples: &[
        ("git parallel exec -- cargo test", "test every task"),
        (
            "git parallel exec API-01 -- git log --oneline -3",
            "one task",
        ),
    ],
    hidden: false,
};

pub static DEMO: Command = Command {
    name: "demo",
    summary: "run the whole lifecycle on a throwaway repository",
    doc: "Build a repository in a temporary directory from a built-in example graph, start its ready \
          tasks, make each agent's commit, finish with a test gate, and show every step and the final \
          history.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&KEEP_DEMO],
    examples: &[("git parallel demo", "see it work")],
    hidden: false,
};

pub static GENERATE: Command = Command {
    name: "generate",
    summary: "write the man page or a shell completion script",
    doc: "Print (or write with --output) the man page or the completion script for bash, zsh or fish.",
    positionals: Positionals::One("KIND"),
    complete_positionals: Complete::Choices(&["man", "bash", "zsh", "fish"]),
    flags: &[&OUTPUT],
    examples: &[("git parallel generate man -o ~/.local/share/man/man1/git-parallel.1", "install the man page")],
    hidden: false,
};

pub static INSTALL_DOCS: Command = Command {
    name: "install-docs",
    summary: "install the man page and the bash, zsh and fish completions",
    doc: "Write the man page beside this binary (<bin>/../share/man/man1, where man finds it for \
          every directory on PATH) and the completion scripts where bash-completion, zsh and fish \
          load them for the current user, then say what, if anything, is left to do (zsh needs \
          ~/.zfunc on its fpath). Nothing is written outside the user's own directories and \
          the binary's prefix. Run it again after an upgrade. Packagers use generate instead.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&DRY_RUN],
    examples: &[("git parallel install-docs", "after cargo install")],
    hidden: false,
};

pub static COMPLETE: Command = Command {
    name: "__complete",
    summary: "list task ids for shell completion",
    doc: "",
    positionals: Positionals::Many("STATUS"),
    complete_positionals: Complete::Nothing,
    flags: &[],
    examples: &[],
    hidden: true,
};

/// Every command, in the order help lists them.
pub static COMMANDS: &[&Command] = &[
    &STATUS,
    &PLAN,
    &PATH,
    &VALIDATE,
    &START,
    &FINISH,
    &ABORT,
    &FAIL,
    &RETRY,
    &APPROVE,
    &RECOVER,
    &UNDO,
    &GC,
    &EXEC,
    &DEMO,
    &GENERATE,
    &INSTALL_DOCS,
    &COMPLETE,
];

/// `git config` keys read outside any flag (documented in the man page's CONFIGURATION).
pub static CONFIG_KEYS: &[(&str, &str)] = &[
    ("parallel.tasks", "the task graph file (like --tasks)"),
    ("parallel.product", "the product whose task graph is used (like --product)"),
    ("parallel.target", "the branch tasks start from and merge into (default: the branch checked out in the main worktree)"),
    ("parallel.branchTemplate", "task branch names; {product}, {role}, {id}, {agent} are replaced (default feature/{product}/{role}-{id})"),
    ("parallel.worktreeTemplate", "task worktree paths, relative to the main worktree (default ../worktrees/{product}/{role}-{id})"),
    ("parallel.maxTasks", "start at most this many tasks per start (and per plan wave); --max overrides"),
    ("parallel.launch", "the next step printed per started task; {worktree}, {product}, {id}, {branch} are replaced (default cd {worktree})"),
    ("parallel.copy", "multi-valued: globs of untracked or ignored files copied into each new worktree (also .worktreeinclude)"),
    ("parallel.postStart", "a shell command run in each new worktree; its failure rolls the start back"),
    ("parallel.test", "the test gate command of finish (like --test)"),
    ("parallel.boundaries", "error (default) or warn: files changed outside a task's paths"),
    ("parallel.mergeMessage", "merge commit message template; {type}, {product}, {name}, {id}, {branch}"),
    ("parallel.foldStatus", "true: finish folds the task file's status change into its last merge commit (one commit per merged task, no chore(...) commit); default false, so every merge commit is exactly the task's branch merged and the status change stays a separate commit that can be reverted alone"),
    ("parallel.maxRetries", concat!("how many retries a task gets before it is blocked (default ", crate::default_max_retries!(), ")")),
    ("parallel.radar", "false turns off status's conflict radar (default true)"),
    ("parallel.keepBackups", concat!("days backup refs and kept ignored files are kept before gc deletes them (default ", crate::default_keep_backups!(), ")")),
    ("parallel.keepIgnored", "true (default): a removed task worktree's ignored files (.env, notes, build output) are moved to $GIT_COMMON_DIR/parallel/ignored/<time>-<worktree>/ and named; false: they are deleted, still named"),
    ("color.parallel", "always, never, auto, or true (auto) / false: colour for git-parallel; before color.ui (--color and NO_COLOR override both)"),
    ("color.ui", "the colour default of git and git-parallel, read like color.parallel"),
];

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().copied().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_defines_a_flag_twice_or_shadows_a_global() {
        for cmd in COMMANDS {
            let mut names: Vec<String> = GLOBAL_FLAGS
                .iter()
                .chain(cmd.flags.iter())
                .flat_map(|f| {
                    let mut v = vec![format!("--{}", f.long)];
                    if let Some(s) = f.short {
                        v.push(format!("-{s}"));
                    }
                    v
                })
                .collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(n, names.len(), "duplicate flag name in {}", cmd.name);
        }
    }

    #[test]
    fn help_lines_are_short_and_lowercase() {
        for f in GLOBAL_FLAGS
            .iter()
            .chain(COMMANDS.iter().flat_map(|c| c.flags.iter()))
        {
            assert!(f.help.len() <= 72, "--{} help too long", f.long);
            assert!(
                !f.help.ends_with('.'),
                "--{} help ends with a period",
                f.long
            );
        }
    }
}

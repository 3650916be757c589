//! The one table of commands and flags. Parsing, `-h`, `--help`, the man page and the shell
//! completions are all rendered from these definitions; nothing else names a flag.

use crate::output::ColorWhen;

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
    /// For a flag whose value is one of a fixed set: how the parser reads it into a `Choice`.
    pub choose: Option<Chooser>,
}

/// The output formats of `plan --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Json,
    Dot,
    Mermaid,
}

/// A flag value read from a fixed set of words by the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Color(ColorWhen),
    PlanFormat(PlanFormat),
}

/// How a flag's value is read into a `Choice`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chooser {
    /// `--color`: always, never or auto (and git's other spellings).
    Color,
    /// `plan --format`: text, json, dot or mermaid.
    PlanFormat,
}

impl Chooser {
    /// The typed value of `v`, or the usage message for a value not in the set.
    pub fn read(self, v: &str) -> Result<Choice, String> {
        match self {
            Chooser::Color => crate::output::parse_color_flag(v)
                .map(Choice::Color)
                .ok_or_else(|| format!("invalid --color value '{v}' (use always, never or auto)")),
            Chooser::PlanFormat => match v {
                "text" => Ok(PlanFormat::Text),
                "json" => Ok(PlanFormat::Json),
                "dot" => Ok(PlanFormat::Dot),
                "mermaid" => Ok(PlanFormat::Mermaid),
                _ => Err(format!(
                    "unknown format '{v}' (expected text, json, dot or mermaid)"
                )),
            }
            .map(Choice::PlanFormat),
        }
    }
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

/// Which command a `Command` of the table is; dispatch matches on it exhaustively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandId {
    Status,
    Plan,
    Path,
    Validate,
    Start,
    Finish,
    Run,
    Abort,
    Skip,
    Fail,
    Retry,
    Approve,
    Join,
    Work,
    Recover,
    Undo,
    Gc,
    Exec,
    Demo,
    Generate,
    InstallDocs,
    Complete,
}

/// One subcommand.
#[derive(Debug)]
pub struct Command {
    pub id: CommandId,
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
    /// With a shared remote (`--remote`, `parallel.remote`): how the command takes part.
    pub remote: RemotePolicy,
}

/// How a command takes part in work shared through a remote.
#[derive(Clone, Copy, Debug)]
pub enum RemotePolicy {
    /// Reads only, or has nothing to publish: no sync first, no push.
    None,
    /// Syncs from the remote before it plans and publishes its changes with one leased push;
    /// when the push loses a race, it is refused (the command is not safe to recompute).
    Once,
    /// As `Once`, and when the push loses a race it fetches again and recomputes on the new tip
    /// (up to the attempts `workflow::remote` allows).
    Recompute,
    /// `Recompute` when the flag is given, else `Once` (`start --retry`).
    RecomputeWith(&'static Flag),
}

macro_rules! flag {
    ($name:ident, $long:literal, $short:expr, $arity:expr, $complete:expr, $config:expr, $help:literal, $doc:literal) => {
        flag!($name, $long, $short, $arity, $complete, $config, $help, $doc, None);
    };
    ($name:ident, $long:literal, $short:expr, $arity:expr, $complete:expr, $config:expr, $help:literal, $doc:literal, $choose:expr) => {
        pub static $name: Flag = Flag {
            long: $long,
            short: $short,
            arity: $arity,
            help: $help,
            doc: $doc,
            complete: $complete,
            config: $config,
            choose: $choose,
        };
    };
}

mod commands;
mod flags;
#[cfg(test)]
mod tests;

pub use commands::*;
pub use flags::*;

/// `git config` keys read outside any flag (documented in the man page's CONFIGURATION).
pub static CONFIG_KEYS: &[(&str, &str)] = &[
    ("parallel.tasks", "the task graph file (like --tasks)"),
    ("parallel.product", "the product whose task graph is used (like --product)"),
    ("parallel.target", "the branch tasks start from and merge into (default: the branch checked out in the main worktree); a linked worktree that has it checked out is the one start and finish update"),
    ("parallel.branchTemplate", "task branch names; {product}, {role}, {id}, {agent} are replaced (default feature/{product}/{role}-{id})"),
    ("parallel.worktreeTemplate", "task worktree paths, relative to the main worktree (default ../worktrees/{product}/{role}-{id})"),
    ("parallel.maxTasks", "start at most this many tasks per start (and per plan wave); --max overrides"),
    ("parallel.launch", "the next step printed per started task; {worktree}, {product}, {id}, {branch} are replaced (default: the hand-off line of the parallel.agent preset, e.g. cd {worktree} && claude '/orchestrator Execute task {id}', else cd {worktree})"),
    ("parallel.copy", "multi-valued: globs of untracked or ignored files copied into each new worktree (also .worktreeinclude)"),
    ("parallel.postStart", "a shell command run in each new worktree; its failure rolls the start back"),
    ("parallel.test", "the test gate command of finish (like --test)"),
    ("parallel.gateWorktree", "keep (default): the test gate runs in one detached worktree kept at $GIT_COMMON_DIR/parallel/gate, checked out at each tested commit and cleaned of tracked and untracked changes but not of ignored files, so build output survives from one gate to the next (gc removes it after parallel.keepBackups days unused); run tests its landings there in the background while agents go on. temp: a fresh temporary worktree per gate, removed after it, and run's gate inside the landing"),
    ("parallel.boundaries", "error (default) or warn: files changed outside a task's paths"),
    ("parallel.mergeMessage", "merge commit message template; {type}, {product}, {name} (as written in the task file), {id}, {branch}; default {type}({product}): {name} ({id})"),
    ("parallel.foldStatus", "true: finish folds the task file's status change into its last merge commit (one commit per merged task, no chore(...) commit); default false, so every merge commit is exactly the task's branch merged and the status change stays a separate commit that can be reverted alone; run without a remote folds unless this is set"),
    ("parallel.maxRetries", concat!("how many retries a task gets before it is blocked (default ", crate::default_max_retries!(), ")")),
    ("parallel.onConflict", "merge (default): after a task's merge conflicts with the target, run merges the target into its worktree, conflict markers in place, before the agent's next attempt; retry: the agent runs again on its old base"),
    ("parallel.prompt", "the prompt of a preset agent (run --agent claude and the others); {id}, {name}, {brief} (the brief's text), {brief_file}, {branch}, {worktree}, {product} are replaced, never by a shell (default for claude: /orchestrator Execute task {id}, then the brief)"),
    ("parallel.taskMaxCost", "a task whose agents reported this many US dollars gets no more attempts: it is marked failed instead of retried"),
    ("parallel.ports", "give each started task this many consecutive ports (default 0: none), distinct from every other task worktree's and free when assigned, kept while its worktree lives (retries included): GIT_PARALLEL_PORT (the first) and GIT_PARALLEL_PORTS for run's agents, exec and postStart, and shown by status; the test gate gets a free block of its own"),
    ("parallel.portBase", "the first port of the blocks of parallel.ports (default 20000)"),
    ("parallel.envTemplate", "a tracked file (e.g. .env.parallel) rendered into each new task worktree as parallel.envFile; {port}, {ports}, {id}, {branch}, {worktree}, {product} are replaced as text, never by a shell. Keep the rendered file ignored by git"),
    ("parallel.envFile", "the name of the rendered parallel.envTemplate in a task worktree (default .env)"),
    ("parallel.setupKey", "multi-valued: files (lockfiles) whose contents decide whether parallel.postStart runs again in a reused worktree (parallel.reuseWorktrees): not when they are as after its last postStart"),
    ("parallel.radar", "false turns off status's conflict radar (default true)"),
    ("parallel.keepBackups", concat!("days backup refs and kept ignored files are kept before gc deletes them (default ", crate::default_keep_backups!(), ")")),
    ("parallel.keepIgnored", "true (default): a removed task worktree's ignored files (.env, notes, build output) are moved to $GIT_COMMON_DIR/parallel/ignored/<time>-<worktree>/ and named, but for a landed task's regenerable build output (parallel.regenerable), deleted with its worktree, named; false: they are all deleted, still named"),
    ("parallel.regenerable", "multi-valued: globs of ignored paths that are regenerable build output, added to the built-in list: a directory holding a CACHEDIR.TAG (cargo's target/, .pytest_cache, .mypy_cache and others write one), node_modules, __pycache__, .pytest_cache, .mypy_cache, .ruff_cache, .tox, and .venv holding pyvenv.cfg. A glob without / matches a path's last component, one with / the whole path from the worktree's top (a leading / anchors it; a trailing / is ignored). finish does not keep such output of the tasks it lands (abort, retry and undo keep it), and parallel.keepIgnoredMax deletes it first. Everything else ignored (.env, notes, editor state) could be someone's work and is only deleted by gc after parallel.keepBackups days"),
    ("parallel.keepIgnoredMax", concat!("the cap on kept ignored files ($GIT_COMMON_DIR/parallel/ignored/), with git's k/m/g suffixes (500m, 2g; default ", crate::default_keep_ignored_max_mib!(), "m); unlimited: no cap. When finish keeps files and the total is over it, and at gc, regenerable output (parallel.regenerable) in the kept files is deleted, oldest first, until it fits, and named with its size; what could be someone's work is never deleted: when the cap cannot be met, a note says so and names the largest paths left. 0 keeps no regenerable output at all (and gives no such note)")),
    ("parallel.reuseWorktrees", "true: finish parks each clean task worktree in the pool (<worktree root>/.parallel-pool/, detached at its branch's last commit, its ignored files kept) instead of removing it, and start takes a parked worktree for a new task, writing only the files that differ, then copies the include files and runs parallel.postStart as for a new one. Default false: a reused worktree carries over the ignored files of its last task (build caches, but also stale build output and copies of secrets made by .worktreeinclude/parallel.copy) and keeps their disk space; caches keyed by absolute path (e.g. cargo's target/) may rebuild once after the move"),
    ("parallel.poolSize", concat!("at most this many parked worktrees (default ", crate::default_pool_size!(), "; 0 parks none): finish trims the oldest to make room, gc trims the pool to it (to 0 with parallel.reuseWorktrees off); a trimmed worktree's ignored files go as a removed one's (parallel.keepIgnored)")),
    ("parallel.sandboxWritable", "multi-valued: more paths a sandboxed command may write (see SANDBOX), e.g. ~/.cargo/registry or ~/.npm; ~/ is $HOME, a relative path is relative to the main worktree; none by default"),
    ("parallel.remoteDir", "the clone directory of run --executor ssh on each host (default ~/.cache/git-parallel/<repository name>; {host} is replaced by the host); cloned from the remote's URL there when missing"),
    ("parallel.pollInterval", "how often run --executor ssh|command reads the remote's leases and outcomes, one ls-remote for all tasks (default 2s)"),
    ("parallel.leaseInterval", "how often git parallel work renews its task's lease refs/parallel/lease/ID on the remote (default 10s; a bare number is seconds)"),
    ("parallel.leaseTimeout", "a lease not renewed for this long counts as a lost worker: run --executor dispatches the attempt again, status says expired (default 60s; a bare number is seconds)"),
    ("color.parallel", "always, never, auto, or true (auto) / false: colour for git-parallel; before color.ui (--color and NO_COLOR override both)"),
    ("color.ui", "the colour default of git and git-parallel, read like color.parallel"),
];

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().copied().find(|c| c.name == name)
}

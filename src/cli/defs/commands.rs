//! Every command, with its help text, positionals, flags and examples, and the order help
//! lists them in.

use super::flags::*;
use super::{Command, CommandId, Complete, Positionals, RemotePolicy};

pub static STATUS: Command = Command {
    id: CommandId::Status,
    name: "status",
    summary: "show every task, its worktree and what is ready to start",
    doc: "One line per task: id, agent and status, and for active tasks the branch, worktree, whether \
          it is dirty and how many commits it is ahead of and behind the target. Then, for unfinished \
          tasks git parallel run tried, the attempts and why the last one failed. Then what is ready \
          now and what blocks the rest. Then the conflict radar: in-progress tasks whose committed \
          work conflicts with another running task or with the target (in-memory merges of their \
          tips, nothing written), and files a task changed outside its produces/shared_files. \
          This is the default command.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&STATUS_ALL, &REMOTE],
    examples: &[("git parallel", "show the state of the task graph"),
                ("git parallel status --all", "list completed tasks too"),
                ("git parallel status --json", "the same for a program")],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static PLAN: Command = Command {
    id: CommandId::Plan,
    name: "plan",
    summary: "show the waves a full run would take and the critical path",
    doc: "Simulate a full run: the waves of tasks that would start together (respecting parallel_ok, \
          resource conflicts and checkpoints), the critical path by estimated_time_minutes, and the \
          sequential against parallel minutes. A task in a later wave says why: a dependency, a \
          file it shares with a task of the wave before (named), a task that runs alone, or --max.",
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&FORMAT, &MAX],
    examples: &[("git parallel plan --format mermaid", "draw the graph for a Markdown page"),
                ("git parallel plan --format dot | dot -Tsvg > graph.svg", "draw it with Graphviz")],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static PATH: Command = Command {
    id: CommandId::Path,
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
    remote: RemotePolicy::None,
};

pub static VALIDATE: Command = Command {
    id: CommandId::Validate,
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
    remote: RemotePolicy::None,
};

pub static START: Command = Command {
    id: CommandId::Start,
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
    flags: &[&DRY_RUN, &NO_COMMIT, &START_FORCE, &MAX, &REMOTE, &NO_WORKTREE, &START_RETRY],
    examples: &[("git parallel start", "start every ready task"),
                ("git parallel start BACKEND-01 FRONTEND-01", "start two tasks"),
                ("git parallel start --dry-run", "show what would be done")],
    hidden: false,
    remote: RemotePolicy::RecomputeWith(&START_RETRY),
};

pub static FINISH: Command = Command {
    id: CommandId::Finish,
    name: "finish",
    summary: "merge finished task branches into the target, then clean up",
    doc: "Merge every in-progress task branch that has commits (or the named ones) into the target \
          branch as --no-ff merge commits, computed in memory; optionally test the result; then \
          advance the target in one compare-and-swap step, mark the tasks completed, and remove their \
          worktrees and branches (kept under refs/parallel/backup/). If any merge conflicts, nothing \
          changes. Local changes in the main worktree are left alone, as git merge leaves them; \
          finish refuses only when one is to a file the landing writes (a merged file, the task \
          file), and names it. A task whose branch edits the task file (only git-parallel writes \
          it), or whose worktree is on another branch or a detached HEAD, is refused, named.",
    positionals: Positionals::Many("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&DRY_RUN, &PARTIAL, &TEST, &KEEP, &ALLOW_OUTSIDE, &REMOTE],
    examples: &[("git parallel finish --test 'cargo test'", "merge everything, land only if tests pass"),
                ("git parallel finish --partial", "merge what merges cleanly")],
    hidden: false,
    remote: RemotePolicy::Recompute,
};

pub static RUN: Command = Command {
    id: CommandId::Run,
    name: "run",
    summary: "run an agent on every task, finish and retry them, unattended",
    doc: "Drive the whole graph (or the named tasks and what they depend on): start every ready \
          task, run the agent (--agent, parallel.agent) in its worktree, finish it as soon as its \
          agent exits 0 with commits, and start what became ready at once. A task that produces \
          no files (no produces entry with a path: a review, a gate) is completed without a merge \
          when its agent exits 0 without commits. A failed attempt (exit not 0, no commits, \
          --timeout, a conflict, files outside its paths, the test gate) runs the agent again in \
          the same worktree, up to parallel.maxRetries retries; then the task is marked failed, \
          its branch and worktree kept ('git parallel retry ID' gives it another round, 'git \
          parallel skip ID' drops it), and the rest goes on. A task completed meanwhile (by hand, \
          or by its own agent) is left completed. Completed checkpoints hold their dependents \
          until 'git parallel approve'. Each start, finish and fail is the command itself, its own \
          transaction, published with --remote / parallel.remote like the command; a repository \
          lock held by another git-parallel is waited for. Run again to continue after an \
          interruption. Exits 1 when a task ended failed.",
    positionals: Positionals::Many("ID"),
    complete_positionals: Complete::Tasks(&[]),
    flags: &[
        &DRY_RUN, &AGENT, &RUN_JOBS, &RUN_TEST, &TIMEOUT, &MAX_COST, &DEADLINE, &SANDBOX, &REMOTE,
        &EXECUTOR, &HOSTS, &DISPATCH,
    ],
    examples: &[
        (
            "git parallel run --agent 'my-agent \"$GIT_PARALLEL_TASK_BRIEF\"'",
            "run every task to the end",
        ),
        (
            "git parallel run --agent claude --max-cost 20",
            "Claude Code on every task, at most $20 in all",
        ),
        (
            "git parallel run -j 2 --test 'make test' API-01",
            "API-01 and what it depends on, two agents at a time",
        ),
    ],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static ABORT: Command = Command {
    id: CommandId::Abort,
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
    flags: &[&DRY_RUN, &ABORT_FORCE, &NO_COMMIT, &REMOTE],
    examples: &[("git parallel abort BACKEND-01", "give a task back")],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static SKIP: Command = Command {
    id: CommandId::Skip,
    name: "skip",
    summary:
        "drop a task on purpose: save its work, remove its worktree and branch, mark it skipped",
    doc: "Mark a task that will not be done (superseded, out of scope, or given up after 'run' \
          failed it) skipped, as one transaction: its branch tip is saved under \
          refs/parallel/backup/<id> and uncommitted changes under refs/parallel/backup/<id>-wip, \
          then its worktree and branch are removed. Works on a task in any status but completed \
          or skipped. A skipped task counts as done for its dependents (the schema's \
          'intentionally skipped'): they become ready as if it had completed. 'git parallel \
          undo' reverses it.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&[
        "failed",
        "blocked",
        "in_progress",
        "pending",
        "ready",
    ]),
    flags: &[&DRY_RUN, &NO_COMMIT, &REMOTE],
    examples: &[(
        "git parallel skip API-02",
        "drop a task that run gave up on; its dependents go on",
    )],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static FAIL: Command = Command {
    id: CommandId::Fail,
    name: "fail",
    summary: "record that a task failed, keeping its branch and worktree",
    doc: "Set the task's status to failed, increment retry_count and record the reason. The branch and \
          worktree are kept for debugging.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&REASON, &DRY_RUN, &NO_COMMIT, &REMOTE],
    examples: &[("git parallel fail API-01 --reason 'tests time out'", "mark a task failed")],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static RETRY: Command = Command {
    id: CommandId::Retry,
    name: "retry",
    summary: "restart a failed task from a fresh worktree",
    doc: concat!("Restart a failed task: its old branch is kept under refs/parallel/backup/, and a fresh branch \
          and worktree are made from the target. Refuses after parallel.maxRetries (default ", crate::default_max_retries!(), ") \
          retries and marks the task blocked."),
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["failed"]),
    flags: &[&DRY_RUN, &REMOTE],
    examples: &[("git parallel retry API-01", "try again")],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static APPROVE: Command = Command {
    id: CommandId::Approve,
    name: "approve",
    summary: "approve a completed checkpoint task so its dependents may start",
    doc: "Record approved_at on a completed checkpoint task; tasks that depend on it become ready.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["@approval"]),
    flags: &[&DRY_RUN, &REMOTE],
    examples: &[("git parallel approve ARCH-01", "approve the architecture")],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static JOIN: Command = Command {
    id: CommandId::Join,
    name: "join",
    summary: "make a worktree here for a task started on another clone",
    doc: "Take part in a task started elsewhere: with --remote (or parallel.remote), fetch the \
          remote first and bring the task's branch here; then create the task's worktree on its \
          branch (with the remote as its upstream, so a plain git push there publishes the work), \
          copy the .worktreeinclude / parallel.copy files and run parallel.postStart, as start \
          does. One transaction; 'git parallel undo' removes the worktree again.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&DRY_RUN, &REMOTE],
    examples: &[(
        "git parallel join API-01 --remote origin",
        "work on a task another clone started",
    )],
    hidden: false,
    remote: RemotePolicy::Once,
};

pub static WORK: Command = Command {
    id: CommandId::Work,
    name: "work",
    summary: "run one attempt of a task's agent here and publish its outcome on the remote",
    doc: "The worker of a run spread over machines: on any machine with a clone (or, given a URL \
          outside a clone, in a clone it makes here), bring the clone up to the shared remote \
          (--remote NAME|URL, else parallel.remote, else the clone's only remote), take the \
          task's lease refs/parallel/lease/ID there, join the task (its worktree on its branch, as \
          join does, or the one it already has here), and run the agent (--agent, else \
          parallel.agent) in that worktree with the same GIT_PARALLEL_* variables and brief as \
          run. While the agent runs, the lease is renewed every parallel.leaseInterval (default \
          10s); when a renewal finds that a newer attempt took the lease over, the agent is \
          stopped (SIGTERM to its process group, SIGKILL after the grace) and nothing is \
          published. Otherwise one atomic push, leased on every ref, publishes the task branch, \
          the outcome refs/parallel/outcome/ID/N (exit, failure kind, tip, timings) and the \
          lease marked done. With --attempt N (what run --executor passes) the lease must name \
          attempt N; without it, the next attempt is taken over by hand. Exits 0 when it \
          published a successful outcome, 1 when it published a failed one or published nothing.",
    positionals: Positionals::One("ID"),
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&WORK_ATTEMPT, &AGENT, &WORK_REMOTE],
    examples: &[
        (
            "git parallel work API-01 --agent 'my-agent \"$GIT_PARALLEL_TASK_BRIEF\"'",
            "run the next attempt of API-01 here, coordinated through the remote",
        ),
        (
            "git parallel work API-01 --attempt 2 --remote https://example.com/repo.git",
            "attempt 2 as dispatched by run --executor, in a clone made here",
        ),
    ],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static RECOVER: Command = Command {
    id: CommandId::Recover,
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
    remote: RemotePolicy::None,
};

pub static UNDO: Command = Command {
    id: CommandId::Undo,
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
    remote: RemotePolicy::None,
};

pub static GC: Command = Command {
    id: CommandId::Gc,
    name: "gc",
    summary: "delete backups older than parallel.keepBackups days",
    doc: concat!("Delete refs/parallel/backup/* refs and kept ignored files ($GIT_COMMON_DIR/parallel/ignored/*) \
          older than parallel.keepBackups days (default ", crate::default_keep_backups!(), "). A backup's age counts from when it was \
          made (the operation log, else its reflog), never from its commits' dates; one of unknown \
          age is kept. Also trims the pool of parked worktrees to parallel.poolSize, oldest first \
          (all of them with parallel.reuseWorktrees off), and deletes regenerable build output \
          (parallel.regenerable) in the kept ignored files, oldest first, until they fit in \
          parallel.keepIgnoredMax; never what could be someone's work (.env, notes)."),
    positionals: Positionals::None,
    complete_positionals: Complete::Nothing,
    flags: &[&DRY_RUN],
    examples: &[],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static EXEC: Command = Command {
    id: CommandId::Exec,
    name: "exec",
    summary: "run a command in every active task worktree",
    doc:
        "Run CMD in the worktree of every in-progress task (or the named ones), concurrently, each \
          output line prefixed with the task id; a summary of exit statuses at the end. Exits 1 if \
          any command failed.",
    positionals: Positionals::IdsThenCommand,
    complete_positionals: Complete::Tasks(&["in_progress"]),
    flags: &[&JOBS, &SANDBOX],
    examples: &[
        ("git parallel exec -- cargo test", "test every task"),
        (
            "git parallel exec API-01 -- git log --oneline -3",
            "one task",
        ),
    ],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static DEMO: Command = Command {
    id: CommandId::Demo,
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
    remote: RemotePolicy::None,
};

pub static GENERATE: Command = Command {
    id: CommandId::Generate,
    name: "generate",
    summary: "write the man page, a completion script or a worker template",
    doc: "Print (or write with --output) the man page, the completion script for bash, zsh or \
          fish, or a template that runs the worker (git parallel work) on an engine that starts it \
          itself, for run --executor command with its parallel.dispatch. Inside a repository a \
          template is filled from it: the task file (GIT_PARALLEL_TASKS; empty when the worker \
          can find it alone), and for k8s-job the remote's URL (parallel.remote, else the only \
          remote) and parallel.agent; what is not known is left as a variable its header \
          explains. Each installs git-parallel with cargo install --git (from \
          GIT_PARALLEL_SOURCE) and nothing else; installing your agent's CLI is a commented \
          placeholder. github-workflow: a workflow_dispatch workflow with the inputs task and \
          attempt (contents: write; the agent command from the repository variable \
          GIT_PARALLEL_AGENT), to save as .github/workflows/git-parallel.yml; dispatch: gh \
          workflow run git-parallel.yml -f task={id} -f attempt={attempt}. gitlab-ci: a job \
          that runs in pipelines with the variable TASK set (and ATTEMPT), pushing with the \
          CI/CD variable GIT_PARALLEL_TOKEN (a project access token with write_repository), \
          to include from .gitlab-ci.yml; dispatch: glab ci run -b main --variables-env \
          TASK:{id} --variables-env ATTEMPT:{attempt}. k8s-job: one Job per attempt (named \
          from --task and --attempt) whose container clones the remote and runs the worker, \
          with the git credentials from the Secret git-parallel-git; dispatch: git parallel \
          generate k8s-job --task {id} --attempt {attempt} | kubectl create -f -.",
    positionals: Positionals::One("KIND"),
    complete_positionals: Complete::Choices(&[
        "man",
        "bash",
        "zsh",
        "fish",
        "github-workflow",
        "gitlab-ci",
        "k8s-job",
    ]),
    flags: &[&OUTPUT, &GENERATE_TASK, &GENERATE_ATTEMPT],
    examples: &[
        (
            "git parallel generate man -o ~/.local/share/man/man1/git-parallel.1",
            "install the man page",
        ),
        (
            "git parallel generate github-workflow -o .github/workflows/git-parallel.yml",
            "run workers on GitHub Actions",
        ),
        (
            "git parallel generate k8s-job --task A-1 --attempt 1 | kubectl create -f -",
            "a Kubernetes Job for A-1's first attempt (the dispatch line, with {id} and {attempt})",
        ),
    ],
    hidden: false,
    remote: RemotePolicy::None,
};

pub static INSTALL_DOCS: Command = Command {
    id: CommandId::InstallDocs,
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
    remote: RemotePolicy::None,
};

pub static COMPLETE: Command = Command {
    id: CommandId::Complete,
    name: "__complete",
    summary: "list task ids for shell completion",
    doc: "",
    positionals: Positionals::Many("STATUS"),
    complete_positionals: Complete::Nothing,
    flags: &[],
    examples: &[],
    hidden: true,
    remote: RemotePolicy::None,
};

/// Every command, in the order help lists them.
pub static COMMANDS: &[&Command] = &[
    &STATUS,
    &PLAN,
    &PATH,
    &VALIDATE,
    &START,
    &FINISH,
    &RUN,
    &ABORT,
    &SKIP,
    &FAIL,
    &RETRY,
    &APPROVE,
    &JOIN,
    &WORK,
    &RECOVER,
    &UNDO,
    &GC,
    &EXEC,
    &DEMO,
    &GENERATE,
    &INSTALL_DOCS,
    &COMPLETE,
];

//! Every flag: the global ones (accepted before or after the command) and each command's own.

use super::{Arity, Chooser, Complete, Flag};

use Arity::{Switch, Value};

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
    "Print JSON on stdout instead of text: one document (run: one JSON object per line, an event each, the summary last). The schema is versioned and documented in docs/json.md. A command that fails writes, as the last line of standard error, one JSON object with its error code (docs/json.md, Errors).");
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
flag!(
    HELP,
    "help",
    Some('h'),
    Switch,
    Complete::Nothing,
    None,
    "-h: short usage; --help: the manual page",
    "-h prints a short usage; --help opens the git-parallel(1) manual page. git turns \
     git parallel --help into git help parallel, which runs man: it finds the page once \
     git parallel install-docs has installed it. git parallel help (and git-parallel --help) \
     open it too, or print the long help when no manual page is installed."
);

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
     (always, never, auto, or true meaning auto) decide, like git.",
    Some(Chooser::Color)
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
     dependency graph with each task coloured by status.", Some(Chooser::PlanFormat));
flag!(MAX, "max", None, Value("N"), Complete::Nothing, Some("parallel.maxTasks"),
    "start at most N tasks (highest priority first)",
    "Start at most N of the ready tasks: highest priority first (critical, high, normal, low), then \
     file order. For plan: at most N new tasks per wave. Default: git config parallel.maxTasks, \
     else no limit.");
flag!(NO_COMMIT, "no-commit", None, Switch, Complete::Nothing, None,
    "leave the task file edit uncommitted in the main worktree",
    "Do not commit the task file change on the target branch; leave it as an uncommitted change in \
     the main worktree (start: task branches then start from the target tip as it is). A start's \
     records left so are carried by the next commit of the task file (finish's merge commit, or \
     any command that commits it), as run does without a remote; other uncommitted changes to \
     the task file must be committed first: git commit -- <task file>.");
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
     in progress, saying which. Likewise with --test: the tasks that break the test (found by \
     bisection) stay in progress, untouched, and the others are merged. When something was \
     merged the exit code is 0 and a note names the tasks left in progress (the report lists \
     them); it is 1 when nothing could be merged or finish was refused."
);
flag!(TEST, "test", None, Value("CMD"), Complete::Command, Some("parallel.test"),
    "run CMD on the merged result before the target moves",
    "Check the merged result out in the kept gate worktree ($GIT_COMMON_DIR/parallel/gate, its \
     ignored build output kept from one gate to the next; parallel.gateWorktree temp: a temporary \
     worktree) and run CMD there with the shell. The target branch only moves when CMD exits 0. When CMD fails on the merge of several tasks, they are \
     bisected (parts of the batch merged in memory and tested the same way, about log2 N runs) to \
     name the tasks that break it; with --partial the others are merged.");
flag!(
    RUN_TEST,
    "test",
    None,
    Value("CMD"),
    Complete::Command,
    Some("parallel.test"),
    "run CMD on the merged result before a task lands",
    "The test gate of every landing: the merged result is made in memory and checked out in the \
     kept gate worktree (its ignored build output kept from one gate to the next), and CMD runs \
     there with the shell, in the background: agents go on starting meanwhile. The target only \
     moves when CMD exits 0 on the tree that lands (the task file aside: the test must not \
     depend on it). When CMD fails on the merge of several tasks, they are bisected to name the \
     tasks that break it, the others land, and each culprit's attempt fails (its agent runs \
     again). parallel.gateWorktree temp: a temporary worktree per gate, inside the landing."
);
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
    AGENT,
    "agent",
    None,
    Value("CMD"),
    Complete::Command,
    Some("parallel.agent"),
    "the agent command run in each task's worktree",
    "The command run through the shell in each started task's worktree, with the task named in \
     GIT_PARALLEL_* variables (see ENVIRONMENT), or one of the presets claude, codex, gemini, \
     aider, opencode: that CLI run without a terminal with the task's prompt, a permission mode \
     that lets it edit and commit in the worktree and no more, its session resumed on a retry \
     and its reported tokens and cost read from its output. Default: git config \
     parallel.agent. Never read from the task file."
);
flag!(
    SANDBOX,
    "sandbox",
    None,
    Value("MODE"),
    Complete::Choices(&["auto", "on", "off"]),
    Some("parallel.sandbox"),
    "confine the commands to their worktree: auto, on or off",
    "Confine each command started in a task's worktree, and everything it starts, with Landlock \
     (Linux 5.13 or later): it may write only its worktree, what git needs to commit there (the \
     object store, its branch's ref and reflog directories, the worktree's admin dir), a private \
     TMPDIR and the paths of parallel.sandboxWritable; reading and the network are not \
     restricted. auto (the default): sandboxed where the kernel has Landlock, else unconfined \
     with a warning; on: refuse to run without it; off: unconfined. Default: git config \
     parallel.sandbox, else auto for run (its agents) and off for exec (commands a person \
     runs by hand, which often write caches outside the worktree). See SANDBOX."
);
flag!(
    RUN_JOBS,
    "jobs",
    Some('j'),
    Value("N"),
    Complete::Nothing,
    Some("parallel.maxTasks"),
    "run at most N agents at once",
    "Run at most N agents at the same time. Default: git config parallel.maxTasks, else the \
     number of CPUs."
);
flag!(
    EXECUTOR,
    "executor",
    None,
    Value("KIND"),
    Complete::Choices(&["local", "ssh", "command"]),
    Some("parallel.executor"),
    "where the agents run: local, ssh or command",
    "Where each agent attempt runs. local (the default): a process in the task's worktree on \
     this machine. ssh: 'git parallel work ID --attempt N' on one of --hosts, over plain ssh from \
     PATH, in a clone of the remote kept per host (parallel.remoteDir). command: the --dispatch \
     template, run once per attempt, starts the worker wherever it likes (a CI job, a Kubernetes \
     Job). ssh and command need --remote (or parallel.remote): run writes the attempt's lease \
     under refs/parallel/ on the remote before it dispatches, then only watches the remote \
     (every parallel.pollInterval, default 2s, one ls-remote for all tasks) for the attempt's \
     outcome; a lease not renewed within parallel.leaseTimeout (default 60s) counts as a failed \
     attempt (lease-expired) and the task is dispatched again, as is a dispatch that cannot \
     reach the remote. The next attempt's lease carries the failure (a landing's conflict, test \
     gate or refusal included) to its worker, which hands it to the agent as run does and, after \
     a conflict, merges the target into the worktree first (parallel.onConflict). A task lands \
     when its attempt's outcome says ok, through the same finish as --remote, from the tip the \
     outcome published only: a branch pushed to since fails the attempt (tip-moved). Default: \
     git config parallel.executor, else local."
);
flag!(
    HOSTS,
    "hosts",
    None,
    Value("LIST"),
    Complete::Nothing,
    Some("parallel.hosts"),
    "ssh hosts and their slots: build1:4,build2:2",
    "The ssh destinations of --executor ssh, each with how many agents it runs at once: \
     build1:4,build2:2 (a host without :N has 1 slot). -j still caps the agents running in all. \
     Any destination ssh takes (an alias of ~/.ssh/config, user@host). Default: git config \
     parallel.hosts."
);
flag!(
    DISPATCH,
    "dispatch",
    None,
    Value("CMD"),
    Complete::Command,
    Some("parallel.dispatch"),
    "the command that starts a worker (--executor command)",
    "The command template of --executor command, run with sh -c once per attempt on this \
     machine; {id}, {attempt}, {remote} (the remote's URL) and {branch} are replaced, each \
     shell-quoted. It must start 'git parallel work {id} --attempt {attempt}' somewhere (e.g. \
     gh workflow run git-parallel.yml -f task={id} -f attempt={attempt}) and may return at once; \
     a non-zero exit fails the attempt. Default: git config parallel.dispatch."
);
flag!(
    MAX_COST,
    "max-cost",
    None,
    Value("USD"),
    Complete::Nothing,
    Some("parallel.maxCost"),
    "stop launching agents once they reported USD dollars",
    "Stop launching agent attempts once the costs the agents reported in this run add up to USD \
     US dollars (e.g. 5 or 0.50); running agents finish, and what was left undone is listed \
     (exit 1). Only preset agents that report a cost count (claude, opencode, aider). Default: \
     git config parallel.maxCost, else no limit."
);
flag!(
    DEADLINE,
    "deadline",
    None,
    Value("DURATION"),
    Complete::Nothing,
    None,
    "stop the whole run after DURATION",
    "After DURATION (e.g. 90m, 2h) from its start, run launches no more attempts and stops the \
     running agents (SIGTERM, then SIGKILL after the grace period); their attempts do not count, \
     what was left undone is listed (exit 1), and the next run continues. Default: no limit."
);
flag!(
    TIMEOUT,
    "timeout",
    None,
    Value("DURATION"),
    Complete::Nothing,
    None,
    "fail an agent attempt that runs longer than DURATION",
    "Stop an agent (SIGTERM, then SIGKILL) that runs longer than DURATION (e.g. 90s, 30m, 2h, \
     1h30m; a bare number is seconds) and count the attempt as failed. Default: no limit."
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
    GENERATE_TASK,
    "task",
    None,
    Value("ID"),
    Complete::Nothing,
    None,
    "k8s-job: the task the Job works on",
    "k8s-job only: the id of the task the Job works on (its TASK and the Job's name). Without \
     it the manifest keeps <task id> for you to fill."
);
flag!(
    GENERATE_ATTEMPT,
    "attempt",
    None,
    Value("N"),
    Complete::Nothing,
    None,
    "k8s-job: the attempt the Job is",
    "k8s-job only: the attempt number the Job runs (its ATTEMPT and the Job's name), as run's \
     {attempt}. Without it the manifest keeps <attempt> for you to fill."
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

flag!(REMOTE, "remote", None, Value("NAME"), Complete::Nothing, Some("parallel.remote"),
    "coordinate through the shared remote NAME",
    "Coordinate through the remote NAME (a configured git remote: file path, git://, ssh or https): \
     fetch its branches first (into refs/parallel/remote/NAME/, not your remote-tracking refs), \
     bring the local target and task branches up to them, compute the plan as usual, and publish \
     the result with one atomic push leased on every ref it changes. If someone else published \
     first, nothing is published and nothing local stays changed. Default: git config \
     parallel.remote.");
flag!(
    WORK_REMOTE,
    "remote",
    None,
    Value("NAME|URL"),
    Complete::Nothing,
    Some("parallel.remote"),
    "the shared remote: a configured remote or a URL",
    "The shared remote the orchestrator and the workers coordinate through: a configured remote \
     of this clone, or a URL (a configured remote with that URL is used; outside a clone, the \
     URL is cloned into the directory named after it first). Default: git config \
     parallel.remote, else the clone's only remote."
);
flag!(
    WORK_ATTEMPT,
    "attempt",
    None,
    Value("N"),
    Complete::Nothing,
    None,
    "run attempt N, the one the lease names",
    "Run attempt N of the task: the lease on the remote must name attempt N (as run --executor \
     wrote it before dispatching), else nothing is run or published (exit 1). Without it, the \
     worker takes the next attempt itself (the lease's attempt + 1, or 1)."
);
flag!(
    NO_WORKTREE,
    "no-worktree",
    None,
    Switch,
    Complete::Nothing,
    None,
    "create the task branches but no worktrees",
    "Create and (with --remote) publish the task branches without making worktrees for them, for \
     an orchestrator that only hands out tasks; agents take one with git parallel join ID."
);
flag!(
    START_RETRY,
    "retry",
    None,
    Switch,
    Complete::Nothing,
    None,
    "with --remote: recompute when another clone published first",
    "With --remote, when the push is refused because the target moved or a task was taken \
     meanwhile, fetch again and recompute the start on the new tip (at most 3 attempts)."
);

flag!(STATUS_ALL, "all", None, Switch, Complete::Nothing, None,
    "list every task, completed ones too",
    "List every completed and skipped task on its own line instead of summarising them in one line.");

//! The workflow layer: what several commands share, between the commands (src/commands/) and the
//! transaction engine (src/txn/). It owns the environment a command runs in (the context and the
//! session: repository, task file, target, lock), the driver that applies a plan through the
//! engine and prints the report, and the shared pieces of work: merging and mergeability,
//! bisection of a failing test gate, the worktree pool as the commands see it, backups,
//! submodules, worktree facts, readiness and selection, remote publish/sync, the radar, the
//! coding-agent presets (run's agents and start's hand-off) and each task's ports and env file.
//!
//! May import the engine (src/txn/) and the leaves (src/taskgraph/, src/git/, src/cli/, output,
//! time, parallel_map); never a command (src/commands/).

pub mod agent_env;
pub mod attempt;
pub mod backup;
pub mod before_start;
pub mod bisect;
pub mod block;
pub mod context;
pub mod driver;
pub mod failure;
pub mod join;
pub mod kept_space;
pub mod merge;
pub mod mergeable;
pub mod metrics;
pub mod naming;
pub mod outcome;
pub mod pool;
pub mod presets;
pub mod radar;
pub mod readiness;
pub mod remote;
pub mod render;
pub mod report;
pub mod select;
pub mod session;
pub mod submodules;
pub mod suggest;
pub mod taskenv;
pub mod tested;
pub mod worktrees;

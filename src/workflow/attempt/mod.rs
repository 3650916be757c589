//! One agent attempt, as `run` (local agents) and `work` (a worker on any machine) run it:
//! agent.rs (spawned through `sh -c` or a preset's program in the task's worktree, in its own
//! process group, with the GIT_PARALLEL_* variables, its output in the task's log; stopped with
//! SIGTERM, SIGKILL after the grace), group.rs (an agent's process group: exited? end it),
//! watchdog.rs (the process that ends the agents when their parent dies), preset.rs (a preset
//! agent's command line), feedback.rs (what a
//! failed attempt becomes: a [`crate::workflow::failure::Failure`] the next attempt reads).

pub mod agent;
pub mod feedback;
pub mod group;
pub mod preset;
pub mod watchdog;

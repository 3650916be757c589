//! Integration tests: real repositories in temp dirs, the real binary. One module per command or
//! feature; shared helpers in support/.

mod agents;
mod bisect;
mod cli;
mod concurrency;
mod exec_demo;
mod executors;
mod faults;
mod finish;
mod gate_worktree;
mod history;
mod in_progress_elsewhere;
mod json;
mod kept_space;
mod kills;
mod lifecycle;
mod odd_repos;
mod old_journal;
mod output;
mod pool;
mod readonly;
mod remote;
mod run;
mod run_feedback;
mod run_procs;
mod run_typed;
mod safety;
mod sandbox;
mod snapshots;
mod ssh;
mod start;
mod status;
mod support;
mod taskfile;
mod templates;
mod work;

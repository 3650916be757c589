//! Integration tests: real repositories in temp dirs, the real binary. One module per area.

mod bisect;
mod concurrency;
mod elsewhere;
mod exec_demo;
mod faults;
mod finish;
mod first_hour;
mod first_hour_cmds;
mod first_hour_output;
mod json;
mod kills;
mod lifecycle;
mod native;
mod odd_repos;
mod pool;
mod random_kills;
mod readonly;
mod remote;
mod run;
mod run_feedback;
mod safety;
mod snapshots;
mod start;
mod status_fit;
mod support;
mod taskfile;

//! Integration tests: real repositories in temp dirs, the real binary. One module per area.

mod exec_demo;
mod faults;
mod finish;
mod json;
mod kills;
mod lifecycle;
mod native;
mod random_kills;
mod readonly;
mod start;
mod support;

//! Integration tests: real repositories in temp dirs, the real binary. One module per area.

mod faults;
mod finish;
mod lifecycle;
mod native;
mod readonly;
mod start;
mod support;

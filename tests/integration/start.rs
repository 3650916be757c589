//! Tests of start.

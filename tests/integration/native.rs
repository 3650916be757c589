//! Tests of native.

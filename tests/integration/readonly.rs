//! Tests of readonly.

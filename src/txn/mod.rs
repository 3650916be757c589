//! The transaction engine.

//! Test harness that starts real dqlite clusters on 127.0.0.1.
//!
//! Work in progress.

/// Placeholder.
pub fn placeholder() {}

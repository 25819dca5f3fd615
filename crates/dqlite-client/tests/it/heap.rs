//! A counting global allocator for this test binary (`stats_alloc`'s wrapper around the
//! system allocator): the bytes the process has allocated through Rust and not yet freed,
//! whatever glibc's malloc does with the pages. The soak judges the client's memory by
//! these, since resident memory also counts pages that malloc keeps after they were
//! freed; and leak tests assert with them that a client structure gives its memory back.

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated through Rust's allocator by the whole test process (not the
/// C libraries' own `malloc`s).
pub fn live_bytes() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

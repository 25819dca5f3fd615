//! Feeds arbitrary SQL text to `dqlite_client::sql` and compares `classify` with SQLite's
//! own verdict (`sqlite3_stmt_readonly`). The checks live in `classify_logic.rs`, which
//! `tests/fuzz_replay.rs` includes too.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("classify_logic.rs");

fuzz_target!(|data: &[u8]| check(data));

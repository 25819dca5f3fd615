//! Plays a dqlite node whose answers are the fuzz input, against a real
//! `dqlite_client::Connection` running a script of calls. The checks live in
//! `session_logic.rs`, which `tests/fuzz_replay.rs` includes too.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("session_logic.rs");

fuzz_target!(|data: &[u8]| check(data));

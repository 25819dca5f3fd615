//! Feeds arbitrary bytes to every decoder of dqlite-wire and checks that whatever decodes
//! re-encodes consistently. The checks live in `frame_logic.rs`, which
//! `tests/fuzz_replay.rs` includes too.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("frame_logic.rs");

fuzz_target!(|data: &[u8]| check(data));

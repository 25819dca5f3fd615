//! The fuzz-replay harness, shared by every crate's `tests/fuzz_replay.rs` (the client's
//! includes this file by path): a fuzz target's `check` run deterministically under
//! `cargo test`, over the target's seed corpus, prefixes of each seed, and seeded
//! pseudo-random inputs. A panic anywhere fails the test and names the input, so that a
//! failure reproduces with `cargo fuzz run <target> <the input written to a file>`.
//!
//! Each test file keeps what is particular to its target: how inputs are mutated, where
//! prefixes are cut, how many inputs to run.

#![allow(dead_code)] // Each test binary uses a different part.

use std::path::Path;
use std::time::{Duration, Instant};

/// xorshift64: tiny, seeded, and the same on every platform.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed corpus in `dir`, sorted by name so that runs are reproducible; at least
/// `at_least` files, or the corpus is missing.
pub fn corpus(dir: &Path, at_least: usize) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "the seed corpus in {} is missing",
        dir.display()
    );
    files
}

/// Runs `check` on `data` and names the input if it panics.
pub fn check_named(check: fn(&[u8]), what: &dyn Fn() -> String, data: &[u8]) {
    if std::panic::catch_unwind(|| check(data)).is_err() {
        panic!("check failed on {}: {data:02x?}", what());
    }
}

/// Each seed, then each prefix of it whose length `cuts` yields (a stream that stops
/// anywhere).
pub fn replay_seeds(
    check: fn(&[u8]),
    seeds: &[(String, Vec<u8>)],
    cuts: impl Fn(&[u8]) -> Vec<usize>,
) {
    for (name, data) in seeds {
        check_named(check, &|| name.clone(), data);
        for len in cuts(data) {
            check_named(check, &|| format!("{name}[..{len}]"), &data[..len]);
        }
    }
}

/// Runs `check` on up to `count` inputs made by `make` (which fills the buffer it is
/// given, cleared), stopping early once `budget` has passed. Returns how many ran.
pub fn run_generated(
    check: fn(&[u8]),
    count: usize,
    budget: Duration,
    rng: &mut Rng,
    mut make: impl FnMut(usize, &mut Rng, &mut Vec<u8>),
) -> usize {
    let started = Instant::now();
    let mut data = Vec::new();
    let mut done = 0;
    for i in 0..count {
        if started.elapsed() > budget {
            break;
        }
        data.clear();
        make(i, rng, &mut data);
        check_named(check, &|| format!("generated input {i}"), &data);
        done += 1;
    }
    eprintln!("{done} generated inputs in {:?}", started.elapsed());
    done
}

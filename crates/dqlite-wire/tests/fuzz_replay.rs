//! The fuzz target's checks, run deterministically under `cargo test`: every file of the
//! seed corpus (`fuzz/corpus/frame/`), then pseudo-random inputs from a seeded xorshift
//! generator, both fully random bytes and mutations of the seeds (bit flips, truncation,
//! corrupted length fields and counts, splices). A panic anywhere fails the test.
//!
//! `check` comes from `fuzz/fuzz_targets/frame_logic.rs`, the file the `frame` fuzz target
//! includes too, so a failure here reproduces with
//! `cargo fuzz run frame <the input written to a file>`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::path::PathBuf;
use std::time::Duration;

use replay::Rng;

mod replay;

include!("../fuzz/fuzz_targets/frame_logic.rs");

/// No time budget: the counts below fit in the test's time.
const NO_BUDGET: Duration = Duration::MAX;

/// How many inputs. Debug builds (the `cargo test` and nextest profile) run 2,000,000
/// random inputs and 1,000,000 seed mutations, 3,000,000 in all, in about 12 s on one
/// core of the 2-core CI machine (the two tests run in parallel under nextest); release
/// builds run ten times as many.
const SCALE: usize = if cfg!(debug_assertions) { 1 } else { 10 };
const RANDOM_INPUTS: usize = 2_000_000 * SCALE;
const MUTATIONS: usize = 1_000_000 * SCALE;

fn corpus() -> Vec<(String, Vec<u8>)> {
    replay::corpus(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frame"),
        40,
    )
}

/// Interesting values for a word: counts and lengths at and around the limits, end
/// markers, and type codes.
const WORDS: [u64; 12] = [
    0,
    1,
    2,
    7,
    8,
    255,
    256,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
    u64::MAX - 7,
    0xeeee_eeee_eeee_eeee,
];

/// Interesting values for a byte: type codes, nibble pairs and marker bytes.
const BYTES: [u8; 10] = [0, 1, 4, 5, 9, 11, 12, 0xbb, 0xee, 0xff];

/// Applies one random mutation to `data`; `other` is a second seed for splices.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let words = data.len() / 8;
    match rng.below(9) {
        // Flip a few bits.
        0 => {
            for _ in 0..=rng.below(8) {
                if !data.is_empty() {
                    let at = rng.below(data.len());
                    data[at] ^= 1 << rng.below(8);
                }
            }
        }
        // Truncate anywhere.
        1 => data.truncate(rng.below(data.len() + 1)),
        // Truncate or extend at a word boundary (keeps the rest aligned).
        2 => {
            if rng.chance(2) {
                data.truncate(rng.below(words + 1) * 8);
            } else {
                data.extend((0..8 * (1 + rng.below(4))).map(|_| rng.byte()));
            }
        }
        // Corrupt a header's word count: of the first frame, or of any aligned word.
        3 => {
            if data.len() >= 8 {
                let at = if rng.chance(2) {
                    0
                } else {
                    rng.below(words) * 8
                };
                let current = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                let fits = ((data.len() - at).saturating_sub(8) / 8) as u32;
                let value = match rng.below(6) {
                    0 => 0,
                    1 => current.wrapping_add(1),
                    2 => current.wrapping_sub(1),
                    3 => u32::MAX,
                    4 => fits,
                    _ => rng.next() as u32,
                };
                data[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        // Corrupt a body word: counts, blob and file lengths, ids, markers.
        4 => {
            if words > 0 {
                let at = rng.below(words) * 8;
                let value = if rng.chance(4) {
                    rng.next()
                } else {
                    WORDS[rng.below(WORDS.len())]
                };
                data[at..at + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        // Set a byte to a type code, a nibble pair or a marker byte.
        5 => {
            if !data.is_empty() {
                let at = rng.below(data.len());
                data[at] = BYTES[rng.below(BYTES.len())];
            }
        }
        // Change the message type or schema byte of the first header.
        6 => {
            if data.len() >= 8 {
                let at = 4 + rng.below(2);
                data[at] = rng.below(24) as u8;
            }
        }
        // Splice: a word-aligned prefix of this seed and a suffix of another.
        7 => {
            let keep = rng.below(words + 1) * 8;
            data.truncate(keep);
            let from = rng.below(other.len() / 8 + 1) * 8;
            data.extend_from_slice(other.get(from..).unwrap_or(&[]));
        }
        // Insert or delete a word.
        _ => {
            let at = rng.below(words + 1) * 8;
            if rng.chance(2) && at < data.len() {
                data.drain(at..(at + 8).min(data.len()));
            } else {
                let word = WORDS[rng.below(WORDS.len())].to_le_bytes();
                data.splice(at..at, word);
            }
        }
    }
}

#[test]
fn replay_seed_corpus() {
    // Every word-aligned prefix too: truncated frames and streams cut mid-frame.
    replay::replay_seeds(check, &corpus(), |data| {
        (0..data.len()).step_by(8).collect()
    });
}

/// Fully random inputs: short ones (mostly rejected headers and length mismatches) and
/// ones given a header that declares exactly the random body, with a random type and
/// schema, so that every body decoder sees noise.
#[test]
fn random_inputs_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let done = replay::run_generated(check, RANDOM_INPUTS, NO_BUDGET, &mut rng, |i, rng, data| {
        let len = if rng.chance(8) {
            rng.below(1024)
        } else {
            rng.below(96)
        };
        data.extend((0..len).map(|_| rng.byte()));
        if i % 2 == 0 && data.len() >= 8 {
            let words = ((data.len() - 8) / 8) as u32;
            data[..4].copy_from_slice(&words.to_le_bytes());
            data[4] = rng.below(24) as u8;
            data[5] = rng.below(3) as u8;
        }
    });
    assert_eq!(done, RANDOM_INPUTS);
}

/// Mutations of the seeds: one to four stacked mutations each.
#[test]
fn mutated_seeds_do_not_panic() {
    let seeds = corpus();
    // Big seeds (multi-kilobyte ROWS and FILES frames) cost more per check: pick them
    // less often so the count stays high.
    let small: Vec<&Vec<u8>> = seeds
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d.len() <= 512)
        .collect();
    let all: Vec<&Vec<u8>> = seeds.iter().map(|(_, d)| d).collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut decoded = 0usize;
    replay::run_generated(check, MUTATIONS, NO_BUDGET, &mut rng, |_, rng, data| {
        let pool = if rng.chance(50) { &all } else { &small };
        let seed = *rng.pick(pool);
        let other = *rng.pick(pool);
        data.extend_from_slice(seed);
        for _ in 0..=rng.below(4) {
            mutate(rng, data, other);
        }
        if decodes(data) {
            decoded += 1;
        }
    });
    // The mutations stay close enough to the protocol to reach the body decoders: a fair
    // share of them still decode (measured: about a third).
    eprintln!("{decoded} of {MUTATIONS} mutants decode");
    assert!(decoded > MUTATIONS / 10, "only {decoded} mutants decode");
}

/// Whether the input starts with a frame that decodes as a request or a response.
fn decodes(data: &[u8]) -> bool {
    let mut buf = BytesMut::from(data);
    match FrameDecoder::default().decode(&mut buf) {
        Ok(Some((header, body))) => {
            Request::decode(&header, &body).is_ok() || Response::decode(&header, body).is_ok()
        }
        _ => false,
    }
}

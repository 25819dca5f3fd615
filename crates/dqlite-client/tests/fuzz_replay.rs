//! The fuzz targets' checks, run deterministically under `cargo test` through the shared
//! replay harness (`dqlite-wire/tests/replay`): every file of a target's seed corpus,
//! prefixes of each seed, then seeded pseudo-random inputs. A panic anywhere fails the test
//! and names the input; `check` comes from the file the fuzz target includes too, so a
//! failure reproduces with `cargo fuzz run <target> <the input written to a file>`.
//!
//! * `client_session` (`fuzz/fuzz_targets/session_logic.rs`): a fake node's answers
//!   against a real connection. The seeds are valid transcripts built with
//!   `dqlite_wire`'s encoders; regenerate them with
//!   `cargo test -p dqlite-client --test fuzz_replay -- --ignored write_seed_corpus`.
//! * `classify` (`fuzz/fuzz_targets/classify_logic.rs`): SQL text against SQLite's own
//!   verdict on what writes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "../../dqlite-wire/tests/replay/mod.rs"]
mod replay;

mod client_session {
    use std::path::PathBuf;

    use crate::replay::{self, Rng};

    include!("../fuzz/fuzz_targets/session_logic.rs");

    /// Inputs past the seeds and their prefixes; stopped early at the time budget, so that the
    /// test stays under 20 s on a debug build and a busy 2-core machine.
    const MUTATIONS: usize = 25_000;
    const RANDOM: usize = 5_000;
    const BUDGET: Duration = Duration::from_secs(12);

    fn corpus_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/client_session")
    }

    fn corpus() -> Vec<(String, Vec<u8>)> {
        replay::corpus(&corpus_dir(), 10)
    }

    /// Interesting words: counts and lengths at the limits, end markers, leadership codes.
    const WORDS: [u64; 10] = [
        0,
        1,
        2,
        0xffff_ffff,
        u64::MAX,
        0xeeee_eeee_eeee_eeee,
        10250,
        10506,
        1 << 13,
        300,
    ];

    fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
        let body = 1 + OPS;
        if data.len() <= body {
            data.extend((0..8).map(|_| rng.next() as u8));
            return;
        }
        let words = (data.len() - body) / 8;
        match rng.below(7) {
            0 => {
                for _ in 0..=rng.below(4) {
                    let at = body + rng.below(data.len() - body);
                    data[at] ^= 1 << rng.below(8);
                }
            }
            1 => data.truncate(body + rng.below(data.len() - body + 1)),
            2 if words > 0 => {
                let at = body + rng.below(words) * 8;
                let value = WORDS[rng.below(WORDS.len())].to_le_bytes();
                data[at..at + 8].copy_from_slice(&value);
            }
            3 if words > 0 => {
                // A header's word count or type byte.
                let at = body + rng.below(words) * 8;
                if rng.below(2) == 0 {
                    let value = [0u32, 1, 2, 0xffff, u32::MAX][rng.below(5)];
                    data[at..at + 4].copy_from_slice(&value.to_le_bytes());
                } else {
                    data[at + 4] = rng.below(12) as u8;
                }
            }
            4 => {
                // Other calls, or a stalling node.
                let at = rng.below(body);
                data[at] = rng.next() as u8;
            }
            5 => {
                let keep = body + rng.below(words + 1) * 8;
                data.truncate(keep);
                let from =
                    body.min(other.len()) + rng.below(other.len().saturating_sub(body) / 8 + 1) * 8;
                data.extend_from_slice(other.get(from..).unwrap_or(&[]));
            }
            _ => {
                let at = body + rng.below(words + 1) * 8;
                let word = WORDS[rng.below(WORDS.len())].to_le_bytes();
                data.splice(at..at, word);
            }
        }
    }

    /// Each seed, and each word-aligned prefix of its node stream: a node that stops (closes)
    /// anywhere. Prefixes are cut at most 64 places per seed.
    #[test]
    fn replay_seed_corpus() {
        replay::replay_seeds(check, &corpus(), |data| {
            let body = (1 + OPS).min(data.len());
            let step = ((data.len() - body) / 64).max(1);
            (body..data.len()).step_by(step).collect()
        });
    }

    /// The valid transcripts really are valid: every call of theirs succeeds, so the fuzzer
    /// starts from deep in the state machine.
    #[test]
    fn valid_seeds_succeed() {
        for name in [
            "exec-query-drop",
            "frames-script-params",
            "returning-batch",
            "all-prepared",
        ] {
            let data = std::fs::read(corpus_dir().join(name)).unwrap();
            let before = CALLS_OK.get();
            check(&data);
            let ok = CALLS_OK.get() - before;
            assert_eq!(ok, OPS as u64, "{name}: {ok} of {OPS} calls succeeded");
        }
    }

    #[test]
    fn mutated_and_random_sessions() {
        let seeds = corpus();
        let mut rng = Rng(0x5eed_c11e_47f0_22a1);
        let done = replay::run_generated(
            check,
            MUTATIONS + RANDOM,
            BUDGET,
            &mut rng,
            |i, rng, data| {
                if i < MUTATIONS {
                    let (_, seed) = rng.pick(&seeds);
                    let (_, other) = rng.pick(&seeds);
                    data.extend_from_slice(seed);
                    for _ in 0..=rng.below(3) {
                        mutate(rng, data, other);
                    }
                } else {
                    let len = 1 + OPS + rng.below(256);
                    data.extend((0..len).map(|_| rng.next() as u8));
                }
            },
        );
        assert!(done >= 500, "only {done} sessions ran in {BUDGET:?}");
    }

    // ------------------------------------------------------------------------------------
    // The seed corpus
    // ------------------------------------------------------------------------------------

    fn rows(columns: &[&str], values: &[Vec<Value>], end: dqlite_wire::RowsEnd) -> Vec<u8> {
        frame(&Response::Rows(
            dqlite_wire::RowsFrame::build(columns, values, end).unwrap(),
        ))
    }

    fn result(id: u64, changed: u64) -> Vec<u8> {
        frame(&Response::Result {
            last_insert_id: id,
            rows_affected: changed,
        })
    }

    fn stmt(id: u32, params: u64) -> Vec<u8> {
        frame(&Response::Stmt {
            db_id: 0,
            stmt_id: id,
            param_count: params,
            tail_offset: None,
        })
    }

    fn failure(code: u64, message: &str) -> Vec<u8> {
        frame(&Response::Failure {
            code,
            message: message.into(),
        })
    }

    fn empty() -> Vec<u8> {
        frame(&Response::Empty)
    }

    /// The node's correct answers to call `op` (as `run_op` makes it).
    fn answers(op: u8) -> Vec<u8> {
        use dqlite_wire::RowsEnd::{Done, Part};
        let two = |a: i64| vec![Value::Integer(a), Value::Text(format!("row {a}"))];
        match op % 12 {
            0 => result(1, 1),
            1 => rows(&["a", "b"], &[two(1), two(2)], Done),
            2 => [
                rows(
                    &["a"],
                    &[vec![Value::Integer(1)], vec![Value::Integer(2)]],
                    Part,
                ),
                rows(&["a"], &[vec![Value::Integer(3)]], Done),
                empty(), // the INTERRUPT of the next call's drain
            ]
            .concat(),
            3 => [
                stmt(1, 1),
                rows(&["?"], &[vec![Value::Text("x".into())]], Done),
                empty(),
            ]
            .concat(),
            4 => [stmt(2, 1), result(0, 3), result(0, 3), empty()].concat(),
            5 => frame(&Response::Server {
                id: 1,
                address: "@elsewhere".into(),
            }),
            6 => [
                rows(&["a", "b"], &[two(1)], Part),
                rows(
                    &["a", "b"],
                    &[two(2), vec![Value::Null, Value::Float(1.5)]],
                    Part,
                ),
                rows(&["a", "b"], &[], Done),
            ]
            .concat(),
            7 => [
                result(0, 0),
                rows(&["1"], &[vec![Value::Integer(1)]], Done),
                result(0, 2),
            ]
            .concat(),
            8 => {
                let columns: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
                let names: Vec<&str> = columns.iter().map(String::as_str).collect();
                [
                    rows(&["?"], &[vec![Value::Integer(1)]], Done), // schema 1 probe
                    rows(&names, &[vec![Value::Integer(7); 300]], Done),
                ]
                .concat()
            }
            // The RETURNING probe answered as 1.18.2 and later answer it, then the rows.
            9 => [
                failure(10, "leader exec failed"),
                rows(&["a"], &[vec![Value::Integer(1)]], Done),
            ]
            .concat(),
            10 => [
                stmt(3, 2),
                result(1, 1),
                result(2, 1),
                result(3, 1),
                empty(),
            ]
            .concat(),
            _ => Vec::new(),
        }
    }

    fn seed(control: u8, ops: [u8; OPS], tail: &[u8]) -> Vec<u8> {
        let mut data = vec![control];
        data.extend_from_slice(&ops);
        for op in ops {
            data.extend(answers(op));
        }
        data.extend_from_slice(tail);
        data
    }

    #[test]
    #[ignore = "writes the seed corpus; run on purpose"]
    fn write_seed_corpus() {
        let dir = corpus_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let mut seeds: Vec<(&str, Vec<u8>)> = vec![
            ("exec-query-drop", seed(0, [0, 1, 2, 3, 4, 5], &[])),
            ("frames-script-params", seed(0, [6, 7, 8, 0, 1, 11], &[])),
            ("returning-batch", seed(0, [9, 10, 1, 2, 6, 0], &[])),
            ("all-prepared", seed(0, [3, 4, 10, 3, 4, 10], &[])),
            ("stall-after-answers", seed(0x0f, [0, 1, 2, 3, 4, 5], &[])),
        ];
        // Failures in every position: an SQL error, then a leadership change.
        let mut errors = vec![0u8];
        errors.extend_from_slice(&[0, 1, 3, 0, 1, 0]);
        errors.extend(failure(1, "no such table: t"));
        errors.extend(rows(
            &["a"],
            &[vec![Value::Integer(1)]],
            dqlite_wire::RowsEnd::Part,
        ));
        errors.extend(failure(19, "constraint failed")); // FAILURE in place of a continuation
        errors.extend(failure(5, "database is locked"));
        errors.extend(failure(10250, "not leader"));
        seeds.push(("sql-errors-then-not-leader", errors));
        let mut lost = vec![0u8, 0, 0, 0, 0, 0, 0];
        lost.extend(result(1, 1));
        lost.extend(failure(10506, "leadership lost"));
        seeds.push(("leadership-lost", lost));
        // RETURNING refused by an old server (the capability probe fails).
        let mut old = vec![0u8, 9, 9, 1, 1, 1, 1];
        old.extend(failure(25, "column index out of range"));
        old.extend(answers(1));
        seeds.push(("returning-on-old-server", old));
        // Hostile frames right after a valid start.
        let mut huge = vec![0u8, 1, 1, 1, 1, 1, 1];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0]);
        seeds.push(("huge-declared-size", huge));
        let mut endless = vec![0u8, 1, 6, 2, 1, 1, 1];
        for _ in 0..8 {
            endless.extend(rows(&["a"], &[], dqlite_wire::RowsEnd::Part));
        }
        seeds.push(("empty-part-frames", endless));
        let mut unknown = vec![0u8, 0, 0, 0, 0, 0, 0];
        unknown.extend_from_slice(&[1, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        seeds.push(("unknown-response-type", unknown));
        let mut mismatch = vec![0u8, 1, 1, 1, 1, 1, 1];
        mismatch.extend(rows(
            &["a"],
            &[vec![Value::Integer(1)]],
            dqlite_wire::RowsEnd::Part,
        ));
        mismatch.extend(rows(
            &["a", "b"],
            &[vec![Value::Integer(1), Value::Integer(2)]],
            dqlite_wire::RowsEnd::Done,
        ));
        seeds.push(("column-count-change", mismatch));
        for (name, data) in seeds {
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
}

mod classify {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::replay::{self, Rng};

    include!("../fuzz/fuzz_targets/classify_logic.rs");

    /// Each check prepares the text in SQLite on a fresh connection (a few hundred
    /// microseconds); the budget keeps the test under 10 s on a busy machine.
    const MUTATIONS: usize = 50_000;
    const BUDGET: Duration = Duration::from_secs(8);

    fn corpus_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/classify")
    }

    /// Pieces of SQL a mutation inserts: keywords that change the classification, PRAGMA
    /// names and values, punctuation, quotes, comment and whitespace starts.
    const PIECES: [&str; 40] = [
        "SELECT ",
        "VALUES ",
        "WITH ",
        "EXPLAIN ",
        "PRAGMA ",
        "INSERT ",
        "UPDATE ",
        "DELETE ",
        "REPLACE ",
        "RETURNING ",
        "AS ",
        "INTO ",
        "main.",
        "temp.",
        "table_info",
        "user_version",
        "optimize",
        "journal_mode",
        "integrity_check",
        "wal_checkpoint",
        "(",
        ")",
        ";",
        "=",
        ".",
        ",",
        "-",
        "'",
        "\"",
        "`",
        "[",
        "]",
        "-- ",
        "\n",
        "/*",
        "*/",
        "\t",
        "\u{a0}",
        "1",
        "t",
    ];

    /// One mutation of the text in `data` (kept UTF-8: the target skips anything else).
    fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
        let text = String::from_utf8_lossy(data).into_owned();
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        let at = *rng.pick(&boundaries);
        let to = *rng.pick(&boundaries);
        let (from, to) = (at.min(to), at.max(to));
        let mutated = match rng.below(5) {
            0 => format!("{}{}{}", &text[..at], rng.pick(&PIECES), &text[at..]),
            1 => format!("{}{}", &text[..from], &text[to..]),
            2 => format!("{}{}", &text[..to], &text[from..]),
            3 => {
                let other = String::from_utf8_lossy(other);
                let cut = (0..=other.len())
                    .filter(|&i| other.is_char_boundary(i))
                    .nth(rng.below(other.len() + 1))
                    .unwrap_or(0);
                format!("{}{}", &text[..at], &other[cut..])
            }
            _ => {
                let mut flipped = text.clone();
                if rng.chance(2) {
                    flipped.make_ascii_uppercase();
                } else {
                    flipped.make_ascii_lowercase();
                }
                flipped
            }
        };
        data.clear();
        data.extend_from_slice(mutated.as_bytes());
    }

    #[test]
    fn replay_seed_corpus() {
        let seeds = replay::corpus(&corpus_dir(), 20);
        // Every prefix at a character boundary: a statement cut anywhere.
        replay::replay_seeds(check, &seeds, |data| match std::str::from_utf8(data) {
            Ok(text) => (0..text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect(),
            Err(_) => Vec::new(),
        });
    }

    #[test]
    fn mutated_statements() {
        let seeds = replay::corpus(&corpus_dir(), 20);
        let mut rng = Rng(0x0c1a_5517_f1e5_d00d);
        let done = replay::run_generated(check, MUTATIONS, BUDGET, &mut rng, |_, rng, data| {
            let (_, seed) = rng.pick(&seeds);
            let (_, other) = rng.pick(&seeds);
            data.extend_from_slice(seed);
            for _ in 0..=rng.below(3) {
                mutate(rng, data, other);
            }
        });
        assert!(done >= 2_000, "only {done} statements ran in {BUDGET:?}");
    }

    /// The seeds: statements of every kind, the PRAGMA forms at the edge of the read-only
    /// list, comments, quotes and odd whitespace.
    const SEEDS: [(&str, &str); 24] = [
        ("select", "SELECT a, b FROM t WHERE b = 'x;y' ORDER BY a"),
        ("values", "VALUES (1), (2)"),
        ("with-select", "WITH c AS (SELECT 1 AS n) SELECT n FROM c"),
        (
            "with-insert",
            "WITH c AS (SELECT 1) INSERT INTO t (b) SELECT * FROM c",
        ),
        (
            "with-delete-returning",
            "WITH c AS (VALUES (1)) DELETE FROM t WHERE a IN c RETURNING a",
        ),
        (
            "insert-returning",
            "INSERT INTO t (b) VALUES ('x') RETURNING a",
        ),
        ("update", "UPDATE t SET b = (SELECT 1) WHERE a = 1"),
        ("explain", "EXPLAIN QUERY PLAN SELECT * FROM t WHERE b = ?"),
        ("explain-insert", "EXPLAIN INSERT INTO t (b) VALUES ('x')"),
        ("pragma-bare", "PRAGMA user_version"),
        ("pragma-schema", "PRAGMA \"main\" . page_count;"),
        ("pragma-assign", "PRAGMA user_version = 5"),
        ("pragma-call", "PRAGMA main.user_version(5)"),
        ("pragma-table-info", "PRAGMA main.table_info(\"t\")"),
        ("pragma-index-list", "PRAGMA index_list = t"),
        ("pragma-quick-check", "PRAGMA quick_check(-1)"),
        ("pragma-optimize", "PRAGMA optimize(0xfffe)"),
        ("pragma-journal-mode", "PRAGMA journal_mode"),
        ("pragma-wal-checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)"),
        ("pragma-unknown", "PRAGMA no_such_pragma"),
        ("comments", "/* lead */ -- line\n\tselect 1 -- tail"),
        (
            "trigger",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END",
        ),
        ("transaction", "BEGIN IMMEDIATE"),
        (
            "script",
            "SELECT 1; PRAGMA user_version(3); INSERT INTO t VALUES (1, 'x')",
        ),
    ];

    #[test]
    #[ignore = "writes the seed corpus; run on purpose"]
    fn write_seed_corpus() {
        let dir = corpus_dir();
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in SEEDS {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
}

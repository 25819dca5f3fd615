// The checks behind the `classify` fuzz target, shared with `tests/fuzz_replay.rs` and
// `tests/classify.rs` through `include!`, so that the fuzzer and `cargo test` run exactly
// the same code. (Plain comments only: an included file cannot carry inner attributes or
// inner doc comments.)
//
// The input is SQL text (bytes that are not UTF-8 are skipped). `check` panics when:
// * `classify` calls a statement a QUERY while SQLite itself, preparing the same text
//   (`sqlite3_stmt_readonly`), says it writes. A write sent as QUERY escapes replication on
//   dqlite 1.11 and later crashes the leader. The one allowed difference is EXPLAIN, which
//   SQLite reports by the statement it explains but never runs;
// * a statement SQLite says writes and returns rows (other than a PRAGMA or EXPLAIN) is
//   not a WriteReturning: sent as EXEC it stops half done;
// * a QUERY does not start with a reading keyword, or a PRAGMA QUERY is not one of the
//   listed read-only forms' shapes;
// * any of the SQL helpers (`classify`, `is_dml`, `split_statements`, `is_complete`,
//   `trim_tail`, `parameters`) panics, or `split_statements` returns text that is not
//   part of the input.

use dqlite_client::sql::{self, StatementKind};

/// Tables and an index for the statements to name, so that they prepare.
const SCHEMA: &str = "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX i ON t (b); \
                      CREATE TABLE u (x INTEGER REFERENCES t (a));";

/// What SQLite says of the first statement of `text`: `Some((readonly, columns))`, or
/// `None` when it does not prepare (syntax errors, several statements) or when preparing
/// it would change process-wide state (the heap limits and temporary directories act when
/// the PRAGMA is compiled, not when it runs). Each statement gets a fresh connection:
/// other PRAGMAs act at compile time on their connection.
fn sqlite_verdict(text: &str) -> Option<(bool, usize)> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("heap_limit") || lower.contains("_directory") {
        return None;
    }
    let db = rusqlite::Connection::open_in_memory().ok()?;
    db.execute_batch(SCHEMA).ok()?;
    let statement = db.prepare(text).ok()?;
    Some((statement.readonly(), statement.column_count()))
}

/// The first word of `text`, skipping whitespace and comments, upper-cased.
fn first_word(text: &str) -> String {
    let stripped = sql::trim_tail(text);
    let mut rest = stripped;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').and_then(|n| after.get(n..)).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").and_then(|n| after.get(n + 2..)).unwrap_or_default();
        } else {
            break;
        }
    }
    rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Runs the checks on one SQL text.
fn check_sql(text: &str) {
    let kind = sql::classify(text);
    let _ = sql::is_dml(text);
    let _ = sql::is_complete(text);
    let _ = sql::parameters(text);
    let trimmed = sql::trim_tail(text);
    assert!(text.starts_with(trimmed), "trim_tail({text:?})");
    for part in sql::split_statements(text) {
        assert!(text.contains(part), "split_statements({text:?}) made up {part:?}");
    }
    let first = first_word(text);
    if kind != StatementKind::Query {
        // A write that returns rows, sent as EXEC, stops half done (docs/protocol.md
        // §10.4): SQLite's verdict must make it a WriteReturning. PRAGMAs are left to
        // their lists (and `sql::refusal`), EXPLAIN never runs what it explains.
        if kind != StatementKind::WriteReturning
            && !["PRAGMA", "EXPLAIN"].contains(&first.as_str())
            && let Some((false, columns)) = sqlite_verdict(text)
        {
            assert!(
                columns == 0,
                "classify({text:?}) = {kind:?}, but SQLite says it writes and returns rows"
            );
        }
        return;
    }
    assert!(
        ["SELECT", "VALUES", "EXPLAIN", "WITH", "PRAGMA"].contains(&first.as_str()),
        "classify({text:?}) = Query, first word {first:?}"
    );
    if let Some((readonly, _)) = sqlite_verdict(text) {
        assert!(
            readonly || first == "EXPLAIN",
            "classify({text:?}) = Query, but SQLite says the statement writes"
        );
    }
}

/// The fuzz input: SQL text.
#[allow(dead_code)] // `tests/classify.rs` includes this file for `check_sql` alone.
fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_sql(text);
    }
}

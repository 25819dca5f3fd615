//! `sql::classify` against SQLite's own verdict (`sqlite3_stmt_readonly`, through
//! rusqlite) over a generated corpus: every PRAGMA SQLite knows, in its bare, `= value`,
//! `(value)` and `schema.` forms, and SELECT, WITH, VALUES, EXPLAIN, DML with and without
//! RETURNING, DDL and transaction control, each with comments, odd whitespace and mixed
//! case.
//!
//! Two directions are checked:
//! * safety: nothing SQLite calls a write is sent as QUERY (`check_sql`, shared with the
//!   `classify` fuzz target);
//! * usefulness: what the Python driver, the dialect's reflection and the shell read
//!   (SELECT, bare PRAGMA reads, `PRAGMA table_info(t)`...) is still a QUERY, so its rows
//!   come back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

include!("../fuzz/fuzz_targets/classify_logic.rs");

/// PRAGMA names SQLite may not list in `pragma_list` (compiled out, deprecated, or
/// unknown to it), plus one it certainly does not know.
const EXTRA_PRAGMAS: [&str; 8] = [
    "legacy_file_format",
    "data_store_directory",
    "stats",
    "vdbe_trace",
    "parser_trace",
    "sql_trace",
    "schema",
    "no_such_pragma",
];

/// PRAGMAs SQLite reports read-only with a result column in their bare form that are
/// nevertheless sent as EXEC: `optimize` runs ANALYZE when statistics are stale (SQLite's
/// verdict depends on the database's state at prepare time).
const EXEC_BY_DESIGN: [&str; 1] = ["optimize"];

fn pragma_names() -> Vec<String> {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let mut names: Vec<String> = db
        .prepare("PRAGMA pragma_list")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(names.len() > 50, "PRAGMA pragma_list: {names:?}");
    names.extend(EXTRA_PRAGMAS.iter().map(|s| s.to_string()));
    names
}

/// Values a PRAGMA can take, in `= v` and `(v)` position.
const VALUES: [&str; 10] = [
    "1", "0", "-1", "+5", "'x'", "t", "i", "ON", "\"main\"", "FULL",
];

/// Ways to write the text around a statement: comments, odd whitespace, a `;`.
fn decorations(core: &str) -> Vec<String> {
    vec![
        core.to_string(),
        format!("  /* lead */ {core}"),
        format!("-- lead\n{core} -- tail"),
        format!("\t\r\n\x0c{core}\n\t;"),
        format!("{core};  "),
        core.to_ascii_uppercase(),
        core.to_ascii_lowercase(),
    ]
}

/// Every PRAGMA form, as (name, statement text). Each form is written plainly and in one
/// other way (comments, whitespace, case, `;`), in turn, to keep the corpus near 10,000.
fn pragma_corpus() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut turn = 0usize;
    for name in pragma_names() {
        for schema in ["", "main.", "\"main\".", "MAIN . "] {
            let mut forms = vec![format!("PRAGMA {schema}{name}")];
            for value in VALUES {
                forms.push(format!("PRAGMA {schema}{name} = {value}"));
                forms.push(format!("PRAGMA {schema}{name}({value})"));
            }
            forms.push(format!(
                "PRAGMA {schema}{name}={}",
                VALUES[turn % VALUES.len()]
            ));
            forms.push(format!(
                "PRAGMA {schema}{name} ( {} )",
                VALUES[turn % VALUES.len()]
            ));
            forms.push(format!("PRAGMA {schema}{name}(t, 1)"));
            forms.push(format!("PRAGMA {schema}{name} = 1.5"));
            for form in forms {
                let ways = decorations(&form);
                turn += 1;
                out.push((name.clone(), form));
                out.push((name.clone(), ways[1 + turn % (ways.len() - 1)].clone()));
            }
        }
    }
    out
}

/// Statements other than PRAGMA, with the kind each must get.
fn statement_corpus() -> Vec<(StatementKind, String)> {
    use StatementKind::{Exec, Query, WriteReturning};
    let statements = [
        (Query, "SELECT 1"),
        (Query, "SELECT * FROM t WHERE b = 'x;y'"),
        (Query, "select a, b from t order by a"),
        (Query, "SELECT count(*) FROM t JOIN u ON u.x = t.a"),
        (Query, "VALUES (1), (2)"),
        (Query, "WITH c AS (SELECT 1 AS n) SELECT n FROM c"),
        (
            Query,
            "WITH RECURSIVE c(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM c WHERE n < 5) \
             SELECT n FROM c",
        ),
        (Query, "WITH c AS MATERIALIZED (SELECT 1) SELECT * FROM c"),
        (Query, "EXPLAIN SELECT 1"),
        (Query, "EXPLAIN QUERY PLAN SELECT * FROM t WHERE b = ?"),
        (Query, "SELECT * FROM pragma_table_info('t')"),
        // SQLite reports these by the statement they explain; they never run it.
        (Query, "EXPLAIN INSERT INTO t (b) VALUES ('x')"),
        (Query, "EXPLAIN QUERY PLAN DELETE FROM t"),
        (Exec, "INSERT INTO t (b) VALUES ('x')"),
        (WriteReturning, "INSERT INTO t (b) VALUES ('x') RETURNING a"),
        (Exec, "INSERT INTO t (b) SELECT 'returning' FROM u"),
        (WriteReturning, "REPLACE INTO t VALUES (1, 'x') RETURNING *"),
        // A Tcl-style parameter name holds parentheses that open nothing.
        (
            WriteReturning,
            "INSERT INTO t (b) VALUES ($a(()) RETURNING a",
        ),
        (
            WriteReturning,
            "WITH replace AS (SELECT 1) INSERT INTO t (b) SELECT * FROM replace RETURNING a",
        ),
        (Exec, "UPDATE t SET b = 'y' WHERE a = 1"),
        (WriteReturning, "UPDATE t SET b = (SELECT 1) RETURNING b"),
        (Exec, "DELETE FROM t"),
        (
            WriteReturning,
            "DELETE FROM t WHERE a IN (SELECT x FROM u) RETURNING a",
        ),
        (
            Exec,
            "WITH c AS (SELECT 1) INSERT INTO t (b) SELECT * FROM c",
        ),
        (
            WriteReturning,
            "WITH c AS (VALUES (1)) DELETE FROM t WHERE a IN c RETURNING a",
        ),
        (Exec, "WITH c AS (SELECT 1) UPDATE t SET b = 'z'"),
        (Exec, "CREATE TABLE v (a)"),
        (Exec, "CREATE TEMP TABLE v (a)"),
        (Exec, "CREATE INDEX j ON t (a)"),
        (
            Exec,
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END",
        ),
        (Exec, "CREATE VIEW w AS SELECT 1"),
        (Exec, "DROP TABLE u"),
        (Exec, "ALTER TABLE t ADD COLUMN c"),
        (Exec, "BEGIN"),
        (Exec, "BEGIN IMMEDIATE"),
        (Exec, "COMMIT"),
        (Exec, "END"),
        (Exec, "ROLLBACK"),
        (Exec, "SAVEPOINT s"),
        (Exec, "RELEASE s"),
        (Exec, "ANALYZE"),
        (Exec, "VACUUM"),
        (Exec, "REINDEX"),
        (Exec, "ATTACH ':memory:' AS x"),
        (Exec, "DETACH x"),
    ];
    let mut out = Vec::new();
    for (kind, text) in statements {
        for decorated in decorations(text) {
            out.push((kind, decorated));
        }
    }
    out
}

#[test]
fn no_pragma_sqlite_calls_a_write_is_a_query_and_the_reads_stay_queries() {
    let corpus = pragma_corpus();
    let mut checked = 0usize;
    for (name, text) in &corpus {
        check_sql(text);
        let Some((readonly, columns)) = sqlite_verdict(text) else {
            continue;
        };
        checked += 1;
        // The bare form of every PRAGMA that SQLite says only reads and returns a row is
        // a QUERY, with or without a schema, comments and `;` (the rows come back).
        let bare = text.to_ascii_lowercase();
        let bare = bare.trim_matches(|c: char| c.is_ascii_whitespace() || c == ';');
        let is_bare = bare.strip_prefix("pragma ").is_some_and(|rest| {
            let rest = rest.rsplit(['.', ' ']).next().unwrap_or(rest);
            rest == name.as_str()
        });
        if is_bare && readonly && columns > 0 && !EXEC_BY_DESIGN.contains(&name.as_str()) {
            assert_eq!(sql::classify(text), StatementKind::Query, "{text:?}");
        }
    }
    eprintln!(
        "{} PRAGMA texts, {checked} prepared by SQLite",
        corpus.len()
    );
    assert!(checked > corpus.len() / 4, "only {checked} prepared");
}

#[test]
fn reading_pragmas_the_driver_and_dialect_issue_are_queries() {
    // SQLAlchemy's SQLite reflection and the Python driver's own reads.
    for text in [
        "PRAGMA main.table_info(\"t\")",
        "PRAGMA main.table_xinfo(\"t\")",
        "PRAGMA main.index_list(\"t\")",
        "PRAGMA main.index_info(\"i\")",
        "PRAGMA main.index_xinfo(\"i\")",
        "PRAGMA main.foreign_key_list(\"u\")",
        "PRAGMA main.table_list",
        "PRAGMA database_list",
        "PRAGMA read_uncommitted",
        "PRAGMA foreign_keys",
        "PRAGMA user_version",
        "PRAGMA integrity_check",
        "PRAGMA quick_check(10)",
    ] {
        assert_eq!(sql::classify(text), StatementKind::Query, "{text}");
        assert!(sqlite_verdict(text).unwrap().0, "{text}");
    }
}

#[test]
fn settings_and_actions_are_sent_as_exec() {
    for text in [
        "PRAGMA user_version(5)",
        "PRAGMA main.user_version(5)",
        "PRAGMA user_version = 5",
        "PRAGMA application_id(7)",
        "PRAGMA schema_version(1)",
        "PRAGMA foreign_keys(ON)",
        "PRAGMA journal_mode",
        "PRAGMA journal_mode(WAL)",
        "PRAGMA optimize",
        "PRAGMA optimize(0xfffe)",
        "PRAGMA incremental_vacuum",
        "PRAGMA incremental_vacuum(10)",
        "PRAGMA wal_checkpoint",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "PRAGMA shrink_memory",
        "PRAGMA no_such_pragma",
    ] {
        assert_eq!(sql::classify(text), StatementKind::Exec, "{text}");
    }
}

#[test]
fn statements_are_classified_as_sqlite_sees_them() {
    for (expected, text) in statement_corpus() {
        check_sql(&text);
        let (readonly, columns) =
            sqlite_verdict(&text).unwrap_or_else(|| panic!("{text:?} does not prepare"));
        assert_eq!(sql::classify(&text), expected, "{text:?}");
        match expected {
            StatementKind::Query => assert!(columns > 0, "{text:?}"),
            StatementKind::WriteReturning => assert!(!readonly && columns > 0, "{text:?}"),
            _ => {}
        }
    }
}

#[test]
fn comments_and_whitespace_alone_are_empty() {
    for text in ["", "  ", "-- c", "/* c */", "\t\n\r\x0c", ";", " ; -- x\n"] {
        assert_eq!(sql::classify(text), StatementKind::Empty, "{text:?}");
        check_sql(text);
    }
}

/// `sql::parameters` against SQLite's own numbering and names
/// (`sqlite3_bind_parameter_count` and `_name`, through rusqlite) over every statement
/// `SELECT p1, p2, p3` made of three placeholders, literals and comments from a fixed list:
/// numbered, anonymous, named with each prefix, Tcl-style names, and text that only looks
/// like a placeholder.
#[test]
fn parameters_are_numbered_and_named_as_sqlite_does() {
    const PIECES: [&str; 24] = [
        "?",
        "?2",
        "?1",
        "?00003",
        ":a",
        "@a",
        "$a",
        "#a",
        ":b",
        ":a::b",
        "$a::b(c)",
        "@a(x;y)",
        "$::a",
        ":\u{e9}",
        "'?:a'",
        "\"?\"",
        "[:a]",
        "`@a`",
        "x'3f'",
        "? -- ?\n",
        "/* :a */ ?",
        "(?)",
        "?1a",
        "$a$b",
    ];
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let mut checked = 0;
    for a in PIECES {
        for b in PIECES {
            for c in PIECES {
                let text = format!("SELECT {a}, {b}, {c}");
                let Ok(statement) = db.prepare(&text) else {
                    continue;
                };
                let sqlite: Vec<Option<String>> = (1..=statement.parameter_count())
                    .map(|i| statement.parameter_name(i).map(str::to_owned))
                    .collect();
                let ours: Vec<Option<String>> = dqlite_client::sql::parameters(&text)
                    .into_iter()
                    .map(|n| n.map(str::to_owned))
                    .collect();
                // SQLite names `?NNN` placeholders too; ours are the same text.
                assert_eq!(ours, sqlite, "{text:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

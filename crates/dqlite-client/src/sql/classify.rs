//! Which request a statement needs: QUERY for statements that only read and return rows,
//! EXEC for everything else.

use super::tokens::{Token, Tokens};

/// How a statement must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementKind {
    /// Produces rows and changes nothing: SELECT, VALUES, a WITH whose body is a SELECT,
    /// EXPLAIN, and the read-only forms of PRAGMA (see [`classify`]). Sent as QUERY.
    Query,
    /// Everything that may change something, rows or not: DML without RETURNING, DDL,
    /// transaction control, every PRAGMA form not known to be read-only. Sent as EXEC.
    Exec,
    /// A write that also produces rows (INSERT/UPDATE/DELETE ... RETURNING). Only servers
    /// from 1.18.2 replicate it through QUERY and return its rows.
    WriteReturning,
    /// Only comments and whitespace.
    Empty,
}

/// PRAGMAs that only read when given no value (`PRAGMA name`, `PRAGMA schema.name`);
/// with a value (`= v` or `(v)`) most of them set something. Sorted.
const READ_WITHOUT_VALUE: [&str; 50] = [
    "analysis_limit",
    "application_id",
    "auto_vacuum",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "cell_size_check",
    "checkpoint_fullfsync",
    "collation_list",
    "compile_options",
    "count_changes",
    "data_version",
    "database_list",
    "default_cache_size",
    "defer_foreign_keys",
    "empty_result_callbacks",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "full_column_names",
    "fullfsync",
    "function_list",
    "hard_heap_limit",
    "ignore_check_constraints",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "schema_version",
    "secure_delete",
    "short_column_names",
    "soft_heap_limit",
    "synchronous",
    "temp_store",
    "temp_store_directory",
    "threads",
    "trusted_schema",
    "user_version",
    "wal_autocheckpoint",
    "writable_schema",
];

/// PRAGMAs that only read in every form: their value names a table or an index, or
/// bounds a check (`PRAGMA table_info(t)`, `PRAGMA quick_check(10)`). Sorted.
const READ_WITH_ANY_VALUE: [&str; 10] = [
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
];

/// PRAGMAs whose setting form (`= v` or `(v)`) changes a setting of the connection (or
/// of the server's process), writes nothing to the database, and returns the new value as
/// a row, as SQLite has them: sent as QUERY, so that the row comes back (as EXEC the
/// setting applies, then the statement fails with "another row available"). Each is also
/// in [`READ_WITHOUT_VALUE`]. Not here: `journal_mode` and `locking_mode`, which change
/// how the database file is written. Sorted.
const SET_AND_RETURN: [&str; 8] = [
    "analysis_limit",
    "hard_heap_limit",
    "journal_size_limit",
    "max_page_count",
    "mmap_size",
    "soft_heap_limit",
    "threads",
    "wal_autocheckpoint",
];

/// Classifies the first statement of `sql` (see [`StatementKind`]).
///
/// The decision never sends a write as QUERY (on dqlite 1.11 a write through QUERY
/// escapes replication and later crashes the leader): whatever is not known to only read
/// is EXEC. A PRAGMA is a QUERY only in a read-only form from a fixed list: a bare name
/// whose plain form reads (`PRAGMA user_version`, `PRAGMA main.page_count`), or a name
/// that reads with any value (`PRAGMA table_info(t)`, `PRAGMA index_list = i`), or a
/// connection setting that returns its new value and writes nothing
/// (`PRAGMA max_page_count = 1000`, `PRAGMA mmap_size(0)`). Every other PRAGMA goes as
/// EXEC: settings (`PRAGMA user_version = 5`,
/// `PRAGMA user_version(5)`), actions (`optimize`, `incremental_vacuum`,
/// `wal_checkpoint`, `shrink_memory`), `journal_mode` (which SQLite itself counts as a
/// write) and names it does not know. A statement sent as EXEC returns no rows.
///
/// ```
/// use dqlite_client::sql::{classify, StatementKind};
/// assert_eq!(classify("select 1"), StatementKind::Query);
/// assert_eq!(classify("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"), StatementKind::Exec);
/// assert_eq!(classify("INSERT INTO t VALUES (1) RETURNING id"), StatementKind::WriteReturning);
/// assert_eq!(classify("PRAGMA main.table_info(t)"), StatementKind::Query);
/// assert_eq!(classify("PRAGMA user_version"), StatementKind::Query);
/// assert_eq!(classify("PRAGMA user_version(5)"), StatementKind::Exec);
/// assert_eq!(classify("PRAGMA optimize"), StatementKind::Exec);
/// ```
pub fn classify(sql: &str) -> StatementKind {
    let mut tokens = Tokens::new(sql);
    let first = match tokens.next() {
        None | Some((_, _, Token::Semicolon)) => return StatementKind::Empty,
        Some((_, _, Token::Word(word))) => word,
        // Not a statement SQLite would accept; whatever it is, it is not sent as a read.
        Some(_) => return StatementKind::Exec,
    };
    let is_first = |k: &str| first.eq_ignore_ascii_case(k);
    if is_first("SELECT") || is_first("VALUES") || is_first("EXPLAIN") {
        // Whatever follows, these read (EXPLAIN compiles its statement, never runs it).
        return StatementKind::Query;
    }
    if is_first("PRAGMA") {
        return pragma_kind(sql, tokens);
    }
    let with = is_first("WITH");
    if !with && !DML.iter().any(|k| is_first(k)) {
        return StatementKind::Exec;
    }
    let Body { verb, returning } = Body::scan(tokens);
    if with
        && verb
            .is_some_and(|v| v.eq_ignore_ascii_case("SELECT") || v.eq_ignore_ascii_case("VALUES"))
    {
        StatementKind::Query
    } else if returning {
        StatementKind::WriteReturning
    } else {
        StatementKind::Exec
    }
}

/// The statements whose change count means something.
const DML: [&str; 4] = ["INSERT", "REPLACE", "UPDATE", "DELETE"];

/// What the top level of a statement holds after its first word.
struct Body<'a> {
    /// The first SELECT, VALUES, INSERT, REPLACE, UPDATE or DELETE outside parentheses
    /// (after a WITH clause: the statement the clause belongs to).
    verb: Option<&'a str>,
    /// A RETURNING clause outside parentheses.
    returning: bool,
}

impl<'a> Body<'a> {
    fn scan(tokens: Tokens<'a>) -> Self {
        let mut depth = 0usize;
        let mut body = Body {
            verb: None,
            returning: false,
        };
        // The token before this one at the top level was a `)`: after a WITH clause, the
        // statement's verb comes right after the `)` that closes the last CTE, while a
        // CTE's name (which may be REPLACE, a keyword SQLite also takes as a name) comes
        // after WITH, RECURSIVE or a comma.
        let mut after_close = false;
        for (_, _, token) in tokens {
            let top_level_close = depth == 1 && token == Token::Close;
            match token {
                Token::Semicolon => break,
                Token::Open => depth += 1,
                Token::Close => depth = depth.saturating_sub(1),
                Token::Word(word) if depth == 0 => {
                    let is = |k: &str| word.eq_ignore_ascii_case(k);
                    if body.verb.is_none()
                        && (after_close || !is("REPLACE"))
                        && (is("SELECT") || is("VALUES") || DML.iter().any(|k| is(k)))
                    {
                        body.verb = Some(word);
                    }
                    if is("RETURNING") {
                        body.returning = true;
                    }
                }
                Token::Word(_) | Token::Other | Token::Variable(_) => {}
            }
            if depth == 0 {
                after_close = top_level_close;
            }
        }
        body
    }
}

/// The first statement's verb as written: its first word, or for a statement that starts
/// with a WITH clause, the SELECT, VALUES, INSERT, REPLACE, UPDATE or DELETE the clause
/// belongs to (`None` when there is none). Tells an INSERT from other DML (whose last
/// insert rowid means nothing), CTE or not.
///
/// ```
/// use dqlite_client::sql::verb;
/// assert_eq!(verb("/* c */ insert into t values (1)"), Some("insert"));
/// assert_eq!(verb("WITH a(x) AS (SELECT 1) REPLACE INTO t SELECT x FROM a"), Some("REPLACE"));
/// assert_eq!(verb("WITH a AS (DELETE FROM t) SELECT 1"), Some("SELECT"));
/// assert_eq!(verb("WITH replace AS (SELECT 1) UPDATE t SET a = 1"), Some("UPDATE"));
/// assert_eq!(verb("-- nothing"), None);
/// ```
pub fn verb(sql: &str) -> Option<&str> {
    let mut tokens = Tokens::new(sql);
    match tokens.next() {
        Some((_, _, Token::Word(word))) if word.eq_ignore_ascii_case("WITH") => {
            Body::scan(tokens).verb
        }
        Some((_, _, Token::Word(word))) => Some(word),
        _ => None,
    }
}

/// The kind of a PRAGMA, from the tokens after the keyword:
/// `[schema .] name [= value | (value)]`.
fn pragma_kind<'a>(sql: &'a str, tokens: Tokens<'a>) -> StatementKind {
    let mut rest = tokens.map_while(|(start, end, token)| {
        (token != Token::Semicolon).then(|| (token, sql.get(start..end).unwrap_or_default()))
    });
    let (Some(mut name), mut after) = (rest.next(), rest.next()) else {
        return StatementKind::Exec;
    };
    if after == Some((Token::Other, ".")) {
        // `name` was the schema.
        let Some(real) = rest.next() else {
            return StatementKind::Exec;
        };
        name = real;
        after = rest.next();
    }
    // A quoted name is legal SQL, but rare enough to go the safe way.
    let Token::Word(name) = name.0 else {
        return StatementKind::Exec;
    };
    let listed = |list: &[&str]| {
        list.binary_search_by(|probe| cmp_ignore_ascii_case(probe, name))
            .is_ok()
    };
    let any_value = listed(&READ_WITH_ANY_VALUE) || listed(&SET_AND_RETURN);
    let query = match after {
        None => any_value || listed(&READ_WITHOUT_VALUE),
        Some((Token::Other, "=")) => any_value && one_value(&mut rest) && rest.next().is_none(),
        Some((Token::Open, _)) => {
            any_value
                && one_value(&mut rest)
                && rest.next().is_some_and(|(t, _)| t == Token::Close)
                && rest.next().is_none()
        }
        Some(_) => false,
    };
    if query {
        StatementKind::Query
    } else {
        StatementKind::Exec
    }
}

/// Consumes a PRAGMA value: an optional sign, then a name, a number or a quoted string.
fn one_value<'a>(rest: &mut impl Iterator<Item = (Token<'a>, &'a str)>) -> bool {
    let mut next = rest.next();
    if matches!(next, Some((Token::Other, "+" | "-"))) {
        next = rest.next();
    }
    match next {
        Some((Token::Word(_), _)) => true,
        Some((Token::Other, text)) => text.starts_with(['\'', '"', '`', '[']),
        _ => false,
    }
}

/// ASCII-case-insensitive ordering of `a` against `b`, for the sorted lists above.
fn cmp_ignore_ascii_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Why the first statement of `sql` is never sent, or `None` for almost every statement:
/// the PRAGMAs that break dqlite's hold on its databases (kept in WAL mode, with pages of
/// 4096 bytes, checkpointed by dqlite), or the node itself. On 1.11:
/// * `PRAGMA journal_mode` set to another mode kills the node at once
///   (`free(): invalid pointer`), and so does `PRAGMA page_size` set to another size;
/// * `PRAGMA wal_checkpoint` (except TRUNCATE) kills it at the connection's next write,
///   and so does `PRAGMA synchronous` set to FULL or EXTRA (on 1.18.1 too);
/// * `PRAGMA count_changes = ON` makes every INSERT, UPDATE and DELETE return a row, sent
///   as EXEC: the node dies at the next write (on 1.18.1 too; 1.18.7 keeps the write lock).
///
/// 1.18.1 refuses the first three with code 10, later servers with 23 "not authorized".
/// `PRAGMA hard_heap_limit = N` lowers the limit of the server's whole process: a low one
/// leaves the node out of memory for every client, on every version. The reading forms,
/// and settings to what dqlite keeps anyway (WAL, 4096, off), go to the server.
///
/// Each reason starts "not authorized", as the newest servers word their refusal, so that
/// a refusal reads the same whichever side made it.
pub(crate) fn refusal(sql: &str) -> Option<&'static str> {
    let mut tokens = Tokens::new(sql);
    match tokens.next() {
        Some((_, _, Token::Word(word))) if word.eq_ignore_ascii_case("PRAGMA") => {}
        _ => return None,
    }
    let mut rest = tokens.map_while(|(start, end, token)| {
        (token != Token::Semicolon).then(|| (token, sql.get(start..end).unwrap_or_default()))
    });
    let mut name = rest.next()?;
    let mut after = rest.next();
    if after == Some((Token::Other, ".")) {
        name = rest.next()?;
        after = rest.next();
    }
    let is = |text: &str, keyword: &str| unquoted(text).eq_ignore_ascii_case(keyword);
    if is(name.1, "wal_checkpoint") {
        return Some(
            "not authorized: PRAGMA wal_checkpoint: dqlite checkpoints its databases itself (a \
             1.11 node aborts after a checkpoint of a client's, newer ones refuse it)",
        );
    }
    // The rest are refused in their setting forms only, by value.
    let (negative, value) = match after {
        Some((Token::Other, "=") | (Token::Open, _)) => match rest.next()? {
            (Token::Other, "-") => (true, rest.next()?.1),
            (Token::Other, "+") => (false, rest.next()?.1),
            (_, value) => (false, value),
        },
        _ => return None,
    };
    let value = unquoted(value);
    let among = |values: &[&str]| values.iter().any(|v| value.eq_ignore_ascii_case(v));
    if is(name.1, "journal_mode") {
        // dqlite's own check sees every value that is not WAL, even one SQLite would
        // ignore or take as a prefix (`d` is DELETE), and 1.11 dies of its refusal.
        return (negative || !among(&["wal"])).then_some(
            "not authorized: PRAGMA journal_mode: dqlite runs its databases in WAL mode only \
             (another mode kills a 1.11 node, newer ones refuse it)",
        );
    }
    if is(name.1, "synchronous") {
        return (negative
            || !among(&[
                "0", "1", "off", "normal", "no", "false", "on", "yes", "true",
            ]))
        .then_some(
            "not authorized: PRAGMA synchronous: dqlite's storage does not sync as FULL or EXTRA \
             asks (the next write kills a 1.11 or 1.18.1 node, newer ones refuse it)",
        );
    }
    if is(name.1, "count_changes") {
        return (negative || !among(&["0", "off", "no", "false"])).then_some(
            "not authorized: PRAGMA count_changes: it makes INSERT, UPDATE and DELETE return a \
             row, which dqlite cannot run as a statement without rows (a 1.11 or 1.18.1 node dies \
             at the next write, a newer one keeps the write lock)",
        );
    }
    if is(name.1, "page_size") {
        return (negative || value != "4096").then_some(
            "not authorized: PRAGMA page_size: dqlite's databases keep pages of 4096 bytes \
             (another size kills a 1.11 node, newer ones refuse it)",
        );
    }
    if is(name.1, "hard_heap_limit") {
        return (!negative && value != "0").then_some(
            "not authorized: PRAGMA hard_heap_limit: a limit of the server's whole process, shared \
             by every client of the node (a low one leaves the node out of memory for everybody)",
        );
    }
    None
}

/// A name or string without its quotes (`"x"`, `'x'`, `[x]`, `` `x` ``); doubled quotes
/// inside are left as they are (no PRAGMA name or mode holds one).
fn unquoted(text: &str) -> &str {
    let inner = match text.as_bytes().first() {
        Some(b'"') => text.strip_prefix('"').and_then(|t| t.strip_suffix('"')),
        Some(b'\'') => text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')),
        Some(b'`') => text.strip_prefix('`').and_then(|t| t.strip_suffix('`')),
        Some(b'[') => text.strip_prefix('[').and_then(|t| t.strip_suffix(']')),
        _ => None,
    };
    inner.unwrap_or(text)
}

/// True when the first statement of `sql` is an INSERT, UPDATE, DELETE or REPLACE
/// (directly or after a WITH clause): the statements whose change count means something.
///
/// ```
/// use dqlite_client::sql::is_dml;
/// assert!(is_dml("/* c */ insert into t values (1)"));
/// assert!(is_dml("WITH a AS (SELECT 1) DELETE FROM t"));
/// assert!(!is_dml("CREATE TABLE t (a)"));
/// ```
pub fn is_dml(sql: &str) -> bool {
    let first = Tokens::new(sql).find_map(|(_, _, t)| match t {
        Token::Word(w) => Some(w),
        _ => None,
    });
    match first {
        Some(w) if w.eq_ignore_ascii_case("WITH") => matches!(
            classify(sql),
            StatementKind::Exec | StatementKind::WriteReturning
        ),
        Some(w) => DML.iter().any(|k| w.eq_ignore_ascii_case(k)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        use StatementKind::*;
        let cases = [
            ("SELECT * FROM t", Query),
            ("  /* c */ select 1", Query),
            ("VALUES (1), (2)", Query),
            ("EXPLAIN QUERY PLAN SELECT 1", Query),
            ("PRAGMA table_info(t)", Query),
            ("PRAGMA journal_mode", Exec),
            ("PRAGMA user_version", Query),
            ("pragma \"main\" . USER_VERSION;", Query),
            ("PRAGMA user_version = 5", Exec),
            ("PRAGMA user_version(5)", Exec),
            ("PRAGMA main.user_version(5)", Exec),
            ("PRAGMA main.table_info('t')", Query),
            ("PRAGMA table_info = [t] -- c", Query),
            ("PRAGMA quick_check(-1)", Query),
            ("PRAGMA table_info(t) x", Exec),
            ("PRAGMA table_info(t, u)", Exec),
            ("PRAGMA \"table_info\"(t)", Exec),
            ("PRAGMA optimize", Exec),
            ("PRAGMA optimize(0x10002)", Exec),
            ("PRAGMA incremental_vacuum", Exec),
            ("PRAGMA wal_checkpoint(TRUNCATE)", Exec),
            ("PRAGMA no_such_pragma", Exec),
            ("PRAGMA", Exec),
            ("PRAGMA main.", Exec),
            ("'x' SELECT 1", Exec),
            ("PRAGMA foreign_keys = ON", Exec),
            ("PRAGMA max_page_count = 1000", Query),
            ("PRAGMA main.mmap_size(0)", Query),
            ("PRAGMA soft_heap_limit = -1", Query),
            ("PRAGMA threads = 2 x", Exec),
            ("PRAGMA journal_mode = WAL", Exec),
            ("PRAGMA locking_mode = EXCLUSIVE", Exec),
            ("PRAGMA cache_size = 100", Exec),
            ("WITH a AS (SELECT 1) SELECT * FROM a", Query),
            ("WITH a(x) AS (VALUES (1)) DELETE FROM t WHERE x IN a", Exec),
            (
                "WITH a AS (SELECT 1) UPDATE t SET x = 1 RETURNING x",
                WriteReturning,
            ),
            // REPLACE is also a name to SQLite: a CTE may be called so.
            ("WITH replace AS (SELECT 1) SELECT * FROM replace", Query),
            (
                "WITH a AS (SELECT 1), Replace(x) AS (VALUES (2)) VALUES (3)",
                Query,
            ),
            ("WITH replace AS (SELECT 1) DELETE FROM t", Exec),
            ("WITH a AS (SELECT 1) REPLACE INTO t SELECT * FROM a", Exec),
            (
                "WITH replace AS (SELECT 1) INSERT OR REPLACE INTO t SELECT 1 RETURNING a",
                WriteReturning,
            ),
            ("INSERT INTO t VALUES (1)", Exec),
            ("insert into t values (1) returning *", WriteReturning),
            ("INSERT INTO t SELECT 'returning' FROM u", Exec),
            ("DELETE FROM t", Exec),
            ("REPLACE INTO t VALUES (1)", Exec),
            ("UPDATE t SET a = (SELECT 1)", Exec),
            ("CREATE TABLE t (a)", Exec),
            ("BEGIN", Exec),
            ("COMMIT", Exec),
            ("SAVEPOINT a", Exec),
            ("   -- nothing", Empty),
            ("", Empty),
        ];
        for (sql, kind) in cases {
            assert_eq!(classify(sql), kind, "{sql}");
        }
    }

    #[test]
    fn pragmas_that_break_dqlite_are_refused() {
        for sql in [
            "PRAGMA journal_mode = DELETE",
            "pragma main.journal_mode(off)",
            "PRAGMA \"journal_mode\" = 'memory';",
            "PRAGMA [main].JOURNAL_MODE = truncate -- c",
            "PRAGMA journal_mode = PERSIST",
            "PRAGMA wal_checkpoint",
            "PRAGMA main.wal_checkpoint(PASSIVE)",
            "/* c */ PRAGMA `wal_checkpoint`(TRUNCATE)",
            "PRAGMA count_changes = 1",
            "PRAGMA main.count_changes(ON)",
            "PRAGMA count_changes = 'full'",
            "PRAGMA count_changes = -1",
            "PRAGMA page_size = 512",
            "PRAGMA main.page_size(65536)",
            "PRAGMA page_size = -4096",
            "PRAGMA hard_heap_limit = 1",
            "PRAGMA hard_heap_limit(0x10)",
            "PRAGMA journal_mode = d",
            "PRAGMA journal_mode = 0",
            "PRAGMA JOURNAL_MODE = nonsense",
            "PRAGMA synchronous = FULL",
            "PRAGMA synchronous = 2",
            "PRAGMA main.synchronous(extra)",
        ] {
            assert!(refusal(sql).is_some(), "{sql}");
        }
        for sql in [
            "PRAGMA journal_mode",
            "PRAGMA main.journal_mode",
            "PRAGMA journal_mode = WAL",
            "PRAGMA journal_mode = 'wal'",
            "PRAGMA synchronous",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA synchronous = off",
            "PRAGMA synchronous = 1",
            "PRAGMA journal_size_limit = 0",
            "PRAGMA count_changes",
            "PRAGMA count_changes = 0",
            "PRAGMA count_changes = off",
            "PRAGMA page_size",
            "PRAGMA page_size = 4096",
            "PRAGMA page_size = +4096",
            "PRAGMA hard_heap_limit",
            "PRAGMA hard_heap_limit = 0",
            "PRAGMA hard_heap_limit = -1",
            "PRAGMA soft_heap_limit = 1",
            "SELECT 'PRAGMA wal_checkpoint'",
            "PRAGMA",
            "PRAGMA main.",
            "",
        ] {
            assert_eq!(refusal(sql), None, "{sql}");
        }
    }

    #[test]
    fn non_ascii_text() {
        assert_eq!(classify("SELECT '€' = '€'"), StatementKind::Query);
    }

    #[test]
    fn a_byte_order_mark_is_a_space() {
        assert_eq!(classify("\u{feff}SELECT 1"), StatementKind::Query);
        assert_eq!(
            classify(" \u{feff}/* c */\u{feff}VALUES (1)"),
            StatementKind::Query
        );
        assert_eq!(classify("\u{feff}"), StatementKind::Empty);
    }

    #[test]
    fn the_pragma_lists_are_sorted_for_binary_search() {
        for list in [
            &READ_WITHOUT_VALUE[..],
            &READ_WITH_ANY_VALUE[..],
            &SET_AND_RETURN[..],
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(
                list.iter()
                    .all(|n| n.bytes().all(|b| !b.is_ascii_uppercase()))
            );
        }
        // Their plain form reads too.
        assert!(
            SET_AND_RETURN
                .iter()
                .all(|n| READ_WITHOUT_VALUE.contains(n))
        );
    }
}

//! Which request a statement needs: QUERY for statements that only read and return rows,
//! EXEC for everything else.

use super::tokens::{Token, Tokens};

/// How a statement must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementKind {
    /// Produces rows and changes nothing: SELECT, VALUES, a WITH whose body is a SELECT,
    /// EXPLAIN, and PRAGMA without an assignment. Sent as QUERY.
    Query,
    /// Produces no rows: DML without RETURNING, DDL, transaction control, PRAGMA
    /// assignments. Sent as EXEC.
    Exec,
    /// A write that also produces rows (INSERT/UPDATE/DELETE ... RETURNING). Only servers
    /// from 1.18.2 replicate it through QUERY and return its rows.
    WriteReturning,
    /// Only comments and whitespace.
    Empty,
}

/// Classifies the first statement of `sql` (see [`StatementKind`]).
///
/// ```
/// use dqlite_client::sql::{classify, StatementKind};
/// assert_eq!(classify("select 1"), StatementKind::Query);
/// assert_eq!(classify("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"), StatementKind::Exec);
/// assert_eq!(classify("INSERT INTO t VALUES (1) RETURNING id"), StatementKind::WriteReturning);
/// assert_eq!(classify("PRAGMA foreign_keys = ON"), StatementKind::Exec);
/// ```
pub fn classify(sql: &str) -> StatementKind {
    let mut depth = 0usize;
    let mut first: Option<&str> = None;
    let mut verb: Option<&str> = None;
    let mut pragma_assigns = false;
    let mut returning = false;
    for (offset, _, token) in Tokens::new(sql) {
        match token {
            Token::Semicolon => break,
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Word(word) => {
                if first.is_none() {
                    if ["SELECT", "VALUES", "EXPLAIN"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k))
                    {
                        // Whatever follows, these read.
                        return StatementKind::Query;
                    }
                    first = Some(word);
                    continue;
                }
                if depth == 0 {
                    let is = |k: &str| word.eq_ignore_ascii_case(k);
                    if verb.is_none()
                        && ["SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"]
                            .iter()
                            .any(|k| is(k))
                    {
                        verb = Some(word);
                    }
                    if is("RETURNING") {
                        returning = true;
                    }
                }
            }
            Token::Other => {
                if depth == 0 && sql.as_bytes().get(offset) == Some(&b'=') {
                    pragma_assigns = true;
                }
            }
        }
    }
    let Some(first) = first else {
        return StatementKind::Empty;
    };
    let is_first = |k: &str| first.eq_ignore_ascii_case(k);
    let write = |returning: bool| {
        if returning {
            StatementKind::WriteReturning
        } else {
            StatementKind::Exec
        }
    };
    if is_first("PRAGMA") {
        if pragma_assigns {
            StatementKind::Exec
        } else {
            StatementKind::Query
        }
    } else if is_first("WITH") {
        match verb {
            Some(v) if v.eq_ignore_ascii_case("SELECT") || v.eq_ignore_ascii_case("VALUES") => {
                StatementKind::Query
            }
            _ => write(returning),
        }
    } else if ["INSERT", "REPLACE", "UPDATE", "DELETE"]
        .iter()
        .any(|k| is_first(k))
    {
        write(returning)
    } else {
        StatementKind::Exec
    }
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
    let mut words = Tokens::new(sql).filter_map(|(_, _, t)| match t {
        Token::Word(w) => Some(w),
        _ => None,
    });
    let dml = |w: &str| {
        ["INSERT", "REPLACE", "UPDATE", "DELETE"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
    };
    match words.next() {
        Some(w) if w.eq_ignore_ascii_case("WITH") => matches!(
            classify(sql),
            StatementKind::Exec | StatementKind::WriteReturning
        ),
        Some(w) => dml(w),
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
            ("PRAGMA journal_mode", Query),
            ("PRAGMA foreign_keys = ON", Exec),
            ("WITH a AS (SELECT 1) SELECT * FROM a", Query),
            ("WITH a(x) AS (VALUES (1)) DELETE FROM t WHERE x IN a", Exec),
            (
                "WITH a AS (SELECT 1) UPDATE t SET x = 1 RETURNING x",
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
    fn non_ascii_text() {
        assert_eq!(classify("SELECT '€' = '€'"), StatementKind::Query);
    }
}

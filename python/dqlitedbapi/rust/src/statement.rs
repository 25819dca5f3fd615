//! What the driver needs to know about a statement's text (placeholders, kind, whether
//! it controls transactions), parsed once per distinct text; and the module's SQL helper
//! functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dqlite_client::ClassifiedSql;
use dqlite_client::sql;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::params::Placeholders;

/// What the driver needs to know about a statement's text, parsed once per distinct text.
pub struct SqlInfo {
    /// The text, with how it is sent and whether it is DML, as the client decides them.
    pub statement: ClassifiedSql,
    pub placeholders: Placeholders,
    /// An INSERT or REPLACE (after a WITH clause or not): the statements that set the
    /// cursor's `lastrowid`.
    pub insert: bool,
    /// Starts with BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE.
    pub tx_control: bool,
    /// Starts with PRAGMA (whose rows are not counted in `rowcount`).
    pub pragma: bool,
}

/// Texts remembered; the cache is emptied when full (statements of an application are
/// usually far fewer).
const SQL_CACHE_SIZE: usize = 512;

static SQL_CACHE: Mutex<Option<HashMap<String, Arc<SqlInfo>>>> = Mutex::new(None);

impl SqlInfo {
    /// The information about `sql`, from the cache when it was seen before.
    pub fn of(sql: &str) -> Arc<SqlInfo> {
        let mut guard = SQL_CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cache = guard.get_or_insert_with(HashMap::new);
        if let Some(info) = cache.get(sql) {
            return info.clone();
        }
        let first = leading_words(sql, 1);
        let info = Arc::new(SqlInfo {
            statement: ClassifiedSql::new(sql),
            placeholders: Placeholders::of(sql),
            insert: sql::verb(sql).is_some_and(|v| {
                v.eq_ignore_ascii_case("INSERT") || v.eq_ignore_ascii_case("REPLACE")
            }),
            tx_control: matches!(
                first.first().map(String::as_str),
                Some("BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE")
            ),
            pragma: first.first().map(String::as_str) == Some("PRAGMA"),
        });
        if cache.len() >= SQL_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), info.clone());
        info
    }
}

/// The statement a connection ran last, by its Python str: the same str object run again
/// (the usual case: a program's statements are constants) is known without a look-up in
/// the cache of texts. The str is held, so its identity stands for its text.
#[derive(Default)]
pub struct LastStatement(Mutex<Option<(Py<PyString>, Arc<SqlInfo>)>>);

impl LastStatement {
    /// The information about `sql`.
    pub fn info(&self, sql: &Bound<'_, PyString>) -> PyResult<Arc<SqlInfo>> {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((text, info)) = last.as_ref()
            && text.is(sql)
        {
            return Ok(info.clone());
        }
        let info = SqlInfo::of(sql.to_str()?);
        *last = Some((sql.clone().unbind(), info.clone()));
        Ok(info)
    }
}

/// The first `n` words of a statement, upper-cased, skipping whitespace and comments;
/// quoted names are unquoted.
pub fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = sql;
    while out.len() < n {
        // SQLite skips a UTF-8 byte order mark as a space.
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').and_then(|i| r.get(i + 1..)).unwrap_or("");
            continue;
        }
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").and_then(|i| r.get(i + 2..)).unwrap_or("");
            continue;
        }
        let mut chars = rest.chars();
        let Some(first) = chars.next() else { break };
        let close = match first {
            '"' => Some('"'),
            '`' => Some('`'),
            '[' => Some(']'),
            '\'' => Some('\''),
            _ => None,
        };
        if let Some(close) = close {
            let body = chars.as_str();
            let end = body.find(close).unwrap_or(body.len());
            out.push(body.get(..end).unwrap_or("").to_uppercase());
            rest = body.get(end + close.len_utf8()..).unwrap_or("");
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest.get(..end).unwrap_or("").to_uppercase());
        rest = rest.get(end..).unwrap_or("");
    }
    out
}

/// True when `sql` ends with a complete statement (as `sqlite3.complete_statement`).
#[pyfunction]
pub fn complete_statement(sql: &str) -> bool {
    dqlite_client::sql::is_complete(sql)
}

/// True when the first statement is INSERT, UPDATE, DELETE or REPLACE.
#[pyfunction]
pub fn is_dml(sql: &str) -> bool {
    SqlInfo::of(sql).statement.is_dml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            leading_words("  -- c\n /* x */ rollback to sp1", 4),
            vec!["ROLLBACK", "TO", "SP1"]
        );
        assert_eq!(
            leading_words("\u{feff} \u{feff}/* x */\u{feff}begin", 1),
            vec!["BEGIN"]
        );
        assert_eq!(
            leading_words("SAVEPOINT \"a b\"; x", 2),
            vec!["SAVEPOINT", "A B"]
        );
    }
}

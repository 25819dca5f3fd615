//! `.dump`: the database as SQL text that rebuilds it, as sqlite3's `.dump` writes it:
//! tables with their rows as INSERTs, then indexes, triggers and views, all inside one
//! transaction.

use std::fmt::Write as _;
use std::io::Write;

use dqlite_client::Value;

use crate::error::ShellError;
use crate::output::blob_literal;
use crate::shell::{Shell, stream_rows};

/// SQLite's keywords: a name that is one of them must be quoted.
const KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// A name as SQL can use it: bare when it is a plain identifier and not a keyword,
/// otherwise in double quotes (inner quotes doubled).
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && KEYWORDS
            .binary_search(&name.to_ascii_uppercase().as_str())
            .is_err();
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Text as an SQL string literal.
pub fn quote_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A value as an SQL literal that reads back as the same value: reals in their shortest
/// exact form (infinities as `1e999`), blobs as `X'..'`.
pub fn literal(value: &Value) -> String {
    match value {
        Value::Integer(i) | Value::UnixTime(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "NULL".into(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { "1e999" } else { "-1e999" }.into(),
        // Debug is Rust's shortest round-trip form, always with a point or an exponent.
        Value::Float(f) => format!("{f:?}"),
        Value::Text(t) => quote_text(t),
        // dqlite sends NULL in a date column as an empty ISO-8601 text.
        Value::Iso8601(t) if t.is_empty() => "NULL".into(),
        Value::Iso8601(t) => quote_text(t),
        Value::Blob(b) => blob_literal(b),
        Value::Null => "NULL".into(),
        Value::Boolean(b) => if *b { "1" } else { "0" }.into(),
    }
}

/// One INSERT statement for a row.
pub fn insert_statement(table: &str, columns: Option<&str>, values: &[Value]) -> String {
    insert_statement_with(table, columns, values, literal)
}

/// One INSERT statement for a row, each value written by `literal`.
fn insert_statement_with(
    table: &str,
    columns: Option<&str>,
    values: &[Value],
    literal: fn(&Value) -> String,
) -> String {
    let mut sql = format!("INSERT INTO {}", quote_ident(table));
    if let Some(columns) = columns {
        let _ = write!(sql, "({columns})");
    }
    sql.push_str(" VALUES(");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&literal(value));
    }
    sql.push_str(");\n");
    sql
}

fn text(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    }
}

/// Writes the dump of the whole database, or of the tables whose names match `pattern`
/// (a LIKE pattern), to the shell's output.
pub fn dump(shell: &mut Shell, pattern: Option<&str>) -> Result<(), ShellError> {
    // Every read in one transaction, so that a dump taken while others write is one
    // snapshot (a row written to two tables at once is in both or in neither). BEGIN
    // fails inside the user's own transaction, which already is one.
    let began = shell.query("BEGIN", Vec::new()).is_ok();
    let dumped = dump_tables(shell, pattern);
    if began {
        let end = if dumped.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = shell.query(end, Vec::new());
        dumped?;
        ended?;
        return Ok(());
    }
    dumped
}

fn dump_tables(shell: &mut Shell, pattern: Option<&str>) -> Result<(), ShellError> {
    let params: Vec<Value> = pattern.map(|p| Value::Text(p.into())).into_iter().collect();
    let filter = if pattern.is_some() {
        " AND tbl_name LIKE ?"
    } else {
        ""
    };
    let tables = shell.query(
        &format!(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type = 'table'\
             {filter} ORDER BY name = 'sqlite_sequence', rowid"
        ),
        params.clone(),
    )?;
    shell
        .out
        .write_all(b"PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n")?;
    for row in &tables {
        let (Some(name), Some(create)) = (text(row.value(0)), text(row.value(1))) else {
            continue;
        };
        if name == "sqlite_sequence" {
            shell.out.write_all(b"DELETE FROM sqlite_sequence;\n")?;
        } else if name.starts_with("sqlite_stat") {
            shell.out.write_all(b"ANALYZE sqlite_schema;\n")?;
        } else if name.starts_with("sqlite_") {
            continue;
        } else {
            writeln!(shell.out, "{create};")?;
        }
        if create
            .get(..20)
            .is_some_and(|s| s.eq_ignore_ascii_case("CREATE VIRTUAL TABLE"))
        {
            // Its rows live in its shadow tables, which are dumped as tables.
            continue;
        }
        dump_rows(shell, name)?;
    }
    let others = shell.query(
        &format!(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND type IN ('index', 'trigger', 'view'){filter} ORDER BY rowid"
        ),
        params,
    )?;
    for row in &others {
        if let Some(create) = text(row.value(0)) {
            writeln!(shell.out, "{create};")?;
        }
    }
    shell.out.write_all(b"COMMIT;\n")?;
    Ok(())
}

/// Writes one INSERT per row of `table`. Generated columns are left out (they cannot be
/// inserted), and then the INSERTs name the columns they fill.
fn dump_rows(shell: &mut Shell, table: &str) -> Result<(), ShellError> {
    let quoted = quote_ident(table);
    let info = shell.query(
        &format!("PRAGMA table_xinfo({})", quote_text(table)),
        Vec::new(),
    )?;
    // table_xinfo: cid, name, type, notnull, dflt_value, pk, hidden (0 = ordinary).
    let mut stored = Vec::new();
    let mut all_stored = true;
    for column in &info {
        let hidden = matches!(column.value(6), Some(Value::Integer(h)) if *h != 0);
        match text(column.value(1)) {
            Some(name) if !hidden => stored.push(quote_ident(name)),
            _ => all_stored = false,
        }
    }
    // Each column is read through an expression: it has no declared type, so dqlite
    // sends the value stored, not one converted for a BOOLEAN or DATETIME column (NULL
    // as false, 5 as true, '' as a NULL date), and never trips on a value of another
    // type there. Text comes as its bytes in hex: the server cuts text at its first NUL,
    // and text that is not UTF-8 could not be read at all. Each is named `_`: the node
    // sends the names in every frame and cannot send a result whose names fill its 4 KiB
    // page, so short names let tables with many (or long-named) columns dump.
    let select = if stored.is_empty() {
        format!("SELECT * FROM {quoted}")
    } else {
        let reads: Vec<String> = stored
            .iter()
            .map(|name| {
                format!("CASE WHEN typeof({name})='text' THEN hex({name}) ELSE {name} END AS _")
            })
            .collect();
        format!("SELECT {} FROM {quoted}", reads.join(","))
    };
    let hex_text = !stored.is_empty();
    let columns = (!all_stored && !stored.is_empty()).then(|| stored.join(","));
    let columns = columns.as_deref();
    let Shell { worker, out, .. } = shell;
    stream_rows(worker, &select, Vec::new(), &mut |row| {
        let statement = if hex_text {
            insert_statement_with(table, columns, row.values(), hex_text_literal)
        } else {
            insert_statement(table, columns, row.values())
        };
        out.write_all(statement.as_bytes())
    })?;
    Ok(())
}

/// The literal of a value read by [`dump_rows`], whose text comes as the hex of its bytes:
/// a string literal when the bytes are UTF-8 without NUL, else `CAST(X'..' AS TEXT)`,
/// which stores the same bytes as text.
fn hex_text_literal(value: &Value) -> String {
    let Value::Text(hex) = value else {
        return literal(value);
    };
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes: Option<Vec<u8>> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some((digit(*high)? << 4) | digit(*low)?),
            _ => None,
        })
        .collect();
    let Some(bytes) = bytes else {
        // Not what hex() returns: written as it came.
        return literal(value);
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) if !text.contains('\0') => quote_text(text),
        _ => format!("CAST({} AS TEXT)", blob_literal(&bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        let mut sorted = KEYWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, KEYWORDS);
    }

    #[test]
    fn identifiers() {
        assert_eq!(quote_ident("t"), "t");
        assert_eq!(quote_ident("_x1"), "_x1");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("my table"), "\"my table\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("ünï"), "\"ünï\"");
    }

    #[test]
    fn literals() {
        assert_eq!(literal(&Value::Integer(-7)), "-7");
        assert_eq!(literal(&Value::Float(1.0)), "1.0");
        assert_eq!(literal(&Value::Float(0.1)), "0.1");
        assert_eq!(literal(&Value::Float(1e20)), "1e20");
        assert_eq!(literal(&Value::Float(-2.5e-8)), "-2.5e-8");
        assert_eq!(literal(&Value::Float(f64::INFINITY)), "1e999");
        assert_eq!(literal(&Value::Float(f64::NEG_INFINITY)), "-1e999");
        assert_eq!(literal(&Value::Text("it's".into())), "'it''s'");
        assert_eq!(literal(&Value::Text("a\nb;".into())), "'a\nb;'");
        assert_eq!(literal(&Value::Blob(vec![0, 0xff, 0x10])), "X'00ff10'");
        assert_eq!(literal(&Value::Blob(Vec::new())), "X''");
        assert_eq!(literal(&Value::Null), "NULL");
        assert_eq!(literal(&Value::Boolean(true)), "1");
        assert_eq!(literal(&Value::Iso8601(String::new())), "NULL");
    }

    #[test]
    fn reals_read_back_exactly() {
        for f in [
            0.1,
            1.0 / 3.0,
            1e-300,
            123_456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = literal(&Value::Float(f));
            assert_eq!(text.parse::<f64>().unwrap(), f, "{text}");
        }
    }

    #[test]
    fn text_read_as_hex() {
        let hex = |h: &str| hex_text_literal(&Value::Text(h.into()));
        assert_eq!(hex(""), "''");
        assert_eq!(hex("6974277320C3A9"), "'it''s \u{e9}'");
        assert_eq!(hex("610062"), "CAST(X'610062' AS TEXT)");
        assert_eq!(hex("61ff"), "CAST(X'61ff' AS TEXT)");
        assert_eq!(hex_text_literal(&Value::Blob(vec![0xff])), "X'ff'");
        assert_eq!(hex_text_literal(&Value::Integer(3)), "3");
    }

    #[test]
    fn insert_statements() {
        assert_eq!(
            insert_statement(
                "order",
                None,
                &[Value::Integer(1), Value::Text("x".into()), Value::Null]
            ),
            "INSERT INTO \"order\" VALUES(1,'x',NULL);\n"
        );
        assert_eq!(
            insert_statement("t", Some("a,b"), &[Value::Integer(1), Value::Integer(2)]),
            "INSERT INTO t(a,b) VALUES(1,2);\n"
        );
    }
}

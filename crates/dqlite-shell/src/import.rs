//! `.import [--csv] [--skip N] FILE TABLE`: loads delimited rows into a table, as sqlite3's
//! `.import` does.
//!
//! Fields are read with the `csv` crate (RFC 4180 quoting; a quoted field may span lines),
//! with `,` in csv mode or with `--csv`, and the list separator otherwise. When TABLE does
//! not exist, the first row names its columns and it is created with TEXT columns; when it
//! exists, every row is data (`--skip 1` drops a header). Values are bound as text, so the
//! columns' affinities apply; a short row is filled with NULLs and a long one cut, each
//! with a warning, as sqlite3 does. All rows go in under one savepoint: an error leaves
//! the table as it was.

use std::fs::File;
use std::io::BufReader;

use dqlite_client::{ErrorKind, Value};

use crate::dump::quote_ident;
use crate::error::ShellError;
use crate::output::Mode;
use crate::shell::Shell;

/// Parameters per INSERT: the most every server version accepts in one tuple.
const MAX_PARAMS: usize = dqlite_client::limits::MAX_PARAMS_ANY_SERVER;

/// What `.import` was asked to do.
#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    file: &'a str,
    table: &'a str,
    csv: bool,
    skip: usize,
}

fn parse_args<'a>(args: &[&'a str]) -> Result<Request<'a>, ShellError> {
    let usage = || ShellError::usage("usage: .import [--csv] [--skip N] FILE TABLE");
    let mut positional = Vec::new();
    let mut csv = false;
    let mut skip = 0;
    let mut iter = args.iter();
    while let Some(&arg) = iter.next() {
        match arg {
            "--csv" | "-csv" => csv = true,
            "--skip" | "-skip" => {
                let n = iter.next().ok_or_else(usage)?;
                skip = n
                    .parse()
                    .map_err(|_| ShellError::usage(format!("--skip {n:?}: not a row count")))?;
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(ShellError::usage(format!(
                    ".import: unknown option {other:?}"
                )));
            }
            other => positional.push(other),
        }
    }
    match positional.as_slice() {
        [file, table] => Ok(Request {
            file,
            table,
            csv,
            skip,
        }),
        _ => Err(usage()),
    }
}

/// Runs `.import`.
pub fn import(shell: &mut Shell, args: &[&str]) -> Result<(), ShellError> {
    let request = parse_args(args)?;
    let delimiter = if request.csv || shell.settings.mode == Mode::Csv {
        b','
    } else {
        match shell.settings.separator.as_bytes() {
            [one] => *one,
            _ => {
                return Err(ShellError::usage(format!(
                    ".import needs a one-byte separator, not {:?}; use --csv or .separator",
                    shell.settings.separator
                )));
            }
        }
    };
    let file = File::open(request.file)
        .map_err(|e| ShellError::file(format!("cannot open {}", request.file), e))?;
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(BufReader::new(file))
        .into_records()
        .skip(request.skip)
        .peekable();
    let (mut columns, guarded) = existing_columns(shell, request.table)?;
    let table = quote_ident(request.table);
    let created = if columns.is_empty() {
        let Some(header) = records.next() else {
            return Err(ShellError::usage(format!(
                "{}: empty file, and table {} does not exist",
                request.file, request.table
            )));
        };
        columns = read_record(header, request.file)?.1;
        if let Some(blank) = columns.iter().position(|c| c.is_empty()) {
            return Err(ShellError::usage(format!(
                "{}: column {} of the header row has no name",
                request.file,
                blank + 1
            )));
        }
        Some(format!(
            "CREATE TABLE {table} ({})",
            columns
                .iter()
                .map(|c| format!("{} TEXT", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        None
    };
    shell.query("SAVEPOINT dqlite_shell_import", Vec::new())?;
    let loaded = (|| {
        if let Some(create) = &created {
            shell.query(create, Vec::new())?;
        }
        let before = unsendable(shell, &table, &guarded)?;
        insert_all(shell, &table, columns.len(), &mut records, request.file)?;
        let after = unsendable(shell, &table, &guarded)?;
        match guarded
            .iter()
            .zip(before.iter().zip(&after))
            .find(|(_, (b, a))| a > b)
        {
            Some((column, (before, after))) => Err(ShellError::usage(format!(
                "{}: {} value(s) of column {} would be stored as {}, which a dqlite node \
                 cannot send for a column declared {} (it aborts the node that reads it); \
                 nothing was imported",
                request.file,
                after - before,
                column.name,
                column.refused,
                column.declared,
            ))),
            None => Ok(()),
        }
    })();
    match loaded {
        Ok(()) => {
            shell.query("RELEASE dqlite_shell_import", Vec::new())?;
            Ok(())
        }
        Err(e) => {
            // Undo what went in; the first error is the one to report.
            let _ = shell.query("ROLLBACK TO dqlite_shell_import", Vec::new());
            let _ = shell.query("RELEASE dqlite_shell_import", Vec::new());
            Err(e)
        }
    }
}

/// A column whose declared type makes dqlite send its values as BOOLEAN, or as a date:
/// the node aborts on a value of another storage class there.
struct Guarded {
    /// The column's name, quoted for SQL.
    name: String,
    /// Its declared type, as declared.
    declared: String,
    /// The storage classes the node cannot send for it, as `typeof` names them.
    refused: &'static str,
}

/// The column names of `table` (none when it does not exist), and its columns whose
/// values dqlite converts by the declared type (the exact names, in any case, as the
/// server matches them).
fn existing_columns(
    shell: &mut Shell,
    table: &str,
) -> Result<(Vec<String>, Vec<Guarded>), ShellError> {
    let rows = shell.query(
        "SELECT name, type FROM pragma_table_info(?)",
        vec![Value::Text(table.to_owned())],
    )?;
    let mut names = Vec::new();
    let mut guarded = Vec::new();
    for row in rows {
        let Some(Value::Text(name)) = row.value(0) else {
            continue;
        };
        if let Some(Value::Text(declared)) = row.value(1) {
            let refused = match declared.to_ascii_uppercase().as_str() {
                "BOOLEAN" => Some("text, real or blob"),
                "DATETIME" | "DATE" | "TIMESTAMP" => Some("real or blob"),
                _ => None,
            };
            if let Some(refused) = refused {
                guarded.push(Guarded {
                    name: quote_ident(name),
                    declared: declared.clone(),
                    refused,
                });
            }
        }
        names.push(name.clone());
    }
    Ok((names, guarded))
}

/// For each guarded column, how many values of `table` the node could not send.
fn unsendable(shell: &mut Shell, table: &str, guarded: &[Guarded]) -> Result<Vec<i64>, ShellError> {
    if guarded.is_empty() {
        return Ok(Vec::new());
    }
    // typeof() reads the stored class; a bare column would be converted, and abort. Each
    // count is named `_`: the node cannot send a result whose names fill its 4 KiB page.
    let counts: Vec<String> = guarded
        .iter()
        .map(|g| {
            let allowed = if g.refused.starts_with("text") {
                "'integer','null'"
            } else {
                "'integer','text','null'"
            };
            format!(
                "coalesce(sum(typeof({}) NOT IN ({allowed})), 0) AS _",
                g.name
            )
        })
        .collect();
    let rows = shell.query(
        &format!("SELECT {} FROM {table}", counts.join(", ")),
        Vec::new(),
    )?;
    Ok(rows
        .first()
        .map(|row| {
            row.values()
                .iter()
                .map(|v| match v {
                    Value::Integer(n) => *n,
                    _ => 0,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// A record's starting line and fields, or an error naming the line.
fn read_record(
    record: csv::Result<csv::StringRecord>,
    file: &str,
) -> Result<(u64, Vec<String>), ShellError> {
    match record {
        Ok(r) => Ok((
            r.position().map_or(0, csv::Position::line),
            r.iter().map(str::to_owned).collect(),
        )),
        Err(e) => {
            let line = e.position().map_or(0, csv::Position::line);
            Err(ShellError::usage(format!("{file}:{line}: {e}")))
        }
    }
}

/// Inserts every record, several rows per INSERT.
fn insert_all(
    shell: &mut Shell,
    table: &str,
    width: usize,
    records: &mut dyn Iterator<Item = csv::Result<csv::StringRecord>>,
    file: &str,
) -> Result<(), ShellError> {
    let per_statement = (MAX_PARAMS / width.max(1)).max(1);
    let row = format!("({})", vec!["?"; width].join(", "));
    let mut batch = Vec::with_capacity(per_statement);
    for record in records {
        let (line, mut fields) = read_record(record, file)?;
        if fields.len() != width {
            let what = if fields.len() < width {
                "filling the rest with NULL"
            } else {
                "extras ignored"
            };
            eprintln!(
                "{file}:{line}: expected {width} columns but found {} - {what}",
                fields.len()
            );
        }
        let missing = width.saturating_sub(fields.len());
        fields.truncate(width);
        if let Some(column) = fields.iter().position(|f| f.contains('\0')) {
            return Err(ShellError::usage(format!(
                "{file}:{line}: field {} holds a NUL byte, which a dqlite text value cannot \
                 carry; nothing was imported",
                column + 1
            )));
        }
        let mut values: Vec<Value> = fields.into_iter().map(Value::Text).collect();
        values.extend(std::iter::repeat_n(Value::Null, missing));
        batch.push((line, values));
        if batch.len() == per_statement {
            flush(shell, table, &row, &mut batch, file)?;
        }
    }
    if !batch.is_empty() {
        flush(shell, table, &row, &mut batch, file)?;
    }
    Ok(())
}

/// Inserts the rows of `batch` (each with the line it starts on) in one statement. When
/// the server refuses one, the error names its line.
fn flush(
    shell: &mut Shell,
    table: &str,
    row: &str,
    batch: &mut Vec<(u64, Vec<Value>)>,
    file: &str,
) -> Result<(), ShellError> {
    let sql = format!(
        "INSERT INTO {table} VALUES {}",
        vec![row; batch.len()].join(", ")
    );
    let params = batch
        .iter()
        .flat_map(|(_, values)| values.iter().cloned())
        .collect();
    match shell.query(&sql, params) {
        Ok(_) => {
            batch.clear();
            Ok(())
        }
        Err(ShellError::Db(e))
            if matches!(
                e.kind(),
                ErrorKind::Constraint | ErrorKind::Sql | ErrorKind::InvalidInput
            ) =>
        {
            let at = match batch.as_slice() {
                [(line, _)] => Some(*line),
                _ => locate(shell, table, row, batch),
            };
            let at = match (at, batch.first(), batch.last()) {
                (Some(line), _, _) => line.to_string(),
                (None, Some((first, _)), Some((last, _))) => format!("{first}-{last}"),
                _ => String::new(),
            };
            Err(ShellError::usage(format!(
                "{file}:{at}: {}; nothing was imported",
                ShellError::Db(e)
            )))
        }
        Err(e) => Err(e),
    }
}

/// The line of the first row of `batch` that the server refuses on its own. The rows go
/// in one by one under a savepoint that is then rolled back, so nothing of the probe
/// stays (even where the failure rolled the whole transaction back).
fn locate(shell: &mut Shell, table: &str, row: &str, batch: &[(u64, Vec<Value>)]) -> Option<u64> {
    shell
        .query("SAVEPOINT dqlite_shell_import_probe", Vec::new())
        .ok()?;
    let sql = format!("INSERT INTO {table} VALUES {row}");
    let found = batch
        .iter()
        .find(|(_, values)| shell.query(&sql, values.clone()).is_err())
        .map(|(line, _)| *line);
    let _ = shell.query("ROLLBACK TO dqlite_shell_import_probe", Vec::new());
    let _ = shell.query("RELEASE dqlite_shell_import_probe", Vec::new());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_operands() {
        assert_eq!(
            parse_args(&["--csv", "--skip", "1", "f.csv", "t"]).unwrap(),
            Request {
                file: "f.csv",
                table: "t",
                csv: true,
                skip: 1
            }
        );
        assert!(!parse_args(&["f", "t"]).unwrap().csv);
        for bad in [
            &["f"][..],
            &["f", "t", "u"],
            &["--skip"],
            &["--skip", "x", "f", "t"],
            &["--ascii", "f", "t"],
        ] {
            assert!(parse_args(bad).is_err(), "{bad:?}");
        }
    }
}

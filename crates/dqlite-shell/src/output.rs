//! Output modes and how values are written in each.
//!
//! The modes follow sqlite3's shell: `table` and `box` (aligned, buffered until the result
//! ends), `list` (separator-joined, streamed), `csv` (RFC 4180), `json` (an array of
//! objects) and `line` (one `column = value` line per value). Reals are written as SQLite
//! writes them (`%!.15g`), blobs as SQL blob literals (`X'01ff'`) in every text mode.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{Cell, ContentLineStyle, LineStyle, Table, TableStyle};
use dqlite_client::Value;
use unicode_width::UnicodeWidthStr;

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// An aligned table drawn with ASCII characters (`+---+`).
    #[value(alias = "column")]
    Table,
    /// An aligned table drawn with Unicode box characters.
    Box,
    /// Values joined by the separator (`|` by default), one row per line.
    #[value(alias = "tabular")]
    List,
    /// Comma-separated values, RFC 4180 quoting, CRLF line ends.
    Csv,
    /// A JSON array with one object per row.
    Json,
    /// One `column = value` line per value, a blank line between rows.
    Line,
}

impl Mode {
    /// Every mode, in the order `.help` lists them.
    pub const ALL: [Mode; 6] = [
        Mode::Table,
        Mode::Box,
        Mode::List,
        Mode::Csv,
        Mode::Json,
        Mode::Line,
    ];

    /// The mode's name as `.mode` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Table => "table",
            Mode::Box => "box",
            Mode::List => "list",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
        }
    }

    /// The mode called `name` (case-insensitive). sqlite3's `column` is taken as `table`,
    /// and go-dqlite's `tabular` as `list`: its shell writes `|`-separated values without
    /// a header line.
    pub fn from_name(name: &str) -> Option<Mode> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "column" => Some(Mode::Table),
            "tabular" => Some(Mode::List),
            _ => Mode::ALL.into_iter().find(|m| m.name() == name),
        }
    }
}

/// The settings the output dot-commands change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The output mode.
    pub mode: Mode,
    /// Whether `list` and `csv` output start with a line of column names (`table`, `box`,
    /// `json` and `line` always show the names).
    pub headers: bool,
    /// What NULL is written as in the text modes.
    pub null_value: String,
    /// The column separator of `list` mode.
    pub separator: String,
    /// The row separator of `list` mode.
    pub row_separator: String,
}

impl Settings {
    /// sqlite3's defaults for `mode`: no headers, empty NULLs, `|` between columns.
    pub fn new(mode: Mode) -> Self {
        Settings {
            mode,
            headers: false,
            null_value: String::new(),
            separator: "|".into(),
            row_separator: "\n".into(),
        }
    }
}

/// Writes a real as SQLite does (`printf("%!.15g")`): 15 significant digits, trailing
/// zeros dropped, always a decimal point or an exponent (`1.0`, `0.3`, `1.0e+20`).
pub fn format_real(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Inf" } else { "-Inf" }.into();
    }
    // 15 significant digits, rounded once; the exponent after rounding decides the form.
    let scientific = format!("{value:.14e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0",
        significant => significant,
    };
    let mut out = String::from(sign);
    if !(-4..15).contains(&exponent) {
        let (first, rest) = digits.split_at_checked(1).unwrap_or((digits, ""));
        let rest = if rest.is_empty() { "0" } else { rest };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(
            out,
            "{first}.{rest}e{exp_sign}{:02}",
            exponent.unsigned_abs()
        );
    } else if let Ok(int_len) = usize::try_from(exponent).map(|e| e + 1) {
        // Digits before the point, padded with zeros when the number has fewer digits.
        let (int_part, frac_part) = digits.split_at_checked(int_len).unwrap_or((digits, ""));
        out.push_str(int_part);
        for _ in int_part.len()..int_len {
            out.push('0');
        }
        out.push('.');
        out.push_str(if frac_part.is_empty() { "0" } else { frac_part });
    } else {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
    }
    out
}

/// A blob as an SQL literal: `X'` + lowercase hex + `'`.
pub fn blob_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 3);
    out.push_str("X'");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out.push('\'');
    out
}

/// Whether `value` is NULL: also the empty ISO-8601 text a column declared DATETIME, DATE
/// or TIMESTAMP sends for NULL (as the client's `Option` and go-dqlite read it).
fn is_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Iso8601(t) => t.is_empty(),
        _ => false,
    }
}

/// A value as the text modes write it; NULL becomes `null_value`.
pub fn render<'v>(value: &'v Value, null_value: &'v str) -> Cow<'v, str> {
    if is_null(value) {
        return Cow::Borrowed(null_value);
    }
    match value {
        Value::Integer(i) | Value::UnixTime(i) => Cow::Owned(i.to_string()),
        Value::Float(f) => Cow::Owned(format_real(*f)),
        Value::Text(s) | Value::Iso8601(s) => Cow::Borrowed(s),
        Value::Blob(b) => Cow::Owned(blob_literal(b)),
        Value::Null => Cow::Borrowed(null_value),
        Value::Boolean(b) => Cow::Borrowed(if *b { "1" } else { "0" }),
    }
}

/// A value as a JSON value: numbers, strings, `true`/`false` for BOOLEAN columns, `null`
/// for NULL; infinities as sqlite3 writes them, `9.0e+999` and `-9.0e+999` (numbers too
/// large for a double, which JSON readers take as infinities); blobs as their `X'..'`
/// literal.
pub fn json_value(value: &Value) -> String {
    if is_null(value) {
        return "null".into();
    }
    match value {
        Value::Integer(i) | Value::UnixTime(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => format_real(*f),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 { "9.0e+999" } else { "-9.0e+999" }.into()
        }
        Value::Float(_) | Value::Null => "null".into(),
        Value::Text(s) | Value::Iso8601(s) => json_string(s),
        Value::Blob(b) => json_string(&blob_literal(b)),
        Value::Boolean(b) => b.to_string(),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("null"))
}

/// A CSV field: quoted (with `"` doubled) when it holds a comma, a quote, CR or LF, or is
/// empty text (so that it differs from NULL, which is written unquoted).
pub fn csv_field(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// sqlite3's `.mode table` frame.
const ASCII_STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::new('+', '-', '+', '+'))
    .header_lines(ContentLineStyle::new('|', '|', '|'))
    .header_separator(LineStyle::new('+', '-', '+', '+'))
    .content_lines(ContentLineStyle::new('|', '|', '|'))
    .bottom_border(LineStyle::new('+', '-', '+', '+'));

/// sqlite3's `.mode box` frame.
const BOX_STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::new('┌', '─', '┬', '┐'))
    .header_lines(ContentLineStyle::new('│', '│', '│'))
    .header_separator(LineStyle::new('├', '─', '┼', '┤'))
    .content_lines(ContentLineStyle::new('│', '│', '│'))
    .bottom_border(LineStyle::new('└', '─', '┴', '┘'));

/// Writes one result in the chosen mode: [`row`](Printer::row) for each row as it
/// arrives, then [`finish`](Printer::finish). Streamed modes write each row at once;
/// `table` and `box` keep the rows until the end to size the columns. Like sqlite3, a
/// result without rows writes nothing, except in `json` mode, which writes `[]`.
#[derive(Debug)]
pub struct Printer {
    settings: Settings,
    columns: Vec<String>,
    rows: u64,
    /// Rendered cells, for `table` and `box`.
    buffered: Vec<Vec<String>>,
    /// Width of the column-name field, for `line`.
    name_width: usize,
}

impl Printer {
    /// A printer for a result with these column names.
    pub fn new(settings: &Settings, columns: Vec<String>) -> Self {
        let name_width = columns
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        Printer {
            settings: settings.clone(),
            columns,
            rows: 0,
            buffered: Vec::new(),
            name_width,
        }
    }

    /// Writes (or keeps) one row.
    pub fn row(&mut self, out: &mut dyn Write, values: &[Value]) -> io::Result<()> {
        let first = self.rows == 0;
        self.rows += 1;
        let s = &self.settings;
        let null = s.null_value.as_str();
        match s.mode {
            Mode::Table | Mode::Box => {
                self.buffered.push(
                    values
                        .iter()
                        .map(|v| render(v, null).into_owned())
                        .collect(),
                );
            }
            Mode::List => {
                if first && s.headers {
                    write!(
                        out,
                        "{}{}",
                        self.columns.join(&s.separator),
                        s.row_separator
                    )?;
                }
                let fields: Vec<Cow<'_, str>> = values.iter().map(|v| render(v, null)).collect();
                write!(out, "{}{}", fields.join(&s.separator), s.row_separator)?;
            }
            Mode::Csv => {
                if first && s.headers {
                    let names: Vec<Cow<'_, str>> =
                        self.columns.iter().map(|c| csv_field(c)).collect();
                    write!(out, "{}\r\n", names.join(","))?;
                }
                let fields: Vec<Cow<'_, str>> = values
                    .iter()
                    .map(|v| match v {
                        v if is_null(v) => Cow::Borrowed(null),
                        Value::Text(t) | Value::Iso8601(t) => csv_field(t),
                        other => Cow::Owned(csv_field(&render(other, null)).into_owned()),
                    })
                    .collect();
                write!(out, "{}\r\n", fields.join(","))?;
            }
            Mode::Json => {
                out.write_all(if first { b"[{" } else { b",\n{" })?;
                for (i, (name, value)) in self.columns.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    write!(out, "{}:{}", json_string(name), json_value(value))?;
                }
                out.write_all(b"}")?;
            }
            Mode::Line => {
                if !first {
                    out.write_all(b"\n")?;
                }
                for (name, value) in self.columns.iter().zip(values) {
                    let pad = self.name_width.saturating_sub(name.chars().count());
                    writeln!(out, "{:pad$}{name} = {}", "", render(value, null))?;
                }
            }
        }
        Ok(())
    }

    /// Ends a result cut short by Ctrl-C: streamed rows stay as written (a JSON array is
    /// closed), and the rows a table was waiting for are dropped.
    pub fn abandon(self, out: &mut dyn Write) -> io::Result<()> {
        match self.settings.mode {
            Mode::Json if self.rows > 0 => out.write_all(b"]\n"),
            _ => Ok(()),
        }
    }

    /// Ends a result that failed part-way: draws the rows that came, closes a JSON array
    /// that was opened, but prints nothing that reads as a whole result (no `[]`).
    pub fn fail(self, out: &mut dyn Write) -> io::Result<()> {
        match self.settings.mode {
            Mode::Json => self.abandon(out),
            _ => self.finish(out),
        }
    }

    /// Ends the result: draws the table, or closes the JSON array.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        match self.settings.mode {
            Mode::Table | Mode::Box if self.rows > 0 => {
                let mut table = Table::new();
                table.load_style(if self.settings.mode == Mode::Box {
                    BOX_STYLE
                } else {
                    ASCII_STYLE
                });
                table.set_header(self.columns.iter().map(Cell::new));
                for row in self.buffered {
                    table.add_row(row);
                }
                // Centre the names as sqlite3 does (an odd space goes to the right).
                let widths = table.column_max_content_widths();
                table.set_header(self.columns.iter().zip(widths).map(|(name, width)| {
                    let room = usize::from(width).saturating_sub(name.width());
                    let left = room / 2;
                    Cell::new(format!(
                        "{:left$}{name}{:right$}",
                        "",
                        "",
                        right = room - left
                    ))
                }));
                writeln!(out, "{table}")
            }
            Mode::Json if self.rows > 0 => out.write_all(b"]\n"),
            Mode::Json => out.write_all(b"[]\n"),
            _ => Ok(()),
        }
    }
}

/// Writes a whole result held in memory (admin replies such as `.cluster`).
pub fn print_all(
    settings: &Settings,
    out: &mut dyn Write,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> io::Result<()> {
    let mut printer = Printer::new(settings, columns.iter().map(|c| (*c).to_owned()).collect());
    for row in rows {
        printer.row(out, row)?;
    }
    printer.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Vec<Value>> {
        vec![
            vec![
                Value::Integer(1),
                Value::Text("foo".into()),
                Value::Float(2.5),
                Value::Null,
            ],
            vec![
                Value::Integer(100),
                Value::Text("a,\"b\"".into()),
                Value::Float(1e20),
                Value::Blob(vec![0x01, 0xff]),
            ],
        ]
    }

    fn print(mode: Mode, headers: bool) -> String {
        let mut settings = Settings::new(mode);
        settings.headers = headers;
        let mut out = Vec::new();
        print_all(&settings, &mut out, &["id", "name", "x", "b"], &sample()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn reals_as_sqlite_writes_them() {
        for (value, text) in [
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.1 + 0.2, "0.3"),
            (1e20, "1.0e+20"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.0, "0.0"),
            (-3.25, "-3.25"),
            (123_456_789_012_345.0, "123456789012345.0"),
            (1e15, "1.0e+15"),
            (1.0 / 3.0, "0.333333333333333"),
            (100.0, "100.0"),
            (f64::INFINITY, "Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (999_999_999_999_999.9, "1.0e+15"),
        ] {
            assert_eq!(format_real(value), text, "{value:e}");
        }
    }

    #[test]
    fn rendering_of_each_type() {
        assert_eq!(render(&Value::Null, "NULL"), "NULL");
        assert_eq!(render(&Value::Iso8601(String::new()), "NULL"), "NULL");
        assert_eq!(json_value(&Value::Iso8601(String::new())), "null");
        assert_eq!(render(&Value::Blob(vec![0, 0xab]), ""), "X'00ab'");
        assert_eq!(render(&Value::Boolean(true), ""), "1");
        assert_eq!(render(&Value::UnixTime(7), ""), "7");
        assert_eq!(json_value(&Value::Text("a\"\n".into())), r#""a\"\n""#);
        assert_eq!(json_value(&Value::Float(f64::INFINITY)), "9.0e+999");
        assert_eq!(json_value(&Value::Float(f64::NEG_INFINITY)), "-9.0e+999");
        assert_eq!(json_value(&Value::Float(f64::NAN)), "null");
        assert_eq!(json_value(&Value::Boolean(false)), "false");
        assert_eq!(json_value(&Value::Blob(vec![1])), r#""X'01'""#);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "\"\"");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn table_mode() {
        assert_eq!(
            print(Mode::Table, false),
            "\
+-----+-------+---------+---------+
| id  | name  |    x    |    b    |
+-----+-------+---------+---------+
| 1   | foo   | 2.5     |         |
| 100 | a,\"b\" | 1.0e+20 | X'01ff' |
+-----+-------+---------+---------+
"
        );
    }

    #[test]
    fn box_mode() {
        assert_eq!(
            print(Mode::Box, false),
            "\
┌─────┬───────┬─────────┬─────────┐
│ id  │ name  │    x    │    b    │
├─────┼───────┼─────────┼─────────┤
│ 1   │ foo   │ 2.5     │         │
│ 100 │ a,\"b\" │ 1.0e+20 │ X'01ff' │
└─────┴───────┴─────────┴─────────┘
"
        );
    }

    #[test]
    fn list_mode() {
        assert_eq!(
            print(Mode::List, false),
            "1|foo|2.5|\n100|a,\"b\"|1.0e+20|X'01ff'\n"
        );
        assert_eq!(
            print(Mode::List, true),
            "id|name|x|b\n1|foo|2.5|\n100|a,\"b\"|1.0e+20|X'01ff'\n"
        );
    }

    #[test]
    fn csv_mode() {
        assert_eq!(
            print(Mode::Csv, true),
            "id,name,x,b\r\n1,foo,2.5,\r\n100,\"a,\"\"b\"\"\",1.0e+20,X'01ff'\r\n"
        );
    }

    #[test]
    fn json_mode() {
        assert_eq!(
            print(Mode::Json, false),
            "[{\"id\":1,\"name\":\"foo\",\"x\":2.5,\"b\":null},\n\
             {\"id\":100,\"name\":\"a,\\\"b\\\"\",\"x\":1.0e+20,\"b\":\"X'01ff'\"}]\n"
        );
        let mut out = Vec::new();
        print_all(&Settings::new(Mode::Json), &mut out, &["a"], &[]).unwrap();
        assert_eq!(out, b"[]\n");
    }

    #[test]
    fn line_mode() {
        assert_eq!(
            print(Mode::Line, false),
            "   id = 1\n name = foo\n    x = 2.5\n    b = \n\n   id = 100\n name = a,\"b\"\n    x = 1.0e+20\n    b = X'01ff'\n"
        );
    }

    #[test]
    fn empty_results_print_nothing_but_json() {
        for mode in [Mode::Table, Mode::Box, Mode::List, Mode::Csv, Mode::Line] {
            let mut settings = Settings::new(mode);
            settings.headers = true;
            let mut out = Vec::new();
            print_all(&settings, &mut out, &["a"], &[]).unwrap();
            assert!(out.is_empty(), "{mode:?}");
        }
    }

    #[test]
    fn null_value_and_separator() {
        let mut settings = Settings::new(Mode::List);
        settings.null_value = "NULL".into();
        settings.separator = "\t".into();
        let mut out = Vec::new();
        print_all(
            &settings,
            &mut out,
            &["a", "b"],
            &[vec![Value::Null, Value::Integer(2)]],
        )
        .unwrap();
        assert_eq!(out, b"NULL\t2\n");
    }

    #[test]
    fn mode_names() {
        for mode in Mode::ALL {
            assert_eq!(Mode::from_name(mode.name()), Some(mode));
        }
        // go-dqlite's tabular output is `|`-separated values without a header: list.
        assert_eq!(Mode::from_name("TABULAR"), Some(Mode::List));
        assert_eq!(Mode::from_name("column"), Some(Mode::Table));
        assert_eq!(Mode::from_name("nope"), None);
    }
}

//! Dot-commands: output settings, schema browsing, scripts and dumps here; cluster
//! administration in [`crate::admin`].

use std::io::Write;
use std::path::Path;

use dqlite_client::Value;

use crate::admin;
use crate::dump;
use crate::error::ShellError;
use crate::import;
use crate::output::Mode;
use crate::shell::{Flow, Shell};

/// Every command: name, arguments, what it does (the `.help` text).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (
        ".add",
        "ID ADDRESS",
        "Add node ID at ADDRESS to the cluster (it joins as a spare)",
    ),
    (
        ".assign",
        "NODE ROLE [--force]",
        "Give NODE (an id or an address) a role: voter, standby or spare (--force: \
         even to the last voter, which leaves the cluster without a leader)",
    ),
    (
        ".backup",
        "FILE",
        "Save the database as a SQLite file (a DUMP from the leader)",
    ),
    (".bail", "on|off", "Stop at the first error"),
    (
        ".changes",
        "on|off",
        "Show how many rows each statement changed",
    ),
    (".cluster", "", "The cluster's members: id, address, role"),
    (
        ".describe",
        "[ADDRESS]",
        "A node's failure domain and weight (default: the leader)",
    ),
    (
        ".dump",
        "[TABLE]",
        "The database, or the tables matching TABLE, as SQL text",
    ),
    (".echo", "on|off", "Print each command before running it"),
    (".exit", "[CODE]", "Leave the shell"),
    (".headers", "on|off", "Column names in list and csv output"),
    (".help", "", "This text"),
    (
        ".import",
        "[--csv] [--skip N] FILE TABLE",
        "Load CSV rows from FILE into TABLE (created from the header row if missing)",
    ),
    (
        ".indexes",
        "[TABLE]",
        "Index names, of all tables or those matching TABLE",
    ),
    (".leader", "", "The current leader: id and address"),
    (
        ".mode",
        "MODE",
        "Output mode: table, box, list, csv, json or line",
    ),
    (
        ".nullvalue",
        "TEXT",
        "Write NULL as TEXT (default: nothing)",
    ),
    (".once", "FILE", "Send the next command's output to FILE"),
    (
        ".output",
        "[FILE]",
        "Send output to FILE, or back to stdout (no FILE, or 'stdout')",
    ),
    (".quit", "", "Leave the shell"),
    (".read", "FILE", "Run the SQL and dot-commands in FILE"),
    (
        ".remove",
        "NODE [--force]",
        "Remove NODE (an id or an address) from the cluster (--force: even the last \
         voter, which leaves the cluster without a leader)",
    ),
    (
        ".schema",
        "[PATTERN]",
        "CREATE statements, of everything or of what matches PATTERN",
    ),
    (
        ".separator",
        "COL [ROW]",
        "Column and row separators of list mode (\\t, \\n, \\r, \\\\ understood)",
    ),
    (".show", "", "The current settings"),
    (
        ".tables",
        "[PATTERN]",
        "Table and view names, of all or of those matching PATTERN",
    ),
    (
        ".timeout",
        "MS",
        "Wait up to MS milliseconds for a write lock another connection holds",
    ),
    (".timer", "on|off", "Show how long each statement took"),
    (
        ".transfer",
        "[NODE]",
        "Hand leadership to voter NODE, or to a voter the leader picks",
    ),
    (
        ".weight",
        "N [ADDRESS]",
        "Set a node's weight (default: the leader's); go-dqlite's ADDRESS N also works",
    ),
];

/// Runs one dot-command line.
pub fn run(shell: &mut Shell, line: &str) -> Result<Flow, ShellError> {
    let words = split_args(line.trim().trim_start_matches('.'))?;
    let Some((name, args)) = words.split_first() else {
        return Err(ShellError::usage("empty command; enter \".help\" for help"));
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lower = name.to_ascii_lowercase();
    match (lower.as_str(), args.as_slice()) {
        ("help", _) => help(shell)?,
        ("quit", []) => return Ok(Flow::Exit(0)),
        ("exit", []) => return Ok(Flow::Exit(0)),
        ("exit", [code]) => {
            let code = code
                .parse()
                .map_err(|_| ShellError::usage(format!("not an exit status 0-255: {code}")))?;
            return Ok(Flow::Exit(code));
        }
        ("mode", [mode]) => {
            shell.settings.mode = Mode::from_name(mode).ok_or_else(|| {
                ShellError::usage(format!(
                    "unknown mode {mode:?}; choose one of: {}",
                    Mode::ALL.map(Mode::name).join(", ")
                ))
            })?;
        }
        ("mode", []) => writeln!(
            shell.out,
            "current output mode: {}",
            shell.settings.mode.name()
        )?,
        ("headers" | "header", [flag]) => shell.settings.headers = on_off(flag)?,
        ("nullvalue", [text]) => shell.settings.null_value = (*text).to_owned(),
        ("separator", [col]) => shell.settings.separator = unescape(col),
        ("separator", [col, row]) => {
            shell.settings.separator = unescape(col);
            shell.settings.row_separator = unescape(row);
        }
        ("timer", [flag]) => shell.flags.timer = on_off(flag)?,
        ("timeout", [ms]) => {
            let ms: u64 = ms.parse().map_err(|_| {
                ShellError::usage(format!(".timeout {ms:?}: not a number of milliseconds"))
            })?;
            shell
                .worker
                .set_busy_timeout(std::time::Duration::from_millis(ms));
        }
        ("changes", [flag]) => shell.flags.changes = on_off(flag)?,
        ("echo", [flag]) => shell.flags.echo = on_off(flag)?,
        ("bail", [flag]) => shell.flags.bail = on_off(flag)?,
        ("output", []) => shell.out.reset_to_stdout()?,
        ("output", ["stdout"]) => shell.out.reset_to_stdout()?,
        ("output", [file]) => shell.out.redirect_to(Path::new(file), false)?,
        ("once", [file]) => shell.out.redirect_to(Path::new(file), true)?,
        ("show", []) => show(shell)?,
        ("read", [file]) => return shell.run_file(Path::new(file)),
        ("import", args) => import::import(shell, args)?,
        ("tables", pattern) if pattern.len() <= 1 => tables(shell, pattern.first().copied())?,
        ("schema", pattern) if pattern.len() <= 1 => schema(shell, pattern.first().copied())?,
        ("indexes" | "indices", table) if table.len() <= 1 => {
            indexes(shell, table.first().copied())?;
        }
        ("dump", table) if table.len() <= 1 => dump::dump(shell, table.first().copied())?,
        ("cluster", []) => admin::cluster(shell)?,
        ("leader", []) => admin::leader(shell)?,
        ("describe", address) if address.len() <= 1 => {
            admin::describe(shell, address.first().copied())?;
        }
        ("weight", [weight]) => admin::weight(shell, weight, None)?,
        // go-dqlite's shell writes `.weight ADDRESS N`.
        ("weight", [address, weight])
            if weight.parse::<u64>().is_ok() && address.parse::<u64>().is_err() =>
        {
            admin::weight(shell, weight, Some(address))?;
        }
        ("weight", [weight, address]) => admin::weight(shell, weight, Some(address))?,
        ("add", [id, address]) => admin::add(shell, id, address)?,
        ("assign", [node, role]) => admin::assign(shell, node, role, false)?,
        ("assign", [node, role, "--force"]) => admin::assign(shell, node, role, true)?,
        ("remove", [node]) => admin::remove(shell, node, false)?,
        ("remove", [node, "--force"]) => admin::remove(shell, node, true)?,
        ("transfer", node) if node.len() <= 1 => admin::transfer(shell, node.first().copied())?,
        ("backup", [file]) => admin::backup(shell, Path::new(file))?,
        _ => return Err(unknown(&lower)),
    }
    shell.out.flush()?;
    Ok(Flow::Continue)
}

fn unknown(name: &str) -> ShellError {
    match COMMANDS.iter().find(|(n, _, _)| n.get(1..) == Some(name)) {
        Some((n, args, _)) => ShellError::usage(format!("usage: {n} {args}")),
        None => ShellError::usage(format!(
            "unknown command \".{name}\"; enter \".help\" for the list"
        )),
    }
}

/// Splits a command line into words; `'...'` and `"..."` group words with spaces.
pub fn split_args(line: &str) -> Result<Vec<String>, ShellError> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '\'' || c == '"' {
            chars.next();
            let mut closed = false;
            for ch in chars.by_ref() {
                if ch == c {
                    closed = true;
                    break;
                }
                word.push(ch);
            }
            if !closed {
                return Err(ShellError::usage(format!("unterminated {c} in arguments")));
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}

fn on_off(flag: &str) -> Result<bool, ShellError> {
    match flag.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(ShellError::usage(format!(
            "expected on or off, not {flag:?}"
        ))),
    }
}

/// Resolves `\t`, `\n`, `\r`, `\\` and `\"` in a separator.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn help(shell: &mut Shell) -> Result<(), ShellError> {
    let width = COMMANDS
        .iter()
        .map(|(n, a, _)| n.len() + a.len() + 1)
        .max()
        .unwrap_or(0);
    for (name, args, what) in COMMANDS {
        let usage = format!("{name} {args}");
        writeln!(shell.out, "{usage:width$}  {what}")?;
    }
    writeln!(
        shell.out,
        "\nSQL statements end with \";\" and may span lines. Ctrl-C stops a running \
         statement or clears the line; Ctrl-D leaves."
    )?;
    Ok(())
}

fn show(shell: &mut Shell) -> Result<(), ShellError> {
    let s = &shell.settings;
    let on = |b: bool| if b { "on" } else { "off" };
    let output = match shell.out.file() {
        Some(path) => path.display().to_string(),
        None => "stdout".into(),
    };
    let text = format!(
        "    database: {}\n        mode: {}\n     headers: {}\n   nullvalue: {:?}\n   \
         separator: {:?} {:?}\n      output: {}\n       timer: {}\n     changes: {}\n        \
         echo: {}\n        bail: {}\n",
        shell.config.database_name(),
        s.mode.name(),
        on(s.headers),
        s.null_value,
        s.separator,
        s.row_separator,
        output,
        on(shell.flags.timer),
        on(shell.flags.changes),
        on(shell.flags.echo),
        on(shell.flags.bail),
    );
    shell.out.write_all(text.as_bytes())?;
    Ok(())
}

/// The text of every row's first column.
/// The first column of each row that holds text.
pub fn first_texts(rows: Vec<dqlite_client::Row>) -> Vec<String> {
    rows.into_iter()
        .filter_map(|r| match r.into_values().into_iter().next() {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        })
        .collect()
}

fn pattern_params(pattern: Option<&str>) -> Vec<Value> {
    pattern
        .map(|p| vec![Value::Text(p.to_owned())])
        .unwrap_or_default()
}

fn tables(shell: &mut Shell, pattern: Option<&str>) -> Result<(), ShellError> {
    let filter = if pattern.is_some() {
        " AND name LIKE ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{filter} ORDER BY 1"
    );
    let rows = shell.query(&sql, pattern_params(pattern))?;
    for name in first_texts(rows) {
        writeln!(shell.out, "{name}")?;
    }
    Ok(())
}

fn schema(shell: &mut Shell, pattern: Option<&str>) -> Result<(), ShellError> {
    let filter = if pattern.is_some() {
        " AND (name LIKE ?1 OR tbl_name LIKE ?1)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{filter} ORDER BY rowid"
    );
    let rows = shell.query(&sql, pattern_params(pattern))?;
    for sql in first_texts(rows) {
        writeln!(shell.out, "{sql};")?;
    }
    Ok(())
}

fn indexes(shell: &mut Shell, table: Option<&str>) -> Result<(), ShellError> {
    let filter = if table.is_some() {
        " AND tbl_name LIKE ?"
    } else {
        ""
    };
    let sql = format!("SELECT name FROM sqlite_master WHERE type = 'index'{filter} ORDER BY 1");
    let rows = shell.query(&sql, pattern_params(table))?;
    for name in first_texts(rows) {
        writeln!(shell.out, "{name}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert_eq!(
            split_args("mode  csv").unwrap(),
            vec!["mode".to_owned(), "csv".into()]
        );
        assert_eq!(
            split_args("nullvalue 'no value' \"x y\"").unwrap(),
            vec!["nullvalue".to_owned(), "no value".into(), "x y".into()]
        );
        assert_eq!(
            split_args("separator ''").unwrap(),
            vec!["separator".to_owned(), String::new()]
        );
        assert!(split_args("output 'x").is_err());
    }

    #[test]
    fn separators() {
        assert_eq!(unescape(r"\t"), "\t");
        assert_eq!(unescape(r"a\nb\\"), "a\nb\\");
        assert_eq!(unescape(r"\"), "\\");
    }

    #[test]
    fn flags() {
        assert!(on_off("ON").unwrap());
        assert!(!on_off("0").unwrap());
        assert!(on_off("maybe").is_err());
    }

    #[test]
    fn help_lists_every_command_sorted() {
        let names: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}

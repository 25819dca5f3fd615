//! Cutting input lines into commands, as sqlite3 reads a script: a line that starts with
//! `.` while no SQL is pending is a dot-command; other lines gather until the text ends a
//! statement (`dqlite_client::sql::is_complete`: quotes, comments and trigger bodies
//! respected).

use dqlite_client::sql::{self, StatementKind};

/// One command cut from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A dot-command line.
    Dot {
        /// The line, as typed.
        line: String,
        /// Its line number (from 1).
        line_no: usize,
    },
    /// SQL text ending with a complete statement (possibly several statements).
    Sql {
        /// The text, lines joined with `\n`.
        text: String,
        /// The line number of its first line.
        line_no: usize,
    },
}

/// Gathers lines into [`Piece`]s.
#[derive(Debug, Default)]
pub struct Accumulator {
    pending: String,
    first_line: usize,
    line_no: usize,
}

impl Accumulator {
    /// A new, empty accumulator.
    pub fn new() -> Self {
        Accumulator::default()
    }

    /// Takes one line (without its line end); returns a command when the line completes
    /// one.
    pub fn push(&mut self, line: &str) -> Option<Piece> {
        self.line_no += 1;
        if line.trim_start().starts_with('.') && is_blank(&self.pending) {
            self.pending.clear();
            return Some(Piece::Dot {
                line: line.to_owned(),
                line_no: self.line_no,
            });
        }
        if self.pending.is_empty() {
            self.first_line = self.line_no;
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        // Only a line with a semicolon can end a statement: this keeps long statements
        // from being rescanned at every line.
        if line.contains(';') && sql::is_complete(&self.pending) {
            return Some(Piece::Sql {
                text: std::mem::take(&mut self.pending),
                line_no: self.first_line,
            });
        }
        None
    }

    /// The SQL left at the end of the input (a last statement without `;`), if any.
    pub fn finish(&mut self) -> Option<Piece> {
        if is_blank(&self.pending) {
            self.pending.clear();
            return None;
        }
        Some(Piece::Sql {
            text: std::mem::take(&mut self.pending),
            line_no: self.first_line,
        })
    }

    /// True when no statement is pending (only whitespace or finished comments).
    pub fn is_idle(&self) -> bool {
        is_blank(&self.pending)
    }
}

/// True for text of only whitespace and comments, none of them left open.
fn is_blank(text: &str) -> bool {
    if text.trim().is_empty() {
        return true;
    }
    // An unterminated block comment would swallow the `;` added here.
    sql::classify(text) == StatementKind::Empty && sql::is_complete(&format!("{text}\n;"))
}

/// True when `entry` (the lines typed so far at the prompt) holds only whole commands.
pub fn is_entry_complete(entry: &str) -> bool {
    let mut acc = Accumulator::new();
    for line in entry.split('\n') {
        acc.push(line.strip_suffix('\r').unwrap_or(line));
    }
    acc.is_idle()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(input: &str) -> Vec<Piece> {
        let mut acc = Accumulator::new();
        let mut out: Vec<Piece> = input.lines().filter_map(|l| acc.push(l)).collect();
        out.extend(acc.finish());
        out
    }

    fn sql(text: &str, line_no: usize) -> Piece {
        Piece::Sql {
            text: text.into(),
            line_no,
        }
    }

    #[test]
    fn dot_lines_and_statements() {
        assert_eq!(
            pieces(".mode csv\nSELECT 1;\n  .tables\nSELECT\n 2;"),
            vec![
                Piece::Dot {
                    line: ".mode csv".into(),
                    line_no: 1
                },
                sql("SELECT 1;\n", 2),
                Piece::Dot {
                    line: "  .tables".into(),
                    line_no: 3
                },
                sql("SELECT\n 2;\n", 4),
            ]
        );
    }

    #[test]
    fn a_dot_inside_a_statement_is_sql() {
        assert_eq!(pieces("SELECT 1\n.5;"), vec![sql("SELECT 1\n.5;\n", 1)]);
    }

    #[test]
    fn strings_comments_and_triggers() {
        let input = "INSERT INTO t VALUES ('a;\n.b');\n\
                     -- comment;\n\
                     CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n\
                     UPDATE t SET a = 1;\n\
                     END;\n\
                     /* open; \n.x */ SELECT 2;";
        assert_eq!(
            pieces(input),
            vec![
                sql("INSERT INTO t VALUES ('a;\n.b');\n", 1),
                sql(
                    "-- comment;\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\nUPDATE t SET a = 1;\nEND;\n",
                    3
                ),
                sql("/* open; \n.x */ SELECT 2;\n", 7),
            ]
        );
    }

    #[test]
    fn leftovers() {
        assert_eq!(pieces("SELECT 1"), vec![sql("SELECT 1\n", 1)]);
        assert_eq!(pieces("-- only a comment\n\n"), vec![]);
    }

    #[test]
    fn entries() {
        assert!(is_entry_complete("SELECT 1;"));
        assert!(is_entry_complete(".tables"));
        assert!(is_entry_complete(""));
        assert!(!is_entry_complete("SELECT 1"));
        assert!(!is_entry_complete("SELECT ';"));
        assert!(!is_entry_complete(
            "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;"
        ));
        assert!(is_entry_complete("SELECT 1;\n.mode csv"));
        assert!(!is_entry_complete("/* still open"));
    }
}

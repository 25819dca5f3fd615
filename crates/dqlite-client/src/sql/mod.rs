//! SQL text helpers that the protocol forces on a client: splitting scripts into
//! statements, telling whether a statement is complete, and classifying a statement so it
//! is sent with the right request (EXEC for statements without rows, QUERY for the rest).
//!
//! dqlite cannot be asked which kind a statement is before it runs, and sending a write
//! through QUERY corrupts a 1.11 leader (docs/protocol.md §10.4), so the client decides
//! from the text. The tokenizer follows SQLite's lexical rules: `'strings'` with `''`
//! escapes, `"identifiers"`, `[identifiers]`, `` `identifiers` ``, `-- line` and
//! `/* block */` comments, and `CREATE TRIGGER ... BEGIN ... END;` bodies whose inner
//! semicolons do not end the statement (the rule of `sqlite3_complete`).

mod classify;
mod parameters;
mod tokens;
mod transaction;

pub(crate) use classify::refusal;
pub use classify::{StatementKind, classify, is_dml, verb};
pub use parameters::parameters;
pub use transaction::{
    TransactionControl, TransactionEffect, leading_keyword, transaction_control, transaction_effect,
};

pub(crate) use tokens::trim_spaces;

use tokens::{StatementState, Tokens};

/// Splits SQL text into statements, each without its terminating `;` and trimmed of
/// surrounding whitespace. Statements that hold only comments or whitespace are dropped.
///
/// ```
/// use dqlite_client::sql::split_statements;
/// let parts = split_statements("CREATE TABLE t (a); INSERT INTO t VALUES ('x;y'); -- end");
/// assert_eq!(parts, vec!["CREATE TABLE t (a)", "INSERT INTO t VALUES ('x;y')"]);
/// ```
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut state = StatementState::default();
    let mut start = 0;
    for (offset, _, token) in Tokens::new(sql) {
        if state.feed(token) {
            if state.has_content
                && let Some(text) = sql.get(start..offset)
            {
                out.push(tokens::trim_spaces(text));
            }
            start = offset + 1;
            state = StatementState::default();
        }
    }
    if state.has_content
        && let Some(text) = sql.get(start..)
    {
        out.push(tokens::trim_spaces(text));
    }
    out
}

/// True when `sql` ends with a complete statement: the last token outside strings and
/// comments is a `;` that closes the statement (for triggers, the `;` after `END`).
/// Like stdlib `sqlite3.complete_statement`, text of only whitespace and comments is not
/// complete.
///
/// ```
/// use dqlite_client::sql::is_complete;
/// assert!(is_complete("SELECT 1;"));
/// assert!(!is_complete("SELECT 'a;"));
/// assert!(!is_complete("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1;"));
/// ```
pub fn is_complete(sql: &str) -> bool {
    let mut state = StatementState::default();
    let mut complete = false;
    for (_, _, token) in Tokens::new(sql) {
        complete = state.feed(token);
        if complete {
            state = StatementState::default();
        }
    }
    complete
}

/// Removes trailing whitespace and comments, so that 1.11 servers report the right
/// rows-affected count (docs/protocol.md §5: a blank tail resets it to 0).
pub fn trim_tail(sql: &str) -> &str {
    let end = Tokens::new(sql).last().map_or(0, |(_, end, _)| end);
    sql.get(..end).unwrap_or(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "SELECT 'a;b'; SELECT \"c;d\"; -- x;y\nSELECT [e;f]; /* g;h */ SELECT `i;j`";
        assert_eq!(
            split_statements(sql),
            vec![
                "SELECT 'a;b'",
                "SELECT \"c;d\"",
                "-- x;y\nSELECT [e;f]",
                "/* g;h */ SELECT `i;j`"
            ]
        );
    }

    #[test]
    fn a_tcl_style_parameter_suffix_is_one_token() {
        // SQLite reads `$a(x;y)` as one parameter name, `;` included.
        assert_eq!(
            split_statements("SELECT $a(x;y); SELECT 2"),
            vec!["SELECT $a(x;y)", "SELECT 2"]
        );
        // `$a(()` is a name: the `(`s in it open nothing, and RETURNING is at the top.
        assert_eq!(
            classify("INSERT INTO t VALUES ($a(()) RETURNING a"),
            StatementKind::WriteReturning
        );
    }

    #[test]
    fn doubled_quotes_are_escapes() {
        assert_eq!(
            split_statements("SELECT 'it''s;'; SELECT 2"),
            vec!["SELECT 'it''s;'", "SELECT 2"]
        );
    }

    #[test]
    fn trigger_bodies_keep_their_semicolons() {
        let sql = "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN \
                   UPDATE t SET a = CASE WHEN 1 THEN 2 END; DELETE FROM u; END; SELECT 1;";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].ends_with("DELETE FROM u; END"));
        assert_eq!(parts[1], "SELECT 1");
    }

    #[test]
    fn an_explained_trigger_keeps_its_body() {
        let sql = "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; \
                   explain query plan create temp trigger u after insert on t begin \
                   delete from t; end; EXPLAIN SELECT 1; SELECT 2";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 4, "{parts:?}");
        assert!(parts[0].ends_with("SELECT 1; END"), "{parts:?}");
        assert!(parts[1].ends_with("delete from t; end"), "{parts:?}");
        assert_eq!(parts[2..], ["EXPLAIN SELECT 1", "SELECT 2"]);
        assert!(!is_complete(
            "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;"
        ));
        assert!(is_complete("EXPLAIN SELECT 1;"));
    }

    #[test]
    fn begin_transaction_is_not_a_trigger() {
        assert_eq!(
            split_statements("BEGIN; INSERT INTO t VALUES (1); COMMIT;"),
            vec!["BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"]
        );
    }

    #[test]
    fn blank_and_comment_only_pieces_are_dropped() {
        assert!(split_statements("  ; -- nothing\n ; /* */").is_empty());
        assert_eq!(split_statements(";;SELECT 1;;"), vec!["SELECT 1"]);
    }

    #[test]
    fn unterminated_quotes_and_comments_do_not_panic() {
        assert_eq!(split_statements("SELECT 'abc"), vec!["SELECT 'abc"]);
        assert_eq!(
            split_statements("SELECT 1 /* open"),
            vec!["SELECT 1 /* open"]
        );
        assert_eq!(split_statements("SELECT [x"), vec!["SELECT [x"]);
        assert!(!is_complete("SELECT 'abc;"));
    }

    #[test]
    fn non_ascii_text_is_kept_intact() {
        assert_eq!(
            split_statements("INSERT INTO t VALUES ('héllo;wörld');SELECT 'ü'"),
            vec!["INSERT INTO t VALUES ('héllo;wörld')", "SELECT 'ü'"]
        );
    }

    #[test]
    fn completeness_matches_sqlite3_complete() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- trailing comment"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete(""));
        assert!(!is_complete("-- only a comment;"));
        assert!(!is_complete(
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END"
        ));
        assert!(is_complete(
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END;"
        ));
    }

    #[test]
    fn trims_trailing_whitespace_and_comments() {
        assert_eq!(
            trim_tail("INSERT INTO t VALUES (1)  -- c\n "),
            "INSERT INTO t VALUES (1)"
        );
        assert_eq!(trim_tail("SELECT 'a' /* x */"), "SELECT 'a'");
        assert_eq!(trim_tail("SELECT 1;  "), "SELECT 1;");
        assert_eq!(trim_tail("  "), "");
        assert_eq!(trim_tail("SELECT x FROM [t]"), "SELECT x FROM [t]");
    }
}

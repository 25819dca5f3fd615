//! SQL text helpers that the protocol forces on a client: splitting scripts into
//! statements, telling whether a statement is complete, and classifying a statement so it
//! is sent with the right request (EXEC for statements without rows, QUERY for the rest).
//!
//! dqlite cannot be asked which kind a statement is before it runs, and sending a write
//! through QUERY corrupts a 1.11 leader (protocol reference §10.4), so the client decides
//! from the text. The tokenizer follows SQLite's lexical rules: `'strings'` with `''`
//! escapes, `"identifiers"`, `[identifiers]`, `` `identifiers` ``, `-- line` and
//! `/* block */` comments, and `CREATE TRIGGER ... BEGIN ... END;` bodies whose inner
//! semicolons do not end the statement (the rule of `sqlite3_complete`).

/// One lexical token of SQL text, as far as splitting and classifying need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A keyword or bare identifier (letters, digits, `_`, `$`, non-ASCII).
    Word(&'a str),
    /// `;`
    Semicolon,
    /// `(`
    Open,
    /// `)`
    Close,
    /// Anything else that is not whitespace or a comment: literals, operators, quoted names.
    Other,
}

/// Iterator over `(start, end, token)` with byte offsets; whitespace and comments are
/// skipped.
struct Tokens<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(sql: &'a str) -> Self {
        Tokens { sql, pos: 0 }
    }

    /// Byte offset just past the quoted run that starts at `start` with `quote` and ends
    /// with `end`, where a doubled `end` is an escape (SQL's `''` and `""`), unless
    /// `doubling` is false. Unterminated quotes run to the end of the text.
    fn skip_quoted(&self, start: usize, end: u8, doubling: bool) -> usize {
        let bytes = self.sql.as_bytes();
        let mut i = start + 1;
        while let Some(&b) = bytes.get(i) {
            if b == end {
                if doubling && bytes.get(i + 1) == Some(&end) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i += 1;
        }
        bytes.len()
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (usize, usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.sql.as_bytes();
        loop {
            let start = self.pos;
            let b = *bytes.get(start)?;
            let (end, token) = match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                    self.pos += 1;
                    continue;
                }
                b'-' if bytes.get(start + 1) == Some(&b'-') => {
                    self.pos = bytes
                        .iter()
                        .skip(start)
                        .position(|&c| c == b'\n')
                        .map_or(bytes.len(), |n| start + n + 1);
                    continue;
                }
                b'/' if bytes.get(start + 1) == Some(&b'*') => {
                    self.pos = self
                        .sql
                        .get(start + 2..)
                        .and_then(|rest| rest.find("*/"))
                        .map_or(bytes.len(), |n| start + 2 + n + 2);
                    continue;
                }
                b';' => (start + 1, Token::Semicolon),
                b'(' => (start + 1, Token::Open),
                b')' => (start + 1, Token::Close),
                b'\'' => (self.skip_quoted(start, b'\'', true), Token::Other),
                b'"' => (self.skip_quoted(start, b'"', true), Token::Other),
                b'`' => (self.skip_quoted(start, b'`', true), Token::Other),
                b'[' => (self.skip_quoted(start, b']', false), Token::Other),
                b if is_word_byte(b) => {
                    let len = bytes
                        .iter()
                        .skip(start)
                        .position(|&c| !is_word_byte(c))
                        .unwrap_or(bytes.len() - start);
                    let word = self.sql.get(start..start + len).unwrap_or_default();
                    (start + len, Token::Word(word))
                }
                _ => {
                    // Advance over one whole UTF-8 character so offsets stay on boundaries.
                    let len = self
                        .sql
                        .get(start..)
                        .and_then(|s| s.chars().next())
                        .map_or(1, char::len_utf8);
                    (start + len, Token::Other)
                }
            };
            self.pos = end;
            return Some((start, end, token));
        }
    }
}

/// Tracks `sqlite3_complete`'s trigger rule over the tokens of one statement.
#[derive(Default)]
struct StatementState {
    /// Words seen at the start of the statement (up to 3), to spot CREATE [TEMP] TRIGGER.
    leading: u8,
    saw_create: bool,
    in_trigger: bool,
    /// Inside a trigger: 0 = nothing special, 1 = just saw `;`, 2 = saw `;` then `END`.
    trigger_tail: u8,
    has_content: bool,
}

impl StatementState {
    /// Feeds one token; returns true when this token (a `;`) ends the statement.
    fn feed(&mut self, token: Token<'_>) -> bool {
        if let Token::Word(word) = token
            && self.leading < 3
        {
            self.leading += 1;
            if word.eq_ignore_ascii_case("CREATE") && self.leading == 1 {
                self.saw_create = true;
            } else if self.saw_create && word.eq_ignore_ascii_case("TRIGGER") {
                self.in_trigger = true;
            } else if !(self.saw_create
                && (word.eq_ignore_ascii_case("TEMP") || word.eq_ignore_ascii_case("TEMPORARY")))
            {
                self.saw_create = false;
            }
        } else if !matches!(token, Token::Word(_)) {
            self.leading = 3;
        }
        if token != Token::Semicolon {
            self.has_content = true;
        }
        if !self.in_trigger {
            return token == Token::Semicolon;
        }
        match token {
            Token::Semicolon if self.trigger_tail == 2 => return true,
            Token::Semicolon => self.trigger_tail = 1,
            Token::Word(word) if self.trigger_tail == 1 && word.eq_ignore_ascii_case("END") => {
                self.trigger_tail = 2;
            }
            _ => self.trigger_tail = 0,
        }
        false
    }
}

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
                out.push(text.trim());
            }
            start = offset + 1;
            state = StatementState::default();
        }
    }
    if state.has_content
        && let Some(text) = sql.get(start..)
    {
        out.push(text.trim());
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

/// Removes trailing whitespace and comments, so that 1.11 servers report the right
/// rows-affected count (protocol reference §5: a blank tail resets it to 0).
pub fn trim_tail(sql: &str) -> &str {
    let end = Tokens::new(sql).last().map_or(0, |(_, end, _)| end);
    sql.get(..end).unwrap_or(sql)
}

/// The parameters of the first statement of `sql`, numbered as SQLite numbers them: entry
/// `i` is parameter `i + 1`, with its name (prefix included: `:a`, `@a`, `$a`, `?7`) or
/// `None` for an anonymous `?`. This is `sqlite3_bind_parameter_count` and
/// `sqlite3_bind_parameter_name` computed from the text, so a driver can bind a mapping
/// of names positionally and check counts before sending.
///
/// A `?` takes the number after the largest so far, `?NNN` takes `NNN`, and a name takes
/// the next number on its first appearance and the same number after that.
///
/// ```
/// use dqlite_client::sql::parameters;
/// assert_eq!(parameters("SELECT ?, :a, ?5, @b, :a, $c"),
///            vec![None, Some(":a"), None, None, Some("?5"), Some("@b"), Some("$c")]);
/// assert_eq!(parameters("SELECT ':a', \"?\" -- ?"), Vec::<Option<&str>>::new());
/// ```
pub fn parameters(sql: &str) -> Vec<Option<&str>> {
    /// SQLite's default SQLITE_MAX_VARIABLE_NUMBER.
    const MAX_NUMBER: usize = 32766;
    let bytes = sql.as_bytes();
    let mut slots: Vec<Option<&str>> = Vec::new();
    let mut tokens = Tokens::new(sql).peekable();
    // The word token that starts right at `at`, if any (a name or number glued to its
    // prefix).
    let glued = |tokens: &mut std::iter::Peekable<Tokens<'_>>, at: usize| match tokens.peek() {
        Some(&(start, end, Token::Word(_))) if start == at => {
            tokens.next();
            Some(end)
        }
        _ => None,
    };
    while let Some((start, end, token)) = tokens.next() {
        let named_end = match token {
            Token::Semicolon => break,
            Token::Word(word) if word.starts_with('$') && word.len() > 1 => Some(end),
            Token::Other => match bytes.get(start) {
                Some(b'?') => {
                    match glued(&mut tokens, end) {
                        Some(num_end) => {
                            let digits = sql.get(end..num_end).unwrap_or_default();
                            if let Ok(n) = digits.parse::<usize>()
                                && (1..=MAX_NUMBER).contains(&n)
                            {
                                if slots.len() < n {
                                    slots.resize(n, None);
                                }
                                if let Some(slot) = slots.get_mut(n - 1)
                                    && slot.is_none()
                                {
                                    *slot = sql.get(start..num_end);
                                }
                            }
                        }
                        None => slots.push(None),
                    }
                    None
                }
                Some(b':' | b'@') => glued(&mut tokens, end),
                _ => None,
            },
            _ => None,
        };
        if let Some(name_end) = named_end
            && let Some(name) = sql.get(start..name_end)
            && !slots.contains(&Some(name))
        {
            slots.push(Some(name));
        }
    }
    slots
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
        assert_eq!(classify("SELECT '€' = '€'"), StatementKind::Query);
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
    fn parameter_numbering_follows_sqlite() {
        assert_eq!(parameters("SELECT 1"), Vec::<Option<&str>>::new());
        assert_eq!(parameters("SELECT ?, ?"), vec![None, None]);
        assert_eq!(
            parameters("SELECT :a, :b, :a"),
            vec![Some(":a"), Some(":b")]
        );
        assert_eq!(
            parameters("SELECT ?3, ?"),
            vec![None, None, Some("?3"), None]
        );
        assert_eq!(
            parameters("SELECT a$b, $x, @y FROM t WHERE c = '?' AND d = [:z]"),
            vec![Some("$x"), Some("@y")]
        );
        // Only the first statement counts; a bare ':' is not a parameter.
        assert_eq!(parameters("SELECT : a, ?; SELECT ?, ?"), vec![None]);
        assert_eq!(parameters("SELECT ?0, ?99999"), Vec::<Option<&str>>::new());
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

//! SQLite's lexical rules, as far as splitting and classifying need them.

/// One lexical token of SQL text, as far as splitting and classifying need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// A keyword or bare identifier (letters, digits, `_`, `$`, non-ASCII).
    Word(&'a str),
    /// `;`
    Semicolon,
    /// `(`
    Open,
    /// `)`
    Close,
    /// A parameter as SQLite reads it: `?`, `?NNN`, or `:`, `@`, `$` or `#` followed by a
    /// name, which may carry Tcl-style `::` parts and one `(suffix)`: `$a::b(c)`.
    Variable(&'a str),
    /// Anything else that is not whitespace or a comment: literals, operators, quoted names.
    Other,
}

/// Iterator over `(start, end, token)` with byte offsets; whitespace and comments are
/// skipped.
pub(super) struct Tokens<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(sql: &'a str) -> Self {
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

/// Which bytes make up words: letters, digits, `_`, `$` and every byte of a non-ASCII
/// character. A table: every statement's text goes through here.
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut rest: &mut [bool] = &mut table;
    let mut byte: u8 = 0;
    while let [slot, tail @ ..] = rest {
        *slot = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80;
        rest = tail;
        byte = byte.wrapping_add(1);
    }
    table
};

fn is_word_byte(b: u8) -> bool {
    WORD_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// The bytes that start a run of whitespace in SQLite's tokenizer: space, tab, newline,
/// carriage return and form feed. A vertical tab (0x0b) does not (SQLite rejects it as an
/// unrecognized token), and neither does any non-ASCII space: to SQLite, `\u{a0}` or
/// `\u{3000}` are letters of a name.
fn starts_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// The bytes that continue a run of whitespace: SQLite's `sqlite3Isspace`, which takes in
/// the vertical tab too.
fn continues_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

/// The end of the whitespace run that starts at `start` (`start` itself when none does).
fn space_end(bytes: &[u8], start: usize) -> usize {
    if !bytes.get(start).is_some_and(|&b| starts_space(b)) {
        return start;
    }
    start
        + bytes
            .iter()
            .skip(start)
            .take_while(|&&b| continues_space(b))
            .count()
}

/// The end of the named variable (`:a`, `@a`, `$a`, `#a`) that starts at `start`, as
/// SQLite's tokenizer reads it: name characters, `::` pairs between them, and after at
/// least one name character a `(` that runs to the next `)` (which must come before any
/// whitespace). `None` for SQLite's unrecognized token: no name character, or an unclosed
/// `(`.
fn named_variable_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let mut named = false;
    loop {
        match bytes.get(i).copied() {
            Some(c) if is_word_byte(c) => named = true,
            Some(b'(') if named => {
                let close = bytes
                    .iter()
                    .skip(i + 1)
                    .position(|&c| c == 0 || c == b')' || continues_space(c))?;
                return (bytes.get(i + 1 + close) == Some(&b')')).then_some(i + 1 + close + 1);
            }
            Some(b':') if bytes.get(i + 1) == Some(&b':') => i += 1,
            _ => return named.then_some(i),
        }
        i += 1;
    }
}

/// The end of the unrecognized token SQLite makes of a variable prefix that
/// [`named_variable_end`] refuses: the prefix alone, or through the unclosed `(suffix`.
fn illegal_variable_end(bytes: &[u8], start: usize) -> usize {
    let name_end = start
        + 1
        + bytes
            .iter()
            .skip(start + 1)
            .take_while(|&&c| is_word_byte(c) || c == b':')
            .count();
    if name_end > start + 1 && bytes.get(name_end) == Some(&b'(') {
        name_end
            + bytes
                .iter()
                .skip(name_end)
                .take_while(|&&c| c != 0 && c != b')' && !continues_space(c))
                .count()
    } else {
        start + 1
    }
}

/// `text` without the whitespace SQLite's tokenizer skips at its start and end. Unlike
/// `str::trim`, which also takes Unicode spaces and the vertical tab, this never changes
/// which tokens SQLite sees: text sent after this trim reads to SQLite as the text that
/// was classified.
pub(crate) fn trim_spaces(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = space_end(bytes, 0);
    // A trailing run of whitespace bytes is skipped by SQLite from its first byte that may
    // start one: vertical tabs before that byte are tokens of their own.
    let run = bytes
        .iter()
        .rev()
        .take_while(|&&b| continues_space(b))
        .count();
    let end = bytes.len() - run;
    let end = end
        + bytes
            .iter()
            .skip(end)
            .take_while(|&&b| !starts_space(b))
            .count();
    text.get(start..end.max(start)).unwrap_or_default()
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (usize, usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.sql.as_bytes();
        loop {
            let start = self.pos;
            let b = *bytes.get(start)?;
            let (end, token) = match b {
                b if starts_space(b) => {
                    self.pos = space_end(bytes, start);
                    continue;
                }
                // A UTF-8 byte order mark: SQLite's tokenizer skips it as a space.
                0xef if bytes.get(start + 1..start + 3) == Some(&[0xbb, 0xbf]) => {
                    self.pos += 3;
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
                b'?' => {
                    let end = start
                        + 1
                        + bytes
                            .iter()
                            .skip(start + 1)
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                    let text = self.sql.get(start..end).unwrap_or_default();
                    (end, Token::Variable(text))
                }
                b':' | b'@' | b'$' | b'#' => match named_variable_end(bytes, start) {
                    Some(end) => {
                        let text = self.sql.get(start..end).unwrap_or_default();
                        (end, Token::Variable(text))
                    }
                    // SQLite's unrecognized token: no name after the prefix, or an
                    // unclosed `(suffix`.
                    None => (illegal_variable_end(bytes, start), Token::Other),
                },
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

/// Where a statement is in `sqlite3_complete`'s reading of its first words, which tells a
/// CREATE TRIGGER (whose body holds `;`s) from every other statement.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Leading {
    /// Nothing yet.
    #[default]
    Start,
    /// After EXPLAIN (and whatever follows it, such as QUERY PLAN).
    Explain,
    /// After CREATE, and any TEMP or TEMPORARY.
    Create,
    /// Inside a CREATE TRIGGER.
    Trigger,
    /// Any other statement.
    Normal,
}

/// Tracks `sqlite3_complete`'s trigger rule over the tokens of one statement: in a
/// `[EXPLAIN [QUERY PLAN]] CREATE [TEMP] TRIGGER`, only a `;` after `; END` ends it.
#[derive(Default)]
pub(super) struct StatementState {
    leading: Leading,
    /// Inside a trigger: 0 = nothing special, 1 = just saw `;`, 2 = saw `;` then `END`.
    trigger_tail: u8,
    pub(super) has_content: bool,
}

impl StatementState {
    /// Feeds one token; returns true when this token (a `;`) ends the statement.
    pub(super) fn feed(&mut self, token: Token<'_>) -> bool {
        if token != Token::Semicolon {
            self.has_content = true;
        }
        let is = |keyword: &str| matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(keyword));
        self.leading = match self.leading {
            Leading::Start if is("EXPLAIN") => Leading::Explain,
            Leading::Start | Leading::Explain if is("CREATE") => Leading::Create,
            // EXPLAIN's other words (QUERY PLAN) keep it waiting for a CREATE, as
            // `sqlite3_complete` has it; its keywords do not.
            Leading::Explain
                if !["EXPLAIN", "TEMP", "TEMPORARY", "TRIGGER", "END"]
                    .iter()
                    .any(|k| is(k)) =>
            {
                Leading::Explain
            }
            Leading::Create if is("TEMP") || is("TEMPORARY") => Leading::Create,
            Leading::Create if is("TRIGGER") => Leading::Trigger,
            Leading::Trigger => Leading::Trigger,
            _ => Leading::Normal,
        };
        if self.leading != Leading::Trigger {
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

#[cfg(test)]
mod tests {
    use super::{Token, Tokens, is_word_byte};

    #[test]
    fn word_bytes_are_letters_digits_underscore_dollar_and_non_ascii() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
            assert_eq!(is_word_byte(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn only_sqlite_whitespace_is_trimmed() {
        use super::trim_spaces;
        assert_eq!(trim_spaces(" \t\r\n\x0cSELECT 1 \x0c\n"), "SELECT 1");
        // A vertical tab continues a run of whitespace but cannot start one.
        assert_eq!(trim_spaces(" \x0bSELECT 1 \x0b\t"), "SELECT 1");
        assert_eq!(trim_spaces("\x0bSELECT 1\x0b"), "\x0bSELECT 1\x0b");
        assert_eq!(trim_spaces("SELECT 1\x0b\x0b \x0b"), "SELECT 1\x0b\x0b");
        // Unicode spaces are letters of a name to SQLite.
        assert_eq!(
            trim_spaces("\u{a0}SELECT 1\u{3000}"),
            "\u{a0}SELECT 1\u{3000}"
        );
        assert_eq!(trim_spaces(" \n "), "");
        assert_eq!(trim_spaces(""), "");
        let tokens: Vec<_> = Tokens::new(" \x0bx\x0b").map(|(_, _, t)| t).collect();
        assert_eq!(tokens, [Token::Word("x"), Token::Other]);
    }

    #[test]
    fn words_end_at_the_first_byte_outside_a_word() {
        let tokens: Vec<_> = Tokens::new(" sElect_$1é(x)").collect();
        assert_eq!(
            tokens,
            [
                (1, 12, Token::Word("sElect_$1é")),
                (12, 13, Token::Open),
                (13, 14, Token::Word("x")),
                (14, 15, Token::Close),
            ]
        );
    }
}

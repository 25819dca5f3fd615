//! What a statement does to the connection's transaction, as far as its text tells: the
//! transaction control statement it is ([`transaction_control`]), and the coarse view a
//! client keeps of whether a transaction is open ([`transaction_effect`]).

use std::borrow::Cow;

use super::tokens::{Token, Tokens};

/// A statement that opens or ends a transaction, or moves between savepoints (SQLite's
/// transaction control statements).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionControl<'a> {
    /// `BEGIN [DEFERRED | IMMEDIATE | EXCLUSIVE] [TRANSACTION]`: opens a transaction.
    Begin,
    /// `COMMIT` or `END [TRANSACTION]`: ends it, keeping its changes.
    Commit,
    /// `ROLLBACK [TRANSACTION]`: ends it, dropping its changes.
    Rollback,
    /// `ROLLBACK [TRANSACTION] TO [SAVEPOINT] name`: back to a savepoint, which stays; the
    /// transaction stays open.
    RollbackTo(Cow<'a, str>),
    /// `SAVEPOINT name`: opens a transaction when none is open.
    Savepoint(Cow<'a, str>),
    /// `RELEASE [SAVEPOINT] name`: drops the savepoint and those after it; releasing the
    /// savepoint that opened the transaction commits it.
    Release(Cow<'a, str>),
}

/// What the first statement of `sql` does to the transaction state, or `None` for any
/// other statement. Savepoint names come unquoted (`"a b"`, `[a b]` and `` `a b` `` give
/// `a b`); SQLite matches them without regard to ASCII case.
///
/// ```
/// use dqlite_client::sql::{TransactionControl, transaction_control};
/// assert_eq!(transaction_control("begin immediate"), Some(TransactionControl::Begin));
/// assert_eq!(transaction_control("END TRANSACTION"), Some(TransactionControl::Commit));
/// assert_eq!(
///     transaction_control("ROLLBACK TRANSACTION TO SAVEPOINT \"s 1\""),
///     Some(TransactionControl::RollbackTo("s 1".into()))
/// );
/// assert_eq!(transaction_control("SELECT 1"), None);
/// ```
pub fn transaction_control(sql: &str) -> Option<TransactionControl<'_>> {
    let mut words = Tokens::new(sql)
        .take_while(|(_, _, token)| *token != Token::Semicolon)
        .map(|(start, end, token)| (token, sql.get(start..end).unwrap_or_default()));
    let (Token::Word(first), _) = words.next()? else {
        return None;
    };
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    // The next token, skipping the optional keyword `optional`.
    let mut after = |optional: &str| match words.next() {
        Some((Token::Word(w), _)) if is(w, optional) => words.next(),
        other => other,
    };
    if is(first, "BEGIN") {
        Some(TransactionControl::Begin)
    } else if is(first, "COMMIT") || is(first, "END") {
        Some(TransactionControl::Commit)
    } else if is(first, "ROLLBACK") {
        match after("TRANSACTION") {
            Some((Token::Word(w), _)) if is(w, "TO") => {
                name(after("SAVEPOINT")?).map(TransactionControl::RollbackTo)
            }
            _ => Some(TransactionControl::Rollback),
        }
    } else if is(first, "SAVEPOINT") {
        name(words.next()?).map(TransactionControl::Savepoint)
    } else if is(first, "RELEASE") {
        name(after("SAVEPOINT")?).map(TransactionControl::Release)
    } else {
        None
    }
}

/// The first word of the first statement of `sql` (skipping whitespace and comments), as
/// written; `None` when the statement does not start with a word.
///
/// ```
/// use dqlite_client::sql::leading_keyword;
/// assert_eq!(leading_keyword("/* c */ pragma user_version"), Some("pragma"));
/// assert_eq!(leading_keyword("  -- nothing"), None);
/// ```
pub fn leading_keyword(sql: &str) -> Option<&str> {
    match Tokens::new(sql).next()? {
        (_, _, Token::Word(word)) => Some(word),
        _ => None,
    }
}

/// A name token, unquoted.
fn name<'a>((token, text): (Token<'a>, &'a str)) -> Option<Cow<'a, str>> {
    match token {
        Token::Word(word) => Some(Cow::Borrowed(word)),
        Token::Other => {
            let (open, close) = match text.as_bytes().first()? {
                b'"' => ('"', '"'),
                b'\'' => ('\'', '\''),
                b'`' => ('`', '`'),
                b'[' => ('[', ']'),
                _ => return None,
            };
            let inner = text.strip_prefix(open)?.strip_suffix(close)?;
            if open == '[' {
                return Some(Cow::Borrowed(inner));
            }
            let doubled = format!("{close}{close}");
            Some(if inner.contains(&doubled) {
                Cow::Owned(inner.replace(&doubled, &close.to_string()))
            } else {
                Cow::Borrowed(inner)
            })
        }
        _ => None,
    }
}

/// How a statement moves the connection in or out of a transaction, read from its first
/// words (see [`transaction_effect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransactionEffect {
    /// `BEGIN ...` or `SAVEPOINT name` (which opens a transaction outside one).
    Begins,
    /// `COMMIT`, `END` or `ROLLBACK` (not `ROLLBACK TO`, which keeps the transaction).
    Ends,
    /// Anything else.
    None,
}

/// The [`TransactionEffect`] of one statement: the conservative view a client keeps of
/// whether a transaction is open (`RELEASE` of the outermost savepoint also ends one; the
/// server's "no transaction is active" answer to a later `ROLLBACK` corrects that).
///
/// ```
/// use dqlite_client::sql::{TransactionEffect, transaction_effect};
/// assert_eq!(transaction_effect("/* x */ begin immediate"), TransactionEffect::Begins);
/// assert_eq!(transaction_effect("SAVEPOINT \"a\""), TransactionEffect::Begins);
/// assert_eq!(transaction_effect("END TRANSACTION"), TransactionEffect::Ends);
/// assert_eq!(transaction_effect("ROLLBACK TRANSACTION TO a"), TransactionEffect::None);
/// assert_eq!(transaction_effect("ROLLBACK"), TransactionEffect::Ends);
/// assert_eq!(transaction_effect("SELECT 'BEGIN'"), TransactionEffect::None);
/// ```
pub fn transaction_effect(statement: &str) -> TransactionEffect {
    match transaction_control(statement) {
        Some(TransactionControl::Begin | TransactionControl::Savepoint(_)) => {
            TransactionEffect::Begins
        }
        Some(TransactionControl::Commit | TransactionControl::Rollback) => TransactionEffect::Ends,
        _ => TransactionEffect::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_in_any_case_after_comments() {
        for (sql, effect) in [
            ("begin", TransactionEffect::Begins),
            ("  -- c\nBEGIN EXCLUSIVE", TransactionEffect::Begins),
            ("savepoint sp", TransactionEffect::Begins),
            ("commit", TransactionEffect::Ends),
            ("End", TransactionEffect::Ends),
            ("rollback transaction", TransactionEffect::Ends),
            ("rollback to sp", TransactionEffect::None),
            ("RELEASE sp", TransactionEffect::None),
            ("INSERT INTO begin VALUES (1)", TransactionEffect::None),
            ("", TransactionEffect::None),
            ("'BEGIN'", TransactionEffect::None),
        ] {
            assert_eq!(transaction_effect(sql), effect, "{sql:?}");
        }
    }

    #[test]
    fn transaction_control_statements() {
        use TransactionControl::*;
        let cases = [
            ("BEGIN", Some(Begin)),
            ("begin deferred transaction;", Some(Begin)),
            ("/* c */ COMMIT -- x", Some(Commit)),
            ("\u{feff}BEGIN", Some(Begin)),
            ("SAVEPOINT \u{feff}s1", Some(Savepoint("s1".into()))),
            ("end", Some(Commit)),
            ("ROLLBACK", Some(Rollback)),
            ("ROLLBACK TRANSACTION", Some(Rollback)),
            ("rollback to a", Some(RollbackTo("a".into()))),
            (
                "ROLLBACK TRANSACTION TO SAVEPOINT [b c]",
                Some(RollbackTo("b c".into())),
            ),
            ("SAVEPOINT \"x\"\"y\"", Some(Savepoint("x\"y".into()))),
            ("savepoint s1", Some(Savepoint("s1".into()))),
            ("RELEASE s1", Some(Release("s1".into()))),
            ("RELEASE SAVEPOINT `s 2`", Some(Release("s 2".into()))),
            ("SAVEPOINT", None),
            ("RELEASE SAVEPOINT", None),
            ("ROLLBACK TO", None),
            ("SELECT 'BEGIN'", None),
            ("\"BEGIN\"", None),
            ("", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(transaction_control(sql), expected, "{sql}");
        }
    }
}

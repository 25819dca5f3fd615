//! What a statement does to the connection's transaction, as far as its text tells.

use super::tokens::{Token, Tokens};

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
    let mut words = Tokens::new(statement).map(|(_, _, token)| match token {
        Token::Word(word) => Some(word),
        _ => None,
    });
    let Some(Some(first)) = words.next() else {
        return TransactionEffect::None;
    };
    let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
    if is(first, "BEGIN") || is(first, "SAVEPOINT") {
        return TransactionEffect::Begins;
    }
    if is(first, "COMMIT") || is(first, "END") {
        return TransactionEffect::Ends;
    }
    if !is(first, "ROLLBACK") {
        return TransactionEffect::None;
    }
    let mut next = words.next().flatten();
    if next.is_some_and(|w| is(w, "TRANSACTION")) {
        next = words.next().flatten();
    }
    if next.is_some_and(|w| is(w, "TO")) {
        TransactionEffect::None
    } else {
        TransactionEffect::Ends
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
}

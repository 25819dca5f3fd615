//! Parameter numbering, computed from the text as SQLite computes it.

use super::tokens::{Token, Tokens};

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
                    // `?` takes the digits right after it (`?2`); a word glued to it that
                    // does not start with one (`?AND`, `?x`) is a token of its own, and the
                    // `?` anonymous.
                    let num_end = glued(&mut tokens, end).map(|word_end| {
                        let word = bytes.get(end..word_end).unwrap_or_default();
                        end + word.iter().take_while(|b| b.is_ascii_digit()).count()
                    });
                    match num_end.filter(|&num_end| num_end > end) {
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
                // `#name` is a parameter to SQLite too (`#` and digits is not).
                Some(b'#')
                    if tokens.peek().is_some_and(|&(at, _, token)| {
                        at == end
                            && matches!(token, Token::Word(w) if !w.starts_with(|c: char| c.is_ascii_digit()))
                    }) =>
                {
                    glued(&mut tokens, end)
                }
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
        // A word glued to `?` that does not start with a digit is not part of it; the
        // digits glued to `?` are, and a word after them is a token of its own.
        assert_eq!(
            parameters("SELECT a FROM t WHERE a = ?AND b = ?"),
            vec![None, None]
        );
        assert_eq!(parameters("SELECT ?x, ?2y"), vec![None, Some("?2")]);
        assert_eq!(parameters("SELECT ?\u{e9}"), vec![None]);
        // `#name` is named as `:name` is; `#` and digits is not a parameter.
        assert_eq!(
            parameters("SELECT #a, :b, #a"),
            vec![Some("#a"), Some(":b")]
        );
        assert_eq!(parameters("SELECT #1"), Vec::<Option<&str>>::new());
    }
}

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
}

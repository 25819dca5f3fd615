//! Parameter numbering, computed from the text as SQLite computes it.

use super::tokens::{Token, Tokens};

/// The parameters of the first statement of `sql`, numbered as SQLite numbers them: entry
/// `i` is parameter `i + 1`, with its name (prefix included: `:a`, `@a`, `$a`, `?7`) or
/// `None` for an anonymous `?`. This is `sqlite3_bind_parameter_count` and
/// `sqlite3_bind_parameter_name` computed from the text, so a driver can bind a mapping
/// of names positionally and check counts before sending.
///
/// A `?` takes the number after the largest so far, `?NNN` takes `NNN`, and a name takes
/// the next number on its first appearance and the same number after that. Names are read
/// as SQLite's tokenizer reads them, Tcl-style parts included: `$a::b(c)` is one name.
///
/// ```
/// use dqlite_client::sql::parameters;
/// assert_eq!(parameters("SELECT ?, :a, ?5, @b, :a, $c"),
///            vec![None, Some(":a"), None, None, Some("?5"), Some("@b"), Some("$c")]);
/// assert_eq!(parameters("SELECT ':a', \"?\" -- ?"), Vec::<Option<&str>>::new());
/// ```
pub fn parameters(sql: &str) -> Vec<Option<&str>> {
    let mut slots: Vec<Option<&str>> = Vec::new();
    for (_, _, token) in Tokens::new(sql) {
        let name = match token {
            Token::Semicolon => break,
            Token::Variable("?") => {
                slots.push(None);
                continue;
            }
            Token::Variable(name) => name,
            _ => continue,
        };
        if let Some(digits) = name.strip_prefix('?') {
            // `?NNN` outside 1..=MAX_NUMBER is an error the server reports.
            if let Ok(n) = digits.parse::<usize>()
                && (1..=MAX_NUMBER).contains(&n)
            {
                if slots.len() < n {
                    slots.resize(n, None);
                }
                if let Some(slot) = slots.get_mut(n - 1)
                    && slot.is_none()
                {
                    *slot = Some(name);
                }
            }
        } else if name
            .strip_prefix('#')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        {
            // `#` and a digit is not a parameter (SQLite reserves it for its own use).
        } else if !slots.contains(&Some(name)) {
            slots.push(Some(name));
        }
    }
    slots
}

/// The largest `?NNN`: SQLITE_MAX_VARIABLE_NUMBER as Debian and Ubuntu build SQLite (the
/// servers answer "variable number must be between ?1 and ?250000"; SQLite's own default
/// is 32766, above which such a server refuses the statement anyway).
const MAX_NUMBER: usize = 250_000;

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
        assert_eq!(parameters("SELECT ?0, ?250001"), Vec::<Option<&str>>::new());
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

    #[test]
    fn tcl_style_names_are_one_parameter() {
        // As a real node counts them (`sqlite3_bind_parameter_count` after PREPARE).
        assert_eq!(parameters("SELECT $a::b(c)"), vec![Some("$a::b(c)")]);
        assert_eq!(parameters("SELECT :a::int"), vec![Some(":a::int")]);
        assert_eq!(
            parameters("SELECT @a(x), @a"),
            vec![Some("@a(x)"), Some("@a")]
        );
        assert_eq!(
            parameters("SELECT :a::b, :b"),
            vec![Some(":a::b"), Some(":b")]
        );
        // The suffix runs to `)`, over a `;`; whitespace before `)` makes the token one
        // SQLite does not recognize (it refuses the statement).
        assert_eq!(parameters("SELECT $a(x;y), ?"), vec![Some("$a(x;y)"), None]);
        assert_eq!(parameters("SELECT $a(x y), ?"), vec![None]);
        // A single `:` ends the name and starts the next.
        assert_eq!(parameters("SELECT :a:b"), vec![Some(":a"), Some(":b")]);
    }

    #[test]
    fn numbered_parameters_up_to_the_servers_limit() {
        assert_eq!(parameters("SELECT ?32767").len(), 32767);
        assert_eq!(parameters("SELECT ?250000").len(), 250_000);
        assert!(parameters("SELECT ?250001").is_empty());
    }
}

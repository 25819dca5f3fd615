//! FAILURE bodies, including those that follow a partly written ROWS body.
//!
//! A FAILURE is a code and a message. But when a statement fails while its rows are
//! being stepped (a runtime error in an expression, a constraint on `INSERT ...
//! RETURNING`), dqlite 1.11.1 and 1.18.7 (not 1.18.1) send the ROWS body written so far
//! first: the column count, the column names and any whole rows, then the code and the
//! message. The two shapes cannot be confused: a plain failure ends with its message,
//! while the prefixed one has the column names between its first word and its code.

use crate::error::DecodeError;
use crate::primitive::Reader;
use crate::rows::skip_row;

/// Decodes a FAILURE body into its code and message (lossily, as UTF-8).
///
/// A body read as a plain failure that leaves words over is tried as a ROWS prefix
/// followed by the failure; if it is not one either, the plain reading stands (trailing
/// bytes are ignored, as in every response).
pub(crate) fn decode_failure(body: &[u8]) -> Result<(u64, String), DecodeError> {
    let mut plain = Reader::new(body);
    let code = plain.u64("failure code")?;
    let message = plain.text("failure message")?;
    if plain.remaining() >= 8
        && let Some((code, message)) = after_rows_prefix(body)
    {
        return Ok((code, lossy(message)));
    }
    Ok((code, lossy(message)))
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

/// The code and message of a FAILURE body that starts with a ROWS body without end
/// marker, if it is one: the names, whole rows, then a failure ending the body exactly.
fn after_rows_prefix(body: &[u8]) -> Option<(u64, &[u8])> {
    let mut r = Reader::new(body);
    let columns = usize::try_from(r.u64("column count").ok()?).ok()?;
    // Each name takes at least one word.
    if columns == 0 || columns > r.remaining() / 8 {
        return None;
    }
    for _ in 0..columns {
        r.text("column name").ok()?;
    }
    loop {
        if let Some(failure) = failure_ending_at(r.clone()) {
            return Some(failure);
        }
        skip_row(&mut r, columns).ok()?;
    }
}

/// A code and a message read from `r` that end its buffer exactly (up to padding).
fn failure_ending_at(mut r: Reader<'_>) -> Option<(u64, &[u8])> {
    let code = r.u64("failure code").ok()?;
    let message = r.text("failure message").ok()?;
    r.is_empty().then_some((code, message))
}

#[cfg(test)]
mod tests {
    use super::decode_failure;

    #[test]
    fn a_prefix_that_is_not_whole_leaves_the_plain_reading() {
        // Column count 1, name "id", then a row header announcing a value that is missing.
        let body = [
            *b"\x01\0\0\0\0\0\0\0",
            *b"id\0\0\0\0\0\0",
            *b"\x01\0\0\0\0\0\0\0",
        ]
        .concat();
        assert_eq!(decode_failure(&body).unwrap(), (1, "id".to_owned()));
    }

    #[test]
    fn a_short_body_is_an_error() {
        assert!(decode_failure(b"\x01\0\0\0\0\0\0\0").is_err());
    }
}

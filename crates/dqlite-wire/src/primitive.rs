//! Word-aligned primitive fields: integers, doubles, NUL-terminated padded text and
//! length-prefixed padded blobs.

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};

/// Bytes needed to pad `len` up to a whole number of words.
#[inline]
pub(crate) const fn pad8(len: usize) -> usize {
    (8 - len % 8) % 8
}

/// Encoded size of a text field of `len` bytes (NUL included, padded).
#[inline]
pub(crate) const fn text_size(len: usize) -> usize {
    (len + 1).div_ceil(8) * 8
}

/// Encoded size of a blob field of `len` bytes (length word included, padded).
#[inline]
pub(crate) const fn blob_size(len: usize) -> usize {
    8 + len + pad8(len)
}

/// Checks that `text` can travel as a text field.
pub(crate) fn check_text(text: &str, what: impl FnOnce() -> String) -> Result<(), EncodeError> {
    match nul_position(text.as_bytes()) {
        Some(offset) => Err(EncodeError::NulInText {
            what: what(),
            offset,
        }),
        None => Ok(()),
    }
}

/// Writes a text field. The caller has checked for NUL with [`check_text`].
pub(crate) fn put_text(out: &mut impl BufMut, text: &[u8]) {
    out.put_slice(text);
    out.put_bytes(0, text_size(text.len()) - text.len());
}

/// Writes a blob field.
pub(crate) fn put_blob(out: &mut impl BufMut, blob: &[u8]) {
    out.put_u64_le(blob.len() as u64);
    out.put_slice(blob);
    out.put_bytes(0, pad8(blob.len()));
}

/// Offset of the first NUL byte in `bytes`, looked for a word at a time: text fields
/// are read on every row of a result, twice (validated, then converted).
#[inline]
fn nul_position(bytes: &[u8]) -> Option<usize> {
    const LOW: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // The lowest high bit set marks the first zero byte (a borrow can only mark
        // bytes above one).
        let zero = word.wrapping_sub(LOW) & !word & HIGH;
        if zero != 0 {
            return Some(index * 8 + zero.trailing_zeros() as usize / 8);
        }
    }
    let at = tail.iter().position(|&b| b == 0)?;
    Some(words.len() * 8 + at)
}

/// A bounds-checked cursor over a body. Every read either succeeds or returns a
/// [`DecodeError`]; nothing panics and nothing allocates.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Current offset from the start of the body.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let rest = self.rest();
        match rest.get(..n) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(DecodeError::Truncated {
                what,
                needed: n,
                available: rest.len(),
            }),
        }
    }

    /// Looks at the next word without consuming it.
    #[inline]
    pub(crate) fn peek_word(&self) -> Option<[u8; 8]> {
        self.rest().first_chunk::<8>().copied()
    }

    #[inline]
    pub(crate) fn word(&mut self, what: &'static str) -> Result<[u8; 8], DecodeError> {
        let rest = self.rest();
        match rest.first_chunk::<8>() {
            Some(word) => {
                self.pos += 8;
                Ok(*word)
            }
            None => Err(DecodeError::Truncated {
                what,
                needed: 8,
                available: rest.len(),
            }),
        }
    }

    #[inline]
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.word(what).map(u64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.word(what).map(i64::from_le_bytes)
    }

    #[inline]
    pub(crate) fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        self.word(what).map(f64::from_le_bytes)
    }

    /// Two u32 fields sharing one word.
    #[inline]
    pub(crate) fn u32_pair(&mut self, what: &'static str) -> Result<(u32, u32), DecodeError> {
        let [a0, a1, a2, a3, b0, b1, b2, b3] = self.word(what)?;
        Ok((
            u32::from_le_bytes([a0, a1, a2, a3]),
            u32::from_le_bytes([b0, b1, b2, b3]),
        ))
    }

    /// A text field, as the bytes before its NUL. Padding is skipped, never checked.
    #[inline]
    pub(crate) fn text(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let rest = self.rest();
        let len = nul_position(rest).ok_or(DecodeError::UnterminatedText { what })?;
        let size = text_size(len);
        if size > rest.len() {
            return Err(DecodeError::Truncated {
                what,
                needed: size,
                available: rest.len(),
            });
        }
        self.pos += size;
        Ok(rest.get(..len).unwrap_or(&[]))
    }

    /// A text field that must be UTF-8 (names, messages, addresses).
    pub(crate) fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let bytes = self.text(what)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { what })
    }

    /// A blob field's bytes, padding skipped.
    #[inline]
    pub(crate) fn blob(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u64(what)?;
        let available = self.remaining();
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l.checked_add(pad8(l)).is_some_and(|s| s <= available))
            .ok_or(DecodeError::Truncated {
                what,
                needed: usize::try_from(len).unwrap_or(usize::MAX),
                available,
            })?;
        let bytes = self.take(len, what)?;
        self.pos += pad8(len);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sizes_follow_the_nul_and_padding_rule() {
        assert_eq!(text_size(0), 8);
        assert_eq!(text_size(7), 8);
        assert_eq!(text_size(8), 16);
        assert_eq!(blob_size(0), 8);
        assert_eq!(blob_size(5), 16);
        assert_eq!(blob_size(8), 16);
    }

    #[test]
    fn text_padding_is_skipped_not_checked() {
        let body = b"hi\0\xde\xad\xbe\xef\x01next\0\0\0\0";
        let mut r = Reader::new(body);
        assert_eq!(r.text("t").unwrap(), b"hi");
        assert_eq!(r.text("t").unwrap(), b"next");
        assert!(r.is_empty());
    }

    #[test]
    fn hostile_blob_lengths_are_truncation_errors() {
        for len in [u64::MAX, u64::MAX - 7, 1 << 40, 9] {
            let mut body = len.to_le_bytes().to_vec();
            body.extend_from_slice(&[0; 8]);
            let err = Reader::new(&body).blob("blob").unwrap_err();
            assert!(
                matches!(err, DecodeError::Truncated { .. }),
                "{len}: {err:?}"
            );
        }
    }

    #[test]
    fn the_first_nul_is_found_wherever_it_is() {
        // Every length up to three words and a tail, every NUL position, with bytes
        // around it that a word-at-a-time search could take for zero (0x01, 0x80, 0xff).
        for len in 0..28 {
            for filler in [0x01u8, 0x80, 0xff, b'a'] {
                let mut bytes = vec![filler; len];
                assert_eq!(nul_position(&bytes), None, "len {len} filler {filler}");
                for at in 0..len {
                    bytes.fill(filler);
                    bytes[at] = 0;
                    // A second NUL after the first must not be the one reported.
                    if let Some(later) = bytes.get_mut(at + 3) {
                        *later = 0;
                    }
                    assert_eq!(nul_position(&bytes), Some(at), "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn unterminated_and_short_text_are_errors() {
        assert!(matches!(
            Reader::new(b"abcdefgh").text("t"),
            Err(DecodeError::UnterminatedText { .. })
        ));
        assert!(matches!(
            Reader::new(b"abc\0").text("t"),
            Err(DecodeError::Truncated { .. })
        ));
    }
}

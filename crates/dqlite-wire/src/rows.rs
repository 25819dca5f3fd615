//! ROWS frames: column names, rows with per-row type headers, and the end marker.
//!
//! A frame is validated once when it is decoded (structure, type codes, bounds); after
//! that, iterating its rows and values borrows from the frame's buffer and cannot fail.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::offsets::Offsets;
use crate::primitive::{Reader, check_text, put_text};
use crate::tuple::read_value;
use crate::value::{Value, ValueRef, ValueType};

/// Marker ending the last frame of a result.
pub const DONE_MARKER: [u8; 8] = [0xff; 8];
/// Marker ending a frame that another frame follows.
pub const PART_MARKER: [u8; 8] = [0xee; 8];

/// How a ROWS frame ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowsEnd {
    /// The result is complete.
    Done,
    /// Another ROWS frame (or a FAILURE) follows.
    Part,
}

/// Bytes of the type header of a row with `columns` columns: 4 bits per column, padded
/// to whole words.
#[inline]
fn row_header_len(columns: usize) -> usize {
    columns.div_ceil(16) * 8
}

/// The type code of column `index` in a row header (low nibble first).
#[inline]
fn nibble(header: &[u8], index: usize) -> u8 {
    let byte = header.get(index / 2).copied().unwrap_or(0);
    if index & 1 == 0 {
        byte & 0x0f
    } else {
        byte >> 4
    }
}

/// Reads past one row of `columns` values (its type header, then the values), checking
/// each type code and that every value is whole.
#[inline]
pub(crate) fn skip_row(r: &mut Reader<'_>, columns: usize) -> Result<(), DecodeError> {
    let header = r.take(row_header_len(columns), "row header")?;
    for index in 0..columns {
        read_value(r, ValueType::from_code(nibble(header, index))?)?;
    }
    Ok(())
}

/// Offset of the first column name in a body (after the column count).
const NAMES_START: usize = 8;

/// One decoded ROWS frame. Cheap to clone (the body is reference counted).
///
/// Decoding a frame of a few columns and rows allocates nothing: where its names and
/// rows are is kept inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsFrame {
    body: Bytes,
    columns: usize,
    /// The end of each column name (the offset of its NUL), then the offset of each
    /// row's header, then the offset of the end marker.
    offsets: Offsets,
    end: RowsEnd,
}

impl RowsFrame {
    /// Decodes and validates a ROWS body.
    pub fn decode(body: Bytes) -> Result<RowsFrame, DecodeError> {
        let mut r = Reader::new(&body);
        let columns = r.u64("column count")?;
        // Each name takes at least one word, and the marker one more.
        let max_columns = r.remaining().saturating_sub(8) / 8;
        let columns = usize::try_from(columns)
            .ok()
            .filter(|&c| c <= max_columns)
            .ok_or(DecodeError::ImpossibleCount {
                what: "column",
                count: columns,
                available: r.remaining(),
            })?;
        let mut offsets = Offsets::new();
        for _ in 0..columns {
            let start = r.position();
            let name = r.str("column name")?;
            offsets.push(start + name.len());
        }
        let end = loop {
            let word = r
                .peek_word()
                .ok_or(DecodeError::MalformedRows("missing end marker"))?;
            if word == DONE_MARKER || word == PART_MARKER {
                offsets.push(r.position());
                r.word("end marker")?;
                break if word == DONE_MARKER {
                    RowsEnd::Done
                } else {
                    RowsEnd::Part
                };
            }
            if columns == 0 {
                return Err(DecodeError::MalformedRows(
                    "a zero-column result holds something other than an end marker",
                ));
            }
            if word[0] == 0xff || word[0] == 0xee {
                return Err(DecodeError::MalformedRows("corrupt end marker"));
            }
            offsets.push(r.position());
            skip_row(&mut r, columns)?;
        };
        // Anything after the marker is ignored: later revisions only append fields.
        Ok(RowsFrame {
            body,
            columns,
            offsets,
            end,
        })
    }

    /// Encodes a frame from names and rows (for tests, fake servers and fuzzing).
    /// Rows must have one value per column.
    pub fn build(
        columns: &[&str],
        rows: &[Vec<Value>],
        end: RowsEnd,
    ) -> Result<RowsFrame, EncodeError> {
        let mut out = BytesMut::new();
        out.put_u64_le(columns.len() as u64);
        for (i, name) in columns.iter().enumerate() {
            check_text(name, || format!("column name {}", i + 1))?;
            put_text(&mut out, name.as_bytes());
        }
        let header_len = row_header_len(columns.len());
        for row in rows {
            if row.len() != columns.len() {
                return Err(EncodeError::NeverSend(
                    "a row whose value count differs from the column count",
                ));
            }
            let mut header = vec![0u8; header_len];
            for (index, value) in row.iter().enumerate() {
                if let Some(byte) = header.get_mut(index / 2) {
                    let code = value.value_type().code();
                    *byte |= if index & 1 == 0 { code } else { code << 4 };
                }
            }
            out.put_slice(&header);
            crate::tuple::check_params(row, 1, false)?;
            for value in row {
                // A row value is encoded like a parameter value.
                crate::tuple::put_value(&mut out, value);
            }
        }
        out.put_slice(match end {
            RowsEnd::Done => &DONE_MARKER,
            RowsEnd::Part => &PART_MARKER,
        });
        RowsFrame::decode(out.freeze()).map_err(|_| EncodeError::NeverSend("an undecodable frame"))
    }

    /// The encoded body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Number of columns.
    pub fn column_count(&self) -> usize {
        self.columns
    }

    /// Column names, in order. Names may repeat.
    pub fn column_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.columns).map(|index| self.column_name(index).unwrap_or(""))
    }

    /// Name of column `index`.
    pub fn column_name(&self, index: usize) -> Option<&str> {
        if index >= self.columns {
            return None;
        }
        let end = self.offsets.get(index)?;
        // Names are contiguous text fields: each starts at the word after the NUL of
        // the one before.
        let start = match index.checked_sub(1) {
            Some(before) => self
                .offsets
                .get(before)?
                .checked_add(1)?
                .next_multiple_of(8),
            None => NAMES_START,
        };
        std::str::from_utf8(self.body.get(start..end)?).ok()
    }

    /// Where row `index` starts and ends (its header's offset, and the next row's or the
    /// end marker's).
    #[inline]
    fn row_bounds(&self, index: usize) -> Option<(usize, usize)> {
        self.offsets.pair(self.columns.checked_add(index)?)
    }

    /// Number of rows in this frame (0 is normal for the last frame).
    pub fn row_count(&self) -> usize {
        self.offsets.len().saturating_sub(self.columns + 1)
    }

    /// How the frame ends.
    pub fn end(&self) -> RowsEnd {
        self.end
    }

    /// True when this is the last frame of the result.
    pub fn is_done(&self) -> bool {
        self.end == RowsEnd::Done
    }

    /// The rows of this frame.
    pub fn rows(&self) -> RowIter<'_> {
        self.rows_from(0)
    }

    /// The rows of this frame from row `first` on (0-based), found at once: the frame
    /// knows where each row starts, so skipping rows costs nothing.
    pub fn rows_from(&self, first: usize) -> RowIter<'_> {
        let end = self.row_count();
        RowIter {
            frame: self,
            index: first.min(end),
            end,
        }
    }

    /// Row `index` (0-based), found at once.
    pub fn row(&self, index: usize) -> Option<RowRef<'_>> {
        self.rows_from(index).next()
    }
}

/// Iterator over the rows of a [`RowsFrame`]. Every row is found at once, so `nth` and
/// `skip` cost nothing per skipped row.
#[derive(Debug, Clone)]
pub struct RowIter<'a> {
    frame: &'a RowsFrame,
    /// The next row to return.
    index: usize,
    /// One past the last row to return.
    end: usize,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = RowRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<RowRef<'a>> {
        if self.index >= self.end {
            return None;
        }
        let (start, end) = self.frame.row_bounds(self.index)?;
        self.index += 1;
        let columns = self.frame.column_count();
        let bytes = self.frame.body.get(start..end)?;
        let (header, values) = bytes.split_at_checked(row_header_len(columns))?;
        Some(RowRef {
            header,
            values,
            columns,
        })
    }

    #[inline]
    fn nth(&mut self, n: usize) -> Option<RowRef<'a>> {
        self.index = self.index.saturating_add(n).min(self.end);
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.saturating_sub(self.index);
        (left, Some(left))
    }
}

impl ExactSizeIterator for RowIter<'_> {}

/// A frame of rows and a position in it: what a reader that hands out rows a few at a
/// time keeps between calls (a `fetchmany`, an iterator over a result). Each step costs
/// the same wherever the position is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCursor {
    frame: RowsFrame,
    position: usize,
}

impl RowCursor {
    /// A cursor before the first row of `frame`.
    pub fn new(frame: RowsFrame) -> RowCursor {
        RowCursor { frame, position: 0 }
    }

    /// The frame.
    pub fn frame(&self) -> &RowsFrame {
        &self.frame
    }

    /// Takes the frame back.
    pub fn into_frame(self) -> RowsFrame {
        self.frame
    }

    /// Rows already taken.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Rows left.
    pub fn remaining(&self) -> usize {
        self.frame.row_count().saturating_sub(self.position)
    }

    /// The next row, or `None` once every row was taken.
    pub fn next_row(&mut self) -> Option<RowRef<'_>> {
        let row = self.frame.row(self.position)?;
        self.position += 1;
        Some(row)
    }

    /// The next `n` rows (fewer at the end of the frame), taken at once.
    pub fn take_rows(&mut self, n: usize) -> RowIter<'_> {
        let first = self.position;
        self.position = first.saturating_add(n).min(self.frame.row_count());
        RowIter {
            frame: &self.frame,
            index: first,
            end: self.position,
        }
    }
}

/// One row, borrowed from its frame.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    header: &'a [u8],
    values: &'a [u8],
    columns: usize,
}

impl<'a> RowRef<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.columns
    }

    /// True for a row of a zero-column result (never produced by servers).
    pub fn is_empty(&self) -> bool {
        self.columns == 0
    }

    /// The type of column `index` in this row (types are per row, not per column).
    pub fn value_type(&self, index: usize) -> Option<ValueType> {
        if index >= self.columns {
            return None;
        }
        ValueType::from_code(nibble(self.header, index)).ok()
    }

    /// The values, in column order.
    #[inline]
    pub fn values(&self) -> ValueIter<'a> {
        ValueIter {
            header: self.header,
            reader: Reader::new(self.values),
            index: 0,
            columns: self.columns,
        }
    }

    /// The value of column `index`.
    pub fn get(&self, index: usize) -> Option<ValueRef<'a>> {
        self.values().nth(index)
    }
}

/// Iterator over the values of a [`RowRef`].
#[derive(Debug, Clone)]
pub struct ValueIter<'a> {
    header: &'a [u8],
    reader: Reader<'a>,
    index: usize,
    columns: usize,
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = ValueRef<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.index >= self.columns {
            return None;
        }
        let ty = ValueType::from_code(nibble(self.header, self.index)).ok()?;
        self.index += 1;
        // The frame was validated when decoded, so this cannot fail.
        read_value(&mut self.reader, ty).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.columns.saturating_sub(self.index);
        (left, Some(left))
    }
}

impl ExactSizeIterator for ValueIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_read_back() {
        let rows = vec![
            vec![Value::Integer(7), Value::from("x"), Value::Null],
            vec![
                Value::Float(0.5),
                Value::Blob(vec![1, 2, 3]),
                Value::Boolean(true),
            ],
        ];
        let frame = RowsFrame::build(&["a", "b", "c"], &rows, RowsEnd::Part).unwrap();
        assert_eq!(frame.column_names().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(frame.row_count(), 2);
        assert_eq!(frame.end(), RowsEnd::Part);
        let back: Vec<Vec<Value>> = frame
            .rows()
            .map(|r| r.values().map(|v| v.to_owned().unwrap()).collect())
            .collect();
        assert_eq!(back, rows);
        assert_eq!(
            frame.rows().nth(1).unwrap().get(1),
            Some(ValueRef::Blob(&[1, 2, 3]))
        );
    }

    #[test]
    fn zero_columns_is_just_a_marker() {
        let mut body = vec![0u8; 8];
        body.extend_from_slice(&DONE_MARKER);
        let frame = RowsFrame::decode(Bytes::from(body)).unwrap();
        assert_eq!(frame.column_count(), 0);
        assert_eq!(frame.row_count(), 0);
        assert!(frame.is_done());
    }

    #[test]
    fn hostile_frames_are_errors() {
        // Column count far beyond the body.
        let mut body = u64::MAX.to_le_bytes().to_vec();
        body.extend_from_slice(&DONE_MARKER);
        assert!(RowsFrame::decode(Bytes::from(body)).is_err());
        // One column, a row with type code 7, then DONE.
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"a\0\0\0\0\0\0\0");
        body.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&DONE_MARKER);
        assert_eq!(
            RowsFrame::decode(Bytes::from(body)),
            Err(DecodeError::UnknownValueType(7))
        );
        // No marker at all.
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"a\0\0\0\0\0\0\0");
        body.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&[0; 8]);
        assert!(RowsFrame::decode(Bytes::from(body)).is_err());
        // A marker whose first byte is right but the rest is not.
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"a\0\0\0\0\0\0\0");
        body.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            RowsFrame::decode(Bytes::from(body)),
            Err(DecodeError::MalformedRows("corrupt end marker"))
        );
    }

    #[test]
    fn rows_are_found_at_once_from_any_position() {
        let rows: Vec<Vec<Value>> = (0..10).map(|i| vec![Value::Integer(i)]).collect();
        let frame = RowsFrame::build(&["n"], &rows, RowsEnd::Done).unwrap();
        let first = |r: RowRef<'_>| r.get(0).unwrap().to_owned().unwrap();
        assert_eq!(frame.row(7).map(first), Some(Value::Integer(7)));
        assert!(frame.row(10).is_none());
        assert_eq!(
            frame.rows_from(8).map(first).collect::<Vec<_>>(),
            rows[8..].concat()
        );
        assert_eq!(frame.rows_from(99).len(), 0);
        let mut iter = frame.rows();
        assert_eq!(iter.nth(3).map(first), Some(Value::Integer(3)));
        assert_eq!(iter.len(), 6);
        assert_eq!(iter.nth(usize::MAX).map(first), None);
        assert_eq!(
            frame.rows().skip(9).map(first).collect::<Vec<_>>(),
            rows[9..].concat()
        );

        let mut cursor = RowCursor::new(frame);
        assert_eq!(cursor.next_row().map(first), Some(Value::Integer(0)));
        let taken: Vec<Value> = cursor.take_rows(3).map(first).collect();
        assert_eq!(taken, rows[1..4].concat());
        assert_eq!((cursor.position(), cursor.remaining()), (4, 6));
        assert_eq!(cursor.take_rows(100).len(), 6);
        assert!(cursor.next_row().is_none());
        assert_eq!(cursor.take_rows(1).len(), 0);
        assert_eq!(cursor.remaining(), 0);
    }
}

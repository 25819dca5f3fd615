//! Query results: a stream read frame by frame, and rows.

use std::ops::DerefMut;

use dqlite_wire::{Response, RowCursor, RowsFrame, Value, ValueRef};

use crate::conn::{Connection, Deadline, ResultId};
use crate::error::{Error, Result};
use crate::types::FromValue;

/// One row, with owned values in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Builds a row from a borrowed wire row. Fails (without harming the connection) on
    /// text that is not UTF-8.
    pub(crate) fn from_wire(row: dqlite_wire::RowRef<'_>) -> Result<Row> {
        let mut values = Vec::with_capacity(row.len());
        for (index, value) in row.values().enumerate() {
            values.push(owned(value, index)?);
        }
        Ok(Row { values })
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value of column `index`, as received.
    pub fn value(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The value of column `index` (from 0) read as `T` (see [`FromValue`]): an error of
    /// kind [`InvalidData`](crate::ErrorKind::InvalidData) when it is of another type or
    /// out of range, [`InvalidInput`](crate::ErrorKind::InvalidInput) when the row has no
    /// such column. NULL reads as `None` into an `Option`.
    ///
    /// ```
    /// # use dqlite_client::{Row, Value};
    /// # fn demo(row: &Row) -> dqlite_client::Result<()> {
    /// let id: i64 = row.get(0)?;
    /// let name = row.get::<String>(1)?;
    /// let note: Option<String> = row.get(2)?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T> {
        let value = self.values.get(index).ok_or_else(|| {
            Error::InvalidInput(format!(
                "no column {index}: the row has {} (counted from 0)",
                self.values.len()
            ))
        })?;
        T::from_value(value).map_err(|e| match e {
            Error::InvalidData(why) => Error::InvalidData(format!("column {index}: {why}")),
            other => other,
        })
    }

    /// Like [`get`](Self::get), with `None` for a missing column, a NULL or a value that
    /// does not read as `T`: for lenient reads (`row.try_get::<i64>(0).unwrap_or(0)`).
    pub fn try_get<T: FromValue>(&self, index: usize) -> Option<T> {
        self.get(index).ok()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row without values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Takes the values out.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

fn owned(value: ValueRef<'_>, index: usize) -> Result<Value> {
    value.to_owned().map_err(|_| {
        Error::InvalidData(format!(
            "the text in column {} is not valid UTF-8; read it as a blob (CAST(x AS BLOB))",
            index + 1
        ))
    })
}

/// A whole result, collected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// Column names, in order (names may repeat).
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
}

/// A result being read. Frames are read from the connection as rows are consumed, so
/// memory holds one frame at a time, whatever the size of the result.
///
/// `C` is how the connection is held: `&mut Connection`, a pooled connection, or an owned
/// one. Dropping `Rows` before the end is safe: the connection drains the rest (INTERRUPT,
/// then frames until EMPTY) before its next request. [`detach`](Self::detach) separates
/// the result from its connection.
#[derive(Debug)]
pub struct Rows<C: DerefMut<Target = Connection>> {
    conn: C,
    stream: RowStream,
}

impl<C: DerefMut<Target = Connection>> Rows<C> {
    /// Reads the first frame of a result whose request was just sent, by the deadline of
    /// the call that sent it; `write` for a statement that changes data (`... RETURNING`).
    pub(crate) async fn start(mut conn: C, write: bool, deadline: Deadline) -> Result<Rows<C>> {
        let stream = RowStream::start(&mut conn, write, deadline).await?;
        Ok(Rows { conn, stream })
    }

    /// A result with no columns and no rows (a statement that returns nothing).
    pub(crate) fn empty(conn: C) -> Rows<C> {
        Rows {
            conn,
            stream: RowStream::finished(),
        }
    }

    /// Column names, in order.
    pub fn columns(&self) -> &[String] {
        self.stream.columns()
    }

    /// True once every frame of the result was read.
    pub fn is_done(&self) -> bool {
        self.stream.is_done()
    }

    /// The next row, reading the next frame from the network when needed; `None` at the
    /// end of the result. Each call is bounded by one request timeout.
    pub async fn next(&mut self) -> Result<Option<Row>> {
        self.stream.next(&mut self.conn).await
    }

    /// The next whole frame of rows, for callers that convert values straight from the
    /// frame's buffer. `None` at the end of the result. Each call is bounded by one
    /// request timeout.
    ///
    /// Fails if rows of the current frame were already taken with [`next`](Self::next).
    pub async fn next_frame(&mut self) -> Result<Option<RowsFrame>> {
        self.stream.next_frame(&mut self.conn).await
    }

    /// Reads every remaining row, within one request timeout for the whole of it.
    pub async fn collect_all(self) -> Result<QueryResult> {
        let deadline = self.conn.deadline();
        self.collect_by(deadline).await
    }

    /// [`collect_all`](Self::collect_all) by `deadline`.
    pub(crate) async fn collect_by(mut self, deadline: Deadline) -> Result<QueryResult> {
        let mut rows = Vec::new();
        loop {
            while let Some(row) = self.stream.buffered()? {
                rows.push(row);
            }
            if self.stream.done {
                break;
            }
            self.stream.check_owner(&self.conn)?;
            let frame = self.stream.read_frame(&mut self.conn, deadline).await?;
            self.stream.accept(&mut self.conn, frame)?;
        }
        Ok(QueryResult {
            columns: std::mem::take(&mut self.stream.columns),
            rows,
        })
    }

    /// Turns the result into a [`futures_core::Stream`] of rows.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Row>> {
        futures_util::stream::unfold(self, |mut rows| async move {
            match rows.next().await {
                Ok(Some(row)) => Some((Ok(row), rows)),
                Ok(None) => None,
                Err(e) => {
                    // One error ends the stream.
                    rows.stream.end();
                    Some((Err(e), rows))
                }
            }
        })
    }

    /// The result without its connection: read the rest with
    /// [`RowStream::next_frame`]`(&mut conn)`, lending the connection per call, so that
    /// the caller can keep the result between calls while it owns the connection (the
    /// Python driver does). The connection stays in the result until its end.
    pub fn detach(mut self) -> RowStream {
        std::mem::replace(&mut self.stream, RowStream::finished())
    }
}

impl<C: DerefMut<Target = Connection>> Drop for Rows<C> {
    fn drop(&mut self) {
        if !self.stream.done {
            self.conn.abandon_query();
        }
    }
}

/// A result being read, apart from its connection ([`Rows::detach`]): each read borrows
/// the connection the result came from.
///
/// A read with another connection, or after that connection started another request,
/// fails with [`InvalidInput`](crate::ErrorKind::InvalidInput) and leaves the connection
/// alone. Dropped before its end, a `RowStream` leaves the rest of the result to the
/// connection, which drains it (INTERRUPT, then frames until EMPTY) before its next
/// request.
#[derive(Debug)]
pub struct RowStream {
    columns: Vec<String>,
    /// The current frame and the rows of it already returned.
    frame: Option<RowCursor>,
    done: bool,
    /// The statement writes (`... RETURNING`): a failure once it was sent leaves its
    /// outcome unknown.
    write: bool,
    /// The connection and the result of it this stream reads.
    owner: ResultId,
}

impl RowStream {
    /// Reads the first frame of a result whose request `conn` just sent.
    async fn start(conn: &mut Connection, write: bool, deadline: Deadline) -> Result<RowStream> {
        let mut stream = RowStream {
            columns: Vec::new(),
            frame: None,
            done: false,
            write,
            owner: conn.result_id(),
        };
        let frame = stream.read_frame(conn, deadline).await?;
        stream.columns = frame.column_names().map(str::to_owned).collect();
        stream.accept(conn, frame)?;
        Ok(stream)
    }

    /// A stream at its end.
    fn finished() -> RowStream {
        RowStream {
            columns: Vec::new(),
            frame: None,
            done: true,
            write: false,
            owner: ResultId::default(),
        }
    }

    /// Column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The column names, moved out of a stream read to its end (no copy); `None` while
    /// frames may follow, whose reading needs them.
    pub fn take_columns(&mut self) -> Option<Vec<String>> {
        self.is_done().then(|| std::mem::take(&mut self.columns))
    }

    /// True once every frame of the result was read.
    pub fn is_done(&self) -> bool {
        self.done && self.frame.is_none()
    }

    /// The next row, reading the next frame from `conn` when needed; `None` at the end.
    /// Each call is bounded by one request timeout.
    pub async fn next(&mut self, conn: &mut Connection) -> Result<Option<Row>> {
        loop {
            if let Some(row) = self.buffered()? {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            self.fetch_frame(conn).await?;
        }
    }

    /// The next whole frame of rows, read from `conn` (see [`Rows::next_frame`]).
    pub async fn next_frame(&mut self, conn: &mut Connection) -> Result<Option<RowsFrame>> {
        if let Some(cursor) = self.frame.take() {
            if cursor.position() == 0 {
                return Ok(Some(cursor.into_frame()));
            }
            if cursor.remaining() > 0 {
                self.frame = Some(cursor);
                return Err(Error::InvalidInput(
                    "next_frame after next: rows of the current frame were already taken".into(),
                ));
            }
        }
        if self.done {
            return Ok(None);
        }
        self.fetch_frame(conn).await?;
        Ok(self.frame.take().map(RowCursor::into_frame))
    }

    /// The next row of the frame at hand, if any (dropping the frame once used up).
    fn buffered(&mut self) -> Result<Option<Row>> {
        if let Some(cursor) = &mut self.frame {
            if let Some(row) = cursor.next_row() {
                return Row::from_wire(row).map(Some);
            }
            self.frame = None;
        }
        Ok(None)
    }

    /// Ends the stream (after an error).
    fn end(&mut self) {
        self.done = true;
        self.frame = None;
    }

    /// Reads the next frame from `conn` and makes it current, within one request
    /// timeout taken now (most rows come from the frame at hand, without a deadline).
    async fn fetch_frame(&mut self, conn: &mut Connection) -> Result<()> {
        self.check_owner(conn)?;
        let deadline = conn.deadline();
        let frame = self.read_frame(conn, deadline).await?;
        self.accept(conn, frame)
    }

    fn check_owner(&self, conn: &Connection) -> Result<()> {
        if conn.result_id() == self.owner {
            Ok(())
        } else {
            Err(Error::InvalidInput(
                "this result belongs to another connection, or its connection has moved on \
                 to another request"
                    .into(),
            ))
        }
    }

    async fn read_frame(&mut self, conn: &mut Connection, deadline: Deadline) -> Result<RowsFrame> {
        match conn.next_query_frame(deadline).await {
            Ok(Response::Rows(frame)) => Ok(frame),
            Ok(other) => {
                Err(conn.protocol_violation(format!("expected ROWS, got {}", other.name())))
            }
            Err(e) => {
                // A FAILURE ends the stream (the connection is in sync again); anything
                // else broke the connection.
                self.done = true;
                if self.write {
                    // The write was sent whole: it may have run.
                    return Err(conn.write_failed(e, true));
                }
                Err(e)
            }
        }
    }

    /// Checks a frame against the result so far and makes it current.
    fn accept(&mut self, conn: &mut Connection, frame: RowsFrame) -> Result<()> {
        if frame.column_count() != self.columns.len() {
            self.done = true;
            return Err(conn.protocol_violation(format!(
                "a continuation frame has {} columns, the result has {}",
                frame.column_count(),
                self.columns.len()
            )));
        }
        if frame.is_done() {
            self.done = true;
            conn.end_query();
        } else if frame.row_count() == 0 {
            // The column names alone fill a page: the server would repeat this frame
            // forever (docs/protocol.md §4.5).
            self.done = true;
            return Err(conn.protocol_violation(
                "an empty PART frame: the server cannot make progress on this result \
                 (too many or too long column names)"
                    .into(),
            ));
        }
        self.frame = Some(RowCursor::new(frame));
        Ok(())
    }
}

//! Pipelined batches: one prepared statement run once per parameter row, with many
//! requests in flight.

use std::time::Duration;

use dqlite_wire::{Request, Value};
use tokio::time::Instant;

use super::deadline::Deadline;
use super::exchange::{InFlight, encode};
use super::statements::{ExecResult, Statement, check_param_count};
use super::{CUT_OFF, Connection, State};
use crate::error::{Error, Result};
use crate::sql::StatementKind;

/// How long a batch runs before it gives its caller a turn (see
/// [`Connection::execute_prepared_many`]).
const TURN_EVERY: Duration = Duration::from_millis(20);

impl Connection {
    /// Runs `sql` (one statement that returns no rows) once per parameter row, with up to
    /// `window` requests in flight on the connection: the answers are read in order while
    /// later rows are being sent, so a batch costs far fewer round trips than a loop of
    /// [`execute`](Self::execute). The statement is prepared once and finalized after.
    ///
    /// The first failure stops the batch and is returned as [`Error::Batch`] with the
    /// index of the row that failed. Rows sent after it were already in flight and may
    /// have run: use a batch inside a transaction (BEGIN ... COMMIT) and roll back on
    /// error, or pass `window` 1 for one-at-a-time semantics.
    ///
    /// Returns the total of rows changed and the last insert id.
    pub async fn execute_many<P: AsRef<[Value]>>(
        &mut self,
        sql: &str,
        rows: impl IntoIterator<Item = P>,
        window: usize,
    ) -> Result<ExecResult> {
        let _span = super::statements::request_span("batch", &self.address, sql, 0);
        let statement = self.prepare(sql).await?;
        // Dropped from here until the FINALIZE below starts (a caller's timeout at one of
        // the batch's turns), the statement is freed before the connection's next request.
        let mut guard = Unfinalized {
            conn: self,
            id: Some(statement.id),
        };
        let outcome = guard
            .conn
            .execute_prepared_many(&statement, rows, window)
            .await;
        guard.id = None;
        let conn = &mut *guard.conn;
        if conn.is_reusable() {
            // The batch's outcome is the answer: its rows ran (or the one named failed),
            // whatever becomes of the FINALIZE, which only frees the statement. A FINALIZE
            // that fails breaks the connection, and the next call says so.
            if let Err(e) = conn.finalize(statement).await {
                tracing::debug!(node = %conn.address, error = %e, "finalize after a batch failed");
            }
        }
        outcome
    }

    /// Like [`execute_many`](Self::execute_many) with a statement prepared beforehand.
    ///
    /// A long batch yields to the runtime every few milliseconds, so that a caller waiting
    /// on it can drop it there: the connection then stays in sync if no request was in
    /// flight (the rows answered so far have run), and is broken otherwise.
    pub async fn execute_prepared_many<P: AsRef<[Value]>>(
        &mut self,
        statement: &Statement,
        rows: impl IntoIterator<Item = P>,
        window: usize,
    ) -> Result<ExecResult> {
        if statement.kind != StatementKind::Exec && statement.kind != StatementKind::Empty {
            return Err(Error::InvalidInput(
                "execute_many takes a statement that returns no rows".into(),
            ));
        }
        let window = window.max(1);
        let mut rows = rows.into_iter().peekable();
        let mut total = ExecResult::default();
        let (mut sent, mut answered) = (0usize, 0usize);
        let mut failure: Option<(usize, Error)> = None;
        // A row the client refused before sending it: reported once the rows sent before
        // it are answered (unless one of them failed first), so that no answer is left
        // unread on the connection.
        let mut refused: Option<(usize, Error)> = None;
        let mut deadline = self.deadline();
        self.recover_by(deadline).await?;
        // Checked once: the batch holds the connection, so this cannot change.
        let owned = self.check_owned(statement).is_ok();
        let mut last_turn = Instant::now();
        // The clock is read once per answer: for the deadline and for the turn.
        let mut now = last_turn;
        loop {
            if sent > 0 && now.saturating_duration_since(last_turn) >= TURN_EVERY {
                // With blocking sockets a batch would otherwise never yield, and a blocking
                // caller could not see Ctrl-C until the last row. Dropped here, the
                // connection is in sync when nothing is in flight, else broken.
                let settled = if sent == answered {
                    None
                } else {
                    Some(std::mem::replace(
                        &mut self.state,
                        State::Broken(CUT_OFF.into()),
                    ))
                };
                tokio::task::yield_now().await;
                if let Some(state) = settled {
                    self.state = state;
                }
                last_turn = Instant::now();
            }
            // Fill the window with one write, once the answers that have already arrived
            // are read: the server answers in bursts, and refilling after each of them
            // would cost one write (and its system call) per row. The window is refilled
            // whenever no whole answer is buffered, never later: the client's writes carry
            // its ACKs, and a server that waits for them (Nagle) would stall for the
            // delayed-ACK timeout.
            self.write_buf.clear();
            let drain_first = sent > answered && self.frame_buffered();
            while !drain_first && failure.is_none() && refused.is_none() && sent - answered < window
            {
                let Some(row) = rows.next() else { break };
                let params = row.as_ref();
                let checked = if owned {
                    check_param_count(statement, params)
                } else {
                    self.check_owned(statement)
                };
                let encoded = checked.and_then(|()| {
                    if params.len() > crate::limits::MAX_PARAMS_ANY_SERVER {
                        return Err(Error::Unsupported(format!(
                            "execute_many takes at most {} parameters per row",
                            crate::limits::MAX_PARAMS_ANY_SERVER
                        )));
                    }
                    encode(
                        &Request::Exec {
                            db_id: 0,
                            stmt_id: statement.id,
                            params: params.into(),
                            schema: 0,
                        },
                        &mut self.write_buf,
                    )
                });
                if let Err(e) = encoded {
                    refused = Some((sent, e));
                    break;
                }
                sent += 1;
            }
            if sent == answered {
                break;
            }
            let cap = self.max_frame_len;
            let in_flight = if sent - answered > 1 {
                InFlight::Pipelined
            } else {
                InFlight::Request
            };
            let answer = self
                .guarded("execute_many", deadline, in_flight, async |conn| {
                    if !conn.write_buf.is_empty() {
                        conn.write_out().await?;
                    }
                    conn.read_frame(cap).await
                })
                .await;
            let frame = answer.map_err(|e| {
                // Everything from the first unanswered row on may or may not have run; a
                // row that failed before it is still the first failure.
                let (row, source) = failure.take().unwrap_or_else(|| {
                    let unknown = Error::OutcomeUnknown {
                        source: Box::new(e),
                    };
                    (answered, unknown)
                });
                Error::Batch {
                    row,
                    source: Box::new(source),
                }
            })?;
            let (header, body) = frame;
            let row = answered;
            answered += 1;
            // Each answer renews the deadline: a batch runs as long as answers keep coming.
            now = Instant::now();
            deadline = Deadline::at(now + self.request_timeout);
            // An answer other than RESULT (a protocol violation: the connection is broken)
            // fails its row like any other error.
            let outcome = match self.decode(&header, body) {
                Ok(response) => self.exec_result(response, statement.dml),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(result) => total.then(result),
                Err(e) => {
                    let e = self.write_failed(e, true);
                    if self.is_broken() {
                        let (row, e) = failure.take().unwrap_or((row, e));
                        return Err(Error::Batch {
                            row,
                            source: Box::new(e),
                        });
                    }
                    // Keep reading the answers of the rows already in flight.
                    failure.get_or_insert((row, e));
                }
            }
            if failure.is_none() && rows.peek().is_none() && sent == answered {
                break;
            }
        }
        match failure.or(refused) {
            Some((row, e)) => Err(Error::Batch {
                row,
                source: Box::new(e),
            }),
            None => Ok(total),
        }
    }
}

/// The statement of a batch that [`Connection::execute_many`] prepared, while the batch
/// runs: dropped with the call, it leaves the statement to be freed before the next
/// request (see [`Connection::finalize_later`]).
struct Unfinalized<'c> {
    conn: &'c mut Connection,
    id: Option<u32>,
}

impl Drop for Unfinalized<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.conn.finalize_later(id);
        }
    }
}

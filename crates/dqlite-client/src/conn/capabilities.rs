//! What the server version allows, probed once per connection on first need.

use dqlite_wire::{Request, Response, Value};

use super::{Connection, Deadline};
use crate::error::{Error, Result, ServerError};
use crate::limits::{MAX_PARAMS, MAX_PARAMS_ANY_SERVER};

/// What the server allows, each `None` until probed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Capabilities {
    /// More than 255 parameters in one request: tuples with a 32-bit count (servers from
    /// 1.12).
    many_parameters: Option<bool>,
    /// Rows of `... RETURNING` through QUERY, with the write replicated (servers from
    /// 1.18.2, which also spread parameters across the statements of one EXEC_SQL).
    returning_rows: Option<bool>,
}

/// One thing a server may or may not allow.
#[derive(Debug, Clone, Copy)]
enum Capability {
    ManyParameters,
    ReturningRows,
}

/// Reads a probe's answer: `Some(allowed)`, or `None` when it says nothing either way.
type Verdict = fn(Result<&Response, &ServerError>) -> Option<bool>;

/// SQLite's SQLITE_RANGE: a parameter index out of range.
const SQLITE_RANGE: u64 = 25;
/// SQLite's SQLITE_IOERR, alone (not an extended code such as 10250 "not leader").
const SQLITE_IOERR: u64 = 10;

impl Capability {
    /// A request that yields no row, changes nothing and takes no lock, and how to read
    /// its answer.
    fn probe(self) -> (Request<'static>, Verdict) {
        match self {
            // 1.11.1 misreads the 32-bit count and fails (1005); later servers answer ROWS.
            Capability::ManyParameters => (
                Request::QuerySql {
                    db_id: 0,
                    sql: "SELECT ?",
                    params: vec![Value::Integer(1)].into(),
                    schema: 1,
                },
                |answer| match answer {
                    Ok(Response::Rows(_)) => Some(true),
                    Ok(_) => None,
                    Err(_) => Some(false),
                },
            ),
            // One parameter too many, on a read: servers before 1.18.2 fail with
            // SQLITE_RANGE, the executor of 1.18.2 and later with a bare SQLITE_IOERR
            // ("leader exec failed"). A read, because 1.18.2 and later queue any EXEC
            // behind another connection's open transaction.
            Capability::ReturningRows => (
                Request::QuerySql {
                    db_id: 0,
                    sql: "SELECT ?",
                    params: vec![Value::Integer(1), Value::Integer(2)].into(),
                    schema: 0,
                },
                |answer| match answer {
                    Err(e) if e.code == SQLITE_IOERR => Some(true),
                    Err(e) if e.code == SQLITE_RANGE => Some(false),
                    // A server that ignores the extra value is newer still.
                    Ok(Response::Rows(_)) => Some(true),
                    Ok(_) | Err(_) => None,
                },
            ),
        }
    }

    fn slot(self, caps: &mut Capabilities) -> &mut Option<bool> {
        match self {
            Capability::ManyParameters => &mut caps.many_parameters,
            Capability::ReturningRows => &mut caps.returning_rows,
        }
    }
}

impl Connection {
    /// Whether the server allows `capability`, probing it the first time.
    async fn allows(&mut self, capability: Capability, deadline: Deadline) -> Result<bool> {
        if let Some(known) = *capability.slot(&mut self.caps) {
            return Ok(known);
        }
        let (probe, verdict) = capability.probe();
        // Probed once per connection: in a future of its own (allocated only then), so that
        // it does not enlarge every request's future.
        let answer = Box::pin(self.request_by(&probe, "capability probe", deadline)).await;
        let allowed = match &answer {
            Ok(response) => verdict(Ok(response)),
            Err(Error::Server(e)) => verdict(Err(e)),
            Err(_) => None,
        };
        let Some(allowed) = allowed else {
            // Nothing learnt (a transport error, "not leader", a strange answer): that
            // answer is the caller's, and the next need probes again.
            return match answer {
                Ok(other) => Err(self.unexpected("an answer to the capability probe", &other)),
                Err(e) => Err(e),
            };
        };
        *capability.slot(&mut self.caps) = Some(allowed);
        Ok(allowed)
    }

    /// Picks the parameter tuple schema for `count` parameters, probing the server once if
    /// more than 255 need the 32-bit count.
    pub(super) async fn params_schema(&mut self, count: usize, deadline: Deadline) -> Result<u8> {
        if count <= MAX_PARAMS_ANY_SERVER {
            return Ok(0);
        }
        if count > MAX_PARAMS {
            return Err(Error::InvalidInput(format!(
                "{count} parameters is too many"
            )));
        }
        if self.allows(Capability::ManyParameters, deadline).await? {
            Ok(1)
        } else {
            Err(Error::Unsupported(format!(
                "{count} parameters: servers before dqlite 1.12 take at most \
                 {MAX_PARAMS_ANY_SERVER}"
            )))
        }
    }

    /// Fails unless the server returns RETURNING rows through QUERY (1.18.2 and later).
    pub(super) async fn require_returning(&mut self, deadline: Deadline) -> Result<()> {
        if self.allows(Capability::ReturningRows, deadline).await? {
            Ok(())
        } else {
            Err(Error::Unsupported(
                "RETURNING needs dqlite 1.18.2 or later: older servers either drop the rows \
                 or do not replicate the write"
                    .into(),
            ))
        }
    }
}

//! What the server version allows, probed once per connection on first need.

use dqlite_wire::{Request, Response, Value};

use super::{Connection, Deadline};
use crate::error::{Error, Result};
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

impl Capability {
    /// A request that succeeds only on servers that allow it (it yields no row and changes
    /// nothing), and the answer it then gets.
    fn probe(self) -> (Request<'static>, fn(&Response) -> bool, &'static str) {
        match self {
            Capability::ManyParameters => (
                Request::QuerySql {
                    db_id: 0,
                    sql: "SELECT ?",
                    params: vec![Value::Integer(1)].into(),
                    schema: 1,
                },
                |r| matches!(r, Response::Rows(_)),
                "ROWS",
            ),
            // Older servers bind every parameter to the first statement and fail with
            // SQLITE_RANGE.
            Capability::ReturningRows => (
                Request::ExecSql {
                    db_id: 0,
                    sql: "SELECT ? WHERE 0; SELECT ? WHERE 0",
                    params: vec![Value::Integer(1), Value::Integer(2)].into(),
                    schema: 0,
                },
                |r| matches!(r, Response::Result { .. }),
                "RESULT",
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
        let (probe, expected, name) = capability.probe();
        // Probed once per connection: in a future of its own (allocated only then), so that
        // it does not enlarge every request's future.
        let answer = Box::pin(self.request_by(&probe, "capability probe", deadline)).await;
        let allowed = match answer {
            Ok(answer) if expected(&answer) => true,
            Ok(other) => return Err(self.unexpected(name, &other)),
            Err(Error::Server(_)) => false,
            Err(e) => return Err(e),
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

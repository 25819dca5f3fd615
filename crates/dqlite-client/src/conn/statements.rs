//! The statement API: one statement (EXEC or QUERY by its kind), scripts, prepared
//! statements.

use std::ops::DerefMut;

use dqlite_wire::{Request, Response, Value};

use super::{Connection, Deadline};
use crate::error::{Error, Result};
use crate::rows::{QueryResult, Rows};
use crate::sql::{self, StatementKind, TransactionEffect};

/// What a statement without rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// SQLite's last inserted rowid on this connection (connection-wide: it keeps its value
    /// across statements that insert nothing).
    pub last_insert_id: i64,
    /// Rows changed by the statement. 0 for statements that are not INSERT, UPDATE,
    /// DELETE or REPLACE (the server would report a stale count for them).
    pub rows_affected: u64,
}

impl ExecResult {
    /// Folds a later statement's outcome into a running total (scripts, batches): counts
    /// add up (saturating on hostile answers), the last insert id is the later one.
    pub(super) fn then(&mut self, later: ExecResult) {
        self.rows_affected = self.rows_affected.saturating_add(later.rows_affected);
        self.last_insert_id = later.last_insert_id;
    }
}

/// A prepared statement, valid on the connection that prepared it until finalized or until
/// that connection breaks.
///
/// The connection keeps a registry of live ids and refuses a statement it does not hold:
/// sending a finalized or stale id can crash a dqlite node (docs/protocol.md §10.1).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Statement {
    pub(super) id: u32,
    conn_serial: u64,
    param_count: u64,
    pub(super) kind: StatementKind,
    pub(super) dml: bool,
    effect: TransactionEffect,
}

impl Statement {
    /// The number of parameters the statement takes.
    pub fn param_count(&self) -> u64 {
        self.param_count
    }

    /// How the statement is run (query or exec), decided from its text.
    pub fn kind(&self) -> StatementKind {
        self.kind
    }
}

/// The text of one statement with what the client decides from it (how it is sent, whether
/// its change count means something), worked out once: for a caller that runs the same
/// text many times ([`Connection::execute_classified`], [`Connection::query_classified`]).
/// Only made from the text itself, so its kind is the one [`sql::classify`] gives.
#[derive(Debug, Clone)]
pub struct ClassifiedSql {
    text: Box<str>,
    /// The statement trimmed as [`single_statement`] does; `None` when the text holds no
    /// statement or several (its error is made when it is run).
    single: Option<Box<str>>,
    kind: StatementKind,
    dml: bool,
    effect: TransactionEffect,
}

impl ClassifiedSql {
    /// Classifies `text`.
    pub fn new(text: &str) -> ClassifiedSql {
        ClassifiedSql {
            text: text.into(),
            single: single_statement(text).ok().map(Box::from),
            kind: sql::classify(text),
            dml: sql::is_dml(text),
            effect: sql::transaction_effect(text),
        }
    }

    /// The text, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How the statement is sent ([`sql::classify`]).
    pub fn kind(&self) -> StatementKind {
        self.kind
    }

    /// True for INSERT, UPDATE, DELETE and REPLACE ([`sql::is_dml`]).
    pub fn is_dml(&self) -> bool {
        self.dml
    }

    /// The one statement, trimmed; the error of [`single_statement`] otherwise.
    fn single(&self) -> Result<&str> {
        match &self.single {
            Some(text) => Ok(text),
            None => single_statement(&self.text),
        }
    }
}

impl Connection {
    /// Runs one statement that returns no rows (INSERT, UPDATE, DDL, BEGIN...). A write
    /// that returns rows (`... RETURNING`) is refused: run it with [`query`](Self::query).
    ///
    /// Parameters bind positionally to `?`, `?NNN`, `:name`, `@name` and `$name`
    /// placeholders in order of first appearance. Text with several statements is refused:
    /// use [`execute_script`](Self::execute_script). A failure after the request was sent
    /// is reported as [`Error::OutcomeUnknown`]: the statement may have been applied.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        let text = single_statement(sql)?;
        tracing::debug!(node = %self.address, sql = text, params = params.len(), "execute");
        let _span = request_span("execute", &self.address, text, params.len());
        let deadline = self.deadline();
        self.exec(Source::Text(text), params, deadline).await
    }

    /// [`execute`](Self::execute) of a statement classified beforehand.
    pub async fn execute_classified(
        &mut self,
        sql: &ClassifiedSql,
        params: &[Value],
    ) -> Result<ExecResult> {
        let text = sql.single()?;
        tracing::debug!(node = %self.address, sql = text, params = params.len(), "execute");
        let _span = request_span("execute", &self.address, text, params.len());
        let deadline = self.deadline();
        self.exec(Source::Classified(text, sql), params, deadline)
            .await
    }

    /// Runs every statement of a script in order, each in its own autocommit unless the
    /// script opens a transaction. Statements that return rows run and their rows are
    /// discarded (a write with RETURNING runs as [`query`](Self::query) runs it, on the
    /// servers that allow it). Returns the sum of rows changed and the last insert id. A
    /// failure stops the script; statements before it stay applied.
    pub async fn execute_script(&mut self, script: &str) -> Result<ExecResult> {
        let mut total = ExecResult::default();
        for statement in sql::split_statements(script) {
            if matches!(
                sql::classify(statement),
                StatementKind::Query | StatementKind::WriteReturning
            ) {
                self.query_all(statement, &[]).await?;
                continue;
            }
            total.then(self.execute(statement, &[]).await?);
        }
        Ok(total)
    }

    /// Runs a statement and streams its rows frame by frame; memory is bounded by one
    /// frame. A statement that returns no rows is run as EXEC and yields an empty result
    /// (writes are never sent through QUERY, which corrupts 1.11 leaders).
    ///
    /// Dropping the returned [`Rows`] early is safe: the rest is drained before the next
    /// request.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<&mut Connection>> {
        Connection::query_owned(self, sql, params).await
    }

    /// Like [`query`](Self::query), with the connection held through `conn`: an owned
    /// guard (`tokio::sync::OwnedMutexGuard`), a box or a pooled connection, so that the
    /// returned [`Rows`] can be kept without borrowing a local (the Python driver keeps a
    /// result open between calls this way).
    pub async fn query_owned<C>(conn: C, sql: &str, params: &[Value]) -> Result<Rows<C>>
    where
        C: DerefMut<Target = Connection>,
    {
        let text = single_statement(sql)?;
        tracing::debug!(node = %conn.address, sql = text, params = params.len(), "query");
        let _span = request_span("query", &conn.address, text, params.len());
        let deadline = conn.deadline();
        Connection::rows(conn, Source::Text(text), params, deadline).await
    }

    /// [`query`](Self::query) of a statement classified beforehand.
    pub async fn query_classified(
        &mut self,
        sql: &ClassifiedSql,
        params: &[Value],
    ) -> Result<Rows<&mut Connection>> {
        let text = sql.single()?;
        tracing::debug!(node = %self.address, sql = text, params = params.len(), "query");
        let _span = request_span("query", &self.address, text, params.len());
        let deadline = self.deadline();
        Connection::rows(self, Source::Classified(text, sql), params, deadline).await
    }

    /// Runs a query and collects every row. One request timeout bounds the whole call,
    /// every frame of the result included; read a result that may take longer with
    /// [`query`](Self::query), where each [`Rows::next`] is a call of its own.
    pub async fn query_all(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let text = single_statement(sql)?;
        tracing::debug!(node = %self.address, sql = text, params = params.len(), "query");
        let _span = request_span("query", &self.address, text, params.len());
        let deadline = self.deadline();
        Connection::rows(self, Source::Text(text), params, deadline)
            .await?
            .collect_by(deadline)
            .await
    }

    /// Compiles the first statement of `sql` on the server.
    pub async fn prepare(&mut self, sql: &str) -> Result<Statement> {
        let text = single_statement(sql)?;
        refuse(text)?;
        let request = Request::Prepare {
            db_id: 0,
            sql: text,
        };
        match self.request(&request, "prepare").await? {
            Response::Stmt {
                stmt_id,
                param_count,
                ..
            } => {
                self.statements.insert(stmt_id);
                Ok(Statement {
                    id: stmt_id,
                    conn_serial: self.serial,
                    param_count,
                    kind: sql::classify(text),
                    dml: sql::is_dml(text),
                    effect: sql::transaction_effect(text),
                })
            }
            other => Err(self.unexpected("STMT", &other)),
        }
    }

    /// Runs a prepared statement that returns no rows (one with RETURNING is refused: see
    /// [`query_prepared`](Self::query_prepared)). Every parameter must be given: servers
    /// before 1.18.2 keep the previous execution's values for missing ones.
    pub async fn execute_prepared(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<ExecResult> {
        self.check_statement(statement, params)?;
        let deadline = self.deadline();
        self.exec(Source::Prepared(statement), params, deadline)
            .await
    }

    /// Runs a prepared query and streams its rows.
    pub async fn query_prepared(
        &mut self,
        statement: &Statement,
        params: &[Value],
    ) -> Result<Rows<&mut Connection>> {
        self.check_statement(statement, params)?;
        let deadline = self.deadline();
        Connection::rows(self, Source::Prepared(statement), params, deadline).await
    }

    /// Runs a statement that returns no rows (EXEC or EXEC_SQL).
    async fn exec(
        &mut self,
        source: Source<'_>,
        params: &[Value],
        deadline: Deadline,
    ) -> Result<ExecResult> {
        if let Source::Text(text) | Source::Classified(text, _) = source {
            refuse(text)?;
        }
        if source.writes_rows() {
            // EXEC stops such a statement at its first row with its write half done: 1.11
            // and 1.18.1 leaders abort at the next write, later ones keep the write lock.
            return Err(Error::InvalidInput(
                "the statement returns rows (RETURNING): run it with query, not execute".into(),
            ));
        }
        let schema = self.params_schema(params.len(), deadline).await?;
        let request = source.exec_request(params, schema);
        let response = self.request_write(&request, deadline).await;
        let effect = source.effect();
        if effect != TransactionEffect::None {
            self.track_transaction(effect, response.as_ref().err());
        }
        self.exec_result(response?, source.is_dml())
    }

    /// Runs a statement and starts reading its rows (QUERY or QUERY_SQL); a statement
    /// that returns no rows goes as EXEC and yields an empty result.
    async fn rows<C>(
        mut conn: C,
        source: Source<'_>,
        params: &[Value],
        deadline: Deadline,
    ) -> Result<Rows<C>>
    where
        C: DerefMut<Target = Connection>,
    {
        let kind = source.kind();
        if kind == StatementKind::Query
            && let Source::Text(text) | Source::Classified(text, _) = source
        {
            // The others go through exec, which checks.
            refuse(text)?;
        }
        match kind {
            StatementKind::Query => {}
            StatementKind::WriteReturning => conn.require_returning(deadline).await?,
            _ => {
                conn.exec(source, params, deadline).await?;
                return Ok(Rows::empty(conn));
            }
        }
        let schema = conn.params_schema(params.len(), deadline).await?;
        conn.start_query(&source.query_request(params, schema), deadline)
            .await?;
        Rows::start(conn, kind == StatementKind::WriteReturning, deadline).await
    }

    /// Frees a prepared statement on the server.
    pub async fn finalize(&mut self, statement: Statement) -> Result<()> {
        self.check_owned(&statement)?;
        // Forget the id first: whatever happens next, it is never sent again.
        self.statements.remove(&statement.id);
        let request = Request::Finalize {
            db_id: 0,
            stmt_id: statement.id,
        };
        match self.request(&request, "finalize").await? {
            Response::Empty => Ok(()),
            other => Err(self.unexpected("EMPTY", &other)),
        }
    }

    pub(super) fn check_statement(&self, statement: &Statement, params: &[Value]) -> Result<()> {
        self.check_owned(statement)?;
        check_param_count(statement, params)
    }

    /// Checks that `statement` was prepared on this connection and is not finalized.
    pub(super) fn check_owned(&self, statement: &Statement) -> Result<()> {
        if statement.conn_serial != self.serial || !self.statements.contains(&statement.id) {
            return Err(Error::InvalidInput(
                "this prepared statement belongs to another connection or was finalized".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn exec_result(&mut self, response: Response, dml: bool) -> Result<ExecResult> {
        match response {
            Response::Result {
                last_insert_id,
                rows_affected,
            } => Ok(ExecResult {
                last_insert_id: i64::from_ne_bytes(last_insert_id.to_ne_bytes()),
                rows_affected: if dml { rows_affected } else { 0 },
            }),
            other => Err(self.unexpected("RESULT", &other)),
        }
    }
}

/// Checks that `params` (one per placeholder) fit `statement`. None for a statement that
/// takes some is refused too: servers before 1.18.2 would run it with the values of its
/// previous execution.
pub(super) fn check_param_count(statement: &Statement, params: &[Value]) -> Result<()> {
    if params.len() as u64 != statement.param_count {
        return Err(Error::InvalidInput(format!(
            "the statement takes {} parameters, {} were given",
            statement.param_count,
            params.len()
        )));
    }
    Ok(())
}

/// The `request` span of one statement: from the call to its answer (for a query, its
/// first frame of rows), so its duration is the statement's latency as the caller sees it.
/// Its fields: `kind` (`execute`, `query`, `batch`), the node, the SQL text and the number
/// of parameters (0 for a batch), never their values. Nothing is evaluated unless a subscriber wants it.
///
/// With no subscriber anywhere and `log` below debug, nobody can see the span: none is
/// made. (tracing's `log` compatibility would otherwise build and format it for `log` on
/// every request, only for `log` to drop it: some 150 instructions.)
#[inline]
pub(super) fn request_span(
    kind: &'static str,
    node: &crate::Address,
    sql: &str,
    params: usize,
) -> tracing::Span {
    if tracing::log::max_level() < tracing::log::LevelFilter::Debug
        && tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>())
    {
        return tracing::Span::none();
    }
    tracing::debug_span!("request", kind, node = %node, sql, params)
}

/// What a request runs: SQL text, or a statement prepared on this connection.
#[derive(Clone, Copy)]
enum Source<'a> {
    Text(&'a str),
    /// The trimmed statement of a [`ClassifiedSql`], and the statement.
    Classified(&'a str, &'a ClassifiedSql),
    Prepared(&'a Statement),
}

impl<'a> Source<'a> {
    fn kind(self) -> StatementKind {
        match self {
            Source::Text(text) => sql::classify(text),
            Source::Classified(_, classified) => classified.kind,
            Source::Prepared(statement) => statement.kind,
        }
    }

    /// True for a write that returns rows (`... RETURNING`), which must never go as EXEC.
    fn writes_rows(self) -> bool {
        match self {
            // Classified only when the word is there at all: most statements lack it.
            Source::Text(text) => {
                text.as_bytes()
                    .windows(9)
                    .any(|w| w.eq_ignore_ascii_case(b"RETURNING"))
                    && sql::classify(text) == StatementKind::WriteReturning
            }
            Source::Classified(_, classified) => classified.kind == StatementKind::WriteReturning,
            Source::Prepared(statement) => statement.kind == StatementKind::WriteReturning,
        }
    }

    fn is_dml(self) -> bool {
        match self {
            Source::Text(text) => sql::is_dml(text),
            Source::Classified(_, classified) => classified.dml,
            Source::Prepared(statement) => statement.dml,
        }
    }

    fn effect(self) -> TransactionEffect {
        match self {
            Source::Text(text) => sql::transaction_effect(text),
            Source::Classified(_, classified) => classified.effect,
            Source::Prepared(statement) => statement.effect,
        }
    }

    fn exec_request(self, params: &'a [Value], schema: u8) -> Request<'a> {
        match self {
            Source::Text(sql) | Source::Classified(sql, _) => Request::ExecSql {
                db_id: 0,
                sql,
                params: params.into(),
                schema,
            },
            Source::Prepared(statement) => Request::Exec {
                db_id: 0,
                stmt_id: statement.id,
                params: params.into(),
                schema,
            },
        }
    }

    fn query_request(self, params: &'a [Value], schema: u8) -> Request<'a> {
        match self {
            Source::Text(sql) | Source::Classified(sql, _) => Request::QuerySql {
                db_id: 0,
                sql,
                params: params.into(),
                schema,
            },
            Source::Prepared(statement) => Request::Query {
                db_id: 0,
                stmt_id: statement.id,
                params: params.into(),
                schema,
            },
        }
    }
}

/// Refuses, before anything is sent, a statement that breaks dqlite ([`sql::refusal`]).
fn refuse(text: &str) -> Result<()> {
    match sql::refusal(text) {
        Some(reason) => Err(Error::Unsupported(reason.into())),
        None => Ok(()),
    }
}

/// The one statement of `sql`, trimmed of trailing whitespace and comments (so 1.11
/// reports the right change count). Several statements are refused, as stdlib `sqlite3`
/// does; empty text too.
fn single_statement(sql: &str) -> Result<&str> {
    // Without a `;` there is at most one statement, and without `-` or `/` no comment:
    // trimming whitespace is all the tokenizer would do (the common case, kept cheap).
    // SQLite's whitespace only: a Unicode space trimmed here would turn text SQLite
    // rejects into a statement of another kind than the one classified.
    if !sql.bytes().any(|b| matches!(b, b';' | b'-' | b'/')) {
        let text = sql::trim_spaces(sql);
        if !text.is_empty() {
            return Ok(text);
        }
    }
    let parts = sql::split_statements(sql);
    match parts.as_slice() {
        [one] => Ok(sql::trim_tail(one)),
        [] => Err(Error::InvalidInput(
            "the SQL text holds no statement".into(),
        )),
        _ => Err(Error::InvalidInput(
            "the SQL text holds several statements: execute one statement at a time, or \
             use execute_script"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `single_statement` computes without its fast path.
    fn by_tokens(text: &str) -> Option<&str> {
        match sql::split_statements(text).as_slice() {
            [one] => Some(sql::trim_tail(one)),
            _ => None,
        }
    }

    #[test]
    fn a_classified_statement_is_what_the_text_gives_each_time() {
        for text in [
            "SELECT 1",
            "  select 1 \n",
            "INSERT INTO t VALUES (1) RETURNING id",
            "WITH a AS (SELECT 1) DELETE FROM t",
            "PRAGMA user_version = 5",
            "BEGIN",
            "SELECT 1; SELECT 2",
            "-- only a comment",
            "",
        ] {
            let classified = ClassifiedSql::new(text);
            assert_eq!(classified.text(), text);
            assert_eq!(classified.kind(), sql::classify(text), "{text:?}");
            assert_eq!(classified.is_dml(), sql::is_dml(text), "{text:?}");
            assert_eq!(
                classified.single().map_err(|e| e.to_string()),
                single_statement(text).map_err(|e| e.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_fast_path_of_single_statement_agrees_with_the_tokenizer() {
        for text in [
            "SELECT 1",
            "  SELECT 1 \n\t",
            "select\u{a0}1\u{a0}",
            "SELECT 'a b'  ",
            "SELECT \"x\" FROM t WHERE a = ?",
            "INSERT INTO t VALUES (1, 'é')\r\n",
            "SELECT 1;",
            "SELECT 1; SELECT 2",
            "SELECT 1 -- note",
            "SELECT 1 /* note */ ",
            "SELECT 2 - 1",
            "SELECT 4 / 2",
            "SELECT ';'",
            "",
            "   ",
            ";",
            "-- only a comment",
            "\u{a0}INSERT INTO t VALUES (1) RETURNING a",
            "\x0bSELECT 1\u{2003}",
            " \x0bSELECT 1 \x0b",
        ] {
            assert_eq!(single_statement(text).ok(), by_tokens(text), "{text:?}");
            // What is sent is what was classified.
            if let Ok(sent) = single_statement(text) {
                assert_eq!(sql::classify(sent), sql::classify(text), "{text:?}");
            }
        }
    }
}

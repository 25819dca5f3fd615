// The checks behind the `client_session` fuzz target, shared with `tests/fuzz_replay.rs`
// through `include!`, so that the fuzzer and `cargo test` run exactly the same code. (Plain
// comments only: an included file cannot carry inner attributes or inner doc comments.)
//
// The input is a session with a fake node:
//
//   byte 0        control: when its low nibble is 0xf the node never closes after its
//                 bytes (calls then end by their deadline, 10 ms in that mode);
//   bytes 1..=6   the client's calls, one byte each (see `run_op`);
//   the rest      everything the node sends after answering the handshake, LEADER and
//                 OPEN correctly: the answers to the calls, as raw bytes.
//
// The node then closes its side (unless stalling) and reads the client's requests.
//
// `check` panics when:
// * a call does not return (each is bounded far above its request deadlines);
// * a call fails with a protocol, transport or timeout error and the connection does not
//   report itself broken afterwards; or a broken connection serves a call, or heals;
// * the client sends a request that can crash or hang a node (docs/protocol.md §10):
//   one `Request::never_send_reason` names, a statement id after its FINALIZE, bytes that
//   are not a whole request;
// * anything in the client panics.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use dqlite_client::{Address, Config, Connection, Error, ErrorKind, Value};
use dqlite_wire::{Header, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Calls per session.
const OPS: usize = 6;
/// The request deadline when the node closes after its bytes (never reached: reads end at
/// the close), and when it stalls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const STALL_TIMEOUT: Duration = Duration::from_millis(10);
/// A call that has not returned after this long hangs.
const HANG: Duration = Duration::from_secs(20);
/// The client's cap on one response frame: larger declared sizes must be refused before
/// anything is allocated for them (libFuzzer's malloc limit catches a big allocation).
const MAX_FRAME: usize = 1 << 16;

static NEXT_SOCKET: AtomicU64 = AtomicU64::new(0);

/// A runtime and a listening abstract Unix socket, one per thread, reused by every session.
struct Harness {
    rt: tokio::runtime::Runtime,
    listener: tokio::net::UnixListener,
    address: String,
}

impl Harness {
    fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let name = format!(
            "dqlite-client-fuzz-{}-{}",
            std::process::id(),
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        );
        let listener = bind_abstract(&name);
        let listener = {
            let _entered = rt.enter();
            tokio::net::UnixListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"))
        };
        Harness {
            rt,
            listener,
            address: format!("@{name}"),
        }
    }
}

fn bind_abstract(name: &str) -> std::os::unix::net::UnixListener {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let listener =
        std::os::unix::net::UnixListener::bind_addr(&addr).unwrap_or_else(|e| panic!("{e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    listener
}

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
    /// Calls that succeeded on this thread (the replay test checks that valid transcripts
    /// succeed).
    static CALLS_OK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Runs one session.
fn check(data: &[u8]) {
    let control = data.first().copied().unwrap_or(0);
    let stall = control & 0x0f == 0x0f;
    let ops: Vec<u8> = (0..OPS)
        .map(|i| data.get(1 + i).copied().unwrap_or(i as u8))
        .collect();
    let stream = data.get(1 + OPS..).unwrap_or_default();
    HARNESS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let harness = slot.get_or_insert_with(Harness::new);
        let violations = harness.rt.block_on(session(harness, &ops, stream, stall));
        assert!(
            violations.is_empty(),
            "the client sent what a node must never get: {violations:?}"
        );
    });
}

fn frame(response: &Response) -> Vec<u8> {
    let mut out = BytesMut::new();
    response.encode(&mut out).unwrap_or_else(|e| panic!("{e}"));
    out.to_vec()
}

/// Reads one request frame: `None` at a clean end of the stream.
async fn read_request<R: AsyncReadExt + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<(Header, Vec<u8>)>> {
    let mut head = [0u8; 8];
    match reader.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header = Header::decode(&head).map_err(std::io::Error::other)?;
    if header.body_len() > 1 << 20 {
        return Err(std::io::Error::other("a request over 1 MiB"));
    }
    let mut body = vec![0u8; header.body_len()];
    reader.read_exact(&mut body).await?;
    Ok(Some((header, body)))
}

/// The fake node: a correct handshake, LEADER and OPEN, then `stream`; meanwhile it
/// checks every request the client sends. Returns what the client should not have sent.
async fn node(
    listener: &tokio::net::UnixListener,
    address: &str,
    stream: &[u8],
    stall: bool,
) -> Vec<String> {
    let mut violations = Vec::new();
    let Ok((socket, _)) = listener.accept().await else {
        return vec!["accept failed".into()];
    };
    let (mut reader, mut writer) = socket.into_split();
    let mut word = [0u8; 8];
    if reader.read_exact(&mut word).await.is_err() {
        return vec!["no protocol version".into()];
    }
    for expected in ["LEADER", "OPEN"] {
        let Ok(Some((header, body))) = read_request(&mut reader).await else {
            return vec![format!("no {expected} request")];
        };
        let answer = match Request::decode(&header, &body) {
            Ok(Request::Leader) if expected == "LEADER" => Response::Server {
                id: 1,
                address: address.to_owned(),
            },
            Ok(Request::Open { .. }) if expected == "OPEN" => Response::Db { db_id: 0 },
            other => return vec![format!("expected {expected}, got {other:?}")],
        };
        if writer.write_all(&frame(&answer)).await.is_err() {
            return violations;
        }
    }
    let write = async {
        let _ = writer.write_all(stream).await;
        if stall {
            // Keep the socket open until the client goes away.
            std::future::pending::<()>().await;
        }
        let _ = writer.shutdown().await;
        writer
    };
    let read = async {
        // Statement ids finalized since the last PREPARE: none may be used again.
        let mut finalized: HashSet<u32> = HashSet::new();
        loop {
            let (header, body) = match read_request(&mut reader).await {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => {
                    violations.push(format!("not a whole request: {e}"));
                    return;
                }
            };
            let request = match Request::decode(&header, &body) {
                Ok(request) => request,
                Err(e) => {
                    violations.push(format!("undecodable request {header:?}: {e}"));
                    continue;
                }
            };
            if let Some(reason) = request.never_send_reason() {
                violations.push(format!("{}: {reason}", request.name()));
            }
            match request {
                Request::Prepare { .. } | Request::PrepareWithOffset { .. } => finalized.clear(),
                Request::Finalize { stmt_id, .. } if !finalized.insert(stmt_id) => {
                    violations.push(format!("FINALIZE of statement {stmt_id} twice"));
                }
                Request::Exec { stmt_id, .. } | Request::Query { stmt_id, .. }
                    if finalized.contains(&stmt_id) =>
                {
                    violations.push(format!("statement {stmt_id} used after FINALIZE"));
                }
                _ => {}
            }
        }
    };
    // The reader ends when the client closes; the writer may be stalled (or blocked on a
    // client that stopped reading) and is dropped then.
    tokio::select! {
        () = read => {}
        () = async {
            let _writer = write.await;
            std::future::pending::<()>().await;
        } => {}
    }
    violations
}

/// The session: the node on one side, the client running `ops` on the other.
async fn session(harness: &Harness, ops: &[u8], stream: &[u8], stall: bool) -> Vec<String> {
    let node = node(&harness.listener, &harness.address, stream, stall);
    let client = async {
        let address: Address = harness.address.parse().unwrap_or_else(|e| panic!("{e}"));
        let config = Config::new([harness.address.as_str()])
            .unwrap_or_else(|e| panic!("{e}"))
            .database("fuzz")
            .request_timeout(REQUEST_TIMEOUT)
            .busy_timeout(Duration::ZERO)
            .max_frame_len(MAX_FRAME);
        let mut conn = Connection::handshake(&address, &config)
            .await
            .unwrap_or_else(|e| panic!("handshake: {e}"));
        let leader = conn
            .leader()
            .await
            .unwrap_or_else(|e| panic!("LEADER: {e}"));
        assert_eq!(leader.map(|(id, _)| id), Some(1));
        conn.open("fuzz")
            .await
            .unwrap_or_else(|e| panic!("OPEN: {e}"));
        if stall {
            conn.set_request_timeout(STALL_TIMEOUT);
        }
        for &op in ops {
            call(&mut conn, op).await;
        }
        // Closing the connection ends the node's reader.
        drop(conn);
    };
    let (violations, ()) = tokio::join!(node, client);
    violations
}

/// The kind behind an `OutcomeUnknown`.
fn cause(e: &Error) -> ErrorKind {
    match e {
        Error::OutcomeUnknown { source } | Error::Batch { source, .. } => cause(source),
        other => other.kind(),
    }
}

/// Runs one call and checks what it leaves behind.
async fn call(conn: &mut Connection, op: u8) {
    let broken_before = conn.is_broken();
    let result = match tokio::time::timeout(HANG, run_op(conn, op)).await {
        Ok(result) => result,
        Err(_) => panic!("call {op} did not return within {HANG:?}"),
    };
    if result.is_ok() {
        CALLS_OK.set(CALLS_OK.get() + 1);
    }
    if broken_before {
        assert!(
            result.is_err(),
            "call {op}: a broken connection served a call"
        );
        assert!(conn.is_broken(), "call {op}: a broken connection healed");
    }
    if let Err(e) = &result
        && matches!(
            cause(e),
            ErrorKind::Protocol | ErrorKind::Transport | ErrorKind::Timeout
        )
    {
        assert!(
            conn.is_broken(),
            "call {op}: {e} left the connection usable"
        );
    }
    if conn.is_broken() {
        assert!(!conn.is_reusable());
    }
}

/// The calls: every request type the client sends in normal use, and a result dropped
/// half-read.
async fn run_op(conn: &mut Connection, op: u8) -> Result<(), Error> {
    match op % 12 {
        0 => conn
            .execute("INSERT INTO t VALUES (?)", &[Value::Integer(1)])
            .await
            .map(drop),
        1 => conn.query_all("SELECT a, b FROM t", &[]).await.map(drop),
        2 => {
            // One row, then the result is dropped: the next call drains it first.
            let mut rows = conn.query("SELECT a FROM t", &[]).await?;
            rows.next().await.map(drop)
        }
        3 => {
            let statement = conn.prepare("SELECT ?").await?;
            let rows = conn
                .query_prepared(&statement, &[Value::Text("x".into())])
                .await?
                .collect_all()
                .await;
            if conn.is_reusable() {
                conn.finalize(statement).await?;
            }
            rows.map(drop)
        }
        4 => {
            let statement = conn.prepare("UPDATE t SET a = ?").await?;
            let first = conn.execute_prepared(&statement, &[Value::Null]).await;
            let second = conn
                .execute_prepared(&statement, &[Value::Float(0.5)])
                .await;
            if conn.is_reusable() {
                conn.finalize(statement).await?;
            }
            first.and(second).map(drop)
        }
        5 => conn.leader().await.map(drop),
        6 => {
            let mut rows = conn.query("SELECT * FROM t", &[]).await?;
            while rows.next_frame().await?.is_some() {}
            Ok(())
        }
        7 => conn
            .execute_script("CREATE TABLE IF NOT EXISTS t (a, b); SELECT 1; DELETE FROM t")
            .await
            .map(drop),
        8 => {
            // More than 255 parameters: a capability probe first.
            let sql = format!("SELECT {}", vec!["?"; 300].join(", "));
            let params = vec![Value::Integer(7); 300];
            conn.query_all(&sql, &params).await.map(drop)
        }
        9 => conn
            .query_all("INSERT INTO t VALUES (1, 2) RETURNING a", &[])
            .await
            .map(drop),
        10 => conn
            .execute_many(
                "INSERT INTO t VALUES (?, ?)",
                [
                    [Value::Integer(1), Value::Blob(vec![1, 2, 3])],
                    [Value::Integer(2), Value::Null],
                    [Value::Integer(3), Value::Text("three".into())],
                ],
                2,
            )
            .await
            .map(drop),
        _ => conn.recover().await,
    }
}

//! The raw-socket floor: pre-encoded frames, responses only delimited (see `wire`).

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::Value;
use dqlite_wire::Request;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::wire::{self, Raw};
use super::*;

pub fn run(workload: &str, address: &str, size: u64) -> io::Result<Json> {
    match workload {
        "w5" | "w5pool" => {
            let tasks = if workload == "w5" {
                W5_READERS
            } else {
                W5POOL_TASKS
            };
            return tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(point_queries(address, tasks, Duration::from_secs(size)));
        }
        "w7connect" => return cold_connects(address, size),
        "w9idle" => return idle_connections(address, size),
        _ => {}
    }
    let mut raw = Raw::connect(address, DB)?;
    let cpu = cpu_time();
    match workload {
        "w1" => {
            let request = wire::query_sql(W1_SQL, vec![]);
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                raw.round_trip(&request)?;
                samples.push(t.elapsed());
            }
            Ok(latency_result(samples))
        }
        "w2" => {
            let request = wire::exec_sql(W2_SQL, vec![Value::Integer(1)]);
            let t = Instant::now();
            for _ in 0..size {
                raw.round_trip(&request)?;
            }
            Ok(rate_result(size as f64, t.elapsed(), cpu))
        }
        "w3" => inserts_in_transaction(&mut raw, signed(size)?),
        "w4" | "w4stream" => {
            let request = wire::query_sql(W4_SQL, vec![]);
            let t = Instant::now();
            raw.round_trip(&request)?;
            Ok(rate_result(size as f64, t.elapsed(), cpu))
        }
        "w9" => {
            let request = wire::query_sql(W9_SQL, vec![Value::Integer(signed(size)?)]);
            let t = Instant::now();
            raw.round_trip(&request)?;
            Ok(rate_result(size as f64, t.elapsed(), cpu))
        }
        "w8in" => {
            let request = wire::exec_sql(W8_IN_SQL, vec![Value::Blob(blob(size))]);
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                raw.round_trip(&request)?;
            }
            let result = rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu);
            raw.round_trip(&wire::exec_sql("DELETE FROM w8", vec![]))?;
            Ok(result)
        }
        "w8out" => {
            let request = wire::query_sql(W8_OUT_SQL, vec![Value::Integer(signed(size)?)]);
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                raw.round_trip(&request)?;
            }
            Ok(rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu))
        }
        other => Err(io::Error::other(format!("unknown workload {other}"))),
    }
}

fn signed(size: u64) -> io::Result<i64> {
    i64::try_from(size).map_err(io::Error::other)
}

/// One at a time: each EXEC waits for its RESULT. Frames are encoded up front.
fn inserts_in_transaction(raw: &mut Raw, rows: i64) -> io::Result<Json> {
    raw.send(&wire::frame(&Request::Prepare {
        db_id: 0,
        sql: W3_SQL,
    }))?;
    let statement = raw.read_stmt_id()?;
    let frames: Vec<Vec<u8>> = (0..rows)
        .map(|i| {
            wire::frame(&Request::Exec {
                db_id: 0,
                stmt_id: statement,
                params: w3_row(i).to_vec().into(),
                schema: 0,
            })
        })
        .collect();
    let begin = wire::exec_sql("BEGIN", vec![]);
    let commit = wire::exec_sql("COMMIT", vec![]);
    let cpu = cpu_time();
    let t = Instant::now();
    raw.round_trip(&begin)?;
    for frame in &frames {
        raw.round_trip(frame)?;
    }
    raw.round_trip(&commit)?;
    let result = rate_result(rows as f64, t.elapsed(), cpu);
    raw.round_trip(&wire::exec_sql("DELETE FROM w3", vec![]))?;
    Ok(result)
}

/// The least a client given a follower's address must do: ask it for the leader,
/// connect there, open the database, run the query.
fn cold_connects(address: &str, size: u64) -> io::Result<Json> {
    let query = wire::query_sql(W1_SQL, vec![]);
    let mut samples = Vec::new();
    for _ in 0..size {
        let t = Instant::now();
        let leader = Raw::handshake(address)?.leader()?;
        let mut raw = Raw::connect(&leader, DB)?;
        raw.round_trip(&query)?;
        samples.push(t.elapsed());
    }
    Ok(latency_result(samples))
}

/// Bare sockets with the database open: what the kernel holds is not in the RSS, so
/// this shows the floor of a client's own memory per connection (about nothing).
fn idle_connections(address: &str, size: u64) -> io::Result<Json> {
    use std::io::{Read, Write};
    let hello = [
        dqlite_wire::PROTOCOL_VERSION.to_le_bytes().to_vec(),
        wire::open_frame(DB),
    ]
    .concat();
    let open = |held: &mut Vec<TcpStream>| -> io::Result<()> {
        let mut stream = TcpStream::connect(address)?;
        stream.write_all(&hello)?;
        let mut db = [0u8; 16];
        stream.read_exact(&mut db)?;
        held.push(stream);
        Ok(())
    };
    let mut held = Vec::new();
    open(&mut held)?;
    let before = status_kib("VmRSS:");
    for _ in 0..size {
        open(&mut held)?;
    }
    Ok(memory_result(before, status_kib("VmRSS:"), size))
}

/// W5 and W5pool's floor: one thread, one event loop, `W5_READERS` raw sockets; W5 gives
/// each of its tasks one, W5pool's `tasks` tasks check one out of a queue per query.
async fn point_queries(address: &str, tasks: usize, duration: Duration) -> io::Result<Json> {
    let frames: Arc<Vec<Vec<u8>>> = Arc::new(
        (1..=W5_KEYS)
            .map(|k| wire::query_sql(W5_SQL, vec![Value::Integer(k)]))
            .collect(),
    );
    let mut sockets = Vec::new();
    for _ in 0..W5_READERS {
        sockets.push(open_socket(address).await?);
    }
    let pooled = tasks != W5_READERS;
    let (give_back, pool) = tokio::sync::mpsc::channel(W5_READERS);
    let pool = Arc::new(tokio::sync::Mutex::new(pool));
    let deadline = Instant::now() + duration;
    let cpu = cpu_time();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let (frames, pool, give_back) = (Arc::clone(&frames), Arc::clone(&pool), give_back.clone());
        let mut own = if pooled { None } else { sockets.pop() };
        set.spawn(async move {
            let mut count = 0u64;
            let mut next = task;
            while Instant::now() < deadline {
                let frame = frames
                    .get(next % frames.len())
                    .map_or(&[][..], Vec::as_slice);
                next += tasks;
                if let Some(socket) = own.as_mut() {
                    query(socket, frame).await?;
                } else {
                    let checked_out = pool.lock().await.recv().await;
                    let mut socket = checked_out.ok_or_else(|| io::Error::other("pool closed"))?;
                    query(&mut socket, frame).await?;
                    give_back.send(socket).await.map_err(io::Error::other)?;
                }
                count += 1;
            }
            Ok::<u64, io::Error>(count)
        });
    }
    for socket in sockets {
        give_back.send(socket).await.map_err(io::Error::other)?;
    }
    let mut total = 0;
    while let Some(joined) = set.join_next().await {
        total += joined.map_err(io::Error::other)??;
    }
    Ok(rate_result(
        total as f64,
        started.elapsed().max(duration),
        cpu,
    ))
}

/// A socket with the database open, and its read buffer.
type Socket = (tokio::net::TcpStream, Vec<u8>);

async fn open_socket(address: &str) -> io::Result<Socket> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let hello = [
        dqlite_wire::PROTOCOL_VERSION.to_le_bytes().to_vec(),
        wire::open_frame(DB),
    ]
    .concat();
    stream.write_all(&hello).await?;
    let mut db = [0u8; 16];
    stream.read_exact(&mut db).await?;
    Ok((stream, vec![0u8; 1 << 16]))
}

/// Sends one pre-encoded request and reads its response.
async fn query((stream, buf): &mut Socket, frame: &[u8]) -> io::Result<()> {
    stream.write_all(frame).await?;
    read_rows(stream, buf).await
}

/// Reads one response (ROWS frames up to DONE, or any single frame).
async fn read_rows(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let mut header = [0u8; 8];
        stream.read_exact(&mut header).await?;
        let [w0, w1, w2, w3, kind, ..] = header;
        let len =
            usize::try_from(u32::from_le_bytes([w0, w1, w2, w3])).map_err(io::Error::other)? * 8;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let body = buf.get_mut(..len).ok_or_else(|| io::Error::other("len"))?;
        stream.read_exact(body).await?;
        if body.ends_with(&dqlite_wire::DONE_MARKER) || kind != 7 {
            return Ok(());
        }
    }
}

//! The five workloads, each for the raw floor and the Rust clients (async and blocking).
//! A worker process runs one (client, workload) pair and prints one JSON line.

use std::time::{Duration, Instant};

use dqlite_client::{Config, Value, blocking};
use dqlite_wire::Request;
use serde_json::{Value as Json, json};

use crate::raw::{self, Raw};

/// Database every workload uses.
pub const DB: &str = "bench";
/// Rows of the W3 transaction.
pub const W3_ROWS: i64 = 50_000;
/// Concurrent readers of W5.
pub const W5_READERS: usize = 8;
/// Point queries of W5 cycle over this many keys.
const W5_KEYS: i64 = 1_000;
/// Window of the pipelined W3 batch.
const W3_WINDOW: usize = 128;

const W1_SQL: &str = "SELECT 1";
const W2_SQL: &str = "INSERT INTO w2 (v) VALUES (?)";
const W3_SQL: &str = "INSERT INTO w3 VALUES (?, ?, ?, ?, ?)";
const W4_SQL: &str = "SELECT i, f, t, b, n FROM w4";
const W5_SQL: &str = "SELECT i, f, t FROM w4 WHERE id = ?";

/// The W3 row for `i`.
pub fn w3_row(i: i64) -> [Value; 5] {
    [
        Value::Integer(i),
        Value::Float(i as f64 * 0.25),
        Value::Text(format!("{i:020}")),
        Value::Blob(vec![0x5a; 16]),
        if i % 2 == 0 {
            Value::Null
        } else {
            Value::Integer(i)
        },
    ]
}

/// Creates and fills the tables (untimed, once per suite).
pub fn prepare(address: &str, w4_rows: i64) -> Result<(), String> {
    let mut conn = connect_blocking(address)?;
    conn.execute_script(
        "CREATE TABLE IF NOT EXISTS w2 (v INTEGER);
         CREATE TABLE IF NOT EXISTS w3 (i INTEGER, f REAL, t TEXT, b BLOB, n INTEGER);
         DROP TABLE IF EXISTS w4;
         CREATE TABLE w4 (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n INTEGER);",
    )
    .map_err(|e| e.to_string())?;
    conn.execute(
        "INSERT INTO w4 (i, f, t, b, n)
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
         SELECT x, x * 0.5, printf('%020d', x), randomblob(16),
                CASE WHEN x % 2 = 0 THEN NULL ELSE x END FROM c",
        &[Value::Integer(w4_rows)],
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn connect_blocking(address: &str) -> Result<blocking::Connection, String> {
    let config = Config::new([address])
        .map_err(|e| e.to_string())?
        .database(DB)
        .request_timeout(Duration::from_secs(60));
    blocking::Cluster::new(config)
        .and_then(|c| c.connect())
        .map_err(|e| e.to_string())
}

fn async_cluster(address: &str) -> Result<dqlite_client::Cluster, String> {
    let config = Config::new([address])
        .map_err(|e| e.to_string())?
        .database(DB)
        .request_timeout(Duration::from_secs(60));
    Ok(dqlite_client::Cluster::new(config))
}

/// Peak resident set of this process, in KiB (VmHWM).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn latency_result(mut samples: Vec<Duration>) -> Json {
    samples.sort();
    let at = |per_mille: usize| {
        samples
            .get(samples.len().saturating_sub(1) * per_mille / 1000)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    json!({"median_us": at(500), "p99_us": at(990), "n": samples.len()})
}

fn rate_result(count: u64, elapsed: Duration) -> Json {
    json!({"per_s": count as f64 / elapsed.as_secs_f64(), "n": count,
           "seconds": elapsed.as_secs_f64(), "peak_rss_kib": peak_rss_kib()})
}

/// Runs `workload` with `client`; `size` is the round trips, rows or seconds it takes.
pub fn run(client: &str, workload: &str, address: &str, size: u64) -> Result<Json, String> {
    match client {
        "raw" => run_raw(workload, address, size).map_err(|e| e.to_string()),
        "rust-blocking" => run_blocking(workload, address, size),
        "rust-async" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(run_async(workload, address, size)),
        other => Err(format!("unknown client {other}")),
    }
}

fn run_raw(workload: &str, address: &str, size: u64) -> std::io::Result<Json> {
    let mut raw = Raw::connect(address, DB)?;
    match workload {
        "w1" => {
            let request = raw::query_sql(W1_SQL, vec![]);
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                raw.round_trip(&request)?;
                samples.push(t.elapsed());
            }
            Ok(latency_result(samples))
        }
        "w2" => {
            let request = raw::exec_sql(W2_SQL, vec![Value::Integer(1)]);
            let t = Instant::now();
            for _ in 0..size {
                raw.round_trip(&request)?;
            }
            Ok(rate_result(size, t.elapsed()))
        }
        "w3" => {
            // One at a time: each EXEC waits for its RESULT. Frames are encoded up front.
            let statement = prepare_raw(&mut raw, W3_SQL)?;
            let frames: Vec<Vec<u8>> = (0..W3_ROWS)
                .map(|i| {
                    raw::frame(&Request::Exec {
                        db_id: 0,
                        stmt_id: statement,
                        params: w3_row(i).to_vec().into(),
                        schema: 0,
                    })
                })
                .collect();
            let begin = raw::exec_sql("BEGIN", vec![]);
            let commit = raw::exec_sql("COMMIT", vec![]);
            let t = Instant::now();
            raw.round_trip(&begin)?;
            for frame in &frames {
                raw.round_trip(frame)?;
            }
            raw.round_trip(&commit)?;
            let elapsed = t.elapsed();
            raw.round_trip(&raw::exec_sql("DELETE FROM w3", vec![]))?;
            Ok(rate_result(W3_ROWS as u64, elapsed))
        }
        "w4" | "w4stream" => {
            let request = raw::query_sql(W4_SQL, vec![]);
            let t = Instant::now();
            raw.round_trip(&request)?;
            Ok(rate_result(size, t.elapsed()))
        }
        "w5" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(raw_w5(address, Duration::from_secs(size)))
        }
        other => Err(std::io::Error::other(format!("unknown workload {other}"))),
    }
}

fn prepare_raw(raw: &mut Raw, sql: &str) -> std::io::Result<u32> {
    raw.send(&raw::frame(&Request::Prepare { db_id: 0, sql }))?;
    raw.read_stmt_id()
}

/// The W5 floor: one thread, one event loop, 8 raw sockets.
async fn raw_w5(address: &str, duration: Duration) -> std::io::Result<Json> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let frames: Vec<Vec<u8>> = (1..=W5_KEYS)
        .map(|k| raw::query_sql(W5_SQL, vec![Value::Integer(k)]))
        .collect();
    let frames = std::sync::Arc::new(frames);
    let deadline = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for reader in 0..W5_READERS {
        let frames = std::sync::Arc::clone(&frames);
        let address = address.to_owned();
        tasks.spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&address).await?;
            stream.set_nodelay(true)?;
            let mut hello = dqlite_wire::PROTOCOL_VERSION.to_le_bytes().to_vec();
            hello.extend(raw::frame(&Request::Open {
                name: DB,
                flags: 0,
                vfs: "volatile",
            }));
            stream.write_all(&hello).await?;
            let mut db = [0u8; 16];
            stream.read_exact(&mut db).await?;
            let mut count = 0u64;
            let mut buf = vec![0u8; 1 << 16];
            let mut next = reader;
            while Instant::now() < deadline {
                let frame = frames
                    .get(next % frames.len())
                    .map_or(&[][..], Vec::as_slice);
                next += W5_READERS;
                stream.write_all(frame).await?;
                loop {
                    let mut header = [0u8; 8];
                    stream.read_exact(&mut header).await?;
                    let [w0, w1, w2, w3, ..] = header;
                    let len = usize::try_from(u32::from_le_bytes([w0, w1, w2, w3]))
                        .map_err(std::io::Error::other)?
                        * 8;
                    if buf.len() < len {
                        buf.resize(len, 0);
                    }
                    let body = buf
                        .get_mut(..len)
                        .ok_or_else(|| std::io::Error::other("len"))?;
                    stream.read_exact(body).await?;
                    if body.ends_with(&dqlite_wire::DONE_MARKER) || header[4] != 7 {
                        break;
                    }
                }
                count += 1;
            }
            Ok::<u64, std::io::Error>(count)
        });
    }
    let started = Instant::now();
    let mut total = 0;
    while let Some(joined) = tasks.join_next().await {
        total += joined.map_err(std::io::Error::other)??;
    }
    Ok(rate_result(total, started.elapsed().max(duration)))
}

fn run_blocking(workload: &str, address: &str, size: u64) -> Result<Json, String> {
    let mut conn = connect_blocking(address)?;
    let e = |e: dqlite_client::Error| e.to_string();
    match workload {
        "w1" => {
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                conn.query_all(W1_SQL, &[]).map_err(e)?;
                samples.push(t.elapsed());
            }
            Ok(latency_result(samples))
        }
        "w2" => {
            let t = Instant::now();
            for _ in 0..size {
                conn.execute(W2_SQL, &[Value::Integer(1)]).map_err(e)?;
            }
            Ok(rate_result(size, t.elapsed()))
        }
        "w3" => {
            let rows: Vec<[Value; 5]> = (0..W3_ROWS).map(w3_row).collect();
            let t = Instant::now();
            conn.execute("BEGIN", &[]).map_err(e)?;
            conn.execute_many(W3_SQL, &rows, W3_WINDOW).map_err(e)?;
            conn.execute("COMMIT", &[]).map_err(e)?;
            let elapsed = t.elapsed();
            conn.execute("DELETE FROM w3", &[]).map_err(e)?;
            Ok(rate_result(W3_ROWS as u64, elapsed))
        }
        "w4" => {
            let t = Instant::now();
            let all = conn.query_all(W4_SQL, &[]).map_err(e)?;
            let n = all.rows.len() as u64;
            let elapsed = t.elapsed();
            drop(all);
            Ok(rate_result(n, elapsed))
        }
        "w4stream" => {
            let t = Instant::now();
            let mut n = 0u64;
            for row in conn.query(W4_SQL, &[]).map_err(e)? {
                row.map_err(e)?;
                n += 1;
            }
            Ok(rate_result(n, t.elapsed()))
        }
        other => Err(format!("the blocking client does not run {other}")),
    }
}

async fn run_async(workload: &str, address: &str, size: u64) -> Result<Json, String> {
    let cluster = async_cluster(address)?;
    let e = |e: dqlite_client::Error| e.to_string();
    if workload == "w5" {
        let deadline = Instant::now() + Duration::from_secs(size);
        let mut tasks = tokio::task::JoinSet::new();
        for reader in 0..W5_READERS {
            let cluster = cluster.clone();
            tasks.spawn(async move {
                let mut conn = cluster.connect().await?;
                let mut count = 0u64;
                let mut key = i64::try_from(reader).unwrap_or(0);
                while Instant::now() < deadline {
                    key = key % W5_KEYS + 1;
                    conn.query_all(W5_SQL, &[Value::Integer(key)]).await?;
                    count += 1;
                }
                Ok::<u64, dqlite_client::Error>(count)
            });
        }
        let started = Instant::now();
        let mut total = 0;
        while let Some(joined) = tasks.join_next().await {
            total += joined.map_err(|j| j.to_string())?.map_err(e)?;
        }
        return Ok(rate_result(
            total,
            started.elapsed().max(Duration::from_secs(size)),
        ));
    }
    let mut conn = cluster.connect().await.map_err(e)?;
    match workload {
        "w1" => {
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                conn.query_all(W1_SQL, &[]).await.map_err(e)?;
                samples.push(t.elapsed());
            }
            Ok(latency_result(samples))
        }
        "w2" => {
            let t = Instant::now();
            for _ in 0..size {
                conn.execute(W2_SQL, &[Value::Integer(1)])
                    .await
                    .map_err(e)?;
            }
            Ok(rate_result(size, t.elapsed()))
        }
        "w3" => {
            let rows: Vec<[Value; 5]> = (0..W3_ROWS).map(w3_row).collect();
            let t = Instant::now();
            conn.execute("BEGIN", &[]).await.map_err(e)?;
            conn.execute_many(W3_SQL, &rows, W3_WINDOW)
                .await
                .map_err(e)?;
            conn.execute("COMMIT", &[]).await.map_err(e)?;
            let elapsed = t.elapsed();
            conn.execute("DELETE FROM w3", &[]).await.map_err(e)?;
            Ok(rate_result(W3_ROWS as u64, elapsed))
        }
        "w4" => {
            let t = Instant::now();
            let all = conn.query_all(W4_SQL, &[]).await.map_err(e)?;
            let n = all.rows.len() as u64;
            let elapsed = t.elapsed();
            drop(all);
            Ok(rate_result(n, elapsed))
        }
        "w4stream" => {
            let t = Instant::now();
            let mut n = 0u64;
            let mut rows = conn.query(W4_SQL, &[]).await.map_err(e)?;
            while rows.next().await.map_err(e)?.is_some() {
                n += 1;
            }
            Ok(rate_result(n, t.elapsed()))
        }
        other => Err(format!("unknown workload {other}")),
    }
}

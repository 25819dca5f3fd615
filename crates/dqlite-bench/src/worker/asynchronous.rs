//! The Rust async client (`dqlite_client`, on a current-thread tokio runtime).

use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Pool, PoolOptions, Value};
use serde_json::Value as Json;

use super::blocking::check_blob;
use super::*;

fn signed(size: u64) -> Result<i64, String> {
    i64::try_from(size).map_err(|e| e.to_string())
}

fn e(e: dqlite_client::Error) -> String {
    e.to_string()
}

pub async fn run(workload: &str, address: &str, size: u64) -> Result<Json, String> {
    let cluster = Cluster::new(config(address)?);
    match workload {
        "w5" => return point_queries(&cluster, W5_READERS, size, false).await,
        "w5pool" => return point_queries(&cluster, W5POOL_TASKS, size, true).await,
        "w7connect" => {
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                let mut conn = Cluster::new(config(address)?).connect().await.map_err(e)?;
                conn.query_all(W1_SQL, &[]).await.map_err(e)?;
                samples.push(t.elapsed());
            }
            return Ok(latency_result(samples));
        }
        "w7checkout" => {
            let pool = Pool::new(cluster, PoolOptions::default());
            drop(pool.get().await.map_err(e)?);
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                drop(pool.get().await.map_err(e)?);
                samples.push(t.elapsed());
            }
            return Ok(latency_result(samples));
        }
        "w9idle" => {
            let mut held = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
            let mut before = 0;
            for k in 0..=size {
                if k == 1 {
                    // What the first connection loaded once is not counted.
                    before = status_kib("VmRSS:");
                }
                let mut conn = cluster.connect().await.map_err(e)?;
                conn.query_all(W1_SQL, &[]).await.map_err(e)?;
                held.push(conn);
            }
            return Ok(memory_result(before, status_kib("VmRSS:"), size));
        }
        _ => {}
    }
    let mut conn = cluster.connect().await.map_err(e)?;
    let cpu = cpu_time();
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
            Ok(rate_result(size as f64, t.elapsed(), cpu))
        }
        "w3" => {
            let rows: Vec<[Value; 5]> = (0..signed(size)?).map(w3_row).collect();
            let cpu = cpu_time();
            let t = Instant::now();
            conn.execute("BEGIN", &[]).await.map_err(e)?;
            conn.execute_many(W3_SQL, &rows, W3_WINDOW)
                .await
                .map_err(e)?;
            conn.execute("COMMIT", &[]).await.map_err(e)?;
            let result = rate_result(size as f64, t.elapsed(), cpu);
            conn.execute("DELETE FROM w3", &[]).await.map_err(e)?;
            Ok(result)
        }
        "w4" => {
            let t = Instant::now();
            let all = conn.query_all(W4_SQL, &[]).await.map_err(e)?;
            let result = rate_result(all.rows.len() as f64, t.elapsed(), cpu);
            drop(all);
            Ok(result)
        }
        "w4stream" | "w9" => {
            let (sql, params) = streamed(workload, size)?;
            let t = Instant::now();
            let mut n = 0u64;
            let mut rows = conn.query(sql, &params).await.map_err(e)?;
            while rows.next().await.map_err(e)?.is_some() {
                n += 1;
            }
            Ok(rate_result(n as f64, t.elapsed(), cpu))
        }
        "w8in" => {
            let params = [Value::Blob(blob(size))];
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                conn.execute(W8_IN_SQL, &params).await.map_err(e)?;
            }
            let result = rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu);
            conn.execute("DELETE FROM w8", &[]).await.map_err(e)?;
            Ok(result)
        }
        "w8out" => {
            let params = [Value::Integer(signed(size)?)];
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                let got = conn.query_all(W8_OUT_SQL, &params).await.map_err(e)?;
                check_blob(got.rows.first().and_then(|r| r.value(0)), size)?;
            }
            Ok(rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu))
        }
        other => Err(format!("unknown workload {other}")),
    }
}

/// W5 (`tasks` = 8, a connection each) and W5pool (`tasks` = 64 over a pool of 8).
async fn point_queries(
    cluster: &Cluster,
    tasks: usize,
    seconds: u64,
    pooled: bool,
) -> Result<Json, String> {
    let duration = Duration::from_secs(seconds);
    let pool = Pool::new(cluster.clone(), PoolOptions::default().max_size(W5_READERS));
    // Untimed: the pool's connections are opened before the clock starts.
    let warm: Vec<_> = open_all(&pool, W5_READERS).await?;
    drop(warm);
    let deadline = Instant::now() + duration;
    let cpu = cpu_time();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let pool = pool.clone();
        set.spawn(async move {
            let mut own = if pooled {
                None
            } else {
                Some(pool.get().await?)
            };
            let mut count = 0u64;
            let mut key = i64::try_from(task).unwrap_or(0);
            while Instant::now() < deadline {
                key = key % W5_KEYS + 1;
                let params = [Value::Integer(key)];
                match own.as_mut() {
                    Some(conn) => conn.query_all(W5_SQL, &params).await?,
                    None => pool.get().await?.query_all(W5_SQL, &params).await?,
                };
                count += 1;
            }
            Ok::<u64, dqlite_client::Error>(count)
        });
    }
    let mut total = 0;
    while let Some(joined) = set.join_next().await {
        total += joined.map_err(|j| j.to_string())?.map_err(e)?;
    }
    Ok(rate_result(
        total as f64,
        started.elapsed().max(duration),
        cpu,
    ))
}

/// Checks out `n` connections at once (so that the pool opens `n`).
async fn open_all(pool: &Pool, n: usize) -> Result<Vec<dqlite_client::PooledConnection>, String> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(pool.get().await.map_err(e)?);
    }
    Ok(held)
}

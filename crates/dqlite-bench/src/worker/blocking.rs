//! The Rust blocking API (`dqlite_client::blocking`).

use std::time::Instant;

use dqlite_client::{Value, blocking};
use serde_json::Value as Json;

use super::*;

fn connect(address: &str) -> Result<blocking::Connection, String> {
    blocking::Cluster::new(config(address)?)
        .and_then(|c| c.connect())
        .map_err(|e| e.to_string())
}

fn signed(size: u64) -> Result<i64, String> {
    i64::try_from(size).map_err(|e| e.to_string())
}

pub fn run(workload: &str, address: &str, size: u64) -> Result<Json, String> {
    let e = |e: dqlite_client::Error| e.to_string();
    match workload {
        "w7connect" => {
            let mut samples = Vec::new();
            for _ in 0..size {
                let t = Instant::now();
                connect(address)?.query_all(W1_SQL, &[]).map_err(e)?;
                samples.push(t.elapsed());
            }
            return Ok(latency_result(samples));
        }
        "w9idle" => {
            let cluster = blocking::Cluster::new(config(address)?).map_err(e)?;
            let open = |held: &mut Vec<blocking::Connection>| {
                let mut conn = cluster.connect()?;
                conn.query_all(W1_SQL, &[])?;
                held.push(conn);
                Ok::<(), dqlite_client::Error>(())
            };
            let mut held = Vec::new();
            open(&mut held).map_err(e)?;
            let before = status_kib("VmRSS:");
            for _ in 0..size {
                open(&mut held).map_err(e)?;
            }
            return Ok(memory_result(before, status_kib("VmRSS:"), size));
        }
        _ => {}
    }
    let mut conn = connect(address)?;
    let cpu = cpu_time();
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
            Ok(rate_result(size as f64, t.elapsed(), cpu))
        }
        "w3" => {
            let rows: Vec<[Value; 5]> = (0..signed(size)?).map(w3_row).collect();
            let cpu = cpu_time();
            let t = Instant::now();
            conn.execute("BEGIN", &[]).map_err(e)?;
            conn.execute_many(W3_SQL, &rows, W3_WINDOW).map_err(e)?;
            conn.execute("COMMIT", &[]).map_err(e)?;
            let result = rate_result(size as f64, t.elapsed(), cpu);
            conn.execute("DELETE FROM w3", &[]).map_err(e)?;
            Ok(result)
        }
        "w4" => {
            let t = Instant::now();
            let all = conn.query_all(W4_SQL, &[]).map_err(e)?;
            let result = rate_result(all.rows.len() as f64, t.elapsed(), cpu);
            drop(all);
            Ok(result)
        }
        "w4stream" | "w9" => {
            let (sql, params) = streamed(workload, size)?;
            let t = Instant::now();
            let mut n = 0u64;
            for row in conn.query(sql, &params).map_err(e)? {
                row.map_err(e)?;
                n += 1;
            }
            Ok(rate_result(n as f64, t.elapsed(), cpu))
        }
        "w8in" => {
            let params = [Value::Blob(blob(size))];
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                conn.execute(W8_IN_SQL, &params).map_err(e)?;
            }
            let result = rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu);
            conn.execute("DELETE FROM w8", &[]).map_err(e)?;
            Ok(result)
        }
        "w8out" => {
            let params = [Value::Integer(signed(size)?)];
            let count = blob_count(workload, size);
            let t = Instant::now();
            for _ in 0..count {
                let got = conn.query_all(W8_OUT_SQL, &params).map_err(e)?;
                check_blob(got.rows.first().and_then(|r| r.value(0)), size)?;
            }
            Ok(rate_result((count * size) as f64 / 1e6, t.elapsed(), cpu))
        }
        other => Err(format!("the blocking client does not run {other}")),
    }
}

/// A W8 read must bring back the whole blob.
pub fn check_blob(value: Option<&Value>, size: u64) -> Result<(), String> {
    match value {
        Some(Value::Blob(b)) if b.len() as u64 == size => Ok(()),
        other => Err(format!(
            "expected a blob of {size} bytes, got {:?}",
            other.map(|v| match v {
                Value::Blob(b) => format!("a blob of {} bytes", b.len()),
                v => format!("{v:?}"),
            })
        )),
    }
}

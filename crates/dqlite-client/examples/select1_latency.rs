//! `SELECT 1` round-trip latency: the blocking and async clients against a raw-socket
//! floor (pre-encoded frames over a plain `TcpStream`, reading only up to the end marker).
//!
//! Usage: `cargo run --release -p dqlite-client --example select1_latency -- ADDRESS [ROUNDS]`
//! where ADDRESS is the leader's. Rounds of the three clients are interleaved; the output
//! gives medians, p99s and the ratios to the floor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dqlite_client::{Config, Connection, blocking};
use dqlite_wire::{DONE_MARKER, Request};

/// The floor: one pre-encoded QUERY_SQL per round trip, reading until DONE.
struct Raw {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Raw {
    fn connect(address: &str) -> Raw {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut out = BytesMut::new();
        out.extend_from_slice(&dqlite_wire::PROTOCOL_VERSION.to_le_bytes());
        Request::Open {
            name: "latency",
            flags: 0,
            vfs: "volatile",
        }
        .encode(&mut out)
        .unwrap();
        stream.write_all(&out).unwrap();
        let mut db = [0u8; 16];
        stream.read_exact(&mut db).unwrap();
        let mut request = BytesMut::new();
        Request::QuerySql {
            db_id: 0,
            sql: "SELECT 1",
            params: Vec::new().into(),
            schema: 0,
        }
        .encode(&mut request)
        .unwrap();
        Raw {
            stream,
            request: request.to_vec(),
            buf: vec![0; 4096],
        }
    }

    fn round_trip(&mut self) {
        self.stream.write_all(&self.request).unwrap();
        let mut have = 0;
        loop {
            have += self.stream.read(&mut self.buf[have..]).unwrap();
            if have >= 16 && self.buf[have - 8..have] == DONE_MARKER {
                return;
            }
        }
    }
}

/// The `per_mille`-th value of a sorted sample (500 = median).
fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    sorted[(sorted.len() - 1) * per_mille / 1000]
}

fn main() {
    let address = std::env::args()
        .nth(1)
        .expect("usage: select1_latency ADDRESS [ROUNDS]");
    let rounds: usize = std::env::args()
        .nth(2)
        .map_or(5_000, |r| r.parse().unwrap());
    let config: Config = address.parse::<Config>().unwrap().database("latency");

    let mut raw = Raw::connect(&address);
    let mut sync_conn = blocking::Cluster::new(config.clone())
        .unwrap()
        .connect()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut async_conn: Connection = rt
        .block_on(dqlite_client::Cluster::new(config).connect())
        .unwrap();

    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..rounds {
        let t = Instant::now();
        raw.round_trip();
        times[0].push(t.elapsed());
        let t = Instant::now();
        sync_conn.query_all("SELECT 1", &[]).unwrap();
        times[1].push(t.elapsed());
        let t = Instant::now();
        rt.block_on(async_conn.query_all("SELECT 1", &[])).unwrap();
        times[2].push(t.elapsed());
    }
    for t in &mut times {
        t.sort();
    }
    let floor = percentile(&times[0], 500).as_secs_f64();
    println!("SELECT 1 round trips: {rounds} per client, interleaved, against {address}");
    println!("| client | median | p99 | median / floor |");
    println!("|---|---|---|---|");
    for (name, t) in [
        "raw socket floor",
        "blocking client",
        "async client (current_thread)",
    ]
    .iter()
    .zip(&times)
    {
        let median = percentile(t, 500);
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.3} |",
            median.as_secs_f64() * 1e6,
            percentile(t, 990).as_secs_f64() * 1e6,
            median.as_secs_f64() / floor
        );
    }
}

//! The quickstart with the blocking API: no async runtime in sight.
//!
//! Usage: `cargo run -p dqlite-client --example blocking -- 127.0.0.1:9001`

use std::time::SystemTime;

use dqlite_client::{Config, blocking::Cluster, params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let cluster = Cluster::new(servers.parse::<Config>()?.database("quickstart"))?;
    let mut conn = cluster.connect()?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, at DATETIME)",
        &[],
    )?;
    let result = conn.execute(
        "INSERT INTO visits (at) VALUES (?)",
        &params![SystemTime::now()],
    )?;
    println!("inserted row {}", result.last_insert_id);
    for row in conn.query("SELECT count(*), max(at) FROM visits", &[])? {
        let row = row?;
        let count: u64 = row.get(0)?;
        let last: Option<SystemTime> = row.get(1)?;
        println!("visits so far: {count}, the last at {last:?}");
    }
    for node in conn.cluster()? {
        println!("node {} at {} ({:?})", node.id, node.address, node.role);
    }
    Ok(())
}

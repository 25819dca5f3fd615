//! The quickstart with the blocking API: no async runtime in sight.
//!
//! Usage: `cargo run -p dqlite-client --example blocking -- 127.0.0.1:9001`

use dqlite_client::{Config, Value, blocking::Cluster};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let cluster = Cluster::new(servers.parse::<Config>()?.database("quickstart"))?;
    let mut conn = cluster.connect()?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS visits (id INTEGER PRIMARY KEY, at TEXT)",
        &[],
    )?;
    let result = conn.execute(
        "INSERT INTO visits (at) VALUES (?)",
        &[Value::from("2026-11-25 12:00:00")],
    )?;
    println!("inserted row {}", result.last_insert_id);
    for row in conn.query("SELECT count(*) FROM visits", &[])? {
        println!("visits so far: {:?}", row?.values());
    }
    for node in conn.cluster()? {
        println!("node {} at {} ({:?})", node.id, node.address, node.role);
    }
    Ok(())
}

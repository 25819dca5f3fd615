//! Connects to a dqlite cluster, writes a few rows in a transaction and reads them back.
//!
//! Usage: `cargo run -p dqlite-client --example quickstart -- 127.0.0.1:9001,127.0.0.1:9002`

use dqlite_client::{Cluster, Config, params};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let servers = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let cluster = Cluster::new(servers.parse::<Config>()?.database("quickstart"));
    let mut conn = cluster.connect().await?;
    println!("connected to the leader at {}", conn.address());

    conn.execute_script(
        "CREATE TABLE IF NOT EXISTS fruit (name TEXT PRIMARY KEY, colour TEXT, weight REAL);
         DELETE FROM fruit;",
    )
    .await?;
    // Rolled back if anything below returns early with `?`.
    let mut tx = conn.transaction().await?;
    for (name, colour, weight) in [("apple", "red", 0.2), ("banana", "yellow", 0.15)] {
        tx.execute(
            "INSERT INTO fruit VALUES (?, ?, ?)",
            &params![name, colour, weight],
        )
        .await?;
    }
    tx.commit().await?;

    let mut rows = conn
        .query("SELECT name, colour, weight FROM fruit ORDER BY name", &[])
        .await?;
    println!("{}", rows.columns().join(" | "));
    while let Some(row) = rows.next().await? {
        let name: String = row.get(0)?;
        let colour: String = row.get(1)?;
        let weight: f64 = row.get(2)?;
        println!("{name} | {colour} | {weight}");
    }
    Ok(())
}

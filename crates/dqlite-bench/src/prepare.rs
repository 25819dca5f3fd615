//! The tables the workloads use, created and filled once per suite (untimed).

use dqlite_client::{Value, blocking};

use crate::worker;

/// Rows of the w4 table (W4, W5).
const W4_ROWS: i64 = 200_000;
/// Rows of W6's ORM table.
const W6_ORM_ROWS: i64 = 10_000;

/// Creates the tables: w2 and w3 (written by W2/W3), w4 (200,000 rows for W4 and W5),
/// w6 and w6orm (SQLAlchemy), w8 (written by W8) and w8out (one blob of each size in
/// `blob_sizes`, read by W8).
pub fn tables(address: &str, blob_sizes: &[u64]) -> Result<(), String> {
    let mut conn = blocking::Cluster::new(worker::config(address)?)
        .and_then(|c| c.connect())
        .map_err(|e| e.to_string())?;
    let e = |e: dqlite_client::Error| e.to_string();
    conn.execute_script(
        "CREATE TABLE IF NOT EXISTS w2 (v INTEGER);
         CREATE TABLE IF NOT EXISTS w3 (i INTEGER, f REAL, t TEXT, b BLOB, n INTEGER);
         DROP TABLE IF EXISTS w4;
         CREATE TABLE w4 (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n INTEGER);
         DROP TABLE IF EXISTS w6;
         CREATE TABLE w6 (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n INTEGER);
         DROP TABLE IF EXISTS w6orm;
         CREATE TABLE w6orm (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB,
                             n INTEGER);
         CREATE TABLE IF NOT EXISTS w8 (id INTEGER PRIMARY KEY, b BLOB);
         DROP TABLE IF EXISTS w8out;
         CREATE TABLE w8out (size INTEGER PRIMARY KEY, b BLOB);",
    )
    .map_err(e)?;
    conn.execute(
        "INSERT INTO w4 (i, f, t, b, n)
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
         SELECT x, x * 0.5, printf('%020d', x), randomblob(16),
                CASE WHEN x % 2 = 0 THEN NULL ELSE x END FROM c",
        &[Value::Integer(W4_ROWS)],
    )
    .map_err(e)?;
    conn.execute(
        "INSERT INTO w6orm SELECT * FROM w4 WHERE id <= ?",
        &[Value::Integer(W6_ORM_ROWS)],
    )
    .map_err(e)?;
    for &size in blob_sizes {
        let size = Value::Integer(i64::try_from(size).map_err(|e| e.to_string())?);
        conn.execute(
            "INSERT INTO w8out (size, b) VALUES (?, randomblob(?))",
            &[size.clone(), size],
        )
        .map_err(e)?;
    }
    Ok(())
}

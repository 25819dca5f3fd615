//! The codec without a network: encodes the first frames a client sends, then decodes a
//! ROWS reply captured from a real server and prints it as a table.
//!
//! `cargo run -p dqlite-wire --example roundtrip`

use std::error::Error;

use bytes::BytesMut;
use dqlite_wire::{FrameDecoder, PROTOCOL_VERSION, Request, Response, Value};

/// The reply to `SELECT a, b, c, d, e FROM v` (docs/protocol.md §11, V7): a mixed row and
/// an all-NULL row. Note the blob's padding byte 0x33: servers do not clean padding.
#[rustfmt::skip]
const V7_ROWS: &[u8] = &[
    0x14, 0, 0, 0, 7, 0, 0, 0, // header: 20 words, ROWS
    5, 0, 0, 0, 0, 0, 0, 0, // 5 columns
    b'a', 0, 0, 0, 0, 0, 0, 0,
    b'b', 0, 0, 0, 0, 0, 0, 0,
    b'c', 0, 0, 0, 0, 0, 0, 0,
    b'd', 0, 0, 0, 0, 0, 0, 0,
    b'e', 0, 0, 0, 0, 0, 0, 0,
    0x21, 0x43, 0x05, 0, 0, 0, 0, 0, // row types: INTEGER FLOAT | TEXT BLOB | NULL
    42, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 1.5
    b'h', b'i', 0, 0, 0, 0, 0, 0,
    5, 0, 0, 0, 0, 0, 0, 0, // blob length
    0xde, 0xad, 0xbe, 0xef, 0x01, 0x33, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, // NULL
    0x55, 0x55, 0x05, 0, 0, 0, 0, 0, // row types: all NULL
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // DONE
];

/// Prints bytes as 8-byte words, one per line.
fn print_hex(label: &str, bytes: &[u8]) {
    println!("{label} ({} bytes)", bytes.len());
    for word in bytes.chunks(8) {
        let hex: Vec<String> = word.iter().map(|b| format!("{b:02x}")).collect();
        println!("    {}", hex.join(" "));
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // A client sends the protocol version word, then one frame per request.
    print_hex("version word", &PROTOCOL_VERSION.to_le_bytes());
    let params = [Value::Integer(1), Value::from("one")];
    let requests = [
        Request::Leader,
        Request::Open {
            name: "demo",
            flags: 0,
            vfs: "volatile",
        },
        Request::ExecSql {
            db_id: 0,
            sql: "INSERT INTO t (n, s) VALUES (?, ?)",
            params: params[..].into(),
            schema: 0,
        },
        Request::QuerySql {
            db_id: 0,
            sql: "SELECT a, b, c, d, e FROM v",
            params: Vec::new().into(),
            schema: 0,
        },
    ];
    for request in &requests {
        let mut frame = BytesMut::new();
        request.encode(&mut frame)?;
        print_hex(request.name(), &frame);
    }

    // The server's reply, cut from the receive buffer and decoded without copying.
    let mut received = BytesMut::from(V7_ROWS);
    let (header, body) = FrameDecoder::default()
        .decode(&mut received)?
        .ok_or("incomplete frame")?;
    let Response::Rows(frame) = Response::decode(&header, body)? else {
        return Err("expected a ROWS frame".into());
    };

    let names: Vec<String> = frame.column_names().map(str::to_owned).collect();
    let rows: Vec<Vec<String>> = frame
        .rows()
        .map(|row| row.values().map(|value| value.to_string()).collect())
        .collect();
    let mut widths: Vec<usize> = names.iter().map(String::len).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    println!();
    line(&names);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in &rows {
        line(row);
    }
    let end = if frame.is_done() {
        "DONE"
    } else {
        "PART: more frames follow"
    };
    println!("{} rows, {end}", frame.row_count());
    Ok(())
}

//! FAILURE frames as servers send them when a statement fails while its rows are being
//! stepped: the bytes below were captured from real nodes (dqlite 1.11.1 and 1.18.7
//! send these; 1.18.1 sends the same for the SELECTs, and a plain failure for the
//! constraint on INSERT ... RETURNING), with the column header (and any whole rows) the
//! server had written before the failure still in the body.

#![allow(clippy::unwrap_used, clippy::panic)]

use bytes::Bytes;
use dqlite_wire::{Header, Response, response_type};

fn decode(words: &[[u8; 8]]) -> Response {
    let body: Vec<u8> = words.concat();
    let header = Header {
        words: u32::try_from(words.len()).unwrap(),
        kind: response_type::FAILURE,
        schema: 0,
    };
    Response::decode(&header, Bytes::from(body)).unwrap()
}

fn failure(code: u64, message: &str) -> Response {
    Response::Failure {
        code,
        message: message.into(),
    }
}

#[test]
fn a_constraint_on_insert_returning_follows_the_column_header() {
    // INSERT INTO t (id, x) VALUES (2, 'a') RETURNING id, with x UNIQUE and 'a' taken.
    let words = [
        *b"\x01\0\0\0\0\0\0\0",   // one column
        *b"id\0\0\0\0\0\0",       // named "id"
        *b"\x13\x08\0\0\0\0\0\0", // 2067, SQLITE_CONSTRAINT_UNIQUE
        *b"UNIQUE c",
        *b"onstrain",
        *b"t failed",
        *b": t.x\0\0\0",
    ];
    assert_eq!(
        decode(&words),
        failure(2067, "UNIQUE constraint failed: t.x")
    );
}

#[test]
fn a_runtime_error_at_the_first_step_follows_the_column_header() {
    // SELECT 1 AS one, json('not json') AS j
    let words = [
        *b"\x02\0\0\0\0\0\0\0",
        *b"one\0\0\0\0\0",
        *b"j\0\0\0\0\0\0\0",
        *b"\x01\0\0\0\0\0\0\0",
        *b"malforme",
        *b"d JSON\0\0",
    ];
    assert_eq!(decode(&words), failure(1, "malformed JSON"));
}

#[test]
fn a_runtime_error_after_a_row_follows_that_row() {
    // SELECT id, CASE WHEN id > 1 THEN json('x') END
    //   FROM (SELECT 1 AS id UNION ALL SELECT 2): row (1, NULL), then the failure.
    let words = [
        *b"\x02\0\0\0\0\0\0\0",
        *b"id\0\0\0\0\0\0",
        *b"CASE WHE",
        *b"N id > 1",
        *b" THEN js",
        *b"on('x') ",
        *b"END\0\0\0\0\0",
        *b"\x51\0\0\0\0\0\0\0", // row header: INTEGER, NULL
        *b"\x01\0\0\0\0\0\0\0",
        *b"\0\0\0\0\0\0\0\0",
        *b"\x01\0\0\0\0\0\0\0",
        *b"malforme",
        *b"d JSON\0\0",
    ];
    assert_eq!(decode(&words), failure(1, "malformed JSON"));
}

#[test]
fn a_plain_failure_is_read_as_it_is() {
    let words = [*b"\x13\0\0\0\0\0\0\0", *b"boom\0\0\0\0"];
    assert_eq!(decode(&words), failure(19, "boom"));
    // Trailing bytes that are no ROWS body are ignored, as for every response.
    let words = [*b"\x13\0\0\0\0\0\0\0", *b"boom\0\0\0\0", [0xab; 8]];
    assert_eq!(decode(&words), failure(19, "boom"));
}

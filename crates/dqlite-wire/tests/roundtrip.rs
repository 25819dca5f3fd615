//! Property tests: every request and response survives encode → decode → encode, and the
//! encoder refuses what cannot travel.
//!
//! For every message `x`: `decode(encode(x)) == x` and `encode(decode(encode(x))) ==
//! encode(x)`. Floats are compared by bit pattern, so NaN parameters (with any payload)
//! must come back identical too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use dqlite_wire::{
    EncodeError, File, Header, NodeInfo, Request, Response, Role, RowsEnd, RowsFrame, Value,
    ValueRef, decode_servers, request_type,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Strategies

/// Text that can travel: any Unicode except NUL, up to 24 characters (so up to 96 bytes,
/// across several words).
fn text() -> impl Strategy<Value = String> + Clone {
    "[^\\x00]{0,24}"
}

/// `Request` borrows its text, and proptest values must own theirs: the strategies leak
/// the generated strings (a few hundred kilobytes over a run).
fn leaked_text() -> impl Strategy<Value = &'static str> + Clone {
    text().prop_map(|s| &*Box::leak(s.into_boxed_str()))
}

/// Any bit pattern, with NaN, infinities and signed zeros made likely.
fn float() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::from_bits(0x7ff0_0000_0000_0001)), // a signalling NaN
        Just(-0.0),
        Just(f64::INFINITY),
        any::<f64>(),
    ]
}

/// A value a client may send: everything but UNIXTIME.
fn param() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Integer),
        float().prop_map(Value::Float),
        text().prop_map(Value::Text),
        vec(any::<u8>(), 0..40).prop_map(Value::Blob),
        Just(Value::Null),
        text().prop_map(Value::Iso8601),
        any::<bool>().prop_map(Value::Boolean),
    ]
    .boxed()
}

/// Any value, UNIXTIME included (rows carry it; only the unchecked encoder sends it).
fn value() -> BoxedStrategy<Value> {
    prop_oneof![7 => param(), 1 => any::<i64>().prop_map(Value::UnixTime)].boxed()
}

/// A parameter tuple and its schema: schema 0 up to 255 values, schema 1 beyond.
fn tuple(value: BoxedStrategy<Value>) -> impl Strategy<Value = (Cow<'static, [Value]>, u8)> {
    prop_oneof![
        8 => (vec(value.clone(), 0..=9), 0..=1u8),
        1 => (vec(value.clone(), 250..=255), Just(0u8)),
        1 => (vec(value, 250..=300), Just(1u8)),
    ]
    .prop_map(|(params, schema)| (Cow::Owned(params), schema))
}

fn role() -> impl Strategy<Value = Role> + Clone {
    prop_oneof![Just(Role::Voter), Just(Role::Standby), Just(Role::Spare)]
}

/// Every request variant, with parameters drawn from `value` and formats that include
/// the never-send ones.
fn request_with(value: BoxedStrategy<Value>) -> impl Strategy<Value = Request<'static>> {
    let id = any::<u64>();
    let format = prop_oneof![Just(0u64), Just(1), Just(2), any::<u64>()];
    prop_oneof![
        Just(Request::Leader),
        id.prop_map(|id| Request::Client { id }),
        id.prop_map(|timestamp| Request::Heartbeat { timestamp }),
        (leaked_text(), id, leaked_text()).prop_map(|(name, flags, vfs)| Request::Open {
            name,
            flags,
            vfs
        }),
        (id, leaked_text()).prop_map(|(db_id, sql)| Request::Prepare { db_id, sql }),
        (id, leaked_text()).prop_map(|(db_id, sql)| Request::PrepareWithOffset { db_id, sql }),
        (any::<u32>(), any::<u32>(), tuple(value.clone())).prop_map(
            |(db_id, stmt_id, (params, schema))| Request::Exec {
                db_id,
                stmt_id,
                params,
                schema
            }
        ),
        (any::<u32>(), any::<u32>(), tuple(value.clone())).prop_map(
            |(db_id, stmt_id, (params, schema))| Request::Query {
                db_id,
                stmt_id,
                params,
                schema
            }
        ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(db_id, stmt_id)| Request::Finalize { db_id, stmt_id }),
        (id, leaked_text(), tuple(value.clone())).prop_map(|(db_id, sql, (params, schema))| {
            Request::ExecSql {
                db_id,
                sql,
                params,
                schema,
            }
        }),
        (id, leaked_text(), tuple(value)).prop_map(|(db_id, sql, (params, schema))| {
            Request::QuerySql {
                db_id,
                sql,
                params,
                schema,
            }
        }),
        id.prop_map(|db_id| Request::Interrupt { db_id }),
        (id, leaked_text()).prop_map(|(id, address)| Request::Connect { id, address }),
        (id, leaked_text()).prop_map(|(id, address)| Request::Add { id, address }),
        (id, option::of(role())).prop_map(|(id, role)| Request::Assign { id, role }),
        id.prop_map(|id| Request::Remove { id }),
        leaked_text().prop_map(|name| Request::Dump { name }),
        format
            .clone()
            .prop_map(|format| Request::Cluster { format }),
        id.prop_map(|id| Request::Transfer { id }),
        format.prop_map(|format| Request::Describe { format }),
        id.prop_map(|weight| Request::Weight { weight }),
    ]
}

/// A ROWS frame built from random names and rows, with the rows it holds.
fn rows_frame() -> impl Strategy<Value = (Vec<String>, Vec<Vec<Value>>, RowsEnd)> {
    let end = prop_oneof![Just(RowsEnd::Done), Just(RowsEnd::Part)];
    // Up to 20 columns: more than 16 needs a second word of row header.
    (0..=20usize, end).prop_flat_map(|(columns, end)| {
        let rows = if columns == 0 {
            Just(Vec::new()).boxed() // a zero-column result has no rows
        } else {
            vec(vec(value(), columns), 0..6).boxed()
        };
        (vec(text(), columns), rows, Just(end))
    })
}

fn build((names, rows, end): &(Vec<String>, Vec<Vec<Value>>, RowsEnd)) -> RowsFrame {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    RowsFrame::build(&names, rows, *end).unwrap()
}

/// Every response variant. SERVERS lists carry a role for every node (format 1), the
/// only format `Response::decode` reads.
fn response() -> impl Strategy<Value = Response> {
    let id = any::<u64>();
    let node = (id, text(), role()).prop_map(|(id, address, role)| NodeInfo {
        id,
        address,
        role: Some(role),
    });
    let file = (text(), vec(any::<u8>(), 0..100)).prop_map(|(name, data)| File {
        name,
        data: Bytes::from(data),
    });
    prop_oneof![
        (id, text()).prop_map(|(code, message)| Response::Failure { code, message }),
        (id, text()).prop_map(|(id, address)| Response::Server { id, address }),
        id.prop_map(|heartbeat_timeout| Response::Welcome { heartbeat_timeout }),
        vec(node, 0..5).prop_map(Response::Servers),
        any::<u32>().prop_map(|db_id| Response::Db { db_id }),
        (any::<u32>(), any::<u32>(), id, option::of(id)).prop_map(
            |(db_id, stmt_id, param_count, tail_offset)| Response::Stmt {
                db_id,
                stmt_id,
                param_count,
                tail_offset
            }
        ),
        (id, id).prop_map(|(last_insert_id, rows_affected)| Response::Result {
            last_insert_id,
            rows_affected
        }),
        rows_frame().prop_map(|spec| Response::Rows(build(&spec))),
        Just(Response::Empty),
        vec(file, 0..3).prop_map(Response::Files),
        (id, id).prop_map(|(failure_domain, weight)| Response::Metadata {
            failure_domain,
            weight
        }),
    ]
}

/// The never-send requests: HEARTBEAT, CONNECT, DESCRIBE with a format other than 0,
/// CLUSTER with a format above 1, and UNIXTIME parameters.
fn never_send() -> impl Strategy<Value = Request<'static>> {
    prop_oneof![
        any::<u64>().prop_map(|timestamp| Request::Heartbeat { timestamp }),
        (any::<u64>(), leaked_text()).prop_map(|(id, address)| Request::Connect { id, address }),
        (1..=u64::MAX).prop_map(|format| Request::Describe { format }),
        (2..=u64::MAX).prop_map(|format| Request::Cluster { format }),
        (vec(param(), 0..5), any::<i64>(), 0..=1u8).prop_map(|(mut params, t, schema)| {
            params.push(Value::UnixTime(t));
            Request::QuerySql {
                db_id: 0,
                sql: "SELECT ?",
                params: Cow::Owned(params),
                schema,
            }
        }),
    ]
}

/// A request with `text` in text field number `field` (0..13), and the field's name as
/// `EncodeError::NulInText` reports it. `params` are two values; the second is replaced
/// for the parameter fields.
fn with_text_in<'a>(field: usize, text: &'a str, params: &[Value]) -> (Request<'a>, &'static str) {
    let with = |value: Value| {
        let mut params = params.to_vec();
        params[1] = value;
        Cow::Owned(params)
    };
    let none = Cow::Borrowed(&[][..]);
    match field {
        0 => (
            Request::Open {
                name: text,
                flags: 0,
                vfs: "",
            },
            "database name",
        ),
        1 => (
            Request::Open {
                name: "demo",
                flags: 0,
                vfs: text,
            },
            "vfs name",
        ),
        2 => (
            Request::Prepare {
                db_id: 0,
                sql: text,
            },
            "sql",
        ),
        3 => (
            Request::PrepareWithOffset {
                db_id: 0,
                sql: text,
            },
            "sql",
        ),
        4 => (
            Request::ExecSql {
                db_id: 0,
                sql: text,
                params: none,
                schema: 0,
            },
            "sql",
        ),
        5 => (
            Request::QuerySql {
                db_id: 0,
                sql: text,
                params: none,
                schema: 1,
            },
            "sql",
        ),
        6 => {
            let params = with(Value::Text(text.into()));
            (
                Request::Exec {
                    db_id: 0,
                    stmt_id: 0,
                    params,
                    schema: 0,
                },
                "parameter 2",
            )
        }
        7 => {
            let params = with(Value::Iso8601(text.into()));
            (
                Request::Query {
                    db_id: 0,
                    stmt_id: 0,
                    params,
                    schema: 1,
                },
                "parameter 2",
            )
        }
        8 => {
            let params = with(Value::Text(text.into()));
            (
                Request::ExecSql {
                    db_id: 0,
                    sql: "?",
                    params,
                    schema: 0,
                },
                "parameter 2",
            )
        }
        9 => {
            let params = with(Value::Iso8601(text.into()));
            (
                Request::QuerySql {
                    db_id: 0,
                    sql: "?",
                    params,
                    schema: 0,
                },
                "parameter 2",
            )
        }
        10 => (
            Request::Add {
                id: 2,
                address: text,
            },
            "address",
        ),
        11 => (Request::Dump { name: text }, "database name"),
        _ => (
            Request::Connect {
                id: 2,
                address: text,
            },
            "address",
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Comparing by bit pattern

/// A value with its float as bits, so that NaN equals itself.
#[derive(Debug, PartialEq)]
enum Key {
    Integer(i64),
    Float(u64),
    Text(String),
    Blob(Vec<u8>),
    Null,
    UnixTime(i64),
    Iso8601(String),
    Boolean(bool),
}

fn key(value: &Value) -> Key {
    match value {
        Value::Integer(v) => Key::Integer(*v),
        Value::Float(v) => Key::Float(v.to_bits()),
        Value::Text(v) => Key::Text(v.clone()),
        Value::Blob(v) => Key::Blob(v.clone()),
        Value::Null => Key::Null,
        Value::UnixTime(v) => Key::UnixTime(*v),
        Value::Iso8601(v) => Key::Iso8601(v.clone()),
        Value::Boolean(v) => Key::Boolean(*v),
    }
}

fn keys(values: &[Value]) -> Vec<Key> {
    values.iter().map(key).collect()
}

/// The parameters of a request, if it has a tuple.
fn params<'r>(request: &'r Request<'_>) -> &'r [Value] {
    match request {
        Request::Exec { params, .. }
        | Request::Query { params, .. }
        | Request::ExecSql { params, .. }
        | Request::QuerySql { params, .. } => params,
        _ => &[],
    }
}

/// A request split into its parameters (as keys) and everything else, which `==`
/// compares exactly.
fn comparable<'a>(request: &Request<'a>) -> (Request<'a>, Vec<Key>) {
    let mut rest = request.clone();
    if let Request::Exec { params, .. }
    | Request::Query { params, .. }
    | Request::ExecSql { params, .. }
    | Request::QuerySql { params, .. } = &mut rest
    {
        *params = Cow::Borrowed(&[]);
    }
    (rest, keys(params(request)))
}

/// Whether `err` is a NUL-in-text refusal at `at`.
fn nul_at(err: &EncodeError, at: usize) -> bool {
    matches!(err, EncodeError::NulInText { offset, .. } if *offset == at)
}

fn must_not_send(request: &Request<'_>) -> bool {
    request.never_send_reason().is_some()
        || params(request)
            .iter()
            .any(|v| matches!(v, Value::UnixTime(_)))
}

/// The rows of a frame as owned values.
fn owned_rows(frame: &RowsFrame) -> Vec<Vec<Value>> {
    frame
        .rows()
        .map(|row| row.values().map(|v| v.to_owned().unwrap()).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Round trips

/// Splits an encoded frame, checking its header against the message.
fn split(frame: &[u8], kind: u8) -> (Header, &[u8]) {
    let header = Header::decode(frame).unwrap();
    assert_eq!(header.kind, kind);
    assert_eq!(&frame[6..8], &[0, 0], "the unused header bytes are zero");
    let body = &frame[Header::SIZE..];
    assert_eq!(header.body_len(), body.len());
    assert!(!body.is_empty(), "a frame always has a body");
    (header, body)
}

/// Encodes with `Request::encode` (`checked`) or `Request::encode_unchecked`.
fn encode(request: &Request<'_>, checked: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
    if checked {
        request.encode(out)
    } else {
        request.encode_unchecked(out)
    }
}

/// `decode(encode(x)) == x` and `encode(decode(encode(x))) == encode(x)` for a request,
/// with the checked or the unchecked encoder.
fn assert_request_round_trip(request: &Request<'_>, checked: bool) -> BytesMut {
    let mut first = BytesMut::new();
    encode(request, checked, &mut first).unwrap();
    let (header, body) = split(&first, request.kind());
    assert_eq!(header.schema, request.schema());
    let decoded = Request::decode(&header, body).unwrap();
    assert_eq!(comparable(&decoded), comparable(request));
    let mut second = BytesMut::new();
    encode(&decoded, checked, &mut second).unwrap();
    assert_eq!(first, second);
    first
}

proptest! {
    /// Requests a client may send: `encode` accepts them, and they round trip.
    #[test]
    fn sendable_requests_round_trip(
        request in request_with(param()).prop_filter("sendable", |r| !must_not_send(r))
    ) {
        let checked = assert_request_round_trip(&request, true);
        let mut unchecked = BytesMut::new();
        request.encode_unchecked(&mut unchecked).unwrap();
        prop_assert_eq!(checked, unchecked);
    }

    /// Every request, never-send ones included, round trips through `encode_unchecked`;
    /// `encode` refuses exactly the never-send ones (and UNIXTIME parameters), writing
    /// nothing.
    #[test]
    fn every_request_round_trips_unchecked(request in request_with(value())) {
        assert_request_round_trip(&request, false);
        let mut out = BytesMut::new();
        match request.encode(&mut out) {
            Ok(()) => prop_assert!(!must_not_send(&request)),
            Err(EncodeError::NeverSend(_)) => {
                prop_assert!(must_not_send(&request));
                prop_assert!(out.is_empty());
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }

    /// The never-send requests specifically.
    #[test]
    fn never_send_requests_are_refused(request in never_send()) {
        let mut out = BytesMut::new();
        prop_assert!(matches!(request.encode(&mut out), Err(EncodeError::NeverSend(_))));
        prop_assert!(out.is_empty());
        assert_request_round_trip(&request, false);
    }

    /// The tuple layout on the wire (docs/protocol.md §4.2), checked byte by byte: a count
    /// (one byte in schema 0, four in schema 1), one type code per value, zero padding to a
    /// word, then the values; no tuple at all for no parameters.
    #[test]
    fn parameter_tuple_layout(
        (params, schema) in tuple(param()),
    ) {
        let request = Request::ExecSql { db_id: 0, sql: "", params: params.clone(), schema };
        let mut out = BytesMut::new();
        request.encode(&mut out).unwrap();
        let tuple = &out[24..]; // header, db_id, "" (one word)
        if params.is_empty() {
            prop_assert!(tuple.is_empty());
            return Ok(());
        }
        let n = params.len();
        let prefix = if schema == 0 {
            prop_assert_eq!(tuple[0] as usize, n);
            1
        } else {
            prop_assert_eq!(u32::from_le_bytes(tuple[..4].try_into().unwrap()) as usize, n);
            4
        };
        let header_len = (prefix + n).div_ceil(8) * 8;
        let codes: Vec<u8> = params.iter().map(|v| v.value_type().code()).collect();
        prop_assert_eq!(&tuple[prefix..prefix + n], &codes[..]);
        prop_assert!(tuple[prefix + n..header_len].iter().all(|&b| b == 0));
        let values: usize = params
            .iter()
            .map(|v| match v {
                Value::Text(t) | Value::Iso8601(t) => (t.len() + 1).div_ceil(8) * 8,
                Value::Blob(b) => 8 + b.len().div_ceil(8) * 8,
                _ => 8,
            })
            .sum();
        prop_assert_eq!(tuple.len(), header_len + values);
    }

    /// More than 255 parameters do not fit schema 0; schema 1 takes them.
    #[test]
    fn schema0_refuses_more_than_255_params(
        params in vec(param(), 256..=400),
        kind in 0..4usize,
    ) {
        let make = |schema: u8| {
            let params = Cow::Borrowed(&params[..]);
            match kind {
                0 => Request::Exec { db_id: 0, stmt_id: 1, params, schema },
                1 => Request::Query { db_id: 0, stmt_id: 1, params, schema },
                2 => Request::ExecSql { db_id: 0, sql: "x", params, schema },
                _ => Request::QuerySql { db_id: 0, sql: "x", params, schema },
            }
        };
        for checked in [true, false] {
            let mut out = BytesMut::new();
            prop_assert_eq!(
                encode(&make(0), checked, &mut out),
                Err(EncodeError::TooManyParams { count: params.len(), schema: 0, max: 255 })
            );
            prop_assert!(out.is_empty());
        }
        assert_request_round_trip(&make(1), true);
    }

    /// A tuple schema other than 0 or 1 does not exist; the error names the request's type.
    #[test]
    fn unknown_tuple_schema_is_refused(
        schema in 2..=u8::MAX,
        params in vec(param(), 0..3),
        kind in 0..4usize,
    ) {
        let params = Cow::Owned(params);
        let request = match kind {
            0 => Request::Exec { db_id: 0, stmt_id: 0, params, schema },
            1 => Request::Query { db_id: 0, stmt_id: 0, params, schema },
            2 => Request::ExecSql { db_id: 0, sql: "", params, schema },
            _ => Request::QuerySql { db_id: 0, sql: "", params, schema },
        };
        for checked in [true, false] {
            let mut out = BytesMut::new();
            prop_assert_eq!(
                encode(&request, checked, &mut out),
                Err(EncodeError::UnknownSchema { kind: request.kind(), schema })
            );
            prop_assert!(out.is_empty());
        }
    }

    /// Text with a NUL cannot travel: every text field of every request refuses it, at
    /// the NUL's offset, and nothing is written.
    #[test]
    fn requests_refuse_text_with_nul(
        before in text(),
        after in text(),
        field in 0..13usize,
    ) {
        let bad = format!("{before}\0{after}");
        let params = [Value::Integer(1), Value::Null];
        let (request, what) = with_text_in(field, &bad, &params);
        let expected = Err(EncodeError::NulInText { what: what.into(), offset: before.len() });
        let mut out = BytesMut::new();
        if request.never_send_reason().is_none() {
            prop_assert_eq!(request.encode(&mut out), expected.clone());
        }
        prop_assert_eq!(request.encode_unchecked(&mut out), expected);
        prop_assert!(out.is_empty());
    }

    /// Responses (what fake servers send) refuse NUL in text too, and so do ROWS frames.
    #[test]
    fn responses_and_rows_refuse_text_with_nul(
        before in text(),
        after in text(),
        field in 0..6usize,
    ) {
        let bad = format!("{before}\0{after}");
        let response = match field {
            0 => Response::Failure { code: 1, message: bad },
            1 => Response::Server { id: 1, address: bad },
            2 => Response::Servers(vec![NodeInfo { id: 1, address: bad, role: None }]),
            3 => Response::Files(vec![File { name: bad, data: Bytes::new() }]),
            4 => {
                let err = RowsFrame::build(&["a", &bad], &[], RowsEnd::Done).unwrap_err();
                prop_assert!(nul_at(&err, before.len()), "{:?}", err);
                return Ok(());
            }
            _ => {
                let rows = [vec![Value::Text(bad)]];
                let err = RowsFrame::build(&["a"], &rows, RowsEnd::Done).unwrap_err();
                prop_assert!(nul_at(&err, before.len()), "{:?}", err);
                return Ok(());
            }
        };
        let err = response.encode(&mut BytesMut::new()).unwrap_err();
        prop_assert!(nul_at(&err, before.len()), "{:?}", err);
    }

    /// Every response round trips: `decode(encode(x)) == x` and the second encoding is
    /// the first. (ROWS frames compare by their bytes, so NaN values compare exactly.)
    #[test]
    fn responses_round_trip(response in response()) {
        let mut first = BytesMut::new();
        response.encode(&mut first).unwrap();
        let (header, body) = split(&first, response.kind());
        // STMT has schema 1 exactly when it carries an offset; everything else schema 0.
        let schema = u8::from(matches!(response, Response::Stmt { tail_offset: Some(_), .. }));
        prop_assert_eq!(header.schema, schema);
        let decoded = Response::decode(&header, Bytes::copy_from_slice(body)).unwrap();
        prop_assert_eq!(&decoded, &response);
        let mut second = BytesMut::new();
        decoded.encode(&mut second).unwrap();
        prop_assert_eq!(first, second);
    }

    /// ROWS frames give back the values they were built from, floats bit for bit, and
    /// per-row types.
    #[test]
    fn rows_frames_round_trip(spec in rows_frame()) {
        let frame = build(&spec);
        let (names, rows, end) = &spec;
        prop_assert!(frame.column_names().eq(names.iter().map(String::as_str)));
        prop_assert_eq!(frame.column_name(names.len()), None);
        prop_assert_eq!(frame.row_count(), rows.len());
        prop_assert!(frame.row(rows.len()).is_none());
        prop_assert_eq!(frame.end(), *end);
        let back = owned_rows(&frame);
        prop_assert_eq!(
            back.iter().map(|r| keys(r)).collect::<Vec<_>>(),
            rows.iter().map(|r| keys(r)).collect::<Vec<_>>()
        );
        for (row, expected) in frame.rows().zip(rows) {
            for (index, value) in expected.iter().enumerate() {
                prop_assert_eq!(row.value_type(index), Some(value.value_type()));
                let got: ValueRef<'_> = row.get(index).unwrap();
                prop_assert_eq!(key(&got.to_owned().unwrap()), key(value));
            }
        }
        // Sent as a response and decoded again.
        let mut out = BytesMut::new();
        Response::Rows(frame.clone()).encode(&mut out).unwrap();
        let (header, body) = split(&out, 7);
        let decoded = Response::decode(&header, Bytes::copy_from_slice(body)).unwrap();
        let Response::Rows(again) = decoded else {
            panic!("not ROWS");
        };
        prop_assert_eq!(again, frame);
    }

    /// SERVERS without roles is format 0: `decode_servers(body, 0)` reads it back.
    #[test]
    fn servers_format0_round_trip(nodes in vec((any::<u64>(), text()), 1..5)) {
        let nodes: Vec<NodeInfo> = nodes
            .into_iter()
            .map(|(id, address)| NodeInfo { id, address, role: None })
            .collect();
        let mut out = BytesMut::new();
        Response::Servers(nodes.clone()).encode(&mut out).unwrap();
        let (_, body) = split(&out, 3);
        let size = |n: &NodeInfo| 8 + (n.address.len() + 1).div_ceil(8) * 8; // id, address
        prop_assert_eq!(body.len(), 8 + nodes.iter().map(size).sum::<usize>());
        prop_assert_eq!(decode_servers(body, 0).unwrap(), nodes);
    }
}

#[test]
fn request_type_codes_match_the_reference() {
    let cases = [
        (Request::Leader, request_type::LEADER, 0),
        (Request::Dump { name: "x" }, request_type::DUMP, 15),
        (Request::Weight { weight: 1 }, request_type::WEIGHT, 19),
    ];
    for (request, constant, code) in cases {
        assert_eq!(request.kind(), constant);
        assert_eq!(constant, code);
    }
}

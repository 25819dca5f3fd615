// The checks behind the `frame` fuzz target, shared with `tests/fuzz_replay.rs` through
// `include!` so that the fuzzer and `cargo test` run exactly the same code. (Plain comments
// only: an included file cannot carry inner attributes or inner doc comments.)
//
// `check` must never panic. A panic means either a decoder panicked on hostile bytes, or a
// decoded message did not survive re-encoding: encode(decode(x)) must decode to the same
// message, and encoding that again must give the same bytes.

use bytes::{Bytes, BytesMut};
use dqlite_wire::{
    EncodeError, FrameDecoder, Header, Request, Response, RowsFrame, Value, ValueRef,
    decode_servers,
};

/// Largest frame body the fuzzed stream decoder accepts (the fuzzer runs with inputs of at
/// most 64 KiB, so larger declared bodies can only be refused).
const FUZZ_MAX_BODY: usize = 1 << 16;

/// Runs every decoder of the crate over `data`.
fn check(data: &[u8]) {
    // 1. As a byte stream: cut frames with a capped FrameDecoder, decode each one.
    let decoder = FrameDecoder::new(FUZZ_MAX_BODY);
    let needed = decoder.needed(data);
    let mut buf = BytesMut::from(data);
    let mut frames = 0usize;
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some((header, body))) => {
                assert_eq!(body.len(), header.body_len());
                if frames == 0 {
                    assert_eq!(needed, Ok(Header::SIZE + body.len()));
                }
                frames += 1;
                check_frame(&header, body);
            }
            Ok(None) => {
                // Not enough bytes yet: `needed` must ask for more than there is.
                if let Ok(needed) = decoder.needed(&buf) {
                    assert!(needed > buf.len(), "needed {needed}, have {}", buf.len());
                }
                break;
            }
            Err(_) => break,
        }
    }

    // 2. As one frame whose length field is overridden to fit the input, so that mutated
    //    bodies are not all stopped by a length mismatch before reaching the body decoders.
    if let Some((head, rest)) = data.split_first_chunk::<8>() {
        let Ok(mut header) = Header::decode(head) else {
            panic!("8 bytes always make a header");
        };
        let Ok(words) = u32::try_from(rest.len() / 8) else {
            return;
        };
        header.words = words;
        if let Some(body) = rest.get(..header.body_len()) {
            check_frame(&header, Bytes::copy_from_slice(body));
        }
    }
}

/// Decodes one body as a response, as a request, and with the standalone decoders.
fn check_frame(header: &Header, body: Bytes) {
    check_response(header, body.clone());
    check_request(header, &body);
    if let Ok(frame) = RowsFrame::decode(body.clone()) {
        walk_rows(&frame);
    }
    for format in [0, 1] {
        if let Ok(nodes) = decode_servers(&body, format) {
            assert!(nodes.iter().all(|n| n.role.is_some() == (format == 1)));
        }
    }
}

/// Splits an encoded frame back into its header and body.
fn split_frame(mut encoded: BytesMut) -> (Header, Bytes) {
    let Ok(Some((header, body))) = FrameDecoder::new(usize::MAX).decode(&mut encoded) else {
        panic!("an encoded message is one whole frame");
    };
    assert!(
        encoded.is_empty(),
        "an encoded message is exactly one frame"
    );
    (header, body)
}

fn check_response(header: &Header, body: Bytes) {
    let Ok(response) = Response::decode(header, body) else {
        return;
    };
    assert_eq!(response.kind(), header.kind);
    if let Response::Rows(frame) = &response {
        walk_rows(frame);
    }
    let mut first = BytesMut::new();
    if let Err(e) = response.encode(&mut first) {
        panic!("decoded {} does not re-encode: {e}", response.name());
    }
    let (header2, body2) = split_frame(first.clone());
    let again = match Response::decode(&header2, body2) {
        Ok(again) => again,
        Err(e) => panic!("re-encoded {} does not decode: {e}", response.name()),
    };
    // Responses hold no floats outside ROWS bodies, which compare as bytes: == is exact.
    assert_eq!(again, response);
    let mut second = BytesMut::new();
    if let Err(e) = again.encode(&mut second) {
        panic!("{e}");
    }
    assert_eq!(first, second);
}

/// The parameters of a request, if it has any.
fn request_params<'r>(request: &'r Request<'_>) -> &'r [Value] {
    match request {
        Request::Exec { params, .. }
        | Request::Query { params, .. }
        | Request::ExecSql { params, .. }
        | Request::QuerySql { params, .. } => params,
        _ => &[],
    }
}

fn check_request(header: &Header, body: &[u8]) {
    let Ok(request) = Request::decode(header, body) else {
        return;
    };
    assert_eq!(request.kind(), header.kind);
    assert_eq!(request.schema(), header.schema);
    let mut first = BytesMut::new();
    if let Err(e) = request.encode_unchecked(&mut first) {
        panic!("decoded {} does not re-encode: {e}", request.name());
    }
    let (header2, body2) = split_frame(first.clone());
    let again = match Request::decode(&header2, &body2) {
        Ok(again) => again,
        Err(e) => panic!("re-encoded {} does not decode: {e}", request.name()),
    };
    // Parameters may hold NaN, which is not equal to itself: compare the Debug text (exact
    // for everything but NaN payloads) and the bytes of a second encoding (exact for those).
    assert_eq!(format!("{again:?}"), format!("{request:?}"));
    let mut second = BytesMut::new();
    if let Err(e) = again.encode_unchecked(&mut second) {
        panic!("{e}");
    }
    assert_eq!(first, second);

    // The checked encoder writes the same bytes, or refuses for a documented reason only.
    let mut checked = BytesMut::new();
    match request.encode(&mut checked) {
        Ok(()) => assert_eq!(checked, first),
        Err(EncodeError::NeverSend(_)) => assert!(
            request.never_send_reason().is_some()
                || request_params(&request)
                    .iter()
                    .any(|v| matches!(v, Value::UnixTime(_))),
            "{} refused without a reason",
            request.name()
        ),
        Err(e) => panic!("checked encoding of {} failed: {e}", request.name()),
    }
}

/// Equality that compares floats by bit pattern, so NaN equals itself.
fn same_value(a: &ValueRef<'_>, b: &ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Float(x), ValueRef::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Reads every name, row and value of a validated frame, and rebuilds it from the values.
fn walk_rows(frame: &RowsFrame) {
    let columns = frame.column_count();
    let names: Vec<&str> = frame.column_names().collect();
    assert_eq!(names.len(), columns);
    for (index, name) in names.iter().enumerate() {
        assert_eq!(frame.column_name(index), Some(*name));
    }
    assert_eq!(frame.column_name(columns), None);

    let mut rows: Vec<Vec<ValueRef<'_>>> = Vec::with_capacity(frame.row_count());
    for row in frame.rows() {
        assert_eq!(row.len(), columns);
        let values: Vec<ValueRef<'_>> = row.values().collect();
        assert_eq!(values.len(), columns, "a validated row yields every value");
        for (index, value) in values.iter().enumerate() {
            assert_eq!(row.value_type(index), Some(value.value_type()));
            let _ = value.as_str();
            let _ = value.to_string();
        }
        if let Some(last) = values.last() {
            assert!(row.get(columns - 1).is_some_and(|v| same_value(&v, last)));
        }
        assert_eq!(row.get(columns), None);
        assert_eq!(row.value_type(columns), None);
        rows.push(values);
    }
    assert_eq!(rows.len(), frame.row_count());
    assert_eq!(frame.rows().len(), frame.row_count());

    // Rebuilding from the typed values gives a frame with the same content (the bytes may
    // differ: padding and anything after the end marker are not kept).
    let owned: Result<Vec<Vec<Value>>, _> = rows
        .iter()
        .map(|row| row.iter().map(ValueRef::to_owned).collect())
        .collect();
    let Ok(owned) = owned else {
        return; // Text that is not UTF-8 has no owned form.
    };
    let rebuilt = match RowsFrame::build(&names, &owned, frame.end()) {
        Ok(rebuilt) => rebuilt,
        Err(e) => panic!("a decoded frame does not rebuild: {e}"),
    };
    assert_eq!(rebuilt.end(), frame.end());
    assert!(rebuilt.column_names().eq(names.iter().copied()));
    assert_eq!(rebuilt.row_count(), rows.len());
    for (row, expected) in rebuilt.rows().zip(&rows) {
        let values: Vec<ValueRef<'_>> = row.values().collect();
        assert_eq!(values.len(), expected.len());
        assert!(values.iter().zip(expected).all(|(a, b)| same_value(a, b)));
    }
}

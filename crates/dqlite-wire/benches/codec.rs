//! Codec throughput: decoding a frame of 5-column mixed rows, reading every value, and
//! encoding parameter tuples.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dqlite_wire::{Request, RowsEnd, RowsFrame, Value, ValueRef};
use std::hint::black_box;

/// The W4 row shape: INTEGER, REAL, 20-char TEXT, 16-byte BLOB, INTEGER or NULL.
fn mixed_rows(count: usize) -> Vec<Vec<Value>> {
    (0..count)
        .map(|i| {
            let i = i64::try_from(i).unwrap();
            vec![
                Value::Integer(i),
                Value::Float(i as f64 * 0.5),
                Value::Text(format!("{i:020}")),
                Value::Blob(vec![0xab; 16]),
                if i % 2 == 0 {
                    Value::Null
                } else {
                    Value::Integer(i)
                },
            ]
        })
        .collect()
}

fn decode_rows(c: &mut Criterion) {
    let rows = mixed_rows(1000);
    let frame = RowsFrame::build(&["i", "f", "t", "b", "n"], &rows, RowsEnd::Done).unwrap();
    let body = frame.body().clone();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(5 * 1000));
    group.bench_function("rows_5col_mixed_values", |b| {
        b.iter(|| {
            let frame = RowsFrame::decode(black_box(body.clone())).unwrap();
            let mut sum = 0i64;
            for row in frame.rows() {
                for value in row.values() {
                    match value {
                        ValueRef::Integer(v) => sum = sum.wrapping_add(v),
                        ValueRef::Float(v) => sum = sum.wrapping_add(v as i64),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            sum = sum.wrapping_add(t.len() as i64)
                        }
                        _ => {}
                    }
                }
            }
            black_box(sum)
        })
    });
    group.finish();
}

fn encode_params(c: &mut Criterion) {
    let params: Vec<Value> = mixed_rows(1).remove(0);
    let mut out = BytesMut::with_capacity(256);
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(5));
    group.bench_function("exec_sql_5_params", |b| {
        b.iter(|| {
            out.clear();
            Request::ExecSql {
                db_id: 0,
                sql: "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                params: black_box(&params[..]).into(),
                schema: 0,
            }
            .encode(&mut out)
            .unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, decode_rows, encode_params);
criterion_main!(benches);

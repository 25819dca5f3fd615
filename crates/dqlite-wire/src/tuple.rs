//! Tuples: parameter tuples (schema 0 with an 8-bit count, schema 1 with a 32-bit count)
//! and the value encodings they share with rows.

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};
use crate::primitive::{Reader, check_text, pad8, put_blob, put_text};
use crate::value::{Value, ValueRef, ValueType};

/// Most parameters a schema 0 tuple can count.
pub const MAX_PARAMS_SCHEMA0: usize = 255;
/// Most parameters a schema 1 tuple can count.
pub const MAX_PARAMS_SCHEMA1: usize = u32::MAX as usize;

/// Encoded size of one value.
pub(crate) fn value_size(value: &Value) -> usize {
    match value {
        Value::Text(t) | Value::Iso8601(t) => crate::primitive::text_size(t.len()),
        Value::Blob(b) => crate::primitive::blob_size(b.len()),
        _ => 8,
    }
}

/// Encoded size of a tuple header for `count` values.
pub(crate) fn params_header_size(count: usize, schema: u8) -> usize {
    let prefix = if schema == 0 { 1 } else { 4 };
    prefix + count + pad8(prefix + count)
}

/// Encoded size of a parameter tuple; 0 for no parameters (the tuple is left out).
pub(crate) fn params_size(params: &[Value], schema: u8) -> usize {
    if params.is_empty() {
        return 0;
    }
    params_header_size(params.len(), schema) + params.iter().map(value_size).sum::<usize>()
}

/// Checks that `params` can be sent with `schema`. With `checked`, refuses what servers
/// reject or misread: UNIXTIME parameters.
pub(crate) fn check_params(params: &[Value], schema: u8, checked: bool) -> Result<(), EncodeError> {
    let max = match schema {
        0 => MAX_PARAMS_SCHEMA0,
        1 => MAX_PARAMS_SCHEMA1,
        other => {
            return Err(EncodeError::UnknownSchema {
                kind: crate::header::request_type::EXEC,
                schema: other,
            });
        }
    };
    if params.len() > max {
        return Err(EncodeError::TooManyParams {
            count: params.len(),
            schema,
            max: max as u64,
        });
    }
    for (index, value) in params.iter().enumerate() {
        match value {
            Value::Text(t) | Value::Iso8601(t) => {
                check_text(t, || format!("parameter {}", index + 1))?;
            }
            Value::UnixTime(_) if checked => {
                return Err(EncodeError::NeverSend(
                    "a UNIXTIME parameter (every server rejects it; send an integer)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes a parameter tuple (nothing for no parameters). The caller ran [`check_params`].
pub(crate) fn put_params(out: &mut impl BufMut, params: &[Value], schema: u8) {
    if params.is_empty() {
        return;
    }
    let count = params.len();
    if schema == 0 {
        out.put_u8(u8::try_from(count).unwrap_or(u8::MAX));
    } else {
        out.put_u32_le(u32::try_from(count).unwrap_or(u32::MAX));
    }
    for value in params {
        out.put_u8(value.value_type().code());
    }
    let prefix = if schema == 0 { 1 } else { 4 };
    out.put_bytes(0, pad8(prefix + count));
    for value in params {
        put_value(out, value);
    }
}

/// Writes one value in its wire encoding.
pub(crate) fn put_value(out: &mut impl BufMut, value: &Value) {
    match value {
        Value::Integer(v) | Value::UnixTime(v) => out.put_i64_le(*v),
        Value::Float(v) => out.put_f64_le(*v),
        Value::Text(t) | Value::Iso8601(t) => put_text(out, t.as_bytes()),
        Value::Blob(b) => put_blob(out, b),
        Value::Null => out.put_u64_le(0),
        Value::Boolean(v) => out.put_u64_le(u64::from(*v)),
    }
}

/// Reads one value of type `ty`.
#[inline(always)]
pub(crate) fn read_value<'a>(
    r: &mut Reader<'a>,
    ty: ValueType,
) -> Result<ValueRef<'a>, DecodeError> {
    Ok(match ty {
        ValueType::Integer => ValueRef::Integer(r.i64("integer value")?),
        ValueType::Float => ValueRef::Float(r.f64("float value")?),
        ValueType::Text => ValueRef::Text(r.text("text value")?),
        ValueType::Blob => ValueRef::Blob(r.blob("blob value")?),
        ValueType::Null => {
            r.word("null value")?;
            ValueRef::Null
        }
        ValueType::UnixTime => ValueRef::UnixTime(r.i64("unixtime value")?),
        ValueType::Iso8601 => ValueRef::Iso8601(r.text("iso8601 value")?),
        ValueType::Boolean => ValueRef::Boolean(r.u64("boolean value")? != 0),
    })
}

/// Reads a parameter tuple to the end of the body. An exhausted body means no
/// parameters, as servers read it.
pub(crate) fn read_params(r: &mut Reader<'_>, schema: u8) -> Result<Vec<Value>, DecodeError> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let (count, prefix) = match schema {
        0 => (
            usize::from(r.take(1, "parameter count")?.first().copied().unwrap_or(0)),
            1,
        ),
        1 => {
            let bytes = r.take(4, "parameter count")?;
            let count = bytes
                .first_chunk::<4>()
                .map_or(0, |b| u32::from_le_bytes(*b));
            (usize::try_from(count).unwrap_or(usize::MAX), 4)
        }
        other => {
            return Err(DecodeError::UnknownSchema {
                kind: crate::header::request_type::EXEC,
                schema: other,
            });
        }
    };
    // Every value takes a type byte and at least one word.
    if count.saturating_mul(9) > r.remaining() {
        return Err(DecodeError::ImpossibleCount {
            what: "parameter",
            count: count as u64,
            available: r.remaining(),
        });
    }
    let types = r.take(count, "parameter types")?;
    r.take(pad8(prefix + count), "parameter type padding")?;
    let mut values = Vec::with_capacity(count);
    for &code in types {
        let value = read_value(r, ValueType::from_code(code)?)?;
        values.push(value.to_owned()?);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(params: &[Value], schema: u8) -> Vec<u8> {
        let mut out = Vec::new();
        check_params(params, schema, true).unwrap();
        put_params(&mut out, params, schema);
        assert_eq!(out.len(), params_size(params, schema));
        out
    }

    #[test]
    fn header_padding_matches_the_reference_examples() {
        // 7 parameters fill one word, 8 need two (schema 0).
        assert_eq!(params_header_size(7, 0), 8);
        assert_eq!(params_header_size(8, 0), 16);
        assert_eq!(params_header_size(4, 1), 8);
        assert_eq!(params_header_size(5, 1), 16);
    }

    #[test]
    fn schema1_two_integers() {
        let bytes = encode(&[Value::Integer(1), Value::Integer(2)], 1);
        assert_eq!(&bytes[..8], &[2, 0, 0, 0, 1, 1, 0, 0]);
        let mut r = Reader::new(&bytes);
        assert_eq!(
            read_params(&mut r, 1).unwrap(),
            vec![Value::Integer(1), Value::Integer(2)]
        );
    }

    #[test]
    fn limits_and_refusals() {
        let many = vec![Value::Null; 256];
        assert!(matches!(
            check_params(&many, 0, true),
            Err(EncodeError::TooManyParams { count: 256, .. })
        ));
        assert!(check_params(&many, 1, true).is_ok());
        assert!(matches!(
            check_params(&[Value::UnixTime(1)], 0, true),
            Err(EncodeError::NeverSend(_))
        ));
        assert!(check_params(&[Value::UnixTime(1)], 0, false).is_ok());
        let err = check_params(&[Value::Null, Value::from("a\0b")], 0, true).unwrap_err();
        assert_eq!(
            err,
            EncodeError::NulInText {
                what: "parameter 2".into(),
                offset: 1
            }
        );
    }

    #[test]
    fn hostile_counts_do_not_allocate() {
        let mut body = vec![0xff, 0xff, 0xff, 0xff, 1, 1, 1, 1];
        body.extend_from_slice(&[0; 16]);
        let err = read_params(&mut Reader::new(&body), 1).unwrap_err();
        assert!(matches!(err, DecodeError::ImpossibleCount { .. }));
    }
}

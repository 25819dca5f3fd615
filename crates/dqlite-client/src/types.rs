//! Typed values: [`FromValue`] reads a received [`Value`] as a Rust type (through
//! [`Row::get`](crate::Row::get)); parameters go the other way through `Into<Value>`, most
//! easily with [`params!`](crate::params).
//!
//! | Rust type | from | into |
//! |---|---|---|
//! | `i64`, `i32`, `i16`, `i8`, `u32`, `u16`, `u8` | INTEGER (also a BOOLEAN as 0 or 1, Unix seconds) | INTEGER |
//! | `u64`, `usize`, `isize` | INTEGER in range | (convert to `i64` first) |
//! | `f64`, `f32` | FLOAT (an INTEGER too) | FLOAT |
//! | `bool` | BOOLEAN, or INTEGER (0 is false) | BOOLEAN |
//! | `String` | TEXT (ISO-8601 text too) | TEXT (`&str` too) |
//! | `Vec<u8>` | BLOB (TEXT's bytes too) | BLOB (`&[u8]` too) |
//! | [`SystemTime`] | ISO-8601 text, or Unix seconds | ISO-8601 text in UTC |
//! | `Option<T>` | NULL (and the empty ISO-8601 text a date column sends for NULL) as `None` | `None` as NULL |
//! | [`Value`] | anything, as received | itself |
//!
//! A value of another type, or out of the target's range, is an [`Error::InvalidData`];
//! nothing is converted lossily except an INTEGER read as a float.

use std::time::SystemTime;

use dqlite_wire::Value;

use crate::error::{Error, Result};

/// A Rust type a received value can be read as: the integer types, `f64`, `f32`, `bool`,
/// `String`, `Vec<u8>`, `SystemTime`, `Option<T>` and `Value` itself.
pub trait FromValue: Sized {
    /// Reads `value`, or says why it cannot be read as `Self`.
    fn from_value(value: &Value) -> Result<Self>;
}

/// The error for a value that is not of the type asked for.
fn mismatch(expected: &str, value: &Value) -> Error {
    let got = match value {
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
        Value::Null => "NULL",
        Value::UnixTime(_) => "a Unix time",
        Value::Iso8601(_) => "ISO-8601 text",
        Value::Boolean(_) => "a boolean",
    };
    Error::InvalidData(format!("expected {expected}, got {got}"))
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self> {
        Ok(value.clone())
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self> {
        match *value {
            Value::Integer(v) | Value::UnixTime(v) => Ok(v),
            Value::Boolean(v) => Ok(i64::from(v)),
            ref other => Err(mismatch("an integer", other)),
        }
    }
}

/// Integers read through `i64`, refused when out of range.
macro_rules! integers_through_i64 {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self> {
                let wide = i64::from_value(value)?;
                <$t>::try_from(wide).map_err(|_| {
                    Error::InvalidData(format!(
                        "{wide} is out of range for {}",
                        stringify!($t)
                    ))
                })
            }
        }
    )*};
}

integers_through_i64!(i32, i16, i8, u64, u32, u16, u8, usize, isize);

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self> {
        match *value {
            Value::Float(v) => Ok(v),
            // As SQLite does: an integer read as a float (exact up to 2^53).
            #[allow(clippy::cast_precision_loss)]
            Value::Integer(v) => Ok(v as f64),
            ref other => Err(mismatch("a float", other)),
        }
    }
}

impl FromValue for f32 {
    fn from_value(value: &Value) -> Result<Self> {
        let wide = f64::from_value(value)?;
        // The nearest f32; out of range only when the magnitude is past f32::MAX.
        #[allow(clippy::cast_possible_truncation)]
        let narrow = wide as f32;
        if narrow.is_infinite() && wide.is_finite() {
            return Err(Error::InvalidData(format!(
                "{wide} is out of range for f32"
            )));
        }
        Ok(narrow)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self> {
        match *value {
            Value::Boolean(v) => Ok(v),
            Value::Integer(v) => Ok(v != 0),
            ref other => Err(mismatch("a boolean", other)),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Text(v) | Value::Iso8601(v) => Ok(v.clone()),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Blob(v) => Ok(v.clone()),
            Value::Text(v) => Ok(v.as_bytes().to_vec()),
            other => Err(mismatch("a blob", other)),
        }
    }
}

impl FromValue for SystemTime {
    fn from_value(value: &Value) -> Result<Self> {
        let time = match value {
            Value::Iso8601(text) | Value::Text(text) => dqlite_wire::time::parse_iso8601(text)
                .ok_or_else(|| {
                    Error::InvalidData(format!("{text:?} is not an ISO-8601 date-time"))
                })?,
            Value::UnixTime(secs) | Value::Integer(secs) => dqlite_wire::time::from_unix(*secs, 0)
                .ok_or_else(|| {
                    Error::InvalidData(format!("{secs} seconds is out of this platform's range"))
                })?,
            other => return Err(mismatch("a date-time", other)),
        };
        Ok(time)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            // A date column sends NULL as empty ISO-8601 text.
            Value::Iso8601(text) if text.is_empty() => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// An array of parameters (`[Value; N]`) from values of any type with `Into<Value>`: pass
/// it by reference wherever `&[Value]` is taken.
///
/// ```
/// use dqlite_client::{params, Value};
/// let none: Option<i64> = None;
/// let p = params![7, "seven", 7.5, true, none, &b"\x07"[..]];
/// assert_eq!(p[0], Value::Integer(7));
/// assert_eq!(p[4], Value::Null);
/// assert_eq!(params![].len(), 0);
/// ```
#[macro_export]
macro_rules! params {
    () => {
        [] as [$crate::Value; 0]
    };
    ($($value:expr),+ $(,)?) => {
        [$($crate::Value::from($value)),+]
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn conversions_follow_the_table() {
        assert_eq!(i64::from_value(&Value::Integer(-5)).unwrap(), -5);
        assert_eq!(i64::from_value(&Value::Boolean(true)).unwrap(), 1);
        assert_eq!(u8::from_value(&Value::Integer(255)).unwrap(), 255);
        assert!(u8::from_value(&Value::Integer(256)).is_err());
        assert!(u64::from_value(&Value::Integer(-1)).is_err());
        assert!(i64::from_value(&Value::Text("1".into())).is_err());
        assert_eq!(f64::from_value(&Value::Integer(3)).unwrap(), 3.0);
        assert_eq!(f32::from_value(&Value::Float(0.5)).unwrap(), 0.5);
        assert!(f32::from_value(&Value::Float(1e300)).is_err());
        assert!(bool::from_value(&Value::Integer(2)).unwrap());
        assert!(!bool::from_value(&Value::Boolean(false)).unwrap());
        assert_eq!(String::from_value(&Value::Text("é".into())).unwrap(), "é");
        assert!(String::from_value(&Value::Blob(vec![1])).is_err());
        assert_eq!(
            Vec::<u8>::from_value(&Value::Blob(vec![1, 2])).unwrap(),
            [1, 2]
        );
        assert_eq!(Option::<i64>::from_value(&Value::Null).unwrap(), None);
        assert_eq!(
            Option::<i64>::from_value(&Value::Integer(4)).unwrap(),
            Some(4)
        );
        assert_eq!(
            Option::<SystemTime>::from_value(&Value::Iso8601(String::new())).unwrap(),
            None
        );
        assert!(i64::from_value(&Value::Null).is_err());
        let err = i32::from_value(&Value::Float(1.5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid data: expected an integer, got a float"
        );
    }

    #[test]
    fn date_times_read_from_text_or_seconds_and_go_as_text() {
        let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_049_600);
        for value in [
            Value::Iso8601("2023-11-15 12:00:00+00:00".into()),
            Value::Text("2023-11-15T13:00:00+01:00".into()),
            Value::UnixTime(1_700_049_600),
            Value::Integer(1_700_049_600),
        ] {
            assert_eq!(SystemTime::from_value(&value).unwrap(), noon, "{value:?}");
        }
        assert!(SystemTime::from_value(&Value::Text("yesterday".into())).is_err());
        assert_eq!(
            Value::from(noon),
            Value::Iso8601("2023-11-15 12:00:00+00:00".into())
        );
        assert_eq!(SystemTime::from_value(&Value::from(noon)).unwrap(), noon);
    }
}

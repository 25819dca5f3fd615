//! Values: what parameters carry to the server and what rows carry back.

use std::fmt;

use crate::error::DecodeError;

/// A value type code, as it appears in parameter tuples and row headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueType {
    /// 64-bit signed integer.
    Integer = 1,
    /// IEEE-754 double.
    Float = 2,
    /// UTF-8 text without NUL.
    Text = 3,
    /// Bytes.
    Blob = 4,
    /// SQL NULL.
    Null = 5,
    /// Seconds since the epoch: an INTEGER in a column declared DATETIME, DATE or
    /// TIMESTAMP. Servers reject it as a parameter.
    UnixTime = 9,
    /// Date-time text: a TEXT (or NULL, sent as "") in a date column.
    Iso8601 = 10,
    /// 0 or 1: an INTEGER (or NULL, sent as 0) in a column declared BOOLEAN.
    Boolean = 11,
}

impl ValueType {
    /// The type for a code, if the protocol defines one.
    #[inline]
    pub fn from_code(code: u8) -> Result<ValueType, DecodeError> {
        Ok(match code {
            1 => ValueType::Integer,
            2 => ValueType::Float,
            3 => ValueType::Text,
            4 => ValueType::Blob,
            5 => ValueType::Null,
            9 => ValueType::UnixTime,
            10 => ValueType::Iso8601,
            11 => ValueType::Boolean,
            other => return Err(DecodeError::UnknownValueType(other)),
        })
    }

    /// The wire code.
    #[inline]
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An owned value, used for parameters.
///
/// Text must not contain NUL (the encoder refuses it); [`Value::UnixTime`] is refused as a
/// parameter because every server rejects it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// 64-bit signed integer.
    Integer(i64),
    /// Double.
    Float(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// NULL.
    Null,
    /// Seconds since the epoch (only ever received).
    UnixTime(i64),
    /// Date-time text.
    Iso8601(String),
    /// Boolean.
    Boolean(bool),
}

impl Value {
    /// The value's type code.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Integer(_) => ValueType::Integer,
            Value::Float(_) => ValueType::Float,
            Value::Text(_) => ValueType::Text,
            Value::Blob(_) => ValueType::Blob,
            Value::Null => ValueType::Null,
            Value::UnixTime(_) => ValueType::UnixTime,
            Value::Iso8601(_) => ValueType::Iso8601,
            Value::Boolean(_) => ValueType::Boolean,
        }
    }

    /// A borrowed view of this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Integer(v) => ValueRef::Integer(*v),
            Value::Float(v) => ValueRef::Float(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
            Value::Null => ValueRef::Null,
            Value::UnixTime(v) => ValueRef::UnixTime(*v),
            Value::Iso8601(v) => ValueRef::Iso8601(v.as_bytes()),
            Value::Boolean(v) => ValueRef::Boolean(*v),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(i64::from(v))
    }
}

/// Lossless integer conversions: every one of these fits in an `i64`.
macro_rules! from_small_integers {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Integer(i64::from(v))
            }
        }
    )*};
}

from_small_integers!(i8, i16, u8, u16, u32);

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

/// A date-time goes as ISO-8601 text in UTC, as go-dqlite sends it (see
/// [`time::format_iso8601`](crate::time::format_iso8601)).
impl From<std::time::SystemTime> for Value {
    fn from(v: std::time::SystemTime) -> Self {
        Value::Iso8601(crate::time::format_iso8601(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A value borrowed from a received frame: no allocation, no copy.
///
/// Text is given as raw bytes, as SQLite stores it: it is UTF-8 unless an application
/// stored something else. [`ValueRef::as_str`] checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// 64-bit signed integer.
    Integer(i64),
    /// Double.
    Float(f64),
    /// Text bytes (without the NUL terminator).
    Text(&'a [u8]),
    /// Bytes.
    Blob(&'a [u8]),
    /// NULL.
    Null,
    /// Seconds since the epoch, from a date column holding an integer.
    UnixTime(i64),
    /// Date-time text from a date column; the server sends NULL as an empty string.
    Iso8601(&'a [u8]),
    /// Boolean from a BOOLEAN column; the server sends NULL as false.
    Boolean(bool),
}

impl<'a> ValueRef<'a> {
    /// The value's type code.
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueRef::Integer(_) => ValueType::Integer,
            ValueRef::Float(_) => ValueType::Float,
            ValueRef::Text(_) => ValueType::Text,
            ValueRef::Blob(_) => ValueType::Blob,
            ValueRef::Null => ValueType::Null,
            ValueRef::UnixTime(_) => ValueType::UnixTime,
            ValueRef::Iso8601(_) => ValueType::Iso8601,
            ValueRef::Boolean(_) => ValueType::Boolean,
        }
    }

    /// Text (or ISO-8601 text) as `&str`; `None` for other types or invalid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            ValueRef::Text(t) | ValueRef::Iso8601(t) => std::str::from_utf8(t).ok(),
            _ => None,
        }
    }

    /// Converts to an owned [`Value`]. Fails only for text that is not UTF-8.
    pub fn to_owned(&self) -> Result<Value, DecodeError> {
        let text = |t: &[u8]| {
            std::str::from_utf8(t)
                .map(str::to_owned)
                .map_err(|_| DecodeError::InvalidUtf8 { what: "text value" })
        };
        Ok(match *self {
            ValueRef::Integer(v) => Value::Integer(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Text(t) => Value::Text(text(t)?),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Null => Value::Null,
            ValueRef::UnixTime(v) => Value::UnixTime(v),
            ValueRef::Iso8601(t) => Value::Iso8601(text(t)?),
            ValueRef::Boolean(v) => Value::Boolean(v),
        })
    }
}

impl fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueRef::Integer(v) | ValueRef::UnixTime(v) => write!(f, "{v}"),
            ValueRef::Float(v) => write!(f, "{v}"),
            ValueRef::Text(t) | ValueRef::Iso8601(t) => f.write_str(&String::from_utf8_lossy(t)),
            ValueRef::Blob(b) => {
                f.write_str("x'")?;
                for byte in *b {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("'")
            }
            ValueRef::Null => f.write_str("NULL"),
            ValueRef::Boolean(v) => write!(f, "{v}"),
        }
    }
}

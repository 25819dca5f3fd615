//! Errors of the codec: one type for bytes that cannot be decoded, one for values that
//! cannot be encoded.

/// Bytes that are not a valid frame or body. Every decoder returns this instead of
/// panicking, whatever the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("truncated {what}: needed {needed} bytes, {available} available")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A text field has no NUL terminator within the body.
    #[error("unterminated text in {what}")]
    UnterminatedText {
        /// The field being read.
        what: &'static str,
    },
    /// A text field that must be UTF-8 (a name or a message) is not.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// A value type code that the protocol does not define.
    #[error("unknown value type code {0}")]
    UnknownValueType(u8),
    /// A message type code that the protocol does not define.
    #[error("unknown {direction} type code {code}")]
    UnknownMessageType {
        /// "request" or "response".
        direction: &'static str,
        /// The code read from the header.
        code: u8,
    },
    /// A schema byte this codec does not know for the message type.
    #[error("unknown schema {schema} for message type {kind}")]
    UnknownSchema {
        /// The message type code.
        kind: u8,
        /// The schema byte.
        schema: u8,
    },
    /// A frame whose declared body is larger than the configured cap.
    #[error("frame body of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Declared body length in bytes.
        len: u64,
        /// The cap in force.
        max: usize,
    },
    /// The body length given with a header does not match the header.
    #[error("the header declares {declared} body bytes but {actual} were given")]
    BodyLengthMismatch {
        /// Bytes the header declares.
        declared: usize,
        /// Bytes passed to the decoder.
        actual: usize,
    },
    /// A count (columns, nodes, files, parameters) larger than the body could hold.
    #[error("{what} count {count} cannot fit in the {available} remaining bytes")]
    ImpossibleCount {
        /// What is being counted.
        what: &'static str,
        /// The count read.
        count: u64,
        /// Bytes left in the body.
        available: usize,
    },
    /// A ROWS frame that does not end with a DONE or PART marker where one is due.
    #[error("malformed ROWS frame: {0}")]
    MalformedRows(&'static str),
    /// A field holds a value the protocol does not allow (for example a node role of 7).
    #[error("invalid {what}: {value}")]
    InvalidField {
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
}

/// A request that cannot be encoded, or that must never be sent to a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Text with an interior NUL byte: the wire terminates text at the first NUL, so the
    /// server would silently see a shorter string. Send such data as a BLOB.
    #[error("{what} contains a NUL byte at offset {offset}; text cannot carry NUL, send a blob")]
    NulInText {
        /// The field ("sql", "parameter 3", ...).
        what: String,
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// More parameters than the tuple schema can count (255 for schema 0, 2^32 - 1 for
    /// schema 1).
    #[error("{count} parameters do not fit a schema {schema} tuple (at most {max})")]
    TooManyParams {
        /// Parameters given.
        count: usize,
        /// Schema asked for.
        schema: u8,
        /// The schema's limit.
        max: u64,
    },
    /// A schema byte the message type does not have.
    #[error("message type {kind} has no schema {schema}")]
    UnknownSchema {
        /// The message type code.
        kind: u8,
        /// The schema asked for.
        schema: u8,
    },
    /// The request is valid on the wire but known to hang or crash servers
    /// (docs/protocol.md §10). Use the unchecked encoder only for tests.
    #[error("refusing to send {0}")]
    NeverSend(&'static str),
    /// The body would not fit the header's 32-bit word count.
    #[error("a body of {0} bytes is too large for one frame")]
    BodyTooLarge(usize),
}

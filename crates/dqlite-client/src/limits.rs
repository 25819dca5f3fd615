//! Protocol limits callers need, defined once (the Python driver and the shell read them
//! from here).

/// The most parameters one request can carry on every server version: 1.11 counts them in
/// one byte. More need dqlite 1.12 or later (the client probes for it once per
/// connection); a pipelined batch ([`Connection::execute_many`](crate::Connection::execute_many))
/// never probes and takes at most this many per row.
pub const MAX_PARAMS_ANY_SERVER: usize = dqlite_wire::MAX_PARAMS_SCHEMA0;

/// The most parameters one request can carry at all (a 32-bit count, dqlite 1.12+).
pub const MAX_PARAMS: usize = dqlite_wire::MAX_PARAMS_SCHEMA1;

/// The default cap on one response frame: 64 MiB (see
/// [`Config::max_frame_len`](crate::Config::max_frame_len)). A row must fit in a frame, so
/// a value near this size cannot be read back with the default cap.
pub const DEFAULT_MAX_FRAME_LEN: usize = dqlite_wire::DEFAULT_MAX_FRAME_LEN;

/// The largest dump [`Connection::dump`](crate::Connection::dump) accepts: 4 GiB.
pub const MAX_DUMP_LEN: usize = 4 << 30;

//! Result codes the server sends, by name: SQLite's primary and extended codes (as
//! `sqlite3.h` names them, and as stdlib `sqlite3` reports them in `sqlite_errorname`) and
//! dqlite's own. [`code_name`] names any code.
//!
//! A code's low 8 bits are its primary code (see [`primary`]); classify by the full code
//! when it matters (dqlite's leadership codes share the primary code `SQLITE_IOERR` with
//! disk errors).

/// Defines each code as a constant named after it, and the table [`code_name`] reads.
macro_rules! named_codes {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $($(#[$doc])* pub const $name: u64 = $value;)*

        /// Every named code with its name, exact codes before the primary ones they
        /// extend (a lookup takes the first match).
        const NAMES: &[(u64, &str)] = &[$(($name, stringify!($name))),*];
    };
}

named_codes! {
    /// Success.
    SQLITE_OK = 0;
    /// Generic error: SQL errors, "no transaction is active", Raft membership errors.
    SQLITE_ERROR = 1;
    /// SQLite internal logic error.
    SQLITE_INTERNAL = 2;
    /// Access permission denied.
    SQLITE_PERM = 3;
    /// The operation was aborted (a node shutting down fails the writes it replicates).
    SQLITE_ABORT = 4;
    /// The database is locked by another connection's write (the server never waits).
    SQLITE_BUSY = 5;
    /// A table is locked.
    SQLITE_LOCKED = 6;
    /// Out of memory; also Raft's "not leader" passed through untranslated by some servers.
    SQLITE_NOMEM = 7;
    /// Attempt to write a read-only database.
    SQLITE_READONLY = 8;
    /// Interrupted.
    SQLITE_INTERRUPT = 9;
    /// Disk I/O error; the primary code of dqlite's leadership codes too.
    SQLITE_IOERR = 10;
    /// The database image is malformed.
    SQLITE_CORRUPT = 11;
    /// Not found: "no database opened" (also after a leadership loss), or an unknown
    /// statement id.
    SQLITE_NOTFOUND = 12;
    /// The database is full.
    SQLITE_FULL = 13;
    /// Unable to open the database file.
    SQLITE_CANTOPEN = 14;
    /// Locking protocol error (dqlite: DESCRIBE with a bad format).
    SQLITE_PROTOCOL = 15;
    /// Internal use only.
    SQLITE_EMPTY = 16;
    /// The schema changed.
    SQLITE_SCHEMA = 17;
    /// A string or blob is too big.
    SQLITE_TOOBIG = 18;
    /// A constraint failed.
    SQLITE_CONSTRAINT = 19;
    /// Data type mismatch.
    SQLITE_MISMATCH = 20;
    /// Library used incorrectly.
    SQLITE_MISUSE = 21;
    /// Large file support missing.
    SQLITE_NOLFS = 22;
    /// Authorization denied.
    SQLITE_AUTH = 23;
    /// Not used.
    SQLITE_FORMAT = 24;
    /// Parameter index out of range (too many parameters, before dqlite 1.18.2).
    SQLITE_RANGE = 25;
    /// Not a database file.
    SQLITE_NOTADB = 26;
    /// A notice.
    SQLITE_NOTICE = 27;
    /// A warning.
    SQLITE_WARNING = 28;
    /// A row is ready (dqlite 1.11 to 1.14: EXEC of a statement that yields rows).
    SQLITE_ROW = 100;
    /// The statement is done.
    SQLITE_DONE = 101;
    /// dqlite: the node is not the leader; the request did not run.
    SQLITE_IOERR_NOT_LEADER = 10250;
    /// dqlite: leadership was lost while the write replicated; it may have been committed.
    SQLITE_IOERR_LEADERSHIP_LOST = 10506;
    /// dqlite 1.18.3+: DUMP of an unknown database.
    DQLITE_NOTFOUND = 1002;
    /// dqlite: a malformed request (unknown type, bad schema or format).
    DQLITE_PARSE = 1005;
    /// dqlite: a protocol error.
    DQLITE_PROTO = 1001;
    /// Extended `SQLITE_BUSY`.
    SQLITE_BUSY_RECOVERY = 261;
    /// Extended `SQLITE_BUSY`: the read snapshot is stale.
    SQLITE_BUSY_SNAPSHOT = 517;
    /// Extended `SQLITE_BUSY`.
    SQLITE_BUSY_TIMEOUT = 773;
    /// Extended `SQLITE_LOCKED`.
    SQLITE_LOCKED_SHAREDCACHE = 262;
    /// Extended `SQLITE_LOCKED`.
    SQLITE_LOCKED_VTAB = 518;
    /// Extended `SQLITE_READONLY`.
    SQLITE_READONLY_RECOVERY = 264;
    /// Extended `SQLITE_READONLY`.
    SQLITE_READONLY_CANTLOCK = 520;
    /// Extended `SQLITE_READONLY`.
    SQLITE_READONLY_ROLLBACK = 776;
    /// Extended `SQLITE_READONLY`.
    SQLITE_READONLY_DBMOVED = 1032;
    /// Extended `SQLITE_IOERR`.
    SQLITE_IOERR_READ = 266;
    /// Extended `SQLITE_IOERR`.
    SQLITE_IOERR_SHORT_READ = 522;
    /// Extended `SQLITE_IOERR`: dqlite answers it when Raft is out of disk space.
    SQLITE_IOERR_WRITE = 778;
    /// Extended `SQLITE_IOERR`.
    SQLITE_IOERR_FSYNC = 1034;
    /// Extended `SQLITE_IOERR`.
    SQLITE_IOERR_NOMEM = 3850;
    /// Extended `SQLITE_CORRUPT`.
    SQLITE_CORRUPT_VTAB = 267;
    /// Extended `SQLITE_CANTOPEN`.
    SQLITE_CANTOPEN_NOTEMPDIR = 270;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_CHECK = 275;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_COMMITHOOK = 531;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_FOREIGNKEY = 787;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_FUNCTION = 1043;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_NOTNULL = 1299;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_TRIGGER = 1811;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_UNIQUE = 2067;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_VTAB = 2323;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_ROWID = 2579;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_PINNED = 2835;
    /// Extended `SQLITE_CONSTRAINT`.
    SQLITE_CONSTRAINT_DATATYPE = 3091;
    /// Extended `SQLITE_NOTICE`.
    SQLITE_NOTICE_RECOVER_WAL = 283;
    /// Extended `SQLITE_WARNING`.
    SQLITE_WARNING_AUTOINDEX = 284;
    /// Extended `SQLITE_ERROR`.
    SQLITE_ERROR_RETRY = 513;
    /// Extended `SQLITE_ERROR`.
    SQLITE_ERROR_MISSING_COLLSEQ = 257;
    /// Extended `SQLITE_ERROR`.
    SQLITE_ERROR_SNAPSHOT = 769;
}

/// Not-leader code of old dqlite builds (on SQLite's replication fork). It collides with
/// a later standard code (`SQLITE_IOERR_DATA`), so it has no name here.
pub const LEGACY_NOT_LEADER: u64 = 8202;
/// Leadership-lost code of old dqlite builds. It collides with `SQLITE_IOERR_CORRUPTFS`.
pub const LEGACY_LEADERSHIP_LOST: u64 = 8458;

/// The primary code of `code`: its low 8 bits.
pub fn primary(code: u64) -> u64 {
    code & 0xff
}

/// SQLite's name for a result code, extended codes included (for example
/// `"SQLITE_CONSTRAINT_UNIQUE"`), or its primary code's name for an extended code without
/// one here, or `"SQLITE_UNKNOWN"`.
pub fn code_name(code: u64) -> &'static str {
    let named = |wanted: u64| NAMES.iter().find(|(c, _)| *c == wanted).map(|(_, n)| *n);
    named(code)
        .or_else(|| named(primary(code)))
        .unwrap_or("SQLITE_UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sqlite_s() {
        assert_eq!(
            code_name(SQLITE_CONSTRAINT_UNIQUE),
            "SQLITE_CONSTRAINT_UNIQUE"
        );
        assert_eq!(code_name(10250), "SQLITE_IOERR_NOT_LEADER");
        assert_eq!(code_name(1), "SQLITE_ERROR");
        assert_eq!(code_name(0), "SQLITE_OK");
        assert_eq!(code_name(101), "SQLITE_DONE");
        // An unknown extended code falls back to its primary code's name.
        assert_eq!(code_name(19 | (99 << 8)), "SQLITE_CONSTRAINT");
        assert_eq!(code_name(LEGACY_NOT_LEADER), "SQLITE_IOERR");
        assert_eq!(code_name(0xfe), "SQLITE_UNKNOWN");
        // No two constants share a value.
        for (i, (code, name)) in NAMES.iter().enumerate() {
            assert!(
                NAMES.iter().skip(i + 1).all(|(c, _)| c != code),
                "{name} = {code} twice"
            );
        }
    }
}

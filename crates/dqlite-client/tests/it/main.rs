//! Integration tests against real dqlite clusters started by `dqlite-testkit`.

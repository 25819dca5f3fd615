//! `dqlite-testkit` command-line tool.
fn main() {}

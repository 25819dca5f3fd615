//! Integration tests against real dqlite clusters started by `dqlite-testkit`.
//!
//! Every test starts its own cluster of the server version named by
//! `DQLITE_SERVER_VERSION` (1.11 or 1.18), so tests are independent and can run in
//! parallel.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod abort;
mod admin;
mod batch;
mod buffers;
mod cancel;
mod common;
mod compat;
mod crud;
mod deadlines;
mod detached;
mod dialer;
mod discovery;
mod errors;
mod failover;
mod fake;
mod faults;
mod frames;
mod heap;
mod hostile;
mod in_doubt;
mod jepsen;
mod jepsen_faults;
mod jepsen_membership;
mod jepsen_soak;
mod jepsen_transfer;
mod jepsen_workloads;
mod logging;
mod membership;
mod paused_leader;
mod pool;
mod pragma;
mod redirect;
mod sqltext;
mod streaming;
mod tls;
mod transaction;
mod typed;

//! Test harness that runs real dqlite clusters on loopback, for the project's Rust tests
//! and (through the `dqlite-testkit` command-line tool and the `dqlite_testkit` Python
//! package) its pytest suites.
//!
//! * [`install`] puts a server version in place: **1.11** is Debian 12's `go-dqlite` and
//!   `libdqlite-dev` (apt-get, root only); **1.18** is Debian 13's `go-dqlite` 2.0.0 and
//!   `libdqlite0` 1.18.1, and **latest** Debian unstable's newest (`libdqlite0` 1.18.7 with
//!   `go-dqlite` 3.0.4 when added), each downloaded with a private apt configuration and
//!   unpacked under [`cache_dir`], then run through the unpacked dynamic loader.
//!   [`install_python`] unpacks Debian 13's Python 3.13 the same way.
//! * [`TestCluster`] starts N `dqlite-demo` nodes on free ports in a temporary directory,
//!   waits for a leader and for every node to be a voter (checked over the wire protocol;
//!   with other sizes than 1 or 3, the roles dqlite-demo assigns, see [`expected_roles`]),
//!   and lets a test kill, pause, resume, terminate and restart nodes.
//!   [`NodeProgram::Bare`] runs the test kit's own C node instead, with sub-second
//!   elections ([`TestClusterBuilder::network_latency`]) and membership changed by the test
//!   only ([`TestCluster::grow`], [`TestCluster::assign_role`], [`TestCluster::remove_member`],
//!   [`TestCluster::transfer_leadership`]).
//! * A [partitionable](TestClusterBuilder::partitionable) cluster gives each node its own
//!   loopback address and system user, so that [`TestCluster::set_network`] can cut links
//!   and add loss and delay ([`NetFaults`]) with iptables; everything it creates is removed
//!   on drop, and leftovers of killed runs at the next start ([`sweep_leftovers`]).
//! * [`check`] judges the histories of the Jepsen-style workloads (set, bank, Elle's
//!   list-append, a linearizable register).
//! * [`UnjoinedNode`] is a bare dqlite node (a small C program linked with `-ldqlite`)
//!   that waits to be added to a cluster, for membership tests.
//!
//! The server version comes from `DQLITE_SERVER_VERSION` (`1.11`, the default, `1.18` or
//! `latest`).
//!
//! ```no_run
//! use std::time::Duration;
//! use dqlite_testkit::TestCluster;
//! # fn main() -> Result<(), dqlite_testkit::Error> {
//! let mut cluster = TestCluster::builder().nodes(3).start()?;
//! println!("nodes at {:?}", cluster.addresses());
//! let leader = cluster.wait_for_leader(Duration::from_secs(30))?;
//! cluster.pause(leader)?;
//! let other = cluster.wait_for_leader(Duration::from_secs(30))?;
//! cluster.resume(leader)?;
//! # let _ = other;
//! # Ok(())
//! # }
//! ```

pub mod check;
mod cluster;
mod error;
pub mod fake;
mod firewall;
mod health;
mod install;
mod membership;
mod netfaults;
mod network;
mod nfqueue;
mod node;
mod probe;
pub mod proxy;
mod tls;
mod unjoined;
mod util;

pub use cluster::{BOOTSTRAP_ID, TestCluster, TestClusterBuilder, expected_roles};
pub use error::{Error, Result};
pub use firewall::sweep_leftovers;
pub use install::{
    CACHE_ENV, Installation, PYTHON_PACKAGES, SID_PACKAGES, ServerVersion, TRIXIE_PACKAGES,
    VERSION_ENV, cache_dir, debian_mirror, find_python, install, install_all, install_python,
    python_package_version,
};
pub use netfaults::{Delay, NetFaults};
pub use node::{NodeProcess, NodeProgram, NodeState};
pub use probe::{Member, Role};
pub use tls::TlsFiles;
pub use unjoined::{UnjoinedNode, node_binary};

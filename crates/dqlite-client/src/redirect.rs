//! Redirect policies: which addresses a node may send the client to.
//!
//! During leader discovery a node answers LEADER with the address of the node it believes
//! leads, and the client then dials that address; CLUSTER answers list the members the
//! client stores and dials later. Both addresses come from the network. A
//! [`RedirectPolicy`] (set with [`Config::redirect_policy`](crate::Config::redirect_policy))
//! vets them first: an address it refuses is never dialed nor stored, and discovery stops
//! with [`Error::RedirectRejected`](crate::Error::RedirectRejected), since asking again
//! gets the same answer. Without a policy (the default) every address is followed, as
//! go-dqlite does.

use std::fmt;
use std::sync::Arc;

/// Decides whether the client may follow an address a node named: a leader named during
/// discovery is vetted before it is dialed (refused: [`Error::RedirectRejected`], not
/// retried), CLUSTER members before they are stored.
///
/// [`Error::RedirectRejected`]: crate::Error::RedirectRejected
///
/// ```
/// use dqlite_client::{Config, RedirectPolicy};
///
/// let nodes = ["10.0.0.1:9001", "10.0.0.2:9001", "10.0.0.3:9001"];
/// let policy = RedirectPolicy::new(move |address| nodes.contains(&address));
/// let config = Config::new(nodes)?.redirect_policy(policy);
/// # Ok::<(), dqlite_client::Error>(())
/// ```
#[derive(Clone)]
pub struct RedirectPolicy {
    allows: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

impl RedirectPolicy {
    /// A policy that follows an address when `allows` returns true for it. `allows` is
    /// called with the address exactly as the node sent it, from the task that probes
    /// that node.
    pub fn new(allows: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        RedirectPolicy {
            allows: Arc::new(allows),
        }
    }

    /// Whether the client may follow `address`.
    pub fn allows(&self, address: &str) -> bool {
        (self.allows)(address)
    }
}

impl fmt::Debug for RedirectPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedirectPolicy(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closure_decides() {
        let policy = RedirectPolicy::new(|a| a.starts_with("10."));
        assert!(policy.allows("10.0.0.1:9001"));
        assert!(!policy.allows("169.254.169.254:80"));
        let copy = policy.clone();
        assert!(!copy.allows("127.0.0.1:9001"));
        assert_eq!(format!("{copy:?}"), "RedirectPolicy(..)");
    }
}

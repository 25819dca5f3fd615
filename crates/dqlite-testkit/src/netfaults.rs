//! [`NetFaults`]: the network faults a partitionable [`TestCluster`](crate::TestCluster)
//! can be put under, and the iptables rules that make them.
//!
//! Every node of a partitionable cluster listens on its own loopback address
//! (127.0.0.2, 127.0.0.3, ...) and runs as its own system user. On loopback the source
//! address of a packet does not tell which node sent it (nodes do not bind their outgoing
//! sockets, so every connection comes from 127.0.0.1), but the socket's owner does: a link
//! from node A to node B is cut by dropping the packets that A's user sends to B's address
//! and port (`-o lo -d B -p tcp --dport B_PORT -m owner --uid-owner A -j DROP`). Raft
//! traffic flows over one connection per direction (each node dials every peer), so
//! cutting A→B and B→A silences the pair while clients, which run as another user, still
//! reach both.
//!
//! Packets between a client and a node are recognised by connection: a connection to a
//! node's port opened by any user but the cluster's node users gets a connection mark, and
//! loss and delay apply to the marked connections' packets in both directions.
//!
//! Loss uses the `statistic` match; delay hands packets to an NFQUEUE that the test kit
//! serves itself (see `nfqueue.rs`): this machine's kernel has no `netem` qdisc.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

/// A one-way delay added to every packet of a kind of link: `mean` ± `jitter` (uniform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    /// The average delay.
    pub mean: Duration,
    /// Each packet's delay is drawn uniformly from `mean - jitter ..= mean + jitter`.
    pub jitter: Duration,
}

impl Delay {
    /// `mean` ± `jitter`.
    pub fn new(mean: Duration, jitter: Duration) -> Self {
        Delay { mean, jitter }
    }
}

/// Network faults for a partitionable cluster (see
/// [`TestClusterBuilder::partitionable`](crate::TestClusterBuilder::partitionable)), applied
/// with [`TestCluster::set_network`](crate::TestCluster::set_network). The default is a
/// healthy network.
///
/// ```
/// use dqlite_testkit::NetFaults;
/// // Node 0 alone, nodes 1 and 2 together; node 3 (not named) still sees both sides.
/// let faults = NetFaults::partition(&[&[0], &[1, 2]]);
/// assert!(faults.is_cut(0, 1) && faults.is_cut(2, 0));
/// assert!(!faults.is_cut(1, 2) && !faults.is_cut(3, 0));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetFaults {
    /// Directed links that carry nothing: (from, to) node indices.
    cut: BTreeSet<(usize, usize)>,
    /// Probability in `[0, 1]` that a packet between two nodes is dropped.
    pub node_loss: f64,
    /// Delay of every packet between two nodes.
    pub node_delay: Option<Delay>,
    /// Probability in `[0, 1]` that a packet between a client and a node is dropped.
    pub client_loss: f64,
    /// Delay of every packet between a client and a node.
    pub client_delay: Option<Delay>,
}

impl NetFaults {
    /// A healthy network.
    pub fn none() -> Self {
        NetFaults::default()
    }

    /// Cuts nodes `a` and `b` from each other, both ways.
    pub fn cut(&mut self, a: usize, b: usize) -> &mut Self {
        self.cut_one_way(a, b).cut_one_way(b, a)
    }

    /// Drops what node `from` sends to node `to` (replies still flow the other way).
    pub fn cut_one_way(&mut self, from: usize, to: usize) -> &mut Self {
        if from != to {
            self.cut.insert((from, to));
        }
        self
    }

    /// Every node of a group cut from every node of every other group. A node in no group
    /// keeps all its links: `partition(&[&[0, 1], &[3, 4]])` with node 2 left out is a
    /// bridge (node 2 sees both halves).
    pub fn partition(groups: &[&[usize]]) -> Self {
        let mut faults = NetFaults::default();
        for (g, group) in groups.iter().enumerate() {
            for other in groups.iter().skip(g + 1) {
                for a in group.iter() {
                    for b in other.iter() {
                        faults.cut(*a, *b);
                    }
                }
            }
        }
        faults
    }

    /// Node `node` cut from every other node of `0..nodes` (clients still reach it).
    pub fn isolate(node: usize, nodes: usize) -> Self {
        let others: Vec<usize> = (0..nodes).filter(|n| *n != node).collect();
        NetFaults::partition(&[&[node], &others])
    }

    /// Whether what `from` sends to `to` is dropped.
    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        self.cut.contains(&(from, to))
    }

    /// The directed links that are cut.
    pub fn cut_links(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.cut.iter().copied()
    }

    /// Whether nothing is faulty.
    pub fn is_healthy(&self) -> bool {
        *self == NetFaults::default()
    }

    /// A short description, for logs: `cut 0-1,0-2 node-loss 0.20 client-delay 50±10ms`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if !self.cut.is_empty() {
            let links: Vec<String> = self
                .cut
                .iter()
                .filter(|(a, b)| !(self.is_cut(*b, *a) && b < a))
                .map(|(a, b)| {
                    let arrow = if self.is_cut(*b, *a) { "-" } else { ">" };
                    format!("{a}{arrow}{b}")
                })
                .collect();
            let _ = write!(out, "cut {} ", links.join(","));
        }
        for (name, loss) in [
            ("node-loss", self.node_loss),
            ("client-loss", self.client_loss),
        ] {
            if loss > 0.0 {
                let _ = write!(out, "{name} {loss:.2} ");
            }
        }
        for (name, delay) in [
            ("node-delay", self.node_delay),
            ("client-delay", self.client_delay),
        ] {
            if let Some(d) = delay {
                let _ = write!(
                    out,
                    "{name} {}±{}ms ",
                    d.mean.as_millis(),
                    d.jitter.as_millis()
                );
            }
        }
        if out.is_empty() {
            "healthy".into()
        } else {
            out.trim_end().to_owned()
        }
    }

    pub(crate) fn validate(&self, nodes: usize) -> crate::Result<()> {
        if let Some((a, b)) = self.cut.iter().find(|(a, b)| *a >= nodes || *b >= nodes) {
            return Err(crate::Error::Invalid(format!(
                "link {a}->{b} names a node outside the cluster's {nodes}"
            )));
        }
        for loss in [self.node_loss, self.client_loss] {
            if !(0.0..=1.0).contains(&loss) {
                return Err(crate::Error::Invalid(format!(
                    "packet loss {loss} is not a probability"
                )));
            }
        }
        Ok(())
    }
}

/// Where a node listens and which user its process runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: Ipv4Addr,
    pub(crate) port: u16,
    pub(crate) uid: u32,
}

/// The NFQUEUE numbers that delay node-to-node and client-to-node packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queues {
    pub(crate) nodes: u16,
    pub(crate) clients: u16,
}

/// The connection mark (and mask) of client connections.
const CLIENT_MARK: &str = "0x4454/0xffff";

/// The rules (`iptables -A` arguments, without `-A CHAIN`) that make `faults` among
/// `nodes` (by index; `None` for a node that has no endpoint yet).
pub(crate) fn rules(
    faults: &NetFaults,
    nodes: &[Option<Endpoint>],
    queues: Option<Queues>,
) -> Vec<String> {
    let link = |from: &Endpoint, to: &Endpoint| {
        format!(
            "-o lo -p tcp -d {} --dport {} -m owner --uid-owner {}",
            to.host, to.port, from.uid
        )
    };
    let pairs: Vec<(usize, &Endpoint, usize, &Endpoint)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
        .flat_map(|(i, a)| {
            nodes
                .iter()
                .enumerate()
                .filter_map(move |(j, e)| e.as_ref().map(|e| (i, a, j, e)))
        })
        .filter(|(i, _, j, _)| i != j)
        .collect();
    let mut out = Vec::new();
    for (i, a, j, b) in &pairs {
        if faults.is_cut(*i, *j) {
            out.push(format!("{} -j DROP", link(a, b)));
        }
    }
    let open: Vec<_> = pairs
        .iter()
        .filter(|(i, _, j, _)| !faults.is_cut(*i, *j))
        .collect();
    if faults.node_loss > 0.0 {
        for (_, a, _, b) in &open {
            out.push(format!(
                "{} -m statistic --mode random --probability {:.4} -j DROP",
                link(a, b),
                faults.node_loss
            ));
        }
    }
    let client_faulty = faults.client_loss > 0.0 || faults.client_delay.is_some();
    let endpoints: Vec<&Endpoint> = nodes.iter().flatten().collect();
    let to_node = |e: &Endpoint| format!("-o lo -p tcp -d {} --dport {}", e.host, e.port);
    let from_node = |e: &Endpoint| format!("-o lo -p tcp -s {} --sport {}", e.host, e.port);
    if client_faulty {
        // Mark every connection to a node that no node process owns: a client's.
        let not_a_node: String = endpoints
            .iter()
            .map(|e| format!(" -m owner ! --uid-owner {}", e.uid))
            .collect();
        for e in &endpoints {
            out.push(format!(
                "{}{not_a_node} -j CONNMARK --set-mark {CLIENT_MARK}",
                to_node(e)
            ));
        }
    }
    if faults.client_loss > 0.0 {
        for e in &endpoints {
            for side in [to_node(e), from_node(e)] {
                out.push(format!(
                    "{side} -m connmark --mark {CLIENT_MARK} -m statistic --mode random \
                     --probability {:.4} -j DROP",
                    faults.client_loss
                ));
            }
        }
    }
    if let Some(queues) = queues {
        if faults.node_delay.is_some() {
            for (_, a, _, b) in &open {
                out.push(format!(
                    "{} -j NFQUEUE --queue-num {} --queue-bypass",
                    link(a, b),
                    queues.nodes
                ));
            }
        }
        if faults.client_delay.is_some() {
            for e in &endpoints {
                for side in [to_node(e), from_node(e)] {
                    out.push(format!(
                        "{side} -m connmark --mark {CLIENT_MARK} -j NFQUEUE --queue-num {} \
                         --queue-bypass",
                        queues.clients
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(last: u8, port: u16, uid: u32) -> Option<Endpoint> {
        Some(Endpoint {
            host: Ipv4Addr::new(127, 0, 0, last),
            port,
            uid,
        })
    }

    #[test]
    fn partition_cuts_across_groups_only() {
        let f = NetFaults::partition(&[&[0, 1], &[3, 4]]);
        for (a, b) in [(0, 3), (3, 0), (1, 4), (4, 1), (0, 4), (1, 3)] {
            assert!(f.is_cut(a, b), "{a}->{b}");
        }
        for (a, b) in [(0, 1), (3, 4), (2, 0), (0, 2), (2, 4), (4, 2)] {
            assert!(!f.is_cut(a, b), "{a}->{b}");
        }
        assert_eq!(f.describe(), "cut 0-3,0-4,1-3,1-4");
        let iso = NetFaults::isolate(1, 3);
        assert_eq!(iso.cut_links().count(), 4);
        assert!(NetFaults::none().is_healthy());
        assert_eq!(NetFaults::none().describe(), "healthy");
    }

    #[test]
    fn one_way_cuts_are_described_with_an_arrow() {
        let mut f = NetFaults::none();
        f.cut_one_way(2, 0);
        f.node_loss = 0.25;
        f.client_delay = Some(Delay::new(
            Duration::from_millis(40),
            Duration::from_millis(5),
        ));
        assert_eq!(f.describe(), "cut 2>0 node-loss 0.25 client-delay 40±5ms");
    }

    #[test]
    fn rules_match_owner_address_and_port() {
        let nodes = [endpoint(2, 9001, 901), endpoint(3, 9002, 902), None];
        let f = NetFaults::isolate(0, 2);
        let rules = rules(&f, &nodes, None);
        assert_eq!(
            rules,
            [
                "-o lo -p tcp -d 127.0.0.3 --dport 9002 -m owner --uid-owner 901 -j DROP",
                "-o lo -p tcp -d 127.0.0.2 --dport 9001 -m owner --uid-owner 902 -j DROP",
            ]
        );
        assert!(super::rules(&NetFaults::none(), &nodes, None).is_empty());
    }

    #[test]
    fn client_faults_mark_connections_of_other_users() {
        let nodes = [endpoint(2, 9001, 901), endpoint(3, 9002, 902)];
        let f = NetFaults {
            client_loss: 0.1,
            client_delay: Some(Delay::new(Duration::from_millis(10), Duration::ZERO)),
            ..NetFaults::default()
        };
        let queues = Queues {
            nodes: 7,
            clients: 8,
        };
        let rules = rules(&f, &nodes, Some(queues));
        assert_eq!(rules.len(), 2 + 4 + 4, "{rules:#?}");
        assert_eq!(
            rules[0],
            "-o lo -p tcp -d 127.0.0.2 --dport 9001 -m owner ! --uid-owner 901 -m owner ! \
             --uid-owner 902 -j CONNMARK --set-mark 0x4454/0xffff"
        );
        assert!(rules[3].starts_with("-o lo -p tcp -s 127.0.0.2 --sport 9001 -m connmark"));
        assert!(rules[9].ends_with("-j NFQUEUE --queue-num 8 --queue-bypass"));
    }

    #[test]
    fn node_loss_and_delay_skip_cut_links() {
        let nodes = [endpoint(2, 1, 1), endpoint(3, 2, 2), endpoint(4, 3, 3)];
        let mut f = NetFaults::none();
        f.cut(0, 1);
        f.node_loss = 0.5;
        f.node_delay = Some(Delay::new(Duration::from_millis(5), Duration::ZERO));
        let queues = Queues {
            nodes: 1,
            clients: 2,
        };
        let rules = rules(&f, &nodes, Some(queues));
        // 2 cuts, then loss and delay on the 4 remaining directed links.
        assert_eq!(rules.len(), 2 + 4 + 4, "{rules:#?}");
        assert!(rules.iter().take(2).all(|r| r.ends_with("-j DROP")));
        assert!(f.validate(3).is_ok());
        assert!(f.validate(1).is_err());
    }
}

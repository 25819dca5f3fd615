//! `Config::dialer`: the caller opens the sockets to the nodes.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dqlite_client::{Cluster, Config, DialFuture, Dialer};

use crate::common;

/// Resolves `node-N.invalid:9001` to the cluster's node N; dials anything else as given.
#[derive(Debug)]
struct NamedNodes {
    nodes: Vec<String>,
    dialed: Mutex<Vec<String>>,
}

impl Dialer for NamedNodes {
    fn dial(&self, address: &str) -> DialFuture {
        self.dialed.lock().unwrap().push(address.to_owned());
        let target = address
            .strip_prefix("node-")
            .and_then(|rest| rest.strip_suffix(".invalid:9001"))
            .and_then(|n| n.parse::<usize>().ok())
            .map_or_else(|| address.to_owned(), |n| self.nodes[n].clone());
        Box::pin(async move {
            let tcp = tokio::net::TcpStream::connect(target).await?;
            Ok(OwnedFd::from(tcp.into_std()?))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialer_opens_every_connection() {
    let cluster = common::start(3);
    let names: Vec<String> = (0..3).map(|n| format!("node-{n}.invalid:9001")).collect();
    let config = |names: &[String]| {
        Config::new(names)
            .unwrap()
            .database("dialer")
            .connect_timeout(Duration::from_secs(10))
    };
    // Without the dialer the made-up names lead nowhere.
    let unknown = config(&names).connect_timeout(Duration::from_secs(1));
    assert!(Cluster::new(unknown).connect().await.is_err());

    let dialer = Arc::new(NamedNodes {
        nodes: cluster.addresses(),
        dialed: Mutex::default(),
    });
    let mut conn = Cluster::new(config(&names).dialer(dialer.clone()))
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let all = conn.query_all("SELECT n FROM t", &[]).await.unwrap();
    assert_eq!(all.rows.len(), 1);
    let dialed = dialer.dialed.lock().unwrap().clone();
    assert!(names.contains(&dialed[0]), "{dialed:?}");
    let known: Vec<String> = names.iter().cloned().chain(cluster.addresses()).collect();
    assert!(dialed.iter().all(|a| known.contains(a)), "{dialed:?}");
}

/// A dialer whose sockets are not stream sockets.
#[derive(Debug)]
struct Datagrams;

impl Dialer for Datagrams {
    fn dial(&self, _address: &str) -> DialFuture {
        Box::pin(async {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
            Ok(OwnedFd::from(udp))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_is_not_a_stream_is_refused() {
    let config = Config::new(["127.0.0.1:9"])
        .unwrap()
        .connect_timeout(Duration::from_millis(500))
        .dialer(Arc::new(Datagrams));
    let err = Cluster::new(config).connect().await.unwrap_err();
    assert!(err.to_string().contains("not a stream socket"), "{err}");
}

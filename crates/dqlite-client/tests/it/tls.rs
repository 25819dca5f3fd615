//! TLS through a real TLS terminator (stunnel) in front of a node, with and without a
//! client certificate, and (on 1.18) to nodes that speak TLS themselves: large writes and
//! pipelined batches (every request flushed whole through the TLS layer), and refusal of
//! a wrong host name and of an expired certificate, pinned or CA-signed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dqlite_client::{Config, Connection, ErrorKind, TlsConfig, Value};

use crate::common;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    for (name, san) in [
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "subjectAltName=DNS:client"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(dir.join(format!("{name}.ext")), san).unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Stunnel {
    child: Child,
    port: u16,
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// stunnel accepting TLS on a free port and forwarding to `target`, presenting
/// `server.pem`.
fn stunnel(dir: &Path, target: &str, require_client_cert: bool) -> Stunnel {
    stunnel_with(dir, target, require_client_cert, "server")
}

/// stunnel presenting `<identity>.pem` and `<identity>.key` from `dir`.
///
/// The port is one that was free a moment ago; another process may take it before stunnel
/// binds it, and stunnel then exits: start it again on a new port.
fn stunnel_with(dir: &Path, target: &str, require_client_cert: bool, identity: &str) -> Stunnel {
    for _ in 0..5 {
        if let Some(stunnel) = try_stunnel(dir, target, require_client_cert, identity) {
            return stunnel;
        }
    }
    panic!("stunnel exited five times on start (ports taken?)");
}

/// One attempt of [`stunnel_with`]: `None` when stunnel exited before it listened.
fn try_stunnel(
    dir: &Path,
    target: &str,
    require_client_cert: bool,
    identity: &str,
) -> Option<Stunnel> {
    let port = free_port();
    let verify = if require_client_cert {
        format!(
            "CAfile = {}\nverifyChain = yes\nrequireCert = yes\n",
            dir.join("ca.pem").display()
        )
    } else {
        String::new()
    };
    let conf = format!(
        "foreground = yes\npid =\n[dqlite]\naccept = 127.0.0.1:{port}\nconnect = {target}\n\
         cert = {}\nkey = {}\n{verify}",
        dir.join(format!("{identity}.pem")).display(),
        dir.join(format!("{identity}.key")).display(),
    );
    let path: PathBuf = dir.join(format!("stunnel-{port}.conf"));
    std::fs::write(&path, conf).unwrap();
    let mut child = Command::new("stunnel4")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("stunnel4 is installed by scripts/setup.sh");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Checked after a connect too: one that succeeds while stunnel has exited reached
        // whatever took the port.
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if child.try_wait().unwrap().is_some() {
            return None;
        }
        if listening {
            return Some(Stunnel { child, port });
        }
        assert!(Instant::now() < deadline, "stunnel did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn round_trip(address: &str, config: &Config) -> dqlite_client::Result<Vec<Value>> {
    let mut conn = Connection::handshake(&address.parse()?, config).await?;
    conn.open("tls").await?;
    conn.execute("CREATE TABLE IF NOT EXISTS t (s TEXT)", &[])
        .await?;
    conn.execute("INSERT INTO t VALUES (?)", &[Value::from("over tls")])
        .await?;
    let rows = conn.query_all("SELECT s FROM t LIMIT 1", &[]).await?;
    Ok(rows.rows[0].values().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_through_stunnel_with_and_without_client_certificates() {
    let cluster = common::start(1);
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let ca = dir.path().join("ca.pem");
    let node = cluster.addresses()[0].clone();

    let plain = stunnel(dir.path(), &node, false);
    let address = format!("127.0.0.1:{}", plain.port);
    let tls = TlsConfig::from_pem_files(&ca, None).unwrap();
    let config = Config::new([address.as_str()]).unwrap().tls(tls);
    assert_eq!(
        round_trip(&address, &config).await.unwrap(),
        [Value::from("over tls")]
    );

    // A terminator that demands a client certificate.
    let mutual = stunnel(dir.path(), &node, true);
    let address = format!("127.0.0.1:{}", mutual.port);
    let identity = (dir.path().join("client.pem"), dir.path().join("client.key"));
    let tls = TlsConfig::from_pem_files(&ca, Some((&identity.0, &identity.1))).unwrap();
    let config = Config::new([address.as_str()])
        .unwrap()
        .tls(tls)
        .request_timeout(Duration::from_secs(5));
    assert_eq!(
        round_trip(&address, &config).await.unwrap(),
        [Value::from("over tls")]
    );

    // Without the certificate the terminator hangs up: a transport error, not a hang.
    let tls = TlsConfig::from_pem_files(&ca, None).unwrap();
    let config = Config::new([address.as_str()])
        .unwrap()
        .tls(tls)
        .request_timeout(Duration::from_secs(5));
    let err = round_trip(&address, &config).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::Closed),
        "{err}"
    );

    // A CA that did not sign the server's certificate is refused.
    let other = tempfile::tempdir().unwrap();
    make_pki(other.path());
    let tls = TlsConfig::from_pem_files(&other.path().join("ca.pem"), None).unwrap();
    let address = format!("127.0.0.1:{}", plain.port);
    let config = Config::new([address.as_str()]).unwrap().tls(tls);
    let err = round_trip(&address, &config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cluster_with_leader_discovery() {
    let Some(cluster) = common::start_tls(3) else {
        eprintln!("skipped: native TLS needs go-dqlite >= 2.0 (DQLITE_SERVER_VERSION=1.18|latest)");
        return;
    };
    // go-dqlite nodes share one self-signed certificate and demand it from clients too.
    let cert = cluster.ca_cert_path().unwrap();
    let key = cluster.tls_key_path().unwrap();
    let tls = TlsConfig::from_pem_files(cert, Some((cert, key))).unwrap();
    let client = dqlite_client::Cluster::new(common::config(&cluster, "tls").tls(tls));
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let rows = conn.query_all("SELECT n FROM t", &[]).await.unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_pem_and_a_ready_rustls_configuration() {
    let Some(cluster) = common::start_tls(1) else {
        eprintln!("skipped: native TLS needs go-dqlite >= 2.0 (DQLITE_SERVER_VERSION=1.18|latest)");
        return;
    };
    let cert = std::fs::read(cluster.ca_cert_path().unwrap()).unwrap();
    let key = std::fs::read(cluster.tls_key_path().unwrap()).unwrap();
    let in_memory = TlsConfig::from_pem(&cert, Some((&cert, &key))).unwrap();
    // The test kit's own rustls configuration, used as it is.
    let ready: std::sync::Arc<dqlite_client::rustls::ClientConfig> =
        cluster.tls_client_config().unwrap();
    for (n, tls) in [in_memory, TlsConfig::from_rustls(ready)]
        .into_iter()
        .enumerate()
    {
        let client = dqlite_client::Cluster::new(common::config(&cluster, "tls-forms").tls(tls));
        let mut conn = client.connect().await.unwrap();
        conn.execute("CREATE TABLE IF NOT EXISTS t (n)", &[])
            .await
            .unwrap();
        conn.execute("INSERT INTO t VALUES (?)", &[Value::Integer(n as i64)])
            .await
            .unwrap();
    }
    let client = dqlite_client::Cluster::new(
        common::config(&cluster, "tls-forms")
            .connect_timeout(Duration::from_secs(2))
            .tls(TlsConfig::from_pem(&cert, None).unwrap()),
    );
    // The nodes demand a client certificate: without one the handshake fails. In TLS 1.3
    // the server refuses after the client's side of the handshake is complete, so the client
    // learns it from the server's alert, or, when its first write races the server closing
    // the socket, as a broken pipe or a reset (seen on 1.18.7: "Broken pipe").
    let err = client.connect().await.map(drop).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoLeader, "{err}");
    let text = err.to_string();
    assert!(
        ["CertificateRequired", "Broken pipe", "Connection reset"]
            .iter()
            .any(|why| text.contains(why)),
        "{err}"
    );
    let tls = TlsConfig::from_pem(&cert, Some((&cert, &key))).unwrap();
    let mut conn = dqlite_client::Cluster::new(common::config(&cluster, "tls-forms").tls(tls))
        .connect()
        .await
        .unwrap();
    let rows = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(2)]);
}

/// A self-signed certificate marked as a CA (as `openssl req -x509` and go-dqlite's
/// clusters make them), for 127.0.0.1 and localhost, as `<name>.pem` and `<name>.key`;
/// valid now, or only during the first day of 2020 when `expired`.
fn make_self_signed(dir: &Path, name: &str, expired: bool) {
    let conf = "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\n\
                serial = serial\ndefault_md = sha256\npolicy = p\nx509_extensions = e\n\
                [p]\ncommonName = supplied\n[e]\nbasicConstraints = critical,CA:TRUE\n\
                subjectAltName = IP:127.0.0.1,DNS:localhost\n";
    std::fs::write(dir.join("self.cnf"), conf).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    let (start, end) = if expired {
        ("20200101000000Z", "20200102000000Z")
    } else {
        ("20200101000000Z", "20991231000000Z")
    };
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "self.cnf",
            "-selfsign",
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-out",
            &pem,
            "-startdate",
            start,
            "-enddate",
            end,
        ],
    );
}

/// A write of an 8 MiB row read back, then a pipelined batch of 10,000 rows in a
/// transaction: requests far larger than a TLS record, and many in flight at once, each
/// of which must leave the TLS layer whole without waiting for a later write.
async fn large_and_pipelined(conn: &mut Connection) {
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)", &[])
        .await
        .unwrap();
    let blob: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 253) as u8).collect();
    conn.execute(
        "INSERT INTO big VALUES (1, ?)",
        &[Value::Blob(blob.clone())],
    )
    .await
    .unwrap();
    let rows = conn
        .query_all("SELECT b FROM big WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Blob(blob)]);

    conn.execute("CREATE TABLE many (n INTEGER, s TEXT)", &[])
        .await
        .unwrap();
    let params: Vec<Vec<Value>> = (0..10_000)
        .map(|n| vec![Value::Integer(n), Value::from(format!("row {n:05}"))])
        .collect();
    let mut tx = conn.transaction().await.unwrap();
    let result = tx
        .execute_many("INSERT INTO many VALUES (?, ?)", &params, 256)
        .await
        .unwrap();
    assert_eq!(result.rows_affected, 10_000);
    tx.commit().await.unwrap();
    let rows = conn
        .query_all("SELECT count(*), sum(n) FROM many", &[])
        .await
        .unwrap();
    assert_eq!(
        rows.rows[0].values(),
        [Value::Integer(10_000), Value::Integer(49_995_000)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_requests_and_pipelined_batches_cross_tls_whole() {
    let cluster = common::start(1);
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    let terminator = stunnel(dir.path(), &cluster.addresses()[0], false);
    let address = format!("127.0.0.1:{}", terminator.port);
    let tls = TlsConfig::from_pem_files(&dir.path().join("ca.pem"), None).unwrap();
    let config = Config::new([address.as_str()])
        .unwrap()
        .tls(tls)
        .request_timeout(Duration::from_secs(10));
    let mut conn = Connection::handshake(&address.parse().unwrap(), &config)
        .await
        .unwrap();
    conn.open("tls-large").await.unwrap();
    large_and_pipelined(&mut conn).await;

    // Nodes that speak TLS themselves (go-dqlite 2.0, on 1.18).
    let Some(cluster) = common::start_tls(1) else {
        return;
    };
    let cert = cluster.ca_cert_path().unwrap();
    let key = cluster.tls_key_path().unwrap();
    let tls = TlsConfig::from_pem_files(cert, Some((cert, key))).unwrap();
    let config = common::config(&cluster, "tls-large").tls(tls);
    let mut conn = dqlite_client::Cluster::new(config).connect().await.unwrap();
    large_and_pipelined(&mut conn).await;
}

/// The error of a handshake through `address` with `tls`: refused, as a transport error
/// that names the reason.
async fn refused(address: &str, tls: TlsConfig, reason: &str) {
    let config = Config::new([address]).unwrap().tls(tls);
    let err = round_trip(address, &config)
        .await
        .map(|rows| format!("accepted ({reason} expected): {rows:?}"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(
        err.to_string().to_lowercase().contains(reason),
        "expected {reason:?}: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_name_and_an_expired_certificate_are_refused() {
    let cluster = common::start(1);
    let node = cluster.addresses()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    make_pki(dir.path());
    make_self_signed(dir.path(), "pinned", false);
    make_self_signed(dir.path(), "expired", true);

    // A certificate signed by the CA (checked the WebPKI way).
    let signed = stunnel(dir.path(), &node, false);
    let address = format!("127.0.0.1:{}", signed.port);
    let ca = dir.path().join("ca.pem");
    let tls = || TlsConfig::from_pem_files(&ca, None).unwrap();
    let config = Config::new([address.as_str()]).unwrap().tls(tls());
    round_trip(&address, &config).await.unwrap();
    refused(
        &address,
        tls().server_name("db.example").unwrap(),
        "not valid for name",
    )
    .await;

    // A self-signed certificate trusted as itself (pinned), as go-dqlite clusters use:
    // its name and dates are checked all the same.
    let pinned = stunnel_with(dir.path(), &node, false, "pinned");
    let address = format!("127.0.0.1:{}", pinned.port);
    let pem = dir.path().join("pinned.pem");
    let tls = || TlsConfig::from_pem_files(&pem, None).unwrap();
    let config = Config::new([address.as_str()]).unwrap().tls(tls());
    round_trip(&address, &config).await.unwrap();
    let config = Config::new([address.as_str()])
        .unwrap()
        .tls(tls().server_name("localhost").unwrap());
    round_trip(&address, &config).await.unwrap();
    refused(
        &address,
        tls().server_name("db.example").unwrap(),
        "not valid for name",
    )
    .await;

    let expired = stunnel_with(dir.path(), &node, false, "expired");
    let address = format!("127.0.0.1:{}", expired.port);
    let tls = TlsConfig::from_pem_files(&dir.path().join("expired.pem"), None).unwrap();
    refused(&address, tls, "expired").await;

    // Nodes that speak TLS themselves (1.18): the cluster certificate names 127.0.0.1
    // and localhost, not db.example.
    let Some(cluster) = common::start_tls(1) else {
        return;
    };
    let cert = cluster.ca_cert_path().unwrap();
    let key = cluster.tls_key_path().unwrap();
    let address = cluster.addresses()[0].clone();
    let tls = TlsConfig::from_pem_files(cert, Some((cert, key)))
        .unwrap()
        .server_name("db.example")
        .unwrap();
    refused(&address, tls, "not valid for name").await;
}

//! TLS through a real TLS terminator (stunnel) in front of a node, with and without a
//! client certificate, and (on 1.18) to nodes that speak TLS themselves.

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

/// stunnel accepting TLS on a free port and forwarding to `target`.
fn stunnel(dir: &Path, target: &str, require_client_cert: bool) -> Stunnel {
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
        dir.join("server.pem").display(),
        dir.join("server.key").display(),
    );
    let path: PathBuf = dir.join(format!("stunnel-{port}.conf"));
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("stunnel4")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("stunnel4 is installed by scripts/setup.sh");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "stunnel did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Stunnel { child, port }
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

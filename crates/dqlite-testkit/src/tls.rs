//! Self-signed TLS material for clusters started with `.tls(true)`, and a rustls client
//! configuration that trusts exactly that certificate.
//!
//! go-dqlite 2.0.0's `dqlite-demo --cert --key` uses the one certificate as its own
//! certificate *and* as the only trusted CA, for both the listening and the dialing side,
//! and it **requires a client certificate** (mutual TLS). A client therefore has to
//! present the same certificate and key; see [`TlsFiles`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};
use crate::util::run_command;

/// Paths of the PEM certificate and key a TLS cluster's nodes use.
///
/// The certificate is self-signed (CN=localhost, SAN IP:127.0.0.1 and DNS:localhost) and
/// acts as its own CA. The nodes demand a client certificate signed by it, so clients
/// present this same certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate: the nodes' certificate and the CA to trust.
    pub cert: PathBuf,
    /// PEM private key (unencrypted) matching `cert`.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Generates a fresh self-signed certificate and key in `dir` with the `openssl` CLI.
    pub fn generate(dir: &Path) -> Result<Self> {
        let files = TlsFiles {
            cert: dir.join("cluster-cert.pem"),
            key: dir.join("cluster-key.pem"),
        };
        let mut cmd = std::process::Command::new("openssl");
        cmd.args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&files.key)
        .arg("-out")
        .arg(&files.cert);
        run_command(&mut cmd)?;
        Ok(files)
    }

    /// A rustls client configuration that trusts only this certificate (pinned: the
    /// server must present exactly it) and presents it as the client certificate.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let cert = CertificateDer::from_pem_file(&self.cert)
            .map_err(|e| Error::Tls(format!("read {}: {e}", self.cert.display())))?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| Error::Tls(format!("read {}: {e}", self.key.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = PinnedCert {
            cert: cert.clone(),
            algorithms: provider.signature_verification_algorithms,
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(vec![cert], key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// Accepts exactly one server certificate, byte for byte, and checks the handshake
/// signatures with it. This is what "trust this self-signed certificate" means; webpki
/// path building would refuse it, since openssl marks it CA:TRUE yet it is the leaf.
#[derive(Debug)]
struct PinnedCert {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Where TLS clusters on this machine take turns (see [`BootstrapSocketLock`]).
const BOOTSTRAP_LOCK_PATH: &str = "/tmp/dqlite-testkit-tls-bootstrap.lock";

/// A machine-wide lock held for the life of a TLS cluster.
///
/// go-dqlite 2.0's `dqlite-demo --cert` binds its node to the abstract Unix socket
/// `@dqlite-<node id>`, and the bootstrap node's id is a constant: two TLS clusters alive at
/// once on one machine (two test runs, or a test run beside a developer's cluster) fail with
/// "failed to set bind address @dqlite-3297041220608546238". Holding an `flock` on a file in
/// `/tmp` from start to drop makes the second cluster wait instead; the kernel drops the
/// lock when the process dies, so a killed test run leaves nothing behind.
#[derive(Debug)]
pub(crate) struct BootstrapSocketLock {
    _file: std::fs::File,
}

impl BootstrapSocketLock {
    /// Waits until no other TLS cluster on this machine is alive, at most until `deadline`.
    pub(crate) fn acquire(deadline: std::time::Instant) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(BOOTSTRAP_LOCK_PATH)
            .map_err(|e| Error::io(format!("open {BOOTSTRAP_LOCK_PATH}"), e))?;
        let started = std::time::Instant::now();
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(BootstrapSocketLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::WouldBlock {
                return Err(Error::io(format!("lock {BOOTSTRAP_LOCK_PATH}"), err));
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "another TLS cluster on this machine to stop (it holds \
                         {BOOTSTRAP_LOCK_PATH}: go-dqlite's TLS bootstrap node binds a \
                         fixed socket name)"
                    ),
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

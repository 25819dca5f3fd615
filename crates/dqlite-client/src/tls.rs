//! TLS to the nodes, with rustls (ring provider).
//!
//! dqlite clusters usually share one self-signed certificate that is both the CA and every
//! node's identity (go-dqlite's `--cert/--key`). Give that certificate as the CA, and the
//! same certificate and key as the client identity when the nodes ask for one. The name
//! checked against the node's certificate is the host part of the node's address (an IP
//! address must appear as an IP SAN), unless [`TlsConfig::server_name`] sets another.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, Result};

/// How to talk TLS to the nodes.
#[derive(Clone)]
pub struct TlsConfig {
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Trusts the certificates in the PEM file `ca` and, when `identity` is given,
    /// presents that certificate chain and key (PEM files) to the nodes.
    pub fn from_pem_files(ca: &Path, identity: Option<(&Path, &Path)>) -> Result<Self> {
        let mut roots = RootCertStore::empty();
        let certs = read_certs(ca)?;
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::Config(format!(
                "{}: no usable CA certificate",
                ca.display()
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        let verifier = Arc::new(PinnedOrWebPki {
            pinned: read_certs(ca)?,
            webpki,
            provider: provider.clone(),
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match identity {
            Some((cert, key)) => {
                let chain = read_certs(cert)?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| Error::Config(format!("{}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::Config(format!("TLS client identity: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConfig {
            connector: TlsConnector::from(Arc::new(config)),
            server_name: None,
        })
    }

    /// Checks every node's certificate against this name instead of the address's host.
    pub fn server_name(mut self, name: &str) -> Result<Self> {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|e| Error::Config(format!("TLS server name {name:?}: {e}")))?;
        self.server_name = Some(name);
        Ok(self)
    }

    pub(crate) async fn wrap(
        &self,
        tcp: TcpStream,
        hostport: &str,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => host_name(hostport)?,
        };
        self.connector.connect(name, tcp).await
    }
}

/// Trusts a node that presents exactly one of the certificates of the CA file, and
/// otherwise verifies the chain and name the usual way.
///
/// dqlite clusters commonly share one self-signed certificate (`openssl req -x509`, which
/// marks it as a CA) as every node's identity. WebPKI rules refuse a CA certificate as a
/// server's own certificate, so such a certificate is matched byte for byte instead: the
/// user named that exact certificate as trusted. The handshake signature is still checked
/// against it, so only the holder of its key passes.
#[derive(Debug)]
struct PinnedOrWebPki {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// The host part of `host:port` / `[v6]:port` as a TLS server name.
fn host_name(hostport: &str) -> std::io::Result<ServerName<'static>> {
    let host = hostport
        .rsplit_once(':')
        .map_or(hostport, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_from_addresses() {
        assert_eq!(
            host_name("127.0.0.1:9001").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            host_name("[::1]:9001").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
        assert_eq!(
            host_name("db.example:9001").unwrap(),
            ServerName::try_from("db.example").unwrap()
        );
    }

    #[test]
    fn missing_files_are_config_errors() {
        let err = TlsConfig::from_pem_files(Path::new("/nonexistent/ca.pem"), None).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}

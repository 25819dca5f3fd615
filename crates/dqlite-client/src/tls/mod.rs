//! TLS to the nodes, with rustls (ring provider).
//!
//! dqlite clusters usually share one self-signed certificate that is both the CA and every
//! node's identity (go-dqlite's `--cert/--key`). Give that certificate as the CA, and the
//! same certificate and key as the client identity when the nodes ask for one. The name
//! checked against the node's certificate is the host part of the node's address (an IP
//! address must appear as an IP SAN), unless [`TlsConfig::server_name`] sets another.
//!
//! The certificates come from PEM files ([`TlsConfig::from_pem_files`]), from PEM text in
//! memory ([`TlsConfig::from_pem`]), or a ready rustls configuration is used as it is
//! ([`TlsConfig::from_rustls`]).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, Result};

mod pinned;

use pinned::PinnedOrWebPki;

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
        let read = |path: &Path| {
            std::fs::read(path)
                .map(|bytes| Pem {
                    bytes,
                    name: path.display().to_string(),
                })
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))
        };
        let identity = match identity {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        };
        TlsConfig::build(&read(ca)?, identity.as_ref().map(|(c, k)| (c, k)))
    }

    /// Like [`from_pem_files`](Self::from_pem_files), with the PEM text in memory: `ca`
    /// holds the certificates to trust and `identity` the client's certificate chain and
    /// private key, for nodes that ask for one.
    ///
    /// ```
    /// # fn demo(ca: &[u8], cert: &[u8], key: &[u8]) -> dqlite_client::Result<()> {
    /// use dqlite_client::{Config, TlsConfig};
    ///
    /// // go-dqlite clusters share one certificate: it is the CA and the identity.
    /// let tls = TlsConfig::from_pem(cert, Some((cert, key)))?;
    /// let config = Config::new(["10.0.0.1:9001"])?.tls(tls);
    /// # let _ = (config, ca);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pem(ca: &[u8], identity: Option<(&[u8], &[u8])>) -> Result<Self> {
        let pem = |bytes: &[u8], name: &str| Pem {
            bytes: bytes.to_vec(),
            name: name.to_owned(),
        };
        let identity =
            identity.map(|(c, k)| (pem(c, "the certificate PEM"), pem(k, "the key PEM")));
        TlsConfig::build(
            &pem(ca, "the CA PEM"),
            identity.as_ref().map(|(c, k)| (c, k)),
        )
    }

    /// Uses a rustls client configuration as it is: its certificate verifier, client
    /// identity, protocol versions and cipher suites. The name checked is the host part
    /// of each node's address, or [`server_name`](Self::server_name).
    ///
    /// `rustls` is re-exported as [`dqlite_client::rustls`](crate::rustls), so that the
    /// configuration is built with the same version of it.
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        TlsConfig {
            connector: TlsConnector::from(config),
            server_name: None,
        }
    }

    fn build(ca: &Pem, identity: Option<(&Pem, &Pem)>) -> Result<Self> {
        let mut roots = RootCertStore::empty();
        let pinned = ca.certs()?;
        let (added, _ignored) = roots.add_parsable_certificates(pinned.iter().cloned());
        if added == 0 {
            return Err(Error::Config(format!(
                "{}: no usable CA certificate",
                ca.name
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        let verifier = Arc::new(PinnedOrWebPki {
            pinned,
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
                let chain = cert.certs()?;
                let key = PrivateKeyDer::from_pem_slice(&key.bytes)
                    .map_err(|e| Error::Config(format!("{}: {e}", key.name)))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::Config(format!("TLS client identity: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConfig::from_rustls(Arc::new(config)))
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

/// PEM text and what to call it in errors (a file name).
struct Pem {
    bytes: Vec<u8>,
    name: String,
}

impl Pem {
    /// The certificates it holds; at least one.
    fn certs(&self) -> Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_slice_iter(&self.bytes)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("{}: {e}", self.name)))?;
        if certs.is_empty() {
            return Err(Error::Config(format!(
                "{}: no PEM certificate found",
                self.name
            )));
        }
        Ok(certs)
    }
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
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn pem_text_without_certificates_is_a_config_error() {
        for (bad, says) in [
            (&b""[..], "no PEM certificate"),
            (b"not pem at all", "no PEM certificate"),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                "the CA PEM",
            ),
        ] {
            let err = TlsConfig::from_pem(bad, None).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}

//! Certificate verification for clusters that share one self-signed certificate.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// Trusts a node that presents exactly one of the certificates of the CA file, and
/// otherwise verifies the chain and name the usual way.
///
/// dqlite clusters commonly share one self-signed certificate (`openssl req -x509`, which
/// marks it as a CA) as every node's identity. WebPKI rules refuse a CA certificate as a
/// server's own certificate, so such a certificate is matched byte for byte instead: the
/// user named that exact certificate as trusted. Its name and validity period are still
/// checked, as for any certificate, and the handshake signature is checked against it, so
/// only the holder of its key passes.
#[derive(Debug)]
pub(super) struct PinnedOrWebPki {
    pub(super) pinned: Vec<CertificateDer<'static>>,
    pub(super) webpki: Arc<WebPkiServerVerifier>,
    pub(super) provider: Arc<CryptoProvider>,
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
            let parsed = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            check_validity(end_entity, now)?;
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

/// Fails unless `now` lies within the certificate's validity period (notBefore to
/// notAfter, both included). A certificate whose dates cannot be read is refused.
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (not_before, not_after) = validity(cert.as_ref()).ok_or_else(bad)?;
    let now = now.as_secs();
    if now < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// One DER element: (tag, contents, what follows it).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
        if bytes.is_empty() || bytes.len() > 4 {
            return None;
        }
        let len = bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        (usize::try_from(len).ok()?, rest)
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0] EXPLICIT`, the optional version of a TBSCertificate.
const VERSION: u8 = 0xa0;

/// The validity period of an X.509 certificate, in seconds since the Unix epoch:
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }
fn validity(cert: &[u8]) -> Option<(u64, u64)> {
    let (SEQUENCE, cert, _) = der_element(cert)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = der_element(cert)? else {
        return None;
    };
    let (tag, _, mut rest) = der_element(tbs)?;
    if tag == VERSION {
        // That was the version; the serial number follows.
        rest = der_element(rest)?.2;
    }
    // The signature algorithm, then the issuer.
    rest = der_element(rest)?.2;
    rest = der_element(rest)?.2;
    let (SEQUENCE, period, _) = der_element(rest)? else {
        return None;
    };
    let (tag, not_before, rest) = der_element(period)?;
    let not_before = der_time(tag, not_before)?;
    let (tag, not_after, _) = der_element(rest)?;
    Some((not_before, der_time(tag, not_after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950 to 2049) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`) as seconds since the Unix epoch.
fn der_time(tag: u8, text: &[u8]) -> Option<u64> {
    let digits = text.strip_suffix(b"Z")?;
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = digits.get(range)?;
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = number(0..2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (number(0..4)?, 4),
        _ => return None,
    };
    let field = |i: usize| number(rest + 2 * i..rest + 2 * i + 2);
    let (month, day) = (field(0)?, field(1)?);
    let (hour, minute, second) = (field(2)?, field(3)?, field(4)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = dqlite_wire::time::days_from_civil(
        i64::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    );
    // Dates before 1970 are refused (and would be in the past anyway).
    let seconds =
        days * 86_400 + i64::try_from(hour * 3_600 + minute * 60 + second.min(60)).ok()?;
    u64::try_from(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_to_unix_time() {
        assert_eq!(der_time(UTC_TIME, b"200101000000Z"), Some(1_577_836_800));
        assert_eq!(der_time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(
            der_time(GENERALIZED_TIME, b"20991231000000Z"),
            Some(4_102_358_400)
        );
        assert_eq!(der_time(UTC_TIME, b"2001010000Z"), None);
        assert_eq!(der_time(UTC_TIME, b"201301000000Z"), None);
        assert_eq!(der_time(0x04, b"200101000000Z"), None);
    }

    #[test]
    fn hostile_der_is_refused_without_panicking() {
        assert_eq!(validity(&[]), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(validity(&[0x30, 0x02, 0x30, 0x00]), None);
        for len in 0..64u8 {
            let mut bytes = vec![0x30, len, 0x30, len.saturating_sub(2), 0xa0];
            bytes.resize(usize::from(len) + 2, 0x17);
            assert_eq!(validity(&bytes), None);
        }
    }
}

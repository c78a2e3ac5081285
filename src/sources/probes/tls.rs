//! TLS for probes: trust roots, `ca_file`, `insecure`, and a verifier that remembers
//! the server certificate's expiry so that days-to-expiry are known even when the
//! handshake is refused.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error as TlsError, RootCertStore,
    SignatureScheme,
};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

const SECS_PER_DAY: i64 = 86_400;

/// The system trust store, read once per process. rustls-native-certs reads the
/// OpenSSL locations (Debian: /etc/ssl/certs from `ca-certificates`) and honours
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`, so it works offline and trusts what curl and
/// the operator's corporate CA setup trust; a compiled-in root list would not.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Reads a PEM bundle of extra trust roots.
fn load_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("ca_file {path}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("ca_file {path}: not a PEM certificate bundle ({e})"))?;
    if certs.is_empty() {
        return Err(format!("ca_file {path}: no PEM certificate in it"));
    }
    Ok(certs)
}

#[derive(Debug)]
enum Trust {
    Verify(Arc<WebPkiServerVerifier>),
    /// No root at all (no system store, no `ca_file`): every certificate is untrusted.
    NoRoots,
    /// `insecure: true`: any certificate is accepted.
    Insecure,
}

/// Verifies (or, when insecure, accepts) the server certificate and records its
/// notAfter first, whatever the verdict.
#[derive(Debug)]
pub(super) struct Verifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
    not_after: Mutex<Option<i64>>,
}

impl Verifier {
    /// Forgets the certificate of an earlier request.
    pub(super) fn reset(&self) {
        *self
            .not_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Days until the last seen server certificate expires (negative once expired).
    pub(super) fn cert_days(&self, now_unix: i64) -> Option<i64> {
        let not_after = *self
            .not_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        not_after.map(|t| days_until(t, now_unix))
    }

    pub(super) fn has_no_roots(&self) -> bool {
        matches!(self.trust, Trust::NoRoots)
    }

    fn record(&self, der: &[u8]) {
        if let Some(t) = not_after(der) {
            *self
                .not_after
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(t);
        }
    }
}

/// Whole days from `now` to `not_after`, rounded toward zero: 4.9 days left is 4,
/// expired 3.1 days ago is -3 (and less than a day either side is 0).
pub(super) fn days_until(not_after_unix: i64, now_unix: i64) -> i64 {
    (not_after_unix - now_unix) / SECS_PER_DAY
}

/// The certificate's notAfter as Unix seconds.
pub(super) fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        self.record(end_entity);
        match &self.trust {
            Trust::Verify(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Trust::NoRoots => Err(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            Trust::Insecure => Ok(ServerCertVerified::assertion()),
        }
    }

    // Signatures are checked even when insecure: it costs nothing and still proves
    // the server holds the certificate's key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
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
    ) -> Result<HandshakeSignatureValid, TlsError> {
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

/// A rustls client config on the ring provider (kube brings it; aws-lc-rs would need
/// cmake and a C toolchain), trusting the system roots plus `ca_file`.
pub(super) fn client_config(
    ca_file: Option<&str>,
    insecure: bool,
) -> Result<(ClientConfig, Arc<Verifier>), String> {
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(path) = ca_file {
        for cert in load_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {path}: unusable certificate ({e})"))?;
        }
    }
    let trust = if insecure {
        Trust::Insecure
    } else if roots.is_empty() {
        Trust::NoRoots
    } else {
        let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("TLS setup: {e}"))?;
        Trust::Verify(v)
    };
    let verifier = Arc::new(Verifier {
        trust,
        provider: provider.clone(),
        not_after: Mutex::new(None),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((config, verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_toward_zero() {
        let now = 1_000_000;
        assert_eq!(days_until(now + 5 * SECS_PER_DAY, now), 5);
        assert_eq!(days_until(now + 5 * SECS_PER_DAY - 1, now), 4);
        assert_eq!(days_until(now - 1, now), 0);
        assert_eq!(days_until(now - 3 * SECS_PER_DAY - 5, now), -3);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(not_after(b"not der"), None);
    }
}

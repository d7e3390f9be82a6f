//! The control planes' certificates: when they expire, and renewing them.
//!
//! Refresh learns each control plane's expiry from the TLS handshake with
//! its API server (no SSH session): kubeadm issues the serving certificate
//! with the others, in `init`, `join` and `certs renew all`, and the API
//! server reloads it from disk, so its `notAfter` is the node's. The
//! handshake trusts only the cluster CA; an expired certificate is still
//! read (that is when knowing matters most).
//!
//! Renewal (`renewal.rs`) runs [`crate::node_scripts::RENEW_CERTIFICATES`]
//! on the node: `kubeadm certs renew all`, then each static pod restarted
//! by moving its manifest out of the kubelet's directory and back, the way
//! kubeadm's documentation says to. `cloudinit_config` installs the same
//! script behind a systemd timer.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::pki::{PkiError, roots_from_pem};

/// The API server's port on each control plane (kubeadm's `bindPort`, set
/// by the provider).
pub const API_SERVER_PORT: u16 = 6443;

/// What can keep the provider from reading a serving certificate's expiry.
#[derive(Debug, thiserror::Error)]
pub enum ExpiryError {
    /// The cluster CA is not a usable trust anchor.
    #[error("the cluster CA is unusable")]
    Ca(#[source] PkiError),
    /// rustls refused to build a verifier or a client from the CA.
    #[error("no TLS client could be built for the cluster CA")]
    Tls(#[source] rustls::Error),
    /// rustls refused to build the WebPKI verifier from the CA.
    #[error("no certificate verifier could be built for the cluster CA")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
    /// The control plane's address is neither an IP address nor a DNS name.
    #[error("{address} is not a host name the certificate could be checked for")]
    InvalidName {
        /// The address given.
        address: String,
        /// rustls' reason.
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// The handshake finished without the server presenting a certificate.
    #[error("{address} presented no certificate")]
    NoCertificate {
        /// `host:port` tried.
        address: String,
    },
    /// No TCP connection to the API server.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// `host:port` tried.
        address: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed (including a certificate the CA did not sign).
    #[error("TLS handshake with {address} failed: {source}")]
    Handshake {
        /// `host:port` tried.
        address: String,
        /// rustls' reason, as an I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No answer within the time limit.
    #[error("no TLS handshake with {address} within {limit:?}")]
    TimedOut {
        /// `host:port` tried.
        address: String,
        /// The limit.
        limit: Duration,
    },
    /// The server's certificate is not X.509 the provider can read.
    #[error("the certificate of {address} is unreadable")]
    Unreadable {
        /// `host:port` tried.
        address: String,
        /// The parser's reason.
        #[source]
        source: PkiError,
    },
}

/// Verifies as rustls' WebPKI verifier does against the cluster CA, except
/// that an expired certificate passes, and keeps the certificate it saw.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.clone().into_owned());
        }
        match verdict {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn verifier(ca_pem: &str) -> Result<RecordingVerifier, ExpiryError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = roots_from_pem(ca_pem).map_err(ExpiryError::Ca)?;
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(ExpiryError::Verifier)?;
    Ok(RecordingVerifier { inner, seen: Mutex::new(None) })
}

/// `host:port` of the API server on a control plane at `address`.
pub fn api_server_address(address: &str) -> String {
    if address.contains(':') {
        format!("[{address}]:{API_SERVER_PORT}")
    } else {
        format!("{address}:{API_SERVER_PORT}")
    }
}

/// When the API server at `address` (a control plane's own address, not
/// the VIP) says its serving certificate expires: one TLS handshake that
/// trusts only `ca_pem`, within `limit`.
pub async fn serving_certificate_expiry(
    address: &str,
    ca_pem: &str,
    limit: Duration,
) -> Result<OffsetDateTime, ExpiryError> {
    let target = api_server_address(address);
    let name = match address.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(address.to_owned())
            .map_err(|source| ExpiryError::InvalidName { address: address.to_owned(), source })?,
    };
    expiry_at(&target, name, ca_pem, limit).await
}

/// The handshake of [`serving_certificate_expiry`] with `target`
/// (`host:port`), verifying the certificate for `name`.
async fn expiry_at(
    target: &str,
    name: ServerName<'static>,
    ca_pem: &str,
    limit: Duration,
) -> Result<OffsetDateTime, ExpiryError> {
    let target = target.to_owned();
    let verifier = Arc::new(verifier(ca_pem)?);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ExpiryError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let handshake = async {
        let tcp = TcpStream::connect(&target)
            .await
            .map_err(|source| ExpiryError::Connect { address: target.clone(), source })?;
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|source| ExpiryError::Handshake { address: target.clone(), source })
    };
    let stream = tokio::time::timeout(limit, handshake)
        .await
        .map_err(|_| ExpiryError::TimedOut { address: target.clone(), limit })??;
    drop(stream);
    let seen = verifier.seen.lock().ok().and_then(|mut s| s.take());
    let der = seen.ok_or_else(|| ExpiryError::NoCertificate { address: target.clone() })?;
    super::pki::not_after_der(&der).map_err(|source| ExpiryError::Unreadable { address: target, source })
}

/// How long refresh waits for each control plane's handshake (they run
/// in parallel).
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// The serving-certificate expiry of each control plane in `control_planes`
/// (name, address) that answers within `limit`, read in parallel. Those
/// that do not answer are left out (logged): refresh keeps what state knew.
pub async fn observe(
    control_planes: &[(String, String)],
    ca_pem: &str,
    limit: Duration,
) -> BTreeMap<String, OffsetDateTime> {
    let reads = control_planes.iter().map(|(name, address)| async move {
        match serving_certificate_expiry(address, ca_pem, limit).await {
            Ok(expiry) => Some((name.clone(), expiry)),
            Err(e) => {
                tracing::debug!(node = %name, error = %e, "certificate expiry not read");
                None
            }
        }
    });
    futures::future::join_all(reads).await.into_iter().flatten().collect()
}

/// Whether a certificate expiring at `expiry` is due for renewal at `now`:
/// less than `before` is left. `before` zero turns renewal off.
pub fn renewal_due(expiry: OffsetDateTime, now: OffsetDateTime, before: Duration) -> bool {
    !before.is_zero() && expiry - now < before
}

/// RFC 3339, seconds precision, UTC: how state records an expiry.
pub fn format_expiry(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// An expiry as state records it.
pub fn parse_expiry(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject as _;

    use super::*;

    #[test]
    fn renewal_is_due_only_inside_the_window_and_never_when_turned_off() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let day = Duration::from_secs(86_400);
        assert!(renewal_due(now + day * 89, now, day * 90));
        assert!(!renewal_due(now + day * 91, now, day * 90));
        assert!(renewal_due(now - day, now, day * 90), "an expired certificate is due");
        assert!(!renewal_due(now - day, now, Duration::ZERO), "zero turns renewal off");
    }

    #[test]
    fn expiries_round_trip_through_state_text() {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(format_expiry(at), "2027-01-15T08:00:00Z");
        assert_eq!(parse_expiry(&format_expiry(at)), Some(at));
    }

    /// A CA, and a certificate for 127.0.0.1 it signs valid from
    /// `not_before` to `not_after`: (CA PEM, leaf PEM, leaf key PEM).
    fn issued(not_before: OffsetDateTime, not_after: OffsetDateTime) -> (String, String, String) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key).expect("CA").pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("leaf key");
        let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("leaf params");
        leaf.subject_alt_names = vec![SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())];
        (leaf.not_before, leaf.not_after) = (not_before, not_after);
        let leaf_pem = leaf.signed_by(&key, &issuer).expect("leaf").pem();
        (ca_pem, leaf_pem, key.serialize_pem())
    }

    /// Serves TLS with `cert_pem` on a free loopback port: its `host:port`.
    async fn serve(cert_pem: &str, key_pem: &str) -> String {
        use rustls::pki_types::PrivateKeyDer;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<_, _>>().expect("chain");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                // The client may hang up right after the handshake.
                let _ = acceptor.accept(tcp).await;
            }
        });
        address
    }

    fn localhost() -> ServerName<'static> {
        ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())
    }

    #[tokio::test]
    async fn the_handshake_reads_a_valid_and_an_expired_certificate_and_refuses_a_stranger() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("whole seconds");
        let day = time::Duration::days(1);
        let (ca, leaf, key) = issued(now - day, now + day * 300);
        let valid = expiry_at(&serve(&leaf, &key).await, localhost(), &ca, REFRESH_TIMEOUT).await;
        assert_eq!(valid.expect("a valid certificate"), now + day * 300);

        let (ca, leaf, key) = issued(now - day * 400, now - day * 35);
        let expired = expiry_at(&serve(&leaf, &key).await, localhost(), &ca, REFRESH_TIMEOUT).await;
        assert_eq!(expired.expect("an expired certificate is still read"), now - day * 35);

        let (_, leaf, key) = issued(now - day, now + day);
        let (other_ca, _, _) = issued(now - day, now + day);
        let stranger = expiry_at(&serve(&leaf, &key).await, localhost(), &other_ca, REFRESH_TIMEOUT).await;
        assert!(matches!(stranger, Err(ExpiryError::Handshake { .. })), "{stranger:?}");
    }

    #[test]
    fn ipv6_api_server_addresses_are_bracketed() {
        assert_eq!(api_server_address("fd00::11"), "[fd00::11]:6443");
        assert_eq!(api_server_address("192.168.100.11"), "192.168.100.11:6443");
    }
}

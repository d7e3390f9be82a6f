//! go-plugin's AutoMTLS, plugin side.
//!
//! The host generates a client certificate, passes it in `PLUGIN_CLIENT_CERT`
//! and trusts exactly the server certificate the plugin prints in its
//! handshake line. So the plugin makes a fresh certificate per run and accepts
//! only the host's certificate, compared byte for byte.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
};
use ring::rand::SystemRandom;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName as TlsName, Error as TlsError, ServerConfig};
use time::{Duration, OffsetDateTime};

use super::PluginError;
use crate::crypto::p256::{P256Error, P256Key};

/// Environment variable holding the host's client certificate (PEM).
pub(crate) const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// The name the go-plugin client dials (`ServerName: "localhost"`).
const SERVER_NAME: &str = "localhost";

/// The server side of AutoMTLS: the rustls configuration and the certificate
/// to announce in the handshake line.
#[derive(Debug, Clone)]
pub(crate) struct ServerTls {
    config: Arc<ServerConfig>,
    certificate: CertificateDer<'static>,
}

impl ServerTls {
    /// Generates a fresh server identity and a configuration that requires
    /// the client to present exactly `expected_client_cert`.
    pub(crate) fn new(expected_client_cert: CertificateDer<'static>) -> Result<Self, PluginError> {
        let (certificate, key) = generate_server_identity()?;
        // The TLS stack runs on ring, whose random numbers come straight from
        // the OS; aws-lc seeds its generator with CPU jitter entropy, which
        // costs about 30 ms before the handshake line could be printed.
        // Only the client signature check needs aws-lc: ring has no P-521,
        // and verifying needs no randomness.
        let mut provider = rustls::crypto::ring::default_provider();
        provider.signature_verification_algorithms =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        let provider = Arc::new(provider);
        let verifier = Arc::new(ExactClientCertVerifier::new(expected_client_cert, &provider));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![certificate.clone()], key)?;
        // gRPC is HTTP/2 only, and newer grpc-go clients refuse a server
        // that does not confirm h2 through ALPN.
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self { config: Arc::new(config), certificate })
    }

    /// The server certificate (DER) for the handshake line.
    pub(crate) fn certificate(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    /// The rustls configuration to accept connections with.
    pub(crate) fn config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }
}

/// Reads the one certificate in `PLUGIN_CLIENT_CERT`'s PEM text.
///
/// go-plugin always sends a single certificate; more than one would make
/// "the" expected certificate ambiguous, so that is refused too.
pub(crate) fn parse_client_cert_pem(pem: &str) -> Result<CertificateDer<'static>, PluginError> {
    let mut certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| PluginError::ClientCert(format!("unreadable PEM: {err}")))?;
    match certs.len() {
        1 => Ok(certs.remove(0)),
        0 => Err(PluginError::ClientCert("no CERTIFICATE block found".to_owned())),
        n => Err(PluginError::ClientCert(format!("expected one certificate, found {n}"))),
    }
}

/// A self-signed certificate shaped like the one go-plugin's own plugins make:
/// the Go client puts it in its RootCAs and checks it as a server certificate
/// for "localhost", so it is a CA (to be a root) that is also valid for
/// serverAuth with a DNS SAN.
fn generate_server_identity() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), PluginError> {
    // ring, not aws-lc: see crate::crypto::p256.
    let key = P256Key::generate(&SystemRandom::new()).map_err(|err| match err {
        P256Error::Random => rcgen::Error::RingUnspecified,
        P256Error::Rejected(rejected) => rcgen::Error::RingKeyRejected(rejected.to_string()),
    })?;
    let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, SERVER_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    // Back-dated like go-plugin's, against small clock differences; the far
    // end does not matter since the certificate lives only as long as the process.
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::seconds(30);
    params.not_after = now + Duration::days(30 * 365);
    let certificate = params.self_signed(&key)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8().to_vec()));
    Ok((certificate.der().clone(), key_der))
}

/// Accepts exactly one client certificate, compared as DER bytes.
///
/// Chain building is not wanted (and would fail): Terraform's client
/// certificate is a self-signed CA certificate, which webpki refuses as an
/// end entity, and it uses P-521, which the ring backend cannot verify. So
/// identity is the byte comparison, and only the handshake signature (proof
/// of the private key) is checked, with aws-lc-rs, which handles P-521.
#[derive(Debug)]
pub(crate) struct ExactClientCertVerifier {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ExactClientCertVerifier {
    pub(crate) fn new(expected: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self { expected, algorithms: provider.signature_verification_algorithms }
    }
}

impl ClientCertVerifier for ExactClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[TlsName] {
        // No hints: Go's client sends its only certificate regardless.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        // Validity dates are not checked: the host made this certificate for
        // this very process, and pinning the exact bytes is the trust decision.
        if intermediates.is_empty() && end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(TlsError::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_pem(alg: &'static rcgen::SignatureAlgorithm) -> (String, CertificateDer<'static>) {
        let key = rcgen::KeyPair::generate_for(alg).expect("key");
        let cert =
            CertificateParams::new(vec!["localhost".to_owned()]).expect("params").self_signed(&key).expect("cert");
        (cert.pem(), cert.der().clone())
    }

    #[test]
    fn client_cert_pem_is_parsed_to_der() {
        let (pem, der) = cert_pem(&rcgen::PKCS_ECDSA_P521_SHA512);
        assert_eq!(parse_client_cert_pem(&pem).expect("parsed"), der);
        let reason = |text: &str| match parse_client_cert_pem(text) {
            Err(PluginError::ClientCert(reason)) => reason,
            other => panic!("{text:?}: {other:?}"),
        };
        assert_eq!(reason(""), "no CERTIFICATE block found");
        assert_eq!(reason("not a pem"), "no CERTIFICATE block found");
        let (other, _) = cert_pem(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(reason(&format!("{pem}{other}")), "expected one certificate, found 2");
    }

    #[test]
    fn verifier_requires_the_exact_certificate_alone() {
        let (_, expected) = cert_pem(&rcgen::PKCS_ECDSA_P521_SHA512);
        let (_, other) = cert_pem(&rcgen::PKCS_ECDSA_P521_SHA512);
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let verifier = ExactClientCertVerifier::new(expected.clone(), &provider);
        assert!(verifier.offer_client_auth());
        assert!(verifier.client_auth_mandatory());
        assert!(verifier.root_hint_subjects().is_empty());
        let now = UnixTime::now();
        assert!(verifier.verify_client_cert(&expected, &[], now).is_ok());
        let refused = TlsError::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
        assert_eq!(verifier.verify_client_cert(&other, &[], now).expect_err("another certificate"), refused);
        let with_intermediate = verifier.verify_client_cert(&expected, std::slice::from_ref(&other), now);
        assert_eq!(with_intermediate.expect_err("not alone"), refused);
        assert!(verifier.supported_verify_schemes().contains(&rustls::SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn server_identity_is_fresh_per_run() {
        let (_, expected) = cert_pem(&rcgen::PKCS_ECDSA_P521_SHA512);
        let a = ServerTls::new(expected.clone()).expect("tls");
        let b = ServerTls::new(expected).expect("tls");
        assert_ne!(a.certificate(), b.certificate(), "a new certificate per run");
        assert_eq!(a.config().alpn_protocols, vec![b"h2".to_vec()]);
    }
}

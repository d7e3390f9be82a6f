//! Certificates issued from a cluster CA given as PEM (any key rcgen loads).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub type Result<T> = std::result::Result<T, String>;

/// A new self-signed CA like kubeadm's (CN kubernetes, ECDSA P-256): (cert PEM, key PEM).
pub fn new_ca(cn: &str) -> Result<(String, String)> {
    let kp = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&kp).map_err(|e| e.to_string())?;
    Ok((cert.pem(), kp.serialize_pem()))
}

/// kubeadm's discovery hash: sha256 over the CA key's SubjectPublicKeyInfo, hex.
pub fn ca_hash(ca_key_pem: &str) -> Result<String> {
    let kp = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("ca key: {e}"))?;
    Ok(Sha256::digest(kp.subject_public_key_info()).iter().map(|b| format!("{b:02x}")).collect())
}

fn issue(ca_cert_pem: &str, ca_key_pem: &str, params: &CertificateParams) -> Result<(String, KeyPair)> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("ca key: {e}"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(|e| format!("ca cert: {e}"))?;
    let kp = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.signed_by(&kp, &issuer).map_err(|e| e.to_string())?;
    Ok((cert.pem(), kp))
}

fn validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
}

/// A client certificate (CN user, O groups) signed by the CA: (cert PEM, key PEM).
pub fn client_cert(ca_cert_pem: &str, ca_key_pem: &str, cn: &str, orgs: &[&str]) -> Result<(String, String)> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(DnType::CommonName, cn);
    for o in orgs {
        params.distinguished_name.push(DnType::OrganizationName, *o);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params);
    let (pem, kp) = issue(ca_cert_pem, ca_key_pem, &params)?;
    Ok((pem, kp.serialize_pem()))
}

/// The API server's serving certificate: (cert DER, PKCS#8 key DER). SANs
/// that parse as IPs become IP SANs, the rest DNS names.
pub fn serving_cert(ca_cert_pem: &str, ca_key_pem: &str, sans: &[String]) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    for s in sans {
        let san = match s.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(s.as_str().try_into().map_err(|e| format!("SAN {s}: {e}"))?),
        };
        if !params.subject_alt_names.contains(&san) {
            params.subject_alt_names.push(san);
        }
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params);
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("ca key: {e}"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(|e| format!("ca cert: {e}"))?;
    let kp = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.signed_by(&kp, &issuer).map_err(|e| e.to_string())?;
    Ok((cert.der().to_vec(), kp.serialize_der()))
}

/// DER of the first certificate in a PEM text.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err("no certificate in PEM".into());
    }
    base64::engine::general_purpose::STANDARD.decode(body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_from_a_loaded_ca() {
        let (ca, key) = new_ca("kubernetes").unwrap();
        let (crt, k) = client_cert(&ca, &key, "kubernetes-admin", &["kubeadm:cluster-admins"]).unwrap();
        assert!(crt.starts_with("-----BEGIN CERTIFICATE") && k.contains("PRIVATE KEY"));
        let (der, _) = serving_cert(&ca, &key, &["10.0.0.200".into(), "kubernetes".into()]).unwrap();
        assert!(!der.is_empty());
        assert_eq!(pem_to_der(&ca).unwrap()[0], 0x30);
        assert_eq!(ca_hash(&key).unwrap().len(), 64);
    }
}

/// Whether a TLS server lets clients without a certificate through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCerts {
    /// The handshake succeeds and the server answers 401 (an API server).
    Optional,
    /// The handshake fails (etcd's client port).
    Required,
}

/// A TLS server (HTTP/1.1) with a serving certificate for `sans` issued
/// from the CA, verifying client certificates against that CA.
pub fn tls_server_config(
    provider: &Arc<CryptoProvider>,
    ca_cert_pem: &str,
    ca_key_pem: &str,
    sans: &[String],
    client_certs: ClientCerts,
) -> Result<Arc<ServerConfig>> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(pem_to_der(ca_cert_pem)?)).map_err(|e| format!("CA: {e}"))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
    let verifier = match client_certs {
        ClientCerts::Optional => verifier.allow_unauthenticated(),
        ClientCerts::Required => verifier,
    };
    let verifier = verifier.build().map_err(|e| format!("client verifier: {e}"))?;
    let (cert, key) = serving_cert(ca_cert_pem, ca_key_pem, sans)?;
    let mut config = ServerConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(cert)], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .map_err(|e| format!("serving cert: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

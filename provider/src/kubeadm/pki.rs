//! Cluster secrets, generated in the provider at plan time.
//!
//! kubeadm keeps CA files that already exist, so placing these on the init
//! node before `kubeadm init` makes the cluster's identity (CA hash, admin
//! kubeconfig, join token) known in the plan instead of only after apply.
//! Everything is ECDSA P-256, matching `encryptionAlgorithm: ECDSA-P256` in
//! the ClusterConfiguration, so the certificates kubeadm makes itself agree.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyIdMethod, KeyUsagePurpose, PublicKeyData, SigningKey,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::error::X509Error;
use x509_parser::extensions::ParsedExtension;
use x509_parser::x509::X509Name;

use crate::crypto::p256::{P256Error, P256Key};
use crate::yaml::{self, Mapping, Yaml};

/// A PEM certificate and its PEM private key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the provider generates for a new cluster.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterSecrets {
    /// Cluster CA, CN "kubernetes": `/etc/kubernetes/pki/ca.{crt,key}`.
    pub ca: CertPair,
    /// Front proxy CA, CN "front-proxy-ca": `pki/front-proxy-ca.{crt,key}`.
    pub front_proxy_ca: CertPair,
    /// etcd CA, CN "etcd-ca": `pki/etcd/ca.{crt,key}`.
    pub etcd_ca: CertPair,
    /// Service-account signing key (PKCS#8 PEM): `pki/sa.key`.
    pub service_account_key_pem: String,
    /// Its public key (SPKI PEM): `pki/sa.pub`.
    pub service_account_public_pem: String,
    /// Admin client certificate signed by `ca`, as in kubeadm's admin.conf.
    pub admin: CertPair,
    /// `[a-z0-9]{6}.[a-z0-9]{16}`.
    pub bootstrap_token: String,
    /// 64 lowercase hex characters, kubeadm's `--certificate-key` format.
    pub certificate_key: String,
}

/// Errors from generating or reading certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the certificate parameters or failed to sign.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The text holds no PEM block of the expected kind.
    #[error("no {0} PEM block found")]
    NoPem(&'static str),
    /// The PEM text could not be read.
    #[error("unreadable PEM")]
    Pem(#[source] pem::Error),
    /// A CA certificate rustls will not take as a trust anchor.
    #[error("the CA certificate is no usable trust anchor")]
    TrustAnchor(#[source] rustls::Error),
    /// The certificate's DER structure is not what X.509 prescribes.
    #[error("malformed certificate")]
    Malformed(#[source] X509Error),
    /// The private key is of a kind this provider cannot sign with.
    #[error("unsupported private key")]
    UnsupportedKey(#[source] rcgen::Error),
    /// No P-256 key could be made.
    #[error("no P-256 key could be made")]
    Key(#[from] P256Error),
    /// The CA certificate's subject cannot be reproduced as an issuer name,
    /// so certificates signed with it would not chain to it.
    #[error("unsupported CA subject: {0}")]
    UnsupportedCaSubject(&'static str),
}

/// kubeadm's CA lifetime.
const CA_VALIDITY: Duration = Duration::days(3650);
/// kubeadm's lifetime for leaf certificates (`certificateValidityPeriod`).
const LEAF_VALIDITY: Duration = Duration::days(365);
/// notBefore is moved back by this much: the provider's clock and the nodes'
/// clocks may disagree, and a certificate from "the future" is rejected.
const BACKDATE: Duration = Duration::minutes(5);

const TOKEN_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Generates the CAs, the service-account key pair, an admin certificate,
/// a bootstrap token and a certificate key.
pub fn generate(now: OffsetDateTime) -> Result<ClusterSecrets, PkiError> {
    let rng = SystemRandom::new();
    let (ca, ca_key) = new_ca("kubernetes", now, &rng)?;
    let (front_proxy_ca, _) = new_ca("front-proxy-ca", now, &rng)?;
    let (etcd_ca, _) = new_ca("etcd-ca", now, &rng)?;
    let sa = P256Key::generate(&rng)?;
    let issuer = Issuer::new(ca_params("kubernetes", now), &ca_key);
    let admin = sign_client(&issuer, admin_subject(), now, &rng)?;
    Ok(ClusterSecrets {
        ca,
        front_proxy_ca,
        etcd_ca,
        service_account_key_pem: pem("PRIVATE KEY", sa.pkcs8()),
        service_account_public_pem: pem("PUBLIC KEY", &sa.subject_public_key_info()),
        admin,
        bootstrap_token: token_from(&rng)?,
        certificate_key: certificate_key_from(&rng)?,
    })
}

/// Files to place on the init node: (absolute path, contents, mode) for the
/// CA certificates and keys and `sa.key`/`sa.pub`.
pub fn init_node_files(s: &ClusterSecrets) -> Vec<(&'static str, String, u32)> {
    vec![
        ("/etc/kubernetes/pki/ca.crt", s.ca.cert_pem.clone(), 0o644),
        ("/etc/kubernetes/pki/ca.key", s.ca.key_pem.clone(), 0o600),
        ("/etc/kubernetes/pki/front-proxy-ca.crt", s.front_proxy_ca.cert_pem.clone(), 0o644),
        ("/etc/kubernetes/pki/front-proxy-ca.key", s.front_proxy_ca.key_pem.clone(), 0o600),
        ("/etc/kubernetes/pki/etcd/ca.crt", s.etcd_ca.cert_pem.clone(), 0o644),
        ("/etc/kubernetes/pki/etcd/ca.key", s.etcd_ca.key_pem.clone(), 0o600),
        ("/etc/kubernetes/pki/sa.key", s.service_account_key_pem.clone(), 0o600),
        ("/etc/kubernetes/pki/sa.pub", s.service_account_public_pem.clone(), 0o644),
    ]
}

/// kubeadm's discovery hash: `sha256:` + hex(SHA-256 of the CA certificate's
/// DER SubjectPublicKeyInfo).
pub fn ca_cert_hash(ca_cert_pem: &str) -> Result<String, PkiError> {
    let der = cert_der(ca_cert_pem)?;
    let cert = parse_cert(&der)?;
    Ok(format!("sha256:{}", hex(&Sha256::digest(cert.public_key().raw))))
}

/// notAfter of a PEM certificate.
pub fn not_after(cert_pem: &str) -> Result<OffsetDateTime, PkiError> {
    not_after_der(&cert_der(cert_pem)?)
}

/// notAfter of a DER certificate (as a TLS handshake presents it).
pub fn not_after_der(der: &[u8]) -> Result<OffsetDateTime, PkiError> {
    Ok(parse_cert(der)?.validity().not_after.to_datetime())
}

/// A new admin client certificate signed by `ca` (renewal).
///
/// The CA may be one this provider made or an existing cluster's: its
/// subject is copied byte for byte into the issuer name and its subject key
/// identifier into the authority key identifier, which is how Go and OpenSSL
/// find the issuer when verifying.
pub fn issue_admin(ca: &CertPair, now: OffsetDateTime) -> Result<CertPair, PkiError> {
    issue_client(ca, now, admin_subject())
}

/// kubeadm's admin.conf subject. kubeadm binds this group to cluster-admin
/// (clusterrolebinding kubeadm:cluster-admins); unlike system:masters it
/// can be revoked.
fn admin_subject() -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "kubeadm:cluster-admins");
    name.push(DnType::CommonName, "kubernetes-admin");
    name
}

/// A client certificate for etcd's own API, signed by the etcd CA: what
/// the provider presents to list, remove and promote members (kubeadm's
/// etcd trusts any client certificate of its CA, as the API server's is).
pub fn issue_etcd_client(etcd_ca: &CertPair, now: OffsetDateTime) -> Result<CertPair, PkiError> {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "kubeadm-cluster-provider-etcd-client");
    issue_client(etcd_ca, now, name)
}

/// A client certificate for `leaf`, signed by `ca` (made here or read from
/// an existing cluster).
fn issue_client(ca: &CertPair, now: OffsetDateTime, leaf: DistinguishedName) -> Result<CertPair, PkiError> {
    let rng = SystemRandom::new();
    let ca_der = cert_der(&ca.cert_pem)?;
    let parsed = parse_cert(&ca_der)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = reproduce_name(parsed.subject())?;
    if let Some(ski) = subject_key_id(&parsed) {
        params.key_identifier_method = KeyIdMethod::PreSpecified(ski.to_vec());
    }
    let key = PrivateKeyDer::from_pem_slice(ca.key_pem.as_bytes()).map_err(|err| match err {
        pem::Error::NoItemsFound => PkiError::NoPem("PRIVATE KEY"),
        other => PkiError::Pem(other),
    })?;
    // Keys this provider made are PKCS#8 P-256 and sign through ring; an
    // imported CA's key (SEC1, RSA) goes through rcgen's own loader.
    let issued_pair = match P256Key::from_pkcs8(&key, &rng) {
        Some(ring_key) => sign_client(&Issuer::new(params, ring_key), leaf, now, &rng)?,
        None => {
            let other = rcgen::KeyPair::try_from(&key).map_err(PkiError::UnsupportedKey)?;
            sign_client(&Issuer::new(params, other), leaf, now, &rng)?
        }
    };
    // A reproduced name that differs in encoding would yield a certificate
    // that verifies against nothing; better to fail here than at kubectl.
    let issued = cert_der(&issued_pair.cert_pem)?;
    if parse_cert(&issued)?.issuer().as_raw() != parsed.subject().as_raw() {
        return Err(PkiError::UnsupportedCaSubject("the subject could not be reproduced exactly"));
    }
    Ok(issued_pair)
}

/// A random bootstrap token from the OS random number generator.
pub fn new_bootstrap_token() -> Result<String, PkiError> {
    token_from(&SystemRandom::new())
}

/// A random certificate key (32 bytes, lowercase hex).
pub fn new_certificate_key() -> Result<String, PkiError> {
    certificate_key_from(&SystemRandom::new())
}

/// True when `s` is a well-formed bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`.
pub fn is_bootstrap_token(s: &str) -> bool {
    let ok = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| TOKEN_ALPHABET.contains(&b));
    s.split_once('.').is_some_and(|(id, secret)| ok(id, 6) && ok(secret, 16))
}

/// True when `s` is a well-formed certificate key: 64 lowercase hex characters.
pub fn is_certificate_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A kubeconfig for `server` (`https://host:port`) with the CA and the admin
/// client certificate embedded, named the way kubeadm names admin.conf's.
pub fn admin_kubeconfig(cluster_name: &str, server: &str, ca_cert_pem: &str, admin: &CertPair) -> String {
    let user = "kubernetes-admin";
    let context = format!("{user}@{cluster_name}");
    let cluster = map([
        ("cluster", map([("certificate-authority-data", s(&BASE64.encode(ca_cert_pem))), ("server", s(server))])),
        ("name", s(cluster_name)),
    ]);
    let ctx = map([("context", map([("cluster", s(cluster_name)), ("user", s(user))])), ("name", s(&context))]);
    let usr = map([
        ("name", s(user)),
        (
            "user",
            map([
                ("client-certificate-data", s(&BASE64.encode(&admin.cert_pem))),
                ("client-key-data", s(&BASE64.encode(&admin.key_pem))),
            ]),
        ),
    ]);
    let doc = map([
        ("apiVersion", s("v1")),
        ("kind", s("Config")),
        ("clusters", Yaml::Seq(vec![cluster])),
        ("contexts", Yaml::Seq(vec![ctx])),
        ("current-context", s(&context)),
        ("preferences", Yaml::Map(Mapping::new())),
        ("users", Yaml::Seq(vec![usr])),
    ]);
    yaml::emit(&doc)
}

fn s(v: &str) -> Yaml {
    Yaml::str(v)
}

fn map<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
    Yaml::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn ca_params(common_name: &str, now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // keyEncipherment is left out: it means nothing for an EC key.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    params.not_before = now - BACKDATE;
    params.not_after = now + CA_VALIDITY;
    params
}

fn new_ca(common_name: &str, now: OffsetDateTime, rng: &SystemRandom) -> Result<(CertPair, P256Key), PkiError> {
    let key = P256Key::generate(rng)?;
    let cert = ca_params(common_name, now).self_signed(&key)?;
    Ok((CertPair { cert_pem: cert.pem(), key_pem: pem("PRIVATE KEY", key.pkcs8()) }, key))
}

fn sign_client<S: SigningKey>(
    issuer: &Issuer<'_, S>,
    subject: DistinguishedName,
    now: OffsetDateTime,
    rng: &SystemRandom,
) -> Result<CertPair, PkiError> {
    let key = P256Key::generate(rng)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    params.not_after = now + LEAF_VALIDITY;
    let cert = params.signed_by(&key, issuer)?;
    Ok(CertPair { cert_pem: cert.pem(), key_pem: pem("PRIVATE KEY", key.pkcs8()) })
}

fn token_from(rng: &SystemRandom) -> Result<String, PkiError> {
    let mut out = String::with_capacity(23);
    let mut buf = [0u8; 32];
    while out.len() < 23 {
        rng.fill(&mut buf).map_err(|_| PkiError::Random)?;
        // Only bytes below 252 (= 7 * 36) are used, so every character is
        // equally likely.
        for b in buf.iter().filter(|&&b| b < 252) {
            if out.len() == 6 {
                out.push('.');
            }
            if out.len() == 23 {
                break;
            }
            out.extend(TOKEN_ALPHABET.get(usize::from(b % 36)).copied().map(char::from));
        }
    }
    Ok(out)
}

fn certificate_key_from(rng: &SystemRandom) -> Result<String, PkiError> {
    let mut key = [0u8; 32];
    rng.fill(&mut key).map_err(|_| PkiError::Random)?;
    Ok(hex(&key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn cert_der(cert_pem: &str) -> Result<Vec<u8>, PkiError> {
    let first = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .next()
        .ok_or(PkiError::NoPem("CERTIFICATE"))?
        .map_err(PkiError::Pem)?;
    Ok(first.to_vec())
}

/// A trust store of the certificates in `ca_pem` (a cluster or etcd CA).
///
/// # Errors
/// No certificate, unreadable PEM, or a certificate rustls refuses.
pub fn roots_from_pem(ca_pem: &str) -> Result<rustls::RootCertStore, PkiError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.map_err(PkiError::Pem)?).map_err(PkiError::TrustAnchor)?;
    }
    if roots.is_empty() {
        return Err(PkiError::NoPem("CERTIFICATE"));
    }
    Ok(roots)
}

/// Parses a DER certificate (x509-parser; it borrows from `der`).
fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|err| PkiError::Malformed(err.into()))?;
    Ok(cert)
}

/// The certificate's subject key identifier extension, when it has one.
fn subject_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions().iter().find_map(|ext| match ext.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
        _ => None,
    })
}

/// Rebuilds a Name as rcgen values that encode to the same bytes: one
/// attribute per RDN, UTF8String or PrintableString (what Go, OpenSSL and
/// rcgen write). Anything else would re-encode differently, and a
/// certificate naming that issuer would chain to nothing.
fn reproduce_name(name: &X509Name<'_>) -> Result<DistinguishedName, PkiError> {
    let unsupported = PkiError::UnsupportedCaSubject;
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else {
            return Err(unsupported("multi-valued RDN"));
        };
        let oid: Vec<u64> = attr.attr_type().iter().ok_or_else(|| unsupported("OID arc too large"))?.collect();
        let value = attr.attr_value();
        let text = String::from_utf8(value.data.to_vec()).map_err(|_| unsupported("attribute value is not UTF-8"))?;
        let value = match value.tag() {
            Tag::Utf8String => DnValue::Utf8String(text),
            Tag::PrintableString => {
                DnValue::PrintableString(text.try_into().map_err(|_| unsupported("invalid PrintableString"))?)
            }
            _ => return Err(unsupported("attribute string type")),
        };
        let ty = DnType::from_oid(&oid);
        if dn.get(&ty).is_some() {
            return Err(unsupported("repeated attribute"));
        }
        dn.push(ty, value);
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use yaml_rust2::{Yaml, YamlLoader};

    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Runs `openssl` with `args` and returns stdout; panics with stderr on failure.
    fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write as _;
        let mut child = Command::new("openssl")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl is installed");
        if let Some(input) = stdin {
            child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("openssl ran");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    fn text(cert_pem: &str) -> String {
        String::from_utf8(openssl(&["x509", "-noout", "-text"], Some(cert_pem.as_bytes()))).expect("utf8")
    }

    fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn generate_is_fast_and_complete() {
        let t = now();
        let started = std::time::Instant::now();
        let s = generate(t).expect("generate");
        let took = started.elapsed();
        println!("generate() took {took:?}");
        // Plan time must not be slowed by secrets; debug builds included.
        assert!(took < std::time::Duration::from_millis(500), "took {took:?}");
        assert!(is_bootstrap_token(&s.bootstrap_token), "{}", s.bootstrap_token);
        assert!(is_certificate_key(&s.certificate_key), "{}", s.certificate_key);
        assert!(s.service_account_key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(s.service_account_public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let other = generate(t).expect("generate");
        assert_ne!(s.ca, other.ca);
        assert_ne!(s.bootstrap_token, other.bootstrap_token);
        assert_ne!(s.certificate_key, other.certificate_key);
    }

    #[test]
    fn cas_are_what_kubeadm_expects() {
        let s = generate(now()).expect("generate");
        for (pair, cn) in [(&s.ca, "kubernetes"), (&s.front_proxy_ca, "front-proxy-ca"), (&s.etcd_ca, "etcd-ca")] {
            let t = text(&pair.cert_pem);
            assert!(t.contains(&format!("Subject: CN = {cn}\n")), "{t}");
            assert!(t.contains("CA:TRUE"), "{t}");
            assert!(t.contains("Certificate Sign"), "{t}");
            assert!(t.contains("Digital Signature"), "{t}");
            assert!(t.contains("X509v3 Subject Key Identifier"), "{t}");
            assert!(t.contains("prime256v1"), "{t}");
            // The key file matches the certificate.
            let from_cert = openssl(&["x509", "-noout", "-pubkey"], Some(pair.cert_pem.as_bytes()));
            let from_key = openssl(&["pkey", "-pubout"], Some(pair.key_pem.as_bytes()));
            assert_eq!(from_cert, from_key, "{cn}");
        }
        let sa_pub = openssl(&["pkey", "-pubout"], Some(s.service_account_key_pem.as_bytes()));
        assert_eq!(String::from_utf8(sa_pub).expect("utf8"), s.service_account_public_pem);
    }

    #[test]
    fn a_trust_store_takes_the_ca_and_says_why_it_refuses_anything_else() {
        let s = generate(now()).expect("generate");
        assert_eq!(roots_from_pem(&s.ca.cert_pem).expect("the CA").len(), 1);
        let both = format!("{}{}", s.ca.cert_pem, s.etcd_ca.cert_pem);
        assert_eq!(roots_from_pem(&both).expect("two CAs").len(), 2);
        assert!(matches!(roots_from_pem(""), Err(PkiError::NoPem("CERTIFICATE"))));
        let cut = s.ca.cert_pem.replace("-----END CERTIFICATE-----", "");
        let err = roots_from_pem(&cut).expect_err("unterminated");
        assert!(matches!(err, PkiError::Pem(_)), "{err:?}");
        assert!(std::error::Error::source(&err).is_some(), "the PEM reader's error is kept");
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        let err = roots_from_pem(not_der).expect_err("not a certificate");
        assert!(matches!(err, PkiError::TrustAnchor(_)), "{err:?}");
    }

    #[test]
    fn admin_certificate_verifies_against_the_ca() {
        let s = generate(now()).expect("generate");
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = write(&dir, "ca.crt", &s.ca.cert_pem);
        let admin = write(&dir, "admin.crt", &s.admin.cert_pem);
        let out = openssl(&["verify", "-purpose", "sslclient", "-CAfile", &ca, &admin], None);
        assert!(String::from_utf8_lossy(&out).contains(": OK"));
        let t = text(&s.admin.cert_pem);
        assert!(t.contains("Subject: O = kubeadm:cluster-admins, CN = kubernetes-admin\n"), "{t}");
        assert!(t.contains("TLS Web Client Authentication"), "{t}");
        assert!(!t.contains("CA:TRUE"), "{t}");
        // Signed by the other CAs it must not verify.
        let etcd = write(&dir, "etcd.crt", &s.etcd_ca.cert_pem);
        let status =
            Command::new("openssl").args(["verify", "-CAfile", &etcd, &admin]).output().expect("openssl ran").status;
        assert!(!status.success());
    }

    #[test]
    fn validity_periods() {
        let t = now();
        let s = generate(t).expect("generate");
        let close = |a: OffsetDateTime, b: OffsetDateTime| (a - b).abs() < Duration::seconds(2);
        assert!(close(not_after(&s.admin.cert_pem).expect("admin"), t + Duration::days(365)));
        assert!(close(not_after(&s.ca.cert_pem).expect("ca"), t + Duration::days(3650)));
        let start = String::from_utf8(openssl(&["x509", "-noout", "-startdate"], Some(s.ca.cert_pem.as_bytes())))
            .expect("utf8");
        let expected = (t - Duration::minutes(5))
            .format(
                &time::format_description::parse("[month repr:short] [day padding:space] [hour]:[minute]")
                    .expect("fmt"),
            )
            .expect("format");
        assert!(start.contains(&expected), "{start} vs {expected}");
        // Past 2049 RFC 5280 switches to GeneralizedTime.
        let far = time::Date::from_calendar_date(2045, time::Month::June, 1).expect("date").midnight().assume_utc();
        let s = generate(far).expect("generate");
        assert_eq!(not_after(&s.ca.cert_pem).expect("ca"), far + Duration::days(3650));
    }

    #[test]
    fn ca_cert_hash_matches_the_kubeadm_docs_recipe() {
        let s = generate(now()).expect("generate");
        let pubkey = openssl(&["x509", "-pubkey", "-noout"], Some(s.ca.cert_pem.as_bytes()));
        let der = openssl(&["pkey", "-pubin", "-outform", "der"], Some(&pubkey));
        let expected = format!("sha256:{}", hex(&Sha256::digest(&der)));
        assert_eq!(ca_cert_hash(&s.ca.cert_pem).expect("hash"), expected);
        assert_eq!(expected.len(), 7 + 64);
        assert!(matches!(ca_cert_hash("nothing here"), Err(PkiError::NoPem(_))));
        let garbage = pem("CERTIFICATE", b"\x30\x03\x02\x01");
        assert!(matches!(ca_cert_hash(&garbage), Err(PkiError::Malformed(_))));
    }

    #[test]
    fn renewal_issues_a_fresh_admin_certificate() {
        let t = now();
        let s = generate(t).expect("generate");
        let later = t + Duration::days(300);
        let renewed = issue_admin(&s.ca, later).expect("issue");
        assert_ne!(renewed, s.admin);
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = write(&dir, "ca.crt", &s.ca.cert_pem);
        let admin = write(&dir, "admin.crt", &renewed.cert_pem);
        // -attime: the renewed certificate only starts in 300 days.
        let at = (later + Duration::minutes(1)).unix_timestamp().to_string();
        openssl(&["verify", "-attime", &at, "-CAfile", &ca, &admin], None);
        let close = |a: OffsetDateTime, b: OffsetDateTime| (a - b).abs() < Duration::seconds(2);
        assert!(close(not_after(&renewed.cert_pem).expect("after"), later + Duration::days(365)));
    }

    #[test]
    fn renewal_works_with_an_openssl_made_ca() {
        // An existing cluster's CA: SEC1 key, PrintableString subject, SHA-1 key ID.
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("ca.key").to_string_lossy().into_owned();
        let crt = dir.path().join("ca.crt").to_string_lossy().into_owned();
        openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &key], None);
        openssl(&["req", "-x509", "-new", "-key", &key, "-subj", "/CN=kubernetes", "-days", "30", "-out", &crt], None);
        let ca = CertPair {
            cert_pem: std::fs::read_to_string(&crt).expect("crt"),
            key_pem: std::fs::read_to_string(&key).expect("key"),
        };
        assert!(ca.key_pem.contains("EC PRIVATE KEY"));
        let admin = issue_admin(&ca, now()).expect("issue");
        let path = write(&dir, "admin.crt", &admin.cert_pem);
        openssl(&["verify", "-CAfile", &crt, &path], None);
    }

    #[test]
    fn token_and_key_formats() {
        let tokens: Vec<String> = (0..50).map(|_| new_bootstrap_token().unwrap()).collect();
        for t in &tokens {
            assert!(is_bootstrap_token(t), "{t}");
        }
        let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
        assert_eq!(distinct.len(), tokens.len());
        let a = new_certificate_key().unwrap();
        assert!(is_certificate_key(&a));
        assert_ne!(a, new_certificate_key().unwrap());
        for bad in [
            "",
            "abcdef.0123456789abcde",
            "ABCDEF.0123456789abcdef",
            "abcdef-0123456789abcdef",
            "abcde.0123456789abcdefg",
        ] {
            assert!(!is_bootstrap_token(bad), "{bad}");
        }
        assert!(is_bootstrap_token("abcdef.0123456789abcdef"));
        assert!(!is_certificate_key(&a.to_uppercase()));
        assert!(!is_certificate_key(&a[1..]));
        assert!(!is_certificate_key(&format!("{}g", &a[1..])));
    }

    #[test]
    fn init_node_files_cover_the_pki() {
        let s = generate(now()).expect("generate");
        let files = init_node_files(&s);
        let paths: Vec<_> = files.iter().map(|(p, _, _)| *p).collect();
        assert!(paths.contains(&"/etc/kubernetes/pki/etcd/ca.key"));
        assert!(paths.contains(&"/etc/kubernetes/pki/sa.pub"));
        for (path, body, mode) in &files {
            assert!(!body.is_empty());
            assert_eq!(*mode, if path.ends_with(".key") { 0o600 } else { 0o644 }, "{path}");
        }
    }

    #[test]
    fn kubeconfig_embeds_the_credentials() {
        let s = generate(now()).expect("generate");
        let server = "https://192.168.100.200:6443";
        let text = admin_kubeconfig("home: lab #1", server, &s.ca.cert_pem, &s.admin);
        let docs = YamlLoader::load_from_str(&text).expect("yaml");
        let doc = &docs[0];
        let decode = |v: &Yaml| String::from_utf8(BASE64.decode(v.as_str().expect("str")).expect("b64")).expect("utf8");
        assert_eq!(doc["kind"].as_str(), Some("Config"));
        assert_eq!(doc["clusters"][0]["name"].as_str(), Some("home: lab #1"));
        assert_eq!(doc["clusters"][0]["cluster"]["server"].as_str(), Some(server));
        assert_eq!(decode(&doc["clusters"][0]["cluster"]["certificate-authority-data"]), s.ca.cert_pem);
        assert_eq!(doc["current-context"].as_str(), Some("kubernetes-admin@home: lab #1"));
        assert_eq!(doc["contexts"][0]["context"]["user"].as_str(), Some("kubernetes-admin"));
        assert_eq!(doc["users"][0]["name"].as_str(), Some("kubernetes-admin"));
        assert_eq!(decode(&doc["users"][0]["user"]["client-certificate-data"]), s.admin.cert_pem);
        assert_eq!(decode(&doc["users"][0]["user"]["client-key-data"]), s.admin.key_pem);
    }

    #[test]
    fn secrets_round_trip_through_json() {
        let s = generate(now()).expect("generate");
        let json = serde_json::to_string(&s).expect("json");
        assert_eq!(serde_json::from_str::<ClusterSecrets>(&json).expect("back"), s);
    }
}

//! An ECDSA P-256 key generated and used through ring, handed to rcgen for
//! signing. ring takes its random numbers straight from the OS, where
//! aws-lc first seeds a generator from CPU jitter, which costs tens of
//! milliseconds per process (the plugin starts once per Terraform command).

use rcgen::{PublicKeyData, SigningKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use rustls::pki_types::PrivateKeyDer;
use thiserror::Error;

/// Why a P-256 key could not be made.
#[derive(Debug, Error)]
pub enum P256Error {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// ring refused the key it had just generated. (ring's error type
    /// implements `std::error::Error` only with its `std` feature, so it is
    /// kept here as a value.)
    #[error("the generated P-256 key was rejected: {0}")]
    Rejected(ring::error::KeyRejected),
}

/// A P-256 key pair and its PKCS#8 document.
pub struct P256Key {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
}

impl P256Key {
    /// A new key from `rng`.
    ///
    /// # Errors
    /// The RNG failed, or ring refused the key.
    pub fn generate(rng: &SystemRandom) -> Result<Self, P256Error> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, rng)
            .map_err(|_| P256Error::Random)?
            .as_ref()
            .to_vec();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, rng).map_err(P256Error::Rejected)?;
        Ok(Self { pair, pkcs8, rng: rng.clone() })
    }

    /// The key when it is a PKCS#8 P-256 key, else None.
    pub fn from_pkcs8(key: &PrivateKeyDer<'_>, rng: &SystemRandom) -> Option<Self> {
        let PrivateKeyDer::Pkcs8(pkcs8) = key else { return None };
        let der = pkcs8.secret_pkcs8_der().to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, rng).ok()?;
        Some(Self { pair, pkcs8: der, rng: rng.clone() })
    }

    /// The private key as a PKCS#8 DER document.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// No key material in logs.
impl std::fmt::Debug for P256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P256Key").finish_non_exhaustive()
    }
}

impl PublicKeyData for P256Key {
    fn der_bytes(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for P256Key {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.pair.sign(&self.rng, msg).map(|sig| sig.as_ref().to_vec()).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::PrivatePkcs8KeyDer;

    #[test]
    fn a_generated_key_reads_back_from_its_pkcs8_and_signs_a_certificate() {
        let rng = SystemRandom::new();
        let key = P256Key::generate(&rng).expect("a key");
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8().to_vec()));
        let again = P256Key::from_pkcs8(&der, &rng).expect("the same key");
        assert_eq!(again.der_bytes(), key.der_bytes());
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params").self_signed(&key);
        assert!(cert.is_ok(), "rcgen signs with it: {:?}", cert.err());
        let not_p256 = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![0x30, 0x00]));
        assert!(P256Key::from_pkcs8(&not_p256, &rng).is_none(), "garbage is no P-256 key");
    }
}

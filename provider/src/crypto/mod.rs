//! Cryptographic pieces both providers share: the one P-256 signer that
//! makes the plugin's TLS identity and the cluster's certificates.

pub mod p256;

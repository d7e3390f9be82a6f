//! SSH public key validation (OpenSSH `authorized_keys` line format).
//!
//! A key is `type base64 [comment]`. The base64 blob is the SSH wire
//! encoding, whose first length-prefixed string repeats the type; checking
//! that (and the rest of the blob's structure) catches truncated or
//! mis-pasted keys at plan time instead of at the first failed login.

use super::attributes as attr;
use super::error::CloudInitError;
use super::field::Field;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Key types accepted, as OpenSSH names them.
pub const SUPPORTED_KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// OpenSSH refuses RSA moduli below this many bits.
const MIN_RSA_BITS: usize = 1024;

/// A validated public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    /// e.g. `ssh-ed25519`.
    pub key_type: String,
    /// The base64 blob as given.
    pub base64: String,
    /// Trailing comment, if any (internal whitespace kept).
    pub comment: Option<String>,
}

impl SshPublicKey {
    /// Parses one key line; the error is a reason without attribute name.
    ///
    /// # Errors
    /// A human-readable reason when the line is not a supported key.
    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim();
        if line.is_empty() {
            return Err("the key is empty".to_owned());
        }
        if line.contains(['\n', '\r']) {
            return Err("a key must be a single line".to_owned());
        }
        let (key_type, rest) = split_field(line);
        if !SUPPORTED_KEY_TYPES.contains(&key_type) {
            let has_options = rest.split_whitespace().any(|field| SUPPORTED_KEY_TYPES.contains(&field));
            let hint = if has_options || key_type.contains('=') {
                " (authorized_keys options before the key are not supported)"
            } else if key_type.contains("-cert-") {
                " (certificates are not supported; give the plain public key)"
            } else if key_type.starts_with("-----BEGIN") {
                " (this looks like a PEM key; give the OpenSSH public key line, `ssh-keygen -y -f KEY`)"
            } else {
                ""
            };
            return Err(format!(
                "unsupported key type {key_type:?}{hint}; expected one of {}",
                SUPPORTED_KEY_TYPES.join(", ")
            ));
        }
        let (blob_b64, comment) = split_field(rest);
        if blob_b64.is_empty() {
            return Err(format!("missing the base64 key data after {key_type:?}"));
        }
        let blob = BASE64.decode(blob_b64).map_err(|e| format!("the key data is not valid base64: {e}"))?;
        check_blob(key_type, &blob)?;
        let comment = Some(comment.trim()).filter(|c| !c.is_empty()).map(str::to_owned);
        Ok(Self { key_type: key_type.to_owned(), base64: blob_b64.to_owned(), comment })
    }

    /// The normalised line: single spaces between the fields.
    #[must_use]
    pub fn to_line(&self) -> String {
        match &self.comment {
            Some(c) => format!("{} {} {c}", self.key_type, self.base64),
            None => format!("{} {}", self.key_type, self.base64),
        }
    }

    /// Same key material, whatever the comment.
    #[must_use]
    pub fn same_key(&self, other: &Self) -> bool {
        self.key_type == other.key_type && self.base64 == other.base64
    }
}

/// Splits off the first whitespace-separated field.
fn split_field(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

/// Reads one SSH wire `string` (u32 big-endian length, then bytes).
fn read_string<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = buf.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    *buf = rest;
    Some(value)
}

fn check_blob(key_type: &str, blob: &[u8]) -> Result<(), String> {
    let truncated = || format!("the {key_type} key data is truncated or malformed");
    let mut buf = blob;
    let embedded = read_string(&mut buf).ok_or_else(truncated)?;
    if embedded != key_type.as_bytes() {
        return Err(format!(
            "the key data is for {:?}, not {key_type:?} (type and data do not belong together)",
            String::from_utf8_lossy(embedded)
        ));
    }
    match key_type {
        "ssh-ed25519" | "sk-ssh-ed25519@openssh.com" => {
            let point = read_string(&mut buf).ok_or_else(truncated)?;
            if point.len() != 32 {
                return Err(format!("an ed25519 key is 32 bytes, this one is {}", point.len()));
            }
        }
        "ssh-rsa" => {
            let _exponent = read_string(&mut buf).filter(|e| !e.is_empty()).ok_or_else(truncated)?;
            let modulus = read_string(&mut buf).ok_or_else(truncated)?;
            let significant: &[u8] = match modulus.iter().position(|&b| b != 0) {
                Some(i) => modulus.get(i..).unwrap_or_default(),
                None => &[],
            };
            let bits = significant
                .first()
                .map_or(0, |&b| (significant.len() - 1) * 8 + (8 - usize::try_from(b.leading_zeros()).unwrap_or(8)));
            if bits < MIN_RSA_BITS {
                return Err(format!("the RSA modulus has {bits} bits; OpenSSH requires at least {MIN_RSA_BITS}"));
            }
        }
        _ => {
            // ecdsa-sha2-nistpNNN and sk-ecdsa-sha2-nistp256@openssh.com
            let curve = key_type.trim_end_matches("@openssh.com").rsplit('-').next().unwrap_or_default();
            let embedded_curve = read_string(&mut buf).ok_or_else(truncated)?;
            if embedded_curve != curve.as_bytes() {
                return Err(format!(
                    "the key data names curve {:?}, the type says {curve:?}",
                    String::from_utf8_lossy(embedded_curve)
                ));
            }
            let coordinate_len = match curve {
                "nistp256" => 32,
                "nistp384" => 48,
                _ => 66,
            };
            let point = read_string(&mut buf).ok_or_else(truncated)?;
            // Uncompressed point: 0x04 || X || Y.
            if point.len() != 1 + 2 * coordinate_len || point.first() != Some(&4) {
                return Err(format!("the {curve} public point is malformed"));
            }
        }
    }
    if key_type.starts_with("sk-") {
        let application = read_string(&mut buf).ok_or_else(truncated)?;
        if application.is_empty() {
            return Err("a security-key key needs an application string (usually \"ssh:\")".to_owned());
        }
    }
    if !buf.is_empty() {
        return Err(format!("{} unexpected bytes after the {key_type} key", buf.len()));
    }
    Ok(())
}

/// Validates one key; errors name `field` (e.g. `user.ssh_authorized_keys[2]`).
///
/// # Errors
/// [`CloudInitError::InvalidSshKey`].
pub fn validate_ssh_public_key(field: &Field, line: &str) -> Result<SshPublicKey, CloudInitError> {
    SshPublicKey::parse(line).map_err(|reason| CloudInitError::InvalidSshKey { field: field.clone(), reason })
}

/// Parses an `authorized_keys`-style body such as GitHub's
/// `https://github.com/<user>.keys`: one key per line; blank lines and
/// `#` comments are skipped; CRLF is fine. Keys come back normalised
/// ([`SshPublicKey::to_line`]) in their original order, duplicates dropped.
///
/// # Errors
/// [`CloudInitError::InvalidSshKey`] with `field` = `line N` (1-based).
pub fn parse_authorized_keys(text: &str) -> Result<Vec<String>, CloudInitError> {
    let mut keys: Vec<SshPublicKey> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let key = validate_ssh_public_key(&Field::FetchedKeyLine(index + 1), trimmed)?;
        if !keys.iter().any(|k| k.same_key(&key)) {
            keys.push(key);
        }
    }
    Ok(keys.iter().map(SshPublicKey::to_line).collect())
}

/// Explicit keys then GitHub keys, validated, normalised and deduplicated
/// by key material (the first occurrence, with its comment, wins).
///
/// # Errors
/// The first invalid key, named by its attribute path.
pub fn merge_user_keys(explicit: &[String], github: &[String]) -> Result<Vec<String>, CloudInitError> {
    let mut keys: Vec<SshPublicKey> = Vec::new();
    let sources = explicit
        .iter()
        .enumerate()
        .map(|(i, k)| (Field::attr(attr::USER).at(attr::SSH_AUTHORIZED_KEYS).index(i), k))
        .chain(github.iter().enumerate().map(|(i, k)| (Field::GithubKey(i), k)));
    for (field, line) in sources {
        let key = validate_ssh_public_key(&field, line)?;
        if !keys.iter().any(|k| k.same_key(&key)) {
            keys.push(key);
        }
    }
    Ok(keys.iter().map(SshPublicKey::to_line).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Real keys made with ssh-keygen for these tests (public halves only).
    pub(crate) const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMAAu7lSZ/xJ4w8Cm/bSbBefS2QxgGN43gjFv4t4D/+o alice@laptop";
    pub(crate) const ED25519_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINj2WLM9EfCInN6uDOmqVRAfu/t0lM8dpg33x+8zWMPb";
    const RSA_2048: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDVxpQIONA2jvB/huzCCCAt/8yk/+kJXmjKJ/TaOschyDXkewjj4gnkzndvtceku+OOkxwom+T5oIBVK1qmHIc5Sgd9wflF6yoGKEK9pM+Cw+1MawcNx8DhrTtzjdLc2BMkuNuPw5LrMCWp8aXSS8USheeRlzUGZ2eq4yqXWqjgWISDT3/3i99/JjjJ4A+3r2UI2J6PBUdoOBjsTVvjna6A8+neUt69O+650sx6OGnmgUBQuCknn5GvRDTAzZ24w5aedchmOX7LfwFaSmH7Ji0ax6HGhMLmZEA5v9WJyqN/Dg/Zv6b0WAZZzu+m8jT0u0gjEFZpjKEhNUoZegLlBADX rsa@host";
    const ECDSA_256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMn4ivAX/XRdzLLOr4OirN0Vn4/z1IWYEdGK6hLphRIboCW3QcHSWXbdlO0UuYlM/C3pWS70es2cpMrqACun0cM=";
    const ECDSA_384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBLFvB/w3fLRPGVw0U/oiqHiZKftGyJkgYCnAWQCGmfHGwIeih64Nt+XFtXrBgETxDTBShKvGJVOKboA4kRBVLg+3U2/gGB8n+6xKowmKUMpTCxFfEQaQ4WpwDHy6wLViyg==";
    const ECDSA_521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAAKTRudT4SPKgaTHUqMKKz8rvEw3TWmwnOwdr13PKD+fi8dzAiv/aN5kSDGkqJOEWn8Hre4Vawazg4dCOXPbTIzKQH9t5tBcNBkq5hZY62wG3hgK+KvqyIwWkQ5gB456pUgZMUQ/Eb/ES/jWL2KKyHz5IJN3+piK6P1ciDsg/pwD2W/7A== k";

    fn wire(parts: &[&[u8]]) -> String {
        let mut blob = Vec::new();
        for p in parts {
            blob.extend_from_slice(&u32::try_from(p.len()).expect("small").to_be_bytes());
            blob.extend_from_slice(p);
        }
        BASE64.encode(blob)
    }

    #[test]
    fn accepts_every_supported_type() {
        for key in [ED25519, ED25519_B, RSA_2048, ECDSA_256, ECDSA_384, ECDSA_521] {
            let parsed = SshPublicKey::parse(key).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(parsed.to_line(), key);
        }
        // Security-key types, built from their wire format.
        let sk_ed =
            format!("sk-ssh-ed25519@openssh.com {} yubikey", wire(&[b"sk-ssh-ed25519@openssh.com", &[7; 32], b"ssh:"]));
        SshPublicKey::parse(&sk_ed).expect("sk-ed25519");
        let mut point = vec![4u8];
        point.extend([9u8; 64]);
        let sk_ecdsa = format!(
            "sk-ecdsa-sha2-nistp256@openssh.com {}",
            wire(&[b"sk-ecdsa-sha2-nistp256@openssh.com", b"nistp256", &point, b"ssh:"])
        );
        SshPublicKey::parse(&sk_ecdsa).expect("sk-ecdsa");
    }

    #[test]
    fn comment_and_whitespace_are_normalised() {
        let key = SshPublicKey::parse(&format!("  {}\t  \t", ED25519.replace(' ', "\t  "))).expect("parses");
        assert_eq!(key.to_line(), ED25519);
        let key = SshPublicKey::parse(&format!("{ED25519_B} my laptop key ")).expect("parses");
        assert_eq!(key.comment.as_deref(), Some("my laptop key"));
    }

    #[test]
    fn rejects_bad_keys_with_reasons() {
        let reason = |line: &str| SshPublicKey::parse(line).expect_err(line);
        assert!(reason("").contains("empty"));
        assert!(reason("ssh-dss AAAAB3NzaC1kc3M=").contains("unsupported key type"));
        assert!(reason(&format!("no-pty {ED25519}")).contains("options"));
        assert!(reason("ssh-ed25519-cert-v01@openssh.com AAAA").contains("certificates"));
        assert!(reason("ssh-ed25519").contains("missing"));
        assert!(reason("ssh-ed25519 not*base64").contains("base64"));
        // The type in front does not match the blob.
        let swapped = ED25519.replace("ssh-ed25519", "ssh-rsa");
        assert!(reason(&swapped).contains("not \"ssh-rsa\""), "{}", reason(&swapped));
        // Truncated blob (cut and re-padded).
        let truncated = format!("ssh-ed25519 {}", wire(&[b"ssh-ed25519", &[1; 31]]));
        assert!(reason(&truncated).contains("32 bytes"));
        let trailing = format!("ssh-ed25519 {}", wire(&[b"ssh-ed25519", &[1; 32], b"x"]));
        assert!(reason(&trailing).contains("unexpected bytes"));
        let small_rsa = format!("ssh-rsa {}", wire(&[b"ssh-rsa", &[1, 0, 1], &[0xff; 64]]));
        assert!(reason(&small_rsa).contains("512 bits"), "{}", reason(&small_rsa));
        let wrong_curve = format!("ecdsa-sha2-nistp384 {}", wire(&[b"ecdsa-sha2-nistp384", b"nistp256", &[4; 65]]));
        assert!(reason(&wrong_curve).contains("curve"));
        assert!(reason(&format!("{ED25519}\nssh-rsa x")).contains("single line"));
    }

    #[test]
    fn validate_names_the_field() {
        let err = validate_ssh_public_key(&Field::attr("user").at("ssh_authorized_keys").index(3), "ssh-rsa")
            .expect_err("bad");
        assert!(err.to_string().starts_with("user.ssh_authorized_keys[3]: invalid SSH public key"), "{err}");
    }

    #[test]
    fn parses_github_keys_body() {
        let body = format!("{ED25519_B}\r\n\n{RSA_2048}\n# comment\n{ED25519_B}\n   \n");
        let keys = parse_authorized_keys(&body).expect("parses");
        assert_eq!(keys, vec![ED25519_B.to_owned(), RSA_2048.to_owned()]);
        assert_eq!(parse_authorized_keys("").expect("empty body"), Vec::<String>::new());
        let err = parse_authorized_keys(&format!("{ED25519_B}\n\nssh-ed25519 AAAA\n")).expect_err("bad line");
        assert!(
            matches!(&err, CloudInitError::InvalidSshKey { field, .. } if *field == Field::FetchedKeyLine(3)),
            "{err:?}"
        );
    }

    #[test]
    fn merges_explicit_then_github_without_duplicates() {
        let github_copy = ED25519.trim_end_matches(" alice@laptop").to_owned();
        let keys = merge_user_keys(&[ED25519.to_owned()], &[ED25519_B.to_owned(), github_copy]).expect("ok");
        assert_eq!(keys, vec![ED25519.to_owned(), ED25519_B.to_owned()]);
        let err = merge_user_keys(&[], &[ED25519_B.to_owned(), "bogus".to_owned()]).expect_err("bad");
        assert!(err.to_string().starts_with("github_ssh_keys[1]:"), "{err}");
    }
}

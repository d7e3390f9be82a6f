//! The start-up half of the go-plugin protocol: the magic cookie, the app
//! protocol negotiation and the one line written to stdout.

use std::ffi::OsStr;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rustls::pki_types::CertificateDer;

use super::PluginError;

/// Environment variable through which Terraform proves it started the plugin.
pub(crate) const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform sets for [`MAGIC_COOKIE_KEY`] (shared by all Terraform plugins).
pub(crate) const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Comma list of app protocol versions the host can speak.
pub(crate) const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// go-plugin's own wire protocol version.
pub(crate) const CORE_PROTOCOL_VERSION: u32 = 1;
/// The only Terraform plugin protocol this crate implements (tfplugin6).
pub(crate) const APP_PROTOCOL_VERSION: u32 = 6;

/// Fails unless the magic cookie is present and right: without it the binary
/// was started by hand, and serving would only leave a socket nobody uses.
pub(crate) fn check_magic_cookie(name: &'static str, value: Option<&OsStr>) -> Result<(), PluginError> {
    if value == Some(OsStr::new(MAGIC_COOKIE_VALUE)) {
        Ok(())
    } else {
        Err(PluginError::NotStartedByTerraform { name })
    }
}

/// Picks the app protocol version from `PLUGIN_PROTOCOL_VERSIONS`.
///
/// Unset or empty means the host predates negotiation and expects whatever
/// the plugin speaks, as go-plugin does.
pub(crate) fn negotiate_protocol(offered: Option<&str>) -> Result<u32, PluginError> {
    let Some(offered) = offered.filter(|value| !value.trim().is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let speaks_ours = offered.split(',').any(|version| version.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
    if speaks_ours {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(PluginError::UnsupportedProtocol { offered: offered.to_owned() })
    }
}

/// The handshake line go-plugin reads from stdout:
/// `CORE|APP|unix|ADDRESS|grpc|CERT\n`, the certificate as unpadded standard
/// base64 of its DER (Go's `base64.RawStdEncoding`), and left out entirely
/// when not serving TLS.
pub(crate) fn handshake_line(
    app_version: u32,
    socket: &Path,
    server_cert: Option<&CertificateDer<'_>>,
) -> Result<String, PluginError> {
    // The host splits on '|' and reads up to '\n', so the path must hold neither.
    let address = socket
        .to_str()
        .filter(|path| !path.contains(['|', '\n', '\r']))
        .ok_or_else(|| PluginError::UnusableSocketPath(socket.to_path_buf()))?;
    let mut line = format!("{CORE_PROTOCOL_VERSION}|{app_version}|unix|{address}|grpc");
    if let Some(cert) = server_cert {
        line.push('|');
        line.push_str(&STANDARD_NO_PAD.encode(cert.as_ref()));
    }
    line.push('\n');
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn magic_cookie_must_match_exactly() {
        assert!(check_magic_cookie("p", Some(OsStr::new(MAGIC_COOKIE_VALUE))).is_ok());
        let missing = check_magic_cookie("terraform-provider-x", None).expect_err("missing cookie");
        let message = missing.to_string();
        assert!(message.contains("terraform-provider-x"), "{message}");
        assert!(message.contains("started by Terraform"), "{message}");
        let wrong = check_magic_cookie("p", Some(OsStr::new("d602"))).expect_err("wrong cookie");
        assert!(matches!(wrong, PluginError::NotStartedByTerraform { name: "p" }), "{wrong:?}");
    }

    #[test]
    fn protocol_six_is_required_when_offered_list_is_set() {
        assert_eq!(negotiate_protocol(None).ok(), Some(6));
        assert_eq!(negotiate_protocol(Some("")).ok(), Some(6));
        assert_eq!(negotiate_protocol(Some("5,6")).ok(), Some(6));
        assert_eq!(negotiate_protocol(Some(" 6 ")).ok(), Some(6));
        assert_eq!(negotiate_protocol(Some("6,5")).ok(), Some(6));
        let err = negotiate_protocol(Some("4,5")).expect_err("no 6 offered");
        assert!(err.to_string().contains("4,5"), "{err}");
        let err = negotiate_protocol(Some("16")).expect_err("16 is not 6");
        assert!(matches!(&err, PluginError::UnsupportedProtocol { offered } if offered == "16"), "{err:?}");
    }

    #[test]
    fn handshake_line_has_unpadded_standard_base64_cert() {
        // 4 bytes => base64 needs padding; bytes chosen to produce '+' and '/'.
        let cert = CertificateDer::from(vec![0xfb_u8, 0xff, 0xbf, 0x01]);
        let socket = PathBuf::from("/tmp/plugin123/plugin.sock");
        let line = handshake_line(6, &socket, Some(&cert)).expect("line");
        assert_eq!(line, "1|6|unix|/tmp/plugin123/plugin.sock|grpc|+/+/AQ\n");
        let encoded = line.trim_end().rsplit('|').next().expect("cert field");
        assert!(!encoded.contains('='));
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).expect("decodes");
        assert_eq!(decoded, cert.as_ref());
    }

    #[test]
    fn handshake_line_without_tls_has_five_fields() {
        let line = handshake_line(6, Path::new("/tmp/p/s"), None).expect("line");
        assert_eq!(line, "1|6|unix|/tmp/p/s|grpc\n");
        assert_eq!(line.trim_end().split('|').count(), 5);
    }

    #[test]
    fn socket_path_with_separator_is_refused() {
        let err = handshake_line(6, Path::new("/tmp/a|b/s"), None).expect_err("'|' in the path");
        assert!(matches!(&err, PluginError::UnusableSocketPath(path) if path == Path::new("/tmp/a|b/s")), "{err:?}");
    }
}

//! Tests against a real OpenSSH sshd (see `test_support`).
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::test_support::{Agent, Sshd, keygen_with_passphrase, require_sshd};
use super::*;

fn endpoint(sshd: &Sshd, auth: Auth, host_keys: HostKeyPolicy) -> Endpoint {
    Endpoint { host: "127.0.0.1".into(), port: sshd.port, user: sshd.user.clone(), auth, host_keys }
}

fn key_auth(sshd: &Sshd) -> Auth {
    Auth::PrivateKey { pem: sshd.client_key.private_pem.clone(), passphrase: None }
}

fn config(ep: Endpoint) -> SshConfig {
    let mut c = SshConfig::new(ep);
    c.connect_timeout = Duration::from_secs(5);
    c.command_timeout = Duration::from_secs(5);
    c
}

async fn connect_verified(sshd: &Sshd) -> SshSession {
    let ep = endpoint(sshd, key_auth(sshd), HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]));
    SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap()
}

#[test]
fn redact_replaces_secrets_longest_first() {
    let out = redact("token abc.def and abc, empty ok", &["abc", "abc.def", ""]);
    assert_eq!(out, "token [redacted] and [redacted], empty ok");
}

#[test]
fn debug_output_hides_key_material_and_secrets() {
    let ep =
        Endpoint::new("h", "u", Auth::PrivateKey { pem: "PEM-BODY".into(), passphrase: Some("pw".into()) }, vec![]);
    let mut cfg = SshConfig::new(ep);
    cfg.secrets = vec!["tok-123".into()];
    let text = format!("{cfg:?}");
    assert!(!text.contains("PEM-BODY") && !text.contains("pw") && !text.contains("tok-123"), "{text}");
}

#[test]
fn shell_quote_escapes_single_quotes() {
    assert_eq!(shell_quote("a'b"), r"'a'\''b'");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn key_auth_exec_status_stdout_stderr_and_stdin() {
    require_sshd();
    let sshd = Sshd::start();
    let s = connect_verified(&sshd).await;
    assert_eq!(s.host_key(), sshd.host_key.public);

    let out = s.exec("echo out; echo err >&2", None, None).await.unwrap();
    assert_eq!(out.exit_status, Some(0));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");

    let out = s.exec("tr a-z A-Z", Some(b"hello stdin"), None).await.unwrap();
    assert_eq!(out.stdout, b"HELLO STDIN");

    let out = s.exec("exit 3", None, None).await.unwrap();
    assert_eq!(out.exit_status, Some(3));
    assert!(!out.success());
    s.close().await;
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn host_key_mismatch_is_refused_with_both_fingerprints() {
    require_sshd();
    let sshd = Sshd::start();
    let other = sshd.extra_key("other_host");
    let ep = endpoint(&sshd, key_auth(&sshd), HostKeyPolicy::Verify(vec![other.public.clone()]));
    let err = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap_err();
    let expected_fp = fingerprint(&parse_public_key(&other.public).unwrap());
    let offered_fp = fingerprint(&parse_public_key(&sshd.host_key.public).unwrap());
    let text = err.to_string();
    assert!(matches!(err, SshError::HostKeyMismatch { .. }), "{err:?}");
    assert!(text.contains(&expected_fp) && text.contains(&offered_fp), "{text}");
    assert!(text.contains("127.0.0.1") && offered_fp.starts_with("SHA256:"), "{text}");

    // An unparsable expected key is its own error, before any connection.
    let ep = endpoint(&sshd, key_auth(&sshd), HostKeyPolicy::Verify(vec!["ssh-ed25519 !!!".into()]));
    let err = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::InvalidHostKey { .. }), "{err:?}");

    // No expected keys at all: refused as unknown, not silently trusted.
    let ep = endpoint(&sshd, key_auth(&sshd), HostKeyPolicy::Verify(vec![]));
    let err = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::UnknownHostKey { .. }), "{err:?}");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn tofu_and_expect_new_key_report_observed_key() {
    require_sshd();
    let sshd = Sshd::start();
    for policy in [HostKeyPolicy::TrustOnFirstUse, HostKeyPolicy::ExpectNewKey] {
        let ep = endpoint(&sshd, key_auth(&sshd), policy);
        let s = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap();
        assert_eq!(s.host_key(), sshd.host_key.public);
        assert!(s.host_key().starts_with("ssh-ed25519 "));
    }
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn wrong_private_key_is_rejected() {
    require_sshd();
    let sshd = Sshd::start();
    let wrong = sshd.extra_key("wrong_client");
    let auth = Auth::PrivateKey { pem: wrong.private_pem, passphrase: None };
    let ep = endpoint(&sshd, auth, HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]));
    let err = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::AuthRejected { .. }), "{err:?}");

    let auth = Auth::PrivateKey { pem: "not a key".into(), passphrase: None };
    let ep = endpoint(&sshd, auth, HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]));
    let err = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::KeyParse(_)), "{err:?}");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn command_timeout_names_redacted_command() {
    require_sshd();
    let sshd = Sshd::start();
    let ep = endpoint(&sshd, key_auth(&sshd), HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]));
    let mut cfg = config(ep);
    cfg.secrets = vec!["s3cret".into()];
    let s = SshSession::connect(&cfg, &CancellationToken::new()).await.unwrap();
    let started = std::time::Instant::now();
    let err = s.exec("sleep 4.321 # s3cret", None, Some(Duration::from_millis(500))).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let text = err.to_string();
    assert!(matches!(err, SshError::Timeout { .. }), "{err:?}");
    assert!(text.contains("sleep 4.321") && text.contains("500ms") && !text.contains("s3cret"), "{text}");
    assert!(text.contains(REDACTED), "{text}");

    // Cancellation: a fired token ends the exec promptly.
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = s.exec_cancellable("sleep 5", None, None, &cancel).await.unwrap_err();
    assert!(matches!(err, SshError::Cancelled { .. }), "{err:?}");
    // The session is still usable afterwards.
    assert_eq!(s.exec("echo ok", None, None).await.unwrap().stdout, b"ok\n");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn write_file_sets_content_and_mode() {
    require_sshd();
    let sshd = Sshd::start();
    let s = connect_verified(&sshd).await;
    let path = sshd.dir.path().join("sub dir/secret.key");
    let content = b"-----BEGIN PRIVATE KEY-----\nxyz'\"$(x)\n";
    s.write_file(path.to_str().unwrap(), content, 0o600).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // Overwrite with a different mode; no temp files left behind.
    s.write_file(path.to_str().unwrap(), b"v2", 0o644).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"v2");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1);
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn bastion_reaches_target() {
    require_sshd();
    let target = Sshd::start();
    let bastion = Sshd::start();
    let mut cfg =
        config(endpoint(&target, key_auth(&target), HostKeyPolicy::Verify(vec![target.host_key.public.clone()])));
    cfg.bastion =
        Some(endpoint(&bastion, key_auth(&bastion), HostKeyPolicy::Verify(vec![bastion.host_key.public.clone()])));
    let s = SshSession::connect(&cfg, &CancellationToken::new()).await.unwrap();
    assert_eq!(s.host_key(), target.host_key.public);
    assert_eq!(s.bastion_host_key(), Some(bastion.host_key.public.as_str()));
    let out = s.exec("echo via-bastion", None, None).await.unwrap();
    assert_eq!(out.stdout, b"via-bastion\n");

    // A bastion host-key mismatch is reported as a bastion error.
    cfg.bastion =
        Some(endpoint(&bastion, key_auth(&bastion), HostKeyPolicy::Verify(vec![target.host_key.public.clone()])));
    let err = SshSession::connect(&cfg, &CancellationToken::new()).await.unwrap_err();
    assert!(
        matches!(&err, SshError::Bastion { source, .. } if matches!(**source, SshError::HostKeyMismatch { .. })),
        "{err:?}"
    );
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn agent_auth_with_real_ssh_agent() {
    require_sshd();
    let sshd = Sshd::start();
    let agent = Agent::start();
    // An unauthorized key first, so the client must try more than one.
    agent.add(&sshd.extra_key("unauthorized"));
    agent.add(&sshd.client_key);
    let auth = Auth::Agent { socket: Some(agent.socket.clone()) };
    let ep = endpoint(&sshd, auth, HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]));
    let s = SshSession::connect(&config(ep), &CancellationToken::new()).await.unwrap();
    assert_eq!(s.exec("echo agent", None, None).await.unwrap().stdout, b"agent\n");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn dropped_connection_is_distinct_error() {
    require_sshd();
    let sshd = Sshd::start();
    let s = connect_verified(&sshd).await;
    // The shell's parent is the per-connection sshd process: killing it drops
    // the TCP connection mid-command.
    let err = s.exec("kill -9 $PPID; sleep 5", None, None).await.unwrap_err();
    assert!(matches!(err, SshError::ConnectionLost { .. }), "{err:?}");
}

#[ignore = "needs OpenSSH sshd and ssh-keygen; scripts/test runs it"]
#[tokio::test]
async fn encrypted_private_key_needs_its_passphrase() {
    require_sshd();
    let sshd = Sshd::start();
    let key = keygen_with_passphrase(&sshd.dir.path().join("enc_client"), "pw-123");
    let authorized = sshd.dir.path().join("authorized_keys");
    std::fs::write(&authorized, format!("{}\n{}\n", sshd.client_key.public, key.public)).unwrap();
    let known = HostKeyPolicy::Verify(vec![sshd.host_key.public.clone()]);

    let auth = Auth::PrivateKey { pem: key.private_pem.clone(), passphrase: Some("pw-123".into()) };
    let s =
        SshSession::connect(&config(endpoint(&sshd, auth, known.clone())), &CancellationToken::new()).await.unwrap();
    assert_eq!(s.exec("true", None, None).await.unwrap().exit_status, Some(0));

    let auth = Auth::PrivateKey { pem: key.private_pem, passphrase: Some("wrong".into()) };
    let err = SshSession::connect(&config(endpoint(&sshd, auth, known)), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::KeyParse(_)), "{err:?}");
    assert!(!err.to_string().contains("wrong"), "{err}");
}

#[tokio::test]
async fn connect_errors_refused_silent_and_cancelled() {
    let auth = Auth::PrivateKey { pem: String::new(), passphrase: None };
    // Closed port: connect failed, naming the host.
    let port = super::test_support::free_port();
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        auth: auth.clone(),
        host_keys: HostKeyPolicy::TrustOnFirstUse,
    };
    let err = SshSession::connect(&config(ep.clone()), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::ConnectFailed { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");

    // A peer that accepts TCP but never speaks SSH: connect timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut cfg = config(Endpoint { port: silent.local_addr().unwrap().port(), ..ep });
    cfg.connect_timeout = Duration::from_millis(300);
    let err = SshSession::connect(&cfg, &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, SshError::ConnectTimeout { .. }), "{err:?}");

    // Cancelled while waiting on the silent peer.
    cfg.connect_timeout = Duration::from_secs(10);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let err = SshSession::connect(&cfg, &cancel).await.unwrap_err();
    assert!(matches!(err, SshError::Cancelled { .. }), "{err:?}");
}

//! Async SSH client for `kubeadm_cluster`: key or agent auth, optional bastion
//! (jump host), host-key verification by default, exec with stdin and
//! timeouts, and atomic file writes whose content never touches a command line.
//!
//! Built on `russh` with its aws-lc-rs crypto backend (already in the tree for
//! rustls), so no second large crypto stack is pulled in.
//!
//! Cancellation: every async operation here is cancel-safe in the sense that
//! dropping its future (e.g. losing a `tokio::select!` against a
//! `CancellationToken`) abandons the channel; the remote command may keep
//! running, so callers only cancel idempotent steps. [`SshSession::connect`]
//! and [`SshSession::exec_cancellable`] also take a token directly.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use tokio_util::sync::CancellationToken;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

/// Text that replaces secret values in anything shown to a user or logged.
pub const REDACTED: &str = "[redacted]";

/// Everything that can go wrong talking SSH. Variants name the host so a
/// diagnostic for one node of many is actionable.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// TCP connect or SSH handshake failed (host down, port closed, protocol error).
    #[error("SSH connection to {host} failed: {reason}")]
    ConnectFailed { host: String, reason: String },
    /// The connect (TCP + handshake + auth) did not finish within the connect timeout.
    #[error("SSH connection to {host} timed out after {timeout:?}")]
    ConnectTimeout { host: String, timeout: Duration },
    /// The server offered a host key that is not among the expected ones.
    #[error(
        "host key mismatch for {host}: expected {expected}, server offered {offered}; \
         refusing to connect (if the VM was replaced, tell the provider to expect a new key)",
        expected = .expected.join(", ")
    )]
    HostKeyMismatch { host: String, expected: Vec<String>, offered: String },
    /// Verification was requested but no expected host keys were given.
    #[error(
        "no expected host key for {host} (server offered {offered}); give its host key or \
         enable trust-on-first-use"
    )]
    UnknownHostKey { host: String, offered: String },
    /// An expected host key string could not be parsed.
    #[error("invalid host key for {host}: {reason}")]
    InvalidHostKey { host: String, reason: String },
    /// The server rejected every credential we offered.
    #[error("SSH authentication as {user}@{host} rejected ({method})")]
    AuthRejected { host: String, user: String, method: String },
    /// The private key could not be parsed or decrypted.
    #[error("cannot parse SSH private key: {0}")]
    KeyParse(String),
    /// The SSH agent could not be reached or failed to sign.
    #[error("SSH agent error: {0}")]
    Agent(String),
    /// A command did not finish in time. `command` is already redacted.
    #[error("command `{command}` on {host} timed out after {timeout:?}")]
    Timeout { host: String, command: String, timeout: Duration },
    /// The connection dropped while a command ran; the command may or may not
    /// have completed, so only idempotent steps should be retried.
    #[error("SSH connection to {host} lost while running `{command}`")]
    ConnectionLost { host: String, command: String },
    /// Opening or driving a channel failed (e.g. the server refused it).
    #[error("SSH channel error on {host}: {reason}")]
    Channel { host: String, reason: String },
    /// The operation was cancelled by the caller.
    #[error("SSH operation on {host} cancelled")]
    Cancelled { host: String },
    /// A remote command needed for an operation (e.g. `write_file`) failed.
    #[error("{what} on {host} failed (exit {exit_status:?}): {stderr}")]
    RemoteCommand { host: String, what: String, exit_status: Option<u32>, stderr: String },
    /// Something failed while connecting through the bastion (jump host).
    #[error("via bastion {bastion}: {source}")]
    Bastion {
        bastion: String,
        #[source]
        source: Box<SshError>,
    },
}

/// Replaces every occurrence of each non-empty secret in `text` with
/// [`REDACTED`]. Longer secrets go first so a secret containing another is
/// removed whole.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut sorted: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in sorted {
        out = out.replace(secret, REDACTED);
    }
    out
}

/// How to authenticate.
#[derive(Clone)]
pub enum Auth {
    /// An OpenSSH private key (PEM text), optionally encrypted.
    PrivateKey { pem: String, passphrase: Option<String> },
    /// The SSH agent: `None` uses `SSH_AUTH_SOCK`.
    Agent { socket: Option<PathBuf> },
}

// Hand-written so key material never reaches a Debug log.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::PrivateKey { .. } => f.write_str("PrivateKey([redacted])"),
            Auth::Agent { socket } => f.debug_struct("Agent").field("socket", socket).finish(),
        }
    }
}

/// How to treat the server's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept only these keys (`type base64`, as in known_hosts minus the
    /// host field; a trailing comment is ignored). The default, and the only
    /// safe choice once a key is recorded.
    Verify(Vec<String>),
    /// Accept whatever key the server offers; the caller records
    /// [`SshSession::host_key`] and verifies from then on.
    TrustOnFirstUse,
    /// The VM was replaced, so the recorded key is void: accept any key and
    /// report it like trust-on-first-use.
    ExpectNewKey,
}

/// One SSH endpoint: where, as whom, with what, and which host keys to trust.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub host_keys: HostKeyPolicy,
}

impl Endpoint {
    /// Port 22 with host keys verified against `host_keys`.
    pub fn new(host: impl Into<String>, user: impl Into<String>, auth: Auth, host_keys: Vec<String>) -> Self {
        Endpoint { host: host.into(), port: 22, user: user.into(), auth, host_keys: HostKeyPolicy::Verify(host_keys) }
    }

    fn label(&self) -> String {
        if self.port == 22 { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }
}

/// A full connection recipe.
#[derive(Clone)]
pub struct SshConfig {
    pub target: Endpoint,
    /// Jump host: the target is reached over a direct-tcpip channel from it.
    pub bastion: Option<Endpoint>,
    /// Bound on TCP connect + handshake + auth (per hop).
    pub connect_timeout: Duration,
    /// Default timeout for [`SshSession::exec`] when none is given.
    pub command_timeout: Duration,
    /// Values redacted from command lines in errors and logs.
    pub secrets: Vec<String>,
}

// Hand-written so the secrets list never reaches a Debug log.
impl std::fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConfig")
            .field("target", &self.target)
            .field("bastion", &self.bastion)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("secrets", &format_args!("[{} redacted]", self.secrets.len()))
            .finish()
    }
}

impl SshConfig {
    pub fn new(target: Endpoint) -> Self {
        SshConfig {
            target,
            bastion: None,
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(600),
            secrets: Vec::new(),
        }
    }
}

/// Result of a finished remote command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when the command was killed by a signal (no exit status sent).
    pub exit_status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }
}

/// Fingerprint as `ssh-keygen -l` prints it: `SHA256:<base64, no padding>`.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// `type base64` (no comment), the form stored in state.
pub fn openssh_public_key(key: &PublicKey) -> String {
    let mut key = key.clone();
    key.set_comment("");
    key.to_openssh().map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// Parses a `type base64 [comment]` string.
pub fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    PublicKey::from_openssh(text.trim()).map_err(|e| e.to_string())
}

/// What the handler saw during key exchange; read after connect to build a
/// precise error (russh itself only reports "unknown key").
#[derive(Debug, Default)]
struct Observed {
    key: Option<PublicKey>,
    certificate: bool,
}

#[derive(Debug)]
struct Handler {
    accepted: Option<Vec<PublicKey>>,
    observed: Arc<Mutex<Observed>>,
}

impl client::Handler for Handler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            // Host certificates are not part of the homelab set-up; refuse.
            if let Ok(mut o) = self.observed.lock() {
                o.certificate = true;
            }
            return Ok(false);
        };
        if let Ok(mut o) = self.observed.lock() {
            o.key = Some(key.clone());
        }
        Ok(match &self.accepted {
            None => true,
            Some(keys) => keys.iter().any(|k| k.key_data() == key.key_data()),
        })
    }
}

type Handle = client::Handle<Handler>;

/// An authenticated SSH session to the target (through the bastion, if any).
pub struct SshSession {
    handle: Handle,
    // Kept alive because the target's transport runs over one of its channels.
    bastion: Option<(Handle, String)>,
    host: String,
    host_key: String,
    command_timeout: Duration,
    secrets: Vec<String>,
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession").field("host", &self.host).field("host_key", &self.host_key).finish_non_exhaustive()
    }
}

fn russh_config() -> Arc<client::Config> {
    // Keepalives notice a silently dead peer (VM powered off) instead of
    // hanging until the command timeout.
    Arc::new(client::Config {
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    })
}

fn handler_for(ep: &Endpoint) -> Result<(Handler, Arc<Mutex<Observed>>), SshError> {
    let accepted = match &ep.host_keys {
        HostKeyPolicy::Verify(keys) => Some(
            keys.iter()
                .map(|k| parse_public_key(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|reason| SshError::InvalidHostKey { host: ep.label(), reason })?,
        ),
        HostKeyPolicy::TrustOnFirstUse | HostKeyPolicy::ExpectNewKey => None,
    };
    let observed = Arc::new(Mutex::new(Observed::default()));
    Ok((Handler { accepted, observed: observed.clone() }, observed))
}

/// Turns a failed handshake into the most precise error we can name.
fn handshake_error(ep: &Endpoint, observed: &Mutex<Observed>, err: russh::Error) -> SshError {
    let host = ep.label();
    let (key, certificate) = match observed.lock() {
        Ok(o) => (o.key.clone(), o.certificate),
        Err(_) => (None, false),
    };
    if let russh::Error::UnknownKey = err {
        if certificate {
            return SshError::ConnectFailed {
                host,
                reason: "server offered a host certificate; only plain host keys are supported".into(),
            };
        }
        if let (Some(key), HostKeyPolicy::Verify(expected)) = (key, &ep.host_keys) {
            let offered = fingerprint(&key);
            if expected.is_empty() {
                return SshError::UnknownHostKey { host, offered };
            }
            let expected = expected
                .iter()
                .map(|k| parse_public_key(k).map(|k| fingerprint(&k)).unwrap_or_else(|_| "<unparsable>".into()))
                .collect();
            return SshError::HostKeyMismatch { host, expected, offered };
        }
    }
    SshError::ConnectFailed { host, reason: err.to_string() }
}

/// Handshake + auth over an already-open stream (TCP or bastion channel).
async fn handshake<S>(ep: &Endpoint, stream: S) -> Result<(Handle, String), SshError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (handler, observed) = handler_for(ep)?;
    let mut handle =
        client::connect_stream(russh_config(), stream, handler).await.map_err(|e| handshake_error(ep, &observed, e))?;
    let host_key = match observed.lock() {
        Ok(o) => o.key.as_ref().map(openssh_public_key).unwrap_or_default(),
        Err(_) => String::new(),
    };
    authenticate(ep, &mut handle).await?;
    Ok((handle, host_key))
}

async fn authenticate(ep: &Endpoint, handle: &mut Handle) -> Result<(), SshError> {
    let host = ep.label();
    let channel_err = |e: russh::Error| SshError::ConnectFailed { host: host.clone(), reason: e.to_string() };
    match &ep.auth {
        Auth::PrivateKey { pem, passphrase } => {
            let key = russh::keys::decode_secret_key(pem, passphrase.as_deref())
                .map_err(|e| SshError::KeyParse(e.to_string()))?;
            let hash = rsa_hash(handle, key.algorithm().is_rsa()).await.map_err(channel_err)?;
            let result = handle
                .authenticate_publickey(&ep.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(channel_err)?;
            if result.success() {
                return Ok(());
            }
            Err(SshError::AuthRejected { host, user: ep.user.clone(), method: "private key".into() })
        }
        Auth::Agent { socket } => {
            let socket = match socket {
                Some(p) => p.clone(),
                None => std::env::var_os("SSH_AUTH_SOCK")
                    .map(PathBuf::from)
                    .ok_or_else(|| SshError::Agent("SSH_AUTH_SOCK is not set and no agent socket was given".into()))?,
            };
            let mut agent = russh::keys::agent::client::AgentClient::connect_uds(&socket)
                .await
                .map_err(|e| SshError::Agent(format!("cannot connect to {}: {e}", socket.display())))?;
            let identities = agent.request_identities().await.map_err(|e| SshError::Agent(e.to_string()))?;
            let mut tried = 0usize;
            for identity in identities {
                let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else { continue };
                tried += 1;
                let hash = rsa_hash(handle, key.algorithm().is_rsa()).await.map_err(channel_err)?;
                let result = handle
                    .authenticate_publickey_with(&ep.user, key, hash, &mut agent)
                    .await
                    .map_err(|e| SshError::Agent(e.to_string()))?;
                if result.success() {
                    return Ok(());
                }
            }
            Err(SshError::AuthRejected { host, user: ep.user.clone(), method: format!("agent, {tried} key(s)") })
        }
    }
}

async fn rsa_hash(handle: &Handle, is_rsa: bool) -> Result<Option<HashAlg>, russh::Error> {
    if !is_rsa {
        return Ok(None);
    }
    // The server's server-sig-algs extension tells us; default to SHA-512 as
    // modern OpenSSH has refused SHA-1 `ssh-rsa` signatures since 8.8.
    Ok(handle.best_supported_rsa_hash().await?.flatten().or(Some(HashAlg::Sha512)))
}

async fn with_timeout<T>(
    host: &str,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, SshError>>,
) -> Result<T, SshError> {
    tokio::time::timeout(timeout, fut).await.map_err(|_| SshError::ConnectTimeout { host: host.to_owned(), timeout })?
}

async fn connect_endpoint_tcp(ep: &Endpoint, connect_timeout: Duration) -> Result<(Handle, String), SshError> {
    let host = ep.label();
    with_timeout(&host, connect_timeout, async {
        let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(|e| SshError::ConnectFailed { host: host.clone(), reason: e.to_string() })?;
        let _ = tcp.set_nodelay(true);
        handshake(ep, tcp).await
    })
    .await
}

impl SshSession {
    /// Connects (through the bastion, if configured), verifies host keys per
    /// policy and authenticates. Bounded by `connect_timeout` per hop.
    pub async fn connect(config: &SshConfig, cancel: &CancellationToken) -> Result<Self, SshError> {
        let host = config.target.label();
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(SshError::Cancelled { host }),
            r = Self::connect_inner(config) => r,
        }
    }

    async fn connect_inner(config: &SshConfig) -> Result<Self, SshError> {
        let target = &config.target;
        tracing::debug!(host = %target.label(), user = %target.user, bastion = ?config.bastion.as_ref().map(Endpoint::label), "ssh connect");
        let (handle, host_key, bastion) = match &config.bastion {
            None => {
                let (h, k) = connect_endpoint_tcp(target, config.connect_timeout).await?;
                (h, k, None)
            }
            Some(b) => {
                let wrap = |e: SshError| SshError::Bastion { bastion: b.label(), source: Box::new(e) };
                let (bh, bkey) = connect_endpoint_tcp(b, config.connect_timeout).await.map_err(wrap)?;
                let host = target.label();
                let (h, k) = with_timeout(&host, config.connect_timeout, async {
                    let channel = bh
                        .channel_open_direct_tcpip(target.host.clone(), u32::from(target.port), "127.0.0.1", 0)
                        .await
                        .map_err(|e| {
                            wrap(SshError::Channel {
                                host: b.label(),
                                reason: format!("direct-tcpip to {host} refused: {e}"),
                            })
                        })?;
                    handshake(target, channel.into_stream()).await
                })
                .await?;
                (h, k, Some((bh, bkey)))
            }
        };
        tracing::debug!(host = %target.label(), "ssh connected");
        Ok(SshSession {
            handle,
            bastion,
            host: target.label(),
            host_key,
            command_timeout: config.command_timeout,
            secrets: config.secrets.clone(),
        })
    }

    /// A TCP connection that the remote host makes to `host:port`
    /// (direct-tcpip, what `ssh -L` uses): reaches services that listen on
    /// the node's loopback, such as etcd's client port.
    pub async fn forward(&self, host: &str, port: u16) -> Result<russh::ChannelStream<russh::client::Msg>, SshError> {
        let channel =
            self.handle.channel_open_direct_tcpip(host.to_owned(), u32::from(port), "127.0.0.1", 0).await.map_err(
                |e| SshError::Channel {
                    host: self.host.clone(),
                    reason: format!("direct-tcpip to {host}:{port} refused: {e}"),
                },
            )?;
        Ok(channel.into_stream())
    }

    /// The target's host key as `type base64`, to record in state (TOFU or a
    /// replaced VM) or to compare.
    pub fn host_key(&self) -> &str {
        &self.host_key
    }

    /// The bastion's host key as `type base64`, if a bastion was used.
    pub fn bastion_host_key(&self) -> Option<&str> {
        self.bastion.as_ref().map(|(_, k)| k.as_str())
    }

    /// `host` or `host:port`, as used in errors.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the transport has gone away.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    fn redacted(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        redact(text, &secrets)
    }

    /// Runs `command` (through the remote user's shell), feeding `stdin` if
    /// given, and collects output. `timeout` defaults to the configured
    /// command timeout. A non-zero exit is `Ok`; check `exit_status`.
    pub async fn exec(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput, SshError> {
        let timeout = timeout.unwrap_or(self.command_timeout);
        let shown = self.redacted(command);
        tracing::debug!(host = %self.host, command = %shown, ?timeout, "ssh exec");
        let deadline = tokio::time::Instant::now() + timeout;
        // The inner loop notices the deadline itself so it can stop the remote
        // command; this outer bound (1 s later) only catches a stuck open/send.
        let backstop = deadline + Duration::from_secs(1);
        let result =
            tokio::time::timeout_at(backstop, self.exec_inner(command, stdin, &shown, deadline, timeout)).await;
        match result {
            Ok(r) => r,
            Err(_) => Err(SshError::Timeout { host: self.host.clone(), command: shown, timeout }),
        }
    }

    /// [`Self::exec`] that also stops when `cancel` fires.
    pub async fn exec_cancellable(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
        cancel: &CancellationToken,
    ) -> Result<ExecOutput, SshError> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(SshError::Cancelled { host: self.host.clone() }),
            r = self.exec(command, stdin, timeout) => r,
        }
    }

    async fn exec_inner(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        shown: &str,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<ExecOutput, SshError> {
        let lost = || SshError::ConnectionLost { host: self.host.clone(), command: shown.to_owned() };
        let mut channel = match self.handle.channel_open_session().await {
            Ok(c) => c,
            Err(_) if self.handle.is_closed() => return Err(lost()),
            Err(e) => return Err(SshError::Channel { host: self.host.clone(), reason: e.to_string() }),
        };
        let chan_err = |e: russh::Error| {
            if self.handle.is_closed() {
                lost()
            } else {
                SshError::Channel { host: self.host.clone(), reason: e.to_string() }
            }
        };
        channel.exec(true, command).await.map_err(chan_err)?;
        if let Some(data) = stdin {
            channel.data(data).await.map_err(chan_err)?;
        }
        // EOF even without stdin so commands reading it (cat) do not hang.
        channel.eof().await.map_err(chan_err)?;

        let mut out = ExecOutput::default();
        let mut finished = false;
        loop {
            let msg = match tokio::time::timeout_at(deadline, channel.wait()).await {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(_) => {
                    // Best effort: OpenSSH delivers the signal to the command's
                    // process group so a timed-out step does not keep running
                    // unseen (sshd refuses it for root logins: "session
                    // signalling requires privilege separation").
                    let _ = channel.signal(russh::Sig::KILL).await;
                    let _ = channel.close().await;
                    return Err(SshError::Timeout { host: self.host.clone(), command: shown.to_owned(), timeout });
                }
            };
            match msg {
                ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => {
                    out.exit_status = Some(exit_status);
                    finished = true;
                }
                ChannelMsg::ExitSignal { .. } => finished = true,
                ChannelMsg::Failure => {
                    return Err(SshError::Channel {
                        host: self.host.clone(),
                        reason: "server refused exec request".into(),
                    });
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        // Without an exit status or signal the command's fate is unknown: the
        // transport died (or the server closed the channel abruptly).
        if !finished {
            return Err(lost());
        }
        Ok(out)
    }

    /// Atomically writes `content` to `path` with `mode`: into a temp file in
    /// the same directory (created 0700-umask so it is never readable by
    /// others), then `chmod` and `mv`. The content travels on stdin only.
    pub async fn write_file(&self, path: &str, content: &[u8], mode: u32) -> Result<(), SshError> {
        let dir = match path.rfind('/') {
            Some(0) => "/".to_owned(),
            Some(i) => path[..i].to_owned(),
            None => ".".to_owned(),
        };
        let q_path = shell_quote(path);
        let q_dir = shell_quote(&dir);
        let command = format!(
            "set -e; umask 077; install -d {q_dir}; tmp=$(mktemp {tmp}); \
             trap 'rm -f \"$tmp\"' EXIT; cat > \"$tmp\"; chmod {mode:o} \"$tmp\"; mv -f \"$tmp\" {q_path}; trap - EXIT",
            tmp = shell_quote(&format!("{path}.tmp.XXXXXX")),
        );
        let out = self.exec(&command, Some(content), None).await?;
        if !out.success() {
            return Err(SshError::RemoteCommand {
                host: self.host.clone(),
                what: format!("writing {path}"),
                exit_status: out.exit_status,
                stderr: self.redacted(String::from_utf8_lossy(&out.stderr).trim()),
            });
        }
        Ok(())
    }

    /// Politely closes the session (and the bastion's).
    pub async fn close(self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        if let Some((b, _)) = self.bastion {
            let _ = b.disconnect(russh::Disconnect::ByApplication, "", "en").await;
        }
    }
}

/// Single-quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

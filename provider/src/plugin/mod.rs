//! Hosting a gRPC server the way HashiCorp's go-plugin host (Terraform)
//! expects a plugin to.
//!
//! The life of a plugin process: Terraform starts it with a magic cookie and
//! the protocol versions it speaks in the environment; the plugin listens on a
//! Unix socket, prints one handshake line on stdout naming the socket (and its
//! TLS certificate, for AutoMTLS), serves the provider and go-plugin's own
//! services over gRPC, and exits when Terraform calls
//! `GRPCController.Shutdown`. Logs go to stderr as hclog JSON, which Terraform
//! folds into its own log.
//!
//! The tfplugin6 provider service itself comes from the caller as
//! [`tonic::service::Routes`].

pub mod logging;

mod handshake;
mod server;
mod services;
mod tls;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Static facts about one plugin binary.
#[derive(Debug, Clone)]
pub struct PluginOptions {
    /// e.g. "terraform-provider-cloudinit": used as hclog @module and in messages.
    pub name: &'static str,
}

/// Cloneable handle on the plugin's shutdown: it starts when the host calls
/// `GRPCController.Shutdown`, when the host process goes away, or on SIGTERM.
#[derive(Debug, Clone, Default)]
pub struct ShutdownSignal {
    token: CancellationToken,
}

impl ShutdownSignal {
    /// A signal that has not been triggered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves once shutdown has started (at once if it already has).
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Like [`triggered`](Self::triggered) but owning the handle, for futures
    /// that must be `'static` (spawned tasks, response streams).
    pub fn triggered_owned(self) -> impl Future<Output = ()> + Send + 'static {
        self.token.cancelled_owned()
    }

    /// Whether shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Starts shutdown; later calls do nothing.
    pub fn trigger(&self) {
        self.token.cancel();
    }
}

/// Everything that can stop the plugin from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The magic cookie is missing or wrong: someone ran the binary by hand.
    #[error(
        "{name} is a Terraform plugin: it is meant to be started by Terraform, not run directly. \
         Declare the provider in a Terraform configuration and run `terraform init` and `terraform plan` instead."
    )]
    NotStartedByTerraform {
        /// The plugin's name, from [`PluginOptions::name`].
        name: &'static str,
    },
    /// `PLUGIN_PROTOCOL_VERSIONS` does not include 6, the only version spoken here.
    #[error(
        "this plugin speaks only Terraform plugin protocol 6, but the host offered {offered:?}; \
         use Terraform 1.5 or OpenTofu 1.6 or newer"
    )]
    UnsupportedProtocol {
        /// The host's list, as given.
        offered: String,
    },
    /// `PLUGIN_CLIENT_CERT` is not a single PEM certificate.
    #[error("PLUGIN_CLIENT_CERT is not usable: {0}")]
    ClientCert(String),
    /// An environment variable holds bytes that are not UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    NonUnicodeEnv(&'static str),
    /// rcgen could not make the server certificate.
    #[error("generating the server certificate failed: {0}")]
    CertGeneration(#[from] rcgen::Error),
    /// rustls refused the server configuration.
    #[error("building the TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The socket path cannot be written into the handshake line (not UTF-8,
    /// or holds `|` or a newline).
    #[error("socket path {0:?} cannot be announced to the host")]
    UnusableSocketPath(PathBuf),
    /// Local I/O failed: the runtime, the socket directory, the socket, stdout.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server stopped with an error.
    #[error("gRPC server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Entry point for a `main()`: checks the magic cookie (when missing, prints to stderr a clear
/// sentence that this binary is a Terraform plugin meant to be started by Terraform, and returns
/// ExitCode::FAILURE without starting anything), initialises logging, ignores SIGINT (Terraform
/// sends StopProvider instead; Ctrl-C in the terminal reaches the whole process group), builds a
/// multi-thread tokio runtime, calls `make_routes(shutdown)` and serves it until GRPCController.Shutdown
/// is called or the host goes away. Returns SUCCESS on clean shutdown.
///
/// `make_routes` runs inside the runtime (so it may spawn tasks), before the handshake line is
/// written. SIGTERM also starts a graceful shutdown. Errors after the cookie and protocol checks
/// are logged (hclog JSON on stderr) and give ExitCode::FAILURE.
pub fn run<F>(options: PluginOptions, make_routes: F) -> ExitCode
where
    F: FnOnce(ShutdownSignal) -> tonic::service::Routes,
{
    let cookie = std::env::var_os(handshake::MAGIC_COOKIE_KEY);
    if let Err(err) = handshake::check_magic_cookie(options.name, cookie.as_deref()) {
        eprintln!("{err}");
        return ExitCode::FAILURE;
    }
    let offered = std::env::var(handshake::PROTOCOL_VERSIONS_KEY).ok();
    let app_version = match handshake::negotiate_protocol(offered.as_deref()) {
        Ok(version) => version,
        Err(err) => {
            eprintln!("{}: {err}", options.name);
            return ExitCode::FAILURE;
        }
    };

    logging::init(&format!("provider.{}", options.name));

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(source) => {
            let err = PluginError::Io { context: "starting the tokio runtime", source };
            tracing::error!(error = %err, "plugin failed to start");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run_async(app_version, make_routes));
    // Connection tasks may still be winding down; do not wait for them past
    // Terraform's patience.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, plugin = options.name, "plugin failed");
            ExitCode::FAILURE
        }
    }
}

/// The part of [`run`] that needs the runtime.
async fn run_async<F>(app_version: u32, make_routes: F) -> Result<(), PluginError>
where
    F: FnOnce(ShutdownSignal) -> tonic::service::Routes,
{
    let shutdown = ShutdownSignal::new();
    watch_signals(&shutdown)?;
    watch_parent(shutdown.clone());

    let tls = match env_string(tls::CLIENT_CERT_KEY)? {
        Some(pem) => Some(tls::ServerTls::new(tls::parse_client_cert_pem(&pem)?)?),
        None => None,
    };
    let socket_parent = env_string(server::SOCKET_DIR_KEY)?.map(PathBuf::from);
    let socket = server::bind_socket(socket_parent.as_deref())?;
    let routes = make_routes(shutdown.clone());

    let line = handshake::handshake_line(app_version, &socket.path, tls.as_ref().map(tls::ServerTls::certificate))?;
    write_handshake(&line)?;
    tracing::debug!(
        socket = %socket.path.display(),
        auto_mtls = tls.is_some(),
        protocol_version = app_version,
        "plugin server listening"
    );

    let server::PluginSocket { dir, path: _, listener } = socket;
    let served = server::serve(routes, listener, tls.map(|tls| tls.config()), shutdown).await;
    tracing::debug!(ok = served.is_ok(), "plugin server stopped");
    if let Err(err) = dir.close() {
        tracing::debug!(error = %err, "removing the socket directory failed");
    }
    served
}

/// Reads an environment variable; unset and empty are both `None`.
fn env_string(key: &'static str) -> Result<Option<String>, PluginError> {
    match std::env::var(key) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(PluginError::NonUnicodeEnv(key)),
    }
}

/// Writes the handshake line: the only bytes this process ever puts on stdout.
fn write_handshake(line: &str) -> Result<(), PluginError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| PluginError::Io { context: "writing the handshake to stdout", source })
}

/// SIGINT is caught and ignored: Ctrl-C in Terraform's terminal reaches the
/// whole process group, and Terraform itself asks providers to stop through
/// `StopProvider` and `Shutdown`. Installing tokio's handler replaces the
/// default "terminate" action, which is how it is ignored without `unsafe`.
/// SIGTERM starts a graceful shutdown, so the socket directory is removed.
fn watch_signals(shutdown: &ShutdownSignal) -> Result<(), PluginError> {
    use tokio::signal::unix::{SignalKind, signal};
    let io_error = |source| PluginError::Io { context: "installing signal handlers", source };
    let mut interrupts = signal(SignalKind::interrupt()).map_err(io_error)?;
    let mut terminates = signal(SignalKind::terminate()).map_err(io_error)?;
    tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            tracing::debug!("ignoring SIGINT; Terraform stops the plugin over gRPC");
        }
    });
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        if terminates.recv().await.is_some() {
            tracing::debug!("SIGTERM received, shutting down");
            shutdown.trigger();
        }
    });
    Ok(())
}

/// Starts shutdown if the host process dies without calling `Shutdown`
/// (crash, SIGKILL): the plugin is then re-parented, so its parent id changes.
fn watch_parent(shutdown: ShutdownSignal) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = shutdown.triggered() => break,
                _ = ticks.tick() => {
                    if std::os::unix::process::parent_id() != parent {
                        tracing::debug!(parent, "host process went away, shutting down");
                        shutdown.trigger();
                        break;
                    }
                }
            }
        }
    });
}

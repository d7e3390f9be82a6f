//! The Unix socket, the TLS accept loop and the tonic server.

use std::convert::Infallible;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::{Connected, UdsConnectInfo};
use tonic_health::ServingStatus;

use super::services::{Broker, Controller, HEALTH_SERVICE_NAME, Stdio};
use super::{PluginError, ShutdownSignal};
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;

/// Environment variable naming the directory to create the socket's directory in.
pub(crate) const SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// How long one client gets to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long after shutdown starts the server may keep draining. Terraform
/// kills a plugin that has not exited 2 s after `Shutdown`, and a stream a
/// client never closes must not hold the process up.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1000);

/// The listening socket in its private temporary directory; dropping it
/// removes both.
#[derive(Debug)]
pub(crate) struct PluginSocket {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
    pub(crate) listener: UnixListener,
}

/// Creates a fresh owner-only directory (under `parent` if given, else the
/// system temp dir) and listens on `plugin.sock` inside it. Must run inside a
/// tokio runtime.
pub(crate) fn bind_socket(parent: Option<&Path>) -> Result<PluginSocket, PluginError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("plugin").permissions(std::fs::Permissions::from_mode(0o700));
    let dir = match parent {
        Some(parent) => builder.tempdir_in(parent),
        None => builder.tempdir(),
    }
    .map_err(|source| PluginError::Io { context: "creating the socket directory", source })?;
    let path = dir.path().join("plugin.sock");
    let listener = UnixListener::bind(&path)
        .map_err(|source| PluginError::Io { context: "listening on the plugin socket", source })?;
    Ok(PluginSocket { dir, path, listener })
}

/// One accepted connection, plain or after a successful TLS handshake.
#[derive(Debug)]
pub(crate) enum PluginConn {
    /// No AutoMTLS (no `PLUGIN_CLIENT_CERT`).
    Plain(UnixStream),
    /// AutoMTLS; boxed because the TLS state is large.
    Tls(Box<TlsStream<UnixStream>>),
}

impl Connected for PluginConn {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Self::Plain(stream) => stream.connect_info(),
            Self::Tls(stream) => stream.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for PluginConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(stream) => stream.is_write_vectored(),
            Self::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts connections until shutdown and yields the ready ones. Each TLS
/// handshake runs in its own task, so a slow or hostile client cannot hold up
/// the others; failed handshakes are logged and dropped.
fn accept_connections(
    listener: UnixListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: ShutdownSignal,
) -> ReceiverStream<PluginConn> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                () = shutdown.triggered() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Typically out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %err, "accepting a plugin connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let Some(acceptor) = acceptor.clone() else {
                if sender.send(PluginConn::Plain(stream)).await.is_err() {
                    break;
                }
                continue;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        // A closed channel means the server is gone; the
                        // connection is dropped with it.
                        let _ = sender.send(PluginConn::Tls(Box::new(stream))).await;
                    }
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "TLS handshake with a plugin client failed");
                    }
                    Err(_) => {
                        tracing::warn!(
                            timeout_secs = TLS_HANDSHAKE_TIMEOUT.as_secs(),
                            "TLS handshake with a plugin client timed out"
                        );
                    }
                }
            });
        }
        // Dropping the listener here stops new connections at once.
    });
    ReceiverStream::new(receiver)
}

/// Serves `routes` plus the go-plugin services on `listener` until `shutdown`
/// is triggered (by `GRPCController.Shutdown` or by the caller), then drains
/// for at most [`SHUTDOWN_GRACE`].
///
/// `tls` is the AutoMTLS server configuration, or `None` for plaintext.
pub(crate) async fn serve(
    routes: Routes,
    listener: UnixListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: ShutdownSignal,
) -> Result<(), PluginError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status(HEALTH_SERVICE_NAME, ServingStatus::Serving).await;

    let router = Server::builder()
        .add_routes(routes)
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(Controller { shutdown: shutdown.clone() }))
        .add_service(GrpcStdioServer::new(Stdio { shutdown: shutdown.clone() }))
        .add_service(GrpcBrokerServer::new(Broker { shutdown: shutdown.clone() }));

    let incoming = accept_connections(listener, tls, shutdown.clone()).map(Ok::<_, Infallible>);
    let server = router.serve_with_incoming_shutdown(incoming, shutdown.clone().triggered_owned());
    let grace_expired = async {
        shutdown.triggered().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result.map_err(PluginError::Serve),
        () = grace_expired => {
            tracing::debug!(
                grace = ?SHUTDOWN_GRACE,
                "connections still open after the shutdown grace period; stopping anyway"
            );
            Ok(())
        }
    }
}

//! In-process tests of the served plugin: a real Unix socket, real TLS with a
//! P-521 client certificate shaped like Terraform's, real gRPC calls.

use std::future::Future;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncReadExt as _;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tonic::codegen::http::Uri;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::server::{bind_socket, serve};
use super::tls::ServerTls;
use super::{PluginError, ShutdownSignal};
use crate::proto::plugin::grpc_broker_client::GrpcBrokerClient;
use crate::proto::plugin::grpc_controller_client::GrpcControllerClient;
use crate::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use crate::proto::plugin::{ConnInfo, Empty};

const WAIT: Duration = Duration::from_secs(5);

/// A client identity like the one Terraform 1.0.3 generates: self-signed
/// ECDSA P-521, CA:TRUE, client and server auth.
struct ClientIdentity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

fn terraform_like_client_identity() -> ClientIdentity {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.distinguished_name.push(DnType::OrganizationName, "HashiCorp");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).expect("self-signed");
    ClientIdentity {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// Trusts exactly the server certificate from the handshake, as the Go client
/// does by making it its only root (webpki would refuse a CA certificate as
/// the server's own, Go does not).
#[derive(Debug)]
struct PinnedServer {
    cert: CertificateDer<'static>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(server_name.to_str(), "localhost");
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn client_config(
    server_cert: &CertificateDer<'static>,
    identity: Option<&ClientIdentity>,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        Arc::new(PinnedServer { cert: server_cert.clone(), algorithms: provider.signature_verification_algorithms });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(vec![identity.cert.clone()], identity.key.clone_key())
            .expect("client auth cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// Dials the plugin socket and runs the client side of TLS, for tonic.
#[derive(Clone)]
struct TlsUnixConnector {
    path: PathBuf,
    config: Arc<ClientConfig>,
}

type TlsIo = TokioIo<tokio_rustls::client::TlsStream<UnixStream>>;

impl tonic::codegen::Service<Uri> for TlsUnixConnector {
    type Response = TlsIo;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<TlsIo, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let stream = UnixStream::connect(&this.path).await?;
            let name = ServerName::try_from("localhost").expect("server name");
            let tls = TlsConnector::from(this.config).connect(name, stream).await?;
            Ok(TokioIo::new(tls))
        })
    }
}

async fn tls_channel(path: &Path, config: Arc<ClientConfig>) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_static("http://localhost")
        .connect_timeout(WAIT)
        .connect_with_connector(TlsUnixConnector { path: path.to_path_buf(), config })
        .await
}

async fn health_of_plugin(channel: Channel) -> Result<i32, tonic::Status> {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: "plugin".to_owned() }).await?;
    Ok(response.into_inner().status)
}

/// A plugin server on a fresh socket, with AutoMTLS expecting `expected`
/// (or plaintext for `None`).
struct Running {
    path: PathBuf,
    server_cert: Option<CertificateDer<'static>>,
    shutdown: ShutdownSignal,
    task: JoinHandle<Result<(), PluginError>>,
    _socket_dir: tempfile::TempDir,
}

fn start(expected: Option<&CertificateDer<'static>>) -> Running {
    let tls = expected.map(|cert| ServerTls::new(cert.clone()).expect("server tls"));
    let socket = bind_socket(None).expect("socket");
    let shutdown = ShutdownSignal::new();
    let task =
        tokio::spawn(serve(Routes::default(), socket.listener, tls.as_ref().map(ServerTls::config), shutdown.clone()));
    Running {
        path: socket.path,
        server_cert: tls.map(|tls| tls.certificate().clone()),
        shutdown,
        task,
        _socket_dir: socket.dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p521_client_passes_mtls_on_tls13_and_tls12() {
    let client = terraform_like_client_identity();
    let running = start(Some(&client.cert));
    let server_cert = running.server_cert.clone().expect("tls server");

    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let config = client_config(&server_cert, Some(&client), version);
        let channel = tls_channel(&running.path, config).await.expect("connects");
        let status =
            tokio::time::timeout(WAIT, health_of_plugin(channel)).await.expect("in time").expect("health check");
        assert_eq!(status, ServingStatus::Serving as i32, "{version:?}");
    }

    running.shutdown.trigger();
    tokio::time::timeout(WAIT, running.task).await.expect("server stops").expect("task").expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_or_missing_client_certificate_is_rejected() {
    let client = terraform_like_client_identity();
    let stranger = terraform_like_client_identity();
    let running = start(Some(&client.cert));
    let server_cert = running.server_cert.clone().expect("tls server");

    for (label, identity) in [("other cert", Some(&stranger)), ("no cert", None)] {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let config = client_config(&server_cert, identity, version);
            let outcome = tokio::time::timeout(WAIT, async {
                let channel = tls_channel(&running.path, config.clone()).await.map_err(|e| e.to_string())?;
                health_of_plugin(channel).await.map_err(|e| e.to_string())
            })
            .await
            .expect("rejection is prompt");
            assert!(outcome.is_err(), "{label} {version:?} was accepted: {outcome:?}");

            // At the TLS level the server's refusal arrives as an alert.
            let stream = UnixStream::connect(&running.path).await.expect("dial");
            let name = ServerName::try_from("localhost").expect("name");
            let refused = match TlsConnector::from(config).connect(name, stream).await {
                Err(err) => err,
                Ok(mut tls) => {
                    let mut byte = [0_u8; 1];
                    tls.read(&mut byte).await.expect_err("server must refuse")
                }
            };
            let alert = refused.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
            assert!(matches!(alert, Some(rustls::Error::AlertReceived(_))), "{label} {version:?}: {refused}");
        }
    }

    // Rejected clients did not disturb the server.
    let config = client_config(&server_cert, Some(&client), &rustls::version::TLS13);
    let channel = tls_channel(&running.path, config).await.expect("connects");
    assert_eq!(health_of_plugin(channel).await.expect("health"), ServingStatus::Serving as i32);
    running.shutdown.trigger();
    let _ = tokio::time::timeout(WAIT, running.task).await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_shutdown_ends_streams_and_server() {
    let client = terraform_like_client_identity();
    let running = start(Some(&client.cert));
    let server_cert = running.server_cert.clone().expect("tls server");
    let config = client_config(&server_cert, Some(&client), &rustls::version::TLS13);
    let channel = tls_channel(&running.path, config).await.expect("connects");

    let mut stdio = GrpcStdioClient::new(channel.clone()).stream_stdio(()).await.expect("stdio stream").into_inner();
    let (broker_tx, broker_rx) = tokio::sync::mpsc::channel::<ConnInfo>(1);
    let mut broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(broker_rx))
        .await
        .expect("broker stream")
        .into_inner();
    broker_tx.send(ConnInfo { service_id: 1, ..ConnInfo::default() }).await.expect("broker accepts messages");

    // Both streams stay open and silent before shutdown.
    assert!(tokio::time::timeout(Duration::from_millis(200), stdio.message()).await.is_err());
    assert!(!running.shutdown.is_triggered());

    GrpcControllerClient::new(channel).shutdown(Empty {}).await.expect("shutdown is answered");
    assert!(running.shutdown.is_triggered());

    let stdio_end = tokio::time::timeout(WAIT, stdio.message()).await.expect("stdio ends");
    assert!(matches!(stdio_end, Ok(None)), "{stdio_end:?}");
    let broker_end = tokio::time::timeout(WAIT, broker.message()).await.expect("broker ends");
    assert!(matches!(broker_end, Ok(None)), "{broker_end:?}");

    // The broker's request stream is still open (broker_tx alive), yet the
    // server finishes within its grace period.
    tokio::time::timeout(WAIT, running.task).await.expect("server stops").expect("task").expect("clean stop");
    drop(broker_tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_when_no_client_certificate_is_configured() {
    let running = start(None);
    assert!(running.server_cert.is_none());
    let channel = Endpoint::from_shared(format!("unix:{}", running.path.display()))
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    assert_eq!(health_of_plugin(channel).await.expect("health"), ServingStatus::Serving as i32);
    running.shutdown.trigger();
    tokio::time::timeout(WAIT, running.task).await.expect("server stops").expect("task").expect("clean stop");
}

#[tokio::test]
async fn socket_lives_in_a_private_directory_removed_on_drop() {
    let parent = tempfile::tempdir().expect("parent");
    let socket = bind_socket(Some(parent.path())).expect("socket");
    let dir = socket.dir.path().to_path_buf();
    assert!(dir.starts_with(parent.path()));
    assert!(socket.path.starts_with(&dir));
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(socket.path.exists());
    drop(socket);
    assert!(!dir.exists());
}

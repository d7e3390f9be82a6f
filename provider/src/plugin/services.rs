//! The go-plugin services the host calls beside the provider itself.

use std::pin::Pin;

use futures::{Stream, StreamExt as _, future, stream};
use tonic::{Request, Response, Status, Streaming};

use super::ShutdownSignal;
use crate::proto::plugin::grpc_broker_server::GrpcBroker;
use crate::proto::plugin::grpc_controller_server::GrpcController;
use crate::proto::plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::plugin::{ConnInfo, Empty, StdioData};

/// Service name go-plugin's host asks the health service about.
pub(crate) const HEALTH_SERVICE_NAME: &str = "plugin";

/// A response stream that sends nothing and ends once `until` completes.
fn silent_until<T: Send + 'static>(
    until: impl Future<Output = ()> + Send + 'static,
) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>> {
    Box::pin(stream::once(until).filter_map(|()| future::ready(None)))
}

/// `plugin.GRPCController`: the host's "we are done" call.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("host asked the plugin to shut down");
        // The server stops accepting and drains; this reply is in flight and
        // still goes out before the connection closes.
        self.shutdown.trigger();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: logs go straight to stderr, so there is nothing to
/// forward; the stream just stays open until shutdown as the host expects.
#[derive(Debug, Clone)]
pub(crate) struct Stdio {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

    async fn stream_stdio(&self, _request: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone().triggered_owned())))
    }
}

/// `plugin.GRPCBroker`: providers never broker extra connections, but the
/// host opens the stream anyway. Its messages are read and dropped; the reply
/// stream ends at shutdown or when the host closes its side.
#[derive(Debug, Clone)]
pub(crate) struct Broker {
    pub(crate) shutdown: ShutdownSignal,
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = Pin<Box<dyn Stream<Item = Result<ConnInfo, Status>> + Send>>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let shutdown = self.shutdown.clone();
        // Reading happens while tonic polls the (empty) reply stream, so no
        // extra task outlives the RPC.
        let drain = async move {
            loop {
                tokio::select! {
                    () = shutdown.triggered() => break,
                    message = inbound.message() => match message {
                        Ok(Some(info)) => {
                            tracing::trace!(service_id = info.service_id, "ignoring broker message");
                        }
                        Ok(None) | Err(_) => break,
                    },
                }
            }
        };
        Ok(Response::new(silent_until(drain)))
    }
}

//! The two providers this crate builds, one per plugin binary. Resource type
//! names must start with their provider's type name, so `cloudinit_config`
//! and `kubeadm_cluster` live in separate providers sharing this library.

pub mod cloudinit;
pub mod kubeadm;

use std::process::ExitCode;
use std::sync::Arc;

use crate::framework::Provider;
use crate::plugin::{self, PluginOptions};
use crate::protocol::ProviderService;

/// Serves `provider` as a Terraform plugin; the whole `main` of a binary.
pub fn serve(name: &'static str, provider: Arc<dyn Provider>) -> ExitCode {
    plugin::run(PluginOptions { name }, move |_shutdown| {
        tonic::service::Routes::new(ProviderService::new(provider).into_server())
    })
}

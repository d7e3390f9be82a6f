//! The `kubeadm` provider (`terraform.local/homelab/kubeadm`), serving
//! `kubeadm_cluster`. The provider block has no settings: everything a
//! cluster needs (SSH, endpoints) is on the resource, so one configuration
//! can manage several clusters.

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::{Block, Diagnostics, Provider, Resource, Schema};
use crate::kubeadm::KubeadmCluster;
use crate::value::Value;

/// The kubeadm provider.
#[derive(Debug, Default)]
pub struct KubeadmProvider;

#[async_trait]
impl Provider for KubeadmProvider {
    fn type_name(&self) -> &'static str {
        "kubeadm"
    }

    fn schema(&self) -> Schema {
        Schema::new(Block::new("Bootstraps and maintains kubeadm clusters over SSH."))
    }

    async fn configure(&self, _config: &Value, _terraform_version: &str) -> Diagnostics {
        Diagnostics::new()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(KubeadmCluster)]
    }
}

//! The `kubeadm` provider (`terraform.local/homelab/kubeadm`), which will
//! serve `kubeadm_cluster`. The resource itself is built in its own issue;
//! until then the provider answers with no resource types, so a
//! configuration using `kubeadm_cluster` gets Terraform's clear
//! "unsupported resource type" error at validate time.

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::{Block, Diagnostics, Provider, Resource, Schema};
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
        Vec::new()
    }
}

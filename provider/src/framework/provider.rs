//! What a provider implements: its own configuration block and the list of
//! resources it serves.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Diagnostics, Resource, Schema};
use crate::value::Value;

/// A provider: a configuration block and a set of resource types.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider type name, e.g. `cloudinit`; resource type names start
    /// with it.
    fn type_name(&self) -> &'static str;

    /// The schema of the `provider` block.
    fn schema(&self) -> Schema;

    /// Validates the `provider` block (values may be unknown).
    async fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Applies the `provider` block before any resource operation.
    async fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics;

    /// The resource types served.
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
}

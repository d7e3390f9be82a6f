//! The `cloudinit` provider (`terraform.local/homelab/cloudinit`), serving
//! `cloudinit_config`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::cloudinit::github_keys::GithubKeys;
use crate::cloudinit::resource::CloudInitConfig;
use crate::framework::{Attribute, Block, Diagnostics, Provider, Resource, Schema};
use crate::value::{AttributePath, Value};

/// Where SSH keys are fetched from unless the provider block says otherwise.
pub const DEFAULT_GITHUB_BASE_URL: &str = "https://github.com";

/// The cloudinit provider.
#[derive(Debug)]
pub struct CloudInitProvider {
    github: Arc<GithubKeys>,
}

impl Default for CloudInitProvider {
    fn default() -> Self {
        Self { github: Arc::new(GithubKeys::new(DEFAULT_GITHUB_BASE_URL)) }
    }
}

fn check_base_url(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Some(url) = config.get("github_base_url").as_str() {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            diags.attribute_error(
                AttributePath::attr("github_base_url"),
                "Invalid GitHub base URL",
                format!("{url:?} is not an http(s) URL. Use e.g. \"https://github.com\"; keys are fetched from <base>/<user>.keys."),
            );
        }
    }
    diags
}

#[async_trait]
impl Provider for CloudInitProvider {
    fn type_name(&self) -> &'static str {
        "cloudinit"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Renders and validates cloud-init user-data that prepares Debian VMs as kubeadm nodes.")
                .attribute(Attribute::string("github_base_url").optional().description(
                    "Base URL that `user.ssh_keys_from_github` keys are fetched from as `<base>/<user>.keys`. Defaults to `https://github.com`; tests point it at a local server.",
                )),
        )
    }

    async fn validate_config(&self, config: &Value) -> Diagnostics {
        check_base_url(config)
    }

    async fn configure(&self, config: &Value, _terraform_version: &str) -> Diagnostics {
        let diags = check_base_url(config);
        if !diags.has_errors() {
            let base = config.get("github_base_url").as_str().unwrap_or(DEFAULT_GITHUB_BASE_URL);
            self.github.set_base_url(base);
        }
        diags
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(CloudInitConfig::new(self.github.clone()))]
    }
}

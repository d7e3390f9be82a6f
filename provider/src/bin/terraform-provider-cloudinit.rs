//! Plugin binary for `terraform.local/homelab/cloudinit`.

use std::process::ExitCode;
use std::sync::Arc;

use homelab_provider::providers::{self, cloudinit::CloudInitProvider};

fn main() -> ExitCode {
    providers::serve("terraform-provider-cloudinit", Arc::new(CloudInitProvider::default()))
}

//! Plugin binary for `terraform.local/homelab/kubeadm`.

use std::process::ExitCode;
use std::sync::Arc;

use homelab_provider::providers::{self, kubeadm::KubeadmProvider};

fn main() -> ExitCode {
    providers::serve("terraform-provider-kubeadm", Arc::new(KubeadmProvider))
}

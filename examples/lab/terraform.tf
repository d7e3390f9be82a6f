terraform {
  required_version = ">= 1.0.3"

  required_providers {
    kubeadm = {
      source  = "terraform.local/homelab/kubeadm"
      version = "0.1.0"
    }
  }
}

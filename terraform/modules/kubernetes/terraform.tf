terraform {
  required_version = ">= 1.9.0"

  required_providers {
    cloudinit = {
      source  = "terraform.local/homelab/cloudinit"
      version = "0.1.0"
    }
    kubeadm = {
      source  = "terraform.local/homelab/kubeadm"
      version = "0.1.0"
    }
  }
}

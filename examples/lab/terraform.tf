terraform {
  required_version = ">= 1.5.0"

  required_providers {
    kubeadm = {
      source  = "terraform.local/homelab/kubeadm"
      version = "0.1.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }
}

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    cloudinit = {
      source  = "terraform.local/homelab/cloudinit"
      version = "~> 0.1"
    }
  }
}

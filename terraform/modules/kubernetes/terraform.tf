# Kept valid for Terraform 1.0.3 (no optional() defaults, validation
# messages as full sentences): checks/tests/terraform_validate.rs runs the
# real `terraform init` + `validate` on this module against the providers
# built from this workspace. The root module itself needs .terraform-version.
terraform {
  required_version = ">= 1.0.3"

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

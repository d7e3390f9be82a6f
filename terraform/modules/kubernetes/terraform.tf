# The floor of our providers (Terraform >= 1.5, OpenTofu >= 1.6):
# checks/tests/terraform_validate.rs runs the real `init` + `validate` of
# this module with every CLI of the test matrix against the providers built
# from this workspace.
terraform {
  required_version = ">= 1.5.0"

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

# Root module of the homelab: the project Atlantis plans and applies.
#
# The CLI Atlantis runs is pinned exactly in .terraform-version and
# atlantis.yaml (checks/tests/version_pins.rs keeps them equal and inside
# this range). required_version is the range this root is verified on:
# >= 1.9 because var.nodes' validation refers to var.proxmox_hosts (and
# modules/vm's `moved` block crosses resource types, which needs 1.8). The
# CI plans it with Terraform 1.11 and OpenTofu 1.11 and 1.12 against the
# real bpg/proxmox and helm providers (checks/tests/real_providers.rs).
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.111.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    # Our providers, built from ../provider and installed into the Atlantis
    # image's filesystem mirror (atlantis/Dockerfile). Never from a registry.
    cloudinit = {
      source  = "terraform.local/homelab/cloudinit"
      version = "0.1.0"
    }
    kubeadm = {
      source  = "terraform.local/homelab/kubeadm"
      version = "0.1.0"
    }
  }

  # State in PostgreSQL, with locking (pg_advisory_lock) built in. The
  # connection string comes from the environment only:
  #   PG_CONN_STR=postgres://terraform:...@db.example.lan/terraform_homelab
  # (sslmode in the URL as needed). See docs/setup.md.
  backend "pg" {
    schema_name = "homelab"
  }
}

# Root module of the homelab: the project Atlantis plans and applies.
#
# required_version is pinned EXACTLY to .terraform-version (and to
# terraform_version in atlantis.yaml); checks/tests/version_pins.rs fails
# when the three disagree.
terraform {
  required_version = "1.14.9"

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.81"
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

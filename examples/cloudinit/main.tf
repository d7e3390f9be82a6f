# Renders the cloud-init user-data of the six reference nodes (three control
# planes, three workers) and writes each to ./out/<name>.yaml. The demo
# (scripts/demo) runs this against the locally installed provider and checks
# every document with the real `cloud-init schema` validator.

terraform {
  required_version = ">= 1.0.0"

  required_providers {
    cloudinit = {
      source  = "terraform.local/homelab/cloudinit"
      version = "~> 0.1"
    }
  }
}

variable "nodes" {
  description = "Node name to IPv4 address."
  type        = map(string)
  default = {
    "pve-vm-cp-1" = "192.168.100.201"
    "pve-vm-cp-2" = "192.168.100.202"
    "pve-vm-cp-3" = "192.168.100.203"
    "pve-vm-wk-1" = "192.168.100.211"
    "pve-vm-wk-2" = "192.168.100.212"
    "pve-vm-wk-3" = "192.168.100.213"
  }

  validation {
    condition     = alltrue([for ip in values(var.nodes) : can(cidrhost("${ip}/32", 0))])
    error_message = "Every node address must be an IPv4 address."
  }
}

variable "ssh_authorized_keys" {
  description = "SSH public keys for the `debian` user. The demo uses a throwaway key; a real lab uses ssh_keys_from_github."
  type        = list(string)
  default     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPRorcDhkzdXt4p6daKcX0R5awYGoVdOJNEO/RX5ANqY demo@example"]
}

locals {
  # Every node knows every other node by name: the lab network has no DNS.
  hosts = merge(
    { for name, ip in var.nodes : ip => [name] },
    { "192.168.100.200" = ["k8s-api"] },
  )
}

resource "cloudinit_config" "node" {
  for_each = var.nodes

  hostname           = each.key
  timezone           = "Europe/Berlin"
  kubernetes_version = "1.35"
  hosts              = local.hosts
  packages           = ["qemu-guest-agent"]

  user {
    ssh_authorized_keys = var.ssh_authorized_keys
  }
}

output "sha256" {
  description = "Checksum of each node's user-data; changes whenever a VM would be replaced."
  value       = { for name, config in cloudinit_config.node : name => config.sha256 }
}

output "user_data" {
  description = "Rendered user-data per node."
  value       = { for name, config in cloudinit_config.node : name => config.rendered }
}

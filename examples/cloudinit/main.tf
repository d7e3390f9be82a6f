# Renders the cloud-init user-data of the six reference nodes (three control
# planes, three workers) and writes each to ./out/<name>.yaml. The demo
# (scripts/demo) runs this against the locally installed provider and checks
# every document with Debian 13's `cloud-init schema` validator.

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

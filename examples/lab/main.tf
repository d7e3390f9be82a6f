# A kubeadm cluster on the local lab (`homelab-lab up`): network-namespace
# hosts with a real sshd and a simulated kubeadm. Same resource, same
# attributes as the Proxmox setup in terraform/; only the addresses and keys
# come from the lab's JSON instead of bpg/proxmox.

locals {
  lab   = jsondecode(file(var.lab_file))
  hosts = { for h in local.lab.hosts : h.name => h if !contains(var.exclude_nodes, h.name) }
  role_labels = {
    "control-plane" = {}
    worker          = { "node-role.kubernetes.io/worker" = "" }
  }
}

resource "kubeadm_cluster" "lab" {
  cluster_name           = "lab"
  kubernetes_version     = var.kubernetes_version
  control_plane_endpoint = local.lab.api_server
  destroy_mode           = var.destroy_mode

  nodes = {
    for name, h in local.hosts : name => {
      role        = h.role
      address     = h.address
      labels      = merge(local.role_labels[h.role], lookup(var.node_labels, name, {}))
      taints      = lookup(var.node_taints, name, null)
      instance_id = lookup(var.instance_ids, name, "1")
    }
  }

  kube_vip {
    address   = local.lab.vip
    interface = "eth0"
  }

  ssh {
    user        = local.lab.hosts[0].user
    private_key = file(local.lab.private_key)
    host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key }
  }

  timeouts {
    create = "10m"
  }
}

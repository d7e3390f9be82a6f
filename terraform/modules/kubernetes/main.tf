# User-data for every node, then one kubeadm cluster over all of them.

resource "cloudinit_config" "node" {
  for_each = var.nodes

  hostname           = each.key
  kubernetes_version = var.kubernetes_version
  timezone           = var.timezone
  hosts              = var.etc_hosts

  # Site-specific part (templates/user-data.yaml.tftpl), deep-merged.
  base = var.user_data_base[each.key]

  user {
    name                 = var.ssh_user
    ssh_keys_from_github = var.ssh_keys_from_github
    ssh_authorized_keys  = var.ssh_authorized_keys
  }
}

resource "kubeadm_cluster" "this" {
  cluster_name           = var.cluster_name
  kubernetes_version     = var.kubernetes_version
  control_plane_endpoint = "${var.api_vip}:${var.api_port}"
  pod_subnet             = var.pod_subnet
  service_subnet         = var.service_subnet
  dns_domain             = var.dns_domain
  api_server_cert_sans   = distinct(concat([var.api_vip], [for n in values(var.nodes) : n.address], var.api_server_cert_sans))
  skip_kube_proxy        = var.skip_kube_proxy
  destroy_mode           = var.destroy_mode

  nodes = {
    for name, node in var.nodes : name => {
      role    = node.role
      address = node.address
      labels  = node.labels
      taints  = node.taints
      # Changes when the VM is replaced: expect a new host key and an empty
      # disk, remove the stale Node and etcd member, join again.
      instance_id = var.instance_ids[name]
    }
  }

  kube_vip {
    address   = var.api_vip
    interface = var.vip_interface
    image     = var.kube_vip_image
  }

  ssh {
    user               = var.ssh_user
    port               = 22
    private_key        = var.ssh_private_key
    trust_on_first_use = var.ssh_trust_on_first_use
  }

  timeouts {
    create = "60m"
    update = "60m"
    delete = "20m"
  }
}

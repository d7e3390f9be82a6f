# User-data for every node, then one kubeadm cluster over all of them.

locals {
  # var.etc_hosts as one line (IP addresses and host names hold no `=`,
  # `,` or space), and each node's recorded line read back.
  hosts_line = join(" ", [for ip, names in var.etc_hosts : "${ip}=${join(",", names)}"])
  built_hosts = {
    for name, built in terraform_data.built_with : name => built.input.hosts == "" ? {} : {
      for entry in split(" ", built.input.hosts) : split("=", entry)[0] => split(",", split("=", entry)[1])
    }
  }
}

# The inputs every node shares, recorded per node when its VM is built.
# User-data is read once, at first boot, and it is part of the VM's
# identity: rendering a node's anew rebuilds its VM. A shared input must
# not rebuild every VM at once, so each node keeps the Kubernetes version
# (kubeadm_cluster upgrades the running nodes in place) and the /etc/hosts
# list (a new node joins every node's list) it was built with
# (ignore_changes). They move to the current values only when the node's
# VM is rebuilt for its own reasons: a new host, image, vm_id or
# `generation` (var.rebuild_triggers), or a change of its own user-data
# (the template, users, time zone). A new or rebuilt node boots the current
# ones; output user_data_behind names the nodes built with older ones.
# The hosts are kept as one line, `IP=name,name IP=name ...`, which the
# plan comment shows as it is (a JSON string would be shown expanded).
resource "terraform_data" "built_with" {
  for_each = var.nodes

  input = {
    kubernetes_version = var.kubernetes_version
    hosts              = local.hosts_line
  }
  triggers_replace = sha256(jsonencode({
    vm       = var.rebuild_triggers[each.key]
    base     = var.user_data_base[each.key]
    timezone = var.timezone
    ssh_user = var.ssh_user
    ssh_keys = var.ssh_authorized_keys
    github   = var.ssh_keys_from_github
  }))

  lifecycle {
    ignore_changes = [input]
  }
}

# `input`, not `output`, of built_with: the planned input is the recorded
# value (or, for a new or rebuilt node, the current one) and known at plan
# time, so the user-data and the VM identity are too; `output` is unknown
# until the apply creates the record.
resource "cloudinit_config" "node" {
  for_each = var.nodes

  hostname           = each.key
  kubernetes_version = terraform_data.built_with[each.key].input.kubernetes_version
  timezone           = var.timezone
  hosts              = local.built_hosts[each.key]

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

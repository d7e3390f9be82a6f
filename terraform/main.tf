# The whole homelab in one apply, in the blueprint's bootstrap order:
#   module.kubernetes: cloudinit_config per node (user-data)
#   module.vm:         cloud image per host, user-data snippet + VM per node
#   module.kubernetes: kubeadm_cluster over all VMs (init, control planes one
#                      at a time, workers in parallel; kube-vip VIP)
#   module.platform:   CNI (Cilium or Flannel), ArgoCD once, the root
#                      App of Apps (gitops/root-app.yaml)
# Everything after that is ArgoCD's job (gitops/).

locals {
  prefix_length = tonumber(split("/", var.network_cidr)[1])

  # The lab has no DNS: every node knows every node (and the API VIP) by name.
  etc_hosts = merge(
    { for name, node in var.nodes : node.address => [name] },
    { (var.api_vip) = ["${var.cluster_name}-api"] },
  )

  # The site-specific part of each node's user-data (templates/). No secrets:
  # it is uploaded as a Proxmox snippet and shown in every plan.
  user_data_base = {
    for name, node in var.nodes : name => templatefile("${path.module}/../templates/user-data.yaml.tftpl", {
      cluster_name    = var.cluster_name
      node_role       = node.role
      ntp_servers     = var.ntp_servers
      extra_packages  = var.extra_packages
      package_upgrade = false
    })
  }

  # The root Application, read from git so ArgoCD and Terraform agree on it.
  root_application = yamldecode(file("${path.module}/../gitops/root-app.yaml"))
}

module "kubernetes" {
  source = "./modules/kubernetes"

  cluster_name       = var.cluster_name
  kubernetes_version = var.kubernetes_version
  nodes = {
    for name, node in var.nodes : name => {
      role    = node.role
      address = node.address
      labels  = node.labels
      taints  = node.taints
    }
  }
  # Per node, a hash of everything that makes module.vm rebuild the VM
  # (user-data sha256, host, image, vm_id, datastore, generation): it
  # changes exactly when the VM is replaced, and is known at plan time.
  # kubeadm_cluster then expects a new SSH host key and an empty disk,
  # removes the stale Node / etcd member and joins the node again; without
  # it, a rebuilt VM's new host key would be refused as a possible
  # man-in-the-middle. Not the VM id: Proxmox reuses ids. A separate map
  # (not part of `nodes`) because the user-data of module.kubernetes feeds
  # the VMs: folding it into `nodes` would be a dependency cycle.
  instance_ids = module.vm.instance_ids
  # Per node, the VM's identity without its user-data: existing nodes keep
  # the Kubernetes version and host list they were built with (a version
  # bump or a new node rebuilds no VM); a new node, or a rebuilt one,
  # boots the current ones.
  rebuild_triggers = module.vm.rebuild_triggers

  user_data_base       = local.user_data_base
  etc_hosts            = local.etc_hosts
  timezone             = var.timezone
  ssh_user             = var.ssh_user
  ssh_keys_from_github = var.ssh_keys_from_github
  ssh_authorized_keys  = var.ssh_authorized_keys

  api_vip                = var.api_vip
  vip_interface          = var.vip_interface
  kube_vip_image         = var.kube_vip_image
  pod_subnet             = var.pod_subnet
  service_subnet         = var.service_subnet
  skip_kube_proxy        = var.cni == "cilium"
  ssh_private_key        = var.ssh_private_key
  ssh_trust_on_first_use = var.ssh_trust_on_first_use
}

module "vm" {
  source = "./modules/vm"

  nodes = {
    for name, node in var.nodes : name => {
      role       = node.role
      host       = node.host
      address    = node.address
      vm_id      = node.vm_id
      cores      = node.cores
      memory_mib = node.memory_mib
      disk_gib   = node.disk_gib
      generation = node.generation
    }
  }
  user_data = module.kubernetes.user_data

  prefix_length        = local.prefix_length
  gateway              = var.gateway
  dns_servers          = var.dns_servers
  bridge               = var.bridge
  vm_datastore_id      = var.vm_datastore_id
  image_datastore_id   = var.image_datastore_id
  snippet_datastore_id = var.snippet_datastore_id
  image                = var.image
  tags                 = ["kubernetes", var.cluster_name]
}

module "platform" {
  source = "./modules/platform"

  cni                = var.cni
  api_vip            = var.api_vip
  pod_subnet         = var.pod_subnet
  chart_versions     = var.chart_versions
  chart_repositories = var.chart_repositories
  root_application   = local.root_application

  # The charts need a cluster with registered nodes; the helm provider is
  # configured from module.kubernetes, so this ordering is implied, and the
  # explicit dependency documents it.
  depends_on = [module.kubernetes]
}

# A kubeadm cluster on the local lab (`homelab-lab up`): network-namespace
# hosts with a real sshd and a simulated kubeadm. Same resource, same
# attributes as the Proxmox setup in terraform/; only the addresses and keys
# come from the lab's JSON instead of bpg/proxmox.

locals {
  lab   = jsondecode(file(var.lab_file))
  hosts = { for h in local.lab.hosts : h.name => h if !contains(var.exclude_nodes, h.name) }
  # A real-Kubernetes lab (`homelab-lab up --real`) has no container
  # runtime (its kubelet stand-in runs static pods as processes), and this
  # machine's cgroup controllers are not on cgroup2, so these preflight
  # checks cannot pass there (lab/README.md). A real node needs none.
  preflight_ignores = ["CRI", "ContainerRuntimeVersion", "ImagePull", "SystemVerification"]
  # kubeadm upgrade's check that a Job's pod runs needs a container
  # runtime too.
  upgrade_ignores = concat(local.preflight_ignores, ["CreateJob"])
  # kubeadm 1.34 connects to the runtime to pull images even with ImagePull
  # ignored (1.35 made that part of the check), so a lab started at 1.34
  # (to be upgraded) skips the preflight phase of init and join altogether.
  version       = coalesce(var.kubernetes_version, try(local.lab.kubernetes_version, null), "1.35.0")
  no_preflight  = local.real_lab && tonumber(split(".", local.version)[1]) < 35
  run_preflight = local.no_preflight ? { skipPhases = ["preflight"] } : {}
  real_lab      = try(local.lab.real, false)
  role_labels = {
    "control-plane" = {}
    worker          = { "node-role.kubernetes.io/worker" = "" }
  }
}

resource "kubeadm_cluster" "lab" {
  cluster_name           = "lab"
  kubernetes_version     = local.version
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

  dynamic "kubeadm_config_patches" {
    for_each = local.real_lab ? [local.preflight_ignores] : []
    content {
      init_configuration    = yamlencode(merge({ nodeRegistration = { ignorePreflightErrors = kubeadm_config_patches.value } }, local.run_preflight))
      join_configuration    = yamlencode(merge({ nodeRegistration = { ignorePreflightErrors = kubeadm_config_patches.value } }, local.run_preflight))
      cluster_configuration = var.certificate_validity == null ? null : yamlencode({ certificateValidityPeriod = var.certificate_validity })
      upgrade_configuration = yamlencode({
        apply = { ignorePreflightErrors = local.upgrade_ignores }
        node  = { ignorePreflightErrors = local.upgrade_ignores }
        plan  = { ignorePreflightErrors = local.upgrade_ignores }
      })
    }
  }

  renew_certificates_before = var.renew_certificates_before

  kube_vip {
    address   = local.lab.vip
    interface = "eth0"
  }

  ssh {
    user        = local.lab.hosts[0].user
    private_key = file(local.lab.private_key)
    host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key }
  }

  dynamic "drain" {
    for_each = var.drain == null ? [] : [var.drain]
    content {
      timeout              = drain.value.timeout
      force                = drain.value.force
      delete_emptydir_data = drain.value.delete_emptydir_data
    }
  }

  dynamic "upgrade" {
    for_each = var.upgrade_max_unavailable == null ? [] : [var.upgrade_max_unavailable]
    content {
      max_unavailable = upgrade.value
    }
  }

  timeouts {
    create = "10m"
  }
}

# A local chart (a ConfigMap: the lab can pull no image) installed by the
# real helm provider into the cluster above, in the same apply.
resource "helm_release" "demo" {
  count = var.demo_chart ? 1 : 0

  name      = "lab-demo"
  chart     = "${path.module}/charts/lab-demo"
  namespace = "default"
}

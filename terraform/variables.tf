# ---------------------------------------------------------------------------
# Proxmox hosts and VM placement
# ---------------------------------------------------------------------------

variable "proxmox_hosts" {
  description = "Proxmox VE nodes by node name, with the address the provider uses for SSH (snippet upload, disk import). The API endpoint itself comes from PROXMOX_VE_ENDPOINT."
  type = map(object({
    address = string
  }))
  default = {
    "pi-node-1" = { address = "192.168.100.101" }
    "pi-node-2" = { address = "192.168.100.102" }
    "pi-node-3" = { address = "192.168.100.103" }
  }

  validation {
    condition     = length(var.proxmox_hosts) > 0
    error_message = "At least one Proxmox host is needed."
  }

  validation {
    condition     = alltrue([for h in values(var.proxmox_hosts) : can(cidrhost("${h.address}/32", 0))])
    error_message = "Every Proxmox host address must be an IPv4 address."
  }
}

variable "proxmox_ssh_username" {
  description = "The user the provider logs in as over SSH to the Proxmox hosts (snippet upload, disk import). With API-token authentication bpg/proxmox cannot derive it from the token, so it must be set; usually root."
  type        = string
  default     = "root"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_.-]*$", var.proxmox_ssh_username))
    error_message = "The Proxmox SSH username must be a Unix user name such as root (no realm: not root@pam)."
  }
}

variable "proxmox_ssh_agent" {
  description = "Use the SSH agent (SSH_AUTH_SOCK) for the provider's SSH connections to the Proxmox hosts. When false, set PROXMOX_VE_SSH_PRIVATE_KEY."
  type        = bool
  default     = false
}

variable "nodes" {
  description = "Kubernetes nodes (one VM each), keyed by node name. `host` places the VM on a Proxmox host from proxmox_hosts. `taints` left out keeps kubeadm's default (control planes get node-role.kubernetes.io/control-plane:NoSchedule, workers none); `[]` registers the node without taints. `generation` is bumped to rebuild a VM on purpose (it is replaced and kubeadm_cluster re-joins it)."
  type = map(object({
    role       = string
    host       = string
    address    = string
    vm_id      = optional(number)
    cores      = optional(number, 2)
    memory_mib = optional(number, 2048)
    disk_gib   = optional(number, 20)
    labels     = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })))
    generation = optional(number, 0)
  }))
  default = {
    "pve-vm-cp-1" = { role = "control-plane", host = "pi-node-1", address = "192.168.100.201" }
    "pve-vm-cp-2" = { role = "control-plane", host = "pi-node-2", address = "192.168.100.202" }
    "pve-vm-cp-3" = { role = "control-plane", host = "pi-node-3", address = "192.168.100.203" }
    "pve-vm-wk-1" = { role = "worker", host = "pi-node-1", address = "192.168.100.211" }
    "pve-vm-wk-2" = { role = "worker", host = "pi-node-2", address = "192.168.100.212" }
    "pve-vm-wk-3" = { role = "worker", host = "pi-node-3", address = "192.168.100.213" }
  }

  validation {
    condition     = alltrue([for name in keys(var.nodes) : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", name))])
    error_message = "Node names must be lowercase RFC 1123 labels (they become host names and Kubernetes node names)."
  }

  validation {
    condition     = alltrue([for n in values(var.nodes) : contains(["control-plane", "worker"], n.role)])
    error_message = "Every node's role must be \"control-plane\" or \"worker\"."
  }

  validation {
    condition     = length([for n in values(var.nodes) : n if n.role == "control-plane"]) % 2 == 1
    error_message = "Use an odd number of control planes (1, 3, 5): etcd needs a majority to keep quorum."
  }

  validation {
    condition     = alltrue([for n in values(var.nodes) : contains(keys(var.proxmox_hosts), n.host)])
    error_message = "Every node's host must be a key of proxmox_hosts."
  }

  validation {
    condition     = alltrue([for n in values(var.nodes) : can(cidrhost("${n.address}/32", 0))])
    error_message = "Every node address must be an IPv4 address."
  }

  validation {
    condition     = length(distinct([for n in values(var.nodes) : n.address])) == length(var.nodes)
    error_message = "Node addresses must be unique."
  }

  validation {
    condition     = alltrue([for n in values(var.nodes) : n.memory_mib >= 2048 && n.cores >= 2])
    error_message = "kubeadm needs at least 2 vCPUs and 2048 MiB per node."
  }
}

# ---------------------------------------------------------------------------
# Network and storage
# ---------------------------------------------------------------------------

variable "network_cidr" {
  description = "The VM network. Node addresses and the API VIP must be inside it."
  type        = string
  default     = "192.168.100.0/24"

  validation {
    condition     = can(cidrnetmask(var.network_cidr))
    error_message = "network_cidr must be an IPv4 CIDR such as 192.168.100.0/24."
  }
}

variable "gateway" {
  description = "Default gateway of the VMs."
  type        = string
  default     = "192.168.100.1"

  validation {
    condition     = can(cidrhost("${var.gateway}/32", 0))
    error_message = "gateway must be an IPv4 address."
  }
}

variable "dns_servers" {
  description = "DNS servers of the VMs."
  type        = list(string)
  default     = ["192.168.100.1"]

  validation {
    condition     = length(var.dns_servers) > 0 && alltrue([for s in var.dns_servers : can(cidrhost("${s}/32", 0))])
    error_message = "dns_servers must be a non-empty list of IPv4 addresses."
  }
}

variable "bridge" {
  description = "Proxmox bridge the VMs attach to."
  type        = string
  default     = "vmbr0"
}

variable "vm_datastore_id" {
  description = "Datastore for VM disks, EFI disks and cloud-init drives: shared Ceph RBD so any host can run any VM."
  type        = string
  default     = "ceph-vm"
}

variable "image_datastore_id" {
  description = "Datastore the cloud image is downloaded to, once per Proxmox host. Must allow the `import` content type."
  type        = string
  default     = "local"
}

variable "snippet_datastore_id" {
  description = "Datastore for the cloud-init user-data snippets. Must allow the `snippets` content type."
  type        = string
  default     = "local"
}

variable "image" {
  description = "Debian 13 (trixie) ARM64 generic cloud image. Pin a dated release and its checksum for reproducible VMs; changing it replaces every VM."
  type = object({
    url                = string
    file_name          = string
    checksum           = optional(string)
    checksum_algorithm = optional(string, "sha512")
  })
  default = {
    url       = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-generic-arm64.qcow2"
    file_name = "debian-13-generic-arm64.qcow2"
  }

  validation {
    condition     = can(regex("^https://", var.image.url)) && can(regex("\\.(qcow2|raw|img)$", var.image.file_name))
    error_message = "image.url must be https and image.file_name must end in .qcow2, .raw or .img."
  }
}

# ---------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------

variable "cluster_name" {
  description = "Cluster name (kubeadm clusterName and kubeconfig context)."
  type        = string
  default     = "homelab"
}

variable "kubernetes_version" {
  description = "Exact Kubernetes patch release installed on the nodes and bootstrapped by kubeadm, e.g. 1.35.2."
  type        = string
  default     = "1.35.2"

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must be an exact release such as 1.35.2 (no leading v)."
  }
}

variable "api_vip" {
  description = "Virtual IP of the Kubernetes API, held by kube-vip in ARP mode. Must be free in network_cidr."
  type        = string
  default     = "192.168.100.200"

  validation {
    condition     = can(cidrhost("${var.api_vip}/32", 0))
    error_message = "api_vip must be an IPv4 address."
  }
}

variable "vip_interface" {
  description = "Network interface on the control planes that kube-vip announces the VIP on. The Proxmox cloud-init network config names the first NIC eth0."
  type        = string
  default     = "eth0"
}

variable "kube_vip_image" {
  description = "kube-vip image (multi-arch, ARM64 included)."
  type        = string
  default     = "ghcr.io/kube-vip/kube-vip:v1.0.0"
}

variable "pod_subnet" {
  description = "Pod CIDR (kubeadm podSubnet; Cilium IPAM mode kubernetes uses the per-node ranges cut from it)."
  type        = string
  default     = "10.244.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.pod_subnet))
    error_message = "pod_subnet must be an IPv4 CIDR."
  }
}

variable "service_subnet" {
  description = "Service CIDR (kubeadm serviceSubnet)."
  type        = string
  default     = "10.96.0.0/12"

  validation {
    condition     = can(cidrnetmask(var.service_subnet))
    error_message = "service_subnet must be an IPv4 CIDR."
  }
}

variable "timezone" {
  description = "IANA time zone of the nodes."
  type        = string
  default     = "Etc/UTC"
}

variable "ntp_servers" {
  description = "NTP servers for chrony on the nodes."
  type        = list(string)
  default     = ["0.debian.pool.ntp.org", "1.debian.pool.ntp.org"]
}

variable "extra_packages" {
  description = "Extra Debian packages on every node, e.g. open-iscsi and nfs-common for Longhorn."
  type        = list(string)
  default     = []
}

variable "ssh_user" {
  description = "Login user on the nodes (the Debian cloud image's user)."
  type        = string
  default     = "debian"
}

variable "ssh_keys_from_github" {
  description = "GitHub users whose public keys (https://github.com/<user>.keys) may log in as ssh_user. Fetched when a node is planned for creation and pinned in state."
  type        = list(string)
  default     = []
}

variable "ssh_authorized_keys" {
  description = "Additional SSH public keys for ssh_user, e.g. the public half of the key Atlantis uses (TF_VAR_ssh_private_key)."
  type        = list(string)
  default     = []
}

variable "ssh_private_key" {
  description = "Private key kubeadm_cluster uses to reach the nodes. Set through TF_VAR_ssh_private_key in the Atlantis environment; null means the SSH agent."
  type        = string
  default     = null
  sensitive   = true
}

variable "ssh_trust_on_first_use" {
  description = "Accept and record each node's SSH host key on first contact. Fresh VMs generate their host keys at first boot, so there is nothing to pin in advance; later changes are refused unless the node was replaced (its instance id changed)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------
# Platform: CNI, ArgoCD, GitOps
# ---------------------------------------------------------------------------

variable "cni" {
  description = "Pod network: \"cilium\" (kube-proxy replacement; kube-proxy is not installed) or \"flannel\" (with kube-proxy)."
  type        = string
  default     = "cilium"

  validation {
    condition     = contains(["cilium", "flannel"], var.cni)
    error_message = "cni must be \"cilium\" or \"flannel\"."
  }
}

variable "chart_versions" {
  description = "Pinned Helm chart versions of the bootstrap stack. Later ArgoCD upgrades happen through gitops/, not here."
  type = object({
    cilium      = optional(string, "1.18.4")
    flannel     = optional(string, "v0.27.4")
    argo_cd     = optional(string, "9.1.4")
    argocd_apps = optional(string, "2.0.2")
  })
  default = {}
}

variable "chart_repositories" {
  description = "Helm repositories of the bootstrap charts. The helm provider downloads each chart when it plans, so an air-gapped site points these at its own mirror (ChartMuseum, Harbor, a static index.yaml)."
  type = object({
    cilium  = optional(string, "https://helm.cilium.io/")
    flannel = optional(string, "https://flannel-io.github.io/flannel/")
    argo    = optional(string, "https://argoproj.github.io/argo-helm")
  })
  default = {}

  validation {
    condition     = alltrue([for url in values(var.chart_repositories) : can(regex("^(https?|oci)://", url))])
    error_message = "Every chart repository must be an http(s):// or oci:// URL."
  }
}

variable "cluster_name" {
  description = "kubeadm clusterName."
  type        = string
}

variable "kubernetes_version" {
  description = "Exact Kubernetes release (e.g. 1.35.2): the packages on the nodes and the version kubeadm bootstraps."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]+\\.[0-9]+$", var.kubernetes_version))
    error_message = "The kubernetes_version must be an exact release such as 1.35.2."
  }
}

variable "nodes" {
  description = "Cluster nodes keyed by name: role (control-plane or worker), address, labels, taints (each {key, value, effect}; left out or null keeps kubeadm's default, [] means none)."
  type = map(object({
    role    = string
    address = string
    labels  = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = optional(string, "NoSchedule")
    })))
  }))

  validation {
    condition     = alltrue([for n in values(var.nodes) : contains(["control-plane", "worker"], n.role)])
    error_message = "Every node's role must be \"control-plane\" or \"worker\"."
  }

  validation {
    # null taints (kubeadm's default) have nothing to check.
    condition     = alltrue(flatten([for n in values(var.nodes) : n.taints == null ? [] : [for t in n.taints : contains(["NoSchedule", "PreferNoSchedule", "NoExecute"], t.effect)]]))
    error_message = "Taint effects must be NoSchedule, PreferNoSchedule or NoExecute."
  }
}

variable "instance_ids" {
  description = "Per node: a value that changes whenever the node's VM is replaced (from module vm). Tells kubeadm_cluster to expect a new host key and re-join the node."
  type        = map(string)
}

variable "rebuild_triggers" {
  description = "Per node: a value that changes whenever the node's VM is rebuilt for a reason other than its user-data (from module vm). Only then, or for a new node, is its user-data rendered from the current inputs."
  type        = map(string)
}

variable "user_data_base" {
  description = "Per node: the rendered templates/user-data.yaml.tftpl, merged into the generated user-data."
  type        = map(string)
}

variable "etc_hosts" {
  description = "/etc/hosts entries for every node: IP address to names."
  type        = map(list(string))
  default     = {}
}

variable "timezone" {
  description = "IANA time zone of the nodes."
  type        = string
  default     = "Etc/UTC"
}

variable "ssh_user" {
  description = "Login user on the nodes."
  type        = string
  default     = "debian"
}

variable "ssh_keys_from_github" {
  description = "GitHub users whose keys may log in as ssh_user."
  type        = list(string)
  default     = []
}

variable "ssh_authorized_keys" {
  description = "More SSH public keys for ssh_user."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.ssh_authorized_keys : can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com) ", k))])
    error_message = "Every entry must be an OpenSSH public key line (ssh-ed25519 AAAA... comment)."
  }
}

variable "api_vip" {
  description = "API server VIP announced by kube-vip (ARP mode)."
  type        = string
}

variable "api_port" {
  description = "API server port behind the VIP."
  type        = number
  default     = 6443

  validation {
    condition     = var.api_port == 6443
    error_message = "kube-vip in ARP mode only moves the VIP and forwards nothing, so the endpoint's port must be the API server's own port, 6443."
  }
}

variable "vip_interface" {
  description = "Interface kube-vip announces the VIP on."
  type        = string
  default     = "eth0"
}

variable "kube_vip_image" {
  description = "kube-vip image (multi-arch)."
  type        = string
}

variable "pod_subnet" {
  description = "kubeadm podSubnet."
  type        = string
}

variable "service_subnet" {
  description = "kubeadm serviceSubnet."
  type        = string
}

variable "dns_domain" {
  description = "Cluster DNS domain."
  type        = string
  default     = "cluster.local"
}

variable "api_server_cert_sans" {
  description = "Extra subject alternative names for the API server certificate (the VIP and node addresses are always included)."
  type        = list(string)
  default     = []
}

variable "skip_kube_proxy" {
  description = "Do not install kube-proxy (Cilium's kube-proxy replacement takes over)."
  type        = bool
  default     = false
}

variable "ssh_private_key" {
  description = "Private key for the nodes; null uses the SSH agent."
  type        = string
  default     = null
  sensitive   = true
}

variable "ssh_trust_on_first_use" {
  description = "Record each node's host key on first contact (fresh VMs create their keys at first boot)."
  type        = bool
  default     = true
}

variable "destroy_mode" {
  description = "On destroy: \"reset\" runs kubeadm reset on the nodes, \"forget\" only drops the state (the VMs are destroyed anyway)."
  type        = string
  default     = "forget"

  validation {
    condition     = contains(["reset", "forget"], var.destroy_mode)
    error_message = "The destroy_mode must be \"reset\" or \"forget\"."
  }
}

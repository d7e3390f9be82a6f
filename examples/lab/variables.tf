variable "lab_file" {
  description = "The JSON that `homelab-lab up --out FILE` wrote: hosts, roles, addresses, host keys, the VIP."
  type        = string
}

variable "kubernetes_version" {
  description = "kubeadm version on the nodes; null means the lab's (its real binaries' version, or the simulator's v1.35.0)."
  type        = string
  default     = null
}

variable "exclude_nodes" {
  description = "Lab hosts to leave out of the cluster (to exercise node removal)."
  type        = list(string)
  default     = []
}

variable "instance_ids" {
  description = "Per-node replacement marker; change one to simulate a replaced VM."
  type        = map(string)
  default     = {}
}

variable "node_labels" {
  description = "Extra labels per node name, merged over the example's own (workers get node-role.kubernetes.io/worker)."
  type        = map(map(string))
  default     = {}
}

variable "node_taints" {
  description = "Taints per node name (value and effect may be left out; effect defaults to NoSchedule); [] removes them all. Nodes left out keep what they have (kubeadm's default at join)."
  type = map(list(object({
    key    = string
    value  = optional(string)
    effect = optional(string, "NoSchedule")
  })))
  default = {}
}

variable "drain" {
  description = "How a leaving node is drained (kubeadm_cluster's drain block); null keeps the resource's defaults."
  type = object({
    timeout              = optional(string)
    force                = optional(bool)
    delete_emptydir_data = optional(bool)
  })
  default = null
}

variable "upgrade_max_unavailable" {
  description = "How many workers a kubernetes_version upgrade drains and upgrades at once (kubeadm_cluster's upgrade block); null keeps the resource's default of 1."
  type        = number
  default     = null

  validation {
    condition     = var.upgrade_max_unavailable == null ? true : var.upgrade_max_unavailable >= 1 && floor(var.upgrade_max_unavailable) == var.upgrade_max_unavailable
    error_message = "upgrade_max_unavailable must be a whole number of at least 1."
  }
}

variable "certificate_validity" {
  description = "Real-Kubernetes lab only: kubeadm's certificateValidityPeriod for the certificates it issues (e.g. \"10m\", to exercise renewal in minutes); null keeps kubeadm's 8760h."
  type        = string
  default     = null
}

variable "renew_certificates_before" {
  description = "kubeadm_cluster's renew_certificates_before; null keeps its default (2160h)."
  type        = string
  default     = null
}

variable "destroy_mode" {
  description = "\"reset\" or \"forget\"."
  type        = string
  default     = "reset"
}

variable "demo_chart" {
  description = "Install charts/lab-demo with the helm provider in the same apply (a real-Kubernetes lab serves it; the simulated API server does not)."
  type        = bool
  default     = false
}

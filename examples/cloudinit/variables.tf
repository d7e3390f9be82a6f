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

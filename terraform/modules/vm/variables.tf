variable "nodes" {
  description = "VMs keyed by name: role, Proxmox host, address, optional fixed vm_id, size, and generation (bump to rebuild)."
  type = map(object({
    role       = string
    host       = string
    address    = string
    vm_id      = optional(number)
    cores      = optional(number, 2)
    memory_mib = optional(number, 2048)
    disk_gib   = optional(number, 20)
    generation = optional(number, 0)
  }))

  validation {
    condition     = alltrue([for n in values(var.nodes) : n.disk_gib >= 8])
    error_message = "Give every VM at least 8 GiB of disk (the cloud image, containerd images, logs)."
  }
}

variable "user_data" {
  description = "Rendered cloud-init user-data per node name (cloudinit_config.rendered). Must not contain secrets: bpg/proxmox does not treat snippet content as sensitive."
  type        = map(string)
}

variable "prefix_length" {
  description = "Prefix length of the VM network, e.g. 24."
  type        = number

  validation {
    condition     = var.prefix_length >= 8 && var.prefix_length <= 30
    error_message = "prefix_length must be between 8 and 30."
  }
}

variable "gateway" {
  description = "Default IPv4 gateway of the VMs."
  type        = string
}

variable "dns_servers" {
  description = "DNS servers of the VMs."
  type        = list(string)
}

variable "bridge" {
  description = "Proxmox bridge for the VMs' network device."
  type        = string
  default     = "vmbr0"
}

variable "vm_datastore_id" {
  description = "Shared datastore (Ceph RBD) for VM disks, EFI disks and cloud-init drives."
  type        = string
}

variable "image_datastore_id" {
  description = "Datastore the cloud image is downloaded to on each host (content type `import` enabled)."
  type        = string
}

variable "snippet_datastore_id" {
  description = "Datastore for user-data snippets (content type `snippets` enabled)."
  type        = string
}

variable "image" {
  description = "Cloud image to import as each VM's boot disk."
  type = object({
    url                = string
    file_name          = string
    checksum           = optional(string)
    checksum_algorithm = optional(string, "sha512")
  })
}

variable "tags" {
  description = "Proxmox tags for every VM (the node role is added)."
  type        = list(string)
  default     = []
}

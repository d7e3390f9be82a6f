# One cloud image per Proxmox host, one user-data snippet and one VM per
# node. The VMs are ARM64 (Raspberry Pi 5 hosts): UEFI (OVMF) with an EFI
# disk, machine `virt` (no IDE bus, so the cloud-init drive sits on scsi1),
# CPU type `host`. `cpu.architecture` is left unset: setting it needs
# root@pam, and Proxmox on ARM64 defaults to the host architecture.

locals {
  hosts = toset([for node in values(var.nodes) : node.host])
}

resource "proxmox_download_file" "image" {
  for_each = local.hosts

  node_name          = each.key
  content_type       = "import"
  datastore_id       = var.image_datastore_id
  url                = var.image.url
  file_name          = var.image.file_name
  checksum           = var.image.checksum
  checksum_algorithm = var.image.checksum == null ? null : var.image.checksum_algorithm
  # A new upstream "latest" image must not silently replace every VM:
  # upgrading the image is a deliberate change of url/file_name.
  overwrite = false
}

# bpg/proxmox 0.100 renamed proxmox_virtual_environment_download_file to
# proxmox_download_file (the old name is deprecated, removed in 1.0). The
# provider moves the state across (MoveResourceState, Terraform >= 1.8),
# so existing images are kept, not downloaded again.
moved {
  from = proxmox_virtual_environment_download_file.image
  to   = proxmox_download_file.image
}

resource "proxmox_virtual_environment_file" "user_data" {
  for_each = var.nodes

  node_name    = each.value.host
  content_type = "snippets"
  datastore_id = var.snippet_datastore_id

  source_raw {
    data      = var.user_data[each.key]
    file_name = "${each.key}-user-data.yaml"
  }
}

# The identity of one VM instance: a hash of every reason to rebuild it
# (its user-data, its host, the image, a fixed vm_id, the datastore, and
# `generation`, bumped to rebuild on purpose). terraform_data.instance is
# replaced when it changes, and replace_triggered_by below replaces the VM
# with it. The same value is kubeadm_cluster's per-node instance_id (output
# instance_ids): a new value tells it to expect a new SSH host key and an
# empty disk, remove the stale Node and etcd member, and join the node again.
#
# Why not the VM's own id: Proxmox reuses VM ids (a fixed vm_id, or the next
# free one), so a rebuilt VM often keeps its id; and anything the VM
# computes is unknown in the plan that replaces it, which would hide the
# node changes (and the quorum check) from the plan reviewers see.
# This hash is known at plan time.
#
# `placements` is the same list without the user-data (output
# rebuild_triggers): module kubernetes renders a node's user-data from new
# inputs only when the VM is rebuilt for one of these. Merging the two
# keeps the hash as it was (jsonencode sorts the keys), so no VM moves.
locals {
  placements = {
    for name, node in var.nodes : name => {
      host       = node.host
      vm_id      = node.vm_id
      image      = var.image.file_name
      datastore  = var.vm_datastore_id
      generation = node.generation
    }
  }
  instance_ids = {
    for name, placement in local.placements : name => sha256(jsonencode(merge(placement, {
      user_data = sha256(var.user_data[name])
    })))
  }
}

resource "terraform_data" "instance" {
  for_each = var.nodes

  input = local.instance_ids[each.key]
}

resource "proxmox_virtual_environment_vm" "node" {
  for_each = var.nodes

  name        = each.key
  description = "Kubernetes ${each.value.role}. Managed by Terraform (homelab); replaced, never edited by hand."
  tags        = sort(distinct(concat(var.tags, [each.value.role])))
  node_name   = each.value.host
  vm_id       = each.value.vm_id

  bios            = "ovmf"
  machine         = "virt"
  scsi_hardware   = "virtio-scsi-single"
  on_boot         = true
  started         = true
  stop_on_destroy = true

  agent {
    # qemu-guest-agent is installed and started by templates/user-data.yaml.tftpl.
    enabled = true
  }

  cpu {
    cores = each.value.cores
    type  = "host"
  }

  memory {
    dedicated = each.value.memory_mib
  }

  efi_disk {
    datastore_id = var.vm_datastore_id
    file_format  = "raw"
    type         = "4m"
  }

  disk {
    datastore_id = var.vm_datastore_id
    import_from  = proxmox_download_file.image[each.value.host].id
    interface    = "scsi0"
    file_format  = "raw"
    size         = each.value.disk_gib
    discard      = "on"
    iothread     = true
    ssd          = true
  }

  initialization {
    datastore_id      = var.vm_datastore_id
    interface         = "scsi1"
    user_data_file_id = proxmox_virtual_environment_file.user_data[each.key].id

    ip_config {
      ipv4 {
        address = "${each.value.address}/${var.prefix_length}"
        gateway = var.gateway
      }
    }

    dns {
      servers = var.dns_servers
    }
  }

  network_device {
    bridge = var.bridge
    model  = "virtio"
  }

  operating_system {
    type = "l26"
  }

  # Serial console: the cloud image logs boot and cloud-init there.
  serial_device {}

  vga {
    type = "serial0"
  }

  lifecycle {
    # Immutable infrastructure: a node whose user-data, host, image, vm_id,
    # datastore or generation changes is destroyed and created again, never
    # patched.
    replace_triggered_by = [terraform_data.instance[each.key]]
  }
}

output "instance_ids" {
  description = "Per node: a value that changes exactly when the VM is replaced (kubeadm_cluster's per-node instance_id). Known at plan time; iterates over the VMs, so whatever uses it waits until they exist."
  value       = { for name, vm in proxmox_virtual_environment_vm.node : name => local.instance_ids[name] }
}

output "vms" {
  description = "Per node: Proxmox host, VM id and static address."
  value = {
    for name, vm in proxmox_virtual_environment_vm.node : name => {
      host    = vm.node_name
      vm_id   = vm.vm_id
      address = var.nodes[name].address
    }
  }
}

output "rebuild_triggers" {
  description = "Per node: a hash of every reason to rebuild the VM except its user-data (host, image, a fixed vm_id, the datastore, generation). Known at plan time, before any VM exists; module kubernetes renders a node's user-data from new inputs only when it changes."
  value       = { for name, placement in local.placements : name => sha256(jsonencode(placement)) }
}

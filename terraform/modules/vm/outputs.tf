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

output "api_endpoint" {
  description = "Kubernetes API server URL (through the kube-vip VIP)."
  value       = module.kubernetes.api_endpoint
}

output "kubeconfig" {
  description = "Admin kubeconfig. `terraform output -raw kubeconfig > ~/.kube/homelab` on a trusted machine; never in CI logs."
  value       = module.kubernetes.kubeconfig
  sensitive   = true
}

output "nodes" {
  description = "Per node: Proxmox host, VM id and address."
  value       = module.vm.vms
}

output "user_data_sha256" {
  description = "SHA-256 of each node's user-data; a change replaces that VM."
  value       = module.kubernetes.user_data_sha256
}

output "built_versions" {
  description = "Per node: the Kubernetes version its VM was built with. A kubernetes_version bump upgrades the nodes in place and leaves this (and the VMs) alone; new and rebuilt nodes boot the current version."
  value       = module.kubernetes.built_versions
}

output "user_data_behind" {
  description = "Nodes whose VM was built with an older Kubernetes version (kubeadm_cluster has upgraded them in place) or /etc/hosts list than the configuration now gives. Nothing rebuilds them by itself; bump a node's generation, one control plane at a time, to rebuild it with the current ones."
  value       = module.kubernetes.user_data_behind
}

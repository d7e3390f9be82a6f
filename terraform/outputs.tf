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

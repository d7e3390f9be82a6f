output "host" {
  description = "The API server URL (through the VIP)."
  value       = kubeadm_cluster.lab.host
}

output "nodes_status" {
  description = "Per node: joined, ready, kubelet version, address."
  value       = kubeadm_cluster.lab.nodes_status
}

output "kubeconfig" {
  description = "Admin kubeconfig."
  value       = kubeadm_cluster.lab.kubeconfig
  sensitive   = true
}

output "demo_release" {
  description = "Status of the lab-demo release, when demo_chart is set."
  value       = one(helm_release.demo[*].status)
}

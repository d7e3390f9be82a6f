output "user_data" {
  description = "Rendered user-data per node (no secrets), for the VM snippets."
  value       = { for name, config in cloudinit_config.node : name => config.rendered }
}

output "user_data_sha256" {
  description = "SHA-256 of each node's user-data."
  value       = { for name, config in cloudinit_config.node : name => config.sha256 }
}

output "api_endpoint" {
  description = "Kubernetes API URL through the VIP."
  value       = "https://${var.api_vip}:${var.api_port}"
}

output "kubeconfig" {
  description = "Admin kubeconfig."
  value       = kubeadm_cluster.this.kubeconfig
  sensitive   = true
}

output "host" {
  description = "API server URL as kubeadm_cluster reports it (for provider configuration)."
  value       = kubeadm_cluster.this.host
}

output "cluster_ca_certificate" {
  description = "Cluster CA certificate (PEM)."
  value       = kubeadm_cluster.this.cluster_ca_certificate
}

output "client_certificate" {
  description = "Admin client certificate (PEM)."
  value       = kubeadm_cluster.this.client_certificate
}

output "client_key" {
  description = "Admin client key (PEM)."
  value       = kubeadm_cluster.this.client_key
  sensitive   = true
}

output "built_versions" {
  description = "Per node: the Kubernetes version its user-data was rendered at (the version its VM was built with; kubeadm_cluster upgrades it in place from there)."
  value       = { for name, built in terraform_data.built_with : name => built.input.kubernetes_version }
}

output "user_data_behind" {
  description = "Nodes whose VM was built with another Kubernetes version or /etc/hosts list than the current ones. They keep running as they are (kubeadm_cluster upgrades them in place); bump a node's generation to rebuild it with the current ones."
  value = sort([
    for name, built in terraform_data.built_with : name
    if built.input.kubernetes_version != var.kubernetes_version || built.input.hosts != local.hosts_line
  ])
}

output "cni" {
  description = "The installed CNI."
  value       = var.cni
}

output "argocd_namespace" {
  description = "Namespace of ArgoCD."
  value       = helm_release.argocd.namespace
}

output "root_application" {
  description = "Name of the root App of Apps."
  value       = helm_release.root_app.name
}

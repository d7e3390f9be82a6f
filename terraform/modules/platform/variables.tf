variable "cni" {
  description = "\"cilium\" (kube-proxy replacement, needs skip_kube_proxy on the cluster) or \"flannel\" (with kube-proxy)."
  type        = string
  default     = "cilium"

  validation {
    condition     = contains(["cilium", "flannel"], var.cni)
    error_message = "cni must be \"cilium\" or \"flannel\"."
  }
}

variable "api_vip" {
  description = "API VIP: Cilium's k8sServiceHost (without kube-proxy there is no kubernetes Service to reach first)."
  type        = string
}

variable "api_port" {
  description = "API port behind the VIP (Cilium's k8sServicePort)."
  type        = number
  default     = 6443
}

variable "pod_subnet" {
  description = "Pod CIDR (Flannel's podCidr; Cilium reads the per-node ranges from the Node objects)."
  type        = string
}

variable "chart_versions" {
  description = "Pinned chart versions: cilium, flannel, argo_cd, argocd_apps."
  type = object({
    cilium      = string
    flannel     = string
    argo_cd     = string
    argocd_apps = string
  })
}

variable "chart_repositories" {
  description = "Helm repository URLs of the bootstrap charts: cilium, flannel, argo (argo-cd and argocd-apps)."
  type = object({
    cilium  = string
    flannel = string
    argo    = string
  })
}

variable "argocd_namespace" {
  description = "Namespace ArgoCD runs in."
  type        = string
  default     = "argocd"
}

variable "root_application" {
  description = "The root App of Apps as an ArgoCD Application manifest (decoded gitops/root-app.yaml)."
  type        = any

  validation {
    condition     = try(var.root_application.kind, "") == "Application" && can(var.root_application.spec.source.path)
    error_message = "root_application must be an ArgoCD Application with spec.source.path."
  }
}

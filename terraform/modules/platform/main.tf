# Bootstrap stack, in order: the CNI (nodes become Ready), ArgoCD (installed
# once), the root App of Apps. Every pod gets memory requests and limits:
# the nodes have 2 GiB.

locals {
  cilium_values = {
    kubeProxyReplacement = true
    k8sServiceHost       = var.api_vip
    k8sServicePort       = var.api_port
    ipam                 = { mode = "kubernetes" }
    resources = {
      requests = { cpu = "100m", memory = "192Mi" }
      limits   = { memory = "512Mi" }
    }
    operator = {
      replicas = 1
      resources = {
        requests = { cpu = "25m", memory = "96Mi" }
        limits   = { memory = "256Mi" }
      }
    }
    envoy = {
      resources = {
        requests = { cpu = "25m", memory = "64Mi" }
        limits   = { memory = "256Mi" }
      }
    }
  }

  flannel_values = {
    podCidr = var.pod_subnet
    flannel = {
      resources = {
        requests = { cpu = "50m", memory = "50Mi" }
        limits   = { memory = "128Mi" }
      }
    }
  }

  small = {
    requests = { cpu = "25m", memory = "64Mi" }
    limits   = { memory = "192Mi" }
  }

  argocd_values = {
    dex           = { enabled = false }
    notifications = { resources = local.small }
    redis         = { resources = local.small }
    server        = { resources = { requests = { cpu = "50m", memory = "96Mi" }, limits = { memory = "256Mi" } } }
    repoServer    = { resources = { requests = { cpu = "50m", memory = "128Mi" }, limits = { memory = "384Mi" } } }
    controller = {
      resources = { requests = { cpu = "100m", memory = "256Mi" }, limits = { memory = "768Mi" } }
    }
    applicationSet = { resources = local.small }
  }

  root_app = var.root_application
}

resource "helm_release" "cilium" {
  count = var.cni == "cilium" ? 1 : 0

  name       = "cilium"
  repository = var.chart_repositories.cilium
  chart      = "cilium"
  version    = var.chart_versions.cilium
  namespace  = "kube-system"
  values     = [yamlencode(local.cilium_values)]
  wait       = true
  timeout    = 900
}

resource "helm_release" "flannel" {
  count = var.cni == "flannel" ? 1 : 0

  name             = "flannel"
  repository       = var.chart_repositories.flannel
  chart            = "flannel"
  version          = var.chart_versions.flannel
  namespace        = "kube-flannel"
  create_namespace = true
  values           = [yamlencode(local.flannel_values)]
  wait             = true
  timeout          = 600
}

# Installed once. After bootstrap ArgoCD manages itself (gitops/apps/
# argocd.yaml), so later edits here must not fight it: Terraform ignores
# every change to this release. To re-bootstrap, taint it.
resource "helm_release" "argocd" {
  name             = "argocd"
  repository       = var.chart_repositories.argo
  chart            = "argo-cd"
  version          = var.chart_versions.argo_cd
  namespace        = var.argocd_namespace
  create_namespace = true
  values           = [yamlencode(local.argocd_values)]
  wait             = true
  timeout          = 900

  depends_on = [helm_release.cilium, helm_release.flannel]

  lifecycle {
    ignore_changes = all
  }
}

# The root App of Apps, from gitops/root-app.yaml, through the argocd-apps
# chart (no CRD-typed resource is needed at plan time).
resource "helm_release" "root_app" {
  name       = "root-app"
  repository = var.chart_repositories.argo
  chart      = "argocd-apps"
  version    = var.chart_versions.argocd_apps
  namespace  = var.argocd_namespace
  values = [yamlencode({
    applications = {
      (local.root_app.metadata.name) = merge(
        { namespace = local.root_app.metadata.namespace },
        try({ finalizers = local.root_app.metadata.finalizers }, {}),
        local.root_app.spec,
      )
    }
  })]

  depends_on = [helm_release.argocd]
}

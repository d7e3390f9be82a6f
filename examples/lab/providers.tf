# The helm provider is configured from kubeadm_cluster's attributes, which
# are known at plan time (the provider generates the CA and the admin
# credentials while it plans), so a release can be planned and installed in
# the same apply that creates the cluster.
provider "helm" {
  kubernetes = {
    host                   = kubeadm_cluster.lab.host
    cluster_ca_certificate = kubeadm_cluster.lab.cluster_ca_certificate
    client_certificate     = kubeadm_cluster.lab.client_certificate
    client_key             = kubeadm_cluster.lab.client_key
  }
}

//! The name of every `kubeadm_cluster` attribute, written once: the
//! schema, the configuration reader, the checks and the state writers use
//! these, so a rename cannot leave one of them behind.

/// Computed: the control plane endpoint.
pub const ID: &str = "id";
/// kubeadm `clusterName`.
pub const CLUSTER_NAME: &str = "cluster_name";
/// The Kubernetes release.
pub const KUBERNETES_VERSION: &str = "kubernetes_version";
/// `host:port` of the API server VIP.
pub const CONTROL_PLANE_ENDPOINT: &str = "control_plane_endpoint";
/// Pod CIDR.
pub const POD_SUBNET: &str = "pod_subnet";
/// Service CIDR.
pub const SERVICE_SUBNET: &str = "service_subnet";
/// Cluster DNS domain.
pub const DNS_DOMAIN: &str = "dns_domain";
/// Extra API server certificate SANs.
pub const API_SERVER_CERT_SANS: &str = "api_server_cert_sans";
/// Leave kube-proxy out (Cilium replaces it).
pub const SKIP_KUBE_PROXY: &str = "skip_kube_proxy";
/// The control plane that runs `kubeadm init`.
pub const INIT_NODE: &str = "init_node";
/// Renewal window of the control-plane certificates.
pub const RENEW_CERTIFICATES_BEFORE: &str = "renew_certificates_before";
/// What `terraform destroy` does to the nodes.
pub const DESTROY_MODE: &str = "destroy_mode";
/// The nodes, by name.
pub const NODES: &str = "nodes";
/// `nodes[*].role`.
pub const ROLE: &str = "role";
/// `nodes[*].address`, `kube_vip.address`.
pub const ADDRESS: &str = "address";
/// `nodes[*].labels`.
pub const LABELS: &str = "labels";
/// `nodes[*].taints`.
pub const TAINTS: &str = "taints";
/// `nodes[*].taints[*].key`.
pub const KEY: &str = "key";
/// `nodes[*].taints[*].value`.
pub const VALUE: &str = "value";
/// `nodes[*].taints[*].effect`.
pub const EFFECT: &str = "effect";
/// `nodes[*].instance_id`.
pub const INSTANCE_ID: &str = "instance_id";
/// Block: YAML merged into kubeadm's documents.
pub const KUBEADM_CONFIG_PATCHES: &str = "kubeadm_config_patches";
/// `kubeadm_config_patches.init_configuration`.
pub const INIT_CONFIGURATION: &str = "init_configuration";
/// `kubeadm_config_patches.cluster_configuration`.
pub const CLUSTER_CONFIGURATION: &str = "cluster_configuration";
/// `kubeadm_config_patches.join_configuration`.
pub const JOIN_CONFIGURATION: &str = "join_configuration";
/// `kubeadm_config_patches.kubelet_configuration`.
pub const KUBELET_CONFIGURATION: &str = "kubelet_configuration";
/// `kubeadm_config_patches.upgrade_configuration`.
pub const UPGRADE_CONFIGURATION: &str = "upgrade_configuration";
/// Block: kube-vip holding the VIP.
pub const KUBE_VIP: &str = "kube_vip";
/// `kube_vip.interface`.
pub const INTERFACE: &str = "interface";
/// `kube_vip.image`.
pub const IMAGE: &str = "image";
/// Block: how the provider reaches the nodes.
pub const SSH: &str = "ssh";
/// `ssh.user`, `ssh.bastion.user`.
pub const USER: &str = "user";
/// `ssh.port`, `ssh.bastion.port`.
pub const PORT: &str = "port";
/// `ssh.private_key`, `ssh.bastion.private_key`.
pub const PRIVATE_KEY: &str = "private_key";
/// `ssh.host_keys`.
pub const HOST_KEYS: &str = "host_keys";
/// `ssh.trust_on_first_use`.
pub const TRUST_ON_FIRST_USE: &str = "trust_on_first_use";
/// Block: `ssh.bastion`.
pub const BASTION: &str = "bastion";
/// `ssh.bastion.host`; computed `host` (`https://` + endpoint).
pub const HOST: &str = "host";
/// `ssh.bastion.host_key`.
pub const HOST_KEY: &str = "host_key";
/// Block: operation time limits.
pub const TIMEOUTS: &str = "timeouts";
/// `timeouts.create`.
pub const CREATE: &str = "create";
/// `timeouts.update`.
pub const UPDATE: &str = "update";
/// `timeouts.delete`.
pub const DELETE: &str = "delete";
/// Block: how nodes are drained.
pub const DRAIN: &str = "drain";
/// `drain.timeout`.
pub const TIMEOUT: &str = "timeout";
/// `drain.force`.
pub const FORCE: &str = "force";
/// `drain.delete_emptydir_data`.
pub const DELETE_EMPTYDIR_DATA: &str = "delete_emptydir_data";
/// Block: how an upgrade rolls through the workers.
pub const UPGRADE: &str = "upgrade";
/// `upgrade.max_unavailable`.
pub const MAX_UNAVAILABLE: &str = "max_unavailable";
/// Computed: the admin kubeconfig.
pub const KUBECONFIG: &str = "kubeconfig";
/// Computed: the cluster CA.
pub const CLUSTER_CA_CERTIFICATE: &str = "cluster_ca_certificate";
/// Computed: the admin client certificate.
pub const CLIENT_CERTIFICATE: &str = "client_certificate";
/// Computed: the admin client key.
pub const CLIENT_KEY: &str = "client_key";
/// Computed: the discovery hash of the CA.
pub const CA_CERT_HASH: &str = "ca_cert_hash";
/// Computed: each node as the API reports it.
pub const NODES_STATUS: &str = "nodes_status";
/// Computed: host keys recorded on first use.
pub const SSH_HOST_KEYS: &str = "ssh_host_keys";
/// Computed: when each control plane's certificates expire.
pub const CERTIFICATES_EXPIRE: &str = "certificates_expire";

/// Attributes only the provider sets.
pub const COMPUTED: [&str; 10] = [
    ID,
    KUBECONFIG,
    HOST,
    CLUSTER_CA_CERTIFICATE,
    CLIENT_CERTIFICATE,
    CLIENT_KEY,
    CA_CERT_HASH,
    NODES_STATUS,
    SSH_HOST_KEYS,
    CERTIFICATES_EXPIRE,
];

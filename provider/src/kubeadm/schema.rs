//! The `kubeadm_cluster` schema: inputs, the computed credentials known at
//! plan time, and the plan rule of every attribute.

use super::attributes as attr;
use super::model::defaults;
use crate::framework::schema::{NestedBlock, Nesting};
use crate::framework::{Attribute, Block, PlanRule, Schema};
use crate::value::{Number, Type, Value};

/// Attributes only the provider sets.
pub use super::attributes::COMPUTED;

/// The object type of one `nodes_status` entry.
pub fn node_status_type() -> Type {
    Type::Object(
        [
            ("joined", Type::Bool),
            ("ready", Type::Bool),
            ("kubelet_version", Type::String),
            ("address", Type::String),
            ("unschedulable", Type::Bool),
            ("container_runtime", Type::String),
        ]
        .into_iter()
        .map(|(k, t)| (k.to_string(), t))
        .collect(),
    )
}

/// Cluster identity: changing it means a different cluster.
fn identity(attribute: Attribute) -> Attribute {
    attribute.plan(PlanRule::RequiresReplace)
}

fn ssh_block() -> Block {
    let bastion = Block::new("A jump host: nodes are reached through it (SSH `direct-tcpip`).")
        .attribute(Attribute::string(attr::HOST).required().description("Bastion address."))
        .attribute(
            Attribute::number(attr::PORT).default_value(Value::Number(Number::Int(22))).description("Bastion SSH port."),
        )
        .attribute(
            Attribute::string(attr::USER).default_value(Value::string(defaults::SSH_USER)).description("Bastion user."),
        )
        .attribute(
            Attribute::string(attr::PRIVATE_KEY)
                .sensitive()
                .description("Key for the bastion; defaults to the nodes' key (or the agent)."),
        )
        .attribute(Attribute::string(attr::HOST_KEY).required().description(
            "The bastion's host key (`ssh-ed25519 AAAA...`). Always required: `trust_on_first_use` covers the nodes only, since every connection's first hop must be verified, not accepted.",
        ));
    Block::new("How the provider reaches the nodes. Host keys are verified.")
        .attribute(
            Attribute::string(attr::USER)
                .default_value(Value::string(defaults::SSH_USER))
                .description("SSH user; commands run through `sudo -n` unless it is `root`."),
        )
        .attribute(Attribute::number(attr::PORT).default_value(Value::Number(Number::Int(22))).description("SSH port."))
        .attribute(Attribute::string(attr::PRIVATE_KEY).sensitive().description(
            "Private key (OpenSSH or PEM, unencrypted). Left out: the SSH agent at `SSH_AUTH_SOCK`.",
        ))
        .attribute(Attribute::string_map(attr::HOST_KEYS).description(
            "Host public key per node name (`ssh-ed25519 AAAA...`). Every node needs one unless `trust_on_first_use` is set.",
        ))
        .attribute(Attribute::bool(attr::TRUST_ON_FIRST_USE).default_value(Value::Bool(false)).description(
            "Accept the key a node offers the first time and record it in `ssh_host_keys`; verified from then on. Never the bastion's: its `host_key` is required.",
        ))
        .block(NestedBlock::single(attr::BASTION, bastion))
}

/// The schema version: 1 since `nodes` became a map of nested attributes
/// (version 0 stored it as a dynamic value; see `upgrade`).
pub const SCHEMA_VERSION: i64 = 1;

/// One taint: `key`, an optional `value`, and the `effect` (default `NoSchedule`).
fn taint_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string(attr::KEY).required().description("Taint key (label-key syntax)."),
        Attribute::string(attr::VALUE).description("Taint value; may be left out."),
        Attribute::string(attr::EFFECT).description("`NoSchedule` (when left out), `PreferNoSchedule` or `NoExecute`."),
    ]
}

/// `nodes`: a map of nested attributes, so Terraform type-checks each entry
/// and `providers schema -json` shows its shape.
pub fn nodes_attribute() -> Attribute {
    let node = vec![
        Attribute::string(attr::ROLE).required().description("`control-plane` or `worker`."),
        Attribute::string(attr::ADDRESS)
            .required()
            .description("The SSH target and kubelet's `node-ip` (never the VIP)."),
        Attribute::string_map(attr::LABELS)
            .description("Node labels, applied through the API and changed in place. A label removed here is removed from the Node; labels set by anyone else stay."),
        Attribute::nested(attr::TAINTS, Nesting::List, taint_attributes()).description(
            "Taints registered at join and changed in place. Left out on a control plane: kubeadm's `node-role.kubernetes.io/control-plane:NoSchedule`; `[]` means none. A taint removed here is removed from the Node; taints set by anyone else (`kubectl taint`, cordon, controllers) stay.",
        ),
        Attribute::string(attr::INSTANCE_ID).description(
            "Anything that changes when the VM is replaced (its id, or the `sha256` of its user-data): a change means a new host key and an empty disk, so the stale Node and etcd member are removed and the node joins again.",
        ),
    ];
    Attribute::nested(attr::NODES, Nesting::Map, node).required().description(
        "Nodes by name (the Kubernetes node name). Adding or removing an entry joins or removes exactly that node.",
    )
}

/// The resource schema.
pub fn schema() -> Schema {
    let patches = Block::new(
        "YAML deep-merged into the generated kubeadm v1beta4 documents (maps merge, lists replace, null removes). Keys the provider owns (tokens, endpoints, node names, networking) are refused at plan time. Init and cluster patches only matter at creation; join patches apply to nodes joined from then on.",
    )
    .attribute(Attribute::string(attr::INIT_CONFIGURATION).description("YAML merged into the InitConfiguration."))
    .attribute(Attribute::string(attr::CLUSTER_CONFIGURATION).description("YAML merged into the ClusterConfiguration."))
    .attribute(Attribute::string(attr::JOIN_CONFIGURATION).description("YAML merged into every JoinConfiguration."))
    .attribute(Attribute::string(attr::KUBELET_CONFIGURATION).description("YAML merged into the KubeletConfiguration."))
    .attribute(Attribute::string(attr::UPGRADE_CONFIGURATION).description(
        "YAML merged into the UpgradeConfiguration of `kubeadm upgrade plan`, `apply` and `node` (e.g. `apply.ignorePreflightErrors`, `node.etcdUpgrade`).",
    ));
    let kube_vip = Block::new(
        "kube-vip in ARP mode holding the API server VIP: a static pod on every control plane. On the init node it uses `super-admin.conf` during `kubeadm init` (kubeadm >= 1.29 grants `admin.conf` its rights only after init) and `admin.conf` afterwards.",
    )
    .attribute(Attribute::string(attr::ADDRESS).required().description("The VIP; the host of `control_plane_endpoint`."))
    .attribute(Attribute::string(attr::INTERFACE).required().description("The nodes' interface for ARP, e.g. `eth0`."))
    .attribute(
        Attribute::string(attr::IMAGE)
            .default_value(Value::string(defaults::KUBE_VIP_IMAGE))
            .description("kube-vip image (multi-arch, arm64 included)."),
    );
    let timeouts = Block::new("Operation time limits, e.g. `30m`.")
        .attribute(Attribute::string(attr::CREATE).description("Default `30m`."))
        .attribute(Attribute::string(attr::UPDATE).description("Default `30m`."))
        .attribute(Attribute::string(attr::DELETE).description("Default `10m`."));
    let drain = Block::new(
        "How a node is drained before it leaves the cluster, as `kubectl drain --ignore-daemonsets`: the node is cordoned and its pods evicted through the Eviction API (DaemonSet and static pods stay), so PodDisruptionBudgets are honoured. Pods that an eviction would lose for good are refused before the node is cordoned, unless allowed here.",
    )
    .attribute(Attribute::string(attr::TIMEOUT).description(
        "How long evictions a PodDisruptionBudget refuses (HTTP 429) are retried, and evicted pods waited for. Default `5m`.",
    ))
    .attribute(Attribute::bool(attr::FORCE).description(
        "Also delete pods that no controller owns (they are not recreated anywhere). Default `false`.",
    ))
    .attribute(Attribute::bool(attr::DELETE_EMPTYDIR_DATA).description(
        "Also evict pods with `emptyDir` volumes (their data is lost). Default `false`.",
    ));
    let upgrade = Block::new(
        "How a `kubernetes_version` change rolls through the nodes: the control planes one at a time (`kubeadm upgrade apply` on the first, `kubeadm upgrade node` on the others), then the workers in batches, each node drained (see `drain`), upgraded (packages, kubeadm, kubelet restart), uncordoned and checked healthy before the next.",
    )
    .attribute(Attribute::number(attr::MAX_UNAVAILABLE).description(
        "How many workers are upgraded at once (each drained first). Default `1`.",
    ));
    let block = Block::new(
        "A kubeadm cluster bootstrapped and maintained over SSH: `kubeadm init` on one control plane, the other control planes joined one at a time, workers in parallel; nodes added, removed and re-joined by later applies. The cluster CAs and admin credentials are generated at plan time, so `host`, `cluster_ca_certificate`, `client_certificate` and `client_key` are known in the plan and can configure the helm and kubernetes providers in the same apply.",
    )
    .attribute(Attribute::string(attr::ID).computed().plan(PlanRule::UseStateForUnknown).description("The control plane endpoint."))
    .attribute(identity(
        Attribute::string(attr::CLUSTER_NAME).default_value(Value::string(defaults::CLUSTER_NAME)).description("kubeadm `clusterName`."),
    ))
    .attribute(Attribute::string(attr::KUBERNETES_VERSION).required().description(
        "Exact version, e.g. `1.35.0`; kubeadm on every node must match when it joins. Raising it upgrades the cluster in place, node by node (see `upgrade`): any newer patch, or the next minor (one minor per change, as the Kubernetes version skew policy requires). Downgrades are refused. The plan shows the nodes still to upgrade as unknown in `nodes_status`.",
    ))
    .attribute(identity(Attribute::string(attr::CONTROL_PLANE_ENDPOINT).required().description(
        "`VIP:6443`: where nodes and clients reach the API server.",
    )))
    .attribute(identity(Attribute::string(attr::POD_SUBNET).default_value(Value::string(defaults::POD_SUBNET)).description("Pod CIDR.")))
    .attribute(identity(
        Attribute::string(attr::SERVICE_SUBNET).default_value(Value::string(defaults::SERVICE_SUBNET)).description("Service CIDR."),
    ))
    .attribute(identity(
        Attribute::string(attr::DNS_DOMAIN).default_value(Value::string(defaults::DNS_DOMAIN)).description("Cluster DNS domain."),
    ))
    .attribute(identity(Attribute::string_list(attr::API_SERVER_CERT_SANS).description(
        "Extra names and addresses in the API server certificate (the VIP is always included).",
    )))
    .attribute(identity(Attribute::bool(attr::SKIP_KUBE_PROXY).default_value(Value::Bool(false)).description(
        "Skip the kube-proxy addon (for Cilium's kube-proxy replacement).",
    )))
    .attribute(nodes_attribute())
    .attribute(Attribute::string(attr::INIT_NODE).optional_computed().plan(PlanRule::UseStateForUnknown).description(
        "The control plane that runs `kubeadm init`. Default: the first control plane in name order. Only used at creation.",
    ))
    .attribute(Attribute::string(attr::RENEW_CERTIFICATES_BEFORE).description(
        "Renew a control plane's kubeadm certificates (`kubeadm certs renew all`, then its static pods restarted, one control plane at a time) in the first apply once less than this is left of them, per `certificates_expire`. Default `2160h` (90 days); `0s` turns renewal off (for clusters that renew on the nodes, see `cloudinit_config`'s `kubeadm_certificate_renewal`). Must be shorter than the certificates' lifetime (kubeadm's `certificateValidityPeriod`, default `8760h`).",
    ))
    .attribute(Attribute::string(attr::DESTROY_MODE).default_value(Value::string(defaults::DESTROY_MODE)).description(
        "`reset`: `kubeadm reset` every node on destroy. `forget`: only drop the state.",
    ))
    .attribute(Attribute::string(attr::KUBECONFIG).computed().sensitive().description("Admin kubeconfig (client certificate)."))
    .attribute(Attribute::string(attr::HOST).computed().description("`https://` + `control_plane_endpoint`."))
    .attribute(Attribute::string(attr::CLUSTER_CA_CERTIFICATE).computed().description("Cluster CA certificate (PEM)."))
    .attribute(Attribute::string(attr::CLIENT_CERTIFICATE).computed().description(
        "Admin client certificate (PEM), group `kubeadm:cluster-admins`; renewed 30 days before it expires.",
    ))
    .attribute(Attribute::string(attr::CLIENT_KEY).computed().sensitive().description("Admin client key (PEM)."))
    .attribute(Attribute::string(attr::CA_CERT_HASH).computed().description("`sha256:...` discovery hash of the cluster CA."))
    .attribute(Attribute::of_type(attr::NODES_STATUS, Type::map(node_status_type())).computed().description(
        "Per node, from the API server at refresh: `joined`, `ready`, `kubelet_version`, `address`, `unschedulable` (cordoned) and `container_runtime` (e.g. `containerd://1.7.24`). Unknown in a plan for the nodes the apply joins or upgrades.",
    ))
    .attribute(Attribute::string_map(attr::SSH_HOST_KEYS).computed().description(
        "The host key each node presented, verified on every later connection.",
    ))
    .attribute(Attribute::string_map(attr::CERTIFICATES_EXPIRE).computed().description(
        "Per control plane, when its kubeadm certificates expire (RFC 3339, UTC), read at refresh from its API server's serving certificate in the TLS handshake (no SSH). Unknown in a plan for the control planes whose certificates the apply renews or that join.",
    ))
    .block(NestedBlock::single(attr::KUBEADM_CONFIG_PATCHES, patches))
    .block(NestedBlock::single(attr::KUBE_VIP, kube_vip))
    .block(NestedBlock::single(attr::SSH, ssh_block()))
    .block(NestedBlock::single(attr::DRAIN, drain))
    .block(NestedBlock::single(attr::UPGRADE, upgrade))
    .block(NestedBlock::single(attr::TIMEOUTS, timeouts));
    Schema { version: SCHEMA_VERSION, block }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_plan_rule_of_the_schema_is_applied() {
        assert_eq!(crate::framework::plan::unapplied_plan_rules(&super::schema().block), Vec::<String>::new());
    }
}

//! The resource's configuration as typed Rust values, and the plan-time
//! checks that name the attribute at fault. Values may be unknown at
//! validate time: every check looks only at what is known.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::attributes as attr;
use super::config::{ClusterSpec, NodeSpec, Role};
use super::field_rules::is_dns_subdomain;
use super::kube_vip::KubeVip;
use super::patches::{self, ConfigPatches};
use crate::framework::Diagnostics;
use crate::value::{AttributePath, Value};

/// Defaults, shared by the schema and the parser.
pub mod defaults {
    /// kubeadm's default cluster name.
    pub const CLUSTER_NAME: &str = "kubernetes";
    /// Flannel's and Cilium's (cluster-pool) usual pod range.
    pub const POD_SUBNET: &str = "10.244.0.0/16";
    /// kubeadm's default service range.
    pub const SERVICE_SUBNET: &str = "10.96.0.0/12";
    /// kubeadm's default DNS domain.
    pub const DNS_DOMAIN: &str = "cluster.local";
    /// A multi-arch (amd64, arm64) kube-vip release.
    pub const KUBE_VIP_IMAGE: &str = "ghcr.io/kube-vip/kube-vip:v0.9.2";
    /// The Debian cloud image's user.
    pub const SSH_USER: &str = "debian";
    /// `destroy_mode` default.
    pub const DESTROY_MODE: &str = "reset";
    /// Create timeout.
    pub const CREATE_TIMEOUT: &str = "30m";
    /// Update timeout.
    pub const UPDATE_TIMEOUT: &str = "30m";
    /// Delete timeout.
    pub const DELETE_TIMEOUT: &str = "10m";
    /// How long one node's drain may take (`drain.timeout`).
    pub const DRAIN_TIMEOUT: &str = "5m";
    /// `renew_certificates_before`: 90 days, as kubeadm's own advice and
    /// cert-manager's default of renewing at two thirds of a year.
    pub const RENEW_CERTIFICATES_BEFORE: &str = "2160h";
    /// kubeadm's `certificateValidityPeriod`.
    pub const CERTIFICATE_VALIDITY: &str = "8760h";
}

/// What `terraform destroy` does to the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestroyMode {
    /// `kubeadm reset` and clean every node.
    Reset,
    /// Only drop the resource from state.
    Forget,
}

/// A jump host.
#[derive(Debug, Clone)]
pub struct Bastion {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub private_key: Option<String>,
    pub host_key: Option<String>,
}

/// How to reach the nodes.
#[derive(Debug, Clone)]
pub struct SshSettings {
    pub user: String,
    pub port: u16,
    /// PEM; `None` means the SSH agent at `SSH_AUTH_SOCK`.
    pub private_key: Option<String>,
    /// Host keys by node name (`type base64`).
    pub host_keys: BTreeMap<String, String>,
    pub trust_on_first_use: bool,
    pub bastion: Option<Bastion>,
}

/// One node of the configuration.
#[derive(Debug, Clone)]
pub struct Node {
    pub spec: NodeSpec,
    /// Changes whenever the VM is replaced (expect a new host key, join again).
    pub instance_id: Option<String>,
}

/// Operation time limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

/// How nodes are drained before they leave (`drain`), as `kubectl drain
/// --ignore-daemonsets` with `--timeout`, `--force` and
/// `--delete-emptydir-data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainSettings {
    /// How long evictions refused by a PodDisruptionBudget are retried and
    /// evicted pods are waited for.
    pub timeout: Duration,
    /// Delete pods that no controller owns (they are not recreated).
    pub force: bool,
    /// Evict pods with emptyDir volumes (their data is lost).
    pub delete_emptydir_data: bool,
}

/// How a `kubernetes_version` change rolls through the workers (`upgrade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeSettings {
    /// Workers upgraded at once, each drained first.
    pub max_unavailable: usize,
}

/// The whole configuration, wholly known.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub spec: ClusterSpec,
    pub nodes: BTreeMap<String, Node>,
    pub init_node: String,
    pub kube_vip: Option<KubeVip>,
    pub ssh: SshSettings,
    pub timeouts: Timeouts,
    pub drain: DrainSettings,
    pub upgrade: UpgradeSettings,
    /// Renew a control plane's certificates once less than this is left
    /// (zero: never).
    pub renew_certificates_before: Duration,
    pub destroy_mode: DestroyMode,
}

impl Cluster {
    /// Control planes in name order.
    pub fn control_planes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.spec.role == Role::ControlPlane)
    }

    /// Workers in name order.
    pub fn workers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.spec.role == Role::Worker)
    }

    /// `https://host:port` of the API server.
    pub fn server_url(&self) -> String {
        format!("https://{}", self.spec.control_plane_endpoint)
    }
}

/// An entry of an object (a node, a taint); null when absent.
pub fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    value.as_map().and_then(|m| m.get(name)).unwrap_or(&NULL)
}

/// The string entries of a map or object.
pub fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_map()
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

/// Parses `role`; `None` for anything else.
pub fn parse_role(role: &str) -> Option<Role> {
    match role {
        "control-plane" => Some(Role::ControlPlane),
        "worker" => Some(Role::Worker),
        _ => None,
    }
}

/// The name used in configuration for a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::ControlPlane => "control-plane",
        Role::Worker => "worker",
    }
}

/// Reads the node map of a configuration or a state.
///
/// # Errors
/// A node value that breaks its rule, on its attribute.
pub fn parse_nodes(value: &Value) -> Result<BTreeMap<String, Node>, Diagnostics> {
    let (nodes, diags) = super::read::read_nodes(value);
    if diags.has_errors() { Err(diags) } else { Ok(nodes) }
}

/// The default init node: the first control plane in name order.
pub fn default_init_node(nodes: &BTreeMap<String, Node>) -> Option<String> {
    nodes.values().find(|n| n.spec.role == Role::ControlPlane).map(|n| n.spec.name.clone())
}

/// Reads a configuration, plan or state into a [`Cluster`]; values not
/// known yet read as placeholders (see [`super::read`]).
///
/// # Errors
/// Every value that breaks its attribute's rule, on that attribute.
pub fn parse(config: &Value) -> Result<Cluster, Diagnostics> {
    let (cluster, diags) = super::read::read(config);
    if diags.has_errors() { Err(diags) } else { Ok(cluster) }
}

/// The leaf certificates' lifetime the cluster configuration patch sets
/// (`certificateValidityPeriod`), or kubeadm's default.
fn certificate_validity(config: &Value) -> Option<f64> {
    let patch = config.get(attr::KUBEADM_CONFIG_PATCHES).get(attr::CLUSTER_CONFIGURATION);
    let configured = patch.as_str().and_then(|text| {
        let docs = yaml_rust2::YamlLoader::load_from_str(text).ok()?;
        let period = docs.first()?.as_hash()?.get(&yaml_rust2::Yaml::String("certificateValidityPeriod".into()))?;
        period.as_str().map(str::to_owned)
    });
    super::field_rules::go_duration_seconds(configured.as_deref().unwrap_or(defaults::CERTIFICATE_VALIDITY))
}

/// The renewal window against the certificates' lifetime.
fn validate_renewal(config: &Value, diags: &mut Diagnostics) {
    let attribute = AttributePath::attr(attr::RENEW_CERTIFICATES_BEFORE);
    let Some(text) = config.get(attr::RENEW_CERTIFICATES_BEFORE).as_str() else { return };
    // A text that is no duration is the reader's error.
    let Some(before) = parse_duration(text) else { return };
    if let Some(lifetime) = certificate_validity(config).filter(|l| *l > 0.0 && before.as_secs_f64() >= *l) {
        diags.attribute_error(
            attribute,
            "Renewal window longer than the certificates live",
            format!(
                "{text:?} is not shorter than the certificates' lifetime ({}h, kubeadm's certificateValidityPeriod): freshly renewed certificates would be due again, and every apply would renew them. Choose a window shorter than the lifetime.",
                lifetime / 3600.0
            ),
        );
    }
}

/// Go-style durations as Terraform users write them: `90s`, `30m`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    if text.is_empty() {
        return None;
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
    }
    digits.is_empty().then(|| Duration::from_secs(total))
}

/// An IPv4/IPv6 CIDR.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn cidr_contains((net, len): (IpAddr, u8), ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn cidrs_overlap(a: (IpAddr, u8), b: (IpAddr, u8)) -> bool {
    cidr_contains(a, b.0) || cidr_contains(b, a.0)
}

/// `host:port` with a numeric port.
pub fn split_endpoint(endpoint: &str) -> Option<(&str, u16)> {
    let (host, port) = endpoint.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port > 0).then_some((host, port))
}

/// Kubernetes label key: optional DNS prefix, then a name of up to 63 characters.
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain)
        && !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A Kubernetes label value: empty, or up to 63 alphanumerics, '-', '_', '.'.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Checks the known parts of `config`: each attribute's own rule (the
/// reader's, [`super::read`]) and the rules across attributes; every error
/// names its attribute.
pub fn validate(config: &Value) -> Diagnostics {
    let (cluster, mut diags) = super::read::read(config);
    let known = |name: &str| config.get(name).as_str().map(str::to_string);
    // The subnets that parse; one that does not is the reader's error.
    let subnets: Vec<(&str, (IpAddr, u8))> = [attr::POD_SUBNET, attr::SERVICE_SUBNET]
        .into_iter()
        .filter_map(|name| Some((name, parse_cidr(&known(name)?)?)))
        .collect();
    // The patches, once every one of them is known.
    let patches = config.get(attr::KUBEADM_CONFIG_PATCHES);
    let patch_set = (patches.is_wholly_known() && !patches.is_null()).then_some(cluster.spec.patches);
    check_subnet_sizes(&subnets, patch_set.as_ref(), &mut diags);
    if let [(_, pods), (_, services)] = subnets[..] {
        if cidrs_overlap(pods, services) {
            diags.attribute_error(
                AttributePath::attr(attr::SERVICE_SUBNET),
                "Subnets overlap",
                "service_subnet and pod_subnet must not overlap: Services and Pods would get the same addresses.",
            );
        }
    }
    validate_renewal(config, &mut diags);
    validate_nodes(config, &subnets, &mut diags);
    validate_kube_vip(config, &subnets, &mut diags);
    validate_ssh(config, &mut diags);
    if let Some(patch_set) = &patch_set {
        let minor =
            known(attr::KUBERNETES_VERSION).and_then(|v| super::config::parse_version(&v)).map(|(_, minor, _)| minor);
        for problem in patches::validate_patches(patch_set, minor) {
            diags.attribute_error(
                AttributePath::attr(attr::KUBEADM_CONFIG_PATCHES).with_attr(problem.field),
                problem.summary,
                problem.detail,
            );
        }
    }
    diags
}

/// kubeadm's networking rules (`ValidateNetworking`): a Service subnet of
/// at least 10 addresses and at most 20 host bits (it is a bitmap in
/// etcd); a Pod subnet of at least 14 addresses that the controller
/// manager can cut into node ranges (`--node-cidr-mask-size-ipv4/-ipv6`,
/// default /24 and /64): at least one, and at most 16 bits' worth.
fn check_subnet_sizes(subnets: &[(&str, (IpAddr, u8))], patch_set: Option<&ConfigPatches>, diags: &mut Diagnostics) {
    let args = patch_set.map(patches::controller_manager_args).unwrap_or_default();
    // kubeadm's GetArgValue takes the last occurrence.
    let arg = |name: &str| args.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    for &(name, (ip, len)) in subnets {
        let bits: u8 = if ip.is_ipv4() { 32 } else { 128 };
        let host_bits = bits - len;
        let at = AttributePath::attr(name);
        let minimum: u64 = if name == attr::SERVICE_SUBNET { 10 } else { 14 };
        if host_bits < 64 && (1u64 << host_bits) < minimum {
            diags.attribute_error(
                at.clone(),
                "Subnet too small",
                format!("/{len} holds {} addresses; kubeadm needs at least {minimum}.", 1u64 << host_bits),
            );
        }
        if name == attr::SERVICE_SUBNET && host_bits > 20 {
            diags.attribute_error(
                at,
                "Service subnet too large",
                format!(
                    "/{len} is too large: kubeadm allows at most 20 host bits (a mask of at least /{}).",
                    bits - 20
                ),
            );
        } else if name == attr::POD_SUBNET && arg("allocate-node-cidrs").as_deref() != Some("false") {
            check_pod_subnet_node_mask(len, ip.is_ipv4(), arg, diags);
        }
    }
}

fn check_pod_subnet_node_mask(len: u8, ipv4: bool, arg: impl Fn(&str) -> Option<String>, diags: &mut Diagnostics) {
    let (flag, default) = if ipv4 { ("node-cidr-mask-size-ipv4", 24) } else { ("node-cidr-mask-size-ipv6", 64) };
    let at = AttributePath::attr(attr::POD_SUBNET);
    let node_mask = match arg(flag) {
        None => default,
        Some(text) => match text.parse::<u8>() {
            Ok(mask) => mask,
            Err(_) => {
                let detail = format!("controllerManager extraArgs {flag}={text:?} must be a number.");
                diags.attribute_error(at, "Invalid node mask size", detail);
                return;
            }
        },
    };
    if len > node_mask {
        let detail = format!("pod_subnet /{len} is smaller than one node's range (/{node_mask}, {flag}).");
        diags.attribute_error(at, "Pod subnet too small", detail);
    } else if node_mask - len > 16 {
        let detail = format!(
            "pod_subnet /{len} holds more than 65536 node ranges of /{node_mask} ({flag}); kubeadm allows a difference of at most 16 bits."
        );
        diags.attribute_error(at, "Pod subnet too large", detail);
    }
}

/// Rules across the nodes: addresses outside the cluster subnets and not
/// shared, at least one control plane, `init_node` one of them.
fn validate_nodes(config: &Value, subnets: &[(&str, (IpAddr, u8))], diags: &mut Diagnostics) {
    let nodes_value = config.get(attr::NODES);
    let Some(map) = nodes_value.as_map() else {
        if nodes_value.is_null() {
            diags.attribute_error(
                AttributePath::attr(attr::NODES),
                "No nodes",
                "nodes must name at least one control plane.",
            );
        }
        return;
    };
    let mut addresses: BTreeMap<String, String> = BTreeMap::new();
    let mut control_planes = BTreeSet::new();
    let mut roles_known = true;
    for (name, node) in map {
        let path = AttributePath::attr(attr::NODES).with_key(name.clone());
        // An unknown entry (from a module output) is checked at apply.
        if node.as_map().is_none() {
            roles_known = false;
            continue;
        }
        match field(node, attr::ROLE) {
            Value::String(role) if parse_role(role) == Some(Role::ControlPlane) => {
                control_planes.insert(name.clone());
            }
            Value::String(_) | Value::Null => {}
            _ => roles_known = false,
        }
        // An address that is no IP is the reader's error.
        let Some(address) = field(node, attr::ADDRESS).as_str() else { continue };
        let Ok(ip) = address.parse::<IpAddr>() else { continue };
        for (subnet_name, net) in subnets {
            if cidr_contains(*net, ip) {
                diags.attribute_error(
                    path.with_attr(attr::ADDRESS),
                    "Node address inside a cluster subnet",
                    format!("{address} lies inside {subnet_name}; pick subnets that do not contain the node network."),
                );
            }
        }
        if let Some(other) = addresses.insert(address.to_string(), name.clone()) {
            diags.attribute_error(
                path.with_attr(attr::ADDRESS),
                "Duplicate node address",
                format!("{address} is also the address of node {other:?}; every node needs its own."),
            );
        }
    }
    if !roles_known {
        return;
    }
    if control_planes.is_empty() {
        diags.attribute_error(
            AttributePath::attr(attr::NODES),
            "No control plane",
            "nodes must have at least one node with role = \"control-plane\".",
        );
    }
    if let Some(init) = config.get(attr::INIT_NODE).as_str() {
        if !control_planes.contains(init) {
            diags.attribute_error(
                AttributePath::attr(attr::INIT_NODE),
                "init_node is not a control plane",
                format!("{init:?} must name a node of `nodes` with role = \"control-plane\"."),
            );
        }
    }
}

/// kube-vip in ARP mode moves one address between the control planes and
/// forwards nothing: the VIP must be the endpoint's host, the endpoint's
/// port the API server's own (6443, which the manifest gives kube-vip),
/// and the address one no node or cluster subnet already uses, in the
/// nodes' address family.
fn validate_kube_vip(config: &Value, subnets: &[(&str, (IpAddr, u8))], diags: &mut Diagnostics) {
    // An address that is no IP is the reader's error.
    let vip = config.get(attr::KUBE_VIP).get(attr::ADDRESS).as_str().and_then(|a| a.parse::<IpAddr>().ok());
    if let Some(ip) = vip {
        check_vip_address(config, ip, subnets, diags);
    }
}

fn check_vip_address(config: &Value, vip: IpAddr, subnets: &[(&str, (IpAddr, u8))], diags: &mut Diagnostics) {
    let at = AttributePath::attr(attr::KUBE_VIP).with_attr(attr::ADDRESS);
    let endpoint = config.get(attr::CONTROL_PLANE_ENDPOINT).as_str().and_then(split_endpoint);
    if let Some((host, port)) = endpoint {
        if host.parse::<IpAddr>() != Ok(vip) {
            diags.attribute_error(
                at.clone(),
                "VIP differs from the control plane endpoint",
                format!("kube-vip would hold {vip} while control_plane_endpoint names {host}; nodes would join through an address nobody answers."),
            );
        } else if i64::from(port) != super::config::BIND_PORT {
            diags.attribute_error(
                AttributePath::attr(attr::CONTROL_PLANE_ENDPOINT),
                "Endpoint port is not the API server's",
                format!("kube-vip in ARP mode only moves {vip}; it forwards nothing, so the endpoint's port must be the API server's port {} (not {port}).", super::config::BIND_PORT),
            );
        }
    }
    for &(name, net) in subnets {
        if cidr_contains(net, vip) {
            diags.attribute_error(
                at.clone(),
                "VIP inside a cluster subnet",
                format!("{vip} lies inside {name}; the VIP must be on the nodes' network."),
            );
        }
    }
    for (node, address) in node_addresses(config) {
        if address == vip {
            diags.attribute_error(
                at.clone(),
                "VIP is a node's address",
                format!("{vip} is the address of node {node:?}; kube-vip needs an address of its own, or that node loses its own when the VIP moves."),
            );
        } else if address.is_ipv4() != vip.is_ipv4() {
            diags.attribute_error(
                at.clone(),
                "VIP in another address family",
                format!("{vip} and node {node:?}'s address {address} are not of one family; kube-vip announces the VIP on the nodes' own network."),
            );
            return;
        }
    }
}

/// Nodes whose address is known and parses.
fn node_addresses(config: &Value) -> Vec<(String, IpAddr)> {
    let Some(map) = config.get(attr::NODES).as_map() else { return Vec::new() };
    map.iter()
        .filter_map(|(name, node)| Some((name.clone(), field(node, attr::ADDRESS).as_str()?.parse().ok()?)))
        .collect()
}

/// The `ssh` block is there, every node has a host key unless trusted on
/// first use, and there is a key or an agent.
fn validate_ssh(config: &Value, diags: &mut Diagnostics) {
    let ssh = config.get(attr::SSH);
    let path = AttributePath::attr(attr::SSH);
    let host_keys = ssh.get(attr::HOST_KEYS);
    if ssh.is_null() {
        diags.attribute_error(
            path,
            "Missing ssh block",
            "kubeadm_cluster reaches its nodes over SSH: add an `ssh` block with `user` and `private_key` (or run an SSH agent).",
        );
        return;
    }
    // Host keys are verified by default: every node needs one unless the
    // user asked for trust-on-first-use.
    let tofu = ssh.get(attr::TRUST_ON_FIRST_USE);
    if tofu.as_bool() == Some(false) || (tofu.is_null()) {
        if let (Some(nodes), true) = (config.get(attr::NODES).as_map(), host_keys.is_wholly_known()) {
            let known = host_keys.as_map();
            let missing: Vec<&str> =
                nodes.keys().filter(|name| known.is_none_or(|m| !m.contains_key(*name))).map(String::as_str).collect();
            if !missing.is_empty() {
                diags.attribute_error(
                    path.with_attr(attr::HOST_KEYS),
                    "Missing host keys",
                    format!(
                        "No host key for {}. Host keys are verified: add each node's key (ssh-keyscan, or the VM's cloud-init output) to ssh.host_keys, or set ssh.trust_on_first_use = true to record the key offered on first contact.",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
    if ssh.get(attr::PRIVATE_KEY).is_null() && std::env::var_os("SSH_AUTH_SOCK").is_none() {
        diags.attribute_error(
            path.with_attr(attr::PRIVATE_KEY),
            "No SSH credentials",
            "Set ssh.private_key, or run an SSH agent and export SSH_AUTH_SOCK for Terraform.",
        );
    }
}

/// The agent socket when no private key is given.
pub fn agent_socket() -> Option<PathBuf> {
    std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_terraform_timeouts() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("3d"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn cidrs_and_overlap() {
        let pods = parse_cidr("10.244.0.0/16").unwrap();
        let services = parse_cidr("10.96.0.0/12").unwrap();
        assert!(!cidrs_overlap(pods, services));
        assert!(cidrs_overlap(parse_cidr("10.0.0.0/8").unwrap(), services));
        assert!(cidr_contains(pods, "10.244.3.4".parse().unwrap()));
        assert!(parse_cidr("10.244.0.0/33").is_none());
    }

    #[test]
    fn label_rules() {
        assert!(is_label_key("node-role.kubernetes.io/worker"));
        assert!(is_label_key("topology.kubernetes.io/zone"));
        assert!(!is_label_key("-bad"));
        assert!(!is_label_key("a/b/c"));
        assert!(is_label_value(""));
        assert!(!is_label_value("has space"));
    }
}

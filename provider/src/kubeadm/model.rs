//! The resource's configuration as typed Rust values, and the plan-time
//! checks that name the attribute at fault. Values may be unknown at
//! validate time: every check looks only at what is known.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::config::{ClusterSpec, NodeSpec, Role, Taint};
use super::field_rules::{is_cert_san, is_dns_subdomain};
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

/// The oldest kubeadm minor that reads v1beta4 configuration files.
const OLDEST_MINOR: u32 = 31;

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

fn text(value: &Value, name: &str, default: &str) -> String {
    value.get(name).as_str().unwrap_or(default).to_string()
}

/// An entry of an object (a node, a taint); null when absent.
pub fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    value.as_map().and_then(|m| m.get(name)).unwrap_or(&NULL)
}

/// A string, or a number written as one (`instance_id = 104`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_text()),
        _ => None,
    }
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

fn parse_taints(value: &Value) -> Option<Vec<Taint>> {
    let items = value.as_slice()?;
    Some(
        items
            .iter()
            .map(|t| Taint {
                key: scalar_text(field(t, "key")).unwrap_or_default(),
                value: scalar_text(field(t, "value")),
                effect: scalar_text(field(t, "effect")).unwrap_or_else(|| "NoSchedule".into()),
            })
            .collect(),
    )
}

/// Parses the node map (which must be known).
pub fn parse_nodes(value: &Value) -> BTreeMap<String, Node> {
    let mut nodes = BTreeMap::new();
    for (name, node) in value.as_map().into_iter().flatten() {
        let spec = NodeSpec {
            name: name.clone(),
            role: parse_role(field(node, "role").as_str().unwrap_or("")).unwrap_or(Role::Worker),
            address: scalar_text(field(node, "address")).unwrap_or_default(),
            labels: string_map(field(node, "labels")),
            taints: parse_taints(field(node, "taints")),
        };
        nodes.insert(name.clone(), Node { spec, instance_id: scalar_text(field(node, "instance_id")) });
    }
    nodes
}

/// The default init node: the first control plane in name order.
pub fn default_init_node(nodes: &BTreeMap<String, Node>) -> Option<String> {
    nodes.values().find(|n| n.spec.role == Role::ControlPlane).map(|n| n.spec.name.clone())
}

/// Parses a wholly known configuration (run [`validate`] first).
pub fn parse(config: &Value) -> Cluster {
    let nodes = parse_nodes(config.get("nodes"));
    let init_node =
        config.get("init_node").as_str().map(str::to_string).or_else(|| default_init_node(&nodes)).unwrap_or_default();
    let spec = ClusterSpec {
        cluster_name: text(config, "cluster_name", defaults::CLUSTER_NAME),
        kubernetes_version: text(config, "kubernetes_version", ""),
        control_plane_endpoint: text(config, "control_plane_endpoint", ""),
        pod_subnet: text(config, "pod_subnet", defaults::POD_SUBNET),
        service_subnet: text(config, "service_subnet", defaults::SERVICE_SUBNET),
        dns_domain: text(config, "dns_domain", defaults::DNS_DOMAIN),
        api_server_cert_sans: config.get("api_server_cert_sans").as_string_vec().unwrap_or_default(),
        skip_kube_proxy: config.get("skip_kube_proxy").as_bool().unwrap_or(false),
        patches: patches_of(config.get("kubeadm_config_patches")),
    };
    let vip = config.get("kube_vip");
    let kube_vip = (!vip.is_null()).then(|| KubeVip {
        address: text(vip, "address", ""),
        interface: text(vip, "interface", ""),
        image: text(vip, "image", defaults::KUBE_VIP_IMAGE),
    });
    let ssh = config.get("ssh");
    let bastion = ssh.get("bastion");
    let port = |v: &Value| v.get("port").as_i64().and_then(|p| u16::try_from(p).ok()).unwrap_or(22);
    let ssh = SshSettings {
        user: text(ssh, "user", defaults::SSH_USER),
        port: port(ssh),
        private_key: ssh.get("private_key").as_str().map(str::to_string),
        host_keys: string_map(ssh.get("host_keys")),
        trust_on_first_use: ssh.get("trust_on_first_use").as_bool().unwrap_or(false),
        bastion: (!bastion.is_null()).then(|| Bastion {
            host: text(bastion, "host", ""),
            port: port(bastion),
            user: text(bastion, "user", defaults::SSH_USER),
            private_key: bastion.get("private_key").as_str().map(str::to_string),
            host_key: bastion.get("host_key").as_str().map(str::to_string),
        }),
    };
    let timeouts = config.get("timeouts");
    let limit = |name: &str, default: &str| {
        parse_duration(timeouts.get(name).as_str().unwrap_or(default))
            .unwrap_or_else(|| parse_duration(default).unwrap_or(Duration::from_secs(1800)))
    };
    Cluster {
        spec,
        nodes,
        init_node,
        kube_vip,
        ssh,
        timeouts: Timeouts {
            create: limit("create", defaults::CREATE_TIMEOUT),
            update: limit("update", defaults::UPDATE_TIMEOUT),
            delete: limit("delete", defaults::DELETE_TIMEOUT),
        },
        drain: drain_settings(config.get("drain")),
        upgrade: UpgradeSettings { max_unavailable: max_unavailable(config).unwrap_or(1) },
        renew_certificates_before: renew_certificates_before(config),
        destroy_mode: if config.get("destroy_mode").as_str() == Some("forget") {
            DestroyMode::Forget
        } else {
            DestroyMode::Reset
        },
    }
}

/// The `drain` block; validate() has refused a bad timeout already.
fn drain_settings(block: &Value) -> DrainSettings {
    let default = parse_duration(defaults::DRAIN_TIMEOUT).unwrap_or(Duration::from_secs(300));
    DrainSettings {
        timeout: block.get("timeout").as_str().and_then(parse_duration).unwrap_or(default),
        force: block.get("force").as_bool().unwrap_or(false),
        delete_emptydir_data: block.get("delete_emptydir_data").as_bool().unwrap_or(false),
    }
}

/// `upgrade.max_unavailable` when it is a whole number of at least 1
/// (validate() refuses anything else).
fn max_unavailable(config: &Value) -> Option<usize> {
    let value = config.get("upgrade").get("max_unavailable");
    value.as_i64().filter(|n| *n >= 1).and_then(|n| usize::try_from(n).ok())
}

/// `renew_certificates_before`; validate() has refused a bad one already.
fn renew_certificates_before(config: &Value) -> Duration {
    let text = config.get("renew_certificates_before").as_str().unwrap_or(defaults::RENEW_CERTIFICATES_BEFORE);
    parse_duration(text).unwrap_or(Duration::from_secs(90 * 86_400))
}

/// The leaf certificates' lifetime the cluster configuration patch sets
/// (`certificateValidityPeriod`), or kubeadm's default.
fn certificate_validity(config: &Value) -> Option<f64> {
    let patch = config.get("kubeadm_config_patches").get("cluster_configuration");
    let configured = patch.as_str().and_then(|text| {
        let docs = yaml_rust2::YamlLoader::load_from_str(text).ok()?;
        let period = docs.first()?.as_hash()?.get(&yaml_rust2::Yaml::String("certificateValidityPeriod".into()))?;
        period.as_str().map(str::to_owned)
    });
    super::field_rules::go_duration_seconds(configured.as_deref().unwrap_or(defaults::CERTIFICATE_VALIDITY))
}

fn validate_renewal(config: &Value, diags: &mut Diagnostics) {
    let attribute = AttributePath::attr("renew_certificates_before");
    let Some(text) = config.get("renew_certificates_before").as_str() else { return };
    let Some(before) = parse_duration(text) else {
        diags.attribute_error(
            attribute,
            "Invalid duration",
            format!("{text:?} must be a duration such as \"2160h\" (90 days), or \"0s\" to turn renewal off."),
        );
        return;
    };
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
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
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
fn is_label_key(key: &str) -> bool {
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

fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Checks the known parts of `config`; every error names its attribute.
pub fn validate(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let at = AttributePath::attr;
    let known = |name: &str| config.get(name).as_str().map(str::to_string);

    if let Some(name) = known("cluster_name") {
        if !is_dns_subdomain(&name) || name.contains('.') {
            diags.attribute_error(
                at("cluster_name"),
                "Invalid cluster name",
                format!("{name:?} must be a DNS label: lowercase letters, digits and '-', at most 63 characters."),
            );
        }
    }
    if let Some(version) = known("kubernetes_version") {
        match super::config::parse_version(&version) {
            Some((1, minor, _)) if minor >= OLDEST_MINOR => {}
            _ => diags.attribute_error(
                at("kubernetes_version"),
                "Unsupported Kubernetes version",
                format!(
                    "{version:?} must be an exact release such as \"1.35.0\" (kubeadm 1.{OLDEST_MINOR} or newer, which reads v1beta4 configuration)."
                ),
            ),
        }
    }
    if let Some(endpoint) = known("control_plane_endpoint").filter(|endpoint| split_endpoint(endpoint).is_none()) {
        diags.attribute_error(
            at("control_plane_endpoint"),
            "Invalid control plane endpoint",
            format!("{endpoint:?} must be \"HOST:PORT\", e.g. \"192.168.100.200:6443\" (the kube-vip address)."),
        );
    }
    let mut subnets = Vec::new();
    for name in ["pod_subnet", "service_subnet"] {
        if let Some(cidr) = known(name) {
            match parse_cidr(&cidr) {
                Some(net) => subnets.push((name, net)),
                None => diags.attribute_error(
                    at(name),
                    "Invalid CIDR",
                    format!("{cidr:?} must be a CIDR such as \"10.244.0.0/16\"."),
                ),
            }
        }
    }
    let patch_set = known_patches(config);
    check_subnet_sizes(&subnets, patch_set.as_ref(), &mut diags);
    check_cert_sans(config, &mut diags);
    if let [(_, pods), (_, services)] = subnets[..] {
        if cidrs_overlap(pods, services) {
            diags.attribute_error(
                at("service_subnet"),
                "Subnets overlap",
                "service_subnet and pod_subnet must not overlap: Services and Pods would get the same addresses.",
            );
        }
    }
    if let Some(domain) = known("dns_domain") {
        if !is_dns_subdomain(&domain) {
            diags.attribute_error(at("dns_domain"), "Invalid DNS domain", format!("{domain:?} is not a DNS domain."));
        }
    }
    if let Some(mode) = known("destroy_mode") {
        if mode != "reset" && mode != "forget" {
            diags.attribute_error(
                at("destroy_mode"),
                "Invalid destroy mode",
                format!("{mode:?} must be \"reset\" (kubeadm reset every node) or \"forget\" (only drop the state)."),
            );
        }
    }
    for (block, name) in [("timeouts", "create"), ("timeouts", "update"), ("timeouts", "delete"), ("drain", "timeout")]
    {
        if let Some(text) = config.get(block).get(name).as_str() {
            if parse_duration(text).is_none_or(|d| d.is_zero()) {
                diags.attribute_error(
                    at(block).with_attr(name),
                    "Invalid duration",
                    format!("{text:?} must be a duration such as \"30m\", \"1h\" or \"1h30m\"."),
                );
            }
        }
    }
    let workers_at_once = config.get("upgrade").get("max_unavailable");
    if !workers_at_once.is_null() && workers_at_once.is_wholly_known() && max_unavailable(config).is_none() {
        diags.attribute_error(
            at("upgrade").with_attr("max_unavailable"),
            "Invalid number of workers",
            "max_unavailable must be a whole number of at least 1: how many workers are drained and upgraded at once.",
        );
    }
    validate_renewal(config, &mut diags);
    validate_nodes(config, &subnets, &mut diags);
    validate_kube_vip(config, &subnets, &mut diags);
    validate_ssh(config, &mut diags);
    if let Some(patch_set) = &patch_set {
        let minor =
            known("kubernetes_version").and_then(|v| super::config::parse_version(&v)).map(|(_, minor, _)| minor);
        for problem in patches::validate_patches(patch_set, minor) {
            diags.attribute_error(
                at("kubeadm_config_patches").with_attr(problem.field),
                problem.summary,
                problem.detail,
            );
        }
    }
    diags
}

/// The patches, once every one of them is known.
fn known_patches(config: &Value) -> Option<ConfigPatches> {
    let patches = config.get("kubeadm_config_patches");
    (patches.is_wholly_known() && !patches.is_null()).then(|| patches_of(patches))
}

/// The `kubeadm_config_patches` block's texts.
fn patches_of(patches: &Value) -> ConfigPatches {
    let p = |name: &str| patches.get(name).as_str().map(str::to_string);
    ConfigPatches {
        init_configuration: p("init_configuration"),
        cluster_configuration: p("cluster_configuration"),
        join_configuration: p("join_configuration"),
        kubelet_configuration: p("kubelet_configuration"),
        upgrade_configuration: p("upgrade_configuration"),
    }
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
        let minimum: u64 = if name == "service_subnet" { 10 } else { 14 };
        if host_bits < 64 && (1u64 << host_bits) < minimum {
            diags.attribute_error(
                at.clone(),
                "Subnet too small",
                format!("/{len} holds {} addresses; kubeadm needs at least {minimum}.", 1u64 << host_bits),
            );
        }
        if name == "service_subnet" && host_bits > 20 {
            diags.attribute_error(
                at,
                "Service subnet too large",
                format!(
                    "/{len} is too large: kubeadm allows at most 20 host bits (a mask of at least /{}).",
                    bits - 20
                ),
            );
        } else if name == "pod_subnet" && arg("allocate-node-cidrs").as_deref() != Some("false") {
            check_pod_subnet_node_mask(len, ip.is_ipv4(), arg, diags);
        }
    }
}

fn check_pod_subnet_node_mask(len: u8, ipv4: bool, arg: impl Fn(&str) -> Option<String>, diags: &mut Diagnostics) {
    let (flag, default) = if ipv4 { ("node-cidr-mask-size-ipv4", 24) } else { ("node-cidr-mask-size-ipv6", 64) };
    let at = AttributePath::attr("pod_subnet");
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

/// Every extra API server SAN must be an IP, a DNS name or a wildcard name.
fn check_cert_sans(config: &Value, diags: &mut Diagnostics) {
    let Some(sans) = config.get("api_server_cert_sans").as_slice() else { return };
    for (i, san) in sans.iter().enumerate() {
        if let Some(name) = san.as_str().filter(|name| !is_cert_san(name)) {
            diags.attribute_error(
                AttributePath::attr("api_server_cert_sans").with_index(i),
                "Invalid certificate SAN",
                format!("{name:?} is not an IP address, a lowercase DNS name or a \"*.\" wildcard DNS name."),
            );
        }
    }
}

fn validate_nodes(config: &Value, subnets: &[(&str, (IpAddr, u8))], diags: &mut Diagnostics) {
    let nodes_value = config.get("nodes");
    let Some(map) = nodes_value.as_map() else {
        if nodes_value.is_null() {
            diags.attribute_error(
                AttributePath::attr("nodes"),
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
        let path = AttributePath::attr("nodes").with_key(name.clone());
        if !is_dns_subdomain(name) {
            diags.attribute_error(
                path.clone(),
                "Invalid node name",
                format!(
                    "{name:?} must be a lowercase RFC 1123 name (letters, digits, '-', '.'), as Kubernetes requires."
                ),
            );
        }
        // Terraform checks each entry against the nested attributes; an
        // unknown entry (from a module output) is checked at apply.
        if node.as_map().is_none() {
            roles_known = false;
            continue;
        }
        match field(node, "role") {
            Value::String(role) => match parse_role(role) {
                Some(Role::ControlPlane) => {
                    control_planes.insert(name.clone());
                }
                Some(Role::Worker) => {}
                None => diags.attribute_error(
                    path.with_attr("role"),
                    "Invalid node role",
                    format!("{role:?} must be \"control-plane\" or \"worker\"."),
                ),
            },
            Value::Null => {}
            _ => roles_known = false,
        }
        if let Some(address) = field(node, "address").as_str() {
            match address.parse::<IpAddr>() {
                Ok(ip) => {
                    for (subnet_name, net) in subnets {
                        if cidr_contains(*net, ip) {
                            diags.attribute_error(
                                path.with_attr("address"),
                                "Node address inside a cluster subnet",
                                format!("{address} lies inside {subnet_name}; pick subnets that do not contain the node network."),
                            );
                        }
                    }
                    if let Some(other) = addresses.insert(address.to_string(), name.clone()) {
                        diags.attribute_error(
                            path.with_attr("address"),
                            "Duplicate node address",
                            format!("{address} is also the address of node {other:?}; every node needs its own."),
                        );
                    }
                }
                Err(_) => diags.attribute_error(
                    path.with_attr("address"),
                    "Invalid node address",
                    format!("{address:?} must be the node's IP address (it becomes kubelet's node-ip)."),
                ),
            }
        }
        if let Some(labels) = field(node, "labels").as_map() {
            for (key, value) in labels {
                let ok_value = value.as_str().is_none_or(is_label_value);
                if !is_label_key(key) || !ok_value {
                    diags.attribute_error(
                        path.with_attr("labels").with_key(key.clone()),
                        "Invalid node label",
                        format!("{key:?}={value:?} is not a valid Kubernetes label (key: optional DNS prefix and '/', name of at most 63 alphanumerics, '-', '_', '.'; value likewise, may be empty)."),
                    );
                }
            }
        }
        if let Some(taints) = field(node, "taints").as_slice() {
            for (i, taint) in taints.iter().enumerate() {
                if let Some(effect) = field(taint, "effect").as_str() {
                    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
                        diags.attribute_error(
                            path.with_attr("taints").with_index(i).with_attr("effect"),
                            "Invalid taint effect",
                            format!("{effect:?} must be NoSchedule, PreferNoSchedule or NoExecute."),
                        );
                    }
                }
                if let Some(key) = field(taint, "key").as_str() {
                    if !is_label_key(key) {
                        diags.attribute_error(
                            path.with_attr("taints").with_index(i).with_attr("key"),
                            "Invalid taint key",
                            format!("{key:?} is not a valid taint key (same rules as label keys)."),
                        );
                    }
                }
            }
        }
    }
    if !roles_known {
        return;
    }
    if control_planes.is_empty() {
        diags.attribute_error(
            AttributePath::attr("nodes"),
            "No control plane",
            "nodes must have at least one node with role = \"control-plane\".",
        );
    }
    if let Some(init) = config.get("init_node").as_str() {
        if !control_planes.contains(init) {
            diags.attribute_error(
                AttributePath::attr("init_node"),
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
    let vip = config.get("kube_vip");
    let path = AttributePath::attr("kube_vip");
    if let Some(address) = vip.get("address").as_str() {
        match address.parse::<IpAddr>() {
            Err(_) => diags.attribute_error(
                path.with_attr("address"),
                "Invalid VIP",
                format!("{address:?} must be an IP address."),
            ),
            Ok(ip) => check_vip_address(config, ip, subnets, diags),
        }
    }
    if let Some(interface) = vip.get("interface").as_str() {
        if interface.is_empty() || interface.len() > 15 || interface.contains(['/', ' ']) {
            diags.attribute_error(
                path.with_attr("interface"),
                "Invalid network interface",
                format!("{interface:?} must be the nodes' interface name, e.g. \"eth0\" or \"ens18\"."),
            );
        }
    }
}

fn check_vip_address(config: &Value, vip: IpAddr, subnets: &[(&str, (IpAddr, u8))], diags: &mut Diagnostics) {
    let at = AttributePath::attr("kube_vip").with_attr("address");
    let endpoint = config.get("control_plane_endpoint").as_str().and_then(split_endpoint);
    if let Some((host, port)) = endpoint {
        if host.parse::<IpAddr>() != Ok(vip) {
            diags.attribute_error(
                at.clone(),
                "VIP differs from the control plane endpoint",
                format!("kube-vip would hold {vip} while control_plane_endpoint names {host}; nodes would join through an address nobody answers."),
            );
        } else if i64::from(port) != super::config::BIND_PORT {
            diags.attribute_error(
                AttributePath::attr("control_plane_endpoint"),
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
    let Some(map) = config.get("nodes").as_map() else { return Vec::new() };
    map.iter().filter_map(|(name, node)| Some((name.clone(), field(node, "address").as_str()?.parse().ok()?))).collect()
}

fn validate_ssh(config: &Value, diags: &mut Diagnostics) {
    let ssh = config.get("ssh");
    let path = AttributePath::attr("ssh");
    for (block, block_path) in [(ssh, path.clone()), (ssh.get("bastion"), path.with_attr("bastion"))] {
        if let Some(port) = block.get("port").as_i64() {
            if !(1..=65535).contains(&port) {
                diags.attribute_error(
                    block_path.with_attr("port"),
                    "Invalid port",
                    format!("{port} is not a TCP port."),
                );
            }
        }
        if let Some(key) = block.get("private_key").as_str() {
            if russh::keys::decode_secret_key(key, None).is_err() {
                diags.attribute_error(
                    block_path.with_attr("private_key"),
                    "Invalid SSH private key",
                    "private_key must be an unencrypted OpenSSH or PEM private key (e.g. file(\"~/.ssh/id_ed25519\") or a variable marked sensitive).",
                );
            }
        }
    }
    if let Some(key) = ssh.get("bastion").get("host_key").as_str() {
        if crate::ssh::parse_public_key(key).is_err() {
            diags.attribute_error(
                path.with_attr("bastion").with_attr("host_key"),
                "Invalid host key",
                "host_key must be a public key line such as \"ssh-ed25519 AAAA...\" (from /etc/ssh/ssh_host_ed25519_key.pub).",
            );
        }
    }
    let host_keys = ssh.get("host_keys");
    if let Some(map) = host_keys.as_map() {
        for (name, key) in map {
            if let Some(key) = key.as_str() {
                if crate::ssh::parse_public_key(key).is_err() {
                    diags.attribute_error(
                        path.with_attr("host_keys").with_key(name.clone()),
                        "Invalid host key",
                        format!("The host key for {name:?} must be a public key line such as \"ssh-ed25519 AAAA...\"."),
                    );
                }
            }
        }
    }
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
    let tofu = ssh.get("trust_on_first_use");
    if tofu.as_bool() == Some(false) || (tofu.is_null()) {
        if let (Some(nodes), true) = (config.get("nodes").as_map(), host_keys.is_wholly_known()) {
            let known = host_keys.as_map();
            let missing: Vec<&str> =
                nodes.keys().filter(|name| known.is_none_or(|m| !m.contains_key(*name))).map(String::as_str).collect();
            if !missing.is_empty() {
                diags.attribute_error(
                    path.with_attr("host_keys"),
                    "Missing host keys",
                    format!(
                        "No host key for {}. Host keys are verified: add each node's key (ssh-keyscan, or the VM's cloud-init output) to ssh.host_keys, or set ssh.trust_on_first_use = true to record the key offered on first contact.",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
    if ssh.get("private_key").is_null() && std::env::var_os("SSH_AUTH_SOCK").is_none() {
        diags.attribute_error(
            path.with_attr("private_key"),
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

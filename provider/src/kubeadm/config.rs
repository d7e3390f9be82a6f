//! kubeadm v1beta4 configuration files (the user's patches are in `patches`).
//!
//! The provider owns the fields that tie the cluster together (endpoint,
//! version, secrets, node identity); users may patch the rest of each
//! document with YAML or JSON, which is deep-merged: mappings merge key by
//! key, lists and scalars replace, and `null` removes a key (`patches`
//! checks them and merges them).
//!
//! Documents are built as [`crate::yaml::Yaml`] trees and written by the
//! crate's one emitter, which quotes every string a YAML 1.1 reader (Go's,
//! in kubeadm and kubectl) could take for a number, boolean, date or null.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::patches::{
    self, CLUSTER, ConfigPatches, INIT, JOIN, KUBEADM_API_VERSION, KUBELET, KUBELET_API_VERSION, PatchProblem, UPGRADE,
};
use super::pki;
use crate::yaml::{self, Yaml};
const CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";
/// The API server's port on every control plane (and kube-vip's).
pub const BIND_PORT: i64 = 6443;
pub const TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// A node's part in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    ControlPlane,
    Worker,
}

/// A node taint; `effect` is NoSchedule, PreferNoSchedule or NoExecute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: Option<String>,
    pub effect: String,
}

/// One node as kubeadm registers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub role: Role,
    pub address: String,
    /// Applied through the API after the node joins (the kubelet may not set
    /// `node-role.kubernetes.io/*` itself), so not rendered here.
    pub labels: BTreeMap<String, String>,
    /// `None` keeps kubeadm's default (control planes get the control-plane
    /// taint); `Some(vec![])` registers the node with no taints.
    pub taints: Option<Vec<Taint>>,
}

/// Cluster-wide settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    pub cluster_name: String,
    /// `1.35.0`; rendered as `v1.35.0`.
    pub kubernetes_version: String,
    /// `host:port` of the API server VIP or load balancer.
    pub control_plane_endpoint: String,
    pub pod_subnet: String,
    pub service_subnet: String,
    pub dns_domain: String,
    pub api_server_cert_sans: Vec<String>,
    pub skip_kube_proxy: bool,
    pub patches: ConfigPatches,
}

impl ClusterSpec {
    /// The minor of `kubernetes_version`, when it parses.
    pub fn kubernetes_minor(&self) -> Option<u32> {
        parse_version(&self.kubernetes_version).map(|(_, minor, _)| minor)
    }
}

/// Errors from rendering configuration files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One or more patches are invalid; each problem names its field.
    #[error("invalid kubeadm configuration patches: {}", join_problems(.0))]
    Patch(Vec<PatchProblem>),
    /// The Kubernetes version is not `MAJOR.MINOR.PATCH`.
    #[error("kubernetes version {0:?} is not of the form 1.35.0")]
    InvalidVersion(String),
    /// The control plane endpoint has no host part.
    #[error("control plane endpoint {0:?} is not host:port")]
    InvalidEndpoint(String),
    /// The bootstrap token is not `[a-z0-9]{{6}}.[a-z0-9]{{16}}` (the value is secret and not shown).
    #[error("the bootstrap token is malformed")]
    InvalidToken,
    /// The certificate key is not 64 lowercase hex characters (secret, not shown).
    #[error("the certificate key is malformed")]
    InvalidCertificateKey,
    /// A taint has an empty key or an effect kubeadm does not know.
    #[error("node {node:?}: invalid taint {key:?} with effect {effect:?} (NoSchedule, PreferNoSchedule or NoExecute)")]
    InvalidTaint { node: String, key: String, effect: String },
    /// A node has no address to advertise.
    #[error("node {0:?} has no address")]
    MissingAddress(String),
}

fn join_problems(problems: &[PatchProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// `MAJOR.MINOR.PATCH`, with or without a leading `v`.
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts = s.split('.');
    let mut next = || {
        let p = parts.next()?;
        // u32::from_str takes a leading '+', which a version must not have.
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let version = (next()?, next()?, next()?);
    parts.next().is_none().then_some(version)
}

/// The `kubeadm init --config` file for the init node: InitConfiguration,
/// ClusterConfiguration and KubeletConfiguration, with the patches merged.
pub fn init_config(
    spec: &ClusterSpec,
    node: &NodeSpec,
    bootstrap_token: &str,
    certificate_key: &str,
) -> Result<String, ConfigError> {
    check_patches(spec)?;
    check_secret(bootstrap_token, certificate_key)?;
    let mut init = map(vec![
        ("apiVersion", s(KUBEADM_API_VERSION)),
        ("kind", s(INIT.kind)),
        ("bootstrapTokens", list(vec![bootstrap_token_entry(bootstrap_token, "24h")])),
        ("certificateKey", s(certificate_key)),
        ("localAPIEndpoint", local_api_endpoint(node)?),
        ("nodeRegistration", node_registration(node)?),
    ]);
    if spec.skip_kube_proxy {
        insert(&mut init, "skipPhases", list(vec![s("addon/kube-proxy")]));
    }
    let init = patched(spec, init, &INIT, spec.patches.init_configuration.as_ref())?;
    let cluster = cluster_document(spec)?;
    let kubelet = kubelet_document(spec)?;
    Ok(emit_documents(&[init, cluster, kubelet]))
}

/// The `kubeadm join --config` file: JoinConfiguration (with a controlPlane
/// section for control planes) and a KubeletConfiguration. kubeadm join takes
/// the cluster-wide kubelet settings from the kubelet-config ConfigMap and
/// ignores the second document, which is kept for symmetry with init.
pub fn join_config(
    spec: &ClusterSpec,
    node: &NodeSpec,
    bootstrap_token: &str,
    ca_cert_hash: &str,
    certificate_key: Option<&str>,
) -> Result<String, ConfigError> {
    check_patches(spec)?;
    if !pki::is_bootstrap_token(bootstrap_token) {
        return Err(ConfigError::InvalidToken);
    }
    if certificate_key.is_some_and(|key| !pki::is_certificate_key(key)) {
        return Err(ConfigError::InvalidCertificateKey);
    }
    endpoint_host(&spec.control_plane_endpoint)?;
    let discovery = map(vec![(
        "bootstrapToken",
        map(vec![
            ("apiServerEndpoint", s(&spec.control_plane_endpoint)),
            ("token", s(bootstrap_token)),
            ("caCertHashes", list(vec![s(ca_cert_hash)])),
        ]),
    )]);
    let mut join = map(vec![
        ("apiVersion", s(KUBEADM_API_VERSION)),
        ("kind", s(JOIN.kind)),
        ("discovery", discovery),
        ("nodeRegistration", node_registration(node)?),
    ]);
    if node.role == Role::ControlPlane {
        let mut control_plane = map(vec![("localAPIEndpoint", local_api_endpoint(node)?)]);
        if let Some(key) = certificate_key {
            insert(&mut control_plane, "certificateKey", s(key));
        }
        insert(&mut join, "controlPlane", control_plane);
    }
    let join = patched(spec, join, &JOIN, spec.patches.join_configuration.as_ref())?;
    let kubelet = kubelet_document(spec)?;
    Ok(emit_documents(&[join, kubelet]))
}

/// InitConfiguration with the certificate key, plus the ClusterConfiguration,
/// for `kubeadm init phase upload-certs --upload-certs --config FILE` on
/// control plane `node`. Its advertise address is the node's: left out,
/// kubeadm takes the default route's interface, and fails on a node that
/// has no default route ("cannot use 0.0.0.0 as the bind address").
pub fn upload_certs_config(spec: &ClusterSpec, node: &NodeSpec, certificate_key: &str) -> Result<String, ConfigError> {
    check_patches(spec)?;
    if !pki::is_certificate_key(certificate_key) {
        return Err(ConfigError::InvalidCertificateKey);
    }
    let init = map(vec![
        ("apiVersion", s(KUBEADM_API_VERSION)),
        ("kind", s(INIT.kind)),
        ("certificateKey", s(certificate_key)),
        ("localAPIEndpoint", local_api_endpoint(node)?),
    ]);
    Ok(emit_documents(&[init, cluster_document(spec)?]))
}

/// The UpgradeConfiguration that `kubeadm upgrade plan`, `apply` and `node`
/// read (`--config`): the target version for plan and apply, merged with
/// the user's `upgrade_configuration` patch (preflight ignores, etcd and
/// certificate renewal switches). `upgrade node` takes its version from
/// the cluster, which `upgrade apply` moved.
pub fn upgrade_config(spec: &ClusterSpec) -> Result<String, ConfigError> {
    check_patches(spec)?;
    let (major, minor, patch) = parse_version(&spec.kubernetes_version)
        .ok_or_else(|| ConfigError::InvalidVersion(spec.kubernetes_version.clone()))?;
    let version = format!("v{major}.{minor}.{patch}");
    let doc = map(vec![
        ("apiVersion", s(KUBEADM_API_VERSION)),
        ("kind", s(UPGRADE.kind)),
        ("apply", map(vec![("kubernetesVersion", s(&version))])),
        ("plan", map(vec![("kubernetesVersion", s(&version))])),
    ]);
    let doc = patched(spec, doc, &UPGRADE, spec.patches.upgrade_configuration.as_ref())?;
    Ok(emit_documents(&[doc]))
}

fn check_patches(spec: &ClusterSpec) -> Result<(), ConfigError> {
    let problems = patches::validate_patches(&spec.patches, spec.kubernetes_minor());
    if problems.is_empty() { Ok(()) } else { Err(ConfigError::Patch(problems)) }
}

fn check_secret(bootstrap_token: &str, certificate_key: &str) -> Result<(), ConfigError> {
    if !pki::is_bootstrap_token(bootstrap_token) {
        return Err(ConfigError::InvalidToken);
    }
    if !pki::is_certificate_key(certificate_key) {
        return Err(ConfigError::InvalidCertificateKey);
    }
    Ok(())
}

/// The host part of `host:port`, `[v6]:port`, a bare host or a bare IPv6 address.
fn endpoint_host(endpoint: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidEndpoint(endpoint.to_owned());
    let host = if let Some(rest) = endpoint.strip_prefix('[') {
        rest.split_once(']').ok_or_else(invalid)?.0
    } else if endpoint.parse::<IpAddr>().is_ok() {
        endpoint
    } else {
        endpoint.rsplit_once(':').map_or(endpoint, |(host, _)| host)
    };
    if host.is_empty() { Err(invalid()) } else { Ok(host.to_owned()) }
}

fn bootstrap_token_entry(token: &str, ttl: &str) -> Yaml {
    map(vec![
        ("token", s(token)),
        ("ttl", s(ttl)),
        ("usages", list(vec![s("signing"), s("authentication")])),
        ("groups", list(vec![s(TOKEN_GROUP)])),
    ])
}

fn local_api_endpoint(node: &NodeSpec) -> Result<Yaml, ConfigError> {
    if node.address.is_empty() {
        return Err(ConfigError::MissingAddress(node.name.clone()));
    }
    Ok(map(vec![("advertiseAddress", s(&node.address)), ("bindPort", Yaml::Int(BIND_PORT))]))
}

fn node_registration(node: &NodeSpec) -> Result<Yaml, ConfigError> {
    if node.address.is_empty() {
        return Err(ConfigError::MissingAddress(node.name.clone()));
    }
    let mut reg = map(vec![
        ("name", s(&node.name)),
        ("criSocket", s(CRI_SOCKET)),
        // v1beta4 takes a list of {name, value}; v1beta3 took a map.
        ("kubeletExtraArgs", list(vec![map(vec![("name", s("node-ip")), ("value", s(&node.address))])])),
    ]);
    if let Some(taints) = &node.taints {
        let mut items = Vec::new();
        for t in taints {
            if t.key.is_empty() || !matches!(t.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
                return Err(ConfigError::InvalidTaint {
                    node: node.name.clone(),
                    key: t.key.clone(),
                    effect: t.effect.clone(),
                });
            }
            let mut item = map(vec![("key", s(&t.key))]);
            if let Some(value) = &t.value {
                insert(&mut item, "value", s(value));
            }
            insert(&mut item, "effect", s(&t.effect));
            items.push(item);
        }
        insert(&mut reg, "taints", list(items));
    }
    Ok(reg)
}

fn cluster_document(spec: &ClusterSpec) -> Result<Yaml, ConfigError> {
    let (major, minor, patch) = parse_version(&spec.kubernetes_version)
        .ok_or_else(|| ConfigError::InvalidVersion(spec.kubernetes_version.clone()))?;
    let mut sans = vec![endpoint_host(&spec.control_plane_endpoint)?];
    for san in &spec.api_server_cert_sans {
        if !sans.contains(san) {
            sans.push(san.clone());
        }
    }
    let mut doc = map(vec![
        ("apiVersion", s(KUBEADM_API_VERSION)),
        ("kind", s(CLUSTER.kind)),
        ("clusterName", s(&spec.cluster_name)),
        ("kubernetesVersion", s(&format!("v{major}.{minor}.{patch}"))),
        ("controlPlaneEndpoint", s(&spec.control_plane_endpoint)),
        ("certificatesDir", s("/etc/kubernetes/pki")),
        // Matches the P-256 CAs the provider places before init.
        ("encryptionAlgorithm", s("ECDSA-P256")),
        (
            "networking",
            map(vec![
                ("podSubnet", s(&spec.pod_subnet)),
                ("serviceSubnet", s(&spec.service_subnet)),
                ("dnsDomain", s(&spec.dns_domain)),
            ]),
        ),
        ("apiServer", map(vec![("certSANs", list(sans.iter().map(|v| s(v)).collect()))])),
    ]);
    if spec.skip_kube_proxy {
        // Recorded in the kubeadm-config ConfigMap, so `kubeadm upgrade`
        // does not install kube-proxy later either.
        insert(&mut doc, "proxy", map(vec![("disabled", Yaml::Bool(true))]));
    }
    patched(spec, doc, &CLUSTER, spec.patches.cluster_configuration.as_ref())
}

fn kubelet_document(spec: &ClusterSpec) -> Result<Yaml, ConfigError> {
    let doc =
        map(vec![("apiVersion", s(KUBELET_API_VERSION)), ("kind", s(KUBELET.kind)), ("cgroupDriver", s("systemd"))]);
    patched(spec, doc, &KUBELET, spec.patches.kubelet_configuration.as_ref())
}

fn patched(spec: &ClusterSpec, doc: Yaml, shape: &patches::Shape, patch: Option<&String>) -> Result<Yaml, ConfigError> {
    patches::apply(doc, shape, patch, spec.kubernetes_minor()).map_err(ConfigError::Patch)
}

fn emit_documents(docs: &[Yaml]) -> String {
    docs.iter().map(yaml::emit).collect::<Vec<_>>().join("---\n")
}

/// Document-building shorthands, shared with `kube_vip`.
pub(super) fn s(v: &str) -> Yaml {
    Yaml::str(v)
}

pub(super) fn list(items: Vec<Yaml>) -> Yaml {
    Yaml::Seq(items)
}

pub(super) fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
    Yaml::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn insert(doc: &mut Yaml, key: &str, value: Yaml) {
    if let Yaml::Map(m) = doc {
        m.insert(key.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use yaml_rust2::{Yaml, YamlLoader};

    use super::*;

    const TOKEN: &str = "abcdef.0123456789abcdef";
    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const HASH: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn spec() -> ClusterSpec {
        ClusterSpec {
            cluster_name: "homelab".into(),
            kubernetes_version: "1.35.0".into(),
            control_plane_endpoint: "192.168.100.200:6443".into(),
            pod_subnet: "10.244.0.0/16".into(),
            service_subnet: "10.96.0.0/12".into(),
            dns_domain: "cluster.local".into(),
            api_server_cert_sans: vec!["k8s.home.arpa".into(), "192.168.100.200".into()],
            skip_kube_proxy: false,
            patches: ConfigPatches::default(),
        }
    }

    fn node(name: &str, role: Role) -> NodeSpec {
        NodeSpec { name: name.into(), role, address: "192.168.100.11".into(), labels: BTreeMap::new(), taints: None }
    }

    fn docs(text: &str) -> Vec<Yaml> {
        YamlLoader::load_from_str(text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    fn find<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
        docs.iter().find(|d| d["kind"].as_str() == Some(kind)).unwrap_or_else(|| panic!("no {kind}"))
    }

    /// The lab simulator's strict decoding: top-level keys must be v1beta4 fields.
    fn assert_strict(docs: &[Yaml]) {
        for d in docs {
            let shape = match d["kind"].as_str() {
                Some("InitConfiguration") => &INIT,
                Some("ClusterConfiguration") => &CLUSTER,
                Some("JoinConfiguration") => &JOIN,
                Some("KubeletConfiguration") => {
                    assert_eq!(d["apiVersion"].as_str(), Some(KUBELET_API_VERSION));
                    continue;
                }
                other => panic!("unexpected kind {other:?}"),
            };
            assert_eq!(d["apiVersion"].as_str(), Some(KUBEADM_API_VERSION));
            let fields = shape.fields.expect("fields");
            for k in d.as_hash().expect("map").keys() {
                assert!(fields.contains(&k.as_str().expect("str")), "{k:?} in {:?}", d["kind"]);
            }
        }
    }

    fn problems_of(err: ConfigError) -> Vec<PatchProblem> {
        match err {
            ConfigError::Patch(p) => p,
            other => panic!("expected a patch error, got {other}"),
        }
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.35.0"), Some((1, 35, 0)));
        assert_eq!(parse_version("v1.35.2"), Some((1, 35, 2)));
        for bad in ["", "1.35", "1.35.0.1", "1.35.x", "1.+35.0", "v", "1..0", "1.35.0-rc.1", " 1.35.0"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn init_config_has_the_documents_and_fields() {
        let mut cp = node("cp-1", Role::ControlPlane);
        cp.taints = Some(vec![]);
        let text = init_config(&spec(), &cp, TOKEN, KEY).expect("render");
        let d = docs(&text);
        assert_eq!(d.len(), 3);
        assert_strict(&d);
        let init = find(&d, "InitConfiguration");
        assert_eq!(init["bootstrapTokens"][0]["token"].as_str(), Some(TOKEN));
        assert_eq!(init["bootstrapTokens"][0]["ttl"].as_str(), Some("24h"));
        assert_eq!(init["bootstrapTokens"][0]["usages"][1].as_str(), Some("authentication"));
        assert_eq!(init["bootstrapTokens"][0]["groups"][0].as_str(), Some(TOKEN_GROUP));
        assert_eq!(init["certificateKey"].as_str(), Some(KEY));
        assert_eq!(init["localAPIEndpoint"]["advertiseAddress"].as_str(), Some("192.168.100.11"));
        assert_eq!(init["localAPIEndpoint"]["bindPort"].as_i64(), Some(6443));
        let reg = &init["nodeRegistration"];
        assert_eq!(reg["name"].as_str(), Some("cp-1"));
        assert_eq!(reg["criSocket"].as_str(), Some(CRI_SOCKET));
        assert_eq!(reg["kubeletExtraArgs"][0]["name"].as_str(), Some("node-ip"));
        assert_eq!(reg["kubeletExtraArgs"][0]["value"].as_str(), Some("192.168.100.11"));
        assert_eq!(reg["taints"].as_vec().map(Vec::len), Some(0), "Some(empty) untaints");
        assert!(init["skipPhases"].is_badvalue());
        let cluster = find(&d, "ClusterConfiguration");
        assert_eq!(cluster["clusterName"].as_str(), Some("homelab"));
        assert_eq!(cluster["kubernetesVersion"].as_str(), Some("v1.35.0"));
        assert_eq!(cluster["controlPlaneEndpoint"].as_str(), Some("192.168.100.200:6443"));
        assert_eq!(cluster["networking"]["podSubnet"].as_str(), Some("10.244.0.0/16"));
        assert_eq!(cluster["networking"]["serviceSubnet"].as_str(), Some("10.96.0.0/12"));
        assert_eq!(cluster["networking"]["dnsDomain"].as_str(), Some("cluster.local"));
        assert_eq!(cluster["encryptionAlgorithm"].as_str(), Some("ECDSA-P256"));
        assert_eq!(cluster["certificatesDir"].as_str(), Some("/etc/kubernetes/pki"));
        let sans: Vec<_> =
            cluster["apiServer"]["certSANs"].as_vec().expect("sans").iter().map(|v| v.as_str()).collect();
        assert_eq!(sans, [Some("192.168.100.200"), Some("k8s.home.arpa")], "VIP first, deduplicated");
        let kubelet = find(&d, "KubeletConfiguration");
        assert_eq!(kubelet["cgroupDriver"].as_str(), Some("systemd"));
    }

    #[test]
    fn skip_kube_proxy_and_taints() {
        let mut sp = spec();
        sp.skip_kube_proxy = true;
        let mut cp = node("cp-1", Role::ControlPlane);
        cp.taints = Some(vec![
            Taint { key: "dedicated".into(), value: Some("infra".into()), effect: "NoSchedule".into() },
            Taint { key: "gpu".into(), value: None, effect: "PreferNoSchedule".into() },
        ]);
        let d = docs(&init_config(&sp, &cp, TOKEN, KEY).expect("render"));
        let init = find(&d, "InitConfiguration");
        assert_eq!(init["skipPhases"][0].as_str(), Some("addon/kube-proxy"));
        assert_eq!(find(&d, "ClusterConfiguration")["proxy"]["disabled"].as_bool(), Some(true));
        let taints = &init["nodeRegistration"]["taints"];
        assert_eq!(taints[0]["value"].as_str(), Some("infra"));
        assert!(taints[1]["value"].is_badvalue());
        assert_eq!(taints[1]["effect"].as_str(), Some("PreferNoSchedule"));
        // None leaves kubeadm's default: no taints key at all.
        let d = docs(&init_config(&sp, &node("cp-1", Role::ControlPlane), TOKEN, KEY).expect("render"));
        assert!(find(&d, "InitConfiguration")["nodeRegistration"]["taints"].is_badvalue());
        cp.taints = Some(vec![Taint { key: "x".into(), value: None, effect: "NoRun".into() }]);
        assert!(matches!(init_config(&sp, &cp, TOKEN, KEY), Err(ConfigError::InvalidTaint { .. })));
    }

    #[test]
    fn join_config_for_workers_and_control_planes() {
        let d = docs(&join_config(&spec(), &node("w-1", Role::Worker), TOKEN, HASH, None).expect("render"));
        assert_strict(&d);
        let join = find(&d, "JoinConfiguration");
        let bt = &join["discovery"]["bootstrapToken"];
        assert_eq!(bt["apiServerEndpoint"].as_str(), Some("192.168.100.200:6443"));
        assert_eq!(bt["token"].as_str(), Some(TOKEN));
        assert_eq!(bt["caCertHashes"][0].as_str(), Some(HASH));
        assert_eq!(join["nodeRegistration"]["name"].as_str(), Some("w-1"));
        assert_eq!(join["nodeRegistration"]["kubeletExtraArgs"][0]["value"].as_str(), Some("192.168.100.11"));
        assert!(join["controlPlane"].is_badvalue());
        find(&d, "KubeletConfiguration");

        let d = docs(&join_config(&spec(), &node("cp-2", Role::ControlPlane), TOKEN, HASH, Some(KEY)).expect("render"));
        assert_strict(&d);
        let cp = &find(&d, "JoinConfiguration")["controlPlane"];
        assert_eq!(cp["certificateKey"].as_str(), Some(KEY));
        assert_eq!(cp["localAPIEndpoint"]["advertiseAddress"].as_str(), Some("192.168.100.11"));
        assert_eq!(cp["localAPIEndpoint"]["bindPort"].as_i64(), Some(6443));
        assert!(matches!(
            join_config(&spec(), &node("w", Role::Worker), "nope", HASH, None),
            Err(ConfigError::InvalidToken)
        ));
    }

    #[test]
    fn upgrade_config_names_the_target_and_takes_the_patch() {
        let mut sp = spec();
        sp.kubernetes_version = "1.35.4".into();
        sp.patches.upgrade_configuration =
            Some("apply: {ignorePreflightErrors: [CreateJob]}\nnode: {etcdUpgrade: false}\n".into());
        let d = docs(&upgrade_config(&sp).expect("render"));
        assert_eq!(d.len(), 1);
        let doc = find(&d, "UpgradeConfiguration");
        assert_eq!(doc["apiVersion"].as_str(), Some(KUBEADM_API_VERSION));
        assert_eq!(doc["apply"]["kubernetesVersion"].as_str(), Some("v1.35.4"));
        assert_eq!(doc["plan"]["kubernetesVersion"].as_str(), Some("v1.35.4"));
        assert_eq!(doc["apply"]["ignorePreflightErrors"][0].as_str(), Some("CreateJob"));
        assert_eq!(doc["node"]["etcdUpgrade"].as_bool(), Some(false));
        sp.patches.upgrade_configuration = Some("apply: {kubernetesVersion: v1.36.0}".into());
        let problems = problems_of(upgrade_config(&sp).expect_err("owned"));
        assert_eq!(problems.first().map(|p| p.field), Some("upgrade_configuration"));
    }

    #[test]
    fn upload_certs_config_carries_the_key() {
        let d = docs(&upload_certs_config(&spec(), &node("cp-1", Role::ControlPlane), KEY).expect("render"));
        assert_strict(&d);
        assert_eq!(find(&d, "InitConfiguration")["certificateKey"].as_str(), Some(KEY));
        assert_eq!(find(&d, "ClusterConfiguration")["controlPlaneEndpoint"].as_str(), Some("192.168.100.200:6443"));
        assert!(matches!(
            upload_certs_config(&spec(), &node("cp-1", Role::ControlPlane), "short"),
            Err(ConfigError::InvalidCertificateKey)
        ));
    }

    #[test]
    fn patches_merge_into_their_documents() {
        let mut sp = spec();
        sp.patches = ConfigPatches {
            init_configuration: Some("nodeRegistration:\n  imagePullPolicy: Always\ntimeouts:\n  controlPlaneComponentHealthCheck: 8m\n".into()),
            cluster_configuration: Some(
                r#"{"apiServer": {"extraArgs": [{"name": "audit-log-path", "value": "/var/log/audit.log"}]}, "etcd": {"local": {"dataDir": "/data/etcd"}}}"#.into(),
            ),
            join_configuration: Some("nodeRegistration:\n  ignorePreflightErrors: [Swap]\n".into()),
            kubelet_configuration: Some("maxPods: 200\nserializeImagePulls: false\ncgroupDriver: null\n".into()),
            upgrade_configuration: None,
        };
        assert!(patches::validate_patches(&sp.patches, Some(35)).is_empty());
        let d = docs(&init_config(&sp, &node("cp-1", Role::ControlPlane), TOKEN, KEY).expect("render"));
        assert_strict(&d);
        let init = find(&d, "InitConfiguration");
        assert_eq!(init["nodeRegistration"]["imagePullPolicy"].as_str(), Some("Always"));
        assert_eq!(init["nodeRegistration"]["name"].as_str(), Some("cp-1"), "maps merge, siblings stay");
        assert_eq!(init["timeouts"]["controlPlaneComponentHealthCheck"].as_str(), Some("8m"));
        let cluster = find(&d, "ClusterConfiguration");
        assert_eq!(cluster["apiServer"]["extraArgs"][0]["name"].as_str(), Some("audit-log-path"));
        assert_eq!(cluster["apiServer"]["certSANs"][0].as_str(), Some("192.168.100.200"));
        assert_eq!(cluster["etcd"]["local"]["dataDir"].as_str(), Some("/data/etcd"));
        let kubelet = find(&d, "KubeletConfiguration");
        assert_eq!(kubelet["maxPods"].as_i64(), Some(200));
        assert_eq!(kubelet["serializeImagePulls"].as_bool(), Some(false));
        assert!(kubelet["cgroupDriver"].is_badvalue(), "null removes");
        let d = docs(&join_config(&sp, &node("w-1", Role::Worker), TOKEN, HASH, None).expect("render"));
        let join = find(&d, "JoinConfiguration");
        assert_eq!(join["nodeRegistration"]["ignorePreflightErrors"][0].as_str(), Some("Swap"));
        assert_eq!(find(&d, "KubeletConfiguration")["maxPods"].as_i64(), Some(200));
    }

    #[test]
    fn rendering_refuses_invalid_patches() {
        let mut sp = spec();
        sp.patches.cluster_configuration = Some("bogus: 1".into());
        let problems = problems_of(init_config(&sp, &node("cp", Role::ControlPlane), TOKEN, KEY).expect_err("invalid"));
        assert!(problems[0].detail.contains("\"bogus\""));
        let err = upload_certs_config(&sp, &node("cp-1", Role::ControlPlane), KEY).expect_err("invalid");
        assert!(err.to_string().contains("cluster_configuration: Unknown kubeadm field"), "{err}");
    }

    #[test]
    fn output_is_deterministic() {
        let mut sp = spec();
        sp.patches.kubelet_configuration = Some(
            "{\"maxPods\": 1, \"evictionHard\": {\"nodefs.available\": \"2%\", \"memory.available\": \"3Mi\"}}".into(),
        );
        let n = node("cp-1", Role::ControlPlane);
        let a = init_config(&sp, &n, TOKEN, KEY).expect("render");
        for _ in 0..5 {
            assert_eq!(init_config(&sp, &n, TOKEN, KEY).expect("render"), a);
        }
        assert!(a.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"), "{a}");
        assert!(a.contains("\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"), "{a}");
    }

    #[test]
    fn odd_values_are_quoted() {
        let mut n = node("node: #1", Role::Worker);
        n.address = "fd00::11".into();
        n.taints = Some(vec![Taint { key: "a/b".into(), value: Some("yes".into()), effect: "NoExecute".into() }]);
        let mut sp = spec();
        sp.control_plane_endpoint = "[fd00::200]:6443".into();
        sp.cluster_name = "- x: 'y' \"z\"\n\ttab".into();
        sp.api_server_cert_sans = vec!["on".into(), "1_000".into(), "2024-01-01".into(), "0x1F".into(), "~".into()];
        let text = init_config(&sp, &n, TOKEN, KEY).expect("render");
        let d = docs(&text);
        let init = find(&d, "InitConfiguration");
        assert_eq!(init["nodeRegistration"]["name"].as_str(), Some("node: #1"));
        assert_eq!(init["nodeRegistration"]["taints"][0]["value"].as_str(), Some("yes"));
        assert_eq!(init["localAPIEndpoint"]["advertiseAddress"].as_str(), Some("fd00::11"));
        let cluster = find(&d, "ClusterConfiguration");
        assert_eq!(cluster["clusterName"].as_str(), Some("- x: 'y' \"z\"\n\ttab"));
        let sans: Vec<_> =
            cluster["apiServer"]["certSANs"].as_vec().expect("sans").iter().map(|v| v.as_str()).collect();
        assert_eq!(sans, [Some("fd00::200"), Some("on"), Some("1_000"), Some("2024-01-01"), Some("0x1F"), Some("~")]);
        // Every one of these is double-quoted, so YAML 1.1 readers see strings too.
        for v in ["\"on\"", "\"1_000\"", "\"2024-01-01\"", "\"0x1F\"", "\"~\"", "\"yes\"", "\"node: #1\""] {
            assert!(text.contains(v), "{v} in\n{text}");
        }
        for (raw, quoted) in [
            ("a\u{2028}b", "\"a\\u2028b\""),
            ("\u{7}", "\"\\x07\""),
            ("", "\"\""),
            ("Null", "\"Null\""),
            ("a:", "\"a:\""),
            ("/etc/kubernetes/admin.conf", "/etc/kubernetes/admin.conf"),
            ("unix:///run/x.sock", "unix:///run/x.sock"),
        ] {
            assert_eq!(yaml::emit(&map(vec![("k", s(raw))])), format!("k: {quoted}\n"));
            assert_eq!(docs(&format!("k: {quoted}"))[0]["k"].as_str(), Some(raw));
        }
    }

    #[test]
    fn patched_values_keep_their_types() {
        // What a patch carries reaches the file with the same data: strings a
        // YAML 1.1 reader would retype are quoted, PEM stays a literal block.
        let pem = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIU\n-----END CERTIFICATE-----\n";
        let patch = format!(
            "{{\"a\": \"yes\", \"b\": \"1_000\", \"c\": \"2024-01-01\", \"d\": \"x: y\", \"e\": \"a #b\", \
             \"f\": \"\", \"g\": {pem:?}, \"h\": 1.5, \"i\": 1e3, \"j\": -7, \"k\": false, \"l\": [], \
             \"m\": {{\"n\": [\"~\", \"0644\", \"#c\"]}}}}"
        );
        let mut sp = spec();
        // Under `logging`, a field whose inside the checks do not enter.
        sp.patches.kubelet_configuration = Some(format!("{{\"logging\": {patch}}}"));
        let text = init_config(&sp, &node("cp-1", Role::ControlPlane), TOKEN, KEY).expect("render");
        let d = docs(&text);
        assert_strict(&d);
        let kubelet = &find(&d, "KubeletConfiguration")["logging"];
        let expected = &docs(&patch)[0];
        for key in ["a", "b", "c", "d", "e", "f", "g", "j", "k", "l", "m"] {
            assert_eq!(kubelet[key], expected[key], "{key} in\n{text}");
        }
        // yaml-rust2 compares floats by their text; 1e3 is written 1000.0.
        assert_eq!(kubelet["h"].as_f64(), Some(1.5));
        assert_eq!(kubelet["i"].as_f64(), Some(1000.0));
        assert_eq!(kubelet["g"].as_str(), Some(pem));
        for v in
            ["\"yes\"", "\"1_000\"", "\"2024-01-01\"", "\"x: y\"", "\"a #b\"", "f: \"\"", "g: |\n", "\"~\"", "\"0644\""]
        {
            assert!(text.contains(v), "{v} in\n{text}");
        }
    }

    #[test]
    fn endpoint_hosts() {
        assert_eq!(endpoint_host("192.168.1.1:6443").expect("host"), "192.168.1.1");
        assert_eq!(endpoint_host("[fd00::1]:6443").expect("host"), "fd00::1");
        assert_eq!(endpoint_host("fd00::1").expect("host"), "fd00::1");
        assert_eq!(endpoint_host("cp.home.arpa").expect("host"), "cp.home.arpa");
        for bad in [":6443", "[fd00::1"] {
            let err = endpoint_host(bad).expect_err(bad);
            assert!(matches!(&err, ConfigError::InvalidEndpoint(endpoint) if endpoint == bad), "{err:?}");
        }
    }
}

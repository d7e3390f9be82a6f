//! The plan-time rules judged by the real kubeadm. Every case is a
//! configuration of `kubeadm_cluster`; the provider's plan-time check
//! (`model::validate`, what ValidateResourceConfig runs) and
//! `kubeadm config validate` on the files the provider renders from it
//! (init, control-plane join, worker join) must agree: what kubeadm
//! refuses is a plan-time error on the attribute the case names, and what
//! kubeadm accepts passes. A few cases are marked stricter, each with the
//! reason: kubeadm's `config validate` takes them, but `kubeadm init`/`join`
//! or kube-vip would then fail on the node.
//!
//! Each case meets the kubeadm of its `kubernetes_version` (1.35, or 1.34
//! for the cases that set it) from scripts/peers; without them the tests
//! are skipped, except under `CI`, where they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::json;
use yaml_rust2::YamlLoader;

use super::config::{init_config, join_config};
use super::kubeadm_validate_tests::{real_kubeadms, validate};
use super::kubelet_fields::KUBELET_FIELDS;
use super::{field_rules::Rule, model, patches};
use crate::ssh::test_support::keygen;
use crate::value::untyped_from_json as value;
use crate::yaml::{self, Yaml};

const TOKEN: &str = "abcdef.0123456789abcdef";
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HASH: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A client key: plan time checks that it parses.
fn client_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("key dir");
        keygen(&dir.path().join("id_ed25519")).private_pem
    })
}

/// Three nodes (the init node, a joining control plane, a worker), kube-vip,
/// and every attribute kubeadm reads set explicitly.
fn base() -> serde_json::Value {
    json!({
        "cluster_name": "homelab",
        "kubernetes_version": "1.35.4",
        "control_plane_endpoint": "192.168.100.200:6443",
        "pod_subnet": "10.244.0.0/16",
        "service_subnet": "10.96.0.0/12",
        "dns_domain": "cluster.local",
        "api_server_cert_sans": ["k8s.home.arpa"],
        "nodes": {
            "cp-1": {"role": "control-plane", "address": "192.168.100.11"},
            "cp-2": {"role": "control-plane", "address": "192.168.100.12"},
            "wk-1": {"role": "worker", "address": "192.168.100.21"},
        },
        "kube_vip": {"address": "192.168.100.200", "interface": "eth0"},
        "ssh": {"trust_on_first_use": true, "private_key": client_key()},
    })
}

/// `base()` with `changes` laid over it (one level deep, patches merged).
fn config_with(changes: &serde_json::Value) -> serde_json::Value {
    let mut config = base();
    for (key, change) in changes.as_object().expect("object") {
        config[key] = change.clone();
    }
    config
}

/// What kubeadm says of every file rendered from `config`: `Ok`, or the
/// first complaint.
fn kubeadm_verdict(kubeadm: &Path, config: &serde_json::Value) -> Result<(), String> {
    rendered_files(config).iter().try_for_each(|text| validate(kubeadm, text))
}

/// The init, control-plane join and worker join files of `config`. The
/// patches are merged without the provider's checks, so kubeadm sees
/// exactly what a user's patch would produce.
fn rendered_files(config: &serde_json::Value) -> Vec<String> {
    let mut unchecked = config.clone();
    let patch_set = unchecked.get_mut("kubeadm_config_patches").map(serde_json::Value::take);
    // Read without the refusals: kubeadm must see the value as written.
    let (cluster, _) = super::read::read(&value(unchecked));
    let spec = &cluster.spec;
    let node = |name: &str| &cluster.nodes[name].spec;
    [
        init_config(spec, node("cp-1"), TOKEN, KEY),
        join_config(spec, node("cp-2"), TOKEN, HASH, Some(KEY)),
        join_config(spec, node("wk-1"), TOKEN, HASH, None),
    ]
    .into_iter()
    .map(|file| merge_patches(&file.expect("render without patches"), patch_set.as_ref()))
    .collect()
}

/// Each document of `text` with its kind's patch from `patch_set` merged in.
fn merge_patches(text: &str, patch_set: Option<&serde_json::Value>) -> String {
    let docs = YamlLoader::load_from_str(text).expect("rendered YAML");
    let merged: Vec<Yaml> = docs
        .iter()
        .map(|doc| {
            let mut doc = patches::from_yaml12(doc);
            let attr = match doc_kind(&doc).as_str() {
                "InitConfiguration" => "init_configuration",
                "ClusterConfiguration" => "cluster_configuration",
                "JoinConfiguration" => "join_configuration",
                _ => "kubelet_configuration",
            };
            if let Some(patch) = patch_set.and_then(|p| p.get(attr)).and_then(|p| p.as_str()) {
                let patch = YamlLoader::load_from_str(patch).expect("patch YAML");
                patches::merge(&mut doc, &patches::from_yaml12(&patch[0]));
            }
            doc
        })
        .collect();
    merged.iter().map(yaml::emit).collect::<Vec<_>>().join("---\n")
}

fn doc_kind(doc: &Yaml) -> String {
    match doc {
        Yaml::Map(m) => match m.get("kind") {
            Some(Yaml::Str(kind)) => kind.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The provider's plan-time errors: `(attribute path, summary)`.
fn provider_verdict(config: &serde_json::Value) -> Vec<(String, String)> {
    model::validate(&value(config.clone()))
        .iter()
        .map(|d| (d.path.as_ref().map(ToString::to_string).unwrap_or_default(), d.summary.clone()))
        .collect()
}

struct Case {
    name: &'static str,
    changes: serde_json::Value,
    /// `None`: kubeadm accepts it and so must the provider. `Some(path)`:
    /// kubeadm refuses it and the provider's error names `path`.
    refused_at: Option<&'static str>,
    /// Set when the provider refuses what `config validate` takes: why.
    stricter: Option<&'static str>,
}

fn patch(kind: &str, text: &str) -> serde_json::Value {
    json!({"kubeadm_config_patches": {kind: text}})
}

const PATCH_INIT: &str = "kubeadm_config_patches.init_configuration";
const PATCH_CLUSTER: &str = "kubeadm_config_patches.cluster_configuration";
const PATCH_JOIN: &str = "kubeadm_config_patches.join_configuration";
const PATCH_KUBELET: &str = "kubeadm_config_patches.kubelet_configuration";

fn case(name: &'static str, changes: serde_json::Value, refused_at: Option<&'static str>) -> Case {
    Case { name, changes, refused_at, stricter: None }
}

fn stricter(name: &'static str, changes: serde_json::Value, at: &'static str, why: &'static str) -> Case {
    Case { name, changes, refused_at: Some(at), stricter: Some(why) }
}

fn cases() -> Vec<Case> {
    vec![
        case("the base configuration", json!({}), None),
        // Networking (ValidateNetworking).
        // Clear of pod_subnet, so the overlap rule cannot be what refuses it.
        case("service subnet /8", json!({"service_subnet": "11.0.0.0/8"}), Some("service_subnet")),
        case("service subnet /12 (the limit)", json!({"service_subnet": "10.96.0.0/12"}), None),
        case("service subnet /29", json!({"service_subnet": "10.96.0.0/29"}), Some("service_subnet")),
        case("service subnet /28", json!({"service_subnet": "10.96.0.0/28"}), None),
        case("IPv6 service subnet /107", json!({"service_subnet": "fd00:10:96::/107"}), Some("service_subnet")),
        case("pod subnet /25", json!({"pod_subnet": "10.244.0.0/25"}), Some("pod_subnet")),
        case("pod subnet /24", json!({"pod_subnet": "10.244.0.0/24"}), None),
        case("pod subnet /7", json!({"pod_subnet": "12.0.0.0/7"}), Some("pod_subnet")),
        case(
            "pod subnet /25 with node masks of /26",
            json!({"pod_subnet": "10.244.0.0/25", "kubeadm_config_patches": {"cluster_configuration":
                "controllerManager: {extraArgs: [{name: node-cidr-mask-size-ipv4, value: '26'}]}"}}),
            None,
        ),
        case(
            "pod subnet /16 with node masks of /30",
            json!({"kubeadm_config_patches": {"cluster_configuration":
                "controllerManager: {extraArgs: [{name: node-cidr-mask-size-ipv4, value: '30'}]}"}}),
            None,
        ),
        case(
            "pod subnet /12 with node masks of /30",
            json!({"pod_subnet": "10.240.0.0/12", "kubeadm_config_patches": {"cluster_configuration":
                "controllerManager: {extraArgs: [{name: node-cidr-mask-size-ipv4, value: '30'}]}"}}),
            Some("pod_subnet"),
        ),
        case(
            "pod subnet /29 without node ranges",
            json!({"pod_subnet": "10.244.0.0/29", "kubeadm_config_patches": {"cluster_configuration":
                "controllerManager: {extraArgs: [{name: allocate-node-cidrs, value: 'false'}]}"}}),
            Some("pod_subnet"),
        ),
        case(
            "pod subnet /28 without node ranges",
            json!({"pod_subnet": "10.244.0.0/28", "kubeadm_config_patches": {"cluster_configuration":
                "controllerManager: {extraArgs: [{name: allocate-node-cidrs, value: 'false'}]}"}}),
            None,
        ),
        case("DNS domain with an underscore", json!({"dns_domain": "cluster_local"}), Some("dns_domain")),
        // Certificate SANs (ValidateCertSANs).
        case("a SAN with a space", json!({"api_server_cert_sans": ["bad name"]}), Some("api_server_cert_sans[0]")),
        case("wildcard and IPv6 SANs", json!({"api_server_cert_sans": ["*.home.arpa", "fd00::1"]}), None),
        case(
            "etcd SAN with a capital",
            patch("cluster_configuration", "etcd: {local: {serverCertSANs: [Etcd]}}"),
            Some(PATCH_CLUSTER),
        ),
        // ClusterConfiguration values.
        case(
            "image repository with a space",
            patch("cluster_configuration", "imageRepository: 'Bad Repo'"),
            Some(PATCH_CLUSTER),
        ),
        case(
            "image repository with a port",
            patch("cluster_configuration", "imageRepository: registry.lan:5000/k8s"),
            None,
        ),
        case(
            "relative etcd data dir",
            patch("cluster_configuration", "etcd: {local: {dataDir: var/lib/etcd}}"),
            Some(PATCH_CLUSTER),
        ),
        case(
            "unknown kubeadm feature gate",
            patch("cluster_configuration", "featureGates: {Bogus: true}"),
            Some(PATCH_CLUSTER),
        ),
        case(
            "a 1.34 gate on 1.35",
            patch("cluster_configuration", "featureGates: {WaitForAllControlPlaneComponents: true}"),
            Some(PATCH_CLUSTER),
        ),
        case("a 1.35 gate", patch("cluster_configuration", "featureGates: {NodeLocalCRISocket: false}"), None),
        case(
            "the same 1.34 gate on 1.34",
            json!({"kubernetes_version": "1.34.4", "kubeadm_config_patches": {"cluster_configuration":
                "featureGates: {WaitForAllControlPlaneComponents: true}"}}),
            None,
        ),
        case(
            "an unknown gate on 1.34",
            json!({"kubernetes_version": "1.34.4", "kubeadm_config_patches": {"cluster_configuration":
                "featureGates: {NodeLocalCRISocketX: true}"}}),
            Some(PATCH_CLUSTER),
        ),
        case(
            "a gate set to a string",
            patch("cluster_configuration", "featureGates: {NodeLocalCRISocket: 'no'}"),
            Some(PATCH_CLUSTER),
        ),
        case(
            "validity period in years",
            patch("cluster_configuration", "certificateValidityPeriod: 1y"),
            Some(PATCH_CLUSTER),
        ),
        case("validity period in hours", patch("cluster_configuration", "caCertificateValidityPeriod: 87600h"), None),
        case(
            "DNS disabled as a string",
            patch("cluster_configuration", "dns: {disabled: 'true'}"),
            Some(PATCH_CLUSTER),
        ),
        case(
            "extraVolumes as a mapping",
            patch("cluster_configuration", "apiServer: {extraVolumes: {a: b}}"),
            Some(PATCH_CLUSTER),
        ),
        // InitConfiguration and JoinConfiguration values.
        case(
            "pull policy Sometimes",
            patch("init_configuration", "nodeRegistration: {imagePullPolicy: Sometimes}"),
            Some(PATCH_INIT),
        ),
        case("pull policy Never", patch("join_configuration", "nodeRegistration: {imagePullPolicy: Never}"), None),
        case(
            "imagePullSerial as a string",
            patch("init_configuration", "nodeRegistration: {imagePullSerial: 'false'}"),
            Some(PATCH_INIT),
        ),
        case(
            "timeout in days",
            patch("init_configuration", "timeouts: {controlPlaneComponentHealthCheck: 1d}"),
            Some(PATCH_INIT),
        ),
        case("timeout in minutes", patch("join_configuration", "timeouts: {tlsBootstrap: 5m}"), None),
        case("unknown timeout", patch("join_configuration", "timeouts: {everything: 5m}"), Some(PATCH_JOIN)),
        case("relative CA path", patch("join_configuration", "caCertPath: pki/ca.crt"), Some(PATCH_JOIN)),
        case(
            "CA path not .crt",
            patch("join_configuration", "caCertPath: /etc/kubernetes/pki/ca.pem"),
            Some(PATCH_JOIN),
        ),
        case(
            "skipPhases with a number",
            patch("init_configuration", "skipPhases: [addon/coredns, 7]"),
            Some(PATCH_INIT),
        ),
        stricter(
            "a CRI socket without a scheme",
            patch("init_configuration", "nodeRegistration: {criSocket: /run/containerd/containerd.sock}"),
            PATCH_INIT,
            "kubeadm prefixes unix:// and warns that the form is deprecated",
        ),
        stricter(
            "a tcp CRI socket",
            patch("join_configuration", "nodeRegistration: {criSocket: 'tcp://10.0.0.1:1234'}"),
            PATCH_JOIN,
            "kubeadm turns it into unix://tcp://10.0.0.1:1234, which no runtime listens on",
        ),
        stricter(
            "all beside single preflight checks",
            patch("init_configuration", "nodeRegistration: {ignorePreflightErrors: [all, Swap]}"),
            PATCH_INIT,
            "kubeadm init and join refuse it (ValidateIgnorePreflightErrors); config validate does not look",
        ),
        // KubeletConfiguration: strict decoding.
        case("unknown kubelet field", patch("kubelet_configuration", "bogusField: 1"), Some(PATCH_KUBELET)),
        case("kubelet field in the wrong case", patch("kubelet_configuration", "MaxPods: 10"), Some(PATCH_KUBELET)),
        case("maxPods as a quoted number", patch("kubelet_configuration", "maxPods: '50'"), Some(PATCH_KUBELET)),
        case("maxPods as a number", patch("kubelet_configuration", "maxPods: 50"), None),
        case(
            "eviction values as numbers",
            patch("kubelet_configuration", "evictionHard: {memory.available: 100}"),
            Some(PATCH_KUBELET),
        ),
        case(
            "a kubelet duration without a unit",
            patch("kubelet_configuration", "syncFrequency: 60"),
            Some(PATCH_KUBELET),
        ),
        // kube-vip (what ARP mode cannot do).
        stricter(
            "endpoint on another port than the API server",
            json!({"control_plane_endpoint": "192.168.100.200:8443"}),
            "control_plane_endpoint",
            "kube-vip in ARP mode forwards nothing: nobody answers on 8443",
        ),
        stricter(
            "VIP that is a node's address",
            json!({"control_plane_endpoint": "192.168.100.11:6443", "kube_vip": {"address": "192.168.100.11", "interface": "eth0"}}),
            "kube_vip.address",
            "the node would lose its own address when the VIP moves away",
        ),
        stricter(
            "VIP inside the pod subnet",
            json!({"control_plane_endpoint": "10.244.0.200:6443", "kube_vip": {"address": "10.244.0.200", "interface": "eth0"}}),
            "kube_vip.address",
            "the VIP must be on the nodes' network, where ARP reaches",
        ),
        stricter(
            "IPv6 VIP for IPv4 nodes",
            json!({"control_plane_endpoint": "[fd00::200]:6443", "kube_vip": {"address": "fd00::200", "interface": "eth0"}}),
            "kube_vip.address",
            "kube-vip announces the VIP on the nodes' own network",
        ),
    ]
}

#[ignore = "needs the real kubeadm peers (scripts/peers); scripts/test runs it"]
#[test]
fn the_plan_time_rules_agree_with_real_kubeadm() {
    let kubeadms: BTreeMap<String, PathBuf> = real_kubeadms().into_iter().collect();
    let mut disagreements = Vec::new();
    for case in cases() {
        let config = config_with(&case.changes);
        // The kubeadm of the configuration's own version.
        let version = config["kubernetes_version"].as_str().expect("version");
        let kubeadm = kubeadms.get(version).unwrap_or_else(|| panic!("{}: no kubeadm {version}", case.name));
        let kubeadm_says = kubeadm_verdict(kubeadm, &config);
        let provider_says = provider_verdict(&config);
        let provider_refuses_at = |path: &str| provider_says.iter().any(|(at, _)| at == path);
        let agreed = match (case.refused_at, case.stricter) {
            (None, _) => kubeadm_says.is_ok() && provider_says.is_empty(),
            (Some(at), None) => kubeadm_says.is_err() && provider_refuses_at(at),
            (Some(at), Some(_)) => kubeadm_says.is_ok() && provider_refuses_at(at),
        };
        if !agreed {
            disagreements.push(format!(
                "{}: expected refused at {:?}{}; kubeadm: {:?}; provider: {provider_says:?}",
                case.name,
                case.refused_at,
                case.stricter.map(|why| format!(" (stricter: {why})")).unwrap_or_default(),
                kubeadm_says.err().map(|e| e.lines().next().unwrap_or_default().to_owned()),
            ));
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}

/// A sample value of each type, as a YAML flow value.
fn sample(rule: Rule) -> &'static str {
    match rule {
        Rule::Bool => "true",
        Rule::Int => "1",
        Rule::Float => "1.5",
        Rule::Duration => "1m0s",
        Rule::StrList => "[a]",
        Rule::StrMap => "{a: b}",
        Rule::BoolMap => "{a: true}",
        Rule::StrListMap => "{a: [b]}",
        Rule::List => "[]",
        Rule::Object => "{}",
        _ => "x",
    }
}

/// The generated KubeletConfiguration table is kubeadm's: every field, with
/// a value of its type, decodes; the same field with a value of the wrong
/// type does not (and the provider refuses it too).
#[ignore = "needs the real kubeadm peers (scripts/peers); scripts/test runs it"]
#[test]
fn the_kubelet_field_table_matches_real_kubeadm() {
    let kubeadm = real_kubeadms().into_iter().map(|(_, bin)| bin).next().unwrap_or_default();
    let all: String = KUBELET_FIELDS.iter().map(|(name, rule)| format!("{name}: {}\n", sample(*rule))).collect();
    let config = config_with(&patch("kubelet_configuration", &all));
    assert_eq!(kubeadm_verdict(&kubeadm, &config), Ok(()));
    assert_eq!(provider_verdict(&config), Vec::<(String, String)>::new());
    // One file is enough here: every file carries the same KubeletConfiguration.
    for (name, rule) in KUBELET_FIELDS {
        let wrong = if *rule == Rule::Bool { "'text'" } else { "true" };
        let config = config_with(&patch("kubelet_configuration", &format!("{name}: {wrong}")));
        let refusal = validate(&kubeadm, &rendered_files(&config)[0]).expect_err(name);
        // kubeadm's decoder names the field it could not decode.
        let leaf = name.rsplit('.').next().unwrap_or(name);
        assert!(refusal.contains(leaf), "kubeadm refused {name}: {wrong} for another reason:\n{refusal}");
        assert!(!provider_verdict(&config).is_empty(), "the provider took {name}: {wrong}");
    }
}

/// The committed table is what `scripts/kubelet-fields` generates from the
/// pinned k8s.io/kubelet, so a field kubeadm added is not refused.
#[ignore = "needs the peers' Go module cache (scripts/peers); scripts/test runs it"]
#[test]
fn the_kubelet_field_table_is_generated_from_the_pinned_release() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kubelet-fields");
    let out = std::process::Command::new("bash").arg(&script).output().expect("run scripts/kubelet-fields");
    assert!(
        out.status.success(),
        "scripts/kubelet-fields failed (it reads the pinned k8s.io/kubelet from the peers' Go module cache; scripts/test builds it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(generated == include_str!("kubelet_fields.rs"), "kubelet_fields.rs is stale: run scripts/kubelet-fields");
}

#[test]
fn a_renewal_window_must_be_a_duration_shorter_than_the_certificates_live() {
    let verdict = |changes: serde_json::Value| provider_verdict(&config_with(&changes));
    let at = "renew_certificates_before".to_owned();
    assert_eq!(verdict(json!({ "renew_certificates_before": "2160h" })), Vec::<(String, String)>::new());
    assert_eq!(verdict(json!({ "renew_certificates_before": "0s" })), Vec::<(String, String)>::new(), "off");
    assert_eq!(verdict(json!({ "renew_certificates_before": "90d" })), [(at.clone(), "Invalid duration".to_owned())]);
    let longer = [(at.clone(), "Renewal window longer than the certificates live".to_owned())];
    assert_eq!(verdict(json!({ "renew_certificates_before": "8760h" })), longer, "kubeadm's default lifetime");
    let short = |window: &str| {
        let mut changes = patch("cluster_configuration", "certificateValidityPeriod: 10m");
        changes["renew_certificates_before"] = json!(window);
        verdict(changes)
    };
    assert_eq!(short("7m30s"), Vec::<(String, String)>::new());
    assert_eq!(short("10m"), longer, "a lifetime the patch sets");
}

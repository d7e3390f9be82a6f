//! The resource's configuration, read once into a [`Cluster`].
//!
//! Each attribute is read by one typed reader that applies that
//! attribute's own rule and reports a diagnostic on its path; a null
//! optional attribute takes the default the schema documents, and nothing
//! is substituted for a value that breaks its rule. A value not known yet
//! (validate and plan time) reads as a placeholder and is judged once it
//! is known. Rules across attributes are [`super::model::validate`]'s.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::attributes as attr;
use super::config::{ClusterSpec, NodeSpec, Role, Taint};
use super::field_rules::{is_cert_san, is_dns_subdomain};
use super::kube_vip::KubeVip;
use super::model::{
    Bastion, Cluster, DestroyMode, DrainSettings, Node, SshSettings, Timeouts, UpgradeSettings, defaults, is_label_key,
    is_label_value, parse_cidr, parse_duration, parse_role, split_endpoint,
};
use super::patches::ConfigPatches;
use crate::framework::Diagnostics;
use crate::value::{AttributePath, Value};

/// The oldest kubeadm minor that reads v1beta4 configuration files.
pub const OLDEST_MINOR: u32 = 31;

/// The taint effects Kubernetes knows.
const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Reads `config`; the cluster holds placeholders where a value is unknown
/// or breaks its rule, and the diagnostics say which.
pub fn read(config: &Value) -> (Cluster, Diagnostics) {
    let mut reader = Reader::default();
    let cluster = reader.cluster(config);
    (cluster, reader.diags)
}

/// Reads the `nodes` map alone (of a configuration or a state).
pub fn read_nodes(nodes: &Value) -> (BTreeMap<String, Node>, Diagnostics) {
    let mut reader = Reader::default();
    let nodes = reader.nodes(nodes);
    (nodes, reader.diags)
}

#[derive(Default)]
struct Reader {
    diags: Diagnostics,
}

/// A known string, a number written as one (`instance_id = 104`), or
/// nothing (null or unknown).
fn scalar_text(value: &Value) -> Option<String> {
    match value.untyped() {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_text()),
        _ => None,
    }
}

impl Reader {
    fn error(&mut self, path: AttributePath, summary: &str, detail: String) {
        self.diags.attribute_error(path, summary, detail);
    }

    /// A known string; `None` when null or unknown.
    fn text(&mut self, value: &Value, path: &AttributePath) -> Option<String> {
        match value.untyped() {
            Value::Null | Value::Unknown => None,
            Value::String(text) => Some(text.clone()),
            _ => {
                self.error(path.clone(), "Wrong value type", "must be a string.".to_owned());
                None
            }
        }
    }

    /// A string, `default` when null, a placeholder when unknown.
    fn text_or(&mut self, value: &Value, path: &AttributePath, default: &str) -> String {
        match self.text(value, path) {
            Some(text) => text,
            None if value.is_null() => default.to_owned(),
            None => String::new(),
        }
    }

    /// A string checked by `rule` (`Err(detail)`), or `default` when null.
    fn checked(
        &mut self,
        value: &Value,
        path: AttributePath,
        default: &str,
        summary: &str,
        rule: impl Fn(&str) -> Result<(), String>,
    ) -> String {
        let known = value.as_str().is_some();
        let text = self.text_or(value, &path, default);
        if known {
            if let Err(detail) = rule(&text) {
                self.error(path, summary, detail);
            }
        }
        text
    }

    /// A required string checked by `rule`; null is an error (Terraform
    /// refuses it in a configuration, so only a damaged state has it).
    fn required(
        &mut self,
        value: &Value,
        path: AttributePath,
        summary: &str,
        rule: impl Fn(&str) -> Result<(), String>,
    ) -> String {
        if value.is_null() {
            self.error(path, "Missing value", "This attribute is required.".to_owned());
            return String::new();
        }
        self.checked(value, path, "", summary, rule)
    }

    fn flag(&mut self, value: &Value, path: AttributePath, default: bool) -> bool {
        match value.untyped() {
            Value::Bool(b) => *b,
            Value::Null | Value::Unknown => default,
            _ => {
                self.error(path, "Wrong value type", "must be true or false.".to_owned());
                default
            }
        }
    }

    /// A positive duration such as `30m`, or `default` when null.
    fn duration(&mut self, value: &Value, path: AttributePath, default: &str) -> Duration {
        let text = self.checked(value, path, default, "Invalid duration", |text| {
            match parse_duration(text).filter(|d| !d.is_zero()) {
                Some(_) => Ok(()),
                None => Err(format!("{text:?} must be a duration such as \"30m\", \"1h\" or \"1h30m\".")),
            }
        });
        parse_duration(&text).unwrap_or_default()
    }

    fn port(&mut self, value: &Value, path: AttributePath) -> u16 {
        match value.untyped() {
            Value::Null | Value::Unknown => 22,
            Value::Number(n) => match n.as_i64().and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0) {
                Some(port) => port,
                None => {
                    self.error(path, "Invalid port", format!("{} is not a TCP port.", n.to_text()));
                    22
                }
            },
            _ => {
                self.error(path, "Wrong value type", "must be a number.".to_owned());
                22
            }
        }
    }

    fn cluster(&mut self, config: &Value) -> Cluster {
        let nodes = self.nodes(config.get(attr::NODES));
        let init_node = self
            .text(config.get(attr::INIT_NODE), &AttributePath::attr(attr::INIT_NODE))
            .or_else(|| super::model::default_init_node(&nodes))
            .unwrap_or_default();
        Cluster {
            spec: self.spec(config),
            nodes,
            init_node,
            kube_vip: self.kube_vip(config.get(attr::KUBE_VIP)),
            ssh: self.ssh(config.get(attr::SSH)),
            timeouts: self.timeouts(config.get(attr::TIMEOUTS)),
            drain: self.drain(config.get(attr::DRAIN)),
            upgrade: self.upgrade(config.get(attr::UPGRADE)),
            renew_certificates_before: self.renewal_window(config.get(attr::RENEW_CERTIFICATES_BEFORE)),
            destroy_mode: self.destroy_mode(config.get(attr::DESTROY_MODE)),
        }
    }

    fn spec(&mut self, config: &Value) -> ClusterSpec {
        let at = AttributePath::attr;
        ClusterSpec {
            cluster_name: self.checked(
                config.get(attr::CLUSTER_NAME),
                at(attr::CLUSTER_NAME),
                defaults::CLUSTER_NAME,
                "Invalid cluster name",
                |name| {
                    if is_dns_subdomain(name) && !name.contains('.') {
                        Ok(())
                    } else {
                        Err(format!(
                            "{name:?} must be a DNS label: lowercase letters, digits and '-', at most 63 characters."
                        ))
                    }
                },
            ),
            kubernetes_version: self.required(
                config.get(attr::KUBERNETES_VERSION),
                at(attr::KUBERNETES_VERSION),
                "Unsupported Kubernetes version",
                |version| match super::config::parse_version(version) {
                    Some((1, minor, _)) if minor >= OLDEST_MINOR => Ok(()),
                    _ => Err(format!(
                        "{version:?} must be an exact release such as \"1.35.0\" (kubeadm 1.{OLDEST_MINOR} or newer, which reads v1beta4 configuration)."
                    )),
                },
            ),
            control_plane_endpoint: self.required(
                config.get(attr::CONTROL_PLANE_ENDPOINT),
                at(attr::CONTROL_PLANE_ENDPOINT),
                "Invalid control plane endpoint",
                |endpoint| match split_endpoint(endpoint) {
                    Some(_) => Ok(()),
                    None => Err(format!(
                        "{endpoint:?} must be \"HOST:PORT\", e.g. \"192.168.100.200:6443\" (the kube-vip address)."
                    )),
                },
            ),
            pod_subnet: self.cidr(config.get(attr::POD_SUBNET), attr::POD_SUBNET, defaults::POD_SUBNET),
            service_subnet: self.cidr(config.get(attr::SERVICE_SUBNET), attr::SERVICE_SUBNET, defaults::SERVICE_SUBNET),
            dns_domain: self.checked(
                config.get(attr::DNS_DOMAIN),
                at(attr::DNS_DOMAIN),
                defaults::DNS_DOMAIN,
                "Invalid DNS domain",
                |domain| if is_dns_subdomain(domain) { Ok(()) } else { Err(format!("{domain:?} is not a DNS domain.")) },
            ),
            api_server_cert_sans: self.cert_sans(config.get(attr::API_SERVER_CERT_SANS)),
            skip_kube_proxy: self.flag(config.get(attr::SKIP_KUBE_PROXY), at(attr::SKIP_KUBE_PROXY), false),
            patches: self.patches(config.get(attr::KUBEADM_CONFIG_PATCHES)),
        }
    }

    fn cidr(&mut self, value: &Value, name: &str, default: &str) -> String {
        self.checked(value, AttributePath::attr(name), default, "Invalid CIDR", |cidr| match parse_cidr(cidr) {
            Some(_) => Ok(()),
            None => Err(format!("{cidr:?} must be a CIDR such as \"10.244.0.0/16\".")),
        })
    }

    /// Every extra API server SAN must be an IP, a DNS name or a wildcard name.
    fn cert_sans(&mut self, value: &Value) -> Vec<String> {
        let items = value.as_slice().unwrap_or_default();
        let mut sans = Vec::new();
        for (i, san) in items.iter().enumerate() {
            let path = AttributePath::attr(attr::API_SERVER_CERT_SANS).with_index(i);
            let name = self.checked(san, path, "", "Invalid certificate SAN", |name| {
                if is_cert_san(name) {
                    Ok(())
                } else {
                    Err(format!("{name:?} is not an IP address, a lowercase DNS name or a \"*.\" wildcard DNS name."))
                }
            });
            sans.push(name);
        }
        sans
    }

    fn patches(&mut self, block: &Value) -> ConfigPatches {
        let path = AttributePath::attr(attr::KUBEADM_CONFIG_PATCHES);
        let mut patch = |name: &str| self.text(block.get(name), &path.with_attr(name));
        ConfigPatches {
            init_configuration: patch(attr::INIT_CONFIGURATION),
            cluster_configuration: patch(attr::CLUSTER_CONFIGURATION),
            join_configuration: patch(attr::JOIN_CONFIGURATION),
            kubelet_configuration: patch(attr::KUBELET_CONFIGURATION),
            upgrade_configuration: patch(attr::UPGRADE_CONFIGURATION),
        }
    }

    fn nodes(&mut self, value: &Value) -> BTreeMap<String, Node> {
        let mut nodes = BTreeMap::new();
        for (name, node) in value.as_map().into_iter().flatten() {
            let path = AttributePath::attr(attr::NODES).with_key(name.clone());
            if !is_dns_subdomain(name) {
                self.error(
                    path.clone(),
                    "Invalid node name",
                    format!(
                        "{name:?} must be a lowercase RFC 1123 name (letters, digits, '-', '.'), as Kubernetes requires."
                    ),
                );
            }
            nodes.insert(name.clone(), self.node(name, node, &path));
        }
        nodes
    }

    fn node(&mut self, name: &str, node: &Value, path: &AttributePath) -> Node {
        if node.as_map().is_none() {
            // An entry not known yet (from a module output): judged at apply.
            let spec = NodeSpec {
                name: name.to_owned(),
                role: Role::Worker,
                address: String::new(),
                labels: BTreeMap::new(),
                taints: None,
            };
            return Node { spec, instance_id: None };
        }
        let spec = NodeSpec {
            name: name.to_owned(),
            role: self.role(node.get(attr::ROLE), path.with_attr(attr::ROLE)),
            address: self.required(
                node.get(attr::ADDRESS),
                path.with_attr(attr::ADDRESS),
                "Invalid node address",
                |address| match address.parse::<IpAddr>() {
                    Ok(_) => Ok(()),
                    Err(_) => Err(format!("{address:?} must be the node's IP address (it becomes kubelet's node-ip).")),
                },
            ),
            labels: self.labels(node.get(attr::LABELS), &path.with_attr(attr::LABELS)),
            taints: self.taints(node.get(attr::TAINTS), &path.with_attr(attr::TAINTS)),
        };
        let instance_id = scalar_text(node.get(attr::INSTANCE_ID));
        Node { spec, instance_id }
    }

    /// `role`; a worker placeholder where it is unknown or refused.
    fn role(&mut self, value: &Value, path: AttributePath) -> Role {
        if value.is_null() {
            self.error(path, "Missing value", "This attribute is required.".to_owned());
            return Role::Worker;
        }
        let Some(role) = self.text(value, &path) else { return Role::Worker };
        parse_role(&role).unwrap_or_else(|| {
            self.error(path, "Invalid node role", format!("{role:?} must be \"control-plane\" or \"worker\"."));
            Role::Worker
        })
    }

    fn labels(&mut self, value: &Value, path: &AttributePath) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        for (key, value) in value.as_map().into_iter().flatten() {
            let text = self.text(value, &path.with_key(key.clone()));
            let ok_value = text.as_deref().is_none_or(is_label_value);
            if !is_label_key(key) || !ok_value {
                self.error(
                    path.with_key(key.clone()),
                    "Invalid node label",
                    format!("{key:?}={value:?} is not a valid Kubernetes label (key: optional DNS prefix and '/', name of at most 63 alphanumerics, '-', '_', '.'; value likewise, may be empty)."),
                );
            }
            labels.insert(key.clone(), text.unwrap_or_default());
        }
        labels
    }

    /// `None` (kubeadm's default taints) when the list is null.
    fn taints(&mut self, value: &Value, path: &AttributePath) -> Option<Vec<Taint>> {
        let items = value.as_slice()?;
        let mut taints = Vec::new();
        for (i, taint) in items.iter().enumerate() {
            if taint.as_map().is_none() {
                // Not known yet: judged once it is.
                taints.push(Taint { key: String::new(), value: None, effect: String::new() });
                continue;
            }
            let at = path.with_index(i);
            let key = self.required(taint.get(attr::KEY), at.with_attr(attr::KEY), "Invalid taint key", |key| {
                if is_label_key(key) {
                    Ok(())
                } else {
                    Err(format!("{key:?} is not a valid taint key (same rules as label keys)."))
                }
            });
            let effect = self.checked(
                taint.get(attr::EFFECT),
                at.with_attr(attr::EFFECT),
                "NoSchedule",
                "Invalid taint effect",
                |e| {
                    if TAINT_EFFECTS.contains(&e) {
                        Ok(())
                    } else {
                        Err(format!("{e:?} must be NoSchedule, PreferNoSchedule or NoExecute."))
                    }
                },
            );
            taints.push(Taint { key, value: scalar_text(taint.get(attr::VALUE)), effect });
        }
        Some(taints)
    }

    fn kube_vip(&mut self, block: &Value) -> Option<KubeVip> {
        if block.is_null() {
            return None;
        }
        if block.as_map().is_none() {
            // Not known yet: judged once it is.
            return Some(KubeVip { address: String::new(), interface: String::new(), image: String::new() });
        }
        let path = AttributePath::attr(attr::KUBE_VIP);
        Some(KubeVip {
            address: self.required(block.get(attr::ADDRESS), path.with_attr(attr::ADDRESS), "Invalid VIP", |a| {
                match a.parse::<IpAddr>() {
                    Ok(_) => Ok(()),
                    Err(_) => Err(format!("{a:?} must be an IP address.")),
                }
            }),
            interface: self.required(
                block.get(attr::INTERFACE),
                path.with_attr(attr::INTERFACE),
                "Invalid network interface",
                |name| {
                    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                        Err(format!("{name:?} must be the nodes' interface name, e.g. \"eth0\" or \"ens18\"."))
                    } else {
                        Ok(())
                    }
                },
            ),
            image: self.text_or(block.get(attr::IMAGE), &path.with_attr(attr::IMAGE), defaults::KUBE_VIP_IMAGE),
        })
    }

    fn private_key(&mut self, value: &Value, path: AttributePath) -> Option<String> {
        let key = self.text(value, &path)?;
        if russh::keys::decode_secret_key(&key, None).is_err() {
            self.error(
                path,
                "Invalid SSH private key",
                "private_key must be an unencrypted OpenSSH or PEM private key (e.g. file(\"~/.ssh/id_ed25519\") or a variable marked sensitive).".to_owned(),
            );
        }
        Some(key)
    }

    fn host_key(&mut self, value: &Value, path: AttributePath, detail: String) -> Option<String> {
        let key = self.text(value, &path)?;
        if crate::ssh::parse_public_key(&key).is_err() {
            self.error(path, "Invalid host key", detail);
        }
        Some(key)
    }

    fn ssh(&mut self, block: &Value) -> SshSettings {
        let path = AttributePath::attr(attr::SSH);
        let user = |r: &mut Self, b: &Value, p: &AttributePath| {
            r.text(b.get(attr::USER), &p.with_attr(attr::USER)).unwrap_or_else(|| defaults::SSH_USER.to_owned())
        };
        let mut host_keys = BTreeMap::new();
        for (name, key) in block.get(attr::HOST_KEYS).as_map().into_iter().flatten() {
            let detail =
                format!("The host key for {name:?} must be a public key line such as \"ssh-ed25519 AAAA...\".");
            if let Some(key) = self.host_key(key, path.with_attr(attr::HOST_KEYS).with_key(name.clone()), detail) {
                host_keys.insert(name.clone(), key);
            }
        }
        let bastion_value = block.get(attr::BASTION);
        let bastion_path = path.with_attr(attr::BASTION);
        let bastion = bastion_value.as_map().is_some().then(|| Bastion {
            host: self.required(bastion_value.get(attr::HOST), bastion_path.with_attr(attr::HOST), "Invalid bastion", |_| {
                Ok(())
            }),
            port: self.port(bastion_value.get(attr::PORT), bastion_path.with_attr(attr::PORT)),
            user: user(self, bastion_value, &bastion_path),
            private_key: self.private_key(bastion_value.get(attr::PRIVATE_KEY), bastion_path.with_attr(attr::PRIVATE_KEY)),
            host_key: self.host_key(
                bastion_value.get(attr::HOST_KEY),
                bastion_path.with_attr(attr::HOST_KEY),
                "host_key must be a public key line such as \"ssh-ed25519 AAAA...\" (from /etc/ssh/ssh_host_ed25519_key.pub).".to_owned(),
            ),
        });
        SshSettings {
            user: user(self, block, &path),
            port: self.port(block.get(attr::PORT), path.with_attr(attr::PORT)),
            private_key: self.private_key(block.get(attr::PRIVATE_KEY), path.with_attr(attr::PRIVATE_KEY)),
            host_keys,
            trust_on_first_use: self.flag(
                block.get(attr::TRUST_ON_FIRST_USE),
                path.with_attr(attr::TRUST_ON_FIRST_USE),
                false,
            ),
            bastion,
        }
    }

    fn timeouts(&mut self, block: &Value) -> Timeouts {
        let path = AttributePath::attr(attr::TIMEOUTS);
        Timeouts {
            create: self.duration(block.get(attr::CREATE), path.with_attr(attr::CREATE), defaults::CREATE_TIMEOUT),
            update: self.duration(block.get(attr::UPDATE), path.with_attr(attr::UPDATE), defaults::UPDATE_TIMEOUT),
            delete: self.duration(block.get(attr::DELETE), path.with_attr(attr::DELETE), defaults::DELETE_TIMEOUT),
        }
    }

    fn drain(&mut self, block: &Value) -> DrainSettings {
        let path = AttributePath::attr(attr::DRAIN);
        DrainSettings {
            timeout: self.duration(block.get(attr::TIMEOUT), path.with_attr(attr::TIMEOUT), defaults::DRAIN_TIMEOUT),
            force: self.flag(block.get(attr::FORCE), path.with_attr(attr::FORCE), false),
            delete_emptydir_data: self.flag(
                block.get(attr::DELETE_EMPTYDIR_DATA),
                path.with_attr(attr::DELETE_EMPTYDIR_DATA),
                false,
            ),
        }
    }

    fn upgrade(&mut self, block: &Value) -> UpgradeSettings {
        let value = block.get(attr::MAX_UNAVAILABLE);
        let max_unavailable = match value.untyped() {
            Value::Null | Value::Unknown => 1,
            Value::Number(n) => match n.as_i64().filter(|n| *n >= 1).and_then(|n| usize::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    self.error(
                        AttributePath::attr(attr::UPGRADE).with_attr(attr::MAX_UNAVAILABLE),
                        "Invalid number of workers",
                        "max_unavailable must be a whole number of at least 1: how many workers are drained and upgraded at once.".to_owned(),
                    );
                    1
                }
            },
            _ => {
                let path = AttributePath::attr(attr::UPGRADE).with_attr(attr::MAX_UNAVAILABLE);
                self.error(path, "Wrong value type", "must be a number.".to_owned());
                1
            }
        };
        UpgradeSettings { max_unavailable }
    }

    /// `renew_certificates_before`; zero turns renewal off. Its limit
    /// against the certificates' lifetime is a check across attributes.
    fn renewal_window(&mut self, value: &Value) -> Duration {
        let path = AttributePath::attr(attr::RENEW_CERTIFICATES_BEFORE);
        let text = self.checked(value, path, defaults::RENEW_CERTIFICATES_BEFORE, "Invalid duration", |text| {
            match parse_duration(text) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "{text:?} must be a duration such as \"2160h\" (90 days), or \"0s\" to turn renewal off."
                )),
            }
        });
        parse_duration(&text).unwrap_or_default()
    }

    fn destroy_mode(&mut self, value: &Value) -> DestroyMode {
        let path = AttributePath::attr(attr::DESTROY_MODE);
        let Some(mode) = self.text(value, &path) else { return DestroyMode::Reset };
        match mode.as_str() {
            "reset" => DestroyMode::Reset,
            "forget" => DestroyMode::Forget,
            _ => {
                self.error(
                    path,
                    "Invalid destroy mode",
                    format!(
                        "{mode:?} must be \"reset\" (kubeadm reset every node) or \"forget\" (only drop the state)."
                    ),
                );
                DestroyMode::Reset
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::model;
    use super::*;

    fn config(overrides: serde_json::Value) -> Value {
        let mut config = serde_json::json!({
            "kubernetes_version": "1.35.4",
            "control_plane_endpoint": "10.0.0.100:6443",
            "nodes": {
                "cp-1": {"role": "control-plane", "address": "10.0.0.11"},
                "wk-1": {"role": "worker", "address": "10.0.0.21", "taints": [{"key": "gpu"}]},
            },
        });
        if let (Some(base), Some(extra)) = (config.as_object_mut(), overrides.as_object()) {
            base.extend(extra.clone());
        }
        crate::value::untyped_from_json(config)
    }

    /// The attribute paths the errors name, as `a.b["k"]` text.
    fn paths(diags: &Diagnostics) -> Vec<String> {
        diags.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn a_valid_configuration_reads_with_the_documented_defaults() {
        let cluster = model::parse(&config(serde_json::json!({}))).expect("reads");
        assert_eq!(cluster.spec.cluster_name, defaults::CLUSTER_NAME);
        assert_eq!(cluster.spec.pod_subnet, defaults::POD_SUBNET);
        assert_eq!(cluster.init_node, "cp-1");
        assert_eq!(cluster.ssh.port, 22);
        assert_eq!(cluster.timeouts.create, Duration::from_secs(1800));
        assert_eq!(cluster.upgrade.max_unavailable, 1);
        let taints = cluster.nodes["wk-1"].spec.taints.clone().expect("taints");
        assert_eq!(taints[0].effect, "NoSchedule", "the documented default effect");
    }

    /// Failed before: the parse turned each of these into a default (a
    /// worker, port 22, one worker at a time, reset, a 30m timeout).
    #[test]
    fn bad_input_is_an_error_on_its_attribute_never_a_default() {
        let bad = serde_json::json!({
            "nodes": {"cp-1": {"role": "master", "address": "10.0.0.11"}},
            "ssh": {"port": 70000},
            "upgrade": {"max_unavailable": 1.5},
            "destroy_mode": "wipe",
            "timeouts": {"create": "soon"},
        });
        let errors = model::parse(&config(bad)).expect_err("refused");
        assert_eq!(
            paths(&errors),
            ["nodes[\"cp-1\"].role", "ssh.port", "timeouts.create", "upgrade.max_unavailable", "destroy_mode",],
            "{errors:?}"
        );
    }

    #[test]
    fn a_damaged_state_missing_a_required_value_is_an_error() {
        let state = config(serde_json::json!({"nodes": {"cp-1": {"role": "control-plane"}}}));
        let errors = model::parse(&state).expect_err("no address");
        assert_eq!(paths(&errors), ["nodes[\"cp-1\"].address"]);
        let summaries: Vec<&str> = errors.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries, ["Missing value"]);
    }

    #[test]
    fn values_not_known_yet_read_as_placeholders_without_errors() {
        let mut unknown = config(serde_json::json!({}));
        unknown.set(attr::KUBERNETES_VERSION, Value::Unknown);
        unknown.set(attr::DESTROY_MODE, Value::Unknown);
        let mut nodes = unknown.get(attr::NODES).as_map().cloned().expect("nodes");
        nodes.insert("wk-2".into(), Value::Unknown);
        unknown.set(attr::NODES, Value::Map(nodes));
        let cluster = model::parse(&unknown).expect("no errors");
        assert_eq!(cluster.spec.kubernetes_version, "", "a placeholder");
        assert_eq!(cluster.nodes["wk-2"].spec.address, "", "an unknown node is a placeholder");
    }
}

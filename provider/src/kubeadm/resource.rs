//! The `kubeadm_cluster` resource: plan-time secrets and checks, and the
//! Terraform side of create, read, update, delete and import. The remote
//! work lives in `lifecycle.rs`.
//!
//! Where the cluster's secrets live: in the resource's private state (never
//! shown in a plan) and, from the first apply on, in a root-only marker on
//! the init node. A create that fails or is interrupted records nothing in
//! state (so Terraform does not taint the half-built cluster); the next
//! plan reads the marker back and plans the same certificates, and the
//! apply resumes where the last one stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::api::{ApiClient, NodeInfo};
use super::attributes as attr;
use super::certificate_state;
use super::certificates;
use super::changes::Changes;
use super::config::Role;
use super::error::KubeadmError;
use super::lifecycle::{Ctx, Progress};
use super::model::{self, Cluster, DestroyMode, split_endpoint, string_map};
use super::node::{NodeSession, host_key_policy};
use super::pki::{self, CertPair, ClusterSecrets};
use super::plan_cache::PlanCache;
use super::schema::{COMPUTED, schema};
use super::version_change::{VersionChange, VersionChangeError};
use super::version_upgrade;
use crate::framework::{
    ApplyOutcome, CallContext, Diagnostics, ImportState, ModifyPlan, PlanRequest, ReadOutcome, Resource, Schema,
    UpgradeState, ValidateConfig,
};
use crate::value::{AttributePath, Value};

/// Renew the admin certificate when it has less than this left.
const RENEW_BEFORE: time::Duration = time::Duration::days(30);
/// A plan's look at the init node (resuming an interrupted create) gives up this fast.
const PLAN_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The `kubeadm_cluster` resource type.
#[derive(Debug, Default)]
pub struct KubeadmCluster;

/// Private state: the cluster's secrets.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Private {
    secrets: Option<ClusterSecrets>,
}

impl Private {
    /// Empty private state is a resource without secrets yet (new, or
    /// imported and not adopted); anything else must decode. Treating an
    /// unreadable one as empty would plan new CAs for a live cluster.
    fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_slice(bytes)
    }

    fn encode(secrets: &ClusterSecrets) -> Vec<u8> {
        serde_json::to_vec(&Private { secrets: Some(secrets.clone()) }).unwrap_or_default()
    }
}

/// The error for private state that does not decode.
fn unreadable_private(error: &serde_json::Error) -> Diagnostics {
    Diagnostics::from_error(
        "Private state of kubeadm_cluster is unreadable",
        format!(
            "The cluster's CAs and keys live in this resource's private state, which does not decode ({error}). Nothing was planned or changed: going on would generate new CAs for a live cluster. Restore the state from a backup (your backend's previous version, or `terraform state push` of a good copy). If none exists, `terraform state rm` the resource and `terraform import` it by its endpoint: the next plan then reads the CA from a control plane over SSH."
        ),
    )
}

/// The configuration without the computed attributes, wholly known?
fn inputs_known(value: &Value) -> bool {
    let mut inputs = value.clone();
    for name in COMPUTED {
        inputs.set(name, Value::Null);
    }
    inputs.set(attr::INIT_NODE, Value::Null);
    inputs.is_wholly_known()
}

/// Turns lifecycle errors into diagnostics: the node's entry when one node is at fault.
fn error_diagnostics(errors: &[KubeadmError], what: &str, hint: &str) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for e in errors {
        let parts = [Some(e.to_string()), e.hint().map(str::to_string), (!hint.is_empty()).then(|| hint.to_string())];
        let detail = parts.into_iter().flatten().collect::<Vec<_>>().join("\n\n");
        match e.node() {
            Some(node) => diags.attribute_error(AttributePath::attr(attr::NODES).with_key(node), e.summary(), detail),
            None => diags.error(format!("{what}: {}", e.summary()), detail),
        }
    }
    diags
}

fn warning_diagnostics(diags: &mut Diagnostics, warnings: &[KubeadmError]) {
    for w in warnings {
        diags.warning(w.node().map(|n| AttributePath::attr(attr::NODES).with_key(n)), w.summary(), w.to_string());
    }
}

/// Sets the credentials computed from `secrets`.
fn set_credentials(value: &mut Value, secrets: &ClusterSecrets) {
    let endpoint = value.get(attr::CONTROL_PLANE_ENDPOINT).clone();
    let cluster_name = value.get(attr::CLUSTER_NAME).clone();
    value.set(attr::ID, endpoint.clone());
    value.set(attr::CLUSTER_CA_CERTIFICATE, Value::string(&secrets.ca.cert_pem));
    value.set(attr::CLIENT_CERTIFICATE, Value::string(&secrets.admin.cert_pem));
    value.set(attr::CLIENT_KEY, Value::string(&secrets.admin.key_pem));
    value.set(attr::CA_CERT_HASH, pki::ca_cert_hash(&secrets.ca.cert_pem).map(Value::string).unwrap_or(Value::Unknown));
    match (endpoint.as_str(), cluster_name.as_str()) {
        (Some(endpoint), Some(name)) => {
            let server = format!("https://{endpoint}");
            value.set(
                "kubeconfig",
                Value::string(pki::admin_kubeconfig(name, &server, &secrets.ca.cert_pem, &secrets.admin)),
            );
            value.set(attr::HOST, Value::string(server));
        }
        _ => {
            value.set(attr::KUBECONFIG, Value::Unknown);
            value.set(attr::HOST, Value::Unknown);
        }
    }
}

/// `certificates_expire` after an apply, for the control planes in
/// `state`'s nodes: the renewed ones' new expiry, a fresh handshake for
/// the ones in `touched` (joined) or all of them on create (`touched`
/// empty and no prior entries), the prior entry for the rest.
async fn observed_certificates(
    state: &Value,
    cluster: &Cluster,
    secrets: &ClusterSecrets,
    touched: &BTreeSet<String>,
    progress: &Progress,
) -> Value {
    let prior = state.get(certificate_state::ATTRIBUTE);
    let control_planes: Vec<(String, String)> =
        cluster.control_planes().map(|n| (n.spec.name.clone(), n.spec.address.clone())).collect();
    let to_read: Vec<(String, String)> = control_planes
        .iter()
        .filter(|(name, _)| !progress.certificates.contains_key(name))
        .filter(|(name, _)| touched.contains(name) || prior.is_unknown() || prior.is_null())
        .cloned()
        .collect();
    let mut fresh = certificates::observe(&to_read, &secrets.ca.cert_pem, certificates::REFRESH_TIMEOUT).await;
    fresh.extend(progress.certificates.clone());
    let names: Vec<String> = control_planes.into_iter().map(|(name, _)| name).collect();
    certificate_state::merged(prior, &names, &fresh)
}

/// Plans `certificates_expire`: unknown for the control planes that join or
/// whose certificates are due (the apply renews those), with a warning for
/// any that expired already.
fn plan_certificates(
    prior: &Value,
    cluster: &Cluster,
    join: &BTreeSet<String>,
    upgrading: &BTreeSet<String>,
    planned: &mut Value,
    diags: &mut Diagnostics,
) {
    let now = OffsetDateTime::now_utc();
    let due = certificate_state::due(prior, cluster, join, now);
    for (name, at) in certificate_state::expired(prior, &due, now) {
        diags.warning(
            Some(AttributePath::attr(attr::NODES).with_key(name.clone())),
            "Control plane certificates expired",
            format!("The certificates of {name:?} expired at {at}: its components cannot authenticate to each other. This apply renews them (kubeadm certs renew all) and restarts its static pods, one control plane at a time. While the other control planes' etcd certificates are expired too, etcd has no quorum and the first renewed control plane can fail its health gate; the next apply goes on with the next one, and the cluster comes back once a majority is renewed."),
        );
    }
    // kubeadm upgrade renews an upgraded control plane's certificates too.
    let issued: Vec<String> = cluster
        .control_planes()
        .map(|cp| cp.spec.name.clone())
        .filter(|name| due.contains(name) || upgrading.contains(name))
        .collect();
    planned.set(certificate_state::ATTRIBUTE, certificate_state::planned(prior, cluster, join, &issued));
}

/// `nodes_status` from the API's node list, for the nodes in `names`.
fn nodes_status(names: impl Iterator<Item = String>, api: &BTreeMap<String, NodeInfo>) -> Value {
    Value::Map(
        names
            .map(|name| {
                let status = node_status(api.get(&name));
                (name, status)
            })
            .collect(),
    )
}

/// One `nodes_status` entry: what the API's node list says of a node
/// (`None`: not in the list, so not joined).
fn node_status(info: Option<&NodeInfo>) -> Value {
    let mut status = BTreeMap::new();
    status.insert("joined".to_string(), Value::Bool(info.is_some()));
    status.insert("ready".to_string(), Value::Bool(info.is_some_and(|i| i.ready)));
    status.insert(
        "kubelet_version".to_string(),
        Value::string(info.map(|i| i.kubelet_version.clone()).unwrap_or_default()),
    );
    status.insert("address".to_string(), Value::string(info.and_then(|i| i.internal_ip.clone()).unwrap_or_default()));
    status.insert("unschedulable".to_string(), Value::Bool(info.is_some_and(|i| i.unschedulable)));
    status.insert(
        "container_runtime".to_string(),
        Value::string(info.map(|i| i.container_runtime.clone()).unwrap_or_default()),
    );
    Value::Object(status)
}

/// A per-node computed map (`nodes_status`, `ssh_host_keys`) after a
/// change that joins the nodes in `join`: each node the change leaves alone
/// keeps exactly its prior entry (or none), so a plan shows known values for
/// them and the apply cannot differ; a joining node's entry is `joined(name)`
/// (unknown in a plan, the observed value after the apply).
fn per_node_after<'a>(
    prior: &Value,
    names: impl IntoIterator<Item = &'a String>,
    join: &BTreeSet<String>,
    joined: impl Fn(&str) -> Option<Value>,
) -> Value {
    let prior = prior.as_map();
    let entry = |name: &String| {
        if join.contains(name.as_str()) { joined(name) } else { prior.and_then(|m| m.get(name.as_str())).cloned() }
    };
    Value::Map(names.into_iter().filter_map(|name| entry(name).map(|v| (name.clone(), v))).collect())
}

fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect())
}

/// The secrets a plan carried in private state, for an apply.
fn apply_secrets(private: &[u8]) -> Result<ClusterSecrets, Diagnostics> {
    let decoded = Private::decode(private).map_err(|e| unreadable_private(&e))?;
    decoded.secrets.ok_or_else(|| {
        Diagnostics::from_error(
            "Plan without cluster secrets",
            "The plan could not read this cluster's certificates (see the plan's errors, or a provider bug). Run `terraform plan` again once a control plane answers over SSH.",
        )
    })
}

/// Writes what an update did into `state` (the planned value): nodes
/// whose removal did not happen stay, so the next plan shows it again, and
/// so do replaced nodes' old entries when the apply `failed` (else the next
/// plan no longer sees the replacement and verifies the new VM against its
/// old key); the joined nodes' host keys, the joined and upgraded nodes'
/// status; and after a failed upgrade the prior `kubernetes_version`.
fn record_update(
    state: &mut Value,
    prior: &Value,
    changes: &Changes,
    progress: &Progress,
    recorded: &BTreeMap<String, String>,
    failed: bool,
) {
    let mut kept: Vec<&str> =
        changes.remove.iter().filter(|r| !progress.removed.contains(&r.name)).map(|r| r.name.as_str()).collect();
    if failed {
        kept.extend(changes.replaced.iter().map(String::as_str));
    }
    if !kept.is_empty() {
        let nodes = with_prior_entries(state.get(attr::NODES), prior.get(attr::NODES), &kept);
        state.set(attr::NODES, nodes);
    }
    let names: Vec<String> = state.get(attr::NODES).as_map().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let mut keys = recorded.clone();
    keys.extend(progress.host_keys.clone());
    let joined_key = |name: &str| keys.get(name).map(Value::string);
    state.set(attr::SSH_HOST_KEYS, per_node_after(prior.get(attr::SSH_HOST_KEYS), &names, &changes.join, joined_key));
    let observed = |name: &str| Some(node_status(progress.api_nodes.get(name)));
    let status = per_node_after(prior.get(attr::NODES_STATUS), &names, &changes.observed_status(), observed);
    state.set(attr::NODES_STATUS, status);
    if failed && changes.upgrade.is_some() {
        // The next plan then shows the upgrade again, with what remains.
        state.set(attr::KUBERNETES_VERSION, prior.get(attr::KUBERNETES_VERSION).clone());
    }
}

/// `nodes` with the prior entries of `kept` (added or put back).
fn with_prior_entries(nodes: &Value, prior: &Value, kept: &[&str]) -> Value {
    let (Some(entries), Some(prior_entries)) = (nodes.as_map(), prior.as_map()) else { return nodes.clone() };
    let mut entries = entries.clone();
    for name in kept {
        if let Some(entry) = prior_entries.get(*name) {
            entries.insert(name.to_string(), entry.clone());
        }
    }
    Value::Map(entries)
}

/// Fewest members a cluster of `n` etcd members needs to keep quorum.
fn quorum(n: usize) -> usize {
    n / 2 + 1
}

impl KubeadmCluster {
    /// A create plan: the secrets of an earlier, interrupted attempt when the
    /// init node still holds them, else those an earlier plan of this
    /// cluster generated (Terraform plans a create again during apply, and
    /// both plans must agree), else new ones.
    async fn secrets_for_create(
        &self,
        ctx: &CallContext,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<ClusterSecrets> {
        let cache = PlanCache::for_cluster(config);
        if inputs_known(config) {
            let cluster = match model::parse(config) {
                Ok(cluster) => cluster,
                Err(errors) => {
                    diags.extend(errors);
                    return None;
                }
            };
            if let Some(found) = probe_earlier_attempt(ctx, &cluster).await {
                diags.warning(
                    None,
                    "Resuming an earlier create",
                    format!(
                        "The init node {} holds the certificates of a create of this cluster that did not finish. This plan reuses them; the apply continues where that attempt stopped (no second kubeadm init).",
                        cluster.init_node
                    ),
                );
                if let Some(cache) = &cache {
                    cache.store(&found);
                }
                return Some(found);
            }
        }
        if let Some(found) = cache.as_ref().and_then(PlanCache::load) {
            return Some(found);
        }
        match pki::generate(OffsetDateTime::now_utc()) {
            Ok(s) => {
                if let Some(cache) = &cache {
                    cache.store(&s);
                }
                Some(s)
            }
            Err(e) => {
                diags.error("Cannot generate cluster certificates", e.to_string());
                None
            }
        }
    }

    /// Checks an update for changes that cannot be made, with the attribute at fault.
    fn check_update(
        prior: &Value,
        config: &Value,
        prior_nodes: &BTreeMap<String, model::Node>,
        diags: &mut Diagnostics,
    ) {
        let (before, after) = (prior.get(attr::KUBERNETES_VERSION), config.get(attr::KUBERNETES_VERSION));
        if let (Some(from), Some(to)) = (before.as_str(), after.as_str()) {
            check_version_change(prior, from, to, diags);
        }
        let nodes = config.get(attr::NODES);
        let Some(map) = nodes.as_map() else { return };
        for (name, node) in map {
            let (Some(before), Some(role)) = (prior_nodes.get(name), model::field(node, attr::ROLE).as_str()) else {
                continue;
            };
            if model::parse_role(role).is_some_and(|r| r != before.spec.role) {
                diags.attribute_error(
                    AttributePath::attr(attr::NODES).with_key(name.clone()).with_attr(attr::ROLE),
                    "A node's role cannot change",
                    format!(
                        "{name:?} is a {}. Remove it and add it again under a new name (or in two applies) to change its role.",
                        model::role_name(before.spec.role)
                    ),
                );
            }
        }
        if !nodes.is_wholly_known() {
            return;
        }
        let new_nodes = match model::parse_nodes(nodes) {
            Ok(nodes) => nodes,
            Err(errors) => return diags.extend(errors),
        };
        let prior_cps: BTreeSet<&String> =
            prior_nodes.values().filter(|n| n.spec.role == Role::ControlPlane).map(|n| &n.spec.name).collect();
        let removed = prior_cps.iter().filter(|n| !new_nodes.contains_key(**n)).count();
        let added = new_nodes
            .values()
            .filter(|n| n.spec.role == Role::ControlPlane && !prior_cps.contains(&n.spec.name))
            .count();
        // Joins run before removals: the removal happens in a cluster of
        // prior + added members and must leave a quorum of it.
        let members = prior_cps.len() + added;
        if removed > 0 && members - removed < quorum(members) {
            diags.attribute_error(
                AttributePath::attr(attr::NODES),
                "Removing these control planes would lose etcd quorum",
                format!(
                    "The cluster has {} control planes (etcd members){}; removing {removed} leaves {}, fewer than the {} a cluster of {members} needs to keep quorum. Remove fewer control planes per apply, or add replacements first.",
                    prior_cps.len(),
                    if added > 0 { format!(" plus {added} being added") } else { String::new() },
                    members - removed,
                    quorum(members)
                ),
            );
        }
    }
}

/// A `kubernetes_version` change: downgrades and skipped minors are refused
/// with kubeadm's reason; an upgrade to a minor that no longer supports the
/// nodes' container runtime is refused with the nodes that run it.
fn check_version_change(prior: &Value, from: &str, to: &str, diags: &mut Diagnostics) {
    let at = AttributePath::attr(attr::KUBERNETES_VERSION);
    match VersionChange::between(from, to) {
        Ok(VersionChange::Same) => {}
        Ok(VersionChange::Patch | VersionChange::Minor) => {
            let old_runtimes = version_upgrade::unsupported_runtimes(prior, to);
            if !old_runtimes.is_empty() {
                let nodes: Vec<String> = old_runtimes.iter().map(|(n, r)| format!("{n} ({r})")).collect();
                diags.attribute_error(
                    at,
                    "These nodes run containerd 1.x, which this Kubernetes version no longer supports",
                    format!(
                        "Kubernetes 1.35 is the last release that supports containerd 1.x, and these nodes report it: {}. Debian 13's own containerd is 1.7. Rebuild them on containerd 2.x first (`cloudinit_config` with `container_runtime {{ source = \"docker\" }}`, and a new `instance_id` per node), then upgrade to {to}. Keep kubernetes_version at {from} until then.",
                        nodes.join(", ")
                    ),
                );
            }
        }
        Err(e) => {
            let summary = match e {
                VersionChangeError::Downgrade { .. } => "Kubernetes downgrades are not possible",
                VersionChangeError::SkipsMinor { .. } => "Kubernetes upgrades go one minor at a time",
                VersionChangeError::Unparsable(_) | VersionChangeError::Major { .. } => {
                    "Unsupported Kubernetes version"
                }
            };
            diags.attribute_error(
                at,
                summary,
                format!("{e}. Keep kubernetes_version at {from}, or set the next version up."),
            );
        }
    }
}

/// A short-fused SSH session for a plan's look at `node`: a plan must not
/// hang on a VM that does not exist yet.
async fn plan_time_session(
    ctx: &CallContext,
    cluster: &Cluster,
    node: &model::Node,
) -> Result<NodeSession, KubeadmError> {
    let name = &node.spec.name;
    let policy = host_key_policy(cluster, name, None, false);
    NodeSession::connect(cluster, name, &node.spec.address, policy, PLAN_PROBE_TIMEOUT, &[], &ctx.cancel).await
}

/// Reads the init node's marker at plan time, if it answers quickly.
async fn probe_earlier_attempt(ctx: &CallContext, cluster: &Cluster) -> Option<ClusterSecrets> {
    let node = cluster.nodes.get(&cluster.init_node)?;
    let session = plan_time_session(ctx, cluster, node).await.ok()?;
    let probe = tokio::time::timeout(PLAN_PROBE_TIMEOUT, session.probe()).await;
    session.close().await;
    let marker = probe.ok()?.ok()?.marker?;
    (marker.endpoint == cluster.spec.control_plane_endpoint && marker.cluster_name == cluster.spec.cluster_name)
        .then_some(marker.secrets)
}

/// Reads the CA material of an existing cluster (adoption after import)
/// from the first control plane that answers, and issues new admin
/// credentials, token and certificate key for it.
async fn adopt_secrets(ctx: &CallContext, cluster: &Cluster) -> Result<ClusterSecrets, KubeadmError> {
    let mut last = None;
    for cp in cluster.control_planes() {
        let session = match plan_time_session(ctx, cluster, cp).await {
            Ok(s) => s,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let files = session.read_pki().await;
        session.close().await;
        let files = files?;
        let get = |name: &str| files.get(name).cloned().unwrap_or_default();
        let ca = CertPair { cert_pem: get("ca.crt"), key_pem: get("ca.key") };
        let admin = pki::issue_admin(&ca, OffsetDateTime::now_utc())?;
        return Ok(ClusterSecrets {
            front_proxy_ca: CertPair { cert_pem: get("front-proxy-ca.crt"), key_pem: get("front-proxy-ca.key") },
            etcd_ca: CertPair { cert_pem: get("etcd/ca.crt"), key_pem: get("etcd/ca.key") },
            service_account_key_pem: get("sa.key"),
            service_account_public_pem: get("sa.pub"),
            admin,
            ca,
            bootstrap_token: pki::new_bootstrap_token()?,
            certificate_key: pki::new_certificate_key()?,
        });
    }
    Err(last.unwrap_or(KubeadmError::NoControlPlane))
}

#[async_trait]
impl Resource for KubeadmCluster {
    fn type_name(&self) -> &'static str {
        "kubeadm_cluster"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value, private: &[u8]) -> ApplyOutcome {
        let secrets = match apply_secrets(private) {
            Ok(secrets) => secrets,
            Err(diagnostics) => return ApplyOutcome { diagnostics, ..ApplyOutcome::default() },
        };
        let cluster = match model::parse(planned) {
            Ok(cluster) => cluster,
            Err(diagnostics) => return ApplyOutcome { diagnostics, ..ApplyOutcome::default() },
        };
        let lifecycle = match Ctx::new(&cluster, &secrets, BTreeMap::new(), cluster.timeouts.create, ctx.cancel.clone())
        {
            Ok(c) => c,
            Err(e) => {
                return ApplyOutcome { diagnostics: error_diagnostics(&[e], "create", ""), ..ApplyOutcome::default() };
            }
        };
        let mut progress = Progress::default();
        let errors = match tokio::time::timeout(cluster.timeouts.create, lifecycle.create(&mut progress)).await {
            Ok(errors) => errors,
            Err(_) => vec![KubeadmError::Timeout { what: "create".into(), timeout: cluster.timeouts.create }],
        };
        if !errors.is_empty() {
            // Nothing in state: Terraform would taint a partial object and
            // plan a destroy. The init node's marker carries the attempt.
            let hint = "Nothing was recorded in state. Fix the cause and run `terraform apply` again: the plan picks up this attempt's certificates from the init node, and the apply resumes (no second kubeadm init, joined nodes stay joined).";
            return ApplyOutcome { diagnostics: error_diagnostics(&errors, "create", hint), ..ApplyOutcome::default() };
        }
        if let Some(cache) = PlanCache::for_cluster(planned) {
            cache.remove();
        }
        let mut state = planned.clone();
        set_credentials(&mut state, &secrets);
        state.set(attr::INIT_NODE, Value::string(&cluster.init_node));
        state.set(attr::NODES_STATUS, nodes_status(cluster.nodes.keys().cloned(), &progress.api_nodes));
        state.set(attr::SSH_HOST_KEYS, string_map_value(&progress.host_keys));
        state.set(
            certificate_state::ATTRIBUTE,
            observed_certificates(&state, &cluster, &secrets, &BTreeSet::new(), &progress).await,
        );
        ApplyOutcome { state, private: Private::encode(&secrets), diagnostics: Diagnostics::new() }
    }

    async fn read(&self, _ctx: &CallContext, state: &Value, private: &[u8]) -> ReadOutcome {
        let keep = |diagnostics| ReadOutcome { state: state.clone(), private: private.to_vec(), diagnostics };
        let decoded = match Private::decode(private) {
            Ok(decoded) => decoded,
            Err(e) => return keep(unreadable_private(&e)),
        };
        // Imported and not adopted yet: the next plan reads the cluster over SSH.
        let Some(secrets) = decoded.secrets else { return keep(Diagnostics::new()) };
        let Some(server) = state.get(attr::HOST).as_str() else { return keep(Diagnostics::new()) };
        let nodes = async {
            let api = ApiClient::new(server, &secrets.ca.cert_pem, &secrets.admin, Duration::from_secs(10))?;
            api.nodes().await
        };
        let control_planes = match certificate_state::control_planes(state.get(attr::NODES)) {
            Ok(control_planes) => control_planes,
            Err(diagnostics) => return keep(diagnostics),
        };
        let expiries = certificates::observe(&control_planes, &secrets.ca.cert_pem, certificates::REFRESH_TIMEOUT);
        let (nodes, expiries) = tokio::join!(nodes, expiries);
        let mut refreshed = state.clone();
        let cp_names: Vec<String> = control_planes.into_iter().map(|(name, _)| name).collect();
        refreshed.set(
            certificate_state::ATTRIBUTE,
            certificate_state::merged(state.get(certificate_state::ATTRIBUTE), &cp_names, &expiries),
        );
        let mut diagnostics = Diagnostics::new();
        match nodes {
            Ok(api_nodes) => {
                let names =
                    state.get(attr::NODES).as_map().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
                refreshed.set(attr::NODES_STATUS, nodes_status(names.into_iter(), &api_nodes));
            }
            Err(e) => {
                diagnostics.warning(
                    None,
                    "Kubernetes API server did not answer; keeping the last known state",
                    format!("{e}\n\nThe plan uses the node status from the last apply. Check kube-vip and the control planes (see docs/troubleshooting.md)."),
                );
            }
        }
        ReadOutcome { state: refreshed, private: private.to_vec(), diagnostics }
    }

    async fn update(
        &self,
        ctx: &CallContext,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        private: &[u8],
    ) -> ApplyOutcome {
        let secrets = match apply_secrets(private) {
            Ok(secrets) => secrets,
            Err(diagnostics) => return ApplyOutcome { state: prior.clone(), private: private.to_vec(), diagnostics },
        };
        let refuse = |diagnostics| ApplyOutcome { state: prior.clone(), private: private.to_vec(), diagnostics };
        let cluster = match model::parse(planned) {
            Ok(cluster) => cluster,
            Err(diagnostics) => return refuse(diagnostics),
        };
        let changes = match Changes::plan(prior, planned, &cluster) {
            Ok(changes) => changes,
            Err(diagnostics) => return refuse(diagnostics),
        };
        let mut state = planned.clone();
        set_credentials(&mut state, &secrets);
        if changes.adopting {
            if let Some(cache) = PlanCache::for_cluster(planned) {
                cache.remove();
            }
        }
        if !changes.is_remote() {
            // Nothing joined or renewed: a per-node value the plan could not
            // know (its `nodes` were unknown then) is what state knew.
            for attribute in ["nodes_status", "ssh_host_keys", certificate_state::ATTRIBUTE] {
                if !state.get(attribute).is_wholly_known() {
                    state.set(attribute, prior.get(attribute).clone());
                }
            }
            return ApplyOutcome { state, private: Private::encode(&secrets), diagnostics: Diagnostics::new() };
        }
        let recorded = string_map(prior.get(attr::SSH_HOST_KEYS));
        let lifecycle =
            match Ctx::new(&cluster, &secrets, recorded.clone(), cluster.timeouts.update, ctx.cancel.clone()) {
                Ok(c) => c,
                Err(e) => {
                    let diagnostics = error_diagnostics(&[e], "update", "");
                    return ApplyOutcome { state: prior.clone(), private: private.to_vec(), diagnostics };
                }
            };
        let mut progress = Progress::default();
        let errors =
            match tokio::time::timeout(cluster.timeouts.update, lifecycle.update(&changes, &mut progress)).await {
                Ok(errors) => errors,
                Err(_) => vec![KubeadmError::Timeout { what: "update".into(), timeout: cluster.timeouts.update }],
            };
        record_update(&mut state, prior, &changes, &progress, &recorded, !errors.is_empty());
        state.set(
            certificate_state::ATTRIBUTE,
            observed_certificates(&state, &cluster, &secrets, &changes.touched_certificates(), &progress).await,
        );
        let mut diagnostics = Diagnostics::new();
        warning_diagnostics(&mut diagnostics, &progress.warnings);
        diagnostics.extend(error_diagnostics(
            &errors,
            "update",
            "What finished is recorded in state. Fix the cause and run `terraform apply` again: joined nodes stay joined and the rest continues.",
        ));
        ApplyOutcome { state, private: Private::encode(&secrets), diagnostics }
    }

    async fn delete(&self, ctx: &CallContext, prior: &Value, private: &[u8]) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let cluster = match model::parse(prior) {
            Ok(cluster) => cluster,
            Err(diagnostics) => return diagnostics,
        };
        if cluster.destroy_mode == DestroyMode::Forget {
            return diags;
        }
        let secrets = match Private::decode(private) {
            Ok(Private { secrets: Some(secrets) }) => secrets,
            Ok(Private { secrets: None }) => return diags,
            Err(e) => {
                diags.extend(unreadable_private(&e));
                return diags;
            }
        };
        let recorded = string_map(prior.get(attr::SSH_HOST_KEYS));
        let lifecycle = match Ctx::new(&cluster, &secrets, recorded, cluster.timeouts.delete, ctx.cancel.clone()) {
            Ok(c) => c,
            Err(e) => return error_diagnostics(&[e], "destroy", ""),
        };
        let names: Vec<String> = cluster.nodes.keys().cloned().collect();
        let errors = match tokio::time::timeout(cluster.timeouts.delete, lifecycle.reset_all(&names)).await {
            Ok(errors) => errors,
            Err(_) => vec![KubeadmError::Timeout { what: "destroy".into(), timeout: cluster.timeouts.delete }],
        };
        // A node that no longer answers (its VM is gone) has nothing to reset.
        let (unreachable, failed): (Vec<_>, Vec<_>) = errors.into_iter().partition(KubeadmError::is_unreachable);
        warning_diagnostics(&mut diags, &unreachable);
        diags.extend(error_diagnostics(
            &failed,
            "destroy",
            "The resource stays in state. Fix the node (or set destroy_mode = \"forget\") and run `terraform destroy` again.",
        ));
        diags
    }

    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }

    fn as_import_state(&self) -> Option<&dyn ImportState> {
        Some(self)
    }

    fn as_upgrade_state(&self) -> Option<&dyn UpgradeState> {
        Some(self)
    }
}

#[async_trait]
impl ValidateConfig for KubeadmCluster {
    async fn validate_config(&self, config: &Value) -> Diagnostics {
        model::validate(config)
    }
}

#[async_trait]
impl ModifyPlan for KubeadmCluster {
    async fn modify_plan(&self, ctx: &CallContext, request: &mut PlanRequest<'_>) {
        if request.planned.is_null() {
            return;
        }
        let mut diags = Diagnostics::new();
        plan_init_node(request);
        let prior_private = match Private::decode(&request.private) {
            Ok(decoded) => decoded.secrets,
            Err(e) => {
                request.diagnostics.extend(unreadable_private(&e));
                return;
            }
        };
        let secrets = match prior_private {
            _ if request.prior.is_null() => self.secrets_for_create(ctx, &request.planned, &mut diags).await,
            Some(secrets) => Some(secrets),
            None => plan_adoption(ctx, request, &mut diags).await,
        };
        let Some(mut secrets) = secrets else {
            request.diagnostics.extend(diags);
            return;
        };
        renew_admin_if_expiring(&mut secrets, &mut diags);
        set_credentials(&mut request.planned, &secrets);
        if request.prior.is_null() {
            for attribute in ["nodes_status", "ssh_host_keys", certificate_state::ATTRIBUTE] {
                request.planned.set(attribute, Value::Unknown);
            }
        } else {
            plan_update(request.prior, request.config, &mut request.planned, &mut diags);
        }
        request.private = Private::encode(&secrets);
        request.diagnostics.extend(diags);
    }
}

/// `init_node` left out: the prior one, else the first control plane by name.
fn plan_init_node(request: &mut PlanRequest<'_>) {
    if !request.config.get(attr::INIT_NODE).is_null() {
        return;
    }
    let init = if !request.prior.get(attr::INIT_NODE).is_null() {
        request.prior.get(attr::INIT_NODE).clone()
    } else if request.config.get(attr::NODES).is_wholly_known() {
        match model::parse_nodes(request.config.get(attr::NODES)) {
            Ok(nodes) => model::default_init_node(&nodes).map_or(Value::Null, Value::string),
            Err(errors) => {
                request.diagnostics.extend(errors);
                Value::Unknown
            }
        }
    } else {
        Value::Unknown
    };
    request.planned.set(attr::INIT_NODE, init);
}

/// An imported cluster: its CA read from a control plane over SSH, with new
/// admin credentials (kept between the two plans of the apply while the CA
/// is the same). The placeholder state's nulls are not a different cluster.
async fn plan_adoption(
    ctx: &CallContext,
    request: &mut PlanRequest<'_>,
    diags: &mut Diagnostics,
) -> Option<ClusterSecrets> {
    request.requires_replace.clear();
    if !inputs_known(&request.planned) {
        return None;
    }
    let cluster = match model::parse(&request.planned) {
        Ok(cluster) => cluster,
        Err(errors) => {
            diags.extend(errors);
            return None;
        }
    };
    match adopt_secrets(ctx, &cluster).await {
        Ok(adopted) => Some(match PlanCache::for_cluster(&request.planned) {
            Some(cache) => match cache.load().filter(|cached| cached.ca == adopted.ca) {
                Some(cached) => cached,
                None => {
                    cache.store(&adopted);
                    adopted
                }
            },
            None => adopted,
        }),
        Err(e) => {
            diags.extend(error_diagnostics(
                &[e],
                "import",
                "Adopting an imported cluster reads its CA from a control plane over SSH with the `ssh` settings of the configuration.",
            ));
            None
        }
    }
}

/// Renews the admin certificate ahead of expiry; the new one shows as a
/// sensitive change once, then the plan settles again.
fn renew_admin_if_expiring(secrets: &mut ClusterSecrets, diags: &mut Diagnostics) {
    let now = OffsetDateTime::now_utc();
    if !pki::not_after(&secrets.admin.cert_pem).is_ok_and(|t| t - now < RENEW_BEFORE) {
        return;
    }
    match pki::issue_admin(&secrets.ca, now) {
        Ok(admin) => secrets.admin = admin,
        Err(e) => diags.error("Cannot renew the admin certificate", e.to_string()),
    }
}

/// An update's plan: changes that cannot be made are errors; the per-node
/// computed values are known for the nodes the change leaves alone and
/// unknown for those it touches; NotReady nodes are warnings.
fn plan_update(prior: &Value, config: &Value, planned: &mut Value, diags: &mut Diagnostics) {
    let prior_nodes = match model::parse_nodes(prior.get(attr::NODES)) {
        Ok(nodes) => nodes,
        Err(errors) => return diags.extend(errors),
    };
    KubeadmCluster::check_update(prior, config, &prior_nodes, diags);
    if config.get(attr::NODES).is_wholly_known() {
        let parsed = model::parse_nodes(config.get(attr::NODES))
            .and_then(|nodes| Ok(Cluster { nodes, ..model::parse(planned)? }))
            .and_then(|cluster| Ok((Changes::plan(prior, planned, &cluster)?, cluster)));
        let (changes, cluster) = match parsed {
            Ok(parsed) => parsed,
            Err(errors) => return diags.extend(errors),
        };
        let upgrading = plan_upgrade(prior, planned, &cluster, &changes, diags);
        let unknown = |_: &str| Some(Value::Unknown);
        let observed: BTreeSet<String> = changes.join.iter().chain(&upgrading).cloned().collect();
        planned.set(
            attr::NODES_STATUS,
            per_node_after(prior.get(attr::NODES_STATUS), cluster.nodes.keys(), &observed, unknown),
        );
        let keys = per_node_after(prior.get(attr::SSH_HOST_KEYS), cluster.nodes.keys(), &changes.join, unknown);
        planned.set(attr::SSH_HOST_KEYS, keys);
        plan_certificates(prior, &cluster, &changes.join, &upgrading, planned, diags);
    } else {
        for attribute in ["nodes_status", "ssh_host_keys", certificate_state::ATTRIBUTE] {
            planned.set(attribute, Value::Unknown);
        }
    }
    warn_not_ready(prior, diags);
}

/// The nodes a `kubernetes_version` upgrade still moves (their
/// `nodes_status` entries go unknown). An upgrade beside joins or removals
/// is refused: the new nodes would join with the new version's kubeadm
/// before the control plane runs it.
fn plan_upgrade(
    prior: &Value,
    planned: &Value,
    cluster: &Cluster,
    changes: &Changes,
    diags: &mut Diagnostics,
) -> BTreeSet<String> {
    let Some(to) = version_upgrade::target(prior, planned) else { return BTreeSet::new() };
    if !changes.join.is_empty() || !changes.remove.is_empty() {
        let names: Vec<&str> =
            changes.join.iter().map(String::as_str).chain(changes.remove.iter().map(|r| r.name.as_str())).collect();
        diags.attribute_error(
            AttributePath::attr(attr::KUBERNETES_VERSION),
            "Upgrade the cluster in an apply of its own",
            format!(
                "This change upgrades the cluster to {to} and also joins or removes nodes ({}). Apply the membership change first with kubernetes_version unchanged, then the upgrade (or the other way round): a node must not join while the control plane and its kubeadm disagree on the version.",
                names.join(", ")
            ),
        );
        return BTreeSet::new();
    }
    version_upgrade::remaining(prior, cluster, &to, &changes.join).nodes()
}

/// A plan warning per node the API server last reported NotReady, or
/// cordoned.
fn warn_not_ready(prior: &Value, diags: &mut Diagnostics) {
    for (name, status) in prior.get(attr::NODES_STATUS).as_map().into_iter().flatten() {
        if status.get("joined").as_bool() == Some(true) && status.get("ready").as_bool() == Some(false) {
            diags.warning(
                Some(AttributePath::attr(attr::NODES).with_key(name.clone())),
                "Node is NotReady",
                format!("The API server reports node {name:?} NotReady (no CNI installed yet, kubelet down, or the VM in trouble). See docs/troubleshooting.md."),
            );
        }
        if status.get("unschedulable").as_bool() == Some(true) {
            diags.warning(
                Some(AttributePath::attr(attr::NODES).with_key(name.clone())),
                "Node is cordoned",
                format!("The API server reports node {name:?} unschedulable. If an upgrade was interrupted there, the next apply of the upgrade finishes the node and lifts its cordon; a cordon someone else set stays (`kubectl uncordon {name}`)."),
            );
        }
    }
}

#[async_trait]
impl ImportState for KubeadmCluster {
    async fn import_state(&self, _ctx: &CallContext, id: &str) -> ApplyOutcome {
        if split_endpoint(id).is_none() {
            return ApplyOutcome {
                diagnostics: Diagnostics::from_error(
                    "Invalid import ID",
                    format!(
                        "{id:?} must be the cluster's control plane endpoint, \"HOST:PORT\" (e.g. 192.168.100.200:6443)."
                    ),
                ),
                ..ApplyOutcome::default()
            };
        }
        let mut state = BTreeMap::new();
        for attribute in schema().block.attributes {
            state.insert(attribute.name.to_string(), Value::Null);
        }
        for block in schema().block.blocks {
            state.insert(block.name.to_string(), Value::Null);
        }
        state.insert("id".into(), Value::string(id));
        state.insert("control_plane_endpoint".into(), Value::string(id));
        let mut diags = Diagnostics::new();
        diags.warning(
            None,
            "Imported cluster is adopted at the next apply",
            "The import recorded only the endpoint. The next `terraform plan` reads the cluster's CA from a control plane over SSH (with the configuration's `ssh` settings), and the apply records the nodes; nodes already in the cluster are not joined again.",
        );
        ApplyOutcome { state: Value::Object(state), private: Vec::new(), diagnostics: diags }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kubeadm::node_metadata::Dropped;
    use crate::value::untyped_from_json as v;

    fn cluster(nodes: serde_json::Value) -> Value {
        v(serde_json::json!({
            "kubernetes_version": "1.35.0",
            "control_plane_endpoint": "10.0.0.100:6443",
            "cluster_name": "lab",
            "nodes": nodes,
        }))
    }

    fn cp(address: &str) -> serde_json::Value {
        serde_json::json!({"role": "control-plane", "address": address})
    }

    fn wk(address: &str) -> serde_json::Value {
        serde_json::json!({"role": "worker", "address": address})
    }

    fn check(prior: &Value, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        KubeadmCluster::check_update(
            prior,
            config,
            &model::parse_nodes(prior.get(attr::NODES)).expect("prior nodes"),
            &mut diags,
        );
        diags
    }

    #[test]
    fn quorum_is_a_strict_majority() {
        assert_eq!([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
    }

    #[test]
    fn removing_control_planes_below_quorum_is_refused_on_nodes() {
        let three =
            cluster(serde_json::json!({"cp-1": cp("10.0.0.1"), "cp-2": cp("10.0.0.2"), "cp-3": cp("10.0.0.3")}));
        let one_left = cluster(serde_json::json!({"cp-1": cp("10.0.0.1")}));
        let diags = check(&three, &one_left);
        let diag = diags.iter().next().expect("an error");
        assert!(diag.summary.contains("quorum"), "{diag:?}");
        assert_eq!(diag.path, Some(AttributePath::attr(attr::NODES)));

        let two_left = cluster(serde_json::json!({"cp-1": cp("10.0.0.1"), "cp-2": cp("10.0.0.2")}));
        assert!(check(&three, &two_left).is_empty(), "3 -> 2 keeps quorum");
        // Joins run first: replacing one of three in one apply is fine.
        let swapped =
            cluster(serde_json::json!({"cp-1": cp("10.0.0.1"), "cp-2": cp("10.0.0.2"), "cp-4": cp("10.0.0.4")}));
        assert!(check(&three, &swapped).is_empty());
        let two = two_left;
        assert!(!check(&two, &one_left).is_empty(), "2 -> 1 loses quorum");
    }

    #[test]
    fn version_and_role_changes_are_plan_errors_on_their_attribute() {
        let mut prior = cluster(serde_json::json!({"cp-1": cp("10.0.0.1"), "wk-1": wk("10.0.0.2")}));
        let status = |runtime: &str| serde_json::json!({"joined": true, "ready": true, "kubelet_version": "v1.35.0", "address": "", "unschedulable": false, "container_runtime": runtime});
        prior.set(
            "nodes_status",
            v(serde_json::json!({"cp-1": status("containerd://2.1.4"), "wk-1": status("containerd://1.7.24")})),
        );
        let mut newer = prior.clone();
        newer.set(attr::KUBERNETES_VERSION, Value::string("1.36.0"));
        let diags = check(&prior, &newer);
        let error = diags.iter().next().expect("containerd 1.x refused for 1.36");
        assert_eq!(error.path, Some(AttributePath::attr(attr::KUBERNETES_VERSION)));
        assert!(
            error.detail.contains("wk-1 (containerd://1.7.24)") && !error.detail.contains("cp-1"),
            "{}",
            error.detail
        );
        let summary = |version: &str| {
            let mut changed = prior.clone();
            changed.set(attr::KUBERNETES_VERSION, Value::string(version));
            check(&prior, &changed).iter().next().map(|d| d.summary.clone()).unwrap_or_default()
        };
        assert_eq!(summary("1.37.0"), "Kubernetes upgrades go one minor at a time");
        assert_eq!(summary("1.34.9"), "Kubernetes downgrades are not possible");
        assert_eq!(summary("1.35.1"), "");
        assert_eq!(
            summary("1.36.2"),
            "These nodes run containerd 1.x, which this Kubernetes version no longer supports"
        );
        assert_eq!(summary("1.35.0"), "");
        let promoted = cluster(serde_json::json!({"cp-1": cp("10.0.0.1"), "wk-1": cp("10.0.0.2")}));
        let diags = check(&prior, &promoted);
        assert_eq!(
            diags.iter().next().and_then(|d| d.path.clone()),
            Some(AttributePath::attr(attr::NODES).with_key("wk-1").with_attr(attr::ROLE))
        );
    }

    #[test]
    fn changes_name_exactly_the_nodes_that_need_work() {
        let mut prior = cluster(serde_json::json!({
            "cp-1": cp("10.0.0.1"),
            "wk-1": {"role": "worker", "address": "10.0.0.11", "instance_id": "a"},
            "wk-2": {"role": "worker", "address": "10.0.0.12", "labels": {"old": "x", "keep": "y"}},
            "wk-3": wk("10.0.0.13"),
            "wk-4": wk("10.0.0.14"),
            "cp-2": cp("10.0.0.2"),
        }));
        prior.set(
            "nodes_status",
            v(serde_json::json!({"wk-3": {"joined": false, "ready": false, "kubelet_version": "", "address": ""}})),
        );
        let config = cluster(serde_json::json!({
            "cp-1": cp("10.0.0.1"),
            "wk-1": {"role": "worker", "address": "10.0.0.11", "instance_id": "b"},
            "wk-2": {"role": "worker", "address": "10.0.0.12", "labels": {"keep": "z"}},
            "wk-3": wk("10.0.0.13"),
            "wk-5": wk("10.0.0.15"),
        }));
        let parsed = model::parse(&config).expect("the configuration reads");
        let changes = Changes::plan(&prior, &config, &parsed).expect("the prior state reads");
        let names = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
        assert_eq!(names(&changes.replaced), ["wk-1"]);
        assert_eq!(names(&changes.join), ["wk-1", "wk-3", "wk-5"], "replaced, departed, new");
        let dropped = Dropped { labels: vec!["old".to_string()], taints: vec![] };
        assert_eq!(changes.relabel, [("wk-2".to_string(), dropped)]);
        let removed: Vec<&str> = changes.remove.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(removed, ["wk-4", "cp-2"], "workers before control planes");
    }
}

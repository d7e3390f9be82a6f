//! A `kubernetes_version` upgrade as the plan sees it: which nodes still
//! have to move, read from `nodes_status` as the last refresh found it
//! (the API server's Node list), so planning an upgrade opens no SSH
//! session; and what no upgrade can do.

use std::collections::BTreeSet;

use super::attributes as attr;
use super::config::{Role, parse_version};
use super::model::Cluster;
use super::version_change::VersionChange;
use crate::value::Value;

/// The first minor that no longer supports containerd 1.x.
const NO_CONTAINERD_1_FROM_MINOR: u32 = 36;

/// The nodes an upgrade still has to move, in the order they move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upgrade {
    /// The target, `1.35.4`.
    pub to: String,
    /// Control planes, one at a time, in name order.
    pub control_planes: Vec<String>,
    /// Workers, in name order, in batches of `upgrade.max_unavailable`.
    pub workers: Vec<String>,
}

impl Upgrade {
    /// Every node it moves.
    pub fn nodes(&self) -> BTreeSet<String> {
        self.control_planes.iter().chain(&self.workers).cloned().collect()
    }

    fn of(to: &str, cluster: &Cluster, names: &BTreeSet<String>) -> Self {
        let of_role = |role: Role| -> Vec<String> {
            cluster
                .nodes
                .values()
                .filter(|n| n.spec.role == role && names.contains(&n.spec.name))
                .map(|n| n.spec.name.clone())
                .collect()
        };
        Upgrade { to: to.to_owned(), control_planes: of_role(Role::ControlPlane), workers: of_role(Role::Worker) }
    }
}

/// The version `prior` records and the one `planned` asks for, when that is
/// an upgrade kubeadm can make (a refused change is a plan error elsewhere).
pub fn target(prior: &Value, planned: &Value) -> Option<String> {
    let (from, to) = (prior.get(attr::KUBERNETES_VERSION).as_str()?, planned.get(attr::KUBERNETES_VERSION).as_str()?);
    matches!(VersionChange::between(from, to), Ok(VersionChange::Patch | VersionChange::Minor)).then(|| to.to_owned())
}

/// At plan time: the nodes of `cluster` (except those joining) that are
/// not done with the upgrade to `to`: their kubelet reports another
/// version, they are not in the last Node list, or they are cordoned (the
/// cordon of an interrupted upgrade is lifted by the apply).
pub fn remaining(prior: &Value, cluster: &Cluster, to: &str, join: &BTreeSet<String>) -> Upgrade {
    let target = format!("v{to}");
    let statuses = prior.get(attr::NODES_STATUS);
    let pending: BTreeSet<String> = cluster
        .nodes
        .keys()
        .filter(|name| !join.contains(*name))
        .filter(|name| {
            let status = statuses.as_map().and_then(|m| m.get(*name));
            status.is_none_or(|s| {
                s.get("kubelet_version").as_str() != Some(target.as_str())
                    || s.get("unschedulable").as_bool() == Some(true)
            })
        })
        .cloned()
        .collect();
    Upgrade::of(to, cluster, &pending)
}

/// At apply time: the upgrade the plan decided, the nodes whose planned
/// `nodes_status` entry it left unknown (except those joining).
pub fn planned(prior: &Value, planned: &Value, cluster: &Cluster, join: &BTreeSet<String>) -> Option<Upgrade> {
    let to = target(prior, planned)?;
    let statuses = planned.get(attr::NODES_STATUS);
    let unknown: BTreeSet<String> = match statuses.as_map() {
        Some(map) => map.iter().filter(|(_, s)| s.is_unknown()).map(|(name, _)| name.clone()).collect(),
        None if statuses.is_unknown() => cluster.nodes.keys().cloned().collect(),
        None => BTreeSet::new(),
    };
    let names = unknown.into_iter().filter(|n| !join.contains(n)).collect();
    Some(Upgrade::of(&to, cluster, &names))
}

/// Nodes whose runtime (as the last refresh saw it) is containerd 1.x, when
/// the upgrade goes to a minor that no longer supports it: `(node, runtime)`.
pub fn unsupported_runtimes(prior: &Value, to: &str) -> Vec<(String, String)> {
    if parse_version(to).is_none_or(|(_, minor, _)| minor < NO_CONTAINERD_1_FROM_MINOR) {
        return Vec::new();
    }
    prior
        .get(attr::NODES_STATUS)
        .as_map()
        .into_iter()
        .flatten()
        .filter_map(|(name, status)| {
            let runtime = status.get("container_runtime").as_str()?;
            runtime.starts_with("containerd://1.").then(|| (name.clone(), runtime.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeadm::model;
    use crate::value::untyped_from_json as v;

    fn cluster() -> Cluster {
        let config = v(serde_json::json!({
            "kubernetes_version": "1.35.4",
            "control_plane_endpoint": "10.0.0.100:6443",
            "nodes": {
                "cp-1": {"role": "control-plane", "address": "10.0.0.11"},
                "cp-2": {"role": "control-plane", "address": "10.0.0.12"},
                "wk-1": {"role": "worker", "address": "10.0.0.21"},
                "wk-2": {"role": "worker", "address": "10.0.0.22"},
            },
        }));
        model::parse(&config).expect("the configuration reads")
    }

    fn status(version: &str, cordoned: bool, runtime: &str) -> serde_json::Value {
        serde_json::json!({"joined": true, "ready": true, "kubelet_version": version, "address": "",
                           "unschedulable": cordoned, "container_runtime": runtime})
    }

    #[test]
    fn what_remains_is_every_node_not_at_the_target_or_still_cordoned() {
        let prior = v(serde_json::json!({
            "kubernetes_version": "1.34.4",
            "nodes_status": {
                "cp-1": status("v1.35.4", false, ""),
                "cp-2": status("v1.34.4", false, ""),
                "wk-1": status("v1.35.4", true, ""),
            },
        }));
        let upgrade = remaining(&prior, &cluster(), "1.35.4", &BTreeSet::new());
        assert_eq!(upgrade.control_planes, ["cp-2"]);
        // wk-1 is done but cordoned; wk-2 is in no Node list yet.
        assert_eq!(upgrade.workers, ["wk-1", "wk-2"]);
        let joining = BTreeSet::from(["wk-2".to_owned()]);
        assert_eq!(remaining(&prior, &cluster(), "1.35.4", &joining).workers, ["wk-1"]);
    }

    #[test]
    fn the_apply_moves_the_nodes_the_plan_left_unknown() {
        let prior = v(serde_json::json!({"kubernetes_version": "1.34.4"}));
        let mut planned = v(serde_json::json!({"kubernetes_version": "1.35.4", "nodes_status": {
            "cp-1": status("v1.35.4", false, ""), "wk-1": status("v1.35.4", false, "")}}));
        let mut statuses = planned.get(attr::NODES_STATUS).as_map().cloned().unwrap_or_default();
        statuses.insert("cp-2".into(), Value::Unknown);
        statuses.insert("wk-2".into(), Value::Unknown);
        planned.set(attr::NODES_STATUS, Value::Map(statuses));
        let upgrade = planned_upgrade(&prior, &planned);
        assert_eq!(upgrade.control_planes, ["cp-2"]);
        assert_eq!(upgrade.workers, ["wk-2"]);
        let same = v(serde_json::json!({"kubernetes_version": "1.34.4"}));
        assert_eq!(super::planned(&prior, &same, &cluster(), &BTreeSet::new()), None);
    }

    fn planned_upgrade(prior: &Value, planned: &Value) -> Upgrade {
        super::planned(prior, planned, &cluster(), &BTreeSet::new()).expect("an upgrade")
    }

    #[test]
    fn containerd_1_blocks_1_36_only() {
        let prior = v(serde_json::json!({"nodes_status": {
            "cp-1": status("v1.35.4", false, "containerd://1.7.24"),
            "wk-1": status("v1.35.4", false, "containerd://2.1.4"),
        }}));
        assert_eq!(unsupported_runtimes(&prior, "1.36.0"), [("cp-1".to_owned(), "containerd://1.7.24".to_owned())]);
        assert!(unsupported_runtimes(&prior, "1.35.9").is_empty());
    }
}

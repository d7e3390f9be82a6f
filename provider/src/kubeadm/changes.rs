//! The change set of an update: which nodes join, leave, get new labels or
//! renewed certificates, worked out once from prior state and the plan.
//! `modify_plan` uses it to say what the apply will touch, `update` to do it.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::attributes as attr;
use super::certificate_state;
use super::config::Role;
use super::model::{self, Cluster};
use super::node_metadata::Dropped;
use super::version_upgrade::{self, Upgrade};
use crate::framework::Diagnostics;
use crate::value::Value;

/// What an update must do beyond the create path.
#[derive(Debug, Default)]
pub struct Changes {
    /// Nodes whose VM was replaced: new host key expected, stale Node and etcd member go.
    pub replaced: BTreeSet<String>,
    /// Nodes to join (new, replaced, or no longer in the cluster).
    pub join: BTreeSet<String>,
    /// Nodes to remove, in order.
    pub remove: Vec<Removal>,
    /// Nodes whose labels or taints changed, with what comes off them.
    pub relabel: Vec<(String, Dropped)>,
    /// The kube-vip settings changed: rewrite the manifest on the control planes.
    pub kube_vip: bool,
    /// The cluster was imported: its nodes are checked and the missing ones joined.
    pub adopting: bool,
    /// The control planes before this change (those that may run the
    /// cluster-side steps of joins and removals).
    pub prior_control_planes: Vec<String>,
    /// Control planes whose certificates are renewed, in order: the ones
    /// the plan left unknown in `certificates_expire`.
    pub renew: Vec<String>,
    /// Every control plane's certificate expiry as state recorded it (a
    /// renewal must move it).
    pub expiries: BTreeMap<String, OffsetDateTime>,
    /// The nodes a `kubernetes_version` upgrade still moves (the ones the
    /// plan left unknown in `nodes_status`); none when nothing is left.
    pub upgrade: Option<Upgrade>,
}

/// A node leaving the cluster, as state last knew it.
#[derive(Debug, Clone)]
pub struct Removal {
    pub name: String,
    pub role: Role,
    pub address: String,
}

impl Changes {
    /// The change from `prior` state to `cluster` (the parsed plan),
    /// `planned` being the planned value. While planning, `planned` is the
    /// proposed value and `renew` comes out empty (the plan decides it
    /// from the expiries instead).
    ///
    /// # Errors
    /// A prior state whose nodes break their rules (a damaged state).
    pub fn plan(prior: &Value, planned: &Value, cluster: &Cluster) -> Result<Self, Diagnostics> {
        let adopting = prior.get(attr::NODES).is_null();
        let prior_nodes = model::parse_nodes(prior.get(attr::NODES))?;
        let mut changes = Changes { adopting, ..Changes::default() };
        changes.nodes(prior, &prior_nodes, cluster);
        changes.remove = removals(&prior_nodes, cluster);
        changes.kube_vip = !adopting && prior.get(attr::KUBE_VIP) != planned.get(attr::KUBE_VIP);
        changes.prior_control_planes = if adopting {
            cluster.control_planes().map(|n| n.spec.name.clone()).collect()
        } else {
            prior_nodes.values().filter(|n| n.spec.role == Role::ControlPlane).map(|n| n.spec.name.clone()).collect()
        };
        changes.upgrade = version_upgrade::planned(prior, planned, cluster, &changes.join)
            .filter(|upgrade| !upgrade.nodes().is_empty());
        // kubeadm upgrade renews an upgraded control plane's certificates.
        let upgraded = changes.upgraded();
        changes.renew = certificate_state::renewals(planned, prior, cluster, &changes.join)
            .into_iter()
            .filter(|name| !upgraded.contains(name))
            .collect();
        changes.expiries = certificate_state::recorded(prior);
        Ok(changes)
    }

    /// Whether anything has to happen on the nodes or through the API.
    pub fn is_remote(&self) -> bool {
        !(self.join.is_empty()
            && self.remove.is_empty()
            && self.relabel.is_empty()
            && self.renew.is_empty()
            && self.upgrade.is_none()
            && !self.kube_vip)
    }

    /// The nodes the upgrade moves.
    pub fn upgraded(&self) -> BTreeSet<String> {
        self.upgrade.as_ref().map(Upgrade::nodes).unwrap_or_default()
    }

    /// The nodes whose `nodes_status` entry the apply observes anew
    /// (joined or upgraded); the others keep what state had.
    pub fn observed_status(&self) -> BTreeSet<String> {
        self.join.iter().cloned().chain(self.upgraded()).collect()
    }

    /// The control planes whose certificates this change issues anew
    /// (joined, renewed or upgraded): their `certificates_expire` entry is
    /// read again.
    pub fn touched_certificates(&self) -> BTreeSet<String> {
        self.join.iter().chain(&self.renew).cloned().chain(self.upgraded()).collect()
    }

    /// Joins, replacements and label changes of the nodes that stay.
    fn nodes(&mut self, prior: &Value, prior_nodes: &BTreeMap<String, model::Node>, cluster: &Cluster) {
        for (name, node) in &cluster.nodes {
            let Some(before) = prior_nodes.get(name) else {
                self.join.insert(name.clone());
                continue;
            };
            if before.instance_id != node.instance_id {
                self.replaced.insert(name.clone());
                self.join.insert(name.clone());
            } else if before.spec.address != node.spec.address || !joined_in(prior, name) || self.adopting {
                self.join.insert(name.clone());
            }
            if before.spec.labels != node.spec.labels || before.spec.taints != node.spec.taints {
                self.relabel.push((name.clone(), Dropped::between(&before.spec, &node.spec)));
            }
        }
    }
}

/// The nodes gone from the configuration: workers first, then control
/// planes one by one.
fn removals(prior_nodes: &BTreeMap<String, model::Node>, cluster: &Cluster) -> Vec<Removal> {
    let mut removed: Vec<&model::Node> =
        prior_nodes.values().filter(|n| !cluster.nodes.contains_key(&n.spec.name)).collect();
    removed.sort_by_key(|n| (n.spec.role == Role::ControlPlane, n.spec.name.clone()));
    removed
        .into_iter()
        .map(|n| Removal { name: n.spec.name.clone(), role: n.spec.role, address: n.spec.address.clone() })
        .collect()
}

/// Whether state says node `name` is a member of the cluster.
fn joined_in(prior: &Value, name: &str) -> bool {
    prior
        .get(attr::NODES_STATUS)
        .as_map()
        .and_then(|m| m.get(name))
        .is_none_or(|s| s.get("joined").as_bool() != Some(false))
}

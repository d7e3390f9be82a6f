//! `kubeadm_cluster`: bootstraps and maintains a kubeadm cluster over SSH.
//!
//! - `schema`, `model`: the resource's attributes and their plan-time checks.
//! - `resource`: plan (secrets, quorum, version), create/read/update/delete/import.
//! - `changes`: what an update does, from prior state and the plan;
//!   `lifecycle`: the remote steps in kubeadm's order, resumable at every step.
//! - `node`: one node over SSH; `api`: the Kubernetes API calls (refresh, drain);
//!   `drain`: a node drained as `kubectl drain` does; `node_metadata`: the
//!   labels and taints the provider owns on each Node;
//!   `etcd`: etcd's member API through a control plane's SSH tunnel.
//! - `certificates`: when the control planes' certificates expire (TLS
//!   handshake) and the node-side renewal script; `renewal`: the apply's
//!   renewal, one control plane at a time behind a health gate.
//! - `pki`: cluster secrets generated at plan time (CAs, service-account key,
//!   admin client certificate, bootstrap token, certificate key);
//!   `plan_cache`: those secrets kept between the two plans of a create.
//! - `upgrade`: state written by older schema versions; `version_change`:
//!   what a `kubernetes_version` change asks for (kubeadm's skew rules);
//!   `version_upgrade`: which nodes an upgrade still moves, as the plan
//!   sees it; `rolling_upgrade`: the apply's upgrade, node by node;
//!   `health_gate`: the check between two nodes of a rolling step.
//! - `config`: kubeadm v1beta4 configuration files; `kube_vip`: the kube-vip manifest;
//!   `patches`: the user's patches to them, checked against `field_rules`
//!   (and `kubelet_fields`) at plan time.

pub mod api;
pub mod attributes;
pub mod backoff;
pub mod certificate_state;
pub mod certificates;
pub mod changes;
pub mod config;
pub mod drain;
pub mod error;
pub mod etcd;
pub mod field_rules;
pub mod health_gate;
pub mod kube_vip;
#[cfg(test)]
mod kubeadm_rules_tests;
#[cfg(test)]
mod kubeadm_validate_tests;
pub mod kubelet_fields;
pub mod lifecycle;
pub mod model;
pub mod node;
pub mod node_metadata;
pub mod patches;
pub mod pki;
pub mod plan_cache;
pub mod read;
pub mod renewal;
pub mod resource;
pub mod rolling_upgrade;
pub mod schema;
pub mod upgrade;
pub mod version_change;
pub mod version_upgrade;

pub use resource::KubeadmCluster;

//! A `kubernetes_version` upgrade in an apply, in kubeadm's order: the
//! control planes one at a time (`kubeadm upgrade apply` on the first while
//! the cluster's `kubeadm-config` still names another version, `kubeadm
//! upgrade node` on the others), then the workers in batches of
//! `upgrade.max_unavailable`. Each node is cordoned (marked as the
//! provider's cordon), drained, upgraded by the node script (packages,
//! kubeadm, kubelet restart), uncordoned, and must pass a health gate before
//! the next one starts.
//!
//! Every step looks first at what is done: a node whose kubelet already
//! reports the target is not upgraded again, only uncordoned if the
//! provider's cordon is still on it. So an apply that fails or is killed
//! halfway is finished by the next one.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use super::config::{self, Role};
use super::drain;
use super::error::KubeadmError;
use super::lifecycle::{Ctx, Progress};
use super::node::{NodeFile, NodeSession};
use super::version_upgrade::Upgrade;
use crate::node_scripts::UPGRADE_NODE;

/// Marks a cordon as the upgrade's, so only that cordon is lifted.
pub const CORDON_ANNOTATION: &str = "kubeadm.terraform.local/cordoned-for-upgrade";
/// The node script and kubeadm's configuration, in the provider's directory
/// ([`super::node::STATE_DIR`]).
const SCRIPT_PATH: &str = "/etc/kubernetes/terraform/upgrade-node";
const CONFIG_PATH: &str = "/etc/kubernetes/terraform/upgrade.yaml";
/// How long an upgraded node may take to pass the gate.
const HEALTH_WAIT: Duration = Duration::from_secs(300);
/// The static pods whose image a control plane's gate checks.
const CONTROL_PLANE_PODS: [&str; 3] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// Which `kubeadm upgrade` a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `upgrade plan` then `upgrade apply`: moves the cluster's configuration.
    Apply,
    /// `upgrade node`: this node follows the cluster.
    Node,
}

impl Mode {
    fn argument(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::Node => "node",
        }
    }
}

/// Where one node's upgrade spent its time, logged (at info) so a slow
/// upgrade shows which step to look at; the real-lab test reads it to
/// split the upgrade's overhead from the node's own work (the script).
#[derive(Debug)]
struct StepTimes {
    lap_started: std::time::Instant,
    drain: Duration,
    connect: Duration,
    script: Duration,
    uncordon: Duration,
    gate: Duration,
}

impl StepTimes {
    fn start() -> Self {
        let zero = Duration::ZERO;
        Self {
            lap_started: std::time::Instant::now(),
            drain: zero,
            connect: zero,
            script: zero,
            uncordon: zero,
            gate: zero,
        }
    }

    /// The time since the last lap, and a new lap.
    fn lap(&mut self) -> Duration {
        let now = std::time::Instant::now();
        let lap = now.duration_since(self.lap_started);
        self.lap_started = now;
        lap
    }

    fn log(&self, node: &str) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            node,
            drain_ms = ms(self.drain),
            connect_ms = ms(self.connect),
            script_ms = ms(self.script),
            uncordon_ms = ms(self.uncordon),
            gate_ms = ms(self.gate),
            "node upgrade step times"
        );
    }
}

impl Ctx<'_> {
    /// Runs `upgrade`, stopping at the first node that fails. Whatever
    /// happened, `progress.api_nodes` ends as the API server lists the
    /// nodes afterwards, for state.
    pub async fn upgrade(&self, upgrade: &Upgrade, progress: &mut Progress) -> Vec<KubeadmError> {
        let result = self.upgrade_all(upgrade, progress).await;
        match self.api.nodes().await {
            Ok(nodes) => progress.api_nodes = nodes,
            Err(e) => tracing::warn!(error = %e, "cannot list the nodes after the upgrade"),
        }
        result.err().into_iter().collect()
    }

    async fn upgrade_all(&self, upgrade: &Upgrade, progress: &mut Progress) -> Result<(), KubeadmError> {
        let config = config::upgrade_config(&self.cluster.spec)?;
        let target = format!("v{}", upgrade.to);
        let mut moved = self.api.cluster_version().await?.as_deref() == Some(target.as_str());
        if !moved && upgrade.control_planes.is_empty() {
            return Err(KubeadmError::Precondition {
                node: self.cluster.init_node.clone(),
                problems: format!(
                    "every control plane's kubelet reports {target}, but the cluster's kubeadm-config names another version: `kubeadm upgrade apply {target}` never finished. Run it on a control plane, then apply again"
                ),
            });
        }
        for name in &upgrade.control_planes {
            let mode = if moved { Mode::Node } else { Mode::Apply };
            let key = self.upgrade_node(name, mode, &config, &target).await?;
            progress.host_keys.insert(name.clone(), key);
            moved = true;
        }
        for batch in upgrade.workers.chunks(self.cluster.upgrade.max_unavailable.max(1)) {
            let results =
                join_all(batch.iter().map(|name| self.upgrade_node(name, Mode::Node, &config, &target))).await;
            let mut failed = None;
            for (name, result) in batch.iter().zip(results) {
                match result {
                    Ok(key) => {
                        progress.host_keys.insert(name.clone(), key);
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }

    /// One node: drained and upgraded unless its kubelet is at `target`
    /// already, then uncordoned (the provider's cordon only) and gated.
    /// Returns the host key it presented.
    async fn upgrade_node(&self, name: &str, mode: Mode, config: &str, target: &str) -> Result<String, KubeadmError> {
        let node = self.api.node(name).await?.ok_or_else(|| KubeadmError::Precondition {
            node: name.to_owned(),
            problems: "it is not in the API server's Node list: it must be joined before it can be upgraded".into(),
        })?;
        let done = node.kubelet_version == target;
        let mut times = StepTimes::start();
        if !done {
            if !node.unschedulable {
                let mark = json!({"metadata": {"annotations": {CORDON_ANNOTATION: "true"}}});
                self.api.patch_node(name, mark).await?;
            }
            drain::cordon_and_drain(&self.api, name, &self.cluster.drain, &self.cancel).await?;
        }
        times.drain = times.lap();
        let session = self.connect(name, false).await?;
        times.connect = times.lap();
        let key = session.host_key();
        let result = async {
            if !done {
                self.run_upgrade(&session, mode, config, target).await?;
            }
            times.script = times.lap();
            self.uncordon_if_ours(name).await?;
            times.uncordon = times.lap();
            self.wait_upgraded(&session, target).await?;
            times.gate = times.lap();
            Ok(())
        }
        .await;
        session.close().await;
        if result.is_ok() {
            times.log(name);
        }
        result.map(|()| key)
    }

    async fn run_upgrade(
        &self,
        session: &NodeSession,
        mode: Mode,
        config: &str,
        target: &str,
    ) -> Result<(), KubeadmError> {
        tracing::info!(node = %session.name, target, mode = mode.argument(), "upgrading");
        let files = [NodeFile::new(CONFIG_PATH, config, 0o600), NodeFile::new(SCRIPT_PATH, UPGRADE_NODE, 0o700)];
        let version = target.trim_start_matches('v');
        let command = format!("{SCRIPT_PATH} {version} {}", mode.argument());
        let step = format!("upgrading to {target} (kubeadm upgrade {}, kubelet and kubectl)", mode.argument());
        session.run_bundle(&step, &files, &command, &[], &[], Some(self.step_timeout)).await.map(|_| ())
    }

    /// Lifts the cordon if the upgrade put it there.
    async fn uncordon_if_ours(&self, name: &str) -> Result<(), KubeadmError> {
        let ours = self.api.node(name).await?.is_some_and(|n| n.annotations.contains_key(CORDON_ANNOTATION));
        if !ours {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {CORDON_ANNOTATION: null}}, "spec": {"unschedulable": false}});
        self.api.patch_node(name, patch).await
    }

    async fn wait_upgraded(&self, session: &NodeSession, target: &str) -> Result<(), KubeadmError> {
        let node = session.name.clone();
        let target_owned = target.to_owned();
        self.wait_until(
            HEALTH_WAIT,
            || self.upgraded(session, target),
            |last| KubeadmError::NotUpgraded { node, target: target_owned, waited: HEALTH_WAIT, last: Box::new(last) },
        )
        .await
    }

    /// One round of the gate: the Node is Ready with its kubelet at
    /// `target`; on a control plane also its API server, controller manager
    /// and scheduler run `target`'s image, and etcd has every member voting.
    async fn upgraded(&self, session: &NodeSession, target: &str) -> Result<(), KubeadmError> {
        let name = &session.name;
        let not_yet = |reason: String| KubeadmError::Api { what: format!("GET node {name}"), status: None, reason };
        match self.api.node(name).await? {
            Some(node) if node.ready && node.kubelet_version == target => {}
            Some(node) => {
                return Err(not_yet(format!(
                    "the Node is {} with its kubelet at {}",
                    if node.ready { "Ready" } else { "NotReady" },
                    node.kubelet_version
                )));
            }
            None => return Err(not_yet("the Node is gone".into())),
        }
        if self.spec(name)?.role != Role::ControlPlane {
            return Ok(());
        }
        for component in CONTROL_PLANE_PODS {
            self.static_pod_at(component, name, target).await?;
        }
        self.etcd_all_voting(session).await
    }

    /// The mirror pod of static pod `component` on `node` runs `target`'s
    /// image and is Running.
    async fn static_pod_at(&self, component: &str, node: &str, target: &str) -> Result<(), KubeadmError> {
        let pod_name = format!("{component}-{node}");
        let pod = self.api.pod("kube-system", &pod_name).await?;
        let image = pod.as_ref().and_then(|p| p.pointer("/spec/containers/0/image")).and_then(|i| i.as_str());
        let phase = pod.as_ref().and_then(|p| p.pointer("/status/phase")).and_then(|p| p.as_str());
        if image.is_some_and(|i| i.ends_with(&format!(":{target}"))) && phase == Some("Running") {
            return Ok(());
        }
        Err(KubeadmError::Api {
            what: format!("GET pod kube-system/{pod_name}"),
            status: None,
            reason: format!(
                "not Running {target}: image {}, phase {}",
                image.unwrap_or("none"),
                phase.unwrap_or("none")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_and_its_configuration_live_in_the_providers_directory() {
        let dir = format!("{}/", super::super::node::STATE_DIR);
        assert!(super::SCRIPT_PATH.starts_with(&dir) && super::CONFIG_PATH.starts_with(&dir));
    }
}

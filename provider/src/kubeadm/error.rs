//! Errors of the kubeadm lifecycle. Converted to diagnostics only at the
//! resource boundary (`resource.rs`), where the node and the step are named.

use std::time::Duration;

use super::certificates::ExpiryError;
use super::config::ConfigError;
use super::pki::PkiError;
use crate::ssh::SshError;

/// What can go wrong while bootstrapping or changing a cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeadmError {
    /// SSH to a node failed (connect, host key, auth, a lost connection or a timeout).
    #[error("{node}: {source}")]
    Ssh {
        /// The node's name in `nodes`.
        node: String,
        /// The SSH failure.
        #[source]
        source: SshError,
    },
    /// A remote step exited non-zero; `output` has secrets removed.
    #[error("{node}: {step} failed (exit status {status}):\n{output}")]
    Step {
        /// The node's name.
        node: String,
        /// What was being done, e.g. "kubeadm join".
        step: String,
        /// Exit status, or "none" when the command was killed.
        status: String,
        /// The command's stderr and stdout, redacted.
        output: String,
    },
    /// cloud-init did not finish successfully on a node.
    #[error("{node}: cloud-init did not finish successfully (`cloud-init status --long`):\n{status}")]
    CloudInit {
        /// The node's name.
        node: String,
        /// What `cloud-init status --long` said.
        status: String,
    },
    /// A node is not ready for kubeadm (containerd, swap, version).
    #[error("{node}: not ready for kubeadm: {problems}")]
    Precondition {
        /// The node's name.
        node: String,
        /// Every failed check, separated by "; ".
        problems: String,
    },
    /// etcd's cluster API on a control plane refused or failed.
    #[error("{node}: etcd {what}: {reason}")]
    Etcd {
        /// The control plane whose etcd was asked.
        node: String,
        /// The call (`member list`, `member remove`).
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// A step named a node that `nodes` does not hold (a bug in the plan's
    /// change set, reported instead of crashing the plugin).
    #[error("{node}: not in `nodes`")]
    UnknownNode {
        /// The node's name.
        node: String,
    },
    /// The init node already holds another cluster; nothing was changed.
    #[error("{node}: {reason}")]
    ForeignCluster {
        /// The node's name.
        node: String,
        /// What was found.
        reason: String,
    },
    /// The API server did not answer in time.
    #[error("the API server at {endpoint} did not become ready within {waited:?}: {last_error}")]
    ApiNotReady {
        /// `host:port` tried.
        endpoint: String,
        /// How long we waited.
        waited: Duration,
        /// The last error seen.
        last_error: String,
    },
    /// An API request failed.
    #[error("Kubernetes API {what}: {reason}")]
    Api {
        /// The request, e.g. "GET /api/v1/nodes".
        what: String,
        /// The HTTP status, when the API server answered.
        status: Option<u16>,
        /// Status and message, or the transport error.
        reason: String,
    },
    /// Nodes did not register with the API server in time.
    #[error("nodes did not register within {waited:?}: {missing}")]
    NodesMissing {
        /// Node names still missing.
        missing: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A certificate, key or token of the cluster could not be made or read.
    #[error("cluster secrets: {0}")]
    Pki(#[from] PkiError),
    /// A kubeadm configuration file could not be rendered (plan time checks
    /// the input, so this is a provider bug or a state written by another).
    #[error("kubeadm configuration: {0}")]
    Config(#[from] ConfigError),
    /// The provider's record of a node (its marker file) could not be written.
    #[error("node record: {0}")]
    Record(#[source] serde_json::Error),
    /// A client for the API server or etcd could not be set up with the
    /// cluster's certificates.
    #[error("{client} client TLS setup ({what}): {source}")]
    ClientTls {
        /// `API` or `etcd`.
        client: &'static str,
        /// The part that failed: the CA, the client certificate, ...
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A drain would lose pods for good (no controller, or emptyDir data)
    /// and `drain` does not allow it; nothing was cordoned or evicted.
    #[error("cannot drain node {node:?}: {}", pods.join("; "))]
    DrainRefused {
        /// The node being drained.
        node: String,
        /// Each refused pod, `namespace/name (why)`.
        pods: Vec<String>,
    },
    /// Pods were still on the node when `drain.timeout` passed: evictions a
    /// PodDisruptionBudget kept refusing, or evicted pods not yet gone.
    #[error("drain of node {node:?} did not finish within {waited:?}: {}", pods.join("; "))]
    DrainTimeout {
        /// The node being drained.
        node: String,
        /// How long the drain ran.
        waited: Duration,
        /// Each pod left, `namespace/name (the API server's last answer)`.
        pods: Vec<String>,
    },
    /// A control plane's API server certificate could not be read over TLS.
    #[error("{node}: reading the API server certificate: {source}")]
    CertificateExpiry {
        /// The control plane.
        node: String,
        /// Why the handshake did not give it.
        #[source]
        source: ExpiryError,
    },
    /// `kubeadm certs renew all` ran, but the API server still serves a
    /// certificate that expires no later than before.
    #[error("{node}: the API server certificate still expires at {after} (before the renewal: {before})")]
    NotRenewed {
        /// The control plane.
        node: String,
        /// The expiry before the renewal.
        before: String,
        /// The expiry served after it.
        after: String,
    },
    /// After its static pods restarted, a control plane did not pass the
    /// health gate (API server ready, etcd members all voting, Node Ready).
    #[error("{node}: not healthy within {waited:?} after its control plane restarted: {last}")]
    Unhealthy {
        /// The control plane.
        node: String,
        /// How long the gate waited.
        waited: Duration,
        /// The last check that failed.
        #[source]
        last: Box<KubeadmError>,
    },
    /// After `kubeadm upgrade` and the kubelet restart, a node did not pass
    /// the upgrade's health gate (Node Ready at the new version; on a
    /// control plane also its static pods at the new version and etcd with
    /// every member voting).
    #[error("{node}: not healthy at {target} within {waited:?} after its upgrade: {last}")]
    NotUpgraded {
        /// The node.
        node: String,
        /// The version it was upgraded to (`v1.35.4`).
        target: String,
        /// How long the gate waited.
        waited: Duration,
        /// The last check that failed.
        #[source]
        last: Box<KubeadmError>,
    },
    /// Import found no control plane in `nodes` to read the cluster from.
    #[error("no control plane in `nodes` to adopt the cluster from")]
    NoControlPlane,
    /// Terraform asked the provider to stop.
    #[error("interrupted: Terraform asked the provider to stop")]
    Cancelled,
    /// The step's deadline (`timeouts`) passed.
    #[error("{what} did not finish within the {timeout:?} timeout")]
    Timeout {
        /// The operation, e.g. "create".
        what: String,
        /// The limit.
        timeout: Duration,
    },
}

impl KubeadmError {
    /// The node at fault, when one is.
    pub fn node(&self) -> Option<&str> {
        match self {
            KubeadmError::Ssh { node, .. }
            | KubeadmError::Step { node, .. }
            | KubeadmError::CloudInit { node, .. }
            | KubeadmError::Precondition { node, .. }
            | KubeadmError::ForeignCluster { node, .. }
            | KubeadmError::UnknownNode { node }
            | KubeadmError::DrainRefused { node, .. }
            | KubeadmError::DrainTimeout { node, .. }
            | KubeadmError::CertificateExpiry { node, .. }
            | KubeadmError::NotRenewed { node, .. }
            | KubeadmError::Unhealthy { node, .. }
            | KubeadmError::NotUpgraded { node, .. }
            | KubeadmError::Etcd { node, .. } => Some(node),
            _ => None,
        }
    }

    /// The node does not answer at all (its VM may be gone): the only SSH
    /// failure that removal and destroy may step over. A changed host key or
    /// refused credentials are never stepped over.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            KubeadmError::Ssh { source: SshError::ConnectFailed { .. } | SshError::ConnectTimeout { .. }, .. }
        )
    }

    /// What to do about it, when there is something specific to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            KubeadmError::Ssh { source: SshError::HostKeyMismatch { .. }, .. } => Some(
                "The node presented a different host key than the one recorded or pinned. If its VM was replaced, change its `instance_id` in `nodes` (and its pinned key in ssh.host_keys, if any) so the provider expects a new key; otherwise treat it as a possible man-in-the-middle and do not proceed.",
            ),
            KubeadmError::Ssh { source: SshError::UnknownHostKey { .. }, .. } => Some(
                "No host key is known for this node: add it to ssh.host_keys, or set ssh.trust_on_first_use = true.",
            ),
            KubeadmError::DrainRefused { .. } => Some(
                "Move or delete these pods first, or allow the drain to lose them: `drain { force = true }` deletes pods no controller owns, `drain { delete_emptydir_data = true }` evicts pods with emptyDir data. The node was neither cordoned nor drained.",
            ),
            KubeadmError::DrainTimeout { .. } => Some(
                "The node stays cordoned. A PodDisruptionBudget that allows no disruption blocks the drain until its pods are healthy elsewhere: check `kubectl get pdb -A`, or raise `drain.timeout`. The next apply drains again.",
            ),
            KubeadmError::Unhealthy { .. } => Some(
                "The certificates were renewed and the control plane's static pods restarted, but it did not come back healthy in time; the other control planes were left alone. Check its pods (`/var/log/pods`, `journalctl -u kubelet`) and `/etc/kubernetes/terraform/renew.log`. The next apply checks the expiry again.",
            ),
            KubeadmError::NotUpgraded { .. } => Some(
                "The nodes before it were upgraded and checked; it and the nodes after it were left as they are (it may still be cordoned: the plan says so). Check its kubelet (`journalctl -u kubelet`), its static pods and `/etc/kubernetes/terraform/upgrade.log`, then run `terraform apply` again: the upgrade continues with the nodes not yet at the new version.",
            ),
            _ => None,
        }
    }

    /// A short summary for a diagnostic.
    pub fn summary(&self) -> &'static str {
        match self {
            KubeadmError::Ssh { source: SshError::HostKeyMismatch { .. }, .. } => "Node's SSH host key changed",
            KubeadmError::Ssh { source: SshError::AuthRejected { .. }, .. } => "SSH login refused by node",
            KubeadmError::Ssh { .. } => "Cannot reach node over SSH",
            KubeadmError::Step { .. } => "Command failed on node",
            KubeadmError::CloudInit { .. } => "cloud-init did not finish on node",
            KubeadmError::Precondition { .. } => "Node is not ready for kubeadm",
            KubeadmError::ForeignCluster { .. } => "Node belongs to another cluster",
            KubeadmError::UnknownNode { .. } => "Provider bug: node not in the configuration",
            KubeadmError::Etcd { .. } => "etcd request failed",
            KubeadmError::ApiNotReady { .. } => "Kubernetes API server not ready",
            KubeadmError::Api { .. } => "Kubernetes API request failed",
            KubeadmError::NodesMissing { .. } => "Nodes did not register",
            KubeadmError::Pki(_) => "Cluster secrets unavailable",
            KubeadmError::Config(_) => "kubeadm configuration not rendered",
            KubeadmError::Record(_) => "Node record not written",
            KubeadmError::ClientTls { .. } => "Client TLS setup failed",
            KubeadmError::DrainRefused { .. } => "Drain would lose pods",
            KubeadmError::DrainTimeout { .. } => "Drain did not finish",
            KubeadmError::CertificateExpiry { .. } => "Cannot read the API server certificate",
            KubeadmError::NotRenewed { .. } => "Certificates not renewed",
            KubeadmError::Unhealthy { .. } => "Control plane unhealthy after certificate renewal",
            KubeadmError::NotUpgraded { .. } => "Node unhealthy after its upgrade",
            KubeadmError::NoControlPlane => "No control plane to import from",
            KubeadmError::Cancelled => "Interrupted",
            KubeadmError::Timeout { .. } => "Timed out",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn failures_of_secrets_and_rendering_keep_their_cause() {
        let pki = KubeadmError::from(super::super::pki::ca_cert_hash("not a certificate").expect_err("no PEM"));
        assert_eq!(pki.summary(), "Cluster secrets unavailable");
        assert!(pki.source().is_some_and(|cause| cause.is::<PkiError>()), "{pki:?}");
        let config = KubeadmError::from(ConfigError::InvalidVersion("1.35".into()));
        assert!(config.source().is_some_and(|cause| cause.is::<ConfigError>()), "{config:?}");
        assert_eq!(config.to_string(), "kubeadm configuration: kubernetes version \"1.35\" is not of the form 1.35.0");
        let record = KubeadmError::Record(serde_json::from_str::<u8>("x").expect_err("not JSON"));
        assert!(record.source().is_some_and(|cause| cause.is::<serde_json::Error>()));
    }
}

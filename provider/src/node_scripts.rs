//! Scripts that run on the nodes, shared by both providers: the kubeadm
//! provider runs them over SSH, `cloudinit_config` installs them.
//! Real files (`node_scripts/*.sh`), so shellcheck lints them in CI.

/// Renews kubeadm's certificates on a control plane and restarts its
/// static pods, as root:
///
/// - Serialised by a lock, so the provider and the node's timer never
///   restart the same node's pods at once.
/// - `RENEW_WHEN_LESS_THAN=SECONDS` (the timer's): do nothing while the API
///   server's certificate is valid for longer than that.
/// - A restart is each manifest moved out of `/etc/kubernetes/manifests`,
///   a wait until the pods' ports close (the kubelet stops them), and the
///   manifests moved back; then a wait until the ports listen again.
///   Manifests an interrupted run left aside are put back first, and on
///   any exit.
/// - Runs in its own session (`setsid`) with output to a log, so a dropped
///   SSH connection cannot stop it between moving the manifests out and
///   back in.
pub const RENEW_CERTIFICATES: &str = include_str!("node_scripts/renew-certificates.sh");

/// Where `cloudinit_config` installs [`RENEW_CERTIFICATES`].
pub const RENEW_CERTIFICATES_PATH: &str = "/usr/local/sbin/kubeadm-renew-certificates";

/// Upgrades a drained node to a Kubernetes version with kubeadm, as root:
/// `upgrade-node VERSION apply|node` (`apply` on the first control plane,
/// `node` everywhere else):
///
/// - The pkgs.k8s.io apt source moves to the target's minor and the patch
///   pin to its patch; kubeadm, then kubelet and kubectl, are installed at
///   the target and held again; then the kubelet is restarted.
/// - Each step is skipped once done, and the whole runs under a lock in its
///   own session (`setsid`), so a dropped connection or a second run cannot
///   leave a node half-upgraded.
/// - kubeadm reads its UpgradeConfiguration from
///   `/etc/kubernetes/terraform/upgrade.yaml`, which the provider writes.
pub const UPGRADE_NODE: &str = include_str!("node_scripts/upgrade-node.sh");

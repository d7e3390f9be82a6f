//! Where the generated document writes its files, and which attribute
//! controls each: the renderer writes them, the validator refuses a user
//! file that would replace one (it may only append).

use super::attributes as attr;
use super::containerd::ContainerdSource;
use super::kubernetes::KubernetesVersion;
use super::spec::CloudInitSpec;

/// Generated file locations.
pub const HOSTS_PATH: &str = "/etc/hosts";
/// modules-load.d file.
pub const MODULES_PATH: &str = "/etc/modules-load.d/k8s.conf";
/// sysctl.d file (99- so it is applied after the distribution's files).
pub const SYSCTL_PATH: &str = "/etc/sysctl.d/99-kubernetes.conf";
/// crictl configuration.
pub const CRICTL_PATH: &str = "/etc/crictl.yaml";
/// containerd configuration.
pub const CONTAINERD_CONFIG_PATH: &str = "/etc/containerd/config.toml";
/// Kubernetes apt source.
pub const APT_SOURCE_PATH: &str = "/etc/apt/sources.list.d/kubernetes.list";
/// apt pin for a patch version (`.pref`: apt ignores other extensions there).
pub const APT_PREFERENCES_PATH: &str = "/etc/apt/preferences.d/kubernetes.pref";

/// Docker's apt source (`container_runtime.source = "docker"`).
pub const DOCKER_APT_SOURCE_PATH: &str = "/etc/apt/sources.list.d/docker.list";
/// apt pin of Docker's containerd to 2.x.
pub const CONTAINERD_PREFERENCES_PATH: &str = "/etc/apt/preferences.d/containerd.pref";

/// The renewal timer's units (`kubeadm_certificate_renewal`).
pub const RENEWAL_SERVICE_PATH: &str = "/etc/systemd/system/kubeadm-renew-certificates.service";
/// See [`RENEWAL_SERVICE_PATH`].
pub const RENEWAL_TIMER_PATH: &str = "/etc/systemd/system/kubeadm-renew-certificates.timer";

/// Paths the generated document writes for `spec`, with the attribute that
/// controls each. A user file may only append to these.
#[must_use]
pub fn generated_paths(spec: &CloudInitSpec) -> Vec<(&'static str, &'static str)> {
    let mut paths = Vec::new();
    if !spec.hosts.is_empty() {
        paths.push((HOSTS_PATH, attr::HOSTS));
    }
    paths.push((MODULES_PATH, attr::KERNEL_MODULES));
    paths.push((SYSCTL_PATH, attr::SYSCTLS));
    paths.push((CRICTL_PATH, attr::CONTAINER_RUNTIME));
    paths.push((CONTAINERD_CONFIG_PATH, attr::CONTAINER_RUNTIME));
    paths.push((APT_SOURCE_PATH, attr::KUBERNETES_VERSION));
    if ContainerdSource::parse(&spec.container_runtime.source) == Ok(ContainerdSource::Docker) {
        paths.push((DOCKER_APT_SOURCE_PATH, attr::CONTAINER_RUNTIME));
        paths.push((CONTAINERD_PREFERENCES_PATH, attr::CONTAINER_RUNTIME));
    }
    if KubernetesVersion::parse(&spec.kubernetes_version).is_ok_and(|v| v.patch.is_some()) {
        paths.push((APT_PREFERENCES_PATH, attr::KUBERNETES_VERSION));
    }
    if spec.certificate_renewal.is_some() {
        paths.push((crate::node_scripts::RENEW_CERTIFICATES_PATH, attr::KUBEADM_CERTIFICATE_RENEWAL));
        paths.push((RENEWAL_SERVICE_PATH, attr::KUBEADM_CERTIFICATE_RENEWAL));
        paths.push((RENEWAL_TIMER_PATH, attr::KUBEADM_CERTIFICATE_RENEWAL));
    }
    paths
}

//! The real-Kubernetes mode of the lab (`up --real`): the hosts run the
//! real kubeadm, kubectl, etcd and control-plane binaries built by
//! `scripts/peers`, with the kubelet stand-in ([`crate::kubelet`]) as their
//! kubelet service and node-sim only for cloud-init, systemctl and the
//! container runtime's CLI.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;

/// The real binaries a real-mode lab installs on its hosts.
pub const REAL_BINARIES: [&str; 8] =
    ["kubeadm", "kubectl", "kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "etcdctl"];
/// The ones that come per Kubernetes version (`DIR/versions/vX.Y.Z/`): a
/// host's packages point at one version, a static pod's image tag at one.
pub const VERSIONED_BINARIES: [&str; 6] =
    ["kubeadm", "kubectl", "kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// Where the real binaries are.
#[derive(Debug, Clone)]
pub struct RealPeers {
    /// kubeadm, kubectl, kubelet, kube-apiserver, ... (`HOMELAB_PEER_KUBERNETES_BIN`).
    pub kubernetes_bin: PathBuf,
    /// etcd and etcdctl (`HOMELAB_PEER_ETCD_BIN`).
    pub etcd_bin: PathBuf,
    /// The real kube-vip (`HOMELAB_PEER_KUBE_VIP_BIN`), which holds the VIP
    /// unless the lab was asked for its TCP forwarder (`up --real
    /// --vip-forwarder`).
    pub kube_vip: Option<PathBuf>,
    /// The kubelet stand-in.
    pub lab_kubelet: PathBuf,
    /// The Kubernetes version the hosts start at, `v1.35.4`.
    pub version: String,
    /// Every Kubernetes version the peers hold (`v1.35.4` → its bin
    /// directory): `HOMELAB_PEER_KUBERNETES_*` and `*_PREVIOUS_*`.
    pub versions: std::collections::BTreeMap<String, PathBuf>,
}

impl RealPeers {
    /// From the environment, or else from `$HOMELAB_PEERS/peers.env`
    /// (default `/var/cache/homelab-peers`), which `scripts/peers` writes.
    pub fn from_env(lab_kubelet: &Path) -> Result<Self> {
        let get = peer_setting;
        let missing =
            |key: &str| format!("{key} is not set and not in peers.env: run scripts/peers build kubernetes etcd");
        let kubernetes_bin =
            PathBuf::from(get("HOMELAB_PEER_KUBERNETES_BIN").ok_or_else(|| missing("HOMELAB_PEER_KUBERNETES_BIN"))?);
        let etcd_bin = PathBuf::from(get("HOMELAB_PEER_ETCD_BIN").ok_or_else(|| missing("HOMELAB_PEER_ETCD_BIN"))?);
        let version =
            get("HOMELAB_PEER_KUBERNETES_VERSION").ok_or_else(|| missing("HOMELAB_PEER_KUBERNETES_VERSION"))?;
        let mut versions = std::collections::BTreeMap::from([(format!("v{version}"), kubernetes_bin.clone())]);
        if let (Some(previous), Some(dir)) =
            (get("HOMELAB_PEER_KUBERNETES_PREVIOUS_VERSION"), get("HOMELAB_PEER_KUBERNETES_PREVIOUS_BIN"))
        {
            if Path::new(&dir).join("kubeadm").is_file() {
                versions.insert(format!("v{previous}"), PathBuf::from(dir));
            }
        }
        let real = RealPeers {
            kubernetes_bin,
            etcd_bin,
            kube_vip: None,
            lab_kubelet: lab_kubelet.to_path_buf(),
            version: format!("v{version}"),
            versions,
        };
        for name in REAL_BINARIES {
            let path = real.binary(name);
            if !path.is_file() {
                return Err(format!("{}: missing; run scripts/peers build kubernetes etcd", path.display()));
            }
        }
        if !real.lab_kubelet.is_file() {
            return Err(format!("{}: missing (cargo build -p homelab-lab)", real.lab_kubelet.display()));
        }
        Ok(real)
    }

    /// The same, with the real kube-vip holding the VIP.
    pub fn with_kube_vip(mut self) -> Result<Self> {
        let key = "HOMELAB_PEER_KUBE_VIP_BIN";
        let dir = peer_setting(key).ok_or_else(|| format!("{key} is not set: run scripts/peers build kube-vip"))?;
        let binary = Path::new(&dir).join("kube-vip");
        if !binary.is_file() {
            return Err(format!("{}: missing; run scripts/peers build kube-vip", binary.display()));
        }
        self.kube_vip = Some(binary);
        Ok(self)
    }

    /// The same, with the hosts starting at `version` (`1.34.4`), one the
    /// peers hold.
    pub fn starting_at(mut self, version: &str) -> Result<Self> {
        let tagged = format!("v{}", version.trim_start_matches('v'));
        if !self.versions.contains_key(&tagged) {
            let known: Vec<&str> = self.versions.keys().map(String::as_str).collect();
            return Err(format!(
                "no Kubernetes {tagged} among the peers (have {}): run scripts/peers build kubernetes-previous",
                known.join(", ")
            ));
        }
        self.version = tagged;
        Ok(self)
    }

    /// `DIR/versions/vX.Y.Z/NAME` for every version and versioned binary:
    /// what the package stand-in (node-sim's `apt-get`) links a host's
    /// `kubeadm`, `kubelet` and `kubectl` to, and where the kubelet
    /// stand-in finds the binary a static pod's image tag names.
    pub fn install_versions(&self, versions: &Path) -> Result<()> {
        for (version, dir) in &self.versions {
            let target = versions.join(version);
            fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
            for name in VERSIONED_BINARIES {
                std::os::unix::fs::symlink(dir.join(name), target.join(name)).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        Ok(())
    }

    fn binary(&self, name: &str) -> PathBuf {
        let dir = if name.starts_with("etcd") { &self.etcd_bin } else { &self.kubernetes_bin };
        dir.join(name)
    }

    /// Links the real binaries into a `bin` directory: the versioned ones
    /// to the starting version in `versions` (see [`Self::install_versions`]).
    pub fn install(&self, bin: &Path, versions: &Path) -> Result<()> {
        for name in REAL_BINARIES {
            let target = if VERSIONED_BINARIES.contains(&name) {
                versions.join(&self.version).join(name)
            } else {
                self.binary(name)
            };
            std::os::unix::fs::symlink(target, bin.join(name)).map_err(|e| format!("{name}: {e}"))?;
        }
        if let Some(kube_vip) = &self.kube_vip {
            std::os::unix::fs::symlink(kube_vip, bin.join("kube-vip")).map_err(|e| format!("kube-vip: {e}"))?;
        }
        Ok(())
    }

    /// Shell commands (each ending in `&& `) that make a host's namespaces
    /// what kubeadm expects of a node and start its kubelet stand-in:
    /// a cgroup2 mount (the netns' own /sys has none), IPv4 forwarding on
    /// (our cloud-init sets it; kubeadm's preflight checks it).
    pub fn host_setup(&self, name: &str, address: &str, host_dir: &Path, bin: &Path, versions: &Path) -> String {
        let kubelet = format!(
            "'{exe}' '{name}' '{address}' '{bin}' /var/lib/lab-node/state.json '{logs}' '{version}' '{versions}'",
            exe = self.lab_kubelet.display(),
            bin = bin.display(),
            logs = host_dir.join("pods").display(),
            version = self.version,
            versions = versions.display(),
        );
        format!(
            "mount -t cgroup2 none /sys/fs/cgroup && sysctl -q -w net.ipv4.ip_forward=1 && \
             {{ setsid {kubelet} >>'{log}' 2>&1 </dev/null & }} && ",
            log = host_dir.join("kubelet.log").display()
        )
    }
}

/// A setting of `scripts/peers`: from the environment, or else from
/// `$HOMELAB_PEERS/peers.env` (default `/var/cache/homelab-peers`).
fn peer_setting(key: &str) -> Option<String> {
    if let Ok(value) = std::env::var(key) {
        return Some(value);
    }
    let peers = std::env::var("HOMELAB_PEERS").unwrap_or_else(|_| "/var/cache/homelab-peers".into());
    let file = fs::read_to_string(Path::new(&peers).join("peers.env")).ok()?;
    file.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
}

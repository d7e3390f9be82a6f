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
    /// The Kubernetes version, `v1.35.4` (what the stand-in reports).
    pub version: String,
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
        let real = RealPeers {
            kubernetes_bin,
            etcd_bin,
            kube_vip: None,
            lab_kubelet: lab_kubelet.to_path_buf(),
            version: format!("v{version}"),
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

    fn binary(&self, name: &str) -> PathBuf {
        let dir = if name.starts_with("etcd") { &self.etcd_bin } else { &self.kubernetes_bin };
        dir.join(name)
    }

    /// Links the real binaries into the hosts' `bin` directory.
    pub fn install(&self, bin: &Path) -> Result<()> {
        for name in REAL_BINARIES {
            std::os::unix::fs::symlink(self.binary(name), bin.join(name)).map_err(|e| format!("{name}: {e}"))?;
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
    pub fn host_setup(&self, name: &str, address: &str, host_dir: &Path, bin: &Path) -> String {
        let kubelet = format!(
            "'{exe}' '{name}' '{address}' '{bin}' /var/lib/lab-node/state.json '{logs}' '{version}'",
            exe = self.lab_kubelet.display(),
            bin = bin.display(),
            logs = host_dir.join("pods").display(),
            version = self.version,
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

//! Shared cluster state in `$LAB_DIR/cluster.json`: written by `node-sim`
//! (kubeadm/kubectl on the hosts) and by the simulated API server, so both
//! views of the nodes are the same records.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{HostState, now_secs};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ClusterFile {
    pub clusters: Vec<Cluster>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    /// `controlPlaneEndpoint` (host:port), or the advertise address:6443.
    pub endpoint: String,
    /// sha256 of the CA's SubjectPublicKeyInfo, hex.
    pub ca_hash: String,
    pub tokens: Vec<Token>,
    pub certificate_key: Option<Token>,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub etcd_members: Vec<EtcdMember>,
    /// The cluster CA (the kubeadm-certs / etcd truth), PEM.
    #[serde(default)]
    pub ca_cert_pem: String,
    #[serde(default)]
    pub ca_key_pem: String,
    /// The etcd CA (`pki/etcd/ca.*`), PEM: what control-plane joins
    /// download with the other shared certificates.
    #[serde(default)]
    pub etcd_ca_cert_pem: String,
    #[serde(default)]
    pub etcd_ca_key_pem: String,
    /// gitVersion served by `/version`, e.g. `v1.35.0`.
    #[serde(default)]
    pub kubernetes_version: String,
    /// `apiServer.certSANs`.
    #[serde(default)]
    pub cert_sans: Vec<String>,
    /// `networking.dnsDomain`.
    #[serde(default = "default_dns_domain")]
    pub dns_domain: String,
    #[serde(default)]
    pub pods: Vec<Pod>,
}

fn default_dns_domain() -> String {
    "cluster.local".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub value: String,
    /// Unix seconds; `u64::MAX` = never.
    pub expires: u64,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    /// `control-plane` or `worker`.
    pub role: String,
    /// InternalIP: kubelet `node-ip`, else the advertise address, else the host's address.
    pub address: String,
    /// Lab host the node runs on (for kubelet/link state).
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub unschedulable: bool,
    #[serde(default)]
    pub kubelet_version: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<Taint>,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub resource_version: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EtcdMember {
    /// etcd member ID (printed decimal in JSON, hex elsewhere).
    pub id: u64,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub node: String,
    /// Owner kind (`DaemonSet`, `ReplicaSet`) or empty.
    #[serde(default)]
    pub owner: String,
}

/// Default labels kubelet/kubeadm put on a node.
pub fn default_labels(name: &str, control_plane: bool) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    for (k, v) in [
        ("beta.kubernetes.io/arch", "arm64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "arm64"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
    ] {
        l.insert(k.to_string(), v.to_string());
    }
    if control_plane {
        l.insert("node-role.kubernetes.io/control-plane".into(), String::new());
        l.insert("node.kubernetes.io/exclude-from-external-load-balancers".into(), String::new());
    }
    l
}

/// kubeadm's default control-plane taint.
pub fn control_plane_taint() -> Taint {
    Taint { key: "node-role.kubernetes.io/control-plane".into(), value: None, effect: "NoSchedule".into() }
}

/// A stable pseudo-random u64 from a seed (etcd member IDs, UIDs).
pub fn id_from(seed: &str) -> u64 {
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_be_bytes(b)
}

fn uid(seed: &str) -> String {
    let h: String = Sha256::digest(seed.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

pub fn rfc3339(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs.min(253_402_300_799) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Host state of the lab host a node runs on (`DIR/hosts/H/...`).
pub fn host_state(dir: &Path, host: &str) -> Option<HostState> {
    let p = dir.join("hosts").join(host).join("var-lib-lab-node/state.json");
    serde_json::from_str(&fs::read_to_string(p).ok()?).ok()
}

/// Ready when the host's kubelet runs and its link is up.
pub fn node_ready(dir: &Path, node: &Node) -> bool {
    match host_state(dir, &node.host) {
        Some(st) => st.services.get("kubelet").copied().unwrap_or(false) && !st.host_down,
        None => false,
    }
}

/// The Node object as the API server (and `kubectl get nodes -o json`) show it.
pub fn node_json(node: &Node, ready: bool) -> Value {
    let created = rfc3339(node.created);
    let now = rfc3339(now_secs());
    let taints: Vec<Value> = node
        .taints
        .iter()
        .map(|t| {
            let mut v = json!({"key": t.key, "effect": t.effect});
            if let Some(val) = &t.value {
                v["value"] = json!(val);
            }
            v
        })
        .collect();
    let mut spec = json!({});
    if !taints.is_empty() {
        spec["taints"] = json!(taints);
    }
    if node.unschedulable {
        spec["unschedulable"] = json!(true);
    }
    let (status, reason, message) = if ready {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    };
    // Real: Unknown after the node lease expires; "False" when kubelet reports it. Typed
    // clients read status != "True" as not ready either way; report False for a stopped kubelet.
    let status = if ready { status } else { "False" };
    let sysid = uid(&format!("system:{}", node.name));
    json!({
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": node.name,
            "uid": uid(&format!("node:{}:{}", node.name, node.created)),
            "resourceVersion": (node.resource_version + 1).to_string(),
            "creationTimestamp": created,
            "labels": node.labels,
            "annotations": node.annotations,
        },
        "spec": spec,
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": created},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                 "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": created},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                 "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": created},
                {"type": "Ready", "status": status, "reason": reason, "message": message,
                 "lastHeartbeatTime": now, "lastTransitionTime": created},
            ],
            "addresses": [
                {"type": "InternalIP", "address": node.address},
                {"type": "Hostname", "address": node.name},
            ],
            "nodeInfo": {
                "machineID": &sysid[..8],
                "systemUUID": sysid,
                "bootID": uid(&format!("boot:{}:{}", node.name, node.created)),
                "kernelVersion": "6.12.0-lab-arm64",
                "osImage": "Debian GNU/Linux 13 (trixie)",
                "containerRuntimeVersion": "containerd://2.1.4",
                "kubeletVersion": node.kubelet_version,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "arm64",
            },
        },
    })
}

pub fn pod_json(pod: &Pod) -> Value {
    let mut meta = json!({
        "name": pod.name,
        "namespace": pod.namespace,
        "uid": uid(&format!("pod:{}/{}", pod.namespace, pod.name)),
        "resourceVersion": "1",
    });
    if !pod.owner.is_empty() {
        meta["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": pod.owner, "name": pod.name.rsplit_once('-').map(|(a, _)| a).unwrap_or(&pod.name),
            "uid": uid(&format!("owner:{}", pod.name)), "controller": true,
        }]);
    }
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {"nodeName": pod.node, "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
        "status": {"phase": "Running"},
    })
}

/// Pods kubelet would run on a freshly joined node: a kube-proxy DaemonSet
/// pod everywhere and, on workers, one ReplicaSet pod (something to evict).
pub fn pods_for(node: &str, control_plane: bool) -> Vec<Pod> {
    let sfx = &format!("{:016x}", id_from(node))[..5];
    let mut v = vec![Pod {
        namespace: "kube-system".into(),
        name: format!("kube-proxy-{sfx}"),
        node: node.into(),
        owner: "DaemonSet".into(),
    }];
    if !control_plane {
        v.push(Pod {
            namespace: "default".into(),
            name: format!("demo-{sfx}"),
            node: node.into(),
            owner: "ReplicaSet".into(),
        });
    }
    v
}

/// Reads `cluster.json` without the lock (writes are atomic renames).
pub fn read_clusters(dir: &Path) -> ClusterFile {
    fs::read_to_string(dir.join("cluster.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

struct Lock(PathBuf);
impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Runs `f` on `cluster.json` under `cluster.lock` (create_new; a lock older
/// than 10 s is stale) and writes the result back atomically. Keep `f` short:
/// never sleep in it.
pub fn with_clusters<T, E: From<String>>(dir: &Path, f: impl FnOnce(&mut ClusterFile) -> Result<T, E>) -> Result<T, E> {
    let lock_path = dir.join("cluster.lock");
    let start = std::time::Instant::now();
    let _lock = loop {
        match fs::OpenOptions::new().write(true).create_new(true).open(&lock_path) {
            Ok(_) => break Lock(lock_path.clone()),
            Err(e) => {
                let stale = fs::metadata(&lock_path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| SystemTime::now().duration_since(m).ok())
                    .is_some_and(|age| age > Duration::from_secs(10));
                if stale {
                    let _ = fs::remove_file(&lock_path);
                } else if start.elapsed() > Duration::from_secs(20) {
                    return Err(E::from(format!("cluster lock {}: {e}", lock_path.display())));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    let path = dir.join("cluster.json");
    let mut cf: ClusterFile = match fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| E::from(format!("cluster.json: {e}")))?,
        Err(_) => ClusterFile::default(),
    };
    let out = f(&mut cf)?;
    let t = serde_json::to_string_pretty(&cf).map_err(|e| E::from(e.to_string()))?;
    let tmp = dir.join(format!("cluster.json.{}", std::process::id()));
    fs::write(&tmp, t).map_err(|e| E::from(format!("{}: {e}", tmp.display())))?;
    fs::rename(&tmp, &path).map_err(|e| E::from(format!("{}: {e}", path.display())))?;
    Ok(out)
}

/// Host part of `host:port` (IPv6 in brackets kept simple).
pub fn endpoint_host(ep: &str) -> &str {
    let ep = ep.trim_start_matches("https://");
    match ep.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => ep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_hosts() {
        assert_eq!(endpoint_host("10.0.0.1:6443"), "10.0.0.1");
        assert_eq!(endpoint_host("https://api.lab:6443"), "api.lab");
        assert_eq!(endpoint_host("[fd00::1]:6443"), "fd00::1");
    }

    #[test]
    fn node_json_shape() {
        let mut n = Node {
            name: "cp-1".into(),
            role: "control-plane".into(),
            address: "10.1.1.10".into(),
            host: "cp-1".into(),
            unschedulable: true,
            kubelet_version: "v1.35.0".into(),
            labels: default_labels("cp-1", true),
            annotations: BTreeMap::new(),
            taints: vec![control_plane_taint()],
            created: 1_700_000_000,
            resource_version: 0,
        };
        let v = node_json(&n, true);
        assert_eq!(v["metadata"]["labels"]["kubernetes.io/hostname"], "cp-1");
        assert_eq!(v["spec"]["taints"][0]["effect"], "NoSchedule");
        assert!(v["spec"]["taints"][0].get("value").is_none());
        assert_eq!(v["spec"]["unschedulable"], true);
        assert_eq!(v["status"]["conditions"][3]["status"], "True");
        assert_eq!(v["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
        n.unschedulable = false;
        n.taints.clear();
        let v = node_json(&n, false);
        assert!(v["spec"].get("taints").is_none() && v["spec"].get("unschedulable").is_none());
        assert_eq!(v["status"]["conditions"][3]["status"], "False");
    }
}

//! The kubelet's side of the API: TLS bootstrap with the bootstrap token
//! (a real CSR that the real kube-controller-manager approves and signs),
//! Node registration, status and lease heartbeats, and mirror pods for the
//! static pods.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::api_pods::ApiPods;
use super::kubeconfig::{Client, Credential, Kubeconfig, write_cert_kubeconfig};
use super::static_pods::StaticPods;

pub const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
pub const BOOTSTRAP_CONF: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
const PKI_DIR: &str = "/var/lib/kubelet/pki";
const CURRENT_CERT: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";
/// The kubelet's default node-status-update-frequency.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What the node reports about itself.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub address: String,
    pub version: String,
    pub taints: Vec<Value>,
}

/// The API side of one kubelet.
#[derive(Debug, Default)]
pub struct NodeAgent {
    client: Option<Client>,
    registered: bool,
    last_heartbeat: Option<Instant>,
    /// Mirror pod name → the config hash it was created for.
    mirrors: BTreeMap<String, String>,
    /// Mirror pod name → whether it was last reported running.
    reported: BTreeMap<String, bool>,
    /// The API server's pods on this node.
    api_pods: ApiPods,
}

impl NodeAgent {
    /// One round: credentials, registration, heartbeat, mirror pods, the
    /// API server's pods.
    pub fn sync(&mut self, node: &Identity, pods: &mut StaticPods) -> Result<(), String> {
        if self.client.is_none() {
            self.client = credentials(node)?;
        }
        let Some(client) = self.client.clone() else { return Ok(()) };
        if !self.registered {
            register(&client, node)?;
            self.registered = true;
        }
        if self.last_heartbeat.is_none_or(|at| at.elapsed() >= HEARTBEAT) {
            heartbeat(&client, node)?;
            self.last_heartbeat = Some(Instant::now());
        }
        self.sync_mirrors(&client, node, pods)?;
        self.api_pods.sync(&client, &node.name, &node.address)
    }

    /// Forgets the connection (kubelet.conf may have been rewritten or removed).
    pub fn reset(&mut self) {
        *self = NodeAgent::default();
    }

    fn sync_mirrors(&mut self, client: &Client, node: &Identity, pods: &mut StaticPods) -> Result<(), String> {
        let mut wanted = BTreeMap::new();
        for pod in pods.pods.values_mut() {
            let running = pod.running();
            wanted.insert(format!("{}-{}", pod.name, node.name), (pod.hash.clone(), pod.manifest.clone(), running));
        }
        let stale: Vec<String> = self
            .mirrors
            .iter()
            .filter(|(name, hash)| wanted.get(*name).is_none_or(|(h, _, _)| h != *hash))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            // At once, as the kubelet deletes a mirror pod: a graceful
            // deletion would keep the old one (and its hash) for 30 s, and
            // the new one could not be created under its name meanwhile.
            let path = format!("/api/v1/namespaces/kube-system/pods/{name}?gracePeriodSeconds=0");
            client.expect("DELETE", &path, None, &[404])?;
            self.mirrors.remove(&name);
            self.reported.remove(&name);
        }
        for (name, (hash, manifest, running)) in wanted {
            if !self.mirrors.contains_key(&name) {
                if !create_mirror(client, node, &name, &hash, &manifest)? {
                    // The old one is still going: again next round.
                    continue;
                }
                self.mirrors.insert(name.clone(), hash);
            }
            // Status only when it changes, as the kubelet's status manager does.
            if self.reported.get(&name) != Some(&running) {
                let status = pod_status(running, &node.address, &manifest);
                let path = format!("/api/v1/namespaces/kube-system/pods/{name}/status");
                client.expect("PATCH", &path, Some(("application/merge-patch+json", &status)), &[404])?;
                self.reported.insert(name, running);
            }
        }
        Ok(())
    }
}

/// A client from kubelet.conf, or from a TLS bootstrap when only
/// bootstrap-kubelet.conf exists; `None` while neither does.
fn credentials(node: &Identity) -> Result<Option<Client>, String> {
    if let Some(config) = Kubeconfig::read(Path::new(KUBELET_CONF))? {
        return config.client().map(Some);
    }
    let Some(bootstrap) = Kubeconfig::read(Path::new(BOOTSTRAP_CONF))? else { return Ok(None) };
    let Credential::Token(_) = bootstrap.credential else {
        return Err(format!("{BOOTSTRAP_CONF} holds no bootstrap token"));
    };
    tls_bootstrap(&bootstrap, node)?;
    Kubeconfig::read(Path::new(KUBELET_CONF))?.ok_or("kubelet.conf vanished")?.client().map(Some)
}

/// The kubelet's TLS bootstrap: a CSR for `system:node:NAME` in
/// `system:nodes` to the kube-apiserver-client-kubelet signer, signed once
/// the controller-manager approves it; the certificate and key go to
/// kubelet-client-current.pem and kubelet.conf points at it.
fn tls_bootstrap(bootstrap: &Kubeconfig, node: &Identity) -> Result<(), String> {
    let client = bootstrap.client()?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "system:nodes");
    dn.push(DnType::CommonName, format!("system:node:{}", node.name));
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?.pem().map_err(|e| e.to_string())?;
    let body = json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "csr-"},
        "spec": {
            "request": BASE64.encode(csr),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
    });
    let path = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let created = client.expect("POST", path, Some(("application/json", &body)), &[])?;
    let name = created.body["metadata"]["name"].as_str().ok_or("CSR without a name")?.to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    let cert_pem = loop {
        let csr = client.expect("GET", &format!("{path}/{name}"), None, &[])?;
        if let Some(cert) = csr.body["status"]["certificate"].as_str() {
            break String::from_utf8(BASE64.decode(cert).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        }
        if Instant::now() > deadline {
            return Err(format!("CSR {name} was not signed within 120 s"));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    fs::create_dir_all(PKI_DIR).map_err(|e| e.to_string())?;
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let file = Path::new(PKI_DIR).join(format!("kubelet-client-{stamp}.pem"));
    fs::write(&file, format!("{cert_pem}{}", key.serialize_pem())).map_err(|e| e.to_string())?;
    let _ = fs::remove_file(CURRENT_CERT);
    std::os::unix::fs::symlink(&file, CURRENT_CERT).map_err(|e| e.to_string())?;
    write_cert_kubeconfig(Path::new(KUBELET_CONF), &bootstrap.server, &bootstrap.ca_pem, Path::new(CURRENT_CERT))
}

fn register(client: &Client, node: &Identity) -> Result<(), String> {
    let body = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
                "beta.kubernetes.io/os": "linux",
            },
        },
        "spec": {"taints": node.taints},
    });
    // 409: registered before (a restarted kubelet keeps its Node).
    client.expect("POST", "/api/v1/nodes", Some(("application/json", &body)), &[409]).map(|_| ())
}

fn heartbeat(client: &Client, node: &Identity) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let stamp = now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).map_err(|e| e.to_string())?;
    let condition = |kind: &str, status: &str, reason: &str| json!({"type": kind, "status": status, "reason": reason, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp});
    let resources = json!({"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"});
    let status = json!({"status": {
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID"),
            condition("Ready", "True", "KubeletReady"),
        ],
        "addresses": [{"type": "InternalIP", "address": node.address}, {"type": "Hostname", "address": node.name}],
        "capacity": resources,
        "allocatable": resources,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "kubeletVersion": node.version,
            "containerRuntimeVersion": "lab-kubelet://static-pods-as-processes",
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH,
            "osImage": "lab host", "kernelVersion": "", "machineID": node.name, "systemUUID": node.name,
            "bootID": node.name, "kubeProxyVersion": "",
        },
    }});
    let path = format!("/api/v1/nodes/{}/status", node.name);
    client.expect("PATCH", &path, Some(("application/merge-patch+json", &status)), &[])?;
    renew_lease(client, node, &now)
}

fn renew_lease(client: &Client, node: &Identity, now: &OffsetDateTime) -> Result<(), String> {
    let micro = format!(
        "{}.{:06}Z",
        now.replace_nanosecond(0).unwrap_or(*now).format(&Rfc3339).map_err(|e| e.to_string())?.trim_end_matches('Z'),
        now.microsecond()
    );
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node.name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": node.name, "leaseDurationSeconds": 40, "renewTime": micro},
    });
    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}", node.name);
    let patch = json!({"spec": {"holderIdentity": node.name, "leaseDurationSeconds": 40, "renewTime": micro}});
    let reply = client.call("PATCH", &path, Some(("application/merge-patch+json", &patch)))?;
    if reply.status == 404 {
        let create = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
        client.expect("POST", create, Some(("application/json", &lease)), &[409])?;
    }
    Ok(())
}

/// Creates the mirror pod; true once the API server holds one with this
/// hash (an earlier kubelet's counts), false while another one of that name
/// is in the way (it is deleted).
fn create_mirror(
    client: &Client,
    node: &Identity,
    name: &str,
    hash: &str,
    manifest: &yaml_rust2::Yaml,
) -> Result<bool, String> {
    let containers: Vec<Value> = manifest["spec"]["containers"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"].as_str().unwrap_or("main"), "image": c["image"].as_str().unwrap_or("lab")}))
        .collect();
    let mut labels = serde_json::Map::new();
    for (k, v) in manifest["metadata"]["labels"].as_hash().into_iter().flatten() {
        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
            labels.insert(k.to_owned(), json!(v));
        }
    }
    let mut annotations = serde_json::Map::new();
    for (k, v) in manifest["metadata"]["annotations"].as_hash().into_iter().flatten() {
        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
            annotations.insert(k.to_owned(), json!(v));
        }
    }
    annotations.insert("kubernetes.io/config.hash".into(), json!(hash));
    annotations.insert("kubernetes.io/config.mirror".into(), json!(hash));
    annotations.insert("kubernetes.io/config.source".into(), json!("file"));
    let body = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "kube-system", "labels": labels, "annotations": annotations,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node_uid(client, node)?, "controller": true}],
        },
        "spec": {
            "nodeName": node.name, "hostNetwork": true, "priorityClassName": "system-node-critical",
            "containers": containers,
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
        },
    });
    let reply =
        client.expect("POST", "/api/v1/namespaces/kube-system/pods", Some(("application/json", &body)), &[409])?;
    if reply.status != 409 {
        return Ok(true);
    }
    match mirror_hash(client, name)? {
        Some(existing) if existing == hash => Ok(true),
        // Another manifest's: it goes, and the next round creates ours.
        Some(_) => {
            let path = format!("/api/v1/namespaces/kube-system/pods/{name}?gracePeriodSeconds=0");
            client.expect("DELETE", &path, None, &[404]).map(|_| false)
        }
        None => Ok(false),
    }
}

/// The config hash of the mirror pod `name` the API server holds, unless
/// it is being deleted.
fn mirror_hash(client: &Client, name: &str) -> Result<Option<String>, String> {
    let reply = client.expect("GET", &format!("/api/v1/namespaces/kube-system/pods/{name}"), None, &[404])?;
    if reply.status == 404 || !reply.body["metadata"]["deletionTimestamp"].is_null() {
        return Ok(None);
    }
    Ok(reply.body["metadata"]["annotations"]["kubernetes.io/config.hash"].as_str().map(str::to_owned))
}

fn node_uid(client: &Client, node: &Identity) -> Result<String, String> {
    let reply = client.expect("GET", &format!("/api/v1/nodes/{}", node.name), None, &[])?;
    reply.body["metadata"]["uid"].as_str().map(str::to_owned).ok_or_else(|| "Node without uid".to_owned())
}

fn pod_status(running: bool, address: &str, manifest: &yaml_rust2::Yaml) -> Value {
    let ready = if running { "True" } else { "False" };
    let containers: Vec<Value> = manifest["spec"]["containers"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|c| {
            let state = if running { json!({"running": {}}) } else { json!({"waiting": {"reason": "NotRunnable"}}) };
            json!({"name": c["name"].as_str().unwrap_or("main"), "image": c["image"].as_str().unwrap_or("lab"),
                "imageID": "", "ready": running, "started": running, "restartCount": 0, "state": state})
        })
        .collect();
    json!({"status": {
        "phase": if running { "Running" } else { "Pending" },
        "hostIP": address, "podIP": address,
        "conditions": [{"type": "Ready", "status": ready}, {"type": "ContainersReady", "status": ready}],
        "containerStatuses": containers,
    }})
}

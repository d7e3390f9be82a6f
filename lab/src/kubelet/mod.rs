//! `lab-kubelet`, the kubelet stand-in of the real-Kubernetes lab.
//!
//! A real kubelet needs a container runtime and images, and no image can be
//! pulled here. The stand-in does the kubelet's part of what kubeadm relies
//! on, against the real API server: it runs the static pods kubeadm writes
//! as processes ([`static_pods`]), answers `/healthz` on the kubelet's
//! healthz port while the `kubelet` service is active, does the TLS
//! bootstrap, registers the Node and keeps its status, lease and mirror
//! pods ([`node`]). The service state is the one `systemctl` (node-sim)
//! records in the host's state file; kubeadm starts and stops it there.
//!
//! The pods the API server binds to the node are reported Running without
//! running anything ([`api_pods`]): no image can be pulled.
//!
//! Stopping the service stops its pods (they are its children here), and
//! `systemctl stop kubelet` returns once they are gone: what `kubeadm
//! reset` achieves on a real node by removing the containers through the
//! runtime right after it stops the kubelet.

pub mod api_pods;
pub mod container;
pub mod kubeconfig;
pub mod node;
pub mod static_pods;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use node::{Identity, NodeAgent};
use static_pods::StaticPods;

use crate::HostState;

const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
/// How many static pods run, for `systemctl stop kubelet` to wait on.
pub const PODS_RUNNING: &str = "/var/lib/lab-node/static-pods-running";
const KUBEADM_FLAGS: &str = "/var/lib/kubelet/kubeadm-flags.env";

/// What the stand-in needs to know about its host.
#[derive(Debug, Clone)]
pub struct Options {
    /// The host name (the default node name).
    pub name: String,
    /// The host's address (the Node's InternalIP).
    pub address: String,
    /// Where the real binaries of the static pods are.
    pub bin: PathBuf,
    /// The host's state file (`systemctl`'s services).
    pub state: PathBuf,
    /// Where each static pod's output goes.
    pub logs: PathBuf,
    /// The version it reports until its `kubelet` binary says otherwise.
    pub version: String,
    /// `vX.Y.Z/NAME` per Kubernetes version: a static pod whose image tag
    /// names one runs that version's binary.
    pub versions: PathBuf,
}

/// Runs until killed.
pub fn run(opts: &Options) -> Result<(), String> {
    std::fs::create_dir_all(&opts.logs).map_err(|e| format!("{}: {e}", opts.logs.display()))?;
    let healthy = Arc::new(AtomicBool::new(false));
    serve_healthz(Arc::clone(&healthy))?;
    let mut pods = StaticPods::new(&opts.bin, &opts.versions, &opts.logs, &opts.name);
    let mut agent = NodeAgent::default();
    let mut last_error = String::new();
    let mut started = None;
    let mut version = opts.version.clone();
    loop {
        let (active, starts) = service_state(&opts.state);
        healthy.store(active, Ordering::Relaxed);
        if started != Some(starts) {
            // (Re)started: a real kubelet is whatever binary the package
            // installed, and reports that version from now on.
            started = Some(starts);
            version = linked_version(&opts.bin).unwrap_or_else(|| opts.version.clone());
            agent.reset();
        }
        let config = kubeconfig::read_yaml(Path::new(KUBELET_CONFIG));
        let static_dir = config.as_ref().and_then(|c| c["staticPodPath"].as_str().map(PathBuf::from));
        pods.sync(static_dir.as_deref(), active);
        let _ = std::fs::write(PODS_RUNNING, pods.running_count().to_string());
        if !active || !Path::new(node::KUBELET_CONF).exists() && !Path::new(node::BOOTSTRAP_CONF).exists() {
            agent.reset();
        } else {
            let node = identity(opts, &version, config.as_ref());
            if let Err(e) = agent.sync(&node, &mut pods) {
                if e != last_error {
                    eprintln!("lab-kubelet: {e}");
                    last_error = e;
                }
                agent.reset();
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether the `kubelet` service is active, and how often it was started.
fn service_state(state: &Path) -> (bool, u64) {
    let Ok(text) = std::fs::read_to_string(state) else { return (false, 0) };
    let Ok(state) = serde_json::from_str::<HostState>(&text) else { return (false, 0) };
    let active = state.services.get("kubelet").copied().unwrap_or(false);
    (active, state.starts.get("kubelet").copied().unwrap_or(0))
}

/// The version of the `kubelet` the host's package links in
/// (`VERSIONS/v1.35.4/kubelet` → `v1.35.4`).
fn linked_version(bin: &Path) -> Option<String> {
    let target = std::fs::read_link(bin.join("kubelet")).ok()?;
    let version = target.parent()?.file_name()?.to_string_lossy().into_owned();
    version.starts_with('v').then_some(version)
}

/// The node name (`--hostname-override` in kubeadm's flags, else the host
/// name) and the taints to register with (KubeletConfiguration's
/// registerWithTaints, where kubeadm puts nodeRegistration.taints).
fn identity(opts: &Options, version: &str, config: Option<&yaml_rust2::Yaml>) -> Identity {
    let flags = std::fs::read_to_string(KUBEADM_FLAGS).unwrap_or_default();
    let name = flags
        .split(['"', ' '])
        .find_map(|f| f.strip_prefix("--hostname-override="))
        .map_or_else(|| opts.name.clone(), str::to_owned);
    let taints = config
        .and_then(|c| c["registerWithTaints"].as_vec())
        .into_iter()
        .flatten()
        .map(|t| {
            let mut taint = serde_json::Map::new();
            for key in ["key", "value", "effect"] {
                if let Some(v) = t[key].as_str() {
                    taint.insert(key.to_owned(), serde_json::json!(v));
                }
            }
            serde_json::Value::Object(taint)
        })
        .collect();
    Identity { name, address: opts.address.clone(), version: version.to_owned(), taints }
}

/// `GET /healthz` on 127.0.0.1:10248 (the kubelet's default healthz
/// address, which kubeadm polls): `ok` while the service is active.
fn serve_healthz(healthy: Arc<AtomicBool>) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:10248").map_err(|e| format!("healthz port: {e}"))?;
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut buf);
            let reply = if healthy.load(Ordering::Relaxed) {
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            } else {
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    Ok(())
}

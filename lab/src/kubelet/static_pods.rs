//! Static pods as processes: each manifest in the kubelet's staticPodPath
//! whose container names a binary in the lab's bin directory runs as that
//! binary with the manifest's command and args, in the host's namespaces
//! (every control-plane pod kubeadm writes uses hostNetwork and hostPath
//! volumes, so the host's view is the pod's view), or in a private mount
//! namespace of its own where the pod sees files elsewhere
//! ([`super::container`]).
//!
//! What differs from a kubelet with a container runtime: no image is
//! pulled (the image only names the binary), and the pods stop when the
//! kubelet service stops (see the module above).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::container;
use yaml_rust2::{Yaml, YamlLoader};

/// A restarted pod waits this long after its previous exit (the kubelet's
/// crash-loop back-off, shortened).
const RESTART_DELAY: Duration = Duration::from_secs(2);
/// How long a stopped pod gets between SIGTERM and SIGKILL (the kubelet's
/// default is 30 s; the control plane's binaries stop well within this).
const STOP_GRACE: Duration = Duration::from_secs(3);

/// One static pod the stand-in knows.
#[derive(Debug)]
pub struct StaticPod {
    /// metadata.name of the manifest (the mirror pod is `NAME-NODE`).
    pub name: String,
    /// The manifest's hash, the mirror pod's `kubernetes.io/config.hash`.
    pub hash: String,
    /// The manifest itself, for the mirror pod.
    pub manifest: Yaml,
    /// The process it runs as, or why it cannot run.
    process: Result<container::Process, String>,
    child: Option<Child>,
    exited_at: Option<Instant>,
}

impl StaticPod {
    /// Whether its process is running now.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// The static pods of one host.
#[derive(Debug)]
pub struct StaticPods {
    bin: PathBuf,
    versions: PathBuf,
    logs: PathBuf,
    node_name: String,
    pub pods: BTreeMap<PathBuf, StaticPod>,
}

impl StaticPods {
    /// Binaries come from `versions/TAG/` when the image's tag names a
    /// version there, else from `bin`; each pod's output goes to
    /// `logs/NAME.log`; `node_name` is what `fieldRef: spec.nodeName` gives.
    pub fn new(bin: &Path, versions: &Path, logs: &Path, node_name: &str) -> Self {
        StaticPods {
            bin: bin.to_path_buf(),
            versions: versions.to_path_buf(),
            logs: logs.to_path_buf(),
            node_name: node_name.to_owned(),
            pods: BTreeMap::new(),
        }
    }

    /// Brings the processes in line with the manifests in `dir`: new or
    /// changed manifests start (only while `active`), removed ones stop,
    /// exited ones restart.
    pub fn sync(&mut self, dir: Option<&Path>, active: bool) {
        if !active {
            self.stop_all();
            return;
        }
        let manifests = dir.map(read_manifests).unwrap_or_default();
        let gone: Vec<PathBuf> = self
            .pods
            .iter()
            .filter(|(path, pod)| manifests.get(*path).is_none_or(|(hash, _)| *hash != pod.hash))
            .map(|(path, _)| path.clone())
            .collect();
        stop_together(gone.iter().filter_map(|path| self.pods.remove(path)).collect());
        for (path, (hash, manifest)) in manifests {
            let pod = self
                .pods
                .entry(path)
                .or_insert_with(|| new_pod(hash, manifest, &self.bin, &self.versions, &self.node_name));
            if pod.process.is_err() || pod.running() {
                continue;
            }
            if pod.child.take().is_some() {
                pod.exited_at.get_or_insert_with(Instant::now);
            }
            if pod.exited_at.is_none_or(|at| at.elapsed() >= RESTART_DELAY) {
                pod.exited_at = None;
                match spawn(pod, &self.logs) {
                    Ok(child) => pod.child = Some(child),
                    Err(e) => {
                        eprintln!("lab-kubelet: {}: {e}", pod.name);
                        pod.exited_at = Some(Instant::now());
                    }
                }
            }
        }
    }

    /// Stops every pod.
    pub fn stop_all(&mut self) {
        stop_together(std::mem::take(&mut self.pods).into_values().collect());
    }

    /// How many pods have a running process.
    pub fn running_count(&mut self) -> usize {
        self.pods.values_mut().map(StaticPod::running).filter(|running| *running).count()
    }
}

fn read_manifests(dir: &Path) -> BTreeMap<PathBuf, (String, Yaml)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        // The kubelet ignores hidden files (editors' and kubeadm's temporaries).
        if entry.file_name().to_string_lossy().starts_with('.') || !path.is_file() {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else { continue };
        let Some(doc) = YamlLoader::load_from_str(&text).ok().and_then(|d| d.into_iter().next()) else { continue };
        out.insert(path, (hex(&Sha256::digest(text.as_bytes())), doc));
    }
    out
}

fn new_pod(hash: String, manifest: Yaml, bin: &Path, versions: &Path, node_name: &str) -> StaticPod {
    let name = manifest["metadata"]["name"].as_str().unwrap_or("unnamed").to_owned();
    let process = container::process_of(&manifest, bin, versions, node_name);
    if let Err(why) = &process {
        eprintln!("lab-kubelet: static pod {name} does not run: {why}");
    }
    StaticPod { name, hash, manifest, process, child: None, exited_at: None }
}

fn spawn(pod: &StaticPod, logs: &Path) -> Result<Child, String> {
    let process = pod.process.as_ref().map_err(Clone::clone)?;
    let log = logs.join(format!("{}.log", pod.name));
    let out =
        fs::OpenOptions::new().create(true).append(true).open(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let scratch = logs.join(format!("{}.d", pod.name));
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let mut command = container::command(process, &scratch)?;
    command.stdin(Stdio::null()).stdout(out.try_clone().map_err(|e| e.to_string())?).stderr(out);
    // Its own process group, so stopping it stops what it started.
    command.process_group(0);
    command.spawn().map_err(|e| format!("start {}: {e}", process.argv[0]))
}

/// SIGTERM to all, then SIGKILL to what is left after the grace period,
/// as the runtime stops containers.
fn stop_together(pods: Vec<StaticPod>) {
    let mut children: Vec<Child> = pods.into_iter().filter_map(|mut p| p.child.take()).collect();
    let signal = |signal: &str, child: &Child| {
        let _ = Command::new("kill").args([signal, "--", &format!("-{}", child.id())]).status();
    };
    children.iter().for_each(|c| signal("-TERM", c));
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        if children.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for mut child in children {
        signal("-KILL", &child);
        let _ = child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! The local lab (`homelab-lab`, crate `lab/`) for acceptance tests of
//! `kubeadm_cluster`: network-namespace hosts with a real sshd and a
//! simulated kubeadm, one lab per test in its own temporary directory,
//! always torn down (also when the test fails).
//!
//! The lab binaries belong to another package, so `CARGO_BIN_EXE_*` cannot
//! name them: they are built once per test process with the `cargo` that
//! runs the tests (`cargo build -p homelab-lab --bins --locked`), and their
//! paths come from cargo's own JSON messages, whatever the target dir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::text;

/// Paths of the `homelab-lab` and `node-sim` binaries.
#[derive(Debug, Clone)]
pub struct LabBinaries {
    pub lab: PathBuf,
    pub node_sim: PathBuf,
}

/// Builds the lab binaries once per test process.
pub fn binaries() -> &'static LabBinaries {
    static BINARIES: OnceLock<LabBinaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let mut command = Command::new(env!("CARGO"));
        command
            .args(["build", "-p", "homelab-lab", "--bins", "--locked", "--message-format=json-render-diagnostics"])
            .current_dir(workspace);
        // What cargo set for this test binary is not the build's business.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_PKG_")
                || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE"]
                    .contains(&key.as_str())
                || key.starts_with("CARGO_BIN_EXE_")
            {
                command.env_remove(key);
            }
        }
        let output = command.output().expect("run cargo build -p homelab-lab");
        assert!(output.status.success(), "cargo build -p homelab-lab failed:\n{}", text(&output));
        let mut found = BTreeMap::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if let Some(exe) = message["executable"].as_str() {
                let name = Path::new(exe).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                found.insert(name, PathBuf::from(exe));
            }
        }
        LabBinaries {
            lab: found.remove("homelab-lab").expect("cargo built homelab-lab"),
            node_sim: found.remove("node-sim").expect("cargo built node-sim"),
        }
    })
}

/// Fails the test unless labs can run here (root, `ip netns`, sshd).
pub fn require_lab() {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let netns = Command::new("ip").args(["netns", "list"]).output().map(|o| o.status.success()).unwrap_or(false);
    let sshd = Path::new("/usr/sbin/sshd").exists();
    let usable = root && netns && sshd;
    super::required(
        usable.then_some(()),
        &format!("root, ip netns and /usr/sbin/sshd for the lab (root={root} netns={netns} sshd={sshd})"),
    );
}

/// One running lab; `down` on drop.
#[derive(Debug)]
pub struct Lab {
    /// The lab directory (`--dir`).
    pub dir: PathBuf,
    /// The lab JSON `up` wrote (`--out`), what `lab_file` points at.
    pub lab_file: PathBuf,
    /// Parsed `lab_file`.
    pub info: serde_json::Value,
    _tmp: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.command(&["down"]).output();
    }
}

/// One line of `events.log`: `SECS HOST kubeadm STEP OUTCOME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub host: String,
    pub step: String,
    pub ok: bool,
}

impl Lab {
    /// `homelab-lab up --control-planes CPS --workers WORKERS EXTRA...`, or
    /// `None` when labs cannot run here.
    pub fn up(control_planes: usize, workers: usize, extra: &[&str]) -> Self {
        require_lab();
        let tmp = tempfile::tempdir().expect("lab temp dir");
        let dir = tmp.path().join("lab");
        let lab_file = tmp.path().join("lab.json");
        let mut lab = Self { dir, lab_file, info: serde_json::Value::Null, _tmp: tmp };
        let (cps, wks) = (control_planes.to_string(), workers.to_string());
        let out = lab.lab_file.display().to_string();
        let mut args = vec!["up", "--control-planes", &cps, "--workers", &wks, "--out", &out];
        args.extend_from_slice(extra);
        let output = lab.command(&args).output().expect("run homelab-lab up");
        assert!(output.status.success(), "homelab-lab up failed:\n{}", text(&output));
        lab.info = serde_json::from_str(&std::fs::read_to_string(&lab.lab_file).expect("lab json")).expect("lab json");
        lab
    }

    /// A real-Kubernetes lab (`up --real`): real kubeadm, etcd and control
    /// plane from `scripts/peers`. `None` when labs cannot run here; under
    /// CI the peers must be there.
    pub fn up_real(control_planes: usize, workers: usize) -> Self {
        Self::up(control_planes, workers, &["--real"])
    }

    /// The same, its hosts starting at Kubernetes `version` (one the peers
    /// hold, e.g. [`previous_kubernetes_version`]): their packages, apt
    /// source and static pods at that version, ready for an upgrade.
    pub fn up_real_at(control_planes: usize, workers: usize, version: &str) -> Self {
        Self::up(control_planes, workers, &["--real", "--kubernetes-version", version])
    }

    /// Whether this lab runs real Kubernetes.
    pub fn is_real(&self) -> bool {
        self.info["real"].as_bool().unwrap_or(false)
    }

    /// `kubectl ARGS...` with the admin kubeconfig on `host`.
    pub fn kubectl(&self, host: &str, args: &[&str]) -> String {
        let mut all = vec!["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];
        all.extend_from_slice(args);
        self.exec(host, &all)
    }

    /// `kubectl get ARGS -o json` with the admin kubeconfig on `host`.
    pub fn kubectl_json(&self, host: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.kubectl(host, &all)).expect("kubectl json")
    }

    /// The real etcd's members, from `etcdctl member list` on control
    /// plane `host`: (name, is_learner, peer URLs). A member added but not
    /// started yet has an empty name.
    pub fn real_etcd_members(&self, host: &str) -> Vec<(String, bool, Vec<String>)> {
        let pki = "/etc/kubernetes/pki/etcd";
        let out = self.exec(
            host,
            &[
                "etcdctl",
                "--endpoints=https://127.0.0.1:2379",
                &format!("--cacert={pki}/ca.crt"),
                &format!("--cert={pki}/healthcheck-client.crt"),
                &format!("--key={pki}/healthcheck-client.key"),
                "member",
                "list",
                "-w",
                "json",
            ],
        );
        let list: serde_json::Value = serde_json::from_str(&out).expect("etcdctl json");
        list["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let urls = m["peerURLs"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_owned));
                (m["name"].as_str().unwrap_or("").to_owned(), m["isLearner"].as_bool().unwrap_or(false), urls.collect())
            })
            .collect()
    }

    /// `homelab-lab --dir DIR ARGS...`.
    pub fn command(&self, args: &[&str]) -> Command {
        let binaries = binaries();
        let mut command = Command::new(&binaries.lab);
        command.arg("--dir").arg(&self.dir).args(args).env("LAB_NODE_SIM", &binaries.node_sim);
        command
    }

    /// Runs a lab command and panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("run homelab-lab");
        assert!(output.status.success(), "homelab-lab {args:?} failed:\n{}", text(&output));
        output
    }

    /// `fault HOST KNOB VALUE`.
    pub fn fault(&self, host: &str, knob: &str, value: &str) {
        self.ok(&["fault", host, knob, value]);
    }

    /// `replace HOST`: the host becomes a replaced VM (new host key, empty
    /// disk, same name and address); `lab_file` gets its new key. Returns it.
    pub fn replace(&self, host: &str) -> String {
        let output = self.ok(&["replace", host]);
        let entry: serde_json::Value = serde_json::from_slice(&output.stdout).expect("replace json");
        let key = entry["host_public_key"].as_str().expect("host_public_key").to_string();
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&self.lab_file).expect("lab json")).expect("lab json");
        let recorded = written["hosts"].as_array().and_then(|hs| hs.iter().find(|h| h["name"] == host)).cloned();
        assert_eq!(recorded.map(|h| h["host_public_key"].clone()), Some(key.clone().into()), "lab_file updated");
        key
    }

    /// `exec HOST ARGS...`: runs on the host without SSH; panics unless it succeeds.
    pub fn exec(&self, host: &str, args: &[&str]) -> String {
        let mut all = vec!["exec", host, "--"];
        all.extend_from_slice(args);
        String::from_utf8_lossy(&self.ok(&all).stdout).into_owned()
    }

    /// The Node object `name` as `cluster.json` records it.
    pub fn node(&self, name: &str) -> serde_json::Value {
        let nodes = self.cluster()["nodes"].as_array().cloned().unwrap_or_default();
        nodes.into_iter().find(|n| n["name"] == name).unwrap_or_else(|| panic!("no Node {name} in cluster.json"))
    }

    /// etcd members of the one cluster: name -> ID.
    pub fn etcd_ids(&self) -> BTreeMap<String, u64> {
        let cluster = self.cluster();
        let members = cluster["etcd_members"].as_array().cloned().unwrap_or_default();
        let ids: BTreeMap<String, u64> = members
            .iter()
            .map(|m| (m["name"].as_str().expect("member name").to_string(), m["id"].as_u64().expect("member id")))
            .collect();
        assert_eq!(ids.len(), members.len(), "one member per name: {members:#?}");
        ids
    }

    /// SSH sessions each host accepted so far.
    pub fn sessions(&self) -> BTreeMap<String, u64> {
        let output = self.ok(&["sessions"]);
        serde_json::from_slice(&output.stdout).expect("sessions json")
    }

    /// The VIP.
    pub fn vip(&self) -> &str {
        self.info["vip"].as_str().expect("vip")
    }

    /// `VIP:6443`.
    pub fn api_server(&self) -> &str {
        self.info["api_server"].as_str().expect("api_server")
    }

    /// A host's address.
    pub fn address(&self, host: &str) -> String {
        self.info["hosts"]
            .as_array()
            .and_then(|hosts| hosts.iter().find(|h| h["name"] == host))
            .and_then(|h| h["address"].as_str())
            .unwrap_or_else(|| panic!("no host {host}"))
            .to_string()
    }

    /// `cluster.json` (node-sim's and the API server's shared records), or
    /// `{"clusters": []}` before any init.
    pub fn clusters(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.dir.join("cluster.json")) {
            Ok(text) => {
                let file: serde_json::Value = serde_json::from_str(&text).expect("cluster.json");
                file["clusters"].as_array().cloned().unwrap_or_default()
            }
            Err(_) => Vec::new(),
        }
    }

    /// The one cluster in `cluster.json` (panics unless there is exactly one).
    pub fn cluster(&self) -> serde_json::Value {
        let clusters = self.clusters();
        assert_eq!(clusters.len(), 1, "want one cluster in cluster.json: {clusters:#?}");
        clusters.into_iter().next().expect("one cluster")
    }

    /// Node names of the one cluster, sorted.
    pub fn node_names(&self) -> Vec<String> {
        names(&self.cluster()["nodes"])
    }

    /// etcd member names of the one cluster, sorted.
    pub fn etcd_members(&self) -> Vec<String> {
        names(&self.cluster()["etcd_members"])
    }

    /// Every kubeadm init/join/reset so far, in order.
    pub fn events(&self) -> Vec<Event> {
        let log = std::fs::read_to_string(self.dir.join("events.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields.as_slice() {
                    [_, host, "kubeadm", step, outcome] => {
                        Some(Event { host: host.to_string(), step: step.to_string(), ok: *outcome == "ok" })
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Successful `kubeadm STEP` runs, per host.
    pub fn successes(&self, step: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for event in self.events().into_iter().filter(|e| e.ok && e.step == step) {
            *counts.entry(event.host).or_default() += 1;
        }
        counts
    }

    /// Total successful `kubeadm STEP` runs.
    pub fn total(&self, step: &str) -> usize {
        self.successes(step).values().sum()
    }

    /// A file as host `host` sees it under one of its private directories,
    /// e.g. `host_path("wk-1", "/etc/kubernetes/kubelet.conf")`.
    pub fn host_path(&self, host: &str, path: &str) -> PathBuf {
        let (sub, rest) = [
            ("/etc/kubernetes", "etc-kubernetes"),
            ("/var/lib/kubelet", "var-lib-kubelet"),
            ("/var/lib/lab-node", "var-lib-lab-node"),
            ("/etc/apt", "etc-apt"),
        ]
        .iter()
        .find_map(|(prefix, sub)| path.strip_prefix(prefix).map(|rest| (*sub, rest.trim_start_matches('/'))))
        .unwrap_or_else(|| panic!("{path} is not private to a lab host"));
        self.dir.join("hosts").join(host).join(sub).join(rest)
    }
}

/// The Kubernetes minor before the peers' main one (`1.34.4`), which
/// upgrades start from: `HOMELAB_PEER_KUBERNETES_PREVIOUS_VERSION` from the
/// environment or `peers.env`.
pub fn previous_kubernetes_version() -> String {
    super::required(
        peer_setting("HOMELAB_PEER_KUBERNETES_PREVIOUS_VERSION"),
        "HOMELAB_PEER_KUBERNETES_PREVIOUS_VERSION",
    )
}

/// The peers' main Kubernetes version (`1.35.4`).
pub fn kubernetes_version() -> String {
    super::required(peer_setting("HOMELAB_PEER_KUBERNETES_VERSION"), "HOMELAB_PEER_KUBERNETES_VERSION")
}

/// A `scripts/peers` setting, from the environment or `peers.env`.
fn peer_setting(key: &str) -> Option<String> {
    if let Ok(value) = std::env::var(key) {
        return Some(value);
    }
    let peers = std::env::var("HOMELAB_PEERS").unwrap_or_else(|_| "/var/cache/homelab-peers".into());
    let env = std::fs::read_to_string(Path::new(&peers).join("peers.env")).ok()?;
    env.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
}

fn names(list: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> =
        list.as_array().into_iter().flatten().filter_map(|n| n["name"].as_str().map(str::to_string)).collect();
    names.sort();
    names
}

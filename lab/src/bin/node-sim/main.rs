//! Multi-call simulator of the node tools (`kubeadm`, `kubectl`, `cloud-init`,
//! `systemctl`, `containerd`, `apt-get`, `apt-mark`), dispatched on argv[0]. Per-host state lives in
//! `/var/lib/lab-node/state.json` (private to the host via bind mount);
//! shared cluster state in `$LAB_DIR/cluster.json` under a lock file.

// Test infrastructure: a panic here fails a test run and never reaches a
// user's plugin; the workspace lints keep it out of the provider itself.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod apt;
mod cloud_init;
mod kubeadm;
mod kubeadm_config;
mod kubeadm_token;
mod kubectl;
mod systemctl;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use homelab_lab::cluster::{self, Cluster, ClusterFile, EtcdMember, Node, Taint, Token};
use homelab_lab::{HostState, LabInfo, now_secs, pki};
use sha2::{Digest, Sha256};
use yaml_rust2::{Yaml, YamlLoader};

use apt::*;
use cloud_init::*;
use kubeadm::*;
use kubeadm_config::*;
use kubeadm_token::*;
use kubectl::*;
use systemctl::*;

const STATE: &str = "/var/lib/lab-node/state.json";
/// Written by the kubelet stand-in: how many static pods run.
const PODS_RUNNING: &str = homelab_lab::kubelet::PODS_RUNNING;
const K8S: &str = "/etc/kubernetes";

/// Exit with a message on stderr and a code, like the real tools.
struct Fail(u8, String);
type R = Result<(), Fail>;
fn fail<T>(code: u8, msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(code, msg.into()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let tool = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest: Vec<String> = args.iter().skip(1).cloned().collect();
    let res = (|| -> R {
        let mut st = load_state()?;
        let sub = format!("{tool} {}", rest.first().map(String::as_str).unwrap_or(""));
        // Fault: fail once, consumed by this invocation.
        if let Some(i) = st.fail_once.iter().position(|f| *f == sub) {
            st.fail_once.remove(i);
            save_state(&st)?;
            return fail(1, format!("lab fault: {sub} failed once (injected)"));
        }
        match tool.as_str() {
            "cloud-init" => cloud_init(&mut st, &rest),
            "systemctl" => systemctl(&mut st, &rest),
            "kubeadm" => kubeadm(&mut st, &rest, &sub),
            "kubectl" => kubectl(&rest),
            "containerd" => containerd(&st, &rest),
            "apt-get" => apt_get(&st, &rest),
            "apt-mark" => apt_mark(&mut st, &rest),
            other => fail(1, format!("node-sim: unknown tool {other}")),
        }
    })();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}

fn load_state() -> Result<HostState, Fail> {
    match fs::read_to_string(STATE) {
        Ok(t) => serde_json::from_str(&t).or_else(|e| fail(1, format!("{STATE}: {e}"))),
        Err(_) => Ok(HostState::default()),
    }
}
fn save_state(st: &HostState) -> R {
    let t = serde_json::to_string_pretty(st).or_else(|e| fail(1, e.to_string()))?;
    fs::write(STATE, t).or_else(|e| fail(1, format!("{STATE}: {e}")))
}

impl From<String> for Fail {
    fn from(e: String) -> Self {
        Fail(1, e)
    }
}

fn lab_dir() -> Result<PathBuf, Fail> {
    std::env::var_os("LAB_DIR").map(PathBuf::from).ok_or(Fail(1, "LAB_DIR not set (not in a lab session)".into()))
}
fn host_name() -> String {
    std::env::var("LAB_HOST").unwrap_or_else(|_| "unknown".into())
}
/// This host's lab address (from `lab.json`).
fn host_address() -> String {
    let Ok(dir) = lab_dir() else { return String::new() };
    let info: Option<LabInfo> =
        fs::read_to_string(dir.join("lab.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let me = host_name();
    info.and_then(|i| i.hosts.into_iter().find(|h| h.name == me)).map(|h| h.address).unwrap_or_default()
}

/// `cluster.json` under its lock; never sleep inside `f`.
fn with_cluster<T>(f: impl FnOnce(&mut ClusterFile) -> Result<T, Fail>) -> Result<T, Fail> {
    cluster::with_clusters(&lab_dir()?, f)
}

fn random_hex(n: usize) -> String {
    // No RNG crate in the workspace: hash time, pid and a counter.
    let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < n {
        let h = Sha256::digest(format!("{seed}{i}").as_bytes());
        out.extend(h.iter().map(|b| format!("{b:02x}")));
        i += 1;
    }
    out.truncate(n);
    out
}
fn new_token() -> String {
    // Real format [a-z0-9]{6}.[a-z0-9]{16}; hex is a subset.
    let h = random_hex(22);
    format!("{}.{}", &h[..6], &h[6..])
}

// ---------------------------------------------------------------- kubeadm

fn flag(args: &[String], name: &str) -> Option<String> {
    let eq = format!("{name}=");
    args.iter()
        .enumerate()
        .find_map(|(i, a)| if a == name { args.get(i + 1).cloned() } else { a.strip_prefix(&eq).map(str::to_string) })
}

fn io_err<T>(what: &str, r: std::io::Result<T>) -> Result<T, Fail> {
    r.or_else(|e| fail(1, format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_durations_like_go() {
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5d"), None);
    }

    #[test]
    fn flags_accept_both_forms() {
        let a: Vec<String> = ["join", "--token", "t", "--ttl=1h"].iter().map(|s| s.to_string()).collect();
        assert_eq!(flag(&a, "--token").as_deref(), Some("t"));
        assert_eq!(flag(&a, "--ttl").as_deref(), Some("1h"));
        assert_eq!(flag(&a, "--config"), None);
    }
}

//! End-to-end lab test: 3 hosts, real sshd, system ssh client, node-sim.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use homelab_lab::LabInfo;

const LAB: &str = env!("CARGO_BIN_EXE_homelab-lab");
const SIM: &str = env!("CARGO_BIN_EXE_node-sim");

/// Root and `ip netns` are needed; skip locally, fail in CI.
fn usable() -> bool {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let netns = Command::new("ip").args(["netns", "list"]).output().map(|o| o.status.success()).unwrap_or(false);
    let sshd = Path::new("/usr/sbin/sshd").exists();
    if root && netns && sshd {
        return true;
    }
    let why = format!("lab test needs root, ip netns and /usr/sbin/sshd (root={root} netns={netns} sshd={sshd})");
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("skipping: {why}");
    false
}

/// Tears the lab down even when an assertion fails.
struct Guard(PathBuf);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new(LAB).arg("--dir").arg(&self.0).arg("down").status();
    }
}

fn ssh(dir: &Path, addr: &str, cmd: &str) -> Output {
    Command::new("ssh")
        .arg("-i")
        .arg(dir.join("id_ed25519"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", dir.join("known_hosts").display()))
        .args([
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            "-p",
            "22",
        ])
        .arg(format!("root@{addr}"))
        .arg(cmd)
        .output()
        .expect("run ssh")
}
fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn three_host_lab() {
    if !usable() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let _guard = Guard(dir.clone());
    let up = Command::new(LAB)
        .arg("--dir")
        .arg(&dir)
        .args(["up", "--hosts", "3"])
        .env("LAB_NODE_SIM", SIM)
        .output()
        .unwrap();
    assert!(up.status.success(), "up failed: {}", text(&up));
    let info: LabInfo = serde_json::from_str(&std::fs::read_to_string(dir.join("lab.json")).unwrap()).unwrap();
    assert_eq!(info.hosts.len(), 3);

    // Pin each host key: StrictHostKeyChecking=yes proves the host serves its own key.
    let mut kh = String::new();
    for h in &info.hosts {
        kh.push_str(&format!("{} {}\n", h.address, h.host_public_key));
    }
    std::fs::write(dir.join("known_hosts"), kh).unwrap();
    let mut addrs = std::collections::BTreeSet::new();
    let mut keys = std::collections::BTreeSet::new();
    for h in &info.hosts {
        let o = ssh(&dir, &h.address, "ip -4 -o addr show dev eth0");
        assert!(o.status.success(), "{}: {}", h.name, text(&o));
        assert!(text(&o).contains(&format!("{}/24", h.address)), "{}", text(&o));
        addrs.insert(h.address.clone());
        keys.insert(h.host_public_key.clone());
    }
    assert_eq!(addrs.len(), 3, "addresses must differ");
    assert_eq!(keys.len(), 3, "host keys must differ");

    let (h1, h2, h3) = (&info.hosts[0], &info.hosts[1], &info.hosts[2]);
    let cfg = dir.join("init.yaml");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: lab\ncontrolPlaneEndpoint: {}:6443\n",
            h1.address, info.gateway
        ),
    )
    .unwrap();

    // Unknown field: strict decoding error, exit 1.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nbogus: 1\n").unwrap();
    let o = ssh(&dir, &h1.address, &format!("kubeadm init --config {}", bad.display()));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("strict decoding error: unknown field \"bogus\""), "{}", text(&o));

    let o = ssh(&dir, &h1.address, &format!("kubeadm init --config {} --upload-certs", cfg.display()));
    assert!(o.status.success(), "init: {}", text(&o));
    let out = text(&o);
    let token = out.split("--token ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let hash =
        out.split("--discovery-token-ca-cert-hash ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    // Files are per host: h1 has admin.conf, h2 and the root fs do not.
    assert!(ssh(&dir, &h1.address, "test -f /etc/kubernetes/admin.conf").status.success());
    assert!(!ssh(&dir, &h2.address, "test -f /etc/kubernetes/admin.conf").status.success());
    assert!(!Path::new("/etc/kubernetes/admin.conf").exists());

    let o = ssh(&dir, &h1.address, &format!("kubeadm init --config {}", cfg.display()));
    assert_eq!(o.status.code(), Some(1), "second init: {}", text(&o));
    assert!(text(&o).contains("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]"));

    let endpoint = format!("{}:6443", info.gateway);
    let wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let o = ssh(
        &dir,
        &h2.address,
        &format!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {wrong}"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("are pinned"), "{}", text(&o));
    let o = ssh(
        &dir,
        &h2.address,
        &format!("kubeadm join {endpoint} --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {hash}"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("token ID \"abcdef\""), "{}", text(&o));

    let o = ssh(
        &dir,
        &h2.address,
        &format!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash}"),
    );
    assert!(o.status.success(), "join: {}", text(&o));
    let o = ssh(
        &dir,
        &h2.address,
        &format!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash}"),
    );
    assert_eq!(o.status.code(), Some(1), "second join: {}", text(&o));
    let cluster: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cluster.json")).unwrap()).unwrap();
    assert_eq!(cluster["clusters"][0]["nodes"].as_array().unwrap().len(), 2);

    // kubectl on the shared state, and a fresh token through kubeadm token create.
    let o = ssh(&dir, &h1.address, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json");
    let nodes: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(nodes["items"].as_array().unwrap().len(), 2, "{}", text(&o));
    let o = ssh(&dir, &h1.address, "kubeadm token create --ttl 1h --print-join-command");
    assert!(o.status.success() && text(&o).starts_with(&format!("kubeadm join {endpoint} --token ")), "{}", text(&o));
    let o = ssh(&dir, &h1.address, "kubectl --kubeconfig /etc/kubernetes/admin.conf cordon h2");
    assert!(o.status.success(), "{}", text(&o));

    // cloud-init fault knob: error -> exit 1, running:N -> --wait waits then done.
    let o = ssh(&dir, &h3.address, "cloud-init status");
    assert!(o.status.success() && text(&o).contains("status: done"));
    let fault = |knob: &str, value: &str| {
        let o = Command::new(LAB).arg("--dir").arg(&dir).args(["fault", &h3.name, knob, value]).output().unwrap();
        assert!(o.status.success(), "fault: {}", text(&o));
    };
    fault("cloud-init", "error");
    let o = ssh(&dir, &h3.address, "cloud-init status");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("status: error"));
    fault("cloud-init", "running:3");
    let o = ssh(&dir, &h3.address, "cloud-init status");
    assert!(text(&o).contains("status: running"), "{}", text(&o));
    let o = ssh(&dir, &h3.address, "cloud-init status --wait");
    assert!(o.status.success() && text(&o).contains("status: done"), "{}", text(&o));

    // fail-once knob.
    fault("fail-once", "kubeadm version");
    assert_eq!(ssh(&dir, &h3.address, "kubeadm version -o short").status.code(), Some(1));
    let o = ssh(&dir, &h3.address, "kubeadm version -o short");
    assert!(o.status.success() && text(&o).trim() == "v1.35.0", "{}", text(&o));

    // Control-plane join of h3: wrong certificate key fails, right one adds an etcd member.
    let ck = out.split("--certificate-key ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let join_cp = format!(
        "kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash} --control-plane --certificate-key"
    );
    let o = ssh(&dir, &h3.address, &format!("{join_cp} {}", "ab".repeat(32)));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("message authentication failed"), "{}", text(&o));
    let o = ssh(&dir, &h3.address, &format!("{join_cp} {ck}"));
    assert!(o.status.success(), "cp join: {}", text(&o));
    let etcd = |d: &Path| -> usize {
        let c: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("cluster.json")).unwrap()).unwrap();
        c["clusters"][0]["etcd_members"].as_array().unwrap().len()
    };
    assert_eq!(etcd(&dir), 2);
    // reset removes the etcd member and the host's files.
    let o = ssh(&dir, &h3.address, "kubeadm reset -f && test ! -e /etc/kubernetes/kubelet.conf");
    assert!(o.status.success(), "reset: {}", text(&o));
    assert_eq!(etcd(&dir), 1);

    // drop-in: the session dies mid-command (ssh exit 255 after partial output).
    fault("drop-in", "kubeadm join");
    let o = ssh(
        &dir,
        &h3.address,
        &format!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {hash}"),
    );
    assert_eq!(o.status.code(), Some(255), "{}", text(&o));
    assert!(text(&o).contains("[preflight] Running pre-flight checks"));
    // sshd knob: the host stops answering.
    fault("sshd", "down");
    let st = Command::new(LAB).arg("--dir").arg(&dir).arg("status").output().unwrap();
    assert!(
        text(&st).contains(&format!("{} {}:22 netns={} sshd=down", h3.name, h3.address, h3.netns)),
        "{}",
        text(&st)
    );
    fault("sshd", "up");

    // Down removes every namespace of this lab.
    let o = Command::new(LAB).arg("--dir").arg(&dir).arg("down").output().unwrap();
    assert!(o.status.success());
    let list = String::from_utf8(Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).unwrap();
    for h in &info.hosts {
        assert!(!list.contains(&h.netns), "{} left behind", h.netns);
    }
    assert!(!dir.join("lab.json").exists());
    // Idempotent.
    assert!(Command::new(LAB).arg("--dir").arg(&dir).arg("down").status().unwrap().success());
}

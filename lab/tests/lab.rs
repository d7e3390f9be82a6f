//! End-to-end lab test: 3 hosts, real sshd, system ssh client, node-sim.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use homelab_lab::LabInfo;

const LAB: &str = env!("CARGO_BIN_EXE_homelab-lab");
const SIM: &str = env!("CARGO_BIN_EXE_node-sim");

/// Root, `ip netns` and sshd are needed; the tests that call this are
/// `#[ignore]`d with that reason and fail here when it is missing.
fn require_lab() {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let netns = Command::new("ip").args(["netns", "list"]).output().map(|o| o.status.success()).unwrap_or(false);
    let sshd = Path::new("/usr/sbin/sshd").exists();
    assert!(
        root && netns && sshd,
        "this test needs root, ip netns and /usr/sbin/sshd (root={root} netns={netns} sshd={sshd}); scripts/test runs it as root"
    );
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

#[ignore = "needs root, network namespaces and sshd; scripts/test runs it"]
#[test]
fn three_host_lab() {
    require_lab();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let _guard = Guard(dir.clone());
    let up = Command::new(LAB)
        .arg("--dir")
        .arg(&dir)
        .args(["up", "--control-planes", "1", "--workers", "2"])
        .env("LAB_NODE_SIM", SIM)
        .output()
        .unwrap();
    assert!(up.status.success(), "up failed: {}", text(&up));
    let info: LabInfo = serde_json::from_str(&std::fs::read_to_string(dir.join("lab.json")).unwrap()).unwrap();
    assert_eq!(info.hosts.len(), 3);
    let names: Vec<&str> = info.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["cp-1", "wk-1", "wk-2"]);

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
    let o = ssh(&dir, &h1.address, "kubectl --kubeconfig /etc/kubernetes/admin.conf cordon wk-1");
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

fn ssh_in(dir: &Path, addr: &str, cmd: &str, input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("ssh")
        .arg("-i")
        .arg(dir.join("id_ed25519"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", dir.join("known_hosts").display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"])
        .arg(format!("root@{addr}"))
        .arg(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ssh");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to ssh");
    child.wait_with_output().expect("wait for ssh")
}

/// curl against the API server; `auth` is (cert, key) files.
fn curl(ca: &Path, auth: Option<(&Path, &Path)>, extra: &[&str], url: &str) -> Output {
    let mut c = Command::new("curl");
    c.args(["-sS", "-m", "5", "--cacert"]).arg(ca);
    if let Some((crt, key)) = auth {
        c.arg("--cert").arg(crt).arg("--key").arg(key);
    }
    c.args(extra).arg(url).output().expect("run curl")
}
fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}
fn lab_cmd(dir: &Path, args: &[&str]) -> Output {
    Command::new(LAB).arg("--dir").arg(dir).args(args).output().expect("run homelab-lab")
}
fn sessions(dir: &Path) -> serde_json::Value {
    let o = lab_cmd(dir, &["sessions"]);
    assert!(o.status.success(), "{}", text(&o));
    json_of(&o)
}

/// 2 control planes + 2 workers, the API server at the VIP, and the node-sim
/// additions the kubeadm_cluster provider relies on.
#[ignore = "needs root, network namespaces, sshd and curl; scripts/test runs it"]
#[test]
fn api_server_and_ha_bootstrap() {
    require_lab();
    assert!(Command::new("curl").arg("--version").output().is_ok(), "this test needs curl (.ci/run installs it)");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let _guard = Guard(dir.clone());
    let out = tmp.path().join("out.json");
    let up = Command::new(LAB)
        .arg("--dir")
        .arg(&dir)
        .args(["up", "--control-planes", "2", "--workers", "2", "--join-ms", "1000", "--out"])
        .arg(&out)
        .env("LAB_NODE_SIM", SIM)
        .output()
        .unwrap();
    assert!(up.status.success(), "up failed: {}", text(&up));
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j, serde_json::from_slice::<serde_json::Value>(&up.stdout).unwrap(), "--out and stdout differ");
    let vip = j["vip"].as_str().unwrap().to_string();
    assert_eq!(j["api_server"], format!("{vip}:6443"));
    let roles: Vec<(String, String)> = j["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap().into(), h["role"].as_str().unwrap().into()))
        .collect();
    let want: Vec<(String, String)> =
        [("cp-1", "control-plane"), ("cp-2", "control-plane"), ("wk-1", "worker"), ("wk-2", "worker")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(roles, want);
    for h in j["hosts"].as_array().unwrap() {
        assert!(h["host_public_key"].as_str().unwrap().starts_with("ssh-ed25519 "));
        assert_eq!(h["user"], "root");
        assert_eq!(h["ssh_port"], 22);
        assert!(Path::new(h["private_key"].as_str().unwrap()).exists());
    }
    let info: LabInfo = serde_json::from_value(j.clone()).unwrap();
    let mut kh = String::new();
    for h in &info.hosts {
        kh.push_str(&format!("{} {}\n", h.address, h.host_public_key));
    }
    std::fs::write(dir.join("known_hosts"), kh).unwrap();
    let addr = |n: &str| info.hosts.iter().find(|h| h.name == n).unwrap().address.clone();
    let (cp1, cp2, wk1, wk2) = (addr("cp-1"), addr("cp-2"), addr("wk-1"), addr("wk-2"));
    let base = format!("https://{vip}:6443");

    // No SSH session has been opened yet.
    let s = sessions(&dir);
    assert!(s.as_object().unwrap().values().all(|v| v == 0), "{s}");

    // The provider's CA, pre-placed on the init node, and an admin cert it signs itself.
    let (ca_crt, ca_key) = homelab_lab::pki::new_ca("kubernetes").unwrap();
    let (adm_crt, adm_key) =
        homelab_lab::pki::client_cert(&ca_crt, &ca_key, "kubernetes-admin", &["kubeadm:cluster-admins"]).unwrap();
    let f = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let (ca, crt, key) = (f("ca.crt", &ca_crt), f("adm.crt", &adm_crt), f("adm.key", &adm_key));
    let admin = Some((crt.as_path(), key.as_path()));
    let o = ssh_in(&dir, &cp1, "mkdir -p /etc/kubernetes/pki && cat > /etc/kubernetes/pki/ca.crt", &ca_crt);
    assert!(o.status.success(), "{}", text(&o));
    let o = ssh_in(&dir, &cp1, "cat > /etc/kubernetes/pki/ca.key", &ca_key);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(sessions(&dir)["cp-1"], 2);
    assert_eq!(sessions(&dir)["wk-1"], 0);

    // Before init: nothing listens at the VIP (curl 7 = couldn't connect).
    let o = curl(&ca, admin, &[], &format!("{base}/readyz"));
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));

    let init = f(
        "init.yaml",
        &format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 2h\nlocalAPIEndpoint:\n  advertiseAddress: {cp1}\nnodeRegistration:\n  name: cp-1\n  kubeletExtraArgs:\n  - name: node-ip\n    value: {cp1}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: lab\nkubernetesVersion: v1.35.2\ncontrolPlaneEndpoint: {vip}:6443\napiServer:\n  certSANs:\n  - api.lab.internal\n"
        ),
    );
    let kube_vip = |conf: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-vip\n  namespace: kube-system\nspec:\n  volumes:\n  - name: kubeconfig\n    hostPath:\n      path: {conf}\n"
        )
    };
    let put_vip = |host: &str, conf: &str| {
        let o = ssh_in(
            &dir,
            host,
            "mkdir -p /etc/kubernetes/manifests && cat > /etc/kubernetes/manifests/kube-vip.yaml",
            &kube_vip(conf),
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    // kube-vip with admin.conf on the init node: the VIP never comes up, init fails.
    put_vip(&cp1, "/etc/kubernetes/admin.conf");
    let o = ssh(&dir, &cp1, &format!("kubeadm init --config {}", init.display()));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("could not reach the API server through the control plane endpoint"), "{}", text(&o));
    assert_eq!(curl(&ca, admin, &[], &format!("{base}/readyz")).status.code(), Some(7));
    // Like real reset, reset -f removes pki: place the CA again.
    let o = ssh(&dir, &cp1, "kubeadm reset -f");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        ssh_in(&dir, &cp1, "mkdir -p /etc/kubernetes/pki && cat > /etc/kubernetes/pki/ca.crt", &ca_crt)
            .status
            .success()
    );
    assert!(ssh_in(&dir, &cp1, "cat > /etc/kubernetes/pki/ca.key", &ca_key).status.success());
    put_vip(&cp1, "/etc/kubernetes/super-admin.conf");
    let o = ssh(&dir, &cp1, &format!("kubeadm init --config {} --upload-certs", init.display()));
    assert!(o.status.success(), "init: {}", text(&o));
    assert!(text(&o).contains("Using the existing \"ca\" certificate and key"), "{}", text(&o));
    let hash = text(&o)
        .split("--discovery-token-ca-cert-hash ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    // The admin.conf kubeconfig is real: base64 CA equal to ours, client cert for kubernetes-admin.
    let conf = std::fs::read_to_string(dir.join("hosts/cp-1/etc-kubernetes/admin.conf")).unwrap();
    let field = |k: &str| conf.lines().find_map(|l| l.trim().strip_prefix(k)).unwrap().trim().to_string();
    let b64 = |s: &str| {
        let o = Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut o = o;
        o.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        String::from_utf8(o.wait_with_output().unwrap().stdout).unwrap()
    };
    assert_eq!(b64(&field("certificate-authority-data:")), ca_crt);
    let conf_crt = f("conf.crt", &b64(&field("client-certificate-data:")));
    let conf_key = f("conf.key", &b64(&field("client-key-data:")));

    // The VIP comes up shortly after (the server polls every 100 ms).
    let start = std::time::Instant::now();
    let ready = loop {
        let o = curl(&ca, admin, &[], &format!("{base}/readyz"));
        if o.status.success() || start.elapsed().as_secs() > 5 {
            break o;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(String::from_utf8_lossy(&ready.stdout), "ok", "{}", text(&ready));
    let v = json_of(&curl(&ca, admin, &[], &format!("{base}/version")));
    assert_eq!(
        (v["major"].as_str(), v["minor"].as_str(), v["gitVersion"].as_str()),
        (Some("1"), Some("35"), Some("v1.35.2"))
    );
    // Serving cert SANs: DNS names and certSANs verify against our CA.
    for name in ["kubernetes.default.svc.cluster.local", "api.lab.internal"] {
        let o = curl(&ca, admin, &["--resolve", &format!("{name}:6443:{vip}")], &format!("https://{name}:6443/readyz"));
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
    // Without a client cert: 401 Status; with a cert from another CA: handshake fails.
    let o = curl(&ca, None, &["-w", "\n%{http_code}"], &format!("{base}/api/v1/nodes"));
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(t.ends_with("\n401") && t.contains("\"reason\":\"Unauthorized\""), "{t}");
    let (other_ca, other_key) = homelab_lab::pki::new_ca("kubernetes").unwrap();
    let (bad_crt, bad_key) =
        homelab_lab::pki::client_cert(&other_ca, &other_key, "kubernetes-admin", &["kubeadm:cluster-admins"]).unwrap();
    let (bad_crt, bad_key) = (f("bad.crt", &bad_crt), f("bad.key", &bad_key));
    let o = curl(&ca, Some((&bad_crt, &bad_key)), &[], &format!("{base}/api/v1/nodes"));
    // curl 35/56: the server's alert (certificate unknown) ends the handshake.
    assert!(matches!(o.status.code(), Some(35 | 56)) && text(&o).contains("alert"), "{}", text(&o));
    // Both our own admin cert and admin.conf's are accepted.
    for auth in [admin, Some((conf_crt.as_path(), conf_key.as_path()))] {
        let nodes = json_of(&curl(&ca, auth, &[], &format!("{base}/api/v1/nodes")));
        assert_eq!(nodes["kind"], "NodeList");
        assert_eq!(nodes["items"].as_array().unwrap().len(), 1);
    }

    // token create / upload-certs with --config.
    let tok = "xyz123.0123456789abcdef";
    let tcfg = f(
        "token.yaml",
        &format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {tok}\n  ttl: 2h\n"
        ),
    );
    let o = ssh(&dir, &cp1, &format!("kubeadm token create --config {}", tcfg.display()));
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == tok, "{}", text(&o));
    let o = ssh(&dir, &cp1, "kubeadm token list");
    assert!(text(&o).contains(tok) && text(&o).contains("abcdef.0123456789abcdef"), "{}", text(&o));
    let ck = "0123456789abcdef".repeat(4);
    let ucfg = f(
        "upload.yaml",
        &format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: {ck}\n"),
    );
    let o = ssh(&dir, &cp1, &format!("kubeadm init phase upload-certs --upload-certs --config {}", ucfg.display()));
    assert!(o.status.success() && text(&o).contains(&ck), "{}", text(&o));

    // Control-plane join: refused while /etc/kubernetes/manifests is not empty.
    let jcfg = f(
        "join-cp2.yaml",
        &format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: {vip}:6443\n    token: {tok}\n    caCertHashes: [\"{hash}\"]\ncontrolPlane:\n  certificateKey: {ck}\n  localAPIEndpoint:\n    advertiseAddress: {cp2}\nnodeRegistration:\n  name: cp-2\n  taints: []\n"
        ),
    );
    put_vip(&cp2, "/etc/kubernetes/admin.conf");
    let o = ssh(&dir, &cp2, &format!("kubeadm join --config {}", jcfg.display()));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("[ERROR DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty"),
        "{}",
        text(&o)
    );
    let o = ssh(
        &dir,
        &cp2,
        &format!("rm /etc/kubernetes/manifests/kube-vip.yaml && kubeadm join --config {}", jcfg.display()),
    );
    assert!(o.status.success(), "cp-2 join: {}", text(&o));
    put_vip(&cp2, "/etc/kubernetes/admin.conf");

    // Two worker joins in parallel (1 s each): the lock is not held during the step.
    let start = std::time::Instant::now();
    let joins: Vec<_> = [(wk1.clone(), "wk-1"), (wk2.clone(), "wk-2")]
        .into_iter()
        .map(|(a, n)| {
            let (dir, hash) = (dir.clone(), hash.clone());
            let cmd = format!(
                "printf 'apiVersion: kubeadm.k8s.io/v1beta4\\nkind: JoinConfiguration\\ndiscovery:\\n  bootstrapToken:\\n    apiServerEndpoint: {vip}:6443\\n    token: abcdef.0123456789abcdef\\n    caCertHashes: [\"{hash}\"]\\nnodeRegistration:\\n  name: {n}\\n  kubeletExtraArgs:\\n  - name: node-ip\\n    value: {a}\\n  - name: node-labels\\n    value: tier=edge\\n' > /tmp/join-{n}.yaml && kubeadm join --config /tmp/join-{n}.yaml"
            );
            std::thread::spawn(move || ssh(&dir, &a, &cmd))
        })
        .collect();
    for j in joins {
        let o = j.join().unwrap();
        assert!(o.status.success(), "worker join: {}", text(&o));
    }
    let took = start.elapsed();
    assert!(took.as_millis() < 1900, "parallel joins took {took:?}");

    // Nodes as the API serves them.
    let nodes = json_of(&curl(&ca, admin, &[], &format!("{base}/api/v1/nodes")));
    let items = nodes["items"].as_array().unwrap();
    let node =
        |n: &str| items.iter().find(|i| i["metadata"]["name"] == n).unwrap_or_else(|| panic!("{n}: {nodes}")).clone();
    assert_eq!(items.len(), 4);
    let c1 = node("cp-1");
    assert_eq!(c1["metadata"]["labels"]["node-role.kubernetes.io/control-plane"], "");
    assert_eq!(c1["spec"]["taints"][0]["key"], "node-role.kubernetes.io/control-plane");
    assert_eq!(c1["spec"]["taints"][0]["effect"], "NoSchedule");
    assert_eq!(c1["status"]["nodeInfo"]["kubeletVersion"], "v1.35.0");
    assert!(node("cp-2")["spec"].get("taints").is_none(), "taints: [] means none");
    let w1 = node("wk-1");
    assert_eq!(w1["metadata"]["labels"]["kubernetes.io/hostname"], "wk-1");
    assert_eq!(w1["metadata"]["labels"]["tier"], "edge");
    assert!(w1["metadata"]["labels"].get("node-role.kubernetes.io/control-plane").is_none());
    assert_eq!(w1["status"]["addresses"][0], serde_json::json!({"type": "InternalIP", "address": wk1}));
    let ready = |v: &serde_json::Value| {
        v["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap()["status"].clone()
    };
    assert_eq!(ready(&w1), "True");

    // PATCH (strategic merge): labels (null deletes), taints replaced, unschedulable; kubectl sees it.
    let patch = r#"{"metadata":{"labels":{"tier":null,"pool":"a"}},"spec":{"unschedulable":true,"taints":[{"key":"k","value":"v","effect":"NoExecute"}]}}"#;
    let o = curl(
        &ca,
        admin,
        &["-X", "PATCH", "-H", "Content-Type: application/strategic-merge-patch+json", "-d", patch],
        &format!("{base}/api/v1/nodes/wk-1"),
    );
    let w1 = json_of(&o);
    assert_eq!(w1["metadata"]["labels"]["pool"], "a");
    assert!(w1["metadata"]["labels"].get("tier").is_none());
    assert_eq!(w1["spec"]["taints"], serde_json::json!([{"key": "k", "value": "v", "effect": "NoExecute"}]));
    let o = ssh(&dir, &cp1, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json");
    let kn = json_of(&o);
    let kw1 = kn["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == "wk-1").unwrap().clone();
    assert_eq!(kw1["metadata"]["labels"]["pool"], "a");
    assert_eq!(kw1["spec"]["unschedulable"], true);
    // kubectl cordon shows up in the API.
    assert!(ssh(&dir, &cp1, "kubectl --kubeconfig /etc/kubernetes/admin.conf cordon wk-2").status.success());
    assert_eq!(json_of(&curl(&ca, admin, &[], &format!("{base}/api/v1/nodes/wk-2")))["spec"]["unschedulable"], true);

    // Pods on a node, eviction.
    let pods = json_of(&curl(&ca, admin, &[], &format!("{base}/api/v1/pods?fieldSelector=spec.nodeName%3Dwk-1")));
    let items = pods["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{pods}");
    let demo = items.iter().find(|p| p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet").unwrap();
    let (ns, name) = (demo["metadata"]["namespace"].as_str().unwrap(), demo["metadata"]["name"].as_str().unwrap());
    let o = curl(
        &ca,
        admin,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-w",
            "\n%{http_code}",
            "-d",
            &format!(
                r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{name}","namespace":"{ns}"}}}}"#
            ),
        ],
        &format!("{base}/api/v1/namespaces/{ns}/pods/{name}/eviction"),
    );
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("\n201"), "{}", text(&o));
    let pods = json_of(&curl(&ca, admin, &[], &format!("{base}/api/v1/pods?fieldSelector=spec.nodeName%3Dwk-1")));
    assert_eq!(pods["items"].as_array().unwrap().len(), 1);

    // kubelet stopped: NotReady. DELETE: 200, then 404 Status.
    assert!(lab_cmd(&dir, &["fault", "wk-2", "kubelet", "stopped"]).status.success());
    assert_eq!(ready(&json_of(&curl(&ca, admin, &[], &format!("{base}/api/v1/nodes/wk-2")))), "False");
    let del =
        |n: &str| curl(&ca, admin, &["-X", "DELETE", "-w", "\n%{http_code}"], &format!("{base}/api/v1/nodes/{n}"));
    assert!(String::from_utf8_lossy(&del("wk-2").stdout).ends_with("\n200"));
    let o = del("wk-2");
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(t.ends_with("\n404") && t.contains("nodes \\\"wk-2\\\" not found"), "{t}");
    let o = curl(&ca, admin, &["-w", "\n%{http_code}"], &format!("{base}/no/such/path"));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("\n404"));

    // etcdctl through kubectl exec in the etcd pod: list (decimal IDs), remove (hex).
    let etcdctl = "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system exec etcd-cp-1 -- etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/server.crt --key /etc/kubernetes/pki/etcd/server.key member";
    let o = ssh(&dir, &cp1, &format!("{etcdctl} list -w json"));
    let ml = json_of(&o);
    let members = ml["members"].as_array().unwrap().clone();
    assert_eq!(members.iter().map(|m| m["name"].as_str().unwrap()).collect::<Vec<_>>(), ["cp-1", "cp-2"]);
    assert_eq!(members[1]["peerURLs"][0], format!("https://{cp2}:2380"));
    assert_eq!(members[1]["clientURLs"][0], format!("https://{cp2}:2379"));
    let id2 = members[1]["ID"].as_u64().unwrap();
    let o = ssh(&dir, &cp1, &format!("{etcdctl} remove {id2:x}"));
    // etcdctl prints `Member %16x removed`: space-padded, so an ID with a
    // leading zero nibble (one in 16) has a space before it.
    assert!(o.status.success() && text(&o).contains(&format!("Member {id2:16x} removed")), "{}", text(&o));
    let o = ssh(&dir, &cp1, &format!("{etcdctl} remove {id2:x}"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("member not found"));
    assert_eq!(json_of(&ssh(&dir, &cp1, &format!("{etcdctl} list -w json")))["members"].as_array().unwrap().len(), 1);

    // No control plane with kubelet running: the VIP goes away.
    assert!(lab_cmd(&dir, &["fault", "cp-1", "kubelet", "stopped"]).status.success());
    assert!(lab_cmd(&dir, &["fault", "cp-2", "kubelet", "stopped"]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(curl(&ca, admin, &[], &format!("{base}/readyz")).status.code(), Some(7));

    // Session counting: exactly one more connection to wk-1.
    let before = sessions(&dir)["wk-1"].as_u64().unwrap();
    assert!(before >= 1);
    assert!(ssh(&dir, &wk1, "true").status.success());
    assert_eq!(sessions(&dir)["wk-1"].as_u64().unwrap(), before + 1);

    // down: no namespaces, bridge, API server or sshd left.
    let pid = info.apiserver_pid;
    let sshd: Vec<u32> = info.hosts.iter().map(|h| h.sshd_pid).collect();
    let o = lab_cmd(&dir, &["down"]);
    assert!(o.status.success(), "{}", text(&o));
    let list = String::from_utf8(Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).unwrap();
    assert!(!list.contains(&format!("lab-{}-", info.prefix)), "{list}");
    assert!(!Command::new("ip").args(["link", "show", &info.bridge]).output().unwrap().status.success());
    let alive = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .is_ok_and(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
    };
    assert!(!alive(pid), "apiserver {pid} still running");
    for p in sshd {
        assert!(!alive(p), "sshd {p} still running");
    }
}

/// `replace HOST`: a replaced VM keeps name and address, offers a new host
/// key, has empty private dirs and a fresh node state; lab.json and the
/// `--out` file carry the new key; `exec` runs on a host without SSH.
#[ignore = "needs root, network namespaces and sshd; scripts/test runs it"]
#[test]
fn replace_gives_a_fresh_host_with_a_new_key() {
    require_lab();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    let out = tmp.path().join("out.json");
    let _guard = Guard(dir.clone());
    let up = Command::new(LAB)
        .arg("--dir")
        .arg(&dir)
        .args(["up", "--control-planes", "1", "--workers", "1", "--out"])
        .arg(&out)
        .env("LAB_NODE_SIM", SIM)
        .output()
        .unwrap();
    assert!(up.status.success(), "up failed: {}", text(&up));
    let before: LabInfo = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let wk = before.hosts[1].clone();
    std::fs::write(dir.join("known_hosts"), format!("{} {}\n", wk.address, wk.host_public_key)).unwrap();
    let o = ssh(
        &dir,
        &wk.address,
        "mkdir -p /etc/kubernetes/pki && touch /etc/kubernetes/kubelet.conf /var/lib/kubelet/config.yaml && systemctl start kubelet",
    );
    assert!(o.status.success(), "{}", text(&o));
    let sessions_before = sessions(&dir)["wk-1"].as_u64().unwrap();

    let o = lab_cmd(&dir, &["replace", "wk-1"]);
    assert!(o.status.success(), "{}", text(&o));
    let entry: serde_json::Value = json_of(&o);
    for file in [dir.join("lab.json"), out.clone()] {
        let after: LabInfo = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let h = &after.hosts[1];
        assert_eq!((h.name.as_str(), h.address.as_str()), ("wk-1", wk.address.as_str()));
        assert_ne!(h.host_public_key, wk.host_public_key, "{}: new host key", file.display());
        assert_eq!(entry["host_public_key"], h.host_public_key.as_str());
        assert_eq!(after.hosts[0].host_public_key, before.hosts[0].host_public_key, "cp-1 untouched");
    }
    // The old key is refused, the new one accepted.
    let o = ssh(&dir, &wk.address, "true");
    assert!(!o.status.success() && text(&o).contains("HOST IDENTIFICATION HAS CHANGED"), "{}", text(&o));
    let new_key = entry["host_public_key"].as_str().unwrap();
    std::fs::write(dir.join("known_hosts"), format!("{} {new_key}\n", wk.address)).unwrap();
    let o = ssh(
        &dir,
        &wk.address,
        "hostname; ls -A /etc/kubernetes /var/lib/kubelet; systemctl is-active containerd kubelet; cloud-init status",
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "wk-1\n/etc/kubernetes:\n\n/var/lib/kubelet:\nactive\ninactive\nstatus: done\n",
        "{}",
        text(&o)
    );
    assert_eq!(sessions(&dir)["wk-1"].as_u64().unwrap(), sessions_before + 1, "the sshd log is appended to");

    // exec: on the host, no SSH session.
    let o = lab_cmd(&dir, &["exec", "wk-1", "--", "sh", "-c", "hostname; systemctl is-active kubelet"]);
    assert_eq!(o.status.code(), Some(3), "the command's exit code: {}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "wk-1\ninactive\n");
    assert_eq!(sessions(&dir)["wk-1"].as_u64().unwrap(), sessions_before + 1);
}

//! Multi-call simulator of the node tools (`kubeadm`, `kubectl`, `cloud-init`,
//! `systemctl`, `crictl`), dispatched on argv[0]. Per-host state lives in
//! `/var/lib/lab-node/state.json` (private to the host via bind mount);
//! shared cluster state in `$LAB_DIR/cluster.json` under a lock file.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use homelab_lab::{HostState, now_secs};
use rcgen::PublicKeyData;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yaml_rust2::{Yaml, YamlLoader};

const STATE: &str = "/var/lib/lab-node/state.json";
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
            "crictl" => crictl(&st, &rest),
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

/// cloud-init 23.4+ exit codes: 0 done (or running without --wait), 1 error,
/// 2 degraded/recoverable error (not simulated yet).
fn cloud_init(st: &mut HostState, args: &[String]) -> R {
    if args.first().map(String::as_str) != Some("status") {
        return fail(2, "usage: cloud-init status [--wait] [--long]");
    }
    let wait = args.iter().any(|a| a == "--wait" || a == "-w");
    let long = args.iter().any(|a| a == "--long" || a == "-l");
    let mut status = current_ci(st);
    if wait {
        // Real --wait prints a dot per poll while running.
        while status == "running" {
            print!(".");
            let _ = std::io::stdout().flush();
            std::thread::sleep(Duration::from_millis(250));
            status = current_ci(st);
        }
        println!();
    }
    println!("status: {status}");
    if long {
        println!(
            "extended_status: {status}\nboot_status_code: enabled-by-generator\ndetail: DataSourceNoCloud\nerrors: []"
        );
    }
    if status == "error" { fail(1, "") } else { Ok(()) }
}
fn current_ci(st: &HostState) -> String {
    if st.cloud_init == "running" && now_secs() >= st.cloud_init_running_until {
        "done".into()
    } else {
        st.cloud_init.clone()
    }
}

/// systemctl: exit 3 for inactive (is-active), 5 for unknown units.
fn systemctl(st: &mut HostState, args: &[String]) -> R {
    let verb = args.first().map(String::as_str).unwrap_or("");
    let units: Vec<String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|u| u.trim_end_matches(".service").to_string())
        .collect();
    match verb {
        "is-active" => {
            let mut all = true;
            for u in &units {
                let on = st.services.get(u).copied().unwrap_or(false);
                println!("{}", if on { "active" } else { "inactive" });
                all &= on;
            }
            if all { Ok(()) } else { fail(3, "") }
        }
        "start" | "restart" | "enable" | "stop" | "disable" => {
            for u in &units {
                if !st.services.contains_key(u) {
                    return fail(5, format!("Failed to {verb} {u}.service: Unit {u}.service not found."));
                }
                // `enable` alone does not start; `enable --now` does.
                let now = args.iter().any(|a| a == "--now");
                match verb {
                    "start" | "restart" => {
                        st.services.insert(u.clone(), true);
                    }
                    "enable" if now => {
                        st.services.insert(u.clone(), true);
                    }
                    "stop" => {
                        st.services.insert(u.clone(), false);
                    }
                    "disable" if now => {
                        st.services.insert(u.clone(), false);
                    }
                    _ => {}
                }
            }
            save_state(st)
        }
        "daemon-reload" => Ok(()),
        _ => fail(1, format!("Unknown command verb '{verb}'.")),
    }
}

fn crictl(_st: &HostState, args: &[String]) -> R {
    match args.first().map(String::as_str) {
        Some("ps") | Some("pods") | Some("images") => Ok(()),
        Some("info") => {
            println!(
                "{{\"status\":{{\"conditions\":[]}},\"config\":{{\"containerd\":{{\"runtimes\":{{\"runc\":{{\"options\":{{\"SystemdCgroup\":true}}}}}}}}}}}}"
            );
            Ok(())
        }
        _ => fail(1, "crictl: subcommand not simulated"),
    }
}

// ---------------------------------------------------------------- cluster state

#[derive(Debug, Default, Serialize, Deserialize)]
struct ClusterFile {
    clusters: Vec<Cluster>,
}
#[derive(Debug, Serialize, Deserialize)]
struct Cluster {
    name: String,
    endpoint: String,
    ca_hash: String,
    tokens: Vec<Token>,
    certificate_key: Option<Token>,
    nodes: Vec<Node>,
    etcd_members: Vec<String>,
}
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Token {
    value: String,
    expires: u64,
}
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node {
    name: String,
    role: String,
    address: String,
    #[serde(default)]
    unschedulable: bool,
}

fn lab_dir() -> Result<PathBuf, Fail> {
    std::env::var_os("LAB_DIR").map(PathBuf::from).ok_or(Fail(1, "LAB_DIR not set (not in a lab session)".into()))
}
fn host_name() -> String {
    std::env::var("LAB_HOST").unwrap_or_else(|_| "unknown".into())
}

/// Exclusive lock via create_new on a lock file (no unsafe flock available).
struct Lock(PathBuf);
impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
fn with_cluster<T>(f: impl FnOnce(&mut ClusterFile) -> Result<T, Fail>) -> Result<T, Fail> {
    let dir = lab_dir()?;
    let lock_path = dir.join("cluster.lock");
    let mut tries = 0;
    let _lock = loop {
        match fs::OpenOptions::new().write(true).create_new(true).open(&lock_path) {
            Ok(_) => break Lock(lock_path.clone()),
            Err(_) if tries < 400 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => return fail(1, format!("cluster lock: {e}")),
        }
    };
    let path = dir.join("cluster.json");
    let mut cf: ClusterFile = match fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t).or_else(|e| fail(1, format!("cluster.json: {e}")))?,
        Err(_) => ClusterFile::default(),
    };
    let out = f(&mut cf)?;
    let t = serde_json::to_string_pretty(&cf).or_else(|e| fail(1, e.to_string()))?;
    fs::write(&path, t).or_else(|e| fail(1, e.to_string()))?;
    Ok(out)
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

fn preflight(errors: &[String]) -> R {
    let mut msg = String::from("error execution phase preflight: [preflight] Some fatal errors occurred:\n");
    for e in errors {
        msg.push_str(&format!("\t[ERROR {e}\n"));
    }
    msg.push_str("[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\nTo see the stack trace of this error execute with --v=5 or higher");
    println!("[preflight] Running pre-flight checks");
    fail(1, msg)
}

fn slow(st: &HostState, base_env: &str, default_ms: u64) {
    let base = std::env::var(base_env).ok().and_then(|v| v.parse().ok()).unwrap_or(default_ms);
    std::thread::sleep(Duration::from_millis(base + st.slow_ms));
}

/// Drop-in-the-middle fault: kill the sshd session process above us.
fn maybe_drop(st: &HostState, sub: &str) {
    if !st.drop_in.iter().any(|d| d == sub) {
        return;
    }
    let _ = std::io::stdout().flush();
    let mut pid = std::process::id().to_string();
    for _ in 0..8 {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return };
        // Fields after the ")" of comm: state ppid ...
        let Some(after) = stat.rsplit_once(')').map(|(_, a)| a.to_string()) else { return };
        let Some(ppid) = after.split_whitespace().nth(1).map(str::to_string) else { return };
        let comm = fs::read_to_string(format!("/proc/{ppid}/comm")).unwrap_or_default();
        if comm.trim() == "sshd" {
            let _ = std::process::Command::new("kill").args(["-9", &ppid]).status();
            std::process::exit(255);
        }
        pid = ppid;
    }
}

fn kubeadm(st: &mut HostState, args: &[String], sub: &str) -> R {
    match args.first().map(String::as_str) {
        Some("version") => {
            if flag(args, "-o").or_else(|| flag(args, "--output")).as_deref() == Some("short") {
                println!("{}", st.kubeadm_version);
            } else {
                println!(
                    "kubeadm version: &version.Info{{Major:\"1\", Minor:\"35\", GitVersion:\"{}\", GoVersion:\"go1.25\", Compiler:\"gc\", Platform:\"linux/arm64\"}}",
                    st.kubeadm_version
                );
            }
            Ok(())
        }
        Some("init") if args.get(1).map(String::as_str) == Some("phase") => kubeadm_upload_certs(args),
        Some("token") if args.get(1).map(String::as_str) == Some("create") => kubeadm_token_create(args),
        Some("init") => kubeadm_init(st, args, sub),
        Some("join") => kubeadm_join(st, args, sub),
        Some("reset") => kubeadm_reset(st, args),
        Some(other) => fail(1, format!("kubeadm {other}: not simulated yet")),
        None => fail(1, "usage: kubeadm [command]"),
    }
}

const INIT_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "bootstrapTokens",
    "nodeRegistration",
    "localAPIEndpoint",
    "certificateKey",
    "skipPhases",
    "patches",
    "dryRun",
    "timeouts",
];
const CLUSTER_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "etcd",
    "networking",
    "kubernetesVersion",
    "controlPlaneEndpoint",
    "apiServer",
    "controllerManager",
    "scheduler",
    "dns",
    "proxy",
    "certificatesDir",
    "imageRepository",
    "featureGates",
    "clusterName",
    "encryptionAlgorithm",
    "certificateValidityPeriod",
    "caCertificateValidityPeriod",
    "upgrade",
];
const JOIN_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "dryRun",
    "nodeRegistration",
    "caCertPath",
    "discovery",
    "controlPlane",
    "skipPhases",
    "patches",
    "timeouts",
];

/// Parses a kubeadm config file into (kind, document), rejecting what the
/// real v1beta4 strict decoder rejects.
fn parse_config(path: &str, allowed: &[&str]) -> Result<Vec<(String, Yaml)>, Fail> {
    let text = fs::read_to_string(path).or_else(|e| fail(1, format!("unable to read config from \"{path}\" : {e}")))?;
    let docs = YamlLoader::load_from_str(&text).or_else(|e| fail(1, format!("error converting YAML to JSON: {e}")))?;
    let mut out = Vec::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("").to_string();
        let api = d["apiVersion"].as_str().unwrap_or("").to_string();
        let fields: &[&str] = match (api.as_str(), kind.as_str()) {
            ("kubeadm.k8s.io/v1beta4", "InitConfiguration") => INIT_FIELDS,
            ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration") => CLUSTER_FIELDS,
            ("kubeadm.k8s.io/v1beta4", "JoinConfiguration") => JOIN_FIELDS,
            ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration")
            | ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration") => {
                continue;
            }
            _ => {
                return fail(
                    1,
                    format!(
                        "no kind \"{kind}\" is registered for version \"{api}\" in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\""
                    ),
                );
            }
        };
        if !allowed.contains(&kind.as_str()) {
            return fail(1, format!("kind {kind} is not valid for this command"));
        }
        let strict = |f: &str| {
            fail(
                1,
                format!(
                    "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: strict decoding error: unknown field \"{f}\""
                ),
            )
        };
        if let Some(h) = d.as_hash() {
            for k in h.keys() {
                let k = k.as_str().unwrap_or("");
                if !fields.contains(&k) {
                    return strict(k);
                }
            }
        }
        // v1beta3 shapes that moved in v1beta4.
        if !d["apiServer"]["timeoutForControlPlane"].is_badvalue() {
            return strict("apiServer.timeoutForControlPlane");
        }
        for comp in ["apiServer", "controllerManager", "scheduler"] {
            if d[comp]["extraArgs"].as_hash().is_some() {
                return fail(
                    1,
                    format!(
                        "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: json: cannot unmarshal object into Go struct field ControlPlaneComponent.{comp}.extraArgs of type []v1beta4.Arg"
                    ),
                );
            }
        }
        out.push((kind, d));
    }
    Ok(out)
}

fn kubeadm_init(st: &mut HostState, args: &[String], sub: &str) -> R {
    let Some(cfg) = flag(args, "--config") else {
        return fail(1, "lab: kubeadm init is simulated with --config FILE only");
    };
    let docs = parse_config(&cfg, &["InitConfiguration", "ClusterConfiguration"])?;
    let get = |kind: &str| docs.iter().find(|(k, _)| k == kind).map(|(_, d)| d.clone()).unwrap_or(Yaml::BadValue);
    let (init, cc) = (get("InitConfiguration"), get("ClusterConfiguration"));
    let mut errs = Vec::new();
    for f in [
        "manifests/kube-apiserver.yaml",
        "manifests/kube-controller-manager.yaml",
        "manifests/kube-scheduler.yaml",
        "manifests/etcd.yaml",
    ] {
        let p = format!("{K8S}/{f}");
        if Path::new(&p).exists() {
            let id = p.trim_start_matches('/').replace('/', "-");
            errs.push(format!("FileAvailable--{id}]: {p} already exists"));
        }
    }
    if !errs.is_empty() {
        return preflight(&errs);
    }
    println!("[init] Using Kubernetes version: {}", cc["kubernetesVersion"].as_str().unwrap_or(&st.kubeadm_version));
    println!("[preflight] Running pre-flight checks");
    maybe_drop(st, sub);
    // Use an existing CA like real kubeadm, else generate one.
    let pki = format!("{K8S}/pki");
    fs::create_dir_all(&pki).or_else(|e| fail(1, e.to_string()))?;
    let key_path = format!("{pki}/ca.key");
    let key = match fs::read_to_string(&key_path) {
        Ok(pem) => {
            println!("[certs] Using the existing \"ca\" certificate and key");
            rcgen::KeyPair::from_pem(&pem).or_else(|e| fail(1, format!("failure loading ca key: {e}")))?
        }
        Err(_) => {
            let kp = rcgen::KeyPair::generate().or_else(|e| fail(1, e.to_string()))?;
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).or_else(|e| fail(1, e.to_string()))?;
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.distinguished_name.push(rcgen::DnType::CommonName, "kubernetes");
            let cert = params.self_signed(&kp).or_else(|e| fail(1, e.to_string()))?;
            fs::write(format!("{pki}/ca.crt"), cert.pem()).or_else(|e| fail(1, e.to_string()))?;
            fs::write(&key_path, kp.serialize_pem()).or_else(|e| fail(1, e.to_string()))?;
            println!("[certs] Generating \"ca\" certificate and key");
            kp
        }
    };
    // kubeadm's CA hash: sha256 over the CA's SubjectPublicKeyInfo.
    let hash: String = Sha256::digest(key.subject_public_key_info()).iter().map(|b| format!("{b:02x}")).collect();
    let address = init["localAPIEndpoint"]["advertiseAddress"].as_str().unwrap_or("").to_string();
    let endpoint = cc["controlPlaneEndpoint"].as_str().map(str::to_string).unwrap_or_else(|| format!("{address}:6443"));
    let name = cc["clusterName"].as_str().unwrap_or("kubernetes").to_string();
    let node = init["nodeRegistration"]["name"].as_str().map(str::to_string).unwrap_or_else(host_name);
    let mut tokens = Vec::new();
    if let Some(list) = init["bootstrapTokens"].as_vec() {
        for t in list {
            if let Some(v) = t["token"].as_str() {
                tokens.push(Token { value: v.into(), expires: now_secs() + 24 * 3600 });
            }
        }
    }
    if tokens.is_empty() {
        tokens.push(Token { value: new_token(), expires: now_secs() + 24 * 3600 });
    }
    let cert_key = if args.iter().any(|a| a == "--upload-certs") {
        let k = init["certificateKey"].as_str().map(str::to_string).unwrap_or_else(|| random_hex(64));
        Some(Token { value: k, expires: now_secs() + 2 * 3600 })
    } else {
        None
    };
    slow(st, "LAB_INIT_MS", 0);
    fs::create_dir_all(format!("{K8S}/manifests")).or_else(|e| fail(1, e.to_string()))?;
    for m in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        let body = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {m}\n  namespace: kube-system\n# lab stub\n");
        fs::write(format!("{K8S}/manifests/{m}.yaml"), body).or_else(|e| fail(1, e.to_string()))?;
    }
    for f in ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"] {
        write_kubeconfig(&format!("{K8S}/{f}"), &name, &endpoint)?;
    }
    st.services.insert("kubelet".into(), true);
    save_state(st)?;
    let token = tokens[0].value.clone();
    let ck = cert_key.as_ref().map(|c| c.value.clone());
    with_cluster(|cf| {
        cf.clusters.retain(|c| c.endpoint != endpoint);
        cf.clusters.push(Cluster {
            name: name.clone(),
            endpoint: endpoint.clone(),
            ca_hash: hash.clone(),
            tokens,
            certificate_key: cert_key,
            nodes: vec![Node { name: node.clone(), role: "control-plane".into(), address, unschedulable: false }],
            etcd_members: vec![node.clone()],
        });
        Ok(())
    })?;
    println!("\nYour Kubernetes control-plane has initialized successfully!\n");
    if let Some(ck) = ck {
        println!(
            "  kubeadm join {endpoint} --token {token} \\\n\t--discovery-token-ca-cert-hash sha256:{hash} \\\n\t--control-plane --certificate-key {ck}\n"
        );
    }
    println!("kubeadm join {endpoint} --token {token} \\\n\t--discovery-token-ca-cert-hash sha256:{hash}");
    Ok(())
}

fn write_kubeconfig(path: &str, cluster: &str, endpoint: &str) -> R {
    let ca = fs::read(format!("{K8S}/pki/ca.crt")).unwrap_or_default();
    let ca_b64: String = ca.iter().map(|b| format!("{b:02x}")).collect();
    let body = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://{endpoint}\n    # lab: hex, not base64, of ca.crt\n    certificate-authority-data: {ca_b64}\n  name: {cluster}\ncontexts: []\nusers: []\n"
    );
    fs::write(path, body).or_else(|e| fail(1, format!("{path}: {e}")))
}

fn kubeadm_join(st: &mut HostState, args: &[String], sub: &str) -> R {
    let (mut endpoint, mut token, mut hash, mut cp, mut ck, mut node) = (
        args.get(1).filter(|a| !a.starts_with('-')).cloned(),
        flag(args, "--token"),
        flag(args, "--discovery-token-ca-cert-hash"),
        args.iter().any(|a| a == "--control-plane"),
        flag(args, "--certificate-key"),
        flag(args, "--node-name"),
    );
    if let Some(cfg) = flag(args, "--config") {
        let docs = parse_config(&cfg, &["JoinConfiguration"])?;
        if let Some((_, d)) = docs.first() {
            let bt = &d["discovery"]["bootstrapToken"];
            endpoint = bt["apiServerEndpoint"].as_str().map(str::to_string);
            token = bt["token"].as_str().map(str::to_string);
            hash = bt["caCertHashes"][0].as_str().map(str::to_string);
            cp = !d["controlPlane"].is_badvalue() && !d["controlPlane"].is_null();
            ck = d["controlPlane"]["certificateKey"].as_str().map(str::to_string);
            node = d["nodeRegistration"]["name"].as_str().map(str::to_string);
        }
    }
    let Some(endpoint) = endpoint else {
        return fail(1, "discovery: Invalid value: \"\": bootstrapToken or file must be set");
    };
    let Some(token) = token else {
        return fail(1, "discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid");
    };
    if Path::new(&format!("{K8S}/kubelet.conf")).exists() {
        return preflight(&[
            "FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists".to_string(),
        ]);
    }
    let node = node.unwrap_or_else(host_name);
    println!("[preflight] Running pre-flight checks");
    maybe_drop(st, sub);
    let (name, _) = with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(
                1,
                format!(
                    "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp {endpoint}: connect: connection refused"
                ),
            );
        };
        let id = token.split('.').next().unwrap_or("");
        if !c.tokens.iter().any(|t| t.value == token && t.expires > now_secs()) {
            return fail(
                1,
                format!(
                    "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"{id}\""
                ),
            );
        }
        match &hash {
            None => {
                return fail(
                    1,
                    "error execution phase preflight: couldn't validate the identity of the API Server: none of the public keys are pinned; use --discovery-token-ca-cert-hash or --discovery-token-unsafe-skip-ca-verification",
                );
            }
            Some(h) if h.strip_prefix("sha256:") != Some(c.ca_hash.as_str()) => {
                return fail(
                    1,
                    format!(
                        "error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"sha256:{}\" are pinned",
                        c.ca_hash
                    ),
                );
            }
            _ => {}
        }
        if c.nodes.iter().any(|n| n.name == node) {
            return fail(
                1,
                format!(
                    "error execution phase kubelet-start: a Node with name \"{node}\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"
                ),
            );
        }
        if cp {
            match (&c.certificate_key, &ck) {
                (Some(k), Some(given)) if k.expires > now_secs() && k.value == *given => {}
                (Some(k), Some(_)) if k.expires > now_secs() => {
                    return fail(
                        1,
                        "error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certs: failed to decrypt data: cipher: message authentication failed",
                    );
                }
                _ => {
                    return fail(
                        1,
                        "error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one",
                    );
                }
            }
            c.etcd_members.push(node.clone());
        }
        c.nodes.push(Node {
            name: node.clone(),
            role: if cp { "control-plane" } else { "worker" }.into(),
            address: String::new(),
            unschedulable: false,
        });
        Ok((c.name.clone(), ()))
    })?;
    slow(st, "LAB_JOIN_MS", 0);
    write_kubeconfig(&format!("{K8S}/kubelet.conf"), &name, &endpoint)?;
    if cp {
        write_kubeconfig(&format!("{K8S}/admin.conf"), &name, &endpoint)?;
    }
    st.services.insert("kubelet".into(), true);
    save_state(st)?;
    println!("\nThis node has joined the cluster:");
    Ok(())
}

fn kubeadm_reset(st: &mut HostState, args: &[String]) -> R {
    if !args.iter().any(|a| a == "-f" || a == "--force") {
        return fail(1, "lab: kubeadm reset is simulated with -f only (no prompt)");
    }
    let node = host_name();
    // Real reset removes this control plane's etcd member; the Node object stays.
    let _ = with_cluster(|cf| {
        for c in &mut cf.clusters {
            c.etcd_members.retain(|m| *m != node);
        }
        Ok(())
    });
    for p in ["manifests", "pki"] {
        let _ = fs::remove_dir_all(format!("{K8S}/{p}"));
    }
    for f in [
        "admin.conf",
        "super-admin.conf",
        "kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
        "bootstrap-kubelet.conf",
    ] {
        let _ = fs::remove_file(format!("{K8S}/{f}"));
    }
    if let Ok(rd) = fs::read_dir("/var/lib/kubelet") {
        for e in rd.flatten() {
            let _ = fs::remove_dir_all(e.path()).or_else(|_| fs::remove_file(e.path()));
        }
    }
    st.services.insert("kubelet".into(), false);
    save_state(st)?;
    println!("[reset] Deleted contents of the etcd data directory: /var/lib/etcd");
    Ok(())
}

/// Endpoint named by a kubeconfig's `server: https://...` line.
fn kubeconfig_endpoint(path: &str) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix("server: https://")).map(str::to_string)
}

/// kubectl on cluster.json: the cluster is the one whose endpoint the
/// kubeconfig names.
fn kubectl(args: &[String]) -> R {
    let kc = flag(args, "--kubeconfig")
        .or_else(|| std::env::var("KUBECONFIG").ok())
        .unwrap_or_else(|| "/root/.kube/config".into());
    let Some(endpoint) = kubeconfig_endpoint(&kc) else {
        return fail(
            1,
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
        );
    };
    // Positional words, skipping values of flags that take one.
    let mut pos: Vec<String> = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if ["--kubeconfig", "-o", "--timeout"].contains(&a.as_str()) {
            skip = true;
        } else if !a.starts_with('-') {
            pos.push(a.clone());
        }
    }
    let word = |i: usize| pos.get(i).cloned().unwrap_or_default();
    let verb = word(0);
    with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(
                1,
                format!("Unable to connect to the server: dial tcp {endpoint}: connect: connection refused"),
            );
        };
        match (verb.as_str(), word(1).as_str()) {
            ("get", "nodes") | ("get", "node") => {
                let items: Vec<serde_json::Value> = c
                    .nodes
                    .iter()
                    .map(|n| {
                        let labels = if n.role == "control-plane" {
                            serde_json::json!({"node-role.kubernetes.io/control-plane": ""})
                        } else {
                            serde_json::json!({})
                        };
                        serde_json::json!({
                            "apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": n.name, "labels": labels},
                            "spec": {"unschedulable": n.unschedulable},
                            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                       "nodeInfo": {"kubeletVersion": "v1.35.0"}}
                        })
                    })
                    .collect();
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
                println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
                Ok(())
            }
            ("delete", "node") => {
                let n = word(2);
                let before = c.nodes.len();
                c.nodes.retain(|x| x.name != n);
                if before == c.nodes.len() {
                    return fail(1, format!("Error from server (NotFound): nodes \"{n}\" not found"));
                }
                println!("node \"{n}\" deleted");
                Ok(())
            }
            ("cordon" | "drain" | "uncordon", n) => {
                let Some(node) = c.nodes.iter_mut().find(|x| x.name == n) else {
                    return fail(1, format!("Error from server (NotFound): nodes \"{n}\" not found"));
                };
                node.unschedulable = verb != "uncordon";
                let done = if verb == "drain" { "drained" } else { "cordoned" };
                println!("node/{n} {}", if verb == "uncordon" { "uncordoned" } else { done });
                Ok(())
            }
            _ => fail(1, format!("lab: kubectl {verb} is not simulated")),
        }
    })
}

fn kubeadm_token_create(args: &[String]) -> R {
    let ttl = flag(args, "--ttl").unwrap_or_else(|| "24h".into());
    let secs = parse_duration(&ttl).ok_or(Fail(1, format!("invalid argument \"{ttl}\" for \"--ttl\" flag")))?;
    let token = new_token();
    // ttl 0 means the token never expires.
    let expires = if secs == 0 { u64::MAX } else { now_secs() + secs };
    let Some(endpoint) = kubeconfig_endpoint(&format!("{K8S}/admin.conf")) else {
        return fail(1, "failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory");
    };
    let hash = with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("unable to create token: dial tcp {endpoint}: connect: connection refused"));
        };
        c.tokens.push(Token { value: token.clone(), expires });
        Ok(c.ca_hash.clone())
    })?;
    if args.iter().any(|a| a == "--print-join-command") {
        println!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash sha256:{hash} ");
    } else {
        println!("{token}");
    }
    Ok(())
}

/// `kubeadm init phase upload-certs --upload-certs [--certificate-key K]`:
/// a new certificate key valid 2 h, as the kubeadm-certs Secret is.
fn kubeadm_upload_certs(args: &[String]) -> R {
    if !(args.iter().any(|a| a == "upload-certs") && args.iter().any(|a| a == "--upload-certs")) {
        return fail(1, "lab: only `kubeadm init phase upload-certs --upload-certs` is simulated");
    }
    let Some(endpoint) = kubeconfig_endpoint(&format!("{K8S}/admin.conf")) else {
        return fail(1, "failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory");
    };
    let key = flag(args, "--certificate-key").unwrap_or_else(|| random_hex(64));
    with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("dial tcp {endpoint}: connect: connection refused"));
        };
        c.certificate_key = Some(Token { value: key.clone(), expires: now_secs() + 2 * 3600 });
        Ok(())
    })?;
    println!(
        "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace\n[upload-certs] Using certificate key:\n{key}"
    );
    Ok(())
}

/// Go-style durations as kubeadm's --ttl accepts: 30s, 10m, 2h, 1h30m, 0.
fn parse_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let (mut total, mut num) = (0u64, String::new());
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else {
            let n: u64 = num.parse().ok()?;
            num.clear();
            total += n * match ch {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return None,
            };
        }
    }
    if num.is_empty() && total > 0 { Some(total) } else { None }
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

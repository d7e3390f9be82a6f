//! Multi-call simulator of the node tools (`kubeadm`, `kubectl`, `cloud-init`,
//! `systemctl`, `containerd`), dispatched on argv[0]. Per-host state lives in
//! `/var/lib/lab-node/state.json` (private to the host via bind mount);
//! shared cluster state in `$LAB_DIR/cluster.json` under a lock file.

// Test infrastructure: a panic here fails a test run and never reaches a
// user's plugin; the workspace lints keep it out of the provider itself.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use homelab_lab::cluster::{self, Cluster, ClusterFile, EtcdMember, Node, Taint, Token};
use homelab_lab::{HostState, LabInfo, now_secs, pki};
use sha2::{Digest, Sha256};
use yaml_rust2::{Yaml, YamlLoader};

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
            save_state(st)?;
            if units.iter().any(|u| u == "kubelet") && st.services.get("kubelet") == Some(&false) {
                wait_for_static_pods_stopped();
            }
            Ok(())
        }
        "daemon-reload" => Ok(()),
        _ => fail(1, format!("Unknown command verb '{verb}'.")),
    }
}

/// On a real-Kubernetes lab host: returns once the kubelet stand-in has
/// stopped its static pods (it writes how many run to [`PODS_RUNNING`]),
/// so a `kubeadm reset` that stops the kubelet finds their ports free
/// afterwards, as it does on a node whose runtime removed the containers.
fn wait_for_static_pods_stopped() {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        match fs::read_to_string(PODS_RUNNING) {
            Ok(n) if n.trim() != "0" => std::thread::sleep(Duration::from_millis(50)),
            // Simulated lab (no stand-in) or nothing runs.
            _ => return,
        }
    }
}

/// `containerd config dump`: the merged configuration, as containerd 1.7
/// (Debian 13's) prints it for the config.toml our cloud-init writes.
fn containerd(_st: &HostState, args: &[String]) -> R {
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["config", "dump"] => {
            println!(
                "version = 2\n\n[plugins]\n\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    sandbox_image = \"registry.k8s.io/pause:3.10.1\"\n\n    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n      SystemdCgroup = true"
            );
            Ok(())
        }
        _ => fail(1, "containerd: only `config dump` is simulated"),
    }
}

// ---------------------------------------------------------------- cluster state

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
    let second = args.get(1).map(String::as_str);
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
        Some("init") if second == Some("phase") => kubeadm_upload_certs(args),
        Some("token") if second == Some("create") => kubeadm_token_create(args),
        Some("token") if second == Some("list") => kubeadm_token_list(args),
        Some("init") => logged("init", kubeadm_init(st, args, sub)),
        Some("join") => logged("join", kubeadm_join(st, args, sub)),
        Some("reset") => logged("reset", kubeadm_reset(st, args)),
        Some(other) => fail(1, format!("kubeadm {other}: not simulated yet")),
        None => fail(1, "usage: kubeadm [command]"),
    }
}

/// Appends `HOST kubeadm STEP ok|failed` to `$LAB_DIR/events.log`, so tests
/// can count inits, joins and resets (one `write` per line with O_APPEND:
/// lines from parallel sessions do not interleave).
fn logged(step: &str, result: R) -> R {
    if let Ok(dir) = lab_dir() {
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        let line = format!("{} {} kubeadm {step} {outcome}\n", now_secs(), host_name());
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(dir.join("events.log")) {
            let _ = f.write_all(line.as_bytes());
        }
    }
    result
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
        if d["nodeRegistration"]["kubeletExtraArgs"].as_hash().is_some() {
            return fail(
                1,
                format!(
                    "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: json: cannot unmarshal object into Go struct field NodeRegistrationOptions.nodeRegistration.kubeletExtraArgs of type []v1beta4.Arg"
                ),
            );
        }
        out.push((kind, d));
    }
    Ok(out)
}

/// v1beta4 `[{name, value}]` list (kubeletExtraArgs, extraArgs): the value of `name`.
fn arg_value(list: &Yaml, name: &str) -> Option<String> {
    list.as_vec()?
        .iter()
        .find(|a| a["name"].as_str() == Some(name))
        .and_then(|a| a["value"].as_str())
        .map(str::to_string)
}

/// The Node record kubelet registers from `nodeRegistration` (node-ip, node-labels, taints).
fn register_node(st: &HostState, reg: &Yaml, name: &str, control_plane: bool, advertise: &str) -> Node {
    let extra = &reg["kubeletExtraArgs"];
    let address = arg_value(extra, "node-ip")
        .or_else(|| (!advertise.is_empty()).then(|| advertise.to_string()))
        .unwrap_or_else(host_address);
    let mut labels = cluster::default_labels(name, control_plane);
    for kv in arg_value(extra, "node-labels").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    // kubeadm: nil taints -> the control-plane default; an explicit list (even []) is used as is.
    let taints = match reg["taints"].as_vec() {
        Some(list) => list
            .iter()
            .map(|t| Taint {
                key: t["key"].as_str().unwrap_or("").to_string(),
                value: t["value"].as_str().map(str::to_string),
                effect: t["effect"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
        None if control_plane => vec![cluster::control_plane_taint()],
        None => Vec::new(),
    };
    Node {
        name: name.to_string(),
        role: if control_plane { "control-plane" } else { "worker" }.into(),
        address,
        host: host_name(),
        unschedulable: false,
        kubelet_version: st.kubeadm_version.clone(),
        labels,
        annotations: Default::default(),
        taints,
        created: now_secs(),
        resource_version: 0,
    }
}

fn etcd_member(node: &Node) -> EtcdMember {
    let seed = format!("{}{}{:?}", node.name, node.address, std::time::SystemTime::now());
    EtcdMember { id: cluster::id_from(&seed), name: node.name.clone(), address: node.address.clone() }
}

fn io_err<T>(what: &str, r: std::io::Result<T>) -> Result<T, Fail> {
    r.or_else(|e| fail(1, format!("{what}: {e}")))
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
    let version = cc["kubernetesVersion"].as_str().unwrap_or(&st.kubeadm_version).to_string();
    println!("[init] Using Kubernetes version: {version}");
    println!("[preflight] Running pre-flight checks");
    maybe_drop(st, sub);
    // Use an existing CA like real kubeadm, else generate one.
    let pki_dir = format!("{K8S}/pki");
    io_err(&pki_dir, fs::create_dir_all(&pki_dir))?;
    let (crt_path, key_path) = (format!("{pki_dir}/ca.crt"), format!("{pki_dir}/ca.key"));
    let (ca_crt, ca_key) = match (fs::read_to_string(&crt_path), fs::read_to_string(&key_path)) {
        (Ok(c), Ok(k)) => {
            println!("[certs] Using the existing \"ca\" certificate and key");
            (c, k)
        }
        (Err(_), Err(_)) => {
            let (c, k) = pki::new_ca("kubernetes")?;
            io_err(&crt_path, fs::write(&crt_path, &c))?;
            io_err(&key_path, fs::write(&key_path, &k))?;
            println!("[certs] Generating \"ca\" certificate and key");
            (c, k)
        }
        (Err(e), _) => return fail(1, format!("error execution phase certs/ca: failure loading ca certificate: {e}")),
        (_, Err(e)) => return fail(1, format!("error execution phase certs/ca: failure loading ca key: {e}")),
    };
    let (etcd_ca_crt, etcd_ca_key) = existing_or_new_ca(&format!("{pki_dir}/etcd"), "etcd-ca")?;
    // kubeadm's CA hash: sha256 over the CA's SubjectPublicKeyInfo.
    let hash = pki::ca_hash(&ca_key).map_err(|e| Fail(1, format!("failure loading ca key: {e}")))?;
    let advertise = init["localAPIEndpoint"]["advertiseAddress"].as_str().unwrap_or("").to_string();
    let reg = &init["nodeRegistration"];
    let node_name = reg["name"].as_str().map(str::to_string).unwrap_or_else(host_name);
    let node = register_node(st, reg, &node_name, true, &advertise);
    let address = if advertise.is_empty() { node.address.clone() } else { advertise.clone() };
    let endpoint = cc["controlPlaneEndpoint"].as_str().map(str::to_string).unwrap_or_else(|| format!("{address}:6443"));
    let name = cc["clusterName"].as_str().unwrap_or("kubernetes").to_string();
    let mut tokens = Vec::new();
    if let Some(list) = init["bootstrapTokens"].as_vec() {
        for t in list {
            if let Some(v) = t["token"].as_str() {
                let ttl = t["ttl"].as_str().and_then(parse_duration).unwrap_or(24 * 3600);
                let expires = if ttl == 0 { u64::MAX } else { now_secs() + ttl };
                let description = t["description"].as_str().unwrap_or("").to_string();
                tokens.push(Token { value: v.into(), expires, description });
            }
        }
    }
    if tokens.is_empty() {
        tokens.push(Token { value: new_token(), expires: now_secs() + 24 * 3600, description: String::new() });
    }
    let cert_key = if args.iter().any(|a| a == "--upload-certs") {
        let k = init["certificateKey"].as_str().map(str::to_string).unwrap_or_else(|| random_hex(64));
        Some(Token { value: k, expires: now_secs() + 2 * 3600, description: String::new() })
    } else {
        None
    };
    slow(st, "LAB_INIT_MS", 0);
    io_err("manifests", fs::create_dir_all(format!("{K8S}/manifests")))?;
    for m in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        let body = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {m}\n  namespace: kube-system\n# lab stub\n");
        io_err(m, fs::write(format!("{K8S}/manifests/{m}.yaml"), body))?;
    }
    let kc = |file: &str, user: &str, orgs: &[&str]| {
        write_kubeconfig(&format!("{K8S}/{file}"), &name, &endpoint, &ca_crt, Some((&ca_key, user, orgs)))
    };
    kc("admin.conf", "kubernetes-admin", &["kubeadm:cluster-admins"])?;
    kc("super-admin.conf", "kubernetes-super-admin", &["system:masters"])?;
    kc("kubelet.conf", &format!("system:node:{node_name}"), &["system:nodes"])?;
    kc("controller-manager.conf", "system:kube-controller-manager", &[])?;
    kc("scheduler.conf", "system:kube-scheduler", &[])?;
    st.services.insert("kubelet".into(), true);
    save_state(st)?;
    println!(
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory \"/etc/kubernetes/manifests\""
    );
    println!("[control-plane-check] Checking kube-apiserver at https://{address}:6443/livez");
    println!("[control-plane-check] kube-apiserver is healthy");
    // kubeadm >= 1.29: admin.conf has no rights until init binds kubeadm:cluster-admins, so a
    // kube-vip static pod using it never takes the lease and the VIP never comes up.
    let vip_manifest = fs::read_to_string(format!("{K8S}/manifests/kube-vip.yaml")).unwrap_or_default();
    if vip_manifest.contains("/etc/kubernetes/admin.conf") && !vip_manifest.contains("/etc/kubernetes/super-admin.conf")
    {
        let ep = &endpoint;
        return fail(
            1,
            format!(
                "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace\nerror execution phase upload-config/kubeadm: could not reach the API server through the control plane endpoint: Post \"https://{ep}/api/v1/namespaces/kube-system/configmaps?timeout=10s\": dial tcp {ep}: connect: no route to host\nTo see the stack trace of this error execute with --v=5 or higher"
            ),
        );
    }
    let token = tokens[0].value.clone();
    let ck = cert_key.as_ref().map(|c| c.value.clone());
    let member = etcd_member(&node);
    let sans: Vec<String> = cc["apiServer"]["certSANs"]
        .as_vec()
        .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let dns_domain = cc["networking"]["dnsDomain"].as_str().unwrap_or("cluster.local").to_string();
    with_cluster(|cf| {
        cf.clusters.retain(|c| c.endpoint != endpoint);
        cf.clusters.push(Cluster {
            name: name.clone(),
            endpoint: endpoint.clone(),
            ca_hash: hash.clone(),
            tokens,
            certificate_key: cert_key,
            pods: cluster::pods_for(&node.name, true),
            nodes: vec![node],
            etcd_members: vec![member],
            ca_cert_pem: ca_crt.clone(),
            ca_key_pem: ca_key.clone(),
            etcd_ca_cert_pem: etcd_ca_crt,
            etcd_ca_key_pem: etcd_ca_key,
            kubernetes_version: version.clone(),
            cert_sans: sans,
            dns_domain,
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

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A real kubeconfig: base64 CA data and, given the CA key, a client
/// certificate for `user` (CN) in `orgs` (O) signed by the CA.
fn write_kubeconfig(
    path: &str,
    cluster: &str,
    endpoint: &str,
    ca_crt: &str,
    client: Option<(&str, &str, &[&str])>,
) -> R {
    let mut body = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: https://{endpoint}\n  name: {cluster}\n",
        b64(ca_crt.as_bytes())
    );
    match client {
        Some((ca_key, user, orgs)) => {
            let (crt, key) = pki::client_cert(ca_crt, ca_key, user, orgs)?;
            body.push_str(&format!(
                "contexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {user}@{cluster}\ncurrent-context: {user}@{cluster}\nkind: Config\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(crt.as_bytes()),
                b64(key.as_bytes())
            ));
        }
        None => body.push_str("contexts: []\nkind: Config\nusers: []\n"),
    }
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
    let mut reg = Yaml::BadValue;
    let mut advertise = flag(args, "--apiserver-advertise-address").unwrap_or_default();
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
            advertise = d["controlPlane"]["localAPIEndpoint"]["advertiseAddress"].as_str().unwrap_or("").to_string();
            reg = d["nodeRegistration"].clone();
        }
    }
    let Some(endpoint) = endpoint else {
        return fail(1, "discovery: Invalid value: \"\": bootstrapToken or file must be set");
    };
    let Some(token) = token else {
        return fail(1, "discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid");
    };
    let mut errs = Vec::new();
    let manifests_busy = fs::read_dir(format!("{K8S}/manifests")).map(|mut d| d.next().is_some()).unwrap_or(false);
    if manifests_busy {
        errs.push("DirAvailable--etc-kubernetes-manifests]: /etc/kubernetes/manifests is not empty".to_string());
    }
    for f in ["kubelet.conf", "bootstrap-kubelet.conf"] {
        if Path::new(&format!("{K8S}/{f}")).exists() {
            let id = f.replace('/', "-");
            errs.push(format!("FileAvailable--etc-kubernetes-{id}]: /etc/kubernetes/{f} already exists"));
        }
    }
    if !errs.is_empty() {
        return preflight(&errs);
    }
    let node = node.unwrap_or_else(host_name);
    println!("[preflight] Running pre-flight checks");
    maybe_drop(st, sub);
    let record = register_node(st, &reg, &node, cp, &advertise);
    let (name, ca_crt, ca_key, etcd_ca) = with_cluster(|cf| {
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
            // A member left behind by an earlier life of this node (a
            // replaced VM whose member was not removed): the new etcd, with
            // an empty data dir, cannot join under it; kubeadm times out.
            if let Some(stale) = c.etcd_members.iter().find(|m| m.name == node || m.address == record.address) {
                return fail(
                    1,
                    format!(
                        "error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcd member {:x} (name \"{}\", peer https://{}:2380) already exists and was bootstrapped with other data; remove it with `etcdctl member remove` first: timeout waiting for etcd cluster to be available",
                        stale.id, stale.name, stale.address
                    ),
                );
            }
            c.etcd_members.push(etcd_member(&record));
        }
        c.pods.retain(|p| p.node != node);
        c.pods.extend(cluster::pods_for(&node, cp));
        c.nodes.push(record.clone());
        Ok((
            c.name.clone(),
            c.ca_cert_pem.clone(),
            c.ca_key_pem.clone(),
            (c.etcd_ca_cert_pem.clone(), c.etcd_ca_key_pem.clone()),
        ))
    })?;
    // The step's duration, outside the lock: joins on different hosts run in parallel.
    slow(st, "LAB_JOIN_MS", 0);
    let pki_dir = format!("{K8S}/pki");
    io_err(&pki_dir, fs::create_dir_all(&pki_dir))?;
    io_err("ca.crt", fs::write(format!("{pki_dir}/ca.crt"), &ca_crt))?;
    let key = (!ca_key.is_empty()).then_some(ca_key.as_str());
    let kubelet_user = format!("system:node:{node}");
    write_kubeconfig(
        &format!("{K8S}/kubelet.conf"),
        &name,
        &endpoint,
        &ca_crt,
        key.map(|k| (k, kubelet_user.as_str(), &["system:nodes"][..])),
    )?;
    if cp {
        // control-plane-prepare/download-certs: the shared CAs from kubeadm-certs.
        io_err("ca.key", fs::write(format!("{pki_dir}/ca.key"), &ca_key))?;
        io_err("etcd", fs::create_dir_all(format!("{pki_dir}/etcd")))?;
        io_err("etcd/ca.crt", fs::write(format!("{pki_dir}/etcd/ca.crt"), &etcd_ca.0))?;
        io_err("etcd/ca.key", fs::write(format!("{pki_dir}/etcd/ca.key"), &etcd_ca.1))?;
        io_err("manifests", fs::create_dir_all(format!("{K8S}/manifests")))?;
        for m in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
            let body =
                format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {m}\n  namespace: kube-system\n# lab stub\n");
            io_err(m, fs::write(format!("{K8S}/manifests/{m}.yaml"), body))?;
        }
        write_kubeconfig(
            &format!("{K8S}/admin.conf"),
            &name,
            &endpoint,
            &ca_crt,
            key.map(|k| (k, "kubernetes-admin", &["kubeadm:cluster-admins"][..])),
        )?;
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
            c.etcd_members.retain(|m| m.name != node);
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

fn age(created: u64) -> String {
    let s = now_secs().saturating_sub(created);
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// kubectl on cluster.json: the cluster is the one whose endpoint the
/// kubeconfig names.
fn kubectl(args: &[String]) -> R {
    // `--` ends kubectl's own arguments (exec).
    let (args, cmd) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let kc = flag(args, "--kubeconfig")
        .or_else(|| std::env::var("KUBECONFIG").ok())
        .unwrap_or_else(|| "/root/.kube/config".into());
    let Some(endpoint) = kubeconfig_endpoint(&kc) else {
        return fail(
            1,
            "The connection to the server localhost:8080 was refused - did you specify the right host or port?",
        );
    };
    let namespace = flag(args, "-n").or_else(|| flag(args, "--namespace")).unwrap_or_else(|| "default".into());
    // Positional words, skipping values of flags that take one.
    let mut pos: Vec<String> = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if ["--kubeconfig", "-o", "--output", "--timeout", "-n", "--namespace", "-c", "--container"]
            .contains(&a.as_str())
        {
            skip = true;
        } else if !a.starts_with('-') {
            pos.push(a.clone());
        }
    }
    let word = |i: usize| pos.get(i).cloned().unwrap_or_default();
    let verb = word(0);
    let output = flag(args, "-o").or_else(|| flag(args, "--output")).unwrap_or_default();
    let dir = lab_dir()?;
    with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(
                1,
                format!("Unable to connect to the server: dial tcp {endpoint}: connect: connection refused"),
            );
        };
        match (verb.as_str(), word(1).as_str()) {
            ("get", "nodes" | "node" | "no") => {
                let nodes: Vec<&Node> = c.nodes.iter().filter(|n| word(2).is_empty() || n.name == word(2)).collect();
                if !word(2).is_empty() && nodes.is_empty() {
                    return fail(1, format!("Error from server (NotFound): nodes \"{}\" not found", word(2)));
                }
                if output == "json" {
                    let items: Vec<serde_json::Value> =
                        nodes.iter().map(|n| cluster::node_json(n, cluster::node_ready(&dir, n))).collect();
                    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
                    println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
                } else {
                    println!("{:<20} {:<26} {:<15} {:<5} VERSION", "NAME", "STATUS", "ROLES", "AGE");
                    for n in nodes {
                        let mut status = if cluster::node_ready(&dir, n) { "Ready" } else { "NotReady" }.to_string();
                        if n.unschedulable {
                            status.push_str(",SchedulingDisabled");
                        }
                        let roles = if n.role == "control-plane" { "control-plane" } else { "<none>" };
                        println!(
                            "{:<20} {:<26} {:<15} {:<5} {}",
                            n.name,
                            status,
                            roles,
                            age(n.created),
                            n.kubelet_version
                        );
                    }
                }
                Ok(())
            }
            ("delete", "node" | "nodes" | "no") => {
                let n = word(2);
                let before = c.nodes.len();
                c.nodes.retain(|x| x.name != n);
                if before == c.nodes.len() {
                    return fail(1, format!("Error from server (NotFound): nodes \"{n}\" not found"));
                }
                c.pods.retain(|p| p.node != n);
                println!("node \"{n}\" deleted");
                Ok(())
            }
            ("cordon" | "drain" | "uncordon", n) => {
                let Some(node) = c.nodes.iter_mut().find(|x| x.name == n) else {
                    return fail(1, format!("Error from server (NotFound): nodes \"{n}\" not found"));
                };
                node.unschedulable = verb != "uncordon";
                node.resource_version += 1;
                let done = if verb == "drain" { "drained" } else { "cordoned" };
                if verb == "drain" {
                    println!("node/{n} cordoned");
                    let ds: Vec<String> = c
                        .pods
                        .iter()
                        .filter(|p| p.node == n && p.owner == "DaemonSet")
                        .map(|p| format!("{}/{}", p.namespace, p.name))
                        .collect();
                    if !ds.is_empty() && !args.iter().any(|a| a.starts_with("--ignore-daemonsets")) {
                        return fail(
                            1,
                            format!(
                                "error: unable to drain node \"{n}\" due to error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {}, continuing command...",
                                ds.join(", ")
                            ),
                        );
                    }
                    for p in c.pods.iter().filter(|p| p.node == n && p.owner != "DaemonSet") {
                        println!("evicting pod {}/{}", p.namespace, p.name);
                    }
                    c.pods.retain(|p| p.node != n || p.owner == "DaemonSet");
                }
                println!("node/{n} {}", if verb == "uncordon" { "uncordoned" } else { done });
                Ok(())
            }
            ("exec", pod) => etcdctl(c, &namespace, pod, cmd),
            _ => fail(1, format!("lab: kubectl {verb} is not simulated")),
        }
    })
}

/// `kubectl -n kube-system exec etcd-NODE -- etcdctl ... member list|remove`.
fn etcdctl(c: &mut Cluster, namespace: &str, pod: &str, cmd: &[String]) -> R {
    let on =
        pod.strip_prefix("etcd-").filter(|n| namespace == "kube-system" && c.etcd_members.iter().any(|m| m.name == *n));
    let Some(on) = on.map(str::to_string) else {
        return fail(1, format!("Error from server (NotFound): pods \"{pod}\" not found"));
    };
    if cmd.first().map(String::as_str) != Some("etcdctl") {
        return fail(1, "lab: only etcdctl is simulated in the etcd pod");
    }
    let mut pos = Vec::new();
    let mut write_out = "simple".to_string();
    let mut it = cmd[1..].iter();
    while let Some(a) = it.next() {
        if a == "-w" || a == "--write-out" {
            write_out = it.next().cloned().unwrap_or_default();
        } else if let Some(v) = a.strip_prefix("--write-out=").or_else(|| a.strip_prefix("-w=")) {
            write_out = v.to_string();
        } else if ["--endpoints", "--cacert", "--cert", "--key", "--command-timeout", "--dial-timeout"]
            .contains(&a.as_str())
        {
            it.next();
        } else if !a.starts_with('-') {
            pos.push(a.as_str());
        }
    }
    let cluster_id = cluster::id_from(&format!("etcd-cluster:{}", c.ca_hash));
    let me = c.etcd_members.iter().find(|m| m.name == on).map(|m| m.id).unwrap_or(0);
    let header = serde_json::json!({"cluster_id": cluster_id, "member_id": me, "raft_term": 2 + c.etcd_members.len()});
    match pos.as_slice() {
        ["member", "list"] => {
            match write_out.as_str() {
                "json" => {
                    let members: Vec<serde_json::Value> = c
                        .etcd_members
                        .iter()
                        .map(|m| {
                            serde_json::json!({"ID": m.id, "name": m.name,
                                "peerURLs": [format!("https://{}:2380", m.address)],
                                "clientURLs": [format!("https://{}:2379", m.address)]})
                        })
                        .collect();
                    println!("{}", serde_json::json!({"header": header, "members": members}));
                }
                "simple" => {
                    for m in &c.etcd_members {
                        println!(
                            "{:x}, started, {}, https://{a}:2380, https://{a}:2379, false",
                            m.id,
                            m.name,
                            a = m.address
                        );
                    }
                }
                other => return fail(1, format!("Error: unsupported output format \"{other}\"")),
            }
            Ok(())
        }
        ["member", "remove", id] => {
            let Ok(id) = u64::from_str_radix(id, 16) else {
                return fail(
                    1,
                    format!(
                        "Error: bad member ID arg (strconv.ParseUint: parsing \"{id}\": invalid syntax), expecting ID in Hex"
                    ),
                );
            };
            let Some(i) = c.etcd_members.iter().position(|m| m.id == id) else {
                return fail(1, "Error: etcdserver: member not found");
            };
            c.etcd_members.remove(i);
            if c.etcd_members.is_empty() {
                eprintln!("lab: warning: the last etcd member was removed; the cluster has no quorum");
            }
            println!("Member {id:16x} removed from cluster {cluster_id:16x}");
            Ok(())
        }
        _ => fail(1, format!("lab: etcdctl {} is not simulated", pos.join(" "))),
    }
}

fn admin_endpoint(args: &[String]) -> Result<String, Fail> {
    let kc = flag(args, "--kubeconfig").unwrap_or_else(|| format!("{K8S}/admin.conf"));
    match kubeconfig_endpoint(&kc) {
        Some(ep) => Ok(ep),
        None => fail(1, format!("failed to load admin kubeconfig: open {kc}: no such file or directory")),
    }
}

fn valid_token(t: &str) -> bool {
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    t.split_once('.').is_some_and(|(id, secret)| ok(id, 6) && ok(secret, 16))
}

/// `kubeadm token create [TOKEN] [--ttl D] [--description S] [--print-join-command] [--config F]`:
/// with `--config` the InitConfiguration's bootstrapTokens are created or updated (UpdateOrCreateTokens).
/// The CA at `DIR/ca.{crt,key}` (what the provider wrote), else a new one
/// written there, as kubeadm's certs phase does.
fn existing_or_new_ca(dir: &str, common_name: &str) -> Result<(String, String), Fail> {
    let (crt_path, key_path) = (format!("{dir}/ca.crt"), format!("{dir}/ca.key"));
    if let (Ok(c), Ok(k)) = (fs::read_to_string(&crt_path), fs::read_to_string(&key_path)) {
        return Ok((c, k));
    }
    io_err(dir, fs::create_dir_all(dir))?;
    let (c, k) = pki::new_ca(common_name)?;
    io_err(&crt_path, fs::write(&crt_path, &c))?;
    io_err(&key_path, fs::write(&key_path, &k))?;
    Ok((c, k))
}

fn kubeadm_token_create(args: &[String]) -> R {
    let mut wanted: Vec<Token> = Vec::new();
    if let Some(cfg) = flag(args, "--config") {
        let docs = parse_config(&cfg, &["InitConfiguration", "ClusterConfiguration"])?;
        for (kind, d) in &docs {
            if kind != "InitConfiguration" {
                continue;
            }
            for t in d["bootstrapTokens"].as_vec().cloned().unwrap_or_default() {
                let ttl = t["ttl"].as_str().unwrap_or("24h");
                let secs =
                    parse_duration(ttl).ok_or(Fail(1, format!("bootstrapTokens.ttl: invalid duration \"{ttl}\"")))?;
                wanted.push(Token {
                    value: t["token"].as_str().map(str::to_string).unwrap_or_else(new_token),
                    expires: if secs == 0 { u64::MAX } else { now_secs() + secs },
                    description: t["description"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }
    if wanted.is_empty() {
        let ttl = flag(args, "--ttl").unwrap_or_else(|| "24h".into());
        let secs = parse_duration(&ttl).ok_or(Fail(1, format!("invalid argument \"{ttl}\" for \"--ttl\" flag")))?;
        let given = args.iter().skip(2).find(|a| !a.starts_with('-') && a.contains('.')).cloned();
        wanted.push(Token {
            value: given.unwrap_or_else(new_token),
            // ttl 0 means the token never expires.
            expires: if secs == 0 { u64::MAX } else { now_secs() + secs },
            description: flag(args, "--description").unwrap_or_default(),
        });
    }
    for t in &wanted {
        if !valid_token(&t.value) {
            return fail(
                1,
                format!(
                    "the bootstrap token \"{}\" was not of the form \"\\\\A([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})\\\\z\"",
                    t.value
                ),
            );
        }
    }
    let endpoint = admin_endpoint(args)?;
    let token = wanted[0].value.clone();
    let hash = with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("unable to create token: dial tcp {endpoint}: connect: connection refused"));
        };
        for t in wanted {
            // As kubeadm's CreateNewTokens: a Secret for this ID that
            // exists is an error, never an update.
            let id = t.value.split('.').next().unwrap_or("").to_string();
            if c.tokens.iter().any(|x| x.value.split('.').next() == Some(id.as_str())) {
                return fail(1, format!("a token with id \"{id}\" already exists"));
            }
            c.tokens.push(t);
        }
        Ok(c.ca_hash.clone())
    })?;
    if args.iter().any(|a| a == "--print-join-command") {
        println!("kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash sha256:{hash} ");
    } else {
        println!("{token}");
    }
    Ok(())
}

fn kubeadm_token_list(args: &[String]) -> R {
    let endpoint = admin_endpoint(args)?;
    let c = cluster::read_clusters(&lab_dir()?).clusters.into_iter().find(|c| c.endpoint == endpoint);
    let Some(c) = c else {
        return fail(1, format!("failed to list bootstrap tokens: dial tcp {endpoint}: connect: connection refused"));
    };
    println!(
        "TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS"
    );
    for t in c.tokens.iter().filter(|t| t.expires > now_secs()) {
        let (ttl, exp) = if t.expires == u64::MAX {
            ("<forever>".to_string(), "<never>".to_string())
        } else {
            let left = t.expires - now_secs();
            (
                if left >= 3600 { format!("{}h", left / 3600) } else { format!("{}m", left / 60) },
                cluster::rfc3339(t.expires),
            )
        };
        let desc = if t.description.is_empty() { "<none>" } else { t.description.as_str() };
        println!(
            "{:<25} {:<11} {:<22} {:<24} {:<13} system:bootstrappers:kubeadm:default-node-token",
            t.value, ttl, exp, "authentication,signing", desc
        );
    }
    Ok(())
}

/// `kubeadm init phase upload-certs --upload-certs [--certificate-key K | --config F]`:
/// a certificate key valid 2 h, as the kubeadm-certs Secret is.
fn kubeadm_upload_certs(args: &[String]) -> R {
    if !(args.iter().any(|a| a == "upload-certs") && args.iter().any(|a| a == "--upload-certs")) {
        return fail(1, "lab: only `kubeadm init phase upload-certs --upload-certs` is simulated");
    }
    let mut key = flag(args, "--certificate-key");
    if let Some(cfg) = flag(args, "--config") {
        let docs = parse_config(&cfg, &["InitConfiguration", "ClusterConfiguration"])?;
        if key.is_none() {
            key = docs
                .iter()
                .find(|(k, _)| k == "InitConfiguration")
                .and_then(|(_, d)| d["certificateKey"].as_str().map(str::to_string));
        }
    }
    if let Some(k) = &key {
        if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
            return fail(
                1,
                format!(
                    "error execution phase upload-certs: error uploading certs: error decoding key: encoding/hex: invalid byte or wrong length in \"{k}\""
                ),
            );
        }
    }
    let endpoint = admin_endpoint(args)?;
    let key = key.unwrap_or_else(|| random_hex(64));
    with_cluster(|cf| {
        let Some(c) = cf.clusters.iter_mut().find(|c| c.endpoint == endpoint) else {
            return fail(1, format!("dial tcp {endpoint}: connect: connection refused"));
        };
        c.certificate_key =
            Some(Token { value: key.clone(), expires: now_secs() + 2 * 3600, description: String::new() });
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

//! `kubeadm init`, `join` and `reset` against the simulated cluster, with
//! the step times and faults the tests set.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(crate) fn preflight(errors: &[String]) -> R {
    let mut msg = String::from("error execution phase preflight: [preflight] Some fatal errors occurred:\n");
    for e in errors {
        msg.push_str(&format!("\t[ERROR {e}\n"));
    }
    msg.push_str("[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\nTo see the stack trace of this error execute with --v=5 or higher");
    println!("[preflight] Running pre-flight checks");
    fail(1, msg)
}

pub(crate) fn slow(st: &HostState, base_env: &str, default_ms: u64) {
    let base = std::env::var(base_env).ok().and_then(|v| v.parse().ok()).unwrap_or(default_ms);
    std::thread::sleep(Duration::from_millis(base + st.slow_ms));
}

/// Drop-in-the-middle fault: kill the sshd session process above us.
pub(crate) fn maybe_drop(st: &HostState, sub: &str) {
    if !st.drop_in.iter().any(|d| d == sub) {
        return;
    }
    let _ = std::io::stdout().flush();
    // Let sshd forward what was printed: a kill right after the flush can
    // beat it, and the client then sees no partial output (seen under load).
    std::thread::sleep(Duration::from_millis(300));
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

pub(crate) fn kubeadm(st: &mut HostState, args: &[String], sub: &str) -> R {
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
pub(crate) fn logged(step: &str, result: R) -> R {
    if let Ok(dir) = lab_dir() {
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        let line = format!("{} {} kubeadm {step} {outcome}\n", now_secs(), host_name());
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(dir.join("events.log")) {
            let _ = f.write_all(line.as_bytes());
        }
    }
    result
}

/// The Node record kubelet registers from `nodeRegistration` (node-ip, node-labels, taints).
pub(crate) fn register_node(st: &HostState, reg: &Yaml, name: &str, control_plane: bool, advertise: &str) -> Node {
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

pub(crate) fn etcd_member(node: &Node) -> EtcdMember {
    let seed = format!("{}{}{:?}", node.name, node.address, std::time::SystemTime::now());
    EtcdMember { id: cluster::id_from(&seed), name: node.name.clone(), address: node.address.clone() }
}

pub(crate) fn kubeadm_init(st: &mut HostState, args: &[String], sub: &str) -> R {
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

pub(crate) fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A real kubeconfig: base64 CA data and, given the CA key, a client
/// certificate for `user` (CN) in `orgs` (O) signed by the CA.
pub(crate) fn write_kubeconfig(
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

pub(crate) fn kubeadm_join(st: &mut HostState, args: &[String], sub: &str) -> R {
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

pub(crate) fn kubeadm_reset(st: &mut HostState, args: &[String]) -> R {
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

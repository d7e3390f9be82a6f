//! Simulated Kubernetes API server at the VIP: rustls over std threads and a
//! small HTTP/1.1 parser. It listens on VIP:6443 only while a cluster for that
//! endpoint exists in `cluster.json` and some control plane runs kubelet with
//! a kube-vip manifest; otherwise the port is closed (connection refused).

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::crypto::CryptoProvider;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{Value, json};

use crate::cluster::{self, Cluster, Node, Taint, endpoint_host, node_json, node_ready, pod_json};
use crate::pki;

pub const PORT: u16 = 6443;

/// Path of a host's kube-vip static pod manifest in the lab directory.
pub fn kube_vip_manifest(dir: &Path, host: &str) -> PathBuf {
    dir.join("hosts").join(host).join("etc-kubernetes/manifests/kube-vip.yaml")
}

/// The cluster served at `vip`, if the VIP would be up: the cluster's endpoint
/// names the VIP and a control plane has kubelet running and a kube-vip manifest.
pub fn ready_cluster(dir: &Path, vip: &str) -> Option<Cluster> {
    let cf = cluster::read_clusters(dir);
    let c = cf.clusters.into_iter().find(|c| endpoint_host(&c.endpoint) == vip)?;
    if c.ca_cert_pem.is_empty() {
        return None;
    }
    let up = c
        .nodes
        .iter()
        .any(|n| n.role == "control-plane" && node_ready(dir, n) && kube_vip_manifest(dir, &n.host).exists());
    up.then_some(c)
}

/// Serving certificate SANs: VIP, control plane addresses, the in-cluster names, `certSANs`.
pub fn serving_sans(c: &Cluster, vip: &str) -> Vec<String> {
    let mut s = vec![vip.to_string(), endpoint_host(&c.endpoint).to_string()];
    s.extend(c.nodes.iter().filter(|n| n.role == "control-plane" && !n.address.is_empty()).map(|n| n.address.clone()));
    for n in ["kubernetes", "kubernetes.default", "kubernetes.default.svc"] {
        s.push(n.into());
    }
    s.push(format!("kubernetes.default.svc.{}", c.dns_domain));
    s.extend(c.cert_sans.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    s.retain(|x| seen.insert(x.clone()));
    s
}

fn server_config(provider: &Arc<CryptoProvider>, c: &Cluster, vip: &str) -> Result<Arc<ServerConfig>, String> {
    // Unauthenticated clients get through the handshake and see 401; a
    // certificate from another CA fails the handshake.
    pki::tls_server_config(provider, &c.ca_cert_pem, &c.ca_key_pem, &serving_sans(c, vip), pki::ClientCerts::Optional)
}

/// Runs until `DIR/lab.json` disappears (the lab went down without killing us).
pub fn serve(dir: &Path, vip: &str) -> Result<(), String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let ready = Arc::new(AtomicBool::new(false));
    let mut listener: Option<TcpListener> = None;
    let mut cfg: Option<(String, Arc<ServerConfig>)> = None;
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut missing_since: Option<Instant> = None;
    loop {
        if last.elapsed() >= Duration::from_millis(100) {
            last = Instant::now();
            if dir.join("lab.json").exists() {
                missing_since = None;
            } else if missing_since.get_or_insert(last).elapsed() > Duration::from_secs(3) {
                return Ok(());
            }
            let mut ok = false;
            if let Some(c) = ready_cluster(dir, vip) {
                let key = format!("{}{:?}", c.ca_cert_pem, serving_sans(&c, vip));
                if cfg.as_ref().map(|(k, _)| k) != Some(&key) {
                    match server_config(&provider, &c, vip) {
                        Ok(sc) => cfg = Some((key, sc)),
                        Err(e) => {
                            eprintln!("apiserver: {e}");
                            cfg = None;
                        }
                    }
                }
                ok = cfg.is_some();
            }
            ready.store(ok, Ordering::SeqCst);
            if ok && listener.is_none() {
                match TcpListener::bind((vip, PORT)).and_then(|l| l.set_nonblocking(true).map(|_| l)) {
                    Ok(l) => listener = Some(l),
                    Err(e) => eprintln!("apiserver: bind {vip}:{PORT}: {e}"),
                }
            } else if !ok {
                // Closing the socket: new connections are refused.
                listener = None;
            }
        }
        let Some(l) = &listener else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        match l.accept() {
            Ok((s, _)) => {
                if let Some((_, sc)) = &cfg {
                    let (sc, dir, vip, ready) = (sc.clone(), dir.to_path_buf(), vip.to_string(), ready.clone());
                    std::thread::spawn(move || {
                        let _ = handle(s, sc, &dir, &vip, &ready);
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                eprintln!("apiserver: accept: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn handle(s: TcpStream, cfg: Arc<ServerConfig>, dir: &Path, vip: &str, ready: &AtomicBool) -> io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.set_nodelay(true)?;
    let conn = ServerConnection::new(cfg).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, s);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    let authed = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
    let mut r = BufReader::new(tls);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        if len > 4 << 20 {
            return Ok(());
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        if !ready.load(Ordering::SeqCst) {
            // The VIP went away: drop the connection like a vanished peer.
            return Ok(());
        }
        let ctype = headers.get("content-type").map(String::as_str).unwrap_or("");
        let (code, ct, out) = route(dir, vip, &method, &target, ctype, &body, authed);
        let close = headers.get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let head = format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nCache-Control: no-cache, private\r\n{}\r\n",
            reason(code),
            out.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        let w = r.get_mut();
        w.write_all(head.as_bytes())?;
        w.write_all(out.as_bytes())?;
        w.flush()?;
        if close {
            w.conn.send_close_notify();
            let _ = w.flush();
            return Ok(());
        }
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

/// A `Status` object as the API server returns for failures.
pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}

/// A bootstrap-token Secret's token and expiry (`data`, base64, as the
/// provider and kubeadm write it).
fn bootstrap_token(body: &[u8]) -> Result<cluster::Token, String> {
    let secret: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let field = |key: &str| -> Result<String, String> {
        let data = secret["data"][key].as_str().ok_or_else(|| format!("data.{key}: Required value"))?;
        let bytes = BASE64.decode(data).map_err(|e| format!("data.{key}: {e}"))?;
        String::from_utf8(bytes).map_err(|e| format!("data.{key}: {e}"))
    };
    let expires = time::OffsetDateTime::parse(&field("expiration")?, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("data.expiration: {e}"))?;
    Ok(cluster::Token {
        value: format!("{}.{}", field("token-id")?, field("token-secret")?),
        expires: u64::try_from(expires.unix_timestamp()).unwrap_or(0),
        description: field("description").unwrap_or_default(),
    })
}

fn not_found(kind: &str, name: &str) -> (u16, Value) {
    (404, status(404, "NotFound", &format!("{kind} \"{name}\" not found"), Some(json!({"name": name, "kind": kind}))))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Equality-based selector terms: `k=v`, `k==v`, `k!=v`, `k`, `!k`.
fn selector_matches(sel: &str, get: impl Fn(&str) -> Option<String>) -> bool {
    sel.split(',').map(str::trim).filter(|t| !t.is_empty()).all(|t| {
        if let Some((k, v)) = t.split_once("!=") {
            get(k.trim()).as_deref() != Some(v.trim())
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            get(k.trim()).as_deref() == Some(v.trim())
        } else if let Some(k) = t.strip_prefix('!') {
            get(k.trim()).is_none()
        } else {
            get(t).is_some()
        }
    })
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if k.starts_with('$') {
                        continue; // strategic-merge directives ($patch, $setElementOrder...) are not simulated
                    }
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Applies a patched Node object back onto the record (labels, annotations, taints, unschedulable).
fn apply_node(node: &mut Node, v: &Value) -> Result<(), String> {
    let strmap = |x: &Value, what: &str| -> Result<BTreeMap<String, String>, String> {
        match x {
            Value::Null => Ok(BTreeMap::new()),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(format!("{what}.{k}: Invalid value: must be a string")),
                })
                .collect(),
            _ => Err(format!("{what}: Invalid value: must be an object")),
        }
    };
    let labels = strmap(&v["metadata"]["labels"], "metadata.labels")?;
    let annotations = strmap(&v["metadata"]["annotations"], "metadata.annotations")?;
    let mut taints = Vec::new();
    match &v["spec"]["taints"] {
        Value::Null => {}
        Value::Array(a) => {
            for (i, t) in a.iter().enumerate() {
                let key = t["key"].as_str().unwrap_or("").to_string();
                let effect = t["effect"].as_str().unwrap_or("").to_string();
                if key.is_empty() {
                    return Err(format!("spec.taints[{i}].key: Required value"));
                }
                if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect.as_str()) {
                    return Err(format!(
                        "spec.taints[{i}].effect: Unsupported value: \"{effect}\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
                    ));
                }
                let value = t["value"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
                taints.push(Taint { key, value, effect });
            }
        }
        _ => return Err("spec.taints: Invalid value: must be a list".into()),
    }
    let unschedulable = match &v["spec"]["unschedulable"] {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => return Err("spec.unschedulable: Invalid value: must be a boolean".into()),
    };
    node.labels = labels;
    node.annotations = annotations;
    node.taints = taints;
    node.unschedulable = unschedulable;
    node.resource_version += 1;
    Ok(())
}

fn version_json(v: &str) -> Value {
    let mut it = v.trim_start_matches('v').split('.');
    let (major, minor) = (it.next().unwrap_or("1").to_string(), it.next().unwrap_or("0").to_string());
    json!({"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
        "minCompatibilityMajor": major, "minCompatibilityMinor": minor,
        "gitVersion": v, "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-12-17T00:00:00Z", "goVersion": "go1.25.5", "compiler": "gc", "platform": "linux/arm64"})
}

/// One request: (status code, content type, body). Reads/writes `cluster.json`.
pub fn route(
    dir: &Path,
    vip: &str,
    method: &str,
    target: &str,
    ctype: &str,
    body: &[u8],
    authed: bool,
) -> (u16, &'static str, String) {
    const JSON: &str = "application/json";
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let q = query(q);
    let path = path.trim_end_matches('/');
    // Health and version are public (system:public-info-viewer); the rest needs a client cert.
    match (method, path) {
        ("GET", "/readyz" | "/livez" | "/healthz") => return (200, "text/plain; charset=utf-8", "ok".into()),
        ("GET", "/version") => {
            let v = cluster::read_clusters(dir)
                .clusters
                .into_iter()
                .find(|c| endpoint_host(&c.endpoint) == vip)
                .map(|c| c.kubernetes_version)
                .unwrap_or_default();
            return (200, JSON, version_json(&v).to_string());
        }
        _ => {}
    }
    if !authed {
        return (401, JSON, status(401, "Unauthorized", "Unauthorized", None).to_string());
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (code, v) = with_cluster(dir, vip, |c| match (method, segs.as_slice()) {
        ("GET", ["api"]) => (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("{vip}:{PORT}")}]}),
        ),
        ("GET", ["api", "v1", "nodes"]) => {
            let items: Vec<Value> = c
                .nodes
                .iter()
                .filter(|n| {
                    q.get("labelSelector").is_none_or(|s| selector_matches(s, |k| n.labels.get(k).cloned()))
                        && q.get("fieldSelector")
                            .is_none_or(|s| selector_matches(s, |k| (k == "metadata.name").then(|| n.name.clone())))
                })
                .map(|n| node_json(n, node_ready(dir, n)))
                .collect();
            (200, json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}))
        }
        ("GET", ["api", "v1", "nodes", name]) => match c.nodes.iter().find(|n| n.name == *name) {
            Some(n) => (200, node_json(n, node_ready(dir, n))),
            None => not_found("nodes", name),
        },
        ("PATCH", ["api", "v1", "nodes", name]) => {
            let ct = ctype.split(';').next().unwrap_or("").trim();
            if ct != "application/merge-patch+json" && ct != "application/strategic-merge-patch+json" {
                let msg = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json";
                return (415, status(415, "UnsupportedMediaType", msg, None));
            }
            let Ok(patch) = serde_json::from_slice::<Value>(body) else {
                return (400, status(400, "BadRequest", "error decoding patch: invalid JSON", None));
            };
            let Some(n) = c.nodes.iter_mut().find(|n| n.name == *name) else {
                return not_found("nodes", name);
            };
            let ready = node_ready(dir, n);
            let mut v = node_json(n, ready);
            merge_patch(&mut v, &patch);
            let mut updated = n.clone();
            match apply_node(&mut updated, &v) {
                Ok(()) => {
                    *n = updated;
                    (200, node_json(n, ready))
                }
                Err(e) => (
                    422,
                    status(
                        422,
                        "Invalid",
                        &format!("Node \"{name}\" is invalid: {e}"),
                        Some(json!({"name": name, "kind": "Node"})),
                    ),
                ),
            }
        }
        // kubeadm's bootstrap-token Secrets, by server-side apply (what the
        // provider sends): kept as the cluster's tokens, which joins check.
        ("PATCH", ["api", "v1", "namespaces", "kube-system", "secrets", name])
            if name.starts_with("bootstrap-token-") =>
        {
            if ctype.split(';').next().unwrap_or("").trim() != "application/apply-patch+yaml" {
                return (
                    415,
                    status(415, "UnsupportedMediaType", "only server-side apply is simulated for Secrets", None),
                );
            }
            if !q.contains_key("fieldManager") {
                return (
                    422,
                    status(
                        422,
                        "Invalid",
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                        None,
                    ),
                );
            }
            match bootstrap_token(body) {
                Ok(token) => {
                    let id = token.value.split('.').next().unwrap_or("").to_owned();
                    c.tokens.retain(|t| t.value.split('.').next() != Some(id.as_str()));
                    c.tokens.push(token);
                    (
                        200,
                        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": name, "namespace": "kube-system"}, "type": "bootstrap.kubernetes.io/token"}),
                    )
                }
                Err(e) => (422, status(422, "Invalid", &format!("Secret \"{name}\" is invalid: {e}"), None)),
            }
        }
        ("DELETE", ["api", "v1", "nodes", name]) => {
            let Some(i) = c.nodes.iter().position(|n| n.name == *name) else {
                return not_found("nodes", name);
            };
            let n = c.nodes.remove(i);
            c.pods.retain(|p| p.node != n.name);
            let uid = node_json(&n, false)["metadata"]["uid"].clone();
            (
                200,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": "nodes", "uid": uid}}),
            )
        }
        ("GET", ["api", "v1", "pods"]) | ("GET", ["api", "v1", "namespaces", _, "pods"]) => {
            let ns = segs.get(3).copied();
            let items: Vec<Value> = c
                .pods
                .iter()
                .filter(|p| ns.is_none_or(|ns| p.namespace == ns))
                .filter(|p| {
                    q.get("fieldSelector").is_none_or(|s| {
                        selector_matches(s, |k| match k {
                            "spec.nodeName" => Some(p.node.clone()),
                            "metadata.name" => Some(p.name.clone()),
                            "metadata.namespace" => Some(p.namespace.clone()),
                            _ => None,
                        })
                    })
                })
                .map(pod_json)
                .collect();
            (200, json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items}))
        }
        ("GET", ["api", "v1", "namespaces", ns, "pods", name]) => {
            match c.pods.iter().find(|p| p.namespace == *ns && p.name == *name) {
                Some(p) => (200, pod_json(p)),
                None => not_found("pods", name),
            }
        }
        ("POST", ["api", "v1", "namespaces", ns, "pods", name, "eviction"]) => {
            let Some(i) = c.pods.iter().position(|p| p.namespace == *ns && p.name == *name) else {
                return not_found("pods", name);
            };
            c.pods.remove(i);
            (201, json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
        }
        (_, ["api", "v1", "nodes", ..]) | (_, ["api", "v1", "namespaces", _, "pods", ..]) => (
            405,
            status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", None),
        ),
        _ => (404, status(404, "NotFound", "the server could not find the requested resource", Some(json!({})))),
    });
    (code, JSON, v.to_string())
}

/// Runs `f` on the cluster served at `vip` under the cluster.json lock.
fn with_cluster(dir: &Path, vip: &str, f: impl FnOnce(&mut Cluster) -> (u16, Value)) -> (u16, Value) {
    let r = cluster::with_clusters(dir, |cf| -> Result<(u16, Value), String> {
        match cf.clusters.iter_mut().find(|c| endpoint_host(&c.endpoint) == vip) {
            Some(c) => Ok(f(c)),
            None => Ok((503, status(503, "ServiceUnavailable", "no cluster", None))),
        }
    });
    r.unwrap_or_else(|e| (500, status(500, "InternalError", &e, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = json!({"a": {"b": "c", "d": "e"}, "f": [1]});
        merge_patch(&mut t, &json!({"a": {"b": null, "x": "y"}, "f": [2, 3]}));
        assert_eq!(t, json!({"a": {"d": "e", "x": "y"}, "f": [2, 3]}));
    }

    #[test]
    fn selectors_and_queries() {
        let q = query("fieldSelector=spec.nodeName%3Dwk-1&limit=500");
        assert_eq!(q["fieldSelector"], "spec.nodeName=wk-1");
        let get = |k: &str| (k == "role").then(|| "cp".to_string());
        assert!(selector_matches("role=cp", get));
        assert!(!selector_matches("role!=cp", get));
        assert!(selector_matches("role,!other", get));
        assert!(!selector_matches("other", get));
    }
}

//! `kubectl` against the simulated API, and `etcdctl` run in an etcd pod
//! through `kubectl exec`.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Endpoint named by a kubeconfig's `server: https://...` line.
pub(crate) fn kubeconfig_endpoint(path: &str) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix("server: https://")).map(str::to_string)
}

pub(crate) fn age(created: u64) -> String {
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
pub(crate) fn kubectl(args: &[String]) -> R {
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
pub(crate) fn etcdctl(c: &mut Cluster, namespace: &str, pod: &str, cmd: &[String]) -> R {
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

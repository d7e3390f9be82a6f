//! Acceptance tests of `kubeadm_cluster` on the real-Kubernetes lab
//! (`homelab-lab up --real`): real kubeadm 1.35, etcd and control plane
//! built by scripts/peers, the lab's kubelet stand-in (lab/README.md says
//! what stands in). What the simulated lab's suite asserts through node-sim
//! records is asserted here through the real API server (`kubectl`) and the
//! real etcd (`etcdctl`).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;

use support::example::*;
use support::lab::Lab;

/// Node name -> `field` of the Node, from the real API server.
fn node_fields<T>(lab: &Lab, field: impl Fn(&serde_json::Value) -> T) -> BTreeMap<String, T> {
    let list = lab.kubectl_json("cp-1", &["nodes"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["metadata"]["name"].as_str().unwrap_or("").to_owned(), field(n)))
        .collect()
}

/// Node name -> Ready, from the real API server.
fn api_nodes(lab: &Lab) -> BTreeMap<String, bool> {
    node_fields(lab, |n| {
        n["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    })
}

fn all_ready(names: &[&str]) -> BTreeMap<String, bool> {
    names.iter().map(|n| ((*n).to_owned(), true)).collect()
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_create_three_control_planes_three_workers_then_noop_plan_without_ssh() {
    let lab = Lab::up_real(3, 3);
    let ws = workspace(&lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    let names = ["cp-1", "cp-2", "cp-3", "wk-1", "wk-2", "wk-3"];
    assert_eq!(joined(&ws), all_joined(&names));
    assert_eq!(api_nodes(&lab), all_ready(&names));
    let members = lab.real_etcd_members("cp-1");
    let mut voting: Vec<&str> = members.iter().filter(|m| !m.1).map(|m| m.0.as_str()).collect();
    voting.sort_unstable();
    assert_eq!(voting, ["cp-1", "cp-2", "cp-3"], "three voting etcd members: {members:?}");

    let before = lab.sessions();
    expect_code(&ws, &PLAN, 0);
    assert_eq!(lab.sessions(), before, "a plan of a converged cluster opens no SSH session");
}

/// The real API server's Node names.
fn node_names(lab: &Lab) -> Vec<String> {
    api_nodes(lab).into_keys().collect()
}

/// Names of the real etcd's members, sorted (an unstarted learner shows as "").
fn member_names(lab: &Lab, via: &str) -> Vec<String> {
    let mut names: Vec<String> = lab.real_etcd_members(via).into_iter().map(|m| m.0).collect();
    names.sort_unstable();
    names
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_add_and_remove_a_worker() {
    let lab = Lab::up_real(1, 2);
    let ws = workspace(&lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    expect_code(&ws, &APPLY, 0);
    assert_eq!(node_names(&lab), ["cp-1", "wk-1"]);

    set_vars(&ws, &lab, serde_json::json!({}));
    let (actions, before, after) = planned_change(&ws);
    assert_eq!(actions, serde_json::json!(["update"]));
    assert_eq!(changed_nodes(&before, &after), ["wk-2"]);
    let kubelet_conf = lab.host_path("wk-1", "/etc/kubernetes/kubelet.conf");
    let wk1_before = std::fs::read(&kubelet_conf).expect("wk-1 kubelet.conf");
    expect_code(&ws, &APPLY, 0);
    assert_eq!(api_nodes(&lab), all_ready(&["cp-1", "wk-1", "wk-2"]));
    assert_eq!(std::fs::read(&kubelet_conf).expect("wk-1 kubelet.conf"), wk1_before, "wk-1 was not touched");
    expect_code(&ws, &PLAN, 0);

    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["wk-1"] }));
    expect_code(&ws, &APPLY, 0);
    assert_eq!(node_names(&lab), ["cp-1", "wk-2"], "wk-1's Node deleted");
    assert!(!lab.host_path("wk-1", "/etc/kubernetes/kubelet.conf").exists(), "wk-1 reset");
    assert_eq!(state_nodes(&ws), ["cp-1", "wk-2"]);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_remove_then_replace_a_control_plane() {
    let lab = Lab::up_real(3, 0);
    let ws = workspace(&lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    assert_eq!(member_names(&lab, "cp-1"), ["cp-1", "cp-2", "cp-3"]);

    // Removal: kubeadm reset on cp-3, its member and Node gone.
    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["cp-3"] }));
    expect_code(&ws, &APPLY, 0);
    assert_eq!(member_names(&lab, "cp-1"), ["cp-1", "cp-2"], "real etcdctl member list");
    assert_eq!(node_names(&lab), ["cp-1", "cp-2"]);
    expect_code(&ws, &PLAN, 0);

    // cp-3 joins again after the uploaded certificates expired (kubeadm's
    // garbage collector deletes them after 2 h): they are uploaded again.
    lab.kubectl("cp-1", &["delete", "secret", "kubeadm-certs", "-n", "kube-system"]);
    set_vars(&ws, &lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    assert_eq!(member_names(&lab, "cp-1"), ["cp-1", "cp-2", "cp-3"]);
    let uploaded = lab.kubectl_json("cp-1", &["secret", "kubeadm-certs", "-n", "kube-system"]);

    // cp-2's VM replaced (empty disk, new host key) while its member and
    // Node remain: the new instance_id removes both and joins it again.
    let old_ids = lab.real_etcd_members("cp-1");
    lab.replace("cp-2");
    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "cp-2": "2" } }));
    expect_code(&ws, &APPLY, 0);
    let reused = lab.kubectl_json("cp-1", &["secret", "kubeadm-certs", "-n", "kube-system"]);
    assert_eq!(
        reused["metadata"]["resourceVersion"], uploaded["metadata"]["resourceVersion"],
        "certificates with more than 30 minutes left are not uploaded again"
    );
    let members = lab.real_etcd_members("cp-1");
    assert_eq!(member_names(&lab, "cp-1"), ["cp-1", "cp-2", "cp-3"], "{members:?}");
    assert!(members.iter().all(|m| !m.1), "no learner left: {members:?}");
    assert_eq!(api_nodes(&lab), all_ready(&["cp-1", "cp-2", "cp-3"]));
    assert_eq!(old_ids.len(), 3);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_destroy_resets_every_node_and_import_adopts() {
    let lab = Lab::up_real(1, 1);
    let first = workspace(&lab, serde_json::json!({}));
    expect_code(&first, &APPLY, 0);

    // A second workspace imports the live cluster: no kubeadm runs.
    let second = workspace(&lab, serde_json::json!({}));
    let import = second.ok(&["import", "-no-color", "-input=false", "kubeadm_cluster.lab", lab.api_server()]);
    assert!(import.contains("Import successful"), "{import}");
    let admin = std::fs::read(lab.host_path("cp-1", "/etc/kubernetes/admin.conf")).expect("admin.conf");
    expect_code(&second, &APPLY, 0);
    assert_eq!(joined(&second), all_joined(&["cp-1", "wk-1"]));
    assert_eq!(std::fs::read(lab.host_path("cp-1", "/etc/kubernetes/admin.conf")).expect("admin.conf"), admin);
    expect_code(&second, &PLAN, 0);

    second.ok(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    for host in ["cp-1", "wk-1"] {
        assert!(!lab.host_path(host, "/etc/kubernetes/kubelet.conf").exists(), "{host} not reset");
        assert!(!lab.host_path(host, "/etc/kubernetes/pki/ca.crt").exists(), "{host} not reset");
    }
    assert!(!lab.host_path("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml").exists());
}

/// SIGKILL to every `command` process of lab host `host` only (a pkill on
/// the host would see the whole machine: the lab shares its PID namespace,
/// and other tests' labs run beside it).
fn kill_in_host(lab: &Lab, host: &str, command: &str) {
    let hosts = lab.info["hosts"].as_array().expect("hosts");
    let netns = hosts.iter().find(|h| h["name"] == host).and_then(|h| h["netns"].as_str()).expect("netns");
    let pids = std::process::Command::new("ip").args(["netns", "pids", netns]).output().expect("ip netns pids");
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == command {
            let _ = std::process::Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// Whether Node `name` carries kubeadm's control-plane label (set by
/// mark-control-plane, the end of a control-plane join).
fn has_control_plane_label(lab: &Lab, name: &str) -> bool {
    let node = lab.kubectl_json("cp-1", &["node", name]);
    node["metadata"]["labels"].get("node-role.kubernetes.io/control-plane").is_some()
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_create_cut_during_the_second_control_plane_join_resumes() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let lab = Lab::up_real(3, 1);
    let ws = workspace(&lab, serde_json::json!({}));
    let mut command = ws.command(&APPLY);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let child = command.spawn().expect("start terraform apply");
    // cp-2's kubelet has registered it (kubelet.conf written) and kubeadm is
    // still in its etcd join: cut the node off there, the provider with it.
    let (kubelet_conf, kube_vip) = (
        lab.host_path("cp-2", "/etc/kubernetes/kubelet.conf"),
        lab.host_path("cp-2", "/etc/kubernetes/manifests/kube-vip.yaml"),
    );
    let start = Instant::now();
    while !kubelet_conf.exists() {
        assert!(start.elapsed() < Duration::from_secs(180), "cp-2 never got as far as kubelet-start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pgid = format!("-{}", child.id());
    assert!(std::process::Command::new("kill").args(["-KILL", "--", &pgid]).status().expect("kill").success());
    kill_in_host(&lab, "cp-2", "kubeadm");
    let output = child.wait_with_output().expect("wait for terraform");
    assert!(!output.status.success());
    assert!(!kube_vip.exists(), "cp-2's join finished before the cut; the test lost its race");
    assert!(!has_control_plane_label(&lab, "cp-2"), "cp-2 was marked before the cut; the test lost its race");

    // The next apply finds cp-2 half-joined (registered, not marked) and
    // joins it again from a reset, its member (maybe a learner) removed.
    expect_code(&ws, &APPLY, 0);
    let names = ["cp-1", "cp-2", "cp-3", "wk-1"];
    assert_eq!(api_nodes(&lab), all_ready(&names));
    let members = lab.real_etcd_members("cp-1");
    assert_eq!(member_names(&lab, "cp-1"), ["cp-1", "cp-2", "cp-3"], "{members:?}");
    assert!(members.iter().all(|m| !m.1), "no learner left: {members:?}");
    for cp in ["cp-1", "cp-2", "cp-3"] {
        assert!(has_control_plane_label(&lab, cp), "{cp} not marked as a control plane");
        assert!(lab.host_path(cp, "/etc/kubernetes/manifests/kube-vip.yaml").exists(), "{cp}: no kube-vip manifest");
    }
    expect_code(&ws, &PLAN, 0);
}

/// What a user can observe after one step of a scenario: the plan's exit
/// code before the apply, the apply's, `joined` per node, the Nodes the API
/// lists, the etcd members.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    step: &'static str,
    plan_code: Option<i32>,
    apply_code: Option<i32>,
    joined: BTreeMap<String, bool>,
    api_nodes: Vec<String>,
    etcd_members: Vec<String>,
}

/// One scenario on `lab`: a create without wk-2, wk-2 added, a control
/// plane removal that would lose quorum (2 of 2), wk-1 removed.
fn scenario(lab: &Lab) -> Vec<Outcome> {
    let ws = workspace(lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    let steps: [(&str, serde_json::Value); 4] = [
        ("create without wk-2", serde_json::json!({ "exclude_nodes": ["wk-2"] })),
        ("add wk-2", serde_json::json!({})),
        ("remove cp-2 (quorum)", serde_json::json!({ "exclude_nodes": ["cp-2"] })),
        ("remove wk-1", serde_json::json!({ "exclude_nodes": ["wk-1"] })),
    ];
    let mut outcomes = Vec::new();
    for (step, vars) in steps {
        set_vars(&ws, lab, vars);
        let plan_code = ws.run(&PLAN).status.code();
        let apply_code = ws.run(&APPLY).status.code();
        let etcd_members = if lab.is_real() { member_names(lab, "cp-1") } else { lab.etcd_members() };
        let api_nodes = if lab.is_real() { node_names(lab) } else { lab.node_names() };
        outcomes.push(Outcome { step, plan_code, apply_code, joined: joined(&ws), api_nodes, etcd_members });
    }
    outcomes
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn differential_the_simulator_and_real_kubeadm_agree_on_a_scenario() {
    let simulated = scenario(&Lab::up(2, 2, &[]));
    let real = scenario(&Lab::up_real(2, 2));
    assert_eq!(simulated, real, "the simulator disagrees with real kubeadm");
    // And the scenario says something: a quorum refusal and real changes.
    assert_eq!(real[2].plan_code, Some(1), "{real:#?}");
    assert_eq!(real[3].api_nodes, ["cp-1", "cp-2", "wk-2"], "{real:#?}");
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_helm_installs_a_chart_in_the_apply_that_creates_the_cluster() {
    let lab = Lab::up_real(1, 1);
    let ws = workspace(&lab, serde_json::json!({ "demo_chart": true }));
    // One plan holds the cluster and the release: the helm provider is
    // configured from kubeadm_cluster's plan-time host and certificates.
    expect_code(&ws, &["plan", "-no-color", "-input=false", "-out=tfplan"], 0);
    let plan: serde_json::Value = serde_json::from_str(&ws.ok(&["show", "-json", "tfplan"])).expect("plan json");
    let creates: Vec<&str> = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["change"]["actions"] == serde_json::json!(["create"]))
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert_eq!(creates, ["helm_release.demo[0]", "kubeadm_cluster.lab"], "{creates:?}");
    expect_code(&ws, &["apply", "-no-color", "-input=false", "tfplan"], 0);

    assert_eq!(ws.output_json("demo_release"), serde_json::json!("deployed"));
    let configmap = lab.kubectl_json("cp-1", &["configmap", "-n", "default", "lab-demo"]);
    assert_eq!(configmap["data"]["greeting"], "hello from the lab", "{configmap:#}");
    // Helm's release record, in the real API server.
    let secrets = lab.kubectl_json("cp-1", &["secrets", "-n", "default", "-l", "owner=helm,name=lab-demo"]);
    assert_eq!(secrets["items"].as_array().map(Vec::len), Some(1), "{secrets:#}");
    expect_code(&ws, &PLAN, 0);
}

/// The control plane whose eth0 holds the VIP, per host (`ip addr`).
fn vip_holders(lab: &Lab, control_planes: &[&str]) -> Vec<String> {
    let vip = lab.info["vip"].as_str().expect("vip").to_owned();
    control_planes
        .iter()
        .filter(|cp| lab.exec(cp, &["ip", "-o", "addr", "show", "dev", "eth0"]).contains(&format!("inet {vip}/")))
        .map(|cp| (*cp).to_owned())
        .collect()
}

/// Waits up to `seconds` for exactly one holder other than `not`.
fn wait_for_holder(lab: &Lab, control_planes: &[&str], not: Option<&str>, seconds: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let holders = vip_holders(lab, control_planes);
        if let [one] = holders.as_slice() {
            if Some(one.as_str()) != not {
                return one.clone();
            }
        }
        assert!(std::time::Instant::now() < deadline, "VIP holders {holders:?} (want one, not {not:?})");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The real kube-vip (what `up --real` runs, no forwarder): the manifest the
/// provider writes runs as a static pod on each control plane, one of them
/// holds the VIP by ARP with kube-vip's lease, every client reaches the API
/// server through it, and when that control plane's kubelet stops, another
/// takes the VIP over.
#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_kube_vip_holds_the_vip_and_hands_it_over() {
    let lab = Lab::up_real(3, 1);
    assert_eq!(lab.info["apiserver_pid"], 0, "no forwarder on the VIP");
    let ws = workspace(&lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    let cps = ["cp-1", "cp-2", "cp-3"];
    assert_eq!(api_nodes(&lab), all_ready(&["cp-1", "cp-2", "cp-3", "wk-1"]));
    let holder = wait_for_holder(&lab, &cps, None, 30);
    let lease = lab.kubectl_json("cp-1", &["lease", "-n", "kube-system", "plndr-cp-lock"]);
    assert_eq!(lease["spec"]["holderIdentity"].as_str(), Some(holder.as_str()), "{lease}");

    lab.fault(&holder, "kubelet", "stopped");
    let next = wait_for_holder(&lab, &cps, Some(&holder), 60);
    // The worker's kubeconfig names the VIP: it reaches the API server there.
    let via_vip =
        lab.exec("wk-1", &["kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "get", "--raw", "/readyz"]);
    assert_eq!(via_vip.trim(), "ok", "through the VIP, now on {next}");
}

/// `kubectl apply` of `manifest` (YAML) on cp-1.
fn kubectl_apply(lab: &Lab, manifest: &str) {
    let file = "/var/lib/lab-node/test-manifest.yaml";
    std::fs::write(lab.host_path("cp-1", file), manifest).expect("manifest");
    lab.kubectl("cp-1", &["apply", "-f", file]);
}

/// Node `name`'s labels and taints (`key=value:effect`, sorted) from the real API server.
fn labels_and_taints(lab: &Lab, name: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let node = lab.kubectl_json("cp-1", &["node", name]);
    let labels = node["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
        .collect();
    let mut taints: Vec<String> = node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let value = t["value"].as_str().map(|v| format!("={v}")).unwrap_or_default();
            format!("{}{value}:{}", t["key"].as_str().unwrap_or(""), t["effect"].as_str().unwrap_or(""))
        })
        .collect();
    taints.sort();
    (labels, taints)
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_labels_and_taints_follow_the_config_and_others_stay() {
    let lab = Lab::up_real(1, 1);
    let configured = serde_json::json!({
        "node_labels": { "wk-1": { "tier": "web", "zone": "a" } },
        "node_taints": { "wk-1": [{ "key": "dedicated", "value": "web", "effect": "NoSchedule" }] },
    });
    let ws = workspace(&lab, configured);
    expect_code(&ws, &APPLY, 0);
    let (labels, taints) = labels_and_taints(&lab, "wk-1");
    assert_eq!((labels.get("tier"), labels.get("zone")), (Some(&"web".into()), Some(&"a".into())), "{labels:?}");
    assert_eq!(taints, ["dedicated=web:NoSchedule"]);

    // Someone else's label and taint, set with kubectl.
    lab.kubectl("cp-1", &["label", "node", "wk-1", "team=ops"]);
    lab.kubectl("cp-1", &["taint", "node", "wk-1", "ops/maintenance=yes:PreferNoSchedule"]);

    // `tier` and the `dedicated` taint leave the config: they leave the Node.
    set_vars(&ws, &lab, serde_json::json!({ "node_labels": { "wk-1": { "zone": "a" } } }));
    expect_code(&ws, &APPLY, 0);
    let (labels, taints) = labels_and_taints(&lab, "wk-1");
    assert!(!labels.contains_key("tier"), "tier removed: {labels:?}");
    assert_eq!(labels.get("zone"), Some(&"a".into()), "{labels:?}");
    assert_eq!(labels.get("team"), Some(&"ops".into()), "someone else's label stays: {labels:?}");
    assert!(labels.contains_key("node-role.kubernetes.io/worker"), "{labels:?}");
    assert_eq!(taints, ["ops/maintenance=yes:PreferNoSchedule"], "ours removed, someone else's kept");

    // `taints = []` on the control plane takes kubeadm's default taint off.
    let (_, cp_taints) = labels_and_taints(&lab, "cp-1");
    assert_eq!(cp_taints, ["node-role.kubernetes.io/control-plane:NoSchedule"]);
    let untainted = serde_json::json!({ "node_labels": { "wk-1": { "zone": "a" } }, "node_taints": { "cp-1": [] } });
    set_vars(&ws, &lab, untainted);
    expect_code(&ws, &APPLY, 0);
    assert_eq!(labels_and_taints(&lab, "cp-1").1, Vec::<String>::new());
    assert_eq!(labels_and_taints(&lab, "wk-1").1, ["ops/maintenance=yes:PreferNoSchedule"]);
    expect_code(&ws, &PLAN, 0);
}

/// On wk-2: a ReplicaSet's pod guarded by a PodDisruptionBudget that allows
/// no disruption, and a bare pod with emptyDir data.
const DRAIN_WORKLOAD: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: web, namespace: default }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      nodeSelector: { kubernetes.io/hostname: wk-2 }
      containers: [{ name: web, image: registry.k8s.io/pause:3.10 }]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web, namespace: default }
spec:
  minAvailable: 1
  selector: { matchLabels: { app: web } }
---
apiVersion: v1
kind: Pod
metadata: { name: scratch, namespace: default }
spec:
  nodeName: wk-2
  containers: [{ name: scratch, image: registry.k8s.io/pause:3.10, volumeMounts: [{ name: tmp, mountPath: /tmp }] }]
  volumes: [{ name: tmp, emptyDir: {} }]
"#;

/// Names of the pods in `default` bound to `node`.
fn pods_on(lab: &Lab, node: &str) -> Vec<String> {
    let pods =
        lab.kubectl_json("cp-1", &["pods", "-n", "default", "--field-selector", &format!("spec.nodeName={node}")]);
    let mut names: Vec<String> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Waits until the real disruption controller counts web's pod healthy,
/// so the budget allows no eviction.
fn wait_for_budget(lab: &Lab) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let pdb = lab.kubectl_json("cp-1", &["pdb", "web", "-n", "default"]);
        if pdb["status"]["currentHealthy"] == 1 && pdb["status"]["disruptionsAllowed"] == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "web's budget never counted its pod healthy: {pdb:#}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `text` with every run of whitespace one space: the CLI wraps diagnostics.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unschedulable(lab: &Lab, name: &str) -> bool {
    lab.kubectl_json("cp-1", &["node", name])["spec"]["unschedulable"] == true
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_drain_refuses_to_lose_pods_and_waits_out_a_disruption_budget() {
    let lab = Lab::up_real(1, 2);
    let ws = workspace(&lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    kubectl_apply(&lab, DRAIN_WORKLOAD);
    wait_for_budget(&lab);
    let web: Vec<String> = pods_on(&lab, "wk-2").into_iter().filter(|p| p.starts_with("web-")).collect();
    assert_eq!(web.len(), 1, "web's pod on wk-2");

    // The bare pod with emptyDir data: refused before anything changes.
    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    let out = flat(&expect_code(&ws, &APPLY, 1));
    assert!(out.contains("Drain would lose pods"), "{out}");
    assert!(out.contains("default/scratch (no controller") && out.contains("drain.force = true"), "{out}");
    assert!(!unschedulable(&lab, "wk-2"), "a refused drain does not cordon");
    assert_eq!(pods_on(&lab, "wk-2").len(), 2, "nothing evicted");

    // Allowed, but the budget holds web's pod past a short timeout.
    let allowed = |timeout: &str| {
        serde_json::json!({
            "exclude_nodes": ["wk-2"],
            "drain": { "timeout": timeout, "force": true, "delete_emptydir_data": true },
        })
    };
    set_vars(&ws, &lab, allowed("8s"));
    let out = flat(&expect_code(&ws, &APPLY, 1));
    assert!(out.contains("Drain did not finish"), "{out}");
    assert!(out.contains(&format!("default/{}", web[0])) && out.contains("disruption budget"), "{out}");
    assert!(unschedulable(&lab, "wk-2"), "left cordoned, as the error says");
    assert_eq!(pods_on(&lab, "wk-2"), web, "scratch evicted, web held by its budget");
    assert_eq!(node_names(&lab), ["cp-1", "wk-1", "wk-2"]);

    // With time to spare, the drain retries until the budget allows it.
    set_vars(&ws, &lab, allowed("3m"));
    let held = std::time::Duration::from_secs(10);
    let started = std::time::Instant::now();
    let out = std::thread::scope(|scope| {
        let apply = scope.spawn(|| expect_code(&ws, &APPLY, 0));
        std::thread::sleep(held);
        assert!(!apply.is_finished(), "the apply waits for the budget");
        assert_eq!(pods_on(&lab, "wk-2"), web, "web's pod stays while its budget says so");
        lab.kubectl("cp-1", &["delete", "pdb", "web", "-n", "default"]);
        apply.join().expect("apply thread")
    });
    assert!(started.elapsed() > held, "{out}");
    assert_eq!(node_names(&lab), ["cp-1", "wk-1"], "wk-2 drained, reset and deleted");
    assert_eq!(pods_on(&lab, "wk-2"), Vec::<String>::new());
    expect_code(&ws, &PLAN, 0);
}

/// notAfter of a certificate file on `host`, as RFC 3339 (`openssl x509`).
fn cert_not_after(lab: &Lab, host: &str, path: &str) -> String {
    enddate(&lab.exec(host, &["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", path]))
}

/// `notAfter=2026-12-02 13:55:01Z` (openssl's ISO 8601) as RFC 3339.
fn enddate(openssl_out: &str) -> String {
    openssl_out.trim().trim_start_matches("notAfter=").replacen(' ', "T", 1)
}

/// notAfter of the client certificate embedded in a kubeconfig on `host`.
fn kubeconfig_not_after(lab: &Lab, host: &str, kubeconfig: &str) -> String {
    let script = format!(
        "sed -n 's/^ *client-certificate-data: //p' {kubeconfig} | base64 -d | openssl x509 -noout -enddate -dateopt iso_8601"
    );
    enddate(&lab.exec(host, &["sh", "-c", &script]))
}

/// The pid listening on each control-plane port of `host` (etcd,
/// kube-apiserver, kube-controller-manager, kube-scheduler).
fn control_plane_pids(lab: &Lab, host: &str) -> BTreeMap<u16, String> {
    [2379u16, 6443, 10257, 10259]
        .into_iter()
        .map(|port| {
            let out = lab.exec(host, &["ss", "-Htlnp", &format!("sport = :{port}")]);
            let pid = out.split("pid=").nth(1).and_then(|rest| rest.split(',').next()).unwrap_or("").to_owned();
            (port, pid)
        })
        .collect()
}

fn certificates_expire(ws: &support::Workspace) -> BTreeMap<String, String> {
    serde_json::from_value(resource_values(ws)["certificates_expire"].clone()).expect("certificates_expire map")
}

fn parse_rfc3339(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).expect("RFC 3339")
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_certificates_are_renewed_inside_the_window_one_control_plane_at_a_time() {
    let lab = Lab::up_real(3, 0);
    let cps = ["cp-1", "cp-2", "cp-3"];
    // kubeadm issues 10-minute certificates here; a window of 5 minutes
    // leaves them alone right after the create.
    let short =
        |window: &str| serde_json::json!({ "certificate_validity": "10m", "renew_certificates_before": window });
    let ws = workspace(&lab, short("5m"));
    expect_code(&ws, &APPLY, 0);
    let before = certificates_expire(&ws);
    assert_eq!(before.keys().map(String::as_str).collect::<Vec<_>>(), cps, "one entry per control plane");
    for cp in cps {
        assert_eq!(before[cp], cert_not_after(&lab, cp, "/etc/kubernetes/pki/apiserver.crt"), "{cp}: the handshake's");
        let left = parse_rfc3339(&before[cp]) - time::OffsetDateTime::now_utc();
        assert!(left > time::Duration::minutes(5) && left <= time::Duration::minutes(10), "{cp}: {left}");
    }
    expect_code(&ws, &PLAN, 0);

    // A window of 7m30s: due once they are 2m30s old. Renewed, they have
    // 10 minutes again, so the plan after the apply is empty.
    set_vars(&ws, &lab, short("7m30s"));
    let youngest = before.values().map(|t| parse_rfc3339(t)).max().expect("three");
    let due_at = youngest - time::Duration::seconds(7 * 60 + 30) + time::Duration::seconds(3);
    if let Ok(wait) = std::time::Duration::try_from(due_at - time::OffsetDateTime::now_utc()) {
        std::thread::sleep(wait);
    }
    let sessions = lab.sessions();
    let change = planned_resource_change(&ws);
    assert_eq!(lab.sessions(), sessions, "the plan read the expiries over TLS, not SSH");
    assert_eq!(change["actions"], serde_json::json!(["update"]));
    assert_eq!(
        change["after_unknown"]["certificates_expire"],
        serde_json::json!({ "cp-1": true, "cp-2": true, "cp-3": true })
    );
    let pids: BTreeMap<&str, _> = cps.iter().map(|cp| (*cp, control_plane_pids(&lab, cp))).collect();
    let kcm_before = kubeconfig_not_after(&lab, "cp-1", "/etc/kubernetes/controller-manager.conf");
    let started = std::time::Instant::now();
    expect_code(&ws, &["apply", "-auto-approve", "-no-color", "-input=false", "tfplan"], 0);
    eprintln!("renewal of 3 control planes, one at a time: {:.1} s", started.elapsed().as_secs_f64());

    let after = certificates_expire(&ws);
    for cp in cps {
        assert!(parse_rfc3339(&after[cp]) > parse_rfc3339(&before[cp]) + time::Duration::minutes(2), "{cp}: {after:?}");
        assert_eq!(after[cp], cert_not_after(&lab, cp, "/etc/kubernetes/pki/apiserver.crt"), "{cp}: state = disk");
        let now = control_plane_pids(&lab, cp);
        for (port, pid) in &pids[cp] {
            assert!(
                !pid.is_empty() && !now[port].is_empty() && now[port] != *pid,
                "{cp}:{port} restarted: {pid} -> {}",
                now[port]
            );
        }
    }
    let kcm_after = kubeconfig_not_after(&lab, "cp-1", "/etc/kubernetes/controller-manager.conf");
    assert!(kcm_after > kcm_before, "kubeconfigs renewed too: {kcm_before} -> {kcm_after}");
    assert!(after["cp-1"] < after["cp-2"] && after["cp-2"] < after["cp-3"], "one at a time, in name order: {after:?}");
    assert_eq!(member_names(&lab, "cp-1"), cps);
    assert!(lab.real_etcd_members("cp-1").iter().all(|m| !m.1), "all voting");
    assert_eq!(api_nodes(&lab), all_ready(&cps));
    let sessions = lab.sessions();
    expect_code(&ws, &PLAN, 0);
    assert_eq!(lab.sessions(), sessions);

    // The script cloudinit_config's timer installs, run on cp-2 as its
    // systemd service would: nothing while more is left than the threshold,
    // a renewal and restart once less is. Refresh then reads the new expiry.
    let script = "/etc/kubernetes/timer-renew-certificates";
    let installed = lab.host_path("cp-2", script);
    std::fs::write(&installed, homelab_provider::node_scripts::RENEW_CERTIFICATES).expect("install the script");
    lab.exec("cp-2", &["chmod", "0755", script]);
    let pids = control_plane_pids(&lab, "cp-2");
    let quiet = lab.exec("cp-2", &["env", "RENEW_WHEN_LESS_THAN=60", script]);
    assert!(quiet.contains("nothing to renew"), "{quiet}");
    assert_eq!(control_plane_pids(&lab, "cp-2"), pids, "nothing restarted");
    assert_eq!(cert_not_after(&lab, "cp-2", "/etc/kubernetes/pki/apiserver.crt"), after["cp-2"]);
    let renewed = lab.exec("cp-2", &["env", "RENEW_WHEN_LESS_THAN=3600", script]);
    assert!(renewed.contains("restarted:"), "{renewed}");
    let on_disk = cert_not_after(&lab, "cp-2", "/etc/kubernetes/pki/apiserver.crt");
    assert!(on_disk > after["cp-2"], "{on_disk} after {}", after["cp-2"]);
    let now = control_plane_pids(&lab, "cp-2");
    assert!(pids.iter().all(|(port, pid)| now[port] != *pid && !now[port].is_empty()), "{pids:?} -> {now:?}");
    expect_code(&ws, &["apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false"], 0);
    assert_eq!(certificates_expire(&ws)["cp-2"], on_disk, "refresh reads the expiry from the handshake");
    expect_code(&ws, &PLAN, 0);
}

/// Each Node's kubelet version and whether it is cordoned, from the real API server.
fn node_versions(lab: &Lab) -> BTreeMap<String, (String, bool)> {
    node_fields(lab, |n| {
        let version = n["status"]["nodeInfo"]["kubeletVersion"].as_str().unwrap_or("").to_owned();
        (version, n["spec"]["unschedulable"].as_bool().unwrap_or(false))
    })
}

/// The image of static pod `component` on control plane `cp` (its mirror pod).
fn static_pod_image(lab: &Lab, component: &str, cp: &str) -> String {
    let pod = lab.kubectl_json("cp-1", &["pod", "-n", "kube-system", &format!("{component}-{cp}")]);
    pod["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_owned()
}

/// What `host`'s `kubeadm`, `kubelet` or `kubectl` package links to.
fn package_link(lab: &Lab, host: &str, binary: &str) -> String {
    let link = lab.dir.join("hosts").join(host).join("bin").join(binary);
    std::fs::read_link(&link).map(|t| t.display().to_string()).unwrap_or_default()
}

/// How long the node script's last run took on `host` ("upgraded to X in N ms").
fn upgrade_script_ms(lab: &Lab, host: &str) -> Option<u64> {
    let log = std::fs::read_to_string(lab.host_path(host, "/etc/kubernetes/terraform/upgrade.log")).ok()?;
    log.lines().rev().find_map(|l| l.split(" in ").nth(1)?.strip_suffix(" ms")?.parse().ok())
}

/// The provider's "node upgrade step times" lines in a Terraform log:
/// per node, each `*_ms` field (drain, connect, script, uncordon, gate).
fn upgrade_step_times(log: &str) -> Vec<(String, Vec<(String, u64)>)> {
    log.lines()
        .filter(|l| l.contains("node upgrade step times"))
        .filter_map(|line| {
            let fields: Vec<(&str, &str)> = line.split_whitespace().filter_map(|w| w.split_once('=')).collect();
            let node = fields.iter().find(|(k, _)| *k == "node")?.1.trim_matches('"').to_owned();
            let times =
                fields.iter().filter_map(|(k, v)| Some((k.strip_suffix("_ms")?.to_owned(), v.parse().ok()?))).collect();
            Some((node, times))
        })
        .collect()
}

/// Names whose `after_unknown.nodes_status` entry is unknown in a plan.
fn unknown_status(change: &serde_json::Value) -> Vec<String> {
    let unknown = change["after_unknown"]["nodes_status"].as_object().cloned().unwrap_or_default();
    unknown.into_iter().filter(|(_, v)| v == &serde_json::json!(true)).map(|(k, _)| k).collect()
}

#[ignore = "needs the real Kubernetes peers, the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn real_rolling_upgrade_from_the_previous_minor_survives_a_kill_and_resumes() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let (from, to) = (support::lab::previous_kubernetes_version(), support::lab::kubernetes_version());
    let (old, new) = (format!("v{from}"), format!("v{to}"));
    let lab = Lab::up_real_at(3, 3, &from);
    let names = ["cp-1", "cp-2", "cp-3", "wk-1", "wk-2", "wk-3"];
    let cps = ["cp-1", "cp-2", "cp-3"];
    let ws = workspace(&lab, serde_json::json!({}));
    expect_code(&ws, &APPLY, 0);
    assert!(node_versions(&lab).values().all(|v| *v == (old.clone(), false)), "{:?}", node_versions(&lab));
    assert_eq!(static_pod_image(&lab, "kube-apiserver", "cp-1"), format!("registry.k8s.io/kube-apiserver:{old}"));

    // The plan of the upgrade: every node to move, known only from refresh.
    set_vars(&ws, &lab, serde_json::json!({ "kubernetes_version": to }));
    let sessions = lab.sessions();
    let change = planned_resource_change(&ws);
    assert_eq!(lab.sessions(), sessions, "planning an upgrade opens no SSH session");
    assert_eq!(change["actions"], serde_json::json!(["update"]));
    assert_eq!(unknown_status(&change), names);
    assert_eq!(change["after"]["kubernetes_version"], serde_json::json!(to));

    // Killed while cp-2 upgrades (its kubeadm package is in): Terraform and
    // the provider die, the node's script goes on in its own session.
    let mut command = ws.command(&APPLY);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().expect("start terraform apply");
    let start = Instant::now();
    let pgid = format!("-{}", child.id());
    while !package_link(&lab, "cp-2", "kubeadm").contains(&new) {
        let exited = child.try_wait().expect("terraform status").is_some();
        if exited || start.elapsed() > Duration::from_secs(400) {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &pgid]).status();
            let output = child.wait_with_output().expect("wait for terraform");
            let log = std::fs::read_to_string(lab.host_path("cp-1", "/etc/kubernetes/terraform/upgrade.log"));
            panic!("cp-2's upgrade never started:\n{}\ncp-1's upgrade.log: {log:?}", support::text(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(std::process::Command::new("kill").args(["-KILL", "--", &pgid]).status().expect("kill").success());
    let output = child.wait_with_output().expect("wait for terraform");
    assert!(!output.status.success());
    let versions = node_versions(&lab);
    assert_eq!(versions["cp-1"], (new.clone(), false), "cp-1 was done before the kill: {versions:?}");
    assert!(versions["cp-2"].1, "cp-2 was cordoned for its upgrade: {versions:?}");
    for worker in ["wk-1", "wk-2", "wk-3"] {
        assert_eq!(versions[worker], (old.clone(), false), "{worker} not touched yet: {versions:?}");
    }
    let wait = Instant::now();
    while upgrade_script_ms(&lab, "cp-2").is_none() {
        assert!(wait.elapsed() < Duration::from_secs(300), "cp-2's script did not finish after the kill");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The plan says what remains, and that cp-2 is still cordoned.
    let sessions = lab.sessions();
    let text = expect_code(&ws, &["plan", "-no-color", "-input=false", "-out=tfplan"], 0);
    assert_eq!(lab.sessions(), sessions, "the plan after the kill opens no SSH session");
    assert!(text.contains("Node is cordoned") && text.contains("\"cp-2\""), "{text}");
    let plan: serde_json::Value = serde_json::from_str(&ws.ok(&["show", "-json", "tfplan"])).expect("plan json");
    let change = &plan["resource_changes"][0]["change"];
    assert_eq!(unknown_status(change), ["cp-2", "cp-3", "wk-1", "wk-2", "wk-3"], "cp-1 is done");
    let cp1_pids = control_plane_pids(&lab, "cp-1");

    let (started, resume_started) = (Instant::now(), std::time::SystemTime::now());
    let provider_log = lab.dir.join("resumed-apply.log");
    let log_path = provider_log.display().to_string();
    let output = ws.run_with_env(
        &["apply", "-auto-approve", "-no-color", "-input=false", "tfplan"],
        &[("TF_LOG_PROVIDER", "INFO"), ("TF_LOG_PATH", &log_path)],
    );
    let resumed = started.elapsed();
    assert!(output.status.success(), "the resumed apply failed:\n{}", support::text(&output));

    assert!(node_versions(&lab).values().all(|v| *v == (new.clone(), false)), "{:?}", node_versions(&lab));
    assert_eq!(api_nodes(&lab), all_ready(&names));
    for cp in cps {
        for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
            assert_eq!(static_pod_image(&lab, component, cp), format!("registry.k8s.io/{component}:{new}"), "{cp}");
        }
    }
    assert_eq!(control_plane_pids(&lab, "cp-1"), cp1_pids, "cp-1 was not upgraded again");
    let config = lab.kubectl_json("cp-1", &["configmap", "-n", "kube-system", "kubeadm-config"]);
    let cluster_configuration = config["data"]["ClusterConfiguration"].as_str().unwrap_or("");
    assert!(cluster_configuration.contains(&format!("kubernetesVersion: {new}")), "{cluster_configuration}");
    assert_eq!(member_names(&lab, "cp-1"), cps);
    assert!(lab.real_etcd_members("cp-1").iter().all(|m| !m.1), "all voting");
    let minor = to.rsplit_once('.').map(|(m, _)| m).expect("minor");
    for host in names {
        for binary in ["kubeadm", "kubelet", "kubectl"] {
            assert!(package_link(&lab, host, binary).contains(&format!("/{new}/")), "{host}: {binary}");
        }
        let source =
            std::fs::read_to_string(lab.host_path(host, "/etc/apt/sources.list.d/kubernetes.list")).expect("source");
        assert!(source.contains(&format!("/core:/stable:/v{minor}/deb/")), "{host}: {source}");
        let pin = std::fs::read_to_string(lab.host_path(host, "/etc/apt/preferences.d/kubernetes.pref")).expect("pin");
        assert!(pin.contains(&format!("Pin: version {to}-*")), "{host}: {pin}");
        let state = std::fs::read_to_string(lab.host_path(host, "/var/lib/lab-node/state.json")).expect("state");
        let held: serde_json::Value =
            serde_json::from_str::<serde_json::Value>(&state).expect("state json")["held"].clone();
        for package in ["kubeadm", "kubelet", "kubectl"] {
            assert!(held.as_array().is_some_and(|h| h.iter().any(|p| p == package)), "{host}: {package} held: {held}");
        }
        let node = lab.kubectl_json("cp-1", &["node", host]);
        assert!(
            node["metadata"]["annotations"].get("kubeadm.terraform.local/cordoned-for-upgrade").is_none(),
            "{host}"
        );
    }

    // The floor: each node's own upgrade (packages, kubeadm upgrade, kubelet
    // restart), in series here (one worker at a time).
    // cp-2's script finished on its own after the kill: only the scripts
    // the resumed apply ran count.
    let ran_since = |host: &str| {
        let log = lab.host_path(host, "/etc/kubernetes/terraform/upgrade.log");
        std::fs::metadata(log).and_then(|m| m.modified()).is_ok_and(|at| at >= resume_started)
    };
    let resumed_nodes: Vec<&str> = names.iter().copied().filter(|h| ran_since(h)).collect();
    assert!(!resumed_nodes.contains(&"cp-1"), "cp-1's script did not run again");
    for host in ["cp-3", "wk-1", "wk-2", "wk-3"] {
        assert!(resumed_nodes.contains(&host), "{host} upgraded by the resumed apply: {resumed_nodes:?}");
    }
    let floor_ms: u64 =
        resumed_nodes.iter().map(|h| upgrade_script_ms(&lab, h).unwrap_or_else(|| panic!("{h}: no upgrade.log"))).sum();
    eprintln!(
        "resumed upgrade ({}): {:.1} s; their node scripts in series {:.1} s; overhead {:.1} %",
        resumed_nodes.join(", "),
        resumed.as_secs_f64(),
        floor_ms as f64 / 1000.0,
        (resumed.as_secs_f64() * 1000.0 / floor_ms as f64 - 1.0) * 100.0
    );
    // Where the rest went, per node, from the provider's own step times.
    let steps = upgrade_step_times(&std::fs::read_to_string(&provider_log).expect("the resumed apply's log"));
    for node in ["cp-3", "wk-1", "wk-2", "wk-3"] {
        assert!(steps.iter().any(|(n, _)| n == node), "{node}: no step times in the provider's log: {steps:?}");
    }
    let in_nodes: u64 = steps.iter().flat_map(|(_, times)| times.iter().map(|(_, ms)| ms)).sum();
    for (node, times) in &steps {
        eprintln!("  {node}: {}", times.iter().map(|(k, ms)| format!("{k} {ms} ms")).collect::<Vec<_>>().join(", "));
    }
    eprintln!(
        "  outside the nodes' steps (CLI and provider start, reading the API, saving state): {} ms",
        (resumed.as_millis() as u64).saturating_sub(in_nodes)
    );
    let sessions = lab.sessions();
    expect_code(&ws, &PLAN, 0);
    assert_eq!(lab.sessions(), sessions);
}

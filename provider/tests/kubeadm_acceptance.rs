//! Acceptance tests: the real `terraform` CLI drives `kubeadm_cluster`
//! (the configuration of examples/lab, copied into each workspace) against
//! the local lab: network-namespace hosts with a real sshd and a simulated
//! kubeadm/API server. Each test starts its own lab in its own directory and
//! tears it down on drop; outcomes are read from Terraform's state and
//! outputs, the lab's `cluster.json`, its `events.log` (every kubeadm
//! init/join/reset) and the SSH sessions each host's sshd accepted.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use support::example::*;
use support::lab::Lab;
use support::{Workspace, text};

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn create_three_control_planes_three_workers_then_noop_plan_without_ssh() {
    let lab = Lab::up(3, 3, &[]);
    let ws = workspace(&lab, serde_json::json!({}));

    // The first plan already knows the API server URL and the credentials.
    expect_code(&ws, &PLAN, 2);
    let change = planned_resource_change(&ws);
    let host = format!("https://{}", lab.api_server());
    assert_eq!(change["actions"], serde_json::json!(["create"]));
    assert_eq!(change["after"]["host"].as_str(), Some(host.as_str()), "host known at plan: {change}");
    let ca = change["after"]["cluster_ca_certificate"].as_str().unwrap_or_default();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "CA known at plan: {change}");
    for secret in ["kubeconfig", "client_key"] {
        assert_ne!(change["after_unknown"][secret], true, "{secret} known at plan");
        assert_eq!(change["after_sensitive"][secret], true, "{secret} is sensitive");
        assert!(change["after"][secret].as_str().is_some_and(|v| !v.is_empty()), "{secret} known at plan");
    }

    ws.ok(&APPLY);
    let names = ["cp-1", "cp-2", "cp-3", "wk-1", "wk-2", "wk-3"];
    assert_eq!(joined(&ws), all_joined(&names));
    assert_eq!(ws.output_json("host").as_str(), Some(host.as_str()));
    assert_eq!(lab.node_names(), names);
    assert_eq!(lab.etcd_members(), ["cp-1", "cp-2", "cp-3"]);
    assert_eq!(lab.successes("init"), counts(&[("cp-1", 1)]), "exactly one kubeadm init: {:#?}", lab.events());
    let joins = counts(&[("cp-2", 1), ("cp-3", 1), ("wk-1", 1), ("wk-2", 1), ("wk-3", 1)]);
    assert_eq!(lab.successes("join"), joins, "{:#?}", lab.events());
    assert_eq!(resource_values(&ws)["init_node"], "cp-1");

    // A plan right after the apply is empty and reaches no node over SSH
    // (it refreshes through the API server only).
    let before = lab.sessions();
    let again = expect_code(&ws, &PLAN, 0);
    assert!(again.contains("No changes."), "{again}");
    assert_eq!(lab.sessions(), before, "the no-op plan opened SSH sessions");
    assert_eq!(lab.total("init"), 1);
    assert_eq!(lab.successes("join"), joins);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn adding_a_worker_joins_only_that_worker() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
    assert_eq!(lab.node_names(), ["cp-1", "wk-1"]);
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1)]));

    set_vars(&ws, &lab, serde_json::json!({}));
    expect_code(&ws, &PLAN, 2);
    let (actions, before, after) = planned_change(&ws);
    assert_eq!(actions, serde_json::json!(["update"]), "in-place update");
    assert_eq!(changed_nodes(&before, &after), ["wk-2"]);
    assert!(before["nodes"]["wk-2"].is_null());
    assert_eq!(after["nodes"]["wk-2"]["role"], "worker");

    ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1", "wk-2"]));
    assert_eq!(lab.node_names(), ["cp-1", "wk-1", "wk-2"]);
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1), ("wk-2", 1)]), "{:#?}", lab.events());
    assert_eq!(lab.total("init"), 1);
    assert_eq!(lab.total("reset"), 0);
    assert_eq!(lab.etcd_members(), ["cp-1"]);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn removing_a_worker_resets_and_deletes_it() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    assert_eq!(lab.node_names(), ["cp-1", "wk-1", "wk-2"]);
    assert!(lab.host_path("wk-2", "/etc/kubernetes/kubelet.conf").exists());

    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    expect_code(&ws, &PLAN, 2);
    let (actions, before, after) = planned_change(&ws);
    assert_eq!(actions, serde_json::json!(["update"]), "a removal is an in-place update");
    assert_eq!(changed_nodes(&before, &after), ["wk-2"]);
    assert_eq!(before["nodes"]["wk-2"]["role"], "worker");
    assert!(after["nodes"]["wk-2"].is_null());
    ws.ok(&APPLY);

    assert_eq!(lab.node_names(), ["cp-1", "wk-1"], "wk-2's Node deleted");
    assert!(!lab.host_path("wk-2", "/etc/kubernetes/kubelet.conf").exists(), "wk-2 was not reset");
    assert!(lab.host_path("wk-1", "/etc/kubernetes/kubelet.conf").exists(), "wk-1 must stay");
    assert_eq!(lab.successes("reset"), counts(&[("wk-2", 1)]));
    assert_eq!(lab.etcd_members(), ["cp-1"]);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
    assert_eq!(state_nodes(&ws), ["cp-1", "wk-1"]);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn removing_a_control_plane_drops_its_etcd_member_and_quorum_loss_is_refused() {
    let lab = Lab::up(3, 0, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    assert_eq!(lab.etcd_members(), ["cp-1", "cp-2", "cp-3"]);

    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["cp-3"] }));
    ws.ok(&APPLY);
    assert_eq!(lab.node_names(), ["cp-1", "cp-2"]);
    assert_eq!(lab.etcd_members(), ["cp-1", "cp-2"]);
    assert!(!lab.host_path("cp-3", "/etc/kubernetes/admin.conf").exists());
    assert_eq!(state_nodes(&ws), ["cp-1", "cp-2"]);

    // From 2 control planes, removing one leaves 1 of 2: no quorum.
    set_vars(&ws, &lab, serde_json::json!({ "exclude_nodes": ["cp-2", "cp-3"] }));
    let (sessions, events) = (lab.sessions(), lab.events());
    let out = expect_code(&ws, &PLAN, 1);
    assert!(out.contains("quorum"), "{out}");
    assert!(out.contains("Error: Removing these control planes would lose etcd quorum"), "{out}");
    assert!(out.contains(&at_line("nodes = {")), "the error points at `nodes`:\n{out}");
    let apply = ws.run(&APPLY);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert_eq!(lab.node_names(), ["cp-1", "cp-2"]);
    assert_eq!(lab.etcd_members(), ["cp-1", "cp-2"]);
    assert_eq!(lab.events(), events, "no kubeadm ran");
    assert_eq!(lab.sessions(), sessions, "no SSH session");
    assert_eq!(state_nodes(&ws), ["cp-1", "cp-2"]);
}

/// Runs `terraform apply` in the background, waits until `cluster.json`
/// holds the cluster (init finished) and no worker has joined yet, then
/// sends `signal` to terraform's process group, the provider included:
/// INT is what Ctrl-C in a terminal does (terraform's panicwrap parent
/// ignores a SIGINT sent to it alone), KILL leaves no chance to record
/// anything. Returns the apply's output.
fn interrupt_apply_after_init(ws: &Workspace, lab: &Lab, signal: &str) -> String {
    use std::os::unix::process::CommandExt;
    let mut command = ws.command(&APPLY);
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let child = command.spawn().expect("start terraform apply");
    let pid = child.id();
    let start = Instant::now();
    while lab.clusters().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(60), "kubeadm init never finished: {:#?}", lab.events());
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill").args([&format!("-{signal}"), "--", &format!("-{pid}")]).status().expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait for terraform");
    let out = text(&output);
    assert!(!output.status.success(), "the interrupted apply must fail:\n{out}");
    assert_eq!(
        lab.total("join"),
        0,
        "joins finished before the interrupt; the test lost its race: {:#?}",
        lab.events()
    );
    out
}

fn assert_resumed(ws: &Workspace, lab: &Lab) {
    let names = ["cp-1", "wk-1", "wk-2"];
    let plan = expect_code(ws, &PLAN, 2);
    assert!(plan.contains("Resuming an earlier create"), "the plan must resume:\n{plan}");
    ws.ok(&APPLY);
    assert_eq!(joined(ws), all_joined(&names));
    assert_eq!(lab.node_names(), names);
    assert_eq!(lab.successes("init"), counts(&[("cp-1", 1)]), "one kubeadm init in total: {:#?}", lab.events());
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1), ("wk-2", 1)]), "no node joined twice: {:#?}", lab.events());
    expect_code(ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn interrupted_create_resumes_without_a_second_init() {
    let lab = Lab::up(1, 2, &["--init-ms", "3000", "--join-ms", "2000"]);
    let ws = workspace(&lab, serde_json::json!({}));
    let out = interrupt_apply_after_init(&ws, &lab, "INT");
    assert!(out.contains("Interrupt received"), "{out}");
    assert!(resource_values(&ws).is_null(), "an interrupted create records nothing in state");
    assert_resumed(&ws, &lab);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn killed_create_resumes_from_the_init_node() {
    let lab = Lab::up(1, 2, &["--init-ms", "3000", "--join-ms", "2000"]);
    let ws = workspace(&lab, serde_json::json!({}));
    interrupt_apply_after_init(&ws, &lab, "KILL");
    // SIGKILL: no state was written at all; only the init node's marker knows.
    assert!(!ws.dir.path().join("terraform.tfstate").exists() || resource_values(&ws).is_null());
    // The killed apply held the state lock only in-process (local backend): nothing to unlock.
    assert_resumed(&ws, &lab);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn unreachable_host_fails_with_its_node_then_converges() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    lab.fault("wk-2", "sshd", "down");
    let out = expect_code(&ws, &APPLY, 1);
    // The diagnostic's attribute is nodes["wk-2"]: every CLI of the matrix
    // shows it at the `nodes` line; the detail names the node and its address.
    assert!(out.contains("Error: Cannot reach node over SSH"), "{out}");
    assert!(out.contains(&at_line("nodes = {")), "the error points at `nodes`:\n{out}");
    let address = lab.address("wk-2");
    assert!(out.contains(&format!("wk-2: SSH connection to {address}")), "the error names wk-2 at {address}:\n{out}");
    assert!(!out.contains("wk-1:") && !out.contains("cp-1:"), "only wk-2 is at fault:\n{out}");
    assert!(resource_values(&ws).is_null(), "{out}");

    lab.fault("wk-2", "sshd", "up");
    ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1", "wk-2"]));
    assert_eq!(lab.total("init"), 1, "{:#?}", lab.events());
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1), ("wk-2", 1)]));
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn import_adopts_the_cluster_without_init_or_join() {
    let lab = Lab::up(1, 1, &[]);
    let first = workspace(&lab, serde_json::json!({}));
    first.ok(&APPLY);
    let events = lab.events();
    assert_eq!(lab.total("init"), 1);

    let second = workspace(&lab, serde_json::json!({}));
    let import = second.ok(&["import", "-no-color", "-input=false", "kubeadm_cluster.lab", lab.api_server()]);
    assert!(import.contains("Import successful"), "{import}");
    let plan = expect_code(&second, &PLAN, 2);
    assert!(!plan.contains("must be replaced"), "adoption is an update:\n{plan}");
    second.ok(&APPLY);
    assert_eq!(lab.events(), events, "adoption ran kubeadm");
    assert_eq!(joined(&second), all_joined(&["cp-1", "wk-1"]));
    let adopted = resource_values(&second);
    assert_eq!(adopted["cluster_ca_certificate"], resource_values(&first)["cluster_ca_certificate"]);
    assert_eq!(adopted["init_node"], "cp-1");
    let again = expect_code(&second, &PLAN, 0);
    assert!(again.contains("No changes."), "{again}");
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn destroy_resets_every_node() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    let hosts = ["cp-1", "wk-1", "wk-2"];
    for host in hosts {
        assert!(lab.host_path(host, "/etc/kubernetes/kubelet.conf").exists(), "{host}");
    }
    ws.ok(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    for host in hosts {
        assert!(!lab.host_path(host, "/etc/kubernetes/kubelet.conf").exists(), "{host} not reset");
        assert!(!lab.host_path(host, "/etc/kubernetes/pki/ca.crt").exists(), "{host} not reset");
    }
    assert!(!lab.host_path("cp-1", "/etc/kubernetes/admin.conf").exists());
    assert!(!lab.host_path("cp-1", "/etc/kubernetes/manifests/kube-vip.yaml").exists());
    assert_eq!(lab.successes("reset"), counts(&[("cp-1", 1), ("wk-1", 1), ("wk-2", 1)]));
    // node-sim's reset, like kubeadm's, drops the etcd member; Node objects stay.
    assert!(lab.etcd_members().is_empty(), "{:#?}", lab.cluster()["etcd_members"]);
    assert!(ws.state_json().get("values").is_none(), "state not empty after destroy");
}

/// The base64 JSON private state of the resource in terraform.tfstate.
fn private_state(ws: &Workspace) -> serde_json::Value {
    let state: serde_json::Value = serde_json::from_str(&ws.read("terraform.tfstate")).expect("tfstate");
    let private = state["resources"][0]["instances"][0]["private"].as_str().expect("private state");
    let bytes = base64::engine::general_purpose::STANDARD.decode(private).expect("base64 private");
    serde_json::from_slice(&bytes).expect("private json")
}

/// Every secret a log must not show: whole values and each PEM body line.
fn secret_needles(ws: &Workspace) -> Vec<String> {
    let private = private_state(ws);
    let secrets = &private["secrets"];
    let values = resource_values(ws);
    let mut needles = Vec::new();
    let token = secrets["bootstrap_token"].as_str().expect("bootstrap token");
    needles.push(token.to_string());
    needles.push(token.split('.').nth(1).expect("token secret").to_string());
    needles.push(secrets["certificate_key"].as_str().expect("certificate key").to_string());
    let keys = [
        &secrets["ca"]["key_pem"],
        &secrets["front_proxy_ca"]["key_pem"],
        &secrets["etcd_ca"]["key_pem"],
        &secrets["service_account_key_pem"],
        &secrets["admin"]["key_pem"],
        &values["client_key"],
    ];
    for pem in keys {
        let pem = pem.as_str().expect("key pem");
        needles.extend(pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 16).map(str::to_string));
    }
    let kubeconfig = values["kubeconfig"].as_str().expect("kubeconfig");
    needles.push(kubeconfig.to_string());
    // The kubeconfig's embedded client key (base64 of the PEM).
    needles.extend(
        kubeconfig
            .lines()
            .filter_map(|l| l.trim().strip_prefix("client-key-data: "))
            .flat_map(|v| [v.to_string(), v[..40.min(v.len())].to_string()]),
    );
    assert!(needles.len() > 10, "{needles:?}");
    needles
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn secrets_never_reach_output_or_logs() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    let log_path = ws.dir.path().join("trace.log");
    let log = log_path.display().to_string();
    let trace = [("TF_LOG", "trace")];
    let mut captured = String::new();
    let mut run = |args: &[&str], env: &[(&str, &str)]| {
        let output = ws.run_with_env(args, env);
        assert!(output.status.code().is_some_and(|c| c == 0 || c == 2), "terraform {args:?}:\n{}", text(&output));
        captured.push_str(&text(&output));
    };
    run(&PLAN, &[]);
    run(&PLAN, &trace);
    run(&APPLY, &trace);
    // The secrets, from the state, while there is one.
    let needles = secret_needles(&ws);
    run(&PLAN, &[("TF_LOG", "trace"), ("TF_LOG_PATH", log.as_str())]);
    run(&["output", "-no-color"], &[]);
    run(&["show", "-no-color"], &[]);
    run(&["destroy", "-auto-approve", "-no-color", "-input=false"], &trace);
    captured.push_str(&std::fs::read_to_string(&log_path).expect("TF_LOG_PATH file"));
    assert!(captured.contains("ssh exec"), "the trace log has the provider's SSH commands");
    assert!(captured.contains("kubeadm init"), "the trace log has the kubeadm steps");
    check_secrets(&needles, &captured);
}

fn check_secrets(needles: &[String], captured: &str) {
    for needle in needles {
        assert!(!captured.contains(needle.as_str()), "secret {:?}... printed", &needle[..12.min(needle.len())]);
    }
}

/// The example's main.tf with `from` replaced by `to` (which must occur).
/// Only `plan` can judge it: `terraform validate` evaluates locals (the
/// nodes come from `local.lab`) as unknown and passes.
fn broken_example(from: &str, to: &str) -> String {
    let main = example("main.tf");
    assert!(main.contains(from), "examples/lab/main.tf no longer has {from:?}");
    main.replacen(from, to, 1)
}

/// The join patch line of examples/lab's `kubeadm_config_patches`.
const JOIN_PATCH: &str = "join_configuration    = yamlencode(merge({ nodeRegistration = { ignorePreflightErrors = kubeadm_config_patches.value } }, local.run_preflight))";

/// The cluster patch line of examples/lab's `kubeadm_config_patches`.
const CLUSTER_PATCH: &str = "cluster_configuration = var.certificate_validity == null ? null : yamlencode({ certificateValidityPeriod = var.certificate_validity })";

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn invalid_configurations_fail_before_any_ssh_with_the_attribute() {
    let lab = Lab::up(1, 1, &[]);
    let cases = [
        (
            broken_example("role        = h.role", "role        = h.name == \"wk-1\" ? \"master\" : h.role"),
            vec!["Error: Invalid node role", "\"master\""],
        ),
        (
            broken_example("address     = h.address", "address     = h.name == \"wk-1\" ? \"10.0.0.300\" : h.address"),
            vec!["Error: Invalid node address", "10.0.0.300"],
        ),
        (
            broken_example("address   = local.lab.vip", "address   = \"10.9.9.9\""),
            vec!["Error: VIP differs from the control plane endpoint", "10.9.9.9"],
        ),
        (
            broken_example(
                "host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key }",
                "host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key if h.name != \"wk-1\" }",
            ),
            vec!["Error: Missing host keys", "No host key for wk-1", "trust_on_first_use"],
        ),
        (
            // The patches block always present, with a kubelet patch after
            // the join patch.
            // (Without the cluster patch and the skipped preflight, which
            // depend on variables: `validate` checks the patches once all
            // of them are known.)
            broken_example("for_each = local.real_lab ? [local.preflight_ignores] : []", "for_each = [[]]")
                .replacen(JOIN_PATCH, &format!("{JOIN_PATCH}\n      kubelet_configuration = \"maxPods: '50'\""), 1)
                .replacen(CLUSTER_PATCH, "", 1)
                .replace(", local.run_preflight))", ", {}))"),
            vec!["Error: Wrong value type", "\"maxPods\" in KubeletConfiguration: must be an integer"],
        ),
    ];
    let vip_line = at_line("address   = local.lab.vip");
    let keys_line = at_line("host_keys   =");
    // No CLI of the matrix maps nodes["wk-1"].role into the for expression
    // that builds `nodes`: they show the resource block.
    let role_line = at_line("resource \"kubeadm_cluster\"");
    let address_line = role_line.clone();
    // A block from a `dynamic` is shown as its resource block.
    let patch_line = role_line.clone();
    let lines = [role_line.as_str(), address_line.as_str(), vip_line.as_str(), keys_line.as_str(), patch_line.as_str()];
    // The patch is a literal, so `validate` already refuses it; the others
    // depend on the lab's JSON, known only at plan.
    let known_at_validate = [false, false, false, false, true];
    for (((main_tf, expected), line), at_validate) in cases.into_iter().zip(lines).zip(known_at_validate) {
        let ws = workspace_with(&lab, serde_json::json!({}), &main_tf);
        let before = lab.sessions();
        let validate = ["validate", "-no-color"];
        let mut commands = vec![&PLAN[..], &APPLY[..]];
        if at_validate {
            commands.insert(0, &validate[..]);
        } else {
            ws.ok(&validate);
        }
        for args in commands {
            let out = expect_code(&ws, args, 1);
            assert!(out.contains("with kubeadm_cluster.lab"), "{out}");
            assert!(out.contains(line), "terraform {args:?}: want {line:?} in:\n{out}");
            for needle in &expected {
                assert!(out.contains(needle), "terraform {args:?}: want {needle:?} in:\n{out}");
            }
        }
        assert_eq!(lab.sessions(), before, "a plan that fails validation must not reach a node");
        assert!(lab.events().is_empty());
    }
}

/// The example with `trust_on_first_use = true` instead of the host keys
/// pinned from the lab JSON: a replaced VM's new key can then be accepted
/// only because its `instance_id` changed.
fn tofu_example() -> String {
    broken_example(
        "host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key }",
        "trust_on_first_use = true",
    )
}

/// `ssh_host_keys` from state: name -> `type base64`.
fn ssh_host_keys(ws: &Workspace) -> BTreeMap<String, String> {
    let keys = resource_values(ws)["ssh_host_keys"].clone();
    serde_json::from_value(keys).expect("ssh_host_keys map")
}

/// `type base64` of an OpenSSH public key line (the comment dropped).
fn key_body(key: &str) -> String {
    key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The lab JSON's host key for `host`, as state records it.
fn lab_key(lab: &Lab, host: &str) -> String {
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lab.lab_file).expect("lab json")).expect("lab json");
    let hosts = info["hosts"].as_array().cloned().unwrap_or_default();
    let entry = hosts.into_iter().find(|h| h["name"] == host).unwrap_or_else(|| panic!("no host {host}"));
    key_body(entry["host_public_key"].as_str().expect("host_public_key"))
}

/// `kubectl delete node NAME` on control plane `on`, without SSH (a Node
/// that left the cluster, or an admin cleaning up a dead VM's Node).
fn delete_node(lab: &Lab, on: &str, name: &str) {
    let out = lab.exec(on, &["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "delete", "node", name]);
    assert!(out.contains(&format!("node \"{name}\" deleted")), "{out}");
    assert!(!lab.node_names().contains(&name.to_string()));
}

/// The plan updates the resource in place (read from the plan JSON).
fn assert_in_place(ws: &Workspace) {
    let change = planned_resource_change(ws);
    assert_eq!(change["actions"], serde_json::json!(["update"]), "in-place update: {change}");
    let replace = change["replace_paths"].as_array().map_or(0, Vec::len);
    assert_eq!(replace, 0, "nothing forces replacement: {change}");
}

/// The plan warns that `node` is NotReady.
fn assert_not_ready_warning(plan: &str, node: &str) {
    assert!(plan.contains("Warning: Node is NotReady"), "{plan}");
    assert!(plan.contains(&format!("node \"{node}\" NotReady")), "the warning names {node}:\n{plan}");
}

/// A plan that changes nothing in the resource and warns that `node` is
/// NotReady. It exits 2 all the same: the refreshed `nodes_status` changes
/// the example's output of that name, and the CLIs count output changes.
fn assert_only_not_ready(ws: &Workspace, node: &str) -> String {
    let plan = expect_code(ws, &PLAN, 2);
    assert!(plan.contains("Changes to Outputs:"), "{plan}");
    assert!(!plan.contains("Plan: ") && !plan.contains("will be updated"), "no change to the resource:\n{plan}");
    assert_not_ready_warning(&plan, node);
    plan
}

/// An apply that must refuse `node`'s changed host key before touching it.
fn assert_host_key_refused(ws: &Workspace, lab: &Lab, node: &str) -> String {
    let (events, nodes) = (lab.events(), lab.node_names());
    let out = expect_code(ws, &APPLY, 1);
    assert!(out.contains(&format!("{node}: host key mismatch for {}", lab.address(node))), "{out}");
    assert!(out.contains("Error: Node's SSH host key changed"), "{out}");
    assert!(out.contains("change its `instance_id`"), "the error says how to proceed after a VM replacement:\n{out}");
    assert!(out.contains(&at_line("nodes = {")), "the error points at `nodes`:\n{out}");
    assert_eq!(lab.events(), events, "nothing was reset or joined");
    assert_eq!(lab.node_names(), nodes, "no Node deleted");
    assert!(!lab.host_path(node, "/etc/kubernetes/kubelet.conf").exists());
    out
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn replaced_worker_is_refused_until_its_instance_id_changes_then_rejoins() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace_with(&lab, serde_json::json!({}), &tofu_example());
    ws.ok(&APPLY);
    let first = lab_key(&lab, "wk-1");
    assert_eq!(ssh_host_keys(&ws)["wk-1"], first, "trust on first use recorded wk-1's key");

    let second = key_body(&lab.replace("wk-1"));
    assert_ne!(second, first);
    // The VM is new but its Node stays (NotReady): without a new
    // instance_id nothing says it was replaced, and the plan reaches no node.
    let sessions = lab.sessions();
    assert_only_not_ready(&ws, "wk-1");
    assert_eq!(lab.sessions(), sessions, "the plan opened SSH sessions");

    // Once the stale Node is gone, the apply re-joins wk-1, and must
    // refuse the unexpected host key (instance_id unchanged).
    delete_node(&lab, "cp-1", "wk-1");
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    assert_host_key_refused(&ws, &lab, "wk-1");
    assert_eq!(ssh_host_keys(&ws)["wk-1"], first, "the recorded key stays");

    // The VM was replaced: a new instance_id makes the new key expected.
    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "wk-1": "2" } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    let (_, before, after) = planned_change(&ws);
    assert_eq!(changed_nodes(&before, &after), ["wk-1"]);
    assert_eq!(
        (&before["nodes"]["wk-1"]["instance_id"], &after["nodes"]["wk-1"]["instance_id"]),
        (&"1".into(), &"2".into())
    );
    ws.ok(&APPLY);
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 2)]), "{:#?}", lab.events());
    assert_eq!(lab.total("init"), 1);
    assert_eq!(lab.total("reset"), 0, "an empty disk needs no reset");
    assert_eq!(ssh_host_keys(&ws)["wk-1"], second, "state has the new key");
    assert_eq!(ssh_host_keys(&ws)["cp-1"], lab_key(&lab, "cp-1"));
    assert_eq!(lab.node_names(), ["cp-1", "wk-1"]);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
    expect_code(&ws, &PLAN, 0);

    // Replaced again while its Node is still there: the stale Node goes
    // (node-sim's join fails while a Node of that name exists) and wk-1 joins.
    let third = key_body(&lab.replace("wk-1"));
    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "wk-1": "3" } }));
    let plan = expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    assert_not_ready_warning(&plan, "wk-1");
    ws.ok(&APPLY);
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 3)]), "{:#?}", lab.events());
    assert_eq!(lab.total("init"), 1);
    assert_eq!(ssh_host_keys(&ws)["wk-1"], third);
    assert_eq!(lab.node("wk-1")["host"], "wk-1");
    assert_eq!(ws.output_json("nodes_status")["wk-1"]["ready"], true);
    let again = expect_code(&ws, &PLAN, 0);
    assert!(!again.contains("NotReady"), "{again}");
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn replaced_worker_with_pinned_keys_needs_the_new_pinned_key() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    let stale = ws.dir.path().join("lab-before-replace.json");
    std::fs::copy(&lab.lab_file, &stale).expect("copy lab json");
    let first = lab_key(&lab, "wk-1");
    let second = key_body(&lab.replace("wk-1"));

    // A pinned key wins over the instance_id: the old pin is refused.
    let stale_file = stale.display().to_string();
    set_vars(&ws, &lab, serde_json::json!({ "lab_file": stale_file, "instance_ids": { "wk-1": "2" } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    assert_host_key_refused(&ws, &lab, "wk-1");
    assert_eq!(ssh_host_keys(&ws)["wk-1"], first);

    // The user pins the new key (the lab JSON has it now).
    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "wk-1": "2" } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    ws.ok(&APPLY);
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 2)]), "the replaced wk-1 joined again: {:#?}", lab.events());
    assert_eq!(ssh_host_keys(&ws)["wk-1"], second);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
    assert_eq!(ws.output_json("nodes_status")["wk-1"]["ready"], true);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn replaced_control_plane_gets_a_new_etcd_member() {
    let lab = Lab::up(3, 0, &[]);
    let ws = workspace_with(&lab, serde_json::json!({}), &tofu_example());
    ws.ok(&APPLY);
    let ids = lab.etcd_ids();
    assert_eq!(ids.keys().collect::<Vec<_>>(), ["cp-1", "cp-2", "cp-3"]);
    let first = lab_key(&lab, "cp-1");

    // The init node's VM is replaced; cp-2 and cp-3 keep the VIP and quorum.
    let second = key_body(&lab.replace("cp-1"));
    assert_only_not_ready(&ws, "cp-1");
    delete_node(&lab, "cp-2", "cp-1");
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    assert_host_key_refused(&ws, &lab, "cp-1");
    assert_eq!(lab.etcd_ids(), ids, "etcd untouched");
    assert_eq!(ssh_host_keys(&ws)["cp-1"], first);

    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "cp-1": "2" } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    ws.ok(&APPLY);
    let after = lab.etcd_ids();
    assert_eq!(after.keys().collect::<Vec<_>>(), ["cp-1", "cp-2", "cp-3"], "{after:#?}");
    assert_ne!(after["cp-1"], ids["cp-1"], "cp-1 is a new member");
    assert_eq!((after["cp-2"], after["cp-3"]), (ids["cp-2"], ids["cp-3"]));
    assert_eq!(lab.total("init"), 1, "a replaced init node joins: {:#?}", lab.events());
    assert_eq!(lab.successes("join"), counts(&[("cp-1", 1), ("cp-2", 1), ("cp-3", 1)]));
    assert!(lab.host_path("cp-1", "/etc/kubernetes/admin.conf").exists());
    assert!(lab.host_path("cp-1", "/etc/kubernetes/manifests/kube-vip.yaml").exists());
    assert_eq!(ssh_host_keys(&ws)["cp-1"], second);
    assert_eq!(lab.node_names(), ["cp-1", "cp-2", "cp-3"]);
    expect_code(&ws, &PLAN, 0);

    // cp-3 replaced with its Node and member still there: both go, it joins again.
    let ids = lab.etcd_ids();
    let third = key_body(&lab.replace("cp-3"));
    set_vars(&ws, &lab, serde_json::json!({ "instance_ids": { "cp-1": "2", "cp-3": "2" } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    ws.ok(&APPLY);
    let after = lab.etcd_ids();
    assert_eq!(after.keys().collect::<Vec<_>>(), ["cp-1", "cp-2", "cp-3"], "{after:#?}");
    assert_ne!(after["cp-3"], ids["cp-3"], "cp-3 is a new member");
    assert_eq!((after["cp-1"], after["cp-2"]), (ids["cp-1"], ids["cp-2"]));
    assert_eq!(lab.successes("join"), counts(&[("cp-1", 1), ("cp-2", 1), ("cp-3", 2)]), "{:#?}", lab.events());
    assert_eq!(ssh_host_keys(&ws)["cp-3"], third);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn node_that_left_the_cluster_is_reset_and_joined_again() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    delete_node(&lab, "cp-1", "wk-1");
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    let change = planned_resource_change(&ws);
    // Only the node that joins again has an unknown status; cp-1's stays
    // as it is, so the plan shows what the apply leaves alone.
    assert_eq!(change["after_unknown"]["nodes_status"]["wk-1"], true, "wk-1's status known after apply: {change}");
    assert_eq!(change["after"]["nodes_status"]["cp-1"]["joined"], true, "cp-1's status kept: {change}");
    assert_eq!(change["after_unknown"]["ssh_host_keys"]["wk-1"], true, "wk-1's key checked again: {change}");
    assert!(change["after"]["ssh_host_keys"]["cp-1"].is_string(), "cp-1's key kept: {change}");
    ws.ok(&APPLY);
    // kubelet.conf was still there: reset first, then join.
    assert_eq!(lab.successes("reset"), counts(&[("wk-1", 1)]), "{:#?}", lab.events());
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 2)]), "{:#?}", lab.events());
    assert_eq!(lab.total("init"), 1);
    assert_eq!(lab.node_names(), ["cp-1", "wk-1"]);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn not_ready_node_is_a_plan_warning_only() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    lab.fault("wk-1", "kubelet", "stopped");
    let (sessions, events) = (lab.sessions(), lab.events());
    let plan = assert_only_not_ready(&ws, "wk-1");
    assert!(!plan.contains("node \"cp-1\" NotReady"), "{plan}");
    // Once the outputs are saved, the plan is empty and still warns.
    let apply = ws.ok(&APPLY);
    assert!(apply.contains("Resources: 0 added, 0 changed, 0 destroyed"), "{apply}");
    assert_eq!(ws.output_json("nodes_status")["wk-1"]["ready"], false);
    let plan = expect_code(&ws, &PLAN, 0);
    assert!(plan.contains("No changes."), "{plan}");
    assert_not_ready_warning(&plan, "wk-1");
    assert_eq!((lab.sessions(), lab.events()), (sessions, events), "no SSH, no kubeadm");
    lab.fault("wk-1", "kubelet", "running");
    let plan = expect_code(&ws, &PLAN, 2);
    assert!(!plan.contains("NotReady") && !plan.contains("Plan: "), "{plan}");
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn labels_and_taints_change_in_place_through_the_api_only() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    let (sessions, events) = (lab.sessions(), lab.events());
    let worker_role = "node-role.kubernetes.io/worker";
    assert_eq!(lab.node("wk-1")["labels"][worker_role], "");
    assert_eq!(lab.node("wk-1")["taints"], serde_json::json!([]));

    let taint = serde_json::json!({ "key": "dedicated", "value": "web", "effect": "NoSchedule" });
    set_vars(
        &ws,
        &lab,
        serde_json::json!({ "node_labels": { "wk-1": { "tier": "web" } }, "node_taints": { "wk-1": [taint] } }),
    );
    let plan = expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    let (actions, before, after) = planned_change(&ws);
    assert_eq!(actions, serde_json::json!(["update"]));
    assert_eq!(changed_nodes(&before, &after), ["wk-1"], "only wk-1's entry changes");
    assert_eq!(after["nodes"]["wk-1"]["labels"]["tier"], "web");
    assert_eq!(after["nodes"]["wk-1"]["taints"], serde_json::json!([taint]));
    assert!(!plan.contains("known after apply"), "no join planned:\n{plan}");
    ws.ok(&APPLY);
    let node = lab.node("wk-1");
    assert_eq!(node["labels"]["tier"], "web");
    assert_eq!(node["labels"][worker_role], "");
    assert_eq!(node["taints"], serde_json::json!([taint]));
    assert!(lab.node("wk-2")["labels"].get("tier").is_none());
    assert_eq!(lab.node("wk-2")["taints"], serde_json::json!([]));
    assert_eq!(lab.events(), events, "no kubeadm command");
    assert_eq!(lab.sessions(), sessions, "no SSH session");
    expect_code(&ws, &PLAN, 0);

    // The label dropped, taints emptied (`[]`).
    set_vars(&ws, &lab, serde_json::json!({ "node_taints": { "wk-1": [] } }));
    expect_code(&ws, &PLAN, 2);
    assert_in_place(&ws);
    ws.ok(&APPLY);
    let node = lab.node("wk-1");
    assert!(node["labels"].get("tier").is_none(), "{node:#}");
    assert_eq!(node["labels"][worker_role], "");
    assert_eq!(node["taints"], serde_json::json!([]));
    assert_eq!(lab.events(), events);
    assert_eq!(lab.sessions(), sessions);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn connection_dropped_during_a_join_fails_then_the_next_apply_finishes() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    // wk-2's sshd session dies in the middle of `kubeadm join`.
    lab.fault("wk-2", "drop-in", "kubeadm join");
    let out = expect_code(&ws, &APPLY, 1);
    assert!(out.contains("wk-2:"), "the error names wk-2:\n{out}");
    assert!(out.contains(&at_line("nodes = {")), "the error points at `nodes`:\n{out}");
    assert!(out.contains("Nothing was recorded in state"), "{out}");
    assert!(resource_values(&ws).is_null(), "a failed create records nothing:\n{out}");
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1)]), "wk-1 joined, wk-2 did not");

    lab.fault("wk-2", "drop-in", "none");
    let resumed = ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1", "wk-2"]), "{resumed}");
    assert_eq!(lab.total("init"), 1, "no second init: {:#?}", lab.events());
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1), ("wk-2", 1)]), "wk-1 not joined again");
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn a_join_that_fails_once_during_an_update_is_recorded_and_finished_next_time() {
    let lab = Lab::up(1, 2, &[]);
    let ws = workspace(&lab, serde_json::json!({ "exclude_nodes": ["wk-2"] }));
    ws.ok(&APPLY);
    lab.fault("wk-2", "fail-once", "kubeadm join");
    set_vars(&ws, &lab, serde_json::json!({}));
    let out = expect_code(&ws, &APPLY, 1);
    assert!(out.contains("wk-2: kubeadm join failed (exit status 1)"), "{out}");
    assert!(out.contains("lab fault: kubeadm join failed once"), "the command's output is in the error:\n{out}");
    assert!(out.contains("What finished is recorded in state"), "{out}");
    // The state keeps the cluster; wk-2 is recorded as not joined, so the
    // next plan shows the pending join. (Read from the resource: Terraform
    // does not refresh outputs after a failed apply.)
    let status = resource_values(&ws)["nodes_status"].clone();
    assert_eq!(status["wk-2"]["joined"], false, "{status:#}");
    assert_eq!(status["wk-1"]["joined"], true, "{status:#}");
    let plan = expect_code(&ws, &PLAN, 2);
    assert!(plan.contains("update in-place"), "{plan}");

    ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1", "wk-2"]));
    assert_eq!(lab.successes("join"), counts(&[("wk-1", 1), ("wk-2", 1)]));
    assert_eq!(lab.total("init"), 1);
    expect_code(&ws, &PLAN, 0);
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn cloud_init_failure_names_the_node_and_its_status_before_anything_runs() {
    let lab = Lab::up(1, 1, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    lab.fault("cp-1", "cloud-init", "error");
    let out = expect_code(&ws, &APPLY, 1);
    assert!(out.contains("Error: cloud-init did not finish on node"), "{out}");
    assert!(out.contains("cp-1: cloud-init did not finish successfully"), "{out}");
    assert!(out.contains("status: error"), "the node's cloud-init status is shown:\n{out}");
    assert_eq!(lab.total("init"), 0, "nothing ran on a node whose cloud-init failed");
    assert!(resource_values(&ws).is_null());

    lab.fault("cp-1", "cloud-init", "done");
    ws.ok(&APPLY);
    assert_eq!(joined(&ws), all_joined(&["cp-1", "wk-1"]));
}

/// The version-0 encoding of `nodes`, exactly as the provider before the
/// typed schema stored it (checked against a state that provider wrote for
/// this example): a dynamic value, `{"value": ..., "type": ...}`, with the
/// type of each entry spelled out (`labels` an object type of its keys).
fn nodes_as_version_0(nodes: &serde_json::Value) -> serde_json::Value {
    let entry_type = |node: &serde_json::Value| {
        let labels: serde_json::Map<String, serde_json::Value> = node["labels"]
            .as_object()
            .map(|m| m.keys().map(|k| (k.clone(), serde_json::json!("string"))).collect())
            .unwrap_or_default();
        serde_json::json!(["object", {
            "address": "string", "instance_id": "string", "labels": ["object", labels], "role": "string",
            "taints": ["list", ["object", { "effect": "string", "key": "string", "value": "string" }]]
        }])
    };
    let types: serde_json::Map<String, serde_json::Value> =
        nodes.as_object().expect("nodes").iter().map(|(name, node)| (name.clone(), entry_type(node))).collect();
    serde_json::json!({ "value": nodes, "type": ["object", types] })
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn state_of_the_dynamic_nodes_schema_upgrades_without_a_diff() {
    let lab = Lab::up(1, 1, &[]);
    let taint = serde_json::json!({ "key": "dedicated", "value": null, "effect": "NoSchedule" });
    let vars = serde_json::json!({
        "node_labels": { "wk-1": { "tier": "web" } }, "node_taints": { "wk-1": [taint] }, "instance_ids": { "cp-1": "7" }
    });
    let ws = workspace(&lab, vars);
    ws.ok(&APPLY);

    // Rewrite the stored state into what schema version 0 wrote.
    let mut state: serde_json::Value = serde_json::from_str(&ws.read("terraform.tfstate")).expect("tfstate");
    let instance = &mut state["resources"][0]["instances"][0];
    assert_eq!(instance["schema_version"], 1, "the typed schema is version 1");
    instance["schema_version"] = serde_json::json!(0);
    instance["attributes"]["nodes"] = nodes_as_version_0(&instance["attributes"]["nodes"]);
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
    ws.write("terraform.tfstate", &state.to_string());

    let sessions = lab.sessions();
    let plan = expect_code(&ws, &PLAN, 0);
    assert!(plan.contains("No changes."), "the upgraded state plans empty:\n{plan}");
    assert_eq!(lab.sessions(), sessions, "the upgrade and its plan open no SSH session");
    ws.ok(&["apply", "-refresh-only", "-auto-approve", "-no-color", "-input=false"]);
    let state: serde_json::Value = serde_json::from_str(&ws.read("terraform.tfstate")).expect("tfstate");
    assert_eq!(state["resources"][0]["instances"][0]["schema_version"], 1, "stored again at version 1");
    assert_eq!(
        state["resources"][0]["instances"][0]["attributes"]["nodes"]["wk-1"]["taints"],
        serde_json::json!([taint])
    );
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn a_bastion_is_never_trusted_on_first_use() {
    // Its key is recorded nowhere, so trust-on-first-use would accept any
    // key on every run: host_key is required, even with trust_on_first_use.
    let lab = Lab::up(1, 0, &[]);
    let main_tf = broken_example(
        "host_keys   = { for h in local.lab.hosts : h.name => h.host_public_key }",
        "trust_on_first_use = true\n    bastion {\n      host = \"127.0.0.1\"\n    }",
    );
    let ws = workspace_with(&lab, serde_json::json!({}), &main_tf);
    let before = lab.sessions();
    let out = expect_code(&ws, &["validate", "-no-color"], 1);
    assert!(out.contains("\"host_key\" is required"), "{out}");
    assert_eq!(lab.sessions(), before, "no SSH session");
}

#[ignore = "needs the lab (root, network namespaces, sshd) and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn unreadable_private_state_is_an_error_not_a_new_cluster() {
    let lab = Lab::up(1, 0, &[]);
    let ws = workspace(&lab, serde_json::json!({}));
    ws.ok(&APPLY);
    let ca = resource_values(&ws)["cluster_ca_certificate"].clone();
    let mut state: serde_json::Value = serde_json::from_str(&ws.read("terraform.tfstate")).expect("tfstate");
    let good = state["resources"][0]["instances"][0]["private"].clone();
    assert!(good.is_string(), "the cluster keeps its secrets in private state");
    // Base64 of "{not json": private state that no longer decodes.
    state["resources"][0]["instances"][0]["private"] = serde_json::json!("e25vdCBqc29u");
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
    ws.write("terraform.tfstate", &state.to_string());

    let sessions = lab.sessions();
    let out = expect_code(&ws, &PLAN, 1);
    assert!(out.contains("Error: Private state of kubeadm_cluster is unreadable"), "{out}");
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Restore the state from a backup"), "the error says what to do:\n{out}");
    assert_eq!(lab.sessions(), sessions, "nothing touched the nodes");
    assert_eq!(lab.total("init"), 1);

    // Restored from the backup: the same cluster, an empty plan.
    state["resources"][0]["instances"][0]["private"] = good;
    state["serial"] = serde_json::json!(state["serial"].as_u64().unwrap_or(0) + 1);
    ws.write("terraform.tfstate", &state.to_string());
    expect_code(&ws, &PLAN, 0);
    assert_eq!(resource_values(&ws)["cluster_ca_certificate"], ca);
}

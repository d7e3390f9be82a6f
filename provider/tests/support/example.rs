//! examples/lab in Terraform workspaces: the helpers the kubeadm_cluster
//! acceptance suites (simulated and real-Kubernetes lab) share.

use std::collections::BTreeMap;

use super::lab::Lab;
use super::{Workspace, text};

pub const EXAMPLE_FILES: [&str; 5] = ["main.tf", "variables.tf", "outputs.tf", "terraform.tf", "providers.tf"];
/// The example's local chart, relative to it.
const CHART_FILES: [&str; 3] =
    ["charts/lab-demo/Chart.yaml", "charts/lab-demo/values.yaml", "charts/lab-demo/templates/configmap.yaml"];

pub fn example(name: &str) -> String {
    super::repo_file(&format!("examples/lab/{name}"))
}

/// `on main.tf line N` for the first line of the example's main.tf holding
/// `needle`: where Terraform shows a diagnostic for that attribute.
pub fn at_line(needle: &str) -> String {
    let main = example("main.tf");
    let line = main.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in main.tf"));
    format!("on main.tf line {}, in resource \"kubeadm_cluster\" \"lab\"", line + 1)
}

/// examples/lab in a fresh workspace, `terraform init` done, pointed at `lab`.
pub fn workspace(lab: &Lab, vars: serde_json::Value) -> Workspace {
    workspace_with(lab, vars, &example("main.tf"))
}

/// Like [`workspace`] with `main_tf` instead of the example's main.tf.
pub fn workspace_with(lab: &Lab, vars: serde_json::Value, main_tf: &str) -> Workspace {
    let ws = Workspace::new(main_tf);
    for name in EXAMPLE_FILES.iter().filter(|n| **n != "main.tf") {
        ws.write(name, &example(name));
    }
    for name in CHART_FILES {
        let path = ws.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("chart dir")).expect("chart dir");
        ws.write(name, &example(name));
    }
    set_vars(&ws, lab, vars);
    ws.init();
    ws
}

/// Writes `terraform.tfvars.json`: `lab_file` plus `vars`.
pub fn set_vars(ws: &Workspace, lab: &Lab, vars: serde_json::Value) {
    let mut all = serde_json::json!({ "lab_file": lab.lab_file.display().to_string() });
    for (k, v) in vars.as_object().into_iter().flatten() {
        all[k] = v.clone();
    }
    ws.write("terraform.tfvars.json", &all.to_string());
}

pub const APPLY: [&str; 4] = ["apply", "-auto-approve", "-no-color", "-input=false"];
pub const PLAN: [&str; 4] = ["plan", "-detailed-exitcode", "-no-color", "-input=false"];

/// `nodes_status` from the outputs: name -> joined.
pub fn joined(ws: &Workspace) -> BTreeMap<String, bool> {
    let status = ws.output_json("nodes_status");
    status
        .as_object()
        .expect("nodes_status map")
        .iter()
        .map(|(name, s)| (name.clone(), s["joined"].as_bool().expect("joined")))
        .collect()
}

pub fn all_joined(names: &[&str]) -> BTreeMap<String, bool> {
    names.iter().map(|n| (n.to_string(), true)).collect()
}

pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

/// The resource's attributes from `terraform show -json`.
pub fn resource_values(ws: &Workspace) -> serde_json::Value {
    let state = ws.state_json();
    let resources = state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default();
    resources
        .into_iter()
        .find(|r| r["address"] == "kubeadm_cluster.lab")
        .map(|r| r["values"].clone())
        .unwrap_or_default()
}

/// Names in the state's `nodes`.
pub fn state_nodes(ws: &Workspace) -> Vec<String> {
    resource_values(ws)["nodes"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Runs terraform, expecting exit code `code`; returns stdout+stderr.
/// The planned change of `kubeadm_cluster.lab` from `plan -out` +
/// `show -json`: (actions, before, after). Asserting on the JSON, not on
/// the column-aligned plan text, keeps the tests independent of each CLI's
/// rendering (Terraform and OpenTofu differ, and so do their versions).
pub fn planned_change(ws: &Workspace) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let change = planned_resource_change(ws);
    (change["actions"].clone(), change["before"].clone(), change["after"].clone())
}

/// `kubeadm_cluster.lab`'s `change` in the plan JSON (`terraform show -json`
/// of a saved plan): actions, before, after, after_unknown, after_sensitive,
/// replace_paths.
pub fn planned_resource_change(ws: &Workspace) -> serde_json::Value {
    expect_code(ws, &["plan", "-no-color", "-input=false", "-out=tfplan"], 0);
    let plan: serde_json::Value = serde_json::from_str(&ws.ok(&["show", "-json", "tfplan"])).expect("plan json");
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == "kubeadm_cluster.lab"))
        .map(|c| c["change"].clone())
        .expect("kubeadm_cluster.lab in the plan")
}

/// Names of `nodes` entries that differ between before and after.
pub fn changed_nodes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> =
        before["nodes"].as_object().into_iter().chain(after["nodes"].as_object()).flat_map(|m| m.keys()).collect();
    names.into_iter().filter(|n| before["nodes"][n.as_str()] != after["nodes"][n.as_str()]).cloned().collect()
}

pub fn expect_code(ws: &Workspace, args: &[&str], code: i32) -> String {
    let output = ws.run(args);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(code), "terraform {args:?}:\n{out}");
    out
}

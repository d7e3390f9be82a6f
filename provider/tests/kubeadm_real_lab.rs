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

/// Node name -> Ready, from the real API server.
fn api_nodes(lab: &Lab) -> BTreeMap<String, bool> {
    let list = lab.kubectl_json("cp-1", &["nodes"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let ready = n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            (n["metadata"]["name"].as_str().unwrap_or("").to_owned(), ready)
        })
        .collect()
}

fn all_ready(names: &[&str]) -> BTreeMap<String, bool> {
    names.iter().map(|n| ((*n).to_owned(), true)).collect()
}

#[test]
fn real_create_three_control_planes_three_workers_then_noop_plan_without_ssh() {
    let Some(lab) = Lab::up_real(3, 3) else { return };
    let Some(ws) = workspace(&lab, serde_json::json!({})) else { return };
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

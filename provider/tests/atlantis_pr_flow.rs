//! The pull-request flow through real peers: a real Gitea, a real
//! `atlantis server` with this repository's server-side config and
//! workflow, the CLI of the test matrix, and our providers against the
//! real-Kubernetes lab. What a user sees on a pull request is asserted
//! from the comments Atlantis posts, and every comment and Atlantis' whole
//! log are scanned for the cluster's secrets.

// A test: a panic is a failed assertion, not a plugin crash.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::atlantis::{Atlantis, Setup};
use support::example::{EXAMPLE_FILES, example};
use support::forge::{Gitea, User, git};
use support::lab::Lab;
use support::repo_file;

const REPO: &str = "owner/homelab";

/// A cloud-config per lab node beside the cluster, so the plan comment
/// shows both of our resources (its provider is added to terraform.tf).
const CLOUDINIT_TF: &str = r#"resource "cloudinit_config" "node" {
  for_each = local.hosts

  hostname           = each.key
  kubernetes_version = "1.35"

  user {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnlyReplaceMeWithYourAtlantisKey0000 atlantis@homelab"]
  }
}
"#;

/// The repository's atlantis.yaml with the project pinned to the CLI under
/// test (downloads are off, so Atlantis must find exactly that version).
fn atlantis_yaml(version: &str) -> String {
    let text = repo_file("atlantis.yaml");
    let pin = text.lines().find(|l| l.trim_start().starts_with("terraform_version:")).expect("a terraform_version pin");
    text.replace(pin, &format!("    terraform_version: {version}"))
}

/// The lines of attribute `name`'s value in a plan comment: from its
/// `+ name = {` / `~ name = {` line to the `}` that closes it.
fn attribute_block(comment: &str, name: &str) -> String {
    let lines: Vec<&str> = comment.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            let t = l.trim_start();
            (t.starts_with("+ ") || t.starts_with("~ "))
                && t[2..].trim_start().starts_with(&format!("{name} "))
                && t.ends_with("= {")
        })
        .unwrap_or_else(|| panic!("no `{name} = {{` in the comment:\n{comment}"));
    // The closing brace sits where the name does, two columns right of the marker.
    let indent = lines[start].len() - lines[start].trim_start().len() + 2;
    let end = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with('}') && l.len() - l.trim_start().len() == indent)
        .map_or(lines.len(), |offset| start + offset);
    lines[start..=end.min(lines.len() - 1)].join("\n")
}

/// The pull request's view of the forge: comments, as the bot posts them.
struct PullRequest<'a> {
    gitea: &'a Gitea,
    bot: &'a User,
    number: u64,
    seen: usize,
}

impl PullRequest<'_> {
    fn bot_comments(&self, as_user: &User) -> Vec<String> {
        let comments = self.gitea.api(as_user, "GET", &format!("/repos/{REPO}/issues/{}/comments", self.number), None);
        comments
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["user"]["login"] == self.bot.name.as_str())
            .map(|c| c["body"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Waits for the bot's next comment on this pull request.
    fn next_comment(&mut self, as_user: &User, atlantis: &Atlantis, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let comments = self.bot_comments(as_user);
            if let Some(comment) = comments.get(self.seen) {
                self.seen += 1;
                return comment.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no new Atlantis comment on PR {} in {timeout:?}; Atlantis log:\n{}",
                self.number,
                atlantis.log()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// Approves as `reviewer`, then waits until Gitea reports the pull
    /// request mergeable. Gitea computes that in a background queue after
    /// each push, and Atlantis' `mergeable` requirement reads the same
    /// field: an apply asked for before the check ends is refused, as a
    /// person clicking too fast would see.
    fn approve(&self, reviewer: &User) {
        let review = serde_json::json!({ "event": "APPROVED", "body": "Looks right." });
        self.gitea.api(reviewer, "POST", &format!("/repos/{REPO}/pulls/{}/reviews", self.number), Some(&review));
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let pull = self.gitea.api(reviewer, "GET", &format!("/repos/{REPO}/pulls/{}", self.number), None);
            if pull["mergeable"] == true {
                return;
            }
            assert!(Instant::now() < deadline, "PR {} is not mergeable after 120 s:\n{pull:#}", self.number);
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn comment(&self, user: &User, body: &str) {
        let path = format!("/repos/{REPO}/issues/{}/comments", self.number);
        self.gitea.api(user, "POST", &path, Some(&serde_json::json!({ "body": body })));
    }
}

/// A new branch `name` from the forge's current main, in the clone `work`.
fn branch_from_main(work: &Path, owner: &User, name: &str) {
    git(work, owner, &["checkout", "-q", "main"]);
    git(work, owner, &["pull", "-q", "origin", "main"]);
    git(work, owner, &["checkout", "-q", "-b", name]);
}

/// The real API server's Node names, sorted.
fn node_names(lab: &Lab) -> Vec<String> {
    let nodes = lab.kubectl_json("cp-1", &["nodes"]);
    let items = nodes["items"].as_array().into_iter().flatten();
    let mut names: Vec<String> = items.filter_map(|n| n["metadata"]["name"].as_str()).map(str::to_owned).collect();
    names.sort_unstable();
    names
}

/// Pushes `branch` (from the clone in `work`) and opens a pull request.
fn open_pull<'a>(
    gitea: &'a Gitea,
    owner: &User,
    bot: &'a User,
    work: &Path,
    branch: &str,
    title: &str,
) -> PullRequest<'a> {
    git(work, owner, &["add", "-A"]);
    git(work, owner, &["commit", "-q", "-m", title]);
    git(work, owner, &["push", "-q", "origin", branch]);
    gitea.wait_for_branch(owner, REPO, branch);
    let body = serde_json::json!({ "head": branch, "base": "main", "title": title });
    let pull = gitea.api(owner, "POST", &format!("/repos/{REPO}/pulls"), Some(&body));
    PullRequest { gitea, bot, number: pull["number"].as_u64().expect("PR number"), seen: 0 }
}

/// Writes the root module of PR 1 into `work/terraform`: examples/lab, a
/// cloud-config per node, state at `state` (outside any clone, so every
/// pull request's checkout sees the same state), and the lab's inputs.
fn write_root_module(work: &Path, lab: &Lab, state: &Path, exclude: &[&str]) {
    let dir = work.join("terraform");
    std::fs::create_dir_all(&dir).expect("terraform dir");
    for name in EXAMPLE_FILES {
        std::fs::write(dir.join(name), example(name)).expect("example file");
    }
    let cloudinit =
        "    cloudinit = {\n      source  = \"terraform.local/homelab/cloudinit\"\n      version = \"0.1.0\"\n    }\n";
    let terraform_tf = example("terraform.tf");
    assert!(terraform_tf.contains("    helm = {"), "examples/lab/terraform.tf requires helm");
    std::fs::write(
        dir.join("terraform.tf"),
        terraform_tf.replacen("    helm = {", &format!("{cloudinit}    helm = {{"), 1),
    )
    .expect("terraform.tf");
    std::fs::write(dir.join("cloudinit.tf"), CLOUDINIT_TF).expect("cloudinit.tf");
    let backend = format!("terraform {{\n  backend \"local\" {{\n    path = \"{}\"\n  }}\n}}\n", state.display());
    std::fs::write(dir.join("backend.tf"), backend).expect("backend.tf");
    write_inputs(work, lab, exclude);
}

fn write_inputs(work: &Path, lab: &Lab, exclude: &[&str]) {
    let vars = serde_json::json!({ "lab_file": lab.lab_file.display().to_string(), "exclude_nodes": exclude });
    std::fs::write(work.join("terraform/lab.auto.tfvars.json"), vars.to_string()).expect("tfvars");
}

/// Every secret of the cluster and the lab, as the state holds them: the
/// sensitive attributes, the private state (CA keys, bootstrap token,
/// certificate key) and the SSH private key.
fn secrets(state: &Path, lab: &Lab) -> Vec<String> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).expect("state file")).expect("state JSON");
    let instance = state["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["type"] == "kubeadm_cluster"))
        .map(|r| r["instances"][0].clone())
        .expect("kubeadm_cluster in the state");
    let mut all = vec![];
    for name in ["kubeconfig", "client_key"] {
        all.push(instance["attributes"][name].as_str().expect(name).to_owned());
    }
    let private = base64::engine::general_purpose::STANDARD
        .decode(instance["private"].as_str().expect("private state"))
        .expect("private state base64");
    let private: serde_json::Value = serde_json::from_slice(&private).expect("private state JSON");
    // The provider's private state: `{"secrets": ClusterSecrets}`.
    let secrets = &private["secrets"];
    for key in ["bootstrap_token", "certificate_key", "service_account_key_pem"] {
        all.push(secrets[key].as_str().unwrap_or_else(|| panic!("{key} in the private state: {private}")).to_owned());
    }
    for pair in ["ca", "front_proxy_ca", "etcd_ca", "admin"] {
        all.push(secrets[pair]["key_pem"].as_str().expect("key_pem").to_owned());
    }
    let key_file = lab.info["private_key"].as_str().expect("lab private_key");
    all.push(std::fs::read_to_string(key_file).expect("lab SSH key"));
    all
}

/// What of `secret` must never appear: the whole value, and each line of a
/// multi-line one (a PEM body line is enough to leak a key).
fn fragments(secret: &str) -> Vec<String> {
    let mut parts: Vec<String> =
        secret.lines().map(str::trim).filter(|l| l.len() >= 16 && !l.starts_with("-----")).map(str::to_owned).collect();
    parts.push(secret.trim().to_owned());
    parts.sort_unstable();
    parts.dedup();
    parts
}

/// Where a secret shows in `texts`: `(what, finding)`, empty when none.
fn leaks(texts: &[(&str, String)], secrets: &[String]) -> Vec<String> {
    let fragments: Vec<String> = secrets.iter().flat_map(|s| fragments(s)).collect();
    let mut found = vec![];
    for (what, text) in texts {
        for marker in ["PRIVATE KEY", "client-key-data", "token-secret"] {
            if text.contains(marker) {
                found.push(format!("{what} holds {marker:?}"));
            }
        }
        for fragment in &fragments {
            if text.contains(fragment.as_str()) {
                found.push(format!("{what} holds a secret (a fragment of {} chars)", fragment.len()));
            }
        }
    }
    found
}

#[ignore = "needs the Gitea and Atlantis peers and TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn a_pull_request_is_planned_refused_approved_applied_and_the_next_joins_one_worker() {
    let terraform = support::terraform_binary();
    let lab = Lab::up_real(1, 2);
    let gitea = Gitea::start();
    let owner = gitea.create_user("owner", true);
    let bot = gitea.create_user("atlantis", false);
    let reviewer = gitea.create_user("reviewer", false);
    let version = support::Cli::detect(&terraform).version_text();

    // The repository: atlantis.yaml and .tflint.hcl on main, the bot and the
    // reviewer as collaborators, a webhook to Atlantis.
    gitea.api(&owner, "POST", "/user/repos", Some(&serde_json::json!({ "name": "homelab", "private": true })));
    for user in [&bot, &reviewer] {
        let path = format!("/repos/{REPO}/collaborators/{}", user.name);
        gitea.api(&owner, "PUT", &path, Some(&serde_json::json!({ "permission": "write" })));
    }
    let work = tempfile::tempdir().expect("clone dir");
    let state = tempfile::tempdir().expect("state dir");
    let state_file = state.path().join("terraform.tfstate");
    git(work.path(), &owner, &["init", "-q", "."]);
    std::fs::write(work.path().join("atlantis.yaml"), atlantis_yaml(&version)).expect("atlantis.yaml");
    std::fs::write(work.path().join(".tflint.hcl"), repo_file(".tflint.hcl")).expect(".tflint.hcl");
    git(work.path(), &owner, &["add", "-A"]);
    git(work.path(), &owner, &["commit", "-q", "-m", "Atlantis config"]);
    git(work.path(), &owner, &["remote", "add", "origin", &gitea.git_url(&owner, REPO)]);
    git(work.path(), &owner, &["push", "-q", "origin", "main"]);

    let secret = "homelab-webhook-secret";
    let repo_id = format!("127.0.0.1/{REPO}");
    let setup = Setup { gitea: &gitea, bot: &bot, webhook_secret: secret, repo_id: &repo_id, terraform: &terraform };
    let atlantis = Atlantis::start(&setup);
    let hook = serde_json::json!({
        "type": "gitea",
        "active": true,
        "events": ["pull_request", "pull_request_sync", "pull_request_comment"],
        "config": { "url": format!("{}/events", atlantis.url()), "content_type": "json", "secret": secret },
    });
    gitea.api(&owner, "POST", &format!("/repos/{REPO}/hooks"), Some(&hook));

    // PR 1: the cluster (one control plane, one worker; wk-2 left out).
    git(work.path(), &owner, &["checkout", "-q", "-b", "cluster"]);
    write_root_module(work.path(), &lab, &state_file, &["wk-2"]);
    let mut pr1 = open_pull(&gitea, &owner, &bot, work.path(), "cluster", "The cluster");
    let minutes = |m: u64| Duration::from_secs(60 * m);
    let plan1 = pr1.next_comment(&owner, &atlantis, minutes(10));
    assert!(plan1.contains("Ran Plan for") && plan1.contains("kubeadm_cluster.lab"), "plan comment:\n{plan1}");
    assert!(
        plan1.contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "the cluster and two cloud-configs:\n{plan1}"
    );
    let nodes1 = attribute_block(&plan1, "nodes");
    for node in ["cp-1", "wk-1"] {
        assert!(nodes1.contains(&format!("+ \"{node}\" = {{")), "{node} in the planned nodes:\n{nodes1}");
    }
    assert!(!nodes1.contains("wk-2"), "wk-2 is left out:\n{nodes1}");
    assert!(atlantis.locks().iter().any(|(pull, _)| *pull == pr1.number), "the plan locks the project");

    // Apply before approval: refused, nothing runs.
    pr1.comment(&owner, "atlantis apply");
    let refused = pr1.next_comment(&owner, &atlantis, minutes(2));
    assert!(refused.contains("must be approved"), "apply without approval:\n{refused}");
    assert!(!state_file.exists(), "no apply ran before approval");

    // Approve (not the author: Gitea refuses a self-approval), then apply.
    pr1.approve(&reviewer);
    pr1.comment(&owner, "atlantis apply");
    let apply1 = pr1.next_comment(&owner, &atlantis, minutes(15));
    assert!(apply1.contains("Ran Apply for") && apply1.contains("Apply complete!"), "apply comment:\n{apply1}");
    assert_eq!(node_names(&lab), ["cp-1", "wk-1"], "the cluster exists");
    let secrets = secrets(&state_file, &lab);

    // Merge: Atlantis releases PR 1's lock.
    let merge = serde_json::json!({ "Do": "merge" });
    gitea.api(&owner, "POST", &format!("/repos/{REPO}/pulls/{}/merge", pr1.number), Some(&merge));
    let closed1 = pr1.next_comment(&owner, &atlantis, minutes(2));
    assert!(closed1.contains("Locks and plans deleted"), "merge comment:\n{closed1}");
    assert_eq!(atlantis.locks(), vec![], "no lock after the merge");

    // PR 2: add wk-2. The plan shows that one node's join, nothing else.
    branch_from_main(work.path(), &owner, "add-wk-2");
    write_inputs(work.path(), &lab, &[]);
    let mut pr2 = open_pull(&gitea, &owner, &bot, work.path(), "add-wk-2", "Add wk-2");
    let plan2 = pr2.next_comment(&owner, &atlantis, minutes(10));
    assert!(plan2.contains("Plan: 1 to add, 1 to change, 0 to destroy."), "wk-2's cloud-config and the join:\n{plan2}");
    let nodes2 = attribute_block(&plan2, "nodes");
    assert!(nodes2.contains("+ \"wk-2\" = {"), "wk-2 joins:\n{nodes2}");
    assert!(nodes2.contains("(2 unchanged elements hidden)"), "cp-1 and wk-1 unchanged:\n{nodes2}");
    for node in ["cp-1", "wk-1"] {
        assert!(!nodes2.contains(node), "{node} is unchanged:\n{nodes2}");
    }
    // What is computed per node is unknown only for the joining node.
    for attribute in ["nodes_status", "ssh_host_keys"] {
        let block = attribute_block(&plan2, attribute);
        assert!(block.contains("+ \"wk-2\" = (known after apply)"), "{attribute} of wk-2:\n{block}");
        for node in ["cp-1", "wk-1"] {
            assert!(!block.contains(node), "{attribute}: {node} is unchanged:\n{block}");
        }
    }
    let kubelet_conf = lab.host_path("wk-1", "/etc/kubernetes/kubelet.conf");
    let wk1_before = std::fs::read(&kubelet_conf).expect("wk-1 kubelet.conf");
    pr2.approve(&reviewer);
    pr2.comment(&owner, "atlantis apply");
    let apply2 = pr2.next_comment(&owner, &atlantis, minutes(15));
    assert!(apply2.contains("Apply complete! Resources: 1 added, 1 changed, 0 destroyed."), "apply comment:\n{apply2}");
    assert_eq!(node_names(&lab), ["cp-1", "wk-1", "wk-2"], "wk-2 joined");
    assert_eq!(std::fs::read(&kubelet_conf).expect("wk-1 kubelet.conf"), wk1_before, "wk-1 was not touched");
    gitea.api(&owner, "POST", &format!("/repos/{REPO}/pulls/{}/merge", pr2.number), Some(&merge));
    let closed2 = pr2.next_comment(&owner, &atlantis, minutes(2));
    assert!(closed2.contains("Locks and plans deleted"), "merge comment:\n{closed2}");
    assert_eq!(atlantis.locks(), vec![], "no lock after the merge");

    // PR 3 tries to lift its own approval requirement, then to run its own
    // commands: the server-side config refuses both, so nothing is planned.
    branch_from_main(work.path(), &owner, "no-review");
    let config = atlantis_yaml(&version);
    let lifted = config.replace("    workspace: default\n", "    workspace: default\n    apply_requirements: []\n");
    assert_ne!(lifted, config, "atlantis.yaml names the project's workspace");
    std::fs::write(work.path().join("atlantis.yaml"), lifted).expect("atlantis.yaml");
    write_inputs(work.path(), &lab, &["wk-1"]);
    let mut pr3 = open_pull(&gitea, &owner, &bot, work.path(), "no-review", "Skip the review");
    let refused = pr3.next_comment(&owner, &atlantis, minutes(2));
    assert!(refused.contains("repo config not allowed to set 'apply_requirements' key"), "lifted approval:\n{refused}");
    let own_workflow = format!(
        "{}    workflow: mine\nworkflows:\n  mine:\n    plan:\n      steps:\n        - run: touch pwned\n",
        config.trim_end().to_owned() + "\n"
    );
    std::fs::write(work.path().join("atlantis.yaml"), own_workflow).expect("atlantis.yaml");
    git(work.path(), &owner, &["commit", "-q", "-am", "My own workflow"]);
    git(work.path(), &owner, &["push", "-q", "origin", "no-review"]);
    let refused = pr3.next_comment(&owner, &atlantis, minutes(2));
    assert!(refused.contains("repo config not allowed to set 'workflow' key"), "own workflow:\n{refused}");
    assert_eq!(node_names(&lab), ["cp-1", "wk-1", "wk-2"], "nothing was applied");

    // No comment and no line of Atlantis' log carries a secret.
    let mut texts: Vec<(&str, String)> = vec![("the Atlantis log", atlantis.log())];
    for pr in [&pr1, &pr2, &pr3] {
        for comment in pr.bot_comments(&owner) {
            texts.push(("a pull-request comment", comment));
        }
    }
    assert!(secrets.len() >= 10 && secrets.iter().all(|s| s.len() >= 16), "the state holds every secret");
    assert_eq!(leaks(&texts, &secrets), Vec::<String>::new(), "no comment or log line carries a secret");
    if let Some(out) = std::env::var_os("HOMELAB_ATLANTIS_COMMENTS_OUT") {
        let all: Vec<&str> = texts.iter().skip(1).map(|(_, t)| t.as_str()).collect();
        std::fs::write(out, all.join("\n\n---\n\n")).expect("write the comments");
    }
}

#[test]
fn the_secret_scan_finds_a_whole_secret_and_a_single_line_of_a_key() {
    let key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkgFm6Mz2mQ9RkL1wqkVd3rV3n0aUu7mH9d2a1kR1oAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n";
    let token = "abcdef.0123456789abcdef".to_owned();
    let secrets = vec![key.to_owned(), token.clone()];
    let leaks_to_find = [
        format!("token: {token}"),
        "ok\nMHcCAQEEIBkgFm6Mz2mQ9RkL1wqkVd3rV3n0aUu7mH9d2a1kR1oAoGCCqGSM49\nok".to_owned(),
        "PRIVATE KEY".to_owned(),
    ];
    for leak in leaks_to_find {
        assert_eq!(leaks(&[("a comment", leak.clone())], &secrets).len(), 1, "the scan finds {leak:?} once");
    }
    // The short last line of the key alone is no finding (16 characters or
    // fewer match too much ordinary text to be a signal).
    assert_eq!(leaks(&[("a comment", "AwEHoUQDQgAE and a plan".to_owned())], &secrets), Vec::<String>::new());
}

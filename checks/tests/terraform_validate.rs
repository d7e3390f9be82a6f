//! Test 8: the real Terraform (TF_ACC_TERRAFORM, 1.0.3 under scripts/test)
//! validates our modules against the providers built from this workspace.
//!
//! The provider binaries are built with `cargo build -p homelab-provider
//! --bins` and served from a throwaway filesystem mirror
//! (`terraform.local/homelab/TYPE/VERSION/linux_amd64/terraform-provider-TYPE_vVERSION`,
//! as provider/tests/support does), with a CLI configuration that knows no
//! registry. A module whose providers all come from that mirror
//! (terraform/modules/kubernetes) gets `init -backend=false` + `validate`;
//! the others need bpg/proxmox or hashicorp/helm from the registry, which is
//! not reachable here, and keep the offline checks of modules.rs,
//! template.rs and terraform_fmt.rs.
//!
//! `validate` leaves a module's input variables unknown, so the provider's
//! own value checks (node entries, taints, labels, instance ids) never see
//! a value there. The second test therefore plans the kubernetes module from
//! a small root that passes the node map the way terraform/main.tf does.
//!
//! Skipped locally without TF_ACC_TERRAFORM; required under CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use repo_checks::{hcl_blocks, in_ci, read, repo_root, require_tool, run, terraform_command};

/// The provider version the mirror serves (the workspace version).
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where our providers come from.
const LOCAL_SOURCE: &str = "terraform.local/homelab/";

/// Builds the provider binaries of this workspace and returns (type, path).
fn build_providers() -> Vec<(String, PathBuf)> {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(repo_root()).args([
        "build",
        "-p",
        "homelab-provider",
        "--bins",
        "--message-format=json-render-diagnostics",
    ]);
    if in_ci() {
        command.arg("--locked");
    }
    let (ok, stdout, stderr) = run(&mut command);
    assert!(ok, "cargo build -p homelab-provider --bins failed:\n{stderr}");
    let mut found = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let (Some(name), Some(executable)) = (message["target"]["name"].as_str(), message["executable"].as_str())
        else {
            continue;
        };
        if let Some(kind) = name.strip_prefix("terraform-provider-") {
            found.push((kind.to_string(), PathBuf::from(executable)));
        }
    }
    found.sort();
    let kinds: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["cloudinit", "kubeadm"], "cargo build reported these provider binaries: {found:?}");
    found
}

/// A filesystem mirror with both providers and a CLI configuration that
/// installs only from it, built once per test process.
struct Mirror {
    dir: tempfile::TempDir,
}

impl Mirror {
    fn cli_config(&self) -> PathBuf {
        self.dir.path().join("cli.tfrc")
    }
}

fn mirror() -> &'static Mirror {
    static MIRROR: OnceLock<Mirror> = OnceLock::new();
    MIRROR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("mirror dir");
        let root = dir.path().join("mirror");
        for (kind, binary) in build_providers() {
            let target = root.join(format!("terraform.local/homelab/{kind}/{VERSION}/linux_amd64"));
            std::fs::create_dir_all(&target).expect("mirror layout");
            std::fs::copy(&binary, target.join(format!("terraform-provider-{kind}_v{VERSION}")))
                .unwrap_or_else(|err| panic!("copy {}: {err}", binary.display()));
        }
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"terraform.local/*/*\"]\n  }}\n}}\n",
                root.display()
            ),
        )
        .expect("cli config");
        Mirror { dir }
    })
}

/// Copies a directory tree (no `.terraform`, no lock file).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let name = entry.file_name();
        if name == ".terraform" || name == ".terraform.lock.hcl" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy file");
        }
    }
}

/// `source` of every provider in a module's required_providers.
fn provider_sources(dir: &str) -> Vec<String> {
    let blocks = hcl_blocks(&read(&format!("{dir}/terraform.tf")));
    let terraform = blocks.iter().find(|b| b.kind == "terraform").expect("terraform block");
    let providers =
        terraform.blocks().into_iter().find(|b| b.kind == "required_providers").expect("required_providers");
    providers
        .attributes()
        .iter()
        .map(|name| {
            let spec = providers.attribute(name).unwrap_or_default();
            spec.split("source").nth(1).and_then(|rest| rest.split('"').nth(1)).unwrap_or_default().to_string()
        })
        .collect()
}

fn module_dirs() -> Vec<String> {
    let mut dirs = vec!["terraform".to_string()];
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("terraform/modules"))
        .expect("terraform/modules")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    dirs.extend(names.into_iter().map(|n| format!("terraform/modules/{n}")));
    dirs
}

/// Runs terraform and panics with its output unless it succeeds.
fn terraform_ok(terraform: &Path, dir: &Path, args: &[&str]) -> String {
    let mut command = terraform_command(terraform, dir, &mirror().cli_config());
    // The kubeadm provider's validation wants a key or an agent; a socket
    // path is enough (nothing connects during validate).
    command.env("SSH_AUTH_SOCK", dir.join("no-agent.sock")).args(args);
    let (ok, stdout, stderr) = run(&mut command);
    assert!(ok, "terraform {args:?} in {} failed:\n{stdout}\n{stderr}", dir.display());
    stdout
}

#[test]
fn modules_with_our_providers_pass_real_terraform_validate() {
    let Some(terraform) = require_tool("terraform (validate)", "TF_ACC_TERRAFORM", None) else { return };
    let mut validated = Vec::new();
    let mut registry_only = Vec::new();
    for dir in module_dirs() {
        let sources = provider_sources(&dir);
        assert!(!sources.is_empty(), "{dir}: no required_providers found");
        let foreign: Vec<&String> = sources.iter().filter(|s| !s.starts_with(LOCAL_SOURCE)).collect();
        if !foreign.is_empty() {
            eprintln!("{dir}: not initialised (needs {foreign:?} from the registry); offline checks only");
            registry_only.push(dir);
            continue;
        }
        let work = tempfile::tempdir().expect("work dir");
        copy_tree(&repo_root().join(&dir), work.path());
        terraform_ok(&terraform, work.path(), &["init", "-backend=false", "-input=false", "-no-color"]);
        let out = terraform_ok(&terraform, work.path(), &["validate", "-no-color"]);
        assert!(out.contains("Success!"), "{dir}: terraform validate said:\n{out}");
        validated.push(dir);
    }
    assert!(
        validated.iter().any(|d| d == "terraform/modules/kubernetes"),
        "terraform/modules/kubernetes uses only our providers and must be validated (validated: {validated:?}, registry-only: {registry_only:?})"
    );
}

/// A root that calls the kubernetes module the way terraform/main.tf does:
/// the node map with labels and taints (null = kubeadm's default), instance
/// ids per node, the real templates/user-data.yaml.tftpl. Loopback
/// addresses: the plan's SSH probe of the init node fails fast.
const CALLER: &str = r#"
terraform {
  required_providers {
    cloudinit = {
      source  = "terraform.local/homelab/cloudinit"
      version = "VERSION"
    }
    kubeadm = {
      source  = "terraform.local/homelab/kubeadm"
      version = "VERSION"
    }
  }
}

locals {
  nodes = {
    "pve-vm-cp-1" = { role = "control-plane", address = "127.0.1.1", labels = {}, taints = null }
    "pve-vm-cp-2" = { role = "control-plane", address = "127.0.1.2", labels = {}, taints = null }
    "pve-vm-cp-3" = { role = "control-plane", address = "127.0.1.3", labels = {}, taints = [] }
    "pve-vm-wk-1" = { role = "worker", address = "127.0.1.11", labels = { "node-role.kubernetes.io/worker" = "" }, taints = null }
    "pve-vm-wk-2" = {
      role    = "worker"
      address = "127.0.1.12"
      labels  = { "topology.kubernetes.io/zone" = "pi-node-2" }
      taints  = [{ key = "dedicated", value = "storage", effect = "NoSchedule" }, { key = "gpu", value = null, effect = "PreferNoSchedule" }]
    }
  }
}

module "kubernetes" {
  source = "./kubernetes"

  cluster_name       = "homelab"
  kubernetes_version = "1.35.2"
  nodes              = local.nodes
  instance_ids       = { for name in keys(local.nodes) : name => sha256("vm-${name}") }
  user_data_base = {
    for name, node in local.nodes : name => templatefile("${path.module}/templates/user-data.yaml.tftpl", {
      cluster_name    = "homelab"
      node_role       = node.role
      ntp_servers     = ["0.debian.pool.ntp.org"]
      extra_packages  = ["open-iscsi"]
      package_upgrade = false
    })
  }
  etc_hosts           = { for name, node in local.nodes : node.address => [name] }
  ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnlyReplaceMeWithYourAtlantisKey0000 atlantis@homelab"]
  api_vip             = "127.0.1.100"
  kube_vip_image      = "ghcr.io/kube-vip/kube-vip:v1.0.0"
  pod_subnet          = "10.244.0.0/16"
  service_subnet      = "10.96.0.0/12"
  skip_kube_proxy     = true
}
"#;

#[test]
fn kubernetes_module_plans_the_node_map_the_root_passes() {
    let Some(terraform) = require_tool("terraform (plan)", "TF_ACC_TERRAFORM", None) else { return };
    let work = tempfile::tempdir().expect("work dir");
    copy_tree(&repo_root().join("terraform/modules/kubernetes"), &work.path().join("kubernetes"));
    copy_tree(&repo_root().join("templates"), &work.path().join("templates"));
    std::fs::write(work.path().join("main.tf"), CALLER.replace("VERSION", VERSION)).expect("main.tf");
    terraform_ok(&terraform, work.path(), &["init", "-input=false", "-no-color"]);
    terraform_ok(&terraform, work.path(), &["plan", "-input=false", "-no-color", "-out=tfplan"]);
    let json = terraform_ok(&terraform, work.path(), &["show", "-json", "tfplan"]);
    let plan: serde_json::Value = serde_json::from_str(&json).expect("plan json");
    let changes = plan["resource_changes"].as_array().expect("resource_changes");
    let cluster = changes
        .iter()
        .find(|c| c["address"] == "module.kubernetes.kubeadm_cluster.this")
        .expect("kubeadm_cluster in the plan");
    assert_eq!(cluster["change"]["actions"], serde_json::json!(["create"]));
    let after = &cluster["change"]["after"];
    let unknown = &cluster["change"]["after_unknown"];
    let sensitive = &cluster["change"]["after_sensitive"];

    // Credentials known at plan time (the helm provider is configured from
    // them); the secret ones sensitive.
    assert_eq!(after["host"], "https://127.0.1.100:6443");
    for name in ["cluster_ca_certificate", "client_certificate", "client_key", "kubeconfig"] {
        assert!(after[name].is_string(), "{name} must be known at plan time");
        assert!(unknown[name].is_null() || unknown[name] == false, "{name} must not be unknown");
    }
    for name in ["client_key", "kubeconfig"] {
        assert_eq!(sensitive[name], true, "{name} must be sensitive");
    }
    assert_eq!(after["skip_kube_proxy"], true);
    assert!(
        after["api_server_cert_sans"].as_array().is_some_and(|s| s.iter().any(|v| v == "127.0.1.100")),
        "the VIP is in the API server certificate"
    );

    // The node map reaches the provider as given: instance ids known,
    // taints as {key, value, effect}, null taints left to kubeadm.
    let nodes = after["nodes"].as_object().expect("nodes known at plan time");
    assert_eq!(nodes.len(), 5);
    for (name, node) in nodes {
        assert_eq!(node["instance_id"].as_str().map(str::len), Some(64), "{name}: instance_id known at plan time");
    }
    assert!(nodes["pve-vm-cp-1"]["taints"].is_null(), "null taints keep kubeadm's control-plane taint");
    assert_eq!(nodes["pve-vm-cp-3"]["taints"], serde_json::json!([]));
    assert_eq!(
        nodes["pve-vm-wk-2"]["taints"],
        serde_json::json!([
            { "key": "dedicated", "value": "storage", "effect": "NoSchedule" },
            { "key": "gpu", "value": null, "effect": "PreferNoSchedule" }
        ])
    );
    assert_eq!(nodes["pve-vm-wk-1"]["labels"]["node-role.kubernetes.io/worker"], "");

    // Every node's user-data is rendered in the plan, from the real template.
    let rendered: Vec<&serde_json::Value> =
        changes.iter().filter(|c| c["type"] == "cloudinit_config").map(|c| &c["change"]["after"]["rendered"]).collect();
    assert_eq!(rendered.len(), 5);
    for document in rendered {
        let text = document.as_str().expect("user-data rendered at plan time");
        assert!(text.starts_with("#cloud-config") && text.contains("open-iscsi"), "user-data:\n{text}");
    }
}

//! Acceptance tests: the real `terraform` CLI drives `cloudinit_config`
//! through init (from a filesystem mirror), plan, apply, a second plan that
//! must be empty, import, validation failures and destroy.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{KEY_A, KEY_B, KeyServer, Workspace, cloud_init_schema, cloudinit_required_providers, text};

fn config(server: &KeyServer, hostname: &str) -> String {
    format!(
        r#"{providers}
provider "cloudinit" {{
  github_base_url = "{base}"
}}

resource "cloudinit_config" "minimal" {{
  hostname           = "pve-vm-wk-1"
  kubernetes_version = "1.35"

  user {{
    ssh_authorized_keys = ["{key_a}"]
  }}
}}

resource "cloudinit_config" "full" {{
  hostname           = "{hostname}"
  fqdn               = "{hostname}.lab.internal"
  timezone           = "Europe/Berlin"
  locale             = "en_US.UTF-8"
  kubernetes_version = "1.35.2"
  kernel_modules     = ["ip_vs"]
  sysctls            = {{ "vm.max_map_count" = "262144" }}
  packages           = ["qemu-guest-agent"]
  runcmd             = ["systemctl enable --now qemu-guest-agent"]

  hosts = {{
    "192.168.100.201" = ["pve-vm-cp-1"]
    "192.168.100.211" = ["pve-vm-wk-1"]
  }}

  user {{
    ssh_authorized_keys  = ["{key_b}"]
    ssh_keys_from_github = ["octocat"]
  }}

  container_runtime {{
    cni_bin_dir = "/opt/cni/bin"
  }}

  write_files = [{{
    path        = "/etc/motd"
    content     = "managed by terraform\n"
    permissions = "0644"
  }}]

  base = <<-EOT
    #cloud-config
    package_upgrade: true
    ntp:
      enabled: true
      servers: [192.168.100.1]
  EOT
}}

resource "cloudinit_config" "encoded" {{
  hostname           = "pve-vm-cp-2"
  kubernetes_version = "1.35"
  gzip               = true
  base64_encode      = true

  user {{
    ssh_authorized_keys = ["{key_a}"]
  }}
}}

output "full_rendered" {{
  value = cloudinit_config.full.rendered
}}

output "full_sha256" {{
  value = cloudinit_config.full.sha256
}}

output "minimal_rendered" {{
  value = cloudinit_config.minimal.rendered
}}

output "encoded_rendered" {{
  value = cloudinit_config.encoded.rendered
}}
"#,
        providers = cloudinit_required_providers(),
        base = server.base_url,
        key_a = KEY_A,
        key_b = KEY_B,
    )
}

/// One valid node, for tests about the plugin rather than the rendering.
fn single_node_config() -> String {
    format!(
        "{}\nresource \"cloudinit_config\" \"n\" {{\n  hostname = \"n1\"\n  kubernetes_version = \"1.35\"\n  user {{\n    ssh_authorized_keys = [\"{KEY_A}\"]\n  }}\n}}\n",
        cloudinit_required_providers()
    )
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every resource change of a saved plan (`plan -out` + `show -json`), by
/// address: asserting on the JSON, not the CLI's column-aligned text.
fn planned_changes(ws: &Workspace) -> Vec<(String, serde_json::Value)> {
    ws.ok(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    let plan: serde_json::Value = serde_json::from_str(&ws.ok(&["show", "-json", "tfplan"])).expect("plan json");
    let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    changes.into_iter().map(|c| (c["address"].as_str().unwrap_or_default().to_owned(), c["change"].clone())).collect()
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn lifecycle_init_apply_noop_plan_replace_destroy() {
    let server = KeyServer::start();
    server.respond("/octocat.keys", 200, &format!("{KEY_A}\n"));
    let ws = Workspace::new(&config(&server, "pve-vm-cp-1"));
    ws.init();
    assert!(ws.read(".terraform.lock.hcl").contains("terraform.local/homelab/cloudinit"));

    // The plan already holds the rendered document: everything is known.
    let changes = planned_changes(&ws);
    assert_eq!(changes.len(), 3, "{changes:#?}");
    for (address, change) in &changes {
        assert_eq!(change["actions"], serde_json::json!(["create"]), "{address}");
        // after_unknown lists only what is unknown.
        assert!(change["after_unknown"].get("rendered").is_none(), "{address}: rendered at plan time");
        let rendered = change["after"]["rendered"].as_str().unwrap_or_default();
        assert!(!rendered.is_empty() && change["after"]["sha256"].is_string(), "{address}: {change:#}");
    }

    ws.ok(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let rendered = ws.output_json("full_rendered");
    let rendered = rendered.as_str().expect("rendered string");
    assert!(rendered.starts_with("#cloud-config\n"), "{rendered}");
    assert!(rendered.contains(KEY_A) && rendered.contains(KEY_B), "both key sources land in user-data");
    assert!(rendered.contains("pkgs.k8s.io/core:/stable:/v1.35/deb/"), "{rendered}");
    assert!(rendered.contains("package_upgrade: true"), "base merged:\n{rendered}");
    assert_eq!(ws.output_json("full_sha256").as_str(), Some(sha256_hex(rendered.as_bytes()).as_str()));
    for name in ["full_rendered", "minimal_rendered"] {
        let doc = ws.output_json(name);
        let (valid, output) = cloud_init_schema(doc.as_str().expect("string"));
        assert!(valid, "cloud-init schema rejected {name}:\n{output}");
    }
    let encoded = ws.output_json("encoded_rendered");
    assert!(!encoded.as_str().expect("string").contains("cloud-config"), "gzip+base64 output is encoded");

    // A second plan right after apply must be empty.
    let again = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(again.status.code(), Some(0), "second plan not empty:\n{}", text(&again));

    // GitHub changing keys does not change the plan: they are pinned in state.
    server.respond("/octocat.keys", 200, &format!("{KEY_B}\n"));
    let pinned = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    assert_eq!(pinned.status.code(), Some(0), "pinned keys drifted:\n{}", text(&pinned));

    // Changing one input shows exactly that resource being replaced.
    ws.write("main.tf", &config(&server, "pve-vm-cp-9"));
    let changes = planned_changes(&ws);
    let replaced: Vec<&(String, serde_json::Value)> =
        changes.iter().filter(|(_, c)| c["actions"] != serde_json::json!(["no-op"])).collect();
    assert_eq!(replaced.len(), 1, "{changes:#?}");
    let (address, change) = replaced[0];
    assert_eq!(change["actions"], serde_json::json!(["delete", "create"]), "{address} is replaced");
    let paths = change["replace_paths"].as_array().cloned().unwrap_or_default();
    assert!(paths.contains(&serde_json::json!(["hostname"])), "{address}: the hostname forces it: {paths:?}");

    ws.ok(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
    let state = ws.state_json();
    assert!(state.get("values").is_none(), "state not empty after destroy: {state}");
}

fn expect_validate_error(resource_body: &str, expected: &[&str]) {
    let main_tf =
        format!("{}\nresource \"cloudinit_config\" \"bad\" {{\n{resource_body}\n}}\n", cloudinit_required_providers());
    let ws = Workspace::new(&main_tf);
    ws.init();
    let output = ws.run(&["validate", "-no-color"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "validate should fail:\n{out}");
    for needle in expected {
        assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
    }
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn validate_unknown_timezone_points_at_the_attribute() {
    expect_validate_error(
        "  hostname = \"n1\"\n  kubernetes_version = \"1.35\"\n  timezone = \"Mars/Olympus\"",
        &["Mars/Olympus", "timezone = \"Mars/Olympus\""],
    );
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn validate_bad_version_string() {
    expect_validate_error(
        "  hostname = \"n1\"\n  kubernetes_version = \"v1.35.x\"",
        &["kubernetes_version = \"v1.35.x\""],
    );
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn validate_kubernetes_1_36_on_debian_containerd_names_the_source() {
    expect_validate_error(
        "  hostname = \"n1\"\n  kubernetes_version = \"1.36\"\n  container_runtime {\n    source = \"debian\"\n  }\n  user {\n    ssh_authorized_keys = [\"KEY\"]\n  }"
            .replace("KEY", KEY_A)
            .as_str(),
        &["does not support containerd 1.x", "source = \"docker\"", "source = \"debian\""],
    );
}

/// Docker's containerd 2.x: the plan renders (no error for 1.36) and the
/// document installs containerd.io with a version 3 config.
#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn docker_containerd_renders_for_kubernetes_1_36() {
    let main_tf = format!(
        "{}\nresource \"cloudinit_config\" \"n\" {{\n  hostname = \"n1\"\n  kubernetes_version = \"1.36.3\"\n  container_runtime {{\n    source = \"docker\"\n  }}\n  user {{\n    ssh_authorized_keys = [\"{KEY_A}\"]\n  }}\n}}\noutput \"rendered\" {{\n  value = cloudinit_config.n.rendered\n}}\n",
        cloudinit_required_providers()
    );
    let ws = Workspace::new(&main_tf);
    ws.init();
    ws.ok(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    let rendered = ws.output_json("rendered");
    let rendered = rendered.as_str().expect("rendered string");
    assert!(rendered.contains("apt-get install -y -o Dpkg::Options::=--force-confdef"), "{rendered}");
    assert!(rendered.contains("download.docker.com/linux/debian trixie stable"), "{rendered}");
    assert!(rendered.contains("version = 3"), "{rendered}");
    let (valid, output) = cloud_init_schema(rendered);
    assert!(valid, "cloud-init schema rejected the document:\n{output}");
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn validate_base_without_header() {
    expect_validate_error(
        "  hostname = \"n1\"\n  kubernetes_version = \"1.35\"\n  base = \"packages: [htop]\\n\"",
        &["#cloud-config", "base = "],
    );
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn validate_invalid_ssh_key() {
    expect_validate_error(
        "  hostname = \"n1\"\n  kubernetes_version = \"1.35\"\n  user {\n    ssh_authorized_keys = [\"ssh-ed25519 notbase64!!\"]\n  }",
        &["ssh_authorized_keys"],
    );
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn failed_github_fetch_is_a_plan_error_naming_the_url() {
    let server = KeyServer::start();
    let main_tf = format!(
        "{}\nprovider \"cloudinit\" {{\n  github_base_url = \"{}\"\n}}\nresource \"cloudinit_config\" \"n\" {{\n  hostname = \"n1\"\n  kubernetes_version = \"1.35\"\n  user {{\n    ssh_keys_from_github = [\"ghost\"]\n  }}\n}}\n",
        cloudinit_required_providers(),
        server.base_url
    );
    let ws = Workspace::new(&main_tf);
    ws.init();
    let output = ws.run(&["plan", "-no-color", "-input=false"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("{}/ghost.keys", server.base_url)), "{out}");
    assert!(out.contains("404"), "{out}");
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn import_explains_why_it_is_not_needed() {
    let ws = Workspace::new(&single_node_config());
    ws.init();
    let output = ws.run(&["import", "-no-color", "-input=false", "cloudinit_config.n", "anything"]);
    let out = text(&output);
    assert_ne!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("cannot be imported"), "{out}");
    assert!(out.contains("terraform apply"), "the message says what to do instead:\n{out}");
}

#[ignore = "needs TF_ACC_TERRAFORM (a terraform or tofu CLI) and the cloud-init chroot; scripts/test runs it"]
#[test]
fn provider_logs_reach_terraform_under_its_name_and_exit_cleanly() {
    let ws = Workspace::new(&single_node_config());
    ws.init();
    let started = std::time::Instant::now();
    let output = ws.run_with_env(&["apply", "-auto-approve", "-no-color", "-input=false"], &[("TF_LOG", "trace")]);
    let elapsed = started.elapsed();
    let logs = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{}", text(&output));
    // go-plugin re-emits parsed hclog lines under the plugin's name; a line
    // it could not parse would appear raw, with our JSON keys in it.
    assert!(logs.contains("provider.terraform-provider-cloudinit"), "no provider log lines:\n{logs}");
    assert!(logs.contains("rpc started"), "no per-RPC span logs");
    // tfplugin6.10 clients ask for identity schemas; we answer with none.
    let cli = support::Cli::detect(&ws.terraform);
    assert_eq!(
        logs.contains("rpc=GetResourceIdentitySchemas"),
        cli.calls_identity_rpcs(),
        "{cli:?}: GetResourceIdentitySchemas called iff the CLI is 1.12+"
    );
    assert!(!logs.contains("\"@timestamp\""), "a provider log line was not parsed by the host");
    // Without GRPCController.Shutdown Terraform waits and then kills us.
    assert!(!logs.contains("plugin failed to exit gracefully"), "plugin was killed");
    assert!(elapsed.as_secs() < 20, "apply took {elapsed:?}");
}

//! Test 3: `templates/user-data.yaml.tftpl` rendered by the real
//! `templatefile()` (a throwaway configuration with only outputs, no
//! providers) and validated with the real `cloud-init schema`.
//! Needs TF_ACC_TERRAFORM and `cloud-init` (skipped locally without them,
//! required under CI).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use repo_checks::{read, repo_root, require_tool, run, target_cloud_init_schema, terraform_command};
use yaml_rust2::{Yaml, YamlLoader};

/// Sample variable sets: the blueprint's control plane and worker, and a
/// node with extra packages (Longhorn's open-iscsi).
const SAMPLES: &[(&str, &str)] = &[
    (
        "control_plane",
        r#"{ cluster_name = "homelab", node_role = "control-plane", ntp_servers = ["0.debian.pool.ntp.org", "1.debian.pool.ntp.org"], extra_packages = [], package_upgrade = false }"#,
    ),
    (
        "worker_longhorn",
        r#"{ cluster_name = "homelab", node_role = "worker", ntp_servers = ["192.168.100.1"], extra_packages = ["open-iscsi", "nfs-common"], package_upgrade = true }"#,
    ),
];

/// Keys cloudinit_config owns (a different value in `base` is a plan error)
/// or generates itself (the login user).
const OWNED_KEYS: &[&str] =
    &["hostname", "fqdn", "timezone", "locale", "manage_etc_hosts", "users", "user", "ssh_pwauth"];

fn render_all(terraform: &Path) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let template = repo_root().join("templates/user-data.yaml.tftpl");
    let mut config = String::new();
    for (name, vars) in SAMPLES {
        config.push_str(&format!(
            "output \"{name}\" {{\n  value = templatefile({:?}, {vars})\n}}\n\n",
            template.display().to_string()
        ));
    }
    std::fs::write(dir.path().join("main.tf"), config).expect("write main.tf");
    let cli_config = dir.path().join("cli.tfrc");
    std::fs::write(&cli_config, "").expect("write cli config");

    for args in
        [&["init", "-input=false", "-no-color"][..], &["apply", "-auto-approve", "-input=false", "-no-color"][..]]
    {
        let (ok, stdout, stderr) = run(terraform_command(terraform, dir.path(), &cli_config).args(args));
        assert!(ok, "terraform {args:?} failed:\n{stdout}\n{stderr}");
    }
    let (ok, stdout, stderr) =
        run(terraform_command(terraform, dir.path(), &cli_config).args(["output", "-json", "-no-color"]));
    assert!(ok, "terraform output failed: {stderr}");
    let outputs: serde_json::Value = serde_json::from_str(&stdout).expect("terraform output -json is JSON");
    SAMPLES
        .iter()
        .map(|(name, _)| {
            let text =
                outputs[name]["value"].as_str().unwrap_or_else(|| panic!("output {name} is a string")).to_string();
            ((*name).to_string(), text)
        })
        .collect()
}

#[ignore = "needs TF_ACC_TERRAFORM and the cloud-init chroot; scripts/test runs it"]
#[test]
fn template_renders_to_valid_cloud_config() {
    let terraform = require_tool("terraform (templatefile)", "TF_ACC_TERRAFORM", None);
    let rendered = render_all(&terraform);
    for (name, text) in rendered {
        assert!(text.starts_with("#cloud-config\n"), "{name}: the first line must be #cloud-config");
        let (ok, output) = target_cloud_init_schema(&text);
        assert!(
            ok && output.contains("Valid schema"),
            "{name}: cloud-init 25.1 schema rejected the rendered template:\n{output}\n---\n{text}"
        );

        let doc = YamlLoader::load_from_str(&text).expect("YAML").remove(0);
        for key in OWNED_KEYS {
            assert!(doc[*key].is_badvalue(), "{name}: `{key}` belongs to cloudinit_config, not the site template");
        }
        let packages: Vec<&str> =
            doc["packages"].as_vec().expect("packages list").iter().filter_map(Yaml::as_str).collect();
        assert!(
            packages.contains(&"qemu-guest-agent"),
            "{name}: the VMs enable the QEMU guest agent, so the template installs it"
        );
        if name == "worker_longhorn" {
            assert!(packages.contains(&"open-iscsi"), "extra_packages reach the document");
            assert_eq!(doc["package_upgrade"].as_bool(), Some(true));
        }
        let node = doc["write_files"][0]["content"].as_str().expect("node.json content");
        let node: serde_json::Value = serde_json::from_str(node).expect("node.json is JSON");
        assert_eq!(node["cluster"], "homelab");
    }
}

#[test]
fn template_variables_are_exactly_what_terraform_passes() {
    // Every ${var} the template uses is passed by terraform/main.tf and vice versa.
    let template = read("templates/user-data.yaml.tftpl");
    let main = read("terraform/main.tf");
    let call_start = main.find("templates/user-data.yaml.tftpl").expect("terraform/main.tf renders the template");
    let call = &main[call_start..];
    let call = &call[..call.find("})").expect("end of the templatefile() variables")];
    let passed: Vec<&str> = call
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once('=').map(|(k, _)| k.trim()))
        .filter(|k| !k.is_empty())
        .collect();
    assert!(!passed.is_empty());
    for name in &passed {
        assert!(template.contains(name), "terraform/main.tf passes `{name}`, which the template never uses");
    }
    // The samples rendered above pass exactly these variables, and
    // templatefile() fails on any variable the template uses but is not
    // given: together this proves main.tf passes everything it needs.
    for (name, vars) in SAMPLES {
        let mut keys: Vec<&str> = vars
            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
            .split(", ")
            .filter_map(|kv| kv.split_once(" = ").map(|(k, _)| k.trim()))
            .filter(|k| !k.starts_with('"') && !k.is_empty())
            .collect();
        keys.retain(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        let mut expected = passed.clone();
        expected.sort_unstable();
        keys.sort_unstable();
        assert_eq!(keys, expected, "sample {name} must pass exactly the variables terraform/main.tf passes");
    }
}

//! Test 7: HashiCorp's standard module structure. Every module (the root
//! `terraform/` and each `terraform/modules/<name>`) has the standard files;
//! variables live in variables.tf with a type and a description, outputs in
//! outputs.tf with a description; only the root configures providers and a
//! backend; state, plans and tfvars are git-ignored. Plus the lint config.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use repo_checks::{HclBlock, hcl_blocks, read, repo_root, string_literal, version_numbers};

fn module_dirs() -> Vec<String> {
    let mut dirs = vec!["terraform".to_string()];
    let modules = repo_root().join("terraform/modules");
    let mut names: Vec<String> = std::fs::read_dir(&modules)
        .expect("terraform/modules exists")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for required in ["vm", "kubernetes", "platform"] {
        assert!(names.iter().any(|n| n == required), "terraform/modules/{required} is missing");
    }
    dirs.extend(names.into_iter().map(|n| format!("terraform/modules/{n}")));
    dirs
}

fn tf_files(dir: &str) -> Vec<(String, Vec<HclBlock>)> {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join(dir))
        .expect("module dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tf"))
        .collect();
    files.sort();
    files.into_iter().map(|f| (f.clone(), hcl_blocks(&read(&format!("{dir}/{f}"))))).collect()
}

#[test]
fn every_module_has_the_standard_files() {
    for dir in module_dirs() {
        let mut required = vec!["terraform.tf", "main.tf", "variables.tf", "outputs.tf"];
        if dir == "terraform" {
            required.push("providers.tf");
        }
        for file in required {
            assert!(repo_root().join(&dir).join(file).is_file(), "{dir}/{file} is missing");
        }
    }
}

#[test]
fn every_variable_is_typed_and_described_and_in_variables_tf() {
    let mut count = 0;
    for dir in module_dirs() {
        for (file, blocks) in tf_files(&dir) {
            for block in blocks.iter().filter(|b| b.kind == "variable") {
                let name = block.labels.first().cloned().unwrap_or_default();
                assert_eq!(file, "variables.tf", "{dir}: variable {name} is declared in {file}, not variables.tf");
                let attributes = block.attributes();
                assert!(attributes.iter().any(|a| a == "type"), "{dir}: variable {name} has no type");
                let description = block.attribute("description").unwrap_or_default();
                assert!(description.len() > 2, "{dir}: variable {name} has no description");
                assert!(
                    name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{dir}: variable {name} is not snake_case"
                );
                count += 1;
            }
        }
    }
    assert!(count > 20, "found only {count} variables: is the scanner working?");
}

#[test]
fn every_output_is_described_and_in_outputs_tf() {
    for dir in module_dirs() {
        let mut outputs = 0;
        for (file, blocks) in tf_files(&dir) {
            for block in blocks.iter().filter(|b| b.kind == "output") {
                let name = block.labels.first().cloned().unwrap_or_default();
                assert_eq!(file, "outputs.tf", "{dir}: output {name} is declared in {file}");
                assert!(
                    block.attribute("description").is_some_and(|d| d.len() > 2),
                    "{dir}: output {name} has no description"
                );
                outputs += 1;
            }
        }
        assert!(outputs > 0, "{dir} has no outputs");
    }
}

#[test]
fn secrets_are_marked_sensitive() {
    for dir in module_dirs() {
        for (_, blocks) in tf_files(&dir) {
            for block in &blocks {
                let name = block.labels.first().cloned().unwrap_or_default();
                let secret = name.contains("private_key") || name == "kubeconfig" || name == "client_key";
                if secret && (block.kind == "variable" || block.kind == "output") {
                    assert_eq!(
                        block.attribute("sensitive").as_deref(),
                        Some("true"),
                        "{dir}: {} {name} must be sensitive",
                        block.kind
                    );
                }
            }
        }
    }
}

#[test]
fn only_the_root_configures_providers_and_the_backend() {
    for dir in module_dirs() {
        let root = dir == "terraform";
        for (file, blocks) in tf_files(&dir) {
            for block in &blocks {
                if block.kind == "provider" {
                    assert!(root, "{dir}/{file}: modules must not configure providers");
                    assert_eq!(file, "providers.tf", "{dir}: provider blocks belong in providers.tf");
                }
                if block.kind == "terraform" {
                    assert_eq!(file, "terraform.tf", "{dir}: the terraform block belongs in terraform.tf");
                    let inner = block.blocks();
                    let backend = inner.iter().find(|b| b.kind == "backend");
                    if root {
                        let backend = backend.expect("the root module configures a backend");
                        assert_eq!(
                            backend.labels,
                            ["pg"],
                            "state lives in PostgreSQL (pg backend, conn_str from PG_CONN_STR)"
                        );
                        assert!(
                            backend.attribute("conn_str").is_none(),
                            "the connection string comes from PG_CONN_STR, never from git"
                        );
                    } else {
                        assert!(backend.is_none(), "{dir}: modules have no backend");
                    }
                    let providers = inner.iter().find(|b| b.kind == "required_providers").expect("required_providers");
                    for name in providers.attributes() {
                        let spec = providers.attribute(&name).unwrap_or_default();
                        assert!(
                            spec.contains("source") && spec.contains("version"),
                            "{dir}: provider {name} needs source and version"
                        );
                    }
                    assert!(block.attribute("required_version").is_some(), "{dir}: required_version");
                }
            }
        }
    }
}

#[test]
fn our_providers_come_from_terraform_local() {
    let tf = read("terraform/terraform.tf");
    let blocks = hcl_blocks(&tf);
    let providers =
        blocks[0].blocks().into_iter().find(|b| b.kind == "required_providers").expect("required_providers");
    for (name, source) in
        [("cloudinit", "terraform.local/homelab/cloudinit"), ("kubeadm", "terraform.local/homelab/kubeadm")]
    {
        let spec = providers.attribute(name).unwrap_or_else(|| panic!("{name} is required"));
        assert!(spec.contains(&format!("\"{source}\"")), "{name} comes from {source}");
        assert!(spec.contains("version = \"0.1.0\""), "{name} is pinned to 0.1.0");
    }
    let helm = providers.attribute("helm").expect("helm");
    assert!(helm.contains("~> 3."), "helm provider 3.x (kubernetes = {{...}} attribute syntax)");
    let providers_tf = read("terraform/providers.tf");
    assert!(
        providers_tf.contains("kubernetes = {"),
        "helm 3.x configures the cluster with the `kubernetes = {{ }}` attribute"
    );
    assert!(!providers_tf.contains("config_path"), "never a kubeconfig file: Atlantis checks out fresh for every PR");
}

#[test]
fn state_plans_and_tfvars_are_ignored_but_the_example_is_kept() {
    let ignore = read("terraform/.gitignore");
    let lines: Vec<&str> = ignore.lines().map(str::trim).collect();
    for pattern in [".terraform/", "*.tfstate", "*.tfstate.*", "*.tfplan", "*.tfvars", "!terraform.tfvars.example"] {
        assert!(lines.contains(&pattern), "terraform/.gitignore must contain {pattern}");
    }
    let example = read("terraform/terraform.tfvars.example");
    for secret in ["PRIVATE KEY", "password", "PROXMOX_VE_API_TOKEN=", "postgres://"] {
        assert!(!example.contains(secret), "terraform.tfvars.example must hold no secrets ({secret})");
    }
    // Every variable the example sets exists in the root module.
    let variables: Vec<String> = hcl_blocks(&read("terraform/variables.tf"))
        .into_iter()
        .filter(|b| b.kind == "variable")
        .filter_map(|b| b.labels.first().cloned())
        .collect();
    for line in example.lines().filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" = ")) {
        let name = line.split(" = ").next().unwrap_or_default().trim();
        assert!(variables.iter().any(|v| v == name), "terraform.tfvars.example sets unknown variable {name}");
    }
}

#[test]
fn tflint_config_sets_the_preset_and_lints_modules() {
    let config = hcl_blocks(&read(".tflint.hcl"));
    let plugin = config.iter().find(|b| b.kind == "plugin" && b.labels == ["terraform"]).expect("plugin \"terraform\"");
    assert_eq!(plugin.attribute("preset").and_then(|p| string_literal(&p)).as_deref(), Some("recommended"));
    assert_eq!(plugin.attribute("enabled").as_deref(), Some("true"));
    let settings = config.iter().find(|b| b.kind == "config").expect("config block");
    let call = settings.attribute("call_module_type").and_then(|p| string_literal(&p)).expect("call_module_type");
    assert!(call == "local" || call == "all", "call_module_type must lint module calls");
    for rule in [
        "terraform_naming_convention",
        "terraform_documented_variables",
        "terraform_documented_outputs",
        "terraform_typed_variables",
        "terraform_standard_module_structure",
    ] {
        let block =
            config.iter().find(|b| b.kind == "rule" && b.labels == [rule]).unwrap_or_else(|| panic!("rule {rule}"));
        assert_eq!(block.attribute("enabled").as_deref(), Some("true"), "{rule} enabled");
    }
}

#[test]
fn required_version_is_a_floor_of_at_least_the_providers_floor() {
    // Our providers support Terraform >= 1.5 and OpenTofu >= 1.6; a module
    // may need more (the root: cross-variable validation), never less.
    for dir in module_dirs() {
        let blocks = hcl_blocks(&read(&format!("{dir}/terraform.tf")));
        let terraform = blocks.iter().find(|b| b.kind == "terraform").expect("terraform block");
        let version =
            terraform.attribute("required_version").and_then(|v| string_literal(&v)).expect("required_version string");
        let floor = version
            .strip_prefix(">= ")
            .unwrap_or_else(|| panic!("{dir}: required_version must be `>= X.Y.Z`, found {version}"));
        assert!(version_numbers(floor) >= vec![1, 5, 0], "{dir}: {version} is below the providers' floor 1.5.0");
    }
}

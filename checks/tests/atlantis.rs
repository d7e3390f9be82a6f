//! Test 2: `atlantis.yaml` against the documented repo config v3 keys and
//! types (Atlantis rejects unknown keys), project dirs and `when_modified`
//! patterns against the files in the repository, the restricted keys
//! against the server-side `atlantis/repos.yaml`, and the workflow's tools
//! against the image recipe `atlantis/Dockerfile`.
//!
//! Keys follow Atlantis' `server/core/config/raw` (RepoCfg, Project,
//! Autoplan, Workflow, Step; GlobalCfg/Repo for repos.yaml).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use repo_checks::{glob_match, normalize_join, read, repo_root, walk_files};
use yaml_rust2::{Yaml, YamlLoader};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Int,
    Bool,
    Str,
    StrList,
    /// Any mapping (not checked further here: policies, autodiscover, repo_locks).
    AnyMap,
    Projects,
    Autoplan,
    Workflows,
    Requirements,
}

const TOP_LEVEL: &[(&str, Kind)] = &[
    ("version", Kind::Int),
    ("projects", Kind::Projects),
    ("workflows", Kind::Workflows),
    ("policies", Kind::AnyMap),
    ("autodiscover", Kind::AnyMap),
    ("automerge", Kind::Bool),
    ("parallel_apply", Kind::Bool),
    ("parallel_plan", Kind::Bool),
    ("delete_source_branch_on_merge", Kind::Bool),
    ("emoji_reaction", Kind::Str),
    ("allowed_regexp_prefixes", Kind::StrList),
    ("abort_on_execution_order_fail", Kind::Bool),
    ("repo_locks", Kind::AnyMap),
    ("silence_pr_comments", Kind::StrList),
];

const PROJECT: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("branch", Kind::Str),
    ("dir", Kind::Str),
    ("workspace", Kind::Str),
    ("workflow", Kind::Str),
    ("terraform_distribution", Kind::Str),
    ("terraform_version", Kind::Str),
    ("autoplan", Kind::Autoplan),
    ("plan_requirements", Kind::Requirements),
    ("apply_requirements", Kind::Requirements),
    ("import_requirements", Kind::Requirements),
    ("depends_on", Kind::StrList),
    ("delete_source_branch_on_merge", Kind::Bool),
    ("repo_locking", Kind::Bool),
    ("repo_locks", Kind::AnyMap),
    ("execution_order_group", Kind::Int),
    ("policy_check", Kind::Bool),
    ("custom_policy_check", Kind::Bool),
    ("silence_pr_comments", Kind::StrList),
];

const AUTOPLAN: &[(&str, Kind)] = &[("when_modified", Kind::StrList), ("enabled", Kind::Bool)];

const STAGES: &[&str] = &["plan", "apply", "policy_check", "import", "state_rm"];
const BUILTIN_STEPS: &[&str] = &["init", "plan", "apply", "show", "policy_check", "import", "state_rm"];
const REQUIREMENTS: &[&str] = &["approved", "mergeable", "undiverged"];

/// Project keys (and the top-level `workflows`) that a repo config may only
/// set when the server-side config allows it.
const RESTRICTED_PROJECT_KEYS: &[&str] = &[
    "apply_requirements",
    "plan_requirements",
    "import_requirements",
    "workflow",
    "delete_source_branch_on_merge",
    "repo_locking",
    "repo_locks",
    "policy_check",
    "custom_policy_check",
    "silence_pr_comments",
];

const SERVER_TOP_LEVEL: &[&str] = &["repos", "workflows", "policies", "metrics", "team_authz"];
const SERVER_REPO_KEYS: &[&str] = &[
    "id",
    "branch",
    "repo_config_file",
    "plan_requirements",
    "apply_requirements",
    "import_requirements",
    "workflow",
    "allowed_workflows",
    "allowed_overrides",
    "allow_custom_workflows",
    "pre_workflow_hooks",
    "post_workflow_hooks",
    "policy_check",
    "custom_policy_check",
    "autodiscover",
    "delete_source_branch_on_merge",
    "repo_locking",
    "repo_locks",
    "silence_pr_comments",
];

fn check_map(node: &Yaml, allowed: &[(&str, Kind)], path: &str, errors: &mut Vec<String>) {
    let Some(hash) = node.as_hash() else {
        errors.push(format!("{path}: expected a mapping"));
        return;
    };
    for (key, value) in hash {
        let Some(key) = key.as_str() else {
            errors.push(format!("{path}: non-string key {key:?}"));
            continue;
        };
        match allowed.iter().find(|(name, _)| *name == key) {
            Some((_, kind)) => check_kind(value, *kind, &format!("{path}.{key}"), errors),
            None => errors.push(format!("{path}: unknown key `{key}`")),
        }
    }
}

fn check_kind(node: &Yaml, kind: Kind, path: &str, errors: &mut Vec<String>) {
    let ok = match kind {
        Kind::Int => matches!(node, Yaml::Integer(_)),
        Kind::Bool => matches!(node, Yaml::Boolean(_)),
        // Atlantis decodes scalars into strings; versions like 1.14 would be floats in YAML.
        Kind::Str => matches!(node, Yaml::String(_)),
        Kind::StrList => node.as_vec().is_some_and(|items| items.iter().all(|i| matches!(i, Yaml::String(_)))),
        Kind::AnyMap => node.is_hash(),
        Kind::Requirements => {
            if let Some(items) = node.as_vec() {
                for item in items {
                    if !item.as_str().is_some_and(|r| REQUIREMENTS.contains(&r)) {
                        errors.push(format!("{path}: {item:?} is not one of {REQUIREMENTS:?}"));
                    }
                }
                true
            } else {
                false
            }
        }
        Kind::Projects => {
            if let Some(projects) = node.as_vec() {
                for (index, project) in projects.iter().enumerate() {
                    let here = format!("{path}[{index}]");
                    check_map(project, PROJECT, &here, errors);
                    if project["dir"].as_str().is_none_or(|d| d.is_empty() || d.contains("..")) {
                        errors.push(format!("{here}: `dir` is required, relative, without `..`"));
                    }
                }
                true
            } else {
                false
            }
        }
        Kind::Autoplan => {
            check_map(node, AUTOPLAN, path, errors);
            true
        }
        Kind::Workflows => {
            if let Some(workflows) = node.as_hash() {
                for (name, workflow) in workflows {
                    let here = format!("{path}.{}", name.as_str().unwrap_or("?"));
                    check_workflow(workflow, &here, errors);
                }
                true
            } else {
                false
            }
        }
    };
    if !ok {
        errors.push(format!("{path}: expected {kind:?}, found {node:?}"));
    }
}

fn check_workflow(node: &Yaml, path: &str, errors: &mut Vec<String>) {
    let Some(stages) = node.as_hash() else {
        errors.push(format!("{path}: a workflow is a mapping of stages"));
        return;
    };
    for (stage, body) in stages {
        let stage = stage.as_str().unwrap_or("?");
        let here = format!("{path}.{stage}");
        if !STAGES.contains(&stage) {
            errors.push(format!("{here}: unknown stage (allowed: {STAGES:?})"));
            continue;
        }
        if keys_of(body) != ["steps"] {
            errors.push(format!("{here}: a stage has exactly one key, `steps`"));
            continue;
        }
        let Some(steps) = body["steps"].as_vec() else {
            errors.push(format!("{here}.steps: expected a list"));
            continue;
        };
        for (index, step) in steps.iter().enumerate() {
            check_step(step, &format!("{here}.steps[{index}]"), errors);
        }
    }
}

fn check_step(step: &Yaml, path: &str, errors: &mut Vec<String>) {
    match step {
        Yaml::String(name) => {
            if !BUILTIN_STEPS.contains(&name.as_str()) {
                errors.push(format!("{path}: `{name}` is not a built-in step (maybe you omitted `run:`)"));
            }
        }
        Yaml::Hash(hash) if hash.len() == 1 => {
            let (key, value) = hash.iter().next().expect("one entry");
            let key = key.as_str().unwrap_or("?");
            match (key, value) {
                ("run" | "multienv", Yaml::String(_)) => {}
                ("run", Yaml::Hash(_)) => {
                    let keys = keys_of(value);
                    if !keys.iter().any(|k| k == "command")
                        || keys
                            .iter()
                            .any(|k| !["command", "output", "regex_filter", "shell", "shellArgs"].contains(&k.as_str()))
                    {
                        errors.push(format!("{path}: run step keys are command, output, regex_filter"));
                    }
                }
                ("env", Yaml::Hash(_)) => {
                    let keys = keys_of(value);
                    if keys.len() != 2
                        || !keys.iter().any(|k| k == "name")
                        || !keys.iter().any(|k| k == "value" || k == "command")
                    {
                        errors.push(format!("{path}: env step needs name and one of value or command"));
                    }
                }
                (builtin, Yaml::Hash(_)) if BUILTIN_STEPS.contains(&builtin) => {
                    if keys_of(value) != ["extra_args"]
                        || !value["extra_args"].as_vec().is_some_and(|a| a.iter().all(|x| x.as_str().is_some()))
                    {
                        errors.push(format!("{path}: built-in steps only take `extra_args` (a list of strings)"));
                    }
                }
                _ => errors.push(format!("{path}: `{key}` is not a valid step")),
            }
        }
        _ => errors.push(format!("{path}: a step is a name or a single-key mapping")),
    }
}

fn keys_of(node: &Yaml) -> Vec<String> {
    common::keys(node)
}

fn validate_repo_config(doc: &Yaml) -> Vec<String> {
    let mut errors = Vec::new();
    check_map(doc, TOP_LEVEL, "atlantis.yaml", &mut errors);
    if doc["version"].as_i64() != Some(3) {
        errors.push("atlantis.yaml: version must be 3".to_string());
    }
    errors
}

fn atlantis_config() -> Yaml {
    common::yaml_doc("atlantis.yaml")
}

fn projects(config: &Yaml) -> Vec<Yaml> {
    config["projects"].as_vec().cloned().unwrap_or_default()
}

#[test]
fn atlantis_yaml_uses_only_documented_v3_keys_and_types() {
    let errors = validate_repo_config(&atlantis_config());
    assert!(errors.is_empty(), "atlantis.yaml does not match the repo config v3 schema:\n{}", errors.join("\n"));
}

#[test]
fn the_schema_check_rejects_what_atlantis_rejects() {
    let good = read("atlantis.yaml");
    let mutations = [
        ("unknown top-level key", good.replacen("version: 3", "version: 3\nparallel_plans: true", 1)),
        ("misspelled autoplan key", good.replacen("when_modified:", "when_modifed:", 1)),
        ("version as string", good.replacen("version: 3", "version: \"3\"", 1)),
        ("bool as string", good.replacen("automerge: false", "automerge: nope", 1)),
        ("unknown requirement", good.replacen("[approved, mergeable]", "[approved, reviewed]", 1)),
        ("custom step without run", good.replacen("- run: tflint --init", "- tflint --init", 1)),
        ("unknown stage", good.replacen("    apply:\n      steps:", "    deploy:\n      steps:", 1)),
        ("dir outside the repo", good.replacen("dir: terraform", "dir: ../terraform", 1)),
    ];
    for (what, text) in mutations {
        assert_ne!(text, good, "mutation `{what}` did not apply");
        let doc = YamlLoader::load_from_str(&text).expect("still YAML").remove(0);
        assert!(!validate_repo_config(&doc).is_empty(), "the check accepted a config with {what}");
    }
}

#[test]
fn every_project_dir_exists() {
    for project in projects(&atlantis_config()) {
        let dir = project["dir"].as_str().expect("dir");
        assert!(repo_root().join(dir).is_dir(), "atlantis.yaml project dir `{dir}` does not exist");
    }
}

#[test]
fn every_when_modified_pattern_matches_a_file() {
    let files = walk_files(&repo_root());
    for project in projects(&atlantis_config()) {
        let dir = project["dir"].as_str().expect("dir");
        let patterns = project["autoplan"]["when_modified"].as_vec().expect("autoplan.when_modified is set");
        for pattern in patterns {
            let pattern = pattern.as_str().expect("string pattern");
            let from_root = normalize_join(dir, pattern).unwrap_or_else(|| panic!("`{pattern}` leaves the repository"));
            let hit = files.iter().find(|file| glob_match(&from_root, file));
            assert!(hit.is_some(), "project {dir}: when_modified `{pattern}` (= {from_root}) matches no file");
        }
    }
}

#[test]
fn autoplan_covers_terraform_templates_version_pin_and_provider() {
    for project in projects(&atlantis_config()) {
        let dir = project["dir"].as_str().expect("dir");
        let patterns: Vec<String> = project["autoplan"]["when_modified"]
            .as_vec()
            .expect("when_modified")
            .iter()
            .filter_map(|p| p.as_str().and_then(|p| normalize_join(dir, p)))
            .collect();
        for must in [
            format!("{dir}/main.tf"),
            format!("{dir}/modules/vm/main.tf"),
            format!("{dir}/terraform.tfvars.example"),
            "templates/user-data.yaml.tftpl".to_string(),
            ".terraform-version".to_string(),
            "provider/src/lib.rs".to_string(),
        ] {
            assert!(
                patterns.iter().any(|p| glob_match(p, &must)),
                "project {dir}: a change to {must} must trigger a plan"
            );
        }
    }
}

#[test]
fn apply_needs_approval_and_tflint_runs_before_plan() {
    let config = atlantis_config();
    for project in projects(&config) {
        let dir = project["dir"].as_str().expect("dir");
        let reqs: BTreeSet<&str> = project["apply_requirements"]
            .as_vec()
            .expect("apply_requirements")
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert!(
            reqs.contains("approved") && reqs.contains("mergeable"),
            "project {dir}: apply needs approved and mergeable"
        );
        let workflow = project["workflow"].as_str().expect("a custom workflow");
        let steps = config["workflows"][workflow]["plan"]["steps"].as_vec().expect("plan steps");
        let position = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred);
        let tflint = position(&|s| {
            s["run"].as_str().is_some_and(|r| r.trim_start().starts_with("tflint") && !r.contains("--init"))
        })
        .expect("the plan stage runs tflint");
        let plan =
            position(&|s| s.as_str() == Some("plan") || !s["plan"].is_badvalue()).expect("the plan stage runs plan");
        assert!(tflint < plan, "tflint must run before plan");
    }
}

/// Keys of atlantis.yaml that need the server-side config's permission.
fn restricted_keys_used(config: &Yaml) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for project in projects(config) {
        for key in keys_of(&project) {
            if RESTRICTED_PROJECT_KEYS.contains(&key.as_str()) {
                used.insert(key);
            }
        }
    }
    used
}

fn server_repo(repos: &Yaml) -> Yaml {
    let list = repos["repos"].as_vec().expect("repos.yaml has repos");
    assert_eq!(list.len(), 1, "repos.yaml configures exactly this repository");
    list[0].clone()
}

#[test]
fn repos_yaml_uses_known_keys() {
    let repos = common::yaml_doc("atlantis/repos.yaml");
    for key in keys_of(&repos) {
        assert!(SERVER_TOP_LEVEL.contains(&key.as_str()), "repos.yaml: unknown top-level key `{key}`");
    }
    let repo = server_repo(&repos);
    for key in keys_of(&repo) {
        assert!(SERVER_REPO_KEYS.contains(&key.as_str()), "repos.yaml repos[0]: unknown key `{key}`");
    }
    let id = repo["id"].as_str().expect("id");
    assert!(
        !(id.starts_with('/') && id.ends_with('/')),
        "repos.yaml must name this one repository, not a regex ({id}): custom workflows run code from PRs"
    );
    for override_key in repo["allowed_overrides"].as_vec().expect("allowed_overrides") {
        let key = override_key.as_str().expect("string");
        assert!(RESTRICTED_PROJECT_KEYS.contains(&key), "repos.yaml: `{key}` is not a valid override");
    }
}

#[test]
fn repo_config_uses_exactly_what_repos_yaml_allows() {
    let config = atlantis_config();
    let repo = server_repo(&common::yaml_doc("atlantis/repos.yaml"));
    let allowed: BTreeSet<String> = repo["allowed_overrides"]
        .as_vec()
        .expect("allowed_overrides")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let used = restricted_keys_used(&config);
    let missing: Vec<_> = used.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "atlantis.yaml sets {missing:?}, which repos.yaml does not allow (Atlantis would reject the config)"
    );
    let extra: Vec<_> = allowed.difference(&used).collect();
    assert!(
        extra.is_empty(),
        "repos.yaml allows {extra:?}, which atlantis.yaml never sets: allow exactly what is needed"
    );

    let custom = !config["workflows"].is_badvalue();
    assert_eq!(
        repo["allow_custom_workflows"].as_bool().unwrap_or(false),
        custom,
        "allow_custom_workflows must be true exactly when atlantis.yaml defines workflows"
    );
    // Workflows named by projects are defined in the repo config.
    for project in projects(&config) {
        if let Some(name) = project["workflow"].as_str() {
            assert!(!config["workflows"][name].is_badvalue(), "workflow `{name}` is not defined in atlantis.yaml");
        }
    }
    // The server-side requirements are at least as strict as the repo's.
    let server_reqs: BTreeSet<&str> =
        repo["apply_requirements"].as_vec().map(|v| v.iter().filter_map(Yaml::as_str).collect()).unwrap_or_default();
    assert!(server_reqs.contains("approved") && server_reqs.contains("mergeable"));
}

#[test]
fn phase_two_server_config_is_repos_yaml() {
    let repos = common::yaml_doc("atlantis/repos.yaml");
    let app = common::yaml_doc("gitops/apps/atlantis.yaml");
    let values = common::at(&app, "spec.source.helm.valuesObject");
    let inline = values["repoConfig"].as_str().expect("the Atlantis app sets repoConfig");
    let inline = YamlLoader::load_from_str(inline).expect("repoConfig is YAML").remove(0);
    assert_eq!(inline, repos, "gitops/apps/atlantis.yaml repoConfig must equal atlantis/repos.yaml");
    let id = server_repo(&repos)["id"].as_str().expect("id").to_string();
    assert_eq!(
        values["orgAllowlist"].as_str(),
        Some(id.as_str()),
        "the phase-2 allowlist must be exactly this repository"
    );
}

/// Tools in the official Atlantis Debian image (runatlantis/atlantis
/// Dockerfile, `debian` target): Atlantis, Terraform/OpenTofu, conftest,
/// git, git-lfs, and the Debian packages it installs.
const BASE_IMAGE_TOOLS: &[&str] = &[
    "atlantis",
    "terraform",
    "tofu",
    "conftest",
    "git",
    "git-lfs",
    "curl",
    "unzip",
    "ssh",
    "gpg",
    "openssl",
    "bash",
    "sh",
];
const SHELL_BUILTINS: &[&str] = &["echo", "printf", "test", "[", "cd", "export", "true", "false", "set", "exit"];

/// Executables the recipe adds: every COPY into /usr/local/bin.
fn tools_installed_by_recipe(dockerfile: &str) -> BTreeSet<String> {
    let mut tools = BTreeSet::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"COPY") {
            continue;
        }
        let args: Vec<&str> = words[1..].iter().copied().filter(|w| !w.starts_with("--")).collect();
        if let Some(dest) = args.last() {
            if dest.starts_with("/usr/local/bin/") && dest.len() > "/usr/local/bin/".len() {
                tools.insert(dest.trim_start_matches("/usr/local/bin/").to_string());
            } else if dest.trim_end_matches('/') == "/usr/local/bin" {
                for source in &args[..args.len() - 1] {
                    tools.insert(source.rsplit('/').next().unwrap_or(source).to_string());
                }
            }
        }
    }
    tools
}

fn commands_of(run: &str) -> Vec<String> {
    run.split(['|', ';', '&'])
        .filter_map(|part| {
            part.split_whitespace()
                .find(|word| !word.contains('=') || word.starts_with('-'))
                .map(|w| w.trim_matches(['(', ')']).to_string())
        })
        .filter(|word| !word.is_empty())
        .collect()
}

#[test]
fn workflow_steps_only_use_tools_the_image_installs() {
    let config = atlantis_config();
    let dockerfile = read("atlantis/Dockerfile");
    let added = tools_installed_by_recipe(&dockerfile);
    assert!(added.contains("tflint"), "atlantis/Dockerfile must install tflint into /usr/local/bin (found {added:?})");
    let mut all = Vec::new();
    common::walk(&config["workflows"], "workflows", &mut all);
    let runs: Vec<String> = all
        .iter()
        .filter_map(|(path, node)| {
            (path.ends_with(".run") || path.ends_with(".run.command"))
                .then(|| node.as_str().map(str::to_string))
                .flatten()
        })
        .collect();
    assert!(!runs.is_empty(), "the workflow has run steps");
    for run in runs {
        for tool in commands_of(&run) {
            let known = added.contains(&tool)
                || BASE_IMAGE_TOOLS.contains(&tool.as_str())
                || SHELL_BUILTINS.contains(&tool.as_str());
            assert!(known, "run step `{run}` uses `{tool}`, which atlantis/Dockerfile does not install");
        }
    }
}

#[test]
fn image_recipe_builds_the_providers_into_the_mirror_the_cli_config_names() {
    let dockerfile = read("atlantis/Dockerfile");
    let froms: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage build expected");
    assert!(froms.iter().any(|l| l.contains("rust:") && l.contains(" AS build")), "a rust build stage named `build`");
    let last = froms.last().expect("final stage");
    assert!(
        last.contains("ghcr.io/runatlantis/atlantis:"),
        "the final stage starts from the official Atlantis image: {last}"
    );
    assert!(last.contains("-debian"), "the Debian variant: the providers are built against glibc");
    assert!(
        dockerfile.contains("cargo build --release --locked -p homelab-provider"),
        "the build stage compiles provider/"
    );

    let arg = |name: &str| -> String {
        dockerfile
            .lines()
            .find_map(|l| l.strip_prefix(&format!("ARG {name}=")))
            .unwrap_or_else(|| panic!("ARG {name}= missing"))
            .trim()
            .to_string()
    };
    let mirror = arg("MIRROR");
    let version = arg("PROVIDER_VERSION");

    // The provider version: the workspace crate version and the root module's pin.
    let cargo = read("Cargo.toml");
    assert!(cargo.contains(&format!("version = \"{version}\"")), "PROVIDER_VERSION must be the workspace version");
    let tf = read("terraform/terraform.tf");
    for ty in ["cloudinit", "kubeadm"] {
        let source = format!("terraform.local/homelab/{ty}");
        let at = tf.find(&source).unwrap_or_else(|| panic!("terraform.tf requires {source}"));
        assert!(
            tf[at..].lines().take(3).any(|l| l.contains(&format!("version = \"{version}\""))),
            "{source} pinned to {version}"
        );
        let dest = format!(
            "${{MIRROR}}/terraform.local/homelab/{ty}/${{PROVIDER_VERSION}}/linux_${{TARGETARCH}}/terraform-provider-{ty}_v${{PROVIDER_VERSION}}"
        );
        assert!(dockerfile.contains(&dest), "the image installs {ty} at the unpacked mirror path {dest}");
        assert!(
            dockerfile.contains(&format!("target/release/terraform-provider-{ty}")),
            "{ty} comes from the build stage"
        );
    }

    // The CLI config the image points Terraform at.
    let config_dest = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("COPY atlantis/terraformrc "))
        .expect("the image copies atlantis/terraformrc")
        .trim()
        .to_string();
    assert!(
        dockerfile.contains(&format!("TF_CLI_CONFIG_FILE={config_dest}")),
        "TF_CLI_CONFIG_FILE points at {config_dest}"
    );
    let rc = read("atlantis/terraformrc");
    let blocks = repo_checks::hcl_blocks(&rc);
    let install = blocks.iter().find(|b| b.kind == "provider_installation").expect("provider_installation block");
    let inner = install.blocks();
    let fs = inner.iter().find(|b| b.kind == "filesystem_mirror").expect("filesystem_mirror");
    assert_eq!(
        fs.attribute("path").and_then(|p| repo_checks::string_literal(&p)),
        Some(mirror.clone()),
        "the mirror path"
    );
    assert!(fs.attribute("include").is_some_and(|i| i.contains("\"terraform.local/*/*\"")));
    let direct = inner.iter().find(|b| b.kind == "direct").expect("direct for every other provider");
    assert!(direct.attribute("exclude").is_some_and(|i| i.contains("\"terraform.local/*/*\"")));
}

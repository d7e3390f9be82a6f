//! Test 2: `atlantis.yaml` against the documented repo config v3 keys and
//! types (Atlantis rejects unknown keys), project dirs and `when_modified`
//! patterns against the files in the repository; the server-side
//! `atlantis/repos.yaml` against the server config schema, with the
//! requirements and the `homelab` workflow on the server where a pull
//! request cannot change them; the workflow's tools against the image
//! recipe `atlantis/Dockerfile`; and phase 2 (`gitops/apps/atlantis.yaml`)
//! against phase 1: the same server config, a VCS user, a data dir the pod
//! can write, no ingress, the same environment and variables.
//!
//! Keys follow Atlantis' `server/core/config/raw` (RepoCfg, Project,
//! Autoplan, Workflow, Step; GlobalCfg/Repo for repos.yaml), v0.47.1.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use repo_checks::{
    HclBlock, glob_match, hcl_blocks, in_ci, normalize_join, read, repo_root, secret_findings, value_after, walk_files,
};
use yaml_rust2::{Yaml, YamlLoader};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Int,
    Bool,
    Str,
    StrList,
    /// Any mapping (not checked further here: policies, autodiscover, repo_locks).
    AnyMap,
    /// Any list (workflow hooks).
    AnyList,
    /// The server config's `repos` list.
    ServerRepos,
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

const SERVER_TOP_LEVEL: &[(&str, Kind)] = &[
    ("repos", Kind::ServerRepos),
    ("workflows", Kind::Workflows),
    ("policies", Kind::AnyMap),
    ("metrics", Kind::AnyMap),
    ("team_authz", Kind::AnyMap),
    ("external_stores", Kind::AnyMap),
];
const SERVER_REPO: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("branch", Kind::Str),
    ("repo_config_file", Kind::Str),
    ("plan_requirements", Kind::Requirements),
    ("apply_requirements", Kind::Requirements),
    ("import_requirements", Kind::Requirements),
    ("workflow", Kind::Str),
    ("allowed_workflows", Kind::StrList),
    ("allowed_overrides", Kind::StrList),
    ("allow_custom_workflows", Kind::Bool),
    ("pre_workflow_hooks", Kind::AnyList),
    ("post_workflow_hooks", Kind::AnyList),
    ("policy_check", Kind::Bool),
    ("custom_policy_check", Kind::Bool),
    ("autodiscover", Kind::AnyMap),
    ("delete_source_branch_on_merge", Kind::Bool),
    ("repo_locking", Kind::Bool),
    ("repo_locks", Kind::AnyMap),
    ("silence_pr_comments", Kind::StrList),
];
/// Atlantis' built-in workflow, always defined.
const DEFAULT_WORKFLOW: &str = "default";

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
        Kind::AnyList => node.as_vec().is_some(),
        Kind::ServerRepos => {
            if let Some(repos) = node.as_vec() {
                for (index, repo) in repos.iter().enumerate() {
                    let here = format!("{path}[{index}]");
                    check_map(repo, SERVER_REPO, &here, errors);
                    if repo["id"].as_str().is_none_or(str::is_empty) {
                        errors.push(format!("{here}: `id` is required"));
                    }
                }
                true
            } else {
                false
            }
        }
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

/// The server-side config (repos.yaml): known keys and types, valid
/// requirements and workflows.
fn validate_server_config(doc: &Yaml) -> Vec<String> {
    let mut errors = Vec::new();
    check_map(doc, SERVER_TOP_LEVEL, "repos.yaml", &mut errors);
    if doc["repos"].as_vec().is_none_or(Vec::is_empty) {
        errors.push("repos.yaml: `repos` lists at least one repository".to_string());
    }
    errors
}

fn atlantis_config() -> Yaml {
    common::yaml_doc("atlantis.yaml")
}

fn server_config() -> Yaml {
    common::yaml_doc("atlantis/repos.yaml")
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
        (
            "unknown requirement",
            good.replacen(
                "    workspace: default\n",
                "    workspace: default\n    apply_requirements: [reviewed]\n",
                1,
            ),
        ),
        ("dir outside the repo", good.replacen("dir: terraform", "dir: ../terraform", 1)),
    ];
    for (what, text) in mutations {
        assert_ne!(text, good, "mutation `{what}` did not apply");
        let doc = YamlLoader::load_from_str(&text).expect("still YAML").remove(0);
        assert!(!validate_repo_config(&doc).is_empty(), "the check accepted a config with {what}");
    }
}

#[test]
fn repos_yaml_uses_only_documented_server_keys_and_types() {
    let errors = validate_server_config(&server_config());
    assert!(errors.is_empty(), "atlantis/repos.yaml does not match the server config schema:\n{}", errors.join("\n"));
}

#[test]
fn the_server_schema_check_rejects_what_atlantis_rejects() {
    let good = read("atlantis/repos.yaml");
    let mutations = [
        ("unknown top-level key", good.replacen("\nworkflows:\n", "\nworkflow:\n", 1)),
        ("unknown repo key", good.replacen("allowed_overrides:", "allowed_override:", 1)),
        ("unknown requirement", good.replacen("[approved, mergeable]", "[approved, reviewed]", 1)),
        ("bool as string", good.replacen("allow_custom_workflows: false", "allow_custom_workflows: nope", 1)),
        ("custom step without run", good.replacen("- run: tflint --init", "- tflint --init", 1)),
        ("unknown stage", good.replacen("    apply:\n      steps:", "    deploy:\n      steps:", 1)),
    ];
    for (what, text) in mutations {
        assert_ne!(text, good, "mutation `{what}` did not apply");
        let doc = YamlLoader::load_from_str(&text).expect("still YAML").remove(0);
        assert!(!validate_server_config(&doc).is_empty(), "the check accepted a server config with {what}");
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

fn string_list(node: &Yaml) -> BTreeSet<String> {
    node.as_vec().map(|v| v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

#[test]
fn apply_and_import_need_approval_on_the_server_and_tflint_runs_before_plan() {
    let repos = server_config();
    let repo = server_repo(&repos);
    for key in ["apply_requirements", "import_requirements"] {
        let reqs = string_list(&repo[key]);
        assert!(
            reqs.contains("approved") && reqs.contains("mergeable"),
            "repos.yaml: {key} must hold approved and mergeable (found {reqs:?})"
        );
    }
    // The server picks the workflow: atlantis.yaml names none, so every
    // project runs the server's default workflow for this repository.
    let workflow = repo["workflow"].as_str().expect("repos.yaml sets the repository's workflow");
    for project in projects(&atlantis_config()) {
        assert!(project["workflow"].is_badvalue(), "atlantis.yaml must not pick a workflow: the server does");
    }
    let steps = repos["workflows"][workflow]["plan"]["steps"].as_vec().expect("repos.yaml defines its plan steps");
    let position = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred);
    let tflint =
        position(&|s| s["run"].as_str().is_some_and(|r| r.trim_start().starts_with("tflint") && !r.contains("--init")))
            .expect("the plan stage runs tflint");
    let plan = position(&|s| s.as_str() == Some("plan") || !s["plan"].is_badvalue()).expect("the plan stage runs plan");
    assert!(tflint < plan, "tflint must run before plan");
}

#[test]
fn a_pull_request_cannot_lift_the_requirements_or_add_commands() {
    let config = atlantis_config();
    let repos = server_config();
    let repo = server_repo(&repos);
    let overrides = string_list(&repo["allowed_overrides"]);
    for key in &overrides {
        assert!(
            !key.ends_with("_requirements") && key != "workflow",
            "repos.yaml allows atlantis.yaml (taken from the PR) to override `{key}`"
        );
    }
    assert_eq!(
        repo["allow_custom_workflows"].as_bool(),
        Some(false),
        "allow_custom_workflows must be false: a custom workflow's `run` steps execute PR content on the Atlantis host"
    );
    assert!(config["workflows"].is_badvalue(), "atlantis.yaml must define no workflows (they live in repos.yaml)");
    let used = restricted_keys_used(&config);
    assert!(used.is_empty(), "atlantis.yaml sets {used:?}, which only the server may decide");
    for key in keys_of(&config) {
        assert!(!RESTRICTED_PROJECT_KEYS.contains(&key.as_str()), "atlantis.yaml sets top-level `{key}`");
    }
}

#[test]
fn every_workflow_repos_yaml_names_is_defined_there() {
    let repos = server_config();
    let repo = server_repo(&repos);
    let mut named: BTreeSet<String> = string_list(&repo["allowed_workflows"]);
    named.extend(repo["workflow"].as_str().map(str::to_string));
    assert!(!named.is_empty(), "repos.yaml names the workflow this repository runs");
    for name in named {
        assert!(
            name == DEFAULT_WORKFLOW || !repos["workflows"][name.as_str()].is_badvalue(),
            "workflow `{name}` is not defined in repos.yaml's workflows (Atlantis refuses to start)"
        );
    }
    if let Some(workflow) = repo["workflow"].as_str() {
        let allowed = string_list(&repo["allowed_workflows"]);
        assert!(allowed.is_empty() || allowed.contains(workflow), "the default workflow `{workflow}` must be allowed");
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
fn repos_yaml_names_this_repository_and_valid_overrides() {
    let repos = server_config();
    let repo = server_repo(&repos);
    let id = repo["id"].as_str().expect("id");
    assert!(
        !(id.starts_with('/') && id.ends_with('/')),
        "repos.yaml must name this one repository, not a regex ({id}): its workflow runs code from PRs"
    );
    for override_key in repo["allowed_overrides"].as_vec().expect("allowed_overrides") {
        let key = override_key.as_str().expect("string");
        assert!(RESTRICTED_PROJECT_KEYS.contains(&key), "repos.yaml: `{key}` is not a valid override");
    }
}

#[test]
fn repo_config_uses_exactly_what_repos_yaml_allows() {
    let config = atlantis_config();
    let repo = server_repo(&server_config());
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
    assert!(
        !custom || repo["allow_custom_workflows"].as_bool() == Some(true),
        "atlantis.yaml defines workflows, which repos.yaml does not allow (Atlantis would reject the config)"
    );
}

#[test]
fn phase_two_server_config_is_repos_yaml() {
    let repos = server_config();
    let values = phase_two_values();
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
    let config = server_config();
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

    let arg = |name: &str| value_after(&dockerfile, &format!("ARG {name}="), "atlantis/Dockerfile");
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
    let config_dest = value_after(&dockerfile, "COPY atlantis/terraformrc ", "atlantis/Dockerfile");
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

// --- phase 2 (gitops/apps/atlantis.yaml, runatlantis chart 5.x) ----------

/// The uid and gid of the `atlantis` user of the official image:
/// runatlantis/atlantis' Dockerfile, v0.47.1, `groupadd --gid 1000
/// atlantis && useradd --uid 100 ... --gid 1000 ... atlantis` (Debian; the
/// Alpine target uses the same ids). atlantis/Dockerfile runs as that user.
const ATLANTIS_UID: i64 = 100;
const ATLANTIS_GID: i64 = 1000;
/// The chart's ATLANTIS_DATA_DIR when `atlantisDataDirectory` is not set.
const CHART_DATA_DIR: &str = "/atlantis-data";

fn phase_two_values() -> Yaml {
    let app = common::yaml_doc("gitops/apps/atlantis.yaml");
    let values = common::at(&app, "spec.source.helm.valuesObject").clone();
    assert!(values.is_hash(), "gitops/apps/atlantis.yaml sets its chart values inline (valuesObject)");
    values
}

/// Environment variables the chart gives the Atlantis container for
/// these values: its own settings (statefulset.yaml of the chart), plus
/// `environment` and `environmentSecrets`.
fn phase_two_environment(values: &Yaml) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = common::keys(&values["environment"]).into_iter().collect();
    for secret in values["environmentSecrets"].as_vec().into_iter().flatten() {
        names.extend(secret["name"].as_str().map(str::to_string));
    }
    let set = |key: &str| values[key].as_str().is_some_and(|v| !v.trim().is_empty());
    names.extend(["ATLANTIS_DATA_DIR", "ATLANTIS_PORT"].map(str::to_string));
    let chart_settings = [
        ("orgAllowlist", "ATLANTIS_REPO_ALLOWLIST"),
        ("atlantisUrl", "ATLANTIS_ATLANTIS_URL"),
        ("repoConfig", "ATLANTIS_REPO_CONFIG"),
        ("defaultTFVersion", "ATLANTIS_DEFAULT_TF_VERSION"),
    ];
    for (key, env) in chart_settings {
        if common::scalar_text(&values[key]).is_some_and(|v| !v.trim().is_empty()) {
            names.insert(env.to_string());
        }
    }
    // The chart reads the token and webhook secret only with github.user.
    if values["github"]["user"].as_str().is_some_and(|u| !u.trim().is_empty()) {
        names.insert("ATLANTIS_GH_USER".to_string());
        if set("vcsSecretName") {
            names.extend(["ATLANTIS_GH_TOKEN", "ATLANTIS_GH_WEBHOOK_SECRET"].map(str::to_string));
        }
    }
    names
}

#[test]
fn phase_two_has_a_vcs_user_for_the_token_in_the_vcs_secret() {
    let values = phase_two_values();
    let id = server_repo(&server_config())["id"].as_str().expect("id").to_string();
    let host = id.split('/').next().unwrap_or_default();
    assert_eq!(host, "github.com", "these checks know the chart's GitHub values only; the repository is on {host}");
    let user = values["github"]["user"].as_str().unwrap_or_default();
    assert!(
        !user.trim().is_empty(),
        "gitops/apps/atlantis.yaml must set github.user: without it the chart passes no ATLANTIS_GH_USER, \
         never reads the token in the vcs Secret, and Atlantis has no VCS"
    );
    assert!(
        values["vcsSecretName"].as_str().is_some_and(|n| !n.is_empty()),
        "the token and webhook secret come from an existing Secret (vcsSecretName)"
    );
    for key in ["token", "secret"] {
        assert!(values["github"][key].is_badvalue(), "github.{key} would put a secret into git: use vcsSecretName");
    }
}

#[test]
fn phase_two_data_dir_is_a_volume_the_atlantis_user_can_write() {
    let values = phase_two_values();
    let context = &values["statefulSet"]["securityContext"];
    assert_eq!(
        context["runAsUser"].as_i64(),
        Some(ATLANTIS_UID),
        "the pod runs as the image's atlantis user (uid {ATLANTIS_UID}), who owns its home and plugin cache"
    );
    assert_eq!(context["fsGroup"].as_i64(), Some(ATLANTIS_GID), "fsGroup: the atlantis group owns the data volume");
    if let Some(group) = context["runAsGroup"].as_i64() {
        assert_eq!(group, ATLANTIS_GID, "runAsGroup is the atlantis group");
    }

    let data_dir = values["atlantisDataDirectory"].as_str().unwrap_or(CHART_DATA_DIR).to_string();
    // The chart's own volume: a claim, which needs a storage class that exists.
    let claim = values["volumeClaim"]["enabled"].as_bool().unwrap_or(true)
        || common::scalar_text(&values["dataStorage"]).is_some_and(|s| !s.is_empty());
    if claim {
        let class = values["volumeClaim"]["storageClassName"]
            .as_str()
            .or_else(|| values["storageClassName"].as_str())
            .unwrap_or_default()
            .to_string();
        let defined = walk_files(&repo_root().join("gitops"))
            .iter()
            .filter(|f| f.ends_with(".yaml"))
            .flat_map(|f| common::yaml_docs(&format!("gitops/{f}")))
            .any(|doc| {
                doc["kind"].as_str() == Some("StorageClass") && doc["metadata"]["name"].as_str() == Some(&class)
            });
        assert!(
            !class.is_empty() && defined,
            "the data volume is a claim, but storage class {class:?} is not defined in gitops/: it would stay Pending"
        );
        return;
    }
    // Otherwise a volume of our own, mounted where the chart points Atlantis.
    let volumes = values["extraVolumes"].as_vec().cloned().unwrap_or_default();
    let mount = values["extraVolumeMounts"]
        .as_vec()
        .into_iter()
        .flatten()
        .find(|m| m["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(data_dir.trim_end_matches('/')))
        .unwrap_or_else(|| {
            panic!("no volume is mounted at the data dir {data_dir}: Atlantis (uid {ATLANTIS_UID}) cannot create it")
        });
    let name = mount["name"].as_str().expect("the mount names its volume");
    let volume = volumes
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("extraVolumeMounts names volume {name}, which extraVolumes does not define"));
    assert!(
        volume["emptyDir"].is_hash() || volume["persistentVolumeClaim"]["claimName"].as_str().is_some(),
        "the data volume {name} must be an emptyDir or an existing claim"
    );
}

#[test]
fn phase_two_has_no_ingress_so_the_app_can_become_healthy() {
    let values = phase_two_values();
    assert_eq!(
        values["ingress"]["enabled"].as_bool(),
        Some(false),
        "the chart creates an Ingress by default; without an ingress controller it never gets an address \
         and ArgoCD never reports the app Healthy: set ingress.enabled: false"
    );
    assert_ne!(values["webhook_ingress"]["enabled"].as_bool(), Some(true), "no webhook ingress either");
    assert!(
        values["atlantisUrl"].as_str().is_some_and(|u| u.starts_with("http")),
        "without an ingress the chart derives no URL: set atlantisUrl (PR comments link to it)"
    );
}

#[test]
fn phase_two_gets_the_environment_phase_one_gets() {
    let values = phase_two_values();
    let phase_two = phase_two_environment(&values);
    let phase_one = common::phase_one_environment();
    let site = committed_site_variables();
    for name in &phase_one {
        let from_site = name.strip_prefix("TF_VAR_").is_some_and(|v| site.contains(v));
        assert!(
            from_site || phase_two.contains(name),
            "phase 1 (docs/setup.md) sets {name}, which gitops/apps/atlantis.yaml does not give phase 2"
        );
    }
    let mut own: BTreeSet<String> = common::keys(&values["environment"]).into_iter().collect();
    own.extend(
        values["environmentSecrets"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_string)),
    );
    for name in own {
        assert!(phase_one.contains(&name), "phase 2 sets {name}, which phase 1's env file (docs/setup.md) lacks");
    }
}

/// Variables set by committed `terraform/*.auto.tfvars` files (Terraform
/// reads them by itself, in both phases). Each must be tracked, not
/// git-ignored, and hold no secrets.
fn committed_site_variables() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in walk_files(&repo_root().join("terraform")) {
        if file.contains('/') || !file.ends_with(".auto.tfvars") {
            continue;
        }
        let path = format!("terraform/{file}");
        if is_git_ignored(&path) {
            continue;
        }
        let text = read(&path);
        let findings = secret_findings(&text);
        assert!(findings.is_empty(), "{path} is committed and shown in plans: {findings:?}");
        for secret in ["password", "postgres://", "PROXMOX_VE_API_TOKEN="] {
            assert!(!text.contains(secret), "{path} must hold no secrets ({secret})");
        }
        let body = HclBlock { kind: String::new(), labels: Vec::new(), body: text };
        for name in body.attributes() {
            let sensitive = root_variables().iter().any(|v| {
                v.labels.first() == Some(&name) && v.attribute("sensitive").is_some_and(|s| s.trim() == "true")
            });
            assert!(!sensitive, "{path} sets the sensitive variable {name}: it comes from the environment");
            names.insert(name);
        }
    }
    names
}

/// Whether git ignores a path (so it cannot be committed). Outside a git
/// checkout, from the `!name` lines of terraform/.gitignore.
fn is_git_ignored(relative: &str) -> bool {
    let status = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["check-ignore", "-q", "--no-index", relative])
        .status()
        .ok()
        .and_then(|s| s.code());
    match status {
        Some(0) => true,
        Some(1) => false,
        _ => {
            assert!(!in_ci(), "git check-ignore is required under CI");
            let name = relative.rsplit('/').next().unwrap_or(relative);
            !read("terraform/.gitignore").lines().any(|l| l.trim() == format!("!{name}"))
        }
    }
}

fn root_variables() -> Vec<HclBlock> {
    hcl_blocks(&read("terraform/variables.tf")).into_iter().filter(|b| b.kind == "variable").collect()
}

#[test]
fn every_variable_without_a_default_is_provided_in_both_phases() {
    let values = phase_two_values();
    let phase_two = phase_two_environment(&values);
    let phase_one = common::phase_one_environment();
    let site = committed_site_variables();
    assert!(
        !site.is_empty(),
        "terraform/site.auto.tfvars holds the site's values for both phases: it must be committed, not git-ignored"
    );
    let declared: BTreeSet<String> = root_variables().iter().filter_map(|b| b.labels.first().cloned()).collect();
    for name in &site {
        assert!(declared.contains(name), "a committed *.auto.tfvars sets {name}, which terraform/variables.tf lacks");
    }
    for variable in root_variables() {
        let name = variable.labels.first().cloned().unwrap_or_default();
        if variable.attribute("default").is_some() {
            continue;
        }
        let env = format!("TF_VAR_{name}");
        assert!(
            site.contains(&name) || (phase_two.contains(&env) && phase_one.contains(&env)),
            "variable {name} has no default: set it in terraform/site.auto.tfvars (or {env} in both phases)"
        );
    }
    // Every TF_VAR_ the guide tells phase 1 to set reaches phase 2 too.
    let guide = read("docs/setup.md");
    for (at, _) in guide.match_indices("TF_VAR_") {
        let name: String =
            guide[at + "TF_VAR_".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !guide[at + "TF_VAR_".len() + name.len()..].starts_with('=') {
            continue;
        }
        assert!(declared.contains(&name), "docs/setup.md sets TF_VAR_{name}, which terraform/variables.tf lacks");
        assert!(
            site.contains(&name) || phase_two.contains(&format!("TF_VAR_{name}")),
            "docs/setup.md sets TF_VAR_{name} for phase 1 only: commit it to terraform/site.auto.tfvars \
             (no secret) or give phase 2 the same variable"
        );
    }
}

#[test]
fn the_proxmox_ssh_user_reaches_the_provider_in_phase_two() {
    // bpg/proxmox 0.111 takes the SSH user from the provider's ssh block
    // when set there, else from PROXMOX_VE_SSH_USERNAME; an API token
    // carries none (fwprovider/provider.go, proxmoxtf/provider/provider.go).
    let values = phase_two_values();
    let phase_two = phase_two_environment(&values);
    let phase_one = common::phase_one_environment();
    let providers = hcl_blocks(&read("terraform/providers.tf"));
    let proxmox = providers
        .iter()
        .find(|b| b.kind == "provider" && b.labels == ["proxmox"])
        .expect("terraform/providers.tf configures the proxmox provider");
    let username = proxmox.blocks().into_iter().find(|b| b.kind == "ssh").and_then(|ssh| ssh.attribute("username"));
    match username.as_deref().map(str::trim) {
        Some(expr) if expr.starts_with("var.") => {
            let name = &expr["var.".len()..];
            let variable = root_variables()
                .into_iter()
                .find(|b| b.labels.first().map(String::as_str) == Some(name))
                .unwrap_or_else(|| panic!("ssh.username is {expr}, which terraform/variables.tf lacks"));
            let has_value = variable.attribute("default").is_some_and(|d| d.trim() != "null")
                || committed_site_variables().contains(name)
                || phase_two.contains(&format!("TF_VAR_{name}"));
            assert!(has_value, "ssh.username is {expr}: give it a default or set it in site.auto.tfvars");
        }
        Some(expr) => assert!(expr.starts_with('"'), "ssh.username is {expr}: a variable or a literal"),
        None => {
            for (phase, env) in [("phase 1", &phase_one), ("phase 2", &phase_two)] {
                assert!(
                    env.contains("PROXMOX_VE_SSH_USERNAME"),
                    "the proxmox ssh block sets no username, so {phase} needs PROXMOX_VE_SSH_USERNAME"
                );
            }
        }
    }
}

/// The Atlantis version atlantis/Dockerfile starts from.
fn image_atlantis_version() -> String {
    value_after(&read("atlantis/Dockerfile"), "ARG ATLANTIS_VERSION=", "atlantis/Dockerfile")
}

#[ignore = "needs the pinned Atlantis source in the peers cache (scripts/peers); scripts/test runs it"]
#[test]
fn the_pinned_atlantis_source_agrees_with_the_pod_and_the_pin() {
    // scripts/peers downloads the Atlantis module it builds into its Go
    // module cache; its Dockerfile is the recipe of the official image.
    let peers = std::env::var("HOMELAB_PEERS").unwrap_or_else(|_| "/var/cache/homelab-peers".to_string());
    let version = image_atlantis_version();
    let recipe =
        std::path::Path::new(&peers).join(format!("go/mod/github.com/runatlantis/atlantis@{version}/Dockerfile"));
    let text = std::fs::read_to_string(&recipe).unwrap_or_else(|err| {
        panic!(
            "this test needs the Atlantis {version} source at {} ({err}); scripts/peers downloads it",
            recipe.display()
        )
    });
    assert!(
        text.contains(&format!("groupadd --gid {ATLANTIS_GID} atlantis"))
            && text.contains(&format!("useradd --uid {ATLANTIS_UID} "))
            && text.contains(&format!("--gid {ATLANTIS_GID} --shell /bin/bash atlantis &&")),
        "the official image's atlantis user is no longer uid {ATLANTIS_UID} / gid {ATLANTIS_GID}: fix the pod's securityContext"
    );
    let bundled = value_after(&text, "ARG DEFAULT_TERRAFORM_VERSION=", "the Atlantis Dockerfile");
    assert_eq!(
        bundled,
        read(".terraform-version").trim(),
        "the Atlantis image's own `terraform` (used by docs/setup.md's kubeconfig and lock steps) is the pinned one"
    );
}

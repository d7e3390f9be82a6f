//! Test 4: the GitOps folder. Every manifest parses; every ArgoCD
//! Application has the fields ArgoCD requires; the root App of Apps points
//! at the folder that holds the children (and only children live there);
//! every workload sets memory requests and limits (the nodes have 2 GiB).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use repo_checks::{repo_root, walk_files};
use yaml_rust2::Yaml;

const ROOT_APP: &str = "gitops/root-app.yaml";

/// Every YAML document under gitops/, with its file.
fn manifests() -> Vec<(String, Yaml)> {
    let mut out = Vec::new();
    for file in walk_files(&repo_root().join("gitops")) {
        if !(file.ends_with(".yaml") || file.ends_with(".yml")) {
            continue;
        }
        let relative = format!("gitops/{file}");
        for doc in common::yaml_docs(&relative) {
            if !doc.is_null() {
                out.push((relative.clone(), doc));
            }
        }
    }
    assert!(!out.is_empty(), "no manifests under gitops/");
    out
}

fn is_application(doc: &Yaml) -> bool {
    doc["kind"].as_str() == Some("Application")
}

/// Sources of an Application: `spec.source` or every `spec.sources[]`.
fn sources(app: &Yaml) -> Vec<Yaml> {
    match app["spec"]["sources"].as_vec() {
        Some(list) => list.clone(),
        None => vec![app["spec"]["source"].clone()],
    }
}

fn check_application(file: &str, app: &Yaml) -> Vec<String> {
    let mut errors = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            errors.push(format!("{file}: {what}"));
        }
    };
    need(app["apiVersion"].as_str() == Some("argoproj.io/v1alpha1"), "apiVersion must be argoproj.io/v1alpha1");
    need(app["metadata"]["name"].as_str().is_some_and(|n| !n.is_empty()), "metadata.name is required");
    need(
        app["metadata"]["namespace"].as_str().is_some_and(|n| !n.is_empty()),
        "metadata.namespace is required (ArgoCD's namespace)",
    );
    need(app["spec"]["project"].as_str().is_some_and(|n| !n.is_empty()), "spec.project is required");
    let single = !app["spec"]["source"].is_badvalue();
    let multi = !app["spec"]["sources"].is_badvalue();
    need(single ^ multi, "exactly one of spec.source and spec.sources");
    for source in sources(app) {
        need(source["repoURL"].as_str().is_some_and(|u| !u.is_empty()), "every source needs repoURL");
        need(
            common::scalar_text(&source["targetRevision"]).is_some_and(|r| !r.is_empty()),
            "every source needs targetRevision (pin it)",
        );
        let path = !source["path"].is_badvalue();
        let chart = !source["chart"].is_badvalue();
        let reference = !source["ref"].is_badvalue() && multi;
        need(path ^ chart || (reference && !path && !chart), "every source needs exactly one of path and chart");
    }
    let destination = &app["spec"]["destination"];
    let server = destination["server"].as_str().is_some();
    let name = destination["name"].as_str().is_some();
    need(server ^ name, "spec.destination needs exactly one of server and name");
    need(destination["namespace"].as_str().is_some_and(|n| !n.is_empty()), "spec.destination.namespace is required");
    errors
}

#[test]
fn every_application_has_the_fields_argocd_requires() {
    let mut errors = Vec::new();
    let mut names = BTreeSet::new();
    for (file, doc) in manifests() {
        assert!(
            doc["kind"].as_str().is_some() && doc["apiVersion"].as_str().is_some(),
            "{file}: every manifest has apiVersion and kind"
        );
        if is_application(&doc) {
            errors.extend(check_application(&file, &doc));
            let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_string();
            assert!(names.insert(name.clone()), "two Applications are named {name}");
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_checker_rejects_incomplete_applications() {
    let good = common::yaml_doc("gitops/apps/cert-manager.yaml");
    assert!(check_application("good", &good).is_empty());
    for (what, broken) in [
        ("no project", common::yaml_docs("gitops/apps/cert-manager.yaml")[0].clone()),
        ("no destination namespace", common::yaml_docs("gitops/apps/cert-manager.yaml")[0].clone()),
    ] {
        let mut broken = broken;
        if let Yaml::Hash(root) = &mut broken {
            let spec = root.get_mut(&Yaml::String("spec".into())).expect("spec");
            if let Yaml::Hash(spec) = spec {
                if what == "no project" {
                    spec.remove(&Yaml::String("project".into()));
                } else if let Some(Yaml::Hash(dest)) = spec.get_mut(&Yaml::String("destination".into())) {
                    dest.remove(&Yaml::String("namespace".into()));
                }
            }
        }
        assert!(!check_application("broken", &broken).is_empty(), "the check accepted an Application with {what}");
    }
}

#[test]
fn root_app_of_apps_points_at_the_children_folder() {
    let root = common::yaml_doc(ROOT_APP);
    assert!(is_application(&root));
    assert!(check_application(ROOT_APP, &root).is_empty());
    let source = &root["spec"]["source"];
    let path = source["path"]
        .as_str()
        .expect("the root app syncs a path of this repository")
        .trim_end_matches('/')
        .to_string();
    let folder = repo_root().join(&path);
    assert!(folder.is_dir(), "the root app's path {path} does not exist");
    assert_ne!(source["directory"]["recurse"].as_bool(), Some(true), "children are the files directly in {path}");

    let children: Vec<(String, Yaml)> =
        manifests().into_iter().filter(|(file, _)| file.starts_with(&format!("{path}/"))).collect();
    let names: BTreeSet<String> = children
        .iter()
        .map(|(file, doc)| {
            assert!(is_application(doc), "{file}: the App of Apps folder holds only Applications");
            assert!(
                !file[path.len() + 1..].contains('/'),
                "{file}: not directly in {path} (the root does not recurse)"
            );
            doc["metadata"]["name"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for required in ["cert-manager", "monitoring", "atlantis"] {
        assert!(names.contains(required), "the App of Apps must include `{required}` (found {names:?})");
    }
    assert!(
        !names.contains(root["metadata"]["name"].as_str().unwrap_or_default()),
        "the root app must not manage itself"
    );

    // Children in ArgoCD's namespace; sources from this repository use the
    // root's repoURL and point at existing folders.
    let repo = source["repoURL"].as_str().expect("repoURL");
    for (file, child) in &children {
        assert_eq!(
            child["metadata"]["namespace"].as_str(),
            root["metadata"]["namespace"].as_str(),
            "{file}: children live in ArgoCD's namespace"
        );
        for src in sources(child) {
            if let Some(child_path) = src["path"].as_str() {
                assert_eq!(src["repoURL"].as_str(), Some(repo), "{file}: a path source must come from this repository");
                assert!(repo_root().join(child_path).is_dir(), "{file}: path {child_path} does not exist");
            }
        }
    }
    // Monitoring is Prometheus and Grafana.
    let monitoring =
        children.iter().find(|(_, d)| d["metadata"]["name"].as_str() == Some("monitoring")).expect("monitoring");
    assert_eq!(monitoring.1["spec"]["source"]["chart"].as_str(), Some("kube-prometheus-stack"));
    assert!(!common::at(&monitoring.1, "spec.source.helm.valuesObject.grafana").is_badvalue(), "Grafana is configured");
}

/// Every `resources` mapping in a values tree: (path, has memory request, has memory limit).
fn resource_blocks(values: &Yaml) -> Vec<(String, bool, bool)> {
    let mut all = Vec::new();
    common::walk(values, "values", &mut all);
    all.into_iter()
        .filter(|(path, node)| path.ends_with(".resources") && node.is_hash())
        .map(|(path, node)| {
            let request = common::scalar_text(&node["requests"]["memory"]).is_some();
            let limit = common::scalar_text(&node["limits"]["memory"]).is_some();
            (path, request, limit)
        })
        .collect()
}

#[test]
fn every_workload_sets_memory_requests_and_limits() {
    for (file, doc) in manifests() {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if is_application(&doc) {
            for source in sources(&doc) {
                let values = &source["helm"]["valuesObject"];
                if source["chart"].is_badvalue() {
                    continue;
                }
                assert!(
                    !values.is_badvalue(),
                    "{file}: chart values must be inline (valuesObject) so their limits are reviewed here"
                );
                let blocks = resource_blocks(values);
                assert!(!blocks.is_empty(), "{file}: the chart values set no resources");
                for (path, request, limit) in blocks {
                    assert!(request && limit, "{file}: {path} needs requests.memory and limits.memory");
                }
            }
        } else if matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" | "Pod" | "ReplicaSet")
        {
            let mut all = Vec::new();
            common::walk(&doc, "", &mut all);
            let containers: Vec<_> = all
                .iter()
                .filter(|(path, _)| path.ends_with("containers") || path.ends_with("initContainers"))
                .collect();
            assert!(!containers.is_empty(), "{file}: {kind} without containers");
            for (path, list) in containers {
                for container in list.as_vec().into_iter().flatten() {
                    let name = container["name"].as_str().unwrap_or("?");
                    assert!(
                        common::scalar_text(&container["resources"]["requests"]["memory"]).is_some()
                            && common::scalar_text(&container["resources"]["limits"]["memory"]).is_some(),
                        "{file}: {path} container {name} needs memory requests and limits"
                    );
                }
            }
        } else if kind == "LimitRange" {
            for limit in doc["spec"]["limits"].as_vec().expect("spec.limits") {
                if limit["type"].as_str() == Some("Container") {
                    assert!(
                        common::scalar_text(&limit["default"]["memory"]).is_some(),
                        "{file}: LimitRange default memory limit"
                    );
                    assert!(
                        common::scalar_text(&limit["defaultRequest"]["memory"]).is_some(),
                        "{file}: LimitRange default memory request"
                    );
                }
            }
        }
    }
}

#[test]
fn every_workload_namespace_has_a_default_memory_limit() {
    let mut limited = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for (_, doc) in manifests() {
        if doc["kind"].as_str() == Some("LimitRange") {
            limited.insert(doc["metadata"]["namespace"].as_str().unwrap_or_default().to_string());
        }
        if is_application(&doc) && doc["metadata"]["name"].as_str() != Some("root") {
            namespaces.insert(doc["spec"]["destination"]["namespace"].as_str().unwrap_or_default().to_string());
        }
    }
    namespaces.remove("default");
    for namespace in namespaces {
        assert!(
            limited.contains(&namespace),
            "namespace {namespace} has no LimitRange: a container a chart leaves without limits would have none"
        );
    }
}

#[test]
fn argocd_self_management_matches_the_bootstrap_chart_version() {
    let app = common::yaml_doc("gitops/apps/argocd.yaml");
    let version = common::scalar_text(&app["spec"]["source"]["targetRevision"]).expect("targetRevision");
    let variables = repo_checks::read("terraform/variables.tf");
    assert!(
        variables.contains(&format!("argo_cd     = optional(string, \"{version}\")")),
        "gitops/apps/argocd.yaml ({version}) and the bootstrap chart version in terraform/variables.tf must agree"
    );
}

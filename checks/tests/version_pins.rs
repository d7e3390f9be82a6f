//! Test 1: the Terraform version Atlantis runs is pinned once and agrees
//! everywhere. Atlantis does not read `.terraform-version` (tfenv does), so
//! the same exact version must appear in `atlantis.yaml` (every project) and
//! the phase-2 Atlantis values, and it must meet the root module's
//! `required_version` floor (the range the root is verified on).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use repo_checks::{hcl_blocks, read, string_literal, value_after, version_numbers};

fn pinned() -> String {
    let version = read(".terraform-version").trim().to_string();
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        ".terraform-version must hold one exact release like 1.14.9, found {version:?}"
    );
    version
}

#[test]
fn the_pinned_version_meets_the_root_floor() {
    let version = pinned();
    let blocks = hcl_blocks(&read("terraform/terraform.tf"));
    let terraform =
        blocks.iter().find(|b| b.kind == "terraform").expect("terraform/terraform.tf has a terraform block");
    let expr = terraform.attribute("required_version").expect("the root module sets required_version");
    let required =
        string_literal(&expr).unwrap_or_else(|| panic!("required_version must be a plain string, found {expr}"));
    let floor =
        required.strip_prefix(">= ").unwrap_or_else(|| panic!("the root states a floor `>= X.Y.Z`, found {required}"));
    assert!(
        version_numbers(&version) >= version_numbers(floor),
        ".terraform-version {version} is below the root's {required}"
    );
}

#[test]
fn atlantis_projects_use_the_pinned_version() {
    let version = pinned();
    let config = common::yaml_doc("atlantis.yaml");
    let projects = config["projects"].as_vec().expect("atlantis.yaml has projects");
    assert!(!projects.is_empty());
    for project in projects {
        let dir = project["dir"].as_str().unwrap_or("?");
        let found = common::scalar_text(&project["terraform_version"]).unwrap_or_else(|| {
            panic!("project {dir} must set terraform_version (Atlantis ignores .terraform-version)")
        });
        assert_eq!(found.trim_start_matches('v'), version, "atlantis.yaml project {dir}: terraform_version");
    }
}

#[test]
fn phase_two_atlantis_default_version_is_pinned() {
    let version = pinned();
    let app = common::yaml_doc("gitops/apps/atlantis.yaml");
    let found = common::scalar_text(common::at(&app, "spec.source.helm.valuesObject.defaultTFVersion"))
        .expect("gitops/apps/atlantis.yaml sets defaultTFVersion");
    assert_eq!(found.trim_start_matches('v'), version);
}

#[test]
fn ci_reads_the_version_file() {
    let workflow = read(".github/workflows/ci.yml");
    assert!(
        workflow.contains(".terraform-version"),
        "the CI workflow must take Terraform's version from .terraform-version"
    );
}

#[test]
fn the_atlantis_image_is_the_version_the_real_atlantis_tests_run() {
    // scripts/peers builds the real Atlantis the pull-request tests drive;
    // the image Atlantis runs in production starts from the same release.
    let image = value_after(&read("atlantis/Dockerfile"), "ARG ATLANTIS_VERSION=", "atlantis/Dockerfile");
    let tested = value_after(&read("scripts/peers"), "ATLANTIS_VERSION=", "scripts/peers");
    assert_eq!(
        image.trim_start_matches('v'),
        tested,
        "atlantis/Dockerfile ({image}) and the Atlantis the tests run (scripts/peers: {tested}) must agree"
    );
    assert!(image.starts_with('v'), "the image tags are v-prefixed (ghcr.io/runatlantis/atlantis:{image}-debian)");
}

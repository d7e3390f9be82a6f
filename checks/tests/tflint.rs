//! Test 9: the real tflint (scripts/peers' HOMELAB_PEER_TFLINT, 0.50.3 with
//! its bundled terraform ruleset) over every Terraform directory of the
//! repository with the repository's `.tflint.hcl`, exactly as CI, the
//! GitHub workflow and the Atlantis workflow run it (scripts/tflint):
//! zero findings. A second test proves the run has teeth: a module with a
//! variable lacking a type and a description gets findings.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use repo_checks::{repo_root, require_tool, run};

fn tflint(tflint: &Path, dir: &Path, config: &Path) -> (bool, String) {
    let mut command = Command::new(tflint);
    // From inside `dir`: tflint 0.50 refuses --chdir with --recursive.
    command
        .current_dir(dir)
        .arg(format!("--config={}", config.display()))
        .args(["--recursive", "--format=compact", "--no-color"])
        .env("TFLINT_PLUGIN_DIR", dir.join(".tflint.d-not-used"));
    let (ok, stdout, stderr) = run(&mut command);
    (ok, format!("{stdout}{stderr}"))
}

#[ignore = "needs tflint (scripts/peers); scripts/test runs it"]
#[test]
fn every_terraform_directory_is_tflint_clean() {
    let bin = require_tool("tflint (scripts/peers)", "HOMELAB_PEER_TFLINT", Some("tflint"));
    let root = repo_root();
    let config = root.join(".tflint.hcl");
    for dir in ["terraform", "examples/lab", "examples/cloudinit"] {
        let (ok, output) = tflint(&bin, &root.join(dir), &config);
        assert!(ok && output.trim().is_empty(), "tflint found problems in {dir}:\n{output}");
    }
}

#[ignore = "needs tflint (scripts/peers); scripts/test runs it"]
#[test]
fn tflint_reports_an_undocumented_untyped_variable() {
    let bin = require_tool("tflint (scripts/peers)", "HOMELAB_PEER_TFLINT", Some("tflint"));
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("main.tf"), "variable \"sloppy\" {}\n").expect("main.tf");
    let (ok, output) = tflint(&bin, dir.path(), &repo_root().join(".tflint.hcl"));
    assert!(!ok, "tflint accepted a sloppy module:\n{output}");
    for rule in ["terraform_typed_variables", "terraform_documented_variables"] {
        assert!(output.contains(rule), "no {rule} finding:\n{output}");
    }
}

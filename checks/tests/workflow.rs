//! Test 6: the GitHub Actions workflow validates against the workflow
//! schema (`check-jsonschema --builtin-schema vendor.github-workflows`),
//! and runs what the repository promises: fmt, validate, tflint the
//! documented way, the Rust tests.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

use repo_checks::{read, repo_root, require_tool, run};

#[ignore = "needs check-jsonschema (.ci/run installs it); scripts/test runs it"]
#[test]
fn workflows_match_the_github_schema() {
    let checker = require_tool("check-jsonschema", "CHECK_JSONSCHEMA", Some("check-jsonschema"));
    let dir = repo_root().join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect(".github/workflows exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no workflow files");
    let (ok, stdout, stderr) =
        run(Command::new(&checker).args(["--builtin-schema", "vendor.github-workflows"]).args(&files));
    assert!(ok, "check-jsonschema rejected the workflows:\n{stdout}\n{stderr}");
}

#[test]
fn workflow_runs_fmt_validate_tflint_and_tests() {
    let workflow = read(".github/workflows/ci.yml");
    for needle in [
        "terraform fmt -check -recursive",
        "validate",
        // The same tflint, built the same way, run the same way as .ci/run.
        "scripts/peers build tflint",
        "scripts/tflint",
        "scripts/test",
        "check-jsonschema",
        "debootstrap",
    ] {
        assert!(workflow.contains(needle), "the CI workflow must run `{needle}`");
    }
}

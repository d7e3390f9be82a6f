//! Test 5: `terraform fmt -check -recursive terraform/` is clean.
//! Needs TF_ACC_TERRAFORM (skipped locally without it, required under CI).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use repo_checks::{repo_root, require_tool, run, terraform_command};

#[ignore = "needs TF_ACC_TERRAFORM; scripts/test runs it"]
#[test]
fn terraform_code_is_fmt_clean() {
    let terraform = require_tool("terraform (fmt)", "TF_ACC_TERRAFORM", None);
    let dir = tempfile::tempdir().expect("tempdir");
    let cli_config = dir.path().join("cli.tfrc");
    std::fs::write(&cli_config, "").expect("write cli config");
    let (ok, stdout, stderr) = run(terraform_command(&terraform, &repo_root(), &cli_config).args([
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        "-no-color",
        "terraform/",
    ]));
    assert!(
        ok,
        "terraform fmt -check found unformatted files (run `terraform fmt -recursive terraform/`):\n{stdout}\n{stderr}"
    );
}

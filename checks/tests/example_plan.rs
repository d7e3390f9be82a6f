//! Test 9: pasted Terraform output in the docs holds no secrets.
//! docs/example-plan.md (and docs/troubleshooting.md, which quotes real
//! errors) must not contain a PEM private key block, a kubeadm
//! bootstrap-token-shaped string or a bare 64-hex string (kubeadm's
//! certificate key). `sha256:` digests (ca_cert_hash) are public.

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use repo_checks::{read, secret_findings};

#[test]
fn pasted_plans_hold_no_private_keys_tokens_or_certificate_keys() {
    for doc in ["docs/example-plan.md", "docs/troubleshooting.md", "docs/atlantis.md"] {
        let findings = secret_findings(&read(doc));
        assert!(findings.is_empty(), "{doc} contains what looks like a secret:\n{}", findings.join("\n"));
    }
}

#[test]
fn the_example_plan_shows_what_it_promises() {
    let doc = read("docs/example-plan.md");
    for expected in [
        "+ client_key             = (sensitive value)",
        "+ kubeconfig             = (sensitive value)",
        "+ host                   = \"https://",
        "+ cluster_ca_certificate = <<-EOT",
        "Apply complete! Resources: 1 added",
        "+ wk-3 = {",
        "Error: Removing these control planes would lose etcd quorum",
    ] {
        assert!(doc.contains(expected), "docs/example-plan.md should show {expected:?}");
    }
}

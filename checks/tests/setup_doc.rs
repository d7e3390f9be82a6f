//! docs/setup.md is followed by hand, so every step must run as written.
//! These checks hold it to what the tools do: the env file `docker run
//! --env-file` reads takes every value literally, the Proxmox role has
//! what bpg/proxmox needs on both Proxmox VE releases, the lock file step
//! installs the modules `providers lock` needs and locks only registry
//! providers, and the kubeconfig is read with the pinned Terraform and our
//! providers (inside the Atlantis image).

// A test: a panic is a failed assertion, not a plugin crash (the workspace
// lints keep these out of the provider's own code).
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use common::Fenced;
use repo_checks::read;

const GUIDE: &str = "docs/setup.md";
/// The image the guide builds (section 4) and later runs.
const IMAGE_TAG: &str = "registry.lan/homelab/atlantis:0.1.0";

fn blocks() -> Vec<Fenced> {
    common::fenced_blocks(&read(GUIDE))
}

/// What `docker run --env-file` would get wrong in one env-file line: it
/// splits at the first `=`, takes the rest literally (quotes and `$` stay
/// in the value) and reads one line per variable.
fn env_line_problems(line: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if line.starts_with("export ") {
        problems.push("`export` is shell syntax: docker reads `export NAME` as the variable name".to_string());
    }
    let Some((name, value)) = line.split_once('=') else {
        problems.push("no `=`: docker would copy the variable from the host environment".to_string());
        return problems;
    };
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || name.as_bytes()[0].is_ascii_digit()
    {
        problems.push(format!("`{name}` is not a variable name"));
    }
    if value.starts_with(['\'', '"']) || value.ends_with(['\'', '"']) {
        problems.push("quoted value: docker keeps the quotes as part of the value".to_string());
    }
    if value.contains("$(") || value.contains("${") || value.contains('`') {
        problems.push("shell expansion: docker does not expand it".to_string());
    }
    if name.ends_with("PRIVATE_KEY") {
        problems.push(
            "a private key spans several lines, an env-file value one: pass it with -e NAME=\"$(cat FILE)\""
                .to_string(),
        );
    }
    problems
}

#[test]
fn the_env_file_check_refuses_what_docker_takes_literally() {
    for bad in [
        "TF_VAR_ssh_keys_from_github='[\"your-github-user\"]'",
        "PG_CONN_STR=\"postgres://u:p@db/x\"",
        "export PROXMOX_VE_INSECURE=true",
        "PROXMOX_VE_ENDPOINT=${ENDPOINT}",
        "PROXMOX_VE_SSH_PRIVATE_KEY=-----BEGIN OPENSSH PRIVATE KEY-----",
        "PROXMOX_VE_INSECURE",
    ] {
        assert!(!env_line_problems(bad).is_empty(), "the check accepted {bad}");
    }
    for good in ["PROXMOX_VE_INSECURE=true", "PROXMOX_VE_API_TOKEN=terraform@pve!atlantis=<secret>"] {
        assert!(env_line_problems(good).is_empty(), "the check refused {good}");
    }
}

#[test]
fn env_file_blocks_hold_values_docker_takes_literally() {
    let env_blocks: Vec<Fenced> = blocks().into_iter().filter(|b| b.info == "env").collect();
    assert!(!env_blocks.is_empty(), "{GUIDE} shows the phase-1 env file as a ```env block");
    let mut seen = BTreeSet::new();
    for block in &env_blocks {
        for line in common::env_file_lines(block) {
            let problems = env_line_problems(&line);
            assert!(problems.is_empty(), "{GUIDE} env file line `{line}`: {}", problems.join("; "));
            assert!(seen.insert(common::env_name(&line)), "{GUIDE}: {line} is set twice");
        }
    }
    // The env file is the one the commands read.
    let text = read(GUIDE);
    assert!(text.contains("--env-file /etc/atlantis/env"), "the phase-1 container reads /etc/atlantis/env");
    assert!(
        env_blocks.iter().any(|b| b.lines.iter().any(|l| l.contains("/etc/atlantis/env"))),
        "the env block says which file it is"
    );
}

#[test]
fn multi_line_secrets_are_passed_with_docker_run_e() {
    let server: Vec<String> = blocks()
        .iter()
        .filter(|b| b.info == "sh")
        .flat_map(common::shell_commands)
        .filter(|c| c.starts_with("docker run -d") && c.contains(" server"))
        .collect();
    assert_eq!(server.len(), 1, "{GUIDE} starts the phase-1 server with one `docker run -d ... server`");
    for name in ["PROXMOX_VE_SSH_PRIVATE_KEY", "TF_VAR_ssh_private_key"] {
        let flag = format!("-e {name}=\"$(cat ");
        assert!(server[0].contains(&flag), "the phase-1 `docker run` passes {name} from its key file ({flag}...)");
    }
}

/// The privileges of every `pveum role add ... -privs "..."` in the guide.
fn documented_roles() -> Vec<BTreeSet<String>> {
    let mut roles = Vec::new();
    for block in blocks().iter().filter(|b| b.info == "sh") {
        for command in common::shell_commands(block) {
            if !command.starts_with("pveum role add") {
                continue;
            }
            let privs = command.split("-privs").nth(1).expect("pveum role add ... -privs \"...\"");
            let list = privs.trim().trim_matches('"');
            roles.push(list.split([' ', ',']).filter(|p| !p.is_empty()).map(str::to_string).collect());
        }
    }
    roles
}

/// What bpg/proxmox 0.111 needs for the resources of terraform/ (VMs with
/// disks, EFI and cloud-init drives, a network device on a bridge; images
/// through `download-url`, which its docs say needs
/// Datastore.AllocateTemplate, Sys.Audit and Sys.Modify), on both releases.
const BPG_PRIVILEGES: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Sys.Audit",
    "Sys.Modify",
    "SDN.Use",
    "VM.Allocate",
    "VM.Audit",
    "VM.Config.CDROM",
    "VM.Config.Cloudinit",
    "VM.Config.CPU",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.PowerMgmt",
];

#[test]
fn the_proxmox_role_has_what_bpg_needs_on_pve_9_and_pve_8() {
    // The VMs have the QEMU guest agent enabled, and bpg/proxmox pings it
    // and reads the VM's network interfaces through it: PVE 8 checks
    // VM.Monitor; PVE 9 dropped VM.Monitor (an invalid privilege there)
    // for VM.GuestAgent.*, of which read-only calls need VM.GuestAgent.Audit.
    let vm = read("terraform/modules/vm/main.tf");
    assert!(vm.contains("agent {"), "the VMs use the guest agent (the reason for the agent privilege)");
    let roles = documented_roles();
    let pve9: Vec<&BTreeSet<String>> = roles.iter().filter(|r| r.contains("VM.GuestAgent.Audit")).collect();
    let pve8: Vec<&BTreeSet<String>> = roles.iter().filter(|r| r.contains("VM.Monitor")).collect();
    assert_eq!(pve9.len(), 1, "{GUIDE}: one `pveum role add` for Proxmox VE 9 (with VM.GuestAgent.Audit)");
    assert_eq!(pve8.len(), 1, "{GUIDE}: one `pveum role add` for Proxmox VE 8 (with VM.Monitor)");
    assert_eq!(roles.len(), 2, "{GUIDE}: exactly the two role commands, one per release");
    assert!(!pve9[0].contains("VM.Monitor"), "Proxmox VE 9 refuses VM.Monitor");
    assert!(!pve8[0].iter().any(|p| p.starts_with("VM.GuestAgent.")), "VM.GuestAgent.* does not exist on Proxmox VE 8");
    for role in [pve9[0], pve8[0]] {
        let missing: Vec<&&str> = BPG_PRIVILEGES.iter().filter(|p| !role.contains(**p)).collect();
        assert!(missing.is_empty(), "{GUIDE}: a documented role lacks {missing:?}");
        assert!(
            !role.contains("VM.GuestAgent.Unrestricted"),
            "Unrestricted runs any command in the guests: not needed"
        );
        let pve9_only = role.contains("VM.GuestAgent.Audit");
        let same: BTreeSet<&String> =
            role.iter().filter(|p| !p.starts_with("VM.GuestAgent.") && *p != "VM.Monitor").collect();
        let other = if pve9_only { pve8[0] } else { pve9[0] };
        let other: BTreeSet<&String> =
            other.iter().filter(|p| !p.starts_with("VM.GuestAgent.") && *p != "VM.Monitor").collect();
        assert_eq!(same, other, "the two roles differ only in the guest agent privilege");
    }
}

/// The sh blocks whose text contains `needle`.
fn blocks_with(needle: &str) -> Vec<String> {
    blocks().into_iter().filter(|b| b.info == "sh").map(|b| b.text()).filter(|t| t.contains(needle)).collect()
}

#[test]
fn the_lock_step_installs_the_modules_first_and_locks_only_registry_providers() {
    let steps = blocks_with("providers lock");
    assert_eq!(steps.len(), 1, "{GUIDE}: one lock file procedure");
    let step = &steps[0];
    // `providers lock` loads the configuration, which needs its modules
    // installed ("Module not installed" otherwise).
    let lock = step.find("providers lock").expect("lock");
    let modules = step.find("terraform get").or_else(|| step.find("terraform init")).unwrap_or(usize::MAX);
    assert!(modules < lock, "the lock step installs the modules (terraform get) before `providers lock`");
    // It ignores the CLI configuration's mirror, so terraform.local/* can
    // only be locked from a mirror given with -fs-mirror.
    assert!(
        !step.contains("terraform.local/") || step.contains("-fs-mirror="),
        "terraform.local providers are in no registry: lock them only with -fs-mirror"
    );
    for provider in ["registry.terraform.io/bpg/proxmox", "registry.terraform.io/hashicorp/helm"] {
        assert!(step.contains(provider), "the lock step locks {provider}");
    }
    for platform in ["-platform=linux_arm64", "-platform=linux_amd64"] {
        assert!(step.contains(platform), "the lock covers {platform}");
    }
    // With the pinned Terraform: the Atlantis image's own.
    assert!(step.contains("docker run --rm") && step.contains(IMAGE_TAG), "run in the Atlantis image");
    assert!(step.contains("terraform/.terraform.lock.hcl"), "the result is the root module's lock file");
}

#[test]
fn the_kubeconfig_is_read_inside_the_atlantis_image() {
    let steps = blocks_with("output -raw kubeconfig");
    assert_eq!(steps.len(), 1, "{GUIDE}: one way to fetch the kubeconfig");
    let step = &steps[0];
    // The host has neither the pinned Terraform nor our providers; the
    // image has both, and its env file has the state database.
    assert!(step.contains("docker run --rm") && step.contains(IMAGE_TAG), "read the kubeconfig in the Atlantis image");
    assert!(step.contains("--env-file /etc/atlantis/env"), "with phase 1's environment (PG_CONN_STR)");
    let init = step.find("terraform init").expect("the copy is initialised (backend and providers)");
    assert!(init < step.find("output -raw kubeconfig").expect("output"), "init before output");
    assert!(step.contains("umask 077"), "the kubeconfig holds the admin key: written 0600");
    let build = blocks_with("docker buildx build");
    assert!(build.iter().any(|b| b.contains(IMAGE_TAG)), "{GUIDE} builds {IMAGE_TAG}");
}

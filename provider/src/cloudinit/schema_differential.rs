//! The differential test of the plan-time cloud-config check: every
//! document of the corpus goes through the provider's plan-time validation
//! of `base` and through the real `cloud-init schema` of Debian 13
//! (cloud-init 25.1, [`TargetCloudInit`]); the two verdicts must agree, and
//! agree with the verdict written beside the document. A document the
//! provider accepts is also rendered, and the merged user-data must pass
//! cloud-init too.

use super::error::CloudInitError;
use super::schema_tests::TargetCloudInit;
use super::spec::CloudInitSpec;
use super::ssh_key::tests::ED25519;
use super::validate::validate_all;

/// (name, valid for cloud-init 25.1, the body after `#cloud-config`). An
/// empty body is left out: cloud-init refuses a document that is not a
/// mapping, while an empty `base` is a valid merge input for the provider.
const CORPUS: &[(&str, bool, &str)] = &[
    ("snap_unchecked", true, "snap:\n  commands:\n  - [snap, install, hello]\n"),
    (
        "write_files",
        true,
        "write_files:\n- path: /etc/demo\n  content: hi\n  owner: root:root\n  permissions: '0644'\n",
    ),
    (
        "write_files_b64_defer",
        true,
        "write_files:\n- path: /etc/b64\n  content: aGkK\n  encoding: b64\n  defer: true\n  append: false\n",
    ),
    ("runcmd_mixed", true, "runcmd:\n- echo one\n- [sh, -c, 'echo two']\n"),
    ("bootcmd", true, "bootcmd:\n- [cloud-init-per, once, x, echo, hi]\n- echo boot\n"),
    ("packages_pairs", true, "packages:\n- vim\n- [curl, 8.14.1-2]\npackage_upgrade: false\n"),
    ("package_update_yes", true, "package_update: yes\n"),
    (
        "ntp",
        true,
        "ntp:\n  enabled: true\n  ntp_client: chrony\n  servers: [ntp1.example.org]\n  pools: [0.debian.pool.ntp.org]\n",
    ),
    ("ntp_null", true, "ntp:\n"),
    (
        "users",
        true,
        "users:\n- default\n- name: ops\n  groups: [adm, sudo]\n  sudo: ALL=(ALL) NOPASSWD:ALL\n  shell: /bin/bash\n  lock_passwd: true\n  uid: 1500\n",
    ),
    (
        "apt_sources",
        true,
        "apt:\n  sources:\n    example.list:\n      source: deb [signed-by=$KEY_FILE] http://apt.example.org/ stable main\n      keyid: 0123456789ABCDEF\n",
    ),
    (
        "mounts_swap",
        true,
        "mounts:\n- [/dev/vdb, /data, ext4, defaults, '0', '2']\nswap:\n  filename: /swap.img\n  size: 2G\n  maxsize: 4G\n",
    ),
    ("power_state", true, "power_state:\n  mode: reboot\n  delay: now\n  message: rebooting\n  timeout: 30\n"),
    ("growpart", true, "growpart:\n  mode: auto\n  devices: [/]\nresize_rootfs: noblock\n"),
    ("unchecked_module", true, "chef:\n  install_type: packages\n"),
    (
        "ssh_settings",
        true,
        "ssh_genkeytypes: [ed25519, rsa]\nssh_deletekeys: true\nssh_quiet_keygen: true\nallow_public_ssh_keys: true\n",
    ),
    ("strings", true, "final_message: done after $UPTIME s\nmanage_resolv_conf: false\n"),
    (
        "ca_certs",
        true,
        "ca_certs:\n  trusted:\n  - |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n",
    ),
    ("keyboard", true, "keyboard:\n  layout: de\n  variant: nodeadkeys\n"),
    ("ssh_keys", true, "ssh_keys:\n  ed25519_public: ssh-ed25519 AAAA host\n"),
    ("top_level_typo", false, "packges: [vim]\n"),
    ("write_files_typo", false, "write_files:\n- path: /etc/demo\n  contnt: hi\n"),
    ("quoted_boolean", false, "package_update: \"yes\"\n"),
    ("runcmd_string", false, "runcmd: echo hi\n"),
    ("write_files_without_path", false, "write_files:\n- content: hi\n"),
    ("ntp_typo", false, "ntp:\n  server: [ntp1.example.org]\n"),
    ("user_typo", false, "users:\n- name: ops\n  shel: /bin/bash\n"),
    ("resize_rootfs_enum", false, "resize_rootfs: later\n"),
    ("power_state_without_mode", false, "power_state:\n  delay: now\n"),
    ("swap_size", false, "swap:\n  size: two gigabytes\n"),
    ("mount_too_long", false, "mounts:\n- [a, b, c, d, e, f, g]\n"),
    ("octal_permissions", false, "write_files:\n- path: /etc/demo\n  permissions: 0644\n"),
    ("genkeytype", false, "ssh_genkeytypes: [dsa]\n"),
    (
        "apt_source_typo",
        false,
        "apt:\n  sources:\n    example.list:\n      sourc: deb http://apt.example.org/ stable main\n",
    ),
    ("growpart_true", false, "growpart:\n  mode: yes\n"),
    ("package_pair_short", false, "packages:\n- [vim]\n"),
    ("write_files_empty", false, "write_files: []\n"),
    ("keyboard_without_layout", false, "keyboard:\n  model: pc105\n"),
    ("ca_certs_empty", false, "ca_certs: {}\n"),
    ("timezone_number", false, "timezone: 5\n"),
    ("ssh_keys_dsa", false, "ssh_keys:\n  dsa_private: x\n"),
    ("encoding_enum", false, "write_files:\n- path: /x\n  encoding: base32\n"),
];

fn spec_with_base(base: &str) -> CloudInitSpec {
    let mut spec = CloudInitSpec::new("node1", "1.35.2");
    spec.user.ssh_authorized_keys.push(ED25519.to_owned());
    spec.base = Some(base.to_owned());
    spec
}

/// The provider's verdict at plan time: no schema error on `base`.
fn provider_accepts(base: &str) -> (bool, Vec<String>) {
    let errors: Vec<String> = validate_all(&spec_with_base(base))
        .into_iter()
        .filter(|e| matches!(e, CloudInitError::BaseSchema { .. }))
        .map(|e| e.to_string())
        .collect();
    (errors.is_empty(), errors)
}

#[test]
fn the_corpus_has_enough_documents_of_both_kinds() {
    assert!(CORPUS.len() >= 30);
    assert!(CORPUS.iter().filter(|(_, valid, _)| *valid).count() >= 15);
    assert!(CORPUS.iter().filter(|(_, valid, _)| !*valid).count() >= 15);
}

#[test]
fn the_provider_agrees_with_the_written_verdicts() {
    for (name, valid, body) in CORPUS {
        let (accepted, errors) = provider_accepts(&format!("#cloud-config\n{body}"));
        assert_eq!(accepted, *valid, "{name}: provider errors {errors:?}");
        if !valid {
            assert!(errors.iter().all(|e| e.starts_with("base: at ")), "{name}: {errors:?}");
        }
    }
}

#[ignore = "needs the Debian 13 cloud-init chroot (scripts/peers); scripts/test runs it"]
#[test]
fn the_provider_and_cloud_init_25_1_agree_on_every_document() {
    let cloud_init = TargetCloudInit::find();
    let documents: Vec<(String, String)> =
        CORPUS.iter().map(|(name, _, body)| (name.to_string(), format!("#cloud-config\n{body}"))).collect();
    let verdicts = cloud_init.schema_all(&documents);
    let mut disagreements = Vec::new();
    for ((name, document), (cloud_init_ok, output)) in documents.iter().zip(verdicts) {
        let (provider_ok, errors) = provider_accepts(document);
        if provider_ok != cloud_init_ok {
            disagreements
                .push(format!("{name}: provider {provider_ok} {errors:?}, cloud-init {cloud_init_ok}: {output}"));
        }
    }
    assert!(disagreements.is_empty(), "verdicts differ:\n{}", disagreements.join("\n"));

    // What the provider accepts also renders into user-data cloud-init
    // accepts (base merged into the generated document).
    let rendered: Vec<(String, String)> = CORPUS
        .iter()
        .filter(|(_, valid, _)| *valid)
        .filter_map(|(name, _, body)| {
            super::render::render(&spec_with_base(&format!("#cloud-config\n{body}")))
                .ok()
                .map(|r| (name.to_string(), r.document))
        })
        .collect();
    assert!(rendered.len() >= 15, "most valid documents render ({} did)", rendered.len());
    for ((name, document), (ok, output)) in rendered.iter().zip(cloud_init.schema_all(&rendered)) {
        assert!(ok, "{name}: the merged user-data fails cloud-init schema:\n{output}\n---\n{document}");
    }
}

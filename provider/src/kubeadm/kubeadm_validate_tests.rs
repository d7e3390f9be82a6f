//! Every kubeadm file the provider renders, judged by the real kubeadm of
//! its version (`kubeadm config validate --config FILE`; 1.35 and 1.34 from
//! scripts/peers, found through `HOMELAB_PEER_KUBERNETES_BIN` and
//! `HOMELAB_PEER_KUBERNETES_PREVIOUS_BIN`): init, control-plane and worker
//! join, upload-certs and upgrade, plain and with the patches a user may set. The
//! simulator's strict decoding is ours; this is kubeadm's.
//!
//! Without the binaries the tests print a skip message, unless `CI` is set:
//! then they fail, since CI must build the peers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::config::{
    ClusterSpec, NodeSpec, Role, Taint, init_config, join_config, upgrade_config, upload_certs_config,
};
use super::patches::ConfigPatches;

const TOKEN: &str = "abcdef.0123456789abcdef";
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HASH: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The real kubeadms scripts/peers built, by version: the pinned release
/// (`HOMELAB_PEER_KUBERNETES_*`) and the minor before it (`*_PREVIOUS_*`).
/// Empty, with a skip message, when they are missing, unless `CI` is set.
pub(super) fn real_kubeadms() -> Vec<(String, PathBuf)> {
    let found: Vec<(String, PathBuf)> = ["HOMELAB_PEER_KUBERNETES", "HOMELAB_PEER_KUBERNETES_PREVIOUS"]
        .iter()
        .filter_map(|prefix| {
            let version = std::env::var(format!("{prefix}_VERSION")).ok()?;
            let bin = PathBuf::from(std::env::var_os(format!("{prefix}_BIN"))?).join("kubeadm");
            bin.is_file().then_some((version, bin))
        })
        .collect();
    assert!(
        found.len() == 2,
        "this test needs both real kubeadms (HOMELAB_PEER_KUBERNETES_*, found {found:?}); scripts/test builds and sets them"
    );
    found
}

fn kubeadm() -> PathBuf {
    real_kubeadms().into_iter().map(|(_, bin)| bin).next().unwrap_or_default()
}

/// `kubeadm config validate` on `text`: Ok, or kubeadm's complaint.
pub(super) fn validate(kubeadm: &Path, text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeadm.yaml");
    std::fs::write(&path, text).expect("write config");
    let out = Command::new(kubeadm).args(["config", "validate", "--config"]).arg(&path).output().expect("run kubeadm");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn spec(patches: ConfigPatches) -> ClusterSpec {
    ClusterSpec {
        cluster_name: "homelab".into(),
        // Explicit, so kubeadm does not look a version label up online.
        kubernetes_version: "1.35.4".into(),
        control_plane_endpoint: "192.168.100.200:6443".into(),
        pod_subnet: "10.244.0.0/16".into(),
        service_subnet: "10.96.0.0/12".into(),
        dns_domain: "cluster.local".into(),
        api_server_cert_sans: vec!["k8s.home.arpa".into(), "192.168.100.200".into()],
        skip_kube_proxy: true,
        patches,
    }
}

fn node(name: &str, role: Role, taints: Option<Vec<Taint>>) -> NodeSpec {
    NodeSpec { name: name.into(), role, address: "192.168.100.11".into(), labels: BTreeMap::new(), taints }
}

/// The patches examples and docs show: preflight ignores, extra args,
/// kubelet settings, cert SANs.
fn user_patches() -> ConfigPatches {
    ConfigPatches {
        init_configuration: Some("nodeRegistration:\n  ignorePreflightErrors: [ImagePull]\n".into()),
        cluster_configuration: Some(
            "apiServer:\n  extraArgs:\n    - name: audit-log-maxage\n      value: \"7\"\n".into(),
        ),
        join_configuration: Some("nodeRegistration:\n  ignorePreflightErrors: [ImagePull]\n".into()),
        kubelet_configuration: Some("maxPods: 50\nserializeImagePulls: false\n".into()),
        upgrade_configuration: Some(
            "apply:\n  ignorePreflightErrors: [CreateJob]\n  certificateRenewal: true\nnode:\n  etcdUpgrade: true\nplan:\n  ignorePreflightErrors: [CreateJob]\n".into(),
        ),
    }
}

#[ignore = "needs the real kubeadm peers (scripts/peers); scripts/test runs it"]
#[test]
fn real_kubeadm_accepts_every_rendered_file() {
    for (version, kubeadm) in real_kubeadms() {
        accepts_every_rendered_file(&version, &kubeadm);
    }
}

fn accepts_every_rendered_file(version: &str, kubeadm: &Path) {
    let no_taints = Some(Vec::new());
    let taint =
        Some(vec![Taint { key: "dedicated".into(), value: Some("storage".into()), effect: "NoSchedule".into() }]);
    let mut rendered = Vec::new();
    for (label, patches) in [("plain", ConfigPatches::default()), ("patched", user_patches())] {
        let mut spec = spec(patches);
        spec.kubernetes_version = version.to_owned();
        let cp = node("cp-1", Role::ControlPlane, None);
        rendered.push((format!("{label} init"), init_config(&spec, &cp, TOKEN, KEY)));
        rendered.push((format!("{label} control-plane join"), join_config(&spec, &cp, TOKEN, HASH, Some(KEY))));
        rendered.push((format!("{label} upload-certs"), upload_certs_config(&spec, &cp, KEY)));
        rendered.push((format!("{label} upgrade"), upgrade_config(&spec)));
        for (what, taints) in [("untainted", no_taints.clone()), ("tainted", taint.clone())] {
            let worker = node("wk-1", Role::Worker, taints);
            rendered.push((format!("{label} {what} worker join"), join_config(&spec, &worker, TOKEN, HASH, None)));
        }
    }
    let failures: Vec<String> = rendered
        .into_iter()
        .filter_map(|(what, text)| {
            let text = text.unwrap_or_else(|e| panic!("{what}: render: {e}"));
            validate(kubeadm, &text).err().map(|e| format!("kubeadm {version}, {what}:\n{e}\n{text}"))
        })
        .collect();
    assert!(failures.is_empty(), "real kubeadm refused:\n{}", failures.join("\n---\n"));
}

#[ignore = "needs the real kubeadm peers (scripts/peers); scripts/test runs it"]
#[test]
fn real_kubeadm_refuses_what_it_should() {
    // The check can fail: kubeadm refuses a file with an unknown field.
    let kubeadm = kubeadm();
    let text = init_config(&spec(ConfigPatches::default()), &node("cp-1", Role::ControlPlane, None), TOKEN, KEY)
        .expect("render")
        .replacen("kind: InitConfiguration", "kind: InitConfiguration\nnotAField: 1", 1);
    let err = validate(&kubeadm, &text).expect_err("an unknown field must be refused");
    assert!(err.contains("notAField"), "{err}");
}

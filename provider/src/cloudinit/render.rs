//! Rendering a [`CloudInitSpec`] into `#cloud-config` user-data.
//!
//! cloud-init's module order on Debian decides the layout:
//! - init stage: `write_files` (non-deferred), hostname, `/etc/hosts`, users;
//! - config stage: locale, timezone;
//! - final stage: `packages` (after `package_update`), then
//!   `write_files` with `defer: true`, then the `runcmd` script.
//!
//! So the Kubernetes apt source is written deferred (a source whose key does
//! not exist yet would make the `packages` step's `apt-get update` fail), the
//! key is fetched in runcmd, and kubelet/kubeadm/kubectl are installed there.
//! containerd's config is deferred too, so the Debian package installs onto
//! its own default and runcmd restarts it with ours. Docker's containerd
//! (see [`containerd`](super::containerd)) is installed in runcmd, like the
//! Kubernetes packages, from a deferred source whose key runcmd fetches.

use super::attributes as attr;
use super::containerd::{self, ContainerdSource, DEBIAN_PACKAGE};
use super::error::CloudInitError;
use super::field::Field;
use super::generated_files::{
    APT_PREFERENCES_PATH, APT_SOURCE_PATH, CONTAINERD_CONFIG_PATH, CONTAINERD_PREFERENCES_PATH, CRICTL_PATH,
    DOCKER_APT_SOURCE_PATH, HOSTS_PATH, MODULES_PATH, RENEWAL_SERVICE_PATH, RENEWAL_TIMER_PATH, SYSCTL_PATH,
    generated_paths,
};
use super::kubernetes::{KEYRING_PATH, KUBERNETES_PACKAGES, KubernetesVersion};
use super::merge::merge_documents;
use super::spec::{CertificateRenewal, CloudInitSpec, Rendered, WriteFile};
use super::ssh_key::merge_user_keys;
use super::validate::{parse_base, schema_errors, validate};
use crate::node_scripts::RENEW_CERTIFICATES_PATH;
use crate::yaml::{Mapping, Yaml, emit_cloud_config};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;

/// Top-level keys of the generated document, in emitted order. Keys that
/// only `base` has follow, in `base`'s order.
pub const GENERATED_KEY_ORDER: &[&str] = &[
    "hostname",
    "fqdn",
    "manage_etc_hosts",
    "timezone",
    "locale",
    "users",
    "ssh_pwauth",
    "disable_root",
    "package_update",
    "packages",
    "write_files",
    "runcmd",
];

/// Packages every node gets, before `packages` (and before Debian's
/// `containerd` when that is the source).
pub const BASE_PACKAGES: &[&str] = &["apt-transport-https", "ca-certificates", "curl", "gpg"];

/// Kernel modules every node loads, before `kernel_modules`.
pub const DEFAULT_KERNEL_MODULES: &[&str] = &["overlay", "br_netfilter"];

/// sysctls every node sets, before `sysctls` (which may override them).
pub const DEFAULT_SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "1"),
    ("net.bridge.bridge-nf-call-iptables", "1"),
    ("net.bridge.bridge-nf-call-ip6tables", "1"),
];

const CONTAINERD_SOCKET: &str = "unix:///run/containerd/containerd.sock";

/// Renders `spec`: validates it, builds and merges the document, encodes it.
///
/// # Errors
/// The first validation error, or a merge conflict with `base`.
pub fn render(spec: &CloudInitSpec) -> Result<Rendered, CloudInitError> {
    validate(spec)?;
    let mut document = build_document(spec)?;
    if let Some(base) = &spec.base {
        let generated_files = count_list(&document, "write_files");
        document = merge_documents(document, parse_base(base)?)?;
        check_write_file_conflicts(&document, generated_files, spec)?;
        if let Some(error) = schema_errors(&document, true).into_iter().next() {
            return Err(error);
        }
    }
    let document = emit_cloud_config(&document);
    let content = encode_content(&document, spec.gzip, spec.base64_encode)?;
    let sha256 = hex_sha256(content.as_bytes());
    Ok(Rendered { content, document, sha256 })
}

/// `base64(gzip(document))`, `base64(document)` or the document itself.
/// gzip output is reproducible: mtime 0, no file name, OS byte 255
/// ("unknown"), best compression. (The deflate stream itself could change
/// with a different flate2/miniz_oxide version.)
///
/// # Errors
/// [`CloudInitError::GzipRequiresBase64`] for `gzip` without `base64`.
pub fn encode_content(document: &str, gzip: bool, base64: bool) -> Result<String, CloudInitError> {
    match (gzip, base64) {
        (true, false) => Err(CloudInitError::GzipRequiresBase64),
        (false, false) => Ok(document.to_owned()),
        (false, true) => Ok(BASE64.encode(document)),
        (true, true) => {
            let compression = |e: std::io::Error| CloudInitError::Compression { message: e.to_string() };
            let mut encoder = GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), Compression::best());
            encoder.write_all(document.as_bytes()).map_err(compression)?;
            Ok(BASE64.encode(encoder.finish().map_err(compression)?))
        }
    }
}

/// Lowercase hex SHA-256.
#[must_use]
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The generated document (before merging `base`), for a valid spec.
///
/// # Errors
/// Version, pause image and key errors (normally caught by `validate`).
pub fn build_document(spec: &CloudInitSpec) -> Result<Mapping, CloudInitError> {
    let version = KubernetesVersion::parse(&spec.kubernetes_version)?;
    let sandbox_image = version.sandbox_image(spec.container_runtime.sandbox_image.as_deref())?;
    let source = ContainerdSource::parse(&spec.container_runtime.source)?;
    let keys = merge_user_keys(&spec.user.ssh_authorized_keys, &spec.user.github_keys)?;

    let mut doc = Mapping::new();
    doc.insert("hostname".into(), Yaml::str(&spec.hostname));
    if let Some(fqdn) = &spec.fqdn {
        doc.insert("fqdn".into(), Yaml::str(fqdn));
    }
    if !spec.hosts.is_empty() {
        // We write the whole file; cloud-init's template would overwrite it.
        doc.insert("manage_etc_hosts".into(), Yaml::Bool(false));
    }
    doc.insert("timezone".into(), Yaml::str(&spec.timezone));
    if let Some(locale) = &spec.locale {
        doc.insert("locale".into(), Yaml::str(locale));
    }

    let mut user = Mapping::new();
    user.insert("name".into(), Yaml::str(&spec.user.name));
    if !spec.user.groups.is_empty() {
        user.insert("groups".into(), Yaml::str_seq(&spec.user.groups));
    }
    user.insert("shell".into(), Yaml::str(&spec.user.shell));
    if let Some(sudo) = &spec.user.sudo {
        user.insert("sudo".into(), Yaml::str(sudo));
    }
    user.insert("lock_passwd".into(), Yaml::Bool(true));
    user.insert("ssh_authorized_keys".into(), Yaml::str_seq(keys));
    doc.insert("users".into(), Yaml::Seq(vec![Yaml::Map(user)]));
    doc.insert("ssh_pwauth".into(), Yaml::Bool(false));
    doc.insert("disable_root".into(), Yaml::Bool(true));

    doc.insert("package_update".into(), Yaml::Bool(true));
    doc.insert("packages".into(), Yaml::str_seq(package_list(source, &spec.packages)));

    let mut files = generated_files(spec, &version, source, &sandbox_image);
    files.extend(spec.write_files.iter().cloned());
    doc.insert("write_files".into(), Yaml::Seq(files.iter().map(write_file_node).collect()));

    let mut runcmd = generated_runcmd(spec, &version, source);
    runcmd.extend(spec.runcmd.iter().cloned());
    doc.insert("runcmd".into(), Yaml::str_seq(runcmd));
    Ok(doc)
}

/// Base packages (with Debian's containerd when that is the source) then
/// extras, one entry per package name (a later `name=version` replaces an
/// earlier bare `name` in place). Docker's containerd is installed in
/// runcmd, once its repository exists.
fn package_list(source: ContainerdSource, extra: &[String]) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    let containerd = (source == ContainerdSource::Debian).then_some(DEBIAN_PACKAGE);
    for package in BASE_PACKAGES.iter().copied().chain(containerd).chain(extra.iter().map(String::as_str)) {
        let name = package.split('=').next().unwrap_or(package);
        match list.iter_mut().find(|p| p.split('=').next() == Some(name)) {
            Some(existing) if package.contains('=') => *existing = package.to_owned(),
            Some(_) => {}
            None => list.push(package.to_owned()),
        }
    }
    list
}

fn file(path: &str, content: String, defer: bool) -> WriteFile {
    WriteFile { permissions: Some("0644".into()), defer, ..WriteFile::new(path, content) }
}

fn generated_files(
    spec: &CloudInitSpec,
    version: &KubernetesVersion,
    source: ContainerdSource,
    sandbox_image: &str,
) -> Vec<WriteFile> {
    let mut files = Vec::new();
    if !spec.hosts.is_empty() {
        files.push(file(HOSTS_PATH, hosts_file(spec), false));
    }
    files.push(file(MODULES_PATH, modules_file(&spec.kernel_modules), false));
    files.push(file(SYSCTL_PATH, sysctl_file(&spec.sysctls), false));
    files.push(file(
        CRICTL_PATH,
        format!("runtime-endpoint: {CONTAINERD_SOCKET}\nimage-endpoint: {CONTAINERD_SOCKET}\ntimeout: 10\n"),
        false,
    ));
    // Deferred: written after Debian's containerd package is installed
    // (Docker's is installed later still, keeping this file).
    files.push(file(CONTAINERD_CONFIG_PATH, containerd::config(&spec.container_runtime, source, sandbox_image), true));
    // Deferred: must not exist during the `packages` step's apt-get update.
    files.push(file(APT_SOURCE_PATH, version.apt_source_line(), true));
    if let Some(preferences) = version.apt_preferences() {
        files.push(file(APT_PREFERENCES_PATH, preferences, true));
    }
    if source == ContainerdSource::Docker {
        files.push(file(DOCKER_APT_SOURCE_PATH, containerd::docker_apt_source_line(), true));
        files.push(file(CONTAINERD_PREFERENCES_PATH, containerd::docker_apt_preferences(), true));
    }
    if let Some(renewal) = spec.certificate_renewal {
        files.extend(renewal_files(renewal));
    }
    files
}

/// The renewal script and its systemd service and timer. The service only
/// runs on a node kubeadm made a control plane; the timer fires daily at a
/// time fixed per machine (`FixedRandomDelay`), so the control planes
/// renew at different times of the day.
fn renewal_files(renewal: CertificateRenewal) -> Vec<WriteFile> {
    let seconds = renewal.days_before * 86_400;
    let script = WriteFile {
        permissions: Some("0755".into()),
        ..WriteFile::new(RENEW_CERTIFICATES_PATH, crate::node_scripts::RENEW_CERTIFICATES.to_owned())
    };
    let service = format!(
        "[Unit]\nDescription=Renew kubeadm's certificates when fewer than {days} days are left\nConditionPathExists=/etc/kubernetes/manifests/kube-apiserver.yaml\n\n[Service]\nType=oneshot\nEnvironment=RENEW_WHEN_LESS_THAN={seconds}\nExecStart={RENEW_CERTIFICATES_PATH}\n",
        days = renewal.days_before
    );
    let timer = "[Unit]\nDescription=Daily check of kubeadm's certificate expiry\n\n[Timer]\nOnCalendar=daily\nRandomizedDelaySec=23h\nFixedRandomDelay=true\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n";
    vec![script, file(RENEWAL_SERVICE_PATH, service, false), file(RENEWAL_TIMER_PATH, timer.to_owned(), false)]
}

/// Debian's default /etc/hosts plus `hosts`, sorted by address (IPv4 first).
fn hosts_file(spec: &CloudInitSpec) -> String {
    let mut out = String::from("# Written by cloud-init from the cloudinit_config `hosts` attribute.\n");
    out.push_str("127.0.0.1 localhost\n");
    match &spec.fqdn {
        Some(fqdn) => {
            let _ = writeln!(out, "127.0.1.1 {fqdn} {}", spec.hostname);
        }
        None => {
            let _ = writeln!(out, "127.0.1.1 {}", spec.hostname);
        }
    }
    out.push_str("::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n");
    let mut entries: BTreeMap<IpAddr, &Vec<String>> = BTreeMap::new();
    for (ip, names) in &spec.hosts {
        // Validated earlier; an unparsable key cannot get here.
        if let Ok(addr) = ip.parse::<IpAddr>() {
            entries.insert(addr, names);
        }
    }
    for (addr, names) in entries {
        let _ = writeln!(out, "{addr} {}", names.join(" "));
    }
    out
}

fn modules_file(extra: &[String]) -> String {
    let mut out = String::from("# Kernel modules for containerd and Kubernetes networking.\n");
    for module in unique(DEFAULT_KERNEL_MODULES.iter().copied().chain(extra.iter().map(String::as_str))) {
        out.push_str(module);
        out.push('\n');
    }
    out
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// Defaults in fixed order (overridden in place), then extras by key.
fn sysctl_file(extra: &BTreeMap<String, String>) -> String {
    let mut out = String::from("# sysctls for Kubernetes networking.\n");
    for (key, default) in DEFAULT_SYSCTLS {
        let value = extra.get(*key).map_or(*default, String::as_str);
        let _ = writeln!(out, "{key} = {value}");
    }
    for (key, value) in extra {
        if !DEFAULT_SYSCTLS.iter().any(|(k, _)| k == key) {
            let _ = writeln!(out, "{key} = {value}");
        }
    }
    out
}

fn generated_runcmd(spec: &CloudInitSpec, version: &KubernetesVersion, source: ContainerdSource) -> Vec<String> {
    let modules = unique(DEFAULT_KERNEL_MODULES.iter().copied().chain(spec.kernel_modules.iter().map(String::as_str)));
    let packages = KUBERNETES_PACKAGES.join(" ");
    let mut runcmd = vec![
        // Stop at the first failure, so a half-prepared node shows up as a
        // failed cloud-init run instead of a "done" one.
        "set -e".to_owned(),
        "swapoff -a".to_owned(),
        r"sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/#\1/' /etc/fstab".to_owned(),
        "systemctl mask swap.target".to_owned(),
        format!("modprobe -a {}", modules.join(" ")),
        "sysctl --system".to_owned(),
        "install -d -m 0755 /etc/apt/keyrings".to_owned(),
        format!("curl -fsSL {} | gpg --dearmor --yes -o {KEYRING_PATH}", version.release_key_url()),
    ];
    runcmd.extend(containerd::key_commands(source));
    runcmd.push("apt-get update".to_owned());
    runcmd.extend(containerd::install_commands(source));
    runcmd.extend([
        format!("DEBIAN_FRONTEND=noninteractive apt-get install -y {packages}"),
        format!("apt-mark hold {packages}"),
        "systemctl restart containerd".to_owned(),
        "systemctl enable --now kubelet".to_owned(),
    ]);
    if spec.certificate_renewal.is_some() {
        runcmd.push("systemctl enable --now kubeadm-renew-certificates.timer".to_owned());
    }
    runcmd
}

fn write_file_node(file: &WriteFile) -> Yaml {
    let mut node = Mapping::new();
    node.insert("path".into(), Yaml::str(&file.path));
    node.insert("content".into(), Yaml::str(&file.content));
    if let Some(encoding) = &file.encoding {
        node.insert("encoding".into(), Yaml::str(encoding));
    }
    if let Some(owner) = &file.owner {
        node.insert("owner".into(), Yaml::str(owner));
    }
    if let Some(permissions) = &file.permissions {
        node.insert("permissions".into(), Yaml::str(permissions));
    }
    if file.append {
        node.insert("append".into(), Yaml::Bool(true));
    }
    if file.defer {
        node.insert("defer".into(), Yaml::Bool(true));
    }
    Yaml::Map(node)
}

fn count_list(doc: &Mapping, key: &str) -> usize {
    match doc.get(key) {
        Some(Yaml::Seq(items)) => items.len(),
        _ => 0,
    }
}

/// After merging `base`: no path may be written twice unless the later
/// entry appends. Names who wrote it first.
fn check_write_file_conflicts(
    doc: &Mapping,
    generated_and_spec: usize,
    spec: &CloudInitSpec,
) -> Result<(), CloudInitError> {
    let Some(Yaml::Seq(entries)) = doc.get("write_files") else {
        return Ok(());
    };
    let generated = generated_and_spec - spec.write_files.len();
    let generated_paths = generated_paths(spec);
    // Entries run generated, then the spec's, then base's (saturating: two
    // generated files never share a path).
    let place = |i: usize| -> Field {
        if i < generated_and_spec {
            Field::attr(attr::WRITE_FILES).index(i.saturating_sub(generated))
        } else {
            Field::base_write_files().index(i - generated_and_spec)
        }
    };
    let describe = |i: usize, path: &str| -> String {
        if i < generated {
            let attribute = generated_paths.iter().find(|(p, _)| *p == path).map_or("?", |(_, a)| a);
            format!("the file generated for attribute `{attribute}`")
        } else {
            place(i).to_string()
        }
    };
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Yaml::Map(map) = entry else { continue };
        let Some(path) = map.get("path").and_then(Yaml::as_str) else { continue };
        let appends = matches!(map.get("append"), Some(Yaml::Bool(true)));
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == path) {
            if !appends {
                return Err(CloudInitError::WriteFileConflict {
                    field: place(i).at(attr::PATH),
                    path: path.to_owned(),
                    first: describe(*first, path),
                });
            }
        } else {
            seen.push((path, i));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudinit::ssh_key::tests::{ED25519, ED25519_B};
    use crate::yaml::parse;
    use flate2::read::GzDecoder;
    use std::io::Read as _;

    pub(crate) fn minimal_spec() -> CloudInitSpec {
        let mut spec = CloudInitSpec::new("node1", "1.35");
        spec.user.ssh_authorized_keys.push(ED25519.to_owned());
        spec
    }

    fn root(rendered: &Rendered) -> Mapping {
        match parse(&rendered.document).expect("parses") {
            Some(Yaml::Map(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    fn strings(node: Option<&Yaml>) -> Vec<String> {
        match node {
            Some(Yaml::Seq(items)) => items.iter().map(|i| i.as_str().expect("string").to_owned()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn files(doc: &Mapping) -> Vec<Mapping> {
        match doc.get("write_files") {
            Some(Yaml::Seq(items)) => items
                .iter()
                .map(|i| match i {
                    Yaml::Map(m) => m.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    fn file_content(doc: &Mapping, path: &str) -> String {
        files(doc)
            .into_iter()
            .find(|f| f.get("path").and_then(Yaml::as_str) == Some(path))
            .and_then(|f| f.get("content").and_then(Yaml::as_str).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {path}"))
    }

    #[test]
    fn minimal_document_shape() {
        let rendered = render(&minimal_spec()).expect("renders");
        assert!(rendered.document.starts_with("#cloud-config\nhostname: node1\n"), "{}", rendered.document);
        assert_eq!(rendered.content, rendered.document, "plain by default");
        assert_eq!(rendered.sha256, hex_sha256(rendered.document.as_bytes()));
        let doc = root(&rendered);
        let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "hostname",
                "timezone",
                "users",
                "ssh_pwauth",
                "disable_root",
                "package_update",
                "packages",
                "write_files",
                "runcmd"
            ]
        );
        // Keys appear in the documented order.
        let mut order = GENERATED_KEY_ORDER.iter();
        assert!(keys.iter().all(|k| order.any(|o| o == k)));
        assert_eq!(doc.get("timezone"), Some(&Yaml::str("Etc/UTC")));
        assert_eq!(doc.get("ssh_pwauth"), Some(&Yaml::Bool(false)));
        assert_eq!(doc.get("disable_root"), Some(&Yaml::Bool(true)));
        assert_eq!(doc.get("package_update"), Some(&Yaml::Bool(true)));
        assert!(!doc.contains_key("manage_etc_hosts"), "left alone without hosts");
        assert_eq!(
            strings(doc.get("packages")),
            ["apt-transport-https", "ca-certificates", "curl", "gpg", "containerd"]
        );

        let Some(Yaml::Seq(users)) = doc.get("users") else { panic!() };
        let Yaml::Map(user) = &users[0] else { panic!() };
        assert_eq!(user.get("name"), Some(&Yaml::str("debian")));
        assert_eq!(user.get("lock_passwd"), Some(&Yaml::Bool(true)));
        assert_eq!(user.get("shell"), Some(&Yaml::str("/bin/bash")));
        assert_eq!(user.get("sudo"), Some(&Yaml::str("ALL=(ALL) NOPASSWD:ALL")));
        assert_eq!(strings(user.get("groups")), ["sudo"]);
        assert_eq!(strings(user.get("ssh_authorized_keys")), [ED25519]);

        let paths: Vec<String> =
            files(&doc).iter().map(|f| f.get("path").and_then(Yaml::as_str).expect("path").to_owned()).collect();
        assert_eq!(paths, [MODULES_PATH, SYSCTL_PATH, CRICTL_PATH, CONTAINERD_CONFIG_PATH, APT_SOURCE_PATH]);
        let deferred: Vec<bool> = files(&doc).iter().map(|f| f.get("defer") == Some(&Yaml::Bool(true))).collect();
        assert_eq!(deferred, [false, false, false, true, true]);
        assert_eq!(
            file_content(&doc, MODULES_PATH).lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>(),
            ["overlay", "br_netfilter"]
        );
        assert!(file_content(&doc, SYSCTL_PATH).contains(
            "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n"
        ));
        assert_eq!(
            file_content(&doc, APT_SOURCE_PATH),
            "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n"
        );
        assert!(
            file_content(&doc, CRICTL_PATH).starts_with("runtime-endpoint: unix:///run/containerd/containerd.sock\n")
        );
    }

    #[test]
    fn containerd_config_content() {
        let rendered = render(&minimal_spec()).expect("renders");
        let config = file_content(&root(&rendered), CONTAINERD_CONFIG_PATH);
        assert!(config.contains("\nversion = 2\n"), "{config}");
        assert!(
            config.contains(
                "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"registry.k8s.io/pause:3.10.1\"\n"
            ),
            "{config}"
        );
        assert!(
            config.contains(
                "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n"
            ),
            "{config}"
        );
        assert!(config.contains("  bin_dir = \"/opt/cni/bin\"\n  conf_dir = \"/etc/cni/net.d\"\n"), "{config}");

        let mut spec = minimal_spec();
        spec.kubernetes_version = "1.32.4".into();
        spec.container_runtime.systemd_cgroup = false;
        spec.container_runtime.cni_bin_dir = "/usr/lib/cni".into();
        let config = file_content(&root(&render(&spec).expect("renders")), CONTAINERD_CONFIG_PATH);
        assert!(config.contains("sandbox_image = \"registry.k8s.io/pause:3.10\"\n"), "{config}");
        assert!(config.contains("SystemdCgroup = false\n"));
        assert!(config.contains("bin_dir = \"/usr/lib/cni\"\n"));
        spec.container_runtime.sandbox_image = Some("mirror.lab/pause:3.10".into());
        let config = file_content(&root(&render(&spec).expect("renders")), CONTAINERD_CONFIG_PATH);
        assert!(config.contains("sandbox_image = \"mirror.lab/pause:3.10\"\n"));
    }

    #[test]
    fn runcmd_order_and_patch_pin() {
        let mut spec = minimal_spec();
        spec.kubernetes_version = "1.34.3".into();
        spec.kernel_modules = vec!["nf_conntrack".into(), "overlay".into()];
        spec.runcmd = vec!["echo user-1".into(), "echo user-2".into()];
        let doc = root(&render(&spec).expect("renders"));
        let runcmd = strings(doc.get("runcmd"));
        let expected_start = [
            "set -e",
            "swapoff -a",
            r"sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/#\1/' /etc/fstab",
            "systemctl mask swap.target",
            "modprobe -a overlay br_netfilter nf_conntrack",
            "sysctl --system",
            "install -d -m 0755 /etc/apt/keyrings",
            "curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg",
            "apt-get update",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y kubelet kubeadm kubectl",
            "apt-mark hold kubelet kubeadm kubectl",
            "systemctl restart containerd",
            "systemctl enable --now kubelet",
            "echo user-1",
            "echo user-2",
        ];
        assert_eq!(runcmd, expected_start);
        assert_eq!(
            file_content(&doc, APT_PREFERENCES_PATH),
            "Package: kubelet kubeadm kubectl\nPin: version 1.34.3-*\nPin-Priority: 1001\n"
        );
        assert!(file_content(&doc, APT_SOURCE_PATH).contains("/v1.34/deb/ /"));
        assert_eq!(
            file_content(&doc, MODULES_PATH).lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>(),
            ["overlay", "br_netfilter", "nf_conntrack"]
        );
        // A minor-only version gets no pin file.
        let doc = root(&render(&minimal_spec()).expect("renders"));
        assert!(!files(&doc).iter().any(|f| f.get("path").and_then(Yaml::as_str) == Some(APT_PREFERENCES_PATH)));
    }

    /// Docker's containerd 2.x: no Debian containerd in `packages`; the
    /// repository and its pin deferred; the key before the one apt-get
    /// update; containerd.io installed, held and version-checked before the
    /// Kubernetes packages; config version 3.
    #[test]
    fn docker_containerd_for_kubernetes_1_36() {
        let mut spec = minimal_spec();
        spec.kubernetes_version = "1.36.3".into();
        assert!(matches!(render(&spec), Err(CloudInitError::ContainerdTooOld { .. })));
        spec.container_runtime.source = "docker".into();
        let doc = root(&render(&spec).expect("renders"));
        assert_eq!(strings(doc.get("packages")), BASE_PACKAGES);
        let paths: Vec<String> =
            files(&doc).iter().map(|f| f.get("path").and_then(Yaml::as_str).expect("path").to_owned()).collect();
        assert_eq!(
            paths,
            [
                MODULES_PATH,
                SYSCTL_PATH,
                CRICTL_PATH,
                CONTAINERD_CONFIG_PATH,
                APT_SOURCE_PATH,
                APT_PREFERENCES_PATH,
                DOCKER_APT_SOURCE_PATH,
                CONTAINERD_PREFERENCES_PATH
            ]
        );
        let deferred: Vec<bool> = files(&doc).iter().map(|f| f.get("defer") == Some(&Yaml::Bool(true))).collect();
        assert_eq!(deferred, [false, false, false, true, true, true, true, true]);
        assert!(file_content(&doc, CONTAINERD_CONFIG_PATH).contains("\nversion = 3\n"));
        assert!(file_content(&doc, CONTAINERD_CONFIG_PATH).contains("sandbox = \"registry.k8s.io/pause:3.10.2\"\n"));
        assert_eq!(file_content(&doc, CONTAINERD_PREFERENCES_PATH), containerd::docker_apt_preferences());
        let runcmd = strings(doc.get("runcmd"));
        let at = |prefix: &str| runcmd.iter().position(|c| c.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}"));
        assert!(
            at("install -d -m 0755 /etc/apt/keyrings") < at("curl -fsSL https://download.docker.com/linux/debian/gpg")
        );
        assert!(at("curl -fsSL https://download.docker.com") < at("apt-get update"));
        assert!(at("apt-get update") < at("DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg"));
        assert!(at("apt-mark hold containerd.io") < at("containerd --version"));
        assert!(at("containerd --version") < at("DEBIAN_FRONTEND=noninteractive apt-get install -y kubelet"));
        assert!(at("DEBIAN_FRONTEND=noninteractive apt-get install -y kubelet") < at("systemctl restart containerd"));
    }

    #[test]
    fn hosts_file_sorted_by_address() {
        let mut spec = minimal_spec();
        spec.fqdn = Some("node1.lab.example".into());
        spec.hosts.insert("10.0.0.10".into(), vec!["cp1".into(), "cp1.lab.example".into()]);
        spec.hosts.insert("10.0.0.9".into(), vec!["lb".into()]);
        spec.hosts.insert("fd00::2".into(), vec!["v6".into()]);
        let doc = root(&render(&spec).expect("renders"));
        assert_eq!(doc.get("manage_etc_hosts"), Some(&Yaml::Bool(false)));
        assert_eq!(doc.get("fqdn"), Some(&Yaml::str("node1.lab.example")));
        let hosts = file_content(&doc, HOSTS_PATH);
        let lines: Vec<&str> = hosts.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "127.0.0.1 localhost",
                "127.0.1.1 node1.lab.example node1",
                "::1 localhost ip6-localhost ip6-loopback",
                "ff02::1 ip6-allnodes",
                "ff02::2 ip6-allrouters",
                "10.0.0.9 lb",
                "10.0.0.10 cp1 cp1.lab.example",
                "fd00::2 v6",
            ]
        );
        // Key order with the optional keys present.
        let keys: Vec<&str> = doc.keys().map(String::as_str).take(4).collect();
        assert_eq!(keys, ["hostname", "fqdn", "manage_etc_hosts", "timezone"]);
    }

    #[test]
    fn certificate_renewal_installs_the_providers_script_behind_a_timer() {
        let mut spec = minimal_spec();
        assert!(!render(&spec).expect("renders").document.contains("kubeadm-renew-certificates"));
        spec.certificate_renewal = Some(CertificateRenewal { days_before: 30 });
        let doc = root(&render(&spec).expect("renders"));
        assert_eq!(file_content(&doc, RENEW_CERTIFICATES_PATH), crate::node_scripts::RENEW_CERTIFICATES);
        let service = file_content(&doc, RENEWAL_SERVICE_PATH);
        assert!(service.contains("Environment=RENEW_WHEN_LESS_THAN=2592000\n"), "{service}");
        assert!(service.contains("ConditionPathExists=/etc/kubernetes/manifests/kube-apiserver.yaml\n"), "{service}");
        assert!(service.contains(&format!("ExecStart={RENEW_CERTIFICATES_PATH}\n")), "{service}");
        let timer = file_content(&doc, RENEWAL_TIMER_PATH);
        assert!(timer.contains("OnCalendar=daily\n") && timer.contains("FixedRandomDelay=true\n"), "{timer}");
        let script = files(&doc).into_iter().find(|f| f.get("path") == Some(&Yaml::str(RENEW_CERTIFICATES_PATH)));
        assert_eq!(script.and_then(|f| f.get("permissions").cloned()), Some(Yaml::str("0755")));
        let runcmd = strings(doc.get("runcmd"));
        let enable = runcmd.iter().position(|c| c == "systemctl enable --now kubeadm-renew-certificates.timer");
        let kubelet = runcmd.iter().position(|c| c == "systemctl enable --now kubelet");
        assert!(enable.is_some() && enable > kubelet, "{runcmd:?}");
        // A user file may not replace it.
        spec.write_files = vec![WriteFile::new(RENEW_CERTIFICATES_PATH, "echo mine")];
        let err = render(&spec).expect_err("replaces the generated script");
        assert!(
            matches!(&err, CloudInitError::WriteFileConflict { first, .. } if first.contains("kubeadm_certificate_renewal")),
            "{err:?}"
        );
        spec.write_files.clear();
        spec.certificate_renewal = Some(CertificateRenewal { days_before: 365 });
        let err = render(&spec).expect_err("a window longer than the lifetime");
        assert!(matches!(err, CloudInitError::InvalidRenewalWindow { days: 365 }), "{err:?}");
        assert_eq!(
            err.attribute_path(),
            [
                crate::cloudinit::AttributeStep::Attribute("kubeadm_certificate_renewal".into()),
                crate::cloudinit::AttributeStep::Attribute("days_before".into())
            ]
        );
    }

    #[test]
    fn keys_packages_sysctls_and_user_files() {
        let mut spec = minimal_spec();
        spec.user.github_keys = vec![ED25519_B.into(), ED25519.split(' ').take(2).collect::<Vec<_>>().join(" ")];
        spec.packages = vec!["htop".into(), "curl".into(), "nfs-common".into(), "htop".into(), "gpg=2.4.7-21".into()];
        spec.sysctls.insert("net.ipv4.ip_forward".into(), "0".into());
        spec.sysctls.insert("fs.inotify.max_user_instances".into(), "8192".into());
        spec.write_files = vec![WriteFile {
            permissions: Some("0600".into()),
            owner: Some("debian:debian".into()),
            defer: true,
            ..WriteFile::new("/home/debian/.config/x", "a: 1\n")
        }];
        let doc = root(&render(&spec).expect("renders"));
        let Some(Yaml::Seq(users)) = doc.get("users") else { panic!() };
        let Yaml::Map(user) = &users[0] else { panic!() };
        assert_eq!(strings(user.get("ssh_authorized_keys")), [ED25519, ED25519_B], "explicit first, dedup by key");
        assert_eq!(
            strings(doc.get("packages")),
            ["apt-transport-https", "ca-certificates", "curl", "gpg=2.4.7-21", "containerd", "htop", "nfs-common"]
        );
        let sysctl = file_content(&doc, SYSCTL_PATH);
        assert!(sysctl.contains("net.ipv4.ip_forward = 0\n"), "override in place: {sysctl}");
        assert!(sysctl.ends_with("fs.inotify.max_user_instances = 8192\n"), "{sysctl}");
        assert_eq!(sysctl.matches("ip_forward").count(), 1);
        let last = files(&doc).pop().expect("files");
        assert_eq!(last.get("path"), Some(&Yaml::str("/home/debian/.config/x")));
        assert_eq!(last.get("owner"), Some(&Yaml::str("debian:debian")));
        assert_eq!(last.get("permissions"), Some(&Yaml::str("0600")));
        assert_eq!(last.get("defer"), Some(&Yaml::Bool(true)));
        assert_eq!(last.get("append"), None);
    }

    #[test]
    fn base_is_merged() {
        let mut spec = minimal_spec();
        spec.runcmd = vec!["echo spec".into()];
        spec.base = Some(
            "#cloud-config\nruncmd:\n  - echo base\npackages: [jq]\nntp:\n  enabled: yes\nssh_pwauth: no\n\
             write_files:\n  - path: /etc/motd\n    content: hi\n    permissions: '0644'\ntimezone: Etc/UTC\n"
                .into(),
        );
        let rendered = render(&spec).expect("renders");
        let doc = root(&rendered);
        let runcmd = strings(doc.get("runcmd"));
        assert_eq!(&runcmd[runcmd.len() - 2..], ["echo spec", "echo base"]);
        assert_eq!(strings(doc.get("packages")).last().map(String::as_str), Some("jq"));
        assert_eq!(doc.keys().last().map(String::as_str), Some("ntp"), "base-only keys last");
        let Some(Yaml::Map(ntp)) = doc.get("ntp") else { panic!() };
        assert_eq!(ntp.get("enabled"), Some(&Yaml::Bool(true)), "YAML 1.1 yes stays a boolean");
        assert_eq!(doc.get("ssh_pwauth"), Some(&Yaml::Bool(false)));
        let motd = files(&doc).pop().expect("files");
        assert_eq!(motd.get("permissions"), Some(&Yaml::str("0644")));
        // Unquoted, YAML 1.1 reads 0644 as the integer 420, which
        // cloud-init's schema refuses: a plan error, not a boot warning.
        spec.base = Some("#cloud-config\nwrite_files:\n  - path: /etc/motd\n    permissions: 0644\n".into());
        let err = render(&spec).expect_err("octal permissions");
        assert!(matches!(err, CloudInitError::BaseSchema { ref path, .. } if path == "write_files[0].permissions"));
    }

    #[test]
    fn base_conflicts() {
        let mut spec = minimal_spec();
        spec.base = Some("#cloud-config\nhostname: other\n".into());
        let err = render(&spec).expect_err("owned");
        assert_eq!(err, CloudInitError::OwnedKeyConflict { path: "hostname".into(), attribute: "hostname".into() });
        spec.base = Some("#cloud-config\nusers: {name: x}\n".into());
        assert!(matches!(render(&spec), Err(CloudInitError::MergeTypeMismatch { ref path, .. }) if path == "users"));
        spec.base = Some("#cloud-config\nwrite_files:\n  - path: /etc/crictl.yaml\n    content: x\n".into());
        let err = render(&spec).expect_err("conflict");
        assert_eq!(
            err,
            CloudInitError::WriteFileConflict {
                field: Field::base_write_files().index(0).at(attr::PATH),
                path: "/etc/crictl.yaml".into(),
                first: "the file generated for attribute `container_runtime`".into(),
            }
        );
        spec.write_files = vec![WriteFile::new("/etc/motd", "a")];
        spec.base = Some("#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: b\n    append: true\n  - path: /etc/motd\n    content: c\n".into());
        let err = render(&spec).expect_err("conflict");
        assert!(
            err.to_string()
                .starts_with("base: write_files[1].path: \"/etc/motd\" is already written by write_files[0]"),
            "{err}"
        );
    }

    #[test]
    fn encodings() {
        let mut spec = minimal_spec();
        spec.base64_encode = true;
        let b64 = render(&spec).expect("renders");
        assert_eq!(BASE64.decode(&b64.content).expect("base64"), b64.document.as_bytes());
        assert_eq!(b64.sha256, hex_sha256(b64.content.as_bytes()));

        spec.gzip = true;
        let gz = render(&spec).expect("renders");
        let bytes = BASE64.decode(&gz.content).expect("base64");
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0], "gzip magic, deflate, no flags (no file name)");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "mtime 0");
        assert_eq!(bytes[9], 255, "OS unknown");
        let mut text = String::new();
        GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("gunzip");
        assert_eq!(text, gz.document);
        assert_eq!(render(&spec).expect("renders"), gz, "gzip is deterministic");
        assert_ne!(gz.sha256, b64.sha256);
        assert_eq!(encode_content("x", true, false), Err(CloudInitError::GzipRequiresBase64));
    }

    #[test]
    fn rendering_is_byte_stable() {
        let mut spec = minimal_spec();
        spec.hosts.insert("10.0.0.2".into(), vec!["b".into()]);
        spec.hosts.insert("10.0.0.1".into(), vec!["a".into()]);
        spec.sysctls.insert("vm.b".into(), "1".into());
        spec.sysctls.insert("vm.a".into(), "1".into());
        let first = render(&spec).expect("renders");
        for _ in 0..5 {
            assert_eq!(render(&spec.clone()).expect("renders").document, first.document);
        }
        assert_eq!(first.sha256, hex_sha256(render(&spec).expect("renders").document.as_bytes()),);
    }

    #[test]
    fn hex_sha256_known_value() {
        assert_eq!(hex_sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

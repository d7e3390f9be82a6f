//! The renderer's input and output types, with the documented defaults.

use std::collections::BTreeMap;

/// Default `timezone`.
pub const DEFAULT_TIMEZONE: &str = "Etc/UTC";
/// Default login user: the Debian cloud images' user.
pub const DEFAULT_USER: &str = "debian";
/// Default supplementary groups of the login user.
pub const DEFAULT_GROUPS: &[&str] = &["sudo"];
/// Default login shell.
pub const DEFAULT_SHELL: &str = "/bin/bash";
/// Default sudoers rule.
pub const DEFAULT_SUDO: &str = "ALL=(ALL) NOPASSWD:ALL";
/// Default CNI plugin directory. Debian's containerd looks in `/usr/lib/cni`,
/// but Cilium, Flannel and the `kubernetes-cni` package install to `/opt/cni/bin`.
pub const DEFAULT_CNI_BIN_DIR: &str = "/opt/cni/bin";
/// Default CNI configuration directory.
pub const DEFAULT_CNI_CONF_DIR: &str = "/etc/cni/net.d";

/// Everything needed to render the user-data of one kubeadm node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudInitSpec {
    /// Host name (becomes the Kubernetes node name, so lowercase RFC 1123).
    pub hostname: String,
    /// Fully qualified name; must start with `hostname.`.
    pub fqdn: Option<String>,
    /// IANA time zone name, [`DEFAULT_TIMEZONE`] unless set.
    pub timezone: String,
    /// System locale such as `en_US.UTF-8`; left to the image when `None`.
    pub locale: Option<String>,
    /// `1.<minor>` (latest patch of the minor) or `1.<minor>.<patch>` (pinned).
    pub kubernetes_version: String,
    /// containerd settings.
    pub container_runtime: ContainerRuntime,
    /// A systemd timer that renews kubeadm's certificates on the node (control planes).
    pub certificate_renewal: Option<CertificateRenewal>,
    /// Kernel modules to load beyond `overlay` and `br_netfilter`.
    pub kernel_modules: Vec<String>,
    /// sysctls beyond the Kubernetes defaults; a key equal to a default overrides it.
    pub sysctls: BTreeMap<String, String>,
    /// The login user.
    pub user: User,
    /// `/etc/hosts` entries: IP address to names. Non-empty turns off
    /// cloud-init's `manage_etc_hosts` and writes the whole file.
    pub hosts: BTreeMap<String, Vec<String>>,
    /// Extra Debian packages, installed with the base set.
    pub packages: Vec<String>,
    /// Extra files, written after the generated ones.
    pub write_files: Vec<WriteFile>,
    /// Extra commands, run after node preparation.
    pub runcmd: Vec<String>,
    /// A `#cloud-config` document deep-merged into the generated one.
    pub base: Option<String>,
    /// Gzip the document (requires `base64_encode`).
    pub gzip: bool,
    /// Base64-encode the (possibly gzipped) document.
    pub base64_encode: bool,
}

impl CloudInitSpec {
    /// A spec with every optional input at its default.
    pub fn new(hostname: impl Into<String>, kubernetes_version: impl Into<String>) -> Self {
        Self { hostname: hostname.into(), kubernetes_version: kubernetes_version.into(), ..Self::default() }
    }
}

impl Default for CloudInitSpec {
    /// Empty `hostname` and `kubernetes_version` (both required, so this
    /// does not validate as is); every other field at its default.
    fn default() -> Self {
        Self {
            hostname: String::new(),
            fqdn: None,
            timezone: DEFAULT_TIMEZONE.to_owned(),
            locale: None,
            kubernetes_version: String::new(),
            container_runtime: ContainerRuntime::default(),
            certificate_renewal: None,
            kernel_modules: Vec::new(),
            sysctls: BTreeMap::new(),
            user: User::default(),
            hosts: BTreeMap::new(),
            packages: Vec::new(),
            write_files: Vec::new(),
            runcmd: Vec::new(),
            base: None,
            gzip: false,
            base64_encode: false,
        }
    }
}

/// Default `container_runtime.source`: Debian 13's containerd 1.7.
pub const DEFAULT_CONTAINERD_SOURCE: &str = "debian";

/// containerd configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRuntime {
    /// Where containerd comes from: `debian` (1.7) or `docker` (2.x), see
    /// [`ContainerdSource`](super::containerd::ContainerdSource).
    pub source: String,
    /// Pause image; `None` picks the one kubeadm of the version expects
    /// (see [`PAUSE_IMAGES`](super::kubernetes::PAUSE_IMAGES)).
    pub sandbox_image: Option<String>,
    /// CNI plugin directory, [`DEFAULT_CNI_BIN_DIR`] by default.
    pub cni_bin_dir: String,
    /// CNI configuration directory, [`DEFAULT_CNI_CONF_DIR`] by default.
    pub cni_conf_dir: String,
    /// `SystemdCgroup` for runc; kubelet uses the systemd driver by default.
    pub systemd_cgroup: bool,
}

impl Default for ContainerRuntime {
    fn default() -> Self {
        Self {
            source: DEFAULT_CONTAINERD_SOURCE.to_owned(),
            sandbox_image: None,
            cni_bin_dir: DEFAULT_CNI_BIN_DIR.to_owned(),
            cni_conf_dir: DEFAULT_CNI_CONF_DIR.to_owned(),
            systemd_cgroup: true,
        }
    }
}

/// `kubeadm_certificate_renewal`: a daily systemd timer that renews the
/// control plane's kubeadm certificates once fewer than `days_before` days
/// are left of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateRenewal {
    /// Renew when fewer days than this are left (1 to 364).
    pub days_before: i64,
}

/// The login user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name, [`DEFAULT_USER`] by default.
    pub name: String,
    /// Public keys given explicitly, one `type base64 [comment]` per entry.
    pub ssh_authorized_keys: Vec<String>,
    /// Public keys fetched from GitHub by the caller and pinned; appended
    /// after the explicit keys, duplicates dropped.
    pub github_keys: Vec<String>,
    /// Supplementary groups (created if missing), [`DEFAULT_GROUPS`] by default.
    pub groups: Vec<String>,
    /// Login shell, [`DEFAULT_SHELL`] by default.
    pub shell: String,
    /// sudoers rule, [`DEFAULT_SUDO`] by default; `None` grants no sudo.
    pub sudo: Option<String>,
}

impl Default for User {
    fn default() -> Self {
        Self {
            name: DEFAULT_USER.to_owned(),
            ssh_authorized_keys: Vec::new(),
            github_keys: Vec::new(),
            groups: DEFAULT_GROUPS.iter().map(|g| (*g).to_owned()).collect(),
            shell: DEFAULT_SHELL.to_owned(),
            sudo: Some(DEFAULT_SUDO.to_owned()),
        }
    }
}

/// One cloud-init `write_files` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteFile {
    /// Absolute path on the node.
    pub path: String,
    /// Content, encoded as `encoding` says.
    pub content: String,
    /// Octal mode string such as `0644`; cloud-init's default (0644) when `None`.
    pub permissions: Option<String>,
    /// `user` or `user:group`; root when `None`.
    pub owner: Option<String>,
    /// `b64`, `gz+b64`, ... when `content` is encoded; plain text when `None`.
    pub encoding: Option<String>,
    /// Append to the file instead of replacing it.
    pub append: bool,
    /// Write in the final stage, after users and packages exist.
    pub defer: bool,
}

impl WriteFile {
    /// A plain-text file with cloud-init's defaults.
    pub fn new(path: impl Into<String>, content: impl Into<String>) -> Self {
        Self { path: path.into(), content: content.into(), ..Self::default() }
    }
}

/// The rendered user-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// What goes into user-data: the document, or base64 of (gzip of) it.
    pub content: String,
    /// The plain `#cloud-config` YAML document.
    pub document: String,
    /// Lowercase hex SHA-256 of `content`.
    pub sha256: String,
}

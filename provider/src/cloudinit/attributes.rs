//! The name of every `cloudinit_config` attribute, written once: the
//! schema, the parser, the error places and the generated-file table all
//! use these, so a rename cannot leave one of them behind.

/// Computed: the `sha256` of `rendered`.
pub const ID: &str = "id";
/// Host name.
pub const HOSTNAME: &str = "hostname";
/// Fully qualified name.
pub const FQDN: &str = "fqdn";
/// IANA time zone.
pub const TIMEZONE: &str = "timezone";
/// System locale.
pub const LOCALE: &str = "locale";
/// Kubernetes version of the pkgs.k8s.io packages.
pub const KUBERNETES_VERSION: &str = "kubernetes_version";
/// Extra kernel modules.
pub const KERNEL_MODULES: &str = "kernel_modules";
/// Extra sysctls.
pub const SYSCTLS: &str = "sysctls";
/// `/etc/hosts` entries.
pub const HOSTS: &str = "hosts";
/// Extra Debian packages.
pub const PACKAGES: &str = "packages";
/// Extra files (and, in `base`, its own list).
pub const WRITE_FILES: &str = "write_files";
/// Extra commands.
pub const RUNCMD: &str = "runcmd";
/// A document merged into the generated one.
pub const BASE: &str = "base";
/// Gzip the output.
pub const GZIP: &str = "gzip";
/// Base64-encode the output.
pub const BASE64_ENCODE: &str = "base64_encode";
/// Computed: the keys fetched from GitHub, pinned.
pub const GITHUB_SSH_KEYS: &str = "github_ssh_keys";
/// Computed: the user-data.
pub const RENDERED: &str = "rendered";
/// Computed: the `sha256` of `rendered`.
pub const SHA256: &str = "sha256";

/// Block: the login user.
pub const USER: &str = "user";
/// `user.name`.
pub const NAME: &str = "name";
/// `user.ssh_authorized_keys`.
pub const SSH_AUTHORIZED_KEYS: &str = "ssh_authorized_keys";
/// `user.ssh_keys_from_github`.
pub const SSH_KEYS_FROM_GITHUB: &str = "ssh_keys_from_github";
/// `user.groups`.
pub const GROUPS: &str = "groups";
/// `user.shell`.
pub const SHELL: &str = "shell";
/// `user.sudo`.
pub const SUDO: &str = "sudo";

/// Block: containerd.
pub const CONTAINER_RUNTIME: &str = "container_runtime";
/// `container_runtime.source`.
pub const SOURCE: &str = "source";
/// `container_runtime.sandbox_image`.
pub const SANDBOX_IMAGE: &str = "sandbox_image";
/// `container_runtime.cni_bin_dir`.
pub const CNI_BIN_DIR: &str = "cni_bin_dir";
/// `container_runtime.cni_conf_dir`.
pub const CNI_CONF_DIR: &str = "cni_conf_dir";
/// `container_runtime.systemd_cgroup`.
pub const SYSTEMD_CGROUP: &str = "systemd_cgroup";

/// Block: the renewal timer on control planes.
pub const KUBEADM_CERTIFICATE_RENEWAL: &str = "kubeadm_certificate_renewal";
/// `kubeadm_certificate_renewal.days_before`.
pub const DAYS_BEFORE: &str = "days_before";

/// `write_files[*].path`.
pub const PATH: &str = "path";
/// `write_files[*].content`.
pub const CONTENT: &str = "content";
/// `write_files[*].permissions`.
pub const PERMISSIONS: &str = "permissions";
/// `write_files[*].owner`.
pub const OWNER: &str = "owner";
/// `write_files[*].encoding`.
pub const ENCODING: &str = "encoding";
/// `write_files[*].append`.
pub const APPEND: &str = "append";
/// `write_files[*].defer`.
pub const DEFER: &str = "defer";

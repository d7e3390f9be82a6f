//! The single error type of the cloud-init renderer.
//!
//! Every variant names the attribute (or attribute path, Terraform style:
//! `user.ssh_authorized_keys[1]`, `sysctls["vm.swappiness"]`, `write_files[0].path`)
//! that caused it, so the resource can attach the diagnostic to the right
//! place; [`CloudInitError::attribute`] returns that top-level attribute name.

use thiserror::Error;

use super::attributes as attr;
use super::field::{AttributeStep, Field};

/// Everything that can go wrong while validating or rendering a
/// [`CloudInitSpec`](super::spec::CloudInitSpec).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CloudInitError {
    /// `hostname`, `fqdn` or a name in `hosts` is not an RFC 1123 host name.
    #[error("{field}: {value:?} is not a valid host name: {reason}")]
    InvalidHostname {
        /// Attribute path, e.g. `hostname` or `hosts["10.0.0.2"][0]`.
        field: Field,
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// `timezone` is not in the embedded IANA time zone list.
    #[error(
        "timezone: {value:?} is not a known IANA time zone name{suggestion} \
         (examples: \"Etc/UTC\", \"Europe/Berlin\", \"America/New_York\")"
    )]
    UnknownTimezone {
        /// The offending value.
        value: String,
        /// `"; did you mean \"Europe/Berlin\"?"` when only the case differed, else empty.
        suggestion: String,
    },

    /// `locale` does not look like a glibc locale name.
    #[error("locale: {value:?} is not a valid locale name (examples: \"en_US.UTF-8\", \"C.UTF-8\")")]
    InvalidLocale {
        /// The offending value.
        value: String,
    },

    /// `kubernetes_version` is not `1.<minor>` or `1.<minor>.<patch>`.
    #[error(
        "kubernetes_version: {value:?} is not supported: {reason} \
         (expected \"1.<minor>\" or \"1.<minor>.<patch>\", e.g. \"1.35\" or \"1.35.2\")"
    )]
    InvalidKubernetesVersion {
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// No pause image is recorded for this minor and none was given explicitly.
    #[error(
        "container_runtime.sandbox_image: no pause image is recorded for Kubernetes {minor} \
         (known: {known}); set container_runtime.sandbox_image to the image \
         `kubeadm config images list` prints for that version"
    )]
    UnknownPauseImage {
        /// `1.<minor>` of `kubernetes_version`.
        minor: String,
        /// Comma-separated minors the table knows.
        known: String,
    },

    /// `container_runtime.source` is neither `debian` nor `docker`.
    #[error("container_runtime.source: {value:?} is not a containerd source; use \"debian\" or \"docker\"")]
    InvalidContainerdSource {
        /// The offending value.
        value: String,
    },

    /// Debian's containerd 1.7 with a Kubernetes release that needs 2.x.
    #[error(
        "container_runtime.source: Kubernetes {kubernetes} does not support containerd 1.x, and \"debian\" \
         installs Debian 13's containerd 1.7 (Kubernetes 1.35 is the last release that supports it); \
         set source = \"docker\" to install containerd 2.x from Docker's Debian repository"
    )]
    ContainerdTooOld {
        /// `1.<minor>` of `kubernetes_version`.
        kubernetes: String,
    },

    /// `container_runtime.sandbox_image` is not a plausible image reference.
    #[error("container_runtime.sandbox_image: {value:?} is not a valid image reference: {reason}")]
    InvalidSandboxImage {
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// A file system path attribute is not an absolute, single-line path.
    #[error("{field}: {value:?} is not a valid path: {reason}")]
    InvalidPath {
        /// Attribute path, e.g. `write_files[2].path` or `container_runtime.cni_bin_dir`.
        field: Field,
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// A kernel module name contains characters modprobe does not accept.
    #[error(
        "{field}: {value:?} is not a valid kernel module name \
         (letters, digits, '_' and '-', at most 55 characters)"
    )]
    InvalidKernelModule {
        /// Attribute path, e.g. `kernel_modules[0]`.
        field: Field,
        /// The offending value.
        value: String,
    },

    /// A sysctl key or value cannot be written to a sysctl.d file.
    #[error("{field}: {reason}")]
    InvalidSysctl {
        /// Attribute path, e.g. `sysctls["vm.swappiness"]`.
        field: Field,
        /// Which rule it breaks.
        reason: String,
    },

    /// `kubeadm_certificate_renewal.days_before` is outside 1 to 364.
    #[error(
        "kubeadm_certificate_renewal.days_before: {days} must be from 1 to 364 (kubeadm's certificates live 365 days unless certificateValidityPeriod says otherwise)"
    )]
    InvalidRenewalWindow {
        /// The configured number.
        days: i64,
    },

    /// A package name is not a Debian package name (optionally `=version`),
    /// or is one the renderer installs itself.
    #[error("{field}: {value:?} {reason}")]
    InvalidPackage {
        /// Attribute path, e.g. `packages[3]`.
        field: Field,
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// The user name, a group, the shell or the sudo rule is unusable.
    #[error("{field}: {value:?} {reason}")]
    InvalidUser {
        /// Attribute path, e.g. `user.name` or `user.groups[1]`.
        field: Field,
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// An SSH public key line is malformed or of an unsupported type.
    #[error("{field}: invalid SSH public key: {reason}")]
    InvalidSshKey {
        /// Attribute path, e.g. `user.github_keys[0]`, or `line 3` for
        /// [`parse_authorized_keys`](super::ssh_key::parse_authorized_keys).
        field: Field,
        /// Which rule it breaks.
        reason: String,
    },

    /// The user would have no SSH key; with a locked password that makes the
    /// node unreachable.
    #[error(
        "user: no SSH public key given; set user.ssh_authorized_keys or user.ssh_keys_from_github \
         (the password is locked and password SSH login is disabled)"
    )]
    NoSshKeys,

    /// A `hosts` entry is unusable (bad IP, no names, duplicate IP).
    #[error("{field}: {reason}")]
    InvalidHostsEntry {
        /// Attribute path, e.g. `hosts["10.0.0.300"]`.
        field: Field,
        /// Which rule it breaks.
        reason: String,
    },

    /// `permissions` of a write_files entry is not an octal mode string.
    #[error("{field}: {value:?} is not an octal file mode string such as \"0644\" or \"0755\"")]
    InvalidPermissions {
        /// Attribute path, e.g. `write_files[0].permissions`.
        field: Field,
        /// The offending value.
        value: String,
    },

    /// `owner` of a write_files entry is not `user` or `user:group`, or names
    /// the managed user without `defer`.
    #[error("{field}: {value:?} {reason}")]
    InvalidOwner {
        /// Attribute path, e.g. `write_files[0].owner`.
        field: Field,
        /// The offending value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// `encoding` of a write_files entry is not one cloud-init can apply to
    /// text content.
    #[error(
        "{field}: {value:?} is not a supported encoding \
         (one of: text/plain, b64, base64, gz+b64, gz+base64, gzip+b64, gzip+base64)"
    )]
    InvalidEncoding {
        /// Attribute path, e.g. `write_files[0].encoding`.
        field: Field,
        /// The offending value.
        value: String,
    },

    /// `content` of a write_files entry does not match its encoding.
    #[error("{field}: {reason}")]
    InvalidContent {
        /// Attribute path, e.g. `write_files[0].content`.
        field: Field,
        /// Which rule it breaks.
        reason: String,
    },

    /// A runcmd entry is empty or contains a NUL byte.
    #[error("{field}: {reason}")]
    InvalidRuncmd {
        /// Attribute path, e.g. `runcmd[4]`.
        field: Field,
        /// Which rule it breaks.
        reason: String,
    },

    /// Two write_files entries target the same path and the later one does
    /// not `append`; cloud-init would silently keep only one of them.
    #[error(
        "{field}: {path:?} is already written by {first}; \
         remove one of them or set append = true on the later one"
    )]
    WriteFileConflict {
        /// Attribute path of the later entry, e.g. `write_files[1].path` or
        /// `base: write_files[0].path`.
        field: Field,
        /// The doubly written path.
        path: String,
        /// Who writes it first, e.g. `the generated file for attribute "hosts"`.
        first: String,
    },

    /// `base` does not start with the line `#cloud-config`.
    #[error("base: the first line must be exactly \"#cloud-config\"")]
    BaseMissingHeader,

    /// `base` is not parseable YAML.
    #[error("base: not valid YAML at line {line}, column {column}: {message}")]
    BaseNotYaml {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message.
        message: String,
    },

    /// `base` parses, but its top level is not a mapping.
    #[error("base: the document must be a YAML mapping (key: value pairs), found {found}")]
    BaseNotMapping {
        /// Kind of the top-level node, e.g. `a list`.
        found: String,
    },

    /// `base` uses a YAML feature the renderer cannot carry over faithfully.
    #[error("base: at {path}: {reason}")]
    BaseUnsupported {
        /// Path inside the base document, e.g. `write_files[0]`.
        path: String,
        /// What is unsupported and what to do instead.
        reason: String,
    },

    /// `base` (or the document merged from it) breaks cloud-init 25.1's
    /// cloud-config schema: an unknown key, a wrong type or shape.
    #[error(
        "base: at {path}: {reason}{}",
        if *merged { " (in the document merged from base and the generated keys)" } else { "" }
    )]
    BaseSchema {
        /// Path inside the document, e.g. `write_files[0].contnt`.
        path: String,
        /// What is wrong, e.g. "unknown key `contnt`".
        reason: String,
        /// Found only after merging `base` into the generated document.
        merged: bool,
    },

    /// `base` sets a key the resource owns to a different value.
    #[error(
        "base: key `{path}` is set by the resource; use the `{attribute}` attribute \
         instead of setting it in base"
    )]
    OwnedKeyConflict {
        /// Path inside the document, e.g. `timezone`.
        path: String,
        /// The attribute that owns it.
        attribute: String,
    },

    /// `base` and the generated document disagree on the type of a node
    /// (for example a list against a mapping).
    #[error("base: key `{path}` is {generated} in the generated document but {base} in base")]
    MergeTypeMismatch {
        /// Path inside the document, e.g. `runcmd`.
        path: String,
        /// Kind in the generated document, e.g. `a list`.
        generated: String,
        /// Kind in base, e.g. `a string`.
        base: String,
    },

    /// `gzip = true` without `base64_encode = true`: raw gzip bytes cannot
    /// travel in a Terraform string.
    #[error("gzip: gzip = true requires base64_encode = true (gzip output is binary)")]
    GzipRequiresBase64,

    /// Compressing the document failed (only possible on allocation failure).
    #[error("gzip: compressing the document failed: {message}")]
    Compression {
        /// The I/O error text.
        message: String,
    },
}

impl CloudInitError {
    /// The attribute path as steps, for a Terraform diagnostic:
    /// `user.ssh_authorized_keys[1]` gives `[Attribute("user"),
    /// Attribute("ssh_authorized_keys"), Index(1)]`. Errors inside `base`
    /// point at `base`; errors in keys fetched from GitHub point at
    /// `user.ssh_keys_from_github`.
    #[must_use]
    pub fn attribute_path(&self) -> Vec<AttributeStep> {
        self.field().attribute_path()
    }

    /// Where the input at fault lives.
    #[must_use]
    pub fn field(&self) -> Field {
        let nested = |block: &str, name: &str| Field::attr(block).at(name);
        match self {
            Self::InvalidHostname { field, .. }
            | Self::InvalidPath { field, .. }
            | Self::InvalidKernelModule { field, .. }
            | Self::InvalidSysctl { field, .. }
            | Self::InvalidPackage { field, .. }
            | Self::InvalidUser { field, .. }
            | Self::InvalidHostsEntry { field, .. }
            | Self::InvalidPermissions { field, .. }
            | Self::InvalidOwner { field, .. }
            | Self::InvalidEncoding { field, .. }
            | Self::InvalidContent { field, .. }
            | Self::InvalidRuncmd { field, .. }
            | Self::WriteFileConflict { field, .. }
            | Self::InvalidSshKey { field, .. } => field.clone(),
            Self::UnknownTimezone { .. } => Field::attr(attr::TIMEZONE),
            Self::InvalidLocale { .. } => Field::attr(attr::LOCALE),
            Self::InvalidKubernetesVersion { .. } => Field::attr(attr::KUBERNETES_VERSION),
            Self::InvalidRenewalWindow { .. } => nested(attr::KUBEADM_CERTIFICATE_RENEWAL, attr::DAYS_BEFORE),
            Self::UnknownPauseImage { .. } | Self::InvalidSandboxImage { .. } => {
                nested(attr::CONTAINER_RUNTIME, attr::SANDBOX_IMAGE)
            }
            Self::InvalidContainerdSource { .. } | Self::ContainerdTooOld { .. } => {
                nested(attr::CONTAINER_RUNTIME, attr::SOURCE)
            }
            Self::NoSshKeys => Field::attr(attr::USER),
            Self::BaseMissingHeader
            | Self::BaseNotYaml { .. }
            | Self::BaseNotMapping { .. }
            | Self::BaseUnsupported { .. }
            | Self::BaseSchema { .. }
            | Self::OwnedKeyConflict { .. }
            | Self::MergeTypeMismatch { .. } => Field::attr(attr::BASE),
            Self::GzipRequiresBase64 | Self::Compression { .. } => Field::attr(attr::GZIP),
        }
    }

    /// The top-level attribute the error belongs to (`hostname`, `user`,
    /// `write_files`, `base`, ...), for attaching a Terraform diagnostic.
    #[must_use]
    pub fn attribute(&self) -> String {
        self.field().attribute()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_is_where_the_input_came_from() {
        let key = Field::attr("user").at("ssh_authorized_keys").index(1);
        let e = CloudInitError::InvalidSshKey { field: key, reason: "x".into() };
        assert_eq!(e.attribute(), "user");
        assert!(e.to_string().starts_with("user.ssh_authorized_keys[1]: "), "{e}");
        let e = CloudInitError::WriteFileConflict {
            field: Field::base_write_files().index(0).at("path"),
            path: "/etc/hosts".into(),
            first: "y".into(),
        };
        assert_eq!(e.attribute(), "base");
        assert!(e.to_string().starts_with("base: write_files[0].path: "), "{e}");
        assert_eq!(CloudInitError::GzipRequiresBase64.attribute(), "gzip");
        assert_eq!(
            CloudInitError::OwnedKeyConflict { path: "timezone".into(), attribute: "timezone".into() }.attribute(),
            "base"
        );
    }

    #[test]
    fn errors_without_a_field_of_their_own_name_their_attribute_path() {
        use AttributeStep::Attribute;
        let e = CloudInitError::InvalidPermissions {
            field: Field::attr("write_files").index(0).at("permissions"),
            value: "x".into(),
        };
        assert_eq!(
            e.attribute_path(),
            [Attribute("write_files".into()), AttributeStep::Index(0), Attribute("permissions".into())]
        );
        assert_eq!(CloudInitError::BaseMissingHeader.attribute_path(), [Attribute("base".into())]);
        assert_eq!(
            CloudInitError::UnknownPauseImage { minor: "1.99".into(), known: String::new() }.attribute_path(),
            [Attribute("container_runtime".into()), Attribute("sandbox_image".into())]
        );
        let e = CloudInitError::InvalidSshKey { field: Field::FetchedKeyLine(3), reason: "x".into() };
        assert_eq!(e.attribute_path(), [Attribute("user".into()), Attribute("ssh_keys_from_github".into())]);
    }

    #[test]
    fn messages_name_the_attribute_and_the_fix() {
        let e = CloudInitError::OwnedKeyConflict { path: "timezone".into(), attribute: "timezone".into() };
        let msg = e.to_string();
        assert!(msg.contains("`timezone`"), "{msg}");
        assert!(msg.contains("attribute"), "{msg}");
        let e = CloudInitError::UnknownPauseImage { minor: "1.99".into(), known: "1.35".into() };
        assert!(e.to_string().contains("container_runtime.sandbox_image"));
    }
}

//! cloud-init user-data for Debian 13 kubeadm nodes: a pure, deterministic
//! renderer.
//!
//! [`render`] turns a [`CloudInitSpec`] into a `#cloud-config` document
//! that prepares the VM (swap off, kernel modules, sysctls, containerd with
//! systemd cgroups, kubelet/kubeadm/kubectl from pkgs.k8s.io, the login
//! user, `/etc/hosts`), deep-merges the user's `base` document into it, and
//! optionally gzips and base64-encodes it. Same input, same bytes.
//!
//! Modules:
//! - [`spec`] holds the input/output types and defaults;
//! - [`render`](mod@render) generates and encodes the document;
//! - [`validate`](mod@validate) has the per-attribute validation helpers;
//! - [`merge`] deep-merges `base` and lists the keys the resource owns;
//! - [`cloud_config_schema`] checks `base` and the merged document against
//!   cloud-init 25.1's cloud-config schema at plan time;
//! - [`crate::yaml`] (shared with `kubeadm`) is the ordered YAML model, emitter
//!   and PyYAML-compatible parser;
//! - [`ssh_key`] validates SSH public keys;
//! - [`kubernetes`] parses versions and knows the apt repository and pause images;
//! - [`containerd`] knows where containerd comes from (Debian's 1.7 or
//!   Docker's 2.x) and writes its configuration;
//! - [`error`] defines [`CloudInitError`].

pub mod attributes;
pub mod cloud_config_schema;
pub mod containerd;
pub mod error;
pub mod field;
pub mod generated_files;
pub mod github_keys;
pub mod input;
pub mod kubernetes;
pub mod merge;
pub mod render;
pub mod resource;
pub mod spec;
pub mod ssh_key;
pub mod validate;

#[cfg(test)]
mod schema_differential;
#[cfg(test)]
pub(crate) mod schema_tests;

pub use containerd::ContainerdSource;
pub use error::CloudInitError;
pub use field::{AttributeStep, Field};
pub use kubernetes::{KubernetesVersion, PAUSE_IMAGES, PauseImage};
pub use merge::{OWNED_KEYS, OwnedKey};
pub use render::{GENERATED_KEY_ORDER, encode_content, render};
pub use spec::{
    CertificateRenewal, CloudInitSpec, ContainerRuntime, DEFAULT_CNI_BIN_DIR, DEFAULT_CNI_CONF_DIR,
    DEFAULT_CONTAINERD_SOURCE, DEFAULT_GROUPS, DEFAULT_SHELL, DEFAULT_SUDO, DEFAULT_TIMEZONE, DEFAULT_USER, Rendered,
    User, WriteFile,
};
pub use ssh_key::{SshPublicKey, parse_authorized_keys, validate_ssh_public_key};
pub use validate::{parse_base, validate, validate_all};

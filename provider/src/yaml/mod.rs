//! Ordered YAML document model, a deterministic emitter, and a parser
//! wrapper that reads YAML the way cloud-init does.
//!
//! The emitter is the crate's only one: `cloudinit` writes user-data with
//! it, and `kubeadm` its v1beta4 configuration files, the kube-vip manifest
//! and the admin kubeconfig (Go's YAML reader in kubeadm and kubectl has
//! the same YAML 1.1 pitfalls as PyYAML).
//!
//! cloud-init loads user-data with PyYAML's safe loader, i.e. YAML 1.1
//! resolution: `yes`/`on` are booleans, `0644` is octal 420, `1:30` is 90.
//! yaml-rust2 only tokenises here; scalar resolution, tags, anchors and merge
//! keys (`<<`) are done in this module with PyYAML's rules, so a value in the
//! user's `base` keeps the type cloud-init would have given it.
//!
//! The emitter writes block style only, two-space indentation, and quotes
//! every string that either YAML 1.1 (PyYAML) or YAML 1.2 (yaml-rust2 and
//! most other tools) could read as anything but a string. Output depends on
//! nothing but the tree, so equal trees give byte-identical text.

use indexmap::IndexMap;

mod emit;
mod parse;

pub use emit::{emit, emit_cloud_config};
pub(crate) use parse::push_path_key;
pub use parse::{YamlError, parse};

#[cfg(test)]
pub(crate) mod tests;

/// An insertion-ordered YAML mapping with string keys (cloud-config has no
/// other kind of key).
pub type Mapping = IndexMap<String, Yaml>;

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// A float (emitted so that both YAML 1.1 and 1.2 read a float).
    Float(f64),
    /// A string.
    Str(String),
    /// `!!binary` data (cloud-init accepts it for write_files content).
    Binary(Vec<u8>),
    /// A block sequence.
    Seq(Vec<Yaml>),
    /// A block mapping.
    Map(Mapping),
}

impl Yaml {
    /// A string node.
    pub fn str(value: impl Into<String>) -> Self {
        Self::Str(value.into())
    }

    /// A sequence of string nodes.
    pub fn str_seq<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Seq(items.into_iter().map(|s| Self::Str(s.into())).collect())
    }

    /// Human-readable kind, for error messages ("a list", "a string", ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a float",
            Self::Str(_) => "a string",
            Self::Binary(_) => "binary data",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }

    /// The string value, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The first line of every cloud-config document.
pub const CLOUD_CONFIG_HEADER: &str = "#cloud-config";

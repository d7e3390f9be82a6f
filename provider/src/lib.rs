//! Terraform providers for a kubeadm homelab, written in Rust.
//!
//! One library, two plugin binaries: `terraform-provider-cloudinit` serves
//! `cloudinit_config`, `terraform-provider-kubeadm` serves `kubeadm_cluster`.
//!
//! Layers, from the wire inwards:
//! - [`plugin`]: what the go-plugin host (Terraform) expects from a plugin
//!   process: handshake, AutoMTLS, health, controller, stdio, logging;
//! - [`protocol`]: the tfplugin6 RPCs, one thin adapter each;
//! - [`framework`]: schemas, plan rules, diagnostics and resource traits;
//! - [`value`]: Terraform's type system and its msgpack/JSON encodings;
//! - [`providers`] and the resource modules ([`cloudinit`], [`kubeadm`]): the logic;
//! - [`yaml`]: the one YAML emitter (and cloud-init's parser) both resource
//!   modules write their documents with.

pub mod cloudinit;
pub mod crypto;
pub mod error_chain;
pub mod framework;
pub mod kubeadm;
pub mod node_scripts;
pub mod plugin;
pub mod proto;
pub mod protocol;
pub mod providers;
pub mod ssh;
pub mod value;
pub mod yaml;

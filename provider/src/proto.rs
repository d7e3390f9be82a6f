//! Code generated at build time from the `.proto` files in `proto/`.
#![allow(missing_docs, missing_debug_implementations, clippy::all, clippy::pedantic)]

/// Terraform plugin protocol, major version 6.
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// Services that the go-plugin host (Terraform) expects beside the provider.
pub mod plugin {
    tonic::include_proto!("plugin");
}

//! Generates the gRPC code for the Terraform plugin protocol and the
//! go-plugin host services from `proto/`, with `protox` so no system
//! `protoc` is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files =
        ["tfplugin6.proto", "plugin/grpc_controller.proto", "plugin/grpc_stdio.proto", "plugin/grpc_broker.proto"];
    for file in &files {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }
    let descriptors = protox::compile(files, [&proto_root])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}

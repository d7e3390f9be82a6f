//! The Terraform plugin protocol 6 adapter: turns each RPC into calls on the
//! framework traits (`crate::framework`), with one thin function per RPC.
//! Decoding problems and user errors become diagnostics in an `Ok`
//! response; gRPC errors are never used for them.

mod convert;
mod server;
#[cfg(test)]
mod tests;

pub use server::ProviderService;

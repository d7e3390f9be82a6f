//! Terraform's type system on the wire: types, values with null and unknown,
//! attribute paths, and the msgpack and JSON encodings of `DynamicValue`.

mod error;
mod json;
mod msgpack;
mod path;
mod types;
#[allow(clippy::module_inception)]
mod value;

pub use error::ValueError;
#[cfg(test)]
pub use json::untyped_from_json;
pub use json::{decode_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use path::{AttributePath, PathStep};
pub use types::Type;
pub use value::{Number, Value};

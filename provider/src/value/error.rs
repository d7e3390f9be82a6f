use super::AttributePath;

/// Errors while decoding or encoding a value against a type.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// The bytes ended before the value was complete.
    #[error("value at {path} is truncated")]
    Truncated {
        /// Where in the value decoding stopped.
        path: AttributePath,
    },
    /// The encoded value does not have the shape its type demands.
    #[error("value at {path}: expected {expected}, found {found}")]
    Mismatch {
        /// Where the mismatch is.
        path: AttributePath,
        /// What the type asks for.
        expected: String,
        /// What the encoding holds.
        found: String,
    },
    /// An object carried an attribute its type does not declare.
    #[error("value at {path}: unsupported attribute {name:?}")]
    UnknownAttribute {
        /// The object holding it.
        path: AttributePath,
        /// The attribute name.
        name: String,
    },
    /// A type constraint in its JSON form could not be understood.
    #[error("invalid type constraint: {0}")]
    InvalidType(String),
    /// Bytes were left after the value ended.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The JSON text itself did not parse.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Nesting went deeper than any Terraform schema can produce.
    #[error("value nested deeper than {0} levels")]
    TooDeep(usize),
}

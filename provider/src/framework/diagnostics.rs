//! User-facing errors and warnings. Every diagnostic has a short summary, a
//! detail that says what to do, and the attribute path when one input is at
//! fault; Terraform then points at the offending line of configuration.

use crate::value::AttributePath;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The operation failed.
    Error,
    /// The operation went ahead; the user should look.
    Warning,
}

/// One error or warning for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line: what went wrong.
    pub summary: String,
    /// What the user can do about it.
    pub detail: String,
    /// The attribute at fault, when there is one.
    pub path: Option<AttributePath>,
}

/// An ordered collection of diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error not tied to an attribute.
    pub fn from_error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut diags = Self::new();
        diags.error(summary, detail);
        diags
    }

    /// Adds an error not tied to an attribute.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        });
    }

    /// Adds an error on one attribute.
    pub fn attribute_error(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: Some(path),
        });
    }

    /// Adds a warning, optionally on one attribute.
    pub fn warning(&mut self, path: Option<AttributePath>, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Warning, summary: summary.into(), detail: detail.into(), path });
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether there are none at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the diagnostics.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

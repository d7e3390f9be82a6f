use std::fmt;

/// One step into a value: an attribute, a map key or a list/tuple index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute or block.
    Attribute(String),
    /// A map element.
    Key(String),
    /// A list or tuple element (sets are addressed by index too, in order).
    Index(i64),
}

/// Where in a configuration or state a diagnostic points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the whole value.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// A path of one attribute name.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathStep::Attribute(name.into())])
    }

    /// This path followed by an attribute.
    #[must_use]
    pub fn with_attr(&self, name: impl Into<String>) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Attribute(name.into()));
        Self(steps)
    }

    /// This path followed by a map key.
    #[must_use]
    pub fn with_key(&self, key: impl Into<String>) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Key(key.into()));
        Self(steps)
    }

    /// This path followed by a list index.
    #[must_use]
    pub fn with_index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(PathStep::Index(i64::try_from(index).unwrap_or(i64::MAX)));
        Self(steps)
    }

    /// Whether this path is empty.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

//! Where a renderer input lives. Errors carry it as typed steps, so the
//! resource attaches a diagnostic to the right attribute without turning
//! the place into text and parsing it back.

use std::fmt;

use super::attributes as attr;

/// One step of an attribute path, mirroring Terraform's (kept independent
/// of the plugin's own path type so the renderer stands alone).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeStep {
    /// An attribute or nested block.
    Attribute(String),
    /// A map key, e.g. the IP in `hosts["10.0.0.1"]`.
    Key(String),
    /// A list index.
    Index(usize),
}

/// The place of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// An attribute of the resource: `user.groups[1]`, `sysctls["vm.x"]`.
    Input(Vec<AttributeStep>),
    /// A place inside the `base` document: `base: write_files[0].path`.
    Base(Vec<AttributeStep>),
    /// Key `index` of those fetched from GitHub (`github_ssh_keys[index]`);
    /// the input at fault is `user.ssh_keys_from_github`.
    GithubKey(usize),
    /// Line `number` (from 1) of an authorized_keys body fetched from GitHub.
    FetchedKeyLine(usize),
}

impl Field {
    /// A top-level attribute.
    #[must_use]
    pub fn attr(name: &str) -> Self {
        Self::Input(vec![AttributeStep::Attribute(name.to_owned())])
    }

    /// The `write_files` list of the `base` document.
    #[must_use]
    pub fn base_write_files() -> Self {
        Self::Base(vec![AttributeStep::Attribute(attr::WRITE_FILES.to_owned())])
    }

    /// A nested attribute below this one.
    #[must_use]
    pub fn at(self, name: &str) -> Self {
        self.push(AttributeStep::Attribute(name.to_owned()))
    }

    /// A list element below this one.
    #[must_use]
    pub fn index(self, index: usize) -> Self {
        self.push(AttributeStep::Index(index))
    }

    /// A map entry below this one.
    #[must_use]
    pub fn key(self, key: &str) -> Self {
        self.push(AttributeStep::Key(key.to_owned()))
    }

    fn push(self, step: AttributeStep) -> Self {
        match self {
            Self::Input(mut steps) => {
                steps.push(step);
                Self::Input(steps)
            }
            Self::Base(mut steps) => {
                steps.push(step);
                Self::Base(steps)
            }
            // A fetched key has no inner structure.
            other => other,
        }
    }

    /// The configuration attribute a diagnostic belongs on: the path itself
    /// for an input, `base` for a place inside it, and the GitHub user list
    /// for a fetched key.
    #[must_use]
    pub fn attribute_path(&self) -> Vec<AttributeStep> {
        let named = |names: &[&str]| names.iter().map(|n| AttributeStep::Attribute((*n).to_owned())).collect();
        match self {
            Self::Input(steps) => steps.clone(),
            Self::Base(_) => named(&[attr::BASE]),
            Self::GithubKey(_) | Self::FetchedKeyLine(_) => named(&[attr::USER, attr::SSH_KEYS_FROM_GITHUB]),
        }
    }

    /// The top-level attribute of [`Self::attribute_path`].
    #[must_use]
    pub fn attribute(&self) -> String {
        match self.attribute_path().into_iter().next() {
            Some(AttributeStep::Attribute(name)) => name,
            _ => String::new(),
        }
    }
}

fn write_steps(f: &mut fmt::Formatter<'_>, steps: &[AttributeStep]) -> fmt::Result {
    for (i, step) in steps.iter().enumerate() {
        match step {
            AttributeStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
            AttributeStep::Attribute(name) => write!(f, ".{name}")?,
            AttributeStep::Key(key) => write!(f, "[{key:?}]")?,
            AttributeStep::Index(index) => write!(f, "[{index}]")?,
        }
    }
    Ok(())
}

/// Terraform style: `user.ssh_authorized_keys[1]`, `hosts["10.0.0.2"][0]`,
/// `base: write_files[0].path`, `github_ssh_keys[2]`, `line 3`.
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(steps) => write_steps(f, steps),
            Self::Base(steps) => {
                write!(f, "{}: ", attr::BASE)?;
                write_steps(f, steps)
            }
            Self::GithubKey(index) => write!(f, "{}[{index}]", attr::GITHUB_SSH_KEYS),
            Self::FetchedKeyLine(number) => write!(f, "line {number}"),
        }
    }
}

/// Tests and callers compare a field with the text a user reads.
impl PartialEq<&str> for Field {
    fn eq(&self, other: &&str) -> bool {
        let text = self.to_string();
        text.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::AttributeStep::{Attribute, Index, Key};
    use super::Field;

    #[test]
    fn fields_print_as_terraform_paths_and_keep_their_steps() {
        let groups = Field::attr("user").at("groups").index(1);
        assert_eq!(groups.to_string(), "user.groups[1]");
        assert_eq!(groups.attribute_path(), [Attribute("user".into()), Attribute("groups".into()), Index(1)]);
        let host = Field::attr("hosts").key("fd00::1").index(2);
        assert_eq!(host.to_string(), "hosts[\"fd00::1\"][2]");
        assert_eq!(host.attribute_path(), [Attribute("hosts".into()), Key("fd00::1".into()), Index(2)]);
        let quoted = Field::attr("sysctls").key("a\"b");
        assert_eq!(quoted.to_string(), r#"sysctls["a\"b"]"#);
        assert_eq!(quoted.attribute_path(), [Attribute("sysctls".into()), Key("a\"b".into())]);
    }

    #[test]
    fn places_outside_the_inputs_point_at_the_input_that_brought_them() {
        let in_base = Field::base_write_files().index(0).at("path");
        assert_eq!(in_base.to_string(), "base: write_files[0].path");
        assert_eq!(in_base.attribute_path(), [Attribute("base".into())]);
        assert_eq!(in_base.attribute(), "base");
        let github = [Attribute("user".into()), Attribute("ssh_keys_from_github".into())];
        assert_eq!(Field::GithubKey(2).to_string(), "github_ssh_keys[2]");
        assert_eq!(Field::GithubKey(2).attribute_path(), github);
        assert_eq!(Field::FetchedKeyLine(3).to_string(), "line 3");
        assert_eq!(Field::FetchedKeyLine(3).attribute_path(), github);
        assert_eq!(Field::FetchedKeyLine(3).attribute(), "user");
    }
}

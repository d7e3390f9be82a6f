//! The resource's configuration, read once into the renderer's input.
//!
//! Terraform has checked the value against the schema, so two things can
//! still be off: a value not known yet (validate and plan time) and a
//! number that is not whole. An unknown place is recorded with its
//! [`Field`] and holds an empty placeholder, so the checks about it wait
//! until it is known instead of judging the placeholder. A null optional
//! input takes the default the schema documents; nothing else is
//! substituted.

use std::collections::BTreeMap;

use thiserror::Error;

use super::attributes as attr;
use super::error::CloudInitError;
use super::field::Field;
use super::spec::{CertificateRenewal, CloudInitSpec, ContainerRuntime, User, WriteFile};
use crate::value::Value;

/// What the schema let through but the renderer's input cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// A value of another type than the schema's (a provider defect or a
    /// state written by another provider version).
    #[error("{field}: expected {expected}")]
    WrongType {
        /// Where.
        field: Field,
        /// The type the schema declares, e.g. `a string`.
        expected: &'static str,
    },
    /// A required attribute is null.
    #[error("{field}: a value is required")]
    Missing {
        /// Where.
        field: Field,
    },
    /// A count (days) that is not a whole number.
    #[error("{field}: {value} is not a whole number")]
    NotWhole {
        /// Where.
        field: Field,
        /// The number as written.
        value: String,
    },
}

impl InputError {
    /// Where the input at fault lives.
    #[must_use]
    pub fn field(&self) -> &Field {
        match self {
            Self::WrongType { field, .. } | Self::Missing { field } | Self::NotWhole { field, .. } => field,
        }
    }
}

/// A configuration read into a [`CloudInitSpec`].
#[derive(Debug, Clone)]
pub struct Input {
    /// The renderer's input; placeholders where [`Self::unknown`] says.
    pub spec: CloudInitSpec,
    /// `user.ssh_keys_from_github`, once known.
    pub github_users: Option<Vec<String>>,
    /// Places not known yet.
    unknown: Vec<Field>,
}

impl Input {
    /// Reads `value` (a configuration, plan or state of the resource).
    ///
    /// # Errors
    /// Every place whose value the schema should not have let through.
    pub fn read(value: &Value) -> Result<Self, Vec<InputError>> {
        let mut reader = Reader::default();
        let spec = reader.spec(value);
        let github_users = reader.github_users.take();
        if reader.errors.is_empty() {
            Ok(Self { spec, github_users, unknown: reader.unknown })
        } else {
            Err(reader.errors)
        }
    }

    /// Whether every input is known, so the document can be rendered.
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.unknown.is_empty()
    }

    /// Whether `err` judges known values only: neither its own place nor
    /// one it is checked against is unknown.
    #[must_use]
    pub fn concerns_known(&self, err: &CloudInitError) -> bool {
        let mut places = vec![err.field()];
        places.extend(checked_against(err));
        places.iter().all(|place| !self.unknown.iter().any(|unknown| overlaps(unknown, place)))
    }
}

/// Other inputs a cross-field check reads.
fn checked_against(err: &CloudInitError) -> Vec<Field> {
    match err {
        CloudInitError::InvalidHostname { field, .. } if *field == Field::attr(attr::FQDN) => {
            vec![Field::attr(attr::HOSTNAME)]
        }
        CloudInitError::UnknownPauseImage { .. } | CloudInitError::ContainerdTooOld { .. } => {
            vec![Field::attr(attr::KUBERNETES_VERSION), Field::attr(attr::CONTAINER_RUNTIME)]
        }
        _ => Vec::new(),
    }
}

/// One place lies inside the other (`user` and `user.shell`).
fn overlaps(a: &Field, b: &Field) -> bool {
    let (a, b) = (a.attribute_path(), b.attribute_path());
    a.starts_with(&b) || b.starts_with(&a)
}

#[derive(Default)]
struct Reader {
    unknown: Vec<Field>,
    errors: Vec<InputError>,
    github_users: Option<Vec<String>>,
}

impl Reader {
    /// The value when known and not null; records it when unknown.
    fn known<'v>(&mut self, value: &'v Value, field: &Field) -> Option<&'v Value> {
        if value.is_unknown() {
            self.unknown.push(field.clone());
            return None;
        }
        (!value.is_null()).then_some(value)
    }

    fn wrong_type(&mut self, field: Field, expected: &'static str) {
        self.errors.push(InputError::WrongType { field, expected });
    }

    fn optional_text(&mut self, value: &Value, field: Field) -> Option<String> {
        let known = self.known(value, &field)?;
        match known.as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                self.wrong_type(field, "a string");
                None
            }
        }
    }

    /// A required string; empty only where unknown or refused.
    fn text(&mut self, value: &Value, field: Field) -> String {
        if value.is_null() {
            self.errors.push(InputError::Missing { field });
            return String::new();
        }
        self.optional_text(value, field).unwrap_or_default()
    }

    fn text_or(&mut self, value: &Value, field: Field, default: &str) -> String {
        let unknown = value.is_unknown();
        self.optional_text(value, field).unwrap_or_else(|| if unknown { String::new() } else { default.to_owned() })
    }

    fn flag(&mut self, value: &Value, field: Field, default: bool) -> bool {
        let Some(known) = self.known(value, &field) else { return default };
        known.as_bool().unwrap_or_else(|| {
            self.wrong_type(field, "a bool");
            default
        })
    }

    /// A list of strings; an unknown element keeps its index as "".
    fn texts(&mut self, value: &Value, field: Field) -> Vec<String> {
        let Some(known) = self.known(value, &field) else { return Vec::new() };
        let Some(items) = known.as_slice() else {
            self.wrong_type(field, "a list of strings");
            return Vec::new();
        };
        items.iter().enumerate().map(|(i, item)| self.text(item, field.clone().index(i))).collect()
    }

    fn entries<'v>(&mut self, value: &'v Value, field: &Field) -> Vec<(&'v String, &'v Value)> {
        let Some(known) = self.known(value, field) else { return Vec::new() };
        match known.as_map() {
            Some(map) => map.iter().collect(),
            None => {
                self.wrong_type(field.clone(), "a map");
                Vec::new()
            }
        }
    }

    fn spec(&mut self, value: &Value) -> CloudInitSpec {
        let field = Field::attr;
        let sysctls = self
            .entries(value.get(attr::SYSCTLS), &field(attr::SYSCTLS))
            .into_iter()
            .map(|(key, text)| (key.clone(), self.text(text, field(attr::SYSCTLS).key(key))))
            .collect();
        let hosts = self
            .entries(value.get(attr::HOSTS), &field(attr::HOSTS))
            .into_iter()
            .map(|(ip, names)| (ip.clone(), self.texts(names, field(attr::HOSTS).key(ip))))
            .collect::<BTreeMap<_, _>>();
        CloudInitSpec {
            hostname: self.text(value.get(attr::HOSTNAME), field(attr::HOSTNAME)),
            fqdn: self.optional_text(value.get(attr::FQDN), field(attr::FQDN)),
            timezone: self.text_or(value.get(attr::TIMEZONE), field(attr::TIMEZONE), super::DEFAULT_TIMEZONE),
            locale: self.optional_text(value.get(attr::LOCALE), field(attr::LOCALE)),
            kubernetes_version: self.text(value.get(attr::KUBERNETES_VERSION), field(attr::KUBERNETES_VERSION)),
            container_runtime: self.container_runtime(value.get(attr::CONTAINER_RUNTIME)),
            certificate_renewal: self.certificate_renewal(value.get(attr::KUBEADM_CERTIFICATE_RENEWAL)),
            kernel_modules: self.texts(value.get(attr::KERNEL_MODULES), field(attr::KERNEL_MODULES)),
            sysctls,
            user: self.user(value.get(attr::USER), value.get(attr::GITHUB_SSH_KEYS)),
            hosts,
            packages: self.texts(value.get(attr::PACKAGES), field(attr::PACKAGES)),
            write_files: self.write_files(value.get(attr::WRITE_FILES)),
            runcmd: self.texts(value.get(attr::RUNCMD), field(attr::RUNCMD)),
            base: self.optional_text(value.get(attr::BASE), field(attr::BASE)),
            gzip: self.flag(value.get(attr::GZIP), field(attr::GZIP), false),
            base64_encode: self.flag(value.get(attr::BASE64_ENCODE), field(attr::BASE64_ENCODE), false),
        }
    }

    fn user(&mut self, block: &Value, fetched: &Value) -> User {
        let defaults = User::default();
        let field = |name: &str| Field::attr(attr::USER).at(name);
        // An unknown block: every check about the user waits.
        let block_known = !block.is_unknown();
        let block = self.known(block, &Field::attr(attr::USER)).unwrap_or(&Value::Null);
        let github_users = field(attr::SSH_KEYS_FROM_GITHUB);
        let users_value = block.get(attr::SSH_KEYS_FROM_GITHUB);
        let users_known = block_known && users_value.is_wholly_known();
        let users = self.texts(users_value, github_users);
        self.github_users = users_known.then(|| users.clone());
        // Fetched keys are computed: pending while the user list is unknown
        // or not yet fetched, as if a fetched key were unknown.
        let pending = !users_known || (fetched.is_null() && !users.is_empty());
        let github_keys = if pending {
            self.unknown.push(Field::GithubKey(0));
            Vec::new()
        } else {
            self.texts(fetched, Field::attr(attr::GITHUB_SSH_KEYS))
        };
        let groups = block.get(attr::GROUPS);
        User {
            name: self.text_or(block.get(attr::NAME), field(attr::NAME), &defaults.name),
            ssh_authorized_keys: self.texts(block.get(attr::SSH_AUTHORIZED_KEYS), field(attr::SSH_AUTHORIZED_KEYS)),
            github_keys,
            groups: if groups.is_null() { defaults.groups } else { self.texts(groups, field(attr::GROUPS)) },
            shell: self.text_or(block.get(attr::SHELL), field(attr::SHELL), &defaults.shell),
            sudo: self.optional_text(block.get(attr::SUDO), field(attr::SUDO)).or(defaults.sudo),
        }
    }

    fn container_runtime(&mut self, block: &Value) -> ContainerRuntime {
        let defaults = ContainerRuntime::default();
        let field = |name: &str| Field::attr(attr::CONTAINER_RUNTIME).at(name);
        let block = self.known(block, &Field::attr(attr::CONTAINER_RUNTIME)).unwrap_or(&Value::Null);
        ContainerRuntime {
            source: self.text_or(block.get(attr::SOURCE), field(attr::SOURCE), &defaults.source),
            sandbox_image: self.optional_text(block.get(attr::SANDBOX_IMAGE), field(attr::SANDBOX_IMAGE)),
            cni_bin_dir: self.text_or(block.get(attr::CNI_BIN_DIR), field(attr::CNI_BIN_DIR), &defaults.cni_bin_dir),
            cni_conf_dir: self.text_or(
                block.get(attr::CNI_CONF_DIR),
                field(attr::CNI_CONF_DIR),
                &defaults.cni_conf_dir,
            ),
            systemd_cgroup: self.flag(
                block.get(attr::SYSTEMD_CGROUP),
                field(attr::SYSTEMD_CGROUP),
                defaults.systemd_cgroup,
            ),
        }
    }

    fn certificate_renewal(&mut self, block: &Value) -> Option<CertificateRenewal> {
        let block_field = Field::attr(attr::KUBEADM_CERTIFICATE_RENEWAL);
        let block = self.known(block, &block_field)?;
        let field = block_field.at(attr::DAYS_BEFORE);
        let days = block.get(attr::DAYS_BEFORE);
        if days.is_null() {
            self.errors.push(InputError::Missing { field });
            return None;
        }
        let known = self.known(days, &field)?;
        let Value::Number(number) = known.untyped() else {
            self.wrong_type(field, "a number");
            return None;
        };
        match number.as_i64() {
            Some(days_before) => Some(CertificateRenewal { days_before }),
            None => {
                self.errors.push(InputError::NotWhole { field, value: number.to_text() });
                None
            }
        }
    }

    fn write_files(&mut self, list: &Value) -> Vec<WriteFile> {
        let list_field = Field::attr(attr::WRITE_FILES);
        let Some(items) = self.known(list, &list_field).and_then(Value::as_slice) else { return Vec::new() };
        items.iter().enumerate().map(|(i, file)| self.write_file(file, &list_field.clone().index(i))).collect()
    }

    fn write_file(&mut self, file: &Value, at: &Field) -> WriteFile {
        let field = |name: &str| at.clone().at(name);
        let Some(file) = self.known(file, at) else { return WriteFile::default() };
        WriteFile {
            path: self.text(file.get(attr::PATH), field(attr::PATH)),
            content: self.text(file.get(attr::CONTENT), field(attr::CONTENT)),
            permissions: self.optional_text(file.get(attr::PERMISSIONS), field(attr::PERMISSIONS)),
            owner: self.optional_text(file.get(attr::OWNER), field(attr::OWNER)),
            encoding: self.optional_text(file.get(attr::ENCODING), field(attr::ENCODING)),
            append: self.flag(file.get(attr::APPEND), field(attr::APPEND), false),
            defer: self.flag(file.get(attr::DEFER), field(attr::DEFER), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Input, InputError};
    use crate::cloudinit::{CloudInitError, Field};
    use crate::value::{Number, Value};

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Object(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    fn config(extra: &[(&str, Value)]) -> Value {
        let mut entries = vec![("hostname", Value::string("cp-1")), ("kubernetes_version", Value::string("1.35"))];
        entries.extend_from_slice(extra);
        object(&entries)
    }

    #[test]
    fn a_known_configuration_reads_whole_with_the_documented_defaults() {
        let input = Input::read(&config(&[])).expect("reads");
        assert!(input.is_known());
        assert_eq!(input.spec, crate::cloudinit::CloudInitSpec::new("cp-1", "1.35"));
        assert_eq!(input.github_users, Some(Vec::new()));
    }

    #[test]
    fn an_unknown_value_is_recorded_not_read_as_empty() {
        let keys = Value::List(vec![Value::string("ssh-ed25519 AAAA"), Value::Unknown]);
        let user = object(&[("ssh_authorized_keys", keys)]);
        let input =
            Input::read(&config(&[("fqdn", Value::string("cp-1.lan")), ("hostname", Value::Unknown), ("user", user)]))
                .expect("reads");
        assert!(!input.is_known());
        // The unknown key keeps its index, so key 0's error keeps its place.
        assert_eq!(input.spec.user.ssh_authorized_keys, ["ssh-ed25519 AAAA", ""]);
        let fqdn = CloudInitError::InvalidHostname {
            field: Field::attr("fqdn"),
            value: "cp-1.lan".into(),
            reason: "r".into(),
        };
        assert!(!input.concerns_known(&fqdn), "fqdn is checked against the unknown hostname");
        let key = |i| CloudInitError::InvalidSshKey {
            field: Field::attr("user").at("ssh_authorized_keys").index(i),
            reason: "r".into(),
        };
        assert!(input.concerns_known(&key(0)));
        assert!(!input.concerns_known(&key(1)));
        assert!(!input.concerns_known(&CloudInitError::NoSshKeys), "the user's keys are not all known");
        assert!(input.concerns_known(&CloudInitError::GzipRequiresBase64));
    }

    #[test]
    fn keys_still_to_fetch_hold_back_the_no_key_check_only() {
        let user = object(&[("ssh_keys_from_github", Value::string_list(["octocat"]))]);
        let input = Input::read(&config(&[("user", user)])).expect("reads");
        assert_eq!(input.github_users, Some(vec!["octocat".to_owned()]));
        assert!(!input.concerns_known(&CloudInitError::NoSshKeys));
        assert!(input.concerns_known(&CloudInitError::GzipRequiresBase64));
        let fetched = Input::read(&config(&[
            ("user", object(&[("ssh_keys_from_github", Value::string_list(["octocat"]))])),
            ("github_ssh_keys", Value::string_list(["ssh-ed25519 AAAA"])),
        ]))
        .expect("reads");
        assert!(fetched.is_known());
        assert_eq!(fetched.spec.user.github_keys, ["ssh-ed25519 AAAA"]);
    }

    #[test]
    fn what_the_schema_should_have_refused_is_an_error_not_a_default() {
        let renewal = object(&[("days_before", Value::Number(Number::Float(1.5)))]);
        let errors = Input::read(&config(&[("kubeadm_certificate_renewal", renewal), ("gzip", Value::string("yes"))]))
            .expect_err("refused");
        let fields: Vec<String> = errors.iter().map(|e| e.field().to_string()).collect();
        assert_eq!(fields, ["kubeadm_certificate_renewal.days_before", "gzip"], "{errors:?}");
        assert!(matches!(&errors[0], InputError::NotWhole { value, .. } if value == "1.5"));
        let missing = Input::read(&object(&[("kubernetes_version", Value::string("1.35"))])).expect_err("no hostname");
        assert_eq!(missing, [InputError::Missing { field: Field::attr("hostname") }]);
    }
}

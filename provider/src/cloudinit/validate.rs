//! Validation of a [`CloudInitSpec`], attribute by attribute.
//!
//! Each helper is pure and returns errors naming the attribute path, so the
//! resource can also call them one by one on the values that are known at
//! validate time. [`validate_all`] runs every check and collects all errors.

use super::attributes as attr;
use super::containerd::{ContainerdSource, DEBIAN_PACKAGE, DOCKER_PACKAGE};
use super::error::CloudInitError;
use super::field::Field;
use super::generated_files::generated_paths;
use super::kubernetes::{KubernetesVersion, PKGS_K8S_IO_ONLY};
use super::spec::{CloudInitSpec, User, WriteFile};
use super::ssh_key::validate_ssh_public_key;
use crate::yaml::{self, CLOUD_CONFIG_HEADER, Mapping, Yaml, YamlError};
use base64::Engine as _;

use super::cloud_config_schema::check_document;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Linux `HOST_NAME_MAX`: the kernel refuses longer host names.
const MAX_HOSTNAME_LEN: usize = 64;
/// RFC 1035 limit for a whole DNS name.
const MAX_DNS_NAME_LEN: usize = 253;
/// RFC 1035 limit for one label.
const MAX_LABEL_LEN: usize = 63;
/// `MODULE_NAME_LEN` (64 - sizeof(unsigned long)) minus the NUL.
const MAX_MODULE_NAME_LEN: usize = 55;
/// useradd's limit on user and group names.
const MAX_ACCOUNT_NAME_LEN: usize = 32;

/// write_files encodings cloud-init can decode from text content. Plain
/// `gz`/`gzip` would need raw binary, which a Terraform string cannot hold.
pub const TEXT_ENCODINGS: &[&str] = &["text/plain", "b64", "base64", "gz+b64", "gz+base64", "gzip+b64", "gzip+base64"];

/// The first error of [`validate_all`].
///
/// # Errors
/// The first problem found, in attribute order.
pub fn validate(spec: &CloudInitSpec) -> Result<(), CloudInitError> {
    match validate_all(spec).into_iter().next() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Every problem with `spec`, in attribute order (empty when valid).
/// Merge conflicts with `base` are only found by rendering.
#[must_use]
pub fn validate_all(spec: &CloudInitSpec) -> Vec<CloudInitError> {
    let mut errors = Vec::new();
    let mut check = |result: Result<(), CloudInitError>| {
        if let Err(e) = result {
            errors.push(e);
        }
    };
    check(validate_hostname(&spec.hostname));
    if let Some(fqdn) = &spec.fqdn {
        check(validate_fqdn(fqdn, &spec.hostname));
    }
    check(validate_timezone(&spec.timezone));
    if let Some(locale) = &spec.locale {
        check(validate_locale(locale));
    }
    let source = ContainerdSource::parse(&spec.container_runtime.source);
    match KubernetesVersion::parse(&spec.kubernetes_version) {
        Ok(version) => {
            check(version.sandbox_image(spec.container_runtime.sandbox_image.as_deref()).map(drop));
            if let Ok(source) = &source {
                check(source.supports(&version));
            }
        }
        Err(e) => check(Err(e)),
    }
    check(source.clone().map(drop));
    if let Some(image) = &spec.container_runtime.sandbox_image {
        check(validate_sandbox_image(image));
    }
    if let Some(renewal) = spec.certificate_renewal.filter(|r| !(1..=364).contains(&r.days_before)) {
        check(Err(CloudInitError::InvalidRenewalWindow { days: renewal.days_before }));
    }
    let runtime = || Field::attr(attr::CONTAINER_RUNTIME);
    check(validate_toml_safe_path(&runtime().at(attr::CNI_BIN_DIR), &spec.container_runtime.cni_bin_dir));
    check(validate_toml_safe_path(&runtime().at(attr::CNI_CONF_DIR), &spec.container_runtime.cni_conf_dir));
    for (i, module) in spec.kernel_modules.iter().enumerate() {
        check(validate_kernel_module(&Field::attr(attr::KERNEL_MODULES).index(i), module));
    }
    for (key, value) in &spec.sysctls {
        check(validate_sysctl(key, value));
    }
    errors.extend(validate_user(&spec.user));
    errors.extend(validate_hosts(&spec.hosts));
    let mut check = |result: Result<(), CloudInitError>| {
        if let Err(e) = result {
            errors.push(e);
        }
    };
    for (i, package) in spec.packages.iter().enumerate() {
        let field = Field::attr(attr::PACKAGES).index(i);
        check(validate_package(&field, package));
        if source == Ok(ContainerdSource::Docker) {
            check(validate_package_beside_docker_containerd(&field, package));
        }
    }
    let generated = generated_paths(spec);
    for (i, file) in spec.write_files.iter().enumerate() {
        for e in validate_write_file(i, file, &spec.user.name) {
            check(Err(e));
        }
        if !file.append {
            if let Some((_, attribute)) = generated.iter().find(|(path, _)| *path == file.path) {
                check(Err(CloudInitError::WriteFileConflict {
                    field: Field::attr(attr::WRITE_FILES).index(i).at(attr::PATH),
                    path: file.path.clone(),
                    first: format!("the file generated for attribute `{attribute}`"),
                }));
            }
        }
    }
    check(validate_unique_write_files(&spec.write_files));
    for (i, command) in spec.runcmd.iter().enumerate() {
        check(validate_runcmd(&Field::attr(attr::RUNCMD).index(i), command));
    }
    if spec.gzip && !spec.base64_encode {
        check(Err(CloudInitError::GzipRequiresBase64));
    }
    if let Some(base) = &spec.base {
        match parse_base(base) {
            Ok(document) => errors.extend(schema_errors(&document, false)),
            Err(e) => errors.push(e),
        }
    }
    errors
}

fn invalid_hostname(field: &Field, value: &str, reason: impl Into<String>) -> CloudInitError {
    CloudInitError::InvalidHostname { field: field.clone(), value: value.to_owned(), reason: reason.into() }
}

/// An RFC 1123 DNS name: dot-separated labels of letters, digits and
/// hyphens, each 1–63 characters, not starting or ending with a hyphen.
///
/// # Errors
/// [`CloudInitError::InvalidHostname`] naming `field`.
pub fn validate_dns_name(field: &Field, value: &str, max_len: usize) -> Result<(), CloudInitError> {
    if value.is_empty() {
        return Err(invalid_hostname(field, value, "it is empty"));
    }
    if value.len() > max_len {
        return Err(invalid_hostname(field, value, format!("it is longer than {max_len} characters")));
    }
    if value.ends_with('.') {
        return Err(invalid_hostname(field, value, "remove the trailing dot"));
    }
    for label in value.split('.') {
        if label.is_empty() {
            return Err(invalid_hostname(field, value, "it has an empty label (two dots in a row?)"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid_hostname(
                field,
                value,
                format!("label {label:?} is longer than {MAX_LABEL_LEN} characters"),
            ));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            let hint = if c == '_' { " (underscores are not allowed in host names)" } else { "" };
            return Err(invalid_hostname(
                field,
                value,
                format!("{c:?} is not allowed; use letters, digits and '-'{hint}"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid_hostname(field, value, format!("label {label:?} starts or ends with '-'")));
        }
    }
    Ok(())
}

/// `hostname`: an RFC 1123 name of at most 64 characters (Linux limit),
/// lowercase because it becomes the Kubernetes node name.
///
/// # Errors
/// [`CloudInitError::InvalidHostname`] for `hostname`.
pub fn validate_hostname(value: &str) -> Result<(), CloudInitError> {
    let field = Field::attr(attr::HOSTNAME);
    validate_dns_name(&field, value, MAX_HOSTNAME_LEN)?;
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid_hostname(
            &field,
            value,
            "use lowercase; it becomes the Kubernetes node name, which must be lowercase",
        ));
    }
    Ok(())
}

/// `fqdn`: an RFC 1123 name of at least two labels whose first label is
/// `hostname` (so `hostname --fqdn` and the node name agree).
///
/// # Errors
/// [`CloudInitError::InvalidHostname`] for `fqdn`.
pub fn validate_fqdn(value: &str, hostname: &str) -> Result<(), CloudInitError> {
    let field = Field::attr(attr::FQDN);
    validate_dns_name(&field, value, MAX_DNS_NAME_LEN)?;
    if !value.contains('.') {
        return Err(invalid_hostname(&field, value, "a fully qualified name has at least two labels"));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid_hostname(&field, value, "use lowercase, like hostname"));
    }
    if !value.strip_prefix(hostname).is_some_and(|rest| rest.starts_with('.')) {
        return Err(invalid_hostname(&field, value, format!("it must start with the hostname, \"{hostname}.\"")));
    }
    Ok(())
}

/// `timezone`: an IANA time zone name from the tz database embedded via
/// `chrono-tz` (the build host may have no /usr/share/zoneinfo).
///
/// # Errors
/// [`CloudInitError::UnknownTimezone`], suggesting the right spelling when
/// only the case differs.
pub fn validate_timezone(value: &str) -> Result<(), CloudInitError> {
    if value.parse::<chrono_tz::Tz>().is_ok() {
        return Ok(());
    }
    let suggestion = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .find(|name| name.eq_ignore_ascii_case(value))
        .map(|name| format!("; did you mean {name:?}?"))
        .unwrap_or_default();
    Err(CloudInitError::UnknownTimezone { value: value.to_owned(), suggestion })
}

/// `locale`: `C`, `POSIX`, or `language[_territory][.codeset][@modifier]`
/// such as `en_US.UTF-8`, `C.UTF-8` or `de_DE@euro`.
///
/// # Errors
/// [`CloudInitError::InvalidLocale`].
pub fn validate_locale(value: &str) -> Result<(), CloudInitError> {
    let err = || CloudInitError::InvalidLocale { value: value.to_owned() };
    let (rest, modifier) = match value.split_once('@') {
        Some((r, m)) => (r, Some(m)),
        None => (value, None),
    };
    let (rest, codeset) = match rest.split_once('.') {
        Some((r, c)) => (r, Some(c)),
        None => (rest, None),
    };
    let (language, territory) = match rest.split_once('_') {
        Some((l, t)) => (l, Some(t)),
        None => (rest, None),
    };
    let alpha =
        |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic());
    let ok = alpha(language, 1, 8)
        && territory.is_none_or(|t| (2..=3).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()))
        && codeset
            .is_none_or(|c| (1..=20).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && modifier.is_none_or(|m| alpha(m, 1, 20));
    if ok { Ok(()) } else { Err(err()) }
}

/// A container image reference without whitespace or TOML-special characters.
///
/// # Errors
/// [`CloudInitError::InvalidSandboxImage`].
pub fn validate_sandbox_image(value: &str) -> Result<(), CloudInitError> {
    let err = |reason: &str| CloudInitError::InvalidSandboxImage { value: value.to_owned(), reason: reason.to_owned() };
    if value.is_empty() {
        return Err(err("it is empty"));
    }
    if value.len() > 255 {
        return Err(err("it is longer than 255 characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/:@+".contains(&b)) {
        return Err(err("use only letters, digits and . _ - / : @ +"));
    }
    if value.starts_with(['/', ':', '@', '.', '-']) || value.ends_with(['/', ':', '@']) {
        return Err(err("it must look like registry/repository[:tag][@digest]"));
    }
    Ok(())
}

/// An absolute path (what cloud-init and the generated files need).
///
/// # Errors
/// [`CloudInitError::InvalidPath`] naming `field`.
pub fn validate_absolute_path(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let err = |reason: &str| CloudInitError::InvalidPath {
        field: field.clone(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if !value.starts_with('/') {
        return Err(err("it must be absolute (start with '/')"));
    }
    if value.contains(['\0', '\n', '\r']) {
        return Err(err("it contains a NUL or line break"));
    }
    if value.len() > 1 && value.ends_with('/') {
        return Err(err("it names a directory (trailing '/')"));
    }
    if value.split('/').any(|c| c == "." || c == "..") {
        return Err(err("it contains '.' or '..' components"));
    }
    Ok(())
}

/// An absolute path that can go into a TOML basic string unescaped.
fn validate_toml_safe_path(field: &Field, value: &str) -> Result<(), CloudInitError> {
    validate_absolute_path(field, value)?;
    if value.contains(['"', '\\']) || value.chars().any(char::is_control) {
        return Err(CloudInitError::InvalidPath {
            field: field.clone(),
            value: value.to_owned(),
            reason: "quotes, backslashes and control characters are not allowed".to_owned(),
        });
    }
    Ok(())
}

/// A kernel module name as modprobe takes it.
///
/// # Errors
/// [`CloudInitError::InvalidKernelModule`] naming `field`.
pub fn validate_kernel_module(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let ok = (1..=MAX_MODULE_NAME_LEN).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(CloudInitError::InvalidKernelModule { field: field.clone(), value: value.to_owned() }) }
}

/// One sysctl for a sysctl.d file: key in dotted or slashed form (a
/// leading `-` ignores failures, `*` globs), value on one line.
///
/// # Errors
/// [`CloudInitError::InvalidSysctl`] naming `sysctls["key"]`.
pub fn validate_sysctl(key: &str, value: &str) -> Result<(), CloudInitError> {
    let field = Field::attr(attr::SYSCTLS).key(key);
    let err = |reason: String| CloudInitError::InvalidSysctl { field: field.clone(), reason };
    let name = key.strip_prefix('-').unwrap_or(key);
    if name.is_empty() || name.len() > 256 {
        return Err(err(format!("key {key:?} is empty or too long")));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/*:@+".contains(&b)) {
        return Err(err(format!(
            "key {key:?} may only contain letters, digits and _ . - / * : @ + (no spaces or '=')"
        )));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') || name.ends_with(['.', '/']) {
        return Err(err(format!("key {key:?} must be a dotted or slashed name like net.ipv4.ip_forward")));
    }
    if value.trim().is_empty() {
        return Err(err("the value is empty".to_owned()));
    }
    if value.chars().any(char::is_control) {
        return Err(err("the value must be a single line without control characters".to_owned()));
    }
    if value.trim() != value {
        return Err(err("the value has leading or trailing whitespace".to_owned()));
    }
    Ok(())
}

/// With `container_runtime.source = "docker"`, `packages` may not name
/// containerd: Debian's conflicts with `containerd.io`, and `containerd.io`
/// only exists once runcmd has added Docker's repository.
///
/// # Errors
/// [`CloudInitError::InvalidPackage`] naming `field`.
pub fn validate_package_beside_docker_containerd(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let name = value.split_once('=').map_or(value, |(name, _)| name);
    if name == DEBIAN_PACKAGE || name == DOCKER_PACKAGE {
        return Err(CloudInitError::InvalidPackage {
            field: field.clone(),
            value: value.to_owned(),
            reason: "is installed by the renderer from Docker's repository when container_runtime.source is \"docker\"; drop it from packages".to_owned(),
        });
    }
    Ok(())
}

/// A Debian package name (policy: lowercase letters, digits, `+ - .`,
/// at least two characters, starting alphanumeric), optionally `=version`.
/// Packages only pkgs.k8s.io has are refused: cloud-init installs
/// `packages` before the Kubernetes repository exists.
///
/// # Errors
/// [`CloudInitError::InvalidPackage`] naming `field`.
pub fn validate_package(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let err = |reason: &str| CloudInitError::InvalidPackage {
        field: field.clone(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let (name, version) = match value.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    let name_ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if !name_ok {
        return Err(err(
            "is not a Debian package name (lowercase letters, digits, '+', '-', '.', optionally =version)",
        ));
    }
    if let Some(version) = version {
        let version_ok = version.starts_with(|c: char| c.is_ascii_digit())
            && version.bytes().all(|b| b.is_ascii_alphanumeric() || b".+~:-*".contains(&b));
        if !version_ok {
            return Err(err("has an invalid version after '=' (e.g. pkg=1.2.3-1)"));
        }
    }
    if PKGS_K8S_IO_ONLY.contains(&name) {
        return Err(err("comes from pkgs.k8s.io, which the renderer sets up and installs from itself; \
             choose the version with kubernetes_version"));
    }
    Ok(())
}

fn account_name_ok(name: &str) -> bool {
    // Debian's adduser NAME_REGEX, which cloud-init's useradd call obeys.
    (1..=MAX_ACCOUNT_NAME_LEN).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The login user (keys are checked too; see
/// [`merge_user_keys`](super::ssh_key::merge_user_keys)).
#[must_use]
pub fn validate_user(user: &User) -> Vec<CloudInitError> {
    let mut errors = Vec::new();
    let user_field = |name: &str| Field::attr(attr::USER).at(name);
    let invalid = |field: Field, value: &str, reason: &str| CloudInitError::InvalidUser {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if !account_name_ok(&user.name) {
        errors.push(invalid(
            user_field(attr::NAME),
            &user.name,
            "is not a valid user name (lowercase letters, digits, '_' and '-', starting with a letter, at most 32)",
        ));
    } else if user.name == "root" {
        errors.push(invalid(user_field(attr::NAME), &user.name, "cannot be used: root login is disabled"));
    }
    for (i, group) in user.groups.iter().enumerate() {
        if !account_name_ok(group) {
            errors.push(invalid(user_field(attr::GROUPS).index(i), group, "is not a valid group name"));
        } else if user.groups.iter().take(i).any(|g| g == group) {
            errors.push(invalid(user_field(attr::GROUPS).index(i), group, "is listed twice"));
        }
    }
    if let Err(e) = validate_absolute_path(&user_field(attr::SHELL), &user.shell) {
        errors.push(e);
    }
    if let Some(sudo) = &user.sudo {
        if sudo.trim().is_empty() || sudo.chars().any(char::is_control) {
            errors.push(invalid(
                user_field(attr::SUDO),
                sudo,
                "must be one non-empty sudoers rule such as \"ALL=(ALL) NOPASSWD:ALL\"",
            ));
        }
    }
    let keys =
        user.ssh_authorized_keys.iter().enumerate().map(|(i, k)| (user_field(attr::SSH_AUTHORIZED_KEYS).index(i), k));
    let github = user.github_keys.iter().enumerate().map(|(i, k)| (Field::GithubKey(i), k));
    for (field, key) in keys.chain(github) {
        if let Err(e) = validate_ssh_public_key(&field, key) {
            errors.push(e);
        }
    }
    if user.ssh_authorized_keys.is_empty() && user.github_keys.is_empty() {
        errors.push(CloudInitError::NoSshKeys);
    }
    errors
}

/// `hosts`: each key an IP address (no duplicates once normalised), each
/// value a non-empty list of RFC 1123 names.
#[must_use]
pub fn validate_hosts(hosts: &BTreeMap<String, Vec<String>>) -> Vec<CloudInitError> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<IpAddr, &str> = BTreeMap::new();
    for (ip, names) in hosts {
        let field = Field::attr(attr::HOSTS).key(ip);
        match ip.parse::<IpAddr>() {
            Ok(addr) => {
                if let Some(previous) = seen.insert(addr, ip) {
                    errors.push(CloudInitError::InvalidHostsEntry {
                        field: field.clone(),
                        reason: format!("{ip:?} is the same address as {previous:?}; merge the two entries"),
                    });
                }
            }
            Err(_) => errors.push(CloudInitError::InvalidHostsEntry {
                field: field.clone(),
                reason: format!("{ip:?} is not an IPv4 or IPv6 address"),
            }),
        }
        if names.is_empty() {
            errors.push(CloudInitError::InvalidHostsEntry {
                field: field.clone(),
                reason: "give at least one name for the address".to_owned(),
            });
        }
        for (i, name) in names.iter().enumerate() {
            if let Err(e) = validate_dns_name(&field.clone().index(i), name, MAX_DNS_NAME_LEN) {
                errors.push(e);
            }
        }
    }
    errors
}

/// `permissions`: 3–4 octal digits with an optional leading `0`, e.g.
/// `644`, `0644`, `1777`, `01777`.
///
/// # Errors
/// [`CloudInitError::InvalidPermissions`] naming `field`.
pub fn validate_permissions(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let digits = if value.len() == 5 { value.strip_prefix('0').unwrap_or("x") } else { value };
    if (3..=4).contains(&digits.len()) && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        Ok(())
    } else {
        Err(CloudInitError::InvalidPermissions { field: field.clone(), value: value.to_owned() })
    }
}

/// `owner`: `user` or `user:group` by name (cloud-init resolves names, not ids).
///
/// # Errors
/// [`CloudInitError::InvalidOwner`] naming `field`.
pub fn validate_owner(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let ok = match value.split_once(':') {
        Some((user, group)) => account_name_ok(user) && account_name_ok(group),
        None => account_name_ok(value),
    };
    if ok {
        Ok(())
    } else {
        Err(CloudInitError::InvalidOwner {
            field: field.clone(),
            value: value.to_owned(),
            reason: "must be \"user\" or \"user:group\" by name, e.g. \"root:root\"".to_owned(),
        })
    }
}

/// `encoding`: one of [`TEXT_ENCODINGS`].
///
/// # Errors
/// [`CloudInitError::InvalidEncoding`] naming `field`.
pub fn validate_encoding(field: &Field, value: &str) -> Result<(), CloudInitError> {
    if TEXT_ENCODINGS.contains(&value) {
        Ok(())
    } else {
        Err(CloudInitError::InvalidEncoding { field: field.clone(), value: value.to_owned() })
    }
}

/// One `write_files` entry (index `index`). `managed_user` is the login
/// user: owning a file by it needs `defer`, because write_files runs before
/// cloud-init creates users.
#[must_use]
pub fn validate_write_file(index: usize, file: &WriteFile, managed_user: &str) -> Vec<CloudInitError> {
    let mut errors = Vec::new();
    let field = |name: &str| Field::attr(attr::WRITE_FILES).index(index).at(name);
    if let Err(e) = validate_absolute_path(&field(attr::PATH), &file.path) {
        errors.push(e);
    }
    if let Some(p) = &file.permissions {
        if let Err(e) = validate_permissions(&field(attr::PERMISSIONS), p) {
            errors.push(e);
        }
    }
    if let Some(owner) = &file.owner {
        match validate_owner(&field(attr::OWNER), owner) {
            Err(e) => errors.push(e),
            Ok(()) => {
                let names_user = owner.split(':').any(|part| part == managed_user);
                if names_user && !file.defer {
                    errors.push(CloudInitError::InvalidOwner {
                        field: field(attr::OWNER),
                        value: owner.clone(),
                        reason: format!(
                            "names user {managed_user:?}, which does not exist yet when write_files runs; set defer = true"
                        ),
                    });
                }
            }
        }
    }
    if let Some(encoding) = &file.encoding {
        match validate_encoding(&field(attr::ENCODING), encoding) {
            Err(e) => errors.push(e),
            Ok(()) if encoding != "text/plain" => {
                let compact: String = file.content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                match BASE64.decode(compact.as_bytes()) {
                    Err(e) => errors.push(CloudInitError::InvalidContent {
                        field: field(attr::CONTENT),
                        reason: format!("encoding {encoding:?} needs base64 content: {e}"),
                    }),
                    Ok(bytes) if encoding.starts_with("gz") && !bytes.starts_with(&[0x1f, 0x8b]) => {
                        errors.push(CloudInitError::InvalidContent {
                            field: field(attr::CONTENT),
                            reason: format!("encoding {encoding:?} needs base64 of gzip data (no gzip header found)"),
                        });
                    }
                    Ok(_) => {}
                }
            }
            Ok(()) => {}
        }
    }
    errors
}

/// No path twice among the user's write_files unless the later one appends.
fn validate_unique_write_files(files: &[WriteFile]) -> Result<(), CloudInitError> {
    for (i, file) in files.iter().enumerate() {
        if file.append {
            continue;
        }
        if let Some(first) = files.iter().take(i).position(|f| f.path == file.path) {
            return Err(CloudInitError::WriteFileConflict {
                field: Field::attr(attr::WRITE_FILES).index(i).at(attr::PATH),
                path: file.path.clone(),
                first: format!("write_files[{first}]"),
            });
        }
    }
    Ok(())
}

/// A runcmd entry: a non-empty shell line (several lines are fine).
///
/// # Errors
/// [`CloudInitError::InvalidRuncmd`] naming `field`.
pub fn validate_runcmd(field: &Field, value: &str) -> Result<(), CloudInitError> {
    let reason = if value.trim().is_empty() {
        "the command is empty"
    } else if value.contains('\0') {
        "the command contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(CloudInitError::InvalidRuncmd { field: field.clone(), reason: reason.to_owned() })
}

/// What cloud-init 25.1's schema says about a document, as `base` errors;
/// `merged` marks a document merged from `base` and the generated keys.
pub fn schema_errors(document: &Mapping, merged: bool) -> Vec<CloudInitError> {
    check_document(document)
        .into_iter()
        .map(|problem| CloudInitError::BaseSchema { path: problem.path, reason: problem.message, merged })
        .collect()
}

/// Parses `base`: the first line must be `#cloud-config` (a trailing CR is
/// tolerated), the rest one YAML mapping (an empty document counts as an
/// empty mapping).
///
/// # Errors
/// [`CloudInitError::BaseMissingHeader`], [`CloudInitError::BaseNotYaml`],
/// [`CloudInitError::BaseNotMapping`] or [`CloudInitError::BaseUnsupported`].
pub fn parse_base(text: &str) -> Result<Mapping, CloudInitError> {
    let first_line = text.split('\n').next().unwrap_or_default();
    if first_line.strip_suffix('\r').unwrap_or(first_line) != CLOUD_CONFIG_HEADER {
        return Err(CloudInitError::BaseMissingHeader);
    }
    match yaml::parse(text) {
        Ok(None) => Ok(Mapping::new()),
        Ok(Some(Yaml::Map(map))) => Ok(map),
        Ok(Some(other)) => Err(CloudInitError::BaseNotMapping { found: other.kind().to_owned() }),
        Err(YamlError::Syntax { line, column, message }) => Err(CloudInitError::BaseNotYaml { line, column, message }),
        Err(YamlError::Unsupported { path, message }) => Err(CloudInitError::BaseUnsupported { path, reason: message }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudinit::ssh_key::tests::ED25519;

    fn valid_spec() -> CloudInitSpec {
        let mut spec = CloudInitSpec::new("node1", "1.35");
        spec.user.ssh_authorized_keys.push(ED25519.to_owned());
        spec
    }

    #[test]
    fn a_minimal_spec_is_valid() {
        assert_eq!(validate_all(&valid_spec()), vec![]);
    }

    #[test]
    fn hostnames() {
        for good in ["node1", "a", "k8s-cp-01", "n1.lab", &"a".repeat(63)] {
            validate_hostname(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        let reason = |v: &str| match validate_hostname(v).expect_err(v) {
            CloudInitError::InvalidHostname { field, reason, .. } => {
                assert_eq!(field, "hostname");
                reason
            }
            other => panic!("{other:?}"),
        };
        assert!(reason("").contains("empty"));
        assert!(reason("-node").contains("'-'"));
        assert!(reason("node-").contains("'-'"));
        assert!(reason("my_node").contains("underscores"));
        assert!(reason("Node1").contains("lowercase"));
        assert!(reason(&"a".repeat(64)).contains("63"));
        assert!(reason(&format!("{}.{}", "a".repeat(40), "b".repeat(40))).contains("64"));
        assert!(reason("a..b").contains("empty label"));
        assert!(reason("node.").contains("trailing dot"));
        assert!(reason("nöde").contains("not allowed"));
    }

    #[test]
    fn fqdns() {
        validate_fqdn("node1.lab.example", "node1").expect("ok");
        let err = validate_fqdn("node2.lab", "node1").expect_err("prefix");
        assert!(err.to_string().starts_with("fqdn:") && err.to_string().contains("\"node1.\""), "{err}");
        let reason = |fqdn: &str| match validate_fqdn(fqdn, "node1") {
            Err(CloudInitError::InvalidHostname { field, reason, .. }) if field == "fqdn" => reason,
            other => panic!("{fqdn}: {other:?}"),
        };
        assert!(reason("node1").contains("at least two labels"));
        assert!(reason("node1.Lab").contains("lowercase"));
        assert!(reason("node1x.lab").contains("must start with the hostname"), "the prefix must end at a dot");
        assert!(reason(&format!("node1.{}", "a".repeat(64))).contains("longer than 63"));
    }

    #[test]
    fn timezones() {
        for good in ["Etc/UTC", "UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Asia/Kolkata"] {
            validate_timezone(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        let err = validate_timezone("europe/berlin").expect_err("case");
        assert!(err.to_string().contains("did you mean \"Europe/Berlin\""), "{err}");
        let err = validate_timezone("Mars/Olympus").expect_err("unknown");
        assert!(err.to_string().contains("Etc/UTC") && err.to_string().starts_with("timezone:"), "{err}");
        for bad in ["", "../../etc/passwd"] {
            let err = validate_timezone(bad).expect_err(bad);
            assert!(matches!(&err, CloudInitError::UnknownTimezone { value, .. } if value == bad), "{err:?}");
        }
    }

    #[test]
    fn locales() {
        for good in ["en_US.UTF-8", "C.UTF-8", "C", "POSIX", "de_DE@euro", "sr_RS.UTF-8@latin", "ast_ES.UTF-8"] {
            validate_locale(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["", "en US", "en_US.UTF-8\n", "en_US..UTF-8", "_US", "en_US.", "en_US@"] {
            let err = validate_locale(bad).expect_err(bad);
            assert_eq!(err, CloudInitError::InvalidLocale { value: bad.to_owned() });
        }
    }

    #[test]
    fn kernel_modules_sysctls_packages() {
        validate_kernel_module(&Field::attr("kernel_modules").index(0), "nf_conntrack").expect("ok");
        validate_kernel_module(&Field::attr("kernel_modules").index(0), "ip_vs-rr").expect("ok");
        for bad in ["", "a b", "x;reboot", "a/b", &"m".repeat(56)] {
            let err = validate_kernel_module(&Field::attr("kernel_modules").index(2), bad).expect_err(bad);
            assert!(err.to_string().starts_with("kernel_modules[2]:"), "{err}");
        }

        for (k, v) in [
            ("vm.swappiness", "0"),
            ("net/ipv4/conf/eth0.100/rp_filter", "2"),
            ("-net.core.x", "1"),
            ("net.ipv4.conf.*.rp_filter", "0"),
            ("net.ipv4.tcp_rmem", "4096 87380 6291456"),
        ] {
            validate_sysctl(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        for (k, v) in [
            ("a b", "1"),
            ("a=b", "1"),
            ("", "1"),
            ("vm.swappiness", ""),
            ("vm.swappiness", "1\n2"),
            (".x", "1"),
            ("vm.", "1"),
            ("vm.x", " 1"),
        ] {
            let err = validate_sysctl(k, v).expect_err(k);
            assert!(err.to_string().starts_with(&format!("sysctls[{k:?}]:")), "{err}");
        }

        for good in [
            "htop",
            "nfs-common",
            "libc6",
            "g++",
            "open-iscsi=2.1.8-1",
            "curl=8.14*",
            "0ad",
            "linux-image-6.12.0-1-amd64",
        ] {
            validate_package(&Field::attr("packages").index(0), good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["", "a", "Htop", "-x", "a b", "htop=", "htop=v1", "pkg:arm64", "x;y"] {
            let err = validate_package(&Field::attr("packages").index(1), bad).expect_err(bad);
            assert!(
                matches!(&err, CloudInitError::InvalidPackage { field, value, .. } if *field == "packages[1]" && value == bad),
                "{err:?}"
            );
        }
        let err = validate_package(&Field::attr("packages").index(3), "kubeadm").expect_err("reserved");
        assert!(err.to_string().contains("kubernetes_version") && err.to_string().starts_with("packages[3]:"), "{err}");
        let err = validate_package(&Field::attr("packages").index(0), "cri-tools=1.35.0-1.1").expect_err("pkgs.k8s.io");
        assert!(err.to_string().contains("pkgs.k8s.io"), "{err}");
    }

    #[test]
    fn write_files_fields() {
        validate_permissions(&Field::attr("p"), "0644").expect("ok");
        validate_permissions(&Field::attr("p"), "644").expect("ok");
        validate_permissions(&Field::attr("p"), "1777").expect("ok");
        validate_permissions(&Field::attr("p"), "01777").expect("ok");
        for bad in ["", "0o644", "rw-r--r--", "0888", "64", "11777", "0x1ff", " 644"] {
            let err = validate_permissions(&Field::attr("write_files").index(0).at("permissions"), bad).expect_err(bad);
            assert!(err.to_string().starts_with("write_files[0].permissions:"), "{err}");
        }
        validate_owner(&Field::attr("o"), "root:root").expect("ok");
        validate_owner(&Field::attr("o"), "www-data").expect("ok");
        for bad in ["", "0:0", "root:", ":root", "Root", "a:b:c"] {
            let err = validate_owner(&Field::attr("o"), bad).expect_err(bad);
            assert!(matches!(&err, CloudInitError::InvalidOwner { value, .. } if value == bad), "{err:?}");
        }
        for good in TEXT_ENCODINGS {
            validate_encoding(&Field::attr("e"), good).expect("ok");
        }
        for bad in ["gzip", "B64"] {
            // Raw gzip cannot be text; names are case-sensitive.
            let err = validate_encoding(&Field::attr("e"), bad).expect_err(bad);
            assert!(matches!(&err, CloudInitError::InvalidEncoding { value, .. } if value == bad), "{err:?}");
        }

        let mut file = WriteFile::new("etc/x", "hi");
        let errors = validate_write_file(3, &file, "debian");
        assert!(
            matches!(&errors[..], [CloudInitError::InvalidPath { field, .. }] if *field == "write_files[3].path"),
            "{errors:?}"
        );
        for bad in ["/etc/../x", "/etc/x/", "/etc/./x", "/etc/a\nb"] {
            file.path = bad.into();
            assert_eq!(validate_write_file(0, &file, "debian").len(), 1, "{bad:?}");
        }
        file.path = "/home/debian/.bashrc".into();
        file.owner = Some("debian:debian".into());
        let errors = validate_write_file(0, &file, "debian");
        assert!(errors[0].to_string().contains("defer = true"), "{errors:?}");
        file.defer = true;
        assert_eq!(validate_write_file(0, &file, "debian"), vec![]);
        file.encoding = Some("b64".into());
        file.content = "not base64!".into();
        assert!(matches!(&validate_write_file(0, &file, "debian")[..], [CloudInitError::InvalidContent { .. }]));
        file.content = BASE64.encode("hello");
        assert_eq!(validate_write_file(0, &file, "debian"), vec![]);
        file.encoding = Some("gz+b64".into());
        assert!(validate_write_file(0, &file, "debian")[0].to_string().contains("gzip"));
    }

    #[test]
    fn user_checks() {
        let mut spec = valid_spec();
        spec.user.name = "Admin".into();
        spec.user.groups = vec!["sudo".into(), "sudo".into(), "Bad".into()];
        spec.user.shell = "bash".into();
        spec.user.sudo = Some(String::new());
        spec.user.github_keys = vec!["ssh-rsa AAAA".into()];
        let fields: Vec<String> = validate_user(&spec.user)
            .iter()
            .map(|e| match e {
                CloudInitError::InvalidUser { field, .. }
                | CloudInitError::InvalidPath { field, .. }
                | CloudInitError::InvalidSshKey { field, .. } => field.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            fields,
            ["user.name", "user.groups[1]", "user.groups[2]", "user.shell", "user.sudo", "github_ssh_keys[0]"]
        );
        spec.user = User::default();
        assert_eq!(validate_user(&spec.user), vec![CloudInitError::NoSshKeys]);
        spec.user.name = "root".into();
        spec.user.github_keys = vec![ED25519.into()];
        assert!(validate_user(&spec.user)[0].to_string().contains("root login"));
    }

    #[test]
    fn hosts_checks() {
        let mut hosts = BTreeMap::new();
        hosts.insert("10.0.0.10".to_owned(), vec!["cp1".to_owned(), "cp1.lab".to_owned()]);
        hosts.insert("fd00::1".to_owned(), vec!["v6".to_owned()]);
        assert_eq!(validate_hosts(&hosts), vec![]);
        hosts.insert("FD00:0::1".to_owned(), vec!["dup".to_owned()]);
        hosts.insert("10.0.0.300".to_owned(), vec!["x".to_owned()]);
        hosts.insert("10.0.0.11".to_owned(), vec![]);
        hosts.insert("10.0.0.12".to_owned(), vec!["bad_name".to_owned()]);
        let errors = validate_hosts(&hosts);
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(text.iter().any(|t| t.starts_with("hosts[\"10.0.0.300\"]:") && t.contains("not an IPv4")));
        assert!(text.iter().any(|t| t.starts_with("hosts[\"10.0.0.11\"]:") && t.contains("at least one name")));
        assert!(text.iter().any(|t| t.starts_with("hosts[\"10.0.0.12\"][0]:")));
        assert!(text.iter().any(|t| t.contains("same address")));
    }

    #[test]
    fn base_header_yaml_and_mapping_are_distinct_errors() {
        assert_eq!(parse_base("runcmd: []\n"), Err(CloudInitError::BaseMissingHeader));
        assert_eq!(parse_base(" #cloud-config\na: 1\n"), Err(CloudInitError::BaseMissingHeader));
        assert_eq!(parse_base("#cloud-config-archive\n"), Err(CloudInitError::BaseMissingHeader));
        assert_eq!(parse_base("## template: jinja\n#cloud-config\n"), Err(CloudInitError::BaseMissingHeader));
        assert!(matches!(parse_base("#cloud-config\na: [1\n"), Err(CloudInitError::BaseNotYaml { .. })));
        assert_eq!(
            parse_base("#cloud-config\n- a\n- b\n"),
            Err(CloudInitError::BaseNotMapping { found: "a list".into() })
        );
        assert_eq!(
            parse_base("#cloud-config\njust text\n"),
            Err(CloudInitError::BaseNotMapping { found: "a string".into() })
        );
        assert!(matches!(parse_base("#cloud-config\na: 1\na: 2\n"), Err(CloudInitError::BaseUnsupported { .. })));
        assert_eq!(parse_base("#cloud-config\n").expect("empty ok"), Mapping::new());
        assert_eq!(parse_base("#cloud-config\r\na: 1\r\n").expect("crlf ok").len(), 1);
    }

    #[test]
    fn spec_level_checks() {
        let mut spec = valid_spec();
        spec.gzip = true;
        assert_eq!(validate(&spec), Err(CloudInitError::GzipRequiresBase64));
        spec.base64_encode = true;
        validate(&spec).expect("gzip+base64 ok");

        let mut spec = valid_spec();
        spec.kubernetes_version = "1.99".into();
        spec.container_runtime.source = "docker".into();
        assert!(matches!(validate(&spec), Err(CloudInitError::UnknownPauseImage { .. })));
        spec.container_runtime.sandbox_image = Some("registry.example/pause:9".into());
        validate(&spec).expect("explicit image");
        spec.container_runtime.sandbox_image = Some("bad image".into());
        assert!(matches!(validate(&spec), Err(CloudInitError::InvalidSandboxImage { .. })));

        let mut spec = valid_spec();
        spec.kubernetes_version = "1.36.3".into();
        assert_eq!(validate(&spec), Err(CloudInitError::ContainerdTooOld { kubernetes: "1.36".into() }));
        spec.container_runtime.source = "docker".into();
        validate(&spec).expect("containerd 2.x runs 1.36");
        spec.packages = vec!["htop".into(), "containerd=1.7.24~ds1-10".into(), "containerd.io".into()];
        let errors = validate_all(&spec);
        let fields: Vec<String> =
            errors.iter().map(|e| e.to_string().split(':').next().unwrap_or_default().to_owned()).collect();
        assert_eq!(fields, ["packages[1]", "packages[2]"], "{errors:?}");
        assert!(errors.iter().all(|e| e.to_string().contains("container_runtime.source is \"docker\"")), "{errors:?}");
        spec.container_runtime.source = "podman".into();
        spec.packages.clear();
        assert_eq!(validate(&spec), Err(CloudInitError::InvalidContainerdSource { value: "podman".into() }));
        assert_eq!(
            validate(&spec).expect_err("bad source").attribute_path(),
            [
                crate::cloudinit::AttributeStep::Attribute("container_runtime".into()),
                crate::cloudinit::AttributeStep::Attribute("source".into())
            ]
        );

        let mut spec = valid_spec();
        spec.container_runtime.cni_bin_dir = "/opt/\"cni".into();
        assert!(
            matches!(validate(&spec), Err(CloudInitError::InvalidPath { ref field, .. }) if *field == "container_runtime.cni_bin_dir")
        );

        let mut spec = valid_spec();
        spec.write_files = vec![WriteFile::new("/etc/a", "1"), WriteFile::new("/etc/a", "2")];
        let err = validate(&spec).expect_err("dup");
        assert!(
            err.to_string().starts_with("write_files[1].path:") && err.to_string().contains("write_files[0]"),
            "{err}"
        );
        spec.write_files[1].append = true;
        validate(&spec).expect("append is fine");
        spec.write_files.push(WriteFile::new("/etc/containerd/config.toml", "x"));
        let err = validate(&spec).expect_err("generated");
        assert!(err.to_string().contains("container_runtime"), "{err}");

        let mut spec = valid_spec();
        spec.runcmd = vec!["echo ok".into(), "  ".into()];
        assert!(
            matches!(validate(&spec), Err(CloudInitError::InvalidRuncmd { ref field, .. }) if *field == "runcmd[1]")
        );

        // validate_all reports everything at once, in attribute order.
        let mut spec = valid_spec();
        spec.hostname = "Bad_Host".into();
        spec.timezone = "Nowhere".into();
        spec.kubernetes_version = "v1.35".into();
        spec.base = Some("nope".into());
        let errors = validate_all(&spec);
        let attributes: Vec<String> = errors.iter().map(CloudInitError::attribute).collect();
        assert_eq!(attributes, ["hostname", "timezone", "kubernetes_version", "base"]);
    }
}

//! The `cloudinit_config` resource: Terraform glue around the pure renderer.
//!
//! Rendering happens at plan time whenever the inputs are known, so the plan
//! shows the exact document (and `bpg/proxmox` can show the snippet diff).
//! Every input forces replacement: a rendered document is immutable, like the
//! VM it boots. Nothing remote is created, so read and delete are no-ops.

use std::sync::Arc;

use async_trait::async_trait;

use super::github_keys::{GithubKeys, is_valid_github_user};
use super::{AttributeStep, CertificateRenewal, CloudInitError, CloudInitSpec, ContainerRuntime, User, WriteFile};
use crate::framework::schema::{NestedBlock, Nesting};
use crate::framework::{
    ApplyOutcome, Attribute, Block, CallContext, Diagnostics, ImportState, ModifyPlan, PlanRequest, PlanRule,
    ReadOutcome, Resource, Schema, ValidateConfig,
};
use crate::value::{AttributePath, Type, Value};

/// Attributes the provider computes; everything else is input.
const COMPUTED: [&str; 4] = ["id", "rendered", "sha256", "github_ssh_keys"];

/// The `cloudinit_config` resource type.
#[derive(Debug)]
pub struct CloudInitConfig {
    github: Arc<GithubKeys>,
}

impl CloudInitConfig {
    /// The resource, fetching GitHub keys through `github`.
    pub fn new(github: Arc<GithubKeys>) -> Self {
        Self { github }
    }
}

/// An input attribute: every input forces replacement.
fn input(attribute: Attribute) -> Attribute {
    attribute.plan(PlanRule::RequiresReplace)
}

/// For control planes: renewal on the node, for clusters nobody applies to.
fn certificate_renewal() -> Block {
    Block::new(
        "Control planes only: a daily systemd timer (`kubeadm-renew-certificates.timer`, a fixed random time per node) that runs `kubeadm certs renew all` and restarts the static pods once fewer than `days_before` days are left of the API server's certificate, so a cluster nobody applies to survives kubeadm's one-year expiry. Use this or kubeadm_cluster's `renew_certificates_before`, not both (set that to `0s`): two control planes restarting at once can cost etcd its quorum for a moment.",
    )
    .attribute(Attribute::number("days_before").required().description("Renew when fewer days than this are left, 1 to 364 (e.g. 30)."))
}

fn schema() -> Schema {
    let user = Block::new("The login user: created with sudo rights, password locked, SSH keys only.")
        .attribute(
            Attribute::string("name")
                .default_value(Value::string(super::DEFAULT_USER))
                .description("User name. Defaults to `debian`, the Debian cloud image's user."),
        )
        .attribute(Attribute::string_list("ssh_authorized_keys").description("SSH public keys, one per entry."))
        .attribute(Attribute::string_list("ssh_keys_from_github").description(
            "GitHub user names whose public keys (`https://github.com/<user>.keys`) are fetched when the resource is planned for creation and pinned in `github_ssh_keys`.",
        ))
        .attribute(Attribute::string_list("groups").description("Supplementary groups. Defaults to `[\"sudo\"]`."))
        .attribute(Attribute::string("shell").description("Login shell. Defaults to `/bin/bash`."))
        .attribute(Attribute::string("sudo").description("sudoers rule. Defaults to `ALL=(ALL) NOPASSWD:ALL`."));
    let runtime = Block::new("containerd as the container runtime.")
        .attribute(
            Attribute::string("source")
                .default_value(Value::string(super::DEFAULT_CONTAINERD_SOURCE))
                .description("Where containerd comes from: `debian` (Debian 13's containerd 1.7, config version 2; Kubernetes 1.35 is the last release that supports it) or `docker` (containerd 2.x, package `containerd.io` from Docker's Debian repository, pinned to 2.x and held, config version 3). Kubernetes 1.36 and later need `docker`."),
        )
        .attribute(Attribute::string("sandbox_image").description(
            "Pause image. Defaults to the one kubeadm of `kubernetes_version` expects.",
        ))
        .attribute(
            Attribute::string("cni_bin_dir")
                .default_value(Value::string("/opt/cni/bin"))
                .description("Where CNI plugins live. Cilium and Flannel install to `/opt/cni/bin` (Debian's default is `/usr/lib/cni`)."),
        )
        .attribute(
            Attribute::string("cni_conf_dir")
                .default_value(Value::string("/etc/cni/net.d"))
                .description("Where CNI configuration lives."),
        )
        .attribute(
            Attribute::bool("systemd_cgroup")
                .default_value(Value::Bool(true))
                .description("Use the systemd cgroup driver, as kubelet does by default since v1.22."),
        );
    let write_file = vec![
        Attribute::string("path").required().description("Absolute path on the node."),
        Attribute::string("content").required().description("File content."),
        Attribute::string("permissions").description("Octal mode, e.g. `0644`."),
        Attribute::string("owner").description("`user:group`."),
        Attribute::string("encoding").description("`b64` or `gz+b64` when `content` is encoded."),
        Attribute::bool("append").description("Append instead of replacing."),
        Attribute::bool("defer").description("Write in the final stage, after packages are installed."),
    ];
    let block = Block::new(
        "Renders the cloud-init user-data that prepares a Debian 13 VM as a kubeadm node: node prep (swap off, kernel modules, sysctls), the Kubernetes apt repository with pinned kubelet/kubeadm/kubectl, containerd with systemd cgroups, the login user and `/etc/hosts`. Pure and deterministic: the plan shows the exact document.",
    )
    .attribute(Attribute::string("id").computed().plan(PlanRule::UseStateForUnknown).description("The `sha256` of `rendered`."))
    .attribute(input(Attribute::string("hostname").required().description("Host name (RFC 1123 label).")))
    .attribute(input(Attribute::string("fqdn").description("Fully qualified name.")))
    .attribute(input(Attribute::string("timezone").default_value(Value::string("Etc/UTC")).description("IANA time zone."),
    ))
    .attribute(input(Attribute::string("locale").description("System locale, e.g. `en_US.UTF-8`.")))
    .attribute(input(Attribute::string("kubernetes_version").required().description(
            "`1.35` (latest patch of the minor) or `1.35.2` (exact). Selects the pkgs.k8s.io repository of the minor and pins kubelet, kubeadm and kubectl.",
        ),
    ))
    .attribute(input(Attribute::string_list("kernel_modules").description("Kernel modules to load beyond `overlay` and `br_netfilter`.")))
    .attribute(input(Attribute::string_map("sysctls").description("sysctls beyond IP forwarding and the bridge settings.")))
    .attribute(input(Attribute::of_type("hosts", Type::map(Type::list(Type::String)))
            .description("`/etc/hosts` entries: IP address to names. The lab network has no DNS."),
    ))
    .attribute(input(Attribute::string_list("packages").description("Extra Debian packages.")))
    .attribute(input(Attribute::nested("write_files", Nesting::List, write_file).description("Extra files, written after the generated ones.")))
    .attribute(input(Attribute::string_list("runcmd").description("Extra commands, run after node preparation.")))
    .attribute(input(Attribute::string("base").description(
            "A `#cloud-config` document (e.g. from `templatefile()`) deep-merged with the generated one: maps merge, lists append, your scalars win, except on keys an attribute owns.",
        ),
    ))
    .attribute(input(Attribute::bool("gzip").default_value(Value::Bool(false)).description("Gzip the output (needs `base64_encode`).")))
    .attribute(input(Attribute::bool("base64_encode").default_value(Value::Bool(false)).description("Base64-encode the output."),
    ))
    .attribute(Attribute::string_list("github_ssh_keys").computed().description("Keys fetched from GitHub at creation, pinned."))
    .attribute(Attribute::string("rendered").computed().description("The user-data: the document, or its encoding."))
    .attribute(Attribute::string("sha256").computed().description("Hex SHA-256 of `rendered`."))
    .block(NestedBlock::single("user", user).plan(PlanRule::RequiresReplace))
    .block(NestedBlock::single("container_runtime", runtime).plan(PlanRule::RequiresReplace))
    .block(NestedBlock::single("kubeadm_certificate_renewal", certificate_renewal()).plan(PlanRule::RequiresReplace));
    Schema::new(block)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_string_vec().unwrap_or_default()
}

/// Builds the renderer's input from a wholly known resource value.
fn spec_from_value(value: &Value) -> CloudInitSpec {
    let user_value = value.get("user");
    let mut user = User::default();
    if let Some(name) = user_value.get("name").as_str() {
        user.name = name.to_string();
    }
    user.ssh_authorized_keys = strings(user_value.get("ssh_authorized_keys"));
    user.github_keys = strings(value.get("github_ssh_keys"));
    if !user_value.get("groups").is_null() {
        user.groups = strings(user_value.get("groups"));
    }
    if let Some(shell) = user_value.get("shell").as_str() {
        user.shell = shell.to_string();
    }
    if let Some(sudo) = user_value.get("sudo").as_str() {
        user.sudo = Some(sudo.to_string());
    }
    let runtime_value = value.get("container_runtime");
    let mut container_runtime = ContainerRuntime {
        sandbox_image: runtime_value.get("sandbox_image").as_str().map(str::to_string),
        ..ContainerRuntime::default()
    };
    if let Some(source) = runtime_value.get("source").as_str() {
        container_runtime.source = source.to_string();
    }
    if let Some(dir) = runtime_value.get("cni_bin_dir").as_str() {
        container_runtime.cni_bin_dir = dir.to_string();
    }
    if let Some(dir) = runtime_value.get("cni_conf_dir").as_str() {
        container_runtime.cni_conf_dir = dir.to_string();
    }
    if let Some(systemd) = runtime_value.get("systemd_cgroup").as_bool() {
        container_runtime.systemd_cgroup = systemd;
    }
    let renewal = value.get("kubeadm_certificate_renewal");
    let certificate_renewal = (!renewal.is_null())
        .then(|| CertificateRenewal { days_before: renewal.get("days_before").as_i64().unwrap_or(0) });
    let write_files = value
        .get("write_files")
        .as_slice()
        .unwrap_or(&[])
        .iter()
        .map(|file| WriteFile {
            path: file.get("path").as_str().unwrap_or_default().to_string(),
            content: file.get("content").as_str().unwrap_or_default().to_string(),
            permissions: file.get("permissions").as_str().map(str::to_string),
            owner: file.get("owner").as_str().map(str::to_string),
            encoding: file.get("encoding").as_str().map(str::to_string),
            append: file.get("append").as_bool().unwrap_or(false),
            defer: file.get("defer").as_bool().unwrap_or(false),
        })
        .collect();
    let hosts = value
        .get("hosts")
        .as_map()
        .map(|map| map.iter().map(|(ip, names)| (ip.clone(), strings(names))).collect())
        .unwrap_or_default();
    let sysctls = value
        .get("sysctls")
        .as_map()
        .map(|map| map.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default();
    CloudInitSpec {
        hostname: value.get("hostname").as_str().unwrap_or_default().to_string(),
        fqdn: value.get("fqdn").as_str().map(str::to_string),
        timezone: value.get("timezone").as_str().unwrap_or(super::DEFAULT_TIMEZONE).to_string(),
        locale: value.get("locale").as_str().map(str::to_string),
        kubernetes_version: value.get("kubernetes_version").as_str().unwrap_or_default().to_string(),
        container_runtime,
        certificate_renewal,
        kernel_modules: strings(value.get("kernel_modules")),
        sysctls,
        user,
        hosts,
        packages: strings(value.get("packages")),
        write_files,
        runcmd: strings(value.get("runcmd")),
        base: value.get("base").as_str().map(str::to_string),
        gzip: value.get("gzip").as_bool().unwrap_or(false),
        base64_encode: value.get("base64_encode").as_bool().unwrap_or(false),
    }
}

/// Whether every input (not the computed attributes) is known.
fn inputs_known(value: &Value) -> bool {
    let mut inputs = value.clone();
    for name in COMPUTED {
        inputs.set(name, Value::Null);
    }
    inputs.is_wholly_known()
}

fn to_path(steps: &[AttributeStep]) -> AttributePath {
    let user = AttributeStep::Attribute("user".into());
    let github = AttributeStep::Attribute("github_keys".into());
    if steps.starts_with(&[user, github]) {
        // A fetched GitHub key: the input at fault is the user list.
        return AttributePath::attr("user").with_attr("ssh_keys_from_github");
    }
    let mut path = AttributePath::root();
    for step in steps {
        path = match step {
            AttributeStep::Attribute(name) => path.with_attr(name.clone()),
            AttributeStep::Key(key) => path.with_key(key.clone()),
            AttributeStep::Index(index) => path.with_index(*index),
        };
    }
    path
}

fn summary(err: &CloudInitError) -> &'static str {
    match err {
        CloudInitError::UnknownTimezone { .. } => "Unknown time zone",
        CloudInitError::InvalidKubernetesVersion { .. } => "Unsupported Kubernetes version",
        CloudInitError::InvalidRenewalWindow { .. } => "Invalid certificate renewal window",
        CloudInitError::UnknownPauseImage { .. } => "No pause image known for this Kubernetes version",
        CloudInitError::InvalidContainerdSource { .. } => "Unknown containerd source",
        CloudInitError::ContainerdTooOld { .. } => "containerd 1.x cannot run this Kubernetes version",
        CloudInitError::InvalidSshKey { .. } => "Invalid SSH public key",
        CloudInitError::NoSshKeys => "No SSH key for the login user",
        CloudInitError::BaseMissingHeader
        | CloudInitError::BaseNotYaml { .. }
        | CloudInitError::BaseNotMapping { .. }
        | CloudInitError::BaseUnsupported { .. } => "Invalid base cloud-config document",
        CloudInitError::OwnedKeyConflict { .. } => "base sets a key an attribute owns",
        CloudInitError::MergeTypeMismatch { .. } => "base conflicts with the generated document",
        CloudInitError::GzipRequiresBase64 => "gzip needs base64_encode",
        _ => "Invalid cloud-init input",
    }
}

/// Turns renderer errors into diagnostics on the attributes at fault.
fn error_diagnostics(errors: &[CloudInitError]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for err in errors {
        diags.attribute_error(to_path(&err.attribute_path()), summary(err), format!("{err}."));
    }
    diags
}

/// Whether the configuration value at `steps` (or the attribute holding
/// it) is known, so an error about it is real and not an artefact of an
/// unknown value read as empty.
fn known_at(config: &Value, steps: &[AttributeStep]) -> bool {
    let mut current = config;
    for step in steps {
        if !current.is_wholly_known() {
            return false;
        }
        current = match step {
            AttributeStep::Attribute(name) => current.get(name),
            AttributeStep::Key(key) => current.as_map().and_then(|m| m.get(key)).unwrap_or(&Value::Null),
            AttributeStep::Index(index) => current.as_slice().and_then(|s| s.get(*index)).unwrap_or(&Value::Null),
        };
    }
    current.is_wholly_known()
}

/// Validates the known parts of a configuration (values may be unknown at
/// validate time, e.g. a hostname from another resource).
fn validate_known_inputs(config: &Value) -> Diagnostics {
    let spec = spec_from_value(config);
    let github_users = config.get("user").get("ssh_keys_from_github");
    // Keys from GitHub are only fetched at plan time; they count as present.
    let keys_pending = !github_users.is_wholly_known() || !strings(github_users).is_empty();
    let errors: Vec<CloudInitError> = super::validate_all(&spec)
        .into_iter()
        .filter(|err| !(keys_pending && matches!(err, CloudInitError::NoSshKeys)))
        .filter(|err| {
            // Cross-field checks (fqdn against hostname, pause image against
            // version) need every field they read to be known.
            let dependencies: &[&str] = match err {
                CloudInitError::InvalidHostname { field, .. } if field == "fqdn" => &["fqdn", "hostname"],
                CloudInitError::UnknownPauseImage { .. } | CloudInitError::ContainerdTooOld { .. } => {
                    &["kubernetes_version", "container_runtime"]
                }
                CloudInitError::NoSshKeys => &["user"],
                _ => &[],
            };
            known_at(config, &err.attribute_path())
                && dependencies.iter().all(|name| config.get(name).is_wholly_known())
        })
        .collect();
    error_diagnostics(&errors)
}

impl CloudInitConfig {
    /// Fetches keys for `users` in order; errors name the URL.
    async fn fetch_github_keys(&self, ctx: &CallContext, users: &[String]) -> Result<Vec<String>, Diagnostics> {
        let mut keys = Vec::new();
        for user in users {
            let fetched = tokio::select! {
                fetched = self.github.fetch(user) => fetched,
                () = ctx.cancel.cancelled() => {
                    return Err(Diagnostics::from_error("Cancelled", "Terraform asked the provider to stop."));
                }
            };
            match fetched {
                Ok(found) => keys.extend(found),
                Err(err) => {
                    let mut diags = Diagnostics::new();
                    diags.attribute_error(
                        AttributePath::attr("user").with_attr("ssh_keys_from_github"),
                        "Could not fetch SSH keys from GitHub",
                        format!(
                            "{err}. Check the user name {user:?}, the network, or the provider's `github_base_url`; keys are fetched from {}.",
                            self.github.url_for(user)
                        ),
                    );
                    return Err(diags);
                }
            }
        }
        Ok(keys)
    }

    /// Sets `github_ssh_keys`: pinned from state while the user list is
    /// unchanged, fetched otherwise, unknown while the list is unknown.
    async fn plan_github_keys(&self, ctx: &CallContext, prior: &Value, planned: &mut Value) -> Result<(), Diagnostics> {
        let users_value = planned.get("user").get("ssh_keys_from_github").clone();
        if !users_value.is_wholly_known() {
            planned.set("github_ssh_keys", Value::Unknown);
            return Ok(());
        }
        let users = strings(&users_value);
        let prior_users = strings(prior.get("user").get("ssh_keys_from_github"));
        let prior_keys = prior.get("github_ssh_keys");
        if !prior.is_null() && prior_users == users && !prior_keys.is_unknown() {
            planned.set("github_ssh_keys", prior_keys.clone());
            return Ok(());
        }
        let keys = self.fetch_github_keys(ctx, &users).await?;
        planned.set("github_ssh_keys", Value::string_list(keys));
        Ok(())
    }

    /// Renders into `value`'s computed attributes.
    fn render_into(value: &mut Value) -> Result<(), Diagnostics> {
        let rendered = super::render(&spec_from_value(value)).map_err(|err| error_diagnostics(&[err]))?;
        value.set("rendered", Value::string(rendered.content));
        value.set("id", Value::string(rendered.sha256.clone()));
        value.set("sha256", Value::string(rendered.sha256));
        Ok(())
    }

    /// Completes a planned value at apply time, when all inputs are known.
    async fn finish(&self, ctx: &CallContext, planned: &Value) -> ApplyOutcome {
        let mut state = planned.clone();
        if state.get("github_ssh_keys").is_unknown() {
            let users = strings(state.get("user").get("ssh_keys_from_github"));
            match self.fetch_github_keys(ctx, &users).await {
                Ok(keys) => state.set("github_ssh_keys", Value::string_list(keys)),
                Err(diagnostics) => return ApplyOutcome { diagnostics, ..ApplyOutcome::default() },
            }
        }
        match Self::render_into(&mut state) {
            Ok(()) => ApplyOutcome::ok(state),
            Err(diagnostics) => ApplyOutcome { diagnostics, ..ApplyOutcome::default() },
        }
    }
}

#[async_trait]
impl Resource for CloudInitConfig {
    fn type_name(&self) -> &'static str {
        "cloudinit_config"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, ctx: &CallContext, planned: &Value, _config: &Value, _private: &[u8]) -> ApplyOutcome {
        self.finish(ctx, planned).await
    }

    async fn read(&self, _ctx: &CallContext, state: &Value, private: &[u8]) -> ReadOutcome {
        // Pure rendering: nothing outside the state can drift.
        ReadOutcome { state: state.clone(), private: private.to_vec(), diagnostics: Diagnostics::new() }
    }

    async fn update(
        &self,
        ctx: &CallContext,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        _private: &[u8],
    ) -> ApplyOutcome {
        self.finish(ctx, planned).await
    }

    async fn delete(&self, _ctx: &CallContext, _prior: &Value, _private: &[u8]) -> Diagnostics {
        Diagnostics::new()
    }

    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan> {
        Some(self)
    }

    fn as_import_state(&self) -> Option<&dyn ImportState> {
        Some(self)
    }
}

#[async_trait]
impl ValidateConfig for CloudInitConfig {
    async fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_known_inputs(config);
        let users = config.get("user").get("ssh_keys_from_github");
        for (index, user) in users.as_slice().unwrap_or(&[]).iter().enumerate() {
            if let Some(name) = user.as_str().filter(|name| !is_valid_github_user(name)) {
                diags.attribute_error(
                    AttributePath::attr("user").with_attr("ssh_keys_from_github").with_index(index),
                    "Invalid GitHub user name",
                    format!("{name:?} is not a GitHub user name (letters, digits and single hyphens, at most 39)."),
                );
            }
        }
        diags
    }
}

#[async_trait]
impl ModifyPlan for CloudInitConfig {
    async fn modify_plan(&self, ctx: &CallContext, request: &mut PlanRequest<'_>) {
        let unchanged = !request.prior.is_null() && request.planned.semantically_equal(request.prior);
        if unchanged {
            return;
        }
        if let Err(diags) = self.plan_github_keys(ctx, request.prior, &mut request.planned).await {
            request.diagnostics.extend(diags);
            return;
        }
        if inputs_known(&request.planned) && request.planned.get("github_ssh_keys").is_wholly_known() {
            if let Err(diags) = Self::render_into(&mut request.planned) {
                request.diagnostics.extend(diags);
            }
        }
    }
}

#[async_trait]
impl ImportState for CloudInitConfig {
    async fn import_state(&self, _ctx: &CallContext, id: &str) -> ApplyOutcome {
        let _ = id;
        ApplyOutcome {
            diagnostics: Diagnostics::from_error(
                "cloudinit_config cannot be imported",
                "A cloudinit_config is pure rendering: it has no remote object to adopt. Declare it in configuration and run `terraform apply`; creating it touches no machine and changes nothing outside the state.",
            ),
            ..ApplyOutcome::default()
        }
    }
}

#[cfg(test)]
mod plan_rule_tests {
    #[test]
    fn every_plan_rule_of_the_schema_is_applied() {
        assert_eq!(crate::framework::plan::unapplied_plan_rules(&super::schema().block), Vec::<String>::new());
    }
}

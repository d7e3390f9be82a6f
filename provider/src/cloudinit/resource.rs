//! The `cloudinit_config` resource: Terraform glue around the pure renderer.
//!
//! Rendering happens at plan time whenever the inputs are known, so the plan
//! shows the exact document (and `bpg/proxmox` can show the snippet diff).
//! Every input forces replacement: a rendered document is immutable, like the
//! VM it boots. Nothing remote is created, so read and delete are no-ops.

use std::sync::Arc;

use async_trait::async_trait;

use super::attributes as attr;
use super::github_keys::{GithubKeys, is_valid_github_user};
use super::input::{Input, InputError};
use super::{AttributeStep, CloudInitError, Field};
use crate::framework::schema::{NestedBlock, Nesting};
use crate::framework::{
    ApplyOutcome, Attribute, Block, CallContext, Diagnostics, ImportState, ModifyPlan, PlanRequest, PlanRule,
    ReadOutcome, Resource, Schema, ValidateConfig,
};
use crate::value::{AttributePath, Type, Value};

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
    .attribute(Attribute::number(attr::DAYS_BEFORE).required().description("Renew when fewer days than this are left, 1 to 364 (e.g. 30)."))
}

fn schema() -> Schema {
    let user = Block::new("The login user: created with sudo rights, password locked, SSH keys only.")
        .attribute(
            Attribute::string(attr::NAME)
                .default_value(Value::string(super::DEFAULT_USER))
                .description("User name. Defaults to `debian`, the Debian cloud image's user."),
        )
        .attribute(Attribute::string_list(attr::SSH_AUTHORIZED_KEYS).description("SSH public keys, one per entry."))
        .attribute(Attribute::string_list(attr::SSH_KEYS_FROM_GITHUB).description(
            "GitHub user names whose public keys (`https://github.com/<user>.keys`) are fetched when the resource is planned for creation and pinned in `github_ssh_keys`.",
        ))
        .attribute(Attribute::string_list(attr::GROUPS).description("Supplementary groups. Defaults to `[\"sudo\"]`."))
        .attribute(Attribute::string(attr::SHELL).description("Login shell. Defaults to `/bin/bash`."))
        .attribute(Attribute::string(attr::SUDO).description("sudoers rule. Defaults to `ALL=(ALL) NOPASSWD:ALL`."));
    let runtime = Block::new("containerd as the container runtime.")
        .attribute(
            Attribute::string(attr::SOURCE)
                .default_value(Value::string(super::DEFAULT_CONTAINERD_SOURCE))
                .description("Where containerd comes from: `debian` (Debian 13's containerd 1.7, config version 2; Kubernetes 1.35 is the last release that supports it) or `docker` (containerd 2.x, package `containerd.io` from Docker's Debian repository, pinned to 2.x and held, config version 3). Kubernetes 1.36 and later need `docker`."),
        )
        .attribute(Attribute::string(attr::SANDBOX_IMAGE).description(
            "Pause image. Defaults to the one kubeadm of `kubernetes_version` expects.",
        ))
        .attribute(
            Attribute::string(attr::CNI_BIN_DIR)
                .default_value(Value::string(super::DEFAULT_CNI_BIN_DIR))
                .description("Where CNI plugins live. Cilium and Flannel install to `/opt/cni/bin` (Debian's default is `/usr/lib/cni`)."),
        )
        .attribute(
            Attribute::string(attr::CNI_CONF_DIR)
                .default_value(Value::string(super::DEFAULT_CNI_CONF_DIR))
                .description("Where CNI configuration lives."),
        )
        .attribute(
            Attribute::bool(attr::SYSTEMD_CGROUP)
                .default_value(Value::Bool(true))
                .description("Use the systemd cgroup driver, as kubelet does by default since v1.22."),
        );
    let write_file = vec![
        Attribute::string(attr::PATH).required().description("Absolute path on the node."),
        Attribute::string(attr::CONTENT).required().description("File content."),
        Attribute::string(attr::PERMISSIONS).description("Octal mode, e.g. `0644`."),
        Attribute::string(attr::OWNER).description("`user:group`."),
        Attribute::string(attr::ENCODING).description("`b64` or `gz+b64` when `content` is encoded."),
        Attribute::bool(attr::APPEND).description("Append instead of replacing."),
        Attribute::bool(attr::DEFER).description("Write in the final stage, after packages are installed."),
    ];
    let block = Block::new(
        "Renders the cloud-init user-data that prepares a Debian 13 VM as a kubeadm node: node prep (swap off, kernel modules, sysctls), the Kubernetes apt repository with pinned kubelet/kubeadm/kubectl, containerd with systemd cgroups, the login user and `/etc/hosts`. Pure and deterministic: the plan shows the exact document.",
    )
    .attribute(Attribute::string(attr::ID).computed().plan(PlanRule::UseStateForUnknown).description("The `sha256` of `rendered`."))
    .attribute(input(Attribute::string(attr::HOSTNAME).required().description("Host name (RFC 1123 label).")))
    .attribute(input(Attribute::string(attr::FQDN).description("Fully qualified name.")))
    .attribute(input(Attribute::string(attr::TIMEZONE).default_value(Value::string(super::DEFAULT_TIMEZONE)).description("IANA time zone."),
    ))
    .attribute(input(Attribute::string(attr::LOCALE).description("System locale, e.g. `en_US.UTF-8`.")))
    .attribute(input(Attribute::string(attr::KUBERNETES_VERSION).required().description(
            "`1.35` (latest patch of the minor) or `1.35.2` (exact). Selects the pkgs.k8s.io repository of the minor and pins kubelet, kubeadm and kubectl.",
        ),
    ))
    .attribute(input(Attribute::string_list(attr::KERNEL_MODULES).description("Kernel modules to load beyond `overlay` and `br_netfilter`.")))
    .attribute(input(Attribute::string_map(attr::SYSCTLS).description("sysctls beyond IP forwarding and the bridge settings.")))
    .attribute(input(Attribute::of_type(attr::HOSTS, Type::map(Type::list(Type::String)))
            .description("`/etc/hosts` entries: IP address to names. The lab network has no DNS."),
    ))
    .attribute(input(Attribute::string_list(attr::PACKAGES).description("Extra Debian packages.")))
    .attribute(input(Attribute::nested(attr::WRITE_FILES, Nesting::List, write_file).description("Extra files, written after the generated ones.")))
    .attribute(input(Attribute::string_list(attr::RUNCMD).description("Extra commands, run after node preparation.")))
    .attribute(input(Attribute::string(attr::BASE).description(
            "A `#cloud-config` document (e.g. from `templatefile()`) deep-merged with the generated one: maps merge, lists append, your scalars win, except on keys an attribute owns.",
        ),
    ))
    .attribute(input(Attribute::bool(attr::GZIP).default_value(Value::Bool(false)).description("Gzip the output (needs `base64_encode`).")))
    .attribute(input(Attribute::bool(attr::BASE64_ENCODE).default_value(Value::Bool(false)).description("Base64-encode the output."),
    ))
    .attribute(Attribute::string_list(attr::GITHUB_SSH_KEYS).computed().description("Keys fetched from GitHub at creation, pinned."))
    .attribute(Attribute::string(attr::RENDERED).computed().description("The user-data: the document, or its encoding."))
    .attribute(Attribute::string(attr::SHA256).computed().description("Hex SHA-256 of `rendered`."))
    .block(NestedBlock::single(attr::USER, user).plan(PlanRule::RequiresReplace))
    .block(NestedBlock::single(attr::CONTAINER_RUNTIME, runtime).plan(PlanRule::RequiresReplace))
    .block(NestedBlock::single(attr::KUBEADM_CERTIFICATE_RENEWAL, certificate_renewal()).plan(PlanRule::RequiresReplace));
    Schema::new(block)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_string_vec().unwrap_or_default()
}

/// The GitHub user list of a configuration or plan.
fn github_users(value: &Value) -> &Value {
    value.get(attr::USER).get(attr::SSH_KEYS_FROM_GITHUB)
}

fn to_path(field: &Field) -> AttributePath {
    let mut path = AttributePath::root();
    for step in field.attribute_path() {
        path = match step {
            AttributeStep::Attribute(name) => path.with_attr(name),
            AttributeStep::Key(key) => path.with_key(key),
            AttributeStep::Index(index) => path.with_index(index),
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
        diags.attribute_error(to_path(&err.field()), summary(err), format!("{err}."));
    }
    diags
}

/// Values the schema should have refused, on the attributes that hold them.
fn input_diagnostics(errors: &[InputError]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for err in errors {
        diags.attribute_error(
            to_path(err.field()),
            "Invalid value",
            format!("{err}. Check the value's type against the resource's documentation."),
        );
    }
    diags
}

/// Validates the known parts of a configuration (values may be unknown at
/// validate time, e.g. a hostname from another resource).
fn validate_known_inputs(config: &Value) -> Diagnostics {
    let input = match Input::read(config) {
        Ok(input) => input,
        Err(errors) => return input_diagnostics(&errors),
    };
    let errors: Vec<CloudInitError> =
        super::validate_all(&input.spec).into_iter().filter(|err| input.concerns_known(err)).collect();
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
                        AttributePath::attr(attr::USER).with_attr(attr::SSH_KEYS_FROM_GITHUB),
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
        let users_value = github_users(planned).clone();
        if !users_value.is_wholly_known() {
            planned.set(attr::GITHUB_SSH_KEYS, Value::Unknown);
            return Ok(());
        }
        let users = strings(&users_value);
        let prior_users = strings(github_users(prior));
        let prior_keys = prior.get(attr::GITHUB_SSH_KEYS);
        if !prior.is_null() && prior_users == users && !prior_keys.is_unknown() {
            planned.set(attr::GITHUB_SSH_KEYS, prior_keys.clone());
            return Ok(());
        }
        let keys = self.fetch_github_keys(ctx, &users).await?;
        planned.set(attr::GITHUB_SSH_KEYS, Value::string_list(keys));
        Ok(())
    }

    /// Renders a wholly known `input` into `value`'s computed attributes.
    fn render_into(input: &Input, value: &mut Value) -> Result<(), Diagnostics> {
        let rendered = super::render(&input.spec).map_err(|err| error_diagnostics(&[err]))?;
        value.set(attr::RENDERED, Value::string(rendered.content));
        value.set(attr::ID, Value::string(rendered.sha256.clone()));
        value.set(attr::SHA256, Value::string(rendered.sha256));
        Ok(())
    }

    /// Completes a planned value at apply time, when all inputs are known.
    async fn finish(&self, ctx: &CallContext, planned: &Value) -> ApplyOutcome {
        let mut state = planned.clone();
        if state.get(attr::GITHUB_SSH_KEYS).is_unknown() {
            let users = strings(github_users(&state));
            match self.fetch_github_keys(ctx, &users).await {
                Ok(keys) => state.set(attr::GITHUB_SSH_KEYS, Value::string_list(keys)),
                Err(diagnostics) => return ApplyOutcome { diagnostics, ..ApplyOutcome::default() },
            }
        }
        let rendered = match Input::read(&state) {
            Ok(input) if input.is_known() => Self::render_into(&input, &mut state),
            Ok(_) => Err(Diagnostics::from_error(
                "Inputs still unknown at apply",
                "Terraform gave the provider a plan with unknown inputs at apply time; this is a defect in the provider or in Terraform. Run `terraform apply` again, and report it if it persists.",
            )),
            Err(errors) => Err(input_diagnostics(&errors)),
        };
        match rendered {
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
        for (index, user) in github_users(config).as_slice().unwrap_or(&[]).iter().enumerate() {
            if let Some(name) = user.as_str().filter(|name| !is_valid_github_user(name)) {
                diags.attribute_error(
                    AttributePath::attr(attr::USER).with_attr(attr::SSH_KEYS_FROM_GITHUB).with_index(index),
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
        match Input::read(&request.planned) {
            Ok(input) if input.is_known() => {
                if let Err(diags) = Self::render_into(&input, &mut request.planned) {
                    request.diagnostics.extend(diags);
                }
            }
            // Rendered at apply, once the inputs are known.
            Ok(_) => {}
            Err(errors) => request.diagnostics.extend(input_diagnostics(&errors)),
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

//! One thin adapter per RPC of the `tfplugin6.Provider` service.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::convert;
use crate::framework::plan::plan_with_rules;
use crate::framework::{CallContext, Diagnostics, PlanRequest, Provider, Resource, Schema};
use crate::proto::tfplugin6 as pb;
use crate::value::{Type, Value};

type RpcResult<T> = Result<Response<T>, Status>;

pub(super) struct ResourceEntry {
    resource: Arc<dyn Resource>,
    schema: Schema,
    pub(super) value_type: Type,
}

/// The gRPC service Terraform talks to, wrapping one `Provider`.
pub struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    provider_type: Type,
    pub(super) resources: BTreeMap<&'static str, ResourceEntry>,
    cancel: Mutex<CancellationToken>,
}

impl std::fmt::Debug for ProviderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderService")
            .field("provider", &self.provider.type_name())
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn unknown_type(type_name: &str) -> Diagnostics {
    Diagnostics::from_error(
        "Unknown resource type",
        format!(
            "This provider does not serve the resource type {type_name:?}. Check the provider source address in required_providers."
        ),
    )
}

impl ProviderService {
    /// Wraps a provider; schemas are computed once here.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let provider_schema = provider.schema();
        let provider_type = provider_schema.value_type();
        let resources = provider
            .resources()
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                let value_type = schema.value_type();
                (resource.type_name(), ResourceEntry { resource, schema, value_type })
            })
            .collect();
        Self { provider, provider_schema, provider_type, resources, cancel: Mutex::new(CancellationToken::new()) }
    }

    /// Wraps into the tonic service.
    pub fn into_server(self) -> pb::provider_server::ProviderServer<Self> {
        // Rendered documents of many nodes can be large; Terraform itself
        // allows up to 256 MiB messages.
        pb::provider_server::ProviderServer::new(self)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20)
    }

    fn context(&self) -> CallContext {
        let cancel = self.cancel.lock().map(|token| token.clone()).unwrap_or_default();
        CallContext { cancel }
    }

    fn entry(&self, type_name: &str) -> Result<&ResourceEntry, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| unknown_type(type_name))
    }

    fn server_capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities { plan_destroy: false, get_provider_schema_optional: true, move_resource_state: false }
    }

    async fn plan(
        &self,
        req: pb::plan_resource_change::Request,
    ) -> Result<pb::plan_resource_change::Response, Diagnostics> {
        let entry = self.entry(&req.type_name)?;
        let ty = &entry.value_type;
        let prior = convert::decode(req.prior_state.as_ref(), ty, "prior state")?;
        let proposed = convert::decode(req.proposed_new_state.as_ref(), ty, "proposed new state")?;
        let config = convert::decode(req.config.as_ref(), ty, "configuration")?;
        if proposed.is_null() {
            // Destroy: nothing to plan.
            return Ok(pb::plan_resource_change::Response {
                planned_state: Some(convert::encode(&Value::Null, ty, "planned state")?),
                planned_private: req.prior_private,
                ..Default::default()
            });
        }
        let (planned, requires_replace) = plan_with_rules(&entry.schema.block, &prior, &config, &proposed);
        let mut request = PlanRequest {
            prior: &prior,
            config: &config,
            planned,
            requires_replace,
            private: req.prior_private,
            diagnostics: Diagnostics::new(),
        };
        if let Some(modifier) = entry.resource.as_modify_plan() {
            modifier.modify_plan(&self.context(), &mut request).await;
        }
        if request.diagnostics.has_errors() {
            return Err(request.diagnostics);
        }
        Ok(pb::plan_resource_change::Response {
            planned_state: Some(convert::encode(&request.planned, ty, "planned state")?),
            requires_replace: request.requires_replace.iter().map(convert::path).collect(),
            planned_private: request.private,
            diagnostics: convert::diagnostics(&request.diagnostics),
            ..Default::default()
        })
    }

    async fn apply(
        &self,
        req: pb::apply_resource_change::Request,
    ) -> Result<pb::apply_resource_change::Response, Diagnostics> {
        let entry = self.entry(&req.type_name)?;
        let ty = &entry.value_type;
        let prior = convert::decode(req.prior_state.as_ref(), ty, "prior state")?;
        let planned = convert::decode(req.planned_state.as_ref(), ty, "planned state")?;
        let config = convert::decode(req.config.as_ref(), ty, "configuration")?;
        let ctx = self.context();
        let resource = &entry.resource;
        let outcome = if planned.is_null() {
            let diagnostics = resource.delete(&ctx, &prior, &req.planned_private).await;
            // A failed delete keeps the object in state so it is retried.
            let state = if diagnostics.has_errors() { prior } else { Value::Null };
            crate::framework::ApplyOutcome { state, private: req.planned_private, diagnostics }
        } else if prior.is_null() {
            resource.create(&ctx, &planned, &config, &req.planned_private).await
        } else {
            resource.update(&ctx, &prior, &planned, &config, &req.planned_private).await
        };
        Ok(pb::apply_resource_change::Response {
            new_state: Some(convert::encode(&outcome.state, ty, "new state")?),
            private: outcome.private,
            diagnostics: convert::diagnostics(&outcome.diagnostics),
            ..Default::default()
        })
    }
}

/// Runs one RPC body inside its own tracing span and logs the outcome.
async fn traced<T, F>(rpc: &'static str, type_name: &str, body: F) -> T
where
    F: std::future::Future<Output = T>,
{
    let span = tracing::debug_span!("rpc", rpc, tf_resource_type = type_name);
    async move {
        tracing::debug!("rpc started");
        let result = body.await;
        tracing::debug!("rpc finished");
        result
    }
    .instrument(span)
    .await
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(&self, _: Request<pb::get_metadata::Request>) -> RpcResult<pb::get_metadata::Response> {
        traced("GetMetadata", "", async {
            Ok(Response::new(pb::get_metadata::Response {
                server_capabilities: Some(Self::server_capabilities()),
                resources: self
                    .resources
                    .keys()
                    .map(|name| pb::get_metadata::ResourceMetadata { type_name: (*name).to_string() })
                    .collect(),
                ..Default::default()
            }))
        })
        .await
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        traced("GetProviderSchema", "", async {
            Ok(Response::new(pb::get_provider_schema::Response {
                provider: Some(convert::schema(&self.provider_schema)),
                resource_schemas: self
                    .resources
                    .iter()
                    .map(|(name, entry)| ((*name).to_string(), convert::schema(&entry.schema)))
                    .collect(),
                server_capabilities: Some(Self::server_capabilities()),
                ..Default::default()
            }))
        })
        .await
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> RpcResult<pb::get_resource_identity_schemas::Response> {
        // No resource here has an identity schema; an empty map tells
        // Terraform 1.12+ exactly that.
        traced("GetResourceIdentitySchemas", "", async { Ok(Response::new(Default::default())) }).await
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let req = request.into_inner();
        traced("ValidateProviderConfig", "", async {
            let diagnostics = match convert::decode(req.config.as_ref(), &self.provider_type, "provider configuration")
            {
                Ok(config) => self.provider.validate_config(&config).await,
                Err(diags) => diags,
            };
            Ok(Response::new(pb::validate_provider_config::Response {
                diagnostics: convert::diagnostics(&diagnostics),
            }))
        })
        .await
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let req = request.into_inner();
        traced("ValidateResourceConfig", &req.type_name, async {
            let diagnostics = match self.entry(&req.type_name).and_then(|entry| {
                convert::decode(req.config.as_ref(), &entry.value_type, "configuration").map(|c| (entry, c))
            }) {
                Ok((entry, config)) => match entry.resource.as_validate_config() {
                    Some(validator) => validator.validate_config(&config).await,
                    None => Diagnostics::new(),
                },
                Err(diags) => diags,
            };
            Ok(Response::new(pb::validate_resource_config::Response {
                diagnostics: convert::diagnostics(&diagnostics),
            }))
        })
        .await
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let req = request.into_inner();
        traced("ValidateDataResourceConfig", &req.type_name, async {
            let diags = Diagnostics::from_error(
                "Unknown data source",
                format!("This provider has no data sources; {:?} is not one.", req.type_name),
            );
            Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: convert::diagnostics(&diags) }))
        })
        .await
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let req = request.into_inner();
        traced("UpgradeResourceState", &req.type_name, async {
            let result = (|| {
                let entry = self.entry(&req.type_name)?;
                let raw = req.raw_state.unwrap_or_default();
                if raw.json.is_empty() {
                    return Err(Diagnostics::from_error(
                        "Unsupported state format",
                        "The stored state is in the legacy flatmap format, which this provider never wrote. Remove the resource from state and import or re-create it.",
                    ));
                }
                let value = if req.version == entry.schema.version {
                    convert::decode(
                        Some(&pb::DynamicValue { msgpack: Vec::new(), json: raw.json }),
                        &entry.value_type,
                        "stored state",
                    )?
                } else if req.version > entry.schema.version {
                    return Err(Diagnostics::from_error(
                        "State written by a newer provider",
                        format!(
                            "This {} was stored with schema version {} but this provider only knows up to {}. Use the provider version that wrote it, or a newer one.",
                            req.type_name, req.version, entry.schema.version
                        ),
                    ));
                } else {
                    match entry.resource.as_upgrade_state() {
                        Some(upgrader) => upgrader.upgrade_state(req.version, &raw.json)?,
                        None => {
                            return Err(Diagnostics::from_error(
                                "No state upgrade available",
                                format!("No upgrade from schema version {} is known for {}.", req.version, req.type_name),
                            ));
                        }
                    }
                };
                convert::encode(&value, &entry.value_type, "upgraded state")
            })();
            Ok(Response::new(match result {
                Ok(state) => pb::upgrade_resource_state::Response { upgraded_state: Some(state), diagnostics: Vec::new() },
                Err(diags) => pb::upgrade_resource_state::Response {
                    upgraded_state: None,
                    diagnostics: convert::diagnostics(&diags),
                },
            }))
        })
        .await
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> RpcResult<pb::upgrade_resource_identity::Response> {
        let req = request.into_inner();
        traced("UpgradeResourceIdentity", &req.type_name, async {
            let diags = Diagnostics::from_error(
                "Resource identity not supported",
                format!("{} has no resource identity; Terraform should not have sent one.", req.type_name),
            );
            Ok(Response::new(pb::upgrade_resource_identity::Response {
                upgraded_identity: None,
                diagnostics: convert::diagnostics(&diags),
            }))
        })
        .await
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let req = request.into_inner();
        traced("ConfigureProvider", "", async {
            tracing::info!(terraform_version = %req.terraform_version, "configuring provider");
            let diagnostics = match convert::decode(req.config.as_ref(), &self.provider_type, "provider configuration")
            {
                Ok(config) => self.provider.configure(&config, &req.terraform_version).await,
                Err(diags) => diags,
            };
            Ok(Response::new(pb::configure_provider::Response { diagnostics: convert::diagnostics(&diagnostics) }))
        })
        .await
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let req = request.into_inner();
        traced("ReadResource", &req.type_name.clone(), async {
            let result = async {
                let entry = self.entry(&req.type_name)?;
                let state = convert::decode(req.current_state.as_ref(), &entry.value_type, "current state")?;
                let outcome = entry.resource.read(&self.context(), &state, &req.private).await;
                let new_state = convert::encode(&outcome.state, &entry.value_type, "refreshed state")?;
                Ok::<_, Diagnostics>(pb::read_resource::Response {
                    new_state: Some(new_state),
                    diagnostics: convert::diagnostics(&outcome.diagnostics),
                    private: outcome.private,
                    ..Default::default()
                })
            }
            .await;
            Ok(Response::new(result.unwrap_or_else(|diags| {
                // On a decoding failure, hand the state back unchanged so
                // nothing is lost.
                pb::read_resource::Response {
                    new_state: req.current_state.clone(),
                    diagnostics: convert::diagnostics(&diags),
                    private: req.private.clone(),
                    ..Default::default()
                }
            })))
        })
        .await
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let req = request.into_inner();
        let type_name = req.type_name.clone();
        traced("PlanResourceChange", &type_name, async {
            Ok(Response::new(self.plan(req).await.unwrap_or_else(|diags| pb::plan_resource_change::Response {
                diagnostics: convert::diagnostics(&diags),
                ..Default::default()
            })))
        })
        .await
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let req = request.into_inner();
        let type_name = req.type_name.clone();
        let prior = req.prior_state.clone();
        traced("ApplyResourceChange", &type_name, async {
            Ok(Response::new(self.apply(req).await.unwrap_or_else(|diags| {
                // Nothing was done: keep the prior state.
                pb::apply_resource_change::Response {
                    new_state: prior,
                    diagnostics: convert::diagnostics(&diags),
                    ..Default::default()
                }
            })))
        })
        .await
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let req = request.into_inner();
        traced("ImportResourceState", &req.type_name.clone(), async {
            let result = async {
                let entry = self.entry(&req.type_name)?;
                let Some(importer) = entry.resource.as_import_state() else {
                    return Err(Diagnostics::from_error(
                        "Resource cannot be imported",
                        format!("{} does not support import.", req.type_name),
                    ));
                };
                let outcome = importer.import_state(&self.context(), &req.id).await;
                if outcome.diagnostics.has_errors() {
                    return Err(outcome.diagnostics);
                }
                Ok(pb::import_resource_state::Response {
                    imported_resources: vec![pb::import_resource_state::ImportedResource {
                        type_name: req.type_name.clone(),
                        state: Some(convert::encode(&outcome.state, &entry.value_type, "imported state")?),
                        private: outcome.private,
                        identity: None,
                    }],
                    diagnostics: convert::diagnostics(&outcome.diagnostics),
                    deferred: None,
                })
            }
            .await;
            Ok(Response::new(result.unwrap_or_else(|diags| pb::import_resource_state::Response {
                diagnostics: convert::diagnostics(&diags),
                ..Default::default()
            })))
        })
        .await
    }

    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        let req = request.into_inner();
        traced("MoveResourceState", &req.target_type_name.clone(), async {
            let diags = Diagnostics::from_error(
                "Moving state into this resource type is not supported",
                format!(
                    "Cannot move {} from {} into {}. Remove the `moved` block and import or re-create the resource instead.",
                    req.source_type_name, req.source_provider_address, req.target_type_name
                ),
            );
            Ok(Response::new(pb::move_resource_state::Response {
                diagnostics: convert::diagnostics(&diags),
                ..Default::default()
            }))
        })
        .await
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let req = request.into_inner();
        traced("ReadDataSource", &req.type_name.clone(), async {
            let diags = Diagnostics::from_error(
                "Unknown data source",
                format!("This provider has no data source {:?}.", req.type_name),
            );
            Ok(Response::new(pb::read_data_source::Response {
                diagnostics: convert::diagnostics(&diags),
                ..Default::default()
            }))
        })
        .await
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<pb::validate_ephemeral_resource_config::Response> {
        let req = request.into_inner();
        let diags = no_ephemeral(&req.type_name);
        Ok(Response::new(pb::validate_ephemeral_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> RpcResult<pb::open_ephemeral_resource::Response> {
        let req = request.into_inner();
        let diags = no_ephemeral(&req.type_name);
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&diags),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> RpcResult<pb::renew_ephemeral_resource::Response> {
        let req = request.into_inner();
        let diags = no_ephemeral(&req.type_name);
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&diags),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> RpcResult<pb::close_ephemeral_resource::Response> {
        let req = request.into_inner();
        let diags = no_ephemeral(&req.type_name);
        Ok(Response::new(pb::close_ephemeral_resource::Response { diagnostics: convert::diagnostics(&diags) }))
    }

    async fn get_functions(&self, _: Request<pb::get_functions::Request>) -> RpcResult<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        let req = request.into_inner();
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("This provider defines no functions; {:?} is not one.", req.name),
                function_argument: None,
            }),
        }))
    }

    async fn stop_provider(&self, _: Request<pb::stop_provider::Request>) -> RpcResult<pb::stop_provider::Response> {
        traced("StopProvider", "", async {
            tracing::info!("stop requested: cancelling operations in flight");
            if let Ok(mut token) = self.cancel.lock() {
                token.cancel();
                // Later calls (e.g. the state save after an interrupted
                // apply) get a fresh token.
                *token = CancellationToken::new();
            }
            Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
        })
        .await
    }
}

fn no_ephemeral(type_name: &str) -> Diagnostics {
    Diagnostics::from_error(
        "Unknown ephemeral resource",
        format!("This provider has no ephemeral resources; {type_name:?} is not one."),
    )
}

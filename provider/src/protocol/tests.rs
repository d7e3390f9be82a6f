//! In-process tests of the RPC adapters, calling the tonic service trait
//! directly (the gRPC transport is covered by `plugin` and the acceptance
//! tests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tonic::Request;

use super::ProviderService;
use crate::framework::{
    ApplyOutcome, Attribute, Block, CallContext, Diagnostics, Provider, ReadOutcome, Resource, Schema,
};
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::providers::cloudinit::CloudInitProvider;
use crate::value::{Type, Value, decode_msgpack, encode_msgpack};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPRorcDhkzdXt4p6daKcX0R5awYGoVdOJNEO/RX5ANqY a@b";

fn cloudinit_service() -> ProviderService {
    ProviderService::new(Arc::new(CloudInitProvider::default()))
}

fn resource_type(service: &ProviderService, name: &str) -> Type {
    service.resources.get(name).map(|entry| entry.value_type.clone()).expect("resource type")
}

fn dynamic(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: encode_msgpack(value, ty).expect("encode"), json: Vec::new() })
}

/// A full cloudinit_config configuration value with every attribute null
/// except the given ones.
fn config(ty: &Type, set: &[(&str, Value)]) -> Value {
    let Type::Object(attributes) = ty else { panic!("object type") };
    let mut object: BTreeMap<String, Value> = attributes.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (name, value) in set {
        object.insert((*name).to_string(), value.clone());
    }
    Value::Object(object)
}

fn user_block(ty: &Type) -> Value {
    let Type::Object(attributes) = ty else { panic!("object type") };
    let Some(Type::Object(user)) = attributes.get("user") else { panic!("user block") };
    let mut object: BTreeMap<String, Value> = user.keys().map(|k| (k.clone(), Value::Null)).collect();
    object.insert("ssh_authorized_keys".into(), Value::string_list([KEY]));
    Value::Object(object)
}

#[tokio::test]
async fn schema_lists_the_resource_with_blocks_and_capabilities() {
    let service = cloudinit_service();
    let response = service.get_provider_schema(Request::new(pb::get_provider_schema::Request {})).await.unwrap();
    let response = response.into_inner();
    let schema = response.resource_schemas.get("cloudinit_config").expect("cloudinit_config schema");
    let block = schema.block.as_ref().unwrap();
    assert!(block.block_types.iter().any(|b| b.type_name == "user"));
    let rendered = block.attributes.iter().find(|a| a.name == "rendered").unwrap();
    assert!(rendered.computed && !rendered.optional);
    let write_files = block.attributes.iter().find(|a| a.name == "write_files").unwrap();
    assert!(write_files.nested_type.is_some(), "write_files uses protocol 6 nested attributes");
    assert!(response.server_capabilities.unwrap().get_provider_schema_optional);
    let metadata = service.get_metadata(Request::new(pb::get_metadata::Request {})).await.unwrap().into_inner();
    assert_eq!(metadata.resources[0].type_name, "cloudinit_config");
}

#[tokio::test]
async fn plan_with_unknown_input_leaves_rendered_unknown_and_known_input_renders() {
    let service = cloudinit_service();
    let ty = resource_type(&service, "cloudinit_config");
    for (hostname, expect_known) in [(Value::Unknown, false), (Value::string("node-1"), true)] {
        let value = config(
            &ty,
            &[("hostname", hostname), ("kubernetes_version", Value::string("1.35")), ("user", user_block(&ty))],
        );
        let response = service
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: "cloudinit_config".into(),
                prior_state: dynamic(&Value::Null, &ty),
                proposed_new_state: dynamic(&value, &ty),
                config: dynamic(&value, &ty),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
        let planned = decode_msgpack(&response.planned_state.unwrap().msgpack, &ty).unwrap();
        assert_eq!(planned.get("rendered").is_unknown(), !expect_known);
        assert_eq!(planned.get("timezone"), &Value::string("Etc/UTC"), "default planned");
        if expect_known {
            assert!(planned.get("rendered").as_str().unwrap().starts_with("#cloud-config\n"));
            assert_eq!(planned.get("id"), planned.get("sha256"));
        }
    }
}

#[tokio::test]
async fn errors_are_diagnostics_not_grpc_errors() {
    let service = cloudinit_service();
    let response = service
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "cloudinit_config".into(),
            proposed_new_state: Some(pb::DynamicValue { msgpack: vec![0xc1, 0xff], json: Vec::new() }),
            ..Default::default()
        }))
        .await
        .expect("an Ok response");
    let diagnostics = response.into_inner().diagnostics;
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics[0].summary.contains("Invalid"), "{:?}", diagnostics[0]);
    let unknown = service
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "nope_thing".into(),
            ..Default::default()
        }))
        .await
        .expect("an Ok response")
        .into_inner();
    assert!(unknown.diagnostics[0].detail.contains("nope_thing"));
}

#[tokio::test]
async fn upgrade_state_reads_current_json_and_refuses_newer_versions() {
    let service = cloudinit_service();
    let ty = resource_type(&service, "cloudinit_config");
    let state = config(&ty, &[("hostname", Value::string("n")), ("kubernetes_version", Value::string("1.35"))]);
    let json = crate::value::encode_json(&state, &ty).unwrap().to_string();
    let upgrade = |version| pb::upgrade_resource_state::Request {
        type_name: "cloudinit_config".into(),
        version,
        raw_state: Some(pb::RawState { json: json.clone().into_bytes(), flatmap: Default::default() }),
    };
    let ok = service.upgrade_resource_state(Request::new(upgrade(0))).await.unwrap().into_inner();
    assert!(ok.diagnostics.is_empty(), "{:?}", ok.diagnostics);
    assert_eq!(decode_msgpack(&ok.upgraded_state.unwrap().msgpack, &ty).unwrap(), state);
    let newer = service.upgrade_resource_state(Request::new(upgrade(7))).await.unwrap().into_inner();
    assert!(newer.diagnostics[0].summary.contains("newer provider"));
}

/// A resource whose create waits until cancelled, to prove StopProvider
/// reaches work in flight.
struct Waiting;

#[async_trait]
impl Resource for Waiting {
    fn type_name(&self) -> &'static str {
        "test_wait"
    }
    fn schema(&self) -> Schema {
        Schema::new(Block::new("t").attribute(Attribute::string("id").computed()))
    }
    async fn create(&self, ctx: &CallContext, planned: &Value, _: &Value, _: &[u8]) -> ApplyOutcome {
        tokio::select! {
            () = ctx.cancel.cancelled() => ApplyOutcome {
                state: planned.clone(),
                diagnostics: Diagnostics::from_error("Cancelled", "stop requested"),
                ..ApplyOutcome::default()
            },
            () = tokio::time::sleep(Duration::from_secs(30)) => ApplyOutcome::ok(planned.clone()),
        }
    }
    async fn read(&self, _: &CallContext, state: &Value, _: &[u8]) -> ReadOutcome {
        ReadOutcome { state: state.clone(), ..ReadOutcome::default() }
    }
    async fn update(&self, _: &CallContext, _: &Value, planned: &Value, _: &Value, _: &[u8]) -> ApplyOutcome {
        ApplyOutcome::ok(planned.clone())
    }
    async fn delete(&self, _: &CallContext, _: &Value, _: &[u8]) -> Diagnostics {
        Diagnostics::new()
    }
}

struct WaitingProvider;

#[async_trait]
impl Provider for WaitingProvider {
    fn type_name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new(Block::new("p"))
    }
    async fn configure(&self, _: &Value, _: &str) -> Diagnostics {
        Diagnostics::new()
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Waiting)]
    }
}

#[tokio::test]
async fn stop_provider_cancels_work_in_flight_and_keeps_partial_state() {
    let service = Arc::new(ProviderService::new(Arc::new(WaitingProvider)));
    let ty = resource_type(&service, "test_wait");
    let planned = Value::Object(BTreeMap::from([("id".to_string(), Value::string("partial"))]));
    let applying = {
        let service = service.clone();
        let planned = dynamic(&planned, &ty);
        tokio::spawn(async move {
            service
                .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                    type_name: "test_wait".into(),
                    planned_state: planned,
                    ..Default::default()
                }))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    service.stop_provider(Request::new(pb::stop_provider::Request {})).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), applying).await.expect("apply stopped").unwrap();
    let response = response.unwrap().into_inner();
    assert_eq!(response.diagnostics[0].summary, "Cancelled");
    let state = decode_msgpack(&response.new_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(state.get("id"), &Value::string("partial"), "partial state is returned with the error");
}

//! State upgrades of `kubeadm_cluster`.
//!
//! Version 0 stored `nodes` as a dynamic value (Terraform 1.0 crashed on a
//! map of nested attributes), so its type travelled with it: an HCL object
//! or a `map(...)`, numbers where the user wrote numbers, and only the keys
//! the user wrote. Version 1 types it: every entry has all five keys, null
//! where left out. The upgrade rewrites only that attribute and keeps what
//! each entry meant, so the first plan after it is empty.

use std::collections::BTreeMap;

use super::attributes as attr;
use super::schema::schema;
use crate::framework::{Diagnostics, UpgradeState};
use crate::value::{Type, Value, decode_json};

use super::KubeadmCluster;

impl UpgradeState for KubeadmCluster {
    fn upgrade_state(&self, version: i64, raw_json: &[u8]) -> Result<Value, Diagnostics> {
        match version {
            0 => upgrade_v0(raw_json),
            _ => Err(Diagnostics::from_error(
                "No state upgrade available",
                format!("kubeadm_cluster has no upgrade from schema version {version}."),
            )),
        }
    }
}

/// The value type of version 0: today's, with `nodes` dynamic.
fn v0_type() -> Type {
    let mut ty = schema().value_type();
    if let Type::Object(attributes) = &mut ty {
        attributes.insert("nodes".into(), Type::Dynamic);
    }
    ty
}

fn upgrade_v0(raw_json: &[u8]) -> Result<Value, Diagnostics> {
    let mut state = decode_json(raw_json, &v0_type()).map_err(|e| {
        Diagnostics::from_error(
            "Stored kubeadm_cluster state is unreadable",
            format!("The state (schema version 0) does not decode: {e}. Restore the state file from a backup, or remove the resource from state and import the cluster again."),
        )
    })?;
    let nodes = nodes_v1(state.get(attr::NODES).untyped());
    state.set(attr::NODES, nodes);
    Ok(state)
}

/// The version 1 value of a version 0 `nodes` (null stays null).
fn nodes_v1(nodes: &Value) -> Value {
    match nodes.as_map() {
        Some(entries) => {
            Value::Map(entries.iter().map(|(name, node)| (name.clone(), node_v1(node.untyped()))).collect())
        }
        None => Value::Null,
    }
}

fn node_v1(node: &Value) -> Value {
    let get = |name: &str| node.as_map().and_then(|m| m.get(name)).map_or(&Value::Null, Value::untyped);
    let object = BTreeMap::from([
        ("role".to_string(), text(get("role"))),
        ("address".to_string(), text(get("address"))),
        ("labels".to_string(), labels_v1(get("labels"))),
        ("taints".to_string(), taints_v1(get("taints"))),
        ("instance_id".to_string(), text(get("instance_id"))),
    ]);
    Value::Object(object)
}

/// A string, a number or bool as the string Terraform would convert it to,
/// null otherwise.
fn text(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        Value::Number(n) => Value::string(n.to_text()),
        Value::Bool(b) => Value::string(b.to_string()),
        _ => Value::Null,
    }
}

fn labels_v1(labels: &Value) -> Value {
    match labels.as_map() {
        Some(entries) => Value::Map(entries.iter().map(|(k, v)| (k.clone(), text(v.untyped()))).collect()),
        None => Value::Null,
    }
}

fn taints_v1(taints: &Value) -> Value {
    let Some(items) = taints.as_slice() else { return Value::Null };
    let taint = |t: &Value| {
        let get = |name: &str| t.as_map().and_then(|m| m.get(name)).map_or(Value::Null, |v| text(v.untyped()));
        Value::Object(BTreeMap::from([
            ("key".to_string(), get("key")),
            ("value".to_string(), get("value")),
            ("effect".to_string(), get("effect")),
        ]))
    };
    Value::List(items.iter().map(|t| taint(t.untyped())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeadm::schema::nodes_attribute;
    use crate::value::encode_json;

    fn nodes_type() -> Type {
        nodes_attribute().value_type()
    }

    /// A version 0 state as today's provider wrote it: `nodes` a dynamic
    /// object of objects, with numbers and left-out keys.
    const V0: &str = r#"{
      "id": "10.0.0.100:6443", "cluster_name": "lab", "kubernetes_version": "1.35.0",
      "control_plane_endpoint": "10.0.0.100:6443",
      "nodes": {
        "type": ["object", {
          "cp-1": ["object", {"role": "string", "address": "string", "instance_id": "number"}],
          "wk-1": ["object", {"role": "string", "address": "string",
                              "labels": ["object", {"tier": "string"}],
                              "taints": ["tuple", [["object", {"key": "string", "effect": "string"}]]]}]
        }],
        "value": {
          "cp-1": {"role": "control-plane", "address": "10.0.0.11", "instance_id": 104},
          "wk-1": {"role": "worker", "address": "10.0.0.21", "labels": {"tier": "edge"},
                   "taints": [{"key": "dedicated", "effect": "NoExecute"}]}
        }
      }
    }"#;

    #[test]
    fn version_0_nodes_become_the_typed_map_with_the_same_meaning() {
        let state = KubeadmCluster.upgrade_state(0, V0.as_bytes()).expect("upgrade");
        let nodes = encode_json(state.get(attr::NODES), &nodes_type()).expect("nodes conform to the v1 type");
        assert_eq!(
            nodes,
            serde_json::json!({
                "cp-1": {"role": "control-plane", "address": "10.0.0.11", "labels": null, "taints": null, "instance_id": "104"},
                "wk-1": {"role": "worker", "address": "10.0.0.21", "labels": {"tier": "edge"},
                         "taints": [{"key": "dedicated", "value": null, "effect": "NoExecute"}], "instance_id": null}
            })
        );
        assert_eq!(state.get(attr::CLUSTER_NAME).as_str(), Some("lab"));
        let ty = schema().value_type();
        encode_json(&state, &ty).expect("the whole state conforms to the v1 type");
    }

    #[test]
    fn unreadable_version_0_state_is_an_error_that_says_what_to_do() {
        let diags = KubeadmCluster.upgrade_state(0, b"{\"nodes\": 3").expect_err("refused");
        let text = format!("{diags:?}");
        assert!(text.contains("does not decode") && text.contains("import"), "{text}");
    }

    #[test]
    fn unknown_versions_are_refused() {
        let diags = KubeadmCluster.upgrade_state(5, b"{}").expect_err("refused");
        assert!(format!("{diags:?}").contains("schema version 5"));
    }
}

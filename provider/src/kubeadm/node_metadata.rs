//! The labels and taints the provider owns on each Node, and the patch that
//! makes a Node carry them. The provider owns what the configuration last
//! set (state holds it): a label or taint removed from the configuration
//! is removed from the Node, and every other one (set by an operator, a
//! controller, `kubectl cordon`) stays exactly as it is.

use serde_json::{Map, Value as Json, json};

use super::config::{NodeSpec, Role, Taint};

/// The taint kubeadm gives a control plane when `taints` is not set.
const CONTROL_PLANE_TAINT: (&str, &str) = ("node-role.kubernetes.io/control-plane", "NoSchedule");

/// A taint's identity: the API server keeps one taint per key and effect.
pub type TaintKey = (String, String);

/// What comes off a Node because the configuration no longer has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    pub labels: Vec<String>,
    pub taints: Vec<TaintKey>,
}

impl Dropped {
    /// Labels and taints owned under `before` and no longer under `now`.
    pub fn between(before: &NodeSpec, now: &NodeSpec) -> Self {
        let labels = before.labels.keys().filter(|k| !now.labels.contains_key(*k)).cloned().collect();
        let kept = owned_taints(now);
        let taints = owned_taints(before).into_iter().filter(|t| !kept.contains(t)).collect();
        Dropped { labels, taints }
    }
}

/// The taints the provider answers for on a node: the configured ones, or
/// kubeadm's default when none are configured (the provider ran kubeadm
/// with that default, so `taints = []` later takes it off).
fn owned_taints(spec: &NodeSpec) -> Vec<TaintKey> {
    match (&spec.taints, spec.role) {
        (Some(taints), _) => taints.iter().map(|t| (t.key.clone(), t.effect.clone())).collect(),
        (None, Role::ControlPlane) => vec![(CONTROL_PLANE_TAINT.0.to_owned(), CONTROL_PLANE_TAINT.1.to_owned())],
        (None, Role::Worker) => Vec::new(),
    }
}

fn taint_json(t: &Taint) -> Json {
    match &t.value {
        Some(v) => json!({"key": t.key, "value": v, "effect": t.effect}),
        None => json!({"key": t.key, "effect": t.effect}),
    }
}

fn key_of(taint: &Json) -> TaintKey {
    let text = |k: &str| taint[k].as_str().unwrap_or_default().to_owned();
    (text("key"), text("effect"))
}

/// The merge patch that gives `node` (the API object) `spec`'s labels and
/// taints with `dropped` taken off, leaving every other label and taint;
/// `None` when the Node has them already. Taints are one list in the API,
/// so the patch carries the Node's resourceVersion: a concurrent change
/// makes it fail with 409 instead of being overwritten.
pub fn patch(node: &Json, spec: &NodeSpec, dropped: &Dropped) -> Option<Json> {
    let mut metadata = Map::new();
    let current_labels = node.pointer("/metadata/labels").unwrap_or(&Json::Null);
    let mut labels = Map::new();
    for key in dropped.labels.iter().filter(|k| current_labels.get(k.as_str()).is_some()) {
        labels.insert(key.clone(), Json::Null);
    }
    for (key, value) in spec.labels.iter().filter(|(k, v)| current_labels[k.as_str()].as_str() != Some(v.as_str())) {
        labels.insert(key.clone(), json!(value));
    }
    if !labels.is_empty() {
        metadata.insert("labels".into(), Json::Object(labels));
    }
    let current: Vec<Json> = node.pointer("/spec/taints").and_then(Json::as_array).cloned().unwrap_or_default();
    let wanted: Vec<Json> = spec.taints.iter().flatten().map(taint_json).collect();
    let replaced: Vec<TaintKey> = wanted.iter().map(key_of).collect();
    let mut taints: Vec<Json> = current
        .iter()
        .filter(|t| !dropped.taints.contains(&key_of(t)) && !replaced.contains(&key_of(t)))
        .cloned()
        .collect();
    taints.extend(wanted);
    let same_taints = taints.len() == current.len() && taints.iter().all(|t| current.contains(t));
    if metadata.is_empty() && same_taints {
        return None;
    }
    let version = node.pointer("/metadata/resourceVersion").cloned().unwrap_or(Json::Null);
    metadata.insert("resourceVersion".into(), version);
    if same_taints {
        Some(json!({"metadata": metadata}))
    } else {
        Some(json!({"metadata": metadata, "spec": {"taints": taints}}))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn spec(role: Role, labels: &[(&str, &str)], taints: Option<Vec<Taint>>) -> NodeSpec {
        let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>();
        NodeSpec { name: "wk-1".into(), role, address: "10.0.0.1".into(), labels, taints }
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), value: None, effect: effect.into() }
    }

    fn node(labels: Json, taints: Json) -> Json {
        json!({"metadata": {"name": "wk-1", "resourceVersion": "42", "labels": labels}, "spec": {"taints": taints}})
    }

    #[test]
    fn a_label_and_a_taint_removed_from_the_config_leave_the_node_and_nobody_elses_do() {
        let before =
            spec(Role::Worker, &[("tier", "web"), ("zone", "a")], Some(vec![taint("dedicated", "NoSchedule")]));
        let now = spec(Role::Worker, &[("zone", "a")], None);
        let dropped = Dropped::between(&before, &now);
        assert_eq!(dropped.labels, ["tier"]);
        assert_eq!(dropped.taints, [("dedicated".to_owned(), "NoSchedule".to_owned())]);
        let on_node = node(
            json!({"tier": "web", "zone": "a", "team": "ops"}),
            json!([
                {"key": "dedicated", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                {"key": "ops/maintenance", "value": "yes", "effect": "PreferNoSchedule"},
            ]),
        );
        let patch = patch(&on_node, &now, &dropped).expect("a change");
        assert_eq!(
            patch,
            json!({
                "metadata": {"labels": {"tier": null}, "resourceVersion": "42"},
                "spec": {"taints": [
                    {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                    {"key": "ops/maintenance", "value": "yes", "effect": "PreferNoSchedule"},
                ]},
            })
        );
    }

    #[test]
    fn an_empty_taint_list_takes_off_kubeadms_control_plane_taint_only() {
        let before = spec(Role::ControlPlane, &[], None);
        let now = spec(Role::ControlPlane, &[], Some(vec![]));
        let dropped = Dropped::between(&before, &now);
        let on_node = node(
            json!({}),
            json!([{"key": CONTROL_PLANE_TAINT.0, "effect": "NoSchedule"}, {"key": "other", "effect": "NoExecute"}]),
        );
        let patch = patch(&on_node, &now, &dropped).expect("a change");
        assert_eq!(patch["spec"]["taints"], json!([{"key": "other", "effect": "NoExecute"}]));
        assert!(patch["metadata"].get("labels").is_none(), "no label change: {patch}");
    }

    #[test]
    fn a_changed_taint_value_replaces_it_and_a_node_already_right_is_not_patched() {
        let mut wanted = taint("dedicated", "NoSchedule");
        wanted.value = Some("db".into());
        let now = spec(Role::Worker, &[("zone", "a")], Some(vec![wanted]));
        let stale = node(json!({"zone": "a"}), json!([{"key": "dedicated", "value": "web", "effect": "NoSchedule"}]));
        let patch = patch(&stale, &now, &Dropped::default()).expect("a change");
        assert_eq!(patch["spec"]["taints"], json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]));
        let right = node(json!({"zone": "a"}), json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]));
        assert_eq!(super::patch(&right, &now, &Dropped::default()), None);
    }
}

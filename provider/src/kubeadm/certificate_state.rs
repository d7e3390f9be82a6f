//! `certificates_expire` in state and plan: what refresh observed, which
//! control planes a plan renews, and what an apply records.
//!
//! The plan decides: a control plane whose entry the plan leaves unknown is
//! renewed by the apply (unless it joins, which issues new certificates
//! anyway), so the apply of a saved plan does what the reviewed plan said.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::certificates::{format_expiry, parse_expiry, renewal_due};
use super::config::Role;
use super::model::{self, Cluster};
use crate::framework::Diagnostics;
use crate::value::Value;

/// The attribute.
pub const ATTRIBUTE: &str = "certificates_expire";

/// (name, address) of each control plane in a `nodes` value.
///
/// # Errors
/// A node that breaks its rules (a damaged state).
pub fn control_planes(nodes: &Value) -> Result<Vec<(String, String)>, Diagnostics> {
    Ok(model::parse_nodes(nodes)?
        .into_values()
        .filter(|n| n.spec.role == Role::ControlPlane)
        .map(|n| (n.spec.name, n.spec.address))
        .collect())
}

/// The expiries state records, by control plane.
pub fn recorded(state: &Value) -> BTreeMap<String, OffsetDateTime> {
    model::string_map(state.get(ATTRIBUTE))
        .into_iter()
        .filter_map(|(name, text)| parse_expiry(&text).map(|at| (name, at)))
        .collect()
}

/// The entries for `names`: `fresh` where it has one, else the entry of
/// `prior` (a control plane that did not answer keeps what state knew).
pub fn merged(prior: &Value, names: &[String], fresh: &BTreeMap<String, OffsetDateTime>) -> Value {
    let before = model::string_map(prior);
    let entry = |name: &String| match fresh.get(name) {
        Some(at) => Some(Value::string(format_expiry(*at))),
        None => before.get(name).map(Value::string),
    };
    Value::Map(names.iter().filter_map(|name| entry(name).map(|v| (name.clone(), v))).collect())
}

/// The control planes of `cluster` that stay (not in `join`) and whose
/// recorded expiry is due at `now`, in name order.
pub fn due(prior: &Value, cluster: &Cluster, join: &BTreeSet<String>, now: OffsetDateTime) -> Vec<String> {
    let recorded = recorded(prior);
    cluster
        .control_planes()
        .map(|cp| &cp.spec.name)
        .filter(|name| !join.contains(*name))
        .filter(|name| recorded.get(*name).is_some_and(|at| renewal_due(*at, now, cluster.renew_certificates_before)))
        .cloned()
        .collect()
}

/// Control planes whose certificates expired already (for a warning).
pub fn expired(prior: &Value, names: &[String], now: OffsetDateTime) -> Vec<(String, String)> {
    let recorded = recorded(prior);
    names
        .iter()
        .filter_map(|name| recorded.get(name).filter(|at| **at <= now).map(|at| (name.clone(), format_expiry(*at))))
        .collect()
}

/// The planned attribute: prior entries, unknown for the control planes
/// renewed. A joining control plane makes the whole map unknown: a known
/// key with an unknown value promises an entry, and a new node's API
/// server may not be reachable from Terraform's machine right after its
/// join (a renewed one's always is: its health gate read it).
pub fn planned(prior: &Value, cluster: &Cluster, join: &BTreeSet<String>, renew: &[String]) -> Value {
    if cluster.control_planes().any(|cp| join.contains(&cp.spec.name)) {
        return Value::Unknown;
    }
    let before = prior.get(ATTRIBUTE).as_map();
    let entry = |name: &String| {
        if renew.contains(name) { Some(Value::Unknown) } else { before.and_then(|m| m.get(name)).cloned() }
    };
    let names = cluster.control_planes().map(|cp| &cp.spec.name);
    Value::Map(names.filter_map(|name| entry(name).map(|v| (name.clone(), v))).collect())
}

/// What the apply renews: the entries the plan left unknown, except
/// joining nodes. A plan made before `nodes` was known left the whole map
/// unknown: then the due ones, decided now.
pub fn renewals(planned: &Value, prior: &Value, cluster: &Cluster, join: &BTreeSet<String>) -> Vec<String> {
    match planned.get(ATTRIBUTE) {
        Value::Unknown => due(prior, cluster, join, OffsetDateTime::now_utc()),
        value => value
            .as_map()
            .into_iter()
            .flatten()
            .filter(|(name, v)| v.is_unknown() && !join.contains(*name) && cluster.nodes.contains_key(*name))
            .map(|(name, _)| name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(renew_before: &str, expiries: &[(&str, &str)]) -> (Cluster, Value) {
        let node = |role: &str, address: &str| serde_json::json!({ "role": role, "address": address, "labels": null, "taints": null, "instance_id": null });
        let config = serde_json::json!({
            "kubernetes_version": "1.35.0",
            "control_plane_endpoint": "10.0.0.100:6443",
            "renew_certificates_before": renew_before,
            "nodes": { "cp-1": node("control-plane", "10.0.0.11"), "cp-2": node("control-plane", "10.0.0.12"), "wk-1": node("worker", "10.0.0.21") },
        });
        let value = crate::value::untyped_from_json(config);
        let mut prior = value.clone();
        let entries = expiries.iter().map(|(n, at)| ((*n).to_owned(), Value::string(*at))).collect();
        prior.set(ATTRIBUTE, Value::Map(entries));
        (model::parse(&value).expect("the configuration reads"), prior)
    }

    fn at(text: &str) -> OffsetDateTime {
        parse_expiry(text).expect("RFC 3339")
    }

    #[test]
    fn due_are_the_staying_control_planes_inside_the_window() {
        let (cluster, prior) = cluster("720h", &[("cp-1", "2027-01-10T00:00:00Z"), ("cp-2", "2027-03-01T00:00:00Z")]);
        let now = at("2026-12-20T00:00:00Z");
        assert_eq!(due(&prior, &cluster, &BTreeSet::new(), now), ["cp-1"]);
        assert_eq!(due(&prior, &cluster, &BTreeSet::from(["cp-1".to_owned()]), now), Vec::<String>::new());
        let (off, prior) = cluster_off();
        assert_eq!(due(&prior, &off, &BTreeSet::new(), now), Vec::<String>::new(), "0s turns renewal off");
    }

    fn cluster_off() -> (Cluster, Value) {
        cluster("0s", &[("cp-1", "2026-12-21T00:00:00Z")])
    }

    #[test]
    fn the_plan_leaves_renewed_and_joining_control_planes_unknown_and_the_apply_follows_it() {
        let (cluster, prior) = cluster("720h", &[("cp-1", "2027-01-10T00:00:00Z"), ("cp-2", "2027-03-01T00:00:00Z")]);
        let planned_value = planned(&prior, &cluster, &BTreeSet::new(), &["cp-1".to_owned()]);
        assert!(planned(&prior, &cluster, &BTreeSet::from(["cp-2".to_owned()]), &[]).is_unknown(), "a join");
        assert!(!planned(&prior, &cluster, &BTreeSet::from(["wk-1".to_owned()]), &[]).is_unknown(), "a worker");
        let entries = planned_value.as_map().expect("a map");
        assert!(entries.get("cp-1").is_some_and(Value::is_unknown));
        assert_eq!(entries.get("cp-2"), Some(&Value::string("2027-03-01T00:00:00Z")));
        assert!(!entries.contains_key("wk-1"), "workers have no entry");
        let mut plan = prior.clone();
        plan.set(ATTRIBUTE, planned_value);
        assert_eq!(renewals(&plan, &prior, &cluster, &BTreeSet::new()), ["cp-1"]);
        assert_eq!(renewals(&plan, &prior, &cluster, &BTreeSet::from(["cp-1".to_owned()])), Vec::<String>::new());
    }

    #[test]
    fn refresh_keeps_what_state_knew_of_a_control_plane_that_did_not_answer() {
        let prior = Value::Map([("cp-1".to_owned(), Value::string("2027-01-10T00:00:00Z"))].into());
        let fresh = BTreeMap::from([("cp-2".to_owned(), at("2027-05-01T00:00:00Z"))]);
        let names = ["cp-1".to_owned(), "cp-2".to_owned(), "cp-3".to_owned()];
        let value = merged(&prior, &names, &fresh);
        let entries = value.as_map().expect("a map");
        assert_eq!(entries.get("cp-1"), Some(&Value::string("2027-01-10T00:00:00Z")));
        assert_eq!(entries.get("cp-2"), Some(&Value::string("2027-05-01T00:00:00Z")));
        assert!(!entries.contains_key("cp-3"));
    }
}

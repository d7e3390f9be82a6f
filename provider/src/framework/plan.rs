//! Planning, the part of a provider that decides what `terraform plan`
//! shows. The pipeline, in order:
//! 1. start from Terraform's proposed new state;
//! 2. plan defaults for optional attributes the configuration leaves null;
//! 3. when the resource is being created or changes, mark computed
//!    attributes the configuration leaves null as unknown ("known after
//!    apply");
//! 4. apply the named plan rules below;
//! 5. let the resource fill in what it can compute now (`ModifyPlan`).

use super::schema::{AttributeKind, Block, BlockNesting, Nesting};
use crate::value::{AttributePath, Value};

/// A named rule that shapes the plan for one attribute or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRule {
    /// Any change of this value destroys and recreates the resource: the plan
    /// says "forces replacement" on it. For inputs whose effect cannot be
    /// changed in place (immutable rendered documents, cluster identity).
    RequiresReplace,
    /// Keep the prior state's value instead of "known after apply" when the
    /// resource changes: for computed values that never change once set
    /// (ids, generated keys), so plans stay short and truthful.
    UseStateForUnknown,
}

impl PlanRule {
    /// One line for documentation.
    pub fn description(self) -> &'static str {
        match self {
            PlanRule::RequiresReplace => "changing this value replaces the resource",
            PlanRule::UseStateForUnknown => "keeps its value from state once it is set",
        }
    }
}

/// Steps 2 to 4 of the pipeline. Returns the planned state and the paths
/// that force replacement. `prior` is null when the resource is created.
pub fn plan_with_rules(block: &Block, prior: &Value, config: &Value, proposed: &Value) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed.clone();
    apply_defaults(block, config, &mut planned);
    let changing = prior.is_null() || !planned.semantically_equal(prior);
    if changing {
        mark_computed_unknown(block, config, &mut planned);
    }
    let mut requires_replace = Vec::new();
    if !prior.is_null() {
        apply_rules(block, prior, &mut planned, &AttributePath::root(), &mut requires_replace);
    }
    (planned, requires_replace)
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    for attribute in &block.attributes {
        let configured = config.get(attribute.name);
        if let (Some(default), true) = (&attribute.default, configured.is_null()) {
            planned.set(attribute.name, default.clone());
        }
        if let AttributeKind::Nested { nesting: Nesting::Single, attributes } = &attribute.kind {
            let inner = Block { attributes: attributes.clone(), ..Block::default() };
            if let Some(slot) = planned.get_mut(attribute.name).filter(|v| matches!(v, Value::Object(_))) {
                apply_defaults(&inner, configured, slot);
            }
        }
    }
    for nested in &block.blocks {
        let configured = config.get(nested.name);
        let Some(slot) = planned.get_mut(nested.name) else { continue };
        match (nested.nesting, slot) {
            (BlockNesting::Single | BlockNesting::Group, slot @ Value::Object(_)) => {
                apply_defaults(&nested.block, configured, slot);
            }
            (BlockNesting::List | BlockNesting::Set, Value::List(items) | Value::Set(items)) => {
                let configured_items = configured.as_slice().unwrap_or(&[]);
                for (i, item) in items.iter_mut().enumerate() {
                    apply_defaults(&nested.block, configured_items.get(i).unwrap_or(&Value::Null), item);
                }
            }
            _ => {}
        }
    }
}

fn mark_computed_unknown(block: &Block, config: &Value, planned: &mut Value) {
    for attribute in &block.attributes {
        let configured = config.get(attribute.name);
        if attribute.is_computed() && configured.is_null() && attribute.default.is_none() {
            planned.set(attribute.name, Value::Unknown);
        }
    }
    for nested in &block.blocks {
        let configured = config.get(nested.name);
        let Some(slot) = planned.get_mut(nested.name) else { continue };
        match (nested.nesting, slot) {
            (BlockNesting::Single | BlockNesting::Group, slot @ Value::Object(_)) => {
                mark_computed_unknown(&nested.block, configured, slot);
            }
            (BlockNesting::List | BlockNesting::Set, Value::List(items) | Value::Set(items)) => {
                let configured_items = configured.as_slice().unwrap_or(&[]);
                for (i, item) in items.iter_mut().enumerate() {
                    mark_computed_unknown(&nested.block, configured_items.get(i).unwrap_or(&Value::Null), item);
                }
            }
            _ => {}
        }
    }
}

fn apply_rules(
    block: &Block,
    prior: &Value,
    planned: &mut Value,
    path: &AttributePath,
    requires_replace: &mut Vec<AttributePath>,
) {
    for attribute in &block.attributes {
        let before = prior.get(attribute.name);
        for rule in &attribute.plan_rules {
            match rule {
                PlanRule::UseStateForUnknown => {
                    if planned.get(attribute.name).is_unknown() && !before.is_null() {
                        planned.set(attribute.name, before.clone());
                    }
                }
                PlanRule::RequiresReplace => {
                    let after = planned.get(attribute.name);
                    if !after.semantically_equal(before) {
                        requires_replace.push(path.with_attr(attribute.name));
                    }
                }
            }
        }
    }
    for nested in &block.blocks {
        let before = prior.get(nested.name).clone();
        if nested.plan_rules.contains(&PlanRule::RequiresReplace)
            && !planned.get(nested.name).semantically_equal(&before)
        {
            requires_replace.push(path.with_attr(nested.name));
        }
        if matches!(nested.nesting, BlockNesting::Single | BlockNesting::Group) {
            if let Some(slot) = planned.get_mut(nested.name).filter(|v| matches!(v, Value::Object(_))) {
                apply_rules(&nested.block, &before, slot, &path.with_attr(nested.name), requires_replace);
            }
        }
    }
}

/// Plan rules `apply_rules` would not apply: on attributes nested inside
/// another attribute, and on anything inside a block that repeats (list or
/// set). A schema must have none, so what its documentation says of a plan
/// rule holds; each resource's tests check its schema.
pub fn unapplied_plan_rules(block: &Block) -> Vec<String> {
    let mut found = Vec::new();
    collect_unapplied(block, "", true, &mut found);
    found
}

fn collect_unapplied(block: &Block, prefix: &str, applied: bool, found: &mut Vec<String>) {
    for attribute in &block.attributes {
        let path = format!("{prefix}{}", attribute.name);
        if !applied && !attribute.plan_rules.is_empty() {
            found.push(path.clone());
        }
        if let AttributeKind::Nested { attributes, .. } = &attribute.kind {
            let inner = attributes.iter().filter(|a| !a.plan_rules.is_empty());
            found.extend(inner.map(|a| format!("{path}.{}", a.name)));
        }
    }
    for nested in &block.blocks {
        let path = format!("{prefix}{}", nested.name);
        if !applied && !nested.plan_rules.is_empty() {
            found.push(path.clone());
        }
        let repeats = !matches!(nested.nesting, BlockNesting::Single | BlockNesting::Group);
        collect_unapplied(&nested.block, &format!("{path}."), applied && !repeats, found);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};

    fn block() -> Block {
        Block::new("t")
            .attribute(Attribute::string("id").computed().plan(PlanRule::UseStateForUnknown))
            .attribute(Attribute::string("name").required().plan(PlanRule::RequiresReplace))
            .attribute(Attribute::string("zone").default_value(Value::string("Etc/UTC")))
            .attribute(Attribute::string("out").computed())
            .block(NestedBlock::single(
                "user",
                Block::new("u").attribute(
                    Attribute::string("name").default_value(Value::string("debian")).plan(PlanRule::RequiresReplace),
                ),
            ))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>())
    }

    #[test]
    fn plan_rules_where_they_are_not_applied_are_found() {
        assert!(unapplied_plan_rules(&block()).is_empty(), "top level and single blocks are applied");
        let replaced = || Attribute::string("x").plan(PlanRule::RequiresReplace);
        let nested_attribute = Block::new("t").attribute(Attribute::nested("nodes", Nesting::Map, vec![replaced()]));
        assert_eq!(unapplied_plan_rules(&nested_attribute), ["nodes.x"]);
        let in_list = Block::new("t").block(NestedBlock::list("items", Block::new("i").attribute(replaced())));
        assert_eq!(unapplied_plan_rules(&in_list), ["items.x"]);
    }

    #[test]
    fn create_marks_computed_unknown_and_plans_defaults() {
        let config = obj(&[("name", Value::string("a")), ("user", obj(&[("name", Value::Null)]))]);
        let (planned, replace) = plan_with_rules(&block(), &Value::Null, &config, &config);
        assert_eq!(planned.get("id"), &Value::Unknown);
        assert_eq!(planned.get("out"), &Value::Unknown);
        assert_eq!(planned.get("zone"), &Value::string("Etc/UTC"));
        assert_eq!(planned.get("user").get("name"), &Value::string("debian"));
        assert!(replace.is_empty());
    }

    #[test]
    fn unchanged_resource_plans_prior_state() {
        let prior = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("zone", Value::string("Etc/UTC")),
            ("out", Value::string("o")),
            ("user", obj(&[("name", Value::string("debian"))])),
        ]);
        let config = obj(&[("name", Value::string("a")), ("user", obj(&[("name", Value::Null)]))]);
        // Terraform proposes prior values for computed attributes left null.
        let proposed = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("zone", Value::string("Etc/UTC")),
            ("out", Value::string("o")),
            ("user", obj(&[("name", Value::string("debian"))])),
        ]);
        let (planned, replace) = plan_with_rules(&block(), &prior, &config, &proposed);
        assert_eq!(planned, prior);
        assert!(replace.is_empty());
    }

    #[test]
    fn change_forces_replacement_keeps_stable_computed_values() {
        let prior = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("zone", Value::string("Etc/UTC")),
            ("out", Value::string("o")),
            ("user", obj(&[("name", Value::string("debian"))])),
        ]);
        let config = obj(&[("name", Value::string("b")), ("user", obj(&[("name", Value::string("ops"))]))]);
        let proposed = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("b")),
            ("zone", Value::string("Etc/UTC")),
            ("out", Value::string("o")),
            ("user", obj(&[("name", Value::string("ops"))])),
        ]);
        let (planned, replace) = plan_with_rules(&block(), &prior, &config, &proposed);
        assert_eq!(planned.get("id"), &Value::string("x"), "use-state-for-unknown");
        assert_eq!(planned.get("out"), &Value::Unknown);
        assert_eq!(replace, vec![AttributePath::attr("name"), AttributePath::attr("user").with_attr("name")]);
    }
}

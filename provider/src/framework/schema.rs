//! Schemas: what attributes and blocks a provider or resource has, which are
//! required, optional or computed, which are sensitive, their defaults and
//! plan rules. The value type Terraform sends is derived from the schema.

use std::collections::BTreeMap;

use super::PlanRule;
use crate::value::{Type, Value};

/// A versioned schema for a provider block or a resource.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Bumped when stored state needs upgrading.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes plus nested blocks.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Markdown documentation.
    pub description: String,
    /// The block's attributes.
    pub attributes: Vec<Attribute>,
    /// Nested blocks.
    pub blocks: Vec<NestedBlock>,
}

/// Who sets an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; null otherwise.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The configuration may set it; otherwise the provider does (defaults).
    OptionalComputed,
}

/// How nested attributes or blocks repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// Exactly one object (or null).
    Single,
    /// An ordered list of objects.
    List,
    /// An unordered set of objects.
    Set,
    /// A map of objects.
    Map,
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockNesting {
    /// Zero or one block.
    Single,
    /// Exactly one block that is never null; absent means all attributes null.
    Group,
    /// Ordered blocks.
    List,
    /// Unordered blocks.
    Set,
}

/// An attribute's value shape: a plain type, or nested attributes.
#[derive(Debug, Clone)]
pub enum AttributeKind {
    /// A value of one type.
    Plain(Type),
    /// Objects of nested attributes (protocol 6 nested attributes).
    Nested {
        /// How the objects repeat.
        nesting: Nesting,
        /// The objects' attributes.
        attributes: Vec<Attribute>,
    },
}

/// One attribute of a block.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Its name in configuration.
    pub name: &'static str,
    /// Its type.
    pub kind: AttributeKind,
    /// Markdown documentation.
    pub description: String,
    /// Who sets it.
    pub presence: Presence,
    /// Hidden in plans and logs.
    pub sensitive: bool,
    /// Planned when the configuration leaves it null (needs `OptionalComputed`).
    pub default: Option<Value>,
    /// Plan rules applied after computed values are marked unknown.
    pub plan_rules: Vec<PlanRule>,
}

/// A nested block.
#[derive(Debug, Clone)]
pub struct NestedBlock {
    /// Its name in configuration.
    pub name: &'static str,
    /// How it repeats.
    pub nesting: BlockNesting,
    /// Its content.
    pub block: Block,
    /// Fewest blocks allowed.
    pub min_items: i64,
    /// Most blocks allowed (0 = no limit).
    pub max_items: i64,
    /// Plan rules for the block as a whole.
    pub plan_rules: Vec<PlanRule>,
}

impl Attribute {
    fn new(name: &'static str, kind: AttributeKind) -> Self {
        Self {
            name,
            kind,
            description: String::new(),
            presence: Presence::Optional,
            sensitive: false,
            default: None,
            plan_rules: Vec::new(),
        }
    }

    /// An attribute of a plain type.
    pub fn of_type(name: &'static str, ty: Type) -> Self {
        Self::new(name, AttributeKind::Plain(ty))
    }

    /// A `string` attribute.
    pub fn string(name: &'static str) -> Self {
        Self::of_type(name, Type::String)
    }

    /// A `bool` attribute.
    pub fn bool(name: &'static str) -> Self {
        Self::of_type(name, Type::Bool)
    }

    /// A `number` attribute.
    pub fn number(name: &'static str) -> Self {
        Self::of_type(name, Type::Number)
    }

    /// A `list(string)` attribute.
    pub fn string_list(name: &'static str) -> Self {
        Self::of_type(name, Type::list(Type::String))
    }

    /// A `map(string)` attribute.
    pub fn string_map(name: &'static str) -> Self {
        Self::of_type(name, Type::map(Type::String))
    }

    /// Nested attributes.
    pub fn nested(name: &'static str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        Self::new(name, AttributeKind::Nested { nesting, attributes })
    }

    /// Sets the documentation.
    #[must_use]
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// The configuration must set it.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.presence = Presence::Required;
        self
    }

    /// The configuration may set it (the default).
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.presence = Presence::Optional;
        self
    }

    /// Only the provider sets it.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.presence = Presence::Computed;
        self
    }

    /// Optional; when the configuration leaves it out, the provider plans a
    /// value (known, or "known after apply").
    #[must_use]
    pub fn optional_computed(mut self) -> Self {
        self.presence = Presence::OptionalComputed;
        self
    }

    /// Optional with a default the provider plans when it is left out.
    #[must_use]
    pub fn default_value(mut self, value: Value) -> Self {
        self.presence = Presence::OptionalComputed;
        self.default = Some(value);
        self
    }

    /// Hidden in plan output and never logged.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Adds a plan rule.
    #[must_use]
    pub fn plan(mut self, rule: PlanRule) -> Self {
        self.plan_rules.push(rule);
        self
    }

    /// Whether the provider may set it.
    pub fn is_computed(&self) -> bool {
        matches!(self.presence, Presence::Computed | Presence::OptionalComputed)
    }

    /// The value type Terraform uses for it.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Plain(ty) => ty.clone(),
            AttributeKind::Nested { nesting, attributes } => {
                let object = object_type(attributes);
                match nesting {
                    Nesting::Single => object,
                    Nesting::List => Type::list(object),
                    Nesting::Set => Type::set(object),
                    Nesting::Map => Type::map(object),
                }
            }
        }
    }
}

fn object_type(attributes: &[Attribute]) -> Type {
    Type::Object(attributes.iter().map(|a| (a.name.to_string(), a.value_type())).collect())
}

impl NestedBlock {
    /// A block that appears at most once.
    pub fn single(name: &'static str, block: Block) -> Self {
        Self { name, nesting: BlockNesting::Single, block, min_items: 0, max_items: 0, plan_rules: Vec::new() }
    }

    /// A block that may repeat, in order.
    pub fn list(name: &'static str, block: Block) -> Self {
        Self { nesting: BlockNesting::List, ..Self::single(name, block) }
    }

    /// Adds a plan rule for the block as a whole.
    #[must_use]
    pub fn plan(mut self, rule: PlanRule) -> Self {
        self.plan_rules.push(rule);
        self
    }

    /// The value type Terraform uses for it.
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => object,
            BlockNesting::List => Type::list(object),
            BlockNesting::Set => Type::set(object),
        }
    }
}

impl Block {
    /// A block with documentation.
    pub fn new(description: &str) -> Self {
        Self { description: description.to_string(), ..Self::default() }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds a nested block.
    #[must_use]
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// The object type of this block's value.
    pub fn value_type(&self) -> Type {
        let mut attributes: BTreeMap<String, Type> =
            self.attributes.iter().map(|a| (a.name.to_string(), a.value_type())).collect();
        for block in &self.blocks {
            attributes.insert(block.name.to_string(), block.value_type());
        }
        Type::Object(attributes)
    }

    /// Finds an attribute by name.
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

impl Schema {
    /// A schema at version 0.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }

    /// The object type of values of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_type_covers_blocks_and_nested_attributes() {
        let block = Block::new("test")
            .attribute(Attribute::string("name").required())
            .attribute(Attribute::nested("files", Nesting::List, vec![Attribute::string("path").required()]))
            .block(NestedBlock::single("user", Block::new("u").attribute(Attribute::string("name"))));
        assert_eq!(
            block.value_type().to_json().to_string(),
            r#"["object",{"files":["list",["object",{"path":"string"}]],"name":"string","user":["object",{"name":"string"}]}]"#
        );
    }
}

//! Conversions between framework types and the generated protocol types.

use crate::framework::schema::{AttributeKind, BlockNesting, NestedBlock, Nesting};
use crate::framework::{Attribute, Block, Diagnostic, Diagnostics, Presence, Schema, Severity};
use crate::proto::tfplugin6 as pb;
use crate::value::{self, AttributePath, PathStep, Type, Value};

pub fn schema(schema: &Schema) -> pb::Schema {
    pb::Schema { version: schema.version, block: Some(block(&schema.block, schema.version)) }
}

fn block(block: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: block.attributes.iter().map(attribute).collect(),
        block_types: block.blocks.iter().map(nested_block).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
    }
}

fn attribute(attribute: &Attribute) -> pb::schema::Attribute {
    let (type_json, nested_type) = match &attribute.kind {
        AttributeKind::Plain(ty) => (ty.to_json_bytes(), None),
        AttributeKind::Nested { nesting, attributes } => {
            let nesting = match nesting {
                Nesting::Single => pb::schema::object::NestingMode::Single,
                Nesting::List => pb::schema::object::NestingMode::List,
                Nesting::Set => pb::schema::object::NestingMode::Set,
                Nesting::Map => pb::schema::object::NestingMode::Map,
            };
            let object = pb::schema::Object {
                attributes: attributes.iter().map(self::attribute).collect(),
                nesting: nesting as i32,
            };
            (Vec::new(), Some(object))
        }
    };
    let mut description = attribute.description.clone();
    for rule in &attribute.plan_rules {
        description.push_str(&format!(" ({})", rule.description()));
    }
    pb::schema::Attribute {
        name: attribute.name.to_string(),
        r#type: type_json,
        nested_type,
        description,
        required: attribute.presence == Presence::Required,
        optional: matches!(attribute.presence, Presence::Optional | Presence::OptionalComputed),
        computed: attribute.is_computed(),
        sensitive: attribute.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: false,
    }
}

fn nested_block(nested: &NestedBlock) -> pb::schema::NestedBlock {
    let nesting = match nested.nesting {
        BlockNesting::Single => pb::schema::nested_block::NestingMode::Single,
        BlockNesting::Group => pb::schema::nested_block::NestingMode::Group,
        BlockNesting::List => pb::schema::nested_block::NestingMode::List,
        BlockNesting::Set => pb::schema::nested_block::NestingMode::Set,
    };
    pb::schema::NestedBlock {
        type_name: nested.name.to_string(),
        block: Some(block(&nested.block, 0)),
        nesting: nesting as i32,
        min_items: nested.min_items,
        max_items: nested.max_items,
    }
}

pub fn path(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .0
            .iter()
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::Index(index) => Selector::ElementKeyInt(*index),
                }),
            })
            .collect(),
    }
}

pub fn diagnostic(diagnostic: &Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match diagnostic.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        } as i32,
        summary: diagnostic.summary.clone(),
        detail: diagnostic.detail.clone(),
        attribute: diagnostic.path.as_ref().map(path),
    }
}

pub fn diagnostics(diagnostics: &Diagnostics) -> Vec<pb::Diagnostic> {
    diagnostics.iter().map(diagnostic).collect()
}

/// Decodes a `DynamicValue` Terraform sent. A missing value is null.
pub fn decode(dynamic: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dynamic) = dynamic else { return Ok(Value::Null) };
    let result = if !dynamic.msgpack.is_empty() {
        value::decode_msgpack(&dynamic.msgpack, ty)
    } else if !dynamic.json.is_empty() {
        value::decode_json(&dynamic.json, ty)
    } else {
        return Ok(Value::Null);
    };
    result.map_err(|err| {
        Diagnostics::from_error(
            format!("Invalid {what} from Terraform"),
            format!(
                "The provider could not decode the {what}: {err}. This points at a Terraform and provider version mismatch; please report it with the Terraform version."
            ),
        )
    })
}

/// Encodes a value to send to Terraform.
pub fn encode(value: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
    value::encode_msgpack(value, ty).map(|msgpack| pb::DynamicValue { msgpack, json: Vec::new() }).map_err(|err| {
        Diagnostics::from_error(
            format!("Provider produced an invalid {what}"),
            format!("This is a bug in the provider: {err}. Please report it."),
        )
    })
}

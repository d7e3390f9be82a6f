use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::ValueError;

/// A Terraform (cty) type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// `dynamic`: the type travels with the value.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({...})`; attribute names in sorted order.
    Object(BTreeMap<String, Type>),
    /// `tuple([...])`
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(T)`
    pub fn list(element: Type) -> Self {
        Self::List(Box::new(element))
    }

    /// `set(T)`
    pub fn set(element: Type) -> Self {
        Self::Set(Box::new(element))
    }

    /// `map(T)`
    pub fn map(element: Type) -> Self {
        Self::Map(Box::new(element))
    }

    /// The JSON form Terraform uses in schemas and dynamic values.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(element) => json!(["list", element.to_json()]),
            Type::Set(element) => json!(["set", element.to_json()]),
            Type::Map(element) => json!(["map", element.to_json()]),
            Type::Object(attributes) => {
                let attributes: serde_json::Map<String, Json> =
                    attributes.iter().map(|(name, ty)| (name.clone(), ty.to_json())).collect();
                json!(["object", attributes])
            }
            Type::Tuple(elements) => {
                json!(["tuple", elements.iter().map(Type::to_json).collect::<Vec<_>>()])
            }
        }
    }

    /// The JSON form as bytes, as schema attributes carry it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the JSON form. Optional-attribute markers (a third element of
    /// an object type) are accepted and ignored: they only matter to
    /// Terraform's own conversion.
    pub fn from_json(json: &Json) -> Result<Self, ValueError> {
        let invalid = || ValueError::InvalidType(json.to_string());
        match json {
            Json::String(name) => match name.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(invalid()),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let (Some(kind), Some(inner)) = (parts.first(), parts.get(1)) else { return Err(invalid()) };
                let kind = kind.as_str().ok_or_else(invalid)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(inner)?)),
                    "set" => Ok(Type::set(Type::from_json(inner)?)),
                    "map" => Ok(Type::map(Type::from_json(inner)?)),
                    "object" => {
                        let attributes = inner.as_object().ok_or_else(invalid)?;
                        let mut out = BTreeMap::new();
                        for (name, ty) in attributes {
                            out.insert(name.clone(), Type::from_json(ty)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elements = inner.as_array().ok_or_else(invalid)?;
                        Ok(Type::Tuple(elements.iter().map(Type::from_json).collect::<Result<_, _>>()?))
                    }
                    _ => Err(invalid()),
                }
            }
            _ => Err(invalid()),
        }
    }

    /// A short name for messages.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "any value".into(),
            Type::List(element) => format!("list of {}", element.friendly_name()),
            Type::Set(element) => format!("set of {}", element.friendly_name()),
            Type::Map(element) => format!("map of {}", element.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_of_nested_types() {
        let ty = Type::Object(BTreeMap::from([
            ("a".to_string(), Type::list(Type::String)),
            ("b".to_string(), Type::map(Type::set(Type::Number))),
            ("c".to_string(), Type::Tuple(vec![Type::Bool, Type::Dynamic])),
        ]));
        let json = ty.to_json();
        assert_eq!(
            json.to_string(),
            r#"["object",{"a":["list","string"],"b":["map",["set","number"]],"c":["tuple",["bool","dynamic"]]}]"#
        );
        assert_eq!(Type::from_json(&json).unwrap(), ty);
    }

    #[test]
    fn optional_attribute_markers_are_accepted() {
        let json: Json = serde_json::from_str(r#"["object",{"a":"string"},["a"]]"#).unwrap();
        assert_eq!(Type::from_json(&json).unwrap(), Type::Object(BTreeMap::from([("a".to_string(), Type::String)])));
    }

    #[test]
    fn garbage_types_are_errors() {
        for text in [r#""text""#, r#"["list"]"#, r#"["object",[]]"#, "17", r#"["nope","string"]"#] {
            let json: Json = serde_json::from_str(text).unwrap();
            let err = Type::from_json(&json).expect_err(text);
            assert!(matches!(&err, ValueError::InvalidType(_)), "{text}: {err:?}");
        }
    }
}

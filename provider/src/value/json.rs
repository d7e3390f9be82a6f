//! The JSON encoding of values, which Terraform uses for stored state (and
//! so hands to `UpgradeResourceState`). A `dynamic` value is an object
//! `{"value": ..., "type": ...}`. JSON has no unknowns: state is always known.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{AttributePath, Number, Type, Value, ValueError};

const MAX_DEPTH: usize = 64;

/// A value from untyped JSON, for tests: objects, lists, strings, bools,
/// numbers, null (without a type, objects stay objects and arrays lists).
#[cfg(test)]
pub fn untyped_from_json(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::String(s) => Value::String(s),
        Json::Number(n) => Value::Number(match n.as_i64() {
            Some(i) => Number::Int(i),
            None => Number::Float(n.as_f64().expect("a JSON number")),
        }),
        Json::Array(items) => Value::List(items.into_iter().map(untyped_from_json).collect()),
        Json::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, untyped_from_json(x))).collect()),
    }
}

/// Decodes JSON text as a value of type `ty`.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let json: Json = serde_json::from_slice(bytes)?;
    from_json(&json, ty, &AttributePath::root(), 0)
}

/// Encodes a wholly known value as JSON of type `ty`.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Json, ValueError> {
    to_json(value, ty, &AttributePath::root())
}

fn mismatch(path: &AttributePath, ty: &Type, json: &Json) -> ValueError {
    let found = match json {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    };
    ValueError::Mismatch { path: path.clone(), expected: ty.friendly_name(), found: found.into() }
}

fn from_json(json: &Json, ty: &Type, path: &AttributePath, depth: usize) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep(MAX_DEPTH));
    }
    if json.is_null() {
        return Ok(Value::Null);
    }
    let wrong = || mismatch(path, ty, json);
    Ok(match ty {
        Type::Dynamic => {
            let wrapper = json.as_object().ok_or_else(wrong)?;
            let actual = Type::from_json(wrapper.get("type").ok_or_else(wrong)?)?;
            let inner = wrapper.get("value").unwrap_or(&Json::Null);
            Value::Typed(actual.clone(), Box::new(from_json(inner, &actual, path, depth + 1)?))
        }
        Type::Bool => Value::Bool(json.as_bool().ok_or_else(wrong)?),
        Type::Number => match json {
            Json::Number(n) => Value::Number(if let Some(i) = n.as_i64() {
                Number::Int(i)
            } else if let Some(u) = n.as_u64() {
                Number::UInt(u)
            } else {
                Number::Float(n.as_f64().ok_or_else(wrong)?)
            }),
            // cty writes numbers as JSON numbers, but accepts numeric strings.
            Json::String(text) if text.parse::<f64>().is_ok() => Value::Number(Number::Text(text.clone())),
            _ => return Err(wrong()),
        },
        Type::String => Value::String(json.as_str().ok_or_else(wrong)?.to_string()),
        Type::List(element) | Type::Set(element) => {
            let items = json.as_array().ok_or_else(wrong)?;
            let items = items
                .iter()
                .enumerate()
                .map(|(i, item)| from_json(item, element, &path.with_index(i), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(ty, Type::List(_)) { Value::List(items) } else { Value::Set(items) }
        }
        Type::Tuple(elements) => {
            let items = json.as_array().filter(|a| a.len() == elements.len()).ok_or_else(wrong)?;
            Value::Tuple(
                items
                    .iter()
                    .zip(elements)
                    .enumerate()
                    .map(|(i, (item, element))| from_json(item, element, &path.with_index(i), depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Map(element) => {
            let items = json.as_object().ok_or_else(wrong)?;
            let mut out = BTreeMap::new();
            for (key, item) in items {
                out.insert(key.clone(), from_json(item, element, &path.with_key(key.clone()), depth + 1)?);
            }
            Value::Map(out)
        }
        Type::Object(attributes) => {
            let items = json.as_object().ok_or_else(wrong)?;
            let mut out = BTreeMap::new();
            for (name, item) in items {
                let attribute_type = attributes
                    .get(name)
                    .ok_or_else(|| ValueError::UnknownAttribute { path: path.clone(), name: name.clone() })?;
                out.insert(name.clone(), from_json(item, attribute_type, &path.with_attr(name.clone()), depth + 1)?);
            }
            for name in attributes.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Value::Object(out)
        }
    })
}

fn to_json(value: &Value, ty: &Type, path: &AttributePath) -> Result<Json, ValueError> {
    let wrong = || ValueError::Mismatch {
        path: path.clone(),
        expected: ty.friendly_name(),
        found: value.implied_type().friendly_name(),
    };
    Ok(match (value, ty) {
        (Value::Null, _) => Json::Null,
        (Value::Unknown, _) => {
            return Err(ValueError::Mismatch {
                path: path.clone(),
                expected: "known value".into(),
                found: "unknown".into(),
            });
        }
        (Value::Typed(_, inner), ty) if !matches!(ty, Type::Dynamic) => to_json(inner, ty, path)?,
        (_, Type::Dynamic) => {
            let actual = value.implied_type();
            serde_json::json!({ "value": to_json(value, &actual, path)?, "type": actual.to_json() })
        }
        (Value::Bool(b), Type::Bool) => Json::Bool(*b),
        (Value::Number(n), Type::Number) => match n {
            Number::Int(i) => Json::from(*i),
            Number::UInt(u) => Json::from(*u),
            Number::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).ok_or_else(wrong)?,
            Number::Text(text) => serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone())),
        },
        (Value::String(s), Type::String) => Json::String(s.clone()),
        (Value::List(items) | Value::Set(items), Type::List(element) | Type::Set(element)) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, element, &path.with_index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items), Type::Tuple(elements)) if items.len() == elements.len() => Json::Array(
            items
                .iter()
                .zip(elements)
                .enumerate()
                .map(|(i, (item, element))| to_json(item, element, &path.with_index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(items), Type::Map(element)) => Json::Object(
            items
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v, element, &path.with_key(k.clone()))?)))
                .collect::<Result<_, ValueError>>()?,
        ),
        (Value::Object(items), Type::Object(attributes)) => Json::Object(
            attributes
                .iter()
                .map(|(name, attribute_type)| {
                    let item = items.get(name).unwrap_or(&Value::Null);
                    Ok((name.clone(), to_json(item, attribute_type, &path.with_attr(name.clone()))?))
                })
                .collect::<Result<_, ValueError>>()?,
        ),
        _ => return Err(wrong()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_round_trip() {
        let ty = Type::Object(BTreeMap::from([
            ("id".to_string(), Type::String),
            ("n".to_string(), Type::Number),
            ("files".to_string(), Type::list(Type::Object(BTreeMap::from([("path".to_string(), Type::String)])))),
            ("extra".to_string(), Type::Dynamic),
        ]));
        let text =
            br#"{"id":"abc","n":2.5,"files":[{"path":"/etc/x"}],"extra":{"value":["a"],"type":["list","string"]}}"#;
        let value = decode_json(text, &ty).unwrap();
        assert_eq!(value.get("id"), &Value::string("abc"));
        assert_eq!(value.get("extra"), &Value::string_list(["a"]));
        let back = encode_json(&value, &ty).unwrap();
        assert_eq!(back, serde_json::from_slice::<Json>(text).unwrap());
    }

    #[test]
    fn missing_attributes_read_as_null_and_unknown_ones_fail() {
        let ty = Type::Object(BTreeMap::from([("a".to_string(), Type::String), ("b".to_string(), Type::Bool)]));
        let value = decode_json(br#"{"a":"x"}"#, &ty).unwrap();
        assert!(value.get("b").is_null());
        let err = decode_json(br#"{"a":"x","zzz":1}"#, &ty).unwrap_err();
        assert!(matches!(err, ValueError::UnknownAttribute { .. }));
    }
}

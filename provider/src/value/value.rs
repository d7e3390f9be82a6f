use std::collections::BTreeMap;

use super::Type;

/// A number as Terraform carries it. cty numbers are arbitrary precision;
/// values that fit neither `i64` nor `f64` exactly travel as decimal text.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// A whole number that fits in 64 bits.
    Int(i64),
    /// A whole number above `i64::MAX`.
    UInt(u64),
    /// A fractional number.
    Float(f64),
    /// Decimal text for numbers beyond the two above.
    Text(String),
}

impl Number {
    /// The value as `i64` when it is a whole number in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::UInt(u) => i64::try_from(*u).ok(),
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Text(text) => text.parse().ok(),
        }
    }

    /// Decimal text for messages and for JSON.
    pub fn to_text(&self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::UInt(u) => u.to_string(),
            Number::Float(f) => f.to_string(),
            Number::Text(text) => text.clone(),
        }
    }
}

/// A Terraform value: known, null or not yet known.
///
/// Values do not carry their type; the schema gives it when encoding, and a
/// `dynamic` attribute's type is derived from the value's shape.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
    /// `bool`
    Bool(bool),
    /// `number`
    Number(Number),
    /// `string`
    String(String),
    /// `list(T)`
    List(Vec<Value>),
    /// `set(T)`: elements kept in the order received.
    Set(Vec<Value>),
    /// `map(T)`
    Map(BTreeMap<String, Value>),
    /// `object({...})`
    Object(BTreeMap<String, Value>),
    /// `tuple([...])`
    Tuple(Vec<Value>),
    /// The value of a `dynamic` attribute with the type Terraform sent it
    /// with, so it goes back with exactly that type: a value's shape cannot
    /// tell an empty `map(string)` from an empty `map(number)`, or a typed
    /// null from an untyped one. Accessors and equality look through it.
    Typed(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self.untyped(), other.untyped()) {
            (Value::Null, Value::Null) | (Value::Unknown, Value::Unknown) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a == b
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

static NULL: Value = Value::Null;

impl Value {
    /// A string value.
    pub fn string(text: impl Into<String>) -> Self {
        Value::String(text.into())
    }

    /// A list of strings.
    pub fn string_list<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    /// The value without its [`Value::Typed`] wrapper.
    pub fn untyped(&self) -> &Value {
        match self {
            Value::Typed(_, inner) => inner.untyped(),
            other => other,
        }
    }

    fn untyped_mut(&mut self) -> &mut Value {
        match self {
            Value::Typed(_, inner) => inner.untyped_mut(),
            other => other,
        }
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self.untyped(), Value::Null)
    }

    /// Whether the value itself is unknown (not looking inside).
    pub fn is_unknown(&self) -> bool {
        matches!(self.untyped(), Value::Unknown)
    }

    /// Whether the value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self.untyped() {
            Value::Unknown => false,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(items) | Value::Object(items) => items.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// An object attribute, or null when absent or when this is not an object.
    pub fn get(&self, name: &str) -> &Value {
        match self.untyped() {
            Value::Object(attributes) => attributes.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// A mutable object attribute; inserts null when absent. Does nothing
    /// useful on non-objects (returns a detached slot).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self.untyped_mut() {
            Value::Object(attributes) => Some(attributes.entry(name.to_string()).or_default()),
            _ => None,
        }
    }

    /// Sets an object attribute; ignored on non-objects.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(attributes) = self.untyped_mut() {
            attributes.insert(name.to_string(), value);
        }
    }

    /// The string, when this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self.untyped() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, when this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self.untyped() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as `i64`, when known and whole.
    pub fn as_i64(&self) -> Option<i64> {
        match self.untyped() {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn as_slice(&self) -> Option<&[Value]> {
        match self.untyped() {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// Entries of a map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.untyped() {
            Value::Map(items) | Value::Object(items) => Some(items),
            _ => None,
        }
    }

    /// Known strings of a list or set; `None` if any element is not a known string.
    pub fn as_string_vec(&self) -> Option<Vec<String>> {
        match self {
            Value::Null => Some(Vec::new()),
            _ => self.as_slice()?.iter().map(|v| v.as_str().map(str::to_string)).collect(),
        }
    }

    /// Equality as Terraform sees it: sets compare without order.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self.untyped(), other.untyped()) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && va.semantically_equal(vb))
            }
            (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.to_text() == b.to_text(),
            },
            (a, b) => a == b,
        }
    }

    /// The type a `dynamic` value is sent with, derived from its shape.
    /// Empty collections and null or unknown elements type as `dynamic`.
    pub fn implied_type(&self) -> Type {
        fn element_type(items: &[Value]) -> Type {
            items.first().map_or(Type::Dynamic, Value::implied_type)
        }
        match self {
            Value::Typed(ty, _) => ty.clone(),
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(items) => Type::list(element_type(items)),
            Value::Set(items) => Type::set(element_type(items)),
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::implied_type).collect()),
            Value::Map(items) => Type::map(items.values().next().map_or(Type::Dynamic, Value::implied_type)),
            Value::Object(items) => {
                Type::Object(items.iter().map(|(name, value)| (name.clone(), value.implied_type())).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec![Value::string("x"), Value::string("y")]);
        let b = Value::Set(vec![Value::string("y"), Value::string("x")]);
        assert!(a.semantically_equal(&b));
        let lists_a = Value::List(vec![Value::string("x"), Value::string("y")]);
        let lists_b = Value::List(vec![Value::string("y"), Value::string("x")]);
        assert!(!lists_a.semantically_equal(&lists_b));
    }

    #[test]
    fn numbers_compare_by_value() {
        let int = Value::Number(Number::Int(3));
        let float = Value::Number(Number::Float(3.0));
        assert!(int.semantically_equal(&float));
        assert!(!int.semantically_equal(&Value::Number(Number::Float(3.5))));
    }

    #[test]
    fn wholly_known_looks_inside() {
        let v = Value::Object(BTreeMap::from([("a".to_string(), Value::List(vec![Value::Unknown]))]));
        assert!(!v.is_wholly_known());
        assert!(!v.is_unknown());
        assert!(v.get("missing").is_null());
    }
}

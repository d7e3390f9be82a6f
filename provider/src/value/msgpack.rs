//! The msgpack encoding of values that Terraform uses for every
//! `DynamicValue` in RPCs (cty's msgpack format):
//! - null is msgpack nil; an unknown value is an extension value (type 0
//!   with one zero byte when we write it; any extension reads as unknown,
//!   which covers the refined unknowns of newer Terraform versions);
//! - numbers are integers, float64, or decimal strings when neither is exact;
//! - lists, sets and tuples are arrays; maps and objects are maps;
//! - a `dynamic` value is a two-element array: the type's JSON, then the value.

use std::collections::BTreeMap;

use super::{AttributePath, Number, Type, Value, ValueError};

/// Deeper than any real schema; stops hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Decodes `bytes` as a value of type `ty`.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut reader = Reader { bytes, pos: 0 };
    let value = reader.value(ty, &AttributePath::root(), 0)?;
    if reader.pos != bytes.len() {
        return Err(ValueError::TrailingBytes(bytes.len() - reader.pos));
    }
    Ok(value)
}

/// Encodes `value` as type `ty`.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value, ty, &AttributePath::root())?;
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn mismatch(path: &AttributePath, expected: &Type, marker: u8) -> ValueError {
    ValueError::Mismatch {
        path: path.clone(),
        expected: expected.friendly_name(),
        found: marker_name(marker).to_string(),
    }
}

fn marker_name(marker: u8) -> &'static str {
    match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "integer",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0x90..=0x9f | 0xdc | 0xdd => "array",
        0xa0..=0xbf | 0xd9..=0xdb => "string",
        0xc0 => "nil",
        0xc2 | 0xc3 => "bool",
        0xc4..=0xc6 => "binary",
        0xc7..=0xc9 | 0xd4..=0xd8 => "extension",
        0xca | 0xcb => "float",
        _ => "reserved marker",
    }
}

impl Reader<'_> {
    fn take(&mut self, n: usize, path: &AttributePath) -> Result<&[u8], ValueError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| ValueError::Truncated { path: path.clone() })?;
        let slice = self.bytes.get(self.pos..end).ok_or_else(|| ValueError::Truncated { path: path.clone() })?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self, path: &AttributePath) -> Result<u8, ValueError> {
        let [byte] = self.take(1, path)? else { return Err(ValueError::Truncated { path: path.clone() }) };
        Ok(*byte)
    }

    fn uint(&mut self, width: usize, path: &AttributePath) -> Result<u64, ValueError> {
        let raw = self.take(width, path)?;
        Ok(raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn len(&mut self, width: usize, path: &AttributePath) -> Result<usize, ValueError> {
        let n = self.uint(width, path)?;
        // A length can never exceed the bytes left; checking here keeps
        // allocations bounded by the input size.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.bytes.len() - self.pos)
            .ok_or_else(|| ValueError::Truncated { path: path.clone() })
    }

    fn peek(&self, path: &AttributePath) -> Result<u8, ValueError> {
        self.bytes.get(self.pos).copied().ok_or_else(|| ValueError::Truncated { path: path.clone() })
    }

    /// Skips an extension value (marker already peeked).
    fn skip_ext(&mut self, marker: u8, path: &AttributePath) -> Result<(), ValueError> {
        self.pos += 1;
        let data_len = match marker {
            0xd4 => 1,
            0xd5 => 2,
            0xd6 => 4,
            0xd7 => 8,
            0xd8 => 16,
            0xc7 => self.len(1, path)?,
            0xc8 => self.len(2, path)?,
            _ => self.len(4, path)?,
        };
        self.take(1 + data_len, path)?; // type byte, then data
        Ok(())
    }

    fn str_len(&mut self, marker: u8, path: &AttributePath) -> Result<Option<usize>, ValueError> {
        Ok(match marker {
            0xa0..=0xbf => Some(usize::from(marker & 0x1f)),
            0xd9 | 0xc4 => Some(self.len(1, path)?),
            0xda | 0xc5 => Some(self.len(2, path)?),
            0xdb | 0xc6 => Some(self.len(4, path)?),
            _ => None,
        })
    }

    fn string(&mut self, ty: &Type, path: &AttributePath) -> Result<String, ValueError> {
        let marker = self.byte(path)?;
        let len = self.str_len(marker, path)?.ok_or_else(|| mismatch(path, ty, marker))?;
        let raw = self.take(len, path)?;
        String::from_utf8(raw.to_vec()).map_err(|_| ValueError::Mismatch {
            path: path.clone(),
            expected: "UTF-8 string".into(),
            found: "invalid UTF-8".into(),
        })
    }

    fn array_len(&mut self, ty: &Type, path: &AttributePath) -> Result<usize, ValueError> {
        let marker = self.byte(path)?;
        match marker {
            0x90..=0x9f => Ok(usize::from(marker & 0x0f)),
            0xdc => self.len(2, path),
            0xdd => self.len(4, path),
            _ => Err(mismatch(path, ty, marker)),
        }
    }

    fn map_len(&mut self, ty: &Type, path: &AttributePath) -> Result<usize, ValueError> {
        let marker = self.byte(path)?;
        match marker {
            0x80..=0x8f => Ok(usize::from(marker & 0x0f)),
            0xde => self.len(2, path),
            0xdf => self.len(4, path),
            _ => Err(mismatch(path, ty, marker)),
        }
    }

    fn number(&mut self, ty: &Type, path: &AttributePath) -> Result<Number, ValueError> {
        let marker = self.peek(path)?;
        #[allow(clippy::cast_possible_wrap)]
        let number = match marker {
            0x00..=0x7f => self.skip1_then(|_| Ok(Number::Int(i64::from(marker))))?,
            0xe0..=0xff => self.skip1_then(|_| Ok(Number::Int(i64::from(marker as i8))))?,
            0xcc => Number::Int(self.skip1_then(|r| r.uint(1, path))? as i64),
            0xcd => Number::Int(self.skip1_then(|r| r.uint(2, path))? as i64),
            0xce => Number::Int(self.skip1_then(|r| r.uint(4, path))? as i64),
            0xcf => {
                let u = self.skip1_then(|r| r.uint(8, path))?;
                i64::try_from(u).map_or(Number::UInt(u), Number::Int)
            }
            0xd0 => Number::Int(i64::from(self.skip1_then(|r| r.uint(1, path))? as u8 as i8)),
            0xd1 => Number::Int(i64::from(self.skip1_then(|r| r.uint(2, path))? as u16 as i16)),
            0xd2 => Number::Int(i64::from(self.skip1_then(|r| r.uint(4, path))? as u32 as i32)),
            0xd3 => Number::Int(self.skip1_then(|r| r.uint(8, path))? as i64),
            0xca => {
                #[allow(clippy::cast_possible_truncation)]
                let bits = self.skip1_then(|r| r.uint(4, path))? as u32;
                Number::Float(f64::from(f32::from_bits(bits)))
            }
            0xcb => Number::Float(f64::from_bits(self.skip1_then(|r| r.uint(8, path))?)),
            0xa0..=0xbf | 0xd9..=0xdb => {
                let text = self.string(ty, path)?;
                if text.parse::<f64>().is_err() {
                    return Err(ValueError::Mismatch {
                        path: path.clone(),
                        expected: "number".into(),
                        found: format!("string {text:?}"),
                    });
                }
                Number::Text(text)
            }
            _ => return Err(mismatch(path, ty, marker)),
        };
        Ok(number)
    }

    fn skip1_then<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, ValueError>) -> Result<T, ValueError> {
        self.pos += 1;
        f(self)
    }

    fn value(&mut self, ty: &Type, path: &AttributePath, depth: usize) -> Result<Value, ValueError> {
        if depth > MAX_DEPTH {
            return Err(ValueError::TooDeep(MAX_DEPTH));
        }
        let marker = self.peek(path)?;
        if marker == 0xc0 {
            self.pos += 1;
            return Ok(Value::Null);
        }
        if matches!(marker, 0xc7..=0xc9 | 0xd4..=0xd8) {
            self.skip_ext(marker, path)?;
            return Ok(Value::Unknown);
        }
        match ty {
            Type::Dynamic => {
                let len = self.array_len(ty, path)?;
                if len != 2 {
                    return Err(ValueError::Mismatch {
                        path: path.clone(),
                        expected: "[type, value] pair for a dynamic value".into(),
                        found: format!("array of {len}"),
                    });
                }
                let type_json = self.string(&Type::String, path)?;
                let actual = Type::from_json(&serde_json::from_str(&type_json)?)?;
                if actual == Type::Dynamic {
                    return Err(ValueError::InvalidType(type_json));
                }
                let inner = self.value(&actual, path, depth + 1)?;
                Ok(Value::Typed(actual, Box::new(inner)))
            }
            Type::Bool => match self.byte(path)? {
                0xc2 => Ok(Value::Bool(false)),
                0xc3 => Ok(Value::Bool(true)),
                other => Err(mismatch(path, ty, other)),
            },
            Type::Number => Ok(Value::Number(self.number(ty, path)?)),
            Type::String => Ok(Value::String(self.string(ty, path)?)),
            Type::List(element) | Type::Set(element) => {
                let len = self.array_len(ty, path)?;
                let mut items = Vec::with_capacity(len);
                for index in 0..len {
                    items.push(self.value(element, &path.with_index(index), depth + 1)?);
                }
                Ok(if matches!(ty, Type::List(_)) { Value::List(items) } else { Value::Set(items) })
            }
            Type::Tuple(elements) => {
                let len = self.array_len(ty, path)?;
                if len != elements.len() {
                    return Err(ValueError::Mismatch {
                        path: path.clone(),
                        expected: format!("tuple of {}", elements.len()),
                        found: format!("array of {len}"),
                    });
                }
                let mut items = Vec::with_capacity(len);
                for (index, element) in elements.iter().enumerate() {
                    items.push(self.value(element, &path.with_index(index), depth + 1)?);
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(element) => {
                let len = self.map_len(ty, path)?;
                let mut items = BTreeMap::new();
                for _ in 0..len {
                    let key = self.string(&Type::String, path)?;
                    let item = self.value(element, &path.with_key(key.clone()), depth + 1)?;
                    items.insert(key, item);
                }
                Ok(Value::Map(items))
            }
            Type::Object(attributes) => {
                let len = self.map_len(ty, path)?;
                let mut items = BTreeMap::new();
                for _ in 0..len {
                    let name = self.string(&Type::String, path)?;
                    let attribute_type = attributes
                        .get(&name)
                        .ok_or_else(|| ValueError::UnknownAttribute { path: path.clone(), name: name.clone() })?;
                    let item = self.value(attribute_type, &path.with_attr(name.clone()), depth + 1)?;
                    items.insert(name, item);
                }
                // cty always sends every attribute; be lenient and treat a
                // missing one as null rather than failing the whole RPC.
                for name in attributes.keys() {
                    items.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(items))
            }
        }
    }
}

fn write_uint_marker(out: &mut Vec<u8>, small_base: Option<u8>, markers: [u8; 3], len: usize) {
    #[allow(clippy::cast_possible_truncation)]
    match (small_base, len) {
        (Some(base), 0..=15) if base != 0xa0 => out.push(base | len as u8),
        (Some(0xa0), 0..=31) => out.push(0xa0 | len as u8),
        (_, 0..=0xff) if markers[0] != 0 => {
            out.push(markers[0]);
            out.push(len as u8);
        }
        (_, 0..=0xffff) => {
            out.push(markers[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(markers[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    write_uint_marker(out, Some(0xa0), [0xd9, 0xda, 0xdb], text.len());
    out.extend_from_slice(text.as_bytes());
}

fn write_int(out: &mut Vec<u8>, i: i64) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    if (0..=0x7f).contains(&i) {
        out.push(i as u8);
    } else if (-32..0).contains(&i) {
        out.push(i as i8 as u8);
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value, ty: &Type, path: &AttributePath) -> Result<(), ValueError> {
    let wrong = |found: &str| ValueError::Mismatch {
        path: path.clone(),
        expected: ty.friendly_name(),
        found: found.to_string(),
    };
    match (value, ty) {
        (Value::Null, _) => out.push(0xc0),
        (Value::Unknown, _) => out.extend_from_slice(&[0xd4, 0x00, 0x00]),
        (Value::Typed(_, inner), ty) if !matches!(ty, Type::Dynamic) => write_value(out, inner, ty, path)?,
        (_, Type::Dynamic) => {
            let actual = value.implied_type();
            out.push(0x92);
            let type_json = actual.to_json().to_string();
            // cty writes the type as msgpack binary.
            write_uint_marker(out, None, [0xc4, 0xc5, 0xc6], type_json.len());
            out.extend_from_slice(type_json.as_bytes());
            write_value(out, value, &actual, path)?;
        }
        (Value::Bool(b), Type::Bool) => out.push(if *b { 0xc3 } else { 0xc2 }),
        (Value::Number(n), Type::Number) => match n {
            Number::Int(i) => write_int(out, *i),
            Number::UInt(u) => {
                out.push(0xcf);
                out.extend_from_slice(&u.to_be_bytes());
            }
            Number::Float(f) => match Number::Float(*f).as_i64() {
                Some(i) => write_int(out, i),
                None => {
                    out.push(0xcb);
                    out.extend_from_slice(&f.to_bits().to_be_bytes());
                }
            },
            Number::Text(text) => write_str(out, text),
        },
        (Value::String(s), Type::String) => write_str(out, s),
        (Value::List(items), Type::List(element))
        | (Value::Set(items), Type::Set(element))
        | (Value::List(items), Type::Set(element))
        | (Value::Set(items), Type::List(element)) => {
            write_uint_marker(out, Some(0x90), [0, 0xdc, 0xdd], items.len());
            for (index, item) in items.iter().enumerate() {
                write_value(out, item, element, &path.with_index(index))?;
            }
        }
        (Value::Tuple(items) | Value::List(items), Type::Tuple(elements)) => {
            if items.len() != elements.len() {
                return Err(wrong(&format!("{} elements", items.len())));
            }
            write_uint_marker(out, Some(0x90), [0, 0xdc, 0xdd], items.len());
            for (index, (item, element)) in items.iter().zip(elements).enumerate() {
                write_value(out, item, element, &path.with_index(index))?;
            }
        }
        (Value::Map(items) | Value::Object(items), Type::Map(element)) => {
            write_uint_marker(out, Some(0x80), [0, 0xde, 0xdf], items.len());
            for (key, item) in items {
                write_str(out, key);
                write_value(out, item, element, &path.with_key(key.clone()))?;
            }
        }
        (Value::Object(items), Type::Object(attributes)) => {
            if let Some(extra) = items.keys().find(|name| !attributes.contains_key(*name)) {
                return Err(ValueError::UnknownAttribute { path: path.clone(), name: extra.clone() });
            }
            write_uint_marker(out, Some(0x80), [0, 0xde, 0xdf], attributes.len());
            for (name, attribute_type) in attributes {
                write_str(out, name);
                let item = items.get(name).unwrap_or(&Value::Null);
                write_value(out, item, attribute_type, &path.with_attr(name.clone()))?;
            }
        }
        (other, _) => return Err(wrong(&other.implied_type().friendly_name())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_type() -> Type {
        Type::Object(BTreeMap::from([
            ("name".to_string(), Type::String),
            ("count".to_string(), Type::Number),
            ("tags".to_string(), Type::map(Type::String)),
            ("items".to_string(), Type::set(Type::String)),
            ("flag".to_string(), Type::Bool),
            ("any".to_string(), Type::Dynamic),
        ]))
    }

    #[test]
    fn round_trip_with_nulls_and_unknowns() {
        let value = Value::Object(BTreeMap::from([
            ("name".to_string(), Value::string("node-1")),
            ("count".to_string(), Value::Number(Number::Int(-300))),
            ("tags".to_string(), Value::Map(BTreeMap::from([("a".to_string(), Value::Unknown)]))),
            ("items".to_string(), Value::Set(vec![Value::string("x"), Value::Null])),
            ("flag".to_string(), Value::Unknown),
            ("any".to_string(), Value::List(vec![Value::string("d")])),
        ]));
        let bytes = encode_msgpack(&value, &object_type()).unwrap();
        assert_eq!(decode_msgpack(&bytes, &object_type()).unwrap(), value);
    }

    #[test]
    fn unknown_is_the_cty_extension() {
        assert_eq!(encode_msgpack(&Value::Unknown, &Type::String).unwrap(), vec![0xd4, 0, 0]);
        // Refined unknown from newer Terraform: ext type 12 with a payload.
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(decode_msgpack(&refined, &Type::String).unwrap(), Value::Unknown);
    }

    #[test]
    fn decodes_what_cty_writes_for_dynamic() {
        // [bin "\"string\"", "hi"] as cty's msgpack encoder emits it.
        let mut bytes = vec![0x92, 0xc4, 8];
        bytes.extend_from_slice(b"\"string\"");
        bytes.extend_from_slice(&[0xa2, b'h', b'i']);
        assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), Value::string("hi"));
        assert_eq!(encode_msgpack(&Value::string("hi"), &Type::Dynamic).unwrap(), bytes);
    }

    #[test]
    fn numbers_in_every_width() {
        let cases: &[(&[u8], Number)] = &[
            (&[0x05], Number::Int(5)),
            (&[0xff], Number::Int(-1)),
            (&[0xcc, 0xff], Number::Int(255)),
            (&[0xd1, 0xff, 0x00], Number::Int(-256)),
            (&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Number::UInt(u64::MAX)),
            (&[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], Number::Float(1.5)),
            (&[0xa3, b'1', b'e', b'9'], Number::Text("1e9".into())),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode_msgpack(bytes, &Type::Number).unwrap(), Value::Number(expected.clone()));
        }
    }

    #[test]
    fn long_strings_and_lists_use_wide_markers() {
        let long = "x".repeat(70_000);
        let bytes = encode_msgpack(&Value::string(long.clone()), &Type::String).unwrap();
        assert_eq!(bytes[0], 0xdb);
        assert_eq!(decode_msgpack(&bytes, &Type::String).unwrap(), Value::string(long));
        let list = Value::List((0..20).map(|i| Value::Number(Number::Int(i))).collect());
        let bytes = encode_msgpack(&list, &Type::list(Type::Number)).unwrap();
        assert_eq!(bytes[0], 0xdc);
        assert_eq!(decode_msgpack(&bytes, &Type::list(Type::Number)).unwrap(), list);
    }

    #[test]
    fn errors_name_the_path() {
        let ty = Type::Object(BTreeMap::from([("name".to_string(), Type::String)]));
        let bytes = [0x81, 0xa4, b'n', b'a', b'm', b'e', 0xc3];
        let err = decode_msgpack(&bytes, &ty).unwrap_err().to_string();
        assert!(err.contains("name") && err.contains("string"), "{err}");
        let unknown_attr = [0x81, 0xa1, b'z', 0xc0];
        assert!(matches!(decode_msgpack(&unknown_attr, &ty), Err(ValueError::UnknownAttribute { .. })));
        assert!(matches!(decode_msgpack(&[0xa5, b'a'], &Type::String), Err(ValueError::Truncated { .. })));
        assert!(matches!(decode_msgpack(&[0xc0, 0xc0], &Type::String), Err(ValueError::TrailingBytes(1))));
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        // array32 claiming 4 billion elements, with no bytes behind it.
        let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff];
        let err = decode_msgpack(&bytes, &Type::list(Type::String)).expect_err("4 billion elements");
        assert!(matches!(err, ValueError::Truncated { .. }), "{err:?}");
        let deep = vec![0x91; 10_000];
        let mut ty = Type::String;
        for _ in 0..100 {
            ty = Type::list(ty);
        }
        let err = decode_msgpack(&deep, &ty).expect_err("too deep");
        assert!(matches!(err, ValueError::TooDeep(_)), "{err:?}");
    }
}
